// SPDX-License-Identifier: GPL-2.0
/*
 * AF_RTCP socket creation: flags, types, protocols and their errnos (the
 * same as AF_INET gives for SOCK_STREAM), the calls not implemented yet,
 * poll on a new socket, creation from many threads at once and in a new
 * network namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <linux/rtcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define RTCP_IPPROTO_MAX 263

/* socket() as a result: the fd closed again, or -errno. */
static int try_socket(int family, int type, int protocol)
{
	int fd = socket(family, type, protocol);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

FIXTURE(create)
{
	int fd;
};

FIXTURE_VARIANT(create)
{
	int flags;
	int protocol;
};

FIXTURE_VARIANT_ADD(create, plain) { .flags = 0, .protocol = 0 };
FIXTURE_VARIANT_ADD(create, tcp) { .flags = 0, .protocol = IPPROTO_TCP };
FIXTURE_VARIANT_ADD(create, nonblock) { .flags = SOCK_NONBLOCK, .protocol = 0 };
FIXTURE_VARIANT_ADD(create, cloexec) { .flags = SOCK_CLOEXEC, .protocol = 0 };
FIXTURE_VARIANT_ADD(create, nonblock_cloexec) {
	.flags = SOCK_NONBLOCK | SOCK_CLOEXEC, .protocol = IPPROTO_TCP
};

FIXTURE_SETUP(create)
{
	self->fd = socket(AF_RTCP, SOCK_STREAM | variant->flags, variant->protocol);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(create)
{
	EXPECT_EQ(0, close(self->fd));
}

TEST_F(create, flags_and_identity)
{
	int val;
	socklen_t len = sizeof(val);

	EXPECT_EQ(!!(variant->flags & SOCK_NONBLOCK),
		  !!(fcntl(self->fd, F_GETFL) & O_NONBLOCK));
	EXPECT_EQ(!!(variant->flags & SOCK_CLOEXEC),
		  !!(fcntl(self->fd, F_GETFD) & FD_CLOEXEC));

	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_DOMAIN, &val, &len));
	EXPECT_EQ(AF_RTCP, val);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_TYPE, &val, &len));
	EXPECT_EQ(SOCK_STREAM, val);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_PROTOCOL, &val, &len));
	EXPECT_EQ(IPPROTO_TCP, val);
}

/* A new socket polls as a new AF_INET TCP socket does. */
TEST_F(create, poll_like_inet)
{
	int inet = socket(AF_INET, SOCK_STREAM, 0);
	struct pollfd p[2] = {
		{ .fd = self->fd, .events = POLLIN | POLLOUT | POLLRDHUP },
		{ .fd = inet, .events = POLLIN | POLLOUT | POLLRDHUP },
	};

	ASSERT_LE(0, inet);
	ASSERT_EQ(2, poll(p, 2, 0));
	EXPECT_EQ(p[1].revents, p[0].revents);
	EXPECT_NE(0, p[0].revents & POLLHUP);
	close(inet);
}

/*
 * Data calls on a socket never connected answer as TCP's do: send EPIPE
 * (MSG_NOSIGNAL: no SIGPIPE), recv ENOTCONN, MSG_OOB on recv EINVAL.
 */
TEST_F(create, data_calls_unconnected_like_inet)
{
	int inet = socket(AF_INET, SOCK_STREAM, 0);
	int fds[2] = { self->fd, inet };
	char c = 0;

	ASSERT_LE(0, inet);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(-1, send(fds[i], &c, 1, MSG_NOSIGNAL));
		EXPECT_EQ(EPIPE, errno) TH_LOG("fd %d", i);
		EXPECT_EQ(-1, recv(fds[i], &c, 1, MSG_DONTWAIT));
		EXPECT_EQ(ENOTCONN, errno) TH_LOG("fd %d", i);
	}
	close(inet);
}

/*
 * Every type other than SOCK_STREAM: ESOCKTNOSUPPORT whatever the protocol,
 * or EINVAL from the socket layer past SOCK_MAX.
 */
