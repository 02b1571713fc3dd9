// SPDX-License-Identifier: GPL-2.0

//! Segments arriving on a synchronized connection (RFC 9293 3.10.7.4), in
//! Linux's order (`tcp_validate_incoming`, `tcp_ack`, `tcp_data_queue`,
//! `tcp_fin`), with the RFC 5961 checks on RST, SYN and ACK, PAWS
//! (RFC 7323 5), and TIME-WAIT (`tcp_timewait_state_process`).
//!
//! The closing states:
//!
//! ```text
//!                           +---------+
//!                           |  ESTAB  |
//!                           +---------+
//!                    CLOSE    |     |    rcv FIN
//!                   -------   |     |    -------
//!  +---------+      snd FIN  /       \   snd ACK         +---------+
//!  |  FIN    |<-------------           ----------------->|  CLOSE  |
//!  | WAIT-1  |------------------                         |   WAIT  |
//!  +---------+          rcv FIN  \                       +---------+
//!    | rcv ACK of FIN   -------   |                       CLOSE  |
//!    | --------------   snd ACK   |                      ------- |
//!    V        x                   V                      snd FIN V
//!  +---------+              +---------+                  +---------+
//!  |FINWAIT-2|              | CLOSING |                  | LAST-ACK|
//!  +---------+              +---------+                  +---------+
//!    |              rcv ACK of FIN |                 rcv ACK of FIN |
//!    |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
//!    |  -------            x       V    ------------        x       V
//!     \ snd ACK              +---------+delete TCB          +---------+
//!       -------------------->|TIME-WAIT|------------------->| CLOSED  |
//!                            +---------+                    +---------+
//! ```

use super::conn::{Conn, ConnError, Outcome, Place, DELACK_MS, OOW_ACK_INTERVAL_MS, TIME_WAIT_MS};
use super::mib::Mib;
use super::rwnd::Cost;
use super::options::TCP_MAX_WSCALE;
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// RFC 5961 3.2: where a reset's sequence number falls.
enum RstCheck {
    Exact,
    InWindow,
    Outside,
}

impl Conn {
    /// The synchronized states, ESTABLISHED to LAST-ACK.
    pub(crate) fn synchronized(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        let f = seg.flags;
        // First, the sequence number (RST gets RFC 5961 3.2's finer check).
        if f.contains(Flags::RST) {
            return match self.rst_check(seg) {
                RstCheck::Exact => {
                    let err = if self.state == State::CloseWait { ConnError::Pipe } else { ConnError::Reset };
                    self.state = State::Closed;
                    self.deadline = None;
                    self.data.delack = None;
                    Outcome::error(err)
                }
                RstCheck::InWindow => self.challenge(seg, payload_len, now, Mib::NONE),
                RstCheck::Outside => Outcome::default(),
            };
        }
        // Neither ACK, RST nor SYN: dropped before any check, unanswered
        // (`tcp_rcv_established`, `tcp_rcv_state_process`).
        if !f.intersects(Flags::ACK | Flags::SYN) {
            return Outcome::default();
        }
        // PAWS (RFC 7323 5.3): a timestamp older than TS.Recent is an old
        // duplicate.
        if let (true, Some((val, _))) = (self.neg.timestamps, seg.options.timestamp) {
            if self.paws_rejects(val) {
                if f.contains(Flags::SYN) {
                    return self.syn_challenge(seg, payload_len, now);
                }
                let mut out = self.dupack(seg, payload_len, now);
                out.mib = Mib::PAWS_ESTAB.with(if out.reply.is_some() { Mib::NONE } else { Mib::ACK_SKIPPED_PAWS });
                return out;
            }
        }
        // Not acceptable (a retransmitted SYN-ACK or FIN, a window probe
        // among them): an ACK of what we have.
        if !self.seq_acceptable(seg.seq, seg.seq_len(payload_len)) && !self.late_ack(seg, payload_len) {
            self.old_segment_timestamp(seg, payload_len);
            if f.contains(Flags::SYN) {
                return self.syn_challenge(seg, payload_len, now);
            }
            // `tcp_sequence`: old bytes are no error, bytes past the
            // window are.
            let end = seg.seq.add(seg.seq_len(payload_len));
            let beyond = if end.before(self.data.rcv_wup) { Mib::NONE } else { Mib::BEYOND_WINDOW };
            let mut out = self.dupack(seg, payload_len, now);
            out.mib = beyond.with(if out.reply.is_some() { Mib::NONE } else { Mib::ACK_SKIPPED_SEQ });
            return out;
        }
        // RFC 5961 4.2: any SYN here gets a challenge ACK.
        if f.contains(Flags::SYN) {
            return self.syn_challenge(seg, payload_len, now);
        }
        if !f.contains(Flags::ACK) {
            return Outcome::default();
        }
        // RFC 5961 5.2: an ACK of what we never sent, or of what is older
        // than the peer could still be acknowledging, gets an ACK and goes.
        let oldest = self.snd_una.sub(self.data.max_window.max(1));
        if seg.ack.after(self.data.snd_max) || seg.ack.before(oldest) {
            return self.challenge(seg, payload_len, now, Mib::NONE);
        }
        if let (true, Some((val, ecr))) = (self.neg.timestamps, seg.options.timestamp) {
            if !seg.seq.after(self.rcv_nxt) {
                self.ts_recent = val;
            }
            if payload_len > 0 && ecr != 0 {
                self.sample_rcv_rtt(self.tsval(now).wrapping_sub(ecr));
            }
        }
        // The peer is alive: keepalive starts over.
        self.data.last_recv = now;
        self.data.keep_probes = 0;
        let mut out = Outcome::default();
        if self.ack_in(seg, payload_len, now, &mut out) {
            return out;
        }
        self.urgent_in(seg, payload_len, &mut out);
        self.data_in(seg, payload_len, now, &mut out);
        if out.error.is_some() {
            return out;
        }
        if (f.contains(Flags::FIN) && seg.seq.add(payload_len) == self.rcv_nxt) || self.data.ooo_fin == Some(self.rcv_nxt) {
            self.fin_in(now, &mut out);
        }
        out
    }

