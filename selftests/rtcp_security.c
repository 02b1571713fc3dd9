// SPDX-License-Identifier: GPL-2.0
/*
 * Security checks on AF_RTCP, against AF_INET TCP in the same run:
 *
 * - the socket options that need a capability, set by a process that
 *   has none (uid nobody) and by root: the same errno and the same state
 *   read back (SO_MARK, SO_PRIORITY above 6, SO_*BUFFORCE, SO_DEBUG,
 *   SO_BINDTODEVICE and SO_BINDTOIFINDEX with and without a device,
 *   SO_ATTACH_FILTER, SO_TXTIME, busy polling, IP_TRANSPARENT, the
 *   IPsec policies, TCP_REPAIR and the options of repair mode,
 *   TCP_CONGESTION); bind() below ip_unprivileged_port_start is
 *   rtcp_bind's;
 * - a socket filter sees every segment for its socket, listener and
 *   connection (tcp_filter), and drops or cuts it;
 * - a socket never sees another namespace's segments: two namespaces
 *   with the same addresses, ports and four-tuples, each connection and
 *   listener getting only its own namespace's bytes, and /proc/net/rtcp
 *   listing only the namespace's own sockets;
 * - ISNs and ephemeral ports are not predictable from the ones before:
 *   distinct, no constant step, spread over their space (RFC 6528's
 *   keyed hash; inet_hash_connect's per-destination offset and random
 *   steps), with bounds that AF_INET passes by a wide margin.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef TCP_AO_REPAIR
#define TCP_AO_REPAIR 42
#endif
#ifndef IP_IPSEC_POLICY
#define IP_IPSEC_POLICY 16
#endif
#ifndef IP_XFRM_POLICY
#define IP_XFRM_POLICY 17
#endif

static int stream(int family)
{
	return socket(family, SOCK_STREAM, 0);
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

/* ---- The options that need a capability ---- */

struct opt_step {
	int level, name;
	const void *val;
	socklen_t len;
};

/* A new socket; `first` set (unless its name is 0), then `step`, then
 * the option `back` read back. */
struct opt_case {
	const char *what;
	struct opt_step first, step;
	int back_level, back_name;
	/* Root on RTCP differs, asserted as such: the reason. */
	const char *root_differs;
};

struct opt_res {
	int first, res, back_err;
	socklen_t back_len;
	unsigned char back[64];
};

enum { MAX_CASES = 64 };

struct opt_table {
	const struct opt_case *cases;
	size_t n;
	struct opt_res res[MAX_CASES][2];
};

static int run_opt_table(void *arg)
{
	struct opt_table *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		const struct opt_case *c = &t->cases[i];

		for (int f = 0; f < 2; f++) {
			struct opt_res *r = &t->res[i][f];
			int fd = stream(families[f]);

			if (fd < 0)
				return -1;
			if (c->first.name)
				r->first = set_res(fd, c->first.level, c->first.name, c->first.val, c->first.len);
			r->res = set_res(fd, c->step.level, c->step.name, c->step.val, c->step.len);
			r->back_len = sizeof(r->back);
			r->back_err = getsockopt(fd, c->back_level, c->back_name, r->back, &r->back_len) ? -errno : 0;
			if (r->back_err)
				r->back_len = 0;
			close(fd);
		}
	}
	return 0;
}

/* The cases' answers, compared; the unprivileged ones also with what the
 * capability checks give (`want`). */
static void check_opt_table(struct __test_metadata *_metadata, const struct opt_table *t, const int *want, bool root)
{
	const char *who = root ? "root" : "nobody";

	for (size_t i = 0; i < t->n; i++) {
		const struct opt_case *c = &t->cases[i];
		const struct opt_res *in = &t->res[i][0], *rt = &t->res[i][1];

		if (root && c->root_differs) {
			TH_LOG("%s %s: AF_INET %d, AF_RTCP %d (%s)", who, c->what, in->res, rt->res, c->root_differs);
			EXPECT_EQ(0, in->res) TH_LOG("%s", c->what);
			EXPECT_EQ(-ENOPROTOOPT, rt->res) TH_LOG("%s: %s", c->what, c->root_differs);
			continue;
		}
		EXPECT_EQ(in->first, rt->first) TH_LOG("%s %s, the first step: AF_INET %d, AF_RTCP %d", who, c->what,
						       in->first, rt->first);
		EXPECT_EQ(in->res, rt->res) TH_LOG("%s %s: AF_INET %d, AF_RTCP %d", who, c->what, in->res, rt->res);
		EXPECT_EQ(in->back_err, rt->back_err) TH_LOG("%s %s, read back: AF_INET %d, AF_RTCP %d", who, c->what,
							     in->back_err, rt->back_err);
		EXPECT_EQ(in->back_len, rt->back_len) TH_LOG("%s %s, read back: AF_INET %u bytes, AF_RTCP %u", who,
							     c->what, in->back_len, rt->back_len);
		EXPECT_EQ(0, memcmp(in->back, rt->back, in->back_len)) TH_LOG("%s %s: not the same value read back", who,
									   c->what);
		if (want) {
			EXPECT_EQ(want[i], rt->res) TH_LOG("%s %s: AF_RTCP %d", who, c->what, rt->res);
		}
	}
}

