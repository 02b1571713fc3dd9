// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: building and sending an IPv4 TCP segment, and the
//! received segments the netfilter hook looks at.
//!
//! C headers: [`include/linux/skbuff.h`], [`include/net/ip.h`].

use crate::proto::{ipv4, segment::Segment};
use crate::sys;
use core::ptr::NonNull;
use kernel::prelude::*;

use super::buf::SharedBytes;
use super::route::Route;
use super::sock::Net;
use crate::proto::ring::{Bytes, Spans};

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

/// A TCP segment built into an skb, with room in front for the IP header
/// and the link layer: what [`transmit`] sends.
pub(crate) struct TcpSkb {
    skb: SkBuff,
    src: u32,
    dst: u32,
    tcp_len: usize,
}

/// The most TCP bytes (header and payload) one skb carries: an IPv4
/// datagram's length field bounds it, GSO or not.
pub(crate) const MAX_TCP_LEN: usize = 65_535 - ipv4::HEADER_LEN;

/// Builds `seg` from `src` to `dst` with the payload `spans` of `buf` (the
/// one or two pieces of the send buffer's bytes it carries; `None`: no
/// payload). Callable under a spinlock (`GFP_ATOMIC`), as the connection's
/// lock `buf` asks for.
///
/// A payload of one segment's worth is copied after the header. A longer
/// one is not copied: the skb takes a reference on the send buffer's pages
/// that hold it (as Linux's TCP sends the page frags `tcp_sendmsg` filled),
/// and the buffer does not write them again while it lasts
/// ([`SharedBytes`]).
///
/// The checksum is left for the device to complete (`CHECKSUM_PARTIAL`,
/// as Linux's TCP sends; the stack completes it in software for a device
/// that cannot). A payload longer than `mss` makes a GSO skb of segments
/// of `mss` bytes, which the device or the stack cuts (`SKB_GSO_TCPV4`:
/// each piece gets its sequence number and checksum, PSH and FIN only the
/// last).
pub(crate) fn build(src: u32, dst: u32, seg: &Segment, payload: Option<(&SharedBytes, Spans)>, mss: u16) -> Result<TcpSkb> {
    let len = payload.as_ref().map_or(0, |(_, (a, b))| a.len().saturating_add(b.len()));
    let hlen = seg.emit_header_len();
    let tcp_len = hlen.checked_add(len).filter(|&n| n <= MAX_TCP_LEN).ok_or(EMSGSIZE)?;
    let linear = if len <= LINEAR_MAX { len } else { 0 };
    let mut skb = SkBuff::alloc(ipv4::HEADER_LEN + hlen + linear)?;
    let p = skb.skb.as_ptr();
    // SAFETY: the skb is ours and has `HEADER_LEN + hlen + linear` bytes
    // of tailroom after the reserved headroom: keep the IP header's room.
    unsafe { sys::rtcp_helper_skb_reserve(p, ipv4::HEADER_LEN as i32) };
    let buf = skb.put(hlen + linear);
    let (hdr, body) = buf.split_at_mut_checked(hlen).ok_or(EMSGSIZE)?;
    seg.emit_partial(hdr, len, src, dst).ok_or(EMSGSIZE)?;
    if let Some((bytes, (a, b))) = payload {
        if linear > 0 {
            let mut done = 0;
            for piece in [a, b].into_iter().flat_map(|r| bytes.pieces(r)) {
                let n = piece.len();
                let from = bytes.range(piece).ok_or(EINVAL)?;
                body.get_mut(done..done + n).ok_or(EMSGSIZE)?.copy_from_slice(from);
                done += n;
            }
            if done != len {
                return Err(EINVAL);
            }
        } else {
            for (frag, f) in [a, b].into_iter().filter_map(|r| bytes.frags(r)).flatten().enumerate() {
                if frag >= sys::RTCP_MAX_SKB_FRAGS as usize {
                    return Err(EMSGSIZE);
                }
                // SAFETY: the skb is ours; `f.page` is a live page of the
                // send buffer (the caller holds the connection's lock), on
                // which the skb takes a reference of its own (dropped when
                // the skb is freed) for its `len` bytes at `off`.
                unsafe {
                    sys::rtcp_helper_get_page(f.page.as_ptr());
                    sys::rtcp_helper_skb_add_rx_frag(p, frag as i32, f.page.as_ptr(), f.off as i32, f.len as i32, f.len as u32);
                }
            }
            if skb_len(p) != hlen + len {
                return Err(EINVAL);
            }
        }
    }
    // SAFETY: the skb's data is the TCP header just written, whose
    // checksum field is at 16; the GSO fields are ours to set on an skb
    // nobody else has seen.
    unsafe {
        if !sys::skb_partial_csum_set(p, 0, TCP_CHECK_OFFSET) {
            return Err(EINVAL);
        }
        let mss = usize::from(mss.max(1));
        if len > mss {
            let segs = u16::try_from(len.div_ceil(mss)).map_err(|_| EMSGSIZE)?;
            sys::rtcp_helper_skb_set_gso_tcpv4(p, mss as u16, segs);
        }
    }
    Ok(TcpSkb { skb, src, dst, tcp_len })
}

