// SPDX-License-Identifier: GPL-2.0

//! ICMP errors about our segments (RFC 792, RFC 1122 4.2.3.9, RFC 5927):
//! the message, the TCP segment it quotes, and what TCP makes of it, as
//! `tcp_v4_err()` and `icmp_err_convert[]` do in Linux.

use super::checksum::Sum;
use super::conn::Endpoint;
use super::ipv4::Ipv4;
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
    /// Fragmentation needed: the next hop's MTU (RFC 1191; 0 if the
    /// router left it out, and for other messages).
    pub mtu: u16,
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
        if ip.protocol != super::checksum::IPPROTO_TCP {
            return None;
        }
        let tcp = quoted.get(ip.header_len..)?.get(..QUOTED_TCP_LEN)?;
        let &[s0, s1, d0, d1, q0, q1, q2, q3] = tcp else { return None };
        Some(IcmpError {
            icmp_type,
            code,
            local: Endpoint { addr: ip.src, port: u16::from_be_bytes([s0, s1]) },
            remote: Endpoint { addr: ip.dst, port: u16::from_be_bytes([d0, d1]) },
            seq: SeqNum(u32::from_be_bytes([q0, q1, q2, q3])),
            mtu: if (icmp_type, code) == (ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED) { u16::from_be_bytes([m0, m1]) } else { 0 },
        })
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
    pub fn aborts_request(&self) -> bool {
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
        ip[12..16].copy_from_slice(&from.addr.to_be_bytes());
        ip[16..20].copy_from_slice(&to.addr.to_be_bytes());
        m.extend_from_slice(&ip);
        m.extend_from_slice(&from.port.to_be_bytes());
        m.extend_from_slice(&to.port.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        let sum = Sum::default().add_bytes(&m).finish();
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        m
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
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = IcmpError::parse(&buf);
        }
    }
}