/*
 * Every option that asks for a capability (sk_setsockopt,
 * do_ip_setsockopt, do_tcp_setsockopt), first by a process that has none:
 * AF_INET's errno and the same state read back (nothing changed where it
 * was refused); then by root, whom the same calls let through alike.
 * The sockets live in the test's namespace, where nobody holds no
 * capability (it belongs to the first user namespace).
 */
TEST_F(netns, privileged_options_like_inet)
{
	static const int zero = 0, one = 1, six = 6, seven = 7, minus = -1, mib = 1 << 20, five = 5, budget = 64;
	static const struct sock_filter accept_all[] = { BPF_STMT(BPF_RET | BPF_K, 0xffff) };
	static const struct sock_fprog prog = { .len = 1, .filter = (struct sock_filter *)accept_all };
	static const struct sock_txtime tai = { .clockid = CLOCK_TAI }, mono = { .clockid = CLOCK_MONOTONIC };
	static const struct tcp_repair_window win = { 0 };
	static const char policy[16] = { 0 };
	int lo = (int)if_nametoindex("lo"), d0;
#define STEP(l, n, v, len) { l, n, v, len }
#define SOCKOPT(n, v) STEP(SOL_SOCKET, n, &(v), sizeof(v))
#define DEVICE(s) STEP(SOL_SOCKET, SO_BINDTODEVICE, s, sizeof(s))
#define NONE STEP(0, 0, NULL, 0)
#define OPT_CASE(w, f, s, bl, bn, ...) { .what = w, .first = f, .step = s, .back_level = bl, .back_name = bn, __VA_ARGS__ }
#define DIFFERS_AS_ROOT(why) .root_differs = why
	const struct opt_case cases[] = {
		OPT_CASE("SO_MARK 7", NONE, SOCKOPT(SO_MARK, seven), SOL_SOCKET, SO_MARK),
		OPT_CASE("SO_MARK 0", NONE, SOCKOPT(SO_MARK, zero), SOL_SOCKET, SO_MARK),
		OPT_CASE("SO_PRIORITY 6", NONE, SOCKOPT(SO_PRIORITY, six), SOL_SOCKET, SO_PRIORITY),
		OPT_CASE("SO_PRIORITY 7", NONE, SOCKOPT(SO_PRIORITY, seven), SOL_SOCKET, SO_PRIORITY),
		OPT_CASE("SO_PRIORITY -1", NONE, SOCKOPT(SO_PRIORITY, minus), SOL_SOCKET, SO_PRIORITY),
		OPT_CASE("SO_PRIORITY 6 then 7", SOCKOPT(SO_PRIORITY, six), SOCKOPT(SO_PRIORITY, seven), SOL_SOCKET,
			 SO_PRIORITY),
		OPT_CASE("SO_SNDBUFFORCE 1 MiB", NONE, SOCKOPT(SO_SNDBUFFORCE, mib), SOL_SOCKET, SO_SNDBUF),
		OPT_CASE("SO_SNDBUFFORCE -1", NONE, SOCKOPT(SO_SNDBUFFORCE, minus), SOL_SOCKET, SO_SNDBUF),
		OPT_CASE("SO_RCVBUFFORCE 1 MiB", NONE, SOCKOPT(SO_RCVBUFFORCE, mib), SOL_SOCKET, SO_RCVBUF),
		OPT_CASE("SO_SNDBUF 1 MiB (wmem_max)", NONE, SOCKOPT(SO_SNDBUF, mib), SOL_SOCKET, SO_SNDBUF),
		OPT_CASE("SO_DEBUG 1", NONE, SOCKOPT(SO_DEBUG, one), SOL_SOCKET, SO_DEBUG),
		OPT_CASE("SO_BINDTODEVICE lo", NONE, DEVICE("lo"), SOL_SOCKET, SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTODEVICE lo then d0", DEVICE("lo"), DEVICE("d0"), SOL_SOCKET, SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTODEVICE lo then \"\"", DEVICE("lo"), DEVICE(""), SOL_SOCKET, SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTODEVICE lo then length 0", DEVICE("lo"), STEP(SOL_SOCKET, SO_BINDTODEVICE, "", 0),
			 SOL_SOCKET, SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTODEVICE none, unbound", NONE, STEP(SOL_SOCKET, SO_BINDTODEVICE, "", 0), SOL_SOCKET,
			 SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTODEVICE no such device", NONE, DEVICE("nosuchdev"), SOL_SOCKET, SO_BINDTODEVICE),
		OPT_CASE("SO_BINDTOIFINDEX d0", NONE, SOCKOPT(SO_BINDTOIFINDEX, d0), SOL_SOCKET, SO_BINDTOIFINDEX),
		OPT_CASE("SO_BINDTOIFINDEX d0 then lo", SOCKOPT(SO_BINDTOIFINDEX, d0), SOCKOPT(SO_BINDTOIFINDEX, lo),
			 SOL_SOCKET, SO_BINDTOIFINDEX),
		OPT_CASE("SO_BINDTOIFINDEX d0 then 0", SOCKOPT(SO_BINDTOIFINDEX, d0), SOCKOPT(SO_BINDTOIFINDEX, zero),
			 SOL_SOCKET, SO_BINDTOIFINDEX),
		OPT_CASE("SO_BINDTOIFINDEX -1", NONE, SOCKOPT(SO_BINDTOIFINDEX, minus), SOL_SOCKET, SO_BINDTOIFINDEX),
		OPT_CASE("SO_ATTACH_FILTER", NONE, SOCKOPT(SO_ATTACH_FILTER, prog), SOL_SOCKET, SO_GET_FILTER),
		OPT_CASE("SO_ATTACH_FILTER short", NONE, STEP(SOL_SOCKET, SO_ATTACH_FILTER, &prog, 2), SOL_SOCKET,
			 SO_GET_FILTER),
		OPT_CASE("SO_TXTIME CLOCK_TAI", NONE, SOCKOPT(SO_TXTIME, tai), SOL_SOCKET, SO_TXTIME),
		OPT_CASE("SO_TXTIME CLOCK_MONOTONIC", NONE, SOCKOPT(SO_TXTIME, mono), SOL_SOCKET, SO_TXTIME),
		OPT_CASE("SO_PREFER_BUSY_POLL 1", NONE, SOCKOPT(SO_PREFER_BUSY_POLL, one), SOL_SOCKET,
			 SO_PREFER_BUSY_POLL),
		OPT_CASE("SO_BUSY_POLL_BUDGET 64", NONE, SOCKOPT(SO_BUSY_POLL_BUDGET, budget), SOL_SOCKET,
			 SO_BUSY_POLL_BUDGET),
		OPT_CASE("IP_TRANSPARENT 1", NONE, STEP(SOL_IP, IP_TRANSPARENT, &one, 4), SOL_IP, IP_TRANSPARENT),
		OPT_CASE("IP_TRANSPARENT 0", NONE, STEP(SOL_IP, IP_TRANSPARENT, &zero, 4), SOL_IP, IP_TRANSPARENT),
		OPT_CASE("IP_TRANSPARENT 1, empty", NONE, STEP(SOL_IP, IP_TRANSPARENT, &one, 0), SOL_IP,
			 IP_TRANSPARENT),
		OPT_CASE("IP_IPSEC_POLICY", NONE, STEP(SOL_IP, IP_IPSEC_POLICY, policy, sizeof(policy)), SOL_IP,
			 IP_TRANSPARENT),
		OPT_CASE("IP_XFRM_POLICY", NONE, STEP(SOL_IP, IP_XFRM_POLICY, policy, sizeof(policy)), SOL_IP,
			 IP_TRANSPARENT),
		OPT_CASE("TCP_REPAIR 1", NONE, STEP(SOL_TCP, TCP_REPAIR, &one, 4), SOL_TCP, TCP_REPAIR,
			 DIFFERS_AS_ROOT("RTCP has no repair mode")),
		OPT_CASE("TCP_REPAIR 0", NONE, STEP(SOL_TCP, TCP_REPAIR, &zero, 4), SOL_TCP, TCP_REPAIR,
			 DIFFERS_AS_ROOT("RTCP has no repair mode")),
		OPT_CASE("TCP_REPAIR 7", NONE, STEP(SOL_TCP, TCP_REPAIR, &seven, 4), SOL_TCP, TCP_REPAIR),
		OPT_CASE("TCP_REPAIR_QUEUE 1", NONE, STEP(SOL_TCP, TCP_REPAIR_QUEUE, &one, 4), SOL_TCP,
			 TCP_REPAIR_QUEUE),
		OPT_CASE("TCP_QUEUE_SEQ 5", NONE, STEP(SOL_TCP, TCP_QUEUE_SEQ, &five, 4), SOL_TCP, TCP_QUEUE_SEQ),
		OPT_CASE("TCP_REPAIR_OPTIONS", NONE, STEP(SOL_TCP, TCP_REPAIR_OPTIONS, &one, 4), SOL_TCP, TCP_REPAIR),
		OPT_CASE("TCP_REPAIR_WINDOW", NONE, STEP(SOL_TCP, TCP_REPAIR_WINDOW, &win, sizeof(win)), SOL_TCP,
			 TCP_REPAIR),
		OPT_CASE("TCP_TIMESTAMP", NONE, STEP(SOL_TCP, TCP_TIMESTAMP, &one, 4), SOL_TCP, TCP_REPAIR),
		OPT_CASE("TCP_AO_REPAIR", NONE, STEP(SOL_TCP, TCP_AO_REPAIR, policy, sizeof(policy)), SOL_TCP,
			 TCP_REPAIR),
		OPT_CASE("TCP_CONGESTION reno", NONE, STEP(SOL_TCP, TCP_CONGESTION, "reno", 4), SOL_TCP,
			 TCP_CONGESTION),
		OPT_CASE("TCP_CONGESTION cubic", NONE, STEP(SOL_TCP, TCP_CONGESTION, "cubic", 5), SOL_TCP,
			 TCP_CONGESTION),
		OPT_CASE("TCP_CONGESTION nosuch", NONE, STEP(SOL_TCP, TCP_CONGESTION, "nosuch", 6), SOL_TCP,
			 TCP_CONGESTION),
	};
	/* What a process without capabilities gets, case by case. */
	static const int nobody[] = {
		-EPERM, -EPERM, 0, -EPERM, -EPERM, -EPERM, -EPERM, -EPERM, -EPERM, 0, -EACCES,
		0, -EPERM, -EPERM, -EPERM, 0, -ENODEV, 0, -EPERM, -EPERM, -EINVAL,
		-EPERM, -EINVAL, -EPERM, 0, -EPERM, -EPERM,
		-EPERM, 0, -EINVAL, -EPERM, -EPERM,
		-EPERM, -EPERM, -EPERM, -EPERM, -EINVAL, -EINVAL, -EPERM, -EPERM, -EPERM,
		0, 0, -ENOENT,
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct opt_table *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, t);
	ASSERT_EQ(0, ip_batch("link add d0 type dummy\nlink set d0 up\n"));
	d0 = (int)if_nametoindex("d0");
	ASSERT_LT(0, d0);
	ASSERT_LE(n, (size_t)MAX_CASES);
	ASSERT_EQ(n, sizeof(nobody) / sizeof(nobody[0]));
	t->cases = cases;
	t->n = n;
	ASSERT_EQ(0, as_nobody(run_opt_table, t));
	check_opt_table(_metadata, t, nobody, false);
	memset(t->res, 0, sizeof(t->res));
	ASSERT_EQ(0, run_opt_table(t));
	check_opt_table(_metadata, t, NULL, true);
	munmap(t, sizeof(*t));
#undef STEP
#undef SOCKOPT
#undef DEVICE
#undef NONE
#undef OPT_CASE
#undef DIFFERS_AS_ROOT
}

/* ---- Socket filters ---- */

/* A classic BPF program of one filter (`prog`) attached to `fd`, or
 * detached (NULL; the value is an int nobody reads): 0, or -errno. */
static int filter(int fd, const struct sock_fprog *prog)
{
	int unused = 0;

	if (!prog)
		return set_res(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused));
	return set_res(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog));
}

