// SPDX-License-Identifier: GPL-2.0

//! Congestion control: NewReno (RFC 5681 with RFC 6582's recovery), in
//! bytes, as `tcp_reno_cong_avoid` and the fast recovery of
//! `tcp_input.c` do it in packets.
//!
//! ```text
//!            new ACK, cwnd < ssthresh: cwnd += acked (slow start)
//!            new ACK, cwnd >= ssthresh: cwnd += MSS * MSS / cwnd
//!   +------+  3 duplicate ACKs           +----------+
//!   | open |---------------------------->| recovery |--- partial ACK:
//!   +------+  ssthresh = flight / 2       +----------+    resend the head
//!      ^  ^   cwnd = ssthresh + 3 MSS        |
//!      |  |   resend the head                | ACK of `recover`:
//!      |  +----------------------------------+ cwnd = ssthresh
//!      |
//!      +--- timeout: ssthresh = flight / 2, cwnd = 1 MSS, resend from SND.UNA
//! ```

use super::seq::SeqNum;

/// The initial window in segments (RFC 6928, `TCP_INIT_CWND`).
pub const INIT_CWND: u32 = 10;
/// Duplicate ACKs that start a fast retransmit (`tcp_reordering`).
pub const DUPACK_THRESHOLD: u8 = 3;

/// NewReno's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reno {
    /// The congestion window, in bytes.
    pub cwnd: u32,
    /// The slow start threshold, in bytes.
    pub ssthresh: u32,
    /// Duplicate ACKs in a row.
    pub dupacks: u8,
    /// In fast recovery until this is acknowledged (RFC 6582 `recover`).
    pub recover: Option<SeqNum>,
    /// Bytes acknowledged in congestion avoidance, not yet a whole window.
    acked_ca: u32,
    mss: u32,
}

impl Reno {
    /// The state of a new connection sending segments of `mss` bytes.
    pub fn new(mss: u32) -> Reno {
        let mss = mss.max(1);
        Reno { cwnd: INIT_CWND.saturating_mul(mss), ssthresh: u32::MAX, mss, ..Reno::default() }
    }

    fn half_flight(&self, flight: u32) -> u32 {
        (flight / 2).max(self.mss.saturating_mul(2))
    }

    /// New data was acknowledged: `acked` bytes, the ACK reaching `ack`,
    /// with `flight` bytes outstanding before it. True when a partial ACK
    /// in recovery asks for the next hole to be resent.
    ///
    /// The window grows only while the sender uses it: with at least half
    /// of it in flight (RFC 7661's pipeACK rule; `tcp_is_cwnd_limited`).
    /// A sender held back by the application or by the peer's window
    /// would otherwise grow it without bound, and send all of it in one
    /// burst once it may.
    pub fn on_ack(&mut self, acked: u32, ack: SeqNum, flight: u32) -> bool {
        self.dupacks = 0;
        if let Some(recover) = self.recover {
            if ack.before(recover) {
                // Partial ACK (RFC 6582 3.2 step 3): deflate by what was
                // acknowledged, add back one segment, resend the next hole.
                self.cwnd = self.cwnd.saturating_sub(acked).saturating_add(self.mss).max(self.mss);
                return true;
            }
            // Full ACK: recovery is over.
            self.recover = None;
            self.cwnd = self.ssthresh.max(self.mss);
            return false;
        }
        if flight.saturating_mul(2) < self.cwnd {
            return false;
        }
        let mut acked = acked;
        if self.cwnd < self.ssthresh {
            // Slow start: a segment for each segment acknowledged, however
            // many one ACK covers (`tcp_slow_start`: a stretch ACK, or the
            // ACK of a GSO train, counts in full), up to ssthresh; the rest
            // goes to congestion avoidance.
            let grow = acked.min(self.ssthresh.saturating_sub(self.cwnd));
            self.cwnd = self.cwnd.saturating_add(grow);
            acked = acked.saturating_sub(grow);
            if acked == 0 {
                return false;
            }
        }
        // Congestion avoidance: one segment per window acknowledged
        // (`tcp_cong_avoid_ai`, several if one ACK covers several windows).
        self.acked_ca = self.acked_ca.saturating_add(acked);
        if self.cwnd > 0 && self.acked_ca >= self.cwnd {
            let windows = self.acked_ca.checked_div(self.cwnd).unwrap_or(0);
            self.acked_ca = self.acked_ca.saturating_sub(windows.saturating_mul(self.cwnd));
            self.cwnd = self.cwnd.saturating_add(windows.saturating_mul(self.mss));
        }
        false
    }