    /// A segment of old bytes only that still ends at or after `RCV.WUP`
    /// (where we last offered our window): Linux's `tcp_sequence` takes it,
    /// and with an acceptable ACK `tcp_replace_ts_recent` takes its
    /// timestamp (it passed PAWS), so the D-SACK that answers it echoes
    /// that.
    fn old_segment_timestamp(&mut self, seg: &Segment, payload_len: u32) {
        let Some((val, _)) = seg.options.timestamp.filter(|_| self.neg.timestamps) else { return };
        let end = seg.seq.add(seg.seq_len(payload_len));
        let wup = self.data.rcv_wup;
        let oldest = self.snd_una.sub(self.data.max_window.max(1));
        let ack_ok = seg.flags.contains(Flags::ACK) && !seg.ack.after(self.data.snd_max) && !seg.ack.before(oldest);
        if ack_ok && !seg.flags.contains(Flags::SYN) && !end.before(wup) && !seg.seq.after(wup) {
            self.ts_recent = val;
        }
    }

    /// A bare ACK whose sequence number is older than `RCV.NXT` but not
    /// older than where we last offered our window: Linux's `tcp_sequence`
    /// takes it (its sender's view of our window was behind), and so its
    /// acknowledgment and window count; RFC 9293's test alone would leave
    /// two such ends refusing each other's ACKs.
    ///
    /// Further back than that, within a window before it, a bare ACK is
    /// still taken if it acknowledges new data: both ends may have lost
    /// the other's ACKs while each had sent past the window it last heard
    /// of, and then each sends its bare ACKs at that window's edge
    /// ([`Conn::acceptable_seq`]), behind what the other last offered;
    /// neither would hear of the other's progress again. The ACK passed
    /// RFC 5961's check and acknowledges what we sent, so it is no blind
    /// guess; its window counts only if it is the newest (`SND.WL1`).
    fn late_ack(&self, seg: &Segment, payload_len: u32) -> bool {
        if seg.seq_len(payload_len) != 0 || !seg.flags.contains(Flags::ACK) || seg.seq.after(self.rcv_nxt) {
            return false;
        }
        let acks_new = seg.ack.after(self.snd_una) && !seg.ack.after(self.data.snd_max);
        !seg.seq.before(self.data.rcv_wup) || (acks_new && !seg.seq.before(self.data.rcv_wup.sub(self.cfg.rcv_wnd)))
    }

