// SPDX-License-Identifier: GPL-2.0

//! The `AF_RTCP` family, the counterpart of `net/ipv4/af_inet.c`: socket
//! creation (`inet_create`) and the `proto_ops` table, with the calls that
//! are the family's in Linux (`inet_release`, `inet_bind`,
//! `inet_stream_connect`, `inet_listen`, `inet_accept`, `inet_getname`,
//! `inet_shutdown`); the rest of the table calls into the protocol
//! ([`crate::rtcp`]) as `inet_stream_ops` calls into `tcp_prot`.
//!
//! Locking: a socket call holds the socket lock (`lock_sock`) for the
//! sock's owned state; the connection (`Tcb`) is under a spinlock that the
//! receive hook and the timer take too. Segments are sent, and waiters
//! woken, after that spinlock is released.

use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

use crate::net::{self, Msg, Net, OptIn, OptVal, PollTable, PortReservation, Sock, SockAddr, Socket};
use crate::sys;

use crate::rtcp::{RtcpOwned, PROTO, RCV_SHUTDOWN, RtcpProto, SEND_SHUTDOWN, TCP_CLOSE, TCP_CLOSING, TCP_FIN_WAIT1, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_SENT, Tcb};
use crate::rtcp_minisocks::Listener;
use crate::rtcp_netns::{RMEM, RtcpNet};

/// The family number (`include/uapi/linux/rtcp.h`, and the kernel patch
/// that reserves it).
pub(crate) const AF_RTCP: i32 = sys::AF_RTCP as i32;

/// `socket->state`.
pub(crate) const SS_UNCONNECTED: u32 = sys::socket_state_SS_UNCONNECTED;
pub(crate) const SS_CONNECTING: u32 = sys::socket_state_SS_CONNECTING;
pub(crate) const SS_CONNECTED: u32 = sys::socket_state_SS_CONNECTED;

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
        let v6 = protocol == RTCPPROTO_TCP6;
        if protocol != 0 && protocol != sys::IPPROTO_TCP as i32 && !v6 {
            return Err(EPROTONOSUPPORT);
        }
        let sk = Sock::alloc::<RtcpOps>(net, sock, AF_RTCP, &PROTO, kern)?;
        sk.set_protocol(sys::IPPROTO_TCP as u16);
        if v6 {
            // As inet6_create: IPV6_V6ONLY from `net.ipv6.bindv6only`.
            sk.shared().v6.store(true, Ordering::Relaxed);
            sk.set_v6only(net.bindv6only());
        }
        let rn = RtcpNet::of(net);
        // SO_SNDBUF reads Linux's start, `tcp_wmem[1]`: RTCP's own send
        // buffer starts smaller (`net.rtcp.wmem`) and grows as the data
        // needs, so the start says less of what a write may queue.
        let wmem = usize::try_from(net.tcp_wmem()[1]).unwrap_or(0);
        sk.set_initial_buf_sizes(rn.buf_sizes(RMEM).start, wmem);
        rn.socks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// `socket()`'s protocol for an IPv6 socket (`include/uapi/linux/rtcp.h`).
pub(crate) const RTCPPROTO_TCP6: i32 = 1;

/// The socket calls of an `AF_RTCP` socket.
pub(crate) struct RtcpOps;

impl net::SocketOps for RtcpOps {
    type Proto = RtcpProto;
    const FAMILY: i32 = AF_RTCP;

    fn release(sock: &Socket<RtcpProto>) -> Result {
        if let Some(sk) = sock.take_sk() {
            Self::close(&sk);
            // SO_LINGER with a timeout: close() waits, up to it or a
            // signal, for the peer to acknowledge our FIN
            // (`sk_stream_wait_close`); the connection goes on either way.
            if let Some(mut timeo) = sk.linger_timeout() {
                let _ = sk.wait_until(&mut timeo, || !matches!(sk.state(), TCP_FIN_WAIT1 | TCP_CLOSING | TCP_LAST_ACK));
            }
            // The port goes back to the namespace now, not when the last
            // reference to the sock does; unless bind() chose it and the
            // connection goes on, which keeps it to its end (a port in
            // TIME-WAIT is in use for bind(), as Linux's TCP has it).
            let (port, bound, opts) = {
                let mut owned = sk.lock();
                (owned.port.take(), owned.bound, sk.bind_options())
            };
            if let Some(port) = port {
                port.follow(opts);
                let port = if bound { sk.shared().hold_port(port) } else { Some(port) };
                if let Some(port) = port {
                    port.release_now();
                }
            }
            sk.orphan();
            if let Tcb::Conn(st) = &mut *sk.shared().tcb.lock() {
                Self::let_namespace_go(&sk, st);
            }
            // Dropping the socket's reference frees the sock (destruct).
        }
        Ok(())
    }

