// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks of make bench, for AF_RTCP and AF_INET alike.
 *
 *	rtcp_bench serve rtcp|inet ADDR PORT            the server of them all
 *	rtcp_bench crr rtcp|inet ADDR PORT SECS         connect, one byte each
 *	                                                way, close, in a loop
 *	rtcp_bench rr rtcp|inet ADDR PORT SECS          one connection, one byte
 *	                                                each way, in a loop
 *	rtcp_bench bulk rtcp|inet ADDR PORT SECS N      N connections sending as
 *	                                                fast as they can
 *	rtcp_bench scale rtcp|inet ADDR PORT N          N connections opened
 *	                                                (connect and accept, in
 *	                                                one process), held idle,
 *	                                                then closed
 *	rtcp_bench ports rtcp|inet ADDR PORT            connects to two servers
 *	                                                (PORT, PORT+1) with a
 *	                                                1,000-port ephemeral
 *	                                                range until one fails
 *
 * A client's first byte tells the server what the connection is: 'c' (CRR:
 * answer one byte, then wait for the end), 'e' (echo every byte), 's'
 * (sink: read to the end). Each client prints one line:
 *	crr FAMILY connections conn/s median_us p99_us failed [errno:count]...
 *	rr FAMILY round-trips median_us p99_us
 *	bulk FAMILY streams MB/s
 *	scale FAMILY connections setup_s conn/s KB/conn close_s
 *	ports FAMILY connections errno
 * scale's memory is MemFree's fall in /proc/meminfo while the connections
 * are open, per connection (both ends of it), each reading taken with the
 * slab caches' empty slabs given back (settle()): else a family measured
 * after another would find the other's freed sockets' slabs ready (the
 * kernel TCP socket that holds each RTCP port is one) and seem to cost
 * less.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtcp.h>

#define MAX_SAMPLES 1000000

/* The server's address, IPv4 or IPv6 (the port at the same place in
 * both), its length, and the family and protocol of every socket. */
static union {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
} addr;
static socklen_t addr_len;
static int family, protocol;

static int stream(void)
{
	return socket(family, SOCK_STREAM, protocol);
}

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

/* One accepted connection, served as its first byte asks. */
static void *serve_one(void *arg)
{
	static __thread char buf[65536];
	int fd = (int)(long)arg, one = 1;
	char kind;

	setsockopt(fd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	if (recv(fd, &kind, 1, 0) == 1) {
		if (kind == 'c') {
			if (send(fd, "c", 1, MSG_NOSIGNAL) == 1)
				while (recv(fd, buf, sizeof(buf), 0) > 0)
					;
		} else {
			ssize_t n;

			while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
				if (kind == 'e' && send(fd, buf, n, MSG_NOSIGNAL) != n)
					break;
		}
	}
	close(fd);
	return NULL;
}

static int serve(void)
{
	int one = 1, l = stream();

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, &addr.sa, addr_len) || listen(l, 1024))
		return perror("listen"), 1;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(l, NULL, NULL);
		pthread_t t;

		if (c < 0)
			continue;
		if (pthread_create(&t, NULL, serve_one, (void *)(long)c)) {
			close(c);
			continue;
		}
		pthread_detach(t);
	}
}

static int dial(char kind)
{
	int fd = stream(), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, &addr.sa, addr_len) || send(fd, &kind, 1, 0) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int crr(const char *name, long long secs)
{
	long long end = now_ns() + secs * 1000000000LL, start = now_ns();
	long long *lat = malloc(sizeof(*lat) * MAX_SAMPLES);
	long n = 0, failed = 0, errs[256] = { 0 };
	char c;

	while (now_ns() < end && n < MAX_SAMPLES) {
		long long t0 = now_ns();
		int fd = dial('c');

		if (fd < 0 || recv(fd, &c, 1, 0) != 1) {
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
	printf("crr %s %ld %.1f %lld %lld %ld", name, n, n * 1e9 / (now_ns() - start),
	       lat[n / 2] / 1000, lat[n * 99 / 100] / 1000, failed);
	for (int e = 0; e < 256; e++)
		if (errs[e])
			printf(" %s:%ld", strerrorname_np(e), errs[e]);
	printf("\n");
	return 0;
}

static int rr(const char *name, long long secs)
{
	long long end = now_ns() + secs * 1000000000LL;
	long long *lat = malloc(sizeof(*lat) * MAX_SAMPLES);
	int fd = dial('e');
	long n = 0;
	char c = 'x';

	if (fd < 0)
		return perror("connect"), 1;
	while (now_ns() < end && n < MAX_SAMPLES) {
		long long t0 = now_ns();

		if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1)
			return perror("round-trip"), 1;
		lat[n++] = now_ns() - t0;
	}
	close(fd);
	qsort(lat, n, sizeof(*lat), cmp_ll);
	printf("rr %s %ld %lld %lld\n", name, n, lat[n / 2] / 1000, lat[n * 99 / 100] / 1000);
	return 0;
}

struct stream {
	long long end;
	long long bytes;
};

static void *bulk_one(void *arg)
{
	static __thread char buf[65536];
	struct stream *s = arg;
	int fd = dial('s');

	if (fd < 0)
		return NULL;
	while (now_ns() < s->end) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n <= 0)
			break;
		s->bytes += n;
	}
	close(fd);
	return NULL;
}