    /// RFC 5961 4.2: a SYN on a synchronized connection gets a challenge
    /// ACK (`tcp_validate_incoming`'s `syn_challenge`), an error of the
    /// segment in ESTABLISHED.
    fn syn_challenge(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        let inerr = if self.state == State::Established { Mib::IN_ERRS } else { Mib::NONE };
        self.challenge(seg, payload_len, now, Mib::SYN_CHALLENGE.with(inerr))
    }

    /// A challenge ACK (`tcp_send_challenge_ack`), counted with `mib` as
    /// sent or as skipped by the rate limit.
    fn challenge(&mut self, seg: &Segment, payload_len: u32, now: u64, mib: Mib) -> Outcome {
        let mut out = self.dupack(seg, payload_len, now);
        let sent = if out.reply.is_some() { Mib::CHALLENGE_ACK } else { Mib::ACK_SKIPPED_CHALLENGE };
        out.mib = mib.with(sent);
        out
    }

    /// The ACK that answers a segment we do not take (out of the window,
    /// PAWS, an RFC 5961 challenge), at most one per
    /// [`OOW_ACK_INTERVAL_MS`] for segments that take no sequence space:
    /// two ends that each find the other's ACKs unacceptable would
    /// otherwise answer each other forever (`tcp_oow_rate_limited`).
    fn dupack(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        if payload_len > 0 && seg.seq.before(self.rcv_nxt) {
            // Data we had: reported as a D-SACK (`tcp_send_dupack`).
            let end = seg.seq.add(payload_len);
            self.data.dsack = Some((seg.seq, if end.after(self.rcv_nxt) { self.rcv_nxt } else { end }));
        }
        let pure = seg.seq_len(payload_len) == 0 || seg.flags.contains(Flags::SYN);
        if pure {
            if let Some(last) = self.data.last_oow_ack {
                if now.saturating_sub(last) < OOW_ACK_INTERVAL_MS {
                    return Outcome::default();
                }
            }
            self.data.last_oow_ack = Some(now);
        }
        Outcome::reply(self.ack(now))
    }

    /// The SACK blocks of `seg` onto the scoreboard: those that lie
    /// between `SND.UNA` and what was sent (RFC 2018; a D-SACK of old
    /// data, or a block we never sent, is not).
    fn sack_in(&mut self, seg: &Segment) {
        if !self.neg.sack {
            return;
        }
        for b in seg.options.sack_blocks() {
            let (left, right) = (SeqNum(b.left), SeqNum(b.right));
            if left.before(right) && !left.before(self.snd_una) && !right.after(self.data.snd_max) {
                // A block that needs a range more than the scoreboard
                // keeps is left out: recovery just knows less.
                let _ = self.data.sacked.add(left, right);
            }
        }
    }

    /// The SACK blocks say the peer holds more than two segments past
    /// `SND.UNA` (RFC 6675 IsLost of the head, DupThresh 3).
    fn head_is_lost(&self) -> bool {
        let sacked = self
            .data
            .sacked
            .ranges()
            .iter()
            .map(|r| r.end.diff(r.start).max(0) as u32)
            .fold(0, u32::saturating_add);
        sacked > self.send_mss().saturating_mul(2)
    }

    /// In recovery, the bytes in the network (`tcp_packets_in_flight`):
    /// those sent past the highest SACK block, and the holes below it sent
    /// again.
    pub(crate) fn pipe(&self) -> u32 {
        let ranges = self.data.sacked.ranges();
        let top = ranges
            .iter()
            .map(|r| r.end)
            .reduce(|a, b| if b.after(a) { b } else { a })
            .unwrap_or(self.snd_una);
        let beyond = self.data.snd_max.diff(top).max(0) as u32;
        let upto = if self.data.rtx_next.after(self.snd_una) { self.data.rtx_next } else { self.snd_una };
        let sacked: u32 = ranges
            .iter()
            .map(|r| {
                let from = if r.start.after(self.snd_una) { r.start } else { self.snd_una };
                let to = if r.end.before(upto) { r.end } else { upto };
                to.diff(from).max(0) as u32
            })
            .fold(0, u32::saturating_add);
        beyond.saturating_add((upto.diff(self.snd_una).max(0) as u32).saturating_sub(sacked))
    }

