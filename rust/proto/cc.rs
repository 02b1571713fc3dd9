// SPDX-License-Identifier: GPL-2.0

//! Congestion control, in bytes: slow start and NewReno's fast recovery
//! (RFC 5681 with RFC 6582), as `tcp_input.c` does them in packets, and in
//! congestion avoidance CUBIC's window (RFC 9438, Linux's default,
//! `tcp_cubic.c`) or NewReno's (`tcp_reno_cong_avoid`).
//!
//! ```text
//!            new ACK, cwnd < ssthresh: cwnd += acked (slow start)
//!            new ACK, cwnd >= ssthresh: CUBIC: toward W_cubic(t + RTT)
//!                                       Reno:  cwnd += MSS * MSS / cwnd
//!   +------+  3 duplicate ACKs           +----------+
//!   | open |---------------------------->| recovery |--- partial ACK:
//!   +------+  ssthresh = cwnd * 0.7       +----------+    resend the head
//!      ^  ^   (Reno: flight / 2)            |
//!      |  |   cwnd = ssthresh + 3 MSS        | ACK of `recover`:
//!      |  |   resend the head                | cwnd = ssthresh
//!      |  +----------------------------------+
//!      |
//!      +--- timeout: ssthresh as above, cwnd = 1 MSS, resend from SND.UNA
//! ```
//!
//! Not done: HyStart (Linux's CUBIC leaves slow start early on a rising
//! delay; here slow start runs to the first loss).

use super::seq::SeqNum;

/// The initial window in segments (RFC 6928, `TCP_INIT_CWND`).
pub const INIT_CWND: u32 = 10;
/// Duplicate ACKs that start a fast retransmit (`tcp_reordering`).
pub const DUPACK_THRESHOLD: u8 = 3;

/// Which window growth congestion avoidance follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// RFC 9438 (`cubic`).
    #[default]
    Cubic,
    /// RFC 5681's additive increase (`reno`).
    Reno,
}

impl Algorithm {
    /// Its name, as Linux's modules call it.
    pub fn name(self) -> &'static [u8] {
        match self {
            Algorithm::Cubic => b"cubic",
            Algorithm::Reno => b"reno",
        }
    }

    /// The algorithm of a name, if it is one of these.
    pub fn by_name(name: &[u8]) -> Option<Algorithm> {
        [Algorithm::Cubic, Algorithm::Reno].into_iter().find(|a| a.name() == name)
    }
}

/// CUBIC's multiplicative decrease, in thousandths (β_cubic = 0.7).
const BETA: u32 = 700;
/// What of the window W_max keeps when a loss comes below the last one
/// (fast convergence), in thousandths: (1 + β) / 2.
const FAST_CONVERGENCE: u32 = 850;
/// CUBIC's α for its Reno-friendly estimate, in thousandths:
/// 3 (1 - β) / (1 + β).
const ALPHA: u64 = 529;

/// A CUBIC epoch: the growth since the last reduction (or since slow
/// start ended).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Epoch {
    /// When it began (ms).
    start: u64,
    /// K: how long (ms) the window takes to grow back to `origin`.
    k_ms: u64,
    /// The window the cubic curve levels off at (W_max), in bytes.
    origin: u32,
    /// The Reno-friendly estimate (W_est), in bytes.
    w_est: u32,
    /// Bytes acknowledged toward W_est's next increase.
    est_acked: u64,
}

/// The congestion controller's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cc {
    /// The growth in congestion avoidance.
    pub algorithm: Algorithm,
    /// The congestion window, in bytes.
    pub cwnd: u32,
    /// The slow start threshold, in bytes.
    pub ssthresh: u32,
    /// Duplicate ACKs in a row.
    pub dupacks: u8,
    /// In fast recovery until this is acknowledged (RFC 6582 `recover`).
    pub recover: Option<SeqNum>,
    /// Bytes acknowledged in congestion avoidance, not yet a whole window
    /// (Reno), or not yet a byte of growth (CUBIC).
    acked_ca: u32,
    mss: u32,
    /// CUBIC: the window before the last reduction (W_max), in bytes.
    w_max: u32,
    /// CUBIC: the current epoch, from the first ACK in congestion
    /// avoidance after a reduction.
    epoch: Option<Epoch>,
}

