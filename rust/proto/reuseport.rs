// SPDX-License-Identifier: GPL-2.0

//! Which listener of an `SO_REUSEPORT` group takes a connection
//! (`reuseport_select_sock` in `net/core/sock_reuseport.c`): the flow's
//! hash scaled to the group's size.
//!
//! Linux hashes with `inet_ehashfn` (IPv4, v4-mapped peers of an IPv6
//! listener included) or `inet6_ehashfn` (IPv6), `jhash_3words` over the
//! four-tuple keyed with `inet_ehash_secret` and the namespace's
//! `net_hash_mix`,
//! neither of which a module can read. The same function with a zero key
//! stands in for it here: the spread is Linux's kind (every flow of a
//! four-tuple goes to one listener, flows spread evenly), the choice for
//! a given tuple is not Linux's.

use super::conn::Endpoint;

const JHASH_INITVAL: u32 = 0xdead_beef;

/// `jhash_3words` (`include/linux/jhash.h`).
pub fn jhash_3words(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    let init = initval.wrapping_add(JHASH_INITVAL).wrapping_add(3 << 2);
    jhash_final(a.wrapping_add(init), b.wrapping_add(init), c.wrapping_add(init))
}

/// `__jhash_mix` (`include/linux/jhash.h`).
fn jhash_mix(mut a: u32, mut b: u32, mut c: u32) -> (u32, u32, u32) {
    a = a.wrapping_sub(c) ^ c.rotate_left(4);
    c = c.wrapping_add(b);
    b = b.wrapping_sub(a) ^ a.rotate_left(6);
    a = a.wrapping_add(c);
    c = c.wrapping_sub(b) ^ b.rotate_left(8);
    b = b.wrapping_add(a);
    a = a.wrapping_sub(c) ^ c.rotate_left(16);
    c = c.wrapping_add(b);
    b = b.wrapping_sub(a) ^ a.rotate_left(19);
    a = a.wrapping_add(c);
    c = c.wrapping_sub(b) ^ b.rotate_left(4);
    b = b.wrapping_add(a);
    (a, b, c)
}

/// `jhash2` over four words, an IPv6 address's (`__ipv6_addr_jhash`).
pub fn jhash2_4(k: [u32; 4], initval: u32) -> u32 {
    let init = JHASH_INITVAL.wrapping_add(4 << 2).wrapping_add(initval);
    let [k0, k1, k2, k3] = k;
    let (a, b, c) = jhash_mix(init.wrapping_add(k0), init.wrapping_add(k1), init.wrapping_add(k2));
    jhash_final(a.wrapping_add(k3), b, c)
}

/// `__jhash_final` (`include/linux/jhash.h`).
fn jhash_final(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

/// A word as it lies in memory in network order, read as a little-endian
/// word: the x86 view of Linux's `(__force u32)` casts.
fn raw(v: u32) -> u32 {
    u32::from_le_bytes(v.to_be_bytes())
}

/// `__inet_ehashfn` or `__inet6_ehashfn` with a zero key: the addresses
/// (the local IPv6 one by its last word, the remote one through
/// `__ipv6_addr_jhash`) and the remote port as they lie in memory, the
/// local port in host order.
pub fn flow_hash(local: Endpoint, remote: Endpoint) -> u32 {
    let lport = u32::from(local.port) << 16;
    let fport = u32::from(u16::from_le_bytes(remote.port.to_be_bytes()));
    let fhash = if remote.addr.is_v4() {
        raw(remote.addr.ipv4())
    } else {
        jhash2_4(remote.addr.words().map(raw), 0)
    };
    jhash_3words(raw(local.addr.ipv4()), fhash, lport | fport, 0)
}

/// `reciprocal_scale`: `hash` scaled to `0..n` (0 for an empty group).
pub fn scale(hash: u32, n: usize) -> usize {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let i = (u64::from(hash).wrapping_mul(u64::from(n))) >> 32;
    usize::try_from(i).unwrap_or(0)
}

/// The index in a group of `n` listeners that takes the connection of
/// `local` and `remote`.
pub fn select(local: Endpoint, remote: Endpoint, n: usize) -> usize {
    // Most listeners are alone: no hash for them (a SYN's hot path).
    if n <= 1 {
        return 0;
    }
    scale(flow_hash(local, remote), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use proptest::prelude::*;

    #[test]
    fn jhash_matches_linux() {
        // From a C program built over include/linux/jhash.h's
        // __jhash_final.
        assert_eq!(jhash_3words(0, 0, 0, 0), 0x1b68_e557);
        assert_eq!(jhash_3words(1, 2, 3, 0), 0xa461_58f5);
        // 127.0.0.1:8080 from 127.0.0.2:40000, as inet_ehashfn lays the
        // words out on x86.
        let local = Endpoint { addr: Addr::v4(0x7f00_0001), port: 8080 };
        let remote = Endpoint { addr: Addr::v4(0x7f00_0002), port: 40_000 };
        assert_eq!(flow_hash(local, remote), 0x490a_e8fd);
    }

    #[test]
    fn jhash2_matches_linux() {
        // From a C program built over include/linux/jhash.h's jhash2.
        assert_eq!(jhash2_4([1, 2, 3, 4], 0), 0x6649_1246);
        assert_eq!(jhash2_4([0x2001_0db8, 0, 0, 1], 7), 0x3c20_ac3d);
    }

    #[test]
    fn spreads_the_ports_of_one_ipv6_client() {
        let v6 = |last| Addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
        let local = Endpoint { addr: v6(1), port: 8080 };
        let mut counts = [0usize; 3];
        for port in 40_000..40_300 {
            counts[select(local, Endpoint { addr: v6(2), port }, 3)] += 1;
        }
        assert!(counts.iter().all(|&n| n > 50), "{counts:?}");
    }

    #[test]
    fn spreads_the_ports_of_one_client() {
        let local = Endpoint { addr: Addr::v4(0x0a00_0001), port: 8080 };
        let mut counts = [0usize; 2];
        for port in 40_000..40_200 {
            let i = select(local, Endpoint { addr: Addr::v4(0x0a00_0002), port }, 2);
            counts[i] += 1;
        }
        assert!(counts[0] > 50 && counts[1] > 50, "{counts:?}");
    }

    #[test]
    fn scale_bounds() {
        assert_eq!(scale(u32::MAX, 0), 0);
        assert_eq!(scale(u32::MAX, 1), 0);
        assert_eq!(scale(u32::MAX, 3), 2);
        assert_eq!(scale(0, 3), 0);
    }

    proptest! {
        #[test]
        fn always_in_the_group(la: u32, lp: u16, ra: [u8; 16], rp: u16, n in 1usize..64) {
            let (l, r) = (Endpoint { addr: Addr::v4(la), port: lp }, Endpoint { addr: Addr(ra), port: rp });
            let i = select(l, r, n);
            prop_assert!(i < n);
            prop_assert_eq!(i, select(l, r, n));
        }
    }
}
