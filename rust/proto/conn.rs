// SPDX-License-Identifier: GPL-2.0

//! One connection's control block and the handshake of the active side
//! (RFC 9293 3.5 and 3.10.7.3), following `tcp_connect()` and
//! `tcp_rcv_synsent_state_process()` in Linux.
//!
//! The block is sans-IO: [`Conn::connect`] and [`Conn::on_segment`] return
//! the segment to send, [`Conn::deadline`] says when [`Conn::on_timer`]
//! wants to run; times are milliseconds of a monotonic clock the caller
//! reads. The passive side's embryonic state lives in `request`.

use super::icmp::{IcmpErrno, IcmpError};
use super::options::{Options, TCP_MAX_WSCALE};
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// The MSS assumed when the peer's SYN carries none (RFC 9293, 3.7.1).
pub const DEFAULT_MSS: u16 = 536;
/// The initial retransmission timeout (RFC 6298, 2.1).
pub const RTO_INITIAL_MS: u32 = 1000;
/// The largest retransmission timeout (`TCP_RTO_MAX`).
pub const RTO_MAX_MS: u32 = 120_000;
/// Bytes the timestamp option takes in every segment once negotiated.
pub const TS_OPTION_LEN: u16 = 12;

/// An IPv4 address and port, in host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// IPv4 address.
    pub addr: u32,
    /// Port.
    pub port: u16,
}

/// What this side offers in its SYN or SYN-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The MSS to advertise: the route's MTU less 40 bytes of headers.
    pub mss: u16,
    /// The receive window to offer, in bytes.
    pub rcv_wnd: u32,
    /// The window scale to offer (`None`: no window scaling).
    pub wscale: Option<u8>,
    /// Offer SACK.
    pub sack: bool,
    /// Offer timestamps.
    pub timestamps: bool,
    /// SYN (or SYN-ACK) retransmissions before giving up.
    pub syn_retries: u8,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mss: 1460,
            rcv_wnd: 64_240,
            wscale: Some(7),
            sack: true,
            timestamps: true,
            syn_retries: 6,
        }
    }
}

/// What the two SYNs agreed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's MSS (or [`DEFAULT_MSS`]).
    pub peer_mss: u16,
    /// The largest payload to send: the smaller MSS, less the timestamp
    /// option when timestamps are on.
    pub mss: u16,
    /// Shift applied to windows the peer advertises.
    pub snd_wscale: u8,
    /// Shift applied to windows we advertise.
    pub rcv_wscale: u8,
    /// Both sides permitted SACK.
    pub sack: bool,
    /// Both sides sent timestamps.
    pub timestamps: bool,
}

impl Negotiated {
    /// Combines our offer with the options of the peer's SYN (RFC 7323
    /// 2.2 and 3.2, RFC 2018 2, RFC 9293 3.7.1).
    pub fn new(ours: &Config, theirs: &Options) -> Negotiated {
        let peer_mss = match theirs.mss {
            // An MSS below 1 is nonsense; Linux keeps at least its minimum.
            Some(m) if m > 0 => m,
            _ => DEFAULT_MSS,
        };
        let timestamps = ours.timestamps && theirs.timestamp.is_some();
        let (snd_wscale, rcv_wscale) = match (ours.wscale, theirs.wscale) {
            (Some(o), Some(t)) => (t.min(TCP_MAX_WSCALE), o.min(TCP_MAX_WSCALE)),
            _ => (0, 0),
        };
        let mss = peer_mss.min(ours.mss);
        let mss = if timestamps { mss.saturating_sub(TS_OPTION_LEN) } else { mss };
        Negotiated {
            peer_mss,
            mss: mss.max(8),
            snd_wscale,
            rcv_wscale,
            sack: ours.sack && theirs.sack_permitted,
            timestamps,
        }
    }
}

/// Why a connection ended, as the errno the socket reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// A reset answered our SYN (`ECONNREFUSED`).
    Refused,
    /// A reset ended the connection (`ECONNRESET`).
    Reset,
    /// The SYN was retransmitted `syn_retries` times in vain (`ETIMEDOUT`).
    TimedOut,
    /// An ICMP error ended the handshake, or a timeout came after one
    /// (the soft error of `tcp_write_err`).
    Icmp(IcmpErrno),
}

