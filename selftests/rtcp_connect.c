// SPDX-License-Identifier: GPL-2.0
/*
 * connect() on AF_RTCP, with Linux's TCP as the peer on loopback, and the
 * same call sequences on AF_INET as the reference for every errno:
 * success, refusal, no route, blocking and non-blocking, poll and
 * SO_ERROR, EISCONN/EALREADY, SO_SNDTIMEO, signals, AF_UNSPEC, ICMP
 * errors, and the end of the stream on close. Each test runs in a network
 * namespace of its own: lo, a dummy device whose far side never answers,
 * and a veth pair on which nobody answers ARP (the kernel then reports the
 * host unreachable with an ICMP error to the sender).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

/* 10.99.0.2 is routed into a dummy device: SYNs go nowhere. */
#define SILENT "10.99.0.2"
/* 10.98.0.0/24 is on a veth whose other end answers no ARP. */
#define NO_ARP(host) "10.98.0." #host

FIXTURE(conn)
{
	int listener;
	struct sockaddr_in server;
};

FIXTURE_SETUP(conn)
{
	socklen_t len = sizeof(self->server);

	ASSERT_EQ(0, private_netns());
	ASSERT_EQ(0, ip_batch("link add d0 type dummy\nlink set d0 up\n"
			      "addr add 10.99.0.1/24 dev d0\n"
			      "neigh add " SILENT " lladdr 02:00:00:00:00:02 dev d0\n"
			      "link add v0 type veth peer name v1\nlink set v0 up\nlink set v1 up\n"
			      "addr add " NO_ARP(1) "/24 dev v0\n"));
	self->server = sin_of("127.0.0.1", 0);
	self->listener = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, self->listener);
	ASSERT_EQ(0, bind(self->listener, (void *)&self->server, sizeof(self->server)));
	ASSERT_EQ(0, listen(self->listener, 16));
	ASSERT_EQ(0, getsockname(self->listener, (void *)&self->server, &len));
}

FIXTURE_TEARDOWN(conn)
{
	close(self->listener);
}

/* RTCP client, Linux TCP server: both ends agree on the connection. */
TEST_F(conn, to_linux_listener)
{
	struct sockaddr_in local, peer, acc_peer, acc_local;
	socklen_t len = sizeof(local);
	int fd = socket(AF_RTCP, SOCK_STREAM, 0), acc;

	ASSERT_EQ(0, connect_res(fd, &self->server));
	acc = accept(self->listener, (void *)&acc_peer, &len);
	ASSERT_LE(0, acc);

	len = sizeof(local);
	ASSERT_EQ(0, getsockname(fd, (void *)&local, &len));
	len = sizeof(peer);
	ASSERT_EQ(0, getpeername(fd, (void *)&peer, &len));
	len = sizeof(acc_local);
	ASSERT_EQ(0, getsockname(acc, (void *)&acc_local, &len));
	EXPECT_EQ(local.sin_addr.s_addr, acc_peer.sin_addr.s_addr);
	EXPECT_EQ(local.sin_port, acc_peer.sin_port);
	EXPECT_EQ(peer.sin_addr.s_addr, acc_local.sin_addr.s_addr);
	EXPECT_EQ(peer.sin_port, acc_local.sin_port);
	EXPECT_NE(0, local.sin_port);
	EXPECT_EQ(0, so_error(fd));

	/* close() sends a FIN: the server reads the end of the stream. */
	close(fd);
	{
		char c;
		struct pollfd p = { .fd = acc, .events = POLLIN | POLLRDHUP };

		ASSERT_EQ(1, poll(&p, 1, 5000));
		EXPECT_NE(0, p.revents & POLLRDHUP);
		EXPECT_EQ(0, recv(acc, &c, 1, 0));
	}
	close(acc);
}

/* Many connections one after the other, each accepted and closed. */
TEST_F(conn, sequential)
{
	for (int i = 0; i < 50; i++) {
		int fd = socket(AF_RTCP, SOCK_STREAM, 0), acc;

		ASSERT_EQ(0, connect_res(fd, &self->server)) TH_LOG("connection %d", i);
		acc = accept(self->listener, NULL, NULL);
		ASSERT_LE(0, acc);
		close(fd);
		close(acc);
	}
}

