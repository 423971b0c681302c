/*
 * scale-load: build a large, idle TCP socket population on loopback for
 * bench/scale.  Run it as root inside a private network namespace.
 *
 * Server processes open the listeners (127.0.0.1:BASE .. BASE+L-1, the first
 * few on [::] dual-stack) and accept every connection, except on a handful of
 * "idle" listeners that never accept, so their accept queues stay non-empty.
 * With --prefork N each server forks N-1 children once its listeners are open,
 * as a pre-fork server's workers: every listener is then held by N processes
 * (the children wait on the same epoll set and accept nothing).
 * Client processes open the connections.  Both sides are split over as many
 * processes as needed to keep each one under --per-proc descriptors.
 *
 * When every connection is in place the coordinator prints one "ready" line
 * (and writes it to --ready FILE), then waits, idle, until it gets SIGTERM,
 * SIGINT or SIGHUP, its parent exits, or --timeout seconds have passed; it
 * then kills its workers and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { ST_START = 0, ST_DONE = 1, ST_FAILED = 2 };

/* One per worker, in shared memory; each worker writes only its own. */
struct slot {
	long count;   /* server: accepted; client: connected */
	long idle;    /* client: connected to an idle listener */
	long failed;  /* client: connect() failures */
	int state;
	int err;      /* errno of the failure that set ST_FAILED */
};

static long opt_listeners = 2000;
static long opt_connections = 100000;
static long opt_port_base = 10000;
static long opt_dual = 4;
static long opt_idle = 5;
static long opt_queued = 10;
static long opt_per_proc = 19000;
static long opt_backlog = 4096;
static long opt_sources = 8;
static long opt_timeout = 600;
static long opt_stall = 60;
static long opt_prefork = 1;
static const char *opt_ready;

/* The connection plan, derived from the options. */
static long n_accepting;  /* listeners 0 .. n_accepting-1 accept */
static long n_idle;       /* listeners n_accepting .. L-1 do not */
static long n_queued;     /* connections 0 .. n_queued-1 go to idle listeners */
static long n_servers, n_clients;

static struct slot *slots; /* n_servers server slots, then n_clients */
static pid_t *pids;
static pid_t coordinator;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: scale-load [options]\n"
		"  --listeners N       listening sockets (default 2000)\n"
		"  --connections N     established connections (default 100000)\n"
		"  --port-base P       first listening port (default 10000)\n"
		"  --dual-stack N      listeners on [::] with v6only off (default 4)\n"
		"  --idle-listeners N  listeners that never accept (default 5)\n"
		"  --queued N          connections left queued on each idle listener (default 10)\n"
		"  --per-proc N        descriptors per worker process at most (default 19000)\n"
		"  --backlog N         listen() backlog (default 4096)\n"
		"  --sources N         client source addresses 127.0.0.1..N (default 8)\n"
		"  --ready FILE        write the ready line to FILE once everything is connected\n"
		"  --timeout SEC       stop after SEC seconds whatever happens (default 600)\n"
		"  --stall SEC         give up when no progress for SEC seconds (default 60)\n"
		"  --prefork N         processes holding each listener: each server forks\n"
		"                      N-1 idle children once its listeners are open (default 1)\n");
}

static long parse_num(const char *name, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "scale-load: --%s: expected an integer in %ld..%ld, got '%s'\n",
			name, min, max, s);
		exit(2);
	}
	return v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Listener index of connection j. */
static long conn_listener(long j)
{
	if (j < n_queued)
		return n_accepting + j % n_idle;
	return (j - n_queued) % n_accepting;
}

/* Descriptors the busiest of S servers would hold. */
static long server_load(long S, long *per)
{
	long max = 0;
	memset(per, 0, (size_t)S * sizeof(*per));
	for (long i = 0; i < opt_listeners; i++)
		per[i % S]++;
	for (long j = 0; j < opt_connections; j++) {
		long l = conn_listener(j);
		if (l < n_accepting)
			per[l % S]++;
	}
	for (long s = 0; s < S; s++)
		if (per[s] > max)
			max = per[s];
	return max;
}

