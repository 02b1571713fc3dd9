// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/rtcp` and `/proc/net/rtcp_stat`, the counterparts of
//! `/proc/net/tcp` (`tcp4_seq_show` in `net/ipv4/tcp_ipv4.c`) and of the
//! `Tcp:`/`TcpExt:` counters of `net/ipv4/proc.c`.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;

use crate::net::{self, Net};
use crate::proto::conn::Endpoint;
use crate::proto::mib::Mib;
use crate::proto::segment::Segment;
use crate::proto::state::State;

use crate::rtcp::{TCP_LISTEN, TCP_TIME_WAIT, Tcb};
use crate::rtcp_af::AfOps;
use crate::rtcp_netns::RtcpNet;

/// Counters of `/proc/net/rtcp_stat`, named as their `Tcp:` and
/// `TcpExt:` counterparts in `/proc/net/snmp` and `/proc/net/netstat`.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) active_opens: AtomicUsize,
    pub(crate) passive_opens: AtomicUsize,
    pub(crate) attempt_fails: AtomicUsize,
    pub(crate) in_segs: AtomicUsize,
    out_segs: AtomicUsize,
    retrans_segs: AtomicUsize,
    out_rsts: AtomicUsize,
    pub(crate) listen_drops: AtomicUsize,
    pub(crate) listen_overflows: AtomicUsize,
    pub(crate) req_q_full_do_cookies: AtomicUsize,
    pub(crate) req_q_full_drop: AtomicUsize,
    pub(crate) syncookies_sent: AtomicUsize,
    pub(crate) syncookies_recv: AtomicUsize,
    pub(crate) syncookies_failed: AtomicUsize,
    pub(crate) out_of_window_icmps: AtomicUsize,
    pub(crate) fastopen_active: AtomicUsize,
    pub(crate) fastopen_active_fail: AtomicUsize,
    pub(crate) fastopen_passive: AtomicUsize,
    pub(crate) fastopen_passive_fail: AtomicUsize,
    pub(crate) fastopen_listen_overflow: AtomicUsize,
    pub(crate) fastopen_cookie_reqd: AtomicUsize,
    /// The counters the core names ([`Mib::NAMES`]), in its order.
    mib: [AtomicUsize; Mib::NAMES.len()],
}

impl Stats {
    pub(crate) fn inc(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one to each counter of `m`.
    pub(crate) fn count(&self, m: Mib) {
        for i in m.indices() {
            if let Some(c) = self.mib.get(i) {
                Self::inc(c);
            }
        }
    }

    /// Counts a segment going out.
    pub(crate) fn sent(&self, seg: &Segment, retransmission: bool) {
        let mut sent = Sent::default();
        sent.add(seg, retransmission, 1);
        sent.count(self);
    }
}

/// Segments going out, gathered to be counted at once (one atomic add a
/// counter, not one a segment).
#[derive(Default)]
pub(crate) struct Sent {
    out: usize,
    retrans: usize,
    rsts: usize,
}

impl Sent {
    /// `n` segments with the header `seg` (only the last of a run may
    /// differ, and never by RST).
    pub(crate) fn add(&mut self, seg: &Segment, retransmission: bool, n: u32) {
        let n = (n as usize).max(1);
        self.out = self.out.saturating_add(n);
        if retransmission {
            self.retrans = self.retrans.saturating_add(n);
        }
        if seg.flags.contains(crate::proto::segment::Flags::RST) {
            self.rsts = self.rsts.saturating_add(1);
        }
    }

