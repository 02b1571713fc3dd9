// SPDX-License-Identifier: GPL-2.0

//! `struct proto_ops`: the socket calls of a family, filled from a trait.
//!
//! C header: [`include/linux/net.h`].

use crate::sys;
use core::marker::PhantomData;
use kernel::{error::from_result, ffi::c_int, prelude::*};

use super::sock::{Sock, Socket};

/// A `poll_table` handed to [`SocketOps::poll`].
///
/// # Invariants
///
/// Holds the file and the poll table of one `poll` call (the table may be
/// null when the caller only wants the mask).
pub(crate) struct PollTable<'a> {
    file: *mut sys::file,
    table: *mut sys::poll_table,
    _p: PhantomData<&'a ()>,
}

impl PollTable<'_> {
    /// Registers the caller on the socket's wait queue (`sock_poll_wait`).
    pub(crate) fn wait(&self, sock: &Socket) {
        // SAFETY: by the type invariant `file` and `table` come from the
        // current `poll` call on `sock`'s file.
        unsafe { sys::rtcp_helper_sock_poll_wait(self.file, sock_ptr(sock), self.table) }
    }
}

fn sock_ptr(sock: &Socket) -> *mut sys::socket {
    core::ptr::from_ref(sock).cast_mut().cast()
}

/// The socket calls RTCP implements. Calls without a method here answer
/// `EOPNOTSUPP` through the kernel's `sock_no_*` helpers.
pub(crate) trait SocketOps: 'static {
    /// The address family (`proto_ops.family`).
    const FAMILY: i32;

    /// `close()` of the last file reference.
    fn release(sock: &Socket) -> Result;

    /// `poll()`: the ready mask (`EPOLL*`).
    fn poll(sock: &Socket, wait: &PollTable<'_>) -> u32;

    /// The last reference to a sock of this family is going
    /// (`sk_destruct`).
    fn destruct(sk: &Sock);
}

/// Builds the C table of an [`SocketOps`] implementation.
pub(crate) struct Adapter<O>(PhantomData<O>);

impl<O: SocketOps> Adapter<O> {
    const TABLE: sys::proto_ops = sys::proto_ops {
        family: O::FAMILY,
        owner: crate::THIS_MODULE.as_ptr().cast(),
        release: Some(Self::release),
        poll: Some(Self::poll),
        bind: Some(sys::sock_no_bind),
        connect: Some(sys::sock_no_connect),
        socketpair: Some(sys::sock_no_socketpair),
        accept: Some(sys::sock_no_accept),
        getname: Some(sys::sock_no_getname),
        ioctl: Some(sys::sock_no_ioctl),
        listen: Some(sys::sock_no_listen),
        shutdown: Some(sys::sock_no_shutdown),
        sendmsg: Some(sys::sock_no_sendmsg),
        recvmsg: Some(sys::sock_no_recvmsg),
        mmap: Some(sys::sock_no_mmap),
        ..pin_init::zeroed()
    };

    /// The `proto_ops` table of `O`, for `sock->ops`.
    pub(crate) fn table() -> *const sys::proto_ops {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family.
    unsafe extern "C" fn release(sock: *mut sys::socket) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::release(unsafe { Socket::from_raw(sock) })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family, its
    /// file and a poll table (possibly null).
    unsafe extern "C" fn poll(
        file: *mut sys::file,
        sock: *mut sys::socket,
        table: *mut sys::poll_table,
    ) -> sys::__poll_t {
        // INVARIANT: `file` and `table` are those of this `poll` call.
        let wait = PollTable { file, table, _p: PhantomData };
        // SAFETY: the socket layer keeps `sock` alive for the call.
        O::poll(unsafe { Socket::from_raw(sock) }, &wait)
    }

    /// # Safety
    ///
    /// Called by `__sk_destruct` with the sock whose last reference went.
    pub(crate) unsafe extern "C" fn destruct(sk: *mut sys::sock) {
        // SAFETY: the sock is alive until its destructor returns.
        O::destruct(unsafe { Sock::from_raw(sk) })
    }
}
