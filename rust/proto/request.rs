// SPDX-License-Identifier: GPL-2.0

//! The passive side of the handshake: a SYN reaching a listener becomes a
//! request (the embryonic connection of `tcp_minisocks.c`), answered by a
//! SYN-ACK; the ACK of that SYN-ACK turns it into an established [`Conn`].
//! Follows `tcp_v4_conn_request()`, `tcp_make_synack()` and
//! `tcp_check_req()`, with the RFC 5961 checks on RST and ACK.

use super::conn::{Config, Conn, Data, Endpoint, Negotiated, RTO_INITIAL_MS, RTO_MAX_MS};
use super::icmp::IcmpError;
use super::rtt::Rtt;
use super::options::Options;
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// What a listener does with a segment that matches no connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenAction {
    /// A SYN: make a request (`conn_request`).
    Syn,
    /// Send this reset (an ACK reaching a listener, RFC 9293 3.10.7.2).
    Reset(Segment),
    /// Drop it silently (a RST, a SYN with FIN, anything else).
    Drop,
}

/// RFC 9293 3.10.7.2 for the LISTEN state, as `tcp_rcv_state_process`.
pub fn listen_segment(seg: &Segment) -> ListenAction {
    let f = seg.flags;
    if f.contains(Flags::RST) {
        ListenAction::Drop
    } else if f.contains(Flags::ACK) {
        ListenAction::Reset(Segment {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq: seg.ack,
            flags: Flags::RST,
            ..Segment::default()
        })
    } else if f.contains(Flags::SYN) && !f.contains(Flags::FIN) {
        ListenAction::Syn
    } else {
        ListenAction::Drop
    }
}

/// What a segment did to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
// The connection moves out once per handshake; `proto` does not allocate,
// so it is not boxed.
#[allow(clippy::large_enum_variant)]
pub enum RequestOutcome {
    /// Nothing to do.
    Nothing,
    /// Send this segment; the request stays.
    Reply(Segment),
    /// The request is dead; send this reset if any.
    Drop(Option<Segment>),
    /// The handshake completed: the established connection.
    Established(Conn),
}

/// What a request's timer does ([`Request::on_timer`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RequestTimer {
    /// Send the SYN-ACK again; the request stays.
    Synack(Segment),
    /// Nothing to send: the request waits for the peer's data
    /// (`TCP_DEFER_ACCEPT`).
    Wait,
    /// Out of retries: the request goes.
    Expire,
}

/// An embryonic connection: our SYN-ACK is out (SYN-RECEIVED).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// This side (the listener's address as the SYN reached it).
    pub local: Endpoint,
    /// The peer.
    pub remote: Endpoint,
    /// What we offered.
    pub cfg: Config,
    /// What the SYN and our SYN-ACK agreed on.
    pub neg: Negotiated,
    /// The options of the peer's SYN (the SYN-ACK echoes what it offered).
    pub syn_options: Options,
    /// Our initial sequence number.
    pub iss: SeqNum,
    /// The peer's initial sequence number.
    pub irs: SeqNum,
    /// The peer's window in its SYN (never scaled).
    pub snd_wnd: u32,
    /// Added to the clock for our TSval.
    pub ts_offset: u32,
    /// The peer's most recent TSval.
    pub ts_recent: u32,
    /// SYN-ACK retransmissions so far.
    pub retransmits: u8,
    /// The current retransmission timeout.
    pub rto_ms: u32,
    /// When [`Request::on_timer`] wants to run.
    pub deadline: u64,
    /// When our first SYN-ACK left (`snt_synack`; `None` for a request
    /// rebuilt from a SYN cookie).
    pub synack_at: Option<u64>,
    /// The listener's `TCP_DEFER_ACCEPT`, in SYN-ACK retransmissions
    /// (`rskq_defer_accept`): until this many, the final ACK without data
    /// makes no connection.
    pub defer_accept: u8,
    /// Such an ACK came (`inet_rsk(req)->acked`).
    pub acked: bool,
    /// The Fast Open cookie the SYN-ACK carries (a request for one, or a
    /// wrong one, was answered).
    pub fastopen: Option<super::options::FastOpen>,
    /// The timestamps our first and latest SYN-ACKs carried
    /// (`snt_tsval_first`, `snt_tsval_last`): an echo outside them is no
    /// answer to one (`tcp_check_req`'s `tsecr_reject`). None without
    /// timestamps, and for a request rebuilt from a cookie.
    pub snt_tsval: Option<(u32, u32)>,
    /// The device the SYN of a link-local peer came in on, which its
    /// SYN-ACKs go out of (`ir_iif`); 0 for any other peer. The glue's:
    /// the core only keeps it.
    pub iif: i32,
}

