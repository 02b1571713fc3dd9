// SPDX-License-Identifier: GPL-2.0

//! A connection with its bytes: the control block and its send and
//! receive buffers, over storage the caller owns. This is what a socket
//! holds; [`Stream::on_segment`], [`Stream::transmit`], [`Stream::write`]
//! and [`Stream::read`] keep the buffers and the sequence space in step,
//! so the socket glue only moves bytes between them and the user.

use super::conn::{Config, Conn, Outcome, Place};
use super::options::TCP_MAX_WSCALE;
use super::output::Transmit;
use super::ring::{Bytes, Ring};
use super::segment::Segment;
use super::urgent::UrgRead;
#[cfg(doc)]
use super::urgent::Urgent;

/// A received segment's payload, wherever it lies (an skb, a slice).
pub trait Payload {
    /// Copies the payload from byte `skip` on into all of `dst`; false if
    /// it could not.
    fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool;

    /// Keeps the payload's bytes from `skip` on, `len` of them, for the
    /// reader, instead of having them copied into the receive buffer
    /// (Linux's TCP queues the skb itself, `tcp_queue_rcv`); asked only
    /// for bytes in order, which are then the buffer's next readable ones.
    /// True if it keeps them: the buffer counts them readable but leaves
    /// its own bytes at their place as they were, and the reader takes
    /// them from whoever keeps them.
    fn keep(&self, skip: u32, len: u32) -> bool {
        let _ = (skip, len);
        false
    }

    /// Whether [`Payload::keep`] would keep bytes in order: their room in
    /// the receive buffer is then not made ready.
    fn may_keep(&self) -> bool {
        false
    }

    /// What the payload costs the receive buffer as Linux counts it
    /// (None: not known, the default ratio's).
    fn cost(&self) -> Option<super::rwnd::Cost> {
        None
    }
}

impl Payload for [u8] {
    fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool {
        let Ok(skip) = usize::try_from(skip) else { return false };
        let Some(src) = skip.checked_add(dst.len()).and_then(|end| self.get(skip..end)) else { return false };
        dst.copy_from_slice(src);
        true
    }
}

/// Bytes a receive buffer holds past the window: a window's edge never
/// moves back, so it is rounded up to the scale's unit
/// (`tcp_select_window`), which may reach a unit less a byte past the
/// room.
fn rx_slack(cfg: &Config) -> u32 {
    (1u32 << cfg.wscale.unwrap_or(0).min(TCP_MAX_WSCALE)).saturating_sub(1)
}

/// The receive buffer a connection of `cfg` needs: the whole buffer in
/// Linux's units (`sk_rcvbuf`, the most window any ratio of payload to
/// memory gives, [`crate::rwnd`]) and the slack for the window's rounding.
pub fn rx_capacity(cfg: &Config) -> usize {
    rcvbuf_of(cfg).saturating_add(rx_slack(cfg)) as usize
}

/// The receive buffer of `cfg` in Linux's units ([`Config::rcvbuf`]).
fn rcvbuf_of(cfg: &Config) -> u32 {
    match cfg.rcvbuf {
        0 => cfg.rcv_space.max(cfg.rcv_wnd).saturating_mul(2),
        b => b,
    }
}

/// A connection and its buffers.
#[derive(Debug)]
pub struct Stream<S> {
    /// The control block.
    pub conn: Conn,
    /// Bytes from `SND.UNA` on: sent and not acknowledged, then unsent.
    pub tx: Ring<S>,
    /// Bytes received in order and not read, then out-of-order ones at
    /// their place.
    pub rx: Ring<S>,
    /// What the reader took in the current round trip.
    reads: Reads,
}

/// The bytes the reader took since `since` (ms): `tcp_rcv_space_adjust`'s
/// measure of how fast the application reads.
#[derive(Debug, Default)]
struct Reads {
    since: u64,
    bytes: usize,
}

impl<S: Bytes> Stream<S> {
    /// `conn` with buffers over `tx` and `rx`: the connection's buffer
    /// sizes become theirs.
    pub fn new(mut conn: Conn, tx: S, rx: S) -> Stream<S> {
        let (tx, rx) = (Ring::new(tx), Ring::new(rx));
        let rx_cap = u32::try_from(rx.capacity()).unwrap_or(u32::MAX);
        conn.cfg.sndbuf = u32::try_from(tx.capacity()).unwrap_or(u32::MAX);
        conn.data.tx_cap = conn.cfg.sndbuf;
        // The window only ever offers what the ring holds: the slack past
        // it is for a window rounded up to the scale (without it, what the
        // rounding lets in is dropped and sent again). A ring smaller than
        // the configuration asks for bounds the buffer and the window.
        let slack = rx_slack(&conn.cfg).min(rx_cap);
        let room = rx_cap.saturating_sub(slack);
        conn.data.rx_slack = slack;
        conn.data.rx_cap = rx_cap;
        conn.cfg.rcvbuf = rcvbuf_of(&conn.cfg).min(room.saturating_mul(2));
        conn.cfg.rcv_wnd = conn.cfg.rcv_wnd.min(room);
        conn.rcv_wnd = conn.rcv_wnd.min(conn.cfg.rcv_wnd);
        Stream { conn, tx, rx, reads: Reads::default() }
    }

    /// A segment arrived with `payload`: its bytes go to their place in
    /// the receive buffer (unless, in order, the payload keeps them,
    /// [`Payload::keep`]), acknowledged bytes leave the send buffer.
    pub fn on_segment<P: Payload + ?Sized>(&mut self, seg: &Segment, payload: &P, payload_len: u32, now: u64) -> Outcome {
        // Storage that takes memory as it is first written makes the
        // segment's room ready first: a segment it has no memory for is
        // dropped whole, before the connection counts its bytes (as
        // Linux's TCP drops an skb it cannot charge, `tcp_try_rmem_schedule`).
        if let Some(p) = self.conn.landing(seg, payload_len) {
            let kept = p.at as usize == self.rx.len() && payload.may_keep();
            if !kept && !self.rx.fill_at(p.at as usize, p.len as usize, |_, _| true) {
                return Outcome { mib: super::mib::Mib::RCVQ_DROP, ..Outcome::default() };
            }
        }
        let out = match payload.cost() {
            Some(cost) => self.conn.on_segment_costing(seg, payload_len, cost, now),
            None => self.conn.on_segment(seg, payload_len, now),
        };
        // The urgent byte, kept aside (`tcp_urg`).
        if let Some(off) = out.urg_at {
            let mut byte = [0u8];
            if payload.copy_to(off, &mut byte) {
                self.conn.data.urg.arrived(byte[0]);
            }
        }
        if let Some(p) = out.data {
            let in_order = out.readable > 0 && p.at as usize == self.rx.len();
            if !(in_order && payload.keep(p.skip, p.len)) {
                self.fill(p, payload);
            }
        }
        self.rx.commit(out.readable as usize);
        self.tx.consume(out.acked as usize);
        out
    }

    /// A Fast Open child's SYN data: `len` bytes of `payload`, which the
    /// connection counts readable already
    /// ([`crate::request::Request::fastopen_child`]), copied to the head
    /// of the receive buffer. False if the buffer has no room or memory
    /// for them: the child is not made then.
    pub fn syn_data<P: Payload + ?Sized>(&mut self, payload: &P, len: u32) -> bool {
        let n = len as usize;
        if n == 0 {
            return true;
        }
        if n > self.rx.free() || !self.rx.fill_at(0, n, |_, _| true) {
            return false;
        }
        self.fill(Place { skip: 0, len, at: 0 }, payload);
        self.rx.commit(n)
    }

    /// Copies the bytes of `payload` that `place` says into their place
    /// in the receive buffer.
    pub fn fill<P: Payload + ?Sized>(&mut self, place: Place, payload: &P) {
        // The connection only places what fits in the buffer, its room
        // was made ready ([`Stream::on_segment`]), and the caller's
        // payload is as long as it said, so the copy succeeds. Were it not
        // to, the bytes would be wrong, never out of bounds; nothing here
        // may panic (this runs in the kernel).
        let _ = self.rx.fill_at(place.at as usize, place.len as usize, |done, dst| {
            payload.copy_to(place.skip.wrapping_add(u32::try_from(done).unwrap_or(u32::MAX)), dst)
        });
    }

    /// How many bytes a write may append now.
    pub fn write_room(&self) -> usize {
        if !self.conn.may_send() {
            return 0;
        }
        (self.conn.send_space() as usize).min(self.tx.free())
    }

    /// Appends what fits of `src` to the send buffer; the bytes taken.
    pub fn write(&mut self, src: &[u8]) -> usize {
        let n = src.len().min(self.write_room());
        if !src.get(..n).is_some_and(|s| self.tx.write_at(self.tx.len(), s)) {
            return 0;
        }
        self.wrote(n, true)
    }

    /// `n` bytes were copied into the room after the send buffer's data
    /// ([`Ring::room_spans`]) and join it; the bytes taken: `n`, or 0 if
    /// they are more than [`Stream::write_room`] (the connection may have
    /// ended since). `push`: they end a write ([`Conn::queued`]).
    pub fn wrote(&mut self, n: usize, push: bool) -> usize {
        if n > self.write_room() || !self.tx.commit(n) {
            return 0;
        }
        self.conn.queued(n as u32, push);
        n
    }

    /// Copies readable bytes into `dst`, and unless `peek` takes them out
    /// of the buffer (the window grows); the bytes copied.
    pub fn read(&mut self, dst: &mut [u8], peek: bool) -> usize {
        let n = dst.len().min(self.rx.len());
        if !dst.get_mut(..n).is_some_and(|d| self.rx.read_at(0, d)) {
            return 0;
        }
        if !peek {
            self.took(n);
        }
        n
    }

    /// `n` bytes (at most what the buffer holds) were copied out of the
    /// head of the receive buffer ([`Ring::data_spans`]) and leave it: the
    /// window grows. True when the peer should hear of it now
    /// ([`Conn::on_read`]).
    pub fn took(&mut self, n: usize) -> bool {
        let n = n.min(self.rx.len());
        let head = self.conn.read_seq();
        self.conn.data.urg.took(head, n as u32);
        self.rx.consume(n);
        self.conn.on_read(n as u32)
    }

    /// How a read from the head meets the urgent mark ([`Urgent::read_at`]).
    pub fn urgent_read(&self) -> UrgRead {
        let avail = u32::try_from(self.rx.len()).unwrap_or(u32::MAX);
        self.conn.data.urg.read_at(self.conn.read_seq(), avail)
    }

    /// The bytes a read can take now: the readable ones less the urgent
    /// bytes it skips (`tcp_poll`'s readable test).
    pub fn readable(&self) -> usize {
        let avail = u32::try_from(self.rx.len()).unwrap_or(u32::MAX);
        self.conn.data.urg.readable(self.conn.read_seq(), avail) as usize
    }

