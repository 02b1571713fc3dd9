// SPDX-License-Identifier: GPL-2.0

//! SYN cookies (`net/ipv4/syncookies.c`): when a listener's SYN queue is
//! full, the SYN-ACK's sequence number carries what the request would have
//! kept, and the final ACK rebuilds the connection from it.
//!
//! The cookie has Linux's layout:
//!
//! ```text
//! ISS = H0(tuple) + IRS + (minute << 24) + ((H1(tuple, minute) + mss_index) mod 2^24)
//! ```
//!
//! so it is valid for [`MAX_AGE_MINUTES`] and names one of [`MSS_TABLE`].
//! With timestamps, the low [`TS_BITS`] bits of our TSval carry the peer's
//! window scale and SACK-permitted (`cookie_init_timestamp`), and the echo
//! in the final ACK gives them back (`cookie_timestamp_decode`). Without
//! timestamps there is nowhere to keep them, so a cookie SYN-ACK offers
//! neither.
//!
//! The keyed hash is an input ([`CookieHash`]): the module uses SipHash
//! with per-namespace random keys.

use super::conn::{initial_window, Config, Conn, Endpoint, DEFAULT_MSS};
use super::options::{Options, TCP_MAX_WSCALE};
use super::request::{Request, RequestOutcome};
use super::segment::{Flags, Segment};
use super::seq::SeqNum;

/// The peer MSS values a cookie of an IPv4 connection can name (`msstab`).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];
/// The same over IPv6 (`msstab` of `net/ipv6/syncookies.c`: the usual
/// MTUs less IPv6's 60 bytes of headers).
pub const MSS_TABLE_V6: [u16; 4] = [1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60];

/// The table of a connection with the peer `remote`.
fn table(remote: Endpoint) -> &'static [u16; 4] {
    if remote.addr.is_v4() { &MSS_TABLE } else { &MSS_TABLE_V6 }
}
/// Bits of the cookie below the minute counter (`COOKIEBITS`).
pub const COOKIE_BITS: u32 = 24;
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// How long a cookie stays valid, in minutes (`MAX_SYNCOOKIE_AGE`).
pub const MAX_AGE_MINUTES: u32 = 2;
/// Low TSval bits that carry the options (`TSBITS`).
pub const TS_BITS: u32 = 6;
const TS_WSCALE_MASK: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;

/// The keyed hash behind the cookies: a 32-bit value of the four-tuple and
/// `count` under the secret key number `key` (0 or 1).
pub trait CookieHash {
    /// The hash.
    fn hash(&self, local: Endpoint, remote: Endpoint, count: u32, key: usize) -> u32;
}

/// The index in `table` of the largest value not above `mss` (the
/// smallest entry when all are above).
fn mss_index(table: &[u16; 4], mss: u16) -> u32 {
    let mut i = 0;
    for (n, &m) in (0u32..).zip(table.iter()) {
        if mss >= m {
            i = n;
        }
    }
    i
}

/// The cookie for a SYN from `remote` with sequence number `irs` whose MSS
/// maps to `mss_index`, at `minute` (`secure_tcp_syn_cookie`).
pub fn make(
    h: &impl CookieHash,
    local: Endpoint,
    remote: Endpoint,
    irs: SeqNum,
    mss_index: u32,
    minute: u32,
) -> SeqNum {
    let data = h.hash(local, remote, minute, 1).wrapping_add(mss_index) & COOKIE_MASK;
    SeqNum(
        h.hash(local, remote, 0, 0)
            .wrapping_add(irs.0)
            .wrapping_add(minute << COOKIE_BITS)
            .wrapping_add(data),
    )
}

