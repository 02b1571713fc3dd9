// SPDX-License-Identifier: GPL-2.0

//! The `AF_RTCP` family: socket creation and the socket calls, the
//! counterpart of `net/ipv4/af_inet.c` (and of `tcp_v4_connect`) for RTCP.
//!
//! Locking: a socket call holds the socket lock (`lock_sock`) for the
//! sock's owned state; the connection (`Tcb`) is under a spinlock that the
//! receive hook and the timer take too. Segments are sent, and waiters
//! woken, after that spinlock is released.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{aref::ARef, SpinLockIrq},
};

use crate::net::{
    self, skb, Hook, HookDef, HookRegistration, Msg, Net, OptIn, OptVal, Packet, Pernet, PernetDef, PernetId,
    PollTable, PortReleases, PortReservation, ProtoDef, Route, Sock, SockAddrIn, Socket,
};
use crate::net::buf::{Lease, SharedBytes};
use crate::net::rxq::{Part, Plan, RxQueue};
use crate::net::skb::SkbPayload;
use crate::net::siphash::SipKey;
use crate::net::sysctl::IntDef;
use crate::proto::cc::Algorithm;
use crate::proto::conn::{Config, Conn, ConnError, Endpoint, IcmpAction, Keepalive, Outcome};
use crate::proto::output::Transmit;
use crate::proto::ring::{Ring, Spans};
use crate::proto::icmp::{IcmpErrno, IcmpError};
use crate::proto::cookie::{self, CookieHash, Cookies};
use crate::proto::request::{listen_segment, ListenAction, Request, RequestOutcome};
use crate::proto::segment::Segment;
use crate::proto::seq::SeqNum;
use crate::proto::state::State;
use crate::proto::stream::{self, Stream};
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
const TCP_LISTEN: u8 = State::Listen.linux();
const TCP_TIME_WAIT: u8 = State::TimeWait.linux();
const TCP_FIN_WAIT1: u8 = State::FinWait1.linux();
const TCP_CLOSING: u8 = State::Closing.linux();
const TCP_LAST_ACK: u8 = State::LastAck.linux();
/// `sk_shutdown` bits.
const RCV_SHUTDOWN: u8 = sys::RCV_SHUTDOWN as u8;
const SEND_SHUTDOWN: u8 = sys::SEND_SHUTDOWN as u8;
/// `socket->state`.
const SS_UNCONNECTED: u32 = sys::socket_state_SS_UNCONNECTED;
const SS_CONNECTING: u32 = sys::socket_state_SS_CONNECTING;
const SS_CONNECTED: u32 = sys::socket_state_SS_CONNECTED;

/// IP and TCP headers without options, less than the MTU is the MSS.
const IP_TCP_HEADERS: u32 = 40;
/// The most an accepted connection's buffers may have from its
/// listener's `SO_RCVBUF`/`SO_SNDBUF` (allocated in softirq context, so
/// kept to an order-4 allocation each).
const CHILD_BUF: usize = 65_536;

/// The bounds of a connection's buffers, from half of `SO_SNDBUF` and
/// `SO_RCVBUF` (the kernel doubles what the user sets, for overhead), and
/// of `net.rtcp.rmem` and `wmem` (one kmalloc each, at most order 10).
const MIN_BUF: usize = 4_096;
const MAX_BUF: usize = 4 << 20;

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
    /// `bind()` chose the port (`SOCK_BINDPORT_LOCK`): the connection
    /// keeps it after close() until its end (TIME-WAIT included), as
    /// Linux's TCP does. A port connect() picked goes back at close(): a
    /// reservation here is a bound socket, which another connect() cannot
    /// share as `inet_hash_connect` shares a port among four-tuples.
    bound: bool,
    /// `TCP_SYNCNT` (0: the namespace's `syn_retries`).
    syn_count: u8,
}

/// The per-namespace sysctls under `net.rtcp`, as Linux's TCP has them
/// under `net.ipv4` (same names, less `tcp_`, same bounds).
const SYSCTLS: [IntDef; 5] = [
    IntDef { name: c"syn_retries", default: &[6], min: 1, max: MAX_TCP_SYNCNT as i32 },
    IntDef { name: c"synack_retries", default: &[5], min: 0, max: 255 },
    // 0: never, 1: when the SYN queue is full, 2: always.
    IntDef { name: c"syncookies", default: &[1], min: 0, max: 2 },
    // The buffers of a connection whose user left SO_RCVBUF or SO_SNDBUF
    // to the protocol: the least the user may set, the size it starts with
    // (one page, so that a short connection costs little), the most it
    // grows to as the data needs (doubling). Linux's `tcp_rmem` and
    // `tcp_wmem` limit memory that is only taken as segments come; here
    // the buffer is taken when it starts or grows.
    IntDef { name: c"rmem", default: &[4096, 4096, 1 << 20], min: 1, max: i32::MAX },
    IntDef { name: c"wmem", default: &[4096, 4096, 1 << 20], min: 1, max: i32::MAX },
];
const SYN_RETRIES: usize = 0;
const SYNACK_RETRIES: usize = 1;
const SYNCOOKIES: usize = 2;
const RMEM: usize = 3;
const WMEM: usize = 4;
/// The most SYN retransmissions `TCP_SYNCNT` and `syn_retries` allow.
const MAX_TCP_SYNCNT: u8 = 127;
/// Ephemeral ports connect() tries when their four-tuple is still in use.
const MAX_PORT_TRIES: usize = 8;
/// `tcpi_snd_ssthresh` before the first loss (`include/net/tcp.h`).
const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// The bounds of `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (s) and `TCP_KEEPCNT`
/// (`include/net/tcp.h`).
const MAX_TCP_KEEPIDLE: u32 = 32767;
const MAX_TCP_KEEPINTVL: u32 = 32767;
const MAX_TCP_KEEPCNT: u32 = 127;

/// A listening sock's queues (`inet_connection_sock`'s request and accept
/// queues).
pub(crate) struct Listener {
    /// `listen()`'s backlog: the accept queue holds one more (as
    /// `sk_acceptq_is_full`), the SYN queue as many.
    backlog: usize,
    /// Handshakes in progress: our SYN-ACK is out.
    requests: KVec<Request>,
    /// Established connections waiting for `accept()`.
    queue: KVec<ARef<Sock<RtcpProto>>>,
    /// When a SYN last found the SYN queue full (or got a cookie): final
    /// ACKs are checked for cookies until two minutes after.
    last_overflow: Option<u64>,
    /// The "Possible SYN flooding" message was printed for this listener.
    flood_warned: bool,
    /// The listener's port, which each connection it accepts holds too,
    /// to its end (`inet_csk_clone_lock`).
    port: Option<PortReservation>,
}

impl Listener {
    fn new(backlog: usize, port: Option<PortReservation>) -> Listener {
        Listener { backlog, requests: KVec::new(), queue: KVec::new(), last_overflow: None, flood_warned: false, port }
    }

    /// `sk_acceptq_is_full`.
    fn accept_queue_full(&self) -> bool {
        self.queue.len() > self.backlog
    }

    /// `inet_csk_reqsk_queue_is_full`.
    fn syn_queue_full(&self) -> bool {
        self.requests.len() > self.backlog
    }

    /// Did a SYN overflow the queue within a cookie's lifetime
    /// (`!tcp_synq_no_recent_overflow`)?
    fn recent_overflow(&self, now: u64) -> bool {
        const VALID_MS: u64 = cookie::MAX_AGE_MINUTES as u64 * MINUTE_MS;
        self.last_overflow.is_some_and(|t| now.saturating_sub(t) <= VALID_MS)
    }

    /// When the listener's timer should next fire.
    fn deadline(&self) -> Option<u64> {
        self.requests.iter().map(|r| r.deadline).min()
    }
}

/// A connection with its buffers, and the received payloads kept in their
/// skbs for its reader ([`RxQueue`]).
pub(crate) struct RtcpStream {
    st: Stream<SharedBytes>,
    rxq: RxQueue,
}

impl core::ops::Deref for RtcpStream {
    type Target = Stream<SharedBytes>;

    fn deref(&self) -> &Stream<SharedBytes> {
        &self.st
    }
}

impl core::ops::DerefMut for RtcpStream {
    fn deref_mut(&mut self) -> &mut Stream<SharedBytes> {
        &mut self.st
    }
}

/// Payloads shorter than this are copied into the receive buffer: an skb
/// costs more to keep than they do to copy.
const KEEP_MIN: u32 = 1024;

/// A received payload offered to the stream, to keep if `may`.
struct KeepOffer<'a, 'b> {
    payload: &'a SkbPayload<'b>,
    may: bool,
    kept: Cell<Option<(u32, u32)>>,
}

impl stream::Payload for KeepOffer<'_, '_> {
    fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool {
        self.payload.copy_to(skip, dst)
    }

    fn keep(&self, skip: u32, len: u32) -> bool {
        if self.may {
            self.kept.set(Some((skip, len)));
        }
        self.may
    }
}

impl RtcpStream {
    fn new(st: Stream<SharedBytes>) -> Self {
        RtcpStream { st, rxq: RxQueue::new() }
    }

    /// A segment arrived ([`Stream::on_segment`]). Its payload, in order,
    /// stays in its skb for the reader if it is long enough and the kept
    /// skbs stay within the receive buffer's size.
    fn receive(&mut self, seg: &Segment, payload: &SkbPayload<'_>, payload_len: u32, now: u64) -> Outcome {
        let may = payload.len() >= KEEP_MIN && self.rxq.make_room(payload.truesize(), self.st.rx.capacity());
        let offer = KeepOffer { payload, may, kept: Cell::new(None) };
        let out = self.st.on_segment(seg, &offer, payload_len, now);
        if let (Some((skip, len)), Some(place)) = (offer.kept.get(), out.data) {
            let off = payload.offset().saturating_add(skip);
            let pushed = match payload.take() {
                Some(skb) => self.rxq.push(place.at as usize, skb, off, len).map_err(|skb| payload.put_back(skb)),
                None => Err(()),
            };
            if pushed.is_err() {
                // Not kept after all (make_room made room, so never): the
                // bytes go into the buffer.
                self.st.fill(place, payload);
            }
        }
        out
    }

    /// The next bytes to read, `n` at most, for the reader to copy with
    /// the lock let go; `None` if there are none.
    fn plan(&self, n: usize) -> Option<(Plan, Lease)> {
        let n = n.min(self.st.rx.len());
        let lease = self.st.rx.storage().lease().filter(|_| n > 0)?;
        let plan = self.rxq.plan(n, |r| self.st.rx.data_spans(r.start, r.len()));
        (plan.len > 0).then_some((plan, lease))
    }

    /// `n` bytes of `plan` were read ([`Stream::took`]).
    fn took_planned(&mut self, plan: &Plan, n: usize) -> bool {
        let n = n.min(plan.len);
        self.rxq.consume(plan, n);
        self.st.took(n)
    }
}

/// The protocol side of a sock.
// It lives inside the sock, allocated once: the largest variant costs no
// more than boxing it would.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Tcb {
    /// Neither connected nor listening.
    Idle,
    /// A connection (from connect() or accepted).
    Conn(RtcpStream),
    /// A listener.
    Listen(Listener),
}

impl Tcb {
    fn conn(&mut self) -> Option<&mut Conn> {
        self.stream().map(|s| &mut s.conn)
    }

    fn stream(&mut self) -> Option<&mut RtcpStream> {
        match self {
            Tcb::Conn(s) => Some(s),
            _ => None,
        }
    }
}

