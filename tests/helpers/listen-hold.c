/* listen-hold [-4|-6|-d] [-a ADDR] [-r] [-n COMM] [-N NSFILE] [-T N] [-t] [-D|-Z] PORT BACKLOG
 *
 * Open a TCP listener and keep it, never calling accept(), so that its
 * accept queue fills.  -4 IPv4 (default), -6 IPv6 only, -d dual-stack [::]
 * (IPV6_V6ONLY off); -a bind address (default: the wildcard); -r
 * SO_REUSEPORT; -n process name (prctl PR_SET_NAME) with C escapes
 * (\xNN, \e, \n, \t, \\) decoded; -N: once listening, move into the
 * network namespace of NSFILE (/proc/PID/ns/net), keeping the listener of
 * the namespace it was started in; -t start a second thread that waits
 * (as a threaded server's other workers do); -T N: before it, start N
 * threads that each wait in uninterruptible sleep (state D, helper_stick());
 * -D then wait in uninterruptible sleep in the main thread; -Z end the
 * main thread (pthread_exit(): it stays a zombie while the others run).
 * Prints "ready PORT" once listening (PORT 0 picks one) and waits until
 * killed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

static void usage(void)
{
	fprintf(stderr, "usage: listen-hold [-4|-6|-d] [-a ADDR] [-r] [-n COMM] [-N NSFILE] [-T N] [-t] [-D|-Z] PORT BACKLOG\n");
	exit(2);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode C escapes of s in place; returns the length. */
static size_t unescape(char *s)
{
	char *o = s;

	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'e': *o++ = 0x1b; break;
		case '\\': *o++ = '\\'; break;
		case 'x':
			if (hexval(p[1]) >= 0) {
				int v = hexval(*++p);

				if (hexval(p[1]) >= 0)
					v = v * 16 + hexval(*++p);
				*o++ = (char)v;
				break;
			}
			/* fall through */
		default:
			*o++ = '\\';
			*o++ = *p;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

static long number(const char *s, long min, long max)
{
	return helper_number(s, min, max, usage);
}

static int stuck_fd = -1;

static void *stuck_thread(void *arg)
{
	(void)arg;
	helper_stick(stuck_fd);
	for (;;)
		pause();
	return NULL;
}

/* n threads in uninterruptible sleep, on small stacks */
static int start_stuck(int fd, long n)
{
	pthread_attr_t at;
	pthread_t th;

	stuck_fd = fd;
	if (pthread_attr_init(&at) || pthread_attr_setstacksize(&at, 256 * 1024))
		return -1;
	for (long i = 0; i < n; i++) {
		int e = pthread_create(&th, &at, stuck_thread, NULL);

		if (e) {
			fprintf(stderr, "pthread_create: %s\n", strerror(e));
			return -1;
		}
	}
	pthread_attr_destroy(&at);
	return 0;
}

static void *waiter(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int family = AF_INET, dual = 0, reuse = 0, opt, fd, one = 1, thread = 0, stuck = 0;
	const char *addr = NULL, *nsfile = NULL;
	char *comm = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	long port, backlog, nstuck = 0;

	while ((opt = getopt(argc, argv, "46da:rn:N:T:tDZ")) != -1) {
		switch (opt) {
		case '4': family = AF_INET; dual = 0; break;
		case '6': family = AF_INET6; dual = 0; break;
		case 'd': family = AF_INET6; dual = 1; break;
		case 'a': addr = optarg; break;
		case 'r': reuse = 1; break;
		case 'n': comm = optarg; break;
		case 'N': nsfile = optarg; break;
		case 'T': nstuck = number(optarg, 0, 100000); break;
		case 't': thread = 1; break;
		case 'D': stuck = 1; break;
		case 'Z': stuck = 2; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	port = number(argv[optind], 0, 65535);
	backlog = number(argv[optind + 1], -1, 0x7fffffff);

	if (comm) {
		size_t n = unescape(comm);

		if (n > 15)
			comm[15] = '\0';
		if (prctl(PR_SET_NAME, comm, 0, 0, 0) < 0) {
			perror("prctl(PR_SET_NAME)");
			return 1;
		}
	}

	sl = helper_sockaddr(family, addr, port, &ss);
	if (!sl) {
		fprintf(stderr, "listen-hold: bad %s address %s\n", family == AF_INET ? "IPv4" : "IPv6", addr);
		return 2;
	}

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)) {
		perror("setsockopt");
		return 1;
	}
	helper_bind(fd, family, dual, &ss, sl);
	if (listen(fd, (int)backlog) < 0) {
		perror("listen");
		return 1;
	}
	port = helper_bound_port(fd);
	if (nsfile) {
		int nfd = open(nsfile, O_RDONLY | O_CLOEXEC);

		if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0) {
			perror(nsfile);
			return 1;
		}
		close(nfd);
	}
	if (nstuck && start_stuck(fd, nstuck) < 0)
		return 1;
	if (thread) {
		pthread_t th;
		int e = pthread_create(&th, NULL, waiter, NULL);

		if (e) {
			fprintf(stderr, "pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	printf("ready %ld\n", port);
	fflush(stdout);
	if (stuck == 2)
		pthread_exit(NULL);
	if (stuck && helper_stick(fd) < 0)
		return 1;
	for (;;)
		pause();
}
