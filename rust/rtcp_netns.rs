// SPDX-License-Identifier: GPL-2.0

//! RTCP's state in each network namespace, the counterpart of
//! `tcp_sk_init`/`tcp_sk_exit` in `net/ipv4/tcp_ipv4.c`, the connection and
//! listener tables of `net/ipv4/inet_hashtables.c`, and the sysctls of
//! `net/ipv4/sysctl_net_ipv4.c` (under `net.rtcp`).

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::new_mutex;
use crate::new_spinlock_bh;
use crate::net::bh::SpinLockBh;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::sync::aref::ARef;

use crate::net::mem::Pool;
use crate::net::siphash::SipKey;
use crate::net::sysctl::IntDef;
use crate::net::{self, BindOptions, ConnectPorts, HookDef, HookRegistration, Net, Pernet, PernetDef, PernetId, PortReleases, Sock, SockAddr};
use crate::proto::conn::Endpoint;
use crate::proto::{conn, reuseport};

use crate::af_rtcp::RtcpOps;
use crate::rtcp::{MAX_TCP_SYNCNT, RtcpProto, TCP_CLOSE, TCP_TIME_WAIT, Tcb};
use crate::rtcp_af::CookieKeys;
use crate::rtcp_ipv4::RtcpHook;
use crate::rtcp_proc::{ProcRtcp, ProcRtcpSockstat, ProcRtcpStat, Stats};

/// The most an accepted connection's send buffer may have from its
/// listener's `SO_SNDBUF` (its pages are taken in softirq context, so
/// kept to 16 of them).
pub(crate) const CHILD_BUF: usize = 65_536;

/// The bounds of a connection's buffers, from half of `SO_SNDBUF` and
/// `SO_RCVBUF` (the kernel doubles what the user sets, for overhead), and
/// of `net.rtcp.rmem` and `wmem` (the table of a buffer's pages is one
/// kmalloc, at most order 4).
const MIN_BUF: usize = 4_096;
pub(crate) const MAX_BUF: usize = 32 << 20;

/// The per-namespace sysctls under `net.rtcp`, as Linux's TCP has them
/// under `net.ipv4` (same names, less `tcp_`, same bounds).
const SYSCTLS: [IntDef; 10] = [
    IntDef { name: c"syn_retries", default: &[6], min: 1, max: MAX_TCP_SYNCNT as i32 },
    IntDef { name: c"synack_retries", default: &[5], min: 0, max: 255 },
    // 0: never, 1: when the SYN queue is full, 2: always.
    IntDef { name: c"syncookies", default: &[1], min: 0, max: 2 },
    // The receive buffer of a connection whose user left SO_RCVBUF to the
    // protocol, as `tcp_rmem` (and from it: a namespace starts with its
    // `net.ipv4.tcp_rmem`): the least, the start, the most it grows to as
    // the reader keeps up. Half of it is window, as Linux's
    // `tcp_win_from_space` counts it; the most also sets the window scale
    // (`tcp_select_initial_window`). Memory is taken as segments land in
    // it, as Linux charges skbs.
    IntDef { name: c"rmem", default: &[4096, 131_072, 6_291_456], min: 1, max: i32::MAX },
    // The send buffer of a connection whose user left SO_SNDBUF to the
    // protocol: the least, the start (one page), the most it grows to as
    // the congestion window asks (`tcp_sndbuf_expand`; the most is
    // `tcp_wmem`'s). Its pages are taken as the writer first fills them
    // (an idle connection holds none).
    IntDef { name: c"wmem", default: &[4096, 4096, 4 << 20], min: 1, max: i32::MAX },
    // SYN retransmissions that wait 1 s each before the backoff starts,
    // on top of `syn_retries` (Linux 7.3's default: 4).
    IntDef { name: c"syn_linear_timeouts", default: &[4], min: 0, max: MAX_TCP_SYNCNT as i32 },
    // The bounds of a new socket's retransmission timeout (what
    // TCP_RTO_MIN_US and TCP_RTO_MAX_MS then change).
    IntDef { name: c"rto_min_us", default: &[200_000], min: 1, max: i32::MAX },
    IntDef { name: c"rto_max_ms", default: &[conn::RTO_MAX_MS as i32], min: 1000, max: conn::RTO_MAX_MS as i32 },
    // TCP Fast Open, `tcp_fastopen`'s bits: 0x1 the client, 0x2
    // listeners with TCP_FASTOPEN, 0x4 the client without a cookie,
    // 0x200 listeners without one, 0x400 every listener.
    IntDef { name: c"fastopen", default: &[1], min: 0, max: i32::MAX },
    // The namespace's buffer memory in pages, as `tcp_mem`: the least
    // (pressure ends), the pressure mark, the most (net::mem). A
    // namespace starts with Linux's `tcp_mem` (from the machine's memory,
    // `tcp_init_mem`).
    IntDef { name: c"mem", default: &[0, 0, 0], min: 0, max: i32::MAX },
];

