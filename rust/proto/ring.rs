// SPDX-License-Identifier: GPL-2.0

//! A byte ring over storage the caller owns: a connection's send or
//! receive buffer.
//!
//! The ring does not know sequence numbers; the connection does. Offsets
//! are counted from the ring's head (the oldest byte kept): the send
//! buffer's head is `SND.UNA`, the receive buffer's the first unread byte.
//! Bytes may be written past the end of the data (out-of-order segments,
//! placed where they belong) and become data when [`Ring::commit`] says so.
//!
//! Every offset is checked: a wrong one reads or writes nothing, it never
//! panics.
//!
//! The ring reaches its storage a range at a time ([`Bytes`]), never as one
//! slice: the module copies user memory into the room after the data, or
//! out of the data, without the connection's lock, while the lock's holder
//! works on the other ranges ([`Ring::room_spans`], [`Ring::data_spans`]).

use core::ops::Range;

/// The storage of a ring, reached by ranges of bytes.
pub trait Bytes {
    /// How many bytes there are.
    fn size(&self) -> usize;
    /// Where the piece of storage that holds byte `at` ends, within
    /// `end`: [`Bytes::range`] and [`Bytes::range_mut`] give no slice
    /// across pieces. One piece unless the storage says otherwise.
    fn piece_end(&self, _at: usize, end: usize) -> usize {
        end
    }
    /// The bytes of `r`, or `None` if it is not inside.
    fn range(&self, r: Range<usize>) -> Option<&[u8]>;
    /// The bytes of `r`, writable, or `None` if it is not inside.
    fn range_mut(&mut self, r: Range<usize>) -> Option<&mut [u8]>;
    /// Copies `src`'s bytes of `from` to `at` on; false if either range
    /// is not inside. Storage whose [`Bytes::range`] gives no slice
    /// across its pieces copies piece by piece.
    fn copy_from(&mut self, at: usize, src: &Self, from: Range<usize>) -> bool {
        let Some(to) = at.checked_add(from.len()).map(|end| at..end) else { return false };
        match (src.range(from), self.range_mut(to)) {
            (Some(s), Some(d)) if s.len() == d.len() => {
                d.copy_from_slice(s);
                true
            }
            _ => false,
        }
    }
}

impl<T: core::ops::DerefMut<Target = [u8]>> Bytes for T {
    fn size(&self) -> usize {
        self.len()
    }

    fn range(&self, r: Range<usize>) -> Option<&[u8]> {
        self.get(r)
    }

    fn range_mut(&mut self, r: Range<usize>) -> Option<&mut [u8]> {
        self.get_mut(r)
    }
}

/// The two pieces of a run of bytes in the ring's storage: the second is
/// empty unless the run wraps.
pub type Spans = (Range<usize>, Range<usize>);

/// A ring buffer over `S`.
#[derive(Debug)]
pub struct Ring<S> {
    buf: S,
    /// Index of the head byte in `buf`.
    head: usize,
    /// Bytes of data from the head.
    len: usize,
}

impl<S: Bytes> Ring<S> {
    /// An empty ring; its capacity is the length of `buf`.
    pub fn new(buf: S) -> Ring<S> {
        Ring { buf, head: 0, len: 0 }
    }