/* Is `fd` ready for `events` within `ms`? */
static bool ready(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1 && (p.revents & events);
}

/*
 * A socket's filter sees every segment for it before TCP does
 * (tcp_filter): with one that keeps nothing, a listener takes no SYN and
 * a connection no data, until it is detached and the peer sends again;
 * one that cuts each segment to its TCP header and two bytes of payload
 * lets the data through two bytes at a time, whole in the end. Long by
 * nature (it waits for the SYN's and the data's retransmissions): 300 s.
 */
TEST_F_TIMEOUT(netns, socket_filter_sees_every_segment, 300)
{
	static const struct sock_filter none[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	static const struct sock_filter two[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 12),		/* the data offset */
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),		/* the TCP header's length */
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 2),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	static const struct sock_fprog drop = { .len = 1, .filter = (struct sock_filter *)none };
	static const struct sock_fprog cut = { .len = 5, .filter = (struct sock_filter *)two };
	struct timeval bound = { .tv_sec = 60 };

	for (int f = 0; f < 2; f++) {
		struct sockaddr_in addr;
		int l = listener_on(families[f], "127.0.0.1", 4, &addr), c = stream(families[f]), a, c2, a2;
		char buf[8] = { 0 };

		ASSERT_LE(0, l);
		ASSERT_EQ(0, filter(l, &drop));
		ASSERT_EQ(0, fcntl(c, F_SETFL, O_NONBLOCK));
		ASSERT_EQ(-EINPROGRESS, connect_res(c, &addr));
		/* The SYN and its first retransmission (1 s) dropped. */
		EXPECT_FALSE(ready(c, POLLOUT, 1500)) TH_LOG("%s: connected through the filter", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, filter(l, NULL));
		/* The next retransmission gets through. */
		EXPECT_TRUE(ready(c, POLLOUT, 60000)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, so_error(c));
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		ASSERT_EQ(0, setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound)));

		ASSERT_EQ(0, filter(a, &drop));
		ASSERT_EQ(5, send(c, "hello", 5, 0));
		EXPECT_FALSE(ready(a, POLLIN, 1000)) TH_LOG("%s: data through the filter", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, filter(a, NULL));
		EXPECT_EQ(5, recv(a, buf, 5, MSG_WAITALL)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_STREQ("hello", buf);

		/* A new connection, whose every segment is cut. */
		ASSERT_EQ(0, loopback_pair(families[f], families[f], &c2, &a2));
		ASSERT_EQ(0, setsockopt(a2, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound)));
		ASSERT_EQ(0, filter(a2, &cut));
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(7, send(c2, "abcdefg", 7, 0));
		EXPECT_EQ(7, recv(a2, buf, 7, MSG_WAITALL)) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_STREQ("abcdefg", buf) TH_LOG("%s", FAMILY_NAME(families[f]));
		close(c2);
		close(a2);
		close(c);
		close(a);
		close(l);
	}
}

