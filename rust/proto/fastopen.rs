// SPDX-License-Identifier: GPL-2.0

//! TCP Fast Open (RFC 7413), as `net/ipv4/tcp_fastopen.c` does it.
//!
//! The server: a SYN that carries a valid cookie (or data, where the
//! sysctl asks for no cookie) makes the connection at once, in
//! SYN-RECEIVED, with the SYN's data readable and acknowledged by the
//! SYN-ACK; the child may send before the handshake ends, and the SYN-ACK
//! is sent again until the peer acknowledges it. A SYN that asks for a
//! cookie, or carries a wrong one, makes an ordinary request whose SYN-ACK
//! carries the right one. The cookies themselves (SipHash of the two
//! addresses under the namespace's or the listener's key) are the
//! caller's: [`server`] compares them.
//!
//! The client: a SYN with the cookie cached for the peer carries the first
//! bytes written; without one it asks for a cookie. The SYN-ACK's cookie
//! is cached, and bytes the SYN-ACK does not acknowledge go again as the
//! first data.

use super::conn::{Conn, ConnError, Outcome, RTO_INITIAL_MS, RTO_MAX_MS};
use super::options::{FastOpen, Options};
use super::request::Request;
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// `net.ipv4.tcp_fastopen` bits (`TFO_CLIENT_ENABLE`, ...).
pub const CLIENT_ENABLE: u32 = 0x1;
/// Fast Open for listeners that ask for it (`TCP_FASTOPEN`).
pub const SERVER_ENABLE: u32 = 0x2;
/// Data in the SYN without a cookie, on the client.
pub const CLIENT_NO_COOKIE: u32 = 0x4;
/// Data in the SYN accepted without a cookie, on the server.
pub const SERVER_COOKIE_NOT_REQD: u32 = 0x200;
/// Every listener takes Fast Open, its queue as long as its backlog.
pub const SERVER_WO_SOCKOPT1: u32 = 0x400;

/// What a listener does with a SYN's Fast Open (`tcp_try_fastopen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Make the connection now ([`Request::fastopen_child`]).
    pub child: bool,
    /// The cookie the SYN-ACK carries (a new one for a request or a
    /// wrong cookie, the primary key's for one made with the backup key).
    pub cookie: Option<FastOpen>,
}

/// `tcp_try_fastopen` for a SYN with `syn` options and `data` (whether it
/// carries any), on a listener whose queue has room (`room`, false when
/// it did not ask for Fast Open), under the sysctl's `bits`. `valid`
/// gives the cookie of the SYN's addresses under key 0 (the primary) or 1
/// (the backup), if there is such a key.
pub fn server(bits: u32, syn: &Options, data: bool, room: bool, valid: impl Fn(usize) -> Option<FastOpen>) -> Decision {
    let none = Decision { child: false, cookie: None };
    let Some(foc) = syn.fastopen.filter(|_| bits & SERVER_ENABLE != 0 && room) else {
        // No option: only data without a cookie may still do (below).
        return if bits & SERVER_ENABLE != 0 && room && data && bits & SERVER_COOKIE_NOT_REQD != 0 {
            Decision { child: true, cookie: None }
        } else {
            none
        };
    };
    if bits & SERVER_COOKIE_NOT_REQD != 0 {
        return Decision { child: true, cookie: None };
    }
    let fresh = valid(0).map(|c| FastOpen { exp: foc.exp, ..c });
    if foc.len == 0 {
        return Decision { child: false, cookie: fresh };
    }
    let matches = |c: Option<FastOpen>| c.is_some_and(|c| c.len == foc.len && c.cookie() == foc.cookie());
    if matches(valid(0)) {
        Decision { child: true, cookie: None }
    } else if matches(valid(1)) {
        Decision { child: true, cookie: fresh }
    } else {
        Decision { child: false, cookie: fresh }
    }
}

/// A Fast Open child's SYN-ACK, until the peer acknowledges it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Synack {
    /// The SYN offered window scaling (so the SYN-ACK does).
    pub wscale: bool,
    /// What the SYN-ACK acknowledges: the SYN and its data.
    pub ack: SeqNum,
    /// The cookie it carries, if any.
    pub cookie: Option<FastOpen>,
    /// When it first left (for the round-trip sample).
    pub sent_at: u64,
}

