/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * RTCP: TCP implemented in Rust, as the AF_RTCP socket family.
 *
 * A C program includes this header and then uses AF_RTCP as it would
 * AF_INET with TCP:
 *
 *	int fd = socket(AF_RTCP, SOCK_STREAM, 0);
 *
 * The protocol argument picks the IP version, as AF_SMC's does:
 * RTCPPROTO_RTCP (0, or IPPROTO_TCP) makes an IPv4 socket whose addresses
 * are `struct sockaddr_in` (sin_family AF_INET); RTCPPROTO_RTCP6 makes an
 * IPv6 one that works as AF_INET6's TCP: `struct sockaddr_in6`
 * (sin6_family AF_INET6), dual stack unless IPV6_V6ONLY (default
 * net.ipv6.bindv6only), IPv4 peers seen as ::ffff:a.b.c.d. On the wire
 * the connection is plain TCP.
 */
#ifndef _UAPI_LINUX_RTCP_H
#define _UAPI_LINUX_RTCP_H

/* The family number the RTCP kernel patch reserves (AF_MAX becomes 47). */
#ifndef AF_RTCP
#define AF_RTCP		46
#endif
#ifndef PF_RTCP
#define PF_RTCP		AF_RTCP
#endif

/* socket(AF_RTCP, SOCK_STREAM, protocol) */
#define RTCPPROTO_RTCP	0	/* IPv4: struct sockaddr_in */
#define RTCPPROTO_RTCP6	1	/* IPv6 and dual stack: struct sockaddr_in6 */

#endif /* _UAPI_LINUX_RTCP_H */
