// SPDX-License-Identifier: GPL-2.0

//! ICMP errors about our segments (RFC 792, RFC 1122 4.2.3.9, RFC 5927),
//! and ICMPv6 ones (RFC 4443): the message, the TCP segment it quotes, and
//! what TCP makes of it, as `tcp_v4_err()` with `icmp_err_convert[]` and
//! `tcp_v6_err()` with `icmpv6_err_convert()` do in Linux.

use super::addr::Addr;
use super::checksum::Sum;
use super::conn::Endpoint;
use super::ipv4::Ipv4;
use super::ipv6::{Ipv6, NEXTHDR_ICMP};
use super::seq::SeqNum;

/// Destination unreachable.
pub const ICMP_DEST_UNREACH: u8 = 3;
/// Source quench (deprecated, RFC 6633: ignored).
pub const ICMP_SOURCE_QUENCH: u8 = 4;
/// Time exceeded.
pub const ICMP_TIME_EXCEEDED: u8 = 11;
/// Parameter problem.
pub const ICMP_PARAMETERPROB: u8 = 12;

/// Destination unreachable: network unreachable.
pub const ICMP_NET_UNREACH: u8 = 0;
/// Destination unreachable: host unreachable.
pub const ICMP_HOST_UNREACH: u8 = 1;
/// Destination unreachable: port unreachable.
pub const ICMP_PORT_UNREACH: u8 = 3;
/// Destination unreachable: fragmentation needed (path MTU discovery).
pub const ICMP_FRAG_NEEDED: u8 = 4;
/// The highest destination-unreachable code (`NR_ICMP_UNREACH`).
pub const NR_ICMP_UNREACH: u8 = 15;

/// ICMPv6 destination unreachable.
pub const ICMPV6_DEST_UNREACH: u8 = 1;
/// ICMPv6 packet too big (path MTU discovery, RFC 8201).
pub const ICMPV6_PKT_TOOBIG: u8 = 2;
/// ICMPv6 time exceeded.
pub const ICMPV6_TIME_EXCEED: u8 = 3;
/// ICMPv6 parameter problem.
pub const ICMPV6_PARAMPROB: u8 = 4;
/// ICMPv6 destination unreachable: no route.
pub const ICMPV6_NOROUTE: u8 = 0;
/// The least MTU an IPv6 path has (`IPV6_MIN_MTU`): a smaller one in a
/// packet-too-big is ignored.
pub const IPV6_MIN_MTU: u32 = 1280;

/// The ICMP header: type, code, checksum, four bytes that depend on the
/// type.
const ICMP_HEADER_LEN: usize = 8;
/// Bytes of the quoted segment an error must carry: the TCP ports and
/// sequence number (RFC 792 quotes at least 64 bits of it).
const QUOTED_TCP_LEN: usize = 8;

/// The errno an ICMP error stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpErrno {
    /// `ENETUNREACH`
    NetUnreach,
    /// `EHOSTUNREACH`
    HostUnreach,
    /// `ENOPROTOOPT`
    NoProtoOpt,
    /// `ECONNREFUSED`
    ConnRefused,
    /// `EOPNOTSUPP`
    OpNotSupp,
    /// `EHOSTDOWN`
    HostDown,
    /// `ENONET`
    NoNet,
    /// `EPROTO`
    Proto,
    /// `EACCES`
    Access,
}

/// An ICMP error quoting one of our TCP segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// The ICMP type.
    pub icmp_type: u8,
    /// The ICMP code.
    pub code: u8,
    /// The quoted segment's source: our end.
    pub local: Endpoint,
    /// The quoted segment's destination: the peer.
    pub remote: Endpoint,
    /// The quoted segment's sequence number.
    pub seq: SeqNum,
    /// Fragmentation needed, or packet too big: the next hop's MTU (RFC
    /// 1191, RFC 8201; 0 if the router left it out, and for other
    /// messages).
    pub mtu: u32,
    /// An ICMPv6 message (about a segment sent over IPv6).
    pub v6: bool,
}

