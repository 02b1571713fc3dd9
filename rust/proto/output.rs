// SPDX-License-Identifier: GPL-2.0

//! What a synchronized connection sends (`tcp_output.c`): data cut to the
//! MSS within the peer's window and the congestion window, Nagle and
//! `TCP_CORK`, our FIN after the data, retransmissions, window probes,
//! ACKs with the window we offer (receiver-side SWS avoidance, RFC 9293
//! 3.8.6.2.2) and SACK blocks (RFC 2018), and the timers behind them
//! (`tcp_timer.c`).
//!
//! The caller owns the bytes: [`Conn::transmit`] says which part of the
//! send buffer a segment carries ([`Transmit`]), [`Conn::queued`] and
//! [`Conn::on_read`] tell the connection what the user wrote and read.

use super::conn::{
    Conn, ConnError, Keepalive, Outcome, FIN_TIMEOUT_MS, ORPHAN_RETRIES, RETRIES2, RTO_INITIAL_MS, TIMEOUT_MIN_MS, TS_OPTION_LEN,
};
use super::options::{SackBlock, TCP_MAX_WSCALE};
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// The most one GSO skb holds (`sk_gso_max_size` of a device's default
/// `GSO_LEGACY_MAX_SIZE`).
const GSO_MAX_SIZE: u64 = 65_536;

/// A segment to send; its payload is `len` bytes at `off` from the send
/// buffer's head (`SND.UNA`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transmit {
    /// The header.
    pub seg: Segment,
    /// Where the payload starts in the send buffer.
    pub off: u32,
    /// Bytes of payload.
    pub len: u32,
    /// It carries sequence numbers sent before.
    pub retransmission: bool,
    /// The size of each segment when it is a run of several
    /// ([`Conn::transmit_run`]): every one full but the header's flags on
    /// the last only (0: one segment).
    pub size: u32,
}

impl Conn {
    /// Room in the send buffer.
    pub fn send_space(&self) -> u32 {
        let used = self.data.snd_end.diff(self.snd_una).max(0) as u32;
        let room = self.data.tx_cap.saturating_sub(used);
        if self.data.syn_pending {
            // What a Fast Open SYN waiting for data may carry (the SYN
            // takes its sequence number).
            return room.min(self.data.syn_room.saturating_sub(used.saturating_sub(1)));
        }
        room
    }

    /// Whether a writer should be woken (`sk_stream_is_writeable`): the free
    /// room is at least half of what is queued, so that a write makes
    /// real progress.
    pub fn writable(&self) -> bool {
        self.send_space().saturating_mul(2) >= self.send_queued() && self.memory_free(true)
    }

    /// Bytes queued and not yet sent.
    pub fn notsent(&self) -> u32 {
        self.data.snd_end.diff(self.snd_nxt).max(0) as u32
    }

    /// `tcp_stream_memory_free`: fewer bytes wait unsent than
    /// `TCP_NOTSENT_LOWAT` (twice as many count when `wake`: a writer is
    /// woken, and poll says writable, only when half the mark is left).
    pub fn memory_free(&self, wake: bool) -> bool {
        let lowat = match self.data.notsent_lowat {
            0 => u32::MAX,
            v => v,
        };
        let notsent = u64::from(self.notsent()) << u8::from(wake);
        notsent < u64::from(lowat)
    }

    /// How long an orphan waits in FIN-WAIT-2 for the peer's FIN
    /// (`tcp_fin_time`): `TCP_LINGER2` or the default, but at least three
    /// and a half RTOs; `None` with `TCP_LINGER2` negative (no wait).
    pub fn fin_timeout(&self) -> Option<u64> {
        let linger = match self.data.linger2_ms {
            l if l < 0 => return None,
            0 => FIN_TIMEOUT_MS,
            l => l.unsigned_abs(),
        };
        let rto = u64::from(self.rto_ms);
        Some(linger.max(rto.saturating_mul(4).saturating_sub(rto / 2)))
    }

    /// `TCP_QUICKACK` set to `val` (`__tcp_sock_set_quickack`): 0 delays
    /// ACKs (pingpong); anything else leaves that mode and, on a
    /// connection with an ACK scheduled, sends it now when the reader has
    /// taken everything or more than a segment waits unacknowledged (as
    /// `__tcp_cleanup_rbuf` with `ICSK_ACK_PUSHED`); an even value then
    /// goes back to delaying.
    pub fn set_quickack(&mut self, val: i32) {
        if val == 0 {
            self.data.pingpong = true;
            return;
        }
        self.data.pingpong = false;
        let scheduled = self.data.delack.is_some() || self.data.unacked > 0;
        if matches!(self.state, State::Established | State::CloseWait) && scheduled {
            let pending = self.rcv_nxt.diff(self.data.rcv_wup).max(0) as u32;
            if pending > u32::from(self.neg.mss) || self.data.rx_unread == 0 {
                self.data.ack_now = true;
            }
            if val & 1 == 0 {
                self.data.pingpong = true;
            }
        }
    }

