// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed and hostile segments, AF_INET first as the reference, then
 * AF_RTCP, each in a network namespace of its own over loopback: a raw
 * socket sends tens of thousands of random and malformed TCP segments at
 * a listener, at both ends of a live connection (claiming to come from
 * the other end, with random sequence numbers and ones just out of the
 * window: never ones a TCP must accept, which would inject data or end
 * the connection on any stack) and at closed ports. Afterwards the
 * connection carries 1 MiB each way byte for byte, the listener still
 * accepts, and the segments refused were counted as Linux counts them:
 *
 *   - a bad checksum: InCsumErrors and InErrs, one each;
 *   - a data offset below 5 words: InErrs;
 *   - a header cut short, or a data offset past the packet: nothing;
 *   - a SYN on an established connection: TCPSYNChallenge, InErrs, and
 *     TCPChallengeACK or (rate-limited) TCPACKSkippedChallenge.
 *
 * For AF_RTCP a segment at a closed port is Linux's TCP's, and counted in
 * /proc/net/snmp; one at RTCP's sockets in /proc/net/rtcp_stat. For
 * AF_INET everything is in /proc/net/snmp and /proc/net/netstat. The
 * checked phases send RTCP_HOSTILE_SEGS (default 1000) segments each,
 * the random storm after them runs for RTCP_HOSTILE_SECONDS (30); the
 * counts are printed. Under TCG with the debug kernel the stack takes a
 * few hundred segments a second (each crosses IP, netfilter and TCP),
 * so that a family's run stays near a minute: a faster machine sends
 * more in the same time.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#define MIB ((size_t)1 << 20)

/* Where a segment goes. */
enum target { LISTENER, SERVER_END, CLIENT_END, CLOSED, TARGETS };

/* The sockets under attack and what a sender must know of them. */
struct scene {
	int family, l, c, a;
	uint16_t lport, cport;
	/* Per receiving end (SERVER_END, CLIENT_END): its RCV.NXT and the
	 * largest window it offered (scaled), and its peer's SND.NXT. */
	uint32_t rcv_nxt[TARGETS], wnd[TARGETS], snd_nxt[TARGETS];
	int raw, udp;
	uint64_t rng;
	unsigned long sent;
};

