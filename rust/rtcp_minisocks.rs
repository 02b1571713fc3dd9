// SPDX-License-Identifier: GPL-2.0

//! Listeners' children and the end of a connection's life, the counterpart
//! of `net/ipv4/tcp_minisocks.c` (`tcp_create_openreq_child`,
//! `tcp_time_wait`, `inet_twsk_purge`) with the queues of
//! `net/ipv4/inet_connection_sock.c`.

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

use crate::net::clock::now_ms;
use crate::net::skb::SkbPayload;
use crate::net::siphash::SipKey;
use crate::net::{Net, PortReservation, Route, Sock};
use crate::proto::conn::Endpoint;
use crate::proto::conn::Conn;
use crate::proto::cookie;
use crate::proto::request::Request;
use crate::proto::segment::Segment;
use crate::proto::state::State;
use crate::sys;

use crate::af_rtcp::{AF_RTCP, RtcpOps};
use crate::rtcp::{PROTO, RtcpProto, TCP_CLOSE, Tcb};
use crate::rtcp_input::{RtcpStream, new_stream};
use crate::rtcp_output::send;
use crate::rtcp_ipv4::MINUTE_MS;
use crate::rtcp_netns::RtcpNet;
use crate::rtcp_proc::Stats;

/// A listening sock's queues (`inet_connection_sock`'s request and accept
/// queues).
pub(crate) struct Listener {
    /// `listen()`'s backlog: the accept queue holds one more (as
    /// `sk_acceptq_is_full`), the SYN queue as many.
    pub(crate) backlog: usize,
    /// Handshakes in progress: our SYN-ACK is out.
    pub(crate) requests: Requests,
    /// When the listener's timer is set to fire (the earliest request's
    /// deadline when it was last looked at).
    pub(crate) timer_at: Option<u64>,
    /// Established connections waiting for `accept()`.
    pub(crate) queue: KVec<ARef<Sock<RtcpProto>>>,
    /// When a SYN last found the SYN queue full (or got a cookie): final
    /// ACKs are checked for cookies until two minutes after.
    pub(crate) last_overflow: Option<u64>,
    /// The "Possible SYN flooding" message was printed for this listener.
    pub(crate) flood_warned: bool,
    /// The listener's port, which each connection it accepts holds too,
    /// to its end (`inet_csk_clone_lock`).
    port: Option<PortReservation>,
    /// The port it listens on (its key in the namespace's table).
    pub(crate) local_port: u16,
}

impl Listener {
    /// A listener for `backlog`, its request table sized for it, and its
    /// accept queue's room made for it (up to [`QUEUE_ROOM`] entries), so
    /// that a connection made in softirq takes no memory to be queued
    /// (Linux's accept queue is a list); `ENOMEM` without the memory.
    pub(crate) fn new(backlog: usize, local_port: u16, port: Option<PortReservation>) -> Result<Listener> {
        Ok(Listener {
            backlog,
            requests: Requests::new(backlog, GFP_KERNEL)?,
            timer_at: None,
            queue: KVec::with_capacity(backlog.saturating_add(1).min(QUEUE_ROOM), GFP_KERNEL)?,
            last_overflow: None,
            flood_warned: false,
            port,
            local_port,
        })
    }

    /// A request's timer runs out at `deadline`: the timer to set, if it
    /// fires later (or not at all) now.
    pub(crate) fn timer_for(&mut self, deadline: u64) -> Option<u64> {
        if self.timer_at.is_some_and(|t| t <= deadline) {
            return None;
        }
        self.timer_at = Some(deadline);
        Some(deadline)
    }

    /// `sk_acceptq_is_full`.
    pub(crate) fn accept_queue_full(&self) -> bool {
        self.queue.len() > self.backlog
    }

    /// `inet_csk_reqsk_queue_is_full`.
    pub(crate) fn syn_queue_full(&self) -> bool {
        self.requests.len() > self.backlog
    }