pub(crate) const SYN_RETRIES: usize = 0;
pub(crate) const SYNACK_RETRIES: usize = 1;
pub(crate) const SYNCOOKIES: usize = 2;
pub(crate) const RMEM: usize = 3;
pub(crate) const WMEM: usize = 4;
pub(crate) const SYN_LINEAR_TIMEOUTS: usize = 5;
pub(crate) const RTO_MIN_US: usize = 6;
pub(crate) const RTO_MAX_MS: usize = 7;
pub(crate) const FASTOPEN: usize = 8;
pub(crate) const MEM: usize = 9;

/// What RTCP keeps in each network namespace.
#[pin_data]
pub(crate) struct RtcpNet {
    /// `/proc/net/rtcp_stat`.
    pub(crate) stats: Stats,
    /// Socks alive in the namespace.
    pub(crate) socks: AtomicUsize,
    /// Connections by four-tuple.
    pub(crate) conns: crate::demux::ConnTable<ARef<Sock<RtcpProto>>>,
    /// Listeners by local address (`INADDR_ANY` matches every address).
    #[pin]
    pub(crate) listeners: SpinLockBh<crate::demux::ListenTable<ARef<Sock<RtcpProto>>>>,
    /// The ports `connect()` picked, shared among four-tuples.
    pub(crate) connect_ports: Arc<ConnectPorts>,
    /// Held by a connect from picking its port until its connection is
    /// in `conns`.
    #[pin]
    pub(crate) connect_pick: Mutex<()>,
    /// The receive hooks of the namespace, IPv4's and IPv6's.
    hook: HookRegistration<RtcpHook>,
    hook6: HookRegistration<RtcpHook>,
    /// `net.rtcp.*`.
    pub(crate) sysctl: net::sysctl::Sysctls<{ SYSCTLS.len() }>,
    /// The memory of the namespace's buffers, bounded by `net.rtcp.mem`.
    pub(crate) mem: Arc<Pool>,
    /// The secrets of the namespace's SYN cookies.
    pub(crate) cookie_keys: CookieKeys,
    /// The key of the namespace's Fast Open cookies
    /// (`tcp_fastopen_init_key_once`).
    pub(crate) fastopen_key: SipKey,
    /// The Fast Open cookies servers gave, by address (Linux keeps them
    /// in its TCP metrics, `tcp_fastopen_cache_set`).
    #[pin]
    pub(crate) fastopen_cache: SpinLockBh<crate::rtcp_fastopen::Cache>,
    /// `/proc/net/rtcp`, `/proc/net/rtcp6`.
    proc: net::procfs::ProcFile<ProcRtcp<false>>,
    proc6: net::procfs::ProcFile<ProcRtcp<true>>,
    /// `/proc/net/rtcp_stat`.
    proc_stat: net::procfs::ProcFile<ProcRtcpStat>,
    /// `/proc/net/rtcp_sockstat`.
    proc_sockstat: net::procfs::ProcFile<ProcRtcpSockstat>,
}

impl RtcpNet {
    pub(crate) fn of(net: &Net) -> &RtcpNet {
        net::pernet::state::<RtcpPernet>(net)
    }

    /// A sysctl of at most 255 (its bounds say so).
    pub(crate) fn sysctl_u8(&self, i: usize) -> u8 {
        u8::try_from(self.sysctl.get(i)).unwrap_or(u8::MAX)
    }

