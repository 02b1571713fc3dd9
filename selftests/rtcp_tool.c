// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for the shell selftests: one side of a connection, over
 * AF_RTCP or AF_INET. An IPv6 ADDR (with a %scope for a link-local one)
 * makes the socket an IPv6 one: AF_INET6, or AF_RTCP's RTCPPROTO_TCP6.
 *
 *	rtcp_tool connect rtcp|inet ADDR PORT [MS] connect, print the time it
 *	                                          took in ms, keep the connection
 *	                                          MS ms (default 0), close
 *	rtcp_tool serve rtcp|inet ADDR PORT N     listen, accept N connections
 *	                                          (printing each peer), exit
 *	rtcp_tool send rtcp|inet ADDR PORT BYTES  connect, send BYTES of the test
 *	                                          pattern, shut down the sending
 *	                                          side, wait for the peer's end
 *	rtcp_tool sink rtcp|inet ADDR PORT        listen, accept one connection,
 *	                                          read it to the end checking the
 *	                                          pattern, print "received N"
 *	rtcp_tool bulk rtcp|inet ADDR PORT connect|listen FILE [RTO_MAX_MS]
 *	                                          a transfer both ways at once,
 *	                                          see bulk() below
 *
 * Prints "ready" once a server listens. Exits 1 with the errno on failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtcp_util.h"

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	return 1;
}

/* A socket address of either family, and its length. */
struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	};
	socklen_t len;
};

/* The peer's address as text. */
/* The address of `a` as text, an IPv6 one with its %scope if it has one. */
static const char *addr_text(const struct addr *a, char *buf, size_t len)
{
	char dev[IF_NAMESIZE];
	size_t n;

	if (a->sa.sa_family != AF_INET6)
		return inet_ntop(AF_INET, &a->sin.sin_addr, buf, len);
	if (!inet_ntop(AF_INET6, &a->sin6.sin6_addr, buf, len))
		return NULL;
	n = strlen(buf);
	if (a->sin6.sin6_scope_id && n + 1 < len)
		snprintf(buf + n, len - n, "%%%s",
			 if_indextoname(a->sin6.sin6_scope_id, dev) ?: "?");
	return buf;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Listens on `addr`, says "ready", and accepts one connection: its fd,
 * or -1 (said why). */
static int accept_one(int fd, struct addr *addr)
{
	int one = 1, c;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &addr->sa, addr->len) || listen(fd, 4))
		return fail("bind/listen"), -1;
	printf("ready\n");
	fflush(stdout);
	c = accept(fd, NULL, NULL);
	if (c < 0)
		return fail("accept"), -1;
	return c;
}

#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44
#endif

/* The wall clock in ms, which the shell's $EPOCHREALTIME reads too. */
static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t got_close, got_finish;
static void on_usr1(int sig) { (void)sig; got_close = 1; }
static void on_term(int sig) { (void)sig; got_finish = 1; }

/* The event that ends (or marks) a bulk transfer: the call, what it gave
 * (an errno's name, or EOF), what poll said, and when. */
static void bulk_event(const char *call, int err, short revents)
{
	printf("%s %s revents=0x%x at %lld\n", call, err ? strerrorname_np(err) : "EOF", revents, wall_ms());
	fflush(stdout);
}

/*
 * bulk: connect to ADDR:PORT (or listen there and accept one connection),
 * then send a test pattern and read and check the peer's, both at once,
 * with a non-blocking socket and poll(), as an application under load
 * would; at most BULK_TICK bytes each 100 ms (320 KiB/s), so that the
 * tests running beside it in the VM keep their share of its CPUs. FILE always holds "SENT RECEIVED" (bytes so far), for the shell
 * to follow progress without signalling. RTO_MAX_MS sets TCP_RTO_MAX_MS
 * (on the listener too: the accepted socket inherits it). It prints
 * "established" once connected, then one line for what ended it: "send
 * ECONNRESET revents=0x... at MS", "recv EOF ..." (and it keeps sending),
 * "poll ...". SIGUSR1: close() at once, leaving the kernel any unsent
 * data (an orphan), print "closed at MS" and exit 0. SIGTERM: stop
 * sending, shut down the sending side, read to the peer's end, wait
 * until the peer has acknowledged everything (TIOCOUTQ 0), print
 * "done SENT RECEIVED" and exit 0. Exits 3 after an error, and after
 * 600 s whatever happens (a bound on a hang).
 */
