// SPDX-License-Identifier: GPL-2.0

//! An endpoint's address, IPv4 or IPv6, as a dual-stack socket keeps it
//! (`sk_v6_daddr`, `sk_v6_rcv_saddr`): the 16 bytes of an IPv6 address in
//! network order, an IPv4 address v4-mapped (`::ffff:a.b.c.d`, RFC 4291
//! 2.5.5.2, `ipv6_addr_set_v4mapped`). One type for both families lets
//! the core, the tables and a listener on `::` treat IPv4 and IPv6 peers
//! alike; only the glue's family operations tell them apart.

use core::fmt;

/// The prefix of a v4-mapped address: 80 zero bits and 16 one bits.
const V4_MAPPED_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// An IPv6 address, or an IPv4 one v4-mapped; network order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr(pub [u8; 16]);

impl Addr {
    /// The IPv6 unspecified address `::` (`in6addr_any`).
    pub const ANY: Addr = Addr([0; 16]);
    /// The IPv4 unspecified address `0.0.0.0`, v4-mapped.
    pub const V4_ANY: Addr = Addr::v4(0);
    /// The IPv6 loopback address `::1` (`in6addr_loopback`).
    pub const LOOPBACK: Addr = Addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

    /// The IPv4 address `a` (host order), v4-mapped.
    pub const fn v4(a: u32) -> Addr {
        let [a0, a1, a2, a3] = a.to_be_bytes();
        Addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a0, a1, a2, a3])
    }

    /// The low 32 bits, host order: the IPv4 address of a v4-mapped one
    /// (0 for either unspecified address).
    pub fn ipv4(self) -> u32 {
        let [.., a0, a1, a2, a3] = self.0;
        u32::from_be_bytes([a0, a1, a2, a3])
    }

    /// The four 32-bit words, host order (`s6_addr32` byte-swapped).
    pub fn words(self) -> [u32; 4] {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = self.0;
        [
            u32::from_be_bytes([a0, a1, a2, a3]),
            u32::from_be_bytes([b0, b1, b2, b3]),
            u32::from_be_bytes([c0, c1, c2, c3]),
            u32::from_be_bytes([d0, d1, d2, d3]),
        ]
    }

    /// The eight 16-bit groups, host order, as an IPv6 address is written.
    pub fn groups(self) -> [u16; 8] {
        let [a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1, g0, g1, h0, h1] = self.0;
        [[a0, a1], [b0, b1], [c0, c1], [d0, d1], [e0, e1], [f0, f1], [g0, g1], [h0, h1]].map(u16::from_be_bytes)
    }

    /// A v4-mapped address (`ipv6_addr_v4mapped`).
    pub fn is_v4(self) -> bool {
        self.0.starts_with(&V4_MAPPED_PREFIX)
    }

    /// `::` or `0.0.0.0`: no address chosen (`ipv6_addr_any`, `INADDR_ANY`).
    pub fn is_any(self) -> bool {
        self == Addr::ANY || self == Addr::V4_ANY
    }

    /// `ff00::/8` (`ipv6_addr_type`'s `IPV6_ADDR_MULTICAST`).
    pub fn is_multicast(self) -> bool {
        matches!(self.0, [0xff, ..])
    }

    /// `fe80::/10`, which needs an interface to mean anything
    /// (`IPV6_ADDR_LINKLOCAL`).
    pub fn is_link_local(self) -> bool {
        matches!(self.0, [0xfe, b, ..] if b & 0xc0 == 0x80)
    }

    /// Does a socket bound to this address take what is sent to `to`?
    /// Its own address; for a wildcard, `0.0.0.0` any IPv4 address, and
    /// `::` any IPv6 one and, unless the socket is `v6only`, any IPv4 one
    /// (a dual-stack socket; `ipv6_rcv_saddr_equal`'s rules).
    pub fn takes(self, v6only: bool, to: Addr) -> bool {
        match self {
            Addr::V4_ANY => to.is_v4(),
            Addr::ANY => !to.is_v4() || !v6only,
            _ => self == to,
        }
    }

    /// Do sockets bound to `self` and `other` (each `v6only` or not)
    /// overlap, so that both may not hold one port
    /// (`inet_rcv_saddr_equal` with a wildcard match)?
    pub fn overlaps(self, v6only: bool, other: Addr, other_v6only: bool) -> bool {
        self.takes(v6only, other) || other.takes(other_v6only, self)
    }
}