    /// Did a SYN overflow the queue within a cookie's lifetime
    /// (`!tcp_synq_no_recent_overflow`)?
    pub(crate) fn recent_overflow(&self, now: u64) -> bool {
        const VALID_MS: u64 = cookie::MAX_AGE_MINUTES as u64 * MINUTE_MS;
        self.last_overflow.is_some_and(|t| now.saturating_sub(t) <= VALID_MS)
    }

    /// When the listener's timer should next fire, from every request (as
    /// the timer runs, not per segment).
    pub(crate) fn deadline(&mut self) -> Option<u64> {
        self.timer_at = self.requests.iter().map(|r| r.deadline).min();
        self.timer_at
    }
}

/// The most entries a listener's accept queue has room for from the
/// start (a page of them); a longer queue grows in softirq, where a
/// connection that finds no memory to be queued is reset.
const QUEUE_ROOM: usize = 512;

/// Bucket count bounds of a request table: at least a few, and a table of
/// at most a page of bucket heads per 170 buckets (order 3 at the most).
const MIN_BUCKETS: usize = 8;
const MAX_BUCKETS: usize = 4096;

/// A listener's requests (its SYN queue) by four-tuple: a segment finds its
/// request by a hash of the peer's address and port under a secret key, as
/// `inet_ehashfn` places Linux's request socks, never by a scan of the
/// queue. Sized from the backlog, so that a bucket holds about one.
pub(crate) struct Requests {
    buckets: KVec<KVec<Request>>,
    len: usize,
    key: SipKey,
}

impl Requests {
    fn new(backlog: usize, flags: kernel::alloc::Flags) -> Result<Requests> {
        let n = backlog.saturating_add(1).next_power_of_two().clamp(MIN_BUCKETS, MAX_BUCKETS);
        let mut buckets = KVec::with_capacity(n, flags)?;
        for _ in 0..n {
            buckets.push(KVec::new(), flags)?;
        }
        Ok(Requests { buckets, len: 0, key: SipKey::random() })
    }

    fn bucket(&self, local: Endpoint, remote: Endpoint) -> usize {
        (self.key.hash_tuple(local, remote) as usize) & self.buckets.len().saturating_sub(1)
    }

    /// How many handshakes are in progress.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The request of a four-tuple.
    pub(crate) fn find_mut(&mut self, local: Endpoint, remote: Endpoint) -> Option<&mut Request> {
        let b = self.bucket(local, remote);
        self.buckets.get_mut(b)?.iter_mut().find(|r| r.local == local && r.remote == remote)
    }

    /// Takes the request of a four-tuple out.
    pub(crate) fn remove(&mut self, local: Endpoint, remote: Endpoint) -> Option<Request> {
        let b = self.bucket(local, remote);
        let bucket = self.buckets.get_mut(b)?;
        let i = bucket.iter().position(|r| r.local == local && r.remote == remote)?;
        let req = bucket.remove(i).ok()?;
        self.len = self.len.saturating_sub(1);
        Some(req)
    }

    /// Adds a request (of a four-tuple that has none).
    pub(crate) fn push(&mut self, req: Request) -> Result {
        let b = self.bucket(req.local, req.remote);
        self.buckets.get_mut(b).ok_or(EINVAL)?.push(req, GFP_ATOMIC)?;
        self.len += 1;
        Ok(())
    }

    /// Every request.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Request> {
        self.buckets.iter().flat_map(|b| b.iter())
    }

    /// Runs `f` on every request, dropping those it says to.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&mut Request) -> bool) {
        for bucket in self.buckets.iter_mut() {
            let mut i = 0;
            while let Some(r) = bucket.get_mut(i) {
                if f(r) {
                    i += 1;
                } else if bucket.remove(i).is_ok() {
                    self.len = self.len.saturating_sub(1);
                }
            }
        }
    }
}

