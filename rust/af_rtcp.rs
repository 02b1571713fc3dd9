// SPDX-License-Identifier: GPL-2.0

//! The `AF_RTCP` family: socket creation and the socket calls, the
//! counterpart of `net/ipv4/af_inet.c` (and of `tcp_v4_connect`) for RTCP.
//!
//! Locking: a socket call holds the socket lock (`lock_sock`) for the
//! sock's owned state; the connection (`Tcb`) is under a spinlock that the
//! receive hook and the timer take too. Segments are sent, and waiters
//! woken, after that spinlock is released.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{aref::ARef, SpinLockIrq},
};

use crate::net::{
    self, skb, Hook, HookDef, HookRegistration, Net, Packet, Pernet, PernetDef, PernetId,
    PollTable, PortReservation, ProtoDef, Route, Sock, SockAddrIn, Socket,
};
use crate::proto::conn::{Config, Conn, ConnError, Endpoint, Outcome};
use crate::proto::segment::Segment;
use crate::proto::seq::SeqNum;
use crate::proto::state::State;
use crate::sys;

/// The family number (`include/uapi/linux/rtcp.h`, and the kernel patch
/// that reserves it).
pub(crate) const AF_RTCP: i32 = sys::AF_RTCP as i32;

// `EPOLL*` are `__poll_t` (`u32`) bit masks.
const EPOLLIN: u32 = sys::RTCP_EPOLLIN;
const EPOLLOUT: u32 = sys::RTCP_EPOLLOUT;
const EPOLLERR: u32 = sys::RTCP_EPOLLERR;
const EPOLLHUP: u32 = sys::RTCP_EPOLLHUP;
const EPOLLRDNORM: u32 = sys::RTCP_EPOLLRDNORM;
const EPOLLWRNORM: u32 = sys::RTCP_EPOLLWRNORM;
const EPOLLRDHUP: u32 = sys::RTCP_EPOLLRDHUP;

/// `sk_state` values are Linux's TCP states (`include/net/tcp_states.h`).
const TCP_CLOSE: u8 = State::Closed.linux();
const TCP_SYN_SENT: u8 = State::SynSent.linux();
const TCP_ESTABLISHED: u8 = State::Established.linux();
/// `sk_shutdown` bits.
const RCV_SHUTDOWN: u8 = sys::RCV_SHUTDOWN as u8;
const SEND_SHUTDOWN: u8 = sys::SEND_SHUTDOWN as u8;
/// `socket->state`.
const SS_UNCONNECTED: u32 = sys::socket_state_SS_UNCONNECTED;
const SS_CONNECTING: u32 = sys::socket_state_SS_CONNECTING;
const SS_CONNECTED: u32 = sys::socket_state_SS_CONNECTED;

/// IP and TCP headers without options, less than the MTU is the MSS.
const IP_TCP_HEADERS: u32 = 40;

/// Milliseconds of the monotonic clock, the time `proto` runs on.
fn now_ms() -> u64 {
    // SAFETY: reads the monotonic clock; callable from any context.
    let ns = unsafe { sys::ktime_get_mono_fast_ns() };
    ns / 1_000_000
}

/// RTCP's protocol.
pub(crate) struct RtcpProto;

/// What socket calls keep in each sock, under the socket lock.
#[derive(Default)]
pub(crate) struct RtcpOwned {
    /// The local address and port, once bound (or connected).
    local: SockAddrIn,
    /// The port, held in the namespace's TCP port space while bound.
    port: Option<PortReservation>,
}

/// What each sock shares with the receive hook and the timer.
#[pin_data]
pub(crate) struct RtcpShared {
    #[pin]
    tcb: SpinLockIrq<Option<Conn>>,
}

impl net::Proto for RtcpProto {
    const NAME: &'static [u8] = b"RTCP";
    type Owned = RtcpOwned;
    type Shared = RtcpShared;

    fn shared() -> impl PinInit<RtcpShared, Error> {
        try_pin_init!(RtcpShared { tcb <- new_spinlock_irq!(None, "rtcp_tcb") })
    }
}

pub(crate) static PROTO: ProtoDef<RtcpProto> = ProtoDef::new();

/// One connection the receive hook demultiplexes to.
struct Demux {
    local: Endpoint,
    remote: Endpoint,
    sk: ARef<Sock<RtcpProto>>,
}

/// What RTCP keeps in each network namespace.
#[pin_data]
pub(crate) struct RtcpNet {
    /// Socks alive in the namespace.
    socks: AtomicUsize,
    /// Connections by four-tuple (a short list until there are many).
    #[pin]
    conns: SpinLockIrq<KVec<Demux>>,
    /// The receive hook of the namespace.
    hook: HookRegistration<RtcpHook>,
}

