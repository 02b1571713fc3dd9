// SPDX-License-Identifier: GPL-2.0
/*
 * TIME-WAIT on AF_RTCP, with AF_INET as the reference, over loopback in a
 * network namespace of its own: the side that closes first waits there
 * for its timeout and then is gone; a server restarts on its port with
 * SO_REUSEADDR while its old connections wait; a client takes its old
 * four-tuple back from TIME-WAIT.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "rtcp_util.h"

/* /proc/net/tcp's state of TIME-WAIT. */
#define TIME_WAIT "06"

/* A connection of `family` to a listener of it on `addr`: the client
 * (bound with SO_REUSEADDR to `cport` unless it is -1; 0: an ephemeral
 * port) and the server's end, in *c and *a. */
static int connect_pair(int family, int l, const struct sockaddr_in *addr, int cport, int *c, int *a)
{
	*c = socket(family, SOCK_STREAM, 0);
	if (*c < 0)
		return -1;
	if (cport >= 0) {
		struct sockaddr_in me = sin_of("127.0.0.1", cport);

		if (setsockopt(*c, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) ||
		    bind(*c, (void *)&me, sizeof(me)))
			return -1;
	}
	if (connect(*c, (const void *)addr, sizeof(*addr)))
		return -1;
	*a = accept(l, NULL, NULL);
	return *a < 0 ? -1 : 0;
}

/* `first` closes, then `second` reads the end of the stream and closes:
 * `first`'s side goes to TIME-WAIT. */
static int close_in_order(int first, int second)
{
	char b;

	if (close(first) || recv(second, &b, 1, 0) != 0)
		return -1;
	return close(second);
}

/* Waits up to `secs` for `n` connections of `family` in TIME-WAIT. */
static int wait_time_wait(int family, int n, double secs)
{
	double end = mono_s() + secs;

	while (proc_count(family, TIME_WAIT) != n) {
		if (mono_s() > end)
			return -1;
		usleep(20000);
	}
	return 0;
}

FIXTURE(tw)
{
};

FIXTURE_VARIANT(tw)
{
	int family;
};

FIXTURE_VARIANT_ADD(tw, inet) { .family = AF_INET };
FIXTURE_VARIANT_ADD(tw, rtcp) { .family = AF_RTCP };

FIXTURE_SETUP(tw)
{
	ASSERT_EQ(0, private_netns());
}

FIXTURE_TEARDOWN(tw)
{
}

/* The side that closed first is in TIME-WAIT, and is gone after Linux's
 * TIME-WAIT length (60 s), not before. */
TEST_F_TIMEOUT(tw, lifetime, 120)
{
	struct sockaddr_in addr;
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;
	double start, gone;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(c, a));
	start = mono_s();
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	ASSERT_EQ(0, wait_time_wait(variant->family, 0, 90));
	gone = mono_s() - start;
	EXPECT_LE(55, gone) TH_LOG("TIME-WAIT ended after %.1f s", gone);
	EXPECT_GE(70, gone) TH_LOG("TIME-WAIT ended after %.1f s", gone);
	close(l);
}

/* A server that closed its connections first (they wait in TIME-WAIT)
 * restarts on the same port with SO_REUSEADDR and serves again. */
TEST_F(tw, server_restarts_with_reuseaddr)
{
	struct sockaddr_in addr;
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), l2, c, a;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)));
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(a, c));
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	close(l);
	l2 = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_EQ(0, setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)));
	ASSERT_EQ(0, bind(l2, (void *)&addr, sizeof(addr))) TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, listen(l2, 4));
	ASSERT_EQ(0, connect_pair(variant->family, l2, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(c, a));
	close(l2);
}

/* Without SO_REUSEADDR, the port is still in use while a connection of
 * it waits in TIME-WAIT (EADDRINUSE). */
TEST_F(tw, port_held_through_time_wait)
{
	struct sockaddr_in addr;
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), l2, c, a;

	ASSERT_LE(0, l);
	if (variant->family == AF_RTCP)
		/* The reason KTAP gives with the expected failure (as SKIP() sets it). */
		snprintf(_metadata->results->reason, sizeof(_metadata->results->reason),
			 "RTCP gives a connection's port back at close()");
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(a, c));
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	close(l);
	l2 = socket(variant->family, SOCK_STREAM, 0);
	EXPECT_EQ(-1, bind(l2, (void *)&addr, sizeof(addr)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(l2);
}

/* RTCP gives a connection's port back at close(): the port is free while
 * the connection waits in TIME-WAIT, where Linux's TCP keeps it in use
 * (holding it needs a port reservation that outlives the socket and is
 * released from process context when TIME-WAIT ends). */
XFAIL_ADD(tw, rtcp, port_held_through_time_wait);

/* A client (SO_REUSEADDR) that closed first takes its four-tuple back
 * from TIME-WAIT with a new connection from the same port (loopback: as
 * tcp_tw_reuse's default allows). */
TEST_F(tw, client_reuses_its_tuple)
{
	struct sockaddr_in addr, me;
	socklen_t len = sizeof(me);
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, 0, &c, &a));
	ASSERT_EQ(0, getsockname(c, (void *)&me, &len));
	ASSERT_EQ(0, close_in_order(c, a));
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, ntohs(me.sin_port), &c, &a))
		TH_LOG("again from port %d: %s", ntohs(me.sin_port), strerror(errno));
	/* The old connection is gone, the new one established. */
	EXPECT_EQ(0, proc_count(variant->family, TIME_WAIT));
	ASSERT_EQ(1, send(c, "x", 1, 0));
	ASSERT_EQ(1, recv(a, &(char){ 0 }, 1, 0));
	ASSERT_EQ(0, close_in_order(c, a));
	close(l);
}

TEST_HARNESS_MAIN
