// SPDX-License-Identifier: GPL-2.0

//! IPv4 socket addresses, local-address checks, and port reservations in
//! the namespace's shared TCP port space.
//!
//! C headers: [`include/uapi/linux/in.h`], [`include/net/route.h`],
//! [`include/linux/net.h`] (`sock_create_kern`, `kernel_bind`),
//! [`include/linux/workqueue.h`].

use crate::sys;
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::Arc,
    workqueue::{Queue, Work, WorkItem},
};

use super::netns::Net;

/// `AF_INET`, `AF_UNSPEC`, `SOCK_STREAM`, `IPPROTO_TCP`.
pub(crate) const AF_INET: u16 = sys::AF_INET as u16;
const AF_UNSPEC: u16 = sys::AF_UNSPEC as u16;

/// The initial sequence number and timestamp offset of a four-tuple (in
/// host order): the kernel's keyed hash (RFC 6528), the one Linux's TCP
/// takes them from (`secure_tcp_seq_and_ts_off`,
/// [`include/net/secure_seq.h`]).
pub(crate) fn seq_and_ts_off(net: &Net, saddr: u32, daddr: u32, sport: u16, dport: u16) -> (u32, u32) {
    // SAFETY: `net` is alive; the hash only reads its arguments.
    let hash = unsafe {
        sys::secure_tcp_seq_and_ts_off(net.as_ptr(), saddr.to_be(), daddr.to_be(), sport.to_be(), dport.to_be())
    };
    // SAFETY: both members of the union are plain integers.
    unsafe { (hash.__bindgen_anon_1.seq, hash.__bindgen_anon_1.ts_off) }
}

/// An IPv4 socket address (`struct sockaddr_in`), in host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SockAddrIn {
    pub(crate) addr: u32,
    pub(crate) port: u16,
}

/// The size of `struct sockaddr_in`.
pub(crate) const SOCKADDR_IN_LEN: usize = 16;

impl SockAddrIn {
    /// Reads the address `bind()` or `connect()` was given, with
    /// `__inet_bind`'s checks: `EINVAL` if shorter than a `sockaddr_in`,
    /// `EAFNOSUPPORT` for a family other than `AF_INET` (but `AF_UNSPEC`
    /// with `INADDR_ANY`, accepted for compatibility).
    pub(crate) fn from_bind(raw: &[u8]) -> Result<SockAddrIn> {
        let Some(&[f0, f1, p0, p1, a0, a1, a2, a3]) = raw.get(..8) else {
            return Err(EINVAL);
        };
        if raw.len() < SOCKADDR_IN_LEN {
            return Err(EINVAL);
        }
        let family = u16::from_ne_bytes([f0, f1]);
        let a = SockAddrIn {
            addr: u32::from_be_bytes([a0, a1, a2, a3]),
            port: u16::from_be_bytes([p0, p1]),
        };
        if family != AF_INET && (family != AF_UNSPEC || a.addr != 0) {
            return Err(EAFNOSUPPORT);
        }
        Ok(a)
    }

    /// Reads the address `connect()` was given (`tcp_v4_connect`):
    /// `EINVAL` if shorter than a `sockaddr_in`, `EAFNOSUPPORT` for a
    /// family other than `AF_INET`.
    pub(crate) fn from_connect(raw: &[u8]) -> Result<SockAddrIn> {
        let Some(&[f0, f1, p0, p1, a0, a1, a2, a3]) = raw.get(..8) else {
            return Err(EINVAL);
        };
        if raw.len() < SOCKADDR_IN_LEN {
            return Err(EINVAL);
        }
        if u16::from_ne_bytes([f0, f1]) != AF_INET {
            return Err(EAFNOSUPPORT);
        }
        Ok(SockAddrIn { addr: u32::from_be_bytes([a0, a1, a2, a3]), port: u16::from_be_bytes([p0, p1]) })
    }

    /// The `struct sockaddr_in` bytes.
    pub(crate) fn to_bytes(self) -> [u8; SOCKADDR_IN_LEN] {
        let mut b = [0u8; SOCKADDR_IN_LEN];
        let [f0, f1] = AF_INET.to_ne_bytes();
        let [p0, p1] = self.port.to_be_bytes();
        let [a0, a1, a2, a3] = self.addr.to_be_bytes();
        b[..8].copy_from_slice(&[f0, f1, p0, p1, a0, a1, a2, a3]);
        b
    }
}

