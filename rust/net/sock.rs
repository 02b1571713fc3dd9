// SPDX-License-Identifier: GPL-2.0

//! `struct socket` and `struct sock`, and what a protocol keeps in a sock
//! ([`Proto`]).
//!
//! C headers: [`include/linux/net.h`], [`include/net/sock.h`].
//!
//! A sock of a [`Proto`] is a `struct sock` followed by the protocol's own
//! state, `P::Private` ([`SockWith`]); [`Sock<P>`] and [`Socket<P>`] are the
//! typed handles, which only the adapters that allocated them hand out.

use crate::sys;
use core::{cell::UnsafeCell, marker::PhantomData, ops::Deref, ops::DerefMut};
use kernel::{
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

use super::netns::Net;

/// What the `struct proto` of a transport says about it, and the state its
/// socks carry after the `struct sock`.
pub(crate) trait Proto: Sized + 'static {
    /// The name, as in `/proc/net/protocols` and the slab cache (at most 31
    /// bytes; longer names are cut).
    const NAME: &'static [u8];
    /// State only socket calls touch, under the socket lock
    /// ([`Sock::lock`]).
    type Owned: Default + Send;
    /// State shared with softirq context (receive, timers), which brings
    /// its own locking.
    type Shared: Send + Sync;

    /// Initialises the shared state of a new sock.
    fn shared() -> impl PinInit<Self::Shared, Error>;

    /// `SO_KEEPALIVE` was set on (`on`) or off (`proto.keepalive`; the
    /// socket lock is held).
    fn keepalive(sk: &Sock<Self>, on: bool);

    /// What the IP headers of the sock's segments carry (`inet->tos`,
    /// `inet->uc_ttl`, `np->tclass`, `np->hop_limit`).
    fn ip_header(sk: &Sock<Self>) -> super::route::IpHeader;
}

/// The memory layout of one sock of protocol `P`.
#[repr(C)]
pub(crate) struct SockWith<P: Proto> {
    pub(super) sk: sys::sock,
    pub(super) owned: UnsafeCell<P::Owned>,
    pub(super) shared: P::Shared,
}

/// A BSD socket of a family whose socks are of protocol `P` (or have
/// none: `P = ()` while `create` runs).
///
/// # Invariants
///
/// The wrapped `struct socket` is alive for as long as the reference is;
/// `sock->sk`, when set, was allocated by [`Sock::alloc`] for `P`.
#[repr(transparent)]
pub(crate) struct Socket<P = ()>(Opaque<sys::socket>, PhantomData<P>);