    /// In recovery, the next hole to send again: the first bytes from
    /// `SND.UNA` or the last hole sent (the further) that no SACK block
    /// covers, below the highest one; `(start, length)`.
    pub(crate) fn next_hole(&self) -> Option<(SeqNum, u32)> {
        let ranges = self.data.sacked.ranges();
        let top = ranges.iter().map(|r| r.end).reduce(|a, b| if b.after(a) { b } else { a })?;
        let mut at = if self.data.rtx_next.after(self.snd_una) { self.data.rtx_next } else { self.snd_una };
        // Past every range that covers `at` (at most one pass a range).
        for _ in 0..=ranges.len() {
            match ranges.iter().find(|r| !r.start.after(at) && r.end.after(at)) {
                Some(r) => at = r.end,
                None => break,
            }
        }
        if !at.before(top) {
            return None;
        }
        let end = ranges
            .iter()
            .map(|r| r.start)
            .filter(|s| s.after(at))
            .reduce(|a, b| if b.before(a) { b } else { a })
            .unwrap_or(top);
        Some((at, end.diff(at).max(0) as u32))
    }

    /// The ACK field (`tcp_ack`): the send buffer's head, the window, the
    /// round-trip time, congestion control, our FIN. True when the
    /// connection ended here (the ACK of our FIN in LAST-ACK).
    fn ack_in(&mut self, seg: &Segment, payload_len: u32, now: u64, out: &mut Outcome) -> bool {
        if !seg.ack.before(self.snd_una) {
            // Something worked: the soft error goes (`tcp_ack`).
            self.soft_error = None;
        }
        let d = &mut self.data;
        let wnd = u32::from(seg.window) << self.neg.snd_wscale.min(TCP_MAX_WSCALE);
        let flight = d.snd_max.diff(self.snd_una).max(0) as u32;
        if seg.ack.after(self.snd_una) {
            let acked = seg.ack.diff(self.snd_una).max(0) as u32;
            // The FIN takes a sequence number but no byte of the buffer.
            let in_buf = d.snd_end.diff(self.snd_una).max(0) as u32;
            out.acked = acked.min(in_buf);
            self.snd_una = seg.ack;
            self.data.urg.acked(seg.ack.sub(acked), seg.ack);
            if self.snd_nxt.before(self.snd_una) {
                self.snd_nxt = self.snd_una;
            }
            self.retransmits = 0;
            self.data.rtx_since = None;
            self.sample_ack_rtt(seg, now);
            self.rtt.acked();
            let d = &mut self.data;
            d.sacked.forget_before(seg.ack);
            let rtt_ms = self.rtt.srtt_us().unwrap_or(0) / 1000;
            let d = &mut self.data;
            if d.cc.on_ack(acked, seg.ack, flight, now, rtt_ms) {
                d.rtx_head = true;
            }
            self.sack_in(seg);
            let d = &mut self.data;
            // A tail loss probe is over once what it sent is acknowledged.
            if d.tlp_high.is_some_and(|h| !seg.ack.before(h)) {
                d.tlp_high = None;
            }
            // The timer restarts for what is still out (RFC 6298 5.3), or
            // the tail loss probe's.
            if self.snd_una == d.snd_max {
                if !matches!(self.state, State::FinWait2 | State::TimeWait) {
                    self.deadline = None;
                    self.data.pto = false;
                }
            } else {
                self.arm_rto(now);
                self.schedule_loss_probe(now);
            }
        } else if seg.ack == self.snd_una
            && payload_len == 0
            && !seg.flags.contains(Flags::FIN)
            && wnd == self.snd_wnd
            && self.snd_una != d.snd_max
        {
            // A duplicate ACK (RFC 5681 2).
            self.sack_in(seg);
            let hole = self.data.cc.recover.is_some() && self.next_hole().is_some();
            let lost = self.data.cc.recover.is_none() && self.head_is_lost();
            let d = &mut self.data;
            if hole {
                // In recovery with the peer's SACK blocks: a segment left
                // the network, and the next hole goes in its place rather
                // than new data (RFC 6675 5, retransmissions first).
                self.data.rtx_head = true;
            } else if lost {
                // The peer holds more than two segments past the head: it
                // is lost (RFC 6675 IsLost), without waiting for three
                // duplicates (Linux's RACK marks it lost as soon).
                d.cc.enter_recovery(flight, d.snd_max);
                d.rtx_head = true;
                d.rtx_next = self.snd_una;
            } else if d.cc.on_dupack(flight, d.snd_max) {
                d.rtx_head = true;
                d.rtx_next = self.snd_una;
            }
        }
        // The window (RFC 9293 3.10.7.4, SND.WL1 and SND.WL2). A right
        // edge that moves back is taken only with a newer ACK: a peer that
        // never shrinks its window (Linux's TCP, and this one) sent an
        // older segment, which reordering made look newer (a bare ACK's
        // sequence number may be below data sent before it, see
        // `acceptable_seq`).
        let d = &mut self.data;
        let newer = d.snd_wl1.before(seg.seq) || (d.snd_wl1 == seg.seq && !seg.ack.before(d.snd_wl2));
        let back = seg.ack.add(wnd).before(self.snd_una.add(self.snd_wnd)) && !seg.ack.after(d.snd_wl2);
        if newer && !back {
            self.snd_wnd = wnd;
            d.snd_wl1 = seg.seq;
            d.snd_wl2 = seg.ack;
            d.max_window = d.max_window.max(wnd);
            if wnd != 0 && d.probing {
                // The window opened: the probe timer stops.
                d.probing = false;
                d.probe_since = None;
                self.retransmits = 0;
                if self.snd_una == self.data.snd_max {
                    self.deadline = None;
                }
            }
        }
        if !self.fin_acked() {
            return false;
        }
        match self.state {
            State::FinWait1 => {
                self.state = State::FinWait2;
                // Only an orphan gives up waiting for the peer.
                self.deadline = self.orphan.then(|| self.fin_timeout().map_or(now, |t| now.saturating_add(t)));
            }
            State::Closing => self.enter_time_wait(now, out),
            State::LastAck => {
                self.state = State::Closed;
                self.deadline = None;
                self.data.delack = None;
                out.closed = true;
                return true;
            }
            _ => {}
        }
        false
    }

