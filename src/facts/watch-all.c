/* Live readings of every network namespace's listeners for netknobs top
 * --all-netns.  See watch-all.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "facts/facts.h"
#include "facts/watch-all.h"

struct watch_all {
	const struct nk_root *root;
	struct netns_list *list;        /* the last scan */
	struct watch **w;               /* per list->ns[i]; NULL: not watched (yet) */
	int *err;                       /* per list->ns[i]: the last refresh's -errno */
	unsigned long long *cookie;     /* per list->ns[i]: its watcher's namespace (0: unknown) */
	size_t n;
	uint64_t next_scan_ms;          /* the periodic scan */
	uint64_t early_scan_ms;         /* the soonest a change of run/netns brings it */
	uint64_t next_owner_ms;
	uint64_t syn_budget_us;         /* watch_share.syn_budget_us of all */
	uint64_t last_round_ms;
	bool syn_pending;               /* a namespace not counted yet */
	struct stat dir;                /* ROOT/run/netns at the last scan */
	bool has_dir;
	struct watch_all_stats st;
};

static uint64_t wa_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t wa_cpu_us(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) < 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

struct watch_all *watch_all_new(const struct nk_root *root)
{
	struct watch_all *a = calloc(1, sizeof(*a));

	if (a) {
		a->root = root;
		a->syn_pending = true;
	}
	return a;
}

static void wa_drop(struct watch_all *a)
{
	for (size_t i = 0; i < a->n; i++)
		watch_free(a->w[i]);
	free(a->w);
	free(a->err);
	free(a->cookie);
	netns_list_free(a->list);
	a->w = NULL;
	a->err = NULL;
	a->cookie = NULL;
	a->list = NULL;
	a->n = 0;
}

void watch_all_free(struct watch_all *a)
{
	if (!a)
		return;
	wa_drop(a);
	free(a);
}

size_t watch_all_count(const struct watch_all *a)
{
	return a->n;
}

const struct netns_entry *watch_all_entry(const struct watch_all *a, size_t i)
{
	return &a->list->ns[i];
}

const struct watch_frame *watch_all_frame(const struct watch_all *a, size_t i)
{
	if (!a->w[i] || a->list->ns[i].state != NETNS_ENTERED)
		return NULL;
	return watch_frame(a->w[i]);
}

int watch_all_error(const struct watch_all *a, size_t i)
{
	return a->err[i];
}

const struct watch_all_stats *watch_all_stats(const struct watch_all *a)
{
	return &a->st;
}

/* ---- the scan ---- */

/* Has ROOT/run/netns changed since the last scan (a name added or
 * removed)?  One stat(2). */
static bool wa_dir_changed(const struct watch_all *a, struct stat *now, bool *has)
{
	*has = fstatat(a->root->dirfd, "run/netns", now, 0) == 0;
	if (*has != a->has_dir)
		return true;
	return *has && (now->st_ino != a->dir.st_ino || now->st_mtim.tv_sec != a->dir.st_mtim.tv_sec ||
			now->st_mtim.tv_nsec != a->dir.st_mtim.tv_nsec);
}

/* Each watcher's share of the work: the own namespace reads softnet_stat,
 * all ration their SYN-RECV counts together, the owner scan is common. */
static void wa_shares(struct watch_all *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct watch_share s = { .peers = (unsigned)a->n, .owners_outside = true,
					 .softnet = a->list->ns[i].self, .syn_budget_us = &a->syn_budget_us };

		if (a->w[i])
			watch_set_share(a->w[i], &s);
	}
}

/* A new scan; the watchers of the namespaces still there carry over (by
 * identity), the others are dropped. */