impl Request {
    /// Fast Open: the connection made from the SYN at once, in
    /// SYN-RECEIVED, its `data_len` bytes of data taken
    /// (`tcp_fastopen_create_child`, `tcp_fastopen_add_skb`); and its
    /// SYN-ACK, which acknowledges them and carries `cookie`. The SYN's
    /// bytes are the caller's to put in the receive buffer: they are
    /// readable already.
    pub fn fastopen_child(&self, data_len: u32, cookie: Option<FastOpen>, now: u64) -> (Conn, Segment) {
        let first = self.iss.add(1);
        let mut conn = self.conn(State::SynReceived, first, self.snd_wnd);
        conn.rto_ms = RTO_INITIAL_MS;
        conn.deadline = Some(now.saturating_add(u64::from(RTO_INITIAL_MS)));
        let syn = Segment { seq: self.irs, ack: first, ..Segment::default() };
        conn.start_data(&syn, now);
        conn.rcv_nxt = self.rcv_nxt().add(data_len);
        conn.data.rx_unread = data_len;
        conn.rcv_wnd = conn.free_window();
        conn.data.rcv_wup = conn.rcv_nxt;
        conn.data.rcv_adv = conn.rcv_nxt.add(conn.rcv_wnd);
        conn.data.rtx_since = Some(now);
        conn.data.syn_data_acked = data_len > 0;
        conn.data.synack = Some(Synack {
            wscale: self.syn_options.wscale.is_some(),
            ack: conn.rcv_nxt,
            cookie,
            sent_at: now,
        });
        let synack = conn.fastopen_synack(now);
        (conn, synack)
    }
}

