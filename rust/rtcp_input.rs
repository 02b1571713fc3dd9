// SPDX-License-Identifier: GPL-2.0

//! What arrives at a connection, the counterpart of `net/ipv4/tcp_input.c`:
//! a segment fed to the core with its payload kept in its skb
//! (`tcp_data_queue`), the outcome carried out (`tcp_rcv_state_process`,
//! `tcp_done`), a listener's SYN and handshake segments (`tcp_conn_request`,
//! `tcp_check_req`), and the buffers' growth (`tcp_sndbuf_expand`,
//! `tcp_rcv_space_adjust`).

use core::cell::Cell;
use core::sync::atomic::Ordering;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

use crate::net::bh::BhOff;
use crate::net::buf::{Claim, Lease, SharedBytes};
use crate::net::rxq::{Plan, RxQueue};
use crate::net::skb::SkbPayload;
use crate::net::route::FlowKey;
use crate::net::{Net, Packet, Route, Sock, ZcRef};
use crate::net::clock::now_ms;
use crate::net::netns::rmem_max;
use crate::proto::conn::{initial_window, Config, Conn, ConnError, Endpoint, Outcome};
use crate::proto::options::TCPOLEN_TSTAMP_ALIGNED;
use crate::proto::cookie::Cookies;
use crate::proto::request::{listen_segment, syn_backlog_reserved, ListenAction, Request, RequestOutcome};
use crate::proto::ring::Ring;
use crate::proto::segment::Segment;
use crate::proto::seq::SeqNum;
use crate::proto::state::State;
use crate::proto::stream::{self, Stream};

use crate::af_rtcp::RtcpOps;
use crate::rtcp::{RCV_SHUTDOWN, RtcpProto, SEND_SHUTDOWN, TCP_CLOSE, TCP_SYN_SENT, Tcb, conn_errno};
use crate::rtcp_af::AfCookieHash;
use crate::rtcp_fastopen as fastopen;
use crate::rtcp_ipv4::{MINUTE_MS, cookie_ack};
use crate::rtcp_minisocks::accept_child;
use crate::rtcp_netns::{CHILD_BUF, RMEM, RtcpNet, SYN_LINEAR_TIMEOUTS, SYNACK_RETRIES, SYNCOOKIES, WMEM};
use crate::rtcp_output::Outbox;
use crate::rtcp_output::send;
use crate::rtcp_proc::Stats;

/// A connection with its buffers, the received payloads kept in their
/// skbs for its reader ([`RxQueue`]), and its `MSG_ZEROCOPY` sends not
/// yet acknowledged.
pub(crate) struct RtcpStream {
    st: Stream<SharedBytes>,
    rxq: RxQueue,
    /// The completions of `MSG_ZEROCOPY` sends, each with the sequence
    /// number after its last byte, in order: Linux posts one when the skbs
    /// holding its bytes are freed, once they are acknowledged (or the
    /// connection ends), and so does RTCP.
    zc: KVec<(ZcRef, SeqNum)>,
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

    fn may_keep(&self) -> bool {
        self.may
    }

    fn keep(&self, skip: u32, len: u32) -> bool {
        if self.may {
            self.kept.set(Some((skip, len)));
        }
        self.may
    }

    fn cost(&self) -> Option<crate::proto::rwnd::Cost> {
        self.payload.cost()
    }
}

impl RtcpStream {
    /// `st`, whose kept skbs are charged to `rn`'s memory.
    pub(crate) fn new(st: Stream<SharedBytes>, rn: &RtcpNet) -> Self {
        RtcpStream { st, rxq: RxQueue::new(rn.mem.clone(), rn.buf_sizes(RMEM).min), zc: KVec::new() }
    }

    /// The completion of the last `MSG_ZEROCOPY` send, if its bytes end the
    /// send buffer and some are not sent yet: the next such send may
    /// extend it, as Linux's extends the completion of the skb at the tail
    /// of its write queue.
    pub(crate) fn zc_tail(&self) -> Option<&ZcRef> {
        let (zc, end) = self.zc.last()?;
        let d = &self.st.conn.data;
        (*end == d.snd_end && self.st.conn.snd_nxt.before(d.snd_end)).then_some(zc)
    }

