// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers over the static inline functions rtcp.ko calls from
 * Rust; no logic lives here (see rust/helpers/ in the kernel for the style).
 */
#include "sys.h"
#include <net/tcp.h>

void rtcp_helper_sock_hold(struct sock *sk) { sock_hold(sk); }
void rtcp_helper_sock_put(struct sock *sk) { sock_put(sk); }
void rtcp_helper_sock_orphan(struct sock *sk) { sock_orphan(sk); }
void rtcp_helper_lock_sock(struct sock *sk) { lock_sock(sk); }
void *rtcp_helper_net_generic(const struct net *net, unsigned int id) { return net_generic(net, id); }
void rtcp_helper_sock_poll_wait(struct file *filp, struct socket *sock, poll_table *p) { sock_poll_wait(filp, sock, p); }
bool rtcp_helper_ip_nonlocal_bind(struct net *net) { return READ_ONCE(net->ipv4.sysctl_ip_nonlocal_bind); }
bool rtcp_helper_inet_port_requires_bind_service(struct net *net, unsigned short port) { return inet_port_requires_bind_service(net, port); }
void rtcp_helper_local_port_range(const struct net *net, int *low, int *high) { inet_get_local_port_range(net, low, high); }
bool rtcp_helper_local_reserved_port(struct net *net, unsigned short port) { return inet_is_local_reserved_port(net, port); }
int rtcp_helper_local_port_step_width(const struct net *net) { return READ_ONCE(net->ipv4.sysctl_ip_local_port_step_width); }
bool rtcp_helper_net_capable(struct net *net, int cap) { return ns_capable(net->user_ns, cap); }
void rtcp_helper_timer_setup(struct timer_list *t, void (*fn)(struct timer_list *)) { timer_setup(t, fn, 0); }
unsigned long rtcp_helper_jiffies(void) { return jiffies; }
unsigned long rtcp_helper_usecs_to_jiffies(unsigned int us) { return usecs_to_jiffies(us); }
unsigned int rtcp_helper_jiffies_to_usecs(unsigned long j) { return jiffies_to_usecs(j); }
unsigned long rtcp_helper_msecs_to_jiffies(unsigned int ms) { return msecs_to_jiffies(ms); }
unsigned int rtcp_helper_jiffies_to_msecs(unsigned long j) { return jiffies_to_msecs(j); }
unsigned int rtcp_helper_hz(void) { return HZ; }
wait_queue_head_t *rtcp_helper_sk_sleep(struct sock *sk) { return sk_sleep(sk); }
void rtcp_helper_init_wait_woken(struct wait_queue_entry *w) { *w = (struct wait_queue_entry) { .private = current, .func = woken_wake_function, .entry = LIST_HEAD_INIT(w->entry) }; }
bool rtcp_helper_signal_pending(void) { return signal_pending(current); }
void rtcp_helper_sk_state_change(struct sock *sk) { sk->sk_state_change(sk); }
void rtcp_helper_flowi4_init_output(struct flowi4 *fl4, int oif, __u32 mark, __u8 proto, __be32 daddr, __be32 saddr, __be16 dport, __be16 sport, kuid_t uid) { flowi4_init_output(fl4, oif, mark, 0, RT_SCOPE_UNIVERSE, proto, 0, daddr, saddr, dport, sport, uid); }
struct dst_entry *rtcp_helper_rt_dst(struct rtable *rt) { return &rt->dst; }
unsigned int rtcp_helper_rt_flags(struct rtable *rt) { return rt->rt_flags; }
unsigned int rtcp_helper_dst_mtu(const struct dst_entry *dst) { return dst_mtu(dst); }
unsigned int rtcp_helper_dst_advmss(const struct dst_entry *dst) { return dst_metric_advmss(dst); }
unsigned int rtcp_helper_dst_initcwnd(const struct dst_entry *dst) { return dst_metric(dst, RTAX_INITCWND); }
/* As tcp_rto_min: the route's rto_min counts only when locked. */
unsigned int rtcp_helper_dst_locked_rto_min_us(const struct dst_entry *dst)
{
	return dst_metric_locked(dst, RTAX_RTO_MIN) ? jiffies_to_usecs(dst_metric_rtt(dst, RTAX_RTO_MIN)) : 0;
}
bool rtcp_helper_ip_mtu_locked(const struct dst_entry *dst) { return ip_mtu_locked(dst); }
/* As an ICMP error handler sees it (icmp_socket_deliver): data at the
 * quoted IP header, which ipv4_update_pmtu routes by. */