static uint32_t rnd(struct scene *s)
{
	/* xorshift64*: a fixed seed, so a failure comes back. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t below(struct scene *s, uint32_t n)
{
	return n ? rnd(s) % n : 0;
}

/* Counters: RTCP's own (`rtcp` true) or Linux's TCP's. */
static long counter(int rtcp, const char *name)
{
	static const char *const tcp_names[] = { "InSegs", "InErrs", "InCsumErrors", "OutRsts", "OutSegs" };

	if (rtcp)
		return rtcp_stat(name);
	for (size_t i = 0; i < sizeof(tcp_names) / sizeof(tcp_names[0]); i++)
		if (!strcmp(name, tcp_names[i]))
			return inet_stat("/proc/net/snmp", "Tcp:", name);
	return inet_stat("/proc/net/netstat", "TcpExt:", name);
}

/* The counter `name` of whoever owns the sockets under test. */
static long owner_counter(const struct scene *s, const char *name)
{
	return counter(s->family == AF_RTCP, name);
}

/* The receiving end of a target, as an index of the scene's arrays. */
static int is_conn(enum target t)
{
	return t == SERVER_END || t == CLIENT_END;
}

/* Kinds of sequence numbers for a connection's end: none is acceptable. */
static uint32_t refused_seq(struct scene *s, enum target t, uint32_t len)
{
	uint32_t nxt = s->rcv_nxt[t], edge = nxt + 2 * s->wnd[t] + 65536, seq;

	switch (below(s, 3)) {
	case 0:	/* old: ends before RCV.NXT (and RCV.WUP) */
		return nxt - 1 - below(s, 65536) - len;
	case 1:	/* just past any window it offered */
		return edge + below(s, 65536);
	default:	/* anywhere else */
		do
			seq = rnd(s);
		while (seq - (nxt - (1u << 20)) < (edge - nxt) + (1u << 21));
		return seq;
	}
}

/* Option kinds, and the length each has when it is right. */
static const uint8_t known[][2] = {
	{ 2, 4 }, { 3, 3 }, { 4, 2 }, { 5, 10 }, { 8, 10 }, { 19, 18 },
	{ 29, 16 }, { 30, 4 }, { 34, 10 }, { 254, 6 }, { 172, 11 }, { 174, 11 },
};

/* Fills `n` bytes of options: NOPs, EOLs, known kinds with right and
 * wrong lengths, any kind with any length. `benign` leaves out the
 * signatures (MD5, AO), which Linux's TCP (with CONFIG_TCP_MD5SIG or
 * CONFIG_TCP_AO) drops unsigned before it looks at anything else, even
 * the checksum, and which RTCP does not know. */
static void options(struct scene *s, uint8_t *o, size_t n, int benign)
{
	size_t i = 0;

	while (i < n) {
		uint8_t kind, len;

		switch (below(s, 5)) {
		case 0:
			o[i++] = below(s, 8) ? 1 : 0;
			continue;
		case 1:
		case 2: {
			int k = below(s, sizeof(known) / 2);

			kind = known[k][0];
			len = below(s, 2) ? known[k][1] : (uint8_t)(known[k][1] + (int)below(s, 5) - 2);
			if (below(s, 8) == 0)
				len = below(s, 2) ? 0 : 255;
			break;
		}
		default:
			kind = rnd(s);
			len = below(s, 4) ? below(s, 12) : rnd(s);
		}
		if (benign && (kind == 19 || kind == 29))
			kind = 253;
		o[i++] = kind;
		if (i < n)
			o[i++] = len;
		/* A benign option's body is as long as it says (so that no
		 * signature hides in it); others may be cut short. */
		for (; len > 2 && i < n && (benign || below(s, 16)); len--)
			o[i++] = benign && rnd(s) % 2 ? 1 : rnd(s) % 19;
	}
}

/* How one segment is malformed. */
enum shape { VALID, BAD_CSUM, LOW_OFFSET, PAST_PACKET, TRUNCATED };

struct segment_spec {
	enum target target;
	enum shape shape;
	int syn_only;	/* flags: SYN with random others, never RST */
};

/*
 * Waits until the segments sent so far have been taken: a datagram to
 * ourselves over lo queues behind them on this CPU's backlog (the
 * program keeps to one CPU), so when it arrives they were processed. No
 * more than 64 wait at a time, far below netdev_max_backlog: none is
 * dropped before the protocol sees it, and the counts can be exact.
 */
static int barrier(struct scene *s)
{
	char b = 0;

	if (send(s->udp, &b, 1, 0) != 1 || recv(s->udp, &b, 1, 0) != 1)
		return -1;
	return 0;
}

/* Builds and sends one segment. */
static int send_one(struct scene *s, struct segment_spec sp)
{
	struct {
		struct iphdr ip;
		uint8_t tcp[60 + 120];
	} __attribute__((packed)) p = { 0 };
	struct { uint32_t src, dst; uint8_t zero, proto; uint16_t len; } __attribute__((packed)) ph;
	struct tcphdr *th = (void *)p.tcp;
	struct sockaddr_in to = sin_of("127.0.0.1", 0);
	uint32_t doff = 5 + below(s, 11), plen = below(s, 4) ? 0 : 1 + below(s, 120);
	size_t tcp_len;
	uint16_t sport, dport;

	switch (sp.target) {
	case LISTENER:
		do
			sport = 1024 + below(s, 60000);
		while (sport == s->cport || sport == s->lport);
		dport = s->lport;
		break;
	case SERVER_END:
		sport = s->cport, dport = s->lport;
		break;
	case CLIENT_END:
		sport = s->lport, dport = s->cport;
		break;
	default:
		sport = 1024 + below(s, 60000);
		do
			dport = 1 + below(s, 65535);
		while (dport == s->cport || dport == s->lport);
	}
	th->source = htons(sport);
	th->dest = htons(dport);
	p.tcp[13] = rnd(s);
	if (sp.syn_only)
		p.tcp[13] = (p.tcp[13] | TH_SYN) & ~TH_RST;
	p.tcp[12] = below(s, 16);	/* reserved bits, AccECN's among them */
	tcp_len = doff * 4 + plen;
	if (is_conn(sp.target)) {
		uint32_t seq_len = plen + !!(p.tcp[13] & TH_SYN) + !!(p.tcp[13] & TH_FIN);

		th->seq = htonl(refused_seq(s, sp.target, seq_len));
		th->ack_seq = htonl(below(s, 2) ? s->snd_nxt[sp.target] + below(s, 4096) - 2048 : rnd(s));
	} else {
		th->seq = htonl(rnd(s));
		th->ack_seq = htonl(rnd(s));
	}
	th->window = htons(rnd(s));
	th->urg_ptr = htons(rnd(s));
	options(s, p.tcp + 20, doff * 4 - 20, sp.syn_only || sp.shape == BAD_CSUM);
	for (uint32_t i = 0; i < plen; i++)
		p.tcp[doff * 4 + i] = rnd(s);
	switch (sp.shape) {
	case LOW_OFFSET:
		doff = below(s, 5);
		break;
	case PAST_PACKET:
		/* Fewer bytes than the offset says (a payload may have been
		 * longer: the header is cut). */
		doff = 6 + below(s, 10);
		tcp_len = 20 + below(s, doff * 4 - 20);
		break;
	case TRUNCATED:
		tcp_len = below(s, 20);
		break;
	default:
		break;
	}
	th->doff = doff;
	p.ip.version = 4;
	p.ip.ihl = 5;
	p.ip.ttl = 64;
	p.ip.protocol = IPPROTO_TCP;
	p.ip.saddr = p.ip.daddr = to.sin_addr.s_addr;
	p.ip.tot_len = htons(sizeof(p.ip) + tcp_len);
	ph = (typeof(ph)){ p.ip.saddr, p.ip.daddr, 0, IPPROTO_TCP, htons(tcp_len) };
	th->check = 0;
	if (tcp_len >= 18)
		th->check = inet_fold(inet_sum16(p.tcp, tcp_len, inet_sum16(&ph, sizeof(ph), 0)));
	if (sp.shape == BAD_CSUM)
		th->check ^= htons(1 + below(s, 0xfffe));
	if (sendto(s->raw, &p, sizeof(p.ip) + tcp_len, 0, (void *)&to, sizeof(to)) != (ssize_t)(sizeof(p.ip) + tcp_len))
		return -1;
	return ++s->sent % 64 ? 0 : barrier(s);
}

/*
 * Sets up the scene: a listener, a connection to it with one byte each
 * way, and what a packet socket on lo saw of it (the window scales, the
 * windows offered, each end's next sequence number).
 */
static int set_scene(struct scene *s, int family)
{
	struct sockaddr_in addr, me;
	socklen_t len = sizeof(me);
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int pk = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP));
	int ws[TARGETS] = { 0 }, seen = 0;
	double end;
	char b = 'x';

	memset(s, 0, sizeof(*s));
	s->family = family;
	s->rng = 0x9e3779b97f4a7c15ull;
	ll.sll_ifindex = if_nametoindex("lo");
	if (pk < 0 || bind(pk, (void *)&ll, sizeof(ll)))
		return -1;
	s->l = listener_on(family, "127.0.0.1", 16, &addr);
	s->c = socket(family, SOCK_STREAM, 0);
	if (s->l < 0 || s->c < 0 || connect(s->c, (void *)&addr, sizeof(addr)) ||
	    getsockname(s->c, (void *)&me, &len))
		return -1;
	s->a = accept(s->l, NULL, NULL);
	if (s->a < 0 || send(s->c, &b, 1, 0) != 1 || recv(s->a, &b, 1, 0) != 1 ||
	    send(s->a, &b, 1, 0) != 1 || recv(s->c, &b, 1, 0) != 1)
		return -1;
	s->lport = ntohs(addr.sin_port);
	s->cport = ntohs(me.sin_port);
	/* Every segment both ways, until each end's byte was seen. */
	for (end = mono_s() + 10; seen != 15 && mono_s() < end;) {
		uint8_t pkt[2048];
		struct pollfd pfd = { .fd = pk, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		while ((n = recv(pk, pkt, sizeof(pkt), 0)) > 0) {
			struct iphdr *ip = (void *)pkt;
			struct tcphdr *th = (void *)(pkt + ip->ihl * 4);
			uint8_t *o = (uint8_t *)(th + 1);
			uint32_t plen = ntohs(ip->tot_len) - ip->ihl * 4 - th->doff * 4;
			/* The end that receives what this side sends. */
			enum target to;

			if (ip->protocol != IPPROTO_TCP)
				continue;
			if (ntohs(th->source) == s->cport && ntohs(th->dest) == s->lport)
				to = SERVER_END;
			else if (ntohs(th->source) == s->lport && ntohs(th->dest) == s->cport)
				to = CLIENT_END;
			else
				continue;
			/* The sender's window scale, from its SYN. */
			for (int i = 0; th->syn && i + 2 < (th->doff - 5) * 4 && o[i]; i += o[i] == 1 ? 1 : o[i + 1] ?: 1)
				if (o[i] == 3)
					ws[to] = o[i + 2];
			/* The window the sender (the other end) offers. */
			if (!th->syn) {
				enum target from = to == SERVER_END ? CLIENT_END : SERVER_END;
				uint32_t w = (uint32_t)ntohs(th->window) << ws[to];

				if (w > s->wnd[from])
					s->wnd[from] = w;
			}
			if (plen == 1) {
				s->rcv_nxt[to] = ntohl(th->seq) + 1;
				s->snd_nxt[to] = ntohl(th->ack_seq);
				seen |= to == SERVER_END ? 1 : 2;
			}
			/* The receiving end acknowledged its byte: the window
			 * it offered starts at RCV.NXT (RCV.WUP is there). */
			{
				enum target from = to == SERVER_END ? CLIENT_END : SERVER_END;

				if (seen & (from == SERVER_END ? 1 : 2) && ntohl(th->ack_seq) == s->rcv_nxt[from])
					seen |= from == SERVER_END ? 4 : 8;
			}
		}
	}
	close(pk);
	s->raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	s->udp = socket(AF_INET, SOCK_DGRAM, 0);
	{
		struct sockaddr_in u = sin_of("127.0.0.1", 0);
		struct timeval tv = { .tv_sec = 10 };
		socklen_t ulen = sizeof(u);
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		if (s->udp < 0 || bind(s->udp, (void *)&u, sizeof(u)) || getsockname(s->udp, (void *)&u, &ulen) ||
		    connect(s->udp, (void *)&u, sizeof(u)) ||
		    setsockopt(s->udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
		    sched_setaffinity(0, sizeof(one), &one))
			return -1;
	}
	return seen == 15 && s->raw >= 0 ? 0 : -1;
}

/* Counters before and after a phase, for RTCP's sockets and Linux's. */
static const char *const names[] = {
	"InErrs", "InCsumErrors", "TCPSYNChallenge", "TCPChallengeACK", "TCPACKSkippedChallenge",
	"PAWSEstab", "TCPACKSkippedPAWS", "BeyondWindow", "TCPACKSkippedSeq", "OutRsts",
	"SyncookiesFailed", "InSegs",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

struct counts {
	long own[NNAMES], linux_tcp[NNAMES];
};

static int index_of(const char *name)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (!strcmp(names[i], name))
			return i;
	return 0;
}

static struct counts read_counts(const struct scene *s)
{
	struct counts c;

	for (size_t i = 0; i < NNAMES; i++) {
		c.own[i] = owner_counter(s, names[i]);
		c.linux_tcp[i] = s->family == AF_RTCP ? counter(0, names[i]) : 0;
	}
	return c;
}

/* What a phase is expected to move, exactly: for the owner of the
 * sockets under test, and (RTCP only) for Linux's TCP at closed ports. */
struct expect {
	const char *name;
	long own, linux_tcp;
};

/* `name` counted once for each segment of `per` (sent per target): by
 * the sockets' owner, but for RTCP those at closed ports by Linux's TCP. */
static struct expect owned(const char *name, const long per[TARGETS], int rtcp)
{
	long own = per[LISTENER] + per[SERVER_END] + per[CLIENT_END];

	return (struct expect){ name, rtcp ? own : own + per[CLOSED], rtcp ? per[CLOSED] : 0 };
}

/*
 * Sends `n` segments of `shape` at the targets of `mask` (one bit per
 * target), `syn_only` as SYNs; then waits (a bound on a hang) until the
 * expected counts are reached and checks them. The counts of targets
 * sent to, per target, in `per[]`.
 */
static int phase(struct scene *s, const char *what, int n, enum shape shape,
		 unsigned int mask, int syn_only, long per[TARGETS])
{
	double t0 = mono_s();

	memset(per, 0, sizeof(long) * TARGETS);
	for (int i = 0; i < n; i++) {
		enum target t;

		do
			t = below(s, TARGETS);
		while (!(mask & (1u << t)));
		if (send_one(s, (struct segment_spec){ t, shape, syn_only }))
			return -1;
		per[t]++;
	}
	if (barrier(s))
		return -1;
	ksft_print_msg("%s: %s: %d segments in %.1f s (%.0f/s)\n", FAMILY_NAME(s->family), what, n,
		       mono_s() - t0, n / (mono_s() - t0 + 1e-9));
	return 0;
}

/* Waits until every expected delta is reached (10 s at most: a bound on
 * a hang, the segments are taken as they are sent), then checks each. */
static void check(struct __test_metadata *_metadata, const struct scene *s, const char *what,
		  const struct counts *before, const struct expect *e, int ne)
{
	struct counts now;
	double end = mono_s() + 10;
	int i, done;

	do {
		now = read_counts(s);
		for (i = 0, done = 1; i < ne; i++) {
			int k = index_of(e[i].name);

			if (now.own[k] - before->own[k] < e[i].own ||
			    now.linux_tcp[k] - before->linux_tcp[k] < e[i].linux_tcp)
				done = 0;
		}
		if (!done)
			usleep(10000);
	} while (!done && mono_s() < end);
	for (i = 0; i < ne; i++) {
		int k = index_of(e[i].name);

		ksft_print_msg("%s: %s: %s +%ld (Linux's TCP +%ld), expected +%ld (+%ld)\n", FAMILY_NAME(s->family),
			       what, e[i].name, now.own[k] - before->own[k], now.linux_tcp[k] - before->linux_tcp[k],
			       e[i].own, e[i].linux_tcp);
		EXPECT_EQ(e[i].own, now.own[k] - before->own[k]);
		EXPECT_EQ(e[i].linux_tcp, now.linux_tcp[k] - before->linux_tcp[k]);
	}
}

struct writer {
	int fd;
	unsigned int seed;
	int ok;
};

static void *write_mib(void *arg)
{
	struct writer *w = arg;
	static __thread char buf[16384];

	w->ok = 1;
	for (size_t off = 0; off < MIB;) {
		size_t n = MIB - off < sizeof(buf) ? MIB - off : sizeof(buf);
		ssize_t got;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, w->seed);
		got = send(w->fd, buf, n, MSG_NOSIGNAL);
		if (got <= 0) {
			w->ok = 0;
			break;
		}
		off += got;
	}
	return NULL;
}

