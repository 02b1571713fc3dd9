// SPDX-License-Identifier: GPL-2.0

//! The `AF_RTCP` family: socket creation and the socket calls, the
//! counterpart of `net/ipv4/af_inet.c` for RTCP.

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;

use crate::net::{
    self, Net, Pernet, PernetDef, PernetId, PollTable, PortReservation, ProtoDef, Sock, SockAddrIn,
    Socket,
};
use crate::sys;

/// The family number (`include/uapi/linux/rtcp.h`, and the kernel patch
/// that reserves it).
pub(crate) const AF_RTCP: i32 = sys::AF_RTCP as i32;

// `EPOLL*` are `__poll_t` (`u32`) bit masks.
const EPOLLIN: u32 = sys::RTCP_EPOLLIN;
const EPOLLOUT: u32 = sys::RTCP_EPOLLOUT;
const EPOLLHUP: u32 = sys::RTCP_EPOLLHUP;
const EPOLLRDNORM: u32 = sys::RTCP_EPOLLRDNORM;
const EPOLLWRNORM: u32 = sys::RTCP_EPOLLWRNORM;
const EPOLLRDHUP: u32 = sys::RTCP_EPOLLRDHUP;

/// `sk_state` values are Linux's TCP states (`include/net/tcp_states.h`).
const TCP_CLOSE: u8 = sys::TCP_CLOSE as u8;
/// `sk_shutdown` bits.
const RCV_SHUTDOWN: u8 = sys::RCV_SHUTDOWN as u8;
const SEND_SHUTDOWN: u8 = sys::SEND_SHUTDOWN as u8;

/// RTCP's protocol.
pub(crate) struct RtcpProto;

/// RTCP's state in each sock, under the socket lock.
#[derive(Default)]
pub(crate) struct RtcpSock {
    /// The local address and port, once bound.
    local: SockAddrIn,
    /// The port, held in the namespace's TCP port space while bound.
    port: Option<PortReservation>,
}

impl net::Proto for RtcpProto {
    const NAME: &'static [u8] = b"RTCP";
    type Private = RtcpSock;
}

pub(crate) static PROTO: ProtoDef<RtcpProto> = ProtoDef::new();

/// What RTCP keeps in each network namespace.
pub(crate) struct RtcpNet {
    /// Socks alive in the namespace.
    socks: AtomicUsize,
}

pub(crate) struct RtcpPernet;

static NET_ID: PernetId = PernetId::new();
pub(crate) static PERNET: PernetDef = PernetDef::new::<RtcpPernet>();

impl Pernet for RtcpPernet {
    type State = RtcpNet;
    const ID: &'static PernetId = &NET_ID;

    fn init(_net: &Net) -> Result<RtcpNet> {
        Ok(RtcpNet { socks: AtomicUsize::new(0) })
    }

    fn exit(_net: &Net, state: &RtcpNet) {
        // Every user sock holds a reference on its namespace, so none can be
        // left when the namespace goes.
        let left = state.socks.load(Ordering::Relaxed);
        if left != 0 {
            pr_err!("rtcp: {} socks leaked in an exiting namespace\n", left);
        }
    }
}

/// `socket(AF_RTCP, ...)`.
pub(crate) struct RtcpFamily;

impl net::Family for RtcpFamily {
    const FAMILY: i32 = AF_RTCP;

    fn create(net: &Net, sock: &Socket, protocol: i32, kern: bool) -> Result {
        // The same checks, in the same order, as inet_create() for a family
        // whose only type is SOCK_STREAM with TCP.
        if protocol < 0 || protocol >= sys::IPPROTO_MAX as i32 {
            return Err(EINVAL);
        }
        if i32::from(sock.type_()) != sys::sock_type_SOCK_STREAM as i32 {
            return Err(ESOCKTNOSUPPORT);
        }
        if protocol != 0 && protocol != sys::IPPROTO_TCP as i32 {
            return Err(EPROTONOSUPPORT);
        }
        let sk = Sock::alloc::<RtcpOps>(net, sock, AF_RTCP, &PROTO, kern)?;
        sk.set_protocol(sys::IPPROTO_TCP as u16);
        net::pernet::state::<RtcpPernet>(net).socks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The socket calls of an `AF_RTCP` socket.
struct RtcpOps;

impl net::SocketOps for RtcpOps {
    type Proto = RtcpProto;
    const FAMILY: i32 = AF_RTCP;

    fn release(sock: &Socket<RtcpProto>) -> Result {
        if let Some(sk) = sock.take_sk() {
            // The port goes back to the namespace now, not when the last
            // reference to the sock does.
            sk.lock().port = None;
            sk.orphan();
            // Dropping the socket's reference frees the sock (destruct).
        }
        Ok(())
    }

    /// `__inet_bind`'s rules, in its order: the address (`EINVAL`,
    /// `EAFNOSUPPORT`), a local one (`EADDRNOTAVAIL`), the privileged
    /// ports (`EACCES`), not bound yet (`EINVAL`), then the port itself,
    /// whose conflicts with TCP and RTCP sockets the kernel's bind rules
    /// decide (`EADDRINUSE`).
    fn bind(sock: &Socket<RtcpProto>, raw: &[u8]) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let addr = SockAddrIn::from_bind(raw)?;
        let net = sk.net();
        if !net::inet::bindable_addr(net, addr.addr) {
            return Err(EADDRNOTAVAIL);
        }
        if addr.port != 0 && net::inet::port_needs_privilege(net, addr.port) {
            return Err(EACCES);
        }
        let mut st = sk.lock();
        if sk.state() != TCP_CLOSE || st.port.is_some() {
            return Err(EINVAL);
        }
        let port = PortReservation::take(net, addr, sk.bind_options())?;
        st.local = port.addr()?;
        st.port = Some(port);
        Ok(())
    }

    fn getname(sock: &Socket<RtcpProto>, peer: bool) -> Result<SockAddrIn> {
        let sk = sock.sk().ok_or(EINVAL)?;
        if peer {
            // No connection yet: as inet_getname for a socket that is not
            // connected.
            return Err(ENOTCONN);
        }
        Ok(sk.lock().local)
    }

    fn poll(sock: &Socket<RtcpProto>, wait: &PollTable<'_>) -> u32 {
        wait.wait(sock);
        let Some(sk) = sock.sk() else { return EPOLLHUP };
        // As tcp_poll() for the states RTCP has so far.
        let shutdown = sk.shutdown();
        let mut mask = 0;
        if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || sk.state() == TCP_CLOSE {
            mask |= EPOLLHUP;
        }
        if shutdown & RCV_SHUTDOWN != 0 {
            mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        }
        if shutdown & SEND_SHUTDOWN == 0 {
            mask |= EPOLLOUT | EPOLLWRNORM;
        }
        mask
    }

    fn destruct(sk: &Sock<RtcpProto>) {
        net::pernet::state::<RtcpPernet>(sk.net()).socks.fetch_sub(1, Ordering::Relaxed);
    }
}
