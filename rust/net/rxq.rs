// SPDX-License-Identifier: GPL-2.0

//! Received payloads kept in their skbs for the reader, as Linux's TCP
//! keeps them on `sk_receive_queue`: an in-order segment's bytes are then
//! copied once, from the skb to the user, by the reader on its own CPU,
//! instead of into the receive buffer in softirq first.
//!
//! The receive buffer still counts every readable byte (the window is
//! its), but the bytes of a kept payload stay in its skb: a read takes its
//! bytes in stream order, each part from the buffer or from the skb that
//! holds it ([`RxQueue::plan`]). Only payloads in order are kept, so the
//! kept skbs follow each other in the stream without overlapping.

use super::skb::SkbRef;
use crate::proto::ring::Spans;
use core::ops::Range;
use super::mem::Pool;
use kernel::alloc::flags::{GFP_ATOMIC, __GFP_NOWARN};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The parts one pass of a read copies at most.
pub(crate) const PLAN_PARTS: usize = 8;

/// A kept payload: `len` bytes at `off` in `skb`'s data, the stream's
/// bytes from `pos` on (counted from the connection's first byte). `skb`
/// is `None` once read.
struct Kept {
    pos: u64,
    off: u32,
    len: u32,
    skb: Option<SkbRef>,
}

/// Where some of the next bytes to read lie.
pub(crate) enum Part {
    /// In the receive buffer.
    Buffer(Spans),
    /// In a kept skb: `len` bytes at `off` of its data.
    Skb { skb: SkbRef, off: u32, len: u32 },
}

/// The head of the readable bytes, in parts, for a reader to copy with
/// the connection's lock let go: its references keep the skbs.
pub(crate) struct Plan {
    parts: [Option<Part>; PLAN_PARTS],
    /// The bytes of the parts.
    pub(crate) len: usize,
}

impl Plan {
    /// The parts, in order.
    pub(crate) fn parts(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().map_while(Option::as_ref)
    }
}

/// The kept payloads of a connection, in stream order.
///
/// # Invariants
///
/// The entries from `head` on are the kept payloads not read to their
/// end, in stream order, none starting before `read` nor overlapping the
/// next; those before `head` are read (`skb` is `None`). `truesize` is
/// the sum of the kept skbs' truesize, charged to `pool`.
pub(crate) struct RxQueue {
    kept: KVec<Kept>,
    head: usize,
    /// The stream position of the receive buffer's head: bytes read.
    read: u64,
    truesize: usize,
    /// The namespace's buffer memory.
    pool: Arc<Pool>,
    /// The unread bytes below which the connection takes segments
    /// whatever the namespace's memory (`net.rtcp.rmem`'s least,
    /// `sk_get_rmem0`).
    least: usize,
}

impl RxQueue {
    pub(crate) fn new(pool: Arc<Pool>, least: usize) -> Self {
        // INVARIANT: empty.
        RxQueue { kept: KVec::new(), head: 0, read: 0, truesize: 0, pool, least }
    }

    /// `net.rtcp.rmem`'s least when the queue was made.
    pub(crate) fn least(&self) -> usize {
        self.least
    }

    /// Makes room for one more payload in an skb of `truesize` bytes, if
    /// the kept skbs stay within `limit` bytes in all (as Linux charges
    /// skbs' truesize to `sk_rcvbuf`) and the namespace has memory for it
    /// (`tcp_try_rmem_schedule`); false if not, and the payload is copied
    /// instead (if the namespace has a page for it).
    /// `reserve`: the connection holds less than its least unread, and
    /// may go past the namespace's most.
    pub(crate) fn make_room(&mut self, truesize: usize, limit: usize, reserve: bool) -> bool {
        if self.truesize.saturating_add(truesize) > limit {
            return false;
        }
        if !self.pool.admits_kept(truesize, reserve) {
            return false;
        }
        if self.head == self.kept.len() {
            // All read: no skb left in them.
            self.kept.clear();
            self.head = 0;
        } else if self.head > 0 && self.kept.len() == self.kept.capacity() {
            self.kept.retain(|k| k.skb.is_some());
            self.head = 0;
        }
        self.kept.len() < self.kept.capacity() || self.kept.reserve(1, GFP_ATOMIC | __GFP_NOWARN).is_ok()
    }

