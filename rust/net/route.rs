// SPDX-License-Identifier: GPL-2.0

//! Output routes from the kernel FIB (`ip_route_output_flow` over a
//! `flowi4`).
//!
//! C header: [`include/net/route.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::{error::from_err_ptr, prelude::*};

use super::netns::Net;
use super::sock::{Proto, Sock};

/// What a route lookup keys on besides the addresses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FlowKey {
    /// `SO_BINDTODEVICE` (0: any device).
    pub(crate) oif: i32,
    /// `SO_MARK`, for policy routing.
    pub(crate) mark: u32,
    /// The socket's owner, for uid routing rules.
    pub(crate) uid: u32,
    /// `IP_TOS`: the IP header's TOS byte.
    pub(crate) tos: u8,
    /// `IP_TTL` (0: the route's hop limit).
    pub(crate) ttl: u8,
}

/// A route: a reference on a `struct rtable`, dropped with `ip_rt_put`.
///
/// # Invariants
///
/// `rt` is a live route this value holds one reference on.
pub(crate) struct Route {
    rt: NonNull<sys::rtable>,
    /// The source address the lookup chose (or the one asked for).
    pub(crate) saddr: u32,
}

impl Route {
    /// Looks up the route from `saddr` (0: let the route choose) to `daddr`
    /// for TCP between the two ports. `ENETUNREACH`/`EHOSTUNREACH` when
    /// there is none, and `ENETUNREACH` for a multicast or broadcast
    /// destination, as `tcp_v4_connect`.
    pub(crate) fn output(net: &Net, key: FlowKey, saddr: u32, daddr: u32, sport: u16, dport: u16) -> Result<Route> {
        let mut fl4: sys::flowi4 = pin_init::zeroed();
        // SAFETY: `fl4` is a local flow key; `net` is alive. The lookup
        // returns a route with a reference for us, or an error pointer.
        let rt = unsafe {
            sys::rtcp_helper_flowi4_init_output(
                &mut fl4,
                key.oif,
                key.mark,
                sys::IPPROTO_TCP as u8,
                daddr.to_be(),
                saddr.to_be(),
                dport.to_be(),
                sport.to_be(),
                sys::kuid_t { val: key.uid },
            );
            from_err_ptr(sys::ip_route_output_flow(net.as_ptr(), &mut fl4, core::ptr::null()))?
        };
        let rt = NonNull::new(rt).ok_or(ENETUNREACH)?;
        // INVARIANT: the lookup gave us one reference.
        let route = Route { rt, saddr: u32::from_be(fl4.saddr) };
        // SAFETY: the route is alive.
        if unsafe { sys::rtcp_helper_rt_flags(rt.as_ptr()) } & sys::RTCP_RTCF_MULTICAST_BROADCAST != 0 {
            return Err(ENETUNREACH);
        }
        Ok(route)
    }

    /// The route `sk` keeps for its segments (`sk_dst_check`), with a
    /// reference of its own, if it is still valid; `saddr` is the source
    /// address it was looked up for.
    pub(crate) fn cached<P: Proto>(sk: &Sock<P>, saddr: u32) -> Option<Route> {
        // SAFETY: the sock is alive; `sk_dst_check` returns the cached
        // route with a new reference, or NULL (dropping a stale one).
        let rt = NonNull::new(unsafe { sys::rtcp_helper_sk_rt_check(sk.as_ptr()) })?;
        // INVARIANT: we hold the reference `sk_dst_check` took.
        Some(Route { rt, saddr })
    }

    /// Keeps a reference to the route in `sk` for its next segments
    /// (`sk_dst_set`), in place of any kept before.
    pub(crate) fn keep_in<P: Proto>(&self, sk: &Sock<P>) {
        // SAFETY: the sock and the route are alive; `sk_dst_set` takes the
        // reference `dst_clone` adds.
        unsafe { sys::rtcp_helper_sk_rt_set(sk.as_ptr(), self.rt.as_ptr()) }
    }

    /// Drops the route `sk` keeps, if any (`sk_dst_reset`).
    pub(crate) fn forget<P: Proto>(sk: &Sock<P>) {
        // SAFETY: the sock is alive; the reset is atomic.
        unsafe { sys::rtcp_helper_sk_dst_reset(sk.as_ptr()) }
    }

    fn dst(&self) -> *mut sys::dst_entry {
        // SAFETY: the route is alive (type invariant).
        unsafe { sys::rtcp_helper_rt_dst(self.rt.as_ptr()) }
    }

    /// The path MTU towards the destination.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: the route is alive.
        unsafe { sys::rtcp_helper_dst_mtu(self.dst()) }
    }

    /// The MSS to offer on this route (`dst_metric_advmss`): its `advmss`
    /// metric, else its MTU less the headers.
    pub(crate) fn advmss(&self) -> u32 {
        // SAFETY: the route is alive.
        unsafe { sys::rtcp_helper_dst_advmss(self.dst()) }
    }

    /// The route's `initcwnd` metric, in segments (0: none).
    pub(crate) fn initcwnd(&self) -> u32 {
        // SAFETY: the route is alive.
        unsafe { sys::rtcp_helper_dst_initcwnd(self.dst()) }
    }

    /// The route's `rto_min` metric if it is locked, as `tcp_rto_min`
    /// takes it, in microseconds (0: none).
    pub(crate) fn locked_rto_min_us(&self) -> u32 {
        // SAFETY: the route is alive.
        unsafe { sys::rtcp_helper_dst_locked_rto_min_us(self.dst()) }
    }

    /// Whether the route's MTU is locked (`ip_mtu_locked`): its packets
    /// may then be fragmented (no Don't Fragment), as `ip_dont_fragment`
    /// decides for a socket that wants path MTU discovery.
    pub(crate) fn mtu_locked(&self) -> bool {
        // SAFETY: the route is alive.
        unsafe { sys::rtcp_helper_ip_mtu_locked(self.dst()) }
    }

    /// The most segments one GSO skb may carry on this route's device
    /// (`sk_setup_caps`'s `sk_gso_max_segs`).
    pub(crate) fn gso_max_segs(&self) -> u32 {
        // SAFETY: the route, and so its device, is alive.
        unsafe { sys::rtcp_helper_dst_gso_max_segs(self.dst()) }
    }

    /// The TTL for packets on this route.
    pub(crate) fn hoplimit(&self) -> u8 {
        // SAFETY: the route is alive.
        let ttl = unsafe { sys::rtcp_helper_ip4_dst_hoplimit(self.dst()) };
        u8::try_from(ttl).unwrap_or(64)
    }

    /// Gives the reference to the caller as a `dst_entry` (for an skb).
    pub(crate) fn into_dst(self) -> *mut sys::dst_entry {
        let dst = self.dst();
        core::mem::forget(self);
        dst
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant).
        unsafe { sys::rtcp_helper_ip_rt_put(self.rt.as_ptr()) }
    }
}

// SAFETY: a route reference may be used and dropped on any CPU.
unsafe impl Send for Route {}

impl<P: Proto> Sock<P> {
    /// The route lookup key of the socket: `SO_BINDTODEVICE`, `SO_MARK`
    /// and its owner; with the IP header's TOS and TTL.
    pub(crate) fn flow_key(&self) -> FlowKey {
        let (tos, ttl) = P::ip_header(self);
        // SAFETY: the sock is alive; plain values set by setsockopt.
        unsafe {
            let sk = self.as_ptr();
            FlowKey {
                oif: (*sk).__sk_common.skc_bound_dev_if,
                mark: (*sk).sk_mark,
                uid: (*sk).sk_uid.val,
                tos,
                ttl,
            }
        }
    }
}