    /// `TCP_WINDOW_CLAMP` (0: none): the window offered from now on is at
    /// most `clamp` (`tcp_set_window_clamp`); an edge already offered
    /// stays.
    pub fn set_window_clamp(&mut self, clamp: u32) {
        self.cfg.window_clamp = clamp;
        self.clamp_rcv_window(clamp);
        self.rcv_wnd = self.free_window();
    }

    /// Bytes in the send buffer (sent or not, not yet acknowledged).
    pub fn send_queued(&self) -> u32 {
        self.data.snd_end.diff(self.snd_una).max(0) as u32
    }

    /// May the user still write? (ESTABLISHED or CLOSE-WAIT, and no FIN
    /// queued.)
    pub fn may_send(&self) -> bool {
        let fastopen_child = self.state == State::SynReceived && self.data.synack.is_some();
        let syn_pending = self.state == State::SynSent && self.data.syn_pending;
        (matches!(self.state, State::Established | State::CloseWait) || fastopen_child || syn_pending)
            && !self.data.fin_queued
    }

    /// The user appended `n` bytes to the send buffer (after the data);
    /// `push`: they end a write (`tcp_push`: its last segment carries PSH).
    pub fn queued(&mut self, n: u32, push: bool) {
        self.data.snd_end = self.data.snd_end.add(n);
        self.data.more = !push;
        self.data.hold_tail = false;
    }

    /// The user read `n` bytes from the receive buffer's head. True when
    /// the window grew enough to tell the peer (`tcp_cleanup_rbuf`: the
    /// window still open is half the clamp or less, and the one we would
    /// offer is twice it at least): [`Conn::transmit`] then sends the
    /// update.
    pub fn on_read(&mut self, n: u32) -> bool {
        let d = &mut self.data;
        let n = n.min(d.rx_unread);
        d.rx_unread = d.rx_unread.saturating_sub(n);
        self.rcv_wnd = self.free_window();
        if !matches!(self.state, State::Established | State::FinWait1 | State::FinWait2) {
            return false;
        }
        let open = self.receive_window();
        let clamp = match self.data.rwin.rcvbuf {
            0 => self.cfg.rcv_wnd,
            _ => self.data.rwin.clamp,
        };
        if open.saturating_mul(2) > clamp {
            return false;
        }
        let (wnd, _) = self.select_window();
        let update = wnd != 0 && wnd >= open.saturating_mul(2);
        if update {
            self.data.ack_now = true;
        }
        update
    }

    /// The user is done sending (`close()`, or `shutdown(SHUT_WR)` with
    /// `orphan` false): our FIN follows the data, from ESTABLISHED or
    /// CLOSE-WAIT (RFC 9293 3.10.4, `tcp_close_state`). `orphan`: no
    /// socket holds the connection any more; it finishes on its own, with
    /// the orphan's limits.
    pub fn close(&mut self, orphan: bool, now: u64) -> Outcome {
        self.orphan |= orphan;
        self.state = match self.state {
            // A Fast Open child closes as an established connection
            // (`tcp_close_state`).
            State::Established | State::SynReceived => State::FinWait1,
            State::CloseWait => State::LastAck,
            State::FinWait2 if orphan => {
                // An orphan gives up waiting for the peer's FIN.
                self.deadline = Some(self.fin_timeout().map_or(now, |t| now.saturating_add(t)));
                return Outcome::default();
            }
            _ => return Outcome::default(),
        };
        self.data.fin_queued = true;
        Outcome::default()
    }

    /// Room in the receive buffer from `RCV.NXT`: all of the ring past
    /// the unread bytes, the slack for a window rounded up included.
    pub(crate) fn rx_room(&self) -> u32 {
        self.rx_ring().saturating_sub(self.data.rx_unread)
    }

    /// The window segments are accepted in: the edge offered last, or
    /// what would be offered now if that is further
    /// ([`Conn::select_window`]).
    pub(crate) fn free_window(&self) -> u32 {
        let (wnd, _) = self.select_window();
        if self.data.rwin.rcvbuf == 0 {
            return match self.cfg.window_clamp {
                0 => wnd,
                clamp => wnd.min(clamp),
            };
        }
        wnd.max(self.receive_window())
    }