/// What an ICMP error did to a connection (`tcp_v4_err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpAction {
    /// It quotes a sequence number we have not sent or that is acknowledged
    /// (`OutOfWindowIcmps`): ignored.
    OutOfWindow,
    /// TCP ignores this kind of message.
    Ignored,
    /// Kept as the soft error, reported if the connection times out.
    Soft,
    /// The handshake failed with this error: the connection is closed.
    Failed(ConnError),
}

/// What a segment or a timer did to a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A segment to send now.
    pub reply: Option<Segment>,
    /// The connection became established.
    pub established: bool,
    /// The connection ended with this error.
    pub error: Option<ConnError>,
}

impl Outcome {
    fn reply(seg: Segment) -> Outcome {
        Outcome { reply: Some(seg), ..Outcome::default() }
    }

    fn error(e: ConnError) -> Outcome {
        Outcome { error: Some(e), ..Outcome::default() }
    }
}

/// A connection's control block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// The state.
    pub state: State,
    /// This side.
    pub local: Endpoint,
    /// The peer.
    pub remote: Endpoint,
    /// What this side offered.
    pub cfg: Config,
    /// What the SYNs agreed on (valid from ESTABLISHED on).
    pub neg: Negotiated,
    /// Initial send sequence number.
    pub iss: SeqNum,
    /// Initial receive sequence number.
    pub irs: SeqNum,
    /// Oldest unacknowledged sequence number.
    pub snd_una: SeqNum,
    /// Next sequence number to send.
    pub snd_nxt: SeqNum,
    /// The peer's window, scaled.
    pub snd_wnd: u32,
    /// Next sequence number expected.
    pub rcv_nxt: SeqNum,
    /// The window we offer, in bytes.
    pub rcv_wnd: u32,
    /// Added to the clock for our TSval (a per-connection offset).
    pub ts_offset: u32,
    /// The peer's most recent TSval (`TS.Recent`).
    pub ts_recent: u32,
    /// Our TSval in the first SYN: SYN-ACKs must echo one from then on.
    pub syn_tsval: u32,
    /// Retransmissions of the current segment so far.
    pub retransmits: u8,
    /// The current retransmission timeout.
    pub rto_ms: u32,
    /// When [`Conn::on_timer`] wants to run.
    pub deadline: Option<u64>,
    /// The last ICMP error that did not end the connection
    /// (`sk_err_soft`).
    pub soft_error: Option<IcmpErrno>,
}

impl Conn {
    /// Active open: a block in SYN-SENT and the SYN to send (`tcp_connect`).
    pub fn connect(
        cfg: Config,
        local: Endpoint,
        remote: Endpoint,
        iss: SeqNum,
        ts_offset: u32,
        now: u64,
    ) -> (Conn, Segment) {
        let conn = Conn {
            state: State::SynSent,
            local,
            remote,
            cfg,
            neg: Negotiated::default(),
            iss,
            irs: SeqNum(0),
            snd_una: iss,
            snd_nxt: iss.add(1),
            snd_wnd: 0,
            rcv_nxt: SeqNum(0),
            rcv_wnd: cfg.rcv_wnd,
            ts_offset,
            ts_recent: 0,
            syn_tsval: 0,
            retransmits: 0,
            rto_ms: RTO_INITIAL_MS,
            deadline: Some(now.saturating_add(u64::from(RTO_INITIAL_MS))),
            soft_error: None,
        };
        let conn = Conn { syn_tsval: conn.tsval(now), ..conn };
        let syn = conn.syn(now);
        (conn, syn)
    }

    /// Our timestamp clock at `now`.
    pub fn tsval(&self, now: u64) -> u32 {
        // The low 32 bits of the millisecond clock, as Linux's tcp_clock_ms.
        (now as u32).wrapping_add(self.ts_offset)
    }

    /// A segment from this side with nothing in it yet.
    fn segment(&self, seq: SeqNum, flags: Flags) -> Segment {
        Segment {
            src_port: self.local.port,
            dst_port: self.remote.port,
            seq,
            flags,
            ..Segment::default()
        }
    }

    /// The window field to put in a segment: our window, scaled down, with
    /// no scaling in SYNs (RFC 7323, 2.2).
    fn window_field(&self, syn: bool) -> u16 {
        let shift = if syn { 0 } else { self.neg.rcv_wscale };
        u16::try_from(self.rcv_wnd >> shift).unwrap_or(u16::MAX)
    }

