// SPDX-License-Identifier: GPL-2.0
/*
 * Urgent data and the splice paths, each case run with every pairing of
 * AF_INET's TCP and AF_RTCP over loopback (so RTCP sends to Linux's TCP
 * and receives from it), the results compared with what Linux's TCP gives
 * when it is both ends, and with Linux's documented behaviour:
 *
 * - send(MSG_OOB): SIGURG to the owner, reads stop at the mark, SIOCATMARK before and at it,
 *   recv(MSG_OOB) (peek, then take: MSG_OOB in msg_flags; then EINVAL),
 *   POLLPRI while the byte waits and POLLIN not for the urgent byte
 *   alone, the byte left out of the stream;
 * - SO_OOBINLINE: the byte stays in the stream, recv(MSG_OOB) EINVAL;
 * - the urgent pointer ahead of its byte: recv(MSG_OOB) EAGAIN until it
 *   comes; then the stream and the byte;
 * - no urgent data: never POLLPRI, SIOCATMARK 0, recv(MSG_OOB) EINVAL
 *   (ENOTCONN on a listener), on fresh, connected and listening sockets;
 * - sendfile() of a file and splice() from a pipe into the socket, and
 *   splice() from the socket into a pipe: the bytes intact; sendfile()
 *   unconnected and after shutdown(SHUT_WR): the errno and SIGPIPE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <linux/rtcp.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

static int atmark(int fd)
{
	int v = -1;

	return ioctl(fd, SIOCATMARK, &v) ? -errno : v;
}

/* The events of fd now (no wait). */
static int events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) < 0 ? -errno : p.revents;
}

/* Waits (up to 10 s, a bound on a hang) until fd has one of `ev`; a
 * signal (SIGURG) interrupts the wait, which goes on. */
static int wait_for(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n;

	do
		n = poll(&p, 1, 10000);
	while (n < 0 && errno == EINTR);
	return n == 1 ? p.revents : 0;
}

/* recv(MSG_OOB | more): the byte, or -errno; *mflags what msg_flags said. */
static int recv_oob(int fd, int more, int *mflags)
{
	char c = 0;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int n = recvmsg(fd, &m, MSG_OOB | more);

	if (mflags)
		*mflags = m.msg_flags;
	return n < 0 ? -errno : n == 1 ? (unsigned char)c : 1000 + n;
}