/* The errnos of connect() for each situation, AF_INET as the reference. */
TEST_F(conn, errors_like_inet)
{
	struct sockaddr_in closed = sin_of("127.0.0.1", 9), unroutable = sin_of("203.0.113.9", 80);
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	struct sockaddr_in bcast = sin_of("255.255.255.255", 80);
	int res[2][6];

	for (int f = 0; f < 2; f++) {
		int fd;

		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][0] = connect_res(fd, &closed);
		close(fd);
		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][1] = connect_res(fd, &unroutable);
		close(fd);
		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][2] = connect(fd, (void *)&self->server, 15) ? -errno : 0;
		close(fd);
		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][3] = connect(fd, (void *)&six, sizeof(six)) ? -errno : 0;
		close(fd);
		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][4] = connect(fd, (void *)&self->server, 1) ? -errno : 0;
		close(fd);
		fd = socket(families[f], SOCK_STREAM, 0);
		res[f][5] = connect_res(fd, &bcast);
		close(fd);
	}
	EXPECT_EQ(-ECONNREFUSED, res[1][0]);
	EXPECT_EQ(-ENETUNREACH, res[1][1]);
	EXPECT_EQ(-EINVAL, res[1][2]);
	EXPECT_EQ(-EAFNOSUPPORT, res[1][3]);
	EXPECT_EQ(-EINVAL, res[1][4]);
	EXPECT_EQ(-ENETUNREACH, res[1][5]);
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ(res[0][i], res[1][i]) TH_LOG("case %d: AF_INET %d, AF_RTCP %d", i, res[0][i], res[1][i]);
	}
}

/* Non-blocking: EINPROGRESS, POLLOUT, SO_ERROR 0, then 0, then EISCONN. */
TEST_F(conn, nonblocking_success_like_inet)
{
	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int acc;

		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &self->server)) TH_LOG("%s", FAMILY_NAME(families[f]));
		ASSERT_EQ(1, poll(&p, 1, 5000));
		EXPECT_EQ(POLLOUT, p.revents & (POLLOUT | POLLERR | POLLHUP)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, so_error(fd));
		EXPECT_EQ(0, connect_res(fd, &self->server)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-EISCONN, connect_res(fd, &self->server)) TH_LOG("%s", FAMILY_NAME(families[f]));
		acc = accept(self->listener, NULL, NULL);
		EXPECT_LE(0, acc);
		close(acc);
		close(fd);
	}
}

/* Non-blocking to a closed port: POLLERR and SO_ERROR ECONNREFUSED. */
TEST_F(conn, nonblocking_refused_like_inet)
{
	struct sockaddr_in closed = sin_of("127.0.0.1", 9);

	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &closed));
		ASSERT_EQ(1, poll(&p, 1, 5000));
		EXPECT_NE(0, p.revents & POLLERR) TH_LOG("%s revents %x", FAMILY_NAME(families[f]), p.revents);
		EXPECT_EQ(ECONNREFUSED, so_error(fd)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, so_error(fd));
		close(fd);
	}
}

/* A peer that never answers: EALREADY, SO_SNDTIMEO, AF_UNSPEC. */
TEST_F(conn, silent_peer_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	for (int f = 0; f < 2; f++) {
		struct timeval tv = { .tv_usec = 200000 };
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &silent));
		EXPECT_EQ(-EALREADY, connect_res(fd, &silent)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, poll(&p, 1, 100));
		EXPECT_EQ(0, connect(fd, &unspec, sizeof(unspec))) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(ECONNRESET, so_error(fd)) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);

		/* Blocking with a send timeout: EINPROGRESS when it runs out. */
		fd = socket(families[f], SOCK_STREAM, 0);
		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &silent)) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);
	}
}

/* send() on a connect still in progress: EAGAIN at once without waiting,
 * and EAGAIN when SO_SNDTIMEO runs out before the handshake ends. */
