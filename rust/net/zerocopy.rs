// SPDX-License-Identifier: GPL-2.0

//! `MSG_ZEROCOPY`'s completions: the kernel's own `struct ubuf_info_msgzc`
//! (`msg_zerocopy_realloc`, `__msg_zerocopy_callback`), which gives each
//! such send an id from `sk_zckey`, and, when its last reference goes,
//! posts the range of ids on `sk_error_queue` (merged into the queue's
//! tail when the ranges follow each other) and wakes the socket.
//!
//! C headers: [`include/linux/skbuff.h`], [`include/uapi/linux/errqueue.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::prelude::*;

use super::sock::{Proto, SockGuard};

/// One reference to the completion of one or more consecutive
/// `MSG_ZEROCOPY` sends of a sock. The last reference to go posts it.
///
/// # Invariants
///
/// `self.0` is a `ubuf_info` of `msg_zerocopy_ubuf_ops` on which this value
/// owns one reference.
pub(crate) struct ZcRef(NonNull<sys::ubuf_info>);

// SAFETY: the reference count is atomic and the completion callback takes
// the error queue's own lock: any context may put the reference.
unsafe impl Send for ZcRef {}
// SAFETY: a shared `ZcRef` only compares pointers.
unsafe impl Sync for ZcRef {}

impl ZcRef {
    /// `msg_zerocopy_realloc` for a send of `size` bytes: `tail` extended
    /// by the next id if it holds the last one (and has room), else a new
    /// completion with the next id; `ENOBUFS` when the socket's option
    /// memory (`optmem_max`) or the user's locked-memory limit is spent,
    /// as for Linux's TCP. The bytes are copied, never pinned: the
    /// completion says so (`SO_EE_CODE_ZEROCOPY_COPIED`), as Linux's TCP
    /// does on a route without scatter-gather.
    pub(crate) fn start<P: Proto>(owned: &SockGuard<'_, P>, size: usize, tail: Option<&ZcRef>) -> Result<ZcRef> {
        let tail = tail.map_or(core::ptr::null_mut(), |t| t.0.as_ptr());
        // SAFETY: process context, the sock alive and its lock held (the
        // guard), as `msg_zerocopy_realloc` requires to extend `tail`, a
        // completion of this sock that `tail` keeps alive.
        let uarg = unsafe { sys::msg_zerocopy_realloc(owned.sk().as_ptr(), size, tail, false) };
        let uarg = NonNull::new(uarg).ok_or(ENOBUFS)?;
        // SAFETY: a completion of `msg_zerocopy_ubuf_ops`, whose one new
        // reference (a new one's first, or the one the extension took) is
        // ours.
        unsafe { sys::rtcp_helper_msg_zerocopy_copied(uarg.as_ptr()) };
        // INVARIANT: as just said.
        Ok(ZcRef(uarg))
    }

    /// The send took no bytes after all: its id goes back and this
    /// reference with it (`msg_zerocopy_put_abort`); a completion left
    /// with no id posts nothing. The socket lock is still held.
    pub(crate) fn abort<P: Proto>(self, owned: &SockGuard<'_, P>) {
        let _ = owned;
        let uarg = core::mem::ManuallyDrop::new(self);
        // SAFETY: our reference (type invariant), given up here; the id
        // given last is this send's, under the socket lock that
        // serialises `sk_zckey` with `start`.
        unsafe { sys::msg_zerocopy_put_abort(uarg.0.as_ptr(), true) }
    }

    /// Both are references to one completion.
    pub(crate) fn same(&self, other: &ZcRef) -> bool {
        self.0 == other.0
    }
}

impl Clone for ZcRef {
    fn clone(&self) -> ZcRef {
        // SAFETY: the completion is alive while we hold a reference.
        unsafe { sys::rtcp_helper_net_zcopy_get(self.0.as_ptr()) };
        // INVARIANT: the reference just taken.
        ZcRef(self.0)
    }
}

impl Drop for ZcRef {
    fn drop(&mut self) {
        // SAFETY: our reference (type invariant), given up; the last one
        // posts the completion (`__msg_zerocopy_callback`, which takes
        // its own locks and may run in any context).
        unsafe { sys::rtcp_helper_net_zcopy_put(self.0.as_ptr()) }
    }
}