/// What this side offers in its SYN or SYN-ACK: the MSS of the route, the
/// SYN retries, buffers of `rx` and `tx` bytes (the window is the receive
/// buffer), and every option.
fn our_config(mss: u32, syn_retries: u8, rx: usize, tx: usize) -> Config {
    Config {
        mss: u16::try_from(mss).unwrap_or(u16::MAX),
        syn_retries,
        rcv_wnd: u32::try_from(rx).unwrap_or(u32::MAX),
        sndbuf: u32::try_from(tx).unwrap_or(u32::MAX),
        ..Config::default()
    }
}

/// `conn` with the buffers its configuration asks for: `sndbuf` bytes to
/// send, and a receive buffer for its window (with the slack for its
/// rounding, [`stream::rx_capacity`]).
fn new_stream(conn: Conn, flags: kernel::alloc::Flags) -> Result<RtcpStream> {
    let tx = SharedBytes::pages(conn.cfg.sndbuf as usize, flags)?;
    let rx = SharedBytes::new(stream::rx_capacity(&conn.cfg), flags)?;
    Ok(RtcpStream::new(Stream::new(conn, tx, rx)))
}

/// A connection that will not send any more (TIME-WAIT, closed) gives its
/// send buffer back, and its receive buffer once nothing in it is left to
/// read.
fn drop_buffers(s: &mut RtcpStream) {
    s.tx = Ring::new(SharedBytes::empty());
    if s.rx.is_empty() {
        s.rx = Ring::new(SharedBytes::empty());
    }
}

/// What each sock shares with the receive hook and the timer.
#[pin_data]
pub(crate) struct RtcpShared {
    #[pin]
    tcb: SpinLockIrq<Tcb>,
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` (s) and `TCP_KEEPCNT` (0: Linux's
    /// default), read by `SO_KEEPALIVE`'s callback, which runs under the
    /// socket lock.
    keep_idle: AtomicU32,
    keep_intvl: AtomicU32,
    keep_cnt: AtomicU32,
    /// `TCP_USER_TIMEOUT`, ms (0: off).
    user_timeout: AtomicU32,
    /// `TCP_NODELAY` and `TCP_CORK` (here, not under the socket lock, so
    /// that a listener's children take them in softirq context).
    nodelay: AtomicBool,
    cork: AtomicBool,
    /// `TCP_CONGESTION` is "reno" (else "cubic", the default).
    reno: AtomicBool,
    /// The most segments one GSO skb carries on the connection's route
    /// (0: no route yet, no bound but the skb's).
    gso_segs: AtomicU32,
    /// The port a connection holds to its end once nobody's socket does:
    /// its listener's, or its own after close() if `bind()` chose it. Let
    /// go when the connection is over ([`done`]) or the sock goes.
    #[pin]
    held_port: SpinLockIrq<Option<PortReservation>>,
}

impl RtcpShared {
    /// Keeps `port` with the connection to its end, if it is not over;
    /// else gives it back.
    fn hold_port(&self, port: PortReservation) -> Option<PortReservation> {
        let tcb = self.tcb.lock();
        match &*tcb {
            Tcb::Conn(st) if st.conn.state != State::Closed => {
                // `done` takes it after the connection's end, or the
                // sock's end drops it.
                let old = self.held_port.lock().replace(port);
                drop(tcb);
                old
            }
            _ => Some(port),
        }
    }

    /// The keepalive of the socket's options, if `SO_KEEPALIVE` is on.
    fn keepalive(&self, sk: &Sock<RtcpProto>) -> Option<Keepalive> {
        sk.keepopen().then(|| self.keep_params())
    }

    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` (or their defaults).
    fn keep_params(&self) -> Keepalive {
        let d = Keepalive::default();
        let secs = |a: &AtomicU32, dflt: u64| match a.load(Ordering::Relaxed) {
            0 => dflt,
            s => u64::from(s) * 1000,
        };
        Keepalive {
            idle_ms: secs(&self.keep_idle, d.idle_ms),
            intvl_ms: secs(&self.keep_intvl, d.intvl_ms),
            cnt: match self.keep_cnt.load(Ordering::Relaxed) {
                0 => d.cnt,
                n => u8::try_from(n).unwrap_or(u8::MAX),
            },
        }
    }

    /// Gives the connection the socket's keepalive and user timeout.
    fn sync_options(&self, sk: &Sock<RtcpProto>, c: &mut Conn) {
        c.data.keepalive = self.keepalive(sk);
        c.data.user_timeout_ms = self.user_timeout.load(Ordering::Relaxed);
        c.data.nodelay = self.nodelay.load(Ordering::Relaxed);
        c.data.cork = self.cork.load(Ordering::Relaxed);
        c.cfg.congestion = self.congestion();
        c.data.cc.set_algorithm(c.cfg.congestion);
    }

    /// The congestion control `TCP_CONGESTION` chose.
    fn congestion(&self) -> Algorithm {
        if self.reno.load(Ordering::Relaxed) { Algorithm::Reno } else { Algorithm::Cubic }
    }

