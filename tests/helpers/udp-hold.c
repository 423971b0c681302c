/* udp-hold [-4|-6|-d] [-a ADDR] [-b BYTES] [-r MS] [-n COMM] [-c PEERPORT] [-D] PORT
 *
 * Open a UDP socket and keep it without reading, so that its receive
 * buffer fills and it drops what arrives next.  -4 IPv4 (default), -6 IPv6
 * only, -d dual-stack [::]; -a bind address (default: the wildcard); -b
 * ask for a receive buffer of BYTES with SO_RCVBUF (the kernel doubles it
 * and caps it at twice net.core.rmem_max); -r read one datagram every MS
 * milliseconds (a reader too slow for its traffic); -n process name
 * (prctl PR_SET_NAME); -c connect to PEERPORT on the loopback address (a
 * client's connected socket); -D wait in uninterruptible sleep (state D: a
 * vfork()ed child that holds no socket and never execs, killed with its
 * parent).  Prints "ready PORT rcvbuf BYTES" once bound (PORT 0 picks one)
 * and runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static void usage(void)
{
	fprintf(stderr, "usage: udp-hold [-4|-6|-d] [-a ADDR] [-b BYTES] [-r MS] [-n COMM] [-c PEERPORT] [-D] PORT\n");
	exit(2);
}

static long number(const char *s, long min, long max)
{
	return helper_number(s, min, max, usage);
}

int main(int argc, char **argv)
{
	int family = AF_INET, dual = 0, opt, fd, rcvbuf = -1, got, stuck = 0;
	long port, read_ms = -1, peer = -1;
	const char *addr = NULL, *comm = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;

	while ((opt = getopt(argc, argv, "46da:b:r:n:c:D")) != -1) {
		switch (opt) {
		case '4': family = AF_INET; dual = 0; break;
		case '6': family = AF_INET6; dual = 0; break;
		case 'd': family = AF_INET6; dual = 1; break;
		case 'a': addr = optarg; break;
		case 'b': rcvbuf = (int)number(optarg, 0, 0x7fffffff); break;
		case 'r': read_ms = number(optarg, 1, 3600000); break;
		case 'n': comm = optarg; break;
		case 'c': peer = number(optarg, 1, 65535); break;
		case 'D': stuck = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 1)
		usage();
	port = number(argv[optind], 0, 65535);
	if (comm && prctl(PR_SET_NAME, comm, 0, 0, 0) < 0) {
		perror("prctl(PR_SET_NAME)");
		return 1;
	}
	sl = helper_sockaddr(family, addr, port, &ss);
	if (!sl) {
		fprintf(stderr, "udp-hold: bad %s address %s\n", family == AF_INET ? "IPv4" : "IPv6", addr);
		return 2;
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (rcvbuf >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
		perror("setsockopt(SO_RCVBUF)");
		return 1;
	}
	helper_bind(fd, family, dual, &ss, sl);
	port = helper_bound_port(fd);
	if (peer > 0) {
		struct sockaddr_storage ps;
		socklen_t psl = helper_sockaddr(family, family == AF_INET ? "127.0.0.1" : "::1", (int)peer, &ps);

		if (connect(fd, (struct sockaddr *)&ps, psl) < 0) {
			perror("connect");
			return 1;
		}
	}
	sl = sizeof(got);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &sl) < 0) {
		perror("getsockopt(SO_RCVBUF)");
		return 1;
	}
	printf("ready %ld rcvbuf %d\n", port, got);
	fflush(stdout);
	if (stuck && helper_stick(fd) < 0)
		return 1;
	for (;;) {
		char buf[65536];

		if (read_ms < 0) {
			pause();
			continue;
		}
		/* one datagram, then a pause: a reader too slow for its traffic */
		if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR) {
			perror("recv");
			return 1;
		}
		{
			struct timespec ts = { read_ms / 1000, (read_ms % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}
}
