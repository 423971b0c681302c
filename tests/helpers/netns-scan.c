/* netns-scan [-r ROOT] [-e] [-p FIFO] [-o each|shared] [-s KEY=VALUE]
 * netns-scan -K
 *
 * Test and benchmark driver of the namespace discovery (src/facts/netns-*).
 * Prints one JSON document: {"scan": the list (netns_list_to_json), with in
 * each namespace, when asked, "visit" (what was seen inside) and "remedy"}.
 *   -r ROOT  discover below ROOT (default /)
 *   -e       enter each namespace: record the inode seen inside, somaxconn
 *            and the listeners (NETLINK_SOCK_DIAG)
 *   -p FIFO  after discovery print "discovered N" on stderr and wait for a
 *            line on FIFO before entering (namespaces can be removed then)
 *   -o MODE  with -e, find the listeners' owners: one scan per namespace
 *            (each) or one for all (shared); "owners" gives the time
 *   -s K=V   with each namespace, where setting K to V applies
 *   -K       verify on the running kernel what follows setns() and what
 *            does not (netns-scan.h); prints {"facts": [{fact, ok}]} and
 *            exits 1 when one does not hold.  Needs root; changes nothing
 *            outside a namespace of its own.
 * Exit status: 0, 1 (a fact does not hold), 2 (usage), 3 (failure). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facts/netns-scan.h"
#include "facts/sockets.h"
#include "util/fileio.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctx {
	json_t **visit;         /* per entry of the list */
	struct socktab *tabs;   /* per entry, with -o */
	const struct netns_list *l;
};

static long long read_int_file(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoll(buf);
}

static int visit_one(struct netns_entry *e, void *arg)
{
	struct ctx *c = arg;
	size_t i = (size_t)(e - c->l->ns);
	struct socktab t, *tp = c->tabs ? &c->tabs[i] : &t;
	struct sockdiag_result res = { 0 };
	json_t *v = json_object();
	struct stat st;
	int r;

	if (stat("/proc/thread-self/ns/net", &st) == 0)
		json_object_set_new(v, "inode", json_integer((json_int_t)st.st_ino));
	json_object_set_new(v, "somaxconn", json_integer(read_int_file("/proc/sys/net/core/somaxconn")));
	socktab_init(tp);
	r = sockdiag_collect_listeners(tp, false, &res);
	if (r == 0)
		r = socktab_finish(tp);
	if (r == 0)
		json_object_set_new(v, "listeners", json_integer((json_int_t)tp->n));
	else
		json_object_set_new(v, "error", json_string(strerror(-r)));
	if (!c->tabs)
		socktab_free(tp);
	c->visit[i] = v;
	return r == -ENOMEM ? r : 0;
}

/* the owners of every table, by one scan per table or one in all */
static json_t *owners(const struct nk_root *root, struct ctx *c, size_t n, bool shared)
{
	struct owners_stats st = { 0 };
	struct socktab **tabs = calloc(n ? n : 1, sizeof(*tabs));
	unsigned long links = 0, scans = 0;
	double t0 = now();
	int r = 0;

	for (size_t i = 0; i < n; i++)
		tabs[i] = &c->tabs[i];
	if (shared) {
		r = owners_collect_many(root, tabs, n, NULL, &st);
		scans = 1;
	} else {
		for (size_t i = 0; i < n && r == 0; i++)
			if (tabs[i]->n) {
				r = owners_collect_many(root, &tabs[i], 1, NULL, &st);
				scans++;
			}
	}
	for (size_t i = 0; i < n; i++) {
		json_t *pids = json_array();

		links += tabs[i]->nlinks;
		for (size_t k = 0; k < tabs[i]->nlinks; k++)
			json_array_append_new(pids, json_integer(tabs[i]->procs[tabs[i]->links[k].proc].pid));
		if (c->visit[i])
			json_object_set_new(c->visit[i], "owner_pids", pids);
		else
			json_decref(pids);
	}
	free(tabs);
	return json_pack("{s:s,s:i,s:f,s:I,s:I,s:s*}", "mode", shared ? "shared" : "each",
			 "scans", (int)scans, "seconds", now() - t0, "links", (json_int_t)links,
			 "procs_scanned", (json_int_t)st.procs_scanned,
			 "error", r < 0 ? strerror(-r) : NULL);
}

static long max_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* ---- -K: what follows setns() ---- */

struct kf {
	json_t *facts;
	int fails;
};

static void fact(struct kf *k, const char *text, bool holds)
{
	json_array_append_new(k->facts, json_pack("{s:s,s:b}", "fact", text, "ok", holds));
	if (!holds)
		k->fails++;
}

