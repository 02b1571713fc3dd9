// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 RTCP sockets (socket(AF_RTCP, SOCK_STREAM, RTCPPROTO_TCP6)) against
 * AF_INET6 TCP as the reference: the same errnos for the same addresses,
 * sockaddr_in6 names, connections both ways with Linux's TCP over ::1, a
 * dual-stack listener that takes IPv4 clients as ::ffff:a.b.c.d, a
 * v4-mapped connect that goes over IPv4, IPV6_V6ONLY before and after
 * bind, one port space shared with AF_INET and AF_INET6 TCP both ways, and
 * /proc/net/rtcp6.
 * Every test runs in a network namespace of its own with only lo up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

/* The reference first, then RTCP. */
static const int families6[] = { AF_INET6, AF_RTCP };
#define NAME6(f) ((f) == AF_RTCP ? "AF_RTCP6" : "AF_INET6")

/* An IPv6 stream socket of `family` (RTCP's through RTCPPROTO_TCP6). */
static int stream6(int family)
{
	return socket(family, SOCK_STREAM, family == AF_RTCP ? RTCPPROTO_TCP6 : 0);
}

static struct sockaddr_in6 sin6_of(const char *addr, int port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, addr, &s.sin6_addr);
	return s;
}

static int res(int r)
{
	return r ? -errno : 0;
}

/* The address `fd` is bound to, as text, and its port. */
static int name_of(int fd, int peer, char *text, size_t len, int *port)
{
	struct sockaddr_in6 s;
	socklen_t sl = sizeof(s) + 4;

	if ((peer ? getpeername : getsockname)(fd, (void *)&s, &sl))
		return -errno;
	if (sl != sizeof(s) || s.sin6_family != AF_INET6)
		return -EPROTO;
	inet_ntop(AF_INET6, &s.sin6_addr, text, len);
	*port = ntohs(s.sin6_port);
	return 0;
}

/* A listener of `family` (IPv6 unless AF_INET) on `addr`, port chosen. */
static int listener(int family, const char *addr, int *port)
{
	int fd = family == AF_INET ? socket(AF_INET, SOCK_STREAM, 0) : stream6(family);
	char text[INET6_ADDRSTRLEN];

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in sin = sin_of(addr, 0);
		socklen_t sl = sizeof(sin);

		if (bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 8) || getsockname(fd, (void *)&sin, &sl))
			return -1;
		*port = ntohs(sin.sin_port);
		return fd;
	}
	struct sockaddr_in6 s = sin6_of(addr, 0);

	if (bind(fd, (void *)&s, sizeof(s)) || listen(fd, 8) || name_of(fd, 0, text, sizeof(text), port))
		return -1;
	return fd;
}

/* Sends `n` bytes one way and `n` back, checked byte for byte. */
static int exchange(int a, int b, size_t n)
{
	char out[4096], in[4096];

	for (size_t i = 0; i < n && i < sizeof(out); i++)
		out[i] = pattern(i, 6);
	for (int dir = 0; dir < 2; dir++) {
		int from = dir ? b : a, to = dir ? a : b;
		size_t got = 0;

		if (send(from, out, n, 0) != (ssize_t)n)
			return -1;
		while (got < n) {
			ssize_t r = recv(to, in + got, n - got, 0);

			if (r <= 0)
				return -1;
			got += r;
		}
		if (memcmp(in, out, n))
			return -1;
	}
	return 0;
}

FIXTURE(netns)
{
};

FIXTURE_SETUP(netns)
{
	ASSERT_EQ(0, private_netns());
}

FIXTURE_TEARDOWN(netns)
{
}

TEST_F(netns, names_of_an_unbound_socket)
{
	for (int f = 0; f < 2; f++) {
		char text[INET6_ADDRSTRLEN];
		int fd = stream6(families6[f]), port = -1;

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, name_of(fd, 0, text, sizeof(text), &port)) TH_LOG("%s", NAME6(families6[f]));
		EXPECT_STREQ("::", text);
		EXPECT_EQ(0, port);
		EXPECT_EQ(-ENOTCONN, name_of(fd, 1, text, sizeof(text), &port));
		close(fd);
	}
}

