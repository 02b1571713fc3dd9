// SPDX-License-Identifier: GPL-2.0

//! What a connection sends, the counterpart of `net/ipv4/tcp_output.c`:
//! segments chosen under the connection's lock (their payloads' pages
//! held) and built into skbs and sent after it, full ones joined into GSO
//! skbs (`tcp_write_xmit`, `tcp_transmit_skb`).

use core::sync::atomic::Ordering;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use crate::net::buf::{HeldFrag, SharedBytes};
use crate::net::route::FlowKey;
use crate::net::{skb, Net, Route, Sock};
use crate::proto::conn::{Conn, Endpoint};
use crate::proto::icmp::IcmpErrno;
use crate::proto::output::Transmit;
use crate::proto::ring::Ring;
use crate::proto::segment::Segment;
use crate::sys;

use crate::rtcp::RtcpProto;
use crate::rtcp_af::AfOps;
use crate::rtcp_input::RtcpStream;
use crate::rtcp_netns::RtcpNet;

/// Sends `seg` from `local` to `remote`, routing it now: a segment with
/// no connection behind it (a reset, a SYN-ACK), or one sent without the
/// connection's route.
pub(crate) fn send(af: &AfOps, net: &Net, key: FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment) {
    send_counted(af, net, key, local, remote, seg, false)
}

/// [`send`], counting a retransmission.
pub(crate) fn send_counted(af: &AfOps, net: &Net, key: FlowKey, local: Endpoint, remote: Endpoint, seg: &Segment, retransmission: bool) {
    RtcpNet::of(net).stats.sent(seg, retransmission);
    let sent = (af.route)(net, key, local, remote).and_then(|rt| af.send_on(net, rt, key, local, remote, seg));
    // A segment that cannot go out now is lost like one dropped on the
    // way: retransmission covers it.
    let _ = sent;
}

/// The segments of one connection, chosen under its lock and built and
/// sent after it (an skb's allocation and headers, the route and
/// `ip_local_out` need no lock, and the lock is held the less): each
/// segment's header, and the pages of its payload held by references
/// taken under the lock.
pub(crate) struct Outbox {
    /// The operations of the connection's family.
    af: &'static AfOps,
    local: Endpoint,
    remote: Endpoint,
    /// Each segment: its header, its segment size (GSO), its payload's
    /// length and how many of `frags` hold it.
    segs: KVec<(Segment, u16, usize, usize)>,
    /// The payloads' pages, in the order of `segs`.
    frags: KVec<HeldFrag>,
    /// Whether a retransmission is among them.
    rtx: bool,
}

impl Outbox {
    /// The most segments one event sends; more wait for the next ACK.
    const MAX: usize = 64;

    pub(crate) fn new(c: &Conn) -> Outbox {
        Outbox {
            af: crate::rtcp_af::of(c.remote.addr),
            local: c.local,
            remote: c.remote,
            segs: KVec::new(),
            frags: KVec::new(),
            rtx: false,
        }
    }

    /// Queues `seg` (no payload), counting it. A segment that cannot be
    /// queued is lost like one dropped on the way.
    pub(crate) fn push(&mut self, net: &Net, seg: &Segment, retransmission: bool) {
        RtcpNet::of(net).stats.sent(seg, retransmission);
        self.rtx |= retransmission;
        let _ = self.segs.push((*seg, u16::MAX, 0, 0), GFP_ATOMIC);
    }

