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
use crate::net::siphash::SipKey;
use crate::proto::conn::{Config, Conn, ConnError, Endpoint, IcmpAction, Outcome};
use crate::proto::icmp::{IcmpErrno, IcmpError};
use crate::proto::cookie::{self, CookieHash, Cookies};
use crate::proto::request::{listen_segment, ListenAction, Request, RequestOutcome};
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
const TCP_LISTEN: u8 = State::Listen.linux();
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
    /// `TCP_SYNCNT` (0: the namespace's `syn_retries`).
    syn_count: u8,
}

/// The per-namespace sysctls under `net.rtcp`, as Linux's TCP has them
/// under `net.ipv4` (same names, defaults and bounds).
const SYSCTLS: [net::sysctl::U8Def; 3] = [
    net::sysctl::U8Def { name: c"syn_retries", default: 6, min: 1, max: MAX_TCP_SYNCNT },
    net::sysctl::U8Def { name: c"synack_retries", default: 5, min: 0, max: u8::MAX },
    // 0: never, 1: when the SYN queue is full, 2: always.
    net::sysctl::U8Def { name: c"syncookies", default: 1, min: 0, max: 2 },
];
const SYN_RETRIES: usize = 0;
const SYNACK_RETRIES: usize = 1;
const SYNCOOKIES: usize = 2;
/// The most SYN retransmissions `TCP_SYNCNT` and `syn_retries` allow.
const MAX_TCP_SYNCNT: u8 = 127;

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
}

