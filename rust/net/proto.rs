// SPDX-License-Identifier: GPL-2.0

//! `struct proto`: the transport protocol behind a family's socks.
//!
//! C header: [`include/net/sock.h`], `proto_register()` in
//! `net/core/sock.c`.

use crate::sys;
use core::marker::PhantomData;
use kernel::{error::to_result, ffi::c_char, prelude::*, types::Opaque};

use super::sock::{Proto, Sock, SockWith};

/// A `struct proto`, as a `static` (the kernel links it into its protocol
/// list and writes its bookkeeping into it while it is registered).
pub(crate) struct ProtoDef<P>(Opaque<sys::proto>, PhantomData<P>);

// SAFETY: the kernel serialises its own writes (under `proto_list_mutex`);
// Rust never touches the contents after construction.
unsafe impl<P> Sync for ProtoDef<P> {}

impl<P: Proto> ProtoDef<P> {
    pub(crate) const fn new() -> Self {
        let mut p: sys::proto = pin_init::zeroed();
        let mut i = 0;
        // Keep the last byte zero: the name stays NUL-terminated.
        while i < P::NAME.len() && i + 1 < p.name.len() {
            p.name[i] = P::NAME[i] as c_char;
            i += 1;
        }
        p.owner = crate::THIS_MODULE.as_ptr().cast();
        p.obj_size = core::mem::size_of::<SockWith<P>>() as u32;
        p.keepalive = Some(Self::keepalive);
        Self(Opaque::new(p), PhantomData)
    }

    /// # Safety
    ///
    /// Called by `sock_setsockopt` with a live sock of this proto (so
    /// allocated for `P`).
    unsafe extern "C" fn keepalive(sk: *mut sys::sock, on: kernel::ffi::c_int) {
        // SAFETY: a sock of this proto is allocated by `Sock::alloc` for
        // `P`, and alive for the call.
        P::keepalive(unsafe { Sock::<P>::from_raw(sk) }, on != 0);
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::proto {
        self.0.get()
    }
}

/// A registered [`ProtoDef`] (`proto_register`, with a slab cache for its
/// socks); unregistered on drop.
///
/// # Invariants
///
/// The proto is registered from `new` until `drop`.
pub(crate) struct ProtoRegistration<P: Proto>(&'static ProtoDef<P>);

impl<P: Proto> ProtoRegistration<P> {
    pub(crate) fn new(def: &'static ProtoDef<P>) -> Result<Self> {
        // SAFETY: `def` is a static; `drop` unregisters it before the
        // module's memory goes away.
        to_result(unsafe { sys::proto_register(def.as_ptr(), 1) })?;
        // INVARIANT: registered just above.
        Ok(Self(def))
    }
}

impl<P: Proto> Drop for ProtoRegistration<P> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the proto is registered; every sock
        // of it holds a module reference, so none is left when the module
        // unloads.
        unsafe { sys::proto_unregister(self.0.as_ptr()) }
    }
}