    /// `__inet_bind`'s rules, in its order: the address (`EINVAL`,
    /// `EAFNOSUPPORT`), a local one (`EADDRNOTAVAIL`), the privileged
    /// ports (`EACCES`), not bound yet (`EINVAL`), then the port itself,
    /// whose conflicts with TCP and RTCP sockets the kernel's bind rules
    /// decide (`EADDRINUSE`).
    /// An IPv6 socket's are `inet6_bind`'s ([`crate::rtcp_ipv6::bind`]).
    fn bind(sock: &Socket<RtcpProto>, raw: &[u8]) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        if sk.shared().v6.load(Ordering::Relaxed) {
            return crate::rtcp_ipv6::bind(sk, raw);
        }
        let addr = SockAddr::from_bind(raw, false)?;
        let net = sk.net();
        // IP_FREEBIND and IP_TRANSPARENT let any address through
        // (`inet_addr_valid_or_nonlocal`).
        if !sk.shared().ip.nonlocal_bind() && !net::inet::bindable_addr(net, addr.addr) {
            return Err(EADDRNOTAVAIL);
        }
        if addr.port != 0 && net::inet::port_needs_privilege(net, addr.port) {
            return Err(EACCES);
        }
        let mut owned = sk.lock();
        if sk.state() != TCP_CLOSE || owned.port.is_some() {
            return Err(EINVAL);
        }
        bind_port(sk, &mut owned, addr)
    }

    /// `inet_stream_connect` with `tcp_v4_connect`: `EISCONN`, `EALREADY`,
    /// `EINPROGRESS` for a non-blocking socket, the connection's error
    /// (`ECONNREFUSED`, `ETIMEDOUT`, ...) for a blocking one, `AF_UNSPEC`
    /// to disconnect.
    fn connect(sock: &Socket<RtcpProto>, raw: &[u8], nonblock: bool) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let Some(&[f0, f1]) = raw.get(..2) else { return Err(EINVAL) };
        {
            let mut owned = sk.lock();
            if u16::from_ne_bytes([f0, f1]) == sys::AF_UNSPEC as u16 {
                Self::disconnect(sk);
                sock.set_state(SS_UNCONNECTED);
                return Ok(());
            }
            match sock.state() {
                SS_CONNECTED => return Err(EISCONN),
                // A connect that Fast Open deferred is one already.
                SS_CONNECTING if sk.shared().fastopen.deferred.load(Ordering::Relaxed) => return Err(EISCONN),
                SS_CONNECTING => {
                    if sk.state() == TCP_SYN_SENT && nonblock {
                        return Err(EALREADY);
                    }
                }
                SS_UNCONNECTED => {
                    if sk.state() != TCP_CLOSE {
                        return Err(EISCONN);
                    }
                    // TCP_FASTOPEN_CONNECT: with a cookie, the SYN waits for
                    // the first write and connect() returns at once
                    // (`tcp_fastopen_defer_connect`).
                    let fastopen = sk.shared().fastopen.connect.load(Ordering::Relaxed)
                        && crate::rtcp_fastopen::bits(sk.net()) & crate::proto::fastopen::CLIENT_ENABLE != 0;
                    if Self::start_connect(sock, sk, &mut owned, raw, fastopen)? {
                        sk.shared().fastopen.deferred.store(true, Ordering::Relaxed);
                        return Ok(());
                    }
                    if nonblock {
                        return Err(EINPROGRESS);
                    }
                }
                _ => return Err(EINVAL),
            }
        }
        Self::wait_connected(sock, sk, nonblock)
    }

    fn custom_sol_socket(name: i32) -> bool {
        crate::rtcp_sockopt::custom_sol_socket(name)
    }

    fn sol_socket_check(sock: &Socket<RtcpProto>, name: i32, opt: &OptIn) -> Result {
        crate::rtcp_sockopt::sol_socket_check(sock, name, opt)
    }

    fn setsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32, opt: &OptIn) -> Result {
        crate::rtcp_sockopt::setsockopt(sock, level, name, opt)
    }

    fn getsockopt(sock: &Socket<RtcpProto>, level: i32, name: i32) -> Result<OptVal> {
        crate::rtcp_sockopt::getsockopt(sock, level, name)
    }

    fn ioctl(sock: &Socket<RtcpProto>, cmd: u32) -> Result<i32> {
        crate::rtcp::ioctl(sock, cmd)
    }

    /// `inet_getname`, or `inet6_getname` for an IPv6 socket: a
    /// `sockaddr_in6` (an IPv4 peer's address v4-mapped), with the scope
    /// of a link-local address (`ipv6_iface_scope_id`).
    fn getname(sock: &Socket<RtcpProto>, peer: bool) -> Result<SockAddr> {
        let sk = sock.sk().ok_or(EINVAL)?;
        let v6 = sk.shared().v6.load(Ordering::Relaxed);
        let owned = sk.lock();
        let mut tcb = sk.shared().tcb.lock();
        let state = sk.state();
        let mut name = match (peer, tcb.conn()) {
            // An accepted connection has no bind of its own.
            (false, Some(c)) => SockAddr::of(c.local, v6),
            (false, None) => SockAddr { v6, ..owned.local },
            // As inet_getname: no peer before the connection is up.
            (true, Some(c)) if state != TCP_SYN_SENT && state != TCP_CLOSE => SockAddr::of(c.remote, v6),
            (true, _) => return Err(ENOTCONN),
        };
        name.scope_id = if v6 && name.addr.is_link_local() { sk.bind_options().dev as u32 } else { 0 };
        Ok(name)
    }

    /// `inet_shutdown`: `EINVAL` for a bad `how`; on a closed socket the
    /// bits are set and the answer is `ENOTCONN`; `SHUT_RD` stops a
    /// listener and any `how` abandons a connect in progress (the socket
    /// can connect again); on a connection the bits are set and `SHUT_WR`
    /// sends our FIN after the data.
    fn shutdown(sock: &Socket<RtcpProto>, how: i32) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let how = how.wrapping_add(1);
        let mask = i32::from(RCV_SHUTDOWN | SEND_SHUTDOWN);
        if how & !mask != 0 || how == 0 {
            return Err(EINVAL);
        }
        let how = how as u8;
        let _owned = sk.lock();
        let res = match sk.state() {
            TCP_CLOSE => {
                sk.set_shutdown(sk.shutdown() | how);
                Err(ENOTCONN)
            }
            TCP_LISTEN if how & RCV_SHUTDOWN == 0 => Ok(()),
            TCP_LISTEN | TCP_SYN_SENT => {
                Self::disconnect(sk);
                sock.set_state(SS_UNCONNECTED);
                Ok(())
            }
            _ => {
                sk.set_shutdown(sk.shutdown() | how);
                if how & SEND_SHUTDOWN != 0 {
                    Self::shutdown_send(sk);
                }
                Ok(())
            }
        };
        sk.state_change();
        res
    }

    /// `inet_listen`: from CLOSE (binding an ephemeral port if unbound), or
    /// a new backlog for a listener; `EINVAL` otherwise.
    fn listen(sock: &Socket<RtcpProto>, backlog: i32) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let mut owned = sk.lock();
        if sock.state() != SS_UNCONNECTED {
            return Err(EINVAL);
        }
        let backlog = usize::try_from(backlog).unwrap_or(0);
        match sk.state() {
            TCP_LISTEN => {
                if let Tcb::Listen(l) = &mut *sk.shared().tcb.lock() {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            TCP_CLOSE => {}
            _ => return Err(EINVAL),
        }
        let net = sk.net();
        if owned.port.is_none() {
            let v6 = sk.shared().v6.load(Ordering::Relaxed);
            let from = SockAddr { port: 0, v6, ..owned.local };
            let port = PortReservation::take(net, from, sk.bind_options())?;
            owned.local = port.addr()?;
            owned.port = Some(port);
        }
        let local = owned.local;
        // The port's reservation is never a listener, so the kernel's bind
        // rules let two sockets with SO_REUSEADDR bind it; listening is
        // checked here as inet_csk_listen_start's get_port checks it.
        RtcpNet::of(net).listen_conflict(sk, local)?;
        sk.shared().fastopen.on_listen(net, backlog);
        *sk.shared().tcb.lock() =
            Tcb::Listen(Listener::new(backlog, local.port, owned.port.clone())?);
        {
            let mut ls = RtcpNet::of(net).listeners.lock();
            if let Err(e) = ls.push(local, sk.into()) {
                drop(ls);
                *sk.shared().tcb.lock() = Tcb::Idle;
                return Err(e);
            }
        }
        sk.set_state(TCP_LISTEN);
        Ok(())
    }

    /// `inet_accept`: the next connection on the accept queue, waiting for
    /// one unless non-blocking (`EAGAIN`), up to `SO_RCVTIMEO` (`EAGAIN`);
    /// `EINVAL` if the socket is not listening.
    fn accept(sock: &Socket<RtcpProto>, newsock: &Socket<RtcpProto>, nonblock: bool) -> Result {
        let sk = sock.sk().ok_or(EINVAL)?;
        let pop = || -> Result<Option<ARef<Sock<RtcpProto>>>> {
            match &mut *sk.shared().tcb.lock() {
                Tcb::Listen(l) if !l.queue.is_empty() => Ok(l.queue.remove(0).ok()),
                Tcb::Listen(_) => Ok(None),
                _ => Err(EINVAL),
            }
        };
        let mut child = pop()?;
        if child.is_none() {
            let mut timeo = sk.recv_timeout(nonblock);
            let ready = sk.wait_until(&mut timeo, || match &*sk.shared().tcb.lock() {
                Tcb::Listen(l) => !l.queue.is_empty(),
                _ => true,
            })?;
            if !ready {
                return Err(EAGAIN);
            }
            child = pop()?;
        }
        newsock.graft(child.ok_or(EAGAIN)?);
        Ok(())
    }

    fn sendmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize) -> Result<usize> {
        crate::rtcp::sendmsg(sock, msg, len)
    }

    fn recvmsg(sock: &Socket<RtcpProto>, msg: &mut Msg<'_>, len: usize, flags: i32) -> Result<usize> {
        crate::rtcp::recvmsg(sock, msg, len, flags)
    }

    fn poll(sock: &Socket<RtcpProto>, wait: &PollTable<'_>) -> u32 {
        crate::rtcp::poll(sock, wait)
    }

    fn timer(sk: &Sock<RtcpProto>) {
        crate::rtcp_timer::timer(sk)
    }

    fn destruct(sk: &Sock<RtcpProto>) {
        // Release: the namespace's exit may be waiting for the count, and
        // frees the state once it sees zero.
        RtcpNet::of(sk.net()).socks.fetch_sub(1, Ordering::Release);
    }
}