static int bulk(const char *name, long long secs, int streams)
{
	struct stream s[64] = { 0 };
	pthread_t t[64];
	long long start = now_ns(), total = 0;

	if (streams < 1 || streams > 64)
		return fprintf(stderr, "1 to 64 streams\n"), 2;
	for (int i = 0; i < streams; i++) {
		s[i].end = start + secs * 1000000000LL;
		pthread_create(&t[i], NULL, bulk_one, &s[i]);
	}
	for (int i = 0; i < streams; i++) {
		pthread_join(t[i], NULL);
		total += s[i].bytes;
	}
	printf("bulk %s %d %.2f\n", name, streams, total / 1e6 / ((now_ns() - start) / 1e9));
	return 0;
}

/* Writes s to the file at path; errors are ignored (a kernel without the
 * file only measures less exactly). */
static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

/* Gives back what the kernel keeps free but not in MemFree: the page cache
 * and reclaimable slab objects (drop_caches), then every slab cache's empty
 * and partial-list slabs (SLUB's /sys/kernel/slab/NAME/shrink). */
static void settle(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[512];

	sync();
	put("/proc/sys/vm/drop_caches", "3");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		put(path, "1");
	}
	if (d)
		closedir(d);
}

/* MemFree of /proc/meminfo, in kB, with the slab caches settled. */
static long mem_free_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	settle();
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static int listen_on(int port, int backlog)
{
	typeof(addr) a = addr;
	int one = 1, fd = stream();

	a.sin.sin_port = htons(port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, &a.sa, addr_len) || listen(fd, backlog))
		return -1;
	return fd;
}

static int scale(const char *name, int n)
{
	struct rlimit rl = { 2 * n + 64, 2 * n + 64 };
	int l = listen_on(ntohs(addr.sin.sin_port), 1024), *fds = calloc(2 * n, sizeof(int)), open = 0;
	long long t0, t1, t2;
	long before, held;

	if (l < 0 || !fds || setrlimit(RLIMIT_NOFILE, &rl))
		return perror("scale"), 1;
	before = mem_free_kb();
	t0 = now_ns();
	while (open < n) {
		int c = stream(), a;

		if (c < 0 || connect(c, &addr.sa, addr_len) || (a = accept(l, NULL, NULL)) < 0)
			return fprintf(stderr, "scale: %d connections, then %s\n", open, strerror(errno)), 1;
		fds[2 * open] = c;
		fds[2 * open + 1] = a;
		open++;
	}
	t1 = now_ns();
	held = mem_free_kb();
	for (int i = 0; i < 2 * n; i++)
		close(fds[i]);
	t2 = now_ns();
	close(l);
	printf("scale %s %d %.2f %.1f %.2f %.2f\n", name, n, (t1 - t0) / 1e9, n * 1e9 / (t1 - t0),
	       (double)(before - held) / n, (t2 - t1) / 1e9);
	return 0;
}

/* Writes net.ipv4.ip_local_port_range: 0, or -1. */
static int port_range(const char *range)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");

	if (!f)
		return -1;
	fputs(range, f);
	return fclose(f) ? -1 : 0;
}

static int ports(const char *name)
{
	int port = ntohs(addr.sin.sin_port), l0 = listen_on(port, 1100), l1 = listen_on(port + 1, 1100);
	struct linger abort_close = { 1, 0 };
	struct rlimit rl = { 4096, 4096 };
	static int fds[2100];
	char old[64] = "";
	int n = 0, err = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (!f || !fgets(old, sizeof(old), f) || l0 < 0 || l1 < 0 || setrlimit(RLIMIT_NOFILE, &rl))
		return perror("ports"), 1;
	fclose(f);
	if (port_range("20000 20999"))
		return perror("ports"), 1;
	while (n < 2100) {
		typeof(addr) a = addr;
		int fd = stream();

		a.sin.sin_port = htons(port + n % 2);
		if (fd < 0 || connect(fd, &a.sa, addr_len)) {
			err = errno;
			close(fd);
			break;
		}
		/* A reset at the end: no TIME-WAIT to hold the ports. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
		fds[n++] = fd;
	}
	port_range(old);
	printf("ports %s %d %s\n", name, n, err ? strerrorname_np(err) : "none");
	while (n)
		close(fds[--n]);
	close(l0);
	close(l1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return fprintf(stderr, "usage: see the source\n"), 2;
	/* An IPv6 ADDR: AF_INET6, or RTCP's IPv6 sockets. */
	if (strchr(argv[3], ':')) {
		addr.sin6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, argv[3], &addr.sin6.sin6_addr);
		addr_len = sizeof(addr.sin6);
		family = !strcmp(argv[2], "rtcp") ? AF_RTCP : AF_INET6;
		protocol = family == AF_RTCP ? RTCPPROTO_TCP6 : 0;
	} else {
		addr.sin.sin_family = AF_INET;
		inet_pton(AF_INET, argv[3], &addr.sin.sin_addr);
		addr_len = sizeof(addr.sin);
		family = !strcmp(argv[2], "rtcp") ? AF_RTCP : AF_INET;
	}
	addr.sin.sin_port = htons(atoi(argv[4]));

	if (!strcmp(argv[1], "serve"))
		return serve();
	if (!strcmp(argv[1], "crr") && argc > 5)
		return crr(argv[2], atoll(argv[5]));
	if (!strcmp(argv[1], "rr") && argc > 5)
		return rr(argv[2], atoll(argv[5]));
	if (!strcmp(argv[1], "scale") && argc > 5)
		return scale(argv[2], atoi(argv[5]));
	if (!strcmp(argv[1], "ports"))
		return ports(argv[2]);
	if (!strcmp(argv[1], "bulk") && argc > 6)
		return bulk(argv[2], atoll(argv[5]), atoi(argv[6]));
	return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