impl Conn {
    /// A Fast Open child's SYN-ACK (`tcp_make_synack` from its request).
    fn fastopen_synack(&self, now: u64) -> Segment {
        let s = self.data.synack.unwrap_or_default();
        Segment {
            src_port: self.local.port,
            dst_port: self.remote.port,
            seq: self.iss,
            ack: s.ack,
            flags: Flags::SYN | Flags::ACK,
            window: u16::try_from(self.cfg.rcv_wnd).unwrap_or(u16::MAX),
            options: Options {
                mss: Some(self.cfg.advertised_mss()),
                wscale: self.cfg.wscale.filter(|_| s.wscale),
                sack_permitted: self.neg.sack,
                timestamp: self.neg.timestamps.then(|| (self.tsval(now), self.ts_recent)),
                fastopen: s.cookie,
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    /// A segment for a Fast Open child in SYN-RECEIVED (`tcp_check_req`
    /// with `fastopen`, then `tcp_rcv_state_process`): the SYN again gets
    /// the SYN-ACK again, a reset in the window ends it, and an ACK of
    /// the SYN-ACK establishes it and is then taken as any segment.
    pub(crate) fn syn_received(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        let Some(synack) = self.data.synack else { return Outcome::default() };
        let f = seg.flags;
        if f == Flags::SYN && seg.seq == self.irs {
            return Outcome::reply(self.fastopen_synack(now));
        }
        // PAWS and the window (`tcp_check_req`): an ACK of what we have.
        let paws = match (self.neg.timestamps, seg.options.timestamp) {
            (true, Some((val, _))) => self.paws_rejects(val),
            _ => false,
        };
        if paws || !self.seq_acceptable(seg.seq, seg.seq_len(payload_len)) {
            return if f.contains(Flags::RST) { Outcome::default() } else { Outcome::reply(self.ack(now)) };
        }
        if f.contains(Flags::RST) {
            self.state = State::Closed;
            self.deadline = None;
            return Outcome::error(ConnError::Reset);
        }
        if f.contains(Flags::SYN) {
            return Outcome::reply(super::conn::reset_for_ack(seg));
        }
        if !f.contains(Flags::ACK) {
            return Outcome::default();
        }
        // `tcp_ack` in SYN-RECEIVED: only an ACK of the SYN-ACK, up to
        // what was sent, is acceptable; anything else is reset.
        if !seg.ack.between(self.snd_una, self.data.snd_max) {
            return Outcome::reply(super::conn::reset_for_ack(seg));
        }
        self.state = State::Established;
        self.data.synack = None;
        if self.retransmits == 0 {
            let ms = u32::try_from(now.saturating_sub(synack.sent_at)).unwrap_or(u32::MAX);
            self.rtt.sample(ms.saturating_mul(1000));
        }
        self.retransmits = 0;
        self.data.rtx_since = None;
        self.deadline = None;
        if self.snd_una != self.data.snd_max {
            self.arm_rto(now);
        }
        // Taken as any segment (`tcp_ack`, then the data), against the
        // SYN's window: an ACK of the SYN-ACK alone is no duplicate of
        // one for the bytes sent since. Then the window of this ACK
        // (`tcp_rcv_state_process`'s SYN-RECEIVED case).
        let mut out = self.synchronized(seg, payload_len, now);
        if self.state != State::Closed {
            self.snd_wnd = u32::from(seg.window) << self.neg.snd_wscale.min(super::options::TCP_MAX_WSCALE);
            self.data.max_window = self.data.max_window.max(self.snd_wnd);
            self.data.snd_wl1 = seg.seq;
            self.data.snd_wl2 = seg.ack;
        }
        out.established = true;
        out
    }

    /// A Fast Open child's timer in SYN-RECEIVED
    /// (`tcp_fastopen_synack_timer`): the SYN-ACK again, the timeout
    /// doubled, until `syn_retries` and one more went unanswered.
    pub(crate) fn fastopen_synack_timer(&mut self, now: u64) -> Outcome {
        if self.retransmits > self.cfg.syn_retries {
            self.state = State::Closed;
            self.deadline = None;
            return Outcome::error(ConnError::TimedOut);
        }
        self.retransmits = self.retransmits.saturating_add(1);
        self.rto_ms = self.rto_ms.saturating_mul(2).min(RTO_MAX_MS);
        self.deadline = Some(now.saturating_add(u64::from(self.rto_ms)));
        Outcome::reply(self.fastopen_synack(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::tests::{CLIENT, SERVER};
    use crate::conn::Config;

    use crate::request::tests::{from_client, IRS, ISS, NOW};
    const GOOD: [u8; 8] = [0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb];
    const OLD: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn keys(k: usize) -> Option<FastOpen> {
        [Some(FastOpen::new(&GOOD)), Some(FastOpen::new(&OLD))].get(k).copied().flatten()
    }

    fn with(fo: Option<FastOpen>) -> Options {
        Options { mss: Some(1460), fastopen: fo, ..Options::default() }
    }

    #[test]
    fn the_listener_decides_as_tcp_try_fastopen() {
        let on = SERVER_ENABLE;
        let fresh = Some(FastOpen::new(&GOOD));
        // A request for a cookie gets one, with or without data.
        assert_eq!(server(on, &with(Some(FastOpen::default())), true, true, keys), Decision { child: false, cookie: fresh });
        // The right cookie makes the connection; the backup key's also,
        // and the SYN-ACK brings the primary's.
        assert_eq!(server(on, &with(fresh), true, true, keys), Decision { child: true, cookie: None });
        assert_eq!(server(on, &with(Some(FastOpen::new(&OLD))), true, true, keys), Decision { child: true, cookie: fresh });
        // Data-less SYN with a valid cookie: a child too (it may send).
        assert!(server(on, &with(fresh), false, true, keys).child);
        // A wrong cookie: an ordinary request, and the right one back.
        assert_eq!(server(on, &with(Some(FastOpen::new(&[9; 8]))), true, true, keys), Decision { child: false, cookie: fresh });
        // No option, no cookie back.
        assert_eq!(server(on, &with(None), true, true, keys), Decision { child: false, cookie: None });
        // Not enabled, or a listener without TCP_FASTOPEN (or with its
        // queue full): nothing.
        assert_eq!(server(CLIENT_ENABLE, &with(fresh), true, true, keys), Decision { child: false, cookie: None });
        assert_eq!(server(on, &with(fresh), true, false, keys), Decision { child: false, cookie: None });
        // Cookies not required: data alone makes the connection.
        let no_cookie = on | SERVER_COOKIE_NOT_REQD;
        assert_eq!(server(no_cookie, &with(None), true, true, keys), Decision { child: true, cookie: None });
        assert!(!server(no_cookie, &with(None), false, true, keys).child);
        // The experimental option is answered in kind.
        let exp = FastOpen { exp: true, ..FastOpen::default() };
        assert_eq!(server(on, &with(Some(exp)), false, true, keys).cookie.map(|c| c.exp), Some(true));
    }

    /// The request tests' SYN, with the right cookie.
    fn syn() -> Segment {
        let mut s = crate::request::tests::syn();
        s.options.fastopen = Some(FastOpen::new(&GOOD));
        s
    }

    fn child(data: u32) -> (Conn, Segment) {
        // A listener's config: `synack_retries` (5).
        let cfg = Config { syn_retries: 5, ..Config::default() };
        let (req, _) = Request::new(cfg, SERVER, CLIENT, &syn(), ISS, 3, NOW);
        req.fastopen_child(data, None, NOW)
    }

    #[test]
    fn a_child_takes_the_syns_data_and_acknowledges_it() {
        let (c, synack) = child(10);
        assert_eq!(c.state, State::SynReceived);
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        assert_eq!((synack.seq, synack.ack), (ISS, IRS.add(11)));
        assert_eq!(synack.options.fastopen, None);
        assert_eq!(synack.options.wscale, Config::default().wscale);
        assert_eq!(c.data.rx_unread, 10);
        assert_eq!(c.rcv_nxt, IRS.add(11));
        assert!(c.may_send());
    }

    #[test]
    fn a_child_sends_before_the_handshake_ends_and_the_ack_establishes_it() {
        let (mut c, _) = child(10);
        c.queued(100, true);
        let t = c.transmit(NOW).expect("data before the final ACK");
        assert_eq!((t.seg.seq, t.len), (ISS.add(1), 100));
        assert_eq!(t.seg.ack, IRS.add(11));
        // The client's ACK of the SYN-ACK and its next bytes.
        let out = c.on_segment(&from_client(IRS.add(11), ISS.add(1), Flags::ACK), 20, NOW + 30);
        assert!(out.established);
        assert_eq!(c.state, State::Established);
        assert_eq!(out.readable, 20);
        assert!(c.rtt.srtt_us().is_some());
        assert_eq!(c.data.synack, None);
        // Then the ACK of our data.
        let out = c.on_segment(&from_client(IRS.add(31), ISS.add(101), Flags::ACK), 0, NOW + 60);
        assert_eq!(out.acked, 100);
    }

    #[test]
    fn the_ack_of_the_synack_alone_is_no_duplicate_ack() {
        let (mut c, _) = child(0);
        for _ in 0..3 {
            c.queued(1000, true);
            while c.transmit(NOW).is_some() {}
        }
        let ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        c.on_segment(&ack, 0, NOW + 30);
        assert_eq!(c.state, State::Established);
        assert_eq!(c.snd_wnd, 502 << 7);
        // Two real duplicates after it: still no fast retransmit (three
        // are needed), as the first did not count.
        c.on_segment(&ack, 0, NOW + 31);
        c.on_segment(&ack, 0, NOW + 32);
        assert!(!c.data.rtx_head);
    }

    #[test]
    fn the_syn_again_gets_the_synack_again() {
        let (mut c, synack) = child(10);
        let out = c.on_segment(&syn(), 10, NOW + 5);
        assert_eq!(out.reply.map(|s| (s.seq, s.ack, s.flags)), Some((synack.seq, synack.ack, synack.flags)));
        assert_eq!(c.state, State::SynReceived);
    }

    #[test]
    fn an_ack_of_nothing_sent_is_reset_and_a_reset_ends_the_child() {
        let (mut c, _) = child(0);
        let out = c.on_segment(&from_client(IRS.add(1), ISS.add(5), Flags::ACK), 0, NOW + 5);
        assert_eq!(out.reply.map(|s| (s.flags, s.seq)), Some((Flags::RST, ISS.add(5))));
        assert_eq!(c.state, State::SynReceived);
        let out = c.on_segment(&from_client(IRS.add(1), SeqNum(0), Flags::RST), 0, NOW + 6);
        assert_eq!(out.error, Some(ConnError::Reset));
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn the_synack_goes_again_with_backoff_then_the_child_times_out() {
        let (mut c, synack) = child(0);
        let mut at = NOW;
        let mut gaps = vec![];
        loop {
            let d = c.deadline().expect("a timer");
            gaps.push(d - at);
            at = d;
            let out = c.on_timer(at);
            match out.reply {
                Some(s) => assert_eq!((s.seq, s.ack, s.flags), (synack.seq, synack.ack, synack.flags)),
                None => {
                    assert_eq!(out.error, Some(ConnError::TimedOut));
                    break;
                }
            }
        }
        // synack_retries (5) and one more: 1, 2, 4, ... s.
        assert_eq!(gaps, [1000, 2000, 4000, 8000, 16000, 32000, 64000]);
    }

    // =========================================================================
    // The client
    // =========================================================================

    fn client() -> Conn {
        let (c, _) = Conn::connect(Config::default(), CLIENT, SERVER, ISS, 0, NOW);
        c
    }

    fn synack(ack: SeqNum, cookie: Option<FastOpen>) -> Segment {
        Segment {
            src_port: SERVER.port,
            dst_port: CLIENT.port,
            seq: IRS,
            ack,
            flags: Flags::SYN | Flags::ACK,
            window: 65535,
            options: Options { mss: Some(1460), fastopen: cookie, ..Options::default() },
            ..Segment::default()
        }
    }

    #[test]
    fn a_syn_with_a_cookie_waits_for_the_first_write_and_carries_it() {
        let mut c = client();
        assert_eq!(c.fastopen_connect(Some(FastOpen::new(&GOOD)), 1420, NOW), None);
        assert!(c.may_send());
        assert_eq!(c.transmit(NOW), None, "nothing written, no SYN");
        assert_eq!(c.deadline(), None);
        assert_eq!(c.send_space(), 1420);
        c.queued(100, true);
        let t = c.transmit(NOW + 1).expect("the SYN");
        assert_eq!((t.seg.flags, t.seg.seq, t.off, t.len), (Flags::SYN, ISS, 0, 100));
        assert_eq!(t.seg.options.fastopen, Some(FastOpen::new(&GOOD)));
        assert_eq!(c.transmit(NOW + 1), None);
        // The SYN-ACK takes it all.
        let out = c.on_segment(&synack(ISS.add(101), None), 0, NOW + 20);
        assert!(out.established);
        assert_eq!(out.acked, 100);
        assert!(c.data.syn_data_acked);
        assert_eq!(c.transmit(NOW + 20), None, "nothing to send again");
    }

    #[test]
    fn bytes_the_synack_does_not_acknowledge_go_again_at_once() {
        let mut c = client();
        c.fastopen_connect(Some(FastOpen::new(&OLD)), 1420, NOW);
        c.queued(100, true);
        c.transmit(NOW).expect("the SYN");
        // A server whose key changed: the SYN alone is acknowledged, and
        // a new cookie comes.
        let out = c.on_segment(&synack(ISS.add(1), Some(FastOpen::new(&GOOD))), 0, NOW + 20);
        assert!(out.established);
        assert_eq!(out.acked, 0);
        assert_eq!(out.fastopen_cookie, Some((FastOpen::new(&GOOD), 1460)));
        assert!(!c.data.syn_data_acked);
        let t = c.transmit(NOW + 20).expect("the data again");
        assert_eq!((t.seg.seq, t.len, t.seg.flags.contains(Flags::SYN)), (ISS.add(1), 100, false));
    }

    #[test]
    fn without_a_cookie_the_syn_asks_for_one_and_caches_it() {
        let mut c = client();
        let syn = c.fastopen_connect(Some(FastOpen::default()), 0, NOW).expect("the SYN now");
        assert_eq!(syn.options.fastopen, Some(FastOpen::default()));
        assert!(!c.may_send());
        let out = c.on_segment(&synack(ISS.add(1), Some(FastOpen::new(&GOOD))), 0, NOW + 20);
        assert_eq!(out.fastopen_cookie.map(|(c, _)| c), Some(FastOpen::new(&GOOD)));
        // An unasked-for cookie is not taken (`syn_fastopen`).
        let mut plain = client();
        let out = plain.on_segment(&synack(ISS.add(1), Some(FastOpen::new(&GOOD))), 0, NOW + 20);
        assert!(out.established);
        assert_eq!(out.fastopen_cookie, None);
    }

    #[test]
    fn a_retransmitted_syn_carries_neither_data_nor_cookie() {
        let mut c = client();
        c.fastopen_connect(Some(FastOpen::new(&GOOD)), 1420, NOW);
        c.queued(100, true);
        c.transmit(NOW).expect("the SYN");
        let d = c.deadline().expect("its timer");
        let again = c.on_timer(d).reply.expect("the SYN again");
        assert_eq!((again.flags, again.options.fastopen), (Flags::SYN, None));
        // The server took the plain SYN: the data follows the handshake.
        let out = c.on_segment(&synack(ISS.add(1), None), 0, d + 20);
        assert!(out.established);
        let t = c.transmit(d + 20).expect("the data");
        assert_eq!((t.seg.seq, t.len), (ISS.add(1), 100));
    }
}