static void plan(long budget)
{
	if (opt_idle > opt_listeners - 1)
		opt_idle = opt_listeners - 1;
	n_idle = opt_idle;
	n_accepting = opt_listeners - n_idle;
	if (opt_dual > n_accepting)
		opt_dual = n_accepting;
	n_queued = n_idle * opt_queued;
	if (n_queued > opt_connections / 2) /* keep most connections accepted */
		n_queued = n_idle ? (opt_connections / 2) / n_idle * n_idle : 0;
	if (n_queued / (n_idle ? n_idle : 1) >= opt_backlog) {
		fprintf(stderr, "scale-load: --queued must stay below --backlog\n");
		exit(2);
	}

	long *per = calloc((size_t)opt_listeners + 1, sizeof(*per));
	if (!per) {
		perror("scale-load: calloc");
		exit(1);
	}
	for (n_servers = 1; n_servers <= opt_listeners; n_servers++)
		if (server_load(n_servers, per) <= budget)
			break;
	free(per);
	if (n_servers > opt_listeners) {
		fprintf(stderr, "scale-load: too few listeners to spread %ld accepted connections "
			"at %ld descriptors per process; add listeners\n", opt_connections, budget);
		exit(2);
	}
	n_clients = (opt_connections + budget - 1) / budget;
	if (n_clients < 1)
		n_clients = 1;
}

static void set_failed(struct slot *sl, int err)
{
	__atomic_store_n(&sl->err, err, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->state, ST_FAILED, __ATOMIC_RELEASE);
}

static int make_listener(long i)
{
	uint16_t port = (uint16_t)(opt_port_base + i);
	int one = 1, zero = 0, fd;

	if (i < opt_dual) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
					   .sin6_addr = IN6ADDR_ANY_INIT };
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto fail;
	} else {
		struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto fail;
	}
	if (listen(fd, (int)opt_backlog) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void idle_forever(void)
{
	for (;;)
		pause();
}

static void run_server(long s)
{
	struct slot *sl = &slots[s];
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		set_failed(sl, errno);
		idle_forever();
	}
	for (long i = s; i < opt_listeners; i += n_servers) {
		int fd = make_listener(i);
		if (fd < 0) {
			fprintf(stderr, "scale-load: listener on port %ld: %s\n",
				opt_port_base + i, strerror(errno));
			set_failed(sl, errno);
			idle_forever();
		}
		if (i < n_accepting) {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
				set_failed(sl, errno);
				idle_forever();
			}
		}
	}
	/* pre-fork workers: they hold every listener (and the epoll set) */
	for (long k = 1; k < opt_prefork; k++) {
		pid_t server = getpid(), p = fork();

		if (p < 0) {
			set_failed(sl, errno);
			idle_forever();
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != server)
				_exit(0);
			idle_forever();
		}
	}
	__atomic_store_n(&sl->state, ST_DONE, __ATOMIC_RELEASE);

	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_failed(sl, errno);
			idle_forever();
		}
		for (int k = 0; k < n; k++) {
			int lfd = evs[k].data.fd;
			for (;;) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (c >= 0) {
					__atomic_add_fetch(&sl->count, 1, __ATOMIC_RELAXED);
					continue;
				}
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
					break;
				fprintf(stderr, "scale-load: accept: %s\n", strerror(errno));
				set_failed(sl, errno);
				idle_forever();
			}
		}
	}
}

static void run_client(long w)
{
	struct slot *sl = &slots[n_servers + w];
	long first = opt_connections * w / n_clients;
	long last = opt_connections * (w + 1) / n_clients;
	int reported = 0;

	for (long j = first; j < last; j++) {
		long l = conn_listener(j);
		uint16_t port = (uint16_t)(opt_port_base + l);
		int v6 = l < opt_dual && (j & 1);
		int fd, rc;

		if (v6) {
			struct sockaddr_in6 d6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
						   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
			fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				goto failed;
			rc = connect(fd, (struct sockaddr *)&d6, sizeof(d6));
		} else {
			struct sockaddr_in d4 = { .sin_family = AF_INET, .sin_port = htons(port),
						  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				goto failed;
			if (opt_sources > 1) {
				struct sockaddr_in s4 = { .sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)(j % opt_sources)) };
				int one = 1;
				if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
				    bind(fd, (struct sockaddr *)&s4, sizeof(s4)) < 0) {
					int e = errno;
					close(fd);
					errno = e;
					goto failed;
				}
			}
			rc = connect(fd, (struct sockaddr *)&d4, sizeof(d4));
		}
		if (rc == 0) {
			__atomic_add_fetch(&sl->count, 1, __ATOMIC_RELAXED);
			if (l >= n_accepting)
				__atomic_add_fetch(&sl->idle, 1, __ATOMIC_RELAXED);
			continue;
		}
		{
			int e = errno;
			close(fd);
			errno = e;
		}
failed:
		if (reported++ < 5)
			fprintf(stderr, "scale-load: client %ld: connection to port %d: %s\n",
				w, port, strerror(errno));
		if (errno == EMFILE || errno == ENFILE) {
			set_failed(sl, errno);
			idle_forever();
		}
		__atomic_add_fetch(&sl->failed, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&sl->state, ST_DONE, __ATOMIC_RELEASE);
	idle_forever();
}

