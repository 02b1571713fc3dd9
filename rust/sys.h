/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel declarations rtcp.ko uses, for the module's own bindgen run
 * (see Kbuild): the kernel crate's bindings leave out most of networking.
 * The rtcp_helper_* functions wrap static inline functions; they live in
 * helpers.c and are linked into the same .ko.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <net/sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/addrconf.h>
#include <net/ip6_checksum.h>
#include <linux/capability.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/sched/signal.h>
#include <net/secure_seq.h>
#include <net/dst.h>
#include <linux/sysctl.h>
#include <linux/sockptr.h>
#include <linux/filter.h>
#include <linux/uio.h>
#include <linux/tcp.h>
#include <linux/proc_fs.h>
#include <linux/seq_file_net.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/workqueue.h>

void rtcp_helper_sock_hold(struct sock *sk);
void rtcp_helper_sock_put(struct sock *sk);
void rtcp_helper_sock_orphan(struct sock *sk);
void rtcp_helper_lock_sock(struct sock *sk);
void *rtcp_helper_net_generic(const struct net *net, unsigned int id);
void rtcp_helper_sock_poll_wait(struct file *filp, struct socket *sock, poll_table *p);
bool rtcp_helper_ip_nonlocal_bind(struct net *net);
bool rtcp_helper_inet_port_requires_bind_service(struct net *net, unsigned short port);
void rtcp_helper_local_port_range(const struct net *net, int *low, int *high);
bool rtcp_helper_local_reserved_port(struct net *net, unsigned short port);
int rtcp_helper_local_port_step_width(const struct net *net);
bool rtcp_helper_net_capable(struct net *net, int cap);
void rtcp_helper_timer_setup(struct timer_list *t, void (*fn)(struct timer_list *));
unsigned long rtcp_helper_jiffies(void);
unsigned long rtcp_helper_usecs_to_jiffies(unsigned int us);
unsigned int rtcp_helper_jiffies_to_usecs(unsigned long j);
unsigned long rtcp_helper_msecs_to_jiffies(unsigned int ms);
unsigned int rtcp_helper_jiffies_to_msecs(unsigned long j);
unsigned int rtcp_helper_hz(void);
wait_queue_head_t *rtcp_helper_sk_sleep(struct sock *sk);
void rtcp_helper_init_wait_woken(struct wait_queue_entry *w);
bool rtcp_helper_signal_pending(void);
void rtcp_helper_sk_state_change(struct sock *sk);
void rtcp_helper_flowi4_init_output(struct flowi4 *fl4, int oif, __u32 mark, __u8 proto,
				    __be32 daddr, __be32 saddr, __be16 dport, __be16 sport, kuid_t uid);
struct dst_entry *rtcp_helper_rt_dst(struct rtable *rt);
unsigned int rtcp_helper_rt_flags(struct rtable *rt);
unsigned int rtcp_helper_dst_mtu(const struct dst_entry *dst);
unsigned int rtcp_helper_dst_advmss(const struct dst_entry *dst);
unsigned int rtcp_helper_dst_initcwnd(const struct dst_entry *dst);
unsigned int rtcp_helper_dst_locked_rto_min_us(const struct dst_entry *dst);
bool rtcp_helper_ip_mtu_locked(const struct dst_entry *dst);
void rtcp_helper_icmp_update_pmtu(struct sk_buff *skb, struct net *net, unsigned int quoted, unsigned int mtu);
void rtcp_helper_icmp6_update_pmtu(struct sk_buff *skb, struct net *net, unsigned int quoted, unsigned int mtu);
int rtcp_helper_ip4_dst_hoplimit(const struct dst_entry *dst);
void rtcp_helper_dst_release(struct dst_entry *dst);
struct dst_entry *rtcp_helper_sk_dst_check(struct sock *sk, u32 cookie);
void rtcp_helper_sk_dst_set(struct sock *sk, struct dst_entry *dst);
u32 rtcp_helper_rt6_get_cookie(struct dst_entry *dst);
void rtcp_helper_sk_dst_reset(struct sock *sk);
unsigned int rtcp_helper_dst_gso_max_segs(struct dst_entry *d);
struct sk_buff *rtcp_helper_alloc_skb(unsigned int size);
void rtcp_helper_kfree_skb(struct sk_buff *skb);
void rtcp_helper_skb_reserve(struct sk_buff *skb, int len);
void rtcp_helper_skb_reset_network_header(struct sk_buff *skb);
void rtcp_helper_skb_dst_set(struct sk_buff *skb, struct dst_entry *dst);
void rtcp_helper_skb_set_protocol_ip(struct sk_buff *skb);
bool rtcp_helper_pskb_may_pull(struct sk_buff *skb, unsigned int len);
unsigned char *rtcp_helper_skb_network_header(const struct sk_buff *skb);
bool rtcp_helper_tcp_checksum_ok(struct sk_buff *skb);
bool rtcp_helper_tcp6_checksum_ok(struct sk_buff *skb);
int rtcp_helper_inet6_iif(const struct sk_buff *skb);
void rtcp_helper_sock_graft(struct sock *sk, struct socket *parent);
int rtcp_helper_copy_from_sockptr(void *dst, sockptr_t src, size_t size);
size_t rtcp_helper_copy_to_iter(const void *src, size_t len, struct iov_iter *i);
struct net *rtcp_helper_seq_file_single_net(struct seq_file *seq);
u64 rtcp_helper_sock_i_ino(const struct sock *sk);

