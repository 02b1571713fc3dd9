// SPDX-License-Identifier: GPL-2.0

//! TCP Fast Open's glue, the counterpart of `net/ipv4/tcp_fastopen.c`: the
//! keys (the namespace's, drawn at random, or a listener's own,
//! `TCP_FASTOPEN_KEY`), the cookies they make, a listener's Fast Open
//! queue (`TCP_FASTOPEN`), and the socket options. The decisions are the
//! core's ([`crate::proto::fastopen`]).

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use crate::new_spinlock_bh;
use kernel::prelude::*;
use crate::net::bh::SpinLockBh;

use crate::net::siphash::SipKey;
use crate::net::clock::now_ms;
use crate::net::{Msg, Net, OptIn, OptVal, Sock, Socket};
use crate::proto::conn::Outcome;
use crate::proto::addr::Addr;
use crate::proto::conn::Endpoint;
use crate::proto::fastopen::{self, Decision};
use crate::proto::options::FastOpen;
use crate::proto::segment::Segment;
use crate::sys;

use crate::af_rtcp::{RtcpOps, SS_CONNECTED, SS_UNCONNECTED};
use crate::rtcp::{RtcpProto, TCP_CLOSE, TCP_LISTEN, TCP_SYN_RECV, send_stream};
use crate::rtcp_input::drive;
use crate::rtcp_minisocks::Listener;
use crate::rtcp_netns::{FASTOPEN, RtcpNet};
use crate::rtcp_proc::Stats;

/// `TCP_FASTOPEN_KEY_LENGTH`: one key's bytes; a listener takes one or two
/// (the primary, and a backup whose cookies are still taken).
const KEY_LEN: usize = 16;

/// The most `TCP_FASTOPEN` may ask for (`somaxconn`'s default: the
/// socket layer caps `listen()`'s backlog so, and `fastopen_queue_tune`
/// the queue).
const MAX_QLEN: u32 = 4096;

/// A listener's own keys (`TCP_FASTOPEN_KEY`).
#[derive(Clone, Copy)]
pub(crate) struct Keys {
    primary: SipKey,
    backup: Option<SipKey>,
}

impl Keys {
    fn get(&self, i: usize) -> Option<&SipKey> {
        match i {
            0 => Some(&self.primary),
            1 => self.backup.as_ref(),
            _ => None,
        }
    }
}

/// A sock's Fast Open options.
#[pin_data]
pub(crate) struct FastOpenSock {
    /// `TCP_FASTOPEN`: how many children whose handshake is not over a
    /// listener keeps (`fastopenq.max_qlen`; 0: no Fast Open).
    pub(crate) max_qlen: AtomicU32,
    /// `TCP_FASTOPEN_CONNECT`.
    pub(crate) connect: AtomicBool,
    /// `TCP_FASTOPEN_NO_COOKIE`.
    pub(crate) no_cookie: AtomicBool,
    /// A `TCP_FASTOPEN_CONNECT` connect() returned at once: its SYN waits
    /// for the first write (`DEFER_CONNECT`).
    pub(crate) deferred: AtomicBool,
    /// `TCP_FASTOPEN_KEY` (none: the namespace's key).
    #[pin]
    keys: SpinLockBh<Option<Keys>>,
}

impl FastOpenSock {
    pub(crate) fn new() -> impl PinInit<FastOpenSock, Error> {
        try_pin_init!(FastOpenSock {
            max_qlen: AtomicU32::new(0),
            connect: AtomicBool::new(false),
            no_cookie: AtomicBool::new(false),
            deferred: AtomicBool::new(false),
            keys <- new_spinlock_bh!(None, "rtcp_fastopen_keys"),
        })
    }

    /// `listen()` with `net.rtcp.fastopen`'s 0x400: every listener takes
    /// Fast Open, its queue as long as its backlog (`inet_listen`).
    pub(crate) fn on_listen(&self, net: &Net, backlog: usize) {
        let bits = bits(net);
        let wo_sockopt = fastopen::SERVER_WO_SOCKOPT1 | fastopen::SERVER_ENABLE;
        if bits & wo_sockopt == wo_sockopt && self.max_qlen.load(Ordering::Relaxed) == 0 {
            let qlen = u32::try_from(backlog).unwrap_or(u32::MAX).min(MAX_QLEN);
            self.max_qlen.store(qlen, Ordering::Relaxed);
        }
    }
}

