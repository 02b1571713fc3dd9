// SPDX-License-Identifier: GPL-2.0

//! The clock `proto` runs on: the monotonic clock in milliseconds.
//!
//! C header: [`include/linux/timekeeping.h`] (`ktime_get_mono_fast_ns`).

use crate::sys;

/// Milliseconds of the monotonic clock; any context, NMI-safe.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: reads the monotonic clock; callable from any context.
    let ns = unsafe { sys::ktime_get_mono_fast_ns() };
    ns / 1_000_000
}

/// `us` in the kernel's ticks, rounded up (`usecs_to_jiffies`).
pub(crate) fn usecs_to_ticks(us: u32) -> usize {
    // SAFETY: arithmetic.
    unsafe { sys::rtcp_helper_usecs_to_jiffies(us) }
}

/// `ticks` in microseconds (`jiffies_to_usecs`).
pub(crate) fn ticks_to_usecs(ticks: usize) -> u32 {
    // SAFETY: arithmetic.
    unsafe { sys::rtcp_helper_jiffies_to_usecs(ticks) }
}

/// `ms` in the kernel's ticks, rounded up (`msecs_to_jiffies`).
pub(crate) fn msecs_to_ticks(ms: u32) -> usize {
    // SAFETY: arithmetic.
    unsafe { sys::rtcp_helper_msecs_to_jiffies(ms) }
}

/// `ticks` in milliseconds (`jiffies_to_msecs`).
pub(crate) fn ticks_to_msecs(ticks: usize) -> u32 {
    // SAFETY: arithmetic.
    unsafe { sys::rtcp_helper_jiffies_to_msecs(ticks) }
}

/// Linux's least retransmission timeout in ticks (`TCP_RTO_MIN`, HZ / 5).
pub(crate) fn tcp_rto_min_ticks() -> usize {
    // SAFETY: a constant.
    let hz = unsafe { sys::rtcp_helper_hz() };
    usize::try_from(hz).unwrap_or(usize::MAX) / 5
}
