// SPDX-License-Identifier: GPL-2.0

//! Output routes from the kernel FIB: `ip_route_output_flow` over a
//! `flowi4`, `ip6_dst_lookup_flow` over a `flowi6`.
//!
//! C headers: [`include/net/route.h`], [`include/net/ip6_route.h`].

use crate::sys;
use core::ptr::NonNull;
use kernel::{error::from_err_ptr, prelude::*};

use super::netns::Net;
use crate::proto::addr::Addr;
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
    /// What the IP header carries.
    pub(crate) ip: IpHeader,
}

/// The fields of a sock's IP headers that its options set, for each
/// family: an IPv6 socket's connections to IPv4 peers carry its `SOL_IP`
/// options, as Linux's `ipv6_mapped` ones go out through `ip_queue_xmit`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IpHeader {
    /// `IP_TOS`: the IPv4 header's TOS byte.
    pub(crate) tos: u8,
    /// `IP_TTL` (0: the route's hop limit).
    pub(crate) ttl: u8,
    /// `IPV6_TCLASS`: the IPv6 header's traffic class.
    pub(crate) tclass: u8,
    /// `IPV6_UNICAST_HOPS` (0: the route's hop limit).
    pub(crate) hops: u8,
}

impl FlowKey {
    /// The key of an answer to `remote`, whose segment came in on device
    /// `iif`: a link-local peer is reached back through that device when
    /// the socket is bound to none (`tcp_v6_init_req`'s `ir_iif`).
    pub(crate) fn toward(self, remote: Addr, iif: i32) -> FlowKey {
        if self.oif == 0 && remote.is_link_local() {
            FlowKey { oif: iif, ..self }
        } else {
            self
        }
    }
}

