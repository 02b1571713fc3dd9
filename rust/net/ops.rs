// SPDX-License-Identifier: GPL-2.0

//! `struct proto_ops`: the socket calls of a family, filled from a trait.
//!
//! C header: [`include/linux/net.h`].

use crate::sys;
use pin_init::PinInit as _;
use core::{cell::UnsafeCell, marker::PhantomData, ptr::NonNull};
use kernel::{error::from_result, ffi::c_int, prelude::*, sync::aref::ARef};

use super::inet::SockAddr;
use super::netns::Net;
use super::proto::ProtoDef;
use super::sock::{Proto, Sock, SockWith, Socket};

/// A `poll_table` handed to [`SocketOps::poll`].
///
/// # Invariants
///
/// Holds the file and the poll table of one `poll` call (the table may be
/// null when the caller only wants the mask).
pub(crate) struct PollTable<'a> {
    file: *mut sys::file,
    table: *mut sys::poll_table,
    _p: PhantomData<&'a ()>,
}

impl PollTable<'_> {
    /// Registers the caller on the socket's wait queue (`sock_poll_wait`).
    pub(crate) fn wait<P>(&self, sock: &Socket<P>) {
        // SAFETY: by the type invariant `file` and `table` come from the
        // current `poll` call on `sock`'s file.
        unsafe { sys::rtcp_helper_sock_poll_wait(self.file, sock.as_ptr(), self.table) }
    }
}