void rtcp_helper_icmp_update_pmtu(struct sk_buff *skb, struct net *net, unsigned int quoted, unsigned int mtu)
{
	__skb_pull(skb, quoted);
	ipv4_update_pmtu(skb, net, mtu, 0, IPPROTO_TCP);
	__skb_push(skb, quoted);
}
/* The same for ICMPv6's packet too big (icmpv6_notify, ip6_update_pmtu). */
void rtcp_helper_icmp6_update_pmtu(struct sk_buff *skb, struct net *net, unsigned int quoted, unsigned int mtu)
{
	__skb_pull(skb, quoted);
	ip6_update_pmtu(skb, net, htonl(mtu), 0, 0, sock_net_uid(net, NULL));
	__skb_push(skb, quoted);
}
int rtcp_helper_ip4_dst_hoplimit(const struct dst_entry *dst) { return ip4_dst_hoplimit(dst); }
void rtcp_helper_dst_release(struct dst_entry *dst) { dst_release(dst); }
struct dst_entry *rtcp_helper_sk_dst_check(struct sock *sk, u32 cookie) { return sk_dst_check(sk, cookie); }
void rtcp_helper_sk_dst_set(struct sock *sk, struct dst_entry *dst) { sk_dst_set(sk, dst_clone(dst)); }
u32 rtcp_helper_rt6_get_cookie(struct dst_entry *dst) { return rt6_get_cookie(dst_rt6_info(dst)); }
void rtcp_helper_sk_dst_reset(struct sock *sk) { sk_dst_reset(sk); }
unsigned int rtcp_helper_dst_gso_max_segs(struct dst_entry *d) { return READ_ONCE(d->dev->gso_max_segs); }
struct sk_buff *rtcp_helper_alloc_skb(unsigned int size) { return alloc_skb(size, GFP_ATOMIC); }
void rtcp_helper_kfree_skb(struct sk_buff *skb) { kfree_skb(skb); }
struct page *rtcp_helper_alloc_page(void) { return alloc_page(GFP_ATOMIC); }
void *rtcp_helper_page_address(struct page *page) { return page_address(page); }
void rtcp_helper_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page, int off, int size, unsigned int truesize) { skb_add_rx_frag(skb, i, page, off, size, truesize); }
void rtcp_helper_skb_set_gso_tcp(struct sk_buff *skb, u16 size, u16 segs, bool v6) { skb_shinfo(skb)->gso_size = size; skb_shinfo(skb)->gso_segs = segs; skb_shinfo(skb)->gso_type = v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4; }
/* What a received skb costs a receive buffer as Linux's TCP counts it: its
 * truesize; the same less a head that holds none of the payload (at `off`
 * from the data), as tcp_grow_window's truesize_adjust; and its gso_size. */
void rtcp_helper_skb_rx_cost(const struct sk_buff *skb, unsigned int off, unsigned int len, u32 *truesize, u32 *grow, u32 *gso)
{
	u32 t = skb->truesize;

	*truesize = t;
	if (skb_headlen(skb) <= off) {
		u32 adj = t - SKB_TRUESIZE(skb_end_offset(skb));

		if ((int)adj >= (int)len)
			t = adj;
	}
	*grow = t;
	*gso = skb_is_gso(skb) ? skb_shinfo(skb)->gso_size : 0;
}
void rtcp_helper_skb_reserve(struct sk_buff *skb, int len) { skb_reserve(skb, len); }
void rtcp_helper_skb_reset_network_header(struct sk_buff *skb) { skb_reset_network_header(skb); }
void rtcp_helper_skb_dst_set(struct sk_buff *skb, struct dst_entry *dst) { skb_dst_set(skb, dst); }
void rtcp_helper_skb_set_protocol_ip(struct sk_buff *skb) { skb->protocol = htons(ETH_P_IP); }
bool rtcp_helper_pskb_may_pull(struct sk_buff *skb, unsigned int len) { return pskb_may_pull(skb, len); }
unsigned char *rtcp_helper_skb_network_header(const struct sk_buff *skb) { return skb_network_header(skb); }
bool rtcp_helper_tcp_checksum_ok(struct sk_buff *skb) { return !skb_checksum_init(skb, IPPROTO_TCP, inet_compute_pseudo) && !skb_checksum_complete(skb); }
bool rtcp_helper_tcp6_checksum_ok(struct sk_buff *skb) { return !skb_checksum_init(skb, IPPROTO_TCP, ip6_compute_pseudo) && !skb_checksum_complete(skb); }
int rtcp_helper_inet6_iif(const struct sk_buff *skb) { return inet6_iif(skb); }
void rtcp_helper_sock_graft(struct sock *sk, struct socket *parent) { sock_graft(sk, parent); }
int rtcp_helper_copy_from_sockptr(void *dst, sockptr_t src, size_t size) { return copy_from_sockptr(dst, src, size); }
size_t rtcp_helper_copy_to_iter(const void *src, size_t len, struct iov_iter *i) { return copy_to_iter(src, len, i); }
struct net *rtcp_helper_seq_file_single_net(struct seq_file *seq) { return seq_file_single_net(seq); }
u64 rtcp_helper_sock_i_ino(const struct sock *sk) { return sock_i_ino(sk); }
/* consume_skb is a function with CONFIG_TRACEPOINTS, an inline without. */
void rtcp_helper_consume_skb(struct sk_buff *skb) { consume_skb(skb); }
/* A received skb kept for the reader holds no socket, route or conntrack
 * entry (tcp_v4_rcv's nf_reset_ct, tcp_data_queue's skb_dst_drop). */