    /// Keeps `len` bytes at `off` of `skb`'s data: the receive buffer's
    /// next readable bytes, `at` bytes from its head. After
    /// [`RxQueue::make_room`] said yes; `skb` back if there is no room.
    pub(crate) fn push(&mut self, at: usize, skb: SkbRef, off: u32, len: u32) -> Result<(), SkbRef> {
        let truesize = skb.truesize();
        let pos = self.read.saturating_add(at as u64);
        if self.kept.get(self.head..).and_then(|k| k.last()).is_some_and(|k| k.pos.saturating_add(u64::from(k.len)) > pos) {
            // Not after the last one: never so for bytes in order.
            return Err(skb);
        }
        if self.kept.len() == self.kept.capacity() {
            return Err(skb);
        }
        // There is room: this cannot fail.
        let _ = self.kept.push_within_capacity(Kept { pos, off, len, skb: Some(skb) });
        self.truesize = self.truesize.saturating_add(truesize);
        self.pool.charge_kept(truesize);
        Ok(())
    }

    /// The first `n` readable bytes, or fewer (as many as
    /// [`PLAN_PARTS`] parts hold), in parts: from the skbs that keep
    /// them, the others from the receive buffer (`spans` gives where the
    /// bytes of a range from its head lie in it).
    pub(crate) fn plan(&self, n: usize, spans: impl Fn(Range<usize>) -> Option<Spans>) -> Plan {
        const NONE: Option<Part> = None;
        let mut plan = Plan { parts: [NONE; PLAN_PARTS], len: 0 };
        let mut i = 0;
        let mut at = 0usize;
        let mut end = n;
        for k in self.kept.get(self.head..).unwrap_or(&[]) {
            let Some(skb) = &k.skb else { continue };
            let Some(start) = k.pos.checked_sub(self.read).and_then(|s| usize::try_from(s).ok()) else { break };
            if start >= end {
                break;
            }
            if i + 2 > PLAN_PARTS || start < at {
                end = start.max(at);
                break;
            }
            if at < start {
                let Some(s) = spans(at..start) else { break };
                plan.parts[i] = Some(Part::Buffer(s));
                i += 1;
            }
            let len = (k.len as usize).min(end - start);
            plan.parts[i] = Some(Part::Skb { skb: skb.get(), off: k.off, len: len as u32 });
            i += 1;
            at = start + len;
        }
        if at < end && i < PLAN_PARTS {
            if let Some(s) = spans(at..end) {
                plan.parts[i] = Some(Part::Buffer(s));
                at = end;
            }
        }
        plan.len = at;
        plan
    }

    /// The first `n` readable bytes were read, of those `plan` holds: the
    /// skbs read to their end are let go (the plan still holds them, so
    /// they are freed with it, not here).
    pub(crate) fn consume(&mut self, plan: &Plan, n: usize) {
        self.read = self.read.saturating_add(n.min(plan.len) as u64);
        while let Some(k) = self.kept.get_mut(self.head) {
            let end = k.pos.saturating_add(u64::from(k.len));
            if end <= self.read {
                if let Some(skb) = k.skb.take() {
                    self.truesize = self.truesize.saturating_sub(skb.truesize());
                    self.pool.uncharge_kept(skb.truesize());
                }
                self.head += 1;
                continue;
            }
            // Read in part: what is left of it.
            let d = u32::try_from(self.read.saturating_sub(k.pos)).unwrap_or(0);
            k.pos = k.pos.saturating_add(u64::from(d));
            k.off = k.off.saturating_add(d);
            k.len = k.len.saturating_sub(d);
            break;
        }
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        // The skbs still kept go with the queue.
        self.pool.uncharge_kept(self.truesize);
    }
}
