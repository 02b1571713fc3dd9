// SPDX-License-Identifier: GPL-2.0

//! Socket addresses of both families, local-address checks, and port reservations in
//! the namespace's shared TCP port space.
//!
//! C headers: [`include/uapi/linux/in.h`], [`include/net/route.h`],
//! [`include/linux/net.h`] (`sock_create_kern`, `kernel_bind`),
//! [`include/linux/workqueue.h`].

use crate::sys;
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering},
};
use kernel::{
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::Arc,
    workqueue::{Queue, Work, WorkItem},
};

use super::bh::SpinLockBh;
use super::netns::Net;
use super::sock::BindOptions;
use crate::proto::addr::Addr;
use crate::proto::conn::Endpoint;

/// `AF_INET`, `AF_INET6`, `AF_UNSPEC`.
pub(crate) const AF_INET: u16 = sys::AF_INET as u16;
pub(crate) const AF_INET6: u16 = sys::AF_INET6 as u16;
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

/// The ISN and timestamp offset of an IPv6 four-tuple (in host order),
/// from the kernel's keyed hash (`secure_tcpv6_seq_and_ts_off`).
pub(crate) fn seq_and_ts_off6(net: &Net, saddr: Addr, daddr: Addr, sport: u16, dport: u16) -> (u32, u32) {
    // SAFETY: `net` is alive; the hash reads the two 16-byte addresses.
    let hash = unsafe {
        sys::secure_tcpv6_seq_and_ts_off(net.as_ptr(), saddr.0.as_ptr().cast(), daddr.0.as_ptr().cast(), sport.to_be(), dport.to_be())
    };
    // SAFETY: both members of the union are plain integers.
    unsafe { (hash.__bindgen_anon_1.seq, hash.__bindgen_anon_1.ts_off) }
}

/// Is `addr` one of `net`'s IPv6 addresses, on the interface `ifindex`
/// if it is link-local (`ipv6_chk_addr`)? `ENODEV` when there is no
/// such interface.
pub(crate) fn ipv6_local(net: &Net, addr: Addr, ifindex: i32) -> Result<bool> {
    // SAFETY: `net` is alive; the helper reads the address and looks the
    // device up under RCU.
    let r = unsafe { sys::rtcp_helper_ipv6_chk_addr(net.as_ptr(), addr.0.as_ptr().cast(), ifindex) };
    kernel::error::to_result(r.min(0))?;
    Ok(r > 0)
}

/// `net.ipv6.ip_nonlocal_bind`: an IPv6 socket may bind any address.
pub(crate) fn ipv6_nonlocal_bind(net: &Net) -> bool {
    // SAFETY: `net` is alive; a plain sysctl read.
    unsafe { sys::rtcp_helper_ipv6_nonlocal_bind(net.as_ptr()) }
}

/// The namespace's default IPv6 hop limit (`devconf_all->hop_limit`).
pub(crate) fn ipv6_default_hops(net: &Net) -> i32 {
    // SAFETY: `net` is alive; a plain sysctl read.
    unsafe { sys::rtcp_helper_ipv6_default_hops(net.as_ptr()) }
}

/// A socket address, `struct sockaddr_in` or `struct sockaddr_in6`, in
/// host order; an IPv4 one's address v4-mapped, as the core keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SockAddr {
    pub(crate) addr: Addr,
    pub(crate) port: u16,
    /// `sin6_scope_id`: the interface of a link-local address (0: none).
    pub(crate) scope_id: u32,
    /// Given or shown as a `sockaddr_in6`: the socket is an IPv6 one.
    pub(crate) v6: bool,
}

/// The size of `struct sockaddr_in`.
pub(crate) const SOCKADDR_IN_LEN: usize = 16;
/// The size of `struct sockaddr_in6`.
pub(crate) const SOCKADDR_IN6_LEN: usize = 28;
/// The size of RFC 2133's `sockaddr_in6`, without `sin6_scope_id`, which
/// IPv6 calls still take (`SIN6_LEN_RFC2133`).
pub(crate) const SIN6_LEN_RFC2133: usize = 24;