TEST_F(conn, send_while_connecting_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);

	for (int f = 0; f < 2; f++) {
		struct timeval tv = { .tv_usec = 200000 };
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);

		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &silent));
		EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
		EXPECT_EQ(EAGAIN, errno) TH_LOG("%s non-blocking", FAMILY_NAME(families[f]));
		ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
		EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
		EXPECT_EQ(EAGAIN, errno) TH_LOG("%s SO_SNDTIMEO", FAMILY_NAME(families[f]));
		close(fd);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal interrupts a blocking connect: EINTR without SA_RESTART. */
TEST_F(conn, interrupted_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);
	struct sigaction sa = { .sa_handler = on_alarm };

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	for (int f = 0; f < 2; f++) {
		struct itimerval it = { .it_value.tv_usec = 200000 };
		int fd = socket(families[f], SOCK_STREAM, 0);

		ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
		EXPECT_EQ(-EINTR, connect_res(fd, &silent)) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);
	}
}

/* shutdown() in the states the handshake has, as AF_INET answers it. */
TEST_F(conn, shutdown_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);

	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM, 0), l, c;
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		/* Not connected: ENOTCONN; a bad `how`: EINVAL. */
		EXPECT_EQ(-1, shutdown(fd, SHUT_RDWR));
		EXPECT_EQ(ENOTCONN, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, shutdown(fd, 3));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, shutdown(fd, -1));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);

		/* A listener keeps listening after SHUT_WR, stops after SHUT_RD. */
		l = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		ASSERT_EQ(0, listen(l, 4));
		EXPECT_EQ(0, shutdown(l, SHUT_WR)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, accept(l, NULL, NULL));
		EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, shutdown(l, SHUT_RD)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, accept(l, NULL, NULL));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(l);

		/* A connect in progress is abandoned, with ECONNRESET left in
		 * SO_ERROR (tcp_disconnect).
		 */
		c = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		EXPECT_EQ(-EINPROGRESS, connect_res(c, &silent));
		EXPECT_EQ(0, shutdown(c, SHUT_RDWR)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(ECONNRESET, so_error(c)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, getpeername(c, (void *)&peer, &len));
		EXPECT_EQ(ENOTCONN, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(c);
	}
}

/* net.rtcp.syn_retries: as net.ipv4.tcp_syn_retries, per namespace. */
TEST_F(conn, syn_retries_sysctl_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);
	static const char *const paths[] = {
		"/proc/sys/net/ipv4/tcp_syn_retries", "/proc/sys/net/rtcp/syn_retries",
	};

	for (int f = 0; f < 2; f++) {
		char buf[16] = "";
		int fd = open(paths[f], O_RDONLY);

		ASSERT_LE(0, fd);
		ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
		close(fd);
		EXPECT_STREQ("6\n", buf) TH_LOG("%s", paths[f]);
		EXPECT_EQ(-EINVAL, write_sysctl(paths[f], "0")) TH_LOG("%s", paths[f]);
		EXPECT_EQ(-EINVAL, write_sysctl(paths[f], "128")) TH_LOG("%s", paths[f]);
		ASSERT_EQ(0, write_sysctl(paths[f], "1"));
	}
	/* One retransmission: ETIMEDOUT after 1 s + 2 s. */
	for (int f = 0; f < 2; f++) {
		struct timespec t0, t1;
		int fd = socket(families[f], SOCK_STREAM, 0);
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		EXPECT_EQ(-ETIMEDOUT, connect_res(fd, &silent)) TH_LOG("%s", FAMILY_NAME(families[f]));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		EXPECT_LE(2800, ms) TH_LOG("%s: %ld ms", FAMILY_NAME(families[f]), ms);
		EXPECT_GT(6000, ms) TH_LOG("%s: %ld ms", FAMILY_NAME(families[f]), ms);
		close(fd);
	}
}

