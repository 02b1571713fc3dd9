// SPDX-License-Identifier: GPL-2.0
/*
 * SYN cookies (net.rtcp.syncookies, as net.ipv4.tcp_syncookies): a SYN
 * flood from a spoofed address fills a listener's SYN queue, and the real
 * clients that come next are answered with cookies and get in; without
 * cookies they are dropped; with syncookies=2 every connection goes
 * through a cookie. Each case runs against an AF_INET listener first and
 * an AF_RTCP one second, and the TcpExt counters of both must agree.
 *
 * The namespace has lo and a dummy device, 10.99.0.1/24, whose far side
 * (10.99.0.2, the spoofed source) never answers: the SYN-ACKs to the
 * flood go out into the dummy and are lost.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#define SERVER "10.99.0.1"
#define SPOOFED "10.99.0.2"

/*
 * Sends, through a raw socket, a TCP segment from SPOOFED:`sport` to
 * `dst`: a SYN with the options Linux puts in its SYNs (MSS, SACK-permitted,
 * timestamps, window scale), or an ACK without options.
 */
static int spoof(const struct sockaddr_in *dst, uint16_t sport, int syn, uint32_t seq, uint32_t ack)
{
	static const uint8_t syn_opts[20] = {
		2, 4, 0x05, 0xb4,		/* MSS 1460 */
		4, 2,				/* SACK permitted */
		8, 10, 0, 0, 0, 1, 0, 0, 0, 0,	/* TSval 1, TSecr 0 */
		1,				/* NOP */
		3, 3, 7,			/* window scale 7 */
	};
	struct {
		struct iphdr ip;
		struct tcphdr th;
		uint8_t opts[20];
	} __attribute__((packed)) p = { 0 };
	size_t len = sizeof(p.ip) + sizeof(p.th) + (syn ? sizeof(syn_opts) : 0);
	struct { uint32_t src, dst; uint8_t zero, proto; uint16_t len; } __attribute__((packed)) ph;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW), ret;

	if (fd < 0)
		return -errno;
	p.ip.version = 4;
	p.ip.ihl = 5;
	p.ip.ttl = 64;
	p.ip.protocol = IPPROTO_TCP;
	p.ip.tot_len = htons(len);
	inet_pton(AF_INET, SPOOFED, &p.ip.saddr);
	p.ip.daddr = dst->sin_addr.s_addr;
	p.th.source = htons(sport);
	p.th.dest = dst->sin_port;
	p.th.seq = htonl(seq);
	p.th.ack_seq = htonl(ack);
	p.th.doff = (len - sizeof(p.ip)) / 4;
	p.th.syn = !!syn;
	p.th.ack = !syn;
	p.th.window = htons(64240);
	if (syn)
		memcpy(p.opts, syn_opts, sizeof(syn_opts));
	ph = (typeof(ph)){ p.ip.saddr, p.ip.daddr, 0, IPPROTO_TCP, htons(len - sizeof(p.ip)) };
	p.th.check = inet_fold(inet_sum16(&p.th, len - sizeof(p.ip), inet_sum16(&ph, sizeof(ph), 0)));
	ret = sendto(fd, &p, len, 0, (const void *)dst, sizeof(*dst)) == (ssize_t)len ? 0 : -errno;
	close(fd);
	return ret;
}

/*
 * A listener of `family` on SERVER with a backlog of 2, and ten spoofed
 * SYNs that fill its SYN queue: three requests, the other seven turned
 * away (or answered with cookies).
 */
static int flooded_listener(int family, struct sockaddr_in *addr)
{
	int l = listener_on(family, SERVER, 2, addr);

	for (int i = 0; l >= 0 && i < 10; i++) {
		if (spoof(addr, 1000 + i, 1, 1000000 * i, 0)) {
			close(l);
			return -1;
		}
	}
	return l;
}

/* Sets net.ipv4.tcp_syncookies and net.rtcp.syncookies to `val`. */
static int set_syncookies(const char *val)
{
	return write_sysctl("/proc/sys/net/ipv4/tcp_syncookies", val) ?:
	       write_sysctl("/proc/sys/net/rtcp/syncookies", val);
}

/* The cookie counters of a family, to compare AF_RTCP with AF_INET. */
struct cookie_stats {
	long full_cookies, full_drop, sent, recv, failed, drops;
};

