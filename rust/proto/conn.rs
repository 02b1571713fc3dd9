// SPDX-License-Identifier: GPL-2.0

//! One connection's control block: the handshake of the active side
//! (RFC 9293 3.5 and 3.10.7.3), following `tcp_connect()` and
//! `tcp_rcv_synsent_state_process()` in Linux, and the closing states
//! (RFC 9293 3.6 and 3.10.7.4, `tcp_close()`, `tcp_fin()`,
//! `tcp_rcv_state_process()`, `tcp_timewait_state_process()`):
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
//!
//! Data is not carried yet: a segment with payload is not taken in (the
//! peer is told what we have, and retransmits it), so a FIN after data
//! waits until the data transfer arrives.
//!
//! The block is sans-IO: [`Conn::connect`] and [`Conn::on_segment`] return
//! the segment to send, [`Conn::deadline`] says when [`Conn::on_timer`]
//! wants to run; times are milliseconds of a monotonic clock the caller
//! reads. The passive side's embryonic state lives in `request`.

use super::addr::Addr;
use super::icmp::{IcmpErrno, IcmpError};
use super::options::{Options, TCP_MAX_WSCALE};
use super::output::Transmit;
use super::rtt::Rtt;
use super::segment::{Flags, Segment};
use super::seq::SeqNum;
use super::state::State;

/// The MSS assumed when the peer's SYN carries none (RFC 9293, 3.7.1).
pub const DEFAULT_MSS: u16 = 536;
/// The shortest timer Linux arms (`TCP_TIMEOUT_MIN`, two jiffies).
pub const TIMEOUT_MIN_MS: u64 = 2;
/// The initial retransmission timeout (RFC 6298, 2.1).
pub const RTO_INITIAL_MS: u32 = 1000;
/// How much older than TS.Recent a timestamp may be and still pass PAWS
/// (`TCP_PAWS_WINDOW`): segments sent at once from two contexts may leave
/// a tick apart in the other order.
pub const TCP_PAWS_WINDOW: i32 = 1;
/// The largest retransmission timeout (`TCP_RTO_MAX`).
pub const RTO_MAX_MS: u32 = 120_000;
/// Bytes the timestamp option takes in every segment once negotiated.
pub const TS_OPTION_LEN: u16 = 12;
/// How long TIME-WAIT lasts (Linux's `TCP_TIMEWAIT_LEN`, its 2 MSL).
pub const TIME_WAIT_MS: u64 = 60_000;
/// How long an orphaned connection waits in FIN-WAIT-2 for the peer's FIN
/// (`net.ipv4.tcp_fin_timeout`).
pub const FIN_TIMEOUT_MS: u64 = 60_000;
/// Retransmissions of our FIN before an orphaned connection gives up
/// (`tcp_orphan_retries()` with the sysctl at 0).
pub const ORPHAN_RETRIES: u8 = 8;
/// Retransmissions before a connection gives up (`net.ipv4.tcp_retries2`).
pub const RETRIES2: u8 = 15;
/// How long an ACK may wait for more data to ride on (`TCP_DELACK_MIN`).
pub const DELACK_MS: u64 = 40;
/// The least time between two ACKs that answer unacceptable segments
/// (`net.ipv4.tcp_invalid_ratelimit`).
pub const OOW_ACK_INTERVAL_MS: u64 = 500;
/// ACKs sent at once, not delayed, at the start of a connection
/// (`TCP_MAX_QUICKACKS`).
pub const QUICKACKS: u8 = 16;

/// An address and port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The address, IPv6 or IPv4 v4-mapped.
    pub addr: Addr,
    /// Port.
    pub port: u16,
}

/// What this side offers in its SYN or SYN-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The largest segment the path takes: the route's MTU less 40 bytes
    /// of headers (and at most `TCP_MAXSEG`).
    pub mss: u16,
    /// The MSS to advertise, if not `mss`: the route's `advmss` metric
    /// (`dst_metric_advmss`; 0: `mss`).
    pub adv_mss: u16,
    /// The initial congestion window in segments: the route's `initcwnd`
    /// (`tcp_init_cwnd`; 0: `TCP_INIT_CWND`, 10).
    pub init_cwnd: u32,
    /// The route's locked `rto_min` in microseconds, which takes the place
    /// of the socket's minimum (`tcp_rto_min`; 0: none).
    pub route_rto_min_us: u32,
    /// The receive window to offer, in bytes: the most it may be until the
    /// buffer grows (`rcv_ssthresh`).
    pub rcv_wnd: u32,
    /// The room the receive buffer gives the window (`tcp_space` of the
    /// whole buffer, before `rcv_wnd` was rounded down to the MSS): unread
    /// bytes shrink the window only once they eat into `rcv_wnd` (0: the
    /// same as `rcv_wnd`).
    pub rcv_space: u32,
    /// The window scale to offer (`None`: no window scaling).
    pub wscale: Option<u8>,
    /// Offer SACK.
    pub sack: bool,
    /// Offer timestamps.
    pub timestamps: bool,
    /// SYN (or SYN-ACK) retransmissions before giving up.
    pub syn_retries: u8,
    /// SYN retransmissions, first, that wait the initial timeout again
    /// rather than twice the last (`tcp_syn_linear_timeouts`): they come
    /// on top of `syn_retries`.
    pub syn_linear_timeouts: u8,
    /// Bytes the send buffer holds.
    pub sndbuf: u32,
    /// The receive buffer in Linux's units, `truesize` (`sk_rcvbuf`; 0:
    /// twice `rcv_space`, or `rcv_wnd`). The window is what it holds at
    /// the peer's segments' ratio of payload to memory
    /// ([`super::rwnd`]).
    pub rcvbuf: u32,
    /// The most the receive buffer may grow to (`tcp_rmem[2]`; 0: its
    /// default, 6 MiB).
    pub rmem_max: u32,
    /// The window growth in congestion avoidance (`TCP_CONGESTION`).
    pub congestion: super::cc::Algorithm,
    /// The most window ever offered (`TCP_WINDOW_CLAMP`, `window_clamp`;
    /// 0: no clamp but the buffer's).
    pub window_clamp: u32,
}

impl Config {
    /// The MSS our SYN or SYN-ACK offers.
    pub fn advertised_mss(&self) -> u16 {
        if self.adv_mss == 0 { self.mss } else { self.adv_mss }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mss: 1460,
            adv_mss: 0,
            init_cwnd: 0,
            route_rto_min_us: 0,
            rcv_wnd: 64_240,
            rcv_space: 0,
            wscale: Some(7),
            sack: true,
            timestamps: true,
            syn_retries: 6,
            syn_linear_timeouts: 4,
            sndbuf: 65_536,
            rcvbuf: 0,
            rmem_max: 0,
            congestion: super::cc::Algorithm::Cubic,
            window_clamp: 0,
        }
    }
}

/// The segment size for a peer whose largest window so far is
/// `max_window` (`tcp_bound_to_half_wnd`, applied by `tcp_sync_mss` when
/// the connection is established): at most half that window, when it is
/// more than the default MSS (536), but never below 68 bytes of segment
/// with its `header` (the TCP header and options).
pub fn bound_to_half_window(mss: u32, max_window: u32, header: u32) -> u32 {
    let cutoff = if max_window > 536 { max_window >> 1 } else { max_window };
    if cutoff > 0 && mss > cutoff { cutoff.max(68u32.saturating_sub(header)) } else { mss }
}

