// SPDX-License-Identifier: GPL-2.0

//! What differs between address families, the counterpart of
//! `struct inet_connection_sock_af_ops` (`include/net/inet_connection_sock.h`;
//! `ipv4_specific` in `net/ipv4/tcp_ipv4.c`): the route, the segment built
//! with its pseudo-header checksum and sent, the ISN and timestamp offset,
//! the SYN cookies' hash, and how an address is shown. The glue reaches
//! them through the table of a connection's addresses ([`of`]): IPv4's
//! is [`crate::rtcp_ipv4::IPV4`], IPv6's [`crate::rtcp_ipv6::IPV6`].

use core::fmt;
use kernel::prelude::*;

use crate::net::route::FlowKey;
use crate::net::siphash::SipKey;
use crate::net::skb::{Payload, TcpSkb};
use crate::net::{Net, Route};
use crate::proto::addr::Addr;
use crate::proto::conn::Endpoint;
use crate::proto::cookie::CookieHash;
use crate::proto::segment::Segment;

/// The operations of the family a connection to or from `addr` runs
/// over: IPv4's for a v4-mapped address (an IPv6 socket's connection to
/// or from an IPv4 peer included, as `ipv6_mapped` serves it), else
/// IPv6's.
pub(crate) fn of(addr: Addr) -> &'static AfOps {
    if addr.is_v4() { &crate::rtcp_ipv4::IPV4 } else { &crate::rtcp_ipv6::IPV6 }
}

/// The TCP header without options.
const TCP_HEADER_LEN: u32 = 20;

/// One address family's operations.
pub(crate) struct AfOps {
    /// The network header without options (`net_header_len`).
    pub(crate) net_header_len: u32,
    /// The route from `local` to `remote` (`ip_route_output_flow`); an
    /// unspecified local address lets the route choose one.
    pub(crate) route: fn(&Net, FlowKey, Endpoint, Endpoint) -> Result<Route>,
    /// A segment from `local` to `remote` built into an skb, its payload
    /// (cut into segments of `mss` bytes) from a send buffer's held pages
    /// (after the connection's lock), its
    /// checksum over the family's pseudo-header (`send_check`).
    pub(crate) build: fn(Endpoint, Endpoint, &Segment, Payload<'_>, u16) -> Result<TcpSkb>,
    /// A built segment out on `route`, under the family's network header
    /// with the TOS and TTL of the key (`queue_xmit`).
    pub(crate) transmit: fn(&Net, Route, FlowKey, TcpSkb) -> Result,
    /// The ISN and timestamp offset of a four-tuple (`init_seq_and_ts_off`).
    pub(crate) seq_and_ts_off: fn(&Net, Endpoint, Endpoint) -> (u32, u32),
    /// The SYN cookies' keyed hash of a four-tuple and a count
    /// (`cookie_hash`, `cookie_v6_hash`).
    pub(crate) cookie_hash: fn(&SipKey, Endpoint, Endpoint, u32) -> u32,
    /// The Fast Open cookie of a SYN from the remote to the local address
    /// under a key, as its 8 bytes read little-endian: SipHash of the
    /// SYN's source and destination addresses as they lie in its header
    /// (`__tcp_fastopen_cookie_gen_cipher`).
    pub(crate) fastopen_cookie: fn(&SipKey, Endpoint, Endpoint) -> u64,
    /// An address as `/proc/net/tcp` shows it (`%08X` of the word in
    /// network order; `/proc/net/tcp6` shows four).
    pub(crate) fmt_proc: fn(&Endpoint, &mut fmt::Formatter<'_>) -> fmt::Result,
    /// An address as people read it (`%pI4`).
    pub(crate) fmt_addr: fn(&Endpoint, &mut fmt::Formatter<'_>) -> fmt::Result,
}

impl AfOps {
    /// The network and TCP headers without options: what a path's MTU
    /// holds besides the MSS.
    pub(crate) fn headers(&self) -> u32 {
        self.net_header_len + TCP_HEADER_LEN
    }

    /// The MSS a path of `mtu` bytes carries, with no options.
    pub(crate) fn mss(&self, mtu: u32) -> u32 {
        mtu.saturating_sub(self.headers())
    }

    /// Builds `seg` (no payload) and sends it on `route`, with the IP
    /// header's TOS and TTL of `key`.
    pub(crate) fn send_on(&self, net: &Net, route: Route, key: FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment) -> Result {
        (self.transmit)(net, route, key, (self.build)(local, remote, seg, None, u16::MAX)?)
    }

    /// `ep`'s address, shown as `/proc/net/rtcp` shows it.
    pub(crate) fn proc(&self, ep: Endpoint) -> impl fmt::Display + kernel::fmt::Display {
        Shown(self.fmt_proc, ep)
    }

    /// `ep`'s address, shown for people.
    pub(crate) fn addr(&self, ep: Endpoint) -> impl fmt::Display + kernel::fmt::Display {
        Shown(self.fmt_addr, ep)
    }
}

/// An address with the way it is shown.
struct Shown(fn(&Endpoint, &mut fmt::Formatter<'_>) -> fmt::Result, Endpoint);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(&self.1, f)
    }
}

impl kernel::fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(&self.1, f)
    }
}

/// The two SipHash keys of a namespace's SYN cookies (`syncookie_secret`),
/// shared by its address families.
pub(crate) struct CookieKeys(pub(crate) [SipKey; 2]);

/// A namespace's cookie keys with a family's hash over them.
pub(crate) struct AfCookieHash<'a> {
    pub(crate) keys: &'a CookieKeys,
    pub(crate) af: &'static AfOps,
}

impl CookieHash for AfCookieHash<'_> {
    fn hash(&self, local: Endpoint, remote: Endpoint, count: u32, key: usize) -> u32 {
        let key = if key == 0 { &self.keys.0[0] } else { &self.keys.0[1] };
        (self.af.cookie_hash)(key, local, remote, count)
    }
}
