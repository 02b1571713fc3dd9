// SPDX-License-Identifier: GPL-2.0

//! The `SOL_IP` options of an RTCP socket, the counterpart of
//! `do_ip_setsockopt` and `do_ip_getsockopt` in
//! `net/ipv4/ip_sockglue.c` for the options a TCP socket acts on:
//! `IP_TOS`, `IP_TTL`, `IP_RECVERR`, `IP_FREEBIND`, `IP_TRANSPARENT`,
//! `IP_BIND_ADDRESS_NO_PORT`. Every other `SOL_IP` option is
//! `ENOPROTOOPT` (programs such as nginx, redis and curl carry on when
//! they see it).

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use kernel::prelude::*;

use crate::net::route::IpHeader;
use crate::net::{inet, OptIn, Sock};
use crate::proto::ipv4::stream_tos;
use crate::rtcp::RtcpProto;
use crate::sys;

/// The `SOL_IP` state of a sock (`inet_sock`'s `tos`, `uc_ttl` and flag
/// bits).
pub(crate) struct IpOpts {
    /// `IP_TOS` (`inet->tos`).
    tos: AtomicU8,
    /// `IP_TTL` (`inet->uc_ttl`; -1: the route's).
    ttl: AtomicI32,
    recverr: AtomicBool,
    /// `IPV6_RECVERR` (`np->recverr`), IPv6's own flag: an IPv6 socket's
    /// IPv4 connections go by `IP_RECVERR`, as `tcp_v4_err` reads it.
    recverr6: AtomicBool,
    /// `IPV6_TCLASS` (`np->tclass`).
    pub(crate) tclass: AtomicU8,
    /// `IPV6_UNICAST_HOPS` (`np->hop_limit`; -1: the route's).
    pub(crate) hops: AtomicI32,
    freebind: AtomicBool,
    transparent: AtomicBool,
    bind_address_no_port: AtomicBool,
}

impl IpOpts {
    pub(crate) const fn new() -> IpOpts {
        IpOpts {
            tos: AtomicU8::new(0),
            ttl: AtomicI32::new(-1),
            recverr: AtomicBool::new(false),
            recverr6: AtomicBool::new(false),
            tclass: AtomicU8::new(0),
            hops: AtomicI32::new(-1),
            freebind: AtomicBool::new(false),
            transparent: AtomicBool::new(false),
            bind_address_no_port: AtomicBool::new(false),
        }
    }

