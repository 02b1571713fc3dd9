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
use crate::net::{Net, PortReservation, Route, Sock};
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
    pub(crate) requests: KVec<Request>,
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
}

impl Listener {
    pub(crate) fn new(backlog: usize, port: Option<PortReservation>) -> Listener {
        Listener { backlog, requests: KVec::new(), queue: KVec::new(), last_overflow: None, flood_warned: false, port }
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

    /// When the listener's timer should next fire.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.requests.iter().map(|r| r.deadline).min()
    }
}

/// A handshake completed on listener `sk`, or a Fast Open SYN made a
/// connection (`fastopen`: the SYN's payload of so many bytes, and the
/// SYN-ACK to send): a child sock for the connection, in the demux table
/// and on the accept queue; `accept()` is woken.
pub(crate) fn accept_child(
    net: &Net,
    sk: &ARef<Sock<RtcpProto>>,
    conn: Conn,
    fastopen: Option<(&SkbPayload<'_>, u32, Segment)>,
) {
    let (local, remote) = (conn.local, conn.remote);
    let deadline = conn.deadline();
    // Without memory for its buffers the connection is not made: the
    // peer's next segment finds no request and is reset (a Fast Open
    // SYN goes unanswered, and comes again).
    let Ok(mut stream) = new_stream(conn, GFP_ATOMIC) else { return };
    if let Some((payload, len, _)) = &fastopen {
        if !stream.syn_data(payload, *len) {
            return;
        }
    }
    let Ok(child) = Sock::alloc_child::<RtcpOps>(net, AF_RTCP, &PROTO) else { return };
    child.set_protocol(sys::IPPROTO_TCP as u16);
    child.inherit(sk);
    child.shared().inherit(sk.shared());
    child.shared().ip.inherit(&sk.shared().ip);
    child.shared().sync_options(&child, &mut stream.conn);
    RtcpNet::of(net).socks.fetch_add(1, Ordering::Relaxed);
    let state = stream.conn.state.linux();
    *child.shared().tcb.lock() = Tcb::Conn(stream);
    child.set_state(state);
    if RtcpNet::of(net).insert(local, remote, child.clone()).is_err() {
        return;
    }
    if let Some((_, _, synack)) = &fastopen {
        // The SYN-ACK before anyone may accept and write (`tcp_conn_request`
        // sends it before it queues the child), then its timer.
        send(sk.shared().af, net, sk.flow_key(), local, remote, synack);
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
        return;
    }
    Stats::inc(&RtcpNet::of(net).stats.passive_opens);
    sk.state_change();
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
