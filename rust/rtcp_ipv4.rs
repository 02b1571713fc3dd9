// SPDX-License-Identifier: GPL-2.0

//! IPv4 for RTCP, the counterpart of `net/ipv4/tcp_ipv4.c` (with the
//! cookie glue of `net/ipv4/syncookies.c`): `tcp_v4_connect`, the receive
//! hook and its demux (`tcp_v4_rcv`), `tcp_v4_err`, the ISN and the SYN
//! cookies' keyed hash, and the segments sent with no connection behind
//! them (`tcp_v4_send_reset`, the SYN-ACK).

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

use crate::net::clock::now_ms;
use crate::net::skb::SkbPayload;
use crate::net::{self, skb, Hook, IcmpPacket, Malformed, Net, Packet, PortReservation, Route, Sock, SockAddr, Socket};
use crate::proto::conn::{Conn, Endpoint, IcmpAction, Outcome};
use crate::proto::icmp::{IcmpErrno, IcmpError};
use crate::proto::ipv4;
use crate::proto::mib::Mib;
use crate::proto::seq::SeqNum;

use crate::af_rtcp::{RtcpOps, SS_CONNECTING};
use crate::rtcp::{RtcpOwned, RtcpProto, TCP_SYN_SENT, TCP_TIME_WAIT, Tcb};
use crate::rtcp_af::AfOps;
use crate::rtcp_input::{Offer, Path, done, drive, drive_rx, listener_input, new_stream, our_config};
use crate::rtcp_minisocks::Listener;
use crate::rtcp_netns::{MAX_BUF, RtcpNet, SYNCOOKIES, SYN_RETRIES, WMEM};
use crate::rtcp_proc::Stats;

/// IPv4's operations (`ipv4_specific`).
pub(crate) static IPV4: AfOps = AfOps {
    net_header_len: ipv4::HEADER_LEN as u32,
    route: |net, key, local, remote| Route::output(net, key, local.addr.ipv4(), remote.addr.ipv4(), local.port, remote.port),
    build: |local, remote, seg, payload, mss| skb::build(local.addr, remote.addr, seg, payload, mss),
    transmit: skb::transmit,
    seq_and_ts_off: |net, local, remote| net::inet::seq_and_ts_off(net, local.addr.ipv4(), remote.addr.ipv4(), local.port, remote.port),
    // `cookie_hash`'s inputs, through SipHash.
    cookie_hash: |key, local, remote, count| {
        let addrs = u64::from(remote.addr.ipv4()) << 32 | u64::from(local.addr.ipv4());
        let rest = u64::from(remote.port) << 48 | u64::from(local.port) << 32 | u64::from(count);
        key.hash2(addrs, rest) as u32
    },
    // saddr then daddr, in network order, read as one little-endian word.
    fastopen_cookie: |key, local, remote| {
        key.hash1(u64::from(remote.addr.ipv4().swap_bytes()) | u64::from(local.addr.ipv4().swap_bytes()) << 32)
    },
    fmt_proc: |ep, f| write!(f, "{:08X}", ep.addr.ipv4().to_be()),
    fmt_addr: |ep, f| {
        let [a, b, c, d] = ep.addr.ipv4().to_be_bytes();
        write!(f, "{}.{}.{}.{}", a, b, c, d)
    },
};

/// A minute, the unit of the SYN cookies' clock.
pub(crate) const MINUTE_MS: u64 = 60_000;

/// The kernel's errno of an ICMP error (`icmp_err_convert[]`).
pub(crate) fn icmp_errno(e: IcmpErrno) -> Error {
    match e {
        IcmpErrno::NetUnreach => ENETUNREACH,
        IcmpErrno::HostUnreach => EHOSTUNREACH,
        IcmpErrno::NoProtoOpt => ENOPROTOOPT,
        IcmpErrno::ConnRefused => ECONNREFUSED,
        IcmpErrno::OpNotSupp => EOPNOTSUPP,
        IcmpErrno::HostDown => EHOSTDOWN,
        IcmpErrno::NoNet => ENONET,
        IcmpErrno::Proto => EPROTO,
        IcmpErrno::Access => EACCES,
    }
}

/// The receive hook: segments of RTCP's connections.
pub(crate) struct RtcpHook;

