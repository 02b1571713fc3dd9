// SPDX-License-Identifier: GPL-2.0

//! The IPv6 header fields TCP needs (RFC 8200): the fixed header, and the
//! walk over extension headers to the upper-layer one (`ipv6_skip_exthdr`).
//! A fragment is not walked past: its TCP header may be in another one.
//! The netfilter hook at `LOCAL_IN` sees a packet whose headers after
//! hop-by-hop Linux has not walked yet, and each fragment before
//! reassembly: the fragments of a TCP segment are left to Linux.

use super::addr::Addr;
use super::conn::Endpoint;

/// The fixed IPv6 header.
pub const HEADER_LEN: usize = 40;
/// Next header: hop-by-hop options.
pub const NEXTHDR_HOP: u8 = 0;
/// Next header: TCP.
pub const NEXTHDR_TCP: u8 = 6;
/// Next header: routing header.
pub const NEXTHDR_ROUTING: u8 = 43;
/// Next header: fragment header.
pub const NEXTHDR_FRAGMENT: u8 = 44;
/// Next header: authentication header (its length counts 4-byte words).
pub const NEXTHDR_AUTH: u8 = 51;
/// Next header: ICMPv6.
pub const NEXTHDR_ICMP: u8 = 58;
/// Next header: no next header.
pub const NEXTHDR_NONE: u8 = 59;
/// Next header: destination options.
pub const NEXTHDR_DEST: u8 = 60;

/// The fields of a received IPv6 header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ipv6 {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// The upper-layer protocol after the extension headers.
    pub protocol: u8,
    /// Bytes from the start of the packet to the upper-layer header.
    pub header_len: usize,
    /// The whole packet's length: the fixed header and its payload.
    pub total_len: usize,
    /// The traffic class (the TOS byte's counterpart).
    pub tclass: u8,
}

impl Ipv6 {
    /// Reads the fixed header at the start of `buf`: `protocol` is its
    /// next header and `header_len` 40, before any extension header is
    /// walked. `None` if it is not an IPv6 header.
    pub fn parse_fixed(buf: &[u8]) -> Option<Ipv6> {
        let (fixed, _) = buf.split_first_chunk::<HEADER_LEN>()?;
        let [v0, v1, _, _, p0, p1, next, _, rest @ ..] = *fixed;
        if v0 >> 4 != 6 {
            return None;
        }
        let (src, dst) = rest.split_at(16);
        let (src, dst) = (Addr(src.try_into().ok()?), Addr(dst.try_into().ok()?));
        let total_len = usize::from(u16::from_be_bytes([p0, p1])).checked_add(HEADER_LEN)?;
        Some(Ipv6 { src, dst, protocol: next, header_len: HEADER_LEN, total_len, tclass: v0 << 4 | v1 >> 4 })
    }

    /// Reads the header at the start of `buf` and walks its extension
    /// headers, which must lie within `buf` (the payload need not: a
    /// packet an ICMPv6 error quotes is cut short); `None` if it is not
    /// an IPv6 header or a header cannot be walked ([`ext_step`]).
    pub fn parse(buf: &[u8]) -> Option<Ipv6> {
        let mut h = Ipv6::parse_fixed(buf)?;
        // A bound on the walk: each header takes at least 8 bytes, so a
        // packet of 64 KiB holds fewer than this many.
        for _ in 0..8192 {
            let &[b0, b1] = buf.get(h.header_len..)?.get(..2).unwrap_or(&[0, 0]) else { return None };
            match ext_step(h.protocol, [b0, b1])? {
                None => return Some(h),
                Some((next, len)) => {
                    h.header_len = h.header_len.checked_add(len)?;
                    if h.header_len > buf.len() {
                        return None;
                    }
                    h.protocol = next;
                }
            }
        }
        None
    }
}

/// One step of the walk over extension headers (`ipv6_skip_exthdr`): at a
/// header of kind `next` whose first two bytes are `head`, `Some(None)`
/// if it is the upper layer's, `Some(Some((kind, len)))` for an extension
/// header of `len` bytes followed by one of `kind`, and `None` for one
/// that is not walked past: a fragment (its TCP header may be in another
/// one) or no next header.
pub fn ext_step(next: u8, head: [u8; 2]) -> Option<Option<(u8, usize)>> {
    let [nh, len] = head;
    let words = usize::from(len).checked_add(1)?;
    match next {
        NEXTHDR_HOP | NEXTHDR_ROUTING | NEXTHDR_DEST => Some(Some((nh, words.checked_mul(8)?))),
        // The authentication header counts 4-byte words, less 2.
        NEXTHDR_AUTH => Some(Some((nh, words.checked_add(1)?.checked_mul(4)?))),
        NEXTHDR_FRAGMENT | NEXTHDR_NONE => None,
        _ => Some(None),
    }
}

/// The flow label of a connection's packets (RFC 6437), as Linux's
/// `ip6_make_flowlabel` derives it from the flow's hash when
/// `net.ipv6.auto_flowlabels` asks (its default): 20 bits of a hash of
/// the four-tuple, the same for every packet of the connection, never 0.
pub fn flow_label(local: Endpoint, remote: Endpoint) -> u32 {
    let label = super::reuseport::flow_hash(local, remote).rotate_left(16) & FLOWLABEL_MASK;
    if label == 0 { 1 } else { label }
}