    /// A receiver's round-trip sample of `ms` (data that echoes our
    /// timestamp): an eighth of it goes into the average, as SRTT's.
    fn sample_rcv_rtt(&mut self, ms: u32) {
        if ms > super::conn::RTO_MAX_MS {
            return;
        }
        let us = ms.saturating_mul(1000);
        let old = self.data.rcv_rtt_us;
        self.data.rcv_rtt_us = match old {
            0 => us.max(1),
            _ => old.saturating_sub(old / 8).saturating_add(us / 8).max(1),
        };
    }

    /// A round-trip sample from an ACK of new data: by the timestamp echo,
    /// or from the timed segment if it was not retransmitted (Karn).
    fn sample_ack_rtt(&mut self, seg: &Segment, now: u64) {
        let ms = match (self.neg.timestamps, seg.options.timestamp, self.data.timed) {
            (true, Some((_, ecr)), _) if ecr != 0 => self.tsval(now).wrapping_sub(ecr),
            (_, _, Some((last, sent))) if !seg.ack.before(last) => {
                self.data.timed = None;
                u32::try_from(now.saturating_sub(sent)).unwrap_or(u32::MAX)
            }
            _ => return,
        };
        if ms <= super::conn::RTO_MAX_MS {
            self.rtt.sample(ms.saturating_mul(1000));
        }
    }

    /// Where the new bytes of a segment with `payload_len` bytes would
    /// land in the receive buffer, within its room, if they were taken
    /// (`None`: none would). Changes nothing; the storage may make room
    /// for them before the segment is processed ([`crate::stream::Stream::on_segment`]).
    pub fn landing(&self, seg: &Segment, payload_len: u32) -> Option<Place> {
        let end = seg.seq.add(payload_len);
        let start = if seg.seq.before(self.rcv_nxt) { self.rcv_nxt } else { seg.seq };
        let limit = self.rcv_nxt.add(self.rx_room());
        let end = if end.after(limit) { limit } else { end };
        if payload_len == 0 || !start.before(end) {
            return None;
        }
        Some(Place {
            skip: start.diff(seg.seq).max(0) as u32,
            len: end.diff(start).max(0) as u32,
            at: self.data.rx_unread.wrapping_add(start.diff(self.rcv_nxt).max(0) as u32),
        })
    }

