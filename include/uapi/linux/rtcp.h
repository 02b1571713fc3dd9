/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * RTCP: TCP implemented in Rust, as the AF_RTCP socket family.
 *
 * A C program includes this header and then uses AF_RTCP as it would
 * AF_INET with TCP:
 *
 *	int fd = socket(AF_RTCP, SOCK_STREAM, 0);
 *
 * Addresses are IPv4 `struct sockaddr_in` with sin_family AF_INET; on the
 * wire the connection is plain TCP.
 *
 * An IPv6 socket is asked for with the protocol RTCPPROTO_TCP6, as AF_SMC
 * asks with SMCPROTO_SMC6:
 *
 *	int fd = socket(AF_RTCP, SOCK_STREAM, RTCPPROTO_TCP6);
 *
 * It then behaves as an AF_INET6 TCP socket: addresses are `struct
 * sockaddr_in6` with sin6_family AF_INET6, a socket on `::` takes IPv4
 * clients too (seen as ::ffff:a.b.c.d) unless IPV6_V6ONLY, and a
 * v4-mapped destination is reached over IPv4.
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

/* socket()'s protocol: an IPv4 socket (0, or IPPROTO_TCP), an IPv6 one. */
#define RTCPPROTO_TCP		0
#define RTCPPROTO_TCP6		1

#endif /* _UAPI_LINUX_RTCP_H */
