// SPDX-License-Identifier: GPL-2.0

//! IPv4 socket addresses, local-address checks, and port reservations in
//! the namespace's shared TCP port space.
//!
//! C headers: [`include/uapi/linux/in.h`], [`include/net/route.h`],
//! [`include/linux/net.h`] (`sock_create_kern`, `kernel_bind`).

use crate::sys;
use core::ptr::NonNull;
use kernel::{error::to_result, ffi::c_int, prelude::*};

use super::sock::Net;

/// `AF_INET`, `AF_UNSPEC`, `SOCK_STREAM`, `IPPROTO_TCP`.
pub(crate) const AF_INET: u16 = sys::AF_INET as u16;
const AF_UNSPEC: u16 = sys::AF_UNSPEC as u16;

/// An IPv4 socket address (`struct sockaddr_in`), in host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SockAddrIn {
    pub(crate) addr: u32,
    pub(crate) port: u16,
}

/// The size of `struct sockaddr_in`.
pub(crate) const SOCKADDR_IN_LEN: usize = 16;

impl SockAddrIn {
    /// Reads the address `bind()` or `connect()` was given, with
    /// `__inet_bind`'s checks: `EINVAL` if shorter than a `sockaddr_in`,
    /// `EAFNOSUPPORT` for a family other than `AF_INET` (but `AF_UNSPEC`
    /// with `INADDR_ANY`, accepted for compatibility).
    pub(crate) fn from_bind(raw: &[u8]) -> Result<SockAddrIn> {
        let Some(&[f0, f1, p0, p1, a0, a1, a2, a3]) = raw.get(..8) else {
            return Err(EINVAL);
        };
        if raw.len() < SOCKADDR_IN_LEN {
            return Err(EINVAL);
        }
        let family = u16::from_ne_bytes([f0, f1]);
        let a = SockAddrIn {
            addr: u32::from_be_bytes([a0, a1, a2, a3]),
            port: u16::from_be_bytes([p0, p1]),
        };
        if family != AF_INET && (family != AF_UNSPEC || a.addr != 0) {
            return Err(EAFNOSUPPORT);
        }
        Ok(a)
    }

    /// Reads the address `connect()` was given (`tcp_v4_connect`):
    /// `EINVAL` if shorter than a `sockaddr_in`, `EAFNOSUPPORT` for a
    /// family other than `AF_INET`.
    pub(crate) fn from_connect(raw: &[u8]) -> Result<SockAddrIn> {
        let Some(&[f0, f1, p0, p1, a0, a1, a2, a3]) = raw.get(..8) else {
            return Err(EINVAL);
        };
        if raw.len() < SOCKADDR_IN_LEN {
            return Err(EINVAL);
        }
        if u16::from_ne_bytes([f0, f1]) != AF_INET {
            return Err(EAFNOSUPPORT);
        }
        Ok(SockAddrIn { addr: u32::from_be_bytes([a0, a1, a2, a3]), port: u16::from_be_bytes([p0, p1]) })
    }

    /// The `struct sockaddr_in` bytes.
    pub(crate) fn to_bytes(self) -> [u8; SOCKADDR_IN_LEN] {
        let mut b = [0u8; SOCKADDR_IN_LEN];
        let [f0, f1] = AF_INET.to_ne_bytes();
        let [p0, p1] = self.port.to_be_bytes();
        let [a0, a1, a2, a3] = self.addr.to_be_bytes();
        b[..8].copy_from_slice(&[f0, f1, p0, p1, a0, a1, a2, a3]);
        b
    }
}

/// May a socket in `net` bind to `addr`? `INADDR_ANY`, a local, broadcast
/// or multicast address, or anything when `ip_nonlocal_bind` is set
/// (`inet_addr_valid_or_nonlocal` for a socket without `IP_FREEBIND`).
pub(crate) fn bindable_addr(net: &Net, addr: u32) -> bool {
    if addr == 0 {
        return true;
    }
    // SAFETY: `net` is alive; the address is a plain value.
    let kind = unsafe { sys::inet_addr_type_table(net.as_ptr(), addr.to_be(), sys::RTCP_RT_TABLE_LOCAL) };
    // SAFETY: `net` is alive.
    let nonlocal = unsafe { sys::rtcp_helper_ip_nonlocal_bind(net.as_ptr()) };
    nonlocal
        || kind == sys::RTN_LOCAL
        || kind == sys::RTN_MULTICAST
        || kind == sys::RTN_BROADCAST
}

