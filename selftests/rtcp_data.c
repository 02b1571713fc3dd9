// SPDX-License-Identifier: GPL-2.0
/*
 * Data transfer and teardown on AF_RTCP over loopback, with Linux's TCP as
 * the peer (and RTCP to RTCP): bulk transfers both ways at once checked
 * byte for byte, half-close, close with unread data (a reset), the
 * recv/send flags and errnos (compared with AF_INET), poll, SIGPIPE, and
 * TCP_NODELAY/TCP_CORK. Each test runs in a network namespace of its own.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/time.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

/* One direction of a transfer: `len` bytes of the pattern, then
 * shutdown(SHUT_WR). */
struct sender {
	int fd;
	uint64_t len;
	unsigned int seed;
	int err;
};

static void *send_all(void *arg)
{
	struct sender *s = arg;
	static __thread uint8_t buf[65536];
	uint64_t off = 0;

	while (off < s->len) {
		size_t n = s->len - off < sizeof(buf) ? s->len - off : sizeof(buf);
		ssize_t w;

		/* Odd sizes: segment boundaries fall everywhere. */
		n = n > 1000 ? n - (off % 997) : n;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, s->seed);
		w = send(s->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0) {
			s->err = w < 0 ? errno : EIO;
			return NULL;
		}
		off += w;
	}
	if (shutdown(s->fd, SHUT_WR))
		s->err = errno;
	return NULL;
}

/* Reads until the end of the stream; the bytes that matched the pattern
 * in order, or -1 at the first wrong one (or an error). */
static int64_t recv_all(int fd, unsigned int seed)
{
	static __thread uint8_t buf[70000];
	uint64_t off = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - (off % 1013), 0);

		if (n < 0)
			return -1;
		if (n == 0)
			return off;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(off + i, seed))
				return -1;
		off += n;
	}
}

/* `len` bytes each way at once between `c` and `a`; each side must read
 * exactly what the other sent, then the end of the stream. */
static void both_ways(struct __test_metadata *_metadata, int c, int a, uint64_t len, unsigned int seed)
{
	struct sender to_server = { .fd = c, .len = len, .seed = seed };
	struct sender to_client = { .fd = a, .len = len, .seed = seed + 1 };
	pthread_t t1, t2;
	int64_t got_server, got_client;

	ASSERT_EQ(0, pthread_create(&t1, NULL, send_all, &to_server));
	ASSERT_EQ(0, pthread_create(&t2, NULL, send_all, &to_client));
	got_client = recv_all(c, seed + 1);
	got_server = recv_all(a, seed);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	EXPECT_EQ(0, to_server.err);
	EXPECT_EQ(0, to_client.err);
	EXPECT_EQ((int64_t)len, got_server);
	EXPECT_EQ((int64_t)len, got_client);
}

FIXTURE(data)
{
	int c, a;
};

FIXTURE_VARIANT(data)
{
	int client, server;
};

FIXTURE_VARIANT_ADD(data, rtcp_to_linux) { .client = AF_RTCP, .server = AF_INET };
FIXTURE_VARIANT_ADD(data, linux_to_rtcp) { .client = AF_INET, .server = AF_RTCP };
FIXTURE_VARIANT_ADD(data, rtcp_to_rtcp) { .client = AF_RTCP, .server = AF_RTCP };

FIXTURE_SETUP(data)
{
	ASSERT_EQ(0, private_netns());
	ASSERT_EQ(0, loopback_pair(variant->client, variant->server, &self->c, &self->a));
}

FIXTURE_TEARDOWN(data)
{
	close(self->c);
	close(self->a);
}

/* 8 MiB each way at once; each side reads exactly what the other sent
 * (every byte checked against the pattern), then the end of the stream.
 * Eight times the most a buffer grows to (net.rtcp.rmem and wmem): the
 * windows reach their largest and the buffers wrap many times over. */
TEST_F_TIMEOUT(data, bulk_both_ways, 600)
{
	both_ways(_metadata, self->c, self->a, 8 << 20, 1);
}