/// The MSS a cookie names, if it is one we made for this tuple and `irs`
/// within [`MAX_AGE_MINUTES`] of `minute` (`check_tcp_syn_cookie`).
pub fn check(
    h: &impl CookieHash,
    local: Endpoint,
    remote: Endpoint,
    iss: SeqNum,
    irs: SeqNum,
    minute: u32,
) -> Option<u16> {
    let c = iss.0.wrapping_sub(h.hash(local, remote, 0, 0).wrapping_add(irs.0));
    // `c` is now (count << 24) + (H1 + index) mod 2^24, with a carry-free
    // sum because the second term is below 2^24.
    let diff = minute.wrapping_sub(c >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
    if diff >= MAX_AGE_MINUTES {
        return None;
    }
    let count = minute.wrapping_sub(diff);
    let index = c.wrapping_sub(h.hash(local, remote, count, 1)) & COOKIE_MASK;
    table(remote).get(usize::try_from(index).ok()?).copied()
}

/// Our TSval's clock part with the options in its low bits, never ahead of
/// `now_ts` (`cookie_init_timestamp`).
fn encode_ts(now_ts: u32, wscale: Option<u8>, sack: bool) -> u32 {
    let mut options = wscale.map_or(TS_WSCALE_MASK, |w| u32::from(w.min(TCP_MAX_WSCALE)));
    if sack {
        options |= TS_SACK;
    }
    let ts = (now_ts & !((1 << TS_BITS) - 1)) | options;
    if ts > now_ts {
        ts.wrapping_sub(1 << TS_BITS)
    } else {
        ts
    }
}

/// Cookies of one four-tuple at one moment: the keyed hash, the clock in
/// minutes, and the tuple's timestamp offset.
pub struct Cookies<'h, H: CookieHash> {
    /// The keyed hash.
    pub hash: &'h H,
    /// Minutes of a monotonic clock (`tcp_cookie_time`).
    pub minute: u32,
    /// Added to the clock for our TSval, as for any connection of the tuple.
    pub ts_offset: u32,
}

