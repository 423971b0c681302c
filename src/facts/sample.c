/* The sampling window: counters at the start and the end, listeners every
 * interval, per-listener running maxima.  See sample.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "facts/facts.h"
#include "facts/sample.h"
#include "facts/sockets.h"
#include "util/duration.h"
#include "util/log.h"

/* An owner of a listener, found during the window. */
struct owner {
	struct sock_proc p;     /* p.comm owned */
	bool polls;
};

/* What is known of one listener over the window. */
struct lstat {
	struct sock_ep ep;
	uint64_t inode;
	uint64_t peak_syn;
	uint32_t peak_queue;
	uint32_t queue_min;     /* the shortest accept queue seen */
	uint32_t last_queue;    /* at the last reading */
	uint32_t limit;         /* at the last reading */
	uint32_t peak_fill;     /* percent */
	uint32_t first_drops, last_drops;
	uint32_t seen;          /* readings that saw it */
	uint32_t last_tick;     /* the last reading that saw it */
	struct owner *owners;   /* looked up during the window (owners_looked) */
	uint32_t nowners;
	bool has_limit, has_drops;
	bool shrank;            /* a reading saw the queue shorter than the one before */
	bool appeared;          /* not there at the first reading */
	bool matched;           /* sample_attach: found in the end reading */
	bool owners_wanted;     /* queued or dropped: its owners are to be found */
	bool owners_looked;     /* owners looked up (found or not) */
};

struct sample {
	struct sample_opts o;
	/* the window */
	struct timespec mono_start, mono_end;
	struct timespec real_start, real_end;
	bool ended;
	uint32_t ticks;         /* listener readings */
	uint32_t syn_every;     /* request sockets counted every syn_every readings */
	uint32_t syn_ticks;     /* readings that counted them */
	uint32_t ticks_failed;  /* readings that failed (dump interrupted) */
	uint32_t late;          /* readings skipped because one took too long */
	uint64_t last_syn_ms;   /* when request sockets were last counted */
	uint32_t syn_busy;      /* readings that counted them early, as drops rose */
	int stopped_by;         /* the signal that ended the window, or 0 */
	json_t *start_counters; /* the counters at the start (a new reference) */
	json_t *start_notes;    /* what the start reading could not read */
	json_t *start_softnet;  /* softnet_stat at the start (a new reference), or NULL */
	struct sample_udp udp;  /* the UDP sockets' drops at the start */
	/* listeners */
	int listeners_error;    /* -errno: netlink could not be used; not sampled */
	bool listeners_ok;      /* at least one reading succeeded */
	struct lstat *ls;
	size_t n, cap;
	uint32_t *hash;         /* open addressing: index + 1, 0 empty */
	size_t hash_cap;
	unsigned long untracked;        /* listeners beyond SAMPLE_MAX_LISTENERS */
	/* owners of listeners that queue or drop, looked up during the window
	 * so that one gone at its end is still named */
	const struct nk_root *root;
	bool want_owners;
	size_t owners_wanted;   /* listeners waiting for a look-up */
	uint64_t next_owner_ms; /* no look-up before (monotonic ms) */
	uint32_t owner_scans;
	unsigned long forgotten;        /* vanished quiet listeners forgotten */
	size_t stale_kept;      /* vanished listeners kept by the last compaction */
};

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

/* The hooks of the caller (sample_opts.hooks), when it gave them. */
static void phase(struct sample *s, enum sample_phase ph)
{
	if (s->o.hooks.phase)
		s->o.hooks.phase(ph, s->o.hooks.data);
}

static int stop_asked(const struct sample *s)
{
	return s->o.hooks.stop ? s->o.hooks.stop(s->o.hooks.data) : 0;
}

/* ---- time ---- */

static uint64_t ts_ms(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ts_ms(&t);
}

static uint64_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	int64_t d = ((int64_t)b->tv_sec - a->tv_sec) * 1000 +
		    ((int64_t)b->tv_nsec - a->tv_nsec) / 1000000;

	return d > 0 ? (uint64_t)d : 0;
}

