/* Live readings of the listeners for netknobs top.  See watch.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facts/counters.h"
#include "facts/sockets.h"
#include "facts/sysctl.h"
#include "facts/watch.h"
#include "util/array.h"
#include "util/fileio.h"

#define WATCH_MAX_FILE (1024 * 1024)
#define WATCH_MAX_SOFTNET (2 * 1024 * 1024)

/* The softnet "dropped" count of one CPU at the refresh before. */
struct softnet_prev {
	long long cpu;
	uint32_t dropped;
};

struct watch {
	const struct nk_root *root;
	struct watch_frame f;
	struct socktab t;               /* the reading being made */
	uint32_t *pend;                 /* per f.s: the peeks' longest queue */
	uint32_t *byino;                /* indices of f.s sorted by inode */
	unsigned long long *starts;     /* per f.procs: starttime at the first look, 0 unknown */
	uint64_t *scanned;              /* socket inodes the last owner scan looked for, sorted */
	size_t nscanned;
	uint64_t last_ms, last_syn_ms, syn_cost_us, last_sysctl_ms;
	uint64_t next_owner_ms;
	unsigned long long prev[WATCH_NCOUNTERS - 1];
	bool has_prev[WATCH_NCOUNTERS - 1];
	struct softnet_prev *softnet;
	size_t nsoftnet;
	bool has_softnet;
	struct watch_share share;
	bool owners_pending;            /* shared: an owner scan is wanted */
};

static uint64_t watch_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* CPU time of this thread, in the kernel too (microseconds): what a
 * reading costs, whatever else the machine does meanwhile. */
static uint64_t watch_cpu_us(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) < 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* The pause (ms) after something that cost cost_us for it to take at most
 * 1/share of a CPU. */
static uint64_t rationed_ms(uint64_t cost_us, unsigned share)
{
	return (cost_us ? cost_us : 1) * share / 1000;
}

struct watch *watch_new(const struct nk_root *root)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->root = root;
	socktab_init(&w->t);
	for (int i = 0; i < WATCH_NSYSCTLS; i++)
		w->f.sysctl[i] = -1;
	w->f.syn_unknown = true;
	w->share = (struct watch_share){ .peers = 1, .softnet = true };
	return w;
}

void watch_set_share(struct watch *w, const struct watch_share *s)
{
	w->share = *s;
	if (!w->share.peers)
		w->share.peers = 1;
}

static void watch_procs_free(struct watch *w)
{
	for (size_t i = 0; i < w->f.nprocs; i++)
		free(w->f.procs[i].comm);
	free(w->f.procs);
	free(w->f.links);
	free(w->starts);
	w->f.procs = NULL;
	w->f.links = NULL;
	w->starts = NULL;
	w->f.nprocs = w->f.nlinks = 0;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	watch_procs_free(w);
	socktab_free(&w->t);
	free(w->f.s);
	free(w->pend);
	free(w->byino);
	free(w->scanned);
	free(w->softnet);
	free(w);
}

const struct watch_frame *watch_frame(const struct watch *w)
{
	return &w->f;
}

/* ---- finding sockets and owners by inode ---- */

static int byino_cmp(const void *a, const void *b, void *data)
{
	const struct watch_sock *s = data;
	uint64_t x = s[*(const uint32_t *)a].inode, y = s[*(const uint32_t *)b].inode;

	return x < y ? -1 : x > y;
}

/* The index in f.s of the socket inode with endpoint ep, or -1. */
static long watch_find(const struct watch *w, uint64_t inode, const struct sock_ep *ep)
{
	size_t lo = 0, hi = w->f.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct watch_sock *s = &w->f.s[w->byino[mid]];

		if (s->inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < w->f.n && w->f.s[w->byino[lo]].inode == inode; lo++) {
		const struct watch_sock *s = &w->f.s[w->byino[lo]];

		if (s->ep.family == ep->family && s->ep.port == ep->port &&
		    !memcmp(s->ep.addr, ep->addr, sizeof(ep->addr)))
			return (long)w->byino[lo];
	}
	return -1;
}

