// SPDX-License-Identifier: GPL-2.0

//! The bytes of a connection's send or receive buffer, which one call may
//! copy user memory into or out of without the connection's lock, and
//! whose pages outgoing segments take as they are.
//!
//! The connection's [`Ring`](crate::proto::ring::Ring) owns a
//! [`SharedBytes`] and reaches it a range at a time, under the lock. A call
//! of `sendmsg` or `recvmsg` claims, under the lock, the bytes it will copy
//! with the lock let go (user memory may fault and sleep): the room after
//! the data, to write, or the data at the head, to read ([`Claim`]). Until
//! the claim ends, the buffer itself refuses what would race with it:
//! reading or sending claimed room, writing claimed data. So the copies
//! need no promise from the caller: the checks are here, where the
//! pointers are. A claim keeps the bytes alive if the connection drops its
//! buffer meanwhile; a [`Lease`] does only that, and tells whether the
//! connection still has the same buffer.
//!
//! A send buffer is made of order-0 pages ([`SharedBytes::sparse`]): a
//! segment's skb takes a reference on the pages of its payload instead of
//! a copy (as Linux's TCP sends the page frags `tcp_sendmsg` filled). A
//! page an skb still holds may not be written again: its bytes may still
//! be on their way, or queued unread at a receiver on this host. So before
//! the writer fills room that lies in such a page, the buffer takes a new
//! page in its place ([`Lease::fresh_pages`], [`SharedBytes::renew`]), and
//! the skbs keep the old one.