impl RtcpOps {
    /// The wait of a blocking connect (`inet_wait_for_connect`), up to
    /// `SO_SNDTIMEO` (`EINPROGRESS`), without the socket lock; then the
    /// socket is connected, or ends with the connection's error.
    pub(crate) fn wait_connected(sock: &Socket<RtcpProto>, sk: &Sock<RtcpProto>, nonblock: bool) -> Result {
        let mut timeo = sk.send_timeout(nonblock);
        if !sk.wait_until(&mut timeo, || sk.state() != TCP_SYN_SENT)? {
            return Err(EINPROGRESS);
        }
        let _owned = sk.lock();
        if sk.state() == TCP_CLOSE {
            // Reset for another connect(), as the disconnect of
            // __inet_stream_connect's sock_error.
            sock.set_state(SS_UNCONNECTED);
            sk.set_shutdown(0);
            let err = sk.take_error();
            return Err(if err > 0 { Error::from_errno(-err) } else { ECONNABORTED });
        }
        sock.set_state(SS_CONNECTED);
        Ok(())
    }
}

/// Takes `addr`'s port for a socket that may bind there: the kernel's
/// bind rules decide conflicts (`EADDRINUSE`; `inet_csk_get_port`).
/// Under the socket's lock.
pub(crate) fn bind_port(sk: &Sock<RtcpProto>, owned: &mut RtcpOwned, addr: SockAddr) -> Result {
    let net = sk.net();
    if addr.port == 0 && sk.shared().ip.bind_address_no_port() {
        // IP_BIND_ADDRESS_NO_PORT: the address now, a port at
        // connect() (or listen()); the socket may still bind again,
        // as it holds no port (`__inet_bind` checks `inet_num`).
        owned.local = addr;
        return Ok(());
    }
    let nonlocal = sk.shared().ip.nonlocal_bind();
    let port = PortReservation::take_with(net, addr, sk.bind_options(), nonlocal)?;
    owned.local = port.addr()?;
    owned.port = Some(port);
    owned.bound = addr.port != 0;
    Ok(())
}
