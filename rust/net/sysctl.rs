// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctls of `u8` values (`register_net_sysctl_sz` with
//! `proc_dou8vec_minmax`), as Linux's TCP keeps `tcp_syn_retries`.
//!
//! C header: [`include/linux/sysctl.h`], [`include/net/net_namespace.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::{prelude::*, types::Opaque};

use super::sock::Net;

/// One `u8` sysctl: its file name, default and bounds.
pub(crate) struct U8Def {
    pub(crate) name: &'static CStr,
    pub(crate) default: u8,
    pub(crate) min: u8,
    pub(crate) max: u8,
}

/// The value of one sysctl, with its bounds where the handler reads them.
struct Slot {
    val: Opaque<u8>,
    min: u32,
    max: u32,
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
    pub(crate) fn new(net: &Net, path: &'static CStr, defs: &[U8Def; N]) -> Result<Self> {
        let slots = KBox::new(
            core::array::from_fn(|i| Slot {
                val: Opaque::new(defs[i].default),
                min: u32::from(defs[i].min),
                max: u32::from(defs[i].max),
            }),
            GFP_KERNEL,
        )?;
        let table = KBox::new(
            core::array::from_fn(|i| {
                let s = &slots[i];
                sys::ctl_table {
                    procname: defs[i].name.as_char_ptr(),
                    data: s.val.get().cast(),
                    maxlen: 1,
                    mode: 0o644,
                    proc_handler: Some(sys::proc_dou8vec_minmax),
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

    /// The current value of sysctl `i`.
    pub(crate) fn get(&self, i: usize) -> u8 {
        // SAFETY: a byte the sysctl handler writes; read as `READ_ONCE`.
        self.slots.get(i).map_or(0, |s| unsafe { core::ptr::read_volatile(s.val.get()) })
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