/// A handshake completed on listener `sk`, or a Fast Open SYN made a
/// connection (`fastopen`: the SYN's payload of so many bytes, and the
/// SYN-ACK to send): a child sock for the connection, in the demux table
/// and on the accept queue; `accept()` is woken. `iif`: the device a
/// link-local peer's SYN came in on, which its connection is bound to
/// ([`crate::net::route::FlowKey::toward`]; 0: none). False if there was no
/// memory for it (`syn_recv_sock` failing: `ListenDrops`): the segment is
/// dropped and the request stays, for the peer's next one to try again,
/// as Linux's `tcp_check_req` keeps it (a Fast Open SYN goes unanswered,
/// and comes again).
pub(crate) fn accept_child(
    net: &Net,
    sk: &ARef<Sock<RtcpProto>>,
    conn: Conn,
    iif: i32,
    fastopen: Option<(&SkbPayload<'_>, u32, Segment)>,
) -> bool {
    let (local, remote) = (conn.local, conn.remote);
    let deadline = conn.deadline();
    let child = new_stream(conn, RtcpNet::of(net), GFP_ATOMIC).ok().and_then(|mut stream| {
        if let Some((payload, len, _)) = &fastopen {
            if !stream.syn_data(payload, *len) {
                return None;
            }
        }
        Some((stream, Sock::alloc_child::<RtcpOps>(net, AF_RTCP, &PROTO).ok()?))
    });
    let Some((mut stream, child)) = child else {
        Stats::inc(&RtcpNet::of(net).stats.listen_drops);
        return false;
    };
    child.set_protocol(sys::IPPROTO_TCP as u16);
    child.inherit(sk);
    child.shared().inherit(sk.shared());
    child.shared().ip.inherit(&sk.shared().ip);
    if iif != 0 {
        child.bind_child_to(iif);
    }
    child.shared().sync_options(&child, &mut stream.conn);
    RtcpNet::of(net).socks.fetch_add(1, Ordering::Relaxed);
    let state = stream.conn.state.linux();
    *child.shared().tcb.lock() = Tcb::Conn(stream);
    child.set_state(state);
    if RtcpNet::of(net).insert(local, remote, child.clone()).is_err() {
        // Another connection of the same four-tuple is in the table.
        return true;
    }
    if let Some((_, _, synack)) = &fastopen {
        // The SYN-ACK before anyone may accept and write (`tcp_conn_request`
        // sends it before it queues the child), then its timer.
        send(crate::rtcp_af::of(remote.addr), net, child.flow_key(), local, remote, synack);
        if let Some(d) = deadline {
            child.reset_timer(d.saturating_sub(now_ms()));
        }
    }
    let rejected = {
        let mut tcb = sk.shared().tcb.lock();
        match &mut *tcb {
            Tcb::Listen(l) => {
                *child.shared().held_port.lock() = l.port.clone();
                l.queue.push(child.clone(), GFP_ATOMIC).is_err()
            }
            _ => true,
        }
    };
    if rejected {
        // The listener closed meanwhile: the connection goes with a reset.
        RtcpOps::abort(&child);
        return true;
    }
    Stats::inc(&RtcpNet::of(net).stats.passive_opens);
    sk.state_change();
    true
}

impl RtcpOps {
    /// An orphan that only waits out TIME-WAIT or FIN-WAIT-2 (whose
    /// timeout, `tcp_fin_timeout`, is TIME-WAIT's length) no longer keeps
    /// its namespace: Linux's TCP hands such a connection to an
    /// `inet_timewait_sock` (`tcp_time_wait`), which holds no reference,
    /// and purges them when the namespace goes ([`RtcpOps::purge`]).
    /// Under the connection's lock, which orders it against `release`.
    pub(crate) fn let_namespace_go(sk: &Sock<RtcpProto>, st: &RtcpStream) {
        if st.conn.orphan && sk.dead() && matches!(st.conn.state, State::TimeWait | State::FinWait2) {
            sk.release_net();
        }
    }

    /// Ends a connection whose namespace is going (`inet_twsk_purge`): out
    /// of the way at once, with no segment (its devices are gone), its
    /// timer stopped and waited for. Process context.
    pub(crate) fn purge(sk: &Sock<RtcpProto>) {
        let old = core::mem::replace(&mut *sk.shared().tcb.lock(), Tcb::Idle);
        drop(old);
        sk.stop_timer_sync();
        drop(sk.shared().held_port.lock().take());
        Route::forget(sk);
        sk.set_state(TCP_CLOSE);
    }
}
