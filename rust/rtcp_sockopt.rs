// SPDX-License-Identifier: GPL-2.0

//! RTCP's socket options, the counterpart of `do_tcp_setsockopt`,
//! `do_tcp_getsockopt` and `tcp_get_info` in `net/ipv4/tcp.c`: the
//! `SOL_TCP` options, the `SOL_SOCKET` ones the core refuses to a family
//! that is not inet, and `SOL_IP` through [`crate::rtcp_ip_sockglue`].

use core::sync::atomic::Ordering;
use kernel::prelude::*;

use crate::net::clock::{msecs_to_ticks, now_ms, ticks_to_msecs, ticks_to_usecs, tcp_rto_min_ticks, usecs_to_ticks};
use crate::net::{inet, OptIn, OptVal, Sock, Socket};
use crate::proto::cc::Algorithm;
use crate::proto::conn::{Outcome, RTO_MAX_MS};
use crate::proto::state::State;
use crate::sys;

use crate::af_rtcp::RtcpOps;
use crate::rtcp::{RtcpProto, MAX_TCP_SYNCNT, TCP_CLOSE, TCP_LISTEN};
use crate::rtcp_input::drive;
use crate::rtcp_netns::{RtcpNet, SYN_RETRIES};

/// `tcpi_snd_ssthresh` before the first loss (`include/net/tcp.h`).
const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// The bounds of `TCP_MAXSEG` (`TCP_MIN_MSS`, `MAX_TCP_WINDOW`) and what
/// it reads before a connection has a segment size (`TCP_MSS_DEFAULT`).
const TCP_MIN_MSS: u32 = 88;
const MAX_TCP_WINDOW: u32 = 32767;
const TCP_MSS_DEFAULT: i32 = 536;

/// The bounds of `TCP_RTO_MIN_US` (the least, `TCP_TIMEOUT_MIN`, in ticks;
/// the most is `TCP_RTO_MIN`) and of `TCP_RTO_MAX_MS` (`TCP_RTO_MAX_SEC`).
const TCP_TIMEOUT_MIN_TICKS: usize = 2;
const TCP_RTO_MAX_MS_MAX: u32 = RTO_MAX_MS;

/// The bounds of `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (s) and `TCP_KEEPCNT`
/// (`include/net/tcp.h`).
const MAX_TCP_KEEPIDLE: u32 = 32767;
const MAX_TCP_KEEPINTVL: u32 = 32767;
const MAX_TCP_KEEPCNT: u32 = 127;

/// The most `TCP_LINGER2` keeps (`TCP_FIN_TIMEOUT_MAX`), in s.
const TCP_FIN_TIMEOUT_MAX_S: i32 = 120;

/// `TCP_DEFER_ACCEPT`'s count of SYN-ACK retransmissions from seconds:
/// the first after `TCP_TIMEOUT_INIT`, each later twice the last up to
/// `TCP_RTO_MAX` (`secs_to_retrans`).
const TCP_TIMEOUT_INIT_S: i32 = 1;
const TCP_RTO_MAX_S: i32 = (RTO_MAX_MS / 1000) as i32;

/// `secs_to_retrans`: the retransmissions whose timeouts add up to
/// `seconds` or more (0 for none, at most 255).
fn secs_to_retrans(seconds: i32, mut timeout: i32, rto_max: i32) -> u8 {
    if seconds <= 0 {
        return 0;
    }
    let mut period = timeout;
    let mut res = 1u8;
    while seconds > period && res < u8::MAX {
        res = res.saturating_add(1);
        timeout = timeout.saturating_mul(2).min(rto_max);
        period = period.saturating_add(timeout);
    }
    res
}

/// `retrans_to_secs`: the seconds `retrans` timeouts take.
fn retrans_to_secs(retrans: u8, mut timeout: i32, rto_max: i32) -> i32 {
    if retrans == 0 {
        return 0;
    }
    let mut period = timeout;
    for _ in 1..retrans {
        timeout = timeout.saturating_mul(2).min(rto_max);
        period = period.saturating_add(timeout);
    }
    period
}