    /// Everything the connection sends now. Full segments back to back
    /// whose headers differ only in the sequence number go out as one GSO
    /// skb (as `tcp_write_xmit` sends TSO skbs): the device or the stack
    /// cuts it where each segment ended.
    pub(crate) fn drain(&mut self, net: &Net, s: &mut RtcpStream, now: u64, gso_segs: u32) {
        // As many as the device takes, and as Linux sizes its skbs to the
        // pacing rate (`tcp_tso_segs`; 0: no bound).
        let gso_segs = match (gso_segs, s.conn.tso_segs()) {
            (0, n) | (n, 0) => n,
            (a, b) => a.min(b),
        };
        // The segments gathered so far, as one: its first header, the
        // payload of all, and the size of each (the first one's).
        let mut batch: Option<(Transmit, u32)> = None;
        // New data comes from the connection in runs of full segments
        // that one skb holds: within the device's (or the pacing's) count,
        // the largest TCP packet (with the longest header), and the skb's
        // frags (a run's pages, at most one more than its bytes fill at
        // each of its ends and at each side of the ring's wrap).
        let mss = s.conn.send_mss().max(1);
        let by_len = (skb::MAX_TCP_LEN.saturating_sub(60) / mss as usize) as u32;
        let by_frags = ((sys::RTCP_MAX_SKB_FRAGS as usize).saturating_sub(4).saturating_mul(PAGE_SIZE) / mss as usize) as u32;
        let per_skb = match gso_segs {
            0 => by_len,
            n => n.min(by_len),
        }
        .max(1);
        let run = per_skb.min(by_frags).max(1);
        let mut left = Self::MAX as u32;
        let mut stats = crate::rtcp_proc::Sent::default();
        while left > 0 {
            // A run that may join the skb being gathered fills what it
            // has left (its pages are counted exactly then, [`Outbox::joins`]).
            let most = match &batch {
                Some((b, size)) if *size == mss && b.seg.flags == crate::proto::segment::Flags::ACK => per_skb.saturating_sub(b.len / mss).clamp(1, run),
                _ => run,
            };
            let Some(t) = s.conn.transmit_run(now, most.min(left)) else { break };
            let n = t.len.checked_div(t.size).unwrap_or(1);
            left = left.saturating_sub(n.max(1));
            stats.add(&t.seg, t.retransmission, n);
            self.rtx |= t.retransmission;
            if let Some((b, size)) = batch.as_mut() {
                if Self::joins(&s.tx, b, *size, &t, gso_segs) {
                    b.len = b.len.saturating_add(t.len);
                    b.seg.flags = t.seg.flags;
                    continue;
                }
            }
            let size = if t.size == 0 { t.len } else { t.size };
            if let Some((b, size)) = batch.replace((t, size)) {
                self.build_from(s, &b, size);
            }
        }
        if let Some((b, size)) = batch {
            self.build_from(s, &b, size);
        }
        stats.count(&RtcpNet::of(net).stats);
    }

    /// Whether `t` (one segment, or a run of segments of `size`) can ride
    /// in the GSO skb of `b` (segments of `size`):
    /// it follows `b` in sequence and in the send buffer, every segment of
    /// `b` is full and carries no PSH or FIN, the headers are the same but
    /// for the sequence number (and `t`'s PSH or FIN, which GSO leaves on
    /// the last piece), and the whole fits one skb, of at most `gso_segs`
    /// segments (0: no bound) and of no more pages than an skb has frags.
    fn joins(tx: &Ring<SharedBytes>, b: &Transmit, size: u32, t: &Transmit, gso_segs: u32) -> bool {
        let mut h = t.seg;
        h.seq = b.seg.seq;
        h.flags = b.seg.flags;
        let plain = b.seg.flags == crate::proto::segment::Flags::ACK;
        // `t` is one segment, or a run of segments of `b`'s size.
        let full = size > 0 && b.len % size == 0 && t.len > 0 && (t.len <= size && t.size == 0 || t.size == size);
        let next = t.seg.seq == b.seg.seq.add(b.len) && t.off == b.off.wrapping_add(b.len);
        let room = (b.len as usize).saturating_add(t.len as usize).saturating_add(b.seg.emit_header_len())
            <= skb::MAX_TCP_LEN
            && (gso_segs == 0 || b.len.saturating_add(t.len).div_ceil(size.max(1)) <= gso_segs);
        let frags = || {
            let (x, y) = tx.data_spans(b.off as usize, b.len.saturating_add(t.len) as usize)?;
            let pages = tx.storage().pages_of(x).saturating_add(tx.storage().pages_of(y));
            Some(pages <= sys::RTCP_MAX_SKB_FRAGS as usize)
        };
        plain && full && next && room && h == b.seg && frags() == Some(true)
    }

