// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers over the static inline functions rtcp.ko calls from
 * Rust; no logic lives here (see rust/helpers/ in the kernel for the style).
 */
#include "sys.h"

void rtcp_helper_sock_hold(struct sock *sk) { sock_hold(sk); }
void rtcp_helper_sock_put(struct sock *sk) { sock_put(sk); }
void rtcp_helper_sock_orphan(struct sock *sk) { sock_orphan(sk); }
void rtcp_helper_lock_sock(struct sock *sk) { lock_sock(sk); }
void *rtcp_helper_net_generic(const struct net *net, unsigned int id) { return net_generic(net, id); }
void rtcp_helper_sock_poll_wait(struct file *filp, struct socket *sock, poll_table *p) { sock_poll_wait(filp, sock, p); }
bool rtcp_helper_ip_nonlocal_bind(struct net *net) { return READ_ONCE(net->ipv4.sysctl_ip_nonlocal_bind); }
bool rtcp_helper_inet_port_requires_bind_service(struct net *net, unsigned short port) { return inet_port_requires_bind_service(net, port); }
bool rtcp_helper_net_capable(struct net *net, int cap) { return ns_capable(net->user_ns, cap); }