/// `tcp_select_initial_window`: the window a SYN or SYN-ACK offers and
/// the window scale. `space` is what the receive buffer lets the window
/// use (Linux's `tcp_full_space`: half the buffer), `mss` the segment size
/// the window is rounded down to (the route's, less the 12 bytes of the
/// timestamp option when a passive open will carry it), `clamp` the most
/// the window may ever be (0: no clamp), and `scale_to`, when the scale is
/// offered, the largest space the window may grow to (`max(tcp_rmem[2],
/// rmem_max)`), which chooses the scale.
pub fn initial_window(space: u32, mss: u32, clamp: u32, scale_to: Option<u32>) -> (u32, Option<u8>) {
    let clamp = if clamp == 0 { u32::from(u16::MAX) << TCP_MAX_WSCALE } else { clamp };
    let mut space = space.min(clamp);
    if mss > 0 && space > mss {
        space = space.saturating_sub(space.checked_rem(mss).unwrap_or(0));
    }
    let wscale = scale_to.map(|most| {
        let most = space.max(most).min(clamp);
        let log = most.checked_ilog2().unwrap_or(0);
        u8::try_from(log.saturating_sub(15)).unwrap_or(TCP_MAX_WSCALE).min(TCP_MAX_WSCALE)
    });
    (space, wscale)
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
    /// The SYN was retransmitted `syn_retries` times in vain, or a FIN
    /// went unacknowledged (`ETIMEDOUT`).
    TimedOut,
    /// A reset came after the peer's FIN (`EPIPE`, as `tcp_reset` in
    /// CLOSE-WAIT).
    Pipe,
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
    /// Fragmentation needed, with the next hop's MTU: path MTU discovery
    /// (RFC 1191) lowers the route's MTU, then [`Conn::mtu_reduced`].
    MtuReduced(u16),
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
    /// The peer's FIN arrived in order: no more data will come (reads
    /// return 0, poll says `POLLRDHUP`).
    pub eof: bool,
    /// The connection reached CLOSED at its normal end (LAST-ACK or
    /// TIME-WAIT over, an orphan's FIN-WAIT-2 timed out): it can go.
    pub closed: bool,
    /// Payload bytes to keep: copy them into the receive buffer.
    pub data: Option<Place>,
    /// Bytes that became readable, in order (commit them in the receive
    /// buffer after copying `data`).
    pub readable: u32,
    /// Bytes of the send buffer the peer acknowledged: drop them from its
    /// head.
    pub acked: u32,
    /// The connection entered TIME-WAIT.
    pub time_wait: bool,
    /// The Fast Open cookie the peer's SYN-ACK gave (to cache for it),
    /// with its MSS (`tcp_fastopen_cache_set`).
    pub fastopen_cookie: Option<(super::options::FastOpen, u16)>,
    /// A new urgent pointer came: `SIGURG` to the owner.
    pub sigurg: bool,
    /// The urgent byte is in the segment's payload, at this offset: the
    /// stream keeps it aside for `recv(MSG_OOB)` (and `POLLPRI` says so).
    pub urg_at: Option<u32>,
    /// The counters the segment moved (`Tcp:`/`TcpExt:`).
    pub mib: super::mib::Mib,
}

/// Where the kept part of a segment's payload goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// Bytes of the payload to skip (already received).
    pub skip: u32,
    /// Bytes to copy.
    pub len: u32,
    /// Offset in the receive buffer, from its head (the first unread byte).
    pub at: u32,
}

impl Outcome {
    pub(crate) fn reply(seg: Segment) -> Outcome {
        Outcome { reply: Some(seg), ..Outcome::default() }
    }