/// The ends and sequence number of the TCP segment an error quotes after
/// a network header of `header_len` bytes from `src` to `dst` whose
/// payload is `protocol`'s: `None` unless it is TCP's, with its first 8
/// bytes there.
fn quoted_tcp(quoted: &[u8], protocol: u8, header_len: usize, src: Addr, dst: Addr) -> Option<(Endpoint, Endpoint, SeqNum)> {
    if protocol != super::checksum::IPPROTO_TCP {
        return None;
    }
    let tcp = quoted.get(header_len..)?.get(..QUOTED_TCP_LEN)?;
    let &[s0, s1, d0, d1, q0, q1, q2, q3] = tcp else { return None };
    Some((
        Endpoint { addr: src, port: u16::from_be_bytes([s0, s1]) },
        Endpoint { addr: dst, port: u16::from_be_bytes([d0, d1]) },
        SeqNum(u32::from_be_bytes([q0, q1, q2, q3])),
    ))
}

impl IcmpError {
    /// Reads an ICMP message (`buf` starts at its type and holds all of
    /// it): `None` unless its checksum is right and it is an error (a
    /// type TCP listens to) quoting a TCP segment.
    pub fn parse(buf: &[u8]) -> Option<IcmpError> {
        if buf.len() < ICMP_HEADER_LEN || Sum::default().add_bytes(buf).finish() != 0 {
            return None;
        }
        let (&[icmp_type, code, _, _, _, _, m0, m1], quoted) = buf.split_first_chunk::<ICMP_HEADER_LEN>()?;
        if !Self::is_error_type(icmp_type) {
            return None;
        }
        let ip = Ipv4::parse(quoted)?;
        let (local, remote, seq) = quoted_tcp(quoted, ip.protocol, ip.header_len, Addr::v4(ip.src), Addr::v4(ip.dst))?;
        Some(IcmpError {
            icmp_type,
            code,
            local,
            remote,
            seq,
            mtu: if (icmp_type, code) == (ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED) { u32::from(u16::from_be_bytes([m0, m1])) } else { 0 },
            v6: false,
        })
    }

    /// Reads an ICMPv6 message (`buf` starts at its type and holds all of
    /// it) that came from `src` to `dst`: `None` unless its checksum (over
    /// the IPv6 pseudo-header) is right and it is an error quoting a TCP
    /// segment.
    pub fn parse6(buf: &[u8], src: &Addr, dst: &Addr) -> Option<IcmpError> {
        let len = u32::try_from(buf.len()).ok()?;
        let pseudo = Sum::default().add_bytes(&src.0).add_bytes(&dst.0).add_u32(len).add_u16(u16::from(NEXTHDR_ICMP));
        if buf.len() < ICMP_HEADER_LEN || pseudo.add_bytes(buf).finish() != 0 {
            return None;
        }
        let (&[icmp_type, code, _, _, m0, m1, m2, m3], quoted) = buf.split_first_chunk::<ICMP_HEADER_LEN>()?;
        if !Self::is_error_type6(icmp_type) {
            return None;
        }
        let ip = Ipv6::parse(quoted)?;
        let (local, remote, seq) = quoted_tcp(quoted, ip.protocol, ip.header_len, ip.src, ip.dst)?;
        Some(IcmpError {
            icmp_type,
            code,
            local,
            remote,
            seq,
            mtu: if icmp_type == ICMPV6_PKT_TOOBIG { u32::from_be_bytes([m0, m1, m2, m3]) } else { 0 },
            v6: true,
        })
    }

    /// Is `icmp_type` an ICMPv6 error (types below 128) that
    /// `icmpv6_notify` hands TCP? Redirects are neighbour discovery's.
    pub fn is_error_type6(icmp_type: u8) -> bool {
        icmp_type < 128
    }