impl RtcpNet {
    fn of(net: &Net) -> &RtcpNet {
        net::pernet::state::<RtcpPernet>(net)
    }

    fn insert(&self, local: Endpoint, remote: Endpoint, sk: ARef<Sock<RtcpProto>>) -> Result {
        let mut conns = self.conns.lock();
        if conns.iter().any(|d| d.local == local && d.remote == remote) {
            return Err(EADDRNOTAVAIL);
        }
        conns.push(Demux { local, remote, sk }, GFP_ATOMIC)?;
        Ok(())
    }

    fn remove(&self, sk: &Sock<RtcpProto>) -> Option<ARef<Sock<RtcpProto>>> {
        let mut conns = self.conns.lock();
        let i = conns.iter().position(|d| core::ptr::eq(&*d.sk, sk))?;
        Some(conns.remove(i).ok()?.sk)
    }

    fn lookup(&self, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        let conns = self.conns.lock();
        conns.iter().find(|d| d.local == local && d.remote == remote).map(|d| d.sk.clone())
    }
}

pub(crate) struct RtcpPernet;

static NET_ID: PernetId = PernetId::new();
pub(crate) static PERNET: PernetDef = PernetDef::new::<RtcpPernet>();
static HOOK: HookDef<RtcpHook> = HookDef::new();

impl Pernet for RtcpPernet {
    type State = RtcpNet;
    const ID: &'static PernetId = &NET_ID;

    fn init(net: &Net) -> impl PinInit<RtcpNet, Error> + '_ {
        try_pin_init!(RtcpNet {
            socks: AtomicUsize::new(0),
            conns <- new_spinlock_irq!(KVec::new(), "rtcp_conns"),
            hook: HookRegistration::new(net, &HOOK)?,
        })
    }

    fn exit(_net: &Net, state: &RtcpNet) {
        // Every user sock holds a reference on its namespace, so none can be
        // left when the namespace goes.
        let left = state.socks.load(Ordering::Relaxed);
        if left != 0 {
            pr_err!("rtcp: {} socks leaked in an exiting namespace\n", left);
        }
    }
}

/// Sends `seg` of a connection from `local` to `remote`, routing it now.
fn send(net: &Net, key: net::route::FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment) {
    let sent = Route::output(net, key, local.addr, remote.addr, local.port, remote.port)
        .and_then(|rt| skb::send(net, rt, local.addr, remote.addr, seg));
    // A segment that cannot go out now is lost like one dropped on the
    // way: retransmission covers it.
    let _ = sent;
}

/// Carries out what `proto` decided for a sock, after its lock is dropped.
fn apply(sk: &Sock<RtcpProto>, ends: Option<(Endpoint, Endpoint)>, out: Outcome, rearm: Option<u64>) {
    let net = sk.net();
    if let (Some(seg), Some((local, remote))) = (out.reply, ends) {
        send(net, sk.flow_key(), local, remote, &seg);
    }
    if let Some(ms) = rearm {
        sk.reset_timer(ms);
    }
    if out.established {
        sk.stop_timer();
        sk.set_state(TCP_ESTABLISHED);
        sk.state_change();
    }
    if let Some(e) = out.error {
        sk.stop_timer();
        RtcpNet::of(net).remove(sk);
        sk.set_state(TCP_CLOSE);
        sk.report_error(
            match e {
                ConnError::Refused => ECONNREFUSED,
                ConnError::Reset => ECONNRESET,
                ConnError::TimedOut => ETIMEDOUT,
            }
            .to_errno()
            .wrapping_neg(),
        );
        sk.state_change();
    }
}

/// The receive hook: segments of RTCP's connections.
pub(crate) struct RtcpHook;

impl Hook for RtcpHook {
    type Target = ARef<Sock<RtcpProto>>;

    fn claim(net: &Net, pkt: &Packet) -> Option<Self::Target> {
        let local = Endpoint { addr: pkt.ip.dst, port: pkt.seg.dst_port };
        let remote = Endpoint { addr: pkt.ip.src, port: pkt.seg.src_port };
        RtcpNet::of(net).lookup(local, remote)
    }

    fn deliver(_net: &Net, sk: Self::Target, pkt: &Packet) {
        let now = now_ms();
        let (out, ends) = {
            let mut tcb = sk.shared().tcb.lock();
            let Some(conn) = Option::as_mut(&mut *tcb) else { return };
            (conn.on_segment(&pkt.seg, pkt.payload_len, now), (conn.local, conn.remote))
        };
        apply(&sk, Some(ends), out, None);
    }

    fn bad_checksum(_net: &Net) {}
}

/// `socket(AF_RTCP, ...)`.
pub(crate) struct RtcpFamily;

impl net::Family for RtcpFamily {
    const FAMILY: i32 = AF_RTCP;