/// The most servers whose cookies a namespace keeps; a new one takes the
/// place of the one cached longest ago.
const CACHE_LEN: usize = 64;

/// A server's cookie and MSS, as `tcp_fastopen_cache_set` keeps them.
#[derive(Clone, Copy)]
struct Cached {
    addr: Addr,
    cookie: FastOpen,
    mss: u16,
}

/// The cookies of the servers a namespace connected to.
pub(crate) struct Cache {
    entries: KVec<Cached>,
    /// Where the next new server goes once the cache is full.
    next: usize,
}

impl Cache {
    pub(crate) fn new() -> Cache {
        Cache { entries: KVec::new(), next: 0 }
    }

    fn get(&self, addr: Addr) -> Option<(FastOpen, u16)> {
        self.entries.iter().find(|e| e.addr == addr).map(|e| (e.cookie, e.mss))
    }

    fn set(&mut self, addr: Addr, cookie: FastOpen, mss: u16) {
        let new = Cached { addr, cookie, mss };
        if let Some(e) = self.entries.iter_mut().find(|e| e.addr == addr) {
            *e = new;
        } else if self.entries.len() < CACHE_LEN {
            // Without memory the cookie is not kept: the next connection
            // asks for one again.
            let _ = self.entries.push(new, GFP_ATOMIC);
        } else if let Some(e) = self.entries.get_mut(self.next % CACHE_LEN) {
            *e = new;
            self.next = (self.next + 1) % CACHE_LEN;
        }
    }
}

/// Bytes a SYN keeps free of data for options a middlebox may add
/// (`MAX_TCP_OPTION_SPACE`).
const MAX_TCP_OPTION_SPACE: u32 = 40;

/// How an active open to `remote` uses Fast Open (`tcp_fastopen_cookie_check`):
/// the option of its SYN (the cached cookie; none where no cookie is
/// needed; else a request for one) and the room for data in it (none
/// when it asks for a cookie): the path's MSS, or the server's if less,
/// less the options' room (`tcp_send_syn_data`).
pub(crate) fn client_plan(net: &Net, sk: &Sock<RtcpProto>, remote: Endpoint, mss: u16) -> (Option<FastOpen>, u32) {
    let cached = RtcpNet::of(net).fastopen_cache.lock().get(remote.addr);
    let mss = match cached {
        Some((_, m)) if m != 0 => mss.min(m),
        _ => mss,
    };
    let room = u32::from(mss).saturating_sub(MAX_TCP_OPTION_SPACE);
    let no_cookie = bits(net) & fastopen::CLIENT_NO_COOKIE != 0 || sk.shared().fastopen.no_cookie.load(Ordering::Relaxed);
    match cached {
        _ if no_cookie => (None, room),
        Some((c, _)) => (Some(c), room),
        None => (Some(FastOpen::default()), 0),
    }
}

/// An active open's handshake ended (`tcp_rcv_fastopen_synack`): the
/// cookie the server gave is cached, and the SYN's data counted as
/// acknowledged or not. Under the connection's lock.
pub(crate) fn on_synack(net: &Net, c: &crate::proto::conn::Conn, out: &crate::proto::conn::Outcome) {
    if !out.established {
        return;
    }
    let rn = RtcpNet::of(net);
    if let Some((cookie, mss)) = out.fastopen_cookie {
        rn.fastopen_cache.lock().set(c.remote.addr, cookie, mss);
    }
    if c.data.syn_data > 0 {
        Stats::inc(if c.data.syn_data_acked { &rn.stats.fastopen_active } else { &rn.stats.fastopen_active_fail });
    }
}

