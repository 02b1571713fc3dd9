// SPDX-License-Identifier: GPL-2.0
/*
 * SO_ZEROCOPY and send(MSG_ZEROCOPY), each case run on AF_INET's TCP and
 * on AF_RTCP over loopback and compared: the option's values and errnos,
 * the errnos of a send that takes no bytes, and the completions read back
 * with recvmsg(MSG_ERRQUEUE) (one SOL_IP/IP_RECVERR cmsg of a
 * sock_extended_err and a zeroed offender; origin SO_EE_ORIGIN_ZEROCOPY,
 * errno 0, code SO_EE_CODE_ZEROCOPY_COPIED over loopback, ids from 0 in
 * consecutive ranges covering every send that took MSG_ZEROCOPY), POLLERR
 * while one waits, EAGAIN once none does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/errqueue.h>
#include <unistd.h>

#include <linux/rtcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

/* MSG_ZEROCOPY sends of CHUNK bytes each. */
#define SENDS 32
#define CHUNK 4096

static int set_zc(int fd, int val, socklen_t len)
{
	return setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &val, len) ? -errno : 0;
}

static int get_zc(int fd)
{
	int val = -1;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &val, &len) ? -errno : val;
}

/* The option on a new socket: what reads back, and the errnos. */
struct opt_result {
	int fresh, set1, read1, set0, read0, set2, set_neg, set_short, read_after;
};

static struct opt_result opt_of(int family)
{
	struct opt_result r;
	int fd = socket(family, SOCK_STREAM, 0);

	r.fresh = get_zc(fd);
	r.set1 = set_zc(fd, 1, sizeof(int));
	r.read1 = get_zc(fd);
	r.set0 = set_zc(fd, 0, sizeof(int));
	r.read0 = get_zc(fd);
	r.set2 = set_zc(fd, 2, sizeof(int));
	r.set_neg = set_zc(fd, -1, sizeof(int));
	r.set_short = set_zc(fd, 1, 2);
	r.read_after = get_zc(fd);
	close(fd);
	return r;
}

TEST(so_zerocopy_like_inet)
{
	struct opt_result r[2];

	for (int i = 0; i < 2; i++) {
		r[i] = opt_of(families[i]);
		EXPECT_EQ(0, r[i].fresh) TH_LOG("%s", FAMILY_NAME(families[i]));
		EXPECT_EQ(0, r[i].set1);
		EXPECT_EQ(1, r[i].read1);
		EXPECT_EQ(0, r[i].set0);
		EXPECT_EQ(0, r[i].read0);
		EXPECT_EQ(-EINVAL, r[i].set2);
		EXPECT_EQ(-EINVAL, r[i].set_neg);
		EXPECT_EQ(-EINVAL, r[i].set_short);
		EXPECT_EQ(0, r[i].read_after);
	}
	EXPECT_EQ(0, memcmp(&r[0], &r[1], sizeof(r[0])));
}

/* One recvmsg(MSG_ERRQUEUE): its result (or -errno), and what it read. */
struct errq_msg {
	int ret;
	int flags;
	int cmsgs, level, type;
	size_t cmsg_len;
	struct sock_extended_err ee;
	struct sockaddr_in offender;
};

static struct errq_msg read_errq(int fd)
{
	char control[256];
	struct errq_msg m = { 0 };
	struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *cm;

	m.ret = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (m.ret < 0) {
		m.ret = -errno;
		return m;
	}
	m.flags = msg.msg_flags;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		m.cmsgs++;
		m.level = cm->cmsg_level;
		m.type = cm->cmsg_type;
		m.cmsg_len = cm->cmsg_len;
		if (cm->cmsg_len >= CMSG_LEN(sizeof(m.ee) + sizeof(m.offender))) {
			memcpy(&m.ee, CMSG_DATA(cm), sizeof(m.ee));
			memcpy(&m.offender, CMSG_DATA(cm) + sizeof(m.ee), sizeof(m.offender));
		}
	}
	return m;
}

/* poll()'s revents for POLLERR within `ms` (it is always reported). */
static int pollerr(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	if (poll(&p, 1, ms) < 0)
		return -errno;
	return p.revents & POLLERR;
}

