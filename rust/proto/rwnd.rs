// SPDX-License-Identifier: GPL-2.0

//! The window a connection offers, as Linux's TCP chooses it
//! (`tcp_input.c`'s receive buffer tuning, `tcp_output.c`'s
//! `__tcp_select_window`).
//!
//! Linux counts its receive buffer (`sk_rcvbuf`) in the memory its skbs
//! take (`truesize`), and offers as window what that memory holds of
//! payload: `tcp_win_from_space` scales space by `scaling_ratio`, the
//! payload-to-truesize ratio of the peer's segments, measured when the
//! peer's segment size changes (`tcp_measure_rcv_mss`). Within that, the
//! offered window starts at the initial one and grows with each full
//! segment that arrives (`rcv_ssthresh`, `tcp_grow_window`), and the
//! buffer itself grows with what the reader takes in a round trip
//! (`tcp_rcv_space_adjust`, `tcp_rcvbuf_grow`).
//!
//! RTCP keeps the same numbers, so that its segments carry the window
//! Linux's would. Its bytes sit in a ring of their own, not in skbs: the
//! caller gives each segment's `truesize` ([`Cost`]) for the ratio, and
//! the bytes held count as the window they take. The ring is at least as
//! large as `sk_rcvbuf` (the most any ratio lets the window be) and the
//! room it has left bounds every window.

use super::conn::Conn;
use super::options::TCP_MAX_WSCALE;

/// `TCP_RMEM_TO_WIN_SCALE`: the ratio is in 256ths.
const RATIO_SHIFT: u32 = 8;

/// `TCP_DEFAULT_SCALING_RATIO`: payload is half the memory until measured.
pub const DEFAULT_RATIO: u8 = 1 << (RATIO_SHIFT - 1);

/// `TCP_MSS_DEFAULT`, the first guess at the peer's segment size.
const MSS_DEFAULT: u32 = 536;

/// `TCP_MIN_MSS`.
const MIN_MSS: u32 = 88;

/// A TCP header without options.
const TCP_HEADER: u32 = 20;

/// `tcp_rmem[2]`'s default, when the caller gives none.
pub const RMEM_MAX_DEFAULT: u32 = 6 << 20;

/// `tcp_rcvbuf_low_rtt`'s default (1 ms): below it, a buffer grows in
/// proportion to the round trip.
const RCVBUF_LOW_RTT_US: u64 = 1000;

/// `tcp_win_from_space`: the window `space` bytes of buffer hold at `ratio`.
pub fn win_from_space(ratio: u8, space: u32) -> u32 {
    u32::try_from(u64::from(space).saturating_mul(u64::from(ratio)) >> RATIO_SHIFT).unwrap_or(u32::MAX)
}

/// `tcp_space_from_win`: the buffer a window of `win` bytes takes at `ratio`.
pub fn space_from_win(ratio: u8, win: u32) -> u32 {
    let scaled = u64::from(win) << RATIO_SHIFT;
    u32::try_from(scaled.checked_div(u64::from(ratio)).unwrap_or(scaled)).unwrap_or(u32::MAX)
}

/// What a segment's payload costs a receive buffer as Linux counts it:
/// the skb's `truesize`, the same less a head that holds no payload
/// (`truesize_adjust`, for the growth of the window), and the size of the
/// segments it was made of (`gso_size`; 0: it is one segment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// `skb->truesize`.
    pub truesize: u32,
    /// `truesize_adjust(true, skb)`.
    pub grow_truesize: u32,
    /// `skb_shinfo(skb)->gso_size`.
    pub seg_size: u32,
}

impl Cost {
    /// The cost of `len` bytes when nothing else is known: the default
    /// ratio's, twice the payload.
    pub fn of_len(len: u32) -> Cost {
        let truesize = len.saturating_mul(2);
        Cost { truesize, grow_truesize: truesize, seg_size: 0 }
    }
}

/// The numbers behind the window (Linux's names in brackets); all 0 until
/// the data path starts ([`Conn::init_rcv_window`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RcvWindow {
    /// The buffer, in Linux's units (`sk_rcvbuf`).
    pub rcvbuf: u32,
    /// The payload-to-truesize ratio in 256ths (`scaling_ratio`).
    pub ratio: u8,
    /// Our guess at the peer's segment size (`icsk_ack.rcv_mss`).
    pub rcv_mss: u32,
    /// The last short segment's size (`icsk_ack.last_seg_size`).
    pub last_seg_size: u32,
    /// The most the window may be (`window_clamp`).
    pub clamp: u32,
    /// The most the window is offered now; it grows with the segments
    /// that arrive (`rcv_ssthresh`).
    pub ssthresh: u32,
    /// What the reader took in the last measured round trip
    /// (`rcvq_space.space`).
    pub space: u32,
}

