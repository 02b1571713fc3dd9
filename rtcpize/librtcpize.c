// SPDX-License-Identifier: GPL-2.0
/*
 * librtcpize.so: preloaded by `rtcpize run CMD`, it makes the program's TCP
 * sockets RTCP's. A socket() call for AF_INET, SOCK_STREAM (with any of
 * SOCK_NONBLOCK and SOCK_CLOEXEC) and protocol 0 or IPPROTO_TCP creates an
 * AF_RTCP socket instead, and one for AF_INET6 an IPv6 AF_RTCP socket
 * (protocol RTCPPROTO_TCP6); every other call goes through as it was made.
 * The same idea as MPTCP's mptcpize and SMC's smc_run. RTCP takes the same
 * sockaddr_in and sockaddr_in6 and socket options, so the program sees no
 * difference but SO_DOMAIN. If AF_RTCP cannot be had (no module), socket() fails with
 * its errno, as it would for the program itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/rtcp.h>

typedef int (*socket_fn)(int domain, int type, int protocol);

static socket_fn real_socket;

__attribute__((constructor)) static void rtcpize_init(void)
{
	real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
}

int socket(int domain, int type, int protocol)
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (!real_socket) {
		errno = ENOSYS;
		return -1;
	}
	if (kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
		if (domain == AF_INET)
			return real_socket(AF_RTCP, type, RTCPPROTO_TCP);
		if (domain == AF_INET6)
			return real_socket(AF_RTCP, type, RTCPPROTO_TCP6);
	}
	return real_socket(domain, type, protocol);
}