impl<P> Socket<P> {
    /// # Safety
    ///
    /// `ptr` points to a `struct socket` that stays alive for `'a`, whose
    /// sock (if any) was allocated by [`Sock::alloc`] for `P`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::socket) -> &'a Socket<P> {
        // SAFETY: `Socket` is transparent over `struct socket`; the caller
        // guarantees the lifetime and the type of the sock.
        unsafe { &*ptr.cast() }
    }

    /// Gives the socket's `SOL_SOCKET` options to the family's
    /// `setsockopt` (`SOCK_CUSTOM_SOCKOPT`, as AF_UNIX and MPTCP set it),
    /// which hands the ones it does not answer itself to the core
    /// ([`super::SocketOps::custom_sol_socket`]).
    pub(super) fn set_custom_sockopt(&self) {
        // SAFETY: the socket is alive (type invariant); `set_bit` is
        // atomic.
        unsafe { sys::rtcp_helper_sock_set_custom_sockopt(self.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::socket {
        self.0.get()
    }

    /// `SOCK_STREAM`, `SOCK_DGRAM`, ... (flags already stripped).
    pub(crate) fn type_(&self) -> i16 {
        // SAFETY: by the type invariant the socket is alive; `type` is set
        // before `create` and never changes.
        unsafe { (*self.as_ptr()).type_ }
    }
}

impl<P: Proto> Socket<P> {
    /// The BSD socket state (`SS_UNCONNECTED`, `SS_CONNECTING`, ...).
    pub(crate) fn state(&self) -> u32 {
        // SAFETY: by the type invariant the socket is alive; the socket
        // calls that write it hold the socket lock, as the callers do.
        unsafe { (*self.as_ptr()).state }
    }

    /// Sets the BSD socket state.
    pub(crate) fn set_state(&self, state: u32) {
        // SAFETY: as for `state`.
        unsafe { (*self.as_ptr()).state = state }
    }

    /// The sock attached to the socket, if any.
    pub(crate) fn sk(&self) -> Option<&Sock<P>> {
        // SAFETY: by the type invariant the socket is alive.
        let sk = unsafe { (*self.as_ptr()).sk };
        // SAFETY: `sock->sk` is a sock of `P` (type invariant), valid while
        // the socket holds it: until `release`, which takes it with
        // `take_sk`.
        (!sk.is_null()).then(|| unsafe { Sock::from_raw(sk) })
    }

    /// Attaches an accepted sock to this new socket (`sock_graft`), which
    /// takes over the reference, and marks the socket connected.
    pub(crate) fn graft(&self, sk: ARef<Sock<P>>) {
        let sk = ARef::into_raw(sk);
        // SAFETY: `self` is the new socket of an `accept()` (alive, no sock
        // yet, ops already those of the family); the reference is handed
        // to it, to be taken back by `take_sk` in `release`.
        unsafe {
            sys::rtcp_helper_sock_graft(sk.as_ptr().cast(), self.as_ptr());
            (*self.as_ptr()).state = sys::socket_state_SS_CONNECTED;
        }
        // `do_accept` gives the new socket the listener's ops, not its
        // flags (MPTCP and AF_UNIX set this on theirs too).
        self.set_custom_sockopt();
    }

    /// Detaches the sock from the socket and returns the socket's reference
    /// to it.
    pub(crate) fn take_sk(&self) -> Option<ARef<Sock<P>>> {
        let p = self.as_ptr();
        // SAFETY: by the type invariant the socket is alive; `release`, the
        // only caller, has exclusive use of it.
        let sk = unsafe { core::ptr::replace(&raw mut (*p).sk, core::ptr::null_mut()) };
        let sk = core::ptr::NonNull::new(sk)?;
        // SAFETY: the socket owned one reference on `sk` (taken in
        // `Sock::alloc`); it is handed over to the `ARef`.
        Some(unsafe { ARef::from_raw(sk.cast()) })
    }
}

/// A sock of protocol `P`: `struct sock` with `P`'s state after it.
///
/// # Invariants
///
/// The wrapped memory is a live sock allocated by [`Sock::alloc`] for `P`,
/// whose private state is initialised, for as long as the reference is.
#[repr(transparent)]
pub(crate) struct Sock<P: Proto>(Opaque<SockWith<P>>);

/// What decides whether a socket may share a port (`inet_bind_conflict`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BindOptions {
    /// `SO_REUSEADDR` (`sk_reuse`).
    pub(crate) reuse: u8,
    /// `SO_REUSEPORT` (`sk_reuseport`).
    pub(crate) reuseport: u8,
    /// `SO_BINDTODEVICE` (`sk_bound_dev_if`; 0: none).
    pub(crate) dev: i32,
    /// `IPV6_V6ONLY` (`sk_ipv6only`).
    pub(crate) v6only: bool,
}

impl<P: Proto> Sock<P> {
    /// # Safety
    ///
    /// `ptr` points to a sock allocated by [`Sock::alloc`] for `P` that
    /// stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut sys::sock) -> &'a Sock<P> {
        // SAFETY: `Sock<P>` is transparent over `SockWith<P>`, which starts
        // with the `struct sock`; the caller guarantees the rest.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::sock {
        self.0.get().cast()
    }

    /// `SO_RCVTIMEO` as a timeout in jiffies (0 when non-blocking).
    pub(crate) fn recv_timeout(&self, nonblock: bool) -> isize {
        if nonblock {
            return 0;
        }
        // SAFETY: the sock is alive; `sk_rcvtimeo` is a long.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_rcvtimeo) }
    }

    /// Drops `P`'s state; called from the sock's destructor only.
    ///
    /// # Safety
    ///
    /// The last reference to the sock is gone and the state is not used
    /// again.
    pub(crate) unsafe fn drop_private(&self) {
        let with = self.0.get();
        // SAFETY: the caller guarantees nobody uses the state any more; it
        // was initialised by `alloc`.
        unsafe {
            core::ptr::drop_in_place((*with).owned.get());
            core::ptr::drop_in_place(&raw mut (*with).shared);
        }
    }

    /// The state shared with softirq context.
    pub(crate) fn shared(&self) -> &P::Shared {
        // SAFETY: initialised by `alloc` (type invariant); `P::Shared` is
        // `Sync` and brings its own locking.
        unsafe { &(*self.0.get()).shared }
    }

    /// The inode number of the socket (0 once it is closed), as
    /// `/proc/net/tcp` shows it.
    pub(crate) fn inode(&self) -> u64 {
        // SAFETY: the sock is alive; `sock_i_ino` reads under its lock.
        unsafe { sys::rtcp_helper_sock_i_ino(self.as_ptr()) }
    }

    /// The owner's uid (`sk_uid`) as the initial user namespace sees it.
    pub(crate) fn uid(&self) -> u32 {
        // SAFETY: the sock is alive; set at creation.
        unsafe { (*self.as_ptr()).sk_uid.val }
    }

    /// Sets `sk_state` (what `poll`, `/proc` and `SO_*` read).
    pub(crate) fn set_state(&self, state: u8) {
        // SAFETY: the sock is alive; a byte store, as
        // `inet_sk_state_store` without its tracepoint.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_ptr()).__sk_common.skc_state, state) }
    }

    /// Records a pending error (`sk_err`, what `SO_ERROR` returns) and
    /// wakes the socket's waiters with it (`sk_error_report`).
    pub(crate) fn report_error(&self, errno: i32) {
        // SAFETY: the sock is alive; `sk_err` is an int read with
        // `READ_ONCE`/`xchg` by the socket layer.
        unsafe {
            core::ptr::write_volatile(&raw mut (*self.as_ptr()).sk_err, errno);
            sys::sk_error_report(self.as_ptr());
        }
    }

    /// Records a soft error (`sk_err_soft`): `SO_ERROR` returns it when no
    /// error is pending.
    pub(crate) fn set_soft_error(&self, errno: i32) {
        // SAFETY: the sock is alive; `sk_err_soft` is an int read with
        // `READ_ONCE`/`xchg` by the socket layer.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_ptr()).sk_err_soft, errno) }
    }

    /// Is an error pending (`sk_err`)?
    pub(crate) fn has_error(&self) -> bool {
        // SAFETY: the sock is alive; a racy read, as `READ_ONCE(sk->sk_err)`.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_err) != 0 }
    }

    /// Takes the pending error (`sock_error`): a positive errno or 0.
    pub(crate) fn take_error(&self) -> i32 {
        let p = self.as_ptr();
        // SAFETY: the sock is alive; an atomic exchange on `sk_err`, as
        // `sock_error` does.
        unsafe {
            let err = &*(&raw mut (*p).sk_err).cast::<core::sync::atomic::AtomicI32>();
            err.swap(0, core::sync::atomic::Ordering::Relaxed)
        }
    }

    /// Wakes everything waiting on the socket for a state change.
    pub(crate) fn state_change(&self) {
        // SAFETY: the sock is alive; `sk_state_change` is set by
        // `sock_init_data` (sock_def_wakeup).
        unsafe { sys::rtcp_helper_sk_state_change(self.as_ptr()) }
    }

    /// Wakes readers (`sk_data_ready`).
    pub(crate) fn data_ready(&self) {
        // SAFETY: the sock is alive; `sk_data_ready` is set by
        // `sock_init_data`.
        unsafe { sys::rtcp_helper_sk_data_ready(self.as_ptr()) }
    }

    /// Wakes writers (`sk_write_space`).
    pub(crate) fn write_space(&self) {
        // SAFETY: the sock is alive; `sk_write_space` is set by
        // `sock_init_data`.
        unsafe { sys::rtcp_helper_sk_write_space(self.as_ptr()) }
    }

    /// A writer found no room (`SOCK_NOSPACE`, as `sk_stream_wait_memory`
    /// and `tcp_poll` set it): the next ACK that frees room wakes writers
    /// ([`Sock::new_space`]). Call before the last look at the room; the
    /// socket must be alive (process context, a call on it).
    pub(crate) fn set_nospace(&self) {
        // SAFETY: the sock is alive and has its socket (a call on it).
        unsafe { sys::rtcp_helper_sk_set_nospace(self.as_ptr()) }
    }

    /// An ACK freed room (`tcp_check_space`): writers wake if one found
    /// none since the last time ([`Sock::set_nospace`]), not at every ACK.
    pub(crate) fn new_space(&self) {
        // SAFETY: the sock is alive; the helper reads its socket under RCU.
        unsafe { sys::rtcp_helper_sk_new_space(self.as_ptr()) }
    }

    /// `sk_stream_error`: the error a stream write reports, `EPIPE` with
    /// `SIGPIPE` unless `MSG_NOSIGNAL` (the pending error, if any, first).
    pub(crate) fn stream_error(&self, flags: i32, err: Error) -> Error {
        // SAFETY: the sock is alive; process context (a socket call).
        let e = unsafe { sys::sk_stream_error(self.as_ptr(), flags, err.to_errno()) };
        Error::from_errno(e)
    }

    /// `SO_RCVBUF` and `SO_SNDBUF` as set (`sk_rcvbuf`, `sk_sndbuf`).
    pub(crate) fn buf_sizes(&self) -> (u32, u32) {
        // SAFETY: the sock is alive; plain ints that setsockopt writes.
        unsafe {
            let sk = self.as_ptr();
            let r = core::ptr::read_volatile(&raw const (*sk).sk_rcvbuf);
            let s = core::ptr::read_volatile(&raw const (*sk).sk_sndbuf);
            (u32::try_from(r).unwrap_or(0), u32::try_from(s).unwrap_or(0))
        }
    }

    /// `SO_LINGER` with a zero timeout (`SOCK_LINGER` and `sk_lingertime`
    /// 0): close aborts.
    pub(crate) fn linger_zero(&self) -> bool {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word.
        unsafe {
            let sk = self.as_ptr();
            sys::rtcp_helper_sock_flag_linger(sk) && core::ptr::read_volatile(&raw const (*sk).sk_lingertime) == 0
        }
    }

    /// `SO_LINGER` with a timeout (`SOCK_LINGER`, `sk_lingertime` > 0): the
    /// timeout in jiffies.
    pub(crate) fn linger_timeout(&self) -> Option<isize> {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word,
        // `sk_lingertime` is a plain value setsockopt writes.
        let (on, time) = unsafe {
            let sk = self.as_ptr();
            (sys::rtcp_helper_sock_flag_linger(sk), core::ptr::read_volatile(&raw const (*sk).sk_lingertime))
        };
        (on && time > 0).then(|| isize::try_from(time).unwrap_or(isize::MAX))
    }

    /// `SO_RCVBUF` and `SO_SNDBUF` as the user set them (halved: the
    /// kernel doubles what it is given, for its overhead), `None` for one
    /// left to the protocol (`SOCK_RCVBUF_LOCK`, `SOCK_SNDBUF_LOCK`).
    pub(crate) fn user_buf_sizes(&self) -> (Option<u32>, Option<u32>) {
        let (r, s) = self.buf_sizes();
        // SAFETY: the sock is alive; a byte that setsockopt writes.
        let locks = u32::from(unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_userlocks) });
        (
            (locks & sys::RTCP_SOCK_RCVBUF_LOCK != 0).then_some(r / 2),
            (locks & sys::RTCP_SOCK_SNDBUF_LOCK != 0).then_some(s / 2),
        )
    }

    /// A child takes its listener's socket options, as `sk_clone_lock`'s
    /// copy of the whole sock gives them: buffer sizes and who set them,
    /// `SO_KEEPALIVE`, `SO_LINGER`, the timeouts, `SO_RCVLOWAT`,
    /// `SO_MARK` and the bound device (not `SO_PRIORITY`, which Linux's
    /// TCP children start without). Called before the child is visible to
    /// anyone.
    pub(crate) fn inherit(&self, parent: &Sock<P>) {
        // A racing setsockopt on the listener gives the old or the new
        // value, as in `sk_clone_lock`.
        // SAFETY: both socks are alive, the child not yet shared; the
        // fields copied are plain values.
        unsafe {
            let (sk, from) = (self.as_ptr(), parent.as_ptr());
            macro_rules! copy {
                ($($f:ident).+) => {
                    core::ptr::write(&raw mut (*sk).$($f).+, core::ptr::read_volatile(&raw const (*from).$($f).+))
                };
            }
            copy!(sk_userlocks);
            copy!(sk_rcvbuf);
            copy!(sk_sndbuf);
            copy!(sk_lingertime);
            copy!(sk_rcvtimeo);
            copy!(sk_sndtimeo);
            copy!(sk_rcvlowat);
            copy!(sk_mark);
            copy!(__sk_common.skc_bound_dev_if);
            for f in [sys::RTCP_SOCK_KEEPOPEN, sys::RTCP_SOCK_LINGER, sys::RTCP_SOCK_ZEROCOPY] {
                sys::rtcp_helper_sock_copy_flag(sk, from, f);
            }
            // SO_REUSEPORT and IPV6_V6ONLY (bit fields).
            sys::rtcp_helper_sk_set_reuseport(sk, (*from).__sk_common.skc_reuseport() != 0);
            (*sk).__sk_common.set_skc_ipv6only((*from).__sk_common.skc_ipv6only());
        }
    }

    /// `SO_OOBINLINE` is on (`SOCK_URGINLINE`, which the core's
    /// `sk_setsockopt` sets).
    pub(crate) fn oob_inline(&self) -> bool {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word.
        unsafe { sys::rtcp_helper_sock_flag(self.as_ptr(), sys::RTCP_SOCK_URGINLINE) }
    }

    /// `sk_send_sigurg`: `SIGURG` to the socket's owner (`F_SETOWN`) and
    /// `POLL_PRI` to `FASYNC` waiters; nothing once the socket is gone.
    pub(crate) fn send_sigurg(&self) {
        // SAFETY: the sock is alive; the helper reads `sk_socket` under the
        // callback lock, which `sock_orphan` takes to clear it.
        unsafe { sys::rtcp_helper_sk_send_sigurg(self.as_ptr()) }
    }

    /// `SO_ZEROCOPY` is on (`SOCK_ZEROCOPY`).
    pub(crate) fn zerocopy(&self) -> bool {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word.
        unsafe { sys::rtcp_helper_sock_flag(self.as_ptr(), sys::RTCP_SOCK_ZEROCOPY) }
    }

    /// Sets `SO_ZEROCOPY` (`sock_valbool_flag`, under the socket lock as
    /// `sk_setsockopt` sets it).
    pub(crate) fn set_zerocopy(&self, owned: &SockGuard<'_, P>, on: bool) {
        let _ = owned;
        // SAFETY: the sock is alive; the flag word is written with atomic
        // bit operations.
        unsafe { sys::rtcp_helper_sock_valbool_flag(self.as_ptr(), sys::RTCP_SOCK_ZEROCOPY, on) }
    }

    /// `SO_REUSEPORT` (`sk_reuseport`), set under the socket lock as
    /// `sk_setsockopt` sets it.
    pub(crate) fn set_reuseport(&self, owned: &SockGuard<'_, P>, on: bool) {
        let _ = owned;
        // SAFETY: the sock is alive; the bit is written under the socket
        // lock, which `owned` holds, as the core writes it.
        unsafe { sys::rtcp_helper_sk_set_reuseport(self.as_ptr(), on) }
    }

    /// `IP_TOS` changed to `tos`: the sock's priority follows
    /// (`rt_tos2priority`), as `__ip_sock_set_tos` sets it.
    pub(crate) fn set_tos_priority(&self, tos: u8) {
        // SAFETY: the sock is alive; `sk_priority` is written with
        // `WRITE_ONCE`.
        unsafe { sys::rtcp_helper_set_tos_priority(self.as_ptr(), tos) }
    }

    /// Something waits on the error queue (`sk_error_queue`), for
    /// `recvmsg(MSG_ERRQUEUE)`.
    pub(crate) fn error_queued(&self) -> bool {
        // SAFETY: the sock is alive; a lockless peek, as `tcp_poll`'s.
        unsafe { !sys::rtcp_helper_error_queue_empty(self.as_ptr()) }
    }

    /// Frees what is left on the error queue, as `inet_sock_destruct` does
    /// (`__sk_destruct` does not). For the sock's destructor.
    pub(super) fn purge_error_queue(&self) {
        // SAFETY: the sock is alive and its last reference gone: nothing
        // queues on it any more.
        unsafe { sys::rtcp_helper_error_queue_purge(self.as_ptr()) }
    }

    /// `SO_KEEPALIVE` is on (`SOCK_KEEPOPEN`).
    pub(crate) fn keepopen(&self) -> bool {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word.
        unsafe { sys::rtcp_helper_sock_flag_keepopen(self.as_ptr()) }
    }

    /// Arms the sock's timer `ms` milliseconds from now; it holds a
    /// reference on the sock while it is pending. As `sk_reset_timer`, but
    /// the reference is taken before the timer is armed, so that a
    /// concurrent [`Sock::stop_timer`] (RTCP calls both outside any lock
    /// they share) never drops one not yet taken.
    pub(crate) fn reset_timer(&self, ms: u64) {
        // SAFETY: the sock is alive; its timer was set up by `alloc`.
        unsafe { sys::rtcp_helper_sk_reset_timer(self.as_ptr(), expires_in(ms)) }
    }

    /// Makes the sock's timer fire `ms` milliseconds from now at the
    /// latest (`timer_reduce`): a pending timer due sooner is left as it
    /// is, and one not pending is armed. It holds a reference on the sock
    /// while pending, taken before it is armed, as [`Sock::reset_timer`].
    pub(crate) fn reduce_timer(&self, ms: u64) {
        // SAFETY: the sock is alive; its timer was set up by `alloc`.
        unsafe { sys::rtcp_helper_sk_reduce_timer(self.as_ptr(), expires_in(ms)) }
    }

    /// Disarms the timer (and drops its reference, if it was pending).
    pub(crate) fn stop_timer(&self) {
        // SAFETY: the sock is alive; its timer was set up by `alloc`.
        unsafe { sys::sk_stop_timer(self.as_ptr(), &raw mut (*self.as_ptr()).__bindgen_anon_3.sk_timer) }
    }

    /// Disarms the timer and waits for a run of it in progress to finish
    /// (`sk_stop_timer_sync`). Process context; the caller holds no lock
    /// the timer takes.
    pub(crate) fn stop_timer_sync(&self) {
        // SAFETY: the sock is alive; its timer was set up by `alloc`.
        unsafe { sys::rtcp_helper_sk_stop_timer_sync(self.as_ptr()) }
    }

    /// `SO_SNDTIMEO` as a timeout in jiffies (0 when non-blocking).
    pub(crate) fn send_timeout(&self, nonblock: bool) -> isize {
        if nonblock {
            return 0;
        }
        // SAFETY: the sock is alive; `sk_sndtimeo` is a long.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_sndtimeo) }
    }

    /// Sleeps until `done()` holds, as `sk_wait_event` with `wait_woken`:
    /// `Ok(true)` when it holds, `Ok(false)` when `timeo` (jiffies) ran
    /// out, `Err` when a signal came (`ERESTARTSYS` for an infinite wait,
    /// `EINTR` otherwise, as `sock_intr_errno`). Call without the socket
    /// lock; wake-ups come from [`Sock::state_change`] and errors.
    pub(crate) fn wait_until(&self, timeo: &mut isize, mut done: impl FnMut() -> bool) -> Result<bool> {
        let mut entry = core::mem::MaybeUninit::<sys::wait_queue_entry>::uninit();
        let entry = entry.as_mut_ptr();
        // SAFETY: `entry` lives on this stack until `remove_wait_queue`
        // below; the wait queue is the sock's, alive with the sock.
        let wq = unsafe {
            sys::rtcp_helper_init_wait_woken(entry);
            let wq = sys::rtcp_helper_sk_sleep(self.as_ptr());
            sys::add_wait_queue(wq, entry);
            wq
        };
        let res = loop {
            if done() {
                break Ok(true);
            }
            if *timeo == 0 {
                break Ok(false);
            }
            // SAFETY: plain query of the current task.
            if unsafe { sys::rtcp_helper_signal_pending() } {
                break Err(if *timeo == sys::RTCP_MAX_SCHEDULE_TIMEOUT { ERESTARTSYS } else { EINTR });
            }
            // SAFETY: `entry` is queued on `wq` for the current task.
            *timeo = unsafe { sys::wait_woken(entry, sys::RTCP_TASK_INTERRUPTIBLE, *timeo) };
        };
        // SAFETY: queued above.
        unsafe { sys::remove_wait_queue(wq, entry) };
        res
    }

    /// The namespace the sock lives in.
    pub(crate) fn net(&self) -> &Net {
        // A user sock holds a reference on its namespace; a kernel sock, or
        // one that let go with `release_net`, is torn down by the
        // namespace's exit, and its passive reference keeps `struct net`.
        // SAFETY: `sk_net`, set by `sk_alloc`, lives as long as the sock.
        unsafe { Net::from_raw((*self.as_ptr()).__sk_common.skc_net.net) }
    }

    /// The TCP state (`TCP_CLOSE`, ...), as `sk_state`.
    pub(crate) fn state(&self) -> u8 {
        // SAFETY: the sock is alive; `skc_state` is a plain byte that may be
        // read racily, as `READ_ONCE(sk->sk_state)` does in C.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).__sk_common.skc_state) }
    }

    /// Which directions are shut down (`RCV_SHUTDOWN`, `SEND_SHUTDOWN`).
    pub(crate) fn shutdown(&self) -> u8 {
        // SAFETY: as for `state`.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).sk_shutdown) }
    }

    /// Sets `sk_shutdown` (`RCV_SHUTDOWN`, `SEND_SHUTDOWN` bits).
    pub(crate) fn set_shutdown(&self, bits: u8) {
        // SAFETY: the sock is alive; writers are serialised by the socket
        // lock or run where the connection's end makes them the only one;
        // readers use `READ_ONCE`.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_ptr()).sk_shutdown, bits) }
    }

    /// Sets the protocol number (`SO_PROTOCOL` reads it).
    pub(crate) fn set_protocol(&self, protocol: u16) {
        // SAFETY: the sock is alive; called from `create`, before the
        // socket is visible to anyone else.
        unsafe { (*self.as_ptr()).sk_protocol = protocol }
    }

    /// The buffer sizes `SO_RCVBUF` and `SO_SNDBUF` read before the user
    /// sets them (`tcp_init_sock`: `tcp_rmem[1]`, `tcp_wmem[1]`).
    pub(crate) fn set_initial_buf_sizes(&self, rcv: usize, snd: usize) {
        let int = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        // SAFETY: the sock is alive; called from `create`, before the
        // socket is visible to anyone else.
        unsafe {
            (*self.as_ptr()).sk_rcvbuf = int(rcv);
            (*self.as_ptr()).sk_sndbuf = int(snd);
        }
    }

    /// `SO_REUSEADDR`, `SO_REUSEPORT`, `SO_BINDTODEVICE` and
    /// `IPV6_V6ONLY` as set on the socket.
    pub(crate) fn bind_options(&self) -> BindOptions {
        // SAFETY: the sock is alive; the fields are plain values that
        // setsockopt writes under the sock lock, which the caller holds.
        let c = unsafe { &(*self.as_ptr()).__sk_common };
        BindOptions { reuse: c.skc_reuse(), reuseport: c.skc_reuseport(), dev: c.skc_bound_dev_if, v6only: c.skc_ipv6only() != 0 }
    }

    /// Binds a child sock, not yet visible to anyone, to the interface
    /// `ifindex` (`tcp_v6_syn_recv_sock`: `sk_bound_dev_if = ir_iif`).
    pub(crate) fn bind_child_to(&self, ifindex: i32) {
        // SAFETY: the sock is alive and nobody else can see it yet.
        unsafe { (*self.as_ptr()).__sk_common.skc_bound_dev_if = ifindex }
    }

    /// Binds the sock to the interface `ifindex` (`sk_bound_dev_if`), as
    /// an IPv6 connect to a link-local address with a scope does. Under
    /// the sock's lock.
    pub(crate) fn bind_to_index(&self, ifindex: i32) -> Result {
        // SAFETY: the sock is alive and its lock held (so `lock_sk` is
        // false).
        kernel::error::to_result(unsafe { sys::sock_bindtoindex(self.as_ptr(), ifindex, false) })
    }

    /// Sets `IPV6_V6ONLY` (`sk_ipv6only`). Under the sock's lock.
    pub(crate) fn set_v6only(&self, on: bool) {
        // SAFETY: the sock is alive; the caller holds its lock, which
        // serialises the bitfield's writers.
        unsafe { (*self.as_ptr()).__sk_common.set_skc_ipv6only(u8::from(on)) }
    }

    /// Marks the sock dead and detaches it from its socket and wait queue
    /// (`sock_orphan`).
    pub(crate) fn orphan(&self) {
        // SAFETY: the sock is alive; `sock_orphan` takes its callback lock.
        unsafe { sys::rtcp_helper_sock_orphan(self.as_ptr()) }
    }

    /// Whether [`Sock::orphan`] has run (`SOCK_DEAD`).
    pub(crate) fn dead(&self) -> bool {
        // SAFETY: the sock is alive; `sock_flag` reads its flag word.
        unsafe { sys::rtcp_helper_sock_flag_dead(self.as_ptr()) }
    }

    /// Lets the namespace go before the sock does: the sock's reference on
    /// it becomes a passive one, as a kernel socket's, which keeps the
    /// `struct net` but not the namespace alive. For an orphan that only
    /// waits for its end (Linux's `inet_timewait_sock` holds no reference
    /// either). The protocol's pernet exit must then end every such sock
    /// and wait for its destructor before the namespace's state goes,
    /// since [`Sock::net`] is still this namespace. Idempotent; the caller
    /// serialises calls for one sock.
    pub(crate) fn release_net(&self) {
        // SAFETY: the sock is alive and its namespace too (this sock's
        // reference, if it still has it, keeps it; else it is a no-op).
        unsafe { sys::rtcp_helper_sk_net_refcnt_downgrade(self.as_ptr()) }
    }

    /// Takes the socket lock (`lock_sock`) for the private state; released
    /// when the guard drops (`release_sock`). May sleep.
    pub(crate) fn lock(&self) -> SockGuard<'_, P> {
        // SAFETY: the sock is alive; process context (the callers are
        // socket calls).
        unsafe { sys::rtcp_helper_lock_sock(self.as_ptr()) };
        // INVARIANT: the lock is held until the guard drops.
        SockGuard { sk: self }
    }
}