static int recv_str(int fd, char *buf, int len, int flags)
{
	int n = recv(fd, buf, len - 1, flags);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

/* Every pairing: client family, server family. */
static const int pairs[4][2] = {
	{ AF_INET, AF_INET }, { AF_RTCP, AF_INET }, { AF_INET, AF_RTCP }, { AF_RTCP, AF_RTCP },
};
#define PAIR(i) FAMILY_NAME(pairs[i][0]), FAMILY_NAME(pairs[i][1])

static volatile sig_atomic_t sigurgs;

static void on_sigurg(int sig)
{
	(void)sig;
	sigurgs++;
}

struct oob_result {
	int sigurgs, ev_before_send, mark_before, first_len, mark_at, ev_at, peek, peek_flags, take, take_flags,
	    again, ev_after, mark_after, nb_read, mark_past, more_len;
	char first[64], more[64];
};

/* "hello", then "xy!" with MSG_OOB from c; a reads. */
static void run_oob(struct __test_metadata *_metadata, int cf, int sf, struct oob_result *r)
{
	int c, a, one = 1;

	memset(r, 0, sizeof(*r));
	ASSERT_EQ(0, loopback_pair(cf, sf, &c, &a));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* SIGURG to the owner (sk_send_sigurg) for the new pointer. */
	ASSERT_EQ(0, fcntl(a, F_SETOWN, getpid()));
	sigurgs = 0;
	r->ev_before_send = events(a);
	ASSERT_EQ(5, send(c, "hello", 5, 0));
	ASSERT_EQ(3, send(c, "xy!", 3, MSG_OOB));
	ASSERT_NE(0, wait_for(a, POLLPRI) & POLLPRI);
	r->sigurgs = sigurgs;
	r->mark_before = atmark(a);
	r->first_len = recv_str(a, r->first, sizeof(r->first), 0);
	r->mark_at = atmark(a);
	r->ev_at = events(a);
	r->peek = recv_oob(a, MSG_PEEK, &r->peek_flags);
	r->take = recv_oob(a, 0, &r->take_flags);
	r->again = recv_oob(a, 0, NULL);
	r->ev_after = events(a);
	r->mark_after = atmark(a);
	/* The urgent byte alone: nothing to read, and it is passed over. */
	r->nb_read = recv_str(a, r->more, sizeof(r->more), MSG_DONTWAIT);
	r->mark_past = atmark(a);
	ASSERT_EQ(2, send(c, "zz", 2, 0));
	ASSERT_NE(0, wait_for(a, POLLIN));
	r->more_len = recv_str(a, r->more, sizeof(r->more), 0);
	close(c);
	close(a);
}

TEST(oob_like_inet)
{
	struct sigaction sa = { .sa_handler = on_sigurg }, old;
	struct oob_result r[4];

	ASSERT_EQ(0, sigaction(SIGURG, &sa, &old));
	for (int i = 0; i < 4; i++) {
		run_oob(_metadata, pairs[i][0], pairs[i][1], &r[i]);
		TH_LOG("%s -> %s", PAIR(i));
		EXPECT_EQ(1, r[i].sigurgs);
		EXPECT_EQ(0, r[i].ev_before_send);
		EXPECT_EQ(0, r[i].mark_before);
		EXPECT_EQ(7, r[i].first_len);
		EXPECT_STREQ("helloxy", r[i].first);
		EXPECT_EQ(1, r[i].mark_at);
		EXPECT_EQ(POLLPRI, r[i].ev_at);
		EXPECT_EQ('!', r[i].peek);
		EXPECT_EQ(MSG_OOB, r[i].peek_flags);
		EXPECT_EQ('!', r[i].take);
		EXPECT_EQ(MSG_OOB, r[i].take_flags);
		EXPECT_EQ(-EINVAL, r[i].again);
		EXPECT_EQ(0, r[i].ev_after);
		EXPECT_EQ(1, r[i].mark_after);
		EXPECT_EQ(-EAGAIN, r[i].nb_read);
		EXPECT_EQ(0, r[i].mark_past);
		EXPECT_EQ(2, r[i].more_len);
		EXPECT_STREQ("zz", r[i].more);
		EXPECT_EQ(0, memcmp(&r[0], &r[i], sizeof(r[0])));
	}
	sigaction(SIGURG, &old, NULL);
}

struct inline_result {
	int set, get, first_len, mark_at, ev_at, oob, rest_len, mark_past;
	char first[64], rest[64];
};

static void run_inline(struct __test_metadata *_metadata, int cf, int sf, struct inline_result *r)
{
	int c, a, one = 1;
	socklen_t len = sizeof(r->get);

	memset(r, 0, sizeof(*r));
	ASSERT_EQ(0, loopback_pair(cf, sf, &c, &a));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->set = setsockopt(a, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)) ? -errno : 0;
	r->get = -1;
	if (getsockopt(a, SOL_SOCKET, SO_OOBINLINE, &r->get, &len))
		r->get = -errno;
	ASSERT_EQ(2, send(c, "ab", 2, 0));
	ASSERT_EQ(2, send(c, "c!", 2, MSG_OOB));
	ASSERT_EQ(1, send(c, "d", 1, 0));
	ASSERT_NE(0, wait_for(a, POLLPRI) & POLLPRI);
	r->first_len = recv_str(a, r->first, sizeof(r->first), 0);
	r->mark_at = atmark(a);
	r->ev_at = events(a);
	r->oob = recv_oob(a, 0, NULL);
	/* From the mark on, the byte is data; the "d" may come later. */
	r->rest_len = 0;
	while (r->rest_len < 2) {
		int n;

		ASSERT_NE(0, wait_for(a, POLLIN));
		n = recv(a, r->rest + r->rest_len, 2 - r->rest_len, 0);
		ASSERT_LT(0, n);
		r->rest_len += n;
	}
	r->mark_past = atmark(a);
	close(c);
	close(a);
}