    /// A child takes its listener's TCP-level options (`tcp_create_openreq_child`
    /// copies them with the sock).
    fn inherit(&self, parent: &RtcpShared) {
        for (to, from) in [
            (&self.keep_idle, &parent.keep_idle),
            (&self.keep_intvl, &parent.keep_intvl),
            (&self.keep_cnt, &parent.keep_cnt),
            (&self.user_timeout, &parent.user_timeout),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.nodelay.store(parent.nodelay.load(Ordering::Relaxed), Ordering::Relaxed);
        self.cork.store(parent.cork.load(Ordering::Relaxed), Ordering::Relaxed);
        self.reno.store(parent.reno.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl net::Proto for RtcpProto {
    const NAME: &'static [u8] = b"RTCP";
    type Owned = RtcpOwned;
    type Shared = RtcpShared;

    fn shared() -> impl PinInit<RtcpShared, Error> {
        try_pin_init!(RtcpShared {
            tcb <- new_spinlock_irq!(Tcb::Idle, "rtcp_tcb"),
            keep_idle: AtomicU32::new(0),
            keep_intvl: AtomicU32::new(0),
            keep_cnt: AtomicU32::new(0),
            user_timeout: AtomicU32::new(0),
            nodelay: AtomicBool::new(false),
            cork: AtomicBool::new(false),
            reno: AtomicBool::new(false),
            gso_segs: AtomicU32::new(0),
            held_port <- new_spinlock_irq!(None, "rtcp_held_port"),
        })
    }

    /// `SO_KEEPALIVE`: the connection starts (or stops) probing an idle
    /// peer; its timer follows.
    fn keepalive(sk: &Sock<RtcpProto>, on: bool) {
        // The flag is set after this callback returns: the parameters are
        // taken whatever it says now.
        let ka = on.then(|| sk.shared().keep_params());
        let now = now_ms();
        drive(sk, now, |st| {
            st.conn.set_keepalive(ka, now);
            Some((Outcome::default(), false))
        });
    }
}

pub(crate) static PROTO: ProtoDef<RtcpProto> = ProtoDef::new();

/// The two SipHash keys of a namespace's SYN cookies (`syncookie_secret`).
struct CookieKeys([SipKey; 2]);

impl CookieHash for CookieKeys {
    fn hash(&self, local: Endpoint, remote: Endpoint, count: u32, key: usize) -> u32 {
        let key = if key == 0 { &self.0[0] } else { &self.0[1] };
        let addrs = u64::from(remote.addr) << 32 | u64::from(local.addr);
        let rest = u64::from(remote.port) << 48 | u64::from(local.port) << 32 | u64::from(count);
        key.hash2(addrs, rest) as u32
    }
}

/// A minute, the unit of the SYN cookies' clock.
const MINUTE_MS: u64 = 60_000;

/// Counters of `/proc/net/rtcp_stat`, named as their `Tcp:` and
/// `TcpExt:` counterparts in `/proc/net/snmp` and `/proc/net/netstat`.
#[derive(Default)]
pub(crate) struct Stats {
    active_opens: AtomicUsize,
    passive_opens: AtomicUsize,
    attempt_fails: AtomicUsize,
    in_segs: AtomicUsize,
    out_segs: AtomicUsize,
    retrans_segs: AtomicUsize,
    out_rsts: AtomicUsize,
    in_csum_errors: AtomicUsize,
    listen_drops: AtomicUsize,
    listen_overflows: AtomicUsize,
    req_q_full_do_cookies: AtomicUsize,
    req_q_full_drop: AtomicUsize,
    syncookies_sent: AtomicUsize,
    syncookies_recv: AtomicUsize,
    syncookies_failed: AtomicUsize,
    out_of_window_icmps: AtomicUsize,
}

impl Stats {
    fn inc(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a segment going out.
    fn sent(&self, seg: &Segment, retransmission: bool) {
        Self::inc(&self.out_segs);
        if retransmission {
            Self::inc(&self.retrans_segs);
        }
        if seg.flags.contains(crate::proto::segment::Flags::RST) {
            Self::inc(&self.out_rsts);
        }
    }
}

/// What RTCP keeps in each network namespace.
#[pin_data]
pub(crate) struct RtcpNet {
    /// `/proc/net/rtcp_stat`.
    stats: Stats,
    /// Socks alive in the namespace.
    socks: AtomicUsize,
    /// Connections by four-tuple.
    #[pin]
    conns: SpinLockIrq<crate::demux::ConnTable<ARef<Sock<RtcpProto>>>>,
    /// Listeners by local address (`INADDR_ANY` matches every address).
    #[pin]
    listeners: SpinLockIrq<KVec<(SockAddrIn, ARef<Sock<RtcpProto>>)>>,
    /// The receive hook of the namespace.
    hook: HookRegistration<RtcpHook>,
    /// `net.rtcp.*`.
    sysctl: net::sysctl::Sysctls<5>,
    /// The secrets of the namespace's SYN cookies.
    cookie_keys: CookieKeys,
    /// `/proc/net/rtcp`.
    proc: net::procfs::ProcFile<ProcRtcp>,
    /// `/proc/net/rtcp_stat`.
    proc_stat: net::procfs::ProcFile<ProcRtcpStat>,
}

impl RtcpNet {
    fn of(net: &Net) -> &RtcpNet {
        net::pernet::state::<RtcpPernet>(net)
    }

    /// A sysctl of at most 255 (its bounds say so).
    fn sysctl_u8(&self, i: usize) -> u8 {
        u8::try_from(self.sysctl.get(i)).unwrap_or(u8::MAX)
    }

    /// The buffer sizes of `net.rtcp.rmem` or `wmem` (`which`), in order
    /// and within [`MIN_BUF`]..=[`MAX_BUF`].
    fn buf_sizes(&self, which: usize) -> BufSizes {
        let [min, start, max] = self.sysctl.ints(which).map(|v| usize::try_from(v).unwrap_or(0));
        let min = min.clamp(MIN_BUF, MAX_BUF);
        let max = max.clamp(min, MAX_BUF);
        BufSizes { min, start: start.clamp(min, max), max }
    }

    /// Adds a connection. A connection of the same four-tuple in
    /// TIME-WAIT makes way for it (as `tcp_twsk_unique` lets a new connect
    /// reuse the tuple: the new ISN is past the old one); any other is
    /// `EADDRNOTAVAIL`.
    fn insert(&self, local: Endpoint, remote: Endpoint, sk: ARef<Sock<RtcpProto>>) -> Result {
        let evicted = {
            let mut conns = self.conns.lock();
            let evicted = match conns.get(local, remote) {
                Some(old) if old.state() == TCP_TIME_WAIT => conns.remove(local, remote, |_| true),
                Some(_) => return Err(EADDRNOTAVAIL),
                None => None,
            };
            conns.insert(local, remote, sk)?;
            evicted
        };
        if let Some(tw) = evicted {
            // Dropped with the lock let go: kept skbs are not freed with
            // interrupts off.
            let old = core::mem::replace(&mut *tw.shared().tcb.lock(), Tcb::Idle);
            drop(old);
            tw.stop_timer();
            tw.set_state(TCP_CLOSE);
        }
        Ok(())
    }

    /// Takes `sk`, the connection of `local` and `remote`, out of the
    /// table (if it is still there: a new connection may have taken over
    /// its tuple from TIME-WAIT).
    fn remove(&self, sk: &Sock<RtcpProto>, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        self.conns.lock().remove(local, remote, |s| core::ptr::eq(&**s, sk))
    }

    fn lookup(&self, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        self.conns.lock().get(local, remote).cloned()
    }

    /// The listener for `local`: one bound to that address before one
    /// bound to `INADDR_ANY`.
    fn listener(&self, local: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        let ls = self.listeners.lock();
        let on = |addr: u32| ls.iter().find(|(a, _)| a.port == local.port && a.addr == addr);
        on(local.addr).or_else(|| on(0)).map(|(_, sk)| sk.clone())
    }

    fn remove_listener(&self, sk: &Sock<RtcpProto>) -> Option<ARef<Sock<RtcpProto>>> {
        let mut ls = self.listeners.lock();
        let i = ls.iter().position(|(_, l)| core::ptr::eq(&**l, sk))?;
        Some(ls.remove(i).ok()?.1)
    }
}

/// One direction's buffer sizes: the least `SO_RCVBUF`/`SO_SNDBUF` give,
/// the size a buffer left to the protocol starts with, and the most it
/// grows to.
struct BufSizes {
    min: usize,
    start: usize,
    max: usize,
}

impl BufSizes {
    /// The size of a buffer: what the user set (`user`), within bounds, or
    /// the start; neither above `most`.
    fn size(&self, user: Option<u32>, most: usize) -> usize {
        user.map_or(self.start, |b| (b as usize).max(self.min)).min(most)
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
            stats: Stats::default(),
            socks: AtomicUsize::new(0),
            conns <- new_spinlock_irq!(crate::demux::ConnTable::new()?, "rtcp_conns"),
            listeners <- new_spinlock_irq!(KVec::new(), "rtcp_listeners"),
            hook: HookRegistration::new(net, &HOOK)?,
            sysctl: net::sysctl::Sysctls::new(net, c"net/rtcp", &SYSCTLS)?,
            cookie_keys: CookieKeys([SipKey::random(), SipKey::random()]),
            proc: net::procfs::ProcFile::new(net)?,
            proc_stat: net::procfs::ProcFile::new(net)?,
        })
    }

    fn exit(_net: &Net, state: &RtcpNet) {
        // A user sock holds a reference on its namespace until it is an
        // orphan in TIME-WAIT or FIN-WAIT-2 (`let_namespace_go`): those are
        // what is left in the table, and they end now, as Linux's TCP
        // purges its TIME-WAIT socks (`tcp_twsk_purge`).
        loop {
            let Some(e) = state.conns.lock().take_any() else { break };
            RtcpOps::purge(&e.val);
        }
        // Their destructors, and a timer's run that ended one just before,
        // still use this state: it goes after the last sock. A sock still
        // alive now is a kernel socket its owner did not release, which
        // the owner must do before its namespace goes.
        let mut waited = 0u32;
        while state.socks.load(Ordering::Acquire) != 0 {
            if waited % 10_000 == 9_999 {
                pr_warn!("rtcp: {} socks still alive in an exiting namespace\n", state.socks.load(Ordering::Relaxed));
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited = waited.wrapping_add(1);
        }
        // The last socks may have left their ports to the workqueue: the
        // kernel sockets holding them go before the namespace does.
        PortReleases::flush();
    }
}

/// `/proc/net/rtcp`: RTCP's sockets of the namespace in the format of
/// `/proc/net/tcp` (listeners, their handshakes in progress, connections),
/// so the same tools read both.
pub(crate) struct ProcRtcp;

impl ProcRtcp {
    /// Every line is padded with spaces to this width, as `/proc/net/tcp`
    /// pads its lines (`seq_setwidth(seq, TMPSZ - 1)`).
    const WIDTH: usize = 149;

    /// Prints `args` padded to [`ProcRtcp::WIDTH`], then a newline.
    fn padded(m: &kernel::seq_file::SeqFile, args: core::fmt::Arguments<'_>) {
        struct Count(usize);
        impl core::fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.0 = self.0.saturating_add(s.len());
                Ok(())
            }
        }
        let mut c = Count(0);
        let _ = core::fmt::write(&mut c, args);
        let pad = Self::WIDTH.saturating_sub(c.0);
        kernel::seq_print!(m, "{}{:pad$}\n", args, "");
    }

    fn line(m: &kernel::seq_file::SeqFile, n: usize, local: Endpoint, remote: Endpoint, row: Row) {
        Self::padded(
            m,
            format_args!(
                "{:4}: {:08X}:{:04X} {:08X}:{:04X} {:02X} {:08X}:{:08X} 00:00000000 {:08X} {:5} {:8} {}",
                n,
                local.addr.to_be(),
                local.port,
                remote.addr.to_be(),
                remote.port,
                row.state,
                row.tx_queue,
                row.rx_queue,
                row.retransmits,
                row.uid,
                0,
                row.inode
            ),
        );
    }
}

/// The columns of one `/proc/net/rtcp` line besides the addresses.
struct Row {
    state: u8,
    tx_queue: u32,
    rx_queue: u32,
    retransmits: u8,
    uid: u32,
    inode: u64,
}

impl net::procfs::ProcShow for ProcRtcp {
    const NAME: &'static CStr = c"rtcp";

    fn show(net: &Net, m: &kernel::seq_file::SeqFile) {
        Self::padded(
            m,
            format_args!("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"),
        );
        let rn = RtcpNet::of(net);
        let mut n = 0;
        // Copies of the references, so that no lock is held while printing.
        let mut socks = KVec::new();
        for (addr, sk) in rn.listeners.lock().iter() {
            let _ = socks.push((Some(*addr), sk.clone()), GFP_ATOMIC);
        }
        for e in rn.conns.lock().iter() {
            let _ = socks.push((None, e.val.clone()), GFP_ATOMIC);
        }
        for (listen_addr, sk) in socks.iter() {
            let (uid, inode) = (sk.uid(), sk.inode());
            let tcb = sk.shared().tcb.lock();
            match (&*tcb, listen_addr) {
                (Tcb::Listen(l), Some(addr)) => {
                    let local = Endpoint { addr: addr.addr, port: addr.port };
                    let row = Row {
                        state: TCP_LISTEN,
                        tx_queue: l.backlog as u32,
                        rx_queue: l.queue.len() as u32,
                        retransmits: 0,
                        uid,
                        inode,
                    };
                    Self::line(m, n, local, Endpoint::default(), row);
                    n += 1;
                    for r in l.requests.iter() {
                        let row = Row {
                            state: State::SynReceived.linux(),
                            tx_queue: 0,
                            rx_queue: 0,
                            retransmits: r.retransmits,
                            uid,
                            inode: 0,
                        };
                        Self::line(m, n, r.local, r.remote, row);
                        n += 1;
                    }
                }
                (Tcb::Conn(st), None) => {
                    let c = &st.conn;
                    let row = Row {
                        state: sk.state(),
                        tx_queue: c.send_queued(),
                        rx_queue: c.data.rx_unread,
                        retransmits: c.retransmits,
                        uid,
                        inode,
                    };
                    Self::line(m, n, c.local, c.remote, row);
                    n += 1;
                }
                _ => {}
            }
        }
    }
}

/// `/proc/net/rtcp_stat`: the namespace's counters, one per line.
pub(crate) struct ProcRtcpStat;

impl net::procfs::ProcShow for ProcRtcpStat {
    const NAME: &'static CStr = c"rtcp_stat";

    fn show(net: &Net, m: &kernel::seq_file::SeqFile) {
        let s = &RtcpNet::of(net).stats;
        let rows: [(&str, &AtomicUsize); 16] = [
            ("ActiveOpens", &s.active_opens),
            ("PassiveOpens", &s.passive_opens),
            ("AttemptFails", &s.attempt_fails),
            ("InSegs", &s.in_segs),
            ("OutSegs", &s.out_segs),
            ("RetransSegs", &s.retrans_segs),
            ("OutRsts", &s.out_rsts),
            ("InCsumErrors", &s.in_csum_errors),
            ("ListenDrops", &s.listen_drops),
            ("ListenOverflows", &s.listen_overflows),
            ("TCPReqQFullDoCookies", &s.req_q_full_do_cookies),
            ("TCPReqQFullDrop", &s.req_q_full_drop),
            ("SyncookiesSent", &s.syncookies_sent),
            ("SyncookiesRecv", &s.syncookies_recv),
            ("SyncookiesFailed", &s.syncookies_failed),
            ("OutOfWindowIcmps", &s.out_of_window_icmps),
        ];
        for (name, c) in rows {
            kernel::seq_print!(m, "{} {}\n", name, c.load(Ordering::Relaxed));
        }
    }
}

/// Sends `seg` of a connection from `local` to `remote`, routing it now.
fn send(net: &Net, key: net::route::FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment) {
    send_counted(net, key, local, remote, seg, false)
}

/// [`send`], counting a retransmission.
fn send_counted(net: &Net, key: net::route::FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment, retransmission: bool) {
    RtcpNet::of(net).stats.sent(seg, retransmission);
    let sent = Route::output(net, key, local.addr, remote.addr, local.port, remote.port)
        .and_then(|rt| skb::send(net, rt, local.addr, remote.addr, seg));
    // A segment that cannot go out now is lost like one dropped on the
    // way: retransmission covers it.
    let _ = sent;
}

/// The segments of one connection, built under its lock and sent after it
/// (a route lookup and `ip_local_out` must not run with IRQs off).
struct Outbox {
    local: Endpoint,
    remote: Endpoint,
    skbs: KVec<skb::TcpSkb>,
}

impl Outbox {
    /// The most segments one event sends; more wait for the next ACK.
    const MAX: usize = 64;

    fn new(c: &Conn) -> Outbox {
        Outbox { local: c.local, remote: c.remote, skbs: KVec::new() }
    }

    /// Builds `seg` (no payload), counting it. A segment that cannot be
    /// built is lost like one dropped on the way.
    fn push(&mut self, net: &Net, seg: &Segment, retransmission: bool) {
        RtcpNet::of(net).stats.sent(seg, retransmission);
        self.build(seg, None, u16::MAX);
    }

    fn build(&mut self, seg: &Segment, payload: Option<(&SharedBytes, Spans)>, mss: u16) {
        if let Ok(t) = skb::build(self.local.addr, self.remote.addr, seg, payload, mss) {
            let _ = self.skbs.push(t, GFP_ATOMIC);
        }
    }

    /// Everything the connection sends now. Full segments back to back
    /// whose headers differ only in the sequence number go out as one GSO
    /// skb (as `tcp_write_xmit` sends TSO skbs): the device or the stack
    /// cuts it where each segment ended.
    fn drain(&mut self, net: &Net, s: &mut RtcpStream, now: u64, gso_segs: u32) {
        // The segments gathered so far, as one: its first header, the
        // payload of all, and the size of each (the first one's).
        let mut batch: Option<(Transmit, u32)> = None;
        for _ in 0..Self::MAX {
            let Some(t) = s.conn.transmit(now) else { break };
            RtcpNet::of(net).stats.sent(&t.seg, t.retransmission);
            if let Some((b, size)) = batch.as_mut() {
                if Self::joins(&s.tx, b, *size, &t, gso_segs) {
                    b.len = b.len.saturating_add(t.len);
                    b.seg.flags = t.seg.flags;
                    continue;
                }
            }
            if let Some((b, size)) = batch.replace((t, t.len)) {
                self.build_from(s, &b, size);
            }
        }
        if let Some((b, size)) = batch {
            self.build_from(s, &b, size);
        }
    }

    /// Whether `t` can ride in the GSO skb of `b` (segments of `size`):
    /// it follows `b` in sequence and in the send buffer, every segment of
    /// `b` is full and carries no PSH or FIN, the headers are the same but
    /// for the sequence number (and `t`'s PSH or FIN, which GSO leaves on
    /// the last piece), and the whole fits one skb, of at most `gso_segs`
    /// segments (0: no bound) and of no more pages than an skb has frags.
    fn joins(tx: &Ring<SharedBytes>, b: &Transmit, size: u32, t: &Transmit, gso_segs: u32) -> bool {
        let mut h = t.seg;
        h.seq = b.seg.seq;
        h.flags = b.seg.flags;
        let plain = b.seg.flags == crate::proto::segment::Flags::ACK;
        let full = size > 0 && b.len % size == 0 && t.len > 0 && t.len <= size;
        let next = t.seg.seq == b.seg.seq.add(b.len) && t.off == b.off.wrapping_add(b.len);
        let room = (b.len as usize).saturating_add(t.len as usize).saturating_add(b.seg.emit_header_len())
            <= skb::MAX_TCP_LEN
            && (gso_segs == 0 || b.len / size.max(1) < gso_segs);
        let frags = || {
            let (x, y) = tx.data_spans(b.off as usize, b.len.saturating_add(t.len) as usize)?;
            let pages = tx.storage().pages_of(x).saturating_add(tx.storage().pages_of(y));
            Some(pages <= sys::RTCP_MAX_SKB_FRAGS as usize)
        };
        plain && full && next && room && h == b.seg && frags() == Some(true)
    }

    /// The skb of `t` with its payload from the send buffer.
    fn build_from(&mut self, s: &RtcpStream, t: &Transmit, size: u32) {
        let payload = s.tx.data_spans(t.off as usize, t.len as usize).map(|spans| (s.tx.storage(), spans));
        self.build(&t.seg, payload, u16::try_from(size).unwrap_or(u16::MAX));
    }

    /// Sends the segments of `sk` on the route it keeps (`__sk_dst_check`
    /// in `ip_queue_xmit`), or one looked up now, and kept if `keep`.
    fn send(self, net: &Net, sk: &Sock<RtcpProto>, keep: bool) {
        let (local, remote) = (self.local, self.remote);
        for t in self.skbs {
            let rt = Route::cached(sk, local.addr).or_else(|| {
                let rt = Route::output(net, sk.flow_key(), local.addr, remote.addr, local.port, remote.port).ok()?;
                if keep {
                    rt.keep_in(sk);
                    sk.shared().gso_segs.store(rt.gso_max_segs(), Ordering::Relaxed);
                }
                Some(rt)
            });
            if let Some(rt) = rt {
                let _ = skb::transmit(net, rt, t);
            }
        }
    }
}

/// Carries out, after the connection's lock is dropped, what a segment, a
/// timer or a call did to it: the timer, `sk_state`, wake-ups, the end.
fn after(sk: &Sock<RtcpProto>, out: &Outcome, state: State, deadline: Option<u64>, writable: bool, now: u64) {
    if let Some(e) = out.error {
        done(sk, Some(e));
        return;
    }
    if out.closed {
        done(sk, None);
        return;
    }
    match deadline {
        Some(d) => sk.reset_timer(d.saturating_sub(now)),
        None => sk.stop_timer(),
    }
    let old = sk.state();
    if state.linux() != old && state != State::Closed {
        sk.set_state(state.linux());
    }
    if out.eof {
        // tcp_fin: nothing more to read.
        sk.set_shutdown(sk.shutdown() | RCV_SHUTDOWN);
    }
    // Any change of state wakes the waiters: a connect, poll, a
    // lingering close() waiting for the ACK of our FIN.
    if out.established || out.eof || out.time_wait || state.linux() != old {
        sk.state_change();
    }
    if out.readable > 0 || out.eof {
        sk.data_ready();
    }
    // `sk_stream_write_space`: writers wake when a write makes real
    // progress, not at every ACK.
    if out.acked > 0 && writable {
        sk.write_space();
    }
}

/// `tcp_done`: the connection is over (with an error, or at its normal
/// end): out of the demux table, closed both ways, which poll() reports.
fn done(sk: &Sock<RtcpProto>, err: Option<ConnError>) {
    let net = sk.net();
    let was = sk.state();
    sk.stop_timer();
    let ends = match &mut *sk.shared().tcb.lock() {
        Tcb::Conn(st) => {
            drop_buffers(st);
            Some((st.conn.local, st.conn.remote))
        }
        _ => None,
    };
    if let Some((local, remote)) = ends {
        RtcpNet::of(net).remove(sk, local, remote);
    }
    // The port goes back (from the workqueue) if this was its last holder.
    let port = sk.shared().held_port.lock().take();
    drop(port);
    Route::forget(sk);
    sk.set_state(TCP_CLOSE);
    sk.set_shutdown(RCV_SHUTDOWN | SEND_SHUTDOWN);
    if let Some(e) = err {
        if was == TCP_SYN_SENT {
            Stats::inc(&RtcpNet::of(net).stats.attempt_fails);
        }
        sk.report_error(conn_errno(e));
    }
    sk.state_change();
    sk.data_ready();
    sk.write_space();
}

/// What an event did to a connection, from [`drive`]'s closure: the
/// outcome, and whether its reply is a retransmission (a SYN sent again).
type Driven = (Outcome, bool);

/// Runs `f` on `sk`'s connection under its lock, where the segments it
/// sends then are built; sends them and carries out the outcome after the
/// lock (`after`). The outcome, or `None` if there is no connection or `f`
/// declined.
fn drive(sk: &Sock<RtcpProto>, now: u64, f: impl FnOnce(&mut RtcpStream) -> Option<Driven>) -> Option<Outcome> {
    let net = sk.net();
    let (out, state, deadline, writable, ob) = {
        let mut tcb = sk.shared().tcb.lock();
        let st = tcb.stream()?;
        let (out, retransmission) = f(st)?;
        let mut ob = Outbox::new(&st.conn);
        if let Some(r) = &out.reply {
            ob.push(net, r, retransmission);
        }
        ob.drain(net, st, now, sk.shared().gso_segs.load(Ordering::Relaxed));
        if out.time_wait || out.closed || out.error.is_some() {
            drop_buffers(st);
        }
        RtcpOps::let_namespace_go(sk, st);
        (out, st.conn.state, st.conn.deadline(), st.conn.writable(), ob)
    };
    // A connection past its last data (TIME-WAIT, closed) keeps no route:
    // its odd reply routes on its own.
    let ended = out.time_wait || out.closed || out.error.is_some() || matches!(state, State::TimeWait | State::Closed);
    ob.send(net, sk, !ended);
    if ended {
        Route::forget(sk);
    }
    after(sk, &out, state, deadline, writable, now);
    Some(out)
}

/// A buffer of `size` bytes to grow into (paged for sending, `paged`),
/// allocated in process context; a failure only means no growth.
fn bigger(size: usize, paged: bool) -> Option<SharedBytes> {
    let flags = GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN;
    if paged { SharedBytes::pages(size, flags) } else { SharedBytes::new(size, flags) }.ok()
}

/// `tcp_sndbuf_expand`: when the user left `SO_SNDBUF` to the protocol and
/// `more` bytes to send do not fit, the send buffer doubles, as often as
/// they need, up to `net.rtcp.wmem`'s most. Whether it grew.
fn grow_tx(sk: &Sock<RtcpProto>, more: usize) -> bool {
    if sk.user_buf_sizes().1.is_some() {
        return false;
    }
    let most = RtcpNet::of(sk.net()).buf_sizes(WMEM).max;
    let size = match sk.shared().tcb.lock().stream() {
        Some(st) if st.conn.may_send() && st.tx.free() < more && (1..most).contains(&st.tx.capacity()) => {
            let need = st.tx.len().saturating_add(more);
            let mut size = st.tx.capacity();
            while size < need && size < most {
                size = size.saturating_mul(2);
            }
            size.min(most)
        }
        _ => return false,
    };
    let Some(new) = bigger(size, true) else { return false };
    // The buffer left behind is freed after the lock.
    let old = sk.shared().tcb.lock().stream().map(|st| st.grow_tx(new));
    old.is_some()
}

/// `tcp_rcv_space_adjust`: when the user left `SO_RCVBUF` to the protocol
/// and the reader outgrew the receive buffer
/// ([`Stream::reader_outgrows_rx`]), it doubles, up to `net.rtcp.rmem`'s
/// most, and the window with it. Whether it grew.
fn grow_rx(sk: &Sock<RtcpProto>) -> bool {
    if sk.user_buf_sizes().0.is_some() {
        return false;
    }
    let most = RtcpNet::of(sk.net()).buf_sizes(RMEM).max;
    let size = match sk.shared().tcb.lock().stream() {
        Some(st) if (1..most).contains(&st.rx.capacity()) => {
            st.rx.capacity().saturating_mul(2).min(most)
        }
        _ => return false,
    };
    let Some(new) = bigger(size, false) else { return false };
    let old = sk.shared().tcb.lock().stream().map(|st| st.grow_rx(new));
    old.is_some()
}

/// Copies the user's next bytes into the bytes of `spans` in `lease`, in
/// order; how many (fewer on a fault or when the user's buffers end).
///
/// # Safety
///
/// As for [`Lease::room`]: no one else touches the bytes of `spans` until
/// the call returns.
unsafe fn copy_in(msg: &mut Msg<'_>, lease: &mut Lease, (a, b): Spans) -> usize {
    let mut got = 0;
    for span in [a, b] {
        let mut at = span.start;
        while at < span.end {
            let end = lease.piece_end(at, span.end);
            // SAFETY: as the caller guarantees.
            let Some(dst) = (unsafe { lease.room(at..end) }) else { return got };
            let n = msg.copy_from_user(dst);
            got += n;
            if n < end - at {
                return got;
            }
            at = end;
        }
    }
    got
}

/// Copies the bytes of `spans` in `lease`, in order, into the user's next
/// bytes; how many.
///
/// # Safety
///
/// As for [`Lease::data`]: no one writes the bytes of `spans` until the
/// call returns.
unsafe fn copy_out(msg: &mut Msg<'_>, lease: &Lease, (a, b): Spans) -> usize {
    let mut out = 0;
    for r in [a, b].into_iter().flat_map(|r| lease.pieces(r)) {
        let want = r.len();
        // SAFETY: as the caller guarantees.
        let Some(src) = (unsafe { lease.data(r) }) else { break };
        let n = msg.copy_to_user(src);
        out += n;
        if n < want {
            break;
        }
    }
    out
}

/// Copies the parts of `plan` in order into the user's next bytes; how
/// many.
///
/// # Safety
///
/// As for [`copy_out`], for the plan's parts in `lease`.
unsafe fn copy_plan(msg: &mut Msg<'_>, plan: &Plan, lease: &Lease) -> usize {
    let mut out = 0;
    for part in plan.parts() {
        let (want, n) = match part {
            // SAFETY: as the caller guarantees.
            Part::Buffer(spans) => (spans.0.len() + spans.1.len(), unsafe { copy_out(msg, lease, spans.clone()) }),
            Part::Skb { skb, off, len } => (*len as usize, msg.copy_skb_to_user(skb, *off, *len)),
        };
        out += n;
        if n < want {
            break;
        }
    }
    out
}

/// The positive errno a connection's error is reported with.
fn conn_errno(e: ConnError) -> i32 {
    match e {
        ConnError::Refused => ECONNREFUSED,
        ConnError::Reset => ECONNRESET,
        ConnError::TimedOut => ETIMEDOUT,
        ConnError::Pipe => EPIPE,
        ConnError::Icmp(e) => icmp_errno(e),
    }
    .to_errno()
    .wrapping_neg()
}

/// The kernel's errno of an ICMP error (`icmp_err_convert[]`).
fn icmp_errno(e: IcmpErrno) -> Error {
    match e {
        IcmpErrno::NetUnreach => ENETUNREACH,
        IcmpErrno::HostUnreach => EHOSTUNREACH,
        IcmpErrno::NoProtoOpt => ENOPROTOOPT,
        IcmpErrno::ConnRefused => ECONNREFUSED,
        IcmpErrno::OpNotSupp => EOPNOTSUPP,
        IcmpErrno::HostDown => EHOSTDOWN,
        IcmpErrno::NoNet => ENONET,
        IcmpErrno::Proto => EPROTO,
    }
}

/// The receive hook: segments of RTCP's connections.
pub(crate) struct RtcpHook;

/// Who a segment is for.
pub(crate) enum Target {
    /// The connection of this four-tuple.
    Conn(ARef<Sock<RtcpProto>>),
    /// The listener of the local address: a SYN, or a segment of one of its
    /// handshakes.
    Listener(ARef<Sock<RtcpProto>>),
}

impl Hook for RtcpHook {
    type Target = Target;

    fn claim(net: &Net, pkt: &Packet) -> Option<Target> {
        let local = Endpoint { addr: pkt.ip.dst, port: pkt.seg.dst_port };
        let remote = Endpoint { addr: pkt.ip.src, port: pkt.seg.src_port };
        let rn = RtcpNet::of(net);
        rn.lookup(local, remote).map(Target::Conn).or_else(|| rn.listener(local).map(Target::Listener))
    }

    fn deliver(net: &Net, target: Target, pkt: &Packet, payload: &SkbPayload<'_>) {
        use crate::proto::segment::Flags;
        Stats::inc(&RtcpNet::of(net).stats.in_segs);
        let now = now_ms();
        match target {
            Target::Conn(sk) => {
                let Some(out) =
                    drive(&sk, now, |st| Some((st.receive(&pkt.seg, payload, pkt.payload_len, now), false)))
                else {
                    return;
                };
                // A SYN that ended a TIME-WAIT opens a new connection
                // (`tcp_v4_rcv`'s TCP_TW_SYN).
                let f = pkt.seg.flags;
                if out.closed && f.contains(Flags::SYN) && !f.contains(Flags::ACK) {
                    let local = Endpoint { addr: pkt.ip.dst, port: pkt.seg.dst_port };
                    if let Some(l) = RtcpNet::of(net).listener(local) {
                        listener_input(net, &l, pkt, now);
                    }
                }
            }
            Target::Listener(sk) => listener_input(net, &sk, pkt, now),
        }
    }

    fn bad_checksum(net: &Net) {
        Stats::inc(&RtcpNet::of(net).stats.in_csum_errors);
    }

    /// `tcp_v4_err`: an error about a connection's segment ends its
    /// handshake or is kept as its soft error; one about a SYN-ACK may end
    /// the request (`tcp_req_err`).
    fn icmp(net: &Net, e: &IcmpError) {
        let rn = RtcpNet::of(net);
        if let Some(sk) = rn.lookup(e.local, e.remote) {
            let action = {
                let mut tcb = sk.shared().tcb.lock();
                let Some(conn) = tcb.conn() else { return };
                conn.on_icmp(e)
            };
            match action {
                IcmpAction::OutOfWindow => Stats::inc(&rn.stats.out_of_window_icmps),
                IcmpAction::Ignored => {}
                IcmpAction::Soft => {
                    if let Some(errno) = e.errno() {
                        sk.set_soft_error(icmp_errno(errno).to_errno().wrapping_neg());
                    }
                }
                IcmpAction::Failed(err) => done(&sk, Some(err)),
            }
        } else if let Some(sk) = rn.listener(e.local) {
            let mut tcb = sk.shared().tcb.lock();
            let Tcb::Listen(l) = &mut *tcb else { return };
            let Some(i) = l.requests.iter().position(|r| r.local == e.local && r.remote == e.remote) else {
                return;
            };
            match l.requests.get(i).and_then(|r| r.on_icmp(e)) {
                None => Stats::inc(&rn.stats.out_of_window_icmps),
                Some(true) => {
                    let _ = l.requests.remove(i);
                    Stats::inc(&rn.stats.listen_drops);
                }
                Some(false) => {}
            }
        }
    }
}

/// A segment for a listener (`tcp_v4_conn_request` for a SYN,
/// `tcp_check_req` for a segment of a handshake in progress).
fn listener_input(net: &Net, sk: &ARef<Sock<RtcpProto>>, pkt: &Packet, now: u64) {
    let local = Endpoint { addr: pkt.ip.dst, port: pkt.seg.dst_port };
    let remote = Endpoint { addr: pkt.ip.src, port: pkt.seg.src_port };
    let key = sk.flow_key();
    let mut reply = None;
    let mut established = None;
    let mut rearm = None;
    // What a SYN or a cookie needs (the route back, the keyed hash) is
    // gathered before the listener's lock: a route lookup may enable BHs,
    // which must not happen with IRQs off.
    let offer = Offer::of(net, sk, local, remote, &pkt.seg);
    {
        let mut tcb = sk.shared().tcb.lock();
        let Tcb::Listen(l) = &mut *tcb else { return };
        if let Some(i) = l.requests.iter().position(|r| r.local == local && r.remote == remote) {
            let full = l.accept_queue_full();
            let Some(req) = l.requests.get_mut(i) else { return };
            match req.on_segment(&pkt.seg, now) {
                RequestOutcome::Nothing => {}
                RequestOutcome::Reply(seg) => reply = Some(seg),
                RequestOutcome::Drop(rst) => {
                    reply = rst;
                    let _ = l.requests.remove(i);
                }
                // A full accept queue drops the final ACK: the request
                // stays and its SYN-ACK is sent again, as Linux does.
                RequestOutcome::Established(_) if full => {
                    Stats::inc(&RtcpNet::of(net).stats.listen_overflows);
                }
                RequestOutcome::Established(conn) => {
                    let _ = l.requests.remove(i);
                    established = Some(conn);
                }
            }
        } else if let Some(cookie) = offer.as_ref().and_then(|o| cookie_ack(net, o, l, pkt, now)) {
            established = cookie;
        } else {
            match listen_segment(&pkt.seg) {
                ListenAction::Drop => {}
                ListenAction::Reset(rst) => reply = Some(rst),
                ListenAction::Syn => {
                    let stats = &RtcpNet::of(net).stats;
                    let cookies = RtcpNet::of(net).sysctl_u8(SYNCOOKIES);
                    let mut want_cookie = false;
                    // tcp_conn_request: a full SYN queue (or syncookies=2)
                    // answers with a cookie, or drops without them; a full
                    // accept queue drops either way.
                    if cookies == 2 || l.syn_queue_full() {
                        want_cookie = cookies != 0;
                        Stats::inc(if want_cookie { &stats.req_q_full_do_cookies } else { &stats.req_q_full_drop });
                        if cookies != 2 && !l.flood_warned {
                            l.flood_warned = true;
                            let [a, b, c, d] = local.addr.to_be_bytes();
                            pr_info!(
                                "Possible SYN flooding on port {}.{}.{}.{}:{}. {}.\n",
                                a,
                                b,
                                c,
                                d,
                                local.port,
                                if want_cookie { "Sending cookies" } else { "Dropping request" }
                            );
                        }
                    }
                    if (!want_cookie && l.syn_queue_full()) || l.accept_queue_full() {
                        if l.accept_queue_full() {
                            Stats::inc(&stats.listen_overflows);
                        }
                        Stats::inc(&stats.listen_drops);
                    } else if want_cookie {
                        l.last_overflow = Some(now);
                        if let Some(o) = &offer {
                            reply = Some(o.cookies(net, now).synack(o.cfg, local, remote, &pkt.seg, now));
                            Stats::inc(&stats.syncookies_sent);
                        }
                    } else {
                        if let Some(o) = &offer {
                            let (req, synack) =
                                Request::new(o.cfg, local, remote, &pkt.seg, SeqNum(o.isn), o.ts_offset, now);
                            if l.requests.push(req, GFP_ATOMIC).is_ok() {
                                reply = Some(synack);
                            }
                        }
                        rearm = l.deadline();
                    }
                }
            }
        }
    }
    if let Some(seg) = reply {
        send(net, key, local, remote, &seg);
    }
    if let Some(d) = rearm {
        sk.reset_timer(d.saturating_sub(now));
    }
    if let Some(conn) = established {
        accept_child(net, sk, conn);
    }
}

/// What a listener answers a SYN with, or checks a cookie against.
struct Offer {
    local: Endpoint,
    remote: Endpoint,
    /// Our side of the handshake: the MSS from the route back to the peer,
    /// `synack_retries`.
    cfg: Config,
    /// The ISN and timestamp offset of the four-tuple.
    isn: u32,
    ts_offset: u32,
}

impl Offer {
    /// The offer for `seg` if it is a SYN or an ACK (anything else needs
    /// none) and the peer can be routed to.
    fn of(net: &Net, sk: &Sock<RtcpProto>, local: Endpoint, remote: Endpoint, seg: &Segment) -> Option<Offer> {
        use crate::proto::segment::Flags;
        if seg.flags.contains(Flags::RST) || !seg.flags.intersects(Flags::SYN | Flags::ACK) {
            return None;
        }
        let route = Route::output(net, sk.flow_key(), local.addr, remote.addr, local.port, remote.port).ok()?;
        let mss = route.mtu().saturating_sub(IP_TCP_HEADERS);
        let syn_retries = RtcpNet::of(net).sysctl_u8(SYNACK_RETRIES);
        // The listener's SO_RCVBUF and SO_SNDBUF if the user set them, else
        // the namespace's start.
        let (user_rx, user_tx) = sk.user_buf_sizes();
        let rn = RtcpNet::of(net);
        let rx = rn.buf_sizes(RMEM).size(user_rx, CHILD_BUF);
        let tx = rn.buf_sizes(WMEM).size(user_tx, CHILD_BUF);
        let mut cfg = our_config(mss, syn_retries, rx, tx);
        // The receive buffer, slack included, stays within its size.
        cfg.rcv_wnd = stream::window_within(&cfg, rx);
        let (isn, ts_offset) = isn_for(net, local, remote);
        Some(Offer { local, remote, cfg, isn, ts_offset })
    }

    /// The tuple's cookies now.
    fn cookies<'a>(&self, net: &'a Net, now: u64) -> Cookies<'a, CookieKeys> {
        let keys = &RtcpNet::of(net).cookie_keys;
        Cookies { hash: keys, minute: (now / MINUTE_MS) as u32, ts_offset: self.ts_offset }
    }
}