impl Cc {
    /// The state of a new connection sending segments of `mss` bytes.
    pub fn new(mss: u32, algorithm: Algorithm) -> Cc {
        let mss = mss.max(1);
        Cc { algorithm, cwnd: INIT_CWND.saturating_mul(mss), ssthresh: u32::MAX, mss, ..Cc::default() }
    }

    /// The segments are `mss` bytes from now on (the path's MTU fell):
    /// the window keeps its count of segments, as Linux counts it in
    /// packets.
    pub fn set_mss(&mut self, mss: u32) {
        let (old, mss) = (u64::from(self.mss.max(1)), u64::from(mss.max(1)));
        let scale = |bytes: u32| u32::try_from(u64::from(bytes).saturating_mul(mss).checked_div(old).unwrap_or(0)).unwrap_or(u32::MAX);
        let mss = u32::try_from(mss).unwrap_or(u32::MAX);
        self.cwnd = scale(self.cwnd).max(mss);
        if self.ssthresh != u32::MAX {
            self.ssthresh = scale(self.ssthresh);
        }
        self.mss = mss;
    }

    /// Switches the growth in congestion avoidance (`TCP_CONGESTION` on a
    /// live connection, `tcp_reinit_congestion_control`): the window
    /// stays, and the new growth starts from it.
    pub fn set_algorithm(&mut self, algorithm: Algorithm) {
        if self.algorithm != algorithm {
            self.algorithm = algorithm;
            self.epoch = None;
            self.acked_ca = 0;
        }
    }

