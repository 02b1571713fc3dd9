// SPDX-License-Identifier: GPL-2.0

//! The Internet checksum (RFC 1071) and the TCP pseudo-headers of IPv4
//! (RFC 9293, 3.1) and IPv6 (RFC 8200, 8.1).
//!
//! Sums are accumulated in a `u32` of 16-bit big-endian words and folded at
//! the end, like `csum_partial()` and `csum_fold()` in Linux.

use super::addr::Addr;

/// The IP protocol number of TCP, as it appears in the pseudo-header.
pub const IPPROTO_TCP: u8 = 6;

/// A running ones'-complement sum, not yet folded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sum(u32);

impl Sum {
    /// Adds `data` as big-endian 16-bit words, the odd last byte padded with
    /// zero. `data` must start on an even offset of the summed message.
    #[must_use]
    pub fn add_bytes(self, data: &[u8]) -> Sum {
        let mut acc = u64::from(self.0);
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            if let [hi, lo] = *w {
                acc = acc.wrapping_add(u64::from(u16::from_be_bytes([hi, lo])));
            }
        }
        if let [last] = *words.remainder() {
            acc = acc.wrapping_add(u64::from(u16::from_be_bytes([last, 0])));
        }
        Sum(fold32(acc))
    }

    /// Adds one 16-bit word.
    #[must_use]
    pub fn add_u16(self, v: u16) -> Sum {
        Sum(fold32(u64::from(self.0).wrapping_add(u64::from(v))))
    }

    /// Adds a 32-bit value as two words (an IPv4 address, a length).
    #[must_use]
    pub fn add_u32(self, v: u32) -> Sum {
        let [a, b, c, d] = v.to_be_bytes();
        self.add_u16(u16::from_be_bytes([a, b])).add_u16(u16::from_be_bytes([c, d]))
    }

    /// Folds the sum to 16 bits and complements it: the value that goes in
    /// the checksum field.
    pub fn finish(self) -> u16 {
        !self.fold()
    }

    /// Folds the sum to 16 bits (`csum_fold` without the complement): the
    /// pseudo-header's sum in the checksum field of a segment whose
    /// checksum the device completes (`CHECKSUM_PARTIAL`).
    pub fn fold(self) -> u16 {
        let mut s = self.0;
        while s > 0xffff {
            s = (s & 0xffff).wrapping_add(s >> 16);
        }
        // `s <= 0xffff` here, so the conversion is exact.
        s as u16
    }
}

/// Folds a 64-bit accumulator into 32 bits without losing carries.
fn fold32(mut acc: u64) -> u32 {
    while acc > 0xffff_ffff {
        acc = (acc & 0xffff_ffff).wrapping_add(acc >> 32);
    }
    acc as u32
}

/// The sum of the TCP/IPv4 pseudo-header: source and destination address
/// (host order values of the network-order addresses), zero, protocol, and
/// the TCP length (header and data).
pub fn pseudo_header_ipv4(src: u32, dst: u32, tcp_len: u16) -> Sum {
    Sum::default()
        .add_u32(src)
        .add_u32(dst)
        .add_u16(u16::from(IPPROTO_TCP))
        .add_u16(tcp_len)
}

/// The sum of the TCP/IPv6 pseudo-header (`csum_ipv6_magic`): source and
/// destination address, the upper-layer length (header and data) as 32
/// bits, three zero bytes and the next header, TCP.
pub fn pseudo_header_ipv6(src: &Addr, dst: &Addr, tcp_len: u32) -> Sum {
    Sum::default()
        .add_bytes(&src.0)
        .add_bytes(&dst.0)
        .add_u32(tcp_len)
        .add_u16(u16::from(IPPROTO_TCP))
}

