// SPDX-License-Identifier: GPL-2.0

//! Bottom halves off (`local_bh_disable`), for a section that softirqs on
//! this CPU must not enter, and that must not be preempted, while it
//! holds a lock they take too.

use crate::sys;

/// Softirqs are off on this CPU while this value lives; they run, if any
/// came meanwhile, when it drops (`local_bh_enable`). Not `Send`: it is
/// this CPU's.
pub(crate) struct BhOff(core::marker::PhantomData<*mut ()>);

impl BhOff {
    pub(crate) fn new() -> BhOff {
        // SAFETY: may nest, in any context but hard IRQ; `drop` pairs it.
        unsafe { sys::rtcp_helper_local_bh_disable() };
        BhOff(core::marker::PhantomData)
    }
}

impl Drop for BhOff {
    fn drop(&mut self) {
        // SAFETY: pairs the `local_bh_disable` of `new`, on this CPU (the
        // value is not `Send`).
        unsafe { sys::rtcp_helper_local_bh_enable() };
    }
}