void rtcp_helper_skb_keep(struct sk_buff *skb)
{
	skb_orphan(skb);
	skb_dst_drop(skb);
	nf_reset_ct(skb);
}
void rtcp_helper_skb_get(struct sk_buff *skb) { skb_get(skb); }
/* skb_copy_datagram_iter, counting what it copied even when it faults. */
size_t rtcp_helper_skb_copy_to_iter(const struct sk_buff *skb, int off, int len, struct iov_iter *i)
{
	size_t before = iov_iter_count(i);

	skb_copy_datagram_iter(skb, off, i, len);
	return before - iov_iter_count(i);
}
void rtcp_helper_sk_data_ready(struct sock *sk) { sk->sk_data_ready(sk); }
/* sk_socket stays while the callback lock is held (sock_orphan clears it under that lock). */
void rtcp_helper_sk_send_sigurg(struct sock *sk) { read_lock_bh(&sk->sk_callback_lock); sk_send_sigurg(sk); read_unlock_bh(&sk->sk_callback_lock); }
void rtcp_helper_sk_write_space(struct sock *sk) { sk->sk_write_space(sk); }
/* SOCK_NOSPACE (and SOCKWQ_ASYNC_NOSPACE for SIGIO), as
 * sk_stream_wait_memory and tcp_poll set them: a writer found no room, so
 * the next ACK that frees some wakes writers (rtcp_helper_sk_new_space).
 * The barrier orders the flag before the caller's next look at the room
 * (tcp_poll's race breaker). Process context, the socket held. */
void rtcp_helper_sk_set_nospace(struct sock *sk)
{
	sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
	smp_mb__after_atomic();
}
/* tcp_check_space and tcp_new_space: the ACK freed room, which wakes writers
 * only if one found none since the last such wake-up (SOCK_NOSPACE, cleared
 * as sk_stream_write_space clears it); a reader asleep on the same wait
 * queue is not woken by every ACK. Any context: sock_orphan may clear
 * sk_socket meanwhile, and the socket is freed an RCU grace period after
 * (sock_free_inode). */
