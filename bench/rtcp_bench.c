// SPDX-License-Identifier: GPL-2.0
/*
 * The connect/accept/close benchmark (CRR) of make bench, for AF_RTCP and
 * AF_INET alike.
 *
 *	rtcp_bench serve rtcp|inet ADDR PORT      accept and close, forever
 *	rtcp_bench crr rtcp|inet ADDR PORT SECS   connect and close in a loop
 *
 * crr prints one line: family, connections, connections per second, the
 * median and 99th percentile of connect() in microseconds, the failed
 * connects, and how many failed with each errno.
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

#include <linux/rtcp.h>

#define MAX_SAMPLES 1000000

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int family;

	if (argc < 5)
		return fprintf(stderr, "usage: see the source\n"), 2;
	family = !strcmp(argv[2], "rtcp") ? AF_RTCP : AF_INET;
	inet_pton(AF_INET, argv[3], &addr.sin_addr);
	addr.sin_port = htons(atoi(argv[4]));

	if (!strcmp(argv[1], "serve")) {
		int one = 1, l = socket(family, SOCK_STREAM, 0);

		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l < 0 || bind(l, (void *)&addr, sizeof(addr)) || listen(l, 1024))
			return perror("listen"), 1;
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			int c = accept(l, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	}
	if (!strcmp(argv[1], "crr") && argc > 5) {
		long long end = now_ns() + atoll(argv[5]) * 1000000000LL, start = now_ns();
		long long *lat = malloc(sizeof(*lat) * MAX_SAMPLES);
		long n = 0, failed = 0, errs[256] = { 0 };

		while (now_ns() < end && n < MAX_SAMPLES) {
			int fd = socket(family, SOCK_STREAM, 0);
			long long t0 = now_ns();

			if (fd < 0 || connect(fd, (void *)&addr, sizeof(addr))) {
				failed++;
				errs[errno & 255]++;
				if (fd >= 0)
					close(fd);
				continue;
			}
			lat[n++] = now_ns() - t0;
			close(fd);
		}
		if (!n)
			return fprintf(stderr, "no connection (%ld failed)\n", failed), 1;
		qsort(lat, n, sizeof(*lat), cmp_ll);
		printf("%s %ld %.1f %lld %lld %ld", argv[2], n, n * 1e9 / (now_ns() - start),
		       lat[n / 2] / 1000, lat[n * 99 / 100] / 1000, failed);
		for (int e = 0; e < 256; e++)
			if (errs[e])
				printf(" %s:%ld", strerrorname_np(e), errs[e]);
		printf("\n");
		return 0;
	}
	return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