/* What a run of MSG_ZEROCOPY sends gave; compared between families. */
struct zc_result {
	int send_unconnected;		/* -errno */
	int errq_unconnected;		/* -errno */
	int plain_sent;			/* MSG_ZEROCOPY without SO_ZEROCOPY */
	int empty_sent;			/* a zero-length MSG_ZEROCOPY send */
	int errq_before;		/* -EAGAIN: nothing yet */
	int pollerr_before;
	int sent_all;			/* every send took CHUNK bytes */
	int read_all;			/* the peer read them all, in order */
	int pollerr_waiting;		/* POLLERR while one waits */
	int covered;			/* ids 0.. covered, in order */
	int bad_msgs;			/* completions not as Linux's */
	unsigned int codes;		/* the ee_codes seen, as a bit mask */
	int errq_after;			/* -EAGAIN once all are read */
	int pollerr_after;
	int extra_sent;			/* one more send after the drain */
	int extra_id;			/* its id */
};

static void run_zc(struct __test_metadata *_metadata, int family, struct zc_result *r)
{
	static char buf[SENDS * CHUNK + 1], in[SENDS * CHUNK + 1];
	struct sockaddr_in addr;
	int lfd, fd, peer, one = 1, got;
	double end;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i, family);

	lfd = listener_on(family, "127.0.0.1", 4, &addr);
	ASSERT_LE(0, lfd);
	fd = socket(family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);

	/* Not connected: the id is given back (the first below is 0). */
	ASSERT_EQ(0, set_zc(fd, 1, sizeof(int)));
	r->send_unconnected = send(fd, buf, CHUNK, MSG_ZEROCOPY | MSG_NOSIGNAL) < 0 ? -errno : 0;
	r->errq_unconnected = read_errq(fd).ret;
	ASSERT_EQ(0, set_zc(fd, 0, sizeof(int)));

	ASSERT_EQ(0, connect_res(fd, &addr));
	peer = accept(lfd, NULL, NULL);
	ASSERT_LE(0, peer);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	/* Without SO_ZEROCOPY the flag is ignored: a plain send, no id. */
	r->plain_sent = send(fd, buf, 1, MSG_ZEROCOPY);
	ASSERT_EQ(0, set_zc(fd, 1, sizeof(int)));
	/* Nothing to send takes no id either. */
	r->empty_sent = send(fd, buf, 0, MSG_ZEROCOPY);
	r->errq_before = read_errq(fd).ret;
	r->pollerr_before = pollerr(fd, 0);

	r->sent_all = 1;
	for (int i = 0; i < SENDS; i++)
		if (send(fd, buf + 1 + i * CHUNK, CHUNK, MSG_ZEROCOPY) != CHUNK)
			r->sent_all = 0;

	/* The peer reads every byte (the plain one first). */
	got = 0;
	while (got < (int)sizeof(in)) {
		int n = recv(peer, in + got, sizeof(in) - got, 0);

		if (n <= 0)
			break;
		got += n;
	}
	r->read_all = got == (int)sizeof(in) && !memcmp(in, buf, sizeof(in));

	/* The completions come once the bytes are acknowledged. */
	r->pollerr_waiting = pollerr(fd, 10000);
	end = mono_s() + 20;
	while (r->covered < SENDS && mono_s() < end) {
		struct errq_msg m = read_errq(fd);

		if (m.ret == -EAGAIN) {
			pollerr(fd, 1000);
			continue;
		}
		if (m.ret != 0 || !(m.flags & MSG_ERRQUEUE) || m.cmsgs != 1 ||
		    m.level != SOL_IP || m.type != IP_RECVERR ||
		    m.cmsg_len != CMSG_LEN(sizeof(m.ee) + sizeof(m.offender)) ||
		    m.ee.ee_errno != 0 || m.ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY ||
		    m.ee.ee_type || m.ee.ee_pad || m.offender.sin_family ||
		    m.offender.sin_addr.s_addr || m.offender.sin_port ||
		    m.ee.ee_info != (unsigned int)r->covered || m.ee.ee_data < m.ee.ee_info) {
			TH_LOG("%s: ret %d flags %#x cmsgs %d (%d/%d len %zu) errno %u origin %u code %u ids %u-%u, expected from %d",
			       FAMILY_NAME(family), m.ret, m.flags, m.cmsgs, m.level, m.type, m.cmsg_len,
			       m.ee.ee_errno, m.ee.ee_origin, m.ee.ee_code, m.ee.ee_info, m.ee.ee_data,
			       r->covered);
			r->bad_msgs++;
			if (m.ret < 0 || m.ee.ee_data < m.ee.ee_info)
				break;
		}
		r->codes |= 1u << (m.ee.ee_code & 31);
		r->covered = m.ee.ee_data + 1;
	}
	r->errq_after = read_errq(fd).ret;
	r->pollerr_after = pollerr(fd, 0);

	/* The next send takes the next id. */
	r->extra_sent = send(fd, buf, CHUNK, MSG_ZEROCOPY);
	got = 0;
	while (got < CHUNK) {
		int n = recv(peer, in, CHUNK - got, 0);

		if (n <= 0)
			break;
		got += n;
	}
	r->extra_id = -1;
	end = mono_s() + 20;
	while (mono_s() < end) {
		struct errq_msg m = read_errq(fd);

		if (m.ret == -EAGAIN) {
			pollerr(fd, 1000);
			continue;
		}
		r->extra_id = m.ret ? m.ret : (int)m.ee.ee_info;
		break;
	}

	close(peer);
	close(fd);
	close(lfd);
}

