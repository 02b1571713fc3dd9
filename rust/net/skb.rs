// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: building and sending a TCP segment over IPv4 or IPv6,
//! and the received segments the netfilter hook looks at.
//!
//! C headers: [`include/linux/skbuff.h`], [`include/net/ip.h`],
//! [`include/net/ipv6.h`].

use crate::proto::{addr::Addr, conn::Endpoint, ipv4, ipv6, segment::Segment};
use crate::sys;
use core::ptr::NonNull;
use kernel::prelude::*;

use super::buf::HeldFrag;
use super::route::{FlowKey, Route};
use super::netns::Net;

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
    src: Addr,
    dst: Addr,
    tcp_len: usize,
    /// IPv6's flow label of the connection.
    label: u32,
}

/// What one segment of `mss` bytes costs a sender in memory
/// (`tcp_sndbuf_expand`'s `per_mss`: an skb's head and its share of a
/// page).
pub(crate) fn sndmem_per_mss(mss: u32) -> u32 {
    // SAFETY: a pure computation on its argument.
    unsafe { sys::rtcp_helper_sndmem_per_mss(mss) }
}

/// The most TCP bytes (header and payload) one skb carries: an IPv4
/// datagram's length field bounds it, GSO or not.
pub(crate) const MAX_TCP_LEN: usize = 65_535 - ipv4::HEADER_LEN;

/// A segment's payload: its length, and the send buffer's pages that
/// hold it, in order ([`SharedBytes::hold`](super::buf::SharedBytes::hold)).
pub(crate) type Payload<'a> = Option<(usize, &'a mut dyn Iterator<Item = HeldFrag>)>;