impl SockAddr {
    /// An IPv4 address and port.
    pub(crate) fn v4(addr: u32, port: u16) -> SockAddr {
        SockAddr { addr: Addr::v4(addr), port, scope_id: 0, v6: false }
    }

    /// The address and port of `ep`, shown as a socket of the kind `v6`
    /// says shows them.
    pub(crate) fn of(ep: Endpoint, v6: bool) -> SockAddr {
        SockAddr { addr: ep.addr, port: ep.port, scope_id: 0, v6 }
    }

    /// The address and port, as the core keeps them.
    pub(crate) fn endpoint(self) -> Endpoint {
        Endpoint { addr: self.addr, port: self.port }
    }

    /// Reads the address `bind()` or `connect()` was given to a socket of
    /// the kind `v6` says, with `__inet_bind`'s checks (IPv4: `EINVAL` if
    /// shorter than a `sockaddr_in`, `EAFNOSUPPORT` for a family other
    /// than `AF_INET` but `AF_UNSPEC` with `INADDR_ANY`, accepted for
    /// compatibility) or `inet6_bind`'s (IPv6: `EINVAL` if shorter than
    /// RFC 2133's `sockaddr_in6`, `EAFNOSUPPORT` for a family other than
    /// `AF_INET6`).
    pub(crate) fn from_bind(raw: &[u8], v6: bool) -> Result<SockAddr> {
        if v6 {
            return Self::from_in6(raw);
        }
        let a = Self::from_in(raw)?;
        let family = family(raw)?;
        if family != AF_INET && (family != AF_UNSPEC || !a.addr.is_any()) {
            return Err(EAFNOSUPPORT);
        }
        Ok(a)
    }

    /// Reads the address `connect()` was given (`tcp_v4_connect`,
    /// `tcp_v6_connect`): `EINVAL` if shorter than the family's address,
    /// `EAFNOSUPPORT` for another family.
    pub(crate) fn from_connect(raw: &[u8], v6: bool) -> Result<SockAddr> {
        if v6 {
            return Self::from_in6(raw);
        }
        let a = Self::from_in(raw)?;
        if family(raw)? != AF_INET {
            return Err(EAFNOSUPPORT);
        }
        Ok(a)
    }

    fn from_in(raw: &[u8]) -> Result<SockAddr> {
        let Some(&[_, _, p0, p1, a0, a1, a2, a3]) = raw.get(..8) else {
            return Err(EINVAL);
        };
        if raw.len() < SOCKADDR_IN_LEN {
            return Err(EINVAL);
        }
        Ok(SockAddr::v4(u32::from_be_bytes([a0, a1, a2, a3]), u16::from_be_bytes([p0, p1])))
    }

    fn from_in6(raw: &[u8]) -> Result<SockAddr> {
        let head = raw.get(..SIN6_LEN_RFC2133).ok_or(EINVAL)?;
        let (&[_, _, p0, p1, _, _, _, _], addr) = head.split_first_chunk::<8>().ok_or(EINVAL)?;
        if family(raw)? != AF_INET6 {
            return Err(EAFNOSUPPORT);
        }
        let scope_id = match raw.get(SIN6_LEN_RFC2133..SOCKADDR_IN6_LEN) {
            Some(&[s0, s1, s2, s3]) => u32::from_ne_bytes([s0, s1, s2, s3]),
            _ => 0,
        };
        Ok(SockAddr { addr: Addr(addr.try_into().map_err(|_| EINVAL)?), port: u16::from_be_bytes([p0, p1]), scope_id, v6: true })
    }

    /// The `struct sockaddr_in` or `struct sockaddr_in6` bytes, and how
    /// many there are.
    pub(crate) fn to_bytes(self) -> ([u8; SOCKADDR_IN6_LEN], usize) {
        let mut b = [0u8; SOCKADDR_IN6_LEN];
        let [p0, p1] = self.port.to_be_bytes();
        if self.v6 {
            let [f0, f1] = AF_INET6.to_ne_bytes();
            b[..4].copy_from_slice(&[f0, f1, p0, p1]);
            b[8..24].copy_from_slice(&self.addr.0);
            b[24..].copy_from_slice(&self.scope_id.to_ne_bytes());
            return (b, SOCKADDR_IN6_LEN);
        }
        let [f0, f1] = AF_INET.to_ne_bytes();
        let [a0, a1, a2, a3] = self.addr.ipv4().to_be_bytes();
        b[..8].copy_from_slice(&[f0, f1, p0, p1, a0, a1, a2, a3]);
        (b, SOCKADDR_IN_LEN)
    }
}