/* Half-close: after the client's SHUT_WR the server reads the end, and
 * still sends; the client reads that, then the server's end. */
TEST_F(data, half_close)
{
	char buf[16];

	ASSERT_EQ(5, send(self->c, "hello", 5, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(5, recv(self->a, buf, 5, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	/* Writing after SHUT_WR: EPIPE. */
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	ASSERT_EQ(6, send(self->a, "world!", 6, 0));
	ASSERT_EQ(6, recv(self->c, buf, 6, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "world!", 6));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

/* Closing with unread data resets the connection (RFC 2525 2.17): the peer
 * reads ECONNRESET. */
TEST_F(data, close_with_unread_data_resets)
{
	struct pollfd p = { .fd = self->c, .events = POLLIN };
	char buf[16];

	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	/* Wait until it is in the server's receive queue. */
	ASSERT_EQ(3, recv(self->a, buf, 3, MSG_PEEK | MSG_WAITALL));
	close(self->a);
	self->a = -1;
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
}

/* Both sides close at once: each reads the other's end, nothing is reset. */
TEST_F(data, simultaneous_close)
{
	char buf[4];

	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(0, shutdown(self->a, SHUT_WR));
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
}

/* recv's flags on the client, as Linux's TCP answers them: MSG_DONTWAIT
 * on nothing, SO_RCVTIMEO, MSG_PEEK, MSG_WAITALL, and poll's view. */
TEST_F(data, recv_flags_and_poll)
{
	struct timeval tv = { .tv_usec = 100000 };
	struct pollfd p = { .fd = self->c, .events = POLLIN | POLLOUT | POLLRDHUP };
	char buf[16];

	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);

	ASSERT_EQ(4, send(self->a, "abcd", 4, 0));
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(POLLIN | POLLOUT, p.revents);
	EXPECT_EQ(2, recv(self->c, buf, 2, MSG_PEEK));
	EXPECT_EQ(4, recv(self->c, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	EXPECT_EQ(4, recv(self->c, buf, sizeof(buf), 0));

	/* MSG_WAITALL waits for the rest, in two sends. */
	ASSERT_EQ(3, send(self->a, "123", 3, 0));
	ASSERT_EQ(3, send(self->a, "456", 3, 0));
	EXPECT_EQ(6, recv(self->c, buf, 6, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "123456", 6));

	/* The peer's FIN: readable, POLLRDHUP, recv 0. */
	ASSERT_EQ(0, shutdown(self->a, SHUT_WR));
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP, p.revents);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), MSG_DONTWAIT));
}

/* A sender whose peer does not read fills the buffers: a non-blocking
 * send then says EAGAIN, and poll stops reporting POLLOUT; reading
 * everything makes room again. */
TEST_F(data, full_buffers_block_the_sender)
{
	static char buf[65536];
	struct pollfd p = { .fd = self->c, .events = POLLOUT };
	long total = 0, got = 0;
	ssize_t n;

	for (;;) {
		n = send(self->c, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		total += n;
		ASSERT_GT(64 << 20, total) TH_LOG("the buffers never fill");
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 100));
	while (got < total) {
		n = recv(self->a, buf, sizeof(buf), 0);
		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_EQ(total, got);
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(POLLOUT, p.revents);
}

/* Bytes sent stay as they were sent while the receiver holds them:
 * 32 KiB go through a send buffer kept at its first size (SO_SNDBUF set
 * after connect stops its growth), so that later bytes reuse the memory
 * of earlier ones while the receiver, asleep for a while, still holds
 * those (Linux's TCP keeps received skbs, and the pages they point to,
 * until read; its window takes the 32 KiB). Then every byte reads back as
 * sent (the pattern depends on each byte's offset). */
TEST_F(data, sent_bytes_stay_while_the_receiver_holds_them)
{
	struct sender s = { .fd = self->c, .len = 32 << 10, .seed = 7 };
	pthread_t t;

	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_SNDBUF, &(int){ 4096 }, sizeof(int)));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_all, &s));
	usleep(300000);
	EXPECT_EQ((int64_t)s.len, recv_all(self->a, s.seed));
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.err);
}