static int wa_scan(struct watch_all *a, uint64_t now)
{
	struct netns_list *l = NULL;
	struct watch **w;
	int *err;
	unsigned long long *cookie;
	uint64_t t0 = wa_cpu_us();
	struct stat dir;
	bool has;
	int r;

	wa_dir_changed(a, &dir, &has);
	r = netns_scan(a->root, &l);
	if (r < 0)
		return a->list ? 0 : r; /* logged; the last list stays */
	w = calloc(l->n ? l->n : 1, sizeof(*w));
	err = calloc(l->n ? l->n : 1, sizeof(*err));
	cookie = calloc(l->n ? l->n : 1, sizeof(*cookie));
	if (!w || !err || !cookie) {
		free(w);
		free(err);
		free(cookie);
		netns_list_free(l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct netns_entry *old = a->list ? netns_list_find(a->list, l->ns[i].id) : NULL;
		size_t k = old ? (size_t)(old - a->list->ns) : 0;

		if (old && old->state != NETNS_GONE) {
			w[i] = a->w[k];
			err[i] = a->err[k];
			cookie[i] = a->cookie[k];
			a->w[k] = NULL;
		} else if (a->list) {
			a->st.appeared++;
		}
	}
	for (size_t k = 0; k < a->n; k++)
		if (a->w[k]) {
			watch_free(a->w[k]);
			a->st.gone++;
		}
	free(a->w);
	free(a->err);
	free(a->cookie);
	netns_list_free(a->list);
	a->list = l;
	a->w = w;
	a->err = err;
	a->cookie = cookie;
	a->n = l->n;
	a->dir = dir;
	a->has_dir = has;
	a->st.scans++;
	a->st.scan_us = wa_cpu_us() - t0;
	a->early_scan_ms = now + a->st.scan_us * WATCH_ALL_SCAN_SHARE / 1000;
	a->next_scan_ms = a->early_scan_ms > now + WATCH_ALL_SCAN_MS ? a->early_scan_ms : now + WATCH_ALL_SCAN_MS;
	wa_shares(a);
	return 0;
}

/* ---- the visits ---- */

static int visit_refresh(struct netns_entry *e, void *arg)
{
	struct watch_all *a = arg;
	size_t i = (size_t)(e - a->list->ns);
	unsigned long long cookie = host_netns_cookie();
	int r;

	/* the inode of a namespace deleted goes to the next one made: a
	 * watcher carried over by it holds the readings (sysctls, counters)
	 * of the one gone */
	if (a->w[i] && cookie && a->cookie[i] && cookie != a->cookie[i]) {
		watch_free(a->w[i]);
		a->w[i] = NULL;
		a->err[i] = 0;
		a->st.gone++;
		a->st.appeared++;
	}
	a->cookie[i] = cookie;
	if (!a->w[i]) {
		struct watch_share s = { .peers = (unsigned)a->n, .owners_outside = true, .softnet = e->self,
					 .syn_budget_us = &a->syn_budget_us };

		if (!(a->w[i] = watch_new(a->root)))
			return -ENOMEM;
		watch_set_share(a->w[i], &s);
	}
	r = watch_refresh(a->w[i]);
	if (r == -ENOMEM)
		return r;
	a->err[i] = r;
	a->st.round_us += watch_frame(a->w[i])->dump_us;
	return 0;
}

static int visit_peek(struct netns_entry *e, void *arg)
{
	struct watch_all *a = arg;
	size_t i = (size_t)(e - a->list->ns);

	return a->w[i] ? watch_peek(a->w[i]) : 0;
}

/* The watchers of namespaces that went away or could not be entered
 * this time go (a namespace gone stays gone: its identity is unique
 * while it lives). */
static void wa_prune(struct watch_all *a)
{
	for (size_t i = 0; i < a->n; i++) {
		if (!a->w[i] || a->list->ns[i].state == NETNS_ENTERED)
			continue;
		watch_free(a->w[i]);
		a->w[i] = NULL;
		a->err[i] = 0;
		if (a->list->ns[i].state == NETNS_GONE)
			a->st.gone++;
	}
}

/* One scan of /proc for the owners the watchers want, rationed by its
 * cost as a single watcher's is. */
static int wa_owners(struct watch_all *a, uint64_t now)
{
	bool want = false;
	uint64_t t0;
	int r;

	for (size_t i = 0; i < a->n && !want; i++)
		want = a->w[i] && watch_owners_wanted(a->w[i]);
	if (!want || now < a->next_owner_ms)
		return 0;
	t0 = wa_cpu_us();
	/* the watchers not wanting one are skipped by it; NULL ones are not
	 * passed */
	{
		struct watch **ws = calloc(a->n ? a->n : 1, sizeof(*ws));
		size_t k = 0;

		if (!ws)
			return -ENOMEM;
		for (size_t i = 0; i < a->n; i++)
			if (a->w[i])
				ws[k++] = a->w[i];
		r = watch_owners_scan(a->root, ws, k);
		free(ws);
	}
	a->next_owner_ms = wa_mono_ms() + (wa_cpu_us() - t0 ? wa_cpu_us() - t0 : 1) * WATCH_OWNER_SHARE / 1000;
	return r;
}

int watch_all_refresh(struct watch_all *a)
{
	struct netns_visit_stats vs;
	uint64_t now = wa_mono_ms(), t0;
	struct stat dir;
	bool has;
	int r;

	if (!a->list || now >= a->next_scan_ms || (now >= a->early_scan_ms && wa_dir_changed(a, &dir, &has))) {
		if ((r = wa_scan(a, now)) < 0)
			return r;
	}
	/* SYN-RECV counts of this round: at most 1/WATCH_SYN_SHARE of a CPU
	 * over the time since the last round (1/WATCH_SYN_BUSY_SHARE while a
	 * namespace has not been counted yet), and one count at least */
	a->syn_budget_us = (a->last_round_ms ? now - a->last_round_ms : 1000) * 1000 /
			   (a->syn_pending ? WATCH_SYN_BUSY_SHARE : WATCH_SYN_SHARE);
	if (!a->syn_budget_us)
		a->syn_budget_us = 1;
	a->last_round_ms = now;
	a->st.round_us = 0;
	t0 = wa_cpu_us();
	r = netns_visit(a->list, a->root, visit_refresh, a, &vs);
	if (r < 0)
		return r;
	/* the dumps, and entering and leaving the namespaces */
	a->st.round_us = wa_cpu_us() - t0;
	wa_prune(a);
	a->syn_pending = false;
	for (size_t i = 0; i < a->n; i++)
		a->syn_pending |= a->w[i] && watch_frame(a->w[i])->syn_waiting;
	return wa_owners(a, wa_mono_ms());
}

int watch_all_peek(struct watch_all *a)
{
	struct netns_visit_stats vs;
	uint64_t t0 = wa_cpu_us();
	int r;

	if (!a->list)
		return 0;
	r = netns_visit(a->list, a->root, visit_peek, a, &vs);
	if (r == 0)
		a->st.round_us = wa_cpu_us() - t0;
	return r;
}