static pid_t spawn(void (*fn)(long), long arg)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("scale-load: fork");
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		signal(SIGCHLD, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != coordinator)
			_exit(1);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void stop_workers(void)
{
	long n = n_servers + n_clients;
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (long i = 0; i < n; i++)
		if (pids[i] > 0)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
}

static void __attribute__((noreturn)) finish(int code, const char *why)
{
	if (why)
		fprintf(stderr, "scale-load: %s; stopping\n", why);
	stop_workers();
	exit(code);
}

struct totals {
	long listening_servers, accepted, connected, idle, failed, clients_done;
	int failed_worker, err;
};

static void sum(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->failed_worker = -1;
	for (long i = 0; i < n_servers + n_clients; i++) {
		struct slot *sl = &slots[i];
		int st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
		long c = __atomic_load_n(&sl->count, __ATOMIC_RELAXED);
		if (st == ST_FAILED && t->failed_worker < 0) {
			t->failed_worker = (int)i;
			t->err = sl->err;
		}
		if (i < n_servers) {
			t->accepted += c;
			t->listening_servers += st == ST_DONE;
		} else {
			t->connected += c;
			t->idle += __atomic_load_n(&sl->idle, __ATOMIC_RELAXED);
			t->failed += __atomic_load_n(&sl->failed, __ATOMIC_RELAXED);
			t->clients_done += st == ST_DONE;
		}
	}
}

/* Wait up to `sec` for a signal; returns 0 on timeout, else exits or returns the signal. */
static int wait_signal(const sigset_t *set, double sec)
{
	siginfo_t si;
	int sig;
	if (sec < 0) {
		sig = sigwaitinfo(set, &si);
	} else {
		struct timespec ts = { .tv_sec = (time_t)sec,
				       .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9) };
		sig = sigtimedwait(set, &si, &ts);
	}
	if (sig < 0)
		return 0;
	switch (sig) {
	case SIGCHLD: {
		int status;
		pid_t p;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			for (long i = 0; i < n_servers + n_clients; i++)
				if (pids[i] == p)
					pids[i] = 0;
			fprintf(stderr, "scale-load: worker %d exited unexpectedly (status 0x%x)\n",
				(int)p, status);
			finish(1, NULL);
		}
		return 0;
	}
	case SIGALRM:
		finish(3, "timeout");
	default:
		finish(0, NULL);
	}
}

/* The command line into the opt_* variables: -1 to go on, else the exit
 * status. */
static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listeners", required_argument, NULL, 'l' },
		{ "connections", required_argument, NULL, 'c' },
		{ "port-base", required_argument, NULL, 'p' },
		{ "dual-stack", required_argument, NULL, 'd' },
		{ "idle-listeners", required_argument, NULL, 'i' },
		{ "queued", required_argument, NULL, 'q' },
		{ "per-proc", required_argument, NULL, 'P' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "sources", required_argument, NULL, 's' },
		{ "ready", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stall", required_argument, NULL, 'S' },
		{ "prefork", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'l': opt_listeners = parse_num("listeners", optarg, 1, 60000); break;
		case 'c': opt_connections = parse_num("connections", optarg, 0, 10000000); break;
		case 'p': opt_port_base = parse_num("port-base", optarg, 1, 65535); break;
		case 'd': opt_dual = parse_num("dual-stack", optarg, 0, 60000); break;
		case 'i': opt_idle = parse_num("idle-listeners", optarg, 0, 60000); break;
		case 'q': opt_queued = parse_num("queued", optarg, 0, 65535); break;
		case 'P': opt_per_proc = parse_num("per-proc", optarg, 100, INT_MAX); break;
		case 'b': opt_backlog = parse_num("backlog", optarg, 1, 65535); break;
		case 's': opt_sources = parse_num("sources", optarg, 1, 250); break;
		case 'r': opt_ready = optarg; break;
		case 't': opt_timeout = parse_num("timeout", optarg, 1, 86400); break;
		case 'S': opt_stall = parse_num("stall", optarg, 1, 86400); break;
		case 'F': opt_prefork = parse_num("prefork", optarg, 1, 64); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (opt_port_base + opt_listeners - 1 > 65535) {
		fprintf(stderr, "scale-load: ports %ld..%ld do not fit below 65536\n",
			opt_port_base, opt_port_base + opt_listeners - 1);
		return 2;
	}
	return -1;
}

/* Descriptors per process: the soft limit raised to the hard one, a little
 * kept below it; -1 when too low. */
static long descriptor_budget(void)
{
	struct rlimit rl;
	long budget = opt_per_proc;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			perror("scale-load: setrlimit(RLIMIT_NOFILE)");
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur - 64 < budget)
		budget = (long)rl.rlim_cur - 64;
	if (budget < 100) {
		fprintf(stderr, "scale-load: descriptor limit %ld is too low\n", (long)rl.rlim_cur);
		return -1;
	}
	return budget;
}