    /// `SIOCATMARK`: the reader is at the urgent mark.
    pub fn at_mark(&self) -> bool {
        self.conn.data.urg.at_mark(self.conn.read_seq())
    }

    /// `tcp_rcv_space_adjust`: counts `n` bytes the reader took at `now`
    /// (ms). At the end of a round trip (1 ms at least) in which the reader
    /// took more than in the last one, the buffer Linux's TCP would grow
    /// to ([`Conn::rcvbuf_wanted`]): the caller makes room for it
    /// ([`Stream::grow_rx`]). The round trip is the receiver's own measure
    /// (`rcv_rtt_est`), else SRTT, else 1 ms.
    pub fn rcvbuf_wanted(&mut self, n: usize, now: u64) -> Option<u32> {
        let r = &mut self.reads;
        r.bytes = r.bytes.saturating_add(n);
        let rtt_us = match self.conn.data.rcv_rtt_us {
            0 => self.conn.rtt.srtt_us().unwrap_or(1000),
            us => us,
        };
        let rtt = u64::from(rtt_us / 1000).max(1);
        if now.saturating_sub(r.since) < rtt {
            return None;
        }
        let copied = u32::try_from(r.bytes).unwrap_or(u32::MAX);
        *r = Reads { since: now, bytes: 0 };
        let inq = self.conn.data.rx_unread;
        self.conn.rcvbuf_wanted(copied, inq, rtt_us)
    }

    /// The send buffer moves to `storage`, larger: the user may queue
    /// more. The old storage, or `storage` back if it is not larger.
    pub fn grow_tx(&mut self, storage: S) -> S {
        match self.tx.regrow(storage) {
            Ok(old) => {
                let cap = u32::try_from(self.tx.capacity()).unwrap_or(u32::MAX);
                self.conn.cfg.sndbuf = cap;
                self.conn.data.tx_cap = cap;
                old
            }
            Err(s) => s,
        }
    }

    /// The receive buffer moves to `storage`, larger, and is `rcvbuf` in
    /// Linux's units ([`Conn::set_rcvbuf`]): the window may grow with it,
    /// and the peer hears of it as after a read. The old storage, or
    /// `storage` back if it is not larger.
    pub fn grow_rx(&mut self, storage: S, rcvbuf: u32) -> S {
        match self.rx.regrow(storage) {
            Ok(old) => {
                self.set_rcvbuf(rcvbuf);
                old
            }
            Err(s) => s,
        }
    }

    /// The receive buffer is `rcvbuf` in Linux's units, within what the
    /// ring holds (less the slack for the window's rounding).
    pub fn set_rcvbuf(&mut self, rcvbuf: u32) {
        let cap = u32::try_from(self.rx.capacity()).unwrap_or(u32::MAX);
        let room = cap.saturating_sub(self.conn.data.rx_slack);
        self.conn.set_rcvbuf(rcvbuf.min(room), cap);
    }

    /// The next segment to send and its payload (two slices of the send
    /// buffer), if any.
    pub fn transmit(&mut self, now: u64) -> Option<(Transmit, &[u8], &[u8])> {
        self.transmit_run(now, 1)
    }

