// SPDX-License-Identifier: GPL-2.0
/*
 * bind(), getsockname() and getpeername() on AF_RTCP, against AF_INET TCP
 * as the reference: the same errnos for the same addresses, one port space
 * shared both ways (EADDRINUSE), SO_REUSEADDR, ephemeral ports from
 * ip_local_port_range, shared by connect()s to different peers, privileged
 * ports, and the port freed on close.
 * Every test runs in a network namespace of its own with only lo up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

static int stream(int family)
{
	return socket(family, SOCK_STREAM, 0);
}

/* bind() as a result: 0 or -errno. */
static int bind_res(int fd, const void *addr, socklen_t len)
{
	return bind(fd, addr, len) ? -errno : 0;
}

static int local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (void *)&sin, &len))
		return -errno;
	return ntohs(sin.sin_port);
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

/* Each address, on a new socket of each family: the same answer. */
TEST_F(netns, errors_like_inet)
{
	static const struct { const char *name; const char *addr; int family; socklen_t len; int err; } cases[] = {
		{ "any", "0.0.0.0", AF_INET, 16, 0 },
		{ "loopback", "127.0.0.1", AF_INET, 16, 0 },
		{ "other loopback", "127.1.2.3", AF_INET, 16, 0 },
		{ "broadcast", "255.255.255.255", AF_INET, 16, 0 },
		{ "not local", "198.51.100.7", AF_INET, 16, EADDRNOTAVAIL },
		{ "short", "127.0.0.1", AF_INET, 15, EINVAL },
		{ "empty", "127.0.0.1", AF_INET, 0, EINVAL },
		{ "longer than sockaddr_in", "127.0.0.1", AF_INET, 32, 0 },
		{ "AF_INET6", "0.0.0.0", AF_INET6, 16, EAFNOSUPPORT },
		{ "AF_UNSPEC any", "0.0.0.0", AF_UNSPEC, 16, 0 },
		{ "AF_UNSPEC loopback", "127.0.0.1", AF_UNSPEC, 16, EAFNOSUPPORT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct { struct sockaddr_in sin; char pad[16]; } a = { .sin = sin_of(cases[i].addr, 0) };
		int res[2];

		a.sin.sin_family = cases[i].family;
		for (int f = 0; f < 2; f++) {
			int fd = stream(families[f]);

			ASSERT_LE(0, fd);
			res[f] = bind_res(fd, &a, cases[i].len);
			close(fd);
		}
		EXPECT_EQ(res[0], res[1]) TH_LOG("%s: AF_INET %d, AF_RTCP %d", cases[i].name, res[0], res[1]);
		EXPECT_EQ(-cases[i].err, res[1]) TH_LOG("%s", cases[i].name);
	}
}

TEST_F(netns, second_bind_is_einval)
{
	struct sockaddr_in a = sin_of("127.0.0.1", 0);
	int fd = stream(AF_RTCP);

	ASSERT_EQ(0, bind_res(fd, &a, sizeof(a)));
	EXPECT_EQ(-EINVAL, bind_res(fd, &a, sizeof(a)));
	close(fd);
}

/* getsockname on a new socket: 0.0.0.0:0, as AF_INET; getpeername: ENOTCONN. */
TEST_F(netns, names_of_an_unbound_socket)
{
	for (int f = 0; f < 2; f++) {
		struct sockaddr_in sin = { .sin_port = 1, .sin_addr.s_addr = 1 };
		socklen_t len = sizeof(sin);
		int fd = stream(families[f]);

		ASSERT_EQ(0, getsockname(fd, (void *)&sin, &len));
		EXPECT_EQ(sizeof(sin), len);
		EXPECT_EQ(AF_INET, sin.sin_family);
		EXPECT_EQ(0, sin.sin_port);
		EXPECT_EQ(0U, sin.sin_addr.s_addr);
		EXPECT_EQ(-1, getpeername(fd, (void *)&sin, &len));
		EXPECT_EQ(ENOTCONN, errno);
		close(fd);
	}
}

TEST_F(netns, getsockname_after_bind)
{
	struct sockaddr_in a = sin_of("127.0.0.1", 0), got;
	socklen_t len = sizeof(got);
	int fd = stream(AF_RTCP);

	a.sin_port = htons(4242);
	ASSERT_EQ(0, bind_res(fd, &a, sizeof(a)));
	ASSERT_EQ(0, getsockname(fd, (void *)&got, &len));
	EXPECT_EQ(AF_INET, got.sin_family);
	EXPECT_EQ(htons(4242), got.sin_port);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), got.sin_addr.s_addr);
	close(fd);
}