/*
 * Constants whose macros bindgen cannot evaluate (they carry casts): as
 * const variables, bindgen emits their values (the kernel's
 * RUST_CONST_HELPER_* trick in rust/bindings/bindings_helper.h).
 */
const gfp_t RTCP_GFP_KERNEL = GFP_KERNEL;
const gfp_t RTCP_GFP_ATOMIC = GFP_ATOMIC;
const u32 RTCP_RT_TABLE_LOCAL = RT_TABLE_LOCAL;
const unsigned int RTCP_RTCF_MULTICAST_BROADCAST = RTCF_MULTICAST | RTCF_BROADCAST;
const unsigned int RTCP_MAX_HEADER = MAX_HEADER;
const unsigned int RTCP_NF_INET_LOCAL_IN = NF_INET_LOCAL_IN;
const int RTCP_NF_IP_PRI_FILTER = NF_IP_PRI_FILTER;
const long RTCP_MAX_SCHEDULE_TIMEOUT = MAX_SCHEDULE_TIMEOUT;
const unsigned int RTCP_TASK_INTERRUPTIBLE = TASK_INTERRUPTIBLE;
const __poll_t RTCP_EPOLLIN = EPOLLIN;
const __poll_t RTCP_EPOLLOUT = EPOLLOUT;
const __poll_t RTCP_EPOLLERR = EPOLLERR;
const __poll_t RTCP_EPOLLHUP = EPOLLHUP;
const __poll_t RTCP_EPOLLRDNORM = EPOLLRDNORM;
const __poll_t RTCP_EPOLLWRNORM = EPOLLWRNORM;
const __poll_t RTCP_EPOLLRDHUP = EPOLLRDHUP;
void rtcp_helper_consume_skb(struct sk_buff *skb);
void rtcp_helper_skb_keep(struct sk_buff *skb);
void rtcp_helper_skb_get(struct sk_buff *skb);
size_t rtcp_helper_skb_copy_to_iter(const struct sk_buff *skb, int off, int len, struct iov_iter *i);
struct page *rtcp_helper_alloc_page(void);
void *rtcp_helper_page_address(struct page *page);
void rtcp_helper_skb_add_rx_frag(struct sk_buff *skb, int i, struct page *page, int off, int size, unsigned int truesize);
const unsigned int RTCP_MAX_SKB_FRAGS = MAX_SKB_FRAGS;
void rtcp_helper_skb_set_gso_tcp(struct sk_buff *skb, u16 size, u16 segs, bool v6);
void rtcp_helper_skb_rx_cost(const struct sk_buff *skb, unsigned int off, unsigned int len, u32 *truesize, u32 *grow, u32 *gso);
void rtcp_helper_sk_data_ready(struct sock *sk);
bool rtcp_helper_sock_flag_linger(const struct sock *sk);
bool rtcp_helper_sock_flag_keepopen(const struct sock *sk);
bool rtcp_helper_sock_flag_dead(const struct sock *sk);
void rtcp_helper_sk_net_refcnt_downgrade(struct sock *sk);
void rtcp_helper_sk_stop_timer_sync(struct sock *sk);
void rtcp_helper_sk_reset_timer(struct sock *sk, unsigned long expires);
void rtcp_helper_sk_reduce_timer(struct sock *sk, unsigned long expires);
void rtcp_helper_sock_copy_flag(struct sock *sk, const struct sock *from, int f);
const int RTCP_SOCK_KEEPOPEN = SOCK_KEEPOPEN;
const int RTCP_SOCK_LINGER = SOCK_LINGER;
const unsigned int RTCP_SOCK_SNDBUF_LOCK = SOCK_SNDBUF_LOCK;
const unsigned int RTCP_SOCK_RCVBUF_LOCK = SOCK_RCVBUF_LOCK;
int rtcp_helper_put_user_int(int val, unsigned long arg);
int rtcp_helper_page_ref_count(struct page *page);
void rtcp_helper_get_page(struct page *page);
void rtcp_helper_put_page(struct page *page);
u32 rtcp_helper_rmem_max(void);
u32 rtcp_helper_sndmem_per_mss(u32 mss);
long rtcp_helper_tcp_mem(int i);
struct workqueue_struct *rtcp_helper_alloc_workqueue(const char *name);
void rtcp_helper_flush_workqueue(struct workqueue_struct *wq);
#include <asm/ioctls.h>
#include <linux/sockios.h>
const unsigned int RTCP_SIOCINQ = SIOCINQ;
const unsigned int RTCP_SIOCOUTQ = SIOCOUTQ;
const unsigned int RTCP_SIOCOUTQNSD = SIOCOUTQNSD;
void rtcp_helper_sk_write_space(struct sock *sk);
void rtcp_helper_sk_set_nospace(struct sock *sk);
void rtcp_helper_sk_new_space(struct sock *sk);
void rtcp_helper_local_bh_disable(void);
void rtcp_helper_local_bh_enable(void);
void rtcp_helper_spin_lock_bh(spinlock_t *l);
void rtcp_helper_spin_unlock_bh(spinlock_t *l);
int rtcp_helper_spin_trylock_bh(spinlock_t *l);
size_t rtcp_helper_copy_from_iter(void *dst, size_t len, struct iov_iter *i);
const int RTCP_MSG_DONTWAIT = MSG_DONTWAIT;
const int RTCP_MSG_PEEK = MSG_PEEK;
const int RTCP_MSG_WAITALL = MSG_WAITALL;
const int RTCP_MSG_NOSIGNAL = MSG_NOSIGNAL;
const int RTCP_MSG_TRUNC = MSG_TRUNC;
const int RTCP_MSG_OOB = MSG_OOB;
/* Urgent data: SO_OOBINLINE's flag, SIOCATMARK, POLLPRI, SIGURG. */
const int RTCP_SOCK_URGINLINE = SOCK_URGINLINE;
const unsigned int RTCP_SIOCATMARK = SIOCATMARK;
const __poll_t RTCP_EPOLLPRI = EPOLLPRI;
void rtcp_helper_sk_send_sigurg(struct sock *sk);
const int RTCP_MSG_MORE = MSG_MORE;
const int RTCP_MSG_FASTOPEN = MSG_FASTOPEN;
const int RTCP_SOCK_MIN_RCVBUF = SOCK_MIN_RCVBUF;
#include <linux/errqueue.h>
/* SO_ZEROCOPY and MSG_ZEROCOPY's completions (net/core/skbuff.c). */
const int RTCP_SOL_SOCKET = SOL_SOCKET;
const int RTCP_SO_ZEROCOPY = SO_ZEROCOPY;
const int RTCP_SOCK_ZEROCOPY = SOCK_ZEROCOPY;
const int RTCP_MSG_ZEROCOPY = MSG_ZEROCOPY;
const int RTCP_MSG_ERRQUEUE = MSG_ERRQUEUE;
void rtcp_helper_sock_set_custom_sockopt(struct socket *sock);
bool rtcp_helper_sock_flag(const struct sock *sk, int f);
void rtcp_helper_sock_valbool_flag(struct sock *sk, int f, bool on);
void rtcp_helper_net_zcopy_get(struct ubuf_info *uarg);
void rtcp_helper_net_zcopy_put(struct ubuf_info *uarg);
void rtcp_helper_msg_zerocopy_copied(struct ubuf_info *uarg);
bool rtcp_helper_error_queue_empty(const struct sock *sk);
void rtcp_helper_error_queue_purge(struct sock *sk);
int rtcp_helper_recv_error(struct sock *sk, struct msghdr *msg, int len);
/* SOL_IP options (net/ipv4/ip_sockglue.c) and SO_REUSEPORT. */
const int RTCP_SOL_IP = SOL_IP;
const int RTCP_IP_TOS = IP_TOS;
const int RTCP_IP_TTL = IP_TTL;
const int RTCP_IP_RECVERR = IP_RECVERR;
const int RTCP_IP_FREEBIND = IP_FREEBIND;
const int RTCP_IP_TRANSPARENT = IP_TRANSPARENT;
const int RTCP_IP_BIND_ADDRESS_NO_PORT = IP_BIND_ADDRESS_NO_PORT;
const int RTCP_INET_ECN_MASK = 3;
const int RTCP_CAP_NET_RAW = CAP_NET_RAW;
const int RTCP_CAP_NET_ADMIN = CAP_NET_ADMIN;
const int RTCP_SO_REUSEPORT = SO_REUSEPORT;
const int RTCP_SO_ATTACH_FILTER = SO_ATTACH_FILTER;
const int RTCP_IP_IPSEC_POLICY = IP_IPSEC_POLICY;
const int RTCP_IP_XFRM_POLICY = IP_XFRM_POLICY;
int rtcp_helper_ip_default_ttl(const struct net *net);
void rtcp_helper_sk_set_reuseport(struct sock *sk, bool on);
void rtcp_helper_set_tos_priority(struct sock *sk, u8 tos);
int rtcp_helper_ipv6_chk_addr(struct net *net, const struct in6_addr *addr, int ifindex);
bool rtcp_helper_ipv6_nonlocal_bind(struct net *net);
int rtcp_helper_ipv6_default_hops(struct net *net);
