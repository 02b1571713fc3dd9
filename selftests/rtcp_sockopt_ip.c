// SPDX-License-Identifier: GPL-2.0
/*
 * SOL_IP options and SO_REUSEPORT on AF_RTCP, against AF_INET TCP as the
 * reference: the same errnos, bounds and values read back for IP_TOS,
 * IP_TTL, IP_RECVERR, IP_FREEBIND, IP_TRANSPARENT and
 * IP_BIND_ADDRESS_NO_PORT; their effects (bind() of an address that is
 * not local, a port left to connect(), the TOS and TTL of every segment
 * on the wire, what an accepted socket takes from its listener); and
 * SO_REUSEPORT's bind and listen rules and its spread of connections
 * over a group of listeners. Every test runs in a network namespace of
 * its own with only lo up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int stream(int family)
{
	return socket(family, SOCK_STREAM, 0);
}

/* An int option read back with `room` bytes of room: the value (the
 * bytes given, as an int), or -errno - 1000. */
static int get_int(int fd, int level, int name, socklen_t room)
{
	int val = 0;
	socklen_t len = room;

	if (getsockopt(fd, level, name, &val, &len))
		return -errno - 1000;
	if (len < sizeof(int))
		val &= (1 << (8 * len)) - 1;
	return val;
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

/*
 * Each option with each value and length, on a new socket of each
 * family: the same answer, and the same value read back with an int's
 * room and with a byte's.
 */
TEST_F(netns, ip_options_like_inet)
{
	static const struct { const char *what; int name; int val; socklen_t len; } cases[] = {
		{ "IP_TOS 0x10", IP_TOS, 0x10, 4 },
		{ "IP_TOS 0xff (ECN bits)", IP_TOS, 0xff, 4 },
		{ "IP_TOS 0x1b8 (past a byte)", IP_TOS, 0x1b8, 4 },
		{ "IP_TOS -1", IP_TOS, -1, 4 },
		{ "IP_TOS one byte", IP_TOS, 0x48, 1 },
		{ "IP_TOS empty", IP_TOS, 0x48, 0 },
		{ "IP_TTL 1", IP_TTL, 1, 4 },
		{ "IP_TTL 255", IP_TTL, 255, 4 },
		{ "IP_TTL 0", IP_TTL, 0, 4 },
		{ "IP_TTL 256", IP_TTL, 256, 4 },
		{ "IP_TTL -1", IP_TTL, -1, 4 },
		{ "IP_TTL -2", IP_TTL, -2, 4 },
		{ "IP_TTL one byte", IP_TTL, 9, 1 },
		{ "IP_TTL empty", IP_TTL, 9, 0 },
		{ "IP_RECVERR 1", IP_RECVERR, 1, 4 },
		{ "IP_RECVERR 7", IP_RECVERR, 7, 4 },
		{ "IP_RECVERR empty", IP_RECVERR, 1, 0 },
		{ "IP_FREEBIND 1", IP_FREEBIND, 1, 4 },
		{ "IP_FREEBIND empty", IP_FREEBIND, 1, 0 },
		{ "IP_TRANSPARENT 1", IP_TRANSPARENT, 1, 4 },
		{ "IP_TRANSPARENT empty", IP_TRANSPARENT, 1, 0 },
		{ "IP_BIND_ADDRESS_NO_PORT 1", IP_BIND_ADDRESS_NO_PORT, 1, 4 },
		{ "IP_BIND_ADDRESS_NO_PORT byte", IP_BIND_ADDRESS_NO_PORT, 1, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int res[2], back4[2], back1[2], before[2];

		for (int f = 0; f < 2; f++) {
			int fd = stream(families[f]);

			ASSERT_LE(0, fd);
			before[f] = get_int(fd, SOL_IP, cases[i].name, 4);
			res[f] = set_res(fd, SOL_IP, cases[i].name, &cases[i].val, cases[i].len);
			back4[f] = get_int(fd, SOL_IP, cases[i].name, 4);
			back1[f] = get_int(fd, SOL_IP, cases[i].name, 1);
			close(fd);
		}
		EXPECT_EQ(before[0], before[1]) TH_LOG("%s: default AF_INET %d, AF_RTCP %d", cases[i].what, before[0], before[1]);
		EXPECT_EQ(res[0], res[1]) TH_LOG("%s: AF_INET %d, AF_RTCP %d", cases[i].what, res[0], res[1]);
		EXPECT_EQ(back4[0], back4[1]) TH_LOG("%s: read back AF_INET %d, AF_RTCP %d", cases[i].what, back4[0], back4[1]);
		EXPECT_EQ(back1[0], back1[1]) TH_LOG("%s: a byte back AF_INET %d, AF_RTCP %d", cases[i].what, back1[0], back1[1]);
	}
}

/* What RTCP does not have is ENOPROTOOPT both ways (programs carry on). */
TEST_F(netns, other_ip_options_are_enoprotoopt)
{
	static const int names[] = { IP_MTU_DISCOVER, IP_PKTINFO, IP_OPTIONS, IP_MINTTL, IP_LOCAL_PORT_RANGE };
	int fd = stream(AF_RTCP), one = 1;

	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		EXPECT_EQ(-ENOPROTOOPT, set_res(fd, SOL_IP, names[i], &one, sizeof(one))) TH_LOG("option %d", names[i]);
		EXPECT_EQ(-ENOPROTOOPT - 1000, get_int(fd, SOL_IP, names[i], 4)) TH_LOG("option %d", names[i]);
	}
	close(fd);
}

/* IP_FREEBIND and IP_TRANSPARENT let bind() take an address that is not
 * local; without them it is EADDRNOTAVAIL. */
TEST_F(netns, freebind_binds_what_is_not_local)
{
	static const int opts[] = { 0, IP_FREEBIND, IP_TRANSPARENT };

	for (size_t i = 0; i < 3; i++) {
		int res[2];

		for (int f = 0; f < 2; f++) {
			struct sockaddr_in a = sin_of("198.51.100.7", 6000 + f), got;
			socklen_t len = sizeof(got);
			int fd = stream(families[f]), one = 1;

			ASSERT_LE(0, fd);
			if (opts[i])
				ASSERT_EQ(0, setsockopt(fd, SOL_IP, opts[i], &one, sizeof(one)));
			res[f] = bind(fd, (void *)&a, sizeof(a)) ? -errno : 0;
			if (!res[f]) {
				ASSERT_EQ(0, getsockname(fd, (void *)&got, &len));
				EXPECT_EQ(a.sin_addr.s_addr, got.sin_addr.s_addr);
				EXPECT_EQ(a.sin_port, got.sin_port);
			}
			close(fd);
		}
		EXPECT_EQ(res[0], res[1]) TH_LOG("option %d: AF_INET %d, AF_RTCP %d", opts[i], res[0], res[1]);
		EXPECT_EQ(opts[i] ? 0 : -EADDRNOTAVAIL, res[1]) TH_LOG("option %d", opts[i]);
	}
}

/* IP_BIND_ADDRESS_NO_PORT: bind() to port 0 takes the address only; the
 * port comes with connect(), from that address. */
TEST_F(netns, bind_address_no_port_leaves_the_port_to_connect)
{
	for (int f = 0; f < 2; f++) {
		struct sockaddr_in srv, a = sin_of("127.0.0.2", 0), got;
		socklen_t len;
		int l = listener_on(families[f], "127.0.0.1", 4, &srv), fd = stream(families[f]), one = 1;

		ASSERT_LE(0, l);
		ASSERT_EQ(0, setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)));
		ASSERT_EQ(0, bind(fd, (void *)&a, sizeof(a)));
		len = sizeof(got);
		ASSERT_EQ(0, getsockname(fd, (void *)&got, &len));
		EXPECT_EQ(0, ntohs(got.sin_port)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(a.sin_addr.s_addr, got.sin_addr.s_addr) TH_LOG("%s", FAMILY_NAME(families[f]));
		ASSERT_EQ(0, connect_res(fd, &srv));
		len = sizeof(got);
		ASSERT_EQ(0, getsockname(fd, (void *)&got, &len));
		EXPECT_NE(0, ntohs(got.sin_port)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(a.sin_addr.s_addr, got.sin_addr.s_addr) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);
		close(l);
	}
}