/* ---- Namespaces ---- */

/* Switches the calling thread to the network namespace of `fd`. */
static int enter(int fd)
{
	return setns(fd, CLONE_NEWNET);
}

/* Sends `msg` on `fd` and reads as many bytes on `peer`: 0 if they came
 * whole and unchanged. */
static int carries(int fd, int peer, const char *msg)
{
	char buf[64] = { 0 };
	size_t n = strlen(msg);

	if (send(fd, msg, n, 0) != (ssize_t)n || recv(peer, buf, n, MSG_WAITALL) != (ssize_t)n)
		return -1;
	return memcmp(buf, msg, n) ? -1 : 0;
}

/*
 * Two namespaces with the same addresses, ports and even four-tuples:
 * A (10.0.0.2, on a veth whose other end, 10.0.0.1, is the test's own
 * namespace C) and B (10.0.0.1 and 10.0.0.2, on a dummy device). Each
 * has a listener on 10.0.0.2:P; C's client (10.0.0.1:Q) reaches A's,
 * B's own client (10.0.0.1:Q too) reaches B's. Every connection carries
 * only its own namespace's bytes both ways, each listener accepts only
 * its own namespace's connection, and /proc/net/rtcp of each namespace
 * lists only its own sockets. Long by nature (three namespaces, a veth
 * and a dummy made by `ip`, each a program started under TCG): 300 s.
 */