/// `TCP_INFO` (`tcp_get_info`): the state, and for a connection its
/// timers, round-trip estimate, congestion state and options.
fn tcp_info(sk: &Sock<RtcpProto>) -> sys::tcp_info {
    let mut i: sys::tcp_info = pin_init::zeroed();
    i.tcpi_state = sk.state();
    let mut tcb = sk.shared().tcb.lock();
    let Some(st) = tcb.stream() else { return i };
    let c = &st.conn;
    let mss = u32::from(c.neg.mss).max(1);
    i.tcpi_retransmits = c.retransmits;
    i.tcpi_probes = c.data.keep_probes;
    i.tcpi_backoff = c.rtt.backoffs();
    let mut opts = 0;
    if c.neg.timestamps {
        opts |= sys::TCPI_OPT_TIMESTAMPS;
    }
    if c.neg.sack {
        opts |= sys::TCPI_OPT_SACK;
    }
    if c.cfg.wscale.is_some() && (c.neg.snd_wscale | c.neg.rcv_wscale) != 0 {
        opts |= sys::TCPI_OPT_WSCALE;
        i.set_tcpi_snd_wscale(c.neg.snd_wscale);
        i.set_tcpi_rcv_wscale(c.neg.rcv_wscale);
    }
    if c.data.syn_data_acked {
        opts |= sys::TCPI_OPT_SYN_DATA;
    }
    i.tcpi_options = opts as u8;
    i.tcpi_rto = c.rtt.rto_us();
    i.tcpi_ato = (crate::proto::conn::DELACK_MS * 1000) as u32;
    i.tcpi_snd_mss = mss;
    i.tcpi_rcv_mss = mss;
    i.tcpi_advmss = u32::from(c.cfg.advertised_mss());
    i.tcpi_unacked = c.data.snd_max.diff(c.snd_una).max(0) as u32 / mss;
    i.tcpi_rtt = c.rtt.srtt_us().unwrap_or(0);
    i.tcpi_rttvar = c.rtt.rttvar_us();
    i.tcpi_snd_cwnd = c.data.cc.cwnd / mss;
    i.tcpi_snd_ssthresh = match c.data.cc.ssthresh {
        u32::MAX => TCP_INFINITE_SSTHRESH,
        t => t / mss,
    };
    i.tcpi_rcv_space = c.data.rwin.space;
    i.tcpi_rcv_ssthresh = c.data.rwin.ssthresh;
    i.tcpi_pmtu = u32::from(c.cfg.mss).saturating_add(crate::rtcp_af::of(c.remote.addr).headers());
    i.tcpi_total_retrans = c.data.total_retrans;
    i.tcpi_snd_wnd = c.snd_wnd;
    i.tcpi_rcv_wnd = c.rcv_wnd;
    i
}

/// The `SOL_SOCKET` options RTCP answers itself: the core's
/// `sk_setsockopt` refuses `SO_ZEROCOPY` to every family but inet's and
/// RDS, and `SO_REUSEPORT` (on) to every family but inet's since 6.13.
pub(crate) fn custom_sol_socket(name: i32) -> bool {
    name == sys::RTCP_SO_ZEROCOPY || name == sys::RTCP_SO_REUSEPORT
}

/// What `sk_setsockopt` refuses a TCP socket, which RTCP's are not to
/// the core (`sk_is_tcp` tests the family): a classic BPF filter
/// without CAP_NET_ADMIN in the socket's namespace, once the value has
/// been read as an `int` (`EINVAL` if shorter, as before any option).
pub(crate) fn sol_socket_check(sock: &Socket<RtcpProto>, name: i32, opt: &OptIn) -> Result {
    if name != sys::RTCP_SO_ATTACH_FILTER {
        return Ok(());
    }
    opt.int()?;
    let sk = sock.sk().ok_or(EINVAL)?;
    if !inet::net_capable(sk.net(), sys::RTCP_CAP_NET_ADMIN) {
        return Err(EPERM);
    }
    Ok(())
}

/// `setsockopt(SOL_SOCKET)` for [`custom_sol_socket`]'s options, as
/// `sk_setsockopt`: an `int` (`EINVAL` if shorter), then the option's
/// checks.
fn sol_socket(sk: &Sock<RtcpProto>, name: i32, opt: &OptIn) -> Result {
    let val = opt.int()?;
    match name {
        sys::RTCP_SO_ZEROCOPY => {
            if !(0..=1).contains(&val) {
                return Err(EINVAL);
            }
            let owned = sk.lock();
            sk.set_zerocopy(&owned, val != 0);
            Ok(())
        }
        sys::RTCP_SO_REUSEPORT => {
            // As sk_setsockopt: any non-zero value is on.
            let owned = sk.lock();
            sk.set_reuseport(&owned, val != 0);
            Ok(())
        }
        _ => Err(ENOPROTOOPT),
    }
}