/* Peeks and reads of every size see the stream as sent: 256 KiB queue
 * up while the receiver sleeps (an RTCP receiver keeps full segments in
 * their skbs, out-of-order ones and small ones in its buffer), then each
 * read is first peeked at with another size, both checked byte for byte,
 * so that reads begin and end inside segments and span several. */
TEST_F(data, peeks_and_reads_of_any_size)
{
	static const size_t peeks[] = { 1, 777, 4096, 65536, 100000, 1448 };
	static const size_t reads[] = { 1500, 1, 30000, 999, 70000, 2896, 65536 };
	static uint8_t buf[100000];
	struct sender s = { .fd = self->c, .len = 256 << 10, .seed = 11 };
	uint64_t off = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, send_all, &s));
	usleep(300000);
	for (int i = 0;; i++) {
		size_t want = peeks[i % 6];
		ssize_t n = recv(self->a, buf, want, MSG_PEEK);

		ASSERT_LE(0, n);
		if (n == 0)
			break;
		ASSERT_GE(want, (size_t)n);
		for (ssize_t j = 0; j < n; j++) {
			ASSERT_EQ(pattern(off + j, s.seed), buf[j]) TH_LOG("peek at %lu + %zd", (unsigned long)off, j);
		}
		n = recv(self->a, buf, reads[i % 7], 0);
		ASSERT_LT(0, n);
		for (ssize_t j = 0; j < n; j++) {
			ASSERT_EQ(pattern(off + j, s.seed), buf[j]) TH_LOG("read at %lu + %zd", (unsigned long)off, j);
		}
		off += n;
	}
	EXPECT_EQ(s.len, off);
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.err);
}

static volatile sig_atomic_t pipes;

static void on_pipe(int sig)
{
	(void)sig;
	pipes++;
}

struct dribble {
	int fd;
	int gaps_ms[2];
};

/* One byte after each gap. */
static void *dribble(void *arg)
{
	struct dribble *d = arg;

	for (int i = 0; i < 2; i++) {
		usleep(d->gaps_ms[i] * 1000);
		if (send(d->fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return NULL;
}

/* SO_RCVTIMEO is one timeout for the whole call, however many waits it
 * takes (sk_wait_event counts it down): MSG_WAITALL for two bytes that
 * come 4 s and 10 s in returns the first at 5 s, not at 9 s (a timeout
 * started again after the first byte's wake-up); 2.5 s of margin on
 * either side, for a slow or busy machine (0.7 s was too little under
 * TCG with the host's CPUs taken). */
TEST_F(data, receive_timeout_counts_down)
{
	struct timeval tv = { .tv_sec = 5 };
	struct dribble d = { .fd = self->a, .gaps_ms = { 4000, 6000 } };
	char buf[2];
	pthread_t t;
	double took;
	ssize_t n;

	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, pthread_create(&t, NULL, dribble, &d));
	took = mono_s();
	n = recv(self->c, buf, 2, MSG_WAITALL);
	took = mono_s() - took;
	pthread_join(t, NULL);
	EXPECT_EQ(1, n);
	EXPECT_LE(4.9, took) TH_LOG("recv returned after %.2f s", took);
	EXPECT_GE(7.5, took) TH_LOG("recv returned after %.2f s", took);
}

/* SO_LINGER with a timeout: close() waits for the peer to acknowledge the
 * FIN, up to the timeout. A peer that does not read keeps it waiting the
 * whole second; one that reads lets it return at once. */
TEST_F(data, linger_waits_for_the_fin_ack)
{
	static char buf[65536];
	struct linger lg = { .l_onoff = 1, .l_linger = 1 };
	double waited;

	/* The peer's window closes on what c sends. */
	ASSERT_EQ(0, fcntl(self->c, F_SETFL, O_NONBLOCK));
	while (send(self->c, buf, sizeof(buf), MSG_NOSIGNAL) > 0)
		;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	waited = mono_s();
	ASSERT_EQ(0, close(self->c));
	waited = mono_s() - waited;
	EXPECT_LE(0.9, waited) TH_LOG("close() returned after %.2f s", waited);
	EXPECT_GE(3.0, waited) TH_LOG("close() returned after %.2f s", waited);

	/* Again, with a peer that takes everything: no wait for the timeout. */
	close(self->a);
	ASSERT_EQ(0, loopback_pair(variant->client, variant->server, &self->c, &self->a));
	lg.l_linger = 5;
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(1000, send(self->c, buf, 1000, 0));
	waited = mono_s();
	ASSERT_EQ(0, close(self->c));
	waited = mono_s() - waited;
	self->c = -1;
	EXPECT_GE(2.0, waited) TH_LOG("close() returned after %.2f s", waited);
	EXPECT_EQ(1000, recv(self->a, buf, sizeof(buf), MSG_WAITALL));
}

/* Writing to a connection the peer reset: the error first, then EPIPE,
 * with SIGPIPE unless MSG_NOSIGNAL. */
TEST_F(data, sigpipe_after_reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd p = { .fd = self->c, .events = POLLIN };
	int err;

	signal(SIGPIPE, on_pipe);
	/* SO_LINGER of zero: close sends a reset. */
	ASSERT_EQ(0, setsockopt(self->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(self->a);
	self->a = -1;
	ASSERT_EQ(1, poll(&p, 1, 5000));
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	err = errno;
	EXPECT_TRUE(err == ECONNRESET || err == EPIPE) TH_LOG("errno %d", err);
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_LE(1, pipes);
	pipes = 0;
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, pipes);
	signal(SIGPIPE, SIG_DFL);
}

/* TCP_NODELAY and TCP_CORK read back as set. */
TEST_F(data, nodelay_and_cork)
{
	int one = 1, zero = 0, v;
	socklen_t len = sizeof(v);
	char buf[4];

	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, getsockopt(self->c, SOL_TCP, TCP_NODELAY, &v, &len));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_CORK, &one, sizeof(one)));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_CORK, &zero, sizeof(zero)));
	/* Uncorked: the bytes go. */
	EXPECT_EQ(3, recv(self->a, buf, 3, MSG_WAITALL));
}