    /// A child takes its listener's (`inet_csk_clone_lock` copies the
    /// `inet_sock` whole).
    pub(crate) fn inherit(&self, parent: &IpOpts) {
        self.tos.store(parent.tos.load(Ordering::Relaxed), Ordering::Relaxed);
        self.ttl.store(parent.ttl.load(Ordering::Relaxed), Ordering::Relaxed);
        self.tclass.store(parent.tclass.load(Ordering::Relaxed), Ordering::Relaxed);
        self.hops.store(parent.hops.load(Ordering::Relaxed), Ordering::Relaxed);
        for (to, from) in [
            (&self.recverr, &parent.recverr),
            (&self.recverr6, &parent.recverr6),
            (&self.freebind, &parent.freebind),
            (&self.transparent, &parent.transparent),
            (&self.bind_address_no_port, &parent.bind_address_no_port),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// What the IP headers carry: the IPv4 header's TOS and TTL, the
    /// IPv6 header's traffic class and hop limit (0: the route's hop
    /// limit). Each connection takes its family's.
    pub(crate) fn header(&self) -> IpHeader {
        IpHeader {
            tos: self.tos.load(Ordering::Relaxed),
            ttl: u8::try_from(self.ttl.load(Ordering::Relaxed)).unwrap_or(0),
            tclass: self.tclass.load(Ordering::Relaxed),
            hops: u8::try_from(self.hops.load(Ordering::Relaxed)).unwrap_or(0),
        }
    }

    /// May `bind()` take an address that is not local
    /// (`inet_addr_valid_or_nonlocal`: `IP_FREEBIND` or `IP_TRANSPARENT`)?
    pub(crate) fn nonlocal_bind(&self) -> bool {
        self.freebind.load(Ordering::Relaxed) || self.transparent.load(Ordering::Relaxed)
    }

    /// `IP_RECVERR` (`v6` false) or `IPV6_RECVERR`: an ICMP error of
    /// that family on a connection is reported at once (`tcp_v4_err`,
    /// `tcp_v6_err`).
    pub(crate) fn recverr(&self, v6: bool) -> bool {
        if v6 { &self.recverr6 } else { &self.recverr }.load(Ordering::Relaxed)
    }

    /// Sets `IPV6_RECVERR`.
    pub(crate) fn set_recverr6(&self, on: bool) {
        self.recverr6.store(on, Ordering::Relaxed);
    }

    /// `IP_BIND_ADDRESS_NO_PORT`: `bind()` to port 0 leaves the port to
    /// `connect()`.
    pub(crate) fn bind_address_no_port(&self) -> bool {
        self.bind_address_no_port.load(Ordering::Relaxed)
    }
}

/// `setsockopt(SOL_IP)`, with `do_ip_setsockopt`'s checks in its order.
pub(crate) fn setsockopt(sk: &Sock<RtcpProto>, name: i32, opt: &OptIn) -> Result {
    let ip = &sk.shared().ip;
    let flag = match name {
        sys::RTCP_IP_TOS
        | sys::RTCP_IP_TTL
        | sys::RTCP_IP_RECVERR
        | sys::RTCP_IP_FREEBIND
        | sys::RTCP_IP_TRANSPARENT
        | sys::RTCP_IP_BIND_ADDRESS_NO_PORT => name,
        // IPsec policies: EPERM without CAP_NET_ADMIN, as do_ip_setsockopt
        // asks before `xfrm_user_policy`, which RTCP does not have (nor
        // this kernel, without CONFIG_XFRM: its stub answers ENOPROTOOPT).
        sys::RTCP_IP_IPSEC_POLICY | sys::RTCP_IP_XFRM_POLICY => {
            return Err(if inet::net_capable(sk.net(), sys::RTCP_CAP_NET_ADMIN) { ENOPROTOOPT } else { EPERM })
        }
        _ => return Err(ENOPROTOOPT),
    };
    // An int, or a byte, or (no value) 0.
    let val = opt.ip_int()?;
    let empty = opt.len() < 1;
    match flag {
        sys::RTCP_IP_TOS => {
            let _owned = sk.lock();
            let old = ip.tos.load(Ordering::Relaxed);
            let tos = stream_tos(old, val);
            if tos != old {
                ip.tos.store(tos, Ordering::Relaxed);
                sk.set_tos_priority(tos);
            }
        }
        sys::RTCP_IP_TTL => {
            if empty || (val != -1 && !(1..=255).contains(&val)) {
                return Err(EINVAL);
            }
            ip.ttl.store(val, Ordering::Relaxed);
        }
        sys::RTCP_IP_RECVERR => ip.recverr.store(val != 0, Ordering::Relaxed),
        sys::RTCP_IP_FREEBIND => {
            if empty {
                return Err(EINVAL);
            }
            ip.freebind.store(val != 0, Ordering::Relaxed);
        }
        sys::RTCP_IP_TRANSPARENT => {
            let net = sk.net();
            if val != 0
                && !inet::net_capable(net, sys::RTCP_CAP_NET_RAW)
                && !inet::net_capable(net, sys::RTCP_CAP_NET_ADMIN)
            {
                return Err(EPERM);
            }
            if empty {
                return Err(EINVAL);
            }
            ip.transparent.store(val != 0, Ordering::Relaxed);
        }
        _ => ip.bind_address_no_port.store(val != 0, Ordering::Relaxed),
    }
    Ok(())
}

/// `getsockopt(SOL_IP)`, as `do_ip_getsockopt` reads the options back
/// (`IP_TTL` unset: `ip_default_ttl`).
pub(crate) fn getsockopt(sk: &Sock<RtcpProto>, name: i32) -> Result<i32> {
    let ip = &sk.shared().ip;
    let flag = |b: &AtomicBool| i32::from(b.load(Ordering::Relaxed));
    Ok(match name {
        sys::RTCP_IP_TOS => i32::from(ip.tos.load(Ordering::Relaxed)),
        sys::RTCP_IP_TTL => match ip.ttl.load(Ordering::Relaxed) {
            v if v < 0 => inet::ip_default_ttl(sk.net()),
            v => v,
        },
        sys::RTCP_IP_RECVERR => flag(&ip.recverr),
        sys::RTCP_IP_FREEBIND => flag(&ip.freebind),
        sys::RTCP_IP_TRANSPARENT => flag(&ip.transparent),
        sys::RTCP_IP_BIND_ADDRESS_NO_PORT => flag(&ip.bind_address_no_port),
        _ => return Err(ENOPROTOOPT),
    })
}
