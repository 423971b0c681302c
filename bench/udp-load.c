/*
 * udp-load: hold many UDP sockets for bench/udp-scale.  Run inside the
 * benchmark's network namespace.
 *
 *   udp-load --sockets N [--connected PERCENT] [--dropping K] --ready FILE
 *            [--timeout SECONDS]
 *
 * Opens N UDP sockets on 127.0.0.1 (ports chosen by the kernel), PERCENT of
 * them (default 25) connected to the first one, and K of the unconnected
 * ones (default 50) with the smallest receive buffer, flooded until they
 * drop.  Writes "ready sockets=N connected=C dropping=K" to FILE, then waits
 * until killed or for SECONDS (default 600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: udp-load --sockets N [--connected PERCENT] [--dropping K] --ready FILE "
			"[--timeout SECONDS]\n");
	exit(2);
}

static long num(const char *s, long lo, long hi)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	long n = -1, pct = 25, drop = 50, timeout = 600, conn = 0, dropping = 0;
	const char *ready = NULL;
	struct sockaddr_in first = { .sin_family = AF_INET };
	struct rlimit rl;
	char payload[512] = { 0 };
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--sockets"))
			n = num(argv[++i], 1, 1000000);
		else if (!strcmp(argv[i], "--connected"))
			pct = num(argv[++i], 0, 100);
		else if (!strcmp(argv[i], "--dropping"))
			drop = num(argv[++i], 0, 1000000);
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[++i];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = num(argv[++i], 1, 86400);
		else
			usage();
	}
	if (n < 0 || !ready)
		usage();
	rl.rlim_cur = rl.rlim_max = (rlim_t)n + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("udp-load: setrlimit(RLIMIT_NOFILE)");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sa);
		int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

		if (s < 0) {
			perror("udp-load: socket");
			return 1;
		}
		/* the first is bound, the others as their kind needs */
		if (i == 0 || i % 100 >= pct) {
			if (i > 0 && dropping < drop && setsockopt(s, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) < 0) {
				perror("udp-load: SO_RCVBUF");
				return 1;
			}
			if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    getsockname(s, (struct sockaddr *)&sa, &sl) < 0) {
				perror("udp-load: bind");
				return 1;
			}
			if (i == 0) {
				first = sa;
			} else if (dropping < drop) {
				/* a few datagrams more than the smallest buffer holds */
				for (int k = 0; k < 8; k++)
					sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&sa, sl);
				dropping++;
			}
		} else {
			if (connect(s, (struct sockaddr *)&first, sizeof(first)) < 0) {
				perror("udp-load: connect");
				return 1;
			}
			conn++;
		}
	}
	f = fopen(ready, "w");
	if (!f || fprintf(f, "ready sockets=%ld connected=%ld dropping=%ld\n", n, conn, dropping) < 0 ||
	    fclose(f) != 0) {
		perror("udp-load: ready file");
		return 1;
	}
	sleep((unsigned)timeout);
	return 0;
}
