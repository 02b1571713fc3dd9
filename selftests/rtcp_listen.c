// SPDX-License-Identifier: GPL-2.0
/*
 * listen() and accept() on AF_RTCP: Linux TCP clients and RTCP clients
 * against an RTCP listener on loopback, with AF_INET as the reference for
 * the errnos; poll on a listener; a backlog small enough to overflow.
 * Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

FIXTURE(lst)
{
};

FIXTURE_SETUP(lst)
{
	ASSERT_EQ(0, private_netns());
}

FIXTURE_TEARDOWN(lst)
{
}

/* A Linux TCP client and an RTCP client, each to an RTCP listener. */
TEST_F(lst, clients_of_both_kinds)
{
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 8, &addr);

	ASSERT_LE(0, l);
	for (int f = 0; f < 2; f++) {
		struct sockaddr_in c_local, c_peer, a_local, a_peer;
		socklen_t len;
		int c = socket(families[f], SOCK_STREAM, 0), a;

		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr))) TH_LOG("%s: %s", FAMILY_NAME(families[f]), strerror(errno));
		len = sizeof(a_peer);
		a = accept(l, (void *)&a_peer, &len);
		ASSERT_LE(0, a) TH_LOG("%s: %s", FAMILY_NAME(families[f]), strerror(errno));
		len = sizeof(c_local);
		ASSERT_EQ(0, getsockname(c, (void *)&c_local, &len));
		len = sizeof(c_peer);
		ASSERT_EQ(0, getpeername(c, (void *)&c_peer, &len));
		len = sizeof(a_local);
		ASSERT_EQ(0, getsockname(a, (void *)&a_local, &len));
		EXPECT_EQ(c_local.sin_port, a_peer.sin_port);
		EXPECT_EQ(c_local.sin_addr.s_addr, a_peer.sin_addr.s_addr);
		EXPECT_EQ(c_peer.sin_port, a_local.sin_port);
		EXPECT_EQ(addr.sin_port, a_local.sin_port);
		len = sizeof(a_peer);
		ASSERT_EQ(0, getpeername(a, (void *)&a_peer, &len));
		EXPECT_EQ(c_local.sin_port, a_peer.sin_port);
		close(c);
		close(a);
	}
	close(l);
}