    /// Queues `t` with the pages of its payload held. One of more than a
    /// segment carries PSH, which GSO leaves on the last of them
    /// (`tcp_transmit_skb` forces it on GSO packets, so that the
    /// receiver's GRO flushes at once). A segment whose pages cannot be
    /// held or queued is lost like one dropped on the way.
    fn build_from(&mut self, s: &RtcpStream, t: &Transmit, size: u32) {
        let mut seg = t.seg;
        if t.len > size {
            seg.flags = seg.flags | crate::proto::segment::Flags::PSH;
        }
        let first = self.frags.len();
        let mut len = 0;
        if let Some((a, b)) = s.tx.data_spans(t.off as usize, t.len as usize) {
            len = a.len().saturating_add(b.len());
            for r in [a, b] {
                let Some(held) = s.tx.storage().hold(r) else { return self.frags.truncate(first) };
                for f in held {
                    if self.frags.push(f, GFP_ATOMIC).is_err() {
                        return self.frags.truncate(first);
                    }
                }
            }
        }
        let n = self.frags.len().saturating_sub(first);
        let mss = u16::try_from(size).unwrap_or(u16::MAX);
        if self.segs.push((seg, mss, len, n), GFP_ATOMIC).is_err() {
            self.frags.truncate(first);
        }
    }

    /// Builds the segments and sends them on the route `sk` keeps
    /// (`__sk_dst_check` in `ip_queue_xmit`), or one looked up now, and
    /// kept if `keep`. When there is none and a retransmission is among
    /// them, the lookup's error becomes the connection's soft error,
    /// which its timeout reports in place of `ETIMEDOUT`
    /// (`inet_sk_rebuild_header`, which `__tcp_retransmit_skb` calls,
    /// keeps it in `sk_err_soft`). A segment that cannot be built is lost
    /// like one dropped on the way.
    pub(crate) fn send(mut self, net: &Net, sk: &Sock<RtcpProto>, keep: bool) {
        let (local, remote) = (self.local, self.remote);
        let key = sk.flow_key();
        let mut frags = self.frags.drain_all();
        for (seg, mss, len, n) in self.segs.drain_all() {
            let mut held = frags.by_ref().take(n);
            let built = (self.af.build)(local, remote, &seg, (len > 0).then_some((len, &mut held as &mut dyn Iterator<Item = HeldFrag>)), mss);
            // (Pages a failed build left are put.)
            held.for_each(drop);
            let Ok(t) = built else { continue };
            let rt = match Route::cached(sk, local.addr, sk.shared().dst_cookie.load(Ordering::Relaxed)) {
                Some(rt) => Ok(rt),
                None => (self.af.route)(net, key, local, remote).inspect(|rt| {
                    if keep {
                        rt.keep_in(sk);
                        sk.shared().dst_cookie.store(rt.cookie, Ordering::Relaxed);
                        sk.shared().gso_segs.store(rt.gso_max_segs(), Ordering::Relaxed);
                    }
                }),
            };
            match rt {
                Ok(rt) => {
                    let _ = (self.af.transmit)(net, rt, key, t);
                }
                Err(e) if self.rtx => no_route(sk, e),
                Err(_) => {}
            }
        }
    }
}

/// A retransmission of `sk` found no route (`e`): the soft error.
fn no_route(sk: &Sock<RtcpProto>, e: Error) {
    let errno = if e == ENETUNREACH {
        IcmpErrno::NetUnreach
    } else if e == EHOSTUNREACH {
        IcmpErrno::HostUnreach
    } else {
        return;
    };
    sk.set_soft_error(e.to_errno().wrapping_neg());
    if let Some(c) = sk.shared().tcb.lock().conn() {
        c.soft_error = Some(errno);
    }
}
