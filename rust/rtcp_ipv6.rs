// SPDX-License-Identifier: GPL-2.0

//! IPv6 for RTCP, the counterpart of `net/ipv6/tcp_ipv6.c` (and of
//! `__inet6_bind` in `net/ipv6/af_inet6.c`): IPv6's family operations
//! (`ipv6_specific`), the checks `tcp_v6_connect` makes before it goes on
//! (over IPv4 for a v4-mapped destination, as `ipv6_mapped` does), and an
//! IPv6 socket's `bind()`.
//!
//! An IPv6 socket (`RTCPPROTO_TCP6`) keeps IPv4 peers' addresses
//! v4-mapped, as the core keeps every IPv4 address, so a connection to or
//! from one runs on IPv4's operations ([`crate::rtcp_af::of`]) while the
//! socket shows `sockaddr_in6`s.

use core::sync::atomic::Ordering;
use kernel::prelude::*;

use crate::net::{self, skb, OptIn, Route, Sock, SockAddr};
use crate::sys;
use crate::proto::addr::Addr;
use crate::proto::ipv6;
use crate::rtcp::{RtcpOwned, RtcpProto, TCP_CLOSE};
use crate::rtcp_af::AfOps;

/// IPv6's operations (`ipv6_specific`).
pub(crate) static IPV6: AfOps = AfOps {
    net_header_len: ipv6::HEADER_LEN as u32,
    route: |net, key, local, remote| Route::output6(net, key, local.addr, remote.addr, local.port, remote.port),
    build: |local, remote, seg, payload, mss| skb::build(local.addr, remote.addr, seg, payload, mss),
    transmit: skb::transmit6,
    seq_and_ts_off: |net, local, remote| net::inet::seq_and_ts_off6(net, local.addr, remote.addr, local.port, remote.port),
    // `cookie_v6_hash`'s inputs (the client's address and port, the
    // server's, the count), through SipHash.
    cookie_hash: |key, local, remote, count| {
        let [r0, r1] = halves(remote.addr);
        let [l0, l1] = halves(local.addr);
        let rest = u64::from(remote.port) << 48 | u64::from(local.port) << 32 | u64::from(count);
        key.hash_words(&[r0, r1, l0, l1, rest]) as u32
    },
    // SipHash of the SYN's source then destination address as they lie
    // in its header, 32 bytes read as little-endian words
    // (`__tcp_fastopen_cookie_gen_cipher` for IPv6).
    fastopen_cookie: |key, local, remote| {
        let [r0, r1] = raw_halves(remote.addr);
        let [l0, l1] = raw_halves(local.addr);
        key.hash_words(&[r0, r1, l0, l1])
    },
    // `/proc/net/tcp6`: the four words of `s6_addr32`, each as the CPU
    // reads it.
    fmt_proc: |ep, f| {
        let [w0, w1, w2, w3] = ep.addr.words().map(u32::swap_bytes);
        write!(f, "{w0:08X}{w1:08X}{w2:08X}{w3:08X}")
    },
    fmt_addr: |ep, f| write!(f, "{}", ep.addr),
};

/// The address as two words, high then low.
fn halves(a: Addr) -> [u64; 2] {
    let [w0, w1, w2, w3] = a.words().map(u64::from);
    [w0 << 32 | w1, w2 << 32 | w3]
}

/// The address's bytes as two little-endian words, as `siphash()` reads
/// them.
fn raw_halves(a: Addr) -> [u64; 2] {
    let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = a.0;
    [u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]), u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])]
}

/// `tcp_v6_connect`'s checks of the destination `dst` of an IPv6 socket,
/// in its order, before the connect goes on as IPv4's does: `::` is the
/// loopback address (`127.0.0.1` for a socket bound to a v4-mapped
/// address); a multicast destination is `ENETUNREACH`; a link-local one
/// needs a scope, which binds the socket to that interface (`EINVAL`
/// without one, or with one other than the socket's device); a v4-mapped
/// one is `ENETUNREACH` for a v6-only socket; a socket bound to a
/// v4-mapped address reaches no IPv6 one (`EAFNOSUPPORT`,
/// `ip6_dst_lookup_tail`). Under the socket's lock.
pub(crate) fn connect_checks(sk: &Sock<RtcpProto>, owned: &RtcpOwned, dst: &mut SockAddr) -> Result {
    if dst.addr == Addr::ANY {
        dst.addr = if owned.local.addr.is_v4() { Addr::v4(0x7f00_0001) } else { Addr::LOOPBACK };
    }
    if dst.addr.is_multicast() {
        return Err(ENETUNREACH);
    }
    if dst.addr.is_link_local() {
        let dev = sk.bind_options().dev;
        if dst.scope_id != 0 {
            let scope = i32::try_from(dst.scope_id).map_err(|_| EINVAL)?;
            if dev != 0 && dev != scope {
                return Err(EINVAL);
            }
            sk.bind_to_index(scope)?;
        } else if dev == 0 {
            return Err(EINVAL);
        }
    }
    if dst.addr.is_v4() {
        if sk.bind_options().v6only {
            return Err(ENETUNREACH);
        }
        return Ok(());
    }
    if owned.local.addr.is_v4() && !owned.local.addr.is_any() {
        return Err(EAFNOSUPPORT);
    }
    Ok(())
}