    /// The buffer sizes of `net.rtcp.rmem` or `wmem` (`which`), in order
    /// and within [`MIN_BUF`]..=[`MAX_BUF`].
    pub(crate) fn buf_sizes(&self, which: usize) -> BufSizes {
        let [min, start, max] = self.sysctl.ints(which).map(|v| usize::try_from(v).unwrap_or(0));
        let min = min.clamp(MIN_BUF, MAX_BUF);
        let max = max.clamp(min, MAX_BUF);
        BufSizes { min, start: start.clamp(min, max), max }
    }

    /// Adds a connection. A connection of the same four-tuple in
    /// TIME-WAIT makes way for it (as `tcp_twsk_unique` lets a new connect
    /// reuse the tuple: the new ISN is past the old one); any other is
    /// `EADDRNOTAVAIL`.
    pub(crate) fn insert(&self, local: Endpoint, remote: Endpoint, sk: ARef<Sock<RtcpProto>>) -> Result {
        let evicted = self.conns.insert(local, remote, sk, |old| old.state() != TCP_TIME_WAIT)?;
        if let Some(tw) = evicted {
            // Dropped with the lock let go: kept skbs are not freed with
            // interrupts off.
            let old = core::mem::replace(&mut *tw.shared().tcb.lock(), Tcb::Idle);
            drop(old);
            tw.stop_timer();
            tw.set_state(TCP_CLOSE);
        }
        Ok(())
    }

    /// Takes `sk`, the connection of `local` and `remote`, out of the
    /// table (if it is still there: a new connection may have taken over
    /// its tuple from TIME-WAIT).
    pub(crate) fn remove(&self, sk: &Sock<RtcpProto>, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        self.conns.remove(local, remote, |s| core::ptr::eq(&**s, sk))
    }

    pub(crate) fn lookup(&self, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        self.conns.get(local, remote)
    }

    /// The listener for a segment from `remote` to `local`: those bound
    /// to that address before those bound to a wildcard that takes it
    /// (`INADDR_ANY` an IPv4 segment, `::` an IPv6 one and, unless
    /// `IPV6_V6ONLY`, an IPv4 one, as `inet_lookup_listener` finds a
    /// dual-stack listener for both); of several (an `SO_REUSEPORT`
    /// group), the one the flow's hash picks (`reuseport_select_sock`).
    pub(crate) fn listener(&self, local: Endpoint, remote: Endpoint) -> Option<ARef<Sock<RtcpProto>>> {
        let ls = self.listeners.lock();
        let on = |takes: &dyn Fn(&SockAddr, &Sock<RtcpProto>) -> bool| {
            let group = || ls.on_port(local.port).filter(|(a, sk)| takes(a, sk));
            let i = reuseport::select(local, remote, group().count());
            group().nth(i).map(|(_, sk)| sk.clone())
        };
        on(&|a, _| a.addr == local.addr)
            .or_else(|| on(&|a, sk| a.addr.is_any() && a.addr.takes(sk.bind_options().v6only, local.addr)))
    }

    /// May `sk` listen on `local`? `EADDRINUSE` if another listener holds
    /// the port on an address that overlaps (the same, or either
    /// `INADDR_ANY`) and a device that overlaps, unless both have
    /// `SO_REUSEPORT` and the same owner (`inet_bind_conflict` for a
    /// listening socket).
    pub(crate) fn listen_conflict(&self, sk: &Sock<RtcpProto>, local: SockAddr) -> Result {
        let BindOptions { reuseport, dev, v6only, .. } = sk.bind_options();
        let uid = sk.uid();
        let ls = self.listeners.lock();
        for (a, other) in ls.on_port(local.port) {
            let BindOptions { reuseport: other_reuseport, dev: other_dev, v6only: other_v6only, .. } = other.bind_options();
            if !a.addr.overlaps(other_v6only, local.addr, v6only) {
                continue;
            }
            if dev != 0 && other_dev != 0 && dev != other_dev {
                continue;
            }
            if reuseport == 0 || other_reuseport == 0 || uid != other.uid() {
                return Err(EADDRINUSE);
            }
        }
        Ok(())
    }

