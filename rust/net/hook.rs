// SPDX-License-Identifier: GPL-2.0

//! Receive: netfilter hooks at `NF_INET_LOCAL_IN` in each namespace, one
//! for IPv4 and one for IPv6.
//!
//! Linux's TCP owns IP protocol 6, so RTCP takes its segments before TCP
//! sees them: the hook parses the headers, asks [`Hook::claim`] whether the
//! segment is RTCP's, and leaves it untouched if not. A claimed segment has
//! its checksum verified (bad ones go to [`Hook::bad_checksum`]) and is
//! handed to [`Hook::deliver`]; the hook then frees the skb (unless the
//! delivery kept it for the reader) and tells netfilter it was stolen.
//!
//! ICMP and ICMPv6 errors quoting a TCP segment go to [`Hook::icmp`]
//! (Linux's TCP would take them in `tcp_v4_err`, `tcp_v6_err`) and then on
//! to Linux's ICMP, untouched.
//!
//! C header: [`include/linux/netfilter.h`].

use crate::proto::{addr::Addr, conn::Endpoint, icmp::IcmpError, ipv4::Ipv4, ipv6, segment::Segment};
use crate::sys;
use core::marker::PhantomData;
use kernel::{error::to_result, ffi::c_void, prelude::*, types::Opaque};

use super::netns::Net;
use super::sock::{Proto, Sock};

/// What the hook read of a packet's network header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NetHeader {
    /// The source address (IPv4 v4-mapped).
    pub(crate) src: Addr,
    /// The destination address.
    pub(crate) dst: Addr,
    /// Bytes before the TCP header: the IPv4 header with its options, or
    /// IPv6's fixed header with its extension headers.
    pub(crate) header_len: usize,
    /// The device an IPv6 packet came in on (`inet6_iif`); 0 for IPv4,
    /// whose TCP never asks.
    pub(crate) iif: i32,
}

/// A received TCP segment, as the hook parsed it (checksum not yet looked
/// at).
pub(crate) struct Packet {
    /// The network header.
    pub(crate) ip: NetHeader,
    /// The TCP header.
    pub(crate) seg: Segment,
    /// Bytes of payload after the TCP header.
    pub(crate) payload_len: u32,
}

impl Packet {
    /// Our end: the destination.
    pub(crate) fn local(&self) -> Endpoint {
        Endpoint { addr: self.ip.dst, port: self.seg.dst_port }
    }

    /// The peer's end: the source.
    pub(crate) fn remote(&self) -> Endpoint {
        Endpoint { addr: self.ip.src, port: self.seg.src_port }
    }
}

/// A TCP header whose ports can be read, and no more.
pub(crate) struct Malformed {
    /// The network header.
    pub(crate) ip: NetHeader,
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    /// Its data offset is below 5 words (else it points past the packet).
    pub(crate) bad_offset: bool,
}

impl Malformed {
    /// Our end: the destination.
    pub(crate) fn local(&self) -> Endpoint {
        Endpoint { addr: self.ip.dst, port: self.dst_port }
    }

    /// The peer's end: the source.
    pub(crate) fn remote(&self) -> Endpoint {
        Endpoint { addr: self.ip.src, port: self.src_port }
    }
}

