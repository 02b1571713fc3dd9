// SPDX-License-Identifier: GPL-2.0

//! `struct socket`, `struct sock` and `struct net`.
//!
//! C headers: [`include/linux/net.h`], [`include/net/sock.h`],
//! [`include/net/net_namespace.h`].
//!
//! A sock of a [`Proto`] is a `struct sock` followed by the protocol's own
//! state, `P::Private` ([`SockWith`]); [`Sock<P>`] and [`Socket<P>`] are the
//! typed handles, which only the adapters that allocated them hand out.

use crate::sys;
use core::{cell::UnsafeCell, marker::PhantomData, ops::Deref, ops::DerefMut};
use kernel::{
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

use super::ops::{Adapter, SocketOps};
use super::proto::{Proto, ProtoDef};

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

/// The memory layout of one sock of protocol `P`.
#[repr(C)]
pub(crate) struct SockWith<P: Proto> {
    sk: sys::sock,
    private: UnsafeCell<P::Private>,
}

/// A BSD socket of a family whose socks are of protocol `P` (or have
/// none: `P = ()` while `create` runs).
///
/// # Invariants
///
/// The wrapped `struct socket` is alive for as long as the reference is;
/// `sock->sk`, when set, was allocated by [`Sock::alloc`] for `P`.
#[repr(transparent)]
pub(crate) struct Socket<P = ()>(Opaque<sys::socket>, PhantomData<P>);

impl<P> Socket<P> {
    /// # Safety
    ///
    /// `ptr` points to a `struct socket` that stays alive for `'a`, whose
    /// sock (if any) was allocated by [`Sock::alloc`] for `P`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::socket) -> &'a Socket<P> {
        // SAFETY: `Socket` is transparent over `struct socket`; the caller
        // guarantees the lifetime and the type of the sock.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::socket {
        self.0.get()
    }

    /// `SOCK_STREAM`, `SOCK_DGRAM`, ... (flags already stripped).
    pub(crate) fn type_(&self) -> i16 {
        // SAFETY: by the type invariant the socket is alive; `type` is set
        // before `create` and never changes.
        unsafe { (*self.as_ptr()).type_ }
    }
}

impl<P: Proto> Socket<P> {
    /// The sock attached to the socket, if any.
    pub(crate) fn sk(&self) -> Option<&Sock<P>> {
        // SAFETY: by the type invariant the socket is alive.
        let sk = unsafe { (*self.as_ptr()).sk };
        // SAFETY: `sock->sk` is a sock of `P` (type invariant), valid while
        // the socket holds it: until `release`, which takes it with
        // `take_sk`.
        (!sk.is_null()).then(|| unsafe { Sock::from_raw(sk) })
    }

    /// Detaches the sock from the socket and returns the socket's reference
    /// to it.
    pub(crate) fn take_sk(&self) -> Option<ARef<Sock<P>>> {
        let p = self.as_ptr();
        // SAFETY: by the type invariant the socket is alive; `release`, the
        // only caller, has exclusive use of it.
        let sk = unsafe { core::ptr::replace(&raw mut (*p).sk, core::ptr::null_mut()) };
        let sk = core::ptr::NonNull::new(sk)?;
        // SAFETY: the socket owned one reference on `sk` (taken in
        // `Sock::alloc`); it is handed over to the `ARef`.
        Some(unsafe { ARef::from_raw(sk.cast()) })
    }
}

/// A sock of protocol `P`: `struct sock` with `P::Private` after it.
///
/// # Invariants
///
/// The wrapped memory is a live sock allocated by [`Sock::alloc`] for `P`,
/// whose private state is initialised, for as long as the reference is.
#[repr(transparent)]
pub(crate) struct Sock<P: Proto>(Opaque<SockWith<P>>);

