// SPDX-License-Identifier: GPL-2.0

//! The retransmission timeout (RFC 6298), as Linux bounds it: the smoothed
//! round-trip time and its variation from samples, RTO = SRTT + max(G,
//! 4 * RTTVAR) with Linux's minimum (`TCP_RTO_MIN`, 200 ms) in the place of
//! the clock granularity G, clamped to [`RTO_MIN_US`, `RTO_MAX_US`], and
//! doubled by each backoff (RFC 6298 5.5).
//!
//! Karn's rule (RFC 6298 3) is the caller's: it takes no sample from a
//! retransmitted segment, unless a timestamp echo (RFC 7323 4) makes the
//! sample unambiguous. Times are microseconds.

/// The initial timeout, before any sample (RFC 6298 2.1).
pub const RTO_INITIAL_US: u32 = 1_000_000;
/// The timeout of a connection whose handshake gave no sample (RFC 6298
/// 5.7, `TCP_TIMEOUT_FALLBACK`).
pub const RTO_FALLBACK_US: u32 = 3_000_000;
/// Linux's smallest timeout (`TCP_RTO_MIN`).
pub const RTO_MIN_US: u32 = 200_000;
/// The largest timeout (`TCP_RTO_MAX`).
pub const RTO_MAX_US: u32 = 120_000_000;

/// The bounds of one connection's timeout (`icsk_rto_min` and
/// `icsk_rto_max`: `TCP_RTO_MIN_US`, `TCP_RTO_MAX_MS` and their sysctls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoBounds {
    /// Takes the place of the clock granularity G: the least the
    /// variation term adds to SRTT.
    pub min_us: u32,
    /// The most the timeout may be, backed off or not.
    pub max_us: u32,
}

impl Default for RtoBounds {
    fn default() -> RtoBounds {
        RtoBounds { min_us: RTO_MIN_US, max_us: RTO_MAX_US }
    }
}

/// The round-trip estimator of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rtt {
    /// What bounds the timeout.
    pub bounds: RtoBounds,
    /// Smoothed round-trip time; 0 before the first sample.
    srtt_us: u32,
    /// Round-trip time variation.
    rttvar_us: u32,
    /// The least sample (`tcp_min_rtt`; 0 before the first). Linux keeps
    /// the least of the last five minutes (`tcp_min_rtt_wlen`); this is
    /// the least of the connection's life.
    min_us: u32,
    /// Backoffs since the last sample or acknowledgment (RFC 6298 5.5).
    backoff: u8,
    /// The handshake ended without a sample: until one comes the timeout
    /// is [`RTO_FALLBACK_US`] (`tcp_init_metrics`).
    fallback: bool,
}

impl Rtt {
    /// Takes a round-trip sample (RFC 6298 2.2 and 2.3), and ends any
    /// backoff (a new acknowledgment came).
    pub fn sample(&mut self, r_us: u32) {
        // A zero sample (below the clock's resolution) still counts.
        let r = r_us.max(1);
        self.min_us = if self.min_us == 0 { r } else { self.min_us.min(r) };
        if self.srtt_us == 0 {
            self.srtt_us = r;
            self.rttvar_us = r / 2;
        } else {
            let err = self.srtt_us.abs_diff(r);
            // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'.
            self.rttvar_us = self.rttvar_us.saturating_sub(self.rttvar_us / 4).saturating_add(err / 4);
            self.srtt_us = self.srtt_us.saturating_sub(self.srtt_us / 8).saturating_add(r / 8).max(1);
        }
        self.backoff = 0;
    }

    /// The data path starts: with no sample from the handshake (its SYN or
    /// SYN-ACK went again, or its timestamp was not echoed), the timeout
    /// is 3 s until the first sample (RFC 6298 5.7).
    pub fn handshake_done(&mut self) {
        self.fallback = self.srtt_us == 0;
    }

    /// New data was acknowledged: the backoff ends, sample or not.
    pub fn acked(&mut self) {
        self.backoff = 0;
    }

    /// The smoothed round-trip time, if there was a sample.
    pub fn srtt_us(&self) -> Option<u32> {
        (self.srtt_us != 0).then_some(self.srtt_us)
    }

    /// The least round-trip time sampled, if there was a sample.
    pub fn min_us(&self) -> Option<u32> {
        (self.min_us != 0).then_some(self.min_us)
    }

    /// The round-trip time variation.
    pub fn rttvar_us(&self) -> u32 {
        self.rttvar_us
    }

