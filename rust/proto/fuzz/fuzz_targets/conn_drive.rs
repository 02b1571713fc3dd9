// SPDX-License-Identifier: GPL-2.0

//! Drives the core's listener and a connection's two ends with arbitrary
//! segment sequences, application calls and clock steps, and checks the
//! core's invariants after every step: no panic (the fuzz build has
//! overflow checks, as the kernel), SND.UNA <= SND.NXT <= SND.MAX, the
//! right edge of the receive window never moving left, buffers within
//! their bounds.
//!
//! The input is read as a script: a few bytes of configuration, then
//! one operation a byte, each taking the bytes it needs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::addr::Addr;
use proto::conn::{Config, Conn, Endpoint};
use proto::cookie::{CookieHash, Cookies};
use proto::options::Options;
use proto::request::{listen_segment, ListenAction, Request, RequestOutcome};
use proto::segment::{Flags, Segment};
use proto::seq::SeqNum;
use proto::state::State;
use proto::stream::{rx_capacity, Stream};
use std::collections::VecDeque;

const A: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0001), port: 40000 };
const B: Endpoint = Endpoint { addr: Addr::v4(0x0a00_0002), port: 80 };
/// The same ends over IPv6 (the setup byte's bit 5 picks them).
const A6: Endpoint = Endpoint { addr: Addr([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), port: 40000 };
const B6: Endpoint = Endpoint { addr: Addr([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), port: 80 };

/// The script: bytes taken from the front, zeros once it ends.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

struct Hash;
impl CookieHash for Hash {
    fn hash(&self, local: Endpoint, remote: Endpoint, count: u32, key: usize) -> u32 {
        (local.addr.ipv4() ^ remote.addr.ipv4().rotate_left(7) ^ u32::from(remote.port) << 16 ^ count ^ key as u32)
            .wrapping_mul(0x9e37_79b1)
    }
}

/// One end and what the checks remember of it.
struct End {
    s: Stream<Vec<u8>>,
    /// The furthest right edge of the window it offered.
    right: Option<SeqNum>,
}

impl End {
    fn check(&mut self) {
        let c = &self.s.conn;
        assert!(!c.snd_nxt.before(c.snd_una), "SND.NXT {:?} before SND.UNA {:?}", c.snd_nxt, c.snd_una);
        assert!(!c.data.snd_max.before(c.snd_nxt), "SND.MAX {:?} before SND.NXT {:?}", c.data.snd_max, c.snd_nxt);
        assert!(self.s.rx.len() <= self.s.rx.capacity());
        assert!(self.s.tx.len() <= self.s.tx.capacity());
        assert!(c.data.rx_unread as usize <= self.s.rx.capacity());
        if matches!(c.state, State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait) {
            let edge = c.rcv_nxt.add(c.rcv_wnd);
            if let Some(r) = self.right {
                assert!(!edge.before(r), "the window's right edge moved left: {:?} < {:?}", edge, r);
            }
            self.right = Some(edge);
        }
    }
}

/// A segment from the script, relative to what `to` expects unless the
/// script says raw numbers.
fn segment(sc: &mut Script<'_>, from: Endpoint, to: Option<&Conn>) -> (Segment, Vec<u8>) {
    let kind = sc.u8();
    let flags = Flags(sc.u8());
    let (seq, ack) = match to {
        Some(c) if kind & 1 == 0 => {
            let ds = sc.u16() as i16 as i32;
            let da = sc.u16() as i16 as i32;
            (c.rcv_nxt.add(ds as u32), c.snd_nxt.add(da as u32))
        }
        _ => (SeqNum(sc.u32()), SeqNum(sc.u32())),
    };
    let opt_len = usize::from(sc.u8() % 41);
    let options = Options::parse(sc.bytes(opt_len));
    let window = sc.u16();
    let urgent = sc.u16();
    let plen = usize::from(sc.u16() % 3000);
    let payload: Vec<u8> = (0..plen).map(|i| (i as u8) ^ kind).collect();
    let dst_port = if from.port == A.port { B.port } else { A.port };
    let seg = Segment { src_port: from.port, dst_port, seq, ack, flags, window, urgent, options, ..Segment::default() };
    (seg, payload)
}

fn deliver(end: &mut End, seg: &Segment, payload: &[u8], now: u64, queue: &mut VecDeque<(Segment, Vec<u8>)>) {
    let out = end.s.on_segment(seg, payload, payload.len() as u32, now);
    if let Some(r) = out.reply {
        queue.push_back((r, Vec::new()));
    }
}

fn pump(end: &mut End, now: u64, queue: &mut VecDeque<(Segment, Vec<u8>)>) {
    for _ in 0..64 {
        let Some((t, a, b)) = end.s.transmit(now) else { break };
        queue.push_back((t.seg, [a, b].concat()));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sc = Script(data);
    let setup = sc.u8();
    let cfg = Config {
        mss: 64 + sc.u16() % 1500,
        rcv_wnd: 1024 + u32::from(sc.u16()),
        wscale: if setup & 1 != 0 { Some(sc.u8() % 15) } else { None },
        sack: setup & 2 != 0,
        timestamps: setup & 4 != 0,
        ..Config::default()
    };
    let peer_cfg = Config { sack: setup & 8 != 0, timestamps: setup & 16 != 0, ..cfg };
    let mut now = u64::from(sc.u16());
    let (a_end, b_end) = if setup & 32 != 0 { (A6, B6) } else { (A, B) };
    let (tx, rx) = (256 + usize::from(sc.u16()), rx_capacity(&cfg));

    // The handshake, the client A to the listener B.
    let (mut a, syn) = Conn::connect(cfg, a_end, b_end, SeqNum(sc.u32()), sc.u32(), now);
    assert_eq!(listen_segment(&syn), ListenAction::Syn);
    let (mut req, synack) = Request::new(peer_cfg, b_end, a_end, &syn, SeqNum(sc.u32()), sc.u32(), now);
    let Some(ack) = a.on_segment(&synack, 0, now).reply else { return };
    let RequestOutcome::Established(b) = req.on_segment(&ack, 0, now) else { return };
    let mut ends =
        [End { s: Stream::new(a, vec![0; tx], vec![0; rx]), right: None }, End { s: Stream::new(b, vec![0; tx], vec![0; rx]), right: None }];
    // Segments on the wire: towards A, towards B.
    let mut wire: [VecDeque<(Segment, Vec<u8>)>; 2] = [VecDeque::new(), VecDeque::new()];
    // A listener's second request, and its cookies.
    let hash = Hash;
    let mut listener: Option<Request> = None;

    let mut steps = 0;
    while !sc.done() && steps < 2000 {
        steps += 1;
        let op = sc.u8();
        let i = usize::from(op >> 7);
        let (me, peer) = if i == 0 { (a_end, b_end) } else { (b_end, a_end) };
        match op & 0x7f {
            // A forged segment to one end.
            0..=19 => {
                let (seg, payload) = segment(&mut sc, peer, Some(&ends[i].s.conn));
                let [wa, wb] = &mut wire;
                deliver(&mut ends[i], &seg, &payload, now, if i == 0 { wb } else { wa });
            }
            // The wire: the next segment towards an end, delivered, lost
            // or duplicated.
            20..=59 => {
                let how = sc.u8();
                let Some((seg, payload)) = wire[i].pop_front() else { continue };
                if how % 8 != 0 {
                    let [wa, wb] = &mut wire;
                    let back = if i == 0 { wb } else { wa };
                    deliver(&mut ends[i], &seg, &payload, now, back);
                    if how % 16 == 1 {
                        deliver(&mut ends[i], &seg, &payload, now, back);
                    }
                }
            }
            // An end sends what it may.
            60..=74 => {
                let other = 1 - i;
                pump(&mut ends[i], now, &mut wire[other]);
            }
            // The application writes, or reads.
            75..=84 => {
                let n = usize::from(sc.u16());
                let buf: Vec<u8> = (0..n).map(|k| k as u8).collect();
                ends[i].s.write(&buf);
            }
            85..=94 => {
                let mut buf = vec![0; usize::from(sc.u16())];
                let n = ends[i].s.read(&mut buf, op & 1 != 0);
                let _ = ends[i].s.took(n);
            }
            // The clock, and the timers due.
            95..=109 => {
                now = now.wrapping_add(u64::from(sc.u16()) * u64::from(1 + sc.u8() % 16));
                for (k, end) in ends.iter_mut().enumerate() {
                    if end.s.conn.deadline().is_some_and(|d| d <= now) {
                        let out = end.s.conn.on_timer(now);
                        if let Some(r) = out.reply {
                            wire[1 - k].push_back((r, Vec::new()));
                        }
                    }
                }
                if let Some(r) = &mut listener {
                    let _ = r.on_timer(now);
                }
            }
            // close().
            110..=114 => {
                let out = ends[i].s.conn.close(op & 1 != 0, now);
                if let Some(r) = out.reply {
                    wire[1 - i].push_back((r, Vec::new()));
                }
            }
            // A listener: any segment, a request, cookies.
            _ => {
                let (seg, payload) = segment(&mut sc, me, None);
                let cookies = Cookies { hash: &hash, minute: (now / 60_000) as u32, ts_offset: 7 };
                if let Some(r) = &mut listener {
                    let _ = r.defers(&seg, payload.len() as u32);
                    if let RequestOutcome::Established(c) = r.on_segment(&seg, 0, now) {
                        listener = None;
                        assert!(!c.snd_nxt.before(c.snd_una));
                    }
                } else if listen_segment(&seg) == ListenAction::Syn {
                    if op & 1 != 0 {
                        let (r, _) = Request::new(peer_cfg, b_end, me, &seg, SeqNum(sc.u32()), 3, now);
                        listener = Some(r);
                    } else {
                        let _ = cookies.synack(peer_cfg, b_end, me, &seg, now);
                    }
                } else if let Some(c) = cookies.accept(peer_cfg, b_end, me, &seg, now) {
                    assert!(!c.snd_nxt.before(c.snd_una));
                }
            }
        }
        for end in ends.iter_mut() {
            end.check();
        }
        for w in wire.iter_mut() {
            while w.len() > 256 {
                w.pop_front();
            }
        }
    }
});