/// The flow label's bits of the first word.
pub const FLOWLABEL_MASK: u32 = 0x000f_ffff;

/// Writes a fixed header for a TCP segment of `payload_len` bytes from
/// `src` to `dst`, with the traffic class `tclass`, the flow label `label`
/// and `hop_limit`, no extension header. `None` if the payload exceeds 64
/// KiB.
pub fn emit_tcp(buf: &mut [u8; HEADER_LEN], src: &Addr, dst: &Addr, payload_len: usize, tclass: u8, label: u32, hop_limit: u8) -> Option<()> {
    let [p0, p1] = u16::try_from(payload_len).ok()?.to_be_bytes();
    let [_, l0, l1, l2] = (label & FLOWLABEL_MASK).to_be_bytes();
    let mut words = [0u8; 8];
    words.copy_from_slice(&[0x60 | tclass >> 4, tclass << 4 | l0, l1, l2, p0, p1, NEXTHDR_TCP, hop_limit]);
    let (head, addrs) = buf.split_at_mut(8);
    head.copy_from_slice(&words);
    let (s, d) = addrs.split_at_mut(16);
    s.copy_from_slice(&src.0);
    d.copy_from_slice(&dst.0);
    Some(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn addr(last: u8) -> Addr {
        Addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last])
    }

    /// A fixed header from `src` to `dst` carrying `payload_len` bytes
    /// after it, the first of kind `next`.
    pub(crate) fn header(src: Addr, dst: Addr, next: u8, payload_len: u16) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&payload_len.to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&src.0);
        h.extend_from_slice(&dst.0);
        h
    }

    #[test]
    fn fixed_header() {
        let mut p = header(addr(1), addr(2), NEXTHDR_TCP, 20);
        p[0] = 0x6b;
        p[1] = 0x80;
        p.resize(60, 0);
        let h = Ipv6::parse(&p).unwrap();
        assert_eq!(h, Ipv6 { src: addr(1), dst: addr(2), protocol: 6, header_len: 40, total_len: 60, tclass: 0xb8 });
    }

    #[test]
    fn emit_then_parse() {
        let mut h = [0u8; HEADER_LEN];
        emit_tcp(&mut h, &addr(1), &addr(2), 20, 0xb8, 0xabcde, 7).unwrap();
        assert_eq!(u32::from_be_bytes([h[0], h[1], h[2], h[3]]), 0x6b8a_bcde);
        let mut p = h.to_vec();
        p.resize(60, 0);
        let got = Ipv6::parse(&p).unwrap();
        assert_eq!(got, Ipv6 { src: addr(1), dst: addr(2), protocol: NEXTHDR_TCP, header_len: 40, total_len: 60, tclass: 0xb8 });
        assert_eq!(h[7], 7);
        assert!(emit_tcp(&mut h, &addr(1), &addr(2), 65_536, 0, 1, 64).is_none());
        let (a, b) = (Endpoint { addr: addr(1), port: 1 }, Endpoint { addr: addr(2), port: 2 });
        let l = flow_label(a, b);
        assert!(l != 0 && l <= FLOWLABEL_MASK);
        assert_eq!(l, flow_label(a, b));
        assert_ne!(l, flow_label(a, Endpoint { port: 3, ..b }));
    }

    #[test]
    fn walks_extension_headers() {
        // hop-by-hop (8 bytes), destination options (16), then TCP.
        let mut p = header(addr(1), addr(2), NEXTHDR_HOP, 44);
        p.extend_from_slice(&[NEXTHDR_DEST, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[NEXTHDR_TCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        p.resize(84, 0);
        let h = Ipv6::parse(&p).unwrap();
        assert_eq!((h.protocol, h.header_len, h.total_len), (NEXTHDR_TCP, 64, 84));
    }

    #[test]
    fn refuses_what_it_cannot_walk() {
        let mut p = header(addr(1), addr(2), NEXTHDR_TCP, 20);
        p.resize(60, 0);
        assert_eq!(Ipv6::parse(&p[..50]).map(|h| h.total_len), Some(60), "a quoted packet, cut short");
        assert!(Ipv6::parse(&p[..39]).is_none());
        let mut v4 = p.clone();
        v4[0] = 0x45;
        assert!(Ipv6::parse(&v4).is_none());
        let mut frag = header(addr(1), addr(2), NEXTHDR_FRAGMENT, 28);
        frag.extend_from_slice(&[NEXTHDR_TCP, 0, 0, 1, 0, 0, 0, 1]);
        frag.resize(68, 0);
        assert!(Ipv6::parse(&frag).is_none(), "a fragment");
        let mut long = header(addr(1), addr(2), NEXTHDR_DEST, 8);
        long.extend_from_slice(&[NEXTHDR_TCP, 1, 0, 0, 0, 0, 0, 0]);
        assert!(Ipv6::parse(&long).is_none(), "an extension header past the packet");
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Some(h) = Ipv6::parse(&raw) {
                prop_assert!(h.header_len >= HEADER_LEN && h.header_len <= raw.len());
            }
        }
    }
}