/* Buffers of a few segments (SO_SNDBUF and SO_RCVBUF at their smallest on
 * a fresh pair) still carry a stream both ways, only slower. */
TEST_F_TIMEOUT(data, small_buffers, 300)
{
	int size = 4096, c, a;
	struct sockaddr_in addr;
	int l = listener_on(variant->server, "127.0.0.1", 4, &addr);

	ASSERT_LE(0, l);
	c = socket(variant->client, SOCK_STREAM, 0);
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)));
	ASSERT_EQ(0, setsockopt(c, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)));
	ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	close(l);
	both_ways(_metadata, c, a, 1 << 20, 3);
	close(c);
	close(a);
}

/*
 * TCP_MAXSEG as Linux's TCP: 536 before a connection, EINVAL outside 88 to
 * 32767, the user's value read back until connected, then the size the
 * connection sends: the smaller of the two ends' limits less the
 * timestamp option (1000 - 12), whichever stacks the two ends are.
 */
TEST_F(data, maxseg_like_inet)
{
	int c = socket(variant->client, SOCK_STREAM, 0), l, a, v = -1, bad;
	socklen_t len = sizeof(v);
	struct sockaddr_in addr;

	ASSERT_LE(0, c);
	ASSERT_EQ(0, getsockopt(c, SOL_TCP, TCP_MAXSEG, &v, &len));
	EXPECT_EQ(536, v);
	bad = 87;
	EXPECT_EQ(-1, setsockopt(c, SOL_TCP, TCP_MAXSEG, &bad, sizeof(bad)));
	EXPECT_EQ(EINVAL, errno);
	bad = 32768;
	EXPECT_EQ(-1, setsockopt(c, SOL_TCP, TCP_MAXSEG, &bad, sizeof(bad)));
	EXPECT_EQ(EINVAL, errno);
	v = 1000;
	ASSERT_EQ(0, setsockopt(c, SOL_TCP, TCP_MAXSEG, &v, sizeof(v)));
	v = -1;
	ASSERT_EQ(0, getsockopt(c, SOL_TCP, TCP_MAXSEG, &v, &len));
	EXPECT_EQ(1000, v);
	l = listener_on(variant->server, "127.0.0.1", 4, &addr);
	ASSERT_LE(0, l);
	v = 1200;
	ASSERT_EQ(0, setsockopt(l, SOL_TCP, TCP_MAXSEG, &v, sizeof(v)));
	ASSERT_EQ(0, connect(c, (void *)&addr, sizeof(addr)));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, getsockopt(c, SOL_TCP, TCP_MAXSEG, &v, &len));
	EXPECT_EQ(988, v);
	ASSERT_EQ(0, getsockopt(a, SOL_TCP, TCP_MAXSEG, &v, &len));
	EXPECT_EQ(988, v);
	close(l);
	close(c);
	close(a);
}

