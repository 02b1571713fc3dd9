// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures in rtcp.ko (issue 17). failslab and
 * fail_page_alloc are told, through debugfs, to fail only allocations
 * made with rtcp.ko's code on the stack (require-start/end over the
 * module's text), GFP_KERNEL ones included:
 *
 * - each_allocation_of_each_call: the socket calls one by one (socket,
 *   bind, listen, connect, accept, setsockopt, send, recv), each run again
 *   with its first, second, ... allocation failed (/proc/thread-self/
 *   fail-nth) until one run makes no allocation that can fail: every run
 *   succeeds or fails with ENOMEM or ENOBUFS (connect also with the
 *   errno of a connection its peer could not take), and nothing else
 *   breaks: a connection made afterwards carries its bytes;
 * - transfers_under_random_failures: 3 % of all the module's
 *   allocations fail, in softirq too, while RTCP to RTCP and Linux's TCP
 *   to RTCP connections are made, then a tenth while they carry 256 KiB
 *   each way: segments
 *   that could not be taken or sent go again, every byte arrives intact,
 *   and a call that fails says ENOMEM or ENOBUFS;
 *
 * and the VM's kmemleak scan and kernel log checks find nothing after.
 * The failures are the whole kernel's: this job runs alone.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#define FAILSLAB "/sys/kernel/debug/failslab/"
#define FAILPAGE "/sys/kernel/debug/fail_page_alloc/"

/* The module's text: from its first function to past its last. */
static int module_text(unsigned long *start, unsigned long *end)
{
	char line[512], type;
	unsigned long a;
	FILE *f = fopen("/proc/kallsyms", "r");

	*start = ~0ul;
	*end = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "\t[rtcp]") || sscanf(line, "%lx %c", &a, &type) != 2)
			continue;
		if ((type == 't' || type == 'T') && a) {
			*start = a < *start ? a : *start;
			*end = a > *end ? a : *end;
		}
	}
	if (f)
		fclose(f);
	/* The last function's own length is not listed: a page more than
	 * any of the module's functions takes. */
	*end += 1 << 16;
	return *start < *end && *start != ~0ul ? 0 : -1;
}

static int set(const char *dir, const char *knob, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s", dir, knob);
	return write_sysctl(path, val);
}

/* Both injectors aimed at the module, failing `probability` percent of
 * its allocations (0: only the fail-nth ones). 0, or -errno. */
static int aim(int probability)
{
	const char *dirs[] = { FAILSLAB, FAILPAGE };
	char s[32], e[32], p[16];
	unsigned long start, end;
	int ret = 0;

	if (module_text(&start, &end))
		return -ENOENT;
	snprintf(s, sizeof(s), "%#lx", start);
	snprintf(e, sizeof(e), "%#lx", end);
	snprintf(p, sizeof(p), "%d", probability);
	for (int i = 0; i < 2; i++) {
		ret = ret ?: set(dirs[i], "verbose", "0");
		ret = ret ?: set(dirs[i], "ignore-gfp-wait", "N");
		ret = ret ?: set(dirs[i], "task-filter", "N");
		ret = ret ?: set(dirs[i], "stacktrace-depth", "32");
		ret = ret ?: set(dirs[i], "require-start", s);
		ret = ret ?: set(dirs[i], "require-end", e);
		ret = ret ?: set(dirs[i], "interval", "1");
		ret = ret ?: set(dirs[i], "space", "0");
		ret = ret ?: set(dirs[i], "times", "-1");
		ret = ret ?: set(dirs[i], "probability", p);
	}
	return ret;
}

/* No more failures. */
static void disarm(void)
{
	set(FAILSLAB, "probability", "0");
	set(FAILPAGE, "probability", "0");
}

FIXTURE(alloc)
{
};

FIXTURE_SETUP(alloc)
{
	/* The namespace first: its own set-up allocates in the module. */
	ASSERT_EQ(0, private_netns());
	/* RTCP's debug kernel has them (scripts/kconfig/rtcp.config): their
	 * absence is a config bug, not a reason to pass. */
	ASSERT_EQ(0, access(FAILSLAB "probability", W_OK)) TH_LOG("no failslab (CONFIG_FAILSLAB, debugfs)");
	ASSERT_EQ(0, access(FAILPAGE "probability", W_OK)) TH_LOG("no fail_page_alloc (CONFIG_FAIL_PAGE_ALLOC)");
	ASSERT_EQ(0, aim(0));
}