    /// The size of the segments we send: [`Data::snd_mss`] once the data
    /// path started, the negotiated MSS before, and before the peer's SYN
    /// our own MSS less the timestamp option we offer (what
    /// `tcp_connect_init`'s `tcp_sync_mss` sets).
    pub fn send_mss(&self) -> u32 {
        if self.data.snd_mss > 0 {
            self.data.snd_mss
        } else if self.neg.mss > 0 {
            u32::from(self.neg.mss)
        } else {
            let ts = if self.cfg.timestamps { TS_OPTION_LEN } else { 0 };
            u32::from(self.cfg.mss.saturating_sub(ts)).max(1)
        }
    }

    /// `tcp_should_expand_sndbuf` and `tcp_sndbuf_expand`: the send
    /// buffer the congestion window asks for, `per_mss` of memory for each
    /// of twice its segments (Cubic's cut of a window in fast recovery,
    /// rounded up to leave a writer slow to wake some cushion), and at
    /// least the initial window's. `per_mss` gives what one segment of
    /// `mss` bytes costs (the kernel's skb sizes). None while the window
    /// is full: a larger buffer would only queue more behind it.
    pub fn sndbuf_wanted(&self, per_mss: impl FnOnce(u32) -> u32) -> Option<u32> {
        let d = &self.data;
        let flight = d.snd_max.diff(self.snd_una).max(0) as u32;
        if flight >= d.cc.cwnd {
            return None;
        }
        let mss = self.send_mss().max(1);
        let segs = d.cc.cwnd.checked_div(mss).unwrap_or(0).max(super::cc::INIT_CWND);
        Some(segs.saturating_mul(2).saturating_mul(per_mss(mss)))
    }

    /// The window field of a segment (`tcp_select_window`): the window
    /// [`Conn::select_window`] offers, but never an edge before the one
    /// offered last, and never more than the field says at our scale.
    pub(crate) fn advertise(&mut self) -> u16 {
        let shift = self.neg.rcv_wscale.min(TCP_MAX_WSCALE);
        let unit = 1u32 << shift;
        let open = if self.data.rwin.rcvbuf == 0 && self.data.rcv_adv == SeqNum(0) { 0 } else { self.receive_window() };
        let (wnd, low) = self.select_window();
        if low {
            self.data.quickacks = 0;
        }
        let wnd = if wnd < open { open.checked_next_multiple_of(unit).unwrap_or(open) } else { wnd };
        let wnd = wnd.min(u32::from(u16::MAX) << shift);
        let edge = self.rcv_nxt.add(wnd);
        if edge.after(self.data.rcv_adv) || self.data.rwin.rcvbuf != 0 {
            self.data.rcv_adv = edge;
        }
        self.data.rcv_wup = self.rcv_nxt;
        u16::try_from(wnd >> shift).unwrap_or(u16::MAX)
    }

    /// A segment from this side with the ACK of everything received, our
    /// window and timestamp; the ACK is then sent, so none is pending.
    fn header(&mut self, seq: SeqNum, flags: Flags, now: u64) -> Segment {
        let window = self.advertise();
        let mut s = Segment {
            src_port: self.local.port,
            dst_port: self.remote.port,
            seq,
            ack: self.rcv_nxt,
            flags: flags | Flags::ACK,
            window,
            ..Segment::default()
        };
        if self.neg.timestamps {
            let val = self.tsval(now);
            let last = self.data.ts_sent;
            let val = if last != 0 && SeqNum(val).before(SeqNum(last)) { last } else { val };
            self.data.ts_sent = val;
            s.options.timestamp = Some((val, self.ts_recent));
        }
        if let Some(up) = self.data.urg.pointer(seq, self.snd_nxt) {
            s.flags = s.flags | Flags::URG;
            s.urgent = up;
        }
        let d = &mut self.data;
        d.delack = None;
        d.unacked = 0;
        d.ack_now = false;
        s
    }

    /// The sequence number of a segment without data (`tcp_acceptable_seq`):
    /// the highest sent (after a timeout sent `SND.NXT` back, an older one
    /// is not acceptable to a peer that has it all), but no further than
    /// the peer's window reaches (data it dropped for want of room is not
    /// in its sequence space). As Linux, an overshoot of less than one unit
    /// of our window scale still sends the highest: a peer whose window
    /// was rounded, or that took a timeout's head segment past a window it
    /// had just reopened, already holds those bytes and would find the
    /// window edge too old (both ends doing so, neither takes the other's
    /// ACKs).
    pub(crate) fn acceptable_seq(&self) -> SeqNum {
        let edge = self.snd_una.add(self.snd_wnd);
        let over = self.data.snd_max.diff(edge);
        if over > 0 && over >= 1i32 << self.neg.rcv_wscale.min(TCP_MAX_WSCALE) && self.state != State::SynSent {
            edge
        } else {
            self.data.snd_max
        }
    }