/// May a socket in `net` bind to `addr`? `INADDR_ANY`, a local, broadcast
/// or multicast address, or anything when `ip_nonlocal_bind` is set
/// (`inet_addr_valid_or_nonlocal` for a socket without `IP_FREEBIND`).
pub(crate) fn bindable_addr(net: &Net, addr: u32) -> bool {
    if addr == 0 {
        return true;
    }
    // SAFETY: `net` is alive; the address is a plain value.
    let kind = unsafe { sys::inet_addr_type_table(net.as_ptr(), addr.to_be(), sys::RTCP_RT_TABLE_LOCAL) };
    // SAFETY: `net` is alive.
    let nonlocal = unsafe { sys::rtcp_helper_ip_nonlocal_bind(net.as_ptr()) };
    nonlocal
        || kind == sys::RTN_LOCAL
        || kind == sys::RTN_MULTICAST
        || kind == sys::RTN_BROADCAST
}

/// Does binding `port` in `net` need `CAP_NET_BIND_SERVICE` that the
/// caller lacks (`ip_unprivileged_port_start`, `ns_capable`)?
pub(crate) fn port_needs_privilege(net: &Net, port: u16) -> bool {
    // SAFETY: `net` is alive; `ns_capable` looks at the current task.
    unsafe {
        sys::rtcp_helper_inet_port_requires_bind_service(net.as_ptr(), port)
            && !sys::rtcp_helper_net_capable(net.as_ptr(), sys::CAP_NET_BIND_SERVICE as c_int)
    }
}

/// A port held in the namespace's TCP port space on behalf of RTCP
/// sockets: a kernel `AF_INET` TCP socket bound (never listening, never
/// connected) to the same address and port.
///
/// RTCP and Linux's TCP share one port space. Holding the port through the
/// socket API lets the kernel's own bind rules decide every conflict, both
/// ways: an RTCP `bind()` gets `EADDRINUSE` where a TCP socket holds the
/// port (and the reverse), `SO_REUSEADDR`/`SO_REUSEPORT`/`SO_BINDTODEVICE`
/// mean what they mean for TCP, and port 0 takes an ephemeral port from
/// `ip_local_port_range` that no socket of either kind holds. Segments for
/// RTCP's ports never reach Linux's TCP (the receive hook takes them).
///
/// A reservation is shared by its clones, as a listener shares its port
/// with the connections it accepts (`inet_csk_clone_lock` takes the bind
/// bucket): the port goes back when the last one goes. Dropping the last
/// one anywhere, softirq included, gives the port back from the
/// [`PortReleases`] workqueue, as releasing a socket may sleep;
/// [`PortReservation::release_now`] does it at once, in process context.
pub(crate) struct PortReservation(Option<Arc<Bound>>);

/// The kernel socket behind a port reservation.
///
/// # Invariants
///
/// `sock` is a live kernel socket owned by this value.
#[pin_data(PinnedDrop)]
struct Bound {
    sock: NonNull<sys::socket>,
    #[pin]
    work: Work<Bound>,
}

kernel::impl_has_work! {
    impl HasWork<Self> for Bound { self.work }
}

impl WorkItem for Bound {
    type Pointer = Arc<Bound>;

    /// The last reservation of the port went where sleeping is not
    /// allowed: the socket is released here, in process context.
    fn run(this: Arc<Bound>) {
        drop(this);
    }
}

impl Bound {
    fn sk(&self) -> *mut sys::sock {
        // SAFETY: the socket is alive (type invariant) and has a sock.
        unsafe { (*self.sock.as_ptr()).sk }
    }