/// What a protocol does with the segments of a namespace.
pub(crate) trait Hook: 'static {
    /// What `claim` found the segment to be for.
    type Target;

    /// The protocol of the socks segments are for.
    type Proto: Proto;

    /// Is this segment RTCP's? `None` leaves it to Linux's TCP.
    fn claim(net: &Net, pkt: &Packet) -> Option<Self::Target>;

    /// The sock whose filters a claimed segment with a good checksum
    /// passes before it is delivered (`tcp_filter`), or none
    /// (`tcp_v4_rcv` filters no segment of a TIME-WAIT).
    fn filter_sock(target: &Self::Target) -> Option<&Sock<Self::Proto>>;

    /// A claimed segment that the sock's filters dropped.
    fn filtered(net: &Net);

    /// A claimed segment with a good checksum, and its payload.
    fn deliver(net: &Net, target: Self::Target, pkt: &Packet, payload: &super::skb::SkbPayload<'_>);

    /// A claimed segment whose checksum was wrong (it is dropped).
    fn bad_checksum(net: &Net);

    /// A TCP header too bad to parse (`tcp_v4_rcv`'s checks before its
    /// lookup): true if it is RTCP's, which drops it; false leaves it to
    /// Linux's TCP.
    fn malformed(net: &Net, m: &Malformed) -> bool;

    /// An ICMP error (checksum verified) quoting a TCP segment sent from
    /// this namespace, and its packet.
    fn icmp(net: &Net, err: &IcmpError, pkt: &IcmpPacket<'_>);
}

/// The packet of an ICMP error, for what the error asks of the route.
pub(crate) struct IcmpPacket<'a> {
    /// The skb, its data at the outer IP header, the message linear.
    skb: *mut sys::sk_buff,
    /// Where the quoted IP header starts.
    quoted: u32,
    /// An ICMPv6 message.
    v6: bool,
    _skb: PhantomData<&'a sys::sk_buff>,
}

impl IcmpPacket<'_> {
    /// Fragmentation needed, or packet too big: the route towards the
    /// quoted packet's destination learns the path MTU `mtu`
    /// (`ipv4_update_pmtu`, `ip6_update_pmtu`, as `tcp_v4_mtu_reduced` and
    /// `tcp_v6_mtu_reduced` have `inet_csk_update_pmtu` and
    /// `inet6_csk_update_pmtu` update it).
    pub(crate) fn update_pmtu(&self, net: &Net, mtu: u32) {
        // SAFETY: the skb is live for the hook's call, which this value
        // does not outlive; `parse` made the message linear.
        unsafe {
            if self.v6 {
                sys::rtcp_helper_icmp6_update_pmtu(self.skb, net.as_ptr(), self.quoted, mtu)
            } else {
                sys::rtcp_helper_icmp_update_pmtu(self.skb, net.as_ptr(), self.quoted, mtu)
            }
        }
    }
}

/// The `nf_hook_ops` of a [`Hook`], registered in each namespace.
pub(crate) struct HookDef<H>(Opaque<sys::nf_hook_ops>, PhantomData<H>);

// SAFETY: the kernel only reads the ops of a registered hook.
unsafe impl<H> Sync for HookDef<H> {}

impl<H: Hook> HookDef<H> {
    /// The hook of IPv4 packets, or (`v6`) of IPv6 ones.
    pub(crate) const fn new(v6: bool) -> Self {
        Self(
            Opaque::new(sys::nf_hook_ops {
                hook: Some(if v6 { Self::hook6 } else { Self::hook4 }),
                pf: if v6 { sys::NFPROTO_IPV6 as u8 } else { sys::NFPROTO_IPV4 as u8 },
                hooknum: sys::RTCP_NF_INET_LOCAL_IN,
                // After the filter table: firewall rules see RTCP's segments
                // as they see TCP's.
                priority: sys::RTCP_NF_IP_PRI_FILTER + 1,
                ..pin_init::zeroed()
            }),
            PhantomData,
        )
    }

    /// # Safety
    ///
    /// Called by netfilter with an IPv4 skb at `NF_INET_LOCAL_IN` (its data
    /// at the network header) and the hook state, in softirq context.
    unsafe extern "C" fn hook4(_priv: *mut c_void, skb: *mut sys::sk_buff, state: *const sys::nf_hook_state) -> u32 {
        // SAFETY: as the caller guarantees.
        unsafe { Self::hook(skb, state, false) }
    }

    /// # Safety
    ///
    /// Called by netfilter with an IPv6 skb at `NF_INET_LOCAL_IN` (its data
    /// at the network header) and the hook state, in softirq context.
    unsafe extern "C" fn hook6(_priv: *mut c_void, skb: *mut sys::sk_buff, state: *const sys::nf_hook_state) -> u32 {
        // SAFETY: as the caller guarantees.
        unsafe { Self::hook(skb, state, true) }
    }