FIXTURE_TEARDOWN(alloc)
{
	disarm();
}

/* Makes this thread's n-th allocation that the injectors see fail
 * (n > 0), or none (0). */
static void fail_nth(int n)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", n);
	write_sysctl("/proc/thread-self/fail-nth", v);
}

/* Whether the failure asked for was injected; none is asked for after. */
static int injected(void)
{
	char v[16] = "";
	int fd = open("/proc/thread-self/fail-nth", O_RDWR), n = 0;

	if (fd >= 0) {
		if (read(fd, v, sizeof(v) - 1) > 0)
			n = atoi(v);
		if (write(fd, "0", 1) < 0)
			n = -1;
		close(fd);
	}
	return n == 0;
}

/* A connected RTCP pair over loopback: the client, the accepted end.
 * 0, or -1. */
static int rtcp_pair(int *c, int *a)
{
	return loopback_pair(AF_RTCP, AF_RTCP, c, a);
}

/* Whether a pair still carries bytes both ways. */
static int carries(int c, int a)
{
	char buf[5];

	return send(c, "ping", 4, 0) == 4 && recv(a, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "ping", 4) &&
	       send(a, "pong", 4, 0) == 4 && recv(c, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "pong", 4);
}

/* The errnos a call may fail with when the module's memory fails. */
static int out_of_memory(int e)
{
	return e == ENOMEM || e == ENOBUFS;
}

enum op { OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_ACCEPT, OP_SETSOCKOPT, OP_SEND, OP_RECV, OP_N };
static const char *const op_names[] = { "socket", "bind", "listen", "connect", "accept", "setsockopt", "send", "recv" };

/*
 * One run of `op` with the n-th allocation it makes failed: the errno it
 * gave (0: it succeeded), or -1 if the test's own set-up failed; sets
 * *hit when the failure was injected.
 */
static int run_op(enum op op, int n, int *hit)
{
	struct sockaddr_in addr = sin_of("127.0.0.1", 0);
	int fd = -1, l = -1, c = -1, a = -1, err = 0, ret = 0, one = 1;
	static char buf[65536];
	socklen_t len = sizeof(addr);

	/* What the call needs, made before the failure is armed. */
	if (op >= OP_BIND && (fd = socket(AF_RTCP, SOCK_STREAM, 0)) < 0)
		return -1;
	if (op >= OP_LISTEN && bind(fd, (void *)&addr, sizeof(addr)))
		goto setup;
	if (op >= OP_CONNECT && op <= OP_ACCEPT) {
		if (listen(fd, 4) || getsockname(fd, (void *)&addr, &len))
			goto setup;
		l = fd;
		/* A bound on a hang: a connect that never ends returns. */
		if ((c = socket(AF_RTCP, SOCK_STREAM, 0)) < 0 ||
		    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval)))
			goto setup;
		if (op == OP_ACCEPT && connect(c, (void *)&addr, sizeof(addr)))
			goto setup;
	}
	if (op >= OP_SETSOCKOPT) {
		close(fd);
		fd = -1;
		if (rtcp_pair(&c, &a))
			goto setup;
		if (op == OP_RECV && (send(a, buf, sizeof(buf), 0) != sizeof(buf) ||
				      poll(&(struct pollfd){ .fd = c, .events = POLLIN }, 1, 10000) != 1))
			goto setup;
	}

	fail_nth(n);
	switch (op) {
	case OP_SOCKET:
		ret = fd = socket(AF_RTCP, SOCK_STREAM, 0);
		break;
	case OP_BIND:
		ret = bind(fd, (void *)&addr, sizeof(addr));
		break;
	case OP_LISTEN:
		ret = listen(fd, 4);
		break;
	case OP_CONNECT:
		ret = connect(c, (void *)&addr, sizeof(addr));
		break;
	case OP_ACCEPT:
		ret = a = accept(l, NULL, NULL);
		break;
	case OP_SETSOCKOPT:
		ret = setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		break;
	case OP_SEND:
		ret = send(c, buf, sizeof(buf), MSG_DONTWAIT) < 0 ? -1 : 0;
		break;
	case OP_RECV:
		ret = recv(c, buf, sizeof(buf), MSG_DONTWAIT) < 0 ? -1 : 0;
		break;
	default:
		break;
	}
	err = ret < 0 ? errno : 0;
	*hit = injected();
	if (op == OP_ACCEPT && l >= 0)
		close(l), l = -1;
	goto out;