    fn create(net: &Net, sock: &Socket, protocol: i32, kern: bool) -> Result {
        // The same checks, in the same order, as inet_create() for a family
        // whose only type is SOCK_STREAM with TCP.
        if protocol < 0 || protocol >= sys::IPPROTO_MAX as i32 {
            return Err(EINVAL);
        }
        if i32::from(sock.type_()) != sys::sock_type_SOCK_STREAM as i32 {
            return Err(ESOCKTNOSUPPORT);
        }
        if protocol != 0 && protocol != sys::IPPROTO_TCP as i32 {
            return Err(EPROTONOSUPPORT);
        }
        let sk = Sock::alloc::<RtcpOps>(net, sock, AF_RTCP, &PROTO, kern)?;
        sk.set_protocol(sys::IPPROTO_TCP as u16);
        RtcpNet::of(net).socks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The socket calls of an `AF_RTCP` socket.
struct RtcpOps;

impl RtcpOps {
    /// Starts the active open to `dst` (`tcp_v4_connect`): route, source
    /// address, local port, ISN, SYN.
    fn start_connect(sock: &Socket<RtcpProto>, sk: &Sock<RtcpProto>, owned: &mut RtcpOwned, raw: &[u8]) -> Result {
        let dst = SockAddrIn::from_connect(raw)?;
        let net = sk.net();
        let key = sk.flow_key();
        let route = Route::output(net, key, owned.local.addr, dst.addr, owned.local.port, dst.port)?;
        let saddr = if owned.local.addr != 0 { owned.local.addr } else { route.saddr };
        if owned.port.is_none() {
            // An ephemeral port from ip_local_port_range that no RTCP or
            // TCP socket of the namespace holds.
            let port = PortReservation::take(net, SockAddrIn { addr: saddr, port: 0 }, sk.bind_options())?;
            owned.local = port.addr()?;
            owned.port = Some(port);
        }
        owned.local.addr = saddr;
        let local = Endpoint { addr: saddr, port: owned.local.port };
        let remote = Endpoint { addr: dst.addr, port: dst.port };
        let mss = route.mtu().saturating_sub(IP_TCP_HEADERS);
        let cfg = Config { mss: u16::try_from(mss).unwrap_or(u16::MAX), ..Config::default() };
        // SAFETY: `net` is alive; the keyed hash of RFC 6528 over the
        // four-tuple, as Linux's TCP takes its ISN and timestamp offset.
        let hash = unsafe {
            sys::secure_tcp_seq_and_ts_off(net.as_ptr(), saddr.to_be(), dst.addr.to_be(), local.port.to_be(), dst.port.to_be())
        };
        // SAFETY: both members of the union are plain integers.
        let (isn, ts_off) = unsafe { (hash.__bindgen_anon_1.seq, hash.__bindgen_anon_1.ts_off) };
        let now = now_ms();
        let (conn, syn) = Conn::connect(cfg, local, remote, SeqNum(isn), ts_off, now);
        let deadline = conn.deadline();
        RtcpNet::of(net).insert(local, remote, sk.into())?;
        *sk.shared().tcb.lock() = Some(conn);
        sk.set_state(TCP_SYN_SENT);
        sock.set_state(SS_CONNECTING);
        if let Some(d) = deadline {
            sk.reset_timer(d.saturating_sub(now));
        }
        skb::send(net, route, local.addr, remote.addr, &syn)?;
        Ok(())
    }

    /// Tears the connection down, if any: its RST (from the synchronized
    /// states), its demux entry and its timer.
    fn abort(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let (rst, ends) = {
            let mut tcb = sk.shared().tcb.lock();
            match Option::take(&mut *tcb) {
                Some(mut conn) => (conn.abort(now), Some((conn.local, conn.remote))),
                None => (None, None),
            }
        };
        sk.stop_timer();
        if ends.is_some() {
            RtcpNet::of(sk.net()).remove(sk);
        }
        if let (Some(seg), Some((local, remote))) = (rst, ends) {
            send(sk.net(), sk.flow_key(), local, remote, &seg);
        }
        sk.set_state(TCP_CLOSE);
    }
}

impl net::SocketOps for RtcpOps {
    type Proto = RtcpProto;
    const FAMILY: i32 = AF_RTCP;

    fn release(sock: &Socket<RtcpProto>) -> Result {
        if let Some(sk) = sock.take_sk() {
            Self::abort(&sk);
            // The port goes back to the namespace now, not when the last
            // reference to the sock does.
            let port = sk.lock().port.take();
            drop(port);
            sk.orphan();
            // Dropping the socket's reference frees the sock (destruct).
        }
        Ok(())
    }

    /// `__inet_bind`'s rules, in its order: the address (`EINVAL`,
    /// `EAFNOSUPPORT`), a local one (`EADDRNOTAVAIL`), the privileged
    /// ports (`EACCES`), not bound yet (`EINVAL`), then the port itself,
    /// whose conflicts with TCP and RTCP sockets the kernel's bind rules
    /// decide (`EADDRINUSE`).
    fn bind(sock: &Socket<RtcpProto>, raw: &[u8]) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let addr = SockAddrIn::from_bind(raw)?;
        let net = sk.net();
        if !net::inet::bindable_addr(net, addr.addr) {
            return Err(EADDRNOTAVAIL);
        }
        if addr.port != 0 && net::inet::port_needs_privilege(net, addr.port) {
            return Err(EACCES);
        }
        let mut owned = sk.lock();
        if sk.state() != TCP_CLOSE || owned.port.is_some() {
            return Err(EINVAL);
        }
        let port = PortReservation::take(net, addr, sk.bind_options())?;
        owned.local = port.addr()?;
        owned.port = Some(port);
        Ok(())
    }

    /// `inet_stream_connect` with `tcp_v4_connect`: `EISCONN`, `EALREADY`,
    /// `EINPROGRESS` for a non-blocking socket, the connection's error
    /// (`ECONNREFUSED`, `ETIMEDOUT`, ...) for a blocking one, `AF_UNSPEC`
    /// to disconnect.
    fn connect(sock: &Socket<RtcpProto>, raw: &[u8], nonblock: bool) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let Some(&[f0, f1]) = raw.get(..2) else { return Err(EINVAL) };
        {
            let mut owned = sk.lock();
            if u16::from_ne_bytes([f0, f1]) == sys::AF_UNSPEC as u16 {
                Self::abort(sk);
                sock.set_state(SS_UNCONNECTED);
                return Ok(());
            }
            match sock.state() {
                SS_CONNECTED => return Err(EISCONN),
                SS_CONNECTING => {
                    if sk.state() == TCP_SYN_SENT && nonblock {
                        return Err(EALREADY);
                    }
                }
                SS_UNCONNECTED => {
                    if sk.state() != TCP_CLOSE {
                        return Err(EISCONN);
                    }
                    Self::start_connect(sock, sk, &mut owned, raw)?;
                    if nonblock {
                        return Err(EINPROGRESS);
                    }
                }
                _ => return Err(EINVAL),
            }
        }
        // Wait without the socket lock, as inet_wait_for_connect.
        let timeo = sk.send_timeout(nonblock);
        if !sk.wait_until(timeo, || sk.state() != TCP_SYN_SENT)? {
            return Err(EINPROGRESS);
        }
        let _owned = sk.lock();
        if sk.state() == TCP_CLOSE {
            sock.set_state(SS_UNCONNECTED);
            let err = sk.take_error();
            return Err(if err > 0 { Error::from_errno(-err) } else { ECONNABORTED });
        }
        sock.set_state(SS_CONNECTED);
        Ok(())
    }

