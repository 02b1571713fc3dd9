// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctls of integers, one or a few per file
//! (`register_net_sysctl_sz` with `proc_dointvec_minmax`), as Linux's TCP
//! keeps `tcp_syn_retries` or `tcp_rmem`.
//!
//! C header: [`include/linux/sysctl.h`], [`include/net/net_namespace.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::{prelude::*, types::Opaque};

use super::netns::Net;

/// The most integers one sysctl holds.
pub(crate) const MAX_INTS: usize = 3;

/// One sysctl: its file name, its default (as many integers as it holds)
/// and the bounds of each.
pub(crate) struct IntDef {
    pub(crate) name: &'static CStr,
    pub(crate) default: &'static [i32],
    pub(crate) min: i32,
    pub(crate) max: i32,
}

/// The values of one sysctl, with their bounds where the handler reads
/// them.
struct Slot {
    vals: Opaque<[i32; MAX_INTS]>,
    min: i32,
    max: i32,
}

/// `N` sysctls registered under a path in one namespace; unregistered on
/// drop.
///
/// # Invariants
///
/// `header` registers `table`, whose entries point into `slots`; both
/// boxes live as long as this value.
pub(crate) struct Sysctls<const N: usize> {
    slots: KBox<[Slot; N]>,
    _table: KBox<[sys::ctl_table; N]>,
    header: NonNull<sys::ctl_table_header>,
}

impl<const N: usize> Sysctls<N> {
    /// Registers `defs` under `path` (e.g. `net/rtcp`) in `net`.
    pub(crate) fn new(net: &Net, path: &'static CStr, defs: &[IntDef; N]) -> Result<Self> {
        let slots = KBox::new(
            core::array::from_fn(|i| {
                let mut vals = [0i32; MAX_INTS];
                for (v, d) in vals.iter_mut().zip(defs[i].default) {
                    *v = *d;
                }
                Slot { vals: Opaque::new(vals), min: defs[i].min, max: defs[i].max }
            }),
            GFP_KERNEL,
        )?;
        let table = KBox::new(
            core::array::from_fn(|i| {
                let s = &slots[i];
                let ints = defs[i].default.len().clamp(1, MAX_INTS);
                sys::ctl_table {
                    procname: defs[i].name.as_char_ptr(),
                    data: s.vals.get().cast(),
                    maxlen: (ints * core::mem::size_of::<i32>()) as i32,
                    mode: 0o644,
                    proc_handler: Some(sys::proc_dointvec_minmax),
                    extra1: core::ptr::from_ref(&s.min).cast_mut().cast(),
                    extra2: core::ptr::from_ref(&s.max).cast_mut().cast(),
                    ..pin_init::zeroed()
                }
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `net` is alive; the table and the values it points to are
        // boxed (they do not move) and kept until `drop` unregisters them.
        let header = unsafe {
            sys::register_net_sysctl_sz(net.as_ptr(), path.as_char_ptr(), table.as_ptr().cast_mut(), N)
        };
        // INVARIANT: registered just above.
        Ok(Self { slots, _table: table, header: NonNull::new(header).ok_or(ENOMEM)? })
    }

    /// The current values of sysctl `i` (zeros past those it holds).
    pub(crate) fn ints(&self, i: usize) -> [i32; MAX_INTS] {
        let Some(s) = self.slots.get(i) else { return [0; MAX_INTS] };
        let p = s.vals.get().cast::<i32>();
        // SAFETY: integers the sysctl handler writes; each read as
        // `READ_ONCE`, as Linux's TCP reads `tcp_rmem[i]`.
        core::array::from_fn(|k| unsafe { core::ptr::read_volatile(p.add(k)) })
    }

    /// Sets the values of sysctl `i` (a default that depends on the
    /// namespace, before anyone uses them); those past `vals`, or past
    /// what it holds, stay.
    pub(crate) fn set(&self, i: usize, vals: &[i32]) {
        let Some(s) = self.slots.get(i) else { return };
        let p = s.vals.get().cast::<i32>();
        for (k, v) in vals.iter().take(MAX_INTS).enumerate() {
            // SAFETY: within the slot's integers; written as `WRITE_ONCE`,
            // as the sysctl handler may write them too.
            unsafe { core::ptr::write_volatile(p.add(k), *v) };
        }
    }

    /// The current value of sysctl `i` (its first).
    pub(crate) fn get(&self, i: usize) -> i32 {
        self.ints(i)[0]
    }
}

impl<const N: usize> Drop for Sysctls<N> {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant).
        unsafe { sys::unregister_net_sysctl_table(self.header.as_ptr()) }
    }
}

// SAFETY: the values are read with volatile loads and written only by the
// sysctl handler; the registration may be dropped on any CPU.
unsafe impl<const N: usize> Send for Sysctls<N> {}
// SAFETY: as above.
unsafe impl<const N: usize> Sync for Sysctls<N> {}