    /// A duplicate ACK with `flight` bytes outstanding up to `snd_max`.
    /// True when it calls for a fast retransmit of the head.
    pub fn on_dupack(&mut self, flight: u32, snd_max: SeqNum) -> bool {
        if self.recover.is_some() {
            // Each further duplicate means a segment left the network.
            self.cwnd = self.cwnd.saturating_add(self.mss);
            return false;
        }
        self.dupacks = self.dupacks.saturating_add(1);
        if self.dupacks < DUPACK_THRESHOLD {
            return false;
        }
        self.ssthresh = self.half_flight(flight);
        self.cwnd = self.ssthresh.saturating_add(self.mss.saturating_mul(3));
        self.recover = Some(snd_max);
        true
    }

    /// The retransmission timer expired with `flight` bytes outstanding.
    pub fn on_timeout(&mut self, flight: u32) {
        // RFC 5681 eq. 4.
        self.ssthresh = self.half_flight(flight);
        self.cwnd = self.mss;
        self.dupacks = 0;
        self.recover = None;
        self.acked_ca = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn slow_start_then_congestion_avoidance() {
        let mut r = Reno::new(MSS);
        assert_eq!(r.cwnd, 10 * MSS);
        r.on_ack(MSS, SeqNum(1), r.cwnd);
        assert_eq!(r.cwnd, 11 * MSS);
        r.ssthresh = r.cwnd;
        for _ in 0..10 {
            r.on_ack(MSS, SeqNum(1), r.cwnd);
        }
        assert_eq!(r.cwnd, 11 * MSS, "not yet a whole window");
        r.on_ack(MSS, SeqNum(1), r.cwnd);
        assert_eq!(r.cwnd, 12 * MSS);
    }

    #[test]
    fn a_stretch_ack_counts_every_segment_it_covers() {
        let mut r = Reno::new(MSS);
        // One ACK for a GSO train of 40 segments: slow start grows by 40.
        r.on_ack(40 * MSS, SeqNum(1), r.cwnd);
        assert_eq!(r.cwnd, 50 * MSS);
        // Up to ssthresh; the rest counts toward congestion avoidance.
        r.ssthresh = 60 * MSS;
        r.on_ack(20 * MSS, SeqNum(1), r.cwnd);
        assert_eq!(r.cwnd, 60 * MSS);
        // Two whole windows in one ACK: two segments more.
        r.on_ack(110 * MSS, SeqNum(1), r.cwnd);
        assert_eq!(r.cwnd, 62 * MSS);
    }

    #[test]
    fn three_dupacks_halve_and_enter_recovery() {
        let mut r = Reno::new(MSS);
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert!(r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert_eq!((r.ssthresh, r.cwnd), (5 * MSS, 8 * MSS));
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert_eq!(r.cwnd, 9 * MSS);
        // A partial ACK asks for the next hole.
        assert!(r.on_ack(2 * MSS, SeqNum(2_000), r.cwnd));
        assert_eq!(r.cwnd, 8 * MSS);
        // The ACK of everything ends recovery.
        assert!(!r.on_ack(8 * MSS, SeqNum(10_000), r.cwnd));
        assert_eq!((r.cwnd, r.recover), (5 * MSS, None));
    }

    #[test]
    fn the_window_grows_only_while_half_of_it_is_in_flight() {
        let mut r = Reno::new(MSS);
        // Application-limited: two segments out of ten.
        r.on_ack(2 * MSS, SeqNum(1), 2 * MSS);
        assert_eq!(r.cwnd, 10 * MSS);
        r.on_ack(5 * MSS, SeqNum(1), 5 * MSS);
        assert_eq!(r.cwnd, 15 * MSS, "half of it in flight: it grows");
        r.ssthresh = r.cwnd;
        r.on_ack(15 * MSS, SeqNum(1), 7 * MSS);
        assert_eq!(r.cwnd, 15 * MSS, "nor in congestion avoidance");
        r.on_ack(15 * MSS, SeqNum(1), 15 * MSS);
        assert_eq!(r.cwnd, 16 * MSS);
    }

    #[test]
    fn a_timeout_falls_back_to_one_segment() {
        let mut r = Reno::new(MSS);
        r.on_timeout(10 * MSS);
        assert_eq!((r.cwnd, r.ssthresh), (MSS, 5 * MSS));
        r.on_timeout(MSS);
        assert_eq!(r.ssthresh, 2 * MSS, "never below two segments");
    }
}