/* An accepted socket has its listener's SOL_IP options and SO_REUSEPORT. */
TEST_F(netns, accepted_socket_takes_the_listeners)
{
	int vals[2][5];

	for (int f = 0; f < 2; f++) {
		struct sockaddr_in a = sin_of("127.0.0.1", 0);
		socklen_t len = sizeof(a);
		int l = stream(families[f]), c = stream(families[f]), s, tos = 0x28, ttl = 33, one = 1;

		ASSERT_LE(0, l);
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_TOS, &tos, sizeof(tos)));
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_TTL, &ttl, sizeof(ttl)));
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_RECVERR, &one, sizeof(one)));
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_FREEBIND, &one, sizeof(one)));
		ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
		ASSERT_EQ(0, bind(l, (void *)&a, sizeof(a)));
		ASSERT_EQ(0, listen(l, 4));
		ASSERT_EQ(0, getsockname(l, (void *)&a, &len));
		ASSERT_EQ(0, connect_res(c, &a));
		s = accept(l, NULL, NULL);
		ASSERT_LE(0, s);
		vals[f][0] = get_int(s, SOL_IP, IP_TOS, 4);
		vals[f][1] = get_int(s, SOL_IP, IP_TTL, 4);
		vals[f][2] = get_int(s, SOL_IP, IP_RECVERR, 4);
		vals[f][3] = get_int(s, SOL_IP, IP_FREEBIND, 4);
		vals[f][4] = get_int(s, SOL_SOCKET, SO_REUSEPORT, 4);
		close(s);
		close(c);
		close(l);
	}
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(vals[0][i], vals[1][i]) TH_LOG("value %d: AF_INET %d, AF_RTCP %d", i, vals[0][i], vals[1][i]);
	}
	EXPECT_EQ(0x28, vals[1][0]);
	EXPECT_EQ(33, vals[1][1]);
}

