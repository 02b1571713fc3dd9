// SPDX-License-Identifier: GPL-2.0

//! A namespace's buffer memory, bounded as Linux bounds its TCP's
//! (`tcp_memory_allocated` against `tcp_mem`, `__sk_mem_raise_allocated`
//! in `net/core/sock.c`): the pages of every connection's buffers and the
//! truesize of the skbs kept for readers, counted against `net.rtcp.mem`
//! (least, pressure, most; in pages).
//!
//! - At or below the least, the namespace is not under memory pressure.
//! - Past the pressure mark it is (counted each time it enters, as
//!   `TCPMemoryPressures`), until it falls to the least again: buffers
//!   stop growing (`tcp_should_expand_sndbuf`, `tcp_rcv_space_adjust`).
//! - Past the most, a buffer takes no more memory unless it holds less
//!   than the least every buffer is sure of (`net.rtcp.rmem`/`wmem`'s
//!   first, as `sk_get_rmem0` and `tcp_wmem[0]` are to Linux's sockets):
//!   a segment that needs a page of the receive buffer is dropped
//!   (`TCPRcvQDrop`), a writer waits.
//!
//! Linux's bound is global; RTCP's is per namespace (its default Linux's
//! `tcp_mem`), so that one namespace's connections cannot take another's
//! memory, and a test can set it without touching the rest of the host.

use super::sysctl::Ints;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::{page::PAGE_SIZE, prelude::*, sync::Arc};

/// Linux's `net.ipv4.tcp_mem` (global; from the machine's memory,
/// `tcp_init_mem`), a namespace's `net.rtcp.mem` to begin with.
pub(crate) fn tcp_mem() -> [i32; 3] {
    // SAFETY: reads three integers of `tcp_prot`, which lives as long as
    // the kernel.
    core::array::from_fn(|i| i32::try_from(unsafe { crate::sys::rtcp_helper_tcp_mem(i as i32) }).unwrap_or(i32::MAX))
}

/// A namespace's buffer memory and its bounds.
pub(crate) struct Pool {
    /// The pages that buffers hold (a page counts from when a buffer
    /// takes it until the buffer lets it go; skbs may hold it a little
    /// longer).
    pages: AtomicUsize,
    /// The truesize of the skbs kept for readers, in bytes.
    kept: AtomicUsize,
    /// `net.rtcp.mem`, as its sysctl writes it.
    limits: Arc<Ints>,
    /// Under memory pressure (`tcp_memory_pressure`).
    pressure: AtomicBool,
    /// How often the namespace went under pressure
    /// (`TCPMemoryPressures`).
    pub(crate) pressures: AtomicUsize,
}

impl Pool {
    /// A pool bounded by `limits` (`net.rtcp.mem`).
    pub(crate) fn new(limits: Arc<Ints>) -> Result<Arc<Pool>> {
        Ok(Arc::new(
            Pool {
                pages: AtomicUsize::new(0),
                kept: AtomicUsize::new(0),
                limits,
                pressure: AtomicBool::new(false),
                pressures: AtomicUsize::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The pages the namespace's buffers and kept skbs hold
    /// (`sk_memory_allocated`).
    pub(crate) fn allocated(&self) -> usize {
        self.pages.load(Ordering::Relaxed).saturating_add(self.kept.load(Ordering::Relaxed).div_ceil(PAGE_SIZE))
    }

    /// `net.rtcp.mem`: the least, the pressure mark and the most, in
    /// pages.
    fn limits(&self) -> [usize; 3] {
        let [a, b, c] = self.limits.get();
        [a, b, c].map(|v| usize::try_from(v).unwrap_or(0))
    }

    /// Whether `pages` more may be taken (`__sk_mem_raise_allocated`),
    /// entering or leaving pressure as the total says: yes at or below the
    /// most, or for a buffer below its guaranteed least (`below_least`).
    fn admit(&self, pages: usize, below_least: bool) -> bool {
        let total = self.allocated().saturating_add(pages);
        let [least, mark, most] = self.limits();
        if total <= least {
            self.pressure.store(false, Ordering::Relaxed);
            return true;
        }
        if total > mark && !self.pressure.swap(true, Ordering::Relaxed) {
            self.pressures.fetch_add(1, Ordering::Relaxed);
        }
        total <= most || below_least
    }

    /// After memory went back: pressure ends at the least
    /// (`__sk_mem_reduce_allocated`).
    fn reduced(&self) {
        if self.pressure.load(Ordering::Relaxed) && self.allocated() < self.limits()[0] {
            self.pressure.store(false, Ordering::Relaxed);
        }
    }

    /// Takes `n` pages for a buffer, if [`Pool::admit`] says so.
    pub(crate) fn charge_pages(&self, n: usize, below_least: bool) -> bool {
        if !self.admit(n, below_least) {
            return false;
        }
        self.pages.fetch_add(n, Ordering::Relaxed);
        true
    }

    /// A buffer let `n` pages go.
    pub(crate) fn uncharge_pages(&self, n: usize) {
        self.pages.fetch_sub(n, Ordering::Relaxed);
        self.reduced();
    }

    /// Whether an skb of `truesize` bytes may be kept for a reader
    /// ([`Pool::admit`]).
    pub(crate) fn admits_kept(&self, truesize: usize, below_least: bool) -> bool {
        self.admit(truesize.div_ceil(PAGE_SIZE), below_least)
    }

    /// An skb of `truesize` bytes is kept for a reader (after
    /// [`Pool::admits_kept`]).
    pub(crate) fn charge_kept(&self, truesize: usize) {
        self.kept.fetch_add(truesize, Ordering::Relaxed);
    }

    /// Kept skbs of `truesize` bytes went.
    pub(crate) fn uncharge_kept(&self, truesize: usize) {
        self.kept.fetch_sub(truesize, Ordering::Relaxed);
        self.reduced();
    }

    /// Whether the namespace is under memory pressure: buffers do not
    /// grow.
    pub(crate) fn under_pressure(&self) -> bool {
        self.pressure.load(Ordering::Relaxed)
    }

    /// The bytes a writer may take pages for now without taking the
    /// namespace past its most (`sk_wmem_schedule`).
    pub(crate) fn send_room(&self) -> usize {
        self.limits()[2].saturating_sub(self.allocated()).saturating_mul(PAGE_SIZE)
    }
}
