/* connect-burst [-w MS] [-x] HOST PORT N
 *
 * Start N non-blocking TCP connects to HOST:PORT (an IPv4 or IPv6
 * literal), wait up to MS milliseconds (default 1000) for them to settle,
 * print how many connected, then hold the sockets open until killed (so
 * that the server's queues stay filled), or exit at once with -x. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static void usage(void)
{
	fprintf(stderr, "usage: connect-burst [-w MS] [-x] HOST PORT N\n");
	exit(2);
}

static long number(const char *s, long min, long max)
{
	return helper_number(s, min, max, usage);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	long wait_ms = 1000, port, n;
	int opt, exit_now = 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct pollfd *pfd;
	long connected = 0, pending = 0;
	long long deadline;
	struct rlimit rl;

	while ((opt = getopt(argc, argv, "w:x")) != -1) {
		switch (opt) {
		case 'w': wait_ms = number(optarg, 0, 3600 * 1000); break;
		case 'x': exit_now = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	port = number(argv[optind + 1], 1, 65535);
	n = number(argv[optind + 2], 0, 10000000);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "connect-burst: not an address: %s\n", argv[optind]);
		return 2;
	}

	/* room for N descriptors */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 16) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 16 ? rl.rlim_max : (rlim_t)n + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pfd = calloc((size_t)n + 1, sizeof(*pfd));
	if (!pfd) {
		perror("calloc");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		pfd[i].fd = fd;
		pfd[i].events = POLLOUT;
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
			connected++;
			pfd[i].fd = -fd - 1;    /* settled: poll ignores negative fds */
		} else if (errno == EINPROGRESS) {
			pending++;
		} else {
			pfd[i].fd = -fd - 1;    /* failed */
		}
	}
	deadline = now_ms() + wait_ms;
	while (pending > 0) {
		long long left = deadline - now_ms();
		int k;

		if (left <= 0)
			break;
		k = poll(pfd, (nfds_t)n, (int)left);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (long i = 0; i < n && k > 0; i++) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			k--;
			if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
				connected++;
			pfd[i].fd = -pfd[i].fd - 1;
			pending--;
		}
	}
	printf("%ld\n", connected);
	fflush(stdout);
	if (exit_now) {
		for (long i = 0; i < n; i++)
			close(pfd[i].fd < 0 ? -pfd[i].fd - 1 : pfd[i].fd);
		free(pfd);
		return 0;
	}
	for (;;)
		pause();
}
