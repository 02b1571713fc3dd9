// SPDX-License-Identifier: GPL-2.0

//! `struct net_proto_family`: a socket family and its `create`.
//!
//! C header: [`include/linux/net.h`], `sock_register()` in `net/socket.c`.

use crate::sys;
use core::marker::PhantomData;
use kernel::{
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
};

use super::netns::Net;
use super::sock::Socket;

/// A socket family: what `socket(family, type, protocol)` calls.
pub(crate) trait Family: 'static {
    /// The family number.
    const FAMILY: i32;

    /// Creates the protocol side of `sock` in `net` (with
    /// [`super::Sock::alloc`]). `sock->type` is set; `kern` is true for
    /// sockets the kernel makes for itself.
    fn create(net: &Net, sock: &Socket, protocol: i32, kern: bool) -> Result;
}

struct Adapter<F>(PhantomData<F>);

impl<F: Family> Adapter<F> {
    const TABLE: sys::net_proto_family = sys::net_proto_family {
        family: F::FAMILY,
        create: Some(Self::create),
        owner: crate::THIS_MODULE.as_ptr().cast(),
    };

    /// # Safety
    ///
    /// Called by `__sock_create` with a live namespace and a new socket.
    unsafe extern "C" fn create(
        net: *mut sys::net,
        sock: *mut sys::socket,
        protocol: c_int,
        kern: c_int,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `__sock_create` holds `net` and `sock` for the call.
            let (net, sock) = unsafe { (Net::from_raw(net), Socket::from_raw(sock)) };
            F::create(net, sock, protocol, kern != 0)?;
            Ok(0)
        })
    }
}

/// The registration of family `F` with the socket layer (`sock_register`);
/// dropping it unregisters the family and waits for running `create` calls.
pub(crate) struct FamilyRegistration<F: Family>(PhantomData<F>);

impl<F: Family> FamilyRegistration<F> {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the table is a promoted constant that lives for the whole
        // program; `Drop` unregisters it before the module goes away.
        to_result(unsafe { sys::sock_register(&Adapter::<F>::TABLE) })?;
        Ok(Self(PhantomData))
    }
}

impl<F: Family> Drop for FamilyRegistration<F> {
    fn drop(&mut self) {
        // SAFETY: the family was registered by `new`.
        unsafe { sys::sock_unregister(F::FAMILY) }
    }
}

// SAFETY: the registration holds no data; register and unregister may run
// on any CPU.
unsafe impl<F: Family> Send for FamilyRegistration<F> {}
// SAFETY: as above.
unsafe impl<F: Family> Sync for FamilyRegistration<F> {}