/* The TOS and TTL of each segment seen on lo between `port` and its
 * peers, one side's (from `port`) and the other's: -1 if none was seen,
 * -2 if two segments of one side differed. */
struct wire_seen {
	int srv_tos, srv_ttl, cli_tos, cli_ttl, srv_n, cli_n;
};

static void note(int *tos, int *ttl, int *n, const struct iphdr *ip)
{
	if (*n && (*tos != ip->tos || *ttl != ip->ttl)) {
		*tos = -2;
		*ttl = -2;
	} else if (*n == 0) {
		*tos = ip->tos;
		*ttl = ip->ttl;
	}
	(*n)++;
}

/* Reads what the packet socket holds. */
static void read_wire(int pkt, int port, struct wire_seen *w)
{
	unsigned char buf[2048];
	ssize_t n;

	while ((n = recv(pkt, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct iphdr *ip = (const void *)buf;
		const struct tcphdr *th = (const void *)(buf + ip->ihl * 4);

		if ((size_t)n < sizeof(*ip) + sizeof(*th) || ip->protocol != IPPROTO_TCP)
			continue;
		if (ntohs(th->source) == port)
			note(&w->srv_tos, &w->srv_ttl, &w->srv_n, ip);
		else if (ntohs(th->dest) == port)
			note(&w->cli_tos, &w->cli_ttl, &w->cli_n, ip);
	}
}

/*
 * IP_TOS and IP_TTL on the wire: the client's on its SYN and data, the
 * listener's on its SYN-ACK and on what the accepted socket sends; the
 * TOS without the ECN bits the user gave. Seen with a packet socket on
 * lo, before the connections close (Linux's TIME-WAIT answers with the
 * namespace's TTL). With `v6`, IPv6 sockets (AF_INET6, and AF_RTCP's
 * RTCPPROTO_TCP6) over ::ffff:127.0.0.1: their IPv4 connections carry
 * the sockets' SOL_IP options, as tcp_v6_connect's ipv6_mapped ones do.
 */
static void tos_and_ttl_seen(struct __test_metadata *_metadata, bool v6)
{
	struct wire_seen seen[2];

	for (int f = 0; f < 2; f++) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
					  .sll_ifindex = (int)if_nametoindex("lo") };
		int port = 7000 + f + (v6 ? 10 : 0);
		struct sockaddr_in a = sin_of("127.0.0.1", port);
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		int proto = v6 && families[f] == AF_RTCP ? RTCPPROTO_TCP6 : 0;
		int family = v6 && families[f] == AF_INET ? AF_INET6 : families[f];
		int pkt = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
		int l = socket(family, SOCK_STREAM, proto), c = socket(family, SOCK_STREAM, proto), s;
		int ltos = 0x2b, lttl = 42, ctos = 0xb8, cttl = 7;
		socklen_t alen = v6 ? sizeof(a6) : sizeof(a);
		void *addr = v6 ? (void *)&a6 : (void *)&a;
		char b[100] = { 0 };

		ASSERT_EQ(1, inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr));
		ASSERT_LE(0, pkt);
		ASSERT_LE(0, l);
		ASSERT_LE(0, c);
		ASSERT_EQ(0, bind(pkt, (void *)&ll, sizeof(ll)));
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_TOS, &ltos, sizeof(ltos)));
		ASSERT_EQ(0, setsockopt(l, SOL_IP, IP_TTL, &lttl, sizeof(lttl)));
		ASSERT_EQ(0, setsockopt(c, SOL_IP, IP_TOS, &ctos, sizeof(ctos)));
		ASSERT_EQ(0, setsockopt(c, SOL_IP, IP_TTL, &cttl, sizeof(cttl)));
		ASSERT_EQ(0, bind(l, addr, alen));
		ASSERT_EQ(0, listen(l, 4));
		ASSERT_EQ(0, connect(c, addr, alen));
		s = accept(l, NULL, NULL);
		ASSERT_LE(0, s);
		ASSERT_EQ((ssize_t)sizeof(b), send(c, b, sizeof(b), 0));
		ASSERT_EQ((ssize_t)sizeof(b), recv(s, b, sizeof(b), MSG_WAITALL));
		ASSERT_EQ((ssize_t)sizeof(b), send(s, b, sizeof(b), 0));
		ASSERT_EQ((ssize_t)sizeof(b), recv(c, b, sizeof(b), MSG_WAITALL));
		usleep(200000);
		memset(&seen[f], 0, sizeof(seen[f]));
		read_wire(pkt, port, &seen[f]);
		close(pkt);
		close(s);
		close(c);
		close(l);
		TH_LOG("%s%s: server tos %#x ttl %d (%d seen), client tos %#x ttl %d (%d seen)",
		       FAMILY_NAME(families[f]), v6 ? " (IPv6 socket)" : "", seen[f].srv_tos, seen[f].srv_ttl,
		       seen[f].srv_n, seen[f].cli_tos, seen[f].cli_ttl, seen[f].cli_n);
	}
	for (int f = 0; f < 2; f++) {
		/* SYN-ACK and data; SYN, ACK and data. */
		EXPECT_LE(2, seen[f].srv_n);
		EXPECT_LE(3, seen[f].cli_n);
		EXPECT_EQ(0x28, seen[f].srv_tos) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(42, seen[f].srv_ttl) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0xb8, seen[f].cli_tos) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(7, seen[f].cli_ttl) TH_LOG("%s", FAMILY_NAME(families[f]));
	}
}