    /// The payload (`tcp_data_queue`): in order it becomes readable,
    /// filling what waited behind it; out of order it is kept at its place
    /// and answered at once with SACK; either way within the receive
    /// buffer only.
    fn data_in(&mut self, seg: &Segment, payload_len: u32, now: u64, out: &mut Outcome) {
        if payload_len == 0 {
            if seg.flags.contains(Flags::FIN) {
                self.fin_out_of_order(seg.seq, now, out);
            }
            return;
        }
        let end = seg.seq.add(payload_len);
        let new_data = end.after(self.rcv_nxt);
        if seg.seq.before(self.rcv_nxt) && matches!(self.state, State::Established | State::FinWait1 | State::FinWait2) {
            // Bytes we had, all or the head (`tcp_data_queue`): the ACK
            // reports them first, as a D-SACK (RFC 2883).
            self.data.dsack = Some((seg.seq, if new_data { self.rcv_nxt } else { end }));
        }
        // Data after our socket is gone (or after the peer's FIN) cannot
        // be delivered: a closed socket answers with a reset (RFC 9293
        // 3.10.7.4 via `tcp_rcv_state_process`'s check of RCV_SHUTDOWN).
        if self.orphan && new_data && matches!(self.state, State::FinWait1 | State::FinWait2) {
            out.reply = self.abort(now);
            out.error = Some(ConnError::Reset);
            return;
        }
        if !matches!(self.state, State::Established | State::FinWait1 | State::FinWait2) || !new_data {
            // Nothing new (a retransmission), or after the peer's FIN: the
            // peer learns what we have.
            out.reply = Some(self.ack(now));
            return;
        }
        let Some(place) = self.landing(seg, payload_len) else {
            out.reply = Some(self.ack(now));
            return;
        };
        let start = seg.seq.add(place.skip);
        let end = start.add(place.len);
        if start != self.rcv_nxt {
            // Out of order: kept if there is a range for it; a duplicate
            // ACK with SACK either way (RFC 5681 4.2: at once).
            if self.data.ooo.add(start, end) {
                out.data = Some(place);
                let cost = self.data.rx_cost.unwrap_or(Cost::of_len(payload_len));
                self.rcv_window_data(payload_len, cost, 0, false, false);
                if seg.flags.contains(Flags::FIN) && end == seg.seq.add(payload_len) {
                    self.fin_out_of_order(end, now, out);
                }
            } else {
                out.mib = out.mib.with(super::mib::Mib::OFO_DROP);
            }
            out.reply = Some(self.ack(now));
            return;
        }
        out.data = Some(place);
        let filled_hole = !self.data.ooo.is_empty();
        let mut nxt = self.data.ooo.advance(end);
        // A FIN kept out of order is no byte: the data ends before it.
        if let Some(fin) = self.data.ooo_fin.filter(|f| nxt.after(*f)) {
            nxt = fin;
        }
        let readable = nxt.diff(self.rcv_nxt).max(0) as u32;
        self.rcv_nxt = nxt;
        self.data.rx_unread = self.data.rx_unread.saturating_add(readable);
        let cost = self.data.rx_cost.unwrap_or(Cost::of_len(payload_len));
        let header = u32::try_from(seg.options.len()).unwrap_or(0).saturating_add(20);
        self.rcv_window_data(payload_len, cost, header, seg.flags.contains(Flags::PSH), true);
        self.rcv_wnd = self.free_window();
        out.readable = readable;
        // ACK every second full segment, a filled hole, and the first
        // segments of the connection at once; else delay (RFC 9293 3.8.6.3).
        // Counted in full segments: a GRO or GSO train of several is
        // acknowledged at once, as `__tcp_ack_snd_check` compares bytes
        // with the MSS.
        let segs = readable.div_ceil(u32::from(self.neg.mss).max(1)).max(1);
        let d = &mut self.data;
        d.unacked = d.unacked.saturating_add(u8::try_from(segs).unwrap_or(u8::MAX));
        let quick = d.quickacks > 0 && !d.pingpong;
        if quick {
            d.quickacks = d.quickacks.saturating_sub(1);
        }
        if filled_hole || quick || d.unacked >= 2 || seg.flags.contains(Flags::FIN) {
            out.reply = Some(self.ack(now));
        } else if d.delack.is_none() {
            d.delack = Some(now.saturating_add(DELACK_MS));
        }
    }