    /// The path MTU it reports for path MTU discovery: fragmentation
    /// needed (any MTU: the route clamps it), or a packet too big of at
    /// least `IPV6_MIN_MTU` (`tcp_v6_err` ignores a smaller one).
    pub fn pmtu(&self) -> Option<u32> {
        match (self.v6, self.icmp_type, self.code) {
            (false, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED) => Some(self.mtu),
            (true, ICMPV6_PKT_TOOBIG, _) => Some(self.mtu),
            _ => None,
        }
    }

    /// A packet too big below IPv6's least MTU: nothing to do.
    pub fn ignored_pmtu(&self) -> bool {
        self.v6 && self.icmp_type == ICMPV6_PKT_TOOBIG && self.mtu < IPV6_MIN_MTU
    }

    /// Is `icmp_type` one of the errors TCP listens to?
    pub fn is_error_type(icmp_type: u8) -> bool {
        matches!(icmp_type, ICMP_DEST_UNREACH | ICMP_SOURCE_QUENCH | ICMP_TIME_EXCEEDED | ICMP_PARAMETERPROB)
    }

    /// What TCP makes of it (`tcp_v4_err`): `None` when it ignores it
    /// (source quench, fragmentation needed, which is path MTU discovery's,
    /// unknown codes).
    pub fn errno(&self) -> Option<IcmpErrno> {
        use IcmpErrno::*;
        if self.v6 {
            // icmpv6_err_convert(): packet too big is path MTU discovery's.
            return match (self.icmp_type, self.code) {
                (ICMPV6_PKT_TOOBIG, _) => None,
                (ICMPV6_DEST_UNREACH, 0) => Some(NetUnreach),
                (ICMPV6_DEST_UNREACH, 1 | 5 | 6) => Some(Access),
                (ICMPV6_DEST_UNREACH, 2 | 3) => Some(HostUnreach),
                (ICMPV6_DEST_UNREACH, 4) => Some(ConnRefused),
                (ICMPV6_TIME_EXCEED, _) => Some(HostUnreach),
                _ => Some(Proto),
            };
        }
        match (self.icmp_type, self.code) {
            (ICMP_PARAMETERPROB, _) => Some(Proto),
            (ICMP_TIME_EXCEEDED, _) => Some(HostUnreach),
            (ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED) => None,
            // icmp_err_convert[], code by code.
            (ICMP_DEST_UNREACH, code) => match code {
                0 | 6 | 9 | 11 => Some(NetUnreach),
                1 | 10 | 12..=NR_ICMP_UNREACH => Some(HostUnreach),
                2 => Some(NoProtoOpt),
                3 => Some(ConnRefused),
                5 => Some(OpNotSupp),
                7 => Some(HostDown),
                8 => Some(NoNet),
                _ => None,
            },
            _ => None,
        }
    }