static void rfc3339_ms(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(t->tv_nsec / 1000000) % 1000);
}

/* ---- the listener table ---- */

static uint64_t key_hash(uint64_t inode, const struct sock_ep *ep)
{
	return sock_hash_mix(inode ^ ((uint64_t)ep->port << 48) ^ ((uint64_t)ep->family << 40));
}

static bool key_same(const struct lstat *a, uint64_t inode, const struct sock_ep *ep)
{
	return a->inode == inode && a->ep.family == ep->family && a->ep.port == ep->port &&
	       a->ep.ifindex == ep->ifindex && memcmp(a->ep.addr, ep->addr, sizeof(ep->addr)) == 0;
}

static int hash_rebuild(struct sample *s, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t j = key_hash(s->ls[i].inode, &s->ls[i].ep) & (cap - 1);

		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(s->hash);
	s->hash = h;
	s->hash_cap = cap;
	return 0;
}

static struct lstat *table_find(const struct sample *s, uint64_t inode, const struct sock_ep *ep)
{
	size_t j;

	if (!s->hash_cap)
		return NULL;
	j = key_hash(inode, ep) & (s->hash_cap - 1);
	while (s->hash[j]) {
		struct lstat *l = &s->ls[s->hash[j] - 1];

		if (key_same(l, inode, ep))
			return l;
		j = (j + 1) & (s->hash_cap - 1);
	}
	return NULL;
}

/* Packets dropped during the window (32-bit counters: modulo 2^32); a
 * listener opened during the window dropped all it counts in it. */
static uint32_t window_drops(const struct lstat *l)
{
	if (!l->has_drops)
		return 0;
	return l->appeared ? l->last_drops : l->last_drops - l->first_drops;
}

static bool noteworthy(const struct lstat *l)
{
	return l->peak_queue > 0 || l->peak_syn > 0 || window_drops(l);
}

/* Forget the listeners that vanished without anything to say: those last
 * seen before reading keep_from that never queued, dropped nor had a
 * half-open connection.  The others stay (up to SAMPLE_MAX_LISTENERS), to
 * be reported.  Returns 0 or -ENOMEM. */
static int table_compact(struct sample *s, uint32_t keep_from)
{
	size_t o = 0;

	s->stale_kept = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->ls[i].last_tick < keep_from) {
			if (!noteworthy(&s->ls[i])) {
				s->forgotten++;
				continue;
			}
			s->stale_kept++;
		}
		s->ls[o++] = s->ls[i];
	}
	if (o == s->n)
		return 0;
	s->n = o;
	return hash_rebuild(s, s->hash_cap);
}

/* The entry for a listener, added when new; NULL when the table is full
 * (counted) or out of memory (*err). */
static struct lstat *table_get(struct sample *s, uint64_t inode, const struct sock_ep *ep,
			       bool *added, int *err)
{
	struct lstat *l = table_find(s, inode, ep);

	*added = false;
	if (l)
		return l;
	/* full: forget the quiet listeners that were not in the previous
	 * reading either (those of this reading may still come) */
	if (s->n >= SAMPLE_MAX_LISTENERS &&
	    (*err = table_compact(s, s->ticks ? s->ticks - 1 : 0)) < 0)
		return NULL;
	if (s->n >= SAMPLE_MAX_LISTENERS) {
		s->untracked++;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct lstat *nl;

		if (cap > SAMPLE_MAX_LISTENERS)
			cap = SAMPLE_MAX_LISTENERS;
		nl = realloc(s->ls, cap * sizeof(*nl));
		if (!nl) {
			*err = -ENOMEM;
			return NULL;
		}
		s->ls = nl;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->hash_cap && (*err = hash_rebuild(s, s->hash_cap ? s->hash_cap * 2 : 128)) < 0)
		return NULL;
	l = &s->ls[s->n];
	memset(l, 0, sizeof(*l));
	l->ep = *ep;
	l->inode = inode;
	{
		size_t j = key_hash(inode, ep) & (s->hash_cap - 1);

		while (s->hash[j])
			j = (j + 1) & (s->hash_cap - 1);
		s->hash[j] = (uint32_t)++s->n;
	}
	*added = true;
	return l;
}