/// Who a segment is for.
pub(crate) enum Target {
    /// The connection of this four-tuple.
    Conn(ARef<Sock<RtcpProto>>),
    /// The listener of the local address: a SYN, or a segment of one of its
    /// handshakes.
    Listener(ARef<Sock<RtcpProto>>),
}

impl Hook for RtcpHook {
    type Target = Target;
    type Proto = RtcpProto;

    /// The connection's sock, or the listener's for a SYN and the
    /// segments of its handshakes (`tcp_v4_rcv` filters with the
    /// listener for a request); none in TIME-WAIT.
    fn filter_sock(target: &Target) -> Option<&Sock<RtcpProto>> {
        match target {
            Target::Conn(sk) if sk.state() == TCP_TIME_WAIT => None,
            Target::Conn(sk) | Target::Listener(sk) => Some(sk),
        }
    }

    /// `tcp_v4_rcv`'s `discard_and_relse` after `tcp_filter`: counted in,
    /// and no more.
    fn filtered(net: &Net) {
        Stats::inc(&RtcpNet::of(net).stats.in_segs);
    }

    fn claim(net: &Net, pkt: &Packet) -> Option<Target> {
        let local = pkt.local();
        let remote = pkt.remote();
        let rn = RtcpNet::of(net);
        rn.lookup(local, remote).map(Target::Conn).or_else(|| rn.listener(local, remote).map(Target::Listener))
    }

    fn deliver(net: &Net, target: Target, pkt: &Packet, payload: &SkbPayload<'_>) {
        use crate::proto::segment::Flags;
        Stats::inc(&RtcpNet::of(net).stats.in_segs);
        let now = now_ms();
        match target {
            Target::Conn(sk) => {
                let Some(out) =
                    drive_rx(&sk, now, |st| Some((st.receive(&pkt.seg, payload, pkt.payload_len, now), false)))
                else {
                    return;
                };
                // A SYN that ended a TIME-WAIT opens a new connection
                // (`tcp_v4_rcv`'s TCP_TW_SYN).
                let f = pkt.seg.flags;
                if out.closed && f.contains(Flags::SYN) && !f.contains(Flags::ACK) {
                    let local = pkt.local();
                    let remote = pkt.remote();
                    if let Some(l) = RtcpNet::of(net).listener(local, remote) {
                        listener_input(net, &l, pkt, payload, now);
                    }
                }
            }
            Target::Listener(sk) => {
                listener_input(net, &sk, pkt, payload, now);
                // The data (or FIN) of the ACK that made a connection goes
                // on to it, as `tcp_child_process` takes it: the data that
                // ends a TCP_DEFER_ACCEPT wait is there to read at once. (A
                // Fast Open child took its SYN's data as it was made.)
                let syn = pkt.seg.flags.contains(Flags::SYN);
                if (pkt.payload_len > 0 || pkt.seg.flags.contains(Flags::FIN)) && !syn {
                    let local = pkt.local();
                    let remote = pkt.remote();
                    if let Some(child) = RtcpNet::of(net).lookup(local, remote) {
                        drive(&child, now, |st| Some((st.receive(&pkt.seg, payload, pkt.payload_len, now), false)));
                    }
                }
            }
        }
    }

    /// `tcp_v4_rcv`'s `csum_error`: counted in, as an error, as a
    /// checksum error.
    fn bad_checksum(net: &Net) {
        let stats = &RtcpNet::of(net).stats;
        Stats::inc(&stats.in_segs);
        stats.count(Mib::IN_ERRS.with(Mib::IN_CSUM_ERRORS));
    }

    /// `tcp_v4_rcv`'s `bad_packet` (a data offset below 5 words, an
    /// error) and `discard_it` (past the packet, no counter but `InSegs`),
    /// for a segment of RTCP's four-tuple or listener.
    fn malformed(net: &Net, m: &Malformed) -> bool {
        let local = m.local();
        let remote = m.remote();
        let rn = RtcpNet::of(net);
        if rn.lookup(local, remote).is_none() && rn.listener(local, remote).is_none() {
            return false;
        }
        Stats::inc(&rn.stats.in_segs);
        if m.bad_offset {
            rn.stats.count(Mib::IN_ERRS);
        }
        true
    }