impl<H: CookieHash> Cookies<'_, H> {
    /// The SYN-ACK that answers `syn` with a cookie instead of a request
    /// (`tcp_conn_request` with `want_cookie`). Nothing is kept: the caller
    /// sends the segment and forgets it.
    pub fn synack(&self, cfg: Config, local: Endpoint, remote: Endpoint, syn: &Segment, now: u64) -> Segment {
        let (h, minute, ts_offset) = (self.hash, self.minute, self.ts_offset);
        let peer_mss = syn.options.mss.filter(|&m| m > 0).unwrap_or(DEFAULT_MSS);
        let index = mss_index(table(remote), peer_mss);
        let iss = make(h, local, remote, syn.seq, index, minute);
        // Without timestamps, the cookie cannot carry window scale or SACK.
        let mut syn = *syn;
        if syn.options.timestamp.is_none() {
            syn.options = Options { mss: syn.options.mss, ..Options::default() };
        }
        let (req, mut seg) = Request::new(cfg, local, remote, &syn, iss, ts_offset, now);
        if let Some((_, ecr)) = seg.options.timestamp {
            let wscale = req.syn_options.wscale.filter(|_| cfg.wscale.is_some());
            let val = encode_ts(now as u32, wscale, req.neg.sack).wrapping_add(ts_offset);
            seg.options.timestamp = Some((val, ecr));
        }
        seg
    }

    /// The connection a final ACK rebuilds from its cookie (`cookie_v4_check`),
    /// or `None` when the segment is no valid cookie ACK for this tuple.
    pub fn accept(&self, cfg: Config, local: Endpoint, remote: Endpoint, ack: &Segment, now: u64) -> Option<Conn> {
        let (h, minute, ts_offset) = (self.hash, self.minute, self.ts_offset);
        let f = ack.flags;
        if !f.contains(Flags::ACK) || f.intersects(Flags::SYN | Flags::RST) {
            return None;
        }
        let iss = ack.ack.sub(1);
        let irs = ack.seq.sub(1);
        let mss = check(h, local, remote, iss, irs, minute)?;
        let mut options = Options { mss: Some(mss), ..Options::default() };
        if let Some((val, ecr)) = ack.options.timestamp {
            if !cfg.timestamps {
                return None;
            }
            // An echo of 0 carries no options (cookie_v4_check subtracts
            // the offset only from a nonzero echo): no SACK, a window
            // scale of 0.
            let bits = if ecr == 0 { 0 } else { ecr.wrapping_sub(ts_offset) };
            options.timestamp = Some((val, 0));
            options.sack_permitted = bits & TS_SACK != 0;
            if options.sack_permitted && !cfg.sack {
                return None;
            }
            let w = bits & TS_WSCALE_MASK;
            if w != TS_WSCALE_MASK {
                cfg.wscale?;
                options.wscale = u8::try_from(w).ok();
            }
        }
        let syn = Segment {
            src_port: remote.port,
            dst_port: local.port,
            seq: irs,
            flags: Flags::SYN,
            window: ack.window,
            options,
            ..Segment::default()
        };
        // The window as `cookie_v4_check` chooses it again: the space
        // rounded down to the MSS the cookie carried, whole.
        let mut cfg = cfg;
        if cfg.rcv_space > 0 {
            cfg.rcv_wnd = initial_window(cfg.rcv_space, u32::from(mss), 0, None).0;
        }
        let (mut req, _) = Request::new(cfg, local, remote, &syn, iss, ts_offset, now);
        // No SYN-ACK of ours was timed: a sample comes from the echoed
        // timestamp only.
        req.synack_at = None;
        req.snt_tsval = None;
        match req.on_segment(ack, 0, now) {
            RequestOutcome::Established(conn) => Some(conn),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use crate::conn::tests::{CLIENT, SERVER};
    use crate::state::State;
    use proptest::prelude::*;

    /// A stand-in for SipHash: any well-mixed keyed function will do.
    struct TestHash(u64);

    impl CookieHash for TestHash {
        fn hash(&self, local: Endpoint, remote: Endpoint, count: u32, key: usize) -> u32 {
            let mut x = self.0 ^ (key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let [l0, l1, l2, l3] = local.addr.words();
            let [r0, r1, r2, r3] = remote.addr.words();
            for v in [l0, l1, l2, l3, r0, r1, r2, r3, u32::from(local.port) << 16 | u32::from(remote.port), count] {
                x = (x ^ u64::from(v)).wrapping_mul(0xff51_afd7_ed55_8ccd);
                x ^= x >> 33;
            }
            x as u32
        }
    }

    const H: TestHash = TestHash(0x0123_4567_89ab_cdef);

    fn jar(minute: u32) -> Cookies<'static, TestHash> {
        Cookies { hash: &H, minute, ts_offset: TS_OFF }
    }
    const MINUTE: u32 = 29_000_000;
    const NOW: u64 = 1_740_000_123;
    const TS_OFF: u32 = 0x5555_0000;

    fn syn(options: Options) -> Segment {
        Segment {
            src_port: CLIENT.port,
            dst_port: SERVER.port,
            seq: SeqNum(0xffff_fffe),
            flags: Flags::SYN,
            window: 64_240,
            options,
            ..Segment::default()
        }
    }

    fn full_options() -> Options {
        Options {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamp: Some((4242, 0)),
            ..Options::default()
        }
    }

    /// The peer's ACK of `synack`, echoing its TSval.
    fn final_ack(synack: &Segment) -> Segment {
        Segment {
            src_port: CLIENT.port,
            dst_port: SERVER.port,
            seq: synack.ack,
            ack: synack.seq.add(1),
            flags: Flags::ACK,
            window: 502,
            options: Options {
                timestamp: synack.options.timestamp.map(|(val, _)| (4243, val)),
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    #[test]
    fn mss_index_takes_the_largest_entry_not_above() {
        assert_eq!(mss_index(&MSS_TABLE, 0), 0);
        assert_eq!(mss_index(&MSS_TABLE, 536), 0);
        assert_eq!(mss_index(&MSS_TABLE, 1299), 0);
        assert_eq!(mss_index(&MSS_TABLE, 1300), 1);
        assert_eq!(mss_index(&MSS_TABLE, 1460), 3);
        assert_eq!(mss_index(&MSS_TABLE, 9000), 3);
    }

    #[test]
    fn ipv6_cookies_name_ipv6_mss_values() {
        let v6 = |last, port| Endpoint { addr: Addr([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]), port };
        let (server, client) = (v6(1, 80), v6(2, 40000));
        for (mss, want) in [(1300u16, 1220u16), (1440, 1440), (1460, 1440), (9000, 8940), (536, 1220)] {
            let i = mss_index(table(client), mss);
            let c = make(&H, server, client, SeqNum(5), i, MINUTE);
            assert_eq!(check(&H, server, client, c, SeqNum(5), MINUTE), Some(want), "mss {mss}");
        }
    }

    #[test]
    fn a_cookie_checks_for_two_minutes_only() {
        let c = make(&H, SERVER, CLIENT, SeqNum(77), 2, MINUTE);
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(77), MINUTE), Some(1440));
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(77), MINUTE + 1), Some(1440));
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(77), MINUTE + 2), None);
        // A cookie from the future is no cookie.
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(77), MINUTE - 1), None);
    }

    #[test]
    fn a_cookie_is_bound_to_its_tuple_and_sequence() {
        let c = make(&H, SERVER, CLIENT, SeqNum(77), 3, MINUTE);
        let other = Endpoint { port: CLIENT.port + 1, ..CLIENT };
        assert_eq!(check(&H, SERVER, other, c, SeqNum(77), MINUTE), None);
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(77 + 1000), MINUTE), None);
        assert_eq!(check(&H, SERVER, CLIENT, c.add(1), SeqNum(77), MINUTE), None);
        // As in Linux, the sequence number is added, not hashed: one a
        // little off shifts the MSS index, and only the index check (and
        // the peer's need to know the cookie) stands in the way.
        assert_eq!(check(&H, SERVER, CLIENT, c, SeqNum(78), MINUTE), Some(1440));
        assert_eq!(check(&TestHash(1), SERVER, CLIENT, c, SeqNum(77), MINUTE), None);
    }

    #[test]
    fn the_timestamp_keeps_the_options_and_never_runs_ahead() {
        let ts = encode_ts(1_000_000, Some(7), true);
        assert!(ts <= 1_000_000 && 1_000_000 - ts < 64);
        assert_eq!(ts & 0x3f, 7 | TS_SACK);
        assert_eq!(encode_ts(1_000_000, None, false) & 0x3f, 0xf);
        // A clock below 64 wraps rather than running ahead.
        assert_eq!(encode_ts(1, Some(2), false), 2u32.wrapping_sub(64));
        assert_eq!(encode_ts(3, Some(2), false), 2);
    }

    #[test]
    fn synack_carries_the_cookie_and_the_options_in_the_timestamp() {
        let s = jar(MINUTE).synack(Config::default(), SERVER, CLIENT, &syn(full_options()), NOW);
        assert_eq!(s.flags, Flags::SYN | Flags::ACK);
        assert_eq!(s.ack, SeqNum(0xffff_ffff));
        assert_eq!(check(&H, SERVER, CLIENT, s.seq, SeqNum(0xffff_fffe), MINUTE), Some(1460));
        assert_eq!(s.options.mss, Some(1460));
        assert_eq!(s.options.wscale, Some(7));
        assert!(s.options.sack_permitted);
        let (val, ecr) = s.options.timestamp.unwrap();
        assert_eq!(ecr, 4242);
        assert_eq!(val.wrapping_sub(TS_OFF) & 0x3f, 7 | TS_SACK);
    }

    #[test]
    fn synack_without_timestamps_offers_only_the_mss() {
        let o = Options { timestamp: None, ..full_options() };
        let s = jar(MINUTE).synack(Config::default(), SERVER, CLIENT, &syn(o), NOW);
        assert_eq!(s.options, Options { mss: Some(1460), ..Options::default() });
    }

    #[test]
    fn the_final_ack_rebuilds_the_connection() {
        let cfg = Config::default();
        let o = Options { mss: Some(1400), ..full_options() };
        let s = jar(MINUTE).synack(cfg, SERVER, CLIENT, &syn(o), NOW);
        let ack = final_ack(&s);
        let c = jar(MINUTE + 1).accept(cfg, SERVER, CLIENT, &ack, NOW + 10).unwrap();
        assert_eq!(c.state, State::Established);
        assert_eq!((c.iss, c.irs), (s.seq, SeqNum(0xffff_fffe)));
        assert_eq!(c.snd_una, s.seq.add(1));
        assert_eq!(c.rcv_nxt, SeqNum(0xffff_ffff));
        // 1400 is not in the table: the cookie rounds down to 1300.
        assert_eq!(c.neg.peer_mss, 1300);
        assert_eq!((c.neg.snd_wscale, c.neg.rcv_wscale), (7, 7));
        assert!(c.neg.sack && c.neg.timestamps);
        assert_eq!(c.ts_recent, 4243);
        assert_eq!(c.snd_wnd, 502 << 7);
    }

    #[test]
    fn an_ack_echoing_no_timestamp_scales_our_window_as_offered() {
        // cookie_timestamp_decode of a zero echo: window scaling on with
        // the peer's shift 0, ours as the SYN-ACK offered it; no SACK.
        let s = jar(MINUTE).synack(Config::default(), SERVER, CLIENT, &syn(full_options()), NOW);
        let mut ack = final_ack(&s);
        ack.options.timestamp = Some((4243, 0));
        for offset in 0..16 {
            let c = Cookies { ts_offset: offset, ..jar(MINUTE) }.accept(Config::default(), SERVER, CLIENT, &ack, NOW);
            let c = c.unwrap();
            assert_eq!((c.neg.snd_wscale, c.neg.rcv_wscale, c.neg.sack), (0, 7, false), "offset {offset}");
        }
    }

    #[test]
    fn a_connection_from_a_cookie_rounds_its_window_to_the_cookies_mss() {
        // cookie_v4_check: tcp_select_initial_window again, with the MSS
        // the cookie carried (1300 here), not less the timestamp option.
        let cfg = Config { rcv_space: 65_536, rcv_wnd: 65_160, ..Config::default() };
        let o = Options { mss: Some(1400), ..full_options() };
        let s = jar(MINUTE).synack(cfg, SERVER, CLIENT, &syn(o), NOW);
        assert_eq!(s.window, 65_160, "the SYN-ACK offered the listener's window");
        let c = jar(MINUTE).accept(cfg, SERVER, CLIENT, &final_ack(&s), NOW + 10).unwrap();
        assert_eq!(c.rcv_wnd, 65_536 / 1300 * 1300);
        // Its round trip is not timed from a SYN-ACK no request remembers
        // (10 ms ago), only from the echoed timestamp, whose low bits
        // carry the options.
        assert!(c.rtt.srtt_us().is_some_and(|us| us != 10_000));
    }

    #[test]
    fn without_timestamps_the_connection_has_no_scaling_nor_sack() {
        let cfg = Config::default();
        let o = Options { timestamp: None, ..full_options() };
        let s = jar(MINUTE).synack(cfg, SERVER, CLIENT, &syn(o), NOW);
        let c = jar(MINUTE).accept(cfg, SERVER, CLIENT, &final_ack(&s), NOW).unwrap();
        assert_eq!((c.neg.snd_wscale, c.neg.rcv_wscale, c.neg.sack, c.neg.timestamps), (0, 0, false, false));
        assert_eq!(c.neg.peer_mss, 1460);
        assert_eq!(c.snd_wnd, 502);
    }

    #[test]
    fn a_peer_without_window_scaling_keeps_none() {
        let cfg = Config::default();
        let o = Options { wscale: None, sack_permitted: false, ..full_options() };
        let s = jar(MINUTE).synack(cfg, SERVER, CLIENT, &syn(o), NOW);
        let c = jar(MINUTE).accept(cfg, SERVER, CLIENT, &final_ack(&s), NOW).unwrap();
        assert_eq!((c.neg.snd_wscale, c.neg.rcv_wscale, c.neg.sack), (0, 0, false));
        assert!(c.neg.timestamps);
    }

    #[test]
    fn bad_acks_rebuild_nothing() {
        let cfg = Config::default();
        let s = jar(MINUTE).synack(cfg, SERVER, CLIENT, &syn(full_options()), NOW);
        let good = final_ack(&s);
        let accept_at = |a: &Segment, minute| jar(minute).accept(cfg, SERVER, CLIENT, a, NOW);
        assert!(accept_at(&good, MINUTE).is_some());
        assert!(accept_at(&good, MINUTE + 2).is_none(), "stale");
        assert!(accept_at(&Segment { ack: good.ack.add(1), ..good }, MINUTE).is_none(), "wrong ack");
        assert!(accept_at(&Segment { seq: good.seq.add(1000), ..good }, MINUTE).is_none(), "wrong seq");
        assert!(accept_at(&Segment { flags: Flags::ACK | Flags::RST, ..good }, MINUTE).is_none(), "RST");
        assert!(accept_at(&Segment { flags: Flags::ACK | Flags::SYN, ..good }, MINUTE).is_none(), "SYN");
        assert!(accept_at(&Segment { flags: Flags::PSH, ..good }, MINUTE).is_none(), "no ACK");
        // Options we do not offer cannot come back in the echo.
        let no_sack = Config { sack: false, ..cfg };
        assert!(jar(MINUTE).accept(no_sack, SERVER, CLIENT, &good, NOW).is_none());
        let no_ts = Config { timestamps: false, ..cfg };
        assert!(jar(MINUTE).accept(no_ts, SERVER, CLIENT, &good, NOW).is_none());
    }

    proptest! {
        /// Any cookie made checks within its lifetime and names the MSS
        /// the SYN's rounds down to.
        #[test]
        fn cookies_round_trip(irs in any::<u32>(), mss in any::<u16>(), minute in any::<u32>(), key in any::<u64>()) {
            let h = TestHash(key);
            let i = mss_index(&MSS_TABLE, mss);
            let c = make(&h, SERVER, CLIENT, SeqNum(irs), i, minute);
            let want = MSS_TABLE[i as usize];
            prop_assert_eq!(check(&h, SERVER, CLIENT, c, SeqNum(irs), minute), Some(want));
            prop_assert_eq!(check(&h, SERVER, CLIENT, c, SeqNum(irs), minute.wrapping_add(1)), Some(want));
        }

        /// No ACK makes the check panic, and what it accepts is established.
        #[test]
        fn accept_never_panics(
            seq in any::<u32>(),
            ack in any::<u32>(),
            ecr in any::<u32>(),
            ts in any::<bool>(),
            minute in any::<u32>(),
        ) {
            let a = Segment {
                src_port: CLIENT.port,
                dst_port: SERVER.port,
                seq: SeqNum(seq),
                ack: SeqNum(ack),
                flags: Flags::ACK,
                options: Options { timestamp: ts.then_some((1, ecr)), ..Options::default() },
                ..Segment::default()
            };
            if let Some(c) = jar(minute).accept(Config::default(), SERVER, CLIENT, &a, NOW) {
                prop_assert_eq!(c.state, State::Established);
            }
        }
    }
}