static uint32_t fill_percent(uint32_t queue, uint32_t limit)
{
	if (limit == 0)
		return queue ? 100 : 0;
	return (uint32_t)((uint64_t)queue * 100 / limit);
}

/* Fold one reading of a listener into its entry.  first: the reading at
 * the start of the window. */
static void lstat_update(struct lstat *l, bool added, bool first, uint32_t tick,
			 uint32_t queue, bool has_limit, uint32_t limit, uint64_t syn,
			 bool has_drops, uint32_t drops)
{
	if (added) {
		l->appeared = !first;
		l->first_drops = drops;
		l->has_drops = has_drops;
		l->queue_min = queue;
	} else {
		if (queue < l->queue_min)
			l->queue_min = queue;
		if (queue < l->last_queue)
			l->shrank = true;
	}
	l->last_queue = queue;
	if (queue > l->peak_queue)
		l->peak_queue = queue;
	if (syn > l->peak_syn)
		l->peak_syn = syn;
	if (has_limit) {
		uint32_t f = fill_percent(queue, limit);

		l->has_limit = true;
		l->limit = limit;
		if (f > l->peak_fill)
			l->peak_fill = f;
	}
	if (has_drops && l->has_drops)
		l->last_drops = drops;
	else
		l->has_drops = false;
	l->seen++;
	l->last_tick = tick;
}

/* ---- one reading of the listeners ---- */

/* Request sockets (SYN_RECV) are counted at most this often: asking for
 * them costs a walk of the kernel's whole established hash table (a few ms
 * on a large host), while the listeners themselves are cheap to read. */
#define SYN_INTERVAL_MS 100
/* ... but while a listener's drop counter rises, in every reading and at
 * most this often: a SYN queue that fills and drains between two counts
 * 100 ms apart would be missed, and then the drops could not be told
 * SYN-side from accept-side */
#define SYN_BUSY_MS 20

/* vanished listeners tolerated before the table is compacted */
#define STALE_SLACK 64

/* Owners are looked up at most this often, and never more than a tenth of
 * the time: a /proc scan reads a link per open descriptor on the host. */
#define OWNER_GAP_MS 1000
#define OWNER_GAP_FACTOR 10

/* Did a listener of this reading drop packets since the one before? */
static bool drops_rose(const struct sample *s, const struct socktab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct listener *x = &t->l[i];
		const struct lstat *l;

		if (!x->has_drops || !(l = table_find(s, x->inode, &x->ep)))
			continue;
		if (l->has_drops && x->drops != l->last_drops)
			return true;
	}
	return false;
}

/* Find the owners of the listeners of this reading that queued or dropped
 * and were not looked up yet, in one scan of /proc.  Returns 0 or
 * -ENOMEM; a scan that fails only leaves them without owners. */
static int lookup_owners(struct sample *s, const struct socktab *t)
{
	struct owners_stats st = { 0 };
	struct socktab own;
	struct lstat **who = calloc(s->owners_wanted, sizeof(*who));
	uint64_t t0 = mono_ms(), took;
	int r = 0;

	if (!who)
		return -ENOMEM;
	socktab_init(&own);
	for (size_t i = 0; i < t->n && own.n < s->owners_wanted; i++) {
		struct lstat *l = table_find(s, t->l[i].inode, &t->l[i].ep);

		if (!l || !l->owners_wanted || l->owners_looked)
			continue;
		if ((r = socktab_add_listener(&own, &t->l[i])) < 0)
			goto out;
		who[own.n - 1] = l;
	}
	r = owners_collect(s->root, &own, &st);
	if (r == -ENOMEM)
		goto out;
	r = 0;
	for (size_t k = 0; k < own.nlinks; k++) {
		struct lstat *l = who[own.links[k].listener];
		struct owner *o = realloc(l->owners, (l->nowners + 1) * sizeof(*o));

		if (!o) {
			r = -ENOMEM;
			goto out;
		}
		l->owners = o;
		o += l->nowners;
		o->p = own.procs[own.links[k].proc];
		o->polls = own.links[k].polls;
		if (o->p.comm && !(o->p.comm = strdup(o->p.comm))) {
			r = -ENOMEM;
			goto out;
		}
		l->nowners++;
	}
	for (size_t i = 0; i < own.n; i++)
		who[i]->owners_looked = true;
	s->owners_wanted = 0;
	s->owner_scans++;
	took = mono_ms() - t0;
	s->next_owner_ms = mono_ms() + (took * OWNER_GAP_FACTOR > OWNER_GAP_MS ?
					took * OWNER_GAP_FACTOR : OWNER_GAP_MS);
out:
	socktab_free(&own);
	free(who);
	return r;
}

