// SPDX-License-Identifier: GPL-2.0
/*
 * TIME-WAIT on AF_RTCP, with AF_INET as the reference, over loopback in a
 * network namespace of its own: the side that closes first waits there
 * for its timeout and then is gone; its port stays in use meanwhile
 * (bind() without SO_REUSEADDR gets EADDRINUSE), as does a listener's
 * port while a connection it accepted lives; a server restarts on its
 * port with SO_REUSEADDR while its old connections wait; a client takes
 * its old four-tuple back from TIME-WAIT.
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

/* Binds a new socket of `family` without SO_REUSEADDR to `addr`: 0, or
 * the errno. */
static int bind_error(int family, const struct sockaddr_in *addr)
{
	int s = socket(family, SOCK_STREAM, 0), err;

	if (s < 0)
		return errno;
	err = bind(s, (const void *)addr, sizeof(*addr)) ? errno : 0;
	close(s);
	return err;
}

/* Binds as bind_error() does, trying for up to a second while the port
 * is in use: a connection's end and its port's going back are not one
 * step for a reader (Linux's TCP unhashes a TIME-WAIT sock from its
 * connection table, then from its port; RTCP gives a port back from a
 * workqueue when the last connection holding it ends in softirq). */
static int bind_soon(int family, const struct sockaddr_in *addr)
{
	double end = mono_s() + 1;
	int err;

	while ((err = bind_error(family, addr)) == EADDRINUSE && mono_s() < end)
		usleep(10000);
	return err;
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

/* The side that closed first (here the server's) is in TIME-WAIT, and is
 * gone after Linux's TIME-WAIT length (60 s), not before; then its port
 * is free again, though its listener is long closed. */
TEST_F_TIMEOUT(tw, lifetime, 120)
{
	struct sockaddr_in addr;
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;
	double start, gone;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(a, c));
	start = mono_s();
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	close(l);
	EXPECT_EQ(EADDRINUSE, bind_error(variant->family, &addr));
	ASSERT_EQ(0, wait_time_wait(variant->family, 0, 90));
	gone = mono_s() - start;
	EXPECT_LE(55, gone) TH_LOG("TIME-WAIT ended after %.1f s", gone);
	EXPECT_GE(70, gone) TH_LOG("TIME-WAIT ended after %.1f s", gone);
	EXPECT_EQ(0, bind_soon(variant->family, &addr));
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
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	ASSERT_EQ(0, close_in_order(a, c));
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	close(l);
	EXPECT_EQ(EADDRINUSE, bind_error(variant->family, &addr));
}

/* A connection accepted from a listener holds the listener's port after
 * the listener closes, and gives it back at its end. */
TEST_F(tw, accepted_connection_holds_port)
{
	struct sockaddr_in addr;
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, -1, &c, &a));
	close(l);
	EXPECT_EQ(EADDRINUSE, bind_error(variant->family, &addr));
	/* The client closes first: the server's end goes through LAST-ACK
	 * and is over when the client's ACK comes, in softirq. */
	ASSERT_EQ(0, close_in_order(c, a));
	EXPECT_EQ(0, bind_soon(variant->family, &addr));
}

/* A client whose port bind() chose keeps it through TIME-WAIT after
 * close(); another socket cannot bind it without SO_REUSEADDR. */
TEST_F(tw, bound_client_port_held_through_time_wait)
{
	struct sockaddr_in addr, me = sin_of("127.0.0.1", 40000);
	int l = listener_on(variant->family, "127.0.0.1", 4, &addr), c, a;

	ASSERT_LE(0, l);
	ASSERT_EQ(0, connect_pair(variant->family, l, &addr, ntohs(me.sin_port), &c, &a));
	ASSERT_EQ(0, close_in_order(c, a));
	ASSERT_EQ(0, wait_time_wait(variant->family, 1, 5));
	EXPECT_EQ(EADDRINUSE, bind_error(variant->family, &me));
	close(l);
}

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