use super::mem::Pool;
use crate::proto::ring::{Bytes, Spans};
use crate::sys;
use core::{
    mem::MaybeUninit,
    ops::Range,
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{
    alloc::{
        flags::{GFP_ATOMIC, __GFP_NOWARN, __GFP_ZERO},
        Flags, KVec,
    },
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::Arc,
};

/// The bytes a [`Claim`] reaches without the connection's lock: two
/// ranges of the region, and whether it writes them. Set only through
/// `&mut SharedBytes` (so while no range of the buffer is borrowed) and
/// published by `active`; cleared by the claim's end, from any context.
struct ClaimCell {
    active: AtomicBool,
    write: AtomicBool,
    spans: [AtomicUsize; 4],
}

impl ClaimCell {
    const fn new() -> Self {
        ClaimCell {
            active: AtomicBool::new(false),
            write: AtomicBool::new(false),
            spans: [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// Whether touching `r` (writing it, if `writing`) would race with
    /// the claim: two reads never do.
    fn conflicts(&self, r: &Range<usize>, writing: bool) -> bool {
        if r.is_empty() || !self.active.load(Ordering::Acquire) {
            return false;
        }
        if !writing && !self.write.load(Ordering::Relaxed) {
            return false;
        }
        let s = |i: usize| self.spans[i].load(Ordering::Relaxed);
        let overlaps = |start: usize, end: usize| start < end && r.start < end && start < r.end;
        overlaps(s(0), s(1)) || overlaps(s(2), s(3))
    }
}

/// A buffer's bytes.
///
/// # Invariants
///
/// The bytes are in order-0 pages, the `i`-th of `pages` holding bytes
/// `i * PAGE_SIZE ..` of the `len`: `len.div_ceil(PAGE_SIZE)` entries,
/// each a live page on which the region holds one reference, or (in a
/// sparse region) null: a hole, which no byte has been written to yet. A
/// page's bytes are initialised, but for those of a page that
/// [`SharedBytes::renew`] put in for a writer's room, which are not until
/// written: its bytes outside the room are copied from the page it
/// replaced, and the room is the writer's to fill ([`Claim::fill`]). Room
/// becomes data only by being written, and only data is ever read, sent
/// or copied elsewhere, so no byte is read before it is written. An entry
/// changes only under the connection's lock ([`SharedBytes::renew`], or a
/// first write into a hole). `held` counts
/// the live entries, each charged to `pool`.
/// While `claim` is active, only its [`Claim`] writes its ranges (a write
/// claim) or nobody writes them (a read claim), and nobody else reads or
/// sends a written claim's bytes: every other accessor checks it.
struct Region {
    len: usize,
    pages: KVec<AtomicPtr<sys::page>>,
    claim: ClaimCell,
    /// The namespace's buffer memory, which the pages are charged to.
    pool: Arc<Pool>,
    /// The pages the region holds.
    held: AtomicUsize,
    /// Whether the region may take pages past the namespace's most: its
    /// connection holds less than its guaranteed least in it
    /// ([`SharedBytes::set_reserve`]).
    reserve: AtomicBool,
}

// SAFETY: `Region` owns its bytes; who may touch which of them is the
// business of `SharedBytes` and `Lease`, whose accessors say it. Pages may
// be referenced and released from any context.
unsafe impl Send for Region {}
// SAFETY: as for `Send`: `&Region` gives no access of its own.
unsafe impl Sync for Region {}

impl Region {
    /// The page of byte `at` (`None` in a hole), and `at`'s offset in it.
    fn page(&self, at: usize) -> Option<(NonNull<sys::page>, usize)> {
        let page = NonNull::new(self.pages.get(at / PAGE_SIZE)?.load(Ordering::Acquire))?;
        Some((page, at % PAGE_SIZE))
    }

    /// Whether byte `at` lies in a hole.
    fn in_hole(&self, at: usize) -> bool {
        self.pages.get(at / PAGE_SIZE).is_some_and(|p| p.load(Ordering::Acquire).is_null())
    }

    /// Fills the holes that `r` lies in with zeroed pages, to write it;
    /// false if a page could not be had. Under the connection's lock (an
    /// entry changes only under it).
    fn fill_holes(&self, r: &Range<usize>) -> bool {
        if r.is_empty() {
            return true;
        }
        let Some(last) = r.end.checked_sub(1) else { return true };
        for slot in self.pages.iter().take(last / PAGE_SIZE + 1).skip(r.start / PAGE_SIZE) {
            if !slot.load(Ordering::Acquire).is_null() {
                continue;
            }
            // Under the connection's lock, in softirq or with softirqs off; a
            // failure (no memory, or none left to the namespace) only
            // drops the segment that wanted the page (the peer sends it
            // again).
            if !self.charge_one() {
                return false;
            }
            let Ok(page) = zeroed_page(GFP_ATOMIC | __GFP_NOWARN) else {
                self.uncharge(1);
                return false;
            };
            // INVARIANT: the hole becomes a live, zeroed page whose one
            // reference is the region's, charged just above.
            slot.store(page.as_ptr(), Ordering::Release);
        }
        true
    }

    /// Charges one more page to the namespace, if it has room for it or
    /// the region may go past it ([`Region::reserve`]).
    fn charge_one(&self) -> bool {
        if !self.pool.charge_pages(1, self.reserve.load(Ordering::Relaxed)) {
            return false;
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// `n` pages left the region.
    fn uncharge(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
        self.pool.uncharge_pages(n);
    }

    /// `r` as a pointer and length, if it is inside and within one page,
    /// which is not a hole.
    fn at(&self, r: &Range<usize>) -> Option<(*mut u8, usize)> {
        if r.start > r.end || r.end > self.len {
            return None;
        }
        if r.is_empty() {
            return Some((NonNull::dangling().as_ptr(), 0));
        }
        let (page, off) = self.page(r.start)?;
        if off.checked_add(r.len())? > PAGE_SIZE {
            return None;
        }
        // SAFETY: a live page of the region (type invariant), mapped as
        // every page is on 64-bit; `off < PAGE_SIZE`.
        Some((unsafe { sys::rtcp_helper_page_address(page.as_ptr()).cast::<u8>().add(off) }, r.len()))
    }

    /// Where the page that holds byte `at` ends, within `end`.
    fn piece_end(&self, at: usize, end: usize) -> usize {
        end.min((at / PAGE_SIZE).saturating_add(1).saturating_mul(PAGE_SIZE))
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        for p in self.pages.iter() {
            if let Some(page) = NonNull::new(p.load(Ordering::Relaxed)) {
                // SAFETY: the region's own reference on a live page.
                unsafe { sys::rtcp_helper_put_page(page.as_ptr()) };
            }
        }
        self.pool.uncharge_pages(*self.held.get_mut());
    }
}

/// The pieces of a range that each lie in one piece of storage.
pub(crate) struct Pieces<'a> {
    region: Option<&'a Region>,
    at: usize,
    end: usize,
}

impl Iterator for Pieces<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let region = self.region?;
        if self.at >= self.end {
            return None;
        }
        let end = region.piece_end(self.at, self.end);
        let r = self.at..end;
        self.at = end;
        Some(r)
    }
}

fn pieces(region: Option<&Region>, r: Range<usize>) -> Pieces<'_> {
    Pieces { region, at: r.start, end: r.end }
}

/// A page of an outgoing segment's payload, `len` bytes of data at `off`,
/// held by a reference of its own, taken under the connection's lock
/// ([`SharedBytes::hold`]): the skb is built from it after the lock.
///
/// # Invariants
///
/// `page` is a live, mapped page on which this holds one reference;
/// `off + len <= PAGE_SIZE`. Its bytes `off..off + len` were data of the
/// buffer when held, and nobody writes them while this lasts: room is
/// written only in pages no skb or frag holds ([`SharedBytes::claim`],
/// [`Lease::fresh_pages`]), and data only by becoming room again once
/// acknowledged, in a page the buffer then replaces.
pub(crate) struct HeldFrag {
    page: NonNull<sys::page>,
    off: usize,
    len: usize,
}

impl HeldFrag {
    /// The bytes (a copy for an skb's linear part).
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: a live page of ours, mapped as every page is on 64-bit;
        // the bytes lie within it, are initialised (data) and are not
        // written while this lasts (type invariant).
        unsafe {
            let p = sys::rtcp_helper_page_address(self.page.as_ptr()).cast::<u8>().add(self.off);
            core::slice::from_raw_parts(p, self.len)
        }
    }

    /// The page, the offset and the length, with the reference: the
    /// caller's to hand on (an skb's frag) or to put.
    pub(crate) fn into_raw(self) -> (NonNull<sys::page>, usize, usize) {
        let r = (self.page, self.off, self.len);
        core::mem::forget(self);
        r
    }
}

impl Drop for HeldFrag {
    fn drop(&mut self) {
        // SAFETY: our reference on a live page (type invariant).
        unsafe { sys::rtcp_helper_put_page(self.page.as_ptr()) };
    }
}

// SAFETY: a page reference may be dropped from any context; the bytes
// it reads are written by nobody while it lasts.
unsafe impl Send for HeldFrag {}

/// The bytes of a connection's buffer, as its ring holds them (empty: no
/// allocation).
pub(crate) struct SharedBytes(Option<Arc<Region>>);

impl SharedBytes {
    /// No bytes.
    pub(crate) const fn empty() -> SharedBytes {
        SharedBytes(None)
    }

    /// `len` bytes in order-0 pages taken as they are first written (a
    /// hole reads as nothing: the reader only reads what was written), but
    /// for the first `paged` bytes, which get zeroed pages now (what a
    /// buffer that grows copies its old bytes into, under the connection's
    /// lock, where a page could only be had atomically). The receive
    /// buffer's window, or the send buffer's room, costs memory only where
    /// segments land or the writer writes, as Linux's TCP charges only the
    /// skbs it holds. Each page is charged to `pool`: the first `paged`
    /// now (`ENOBUFS` if the namespace has no room for them), the others
    /// as they are taken.
    pub(crate) fn sparse(len: usize, paged: usize, pool: &Arc<Pool>, flags: Flags) -> Result<SharedBytes> {
        if len == 0 {
            return Ok(SharedBytes::empty());
        }
        let n = len.div_ceil(PAGE_SIZE);
        let now = paged.min(len).div_ceil(PAGE_SIZE);
        // (Nothing to charge for holes only: a buffer made while the
        // namespace is past its most takes its pages as it may.)
        if now > 0 && !pool.charge_pages(now, false) {
            return Err(ENOBUFS);
        }
        // INVARIANT: `n` entries, the first `now` live zeroed pages (the
        // region's reference each, charged above, counted by `held`), the
        // others holes. A failure before the last page is in drops the
        // region, the pages taken so far with it, and the charge.
        let mut region = Region {
            len,
            pages: KVec::with_capacity(n, flags)?,
            claim: ClaimCell::new(),
            pool: pool.clone(),
            held: AtomicUsize::new(now),
            reserve: AtomicBool::new(true),
        };
        for i in 0..n {
            let page = if i < now { zeroed_page(flags)?.as_ptr() } else { core::ptr::null_mut() };
            region.pages.push(AtomicPtr::new(page), flags).inspect_err(|_| {
                if let Some(page) = NonNull::new(page) {
                    // SAFETY: the new page's only reference, ours.
                    unsafe { sys::rtcp_helper_put_page(page.as_ptr()) }
                }
            })?;
        }
        Ok(SharedBytes(Some(Arc::new(region, flags)?)))
    }

    /// Whether the buffer may take pages past the namespace's most: its
    /// connection holds less in it than its guaranteed least (as
    /// `sk_get_rmem0` is every Linux socket's). Set under the
    /// connection's lock, before what may write a hole.
    pub(crate) fn set_reserve(&self, on: bool) {
        if let Some(r) = self.0.as_deref() {
            r.reserve.store(on, Ordering::Relaxed);
        }
    }

    /// A lease on the same bytes (`None` if there are none).
    pub(crate) fn lease(&self) -> Option<Lease> {
        self.0.clone().map(Lease)
    }

    /// Claims the bytes of `spans` for a copy with the connection's lock
    /// let go: to write them (`write`; room after the data, in pages no
    /// skb holds, which [`SharedBytes::renew`] makes so), or to read them
    /// (data at the head). `None` if they are not inside, a claim is
    /// active, or (to write) a page of theirs is held elsewhere.
    pub(crate) fn claim(&mut self, spans: Spans, write: bool) -> Option<Claim> {
        let region = self.0.as_ref()?;
        let (a, b) = &spans;
        if region.claim.active.load(Ordering::Acquire) || a.start > a.end || a.end > region.len {
            return None;
        }
        if b.start > b.end || b.end > region.len {
            return None;
        }
        if write {
            for p in Iterator::chain(pieces(Some(region), a.clone()), pieces(Some(region), b.clone())) {
                let (page, _) = region.page(p.start)?;
                // SAFETY: a live page of the region.
                if unsafe { sys::rtcp_helper_page_ref_count(page.as_ptr()) } != 1 {
                    return None;
                }
            }
        }
        // `&mut self`: no range of the buffer is borrowed now, and any
        // borrowed later checks the claim. Only a claim's end writes the
        // cell besides this, and there is none active.
        let c = &region.claim;
        for (cell, v) in c.spans.iter().zip([a.start, a.end, b.start, b.end]) {
            cell.store(v, Ordering::Relaxed);
        }
        c.write.store(write, Ordering::Relaxed);
        c.active.store(true, Ordering::Release);
        // INVARIANT: the claim is active and `Claim` its only holder.
        Some(Claim { region: region.clone(), spans, write })
    }

    /// Whether `lease` is on these bytes.
    pub(crate) fn is(&self, lease: &Lease) -> bool {
        self.0.as_ref().is_some_and(|r| Arc::ptr_eq(r, &lease.0))
    }

    /// The pages of the data `r`, in order, each held by a reference of
    /// its own, or `None` if they are not all inside a paged store. Under
    /// the connection's lock (pages change only under it).
    pub(crate) fn hold(&self, r: Range<usize>) -> Option<impl Iterator<Item = HeldFrag> + '_> {
        let region = self.0.as_deref()?;
        if r.start > r.end || r.end > region.len {
            return None;
        }
        if region.claim.conflicts(&r, false) {
            return None;
        }
        Some(pieces(Some(region), r).filter_map(move |p| {
            let (page, off) = region.page(p.start)?;
            // SAFETY: a live page of the region, which the connection's
            // lock keeps in place while the reference is taken.
            unsafe { sys::rtcp_helper_get_page(page.as_ptr()) };
            // INVARIANT: the reference just taken, on data bytes within
            // the page (`pieces` keeps each within one).
            Some(HeldFrag { page, off, len: p.len() })
        }))
    }

    /// How many pages the bytes of `r` lie in.
    pub(crate) fn pages_of(&self, r: Range<usize>) -> usize {
        pieces(self.0.as_deref(), r).count()
    }

    /// The pieces of `r` that each lie in one piece of storage, for
    /// [`Bytes::range`] (which gives no range across pages).
    pub(crate) fn pieces(&self, r: Range<usize>) -> Pieces<'_> {
        pieces(self.0.as_deref(), r)
    }

    /// Puts the `fresh` pages in place of the old ones that skbs still
    /// held, or of holes, copying over each old page's bytes outside
    /// `room` (data, or room since; the room is the writer's to fill). Under the
    /// connection's lock, on the bytes the pages were taken for.
    pub(crate) fn renew(&self, mut fresh: FreshPages, room: &Spans) {
        let Some(region) = self.0.as_deref() else { return };
        for (i, new) in fresh.0.drain_all() {
            let Some(slot) = region.pages.get(i) else {
                // SAFETY: an unused fresh page, ours.
                unsafe { sys::rtcp_helper_put_page(new.as_ptr()) };
                continue;
            };
            let start = i.saturating_mul(PAGE_SIZE);
            let page = start..start.saturating_add(PAGE_SIZE).min(region.len);
            if region.claim.conflicts(&page, true) {
                // A claim's copy may be writing this page: it stays.
                // SAFETY: an unused fresh page, ours.
                unsafe { sys::rtcp_helper_put_page(new.as_ptr()) };
                continue;
            }
            let old = slot.load(Ordering::Acquire);
            // A hole's bytes were never written: nothing to keep.
            for keep in outside(page, room).filter(|_| !old.is_null()) {
                let off = keep.start % PAGE_SIZE;
                // The old page's bytes outside the room are not written
                // while the connection's lock is held; the new page is
                // nobody else's.
                // SAFETY: `old` and `new` are live, mapped pages (the
                // region's, and ours); `keep` lies within one at `off`.
                unsafe {
                    let from = sys::rtcp_helper_page_address(old).cast::<u8>().add(off);
                    let to = sys::rtcp_helper_page_address(new.as_ptr()).cast::<u8>().add(off);
                    core::ptr::copy_nonoverlapping(from, to, keep.len());
                }
            }
            let old = slot.swap(new.as_ptr(), Ordering::AcqRel);
            match NonNull::new(old) {
                // SAFETY: the region's reference on the old page; the skbs
                // that hold it keep theirs.
                Some(old) => unsafe { sys::rtcp_helper_put_page(old.as_ptr()) },
                // A hole filled: the writer was let write only within
                // what the namespace has room for (or its least), so the
                // page is charged whatever the total says now.
                None => {
                    region.held.fetch_add(1, Ordering::Relaxed);
                    region.pool.charge_pages(1, true);
                }
            }
        }
    }
}