    pub(crate) fn error(e: ConnError) -> Outcome {
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
    /// The round-trip estimator behind the retransmission timeout.
    pub rtt: Rtt,
    /// The data path: buffers, windows, congestion control, delayed ACK
    /// (valid from ESTABLISHED on).
    pub data: Data,
    /// No socket holds the connection any more (`close()`): it finishes
    /// on its own, with the orphan's limits.
    pub orphan: bool,
    /// The last ICMP error that did not end the connection
    /// (`sk_err_soft`).
    pub soft_error: Option<IcmpErrno>,
}

/// The data path of a connection (`tcp_sock`'s send and receive
/// variables beside RFC 9293's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Data {
    /// After the last byte the user queued (`write_seq`).
    pub snd_end: SeqNum,
    /// The highest sequence number sent: `SND.NXT` goes back to `SND.UNA`
    /// after a timeout, this does not.
    pub snd_max: SeqNum,
    /// The segment that last updated the send window (`SND.WL1`, `SND.WL2`).
    pub snd_wl1: SeqNum,
    /// See `snd_wl1`.
    pub snd_wl2: SeqNum,
    /// The largest window the peer offered (`MAX.SND.WND`).
    pub max_window: u32,
    /// The size of the segments we send (`mss_cache`), set when the data
    /// path starts ([`bound_to_half_window`]); 0 before.
    pub snd_mss: u32,
    /// The end of the last segment sent with PSH (`pushed_seq`).
    pub pushed: SeqNum,
    /// The end of the last new segment sent shorter than the MSS
    /// (`snd_sml`): Nagle holds a short one only while such a segment is
    /// unacknowledged (Minshall's variant, `tcp_minshall_check`).
    pub snd_sml: SeqNum,
    /// The bytes queued last do not end a write (more of it follows, or
    /// `MSG_MORE`): the segment that ends them carries no PSH.
    pub more: bool,
    /// The send buffer's size.
    pub tx_cap: u32,
    /// The user is done sending: our FIN follows the data, at `snd_end`.
    pub fin_queued: bool,
    /// Congestion control.
    pub cc: super::cc::Cc,
    /// Send the segment at `SND.UNA` again (fast retransmit).
    pub rtx_head: bool,
    /// What the peer's SACK blocks say it holds past `SND.UNA` (RFC 6675's
    /// scoreboard).
    pub sacked: super::reasm::Reassembly,
    /// In recovery, the end of the last hole sent again (RFC 6675
    /// `HighRxt`): the next goes from there.
    pub rtx_next: SeqNum,
    /// `TCP_NODELAY`: no Nagle.
    pub nodelay: bool,
    /// `TCP_CORK`: only full segments.
    pub cork: bool,
    /// A segment timed for a round-trip sample when there are no
    /// timestamps: its last sequence number and when it left.
    pub timed: Option<(SeqNum, u64)>,
    /// The round trip as the receiving side sees it, in us: from our
    /// timestamp echoed on arriving data (`tcp_rcv_rtt_measure_ts`), a
    /// moving average (0: no sample yet). A side that only receives has
    /// no other: its ACKs are not timed.
    pub rcv_rtt_us: u32,
    /// The window is zero and data waits: the timer probes it.
    pub probing: bool,
    /// Bytes received in order and not read yet.
    pub rx_unread: u32,
    /// Bytes the receive buffer holds past the most window it offers, for
    /// what a window rounded up to the scale lets in.
    pub rx_slack: u32,
    /// Bytes the receive buffer holds, slack included (0: not known yet,
    /// the initial window and the slack).
    pub rx_cap: u32,
    /// The numbers the offered window is chosen by.
    pub rwin: super::rwnd::RcvWindow,
    /// What the segment being taken in costs the buffer, when the caller
    /// knows ([`Conn::on_segment_costing`]).
    pub rx_cost: Option<super::rwnd::Cost>,
    /// What arrived past `RCV.NXT`.
    pub ooo: super::reasm::Reassembly,
    /// Bytes that arrived again, below `RCV.NXT`, for the next ACK to
    /// report first (a D-SACK block, RFC 2883; `tcp_dsack_set`).
    pub dsack: Option<(SeqNum, SeqNum)>,
    /// The right edge of the window last advertised.
    pub rcv_adv: SeqNum,
    /// `RCV.NXT` when we last sent a window (`rcv_wup`).
    pub rcv_wup: SeqNum,
    /// Full segments received since our last ACK.
    pub unacked: u8,
    /// ACKs still to send at once (`icsk_ack.quick`), at the start.
    pub quickacks: u8,
    /// `TCP_QUICKACK` 0 (`inet_csk_enter_pingpong_mode`): no quick ACKs,
    /// every ACK may wait for data to ride on.
    pub pingpong: bool,
    /// `TCP_NOTSENT_LOWAT` (0: none, the sysctl's `UINT_MAX`): the writer
    /// waits while this many bytes or more are not yet sent.
    pub notsent_lowat: u32,
    /// The last write said `MSG_MORE`: its short tail waits, as under
    /// `TCP_CORK`, until the next write or the peer's next segment
    /// (`tcp_push` corks that one push only).
    pub hold_tail: bool,
    /// The probe timer found corked data and a window open: the next
    /// segment goes whatever Nagle or the cork say (`tcp_write_wakeup`).
    pub wakeup: bool,
    /// `TCP_LINGER2` in ms: how long an orphan waits in FIN-WAIT-2 (0:
    /// [`FIN_TIMEOUT_MS`]; negative: not at all).
    pub linger2_ms: i64,
    /// When the delayed ACK is due.
    pub delack: Option<u64>,
    /// The peer's FIN was taken in: nothing more to read.
    pub fin_in: bool,
    /// An ACK is due now (the delayed one, a window update).
    pub ack_now: bool,
    /// When we last answered an unacceptable segment.
    pub last_oow_ack: Option<u64>,
    /// `SO_KEEPALIVE` with `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`.
    pub keepalive: Option<Keepalive>,
    /// Keepalive or zero window probes sent without an answer
    /// (`icsk_probes_out`).
    pub keep_probes: u8,
    /// When the window probes of a window that stays shut began
    /// (`icsk_probes_tstamp`), for `TCP_USER_TIMEOUT`.
    pub probe_since: Option<u64>,
    /// When the last of them went out.
    pub keep_probe_at: u64,
    /// When `SO_KEEPALIVE` was last switched on: the first probe waits
    /// `TCP_KEEPIDLE` from then at least, however long the peer has been
    /// silent (`tcp_set_keepalive` arms the timer from now).
    pub keep_armed_at: u64,
    /// When the peer last sent us an acceptable segment (`rcv_tstamp`).
    pub last_recv: u64,
    /// `TCP_USER_TIMEOUT` in ms (0: off): how long sent data may stay
    /// unacknowledged, retransmitted, before the connection gives up.
    pub user_timeout_ms: u32,
    /// When the current series of timeouts began (`retrans_stamp`).
    pub rtx_since: Option<u64>,
    /// Segments retransmitted over the connection's life
    /// (`tcpi_total_retrans`).
    pub total_retrans: u32,
    /// The length of the last new segment sent (the one that ends at
    /// `snd_max`): what a tail loss probe sends again, and what a smaller
    /// path MTU leaves alone if it still fits.
    pub last_len: u32,
    /// The deadline armed is a tail loss probe's (RFC 8985 7.2), not the
    /// retransmission timer's.
    pub pto: bool,
    /// The probe timer fired: the next transmit sends the probe.
    pub tlp_send: bool,
    /// A probe is out until this is acknowledged (`tlp_high_seq`): no other
    /// is scheduled meanwhile.
    pub tlp_high: Option<SeqNum>,
    /// The sequence number of a FIN that came past a hole: kept out of
    /// order (as one unit of `ooo`, which SACKs it) until the hole is
    /// filled (`tcp_data_queue_ofo`).
    pub ooo_fin: Option<SeqNum>,
    /// Going back after the path MTU fell: bytes from here on were not
    /// lost and are not sent again (`tcp_simple_retransmit` marks only the
    /// segments the new MTU is too small for).
    pub rtx_limit: Option<SeqNum>,
    /// A Fast Open child's SYN-ACK, until it is acknowledged.
    pub synack: Option<super::fastopen::Synack>,
    /// Data in the SYN was acknowledged (`syn_data_acked`: ours by the
    /// SYN-ACK, or the peer's, taken by our child).
    pub syn_data_acked: bool,
    /// The Fast Open option of our first SYN (a cookie, or a request for
    /// one); later SYNs carry none.
    pub fastopen: Option<super::options::FastOpen>,
    /// Our first SYN waits for the data it is to carry (Fast Open:
    /// `sendto(MSG_FASTOPEN)`, `TCP_FASTOPEN_CONNECT`).
    pub syn_pending: bool,
    /// The most bytes that SYN carries.
    pub syn_room: u32,
    /// Bytes our first SYN carried (`syn_data`).
    pub syn_data: u32,
    /// Our first SYN carried a Fast Open option (`syn_fastopen`).
    pub syn_fastopen: bool,
    /// The latest timestamp we sent: the next is never older, whatever
    /// clock reading its sender took before the connection's lock (a peer
    /// would drop it as an old duplicate, PAWS).
    pub ts_sent: u32,
    /// Urgent data, sent and received.
    pub urg: super::urgent::Urgent,
}

/// Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6), as Linux's
/// `net.ipv4.tcp_keepalive_*` and the `TCP_KEEP*` options set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe, ms (`TCP_KEEPIDLE`).
    pub idle_ms: u64,
    /// Time between probes, ms (`TCP_KEEPINTVL`).
    pub intvl_ms: u64,
    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    pub cnt: u8,
}

impl Default for Keepalive {
    /// Linux's defaults: 7200 s, 75 s, 9 probes.
    fn default() -> Keepalive {
        Keepalive { idle_ms: 7_200_000, intvl_ms: 75_000, cnt: 9 }
    }
}

