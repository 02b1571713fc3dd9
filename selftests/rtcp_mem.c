// SPDX-License-Identifier: GPL-2.0
/*
 * net.rtcp.mem, RTCP's tcp_mem: the pages a namespace's connections hold
 * in buffers (sockstat's "mem") stay within its most, however many bytes
 * senders queue for receivers that do not read; past the pressure mark
 * the namespace goes under memory pressure (TCPMemoryPressures), segments
 * that need memory it has not got are dropped (TCPRcvQDrop) and sent
 * again, writers wait, and every byte still arrives once readers read.
 * Linux's tcp_mem is global (and lives in the first namespace only);
 * RTCP's is per namespace, so each test sets its own.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

enum {
	N = 4,
	CHUNK = 65536,
	/* The most, in pages, that the bounded runs give the namespace. */
	MOST = 32,
	/*
	 * What one connection may take past the most: a receiver with less
	 * than its least unread (net.rtcp.rmem's first, one page) takes the
	 * segment that comes (on loopback up to 64 KiB: 17 pages, or an
	 * skb's truesize), a writer with less than wmem's least queued
	 * writes up to it.
	 */
	SLACK = 24,
};

FIXTURE(mem)
{
	/* net.ipv4.tcp_mem, read in the first namespace. */
	long tcp_mem[3];
};

FIXTURE_SETUP(mem)
{
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_mem", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(3, fscanf(f, "%ld %ld %ld", &self->tcp_mem[0], &self->tcp_mem[1], &self->tcp_mem[2]));
	fclose(f);
	ASSERT_EQ(0, private_netns());
}

FIXTURE_TEARDOWN(mem)
{
}

/* The pages the namespace's RTCP buffers hold, or -1. */
static long mem_pages(void)
{
	long v[5];

	return family_sockstat(AF_RTCP, v) ? -1 : v[4];
}

/* Connected pairs over loopback, an RTCP server's accepted end and a
 * client, non-blocking, of the family `clients` gives (RTCP's unless
 * said), and the bytes queued on each. */
struct pairs {
	int clients[N];
	int c[N], a[N];
	long long queued[N];
};

static int open_pairs(struct pairs *p)
{
	struct sockaddr_in addr;
	int l = listener_on(AF_RTCP, "127.0.0.1", N, &addr);

	if (l < 0)
		return -1;
	for (int i = 0; i < N; i++) {
		p->queued[i] = 0;
		p->c[i] = socket(p->clients[i] ?: AF_RTCP, SOCK_STREAM, 0);
		if (p->c[i] < 0 || connect(p->c[i], (void *)&addr, sizeof(addr)))
			return -1;
		p->a[i] = accept(l, NULL, NULL);
		if (p->a[i] < 0 || fcntl(p->c[i], F_SETFL, O_NONBLOCK))
			return -1;
	}
	close(l);
	return 0;
}

/* Queues test bytes on every client, nobody reading, until three passes
 * a tenth of a second apart find no room anywhere: the buffers, the
 * windows or the namespace's memory are full. */
static void fill(struct pairs *p)
{
	static unsigned char buf[CHUNK];
	long long before, total = 0;

	for (int idle = 0; idle < 3; usleep(100000)) {
		before = total;
		for (int i = 0; i < N; i++) {
			for (;;) {
				ssize_t n;

				for (int k = 0; k < CHUNK; k++)
					buf[k] = pattern(p->queued[i] + k, i);
				n = send(p->c[i], buf, CHUNK, 0);
				if (n <= 0)
					break;
				p->queued[i] += n;
				total += n;
			}
		}
		idle = total == before ? idle + 1 : 0;
	}
}

/* Reads what client `i` queued from its accepted end, checking every
 * byte; waits of 60 s at most for each part. 0, or -1. */
static int drain_one(struct pairs *p, int i)
{
	static unsigned char buf[CHUNK];
	long long got = 0;

	while (got < p->queued[i]) {
		struct pollfd pfd = { .fd = p->a[i], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 60000) != 1)
			return -1;
		n = recv(p->a[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return -1;
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != pattern(got + k, i))
				return -1;
		got += n;
	}
	return 0;
}

/* Each pair drained and closed in turn, which gives its memory back to
 * the next; then the namespace holds no buffer page (a TIME-WAIT
 * connection keeps none). 0, or the pair that failed plus one, or -1. */
static int drain_close(struct pairs *p)
{
	for (int i = 0; i < N; i++) {
		if (drain_one(p, i))
			return i + 1;
		close(p->c[i]);
		close(p->a[i]);
	}
	for (int tries = 0; tries < 200 && mem_pages() != 0; tries++)
		usleep(50000);
	return mem_pages() == 0 ? 0 : -1;
}