TEST_F_TIMEOUT(netns, namespaces_see_only_their_own_segments, 300)
{
	char a_name[32], b_name[32], path[64], cmds[256];
	int ns_c, ns_a, ns_b;

	snprintf(a_name, sizeof(a_name), "rtcpsecA%d", getpid());
	snprintf(b_name, sizeof(b_name), "rtcpsecB%d", getpid());
	snprintf(cmds, sizeof(cmds),
		 "netns add %s\nnetns add %s\nlink add vc type veth peer name va netns %s\nlink set vc up\n"
		 "addr add 10.0.0.1/24 dev vc\n",
		 a_name, b_name, a_name);
	ASSERT_EQ(0, ip_batch(cmds));
	ASSERT_EQ(0, ip_batch_ns(a_name, "link set lo up\nlink set va up\naddr add 10.0.0.2/24 dev va\n"));
	ASSERT_EQ(0, ip_batch_ns(b_name, "link set lo up\nlink add d0 type dummy\nlink set d0 up\n"
					 "addr add 10.0.0.2/24 dev d0\naddr add 10.0.0.1/32 dev d0\n"));
	ns_c = open("/proc/self/ns/net", O_RDONLY);
	snprintf(path, sizeof(path), "/run/netns/%s", a_name);
	ns_a = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/run/netns/%s", b_name);
	ns_b = open(path, O_RDONLY);
	ASSERT_LE(0, ns_c);
	ASSERT_LE(0, ns_a);
	ASSERT_LE(0, ns_b);

	for (int f = 0; f < 2; f++) {
		const int port = 8000 + f, cport = 5555 + f;
		struct sockaddr_in srv = sin_of("10.0.0.2", port), cli = sin_of("10.0.0.1", cport), peer;
		socklen_t plen = sizeof(peer);
		int la, lb, sa, sb, cc, cb, one = 1, listening[3], established[3];
		char b;

		ASSERT_EQ(0, enter(ns_a));
		la = stream(families[f]);
		ASSERT_EQ(0, bind(la, (void *)&srv, sizeof(srv)));
		ASSERT_EQ(0, listen(la, 4));
		ASSERT_EQ(0, enter(ns_b));
		lb = stream(families[f]);
		ASSERT_EQ(0, bind(lb, (void *)&srv, sizeof(srv)));
		ASSERT_EQ(0, listen(lb, 4));
		cb = stream(families[f]);
		ASSERT_EQ(0, setsockopt(cb, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		ASSERT_EQ(0, bind(cb, (void *)&cli, sizeof(cli)));
		ASSERT_EQ(0, connect_res(cb, &srv)) TH_LOG("%s: B's client", FAMILY_NAME(families[f]));
		ASSERT_EQ(0, enter(ns_c));
		cc = stream(families[f]);
		ASSERT_EQ(0, bind(cc, (void *)&cli, sizeof(cli)));
		ASSERT_EQ(0, connect_res(cc, &srv)) TH_LOG("%s: C's client", FAMILY_NAME(families[f]));

		/* Each listener: one connection, from 10.0.0.1:Q. */
		sa = accept(la, (void *)&peer, &plen);
		ASSERT_LE(0, sa);
		EXPECT_EQ(cli.sin_addr.s_addr, peer.sin_addr.s_addr);
		EXPECT_EQ(cli.sin_port, peer.sin_port);
		plen = sizeof(peer);
		sb = accept(lb, (void *)&peer, &plen);
		ASSERT_LE(0, sb);
		EXPECT_EQ(cli.sin_port, peer.sin_port);
		/* Each way, the namespace's own bytes; C's first, so that
		 * B's would be read in their place if they went astray. */
		EXPECT_EQ(0, carries(cc, sa, "C to A")) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, carries(cb, sb, "B's client to B")) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, carries(sa, cc, "A to C")) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, carries(sb, cb, "B to its client")) TH_LOG("%s", FAMILY_NAME(families[f]));
		/* Nothing more for anyone. */
		fcntl(la, F_SETFL, O_NONBLOCK);
		fcntl(lb, F_SETFL, O_NONBLOCK);
		EXPECT_EQ(-1, accept(la, NULL, NULL));
		EXPECT_EQ(-1, accept(lb, NULL, NULL));
		EXPECT_EQ(-1, recv(sa, &b, 1, MSG_DONTWAIT));
		EXPECT_EQ(-1, recv(sb, &b, 1, MSG_DONTWAIT));
		EXPECT_EQ(-1, recv(cc, &b, 1, MSG_DONTWAIT));
		EXPECT_EQ(-1, recv(cb, &b, 1, MSG_DONTWAIT));
		/* /proc: A, its listener and the accepted socket; B, those and
		 * its client; C, its client. */
		ASSERT_EQ(0, enter(ns_a));
		listening[0] = proc_count(families[f], "0A");
		established[0] = proc_count(families[f], "01");
		ASSERT_EQ(0, enter(ns_b));
		listening[1] = proc_count(families[f], "0A");
		established[1] = proc_count(families[f], "01");
		ASSERT_EQ(0, enter(ns_c));
		listening[2] = proc_count(families[f], "0A");
		established[2] = proc_count(families[f], "01");
		for (int k = 0; k < 3; k++) {
			static const int want_listening[3] = { 1, 1, 0 }, want_established[3] = { 1, 2, 1 };

			TH_LOG("%s: /proc of namespace %c lists %d listening, %d established", FAMILY_NAME(families[f]),
			       "ABC"[k], listening[k], established[k]);
			EXPECT_EQ(want_listening[k], listening[k]);
			EXPECT_EQ(want_established[k], established[k]);
		}
		close(cc);
		close(cb);
		close(sa);
		close(sb);
		close(la);
		close(lb);
	}
	close(ns_a);
	close(ns_b);
	close(ns_c);
	snprintf(cmds, sizeof(cmds), "netns del %s\nnetns del %s\n", a_name, b_name);
	EXPECT_EQ(0, ip_batch(cmds));
}

