/* udp-flood [-s SIZE] ADDR PORT COUNT
 *
 * Send COUNT datagrams of SIZE bytes (default 100) to ADDR:PORT (IPv4 or
 * IPv6) as fast as the kernel takes them; prints "sent N" (the datagrams
 * the kernel accepted).  Over loopback each is delivered, or dropped by
 * the receiver, before sendto() returns. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

static void usage(void)
{
	fprintf(stderr, "usage: udp-flood [-s SIZE] ADDR PORT COUNT\n");
	exit(2);
}

static long number(const char *s, long min, long max)
{
	return helper_number(s, min, max, usage);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	long size = 100, count, sent = 0;
	char *payload;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt == 's')
			size = number(optarg, 1, 65000);
		else
			usage();
	}
	if (argc - optind != 3)
		usage();
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[optind], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)number(argv[optind + 1], 1, 65535));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)number(argv[optind + 1], 1, 65535));
		sl = sizeof(struct sockaddr_in6);
	} else {
		usage();
	}
	count = number(argv[optind + 2], 1, 1000000000);
	payload = calloc(1, (size_t)size);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!payload || fd < 0) {
		perror("udp-flood");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		if (sendto(fd, payload, (size_t)size, 0, (struct sockaddr *)&ss, sl) >= 0)
			sent++;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
			perror("sendto");
			return 1;
		}
	}
	printf("sent %ld\n", sent);
	free(payload);
	close(fd);
	return 0;
}