TEST_F(netns, tos_and_ttl_on_the_wire)
{
	tos_and_ttl_seen(_metadata, false);
}

TEST_F(netns, tos_and_ttl_on_the_wire_of_ipv6_sockets_ipv4_connections)
{
	tos_and_ttl_seen(_metadata, true);
}

/* The ISN of the first SYN the packet socket holds from `port`, or 0. */
static uint32_t syn_seq(int pkt, int port)
{
	unsigned char buf[2048];
	ssize_t n;

	while ((n = recv(pkt, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct iphdr *ip = (const void *)buf;
		const struct tcphdr *th = (const void *)(buf + ip->ihl * 4);

		if ((size_t)n >= sizeof(*ip) + sizeof(*th) && ip->protocol == IPPROTO_TCP &&
		    ntohs(th->source) == port && th->syn && !th->ack)
			return ntohl(th->seq);
	}
	return 0;
}

/*
 * IP_RECVERR makes an ICMP error about an established connection's
 * segment a hard error, reported at once (tcp_v4_err): poll() has
 * POLLERR. Without it the error is soft: no POLLERR, and only SO_ERROR
 * gives it (sk_err_soft). The same errno either way.
 */
TEST_F(netns, recverr_reports_icmp_errors_at_once)
{
	int err[2][2], pollerr[2][2];

	for (int f = 0; f < 2; f++) {
		for (int on = 0; on < 2; on++) {
			struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
						  .sll_ifindex = (int)if_nametoindex("lo") };
			struct sockaddr_in srv, local;
			socklen_t len = sizeof(local);
			int pkt = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
			int l = listener_on(families[f], "127.0.0.1", 4, &srv), c = stream(families[f]), s;
			uint32_t isn;

			ASSERT_LE(0, pkt);
			ASSERT_LE(0, l);
			ASSERT_EQ(0, bind(pkt, (void *)&ll, sizeof(ll)));
			ASSERT_EQ(0, setsockopt(c, SOL_IP, IP_RECVERR, &on, sizeof(on)));
			ASSERT_EQ(0, connect_res(c, &srv));
			s = accept(l, NULL, NULL);
			ASSERT_LE(0, s);
			ASSERT_EQ(0, getsockname(c, (void *)&local, &len));
			isn = syn_seq(pkt, ntohs(local.sin_port));
			ASSERT_NE(0u, isn);
			/* Nothing in flight: SND.UNA, just past the SYN. */
			ASSERT_EQ(0, send_icmp_unreach(&local, &srv, isn + 1));
			usleep(100000);
			{
				struct pollfd p = { .fd = c, .events = POLLIN };

				poll(&p, 1, 0);
				pollerr[f][on] = p.revents & POLLERR;
			}
			err[f][on] = so_error(c);
			close(pkt);
			close(s);
			close(c);
			close(l);
		}
		TH_LOG("%s: POLLERR %#x, SO_ERROR %d without IP_RECVERR; POLLERR %#x, SO_ERROR %d with",
		       FAMILY_NAME(families[f]), pollerr[f][0], err[f][0], pollerr[f][1], err[f][1]);
	}
	for (int on = 0; on < 2; on++) {
		EXPECT_EQ(pollerr[0][on], pollerr[1][on]) TH_LOG("IP_RECVERR %d", on);
		EXPECT_EQ(err[0][on], err[1][on]) TH_LOG("IP_RECVERR %d", on);
		EXPECT_EQ(EHOSTUNREACH, err[1][on]) TH_LOG("IP_RECVERR %d", on);
	}
	EXPECT_EQ(0, pollerr[1][0]);
	EXPECT_EQ(POLLERR, pollerr[1][1]);
}

/* SO_REUSEPORT is taken and read back (any non-zero value is on). */
TEST_F(netns, reuseport_read_back_like_inet)
{
	static const int vals[] = { 1, 2, -1, 0 };
	int back[2][4], res[2][4];

	for (int f = 0; f < 2; f++) {
		int fd = stream(families[f]);

		ASSERT_LE(0, fd);
		for (int i = 0; i < 4; i++) {
			res[f][i] = set_res(fd, SOL_SOCKET, SO_REUSEPORT, &vals[i], sizeof(int));
			back[f][i] = get_int(fd, SOL_SOCKET, SO_REUSEPORT, 4);
		}
		close(fd);
	}
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(res[0][i], res[1][i]) TH_LOG("value %d", vals[i]);
		EXPECT_EQ(back[0][i], back[1][i]) TH_LOG("value %d", vals[i]);
	}
	EXPECT_EQ(1, back[1][0]);
	EXPECT_EQ(0, back[1][3]);
	EXPECT_EQ(-EINVAL, set_res(stream(AF_RTCP), SOL_SOCKET, SO_REUSEPORT, vals, 2));
}