/// A zeroed order-0 page, with its one reference.
fn zeroed_page(flags: Flags) -> Result<NonNull<sys::page>> {
    new_page(flags | __GFP_ZERO)
}

/// An order-0 page, with its one reference; not zeroed unless `flags`
/// say so.
fn new_page(flags: Flags) -> Result<NonNull<sys::page>> {
    // The page's reference is handed over to `put_page`, which frees it
    // with the last one (`Page`'s drop would free it regardless).
    let page = core::mem::ManuallyDrop::new(Page::alloc_page(flags)?);
    NonNull::new(page.as_ptr().cast()).ok_or(ENOMEM)
}

/// The parts of `page` outside both spans of `room`.
fn outside(page: Range<usize>, (a, b): &Spans) -> impl Iterator<Item = Range<usize>> {
    let cut = |r: Range<usize>, c: &Range<usize>| -> [Range<usize>; 2] {
        if c.is_empty() || c.end <= r.start || c.start >= r.end {
            return [r, 0..0];
        }
        [r.start..c.start.max(r.start), c.end.min(r.end)..r.end]
    };
    let [p0, p1] = cut(page, a);
    let [q0, q1] = cut(p0, b);
    let [q2, q3] = cut(p1, b);
    [q0, q1, q2, q3].into_iter().filter(|r| !r.is_empty())
}