TEST(oobinline_like_inet)
{
	struct inline_result r[4];

	for (int i = 0; i < 4; i++) {
		run_inline(_metadata, pairs[i][0], pairs[i][1], &r[i]);
		TH_LOG("%s -> %s", PAIR(i));
		EXPECT_EQ(0, r[i].set);
		EXPECT_EQ(1, r[i].get);
		EXPECT_EQ(3, r[i].first_len);
		EXPECT_STREQ("abc", r[i].first);
		EXPECT_EQ(1, r[i].mark_at);
		/* POLLPRI even inline (tcp_poll), the byte readable. */
		EXPECT_EQ(POLLPRI | POLLIN, r[i].ev_at);
		EXPECT_EQ(-EINVAL, r[i].oob);
		EXPECT_EQ(0, memcmp("!d", r[i].rest, 2));
		EXPECT_EQ(0, r[i].mark_past);
		EXPECT_EQ(0, memcmp(&r[0], &r[i], sizeof(r[0])));
	}
}

#define BIG (256 * 1024)

struct notyet_result {
	int early, total_ok, oob, mark;
};

/*
 * A receiver with a small buffer, a sender that writes far more with
 * MSG_OOB: the pointer arrives long before its byte (the last written).
 */
static void run_notyet(struct __test_metadata *_metadata, int cf, int sf, struct notyet_result *r)
{
	static char buf[BIG], in[BIG];
	int c, a, sent, got = 0, small = 4096;
	struct sockaddr_in addr;
	int lfd;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < BIG; i++)
		buf[i] = pattern(i, cf + sf);
	lfd = listener_on(sf, "127.0.0.1", 4, &addr);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	c = socket(cf, SOCK_STREAM, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, connect_res(c, &addr));
	a = accept(lfd, NULL, NULL);
	ASSERT_LE(0, a);
	close(lfd);
	sent = send(c, buf, BIG, MSG_OOB | MSG_DONTWAIT);
	ASSERT_LT(2 * small, sent);
	ASSERT_NE(0, wait_for(a, POLLIN));
	r->early = recv_oob(a, 0, NULL);
	/* Everything but the urgent byte, up to the mark. */
	while (got < sent - 1) {
		int n;

		ASSERT_NE(0, wait_for(a, POLLIN));
		n = recv(a, in + got, sent - 1 - got, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		ASSERT_LT(0, n);
		got += n;
	}
	r->total_ok = got == sent - 1 && !memcmp(buf, in, got);
	ASSERT_NE(0, wait_for(a, POLLPRI) & POLLPRI);
	r->mark = atmark(a);
	r->oob = recv_oob(a, 0, NULL) == (unsigned char)buf[sent - 1];
	close(c);
	close(a);
}

TEST(oob_not_yet_like_inet)
{
	struct notyet_result r[4];

	for (int i = 0; i < 4; i++) {
		run_notyet(_metadata, pairs[i][0], pairs[i][1], &r[i]);
		TH_LOG("%s -> %s", PAIR(i));
		EXPECT_EQ(-EAGAIN, r[i].early);
		EXPECT_EQ(1, r[i].total_ok);
		EXPECT_EQ(1, r[i].mark);
		EXPECT_EQ(1, r[i].oob);
	}
}

struct plain_result {
	int fresh_oob, fresh_mark, listen_oob, listen_mark, listen_ev, conn_oob, conn_mark, conn_ev;
};