    /// A bare ACK of everything received, with SACK blocks for what came
    /// out of order.
    pub fn ack(&mut self, now: u64) -> Segment {
        let mut s = self.header(self.acceptable_seq(), Flags::ACK, now);
        // A duplicate goes first, then the ranges held out of order.
        let dsack = self.data.dsack.take().map(|(left, right)| SackBlock { left: left.0, right: right.0 });
        if self.neg.sack && (dsack.is_some() || !self.data.ooo.is_empty()) {
            (s.options.sack, s.options.sack_len) = self.data.ooo.sack_blocks(dsack, self.neg.timestamps);
        }
        s
    }

    /// How many segments one GSO skb should carry (`tcp_tso_autosize`):
    /// about a millisecond's worth (`sk_pacing_shift` of 10) at the pacing
    /// rate Linux derives from the window and the round trip
    /// (`tcp_update_pacing_rate`: 200 % of cwnd * MSS / SRTT in slow
    /// start, 120 % after), more on a path whose least round trip is a
    /// few milliseconds or less (`tcp_tso_rtt_log`), at least two
    /// (`tcp_min_tso_segs`). Linux puts PSH on each such skb (for the
    /// receiver's GRO), which lands on the last of its segments. 0: no
    /// bound (no round trip measured yet: an unbounded rate).
    pub fn tso_segs(&self) -> u32 {
        let Some(srtt) = self.rtt.srtt_us() else { return 0 };
        let mss = u64::from(self.send_mss().max(1));
        let cc = &self.data.cc;
        let per_mss = |bytes: u64| bytes.checked_div(mss).unwrap_or(0);
        let cwnd = per_mss(u64::from(cc.cwnd));
        let out = u64::from(self.data.snd_max.diff(self.snd_una).max(0) as u32).div_ceil(mss);
        let ratio = if cwnd < per_mss(u64::from(cc.ssthresh)) / 2 { 200 } else { 120 };
        // Bytes a second: MSS * (1 s / 100) * ratio % * cwnd / SRTT.
        let rate = mss.saturating_mul(10_000).saturating_mul(ratio).saturating_mul(cwnd.max(out));
        let rate = rate.checked_div(u64::from(srtt)).unwrap_or(rate);
        let mut bytes = rate >> 10;
        // Against the least round trip seen (`tcp_min_rtt`), not the
        // smoothed one, which a queue on the path or a slow receiver
        // stretches.
        let r = self.rtt.min_us().unwrap_or(srtt) >> 9;
        if r < 32 {
            bytes = bytes.saturating_add(GSO_MAX_SIZE >> r);
        }
        u32::try_from(per_mss(bytes.min(GSO_MAX_SIZE)).max(2)).unwrap_or(u32::MAX)
    }

    /// Arms the retransmission timer for the current timeout.
    pub(crate) fn arm_rto(&mut self, now: u64) {
        let mut rto = u64::from(self.rtt.rto_us() / 1000);
        // In a series of timeouts, not past TCP_USER_TIMEOUT
        // (`tcp_clamp_rto_to_user_timeout`).
        let user = u64::from(self.data.user_timeout_ms);
        if let (Some(since), true) = (self.data.rtx_since, user != 0) {
            rto = rto.min(user.saturating_sub(now.saturating_sub(since)).max(1));
        }
        self.deadline = Some(now.saturating_add(rto));
        self.data.pto = false;
    }