/* A new namespace's net.rtcp.mem is Linux's tcp_mem. */
TEST_F(mem, defaults_to_tcp_mem)
{
	long v[3];
	FILE *f = fopen("/proc/sys/net/rtcp/mem", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(3, fscanf(f, "%ld %ld %ld", &v[0], &v[1], &v[2]));
	fclose(f);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(self->tcp_mem[i], v[i]);
}

/*
 * Receivers that never read, of RTCP senders (whose send buffers count
 * too) and, after them, of Linux TCP senders (whose do not: their
 * segments find the namespace's memory taken). With the default bound
 * the senders' buffers and the receivers' windows fill, more than the
 * bounded run may hold, so that its bound is what stops it; with
 * net.rtcp.mem's most at MOST pages the namespace holds no more than
 * that and the slack of each connection, the segments it has no memory
 * for are dropped, and every byte arrives once the readers read.
 */
TEST_F(mem, unread_bytes_stay_within_mem)
{
	char limits[64];
	struct pairs p = { .clients = { AF_RTCP, AF_RTCP, AF_INET, AF_INET } };
	long free_run, bounded, pressures, drops;

	ASSERT_EQ(0, open_pairs(&p));
	fill(&p);
	free_run = mem_pages();
	TH_LOG("default bound: %lld+%lld+%lld+%lld bytes queued, %ld pages held",
	       p.queued[0], p.queued[1], p.queued[2], p.queued[3], free_run);
	ASSERT_LT(MOST + N * SLACK, free_run);
	ASSERT_EQ(0, drain_close(&p));

	snprintf(limits, sizeof(limits), "%d %d %d", MOST / 2, MOST * 3 / 4, MOST);
	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/mem", limits));
	pressures = rtcp_stat("TCPMemoryPressures");
	drops = rtcp_stat("TCPRcvQDrop");
	ASSERT_LE(0, pressures);
	ASSERT_LE(0, drops);
	ASSERT_EQ(0, open_pairs(&p));
	fill(&p);
	bounded = mem_pages();
	TH_LOG("net.rtcp.mem %s: %lld+%lld+%lld+%lld bytes queued, %ld pages held", limits,
	       p.queued[0], p.queued[1], p.queued[2], p.queued[3], bounded);
	TH_LOG("%ld times under pressure, %ld segments dropped", rtcp_stat("TCPMemoryPressures") - pressures,
	       rtcp_stat("TCPRcvQDrop") - drops);
	EXPECT_GE(MOST + N * SLACK, bounded);
	EXPECT_LT(pressures, rtcp_stat("TCPMemoryPressures"));
	EXPECT_LT(drops, rtcp_stat("TCPRcvQDrop"));
	EXPECT_EQ(0, drain_close(&p));
}

struct reader {
	int fd;
	long long want;
	int ok;
};

/* Reads `want` test bytes (stream 0) from `fd`, checking them. */
static void *read_all(void *arg)
{
	struct reader *r = arg;
	struct pairs one = { .a = { r->fd }, .queued = { r->want } };

	r->ok = drain_one(&one, 0) == 0;
	return NULL;
}

/*
 * With the namespace past its most (a receiver that never reads holds
 * it), a blocking writer whose peer reads still gets all its bytes
 * through: each connection may hold its least whatever the namespace's
 * memory, and the writer waits for room instead of failing.
 */
TEST_F(mem, blocking_writer_gets_through_past_most)
{
	enum { BYTES = 256 << 10 };
	struct sockaddr_in addr;
	struct timeval tv = { .tv_sec = 60 };
	static unsigned char buf[BYTES];
	struct reader r = { .want = BYTES };
	struct pairs hog = { 0 };
	pthread_t t;
	ssize_t n;
	int l, c;

	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/mem", "16 24 32"));
	ASSERT_EQ(0, open_pairs(&hog));
	fill(&hog);
	TH_LOG("the hogs hold %ld pages (the most: 32)", mem_pages());
	ASSERT_LE(24, mem_pages());

	ASSERT_LE(0, l = listener_on(AF_RTCP, "127.0.0.1", 1, &addr));
	ASSERT_LE(0, c = socket(AF_RTCP, SOCK_STREAM, 0));
	ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
	ASSERT_LE(0, r.fd = accept(l, NULL, NULL));
	/* A bound on a hang: the send returns short when it runs out. */
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	for (int k = 0; k < BYTES; k++)
		buf[k] = pattern(k, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, read_all, &r));
	n = send(c, buf, BYTES, 0);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(BYTES, n);
	EXPECT_TRUE(r.ok);
	close(c);
	close(r.fd);
	close(l);
	EXPECT_EQ(0, drain_close(&hog));
}

TEST_HARNESS_MAIN
