// SPDX-License-Identifier: GPL-2.0

//! `struct socket`, `struct sock` and `struct net`.
//!
//! C headers: [`include/linux/net.h`], [`include/net/sock.h`],
//! [`include/net/net_namespace.h`].

use crate::sys;
use kernel::{
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

use super::ops::{Adapter, SocketOps};
use super::proto::ProtoDef;

/// A network namespace.
///
/// # Invariants
///
/// The wrapped `struct net` is alive for as long as the reference is.
#[repr(transparent)]
pub(crate) struct Net(Opaque<sys::net>);

impl Net {
    /// # Safety
    ///
    /// `ptr` points to a `struct net` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::net) -> &'a Net {
        // SAFETY: `Net` is transparent over `struct net`; the caller
        // guarantees the lifetime.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::net {
        self.0.get()
    }
}

/// The BSD socket: the `struct socket` behind a file descriptor.
///
/// # Invariants
///
/// The wrapped `struct socket` is alive for as long as the reference is, and
/// the caller of the proto_ops callback that made it holds it (the socket
/// layer serialises `create` and `release` against everything else).
#[repr(transparent)]
pub(crate) struct Socket(Opaque<sys::socket>);

impl Socket {
    /// # Safety
    ///
    /// `ptr` points to a `struct socket` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::socket) -> &'a Socket {
        // SAFETY: `Socket` is transparent over `struct socket`; the caller
        // guarantees the lifetime.
        unsafe { &*ptr.cast() }
    }

    fn as_ptr(&self) -> *mut sys::socket {
        self.0.get()
    }

    /// `SOCK_STREAM`, `SOCK_DGRAM`, ... (flags already stripped).
    pub(crate) fn type_(&self) -> i16 {
        // SAFETY: by the type invariant the socket is alive; `type` is set
        // before `create` and never changes.
        unsafe { (*self.as_ptr()).type_ }
    }

    /// The `struct sock` attached to the socket, if any.
    pub(crate) fn sk(&self) -> Option<&Sock> {
        // SAFETY: by the type invariant the socket is alive.
        let sk = unsafe { (*self.as_ptr()).sk };
        // SAFETY: `sock->sk` is valid while the socket holds it, and the
        // socket holds it until `release`, which takes `self` by reference
        // only for its duration.
        (!sk.is_null()).then(|| unsafe { Sock::from_raw(sk) })
    }

    /// Detaches the `struct sock` from the socket and returns the
    /// socket's reference to it.
    pub(crate) fn take_sk(&self) -> Option<ARef<Sock>> {
        let p = self.as_ptr();
        // SAFETY: by the type invariant the socket is alive and `release`
        // (the only caller) has exclusive use of it.
        let sk = unsafe { core::ptr::replace(&raw mut (*p).sk, core::ptr::null_mut()) };
        let sk = core::ptr::NonNull::new(sk)?;
        // SAFETY: the socket owned one reference on `sk` (taken in
        // `Sock::alloc`); it is handed over to the `ARef`.
        Some(unsafe { ARef::from_raw(sk.cast()) })
    }
}

/// The network-layer socket, `struct sock`, with RTCP's state after it.
///
/// # Invariants
///
/// The wrapped `struct sock` is alive for as long as the reference is.
#[repr(transparent)]
pub(crate) struct Sock(Opaque<sys::sock>);

impl Sock {
    /// # Safety
    ///
    /// `ptr` points to a `struct sock` that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::sock) -> &'a Sock {
        // SAFETY: `Sock` is transparent over `struct sock`; the caller
        // guarantees the lifetime.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::sock {
        self.0.get()
    }

    /// Allocates a `struct sock` of `proto` in `net`, attaches it to `sock`
    /// (`sock_init_data`), and gives `sock` the operations of `O`. The
    /// socket owns the one reference; `release` takes it back with
    /// [`Socket::take_sk`].
    pub(crate) fn alloc<'a, O: SocketOps>(
        net: &Net,
        sock: &'a Socket,
        family: i32,
        proto: &'static ProtoDef,
        kern: bool,
    ) -> Result<&'a Sock> {
        // SAFETY: `net` is alive, `proto` is registered for as long as the
        // module is loaded, and every socket of it holds a module reference.
        let sk = unsafe {
            sys::sk_alloc(net.as_ptr(), family, sys::RTCP_GFP_KERNEL, proto.as_ptr(), i32::from(kern))
        };
        if sk.is_null() {
            return Err(ENOBUFS);
        }
        let s = sock.as_ptr();
        // SAFETY: `s` is the socket being created (alive, not yet visible to
        // anyone else); `sk` is the new sock. `sock_init_data` links them and
        // sets the sock's reference count to one, owned by the socket.
        unsafe {
            (*s).ops = Adapter::<O>::table();
            sys::sock_init_data(s, sk);
            (*sk).sk_destruct = Some(Adapter::<O>::destruct);
        }
        // SAFETY: `sk` stays alive while the socket holds it.
        Ok(unsafe { Sock::from_raw(sk) })
    }

    /// Sets the protocol number (`SO_PROTOCOL` reads it).
    pub(crate) fn set_protocol(&self, protocol: u16) {
        // SAFETY: the sock is alive; called from `create`, before the
        // socket is visible to anyone else.
        unsafe { (*self.as_ptr()).sk_protocol = protocol }
    }

    /// The namespace the sock lives in.
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: `sk_net` is set by `sk_alloc` and lives as long as the
        // sock (a user sock holds a reference on its namespace; a kernel
        // sock is torn down before its namespace).
        unsafe { Net::from_raw((*self.as_ptr()).__sk_common.skc_net.net) }
    }

    /// The TCP state (`TCP_CLOSE`, ...), as `sk_state`.
    pub(crate) fn state(&self) -> u8 {
        // SAFETY: the sock is alive; `skc_state` is a plain byte that may be
        // read racily, as `READ_ONCE(sk->sk_state)` does in C.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).__sk_common.skc_state) }
    }

    /// Which directions are shut down (`RCV_SHUTDOWN`, `SEND_SHUTDOWN`).
    pub(crate) fn shutdown(&self) -> u8 {
        // SAFETY: as for `state`.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_shutdown) }
    }

    /// Marks the sock dead and detaches it from its socket and wait queue
    /// (`sock_orphan`).
    pub(crate) fn orphan(&self) {
        // SAFETY: the sock is alive; `sock_orphan` takes its callback lock.
        unsafe { sys::rtcp_helper_sock_orphan(self.as_ptr()) }
    }
}

// SAFETY: `sock_hold`/`sock_put` manage the reference count of a `struct
// sock`; the last `sock_put` frees it through `sk_free`.
unsafe impl AlwaysRefCounted for Sock {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means a reference is held.
        unsafe { sys::rtcp_helper_sock_hold(self.as_ptr()) }
    }

    unsafe fn dec_ref(obj: core::ptr::NonNull<Self>) {
        // SAFETY: the caller gives up one reference it owns.
        unsafe { sys::rtcp_helper_sock_put(obj.as_ptr().cast()) }
    }
}

// SAFETY: a `struct sock` is used from any CPU under its own locking.
unsafe impl Send for Sock {}
// SAFETY: as above: shared access goes through the sock's own locks.
unsafe impl Sync for Sock {}
