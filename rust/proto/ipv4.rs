// SPDX-License-Identifier: GPL-2.0

//! The IPv4 header fields TCP needs (RFC 791): parse what arrives, emit
//! what RTCP sends. Options are skipped on input and never sent.

use super::checksum::{Sum, IPPROTO_TCP};

/// The IPv4 header without options.
pub const HEADER_LEN: usize = 20;
/// Don't Fragment.
pub const DF: u16 = 0x4000;

/// The fields of a received IPv4 header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv4 {
    /// Source address (host order).
    pub src: u32,
    /// Destination address (host order).
    pub dst: u32,
    /// The protocol of the payload.
    pub protocol: u8,
    /// Header length in bytes (with options).
    pub header_len: usize,
    /// Total length in bytes.
    pub total_len: usize,
}

impl Ipv4 {
    /// Reads the header at the start of `buf`; `None` if it is not a
    /// well-formed IPv4 header.
    pub fn parse(buf: &[u8]) -> Option<Ipv4> {
        let &[vihl, _, t0, t1, _, _, _, _, _, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3] =
            buf.get(..HEADER_LEN)?
        else {
            return None;
        };
        let header_len = usize::from(vihl & 0x0f).checked_mul(4)?;
        let total_len = usize::from(u16::from_be_bytes([t0, t1]));
        if vihl >> 4 != 4 || header_len < HEADER_LEN || total_len < header_len {
            return None;
        }
        Some(Ipv4 {
            src: u32::from_be_bytes([s0, s1, s2, s3]),
            dst: u32::from_be_bytes([d0, d1, d2, d3]),
            protocol,
            header_len,
            total_len,
        })
    }
}

/// Writes a 20-byte header for a TCP segment of `payload_len` bytes from
/// `src` to `dst`, with the socket's `tos` and `ttl`, Don't Fragment if
/// `df` (as Linux's TCP sends unless the route's MTU is locked), an ID of
/// 0 and the header checksum. `None` if the packet would exceed 64 KiB.
pub fn emit_tcp(buf: &mut [u8; HEADER_LEN], src: u32, dst: u32, payload_len: usize, tos: u8, ttl: u8, df: bool) -> Option<()> {
    let total = u16::try_from(payload_len.checked_add(HEADER_LEN)?).ok()?;
    let [t0, t1] = total.to_be_bytes();
    let [i0, i1] = [0, 0];
    let [f0, f1] = if df { DF } else { 0 }.to_be_bytes();
    let [s0, s1, s2, s3] = src.to_be_bytes();
    let [d0, d1, d2, d3] = dst.to_be_bytes();
    *buf = [0x45, tos, t0, t1, i0, i1, f0, f1, ttl, IPPROTO_TCP, 0, 0, s0, s1, s2, s3, d0, d1, d2, d3];
    let [c0, c1] = Sum::default().add_bytes(buf).finish().to_be_bytes();
    buf[10] = c0;
    buf[11] = c1;
    Some(())
}

/// The ECN field of the TOS byte (`INET_ECN_MASK`).
pub const ECN_MASK: u8 = 3;

/// The TOS a stream socket keeps when `IP_TOS` sets `val` on one whose
/// TOS is `old` (`__ip_sock_set_tos`): the ECN bits are the connection's,
/// not the user's, so the old ones stay. Only the low byte of `val`
/// counts, as Linux stores it in a `u8`.
pub fn stream_tos(old: u8, val: i32) -> u8 {
    let [v, ..] = val.to_le_bytes();
    (v & !ECN_MASK) | (old & ECN_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emit_then_parse() {
        let mut h = [0u8; HEADER_LEN];
        emit_tcp(&mut h, 0x0a00_0001, 0x0a00_0002, 40, 0, 64, true).unwrap();
        assert_eq!(Sum::default().add_bytes(&h).finish(), 0);
        assert_eq!(
            Ipv4::parse(&h),
            Some(Ipv4 { src: 0x0a00_0001, dst: 0x0a00_0002, protocol: 6, header_len: 20, total_len: 60 })
        );
        assert_eq!(u16::from_be_bytes([h[6], h[7]]), DF);
        assert_eq!(h[8], 64);
        emit_tcp(&mut h, 0x0a00_0001, 0x0a00_0002, 40, 0, 64, false).unwrap();
        assert_eq!(u16::from_be_bytes([h[6], h[7]]), 0);
        assert_eq!(Sum::default().add_bytes(&h).finish(), 0);
    }

    #[test]
    fn tos_and_ttl_on_the_wire() {
        let mut h = [0u8; HEADER_LEN];
        emit_tcp(&mut h, 1, 2, 0, 0xb8, 7, true).unwrap();
        assert_eq!((h[1], h[8]), (0xb8, 7));
        assert_eq!(Sum::default().add_bytes(&h).finish(), 0);
        assert_eq!(Ipv4::parse(&h).map(|i| i.total_len), Some(20));
    }

    #[test]
    fn stream_tos_keeps_the_ecn_bits() {
        assert_eq!(stream_tos(0, 0xff), 0xfc);
        assert_eq!(stream_tos(0, 0x10), 0x10);
        assert_eq!(stream_tos(2, 0x11), 0x12);
        assert_eq!(stream_tos(0, 0x1_23), 0x20);
        assert_eq!(stream_tos(0, -1), 0xfc);
    }

    #[test]
    fn rejects_what_is_not_ipv4() {
        let mut h = [0u8; HEADER_LEN];
        emit_tcp(&mut h, 1, 2, 0, 0, 64, true).unwrap();
        assert!(Ipv4::parse(&h[..19]).is_none());
        let mut v6 = h;
        v6[0] = 0x65;
        assert!(Ipv4::parse(&v6).is_none());
        let mut short_ihl = h;
        short_ihl[0] = 0x44;
        assert!(Ipv4::parse(&short_ihl).is_none());
        let mut short_total = h;
        short_total[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(Ipv4::parse(&short_total).is_none());
        assert!(emit_tcp(&mut h, 1, 2, 65_516, 0, 64, true).is_none());
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Some(h) = Ipv4::parse(&raw) {
                prop_assert!(h.header_len >= HEADER_LEN && h.total_len >= h.header_len);
            }
        }
    }
}