    /// Arms the tail loss probe (RFC 8985 7.2) in place of the
    /// retransmission timer, as `tcp_schedule_loss_probe`: with SACK, data
    /// in flight, no recovery or timeout under way and no probe out, two
    /// round trips from now, plus `TCP_RTO_MIN` with one segment out (for
    /// the peer's delayed ACK) or `TCP_TIMEOUT_MIN` with more; the initial
    /// timeout before any sample; never after the retransmission timer
    /// would fire. False if it is not armed.
    pub(crate) fn schedule_loss_probe(&mut self, now: u64) -> bool {
        let d = &self.data;
        let sending = matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait1 | State::Closing | State::LastAck
        );
        if !sending
            || !self.neg.sack
            || d.cc.recover.is_some()
            || self.retransmits > 0
            || d.tlp_high.is_some()
            || !d.snd_max.after(self.snd_una)
        {
            return false;
        }
        let flight = d.snd_max.diff(self.snd_una).max(0) as u32;
        let pto = match self.rtt.srtt_us() {
            Some(srtt) => {
                let extra = if flight <= self.send_mss() { self.rtt.bounds.min_us } else { u32::try_from(TIMEOUT_MIN_MS * 1000).unwrap_or(u32::MAX) };
                u64::from(srtt.saturating_mul(2).saturating_add(extra)).div_ceil(1000)
            }
            None => u64::from(RTO_INITIAL_MS),
        };
        let rto_left = match self.deadline {
            Some(at) if !d.pto => at.saturating_sub(now),
            _ => u64::from(self.rtt.rto_us() / 1000),
        };
        self.deadline = Some(now.saturating_add(pto.min(rto_left)));
        self.data.pto = true;
        true
    }

    /// The tail loss probe (RFC 8985 7.3, `tcp_send_loss_probe`): a new
    /// segment if the peer's window takes it, whatever the congestion
    /// window; else the last segment sent, again. The retransmission
    /// timer then runs from now.
    fn loss_probe(&mut self, mss: u32, now: u64) -> Option<Transmit> {
        self.data.tlp_send = false;
        let d = self.data;
        if !d.snd_max.after(self.snd_una) {
            return None;
        }
        // No other probe is scheduled while this one is out.
        self.data.tlp_high = Some(d.snd_max);
        self.deadline = None;
        let flight = self.snd_nxt.diff(self.snd_una).max(0) as u32;
        let unsent = d.snd_end.diff(self.snd_nxt).max(0) as u32;
        let t = if unsent > 0 && self.snd_nxt == d.snd_max && self.snd_wnd.saturating_sub(flight) >= unsent.min(mss) {
            self.segment_at(self.snd_nxt, unsent.min(mss), now)
        } else {
            // The last segment: it ends at the FIN if one was sent.
            let end = if d.fin_queued && d.snd_max.after(d.snd_end) { d.snd_end } else { d.snd_max };
            let len = d.last_len.min(mss).min(end.diff(self.snd_una).max(0) as u32);
            self.segment_at(end.sub(len), len, now)
        };
        self.data.tlp_high = Some(self.data.snd_max);
        if self.deadline.is_none() {
            self.arm_rto(now);
        }
        Some(t)
    }

    /// The next segment to send now, if any (`tcp_write_xmit`); call until
    /// it returns `None`.
    pub fn transmit(&mut self, now: u64) -> Option<Transmit> {
        self.transmit_run(now, 1)
    }

    /// [`Conn::transmit`], but new data goes as a run of up to `most` full
    /// segments at once when it can (as `tcp_write_xmit` sends a TSO skb):
    /// the same segments, in the same state after, as that many calls of
    /// [`Conn::transmit`] would give, with one header for all (the
    /// flags of the last; the others are plain ACKs).
    pub fn transmit_run(&mut self, now: u64, most: u32) -> Option<Transmit> {
        // A Fast Open SYN with the bytes written for it.
        if self.state == State::SynSent && self.data.syn_pending && self.data.snd_end.after(self.iss.add(1)) {
            return Some(self.syn_with_data(now));
        }
        // A Fast Open child sends before its handshake ends.
        let fastopen_child = self.state == State::SynReceived && self.data.synack.is_some();
        if !fastopen_child
            && !matches!(self.state, State::Established | State::CloseWait | State::FinWait1 | State::Closing | State::LastAck)
        {
            if self.data.ack_now && matches!(self.state, State::FinWait2 | State::TimeWait) {
                return Some(Transmit { seg: self.ack(now), ..Transmit::default() });
            }
            return None;
        }
        let mss = self.send_mss();
        if self.data.tlp_send {
            if let Some(t) = self.loss_probe(mss, now) {
                return Some(t);
            }
        }
        // Going back after the path MTU fell: past what it lost, the
        // bytes sent before are not sent again.
        if let Some(limit) = self.data.rtx_limit {
            if !self.snd_nxt.before(limit) {
                self.snd_nxt = self.data.snd_max;
                self.data.rtx_limit = None;
            }
        }
        let d = self.data;
        if d.rtx_head {
            self.data.rtx_head = false;
            self.data.timed = None;
            // In recovery with SACK, the next hole; else the head. Only
            // what was sent before, as Linux retransmits its queued
            // segments: new bytes past a window that closed would put our
            // ACKs' sequence (`acceptable_seq`) behind what the peer holds.
            let (from, most) = match self.next_hole().filter(|_| d.cc.recover.is_some()) {
                Some((at, len)) => (at, len),
                None => (self.snd_una, d.snd_max.diff(self.snd_una).max(0) as u32),
            };
            let t = self.segment_at(from, mss.min(most), now);
            self.data.rtx_next = from.add(t.len);
            // In recovery every hole below a SACKed segment is lost (RACK,
            // RFC 8985 6.2, with no reordering seen): the next goes too
            // while the window has room for it (PRR lets them out).
            if d.cc.recover.is_some()
                && self.next_hole().is_some()
                && self.pipe().saturating_add(mss) <= self.data.cc.cwnd
            {
                self.data.rtx_head = true;
            }
            if t.seg.seq_len(t.len) != 0 {
                return Some(t);
            }
        }
        let flight = self.snd_nxt.diff(self.snd_una).max(0) as u32;
        let usable = self.snd_wnd.min(d.cc.cwnd).saturating_sub(flight);
        let unsent = d.snd_end.diff(self.snd_nxt).max(0) as u32;
        if unsent > 0 {
            let mut len = unsent.min(mss).min(usable);
            if let Some(limit) = d.rtx_limit {
                len = len.min(limit.diff(self.snd_nxt).max(0) as u32);
            }
            // The last piece before our FIN goes out at once.
            let push = d.fin_queued && len == unsent;
            // Nagle with Minshall's check (`tcp_nagle_check`): a short
            // segment waits while another short one is unacknowledged.
            let small_out = d.snd_sml.after(self.snd_una) && !d.snd_sml.after(self.snd_nxt);
            let held = d.cork || d.hold_tail;
            // Urgent mode lets everything out (`tcp_nagle_test`).
            let nagle = len < mss && !push && !d.wakeup && !d.urg.sending() && (held || (!d.nodelay && flight > 0 && small_out));
            if len > 0 && !nagle {
                if len == mss && most > 1 {
                    if let Some(t) = self.new_run(mss, usable.min(unsent), most, now) {
                        return Some(t);
                    }
                }
                return Some(self.segment_at(self.snd_nxt, len, now));
            }
            if len > 0 && flight == 0 && !self.data.probing {
                // Corked with nothing in flight: the probe timer sends it
                // anyway (`tcp_check_probe_timer`, then `tcp_write_wakeup`
                // ignores the cork): TCP_CORK's 200 ms ceiling.
                self.data.probing = true;
                self.arm_rto(now);
            }
            if len == 0 && self.snd_wnd == 0 && flight == 0 && !self.data.probing {
                // A zero window: probe it on the timer (`tcp_probe_timer`).
                self.data.probing = true;
                self.arm_rto(now);
            }
        } else if d.fin_queued && self.snd_nxt == d.snd_end {
            return Some(self.segment_at(self.snd_nxt, 0, now));
        }
        if self.data.ack_now {
            return Some(Transmit { seg: self.ack(now), ..Transmit::default() });
        }
        None
    }

    /// When keepalive wants to probe (`tcp_keepalive_timer`): with
    /// `SO_KEEPALIVE` on an established connection with nothing in flight
    /// or waiting, `TCP_KEEPIDLE` after the peer was last heard from (and
    /// after keepalive was switched on), then `TCP_KEEPINTVL` after each
    /// probe.
    pub fn keepalive_at(&self) -> Option<u64> {
        let k = self.data.keepalive?;
        let idle = self.state == State::Established && self.snd_una == self.data.snd_max && self.send_queued() == 0;
        if !idle {
            return None;
        }
        let d = &self.data;
        Some(if d.keep_probes == 0 {
            d.last_recv.max(d.keep_armed_at).saturating_add(k.idle_ms)
        } else {
            d.keep_probe_at.saturating_add(k.intvl_ms)
        })
    }

    /// `SO_KEEPALIVE` switched on (`Some`) or off at `now`; switching it
    /// on arms the timer from now, as `tcp_set_keepalive` does.
    pub fn set_keepalive(&mut self, keepalive: Option<Keepalive>, now: u64) {
        if keepalive.is_some() && self.data.keepalive.is_none() {
            self.data.keep_armed_at = now;
            self.data.keep_probes = 0;
        }
        self.data.keepalive = keepalive;
    }

    /// Keepalive is due: a probe (an old sequence number, which a live
    /// peer answers), or the end after `TCP_KEEPCNT` unanswered ones, or
    /// `TCP_USER_TIMEOUT` of silence.
    fn keepalive_timer(&mut self, now: u64) -> Outcome {
        let Some(k) = self.data.keepalive else { return Outcome::default() };
        let user = u64::from(self.data.user_timeout_ms);
        let silent = now.saturating_sub(self.data.last_recv);
        let dead = if user != 0 { silent >= user && self.data.keep_probes > 0 } else { self.data.keep_probes >= k.cnt };
        if dead {
            self.state = State::Closed;
            self.deadline = None;
            let err = self.soft_error.map_or(ConnError::TimedOut, ConnError::Icmp);
            return Outcome { error: Some(err), ..Outcome::default() };
        }
        self.data.keep_probes = self.data.keep_probes.saturating_add(1);
        self.data.keep_probe_at = now;
        let mut probe = self.ack(now);
        probe.seq = self.snd_una.sub(1);
        Outcome::reply(probe)
    }

    /// Full segments of `mss` bytes of new data from `SND.NXT`, at most
    /// `most` and `room` bytes of them, as one run, when there are two or
    /// more. The run ends with the first segment that a single call
    /// would mark with PSH (the end of a write, or past half the peer's
    /// largest window since the last PSH), with our FIN, or with
    /// urgent data: what follows goes in another.
    fn new_run(&mut self, mss: u32, room: u32, most: u32, now: u64) -> Option<Transmit> {
        let d = &self.data;
        let seq = self.snd_nxt;
        if seq != d.snd_max || d.rtx_limit.is_some() || d.urg.sending() || d.syn_pending {
            return None;
        }
        let mut n = room.checked_div(mss).unwrap_or(0).min(most);
        // The first segment to take a PSH (or the FIN) ends the run.
        let tail = d.snd_end.diff(seq).max(0) as u32;
        let forced = d.pushed.add(d.max_window / 2).diff(seq);
        for k in 1..n {
            let end = k.saturating_mul(mss);
            if end >= tail || i64::from(end) > i64::from(forced) {
                n = k;
                break;
            }
        }
        if n < 2 {
            return None;
        }
        let len = n.saturating_mul(mss);
        let timed = self.data.timed;
        let mut t = self.segment_at(seq, len, now);
        t.size = mss;
        // As the first of them, alone, would have been timed, and as the
        // last was the last sent.
        if timed.is_none() && t.len > mss && self.data.timed.is_some() {
            self.data.timed = Some((seq.add(mss), now));
        }
        self.data.last_len = mss;
        Some(t)
    }

    /// The segment starting at `seq` with up to `max` bytes (and our FIN if
    /// it ends the data), sent now: `SND.NXT`, the highest sequence sent
    /// and the timer follow it.
    fn segment_at(&mut self, seq: SeqNum, max: u32, now: u64) -> Transmit {
        let d = self.data;
        let left = d.snd_end.diff(seq).max(0) as u32;
        let len = left.min(max);
        let end = seq.add(len);
        let fin = d.fin_queued && end == d.snd_end;
        let retransmission = seq.before(d.snd_max);
        // PSH on the segment that ends a write (`tcp_push`), and on one
        // that takes the data past half the largest window the peer
        // offered since the last PSH (`forced_push`).
        let tail = end == d.snd_end && !d.more;
        let forced = !retransmission && end.after(d.pushed.add(d.max_window / 2));
        let mut flags = Flags::ACK;
        if len > 0 && (tail || forced) {
            flags = flags | Flags::PSH;
            if end.after(d.pushed) {
                self.data.pushed = end;
            }
        }
        if len > 0 && len < self.send_mss() && !retransmission && end.after(d.snd_sml) {
            self.data.snd_sml = end;
        }
        if fin {
            flags = flags | Flags::FIN;
        }
        let seg = self.header(seq, flags, now);
        let end = if fin { end.add(1) } else { end };
        if retransmission {
            self.data.total_retrans = self.data.total_retrans.saturating_add(1);
        }
        if end.after(self.snd_nxt) {
            self.snd_nxt = end;
        }
        if end.after(self.data.snd_max) {
            self.data.snd_max = end;
        }
        if !retransmission && !self.neg.timestamps && self.data.timed.is_none() && len > 0 {
            self.data.timed = Some((end, now));
        }
        if len > 0 || fin {
            self.data.probing = false;
            self.data.probe_since = None;
            self.data.wakeup = false;
            if self.deadline.is_none() || retransmission {
                self.arm_rto(now);
            }
            if !retransmission {
                self.data.last_len = len;
                self.schedule_loss_probe(now);
            }
        }
        Transmit { seg, off: seq.diff(self.snd_una).max(0) as u32, len, retransmission, size: 0 }
    }

    /// How many timeouts in a row the connection takes before it gives
    /// up (`tcp_write_timeout`): `tcp_retries2`; for an orphan
    /// `tcp_orphan_retries()`, with the sysctl at its default of 0: 8
    /// while its backed-off timeout is below the bound (`alive`), none
    /// once it has reached it (whether or not an ICMP error came).
    fn retries(&self) -> u8 {
        match self.orphan {
            false => RETRIES2,
            true if self.rtt.rto_us() < self.rtt.bounds.max_us => ORPHAN_RETRIES,
            true => 0,
        }
    }

    /// Whether the zero window probes of a window that stays shut are
    /// over (`tcp_probe_timer`): `TCP_USER_TIMEOUT` after the first, an
    /// orphan whose backed-off timeout reached the bound, or the
    /// connection's retries sent without an answer (a peer that answers
    /// keeps it open, RFC 1122 4.2.2.17).
    fn probes_exhausted(&mut self, now: u64) -> bool {
        let since = *self.data.probe_since.get_or_insert(now);
        let user = u64::from(self.data.user_timeout_ms);
        (user != 0 && now.saturating_sub(since) >= user) || self.data.keep_probes >= self.retries()
    }

    /// The end of a connection whose peer stopped answering
    /// (`tcp_write_err`): the ICMP error it last heard, else `ETIMEDOUT`.
    fn timed_out(&mut self) -> Outcome {
        self.state = State::Closed;
        self.deadline = None;
        let err = self.soft_error.map_or(ConnError::TimedOut, ConnError::Icmp);
        Outcome { error: Some(err), ..Outcome::default() }
    }

    /// The timer of a synchronized connection: the delayed ACK, then the
    /// retransmission or probe timer (`tcp_retransmit_timer`,
    /// `tcp_probe_timer`), FIN-WAIT-2's and TIME-WAIT's ends.
    pub(crate) fn data_timer(&mut self, now: u64) -> Outcome {
        if self.data.delack.is_some_and(|t| now >= t) {
            self.data.delack = None;
            self.data.ack_now = true;
        }
        if self.keepalive_at().is_some_and(|t| now >= t) {
            return self.keepalive_timer(now);
        }
        match self.deadline {
            Some(d) if now >= d => {}
            _ => return Outcome::default(),
        }
        if self.data.pto {
            // The tail loss probe's time: transmit sends it.
            self.data.pto = false;
            self.deadline = None;
            if self.data.snd_max.after(self.snd_una) {
                self.data.tlp_send = true;
            }
            return Outcome::default();
        }
        match self.state {
            State::FinWait2 | State::TimeWait => {
                self.state = State::Closed;
                self.deadline = None;
                return Outcome { closed: true, ..Outcome::default() };
            }
            State::Established | State::CloseWait | State::FinWait1 | State::Closing | State::LastAck => {}
            _ => {
                self.deadline = None;
                return Outcome::default();
            }
        }
        if self.snd_una == self.data.snd_max {
            if self.data.probing && self.snd_wnd > 0 && self.notsent() > 0 {
                // Data held by a cork with the window open: it goes now
                // (`tcp_write_wakeup`), Nagle or not.
                self.data.wakeup = true;
                self.deadline = None;
                return Outcome::default();
            }
            if self.data.probing {
                if self.probes_exhausted(now) {
                    return self.timed_out();
                }
                // A window probe: an old sequence number, which the peer
                // answers with its window (`tcp_xmit_probe_skb`).
                self.data.keep_probes = self.data.keep_probes.saturating_add(1);
                self.rtt.back_off();
                self.arm_rto(now);
                let mut probe = self.ack(now);
                probe.seq = self.snd_una.sub(1);
                return Outcome::reply(probe);
            }
            self.deadline = None;
            return Outcome::default();
        }
        let limit = self.retries();
        // TCP_USER_TIMEOUT, when set, replaces the count (RFC 5482).
        let user = u64::from(self.data.user_timeout_ms);
        let out_of_time = match self.data.rtx_since {
            Some(t) if user != 0 => now.saturating_sub(t) >= user,
            _ => user == 0 && self.retransmits >= limit.max(1),
        };
        if out_of_time {
            return self.timed_out();
        }
        // Go back to SND.UNA with one segment of window (RFC 6298 5.4-5.6,
        // RFC 5681 3.1).
        let flight = self.data.snd_max.diff(self.snd_una).max(0) as u32;
        self.data.cc.on_timeout(flight, self.retransmits > 0);
        self.retransmits = self.retransmits.saturating_add(1);
        // The series is timed from its first retransmission
        // (`retrans_stamp`; a tail loss probe does not start it).
        self.data.rtx_since.get_or_insert(now);
        // Everything from SND.UNA goes again: the scoreboard starts over
        // (the peer may have dropped what it had SACKed, RFC 2018 8).
        self.data.sacked.clear();
        self.snd_nxt = self.snd_una;
        self.data.timed = None;
        self.data.tlp_high = None;
        self.data.rtx_limit = None;
        // The head goes again even into a zero window (a window that
        // closed on data in flight): it is the probe that learns when the
        // window opens (`tcp_retransmit_timer`).
        self.data.rtx_head = true;
        self.rtt.back_off();
        self.arm_rto(now);
        Outcome::default()
    }
}