/* Each address, on a new socket of each family: the same answer. */
TEST_F(netns, bind_errors_like_inet6)
{
	static const struct { const char *name; const char *addr; int family; socklen_t len; int err; } cases[] = {
		{ "any", "::", AF_INET6, 28, 0 },
		{ "loopback", "::1", AF_INET6, 28, 0 },
		{ "RFC 2133 length", "::1", AF_INET6, 24, 0 },
		{ "short", "::1", AF_INET6, 23, EINVAL },
		{ "sockaddr_in's length", "::1", AF_INET6, 16, EINVAL },
		{ "AF_INET", "::1", AF_INET, 28, EAFNOSUPPORT },
		{ "not local", "2001:db8::7", AF_INET6, 28, EADDRNOTAVAIL },
		{ "multicast", "ff02::1", AF_INET6, 28, EINVAL },
		{ "link-local without a scope", "fe80::1", AF_INET6, 28, EINVAL },
		{ "v4-mapped loopback", "::ffff:127.0.0.1", AF_INET6, 28, 0 },
		{ "v4-mapped any", "::ffff:0.0.0.0", AF_INET6, 28, 0 },
		{ "v4-mapped not local", "::ffff:198.51.100.7", AF_INET6, 28, EADDRNOTAVAIL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_in6 a = sin6_of(cases[i].addr, 0);
		int r[2];

		a.sin6_family = cases[i].family;
		for (int f = 0; f < 2; f++) {
			int fd = stream6(families6[f]);

			ASSERT_LE(0, fd);
			r[f] = res(bind(fd, (void *)&a, cases[i].len));
			close(fd);
		}
		EXPECT_EQ(r[0], r[1]) TH_LOG("%s: AF_INET6 %d, AF_RTCP6 %d", cases[i].name, r[0], r[1]);
		EXPECT_EQ(-cases[i].err, r[1]) TH_LOG("%s", cases[i].name);
	}
}

TEST_F(netns, connect_errors_like_inet6)
{
	static const struct { const char *name; const char *addr; int family; socklen_t len; int v6only; int err; } cases[] = {
		{ "closed port", "::1", AF_INET6, 28, 0, ECONNREFUSED },
		{ "short", "::1", AF_INET6, 23, 0, EINVAL },
		{ "AF_INET", "::1", AF_INET, 28, 0, EAFNOSUPPORT },
		{ "multicast", "ff02::1", AF_INET6, 28, 0, ENETUNREACH },
		{ "link-local without a scope", "fe80::1", AF_INET6, 28, 0, EINVAL },
		{ "unreachable", "2001:db8::1", AF_INET6, 28, 0, ENETUNREACH },
		{ "v4-mapped, closed port", "::ffff:127.0.0.1", AF_INET6, 28, 0, ECONNREFUSED },
		{ "v4-mapped on a v6-only socket", "::ffff:127.0.0.1", AF_INET6, 28, 1, ENETUNREACH },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_in6 a = sin6_of(cases[i].addr, 9);
		int r[2];

		a.sin6_family = cases[i].family;
		for (int f = 0; f < 2; f++) {
			int fd = stream6(families6[f]);

			ASSERT_LE(0, fd);
			ASSERT_EQ(0, setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &cases[i].v6only, sizeof(int)));
			r[f] = res(connect(fd, (void *)&a, cases[i].len));
			close(fd);
		}
		EXPECT_EQ(r[0], r[1]) TH_LOG("%s: AF_INET6 %d, AF_RTCP6 %d", cases[i].name, r[0], r[1]);
		EXPECT_EQ(-cases[i].err, r[1]) TH_LOG("%s", cases[i].name);
	}
}