/* Reads 1 MiB from `fd`: how many bytes matched `seed`'s pattern in a
 * row from the first. */
static size_t read_mib(int fd, unsigned int seed)
{
	char buf[16384];
	size_t off = 0;

	while (off < MIB) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++, off++)
			if (buf[i] != (char)pattern(off, seed))
				return off;
	}
	return off;
}

/* A new connection to the listener, and a byte over it: 0, or -1. */
static int listener_accepts(const struct scene *s)
{
	struct sockaddr_in addr = sin_of("127.0.0.1", s->lport);
	int c = socket(s->family, SOCK_STREAM, 0), a = -1, ok = -1;
	char b = 'y';

	if (c >= 0 && !connect(c, (void *)&addr, sizeof(addr)) && (a = accept(s->l, NULL, NULL)) >= 0 &&
	    send(c, &b, 1, 0) == 1 && recv(a, &b, 1, 0) == 1)
		ok = 0;
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	return ok;
}

FIXTURE(hostile)
{
	struct scene s;
};

FIXTURE_VARIANT(hostile)
{
	int family;
};

FIXTURE_VARIANT_ADD(hostile, inet) { .family = AF_INET };
FIXTURE_VARIANT_ADD(hostile, rtcp) { .family = AF_RTCP };

FIXTURE_SETUP(hostile)
{
	ASSERT_EQ(0, private_netns());
	ASSERT_EQ(0, set_scene(&self->s, variant->family));
}

