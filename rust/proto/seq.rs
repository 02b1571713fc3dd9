// SPDX-License-Identifier: GPL-2.0

//! Sequence-number arithmetic modulo 2^32 (RFC 9293, 3.4).
//!
//! Comparisons follow `before()`/`after()` in `include/net/tcp.h`: `a` is
//! before `b` when the signed 32-bit distance from `b` to `a` is negative.

use core::cmp::Ordering;
use core::fmt;

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self + n`, wrapping modulo 2^32.
    #[must_use]
    pub const fn add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// `self - n`, wrapping modulo 2^32.
    #[must_use]
    pub const fn sub(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }

    /// The signed distance from `other` to `self`: positive when `self` is
    /// after `other`.
    pub const fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self` comes strictly before `other` (`before()` in Linux).
    pub const fn before(self, other: SeqNum) -> bool {
        self.diff(other) < 0
    }

    /// `self` comes strictly after `other` (`after()` in Linux).
    pub const fn after(self, other: SeqNum) -> bool {
        other.before(self)
    }

    /// `lo <= self <= hi` in sequence space (`between()` in Linux).
    pub const fn between(self, lo: SeqNum, hi: SeqNum) -> bool {
        hi.0.wrapping_sub(lo.0) >= self.0.wrapping_sub(lo.0)
    }
}

impl PartialOrd for SeqNum {
    /// Sequence numbers are ordered only relative to each other: the order
    /// is the sign of the 32-bit distance, which is not transitive over the
    /// whole space, so this is a partial order that never says `None` for
    /// numbers within 2^31 of each other.
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_around_zero() {
        let a = SeqNum(u32::MAX - 1);
        let b = a.add(4);
        assert_eq!(b, SeqNum(2));
        assert!(a.before(b));
        assert!(b.after(a));
        assert_eq!(b.diff(a), 4);
        assert_eq!(a.diff(b), -4);
        assert_eq!(b.sub(4), a);
    }

    #[test]
    fn half_space_is_the_horizon() {
        let a = SeqNum(0);
        assert!(a.before(SeqNum(0x7fff_ffff)));
        // At exactly 2^31 the distance is i32::MIN: "before" both ways is
        // false one way and true the other, as in Linux.
        assert!(SeqNum(0x8000_0000).before(a));
        assert!(!a.before(a));
        assert!(!a.after(a));
    }

    #[test]
    fn between_is_inclusive_and_wraps() {
        let lo = SeqNum(u32::MAX - 10);
        let hi = lo.add(20);
        assert!(lo.between(lo, hi));
        assert!(hi.between(lo, hi));
        assert!(SeqNum(3).between(lo, hi));
        assert!(!hi.add(1).between(lo, hi));
        assert!(!lo.sub(1).between(lo, hi));
    }

    proptest! {
        #[test]
        fn add_then_diff(a: u32, n in 0u32..0x8000_0000) {
            let a = SeqNum(a);
            let b = a.add(n);
            prop_assert_eq!(b.diff(a), n as i32);
            prop_assert_eq!(b.sub(n), a);
            prop_assert_eq!(n == 0, !a.before(b) && !b.before(a));
            if n > 0 {
                prop_assert!(a.before(b) && b.after(a));
                prop_assert!(a.partial_cmp(&b) == Some(Ordering::Less));
            }
        }

        #[test]
        fn between_matches_distance(lo: u32, len: u32, off: u32) {
            let (lo, x) = (SeqNum(lo), SeqNum(lo).add(off));
            prop_assert_eq!(x.between(lo, lo.add(len)), off <= len);
        }
    }
}