const struct watch_link *watch_owners(const struct watch_frame *f, uint64_t inode, size_t *n)
{
	size_t lo = 0, hi = f->nlinks, e;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->links[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = lo; e < f->nlinks && f->links[e].inode == inode; e++)
		;
	*n = e - lo;
	return *n ? &f->links[lo] : NULL;
}

static bool scanned_has(const struct watch *w, uint64_t inode)
{
	size_t lo = 0, hi = w->nscanned;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->scanned[mid] < inode)
			lo = mid + 1;
		else if (w->scanned[mid] > inode)
			hi = mid;
		else
			return true;
	}
	return false;
}

const char *watch_proc_state(const struct watch_proc *p)
{
	const char *s;

	if (p->gone)
		return "gone";
	s = owners_state_name(p->state);
	return s ? s : "?";
}

/* ---- counters ---- */

static unsigned long long tcpext(const json_t *o, const char *name, bool *ok)
{
	const json_t *v = json_object_get(json_object_get(o, "TcpExt"), name);

	*ok = json_is_integer(v) && json_integer_value(v) >= 0;
	return *ok ? (unsigned long long)json_integer_value(v) : 0;
}

static void set_rate(struct watch *w, int c, unsigned long long v, bool ok, uint64_t dt)
{
	w->f.has_rate[c] = ok && w->has_prev[c] && dt > 0 && v >= w->prev[c];
	if (w->f.has_rate[c])
		w->f.rate[c] = (double)(v - w->prev[c]) * 1000.0 / (double)dt;
	w->prev[c] = v;
	w->has_prev[c] = ok;
}

static int read_netstat(struct watch *w, uint64_t dt)
{
	static const char *const names[] = { "ListenOverflows", "ListenDrops", "TCPReqQFullDrop",
					     "SyncookiesSent" };
	json_t *o = json_object();
	char *text = NULL, err[256];
	size_t len;
	int r;

	if (!o)
		return -ENOMEM;
	r = root_read_file(w->root, "proc/net/netstat", WATCH_MAX_FILE, &text, &len);
	if (r == -ENOMEM || (r == 0 && counters_parse_netstat(text, o, err, sizeof(err)) == -ENOMEM)) {
		free(text);
		json_decref(o);
		return -ENOMEM;
	}
	for (int c = 0; c < WATCH_SOFTNET_DROPPED; c++) {
		bool ok;
		unsigned long long v = tcpext(o, names[c], &ok);

		set_rate(w, c, v, ok, dt);
	}
	free(text);
	json_decref(o);
	return 0;
}

/* softnet_stat counts per CPU in 32 bits that wrap: the growth of each CPU
 * present at both readings, modulo 2^32. */
static int read_softnet(struct watch *w, uint64_t dt)
{
	const int c = WATCH_SOFTNET_DROPPED;
	char *text = NULL, err[256];
	json_t *sn = NULL;
	const json_t *cpus, *row;
	struct softnet_prev *now = NULL;
	uint64_t sum = 0;
	size_t len, i, n = 0;
	int r = root_read_file(w->root, "proc/net/softnet_stat", WATCH_MAX_SOFTNET, &text, &len);

	if (r == 0)
		sn = counters_parse_softnet(text, err, sizeof(err));
	free(text);
	cpus = json_object_get(sn, "cpus");
	if (json_array_size(cpus) && !(now = calloc(json_array_size(cpus), sizeof(*now)))) {
		json_decref(sn);
		return -ENOMEM;
	}
	json_array_foreach(cpus, i, row) {
		const json_t *cpu = json_object_get(row, "cpu"), *d = json_object_get(row, "dropped");

		if (!json_is_integer(d))
			continue;
		now[n].cpu = json_is_integer(cpu) ? (long long)json_integer_value(cpu) : (long long)i;
		now[n].dropped = (uint32_t)json_integer_value(d);
		for (size_t k = 0; k < w->nsoftnet; k++)
			if (w->softnet[k].cpu == now[n].cpu)
				sum += (uint32_t)(now[n].dropped - w->softnet[k].dropped);
		n++;
	}
	json_decref(sn);
	w->f.has_rate[c] = n && w->has_softnet && dt > 0;
	if (w->f.has_rate[c])
		w->f.rate[c] = (double)sum * 1000.0 / (double)dt;
	free(w->softnet);
	w->softnet = now;
	w->nsoftnet = n;
	w->has_softnet = n > 0;
	return 0;
}