static struct cookie_stats cookie_stats(int family)
{
	return (struct cookie_stats){
		.full_cookies = ext_stat(family, "TCPReqQFullDoCookies"),
		.full_drop = ext_stat(family, "TCPReqQFullDrop"),
		.sent = ext_stat(family, "SyncookiesSent"),
		.recv = ext_stat(family, "SyncookiesRecv"),
		.failed = ext_stat(family, "SyncookiesFailed"),
		.drops = ext_stat(family, "ListenDrops"),
	};
}

/* `after` less `before`, counter by counter. */
static struct cookie_stats cookie_delta(struct cookie_stats after, struct cookie_stats before)
{
	return (struct cookie_stats){
		after.full_cookies - before.full_cookies, after.full_drop - before.full_drop,
		after.sent - before.sent, after.recv - before.recv,
		after.failed - before.failed, after.drops - before.drops,
	};
}

/* A blocking connect from a client of `family` to `addr`, then accept(). */
static int connect_and_accept(int family, int l, const struct sockaddr_in *addr)
{
	struct timeval tv = { .tv_sec = 5 };
	int c = socket(family, SOCK_STREAM, 0), a, ret;

	if (c < 0)
		return -errno;
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = connect_res(c, addr);
	if (!ret) {
		struct pollfd p = { .fd = l, .events = POLLIN };

		ret = poll(&p, 1, 5000) == 1 ? 0 : -ETIMEDOUT;
		a = ret ? -1 : accept(l, NULL, NULL);
		if (a < 0 && !ret)
			ret = -errno;
		if (a >= 0)
			close(a);
	}
	close(c);
	return ret;
}

FIXTURE(flood)
{
};

FIXTURE_SETUP(flood)
{
	ASSERT_EQ(0, private_netns());
	ASSERT_EQ(0, ip_batch("link add d0 type dummy\nlink set d0 up\n"
			      "addr add " SERVER "/24 dev d0\n"
			      "neigh add " SPOOFED " lladdr 02:00:00:00:00:02 dev d0\n"));
}

FIXTURE_TEARDOWN(flood)
{
}

/* net.rtcp.syncookies: as net.ipv4.tcp_syncookies, default 1, 0 to 2. */
TEST_F(flood, sysctl_like_inet)
{
	const char *paths[] = { "/proc/sys/net/ipv4/tcp_syncookies", "/proc/sys/net/rtcp/syncookies" };

	for (int f = 0; f < 2; f++) {
		char buf[8] = "";
		FILE *fp = fopen(paths[f], "r");

		ASSERT_NE(NULL, fp) TH_LOG("%s", paths[f]);
		ASSERT_NE(NULL, fgets(buf, sizeof(buf), fp));
		fclose(fp);
		EXPECT_STREQ("1\n", buf) TH_LOG("%s", paths[f]);
		EXPECT_EQ(0, write_sysctl(paths[f], "2")) TH_LOG("%s", paths[f]);
		EXPECT_EQ(0, write_sysctl(paths[f], "0")) TH_LOG("%s", paths[f]);
	}
	/* Linux's tcp_syncookies takes any u8; ours has the range it documents. */
	EXPECT_EQ(-EINVAL, write_sysctl(paths[1], "3"));
}

/*
 * Ten spoofed SYNs against a backlog of 2: three requests fill the SYN
 * queue and the other seven get cookies. A Linux TCP client and an RTCP
 * client then connect through cookies; an ACK with a forged cookie fails
 * the check and is answered with a reset.
 */
TEST_F(flood, cookies_when_the_syn_queue_is_full_like_inet)
{
	struct cookie_stats d[2];

	ASSERT_EQ(0, set_syncookies("1"));
	for (int f = 0; f < 2; f++) {
		struct cookie_stats before = cookie_stats(families[f]);
		struct sockaddr_in addr;
		int l = flooded_listener(families[f], &addr);

		ASSERT_LE(0, l);
		EXPECT_EQ(3, proc_count(families[f], "03")) TH_LOG("%s", FAMILY_NAME(families[f]));
		for (int c = 0; c < 2; c++) {
			EXPECT_EQ(0, connect_and_accept(families[c], l, &addr))
				TH_LOG("%s client to %s listener", FAMILY_NAME(families[c]), FAMILY_NAME(families[f]));
		}
		ASSERT_EQ(0, spoof(&addr, 2000, 0, 1, 0x12345678));
		usleep(100000);
		d[f] = cookie_delta(cookie_stats(families[f]), before);
		close(l);
	}
	EXPECT_EQ(9, d[0].full_cookies);
	EXPECT_EQ(9, d[0].sent);
	EXPECT_EQ(2, d[0].recv);
	EXPECT_EQ(1, d[0].failed);
	EXPECT_EQ(d[0].full_cookies, d[1].full_cookies);
	EXPECT_EQ(d[0].full_drop, d[1].full_drop);
	EXPECT_EQ(d[0].sent, d[1].sent);
	EXPECT_EQ(d[0].recv, d[1].recv);
	EXPECT_EQ(d[0].failed, d[1].failed);
	EXPECT_EQ(d[0].drops, d[1].drops);
	EXPECT_EQ(0, proc_count(AF_RTCP, "03"));
}