    /// The peer's FIN at `seq`, past a hole, within the window: kept out
    /// of order until the hole is filled, and SACKed (`tcp_data_queue_ofo`
    /// queues it as one unit); a duplicate ACK says so at once.
    fn fin_out_of_order(&mut self, seq: SeqNum, now: u64, out: &mut Outcome) {
        let in_window = seq.after(self.rcv_nxt) && seq.before(self.rcv_nxt.add(self.rcv_wnd.max(1)));
        let receiving = matches!(self.state, State::Established | State::FinWait1 | State::FinWait2);
        if receiving && in_window && self.data.ooo_fin.is_none() && self.data.ooo.add(seq, seq.add(1)) {
            self.data.ooo_fin = Some(seq);
        }
        out.reply = Some(self.ack(now));
    }

    /// The peer's FIN, in order (`tcp_fin`).
    fn fin_in(&mut self, now: u64, out: &mut Outcome) {
        if self.data.fin_in {
            out.reply = Some(self.ack(now));
            return;
        }
        self.rcv_nxt = self.rcv_nxt.add(1);
        self.data.fin_in = true;
        self.data.ooo.clear();
        self.data.ooo_fin = None;
        out.eof = true;
        match self.state {
            State::Established => self.state = State::CloseWait,
            // Both sides closed at once.
            State::FinWait1 => self.state = State::Closing,
            State::FinWait2 => self.enter_time_wait(now, out),
            _ => {}
        }
        out.reply = Some(self.ack(now));
    }

    /// Goes to TIME-WAIT for 2 MSL.
    pub(crate) fn enter_time_wait(&mut self, now: u64, out: &mut Outcome) {
        self.state = State::TimeWait;
        self.deadline = Some(now.saturating_add(TIME_WAIT_MS));
        self.data.delack = None;
        out.time_wait = true;
    }

    /// TIME-WAIT (`tcp_timewait_state_process`): a retransmitted FIN is
    /// acknowledged again and restarts the 2 MSL; a reset ends it early,
    /// as Linux does (RFC 1337's hazard taken); a SYN with a sequence
    /// number past the old connection's may start a new one (`closed`:
    /// the caller hands it to the listener); anything else gets an ACK.
    pub(crate) fn time_wait(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        let f = seg.flags;
        if f.contains(Flags::RST) {
            if self.seq_acceptable(seg.seq, 0) {
                self.state = State::Closed;
                self.deadline = None;
                return Outcome { closed: true, ..Outcome::default() };
            }
            return Outcome::default();
        }
        if f.contains(Flags::SYN) && !f.contains(Flags::ACK) && seg.seq.after(self.rcv_nxt) {
            self.state = State::Closed;
            self.deadline = None;
            return Outcome { closed: true, ..Outcome::default() };
        }
        if f.contains(Flags::FIN) && seg.seq.add(payload_len) == self.rcv_nxt.sub(1) {
            let mut out = Outcome::default();
            self.enter_time_wait(now, &mut out);
            out.time_wait = false;
            out.reply = Some(self.ack(now));
            return out;
        }
        if !self.seq_acceptable(seg.seq, seg.seq_len(payload_len)) || f.contains(Flags::SYN) {
            return Outcome::reply(self.ack(now));
        }
        Outcome::default()
    }

    fn rst_check(&self, seg: &Segment) -> RstCheck {
        if seg.seq == self.rcv_nxt {
            RstCheck::Exact
        } else if self.seq_acceptable(seg.seq, 0) {
            RstCheck::InWindow
        } else {
            RstCheck::Outside
        }
    }

    /// The acceptability test of RFC 9293 3.10.7.4 (first check).
    pub fn seq_acceptable(&self, seq: SeqNum, len: u32) -> bool {
        let wnd = self.rcv_wnd;
        let end = self.rcv_nxt.add(wnd);
        match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => !seq.before(self.rcv_nxt) && seq.before(end),
            // A full buffer still takes a FIN (or a probe) at RCV.NXT, as
            // Linux's `tcp_sequence` does; its data is not kept.
            (_, 0) => seq == self.rcv_nxt,
            (_, _) => {
                let last = seq.add(len.wrapping_sub(1));
                (!seq.before(self.rcv_nxt) && seq.before(end))
                    || (!last.before(self.rcv_nxt) && last.before(end))
            }
        }
    }

    /// Has the peer acknowledged our FIN?
    pub(crate) fn fin_acked(&self) -> bool {
        self.data.fin_queued && self.snd_una == self.data.snd_end.add(1)
    }
}
