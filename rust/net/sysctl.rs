// SPDX-License-Identifier: GPL-2.0

//! Per-namespace sysctls of integers, one or a few per file
//! (`register_net_sysctl_sz` with `proc_dointvec_minmax`), as Linux's TCP
//! keeps `tcp_syn_retries` or `tcp_rmem`.
//!
//! C header: [`include/linux/sysctl.h`], [`include/net/net_namespace.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::{prelude::*, sync::Arc, types::Opaque};

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

/// The integers of one sysctl, which its handler writes; shared with
/// what reads them outside the namespace's state ([`Sysctls::shared`]).
pub(crate) struct Ints(Opaque<[i32; MAX_INTS]>);

impl Ints {
    /// Integers for a sysctl, `vals` first and zeros after.
    pub(crate) fn new(vals: &[i32]) -> Result<Arc<Ints>> {
        let ints = Arc::new(Ints(Opaque::new([0; MAX_INTS])), GFP_KERNEL)?;
        ints.set(vals);
        Ok(ints)
    }

    /// The current values (zeros past those the sysctl holds).
    pub(crate) fn get(&self) -> [i32; MAX_INTS] {
        let p = self.0.get().cast::<i32>();
        // SAFETY: integers the sysctl handler writes; each read as
        // `READ_ONCE`, as Linux's TCP reads `tcp_rmem[i]`.
        core::array::from_fn(|k| unsafe { core::ptr::read_volatile(p.add(k)) })
    }

    /// Sets the first of the values to `vals`.
    fn set(&self, vals: &[i32]) {
        let p = self.0.get().cast::<i32>();
        for (k, v) in vals.iter().take(MAX_INTS).enumerate() {
            // SAFETY: within the integers; written as `WRITE_ONCE`, as the
            // sysctl handler may write them too.
            unsafe { core::ptr::write_volatile(p.add(k), *v) };
        }
    }
}

// SAFETY: the values are read with volatile loads and written only by
// `set` and the sysctl handler, as Linux's TCP reads its sysctls.
unsafe impl Send for Ints {}
// SAFETY: as above.
unsafe impl Sync for Ints {}

/// The values of one sysctl, with their bounds where the handler reads
/// them.
struct Slot {
    vals: Arc<Ints>,
    min: i32,
    max: i32,
}

/// `N` sysctls registered under a path in one namespace; unregistered on
/// drop.
///
/// # Invariants
///
/// `header` registers `table`, whose `N` entries point into `slots` (`N`
/// of them); the table and the values live as long as this value.
pub(crate) struct Sysctls<const N: usize> {
    slots: KVec<Slot>,
    _table: KBox<[sys::ctl_table; N]>,
    header: NonNull<sys::ctl_table_header>,
}

impl<const N: usize> Sysctls<N> {
    /// Registers `defs` under `path` (e.g. `net/rtcp`) in `net`; the
    /// values of the sysctls that `shared` names (by index) are its
    /// integers, set to their defaults, which something outside the
    /// namespace's state reads.
    pub(crate) fn new(net: &Net, path: &'static CStr, defs: &[IntDef; N], shared: &[(usize, &Arc<Ints>)]) -> Result<Self> {
        let mut slots = KVec::with_capacity(N, GFP_KERNEL)?;
        for (i, def) in defs.iter().enumerate() {
            let vals = match shared.iter().find(|(j, _)| *j == i) {
                Some((_, ints)) => {
                    ints.set(def.default);
                    (*ints).clone()
                }
                None => Ints::new(def.default)?,
            };
            slots.push(Slot { vals, min: def.min, max: def.max }, GFP_KERNEL)?;
        }
        let table = KBox::new(
            core::array::from_fn(|i| {
                let s = &slots[i];
                let ints = defs[i].default.len().clamp(1, MAX_INTS);
                sys::ctl_table {
                    procname: defs[i].name.as_char_ptr(),
                    data: s.vals.0.get().cast(),
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
        // in allocations of their own (they do not move), kept until `drop`
        // unregisters them.
        let header = unsafe {
            sys::register_net_sysctl_sz(net.as_ptr(), path.as_char_ptr(), table.as_ptr().cast_mut(), N)
        };
        // INVARIANT: registered just above.
        Ok(Self { slots, _table: table, header: NonNull::new(header).ok_or(ENOMEM)? })
    }

    /// The current values of sysctl `i` (zeros past those it holds).
    pub(crate) fn ints(&self, i: usize) -> [i32; MAX_INTS] {
        self.slots.get(i).map_or([0; MAX_INTS], |s| s.vals.get())
    }

    /// Sets the values of sysctl `i` (a default that depends on the
    /// namespace, before anyone uses them); those past `vals`, or past
    /// what it holds, stay.
    pub(crate) fn set(&self, i: usize, vals: &[i32]) {
        if let Some(s) = self.slots.get(i) {
            s.vals.set(vals);
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