setup:
	err = -1;
out:
	fail_nth(0);
	for (int *p = (int[]){ fd, l, c, a }, i = 0; i < 4; i++)
		if (p[i] >= 0)
			close(p[i]);
	return err;
}

TEST_F(alloc, each_allocation_of_each_call)
{
	for (int op = 0; op < OP_N; op++) {
		int failed = 0, n, err, hit = 0;

		for (n = 1; n <= 200; n++) {
			err = run_op(op, n, &hit);
			ASSERT_NE(-1, err) TH_LOG("%s: the test's set-up failed", op_names[op]);
			if (!hit) {
				/* It made fewer than n allocations: nothing failed. */
				EXPECT_EQ(0, err) TH_LOG("%s with no failure: %s", op_names[op], strerror(err));
				break;
			}
			if (err) {
				failed++;
				/* bind: the port's bucket not allocated is
				 * EADDRINUSE, as Linux's inet_bind says it
				 * (get_port failed). */
				EXPECT_TRUE(out_of_memory(err) || (op == OP_BIND && err == EADDRINUSE))
					TH_LOG("%s with allocation %d failed: %s", op_names[op], n, strerror(err));
			}
		}
		TH_LOG("%s: %d allocations can fail, %d of which fail the call", op_names[op], n - 1, failed);
		EXPECT_GT(200, n) TH_LOG("%s: more allocations than the test tries", op_names[op]);
	}
	/* The module is still whole. */
	{
		int c, a;

		ASSERT_EQ(0, rtcp_pair(&c, &a));
		EXPECT_TRUE(carries(c, a));
		close(c);
		close(a);
	}
}

enum { PAIRS = 4, BYTES = 256 << 10 };

/* One end of a transfer: the socket, and how far it sent and read. */
struct end {
	int fd;
	long long sent, got;
	int seed_out, seed_in;
};

/*
 * Moves BYTES each way on every pair at once with poll, checking every
 * byte: 0, or -1 on a wrong byte, an errno other than ENOMEM/ENOBUFS
 * (counted in *oom), or no progress for 60 s.
 */
static int transfer(struct end *ends, int n, long *oom)
{
	static unsigned char buf[16384];
	struct pollfd pfd[2 * PAIRS];

	for (;;) {
		int busy = 0;

		for (int i = 0; i < n; i++) {
			pfd[i].fd = ends[i].fd;
			pfd[i].events = (ends[i].sent < BYTES ? POLLOUT : 0) | (ends[i].got < BYTES ? POLLIN : 0);
			busy |= pfd[i].events != 0;
		}
		if (!busy)
			return 0;
		if (poll(pfd, n, 60000) <= 0)
			return -1;
		for (int i = 0; i < n; i++) {
			struct end *e = &ends[i];
			ssize_t r;

			if (pfd[i].revents & (POLLERR | POLLNVAL))
				return -1;
			if ((pfd[i].revents & POLLOUT) && e->sent < BYTES) {
				size_t k = BYTES - e->sent < (long long)sizeof(buf) ? (size_t)(BYTES - e->sent) : sizeof(buf);

				for (size_t j = 0; j < k; j++)
					buf[j] = pattern(e->sent + j, e->seed_out);
				r = send(e->fd, buf, k, MSG_DONTWAIT);
				if (r > 0)
					e->sent += r;
				else if (r < 0 && out_of_memory(errno))
					(*oom)++;
				else if (r < 0 && errno != EAGAIN)
					return -1;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP)) {
				r = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (r == 0 && e->got < BYTES)
					return -1;
				if (r < 0 && errno != EAGAIN)
					return -1;
				for (ssize_t j = 0; j < r; j++)
					if (buf[j] != pattern(e->got + j, e->seed_in))
						return -1;
				e->got += r > 0 ? r : 0;
			}
		}
	}
}