impl Conn {
    /// The MSS we offered, less the timestamp option the segments carry
    /// (`tp->advmss` once established).
    pub(crate) fn rcv_advmss(&self) -> u32 {
        let ts = if self.neg.timestamps { u32::from(super::conn::TS_OPTION_LEN) } else { 0 };
        u32::from(self.cfg.advertised_mss()).saturating_sub(ts).max(1)
    }

    /// The receive buffer in Linux's units: the configuration's, else
    /// twice the window's space.
    fn cfg_rcvbuf(&self) -> u32 {
        match self.cfg.rcvbuf {
            0 => self.cfg.rcv_space.max(self.cfg.rcv_wnd).saturating_mul(2),
            b => b,
        }
    }

    /// `tcp_init_buffer_space` (and `tcp_initialize_rcv_mss`): the window's
    /// numbers when the data path starts. The clamp is the whole buffer's
    /// window less a segment (`tcp_app_win`'s reservation), and the
    /// offered window starts at the initial one within it.
    pub(crate) fn init_rcv_window(&mut self) {
        let advmss = self.rcv_advmss();
        let rcvbuf = self.cfg_rcvbuf();
        let maxwin = win_from_space(DEFAULT_RATIO, rcvbuf);
        let wscale = u32::from(self.neg.rcv_wscale.min(TCP_MAX_WSCALE));
        let most = u32::from(u16::MAX) << wscale;
        // `tcp_select_initial_window`'s clamp: the user's, else the most
        // a window can be, and never more than the scale can say.
        let mut clamp = match self.cfg.window_clamp {
            0 => u32::from(u16::MAX) << TCP_MAX_WSCALE,
            c => c,
        }
        .min(most);
        if clamp >= maxwin {
            clamp = maxwin;
        }
        if clamp > advmss.saturating_mul(2) && clamp.saturating_add(advmss) > maxwin {
            clamp = advmss.saturating_mul(2).max(maxwin.saturating_sub(advmss));
        }
        let ssthresh = self.cfg.rcv_wnd.min(clamp);
        // `tcp_initialize_rcv_mss`.
        let hint = advmss.min(self.send_mss()).min(self.cfg.rcv_wnd / 2).clamp(MIN_MSS.min(MSS_DEFAULT), MSS_DEFAULT);
        self.data.rwin = RcvWindow {
            rcvbuf,
            ratio: DEFAULT_RATIO,
            rcv_mss: hint,
            last_seg_size: 0,
            clamp,
            ssthresh,
            space: ssthresh.min(self.cfg.rcv_wnd).min(advmss.saturating_mul(super::cc::INIT_CWND)),
        };
    }

    /// Bytes the receive buffer holds: unread, and kept out of order.
    fn rx_held(&self) -> u32 {
        let ooo = self.data.ooo.ranges().iter().map(|r| r.end.diff(r.start).max(0) as u32).fold(0u32, u32::saturating_add);
        self.data.rx_unread.saturating_add(ooo)
    }

    /// `tcp_full_space`: the window the whole buffer holds.
    fn full_space(&self) -> u32 {
        let w = &self.data.rwin;
        win_from_space(w.ratio, w.rcvbuf).min(self.rx_window_room(0))
    }

    /// The window the ring has room for beyond `held` bytes (less the
    /// slack kept for a window rounded up to the scale).
    fn rx_window_room(&self, held: u32) -> u32 {
        self.rx_ring().saturating_sub(self.data.rx_slack).saturating_sub(held)
    }

    /// Bytes the receive ring holds, slack included: as the caller said
    /// ([`super::conn::Data::rx_cap`]), else what the buffer and the
    /// initial window need.
    pub(crate) fn rx_ring(&self) -> u32 {
        let d = &self.data;
        match d.rx_cap {
            0 => d.rwin.rcvbuf.max(self.cfg.rcv_wnd).saturating_add(d.rx_slack),
            cap => cap,
        }
    }

    /// `tcp_space`: the window the buffer's free part holds.
    fn tcp_space(&self) -> u32 {
        let held = self.rx_held();
        self.full_space().saturating_sub(held).min(self.rx_window_room(held))
    }

