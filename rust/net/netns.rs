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

    /// Linux's TCP's `net.ipv4.tcp_rmem` here: the least, the start and
    /// the most of a receive buffer.
    pub(crate) fn tcp_rmem(&self) -> [i32; 3] {
        let p = self.as_ptr();
        // SAFETY: the namespace is alive (type invariant); integers the
        // sysctl handler writes, each read as `READ_ONCE`, as Linux's TCP
        // reads them.
        core::array::from_fn(|i| unsafe { core::ptr::read_volatile((&raw const (*p).ipv4.sysctl_tcp_rmem).cast::<i32>().add(i)) })
    }

    /// `net.ipv4.tcp_max_syn_backlog`: without SYN cookies, the last
    /// quarter of it is kept for peers proven alive.
    pub(crate) fn tcp_max_syn_backlog(&self) -> i32 {
        let p = self.as_ptr();
        // SAFETY: as in `tcp_rmem`.
        unsafe { core::ptr::read_volatile(&raw const (*p).ipv4.sysctl_max_syn_backlog) }
    }

    /// `net.ipv4.tcp_wmem`: the least, the start and the most of a
    /// socket's send buffer.
    pub(crate) fn tcp_wmem(&self) -> [i32; 3] {
        let p = self.as_ptr();
        // SAFETY: as in `tcp_rmem`.
        core::array::from_fn(|i| unsafe { core::ptr::read_volatile((&raw const (*p).ipv4.sysctl_tcp_wmem).cast::<i32>().add(i)) })
    }

    /// `net.ipv6.bindv6only`: new IPv6 sockets start `IPV6_V6ONLY`.
    pub(crate) fn bindv6only(&self) -> bool {
        // SAFETY: the namespace is alive; a plain byte its sysctl writes,
        // read once (`READ_ONCE`).
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).ipv6.sysctl.bindv6only) != 0 }
    }
}

/// `net.core.rmem_max`, the most `SO_RCVBUF` may set (global).
pub(crate) fn rmem_max() -> u32 {
    // SAFETY: reads a global integer, as `READ_ONCE`.
    unsafe { sys::rtcp_helper_rmem_max() }
}

