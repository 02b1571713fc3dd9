// SPDX-License-Identifier: GPL-2.0
/*
 * An edge-triggered epoll echo server on AF_RTCP serving a hundred clients
 * at once, over loopback in a network namespace of its own. The server is
 * written the way real ones are: non-blocking sockets, EPOLLET, accept and
 * read until EAGAIN, output that does not fit kept until EPOLLOUT. Each
 * client streams its own pattern and must get exactly it back, then the
 * end of the stream; the clients are Linux's TCP or RTCP.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "rtcp_util.h"

#define CLIENTS 100
#define PER_CLIENT ((size_t)48 << 10)
#define IDLE_MS 20000

/* One accepted connection: what was read and not yet written back. */
struct conn {
	int fd;
	size_t off, len;
	int eof;
	uint8_t buf[16384];
};

struct server {
	int lfd;
	int served, closed;
	int err;		/* the first failure, as an errno */
	int full;		/* writes that met a full buffer (EPOLLOUT then) */
};

static void conn_close(int ep, struct conn *c, struct server *s)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	s->closed++;
}

/* Writes what is pending; 1 when all of it went, 0 on EAGAIN, -errno. */
static int flush(struct conn *c, struct server *s)
{
	while (c->off < c->len) {
		ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN) {
				s->full++;
				return 0;
			}
			return -errno;
		}
		c->off += w;
	}
	c->off = c->len = 0;
	return 1;
}

/* One edge on a connection: flush, then read until EAGAIN or the end,
 * echoing as it goes. 1 when the connection is finished. */
static int serve(struct conn *c, struct server *s)
{
	for (;;) {
		int r = flush(c, s);
		ssize_t n;

		if (r < 0) {
			s->err = -r;
			return 1;
		}
		if (r == 0)
			return 0;	/* EPOLLOUT will come */
		if (c->eof) {
			shutdown(c->fd, SHUT_WR);
			return 1;
		}
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;	/* EPOLLIN will come */
			s->err = errno;
			return 1;
		}
		if (n == 0)
			c->eof = 1;
		c->len = n;
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = NULL };
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s->lfd, &ev)) {
		s->err = errno;
		return NULL;
	}
	while (s->closed < CLIENTS && !s->err) {
		int n = epoll_wait(ep, evs, 64, IDLE_MS);

		if (n <= 0) {
			s->err = n == 0 ? ETIMEDOUT : errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				/* The listener: accept until EAGAIN. */
				for (;;) {
					int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK);

					if (fd < 0) {
						if (errno != EAGAIN)
							s->err = errno;
						break;
					}
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
					ev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
						s->err = errno;
						break;
					}
					s->served++;
				}
				continue;
			}
			if (evs[i].events & EPOLLERR) {
				s->err = so_error(c->fd) ?: EIO;
				conn_close(ep, c, s);
				continue;
			}
			if (serve(c, s))
				conn_close(ep, c, s);
		}
	}
	close(ep);
	return NULL;
}

/* A client: its socket, how much it sent and got back. */
struct client {
	int fd;
	size_t sent, got;
	int done;
};

FIXTURE(echo)
{
	struct server s;
	struct client c[CLIENTS];
	pthread_t thread;
};

FIXTURE_VARIANT(echo)
{
	int client;
};

FIXTURE_VARIANT_ADD(echo, linux_clients) { .client = AF_INET };
FIXTURE_VARIANT_ADD(echo, rtcp_clients) { .client = AF_RTCP };

FIXTURE_SETUP(echo)
{
	ASSERT_EQ(0, private_netns());
}

FIXTURE_TEARDOWN(echo)
{
}

TEST_F_TIMEOUT(echo, a_hundred_clients_at_once, 300)
{
	struct sockaddr_in addr;
	struct pollfd pfd[CLIENTS];
	uint8_t buf[8192];
	int left = CLIENTS;

	self->s.lfd = listener_on(AF_RTCP, "127.0.0.1", CLIENTS + 28, &addr);
	ASSERT_LE(0, self->s.lfd);
	/* Small send buffers, which the connections take from the listener:
	 * the echo meets full buffers and waits for EPOLLOUT. */
	ASSERT_EQ(0, setsockopt(self->s.lfd, SOL_SOCKET, SO_SNDBUF, &(int){ 4096 }, sizeof(int)));
	ASSERT_EQ(0, fcntl(self->s.lfd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, server_main, &self->s));

	/* All the clients connect before any sends: the server holds a
	 * hundred connections at once. */
	for (int i = 0; i < CLIENTS; i++) {
		struct client *cl = &self->c[i];

		cl->fd = socket(variant->client, SOCK_STREAM, 0);
		ASSERT_LE(0, cl->fd);
		ASSERT_EQ(0, connect_res(cl->fd, &addr)) TH_LOG("client %d", i);
		ASSERT_EQ(0, fcntl(cl->fd, F_SETFL, O_NONBLOCK));
		pfd[i] = (struct pollfd){ .fd = cl->fd, .events = POLLIN | POLLOUT };
	}
	while (left > 0) {
		int n = poll(pfd, CLIENTS, IDLE_MS);

		ASSERT_LT(0, n) TH_LOG("no progress for %d ms: %d clients left, server error %d",
				       IDLE_MS, left, self->s.err);
		for (int i = 0; i < CLIENTS; i++) {
			struct client *cl = &self->c[i];

			if (cl->done || !pfd[i].revents)
				continue;
			ASSERT_EQ(0, pfd[i].revents & (POLLERR | POLLNVAL)) TH_LOG("client %d: %d", i, so_error(cl->fd));
			if ((pfd[i].revents & POLLOUT) && cl->sent < PER_CLIENT) {
				size_t len = PER_CLIENT - cl->sent;
				ssize_t w;

				len = len < sizeof(buf) ? len : sizeof(buf);
				for (size_t k = 0; k < len; k++)
					buf[k] = pattern(cl->sent + k, i);
				w = send(cl->fd, buf, len, MSG_NOSIGNAL);
				ASSERT_TRUE(w > 0 || errno == EAGAIN) TH_LOG("client %d send: %s", i, strerror(errno));
				if (w > 0)
					cl->sent += w;
				if (cl->sent == PER_CLIENT) {
					ASSERT_EQ(0, shutdown(cl->fd, SHUT_WR));
					pfd[i].events = POLLIN;
				}
			}
			if (pfd[i].revents & (POLLIN | POLLHUP)) {
				ssize_t r = recv(cl->fd, buf, sizeof(buf), 0);
				ssize_t bad = -1;

				ASSERT_TRUE(r >= 0 || errno == EAGAIN) TH_LOG("client %d recv: %s", i, strerror(errno));
				for (ssize_t k = 0; k < r && bad < 0; k++)
					if (buf[k] != pattern(cl->got + k, i))
						bad = k;
				ASSERT_EQ(-1, bad) TH_LOG("client %d: wrong byte at %zu", i, cl->got + bad);
				if (r > 0)
					cl->got += r;
				if (r == 0) {
					/* The end of the echo: all of it came back. */
					ASSERT_EQ(PER_CLIENT, cl->got) TH_LOG("client %d", i);
					cl->done = 1;
					pfd[i].fd = -1;
					close(cl->fd);
					left--;
				}
			}
		}
	}
	pthread_join(self->thread, NULL);
	EXPECT_EQ(0, self->s.err);
	EXPECT_EQ(CLIENTS, self->s.served);
	EXPECT_EQ(CLIENTS, self->s.closed);
	TH_LOG("server writes that waited for EPOLLOUT: %d", self->s.full);
	close(self->s.lfd);
}

TEST_HARNESS_MAIN