/// The socket calls RTCP implements. Calls without a method here answer
/// `EOPNOTSUPP` through the kernel's `sock_no_*` helpers.
pub(crate) trait SocketOps: 'static {
    /// The protocol of the family's socks.
    type Proto: Proto;
    /// The address family (`proto_ops.family`).
    const FAMILY: i32;

    /// `close()` of the last file reference.
    fn release(sock: &Socket<Self::Proto>) -> Result;

    /// `bind()`, with the address as the caller passed it (`addr.len()` is
    /// the caller's `addrlen`).
    fn bind(sock: &Socket<Self::Proto>, addr: &[u8]) -> Result;

    /// `connect()`, with the address as the caller passed it; `nonblock`
    /// for `O_NONBLOCK`.
    fn connect(sock: &Socket<Self::Proto>, addr: &[u8], nonblock: bool) -> Result;

    /// `shutdown()`, with `how` as the caller gave it (`SHUT_RD`, ...).
    fn shutdown(sock: &Socket<Self::Proto>, how: i32) -> Result;

    /// `listen()`, with the backlog the socket layer capped at somaxconn.
    fn listen(sock: &Socket<Self::Proto>, backlog: i32) -> Result;

    /// `accept()`: attach the next connection to `newsock`
    /// ([`Socket::graft`]).
    fn accept(sock: &Socket<Self::Proto>, newsock: &Socket<Self::Proto>, nonblock: bool) -> Result;

    /// The `SOL_SOCKET` options `setsockopt` answers itself (the family's
    /// sockets have `SOCK_CUSTOM_SOCKOPT`); every other one goes to the
    /// core's `sock_setsockopt` unchanged, as AF_UNIX and MPTCP do.
    /// `getsockopt()` at `SOL_SOCKET` always goes to the core.
    fn custom_sol_socket(name: i32) -> bool;

    /// What the family refuses of a `SOL_SOCKET` option before the core's
    /// `sock_setsockopt` takes it (where the core tests for inet's TCP,
    /// which a family of its own never is); `val` is the caller's value.
    fn sol_socket_check(sock: &Socket<Self::Proto>, name: i32, val: &OptIn) -> Result;

    /// `setsockopt()` at a level other than `SOL_SOCKET`, or at
    /// `SOL_SOCKET` for the options of [`SocketOps::custom_sol_socket`],
    /// with the caller's value.
    fn setsockopt(sock: &Socket<Self::Proto>, level: i32, name: i32, val: &OptIn) -> Result;

    /// `getsockopt()` at a level other than `SOL_SOCKET`.
    fn getsockopt(sock: &Socket<Self::Proto>, level: i32, name: i32) -> Result<OptVal>;

    /// `ioctl()` on the socket: the `int` to store at the caller's
    /// argument; `ENOIOCTLCMD` for a command the protocol does not know
    /// (the socket layer then tries the device ioctls).
    fn ioctl(sock: &Socket<Self::Proto>, cmd: u32) -> Result<i32>;

    /// `getsockname()` (`peer == false`) and `getpeername()`.
    fn getname(sock: &Socket<Self::Proto>, peer: bool) -> Result<SockAddr>;

    /// `sendmsg()` and its kin: the bytes taken from `msg` (at most `len`).
    fn sendmsg(sock: &Socket<Self::Proto>, msg: &mut super::Msg<'_>, len: usize) -> Result<usize>;

    /// `recvmsg()` and its kin: the bytes given to `msg` (at most `len`),
    /// with the call's `MSG_*` `flags`.
    fn recvmsg(sock: &Socket<Self::Proto>, msg: &mut super::Msg<'_>, len: usize, flags: i32) -> Result<usize>;

    /// `poll()`: the ready mask (`EPOLL*`).
    fn poll(sock: &Socket<Self::Proto>, wait: &PollTable<'_>) -> u32;

    /// The sock's timer (`sk_timer`) fired; softirq context.
    fn timer(sk: &Sock<Self::Proto>);

    /// The last reference to a sock of this family is going
    /// (`sk_destruct`); its private state is dropped after this returns.
    fn destruct(sk: &Sock<Self::Proto>);
}

/// The bytes a `setsockopt()` value holds at most here: an `int`, or a
/// congestion control's name (`TCP_CA_NAME_MAX`, `include/net/tcp.h`).
const OPT_IN_MAX: usize = 16;

/// A `setsockopt()` value, read as the option reads it: its length is
/// checked before the caller's memory is, as `do_tcp_setsockopt` and
/// `sk_setsockopt` do (`EINVAL` for a short value before `EFAULT` for a
/// bad pointer).
///
/// # Invariants
///
/// `ptr` holds `len` bytes of the caller's for as long as this value
/// lives: it is made by [`Adapter`]'s `setsockopt` for the one call, and
/// neither copied nor moved out of it.
pub(crate) struct OptIn {
    ptr: sys::sockptr_t,
    len: usize,
}

/// A name a `setsockopt()` value holds (`TCP_CONGESTION`).
pub(crate) struct OptName {
    bytes: [u8; OPT_IN_MAX],
    len: usize,
}

impl OptName {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl OptIn {
    /// Copies the first `buf.len()` bytes of the value (`EFAULT` if the
    /// caller's memory cannot be read); the caller checked the length.
    fn read(&self, buf: &mut [u8]) -> Result {
        // SAFETY: `ptr` holds `len` bytes (type invariant), at least
        // `buf.len()`, which `buf` has room for.
        match unsafe { sys::rtcp_helper_copy_from_sockptr(buf.as_mut_ptr().cast(), self.ptr, buf.len().min(self.len)) } {
            0 => Ok(()),
            _ => Err(EFAULT),
        }
    }

    /// The value as an `int` (`EINVAL` if the caller gave less).
    pub(crate) fn int(&self) -> Result<i32> {
        let mut b = [0u8; 4];
        if self.len < b.len() {
            return Err(EINVAL);
        }
        self.read(&mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    /// The value of a `SOL_IP` integer option, as `do_ip_setsockopt` reads
    /// it: an `int` if the caller gave one, else its first byte, else 0.
    pub(crate) fn ip_int(&self) -> Result<i32> {
        if self.len >= 4 {
            return self.int();
        }
        let mut b = [0u8; 1];
        if self.len >= 1 {
            self.read(&mut b)?;
        }
        Ok(i32::from(b[0]))
    }

    /// The value's bytes, exactly `buf.len()` of them (`EINVAL` for any
    /// other length).
    pub(crate) fn bytes(&self, buf: &mut [u8]) -> Result {
        if self.len != buf.len() {
            return Err(EINVAL);
        }
        self.read(buf)
    }

    /// The length the caller gave.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value as a name (`TCP_CONGESTION`): at most `TCP_CA_NAME_MAX`
    /// less one bytes, up to the first NUL (`strncpy_from_sockptr`);
    /// `EINVAL` if the caller gave none.
    pub(crate) fn name(&self) -> Result<OptName> {
        if self.len == 0 {
            return Err(EINVAL);
        }
        let mut n = OptName { bytes: [0; OPT_IN_MAX], len: self.len.min(OPT_IN_MAX - 1) };
        let len = n.len;
        self.read(n.bytes.get_mut(..len).ok_or(EINVAL)?)?;
        n.len = n.as_bytes().iter().position(|&b| b == 0).unwrap_or(len);
        Ok(n)
    }
}

/// A socket option's value, as `getsockopt()` copies it out.
// A value lives on the stack for one call: boxing the large one would
// cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum OptVal {
    /// An `int` (as much of it as the caller has room for).
    Int(i32),
    /// `TCP_INFO`'s `struct tcp_info` (as much as the caller has room for).
    TcpInfo(sys::tcp_info),
    /// A name, NUL-padded (`TCP_CONGESTION`; as much as the caller has
    /// room for).
    Name([u8; OPT_IN_MAX]),
    /// No bytes at all (`TCP_CC_INFO` of an algorithm that has none).
    Empty,
    /// The first `.1` bytes (`TCP_FASTOPEN_KEY`'s keys; as much as the
    /// caller has room for).
    Bytes([u8; 32], usize),
}

impl OptVal {
    /// `name`, NUL-padded (cut to `TCP_CA_NAME_MAX` less one bytes).
    pub(crate) fn name(name: &[u8]) -> OptVal {
        let mut n = [0u8; OPT_IN_MAX];
        n.iter_mut().take(OPT_IN_MAX - 1).zip(name).for_each(|(d, s)| *d = *s);
        OptVal::Name(n)
    }
}

/// Builds the C table of a [`SocketOps`] implementation.
pub(crate) struct Adapter<O>(PhantomData<O>);

impl<O: SocketOps> Adapter<O> {
    const TABLE: sys::proto_ops = sys::proto_ops {
        family: O::FAMILY,
        owner: crate::THIS_MODULE.as_ptr().cast(),
        release: Some(Self::release),
        bind: Some(Self::bind),
        getname: Some(Self::getname),
        poll: Some(Self::poll),
        connect: Some(Self::connect),
        socketpair: Some(sys::sock_no_socketpair),
        accept: Some(Self::accept),
        ioctl: Some(Self::ioctl),
        listen: Some(Self::listen),
        shutdown: Some(Self::shutdown),
        sendmsg: Some(Self::sendmsg),
        recvmsg: Some(Self::recvmsg),
        mmap: Some(sys::sock_no_mmap),
        setsockopt: Some(Self::setsockopt),
        getsockopt_iter: Some(Self::getsockopt),
        ..pin_init::zeroed()
    };

    /// The `proto_ops` table of `O`, for `sock->ops`.
    pub(crate) fn table() -> *const sys::proto_ops {
        &Self::TABLE
    }

    /// The socket of a call: its ops are this table, so its sock (if any)
    /// was allocated for `O::Proto` (`Sock::alloc::<O>`).
    ///
    /// # Safety
    ///
    /// `sock` is a live socket whose `ops` is [`Adapter::table`], alive for
    /// `'a`.
    unsafe fn socket<'a>(sock: *mut sys::socket) -> &'a Socket<O::Proto> {
        // SAFETY: as the caller guarantees.
        unsafe { Socket::from_raw(sock) }
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family.
    unsafe extern "C" fn release(sock: *mut sys::socket) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::release(unsafe { Self::socket(sock) })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and the
    /// address the caller gave, copied into kernel memory
    /// (`move_addr_to_kernel`: `len` bytes at most `sockaddr_storage`).
    unsafe extern "C" fn bind(
        sock: *mut sys::socket,
        addr: *mut sys::sockaddr_unsized,
        len: c_int,
    ) -> c_int {
        from_result(|| {
            let len = usize::try_from(len).map_err(|_| EINVAL)?;
            // SAFETY: `addr` holds `len` initialised bytes (see above).
            let addr = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len) };
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::bind(unsafe { Self::socket(sock) }, addr)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and the
    /// caller's value (`optlen` bytes behind `optval`).
    unsafe extern "C" fn setsockopt(
        sock: *mut sys::socket,
        level: c_int,
        name: c_int,
        optval: sys::sockptr_t,
        optlen: kernel::ffi::c_uint,
    ) -> c_int {
        from_result(|| {
            // INVARIANT: `optval` holds `optlen` bytes for the call, which
            // `val` does not outlive.
            let val = OptIn { ptr: optval, len: optlen as usize };
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let socket = unsafe { Self::socket(sock) };
            if level == sys::RTCP_SOL_SOCKET && !O::custom_sol_socket(name) {
                O::sol_socket_check(socket, name, &val)?;
                // SAFETY: as the socket layer called us: `sock_setsockopt`
                // is what it calls without `SOCK_CUSTOM_SOCKOPT`.
                return Ok(unsafe { sys::sock_setsockopt(sock, level, name, optval, optlen) });
            }
            O::setsockopt(socket, level, name, &val)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and the
    /// caller's buffer as an iterator (`opt->optlen` bytes).
    unsafe extern "C" fn getsockopt(
        sock: *mut sys::socket,
        level: c_int,
        name: c_int,
        opt: *mut sys::sockopt_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let val = O::getsockopt(unsafe { Self::socket(sock) }, level, name)?;
            // As do_tcp_getsockopt: at most the value's size, whatever was
            // asked for; less if the caller gave less room.
            // SAFETY: `opt` is the call's option block.
            let room = usize::try_from(unsafe { (*opt).optlen }).map_err(|_| EINVAL)?;
            let copy = |p: *const u8, size: usize| -> Result {
                let len = room.min(size);
                // SAFETY: `opt` is the call's option block; `p` has `size`
                // bytes, of which `len` are copied.
                unsafe {
                    (*opt).optlen = len as c_int;
                    if sys::rtcp_helper_copy_to_iter(p.cast(), len, &raw mut (*opt).iter_out) != len {
                        return Err(EFAULT);
                    }
                }
                Ok(())
            };
            match &val {
                OptVal::Int(v) => copy(core::ptr::from_ref(v).cast(), core::mem::size_of::<i32>())?,
                OptVal::TcpInfo(i) => copy(core::ptr::from_ref(i).cast(), core::mem::size_of::<sys::tcp_info>())?,
                OptVal::Name(n) => copy(n.as_ptr(), n.len())?,
                OptVal::Empty => copy([].as_ptr(), 0)?,
                OptVal::Bytes(b, n) => copy(b.as_ptr(), (*n).min(b.len()))?,
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and
    /// the call's message.
    unsafe extern "C" fn sendmsg(sock: *mut sys::socket, m: *mut sys::msghdr, len: usize) -> c_int {
        from_result(|| {
            // SAFETY: the call's msghdr, used by this call only.
            let mut msg = unsafe { super::Msg::from_raw(m) };
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let n = O::sendmsg(unsafe { Self::socket(sock) }, &mut msg, len)?;
            Ok(c_int::try_from(n).unwrap_or(c_int::MAX))
        })
    }

    /// # Safety
    ///
    /// As for `sendmsg`.
    unsafe extern "C" fn recvmsg(sock: *mut sys::socket, m: *mut sys::msghdr, len: usize, flags: c_int) -> c_int {
        from_result(|| {
            // SAFETY: the call's msghdr, used by this call only.
            let mut msg = unsafe { super::Msg::from_raw(m) };
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let n = O::recvmsg(unsafe { Self::socket(sock) }, &mut msg, len, flags)?;
            Ok(c_int::try_from(n).unwrap_or(c_int::MAX))
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and the
    /// caller's argument (a user pointer for the commands RTCP knows).
    unsafe extern "C" fn ioctl(sock: *mut sys::socket, cmd: kernel::ffi::c_uint, arg: kernel::ffi::c_ulong) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let val = O::ioctl(unsafe { Self::socket(sock) }, cmd)?;
            // SAFETY: `put_user` checks the user pointer itself.
            if unsafe { sys::rtcp_helper_put_user_int(val, arg) } != 0 {
                return Err(EFAULT);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family.
    unsafe extern "C" fn shutdown(sock: *mut sys::socket, how: c_int) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::shutdown(unsafe { Self::socket(sock) }, how)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family.
    unsafe extern "C" fn listen(sock: *mut sys::socket, backlog: c_int) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::listen(unsafe { Self::socket(sock) }, backlog)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live listening socket of this
    /// family and a new socket whose ops are already this table.
    unsafe extern "C" fn accept(
        sock: *mut sys::socket,
        newsock: *mut sys::socket,
        arg: *mut sys::proto_accept_arg,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `arg` is the accept call's argument block.
            let nonblock = unsafe { (*arg).flags } & sys::O_NONBLOCK as c_int != 0;
            // SAFETY: the socket layer keeps both sockets alive for the
            // call; `newsock` has this table as its ops, and no sock.
            let (sock, newsock) = unsafe { (Self::socket(sock), Self::socket(newsock)) };
            O::accept(sock, newsock, nonblock)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `bind`; `flags` are the file's flags.
    unsafe extern "C" fn connect(
        sock: *mut sys::socket,
        addr: *mut sys::sockaddr_unsized,
        len: c_int,
        flags: c_int,
    ) -> c_int {
        from_result(|| {
            let len = usize::try_from(len).map_err(|_| EINVAL)?;
            // SAFETY: `addr` holds `len` initialised bytes (see `bind`).
            let addr = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len) };
            let nonblock = flags & sys::O_NONBLOCK as c_int != 0;
            // SAFETY: the socket layer keeps `sock` alive for the call.
            O::connect(unsafe { Self::socket(sock) }, addr, nonblock)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family and
    /// room for a `sockaddr_storage` at `addr`.
    unsafe extern "C" fn getname(
        sock: *mut sys::socket,
        addr: *mut sys::sockaddr,
        peer: c_int,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the socket layer keeps `sock` alive for the call.
            let name = O::getname(unsafe { Self::socket(sock) }, peer != 0)?;
            let (bytes, len) = name.to_bytes();
            // SAFETY: `addr` has room for a `sockaddr_storage` (128 bytes),
            // more than a `sockaddr_in6`.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast::<u8>(), len) };
            Ok(len as c_int)
        })
    }

    /// # Safety
    ///
    /// Called by the socket layer with a live socket of this family, its
    /// file and a poll table (possibly null).
    unsafe extern "C" fn poll(
        file: *mut sys::file,
        sock: *mut sys::socket,
        table: *mut sys::poll_table,
    ) -> sys::__poll_t {
        // INVARIANT: `file` and `table` are those of this `poll` call.
        let wait = PollTable { file, table, _p: PhantomData };
        // SAFETY: the socket layer keeps `sock` alive for the call.
        O::poll(unsafe { Self::socket(sock) }, &wait)
    }

    /// # Safety
    ///
    /// Called by the timer code with the `sk_timer` of a sock of
    /// `O::Proto` (set up by `Sock::alloc::<O>`), which holds a reference
    /// on the sock (`sk_reset_timer`).
    pub(crate) unsafe extern "C" fn timer(t: *mut sys::timer_list) {
        let off = core::mem::offset_of!(sys::sock, __bindgen_anon_3.sk_timer);
        // SAFETY: `t` is the `sk_timer` field of a sock (container_of).
        let sk = unsafe { t.cast::<u8>().sub(off).cast::<sys::sock>() };
        // SAFETY: the pending timer held a reference, alive until the
        // `sock_put` below.
        O::timer(unsafe { Sock::<O::Proto>::from_raw(sk) });
        // SAFETY: the reference `sk_reset_timer` took for this expiry.
        unsafe { sys::rtcp_helper_sock_put(sk) };
    }

    /// # Safety
    ///
    /// Called by `__sk_destruct` with a sock of `O::Proto` whose last
    /// reference went.
    pub(crate) unsafe extern "C" fn destruct(sk: *mut sys::sock) {
        // SAFETY: the sock was allocated for `O::Proto` (its destructor is
        // set only by `Sock::alloc::<O>`) and is alive until this returns.
        let sk = unsafe { Sock::<O::Proto>::from_raw(sk) };
        O::destruct(sk);
        sk.purge_error_queue();
        // The route the sock kept for its segments goes with it, as
        // `inet_sock_destruct` drops `sk_dst_cache` (`__sk_destruct` does
        // not): a route shared through the FIB's cache would leak.
        super::route::Route::forget(sk);
        // SAFETY: the last reference is gone; nothing uses the state again.
        unsafe { sk.drop_private() };
    }
}

impl<P: Proto> Sock<P> {
    /// Allocates a sock of `proto` in `net` (`sk_alloc`), initialises
    /// `P`'s state after the `struct sock`, and links it to `sock`
    /// (`sock_init_data`; null for a listener's child, which gets its
    /// socket in `accept()`) with `O`'s destructor and timer. The sock's
    /// one reference is the caller's.
    fn alloc_raw<O: SocketOps<Proto = P>>(
        net: &Net,
        sock: *mut sys::socket,
        family: i32,
        proto: &'static ProtoDef<P>,
        gfp: sys::gfp_t,
        kern: bool,
    ) -> Result<NonNull<sys::sock>> {
        // SAFETY: `net` is alive, `proto` is registered for as long as the
        // module is loaded, and every sock of it holds a module reference.
        let sk = unsafe { sys::sk_alloc(net.as_ptr(), family, gfp, proto.as_ptr(), i32::from(kern)) };
        let sk = NonNull::new(sk).ok_or(ENOBUFS)?;
        let with = sk.as_ptr().cast::<SockWith<P>>();
        // SAFETY: `sk` is a new sock of `proto`, whose `obj_size` is that of
        // `SockWith<P>`; the state after the `struct sock` is uninitialised
        // and pinned (socks never move).
        if let Err(e) = unsafe { P::shared().__init(&raw mut (*with).shared) } {
            // SAFETY: nothing else knows the sock; `sk_free` takes the
            // allocation reference `sk_alloc` gave.
            unsafe { sys::sk_free(sk.as_ptr()) };
            return Err(e);
        }
        // `sock`, if not null, is the socket being created (alive, not yet
        // visible to anyone else); `sock_init_data` links the two and sets
        // the sock's reference count to one.
        // SAFETY: as above for the owned state, and as just said for `sock`.
        unsafe {
            (&raw mut (*with).owned).write(UnsafeCell::new(P::Owned::default()));
            if !sock.is_null() {
                (*sock).ops = Adapter::<O>::table();
                Socket::<P>::from_raw(sock).set_custom_sockopt();
            }
            sys::sock_init_data(sock, sk.as_ptr());
            (*sk.as_ptr()).sk_destruct = Some(Adapter::<O>::destruct);
            sys::rtcp_helper_timer_setup(&raw mut (*sk.as_ptr()).__bindgen_anon_3.sk_timer, Some(Adapter::<O>::timer));
        }
        Ok(sk)
    }

    /// Allocates a sock of `proto` in `net`, attaches it to `sock`, and
    /// gives `sock` the operations of `O`. The socket owns the one
    /// reference; `release` takes it back with [`Socket::take_sk`].
    pub(crate) fn alloc<'a, O: SocketOps<Proto = P>>(
        net: &Net,
        sock: &'a Socket,
        family: i32,
        proto: &'static ProtoDef<P>,
        kern: bool,
    ) -> Result<&'a Sock<P>> {
        let sk = Self::alloc_raw::<O>(net, sock.as_ptr(), family, proto, sys::RTCP_GFP_KERNEL, kern)?;
        // INVARIANT: allocated for `P` with its state initialised; alive
        // while the socket holds it.
        // SAFETY: as above.
        Ok(unsafe { Sock::from_raw(sk.as_ptr()) })
    }

    /// Allocates a sock of `proto` in `net` for a connection a listener
    /// accepted (softirq context: `GFP_ATOMIC`), with no socket yet: it
    /// gets one in `accept()` ([`Socket::graft`]). A user sock (it holds a
    /// namespace reference), as the listener's children are. The returned
    /// reference is the sock's only one.
    pub(crate) fn alloc_child<O: SocketOps<Proto = P>>(
        net: &Net,
        family: i32,
        proto: &'static ProtoDef<P>,
    ) -> Result<ARef<Sock<P>>> {
        let sk = Self::alloc_raw::<O>(net, core::ptr::null_mut(), family, proto, sys::RTCP_GFP_ATOMIC, false)?;
        // SAFETY: the one reference `alloc_raw` gave is handed to the
        // `ARef`; the sock was allocated for `P` with its state initialised.
        Ok(unsafe { ARef::from_raw(sk.cast()) })
    }
}