    /// # Safety
    ///
    /// As [`HookDef::hook4`] or [`HookDef::hook6`], as `v6` says.
    unsafe fn hook(skb: *mut sys::sk_buff, state: *const sys::nf_hook_state, v6: bool) -> u32 {
        // SAFETY: netfilter passes a live state whose `net` is alive.
        let net = unsafe { Net::from_raw((*state).net) };
        // SAFETY: as the caller guarantees.
        let mut pkt = match unsafe { if v6 { parse6(skb) } else { parse(skb) } } {
            Some(Parsed::Tcp(pkt)) => pkt,
            Some(Parsed::Icmp(err, quoted)) => {
                H::icmp(net, &err, &IcmpPacket { skb, quoted, v6, _skb: PhantomData });
                return sys::NF_ACCEPT;
            }
            Some(Parsed::Malformed(m)) => {
                if !H::malformed(net, &m) {
                    return sys::NF_ACCEPT;
                }
                // SAFETY: the skb is ours, nothing refers to it.
                unsafe { sys::rtcp_helper_consume_skb(skb) };
                return sys::NF_STOLEN;
            }
            None => return sys::NF_ACCEPT,
        };
        let Some(target) = H::claim(net, &pkt) else { return sys::NF_ACCEPT };
        // SAFETY: the skb is ours from here on; its data is at the IP
        // header, `header_len` bytes of which `parse` made linear.
        let good = unsafe {
            !sys::skb_pull(skb, pkt.ip.header_len as u32).is_null()
                && if v6 { sys::rtcp_helper_tcp6_checksum_ok(skb) } else { sys::rtcp_helper_tcp_checksum_ok(skb) }
        };
        let mut taken = false;
        // SAFETY: the skb is ours; after the pull its data is the TCP
        // header.
        if good && !unsafe { filter::<H>(skb, &target, &mut pkt) } {
            H::filtered(net);
        } else if good {
            // SAFETY: the skb is ours until it is consumed below; after the
            // pull its data is the TCP header, followed by the payload
            // (`parse` checked the lengths against the skb's).
            let payload = unsafe { super::skb::SkbPayload::new(skb, u32::from(pkt.seg.header_len), pkt.payload_len) };
            H::deliver(net, target, &pkt, &payload);
            taken = payload.is_taken();
        } else {
            H::bad_checksum(net);
        }
        if !taken {
            // SAFETY: the skb is ours; nothing refers to it any more.
            unsafe { sys::rtcp_helper_consume_skb(skb) };
        }
        sys::NF_STOLEN
    }
}

/// As `tcp_filter`: the target's socket filter (`SO_ATTACH_FILTER`) and
/// the security module's `socket_sock_rcv_skb` (`sk_filter_trim_cap`;
/// its cgroup programs look at inet's families only) pass the segment
/// (true) or drop it; a filter may cut its payload (never its TCP
/// header), and `pkt` then says how much is left.
///
/// # Safety
///
/// `skb` is ours, its data at the TCP header of `pkt`.
unsafe fn filter<H: Hook>(skb: *mut sys::sk_buff, target: &H::Target, pkt: &mut Packet) -> bool {
    let Some(sk) = H::filter_sock(target) else { return true };
    let header_len = u32::from(pkt.seg.header_len);
    // SAFETY: `sk` is alive (the target holds it) and `skb` is ours, as
    // the caller guarantees; `sk_filter_trim_cap` keeps at least
    // `header_len` bytes.
    if unsafe { sys::sk_filter_trim_cap(sk.as_ptr(), skb, header_len) } != 0 {
        return false;
    }
    // SAFETY: the skb is ours and live.
    let left = unsafe { (*skb).len }.saturating_sub(header_len);
    pkt.payload_len = pkt.payload_len.min(left);
    true
}

/// The first `len` bytes at the skb's data, made linear (`pskb_may_pull`);
/// `None` if it has fewer.
///
/// # Safety
///
/// `skb` is live, and is not changed while the bytes are used.
unsafe fn pull<'a>(skb: *mut sys::sk_buff, len: usize) -> Option<&'a [u8]> {
    // SAFETY: `pskb_may_pull` makes `len` bytes at the data linear (or
    // fails); they stay valid while the skb is not changed.
    unsafe {
        if !sys::rtcp_helper_pskb_may_pull(skb, u32::try_from(len).ok()?) {
            return None;
        }
        Some(core::slice::from_raw_parts((*skb).data, len))
    }
}