FIXTURE_TEARDOWN(hostile)
{
	close(self->s.raw);
	close(self->s.udp);
	close(self->s.c);
	close(self->s.a);
	close(self->s.l);
}

/* The storm, phase by phase, each checked; then the survivors. */
TEST_F_TIMEOUT(hostile, storm, 300)
{
	struct scene *s = &self->s;
	const char *segs = getenv("RTCP_HOSTILE_SEGS"), *secs = getenv("RTCP_HOSTILE_SECONDS");
	int tenth = segs ? atoi(segs) : 1000, rtcp = s->family == AF_RTCP, total = 5 * tenth;
	double storm_s = secs ? atof(secs) : 30;
	const unsigned int all = (1u << TARGETS) - 1, conns = 1u << SERVER_END | 1u << CLIENT_END;
	struct counts start = read_counts(s), before;
	long per[TARGETS], own;
	int nbad = 0, nrtcp_bad = 0;
	struct writer wc = { s->c, 1, 0 }, wa = { s->a, 2, 0 };
	pthread_t tc, ta;

	/* Bad checksums everywhere: counted by whoever owns the port. */
	before = read_counts(s);
	ASSERT_EQ(0, phase(s, "bad checksums", tenth, BAD_CSUM, all, 0, per));
	check(_metadata, s, "bad checksums", &before,
	      (struct expect[]){ owned("InCsumErrors", per, rtcp), owned("InErrs", per, rtcp) }, 2);

	/* Data offsets below 5 words: an error of the segment. */
	before = read_counts(s);
	ASSERT_EQ(0, phase(s, "data offsets below 5", tenth, LOW_OFFSET, all, 0, per));
	check(_metadata, s, "data offsets below 5", &before,
	      (struct expect[]){ owned("InErrs", per, rtcp), { "InCsumErrors", 0, 0 } }, 2);

	/* Headers cut short, data offsets past the packet: dropped, counted
	 * as nothing but received. */
	before = read_counts(s);
	ASSERT_EQ(0, phase(s, "headers cut short", tenth / 2, TRUNCATED, all, 0, per));
	ASSERT_EQ(0, phase(s, "data offsets past the packet", tenth / 2, PAST_PACKET, all, 0, per));
	check(_metadata, s, "cut short", &before,
	      (struct expect[]){ { "InErrs", 0, 0 }, { "InCsumErrors", 0, 0 } }, 2);

	/* SYNs at the connection, from either end's peer: RFC 5961 4.2. */
	before = read_counts(s);
	ASSERT_EQ(0, phase(s, "SYNs at the connection", tenth, VALID, conns, 1, per));
	own = per[SERVER_END] + per[CLIENT_END];
	check(_metadata, s, "SYNs at the connection", &before,
	      (struct expect[]){ { "TCPSYNChallenge", own, 0 }, { "InErrs", own, 0 }, { "InCsumErrors", 0, 0 } },
	      3);
	{
		struct counts now = read_counts(s);
		int a = index_of("TCPChallengeACK"), b = index_of("TCPACKSkippedChallenge");

		EXPECT_EQ(own, now.own[a] - before.own[a] + now.own[b] - before.own[b]);
	}

	/* Everything at once: any flags (SYN and RST with payloads among
	 * them), options of every kind with any length, every shape. */
	before = read_counts(s);
	{
		double t0 = mono_s();
		int n = 0;

		/* For a while, not a count: the rate under TCG varies tenfold
		 * with what else runs. */
		for (; n < 200000 && (n % 64 || mono_s() < t0 + storm_s); n++) {
			static const enum shape shapes[] = { VALID, VALID, VALID, VALID, VALID, VALID,
							     BAD_CSUM, LOW_OFFSET, PAST_PACKET, TRUNCATED };
			struct segment_spec sp = { below(s, TARGETS), shapes[below(s, 10)], 0 };

			ASSERT_EQ(0, send_one(s, sp));
			if (sp.shape == BAD_CSUM) {
				nbad++;
				nrtcp_bad += rtcp && sp.target != CLOSED;
			}
		}
		ksft_print_msg("%s: random: %d segments in %.1f s (%.0f/s)\n", FAMILY_NAME(s->family), n,
			       mono_s() - t0, n / (mono_s() - t0 + 1e-9));
		total += n;
	}
	ASSERT_EQ(0, barrier(s));
	check(_metadata, s, "random", &before,
	      (struct expect[]){ { "InCsumErrors", rtcp ? nrtcp_bad : nbad, rtcp ? nbad - nrtcp_bad : 0 } }, 1);

	/* The whole storm's counters, to set beside the other family's. */
	{
		struct counts now = read_counts(s);

		for (size_t i = 0; i < NNAMES; i++)
			ksft_print_msg("%s: storm of %d: %s +%ld (Linux's TCP beside it +%ld)\n",
				       FAMILY_NAME(s->family), total, names[i], now.own[i] - start.own[i],
				       now.linux_tcp[i] - start.linux_tcp[i]);
	}

	/* The connection carries 1 MiB each way, byte for byte. */
	ASSERT_EQ(0, pthread_create(&tc, NULL, write_mib, &wc));
	ASSERT_EQ(0, pthread_create(&ta, NULL, write_mib, &wa));
	EXPECT_EQ(MIB, read_mib(s->a, 1));
	EXPECT_EQ(MIB, read_mib(s->c, 2));
	pthread_join(tc, NULL);
	pthread_join(ta, NULL);
	EXPECT_TRUE(wc.ok && wa.ok);

	/* And the listener still accepts. */
	EXPECT_EQ(0, listener_accepts(s));
}

TEST_HARNESS_MAIN