/// `inet6_bind`, in `__inet6_bind`'s order: the address (`EINVAL` if
/// shorter than RFC 2133's `sockaddr_in6`, `EAFNOSUPPORT`, `EINVAL` for a
/// multicast one), the privileged ports (`EACCES`), not bound yet
/// (`EINVAL`); a v4-mapped address (`EINVAL` on a v6-only socket, then
/// IPv4's local check, `EADDRNOTAVAIL`) or an IPv6 one (a link-local one
/// needs a scope, which binds the socket to that interface, `EINVAL`
/// without one; `ENODEV` for a device that is not there; `EADDRNOTAVAIL`
/// if not local, unless `IPV6_FREEBIND`/`IP_TRANSPARENT` or
/// `net.ipv6.ip_nonlocal_bind`); then the port, as IPv4's. A specific
/// IPv6 address makes the socket v6-only (it takes no IPv4 client), as
/// Linux's does, until the bind fails.
pub(crate) fn bind(sk: &Sock<RtcpProto>, raw: &[u8]) -> Result {
    let addr = SockAddr::from_bind(raw, true)?;
    if addr.addr.is_multicast() {
        return Err(EINVAL);
    }
    let net = sk.net();
    if addr.port != 0 && net::inet::port_needs_privilege(net, addr.port) {
        return Err(EACCES);
    }
    let mut owned = sk.lock();
    if sk.state() != TCP_CLOSE || owned.port.is_some() {
        return Err(EINVAL);
    }
    let nonlocal = sk.shared().ip.nonlocal_bind();
    let opts = sk.bind_options();
    if addr.addr.is_v4() {
        if opts.v6only {
            return Err(EINVAL);
        }
        if !nonlocal && !net::inet::bindable_addr(net, addr.addr) {
            return Err(EADDRNOTAVAIL);
        }
        return crate::af_rtcp::bind_port(sk, &mut owned, addr);
    }
    if addr.addr.is_any() {
        return crate::af_rtcp::bind_port(sk, &mut owned, addr);
    }
    if addr.addr.is_link_local() {
        if raw.len() >= net::inet::SOCKADDR_IN6_LEN && addr.scope_id != 0 {
            sk.bind_to_index(i32::try_from(addr.scope_id).map_err(|_| EINVAL)?)?;
        }
        if sk.bind_options().dev == 0 {
            return Err(EINVAL);
        }
    }
    let sysctl_nonlocal = net::inet::ipv6_nonlocal_bind(net);
    let local = net::inet::ipv6_local(net, addr.addr, sk.bind_options().dev)?;
    if !nonlocal && !sysctl_nonlocal && !local {
        return Err(EADDRNOTAVAIL);
    }
    sk.set_v6only(true);
    crate::af_rtcp::bind_port(sk, &mut owned, addr).inspect_err(|_| sk.set_v6only(opts.v6only))
}

/// `setsockopt(SOL_IPV6)` on an IPv6 socket, as `do_ipv6_setsockopt`
/// takes the options a TCP socket acts on: `IPV6_V6ONLY` (`EINVAL` once
/// the socket holds a port), `IPV6_TCLASS` (-1 to 255; a stream keeps its
/// ECN bits), `IPV6_UNICAST_HOPS` (-1 to 255), `IPV6_RECVERR`; `EINVAL`
/// for a value shorter than an int. Others are `ENOPROTOOPT`.
pub(crate) fn setsockopt(sk: &Sock<RtcpProto>, name: i32, opt: &OptIn) -> Result {
    let name = u32::try_from(name).map_err(|_| ENOPROTOOPT)?;
    if !matches!(name, sys::IPV6_V6ONLY | sys::IPV6_TCLASS | sys::IPV6_UNICAST_HOPS | sys::IPV6_RECVERR) {
        return Err(ENOPROTOOPT);
    }
    if opt.len() < 4 {
        return Err(EINVAL);
    }
    let val = opt.int()?;
    let ip = &sk.shared().ip;
    match name {
        sys::IPV6_V6ONLY => {
            let owned = sk.lock();
            if owned.port.is_some() {
                return Err(EINVAL);
            }
            sk.set_v6only(val != 0);
        }
        sys::IPV6_TCLASS => {
            if !(-1..=0xff).contains(&val) {
                return Err(EINVAL);
            }
            let old = ip.tclass.load(Ordering::Relaxed);
            ip.tclass.store(crate::proto::ipv4::stream_tos(old, val.max(0)), Ordering::Relaxed);
        }
        sys::IPV6_UNICAST_HOPS => {
            if !(-1..=255).contains(&val) {
                return Err(EINVAL);
            }
            ip.hops.store(val, Ordering::Relaxed);
        }
        _ => ip.set_recverr6(val != 0),
    }
    Ok(())
}

/// `getsockopt(SOL_IPV6)` of the options [`setsockopt`] takes
/// (`IPV6_UNICAST_HOPS` unset: the kept route's hop limit, else the
/// namespace's default, `devconf_all->hop_limit`).
pub(crate) fn getsockopt(sk: &Sock<RtcpProto>, name: i32) -> Result<i32> {
    let ip = &sk.shared().ip;
    Ok(match u32::try_from(name).map_err(|_| ENOPROTOOPT)? {
        sys::IPV6_V6ONLY => i32::from(sk.bind_options().v6only),
        sys::IPV6_TCLASS => i32::from(ip.tclass.load(Ordering::Relaxed)),
        sys::IPV6_UNICAST_HOPS => match ip.hops.load(Ordering::Relaxed) {
            v if v < 0 => net::inet::ipv6_default_hops(sk.net()),
            v => v,
        },
        sys::IPV6_RECVERR => i32::from(ip.recverr(true)),
        _ => return Err(ENOPROTOOPT),
    })
}