/* Does the /proc/.../net/tcp file at path list a listener on port? */
static bool tcp_lists(const char *path, unsigned port)
{
	char *text = NULL, pat[40];
	bool found;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read_fd_all(fd, 16u << 20, &text, NULL) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	snprintf(pat, sizeof(pat), ":%04X 00000000:0000 0A", port);
	found = strstr(text, pat) != NULL;
	free(text);
	return found;
}

static uint64_t sock_ns_inode(int s)
{
	int fd = ioctl(s, SIOCGSKNS);
	struct stat st;
	uint64_t ino = 0;

	if (fd >= 0 && fstat(fd, &st) == 0)
		ino = (uint64_t)st.st_ino;
	if (fd >= 0)
		close(fd);
	return ino;
}

struct thr {
	int nsfd;
	unsigned port;
	long long somaxconn;
	bool self_net, thread_net, entered;
};

static void *thread_in_ns(void *arg)
{
	struct thr *t = arg;

	t->entered = setns(t->nsfd, CLONE_NEWNET) == 0;
	t->self_net = tcp_lists("/proc/self/net/tcp", t->port);
	t->thread_net = tcp_lists("/proc/thread-self/net/tcp", t->port);
	t->somaxconn = read_int_file("/proc/sys/net/core/somaxconn");
	return NULL;
}