    /// Does it end a handshake in SYN-RECEIVED (the `abort` of
    /// `tcp_req_err`)? Only errors that say the peer cannot be reached.
    /// For ICMPv6, the errors `icmpv6_err_convert` calls fatal.
    pub fn aborts_request(&self) -> bool {
        if self.v6 {
            return match self.icmp_type {
                ICMPV6_DEST_UNREACH => !matches!(self.code, 0 | 2 | 3),
                ICMPV6_PARAMPROB => true,
                _ => false,
            };
        }
        match self.icmp_type {
            ICMP_PARAMETERPROB | ICMP_TIME_EXCEEDED => true,
            ICMP_DEST_UNREACH => matches!(self.code, ICMP_NET_UNREACH | ICMP_HOST_UNREACH),
            _ => false,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::conn::tests::{CLIENT, SERVER};
    use proptest::prelude::*;

    /// An ICMP error of `icmp_type`/`code` quoting a TCP segment from
    /// `from` to `to` with sequence number `seq`, as a router sends it.
    pub(crate) fn icmp(icmp_type: u8, code: u8, from: Endpoint, to: Endpoint, seq: u32) -> Vec<u8> {
        let mut m = vec![icmp_type, code, 0, 0, 0, 0, 0, 0];
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&60u16.to_be_bytes());
        ip[8] = 1;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&from.addr.ipv4().to_be_bytes());
        ip[16..20].copy_from_slice(&to.addr.ipv4().to_be_bytes());
        m.extend_from_slice(&ip);
        m.extend_from_slice(&from.port.to_be_bytes());
        m.extend_from_slice(&to.port.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        let sum = Sum::default().add_bytes(&m).finish();
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        m
    }

    /// An ICMPv6 error of `icmp_type`/`code` (`info`: the MTU of a packet
    /// too big) from `router` to `from`, quoting a TCP segment from
    /// `from` to `to` with sequence number `seq`.
    pub(crate) fn icmp6(icmp_type: u8, code: u8, info: u32, router: Addr, from: Endpoint, to: Endpoint, seq: u32) -> Vec<u8> {
        let mut m = vec![icmp_type, code, 0, 0];
        m.extend_from_slice(&info.to_be_bytes());
        m.extend_from_slice(&crate::ipv6::tests::header(from.addr, to.addr, 6, 20));
        m.extend_from_slice(&from.port.to_be_bytes());
        m.extend_from_slice(&to.port.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        let len = m.len() as u32;
        let sum = Sum::default().add_bytes(&router.0).add_bytes(&from.addr.0).add_u32(len).add_u16(58).add_bytes(&m).finish();
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        m
    }

    #[test]
    fn icmpv6_errors_as_tcp_v6_err_takes_them() {
        use crate::ipv6::tests::addr;
        let (a, b, router) = (Endpoint { addr: addr(1), port: 40000 }, Endpoint { addr: addr(2), port: 80 }, addr(9));
        let parse = |t, c, info| IcmpError::parse6(&icmp6(t, c, info, router, a, b, 7), &router, &a.addr).unwrap();
        let e = parse(ICMPV6_DEST_UNREACH, 4, 0);
        assert_eq!((e.local, e.remote, e.seq, e.v6), (a, b, SeqNum(7), true));
        assert_eq!((e.errno(), e.aborts_request()), (Some(IcmpErrno::ConnRefused), true));
        assert_eq!((parse(ICMPV6_DEST_UNREACH, 0, 0).errno(), parse(ICMPV6_DEST_UNREACH, 0, 0).aborts_request()), (Some(IcmpErrno::NetUnreach), false));
        assert_eq!(parse(ICMPV6_DEST_UNREACH, 1, 0).errno(), Some(IcmpErrno::Access));
        assert_eq!(parse(ICMPV6_DEST_UNREACH, 3, 0).errno(), Some(IcmpErrno::HostUnreach));
        assert_eq!(parse(ICMPV6_DEST_UNREACH, 9, 0).errno(), Some(IcmpErrno::Proto));
        assert_eq!((parse(ICMPV6_TIME_EXCEED, 0, 0).errno(), parse(ICMPV6_TIME_EXCEED, 0, 0).aborts_request()), (Some(IcmpErrno::HostUnreach), false));
        assert_eq!((parse(ICMPV6_PARAMPROB, 0, 0).errno(), parse(ICMPV6_PARAMPROB, 0, 0).aborts_request()), (Some(IcmpErrno::Proto), true));
        let big = parse(ICMPV6_PKT_TOOBIG, 0, 1400);
        assert_eq!((big.errno(), big.pmtu(), big.ignored_pmtu()), (None, Some(1400), false));
        assert!(parse(ICMPV6_PKT_TOOBIG, 0, 1000).ignored_pmtu());
        // The checksum covers the pseudo-header: other addresses fail it.
        assert!(IcmpError::parse6(&icmp6(1, 4, 0, router, a, b, 7), &addr(8), &a.addr).is_none());
        // Informational messages are not errors.
        assert!(IcmpError::parse6(&icmp6(128, 0, 0, router, a, b, 7), &router, &a.addr).is_none());
    }

    #[test]
    fn parse_reads_the_quoted_segment() {
        let m = icmp(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, CLIENT, SERVER, 0xdead_beef);
        let e = IcmpError::parse(&m).unwrap();
        assert_eq!((e.local, e.remote, e.seq), (CLIENT, SERVER, SeqNum(0xdead_beef)));
        assert_eq!(e.errno(), Some(IcmpErrno::HostUnreach));
    }

    #[test]
    fn parse_refuses_bad_checksums_other_types_and_short_quotes() {
        let mut m = icmp(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, CLIENT, SERVER, 1);
        m[10] ^= 1;
        assert_eq!(IcmpError::parse(&m), None, "checksum");
        // An echo reply is no error.
        assert_eq!(IcmpError::parse(&icmp(0, 0, CLIENT, SERVER, 1)), None);
        // A redirect is not TCP's business here.
        assert_eq!(IcmpError::parse(&icmp(5, 1, CLIENT, SERVER, 1)), None);
        // Fewer than 8 bytes of the segment quoted.
        let mut m = icmp(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, CLIENT, SERVER, 1);
        m.truncate(m.len() - 1);
        m[2..4].copy_from_slice(&[0, 0]);
        let sum = Sum::default().add_bytes(&m).finish();
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(IcmpError::parse(&m), None);
        // A quoted UDP datagram.
        let mut m = icmp(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, CLIENT, SERVER, 1);
        m[8 + 9] = 17;
        m[2..4].copy_from_slice(&[0, 0]);
        let sum = Sum::default().add_bytes(&m).finish();
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(IcmpError::parse(&m), None);
    }

    #[test]
    fn errnos_follow_icmp_err_convert() {
        let errno = |t, c| IcmpError::parse(&icmp(t, c, CLIENT, SERVER, 0)).unwrap().errno();
        use IcmpErrno::*;
        let want = [
            Some(NetUnreach),
            Some(HostUnreach),
            Some(NoProtoOpt),
            Some(ConnRefused),
            None, // fragmentation needed: path MTU, not an error
            Some(OpNotSupp),
            Some(NetUnreach),
            Some(HostDown),
            Some(NoNet),
            Some(NetUnreach),
            Some(HostUnreach),
            Some(NetUnreach),
            Some(HostUnreach),
            Some(HostUnreach),
            Some(HostUnreach),
            Some(HostUnreach),
        ];
        for (code, want) in (0u8..).zip(want) {
            assert_eq!(errno(ICMP_DEST_UNREACH, code), want, "code {code}");
        }
        assert_eq!(errno(ICMP_DEST_UNREACH, 16), None);
        assert_eq!(errno(ICMP_SOURCE_QUENCH, 0), None);
        assert_eq!(errno(ICMP_TIME_EXCEEDED, 0), Some(HostUnreach));
        assert_eq!(errno(ICMP_PARAMETERPROB, 0), Some(Proto));
    }

    #[test]
    fn only_unreachable_peers_abort_a_request() {
        let aborts = |t, c| IcmpError::parse(&icmp(t, c, SERVER, CLIENT, 0)).unwrap().aborts_request();
        assert!(aborts(ICMP_DEST_UNREACH, ICMP_NET_UNREACH));
        assert!(aborts(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH));
        assert!(aborts(ICMP_TIME_EXCEEDED, 0));
        assert!(aborts(ICMP_PARAMETERPROB, 0));
        assert!(!aborts(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH));
        assert!(!aborts(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED));
        assert!(!aborts(ICMP_SOURCE_QUENCH, 0));
    }

    proptest! {
        #[test]
        fn parse6_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = IcmpError::parse6(&raw, &Addr::ANY, &Addr::LOOPBACK);
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = IcmpError::parse(&buf);
        }
    }
}