/// New pages for the ones of a send buffer's room that skbs still hold,
/// taken with the connection's lock let go ([`Lease::fresh_pages`]) and
/// put in place under it ([`SharedBytes::renew`]); the ones left unused
/// are freed.
pub(crate) struct FreshPages(KVec<(usize, NonNull<sys::page>)>);

impl FreshPages {
    /// No page to renew.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for FreshPages {
    fn drop(&mut self) {
        for (_, page) in self.0.drain_all() {
            // SAFETY: an unused fresh page, ours.
            unsafe { sys::rtcp_helper_put_page(page.as_ptr()) };
        }
    }
}

// SAFETY: pages may be freed from any context.
unsafe impl Send for FreshPages {}

impl Bytes for SharedBytes {
    fn size(&self) -> usize {
        self.0.as_ref().map_or(0, |r| r.len)
    }

    fn piece_end(&self, at: usize, end: usize) -> usize {
        self.0.as_deref().map_or(end, |r| r.piece_end(at, end))
    }

    fn range(&self, r: Range<usize>) -> Option<&[u8]> {
        let region = self.0.as_ref()?;
        if region.claim.conflicts(&r, false) {
            return None;
        }
        let (p, n) = region.at(&r)?;
        // Besides this handle, which `&self` borrows, the bytes are reached
        // only by a claim's holder, and this range is not one it writes
        // (just checked; a claim made later needs `&mut self`).
        // SAFETY: `p..p + n` is inside the region (`at`), initialised
        // (type invariant: only a renewed page's room may not be, and
        // what is read is data), and not written while borrowed (above).
        Some(unsafe { core::slice::from_raw_parts(p, n) })
    }

