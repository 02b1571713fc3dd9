// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP-level options real programs set (TCP_QUICKACK, TCP_NOTSENT_LOWAT,
 * TCP_WINDOW_CLAMP, TCP_LINGER2, TCP_DEFER_ACCEPT), SO_SNDBUF/SO_RCVBUF's
 * doubling, and the MSG_MORE and MSG_TRUNC flags: the same calls on
 * AF_INET and on AF_RTCP (each family to itself over loopback), their
 * errnos, values read back and effects compared. Each test runs in a
 * network namespace of its own.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#ifndef SOL_TCP
#define SOL_TCP IPPROTO_TCP
#endif

#include "kselftest_harness.h"
#include "rtcp_util.h"

static int get_int(int fd, int level, int name)
{
	int got = -12345;
	socklen_t len = sizeof(got);

	if (getsockopt(fd, level, name, &got, &len))
		return -errno;
	return got;
}

#define NCASES 64

struct results {
	long long v[NCASES];
	const char *what[NCASES];
	int n;
};

static void note(struct results *r, const char *what, long long v)
{
	if (r->n < NCASES) {
		r->what[r->n] = what;
		r->v[r->n++] = v;
	}
}

/* The options on a fresh socket, a listener, a connection and an accepted
 * child, for `family`. */
static int options_of(int family, struct results *r)
{
	static const int defer[] = { -1, 0, 1, 2, 3, 4, 7, 8, 15, 16, 100, 1000, 100000 };
	struct sockaddr_in addr;
	int s = socket(family, SOCK_STREAM, 0), l, c, a;

	if (s < 0)
		return -1;
	note(r, "QUICKACK fresh", get_int(s, SOL_TCP, TCP_QUICKACK));
	note(r, "NOTSENT_LOWAT fresh", get_int(s, SOL_TCP, TCP_NOTSENT_LOWAT));
	note(r, "WINDOW_CLAMP fresh", get_int(s, SOL_TCP, TCP_WINDOW_CLAMP));
	note(r, "LINGER2 fresh", get_int(s, SOL_TCP, TCP_LINGER2));
	note(r, "DEFER_ACCEPT fresh", get_int(s, SOL_TCP, TCP_DEFER_ACCEPT));
	note(r, "QUICKACK 0", set_get(s, SOL_TCP, TCP_QUICKACK, 0));
	note(r, "QUICKACK 2", set_get(s, SOL_TCP, TCP_QUICKACK, 2));
	note(r, "QUICKACK 0 again", set_get(s, SOL_TCP, TCP_QUICKACK, 0));
	note(r, "QUICKACK 1", set_get(s, SOL_TCP, TCP_QUICKACK, 1));
	note(r, "NOTSENT_LOWAT 12345", set_get(s, SOL_TCP, TCP_NOTSENT_LOWAT, 12345));
	note(r, "NOTSENT_LOWAT -1", set_get(s, SOL_TCP, TCP_NOTSENT_LOWAT, -1));
	note(r, "NOTSENT_LOWAT 0", set_get(s, SOL_TCP, TCP_NOTSENT_LOWAT, 0));
	note(r, "WINDOW_CLAMP 100", set_get(s, SOL_TCP, TCP_WINDOW_CLAMP, 100));
	note(r, "WINDOW_CLAMP -7", set_get(s, SOL_TCP, TCP_WINDOW_CLAMP, -7));
	note(r, "WINDOW_CLAMP 5000", set_get(s, SOL_TCP, TCP_WINDOW_CLAMP, 5000));
	note(r, "WINDOW_CLAMP 0 closed", set_get(s, SOL_TCP, TCP_WINDOW_CLAMP, 0));
	note(r, "LINGER2 -5", set_get(s, SOL_TCP, TCP_LINGER2, -5));
	note(r, "LINGER2 0", set_get(s, SOL_TCP, TCP_LINGER2, 0));
	note(r, "LINGER2 30", set_get(s, SOL_TCP, TCP_LINGER2, 30));
	note(r, "LINGER2 500", set_get(s, SOL_TCP, TCP_LINGER2, 500));
	for (size_t i = 0; i < sizeof(defer) / sizeof(defer[0]); i++)
		note(r, "DEFER_ACCEPT n", set_get(s, SOL_TCP, TCP_DEFER_ACCEPT, defer[i]));
	note(r, "SNDBUF fresh", get_int(s, SOL_SOCKET, SO_SNDBUF));
	note(r, "RCVBUF fresh", get_int(s, SOL_SOCKET, SO_RCVBUF));
	note(r, "SNDBUF 10000", set_get(s, SOL_SOCKET, SO_SNDBUF, 10000));
	note(r, "RCVBUF 10000", set_get(s, SOL_SOCKET, SO_RCVBUF, 10000));
	note(r, "SNDBUF 1", set_get(s, SOL_SOCKET, SO_SNDBUF, 1));
	note(r, "RCVBUF 1", set_get(s, SOL_SOCKET, SO_RCVBUF, 1));
	close(s);

	/* A listener: a clamp of 0 only on a closed socket; what a child
	 * takes from it. */
	l = listener_on(family, "127.0.0.1", 4, &addr);
	if (l < 0)
		return -1;
	note(r, "listener WINDOW_CLAMP 0", set_get(l, SOL_TCP, TCP_WINDOW_CLAMP, 0));
	note(r, "listener WINDOW_CLAMP 6000", set_get(l, SOL_TCP, TCP_WINDOW_CLAMP, 6000));
	note(r, "listener DEFER_ACCEPT 5", set_get(l, SOL_TCP, TCP_DEFER_ACCEPT, 5));
	note(r, "listener DEFER_ACCEPT 0", set_get(l, SOL_TCP, TCP_DEFER_ACCEPT, 0));
	note(r, "listener LINGER2 7", set_get(l, SOL_TCP, TCP_LINGER2, 7));
	note(r, "listener NOTSENT_LOWAT 777", set_get(l, SOL_TCP, TCP_NOTSENT_LOWAT, 777));
	c = socket(family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (void *)&addr, sizeof(addr)))
		return -1;
	a = accept(l, NULL, NULL);
	close(l);
	if (a < 0)
		return -1;
	note(r, "child WINDOW_CLAMP", get_int(a, SOL_TCP, TCP_WINDOW_CLAMP));
	note(r, "child LINGER2", get_int(a, SOL_TCP, TCP_LINGER2));
	note(r, "child NOTSENT_LOWAT", get_int(a, SOL_TCP, TCP_NOTSENT_LOWAT));
	note(r, "child DEFER_ACCEPT", get_int(a, SOL_TCP, TCP_DEFER_ACCEPT));
	note(r, "child QUICKACK", get_int(a, SOL_TCP, TCP_QUICKACK));
	/* A connection: no clamp of 0; a clamp read back as set. */
	note(r, "conn WINDOW_CLAMP 0", set_get(c, SOL_TCP, TCP_WINDOW_CLAMP, 0) >> 32);
	note(r, "conn WINDOW_CLAMP 7000", set_get(c, SOL_TCP, TCP_WINDOW_CLAMP, 7000));
	note(r, "conn QUICKACK 0", set_get(c, SOL_TCP, TCP_QUICKACK, 0));
	note(r, "conn QUICKACK 1", set_get(c, SOL_TCP, TCP_QUICKACK, 1));
	note(r, "conn LINGER2 3", set_get(c, SOL_TCP, TCP_LINGER2, 3));
	note(r, "conn NOTSENT_LOWAT 1", set_get(c, SOL_TCP, TCP_NOTSENT_LOWAT, 1));
	close(c);
	close(a);
	return 0;
}