    /// Our SYN, with every option we offer.
    fn syn(&self, now: u64) -> Segment {
        let mut s = self.segment(self.iss, Flags::SYN);
        s.window = self.window_field(true);
        s.options = Options {
            mss: Some(self.cfg.mss),
            wscale: self.cfg.wscale,
            sack_permitted: self.cfg.sack,
            timestamp: self.cfg.timestamps.then(|| (self.tsval(now), 0)),
            ..Options::default()
        };
        s
    }

    /// A bare ACK of everything received.
    pub fn ack(&self, now: u64) -> Segment {
        let mut s = self.segment(self.snd_nxt, Flags::ACK);
        s.ack = self.rcv_nxt;
        s.window = self.window_field(false);
        if self.neg.timestamps {
            s.options.timestamp = Some((self.tsval(now), self.ts_recent));
        }
        s
    }

    /// Aborts the connection: the RST to send, if the state calls for one
    /// (RFC 9293 3.10.5: none from SYN-SENT, where the peer knows nothing
    /// of us yet; `tcp_disconnect` sends one from the synchronized states).
    pub fn abort(&mut self, now: u64) -> Option<Segment> {
        let rst = match self.state {
            State::Closed | State::Listen | State::SynSent | State::TimeWait => None,
            _ => {
                let mut s = self.segment(self.snd_nxt, Flags::RST | Flags::ACK);
                s.ack = self.rcv_nxt;
                if self.neg.timestamps {
                    s.options.timestamp = Some((self.tsval(now), self.ts_recent));
                }
                Some(s)
            }
        };
        self.state = State::Closed;
        self.deadline = None;
        rst
    }

    /// Processes an incoming segment of this connection.
    pub fn on_segment(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        match self.state {
            State::SynSent => self.syn_sent(seg, now),
            State::Established => self.established(seg, payload_len, now),
            // Other states belong to data transfer and teardown; until then
            // a segment for them is dropped.
            _ => Outcome::default(),
        }
    }

    /// RFC 9293 3.10.7.3, in Linux's order (`tcp_rcv_synsent_state_process`).
    fn syn_sent(&mut self, seg: &Segment, now: u64) -> Outcome {
        let f = seg.flags;
        if f.contains(Flags::ACK) {
            // Our SYN is all we sent: only its ACK is acceptable.
            if !seg.ack.between(self.snd_una.add(1), self.snd_nxt) {
                // An ACK of something we never sent: reset it, unless it is
                // a reset itself.
                return if f.contains(Flags::RST) {
                    Outcome::default()
                } else {
                    Outcome::reply(reset_for_ack(seg))
                };
            }
            // A timestamp echo from before our first SYN or from the future
            // is not an answer to our SYN (Linux resets it too).
            if let (Some((_, ecr)), true) = (seg.options.timestamp, self.cfg.timestamps) {
                if ecr != 0 && !SeqNum(ecr).between(SeqNum(self.syn_tsval), SeqNum(self.tsval(now))) {
                    return Outcome::reply(reset_for_ack(seg));
                }
            }
            if f.contains(Flags::RST) {
                self.state = State::Closed;
                self.deadline = None;
                return Outcome::error(ConnError::Refused);
            }
            if !f.contains(Flags::SYN) {
                // An acceptable ACK without SYN: nothing to do but wait.
                return Outcome::default();
            }
            self.accept_syn(seg);
            self.snd_una = seg.ack;
            self.snd_wnd = u32::from(seg.window) << self.neg.snd_wscale.min(TCP_MAX_WSCALE);
            self.state = State::Established;
            self.retransmits = 0;
            self.deadline = None;
            return Outcome { reply: Some(self.ack(now)), established: true, error: None };
        }
        if f.contains(Flags::RST) {
            // A reset without ACK cannot be about our SYN.
            return Outcome::default();
        }
        if f.contains(Flags::SYN) {
            // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
            self.accept_syn(seg);
            self.state = State::SynReceived;
            let mut s = self.syn(now);
            s.flags = Flags::SYN | Flags::ACK;
            s.ack = self.rcv_nxt;
            s.options.timestamp = self.neg.timestamps.then(|| (self.tsval(now), self.ts_recent));
            s.options.wscale = self.cfg.wscale.filter(|_| seg.options.wscale.is_some());
            s.options.sack_permitted = self.neg.sack;
            return Outcome::reply(s);
        }
        Outcome::default()
    }

    /// Takes in the peer's SYN: its sequence number and options.
    fn accept_syn(&mut self, seg: &Segment) {
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq.add(1);
        self.neg = Negotiated::new(&self.cfg, &seg.options);
        if let Some((val, _)) = seg.options.timestamp {
            self.ts_recent = val;
        }
    }