/// An ACK reaching a listener with no request of its tuple: if cookies
/// went out lately and it carries a valid one, `Some` of the connection it
/// rebuilds (`tcp_v4_cookie_check`), or `Some(None)` when a full accept
/// queue drops it, as it drops the final ACK of a request. `None`: no
/// cookie, the listener treats the segment as any other.
fn cookie_ack(net: &Net, o: &Offer, l: &Listener, pkt: &Packet, now: u64) -> Option<Option<Conn>> {
    use crate::proto::segment::Flags;
    let rn = RtcpNet::of(net);
    let f = pkt.seg.flags;
    if rn.sysctl_u8(SYNCOOKIES) == 0 || f.contains(Flags::SYN) || !f.contains(Flags::ACK) {
        return None;
    }
    if !l.recent_overflow(now) {
        return None;
    }
    let Some(conn) = o.cookies(net, now).accept(o.cfg, o.local, o.remote, &pkt.seg, now) else {
        Stats::inc(&rn.stats.syncookies_failed);
        return None;
    };
    Stats::inc(&rn.stats.syncookies_recv);
    if l.accept_queue_full() {
        Stats::inc(&rn.stats.listen_overflows);
        Stats::inc(&rn.stats.listen_drops);
        // Dropped: the peer's next segment (or its retransmission) tries
        // the cookie again.
        return Some(None);
    }
    Some(Some(conn))
}