/// The `sa_family` of a socket address.
fn family(raw: &[u8]) -> Result<u16> {
    let &[f0, f1, ..] = raw else { return Err(EINVAL) };
    Ok(u16::from_ne_bytes([f0, f1]))
}

/// May a socket in `net` bind to `addr`? `INADDR_ANY`, a local, broadcast
/// or multicast address, or anything when `ip_nonlocal_bind` is set
/// (`inet_addr_valid_or_nonlocal` for a socket without `IP_FREEBIND`).
pub(crate) fn bindable_addr(net: &Net, addr: Addr) -> bool {
    if addr.is_any() {
        return true;
    }
    let addr = addr.ipv4();
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
/// bucket): the port goes back when the last one goes. A port `connect()`
/// picked is also shared with later connects to other peers
/// ([`PortReservation::connect`], [`ConnectPorts`]). Dropping the last
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
    /// The namespace's table of ports `connect()` picked, if this is one.
    shared: Option<Arc<ConnectPorts>>,
    /// The reservations of a port in `shared`; it leaves the table when
    /// this comes to 0, under the table's lock.
    users: AtomicUsize,
    /// The port, once in `shared`.
    port: AtomicU32,
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
    /// A kernel TCP socket of `net`, not bound yet, with the RTCP
    /// socket's bind options `(reuse, reuseport, bound_dev_if)` and, if
    /// `nonlocal` (the RTCP socket has `IP_FREEBIND` or `IP_TRANSPARENT`),
    /// `IP_FREEBIND`, so that the kernel's bind allows what it would
    /// allow the RTCP socket. Process context.
    fn new(net: &Net, v6: bool, opts: BindOptions, nonlocal: bool, shared: Option<Arc<ConnectPorts>>) -> Result<Arc<Bound>> {
        let mut sock = core::ptr::null_mut();
        // SAFETY: `net` is alive; `sock` receives the new socket.
        to_result(unsafe {
            sys::sock_create_kern(
                net.as_ptr(),
                c_int::from(if v6 { AF_INET6 } else { AF_INET }),
                sys::sock_type_SOCK_STREAM as c_int,
                sys::IPPROTO_TCP as c_int,
                &mut sock,
            )
        })
        // A socket's inode that could not be had is `ENFILE` to
        // `socket()`; to the bind or connect that wanted the port, which
        // has its socket, it is memory it could not have.
        .map_err(|e| if e == ENFILE { ENOMEM } else { e })?;
        let sock = NonNull::new(sock).ok_or(ENOMEM)?;
        // INVARIANT: `sock_create_kern` succeeded, so `sock` is a live
        // socket that nobody else knows; `Bound` owns it from here, or it
        // is released now.
        let (users, port) = (AtomicUsize::new(1), AtomicU32::new(0));
        let bound = Arc::pin_init(
            pin_init!(Bound { sock, work <- kernel::new_work!("PortReservation::work"), shared, users, port }),
            GFP_KERNEL,
        )
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
        if opts.dev != 0 {
            // SAFETY: the new socket's sock, not yet bound.
            to_result(unsafe { sys::sock_bindtoindex(bound.sk(), opts.dev, true) })?;
        }
        if v6 && opts.v6only {
            // SAFETY: the new socket's sock, an IPv6 one not yet bound and
            // known to nobody else: no concurrent writer of its bitfield
            // (`IPV6_V6ONLY` sets just this).
            unsafe { (*bound.sk()).__sk_common.set_skc_ipv6only(1) };
        }
        Ok(bound)
    }

    /// `bind()`s the socket to `addr`: the kernel's bind rules decide.
    /// A failed bind leaves it unbound. Process context.
    fn bind(&self, addr: SockAddr) -> Result {
        let (raw, len) = addr.to_bytes();
        // SAFETY: the socket is alive; `raw` is a socket address of `len`
        // bytes, of the socket's family.
        to_result(unsafe { sys::kernel_bind(self.sock.as_ptr(), raw.as_ptr().cast_mut().cast(), len as c_int) })
    }

    fn sk(&self) -> *mut sys::sock {
        // SAFETY: the socket is alive (type invariant) and has a sock.
        unsafe { (*self.sock.as_ptr()).sk }
    }

    /// Sets the options `(reuse, reuseport, _)` that are set.
    fn follow(&self, opts: BindOptions) {
        // SAFETY: a live sock; these take its lock (process context, as
        // the callers are).
        unsafe {
            if opts.reuse != 0 {
                sys::sock_set_reuseaddr(self.sk());
            }
            if opts.reuseport != 0 {
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
    pub(crate) fn take(net: &Net, addr: SockAddr, opts: BindOptions) -> Result<Self> {
        Self::take_with(net, addr, opts, false)
    }

    /// [`PortReservation::take`], and if `nonlocal` (the RTCP socket has
    /// `IP_FREEBIND` or `IP_TRANSPARENT`) an address that is not local
    /// may be taken: the reservation has `IP_FREEBIND`
    /// (`ip_sock_set_freebind`), so the kernel's bind allows it as it
    /// would for the RTCP socket.
    pub(crate) fn take_with(net: &Net, addr: SockAddr, opts: BindOptions, nonlocal: bool) -> Result<Self> {
        let bound = Bound::new(net, addr.v6, opts, nonlocal, None)?;
        // A failure drops `bound`, the only reference: the socket is
        // released at once.
        bound.bind(addr)?;
        Ok(PortReservation(Some(bound)))
    }

    /// `inet_hash_connect`: a port for a connection from `saddr` to `dst`,
    /// with the connecting socket's bind options. The ports of
    /// `ip_local_port_range` are tried in `__inet_hash_connect`'s order
    /// (an offset from the keyed hash of the addresses and the peer's
    /// port, `secure_ipv4_port_ephemeral`, and a perturbation that moves
    /// on after each connect; the parity of the range's low end first; a
    /// random step of at most `ip_local_port_step_width`), skipping
    /// `ip_local_reserved_ports`. A port another connect picked is shared
    /// if the four-tuple is `free` (Linux shares a bind bucket that only
    /// connects made, `fastreuse` -1); a port nobody holds is taken if the
    /// four-tuple is `free` (a closing connection may still use it); any
    /// other is skipped. `EADDRNOTAVAIL` when none is left, as Linux's.
    /// Process context.
    pub(crate) fn connect(
        net: &Net,
        ports: &Arc<ConnectPorts>,
        saddr: Addr,
        dst: SockAddr,
        opts: BindOptions,
        free: impl Fn(u16) -> bool,
    ) -> Result<Self> {
        let (mut low, mut high): (c_int, c_int) = (0, 0);
        // SAFETY: `net` is alive; the helper writes both integers.
        unsafe { sys::rtcp_helper_local_port_range(net.as_ptr(), &mut low, &mut high) };
        let (low, high) = (u32::try_from(low).unwrap_or(1), u32::try_from(high).unwrap_or(1) + 1);
        let mut remaining = high.saturating_sub(low).max(1);
        if remaining > 1 {
            remaining &= !1;
        }
        // SAFETY: plain values.
        let port_offset = unsafe {
            if !dst.addr.is_v4() {
                let (s, d) = (saddr.0, dst.addr.0);
                sys::secure_ipv6_port_ephemeral(s.as_ptr().cast(), d.as_ptr().cast(), dst.port.to_be())
            } else {
                sys::secure_ipv4_port_ephemeral(saddr.ipv4().to_be(), dst.addr.ipv4().to_be(), dst.port.to_be())
            }
        };
        let perturb = &PERTURB[port_offset as usize % PERTURB.len()];
        let mut offset = (perturb.load(Ordering::Relaxed).wrapping_add((port_offset >> 32) as u32) % remaining) & !1;
        let step = 2;
        let scan_step = step * scan_step(net, remaining / step);
        let mut probe: Option<Arc<Bound>> = None;
        loop {
            let mut port = low + offset;
            let mut i = 0;
            while i < remaining {
                if port >= high {
                    port -= remaining;
                }
                let p = port as u16;
                // SAFETY: `net` is alive; a read of its reserved ports.
                let reserved = unsafe { sys::rtcp_helper_local_reserved_port(net.as_ptr(), p) };
                let local = SockAddr { addr: saddr, port: p, scope_id: 0, v6: dst.v6 };
                let taken = if reserved {
                    None
                } else if let Some(shared) = ports.share(local, opts.dev) {
                    free(p).then_some(shared)
                } else if free(p) {
                    let bound = match probe.take() {
                        Some(bound) => bound,
                        None => Bound::new(net, dst.v6, opts, false, Some(ports.clone()))?,
                    };
                    match bound.bind(local) {
                        Ok(()) => Some(ports.insert(bound, local, opts.dev)?),
                        Err(_) => {
                            // Held by a socket of either kind: the probe
                            // is still unbound, for the next port.
                            probe = Some(bound);
                            None
                        }
                    }
                } else {
                    None
                };
                if let Some(taken) = taken {
                    // Moves the next connect to this peer on, by a little
                    // more than this one searched.
                    let i = i.max(random_below(8) * step);
                    perturb.fetch_add(i + step, Ordering::Relaxed);
                    return Ok(taken);
                }
                i += step;
                port += scan_step;
            }
            offset += 1;
            if offset & 1 == 0 || remaining <= 1 {
                return Err(EADDRNOTAVAIL);
            }
        }
    }

    /// The address and port held.
    pub(crate) fn addr(&self) -> Result<SockAddr> {
        let bound = self.0.as_ref().ok_or(EINVAL)?;
        let mut raw = [0u8; 128];
        // SAFETY: the socket is alive; `raw` has room for any address.
        let len = unsafe { sys::kernel_getsockname(bound.sock.as_ptr(), raw.as_mut_ptr().cast()) };
        to_result(len.min(0))?;
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        SockAddr::from_bind(raw.get(..len).ok_or(EINVAL)?, family(&raw)? == AF_INET6)
    }

    /// Sets `SO_REUSEADDR` and `SO_REUSEPORT` on the port if the RTCP
    /// socket's options `(reuse, reuseport, _)` have them: set after
    /// `bind()`, they apply to the connections that go on holding the
    /// port after the socket closes (Linux's children take `sk_reuse`
    /// from their listener). Process context.
    pub(crate) fn follow(&self, opts: BindOptions) {
        if let Some(bound) = self.0.as_ref() {
            bound.follow(opts);
        }
    }

    /// Gives this reservation up now: if it was the port's last, the port
    /// is free when this returns (`close()` then `bind()` finds it free).
    /// Process context only.
    pub(crate) fn release_now(mut self) {
        if let Some(bound) = self.0.take() {
            Self::leave(&bound);
            // The last reference releases the socket here.
            drop(bound);
        }
    }

    /// One reservation of `bound` goes: a port `connect()` picked leaves
    /// its table with the last.
    fn leave(bound: &Arc<Bound>) {
        if let Some(ports) = bound.shared.as_ref() {
            ports.leave(bound);
        }
    }
}

impl Clone for PortReservation {
    fn clone(&self) -> Self {
        if let Some(bound) = self.0.as_ref() {
            // This reservation is one of them: they cannot come to 0 now.
            bound.users.fetch_add(1, Ordering::Relaxed);
        }
        PortReservation(self.0.clone())
    }
}

impl Drop for PortReservation {
    fn drop(&mut self) {
        let Some(bound) = self.0.take() else { return };
        Self::leave(&bound);
        let Some(last) = Arc::into_unique_or_drop(bound) else { return };
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

/// The ports `connect()` picked in a namespace and that connections hold,
/// by address, port and bound device: `inet_hash_connect`'s bind buckets
/// of `fastreuse` -1, which later connects share when their four-tuple is
/// free. A port leaves the table with its last reservation.
#[pin_data]
pub(crate) struct ConnectPorts {
    #[pin]
    buckets: SpinLockBh<KVec<KVec<ConnectPort>>>,
}

/// One port of [`ConnectPorts`].
struct ConnectPort {
    local: SockAddr,
    dev: i32,
    bound: Arc<Bound>,
}

/// log2 of the number of [`ConnectPorts`]' buckets (by port).
const CONNECT_PORT_BITS: u32 = 10;

impl ConnectPorts {
    /// An empty table.
    pub(crate) fn new() -> Result<Arc<ConnectPorts>> {
        let mut buckets = KVec::with_capacity(1 << CONNECT_PORT_BITS, GFP_KERNEL)?;
        for _ in 0..1usize << CONNECT_PORT_BITS {
            buckets.push(KVec::new(), GFP_KERNEL)?;
        }
        Arc::pin_init(pin_init!(ConnectPorts { buckets <- crate::new_spinlock_bh!(buckets, "rtcp_connect_ports") }), GFP_KERNEL)
    }

    fn bucket(port: u16) -> usize {
        usize::from(port) & ((1 << CONNECT_PORT_BITS) - 1)
    }

    /// A new reservation of `local` on device `dev`, if a connect holds it.
    fn share(&self, local: SockAddr, dev: i32) -> Option<PortReservation> {
        let buckets = self.buckets.lock();
        let e = buckets.get(Self::bucket(local.port))?.iter().find(|e| e.local == local && e.dev == dev)?;
        // Under the lock, so the port cannot leave the table meanwhile.
        e.bound.users.fetch_add(1, Ordering::Relaxed);
        Some(PortReservation(Some(e.bound.clone())))
    }

    /// Adds `bound`, bound to `local` on `dev`: its first reservation.
    fn insert(&self, bound: Arc<Bound>, local: SockAddr, dev: i32) -> Result<PortReservation> {
        bound.port.store(u32::from(local.port), Ordering::Relaxed);
        let port = PortReservation(Some(bound.clone()));
        let mut buckets = self.buckets.lock();
        let b = buckets.get_mut(Self::bucket(local.port)).ok_or(EINVAL)?;
        // On failure `port` goes, and with it the port: nothing holds it.
        b.push(ConnectPort { local, dev, bound }, GFP_ATOMIC)?;
        Ok(port)
    }

    /// One reservation of `bound` goes: if it was the last, the port
    /// leaves the table (the caller's reference then is the last).
    fn leave(&self, bound: &Arc<Bound>) {
        let gone = {
            let mut buckets = self.buckets.lock();
            if bound.users.fetch_sub(1, Ordering::Relaxed) != 1 {
                return;
            }
            let port = bound.port.load(Ordering::Relaxed) as u16;
            buckets.get_mut(Self::bucket(port)).and_then(|b| {
                let i = b.iter().position(|e| Arc::ptr_eq(&e.bound, bound))?;
                b.remove(i).ok()
            })
        };
        // Not the last reference (the caller holds one): no release here.
        drop(gone);
    }
}

/// `table_perturb` of `net/ipv4/inet_hashtables.c`: per hash of the
/// addresses, how far connects to a peer have moved on.
static PERTURB: [AtomicU32; 256] = [const { AtomicU32::new(0) }; 256];

/// A random value below `n` (`n` > 0).
fn random_below(n: u32) -> u32 {
    let mut r = 0u32;
    // SAFETY: `r` is four writable bytes.
    unsafe { sys::get_random_bytes((&raw mut r).cast(), core::mem::size_of::<u32>()) };
    r % n.max(1)
}

/// `__inet_hash_connect`'s scan step over a range of `range` ports of one
/// parity: random, at most `ip_local_port_step_width`, coprime with the
/// range so that the scan visits every port.
fn scan_step(net: &Net, range: u32) -> u32 {
    // SAFETY: `net` is alive; a plain sysctl read.
    let width = u32::try_from(unsafe { sys::rtcp_helper_local_port_step_width(net.as_ptr()) }).unwrap_or(0);
    if width == 0 || range <= 1 {
        return 1;
    }
    let upper = range.min(width);
    let mut step = random_below(upper) + 1;
    while gcd(step, range) != 1 {
        step += 1;
        if step & 1 == 0 && range & 1 == 0 {
            step += 1;
        }
        if step > upper {
            return 1;
        }
    }
    step
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
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
        // `get_random_sleepable_once(table_perturb, ...)`.
        for p in &PERTURB {
            p.store(random_below(u32::MAX), Ordering::Relaxed);
        }
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