    /// Adds them to `stats`.
    pub(crate) fn count(&self, stats: &Stats) {
        for (c, n) in [(&stats.out_segs, self.out), (&stats.retrans_segs, self.retrans), (&stats.out_rsts, self.rsts)] {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}

/// `/proc/net/rtcp`: RTCP's IPv4 sockets of the namespace in the format
/// of `/proc/net/tcp` (listeners, their handshakes in progress,
/// connections), so the same tools read both; with `V6`,
/// `/proc/net/rtcp6`: its IPv6 sockets (their IPv4 peers v4-mapped) in
/// the format of `/proc/net/tcp6`.
pub(crate) struct ProcRtcp<const V6: bool>;

impl<const V6: bool> ProcRtcp<V6> {
    /// Every line is padded with spaces to this width, as `/proc/net/tcp`
    /// pads its lines (`seq_setwidth(seq, TMPSZ - 1)`).
    const WIDTH: usize = 149;

    /// Prints `args` padded to [`ProcRtcp::WIDTH`], then a newline.
    fn padded(m: &kernel::seq_file::SeqFile, args: core::fmt::Arguments<'_>) {
        struct Count(usize);
        impl core::fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.0 = self.0.saturating_add(s.len());
                Ok(())
            }
        }
        let mut c = Count(0);
        let _ = core::fmt::write(&mut c, args);
        // `/proc/net/tcp6` pads nothing.
        let pad = if V6 { 0 } else { Self::WIDTH.saturating_sub(c.0) };
        kernel::seq_print!(m, "{}{:pad$}\n", args, "");
    }

    fn line(m: &kernel::seq_file::SeqFile, n: usize, af: &AfOps, local: Endpoint, remote: Endpoint, row: Row) {
        Self::padded(
            m,
            format_args!(
                "{:4}: {}:{:04X} {}:{:04X} {:02X} {:08X}:{:08X} 00:00000000 {:08X} {:5} {:8} {}",
                n,
                af.proc(local),
                local.port,
                af.proc(remote),
                remote.port,
                row.state,
                row.tx_queue,
                row.rx_queue,
                row.retransmits,
                row.uid,
                0,
                row.inode
            ),
        );
    }
}

/// The columns of one `/proc/net/rtcp` line besides the addresses.
struct Row {
    state: u8,
    tx_queue: u32,
    rx_queue: u32,
    retransmits: u8,
    uid: u32,
    inode: u64,
}

impl<const V6: bool> net::procfs::ProcShow for ProcRtcp<V6> {
    const NAME: &'static CStr = if V6 { c"rtcp6" } else { c"rtcp" };

    fn show(net: &Net, m: &kernel::seq_file::SeqFile) {
        let af: &AfOps = if V6 { &crate::rtcp_ipv6::IPV6 } else { &crate::rtcp_ipv4::IPV4 };
        if V6 {
            Self::padded(
                m,
                format_args!(
                    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
                ),
            );
        } else {
            Self::padded(
                m,
                format_args!("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"),
            );
        }
        let rn = RtcpNet::of(net);
        let mut n = 0;
        // Copies of the references, so that no lock is held while printing.
        let mut socks = KVec::new();
        for (addr, sk) in rn.listeners.lock().iter() {
            let _ = socks.push((Some(*addr), sk.clone()), GFP_ATOMIC);
        }
        rn.conns.for_each(|e| {
            let _ = socks.push((None, e.val.clone()), GFP_ATOMIC);
        });
        for (listen_addr, sk) in socks.iter().filter(|(_, sk)| sk.shared().v6.load(Ordering::Relaxed) == V6) {
            let (uid, inode) = (sk.uid(), sk.inode());
            let tcb = sk.shared().tcb.lock();
            match (&*tcb, listen_addr) {
                (Tcb::Listen(l), Some(addr)) => {
                    let local = addr.endpoint();
                    let row = Row {
                        state: TCP_LISTEN,
                        tx_queue: l.backlog as u32,
                        rx_queue: l.queue.len() as u32,
                        retransmits: 0,
                        uid,
                        inode,
                    };
                    Self::line(m, n, af, local, Endpoint::default(), row);
                    n += 1;
                    for r in l.requests.iter() {
                        let row = Row {
                            state: State::SynReceived.linux(),
                            tx_queue: 0,
                            rx_queue: 0,
                            retransmits: r.retransmits,
                            uid,
                            inode: 0,
                        };
                        Self::line(m, n, af, r.local, r.remote, row);
                        n += 1;
                    }
                }
                (Tcb::Conn(st), None) => {
                    let c = &st.conn;
                    let row = Row {
                        state: sk.state(),
                        tx_queue: c.send_queued(),
                        rx_queue: c.data.rx_unread,
                        retransmits: c.retransmits,
                        uid,
                        inode,
                    };
                    Self::line(m, n, af, c.local, c.remote, row);
                    n += 1;
                }
                _ => {}
            }
        }
    }
}

/// `/proc/net/rtcp_stat`: the namespace's counters, one per line.
pub(crate) struct ProcRtcpStat;

impl net::procfs::ProcShow for ProcRtcpStat {
    const NAME: &'static CStr = c"rtcp_stat";