/// An IPv6 address as RFC 5952 writes it (`%pI6c`): lower-case groups,
/// the first longest run of two or more zero groups as `::`, an IPv4
/// address v4-mapped as `::ffff:a.b.c.d`.
impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = *self;
        if a.is_v4() {
            let [x, y, z, w] = a.ipv4().to_be_bytes();
            return write!(f, "::ffff:{x}.{y}.{z}.{w}");
        }
        let g = a.groups();
        // The longest run of zero groups (the first of equals), if two or more.
        let (mut best, mut run) = ((0usize, 0usize), (0usize, 0usize));
        for (i, &v) in g.iter().enumerate() {
            if v == 0 {
                run = if run.1 == 0 { (i, 1) } else { (run.0, run.1.saturating_add(1)) };
                if run.1 > best.1 {
                    best = run;
                }
            } else {
                run = (0, 0);
            }
        }
        let (start, len) = if best.1 >= 2 { best } else { (g.len(), 0) };
        let end = start.saturating_add(len);
        for (i, v) in g.iter().enumerate() {
            if i == start {
                f.write_str("::")?;
            }
            if i >= start && i < end {
                continue;
            }
            if i != 0 && i != end {
                f.write_str(":")?;
            }
            write!(f, "{v:x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn v4_mapped() {
        let a = Addr::v4(0x0a00_0001);
        assert_eq!(a.0, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
        assert!(a.is_v4() && !a.is_any() && !a.is_multicast() && !a.is_link_local());
        assert_eq!(a.ipv4(), 0x0a00_0001);
        assert_eq!(a.words(), [0, 0, 0xffff, 0x0a00_0001]);
        assert!(Addr::V4_ANY.is_any() && Addr::V4_ANY.is_v4());
        assert!(Addr::ANY.is_any() && !Addr::ANY.is_v4());
        assert_eq!(Addr::ANY.ipv4(), 0);
        assert_eq!(Addr::default(), Addr::ANY);
    }

    #[test]
    fn v6_kinds() {
        let ll = Addr([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(ll.is_link_local() && !ll.is_v4() && !ll.is_multicast());
        let not_ll = Addr([0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(!not_ll.is_link_local());
        let mc = Addr([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(mc.is_multicast());
        assert!(!Addr::LOOPBACK.is_any() && !Addr::LOOPBACK.is_v4());
        assert_eq!(Addr::LOOPBACK.groups(), [0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn wildcards() {
        let (a4, a6) = (Addr::v4(0x0a00_0001), Addr::LOOPBACK);
        assert!(Addr::V4_ANY.takes(false, a4) && !Addr::V4_ANY.takes(false, a6));
        assert!(Addr::ANY.takes(false, a4) && Addr::ANY.takes(false, a6));
        assert!(!Addr::ANY.takes(true, a4) && Addr::ANY.takes(true, a6));
        assert!(a4.takes(false, a4) && !a4.takes(false, Addr::v4(0x0a00_0002)));
        // A dual-stack `::` and `0.0.0.0` overlap; a v6-only `::` does not.
        assert!(Addr::ANY.overlaps(false, Addr::V4_ANY, false));
        assert!(!Addr::ANY.overlaps(true, Addr::V4_ANY, false));
        assert!(!Addr::ANY.overlaps(true, a4, false));
        assert!(Addr::ANY.overlaps(true, a6, true));
        assert!(!a6.overlaps(true, a4, false));
    }

    #[test]
    fn shown_as_rfc5952_writes_them() {
        let parse = |groups: [u16; 8]| {
            let mut b = [0u8; 16];
            for (i, g) in groups.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
            }
            Addr(b).to_string()
        };
        assert_eq!(parse([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), "2001:db8::1");
        assert_eq!(parse([0; 8]), "::");
        assert_eq!(parse([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(parse([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), "2001:db8::");
        assert_eq!(parse([1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3");
        assert_eq!(parse([1, 0, 0, 2, 0, 0, 3, 4]), "1::2:0:0:3:4");
        assert_eq!(parse([1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
        assert_eq!(parse([0xfe80, 0, 0, 0, 0, 0, 0, 0xa]), "fe80::a");
        assert_eq!(Addr::v4(0x0a00_0001).to_string(), "::ffff:10.0.0.1");
    }

    proptest! {
        #[test]
        fn v4_round_trip(a in any::<u32>()) {
            prop_assert!(Addr::v4(a).is_v4());
            prop_assert_eq!(Addr::v4(a).ipv4(), a);
            prop_assert_eq!(Addr::v4(a).is_any(), a == 0);
        }
    }
}
