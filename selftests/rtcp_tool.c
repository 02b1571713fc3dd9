// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for the shell selftests: one side of a connection, over
 * AF_RTCP or AF_INET.
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
 *
 * Prints "ready" once a server listens. Exits 1 with the errno on failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtcp_util.h"

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	return 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int family, fd;

	if (argc < 5)
		return fprintf(stderr, "usage: see the source\n"), 2;
	family = !strcmp(argv[2], "rtcp") ? AF_RTCP : AF_INET;
	if (inet_pton(AF_INET, argv[3], &addr.sin_addr) != 1)
		return fprintf(stderr, "bad address %s\n", argv[3]), 2;
	addr.sin_port = htons(atoi(argv[4]));
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");

	if (!strcmp(argv[1], "connect")) {
		long start = now_ms();

		if (connect(fd, (void *)&addr, sizeof(addr)))
			return fail("connect");
		printf("connected %ld\n", now_ms() - start);
		fflush(stdout);
		if (argc > 5)
			usleep(atol(argv[5]) * 1000);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "serve") && argc > 5) {
		int one = 1, n = atoi(argv[5]);

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&addr, sizeof(addr)) || listen(fd, 64))
			return fail("bind/listen");
		printf("ready\n");
		fflush(stdout);
		for (int i = 0; i < n; i++) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			char buf[INET_ADDRSTRLEN];
			int c = accept(fd, (void *)&peer, &len);

			if (c < 0)
				return fail("accept");
			printf("accepted %s:%d\n", inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf)),
			       ntohs(peer.sin_port));
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

		if (connect(fd, (void *)&addr, sizeof(addr)))
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
		int one = 1, c;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&addr, sizeof(addr)) || listen(fd, 4))
			return fail("bind/listen");
		printf("ready\n");
		fflush(stdout);
		c = accept(fd, NULL, NULL);
		if (c < 0)
			return fail("accept");
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
