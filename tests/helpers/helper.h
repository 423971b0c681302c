/* What the test helpers share: numbers from their command lines and the
 * socket address they bind or connect to. */
#ifndef NK_TEST_HELPER_H
#define NK_TEST_HELPER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* s as a number in [min, max]; anything else calls usage(), which exits. */
static inline long helper_number(const char *s, long min, long max, void (*usage)(void))
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage();
	return v;
}

/* The address addr (NULL: the wildcard) of family (AF_INET or AF_INET6)
 * with port in *ss: its length, or 0 when addr is not one of family. */
static inline socklen_t helper_sockaddr(int family, const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		if (addr && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return 0;
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_any;
		if (addr && inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return 0;
		return sizeof(*sin6);
	}
}

/* Bind fd to ss (sl bytes), an AF_INET6 socket IPv6-only unless dual
 * (dual-stack [::]); exits 1 with the error on failure. */
static inline void helper_bind(int fd, int family, int dual, const struct sockaddr_storage *ss, socklen_t sl)
{
	if (family == AF_INET6) {
		int v6only = !dual;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
			perror("setsockopt(IPV6_V6ONLY)");
			exit(1);
		}
	}
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0) {
		perror("bind");
		exit(1);
	}
}

/* The local port of fd; exits 1 with the error on failure. */
static inline long helper_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		perror("getsockname");
		exit(1);
	}
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Put the calling thread in uninterruptible sleep (state D) for good:
 * vfork()'s parent waits until the child exits, which it does only when
 * the parent is killed (the child closes fd, the socket, so that it holds none).
 * Returns -1 if vfork fails. */
static __attribute__((noinline, unused)) int helper_stick(int fd)
{
	pid_t child = vfork();

	if (child == 0) {
		close(fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	if (child < 0) {
		perror("vfork");
		return -1;
	}
	return 0;
}

#endif
