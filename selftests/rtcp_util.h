/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What several RTCP selftests share: the two families each test compares,
 * addresses, and the counters and socket lists of /proc/net.
 */
#ifndef RTCP_UTIL_H
#define RTCP_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtcp.h>

/*
 * The harness's bound on a test (30 s by default) is a bound on a hang,
 * not a measure of speed: under TCG, with KASAN and lockdep, on a host
 * whose CPUs are busy, and beside the other test programs the VM runs at
 * once, a test of a few seconds can take ten times as long. RTCP's tests
 * are bounded at 120 s; the ones that are long by nature say so with
 * TEST_F_TIMEOUT.
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120
#endif

/* Every "like_inet" test runs AF_INET first, as the reference. */
static const int families[] = { AF_INET, AF_RTCP };
#define FAMILY_NAME(f) ((f) == AF_RTCP ? "AF_RTCP" : "AF_INET")

static inline struct sockaddr_in sin_of(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, addr, &sin.sin_addr);
	return sin;
}

/* The byte at `off` of a test stream (`seed` tells streams apart): what
 * the transfer tests send and check. */
static inline unsigned char pattern(unsigned long long off, unsigned int seed)
{
	unsigned long long x = (off + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	return (unsigned char)(x >> 29);
}

/* The Internet checksum's sum of `n` bytes at `p` (big-endian words),
 * added to `sum`; inet_fold() makes it a checksum field. */
static inline uint32_t inet_sum16(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static inline uint16_t inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* A listener of `family` on `ip`, an ephemeral port; its address in `addr`. */
static inline int listener_on(int family, const char *ip, int backlog, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(family, SOCK_STREAM, 0);

	*addr = sin_of(ip, 0);
	if (fd < 0 || bind(fd, (void *)addr, sizeof(*addr)) || listen(fd, backlog) ||
	    getsockname(fd, (void *)addr, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A connected pair over loopback: the client of `cf`, the server's
 * accepted end of `sf`; the listener is closed. 0, or -1. */
static inline int loopback_pair(int cf, int sf, int *c, int *a)
{
	struct sockaddr_in addr;
	int l = listener_on(sf, "127.0.0.1", 4, &addr);

	if (l < 0)
		return -1;
	*c = socket(cf, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&addr, sizeof(addr)))
		return -1;
	*a = accept(l, NULL, NULL);
	close(l);
	return *a < 0 ? -1 : 0;
}

/* connect() as a result: 0 or -errno. */
static inline int connect_res(int fd, const struct sockaddr_in *sin)
{
	return connect(fd, (const void *)sin, sizeof(*sin)) ? -errno : 0;
}

/* setsockopt() as a result: 0 or -errno. */
static inline int set_res(int fd, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, level, name, val, len) ? -errno : 0;
}

/* setsockopt then getsockopt of an int: the errno of the set (0 if it
 * worked) in the high half, the value read back in the low. */
static inline long long set_get(int fd, int level, int name, int val)
{
	int got = -12345, err = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, level, name, &val, sizeof(val)))
		err = errno;
	if (getsockopt(fd, level, name, &got, &len))
		got = -errno;
	return ((long long)err << 32) | (unsigned int)got;
}

/* SO_ERROR, or -errno. */
static inline int so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

/* A counter of /proc/net/rtcp_stat, or -1. */
static inline long rtcp_stat(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen("/proc/net/rtcp_stat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

/*
 * A counter of Linux's TCP: `section` ("Tcp:" in /proc/net/snmp, "TcpExt:"
 * in /proc/net/netstat) is a line of names followed by a line of values.
 * -1 if there is no such counter.
 */
static inline long inet_stat(const char *file, const char *section, const char *name)
{
	static char names[8192], vals[8192];
	size_t n = strlen(section);
	long found = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn, *sv, *k = strtok_r(names, " \n", &sn), *v = strtok_r(vals, " \n", &sv);

		if (strncmp(names, section, n))
			continue;
		while ((k = strtok_r(NULL, " \n", &sn)) && (v = strtok_r(NULL, " \n", &sv)))
			if (!strcmp(k, name))
				found = atol(v);
	}
	fclose(f);
	return found;
}

/* The TcpExt counter of AF_INET, or RTCP's of the same name. */
static inline long ext_stat(int family, const char *name)
{
	return family == AF_RTCP ? rtcp_stat(name) : inet_stat("/proc/net/netstat", "TcpExt:", name);
}

/* Lines of /proc/net/rtcp (or /proc/net/tcp for AF_INET) in state `st`. */
static inline int proc_count(int family, const char *st)
{
	char line[160];
	int n = 0;
	FILE *f = fopen(family == AF_RTCP ? "/proc/net/rtcp" : "/proc/net/tcp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char state[8];

		if (sscanf(line, "%*s %*s %*s %7s", state) == 1 && !strcmp(state, st))
			n++;
	}
	fclose(f);
	return n;
}

/* Seconds of the monotonic clock. */
static inline double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A network namespace of the caller's own, its loopback up: 0, or -1.
 * No helper program: under TCG with the debug kernel every fork and exec
 * costs a good part of a second.
 */
static inline int private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, ret = -1;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret ? -1 : 0;
}

/* Runs the iproute2 commands of `cmds` (one a line, less than a pipe's
 * buffer) in one `ip -batch`: one program started for all of them. The
 * commands are in the pipe before ip starts, so an ip that fails early
 * cannot leave the writer to SIGPIPE. 0, or -1. */
static inline int ip_batch_ns(const char *netns, const char *cmds);

static inline int ip_batch(const char *cmds)
{
	return ip_batch_ns(NULL, cmds);
}

/* ip_batch() in the named namespace `netns` (`ip -n`), or in the
 * caller's (NULL). */
static inline int ip_batch_ns(const char *netns, const char *cmds)
{
	size_t len = strlen(cmds);
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	n = write(fds[1], cmds, len);
	close(fds[1]);
	if (n != (ssize_t)len) {
		close(fds[0]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		if (netns)
			execlp("ip", "ip", "-n", netns, "-batch", "-", (char *)NULL);
		else
			execlp("ip", "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * Runs fn(arg) in a child that has left uid 0 for nobody, which drops
 * every capability (setresuid without SECBIT_KEEP_CAPS), in the
 * caller's namespaces; it hands results back in memory the caller
 * mapped shared (MAP_SHARED). 0 if the child got that far and fn
 * returned 0; else what went wrong (1: fork, 2: setresuid, 3: fn, 4:
 * the child died).
 */
static inline int as_nobody(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(fn(arg) ? 3 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 4;
	return WEXITSTATUS(status);
}

/* The fields of the line of `file` that starts with `prefix` (sockstat's
 * "inuse N orphan N tw N alloc N mem N"): 0, or -1. */
static inline int sockstat(const char *file, const char *prefix, long v[5])
{
	char line[256], fmt[128];
	FILE *f = fopen(file, "r");
	int ret = -1;

	snprintf(fmt, sizeof(fmt), "%s inuse %%ld orphan %%ld tw %%ld alloc %%ld mem %%ld", prefix);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &v[0], &v[1], &v[2], &v[3], &v[4]) == 5)
			ret = 0;
	if (f)
		fclose(f);
	return ret;
}

static inline int family_sockstat(int family, long v[5])
{
	return family == AF_RTCP ? sockstat("/proc/net/rtcp_sockstat", "RTCP:", v) :
				   sockstat("/proc/net/sockstat", "TCP:", v);
}

/* Writes `val` to the sysctl file `path`: 0 or -errno. */
static inline int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * An ICMP host unreachable to `from` (sent from and to it) about its TCP
 * segment to `to` with sequence number `seq`, as a router would send it:
 * 0, or -1.
 */
static inline int send_icmp_unreach(const struct sockaddr_in *from, const struct sockaddr_in *to, uint32_t seq)
{
	struct {
		struct icmphdr icmp;
		struct iphdr ip;
		uint16_t sport, dport;
		uint32_t seq;
	} __attribute__((packed)) m = { 0 };
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	uint32_t sum = 0;
	ssize_t n;

	if (raw < 0)
		return -1;
	m.icmp.type = ICMP_DEST_UNREACH;
	m.icmp.code = ICMP_HOST_UNREACH;
	m.ip.version = 4;
	m.ip.ihl = 5;
	m.ip.tot_len = htons(60);
	m.ip.ttl = 1;
	m.ip.protocol = IPPROTO_TCP;
	m.ip.saddr = from->sin_addr.s_addr;
	m.ip.daddr = to->sin_addr.s_addr;
	m.sport = from->sin_port;
	m.dport = to->sin_port;
	m.seq = htonl(seq);
	for (size_t i = 0; i < sizeof(m) / 2; i++)
		sum += ((uint16_t *)&m)[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	m.icmp.checksum = ~sum;
	n = sendto(raw, &m, sizeof(m), 0, (const void *)from, sizeof(*from));
	close(raw);
	return n == (ssize_t)sizeof(m) ? 0 : -1;
}

#endif
