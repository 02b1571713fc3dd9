// SPDX-License-Identifier: GPL-2.0
/*
 * A small tour of AF_RTCP as it stands: create sockets with the flags a
 * program would use, read back what the kernel says about them, show the
 * errnos of what RTCP refuses, and close them. Prints every step.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <linux/rtcp.h>

static int failures;

static int getint(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		return -errno;
	return v;
}

static void attempt(const char *what, int family, int type, int protocol, int want_errno)
{
	int fd = socket(family, type, protocol);
	int err = fd < 0 ? errno : 0;

	printf("  %-44s -> %s", what, fd < 0 ? strerror(err) : "a socket");
	if (err == want_errno) {
		printf("\n");
	} else {
		printf("   (expected %s)\n", want_errno ? strerror(want_errno) : "a socket");
		failures++;
	}
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd pfd;
	FILE *protocols;
	char line[256];
	int fd;

	printf("RTCP demo: AF_RTCP is family %d\n\n", AF_RTCP);

	fd = socket(AF_RTCP, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		printf("socket(AF_RTCP, SOCK_STREAM, 0): %s\n", strerror(errno));
		return 1;
	}
	printf("socket(AF_RTCP, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) = %d\n", fd);
	printf("  SO_DOMAIN %d, SO_TYPE %d (SOCK_STREAM), SO_PROTOCOL %d (IPPROTO_TCP)\n",
	       getint(fd, SO_DOMAIN), getint(fd, SO_TYPE), getint(fd, SO_PROTOCOL));
	printf("  O_NONBLOCK %s, FD_CLOEXEC %s\n",
	       fcntl(fd, F_GETFL) & O_NONBLOCK ? "set" : "clear",
	       fcntl(fd, F_GETFD) & FD_CLOEXEC ? "set" : "clear");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	poll(&pfd, 1, 0);
	printf("  poll: %s%s%s (a new, unconnected stream socket)\n",
	       pfd.revents & POLLOUT ? "POLLOUT " : "", pfd.revents & POLLHUP ? "POLLHUP " : "",
	       pfd.revents & POLLIN ? "POLLIN" : "");

	protocols = fopen("/proc/net/protocols", "r");
	while (protocols && fgets(line, sizeof(line), protocols))
		if (!strncmp(line, "RTCP ", 5))
			printf("  /proc/net/protocols: %.40s...\n", line);
	if (protocols)
		fclose(protocols);

	{
		struct sockaddr_in lo = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(lo);

		if (bind(fd, (void *)&lo, sizeof(lo)) || getsockname(fd, (void *)&lo, &len)) {
			printf("  bind(127.0.0.1:0): %s\n", strerror(errno));
			failures++;
		} else {
			printf("  bind(127.0.0.1:0), getsockname: 127.0.0.1:%d (an ephemeral port,\n"
			       "    held in the port space Linux's TCP shares)\n", ntohs(lo.sin_port));
		}
	}
	printf("  connect(127.0.0.1:80), nobody listening: %s\n",
	       connect(fd, (void *)&sin, sizeof(sin)) ? strerror(errno) : "connected");
	printf("close(%d) = %d\n\n", fd, close(fd));

	printf("A connection each way with Linux's TCP on loopback:\n");
	for (int dir = 0; dir < 2; dir++) {
		int server_family = dir ? AF_RTCP : AF_INET, client_family = dir ? AF_INET : AF_RTCP;
		struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct sockaddr_in peer;
		socklen_t len = sizeof(addr);
		int l = socket(server_family, SOCK_STREAM, 0), c, a;
		char buf[INET_ADDRSTRLEN];

		if (l < 0 || bind(l, (void *)&addr, sizeof(addr)) || listen(l, 4) ||
		    getsockname(l, (void *)&addr, &len)) {
			printf("  listen: %s\n", strerror(errno));
			failures++;
			continue;
		}
		c = socket(client_family, SOCK_STREAM, 0);
		if (connect(c, (void *)&addr, sizeof(addr))) {
			printf("  connect: %s\n", strerror(errno));
			failures++;
		} else {
			len = sizeof(peer);
			a = accept(l, (void *)&peer, &len);
			char msg[64] = "";
			ssize_t n;

			printf("  %s client -> %s listener on port %d: connected; accept() gives %s:%d\n",
			       dir ? "AF_INET" : "AF_RTCP", dir ? "AF_RTCP" : "AF_INET", ntohs(addr.sin_port),
			       inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf)), ntohs(peer.sin_port));
			/* A message each way, then the client closes first. */
			if (send(c, "hello from the client", 21, 0) != 21 ||
			    recv(a, msg, 21, MSG_WAITALL) != 21 ||
			    send(a, "hello back", 10, 0) != 10) {
				printf("  data: %s\n", strerror(errno));
				failures++;
			} else {
				printf("    server read \"%s\"; ", msg);
				memset(msg, 0, sizeof(msg));
				n = recv(c, msg, 10, MSG_WAITALL);
				printf("client read \"%s\" (%zd bytes)\n", msg, n);
				close(c);
				c = -1;
				n = recv(a, msg, sizeof(msg), 0);
				printf("    client closed: the server reads %zd (the end of the stream, a FIN)\n", n);
				if (n != 0)
					failures++;
			}
			close(a);
		}
		if (c >= 0)
			close(c);
		close(l);
	}
	printf("\n");

	printf("What RTCP refuses, with the errnos Linux's TCP gives:\n");
	attempt("socket(AF_RTCP, SOCK_STREAM, IPPROTO_TCP)", AF_RTCP, SOCK_STREAM, IPPROTO_TCP, 0);
	attempt("socket(AF_RTCP, SOCK_DGRAM, 0)", AF_RTCP, SOCK_DGRAM, 0, ESOCKTNOSUPPORT);
	attempt("socket(AF_RTCP, SOCK_STREAM, IPPROTO_UDP)", AF_RTCP, SOCK_STREAM, IPPROTO_UDP,
		EPROTONOSUPPORT);
	attempt("socket(AF_RTCP, SOCK_STREAM, -1)", AF_RTCP, SOCK_STREAM, -1, EINVAL);

	printf("\n%s\n", failures ? "Something did not behave as expected." : "All as expected.");
	return failures ? 1 : 0;
}