static int read_listeners(struct sample *s, struct socktab *t)
{
	struct sockdiag_result res = { 0 };
	bool syn = s->ticks % s->syn_every == 0;
	size_t live = 0;
	uint64_t now;
	int r, err = 0;

	if (s->listeners_error)
		return 0;
	socktab_reset(t);
	r = sockdiag_collect_listeners(t, false, &res);
	if (r == 0) {
		now = mono_ms();
		if (!syn && s->ticks && now - s->last_syn_ms >= SYN_BUSY_MS && drops_rose(s, t)) {
			syn = true;
			s->syn_busy++;
		}
		if (syn) {
			s->last_syn_ms = now;
			r = sockdiag_collect_requests(t, &res);
		}
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (!s->listeners_ok && r != -EINTR) {
			/* refused from the start: the window goes on for the counters */
			s->listeners_error = r;
			return 0;
		}
		s->ticks_failed++;
		return 0;
	}
	if (socktab_finish(t) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct listener *x = &t->l[i];
		bool added;
		struct lstat *l = table_get(s, x->inode, &x->ep, &added, &err);

		if (!l) {
			if (err)
				return err;
			continue;
		}
		live++;
		lstat_update(l, added, s->ticks == 0, s->ticks, x->queue, x->has_limit, x->limit,
			     syn ? x->syn_recv : 0, x->has_drops, x->drops);
		if (s->want_owners && !l->owners_wanted && (l->peak_queue || window_drops(l))) {
			l->owners_wanted = true;
			s->owners_wanted++;
		}
	}
	if (s->owners_wanted && mono_ms() >= s->next_owner_ms && (r = lookup_owners(s, t)) < 0)
		return r;
	/* listeners come and go: memory must not grow with their number
	 * over a long window, so the quiet ones that went are forgotten */
	if (s->n - live > STALE_SLACK + s->stale_kept && table_compact(s, s->ticks) < 0)
		return -ENOMEM;
	s->listeners_ok = true;
	s->ticks++;
	if (syn)
		s->syn_ticks++;
	return 0;
}

static void progress(struct sample *s, uint64_t now, bool final)
{
	struct sample_progress p = {
		.elapsed_ms = now - ts_ms(&s->mono_start), .duration_ms = s->o.duration_ms,
		.readings = s->ticks, .listeners = s->n,
	};

	if (s->o.hooks.progress)
		s->o.hooks.progress(&p, final, s->o.hooks.data);
}

/* ---- the window ---- */

struct sample *sample_new(const struct sample_opts *o)
{
	struct sample *s = calloc(1, sizeof(*s));

	if (s) {
		s->o = *o;
		s->syn_every = o->interval_ms >= SYN_INTERVAL_MS ? 1 :
			       (uint32_t)((SYN_INTERVAL_MS + o->interval_ms - 1) / o->interval_ms);
	}
	return s;
}

static void owners_free(struct lstat *l)
{
	for (uint32_t i = 0; i < l->nowners; i++)
		free(l->owners[i].p.comm);
	free(l->owners);
	l->owners = NULL;
	l->nowners = 0;
}

void sample_free(struct sample *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		owners_free(&s->ls[i]);
	json_decref(s->start_counters);
	json_decref(s->start_notes);
	json_decref(s->start_softnet);
	sample_udp_free(&s->udp);
	free(s->ls);
	free(s->hash);
	free(s);
}