/// The ISN and timestamp offset of a four-tuple: the kernel's keyed hash
/// (RFC 6528), as Linux's TCP takes them.
fn isn_for(net: &Net, local: Endpoint, remote: Endpoint) -> (u32, u32) {
    // SAFETY: `net` is alive; the hash only reads its arguments.
    let hash = unsafe {
        sys::secure_tcp_seq_and_ts_off(
            net.as_ptr(),
            local.addr.to_be(),
            remote.addr.to_be(),
            local.port.to_be(),
            remote.port.to_be(),
        )
    };
    // SAFETY: both members of the union are plain integers.
    unsafe { (hash.__bindgen_anon_1.seq, hash.__bindgen_anon_1.ts_off) }
}

/// A handshake completed on listener `sk`: a child sock for the connection,
/// in the demux table and on the accept queue; `accept()` is woken.
fn accept_child(net: &Net, sk: &ARef<Sock<RtcpProto>>, conn: Conn) {
    let (local, remote) = (conn.local, conn.remote);
    // Without memory for its buffers the connection is not made: the
    // peer's next segment finds no request and is reset.
    let Ok(mut stream) = new_stream(conn, GFP_ATOMIC) else { return };
    let Ok(child) = Sock::alloc_child::<RtcpOps>(net, AF_RTCP, &PROTO) else { return };
    child.set_protocol(sys::IPPROTO_TCP as u16);
    child.inherit(sk);
    child.shared().inherit(sk.shared());
    child.shared().sync_options(&child, &mut stream.conn);
    RtcpNet::of(net).socks.fetch_add(1, Ordering::Relaxed);
    *child.shared().tcb.lock() = Tcb::Conn(stream);
    child.set_state(TCP_ESTABLISHED);
    if RtcpNet::of(net).insert(local, remote, child.clone()).is_err() {
        return;
    }
    let rejected = {
        let mut tcb = sk.shared().tcb.lock();
        match &mut *tcb {
            Tcb::Listen(l) => {
                *child.shared().held_port.lock() = l.port.clone();
                l.queue.push(child.clone(), GFP_ATOMIC).is_err()
            }
            _ => true,
        }
    };
    if rejected {
        // The listener closed meanwhile: the connection goes with a reset.
        RtcpOps::abort(&child);
        return;
    }
    Stats::inc(&RtcpNet::of(net).stats.passive_opens);
    sk.state_change();
}

