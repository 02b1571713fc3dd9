// SPDX-License-Identifier: GPL-2.0

//! The sock's timer, the counterpart of `net/ipv4/tcp_timer.c` (and of
//! `reqsk_timer_handler` for a listener): retransmissions, probes, delayed
//! ACKs, keepalive, the end of TIME-WAIT, SYN-ACKs sent again.

use kernel::prelude::*;

use crate::net::Sock;
use crate::net::clock::now_ms;
use crate::proto::request::{RequestTimer, pruned_retries};
use crate::proto::state::State;

use crate::rtcp::{RtcpProto, Tcb};
use crate::rtcp_input::drive;
use crate::rtcp_output::send_counted;

pub(crate) fn timer(sk: &Sock<RtcpProto>) {
    let now = now_ms();
    let net = sk.net();
    let mut synacks = KVec::new();
    // A connection: the SYN again, a window probe, retransmissions, a
    // delayed ACK, the end of TIME-WAIT.
    let conn = drive(sk, now, |st| {
        let syn_sent = st.conn.state == State::SynSent;
        Some((st.conn.on_timer(now), syn_sent))
    });
    if conn.is_some() {
        return;
    }
    let rearm = {
        let mut tcb = sk.shared().tcb.lock();
        match &mut *tcb {
            Tcb::Conn(_) => return,
            Tcb::Listen(l) => {
                // SYN-ACKs due again; requests out of retries go, old ones
                // sooner while they fill the queue (`reqsk_timer_handler`).
                let qlen = l.requests.len();
                let young = l.requests.iter().filter(|r| r.retransmits == 0).count();
                let backlog = l.backlog;
                l.requests.retain(|req| {
                    if req.deadline > now {
                        return true;
                    }
                    let retries = pruned_retries(req.cfg.syn_retries, qlen, young, backlog);
                    match req.on_timer_within(now, retries) {
                        RequestTimer::Synack(seg) => {
                            let _ = synacks.push((req.local, req.remote, req.iif, seg), GFP_ATOMIC);
                            true
                        }
                        RequestTimer::Wait => true,
                        RequestTimer::Expire => false,
                    }
                });
                l.deadline().map(|d| d.saturating_sub(now))
            }
            Tcb::Idle => return,
        }
    };
    let key = sk.flow_key();
    for (local, remote, iif, seg) in synacks.iter() {
        send_counted(crate::rtcp_af::of(remote.addr), net, key.toward(remote.addr, *iif), *local, *remote, seg, true);
    }
    if let Some(ms) = rearm {
        sk.reset_timer(ms);
    }
}
