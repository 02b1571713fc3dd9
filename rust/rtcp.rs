// SPDX-License-Identifier: GPL-2.0

//! RTCP's socket, the counterpart of `net/ipv4/tcp.c`: the per-sock state
//! (`tcp_sock`), `tcp_sendmsg`, `tcp_recvmsg`, `tcp_poll`, the `SOL_TCP`
//! options and `TCP_INFO`, `tcp_ioctl`, `tcp_close`, `tcp_shutdown`,
//! `tcp_disconnect` and `tcp_done`'s callers.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::SpinLock;
use crate::net::bh::SpinLockBh;
use kernel::new_spinlock;
use crate::new_spinlock_bh;

use crate::net::buf::Claim;
use crate::net::clock::{msecs_to_ticks, now_ms, ticks_to_msecs, ticks_to_usecs, usecs_to_ticks};
use crate::net::route::IpHeader;
use crate::net::rxq::{Part, Plan};
use crate::net::{self, Msg, PollTable, PortReservation, ProtoDef, Route, Sock, SockAddr, Socket, ZcRef};
use crate::proto::cc::Algorithm;
use crate::proto::conn::{Conn, ConnError, Keepalive, Outcome};
use crate::proto::rtt::RtoBounds;
use crate::proto::state::State;
use crate::sys;

use crate::af_rtcp::RtcpOps;
use crate::rtcp_input::{RtcpStream, drive, grow_rx, grow_tx, send_pending};
use crate::rtcp_ip_sockglue::IpOpts;
use crate::rtcp_ipv4::icmp_errno;
use crate::rtcp_minisocks::Listener;
use crate::rtcp_netns::{RTO_MAX_MS, RTO_MIN_US, RtcpNet, WMEM};
use crate::rtcp_output::send;

// `EPOLL*` are `__poll_t` (`u32`) bit masks.
const EPOLLIN: u32 = sys::RTCP_EPOLLIN;
const EPOLLOUT: u32 = sys::RTCP_EPOLLOUT;
const EPOLLERR: u32 = sys::RTCP_EPOLLERR;
const EPOLLHUP: u32 = sys::RTCP_EPOLLHUP;
const EPOLLRDNORM: u32 = sys::RTCP_EPOLLRDNORM;
const EPOLLWRNORM: u32 = sys::RTCP_EPOLLWRNORM;
const EPOLLRDHUP: u32 = sys::RTCP_EPOLLRDHUP;

/// `sk_state` values are Linux's TCP states (`include/net/tcp_states.h`).
pub(crate) const TCP_CLOSE: u8 = State::Closed.linux();
pub(crate) const TCP_SYN_SENT: u8 = State::SynSent.linux();
pub(crate) const TCP_SYN_RECV: u8 = State::SynReceived.linux();
pub(crate) const TCP_ESTABLISHED: u8 = State::Established.linux();
pub(crate) const TCP_LISTEN: u8 = State::Listen.linux();
pub(crate) const TCP_TIME_WAIT: u8 = State::TimeWait.linux();
pub(crate) const TCP_FIN_WAIT1: u8 = State::FinWait1.linux();
pub(crate) const TCP_CLOSING: u8 = State::Closing.linux();
pub(crate) const TCP_LAST_ACK: u8 = State::LastAck.linux();

/// `sk_shutdown` bits.
pub(crate) const RCV_SHUTDOWN: u8 = sys::RCV_SHUTDOWN as u8;
pub(crate) const SEND_SHUTDOWN: u8 = sys::SEND_SHUTDOWN as u8;

/// RTCP's protocol.
pub(crate) struct RtcpProto;

/// What socket calls keep in each sock, under the socket lock.
#[derive(Default)]
pub(crate) struct RtcpOwned {
    /// The local address and port, once bound (or connected).
    pub(crate) local: SockAddr,
    /// The port, held in the namespace's TCP port space while bound.
    pub(crate) port: Option<PortReservation>,
    /// `bind()` chose the port (`SOCK_BINDPORT_LOCK`): the connection
    /// keeps it after close() until its end (TIME-WAIT included), as
    /// Linux's TCP does. A port connect() picked goes back at close(): a
    /// reservation here is a bound socket, which another connect() cannot
    /// share as `inet_hash_connect` shares a port among four-tuples.
    pub(crate) bound: bool,
    /// `TCP_SYNCNT` (0: the namespace's `syn_retries`).
    pub(crate) syn_count: u8,
}

