// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: opens AF_RTCP sockets and holds them until stdin closes.
 *
 *	rtcp_hold [N]	open N sockets (default 1), print "ready", wait
 *
 * Exits 1 with the errno on stderr if a socket cannot be created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/rtcp.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char buf[64];

	for (int i = 0; i < n; i++) {
		if (socket(AF_RTCP, SOCK_STREAM, 0) < 0) {
			fprintf(stderr, "socket(AF_RTCP): %s\n", strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