/* Client and server of each family over ::1: names and bytes. */
TEST_F(netns, connections_with_linux_tcp_both_ways)
{
	for (int c = 0; c < 2; c++) {
		for (int s = 0; s < 2; s++) {
			char text[INET6_ADDRSTRLEN];
			int port, lport = -1, p = -1;
			int l = listener(families6[s], "::1", &port);
			int fd = stream6(families6[c]);
			struct sockaddr_in6 dst = sin6_of("::1", port), from;
			socklen_t fl = sizeof(from);

			ASSERT_LE(0, l);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(dst)))
				TH_LOG("%s to %s: %s", NAME6(families6[c]), NAME6(families6[s]), strerror(errno));
			int a = accept(l, (void *)&from, &fl);

			ASSERT_LE(0, a);
			EXPECT_EQ(sizeof(from), fl);
			EXPECT_EQ(AF_INET6, from.sin6_family);
			EXPECT_EQ(0, memcmp(&from.sin6_addr, &in6addr_loopback, 16));
			ASSERT_EQ(0, name_of(fd, 0, text, sizeof(text), &lport));
			EXPECT_STREQ("::1", text);
			EXPECT_EQ(ntohs(from.sin6_port), lport);
			ASSERT_EQ(0, name_of(fd, 1, text, sizeof(text), &p));
			EXPECT_STREQ("::1", text);
			EXPECT_EQ(port, p);
			ASSERT_EQ(0, name_of(a, 0, text, sizeof(text), &p));
			EXPECT_STREQ("::1", text);
			EXPECT_EQ(port, p);
			EXPECT_EQ(0, exchange(fd, a, 3000))
				TH_LOG("%s to %s", NAME6(families6[c]), NAME6(families6[s]));
			close(a);
			close(fd);
			close(l);
		}
	}
}

/* A listener on :: takes IPv6 and IPv4 clients (AF_INET's and RTCP's
 * own), the IPv4 ones named ::ffff:127.0.0.1. */
TEST_F(netns, dual_stack_listener)
{
	int port, l = listener(AF_RTCP, "::", &port);
	const int clients[] = { AF_INET, AF_RTCP, AF_INET6 };

	ASSERT_LE(0, l);
	for (int i = 0; i < 3; i++) {
		int v6 = clients[i] == AF_INET6, fd;
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		char text[INET6_ADDRSTRLEN];

		if (v6) {
			struct sockaddr_in6 dst = sin6_of("::1", port);

			fd = stream6(AF_INET6);
			ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(dst)));
		} else {
			struct sockaddr_in dst = sin_of("127.0.0.1", port);

			fd = socket(clients[i], SOCK_STREAM, 0);
			ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(dst))) TH_LOG("client %d: %s", i, strerror(errno));
		}
		int a = accept(l, (void *)&from, &fl);

		ASSERT_LE(0, a);
		EXPECT_EQ(sizeof(from), fl);
		inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof(text));
		EXPECT_STREQ(v6 ? "::1" : "::ffff:127.0.0.1", text);
		EXPECT_EQ(0, exchange(fd, a, 2000)) TH_LOG("client %d", i);
		close(a);
		close(fd);
	}
	close(l);
}

/* With IPV6_V6ONLY, :: takes no IPv4 client; once bound, the option is
 * EINVAL to change; it reads back; a new socket starts with
 * net.ipv6.bindv6only (0). */
TEST_F(netns, v6only_before_and_after_bind)
{
	for (int f = 0; f < 2; f++) {
		int fd = stream6(families6[f]), on = 1, v = -1, port;
		socklen_t vl = sizeof(v);

		ASSERT_EQ(0, getsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &v, &vl));
		EXPECT_EQ(0, v);
		ASSERT_EQ(0, setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &on, sizeof(on)));
		struct sockaddr_in6 any = sin6_of("::", 0);

		ASSERT_EQ(0, bind(fd, (void *)&any, sizeof(any)));
		EXPECT_EQ(-EINVAL, res(setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &on, sizeof(on)))) TH_LOG("%s", NAME6(families6[f]));
		EXPECT_EQ(-EINVAL, res(setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &on, 2)));
		ASSERT_EQ(0, listen(fd, 4));
		char text[INET6_ADDRSTRLEN];

		ASSERT_EQ(0, name_of(fd, 0, text, sizeof(text), &port));
		struct sockaddr_in dst4 = sin_of("127.0.0.1", port);
		int c4 = socket(AF_INET, SOCK_STREAM, 0);

		EXPECT_EQ(-ECONNREFUSED, res(connect(c4, (void *)&dst4, sizeof(dst4)))) TH_LOG("%s", NAME6(families6[f]));
		close(c4);
		/* The IPv4 port is free for an AF_INET listener. */
		int l4 = socket(AF_INET, SOCK_STREAM, 0);

		EXPECT_EQ(0, res(bind(l4, (void *)&dst4, sizeof(dst4)))) TH_LOG("%s", NAME6(families6[f]));
		close(l4);
		close(fd);
	}
}

/* With net.rtcp.syncookies 2, every IPv6 connection to an RTCP listener
 * goes through a cookie (IPv6's MSS table), and carries bytes. */