TEST_F(netns, ephemeral_port_in_range)
{
	struct sockaddr_in a = sin_of("0.0.0.0", 0);
	int lo = 0, hi = 0, fd = stream(AF_RTCP);
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(2, fscanf(f, "%d %d", &lo, &hi));
	fclose(f);
	ASSERT_EQ(0, bind_res(fd, &a, sizeof(a)));
	EXPECT_LE(lo, local_port(fd));
	EXPECT_GE(hi, local_port(fd));
	close(fd);
}

/* A port RTCP holds is taken for TCP, and the other way round. */
TEST_F(netns, one_port_space_both_ways)
{
	struct sockaddr_in any = sin_of("0.0.0.0", 0), lo = sin_of("127.0.0.1", 0);
	int rtcp = stream(AF_RTCP), tcp = stream(AF_INET), other;

	ASSERT_EQ(0, bind_res(rtcp, &lo, sizeof(lo)));
	any.sin_port = lo.sin_port = htons(local_port(rtcp));
	EXPECT_EQ(-EADDRINUSE, bind_res(tcp, &lo, sizeof(lo)));
	EXPECT_EQ(-EADDRINUSE, bind_res(tcp, &any, sizeof(any)));
	close(tcp);

	/* A TCP listener's port, for RTCP. */
	tcp = stream(AF_INET);
	any.sin_port = 0;
	ASSERT_EQ(0, bind_res(tcp, &any, sizeof(any)));
	ASSERT_EQ(0, listen(tcp, 1));
	lo.sin_port = htons(local_port(tcp));
	other = stream(AF_RTCP);
	EXPECT_EQ(-EADDRINUSE, bind_res(other, &lo, sizeof(lo)));
	close(other);
	close(tcp);
	close(rtcp);
}

/* Closing an RTCP socket gives its port back at once. */
TEST_F(netns, close_frees_the_port)
{
	struct sockaddr_in lo = sin_of("127.0.0.1", 0);
	int rtcp = stream(AF_RTCP), tcp = stream(AF_INET);

	ASSERT_EQ(0, bind_res(rtcp, &lo, sizeof(lo)));
	lo.sin_port = htons(local_port(rtcp));
	close(rtcp);
	EXPECT_EQ(0, bind_res(tcp, &lo, sizeof(lo)));
	close(tcp);
}

