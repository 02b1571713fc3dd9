// SPDX-License-Identifier: GPL-2.0

//! `struct net`, a network namespace.
//!
//! C header: [`include/net/net_namespace.h`].

use crate::sys;
use kernel::types::Opaque;

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
