// SPDX-License-Identifier: GPL-2.0
/*
 * TCP Fast Open (RFC 7413) on AF_RTCP, against Linux's TCP Fast Open both
 * ways: the client with sendto(MSG_FASTOPEN) and TCP_FASTOPEN_CONNECT,
 * the listener with TCP_FASTOPEN; the first connection gets the cookie,
 * the next ones carry their first bytes in the SYN, which the listener's
 * child has to read before the handshake ends (TCPI_OPT_SYN_DATA on both
 * ends, the TCPFastOpen* counters). Each pairing of families runs in a
 * network namespace of its own, over loopback, with net.ipv4.tcp_fastopen
 * and net.rtcp.fastopen at 3 (client and listener). The socket options'
 * errnos and values read back are compared with AF_INET's.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/tcp.h>

#ifndef SOL_TCP
#define SOL_TCP IPPROTO_TCP
#endif

#include "kselftest_harness.h"
#include "rtcp_util.h"

/* What one pairing saw, to compare with every other. */
struct tfo_run {
	int setup;		/* 0, or the step that failed */
	int sent[3];		/* what each client's first send returned */
	int got[3];		/* what each child read first */
	int child_syn_data[3];	/* TCPI_OPT_SYN_DATA on the child */
	int client_syn_data[3];	/* and on the client */
	int replies_ok;		/* connections whose reply came back */
	int connect_deferred;	/* TCP_FASTOPEN_CONNECT's connect() */
	long passive, active, cookie_reqd;
};

static int syn_data(int fd)
{
	struct tcp_info i;
	socklen_t len = sizeof(i);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &i, &len))
		return -errno;
	return !!(i.tcpi_options & TCPI_OPT_SYN_DATA);
}

/* Connection `k` from a client of `cf` to listener `l`: its first bytes
 * by sendto(MSG_FASTOPEN), or (`k` 2) by TCP_FASTOPEN_CONNECT's
 * connect() and a write; the child reads them and answers. */
static void one(int cf, int l, const struct sockaddr_in *addr, int k, struct tfo_run *r)
{
	char msg[32], buf[64];
	int c = socket(cf, SOCK_STREAM, 0), a, one = 1, n;

	snprintf(msg, sizeof(msg), "hello %d", k);
	if (c < 0) {
		r->setup = 10 + k;
		return;
	}
	if (k == 2) {
		if (setsockopt(c, SOL_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one))) {
			r->setup = 20;
			close(c);
			return;
		}
		r->connect_deferred = connect(c, (void *)addr, sizeof(*addr)) ? -errno : 0;
		r->sent[k] = write(c, msg, strlen(msg));
	} else {
		r->sent[k] = sendto(c, msg, strlen(msg), MSG_FASTOPEN, (void *)addr, sizeof(*addr));
	}
	if (r->sent[k] < 0)
		r->sent[k] = -errno;
	a = accept(l, NULL, NULL);
	if (a < 0) {
		r->setup = 30 + k;
		close(c);
		return;
	}
	n = read(a, buf, sizeof(buf));
	r->got[k] = n == (int)strlen(msg) && !memcmp(buf, msg, n) ? n : -1;
	r->child_syn_data[k] = syn_data(a);
	if (write(a, "ok", 2) == 2 && read(c, buf, sizeof(buf)) == 2 && !memcmp(buf, "ok", 2))
		r->replies_ok++;
	r->client_syn_data[k] = syn_data(c);
	close(a);
	close(c);
}

/* The three connections from a client of `cf` to a listener of `sf`. */
static void pairing(int cf, int sf, struct tfo_run *r)
{
	struct sockaddr_in addr = sin_of("127.0.0.1", 0);
	socklen_t len = sizeof(addr);
	int qlen = 16, l;

	if (private_netns()) {
		r->setup = 1;
		return;
	}
	if (write_sysctl("/proc/sys/net/ipv4/tcp_fastopen", "3") ||
	    write_sysctl("/proc/sys/net/rtcp/fastopen", "3")) {
		r->setup = 2;
		return;
	}
	l = socket(sf, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) ||
	    bind(l, (void *)&addr, sizeof(addr)) || listen(l, 8) || getsockname(l, (void *)&addr, &len)) {
		r->setup = 3;
		return;
	}
	for (int k = 0; k < 3 && !r->setup; k++)
		one(cf, l, &addr, k, r);
	close(l);
	r->passive = ext_stat(sf, "TCPFastOpenPassive");
	r->active = ext_stat(cf, "TCPFastOpenActive");
	r->cookie_reqd = ext_stat(sf, "TCPFastOpenCookieReqd");
}

/* `pairing` in a child process (a namespace of its own each). */
static void run_pairing(int cf, int sf, struct tfo_run *out)
{
	struct tfo_run *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->setup = 100;
	if (r == MAP_FAILED)
		return;
	memset(r, 0, sizeof(*r));
	pid = fork();
	if (pid == 0) {
		pairing(cf, sf, r);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, NULL, 0) == pid)
		*out = *r;
	munmap(r, sizeof(*r));
}