/* SIOCINQ (FIONREAD) and SIOCOUTQ count what waits, as Linux's TCP
 * counts it: the receiver's unread bytes, the sender's unacknowledged
 * ones (none once the peer has acknowledged). */
TEST_F(data, ioctl_queues)
{
	char buf[100] = { 0 };
	int n = -1;

	ASSERT_EQ(100, send(self->c, buf, sizeof(buf), 0));
	ASSERT_EQ(100, recv(self->a, buf, sizeof(buf), MSG_PEEK | MSG_WAITALL));
	ASSERT_EQ(0, ioctl(self->a, FIONREAD, &n));
	EXPECT_EQ(100, n);
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(0, ioctl(self->c, SIOCOUTQ, &n));
		if (n == 0)
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, n);
	ASSERT_EQ(100, recv(self->a, buf, sizeof(buf), 0));
	ASSERT_EQ(0, ioctl(self->a, SIOCINQ, &n));
	EXPECT_EQ(0, n);
}

/* TCP_INFO of an established connection: its state, the options both SYNs
 * carried, an MSS from loopback's MTU, a round-trip estimate and a
 * congestion window. */
TEST_F(data, tcp_info)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	char c = 0;

	ASSERT_EQ(1, send(self->c, &c, 1, 0));
	ASSERT_EQ(1, recv(self->a, &c, 1, 0));
	ASSERT_EQ(1, send(self->a, &c, 1, 0));
	ASSERT_EQ(1, recv(self->c, &c, 1, 0));
	for (int i = 0; i < 2; i++) {
		int fd = i ? self->a : self->c;

		memset(&ti, 0, sizeof(ti));
		len = sizeof(ti);
		ASSERT_EQ(0, getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len));
		EXPECT_EQ(sizeof(ti), (size_t)len);
		EXPECT_EQ(TCP_ESTABLISHED, ti.tcpi_state);
		EXPECT_EQ(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE,
			  ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE));
		EXPECT_LT(1000U, ti.tcpi_snd_mss);
		EXPECT_LT(0U, ti.tcpi_rtt);
		EXPECT_LE(200000U, ti.tcpi_rto);
		EXPECT_LE(2U, ti.tcpi_snd_cwnd);
		EXPECT_EQ(0, ti.tcpi_retransmits);
	}
	/* A short buffer gets the start of it. */
	len = 1;
	ASSERT_EQ(0, getsockopt(self->c, SOL_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(1U, len);
}

/* Buffers left to the protocol start at net.rtcp.rmem's and wmem's start
 * and grow up to their most: the send buffer (from one page) when a write
 * does not fit, to what the congestion window asks (tcp_sndbuf_expand:
 * with loopback's MSS, past wmem's most at once), the window (from half
 * of rmem's start, as Linux's tcp_rmem[1] of 131072 gives a window under
 * 64 KiB) when a reader slower than the writer finds it full, up to half
 * of rmem's most. */
TEST_F_TIMEOUT(data, buffers_grow_as_the_data_needs, 120)
{
	static char buf[1 << 20];
	struct sender more = { .fd = self->c, .len = 4 << 20, .seed = 1 };
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	long total = 0, got = 0;
	pthread_t t;
	int outq = 0;
	ssize_t n;

	EXPECT_EQ(-EINVAL, write_sysctl("/proc/sys/net/rtcp/rmem", "0 4096 8192"));
	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/rmem", "4096 131072 524288"));
	ASSERT_EQ(0, write_sysctl("/proc/sys/net/rtcp/wmem", "4096 4096 262144"));
	if (variant->server == AF_RTCP) {
		ASSERT_EQ(0, getsockopt(self->a, SOL_TCP, TCP_INFO, &ti, &len));
		/* tcp_rmem[1] of 131072: half of it is window, less a segment
		 * (tcp_init_buffer_space), what the window offered may grow to
		 * before more segments come (rcv_ssthresh). */
		EXPECT_LE(60000U, ti.tcpi_rcv_ssthresh) TH_LOG("the window starts as Linux's: %u", ti.tcpi_rcv_ssthresh);
		EXPECT_GE(65535U, ti.tcpi_rcv_ssthresh) TH_LOG("the window starts as Linux's: %u", ti.tcpi_rcv_ssthresh);
	}
	/* The writer fills what it can without blocking. */
	while ((n = send(self->c, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += n;
	ASSERT_EQ(EAGAIN, errno);
	if (variant->client == AF_RTCP) {
		ASSERT_EQ(0, ioctl(self->c, SIOCOUTQ, &outq));
		EXPECT_LT(131072, outq) TH_LOG("the send buffer grew: %d bytes queued", outq);
		EXPECT_GE(262144, outq) TH_LOG("up to wmem's most");
	}
	/* Then more, read by a reader that sleeps before each read. */
	ASSERT_EQ(0, pthread_create(&t, NULL, send_all, &more));
	do {
		usleep(20000);
		n = recv(self->a, buf, sizeof(buf), 0);
		got += n > 0 ? n : 0;
	} while (n > 0);
	pthread_join(t, NULL);
	EXPECT_EQ(0, n);
	EXPECT_EQ(0, more.err);
	EXPECT_EQ(total + (4 << 20), got);
	if (variant->server == AF_RTCP) {
		len = sizeof(ti);
		ASSERT_EQ(0, getsockopt(self->a, SOL_TCP, TCP_INFO, &ti, &len));
		/* The buffer grew (tcp_rcvbuf_grow), and the window with it,
		 * past what tcp_rmem[1] holds, within what rmem's most holds. */
		EXPECT_LT(131072U, ti.tcpi_rcv_ssthresh) TH_LOG("the window grew to %u", ti.tcpi_rcv_ssthresh);
		EXPECT_GE(524288U, ti.tcpi_rcv_ssthresh) TH_LOG("up to what rmem's most holds");
	}
}

/* The keepalive and user-timeout options: bounds and read-back, as Linux's
 * TCP gives them. */
TEST_F(data, keepalive_options_like_inet)
{
	static const struct { int name, val, err; } cases[] = {
		{ TCP_KEEPIDLE, 0, EINVAL }, { TCP_KEEPIDLE, 32768, EINVAL }, { TCP_KEEPIDLE, 5, 0 },
		{ TCP_KEEPINTVL, 0, EINVAL }, { TCP_KEEPINTVL, 3, 0 },
		{ TCP_KEEPCNT, 0, EINVAL }, { TCP_KEEPCNT, 128, EINVAL }, { TCP_KEEPCNT, 4, 0 },
		{ TCP_USER_TIMEOUT, -1, EINVAL }, { TCP_USER_TIMEOUT, 1500, 0 },
	};
	int fds[2] = { self->c, self->a };

	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int v = cases[i].val, got = -1;
			socklen_t len = sizeof(got);

			errno = 0;
			EXPECT_EQ(cases[i].err ? -1 : 0, setsockopt(fds[f], SOL_TCP, cases[i].name, &v, sizeof(v)));
			EXPECT_EQ(cases[i].err, errno) TH_LOG("option %d = %d", cases[i].name, v);
			if (cases[i].err)
				continue;
			ASSERT_EQ(0, getsockopt(fds[f], SOL_TCP, cases[i].name, &got, &len));
			EXPECT_EQ(v, got);
		}
	}
}

/* TCP_CONGESTION as on AF_INET: "cubic" by default (a name padded to
 * TCP_CA_NAME_MAX, or as much as the caller has room for), "reno" may be
 * chosen and reads back, a name no module gives is ENOENT and an empty one
 * EINVAL. Then data still flows both ways. */
TEST_F(data, congestion_control_like_inet)
{
	int fds[2] = { self->c, self->a };

	for (int f = 0; f < 2; f++) {
		char name[32] = { 0 };
		socklen_t len = sizeof(name);

		ASSERT_EQ(0, getsockopt(fds[f], SOL_TCP, TCP_CONGESTION, name, &len));
		EXPECT_STREQ("cubic", name);
		EXPECT_EQ(16U, len);
		len = 3;
		memset(name, 0, sizeof(name));
		ASSERT_EQ(0, getsockopt(fds[f], SOL_TCP, TCP_CONGESTION, name, &len));
		EXPECT_EQ(3U, len);
		EXPECT_STREQ("cub", name);
		errno = 0;
		EXPECT_EQ(-1, setsockopt(fds[f], SOL_TCP, TCP_CONGESTION, "bogus", 5));
		EXPECT_EQ(ENOENT, errno);
		errno = 0;
		EXPECT_EQ(-1, setsockopt(fds[f], SOL_TCP, TCP_CONGESTION, "", 0));
		EXPECT_EQ(EINVAL, errno);
		ASSERT_EQ(0, setsockopt(fds[f], SOL_TCP, TCP_CONGESTION, "reno", 4));
		len = sizeof(name);
		ASSERT_EQ(0, getsockopt(fds[f], SOL_TCP, TCP_CONGESTION, name, &len));
		EXPECT_STREQ("reno", name);
	}
	both_ways(_metadata, self->c, self->a, 1 << 20, 5);
}

/* A peer that vanishes (netem drops everything on lo): with SO_KEEPALIVE,
 * idle 1 s, interval 1 s and 2 probes, recv ends with ETIMEDOUT after
 * about 3 s. */
TEST_F_TIMEOUT(data, keepalive_finds_a_dead_peer, 60)
{
	int one = 1, idle = 1, cnt = 2;
	double took;
	char c;

	/* The peer is cut off first: the probes start from the moment
	 * keepalive is switched on, however long tc took. */
	ASSERT_EQ(0, system("tc qdisc add dev lo root netem loss 100%"));
	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)));
	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)));
	took = mono_s();
	ASSERT_EQ(0, setsockopt(self->c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	EXPECT_EQ(-1, recv(self->c, &c, 1, 0));
	EXPECT_EQ(ETIMEDOUT, errno);
	took = mono_s() - took;
	/* Idle 1 s, then two probes 1 s apart unanswered: about 3 s. */
	EXPECT_LE(2.0, took) TH_LOG("ETIMEDOUT after %.2f s", took);
	EXPECT_GE(20.0, took) TH_LOG("ETIMEDOUT after %.2f s", took);
	ASSERT_EQ(0, system("tc qdisc del dev lo root"));
}

/* TCP_USER_TIMEOUT: data the peer never acknowledges ends the connection
 * after the timeout, not after fifteen retransmissions. */
TEST_F_TIMEOUT(data, user_timeout_ends_a_stalled_send, 60)
{
	int ms = 2000;
	struct pollfd p = { .fd = self->c, .events = POLLIN };

	ASSERT_EQ(0, setsockopt(self->c, SOL_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)));
	ASSERT_EQ(0, system("tc qdisc add dev lo root netem loss 100%"));
	ASSERT_EQ(5, send(self->c, "stall", 5, 0));
	ASSERT_EQ(1, poll(&p, 1, 30000));
	EXPECT_EQ(ETIMEDOUT, so_error(self->c));
	ASSERT_EQ(0, system("tc qdisc del dev lo root"));
}

TEST_HARNESS_MAIN