impl Data {
    /// The data path of a connection whose first byte will have sequence
    /// number `first`.
    pub fn new(first: SeqNum) -> Data {
        Data { snd_end: first, snd_max: first, pushed: first, snd_sml: first, ..Data::default() }
    }
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
            // The SYN's timeouts are timed from now (`retrans_stamp`).
            data: Data { rtx_since: Some(now), ..Data::new(iss.add(1)) },
            soft_error: None,
            rtt: Rtt::default(),
            orphan: false,
        };
        let conn = Conn { syn_tsval: conn.tsval(now), ..conn };
        let syn = conn.syn(now);
        (conn, syn)
    }

    /// PAWS (RFC 7323 5.3, `tcp_paws_check`): a timestamp more than
    /// `TCP_PAWS_WINDOW` (1) older than TS.Recent is an old duplicate's;
    /// none is while TS.Recent is 0 (a peer whose SYN carried 0).
    pub(crate) fn paws_rejects(&self, val: u32) -> bool {
        self.ts_recent != 0 && self.ts_recent.wrapping_sub(val) as i32 > TCP_PAWS_WINDOW
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

    /// Our SYN, with every option we offer.
    fn syn(&self, now: u64) -> Segment {
        let mut s = self.segment(self.iss, Flags::SYN);
        // The window of a SYN is never scaled (RFC 7323 2.2).
        s.window = u16::try_from(self.rcv_wnd).unwrap_or(u16::MAX);
        s.options = Options {
            mss: Some(self.cfg.advertised_mss()),
            wscale: self.cfg.wscale,
            sack_permitted: self.cfg.sack,
            timestamp: self.cfg.timestamps.then(|| (self.tsval(now), 0)),
            fastopen: self.data.fastopen,
            ..Options::default()
        };
        s
    }

    /// Fast Open on an active open just made ([`Conn::connect`], whose
    /// SYN is not sent): with `room` for data, the SYN waits for the first
    /// write and carries up to `room` of its bytes, and `fo` (the cached
    /// cookie, or none where no cookie is needed); without, it goes now,
    /// asking for a cookie (`tcp_send_syn_data`'s fallback).
    pub fn fastopen_connect(&mut self, fo: Option<super::options::FastOpen>, room: u32, now: u64) -> Option<Segment> {
        self.data.fastopen = fo;
        self.data.syn_fastopen = fo.is_some();
        if room == 0 {
            return Some(self.syn(now));
        }
        self.data.syn_pending = true;
        self.data.syn_room = room;
        self.data.tx_cap = self.cfg.sndbuf;
        self.deadline = None;
        None
    }

    /// The SYN that waited for data, with what was written of it
    /// (`tcp_send_syn_data`): the retransmission timer starts, and later
    /// SYNs go without data or option.
    pub fn syn_with_data(&mut self, now: u64) -> Transmit {
        let first = self.iss.add(1);
        let len = (self.data.snd_end.diff(first).max(0) as u32).min(self.data.syn_room);
        self.syn_tsval = self.tsval(now);
        let seg = self.syn(now);
        let d = &mut self.data;
        d.syn_pending = false;
        d.syn_data = len;
        d.fastopen = None;
        d.rtx_since = Some(now);
        self.snd_nxt = first.add(len);
        d.snd_max = self.snd_nxt;
        self.deadline = Some(now.saturating_add(u64::from(self.rto_ms)));
        Transmit { seg, off: 0, len, retransmission: false, size: 0 }
    }

    /// Aborts the connection: the RST to send, if the state calls for one
    /// (RFC 9293 3.10.5: none from SYN-SENT, where the peer knows nothing
    /// of us yet; `tcp_disconnect` sends one from the synchronized states).
    pub fn abort(&mut self, now: u64) -> Option<Segment> {
        let rst = match self.state {
            State::Closed | State::Listen | State::SynSent | State::TimeWait => None,
            _ => {
                let mut s = self.segment(self.acceptable_seq(), Flags::RST | Flags::ACK);
                s.ack = self.rcv_nxt;
                // The window too, as every segment `tcp_transmit_skb`
                // builds (`tcp_send_active_reset`).
                s.window = self.advertise();
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

    /// [`Conn::on_segment`] for a segment whose payload costs the
    /// receive buffer `cost`, as Linux counts its skbs: the window grows
    /// as Linux's would for it.
    pub fn on_segment_costing(&mut self, seg: &Segment, payload_len: u32, cost: super::rwnd::Cost, now: u64) -> Outcome {
        self.data.rx_cost = Some(cost);
        let out = self.on_segment(seg, payload_len, now);
        self.data.rx_cost = None;
        out
    }

    /// Processes an incoming segment of this connection.
    pub fn on_segment(&mut self, seg: &Segment, payload_len: u32, now: u64) -> Outcome {
        // What a segment sets off is sent as `tcp_data_snd_check` does,
        // with the socket's own Nagle: `MSG_MORE` held only its own push.
        self.data.hold_tail = false;
        match self.state {
            State::SynSent => self.syn_sent(seg, now),
            State::TimeWait => self.time_wait(seg, payload_len, now),
            State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait
            | State::Closing
            | State::LastAck => self.synchronized(seg, payload_len, now),
            // A Fast Open child; SYN-RECEIVED of a simultaneous open is
            // not carried further yet; nothing is left of a closed
            // connection.
            State::SynReceived => self.syn_received(seg, payload_len, now),
            State::Closed | State::Listen => Outcome::default(),
        }
    }

    /// RFC 9293 3.10.7.3, in Linux's order (`tcp_rcv_synsent_state_process`).
    fn syn_sent(&mut self, seg: &Segment, now: u64) -> Outcome {
        let f = seg.flags;
        if f.contains(Flags::ACK) {
            // Our SYN is all we sent: only its ACK is acceptable.
            if !seg.ack.between(self.snd_una.add(1), self.snd_nxt) {
                // An ACK of something we never sent: reset it, unless it is
                // a reset itself. It may be the peer's answer to an old
                // connection of the same ports that our reset ends now:
                // the SYN goes again at once, if it has not yet been sent
                // again (`TCP_TIMEOUT_MIN`).
                if self.retransmits == 0 {
                    self.deadline = Some(now.saturating_add(TIMEOUT_MIN_MS));
                }
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
            // Fast Open (`tcp_rcv_fastopen_synack`): the bytes of our SYN
            // the SYN-ACK acknowledges leave the send buffer, those it
            // does not go again at once; its cookie is cached, if we
            // asked for one.
            let first = self.iss.add(1);
            let acked = seg.ack.diff(first).max(0) as u32;
            self.data.syn_data_acked = self.data.syn_data > 0 && acked >= self.data.syn_data;
            let cookie = seg.options.fastopen.filter(|c| self.data.syn_fastopen && c.len > 0);
            let fastopen_cookie = cookie.map(|c| (c, seg.options.mss.unwrap_or(0)));
            self.snd_una = seg.ack;
            if self.snd_nxt.after(seg.ack) {
                self.snd_nxt = seg.ack;
            }
            // The window of a SYN-ACK is never scaled (RFC 7323 2.2).
            self.snd_wnd = u32::from(seg.window);
            self.sample_rtt(seg, now);
            self.state = State::Established;
            self.retransmits = 0;
            self.deadline = None;
            self.start_data(seg, now);
            return Outcome {
                reply: Some(self.ack(now)),
                established: true,
                acked,
                fastopen_cookie,
                ..Outcome::default()
            };
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

    /// ESTABLISHED is reached, by `seg` (the SYN-ACK, or the final ACK):
    /// the data path starts (`tcp_init_transfer`).
    pub fn start_data(&mut self, seg: &Segment, now: u64) {
        self.rtt.handshake_done();
        let d = &mut self.data;
        d.last_recv = now;
        d.rtx_since = None;
        // (Bytes written before, for a Fast Open SYN, stay.)
        if !d.snd_end.after(self.snd_nxt) {
            d.snd_end = self.snd_nxt;
        }
        if !d.snd_max.after(self.snd_nxt) {
            d.snd_max = self.snd_nxt;
        }
        d.snd_wl1 = seg.seq;
        d.snd_wl2 = seg.ack;
        d.max_window = self.snd_wnd;
        let header = if self.neg.timestamps { 32 } else { 20 };
        d.snd_mss = bound_to_half_window(u32::from(self.neg.mss), d.max_window, header);
        d.tx_cap = self.cfg.sndbuf;
        d.cc = super::cc::Cc::new(d.snd_mss, self.cfg.congestion);
        if self.cfg.init_cwnd != 0 {
            d.cc.cwnd = self.cfg.init_cwnd.saturating_mul(d.snd_mss);
        }
        d.rcv_adv = self.rcv_nxt.add(self.rcv_wnd);
        d.rcv_wup = self.rcv_nxt;
        d.quickacks = QUICKACKS;
        self.init_rcv_window();
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

    /// A round-trip sample from the ACK of our SYN: by the timestamp echo
    /// when there is one, else only if the SYN was not retransmitted
    /// (Karn's rule).
    fn sample_rtt(&mut self, seg: &Segment, now: u64) {
        let sent = match (self.neg.timestamps, seg.options.timestamp) {
            (true, Some((_, ecr))) if ecr != 0 => ecr,
            _ if self.retransmits == 0 => self.syn_tsval,
            _ => return,
        };
        let ms = self.tsval(now).wrapping_sub(sent);
        // An echo from the future, or older than the longest timeout, is
        // no sample.
        if ms <= RTO_MAX_MS {
            self.rtt.sample(ms.saturating_mul(1000));
        }
    }

    /// An ICMP error quoting one of our segments (`tcp_v4_err`): in
    /// SYN-SENT it ends the handshake; later it is a soft error (RFC 1122
    /// 4.2.3.9: a connection keeps trying until it times out).
    pub fn on_icmp(&mut self, e: &IcmpError) -> IcmpAction {
        if self.state == State::Closed {
            return IcmpAction::Ignored;
        }
        if !e.seq.between(self.snd_una, self.data.snd_max) {
            return IcmpAction::OutOfWindow;
        }
        if e.ignored_pmtu() {
            return IcmpAction::Ignored;
        }
        if let Some(mtu) = e.pmtu() {
            return IcmpAction::MtuReduced(u16::try_from(mtu).unwrap_or(u16::MAX));
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

    /// The path's MTU fell so that segments of `path_mss` bytes, headers
    /// without options aside, are the most it carries (after ICMP
    /// fragmentation needed: `tcp_v4_mtu_reduced`). Later segments are
    /// that much smaller (`tcp_sync_mss`), and what is in flight goes
    /// again at once in segments of the new size (`tcp_simple_retransmit`),
    /// the congestion window as it was. Call [`Conn::transmit`] after it.
    pub fn mtu_reduced(&mut self, path_mss: u32) {
        let Ok(path) = u16::try_from(path_mss) else { return };
        // Only a fall (`icsk_pmtu_cookie > mtu`).
        if path >= self.cfg.mss {
            return;
        }
        self.cfg.mss = path;
        if self.data.snd_mss == 0 {
            // Before the data path: it starts with the new size.
            self.neg.mss = self.neg.mss.min(path.saturating_sub(self.ts_len()));
            return;
        }
        let header = 20 + u32::from(self.ts_len());
        let mss = u32::from(self.neg.peer_mss.min(path)).saturating_sub(u32::from(self.ts_len())).max(48);
        let mss = bound_to_half_window(mss, self.data.max_window, header);
        if mss >= self.data.snd_mss {
            return;
        }
        self.data.snd_mss = mss;
        self.data.cc.set_mss(mss);
        // The segments in flight that the new size no longer carries go
        // again: all but a last one that still fits.
        let d = &mut self.data;
        let tail = if d.last_len <= mss { d.last_len } else { 0 };
        let lost_end = d.snd_max.sub(tail);
        if lost_end.after(self.snd_una) {
            d.rtx_limit = (tail > 0).then_some(lost_end);
            d.timed = None;
            self.snd_nxt = self.snd_una;
        }
    }

    /// The bytes of the timestamp option on each segment, if agreed.
    fn ts_len(&self) -> u16 {
        if self.neg.timestamps { TS_OPTION_LEN } else { 0 }
    }

    /// When [`Conn::on_timer`] wants to run (`None`: no timer armed).
    pub fn deadline(&self) -> Option<u64> {
        [self.deadline, self.data.delack, self.keepalive_at()].into_iter().flatten().min()
    }

    /// The timer fired at `now`: in SYN-SENT the SYN again with the
    /// timeout doubled (RFC 6298 5.5), or the end after `syn_retries`;
    /// later the data path's timers (`output`). Call [`Conn::transmit`]
    /// after it.
    pub fn on_timer(&mut self, now: u64) -> Outcome {
        let fastopen_child = self.state == State::SynReceived && self.data.synack.is_some();
        if self.state != State::SynSent && !fastopen_child {
            return self.data_timer(now);
        }
        match self.deadline {
            Some(d) if now >= d && fastopen_child => self.fastopen_synack_timer(now),
            Some(d) if now >= d => self.syn_timer(now),
            _ => Outcome::default(),
        }
    }

    /// The SYN's retransmission timer: as `tcp_retransmit_timer` in
    /// SYN-SENT, the first `syn_linear_timeouts` retransmissions wait the
    /// same timeout, then each waits twice the last; they end after
    /// `syn_retries` more.
    fn syn_timer(&mut self, now: u64) -> Outcome {
        let linear = self.cfg.syn_linear_timeouts;
        // Also when the time since the SYN passes what `syn_retries`
        // timeouts from 1 s would take (`retransmits_timed_out`).
        let since = now.saturating_sub(self.data.rtx_since.unwrap_or(now));
        let timed_out = self.retransmits > 0
            && since >= model_timeout_ms(self.cfg.syn_retries, RTO_INITIAL_MS, self.rtt.bounds.max_us / 1000);
        if timed_out || self.retransmits >= self.cfg.syn_retries.saturating_add(linear) {
            self.state = State::Closed;
            self.deadline = None;
            return Outcome::error(self.soft_error.map_or(ConnError::TimedOut, ConnError::Icmp));
        }
        self.retransmits = self.retransmits.saturating_add(1);
        if self.retransmits > linear {
            self.rto_ms = self.rto_ms.saturating_mul(2).min(self.rtt.bounds.max_us / 1000);
        }
        self.deadline = Some(now.saturating_add(u64::from(self.rto_ms)));
        // Without the Fast Open option or data (`tcp_send_syn_data`).
        self.data.fastopen = None;
        Outcome::reply(self.syn(now))
    }
}


/// How long `boundary` timeouts from `base` take, each twice the last up
/// to `max`, then `max` each (`tcp_model_timeout`), in ms.
fn model_timeout_ms(boundary: u8, base: u32, max: u32) -> u64 {
    let thresh = max.checked_div(base.max(1)).unwrap_or(0).checked_ilog2().unwrap_or(0);
    let (base, max, b) = (u64::from(base), u64::from(max), u32::from(boundary));
    // 1 + 2 + ... + 2^n timeouts of `base`: 2^(n+1) - 1 of them.
    let doubling = |n: u32| 2u64.saturating_pow(n.saturating_add(1)).saturating_sub(1).saturating_mul(base);
    if b <= thresh {
        doubling(b)
    } else {
        doubling(thresh).saturating_add(u64::from(b.saturating_sub(thresh)).saturating_mul(max))
    }
}

/// The reset for an unacceptable ACK: `<SEQ=SEG.ACK><CTL=RST>`.
pub(crate) fn reset_for_ack(seg: &Segment) -> Segment {
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

    pub(crate) const CLIENT: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0001), port: 40000 };
    pub(crate) const SERVER: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0002), port: 80 };
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
    fn the_initial_window_is_linuxs() {
        // tcp_rmem[1] 131072 gives 65536 of space: 44 segments of 1460
        // bytes, or 45 of 1448 (with timestamps); tcp_rmem[2] and
        // rmem_max decide the scale.
        assert_eq!(initial_window(65_536, 1460, 0, Some(6 << 20)), (64_240, Some(7)));
        assert_eq!(initial_window(65_536, 1448, 0, Some(8 << 20)), (65_160, Some(8)));
        assert_eq!(initial_window(65_536, 1460, 0, Some(32 << 20)), (64_240, Some(10)));
        assert_eq!(initial_window(65_536, 1460, 0, None), (64_240, None));
        // A small buffer: a window under one segment is not rounded.
        assert_eq!(initial_window(1000, 1460, 0, Some(4 << 20)), (1000, Some(7)));
        // The user's SO_RCVBUF clamps the window and so the scale.
        assert_eq!(initial_window(8192, 1460, 8192, Some(4 << 20)), (7300, Some(0)));
        assert_eq!(initial_window(1 << 20, 1460, 1 << 20, Some(4 << 20)), (1_048_280, Some(5)));
        // Nothing overflows.
        assert_eq!(initial_window(u32::MAX, 0, 0, Some(u32::MAX)), (u32::from(u16::MAX) << 14, Some(14)));
    }

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
        // Window scaled by our shift from now on, rounded up so that the
        // edge the SYN offered does not shrink.
        assert_eq!(ack.window, 64240_u32.div_ceil(128) as u16);
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
        // The SYN-ACK's window is not scaled.
        assert_eq!(c.snd_wnd, 65160);
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
        let cfg = Config { syn_linear_timeouts: 0, ..Config::default() };
        let (mut c, syn) = Conn::connect(cfg, CLIENT, SERVER, ISS, 0, NOW);
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
    fn the_first_syn_retransmissions_wait_one_second_each() {
        // Linux 7.3's defaults: six retries after four linear timeouts.
        let (mut c, _) = connect();
        let mut now = NOW;
        let mut waits = Vec::new();
        while c.state == State::SynSent {
            let d = c.deadline().unwrap();
            waits.push(d - now);
            now = d;
            c.on_timer(now);
        }
        assert_eq!(waits, [1000, 1000, 1000, 1000, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000]);
        assert_eq!(now - NOW, 131_000);
    }

    #[test]
    fn few_syn_retries_end_when_their_time_is_up() {
        // retransmits_timed_out: one retry models 1 s + 2 s; the linear
        // timeouts send two SYNs in that time, and the third timer ends it.
        let cfg = Config { syn_retries: 1, ..Config::default() };
        let (mut c, _) = Conn::connect(cfg, CLIENT, SERVER, ISS, 0, NOW);
        assert!(c.on_timer(NOW + 1000).reply.is_some());
        assert!(c.on_timer(NOW + 2000).reply.is_some());
        assert_eq!(c.on_timer(NOW + 3000).error, Some(ConnError::TimedOut));
        assert_eq!(model_timeout_ms(6, 1000, 120_000), 127_000);
        assert_eq!(model_timeout_ms(8, 1000, 120_000), 127_000 + 2 * 120_000);
    }

    #[test]
    fn the_timeout_maximum_bounds_the_syns_backoff() {
        let cfg = Config { syn_linear_timeouts: 0, ..Config::default() };
        let (mut c, _) = Conn::connect(cfg, CLIENT, SERVER, ISS, 0, NOW);
        c.rtt.bounds.max_us = 1_500_000;
        c.on_timer(NOW + 1000);
        assert_eq!(c.deadline(), Some(NOW + 2500));
    }

    #[test]
    fn syn_retries_zero_times_out_after_one_rto() {
        let cfg = Config { syn_retries: 0, syn_linear_timeouts: 0, ..Config::default() };
        let (mut c, _) = Conn::connect(cfg, CLIENT, SERVER, ISS, 0, NOW);
        assert_eq!(c.on_timer(NOW + 1000).error, Some(ConnError::TimedOut));
    }

    fn icmp_about(c: &Conn, icmp_type: u8, code: u8, seq: SeqNum) -> IcmpError {
        IcmpError { icmp_type, code, local: c.local, remote: c.remote, seq, mtu: 0, v6: false }
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
        for (t, code) in [(ICMP_SOURCE_QUENCH, 0), (ICMP_DEST_UNREACH, 16)] {
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

    #[test]
    fn an_unacceptable_ack_to_our_syn_sends_the_syn_again_at_once() {
        // A reset with a wrong ACK is ignored, and any other segment with
        // one is reset; either way the SYN goes again after
        // TCP_TIMEOUT_MIN, as tcp_rcv_synsent_state_process arms it, if it
        // has not been sent again yet.
        for flags in [Flags::RST | Flags::ACK, Flags::ACK, Flags::SYN | Flags::ACK] {
            let (mut c, syn) = connect();
            let wrong = Segment { ack: syn.seq.add(1000), flags, ..synack(&syn) };
            let out = c.on_segment(&wrong, 0, NOW);
            assert_eq!(out.reply.is_some(), !flags.contains(Flags::RST), "{flags:?}");
            assert_eq!(c.deadline, Some(NOW + TIMEOUT_MIN_MS));
            let again = c.on_timer(NOW + TIMEOUT_MIN_MS).reply.unwrap();
            assert_eq!((again.flags, again.seq), (Flags::SYN, syn.seq));
            // Once sent again, the timer keeps its backoff.
            let later = c.deadline;
            c.on_segment(&wrong, 0, NOW + 5);
            assert_eq!(c.deadline, later);
        }
    }

    #[test]
    fn segments_are_at_most_half_the_peers_largest_window() {
        // tcp_bound_to_half_wnd: half a window above 536 bytes, never
        // below 68 bytes of segment; no bound from a zero window.
        assert_eq!(bound_to_half_window(1448, 1024, 32), 512);
        assert_eq!(bound_to_half_window(1448, 65535, 32), 1448);
        assert_eq!(bound_to_half_window(1460, 500, 20), 500);
        assert_eq!(bound_to_half_window(1460, 20, 20), 48);
        assert_eq!(bound_to_half_window(1448, 0, 32), 1448);
        let (mut c, syn) = connect();
        // Before the SYN-ACK: our MSS less the timestamp option we offer.
        assert_eq!(c.send_mss(), 1448);
        let small = Segment { window: 1024, ..synack(&syn) };
        assert!(c.on_segment(&small, 0, NOW).established);
        assert_eq!(c.send_mss(), 512);
    }

    #[test]
    fn an_abort_carries_the_window() {
        let mut c = established();
        let rst = c.abort(NOW).unwrap();
        assert_eq!(rst.flags, Flags::RST | Flags::ACK);
        assert!(rst.window > 0, "tcp_send_active_reset's segment has the window, as every other");
    }

    // =========================================================================
    // Tests for the ESTABLISHED state (the handshake's part of it)
    // =========================================================================

    pub(crate) fn established() -> Conn {
        let (mut c, syn) = connect();
        assert!(c.on_segment(&synack(&syn), 0, NOW).established);
        c
    }

    pub(crate) fn from_server(c: &Conn, seq: SeqNum, flags: Flags) -> Segment {
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
    fn gso_skbs_hold_a_millisecond_of_the_pacing_rate_and_at_least_two_segments() {
        // tcp_tso_autosize: 200 % of 10 * 1448 bytes / 30 ms is under a
        // segment a millisecond: two; a path of 100 us fills 64 KiB.
        let mut c = established();
        c.rtt = Rtt::default();
        c.rtt.sample(30_000);
        assert_eq!(c.tso_segs(), 2);
        c.rtt = Rtt::default();
        c.rtt.sample(100);
        assert_eq!(c.tso_segs(), 65_536 / c.send_mss());
        c.rtt = Rtt::default();
        assert_eq!(c.tso_segs(), 0, "no round trip yet: no bound");
        // A queue stretched the smoothed round trip to 30 ms; the least
        // one seen, 100 us, still says the path is short (`tcp_min_rtt`).
        c.rtt.sample(100);
        for _ in 0..50 {
            c.rtt.sample(30_000);
        }
        assert!(c.rtt.srtt_us().unwrap() > 25_000);
        assert_eq!(c.rtt.min_us(), Some(100));
        assert_eq!(c.tso_segs(), 65_536 / c.send_mss());
    }

    #[test]
    fn paws_passes_a_timestamp_one_tick_older_and_drops_one_two_older() {
        let mut c = established();
        assert!(c.neg.timestamps);
        let mut seg = from_server(&c, c.rcv_nxt, Flags::ACK | Flags::PSH);
        seg.options.timestamp = Some((c.ts_recent.wrapping_sub(1), c.tsval(NOW)));
        let out = c.on_segment(&seg, 100, NOW);
        assert_eq!(out.readable, 100, "one tick older: taken (TCP_PAWS_WINDOW)");
        let mut seg = from_server(&c, c.rcv_nxt, Flags::ACK | Flags::PSH);
        seg.options.timestamp = Some((c.ts_recent.wrapping_sub(2), c.tsval(NOW)));
        let out = c.on_segment(&seg, 100, NOW);
        assert_eq!(out.readable, 0, "two ticks older: an old duplicate");
        assert!(out.mib.contains(crate::mib::Mib::PAWS_ESTAB));
    }

    #[test]
    fn our_timestamps_never_go_back_whatever_clock_reading_a_sender_took() {
        let mut c = established();
        let later = c.ack(NOW + 50).options.timestamp.map(|t| t.0);
        // A sender that read the clock before another took the lock.
        let earlier = c.ack(NOW + 40).options.timestamp.map(|t| t.0);
        assert_eq!(later, earlier);
        let next = c.ack(NOW + 60).options.timestamp.map(|t| t.0);
        assert_eq!(next, later.map(|v| v.wrapping_add(10)));
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
        // Counted as Linux counts it: an error of the segment, a SYN
        // challenge, a challenge ACK; the next one at once is rate-limited.
        use crate::mib::Mib;
        assert_eq!(out.mib, Mib::IN_ERRS.with(Mib::SYN_CHALLENGE).with(Mib::CHALLENGE_ACK));
        let seq = c.rcv_nxt.add(c.rcv_wnd + 10);
        let out = c.on_segment(&from_server(&c, seq, Flags::SYN | Flags::ACK), 0, NOW);
        assert_eq!(out.reply, None);
        assert_eq!(out.mib, Mib::IN_ERRS.with(Mib::SYN_CHALLENGE).with(Mib::ACK_SKIPPED_CHALLENGE));
    }

    #[test]
    fn refused_segments_are_counted_as_linux_counts_them() {
        use crate::mib::Mib;
        let mut c = established();
        let out = c.on_segment(&from_server(&c, c.rcv_nxt.add(100), Flags::RST), 0, NOW);
        assert_eq!(out.mib, Mib::CHALLENGE_ACK);
        let seq = c.rcv_nxt.add(c.rcv_wnd + 10);
        let out = c.on_segment(&from_server(&c, seq, Flags::ACK), 0, NOW + OOW_ACK_INTERVAL_MS);
        assert!(out.reply.is_some());
        assert_eq!(out.mib, Mib::BEYOND_WINDOW);
        let out = c.on_segment(&from_server(&c, seq, Flags::ACK), 0, NOW + OOW_ACK_INTERVAL_MS);
        assert_eq!(out.mib, Mib::BEYOND_WINDOW.with(Mib::ACK_SKIPPED_SEQ));
        // Without ACK (nor SYN, nor RST), nothing is checked: no answer,
        // no count, as `tcp_rcv_established` drops it first.
        let out = c.on_segment(&from_server(&c, seq, Flags::FIN | Flags::PSH), 0, NOW + 5 * OOW_ACK_INTERVAL_MS);
        assert_eq!(out, Outcome::default());
        // An ACK of what was never sent (RFC 5961 5.2).
        let mut s = from_server(&c, c.rcv_nxt, Flags::ACK);
        s.ack = c.snd_nxt.add(1000);
        let out = c.on_segment(&s, 0, NOW + 2 * OOW_ACK_INTERVAL_MS);
        assert_eq!(out.mib, Mib::CHALLENGE_ACK);
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
        // An ACK of the peer's: something worked, the soft error goes.
        c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        assert_eq!(c.soft_error, None);
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
    // Tests for closing first: FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT
    // =========================================================================

    /// Closes `c` and returns the FIN it sends.
    fn close(c: &mut Conn, orphan: bool) -> Segment {
        assert_eq!(c.close(orphan, NOW), Outcome::default());
        c.transmit(NOW).expect("a FIN").seg
    }

    /// The peer's FIN, acknowledging what we sent.
    fn fin_from_server(c: &Conn) -> Segment {
        from_server(c, c.rcv_nxt, Flags::FIN | Flags::ACK)
    }

    #[test]
    fn close_sends_a_fin_and_enters_fin_wait_1() {
        let mut c = established();
        let fin = close(&mut c, true);
        assert_eq!(fin.flags, Flags::FIN | Flags::ACK);
        assert_eq!((fin.seq, fin.ack), (ISS.add(1), IRS.add(1)));
        assert_eq!(c.state, State::FinWait1);
        assert_eq!(c.snd_nxt, ISS.add(2));
        assert!(c.deadline.is_some());
        // A second close does nothing more.
        assert_eq!(c.close(true, NOW), Outcome::default());
        assert_eq!(c.transmit(NOW), None);
    }

    #[test]
    fn the_ack_of_our_fin_leads_to_fin_wait_2() {
        let mut c = established();
        close(&mut c, false);
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        assert_eq!(out, Outcome::default());
        assert_eq!(c.state, State::FinWait2);
        // Not an orphan: FIN-WAIT-2 waits for as long as it takes.
        assert_eq!(c.deadline, None);
    }

    #[test]
    fn an_orphan_gives_up_fin_wait_2_after_the_fin_timeout() {
        let mut c = established();
        close(&mut c, true);
        c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        assert_eq!(c.deadline, Some(NOW + FIN_TIMEOUT_MS));
        let out = c.on_timer(NOW + FIN_TIMEOUT_MS);
        assert!(out.closed && out.error.is_none());
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn linger2_sets_an_orphans_fin_wait_2_timeout_of_at_least_three_and_a_half_rtos() {
        for (linger, want) in [(5_000i64, Some(5_000u64)), (1_000, Some(3_500)), (-1, Some(0))] {
            let mut c = established();
            c.rto_ms = 1000;
            c.data.linger2_ms = linger;
            close(&mut c, true);
            c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
            assert_eq!(c.deadline, want.map(|w| NOW + w), "TCP_LINGER2 {linger} ms");
            let out = c.on_timer(NOW + want.unwrap());
            assert!(out.closed);
        }
    }

    #[test]
    fn quickack_0_stops_quick_acks_and_1_sends_a_delayed_one_now() {
        let mut c = established();
        c.set_quickack(0);
        assert!(c.data.pingpong);
        let seg = Segment { flags: Flags::ACK | Flags::PSH, ..from_server(&c, c.rcv_nxt, Flags::ACK) };
        let out = c.on_segment(&seg, 10, NOW);
        assert!(out.reply.is_none(), "pingpong: the ACK waits");
        assert!(c.data.delack.is_some());
        // Unread: not yet (rcv_nxt is within a segment of rcv_wup).
        c.set_quickack(1);
        assert!(!c.data.pingpong && !c.data.ack_now);
        c.data.rx_unread = 0;
        c.set_quickack(2);
        assert!(c.data.ack_now && c.data.pingpong, "2: the ACK now, and pingpong again");
    }

    #[test]
    fn the_peers_fin_in_fin_wait_2_leads_to_time_wait() {
        let mut c = established();
        close(&mut c, true);
        c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        let out = c.on_segment(&fin_from_server(&c), 0, NOW + 5);
        assert!(out.eof);
        let ack = out.reply.unwrap();
        assert_eq!((ack.flags, ack.seq, ack.ack), (Flags::ACK, ISS.add(2), IRS.add(2)));
        assert_eq!(c.state, State::TimeWait);
        assert_eq!(c.deadline, Some(NOW + 5 + TIME_WAIT_MS));
    }

    #[test]
    fn fin_and_ack_together_in_fin_wait_1_lead_to_time_wait() {
        let mut c = established();
        close(&mut c, true);
        let out = c.on_segment(&fin_from_server(&c), 0, NOW);
        assert!(out.eof && out.reply.is_some());
        assert_eq!(c.state, State::TimeWait);
    }

    #[test]
    fn simultaneous_close_goes_through_closing() {
        let mut c = established();
        close(&mut c, true);
        // The peer's FIN crossed ours: it does not acknowledge our FIN.
        let fin = Segment { ack: c.snd_una, ..fin_from_server(&c) };
        let out = c.on_segment(&fin, 0, NOW);
        assert!(out.eof);
        assert_eq!(c.state, State::Closing);
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        assert_eq!(out.reply, None);
        assert_eq!(c.state, State::TimeWait);
    }

    #[test]
    fn an_unacknowledged_fin_is_retransmitted_with_backoff_then_given_up() {
        let mut c = established();
        // Without SACK: no tail loss probe before the timeouts.
        c.neg.sack = false;
        close(&mut c, true);
        let first = c.deadline.unwrap() - NOW;
        // The timer goes back to SND.UNA; the FIN is what is sent again.
        let at = c.deadline.unwrap();
        assert_eq!(c.on_timer(at), Outcome::default());
        let t = c.transmit(at).unwrap();
        assert_eq!((t.seg.flags, t.seg.seq, t.retransmission), (Flags::FIN | Flags::ACK, ISS.add(1), true));
        assert_eq!(c.transmit(at), None);
        let second = c.deadline.unwrap() - at;
        assert!(second >= 2 * first, "{second} after {first}");
        let mut n = 1;
        let end = loop {
            let at = c.deadline.unwrap();
            let out = c.on_timer(at);
            if out.error.is_some() {
                break out;
            }
            assert!(c.transmit(at).is_some());
            n += 1;
        };
        assert_eq!(n, ORPHAN_RETRIES);
        assert_eq!(end.error, Some(ConnError::TimedOut));
        assert_eq!(c.state, State::Closed);
    }

    /// Retransmits `c`'s head on its timer until it gives up (or 100
    /// times): the retransmissions, the end.
    fn retransmit_until_the_end(c: &mut Conn) -> (u32, Outcome) {
        let mut n = 0;
        while n < 100 {
            let at = c.deadline.unwrap();
            let out = c.on_timer(at);
            if out.error.is_some() {
                return (n, out);
            }
            if c.transmit(at).is_some_and(|t| t.retransmission) {
                n += 1;
            }
        }
        (n, Outcome::default())
    }

    #[test]
    fn an_orphan_gives_up_once_its_timeout_reaches_the_bound() {
        // `tcp_orphan_retries`: no longer alive once the backed-off
        // timeout reached TCP_RTO_MAX_MS (1 s), it gets no more retries,
        // where a connection someone holds goes on to tcp_retries2.
        for (orphan, retries) in [(true, None), (false, Some(u32::from(RETRIES2)))] {
            let mut c = established();
            c.neg.sack = false;
            c.rtt.bounds.max_us = 1_000_000;
            close(&mut c, orphan);
            let (n, end) = retransmit_until_the_end(&mut c);
            assert_eq!(end.error, Some(ConnError::TimedOut));
            assert_eq!(c.rtt.rto_us(), 1_000_000);
            match retries {
                Some(r) => assert_eq!(n, r),
                None => assert!(n < u32::from(ORPHAN_RETRIES), "{n} retransmissions"),
            }
        }
    }

    #[test]
    fn time_wait_acks_a_retransmitted_fin_and_starts_over() {
        let mut c = established();
        close(&mut c, true);
        let fin = fin_from_server(&c);
        c.on_segment(&fin, 0, NOW);
        assert_eq!(c.state, State::TimeWait);
        let out = c.on_segment(&fin, 0, NOW + 1000);
        assert_eq!(out.reply.map(|s| (s.flags, s.ack)), Some((Flags::ACK, IRS.add(2))));
        assert_eq!(c.deadline, Some(NOW + 1000 + TIME_WAIT_MS));
    }

    #[test]
    fn time_wait_ends_after_2msl_or_on_a_reset() {
        let mut c = established();
        close(&mut c, true);
        c.on_segment(&fin_from_server(&c), 0, NOW);
        assert_eq!(c.on_timer(NOW + TIME_WAIT_MS - 1), Outcome::default());
        assert!(c.on_timer(NOW + TIME_WAIT_MS).closed);

        let mut c = established();
        close(&mut c, true);
        c.on_segment(&fin_from_server(&c), 0, NOW);
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::RST), 0, NOW);
        assert!(out.closed && out.error.is_none());
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn time_wait_sends_nothing_on_abort() {
        let mut c = established();
        close(&mut c, true);
        c.on_segment(&fin_from_server(&c), 0, NOW);
        assert_eq!(c.abort(NOW), None);
    }

    // =========================================================================
    // Tests for the peer closing first: CLOSE-WAIT, LAST-ACK
    // =========================================================================

    #[test]
    fn the_peers_fin_leads_to_close_wait_with_eof() {
        let mut c = established();
        let out = c.on_segment(&fin_from_server(&c), 0, NOW);
        assert!(out.eof);
        assert_eq!(out.reply.map(|s| (s.flags, s.ack)), Some((Flags::ACK, IRS.add(2))));
        assert_eq!(c.state, State::CloseWait);
        // Its retransmission is acknowledged again, with no second EOF.
        let again = from_server(&c, IRS.add(1), Flags::FIN | Flags::ACK);
        let out = c.on_segment(&again, 0, NOW);
        assert!(!out.eof && out.reply.is_some());
        assert_eq!(c.state, State::CloseWait);
    }

    #[test]
    fn close_in_close_wait_sends_a_fin_and_the_ack_of_it_ends_the_connection() {
        let mut c = established();
        c.on_segment(&fin_from_server(&c), 0, NOW);
        let fin = close(&mut c, true);
        assert_eq!((fin.flags, fin.seq), (Flags::FIN | Flags::ACK, ISS.add(1)));
        assert_eq!(c.state, State::LastAck);
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::ACK), 0, NOW);
        assert!(out.closed && out.error.is_none());
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn a_reset_in_close_wait_is_a_broken_pipe() {
        let mut c = established();
        c.on_segment(&fin_from_server(&c), 0, NOW);
        let out = c.on_segment(&from_server(&c, c.rcv_nxt, Flags::RST), 0, NOW);
        assert_eq!(out.error, Some(ConnError::Pipe));
    }

    #[test]
    fn acks_of_what_was_never_sent_are_answered_not_taken() {
        let mut c = established();
        close(&mut c, true);
        let bogus = Segment { ack: c.snd_nxt.add(10), ..from_server(&c, c.rcv_nxt, Flags::ACK) };
        let out = c.on_segment(&bogus, 0, NOW);
        assert_eq!(out.reply.map(|s| s.flags), Some(Flags::ACK));
        assert_eq!(c.state, State::FinWait1);
    }

    #[test]
    fn acks_answering_unacceptable_acks_are_rate_limited() {
        let mut c = established();
        // A pure ACK far outside the window: answered once, then not again
        // for half a second, so that two ends cannot answer each other
        // forever.
        let stray = from_server(&c, c.rcv_nxt.add(1 << 30), Flags::ACK);
        assert!(c.on_segment(&stray, 0, NOW).reply.is_some());
        assert!(c.on_segment(&stray, 0, NOW + 100).reply.is_none());
        assert!(c.on_segment(&stray, 0, NOW + OOW_ACK_INTERVAL_MS).reply.is_some());
        // A segment with data is always answered.
        assert!(c.on_segment(&stray, 10, NOW + OOW_ACK_INTERVAL_MS).reply.is_some());
    }

    #[test]
    fn the_synack_gives_a_round_trip_sample() {
        let (mut c, syn) = connect();
        let mut sa = synack(&syn);
        // The SYN-ACK echoes a TSval 40 ms old.
        sa.options.timestamp = Some((777, c.tsval(NOW)));
        c.on_segment(&sa, 0, NOW + 40);
        assert_eq!(c.rtt.srtt_us(), Some(40_000));
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
        let RequestOutcome::Established(server) = req.on_segment(&out.reply.unwrap(), 0, NOW + 2) else {
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