/* The errnos around listen() and accept(), as AF_INET gives them. */
TEST_F(lst, errors_like_inet)
{
	for (int f = 0; f < 2; f++) {
		struct timeval tv = { .tv_usec = 100000 };
		struct sockaddr_in addr, any = { .sin_family = AF_INET };
		socklen_t len = sizeof(addr);
		int fd = socket(families[f], SOCK_STREAM, 0), l, c;

		/* accept() on a socket that is not listening. */
		EXPECT_EQ(-1, accept(fd, NULL, NULL));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* listen() without bind() takes an ephemeral port. */
		EXPECT_EQ(0, listen(fd, 4));
		ASSERT_EQ(0, getsockname(fd, (void *)&addr, &len));
		EXPECT_NE(0, addr.sin_port);
		/* Again: only the backlog changes. */
		EXPECT_EQ(0, listen(fd, 8)) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* bind() on a listener. */
		EXPECT_EQ(-1, bind(fd, (void *)&any, sizeof(any)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* Non-blocking accept on an empty queue. */
		ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
		EXPECT_EQ(-1, accept(fd, NULL, NULL));
		EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);

		/* SO_RCVTIMEO on a blocking accept: EAGAIN when it runs out. */
		l = listener_on(families[f], "127.0.0.1", 4, &addr);
		ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
		EXPECT_EQ(-1, accept(l, NULL, NULL));
		EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* listen() on a connected socket. */
		c = socket(families[f], SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
		EXPECT_EQ(-1, listen(c, 1));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(c);
		close(l);
	}
}

/* An accepted socket starts with its listener's options, socket-level
 * and TCP-level, as AF_INET's children do (sk_clone_lock), all but
 * SO_PRIORITY, which AF_INET's children start without. */
TEST_F(lst, children_inherit_listener_options)
{
	/* What the listener is given, and what its child then has (the
	 * kernel doubles buffer sizes). */
	static const struct {
		int level, name, val, child;
		const char *what;
	} opts[] = {
		{ SOL_SOCKET, SO_KEEPALIVE, 1, 1, "SO_KEEPALIVE" },
		{ SOL_SOCKET, SO_SNDBUF, 8192, 16384, "SO_SNDBUF" },
		{ SOL_SOCKET, SO_RCVBUF, 6144, 12288, "SO_RCVBUF" },
		{ SOL_SOCKET, SO_MARK, 7, 7, "SO_MARK" },
		{ SOL_SOCKET, SO_PRIORITY, 3, 0, "SO_PRIORITY" },
		{ SOL_SOCKET, SO_RCVLOWAT, 5, 5, "SO_RCVLOWAT" },
		{ IPPROTO_TCP, TCP_NODELAY, 1, 1, "TCP_NODELAY" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 77, 77, "TCP_KEEPIDLE" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, 11, 11, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, 4, 4, "TCP_KEEPCNT" },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, 1234, 1234, "TCP_USER_TIMEOUT" },
	};
	int inet[sizeof(opts) / sizeof(opts[0])];

	for (int f = 0; f < 2; f++) {
		struct timeval tv = { .tv_sec = 3 }, got_tv;
		struct linger lg = { .l_onoff = 1, .l_linger = 9 }, got_lg;
		struct sockaddr_in addr;
		socklen_t len;
		int l = listener_on(families[f], "127.0.0.1", 4, &addr), c, a;

		ASSERT_LE(0, l);
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			ASSERT_EQ(0, setsockopt(l, opts[i].level, opts[i].name, &opts[i].val, sizeof(int)))
				TH_LOG("%s %s", FAMILY_NAME(families[f]), opts[i].what);
		}
		ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
		ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
		ASSERT_EQ(0, setsockopt(l, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
		c = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			int v = -1;

			len = sizeof(v);
			ASSERT_EQ(0, getsockopt(a, opts[i].level, opts[i].name, &v, &len));
			if (families[f] == AF_INET)
				inet[i] = v;
			else
				EXPECT_EQ(inet[i], v) TH_LOG("%s: AF_INET's child has %d, AF_RTCP's %d",
							     opts[i].what, inet[i], v);
			EXPECT_EQ(opts[i].child, v) TH_LOG("%s %s", FAMILY_NAME(families[f]), opts[i].what);
		}
		if (families[f] == AF_RTCP) {
			/* Not only the value: the connection's receive buffer is
			 * the size asked for (half of what getsockopt reports). */
			struct tcp_info ti;

			len = sizeof(ti);
			ASSERT_EQ(0, getsockopt(a, IPPROTO_TCP, TCP_INFO, &ti, &len));
			EXPECT_GE(6144u, ti.tcpi_rcv_space);
			EXPECT_LT(4096u, ti.tcpi_rcv_space);
		}
		len = sizeof(got_tv);
		ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &got_tv, &len));
		EXPECT_EQ(3, got_tv.tv_sec) TH_LOG("%s", FAMILY_NAME(families[f]));
		len = sizeof(got_lg);
		ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_LINGER, &got_lg, &len));
		EXPECT_EQ(1, got_lg.l_onoff) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(9, got_lg.l_linger) TH_LOG("%s", FAMILY_NAME(families[f]));
		{
			char ca[16] = { 0 };

			len = sizeof(ca);
			ASSERT_EQ(0, getsockopt(a, IPPROTO_TCP, TCP_CONGESTION, ca, &len));
			EXPECT_STREQ("reno", ca) TH_LOG("%s TCP_CONGESTION", FAMILY_NAME(families[f]));
		}
		close(a);
		close(c);
		close(l);
	}
}

/* poll() on a listener: POLLIN once a connection waits, and not before. */
TEST_F(lst, poll_on_listener)
{
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 4, &addr), c;
	struct pollfd p = { .fd = l, .events = POLLIN | POLLOUT };

	ASSERT_LE(0, l);
	EXPECT_EQ(0, poll(&p, 1, 0));
	c = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(POLLIN, p.revents);
	close(accept(l, NULL, NULL));
	close(c);
	close(l);
}

/* A hundred Linux TCP clients one after the other. */
TEST_F(lst, sequential_linux_clients)
{
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 16, &addr);

	ASSERT_LE(0, l);
	for (int i = 0; i < 100; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), a;

		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr))) TH_LOG("client %d", i);
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a) TH_LOG("client %d: %s", i, strerror(errno));
		close(c);
		close(a);
	}
	close(l);
}

/*
 * More clients at once than the backlog holds: the listener drops what
 * does not fit and the clients' retransmissions bring them in as accept()
 * makes room, so every one is accepted in the end. Without SYN cookies:
 * a client let in by a cookie whose ACK then meets a full accept queue
 * only comes back with its first data (as with Linux's TCP), and these
 * clients send none. Long by nature, as hundreds_concurrent: the clients
 * come back on their SYN retransmission schedule.
 */
TEST_F_TIMEOUT(lst, backlog_overflow, 180)
{
	enum { N = 12 };
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 2, &addr), c[N], accepted = 0;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/syncookies", "0"));
	for (int i = 0; i < N; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ASSERT_EQ(-1, connect(c[i], (void *)&addr, sizeof(addr)));
		ASSERT_EQ(EINPROGRESS, errno);
	}
	/* Nobody accepts for a moment: the queue fills and stays full. */
	usleep(300000);
	while (accepted < N) {
		struct pollfd p = { .fd = l, .events = POLLIN };
		int a;

		ASSERT_EQ(1, poll(&p, 1, 70000)) TH_LOG("%d of %d accepted", accepted, N);
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		close(a);
		accepted++;
	}
	for (int i = 0; i < N; i++)
		close(c[i]);
	close(l);
}

