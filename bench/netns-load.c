/*
 * netns-load: hold listeners and connections in many network namespaces
 * from one process, for bench/netns-scan.  Run as root.
 *
 *   netns-load PREFIX N LISTENERS CONNECTIONS
 *
 * For each of the named namespaces PREFIX1 .. PREFIXN (/run/netns, loopback
 * up), enter it, open LISTENERS listeners on 127.0.0.1 (backlog 128) and
 * CONNECTIONS connections to the first one (never accepted: they wait in
 * its accept queue, the client ends held here), and come back.  Sockets
 * stay in the namespace they were created in.  Prints "ready" and waits
 * until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int in_ns(int nl, int nc)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int first = -1;

	for (int i = 0; i < nl; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_port = 0;
		if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 128) < 0)
			return -1;
		if (i == 0)
			first = s;
	}
	if (nl > 0 && getsockname(first, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	for (int i = 0; i < nc && nl > 0; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	int home, n, nl, nc;

	if (argc != 5) {
		fprintf(stderr, "usage: netns-load PREFIX N LISTENERS CONNECTIONS\n");
		return 2;
	}
	n = atoi(argv[2]);
	nl = atoi(argv[3]);
	nc = atoi(argv[4]);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int i = 1; i <= n; i++) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s%d", argv[1], i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 || in_ns(nl, nc) < 0 || setns(home, CLONE_NEWNET) < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