/// The most SYN retransmissions `TCP_SYNCNT` and `syn_retries` allow.
pub(crate) const MAX_TCP_SYNCNT: u8 = 127;


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
    pub(crate) fn conn(&mut self) -> Option<&mut Conn> {
        self.stream().map(|s| &mut s.conn)
    }

    pub(crate) fn stream(&mut self) -> Option<&mut RtcpStream> {
        match self {
            Tcb::Conn(s) => Some(s),
            _ => None,
        }
    }
}

/// What each sock shares with the receive hook and the timer.
#[pin_data]
pub(crate) struct RtcpShared {
    #[pin]
    pub(crate) tcb: SpinLockBh<Tcb>,
    /// Held, with softirqs off, from before the connection's lock until
    /// the segments built under it are sent ([`drive`]): one context's
    /// segments leave before the next one's are built, in sequence, as
    /// Linux's TCP sends only while it owns the socket.
    #[pin]
    pub(crate) xmit: SpinLock<()>,
    /// A writer holds the socket and pushes its bytes ([`Pushing`]): the
    /// receive softirq then leaves the sending to it, as Linux's TCP
    /// leaves a segment for the socket's owner (`tcp_add_backlog`), so
    /// that one CPU sends the connection's segments and they reach the
    /// peer in order (over veth each CPU queues what it sends on its own
    /// backlog: two CPUs sending by turns reorder the segments, which the
    /// peer takes for losses).
    pub(crate) pushing: AtomicBool,
    /// The receive softirq left segments to send to the writer.
    pub(crate) push_deferred: AtomicBool,
    /// An IPv6 socket (`RTCPPROTO_TCP6`): addresses given and shown as
    /// `sockaddr_in6`, a listener on `::` takes IPv4 clients too. Set
    /// when the sock is made (a child takes its listener's). Which
    /// family a connection runs over is its addresses' ([`crate::rtcp_af::of`]).
    pub(crate) v6: AtomicBool,
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` (s) and `TCP_KEEPCNT` (0: Linux's
    /// default), read by `SO_KEEPALIVE`'s callback, which runs under the
    /// socket lock.
    pub(crate) keep_idle: AtomicU32,
    pub(crate) keep_intvl: AtomicU32,
    pub(crate) keep_cnt: AtomicU32,
    /// `TCP_USER_TIMEOUT`, ms (0: off).
    pub(crate) user_timeout: AtomicU32,
    /// `TCP_MAXSEG` (`rx_opt.user_mss`, 0: none): the most the MSS we
    /// offer and the peer's may be.
    pub(crate) user_mss: AtomicU32,
    /// `TCP_NODELAY` and `TCP_CORK` (here, not under the socket lock, so
    /// that a listener's children take them in softirq context).
    pub(crate) nodelay: AtomicBool,
    pub(crate) cork: AtomicBool,
    /// `TCP_CONGESTION` is "reno" (else "cubic", the default).
    pub(crate) reno: AtomicBool,
    /// `TCP_RTO_MIN_US` (us) and `TCP_RTO_MAX_MS` (ms), rounded to the
    /// kernel's tick as Linux keeps them (0: the namespace's
    /// `rto_min_us` and `rto_max_ms`).
    pub(crate) rto_min_us: AtomicU32,
    pub(crate) rto_max_ms: AtomicU32,
    /// `TCP_WINDOW_CLAMP` (0: none; `window_clamp`).
    pub(crate) window_clamp: AtomicU32,
    /// `TCP_NOTSENT_LOWAT` (0: none).
    pub(crate) notsent_lowat: AtomicU32,
    /// `TCP_LINGER2` in ms (`linger2`: negative, none; 0, the default).
    pub(crate) linger2_ms: AtomicI32,
    /// `TCP_DEFER_ACCEPT` as retransmissions of the SYN-ACK
    /// (`rskq_defer_accept`).
    pub(crate) defer_accept: AtomicU32,
    /// `TCP_QUICKACK` 0 left the socket in pingpong mode.
    pub(crate) pingpong: AtomicBool,
    /// The most segments one GSO skb carries on the connection's route
    /// (0: no route yet, no bound but the skb's).
    pub(crate) gso_segs: AtomicU32,
    /// The kept IPv6 route's validity cookie (`np->dst_cookie`).
    pub(crate) dst_cookie: AtomicU32,
    /// The port a connection holds to its end once nobody's socket does:
    /// its listener's, or its own after close() if `bind()` chose it. Let
    /// go when the connection is over ([`done`]) or the sock goes.
    #[pin]
    pub(crate) held_port: SpinLockBh<Option<PortReservation>>,
    /// The `SOL_IP` options.
    pub(crate) ip: IpOpts,
    /// The Fast Open options.
    #[pin]
    pub(crate) fastopen: crate::rtcp_fastopen::FastOpenSock,
}

impl RtcpShared {
    /// Keeps `port` with the connection to its end, if it is not over;
    /// else gives it back.
    pub(crate) fn hold_port(&self, port: PortReservation) -> Option<PortReservation> {
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

    /// The MSS of a connection that starts on a route whose MSS is
    /// `route_mss`: `TCP_MAXSEG` bounds it (`tcp_mss_clamp`).
    pub(crate) fn clamp_mss(&self, route_mss: u32) -> u32 {
        match self.user_mss.load(Ordering::Relaxed) {
            0 => route_mss,
            user => route_mss.min(user),
        }
    }

    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` (or their defaults).
    pub(crate) fn keep_params(&self) -> Keepalive {
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
    pub(crate) fn sync_options(&self, sk: &Sock<RtcpProto>, c: &mut Conn) {
        c.data.keepalive = self.keepalive(sk);
        c.data.user_timeout_ms = self.user_timeout.load(Ordering::Relaxed);
        c.data.nodelay = self.nodelay.load(Ordering::Relaxed);
        c.data.cork = self.cork.load(Ordering::Relaxed);
        c.cfg.congestion = self.congestion();
        c.data.cc.set_algorithm(c.cfg.congestion);
        let (min_us, max_ms) = self.rto_bounds(sk);
        // A locked rto_min on the route wins (`tcp_rto_min`).
        let min_us = if c.cfg.route_rto_min_us != 0 { c.cfg.route_rto_min_us } else { min_us };
        c.rtt.bounds = RtoBounds { min_us, max_us: max_ms.saturating_mul(1000) };
        c.data.notsent_lowat = self.notsent_lowat.load(Ordering::Relaxed);
        c.data.linger2_ms = i64::from(self.linger2_ms.load(Ordering::Relaxed));
        c.data.pingpong = self.pingpong.load(Ordering::Relaxed);
    }

    /// The bounds of the retransmission timeout: `TCP_RTO_MIN_US` (us)
    /// and `TCP_RTO_MAX_MS` (ms), else the namespace's, in whole ticks.
    pub(crate) fn rto_bounds(&self, sk: &Sock<RtcpProto>) -> (u32, u32) {
        let net = RtcpNet::of(sk.net());
        let or = |a: &AtomicU32, i: usize, round: fn(u32) -> u32| match a.load(Ordering::Relaxed) {
            0 => round(u32::try_from(net.sysctl.get(i)).unwrap_or(u32::MAX)),
            v => v,
        };
        (
            or(&self.rto_min_us, RTO_MIN_US, |us| ticks_to_usecs(usecs_to_ticks(us))),
            or(&self.rto_max_ms, RTO_MAX_MS, |ms| ticks_to_msecs(msecs_to_ticks(ms))),
        )
    }

    /// `TCP_DEFER_ACCEPT` in SYN-ACK retransmissions.
    pub(crate) fn defer_accept(&self) -> u8 {
        u8::try_from(self.defer_accept.load(Ordering::Relaxed)).unwrap_or(u8::MAX)
    }

    /// The congestion control `TCP_CONGESTION` chose.
    pub(crate) fn congestion(&self) -> Algorithm {
        if self.reno.load(Ordering::Relaxed) { Algorithm::Reno } else { Algorithm::Cubic }
    }

    /// A child takes its listener's TCP-level options (`tcp_create_openreq_child`
    /// copies them with the sock).
    pub(crate) fn inherit(&self, parent: &RtcpShared) {
        for (to, from) in [
            (&self.keep_idle, &parent.keep_idle),
            (&self.keep_intvl, &parent.keep_intvl),
            (&self.keep_cnt, &parent.keep_cnt),
            (&self.user_timeout, &parent.user_timeout),
            (&self.user_mss, &parent.user_mss),
            (&self.rto_min_us, &parent.rto_min_us),
            (&self.rto_max_ms, &parent.rto_max_ms),
            (&self.window_clamp, &parent.window_clamp),
            (&self.notsent_lowat, &parent.notsent_lowat),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.nodelay.store(parent.nodelay.load(Ordering::Relaxed), Ordering::Relaxed);
        self.cork.store(parent.cork.load(Ordering::Relaxed), Ordering::Relaxed);
        self.reno.store(parent.reno.load(Ordering::Relaxed), Ordering::Relaxed);
        self.pingpong.store(parent.pingpong.load(Ordering::Relaxed), Ordering::Relaxed);
        // (Not TCP_DEFER_ACCEPT: the child's accept queue starts empty,
        // `inet_csk_clone_lock`.)
        self.linger2_ms.store(parent.linger2_ms.load(Ordering::Relaxed), Ordering::Relaxed);
        self.v6.store(parent.v6.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl net::Proto for RtcpProto {
    const NAME: &'static [u8] = b"RTCP";
    type Owned = RtcpOwned;
    type Shared = RtcpShared;

    fn shared() -> impl PinInit<RtcpShared, Error> {
        try_pin_init!(RtcpShared {
            tcb <- new_spinlock_bh!(Tcb::Idle, "rtcp_tcb"),
            xmit <- new_spinlock!((), "rtcp_xmit"),
            pushing: AtomicBool::new(false),
            push_deferred: AtomicBool::new(false),
            keep_idle: AtomicU32::new(0),
            keep_intvl: AtomicU32::new(0),
            keep_cnt: AtomicU32::new(0),
            user_timeout: AtomicU32::new(0),
            user_mss: AtomicU32::new(0),
            rto_min_us: AtomicU32::new(0),
            rto_max_ms: AtomicU32::new(0),
            window_clamp: AtomicU32::new(0),
            notsent_lowat: AtomicU32::new(0),
            linger2_ms: AtomicI32::new(0),
            defer_accept: AtomicU32::new(0),
            pingpong: AtomicBool::new(false),
            nodelay: AtomicBool::new(false),
            cork: AtomicBool::new(false),
            reno: AtomicBool::new(false),
            gso_segs: AtomicU32::new(0),
            dst_cookie: AtomicU32::new(0),
            v6: AtomicBool::new(false),
            held_port <- new_spinlock_bh!(None, "rtcp_held_port"),
            ip: IpOpts::new(),
            fastopen <- crate::rtcp_fastopen::FastOpenSock::new(),
        })
    }

    fn ip_header(sk: &Sock<RtcpProto>) -> IpHeader {
        sk.shared().ip.header()
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

/// Copies the parts of `plan` in order into the user's next bytes, but
/// the first `skip` bytes (urgent bytes a read passes over), its buffer
/// parts from `claim`; how many.
fn copy_plan(msg: &mut Msg<'_>, plan: &Plan, claim: &Claim, mut skip: usize) -> usize {
    let mut out = 0;
    let mut cut = |r: &core::ops::Range<usize>| {
        let k = skip.min(r.len());
        skip -= k;
        r.start + k..r.end
    };
    for part in plan.parts() {
        let (want, n) = match part {
            Part::Buffer((a, b)) => {
                let spans = (cut(a), cut(b));
                (spans.0.len() + spans.1.len(), claim.read(&spans, |src| msg.copy_to_user(src)))
            }
            Part::Skb { skb, off, len } => {
                let k = cut(&(0..*len as usize)).start as u32;
                (*len as usize - k as usize, msg.copy_skb_to_user(skb, *off + k, *len - k))
            }
        };
        out += n;
        if n < want {
            break;
        }
    }
    out
}

/// The positive errno a connection's error is reported with.
pub(crate) fn conn_errno(e: ConnError) -> i32 {
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


impl RtcpOps {
    /// Tears the connection down, if any: its RST (from the synchronized
    /// states), its demux entry and its timer. A listener stops listening:
    /// its handshakes in progress are forgotten and the connections no one
    /// accepted are reset (`inet_csk_listen_stop`).
    pub(crate) fn abort(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Idle);
        let (rst, ends) = match old {
            Tcb::Conn(mut st) => (st.conn.abort(now), Some((st.conn.local, st.conn.remote))),
            Tcb::Listen(l) => {
                sk.stop_timer();
                RtcpNet::of(sk.net()).remove_listener(sk, l.local_port);
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
            send(crate::rtcp_af::of(remote.addr), sk.net(), sk.flow_key(), local, remote, &seg);
        }
        sk.set_state(TCP_CLOSE);
    }

    /// `tcp_close`: a connection sends its FIN after its data and
    /// finishes on its own, orphaned (the demux table keeps the sock
    /// until then); unread data or `SO_LINGER` of zero aborts it with a
    /// reset instead; anything else is torn down at once.
    pub(crate) fn close(sk: &Sock<RtcpProto>) {
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
    pub(crate) fn shutdown_send(sk: &Sock<RtcpProto>) {
        let now = now_ms();
        drive(sk, now, |st| Some((st.conn.close(false, now), false)));
    }

    /// Sends what the connection has to send now (after the user wrote,
    /// read, or changed an option), then carries out the rest.
    pub(crate) fn push(sk: &Sock<RtcpProto>) {
        drive(sk, now_ms(), send_pending);
    }

    /// `tcp_disconnect`: abort, and leave `ECONNRESET` in `SO_ERROR` when a
    /// connection (or a connect in progress) was cut, as Linux does. (A
    /// request in SYN-RECEIVED is not a sock of its own here.)
    pub(crate) fn disconnect(sk: &Sock<RtcpProto>) {
        let old = sk.state();
        Self::abort(sk);
        // The next connect may go elsewhere (`tcp_disconnect`), and is
        // deferred only if it says so again.
        Route::forget(sk);
        sk.set_shutdown(0);
        sk.shared().fastopen.deferred.store(false, Ordering::Relaxed);
        if matches!(old, TCP_SYN_SENT | TCP_ESTABLISHED) {
            sk.report_error(ECONNRESET.to_errno().wrapping_neg());
        }
    }
}


/// `tcp_ioctl`: `SIOCINQ` (`FIONREAD`), the bytes readable;
/// `SIOCOUTQ`, the bytes not yet acknowledged; `SIOCOUTQNSD`, the bytes
/// not yet sent; `EINVAL` on a listener; `SIOCATMARK`, the reader is at
/// the urgent mark (0 on any socket without urgent data).
pub(crate) fn ioctl(sock: &Socket<RtcpProto>, cmd: u32) -> Result<i32> {
    let sk = sock.sk().ok_or(EINVAL)?;
    if cmd == sys::RTCP_SIOCATMARK {
        return Ok(sk.shared().tcb.lock().stream().is_some_and(|st| st.at_mark()).into());
    }
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

/// `tcp_sendmsg`: waits for a connect in progress, then copies into
/// the send buffer as room comes, up to `SO_SNDTIMEO`; a partial write
/// when time runs out, a signal comes or the connection ends after
/// some bytes; `EPIPE` (with `SIGPIPE` unless `MSG_NOSIGNAL`) once the
/// sending side is shut. With `MSG_ZEROCOPY` on a socket with
/// `SO_ZEROCOPY` (else the flag is ignored), the send takes the next id
/// first (`ENOBUFS` if it cannot), gives it back if it takes no bytes,
/// and its completion is posted on the error queue once its bytes are
/// acknowledged: as Linux's TCP, which copies as RTCP always does when
/// the route cannot gather pages, and says so in the completion. With
/// `MSG_OOB` the last byte written is urgent (`tcp_mark_urg`).
pub(crate) fn sendmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize) -> Result<usize> {
    let sk = sock.sk().ok_or(EINVAL)?;
    let flags = msg.flags();
    let zc = if flags & sys::RTCP_MSG_ZEROCOPY != 0 && len > 0 && sk.zerocopy() {
        let owned = sk.lock();
        // A reference to the last completion, taken under the
        // connection's lock, kept while the next id is taken without it.
        let tail = sk.shared().tcb.lock().stream().and_then(|st| st.zc_tail().cloned());
        Some(ZcRef::start(&owned, len, tail.as_ref())?)
    } else {
        None
    };
    let res = if flags & sys::RTCP_MSG_FASTOPEN != 0 || sk.shared().fastopen.deferred.load(Ordering::Relaxed) {
        // Fast Open: the connect, with the first bytes in the SYN.
        match crate::rtcp_fastopen::sendmsg(sock, sk, msg, len, flags) {
            Ok((n, true)) => Ok(n),
            Ok((n, false)) => send_stream(sk, msg, len - n, flags).map(|m| n + m).or_else(|e| if n > 0 { Ok(n) } else { Err(e) }),
            Err(e) => Err(e),
        }
    } else {
        send_stream(sk, msg, len, flags)
    };
    if let Some(zc) = zc {
        let owned = sk.lock();
        match &res {
            Ok(n) if *n > 0 => {
                let spare = match sk.shared().tcb.lock().stream() {
                    Some(st) => st.zc_sent(zc),
                    None => Some(zc),
                };
                drop(spare);
            }
            _ => zc.abort(&owned),
        }
    }
    res
}

/// The bytes a writer may add to a send buffer that holds `queued` now,
/// as far as the namespace's memory goes (`sk_wmem_schedule`): what
/// `net.rtcp.mem`'s most leaves, or up to `least` queued in any case (as
/// `tcp_wmem[0]` is every socket's).
fn mem_budget(rn: &RtcpNet, least: usize, queued: usize) -> usize {
    rn.mem.send_room().max(least.saturating_sub(queued))
}

/// The socket held by a writer that pushes its bytes: while it lives,
/// the receive softirq processes the peer's segments but leaves what the
/// connection sends then to the writer ([`RtcpShared::pushing`]), which
/// sends it at its next push, or when it lets the socket go (to wait or
/// to return), as `release_sock` processes the socket's backlog.
struct Pushing<'a> {
    sk: &'a Sock<RtcpProto>,
    _owned: net::sock::SockGuard<'a, RtcpProto>,
}

impl<'a> Pushing<'a> {
    fn new(sk: &'a Sock<RtcpProto>) -> Pushing<'a> {
        let owned = sk.lock();
        sk.shared().pushing.store(true, Ordering::SeqCst);
        Pushing { sk, _owned: owned }
    }

    /// Sends what the connection has to send, what the softirq left too.
    fn push(&self) {
        self.sk.shared().push_deferred.store(false, Ordering::SeqCst);
        RtcpOps::push(self.sk);
    }
}

impl Drop for Pushing<'_> {
    fn drop(&mut self) {
        // After this store a softirq sends for itself; what it left before
        // it is sent here (each side reads the other's flag after writing
        // its own: one of them sends).
        self.sk.shared().pushing.store(false, Ordering::SeqCst);
        if self.sk.shared().push_deferred.swap(false, Ordering::SeqCst) {
            RtcpOps::push(self.sk);
        }
    }
}

/// [`sendmsg`]'s bytes into the send buffer.
pub(crate) fn send_stream(sk: &Sock<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<usize> {
    // One timeout for every wait of the call, as `sk_wait_event`
    // counts it down.
    let mut timeo = sk.send_timeout(flags & sys::RTCP_MSG_DONTWAIT != 0);
    // (A Fast Open SYN waiting for its data takes it first.)
    let syn_pending = sk.shared().tcb.lock().conn().is_some_and(|c| c.data.syn_pending);
    if sk.state() == TCP_SYN_SENT && !syn_pending {
        // sk_stream_wait_connect: EAGAIN when the time runs out first.
        if timeo == 0 || !sk.wait_until(&mut timeo, || sk.state() != TCP_SYN_SENT || sk.has_error())? {
            return Err(EAGAIN);
        }
    }
    // The socket lock serialises writers; it is let go while waiting
    // (as sk_wait_event does), so that other calls get through.
    let mut owned = Some(Pushing::new(sk));
    let mut sent = 0usize;
    let rn = RtcpNet::of(sk.net());
    let least = rn.buf_sizes(WMEM).min;
    // A non-blocking call that found no room looks once more after it
    // set SOCK_NOSPACE.
    let mut looked_again = false;
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
                // TCP_NOTSENT_LOWAT: no room while that much waits unsent
                // (`sk_stream_memory_free`).
                let free = st.conn.memory_free(false);
                let budget = mem_budget(rn, least, st.tx.len());
                let room = if free { st.write_room().min(budget) } else { 0 };
                let starved = free && budget == 0;
                Some((room, free && !starved, starved, st.tx.room_spans(room.min(more)).zip(st.tx.storage().lease())))
            }
            _ => None,
        };
        let Some((room, free, starved, lease)) = room else {
            return if sent > 0 { Ok(sent) } else { Err(sk.stream_error(flags, EPIPE)) };
        };
        if room < more && free && grow_tx(sk, more) {
            continue;
        }
        if room == 0 {
            let ready = |sk: &Sock<RtcpProto>| {
                sk.has_error()
                    || match sk.shared().tcb.lock().stream() {
                        Some(st) => {
                            !st.conn.may_send()
                                || (st.conn.send_space() > 0
                                    && st.conn.writable()
                                    && mem_budget(rn, least, st.tx.len()) > 0)
                        }
                        None => true,
                    }
            };
            // The next ACK that makes room wakes writers (and SIGIO, and an
            // edge-triggered epoll's EPOLLOUT after this EAGAIN), as
            // `sk_stream_wait_memory` sets SOCK_NOSPACE; then one more look
            // at the room, for an ACK that came since the first (it ran
            // without the socket lock, and so saw no flag).
            sk.set_nospace();
            if timeo == 0 {
                if !looked_again && ready(sk) {
                    looked_again = true;
                    continue;
                }
                return if sent > 0 { Ok(sent) } else { Err(EAGAIN) };
            }
            drop(owned.take());
            let ready = if starved {
                // Waiting for the namespace's memory, which other
                // connections free without waking this one: a look
                // again after a while, as `sk_stream_wait_memory`'s
                // `vm_wait`.
                let slice = isize::try_from(msecs_to_ticks(200)).unwrap_or(isize::MAX);
                let mut t = timeo.min(slice);
                let started = t;
                let r = sk.wait_until(&mut t, || ready(sk));
                if timeo != sys::RTCP_MAX_SCHEDULE_TIMEOUT {
                    timeo = timeo.saturating_sub(started.saturating_sub(t));
                }
                match r {
                    Ok(false) if timeo > 0 => Ok(true),
                    r => r,
                }
            } else {
                sk.wait_until(&mut timeo, || ready(sk))
            };
            owned = Some(Pushing::new(sk));
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
        let Some((spans, lease)) = lease else { continue };
        // Room in pages that skbs of earlier segments still hold gets
        // new pages first; the skbs keep the old ones.
        let fresh = match lease.fresh_pages(&spans) {
            Ok(fresh) => fresh,
            Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
        };
        // The room is still room (only a writer turns it into data, and
        // this call is the only writer: it holds the socket lock), claimed
        // to be filled with the connection's lock let go.
        let claim = match sk.shared().tcb.lock().stream() {
            Some(st) if st.tx.storage().is(&lease) => {
                if !fresh.is_empty() {
                    st.tx.storage().renew(fresh, &spans);
                }
                st.tx.storage_mut().claim(spans, true)
            }
            _ => None,
        };
        let Some(mut claim) = claim else { continue };
        let got = claim.fill(|dst| msg.copy_from_user(dst));
        // Filled: the bytes become data under the lock.
        drop(claim);
        if got == 0 {
            return if sent > 0 { Ok(sent) } else { Err(EFAULT) };
        }
        let taken = match sk.shared().tcb.lock().stream() {
            // The bytes that end the call end a write (PSH), unless the
            // caller said more follows.
            Some(st) if st.tx.storage().is(&lease) => {
                let last = got == more;
                let n = st.wrote(got, last && flags & sys::RTCP_MSG_MORE == 0);
                // MSG_MORE: this call's push is corked (`tcp_push`).
                if last && flags & sys::RTCP_MSG_MORE != 0 {
                    st.conn.data.hold_tail = true;
                }
                // MSG_OOB: the urgent point follows the bytes written so
                // far, as `tcp_push` marks it at each push of the call.
                if n > 0 && flags & sys::RTCP_MSG_OOB != 0 {
                    st.conn.mark_urgent();
                }
                n
            }
            _ => 0,
        };
        sent += taken;
        if let Some(p) = &owned {
            p.push();
        }
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
pub(crate) fn recvmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<usize> {
    let sk = sock.sk().ok_or(EINVAL)?;
    // As tcp_recvmsg: the error queue before anything else
    // (`inet_recv_error`).
    if flags & sys::RTCP_MSG_ERRQUEUE != 0 {
        return msg.recv_error(sk, len);
    }
    let peek = flags & sys::RTCP_MSG_PEEK != 0;
    let target = if flags & sys::RTCP_MSG_WAITALL != 0 && !peek { len } else { 1 };
    let mut timeo = sk.recv_timeout(flags & sys::RTCP_MSG_DONTWAIT != 0);
    // As in sendmsg: held but for the waits.
    let mut owned = Some(sk.lock());
    if sk.state() == TCP_LISTEN {
        return Err(ENOTCONN);
    }
    if flags & sys::RTCP_MSG_OOB != 0 {
        return recv_urgent(sk, msg, len, flags);
    }
    let mut copied = 0usize;
    while copied < len {
        // The readable bytes at the receive buffer's head, copied
        // straight to user memory with the connection's lock let go, up
        // to the urgent mark (`tcp_recvmsg_locked`): a read that copied
        // something stops before it, and the urgent bytes there are
        // taken without being copied (unless SO_OOBINLINE).
        let ready = sk.shared().tcb.lock().stream().map(|st| {
            let u = st.urgent_read();
            let stop = u.at_mark && copied > 0;
            let want = (u.drop as usize).saturating_add((len - copied).min(u.limit as usize));
            // A peek cannot take the bytes it skips: it waits for data.
            let plan = if stop || (peek && st.readable() == 0) { None } else { st.plan(want) };
            (stop, u.drop as usize, plan)
        });
        let (stop, skip, ready) = match ready {
            Some(r) => r,
            None if copied > 0 => break,
            // Never connected (or disconnected).
            None => return Err(ENOTCONN),
        };
        if stop {
            break;
        }
        if let Some((plan, lease, claim)) = ready {
            let skip = skip.min(plan.len);
            // The plan's buffer parts are data at the head, claimed to be
            // read with the lock let go; the claim ends before they are
            // consumed (and become room).
            // MSG_TRUNC: the bytes are taken (or peeked) without being
            // copied, and counted (tcp_recvmsg_locked skips the copy).
            let out = if flags & sys::RTCP_MSG_TRUNC != 0 { plan.len - skip } else { copy_plan(msg, &plan, &claim, skip) };
            drop(claim);
            if out == 0 && copied == 0 && plan.len > skip {
                return Err(EFAULT);
            }
            copied += out;
            if peek {
                break;
            }
            let (tell, wanted) = match sk.shared().tcb.lock().stream().filter(|st| st.rx.storage().is(&lease)) {
                Some(st) => (st.took_planned(&plan, skip + out), st.rcvbuf_wanted(out, now_ms())),
                None => (false, None),
            };
            // The skbs read to their end are freed here, with the
            // lock let go.
            drop(plan);
            let grew = wanted.is_some_and(|b| grow_rx(sk, b));
            // A window update, if the window grew enough to tell.
            if tell || grew {
                RtcpOps::push(sk);
            }
            if out == 0 && skip == 0 {
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
                || sk.shared().tcb.lock().stream().is_none_or(|st| st.readable() > 0)
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

/// `recv(MSG_OOB)` (`tcp_recv_urg`), which never waits: the urgent byte
/// (`MSG_OOB` in the message's flags; `MSG_TRUNC` and 0 for a buffer of
/// none), taken unless `MSG_PEEK`; `EINVAL` when there is none or it is
/// read inline (`SO_OOBINLINE`), `ENOTCONN` on a connection that ended
/// without the peer's FIN, then `EAGAIN` until it comes (0 once nothing
/// more will).
fn recv_urgent(sk: &Sock<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<usize> {
    use crate::proto::urgent::OobRecv;
    let (got, fin) =
        sk.shared().tcb.lock().stream().map_or((OobRecv::Invalid, false), |st| (st.conn.data.urg.recv(true), st.conn.data.fin_in));
    if got == OobRecv::Invalid {
        return Err(EINVAL);
    }
    // Closed without the peer's FIN (`SOCK_DONE`): reset, timed out.
    if sk.state() == TCP_CLOSE && !fin {
        return Err(ENOTCONN);
    }
    let over = sk.state() == TCP_CLOSE || sk.shutdown() & RCV_SHUTDOWN != 0;
    let OobRecv::Byte(b) = got else {
        return if over { Ok(0) } else { Err(EAGAIN) };
    };
    if flags & sys::RTCP_MSG_PEEK == 0 {
        if let Some(st) = sk.shared().tcb.lock().stream() {
            st.conn.data.urg.recv(false);
        }
    }
    msg.add_flags(sys::RTCP_MSG_OOB);
    if len == 0 {
        msg.add_flags(sys::RTCP_MSG_TRUNC);
        return Ok(0);
    }
    if flags & sys::RTCP_MSG_TRUNC == 0 && msg.copy_to_user(&[b]) != 1 {
        return Err(EFAULT);
    }
    Ok(1)
}

/// As `tcp_poll`.
pub(crate) fn poll(sock: &Socket<RtcpProto>, wait: &PollTable<'_>) -> u32 {
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
    let (readable, writable, urgent) = match sk.shared().tcb.lock().stream() {
        // sk_stream_is_writeable: free room at least half of what is
        // queued. Readable: more than an urgent byte to skip; POLLPRI:
        // the urgent byte waits for recv(MSG_OOB).
        Some(st) => (st.readable() > 0, st.conn.writable(), st.conn.data.urg.pending()),
        None => (false, true, false),
    };
    let mut mask = 0;
    if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || state == TCP_CLOSE {
        mask |= EPOLLHUP;
    }
    if shutdown & RCV_SHUTDOWN != 0 {
        mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    }
    // A connect that Fast Open deferred says "writable", for the write
    // its SYN waits for.
    if state == TCP_SYN_SENT && sk.shared().fastopen.deferred.load(Ordering::Relaxed) {
        mask |= EPOLLOUT | EPOLLWRNORM;
    }
    if state != TCP_SYN_SENT {
        if readable {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        // "Writable" (to fail at once) once the sending side is shut. Not
        // writable: the next ACK that makes room wakes the poller
        // (SOCK_NOSPACE), and one more look catches an ACK that came
        // before the flag (tcp_poll's race breaker).
        let writable = writable || shutdown & SEND_SHUTDOWN != 0 || {
            sk.set_nospace();
            sk.shared().tcb.lock().stream().is_none_or(|st| st.conn.writable())
        };
        if writable {
            mask |= EPOLLOUT | EPOLLWRNORM;
        }
        if urgent {
            mask |= sys::RTCP_EPOLLPRI;
        }
    }
    // As tcp_poll: an error, or something on the error queue
    // (`MSG_ZEROCOPY`'s completions).
    if sk.has_error() || sk.error_queued() {
        mask |= EPOLLERR;
    }
    mask
}