static void run_plain(struct __test_metadata *_metadata, int family, struct plain_result *r)
{
	struct sockaddr_in addr;
	char buf[16];
	int fd, lfd, c, a;

	fd = socket(family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	r->fresh_oob = recv_oob(fd, 0, NULL);
	r->fresh_mark = atmark(fd);
	close(fd);
	lfd = listener_on(family, "127.0.0.1", 4, &addr);
	ASSERT_LE(0, lfd);
	r->listen_oob = recv_oob(lfd, 0, NULL);
	r->listen_mark = atmark(lfd);
	close(lfd);
	ASSERT_EQ(0, loopback_pair(family, family, &c, &a));
	ASSERT_EQ(4, send(c, "data", 4, 0));
	ASSERT_NE(0, wait_for(a, POLLIN));
	r->listen_ev = events(a);
	ASSERT_EQ(4, recv(a, buf, sizeof(buf), 0));
	r->conn_oob = recv_oob(a, 0, NULL);
	r->conn_mark = atmark(a);
	r->conn_ev = events(a) | events(c);
	close(c);
	close(a);
}

TEST(no_urgent_data_like_inet)
{
	struct plain_result r[2];

	for (int i = 0; i < 2; i++) {
		run_plain(_metadata, families[i], &r[i]);
		TH_LOG("%s", FAMILY_NAME(families[i]));
		EXPECT_EQ(-EINVAL, r[i].fresh_oob);
		EXPECT_EQ(0, r[i].fresh_mark);
		EXPECT_EQ(-ENOTCONN, r[i].listen_oob);
		EXPECT_EQ(0, r[i].listen_mark);
		EXPECT_EQ(POLLIN, r[i].listen_ev);
		EXPECT_EQ(-EINVAL, r[i].conn_oob);
		EXPECT_EQ(0, r[i].conn_mark);
		EXPECT_EQ(0, r[i].conn_ev);
	}
	EXPECT_EQ(0, memcmp(&r[0], &r[1], sizeof(r[0])));
}

/* --- sendfile and splice --- */

#define FILE_LEN (200 * 1024 + 7)

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* Reads `len` bytes from fd into buf (10 s bound); how many. */
static int read_all(int fd, char *buf, int len)
{
	int got = 0;

	while (got < len && wait_for(fd, POLLIN)) {
		int n = read(fd, buf + got, len - got);

		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

struct splice_result {
	long sendfile_ret;
	int sendfile_ok, splice_in_ret, splice_in_ok, splice_out_ok;
};

static void run_splice(struct __test_metadata *_metadata, int cf, int sf, struct splice_result *r)
{
	static char data[FILE_LEN], in[FILE_LEN];
	char path[] = "/tmp/rtcp_urgent_XXXXXX";
	int c, a, file, p[2], got = 0;
	off_t off = 0;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < FILE_LEN; i++)
		data[i] = pattern(i, 7 * cf + sf);
	file = mkstemp(path);
	ASSERT_LE(0, file);
	unlink(path);
	ASSERT_EQ(FILE_LEN, write(file, data, FILE_LEN));
	ASSERT_EQ(0, loopback_pair(cf, sf, &c, &a));

	/* sendfile(): the file, the peer reading whenever the socket is full. */
	ASSERT_EQ(0, fcntl(c, F_SETFL, O_NONBLOCK));
	for (double end = mono_s() + 60; off < FILE_LEN && mono_s() < end;) {
		ssize_t n = sendfile(c, file, &off, FILE_LEN - off);

		if (n > 0) {
			r->sendfile_ret += n;
		} else if (n < 0 && errno == EAGAIN) {
			int k = wait_for(a, POLLIN) ? read(a, in + got, FILE_LEN - got) : 0;

			got += k > 0 ? k : 0;
		} else {
			r->sendfile_ret = -errno;
			break;
		}
	}
	ASSERT_EQ(0, fcntl(c, F_SETFL, 0));
	got += read_all(a, in + got, FILE_LEN - got);
	r->sendfile_ok = got == FILE_LEN && !memcmp(data, in, FILE_LEN);

	/* splice() from a pipe into the socket. */
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(32768, write(p[1], data, 32768));
	while (r->splice_in_ret < 32768) {
		ssize_t n = splice(p[0], NULL, c, NULL, 32768 - r->splice_in_ret, 0);

		if (n <= 0)
			break;
		r->splice_in_ret += n;
	}
	r->splice_in_ok = read_all(a, in, 32768) == 32768 && !memcmp(data, in, 32768);

	/* splice() from the socket into a pipe. */
	ASSERT_EQ(20000, send(c, data + 1000, 20000, 0));
	got = 0;
	while (got < 20000 && wait_for(a, POLLIN)) {
		ssize_t n = splice(a, NULL, p[1], NULL, 20000 - got, 0);

		if (n <= 0)
			break;
		ASSERT_EQ(n, read(p[0], in + got, n));
		got += n;
	}
	r->splice_out_ok = got == 20000 && !memcmp(data + 1000, in, 20000);
	close(p[0]);
	close(p[1]);
	close(file);
	close(c);
	close(a);
}

TEST(splice_like_inet)
{
	struct splice_result r[4];

	for (int i = 0; i < 4; i++) {
		run_splice(_metadata, pairs[i][0], pairs[i][1], &r[i]);
		TH_LOG("%s -> %s", PAIR(i));
		EXPECT_EQ(FILE_LEN, r[i].sendfile_ret);
		EXPECT_EQ(1, r[i].sendfile_ok);
		EXPECT_EQ(32768, r[i].splice_in_ret);
		EXPECT_EQ(1, r[i].splice_in_ok);
		EXPECT_EQ(1, r[i].splice_out_ok);
	}
}

struct splice_err {
	int unconnected, unconnected_sig, after_shut, after_shut_sig, splice_unconnected, splice_out_unconnected,
	    splice_eof;
};

static int sendfile_res(int fd, int file)
{
	off_t off = 0;

	return sendfile(fd, file, &off, 100) < 0 ? -errno : 0;
}

static void run_splice_err(struct __test_metadata *_metadata, int family, struct splice_err *r)
{
	char path[] = "/tmp/rtcp_urgent_XXXXXX";
	int fd, c, a, file, p[2];

	memset(r, 0, sizeof(*r));
	file = mkstemp(path);
	ASSERT_LE(0, file);
	unlink(path);
	ASSERT_EQ(0, ftruncate(file, 100));
	ASSERT_EQ(0, pipe(p));

	fd = socket(family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	sigpipes = 0;
	r->unconnected = sendfile_res(fd, file);
	r->unconnected_sig = sigpipes;
	ASSERT_EQ(5, write(p[1], "hello", 5));
	r->splice_unconnected = splice(p[0], NULL, fd, NULL, 5, 0) < 0 ? -errno : 0;
	r->splice_out_unconnected = splice(fd, NULL, p[1], NULL, 5, SPLICE_F_NONBLOCK) < 0 ? -errno : 0;
	close(fd);

	ASSERT_EQ(0, loopback_pair(family, family, &c, &a));
	ASSERT_EQ(0, shutdown(c, SHUT_WR));
	sigpipes = 0;
	r->after_shut = sendfile_res(c, file);
	r->after_shut_sig = sigpipes;
	/* The peer's end of stream: splice() gives 0. */
	ASSERT_NE(0, wait_for(a, POLLIN));
	r->splice_eof = splice(a, NULL, p[1], NULL, 5, 0);
	close(c);
	close(a);
	close(p[0]);
	close(p[1]);
	close(file);
}

TEST(splice_errors_like_inet)
{
	struct sigaction sa = { .sa_handler = on_sigpipe }, old;
	struct splice_err r[2];

	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, &old));
	for (int i = 0; i < 2; i++) {
		run_splice_err(_metadata, families[i], &r[i]);
		TH_LOG("%s: unconnected %d (%d SIGPIPE), after SHUT_WR %d (%d), splice in %d out %d, eof %d",
		       FAMILY_NAME(families[i]), r[i].unconnected, r[i].unconnected_sig, r[i].after_shut,
		       r[i].after_shut_sig, r[i].splice_unconnected, r[i].splice_out_unconnected, r[i].splice_eof);
		EXPECT_EQ(-EPIPE, r[i].after_shut);
		EXPECT_EQ(1, r[i].after_shut_sig);
		EXPECT_EQ(0, r[i].splice_eof);
	}
	sigaction(SIGPIPE, &old, NULL);
	EXPECT_EQ(0, memcmp(&r[0], &r[1], sizeof(r[0])));
}

TEST_HARNESS_MAIN