    /// `tcp_measure_rcv_mss` for a segment of `len` bytes of payload
    /// costing `cost`, with `header` bytes of TCP header and `push` its
    /// PSH: a full segment of a new size measures the ratio again, which
    /// moves the clamp to the whole buffer's window; short ones of the
    /// same size twice running become the guess.
    fn measure_rcv_mss(&mut self, len: u32, cost: Cost, header: u32, push: bool) {
        let advmss = self.rcv_advmss();
        let tcp_header = TCP_HEADER.saturating_add(if self.neg.timestamps { u32::from(super::conn::TS_OPTION_LEN) } else { 0 });
        let w = &mut self.data.rwin;
        let lss = core::mem::take(&mut w.last_seg_size);
        let seg = if cost.seg_size != 0 { cost.seg_size } else { len };
        if seg >= w.rcv_mss {
            if seg != w.rcv_mss && cost.truesize != 0 {
                let ratio = (u64::from(len) << RATIO_SHIFT).checked_div(u64::from(cost.truesize)).unwrap_or(0);
                let ratio = u8::try_from(ratio).unwrap_or(u8::MAX).max(1);
                if ratio != w.ratio {
                    w.ratio = ratio;
                    w.clamp = win_from_space(ratio, w.rcvbuf);
                    w.space = w.space.min(w.clamp);
                }
            }
            w.rcv_mss = seg.min(advmss);
        } else {
            let full = seg.saturating_add(header);
            if full >= MSS_DEFAULT.saturating_add(TCP_HEADER) || (full >= MIN_MSS.saturating_add(TCP_HEADER) && !push) {
                let l = full.saturating_sub(tcp_header);
                w.last_seg_size = l;
                if l == lss {
                    w.rcv_mss = l;
                }
            }
        }
    }

    /// `tcp_grow_window`: a segment of `len` bytes whose memory, at the
    /// ratio, would fit the buffer as well as the window assumes lets the
    /// offered window grow by two segments (or twice its length), up to
    /// the clamp and the buffer's free space; one whose memory is worse
    /// only while the window is small enough for it. A growth makes the
    /// next ACK a quick one.
    fn grow_rcv_window(&mut self, len: u32, truesize: u32) {
        let room = self.data.rwin.clamp.min(self.tcp_space()).saturating_sub(self.data.rwin.ssthresh);
        if room == 0 {
            return;
        }
        let w = self.data.rwin;
        let incr = if win_from_space(w.ratio, truesize) <= len {
            self.rcv_advmss().saturating_mul(2)
        } else {
            let mut truesize = win_from_space(w.ratio, truesize) >> 1;
            let mut window = win_from_space(w.ratio, self.cfg_rmem_max()) >> 1;
            let mut incr = 0;
            while w.ssthresh <= window {
                if truesize <= len {
                    incr = w.rcv_mss.saturating_mul(2);
                    break;
                }
                truesize >>= 1;
                window >>= 1;
            }
            incr
        };
        if incr > 0 {
            let incr = incr.max(len.saturating_mul(2));
            self.data.rwin.ssthresh = w.ssthresh.saturating_add(room.min(incr));
            self.data.quickacks |= 1;
        }
    }

    /// `tcp_rmem[2]`: the most the buffer may grow to.
    fn cfg_rmem_max(&self) -> u32 {
        match self.cfg.rmem_max {
            0 => RMEM_MAX_DEFAULT,
            m => m,
        }
    }

    /// In-order or out-of-order data of `len` bytes came in
    /// (`tcp_event_data_recv`'s measure and growth; out of order, only the
    /// growth, and only with SACK, as `tcp_data_queue_ofo`).
    pub(crate) fn rcv_window_data(&mut self, len: u32, cost: Cost, header: u32, push: bool, in_order: bool) {
        if self.data.rwin.rcvbuf == 0 {
            return;
        }
        if in_order {
            self.measure_rcv_mss(len, cost, header, push);
        } else if !self.neg.sack {
            return;
        }
        if len >= 128 || !in_order {
            let truesize = if in_order { cost.grow_truesize } else { cost.truesize };
            self.grow_rcv_window(len, truesize);
        }
    }

    /// `__tcp_select_window`: the window to offer now, before the rule
    /// that an offered edge never moves back. A buffer less than half free
    /// offers what it has, rounded down, and nothing when that is under a
    /// segment or a sixteenth of the buffer's window (receiver-side SWS
    /// avoidance); the offer never passes `rcv_ssthresh`; with a window
    /// scale it is rounded up to the scale's unit, without one to whole
    /// segments. `low`: the buffer was less than half free (no quick ACKs
    /// then).
    pub(crate) fn select_window(&self) -> (u32, bool) {
        let d = &self.data;
        let w = &d.rwin;
        let shift = self.neg.rcv_wscale.min(TCP_MAX_WSCALE);
        let unit = 1u32 << shift;
        if w.rcvbuf == 0 {
            // Before the data path: the initial window, less what is held.
            return (self.cfg.rcv_wnd.saturating_sub(d.rx_unread), false);
        }
        let mut mss = w.rcv_mss;
        let mut free = self.tcp_space();
        let allowed = self.full_space();
        let full = w.clamp.min(allowed);
        if mss > full {
            mss = full;
            if mss == 0 {
                return (0, true);
            }
        }
        let low = free < full / 2;
        if low {
            free &= !unit.saturating_sub(1);
            if free < allowed >> 4 || free < mss {
                return (0, true);
            }
        }
        let free = free.min(w.ssthresh);
        let window = if shift > 0 {
            free.checked_next_multiple_of(unit).unwrap_or(free)
        } else {
            let window = d.rcv_adv.diff(d.rcv_wup).max(0) as u32;
            if window <= free.saturating_sub(mss) || window > free {
                free.saturating_sub(free.checked_rem(mss).unwrap_or(0))
            } else if mss == full && free > window.saturating_add(full / 2) {
                free
            } else {
                window
            }
        };
        (window, low)
    }

