// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: `struct pernet_operations` with an id and a
//! size, so that `net_generic()` finds one `P::State` in every namespace.
//!
//! C header: [`include/net/net_namespace.h`], [`include/net/netns/generic.h`].

use crate::sys;
use pin_init::PinInit as _;
use core::marker::PhantomData;
use kernel::{
    error::{from_result, to_result},
    ffi::{c_int, c_uint},
    prelude::*,
    types::Opaque,
};

use super::netns::Net;

/// What a subsystem keeps in each namespace.
pub(crate) trait Pernet: 'static {
    /// The state; the kernel allocates room for it in every namespace and
    /// [`Pernet::init`] fills it in.
    type State: Send + Sync;

    /// The id `net_generic()` looks the state up by.
    const ID: &'static PernetId;

    /// A namespace appears (and, at registration, every existing one):
    /// its state, initialised in place.
    fn init(net: &Net) -> impl PinInit<Self::State, Error> + '_;

    /// A namespace goes away (and, at unregistration, every one); the state
    /// is dropped after this returns.
    fn exit(net: &Net, state: &Self::State);
}

/// The `net_generic()` id of a pernet subsystem, written by
/// `register_pernet_subsys`.
pub(crate) struct PernetId(Opaque<c_uint>);

// SAFETY: written once by `register_pernet_subsys`, before any reader.
unsafe impl Sync for PernetId {}

impl PernetId {
    pub(crate) const fn new() -> Self {
        Self(Opaque::new(0))
    }
}

/// The state of `P` in `net`.
pub(crate) fn state<P: Pernet>(net: &Net) -> &P::State {
    // `P` is registered while anything that can reach a namespace through
    // RTCP exists (sockets hold a module reference; the registration is the
    // last thing the module drops), so the id is set and `init` has written
    // the state of every live namespace, which stays until `exit` for `net`,
    // after its last user.
    // SAFETY: as just said, the state is initialised and outlives `net`'s use.
    unsafe { &*state_ptr::<P>(net) }
}

/// Where the kernel keeps the state of `P` in `net`.
///
/// # Safety
///
/// `P` is registered and `net` alive.
unsafe fn state_ptr<P: Pernet>(net: &Net) -> *mut P::State {
    // SAFETY: the caller guarantees the id is set and `net` alive; the
    // kernel allocated `size_of::<P::State>()` bytes, suitably aligned for
    // any kernel object, for this id in `net`.
    unsafe { sys::rtcp_helper_net_generic(net.as_ptr(), *P::ID.0.get()).cast::<P::State>() }
}

/// A `struct pernet_operations`, as a `static` (the kernel links it into its
/// list while it is registered).
pub(crate) struct PernetDef(Opaque<sys::pernet_operations>);

// SAFETY: the kernel serialises its own writes (under `pernet_ops_rwsem`);
// Rust never touches the contents after construction.
unsafe impl Sync for PernetDef {}

impl PernetDef {
    pub(crate) const fn new<P: Pernet>() -> Self {
        Self(Opaque::new(sys::pernet_operations {
            init: Some(Adapter::<P>::init),
            exit: Some(Adapter::<P>::exit),
            id: P::ID.0.get(),
            size: core::mem::size_of::<P::State>(),
            ..pin_init::zeroed()
        }))
    }
}

struct Adapter<P>(PhantomData<P>);

impl<P: Pernet> Adapter<P> {
    /// # Safety
    ///
    /// Called by the namespace code with a live namespace whose state for
    /// this id is allocated and not yet written.
    unsafe extern "C" fn init(net: *mut sys::net) -> c_int {
        from_result(|| {
            // SAFETY: the namespace is alive for the call.
            let net = unsafe { Net::from_raw(net) };
            // SAFETY: called for a registered `P` and a live `net`; the room
            // is uninitialised until now, never moves, and nothing reads it
            // before `init` returns.
            unsafe { P::init(net).__init(state_ptr::<P>(net))? };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the namespace code once for a namespace `init` succeeded
    /// for, after its last user.
    unsafe extern "C" fn exit(net: *mut sys::net) {
        // SAFETY: the namespace is alive for the call.
        let net = unsafe { Net::from_raw(net) };
        P::exit(net, state::<P>(net));
        // SAFETY: `init` wrote the state; the namespace has no user left, and
        // the kernel frees the room after this returns.
        unsafe { core::ptr::drop_in_place(state_ptr::<P>(net)) };
    }
}

/// A registered [`PernetDef`] (`register_pernet_subsys`); dropping it runs
/// `exit` in every namespace and unregisters.
///
/// # Invariants
///
/// The operations are registered from `new` until `drop`.
pub(crate) struct PernetRegistration(&'static PernetDef);

impl PernetRegistration {
    pub(crate) fn new(def: &'static PernetDef) -> Result<Self> {
        // SAFETY: `def` is a static; `drop` unregisters it.
        to_result(unsafe { sys::register_pernet_subsys(def.0.get()) })?;
        // INVARIANT: registered just above.
        Ok(Self(def))
    }
}

impl Drop for PernetRegistration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the operations are registered.
        unsafe { sys::unregister_pernet_subsys(self.0 .0.get()) }
    }
}
