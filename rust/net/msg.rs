// SPDX-License-Identifier: GPL-2.0

//! `struct msghdr`: the user's buffers of a `sendmsg` or `recvmsg` call.
//!
//! C header: [`include/linux/socket.h`], [`include/linux/uio.h`].

use crate::sys;
use super::skb::SkbRef;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use kernel::prelude::*;

/// The message of one `sendmsg` or `recvmsg` call.
///
/// # Invariants
///
/// `msg` is the call's live `msghdr`, used by this call only.
pub(crate) struct Msg<'a> {
    msg: *mut sys::msghdr,
    _p: PhantomData<&'a mut ()>,
}

impl Msg<'_> {
    /// # Safety
    ///
    /// `msg` is the `msghdr` of the current `sendmsg`/`recvmsg` call, alive
    /// and not used elsewhere while the value lives.
    pub(crate) unsafe fn from_raw(msg: *mut sys::msghdr) -> Self {
        // INVARIANT: as the caller guarantees.
        Msg { msg, _p: PhantomData }
    }

    /// The call's `MSG_*` flags as `sendmsg` gives them (`msg_flags`).
    pub(crate) fn flags(&self) -> i32 {
        // SAFETY: the msghdr is live (type invariant).
        unsafe { (*self.msg).msg_flags as i32 }
    }

    /// The address `sendmsg` was given (`msg_name`, which the socket layer
    /// copied into the kernel), if any.
    pub(crate) fn name(&self) -> Option<&[u8]> {
        // SAFETY: the msghdr is live (type invariant); a sendmsg's name is
        // kernel memory of `msg_namelen` bytes (`move_addr_to_kernel`), alive
        // for the call, which outlives this borrow.
        unsafe {
            let m = &*self.msg;
            let len = usize::try_from(m.msg_namelen).ok()?;
            (!m.msg_name.is_null()).then(|| core::slice::from_raw_parts(m.msg_name.cast::<u8>(), len))
        }
    }

    /// Adds `f` to the flags `recvmsg` hands back (`MSG_OOB`, `MSG_TRUNC`).
    pub(crate) fn add_flags(&mut self, f: i32) {
        // SAFETY: the msghdr is live (type invariant).
        unsafe { (*self.msg).msg_flags |= f as u32 }
    }

    /// Copies the user's next bytes into `dst`; how many (fewer on a fault
    /// or when the user's buffers end).
    pub(crate) fn copy_from_user(&mut self, dst: &mut [MaybeUninit<u8>]) -> usize {
        // SAFETY: `dst` is writable for its length; the iterator is the
        // call's (type invariant); process context, may fault and sleep.
        unsafe { sys::rtcp_helper_copy_from_iter(dst.as_mut_ptr().cast(), dst.len(), &raw mut (*self.msg).msg_iter) }
    }

    /// Copies `src` into the user's next bytes; how many.
    pub(crate) fn copy_to_user(&mut self, src: &[u8]) -> usize {
        // SAFETY: as for `copy_from_user`, the other way.
        unsafe { sys::rtcp_helper_copy_to_iter(src.as_ptr().cast(), src.len(), &raw mut (*self.msg).msg_iter) }
    }

    /// `recvmsg(MSG_ERRQUEUE)` (`ip_recv_error`): the next skb of `sk`'s
    /// error queue, its bytes (`len` at most) and a `SOL_IP`/`IP_RECVERR`
    /// cmsg with its `sock_extended_err`; `EAGAIN` when the queue is empty.
    pub(crate) fn recv_error<P: super::Proto>(&mut self, sk: &super::Sock<P>, len: usize) -> Result<usize> {
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        // SAFETY: the sock is alive; the msghdr is the call's (type
        // invariant), in process context.
        let n = unsafe { sys::rtcp_helper_recv_error(sk.as_ptr(), self.msg, len) };
        kernel::error::to_result(n)?;
        Ok(n as usize)
    }

    /// Copies `len` bytes at `off` of a kept skb's data into the user's
    /// next bytes; how many.
    pub(crate) fn copy_skb_to_user(&mut self, skb: &SkbRef, off: u32, len: u32) -> usize {
        // SAFETY: the iterator is the call's (type invariant), in process
        // context.
        unsafe { skb.copy_to_iter(off, len, &raw mut (*self.msg).msg_iter) }
    }
}