/* Three hundred RTCP connections to an RTCP listener, one after the
 * other (each client closes first: three hundred in TIME-WAIT at the
 * end, each with its port). Long by nature: its time is three hundred
 * handshakes and teardowns, so its bound is 300 s. */
TEST_F_TIMEOUT(lst, three_hundred_sequential, 300)
{
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 16, &addr);

	ASSERT_LE(0, l);
	for (int i = 0; i < 300; i++) {
		int c = socket(AF_RTCP, SOCK_STREAM, 0), a;

		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr))) TH_LOG("client %d: %s", i, strerror(errno));
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a) TH_LOG("client %d: %s", i, strerror(errno));
		close(c);
		close(a);
	}
	close(l);
}

/*
 * Three hundred clients at once (RTCP and Linux TCP, half each) against a
 * backlog of 64: all are accepted in the end, /proc/net/rtcp shows every
 * RTCP end, and it is empty once everything is closed.
 *
 * Long by nature: the SYNs that find the accept queue full are dropped
 * (as Linux's listener drops them) and come back with the clients'
 * retransmissions at 1 s, 3 s, 7 s, 15 s, 31 s..., so a client that is
 * unlucky on a slow machine waits tens of seconds. On an idle TCG guest
 * all are in after about 5 s, whether the listener is RTCP's or Linux's;
 * the bound is 180 s, and a wait of 70 s for the next one (past the
 * 31 s retransmission and the 63 s one's start) is a hang.
 */