TEST(msg_zerocopy_like_inet)
{
	struct zc_result r[2];

	ASSERT_EQ(0, private_netns());
	for (int i = 0; i < 2; i++) {
		run_zc(_metadata, families[i], &r[i]);
		TH_LOG("%s: covered %d, codes %#x", FAMILY_NAME(families[i]), r[i].covered, r[i].codes);
		EXPECT_EQ(-EPIPE, r[i].send_unconnected) TH_LOG("%s", FAMILY_NAME(families[i]));
		EXPECT_EQ(-EAGAIN, r[i].errq_unconnected);
		EXPECT_EQ(1, r[i].plain_sent);
		EXPECT_EQ(0, r[i].empty_sent);
		EXPECT_EQ(-EAGAIN, r[i].errq_before);
		EXPECT_EQ(0, r[i].pollerr_before);
		EXPECT_EQ(1, r[i].sent_all);
		EXPECT_EQ(1, r[i].read_all);
		EXPECT_EQ(POLLERR, r[i].pollerr_waiting);
		EXPECT_EQ(SENDS, r[i].covered);
		EXPECT_EQ(0, r[i].bad_msgs);
		EXPECT_EQ(1u << SO_EE_CODE_ZEROCOPY_COPIED, r[i].codes);
		EXPECT_EQ(-EAGAIN, r[i].errq_after);
		EXPECT_EQ(0, r[i].pollerr_after);
		EXPECT_EQ(CHUNK, r[i].extra_sent);
		EXPECT_EQ(SENDS, r[i].extra_id);
	}
	EXPECT_EQ(0, memcmp(&r[0], &r[1], sizeof(r[0])));
}

/*
 * A socket closed with completions not yet read frees them (kmemleak
 * checks after the run), and one closed with sends not yet acknowledged
 * too.
 */
TEST(close_with_completions)
{
	static char buf[SENDS * CHUNK];
	struct sockaddr_in addr;

	ASSERT_EQ(0, private_netns());
	for (int i = 0; i < 2; i++) {
		int lfd = listener_on(families[i], "127.0.0.1", 4, &addr);
		int fd = socket(families[i], SOCK_STREAM, 0), peer;

		ASSERT_LE(0, lfd);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, connect_res(fd, &addr));
		peer = accept(lfd, NULL, NULL);
		ASSERT_LE(0, peer);
		ASSERT_EQ(0, set_zc(fd, 1, sizeof(int)));
		for (int j = 0; j < 4; j++)
			EXPECT_EQ(CHUNK, send(fd, buf, CHUNK, MSG_ZEROCOPY));
		EXPECT_EQ(POLLERR, pollerr(fd, 10000)) TH_LOG("%s", FAMILY_NAME(families[i]));
		/* Sends the peer does not read past its window stay unacknowledged. */
		for (int j = 0; j < 4; j++)
			send(fd, buf, sizeof(buf), MSG_ZEROCOPY | MSG_DONTWAIT);
		close(fd);
		close(peer);
		close(lfd);
	}
}

/* An accepted socket starts with its listener's SO_ZEROCOPY, as
 * sk_clone_lock copies it. */
TEST(accepted_inherits_like_inet)
{
	struct sockaddr_in addr;
	int got[2];

	ASSERT_EQ(0, private_netns());
	for (int i = 0; i < 2; i++) {
		int lfd = listener_on(families[i], "127.0.0.1", 4, &addr);
		int fd = socket(families[i], SOCK_STREAM, 0), peer;

		ASSERT_LE(0, lfd);
		ASSERT_EQ(0, set_zc(lfd, 1, sizeof(int)));
		ASSERT_EQ(0, connect_res(fd, &addr));
		peer = accept(lfd, NULL, NULL);
		ASSERT_LE(0, peer);
		got[i] = get_zc(peer);
		close(peer);
		close(fd);
		close(lfd);
	}
	EXPECT_EQ(1, got[0]);
	EXPECT_EQ(got[0], got[1]);
}

TEST_HARNESS_MAIN