/// Does binding `port` in `net` need `CAP_NET_BIND_SERVICE` that the
/// caller lacks (`ip_unprivileged_port_start`, `ns_capable`)?
pub(crate) fn port_needs_privilege(net: &Net, port: u16) -> bool {
    // SAFETY: `net` is alive; `ns_capable` looks at the current task.
    unsafe {
        sys::rtcp_helper_inet_port_requires_bind_service(net.as_ptr(), port)
            && !sys::rtcp_helper_net_capable(net.as_ptr(), sys::CAP_NET_BIND_SERVICE as c_int)
    }
}

/// A port held in the namespace's TCP port space on behalf of an RTCP
/// socket: a kernel `AF_INET` TCP socket bound (never listening, never
/// connected) to the same address and port.
///
/// RTCP and Linux's TCP share one port space. Holding the port through the
/// socket API lets the kernel's own bind rules decide every conflict, both
/// ways: an RTCP `bind()` gets `EADDRINUSE` where a TCP socket holds the
/// port (and the reverse), `SO_REUSEADDR`/`SO_REUSEPORT`/`SO_BINDTODEVICE`
/// mean what they mean for TCP, and port 0 takes an ephemeral port from
/// `ip_local_port_range` that no socket of either kind holds. Segments for
/// RTCP's ports never reach Linux's TCP (the receive hook takes them).
///
/// # Invariants
///
/// `sock` is a live kernel socket owned by this value.
pub(crate) struct PortReservation {
    sock: NonNull<sys::socket>,
}

impl PortReservation {
    /// Takes `addr` (port 0: an ephemeral port) in `net`, with the bind
    /// options of the RTCP socket: `(reuse, reuseport, bound_dev_if)`.
    /// Errors are those of `bind()` on a TCP socket.
    pub(crate) fn take(net: &Net, addr: SockAddrIn, opts: (u8, u8, i32)) -> Result<Self> {
        let mut sock = core::ptr::null_mut();
        // SAFETY: `net` is alive; `sock` receives the new socket.
        to_result(unsafe {
            sys::sock_create_kern(
                net.as_ptr(),
                c_int::from(AF_INET),
                sys::sock_type_SOCK_STREAM as c_int,
                sys::IPPROTO_TCP as c_int,
                &mut sock,
            )
        })?;
        // INVARIANT: `sock_create_kern` succeeded, so `sock` is a live
        // socket that nobody else knows.
        let r = PortReservation { sock: NonNull::new(sock).ok_or(ENOMEM)? };
        let sk = r.sk();
        let (reuse, reuseport, dev) = opts;
        // SAFETY: `sk` is the new socket's sock, not yet bound.
        unsafe {
            if reuse != 0 {
                sys::sock_set_reuseaddr(sk);
            }
            if reuseport != 0 {
                sys::sock_set_reuseport(sk);
            }
            if dev != 0 {
                to_result(sys::sock_bindtoindex(sk, dev, true))?;
            }
        }
        let raw = addr.to_bytes();
        // SAFETY: the socket is alive; `raw` is a `sockaddr_in` of its size.
        to_result(unsafe {
            sys::kernel_bind(sock, raw.as_ptr().cast_mut().cast(), SOCKADDR_IN_LEN as c_int)
        })?;
        Ok(r)
    }

    fn sk(&self) -> *mut sys::sock {
        // SAFETY: the socket is alive (type invariant) and has a sock.
        unsafe { (*self.sock.as_ptr()).sk }
    }

    /// The address and port held.
    pub(crate) fn addr(&self) -> Result<SockAddrIn> {
        let mut raw = [0u8; 128];
        // SAFETY: the socket is alive; `raw` has room for any address.
        let len = unsafe { sys::kernel_getsockname(self.sock.as_ptr(), raw.as_mut_ptr().cast()) };
        to_result(len.min(0))?;
        let addr = SockAddrIn::from_bind(raw.get(..SOCKADDR_IN_LEN).ok_or(EINVAL)?)?;
        Ok(addr)
    }
}

impl Drop for PortReservation {
    fn drop(&mut self) {
        // SAFETY: the socket is owned by `self` (type invariant).
        unsafe { sys::sock_release(self.sock.as_ptr()) }
    }
}

// SAFETY: the kernel socket may be used and released from any task.
unsafe impl Send for PortReservation {}
// SAFETY: `&PortReservation` only reads the bound address, which the
// kernel serialises under the socket's own lock.
unsafe impl Sync for PortReservation {}
