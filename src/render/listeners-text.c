/* netknobs listeners: every listening TCP socket of a facts document,
 * fullest accept queue first, as text (SO_REUSEPORT groups as one row,
 * each member on a row of its own with verbose) or as JSON (one object per
 * socket).  The document may come from elsewhere (--from): every number is
 * combined with saturating arithmetic and every string escaped. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/duration.h"
#include "util/escape.h"
#include "util/wrap.h"

/* One row's numbers: the moment's, or with a window its peaks. */
struct vals {
	long long queue, limit;
	long long fill;         /* tenths of a percent; -1 unknown */
	long long drops, syn;   /* -1 unknown */
	long long peak;         /* the window's longest queue, -1 none */
};

/* A row: a listener, or a SO_REUSEPORT group of n members. */
struct row {
	const json_t **m;       /* the members (one for a plain listener) */
	size_t n;
	size_t seq;             /* place by endpoint: the last tie-break */
	struct vals v;
	const json_t *full;     /* the member whose queue and limit are shown */
};

static long long geti(const json_t *o, const char *k, long long dflt)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static const char *gets(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long sat_mul(long long a, long long b)
{
	long long r;

	if (__builtin_mul_overflow(a, b, &r))
		return (a < 0) != (b < 0) ? LLONG_MIN : LLONG_MAX;
	return r;
}

static long long sat_add(long long a, long long b)
{
	long long r;

	if (__builtin_add_overflow(a, b, &r))
		return a < 0 ? LLONG_MIN : LLONG_MAX;
	return r;
}

/* queue * 1000 / limit without overflow (limit > 0, queue >= 0) */
static long long permille(long long queue, long long limit)
{
	long double f;
	long long r;

	if (!__builtin_mul_overflow(queue, 1000LL, &r))
		return r / limit;
	f = (long double)queue * 1000 / limit;
	return f >= (long double)LLONG_MAX ? LLONG_MAX : (long long)f;
}

static void listener_vals(const json_t *l, bool sampled, struct vals *v)
{
	v->queue = geti(l, "queue", 0);
	v->limit = geti(l, "limit", -1);
	v->drops = geti(l, "drops", -1);
	v->syn = geti(l, "syn_recv", -1);
	if (v->limit > 0 && v->queue >= 0)
		v->fill = permille(v->queue, v->limit);
	else if (v->limit == 0)
		v->fill = v->queue > 0 ? 1000 : 0;
	else
		v->fill = -1;
	v->peak = -1;
	if (sampled) {
		/* a window: its peaks and its drops, not the moment's */
		const json_t *pk = json_object_get(l, "peak");

		v->peak = geti(pk, "queue", -1);
		v->syn = geti(pk, "syn_recv", -1);
		v->drops = geti(pk, "drops", -1);
		if (geti(pk, "fill", -1) >= 0)
			v->fill = sat_mul(geti(pk, "fill", 0), 10);
	}
}

/* ---- grouping ---- */

struct member {
	const json_t *l;
	const char *fam, *addr;
	long long port, ifx, index;
	bool grouped;           /* has "reuseport" */
};

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	int c;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if ((c = strcmp0(a->fam, b->fam)) || (c = strcmp0(a->addr, b->addr)))
		return c;
	if (a->ifx != b->ifx)
		return a->ifx < b->ifx ? -1 : 1;
	if (a->grouped != b->grouped)
		return a->grouped ? 1 : -1;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

static bool same_group(const struct member *a, const struct member *b)
{
	return a->grouped && b->grouped && a->port == b->port && a->ifx == b->ifx &&
	       !strcmp0(a->fam, b->fam) && !strcmp0(a->addr, b->addr);
}

/* A group's numbers: the fullest member's queue and limit, the highest
 * peak, fill and SYN-RECV (the group's total on every member), the drops
 * of all. */
static void group_vals(struct row *r, bool sampled)
{
	for (size_t k = 0; k < r->n; k++) {
		struct vals v;

		listener_vals(r->m[k], sampled, &v);
		if (k == 0) {
			r->v = v;
			r->full = r->m[k];
			continue;
		}
		if (v.fill > r->v.fill || (v.fill == r->v.fill && v.queue > r->v.queue)) {
			r->v.queue = v.queue;
			r->v.limit = v.limit;
			r->v.fill = v.fill;
			r->full = r->m[k];
		}
		if (v.peak > r->v.peak)
			r->v.peak = v.peak;
		if (v.syn > r->v.syn)
			r->v.syn = v.syn;
		if (v.drops >= 0)
			r->v.drops = r->v.drops >= 0 ? sat_add(r->v.drops, v.drops) : v.drops;
	}
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->v.fill != y->v.fill)
		return x->v.fill > y->v.fill ? -1 : 1;
	if (x->v.queue != y->v.queue)
		return x->v.queue > y->v.queue ? -1 : 1;
	if (x->v.drops != y->v.drops)
		return x->v.drops > y->v.drops ? -1 : 1;
	/* rows were made in port order */
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The rows of a listener array, sorted; *members holds what rows point
 * into.  Returns the number of rows, or -1 when out of memory. */
static long build_rows(const json_t *listeners, bool sampled, struct row **rows,
		       const json_t ***members)
{
	size_t n = json_array_size(listeners), nr = 0, i;
	struct member *mem = calloc(n ? n : 1, sizeof(*mem));
	const json_t *l;

	*rows = calloc(n ? n : 1, sizeof(**rows));
	*members = calloc(n ? n : 1, sizeof(**members));
	if (!mem || !*rows || !*members) {
		free(mem);
		return -1;
	}
	json_array_foreach(listeners, i, l) {
		const json_t *rp = json_object_get(l, "reuseport");

		mem[i].l = l;
		mem[i].fam = gets(l, "family");
		mem[i].addr = gets(l, "address");
		mem[i].port = geti(l, "port", 0);
		mem[i].ifx = geti(l, "interface", 0);
		mem[i].grouped = json_is_object(rp);
		mem[i].index = mem[i].grouped ? geti(rp, "index", 0) : (long long)i;
	}
	qsort(mem, n, sizeof(*mem), member_cmp);
	for (i = 0; i < n;) {
		size_t e = i + 1;
		struct row *r = &(*rows)[nr++];

		while (e < n && same_group(&mem[i], &mem[e]))
			e++;
		r->m = *members + i;
		r->n = e - i;
		r->seq = nr;
		for (size_t k = i; k < e; k++)
			(*members)[k] = mem[k].l;
		group_vals(r, sampled);
		i = e;
	}
	free(mem);
	qsort(*rows, nr, sizeof(**rows), row_cmp);
	return (long)nr;
}

/* ---- processes ---- */

/* States worth a second look: the process is not taking connections. */
static bool state_stuck(const char *s)
{
	return s && (!strcmp(s, "stopped") || !strcmp(s, "tracing-stop") ||
		     !strcmp(s, "disk-sleep") || !strcmp(s, "zombie") || !strcmp(s, "dead"));
}

static int proc_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
	bool sa = state_stuck(gets(a, "state")), sb = state_stuck(gets(b, "state"));
	bool qa = json_is_true(json_object_get(a, "polls"));
	bool qb = json_is_true(json_object_get(b, "polls"));
	long long x = geti(a, "pid", 0), y = geti(b, "pid", 0);

	if (sa != sb)
		return sa ? -1 : 1;
	if (qa != qb)
		return qa ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The processes to show for members m[0..n): with only, the ones that
 * poll the socket when any does (a member's worker); one entry per pid,
 * stuck ones first.  Returns the count, -1 when out of memory. */
static long pick_procs(const json_t *const *m, size_t n, bool only, const json_t ***out)
{
	size_t total = 0, k = 0, w = 0;

	for (size_t i = 0; i < n; i++)
		total += json_array_size(json_object_get(m[i], "processes"));
	*out = calloc(total ? total : 1, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *procs = json_object_get(m[i], "processes"), *p;
		bool any = false;
		size_t j;

		json_array_foreach(procs, j, p)
			any |= json_is_true(json_object_get(p, "polls"));
		json_array_foreach(procs, j, p)
			if (json_is_object(p) && (!only || !any || json_is_true(json_object_get(p, "polls"))))
				(*out)[k++] = p;
	}
	qsort(*out, k, sizeof(**out), proc_cmp);
	/* one entry per pid: the first after sorting is the most telling */
	for (size_t i = 0; i < k; i++) {
		size_t j;

		for (j = 0; j < w; j++)
			if (geti((*out)[j], "pid", 0) == geti((*out)[i], "pid", -1))
				break;
		if (j == w)
			(*out)[w++] = (*out)[i];
	}
	return (long)w;
}

/* "nginx[1234] stopped fds 12/1024", escaped; the state in colour when
 * the process is stuck. */
static void print_proc(const json_t *p, bool color, FILE *out)
{
	const char *comm = gets(p, "comm"), *state = gets(p, "state");
	long long soft = geti(p, "nofile_soft", -1), fds = geti(p, "fds", -1);

	fputs_safe(comm ? comm : "?", out);
	fprintf(out, "[%lld]", geti(p, "pid", 0));
	if (state) {
		bool hot = color && state_stuck(state);

		fputs(hot ? " \033[1;31m" : " ", out);
		fputs_safe(state, out);
		if (hot)
			fputs("\033[0m", out);
	}
	if (fds >= 0 && soft >= 0)
		fprintf(out, " fds %lld/%lld", fds, soft);
	else if (fds >= 0)
		fprintf(out, " fds %lld", fds);
}

#define MAX_PROCS_SHOWN 3

static void print_procs(const json_t *const *m, size_t n, bool only, bool color, FILE *out)
{
	const json_t **p = NULL;
	long np = pick_procs(m, n, only, &p);

	if (np <= 0)
		fputc('-', out);
	for (long i = 0; i < np && i < MAX_PROCS_SHOWN; i++) {
		if (i)
			fputs(", ", out);
		print_proc(p[i], color, out);
	}
	if (np > MAX_PROCS_SHOWN)
		fprintf(out, " +%ld more", np - MAX_PROCS_SHOWN);
	free(p);
}

/* ---- text ---- */

/* "[::]:443", "0.0.0.0:80", with %IFINDEX when bound to an interface */
static void format_endpoint(const json_t *l, char *buf, size_t len)
{
	const char *addr = gets(l, "address"), *fam = gets(l, "family");
	char *esc = escape_display(addr ? addr : "?");
	long long ifx = geti(l, "interface", 0);
	char ifs[24] = "";

	if (ifx > 0)
		snprintf(ifs, sizeof(ifs), "%%%lld", ifx);
	if (fam && !strcmp(fam, "ipv6"))
		snprintf(buf, len, "[%s%s]:%lld", esc ? esc : "?", ifs, geti(l, "port", 0));
	else
		snprintf(buf, len, "%s%s:%lld", esc ? esc : "?", ifs, geti(l, "port", 0));
	free(esc);
}

void report_netns_cell(FILE *out, const struct listeners_opts *o)
{
	size_t w = o->netns_width > 0 ? (size_t)o->netns_width : 0, len;
	char *d, *cell;

	if (!o->netns)
		return;
	d = escape_display(o->netns);
	len = d ? strlen(d) + w + 2 : 0;
	cell = d ? malloc(len) : NULL;
	if (!cell) {
		fputs("? ", out);
		free(d);
		return;
	}
	text_cell(d, w, o->cut_netns, cell, len);
	/* a width of 0: the name and a blank all the same */
	fputs(w ? cell : d, out);
	if (!w)
		fputc(' ', out);
	free(cell);
	free(d);
}

static void print_row(FILE *out, const char *ep, const struct vals *v, bool shared, bool sampled,
		      bool color)
{
	char ql[48], fill[24], syn[24], drops[24], pk[24] = "-";
	const char *on = "", *off = "";

	if (v->limit >= 0)
		snprintf(ql, sizeof(ql), "%lld/%lld", v->queue, v->limit);
	else
		snprintf(ql, sizeof(ql), "%lld/?", v->queue);
	if (v->fill >= 0)
		snprintf(fill, sizeof(fill), "%lld%%", v->fill / 10);
	else
		snprintf(fill, sizeof(fill), "-");
	if (v->syn >= 0)
		snprintf(syn, sizeof(syn), "%lld%s", v->syn, shared ? "*" : "");
	else
		snprintf(syn, sizeof(syn), "-");
	if (v->drops >= 0)
		snprintf(drops, sizeof(drops), "%lld", v->drops);
	else
		snprintf(drops, sizeof(drops), "-");
	if (color && v->fill >= 1000)
		on = "\033[1;31m", off = "\033[0m";
	else if (color && (v->fill >= 800 || v->drops > 0))
		on = "\033[33m", off = "\033[0m";
	if (v->peak >= 0)
		snprintf(pk, sizeof(pk), "%lld", v->peak);
	if (sampled)
		fprintf(out, "%s%-28s %13s %6s %5s %8s %7s%s  ", on, ep, ql, pk, fill, syn, drops, off);
	else
		fprintf(out, "%s%-28s %13s %5s %8s %7s%s  ", on, ep, ql, fill, syn, drops, off);
}

static void print_header(const json_t *doc, bool sampled, FILE *out);

/* The note of a document whose sockets came from /proc/net/tcp. */
static void print_source(const json_t *doc, const struct listeners_opts *o, FILE *out)
{
	const json_t *sockets = json_object_get(doc, "sockets");
	const char *src = gets(sockets, "source");

	if (src && !strcmp(src, "proc")) {
		const char *why = gets(sockets, "fallback_reason");

		if (o->netns) {
			fputs_safe(o->netns, out);
			fputs(": ", out);
		}
		fputs("note: socket details from /proc/net/tcp (", out);
		fputs_safe(why ? why : "netlink unavailable", out);
		fputs("): no limits or drops\n", out);
	}
}

void report_listeners_header(FILE *out, bool sampled, const struct listeners_opts *o)
{
	if (o->netns_width > 0)
		fprintf(out, "%-*s ", o->netns_width, "NAMESPACE");
	print_header(NULL, sampled, out);
}

static void print_header(const json_t *doc, bool sampled, FILE *out)
{
	if (sampled) {
		const json_t *smp = json_object_get(doc, "sample");
		long long ms = geti(smp, "duration_ms", 0);
		char d[32];

		duration_format(ms > 0 ? (uint64_t)ms : 0, d, sizeof(d));
		fprintf(out, "Window of %s%s, %lld readings: PEAK is the longest accept queue seen,\n"
			"FILL and SYN-RECV their peaks, DROPS the packets dropped during the window.\n",
			d, json_is_true(json_object_get(smp, "cut_short")) ? " (cut short)" : "",
			geti(smp, "ticks", 0));
		fprintf(out, "%-28s %13s %6s %5s %8s %7s  %s\n", "LISTEN", "QUEUE/LIMIT", "PEAK", "FILL",
			"SYN-RECV", "DROPS", "PROCESS");
	} else {
		fprintf(out, "%-28s %13s %5s %8s %7s  %s\n", "LISTEN", "QUEUE/LIMIT", "FILL", "SYN-RECV",
			"DROPS", "PROCESS");
	}
}

/* A group expanded: its members, one row each in index order
 * ("127.0.0.1:8443 #1/4"), with the worker that polls each. */
static void print_members(const struct row *r, bool sampled, const struct listeners_opts *o,
			  FILE *out)
{
	for (size_t k = 0; k < r->n; k++) {
		const json_t *rp = json_object_get(r->m[k], "reuseport");
		char ep[128];
		struct vals v;
		size_t len;

		listener_vals(r->m[k], sampled, &v);
		format_endpoint(r->m[k], ep, sizeof(ep));
		len = strlen(ep);
		snprintf(ep + len, sizeof(ep) - len, " #%lld/%lld", geti(rp, "index", 0),
			 geti(rp, "members", 0));
		report_netns_cell(out, o);
		print_row(out, ep, &v, json_is_true(json_object_get(r->m[k], "syn_recv_shared")), sampled,
			  o->color);
		print_procs(&r->m[k], 1, true, o->color, out);
		fputc('\n', out);
	}
}

/* Listeners that queued or dropped during the window, then closed. */
static void print_vanished(const json_t *doc, const struct listeners_opts *o, FILE *out)
{
	const json_t *gone = json_object_get(json_object_get(doc, "sample"), "vanished"), *v;
	size_t i;

	json_array_foreach(gone, i, v) {
		const json_t *pk = json_object_get(v, "peak");
		char ep[96], ql[48];

		if (!i)
			fputs("Closed during the window:\n", out);
		format_endpoint(v, ep, sizeof(ep));
		snprintf(ql, sizeof(ql), "-/%lld", geti(v, "limit", 0));
		fprintf(out, "%-28s %13s %6lld %4lld%% %8lld %7lld  (closed)", ep, ql, geti(pk, "queue", 0),
			geti(pk, "fill", 0), geti(pk, "syn_recv", 0), geti(pk, "drops", 0));
		if (json_array_size(json_object_get(v, "processes"))) {
			fputc(' ', out);
			print_procs(&v, 1, false, o->color, out);
		}
		fputc('\n', out);
	}
}

void report_listeners_footer(FILE *out, unsigned seen, const struct listeners_opts *o)
{
	if ((seen & LISTENERS_GROUPS) && o->verbose)
		fputs("#I/N: socket I of a SO_REUSEPORT group of N, with the worker that polls it.\n", out);
	else if (seen & LISTENERS_GROUPS)
		fputs("(N sockets): a SO_REUSEPORT group, shown with the queue of its fullest socket and the "
		      "drops of all;\n--verbose lists each socket with the worker that polls it.\n", out);
}

unsigned report_listeners_text(const json_t *doc, FILE *out, const struct listeners_opts *o)
{
	const json_t *listeners = json_object_get(json_object_get(doc, "sockets"), "listeners");
	bool sampled = json_is_true(json_object_get(json_object_get(doc, "sample"), "listeners_sampled"));
	const json_t **members = NULL;
	struct row *rows = NULL;
	long nr = build_rows(listeners, sampled, &rows, &members);
	unsigned seen = 0;

	print_source(doc, o, out);
	if (!o->rows_only)
		print_header(doc, sampled, out);
	for (long i = 0; i < nr; i++) {
		const struct row *r = &rows[i];
		char ep[128];

		if (r->n > 1)
			seen |= LISTENERS_GROUPS;
		if (r->n > 1 && o->verbose) {
			print_members(r, sampled, o, out);
			continue;
		}
		format_endpoint(r->m[0], ep, sizeof(ep));
		if (r->n > 1) {
			size_t len = strlen(ep);

			snprintf(ep + len, sizeof(ep) - len, " (%zu sockets)", r->n);
		}
		report_netns_cell(out, o);
		print_row(out, ep, &r->v, r->n == 1 && json_is_true(json_object_get(r->m[0], "syn_recv_shared")),
			  sampled, o->color);
		print_procs(r->m, r->n, false, o->color, out);
		fputc('\n', out);
	}
	if (nr > 0)
		seen |= LISTENERS_ROWS;
	if (nr == 0 && !o->rows_only)
		fputs("(no listening TCP sockets)\n", out);
	if (!o->rows_only)
		report_listeners_footer(out, seen, o);
	if (sampled)
		print_vanished(doc, o, out);
	free(rows);
	free(members);
	return seen;
}

/* ---- JSON ---- */

json_t *report_listeners_json(const json_t *doc)
{
	const json_t *sockets = json_object_get(doc, "sockets"), *smp = json_object_get(doc, "sample");
	bool sampled = json_is_true(json_object_get(smp, "listeners_sampled"));
	json_t *out = json_object(), *arr = json_array();
	const json_t **members = NULL;
	struct row *rows = NULL;
	long nr = build_rows(json_object_get(sockets, "listeners"), sampled, &rows, &members);
	int err = 0;

	if (!out || !arr || nr < 0)
		goto fail;
	err |= json_object_set_new(out, "schema_version", json_integer(1));
	err |= json_object_set(out, "source", json_object_get(sockets, "source") ?: json_null());
	if (smp) {
		/* the window, without the counters' rates */
		json_t *w = json_deep_copy(smp);

		json_object_del(w, "deltas");
		json_object_del(w, "rates");
		err |= json_object_set_new(out, "sample", w);
	}
	/* one object per socket, members of a group too, fullest first */
	for (long i = 0; i < nr && !err; i++) {
		for (size_t k = 0; k < rows[i].n && !err; k++) {
			/* shallow: the values, processes included, are shared
			 * with the facts document */
			json_t *copy = json_copy((json_t *)rows[i].m[k]);
			struct vals v;

			listener_vals(rows[i].m[k], sampled, &v);
			if (copy && v.fill >= 0)
				err |= json_object_set_new(copy, "fill_percent", json_integer(v.fill / 10));
			err |= json_array_append_new(arr, copy);
		}
	}
	err |= json_object_set_new(out, "listeners", arr);
	arr = NULL;
	free(rows);
	free(members);
	if (err) {
		json_decref(out);
		return NULL;
	}
	return out;
fail:
	free(rows);
	free(members);
	json_decref(arr);
	json_decref(out);
	return NULL;
}

/* ---- for the other socket views ---- */

void report_sock_endpoint(const json_t *sock, char *buf, size_t len)
{
	format_endpoint(sock, buf, len);
}

void report_sock_procs(const json_t *sock, bool color, FILE *out)
{
	print_procs(&sock, 1, false, color, out);
}
