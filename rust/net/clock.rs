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