static void read_sysctls(struct watch *w)
{
	static const char *const keys[] = { "net.core.somaxconn", "net.ipv4.tcp_syncookies",
					    "net.ipv4.tcp_max_syn_backlog" };

	for (int i = 0; i < WATCH_NSYSCTLS; i++) {
		char *text = NULL;
		long long v;

		w->f.sysctl[i] = -1;
		if (sysctl_read_text(w->root, keys[i], &text) == 0 && parse_int64(text, &v) == 0 && v >= 0)
			w->f.sysctl[i] = v;
		free(text);
	}
}

/* ---- owners ---- */

static int link_cmp(const void *a, const void *b)
{
	const struct watch_link *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Take the owners that owners_collect() recorded in t. */
static int take_owners(struct watch *w, struct socktab *t)
{
	uint64_t *sc = malloc((t->n ? t->n : 1) * sizeof(*sc));

	watch_procs_free(w);
	w->f.procs = calloc(t->nprocs ? t->nprocs : 1, sizeof(*w->f.procs));
	w->starts = calloc(t->nprocs ? t->nprocs : 1, sizeof(*w->starts));
	w->f.links = calloc(t->nlinks ? t->nlinks : 1, sizeof(*w->f.links));
	if (!sc || !w->f.procs || !w->starts || !w->f.links) {
		free(sc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nprocs; i++, w->f.nprocs++) {
		w->f.procs[i].pid = t->procs[i].pid;
		w->f.procs[i].state = t->procs[i].state;
		if (t->procs[i].comm && !(w->f.procs[i].comm = strdup(t->procs[i].comm))) {
			free(sc);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < t->nlinks; i++) {
		w->f.links[i].inode = t->l[t->links[i].listener].inode;
		w->f.links[i].proc = t->links[i].proc;
		w->f.links[i].polls = t->links[i].polls;
	}
	w->f.nlinks = t->nlinks;
	qsort(w->f.links, w->f.nlinks, sizeof(*w->f.links), link_cmp);
	for (size_t i = 0; i < t->n; i++)
		sc[i] = t->l[i].inode;
	qsort(sc, t->n, sizeof(*sc), u64_cmp);
	free(w->scanned);
	w->scanned = sc;
	w->nscanned = t->n;
	return 0;
}

/* A process whose main thread is stopped, traced, in disk sleep or gone
 * (a zombie while the others run): the state of a thread of it that can
 * take connections, as the audit has it
 * (one reading: the view reads again at each refresh). */
static char thread_state(const struct watch *w, int pid, char st)
{
	int procfd;

	if (!owners_state_idle(st))
		return st;
	procfd = root_open_in(w->root, "proc", O_RDONLY | O_DIRECTORY);
	if (procfd < 0)
		return st;
	st = owners_process_state(procfd, pid);
	close(procfd);
	return st;
}

/* Each owner's state, from /proc/PID/stat; a process whose start time
 * changed is another one with a reused PID: gone.  Returns whether one is
 * gone (the owners are to be looked for again). */
static bool read_states(struct watch *w)
{
	bool gone = false;

	for (size_t i = 0; i < w->f.nprocs; i++) {
		struct watch_proc *p = &w->f.procs[i];
		char path[48], *text = NULL;
		unsigned long long start = 0;
		size_t len;
		char st;

		if (p->gone)
			continue;
		snprintf(path, sizeof(path), "proc/%d/stat", p->pid);
		if (root_read_file(w->root, path, 4096, &text, &len) == 0 &&
		    owners_parse_stat(text, len, &st, &start) == 0 &&
		    (!w->starts[i] || w->starts[i] == start)) {
			p->state = thread_state(w, p->pid, st);
			w->starts[i] = start;
		} else {
			p->gone = gone = true;
		}
		free(text);
	}
	return gone;
}

/* The owner scan when a listener appeared that the last one did not look
 * for, or an owner went; rationed by its own cost. */
static int update_owners(struct watch *w, uint64_t now)
{
	struct owners_stats st = { 0 };
	bool want = read_states(w) || w->f.refreshes == 0;
	uint64_t t0;
	int r;

	for (size_t i = 0; i < w->f.n && !want; i++)
		want = !scanned_has(w, w->f.s[i].inode);
	if (w->share.owners_outside) {
		/* watch_owners_scan() does it, for every watcher that wants it */
		w->owners_pending |= want;
		return 0;
	}
	if (!want || now < w->next_owner_ms)
		return 0;
	t0 = watch_cpu_us();
	r = owners_collect(w->root, &w->t, &st);
	if (r == -ENOMEM)
		return r;
	/* listeners left without an owner because descriptors could not be
	 * read (not root, out of descriptors) may have one */
	w->f.owners_unknown = r < 0 || (st.ownerless && (st.procs_denied || st.procs_failed));
	if (r == 0 && (r = take_owners(w, &w->t)) < 0)
		return r;
	w->f.owner_scans++;
	w->next_owner_ms = watch_mono_ms() + rationed_ms(watch_cpu_us() - t0, WATCH_OWNER_SHARE);
	return 0;
}

/* ---- listeners ---- */

/* Did a listener of the reading in t drop since the last refresh? */
static bool drops_rose(const struct watch *w, const struct socktab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		long k = t->l[i].has_drops ? watch_find(w, t->l[i].inode, &t->l[i].ep) : -1;

		if (k >= 0 && w->f.s[k].has_drops && w->f.s[k].drops != t->l[i].drops)
			return true;
	}
	return false;
}

static bool syn_due(const struct watch *w, const struct socktab *t, uint64_t now)
{
	uint64_t since = now - w->last_syn_ms;

	if (w->f.syn_unknown)
		return true;
	if (since >= rationed_ms(w->syn_cost_us, WATCH_SYN_SHARE * w->share.peers))
		return true;
	return since >= rationed_ms(w->syn_cost_us, WATCH_SYN_BUSY_SHARE * w->share.peers) && drops_rose(w, t);
}

/* The new sockets from the reading in t, with what the last refresh and
 * the peeks knew of each. */
static int build_socks(struct watch *w, bool syn)
{
	struct watch_sock *s = calloc(w->t.n ? w->t.n : 1, sizeof(*s));
	uint32_t *pend = calloc(w->t.n ? w->t.n : 1, sizeof(*pend));
	uint32_t *byino = calloc(w->t.n ? w->t.n : 1, sizeof(*byino));

	if (!s || !pend || !byino) {
		free(s);
		free(pend);
		free(byino);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->t.n; i++) {
		const struct listener *l = &w->t.l[i];
		long k = watch_find(w, l->inode, &l->ep);
		const struct watch_sock *o = k >= 0 ? &w->f.s[k] : NULL;

		s[i] = (struct watch_sock){
			.ep = l->ep, .inode = l->inode, .queue = l->queue, .limit = l->limit,
			.peak = l->queue, .drops = l->drops, .v6only = l->v6only,
			.has_limit = l->has_limit, .has_drops = l->has_drops,
			.reuseport_members = l->reuseport_members, .reuseport_index = l->reuseport_index,
			.appeared = !o && w->f.refreshes > 0,
			.syn_recv = syn ? l->syn_recv : o ? o->syn_recv : 0,
		};
		if (o && w->pend[k] > s[i].peak)
			s[i].peak = w->pend[k];
		/* a listener opened since the last refresh dropped all it counts in it */
		if (l->has_drops && o && o->has_drops)
			s[i].drops_delta = l->drops - o->drops;
		else if (l->has_drops && s[i].appeared)
			s[i].drops_delta = l->drops;
		byino[i] = (uint32_t)i;
	}
	free(w->f.s);
	free(w->pend);
	free(w->byino);
	w->f.s = s;
	w->f.n = w->t.n;
	w->pend = pend;
	w->byino = byino;
	qsort_r(w->byino, w->f.n, sizeof(*w->byino), byino_cmp, w->f.s);
	return 0;
}

static int read_listeners(struct watch *w, uint64_t now)
{
	struct sockdiag_result res = { 0 };
	uint64_t t0 = watch_cpu_us();
	bool syn;
	int r;

	socktab_reset(&w->t);
	r = sockdiag_collect_listeners(&w->t, false, &res);
	if (r < 0)
		return r;
	w->f.dump_us = watch_cpu_us() - t0;
	syn = syn_due(w, &w->t, now);
	w->f.syn_counted = false;
	if (syn && w->share.syn_budget_us && !*w->share.syn_budget_us) {
		syn = false;
		w->f.syn_waiting = w->f.syn_unknown;
	}
	if (syn) {
		uint64_t *budget = w->share.syn_budget_us, cost;

		t0 = watch_cpu_us();
		r = sockdiag_collect_requests(&w->t, &res);
		if (r == -ENOMEM)
			return r;
		cost = watch_cpu_us() - t0;
		if (budget)
			*budget = cost >= *budget ? 0 : *budget - cost;
		w->f.syn_waiting = false;
		syn = r == 0;
		if (syn) {
			w->syn_cost_us = cost;
			w->last_syn_ms = now;
			w->f.syn_unknown = false;
			w->f.syn_counted = true;
			w->f.syn_counts++;
		}
	}
	if (socktab_finish(&w->t) < 0)
		return -ENOMEM;
	return build_socks(w, syn);
}

int watch_refresh(struct watch *w)
{
	uint64_t now = watch_mono_ms(), dt = w->f.refreshes ? now - w->last_ms : 0;
	int r = read_listeners(w, now);

	if (r < 0)
		return r;
	if ((r = read_netstat(w, dt)) < 0 || (w->share.softnet && (r = read_softnet(w, dt)) < 0))
		return r;
	if (!w->f.refreshes || now - w->last_sysctl_ms >= WATCH_SYSCTL_MS) {
		read_sysctls(w);
		w->last_sysctl_ms = now;
	}
	if ((r = update_owners(w, now)) < 0)
		return r;
	w->f.interval_ms = dt;
	w->f.syn_age_ms = now - w->last_syn_ms;
	w->f.syn_every_ms = rationed_ms(w->syn_cost_us, WATCH_SYN_SHARE * w->share.peers);
	w->last_ms = now;
	w->f.refreshes++;
	return 0;
}

int watch_peek(struct watch *w)
{
	struct sockdiag_result res = { 0 };
	int r;

	if (!w->f.refreshes)
		return 0;
	socktab_reset(&w->t);
	r = sockdiag_collect_listeners(&w->t, false, &res);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	for (size_t i = 0; i < w->t.n; i++) {
		long k = watch_find(w, w->t.l[i].inode, &w->t.l[i].ep);

		if (k >= 0 && w->t.l[i].queue > w->pend[k])
			w->pend[k] = w->t.l[i].queue;
	}
	w->f.peeks++;
	return 0;
}

/* ---- one owner scan for several watchers ---- */

/* Has a listener of the last reading no owner? */
static bool watch_ownerless(const struct watch *w)
{
	for (size_t i = 0; i < w->t.n; i++) {
		size_t n;

		if (!watch_owners(&w->f, w->t.l[i].inode, &n))
			return true;
	}
	return false;
}

bool watch_owners_wanted(const struct watch *w)
{
	return w->owners_pending;
}

int watch_owners_scan(const struct nk_root *root, struct watch *const *ws, size_t n)
{
	struct socktab **tabs = calloc(n ? n : 1, sizeof(*tabs));
	struct owners_stats st = { 0 };
	size_t k = 0;
	int r;

	if (!tabs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ws[i]->owners_pending)
			tabs[k++] = &ws[i]->t;
	if (!k) {
		free(tabs);
		return 0;
	}
	r = owners_collect_many(root, tabs, k, NULL, &st);
	free(tabs);
	if (r == -ENOMEM)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct watch *w = ws[i];

		if (!w->owners_pending)
			continue;
		w->owners_pending = false;
		w->f.owners_unknown = r < 0;
		w->f.owner_scans++;
		if (r == 0 && take_owners(w, &w->t) < 0)
			return -ENOMEM;
		/* as update_owners(): its listeners left without an owner
		 * while descriptors could not be read may have one */
		if (r == 0 && (st.procs_denied || st.procs_failed))
			w->f.owners_unknown = watch_ownerless(w);
	}
	return 0;
}