    fn range_mut(&mut self, r: Range<usize>) -> Option<&mut [u8]> {
        let region = self.0.as_ref()?;
        if region.claim.conflicts(&r, true) || !region.fill_holes(&r) {
            return None;
        }
        let (p, n) = region.at(&r)?;
        // The writers through here are the receive side's, into zeroed
        // pages: a send buffer's room is written only by a claim, which
        // sees it as `MaybeUninit`.
        // SAFETY: as for `range`; `&mut self` excludes any other use of
        // the ring's own handle, and no claim reaches these bytes.
        Some(unsafe { core::slice::from_raw_parts_mut(p, n) })
    }

    fn copy_from(&mut self, at: usize, src: &Self, from: Range<usize>) -> bool {
        let Some(region) = self.0.clone() else { return from.is_empty() };
        let mut to = at;
        for piece in src.pieces(from.clone()) {
            if src.0.as_deref().is_some_and(|r| r.in_hole(piece.start)) {
                // Nothing was written there: the copy's place stays as
                // it is (in a sparse store, a hole too).
                to = to.saturating_add(piece.len());
                continue;
            }
            let mut piece = piece;
            while !piece.is_empty() {
                let Some(end) = to.checked_add(piece.len()) else { return false };
                let n = region.piece_end(to, end).saturating_sub(to);
                let chunk = piece.start..piece.start.saturating_add(n);
                match (src.range(chunk), self.range_mut(to..to.saturating_add(n))) {
                    (Some(s), Some(d)) if s.len() == d.len() && n > 0 => d.copy_from_slice(s),
                    _ => return false,
                }
                to = to.saturating_add(n);
                piece.start = piece.start.saturating_add(n);
            }
        }
        to.checked_sub(at) == Some(from.len())
    }
}

