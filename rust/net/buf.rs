// SPDX-License-Identifier: GPL-2.0

//! The bytes of a connection's send or receive buffer, which one call may
//! copy user memory into or out of without the connection's lock.
//!
//! The connection's [`Ring`](crate::proto::ring::Ring) owns a
//! [`SharedBytes`] and reaches it a range at a time, under the lock. A call
//! of `sendmsg` or `recvmsg` takes a [`Lease`] on the same bytes and, with
//! the lock let go, copies user memory (which may fault and sleep) into the
//! room after the data, or out of the data: ranges the lock's holder does
//! not touch until the call is back under the lock. The lease keeps the
//! bytes alive if the connection drops its buffer meanwhile.

use crate::proto::ring::Bytes;
use core::{ops::Range, ptr::NonNull};
use kernel::{
    alloc::{Flags, KVec},
    prelude::*,
    sync::Arc,
};

/// A zeroed allocation, reached only through `ptr`.
///
/// # Invariants
///
/// `ptr` points to `len` initialised bytes of `_buf`'s allocation, which
/// lives as long as the value and is never reached through `_buf`.
struct Region {
    ptr: NonNull<u8>,
    len: usize,
    _buf: KVec<u8>,
}

// SAFETY: `Region` owns its bytes; who may touch which of them is the
// business of `SharedBytes` and `Lease`, whose accessors say it.
unsafe impl Send for Region {}
// SAFETY: as for `Send`: `&Region` gives no access of its own.
unsafe impl Sync for Region {}

impl Region {
    /// `r` as a pointer and length, if it is inside.
    fn at(&self, r: &Range<usize>) -> Option<(*mut u8, usize)> {
        if r.start > r.end || r.end > self.len {
            return None;
        }
        // SAFETY: `r.start <= len`: within the allocation or one past it.
        Some((unsafe { self.ptr.as_ptr().add(r.start) }, r.end - r.start))
    }
}

/// The bytes of a connection's buffer, as its ring holds them (empty: no
/// allocation).
pub(crate) struct SharedBytes(Option<Arc<Region>>);

impl SharedBytes {
    /// No bytes.
    pub(crate) const fn empty() -> SharedBytes {
        SharedBytes(None)
    }

    /// `len` zeroed bytes.
    pub(crate) fn new(len: usize, flags: Flags) -> Result<SharedBytes> {
        if len == 0 {
            return Ok(SharedBytes::empty());
        }
        let mut buf = KVec::from_elem(0u8, len, flags)?;
        let ptr = NonNull::new(buf.as_mut_ptr()).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` is the start of `buf`'s `len` zeroed bytes; the
        // heap allocation does not move with `buf`, which nobody touches.
        Ok(SharedBytes(Some(Arc::new(Region { ptr, len, _buf: buf }, flags)?)))
    }

    /// A lease on the same bytes (`None` if there are none).
    pub(crate) fn lease(&self) -> Option<Lease> {
        self.0.clone().map(Lease)
    }

    /// Whether `lease` is on these bytes.
    pub(crate) fn is(&self, lease: &Lease) -> bool {
        self.0.as_ref().is_some_and(|r| Arc::ptr_eq(r, &lease.0))
    }
}

impl Bytes for SharedBytes {
    fn size(&self) -> usize {
        self.0.as_ref().map_or(0, |r| r.len)
    }

    fn range(&self, r: Range<usize>) -> Option<&[u8]> {
        let (p, n) = self.0.as_ref()?.at(&r)?;
        // SAFETY: `p..p + n` is inside the region (`at`), initialised
        // (type invariant). Besides this handle, which `&self` borrows,
        // the bytes are reached only through a `Lease`, whose holder
        // touches no byte the ring's owner uses meanwhile (its contract:
        // the room a writer fills, the data a reader takes, both away from
        // what the lock's holder writes or reads).
        Some(unsafe { core::slice::from_raw_parts(p, n) })
    }

    fn range_mut(&mut self, r: Range<usize>) -> Option<&mut [u8]> {
        let (p, n) = self.0.as_ref()?.at(&r)?;
        // SAFETY: as for `range`; `&mut self` excludes any other use of
        // the ring's own handle, and a lease's holder keeps off the bytes
        // the ring writes (`Lease`'s contract).
        Some(unsafe { core::slice::from_raw_parts_mut(p, n) })
    }

    fn ranges_mut(&mut self, a: Range<usize>, b: Range<usize>) -> Option<(&mut [u8], &mut [u8])> {
        if b.end > a.start {
            return None;
        }
        let region = self.0.as_ref()?;
        let ((pa, na), (pb, nb)) = (region.at(&a)?, region.at(&b)?);
        // SAFETY: as for `range_mut`; `b` ends before `a` starts, so the
        // two slices do not overlap.
        Some(unsafe { (core::slice::from_raw_parts_mut(pa, na), core::slice::from_raw_parts_mut(pb, nb)) })
    }
}

/// A hold on a buffer's bytes for a copy made without the connection's
/// lock; it keeps them alive.
pub(crate) struct Lease(Arc<Region>);

impl Lease {
    /// The bytes of `r`, writable, if inside.
    ///
    /// # Safety
    ///
    /// While the slice lives no one else reads or writes those bytes:
    /// under the connection's lock they were room after the ring's data
    /// ([`Ring::room_spans`](crate::proto::ring::Ring::room_spans)), and
    /// the caller is the only one who turns room into data.
    pub(crate) unsafe fn room(&mut self, r: Range<usize>) -> Option<&mut [u8]> {
        let (p, n) = self.0.at(&r)?;
        // SAFETY: inside the region and initialised (type invariant of
        // `Region`); not shared, as the caller guarantees.
        Some(unsafe { core::slice::from_raw_parts_mut(p, n) })
    }

    /// The bytes of `r`, if inside.
    ///
    /// # Safety
    ///
    /// While the slice lives no one writes those bytes: under the
    /// connection's lock they were data of the ring
    /// ([`Ring::data_spans`](crate::proto::ring::Ring::data_spans)), and
    /// the caller is the only one who consumes it.
    pub(crate) unsafe fn data(&self, r: Range<usize>) -> Option<&[u8]> {
        let (p, n) = self.0.at(&r)?;
        // SAFETY: inside the region and initialised; not written while
        // the slice lives, as the caller guarantees.
        Some(unsafe { core::slice::from_raw_parts(p, n) })
    }
}