    /// `tcp_v4_err`: an error about a connection's segment ends its
    /// handshake or is kept as its soft error, or (fragmentation needed)
    /// lowers the path MTU and the connection's segment size
    /// (`tcp_v4_mtu_reduced`); one about a SYN-ACK may end the request
    /// (`tcp_req_err`).
    fn icmp(net: &Net, e: &IcmpError, pkt: &IcmpPacket<'_>) {
        let rn = RtcpNet::of(net);
        if let Some(sk) = rn.lookup(e.local, e.remote) {
            let action = {
                let mut tcb = sk.shared().tcb.lock();
                let Some(conn) = tcb.conn() else { return };
                conn.on_icmp(e)
            };
            match action {
                IcmpAction::OutOfWindow => Stats::inc(&rn.stats.out_of_window_icmps),
                IcmpAction::Ignored => {}
                IcmpAction::Soft => {
                    if let Some(errno) = e.errno() {
                        let err = icmp_errno(errno).to_errno().wrapping_neg();
                        // IP_RECVERR, or IPV6_RECVERR for an ICMPv6
                        // error: reported at once (`tcp_v4_err`,
                        // `tcp_v6_err`); the connection goes on.
                        if sk.shared().ip.recverr(!e.remote.addr.is_v4()) {
                            sk.report_error(err);
                        } else {
                            sk.set_soft_error(err);
                        }
                    }
                }
                IcmpAction::Failed(err) => done(&sk, Some(err)),
                IcmpAction::MtuReduced(mtu) => {
                    pkt.update_pmtu(net, u32::from(mtu));
                    // The route's MTU as it is now (the route clamps what the
                    // message said: `ip_rt_min_pmtu`, a locked MTU).
                    let af = crate::rtcp_af::of(e.remote.addr);
                    let Ok(route) = (af.route)(net, sk.flow_key(), e.local, e.remote) else { return };
                    let mss = sk.shared().clamp_mss(af.mss(route.mtu()));
                    drive(&sk, now_ms(), |st| {
                        st.conn.mtu_reduced(mss);
                        Some((Outcome::default(), false))
                    });
                }
            }
        } else if let Some(sk) = rn.listener(e.local, e.remote) {
            let mut tcb = sk.shared().tcb.lock();
            let Tcb::Listen(l) = &mut *tcb else { return };
            let Some(req) = l.requests.find_mut(e.local, e.remote) else { return };
            match req.on_icmp(e) {
                None => Stats::inc(&rn.stats.out_of_window_icmps),
                Some(true) => {
                    l.requests.remove(e.local, e.remote);
                    Stats::inc(&rn.stats.listen_drops);
                }
                Some(false) => {}
            }
        }
    }
}

/// An ACK reaching a listener with no request of its tuple: if cookies
/// went out lately and it carries a valid one, `Some` of the connection it
/// rebuilds (`tcp_v4_cookie_check`), or `Some(None)` when a full accept
/// queue drops it, as it drops the final ACK of a request. `None`: no
/// cookie, the listener treats the segment as any other.
pub(crate) fn cookie_ack(net: &Net, o: &Offer<'_>, l: &Listener, pkt: &Packet, now: u64) -> Option<Option<Conn>> {
    use crate::proto::segment::Flags;
    let rn = RtcpNet::of(net);
    let f = pkt.seg.flags;
    if rn.sysctl_u8(SYNCOOKIES) == 0 || f.contains(Flags::SYN) || !f.contains(Flags::ACK) {
        return None;
    }
    if !l.recent_overflow(now) {
        return None;
    }
    let Some(conn) = o.cookies(now).accept(o.cfg, o.local, o.remote, &pkt.seg, now) else {
        Stats::inc(&rn.stats.syncookies_failed);
        return None;
    };
    Stats::inc(&rn.stats.syncookies_recv);
    if l.accept_queue_full() {
        Stats::inc(&rn.stats.listen_overflows);
        Stats::inc(&rn.stats.listen_drops);
        // Dropped: the peer's next segment (or its retransmission) tries
        // the cookie again.
        return Some(None);
    }
    Some(Some(conn))
}