/// A hold on a buffer's bytes for a copy made without the connection's
/// lock; it keeps them alive.
pub(crate) struct Lease(Arc<Region>);

impl Lease {
    /// The pieces of `r` that each lie in one piece of storage, for
    /// [`Lease::room`] and [`Lease::data`].
    pub(crate) fn pieces(&self, r: Range<usize>) -> Pieces<'_> {
        pieces(Some(&self.0), r)
    }


    /// New pages for the pages of the room `spans` that something besides
    /// the buffer still holds (an skb of a segment sent from them), or
    /// that are holes, to put in their place before the room is written
    /// ([`SharedBytes::renew`]).
    /// Process context: the pages are taken with `GFP_KERNEL`.
    pub(crate) fn fresh_pages(&self, (a, b): &Spans) -> Result<FreshPages> {
        let mut fresh = FreshPages(KVec::new());
        for r in [a, b] {
            for p in self.pieces(r.clone()) {
                let i = p.start / PAGE_SIZE;
                // A hole (a sparse buffer's room never written) gets its
                // page now, in process context.
                let shared = match self.0.page(p.start) {
                    // A reference taken after this look covers data, never
                    // the room: an skb takes pages for the data it carries.
                    // SAFETY: a live page of the region, which the lease
                    // keeps.
                    Some((page, _)) => (unsafe { sys::rtcp_helper_page_ref_count(page.as_ptr()) }) > 1,
                    None => self.0.in_hole(p.start),
                };
                if shared && !fresh.0.iter().any(|&(j, _)| j == i) {
                    // Not zeroed: what of it is not copied over from the
                    // old page is room, which the writer fills before it
                    // is data (`Region`'s invariant), as Linux's TCP
                    // copies into page frags it does not zero.
                    let new = new_page(GFP_KERNEL)?;
                    fresh.0.push((i, new), GFP_KERNEL).inspect_err(|_| {
                        // SAFETY: the new page's only reference, ours.
                        unsafe { sys::rtcp_helper_put_page(new.as_ptr()) }
                    })?;
                }
            }
        }
        Ok(fresh)
    }
}