/// `SOL_TCP` options, as `do_tcp_setsockopt`; `ENOPROTOOPT` for the
/// ones RTCP does not have (yet) and for other levels; `SOL_SOCKET` for
/// the options RTCP answers itself ([`custom_sol_socket`]).
pub(crate) fn setsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32, opt: &OptIn) -> Result {
    let sk = sock.sk().ok_or(EINVAL)?;
    if level == sys::RTCP_SOL_SOCKET {
        return sol_socket(sk, name, opt);
    }
    if level == sys::RTCP_SOL_IP {
        return crate::rtcp_ip_sockglue::setsockopt(sk, name, opt);
    }
    if level == sys::SOL_IPV6 as i32 && sk.shared().v6.load(Ordering::Relaxed) {
        return crate::rtcp_ipv6::setsockopt(sk, name, opt);
    }
    if level != sys::SOL_TCP as i32 {
        return Err(ENOPROTOOPT);
    }
    if name as u32 == sys::TCP_CONGESTION {
        // As tcp_set_congestion_control: ENOENT for a name no module
        // gives.
        let algorithm = Algorithm::by_name(opt.name()?.as_bytes()).ok_or(ENOENT)?;
        let sh = sk.shared();
        sh.reno.store(algorithm == Algorithm::Reno, Ordering::Relaxed);
        drive(sk, now_ms(), |st| {
            sh.sync_options(sk, &mut st.conn);
            Some((Outcome::default(), false))
        });
        return Ok(());
    }
    if let Some(res) = crate::rtcp_fastopen::setsockopt(sk, name as u32, opt) {
        return res;
    }
    let val = opt.int()?;
    match name as u32 {
        sys::TCP_MAXSEG => {
            // As do_tcp_setsockopt: 0 or TCP_MIN_MSS to MAX_TCP_WINDOW, in
            // any state; a connection takes it when it starts.
            let v = u32::try_from(val).ok().filter(|&v| v == 0 || (TCP_MIN_MSS..=MAX_TCP_WINDOW).contains(&v));
            sk.shared().user_mss.store(v.ok_or(EINVAL)?, Ordering::Relaxed);
            Ok(())
        }
        sys::TCP_SYNCNT => {
            let n = u8::try_from(val).ok().filter(|n| (1..=MAX_TCP_SYNCNT).contains(n)).ok_or(EINVAL)?;
            sk.lock().syn_count = n;
            Ok(())
        }
        sys::TCP_RTO_MIN_US | sys::TCP_RTO_MAX_MS => {
            let sh = sk.shared();
            if name as u32 == sys::TCP_RTO_MIN_US {
                // As do_tcp_setsockopt: in whole ticks, from TCP_TIMEOUT_MIN
                // to TCP_RTO_MIN (a negative value is a huge one).
                let ticks = usecs_to_ticks(val as u32);
                if !(TCP_TIMEOUT_MIN_TICKS..=tcp_rto_min_ticks()).contains(&ticks) {
                    return Err(EINVAL);
                }
                sh.rto_min_us.store(ticks_to_usecs(ticks), Ordering::Relaxed);
            } else {
                let ms = u32::try_from(val).ok().filter(|v| (1000..=TCP_RTO_MAX_MS_MAX).contains(v)).ok_or(EINVAL)?;
                sh.rto_max_ms.store(ticks_to_msecs(msecs_to_ticks(ms)), Ordering::Relaxed);
            }
            drive(sk, now_ms(), |st| {
                sh.sync_options(sk, &mut st.conn);
                Some((Outcome::default(), false))
            });
            Ok(())
        }
        sys::TCP_KEEPIDLE | sys::TCP_KEEPINTVL | sys::TCP_KEEPCNT | sys::TCP_USER_TIMEOUT => {
            let sh = sk.shared();
            let (slot, max) = match name as u32 {
                sys::TCP_KEEPIDLE => (&sh.keep_idle, MAX_TCP_KEEPIDLE),
                sys::TCP_KEEPINTVL => (&sh.keep_intvl, MAX_TCP_KEEPINTVL),
                sys::TCP_KEEPCNT => (&sh.keep_cnt, MAX_TCP_KEEPCNT),
                _ => (&sh.user_timeout, i32::MAX as u32),
            };
            let min = if name as u32 == sys::TCP_USER_TIMEOUT { 0 } else { 1 };
            let v = u32::try_from(val).ok().filter(|v| (min..=max).contains(v)).ok_or(EINVAL)?;
            slot.store(v, Ordering::Relaxed);
            drive(sk, now_ms(), |st| {
                sh.sync_options(sk, &mut st.conn);
                Some((Outcome::default(), false))
            });
            Ok(())
        }
        sys::TCP_QUICKACK => {
            // __tcp_sock_set_quickack: in any state; on a connection with
            // an ACK scheduled, that ACK now.
            let sh = sk.shared();
            let pingpong = match sh.tcb.lock().conn() {
                Some(c) => {
                    c.set_quickack(val);
                    c.data.pingpong
                }
                None => val == 0,
            };
            sh.pingpong.store(pingpong, Ordering::Relaxed);
            RtcpOps::push(sk);
            Ok(())
        }
        sys::TCP_NOTSENT_LOWAT => {
            // Any value (a negative one is a huge one), then the writers
            // look again (`sk_write_space`).
            let sh = sk.shared();
            sh.notsent_lowat.store(val as u32, Ordering::Relaxed);
            drive(sk, now_ms(), |st| {
                sh.sync_options(sk, &mut st.conn);
                Some((Outcome::default(), false))
            });
            sk.write_space();
            Ok(())
        }
        sys::TCP_WINDOW_CLAMP => {
            // tcp_set_window_clamp: 0 only on a closed socket, else at
            // least SOCK_MIN_RCVBUF / 2.
            let sh = sk.shared();
            if val == 0 {
                if sk.state() != TCP_CLOSE {
                    return Err(EINVAL);
                }
                sh.window_clamp.store(0, Ordering::Relaxed);
                return Ok(());
            }
            let clamp = val.max(sys::RTCP_SOCK_MIN_RCVBUF / 2) as u32;
            sh.window_clamp.store(clamp, Ordering::Relaxed);
            // A connection offers no more from its next segment on (the
            // edge offered stays).
            drive(sk, now_ms(), |st| {
                st.conn.set_window_clamp(clamp);
                Some((Outcome::default(), false))
            });
            Ok(())
        }
        sys::TCP_LINGER2 => {
            // Negative: none; at most TCP_FIN_TIMEOUT_MAX; 0: the default.
            let ms = if val < 0 { -1 } else { val.min(TCP_FIN_TIMEOUT_MAX_S).saturating_mul(1000) };
            let sh = sk.shared();
            sh.linger2_ms.store(ms, Ordering::Relaxed);
            drive(sk, now_ms(), |st| {
                sh.sync_options(sk, &mut st.conn);
                Some((Outcome::default(), false))
            });
            Ok(())
        }
        sys::TCP_DEFER_ACCEPT => {
            let n = secs_to_retrans(val, TCP_TIMEOUT_INIT_S, TCP_RTO_MAX_S);
            sk.shared().defer_accept.store(u32::from(n), Ordering::Relaxed);
            Ok(())
        }
        sys::TCP_NODELAY | sys::TCP_CORK => {
            let on = val != 0;
            let owned = sk.lock();
            let sh = sk.shared();
            let flag = if name as u32 == sys::TCP_NODELAY { &sh.nodelay } else { &sh.cork };
            flag.store(on, Ordering::Relaxed);
            if let Some(c) = sh.tcb.lock().conn() {
                sh.sync_options(sk, c);
            }
            drop(owned);
            // Setting TCP_NODELAY or clearing TCP_CORK pushes what waits.
            RtcpOps::push(sk);
            Ok(())
        }
        // RTCP has no repair mode. Who may enter one is Linux's answer
        // (`tcp_can_repair_sock`: EPERM without CAP_NET_ADMIN or on a
        // listener), and a caller it lets in finds the option missing;
        // the options that need a socket in repair mode refuse as
        // do_tcp_setsockopt refuses one that is not.
        sys::TCP_REPAIR | sys::TCP_AO_REPAIR if !can_repair(sk) => Err(EPERM),
        // TCP_REPAIR_ON, TCP_REPAIR_OFF, TCP_REPAIR_OFF_NO_WP; else EINVAL.
        sys::TCP_REPAIR if !(-1..=1).contains(&val) => Err(EINVAL),
        sys::TCP_REPAIR | sys::TCP_AO_REPAIR => Err(ENOPROTOOPT),
        sys::TCP_REPAIR_QUEUE | sys::TCP_REPAIR_WINDOW | sys::TCP_TIMESTAMP => Err(EPERM),
        sys::TCP_REPAIR_OPTIONS => Err(EINVAL),
        // No queue chosen (`TCP_NO_QUEUE`): EINVAL, on a closed socket.
        sys::TCP_QUEUE_SEQ if sk.state() == TCP_CLOSE => Err(EINVAL),
        sys::TCP_QUEUE_SEQ => Err(EPERM),
        _ => Err(ENOPROTOOPT),
    }
}