/// The socket lock of a sock, held: access to its private state.
///
/// # Invariants
///
/// `lock_sock` was called on `sk` and `release_sock` was not yet.
pub(crate) struct SockGuard<'a, P: Proto> {
    sk: &'a Sock<P>,
}

impl<'a, P: Proto> SockGuard<'a, P> {
    /// The sock whose lock is held.
    pub(crate) fn sk(&self) -> &'a Sock<P> {
        self.sk
    }
}

impl<P: Proto> Deref for SockGuard<'_, P> {
    type Target = P::Owned;

    fn deref(&self) -> &P::Owned {
        // SAFETY: the owned state is initialised (`Sock` invariant) and
        // only reached through a guard, of which one exists at a time
        // (the socket lock, type invariant).
        unsafe { &*(*self.sk.0.get()).owned.get() }
    }
}

impl<P: Proto> DerefMut for SockGuard<'_, P> {
    fn deref_mut(&mut self) -> &mut P::Owned {
        // SAFETY: as for `deref`; `&mut self` makes the access unique.
        unsafe { &mut *(*self.sk.0.get()).owned.get() }
    }
}

impl<P: Proto> Drop for SockGuard<'_, P> {
    fn drop(&mut self) {
        // SAFETY: the lock is held (type invariant).
        unsafe { sys::release_sock(self.sk.as_ptr()) }
    }
}

// SAFETY: `sock_hold`/`sock_put` manage the reference count of a `struct
// sock`; the last `sock_put` frees it through `sk_free`.
unsafe impl<P: Proto> AlwaysRefCounted for Sock<P> {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means a reference is held.
        unsafe { sys::rtcp_helper_sock_hold(self.as_ptr()) }
    }

    unsafe fn dec_ref(obj: core::ptr::NonNull<Self>) {
        // SAFETY: the caller gives up one reference it owns.
        unsafe { sys::rtcp_helper_sock_put(obj.as_ptr().cast()) }
    }
}

// SAFETY: a `struct sock` is used from any CPU under its own locking; the
// owned state is `Send` and reached only under the socket lock, the shared
// state is `Sync`.
unsafe impl<P: Proto> Send for Sock<P> {}
// SAFETY: as above.
unsafe impl<P: Proto> Sync for Sock<P> {}

/// The jiffies `ms` milliseconds from now (rounded up: a timer armed for
/// them fires no sooner).
fn expires_in(ms: u64) -> usize {
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    // SAFETY: reads the jiffies counter.
    unsafe { sys::rtcp_helper_jiffies() }.wrapping_add(kernel::time::msecs_to_jiffies(ms))
}