/* TCP_SYNCNT per socket, its bounds, and what getsockopt says. */
TEST_F(conn, tcp_syncnt_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);

	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM, 0), val = -1, bad;
		socklen_t len = sizeof(val);

		ASSERT_EQ(0, getsockopt(fd, SOL_TCP, TCP_SYNCNT, &val, &len));
		EXPECT_EQ(6, val) TH_LOG("%s", FAMILY_NAME(families[f]));
		bad = 0;
		EXPECT_EQ(-1, setsockopt(fd, SOL_TCP, TCP_SYNCNT, &bad, sizeof(bad)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		bad = 128;
		EXPECT_EQ(-1, setsockopt(fd, SOL_TCP, TCP_SYNCNT, &bad, sizeof(bad)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(-1, setsockopt(fd, SOL_TCP, TCP_SYNCNT, &bad, 2));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", FAMILY_NAME(families[f]));
		val = 1;
		ASSERT_EQ(0, setsockopt(fd, SOL_TCP, TCP_SYNCNT, &val, sizeof(val)));
		val = -1;
		ASSERT_EQ(0, getsockopt(fd, SOL_TCP, TCP_SYNCNT, &val, &len));
		EXPECT_EQ(1, val);
		EXPECT_EQ(-ETIMEDOUT, connect_res(fd, &silent)) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);
	}
}

/*
 * A host that does not answer ARP: after three probes the kernel sends
 * the connecting side an ICMP host unreachable, which ends the handshake
 * with EHOSTUNREACH, blocking or not (tcp_v4_err), well before the SYN
 * retransmissions would run out.
 */
TEST_F(conn, icmp_host_unreachable_like_inet)
{
	struct sockaddr_in nb[2] = { sin_of(NO_ARP(3), 80), sin_of(NO_ARP(4), 80) };
	struct sockaddr_in bl[2] = { sin_of(NO_ARP(5), 80), sin_of(NO_ARP(6), 80) };
	short revents[2] = { -1, -1 };

	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &nb[f]));
		EXPECT_EQ(1, poll(&p, 1, 10000)) TH_LOG("%s", FAMILY_NAME(families[f]));
		/*
		 * The wakeup comes with the error report, a moment before the
		 * socket is closed both ways (tcp_done_with_error): look again
		 * until it has settled (POLLHUP), for at most 10 s.
		 */
		for (double end = mono_s() + 10; !(p.revents & POLLHUP) && mono_s() < end;) {
			usleep(10000);
			EXPECT_EQ(1, poll(&p, 1, 0));
		}
		revents[f] = p.revents;
		EXPECT_EQ(EHOSTUNREACH, so_error(fd)) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);

		fd = socket(families[f], SOCK_STREAM, 0);
		EXPECT_EQ(-EHOSTUNREACH, connect_res(fd, &bl[f])) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(fd);
	}
	EXPECT_EQ(revents[0], revents[1]);
	EXPECT_EQ(POLLIN | POLLOUT | POLLERR | POLLHUP, revents[0]);
}

/*
 * An ICMP error whose quoted sequence number is not the SYN's is ignored
 * (OutOfWindowIcmps) and the connect goes on.
 */
TEST_F(conn, icmp_out_of_window_ignored_like_inet)
{
	struct sockaddr_in silent = sin_of(SILENT, 80);
	long before[2], after[2];

	for (int f = 0; f < 2; f++) {
		int fd = socket(families[f], SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in local;
		socklen_t len = sizeof(local);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		before[f] = ext_stat(families[f], "OutOfWindowIcmps");
		EXPECT_EQ(-EINPROGRESS, connect_res(fd, &silent));
		ASSERT_EQ(0, getsockname(fd, (void *)&local, &len));
		/* Our ISN is a keyed hash: 12345 is not it (but for 2^-32). */
		ASSERT_EQ(0, send_icmp_unreach(&local, &silent, 12345));
		EXPECT_EQ(0, poll(&p, 1, 300)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, so_error(fd)) TH_LOG("%s", FAMILY_NAME(families[f]));
		after[f] = ext_stat(families[f], "OutOfWindowIcmps");
		close(fd);
	}
	EXPECT_EQ(1, after[0] - before[0]);
	EXPECT_EQ(after[0] - before[0], after[1] - before[1]);
}

TEST_HARNESS_MAIN