/// `sendmsg` with `MSG_FASTOPEN`, or the first after a deferred
/// connect (`tcp_sendmsg_fastopen`): the connect to `msg`'s address with
/// the first bytes in the SYN (as many as it takes, none when it asks for
/// a cookie), then, for a blocking socket, the wait for the handshake. `Ok((n, true))`: the call returns `n` now; `Ok((n,
/// false))`: `n` bytes went in the SYN and the rest follow as any send.
pub(crate) fn sendmsg(sock: &Socket<RtcpProto>, sk: &Sock<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<(usize, bool)> {
    let net = sk.net();
    let fo = &sk.shared().fastopen;
    // The address, copied: the message's bytes are read meanwhile.
    let mut raw = [0u8; 32];
    let name = msg.name().map(|n| {
        let k = n.len().min(raw.len());
        if let (Some(d), Some(s)) = (raw.get_mut(..k), n.get(..k)) {
            d.copy_from_slice(s);
        }
        k
    });
    let unspec = name.is_some_and(|k| k >= 2 && u16::from_ne_bytes([raw[0], raw[1]]) == sys::AF_UNSPEC as u16);
    if bits(net) & fastopen::CLIENT_ENABLE == 0 || unspec {
        return Err(EOPNOTSUPP);
    }
    let deferred = fo.deferred.swap(false, Ordering::Relaxed);
    if !deferred {
        let mut owned = sk.lock();
        match sock.state() {
            SS_CONNECTED => return Err(EISCONN),
            SS_UNCONNECTED if sk.state() == TCP_CLOSE => {}
            SS_UNCONNECTED => return Err(EISCONN),
            _ => return Err(EALREADY),
        }
        let raw = raw.get(..name.unwrap_or(0)).unwrap_or(&[]);
        RtcpOps::start_connect(sock, sk, &mut owned, raw, true)?;
    }
    let pending = || sk.shared().tcb.lock().conn().is_some_and(|c| c.data.syn_pending);
    let copied = if pending() { send_stream(sk, msg, len, flags) } else { Ok(0) };
    // A SYN that took no bytes (none given, or a fault) goes all the same.
    if pending() {
        let now = now_ms();
        drive(sk, now, |st| {
            let t = st.conn.syn_with_data(now);
            Some((Outcome::reply(t.seg), false))
        });
    }
    let copied = copied?;
    if flags & sys::RTCP_MSG_DONTWAIT != 0 {
        // __inet_stream_connect's EINPROGRESS, unless bytes went.
        return if copied > 0 { Ok((copied, true)) } else { Err(EINPROGRESS) };
    }
    // A blocking socket waits for the handshake, deferred or not (its
    // error is the call's, the bytes in the SYN lost with it).
    RtcpOps::wait_connected(sock, sk, false)?;
    Ok((copied, false))
}

/// `net.rtcp.fastopen`, `net.ipv4.tcp_fastopen`'s bits.
pub(crate) fn bits(net: &Net) -> u32 {
    RtcpNet::of(net).sysctl.get(FASTOPEN) as u32
}

/// The cookie of a SYN from `remote` to `local` under `key`
/// (`__tcp_fastopen_cookie_gen_cipher`).
fn cookie(key: &SipKey, local: Endpoint, remote: Endpoint) -> FastOpen {
    FastOpen::new(&(crate::rtcp_af::of(remote.addr).fastopen_cookie)(key, local, remote).to_le_bytes())
}

/// What listener `sk` does with the Fast Open of SYN `seg` (of
/// `payload_len` bytes) from `remote` to `local` (`tcp_try_fastopen`),
/// counted as Linux counts it.
pub(crate) fn on_syn(net: &Net, sk: &Sock<RtcpProto>, l: &Listener, local: Endpoint, remote: Endpoint, seg: &Segment, payload_len: u32) -> Decision {
    let stats = &RtcpNet::of(net).stats;
    let foc = seg.options.fastopen;
    if foc.is_some_and(|f| f.len == 0) {
        Stats::inc(&stats.fastopen_cookie_reqd);
    }
    let max_qlen = sk.shared().fastopen.max_qlen.load(Ordering::Relaxed) as usize;
    // The children whose handshake is not over (`fastopenq.qlen`; Linux
    // also counts those accepted meanwhile, and those reset for a minute).
    let qlen = l.queue.iter().filter(|c| c.state() == TCP_SYN_RECV).count();
    let room = max_qlen > 0 && qlen < max_qlen;
    if max_qlen > 0 && !room && (foc.is_some() || payload_len > 0) {
        Stats::inc(&stats.fastopen_listen_overflow);
    }
    let own = *sk.shared().fastopen.keys.lock();
    let net_key = &RtcpNet::of(net).fastopen_key;
    let valid = |i: usize| match &own {
        Some(k) => k.get(i).map(|key| cookie(key, local, remote)),
        None => (i == 0).then(|| cookie(net_key, local, remote)),
    };
    let d = fastopen::server(bits(net), &seg.options, payload_len > 0, room, valid);
    if d.child {
        Stats::inc(&stats.fastopen_passive);
    } else if foc.is_some_and(|f| f.len > 0) && room {
        Stats::inc(&stats.fastopen_passive_fail);
    }
    d
}

/// The Fast Open options of `do_tcp_setsockopt`; `None` for another.
pub(crate) fn setsockopt(sk: &Sock<RtcpProto>, name: u32, opt: &OptIn) -> Option<Result> {
    let fo = &sk.shared().fastopen;
    let closed_or_listening = matches!(sk.state(), TCP_CLOSE | TCP_LISTEN);
    Some(match name {
        sys::TCP_FASTOPEN_KEY => {
            // One key or two (the backup), in any state.
            let mut raw = [0u8; 2 * KEY_LEN];
            let n = opt.len();
            if n != KEY_LEN && n != 2 * KEY_LEN {
                return Some(Err(EINVAL));
            }
            let Some(buf) = raw.get_mut(..n) else { return Some(Err(EINVAL)) };
            if let Err(e) = opt.bytes(buf) {
                return Some(Err(e));
            }
            let key = |b: &[u8]| {
                let w = |i: usize| u64::from_le_bytes(b.get(i..i + 8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]));
                SipKey::from_words(w(0), w(8))
            };
            let backup = (n == 2 * KEY_LEN).then(|| key(raw.get(KEY_LEN..).unwrap_or(&[])));
            *fo.keys.lock() = Some(Keys { primary: key(&raw), backup });
            Ok(())
        }
        sys::TCP_FASTOPEN => match opt.int() {
            // The queue of a listener, or of one to be.
            Ok(v) if v >= 0 && closed_or_listening => {
                fo.max_qlen.store((v as u32).min(MAX_QLEN), Ordering::Relaxed);
                Ok(())
            }
            Ok(_) => Err(EINVAL),
            Err(e) => Err(e),
        },
        sys::TCP_FASTOPEN_CONNECT => match opt.int() {
            Ok(v) if !(0..=1).contains(&v) => Err(EINVAL),
            Ok(_) if bits(sk.net()) & fastopen::CLIENT_ENABLE == 0 => Err(EOPNOTSUPP),
            Ok(v) if sk.state() == TCP_CLOSE => {
                fo.connect.store(v == 1, Ordering::Relaxed);
                Ok(())
            }
            Ok(_) => Err(EINVAL),
            Err(e) => Err(e),
        },
        sys::TCP_FASTOPEN_NO_COOKIE => match opt.int() {
            Ok(v) if (0..=1).contains(&v) && closed_or_listening => {
                fo.no_cookie.store(v == 1, Ordering::Relaxed);
                Ok(())
            }
            Ok(_) => Err(EINVAL),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// The Fast Open options of `do_tcp_getsockopt`; `None` for another.
pub(crate) fn getsockopt(sk: &Sock<RtcpProto>, name: u32) -> Option<OptVal> {
    let fo = &sk.shared().fastopen;
    Some(match name {
        // The sock's own keys only (`tcp_fastopen_get_cipher` of the
        // sock): none read back as no bytes.
        sys::TCP_FASTOPEN_KEY => {
            let mut out = [0u8; 2 * KEY_LEN];
            let mut n = 0;
            if let Some(k) = *fo.keys.lock() {
                for key in [Some(k.primary), k.backup].into_iter().flatten() {
                    for w in key.words() {
                        if let Some(d) = out.get_mut(n..n + 8) {
                            d.copy_from_slice(&w.to_le_bytes());
                        }
                        n += 8;
                    }
                }
            }
            OptVal::Bytes(out, n)
        }
        sys::TCP_FASTOPEN => OptVal::Int(fo.max_qlen.load(Ordering::Relaxed) as i32),
        sys::TCP_FASTOPEN_CONNECT => OptVal::Int(i32::from(fo.connect.load(Ordering::Relaxed))),
        sys::TCP_FASTOPEN_NO_COOKIE => OptVal::Int(i32::from(fo.no_cookie.load(Ordering::Relaxed))),
        _ => return None,
    })
}