TEST_F(netns, syn_cookies_over_ipv6)
{
	long sent = rtcp_stat("SyncookiesSent"), recv = rtcp_stat("SyncookiesRecv");
	int port, l, fd;

	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/syncookies", "2"));
	l = listener(AF_RTCP, "::1", &port);
	ASSERT_LE(0, l);
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in6 dst = sin6_of("::1", port);

		fd = stream6(i == 1 ? AF_RTCP : AF_INET6);
		ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(dst)));
		int a = accept(l, NULL, NULL);

		ASSERT_LE(0, a);
		EXPECT_EQ(0, exchange(fd, a, 3000)) TH_LOG("client %d", i);
		close(a);
		close(fd);
	}
	EXPECT_EQ(sent + 3, rtcp_stat("SyncookiesSent"));
	EXPECT_EQ(recv + 3, rtcp_stat("SyncookiesRecv"));
	close(l);
}

/* SOL_IPV6 options a TCP socket acts on: each value set, then read back,
 * on a new socket of each family: the same answers; the SOL_IP options
 * of the same socket (its IPv4 connections') stay as they were. */
TEST_F(netns, sockopts_like_inet6)
{
	static const struct { const char *name; int opt; int val; socklen_t len; } cases[] = {
		{ "TCLASS 0xb8", IPV6_TCLASS, 0xb8, 4 },
		{ "TCLASS 0xff (ECN bits kept)", IPV6_TCLASS, 0xff, 4 },
		{ "TCLASS -1", IPV6_TCLASS, -1, 4 },
		{ "TCLASS -2", IPV6_TCLASS, -2, 4 },
		{ "TCLASS 256", IPV6_TCLASS, 256, 4 },
		{ "TCLASS short", IPV6_TCLASS, 8, 2 },
		{ "UNICAST_HOPS 7", IPV6_UNICAST_HOPS, 7, 4 },
		{ "UNICAST_HOPS -1", IPV6_UNICAST_HOPS, -1, 4 },
		{ "UNICAST_HOPS 256", IPV6_UNICAST_HOPS, 256, 4 },
		{ "UNICAST_HOPS -2", IPV6_UNICAST_HOPS, -2, 4 },
		{ "RECVERR 1", IPV6_RECVERR, 1, 4 },
		{ "V6ONLY 1", IPV6_V6ONLY, 1, 4 },
		{ "V6ONLY 7", IPV6_V6ONLY, 7, 4 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static const int ip_opts[] = { IP_RECVERR, IP_TOS, IP_TTL };
		int set[2], get[2], val[2], ip[2][3];

		for (int f = 0; f < 2; f++) {
			int fd = stream6(families6[f]);
			socklen_t vl = sizeof(int);

			ASSERT_LE(0, fd);
			set[f] = res(setsockopt(fd, SOL_IPV6, cases[i].opt, &cases[i].val, cases[i].len));
			val[f] = -100;
			get[f] = res(getsockopt(fd, SOL_IPV6, cases[i].opt, &val[f], &vl));
			for (int o = 0; o < 3; o++) {
				vl = sizeof(int);
				ip[f][o] = -100;
				if (getsockopt(fd, SOL_IP, ip_opts[o], &ip[f][o], &vl))
					ip[f][o] = -errno;
			}
			close(fd);
		}
		EXPECT_EQ(set[0], set[1]) TH_LOG("%s: set AF_INET6 %d, AF_RTCP6 %d", cases[i].name, set[0], set[1]);
		EXPECT_EQ(get[0], get[1]) TH_LOG("%s", cases[i].name);
		EXPECT_EQ(val[0], val[1]) TH_LOG("%s: AF_INET6 reads %d, AF_RTCP6 %d", cases[i].name, val[0], val[1]);
		for (int o = 0; o < 3; o++) {
			EXPECT_EQ(ip[0][o], ip[1][o]) TH_LOG("%s: SOL_IP option %d then: AF_INET6 %d, AF_RTCP6 %d",
							     cases[i].name, ip_opts[o], ip[0][o], ip[1][o]);
		}
	}
	/* An IPv4 socket has no SOL_IPV6 options (ip_setsockopt's answer). */
	for (int f = 0; f < 2; f++) {
		int fd = socket(f ? AF_RTCP : AF_INET, SOCK_STREAM, 0), one = 1;

		EXPECT_EQ(-ENOPROTOOPT, res(setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one))));
		close(fd);
	}
}