/// Bytes of a buffer claimed for a copy with the connection's lock let go
/// ([`SharedBytes::claim`]); the claim ends when this is dropped.
///
/// # Invariants
///
/// `region`'s claim is active, for `spans` and `write`, and this is its
/// only holder.
pub(crate) struct Claim {
    region: Arc<Region>,
    spans: Spans,
    write: bool,
}

impl Claim {
    /// Hands the claimed bytes to `copy` in order, one piece of storage
    /// at a time, to fill, until it fills less than it was given; how
    /// many it filled. Nothing for a claim to read.
    pub(crate) fn fill(&mut self, mut copy: impl FnMut(&mut [MaybeUninit<u8>]) -> usize) -> usize {
        if !self.write {
            return 0;
        }
        let mut got = 0;
        let (a, b) = self.spans.clone();
        for r in Iterator::chain(pieces(Some(&self.region), a), pieces(Some(&self.region), b)) {
            let Some((p, n)) = self.region.at(&r) else { break };
            // Claimed to write (type invariant): nobody else reads or
            // writes these bytes, and `&mut self` makes this slice the only
            // one. Room in a renewed page is not initialised (`Region`'s
            // invariant): the slice is of `MaybeUninit`.
            // SAFETY: inside the region (`at`), and not shared (above).
            let dst = unsafe { core::slice::from_raw_parts_mut(p.cast::<MaybeUninit<u8>>(), n) };
            let k = copy(dst).min(n);
            got += k;
            if k < n {
                break;
            }
        }
        got
    }

    /// Hands the bytes of `spans`, which must lie in the claim, to `copy`
    /// in order, one piece of storage at a time, until it takes less than
    /// it was given; how many it took (0 if `spans` are not claimed).
    pub(crate) fn read(&self, (a, b): &Spans, mut copy: impl FnMut(&[u8]) -> usize) -> usize {
        let within = |r: &Range<usize>| {
            r.is_empty() || [&self.spans.0, &self.spans.1].iter().any(|c| c.start <= r.start && r.end <= c.end)
        };
        if !within(a) || !within(b) {
            return 0;
        }
        let mut out = 0;
        for r in Iterator::chain(pieces(Some(&self.region), a.clone()), pieces(Some(&self.region), b.clone())) {
            let Some((p, n)) = self.region.at(&r) else { break };
            // Claimed (type invariant): nobody writes these bytes but this
            // claim's `fill`, which `&self` excludes.
            // SAFETY: inside the region (`at`) and initialised (a read
            // claim is of data: `Region`'s invariant), and not written
            // (above).
            let src = unsafe { core::slice::from_raw_parts(p, n) };
            let k = copy(src).min(n);
            out += k;
            if k < n {
                break;
            }
        }
        out
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Release: whoever sees the claim gone sees the copy done.
        self.region.claim.active.store(false, Ordering::Release);
    }
}