/// What the hook found in a packet.
enum Parsed {
    Tcp(Packet),
    /// The error, and where its quoted IP header starts.
    Icmp(IcmpError, u32),
    /// A TCP header whose data offset is wrong.
    Malformed(Malformed),
}

/// Reads the IPv4 and TCP headers of a received skb, or the ICMP error it
/// is; `None` if it is neither a well-formed TCP segment nor such an error.
///
/// # Safety
///
/// `skb` is live with its data at the IPv4 header.
unsafe fn parse(skb: *mut sys::sk_buff) -> Option<Parsed> {
    // SAFETY: the skb is live (the caller's guarantee) and not changed
    // while the bytes are looked at.
    let linear = |len: usize| unsafe { pull(skb, len) };
    let ip = Ipv4::parse(linear(crate::proto::ipv4::HEADER_LEN)?)?;
    // SAFETY: the skb is live.
    let skb_len = unsafe { (*skb).len } as usize;
    let hdr = NetHeader { src: Addr::v4(ip.src), dst: Addr::v4(ip.dst), header_len: ip.header_len, iif: 0 };
    // Trailing padding (a short frame) is not part of the packet.
    let total = ip.total_len.min(skb_len);
    if ip.protocol == sys::IPPROTO_ICMP as u8 {
        // Only the error types are made linear, whole (the checksum covers
        // all of the message): they are short, quoting one header.
        let icmp_type = *linear(ip.header_len.checked_add(1)?)?.get(ip.header_len)?;
        if !IcmpError::is_error_type(icmp_type) {
            return None;
        }
        let msg = linear(total)?.get(ip.header_len..)?;
        let quoted = u32::try_from(ip.header_len.checked_add(8)?).ok()?;
        return IcmpError::parse(msg).map(|e| Parsed::Icmp(e, quoted));
    }
    if ip.protocol != sys::IPPROTO_TCP as u8 {
        return None;
    }
    // SAFETY: as the caller guarantees.
    unsafe { parse_tcp(skb, hdr, total) }
}

/// Reads the IPv6 and TCP headers of a received skb (walking its
/// extension headers, `ipv6_skip_exthdr`), or the ICMPv6 error it is;
/// `None` if it is neither a well-formed TCP segment nor such an error.
///
/// # Safety
///
/// `skb` is live with its data at the IPv6 header.
unsafe fn parse6(skb: *mut sys::sk_buff) -> Option<Parsed> {
    // SAFETY: the skb is live (the caller's guarantee) and not changed
    // while the bytes are looked at.
    let linear = |len: usize| unsafe { pull(skb, len) };
    let ip = ipv6::Ipv6::parse_fixed(linear(ipv6::HEADER_LEN)?)?;
    // A v4-mapped address on an IPv6 packet is no connection's (RTCP's
    // would be IPv4's): left to Linux, which drops it (`tcp_v6_rcv`,
    // `tcp_v6_conn_request`).
    if ip.src.is_v4() || ip.dst.is_v4() {
        return None;
    }
    // SAFETY: the skb is live.
    let skb_len = unsafe { (*skb).len } as usize;
    let total = ip.total_len.min(skb_len);
    let (mut protocol, mut header_len) = (ip.protocol, ip.header_len);
    // A bound on the walk, as `ipv6::Ipv6::parse` has.
    for _ in 0..64 {
        let head = match linear(header_len.checked_add(2)?.min(total)).and_then(|b| b.get(header_len..)) {
            Some(&[b0, b1]) => [b0, b1],
            _ => [0, 0],
        };
        match ipv6::ext_step(protocol, head)? {
            None => break,
            Some((next, len)) => {
                header_len = header_len.checked_add(len).filter(|&n| n <= total)?;
                protocol = next;
            }
        }
    }
    // SAFETY: the skb is live, an IPv6 one past `ip6_rcv`.
    let iif = unsafe { sys::rtcp_helper_inet6_iif(skb) };
    let hdr = NetHeader { src: ip.src, dst: ip.dst, header_len, iif };
    if protocol == ipv6::NEXTHDR_ICMP {
        let icmp_type = *linear(header_len.checked_add(1)?)?.get(header_len)?;
        if !IcmpError::is_error_type6(icmp_type) {
            return None;
        }
        let msg = linear(total)?.get(header_len..)?;
        let quoted = u32::try_from(header_len.checked_add(8)?).ok()?;
        return IcmpError::parse6(msg, &ip.src, &ip.dst).map(|e| Parsed::Icmp(e, quoted));
    }
    if protocol != sys::IPPROTO_TCP as u8 {
        return None;
    }
    // SAFETY: as the caller guarantees.
    unsafe { parse_tcp(skb, hdr, total) }
}