    /// A `MSG_ZEROCOPY` send queued its last byte: its completion waits
    /// for their acknowledgement (extending the last one if it is the
    /// same). What to drop after the connection's lock: a reference this
    /// queue does not need, or the completion itself when the bytes are
    /// acknowledged already or the connection is over (it is posted then).
    pub(crate) fn zc_sent(&mut self, zc: ZcRef) -> Option<ZcRef> {
        let end = self.st.conn.data.snd_end;
        if self.st.conn.state == State::Closed || !self.st.conn.snd_una.before(end) {
            return Some(zc);
        }
        if let Some((last, last_end)) = self.zc.last_mut() {
            if last.same(&zc) {
                *last_end = end;
                return Some(zc);
            }
        }
        // No room: the completion is posted now rather than lost.
        if self.zc.reserve(1, GFP_ATOMIC).is_err() {
            return Some(zc);
        }
        let _ = self.zc.push((zc, end), GFP_ATOMIC);
        None
    }

    /// Posts the completions whose bytes are all acknowledged, or all of
    /// them (`all`: the connection is over, its bytes freed). Under the
    /// connection's lock, as Linux's TCP frees acknowledged skbs under its
    /// socket spinlock: the callback takes only the error queue's lock
    /// (irqsave) and wakes the socket's waiters, and each completion's
    /// reference on the sock is not its last (the caller holds one).
    pub(crate) fn zc_complete(&mut self, all: bool) {
        let una = self.st.conn.snd_una;
        if all || self.zc.first().is_some_and(|(_, end)| !una.before(*end)) {
            self.zc.retain(|(_, end)| !all && una.before(*end));
        }
    }