    /// ESTABLISHED, as far as the handshake goes: the RFC 5961 checks on
    /// RST and SYN. Data and FIN belong to data transfer.
    fn established(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        let f = seg.flags;
        if f.contains(Flags::RST) {
            return match self.rst_check(seg) {
                RstCheck::Exact => {
                    self.state = State::Closed;
                    self.deadline = None;
                    Outcome::error(ConnError::Reset)
                }
                RstCheck::InWindow => Outcome::reply(self.ack(now)),
                RstCheck::Outside => Outcome::default(),
            };
        }
        if f.contains(Flags::SYN) {
            // RFC 5961 4.2: any SYN here gets a challenge ACK.
            return Outcome::reply(self.ack(now));
        }
        // A retransmitted SYN-ACK means our final ACK was lost: ACK again.
        if !self.seq_acceptable(seg.seq, seg.seq_len(payload_len)) {
            return Outcome::reply(self.ack(now));
        }
        Outcome::default()
    }

    /// RFC 5961 3.2: where a reset's sequence number falls.
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
            (_, 0) => false,
            (_, _) => {
                let last = seq.add(len.wrapping_sub(1));
                (!seq.before(self.rcv_nxt) && seq.before(end))
                    || (!last.before(self.rcv_nxt) && last.before(end))
            }
        }
    }

    /// An ICMP error quoting one of our segments (`tcp_v4_err`): in
    /// SYN-SENT it ends the handshake; later it is a soft error (RFC 1122
    /// 4.2.3.9: a connection keeps trying until it times out).
    pub fn on_icmp(&mut self, e: &IcmpError) -> IcmpAction {
        if self.state == State::Closed {
            return IcmpAction::Ignored;
        }
        if !e.seq.between(self.snd_una, self.snd_nxt) {
            return IcmpAction::OutOfWindow;
        }
        let Some(errno) = e.errno() else { return IcmpAction::Ignored };
        if self.state == State::SynSent {
            self.state = State::Closed;
            self.deadline = None;
            return IcmpAction::Failed(ConnError::Icmp(errno));
        }
        self.soft_error = Some(errno);
        IcmpAction::Soft
    }

    /// When the retransmission timer is due (`None`: not armed).
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// The retransmission timer fired at `now`: the SYN again with the
    /// timeout doubled (RFC 6298 5.5), or the end after `syn_retries`.
    pub fn on_timer(&mut self, now: u64) -> Outcome {
        match self.deadline {
            Some(d) if now >= d => {}
            _ => return Outcome::default(),
        }
        if self.state != State::SynSent {
            self.deadline = None;
            return Outcome::default();
        }
        if self.retransmits >= self.cfg.syn_retries {
            self.state = State::Closed;
            self.deadline = None;
            return Outcome::error(self.soft_error.map_or(ConnError::TimedOut, ConnError::Icmp));
        }
        self.retransmits = self.retransmits.saturating_add(1);
        self.rto_ms = self.rto_ms.saturating_mul(2).min(RTO_MAX_MS);
        self.deadline = Some(now.saturating_add(u64::from(self.rto_ms)));
        Outcome::reply(self.syn(now))
    }
}

enum RstCheck {
    Exact,
    InWindow,
    Outside,
}

/// The reset for an unacceptable ACK: `<SEQ=SEG.ACK><CTL=RST>`.
fn reset_for_ack(seg: &Segment) -> Segment {
    Segment {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        seq: seg.ack,
        flags: Flags::RST,
        ..Segment::default()
    }
}