/// Reads the TCP header after the network header `ip` of a packet of
/// `total` bytes.
///
/// # Safety
///
/// `skb` is live with its data at the network header.
unsafe fn parse_tcp(skb: *mut sys::sk_buff, ip: NetHeader, total: usize) -> Option<Parsed> {
    // SAFETY: the skb is live (the caller's guarantee) and not changed
    // while the bytes are looked at.
    let linear = |len: usize| unsafe { pull(skb, len) };
    // As `tcp_v4_rcv`: less than a header is no one's; a data offset
    // below 5 words, or past the packet, is an error of the claimed
    // socket's (the ports are there to find it).
    let base = linear(ip.header_len.checked_add(crate::proto::segment::HEADER_LEN)?)?.get(ip.header_len..)?;
    let &[sp0, sp1, dp0, dp1, ..] = base else { return None };
    let off_byte = *base.get(12)?;
    let tcp_hlen = usize::from(off_byte >> 4) * 4;
    let bad = |bad_offset| {
        let (src_port, dst_port) = (u16::from_be_bytes([sp0, sp1]), u16::from_be_bytes([dp0, dp1]));
        Some(Parsed::Malformed(Malformed { ip, src_port, dst_port, bad_offset }))
    };
    if tcp_hlen < crate::proto::segment::HEADER_LEN {
        return bad(true);
    }
    let Some(bytes) = ip.header_len.checked_add(tcp_hlen).and_then(|n| if n <= total { linear(n) } else { None }) else {
        return bad(false);
    };
    let seg = Segment::parse(bytes.get(ip.header_len..)?, None).ok()?;
    let payload_len = total.checked_sub(ip.header_len)?.checked_sub(tcp_hlen)?;
    Some(Parsed::Tcp(Packet { ip, seg, payload_len: u32::try_from(payload_len).ok()? }))
}

/// The hook of `H`, registered in one namespace; unregistered on drop.
///
/// # Invariants
///
/// `def` is registered in `net`, which outlives this value (it is kept in
/// the namespace's own pernet state).
pub(crate) struct HookRegistration<H: Hook> {
    net: *mut sys::net,
    def: &'static HookDef<H>,
}

impl<H: Hook> HookRegistration<H> {
    pub(crate) fn new(net: &Net, def: &'static HookDef<H>) -> Result<Self> {
        // SAFETY: `net` is alive; `def` is a static.
        to_result(unsafe { sys::nf_register_net_hook(net.as_ptr(), def.0.get()) })?;
        // INVARIANT: registered just above.
        Ok(Self { net: net.as_ptr(), def })
    }
}

impl<H: Hook> Drop for HookRegistration<H> {
    fn drop(&mut self) {
        // SAFETY: registered in `net` (type invariant), which is still
        // alive: this runs from the namespace's pernet exit.
        unsafe { sys::nf_unregister_net_hook(self.net, self.def.0.get()) }
    }
}

// SAFETY: the registration may be dropped on any CPU.
unsafe impl<H: Hook> Send for HookRegistration<H> {}
// SAFETY: it has no methods taking `&self`.
unsafe impl<H: Hook> Sync for HookRegistration<H> {}
