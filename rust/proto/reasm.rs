// SPDX-License-Identifier: GPL-2.0

//! The out-of-order queue's bookkeeping (`tcp_data_queue_ofo`): which
//! ranges past `RCV.NXT` have arrived. The bytes themselves sit in the
//! receive ring at their place; this remembers where they are, fills the
//! hole when the missing segment comes, and gives the SACK blocks to send
//! (RFC 2018 4: the block of the latest segment first).

use super::options::{SackBlock, TCP_NUM_SACKS};
use super::seq::SeqNum;

/// The most separate ranges kept. A segment that would need one more is
/// not kept (the sender retransmits it), as a full out-of-order queue
/// prunes in Linux.
pub const MAX_RANGES: usize = 8;

/// One range `[start, end)` of sequence space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// First sequence number.
    pub start: SeqNum,
    /// The sequence number after the last.
    pub end: SeqNum,
}

/// Disjoint ranges past `RCV.NXT`, the most recently extended first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reassembly {
    ranges: [Range; MAX_RANGES],
    len: u8,
}

impl Reassembly {
    /// The ranges, most recent first.
    pub fn ranges(&self) -> &[Range] {
        self.ranges.get(..usize::from(self.len).min(MAX_RANGES)).unwrap_or(&[])
    }

    /// Nothing out of order.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records `[start, end)` as arrived, merged with the ranges it touches,
    /// and makes it the most recent. False if it needed a range more than
    /// [`MAX_RANGES`] (nothing is recorded then).
    pub fn add(&mut self, start: SeqNum, end: SeqNum) -> bool {
        if !start.before(end) {
            return true;
        }
        let mut merged = Range { start, end };
        let mut kept = [Range::default(); MAX_RANGES];
        let mut n = 0usize;
        for r in self.ranges() {
            if !r.end.before(merged.start) && !merged.end.before(r.start) {
                // Overlapping or adjacent: one range.
                if r.start.before(merged.start) {
                    merged.start = r.start;
                }
                if r.end.after(merged.end) {
                    merged.end = r.end;
                }
            } else if let Some(slot) = kept.get_mut(n) {
                *slot = *r;
                n = n.saturating_add(1);
            }
        }
        if n >= MAX_RANGES {
            return false;
        }
        let mut ranges = [Range::default(); MAX_RANGES];
        if let Some(first) = ranges.first_mut() {
            *first = merged;
        }
        for (dst, src) in ranges.iter_mut().skip(1).zip(kept.iter().take(n)) {
            *dst = *src;
        }
        self.ranges = ranges;
        self.len = u8::try_from(n.saturating_add(1)).unwrap_or(0);
        true
    }

    /// `RCV.NXT` moved to `rcv_nxt`: the range that now starts at or before
    /// it is in order. Returns the new `RCV.NXT` past it (or `rcv_nxt`), and
    /// forgets every range that ends at or before that.
    pub fn advance(&mut self, rcv_nxt: SeqNum) -> SeqNum {
        let mut nxt = rcv_nxt;
        // One pass may join a range that lets an earlier-listed one in.
        loop {
            let before = nxt;
            for r in self.ranges() {
                if !r.start.after(nxt) && r.end.after(nxt) {
                    nxt = r.end;
                }
            }
            if nxt == before {
                break;
            }
        }
        self.retain(|r| r.end.after(nxt).then_some(r));
        nxt
    }

    /// Keeps, in order, what `f` makes of each range (`None`: dropped).
    fn retain(&mut self, f: impl Fn(Range) -> Option<Range>) {
        let mut kept = [Range::default(); MAX_RANGES];
        let mut n = 0usize;
        for r in self.ranges().iter().filter_map(|r| f(*r)) {
            if let Some(slot) = kept.get_mut(n) {
                *slot = r;
                n = n.saturating_add(1);
            }
        }
        self.ranges = kept;
        self.len = u8::try_from(n).unwrap_or(0);
    }