static int kernel_facts(void)
{
	struct kf k = { .facts = json_array() };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct stat hst, nst;
	struct thr t = { 0 };
	pthread_t th;
	long long host_val, v;
	char buf[32];
	int home, so_home, nl_home, nl_new, ls, nfd, so_new;

	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	so_home = open("/proc/sys/net/core/somaxconn", O_RDONLY | O_CLOEXEC);
	nl_home = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 4 /* NETLINK_SOCK_DIAG */);
	if (home < 0 || so_home < 0 || nl_home < 0 || fstat(home, &hst) < 0 ||
	    pread(so_home, buf, sizeof(buf) - 1, 0) <= 0) {
		perror("netns-scan -K");
		return 3;
	}
	host_val = atoll(buf);
	v = host_val == 1234 ? 1235 : 1234;
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 3;
	}
	nfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	so_new = open("/proc/sys/net/core/somaxconn", O_RDWR | O_CLOEXEC);
	if (nfd < 0 || fstat(nfd, &nst) < 0 || ls < 0 || so_new < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		perror("netns-scan -K: new namespace");
		return 3;
	}
	t.port = ntohs(sa.sin_port);
	snprintf(buf, sizeof(buf), "%lld\n", v);
	if (pwrite(so_new, buf, strlen(buf), 0) < 0) {
		perror("somaxconn in the new namespace");
		return 3;
	}
	fact(&k, "a /proc/sys/net file opened before setns() reads the old namespace's value",
	     pread(so_home, buf, sizeof(buf) - 1, 0) > 0 && atoll(buf) == host_val);
	fact(&k, "a /proc/sys/net file opened after setns() reads the new namespace's value",
	     read_int_file("/proc/sys/net/core/somaxconn") == v);
	fact(&k, "/proc/net follows the main thread's namespace", tcp_lists("/proc/net/tcp", t.port));
	fact(&k, "/proc/thread-self/net follows the thread's namespace",
	     tcp_lists("/proc/thread-self/net/tcp", t.port));
	nl_new = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 4);
	fact(&k, "a netlink socket created before setns() stays in the old namespace",
	     sock_ns_inode(nl_home) == (uint64_t)hst.st_ino);
	fact(&k, "a netlink socket created after setns() is in the new namespace",
	     nl_new >= 0 && sock_ns_inode(nl_new) == (uint64_t)nst.st_ino);
	if (setns(home, CLONE_NEWNET) < 0) {
		perror("netns-scan -K: setns home");
		return 3;
	}
	fact(&k, "after returning, /proc/net is the own namespace's again", !tcp_lists("/proc/net/tcp", t.port));
	fact(&k, "after returning, /proc/sys/net is the own namespace's again",
	     read_int_file("/proc/sys/net/core/somaxconn") == host_val);
	/* a write through the new namespace's descriptor, from home */
	snprintf(buf, sizeof(buf), "%lld\n", v + 1);
	fact(&k, "a write through a /proc/sys/net descriptor changes the namespace it was opened in",
	     pwrite(so_new, buf, strlen(buf), 0) > 0 && read_int_file("/proc/sys/net/core/somaxconn") == host_val &&
	     pread(so_new, buf, sizeof(buf) - 1, 0) > 0 && atoll(buf) == v + 1);
	t.nsfd = nfd;
	if (pthread_create(&th, NULL, thread_in_ns, &t) != 0) {
		perror("pthread_create");
		return 3;
	}
	pthread_join(th, NULL);
	fact(&k, "setns() in a helper thread works", t.entered);
	fact(&k, "in a helper thread after setns(), /proc/self/net is still the leader's namespace",
	     t.entered && !t.self_net);
	fact(&k, "in a helper thread after setns(), /proc/thread-self/net is the thread's", t.entered && t.thread_net);
	fact(&k, "in a helper thread after setns(), /proc/sys/net is the thread's", t.entered && t.somaxconn == v + 1);
	fact(&k, "setns() in a helper thread leaves the main thread where it was",
	     read_int_file("/proc/sys/net/core/somaxconn") == host_val);
	{
		json_t *doc = json_pack("{s:o,s:i}", "facts", k.facts, "failed", k.fails);

		json_dumpf(doc, stdout, JSON_INDENT(1));
		putchar('\n');
		fflush(stdout);
		json_decref(doc);
	}
	close(ls);
	close(nfd);
	close(so_new);
	close(nl_new);
	close(nl_home);
	close(so_home);
	close(home);
	return k.fails ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: netns-scan [-r ROOT] [-e] [-p FIFO] [-o each|shared] [-s KEY=VALUE] | -K\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *rootdir = "/", *fifo = NULL, *omode = NULL, *kv = NULL;
	struct netns_visit_stats vs = { 0 };
	struct netns_list *l = NULL;
	struct ctx c = { 0 };
	struct nk_root root;
	bool enter = false;
	json_t *out, *scan, *arr, *tj;
	double t0;
	int opt, r;

	while ((opt = getopt(argc, argv, "r:ep:o:s:K")) != -1) {
		switch (opt) {
		case 'r': rootdir = optarg; break;
		case 'e': enter = true; break;
		case 'p': fifo = optarg; break;
		case 'o': omode = optarg; break;
		case 's': kv = optarg; break;
		case 'K': return kernel_facts();
		default: usage();
		}
	}
	if (optind != argc || (omode && strcmp(omode, "each") && strcmp(omode, "shared")) ||
	    (kv && !strchr(kv, '=')))
		usage();
	if (root_open(&root, rootdir) < 0) {
		perror(rootdir);
		return 3;
	}
	tj = json_object();
	t0 = now();
	r = netns_scan(&root, &l);
	if (r < 0)
		return 3;
	json_object_set_new(tj, "scan", json_real(now() - t0));
	if (fifo) {
		char line[16];
		FILE *f;

		fprintf(stderr, "discovered %zu\n", l->n);
		fflush(stderr);
		f = fopen(fifo, "r");
		if (!f || !fgets(line, sizeof(line), f)) {
			perror(fifo);
			return 3;
		}
		fclose(f);
	}
	c.l = l;
	c.visit = calloc(l->n ? l->n : 1, sizeof(*c.visit));
	if (omode)
		c.tabs = calloc(l->n ? l->n : 1, sizeof(*c.tabs));
	if (enter) {
		t0 = now();
		r = netns_visit(l, &root, visit_one, &c, &vs);
		json_object_set_new(tj, "visit", json_real(now() - t0));
		json_object_set_new(tj, "setns", json_real(vs.seconds_setns));
		if (r < 0) {
			fprintf(stderr, "netns-scan: visit: %s\n", strerror(-r));
			return 3;
		}
	}
	out = json_object();
	scan = netns_list_to_json(l);
	if (omode && enter)
		json_object_set_new(out, "owners", owners(&root, &c, l->n, !strcmp(omode, "shared")));
	arr = json_object_get(scan, "namespaces");
	for (size_t i = 0; i < l->n; i++) {
		json_t *o = json_array_get(arr, i);

		if (c.visit[i])
			json_object_set_new(o, "visit", c.visit[i]);
		if (kv) {
			char *key = strndup(kv, (size_t)(strchr(kv, '=') - kv)), *now_s = NULL, *persist = NULL;

			if (netns_remedy(&l->ns[i], key, strchr(kv, '=') + 1, &now_s, &persist) == 0)
				json_object_set_new(o, "remedy", json_pack("{s:s,s:s}", "now", now_s, "persist", persist));
			free(key);
			free(now_s);
			free(persist);
		}
		if (c.tabs)
			socktab_free(&c.tabs[i]);
	}
	json_object_set_new(out, "scan", scan);
	if (enter)
		json_object_set_new(out, "visit", json_pack("{s:I,s:I,s:I}", "entered", (json_int_t)vs.entered,
							  "gone", (json_int_t)vs.gone, "denied", (json_int_t)vs.denied));
	json_object_set_new(tj, "max_rss_kib", json_integer(max_rss_kib()));
	json_object_set_new(out, "timing", tj);
	json_dumpf(out, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(out);
	free(c.visit);
	free(c.tabs);
	netns_list_free(l);
	root_close(&root);
	return 0;
}