    /// [`Stream::transmit`], with new data in runs of up to `most` full
    /// segments ([`Conn::transmit_run`]).
    pub fn transmit_run(&mut self, now: u64, most: u32) -> Option<(Transmit, &[u8], &[u8])> {
        let t = self.conn.transmit_run(now, most)?;
        let (a, b) = self.tx.slices(t.off as usize, t.len as usize).unwrap_or((&[], &[]));
        Some((t, a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use crate::conn::{Config, Endpoint};
    use crate::request::{Request, RequestOutcome};
    use crate::rwnd::Cost;
    use crate::segment::Flags;
    use crate::seq::SeqNum;
    use crate::state::State;
    use proptest::prelude::*;

    const A: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0001), port: 40000 };
    const B: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0002), port: 80 };

    /// A segment on the wire: header and payload.
    type Wire = (Segment, Vec<u8>);

    /// Two streams connected by a handshake at time 0: (client, server).
    fn pair(cfg: Config, tx: usize, rx: usize) -> (Stream<Vec<u8>>, Stream<Vec<u8>>) {
        let cfg = Config { rcv_wnd: rx as u32, ..cfg };
        let (mut a, syn) = Conn::connect(cfg, A, B, SeqNum(0xffff_0000), 3, 0);
        let (mut req, synack) = Request::new(cfg, B, A, &syn, SeqNum(77), 5, 0);
        let ack = a.on_segment(&synack, 0, 0).reply.unwrap();
        let RequestOutcome::Established(b) = req.on_segment(&ack, 0, 0) else { panic!("no connection") };
        let rx = rx_capacity(&cfg);
        (Stream::new(a, vec![0; tx], vec![0; rx]), Stream::new(b, vec![0; tx], vec![0; rx]))
    }

    /// Everything `s` sends now.
    fn drain<S: Bytes>(s: &mut Stream<S>, now: u64, extra: Option<Segment>) -> Vec<Wire> {
        let mut out: Vec<Wire> = extra.into_iter().map(|seg| (seg, vec![])).collect();
        while let Some((t, a, b)) = s.transmit(now) {
            out.push((t.seg, [a, b].concat()));
            assert!(out.len() < 10_000, "transmit never stops");
        }
        out
    }

    fn deliver(s: &mut Stream<Vec<u8>>, w: &Wire, now: u64) -> Outcome {
        s.on_segment(&w.0, w.1.as_slice(), w.1.len() as u32, now)
    }

    /// `a` sends to `b` and takes its answers, round after round at
    /// `now`, until `a` sends nothing more and `b` has no delayed ACK
    /// left (at most 100 rounds).
    fn settle(a: &mut Stream<Vec<u8>>, b: &mut Stream<Vec<u8>>, now: u64) {
        for _ in 0..100 {
            let segs = drain(a, now, None);
            if segs.is_empty() {
                if b.conn.data.delack.is_none() {
                    return;
                }
                // The delayed ACK's timer.
                b.conn.data.ack_now = true;
                for w in drain(b, now, None) {
                    a.on_segment(&w.0, &[][..], 0, now);
                }
                continue;
            }
            for w in &segs {
                let out = deliver(b, w, now);
                for r in out.reply.into_iter().chain(drain(b, now, None).into_iter().map(|w| w.0)) {
                    a.on_segment(&r, &[][..], 0, now);
                }
            }
        }
        panic!("the exchange never settles");
    }

    // =========================================================================
    // Tests for ESTABLISHED: data
    // =========================================================================

    /// Storage in pages of `page` bytes taken as they are first written,
    /// `budget` of them at most (a receive buffer whose pages are taken in
    /// softirq, where taking one may fail).
    #[derive(Debug)]
    struct Sparse {
        pages: Vec<Option<Vec<u8>>>,
        page: usize,
        budget: usize,
    }

    impl Sparse {
        fn new(len: usize, page: usize, budget: usize) -> Sparse {
            Sparse { pages: vec![None; len.div_ceil(page)], page, budget }
        }

        fn taken(&self) -> usize {
            self.pages.iter().filter(|p| p.is_some()).count()
        }

        /// The page of `r` and `r` within it, if `r` is inside one.
        fn within(&self, r: &core::ops::Range<usize>) -> Option<(usize, core::ops::Range<usize>)> {
            let (i, off) = (r.start / self.page, r.start % self.page);
            (r.start <= r.end && r.end <= self.size() && off + r.len() <= self.page).then_some((i, off..off + r.len()))
        }
    }

    impl Bytes for Sparse {
        fn size(&self) -> usize {
            self.pages.len() * self.page
        }

        fn piece_end(&self, at: usize, end: usize) -> usize {
            end.min((at / self.page + 1) * self.page)
        }

        fn range(&self, r: core::ops::Range<usize>) -> Option<&[u8]> {
            if r.is_empty() {
                return Some(&[]);
            }
            let (i, w) = self.within(&r)?;
            self.pages[i].as_ref().map(|p| &p[w])
        }

        fn range_mut(&mut self, r: core::ops::Range<usize>) -> Option<&mut [u8]> {
            if r.is_empty() {
                return Some(&mut []);
            }
            let (i, w) = self.within(&r)?;
            if self.pages[i].is_none() {
                self.budget = self.budget.checked_sub(1)?;
                self.pages[i] = Some(vec![0; self.page]);
            }
            self.pages[i].as_mut().map(|p| &mut p[w])
        }
    }

    // =========================================================================
    // Tests for ESTABLISHED: urgent data
    // =========================================================================

    /// Reads as `tcp_recvmsg_locked` does at the urgent mark: up to it,
    /// the urgent bytes to skip taken without being copied.
    fn read_urgent(s: &mut Stream<Vec<u8>>, max: usize) -> Vec<u8> {
        let u = s.urgent_read();
        let want = (u.drop as usize + max.min(u.limit as usize)).min(s.rx.len());
        let mut buf = vec![0; want];
        let n = s.read(&mut buf, true);
        s.took(n);
        buf.drain(..(u.drop as usize).min(n));
        buf.truncate(n.saturating_sub(u.drop as usize));
        buf
    }

    #[test]
    fn urgent_data_goes_out_of_band_and_reads_stop_at_the_mark() {
        let (mut a, mut b) = pair(Config::default(), 65_536, 65_536);
        // Nagle would hold the second short write: urgent mode does not.
        a.write(b"hello");
        let first = drain(&mut a, 1, None);
        assert_eq!(first.len(), 1);
        assert!(!first[0].0.flags.contains(Flags::URG));
        a.write(b"abc!");
        a.conn.mark_urgent();
        let wire = drain(&mut a, 1, None);
        assert_eq!(wire.len(), 1, "urgent mode lets the short segment out");
        let (seg, payload) = &wire[0];
        assert!(seg.flags.contains(Flags::URG));
        assert_eq!((seg.urgent, payload.as_slice()), (4, &b"abc!"[..]));
        let out = deliver(&mut b, &first[0], 1);
        assert!(!out.sigurg && !b.conn.data.urg.pending());
        let out = deliver(&mut b, &wire[0], 1);
        assert!(out.sigurg);
        assert!(b.conn.data.urg.pending());
        assert_eq!(b.readable(), 9);
        // Up to the mark, then the rest without the urgent byte.
        assert_eq!(read_urgent(&mut b, 100), b"helloabc");
        assert!(b.at_mark());
        assert_eq!(b.readable(), 0, "the urgent byte alone is not readable");
        assert_eq!(b.conn.data.urg.recv(false), crate::urgent::OobRecv::Byte(b'!'));
        assert!(!b.conn.data.urg.pending());
        assert!(b.at_mark());
        assert_eq!(read_urgent(&mut b, 100), b"");
        assert!(!b.at_mark());
        assert_eq!(b.conn.data.urg.data, crate::urgent::UrgData::None);
        // The ACK ends urgent mode: the next segment carries no URG.
        let ack = b.conn.ack(2);
        deliver(&mut a, &(ack, vec![]), 2);
        assert!(!a.conn.data.urg.sending());
        a.write(b"z");
        let w = drain(&mut a, 3, None);
        assert!(!w[0].0.flags.contains(Flags::URG));
        deliver(&mut b, &w[0], 3);
        assert_eq!(read_urgent(&mut b, 100), b"z");
    }

    #[test]
    fn urgent_byte_stays_in_the_stream_with_oobinline() {
        let (mut a, mut b) = pair(Config::default(), 65_536, 65_536);
        b.conn.data.urg.inline = true;
        a.write(b"ab!cd");
        a.conn.data.urg.mark(a.conn.data.snd_end.sub(2));
        for w in drain(&mut a, 1, None) {
            assert_eq!(w.0.urgent, 3);
            deliver(&mut b, &w, 1);
        }
        // POLLPRI all the same, as Linux's tcp_poll; recv(MSG_OOB) EINVAL.
        assert!(b.conn.data.urg.pending());
        assert_eq!(b.conn.data.urg.recv(true), crate::urgent::OobRecv::Invalid);
        assert_eq!(read_urgent(&mut b, 100), b"ab");
        assert!(b.at_mark());
        assert_eq!(read_urgent(&mut b, 100), b"!cd");
    }

    #[test]
    fn urgent_pointer_before_its_byte_waits_for_it() {
        let (mut a, mut b) = pair(Config::default(), 65_536, 65_536);
        a.conn.data.nodelay = true;
        a.write(&[7u8; 3000]);
        a.conn.mark_urgent();
        let wire = drain(&mut a, 1, None);
        assert!(wire.len() >= 3);
        assert!(wire.iter().all(|w| w.0.flags.contains(Flags::URG)));
        deliver(&mut b, &wire[0], 1);
        assert_eq!(b.conn.data.urg.recv(false), crate::urgent::OobRecv::NotYet);
        assert_eq!(b.urgent_read().limit, 2999);
        for w in &wire[1..] {
            deliver(&mut b, w, 1);
        }
        assert_eq!(b.conn.data.urg.recv(false), crate::urgent::OobRecv::Byte(7));
        assert_eq!(read_urgent(&mut b, 5000).len(), 2999);
        assert_eq!(read_urgent(&mut b, 5000).len(), 0);
        assert_eq!(b.rx.len(), 0);
    }

    #[test]
    fn a_full_segment_measures_the_ratio_and_grows_the_window_as_linuxs() {
        // Linux's passive side with tcp_rmem[1] (131072): a SYN-ACK window
        // of 65160, a clamp of 65536 less a segment (64088), and after a
        // first segment of 1448 bytes in an skb of 2304, a ratio of 160/256
        // whose clamp (81920) lets the window grow by two segments: 66984,
        // rounded up to the scale, 67072 (what Linux's TCP sends).
        let cfg = Config { rcvbuf: 131_072, rcv_space: 65_536, rcv_wnd: 65_160, ..Config::default() };
        let (mut a, syn) = Conn::connect(cfg, A, B, SeqNum(0xffff_0000), 3, 0);
        let (mut req, synack) = Request::new(cfg, B, A, &syn, SeqNum(77), 5, 0);
        assert_eq!(synack.window, 65_160);
        let ack = a.on_segment(&synack, 0, 0).reply.unwrap();
        let RequestOutcome::Established(b) = req.on_segment(&ack, 0, 0) else { panic!("no connection") };
        let rx = rx_capacity(&cfg);
        let mut a = Stream::new(a, vec![0; 65_536], vec![0; rx]);
        let mut b = Stream::new(b, vec![0; 65_536], vec![0; rx]);
        assert_eq!((b.conn.data.rwin.clamp, b.conn.data.rwin.ssthresh), (64_088, 64_088));
        a.conn.data.nodelay = true;
        assert_eq!(a.write(&[7u8; 1448]), 1448);
        let w = drain(&mut a, 1, None);
        assert_eq!(w.len(), 1);
        let cost = Cost { truesize: 2304, grow_truesize: 2304, seg_size: 0 };
        let out = b.conn.on_segment_costing(&w[0].0, 1448, cost, 1);
        let unit = 1u32 << b.conn.neg.rcv_wscale;
        assert_eq!(b.conn.data.rwin.ratio, 160);
        assert_eq!(b.conn.data.rwin.clamp, 81_920);
        assert_eq!(b.conn.data.rwin.ssthresh, 64_088 + 2 * 1448);
        assert_eq!(u32::from(out.reply.unwrap().window) * unit, 67_072);
        // A short segment after it measures nothing and grows nothing
        // while the window is this large for its memory.
        let ssthresh = b.conn.data.rwin.ssthresh;
        let seg = Segment { seq: w[0].0.seq.add(1448), ..w[0].0 };
        b.conn.on_segment_costing(&seg, 100, Cost { truesize: 2304, grow_truesize: 2304, seg_size: 0 }, 2);
        assert_eq!(b.conn.data.rwin.ssthresh, ssthresh);
    }

    #[test]
    fn unread_bytes_shrink_the_window_only_once_the_buffer_is_half_full() {
        // 65160 offered in a buffer whose window is 65536: what is unread
        // comes off the buffer's free part, not off the window offered,
        // until less than half of it is free (`__tcp_select_window`).
        let cfg = Config { rcvbuf: 131_072, rcv_space: 65_536, rcv_wnd: 65_160, timestamps: false, ..Config::default() };
        let (mut a, mut b) = pair(cfg, 65_536, 65_160);
        a.conn.data.nodelay = true;
        a.write(&[1u8; 30_000]);
        settle(&mut a, &mut b, 1);
        assert_eq!(b.conn.data.rx_unread, 30_000);
        let unit = 1u32 << b.conn.neg.rcv_wscale;
        let open = b.conn.receive_window();
        assert!(open + 30_000 >= 64_088, "the edge offered ({open} past the data) stays where it was");
        b.conn.data.ack_now = true;
        let ack = drain(&mut b, 2, None);
        let wnd = u32::from(ack[0].0.window) * unit;
        let free = 65_536 - 30_000;
        assert_eq!(wnd, free.max(open).next_multiple_of(unit), "what the buffer has free, or the edge offered before");
        let mut got = vec![0u8; 30_000];
        assert_eq!(b.read(&mut got, false), 30_000);
        assert!(b.conn.rcv_wnd >= 64_088, "all of it again");
    }

    #[test]
    fn a_segment_without_room_in_sparse_storage_is_dropped_whole() {
        let (a, b) = pair(Config::default(), 4096, 64);
        let cap = rx_capacity(&b.conn.cfg);
        // Pages of 8 bytes to receive into (one of 4096 to send from: the
        // test sends from slices).
        let mut b = Stream::new(b.conn, Sparse::new(4096, 4096, 1), Sparse::new(cap, 8, 2));
        let a = &mut Stream::new(a.conn, Sparse::new(4096, 4096, 1), Sparse::new(cap, 8, 512));
        let data: Vec<u8> = (0..39u8).collect();
        assert_eq!(a.write(&data), 39);
        // Three segments of 13 bytes (the peer's MSS).
        a.conn.data.snd_mss = 13;
        let segs: Vec<(Segment, Vec<u8>)> = drain(a, 1, None);
        assert_eq!(segs.iter().map(|w| w.1.len()).collect::<Vec<_>>(), [13, 13, 13]);
        let nxt = b.conn.rcv_nxt;
        let on = |b: &mut Stream<Sparse>, w: &(Segment, Vec<u8>)| b.on_segment(&w.0, w.1.as_slice(), w.1.len() as u32, 2);
        // Bytes 13..26 land in pages 1..3: only two may be taken.
        let out = on(&mut b, &segs[1]);
        assert_eq!((out.reply, out.data, b.conn.rcv_nxt), (None, None, nxt), "dropped before the connection saw it");
        assert_eq!(b.rx.storage().taken(), 2, "what it took stays for the next try");
        b.rx.storage_mut().budget = 8;
        let out = on(&mut b, &segs[1]);
        assert!(out.reply.is_some_and(|r| !r.options.sack.is_empty()), "kept out of order, SACKed");
        assert_eq!(on(&mut b, &segs[0]).readable, 26);
        assert_eq!(on(&mut b, &segs[2]).readable, 13);
        let mut got = [0u8; 64];
        assert_eq!(b.read(&mut got, false), 39);
        assert_eq!(&got[..39], &data[..], "read across pages, in order");
    }

    #[test]
    fn data_in_order_is_read_and_acknowledged() {
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        assert_eq!(a.write(b"hello"), 5);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].0.flags, Flags::ACK | Flags::PSH);
        assert_eq!(segs[0].1, b"hello");
        let out = deliver(&mut b, &segs[0], 2);
        assert_eq!(out.readable, 5);
        // One of the first segments: acknowledged at once (quick ACK).
        let ack = out.reply.unwrap();
        assert_eq!(ack.ack, segs[0].0.seq.add(5));
        let mut buf = [0u8; 16];
        assert_eq!(b.read(&mut buf, true), 5);
        assert_eq!(b.read(&mut buf, false), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(b.read(&mut buf, false), 0);
        let out = a.on_segment(&ack, &[][..], 0, 3);
        assert_eq!(out.acked, 5);
        assert!(a.tx.is_empty());
        assert_eq!(a.conn.deadline(), None, "nothing outstanding, no timer");
    }

    #[test]
    fn bytes_copied_into_the_room_and_out_of_the_data_move_the_buffers() {
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        let (r, _) = a.tx.room_spans(5).unwrap();
        a.tx.storage_mut().range_mut(r).unwrap().copy_from_slice(b"hello");
        assert_eq!(a.wrote(5000, true), 0, "more than the room");
        assert_eq!(a.wrote(5, true), 5);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs[0].1, b"hello");
        let out = deliver(&mut b, &segs[0], 2);
        assert_eq!(b.rx.data_spans(0, 6), None, "only what arrived is data");
        let (r, _) = b.rx.data_spans(0, 5).unwrap();
        assert_eq!(b.rx.storage().range(r).unwrap(), b"hello");
        b.took(9);
        assert!(b.rx.is_empty(), "at most what the buffer holds");
        assert_eq!(b.conn.rcv_wnd, b.conn.cfg.rcv_wnd, "the window is whole again");
        a.on_segment(&out.reply.unwrap(), &[][..], 0, 3);
        a.conn.close(false, 3);
        assert_eq!(a.wrote(0, true), 0);
        assert_eq!(a.write_room(), 0, "no room once closing");
    }

    #[test]
    fn grown_buffers_take_more_and_open_the_window() {
        let (mut a, mut b) = pair(Config { timestamps: false, ..Config::default() }, 1000, 1000);
        a.conn.data.nodelay = true;
        assert_eq!(a.write(&[5u8; 3000]), 1000);
        assert_eq!(a.grow_tx(vec![0u8; 500]).len(), 500, "a smaller buffer is refused");
        assert_eq!(a.grow_tx(vec![0u8; 4000]).len(), 1000, "the old buffer comes back");
        assert_eq!(a.write(&[6u8; 3000]), 3000);
        // The receiver's window lets only part of it through; nobody reads.
        settle(&mut a, &mut b, 2);
        assert!(drain(&mut a, 3, None).is_empty(), "the window is closed");
        assert!(b.rx.len() < 4000);
        let (clamp, unit) = (b.conn.data.rwin.clamp, 1u32 << b.conn.neg.rcv_wscale);
        let old = b.rx.capacity();
        assert_eq!(b.grow_rx(vec![0u8; 8192], 16_384).len(), old);
        assert_eq!(b.rx.capacity(), 8192);
        assert_eq!(b.conn.data.rwin.rcvbuf, 8192 - (unit - 1), "the buffer within the ring");
        assert!(b.conn.data.rwin.clamp > clamp);
        // A window update tells the sender, which sends the rest.
        let upd = drain(&mut b, 4, None);
        assert_eq!(upd.len(), 1, "one window update");
        a.on_segment(&upd[0].0, &[][..], 0, 5);
        settle(&mut a, &mut b, 6);
        let mut buf = vec![0u8; 8192];
        assert_eq!(b.read(&mut buf, false), 4000);
        assert_eq!(buf[..1000], [5u8; 1000]);
        assert_eq!(buf[1000..4000], [6u8; 3000]);
    }

    #[test]
    fn the_send_buffer_wanted_follows_the_congestion_window() {
        let (mut a, mut b) = pair(Config { timestamps: false, mss: 1000, ..Config::default() }, 100_000, 100_000);
        a.conn.data.nodelay = true;
        let mss = a.conn.send_mss();
        assert_eq!(mss, 1000);
        let per_mss = |m: u32| {
            assert_eq!(m, mss, "each segment costed at the MSS");
            4352
        };
        // Nothing in flight: twice the initial window's segments.
        assert_eq!(a.conn.sndbuf_wanted(per_mss), Some(2 * 10 * 4352));
        // The window full: none, a larger buffer would only queue.
        assert_eq!(a.write(&[1u8; 20_000]), 20_000);
        let sent = drain(&mut a, 1, None);
        assert_eq!(sent.len(), 10, "the initial window");
        assert_eq!(a.conn.sndbuf_wanted(per_mss), None);
        // Its ACKs grow the window (slow start): more is wanted.
        let mut acks = vec![];
        for w in &sent {
            acks.extend(deliver(&mut b, w, 2).reply);
        }
        for ack in &acks {
            a.on_segment(ack, &[][..], 0, 3);
        }
        let cwnd = a.conn.data.cc.cwnd / mss;
        assert!(cwnd > 10, "the window grew to {cwnd} segments");
        assert_eq!(a.conn.sndbuf_wanted(per_mss), Some(2 * cwnd * 4352));
    }

    #[test]
    fn a_reader_that_takes_more_in_a_round_trip_grows_the_buffer_as_linuxs() {
        let cfg = Config { rcvbuf: 8192, timestamps: false, ..Config::default() };
        let (_, mut b) = pair(cfg, 4096, 4096);
        // The handshake's instant round trip (its sample rounds to 1 us):
        // rounds of 1 ms.
        assert_eq!(b.conn.rtt.srtt_us(), Some(1));
        let space = b.conn.data.rwin.space;
        assert_eq!(b.rcvbuf_wanted(3000, 0), None, "the round trip is not over");
        // 3000 bytes beat the first guess: twice them, and a 1 us round
        // trip's thousandth more, at the default ratio (half).
        assert!(space < 3000);
        let want = 2 * (6000 + 6000 / 1000);
        assert_eq!(b.rcvbuf_wanted(0, 1), Some(want), "more than the round trip before");
        assert_eq!(b.conn.data.rwin.space, 3000);
        assert_eq!(b.rcvbuf_wanted(3000, 1), None, "a new round trip starts");
        assert_eq!(b.rcvbuf_wanted(0, 2), None, "no more than the last: no growth");
        // A round that beats the last again grows it again.
        assert_eq!(b.rcvbuf_wanted(5000, 3), Some(2 * (10_000 + 10)));
    }

    #[test]
    fn a_receiver_times_the_round_trip_by_its_echoed_timestamp() {
        let (mut a, mut b) = pair(Config::default(), 65536, 4096);
        assert_eq!(b.conn.data.rcv_rtt_us, 0, "no data yet");
        assert_eq!(a.write(&[1u8; 100]), 100);
        // The data leaves 6 ms after the server's last timestamp (its
        // SYN-ACK's, at 0), which it echoes.
        for w in drain(&mut a, 6, None) {
            deliver(&mut b, &w, 6);
        }
        assert_eq!(b.conn.data.rcv_rtt_us, 6000);
        // The reader's rounds are that long now (not the handshake's
        // round trip, which was instant).
        assert_eq!(b.rcvbuf_wanted(0, 6), None, "a round starts");
        assert_eq!(b.rcvbuf_wanted(20_000, 8), None, "the round trip is not over");
        assert!(b.rcvbuf_wanted(0, 12).is_some(), "more than the last in one round trip");
    }

    #[test]
    fn an_old_segment_ending_where_the_window_was_offered_gives_its_timestamp() {
        // tcp_sequence takes it (its end is not before RCV.WUP) and
        // tcp_replace_ts_recent its timestamp: the D-SACK echoes the newer
        // one.
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        a.write(&[3u8; 100]);
        let sent = drain(&mut a, 1, None);
        let first = deliver(&mut b, &sent[0], 1).reply.unwrap_or_else(|| b.conn.ack(1));
        let mut again = sent[0].clone();
        let (val, ecr) = again.0.options.timestamp.unwrap();
        again.0.options.timestamp = Some((val.wrapping_add(50), ecr));
        let dsack = deliver(&mut b, &again, 60).reply.unwrap();
        assert_eq!(dsack.ack, first.ack);
        assert_eq!(dsack.options.timestamp.map(|t| t.1), Some(val.wrapping_add(50)));
    }

    #[test]
    fn a_routes_initcwnd_sets_the_initial_window() {
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, init_cwnd: 4, ..Config::default() }, 8192, 8192);
        a.write(&[7u8; 1000]);
        assert_eq!(drain(&mut a, 1, None).len(), 4);
    }

    #[test]
    fn data_is_cut_to_the_mss() {
        let (mut a, _) = pair(Config { mss: 1000, timestamps: false, ..Config::default() }, 8192, 8192);
        a.conn.data.nodelay = true;
        a.write(&[7u8; 2500]);
        let segs = drain(&mut a, 1, None);
        let lens: Vec<usize> = segs.iter().map(|w| w.1.len()).collect();
        assert_eq!(lens, [1000, 1000, 500]);
    }

    #[test]
    fn a_smaller_path_mtu_sends_what_is_in_flight_again_in_smaller_segments() {
        let (mut a, _) = pair(Config { mss: 1000, timestamps: false, ..Config::default() }, 8192, 8192);
        a.conn.data.nodelay = true;
        a.write(&[7u8; 2500]);
        drain(&mut a, 1, None);
        let cwnd = a.conn.data.cc.cwnd;
        // ICMP fragmentation needed with an MTU of 640: 600 bytes a segment.
        a.conn.mtu_reduced(600);
        assert_eq!(a.conn.send_mss(), 600);
        let segs = drain(&mut a, 1, None);
        let lens: Vec<usize> = segs.iter().map(|w| w.1.len()).collect();
        // The segments the new size cannot carry go again; the last one
        // (500 bytes) still fits and is left alone.
        assert_eq!(lens, [600, 600, 600, 200]);
        // The window keeps its count of segments.
        assert_eq!(a.conn.data.cc.cwnd, cwnd / 1000 * 600);
        // A larger MTU changes nothing (the path's MTU grows only when the
        // route's PMTU expires, for new connections).
        a.conn.mtu_reduced(1000);
        assert_eq!(a.conn.send_mss(), 600);
    }

    #[test]
    fn nagle_holds_a_small_segment_while_one_is_out() {
        let (mut a, _) = pair(Config::default(), 4096, 4096);
        a.write(b"a");
        assert_eq!(drain(&mut a, 1, None).len(), 1);
        a.write(b"b");
        assert!(drain(&mut a, 1, None).is_empty());
        a.conn.data.nodelay = true;
        assert_eq!(drain(&mut a, 1, None).len(), 1);
    }

    #[test]
    fn nagle_sends_a_writes_short_tail_after_full_segments() {
        // Minshall's check: the tail of a write waits only for a short
        // segment still out, not for full ones (`tcp_minshall_check`).
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.max_window = 65_535;
        a.write(&[7u8; 250]);
        let segs = drain(&mut a, 1, None);
        let sizes: Vec<_> = segs.iter().map(|w| (w.1.len(), w.0.flags.contains(Flags::PSH))).collect();
        assert_eq!(sizes, [(100, false), (100, false), (50, true)], "PSH on the write's last segment only");
        a.write(&[8u8; 10]);
        assert!(drain(&mut a, 1, None).is_empty(), "now a short one is out: the next waits");
    }

    #[test]
    fn msg_more_holds_a_short_tail_until_the_next_write_or_the_peers_segment() {
        // tcp_push with MSG_MORE corks that push: full segments go, the
        // short tail waits, even with TCP_NODELAY.
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.max_window = 65_535;
        a.conn.data.nodelay = true;
        assert!(a.tx.write_at(a.tx.len(), &[1u8; 150]));
        assert_eq!(a.wrote(150, false), 150);
        a.conn.data.hold_tail = true;
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.iter().map(|w| w.1.len()).collect::<Vec<_>>(), [100]);
        // The next write ends it: all of it leaves.
        a.write(&[2u8; 10]);
        let segs = drain(&mut a, 2, None);
        assert_eq!(segs.iter().map(|w| w.1.len()).collect::<Vec<_>>(), [60]);
        // Held again, the peer's ACK lets it go (tcp_data_snd_check with
        // the socket's own Nagle, here off).
        assert!(a.tx.write_at(a.tx.len(), &[3u8; 30]));
        assert_eq!(a.wrote(30, false), 30);
        a.conn.data.hold_tail = true;
        assert!(drain(&mut a, 3, None).is_empty());
        for w in drain(&mut b, 3, None) {
            deliver(&mut a, &w, 4);
        }
        let out = drain(&mut a, 4, None);
        assert!(out.is_empty() || out.iter().all(|w| w.1.is_empty()), "nothing from b yet: nothing to ack");
        b.conn.set_quickack(1);
        b.conn.data.ack_now = true;
        for w in drain(&mut b, 5, None) {
            deliver(&mut a, &w, 5);
        }
        let segs = drain(&mut a, 5, None);
        assert_eq!(segs.iter().map(|w| w.1.len()).collect::<Vec<_>>(), [30]);
    }

    #[test]
    fn corked_data_with_nothing_in_flight_leaves_on_the_probe_timer() {
        // tcp_check_probe_timer, then tcp_write_wakeup: the cork's ceiling.
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.cork = true;
        a.write(&[1u8; 10]);
        assert!(drain(&mut a, 1, None).is_empty());
        let at = a.conn.deadline().expect("the probe timer");
        a.conn.on_timer(at);
        let segs = drain(&mut a, at, None);
        assert_eq!(segs.iter().map(|w| w.1.len()).collect::<Vec<_>>(), [10]);
        // The next short one waits again, behind the one in flight.
        a.write(&[1u8; 10]);
        assert!(drain(&mut a, at, None).is_empty());
    }

    #[test]
    fn notsent_lowat_bounds_what_may_wait_unsent() {
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.cork = true;
        a.conn.data.notsent_lowat = 100;
        a.write(&[1u8; 40]);
        assert!(drain(&mut a, 1, None).is_empty(), "corked");
        assert_eq!(a.conn.notsent(), 40);
        // 80 < 100: poll says writable; then 2 * 60 >= 100: not.
        assert!(a.conn.writable() && a.conn.memory_free(false));
        a.write(&[1u8; 20]);
        assert!(!a.conn.writable());
        assert!(a.conn.memory_free(false), "a write still goes in (60 < 100)");
        a.write(&[1u8; 40]);
        assert!(!a.conn.memory_free(false));
        // Unset, the mark is the sysctl's UINT_MAX.
        a.conn.data.notsent_lowat = 0;
        assert!(a.conn.writable() && a.conn.memory_free(false));
    }

    #[test]
    fn the_window_clamp_bounds_the_window_offered() {
        // As `tcp_set_window_clamp`: the edge already offered stays, and
        // the window offered past it is within the clamp.
        let cfg = Config { mss: 100, timestamps: false, wscale: None, ..Config::default() };
        let (mut a, mut b) = pair(cfg, 4096, 4096);
        b.conn.set_window_clamp(1000);
        let edge = b.conn.data.rcv_adv;
        let mut windows = vec![];
        let mut buf = [0u8; 100];
        for now in 1..100 {
            a.write(&[1u8; 100]);
            for w in drain(&mut a, now, None) {
                deliver(&mut b, &w, now);
            }
            assert_eq!(b.read(&mut buf, false), 100);
            b.conn.data.ack_now = true;
            for w in drain(&mut b, now, None) {
                assert!(!b.conn.data.rcv_adv.after(edge) || w.0.window <= 1000, "{}", w.0.window);
                windows.push(w.0.window);
                a.on_segment(&w.0, &[][..], 0, now);
            }
        }
        assert!(windows.last().is_some_and(|w| *w <= 1000), "{windows:?}");
    }

    #[test]
    fn psh_marks_each_write_and_half_the_peers_largest_window() {
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        // `forced_push`: past half the largest window offered (300 bytes)
        // since the last PSH.
        a.conn.data.max_window = 300;
        a.write(&[1u8; 500]);
        let psh: Vec<_> = drain(&mut a, 1, None).iter().map(|w| w.0.flags.contains(Flags::PSH)).collect();
        assert_eq!(psh, [false, true, false, true, true]);
        // Bytes that do not end a write (MSG_MORE) leave without PSH.
        a.conn.data.max_window = 65_535;
        assert!(a.tx.free() >= 100);
        assert!(a.tx.write_at(a.tx.len(), &[2u8; 100]));
        assert_eq!(a.wrote(100, false), 100);
        let segs = drain(&mut a, 1, None);
        assert_eq!((segs.len(), segs[0].0.flags.contains(Flags::PSH)), (1, false));
    }

    #[test]
    fn a_duplicate_is_reported_once_as_a_dsack_block() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[5u8; 300]);
        let segs = drain(&mut a, 1, None);
        deliver(&mut b, &segs[0], 2);
        // The third out of order, then the first again: the duplicate
        // first (RFC 2883), then the range held out of order.
        deliver(&mut b, &segs[2], 3);
        let dup = deliver(&mut b, &segs[0], 4).reply.unwrap();
        let blocks: Vec<_> = dup.options.sack_blocks().iter().map(|b| (b.left, b.right)).collect();
        let (s0, s2) = (segs[0].0.seq.0, segs[2].0.seq.0);
        assert_eq!(blocks, [(s0, s0 + 100), (s2, s2 + 100)]);
        // Reported once: the next ACK has the out-of-order range alone.
        let again = b.conn.ack(5);
        assert_eq!(again.options.sack_blocks().iter().map(|b| b.left).collect::<Vec<_>>(), [s2]);
    }

    #[test]
    fn out_of_order_data_waits_for_the_hole_and_is_sacked() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&(0..=255u8).collect::<Vec<_>>());
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 3);
        let out = deliver(&mut b, &segs[1], 2);
        assert_eq!(out.readable, 0);
        let dup = out.reply.unwrap();
        assert_eq!(dup.ack, segs[0].0.seq);
        assert_eq!(dup.options.sack_blocks()[0].left, segs[1].0.seq.0);
        let out = deliver(&mut b, &segs[0], 3);
        assert_eq!(out.readable, 200);
        deliver(&mut b, &segs[2], 4);
        let mut buf = [0u8; 300];
        assert_eq!(b.read(&mut buf, false), 256);
        assert_eq!(buf[..256].to_vec(), (0..=255u8).collect::<Vec<_>>());
    }

    /// A payload that keeps what it is offered, and says what that was.
    struct Keeper<'a>(&'a [u8], core::cell::Cell<Option<(u32, u32)>>);

    impl Payload for Keeper<'_> {
        fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool {
            self.0.copy_to(skip, dst)
        }

        fn keep(&self, skip: u32, len: u32) -> bool {
            self.1.set(Some((skip, len)));
            true
        }
    }

    #[test]
    fn only_bytes_in_order_may_be_kept_out_of_the_buffer() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[7u8; 300]);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 3);
        fn keep(w: &Wire) -> Keeper<'_> {
            Keeper(w.1.as_slice(), core::cell::Cell::new(None))
        }
        // Out of order: copied into the buffer, never offered.
        let k = keep(&segs[1]);
        assert_eq!(b.on_segment(&segs[1].0, &k, 100, 2).readable, 0);
        assert_eq!(k.1.get(), None);
        // In order: offered whole; the buffer counts it and what it joined
        // readable, and its own bytes there stay as they were.
        let k = keep(&segs[0]);
        assert_eq!(b.on_segment(&segs[0].0, &k, 100, 3).readable, 200);
        assert_eq!(k.1.get(), Some((0, 100)));
        let mut buf = [0u8; 200];
        assert_eq!(b.read(&mut buf, true), 200);
        assert_eq!(buf[..100], [0u8; 100], "kept bytes are not in the buffer");
        assert_eq!(buf[100..], [7u8; 100], "the out-of-order bytes are");
        // A retransmission overlapping the head: only its new bytes.
        let mut w = segs[2].clone();
        w.0.seq = w.0.seq.sub(40);
        w.1 = vec![7u8; 140];
        let k = keep(&w);
        assert_eq!(b.on_segment(&w.0, &k, 140, 4).readable, 100);
        assert_eq!(k.1.get(), Some((40, 100)));
        assert_eq!(b.rx.len(), 300);
    }

    #[test]
    fn three_duplicate_acks_retransmit_the_head() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.write(&[1u8; 500]);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 5);
        let mut dups = vec![];
        for w in &segs[1..4] {
            dups.push(deliver(&mut b, w, 2).reply.unwrap());
        }
        for d in &dups {
            a.on_segment(d, &[][..], 0, 3);
        }
        let again = drain(&mut a, 3, None);
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].0.seq, again[0].1.len()), (segs[0].0.seq, 100));
        assert!(a.conn.data.cc.recover.is_some());
    }

    #[test]
    fn one_ack_sacking_three_segments_past_the_head_retransmits_it() {
        // RFC 6675 IsLost: no need to wait for three duplicates.
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[1u8; 500]);
        let segs = drain(&mut a, 1, None);
        let acks: Vec<_> = segs[1..4].iter().map(|w| deliver(&mut b, w, 2).reply.unwrap()).collect();
        a.on_segment(&acks[1], &[][..], 0, 3);
        assert!(drain(&mut a, 3, None).is_empty(), "two segments past it: not yet");
        a.on_segment(&acks[2], &[][..], 0, 3);
        let again = drain(&mut a, 3, None);
        assert_eq!(again.iter().map(|w| w.0.seq).collect::<Vec<_>>(), [segs[0].0.seq]);
        assert!(a.conn.data.cc.recover.is_some());
    }

    #[test]
    fn sack_blocks_send_every_hole_the_window_has_room_for() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[1u8; 700]);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 7);
        // Segments 1 and 3 are lost; the others bring duplicate ACKs with
        // SACK blocks.
        let mut acks = vec![];
        for i in [0, 2, 4, 5, 6] {
            acks.push(deliver(&mut b, &segs[i], 2).reply.unwrap());
        }
        assert!(acks[1].options.sack_len > 0, "the receiver sends SACK blocks");
        for ack in &acks[..4] {
            a.on_segment(ack, &[][..], 0, 3);
        }
        // The third duplicate: the head goes again, and the next hole,
        // which only the SACK blocks tell, with it (every hole below a
        // SACKed segment is lost, and the window has room).
        let again = drain(&mut a, 3, None);
        assert_eq!(
            again.iter().map(|w| (w.0.seq, w.1.len())).collect::<Vec<_>>(),
            [(segs[1].0.seq, 100), (segs[3].0.seq, 100)]
        );
        // A fourth: no hole is left.
        a.on_segment(&acks[4], &[][..], 0, 4);
        assert!(drain(&mut a, 4, None).is_empty());
        // Both holes filled, everything is acknowledged.
        deliver(&mut b, &segs[1], 5);
        let last = deliver(&mut b, &segs[3], 5).reply.unwrap();
        assert_eq!(last.ack, segs[6].0.seq.add(100));
        a.on_segment(&last, &[][..], 0, 6);
        assert_eq!(a.conn.data.cc.recover, None);
        assert!(a.conn.data.sacked.is_empty());
    }

    #[test]
    fn a_reordered_older_window_does_not_move_the_edge_back() {
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        b.conn.data.nodelay = true;
        b.write(&[2u8; 100]);
        let data = drain(&mut b, 1, None);
        let mut old = data[0].clone();
        // Sent before the peer read: a smaller window, the same ACK.
        old.0.window = 1;
        let mut ack = b.conn.ack(1);
        // The bare ACK went out later, with no newer sequence number.
        ack.seq = data[0].0.seq;
        a.on_segment(&ack, &[][..], 0, 2);
        let edge = a.conn.snd_una.add(a.conn.snd_wnd);
        deliver(&mut a, &old, 2);
        assert_eq!(a.conn.snd_una.add(a.conn.snd_wnd), edge, "the stale window was not taken");
        // A newer ACK may move it back.
        a.write(&[1u8; 100]);
        let sent = drain(&mut a, 3, None);
        let mut newer = deliver(&mut b, &sent[0], 3).reply.unwrap_or_else(|| b.conn.ack(3));
        newer.window = 1;
        a.on_segment(&newer, &[][..], 0, 4);
        assert_eq!(a.conn.snd_wnd, 1 << a.conn.neg.snd_wscale);
    }

    #[test]
    fn a_tail_loss_probe_sends_the_last_segment_again_two_round_trips_on() {
        // RFC 8985 7: with SACK, the last segment goes again 2 SRTT (plus
        // TCP_TIMEOUT_MIN) after the data, long before the RTO; the RTO
        // then runs from the probe.
        let (mut a, _) = pair(Config { mss: 100, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[1u8; 250]);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 3);
        // The handshake's round trip was instant: 2 ms of TCP_TIMEOUT_MIN.
        let at = a.conn.deadline().unwrap();
        assert_eq!(at, 1 + 2 + 1);
        a.conn.on_timer(at);
        let probe = drain(&mut a, at, None);
        assert_eq!(probe.iter().map(|w| (w.0.seq, w.1.len())).collect::<Vec<_>>(), [(segs[2].0.seq, segs[2].1.len())]);
        let rto = u64::from(a.conn.rtt.rto_us() / 1000);
        assert_eq!(a.conn.deadline(), Some(at + rto));
        // No second probe: the timeout comes next, and goes back.
        a.conn.on_timer(at + rto);
        let again = drain(&mut a, at + rto, None);
        assert_eq!(again[0].0.seq, segs[0].0.seq);
    }

    #[test]
    fn one_segment_out_waits_for_the_peers_delayed_ack_before_its_probe() {
        // With one segment out the probe allows for a delayed ACK
        // (TCP_RTO_MIN more), and so comes no later than the RTO would.
        let (mut a, _) = pair(Config { mss: 100, ..Config::default() }, 4096, 4096);
        a.write(&[1u8; 50]);
        drain(&mut a, 1, None);
        let rto = u64::from(a.conn.rtt.rto_us() / 1000);
        assert_eq!(a.conn.deadline(), Some(1 + rto));
        assert!(a.conn.data.pto);
    }

    #[test]
    fn a_timeout_goes_back_to_the_oldest_byte() {
        // Without SACK, so without a tail loss probe before the timeout.
        let (mut a, _) = pair(Config { mss: 100, sack: false, ..Config::default() }, 4096, 4096);
        a.write(&[1u8; 300]);
        let segs = drain(&mut a, 1, None);
        let rto = u64::from(a.conn.rtt.rto_us() / 1000);
        let at = a.conn.deadline().unwrap();
        assert_eq!(at, 1 + rto);
        a.conn.on_timer(at);
        let again = drain(&mut a, at, None);
        assert_eq!(again.len(), 1, "one segment of window after a timeout");
        assert_eq!(again[0].0.seq, segs[0].0.seq);
        assert_eq!(a.conn.deadline().unwrap(), at + 2 * rto, "backed off");
    }

    #[test]
    fn a_timeout_into_a_closed_window_resends_only_what_was_sent() {
        let (mut a, _) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.conn.data.nodelay = true;
        a.write(&[1u8; 30]);
        let first = drain(&mut a, 1, None);
        assert_eq!(first.len(), 1);
        // The peer closes its window on those 30 bytes, then more is queued.
        a.conn.snd_wnd = 0;
        a.write(&[2u8; 200]);
        assert!(drain(&mut a, 1, None).is_empty());
        let at = a.conn.deadline().unwrap();
        a.conn.on_timer(at);
        let again = drain(&mut a, at, None);
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].0.seq, again[0].1.len()), (first[0].0.seq, 30), "no new bytes past the window");
    }

    #[test]
    fn a_bare_ack_past_a_window_rounded_by_the_scale_keeps_the_highest_sequence() {
        let (mut a, _) = pair(Config { mss: 1000, ..Config::default() }, 8192, 8192);
        a.conn.data.nodelay = true;
        a.write(&[3u8; 1000]);
        drain(&mut a, 1, None);
        let unit = 1u32 << a.conn.neg.rcv_wscale;
        assert!(unit > 1, "the pair negotiates a scale");
        let top = a.conn.data.snd_max;
        // The window's edge falls short of what was sent by less than one
        // unit: the peer only rounded; the ACK carries SND.MAX.
        a.conn.snd_wnd = 1000 - (unit - 1);
        assert_eq!(a.conn.ack(2).seq, top);
        // By a unit or more: the peer may have dropped the bytes; the edge.
        a.conn.snd_wnd = 1000 - unit;
        assert_eq!(a.conn.ack(2).seq, a.conn.snd_una.add(1000 - unit));
    }

    #[test]
    fn a_bare_ack_from_behind_the_window_counts_if_it_acknowledges_new_data() {
        let (mut a, mut b) = pair(Config { mss: 1000, timestamps: false, ..Config::default() }, 8192, 8192);
        a.conn.data.nodelay = true;
        b.conn.data.nodelay = true;
        // Each side sends a segment, and each receives the other's.
        a.write(&[1u8; 1000]);
        b.write(&[2u8; 1000]);
        let from_a = drain(&mut a, 1, None);
        let from_b = drain(&mut b, 1, None);
        deliver(&mut b, &from_a[0], 2);
        deliver(&mut a, &from_b[0], 2);
        // b's ACK reaches a, but its sequence number is from before
        // what b since sent and a received (b sent at the edge of a
        // window it last heard of): a takes its acknowledgment.
        let mut ack = b.conn.ack(3);
        ack.seq = ack.seq.sub(1000);
        assert!(ack.seq.before(a.conn.rcv_nxt));
        let out = a.on_segment(&ack, &[][..], 0, 3);
        assert_eq!(out.acked, 1000);
        assert_eq!(a.conn.snd_una, a.conn.data.snd_max);
        // The same from further back than a window, or acknowledging
        // nothing new, is only answered.
        let mut far = b.conn.ack(3);
        far.seq = far.seq.sub(a.conn.cfg.rcv_wnd + 1000);
        let out = a.on_segment(&far, &[][..], 0, 4);
        assert_eq!(out.acked, 0);
    }

    #[test]
    fn bytes_a_rounded_up_window_lets_in_are_kept() {
        let (mut a, mut b) = pair(Config { mss: 4000, timestamps: false, ..Config::default() }, 8192, 4096);
        a.conn.data.nodelay = true;
        let unit = 1u32 << b.conn.neg.rcv_wscale;
        // Leave free room that is no multiple of the unit.
        a.write(&[5u8; 1000]);
        let w = drain(&mut a, 1, None);
        let ack = deliver(&mut b, &w[0], 1).reply.unwrap();
        // The buffer's window (4096 bytes) less what it holds.
        let free = 4096 - 1000;
        assert_ne!(free % unit, 0);
        let offered = u32::from(ack.window) << b.conn.neg.rcv_wscale;
        assert!(offered > free, "rounded up: {offered} for {free} free");
        // The sender takes all of it; none is dropped.
        a.on_segment(&ack, &[][..], 0, 2);
        a.write(&[6u8; 4000]);
        let w = drain(&mut a, 2, None);
        assert_eq!(w.iter().map(|w| w.1.len() as u32).sum::<u32>(), offered);
        let taken: u32 = w.iter().map(|w| deliver(&mut b, w, 2).readable).sum();
        assert_eq!(taken, offered);
        assert_eq!(b.rx.len() as u32, 1000 + offered);
    }

    #[test]
    fn a_full_receive_buffer_closes_the_window_and_reading_opens_it() {
        let (mut a, mut b) = pair(Config { mss: 500, timestamps: false, ..Config::default() }, 8192, 1000);
        a.conn.data.nodelay = true;
        a.write(&[9u8; 3000]);
        let now = 1;
        settle(&mut a, &mut b, now);
        let now = now + 1;
        // The window (1000) and what rounding its last edge up to the
        // scale let in: Linux's offered edge never moves back.
        assert_eq!(b.rx.len(), 1000 + (1 << b.conn.neg.rcv_wscale));
        assert_eq!(a.conn.snd_wnd, 0);
        // Nothing in flight and a zero window: the timer probes.
        assert!(drain(&mut a, now, None).is_empty());
        assert!(a.conn.data.probing);
        let at = a.conn.deadline().unwrap();
        let probe = a.conn.on_timer(at).reply.unwrap();
        assert_eq!(probe.seq, a.conn.snd_una.sub(1));
        let answer = deliver(&mut b, &(probe, vec![]), at).reply.unwrap();
        assert_eq!(answer.window, 0);
        // The reader takes it all: a window update goes out.
        let mut buf = [0u8; 1000];
        assert_eq!(b.read(&mut buf, false), 1000);
        let update = drain(&mut b, at, None);
        assert_eq!(update.len(), 1);
        assert!(update[0].0.window > 0);
        a.on_segment(&update[0].0, &[][..], 0, at);
        assert!(!drain(&mut a, at, None).is_empty());
    }

    /// `a` with data waiting behind a window `b` shut (its reader takes
    /// nothing), probing it on the timer; and the time.
    fn shut_window(max_rto_us: u32) -> (Stream<Vec<u8>>, Stream<Vec<u8>>, u64) {
        let (mut a, mut b) = pair(Config { mss: 500, timestamps: false, ..Config::default() }, 8192, 1000);
        a.conn.rtt.bounds.max_us = max_rto_us;
        a.conn.data.nodelay = true;
        a.write(&[9u8; 3000]);
        settle(&mut a, &mut b, 1);
        let now = 2;
        assert!(drain(&mut a, now, None).is_empty());
        assert!(a.conn.data.probing);
        (a, b, now)
    }

    /// Runs `a`'s probe timer until the connection ends (or 100 probes),
    /// `b` answering each probe if `answer`: the probes sent, the end.
    fn probe_until_the_end(a: &mut Stream<Vec<u8>>, b: &mut Stream<Vec<u8>>, answer: bool) -> (u32, Outcome) {
        let mut n = 0;
        while n < 100 {
            let at = a.conn.deadline().unwrap();
            let out = a.conn.on_timer(at);
            let Some(probe) = out.reply else { return (n, out) };
            n += 1;
            // (The peer's answers to old segments are rate-limited.)
            if let Some(back) = deliver(b, &(probe, vec![]), at).reply.filter(|_| answer) {
                assert_eq!(back.window, 0);
                a.on_segment(&back, &[][..], 0, at);
            }
        }
        (n, Outcome::default())
    }

    #[test]
    fn window_probes_no_one_answers_end_the_connection_after_retries2() {
        let (mut a, mut b, _) = shut_window(120_000_000);
        let (n, end) = probe_until_the_end(&mut a, &mut b, false);
        assert_eq!((n, end.error), (u32::from(crate::conn::RETRIES2), Some(crate::conn::ConnError::TimedOut)));
        assert_eq!(a.conn.state, State::Closed);
    }

    #[test]
    fn window_probes_the_peer_answers_keep_the_connection_open() {
        let (mut a, mut b, _) = shut_window(120_000_000);
        let (n, end) = probe_until_the_end(&mut a, &mut b, true);
        assert_eq!((n, end.error), (100, None));
    }

    #[test]
    fn an_orphans_window_probes_end_once_its_timeout_reaches_the_bound() {
        // As `tcp_probe_timer`: answered or not, an orphan probes while
        // its backed-off timeout is below TCP_RTO_MAX_MS (1 s here).
        let (mut a, mut b, now) = shut_window(1_000_000);
        a.conn.close(true, now);
        let (n, end) = probe_until_the_end(&mut a, &mut b, true);
        assert_eq!(end.error, Some(crate::conn::ConnError::TimedOut));
        assert_eq!(a.conn.rtt.rto_us(), 1_000_000);
        assert!(n < u32::from(crate::conn::ORPHAN_RETRIES), "{n} probes");
    }

    #[test]
    fn a_train_of_two_full_segments_is_acknowledged_at_once() {
        let (mut a, mut b) = pair(Config { mss: 500, timestamps: false, ..Config::default() }, 4096, 4096);
        b.conn.data.quickacks = 0;
        a.conn.data.nodelay = true;
        a.write(&[4u8; 1000]);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 2);
        // One skb with both, as GRO or GSO hands it over.
        let mut train = segs[0].clone();
        train.1.extend_from_slice(&segs[1].1);
        train.0.flags = segs[1].0.flags;
        let out = deliver(&mut b, &train, 2);
        assert_eq!(out.readable, 1000);
        assert_eq!(out.reply.map(|r| r.ack), Some(segs[1].0.seq.add(500)));
    }

    #[test]
    fn a_single_segment_ack_is_delayed_after_the_quick_start() {
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        b.conn.data.quickacks = 0;
        a.write(b"x");
        let segs = drain(&mut a, 1, None);
        let out = deliver(&mut b, &segs[0], 10);
        assert_eq!(out.reply, None);
        assert_eq!(b.conn.deadline(), Some(10 + crate::conn::DELACK_MS));
        b.conn.on_timer(10 + crate::conn::DELACK_MS);
        let acks = drain(&mut b, 10 + crate::conn::DELACK_MS, None);
        assert_eq!(acks.len(), 1);
        assert_eq!(b.conn.deadline(), None);
    }

    #[test]
    fn data_after_close_is_answered_with_a_reset() {
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        a.conn.close(true, 1);
        let fin = drain(&mut a, 1, None);
        deliver(&mut b, &fin[0], 2);
        b.write(b"late");
        let data = drain(&mut b, 2, None);
        let out = deliver(&mut a, data.last().unwrap(), 3);
        assert_eq!(out.reply.map(|r| r.flags), Some(Flags::RST | Flags::ACK));
        assert_eq!(a.conn.state, State::Closed);
    }

    #[test]
    fn the_fin_follows_the_data() {
        let (mut a, mut b) = pair(Config { mss: 100, ..Config::default() }, 4096, 4096);
        a.write(&[5u8; 150]);
        a.conn.close(false, 1);
        assert!(!a.conn.may_send());
        assert_eq!(a.write(b"more"), 0);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[1].0.flags, Flags::ACK | Flags::PSH | Flags::FIN);
        for w in &segs {
            deliver(&mut b, w, 2);
        }
        assert_eq!(b.conn.state, State::CloseWait);
        assert_eq!(b.rx.len(), 150);
    }

    #[test]
    fn a_fin_past_a_hole_waits_for_it_and_is_sacked() {
        // tcp_data_queue_ofo: the FIN is kept out of order with its data,
        // SACKed as one more unit, and taken once the hole is filled.
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.write(&[5u8; 150]);
        a.conn.close(false, 1);
        let segs = drain(&mut a, 1, None);
        assert_eq!(segs.len(), 2);
        let dup = deliver(&mut b, &segs[1], 2).reply.unwrap();
        assert_eq!(dup.ack, segs[0].0.seq);
        let end = segs[1].0.seq.add(50);
        assert_eq!(dup.options.sack_blocks().first().map(|s| (s.left, s.right)), Some((segs[1].0.seq.0, end.add(1).0)));
        assert_eq!(b.conn.state, State::Established);
        let out = deliver(&mut b, &segs[0], 3);
        assert!(out.eof);
        assert_eq!(out.reply.unwrap().ack, end.add(1));
        assert_eq!(b.conn.state, State::CloseWait);
        assert_eq!(b.rx.len(), 150);
        // A FIN alone past a hole too.
        let (mut a, mut b) = pair(Config { mss: 100, timestamps: false, ..Config::default() }, 4096, 4096);
        a.write(&[5u8; 100]);
        let data = drain(&mut a, 1, None);
        a.conn.close(false, 1);
        let fin = drain(&mut a, 1, None);
        assert_eq!(fin[0].1.len(), 0);
        let dup = deliver(&mut b, &fin[0], 2).reply.unwrap();
        assert_eq!(dup.options.sack_blocks().len(), 1);
        assert!(deliver(&mut b, &data[0], 3).eof);
        assert_eq!(b.rx.len(), 100);
    }

    #[test]
    fn keepalive_probes_an_idle_peer_then_gives_up() {
        use crate::conn::{ConnError, Keepalive};
        let (mut a, mut b) = pair(Config::default(), 4096, 4096);
        a.conn.data.keepalive = Some(Keepalive { idle_ms: 1000, intvl_ms: 100, cnt: 3 });
        assert_eq!(a.conn.deadline(), Some(1000));
        // A live peer answers the probe; keepalive starts over.
        let probe = a.conn.on_timer(1000).reply.unwrap();
        assert_eq!(probe.seq, a.conn.snd_una.sub(1));
        let answer = deliver(&mut b, &(probe, vec![]), 1001).reply.unwrap();
        a.on_segment(&answer, &[][..], 0, 1002);
        assert_eq!(a.conn.deadline(), Some(2002));
        // A dead one: three probes 100 ms apart, then ETIMEDOUT.
        for t in [2002, 2102, 2202] {
            assert!(a.conn.on_timer(t).reply.is_some(), "probe at {t}");
        }
        assert_eq!(a.conn.on_timer(2302).error, Some(ConnError::TimedOut));
        assert_eq!(a.conn.state, State::Closed);
    }

    #[test]
    fn keepalive_switched_on_late_still_probes_before_giving_up() {
        use crate::conn::{ConnError, Keepalive};
        let (mut a, _) = pair(Config::default(), 4096, 4096);
        // Silent for 10 s already when keepalive is switched on: the first
        // probe still waits the idle time, and each of the two probes its
        // interval, as Linux's timer does; no ETIMEDOUT at once.
        a.conn.set_keepalive(Some(Keepalive { idle_ms: 1000, intvl_ms: 1000, cnt: 2 }), 10_000);
        assert_eq!(a.conn.deadline(), Some(11_000));
        assert!(a.conn.on_timer(11_000).reply.is_some(), "the first probe");
        assert_eq!(a.conn.deadline(), Some(12_000));
        assert!(a.conn.on_timer(12_000).reply.is_some(), "the second probe");
        assert_eq!(a.conn.deadline(), Some(13_000));
        assert_eq!(a.conn.on_timer(13_000).error, Some(ConnError::TimedOut));
    }

    #[test]
    fn no_keepalive_while_data_is_in_flight() {
        use crate::conn::Keepalive;
        let (mut a, _) = pair(Config::default(), 4096, 4096);
        a.conn.data.keepalive = Some(Keepalive { idle_ms: 10, intvl_ms: 10, cnt: 1 });
        a.write(b"x");
        drain(&mut a, 1, None);
        assert_eq!(a.conn.keepalive_at(), None);
    }

    #[test]
    fn user_timeout_ends_retransmissions_early() {
        use crate::conn::ConnError;
        let (mut a, _) = pair(Config::default(), 4096, 4096);
        a.conn.data.user_timeout_ms = 1500;
        a.write(b"lost");
        drain(&mut a, 1, None);
        let mut end = None;
        for _ in 0..20 {
            let at = a.conn.deadline().unwrap();
            let out = a.conn.on_timer(at);
            if out.error.is_some() {
                end = Some((at, out.error));
                break;
            }
            drain(&mut a, at, None);
        }
        let (at, err) = end.expect("gave up");
        assert_eq!(err, Some(ConnError::TimedOut));
        assert!((1500..4000).contains(&at), "gave up at {at}");
    }

    // =========================================================================
    // Two endpoints through a lossy, reordering, duplicating channel
    // =========================================================================

    /// What the channel does to segments: percentages of loss,
    /// duplication and delay (reordering), drawn from a seeded generator.
    #[derive(Clone, Copy, Debug)]
    struct Channel {
        seed: u64,
        loss: u64,
        dup: u64,
        late: u64,
    }

    /// With `RTCP_TRACE_SEGMENTS` set, one line per segment sent or
    /// delivered, to follow a failing case.
    fn trace(now: u64, way: &str, w: &Wire, note: &str) {
        if std::env::var_os("RTCP_TRACE_SEGMENTS").is_some() {
            let s = &w.0;
            eprintln!("{now} {way} seq {} ack {} len {} wnd {} {:?} {note}", s.seq.0, s.ack.0, w.1.len(), s.window, s.flags);
        }
    }

    /// Runs both directions until every byte is read and both FINs are
    /// acknowledged, through `ch`. Returns what each side read.
    fn transfer(a_data: &[u8], b_data: &[u8], ch: Channel, rx: usize) -> (Vec<u8>, Vec<u8>, (State, State)) {
        transfer_with(a_data, b_data, ch, Config { mss: 200, ..Config::default() }, 1500, rx)
    }

    fn transfer_with(
        a_data: &[u8],
        b_data: &[u8],
        ch: Channel,
        cfg: Config,
        tx: usize,
        rx: usize,
    ) -> (Vec<u8>, Vec<u8>, (State, State)) {
        let (mut a, mut b) = pair(cfg, tx, rx);
        a.conn.data.nodelay = true;
        b.conn.data.nodelay = true;
        let (mut a_sent, mut b_sent) = (0, 0);
        let (mut a_read, mut b_read) = (vec![], vec![]);
        // (arrival time, to b?, segment)
        let mut wire: Vec<(u64, bool, Wire)> = vec![];
        let mut rng = ch.seed | 1;
        let mut roll = move || {
            // xorshift64
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % 100
        };
        let mut now = 1u64;
        let mut buf = [0u8; 65536];
        for _ in 0..200_000 {
            a_sent += a.write(&a_data[a_sent..]);
            b_sent += b.write(&b_data[b_sent..]);
            if a_sent == a_data.len() {
                a.conn.close(false, now);
            }
            if b_sent == b_data.len() {
                b.conn.close(false, now);
            }
            for (side, to_b) in [(&mut a, true), (&mut b, false)] {
                let t = side.conn.on_timer(now);
                for w in drain(side, now, t.reply) {
                    let r = roll();
                    trace(now, if to_b { "a->" } else { "b->" }, &w, if r < ch.loss { "lost" } else { "" });
                    if r < ch.loss {
                        continue;
                    }
                    if r < ch.loss + ch.dup {
                        wire.push((now + 3, to_b, w.clone()));
                    }
                    let late = roll() < ch.late;
                    wire.push((now + if late { 7 } else { 1 }, to_b, w));
                }
            }
            wire.sort_by_key(|(t, _, _)| *t);
            while wire.first().is_some_and(|(t, _, _)| *t <= now) {
                let (_, to_b, w) = wire.remove(0);
                let side = if to_b { &mut b } else { &mut a };
                let out = deliver(side, &w, now);
                trace(now, if to_b { "->b" } else { "->a" }, &w, if out.reply.is_some() { "answered" } else { "" });
                if let Some(r) = out.reply {
                    wire.push((now + 1, !to_b, (r, vec![])));
                }
            }
            // The readers take a bounded bite each round (the window
            // fills and opens), and everything at the end.
            let bite = 1 + (now as usize * 37) % 1400;
            let n = a.read(&mut buf[..bite], false);
            a_read.extend_from_slice(&buf[..n]);
            let n = b.read(&mut buf[..bite], false);
            b_read.extend_from_slice(&buf[..n]);
            let done = |s: &Stream<Vec<u8>>| matches!(s.conn.state, State::TimeWait | State::Closed);
            if done(&a) && done(&b) {
                for (s, r) in [(&mut a, &mut a_read), (&mut b, &mut b_read)] {
                    loop {
                        let n = s.read(&mut buf, false);
                        if n == 0 {
                            break;
                        }
                        r.extend_from_slice(&buf[..n]);
                    }
                }
            }
            if done(&a) && done(&b) && wire.is_empty() {
                break;
            }
            // Jump to the next event.
            let next = [a.conn.deadline(), b.conn.deadline(), wire.first().map(|w| w.0)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + 1);
            now = next.max(now + 1);
        }
        if std::env::var("RTCP_TRACE").is_ok() {
            for s in [&a, &b] {
                let c = &s.conn;
                eprintln!("{:?} una {:?} nxt {:?} max {:?} end {:?} rcv_nxt {:?} wnd {} rcv_wnd {} dl {:?} now {} probing {} rtx {} fin_in {} cwnd {} ooo {:?}",
                    c.state, c.snd_una, c.snd_nxt, c.data.snd_max, c.data.snd_end, c.rcv_nxt, c.snd_wnd, c.rcv_wnd, c.deadline(), now, c.data.probing, c.retransmits, c.data.fin_in, c.data.cc.cwnd, c.data.ooo.ranges());
            }
        }
        (a_read, b_read, (a.conn.state, b.conn.state))
    }

    #[test]
    fn a_clean_channel_carries_both_ways_and_closes() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        let clean = Channel { seed: 1, loss: 0, dup: 0, late: 0 };
        let (ar, br, states) = transfer(&data, &data[..5000], clean, 3000);
        assert_eq!(br, data);
        assert_eq!(ar, &data[..5000]);
        assert!(matches!(states, (State::TimeWait | State::Closed, State::TimeWait | State::Closed)), "{states:?}");
    }

    #[test]
    fn a_window_clamp_far_below_the_mss_still_carries_everything() {
        // Loopback's MSS with TCP_WINDOW_CLAMP of 5000 on both ends.
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 11) as u8).collect();
        let clean = Channel { seed: 1, loss: 0, dup: 0, late: 0 };
        let cfg = Config { mss: 65_483, window_clamp: 5000, rcv_wnd: 5000, ..Config::default() };
        let (_, br, states) = transfer_with(&data, &[], clean, cfg, 262_144, 262_144);
        assert_eq!(br.len(), data.len(), "{states:?}");
        assert!(br == data);
    }

    #[test]
    fn buffers_of_a_few_segments_still_carry_everything() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 11) as u8).collect();
        let clean = Channel { seed: 1, loss: 0, dup: 0, late: 0 };
        for mss in [536, 1460, 4000] {
            let cfg = Config { mss, ..Config::default() };
            let (_, br, states) = transfer_with(&data, &[], clean, cfg, 4096, 4096);
            assert_eq!(br.len(), data.len(), "mss {mss}: {states:?}");
            assert!(br == data);
        }
    }

    #[test]
    fn new_data_goes_in_runs_that_end_at_a_push() {
        let cfg = Config { timestamps: false, ..Config::default() };
        let (mut a, _) = pair(cfg, 100_000, 100_000);
        a.conn.data.nodelay = true;
        assert_eq!(a.write(&[1u8; 5 * 1460 + 100]), 5 * 1460 + 100);
        let (t, x, y) = a.transmit_run(1, 4).unwrap();
        assert_eq!((t.len, t.size, x.len() + y.len()), (4 * 1460, 1460, 4 * 1460));
        assert_eq!(t.seg.flags, Flags::ACK, "no PSH: the write goes on");
        // One full segment is left before the tail: alone, not a run.
        let (t, ..) = a.transmit_run(1, 4).unwrap();
        assert_eq!((t.len, t.size), (1460, 0));
        let (t, ..) = a.transmit_run(1, 4).unwrap();
        assert_eq!((t.len, t.size), (100, 0));
        assert!(t.seg.flags.contains(Flags::PSH));
        assert!(a.transmit_run(1, 4).is_none(), "all of it went");
    }

    /// The segments of a run ([`Conn::transmit_run`]), one by one, as
    /// [`Conn::transmit`] gives them.
    fn segments_of(t: Transmit) -> Vec<Transmit> {
        if t.size == 0 {
            return vec![t];
        }
        let n = t.len / t.size;
        (0..n)
            .map(|i| {
                let mut seg = t.seg;
                seg.seq = t.seg.seq.add(i * t.size);
                if i + 1 < n {
                    seg.flags = Flags::ACK;
                }
                Transmit { seg, off: t.off + i * t.size, len: t.size, retransmission: t.retransmission, size: 0 }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// A run of segments is the segments one at a time: the same
        /// headers and payloads, the connection in the same state after,
        /// whatever was written, with or without PSH, and whatever the
        /// windows and timestamps.
        #[test]
        fn a_run_is_its_segments_one_at_a_time(
            writes in proptest::collection::vec((1u32..40_000, any::<bool>(), 0u8..3), 1..16),
            most in 2u32..50,
            rx in 3000u32..300_000,
            timestamps in any::<bool>(),
            mss in prop_oneof![Just(536u16), Just(1460u16), Just(9000u16)],
        ) {
            let cfg = Config { rcv_wnd: rx, timestamps, mss, ..Config::default() };
            let (a, syn) = Conn::connect(cfg, A, B, SeqNum(0xffff_0000), 3, 0);
            let (mut req, synack) = Request::new(cfg, B, A, &syn, SeqNum(77), 5, 0);
            let mut one = a;
            let ack = one.on_segment(&synack, 0, 0).reply.unwrap();
            let RequestOutcome::Established(mut b) = req.on_segment(&ack, 0, 0) else { panic!("no connection") };
            let mut run = one.clone();
            let mut now = 1;
            for (n, push, read) in writes {
                one.queued(n, push);
                run.queued(n, push);
                let mut singles = vec![];
                while let Some(t) = one.transmit(now) {
                    singles.push(t);
                    prop_assert!(singles.len() < 10_000);
                }
                let mut runs = vec![];
                while let Some(t) = run.transmit_run(now, most) {
                    prop_assert!(t.size == 0 || (t.len / t.size >= 2 && t.len / t.size <= most && t.len % t.size == 0));
                    runs.extend(segments_of(t));
                    prop_assert!(runs.len() < 10_000);
                }
                prop_assert_eq!(&singles, &runs);
                prop_assert_eq!(&one, &run);
                // The peer takes them (and reads them, or not), and both
                // senders take its answers.
                let mut answers = vec![];
                for t in &singles {
                    answers.extend(b.on_segment(&t.seg, t.len, now).reply);
                }
                if read > 0 {
                    b.on_read(b.data.rx_unread);
                }
                now += u64::from(read);
                while let Some(t) = b.transmit(now) {
                    answers.push(t.seg);
                }
                for r in &answers {
                    one.on_segment(r, 0, now);
                    run.on_segment(r, 0, now);
                }
                prop_assert_eq!(&one, &run);
            }
        }

        /// Whatever the channel does, each side reads exactly what the
        /// other wrote, and both close.
        #[test]
        fn the_byte_stream_survives_the_channel(
            a_len in 0usize..6000,
            b_len in 0usize..3000,
            seed in any::<u64>(),
            loss in 0u64..25,
            dup in 0u64..10,
            late in 0u64..30,
            rx in 400usize..5000,
        ) {
            let ch = Channel { seed, loss, dup, late };
            let a_data: Vec<u8> = (0..a_len).map(|i| (i * 13 + 1) as u8).collect();
            let b_data: Vec<u8> = (0..b_len).map(|i| (i * 3 + 2) as u8).collect();
            let (ar, br, states) = transfer(&a_data, &b_data, ch, rx);
            let first_bad = |got: &[u8], want: &[u8]| got.iter().zip(want).position(|(g, w)| g != w);
            prop_assert!(br == a_data, "b read {} of {} bytes, first wrong at {:?}", br.len(), a_data.len(), first_bad(&br, &a_data));
            prop_assert!(ar == b_data, "a read {} of {} bytes, first wrong at {:?}", ar.len(), b_data.len(), first_bad(&ar, &b_data));
            prop_assert!(matches!(states.0, State::TimeWait | State::Closed), "{:?}", states);
            prop_assert!(matches!(states.1, State::TimeWait | State::Closed), "{:?}", states);
        }
    }
}