/// The bytes of an skb (`skb->len`).
fn skb_len(skb: *mut sys::sk_buff) -> usize {
    // SAFETY: a live skb of the caller's.
    unsafe { (*skb).len as usize }
}

/// Where the checksum field is in a TCP header.
const TCP_CHECK_OFFSET: u16 = 16;

/// The longest payload copied into an skb's linear part, after the
/// headers; a longer one rides in the send buffer's pages.
pub(crate) const LINEAR_MAX: usize = 2048;

/// Sends a built segment through `route` (`ip_local_out`: the LOCAL_OUT
/// and POST_ROUTING hooks, then the route's device), with an IP header
/// that has Don't Fragment set. Must not be called with IRQs off.
pub(crate) fn transmit(net: &Net, route: Route, t: TcpSkb) -> Result {
    let ttl = route.hoplimit();
    let TcpSkb { skb, src, dst, tcp_len } = t;
    let p = skb.skb.as_ptr();
    // SAFETY: `build` kept `HEADER_LEN` bytes of headroom in front of the
    // TCP header; they become the IP header.
    let ip = unsafe { core::slice::from_raw_parts_mut(sys::skb_push(p, ipv4::HEADER_LEN as u32).cast::<u8>(), ipv4::HEADER_LEN) };
    let ip: &mut [u8; ipv4::HEADER_LEN] = ip.try_into().map_err(|_| EINVAL)?;
    ipv4::emit_tcp(ip, src, dst, tcp_len, ttl, 0).ok_or(EMSGSIZE)?;
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

/// Builds and sends `seg` (no payload) from `src` to `dst` through `route`.
pub(crate) fn send(net: &Net, route: Route, src: u32, dst: u32, seg: &Segment) -> Result {
    transmit(net, route, build(src, dst, seg, None, u16::MAX)?)
}

/// The payload of a received segment: `len` bytes at `off` from the skb's
/// data (which may be paged, or a GRO train).
///
/// # Invariants
///
/// `skb` is alive, unchanged, for `'a`, and holds `off + len` bytes.
pub(crate) struct SkbPayload<'a> {
    skb: *mut sys::sk_buff,
    off: u32,
    len: u32,
    _p: core::marker::PhantomData<&'a ()>,
}

impl SkbPayload<'_> {
    /// # Safety
    ///
    /// As the type invariant: `skb` is alive and unchanged while the value
    /// lives and holds `off + len` bytes from its data.
    pub(crate) unsafe fn new(skb: *mut sys::sk_buff, off: u32, len: u32) -> Self {
        // INVARIANT: as the caller guarantees.
        SkbPayload { skb, off, len, _p: core::marker::PhantomData }
    }
}

impl crate::proto::stream::Payload for SkbPayload<'_> {
    fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool {
        let Ok(n) = u32::try_from(dst.len()) else { return false };
        match skip.checked_add(n) {
            Some(end) if end <= self.len => {}
            _ => return false,
        }
        if n == 0 {
            return true;
        }
        let off = self.off.saturating_add(skip);
        // SAFETY: the skb holds `off + len` bytes (type invariant) and the
        // range was checked above; `dst` is writable for `n` bytes.
        unsafe { sys::skb_copy_bits(self.skb, off as i32, dst.as_mut_ptr().cast(), n as i32) == 0 }
    }
}