/// `tcp_can_repair_sock`: CAP_NET_ADMIN in the socket's namespace, and
/// not a listener.
fn can_repair(sk: &Sock<RtcpProto>) -> bool {
    inet::net_capable(sk.net(), sys::RTCP_CAP_NET_ADMIN) && sk.state() != TCP_LISTEN
}

pub(crate) fn getsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32) -> Result<OptVal> {
    let sk = sock.sk().ok_or(EINVAL)?;
    if level == sys::RTCP_SOL_IP {
        return crate::rtcp_ip_sockglue::getsockopt(sk, name).map(OptVal::Int);
    }
    if level == sys::SOL_IPV6 as i32 && sk.shared().v6.load(Ordering::Relaxed) {
        return crate::rtcp_ipv6::getsockopt(sk, name).map(OptVal::Int);
    }
    if level != sys::SOL_TCP as i32 {
        return Err(ENOPROTOOPT);
    }
    if let Some(v) = crate::rtcp_fastopen::getsockopt(sk, name as u32) {
        return Ok(v);
    }
    let sh = sk.shared();
    let secs = |ms: u64| i32::try_from(ms / 1000).unwrap_or(i32::MAX);
    let int = match name as u32 {
        // As do_tcp_getsockopt: the segment size a connection sends
        // (`mss_cache`); before one and on a listener, what the user set,
        // else the default.
        sys::TCP_MAXSEG => {
            let user = sh.user_mss.load(Ordering::Relaxed);
            match sh.tcb.lock().conn().filter(|c| c.state != State::Closed) {
                Some(c) => i32::try_from(c.send_mss()).unwrap_or(i32::MAX),
                None if user != 0 => i32::try_from(user).unwrap_or(i32::MAX),
                None => TCP_MSS_DEFAULT,
            }
        }
        sys::TCP_SYNCNT => match sk.lock().syn_count {
            0 => RtcpNet::of(sk.net()).sysctl.get(SYN_RETRIES),
            n => i32::from(n),
        },
        sys::TCP_NODELAY => i32::from(sh.nodelay.load(Ordering::Relaxed)),
        sys::TCP_CORK => i32::from(sh.cork.load(Ordering::Relaxed)),
        sys::TCP_KEEPIDLE => secs(sh.keep_params().idle_ms),
        sys::TCP_KEEPINTVL => secs(sh.keep_params().intvl_ms),
        sys::TCP_KEEPCNT => i32::from(sh.keep_params().cnt),
        sys::TCP_USER_TIMEOUT => i32::try_from(sh.user_timeout.load(Ordering::Relaxed)).unwrap_or(i32::MAX),
        sys::TCP_RTO_MIN_US => i32::try_from(sh.rto_bounds(sk).0).unwrap_or(i32::MAX),
        sys::TCP_RTO_MAX_MS => i32::try_from(sh.rto_bounds(sk).1).unwrap_or(i32::MAX),
        sys::TCP_QUICKACK => i32::from(!sh.pingpong.load(Ordering::Relaxed)),
        sys::TCP_NOTSENT_LOWAT => sh.notsent_lowat.load(Ordering::Relaxed) as i32,
        // A connection's clamp (`window_clamp`: TCP_WINDOW_CLAMP's, or the
        // window of the whole buffer less a segment, and what the buffer's
        // growth and the peer's ratio make it); before one, what the user
        // set.
        sys::TCP_WINDOW_CLAMP => {
            let clamp = match sh.tcb.lock().conn().filter(|c| c.state != State::Closed) {
                Some(c) => c.window_clamp(),
                None => sh.window_clamp.load(Ordering::Relaxed),
            };
            i32::try_from(clamp).unwrap_or(i32::MAX)
        }
        sys::TCP_LINGER2 => match sh.linger2_ms.load(Ordering::Relaxed) {
            ms if ms < 0 => -1,
            0 => i32::try_from(crate::proto::conn::FIN_TIMEOUT_MS / 1000).unwrap_or(i32::MAX),
            ms => ms / 1000,
        },
        sys::TCP_DEFER_ACCEPT => {
            let n = u8::try_from(sh.defer_accept.load(Ordering::Relaxed)).unwrap_or(u8::MAX);
            retrans_to_secs(n, TCP_TIMEOUT_INIT_S, TCP_RTO_MAX_S)
        }
        // Neither CUBIC nor Reno has any (`get_info`): nothing.
        sys::TCP_CC_INFO => return Ok(OptVal::Empty),
        sys::TCP_INFO => return Ok(OptVal::TcpInfo(tcp_info(sk))),
        sys::TCP_CONGESTION => return Ok(OptVal::name(sh.congestion().name())),
        // Never in repair mode (do_tcp_getsockopt): off, and no queue
        // chosen.
        sys::TCP_REPAIR => 0,
        sys::TCP_REPAIR_QUEUE | sys::TCP_QUEUE_SEQ => return Err(EINVAL),
        _ => return Err(ENOPROTOOPT),
    };
    Ok(OptVal::Int(int))
}