/*
 * Without cookies, the seven spoofed SYNs beyond the SYN queue are
 * dropped, and a client that comes next finds the queue full and is not
 * let in. The client's SYN is dropped too, and so is each of its
 * retransmissions: one more whenever the machine is slow enough for the
 * half-second poll to outlast its first RTO, so only the flood is counted
 * exactly.
 */
TEST_F(flood, drops_without_cookies_like_inet)
{
	struct cookie_stats flood[2], client[2];

	ASSERT_EQ(0, set_syncookies("0"));
	for (int f = 0; f < 2; f++) {
		struct cookie_stats before = cookie_stats(families[f]), flooded;
		struct sockaddr_in addr;
		int l = flooded_listener(families[f], &addr), c;
		struct pollfd p;

		ASSERT_LE(0, l);
		EXPECT_EQ(3, proc_count(families[f], "03")) TH_LOG("%s", FAMILY_NAME(families[f]));
		flooded = cookie_stats(families[f]);
		flood[f] = cookie_delta(flooded, before);
		c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		EXPECT_EQ(-EINPROGRESS, connect_res(c, &addr));
		p = (struct pollfd){ .fd = c, .events = POLLOUT };
		EXPECT_EQ(0, poll(&p, 1, 500)) TH_LOG("%s", FAMILY_NAME(families[f]));
		client[f] = cookie_delta(cookie_stats(families[f]), flooded);
		close(c);
		close(l);
	}
	EXPECT_EQ(7, flood[0].full_drop);
	EXPECT_EQ(0, flood[0].sent);
	EXPECT_EQ(flood[0].full_cookies, flood[1].full_cookies);
	EXPECT_EQ(flood[0].full_drop, flood[1].full_drop);
	EXPECT_EQ(flood[0].sent, flood[1].sent);
	EXPECT_EQ(flood[0].drops, flood[1].drops);
	for (int f = 0; f < 2; f++) {
		EXPECT_LE(1, client[f].full_drop) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_LE(1, client[f].drops) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, client[f].sent) TH_LOG("%s", FAMILY_NAME(families[f]));
		EXPECT_EQ(0, client[f].full_cookies) TH_LOG("%s", FAMILY_NAME(families[f]));
	}
}

/*
 * syncookies=2: every connection, from Linux's TCP and from RTCP, goes
 * through a cookie, and no request is kept.
 */
TEST_F(flood, always_like_inet)
{
	enum { N = 20 };
	struct cookie_stats d[2];

	ASSERT_EQ(0, set_syncookies("2"));
	for (int f = 0; f < 2; f++) {
		struct cookie_stats before = cookie_stats(families[f]);
		struct sockaddr_in addr;
		int l = listener_on(families[f], SERVER, 8, &addr);

		ASSERT_LE(0, l);
		for (int i = 0; i < N; i++) {
			ASSERT_EQ(0, connect_and_accept(families[i % 2], l, &addr))
				TH_LOG("client %d to %s", i, FAMILY_NAME(families[f]));
		}
		d[f] = cookie_delta(cookie_stats(families[f]), before);
		close(l);
	}
	EXPECT_EQ(N, d[0].sent);
	EXPECT_EQ(N, d[0].recv);
	EXPECT_EQ(d[0].full_cookies, d[1].full_cookies);
	EXPECT_EQ(d[0].sent, d[1].sent);
	EXPECT_EQ(d[0].recv, d[1].recv);
	EXPECT_EQ(d[0].failed, d[1].failed);
}

TEST_HARNESS_MAIN