void rtcp_helper_sk_new_space(struct sock *sk)
{
	struct socket *sock;
	bool wake = false;

	/* Pairs with the barrier after the flag is set. */
	smp_mb();
	rcu_read_lock();
	sock = READ_ONCE(sk->sk_socket);
	if (sock && test_bit(SOCK_NOSPACE, &sock->flags)) {
		clear_bit(SOCK_NOSPACE, &sock->flags);
		wake = true;
	}
	rcu_read_unlock();
	if (wake)
		sk->sk_write_space(sk);
}
void rtcp_helper_local_bh_disable(void) { local_bh_disable(); }
void rtcp_helper_local_bh_enable(void) { local_bh_enable(); }
void rtcp_helper_spin_lock_bh(spinlock_t *l) { spin_lock_bh(l); }
void rtcp_helper_spin_unlock_bh(spinlock_t *l) { spin_unlock_bh(l); }
int rtcp_helper_spin_trylock_bh(spinlock_t *l) { return spin_trylock_bh(l); }
size_t rtcp_helper_copy_from_iter(void *dst, size_t len, struct iov_iter *i) { return copy_from_iter(dst, len, i); }
bool rtcp_helper_sock_flag_linger(const struct sock *sk) { return sock_flag(sk, SOCK_LINGER); }
bool rtcp_helper_sock_flag_keepopen(const struct sock *sk) { return sock_flag(sk, SOCK_KEEPOPEN); }
bool rtcp_helper_sock_flag_dead(const struct sock *sk) { return sock_flag(sk, SOCK_DEAD); }
/* The sock's reference on its namespace becomes a passive one, as
 * sk_alloc() gives a kernel socket, so that the namespace can go while the
 * sock lives on (Linux's inet_timewait_sock takes no reference either);
 * the namespace's exit then ends the sock. Undoes sk_alloc()'s user-sock
 * half in the order __sk_destruct() and sk_net_refcnt_upgrade() keep. */
void rtcp_helper_sk_net_refcnt_downgrade(struct sock *sk)
{
	struct net *net = sock_net(sk);

	if (!sk->sk_net_refcnt)
		return;
	net_passive_inc(net);
	sock_inuse_add(net, -1);
	sk->sk_net_refcnt = 0;
	put_net_track(net, &sk->ns_tracker);
	__netns_tracker_alloc(net, &sk->ns_tracker, false, GFP_ATOMIC);
}
void rtcp_helper_sk_stop_timer_sync(struct sock *sk) { sk_stop_timer_sync(sk, &sk->sk_timer); }
/* sk_reset_timer with the timer's reference taken before the timer is
 * armed: sk_reset_timer holds it only after mod_timer, which is safe only
 * under the socket's lock. RTCP arms and stops the timer after the
 * connection's lock, from a socket call and from softirq at once; a
 * sk_stop_timer between mod_timer and sock_hold would put a reference not
 * yet taken (seen as a use-after-free of an accepted sock closing while
 * its peer's ACK of the FIN arrived). The caller holds a reference. */
void rtcp_helper_sk_reset_timer(struct sock *sk, unsigned long expires)
{
	sock_hold(sk);
	if (mod_timer(&sk->sk_timer, expires))
		__sock_put(sk);
}
/* The same with timer_reduce: the timer fires at expires or before (a
 * pending timer that fires sooner stays). A pending timer whose expiry is
 * not later returns at once, without the timer base's lock. */
void rtcp_helper_sk_reduce_timer(struct sock *sk, unsigned long expires)
{
	sock_hold(sk);
	if (timer_reduce(&sk->sk_timer, expires))
		__sock_put(sk);
}
void rtcp_helper_sock_copy_flag(struct sock *sk, const struct sock *from, int f) { sock_valbool_flag(sk, f, sock_flag(from, f)); }
int rtcp_helper_put_user_int(int val, unsigned long arg) { return put_user(val, (int __user *)arg); }
struct workqueue_struct *rtcp_helper_alloc_workqueue(const char *name) { return alloc_workqueue("%s", WQ_UNBOUND, 0, name); }
void rtcp_helper_flush_workqueue(struct workqueue_struct *wq) { flush_workqueue(wq); }
int rtcp_helper_page_ref_count(struct page *page) { return page_count(page); }
void rtcp_helper_get_page(struct page *page) { get_page(page); }
void rtcp_helper_put_page(struct page *page) { put_page(page); }
u32 rtcp_helper_rmem_max(void) { return READ_ONCE(sysctl_rmem_max); }
/* What one segment of mss bytes costs a sender (tcp_sndbuf_expand's per_mss). */
u32 rtcp_helper_sndmem_per_mss(u32 mss)
{
	u32 per_mss = min(mss, 1U << 20) + MAX_TCP_HEADER + SKB_DATA_ALIGN(sizeof(struct skb_shared_info));

	return roundup_pow_of_two(per_mss) + SKB_DATA_ALIGN(sizeof(struct sk_buff));
}
/* net.ipv4.tcp_mem[i] (sysctl_tcp_mem is not exported; tcp_prot points to it). */
long rtcp_helper_tcp_mem(int i) { return i >= 0 && i < 3 ? READ_ONCE(tcp_prot.sysctl_mem[i]) : 0; }
void rtcp_helper_sock_set_custom_sockopt(struct socket *sock) { set_bit(SOCK_CUSTOM_SOCKOPT, &sock->flags); }
bool rtcp_helper_sock_flag(const struct sock *sk, int f) { return sock_flag(sk, f); }
void rtcp_helper_sock_valbool_flag(struct sock *sk, int f, bool on) { sock_valbool_flag(sk, f, on); }
void rtcp_helper_net_zcopy_get(struct ubuf_info *uarg) { net_zcopy_get(uarg); }
void rtcp_helper_net_zcopy_put(struct ubuf_info *uarg) { net_zcopy_put(uarg); }
/* tcp_sendmsg_locked on a route without scatter-gather: the bytes were
 * copied, and the completion says so (SO_EE_CODE_ZEROCOPY_COPIED). */
