// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/<name>` files of one namespace, shown in one go
//! (`proc_create_net_single`), like `/proc/net/tcp` for a protocol.
//!
//! C header: [`include/linux/proc_fs.h`], [`include/linux/seq_file_net.h`].

use crate::sys;
use core::marker::PhantomData;
use kernel::{prelude::*, seq_file::SeqFile};

use super::netns::Net;

/// What a `/proc/net` file shows.
pub(crate) trait ProcShow: 'static {
    /// The file name under `/proc/net`.
    const NAME: &'static CStr;

    /// Writes the whole file for `net`.
    fn show(net: &Net, m: &SeqFile);
}

/// A `/proc/net` file in one namespace; removed on drop.
///
/// # Invariants
///
/// The file `S::NAME` exists in `net`'s `/proc/net`, and `net` outlives
/// this value (it lives in the namespace's pernet state).
pub(crate) struct ProcFile<S: ProcShow> {
    net: *mut sys::net,
    _s: PhantomData<S>,
}

impl<S: ProcShow> ProcFile<S> {
    pub(crate) fn new(net: &Net) -> Result<Self> {
        // SAFETY: `net` is alive; the name is a static string and `show` a
        // function of this module, which removes the file before unloading.
        let pde = unsafe {
            sys::proc_create_net_single(
                S::NAME.as_char_ptr(),
                0o444,
                (*net.as_ptr()).proc_net,
                Some(Self::show),
                core::ptr::null_mut(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created just above.
        Ok(Self { net: net.as_ptr(), _s: PhantomData })
    }

    /// # Safety
    ///
    /// Called by the seq_file code for a file made by `new`.
    unsafe extern "C" fn show(seq: *mut sys::seq_file, _v: *mut kernel::ffi::c_void) -> kernel::ffi::c_int {
        // SAFETY: the file of a namespace's `/proc/net` holds a reference
        // on that namespace while it is open.
        let net = unsafe { Net::from_raw(sys::rtcp_helper_seq_file_single_net(seq)) };
        // SAFETY: `seq` is the live seq_file of this call.
        let m = unsafe { SeqFile::from_raw(seq.cast()) };
        S::show(net, m);
        0
    }
}

impl<S: ProcShow> Drop for ProcFile<S> {
    fn drop(&mut self) {
        // SAFETY: the file exists in `net`, which is alive (invariant).
        unsafe { sys::remove_proc_entry(S::NAME.as_char_ptr(), (*self.net).proc_net) }
    }
}

// SAFETY: the registration may be dropped on any CPU.
unsafe impl<S: ProcShow> Send for ProcFile<S> {}
// SAFETY: it has no methods taking `&self`.
unsafe impl<S: ProcShow> Sync for ProcFile<S> {}