    /// The window still open from `RCV.NXT` to the edge last offered
    /// (`tcp_receive_window`).
    pub(crate) fn receive_window(&self) -> u32 {
        self.data.rcv_adv.diff(self.rcv_nxt).max(0) as u32
    }

    /// `tcp_rcv_space_adjust` and `tcp_rcvbuf_grow`: the reader took
    /// `copied` bytes over the last round trip of `rtt_us`, with `inq`
    /// still unread. When that beats the last round trip's, the buffer
    /// Linux's TCP would grow to (twice the bytes, and more as they
    /// grow, or in proportion to a round trip under a millisecond),
    /// within `tcp_rmem[2]`: Some(new `sk_rcvbuf`) if larger. The caller
    /// makes room for it and calls [`Conn::set_rcvbuf`].
    pub fn rcvbuf_wanted(&mut self, copied: u32, inq: u32, rtt_us: u32) -> Option<u32> {
        let copied = copied.saturating_sub(inq);
        let w = &mut self.data.rwin;
        if w.rcvbuf == 0 || copied <= w.space {
            return None;
        }
        let old = w.space.max(1);
        w.space = copied;
        let rcvwin = u64::from(copied) << 1;
        let grow = if u64::from(rtt_us) < RCVBUF_LOW_RTT_US {
            rcvwin.saturating_mul(u64::from(rtt_us)) / RCVBUF_LOW_RTT_US
        } else {
            (rcvwin << 1).saturating_mul(u64::from(copied.saturating_sub(old))).checked_div(u64::from(old)).unwrap_or(0)
        };
        let rcvwin = u32::try_from(rcvwin.saturating_add(grow)).unwrap_or(u32::MAX);
        let ooo = match self.data.ooo.ranges().last() {
            Some(r) => r.end.diff(self.rcv_nxt).max(0) as u32,
            None => 0,
        };
        let rcvwin = rcvwin.saturating_add(ooo);
        let w = &self.data.rwin;
        let rcvbuf = space_from_win(w.ratio, rcvwin).min(self.cfg_rmem_max());
        (rcvbuf > w.rcvbuf).then_some(rcvbuf)
    }

    /// The receive buffer is now `rcvbuf` (Linux's units) in a ring of
    /// `cap` bytes: the clamp follows the buffer's window, and the peer
    /// hears of a window that grew as after a read.
    pub fn set_rcvbuf(&mut self, rcvbuf: u32, cap: u32) {
        self.data.rx_cap = cap.max(self.data.rx_cap);
        let w = &mut self.data.rwin;
        if w.rcvbuf == 0 || rcvbuf <= w.rcvbuf {
            return;
        }
        w.rcvbuf = rcvbuf;
        w.clamp = win_from_space(w.ratio, rcvbuf);
        self.on_read(0);
    }

    /// `TCP_WINDOW_CLAMP` of `val` on a connection (`tcp_set_window_clamp`):
    /// a smaller clamp lowers the offered window's growth limit, a larger
    /// one lets it reach the window offered so far.
    pub(crate) fn clamp_rcv_window(&mut self, val: u32) {
        let rcv_wnd = self.data.rcv_adv.diff(self.data.rcv_wup).max(0) as u32;
        let w = &mut self.data.rwin;
        if w.rcvbuf == 0 || val == w.clamp {
            return;
        }
        let old = w.clamp;
        w.clamp = val;
        if val < old {
            w.ssthresh = w.ssthresh.min(val);
        } else {
            w.ssthresh = w.ssthresh.max(rcv_wnd.min(val));
        }
    }

    /// The window `TCP_INFO` and `TCP_WINDOW_CLAMP` report: the clamp
    /// once the data path started.
    pub fn window_clamp(&self) -> u32 {
        match self.data.rwin.rcvbuf {
            0 if self.cfg.window_clamp != 0 => self.cfg.window_clamp,
            0 => self.cfg.rcv_space.max(self.cfg.rcv_wnd),
            _ => self.data.rwin.clamp,
        }
    }
}
