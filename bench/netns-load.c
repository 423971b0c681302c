/*
 * netns-load: hold listeners and connections in many network namespaces,
 * for bench/netns-scan and bench/allns.  Run as root.
 *
 *   netns-load PREFIX N LISTENERS QUEUED [ESTABLISHED [PROCS]]
 *
 * For each of the named namespaces PREFIX1 .. PREFIXN (/run/netns, loopback
 * up), enter it, open LISTENERS listeners on 127.0.0.1 (backlog 511, which
 * the namespace's somaxconn may clamp), QUEUED connections to the first one
 * (never accepted: they wait in its accept queue) and ESTABLISHED connections
 * (default 0) to the others in turn (to the first when it is the only one),
 * accepted, both ends held here, and come back.  Sockets stay in the
 * namespace they were created in.
 *
 * PROCS "one" (default) holds every namespace's sockets in this process;
 * "each" forks one process per namespace holding that namespace's sockets,
 * as a container host has a server in each container.  Prints "ready" once
 * every namespace is loaded and waits until killed (children end with it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXL 64

static int in_ns(int nl, int nq, int ne)
{
	struct sockaddr_in sa[MAXL];
	int ls[MAXL];

	if (nl > MAXL)
		return -1;
	for (int i = 0; i < nl; i++) {
		socklen_t sl = sizeof(sa[i]);

		memset(&sa[i], 0, sizeof(sa[i]));
		sa[i].sin_family = AF_INET;
		sa[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ls[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (ls[i] < 0 || bind(ls[i], (struct sockaddr *)&sa[i], sizeof(sa[i])) < 0 ||
		    listen(ls[i], 511) < 0 || getsockname(ls[i], (struct sockaddr *)&sa[i], &sl) < 0)
			return -1;
	}
	for (int i = 0; i < nq && nl > 0; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&sa[0], sizeof(sa[0])) < 0)
			return -1;
	}
	for (int i = 0; i < ne && nl > 0; i++) {
		int k = nl > 1 ? 1 + i % (nl - 1) : 0;
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&sa[k], sizeof(sa[k])) < 0 ||
		    accept(ls[k], NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static int load_one(const char *prefix, int i, int home, int nl, int nq, int ne)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s%d", prefix, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 || in_ns(nl, nq, ne) < 0 ||
	    (home >= 0 && setns(home, CLONE_NEWNET) < 0)) {
		perror(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* One child per namespace; each writes a byte to ready once loaded. */
static int fork_each(const char *prefix, int n, int nl, int nq, int ne)
{
	int p[2];
	char b;

	if (pipe(p) < 0)
		return -1;
	for (int i = 1; i <= n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			close(p[0]);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1 || load_one(prefix, i, -1, nl, nq, ne) < 0)
				_exit(1);
			if (write(p[1], "r", 1) != 1)
				_exit(1);
			close(p[1]);
			for (;;)
				pause();
		}
	}
	close(p[1]);
	for (int i = 0; i < n; i++)
		if (read(p[0], &b, 1) != 1) {
			fprintf(stderr, "netns-load: a namespace's process failed\n");
			return -1;
		}
	close(p[0]);
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	int home, n, nl, nq, ne = 0;
	int each = 0;

	if (argc < 5 || argc > 7 || (argc == 7 && strcmp(argv[6], "one") && strcmp(argv[6], "each"))) {
		fprintf(stderr, "usage: netns-load PREFIX N LISTENERS QUEUED [ESTABLISHED [one|each]]\n");
		return 2;
	}
	n = atoi(argv[2]);
	nl = atoi(argv[3]);
	nq = atoi(argv[4]);
	if (argc > 5)
		ne = atoi(argv[5]);
	if (argc > 6)
		each = strcmp(argv[6], "each") == 0;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGTERM, SIG_DFL);
	if (each) {
		/* the children die with this process (PR_SET_PDEATHSIG); a
		 * signalled process group ends them all at once too */
		if (fork_each(argv[1], n, nl, nq, ne) < 0)
			return 1;
	} else {
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		for (int i = 1; i <= n; i++)
			if (load_one(argv[1], i, home, nl, nq, ne) < 0)
				return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
