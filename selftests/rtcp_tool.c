// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for the shell selftests: one side of a connection, over
 * AF_RTCP or AF_INET.
 *
 *	rtcp_tool connect rtcp|inet ADDR PORT     connect, print the time it
 *	                                          took in ms, close
 *	rtcp_tool serve rtcp|inet ADDR PORT N     listen, accept N connections
 *	                                          (printing each peer), exit
 *
 * Prints "ready" once a server listens. Exits 1 with the errno on failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtcp.h>

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
	return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