    /// Takes `sk`, listening on `port`, out of the table.
    pub(crate) fn remove_listener(&self, sk: &Sock<RtcpProto>, port: u16) -> Option<ARef<Sock<RtcpProto>>> {
        self.listeners.lock().remove(port, |l| core::ptr::eq(&**l, sk))
    }
}

/// One direction's buffer sizes: the least `SO_RCVBUF`/`SO_SNDBUF` give,
/// the size a buffer left to the protocol starts with, and the most it
/// grows to.
pub(crate) struct BufSizes {
    pub(crate) min: usize,
    pub(crate) start: usize,
    pub(crate) max: usize,
}

impl BufSizes {
    /// The size of a buffer: what the user set (`user`), within bounds, or
    /// the start; neither above `most`.
    pub(crate) fn size(&self, user: Option<u32>, most: usize) -> usize {
        user.map_or(self.start, |b| (b as usize).max(self.min)).min(most)
    }
}

struct RtcpPernet;

static NET_ID: PernetId = PernetId::new();

pub(crate) static PERNET: PernetDef = PernetDef::new::<RtcpPernet>();

static HOOK: HookDef<RtcpHook> = HookDef::new(false);
static HOOK6: HookDef<RtcpHook> = HookDef::new(true);

impl Pernet for RtcpPernet {
    type State = RtcpNet;
    const ID: &'static PernetId = &NET_ID;

    fn init(net: &Net) -> impl PinInit<RtcpNet, Error> + '_ {
        // `net.rtcp.mem`'s integers, which the namespace's buffers read.
        let mem_limits = net::sysctl::Ints::new(&net::mem::tcp_mem());
        try_pin_init!(RtcpNet {
            stats: Stats::default(),
            socks: AtomicUsize::new(0),
            conns: crate::demux::ConnTable::new()?,
            listeners <- new_spinlock_bh!(crate::demux::ListenTable::new()?, "rtcp_listeners"),
            connect_ports: ConnectPorts::new()?,
            connect_pick <- new_mutex!((), "rtcp_connect_pick"),
            hook: HookRegistration::new(net, &HOOK)?,
            hook6: HookRegistration::new(net, &HOOK6)?,
            sysctl: {
                let s = net::sysctl::Sysctls::new(net, c"net/rtcp", &SYSCTLS, &[(MEM, mem_limits.as_ref().map_err(|e| *e)?)])?;
                s.set(RMEM, &net.tcp_rmem());
                s.set(MEM, &net::mem::tcp_mem());
                s
            },
            mem: Pool::new(mem_limits.clone()?)?,
            cookie_keys: CookieKeys([SipKey::random(), SipKey::random()]),
            fastopen_key: SipKey::random(),
            fastopen_cache <- new_spinlock_bh!(crate::rtcp_fastopen::Cache::new(), "rtcp_fastopen_cache"),
            proc: net::procfs::ProcFile::new(net)?,
            proc6: net::procfs::ProcFile::new(net)?,
            proc_stat: net::procfs::ProcFile::new(net)?,
            proc_sockstat: net::procfs::ProcFile::new(net)?,
        })
    }

    fn exit(_net: &Net, state: &RtcpNet) {
        // A user sock holds a reference on its namespace until it is an
        // orphan in TIME-WAIT or FIN-WAIT-2 (`let_namespace_go`): those are
        // what is left in the table, and they end now, as Linux's TCP
        // purges its TIME-WAIT socks (`tcp_twsk_purge`).
        loop {
            let Some(e) = state.conns.take_any() else { break };
            RtcpOps::purge(&e.val);
        }
        // Their destructors, and a timer's run that ended one just before,
        // still use this state: it goes after the last sock. A sock still
        // alive now is a kernel socket its owner did not release, which
        // the owner must do before its namespace goes.
        let mut waited = 0u32;
        while state.socks.load(Ordering::Acquire) != 0 {
            if waited % 10_000 == 9_999 {
                pr_warn!("rtcp: {} socks still alive in an exiting namespace\n", state.socks.load(Ordering::Relaxed));
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited = waited.wrapping_add(1);
        }
        // The last socks may have left their ports to the workqueue: the
        // kernel sockets holding them go before the namespace does.
        PortReleases::flush();
    }
}
