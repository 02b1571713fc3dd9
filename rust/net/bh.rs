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

/// A spinlock taken with softirqs off (`spin_lock_bh`), as Linux's TCP
/// takes a socket's (`bh_lock_sock` under `local_bh_disable`): for state
/// shared by socket calls, the receive softirq and timers, none of which
/// runs in hard IRQ context. Hard IRQs stay on while it is held, so the
/// CPU still takes its device and timer interrupts and IPIs (a wake-up
/// of a reader on another CPU is not held back), and a profile's samples
/// land inside the section rather than where IRQs came back on.
pub(crate) type SpinLockBh<T> = kernel::sync::lock::Lock<T, SpinLockBhBackend>;

/// A new [`SpinLockBh`], with its own lockdep class at each use.
#[macro_export]
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::net::bh::SpinLockBh::new($inner, kernel::optional_name!($name), kernel::static_lock_class!())
    };
}

/// The backend of [`SpinLockBh`].
pub(crate) struct SpinLockBhBackend;

// SAFETY: the kernel's `spinlock_t` gives mutual exclusion; `lock` and
// `unlock` pair `spin_lock_bh` and `spin_unlock_bh` on the same CPU (a
// guard is not `Send`); `relock` is the default, the same `lock`.
unsafe impl kernel::sync::lock::Backend for SpinLockBhBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(ptr: *mut Self::State, name: *const kernel::ffi::c_char, key: *mut kernel::bindings::lock_class_key) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` for reads
        // for ever (the trait's contract).
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` is an initialised lock (the trait's contract);
        // never in hard IRQ context, never with IRQs off (no caller is).
        unsafe { sys::rtcp_helper_spin_lock_bh(ptr.cast()) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: as `lock`.
        (unsafe { sys::rtcp_helper_spin_trylock_bh(ptr.cast()) } != 0).then_some(())
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: the caller holds the lock, taken by `lock` on this CPU.
        unsafe { sys::rtcp_helper_spin_unlock_bh(ptr.cast()) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: `ptr` is an initialised lock.
        unsafe { kernel::bindings::spin_assert_is_held(ptr) }
    }
}