/// `TCP_INFO` (`tcp_get_info`): the state, and for a connection its
/// timers, round-trip estimate, congestion state and options.
fn tcp_info(sk: &Sock<RtcpProto>) -> sys::tcp_info {
    let mut i: sys::tcp_info = pin_init::zeroed();
    i.tcpi_state = sk.state();
    let mut tcb = sk.shared().tcb.lock();
    let Some(st) = tcb.stream() else { return i };
    let c = &st.conn;
    let mss = u32::from(c.neg.mss).max(1);
    i.tcpi_retransmits = c.retransmits;
    i.tcpi_probes = c.data.keep_probes;
    i.tcpi_backoff = c.rtt.backoffs();
    let mut opts = 0;
    if c.neg.timestamps {
        opts |= sys::TCPI_OPT_TIMESTAMPS;
    }
    if c.neg.sack {
        opts |= sys::TCPI_OPT_SACK;
    }
    if c.cfg.wscale.is_some() && (c.neg.snd_wscale | c.neg.rcv_wscale) != 0 {
        opts |= sys::TCPI_OPT_WSCALE;
        i.set_tcpi_snd_wscale(c.neg.snd_wscale);
        i.set_tcpi_rcv_wscale(c.neg.rcv_wscale);
    }
    i.tcpi_options = opts as u8;
    i.tcpi_rto = c.rtt.rto_us();
    i.tcpi_ato = (crate::proto::conn::DELACK_MS * 1000) as u32;
    i.tcpi_snd_mss = mss;
    i.tcpi_rcv_mss = mss;
    i.tcpi_advmss = u32::from(c.cfg.mss);
    i.tcpi_unacked = c.data.snd_max.diff(c.snd_una).max(0) as u32 / mss;
    i.tcpi_rtt = c.rtt.srtt_us().unwrap_or(0);
    i.tcpi_rttvar = c.rtt.rttvar_us();
    i.tcpi_snd_cwnd = c.data.cc.cwnd / mss;
    i.tcpi_snd_ssthresh = match c.data.cc.ssthresh {
        u32::MAX => TCP_INFINITE_SSTHRESH,
        t => t / mss,
    };
    i.tcpi_rcv_space = c.cfg.rcv_wnd;
    i.tcpi_pmtu = u32::from(c.cfg.mss).saturating_add(IP_TCP_HEADERS);
    i.tcpi_total_retrans = c.data.total_retrans;
    i.tcpi_snd_wnd = c.snd_wnd;
    i.tcpi_rcv_wnd = c.rcv_wnd;
    i
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
            // TCP socket of the namespace holds, and whose four-tuple to
            // `dst` no closing RTCP connection still uses (the check of
            // `inet_hash_connect`; a port goes back at close(), before its
            // connection is over). Ports found busy stay held until a free
            // one comes, so that each try gets another.
            let remote = Endpoint { addr: dst.addr, port: dst.port };
            let mut busy = KVec::new();
            let port = loop {
                let port = PortReservation::take(net, SockAddrIn { addr: saddr, port: 0 }, sk.bind_options())?;
                let local = Endpoint { addr: saddr, port: port.addr()?.port };
                let in_use = RtcpNet::of(net).lookup(local, remote).is_some_and(|s| s.state() != TCP_TIME_WAIT);
                if !in_use || busy.len() >= MAX_PORT_TRIES {
                    break port;
                }
                busy.push(port, GFP_KERNEL)?;
            };
            drop(busy);
            owned.local = port.addr()?;
            owned.port = Some(port);
        }
        owned.local.addr = saddr;
        let local = Endpoint { addr: saddr, port: owned.local.port };
        let remote = Endpoint { addr: dst.addr, port: dst.port };
        let mss = route.mtu().saturating_sub(IP_TCP_HEADERS);
        sk.shared().gso_segs.store(route.gso_max_segs(), Ordering::Relaxed);
        let syn_retries = match owned.syn_count {
            0 => RtcpNet::of(net).sysctl_u8(SYN_RETRIES),
            n => n,
        };
        // SO_RCVBUF and SO_SNDBUF if the user set them, else the
        // namespace's start.
        let (rcvbuf, sndbuf) = sk.user_buf_sizes();
        let rn = RtcpNet::of(net);
        let (rx, tx) = (rn.buf_sizes(RMEM).size(rcvbuf, MAX_BUF), rn.buf_sizes(WMEM).size(sndbuf, MAX_BUF));
        let mut cfg = our_config(mss, syn_retries, rx, tx);
        cfg.rcv_wnd = stream::window_within(&cfg, rx);
        let (isn, ts_off) = isn_for(net, local, remote);
        let now = now_ms();
        let (conn, syn) = Conn::connect(cfg, local, remote, SeqNum(isn), ts_off, now);
        let deadline = conn.deadline();
        let mut stream = new_stream(conn, GFP_KERNEL)?;
        sk.shared().sync_options(sk, &mut stream.conn);
        RtcpNet::of(net).insert(local, remote, sk.into())?;
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Conn(stream));
        drop(old);
        sk.set_state(TCP_SYN_SENT);
        sock.set_state(SS_CONNECTING);
        if let Some(d) = deadline {
            sk.reset_timer(d.saturating_sub(now));
        }
        let stats = &RtcpNet::of(net).stats;
        Stats::inc(&stats.active_opens);
        stats.sent(&syn, false);
        skb::send(net, route, local.addr, remote.addr, &syn)?;
        Ok(())
    }

    /// Tears the connection down, if any: its RST (from the synchronized
    /// states), its demux entry and its timer. A listener stops listening:
    /// its handshakes in progress are forgotten and the connections no one
    /// accepted are reset (`inet_csk_listen_stop`).
    fn abort(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Idle);
        let (rst, ends) = match old {
            Tcb::Conn(mut st) => (st.conn.abort(now), Some((st.conn.local, st.conn.remote))),
            Tcb::Listen(l) => {
                sk.stop_timer();
                RtcpNet::of(sk.net()).remove_listener(sk);
                for child in l.queue.iter() {
                    RtcpOps::abort(child);
                }
                sk.set_state(TCP_CLOSE);
                return;
            }
            Tcb::Idle => (None, None),
        };
        sk.stop_timer();
        if let Some((local, remote)) = ends {
            RtcpNet::of(sk.net()).remove(sk, local, remote);
        }
        if let (Some(seg), Some((local, remote))) = (rst, ends) {
            send(sk.net(), sk.flow_key(), local, remote, &seg);
        }
        sk.set_state(TCP_CLOSE);
    }

    /// An orphan that only waits out TIME-WAIT or FIN-WAIT-2 (whose
    /// timeout, `tcp_fin_timeout`, is TIME-WAIT's length) no longer keeps
    /// its namespace: Linux's TCP hands such a connection to an
    /// `inet_timewait_sock` (`tcp_time_wait`), which holds no reference,
    /// and purges them when the namespace goes ([`RtcpOps::purge`]).
    /// Under the connection's lock, which orders it against `release`.
    fn let_namespace_go(sk: &Sock<RtcpProto>, st: &RtcpStream) {
        if st.conn.orphan && sk.dead() && matches!(st.conn.state, State::TimeWait | State::FinWait2) {
            sk.release_net();
        }
    }

    /// Ends a connection whose namespace is going (`inet_twsk_purge`): out
    /// of the way at once, with no segment (its devices are gone), its
    /// timer stopped and waited for. Process context.
    fn purge(sk: &Sock<RtcpProto>) {
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Idle);
        drop(old);
        sk.stop_timer_sync();
        drop(sk.shared().held_port.lock().take());
        Route::forget(sk);
        sk.set_state(TCP_CLOSE);
    }

    /// `tcp_close`: a connection sends its FIN after its data and
    /// finishes on its own, orphaned (the demux table keeps the sock
    /// until then); unread data or `SO_LINGER` of zero aborts it with a
    /// reset instead; anything else is torn down at once.
    fn close(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let graceful = drive(sk, now, |st| {
            let gone = matches!(st.conn.state, State::SynSent | State::Closed);
            (!gone && st.conn.data.rx_unread == 0 && !sk.linger_zero()).then(|| (st.conn.close(true, now), false))
        });
        match graceful {
            Some(_) => sk.set_shutdown(RCV_SHUTDOWN | SEND_SHUTDOWN),
            None => Self::abort(sk),
        }
    }

    /// `shutdown(SHUT_WR)` of a connection: our FIN after the data
    /// (`tcp_shutdown`).
    fn shutdown_send(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        drive(sk, now, |st| Some((st.conn.close(false, now), false)));
    }

    /// Sends what the connection has to send now (after the user wrote,
    /// read, or changed an option), then carries out the rest.
    fn push(sk: &Sock<RtcpProto>) {
        drive(sk, now_ms(), |_| Some((Outcome::default(), false)));
    }

    /// `tcp_disconnect`: abort, and leave `ECONNRESET` in `SO_ERROR` when a
    /// connection (or a connect in progress) was cut, as Linux does. (A
    /// request in SYN-RECEIVED is not a sock of its own here.)
    fn disconnect(sk: &Sock<RtcpProto>) {
        let old = sk.state();
        Self::abort(sk);
        // The next connect may go elsewhere (`tcp_disconnect`).
        Route::forget(sk);
        sk.set_shutdown(0);
        if matches!(old, TCP_SYN_SENT | TCP_ESTABLISHED) {
            sk.report_error(ECONNRESET.to_errno().wrapping_neg());
        }
    }
}