impl Request {
    /// A SYN reached a listener (the caller checked [`listen_segment`]): the
    /// request and its SYN-ACK. `cfg.syn_retries` bounds the SYN-ACK's
    /// retransmissions (`synack_retries`).
    pub fn new(
        cfg: Config,
        local: Endpoint,
        remote: Endpoint,
        syn: &Segment,
        iss: SeqNum,
        ts_offset: u32,
        now: u64,
    ) -> (Request, Segment) {
        let req = Request {
            local,
            remote,
            cfg,
            neg: Negotiated::new(&cfg, &syn.options),
            syn_options: syn.options,
            iss,
            irs: syn.seq,
            snd_wnd: u32::from(syn.window),
            ts_offset,
            ts_recent: syn.options.timestamp.map_or(0, |(val, _)| val),
            retransmits: 0,
            rto_ms: RTO_INITIAL_MS,
            deadline: now.saturating_add(u64::from(RTO_INITIAL_MS)),
            synack_at: Some(now),
            defer_accept: 0,
            acked: false,
            fastopen: None,
            snt_tsval: None,
            iif: 0,
        };
        let mut req = req;
        let synack = req.synack_again(now);
        (req, synack)
    }

    /// The next sequence number expected from the peer.
    pub fn rcv_nxt(&self) -> SeqNum {
        self.irs.add(1)
    }

    fn tsval(&self, now: u64) -> u32 {
        (now as u32).wrapping_add(self.ts_offset)
    }