/// A route: a reference on a `struct dst_entry` (an IPv4 `rtable`'s or
/// an IPv6 `rt6_info`'s), dropped with `dst_release`.
///
/// # Invariants
///
/// `dst` is a live route this value holds one reference on, of IPv4 if
/// `saddr` is v4-mapped, else of IPv6.
pub(crate) struct Route {
    dst: NonNull<sys::dst_entry>,
    /// The source address the lookup chose (or the one asked for).
    pub(crate) saddr: Addr,
    /// The IPv6 route's validity cookie (`rt6_get_cookie`), which
    /// `sk_dst_check` wants back; 0 for IPv4.
    pub(crate) cookie: u32,
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
        // SAFETY: the route is alive; its dst is its first member.
        let dst = unsafe { NonNull::new_unchecked(sys::rtcp_helper_rt_dst(rt.as_ptr())) };
        // INVARIANT: the lookup gave us one reference, on an IPv4 route.
        let route = Route { dst, saddr: Addr::v4(u32::from_be(fl4.saddr)), cookie: 0 };
        // SAFETY: the route is alive.
        if unsafe { sys::rtcp_helper_rt_flags(rt.as_ptr()) } & sys::RTCP_RTCF_MULTICAST_BROADCAST != 0 {
            return Err(ENETUNREACH);
        }
        Ok(route)
    }

    /// Looks up the IPv6 route from `saddr` (`::`: let the route choose)
    /// to `daddr` for TCP between the two ports (`ip6_dst_lookup_flow`,
    /// as `tcp_v6_connect` fills its `flowi6`); `oif` is the key's, or
    /// the scope of a link-local address. The lookup's errno when there
    /// is none (`ENETUNREACH`, `EHOSTUNREACH`, `EADDRNOTAVAIL`).
    pub(crate) fn output6(net: &Net, key: FlowKey, saddr: Addr, daddr: Addr, sport: u16, dport: u16) -> Result<Route> {
        let mut fl6: sys::flowi6 = pin_init::zeroed();
        fl6.__fl_common.flowic_oif = key.oif;
        fl6.__fl_common.flowic_mark = key.mark;
        fl6.__fl_common.flowic_proto = sys::IPPROTO_TCP as u8;
        fl6.__fl_common.flowic_uid = sys::kuid_t { val: key.uid };
        fl6.daddr.in6_u.u6_addr8 = daddr.0;
        fl6.saddr.in6_u.u6_addr8 = saddr.0;
        fl6.uli.ports.dport = dport.to_be();
        fl6.uli.ports.sport = sport.to_be();
        // SAFETY: `fl6` is a local flow key; `net` is alive; no socket and
        // no final destination, as a lookup without options. The lookup
        // returns a route with a reference for us, or an error pointer.
        let dst = unsafe { from_err_ptr(sys::ip6_dst_lookup_flow(net.as_ptr(), core::ptr::null(), &mut fl6, core::ptr::null()))? };
        let dst = NonNull::new(dst).ok_or(ENETUNREACH)?;
        // SAFETY: the lookup filled in the source address (a union of
        // plain bytes); the route is a live `rt6_info`.
        let (saddr, cookie) = unsafe { (Addr(fl6.saddr.in6_u.u6_addr8), sys::rtcp_helper_rt6_get_cookie(dst.as_ptr())) };
        // INVARIANT: the lookup gave us one reference, on an IPv6 route.
        Ok(Route { dst, saddr, cookie })
    }

    /// The route `sk` keeps for its segments (`sk_dst_check`), with a
    /// reference of its own, if it is still valid; `saddr` is the source
    /// address it was looked up for.
    /// `cookie` is the IPv6 route's, kept when it was looked up.
    pub(crate) fn cached<P: Proto>(sk: &Sock<P>, saddr: Addr, cookie: u32) -> Option<Route> {
        // SAFETY: the sock is alive; `sk_dst_check` returns the cached
        // route with a new reference, or NULL (dropping a stale one).
        let dst = NonNull::new(unsafe { sys::rtcp_helper_sk_dst_check(sk.as_ptr(), cookie) })?;
        // INVARIANT: we hold the reference `sk_dst_check` took; the route
        // was kept for a connection of `saddr`'s family.
        Some(Route { dst, saddr, cookie })
    }

    /// Keeps a reference to the route in `sk` for its next segments
    /// (`sk_dst_set`), in place of any kept before.
    pub(crate) fn keep_in<P: Proto>(&self, sk: &Sock<P>) {
        // SAFETY: the sock and the route are alive; `sk_dst_set` takes the
        // reference `dst_clone` adds.
        unsafe { sys::rtcp_helper_sk_dst_set(sk.as_ptr(), self.dst.as_ptr()) }
    }

    /// Drops the route `sk` keeps, if any (`sk_dst_reset`).
    pub(crate) fn forget<P: Proto>(sk: &Sock<P>) {
        // SAFETY: the sock is alive; the reset is atomic.
        unsafe { sys::rtcp_helper_sk_dst_reset(sk.as_ptr()) }
    }

    fn dst(&self) -> *mut sys::dst_entry {
        self.dst.as_ptr()
    }

    /// An IPv6 route.
    pub(crate) fn is_v6(&self) -> bool {
        !self.saddr.is_v4()
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

    /// The TTL (hop limit) for packets on this route.
    pub(crate) fn hoplimit(&self) -> u8 {
        // SAFETY: the route is alive, of the family `saddr` says.
        let ttl = unsafe {
            if self.is_v6() { sys::ip6_dst_hoplimit(self.dst()) } else { sys::rtcp_helper_ip4_dst_hoplimit(self.dst()) }
        };
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
        unsafe { sys::rtcp_helper_dst_release(self.dst.as_ptr()) }
    }
}

// SAFETY: a route reference may be used and dropped on any CPU.
unsafe impl Send for Route {}

impl<P: Proto> Sock<P> {
    /// The route lookup key of the socket: `SO_BINDTODEVICE`, `SO_MARK`
    /// and its owner; with what its IP headers carry.
    pub(crate) fn flow_key(&self) -> FlowKey {
        let ip = P::ip_header(self);
        // SAFETY: the sock is alive; plain values set by setsockopt.
        unsafe {
            let sk = self.as_ptr();
            FlowKey {
                oif: (*sk).__sk_common.skc_bound_dev_if,
                mark: (*sk).sk_mark,
                uid: (*sk).sk_uid.val,
                ip,
            }
        }
    }
}