TEST(wrong_types)
{
	static const struct { int type; int err; } cases[] = {
		{ SOCK_DGRAM, ESOCKTNOSUPPORT },
		{ SOCK_RAW, ESOCKTNOSUPPORT },
		{ SOCK_RDM, ESOCKTNOSUPPORT },
		{ SOCK_SEQPACKET, ESOCKTNOSUPPORT },
		{ SOCK_DCCP, ESOCKTNOSUPPORT },
		{ SOCK_PACKET, ESOCKTNOSUPPORT },
		{ 0, ESOCKTNOSUPPORT },
		{ 11, EINVAL },
		{ 1000, EINVAL },
	};
	static const int protocols[] = { 0, IPPROTO_TCP, IPPROTO_UDP };

	/* Braces: EXPECT_*() with TH_LOG() is more than one statement. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < sizeof(protocols) / sizeof(protocols[0]); j++) {
			EXPECT_EQ(-cases[i].err,
				  try_socket(AF_RTCP, cases[i].type, protocols[j]))
				TH_LOG("type %d protocol %d", cases[i].type, protocols[j]);
		}
	}
}

/*
 * Every protocol with SOCK_STREAM: exactly what AF_INET answers for the
 * protocols it does not have built in (this kernel has no MPTCP or SCTP),
 * and success for 0 and IPPROTO_TCP.
 */
TEST(protocols_like_inet)
{
	/* Every protocol but RTCPPROTO_TCP6 (1, IPPROTO_ICMP to AF_INET),
	 * which asks AF_RTCP for an IPv6 socket, as AF_SMC's SMCPROTO_SMC6. */
	static const int protocols[] = {
		-1000, -1, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP,
		255, IPPROTO_MPTCP, RTCP_IPPROTO_MAX, 1000,
	};
	static const struct { int protocol; int err; } expect[] = {
		{ -1, EINVAL }, { 0, 0 }, { IPPROTO_TCP, 0 }, { RTCPPROTO_TCP6, 0 },
		{ IPPROTO_UDP, EPROTONOSUPPORT }, { 255, EPROTONOSUPPORT }, { RTCP_IPPROTO_MAX, EINVAL },
	};

	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		EXPECT_EQ(try_socket(AF_INET, SOCK_STREAM, protocols[i]),
			  try_socket(AF_RTCP, SOCK_STREAM, protocols[i]))
			TH_LOG("protocol %d", protocols[i]);
	}
	/* And not merely the same: the errnos Linux documents. */
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		EXPECT_EQ(-expect[i].err, try_socket(AF_RTCP, SOCK_STREAM, expect[i].protocol))
			TH_LOG("protocol %d", expect[i].protocol);
	}
}

#define THREADS 4
#define PER_THREAD 1000

static atomic_int create_failures;

static void *create_close_loop(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++) {
		int fd = socket(AF_RTCP, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || close(fd))
			atomic_fetch_add(&create_failures, 1);
	}
	return arg;
}

/* Thousands of create/close from several threads at once. */
TEST(create_close_threads)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, create_close_loop, NULL));
	for (int i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	EXPECT_EQ(0, atomic_load(&create_failures));
}

/* Many sockets open at once, closed in another order than opened. */
TEST(many_open)
{
	enum { N = 512 };
	int fds[N];

	for (int i = 0; i < N; i++) {
		fds[i] = socket(AF_RTCP, SOCK_STREAM, 0);
		ASSERT_LE(0, fds[i]) TH_LOG("socket %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < N; i += 2)
		EXPECT_EQ(0, close(fds[i]));
	for (int i = 1; i < N; i += 2)
		EXPECT_EQ(0, close(fds[i]));
}

/* A socket in a new network namespace, and one that outlives it. */
TEST(new_netns)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd, kept;

		if (unshare(CLONE_NEWNET))
			_exit(1);
		fd = socket(AF_RTCP, SOCK_STREAM, 0);
		kept = socket(AF_RTCP, SOCK_STREAM, 0);
		if (fd < 0 || kept < 0 || close(fd))
			_exit(2);
		/* `kept` holds the namespace until the process exits. */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