    /// Sets the options `(reuse, reuseport, _)` that are set.
    fn follow(&self, opts: (u8, u8, i32)) {
        // SAFETY: a live sock; these take its lock (process context, as
        // the callers are).
        unsafe {
            if opts.0 != 0 {
                sys::sock_set_reuseaddr(self.sk());
            }
            if opts.1 != 0 {
                sys::sock_set_reuseport(self.sk());
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Bound {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the socket is owned by `self` (type invariant); this
        // runs in process context (`PortReservation`'s drop sends the
        // last reference to the workqueue).
        unsafe { sys::sock_release(self.sock.as_ptr()) }
    }
}

// SAFETY: the kernel socket may be used and released from any task.
unsafe impl Send for Bound {}
// SAFETY: `&Bound` only reads the bound address, which the kernel
// serialises under the socket's own lock.
unsafe impl Sync for Bound {}

impl PortReservation {
    /// Takes `addr` (port 0: an ephemeral port) in `net`, with the bind
    /// options of the RTCP socket: `(reuse, reuseport, bound_dev_if)`.
    /// Errors are those of `bind()` on a TCP socket. Process context.
    pub(crate) fn take(net: &Net, addr: SockAddrIn, opts: (u8, u8, i32)) -> Result<Self> {
        Self::take_with(net, addr, opts, false)
    }

    /// [`PortReservation::take`], and if `nonlocal` (the RTCP socket has
    /// `IP_FREEBIND` or `IP_TRANSPARENT`) an address that is not local
    /// may be taken: the reservation has `IP_FREEBIND`
    /// (`ip_sock_set_freebind`), so the kernel's bind allows it as it
    /// would for the RTCP socket.
    pub(crate) fn take_with(net: &Net, addr: SockAddrIn, opts: (u8, u8, i32), nonlocal: bool) -> Result<Self> {
        let mut sock = core::ptr::null_mut();
        // SAFETY: `net` is alive; `sock` receives the new socket.
        to_result(unsafe {
            sys::sock_create_kern(
                net.as_ptr(),
                c_int::from(AF_INET),
                sys::sock_type_SOCK_STREAM as c_int,
                sys::IPPROTO_TCP as c_int,
                &mut sock,
            )
        })?;
        let sock = NonNull::new(sock).ok_or(ENOMEM)?;
        // INVARIANT: `sock_create_kern` succeeded, so `sock` is a live
        // socket that nobody else knows; `Bound` owns it from here, or it
        // is released now.
        let bound = Arc::pin_init(pin_init!(Bound { sock, work <- kernel::new_work!("PortReservation::work") }), GFP_KERNEL)
            .inspect_err(|_| {
                // SAFETY: the socket is ours, and nobody else knows it.
                unsafe { sys::sock_release(sock.as_ptr()) }
            })?;
        // A failure from here drops `bound`, the only reference: the
        // socket is released at once.
        bound.follow(opts);
        if nonlocal {
            // SAFETY: the new socket's sock, not yet bound; process
            // context (it takes the sock's lock).
            unsafe { sys::ip_sock_set_freebind(bound.sk()) };
        }
        if opts.2 != 0 {
            // SAFETY: the new socket's sock, not yet bound.
            to_result(unsafe { sys::sock_bindtoindex(bound.sk(), opts.2, true) })?;
        }
        let raw = addr.to_bytes();
        // SAFETY: the socket is alive; `raw` is a `sockaddr_in` of its size.
        to_result(unsafe {
            sys::kernel_bind(sock.as_ptr(), raw.as_ptr().cast_mut().cast(), SOCKADDR_IN_LEN as c_int)
        })?;
        Ok(PortReservation(Some(bound)))
    }

    /// The address and port held.
    pub(crate) fn addr(&self) -> Result<SockAddrIn> {
        let bound = self.0.as_ref().ok_or(EINVAL)?;
        let mut raw = [0u8; 128];
        // SAFETY: the socket is alive; `raw` has room for any address.
        let len = unsafe { sys::kernel_getsockname(bound.sock.as_ptr(), raw.as_mut_ptr().cast()) };
        to_result(len.min(0))?;
        let addr = SockAddrIn::from_bind(raw.get(..SOCKADDR_IN_LEN).ok_or(EINVAL)?)?;
        Ok(addr)
    }

    /// Sets `SO_REUSEADDR` and `SO_REUSEPORT` on the port if the RTCP
    /// socket's options `(reuse, reuseport, _)` have them: set after
    /// `bind()`, they apply to the connections that go on holding the
    /// port after the socket closes (Linux's children take `sk_reuse`
    /// from their listener). Process context.
    pub(crate) fn follow(&self, opts: (u8, u8, i32)) {
        if let Some(bound) = self.0.as_ref() {
            bound.follow(opts);
        }
    }

    /// Gives this reservation up now: if it was the port's last, the port
    /// is free when this returns (`close()` then `bind()` finds it free).
    /// Process context only.
    pub(crate) fn release_now(mut self) {
        drop(self.0.take());
    }
}

impl Clone for PortReservation {
    fn clone(&self) -> Self {
        PortReservation(self.0.clone())
    }
}

impl Drop for PortReservation {
    fn drop(&mut self) {
        let Some(last) = self.0.take().and_then(Arc::into_unique_or_drop) else { return };
        match PortReleases::queue() {
            Some(q) => {
                if let Err(bound) = q.enqueue(Arc::from(last)) {
                    // Queued already: impossible for the last reference,
                    // and never worth releasing the socket in atomic
                    // context. The socket is left, not misused.
                    core::mem::forget(bound);
                }
            }
            // No workqueue: the module is not set up, so no reservation
            // exists; nothing to do but be correct.
            None => drop(last),
        }
    }
}

/// The module's workqueue that gives ports back for reservations whose
/// last clone went where sleeping is not allowed (a connection's end in
/// softirq, a sock freed there). It lives from the module's start to its
/// end: dropping it waits for every release queued.
pub(crate) struct PortReleases(NonNull<sys::workqueue_struct>);

/// The workqueue of the loaded module's [`PortReleases`] (null before and
/// after).
static PORT_RELEASES: AtomicPtr<sys::workqueue_struct> = AtomicPtr::new(core::ptr::null_mut());

impl PortReleases {
    /// Allocates the workqueue (`alloc_workqueue`).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: a constant NUL-terminated name; process context.
        let wq = NonNull::new(unsafe { sys::rtcp_helper_alloc_workqueue(c"rtcp_ports".as_char_ptr()) }).ok_or(ENOMEM)?;
        PORT_RELEASES.store(wq.as_ptr(), Ordering::Release);
        Ok(PortReleases(wq))
    }

    fn queue() -> Option<&'static Queue> {
        let wq = NonNull::new(PORT_RELEASES.load(Ordering::Acquire))?;
        // The workqueue of `PortReleases` lives until the module's
        // registration drops it, after every reservation is gone (each
        // belongs to a sock or to a namespace's pending work, and both end
        // before the module does).
        // SAFETY: so the workqueue is alive.
        Some(unsafe { Queue::from_raw(wq.as_ptr().cast()) })
    }

    /// Waits for the releases queued so far (`flush_workqueue`): a
    /// namespace that goes must not keep a kernel socket of its own past
    /// its RTCP state, as kernel sockets hold no reference on it.
    pub(crate) fn flush() {
        if let Some(wq) = NonNull::new(PORT_RELEASES.load(Ordering::Acquire)) {
            // SAFETY: a live workqueue (see `queue`); process context.
            unsafe { sys::rtcp_helper_flush_workqueue(wq.as_ptr()) }
        }
    }
}

impl Drop for PortReleases {
    fn drop(&mut self) {
        PORT_RELEASES.store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: our workqueue; `destroy_workqueue` runs what is queued
        // first, and nothing queues any more.
        unsafe { sys::destroy_workqueue(self.0.as_ptr()) }
    }
}

// SAFETY: a workqueue may be used and destroyed from any task.
unsafe impl Send for PortReleases {}
// SAFETY: `&PortReleases` gives no access of its own.
unsafe impl Sync for PortReleases {}

/// Has the caller `cap` in `net`'s user namespace (`ns_capable`, as
/// `sockopt_ns_capable` asks)?
pub(crate) fn net_capable(net: &Net, cap: i32) -> bool {
    // SAFETY: `net` is alive; `ns_capable` looks at the current task.
    unsafe { sys::rtcp_helper_net_capable(net.as_ptr(), cap) }
}

/// `net.ipv4.ip_default_ttl` of `net`.
pub(crate) fn ip_default_ttl(net: &Net) -> i32 {
    // SAFETY: `net` is alive; a plain sysctl read with `READ_ONCE`.
    unsafe { sys::rtcp_helper_ip_default_ttl(net.as_ptr()) }
}
