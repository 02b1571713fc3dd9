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
#include <linux/capability.h>

void rtcp_helper_sock_hold(struct sock *sk);
void rtcp_helper_sock_put(struct sock *sk);
void rtcp_helper_sock_orphan(struct sock *sk);
void rtcp_helper_lock_sock(struct sock *sk);
void *rtcp_helper_net_generic(const struct net *net, unsigned int id);
void rtcp_helper_sock_poll_wait(struct file *filp, struct socket *sock, poll_table *p);
bool rtcp_helper_ip_nonlocal_bind(struct net *net);
bool rtcp_helper_inet_port_requires_bind_service(struct net *net, unsigned short port);
bool rtcp_helper_net_capable(struct net *net, int cap);

/*
 * Constants whose macros bindgen cannot evaluate (they carry casts): as
 * const variables, bindgen emits their values (the kernel's
 * RUST_CONST_HELPER_* trick in rust/bindings/bindings_helper.h).
 */
const gfp_t RTCP_GFP_KERNEL = GFP_KERNEL;
const u32 RTCP_RT_TABLE_LOCAL = RT_TABLE_LOCAL;
const __poll_t RTCP_EPOLLIN = EPOLLIN;
const __poll_t RTCP_EPOLLOUT = EPOLLOUT;
const __poll_t RTCP_EPOLLERR = EPOLLERR;
const __poll_t RTCP_EPOLLHUP = EPOLLHUP;
const __poll_t RTCP_EPOLLRDNORM = EPOLLRDNORM;
const __poll_t RTCP_EPOLLWRNORM = EPOLLWRNORM;
const __poll_t RTCP_EPOLLRDHUP = EPOLLRDHUP;