/* ---- ISNs and ephemeral ports ---- */

enum { CONNS = 64, DESTS = 8 };

struct seen {
	uint16_t port[CONNS];
	uint32_t isn[CONNS];
};

/* The packet socket's SYNs (no ACK) to `dport`: the ISN of the one from
 * `sport`, or 0 (a retransmission has the same ISN). */
static uint32_t syn_from(int pkt, int sport, int dport)
{
	unsigned char buf[2048];
	uint32_t isn = 0;
	ssize_t n;

	while ((n = recv(pkt, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct iphdr *ip = (const void *)buf;
		const struct tcphdr *th = (const void *)(buf + ip->ihl * 4);

		if ((size_t)n >= sizeof(*ip) + sizeof(*th) && ip->protocol == IPPROTO_TCP && th->syn && !th->ack &&
		    ntohs(th->source) == sport && ntohs(th->dest) == dport)
			isn = ntohl(th->seq);
	}
	return isn;
}

/* CONNS connections of `family` to one listener on 127.0.0.1:`port`, all
 * held open: their source ports and ISNs, in order. */
static int connect_many(int family, int port, struct seen *s)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				  .sll_ifindex = (int)if_nametoindex("lo") };
	struct sockaddr_in srv = sin_of("127.0.0.1", port);
	int pkt = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)), l = stream(family), c[CONNS], ret = 0;

	for (int i = 0; i < CONNS; i++)
		c[i] = -1;
	if (pkt < 0 || l < 0 || bind(pkt, (void *)&ll, sizeof(ll)) || bind(l, (void *)&srv, sizeof(srv)) ||
	    listen(l, CONNS))
		return -1;
	for (int i = 0; i < CONNS; i++) {
		struct sockaddr_in local;
		socklen_t len = sizeof(local);

		c[i] = stream(family);
		if (connect_res(c[i], &srv) || getsockname(c[i], (void *)&local, &len)) {
			ret = -1;
			break;
		}
		s->port[i] = ntohs(local.sin_port);
		s->isn[i] = syn_from(pkt, s->port[i], port);
		close(accept(l, NULL, NULL));
	}
	for (int i = 0; i < CONNS && c[i] >= 0; i++) {
		struct linger abort_it = { .l_onoff = 1, .l_linger = 0 };

		/* A reset: no TIME-WAIT left for the next family. */
		setsockopt(c[i], SOL_SOCKET, SO_LINGER, &abort_it, sizeof(abort_it));
		close(c[i]);
	}
	close(l);
	close(pkt);
	return ret;
}

