// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over the kernel objects RTCP touches.
//!
//! Every `unsafe` of the module lives here (and in the generated
//! [`crate::sys`]): the protocol code above sees references with lifetimes,
//! traits to implement and RAII registrations, never a raw pointer.

pub(crate) mod bh;
pub(crate) mod buf;
pub(crate) mod clock;
pub(crate) mod family;
pub(crate) mod hook;
pub(crate) mod inet;
pub(crate) mod mem;
pub(crate) mod msg;
pub(crate) mod netns;
pub(crate) mod ops;
pub(crate) mod pernet;
pub(crate) mod procfs;
pub(crate) mod proto;
pub(crate) mod route;
pub(crate) mod rxq;
pub(crate) mod siphash;
pub(crate) mod skb;
pub(crate) mod sock;
pub(crate) mod sysctl;
pub(crate) mod zerocopy;

pub(crate) use family::{Family, FamilyRegistration};
pub(crate) use ops::{OptIn, OptVal, PollTable, SocketOps};
pub(crate) use pernet::{Pernet, PernetDef, PernetId, PernetRegistration};
pub(crate) use proto::{ProtoDef, ProtoRegistration};
pub(crate) use hook::{Hook, HookDef, HookRegistration, IcmpPacket, Malformed, Packet};
pub(crate) use inet::{ConnectPorts, PortReleases, PortReservation, SockAddr};
pub(crate) use msg::Msg;
pub(crate) use route::Route;
pub(crate) use netns::Net;
pub(crate) use sock::{BindOptions, Proto, Sock, Socket};
pub(crate) use zerocopy::ZcRef;