impl net::SocketOps for RtcpOps {
    type Proto = RtcpProto;
    const FAMILY: i32 = AF_RTCP;

    fn release(sock: &Socket<RtcpProto>) -> Result {
        if let Some(sk) = sock.take_sk() {
            Self::close(&sk);
            // SO_LINGER with a timeout: close() waits, up to it or a
            // signal, for the peer to acknowledge our FIN
            // (`sk_stream_wait_close`); the connection goes on either way.
            if let Some(mut timeo) = sk.linger_timeout() {
                let _ = sk.wait_until(&mut timeo, || !matches!(sk.state(), TCP_FIN_WAIT1 | TCP_CLOSING | TCP_LAST_ACK));
            }
            // The port goes back to the namespace now, not when the last
            // reference to the sock does; unless bind() chose it and the
            // connection goes on, which keeps it to its end (a port in
            // TIME-WAIT is in use for bind(), as Linux's TCP has it).
            let (port, bound, opts) = {
                let mut owned = sk.lock();
                (owned.port.take(), owned.bound, sk.bind_options())
            };
            if let Some(port) = port {
                port.follow(opts);
                let port = if bound { sk.shared().hold_port(port) } else { Some(port) };
                if let Some(port) = port {
                    port.release_now();
                }
            }
            sk.orphan();
            if let Tcb::Conn(st) = &mut *sk.shared().tcb.lock() {
                Self::let_namespace_go(&sk, st);
            }
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
        owned.bound = addr.port != 0;
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
                Self::disconnect(sk);
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
        let mut timeo = sk.send_timeout(nonblock);
        if !sk.wait_until(&mut timeo, || sk.state() != TCP_SYN_SENT)? {
            return Err(EINPROGRESS);
        }
        let _owned = sk.lock();
        if sk.state() == TCP_CLOSE {
            // Reset for another connect(), as the disconnect of
            // __inet_stream_connect's sock_error.
            sock.set_state(SS_UNCONNECTED);
            sk.set_shutdown(0);
            let err = sk.take_error();
            return Err(if err > 0 { Error::from_errno(-err) } else { ECONNABORTED });
        }
        sock.set_state(SS_CONNECTED);
        Ok(())
    }

    /// `SOL_TCP` options, as `do_tcp_setsockopt`; `ENOPROTOOPT` for the
    /// ones RTCP does not have (yet) and for other levels.
    fn setsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32, opt: &OptIn) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        if level != sys::SOL_TCP as i32 {
            return Err(ENOPROTOOPT);
        }
        if name as u32 == sys::TCP_CONGESTION {
            // As tcp_set_congestion_control: ENOENT for a name no module
            // gives.
            let algorithm = Algorithm::by_name(opt.name()?).ok_or(ENOENT)?;
            let sh = sk.shared();
            sh.reno.store(algorithm == Algorithm::Reno, Ordering::Relaxed);
            drive(sk, now_ms(), |st| {
                sh.sync_options(sk, &mut st.conn);
                Some((Outcome::default(), false))
            });
            return Ok(());
        }
        let val = opt.int()?;
        match name as u32 {
            sys::TCP_SYNCNT => {
                let n = u8::try_from(val).ok().filter(|n| (1..=MAX_TCP_SYNCNT).contains(n)).ok_or(EINVAL)?;
                sk.lock().syn_count = n;
                Ok(())
            }
            sys::TCP_KEEPIDLE | sys::TCP_KEEPINTVL | sys::TCP_KEEPCNT | sys::TCP_USER_TIMEOUT => {
                let sh = sk.shared();
                let (slot, max) = match name as u32 {
                    sys::TCP_KEEPIDLE => (&sh.keep_idle, MAX_TCP_KEEPIDLE),
                    sys::TCP_KEEPINTVL => (&sh.keep_intvl, MAX_TCP_KEEPINTVL),
                    sys::TCP_KEEPCNT => (&sh.keep_cnt, MAX_TCP_KEEPCNT),
                    _ => (&sh.user_timeout, i32::MAX as u32),
                };
                let min = if name as u32 == sys::TCP_USER_TIMEOUT { 0 } else { 1 };
                let v = u32::try_from(val).ok().filter(|v| (min..=max).contains(v)).ok_or(EINVAL)?;
                slot.store(v, Ordering::Relaxed);
                drive(sk, now_ms(), |st| {
                    sh.sync_options(sk, &mut st.conn);
                    Some((Outcome::default(), false))
                });
                Ok(())
            }
            sys::TCP_NODELAY | sys::TCP_CORK => {
                let on = val != 0;
                let owned = sk.lock();
                let sh = sk.shared();
                let flag = if name as u32 == sys::TCP_NODELAY { &sh.nodelay } else { &sh.cork };
                flag.store(on, Ordering::Relaxed);
                if let Some(c) = sh.tcb.lock().conn() {
                    sh.sync_options(sk, c);
                }
                drop(owned);
                // Setting TCP_NODELAY or clearing TCP_CORK pushes what waits.
                Self::push(sk);
                Ok(())
            }
            _ => Err(ENOPROTOOPT),
        }
    }

    fn getsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32) -> Result<OptVal> {
        let sk = sock.sk().ok_or(EINVAL)?;
        if level != sys::SOL_TCP as i32 {
            return Err(ENOPROTOOPT);
        }
        let sh = sk.shared();
        let secs = |ms: u64| i32::try_from(ms / 1000).unwrap_or(i32::MAX);
        let int = match name as u32 {
            sys::TCP_SYNCNT => match sk.lock().syn_count {
                0 => RtcpNet::of(sk.net()).sysctl.get(SYN_RETRIES),
                n => i32::from(n),
            },
            sys::TCP_NODELAY => i32::from(sh.nodelay.load(Ordering::Relaxed)),
            sys::TCP_CORK => i32::from(sh.cork.load(Ordering::Relaxed)),
            sys::TCP_KEEPIDLE => secs(sh.keep_params().idle_ms),
            sys::TCP_KEEPINTVL => secs(sh.keep_params().intvl_ms),
            sys::TCP_KEEPCNT => i32::from(sh.keep_params().cnt),
            sys::TCP_USER_TIMEOUT => i32::try_from(sh.user_timeout.load(Ordering::Relaxed)).unwrap_or(i32::MAX),
            sys::TCP_INFO => return Ok(OptVal::TcpInfo(tcp_info(sk))),
            sys::TCP_CONGESTION => return Ok(OptVal::name(sh.congestion().name())),
            _ => return Err(ENOPROTOOPT),
        };
        Ok(OptVal::Int(int))
    }

    /// `tcp_ioctl`: `SIOCINQ` (`FIONREAD`), the bytes readable;
    /// `SIOCOUTQ`, the bytes not yet acknowledged; `SIOCOUTQNSD`, the bytes
    /// not yet sent; `EINVAL` on a listener.
    fn ioctl(sock: &Socket<RtcpProto>, cmd: u32) -> Result<i32> {
        let sk = sock.sk().ok_or(EINVAL)?;
        if !matches!(cmd, sys::RTCP_SIOCINQ | sys::RTCP_SIOCOUTQ | sys::RTCP_SIOCOUTQNSD) {
            return Err(ENOIOCTLCMD);
        }
        if sk.state() == TCP_LISTEN {
            return Err(EINVAL);
        }
        let mut tcb = sk.shared().tcb.lock();
        let Some(st) = tcb.stream() else { return Ok(0) };
        let c = &st.conn;
        let n = match cmd {
            sys::RTCP_SIOCINQ => st.rx.len() as u32,
            _ if matches!(c.state, State::SynSent | State::SynReceived) => 0,
            sys::RTCP_SIOCOUTQ => c.send_queued(),
            _ => c.data.snd_end.diff(c.snd_nxt).max(0) as u32,
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    fn getname(sock: &Socket<RtcpProto>, peer: bool) -> Result<SockAddrIn> {
        let sk = sock.sk().ok_or(EINVAL)?;
        let owned = sk.lock();
        let mut tcb = sk.shared().tcb.lock();
        let state = sk.state();
        match (peer, tcb.conn()) {
            // An accepted connection has no bind of its own.
            (false, Some(c)) => Ok(SockAddrIn { addr: c.local.addr, port: c.local.port }),
            (false, None) => Ok(owned.local),
            // As inet_getname: no peer before the connection is up.
            (true, Some(c)) if state != TCP_SYN_SENT && state != TCP_CLOSE => {
                Ok(SockAddrIn { addr: c.remote.addr, port: c.remote.port })
            }
            (true, _) => Err(ENOTCONN),
        }
    }

    /// `inet_shutdown`: `EINVAL` for a bad `how`; on a closed socket the
    /// bits are set and the answer is `ENOTCONN`; `SHUT_RD` stops a
    /// listener and any `how` abandons a connect in progress (the socket
    /// can connect again); on a connection the bits are set and `SHUT_WR`
    /// sends our FIN after the data.
    fn shutdown(sock: &Socket<RtcpProto>, how: i32) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let how = how.wrapping_add(1);
        let mask = i32::from(RCV_SHUTDOWN | SEND_SHUTDOWN);
        if how & !mask != 0 || how == 0 {
            return Err(EINVAL);
        }
        let how = how as u8;
        let _owned = sk.lock();
        let res = match sk.state() {
            TCP_CLOSE => {
                sk.set_shutdown(sk.shutdown() | how);
                Err(ENOTCONN)
            }
            TCP_LISTEN if how & RCV_SHUTDOWN == 0 => Ok(()),
            TCP_LISTEN | TCP_SYN_SENT => {
                Self::disconnect(sk);
                sock.set_state(SS_UNCONNECTED);
                Ok(())
            }
            _ => {
                sk.set_shutdown(sk.shutdown() | how);
                if how & SEND_SHUTDOWN != 0 {
                    Self::shutdown_send(sk);
                }
                Ok(())
            }
        };
        sk.state_change();
        res
    }

    /// `inet_listen`: from CLOSE (binding an ephemeral port if unbound), or
    /// a new backlog for a listener; `EINVAL` otherwise.
    fn listen(sock: &Socket<RtcpProto>, backlog: i32) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let mut owned = sk.lock();
        if sock.state() != SS_UNCONNECTED {
            return Err(EINVAL);
        }
        let backlog = usize::try_from(backlog).unwrap_or(0);
        match sk.state() {
            TCP_LISTEN => {
                if let Tcb::Listen(l) = &mut *sk.shared().tcb.lock() {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            TCP_CLOSE => {}
            _ => return Err(EINVAL),
        }
        let net = sk.net();
        if owned.port.is_none() {
            let port = PortReservation::take(net, SockAddrIn::default(), sk.bind_options())?;
            owned.local = port.addr()?;
            owned.port = Some(port);
        }
        let local = owned.local;
        *sk.shared().tcb.lock() =
            Tcb::Listen(Listener::new(backlog, owned.port.clone()));
        {
            let mut ls = RtcpNet::of(net).listeners.lock();
            if let Err(e) = ls.push((local, sk.into()), GFP_ATOMIC) {
                drop(ls);
                *sk.shared().tcb.lock() = Tcb::Idle;
                return Err(e.into());
            }
        }
        sk.set_state(TCP_LISTEN);
        Ok(())
    }

    /// `inet_accept`: the next connection on the accept queue, waiting for
    /// one unless non-blocking (`EAGAIN`), up to `SO_RCVTIMEO` (`EAGAIN`);
    /// `EINVAL` if the socket is not listening.
    fn accept(sock: &Socket<RtcpProto>, newsock: &Socket<RtcpProto>, nonblock: bool) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let pop = || -> Result<Option<ARef<Sock<RtcpProto>>>> {
            match &mut *sk.shared().tcb.lock() {
                Tcb::Listen(l) if !l.queue.is_empty() => Ok(l.queue.remove(0).ok()),
                Tcb::Listen(_) => Ok(None),
                _ => Err(EINVAL),
            }
        };
        let mut child = pop()?;
        if child.is_none() {
            let mut timeo = sk.recv_timeout(nonblock);
            let ready = sk.wait_until(&mut timeo, || match &*sk.shared().tcb.lock() {
                Tcb::Listen(l) => !l.queue.is_empty(),
                _ => true,
            })?;
            if !ready {
                return Err(EAGAIN);
            }
            child = pop()?;
        }
        newsock.graft(child.ok_or(EAGAIN)?);
        Ok(())
    }

    /// `tcp_sendmsg`: waits for a connect in progress, then copies into
    /// the send buffer as room comes, up to `SO_SNDTIMEO`; a partial write
    /// when time runs out, a signal comes or the connection ends after
    /// some bytes; `EPIPE` (with `SIGPIPE` unless `MSG_NOSIGNAL`) once the
    /// sending side is shut.
    fn sendmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize) -> Result<usize> {
        let sk = sock.sk().ok_or(EINVAL)?;
        let flags = msg.flags();
        if flags & sys::RTCP_MSG_OOB != 0 {
            return Err(EOPNOTSUPP);
        }
        // One timeout for every wait of the call, as `sk_wait_event`
        // counts it down.
        let mut timeo = sk.send_timeout(flags & sys::RTCP_MSG_DONTWAIT != 0);
        if sk.state() == TCP_SYN_SENT {
            // sk_stream_wait_connect: EAGAIN when the time runs out first.
            if timeo == 0 || !sk.wait_until(&mut timeo, || sk.state() != TCP_SYN_SENT || sk.has_error())? {
                return Err(EAGAIN);
            }
        }
        // The socket lock serialises writers; it is let go while waiting
        // (as sk_wait_event does), so that other calls get through.
        let mut owned = Some(sk.lock());
        let mut sent = 0usize;
        while sent < len {
            let err = sk.take_error();
            if err != 0 {
                return if sent > 0 { Ok(sent) } else { Err(Error::from_errno(-err)) };
            }
            // The room after the send buffer's data, to be filled straight
            // from user memory with the connection's lock let go.
            let more = len - sent;
            let room = match sk.shared().tcb.lock().stream() {
                Some(st) if st.conn.may_send() && sk.shutdown() & SEND_SHUTDOWN == 0 => {
                    let room = st.write_room();
                    Some((room, st.tx.room_spans(room.min(more)).zip(st.tx.storage().lease())))
                }
                _ => None,
            };
            let Some((room, lease)) = room else {
                return if sent > 0 { Ok(sent) } else { Err(sk.stream_error(flags, EPIPE)) };
            };
            if room < more && grow_tx(sk, more) {
                continue;
            }
            if room == 0 {
                if timeo == 0 {
                    return if sent > 0 { Ok(sent) } else { Err(EAGAIN) };
                }
                drop(owned.take());
                let ready = sk.wait_until(&mut timeo, || {
                    sk.has_error()
                        || match sk.shared().tcb.lock().stream() {
                            Some(st) => !st.conn.may_send() || (st.conn.send_space() > 0 && st.conn.writable()),
                            None => true,
                        }
                });
                owned = Some(sk.lock());
                match ready {
                    Ok(true) => continue,
                    Ok(false) if sent > 0 => return Ok(sent),
                    Ok(false) => return Err(EAGAIN),
                    Err(_) if sent > 0 => return Ok(sent),
                    Err(e) => return Err(e),
                }
            }
            // (None: the connection ended or changed since; the next turn
            // finds out.)
            let Some((spans, mut lease)) = lease else { continue };
            // Room in pages that skbs of earlier segments still hold gets
            // new pages first; the skbs keep the old ones.
            let fresh = match lease.fresh_pages(&spans) {
                Ok(fresh) => fresh,
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            };
            if !fresh.is_empty() {
                match sk.shared().tcb.lock().stream() {
                    Some(st) if st.tx.storage().is(&lease) => st.tx.storage().renew(fresh, &spans),
                    _ => continue,
                }
            }
            // Only a writer turns room into data, and this call is the only
            // writer (it holds the socket lock, as every writer does); the
            // connection reads only data, and ACKs only consume data, which
            // never moves where the data ends.
            // SAFETY: `spans` were room after the data of the send buffer
            // `lease` holds, in pages no skb held (those were renewed just
            // above; an skb takes pages for data only), and stay so.
            let got = unsafe { copy_in(msg, &mut lease, spans) };
            if got == 0 {
                return if sent > 0 { Ok(sent) } else { Err(EFAULT) };
            }
            let taken = match sk.shared().tcb.lock().stream() {
                Some(st) if st.tx.storage().is(&lease) => st.wrote(got),
                _ => 0,
            };
            sent += taken;
            Self::push(sk);
            if taken < got {
                // The connection ended between the two locks.
                break;
            }
        }
        Ok(sent)
    }

    /// `tcp_recvmsg`: what is readable, waiting (unless non-blocking, up to
    /// `SO_RCVTIMEO`) until one byte is, or all with `MSG_WAITALL`; 0 at
    /// the end of the stream; `MSG_PEEK` leaves the bytes; `ENOTCONN` on a
    /// socket never connected.
    fn recvmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<usize> {
        let sk = sock.sk().ok_or(EINVAL)?;
        if flags & sys::RTCP_MSG_OOB != 0 {
            return Err(EINVAL);
        }
        let peek = flags & sys::RTCP_MSG_PEEK != 0;
        let target = if flags & sys::RTCP_MSG_WAITALL != 0 && !peek { len } else { 1 };
        let mut timeo = sk.recv_timeout(flags & sys::RTCP_MSG_DONTWAIT != 0);
        // As in sendmsg: held but for the waits.
        let mut owned = Some(sk.lock());
        if sk.state() == TCP_LISTEN {
            return Err(ENOTCONN);
        }
        let mut copied = 0usize;
        while copied < len {
            // The readable bytes at the receive buffer's head, copied
            // straight to user memory with the connection's lock let go.
            let ready = sk.shared().tcb.lock().stream().map(|st| st.plan(len - copied));
            let ready = match ready {
                Some(r) => r,
                None if copied > 0 => break,
                // Never connected (or disconnected).
                None => return Err(ENOTCONN),
            };
            if let Some((plan, lease)) = ready {
                // Only a reader consumes data, and this call is the only
                // reader (it holds the socket lock, as every reader does);
                // the connection writes only after the data.
                // SAFETY: the plan's buffer parts were data at the head of
                // the receive buffer `lease` holds, and stay so.
                let out = unsafe { copy_plan(msg, &plan, &lease) };
                if out == 0 && copied == 0 {
                    return Err(EFAULT);
                }
                copied += out;
                if peek {
                    break;
                }
                let (tell, outgrown) = match sk.shared().tcb.lock().stream().filter(|st| st.rx.storage().is(&lease)) {
                    Some(st) => (st.took_planned(&plan, out), st.reader_outgrows_rx(out, now_ms())),
                    None => (false, false),
                };
                // The skbs read to their end are freed here, with the
                // lock let go.
                drop(plan);
                let grew = outgrown && grow_rx(sk);
                // A window update, if the window grew enough to tell.
                if tell || grew {
                    Self::push(sk);
                }
                if out == 0 {
                    break;
                }
                continue;
            }
            if copied >= target {
                break;
            }
            let err = sk.take_error();
            if err != 0 {
                return if copied > 0 { Ok(copied) } else { Err(Error::from_errno(-err)) };
            }
            if sk.shutdown() & RCV_SHUTDOWN != 0 || sk.state() == TCP_CLOSE {
                break;
            }
            if timeo == 0 {
                return if copied > 0 { Ok(copied) } else { Err(EAGAIN) };
            }
            drop(owned.take());
            let ready = sk.wait_until(&mut timeo, || {
                sk.has_error()
                    || sk.shutdown() & RCV_SHUTDOWN != 0
                    || sk.state() == TCP_CLOSE
                    || sk.shared().tcb.lock().stream().is_none_or(|st| !st.rx.is_empty())
            });
            owned = Some(sk.lock());
            match ready {
                Ok(true) => {}
                Ok(false) if copied > 0 => break,
                Ok(false) => return Err(EAGAIN),
                Err(_) if copied > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(copied)
    }

    /// As `tcp_poll`.
    fn poll(sock: &Socket<RtcpProto>, wait: &PollTable<'_>) -> u32 {
        wait.wait(sock);
        let Some(sk) = sock.sk() else { return EPOLLHUP };
        let state = sk.state();
        if state == TCP_LISTEN {
            // inet_csk_listen_poll: readable when a connection is waiting.
            return match &*sk.shared().tcb.lock() {
                Tcb::Listen(l) if !l.queue.is_empty() => EPOLLIN | EPOLLRDNORM,
                _ => 0,
            };
        }
        let shutdown = sk.shutdown();
        let (readable, writable) = match sk.shared().tcb.lock().stream() {
            // sk_stream_is_writeable: free room at least half of what is
            // queued.
            Some(st) => (!st.rx.is_empty(), st.conn.writable()),
            None => (false, true),
        };
        let mut mask = 0;
        if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        if shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        }
        if state != TCP_SYN_SENT {
            if readable {
                mask |= EPOLLIN | EPOLLRDNORM;
            }
            // "Writable" (to fail at once) once the sending side is shut.
            if writable || shutdown & SEND_SHUTDOWN != 0 {
                mask |= EPOLLOUT | EPOLLWRNORM;
            }
        }
        if sk.has_error() {
            mask |= EPOLLERR;
        }
        mask
    }

    fn timer(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let net = sk.net();
        let mut synacks = KVec::new();
        // A connection: the SYN again, a window probe, retransmissions, a
        // delayed ACK, the end of TIME-WAIT.
        let conn = drive(sk, now, |st| {
            let syn_sent = st.conn.state == State::SynSent;
            Some((st.conn.on_timer(now), syn_sent))
        });
        if conn.is_some() {
            return;
        }
        let rearm = {
            let mut tcb = sk.shared().tcb.lock();
            match &mut *tcb {
                Tcb::Conn(_) => return,
                Tcb::Listen(l) => {
                    // SYN-ACKs due again; requests out of retries go.
                    let mut i = 0;
                    while let Some(req) = l.requests.get_mut(i) {
                        if req.deadline > now {
                            i += 1;
                            continue;
                        }
                        match req.on_timer(now) {
                            Some(seg) => {
                                let _ = synacks.push((req.local, req.remote, seg), GFP_ATOMIC);
                                i += 1;
                            }
                            None => {
                                let _ = l.requests.remove(i);
                            }
                        }
                    }
                    l.deadline().map(|d| d.saturating_sub(now))
                }
                Tcb::Idle => return,
            }
        };
        for (local, remote, seg) in synacks.iter() {
            send_counted(net, sk.flow_key(), *local, *remote, seg, true);
        }
        if let Some(ms) = rearm {
            sk.reset_timer(ms);
        }
    }

    fn destruct(sk: &Sock<RtcpProto>) {
        // Release: the namespace's exit may be waiting for the count, and
        // frees the state once it sees zero.
        RtcpNet::of(sk.net()).socks.fetch_sub(1, Ordering::Release);
    }
}