/* How many times the most common of the n - 1 steps v[i + 1] - v[i]
 * comes, and how many distinct steps there are. */
static void steps(const int64_t *v, int n, int *most, int *distinct)
{
	*most = 0;
	*distinct = 0;
	for (int i = 0; i + 1 < n; i++) {
		int64_t d = v[i + 1] - v[i];
		int same = 0, before = 0;

		for (int j = 0; j + 1 < n; j++) {
			if (v[j + 1] - v[j] != d)
				continue;
			same++;
			before |= j < i;
		}
		if (same > *most)
			*most = same;
		*distinct += !before;
	}
}

/*
 * The ISNs of CONNS connections to one listener (another source port
 * each): all distinct, no step between two in a row repeated more than
 * twice, hardly any two in a row within 2^24 of each other (a clock or a
 * counter alone would put them all there), and spread over the whole
 * space (at least 8 of the 16 values of the top four bits). For keyed
 * hashes as RFC 6528 has them, the chance of failing any of these is
 * below 10^-15; AF_INET, which has them, must pass first. Long by
 * nature (128 handshakes, each SYN read back): 300 s.
 */
TEST_F_TIMEOUT(netns, isns_are_unpredictable, 300)
{
	for (int f = 0; f < 2; f++) {
		struct seen s = { 0 };
		int64_t v[CONNS];
		int distinct = 0, close_steps = 0, top = 0, most, nsteps;
		unsigned int buckets = 0;

		ASSERT_EQ(0, connect_many(families[f], 9000 + f, &s)) TH_LOG("%s", FAMILY_NAME(families[f]));
		for (int i = 0; i < CONNS; i++) {
			int dup = 0;

			ASSERT_NE(0u, s.isn[i]) TH_LOG("%s: no SYN seen from port %d", FAMILY_NAME(families[f]), s.port[i]);
			for (int j = 0; j < i; j++)
				dup |= s.isn[j] == s.isn[i];
			distinct += !dup;
			v[i] = s.isn[i];
			buckets |= 1u << (s.isn[i] >> 28);
			if (i > 0) {
				int32_t d = (int32_t)(s.isn[i] - s.isn[i - 1]);

				close_steps += d > -(1 << 24) && d < (1 << 24);
			}
		}
		for (int b = 0; b < 16; b++)
			top += (buckets >> b) & 1;
		steps(v, CONNS, &most, &nsteps);
		TH_LOG("%s: %d distinct ISNs of %d, %d steps within 2^24, the commonest step %d times, %d of 16 top nibbles",
		       FAMILY_NAME(families[f]), distinct, CONNS, close_steps, most, top);
		EXPECT_EQ(CONNS, distinct) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_GE(CONNS / 4, close_steps) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_GE(2, most) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LE(8, top) TH_LOG("%s", FAMILY_NAME(families[f]));
	}
}