    /// The SYN-ACK (`tcp_make_synack`): our MSS; window scale, SACK and
    /// timestamps only where the SYN offered them.
    pub fn synack(&self, now: u64) -> Segment {
        Segment {
            src_port: self.local.port,
            dst_port: self.remote.port,
            seq: self.iss,
            ack: self.rcv_nxt(),
            flags: Flags::SYN | Flags::ACK,
            window: u16::try_from(self.cfg.rcv_wnd).unwrap_or(u16::MAX),
            options: Options {
                mss: Some(self.cfg.advertised_mss()),
                wscale: self.cfg.wscale.filter(|_| self.syn_options.wscale.is_some()),
                sack_permitted: self.neg.sack,
                timestamp: self.neg.timestamps.then(|| (self.tsval(now), self.ts_recent)),
                fastopen: self.fastopen,
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    /// The SYN-ACK, sent (again) now: its timestamp is noted.
    fn synack_again(&mut self, now: u64) -> Segment {
        let s = self.synack(now);
        if let Some((val, _)) = s.options.timestamp {
            self.snt_tsval = Some((self.snt_tsval.map_or(val, |(first, _)| first), val));
        }
        s
    }

    /// A segment of the request's four-tuple arrived, with `payload_len`
    /// bytes (`tcp_check_req`, in its order).
    pub fn on_segment(&mut self, seg: &Segment, payload_len: u32, now: u64) -> RequestOutcome {
        let mut f = seg.flags;
        // A retransmission of the peer's SYN: our SYN-ACK was lost.
        if f == Flags::SYN && seg.seq == self.irs {
            return RequestOutcome::Reply(self.synack_again(now));
        }
        // An ACK of anything but our SYN: the listener resets it (RFC 9293
        // 3.10.7.4), whatever its sequence number; the request stays.
        if f.contains(Flags::ACK) && !f.contains(Flags::RST) && seg.ack != self.iss.add(1) {
            return RequestOutcome::Reply(Segment {
                src_port: self.local.port,
                dst_port: self.remote.port,
                seq: seg.ack,
                flags: Flags::RST,
                ..Segment::default()
            });
        }
        // The sequence number (`tcp_in_window`): outside the window, an
        // ACK of what we have (none for a reset).
        let rcv_nxt = self.rcv_nxt();
        let right = rcv_nxt.add(self.cfg.rcv_wnd);
        let end = seg.seq.add(seg.seq_len(payload_len));
        let in_window = seg.seq == rcv_nxt
            || (end.after(rcv_nxt) && seg.seq.before(right))
            || (seg.seq == right && seg.seq == end);
        // An echo of no SYN-ACK of ours is treated as outside the window.
        let tsecr_reject = match (self.snt_tsval, seg.options.timestamp) {
            (Some((first, last)), Some((_, ecr))) if self.neg.timestamps && ecr != 0 => {
                !SeqNum(ecr).between(SeqNum(first), SeqNum(last))
            }
            _ => false,
        };
        if !in_window || tsecr_reject {
            return if f.contains(Flags::RST) {
                RequestOutcome::Nothing
            } else {
                RequestOutcome::Reply(self.challenge_ack(now))
            };
        }
        // The SYN's own sequence number is behind the window.
        if seg.seq == self.irs {
            f = f.without(Flags::SYN);
        }
        // RFC 5961 3.2 for RST: exactly RCV.NXT resets; elsewhere in the
        // window it earns a challenge ACK.
        if f.contains(Flags::RST) && seg.seq != rcv_nxt {
            return RequestOutcome::Reply(self.challenge_ack(now));
        }
        // A reset, or another SYN in the window: the handshake fails, and
        // the SYN is answered with a reset (`embryonic_reset`).
        if f.contains(Flags::RST) {
            return RequestOutcome::Drop(None);
        }
        if f.contains(Flags::SYN) {
            return RequestOutcome::Drop(super::conn::reset_for(seg, payload_len));
        }
        if !f.contains(Flags::ACK) {
            return RequestOutcome::Nothing;
        }
        let mut conn = self.conn(State::Established, seg.ack, u32::from(seg.window) << self.neg.snd_wscale);
        // A round-trip sample (`tcp_synack_rtt_meas`): the time since our
        // SYN-ACK if it was sent once (Karn's rule), else from the
        // timestamp it carried, if echoed.
        if let (0, Some(sent)) = (self.retransmits, self.synack_at) {
            let ms = u32::try_from(now.saturating_sub(sent)).unwrap_or(u32::MAX);
            conn.rtt.sample(ms.saturating_mul(1000));
        } else if let (true, Some((_, ecr))) = (self.neg.timestamps, seg.options.timestamp) {
            let ms = self.tsval(now).wrapping_sub(ecr);
            if ecr != 0 && ms <= RTO_MAX_MS {
                conn.rtt.sample(ms.saturating_mul(1000));
            }
        }
        if let (true, Some((val, _))) = (self.neg.timestamps, seg.options.timestamp) {
            conn.ts_recent = val;
        }
        conn.start_data(seg, now);
        RequestOutcome::Established(conn)
    }

    /// The connection the request becomes, in `state`, its send sequence
    /// from `first`.
    pub(crate) fn conn(&self, state: State, first: SeqNum, snd_wnd: u32) -> Conn {
        Conn {
            state,
            local: self.local,
            remote: self.remote,
            cfg: self.cfg,
            neg: self.neg,
            iss: self.iss,
            irs: self.irs,
            snd_una: first,
            snd_nxt: first,
            snd_wnd,
            rcv_nxt: self.rcv_nxt(),
            rcv_wnd: self.cfg.rcv_wnd,
            ts_offset: self.ts_offset,
            ts_recent: self.ts_recent,
            syn_tsval: 0,
            retransmits: 0,
            rto_ms: RTO_INITIAL_MS,
            deadline: None,
            soft_error: None,
            rtt: Rtt::default(),
            data: Data::new(first),
            orphan: false,
        }
    }

    /// An ACK of what we have, for the challenges of RFC 5961.
    fn challenge_ack(&self, now: u64) -> Segment {
        Segment {
            src_port: self.local.port,
            dst_port: self.remote.port,
            seq: self.iss.add(1),
            ack: self.rcv_nxt(),
            flags: Flags::ACK,
            window: u16::try_from(self.cfg.rcv_wnd >> self.neg.rcv_wscale).unwrap_or(u16::MAX),
            options: Options {
                timestamp: self.neg.timestamps.then(|| (self.tsval(now), self.ts_recent)),
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    /// An ICMP error quoting a segment of this request: `Some(true)` if it
    /// ends the request (`tcp_req_err`), `None` if it quotes a sequence
    /// number other than our SYN-ACK's (`OutOfWindowIcmps`).
    pub fn on_icmp(&self, e: &IcmpError) -> Option<bool> {
        (e.seq == self.iss).then(|| e.aborts_request())
    }

    /// Whether `seg`, of `payload_len` bytes, is the final ACK without
    /// data that `TCP_DEFER_ACCEPT` drops (`tcp_check_req`): it is noted
    /// (`acked`), and the caller drops it without calling
    /// [`Request::on_segment`].
    pub fn defers(&mut self, seg: &Segment, payload_len: u32) -> bool {
        let f = seg.flags;
        let bare = f.contains(Flags::ACK)
            && !f.intersects(Flags::SYN | Flags::RST | Flags::FIN)
            && payload_len == 0
            && seg.seq == self.rcv_nxt()
            && seg.ack == self.iss.add(1);
        if bare && self.retransmits < self.defer_accept {
            self.acked = true;
            return true;
        }
        false
    }

    /// The SYN-ACK timer fired: the SYN-ACK again with the timeout doubled,
    /// or the end when `cfg.syn_retries` retransmissions went unanswered.
    /// With `TCP_DEFER_ACCEPT` and a bare ACK seen (`syn_ack_recalc`): no
    /// SYN-ACK until the last retransmission of the deferral (whose ACK
    /// then makes the connection), and no end before it.
    pub fn on_timer(&mut self, now: u64) -> RequestTimer {
        self.on_timer_within(now, self.cfg.syn_retries)
    }

    /// [`Request::on_timer`] with at most `retries` retransmissions (what
    /// [`pruned_retries`] leaves under a flood).
    pub fn on_timer_within(&mut self, now: u64, retries: u8) -> RequestTimer {
        let defer = self.defer_accept;
        let waiting = defer != 0 && self.acked;
        if self.retransmits >= retries && !(waiting && self.retransmits < defer) {
            return RequestTimer::Expire;
        }
        let resend = !waiting || self.retransmits >= defer.saturating_sub(1);
        self.retransmits = self.retransmits.saturating_add(1);
        self.rto_ms = self.rto_ms.saturating_mul(2).min(RTO_MAX_MS);
        self.deadline = now.saturating_add(u64::from(self.rto_ms));
        if resend { RequestTimer::Synack(self.synack_again(now)) } else { RequestTimer::Wait }
    }
}

/// The SYN-ACK retransmissions a request may have, `retries` at most,
/// when its listener (of `backlog`) holds `qlen` requests, `young` of them
/// never retransmitted (`reqsk_timer_handler`): while the queue is more
/// than half full, old requests are pruned, one retransmission fewer (down
/// to two) for each doubling of the young ones that falls short of the
/// queue ("we reserve half of room for young embrions; and abort old ones
/// without pity, if old ones are about to clog our table"). Under a flood
/// whose SYN-ACKs nobody answers, requests go after 7 s instead of 63.
pub fn pruned_retries(retries: u8, qlen: usize, young: usize, backlog: usize) -> u8 {
    let mut max = retries;
    if qlen.saturating_mul(2) > backlog.max(8) {
        let mut young = young.saturating_mul(2);
        while max > 2 {
            if qlen < young {
                break;
            }
            max = max.saturating_sub(1);
            young = young.saturating_mul(2);
        }
    }
    max
}

/// Whether a SYN queue of `qlen` requests has reached the last quarter of
/// `max_syn_backlog`, which `tcp_conn_request` keeps, without SYN cookies,
/// for peers proven alive.
pub fn syn_backlog_reserved(max_syn_backlog: i32, qlen: usize) -> bool {
    let qlen = i64::try_from(qlen).unwrap_or(i64::MAX);
    i64::from(max_syn_backlog).saturating_sub(qlen) < i64::from(max_syn_backlog >> 2)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::conn::tests::{CLIENT, SERVER};
    use proptest::prelude::*;

    pub(crate) const ISS: SeqNum = SeqNum(0x1234_5678);
    pub(crate) const IRS: SeqNum = SeqNum(4000);
    pub(crate) const NOW: u64 = 10_000;

    pub(crate) fn syn() -> Segment {
        Segment {
            src_port: CLIENT.port,
            dst_port: SERVER.port,
            seq: IRS,
            flags: Flags::SYN,
            window: 64240,
            options: Options {
                mss: Some(1460),
                wscale: Some(7),
                sack_permitted: true,
                timestamp: Some((555, 0)),
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    fn request() -> (Request, Segment) {
        Request::new(Config::default(), SERVER, CLIENT, &syn(), ISS, 3, NOW)
    }

    pub(crate) fn from_client(seq: SeqNum, ack: SeqNum, flags: Flags) -> Segment {
        Segment {
            src_port: CLIENT.port,
            dst_port: SERVER.port,
            seq,
            ack,
            flags,
            window: 502,
            options: Options { timestamp: Some((556, NOW as u32 + 3)), ..Options::default() },
            ..Segment::default()
        }
    }

    // =========================================================================
    // Tests for the LISTEN state
    // =========================================================================

    #[test]
    fn icmp_about_our_synack_ends_the_request_if_the_peer_is_unreachable() {
        use crate::icmp::*;
        let syn = Segment { src_port: CLIENT.port, dst_port: SERVER.port, seq: SeqNum(5), flags: Flags::SYN, ..Segment::default() };
        let (req, _) = Request::new(Config::default(), SERVER, CLIENT, &syn, ISS, 0, 0);
        let about = |icmp_type, code, seq| IcmpError { icmp_type, code, local: SERVER, remote: CLIENT, seq, mtu: 0, v6: false };
        assert_eq!(req.on_icmp(&about(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ISS)), Some(true));
        assert_eq!(req.on_icmp(&about(ICMP_TIME_EXCEEDED, 0, ISS)), Some(true));
        assert_eq!(req.on_icmp(&about(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, ISS)), Some(false));
        assert_eq!(req.on_icmp(&about(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ISS.add(1))), None);
    }

    #[test]
    fn listener_takes_syns_only() {
        assert_eq!(listen_segment(&syn()), ListenAction::Syn);
        let mut s = syn();
        s.flags = Flags::SYN | Flags::FIN;
        assert_eq!(listen_segment(&s), ListenAction::Drop);
        s.flags = Flags::RST;
        assert_eq!(listen_segment(&s), ListenAction::Drop);
        s.flags = Flags::RST | Flags::ACK;
        assert_eq!(listen_segment(&s), ListenAction::Drop);
        s.flags = Flags(0);
        assert_eq!(listen_segment(&s), ListenAction::Drop);
    }

    #[test]
    fn listener_resets_an_ack() {
        let ack = from_client(IRS.add(1), SeqNum(99), Flags::ACK);
        let ListenAction::Reset(rst) = listen_segment(&ack) else { panic!("no reset") };
        assert_eq!((rst.flags, rst.seq), (Flags::RST, SeqNum(99)));
        assert_eq!((rst.src_port, rst.dst_port), (SERVER.port, CLIENT.port));
        // A SYN-ACK reaching a listener is an ACK too.
        let sa = from_client(IRS, SeqNum(7), Flags::SYN | Flags::ACK);
        assert!(matches!(listen_segment(&sa), ListenAction::Reset(_)));
    }

    // =========================================================================
    // Tests for the SYN-RECEIVED state
    // =========================================================================

    #[test]
    fn synack_echoes_what_the_syn_offered() {
        let (req, sa) = request();
        assert_eq!(sa.flags, Flags::SYN | Flags::ACK);
        assert_eq!((sa.seq, sa.ack), (ISS, IRS.add(1)));
        assert_eq!((sa.src_port, sa.dst_port), (SERVER.port, CLIENT.port));
        assert_eq!(sa.options.mss, Some(1460));
        assert_eq!(sa.options.wscale, Some(7));
        assert!(sa.options.sack_permitted);
        assert_eq!(sa.options.timestamp, Some((NOW as u32 + 3, 555)));
        assert_eq!(req.deadline, NOW + 1000);
    }

    #[test]
    fn synack_leaves_out_what_the_syn_did_not_offer() {
        let mut s = syn();
        s.options = Options { mss: Some(1000), ..Options::default() };
        let (req, sa) = Request::new(Config::default(), SERVER, CLIENT, &s, ISS, 3, NOW);
        assert_eq!(sa.options, Options { mss: Some(1460), ..Options::default() });
        assert_eq!(req.neg.mss, 1000);
        assert_eq!((req.neg.snd_wscale, req.neg.rcv_wscale), (0, 0));
    }

    #[test]
    fn the_ack_of_our_syn_establishes() {
        let (mut req, _) = request();
        let ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        let RequestOutcome::Established(c) = req.on_segment(&ack, 0, NOW) else { panic!("not established") };
        assert_eq!(c.state, State::Established);
        assert_eq!((c.snd_una, c.snd_nxt, c.rcv_nxt), (ISS.add(1), ISS.add(1), IRS.add(1)));
        assert_eq!(c.snd_wnd, 502 << 7);
        assert_eq!(c.ts_recent, 556);
        assert_eq!((c.local, c.remote), (SERVER, CLIENT));
    }

    #[test]
    fn the_handshake_gives_a_round_trip_sample_unless_the_synack_went_twice() {
        // tcp_synack_rtt_meas: from the SYN-ACK's departure; after a
        // retransmission, only from an echoed timestamp (Karn's rule).
        let (mut req, _) = request();
        let ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        let RequestOutcome::Established(c) = req.on_segment(&ack, 0, NOW + 30) else { panic!("not established") };
        assert_eq!(c.rtt.srtt_us(), Some(30_000));
        let (mut req, _) = request();
        assert!(matches!(req.on_timer(NOW + 1000), RequestTimer::Synack(_)));
        let mut ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        ack.options.timestamp = None;
        let RequestOutcome::Established(c) = req.on_segment(&ack, 0, NOW + 1030) else { panic!("not established") };
        assert_eq!(c.rtt.srtt_us(), None);
    }

    #[test]
    fn an_ack_of_something_else_is_reset() {
        for ack in [ISS, ISS.add(2), SeqNum(0)] {
            let (mut req, _) = request();
            let seg = from_client(IRS.add(1), ack, Flags::ACK);
            let RequestOutcome::Reply(rst) = req.on_segment(&seg, 0, NOW) else { panic!("no reply") };
            assert_eq!((rst.flags, rst.seq), (Flags::RST, ack));
        }
    }

    #[test]
    fn rst_at_rcv_nxt_kills_the_request() {
        let (mut req, _) = request();
        let rst = from_client(IRS.add(1), SeqNum(0), Flags::RST);
        assert_eq!(req.on_segment(&rst, 0, NOW), RequestOutcome::Drop(None));
    }

    #[test]
    fn rst_in_window_gets_a_challenge_ack() {
        let (mut req, _) = request();
        let rst = from_client(IRS.add(100), SeqNum(0), Flags::RST);
        let RequestOutcome::Reply(ack) = req.on_segment(&rst, 0, NOW) else { panic!("no challenge") };
        assert_eq!((ack.flags, ack.seq, ack.ack), (Flags::ACK, ISS.add(1), IRS.add(1)));
    }

    #[test]
    fn rst_outside_the_window_is_ignored() {
        let (mut req, _) = request();
        // (At the right edge exactly, tcp_in_window takes a reset in.)
        for seq in [IRS, IRS.add(2 + 64240), IRS.sub(1000)] {
            let rst = from_client(seq, SeqNum(0), Flags::RST);
            assert_eq!(req.on_segment(&rst, 0, NOW), RequestOutcome::Nothing, "seq {seq:?}");
        }
    }

    #[test]
    fn a_retransmitted_syn_gets_the_synack_again() {
        let (mut req, sa) = request();
        assert_eq!(req.on_segment(&syn(), 0, NOW), RequestOutcome::Reply(sa));
    }

    #[test]
    fn another_syn_in_the_window_ends_the_handshake_with_a_reset() {
        let (mut req, _) = request();
        let s = from_client(IRS.add(10), SeqNum(0), Flags::SYN);
        let RequestOutcome::Drop(Some(rst)) = req.on_segment(&s, 0, NOW) else { panic!("no reset") };
        assert_eq!((rst.flags, rst.seq, rst.ack), (Flags::RST | Flags::ACK, SeqNum(0), IRS.add(11)));
    }

    #[test]
    fn an_echo_of_no_synack_of_ours_is_outside_the_window() {
        let (mut req, _) = request();
        let mut ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        ack.options.timestamp = Some((556, 1));
        let RequestOutcome::Reply(r) = req.on_segment(&ack, 0, NOW) else { panic!("no answer") };
        assert_eq!(r.flags, Flags::ACK);
        let mut rst = from_client(IRS.add(1), SeqNum(0), Flags::RST);
        rst.options.timestamp = Some((556, 1));
        assert_eq!(req.on_segment(&rst, 0, NOW), RequestOutcome::Nothing);
        // The echo of the retransmitted SYN-ACK is one.
        let RequestTimer::Synack(again) = req.on_timer(NOW + 1000) else { panic!("no SYN-ACK") };
        ack.options.timestamp = Some((557, again.options.timestamp.unwrap().0));
        assert!(matches!(req.on_segment(&ack, 0, NOW + 1010), RequestOutcome::Established(_)));
    }

    #[test]
    fn an_ack_of_something_else_is_reset_before_its_sequence_is_looked_at() {
        let (mut req, _) = request();
        // Outside the window too: a reset of its ACK, not an ACK.
        let seg = from_client(IRS.add(1_000_000), ISS.add(7), Flags::ACK);
        let RequestOutcome::Reply(rst) = req.on_segment(&seg, 0, NOW) else { panic!("no reset") };
        assert_eq!((rst.flags, rst.seq), (Flags::RST, ISS.add(7)));
    }

    #[test]
    fn a_segment_outside_the_window_is_acked_not_taken() {
        let (mut req, _) = request();
        let seg = from_client(IRS.sub(50), ISS.add(1), Flags::ACK);
        let RequestOutcome::Reply(ack) = req.on_segment(&seg, 0, NOW) else { panic!("no ack") };
        assert_eq!((ack.flags, ack.ack), (Flags::ACK, IRS.add(1)));
    }

    #[test]
    fn synack_is_retransmitted_with_backoff_then_given_up() {
        let cfg = Config { syn_retries: 5, ..Config::default() };
        let (mut req, sa) = Request::new(cfg, SERVER, CLIENT, &syn(), ISS, 3, NOW);
        let mut now = NOW;
        let mut rto = 1000;
        for _ in 0..5 {
            now += rto;
            let RequestTimer::Synack(again) = req.on_timer(now) else { panic!("no SYN-ACK") };
            assert_eq!((again.seq, again.ack, again.flags), (sa.seq, sa.ack, sa.flags));
            rto *= 2;
            assert_eq!(req.deadline, now + rto);
        }
        assert_eq!(req.on_timer(now + rto), RequestTimer::Expire);
    }

    #[test]
    fn a_queue_at_most_half_full_keeps_every_retry() {
        // reqsk_timer_handler prunes only past half the queue (of at
        // least 8): 32 of 64 is not past it, nor 4 of a backlog of 1.
        assert_eq!(pruned_retries(5, 32, 0, 64), 5);
        assert_eq!(pruned_retries(5, 4, 0, 1), 5);
        assert_eq!(pruned_retries(5, 0, 0, 0), 5);
    }

    #[test]
    fn a_flooded_queue_of_old_requests_is_cut_to_two_retries() {
        // A full queue (backlog + 1) of requests that were all sent again:
        // none young, so every step cuts one, down to two.
        assert_eq!(pruned_retries(5, 65, 0, 64), 2);
        assert_eq!(pruned_retries(2, 65, 0, 64), 2);
        assert_eq!(pruned_retries(1, 65, 0, 64), 1);
        // Young requests keep retries: with young*2 doubling past qlen.
        // 65 requests, 40 young: 80 > 65 at once, nothing cut.
        assert_eq!(pruned_retries(5, 65, 40, 64), 5);
        // 20 young: 40, then 80 > 65: one cut.
        assert_eq!(pruned_retries(5, 65, 20, 64), 4);
        // 10 young: 20, 40, then 80: two cuts.
        assert_eq!(pruned_retries(5, 65, 10, 64), 3);
        // Huge counts neither overflow nor panic.
        assert_eq!(pruned_retries(255, usize::MAX, usize::MAX / 2 + 7, usize::MAX), 255);
        assert_eq!(pruned_retries(255, usize::MAX, 1, 0), 2);
    }

    #[test]
    fn the_last_quarter_of_max_syn_backlog_is_reserved() {
        // 128: 96 requests leave exactly a quarter, 97 less.
        assert!(!syn_backlog_reserved(128, 0));
        assert!(!syn_backlog_reserved(128, 96));
        assert!(syn_backlog_reserved(128, 97));
        assert!(syn_backlog_reserved(128, usize::MAX));
        // Odd sizes round the quarter down, as `>> 2` does.
        assert!(!syn_backlog_reserved(130, 98));
        assert!(syn_backlog_reserved(130, 99));
        // A sysctl of 0 (or less) reserves everything but nothing.
        assert!(!syn_backlog_reserved(0, 0));
        assert!(syn_backlog_reserved(0, 1));
        assert!(syn_backlog_reserved(-4, 0));
    }

    #[test]
    fn a_pruned_request_goes_after_its_second_synack_again() {
        // Under a flood (two retries left): SYN-ACKs again at 1 s and 3 s,
        // the end at 7 s, where synack_retries 5 would keep it 63 s.
        let cfg = Config { syn_retries: 5, ..Config::default() };
        let (mut req, _) = Request::new(cfg, SERVER, CLIENT, &syn(), ISS, 3, NOW);
        assert!(matches!(req.on_timer_within(NOW + 1000, 2), RequestTimer::Synack(_)));
        assert!(matches!(req.on_timer_within(NOW + 3000, 2), RequestTimer::Synack(_)));
        assert_eq!(req.deadline, NOW + 7000);
        assert_eq!(req.on_timer_within(NOW + 7000, 2), RequestTimer::Expire);
    }

    #[test]
    fn defer_accept_drops_bare_acks_until_its_last_synack() {
        // TCP_DEFER_ACCEPT of 3 s: two retransmissions (1 s, then 2 s).
        let (mut req, _) = request();
        req.defer_accept = 2;
        let ack = from_client(IRS.add(1), ISS.add(1), Flags::ACK);
        assert!(req.defers(&ack, 0));
        // Data makes the connection at once.
        let mut data = req.clone();
        assert!(!data.defers(&ack, 10));
        // At 1 s nothing is sent; at 3 s the SYN-ACK again, whose ACK
        // makes the connection.
        assert_eq!(req.on_timer(NOW + 1000), RequestTimer::Wait);
        assert!(req.defers(&ack, 0));
        assert!(matches!(req.on_timer(NOW + 3000), RequestTimer::Synack(_)));
        assert!(!req.defers(&ack, 0));
        assert!(matches!(req.on_segment(&ack, 0, NOW + 3010), RequestOutcome::Established(_)));
        // Without a deferral nothing is dropped.
        let (mut plain, _) = request();
        assert!(!plain.defers(&ack, 0));
    }

    #[test]
    fn a_deferred_request_outlives_the_synack_retries_until_the_deferral_ends() {
        let cfg = Config { syn_retries: 1, ..Config::default() };
        let (mut req, _) = Request::new(cfg, SERVER, CLIENT, &syn(), ISS, 3, NOW);
        req.defer_accept = 3;
        assert!(req.defers(&from_client(IRS.add(1), ISS.add(1), Flags::ACK), 0));
        // syn_ack_recalc: silent at 1 s and 3 s, the SYN-ACK at 7 s (the
        // deferral's last), then the end.
        assert_eq!(req.on_timer(NOW + 1000), RequestTimer::Wait);
        assert_eq!(req.on_timer(NOW + 3000), RequestTimer::Wait);
        assert!(matches!(req.on_timer(NOW + 7000), RequestTimer::Synack(_)));
        assert_eq!(req.on_timer(NOW + 15_000), RequestTimer::Expire);
    }

    proptest! {
        /// No segment makes a request panic, and only the exact ACK of our
        /// SYN establishes it.
        #[test]
        fn any_segment(seq: u32, ack: u32, flags: u8, window: u16) {
            let (mut req, _) = request();
            let seg = Segment { window, ..from_client(SeqNum(seq), SeqNum(ack), Flags(flags)) };
            if let RequestOutcome::Established(c) = req.on_segment(&seg, 0, NOW) {
                prop_assert_eq!(SeqNum(ack), ISS.add(1));
                prop_assert!(Flags(flags).contains(Flags::ACK));
                prop_assert!(!Flags(flags).contains(Flags::RST) && !Flags(flags).contains(Flags::SYN));
                prop_assert_eq!(c.state, State::Established);
            }
        }
    }
}