/* Start the servers, wait until all listen, then the clients, and wait
 * until every connection is made and accepted (or left queued); *t: the
 * totals then. */
static void build_load(sigset_t *set, struct totals *t, double t0)
{
	double last_progress = t0, last_print = t0;
	struct totals prev;

	memset(&prev, 0, sizeof(prev));
	for (long s = 0; s < n_servers; s++)
		if ((pids[s] = spawn(run_server, s)) < 0)
			finish(1, "cannot start servers");
	for (;;) {
		sum(t);
		if (t->failed_worker >= 0)
			finish(1, "a server failed");
		if (t->listening_servers == n_servers)
			break;
		if (now() - t0 > opt_stall)
			finish(1, "servers did not start listening");
		wait_signal(set, 0.01);
	}
	for (long w = 0; w < n_clients; w++)
		if ((pids[n_servers + w] = spawn(run_client, w)) < 0)
			finish(1, "cannot start clients");

	for (;;) {
		wait_signal(set, 0.05);
		sum(t);
		double tn = now();
		if (t->failed_worker >= 0) {
			fprintf(stderr, "scale-load: worker %d: %s\n", t->failed_worker, strerror(t->err));
			finish(1, "a worker failed");
		}
		if (t->clients_done == n_clients && t->accepted == t->connected - t->idle)
			break;
		if (t->accepted != prev.accepted || t->connected != prev.connected ||
		    t->failed != prev.failed)
			last_progress = tn;
		prev = *t;
		if (tn - last_progress > opt_stall)
			finish(1, "no progress");
		if (tn - last_print >= 1.0) {
			fprintf(stderr, "scale-load: %.0fs: connected %ld/%ld, accepted %ld, failed %ld\n",
				tn - t0, t->connected, opt_connections, t->accepted, t->failed);
			last_print = tn;
		}
	}
}

/* The "ready ..." line on standard output and, with --ready, in that file
 * (written whole, then renamed). */
static void announce_ready(const struct totals *t, long budget, double t0)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "ready listeners=%ld dual_stack=%ld idle_listeners=%ld connections=%ld "
		 "accepted=%ld queued=%ld failed=%ld servers=%ld clients=%ld per_proc=%ld prefork=%ld "
		 "seconds=%.1f\n",
		 opt_listeners, opt_dual, n_idle, t->connected, t->accepted, t->idle, t->failed,
		 n_servers, n_clients, budget, opt_prefork, now() - t0);
	fputs(line, stdout);
	fflush(stdout);
	if (opt_ready) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt_ready);
		FILE *f = fopen(tmp, "w");
		if (!f || fputs(line, f) == EOF || fclose(f) == EOF || rename(tmp, opt_ready) < 0) {
			perror("scale-load: ready file");
			finish(1, NULL);
		}
	}
}

int main(int argc, char **argv)
{
	int r = parse_args(argc, argv);
	long budget;

	if (r >= 0)
		return r;
	budget = descriptor_budget();
	if (budget < 0)
		return 1;
	plan(budget);

	pid_t parent = getppid();
	coordinator = getpid();
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)opt_timeout);
	if (getppid() != parent) {
		fprintf(stderr, "scale-load: parent exited\n");
		return 1;
	}

	long nworkers = n_servers + n_clients;
	slots = mmap(NULL, (size_t)nworkers * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc((size_t)nworkers, sizeof(*pids));
	if (slots == MAP_FAILED || !pids) {
		perror("scale-load: memory");
		return 1;
	}
	memset(slots, 0, (size_t)nworkers * sizeof(*slots));

	fprintf(stderr, "scale-load: %ld listeners (%ld dual-stack, %ld idle), %ld connections "
		"(%ld queued), %ld server and %ld client processes, at most %ld descriptors each\n",
		opt_listeners, opt_dual, n_idle, opt_connections, n_queued, n_servers, n_clients, budget);

	double t0 = now();
	struct totals t;

	build_load(&set, &t, t0);
	announce_ready(&t, budget, t0);
	for (;;)
		wait_signal(&set, -1);
}