    /// The timeout before backoff.
    pub fn base_rto_us(&self) -> u32 {
        if self.srtt_us == 0 {
            return if self.fallback { RTO_FALLBACK_US } else { RTO_INITIAL_US };
        }
        // As `tcp_set_rto`: the variation term is at least the minimum,
        // and `tcp_bound_rto` caps the sum.
        let var = self.rttvar_us.saturating_mul(4).max(self.bounds.min_us);
        self.srtt_us.saturating_add(var).min(self.bounds.max_us)
    }

    /// The timeout now: the base doubled for each backoff, at most the
    /// bounds' maximum.
    pub fn rto_us(&self) -> u32 {
        let max = self.bounds.max_us;
        let rto = u64::from(self.base_rto_us()) << self.backoff.min(32);
        u32::try_from(rto.min(u64::from(max))).unwrap_or(max)
    }

    /// The timer expired: back off (RFC 6298 5.5).
    pub fn back_off(&mut self) {
        if self.rto_us() < self.bounds.max_us {
            self.backoff = self.backoff.saturating_add(1);
        }
    }

    /// Backoffs in a row (`icsk_backoff`).
    pub fn backoffs(&self) -> u8 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bounds_set_the_least_variation_and_the_most_timeout() {
        let mut r = Rtt { bounds: RtoBounds { min_us: 8_000, max_us: 1_000_000 }, ..Rtt::default() };
        r.sample(1_000);
        // 1 ms + max(4 * 0.5 ms, 8 ms).
        assert_eq!(r.rto_us(), 9_000);
        for _ in 0..10 {
            r.back_off();
        }
        assert_eq!(r.rto_us(), 1_000_000);
    }

    #[test]
    fn three_seconds_after_a_handshake_without_a_sample() {
        let mut r = Rtt::default();
        r.handshake_done();
        assert_eq!(r.rto_us(), RTO_FALLBACK_US);
        r.sample(10_000);
        assert_eq!(r.rto_us(), 10_000 + RTO_MIN_US);
    }

    #[test]
    fn one_second_before_any_sample() {
        let r = Rtt::default();
        assert_eq!((r.srtt_us(), r.rto_us()), (None, RTO_INITIAL_US));
    }

    #[test]
    fn the_first_sample_sets_srtt_and_half_of_it_as_variation() {
        let mut r = Rtt::default();
        r.sample(100_000);
        assert_eq!((r.srtt_us(), r.rttvar_us()), (Some(100_000), 50_000));
        // 100 ms + 4 * 50 ms.
        assert_eq!(r.rto_us(), 300_000);
    }

    #[test]
    fn later_samples_are_smoothed_by_an_eighth_and_a_quarter() {
        let mut r = Rtt::default();
        r.sample(100_000);
        r.sample(180_000);
        // RTTVAR = 3/4 * 50 + 1/4 * 80 = 57.5 ms; SRTT = 7/8 * 100 + 1/8 * 180 = 110 ms.
        assert_eq!(r.rttvar_us(), 57_500);
        assert_eq!(r.srtt_us(), Some(110_000));
        assert_eq!(r.rto_us(), 110_000 + 4 * 57_500);
    }

    #[test]
    fn a_fast_path_gets_linux_minimum() {
        let mut r = Rtt::default();
        for _ in 0..50 {
            r.sample(50);
        }
        assert_eq!(r.rto_us(), 50 + RTO_MIN_US);
        let mut r = Rtt::default();
        r.sample(0);
        assert_eq!(r.srtt_us(), Some(1));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_a_sample_ends_it() {
        let mut r = Rtt::default();
        r.back_off();
        r.back_off();
        assert_eq!(r.rto_us(), 4 * RTO_INITIAL_US);
        for _ in 0..40 {
            r.back_off();
        }
        assert_eq!(r.rto_us(), RTO_MAX_US);
        assert!(r.backoffs() < 10, "backoff stops growing at the maximum");
        r.sample(100_000);
        assert_eq!((r.backoffs(), r.rto_us()), (0, 300_000));
    }

    proptest! {
        /// Whatever the samples, the timeout stays within Linux's bounds
        /// and nothing overflows.
        #[test]
        fn rto_stays_in_bounds(samples in proptest::collection::vec(any::<u32>(), 1..40), backoffs in 0u8..80) {
            let mut r = Rtt::default();
            for s in samples {
                r.sample(s);
                prop_assert!((RTO_MIN_US..=RTO_MAX_US).contains(&r.rto_us()));
            }
            for _ in 0..backoffs {
                r.back_off();
            }
            prop_assert!((RTO_MIN_US..=RTO_MAX_US).contains(&r.rto_us()));
        }
    }
}