static int connect_tries(int family, int l, const struct sockaddr_in *addr, int *c, int *a, long *retries);

/* Connects a client of `family` to `addr`, retrying a connect that the
 * failures stopped (ENOMEM, ENOBUFS, or the reset or the timeout of a
 * handshake whose segments were lost), and accepts it on `l`, retrying
 * an accept that had no memory; 20 tries of each at most. 0, or -1. */
static int connect_retrying(int family, int l, const struct sockaddr_in *addr, int *c, int *a, long *retries)
{
	int ret = connect_tries(family, l, addr, c, a, retries);

	if (ret)
		fprintf(stderr, "# %s client: %s\n", FAMILY_NAME(family), strerror(errno));
	return ret;
}

static int connect_tries(int family, int l, const struct sockaddr_in *addr, int *c, int *a, long *retries)
{
	for (int tries = 0; tries < 20; tries++) {
		struct timeval tv = { .tv_sec = 10 };
		int e;

		*c = socket(family, SOCK_STREAM, 0);
		if (*c < 0 && out_of_memory(errno)) {
			(*retries)++;
			continue;
		}
		if (*c < 0 || setsockopt(*c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
			return -1;
		if (!connect(*c, (void *)addr, sizeof(*addr)))
			break;
		e = errno;
		close(*c);
		*c = -1;
		if (!out_of_memory(e) && e != ECONNRESET && e != ETIMEDOUT && e != EINPROGRESS) {
			errno = e;
			return -1;
		}
		(*retries)++;
	}
	if (*c < 0)
		return -1;
	/* The handshake is done on the client's side; the listener's child
	 * may take SYN-ACKs sent again to be made. */
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd pfd = { .fd = l, .events = POLLIN };

		if (poll(&pfd, 1, 60000) != 1)
			return -1;
		*a = accept(l, NULL, NULL);
		if (*a >= 0)
			return 0;
		if (!out_of_memory(errno))
			return -1;
		(*retries)++;
	}
	return -1;
}

TEST_F(alloc, transfers_under_random_failures)
{
	struct end ends[2 * PAIRS];
	struct sockaddr_in addr;
	long oom = 0, retries = 0;
	int l, v;

	ASSERT_LE(0, l = listener_on(AF_RTCP, "127.0.0.1", 2 * PAIRS, &addr));
	/* Connections are made with 3 % of the allocations failing: a
	 * child that could not be made waits for the SYN-ACK's
	 * retransmission to be tried again (1 s, then 2 s, ...), and a
	 * tenth would leave too few tries within the bounds. */
	ASSERT_EQ(0, aim(3));
	for (int i = 0; i < PAIRS; i++) {
		int c, a;

		/* RTCP to RTCP, and Linux's TCP to RTCP. */
		ASSERT_EQ(0, connect_retrying(i % 2 ? AF_INET : AF_RTCP, l, &addr, &c, &a, &retries));
		ends[2 * i] = (struct end){ .fd = c, .seed_out = 2 * i, .seed_in = 2 * i + 1 };
		ends[2 * i + 1] = (struct end){ .fd = a, .seed_out = 2 * i + 1, .seed_in = 2 * i };
	}
	ASSERT_EQ(0, aim(10));
	v = transfer(ends, 2 * PAIRS, &oom);
	disarm();
	TH_LOG("%ld connects again, %ld sends refused for memory", retries, oom);
	EXPECT_EQ(0, v);
	for (int i = 0; i < 2 * PAIRS; i++) {
		EXPECT_EQ(BYTES, ends[i].got);
		close(ends[i].fd);
	}
	close(l);
	/* And without failures, as before. */
	{
		int c, a;

		ASSERT_EQ(0, rtcp_pair(&c, &a));
		EXPECT_TRUE(carries(c, a));
		close(c);
		close(a);
	}
}

TEST_HARNESS_MAIN