/* connect() to ::ffff:127.0.0.1 goes over IPv4 to an AF_INET server,
 * and the socket names itself in the v4-mapped form. */
TEST_F(netns, v4_mapped_connect)
{
	int port, l = listener(AF_INET, "127.0.0.1", &port);
	int fd = stream6(AF_RTCP), p;
	struct sockaddr_in6 dst = sin6_of("::ffff:127.0.0.1", 0);
	char text[INET6_ADDRSTRLEN];

	ASSERT_LE(0, l);
	dst.sin6_port = htons(port);
	ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(dst))) TH_LOG("%s", strerror(errno));
	int a = accept(l, NULL, NULL);

	ASSERT_LE(0, a);
	ASSERT_EQ(0, name_of(fd, 0, text, sizeof(text), &p));
	EXPECT_STREQ("::ffff:127.0.0.1", text);
	ASSERT_EQ(0, name_of(fd, 1, text, sizeof(text), &p));
	EXPECT_STREQ("::ffff:127.0.0.1", text);
	EXPECT_EQ(port, p);
	EXPECT_EQ(0, exchange(fd, a, 3000));
	close(a);
	close(fd);
	close(l);
}

/* One port space with AF_INET6 and AF_INET TCP, both ways: a dual-stack
 * [::]:p blocks IPv4's p, a v6-only one does not. */
TEST_F(netns, bind_conflicts_with_linux_tcp)
{
	static const struct { int first, first_v6only, second, second_v6; int err; } cases[] = {
		{ AF_INET6, 0, AF_RTCP, 1, EADDRINUSE },
		{ AF_INET6, 0, AF_RTCP, 0, EADDRINUSE },
		{ AF_INET6, 1, AF_RTCP, 0, 0 },
		{ AF_RTCP, 0, AF_INET6, 1, EADDRINUSE },
		{ AF_RTCP, 0, AF_INET, 0, EADDRINUSE },
		{ AF_RTCP, 1, AF_INET, 0, 0 },
		{ AF_RTCP, 1, AF_INET6, 1, EADDRINUSE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int a = stream6(cases[i].first), port;
		char text[INET6_ADDRSTRLEN];
		struct sockaddr_in6 any = sin6_of("::", 0);

		ASSERT_EQ(0, setsockopt(a, SOL_IPV6, IPV6_V6ONLY, &cases[i].first_v6only, sizeof(int)));
		ASSERT_EQ(0, bind(a, (void *)&any, sizeof(any)));
		ASSERT_EQ(0, name_of(a, 0, text, sizeof(text), &port));
		int b, r;

		if (cases[i].second_v6) {
			struct sockaddr_in6 s = sin6_of("::", port);

			b = stream6(cases[i].second);
			r = res(bind(b, (void *)&s, sizeof(s)));
		} else {
			struct sockaddr_in s = sin_of("0.0.0.0", port);

			b = socket(cases[i].second, SOCK_STREAM, 0);
			r = res(bind(b, (void *)&s, sizeof(s)));
		}
		EXPECT_EQ(-cases[i].err, r) TH_LOG("case %zu", i);
		close(b);
		close(a);
	}
}

/* /proc/net/rtcp6 lists an IPv6 listener as /proc/net/tcp6 would;
 * /proc/net/rtcp does not. */
TEST_F(netns, proc_net_rtcp6)
{
	int port, l = listener(AF_RTCP, "::1", &port);
	char want[80], line[512];
	int found6 = 0, found4 = 0;
	FILE *f;

	ASSERT_LE(0, l);
	snprintf(want, sizeof(want), "00000000000000000000000001000000:%04X 00000000000000000000000000000000:0000 0A", port);
	f = fopen("/proc/net/rtcp6", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "  sl  local_address                         remote_address", 58));
	while (fgets(line, sizeof(line), f))
		found6 += strstr(line, want) != NULL;
	fclose(f);
	f = fopen("/proc/net/rtcp", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		found4 += strstr(line, " 0A ") != NULL;
	fclose(f);
	EXPECT_EQ(1, found6);
	EXPECT_EQ(0, found4);
	close(l);
}

TEST_HARNESS_MAIN