impl<P: Proto> Sock<P> {
    /// # Safety
    ///
    /// `ptr` points to a sock allocated by [`Sock::alloc`] for `P` that
    /// stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::sock) -> &'a Sock<P> {
        // SAFETY: `Sock<P>` is transparent over `SockWith<P>`, which starts
        // with the `struct sock`; the caller guarantees the rest.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::sock {
        self.0.get().cast()
    }

    /// Allocates a sock of `proto` in `net`, attaches it to `sock`
    /// (`sock_init_data`), and gives `sock` the operations of `O`. The
    /// socket owns the one reference; `release` takes it back with
    /// [`Socket::take_sk`].
    pub(crate) fn alloc<'a, O: SocketOps<Proto = P>>(
        net: &Net,
        sock: &'a Socket,
        family: i32,
        proto: &'static ProtoDef<P>,
        kern: bool,
    ) -> Result<&'a Sock<P>> {
        // SAFETY: `net` is alive, `proto` is registered for as long as the
        // module is loaded, and every socket of it holds a module reference.
        let sk = unsafe {
            sys::sk_alloc(net.as_ptr(), family, sys::RTCP_GFP_KERNEL, proto.as_ptr(), i32::from(kern))
        };
        if sk.is_null() {
            return Err(ENOBUFS);
        }
        let s = sock.as_ptr();
        // SAFETY: `sk` is a new sock of `proto`, whose `obj_size` is that of
        // `SockWith<P>`: the private state is written before anything can
        // read it. `s` is the socket being created (alive, not yet visible
        // to anyone else); `sock_init_data` links the two and sets the
        // sock's reference count to one, owned by the socket.
        unsafe {
            let with = sk.cast::<SockWith<P>>();
            (&raw mut (*with).private).write(UnsafeCell::new(P::Private::default()));
            (*s).ops = Adapter::<O>::table();
            sys::sock_init_data(s, sk);
            (*sk).sk_destruct = Some(Adapter::<O>::destruct);
        }
        // INVARIANT: allocated for `P` with its private state initialised;
        // alive while the socket holds it.
        // SAFETY: as above.
        Ok(unsafe { Sock::from_raw(sk) })
    }

    /// Drops the private state; called from the sock's destructor only.
    ///
    /// # Safety
    ///
    /// The last reference to the sock is gone and the private state is not
    /// used again.
    pub(crate) unsafe fn drop_private(&self) {
        // SAFETY: the caller guarantees nobody uses the state any more; it
        // was initialised by `alloc`.
        unsafe { core::ptr::drop_in_place((*self.0.get()).private.get()) }
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

    /// Sets the protocol number (`SO_PROTOCOL` reads it).
    pub(crate) fn set_protocol(&self, protocol: u16) {
        // SAFETY: the sock is alive; called from `create`, before the
        // socket is visible to anyone else.
        unsafe { (*self.as_ptr()).sk_protocol = protocol }
    }

    /// `SO_REUSEADDR`, `SO_REUSEPORT` and `SO_BINDTODEVICE` as set on the
    /// socket: `(sk_reuse, sk_reuseport, sk_bound_dev_if)`.
    pub(crate) fn bind_options(&self) -> (u8, u8, i32) {
        // SAFETY: the sock is alive; the fields are plain values that
        // setsockopt writes under the sock lock, which the caller holds.
        let c = unsafe { &(*self.as_ptr()).__sk_common };
        (c.skc_reuse(), c.skc_reuseport(), c.skc_bound_dev_if)
    }

    /// Marks the sock dead and detaches it from its socket and wait queue
    /// (`sock_orphan`).
    pub(crate) fn orphan(&self) {
        // SAFETY: the sock is alive; `sock_orphan` takes its callback lock.
        unsafe { sys::rtcp_helper_sock_orphan(self.as_ptr()) }
    }

    /// Takes the socket lock (`lock_sock`) for the private state; released
    /// when the guard drops (`release_sock`). May sleep.
    pub(crate) fn lock(&self) -> SockGuard<'_, P> {
        // SAFETY: the sock is alive; process context (the callers are
        // socket calls).
        unsafe { sys::rtcp_helper_lock_sock(self.as_ptr()) };
        // INVARIANT: the lock is held until the guard drops.
        SockGuard { sk: self }
    }
}

/// The socket lock of a sock, held: access to its private state.
///
/// # Invariants
///
/// `lock_sock` was called on `sk` and `release_sock` was not yet.
pub(crate) struct SockGuard<'a, P: Proto> {
    sk: &'a Sock<P>,
}

impl<P: Proto> Deref for SockGuard<'_, P> {
    type Target = P::Private;

    fn deref(&self) -> &P::Private {
        // SAFETY: the private state is initialised (`Sock` invariant) and
        // only reached through a guard, of which one exists at a time
        // (the socket lock, type invariant).
        unsafe { &*(*self.sk.0.get()).private.get() }
    }
}

impl<P: Proto> DerefMut for SockGuard<'_, P> {
    fn deref_mut(&mut self) -> &mut P::Private {
        // SAFETY: as for `deref`; `&mut self` makes the access unique.
        unsafe { &mut *(*self.sk.0.get()).private.get() }
    }
}

impl<P: Proto> Drop for SockGuard<'_, P> {
    fn drop(&mut self) {
        // SAFETY: the lock is held (type invariant).
        unsafe { sys::release_sock(self.sk.as_ptr()) }
    }
}

// SAFETY: `sock_hold`/`sock_put` manage the reference count of a `struct
// sock`; the last `sock_put` frees it through `sk_free`.
unsafe impl<P: Proto> AlwaysRefCounted for Sock<P> {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means a reference is held.
        unsafe { sys::rtcp_helper_sock_hold(self.as_ptr()) }
    }

    unsafe fn dec_ref(obj: core::ptr::NonNull<Self>) {
        // SAFETY: the caller gives up one reference it owns.
        unsafe { sys::rtcp_helper_sock_put(obj.as_ptr().cast()) }
    }
}

// SAFETY: a `struct sock` is used from any CPU under its own locking; the
// private state is `Send + Sync` (`Proto::Private`) and reached only under
// the socket lock.
unsafe impl<P: Proto> Send for Sock<P> {}
// SAFETY: as above.
unsafe impl<P: Proto> Sync for Sock<P> {}