static void add_ms(struct timespec *t, uint64_t ms)
{
	t->tv_sec += (time_t)(ms / 1000);
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

int sample_window(struct sample *s, const struct nk_root *root, bool owners)
{
	struct socktab t;
	json_t *scratch = json_object();
	struct timespec deadline, end;
	uint64_t k = 0;
	bool complete = false;  /* the window ran its course */
	int r = 0;

	if (!scratch)
		return -ENOMEM;
	socktab_init(&t);
	s->root = root;
	s->want_owners = owners;
	phase(s, SAMPLE_WINDOW);
	clock_gettime(CLOCK_REALTIME, &s->real_start);
	clock_gettime(CLOCK_MONOTONIC, &s->mono_start);
	r = counters_collect(scratch, root);
	if (r == -ENOMEM)
		goto out;
	s->start_counters = json_incref(json_object_get(scratch, "counters"));
	s->start_notes = json_incref(json_object_get(scratch, "notes"));
	s->start_softnet = json_incref(json_object_get(scratch, "softnet"));
	if (root->live && (r = sample_udp_start(&s->udp)) < 0)
		goto out;
	end = s->mono_start;
	add_ms(&end, s->o.duration_ms);
	for (;;) {
		uint64_t now;

		r = read_listeners(s, &t);
		if (r < 0)
			goto out;
		now = mono_ms();
		progress(s, now, false);
		if (now >= ts_ms(&end)) {
			complete = true;
			break;
		}
		if (stop_asked(s))
			break;
		/* the next slot on the grid start + k * interval that is
		 * still ahead; missed ones are counted */
		k++;
		deadline = s->mono_start;
		add_ms(&deadline, k * s->o.interval_ms);
		while (ts_ms(&deadline) <= now) {
			s->late++;
			k++;
			deadline = s->mono_start;
			add_ms(&deadline, k * s->o.interval_ms);
		}
		if (ts_ms(&deadline) > ts_ms(&end))
			deadline = end;
		while (!stop_asked(s) &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
			;
		if (stop_asked(s))
			break;
	}
	r = 0;
out:
	/* a signal after the last reading of a complete window does not cut
	 * it short: sample_attach() says it came after the window */
	s->stopped_by = complete ? 0 : stop_asked(s);
	phase(s, SAMPLE_LAST_READING);
	progress(s, mono_ms(), true);
	if (s->stopped_by) {
		char d[32];

		clock_gettime(CLOCK_MONOTONIC, &end);
		duration_format(elapsed_ms(&s->mono_start, &end), d, sizeof(d));
		log_warn("sampling ended early by %s after %s; reporting what was seen",
			 signal_name(s->stopped_by), d);
	}
	socktab_free(&t);
	json_decref(scratch);
	return r;
}

void sample_mark_end(struct sample *s)
{
	clock_gettime(CLOCK_REALTIME, &s->real_end);
	clock_gettime(CLOCK_MONOTONIC, &s->mono_end);
	s->ended = true;
}

/* ---- the document ---- */

static json_t *peak_json(const struct lstat *l)
{
	json_t *p = json_object();
	int err = 0;

	if (!p)
		return NULL;
	err |= facts_set(p, "queue", json_integer(l->peak_queue));
	err |= facts_set(p, "queue_min", json_integer(l->queue_min));
	err |= facts_set(p, "shrank", json_boolean(l->shrank));
	if (l->has_limit)
		err |= facts_set(p, "fill", json_integer(l->peak_fill));
	err |= facts_set(p, "syn_recv", json_integer(l->peak_syn > INT64_MAX ? INT64_MAX : (json_int_t)l->peak_syn));
	if (l->has_drops) {
		/* drops are 32 bits in the kernel: the difference is taken
		 * modulo 2^32, so one wrap is harmless */
		uint32_t d = window_drops(l);

		err |= facts_set(p, "drops", json_integer(d));
		err |= facts_set(p, "overflowed", json_boolean(d > 0));
	}
	err |= facts_set(p, "readings", json_integer(l->seen));
	if (l->appeared)
		err |= facts_set(p, "appeared", json_true());
	if (err) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static long long geti(const json_t *o, const char *k, long long dflt)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* The endpoint of a listener of the document, as the table keys it. */
static bool listener_ep(const json_t *l, struct sock_ep *ep)
{
	const char *fam = json_string_value(json_object_get(l, "family"));
	const char *addr = json_string_value(json_object_get(l, "address"));

	memset(ep, 0, sizeof(*ep));
	if (!fam || !addr)
		return false;
	ep->family = !strcmp(fam, "ipv6") ? AF_INET6 : AF_INET;
	if (inet_pton(ep->family, addr, ep->addr) != 1)
		return false;
	ep->port = (uint16_t)geti(l, "port", 0);
	ep->ifindex = (uint32_t)geti(l, "interface", 0);
	return true;
}

/* Fold the end reading (the document's listeners) into the table and give
 * each listener its "peak". */
static int listeners_json(struct sample *s, json_t *doc)
{
	json_t *ls = json_object_get(json_object_get(doc, "sockets"), "listeners"), *l;
	bool netlink = !strcmp(json_string_value(json_object_get(json_object_get(doc, "sockets"),
								 "source")) ?: "", "netlink");
	size_t i;
	int err = 0;

	/* without a reading during the window, the end reading would make
	 * every listener new, and its drops since creation look like drops in
	 * the window: no peaks then */
	if (!s->ticks) {
		facts_note(doc, "sample: no reading of the listeners succeeded during the window; "
			   "no peaks are given");
		return 0;
	}
	json_array_foreach(ls, i, l) {
		struct sock_ep ep;
		struct lstat *st;
		bool added = false;
		long long limit = geti(l, "limit", -1), drops = geti(l, "drops", -1);
		json_t *p;

		if (!netlink || !listener_ep(l, &ep))
			continue;
		st = table_get(s, (uint64_t)geti(l, "inode", 0), &ep, &added, &err);
		if (!st) {
			if (err)
				return err;
			continue;
		}
		lstat_update(st, added, false, s->ticks, (uint32_t)geti(l, "queue", 0), limit >= 0,
			     (uint32_t)(limit >= 0 ? limit : 0), (uint64_t)geti(l, "syn_recv", 0),
			     drops >= 0, (uint32_t)(drops >= 0 ? drops : 0));
		st->matched = true;
		p = peak_json(st);
		if (!p || json_object_set_new(l, "peak", p) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The owners found during the window, as a listener's "processes". */
static int owners_json(json_t *o, const struct lstat *l)
{
	json_t *a = json_array();

	if (!a || json_object_set_new(o, "processes", a) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->nowners; i++) {
		json_t *p = sock_proc_json(&l->owners[i].p, l->owners[i].polls);

		if (!p || json_array_append_new(a, p) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Listeners seen during the window but gone at its end, when something
 * happened to them. */
static json_t *vanished_json(const struct sample *s, unsigned long *quiet)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct lstat *l = &s->ls[i];
		char addr[INET6_ADDRSTRLEN];
		json_t *o, *p;

		if (l->matched)
			continue;
		if (!noteworthy(l)) {
			(*quiet)++;
			continue;
		}
		if (!inet_ntop(l->ep.family, l->ep.addr, addr, sizeof(addr)))
			strcpy(addr, "?");
		o = json_pack("{s:s,s:s,s:i}", "family", l->ep.family == AF_INET ? "ipv4" : "ipv6",
			      "address", addr, "port", (int)l->ep.port);
		p = peak_json(l);
		if (o && p && l->owners_looked && owners_json(o, l) < 0) {
			json_decref(p);
			p = NULL;
		}
		if (!o || !p || (l->ep.ifindex && facts_set(o, "interface", json_integer(l->ep.ifindex)) < 0) ||
		    (l->has_limit && facts_set(o, "limit", json_integer(l->limit)) < 0) ||
		    facts_set(o, "inode", json_integer((json_int_t)l->inode)) < 0 ||
		    json_object_set_new(o, "peak", p) < 0 || json_array_append_new(a, o) < 0) {
			json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int sample_attach(struct sample *s, json_t *doc)
{
	json_t *o = json_object();
	char a[40], b[40];
	uint64_t dur;
	int err = 0, late = stop_asked(s);

	phase(s, SAMPLE_DONE);
	if (late && !s->stopped_by)
		log_warn("%s after the window, during the last reading: the window was complete; "
			 "reporting it", signal_name(late));
	if (!o)
		return -ENOMEM;
	if (!s->ended)
		sample_mark_end(s);
	dur = elapsed_ms(&s->mono_start, &s->mono_end);
	if (dur == 0)
		dur = 1;
	rfc3339_ms(&s->real_start, a, sizeof(a));
	rfc3339_ms(&s->real_end, b, sizeof(b));
	err |= facts_set(o, "started_at", json_string(a));
	err |= facts_set(o, "ended_at", json_string(b));
	err |= facts_set(o, "duration_ms", json_integer((json_int_t)dur));
	err |= facts_set(o, "requested_ms", json_integer((json_int_t)s->o.duration_ms));
	err |= facts_set(o, "interval_ms", json_integer((json_int_t)s->o.interval_ms));
	err |= facts_set(o, "ticks", json_integer(s->ticks));
	err |= facts_set(o, "syn_recv_interval_ms", json_integer((json_int_t)(s->o.interval_ms * s->syn_every)));
	err |= facts_set(o, "syn_recv_ticks", json_integer(s->syn_ticks));
	err |= facts_set(o, "syn_recv_early", json_integer(s->syn_busy));
	if (s->want_owners)
		err |= facts_set(o, "owner_lookups", json_integer(s->owner_scans));
	err |= facts_set(o, "cut_short", json_boolean(s->stopped_by != 0));
	if (s->stopped_by)
		err |= facts_set(o, "stopped_by", json_string(signal_name(s->stopped_by)));
	if (err)
		goto oom;
	if (!s->start_counters)
		facts_note(doc, "sample: the counters could not be read at the start of the window: no rates");
	else if (sample_rates_json(s->start_counters, s->start_softnet, doc, o, dur) < 0)
		goto oom;
	if (s->listeners_error) {
		facts_note(doc, "sample: listeners not sampled: netlink %s (%s)",
			   sockdiag_refused(s->listeners_error) ? "refused" : "failed",
			   strerror(-s->listeners_error));
		err |= facts_set(o, "listeners_sampled", json_false());
	} else {
		unsigned long quiet = 0;
		json_t *v;

		err |= facts_set(o, "listeners_sampled", json_true());
		if (listeners_json(s, doc) < 0)
			goto oom;
		v = vanished_json(s, &quiet);
		if (!v)
			goto oom;
		err |= facts_set(o, "vanished", v);
		err |= facts_set(o, "vanished_quiet", json_integer((json_int_t)(quiet + s->forgotten)));
		if (s->untracked) {
			err |= facts_set(o, "untracked", json_integer((json_int_t)s->untracked));
			facts_note(doc, "sample: more than %d listeners during the window: %lu readings "
				   "of new listeners not tracked", SAMPLE_MAX_LISTENERS, s->untracked);
		}
	}
	if (sample_udp_attach(&s->udp, doc, o) < 0)
		goto oom;
	if (s->ticks_failed) {
		err |= facts_set(o, "ticks_failed", json_integer(s->ticks_failed));
		facts_note(doc, "sample: %u listener readings failed (netlink dump interrupted)",
			   s->ticks_failed);
	}
	if (s->late) {
		err |= facts_set(o, "late", json_integer(s->late));
		facts_note(doc, "sample: %u readings skipped: a reading took longer than the interval",
			   s->late);
	}
	if (err || json_object_set_new(doc, "sample", o) < 0)
		return -ENOMEM;
	return 0;
oom:
	json_decref(o);
	return -ENOMEM;
}