TEST_F_TIMEOUT(lst, hundreds_concurrent, 180)
{
	enum { N = 300 };
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", 64, &addr), c[N], a[N], accepted = 0;

	ASSERT_LE(0, l);
	for (int i = 0; i < N; i++) {
		struct pollfd p = { .fd = l, .events = POLLIN };

		c[i] = socket(i % 2 ? AF_INET : AF_RTCP, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(-1, connect(c[i], (void *)&addr, sizeof(addr)));
		ASSERT_EQ(EINPROGRESS, errno);
		/* What is ready is accepted as the clients come, as a server
		 * would: a handshake whose final ACK met the full accept
		 * queue waits for its SYN-ACK again, and while old requests
		 * fill the queue (reqsk_timer_handler's pruning) it goes
		 * after the second (7 s), its client left established with
		 * nothing to send. */
		while (accepted < N && poll(&p, 1, 0) == 1) {
			a[accepted] = accept(l, NULL, NULL);
			ASSERT_LE(0, a[accepted]);
			accepted++;
		}
	}
	while (accepted < N) {
		struct pollfd p = { .fd = l, .events = POLLIN };

		ASSERT_EQ(1, poll(&p, 1, 70000)) TH_LOG("%d of %d accepted", accepted, N);
		a[accepted] = accept(l, NULL, NULL);
		ASSERT_LE(0, a[accepted]);
		accepted++;
	}
	for (int i = 0; i < N; i++) {
		struct pollfd p = { .fd = c[i], .events = POLLOUT };

		ASSERT_EQ(1, poll(&p, 1, 10000));
		EXPECT_EQ(POLLOUT, p.revents) TH_LOG("client %d", i);
	}
	/* N accepted ends and N / 2 RTCP clients. */
	EXPECT_EQ(N + N / 2, proc_count(AF_RTCP, "01"));
	for (int i = 0; i < N; i++) {
		close(c[i]);
		close(a[i]);
	}
	close(l);
	EXPECT_EQ(0, proc_count(AF_RTCP, "01"));
	EXPECT_EQ(0, proc_count(AF_RTCP, "0A"));
}

/* The lines of /proc/net/rtcp with state `st` (hex), in `lines`. */
static int proc_lines(const char *st, char lines[][160], int max)
{
	char line[160];
	int n = 0;
	FILE *f = fopen("/proc/net/rtcp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char state[8];

		if (sscanf(line, "%*s %*s %*s %7s", state) == 1 && !strcmp(state, st) && n < max)
			strcpy(lines[n++], line);
	}
	fclose(f);
	return n;
}

/*
 * /proc/net/rtcp lists the listener and the connections like
 * /proc/net/tcp (same header, addresses, states, inode), and nothing once
 * every socket is closed.
 */
TEST_F(lst, proc_net_rtcp)
{
	struct sockaddr_in addr;
	char lines[8][160], want[64], header[160] = "", tcp_header[160] = "";
	int l = listener_on(AF_RTCP, "127.0.0.1", 4, &addr), c, a;
	struct stat st;
	FILE *f;

	ASSERT_LE(0, l);
	f = fopen("/proc/net/rtcp", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(header, sizeof(header), f));
	fclose(f);
	f = fopen("/proc/net/tcp", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(tcp_header, sizeof(tcp_header), f));
	fclose(f);
	EXPECT_STREQ(tcp_header, header);

	ASSERT_EQ(1, proc_lines("0A", lines, 8));
	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", ntohs(addr.sin_port));
	EXPECT_NE(NULL, strstr(lines[0], want)) TH_LOG("%s", lines[0]);
	ASSERT_EQ(0, fstat(l, &st));
	snprintf(want, sizeof(want), " %lu", (unsigned long)st.st_ino);
	EXPECT_NE(NULL, strstr(lines[0], want)) TH_LOG("%s", lines[0]);

	c = socket(AF_RTCP, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	/* Both ends of the connection are RTCP's. */
	EXPECT_EQ(2, proc_lines("01", lines, 8));
	close(c);
	close(a);
	close(l);
	EXPECT_EQ(0, proc_lines("0A", lines, 8));
	EXPECT_EQ(0, proc_lines("01", lines, 8));

	/* The namespace's counters saw one connection each way, closed
	 * with FINs: no reset. */
	EXPECT_EQ(1, rtcp_stat("ActiveOpens"));
	EXPECT_EQ(1, rtcp_stat("PassiveOpens"));
	EXPECT_EQ(0, rtcp_stat("AttemptFails"));
	EXPECT_EQ(0, rtcp_stat("OutRsts"));
	EXPECT_LE(4, rtcp_stat("OutSegs"));
	EXPECT_LE(4, rtcp_stat("InSegs"));
	EXPECT_EQ(0, rtcp_stat("RetransSegs"));
	EXPECT_EQ(0, rtcp_stat("InCsumErrors"));
}

/*
 * /proc/net/rtcp_sockstat counts as the TCP line of /proc/net/sockstat:
 * the namespace's listeners and connections (inuse) and TIME-WAIT ones
 * (tw), the same for each family; and the pages that buffers hold (mem,
 * for every namespace: for RTCP at least what this test's unread bytes
 * need).
 */
TEST_F(lst, sockstat_like_inet)
{
	enum { N = 3 };

	for (int fi = 0; fi < 2; fi++) {
		int f = families[fi], l, c[N], a[N], flags;
		struct sockaddr_in addr;
		long v[5], queued = 0;
		char buf[4096] = { 0 };
		ssize_t n;

		ASSERT_LE(0, l = listener_on(f, "127.0.0.1", N, &addr));
		for (int i = 0; i < N; i++) {
			ASSERT_LE(0, c[i] = socket(f, SOCK_STREAM, 0));
			ASSERT_EQ(0, connect(c[i], (void *)&addr, sizeof(addr)));
			ASSERT_LE(0, a[i] = accept(l, NULL, NULL));
		}
		ASSERT_EQ(0, family_sockstat(f, v));
		EXPECT_EQ(1 + 2 * N, v[0]) TH_LOG("%s inuse", FAMILY_NAME(f));
		EXPECT_EQ(0, v[2]) TH_LOG("%s tw", FAMILY_NAME(f));

		/* Bytes nobody reads sit in buffers: RTCP counts at least their
		 * pages (Linux's count lags behind by what each CPU keeps in
		 * reserve, sk_memory_allocated's per-CPU cache: printed only). */
		flags = fcntl(c[0], F_GETFL);
		ASSERT_EQ(0, fcntl(c[0], F_SETFL, flags | O_NONBLOCK));
		while ((n = send(c[0], buf, sizeof(buf), 0)) > 0)
			queued += n;
		ASSERT_EQ(0, family_sockstat(f, v));
		TH_LOG("%s: %ld bytes queued, mem %ld pages", FAMILY_NAME(f), queued, v[4]);
		if (f == AF_RTCP)
			EXPECT_LE(queued / 4096, v[4]);

		/* The first connection ends with a reset (no TIME-WAIT); of the
		 * others the clients close first: TIME-WAIT once the accepted
		 * ends close too. */
		ASSERT_EQ(0, setsockopt(c[0], SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger)));
		for (int i = 0; i < N; i++) {
			close(c[i]);
			close(a[i]);
		}
		close(l);
		for (int tries = 0; tries < 100; tries++) {
			ASSERT_EQ(0, family_sockstat(f, v));
			if (v[0] == 0 && v[2] == N - 1)
				break;
			usleep(50000);
		}
		EXPECT_EQ(0, v[0]) TH_LOG("%s inuse after close", FAMILY_NAME(f));
		EXPECT_EQ(N - 1, v[2]) TH_LOG("%s tw after close", FAMILY_NAME(f));
	}
}

TEST_HARNESS_MAIN