/// The pseudo-header of a segment between `src` and `dst`: IPv4's when
/// both are v4-mapped (a connection over IPv4), else IPv6's.
pub fn pseudo_header(src: Addr, dst: Addr, tcp_len: u16) -> Sum {
    if src.is_v4() && dst.is_v4() {
        pseudo_header_ipv4(src.ipv4(), dst.ipv4(), tcp_len)
    } else {
        pseudo_header_ipv6(&src, &dst, u32::from(tcp_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071, 3: the sum of these words is ddf2, its complement 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Sum::default().add_bytes(&data).finish(), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            Sum::default().add_bytes(&[0x12, 0x34, 0x56]).finish(),
            Sum::default().add_bytes(&[0x12, 0x34, 0x56, 0x00]).finish()
        );
    }

    #[test]
    fn known_tcp_syn() {
        // A bare SYN from 10.0.0.1:40000 to 10.0.0.2:80: once its checksum
        // is filled in, summing it with the pseudo-header gives 0.
        let seg: [u8; 20] = [
            0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
            0x72, 0x10, 0x00, 0x00, 0x00, 0x00,
        ];
        let src = u32::from_be_bytes([10, 0, 0, 1]);
        let dst = u32::from_be_bytes([10, 0, 0, 2]);
        let csum = pseudo_header_ipv4(src, dst, 20).add_bytes(&seg).finish();
        let mut with = seg;
        with[16..18].copy_from_slice(&csum.to_be_bytes());
        assert_eq!(pseudo_header_ipv4(src, dst, 20).add_bytes(&with).finish(), 0);
    }

    #[test]
    fn known_tcp_syn_over_ipv6() {
        // The same SYN from 2001:db8::1 to 2001:db8::2: the sum of its
        // pseudo-header, worked by hand from RFC 8200 8.1 (the address
        // words 0x2001 + 0x0db8 + 0x0001 twice, the addresses' last words
        // 1 and 2, length 20, next header 6).
        let (src, dst) = (v6(1), v6(2));
        let want = 2u32 * (0x2001 + 0x0db8) + 1 + 2 + 20 + 6;
        assert_eq!(u32::from(pseudo_header_ipv6(&src, &dst, 20).fold()), want);
        let seg: [u8; 20] = [
            0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
            0x72, 0x10, 0x00, 0x00, 0x00, 0x00,
        ];
        let csum = pseudo_header_ipv6(&src, &dst, 20).add_bytes(&seg).finish();
        let mut with = seg;
        with[16..18].copy_from_slice(&csum.to_be_bytes());
        assert_eq!(pseudo_header_ipv6(&src, &dst, 20).add_bytes(&with).finish(), 0);
        // A v4-mapped pair is not the IPv4 pseudo-header: the family picks it.
        let (a, b) = (Addr::v4(0x0a00_0001), Addr::v4(0x0a00_0002));
        assert_ne!(pseudo_header_ipv6(&a, &b, 20), pseudo_header_ipv4(a.ipv4(), b.ipv4(), 20));
    }

    fn v6(last: u8) -> Addr {
        Addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last])
    }

    proptest! {
        /// Filling in the checksum makes the whole message sum to zero, and
        /// flipping any bit breaks it.
        #[test]
        fn verify_after_fill(mut data in proptest::collection::vec(any::<u8>(), 2..200),
                             bit in any::<usize>()) {
            data[0] = 0; data[1] = 0;
            let c = Sum::default().add_bytes(&data).finish();
            data[..2].copy_from_slice(&c.to_be_bytes());
            prop_assert_eq!(Sum::default().add_bytes(&data).finish(), 0);
            let bit = bit % (data.len() * 8);
            data[bit / 8] ^= 1 << (bit % 8);
            prop_assert_ne!(Sum::default().add_bytes(&data).finish(), 0);
        }

        /// Summing in two pieces (split at an even offset) is summing once.
        #[test]
        fn incremental(data in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<usize>()) {
            let cut = (cut % (data.len() + 1)) & !1;
            let whole = Sum::default().add_bytes(&data).finish();
            let parts = Sum::default().add_bytes(&data[..cut]).add_bytes(&data[cut..]).finish();
            prop_assert_eq!(whole, parts);
        }
    }
}