    /// The number of bytes the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.buf.size()
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.buf
    }

    /// The storage, for its own bookkeeping (a claim on some of its
    /// bytes, say); the ring's bytes are the ring's to move.
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.buf
    }

    /// Bytes of data.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room after the data.
    pub fn free(&self) -> usize {
        self.capacity().saturating_sub(self.len)
    }

    /// The two pieces (the second possibly empty) of the `len` bytes at
    /// `off` from the head, or `None` if they are not inside the ring.
    fn span(&self, off: usize, len: usize) -> Option<Spans> {
        let cap = self.capacity();
        if off.checked_add(len)? > cap {
            return None;
        }
        // `head < cap` whenever `cap > 0`, and `off < cap` here, so neither
        // sum overflows: both are below 2 * cap.
        let start = self.head.checked_add(off)?;
        let start = if start >= cap { start.checked_sub(cap)? } else { start };
        let first = len.min(cap.checked_sub(start)?);
        let rest = len.checked_sub(first)?;
        Some((start..start.checked_add(first)?, 0..rest))
    }

    /// Copies `data` to `off` bytes from the head (data or free room, the
    /// data is not extended); false if it does not fit (nothing written)
    /// or the storage refused a piece (what came before it is written).
    pub fn write_at(&mut self, off: usize, data: &[u8]) -> bool {
        self.fill_at(off, data.len(), |done, dst| match done.checked_add(dst.len()).and_then(|end| data.get(done..end)) {
            Some(src) => {
                dst.copy_from_slice(src);
                true
            }
            None => false,
        })
    }

    /// Hands the `len` bytes at `off` from the head (data or free room)
    /// to `fill` as writable pieces of storage, in order, each with how
    /// many bytes came before it, until `fill` refuses one. False if they
    /// are not inside the ring (nothing handed), or a piece was refused
    /// by `fill` or by the storage (the pieces before it were filled).
    pub fn fill_at(&mut self, off: usize, len: usize, mut fill: impl FnMut(usize, &mut [u8]) -> bool) -> bool {
        let Some((a, b)) = self.span(off, len) else { return false };
        let mut done = 0usize;
        for r in [a, b] {
            let mut at = r.start;
            while at < r.end {
                let end = self.buf.piece_end(at, r.end).min(r.end);
                if end <= at {
                    return false;
                }
                let Some(dst) = self.buf.range_mut(at..end) else { return false };
                if !fill(done, dst) {
                    return false;
                }
                done = done.saturating_add(end.saturating_sub(at));
                at = end;
            }
        }
        true
    }

    /// Appends `data` after the data; false, and nothing written, if the
    /// room is too small.
    pub fn push(&mut self, data: &[u8]) -> bool {
        if !self.write_at(self.len, data) {
            return false;
        }
        self.commit(data.len())
    }

    /// The `len` bytes written after the data become data; false if there
    /// is no room for them.
    pub fn commit(&mut self, len: usize) -> bool {
        match self.len.checked_add(len) {
            Some(n) if n <= self.capacity() => {
                self.len = n;
                true
            }
            _ => false,
        }
    }

    /// The `len` bytes at `off` from the head as two slices (the second
    /// empty unless the bytes wrap), or `None` if they are not inside the
    /// ring.
    pub fn slices(&self, off: usize, len: usize) -> Option<(&[u8], &[u8])> {
        let (a, b) = self.span(off, len)?;
        Some((self.buf.range(a)?, self.buf.range(b)?))
    }

    /// Where in the storage the `len` bytes of data at `off` from the head
    /// are, or `None` if they are not all data.
    pub fn data_spans(&self, off: usize, len: usize) -> Option<Spans> {
        if off.checked_add(len)? > self.len {
            return None;
        }
        self.span(off, len)
    }

    /// Where in the storage the first `len` bytes of room after the data
    /// are, or `None` if the room is smaller. They stay room until
    /// [`Ring::commit`]: the head only moves on by [`Ring::consume`],
    /// which never moves the end of the data.
    pub fn room_spans(&self, len: usize) -> Option<Spans> {
        if len > self.free() {
            return None;
        }
        self.span(self.len, len)
    }

    /// Copies the bytes at `off` from the head into `dst` (as many as
    /// `dst` holds); false if they are not all data, or the storage
    /// refused a piece.
    pub fn read_at(&self, off: usize, dst: &mut [u8]) -> bool {
        match off.checked_add(dst.len()) {
            Some(end) if end <= self.len => {}
            _ => return false,
        }
        let Some((a, b)) = self.span(off, dst.len()) else { return false };
        let mut done = 0usize;
        for r in [a, b] {
            let mut at = r.start;
            while at < r.end {
                let end = self.buf.piece_end(at, r.end).min(r.end);
                let n = end.saturating_sub(at);
                let to = done.checked_add(n).and_then(|e| dst.get_mut(done..e));
                match (self.buf.range(at..end), to) {
                    (Some(src), Some(to)) if n > 0 => to.copy_from_slice(src),
                    _ => return false,
                }
                done = done.saturating_add(n);
                at = end;
            }
        }
        true
    }

    /// Moves the ring to `new` storage, at least as large: every byte
    /// within the capacity keeps its offset from the head (the data, and
    /// bytes written past it). The old storage, or `new` back if it is
    /// smaller.
    pub fn regrow(&mut self, mut new: S) -> Result<S, S> {
        let cap = self.capacity();
        if new.size() < cap {
            return Err(new);
        }
        if let Some((a, b)) = self.span(0, cap) {
            let la = a.len();
            new.copy_from(0, &self.buf, a);
            new.copy_from(la, &self.buf, b);
        }
        self.head = 0;
        Ok(core::mem::replace(&mut self.buf, new))
    }

    /// Drops `n` bytes of data from the head (at most all of it).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        let cap = self.capacity();
        if cap == 0 {
            return;
        }
        self.len = self.len.saturating_sub(n);
        // `head < cap` and `n <= cap`: no overflow.
        let head = self.head.saturating_add(n);
        // (The head never jumps back to the front when the ring empties:
        // bytes written past the data keep their place.)
        self.head = if head >= cap { head.saturating_sub(cap) } else { head };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn push_read_consume_wrap() {
        let mut r = Ring::new(vec![0u8; 8]);
        assert!(r.push(b"abcdef"));
        r.consume(4);
        assert!(r.push(b"ghijk"));
        assert_eq!(r.len(), 7);
        assert!(!r.push(b"xy"));
        let mut out = [0u8; 7];
        assert!(r.read_at(0, &mut out));
        assert_eq!(&out, b"efghijk");
        let (a, b) = r.slices(1, 6).unwrap();
        assert_eq!([a, b].concat(), b"fghijk");
        assert!(!b.is_empty(), "the data wraps");
    }

    #[test]
    fn out_of_order_bytes_become_data_on_commit() {
        let mut r = Ring::new(vec![0u8; 8]);
        assert!(r.write_at(3, b"def"));
        assert_eq!(r.len(), 0);
        assert!(r.write_at(0, b"abc"));
        assert!(r.commit(6));
        let mut out = [0u8; 6];
        assert!(r.read_at(0, &mut out));
        assert_eq!(&out, b"abcdef");
    }

    #[test]
    fn nothing_outside_the_ring() {
        let mut r = Ring::new(vec![0u8; 4]);
        assert!(!r.write_at(2, b"abc"));
        assert!(!r.write_at(usize::MAX, b"a"));
        assert!(!r.commit(5));
        assert!(!r.read_at(0, &mut [0u8; 1]));
        assert!(r.slices(usize::MAX, 2).is_none());
        r.consume(usize::MAX);
        let mut e = Ring::new(vec![0u8; 0]);
        assert!(!e.push(b"a"));
        e.consume(1);
        assert!(e.push(b""));
    }

    #[test]
    fn room_and_data_spans_name_the_storage_the_copies_use() {
        let mut r = Ring::new(vec![0u8; 8]);
        assert!(r.push(b"abcdef"));
        r.consume(4);
        // The data "ef" sits at 4..6; the room wraps from 6 to 4.
        assert_eq!(r.data_spans(0, 2), Some((4..6, 0..0)));
        assert_eq!(r.data_spans(1, 2), None, "past the data");
        assert_eq!(r.room_spans(6), Some((6..8, 0..4)));
        assert_eq!(r.room_spans(7), None, "more than the room");
        let (a, b) = r.room_spans(4).unwrap();
        r.storage_mut().range_mut(a).unwrap().copy_from_slice(b"gh");
        r.storage_mut().range_mut(b).unwrap().copy_from_slice(b"ij");
        // An ACK consuming data meanwhile leaves where the room starts.
        r.consume(1);
        assert!(r.commit(4));
        let mut out = [0u8; 5];
        assert!(r.read_at(0, &mut out));
        assert_eq!(&out, b"fghij");
    }

    #[test]
    fn regrow_keeps_data_and_bytes_past_it_at_their_offsets() {
        let mut r = Ring::new(vec![0u8; 8]);
        assert!(r.push(b"abcdef"));
        r.consume(4);
        assert!(r.push(b"gh"));
        // Past the data, wrapping to the front: "jk" at offsets 6 and 7.
        assert!(r.write_at(6, b"jk"));
        assert_eq!(r.regrow(vec![0u8; 4]).map(|_| ()).map_err(|_| ()), Err(()), "smaller storage is refused");
        let old = r.regrow(vec![0u8; 16]).unwrap();
        assert_eq!(old.len(), 8);
        assert_eq!(r.capacity(), 16);
        assert!(r.write_at(4, b"i"));
        assert!(r.commit(4));
        let mut out = [0u8; 8];
        assert!(r.read_at(0, &mut out));
        // Offset 5 holds what the old storage held there ("b").
        assert_eq!(&out, b"efghibjk");
        assert_eq!(r.free(), 8);
    }

    proptest! {
        /// The ring reads back what a plain queue would, whatever the
        /// pushes and consumes.
        #[test]
        fn behaves_as_a_queue(ops in proptest::collection::vec((any::<bool>(), 0usize..20), 0..60)) {
            let mut r = Ring::new(vec![0u8; 16]);
            let mut q: std::collections::VecDeque<u8> = Default::default();
            let mut next = 0u8;
            for (push, n) in ops {
                if push {
                    let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let fits = q.len() + n <= 16;
                    prop_assert_eq!(r.push(&data), fits);
                    if fits { q.extend(&data); }
                } else {
                    r.consume(n);
                    for _ in 0..n.min(q.len()) { q.pop_front(); }
                }
                let mut out = vec![0u8; q.len()];
                prop_assert!(r.read_at(0, &mut out));
                prop_assert_eq!(&out, &q.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