/* Two sockets of one family on one port, with options (bit 0:
 * SO_REUSEADDR, bit 1: SO_REUSEPORT) for each: the results of the
 * second bind and, if both bound, of the two listens. */
static void pair_res(int family, int port, int opt_a, int opt_b, int res[3])
{
	struct sockaddr_in a = sin_of("127.0.0.1", port);
	int fd[2] = { stream(family), stream(family) }, opt[2] = { opt_a, opt_b }, one = 1;

	for (int i = 0; i < 2; i++) {
		if (opt[i] & 1)
			setsockopt(fd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (opt[i] & 2)
			setsockopt(fd[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	}
	res[0] = bind(fd[0], (void *)&a, sizeof(a)) ? -errno : 0;
	res[1] = bind(fd[1], (void *)&a, sizeof(a)) ? -errno : 0;
	res[2] = 1;
	if (!res[0] && !res[1]) {
		res[2] = listen(fd[0], 4) ? -errno : 0;
		res[2] = res[2] * 1000 + (listen(fd[1], 4) ? -errno : 0);
	}
	close(fd[0]);
	close(fd[1]);
}

/* Which pairs may share a port, and which may both listen on it. */
TEST_F(netns, reuseport_conflicts_like_inet)
{
	static const int pairs[][2] = { { 0, 0 }, { 2, 2 }, { 2, 0 }, { 0, 2 }, { 1, 1 }, { 3, 3 }, { 1, 2 }, { 3, 2 } };

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int res[2][3];

		for (int f = 0; f < 2; f++)
			pair_res(families[f], 7100 + (int)i * 2 + f, pairs[i][0], pairs[i][1], res[f]);
		for (int k = 0; k < 3; k++) {
			EXPECT_EQ(res[0][k], res[1][k]) TH_LOG("options %d and %d, step %d: AF_INET %d, AF_RTCP %d",
								pairs[i][0], pairs[i][1], k, res[0][k], res[1][k]);
		}
	}
}

/* A second owner cannot join a port that SO_REUSEPORT sockets hold. */
TEST_F(netns, reuseport_needs_the_same_owner)
{
	int res[2], status;

	for (int f = 0; f < 2; f++) {
		struct sockaddr_in a = sin_of("127.0.0.1", 7200 + f);
		int fd = stream(families[f]), one = 1;
		pid_t pid;

		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
		ASSERT_EQ(0, bind(fd, (void *)&a, sizeof(a)));
		ASSERT_EQ(0, listen(fd, 4));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int other;

			if (setresuid(65534, 65534, 65534))
				_exit(100);
			other = stream(families[f]);
			setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
			_exit(bind(other, (void *)&a, sizeof(a)) ? errno : 0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		res[f] = WEXITSTATUS(status);
		close(fd);
	}
	EXPECT_EQ(res[0], res[1]);
	EXPECT_EQ(EADDRINUSE, res[1]);
}

/*
 * Two listeners with SO_REUSEPORT on one port: a client that connects
 * many times (another source port each time) reaches both, and every
 * connection is accepted once.
 */
TEST_F(netns, reuseport_spreads_connections)
{
	enum { N = 40 };

	for (int f = 0; f < 2; f++) {
		struct sockaddr_in a = sin_of("127.0.0.1", 7300 + f);
		int l[2], c[N], count[2] = { 0, 0 }, one = 1;
		double end;

		for (int i = 0; i < 2; i++) {
			l[i] = stream(families[f]);
			ASSERT_LE(0, l[i]);
			ASSERT_EQ(0, setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
			ASSERT_EQ(0, bind(l[i], (void *)&a, sizeof(a)));
			ASSERT_EQ(0, listen(l[i], N));
			fcntl(l[i], F_SETFL, O_NONBLOCK);
		}
		for (int k = 0; k < N; k++) {
			c[k] = stream(families[f]);
			ASSERT_EQ(0, connect_res(c[k], &a)) TH_LOG("%s: connection %d", FAMILY_NAME(families[f]), k);
		}
		end = mono_s() + 10;
		while (count[0] + count[1] < N && mono_s() < end) {
			int got = 0;

			for (int i = 0; i < 2; i++) {
				int s = accept(l[i], NULL, NULL);

				if (s >= 0) {
					count[i]++;
					got = 1;
					close(s);
				}
			}
			if (!got)
				usleep(10000);
		}
		TH_LOG("%s: %d and %d", FAMILY_NAME(families[f]), count[0], count[1]);
		EXPECT_EQ(N, count[0] + count[1]) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LT(0, count[0]) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LT(0, count[1]) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* Nothing more: each connection once. */
		EXPECT_GT(0, accept(l[0], NULL, NULL));
		EXPECT_GT(0, accept(l[1], NULL, NULL));
		for (int k = 0; k < N; k++)
			close(c[k]);
		close(l[0]);
		close(l[1]);
	}
}

TEST_HARNESS_MAIN