#define BULK_PERIOD 65521	/* a prime: no segment size divides it */
#define BULK_TICK 32768		/* the most sent each 100 ms */

static int bulk(int fd, struct addr *addr, int argc, char **argv)
{
	/* The stream repeats pattern()'s first BULK_PERIOD bytes: sent
	 * straight from this table and checked with memcmp(), which costs
	 * the busy guest far less than a byte at a time. */
	static unsigned char pat[2 * BULK_PERIOD], buf[BULK_PERIOD];
	unsigned long long sent = 0, rcvd = 0, tick_sent = 0;
	int rto_max = argc > 7 ? atoi(argv[7]) : 0, c = fd, status;
	long long end = wall_ms() + 600000, last = 0;
	bool eof = false, finishing = false;

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = pattern(i % BULK_PERIOD, 11);
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	status = open(argv[6], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (status < 0)
		return fail("status file");
	if (rto_max && setsockopt(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, &rto_max, sizeof(rto_max)))
		return fail("TCP_RTO_MAX_MS");
	if (!strcmp(argv[5], "listen")) {
		c = accept_one(fd, addr);
		if (c < 0)
			return 1;
		close(fd);
	} else if (connect(fd, &addr->sa, addr->len)) {
		return fail("connect");
	}
	if (fcntl(c, F_SETFL, O_NONBLOCK))
		return fail("O_NONBLOCK");
	printf("established\n");
	fflush(stdout);
	while (wall_ms() < end) {
		size_t room = BULK_TICK - (sent - tick_sent);
		struct pollfd p = { .fd = c, .events = (eof ? 0 : POLLIN) | (finishing || !room ? 0 : POLLOUT) };
		char line[64];
		ssize_t n;
		int r;

		if (got_close) {
			close(c);
			printf("closed at %lld\n", wall_ms());
			return 0;
		}
		if (got_finish && !finishing) {
			finishing = true;
			if (shutdown(c, SHUT_WR))
				return bulk_event("shutdown", errno, 0), 3;
		}
		if (finishing && eof) {
			int queued;

			/* Not before the peer has acknowledged all we sent:
			 * our exit would leave the rest to an orphan, which
			 * Linux's TCP ends silently after a few zero window
			 * probes once their backoff reaches TCP_RTO_MAX_MS
			 * (tcp_probe_timer), and a peer whose reader a busy
			 * guest starved would wait for the rest for ever. */
			if (ioctl(c, TIOCOUTQ, &queued))
				return bulk_event("ioctl", errno, 0), 3;
			if (!queued) {
				printf("done %llu %llu\n", sent, rcvd);
				return 0;
			}
		}
		if (wall_ms() - last >= 100) {
			last = wall_ms();
			tick_sent = sent;
			room = BULK_TICK;
			p.events |= finishing ? 0 : POLLOUT;
			r = snprintf(line, sizeof(line), "%llu %llu\n", sent, rcvd);
			if (pwrite(status, line, r, 0) != r || ftruncate(status, r))
				return fail("status file");
		}
		r = poll(&p, 1, 100);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bulk_event("poll", errno, 0), 3;
		if (!eof && p.revents & (POLLIN | POLLERR | POLLHUP)) {
			n = recv(c, buf, sizeof(buf), 0);
			if (n < 0 && errno != EAGAIN)
				return bulk_event("recv", errno, p.revents), 3;
			if (n == 0) {
				/* The peer's end: ours keeps sending, until an error. */
				bulk_event("recv", 0, p.revents);
				eof = true;
			}
			if (n > 0 && memcmp(buf, pat + rcvd % BULK_PERIOD, n))
				return fprintf(stderr, "wrong bytes after %llu\n", rcvd), 1;
			rcvd += n > 0 ? n : 0;
		}
		if (!finishing && room && p.revents & (POLLOUT | POLLERR | POLLHUP)) {
			n = send(c, pat + sent % BULK_PERIOD, room < BULK_PERIOD ? room : BULK_PERIOD, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return bulk_event("send", errno, p.revents), 3;
			sent += n > 0 ? n : 0;
		}
	}
	return fprintf(stderr, "bulk: still running after 600 s\n"), 3;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
	struct addr addr;
	int rtcp, v6, fd;

	if (argc < 5)
		return fprintf(stderr, "usage: see the source\n"), 2;
	rtcp = !strcmp(argv[2], "rtcp");
	if (getaddrinfo(argv[3], argv[4], &hints, &ai) || ai->ai_addrlen > sizeof(addr.sin6))
		return fprintf(stderr, "bad address %s\n", argv[3]), 2;
	memcpy(&addr.sa, ai->ai_addr, ai->ai_addrlen);
	addr.len = ai->ai_addrlen;
	freeaddrinfo(ai);
	v6 = addr.sa.sa_family == AF_INET6;
	fd = socket(rtcp ? AF_RTCP : addr.sa.sa_family, SOCK_STREAM, rtcp && v6 ? RTCPPROTO_TCP6 : 0);
	if (fd < 0)
		return fail("socket");

	if (!strcmp(argv[1], "connect")) {
		long start = now_ms();

		if (connect(fd, &addr.sa, addr.len))
			return fail("connect");
		printf("connected %ld\n", now_ms() - start);
		fflush(stdout);
		if (argc > 5)
			usleep(atol(argv[5]) * 1000);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "bulk") && argc > 6)
		return bulk(fd, &addr, argc, argv);
	if (!strcmp(argv[1], "serve") && argc > 5) {
		int one = 1, n = atoi(argv[5]);

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, &addr.sa, addr.len) || listen(fd, 64))
			return fail("bind/listen");
		printf("ready\n");
		fflush(stdout);
		for (int i = 0; i < n; i++) {
			struct addr peer;
			char buf[INET6_ADDRSTRLEN + IF_NAMESIZE];
			int c;

			peer.len = sizeof(peer.sin6);
			c = accept(fd, &peer.sa, &peer.len);
			if (c < 0)
				return fail("accept");
			printf("accepted %s:%d\n", addr_text(&peer, buf, sizeof(buf)), ntohs(peer.sin.sin_port));
			fflush(stdout);
			/* Keep the connection until the peer is done with it. */
			usleep(200000);
			close(c);
		}
		return 0;
	}
	if (!strcmp(argv[1], "send") && argc > 5) {
		static unsigned char buf[65536];
		unsigned long long len = strtoull(argv[5], NULL, 0), off = 0;
		long start = now_ms();

		if (connect(fd, &addr.sa, addr.len))
			return fail("connect");
		while (off < len) {
			size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(off + i, 7);
			w = send(fd, buf, n, MSG_NOSIGNAL);
			if (w <= 0)
				return fail("send");
			off += w;
		}
		if (shutdown(fd, SHUT_WR))
			return fail("shutdown");
		/* The sink closes once it has everything. */
		if (recv(fd, buf, 1, 0) != 0)
			return fail("waiting for the end");
		printf("sent %llu in %ld ms\n", off, now_ms() - start);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "sink")) {
		static unsigned char buf[65536];
		unsigned long long off = 0;
		int c = accept_one(fd, &addr);

		if (c < 0)
			return 1;
		for (;;) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);

			if (n < 0)
				return fail("recv");
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != pattern(off + i, 7))
					return fprintf(stderr, "wrong byte at %llu\n", off + i), 1;
			off += n;
		}
		printf("received %llu\n", off);
		close(c);
		return 0;
	}
	return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
