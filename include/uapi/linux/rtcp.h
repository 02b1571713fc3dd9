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

#endif /* _UAPI_LINUX_RTCP_H */
