// SPDX-License-Identifier: GPL-2.0

//! Connection states (RFC 9293, 3.3.2), numbered as Linux numbers them in
//! `include/net/tcp_states.h`, so that `sk_state`, `/proc/net/rtcp` and
//! `TCP_INFO` read the same for RTCP and for Linux's TCP.
//!
//! ```text
//!                          +---------+ ---------\      active OPEN
//!                          |  CLOSED |            \    -----------
//!                          +---------+<---------\   \   create TCB
//!                            |     ^              \   \  snd SYN
//!               passive OPEN |     |   CLOSE        \   \
//!               ------------ |     | ----------       \   \
//!                create TCB  |     | delete TCB         \   \
//!                            V     |                      \   \
//!          rcv RST (note 1)  +---------+            CLOSE    |    \
//!       -------------------->|  LISTEN |          ---------- |     |
//!      /                     +---------+          delete TCB |     |
//!     /           rcv SYN      |     |     SEND              |     |
//!    /           -----------   |     |    -------            |     V
//! +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//! |        |<-----------------           ------------------>|        |
//! |  SYN   |                    rcv SYN                     |  SYN   |
//! |  RCVD  |<-----------------------------------------------|  SENT  |
//! |        |                  snd SYN,ACK                   |        |
//! |        |------------------           -------------------|        |
//! +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//!    |         --------------   |     |   -----------
//!    |                x         |     |     snd ACK
//!    |                          V     V
//!    |  CLOSE                 +---------+
//!    | -------                |  ESTAB  |
//!    | snd FIN                +---------+
//! ```
//! (The rest of the diagram, the closing states, belongs to teardown.)

/// A TCP connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// Connected: data may flow both ways.
    Established = 1,
    /// Active open: our SYN is out, waiting for the peer's SYN-ACK.
    SynSent = 2,
    /// Our SYN-ACK is out, waiting for the ACK of it.
    SynReceived = 3,
    /// We closed first; our FIN is out.
    FinWait1 = 4,
    /// Our FIN is acknowledged; waiting for the peer's.
    FinWait2 = 5,
    /// Both FINs are acknowledged; waiting out old duplicates.
    TimeWait = 6,
    /// No connection.
    Closed = 7,
    /// The peer closed first; waiting for our close.
    CloseWait = 8,
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    LastAck = 9,
    /// Waiting for SYNs.
    Listen = 10,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing = 11,
}

impl State {
    /// The value of `sk_state` for this state.
    pub const fn linux(self) -> u8 {
        self as u8
    }
}