/* Every value set and read back, every errno, as AF_INET gives them. */
TEST(options_like_inet)
{
	struct results r[2] = { 0 };

	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		ASSERT_EQ(0, options_of(families[f], &r[f])) TH_LOG("%s", FAMILY_NAME(families[f]));
	}
	ASSERT_EQ(r[0].n, r[1].n);
	for (int i = 0; i < r[0].n; i++) {
		EXPECT_EQ(r[0].v[i], r[1].v[i])
			TH_LOG("%s (case %d): AF_INET errno %lld value %d, AF_RTCP errno %lld value %d", r[0].what[i], i,
			       r[0].v[i] >> 32, (int)r[0].v[i], r[1].v[i] >> 32, (int)r[1].v[i]);
	}
}

/* Waits up to 10 s for `fd` to be readable; its poll mask. */
static int wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 10000) == 1 ? p.revents : 0;
}

/* MSG_MORE: the short tail of a send is not sent with it (even with
 * TCP_NODELAY), and goes with the next send; alone, the probe timer sends
 * it after about an RTO (TCP_CORK's ceiling). */
TEST(msg_more_holds_a_short_tail_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		const char *fam = FAMILY_NAME(families[f]);
		int c, a, one = 1, nsd = -1;
		char buf[16] = { 0 };
		ssize_t got = 0, n;

		ASSERT_EQ(0, loopback_pair(families[f], families[f], &c, &a));
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
		ASSERT_EQ(3, send(c, "abc", 3, MSG_MORE));
		ASSERT_EQ(0, ioctl(c, SIOCOUTQNSD, &nsd));
		EXPECT_EQ(3, nsd) TH_LOG("%s: the tail left with the send", fam);
		ASSERT_EQ(2, send(c, "de", 2, 0));
		while (got < 5 && wait_in(a) && (n = recv(a, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
			got += n;
		EXPECT_EQ(5, got) TH_LOG("%s", fam);
		EXPECT_STREQ("abcde", buf);
		/* Alone, it leaves on the probe timer. */
		ASSERT_EQ(3, send(c, "fgh", 3, MSG_MORE));
		ASSERT_EQ(0, ioctl(c, SIOCOUTQNSD, &nsd));
		EXPECT_EQ(3, nsd) TH_LOG("%s: the tail left with the send", fam);
		got = 0;
		while (got < 3 && wait_in(a) && (n = recv(a, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
			got += n;
		EXPECT_EQ(3, got) TH_LOG("%s: the held tail never left", fam);
		close(c);
		close(a);
	}
}

/* MSG_TRUNC on TCP: the bytes are discarded (never copied: the buffer may
 * be NULL) and counted; with MSG_PEEK they stay. */
TEST(msg_trunc_discards_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		char out[1000], in[1000];
		int c, a;
		ssize_t got = 0;

		for (int i = 0; i < 1000; i++)
			out[i] = (char)pattern(i, 3);
		ASSERT_EQ(0, loopback_pair(families[f], families[f], &c, &a));
		ASSERT_EQ(1000, send(c, out, sizeof(out), 0));
		/* All 1000 bytes readable before the first recv. */
		for (int tries = 0; tries < 100; tries++) {
			int q = 0;

			ASSERT_EQ(0, ioctl(a, SIOCINQ, &q));
			if (q == 1000)
				break;
			usleep(20000);
		}
		EXPECT_EQ(600, recv(a, NULL, 600, MSG_TRUNC | MSG_PEEK)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(600, recv(a, NULL, 600, MSG_TRUNC)) TH_LOG("%s: %s", FAMILY_NAME(families[f]), strerror(errno));
		got = recv(a, in, sizeof(in), MSG_DONTWAIT);
		EXPECT_EQ(400, got);
		EXPECT_EQ(0, memcmp(in, out + 600, 400));
		close(c);
		close(a);
	}
}

static int pollout(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* TCP_NOTSENT_LOWAT: poll says writable only while twice the bytes not
 * yet sent are below the mark (tcp_stream_memory_free with wake). */
TEST(notsent_lowat_poll_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		static char buf[600];
		int c, a, one = 1, zero = 0, lowat = 1000, more = 2000, nsd = -1;
		const char *fam = FAMILY_NAME(families[f]);

		ASSERT_EQ(0, loopback_pair(families[f], families[f], &c, &a));
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_CORK, &one, sizeof(one)));
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)));
		EXPECT_TRUE(pollout(c)) TH_LOG("%s: nothing unsent", fam);
		ASSERT_EQ(400, send(c, buf, 400, 0));
		EXPECT_TRUE(pollout(c)) TH_LOG("%s: 400 unsent", fam);
		ASSERT_EQ(200, send(c, buf, 200, 0));
		ASSERT_EQ(0, ioctl(c, SIOCOUTQNSD, &nsd));
		EXPECT_EQ(600, nsd) TH_LOG("%s", fam);
		EXPECT_FALSE(pollout(c)) TH_LOG("%s: 600 unsent, mark 1000", fam);
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_NOTSENT_LOWAT, &more, sizeof(more)));
		EXPECT_TRUE(pollout(c)) TH_LOG("%s: mark 2000", fam);
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)));
		EXPECT_FALSE(pollout(c)) TH_LOG("%s: mark 1000 again", fam);
		/* Uncorked, it leaves: writable. */
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_CORK, &zero, sizeof(zero)));
		for (int tries = 0; tries < 100 && !pollout(c); tries++)
			usleep(20000);
		EXPECT_TRUE(pollout(c)) TH_LOG("%s: sent", fam);
		close(c);
		close(a);
	}
}