    /// A segment arrived ([`Stream::on_segment`]). Its payload, in order,
    /// stays in its skb for the reader if it is long enough and the kept
    /// skbs stay within the receive buffer's size (twice its window).
    pub(crate) fn receive(&mut self, seg: &Segment, payload: &SkbPayload<'_>, payload_len: u32, now: u64) -> Outcome {
        // The kept skbs' truesize stays within the buffer the window is
        // half of, as Linux charges skbs to `sk_rcvbuf`.
        let limit = self.st.rx.capacity().saturating_mul(2);
        // Past the namespace's memory, a connection with less than its
        // least unread still takes the segment (`tcp_try_rmem_schedule`
        // lets `sk_rmem_alloc` reach `sk_get_rmem0`).
        let reserve = self.st.rx.len() < self.rxq.least();
        self.st.rx.storage().set_reserve(reserve);
        let may = payload.len() >= KEEP_MIN && self.rxq.make_room(payload.truesize(), limit, reserve);
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

    /// A Fast Open child's SYN data ([`Stream::syn_data`]).
    pub(crate) fn syn_data(&mut self, payload: &SkbPayload<'_>, len: u32) -> bool {
        self.st.syn_data(&KeepOffer { payload, may: false, kept: Cell::new(None) }, len)
    }

    /// The next bytes to read, `n` at most, for the reader to copy with
    /// the lock let go, their buffer parts claimed to read; `None` if
    /// there are none.
    pub(crate) fn plan(&mut self, n: usize) -> Option<(Plan, Lease, Claim)> {
        let n = n.min(self.st.rx.len());
        let lease = self.st.rx.storage().lease().filter(|_| n > 0)?;
        let plan = self.rxq.plan(n, |r| self.st.rx.data_spans(r.start, r.len()));
        let spans = self.st.rx.data_spans(0, plan.len)?;
        let claim = self.st.rx.storage_mut().claim(spans, false)?;
        (plan.len > 0).then_some((plan, lease, claim))
    }

    /// `n` bytes of `plan` were read ([`Stream::took`]).
    pub(crate) fn took_planned(&mut self, plan: &Plan, n: usize) -> bool {
        let n = n.min(plan.len);
        self.rxq.consume(plan, n);
        self.st.took(n)
    }
}

/// What this side offers in its SYN or SYN-ACK: `mss`, the segment size of
/// the path, and `adv_mss`, the MSS to offer (the route's `advmss`), the
/// SYN retries, a send buffer of `tx` bytes, every option, and the window
/// and its scale as `tcp_select_initial_window` chooses them (the receive
/// buffer follows the window, [`stream::rx_capacity`]). `user_rx`:
/// `SO_RCVBUF` as the user set it, which also clamps the window, else
/// `net.rtcp.rmem`'s start; `peer_ts`: the peer's segments will carry
/// timestamps (a passive open whose SYN had them), so the window is
/// rounded to segments that much shorter.
pub(crate) fn our_config(net: &Net, path: &Path, syn_retries: u8, user_rx: Option<u32>, tx: usize, peer_ts: bool, window_clamp: u32) -> Config {
    let Path { mss, adv_mss, init_cwnd, rto_min_us } = *path;
    let sizes = RtcpNet::of(net).buf_sizes(RMEM);
    // The buffer is the user's SO_RCVBUF (doubled by the core), else the
    // namespace's start; half of it is window until the peer's segments
    // say how much of their memory is payload (`tcp_win_from_space`).
    let rcvbuf = user_rx.map_or(u32::try_from(sizes.start).unwrap_or(u32::MAX), |r| r.saturating_mul(2));
    let space = rcvbuf / 2;
    let most = u32::try_from(sizes.max).unwrap_or(u32::MAX).max(rmem_max());
    let seg = if peer_ts { adv_mss.saturating_sub(TCPOLEN_TSTAMP_ALIGNED) } else { adv_mss };
    // TCP_WINDOW_CLAMP, and SO_RCVBUF's space below it
    // (`tcp_openreq_init_rwin`), bound the window and choose its scale.
    let clamp = match (user_rx.unwrap_or(0), window_clamp) {
        (0, c) | (c, 0) => c,
        (r, c) => r.min(c),
    };
    let (rcv_wnd, wscale) = initial_window(space, seg, clamp, Some(most));
    Config {
        mss: u16::try_from(mss).unwrap_or(u16::MAX),
        adv_mss: u16::try_from(adv_mss).unwrap_or(u16::MAX),
        init_cwnd,
        route_rto_min_us: rto_min_us,
        syn_retries,
        syn_linear_timeouts: RtcpNet::of(net).sysctl_u8(SYN_LINEAR_TIMEOUTS),
        rcv_wnd,
        // The buffer keeps its whole space: what rounding the window down
        // to the MSS left over holds unread bytes before they shrink it.
        rcv_space: space,
        rcvbuf,
        rmem_max: u32::try_from(sizes.max).unwrap_or(u32::MAX),
        wscale,
        sndbuf: u32::try_from(tx).unwrap_or(u32::MAX),
        window_clamp,
        ..Config::default()
    }
}

/// What a connection takes from its route (`tcp_connect_init`,
/// `tcp_openreq_init_rwin`): the segment size of the path and the MSS to
/// offer (`advmss`), both within `TCP_MAXSEG`, and the `initcwnd` and
/// locked `rto_min` metrics.
#[derive(Clone, Copy)]
pub(crate) struct Path {
    mss: u32,
    adv_mss: u32,
    init_cwnd: u32,
    rto_min_us: u32,
}

impl Path {
    pub(crate) fn of(sk: &Sock<RtcpProto>, route: &Route) -> Path {
        let sh = sk.shared();
        Path {
            mss: sh.clamp_mss(crate::rtcp_af::of(route.saddr).mss(route.mtu())),
            adv_mss: sh.clamp_mss(route.advmss()),
            init_cwnd: route.initcwnd(),
            rto_min_us: route.locked_rto_min_us(),
        }
    }
}

/// `conn` with the buffers its configuration asks for: `sndbuf` bytes to
/// send, and a receive buffer for its window (with the slack for its
/// rounding, [`stream::rx_capacity`]). Both take their pages as they are
/// written: an idle connection holds none, as Linux's holds no skb. Their
/// pages are charged to the namespace `rn`'s memory (`net.rtcp.mem`).
pub(crate) fn new_stream(conn: Conn, rn: &RtcpNet, flags: kernel::alloc::Flags) -> Result<RtcpStream> {
    let tx = SharedBytes::sparse(conn.cfg.sndbuf as usize, 0, &rn.mem, flags)?;
    let rx = SharedBytes::sparse(stream::rx_capacity(&conn.cfg), 0, &rn.mem, flags)?;
    Ok(RtcpStream::new(Stream::new(conn, tx, rx), rn))
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

/// Carries out, after the connection's lock is dropped, what a segment, a
/// timer or a call did to it: the timer, `sk_state`, wake-ups, the end.
pub(crate) fn after(sk: &Sock<RtcpProto>, out: &Outcome, state: State, deadline: Option<u64>, writable: bool, now: u64) {
    if let Some(e) = out.error {
        done(sk, Some(e));
        return;
    }
    if out.closed {
        done(sk, None);
        return;
    }
    // The timer only ever moves sooner (`timer_reduce`): one that fires
    // before the connection's deadline finds nothing due
    // ([`Conn::on_timer`](crate::proto::conn::Conn::on_timer)) and arms
    // it again from there, and no deadline leaves a pending timer to fire
    // for nothing. So an ACK that moves the retransmission timeout later
    // (each one does) costs no change of the timer, nor does the end of a
    // delayed ACK, where a timer reset and stopped takes the timer base's
    // lock with IRQs off twice per round trip. And `after`, run outside
    // the connection's lock, may run after a later event's own: the timer
    // is never stopped or put later on an old deadline's word, so the last
    // event's deadline is always kept.
    if let Some(d) = deadline {
        sk.reduce_timer(d.saturating_sub(now));
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
    // tcp_check_urg: SIGURG for a new urgent pointer; tcp_urg: readers
    // (and POLLPRI) wake when the urgent byte comes.
    if out.sigurg {
        sk.send_sigurg();
    }
    if out.readable > 0 || out.eof || out.urg_at.is_some() {
        sk.data_ready();
    }
    // `tcp_check_space`: writers wake when an ACK makes room and one of
    // them found none (`SOCK_NOSPACE`), not at every ACK: a reader asleep
    // on the same wait queue (request/response) would be woken by each.
    if out.acked > 0 && writable {
        sk.new_space();
    }
}

/// `tcp_done`: the connection is over (with an error, or at its normal
/// end): out of the demux table, closed both ways, which poll() reports.
pub(crate) fn done(sk: &Sock<RtcpProto>, err: Option<ConnError>) {
    let net = sk.net();
    let was = sk.state();
    sk.stop_timer();
    let ends = match &mut *sk.shared().tcb.lock() {
        Tcb::Conn(st) => {
            drop_buffers(st);
            st.zc_complete(true);
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
pub(crate) type Driven = (Outcome, bool);

/// Runs `f` on `sk`'s connection under its lock, where the segments it
/// sends then are chosen (their pages held); builds and sends them and
/// carries out the outcome after the lock (`after`). The outcome, or `None` if there is no connection or `f`
/// declined.
pub(crate) fn drive(sk: &Sock<RtcpProto>, now: u64, f: impl FnOnce(&mut RtcpStream) -> Option<Driven>) -> Option<Outcome> {
    drive_as(sk, now, false, f)
}

/// [`drive`] for a segment from the peer (the receive softirq): while a
/// writer pushes ([`crate::rtcp::RtcpShared::pushing`]), only the
/// segment's own reply goes from here; what the connection sends next is
/// left to the writer, which sends it at its next push or when it lets
/// the socket go.
pub(crate) fn drive_rx(sk: &Sock<RtcpProto>, now: u64, f: impl FnOnce(&mut RtcpStream) -> Option<Driven>) -> Option<Outcome> {
    drive_as(sk, now, true, f)
}

fn drive_as(
    sk: &Sock<RtcpProto>,
    now: u64,
    may_defer: bool,
    f: impl FnOnce(&mut RtcpStream) -> Option<Driven>,
) -> Option<Outcome> {
    let net = sk.net();
    let mut deferred = false;
    // Segments leave in the order they were chosen: no other context
    // chooses this connection's next ones before these are sent (softirqs
    // off, so that one on this CPU cannot wait for us).
    let bh = BhOff::new();
    let xmit = sk.shared().xmit.lock();
    let (out, state, deadline, writable, ob) = {
        let mut tcb = sk.shared().tcb.lock();
        let st = tcb.stream()?;
        let syn_sent = st.conn.state == State::SynSent;
        // SO_OOBINLINE, which the core sets: the urgent byte's place.
        st.conn.data.urg.inline = sk.oob_inline();
        let (out, retransmission) = f(st)?;
        RtcpNet::of(net).stats.count(out.mib);
        if syn_sent {
            fastopen::on_synack(net, &st.conn, &out);
        }
        let mut ob = Outbox::new(&st.conn);
        if let Some(r) = &out.reply {
            ob.push(net, r, retransmission);
        }
        if may_defer && sk.shared().pushing.load(Ordering::SeqCst) {
            sk.shared().push_deferred.store(true, Ordering::SeqCst);
            deferred = true;
        } else {
            ob.drain(net, st, now, sk.shared().gso_segs.load(Ordering::Relaxed));
        }
        // The completions of MSG_ZEROCOPY sends whose bytes the peer has
        // acknowledged, or all of them once the connection is over.
        st.zc_complete(out.closed || out.error.is_some() || st.conn.state == State::Closed);
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
    drop(xmit);
    drop(bh);
    if ended {
        Route::forget(sk);
    }
    after(sk, &out, state, deadline, writable, now);
    // The writer let the socket go since: it may not have seen the flag.
    if deferred && !sk.shared().pushing.load(Ordering::SeqCst) && sk.shared().push_deferred.swap(false, Ordering::SeqCst) {
        drive(sk, now_ms(), send_pending);
    }
    Some(out)
}

/// A [`drive`] that only sends what the connection has to send.
pub(crate) fn send_pending(_: &mut RtcpStream) -> Option<Driven> {
    Some((Outcome::default(), false))
}

/// A buffer of `size` bytes to grow into, with its pages taken as they
/// are first written, but for the first `paged` bytes (what the old
/// buffer's bytes are copied into); allocated in process context, and a
/// failure only means no growth. None under memory pressure
/// (`tcp_should_expand_sndbuf`, `tcp_rcv_space_adjust`), nor past the
/// namespace's memory.
fn bigger(rn: &RtcpNet, size: usize, paged: usize) -> Option<SharedBytes> {
    if rn.mem.under_pressure() {
        return None;
    }
    SharedBytes::sparse(size, paged, &rn.mem, GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN).ok()
}

/// `tcp_new_space`'s `tcp_sndbuf_expand`: when the user left `SO_SNDBUF`
/// to the protocol and `more` bytes to send do not fit, the send buffer
/// grows to what the congestion window asks for
/// ([`Conn::sndbuf_wanted`](crate::proto::conn::Conn)), up to
/// `net.rtcp.wmem`'s most; not while the window is full (a larger buffer
/// would only queue behind it). Each growth copies the data, so it is by
/// half again at least. Whether it grew.
pub(crate) fn grow_tx(sk: &Sock<RtcpProto>, more: usize) -> bool {
    if sk.user_buf_sizes().1.is_some() {
        return false;
    }
    let rn = RtcpNet::of(sk.net());
    let most = rn.buf_sizes(WMEM).max;
    let (size, cap) = match sk.shared().tcb.lock().stream() {
        Some(st) if st.conn.may_send() && st.tx.free() < more && (1..most).contains(&st.tx.capacity()) => {
            let cap = st.tx.capacity();
            let wanted = st.conn.sndbuf_wanted(crate::net::skb::sndmem_per_mss);
            match wanted.map(|w| w as usize) {
                Some(w) if w > cap => {
                    (w.max(cap.saturating_add(cap / 2)).next_multiple_of(PAGE_SIZE).min(most), cap)
                }
                _ => return false,
            }
        }
        _ => return false,
    };
    let Some(new) = bigger(rn, size, cap) else { return false };
    // The buffer left behind is freed after the lock.
    let old = sk.shared().tcb.lock().stream().map(|st| st.grow_tx(new));
    old.is_some()
}

/// `tcp_rcvbuf_grow`: when the user left `SO_RCVBUF` to the protocol, the
/// receive buffer becomes `rcvbuf` (Linux's units, within
/// `net.rtcp.rmem`'s most; [`Stream::rcvbuf_wanted`]), its ring grown
/// first if it holds less (by half again at least, as each growth copies
/// the unread bytes). Whether the buffer grew.
pub(crate) fn grow_rx(sk: &Sock<RtcpProto>, rcvbuf: u32) -> bool {
    let rn = RtcpNet::of(sk.net());
    // Under memory pressure nothing grows (`tcp_rcv_space_adjust`'s
    // buffer is charged skb by skb, which pressure refuses).
    if sk.user_buf_sizes().0.is_some() || rn.mem.under_pressure() {
        return false;
    }
    let most = rn.buf_sizes(RMEM).max;
    let rcvbuf = rcvbuf.min(u32::try_from(most).unwrap_or(u32::MAX));
    let size = match sk.shared().tcb.lock().stream() {
        Some(st) => {
            let slack = st.conn.data.rx_slack as usize;
            let need = (rcvbuf as usize).saturating_add(slack);
            let cap = st.rx.capacity();
            if need <= cap {
                st.set_rcvbuf(rcvbuf);
                return true;
            }
            need.max(cap.saturating_add(cap / 2)).min(most.saturating_add(slack)).next_multiple_of(PAGE_SIZE)
        }
        None => return false,
    };
    let Some(new) = bigger(rn, size, 0) else { return false };
    let old = sk.shared().tcb.lock().stream().map(|st| st.grow_rx(new, rcvbuf));
    old.is_some()
}

/// A segment for a listener (`tcp_v4_conn_request` for a SYN,
/// `tcp_check_req` for a segment of a handshake in progress).
pub(crate) fn listener_input(net: &Net, sk: &ARef<Sock<RtcpProto>>, pkt: &Packet, payload: &SkbPayload<'_>, now: u64) {
    let local = pkt.local();
    let remote = pkt.remote();
    let listener_key = sk.flow_key();
    let key = listener_key.toward(remote.addr, pkt.ip.iif);
    // The device a link-local peer's request and connection keep (0: none).
    let iif = if key.oif != listener_key.oif { key.oif } else { 0 };
    let mut reply = None;
    let mut established = None;
    let mut from_request = false;
    let mut fastopen_child = None;
    let mut rearm = None;
    // What a SYN or a cookie needs (the route back, the keyed hash) is
    // gathered before the listener's lock, which the listener's other
    // segments and calls then wait on the less.
    let offer = Offer::of(net, sk, key, local, remote, &pkt.seg);
    {
        let mut tcb = sk.shared().tcb.lock();
        let Tcb::Listen(l) = &mut *tcb else { return };
        if let Some(req) = l.requests.find_mut(local, remote) {
            // TCP_DEFER_ACCEPT: a final ACK without data makes nothing yet.
            let outcome =
                if req.defers(&pkt.seg, pkt.payload_len) { RequestOutcome::Nothing } else { req.on_segment(&pkt.seg, pkt.payload_len, now) };
            match outcome {
                RequestOutcome::Nothing => {}
                RequestOutcome::Reply(seg) => reply = Some(seg),
                // A reset or another SYN: the handshake failed.
                RequestOutcome::Drop(rst) => {
                    Stats::inc(&RtcpNet::of(net).stats.attempt_fails);
                    reply = rst;
                    l.requests.remove(local, remote);
                }
                // A full accept queue drops the final ACK: the request
                // stays and its SYN-ACK is sent again, as Linux does.
                RequestOutcome::Established(_) if l.accept_queue_full() => {
                    Stats::inc(&RtcpNet::of(net).stats.listen_overflows);
                }
                // The request goes once its child is made
                // (`accept_child`, after the lock).
                RequestOutcome::Established(conn) => {
                    established = Some(conn);
                    from_request = true;
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
                            pr_info!(
                                "Possible SYN flooding on port {}:{}. {}.\n",
                                crate::rtcp_af::of(local.addr).addr(local),
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
                    } else {
                        if want_cookie {
                            // cookie_init_sequence: tcp_synq_overflow, before the route.
                            l.last_overflow = Some(now);
                        }
                        match &offer {
                            // No route back to the peer (`route_req` fails):
                            // dropped, no request, no cookie.
                            None => Stats::inc(&stats.listen_drops),
                            Some(o) if want_cookie => {
                                reply = Some(o.cookies(now).synack(o.cfg, local, remote, &pkt.seg, now));
                                Stats::inc(&stats.syncookies_sent);
                            }
                            // "Kill the following clause, if you dislike
                            // this way": without cookies the last quarter of
                            // tcp_max_syn_backlog is kept for peers proven
                            // alive (`tcp_peer_is_proven`, from the metrics
                            // RTCP does not keep: none is).
                            Some(_) if cookies == 0 && syn_backlog_reserved(net.tcp_max_syn_backlog(), l.requests.len()) => {
                                Stats::inc(&stats.listen_drops);
                            }
                            Some(o) => {
                                let (mut req, _) =
                                    Request::new(o.cfg, local, remote, &pkt.seg, SeqNum(o.isn), o.ts_offset, now);
                                req.defer_accept = sk.shared().defer_accept();
                                req.iif = iif;
                                // Fast Open: the connection now, or a cookie
                                // in the SYN-ACK (`tcp_try_fastopen`).
                                let fo = fastopen::on_syn(net, sk, l, local, remote, &pkt.seg, pkt.payload_len);
                                req.fastopen = fo.cookie;
                                if fo.child {
                                    fastopen_child = Some(req.fastopen_child(pkt.payload_len, fo.cookie, now));
                                } else {
                                    let synack = req.synack(now);
                                    let deadline = req.deadline;
                                    if l.requests.push(req).is_ok() {
                                        reply = Some(synack);
                                        rearm = l.timer_for(deadline);
                                    } else {
                                        Stats::inc(&stats.listen_drops);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(seg) = reply {
        send(crate::rtcp_af::of(remote.addr), net, key, local, remote, &seg);
    }
    if let Some(d) = rearm {
        sk.reset_timer(d.saturating_sub(now));
    }
    if let Some(conn) = established {
        if accept_child(net, sk, conn, iif, None) && from_request {
            if let Tcb::Listen(l) = &mut *sk.shared().tcb.lock() {
                l.requests.remove(local, remote);
            }
        }
    }
    if let Some((conn, synack)) = fastopen_child {
        accept_child(net, sk, conn, iif, Some((payload, pkt.payload_len, synack)));
    }
}

/// What a listener answers a SYN with, or checks a cookie against.
pub(crate) struct Offer<'a> {
    pub(crate) local: Endpoint,
    pub(crate) remote: Endpoint,
    /// Our side of the handshake: the MSS from the route back to the peer,
    /// `synack_retries`.
    pub(crate) cfg: Config,
    /// The ISN and timestamp offset of the four-tuple.
    isn: u32,
    ts_offset: u32,
    /// The namespace's cookie keys under the family's hash.
    hash: AfCookieHash<'a>,
}

impl<'a> Offer<'a> {
    /// The offer for `seg` if it is a SYN or an ACK (anything else needs
    /// none) and the peer can be routed to (with `key`, the listener's
    /// [`FlowKey::toward`] the peer).
    pub(crate) fn of(
        net: &'a Net,
        sk: &Sock<RtcpProto>,
        key: FlowKey,
        local: Endpoint,
        remote: Endpoint,
        seg: &Segment,
    ) -> Option<Offer<'a>> {
        use crate::proto::segment::Flags;
        if seg.flags.contains(Flags::RST) || !seg.flags.intersects(Flags::SYN | Flags::ACK) {
            return None;
        }
        let af = crate::rtcp_af::of(remote.addr);
        let route = (af.route)(net, key, local, remote).ok()?;
        let path = Path::of(sk, &route);
        let syn_retries = RtcpNet::of(net).sysctl_u8(SYNACK_RETRIES);
        // The listener's SO_RCVBUF and SO_SNDBUF if the user set them, else
        // the namespace's start (`tcp_openreq_init_rwin`).
        let (user_rx, user_tx) = sk.user_buf_sizes();
        let tx = RtcpNet::of(net).buf_sizes(WMEM).size(user_tx, CHILD_BUF);
        let clamp = sk.shared().window_clamp.load(Ordering::Relaxed);
        let cfg = our_config(net, &path, syn_retries, user_rx, tx, seg.options.timestamp.is_some(), clamp);
        let (isn, ts_offset) = (af.seq_and_ts_off)(net, local, remote);
        let hash = AfCookieHash { keys: &RtcpNet::of(net).cookie_keys, af };
        Some(Offer { local, remote, cfg, isn, ts_offset, hash })
    }

    /// The tuple's cookies now.
    pub(crate) fn cookies(&self, now: u64) -> Cookies<'_, AfCookieHash<'a>> {
        Cookies { hash: &self.hash, minute: (now / MINUTE_MS) as u32, ts_offset: self.ts_offset }
    }
}