/// Builds `seg` from `src` to `dst` with the payload the send buffer's
/// pages hold (`None`: no payload): its length and the pages, each held
/// by a reference taken under the connection's lock, so that the skb is
/// built after it (`GFP_ATOMIC`: callers may be in softirq).
///
/// A payload of one segment's worth is copied after the header. A longer
/// one is not copied: the skb takes over the references on the pages
/// that hold it (as Linux's TCP sends the page frags `tcp_sendmsg`
/// filled), and the buffer does not write them again while they last
/// ([`HeldFrag`]).
///
/// The checksum is left for the device to complete (`CHECKSUM_PARTIAL`,
/// as Linux's TCP sends; the stack completes it in software for a device
/// that cannot). A payload longer than `mss` makes a GSO skb of segments
/// of `mss` bytes, which the device or the stack cuts (`SKB_GSO_TCPV4`,
/// `SKB_GSO_TCPV6`: each piece gets its sequence number and checksum, PSH
/// and FIN only the last). Two v4-mapped addresses make an IPv4 segment,
/// others an IPv6 one. The pages of a payload it fails on are put.
pub(crate) fn build(src: Addr, dst: Addr, seg: &Segment, payload: Payload<'_>, mss: u16) -> Result<TcpSkb> {
    let v6 = !(src.is_v4() && dst.is_v4());
    let ip_len = if v6 { ipv6::HEADER_LEN } else { ipv4::HEADER_LEN };
    let len = payload.as_ref().map_or(0, |(n, _)| *n);
    let hlen = seg.emit_header_len();
    let tcp_len = hlen.checked_add(len).filter(|&n| n <= MAX_TCP_LEN).ok_or(EMSGSIZE)?;
    let linear = if len <= LINEAR_MAX { len } else { 0 };
    let mut skb = SkBuff::alloc(ip_len + hlen + linear)?;
    let p = skb.skb.as_ptr();
    // SAFETY: the skb is ours and has `ip_len + hlen + linear` bytes of
    // tailroom after the reserved headroom: keep the IP header's room.
    unsafe { sys::rtcp_helper_skb_reserve(p, ip_len as i32) };
    let buf = skb.put(hlen + linear);
    let (hdr, body) = buf.split_at_mut_checked(hlen).ok_or(EMSGSIZE)?;
    seg.emit_partial(hdr, len, src, dst).ok_or(EMSGSIZE)?;
    if let Some((_, frags)) = payload {
        if linear > 0 {
            let mut done = 0;
            for f in frags {
                let from = f.bytes();
                let n = from.len();
                body.get_mut(done..done + n).ok_or(EMSGSIZE)?.copy_from_slice(from);
                done += n;
            }
            if done != len {
                return Err(EINVAL);
            }
        } else {
            for (frag, f) in frags.enumerate() {
                if frag >= sys::RTCP_MAX_SKB_FRAGS as usize {
                    return Err(EMSGSIZE);
                }
                let (page, off, n) = f.into_raw();
                // SAFETY: the skb is ours; it takes over the frag's
                // reference on the live page, for its `n` bytes at `off`
                // (dropped when the skb is freed).
                unsafe { sys::rtcp_helper_skb_add_rx_frag(p, frag as i32, page.as_ptr(), off as i32, n as i32, n as u32) };
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
            sys::rtcp_helper_skb_set_gso_tcp(p, mss as u16, segs, v6);
        }
    }
    let label = if v6 {
        ipv6::flow_label(Endpoint { addr: src, port: seg.src_port }, Endpoint { addr: dst, port: seg.dst_port })
    } else {
        0
    };
    Ok(TcpSkb { skb, src, dst, tcp_len, label })
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
/// that has Don't Fragment set unless the route's MTU is locked, and the
/// TOS and TTL of `key` (the route's hop limit without one). Must not be
/// called with IRQs off.
pub(crate) fn transmit(net: &Net, route: Route, key: FlowKey, t: TcpSkb) -> Result {
    let ttl = if key.ip.ttl != 0 { key.ip.ttl } else { route.hoplimit() };
    let df = !route.mtu_locked();
    let TcpSkb { skb, src, dst, tcp_len, .. } = t;
    let p = skb.skb.as_ptr();
    // SAFETY: `build` kept `HEADER_LEN` bytes of headroom in front of the
    // TCP header; they become the IP header.
    let ip = unsafe { core::slice::from_raw_parts_mut(sys::skb_push(p, ipv4::HEADER_LEN as u32).cast::<u8>(), ipv4::HEADER_LEN) };
    let ip: &mut [u8; ipv4::HEADER_LEN] = ip.try_into().map_err(|_| EINVAL)?;
    ipv4::emit_tcp(ip, src.ipv4(), dst.ipv4(), tcp_len, key.ip.tos, ttl, df).ok_or(EMSGSIZE)?;
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

/// Sends a segment built for IPv6 through `route` (`ip6_local_out`: the
/// LOCAL_OUT and POST_ROUTING hooks, then the route's device), under an
/// IPv6 header with the traffic class and hop limit of `key` (the route's
/// hop limit without one), as `ip6_xmit` writes it. Must not be called
/// with IRQs off.
pub(crate) fn transmit6(net: &Net, route: Route, key: FlowKey, t: TcpSkb) -> Result {
    let hops = if key.ip.hops != 0 { key.ip.hops } else { route.hoplimit() };
    let TcpSkb { skb, src, dst, tcp_len, label } = t;
    let p = skb.skb.as_ptr();
    // SAFETY: `build` kept `ipv6::HEADER_LEN` bytes of headroom in front
    // of the TCP header of an IPv6 segment; they become the IPv6 header.
    let ip = unsafe { core::slice::from_raw_parts_mut(sys::skb_push(p, ipv6::HEADER_LEN as u32).cast::<u8>(), ipv6::HEADER_LEN) };
    let ip: &mut [u8; ipv6::HEADER_LEN] = ip.try_into().map_err(|_| EINVAL)?;
    ipv6::emit_tcp(ip, &src, &dst, tcp_len, key.ip.tclass, label, hops).ok_or(EMSGSIZE)?;
    // SAFETY: `p` is our skb with the IPv6 header at its data;
    // `skb_dst_set` takes over the route's reference.
    unsafe {
        sys::rtcp_helper_skb_reset_network_header(p);
        sys::rtcp_helper_skb_dst_set(p, route.into_dst());
    }
    // SAFETY: `net` is alive; `ip6_local_out` consumes the skb whatever
    // it returns (it sets the protocol and the payload length). Its
    // errors are a lost segment, which retransmission covers.
    unsafe { sys::ip6_local_out(net.as_ptr(), core::ptr::null_mut(), skb.into_raw()) };
    Ok(())
}

/// The payload of a received segment: `len` bytes at `off` from the skb's
/// data (which may be paged, or a GRO train). The hook frees the skb after
/// the segment's delivery unless it was taken ([`SkbPayload::take`]).
///
/// # Invariants
///
/// `skb` is alive, unchanged, for `'a` or until it is taken, and holds
/// `off + len` bytes.
pub(crate) struct SkbPayload<'a> {
    skb: *mut sys::sk_buff,
    off: u32,
    len: u32,
    taken: core::cell::Cell<bool>,
    _p: core::marker::PhantomData<&'a ()>,
}

impl SkbPayload<'_> {
    /// # Safety
    ///
    /// As the type invariant: `skb` is alive and unchanged while the value
    /// lives and holds `off + len` bytes from its data; the caller owns
    /// it, and frees it after the value's end unless it was taken.
    pub(crate) unsafe fn new(skb: *mut sys::sk_buff, off: u32, len: u32) -> Self {
        // INVARIANT: as the caller guarantees.
        SkbPayload { skb, off, len, taken: core::cell::Cell::new(false), _p: core::marker::PhantomData }
    }

    /// Bytes of payload.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Where the payload starts in the skb's data.
    pub(crate) fn offset(&self) -> u32 {
        self.off
    }

    /// The memory the skb takes (`truesize`).
    pub(crate) fn truesize(&self) -> usize {
        if self.taken.get() {
            return 0;
        }
        // SAFETY: the skb is alive until it is taken (type invariant).
        unsafe { (*self.skb).truesize as usize }
    }

    /// The skb itself, to keep: its owner (the hook) no longer frees it.
    /// What tied it to the path it came by goes: its route, its conntrack
    /// entry (as `tcp_v4_rcv` and `tcp_data_queue` drop them). `None` if
    /// it was taken already.
    pub(crate) fn take(&self) -> Option<SkbRef> {
        if self.taken.replace(true) {
            return None;
        }
        // SAFETY: the skb is alive and its owner's (type invariant); the
        // owner gives its reference to the `SkbRef`, and changes nothing
        // in it after.
        unsafe {
            sys::rtcp_helper_skb_keep(self.skb);
            Some(SkbRef(NonNull::new(self.skb)?))
        }
    }

    /// Gives back a `skb` [`SkbPayload::take`] took, to be freed by its
    /// owner after all; ignored if it is not this payload's.
    pub(crate) fn put_back(&self, skb: SkbRef) {
        if skb.0.as_ptr() == self.skb && self.taken.replace(false) {
            // The owner's reference again: not dropped here.
            core::mem::forget(skb);
        }
    }

    /// Whether the skb was taken (its owner does not free it).
    pub(crate) fn is_taken(&self) -> bool {
        self.taken.get()
    }
}

/// A reference to a received skb kept for the reader: a segment's payload
/// that nothing changes any more. Dropping it lets the reference go.
///
/// # Invariants
///
/// `0` is a live skb of which this value owns one reference; it has no
/// owner socket, route or conntrack entry, and its data are never written.
pub(crate) struct SkbRef(NonNull<sys::sk_buff>);

// SAFETY: an skb reference may be let go on any CPU.
unsafe impl Send for SkbRef {}

impl SkbRef {
    /// Another reference to the same skb (`skb_get`).
    pub(crate) fn get(&self) -> SkbRef {
        // SAFETY: the skb is alive (type invariant); the new value owns
        // the reference taken.
        unsafe { sys::rtcp_helper_skb_get(self.0.as_ptr()) };
        SkbRef(self.0)
    }

    /// The memory the skb takes (`truesize`).
    pub(crate) fn truesize(&self) -> usize {
        // SAFETY: the skb is alive (type invariant).
        unsafe { (*self.0.as_ptr()).truesize as usize }
    }

    /// Copies `len` bytes at `off` from the skb's data into the user's
    /// next bytes of `iter`; how many (fewer on a fault or when the user's
    /// buffers end, none if the skb does not hold them).
    ///
    /// # Safety
    ///
    /// `iter` is the live iterator of the current `recvmsg` call, in
    /// process context.
    pub(crate) unsafe fn copy_to_iter(&self, off: u32, len: u32, iter: *mut sys::iov_iter) -> usize {
        // SAFETY: the skb is alive (type invariant).
        let skb_len = unsafe { (*self.0.as_ptr()).len };
        match off.checked_add(len) {
            Some(end) if end <= skb_len && len > 0 => {}
            _ => return 0,
        }
        // SAFETY: the range is inside the skb's data, checked above; the
        // iterator is as the caller guarantees.
        unsafe { sys::rtcp_helper_skb_copy_to_iter(self.0.as_ptr(), off as i32, len as i32, iter) }
    }
}

impl Drop for SkbRef {
    fn drop(&mut self) {
        // SAFETY: this value owns one reference to a live skb (type
        // invariant); it has no destructor, so it may be freed anywhere
        // but in hard IRQ context.
        unsafe { sys::rtcp_helper_consume_skb(self.0.as_ptr()) };
    }
}

impl crate::proto::stream::Payload for SkbPayload<'_> {
    fn copy_to(&self, skip: u32, dst: &mut [u8]) -> bool {
        let Ok(n) = u32::try_from(dst.len()) else { return false };
        if self.taken.get() {
            return false;
        }
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

    fn cost(&self) -> Option<crate::proto::rwnd::Cost> {
        let (mut truesize, mut grow, mut gso) = (0u32, 0u32, 0u32);
        // SAFETY: the skb is alive (type invariant); the helper only reads
        // it and writes the three locals.
        unsafe { sys::rtcp_helper_skb_rx_cost(self.skb, self.off, self.len, &mut truesize, &mut grow, &mut gso) };
        Some(crate::proto::rwnd::Cost { truesize, grow_truesize: grow, seg_size: gso })
    }
}