static unsigned int snd_wnd(int fd)
{
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);

	return getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) ? 0 : ti.tcpi_snd_wnd;
}

/* TCP_WINDOW_CLAMP before connect(): the handshake offers no more, and
 * the option reads back. (Linux lets the clamp go once the receive buffer
 * grows or its first full segment changes its scaling ratio, so a bulk
 * transfer is only checked to finish: a clamp far below loopback's MSS
 * once stalled RTCP's window updates.) Set on a connection, it reads
 * back. */
TEST(window_clamp_bounds_the_window_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		static char buf[65536];
		struct sockaddr_in addr;
		int l, c, a, clamp = 5000, later = 3000;
		const char *fam = FAMILY_NAME(families[f]);
		ssize_t sent = 0, got = 0, n;

		l = listener_on(families[f], "127.0.0.1", 4, &addr);
		ASSERT_LE(0, l);
		c = socket(families[f], SOCK_STREAM, 0);
		ASSERT_LE(0, c);
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_WINDOW_CLAMP, &clamp, sizeof(clamp)));
		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		close(l);
		EXPECT_EQ(5000, get_int(c, SOL_TCP, TCP_WINDOW_CLAMP)) TH_LOG("%s", fam);
		EXPECT_GE(5000U, snd_wnd(a)) TH_LOG("%s: the window of the handshake", fam);
		EXPECT_LT(0U, snd_wnd(a));
		/* 1 MiB through it, the reader reading as it comes. */
		while (sent < (1 << 20) && (n = send(a, buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
			if (n > 0)
				sent += n;
			while ((n = recv(c, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				got += n;
			if (n < 0 && errno != EAGAIN)
				break;
			usleep(1000);
		}
		shutdown(a, SHUT_WR);
		while (wait_in(c) && (n = recv(c, buf, sizeof(buf), 0)) > 0)
			got += n;
		EXPECT_EQ(sent, got) TH_LOG("%s: the transfer stalled", fam);
		ASSERT_EQ(0, setsockopt(a, SOL_TCP, TCP_WINDOW_CLAMP, &later, sizeof(later)));
		EXPECT_EQ(3000, get_int(a, SOL_TCP, TCP_WINDOW_CLAMP)) TH_LOG("%s", fam);
		close(c);
		close(a);
	}
}

/* TCP_LINGER2 of 5 s: an orphan in FIN-WAIT-2 is gone after about that
 * (the default would keep it 60 s). The state is looked for within those
 * 5 s, which a busy guest's polling loop still catches; its end is bound
 * by 30 s, half the default. */
TEST(linger2_ends_an_orphans_fin_wait_2_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		int c, a, five = 5, n = -1;
		const char *fam = FAMILY_NAME(families[f]);

		ASSERT_EQ(0, loopback_pair(families[f], families[f], &c, &a));
		ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_LINGER2, &five, sizeof(five)));
		close(c);
		/* FIN-WAIT-2 (05) once the peer acknowledged the FIN. */
		for (int tries = 0; tries < 250 && (n = proc_count(families[f], "05")) != 1; tries++)
			usleep(10000);
		EXPECT_EQ(1, n) TH_LOG("%s: in FIN-WAIT-2", fam);
		for (int tries = 0; tries < 300 && (n = proc_count(families[f], "05")) != 0; tries++)
			usleep(100000);
		EXPECT_EQ(0, n) TH_LOG("%s: FIN-WAIT-2 lasts past 30 s", fam);
		close(a);
	}
}