    fn getname(sock: &Socket<RtcpProto>, peer: bool) -> Result<SockAddrIn> {
        let sk = sock.sk().ok_or(EINVAL)?;
        let owned = sk.lock();
        let tcb = sk.shared().tcb.lock();
        match (peer, Option::as_ref(&*tcb)) {
            (false, _) => Ok(owned.local),
            // As inet_getname: no peer before the connection is up.
            (true, Some(c)) if sk.state() != TCP_SYN_SENT && sk.state() != TCP_CLOSE => {
                Ok(SockAddrIn { addr: c.remote.addr, port: c.remote.port })
            }
            (true, _) => Err(ENOTCONN),
        }
    }

    /// As `tcp_poll` for the states RTCP has so far.
    fn poll(sock: &Socket<RtcpProto>, wait: &PollTable<'_>) -> u32 {
        wait.wait(sock);
        let Some(sk) = sock.sk() else { return EPOLLHUP };
        let state = sk.state();
        let shutdown = sk.shutdown();
        let mut mask = 0;
        if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        if shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        }
        if state != TCP_SYN_SENT && shutdown & SEND_SHUTDOWN == 0 {
            mask |= EPOLLOUT | EPOLLWRNORM;
        }
        if sk.has_error() {
            mask |= EPOLLERR;
        }
        mask
    }

    fn timer(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let (out, ends, rearm) = {
            let mut tcb = sk.shared().tcb.lock();
            let Some(conn) = Option::as_mut(&mut *tcb) else { return };
            let out = conn.on_timer(now);
            let rearm = conn.deadline().map(|d| d.saturating_sub(now));
            (out, (conn.local, conn.remote), rearm)
        };
        apply(sk, Some(ends), out, rearm);
    }

    fn destruct(sk: &Sock<RtcpProto>) {
        RtcpNet::of(sk.net()).socks.fetch_sub(1, Ordering::Relaxed);
    }
}