    /// The name `TCP_CONGESTION` gives it.
    pub fn name(&self) -> &'static [u8] {
        self.algorithm.name()
    }

    /// The slow start threshold after a loss with `flight` bytes out:
    /// Reno halves what is in flight (RFC 5681 eq. 4); CUBIC takes β of
    /// the window and remembers the window it lost at (W_max), less if it
    /// lost again below the last one (fast convergence, RFC 9438 4.7).
    /// Never below two segments.
    fn reduce(&mut self, flight: u32) -> u32 {
        self.epoch = None;
        self.acked_ca = 0;
        let to = match self.algorithm {
            Algorithm::Reno => flight / 2,
            Algorithm::Cubic => {
                let cwnd = u64::from(self.cwnd);
                let part = |thousandths: u32| u32::try_from(cwnd.saturating_mul(u64::from(thousandths)) / 1000).unwrap_or(u32::MAX);
                self.w_max = if self.cwnd < self.w_max { part(FAST_CONVERGENCE) } else { self.cwnd };
                part(BETA)
            }
        };
        to.max(self.mss.saturating_mul(2))
    }

    /// New data was acknowledged: `acked` bytes, the ACK reaching `ack`
    /// at `now` (ms), with `flight` bytes outstanding before it and a
    /// smoothed round trip of `rtt_ms`. True when a partial ACK in
    /// recovery asks for the next hole to be resent.
    ///
    /// The window grows only while the sender uses it: with at least half
    /// of it in flight (RFC 7661's pipeACK rule; `tcp_is_cwnd_limited`).
    /// A sender held back by the application or by the peer's window
    /// would otherwise grow it without bound, and send all of it in one
    /// burst once it may.
    pub fn on_ack(&mut self, acked: u32, ack: SeqNum, flight: u32, now: u64, rtt_ms: u32) -> bool {
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
        if self.algorithm == Algorithm::Cubic {
            self.cubic_grow(acked, now, rtt_ms);
            return false;
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

    /// CUBIC's growth for `acked` bytes at `now` (RFC 9438 4.2-4.4): the
    /// window moves toward W_cubic(t + RTT), by (target - cwnd) / cwnd per
    /// byte acknowledged, the target at most 1.5 cwnd; where Reno would
    /// have grown faster (W_est), it follows Reno.
    fn cubic_grow(&mut self, acked: u32, now: u64, rtt_ms: u32) {
        let (cwnd, mss) = (u64::from(self.cwnd), u64::from(self.mss).max(1));
        let w_max = self.w_max;
        let e = self.epoch.get_or_insert_with(|| {
            let origin = w_max.max(self.cwnd);
            // K = cbrt((W_max - cwnd) / C) s with C = 0.4 segments/s³, in
            // ms: cbrt(bytes / MSS * 2.5e9).
            let gap = u64::from(origin.saturating_sub(self.cwnd));
            let k_ms = cbrt(gap.saturating_mul(2_500_000_000).checked_div(mss).unwrap_or(0));
            Epoch { start: now, k_ms, origin, w_est: self.cwnd, est_acked: 0 }
        });
        let t = now.saturating_sub(e.start).saturating_add(u64::from(rtt_ms));
        // C (t - K)³ segments, t in ms: d³ / 1e9 * 0.4 * MSS, d capped
        // (about 17 minutes) so that the cube fits.
        let d = t.abs_diff(e.k_ms).min(1 << 20);
        let cube = d.saturating_mul(d).saturating_mul(d) / 1_000_000;
        let delta = cube.saturating_mul(mss.saturating_mul(4)) / 10_000;
        let origin = u64::from(e.origin);
        let w_cubic = if t < e.k_ms { origin.saturating_sub(delta) } else { origin.saturating_add(delta) };
        // Reno-friendly: W_est grows by α segments per window acknowledged.
        e.est_acked = e.est_acked.saturating_add(u64::from(acked));
        let windows = e.est_acked.checked_div(cwnd).unwrap_or(0);
        if windows > 0 {
            e.est_acked = e.est_acked.saturating_sub(windows.saturating_mul(cwnd));
            let more = windows.saturating_mul(ALPHA).saturating_mul(mss) / 1000;
            e.w_est = u32::try_from(u64::from(e.w_est).saturating_add(more)).unwrap_or(u32::MAX);
        }
        let target = w_cubic.max(u64::from(e.w_est)).clamp(cwnd, cwnd.saturating_add(cwnd / 2));
        // (target - cwnd) / cwnd per byte acknowledged, the remainder kept
        // (in acked_ca) toward the next byte.
        let more = target.saturating_sub(cwnd).saturating_mul(u64::from(acked));
        let whole = more.checked_div(cwnd).unwrap_or(0);
        let rest = more.checked_rem(cwnd).unwrap_or(0);
        self.acked_ca = self.acked_ca.saturating_add(u32::try_from(rest).unwrap_or(u32::MAX));
        let mut grow = u32::try_from(whole).unwrap_or(u32::MAX);
        if self.acked_ca >= self.cwnd {
            self.acked_ca = self.acked_ca.saturating_sub(self.cwnd);
            grow = grow.saturating_add(1);
        }
        self.cwnd = self.cwnd.saturating_add(grow);
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
        self.enter_recovery(flight, snd_max);
        true
    }

    /// Fast recovery starts with `flight` bytes out, until `snd_max` is
    /// acknowledged (RFC 5681 3.2, RFC 6582).
    pub fn enter_recovery(&mut self, flight: u32, snd_max: SeqNum) {
        self.ssthresh = self.reduce(flight);
        self.cwnd = self.ssthresh.saturating_add(self.mss.saturating_mul(3));
        self.recover = Some(snd_max);
    }

    /// The retransmission timer expired with `flight` bytes outstanding;
    /// `again` if it had already expired for the same segment. The slow
    /// start threshold is taken on the first timeout of a series only (RFC
    /// 5681 3.1: held for a segment the timer sends again), and not in
    /// recovery, which took it on entry (`tcp_enter_loss`): a series of
    /// backoffs would otherwise bring it down to two segments.
    pub fn on_timeout(&mut self, flight: u32, again: bool) {
        if again || self.recover.is_some() {
            self.epoch = None;
            self.acked_ca = 0;
        } else {
            self.ssthresh = self.reduce(flight);
        }
        self.cwnd = self.mss;
        self.dupacks = 0;
        self.recover = None;
    }
}

/// The integer cube root of `x` (rounded down), by bits.
fn cbrt(x: u64) -> u64 {
    let mut r = 0u64;
    for shift in (0..=21).rev() {
        let c = r | (1 << shift);
        if c.checked_mul(c).and_then(|c2| c2.checked_mul(c)).is_some_and(|c3| c3 <= x) {
            r = c;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn slow_start_then_congestion_avoidance() {
        let mut r = Cc::new(MSS, Algorithm::Reno);
        assert_eq!(r.cwnd, 10 * MSS);
        r.on_ack(MSS, SeqNum(1), r.cwnd, 0, 0);
        assert_eq!(r.cwnd, 11 * MSS);
        r.ssthresh = r.cwnd;
        for _ in 0..10 {
            r.on_ack(MSS, SeqNum(1), r.cwnd, 0, 0);
        }
        assert_eq!(r.cwnd, 11 * MSS, "not yet a whole window");
        r.on_ack(MSS, SeqNum(1), r.cwnd, 0, 0);
        assert_eq!(r.cwnd, 12 * MSS);
    }

    #[test]
    fn a_stretch_ack_counts_every_segment_it_covers() {
        let mut r = Cc::new(MSS, Algorithm::Reno);
        // One ACK for a GSO train of 40 segments: slow start grows by 40.
        r.on_ack(40 * MSS, SeqNum(1), r.cwnd, 0, 0);
        assert_eq!(r.cwnd, 50 * MSS);
        // Up to ssthresh; the rest counts toward congestion avoidance.
        r.ssthresh = 60 * MSS;
        r.on_ack(20 * MSS, SeqNum(1), r.cwnd, 0, 0);
        assert_eq!(r.cwnd, 60 * MSS);
        // Two whole windows in one ACK: two segments more.
        r.on_ack(110 * MSS, SeqNum(1), r.cwnd, 0, 0);
        assert_eq!(r.cwnd, 62 * MSS);
    }

    #[test]
    fn three_dupacks_halve_and_enter_recovery() {
        let mut r = Cc::new(MSS, Algorithm::Reno);
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert!(r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert_eq!((r.ssthresh, r.cwnd), (5 * MSS, 8 * MSS));
        assert!(!r.on_dupack(10 * MSS, SeqNum(10_000)));
        assert_eq!(r.cwnd, 9 * MSS);
        // A partial ACK asks for the next hole.
        assert!(r.on_ack(2 * MSS, SeqNum(2_000), r.cwnd, 0, 0));
        assert_eq!(r.cwnd, 8 * MSS);
        // The ACK of everything ends recovery.
        assert!(!r.on_ack(8 * MSS, SeqNum(10_000), r.cwnd, 0, 0));
        assert_eq!((r.cwnd, r.recover), (5 * MSS, None));
    }

    #[test]
    fn the_window_grows_only_while_half_of_it_is_in_flight() {
        let mut r = Cc::new(MSS, Algorithm::Reno);
        // Application-limited: two segments out of ten.
        r.on_ack(2 * MSS, SeqNum(1), 2 * MSS, 0, 0);
        assert_eq!(r.cwnd, 10 * MSS);
        r.on_ack(5 * MSS, SeqNum(1), 5 * MSS, 0, 0);
        assert_eq!(r.cwnd, 15 * MSS, "half of it in flight: it grows");
        r.ssthresh = r.cwnd;
        r.on_ack(15 * MSS, SeqNum(1), 7 * MSS, 0, 0);
        assert_eq!(r.cwnd, 15 * MSS, "nor in congestion avoidance");
        r.on_ack(15 * MSS, SeqNum(1), 15 * MSS, 0, 0);
        assert_eq!(r.cwnd, 16 * MSS);
    }

    /// Acknowledges whole windows, one per `rtt` ms, from `now` until
    /// `until`; the time reached.
    fn windows(r: &mut Cc, mut now: u64, until: u64, rtt: u32) -> u64 {
        while now < until {
            let w = r.cwnd;
            r.on_ack(w, SeqNum(1), w, now, rtt);
            now += u64::from(rtt);
        }
        now
    }

    #[test]
    fn cubic_reduces_to_beta_then_grows_back_by_k_and_beyond() {
        let mut r = Cc::new(MSS, Algorithm::Cubic);
        r.ssthresh = 100 * MSS;
        r.cwnd = 100 * MSS;
        for _ in 0..3 {
            r.on_dupack(100 * MSS, SeqNum(100_000));
        }
        assert_eq!(r.ssthresh, 70 * MSS, "β = 0.7 of the window");
        assert_eq!(r.cwnd, 73 * MSS);
        assert!(!r.on_ack(100 * MSS, SeqNum(100_000), 100 * MSS, 0, 100));
        assert_eq!(r.cwnd, 70 * MSS, "recovery over");
        // Round trips of 100 ms: long enough that Reno would grow slower
        // (below, the Reno-friendly estimate leads). K = cbrt((100 - 70) /
        // 0.4) s = 4.217 s. Halfway there the window has made most of the
        // way back (concave)...
        let now = windows(&mut r, 0, 2108, 100);
        assert!((90 * MSS..99 * MSS).contains(&r.cwnd), "{}", r.cwnd / MSS);
        // ...at K it is back at W_max (within a few segments)...
        let now = windows(&mut r, now, 4217, 100);
        assert!((98 * MSS..=104 * MSS).contains(&r.cwnd), "{}", r.cwnd / MSS);
        // ...and beyond it grows faster and faster (convex): C (2K - K)³
        // = 30 segments more at 2K.
        let at_k = r.cwnd;
        windows(&mut r, now, 8434, 100);
        assert!((125 * MSS..140 * MSS).contains(&r.cwnd), "{}", r.cwnd / MSS);
        assert!(r.cwnd - at_k > 20 * MSS);
    }

    #[test]
    fn cubic_gives_up_room_when_it_loses_below_its_last_maximum() {
        let mut r = Cc::new(MSS, Algorithm::Cubic);
        r.cwnd = 100 * MSS;
        r.on_timeout(100 * MSS, false);
        assert_eq!((r.cwnd, r.ssthresh, r.w_max), (MSS, 70 * MSS, 100 * MSS));
        // Lost again at 80 segments, below the last maximum: W_max is
        // taken as 80 (1 + β) / 2 = 68 (fast convergence).
        r.cwnd = 80 * MSS;
        r.on_timeout(80 * MSS, false);
        assert_eq!((r.ssthresh, r.w_max), (56 * MSS, 68 * MSS));
    }

    #[test]
    fn cubic_grows_at_least_as_reno_would() {
        // Round trips of 1 ms: in 100 of them the cubic curve from 70 back
        // toward 100 segments (K = 4.2 s) climbs about 2 segments, while
        // Reno's estimate (RFC 9438 4.3) gains 0.529 per round trip.
        let mut r = Cc::new(MSS, Algorithm::Cubic);
        r.cwnd = 100 * MSS;
        r.on_timeout(100 * MSS, false);
        r.cwnd = r.ssthresh;
        windows(&mut r, 0, 100, 1);
        assert!((120 * MSS..125 * MSS).contains(&r.cwnd), "{}", r.cwnd / MSS);
    }

    #[test]
    fn the_integer_cube_root() {
        assert_eq!([cbrt(0), cbrt(1), cbrt(7), cbrt(8), cbrt(26), cbrt(27)], [0, 1, 1, 2, 2, 3]);
        assert_eq!(cbrt(75_000_000_000), 4217);
        assert_eq!(cbrt(u64::MAX), 2_642_245);
    }

    #[test]
    fn a_timeout_falls_back_to_one_segment() {
        let mut r = Cc::new(MSS, Algorithm::Reno);
        r.on_timeout(10 * MSS, false);
        assert_eq!((r.cwnd, r.ssthresh), (MSS, 5 * MSS));
        r.on_timeout(MSS, false);
        assert_eq!(r.ssthresh, 2 * MSS, "never below two segments");
        // The timer again for the same segment: the threshold holds.
        r.ssthresh = 8 * MSS;
        r.on_timeout(MSS, true);
        assert_eq!((r.cwnd, r.ssthresh), (MSS, 8 * MSS));
        // As it does for a timeout in recovery, which took it on entry.
        let mut r = Cc::new(MSS, Algorithm::Cubic);
        r.cwnd = 20 * MSS;
        for _ in 0..3 {
            r.on_dupack(20 * MSS, SeqNum(20_000));
        }
        assert_eq!(r.ssthresh, 14 * MSS);
        r.on_timeout(20 * MSS, false);
        assert_eq!((r.cwnd, r.ssthresh, r.recover), (MSS, 14 * MSS, None));
    }
}