impl Listener {
    fn new(backlog: usize) -> Listener {
        Listener { backlog, requests: KVec::new(), queue: KVec::new(), last_overflow: None, flood_warned: false }
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

/// The protocol side of a sock.
pub(crate) enum Tcb {
    /// Neither connected nor listening.
    Idle,
    /// A connection (from connect() or accepted).
    Conn(Conn),
    /// A listener.
    Listen(Listener),
}

impl Tcb {
    fn conn(&mut self) -> Option<&mut Conn> {
        match self {
            Tcb::Conn(c) => Some(c),
            _ => None,
        }
    }
}

/// What each sock shares with the receive hook and the timer.
#[pin_data]
pub(crate) struct RtcpShared {
    #[pin]
    tcb: SpinLockIrq<Tcb>,
}

impl net::Proto for RtcpProto {
    const NAME: &'static [u8] = b"RTCP";
    type Owned = RtcpOwned;
    type Shared = RtcpShared;

    fn shared() -> impl PinInit<RtcpShared, Error> {
        try_pin_init!(RtcpShared { tcb <- new_spinlock_irq!(Tcb::Idle, "rtcp_tcb") })
    }
}

pub(crate) static PROTO: ProtoDef<RtcpProto> = ProtoDef::new();

/// One connection the receive hook demultiplexes to.
struct Demux {
    local: Endpoint,
    remote: Endpoint,
    sk: ARef<Sock<RtcpProto>>,
}

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
    /// Connections by four-tuple (a short list until there are many).
    #[pin]
    conns: SpinLockIrq<KVec<Demux>>,
    /// Listeners by local address (`INADDR_ANY` matches every address).
    #[pin]
    listeners: SpinLockIrq<KVec<(SockAddrIn, ARef<Sock<RtcpProto>>)>>,
    /// The receive hook of the namespace.
    hook: HookRegistration<RtcpHook>,
    /// `net.rtcp.*`.
    sysctl: net::sysctl::Sysctls<3>,
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
            conns <- new_spinlock_irq!(KVec::new(), "rtcp_conns"),
            listeners <- new_spinlock_irq!(KVec::new(), "rtcp_listeners"),
            hook: HookRegistration::new(net, &HOOK)?,
            sysctl: net::sysctl::Sysctls::new(net, c"net/rtcp", &SYSCTLS)?,
            cookie_keys: CookieKeys([SipKey::random(), SipKey::random()]),
            proc: net::procfs::ProcFile::new(net)?,
            proc_stat: net::procfs::ProcFile::new(net)?,
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
        for d in rn.conns.lock().iter() {
            let _ = socks.push((None, d.sk.clone()), GFP_ATOMIC);
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
                (Tcb::Conn(c), None) => {
                    let row = Row {
                        state: sk.state(),
                        tx_queue: 0,
                        rx_queue: 0,
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

/// Carries out what `proto` decided for a sock, after its lock is dropped.
fn apply(sk: &Sock<RtcpProto>, ends: Option<(Endpoint, Endpoint)>, out: Outcome, rearm: Option<u64>) {
    let net = sk.net();
    if let (Some(seg), Some((local, remote))) = (out.reply, ends) {
        // A reply out of the timer is the SYN again.
        send_counted(net, sk.flow_key(), local, remote, &seg, rearm.is_some());
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
        if !matches!(e, ConnError::Reset) {
            Stats::inc(&RtcpNet::of(net).stats.attempt_fails);
        }
        // tcp_done: closed both ways, which poll() reports.
        sk.stop_timer();
        RtcpNet::of(net).remove(sk);
        sk.set_state(TCP_CLOSE);
        sk.set_shutdown(RCV_SHUTDOWN | SEND_SHUTDOWN);
        sk.report_error(conn_errno(e));
        sk.state_change();
    }
}

/// The positive errno a connection's error is reported with.
fn conn_errno(e: ConnError) -> i32 {
    match e {
        ConnError::Refused => ECONNREFUSED,
        ConnError::Reset => ECONNRESET,
        ConnError::TimedOut => ETIMEDOUT,
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

    fn deliver(net: &Net, target: Target, pkt: &Packet) {
        Stats::inc(&RtcpNet::of(net).stats.in_segs);
        let now = now_ms();
        match target {
            Target::Conn(sk) => {
                let (out, ends) = {
                    let mut tcb = sk.shared().tcb.lock();
                    let Some(conn) = tcb.conn() else { return };
                    (conn.on_segment(&pkt.seg, pkt.payload_len, now), (conn.local, conn.remote))
                };
                apply(&sk, Some(ends), out, None);
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
                IcmpAction::Failed(err) => {
                    apply(&sk, None, Outcome { error: Some(err), ..Outcome::default() }, None)
                }
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
    let offer = Offer::of(net, key, local, remote, &pkt.seg);
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
                    let cookies = RtcpNet::of(net).sysctl.get(SYNCOOKIES);
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
    fn of(net: &Net, key: net::route::FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment) -> Option<Offer> {
        use crate::proto::segment::Flags;
        if seg.flags.contains(Flags::RST) || !seg.flags.intersects(Flags::SYN | Flags::ACK) {
            return None;
        }
        let route = Route::output(net, key, local.addr, remote.addr, local.port, remote.port).ok()?;
        let mss = route.mtu().saturating_sub(IP_TCP_HEADERS);
        let syn_retries = RtcpNet::of(net).sysctl.get(SYNACK_RETRIES);
        let cfg = Config { mss: u16::try_from(mss).unwrap_or(u16::MAX), syn_retries, ..Config::default() };
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
    if rn.sysctl.get(SYNCOOKIES) == 0 || f.contains(Flags::SYN) || !f.contains(Flags::ACK) {
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
    let Ok(child) = Sock::alloc_child::<RtcpOps>(net, AF_RTCP, &PROTO) else { return };
    child.set_protocol(sys::IPPROTO_TCP as u16);
    RtcpNet::of(net).socks.fetch_add(1, Ordering::Relaxed);
    let (local, remote) = (conn.local, conn.remote);
    *child.shared().tcb.lock() = Tcb::Conn(conn);
    child.set_state(TCP_ESTABLISHED);
    if RtcpNet::of(net).insert(local, remote, child.clone()).is_err() {
        return;
    }
    let rejected = {
        let mut tcb = sk.shared().tcb.lock();
        match &mut *tcb {
            Tcb::Listen(l) => l.queue.push(child.clone(), GFP_ATOMIC).is_err(),
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
        let syn_retries = match owned.syn_count {
            0 => RtcpNet::of(net).sysctl.get(SYN_RETRIES),
            n => n,
        };
        let cfg = Config { mss: u16::try_from(mss).unwrap_or(u16::MAX), syn_retries, ..Config::default() };
        let (isn, ts_off) = isn_for(net, local, remote);
        let now = now_ms();
        let (conn, syn) = Conn::connect(cfg, local, remote, SeqNum(isn), ts_off, now);
        let deadline = conn.deadline();
        RtcpNet::of(net).insert(local, remote, sk.into())?;
        *sk.shared().tcb.lock() = Tcb::Conn(conn);
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
            Tcb::Conn(mut conn) => (conn.abort(now), Some((conn.local, conn.remote))),
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
        if ends.is_some() {
            RtcpNet::of(sk.net()).remove(sk);
        }
        if let (Some(seg), Some((local, remote))) = (rst, ends) {
            send(sk.net(), sk.flow_key(), local, remote, &seg);
        }
        sk.set_state(TCP_CLOSE);
    }

    /// `tcp_disconnect`: abort, and leave `ECONNRESET` in `SO_ERROR` when a
    /// connection (or a connect in progress) was cut, as Linux does. (A
    /// request in SYN-RECEIVED is not a sock of its own here.)
    fn disconnect(sk: &Sock<RtcpProto>) {
        let old = sk.state();
        Self::abort(sk);
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
        let timeo = sk.send_timeout(nonblock);
        if !sk.wait_until(timeo, || sk.state() != TCP_SYN_SENT)? {
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
    fn setsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32, val: i32) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        if level != sys::SOL_TCP as i32 {
            return Err(ENOPROTOOPT);
        }
        match name as u32 {
            sys::TCP_SYNCNT => {
                let n = u8::try_from(val).ok().filter(|n| (1..=MAX_TCP_SYNCNT).contains(n)).ok_or(EINVAL)?;
                sk.lock().syn_count = n;
                Ok(())
            }
            _ => Err(ENOPROTOOPT),
        }
    }

    fn getsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32) -> Result<i32> {
        let sk = sock.sk().ok_or(EINVAL)?;
        if level != sys::SOL_TCP as i32 {
            return Err(ENOPROTOOPT);
        }
        match name as u32 {
            sys::TCP_SYNCNT => Ok(match sk.lock().syn_count {
                0 => i32::from(RtcpNet::of(sk.net()).sysctl.get(SYN_RETRIES)),
                n => i32::from(n),
            }),
            _ => Err(ENOPROTOOPT),
        }
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

    /// `inet_shutdown` for the states the handshake has: `EINVAL` for a bad
    /// `how`; on a closed socket the bits are set and the answer is
    /// `ENOTCONN`; `SHUT_RD` stops a listener and any `how` abandons a
    /// connect in progress (the socket can connect again). Shutting down
    /// an established connection sends a FIN, which belongs to teardown:
    /// until then it answers `EOPNOTSUPP`.
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
            _ => Err(EOPNOTSUPP),
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
            Tcb::Listen(Listener::new(backlog));
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
            let timeo = sk.recv_timeout(nonblock);
            let ready = sk.wait_until(timeo, || match &*sk.shared().tcb.lock() {
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

    /// As `tcp_poll` for the states RTCP has so far.
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
        let mut mask = 0;
        if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || state == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        if shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        }
        // Writable once connected, and "writable" (to fail at once) once
        // the sending side is shut.
        if state != TCP_SYN_SENT {
            mask |= EPOLLOUT | EPOLLWRNORM;
        }
        if sk.has_error() {
            mask |= EPOLLERR;
        }
        mask
    }

    fn timer(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let mut synacks = KVec::new();
        let (out, ends, rearm) = {
            let mut tcb = sk.shared().tcb.lock();
            match &mut *tcb {
                Tcb::Conn(conn) => {
                    let out = conn.on_timer(now);
                    let rearm = conn.deadline().map(|d| d.saturating_sub(now));
                    (out, Some((conn.local, conn.remote)), rearm)
                }
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
                    let rearm = l.deadline().map(|d| d.saturating_sub(now));
                    (Outcome::default(), None, rearm)
                }
                Tcb::Idle => return,
            }
        };
        for (local, remote, seg) in synacks.iter() {
            send_counted(sk.net(), sk.flow_key(), *local, *remote, seg, true);
        }
        apply(sk, ends, out, rearm);
    }

    fn destruct(sk: &Sock<RtcpProto>) {
        RtcpNet::of(sk.net()).socks.fetch_sub(1, Ordering::Relaxed);
    }
}