/* TCP_DEFER_ACCEPT: a connection whose final ACK carries no data is not
 * accepted until data comes or the deferral ends (7 s: three SYN-ACK
 * timeouts of 1, 2 and 4 s, silent but the last, whose ACK makes the
 * connection); one that sends data at once is accepted with its data
 * there to read, long before a deferral of 30 s ends. */
TEST(defer_accept_like_inet)
{
	ASSERT_EQ(0, private_netns());
	for (int f = 0; f < 2; f++) {
		const char *fam = FAMILY_NAME(families[f]);
		struct sockaddr_in addr;
		struct pollfd p;
		int l, c, a, seven = 7, thirty = 30;
		double t0, took;
		char buf[8];

		l = listener_on(families[f], "127.0.0.1", 4, &addr);
		ASSERT_LE(0, l);
		ASSERT_EQ(0, setsockopt(l, SOL_TCP, TCP_DEFER_ACCEPT, &seven, sizeof(seven)));
		/* accept() must not wait: the listener is non-blocking. */
		ASSERT_EQ(0, fcntl(l, F_SETFL, O_NONBLOCK));
		c = socket(families[f], SOCK_STREAM, 0);
		ASSERT_LE(0, c);
		t0 = mono_s();
		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
		usleep(300000);
		a = accept(l, NULL, NULL);
		EXPECT_EQ(-1, a) TH_LOG("%s: accepted without data after %.2f s", fam, mono_s() - t0);
		EXPECT_EQ(EAGAIN, errno);
		if (a < 0) {
			p = (struct pollfd){ .fd = l, .events = POLLIN };
			EXPECT_EQ(1, poll(&p, 1, 40000)) TH_LOG("%s: never accepted", fam);
			took = mono_s() - t0;
			a = accept(l, NULL, NULL);
			EXPECT_LE(0, a);
			EXPECT_LE(3.0, took) TH_LOG("%s: accepted after %.2f s", fam, took);
		}
		if (a >= 0)
			close(a);
		close(c);

		ASSERT_EQ(0, setsockopt(l, SOL_TCP, TCP_DEFER_ACCEPT, &thirty, sizeof(thirty)));
		c = socket(families[f], SOCK_STREAM, 0);
		ASSERT_LE(0, c);
		t0 = mono_s();
		ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
		ASSERT_EQ(4, send(c, "data", 4, 0));
		p = (struct pollfd){ .fd = l, .events = POLLIN };
		EXPECT_EQ(1, poll(&p, 1, 20000)) TH_LOG("%s: data did not end the deferral", fam);
		a = accept(l, NULL, NULL);
		EXPECT_LE(0, a);
		if (a >= 0) {
			EXPECT_EQ(4, recv(a, buf, sizeof(buf), MSG_DONTWAIT)) TH_LOG("%s: the data is not there", fam);
			close(a);
		}
		EXPECT_GE(20.0, mono_s() - t0);
		close(c);
		close(l);
	}
}

TEST_HARNESS_MAIN