/*
 * The source ports connect() picks: to one destination CONNS times (all
 * held), no step between two in a row that makes up half of them, and at
 * least four different steps (Linux's inet_hash_connect moves on by a
 * random 2 to 16 each time, 8 different steps); to DESTS destinations
 * once each, the first ports far apart (at least half of the steps
 * between them over 64: each destination has an offset of its own from
 * a keyed hash, RTCP's bind of port 0 a random one). The same bounds for
 * both families; AF_INET passes them by a wide margin. Long by nature
 * (144 handshakes): 300 s.
 */
TEST_F_TIMEOUT(netns, ephemeral_ports_are_unpredictable, 300)
{
	for (int f = 0; f < 2; f++) {
		struct seen s = { 0 };
		int64_t v[CONNS], first[DESTS];
		int most, nsteps, far = 0, l[DESTS], c[DESTS];

		ASSERT_EQ(0, connect_many(families[f], 9100 + f, &s)) TH_LOG("%s", FAMILY_NAME(families[f]));
		for (int i = 0; i < CONNS; i++)
			v[i] = s.port[i];
		steps(v, CONNS, &most, &nsteps);
		for (int d = 0; d < DESTS; d++) {
			struct sockaddr_in srv;
			struct sockaddr_in local;
			socklen_t len = sizeof(local);

			l[d] = listener_on(families[f], "127.0.0.1", 1, &srv);
			ASSERT_LE(0, l[d]);
			c[d] = stream(families[f]);
			ASSERT_EQ(0, connect_res(c[d], &srv));
			ASSERT_EQ(0, getsockname(c[d], (void *)&local, &len));
			first[d] = ntohs(local.sin_port);
			if (d > 0)
				far += llabs(first[d] - first[d - 1]) > 64;
		}
		for (int d = 0; d < DESTS; d++) {
			struct linger abort_it = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c[d], SOL_SOCKET, SO_LINGER, &abort_it, sizeof(abort_it));
			close(c[d]);
			close(l[d]);
		}
		TH_LOG("%s: ports %lld, %lld, %lld, %lld, ...: the commonest step %d times of %d, %d different steps; "
		       "first ports to %d destinations: %d of %d steps over 64",
		       FAMILY_NAME(families[f]), (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3], most,
		       CONNS - 1, nsteps, DESTS, far, DESTS - 1);
		EXPECT_GT(CONNS / 2, most) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LE(4, nsteps) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LE((DESTS - 1) / 2 + 1, far) TH_LOG("%s", FAMILY_NAME(families[f]));
	}
}

TEST_HARNESS_MAIN