impl RtcpOps {
    /// Starts the active open to `raw` (`tcp_v4_connect`; an IPv6
    /// socket's checks first, `tcp_v6_connect`, which goes on over IPv4
    /// to a v4-mapped address): route, source address, local port, ISN,
    /// SYN. With `fastopen`, the SYN carries the option: true when it
    /// waits for the data it is to carry.
    pub(crate) fn start_connect(
        sock: &Socket<RtcpProto>,
        sk: &Sock<RtcpProto>,
        owned: &mut RtcpOwned,
        raw: &[u8],
        fastopen: bool,
    ) -> Result<bool> {
        let v6 = sk.shared().v6.load(Ordering::Relaxed);
        let mut dst = SockAddr::from_connect(raw, v6)?;
        if v6 {
            crate::rtcp_ipv6::connect_checks(sk, owned, &mut dst)?;
        }
        let net = sk.net();
        let af = crate::rtcp_af::of(dst.addr);
        let route = (af.route)(net, sk.flow_key(), owned.local.endpoint(), dst.endpoint())?;
        let saddr = if owned.local.addr.is_any() { route.saddr } else { owned.local.addr };
        // A port picked here is checked free for the four-tuple and the
        // connection is in the table before another connect picks: as
        // `__inet_hash_connect` checks and hashes under one bucket lock.
        let mut picking = None;
        if owned.port.is_none() {
            // An ephemeral port, shared with connections to other peers,
            // whose four-tuple to `dst` no RTCP connection uses but one in
            // TIME-WAIT (which makes way, `tcp_twsk_unique`; a port goes
            // back at close(), before its connection is over).
            let rtcp = RtcpNet::of(net);
            picking = Some(rtcp.connect_pick.lock());
            let remote = dst.endpoint();
            let free = |port| {
                let local = Endpoint { addr: saddr, port };
                rtcp.lookup(local, remote).is_none_or(|s| s.state() == TCP_TIME_WAIT)
            };
            let port = PortReservation::connect(net, &rtcp.connect_ports, saddr, dst, sk.bind_options(), free)?;
            owned.local = port.addr()?;
            owned.port = Some(port);
        }
        owned.local.addr = saddr;
        let local = Endpoint { addr: saddr, port: owned.local.port };
        let remote = dst.endpoint();
        let path = Path::of(sk, &route);
        sk.shared().gso_segs.store(route.gso_max_segs(), Ordering::Relaxed);
        let syn_retries = match owned.syn_count {
            0 => RtcpNet::of(net).sysctl_u8(SYN_RETRIES),
            n => n,
        };
        // SO_RCVBUF and SO_SNDBUF if the user set them, else the
        // namespace's start (`tcp_connect_init`).
        let (rcvbuf, sndbuf) = sk.user_buf_sizes();
        let tx = RtcpNet::of(net).buf_sizes(WMEM).size(sndbuf, MAX_BUF);
        let clamp = sk.shared().window_clamp.load(Ordering::Relaxed);
        let cfg = our_config(net, &path, syn_retries, rcvbuf, tx, false, clamp);
        let (isn, ts_off) = (af.seq_and_ts_off)(net, local, remote);
        let now = now_ms();
        let (mut conn, syn) = Conn::connect(cfg, local, remote, SeqNum(isn), ts_off, now);
        let syn = match fastopen {
            true => {
                let (fo, room) = crate::rtcp_fastopen::client_plan(net, sk, remote, cfg.mss);
                conn.fastopen_connect(fo, room, now)
            }
            false => Some(syn),
        };
        let deadline = conn.deadline();
        let mut stream = new_stream(conn, RtcpNet::of(net), GFP_KERNEL)?;
        sk.shared().sync_options(sk, &mut stream.conn);
        RtcpNet::of(net).insert(local, remote, sk.into())?;
        drop(picking);
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Conn(stream));
        drop(old);
        sk.set_state(TCP_SYN_SENT);
        sock.set_state(SS_CONNECTING);
        if let Some(d) = deadline {
            sk.reset_timer(d.saturating_sub(now));
        }
        let stats = &RtcpNet::of(net).stats;
        Stats::inc(&stats.active_opens);
        let Some(syn) = syn else {
            // The route is looked up again when the SYN goes.
            return Ok(true);
        };
        stats.sent(&syn, false);
        af.send_on(net, route, sk.flow_key(), local, remote, &syn)?;
        Ok(false)
    }
}