    fn show(net: &Net, m: &kernel::seq_file::SeqFile) {
        let rn = RtcpNet::of(net);
        let s = &rn.stats;
        let rows: [(&str, &AtomicUsize); 22] = [
            ("ActiveOpens", &s.active_opens),
            ("PassiveOpens", &s.passive_opens),
            ("AttemptFails", &s.attempt_fails),
            ("InSegs", &s.in_segs),
            ("OutSegs", &s.out_segs),
            ("RetransSegs", &s.retrans_segs),
            ("OutRsts", &s.out_rsts),
            ("ListenDrops", &s.listen_drops),
            ("ListenOverflows", &s.listen_overflows),
            ("TCPReqQFullDoCookies", &s.req_q_full_do_cookies),
            ("TCPReqQFullDrop", &s.req_q_full_drop),
            ("SyncookiesSent", &s.syncookies_sent),
            ("SyncookiesRecv", &s.syncookies_recv),
            ("SyncookiesFailed", &s.syncookies_failed),
            ("OutOfWindowIcmps", &s.out_of_window_icmps),
            ("TCPFastOpenActive", &s.fastopen_active),
            ("TCPFastOpenActiveFail", &s.fastopen_active_fail),
            ("TCPFastOpenPassive", &s.fastopen_passive),
            ("TCPFastOpenPassiveFail", &s.fastopen_passive_fail),
            ("TCPFastOpenListenOverflow", &s.fastopen_listen_overflow),
            ("TCPFastOpenCookieReqd", &s.fastopen_cookie_reqd),
            ("TCPMemoryPressures", &rn.mem.pressures),
        ];
        let core = Mib::NAMES.iter().zip(s.mib.iter()).map(|((_, name), c)| (*name, c));
        for (name, c) in Iterator::chain(rows.into_iter(), core) {
            kernel::seq_print!(m, "{} {}\n", name, c.load(Ordering::Relaxed));
        }
    }
}

/// `/proc/net/rtcp_sockstat`: the `TCP:` line of `/proc/net/sockstat`
/// (`sockstat_seq_show`) for RTCP: the namespace's listeners and
/// connections (`inuse`, TIME-WAIT not included), its orphans and
/// TIME-WAIT connections, its socks (`alloc`), and the pages that its
/// connections' buffers and kept skbs hold (`mem`, as
/// `tcp_memory_allocated`, which is global where this is the
/// namespace's: `net.rtcp.mem` bounds it).
pub(crate) struct ProcRtcpSockstat;

impl net::procfs::ProcShow for ProcRtcpSockstat {
    const NAME: &'static CStr = c"rtcp_sockstat";

    fn show(net: &Net, m: &kernel::seq_file::SeqFile) {
        let rn = RtcpNet::of(net);
        let listeners = rn.listeners.lock().iter().count();
        let (mut inuse, mut orphan, mut tw) = (listeners, 0, 0);
        rn.conns.for_each(|e| {
            match e.val.state() {
                TCP_TIME_WAIT => tw += 1,
                _ => inuse += 1,
            }
            if e.val.dead() && e.val.state() != TCP_TIME_WAIT {
                orphan += 1;
            }
        });
        let alloc = rn.socks.load(Ordering::Relaxed);
        kernel::seq_print!(
            m,
            "RTCP: inuse {} orphan {} tw {} alloc {} mem {}\n",
            inuse,
            orphan,
            tw,
            alloc,
            rn.mem.allocated()
        );
    }
}