/* SO_REUSEADDR on two sockets of the same port: as TCP decides. */
TEST_F(netns, reuseaddr_like_inet)
{
	for (int f = 0; f < 2; f++) {
		struct sockaddr_in lo = sin_of("127.0.0.1", 5000 + f);
		int one = 1, a = stream(families[f]), b = stream(families[f]), c = stream(families[f]);

		ASSERT_EQ(0, setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		ASSERT_EQ(0, setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		EXPECT_EQ(0, bind_res(a, &lo, sizeof(lo)));
		EXPECT_EQ(0, bind_res(b, &lo, sizeof(lo))) TH_LOG("family %d", families[f]);
		/* Without SO_REUSEADDR on the newcomer: in use. */
		EXPECT_EQ(-EADDRINUSE, bind_res(c, &lo, sizeof(lo))) TH_LOG("family %d", families[f]);
		close(a);
		close(b);
		close(c);
	}
}

/* What privileged_port_needs_the_capability's steps gave, per family. */
enum { PRIV_STEPS = 6 };
struct priv_res {
	int step[2][PRIV_STEPS];
};

static int privileged_steps(void *arg)
{
	struct priv_res *r = arg;

	for (int f = 0; f < 2; f++) {
		struct sockaddr_in below = sin_of("127.0.0.1", 999), from = sin_of("127.0.0.1", 1000);
		struct sockaddr_in any = sin_of("127.0.0.1", 0), held = sin_of("127.0.0.1", 998);
		int a = stream(families[f]), b = stream(families[f]), c = stream(families[f]);
		int *st = r->step[f];

		st[0] = bind_res(a, &below, sizeof(below));
		/* Left unbound: port 0, and free to bind elsewhere. */
		st[1] = local_port(a);
		st[2] = bind_res(a, &from, sizeof(from));
		st[3] = local_port(a);
		st[4] = bind_res(b, &any, sizeof(any));
		/* A port below the start that root holds: EACCES, not
		 * EADDRINUSE (__inet_bind asks for the capability first). */
		st[5] = bind_res(c, &held, sizeof(held));
		close(a);
		close(b);
		close(c);
	}
	return 0;
}

/*
 * Ports below ip_unprivileged_port_start (1000 here, a namespace's own
 * sysctl) need CAP_NET_BIND_SERVICE: without it, EACCES, and the socket
 * stays unbound (port 0 read back, a later bind() free to take a port
 * from the start up); port 0 takes an ephemeral port.
 */
TEST_F(netns, privileged_port_needs_the_capability)
{
	static const char *const what[PRIV_STEPS] = {
		"bind 999", "port after", "bind 1000", "port after", "bind 0", "bind 998 (held)",
	};
	struct priv_res *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sockaddr_in held = sin_of("127.0.0.1", 998);
	int root = stream(AF_INET);

	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, bind_res(root, &held, sizeof(held)));
	ASSERT_EQ(0, write_sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start", "1000"));
	ASSERT_EQ(0, as_nobody(privileged_steps, r));
	close(root);
	for (int k = 0; k < PRIV_STEPS; k++) {
		EXPECT_EQ(r->step[0][k], r->step[1][k]) TH_LOG("%s: AF_INET %d, AF_RTCP %d", what[k], r->step[0][k], r->step[1][k]);
	}
	EXPECT_EQ(-EACCES, r->step[1][0]);
	EXPECT_EQ(0, r->step[1][1]);
	EXPECT_EQ(0, r->step[1][2]);
	EXPECT_EQ(1000, r->step[1][3]);
	EXPECT_EQ(0, r->step[1][4]);
	EXPECT_EQ(-EACCES, r->step[1][5]);
	munmap(r, sizeof(*r));
}

/*
 * connect() shares an ephemeral port among four-tuples, as
 * inet_hash_connect does: with a 100-port range, two servers take 100
 * connections each, then connect() fails with EADDRNOTAVAIL (make bench
 * counts it with 1,000 ports). Each family
 * in turn, its clients closed with a reset (no TIME-WAIT left to hold the
 * ports), gives the same count and errno.
 */
#define SHARED_RANGE 100
TEST_F(netns, ephemeral_port_shared_between_peers_like_inet)
{
	static int fds[2 * SHARED_RANGE + 8];
	struct rlimit rl = { 4 * SHARED_RANGE, 4 * SHARED_RANGE };
	struct linger abort_close = { 1, 0 };
	int count[2], err[2];

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (int fi = 0; fi < 2; fi++) {
		struct sockaddr_in srv[2];
		int l[2], n = 0;

		/* The servers' ports come from the default range, before it
		 * shrinks to one that does not hold them. */
		ASSERT_EQ(0, write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", "32768 60999"));
		for (int i = 0; i < 2; i++)
			ASSERT_LE(0, l[i] = listener_on(families[fi], "127.0.0.1", SHARED_RANGE + 8, &srv[i]));
		ASSERT_EQ(0, write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", "20000 20099"));
		err[fi] = 0;
		while (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
			int fd = socket(families[fi], SOCK_STREAM, 0);

			ASSERT_LE(0, fd);
			if (connect(fd, (void *)&srv[n % 2], sizeof(srv[0]))) {
				err[fi] = errno;
				close(fd);
				break;
			}
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
			fds[n++] = fd;
		}
		count[fi] = n;
		TH_LOG("%s: %d connections, then %s", FAMILY_NAME(families[fi]), n, strerror(err[fi]));
		while (n)
			close(fds[--n]);
		close(l[0]);
		close(l[1]);
	}
	EXPECT_EQ(2 * SHARED_RANGE, count[0]);
	EXPECT_EQ(EADDRNOTAVAIL, err[0]);
	EXPECT_EQ(count[0], count[1]);
	EXPECT_EQ(err[0], err[1]);
}

/*
 * A port connect() picked goes back when its socket closes: after an
 * abortive close (no TIME-WAIT to hold it), a TCP socket binds it, for
 * each family.
 */
TEST_F(netns, connect_port_free_after_close_like_inet)
{
	for (int fi = 0; fi < 2; fi++) {
		struct sockaddr_in srv, lo = sin_of("127.0.0.1", 0);
		struct linger abort_close = { 1, 0 };
		int l = listener_on(families[fi], "127.0.0.1", 4, &srv), c, a, tcp, port;

		ASSERT_LE(0, l);
		ASSERT_LE(0, c = stream(families[fi]));
		ASSERT_EQ(0, connect(c, (void *)&srv, sizeof(srv)));
		ASSERT_LE(0, a = accept(l, NULL, NULL));
		port = local_port(c);
		ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close)));
		close(c);
		close(a);
		lo.sin_port = htons(port);
		tcp = stream(AF_INET);
		EXPECT_EQ(0, bind_res(tcp, &lo, sizeof(lo))) TH_LOG("%s: port %d", FAMILY_NAME(families[fi]), port);
		close(tcp);
		close(l);
	}
}

TEST_HARNESS_MAIN