static void show(const char *what, const struct tfo_run *r)
{
	printf("# %s: setup %d, sent %d %d %d, read %d %d %d, child syn data %d %d %d, client %d %d %d, "
	       "replies %d, deferred connect %d, passive %ld active %ld cookie reqd %ld\n",
	       what, r->setup, r->sent[0], r->sent[1], r->sent[2], r->got[0], r->got[1], r->got[2],
	       r->child_syn_data[0], r->child_syn_data[1], r->child_syn_data[2], r->client_syn_data[0],
	       r->client_syn_data[1], r->client_syn_data[2], r->replies_ok, r->connect_deferred,
	       r->passive, r->active, r->cookie_reqd);
}

/* Every pairing of the two stacks does what Linux does with itself: the
 * first connection asks for the cookie and sends its bytes after the
 * handshake; the next two carry them in the SYN, and both ends say so. */
TEST(interoperates_with_linux_both_ways)
{
	static const char *names[2][2] = {
		{ "inet -> inet", "inet -> rtcp" }, { "rtcp -> inet", "rtcp -> rtcp" },
	};
	static const struct tfo_run want = {
		.sent = { 7, 7, 7 }, .got = { 7, 7, 7 },
		.child_syn_data = { 0, 1, 1 }, .client_syn_data = { 0, 1, 1 },
		.replies_ok = 3, .passive = 2, .active = 2, .cookie_reqd = 1,
	};

	for (int ci = 0; ci < 2; ci++)
		for (int si = 0; si < 2; si++) {
			struct tfo_run r;

			run_pairing(families[ci], families[si], &r);
			show(names[ci][si], &r);
			EXPECT_EQ(0, memcmp(&r, &want, sizeof(r))) {
				TH_LOG("%s differs from Linux with itself", names[ci][si]);
			}
		}
}

#define NOPTS 24

/* The Fast Open options of `family`: their errnos and what they read
 * back, on a fresh socket, a listener and a connection. */
static void options_of(int family, long long *v)
{
	unsigned char key[32], back[40];
	socklen_t len = sizeof(back);
	int s = socket(family, SOCK_STREAM, 0), c, a, n = 0;

	for (int i = 0; i < 32; i++)
		key[i] = i * 7 + 1;
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN, 5);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN, -1);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN, 100000);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN_CONNECT, 2);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, 2);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	/* No key of its own: none read back. */
	v[n++] = getsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, back, &len) ? -errno : (long long)len;
	v[n++] = setsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, key, 15) ? -errno : 0;
	v[n++] = setsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, key, 16) ? -errno : 0;
	len = sizeof(back);
	v[n++] = getsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, back, &len) ? -errno : (long long)len;
	v[n++] = memcmp(back, key, 16);
	v[n++] = setsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, key, 32) ? -errno : 0;
	len = sizeof(back);
	v[n++] = getsockopt(s, SOL_TCP, TCP_FASTOPEN_KEY, back, &len) ? -errno : (long long)len;
	v[n++] = memcmp(back, key, 32);
	close(s);
	if (loopback_pair(family, family, &c, &a)) {
		v[n++] = -1000;
		return;
	}
	/* Not on a connection; MSG_FASTOPEN on one is a second connect. */
	v[n++] = set_get(c, SOL_TCP, TCP_FASTOPEN, 5);
	v[n++] = set_get(c, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
	v[n++] = set_get(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	v[n++] = send(c, "x", 1, MSG_FASTOPEN) < 0 ? -errno : 0;
	close(c);
	close(a);
	/* With the client's bit off. */
	write_sysctl(family == AF_RTCP ? "/proc/sys/net/rtcp/fastopen" : "/proc/sys/net/ipv4/tcp_fastopen", "2");
	s = socket(family, SOCK_STREAM, 0);
	v[n++] = set_get(s, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
	{
		struct sockaddr_in to = sin_of("127.0.0.1", 9);

		v[n++] = sendto(s, "x", 1, MSG_FASTOPEN, (void *)&to, sizeof(to)) < 0 ? -errno : 0;
	}
	close(s);
}

TEST(options_as_linux)
{
	long long got[2][NOPTS];

	ASSERT_EQ(0, private_netns());
	for (int i = 0; i < 2; i++) {
		memset(got[i], 0, sizeof(got[i]));
		options_of(families[i], got[i]);
	}
	for (int k = 0; k < NOPTS; k++) {
		EXPECT_EQ(got[0][k], got[1][k]) {
			TH_LOG("option check %d: AF_INET %lld, AF_RTCP %lld", k, got[0][k], got[1][k]);
		}
	}
}

TEST_HARNESS_MAIN