void rtcp_helper_msg_zerocopy_copied(struct ubuf_info *uarg) { uarg_to_msgzc(uarg)->zerocopy = 0; }
bool rtcp_helper_error_queue_empty(const struct sock *sk) { return skb_queue_empty_lockless(&sk->sk_error_queue); }
/* As inet_sock_destruct: __sk_destruct leaves sk_error_queue to the family. */
void rtcp_helper_error_queue_purge(struct sock *sk) { __skb_queue_purge(&sk->sk_error_queue); }
/* ip_recv_error (net/ipv4/ip_sockglue.c) for what RTCP queues on
 * sk_error_queue, MSG_ZEROCOPY's completions: the skb's bytes, a
 * SOL_IP/IP_RECVERR cmsg of the sock_extended_err and a zeroed offender
 * (ip_recv_error fills the offender and msg_name in only for ICMP errors
 * and timestamps, which RTCP does not queue), MSG_ERRQUEUE; -EAGAIN when
 * the queue is empty. ip_recv_error is not exported, and
 * sock_recv_errqueue writes the sock_extended_err alone. */
int rtcp_helper_recv_error(struct sock *sk, struct msghdr *msg, int len)
{
	struct {
		struct sock_extended_err ee;
		struct sockaddr_in offender;
	} errhdr;
	struct sk_buff *skb;
	int copied, err;

	skb = sock_dequeue_err_skb(sk);
	if (!skb)
		return -EAGAIN;
	copied = skb->len;
	if (copied > len) {
		msg->msg_flags |= MSG_TRUNC;
		copied = len;
	}
	err = skb_copy_datagram_msg(skb, 0, msg, copied);
	if (unlikely(err)) {
		kfree_skb(skb);
		return err;
	}
	sock_recv_timestamp(msg, sk, skb);
	memcpy(&errhdr.ee, &SKB_EXT_ERR(skb)->ee, sizeof(errhdr.ee));
	memset(&errhdr.offender, 0, sizeof(errhdr.offender));
	put_cmsg(msg, SOL_IP, IP_RECVERR, sizeof(errhdr), &errhdr);
	msg->msg_flags |= MSG_ERRQUEUE;
	consume_skb(skb);
	return copied;
}

int rtcp_helper_ip_default_ttl(const struct net *net) { return READ_ONCE(net->ipv4.sysctl_ip_default_ttl); }
void rtcp_helper_sk_set_reuseport(struct sock *sk, bool on) { sk->sk_reuseport = on; }
void rtcp_helper_set_tos_priority(struct sock *sk, u8 tos) { WRITE_ONCE(sk->sk_priority, rt_tos2priority(tos)); }
/* ipv6_chk_addr on the device of ifindex (0: any): 1 if local, 0 if not,
 * -ENODEV without such a device (__inet6_bind's checks). */
int rtcp_helper_ipv6_chk_addr(struct net *net, const struct in6_addr *addr, int ifindex)
{
	struct net_device *dev = NULL;
	int ret;

	rcu_read_lock();
	if (ifindex) {
		dev = dev_get_by_index_rcu(net, ifindex);
		if (!dev) {
			rcu_read_unlock();
			return -ENODEV;
		}
	}
	ret = ipv6_chk_addr(net, addr, dev, 0);
	rcu_read_unlock();
	return ret;
}
bool rtcp_helper_ipv6_nonlocal_bind(struct net *net) { return READ_ONCE(net->ipv6.sysctl.ip_nonlocal_bind); }
int rtcp_helper_ipv6_default_hops(struct net *net) { return READ_ONCE(net->ipv6.devconf_all->hop_limit); }