/// The reset that answers a segment no connection wants (RFC 9293 3.10.7.1,
/// `tcp_v4_send_reset`): none for a reset; `<SEQ=SEG.ACK><CTL=RST>` for an
/// ACK; otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub fn reset_for(seg: &Segment, payload_len: u32) -> Option<Segment> {
    if seg.flags.contains(Flags::RST) {
        return None;
    }
    if seg.flags.contains(Flags::ACK) {
        return Some(reset_for_ack(seg));
    }
    Some(Segment {
        src_port: seg.dst_port,
        dst_port: seg.src_port,
        seq: SeqNum(0),
        ack: seg.seq.add(seg.seq_len(payload_len)),
        flags: Flags::RST | Flags::ACK,
        ..Segment::default()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::request::{Request, RequestOutcome};

    pub(crate) const CLIENT: Endpoint = Endpoint { addr: 0x0a00_0001, port: 40000 };
    pub(crate) const SERVER: Endpoint = Endpoint { addr: 0x0a00_0002, port: 80 };
    const ISS: SeqNum = SeqNum(1000);
    const IRS: SeqNum = SeqNum(0xffff_fff0);
    const NOW: u64 = 5_000;

    fn connect() -> (Conn, Segment) {
        Conn::connect(Config::default(), CLIENT, SERVER, ISS, 7, NOW)
    }

    /// The server's SYN-ACK to our SYN, as Linux would send it.
    fn synack(syn: &Segment) -> Segment {
        Segment {
            src_port: SERVER.port,
            dst_port: CLIENT.port,
            seq: IRS,
            ack: syn.seq.add(1),
            flags: Flags::SYN | Flags::ACK,
            window: 65160,
            options: Options {
                mss: Some(1400),
                wscale: Some(9),
                sack_permitted: true,
                timestamp: Some((777, syn.options.timestamp.unwrap().0)),
                ..Options::default()
            },
            ..Segment::default()
        }
    }

    // =========================================================================
    // Tests for the SYN-SENT state
    // =========================================================================

    #[test]
    fn connect_sends_a_syn_with_every_option() {
        let (c, syn) = connect();
        assert_eq!(c.state, State::SynSent);
        assert_eq!(syn.flags, Flags::SYN);
        assert_eq!((syn.src_port, syn.dst_port), (CLIENT.port, SERVER.port));
        assert_eq!(syn.seq, ISS);
        assert_eq!(syn.options.mss, Some(1460));
        assert_eq!(syn.options.wscale, Some(7));
        assert!(syn.options.sack_permitted);
        assert_eq!(syn.options.timestamp, Some((NOW as u32 + 7, 0)));
        // The window of a SYN is never scaled.
        assert_eq!(syn.window, 64240);
        assert_eq!(c.snd_nxt, ISS.add(1));
        assert_eq!(c.deadline(), Some(NOW + 1000));
    }

    #[test]
    fn synack_establishes_and_acks() {
        let (mut c, syn) = connect();
        let out = c.on_segment(&synack(&syn), 0, NOW + 10);
        assert!(out.established);
        assert_eq!(c.state, State::Established);
        let ack = out.reply.unwrap();
        assert_eq!(ack.flags, Flags::ACK);
        assert_eq!(ack.seq, ISS.add(1));
        assert_eq!(ack.ack, IRS.add(1));
        assert_eq!(ack.options.timestamp, Some((NOW as u32 + 10 + 7, 777)));
        // Window scaled by our shift from now on.
        assert_eq!(ack.window, (64240 >> 7) as u16);
        assert_eq!(c.deadline(), None);
        assert_eq!(
            c.neg,
            Negotiated {
                peer_mss: 1400,
                mss: 1400 - 12,
                snd_wscale: 9,
                rcv_wscale: 7,
                sack: true,
                timestamps: true
            }
        );
        assert_eq!(c.snd_wnd, 65160 << 9);
        assert_eq!(c.rcv_nxt, IRS.add(1));
        assert_eq!(c.snd_una, ISS.add(1));
    }

    #[test]
    fn synack_without_options_turns_them_off() {
        let (mut c, syn) = connect();
        let mut sa = synack(&syn);
        sa.options = Options::default();
        assert!(c.on_segment(&sa, 0, NOW).established);
        assert_eq!(
            c.neg,
            Negotiated {
                peer_mss: DEFAULT_MSS,
                mss: DEFAULT_MSS,
                snd_wscale: 0,
                rcv_wscale: 0,
                sack: false,
                timestamps: false
            }
        );
        assert_eq!(c.ack(NOW).options, Options::default());
    }

    #[test]
    fn synack_window_scale_is_clamped_to_14() {
        let (mut c, syn) = connect();
        let mut sa = synack(&syn);
        sa.options.wscale = Some(15);
        c.on_segment(&sa, 0, NOW);
        assert_eq!(c.neg.snd_wscale, 14);
    }

    #[test]
    fn synack_with_a_wrong_ack_is_reset() {
        for ack in [ISS, ISS.add(2), ISS.sub(100)] {
            let (mut c, syn) = connect();
            let mut sa = synack(&syn);
            sa.ack = ack;
            let out = c.on_segment(&sa, 0, NOW);
            assert_eq!(
                out.reply,
                Some(Segment {
                    src_port: CLIENT.port,
                    dst_port: SERVER.port,
                    seq: ack,
                    flags: Flags::RST,
                    ..Segment::default()
                })
            );
            assert_eq!(c.state, State::SynSent, "ack {ack:?}");
            assert!(!out.established);
        }
    }

    #[test]
    fn synack_echoing_a_timestamp_we_never_sent_is_reset() {
        let (mut c, syn) = connect();
        let mut sa = synack(&syn);
        sa.options.timestamp = Some((777, NOW as u32 + 7 + 60_000));
        assert_eq!(c.on_segment(&sa, 0, NOW).reply.map(|r| r.flags), Some(Flags::RST));
        assert_eq!(c.state, State::SynSent);
    }

    #[test]
    fn rst_acking_our_syn_is_refused() {
        let (mut c, syn) = connect();
        let rst = Segment { flags: Flags::RST | Flags::ACK, ack: syn.seq.add(1), ..synack(&syn) };
        let out = c.on_segment(&rst, 0, NOW);
        assert_eq!(out.error, Some(ConnError::Refused));
        assert_eq!(out.reply, None);
        assert_eq!(c.state, State::Closed);
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn rst_with_a_wrong_ack_or_no_ack_is_ignored() {
        let (mut c, syn) = connect();
        let rst = Segment { flags: Flags::RST | Flags::ACK, ack: syn.seq.add(5), ..synack(&syn) };
        assert_eq!(c.on_segment(&rst, 0, NOW), Outcome::default());
        let rst = Segment { flags: Flags::RST, ..synack(&syn) };
        assert_eq!(c.on_segment(&rst, 0, NOW), Outcome::default());
        assert_eq!(c.state, State::SynSent);
    }

    #[test]
    fn ack_without_syn_is_ignored() {
        let (mut c, syn) = connect();
        let ack = Segment { flags: Flags::ACK, ..synack(&syn) };
        assert_eq!(c.on_segment(&ack, 0, NOW), Outcome::default());
        assert_eq!(c.state, State::SynSent);
    }

    #[test]
    fn bare_syn_is_a_simultaneous_open() {
        let (mut c, syn) = connect();
        let mut s = synack(&syn);
        s.flags = Flags::SYN;
        let out = c.on_segment(&s, 0, NOW);
        assert_eq!(c.state, State::SynReceived);
        let sa = out.reply.unwrap();
        assert_eq!(sa.flags, Flags::SYN | Flags::ACK);
        assert_eq!((sa.seq, sa.ack), (ISS, IRS.add(1)));
    }

    #[test]
    fn syn_is_retransmitted_with_backoff_then_times_out() {
        let (mut c, syn) = connect();
        assert_eq!(c.on_timer(NOW + 999), Outcome::default());
        let mut now = NOW;
        let mut rto = 1000;
        for i in 1..=6 {
            now += rto;
            let out = c.on_timer(now);
            let again = out.reply.unwrap();
            assert_eq!((again.seq, again.flags), (syn.seq, Flags::SYN));
            assert_eq!(c.retransmits, i);
            rto *= 2;
            assert_eq!(c.deadline(), Some(now + rto));
        }
        // 1 + 2 + 4 + 8 + 16 + 32 s, then 64 s more: Linux's 127 s.
        now += rto;
        assert_eq!(now - NOW, 127_000);
        assert_eq!(c.on_timer(now).error, Some(ConnError::TimedOut));
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn syn_retries_zero_times_out_after_one_rto() {
        let cfg = Config { syn_retries: 0, ..Config::default() };
        let (mut c, _) = Conn::connect(cfg, CLIENT, SERVER, ISS, 0, NOW);
        assert_eq!(c.on_timer(NOW + 1000).error, Some(ConnError::TimedOut));
    }

    fn icmp_about(c: &Conn, icmp_type: u8, code: u8, seq: SeqNum) -> IcmpError {
        IcmpError { icmp_type, code, local: c.local, remote: c.remote, seq }
    }

    #[test]
    fn icmp_unreachable_ends_syn_sent_with_its_errno() {
        use crate::icmp::*;
        for (t, code, want) in [
            (ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, IcmpErrno::HostUnreach),
            (ICMP_DEST_UNREACH, ICMP_NET_UNREACH, IcmpErrno::NetUnreach),
            (ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, IcmpErrno::ConnRefused),
            (ICMP_TIME_EXCEEDED, 0, IcmpErrno::HostUnreach),
            (ICMP_PARAMETERPROB, 0, IcmpErrno::Proto),
        ] {
            let (mut c, _) = connect();
            let e = icmp_about(&c, t, code, ISS);
            assert_eq!(c.on_icmp(&e), IcmpAction::Failed(ConnError::Icmp(want)));
            assert_eq!((c.state, c.deadline), (State::Closed, None));
        }
    }

    #[test]
    fn icmp_in_syn_sent_must_quote_our_syn() {
        use crate::icmp::*;
        let (mut c, _) = connect();
        for seq in [ISS.sub(1), ISS.add(2), ISS.add(1 << 31)] {
            let e = icmp_about(&c, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, seq);
            assert_eq!(c.on_icmp(&e), IcmpAction::OutOfWindow);
        }
        assert_eq!(c.state, State::SynSent);
    }

    #[test]
    fn icmp_that_tcp_ignores_leaves_syn_sent_alone() {
        use crate::icmp::*;
        let (mut c, _) = connect();
        for (t, code) in [(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), (ICMP_SOURCE_QUENCH, 0), (ICMP_DEST_UNREACH, 16)] {
            assert_eq!(c.on_icmp(&icmp_about(&c, t, code, ISS)), IcmpAction::Ignored);
        }
        assert_eq!(c.state, State::SynSent);
        assert!(c.deadline.is_some());
    }

    #[test]
    fn a_timeout_after_a_soft_error_reports_the_soft_error() {
        let (mut c, _) = connect();
        c.soft_error = Some(IcmpErrno::HostUnreach);
        let last = loop {
            let out = c.on_timer(c.deadline.unwrap());
            if out.error.is_some() {
                break out.error;
            }
        };
        assert_eq!(last, Some(ConnError::Icmp(IcmpErrno::HostUnreach)));
    }

    #[test]
    fn abort_in_syn_sent_sends_nothing() {
        let (mut c, _) = connect();
        assert_eq!(c.abort(NOW), None);
        assert_eq!(c.state, State::Closed);
    }

    // =========================================================================
    // Tests for the ESTABLISHED state (the handshake's part of it)
    // =========================================================================

    fn established() -> Conn {
        let (mut c, syn) = connect();
        assert!(c.on_segment(&synack(&syn), 0, NOW).established);
        c
    }

    fn from_server(c: &Conn, seq: SeqNum, flags: Flags) -> Segment {
        Segment {
            src_port: SERVER.port,
            dst_port: CLIENT.port,
            seq,
            ack: c.snd_nxt,
            flags,
            window: 1000,
            ..Segment::default()
        }
    }

    #[test]
    fn rst_at_rcv_nxt_resets() {
        let mut c = established();
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::RST), 0, NOW);
        assert_eq!(out.error, Some(ConnError::Reset));
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn rst_in_window_but_not_exact_gets_a_challenge_ack() {
        let mut c = established();
        let out = c.on_segment(&from_server(&c, c.rcv_nxt.add(100), Flags::RST), 0, NOW);
        let ack = out.reply.unwrap();
        assert_eq!((ack.flags, ack.ack), (Flags::ACK, c.rcv_nxt));
        assert_eq!(c.state, State::Established);
    }

    #[test]
    fn rst_outside_the_window_is_ignored() {
        let mut c = established();
        let seq = c.rcv_nxt.add(c.rcv_wnd + 10);
        assert_eq!(c.on_segment(&from_server(&c, seq, Flags::RST), 0, NOW), Outcome::default());
        let seq = c.rcv_nxt.sub(1);
        assert_eq!(c.on_segment(&from_server(&c, seq, Flags::RST), 0, NOW), Outcome::default());
        assert_eq!(c.state, State::Established);
    }

    #[test]
    fn syn_in_established_gets_a_challenge_ack() {
        let mut c = established();
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::SYN), 0, NOW);
        assert_eq!(out.reply.map(|s| s.flags), Some(Flags::ACK));
        assert_eq!(c.state, State::Established);
    }

    #[test]
    fn retransmitted_synack_is_acked_again() {
        let mut c = established();
        let out = c.on_segment(&from_server(&c, IRS, Flags::SYN | Flags::ACK), 0, NOW);
        assert_eq!(out.reply.map(|s| (s.flags, s.ack)), Some((Flags::ACK, IRS.add(1))));
    }

    #[test]
    fn icmp_when_established_is_a_soft_error() {
        use crate::icmp::*;
        let mut c = established();
        let e = icmp_about(&c, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, c.snd_una);
        assert_eq!(c.on_icmp(&e), IcmpAction::Soft);
        assert_eq!(c.state, State::Established);
        assert_eq!(c.soft_error, Some(IcmpErrno::HostUnreach));
        // Nothing is in flight: any other sequence number is out of window.
        let e = icmp_about(&c, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, c.snd_una.add(1));
        assert_eq!(c.on_icmp(&e), IcmpAction::OutOfWindow);
        assert_eq!(c.soft_error, Some(IcmpErrno::HostUnreach));
    }

    #[test]
    fn abort_when_established_sends_rst_ack() {
        let mut c = established();
        let rst = c.abort(NOW).unwrap();
        assert_eq!(rst.flags, Flags::RST | Flags::ACK);
        assert_eq!((rst.seq, rst.ack), (ISS.add(1), IRS.add(1)));
        assert_eq!(c.state, State::Closed);
    }

    // =========================================================================
    // Both sides of the handshake against each other
    // =========================================================================

    #[test]
    fn three_way_handshake_between_two_endpoints() {
        let server_cfg = Config { mss: 1200, wscale: Some(3), ..Config::default() };
        let (mut client, syn) = connect();
        let (mut req, synack) =
            Request::new(server_cfg, SERVER, CLIENT, &syn, SeqNum(0x8000_0000), 99, NOW);
        let out = client.on_segment(&synack, 0, NOW + 1);
        assert!(out.established);
        let RequestOutcome::Established(server) = req.on_segment(&out.reply.unwrap(), NOW + 2) else {
            panic!("the final ACK did not establish the server side");
        };
        assert_eq!(server.state, State::Established);
        assert_eq!((client.snd_nxt, client.rcv_nxt), (server.rcv_nxt, server.snd_nxt));
        assert_eq!(client.neg.mss, 1200 - 12);
        assert_eq!(server.neg.mss, 1200 - 12);
        assert_eq!((client.neg.snd_wscale, client.neg.rcv_wscale), (3, 7));
        assert_eq!((server.neg.snd_wscale, server.neg.rcv_wscale), (7, 3));
    }

    #[test]
    fn reset_for_answers_as_rfc_9293_says() {
        let ack = Segment { flags: Flags::ACK, seq: SeqNum(5), ack: SeqNum(77), ..Segment::default() };
        assert_eq!(reset_for(&ack, 10).map(|r| (r.flags, r.seq)), Some((Flags::RST, SeqNum(77))));
        let syn = Segment { flags: Flags::SYN, seq: SeqNum(5), ..Segment::default() };
        assert_eq!(
            reset_for(&syn, 0).map(|r| (r.flags, r.seq, r.ack)),
            Some((Flags::RST | Flags::ACK, SeqNum(0), SeqNum(6)))
        );
        let data = Segment { flags: Flags::PSH, seq: SeqNum(5), ..Segment::default() };
        assert_eq!(reset_for(&data, 10).map(|r| r.ack), Some(SeqNum(15)));
        let rst = Segment { flags: Flags::RST, ..Segment::default() };
        assert_eq!(reset_for(&rst, 0), None);
    }
}

#[cfg(test)]
mod props {
    use super::tests::{CLIENT, SERVER};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No segment makes SYN-SENT panic, and only a SYN-ACK acking our
        /// SYN exactly establishes the connection.
        #[test]
        fn any_segment_in_syn_sent(seq: u32, ack: u32, flags: u8, window: u16,
                                   ts in any::<Option<(u32, u32)>>(), payload_len: u32) {
            let (mut c, syn) = Conn::connect(Config::default(), CLIENT, SERVER, SeqNum(9), 0, 100);
            let seg = Segment {
                src_port: SERVER.port, dst_port: CLIENT.port, seq: SeqNum(seq), ack: SeqNum(ack),
                flags: Flags(flags), window,
                options: Options { timestamp: ts, ..Options::default() },
                ..Segment::default()
            };
            let out = c.on_segment(&seg, payload_len, 100);
            if out.established {
                prop_assert_eq!(SeqNum(ack), syn.seq.add(1));
                prop_assert!(Flags(flags).contains(Flags::SYN | Flags::ACK));
                prop_assert!(!Flags(flags).contains(Flags::RST));
                prop_assert_eq!(c.state, State::Established);
            }
        }
    }
}