    /// The SACK blocks to send: `first` if any (a D-SACK block, RFC 2883),
    /// then the ranges, most recent first, as many as fit (three beside
    /// timestamps, RFC 2018 3).
    pub fn sack_blocks(&self, first: Option<SackBlock>, timestamps: bool) -> ([SackBlock; TCP_NUM_SACKS], u8) {
        let room = if timestamps { 3 } else { TCP_NUM_SACKS };
        let mut blocks = [SackBlock::default(); TCP_NUM_SACKS];
        let mut n = 0u8;
        let ranges = self.ranges().iter().map(|r| SackBlock { left: r.start.0, right: r.end.0 });
        for (b, r) in blocks.iter_mut().zip(first.into_iter().chain(ranges).take(room)) {
            *b = r;
            n = n.saturating_add(1);
        }
        (blocks, n)
    }

    /// Forgets what lies before `seq` (ranges that end at or before it,
    /// and the part of one that starts before it), leaving the rest as it
    /// is: a sender's scoreboard when `SND.UNA` moves.
    pub fn forget_before(&mut self, seq: SeqNum) {
        self.retain(|r| r.end.after(seq).then_some(Range { start: if r.start.before(seq) { seq } else { r.start }, end: r.end }));
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = Reassembly::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(a: u32, b: u32) -> Range {
        Range { start: SeqNum(a), end: SeqNum(b) }
    }

    #[test]
    fn ranges_merge_and_the_latest_comes_first() {
        let mut q = Reassembly::default();
        assert!(q.add(SeqNum(200), SeqNum(300)));
        assert!(q.add(SeqNum(400), SeqNum(500)));
        assert_eq!(q.ranges(), &[r(400, 500), r(200, 300)]);
        assert!(q.add(SeqNum(300), SeqNum(400)));
        assert_eq!(q.ranges(), &[r(200, 500)]);
        let (blocks, n) = q.sack_blocks(None, true);
        assert_eq!((n, blocks[0]), (1, SackBlock { left: 200, right: 500 }));
    }

    #[test]
    fn the_hole_filled_brings_the_ranges_in() {
        let mut q = Reassembly::default();
        q.add(SeqNum(200), SeqNum(300));
        q.add(SeqNum(400), SeqNum(500));
        assert_eq!(q.advance(SeqNum(150)), SeqNum(150));
        assert_eq!(q.advance(SeqNum(200)), SeqNum(300));
        assert_eq!(q.ranges(), &[r(400, 500)]);
        assert_eq!(q.advance(SeqNum(450)), SeqNum(500));
        assert!(q.is_empty());
    }

    #[test]
    fn wraps_around_zero() {
        let mut q = Reassembly::default();
        q.add(SeqNum(0xffff_ff00), SeqNum(0x100));
        assert_eq!(q.advance(SeqNum(0xffff_fff0)), SeqNum(0x100));
    }

    #[test]
    fn a_range_too_many_is_refused() {
        let mut q = Reassembly::default();
        for i in 0..MAX_RANGES as u32 {
            assert!(q.add(SeqNum(i * 100), SeqNum(i * 100 + 10)));
        }
        assert!(!q.add(SeqNum(5000), SeqNum(5010)));
        // Merging into an existing one still works.
        assert!(q.add(SeqNum(10), SeqNum(20)));
    }

    proptest! {
        /// Whatever arrives in whatever order, the ranges stay disjoint and
        /// cover exactly what arrived past RCV.NXT.
        #[test]
        fn ranges_are_what_arrived(segs in proptest::collection::vec((0u32..64, 1u32..8), 0..30)) {
            let mut q = Reassembly::default();
            let mut have = [false; 80];
            let mut nxt = SeqNum(0);
            for (s, l) in segs {
                if q.add(SeqNum(s), SeqNum(s + l)) {
                    for b in s..s + l { have[b as usize] = true; }
                }
                nxt = q.advance(nxt);
                let expect = have.iter().position(|h| !h).unwrap() as u32;
                prop_assert_eq!(nxt, SeqNum(expect));
                for (i, h) in have.iter().enumerate() {
                    let i = i as u32;
                    let inside = q.ranges().iter().any(|r| r.start.0 <= i && i < r.end.0);
                    prop_assert_eq!(inside, *h && i >= nxt.0);
                }
            }
        }
    }
}
