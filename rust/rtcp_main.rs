// SPDX-License-Identifier: GPL-2.0

//! RTCP: TCP's connection machinery in Rust, as the `AF_RTCP` socket family.
//! This file is the module and its registrations, the counterpart of
//! `inet_init` in `net/ipv4/af_inet.c`.
//!
//! C header of the family: `include/uapi/linux/rtcp.h` in this repository.
//!
//! The crate has three layers (see the project's DESIGN.md):
//! - [`proto`], the sans-IO protocol core, also built on the host as a
//!   cargo crate;
//! - `net`, the safe wrappers over the kernel objects, which hold every
//!   `unsafe` of the module;
//! - the glue that feeds socket calls and packets to `proto`, in files
//!   named after their counterparts in Linux's `net/ipv4/` (see the
//!   README's layout): `af_rtcp`, `rtcp`, `rtcp_ipv4`, `rtcp_input`,
//!   `rtcp_output`, `rtcp_minisocks`, `rtcp_timer`, `rtcp_proc`,
//!   `rtcp_netns`, and the connection table `demux`.

use kernel::prelude::*;

#[path = "proto/lib.rs"]
pub mod proto;

mod af_rtcp;
mod demux;
mod net;
mod rtcp;
mod rtcp_af;
mod rtcp_fastopen;
mod rtcp_input;
mod rtcp_ip_sockglue;
mod rtcp_ipv4;
mod rtcp_ipv6;
mod rtcp_minisocks;
mod rtcp_netns;
mod rtcp_output;
mod rtcp_proc;
mod rtcp_sockopt;
mod rtcp_timer;
mod sys;

module! {
    type: Rtcp,
    name: "rtcp",
    authors: ["RTCP developers"],
    description: "AF_RTCP: TCP implemented in Rust",
    license: "GPL",
    alias: ["net-pf-46"],
}

/// `THIS_MODULE`, for the `owner` of the C tables.
pub(crate) const THIS_MODULE: &ThisModule = kernel::module::this_module::<Rtcp>();

/// The loaded module: its registrations, dropped (unregistered) in field
/// order, the reverse of the order `init` makes them in.
struct Rtcp {
    _family: net::FamilyRegistration<af_rtcp::RtcpFamily>,
    _proto: net::ProtoRegistration<rtcp::RtcpProto>,
    _pernet: net::PernetRegistration,
    _port_releases: net::PortReleases,
}

impl kernel::Module for Rtcp {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let port_releases = net::PortReleases::new()?;
        let pernet = net::PernetRegistration::new(&rtcp_netns::PERNET)?;
        let proto = net::ProtoRegistration::new(&rtcp::PROTO)?;
        let family = net::FamilyRegistration::new()?;
        pr_info!("AF_RTCP ({}) registered\n", af_rtcp::AF_RTCP);
        Ok(Rtcp { _family: family, _proto: proto, _pernet: pernet, _port_releases: port_releases })
    }
}
