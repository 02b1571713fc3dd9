// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: building and sending an IPv4 TCP segment, and the
//! received segments the netfilter hook looks at.
//!
//! C headers: [`include/linux/skbuff.h`], [`include/net/ip.h`].

use crate::proto::{ipv4, segment::Segment};
use crate::sys;
use core::ptr::NonNull;
use kernel::prelude::*;

use super::route::Route;
use super::sock::Net;

/// An skb this code owns (freed on drop unless handed on).
///
/// # Invariants
///
/// `skb` is a live `sk_buff` nobody else references.
struct SkBuff {
    skb: NonNull<sys::sk_buff>,
}

impl SkBuff {
    /// An empty skb with room for `len` bytes after the largest link-layer
    /// and IP headers any device needs.
    fn alloc(len: usize) -> Result<SkBuff> {
        let headroom = sys::RTCP_MAX_HEADER;
        let size = u32::try_from(len).map_err(|_| EMSGSIZE)?.checked_add(headroom).ok_or(EMSGSIZE)?;
        // SAFETY: any size; GFP_ATOMIC (callers may be in softirq).
        let skb = NonNull::new(unsafe { sys::rtcp_helper_alloc_skb(size) }).ok_or(ENOBUFS)?;
        // SAFETY: the new skb has `headroom` bytes of tailroom to reserve.
        unsafe { sys::rtcp_helper_skb_reserve(skb.as_ptr(), headroom as i32) };
        // INVARIANT: newly allocated, ours alone.
        Ok(SkBuff { skb })
    }

    /// Appends `len` bytes and returns them (`skb_put`).
    fn put(&mut self, len: usize) -> &mut [u8] {
        // SAFETY: `alloc` sized the skb for everything callers put; the
        // bytes returned are the skb's own, ours while we own it.
        unsafe {
            let p = sys::skb_put(self.skb.as_ptr(), len as u32);
            core::slice::from_raw_parts_mut(p.cast::<u8>(), len)
        }
    }

    fn into_raw(self) -> *mut sys::sk_buff {
        let p = self.skb.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: the skb is ours (type invariant).
        unsafe { sys::rtcp_helper_kfree_skb(self.skb.as_ptr()) }
    }
}

/// Sends `seg` from `src` to `dst` through `route` (`ip_local_out`: the
/// LOCAL_OUT and POST_ROUTING hooks, then the route's device). The TCP
/// checksum is computed here; the IP header has Don't Fragment set.
pub(crate) fn send(net: &Net, route: Route, src: u32, dst: u32, seg: &Segment) -> Result {
    let tcp_len = seg.emit_header_len();
    let mut skb = SkBuff::alloc(ipv4::HEADER_LEN + tcp_len)?;
    let ttl = route.hoplimit();
    let buf = skb.put(ipv4::HEADER_LEN + tcp_len);
    let (ip, tcp) = buf.split_at_mut(ipv4::HEADER_LEN);
    let ip: &mut [u8; ipv4::HEADER_LEN] = ip.try_into().map_err(|_| EINVAL)?;
    ipv4::emit_tcp(ip, src, dst, tcp_len, ttl, 0).ok_or(EMSGSIZE)?;
    seg.emit(tcp, 0, src, dst).ok_or(EMSGSIZE)?;
    let p = skb.skb.as_ptr();
    // SAFETY: `p` is our skb with the IP header at its data; `skb_dst_set`
    // takes over the route's reference.
    unsafe {
        sys::rtcp_helper_skb_reset_network_header(p);
        sys::rtcp_helper_skb_set_protocol_ip(p);
        sys::rtcp_helper_skb_dst_set(p, route.into_dst());
    }
    // SAFETY: `net` is alive; `ip_local_out` consumes the skb whatever it
    // returns. Its errors (a full queue, a netfilter drop) are a lost
    // segment, which retransmission covers, as for Linux's TCP.
    unsafe { sys::ip_local_out(net.as_ptr(), core::ptr::null_mut(), skb.into_raw()) };
    Ok(())
}
