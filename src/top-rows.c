/* netknobs top: the rows of a frame (a SO_REUSEPORT group as one row),
 * sorted and filtered, and their text for the batch frames and the screen.
 * See top.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "top.h"
#include "util/array.h"
#include "util/duration.h"
#include "util/escape.h"

static const char *const sort_names[TOP_NSORTS] = { "drops", "fill", "syn-recv", "port", "process" };

const char *top_sort_name(enum top_sort s)
{
	return (unsigned)s < TOP_NSORTS ? sort_names[s] : "?";
}

int top_sort_parse(const char *name)
{
	for (int i = 0; i < TOP_NSORTS; i++)
		if (!strcmp(name, sort_names[i]))
			return i;
	return -1;
}

/* ---- building ---- */

static void row_endpoint(const struct watch_sock *s, size_t members, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?", ifs[16] = "", grp[24] = "";
	char *esc;

	if (!inet_ntop(s->ep.family, s->ep.addr, addr, sizeof(addr)))
		strcpy(addr, "?");
	if (s->ep.ifindex)
		snprintf(ifs, sizeof(ifs), "%%%u", s->ep.ifindex);
	if (members > 1)
		snprintf(grp, sizeof(grp), " (%zu)", members);
	esc = escape_display(addr);
	if (s->ep.family == AF_INET6)
		snprintf(buf, len, "[%s%s]:%u%s", esc ? esc : "?", ifs, s->ep.port, grp);
	else
		snprintf(buf, len, "%s%s:%u%s", esc ? esc : "?", ifs, s->ep.port, grp);
	free(esc);
}

static bool same_group(const struct watch_sock *a, const struct watch_sock *b)
{
	return a->reuseport_members && b->reuseport_members && a->ep.family == b->ep.family &&
	       a->ep.port == b->ep.port && a->ep.ifindex == b->ep.ifindex &&
	       !memcmp(a->ep.addr, b->ep.addr, sizeof(a->ep.addr));
}

static long permille(uint32_t queue, uint32_t limit)
{
	if (!limit)
		return queue ? 1000 : 0;
	return (long)((uint64_t)queue * 1000 / limit);
}

/* The numbers of row r from its members. */
static void row_numbers(struct top_row *r, const struct watch_frame *f)
{
	double dt = f->interval_ms ? (double)f->interval_ms / 1000.0 : 0;

	r->fill = -1;
	for (size_t k = r->first; k < r->first + r->n; k++) {
		const struct watch_sock *s = &f->s[k];
		long fill = s->has_limit ? permille(s->queue, s->limit) : -1;

		if (k == r->first || fill > r->fill || (fill == r->fill && s->queue > r->queue)) {
			r->queue = s->queue;
			r->limit = s->limit;
			r->has_limit = s->has_limit;
			r->fill = fill;
		}
		if (s->peak > r->peak)
			r->peak = s->peak;
		/* each member carries the group's total */
		if (s->syn_recv > r->syn)
			r->syn = s->syn_recv;
		if (s->has_drops) {
			r->has_drops = true;
			r->drops += s->drops_delta;
		}
		if (s->has_limit && (s->peak > s->limit || s->queue > s->limit))
			r->full = true;
	}
	r->dropped = r->drops > 0;
	r->has_drops = r->has_drops && dt > 0;
	r->drops_rate = r->has_drops ? (double)r->drops / dt : 0;
}

/* States that mean the process is not taking connections. */
static bool proc_stuck(const struct watch_proc *p)
{
	return p->gone || p->state == 'T' || p->state == 't' || p->state == 'D' || p->state == 'Z' ||
	       p->state == 'X';
}

struct owner_pick {
	const struct watch_proc *p;
	bool polls;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct owner_pick *x = a, *y = b;

	if (proc_stuck(x->p) != proc_stuck(y->p))
		return proc_stuck(x->p) ? -1 : 1;
	if (x->polls != y->polls)
		return x->polls ? -1 : 1;
	return x->p->pid < y->p->pid ? -1 : x->p->pid > y->p->pid;
}

#define TOP_PROCS_SHOWN 3

/* "nginx[12] stopped, nginx[11] sleeping +2 more": the owners of the
 * members, one entry per process, stuck ones first, then those polling. */
static int row_procs(struct top_row *r, const struct watch_frame *f)
{
	struct owner_pick *pk = NULL;
	size_t n = 0, cap = 0, len = 0;
	char *out;

	for (size_t k = r->first; k < r->first + r->n; k++) {
		size_t nl;
		const struct watch_link *l = watch_owners(f, f->s[k].inode, &nl);

		for (size_t j = 0; j < nl; j++) {
			size_t i;

			for (i = 0; i < n && pk[i].p != &f->procs[l[j].proc]; i++)
				;
			if (i < n) {
				pk[i].polls |= l[j].polls;
				continue;
			}
			if (ARRAY_GROW(pk, cap, n, 8) < 0) {
				free(pk);
				return -ENOMEM;
			}
			pk[n++] = (struct owner_pick){ &f->procs[l[j].proc], l[j].polls };
		}
	}
	if (!n) {
		free(pk);
		return 0;
	}
	qsort(pk, n, sizeof(*pk), pick_cmp);
	out = malloc(TOP_LINE_MAX);
	if (!out) {
		free(pk);
		return -ENOMEM;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n && i < TOP_PROCS_SHOWN && len < TOP_LINE_MAX; i++) {
		char *c = escape_display(pk[i].p->comm ? pk[i].p->comm : "?");

		len += (size_t)snprintf(out + len, TOP_LINE_MAX - len, "%s%s[%d] %s", i ? ", " : "",
					c ? c : "?", pk[i].p->pid, watch_proc_state(pk[i].p));
		free(c);
	}
	if (n > TOP_PROCS_SHOWN && len < TOP_LINE_MAX)
		snprintf(out + len, TOP_LINE_MAX - len, " +%zu more", n - TOP_PROCS_SHOWN);
	free(pk);
	r->procs = out;
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int row_cmp_port(const struct top_row *x, const struct top_row *y)
{
	/* rows were made in endpoint order (port first) */
	return cmp_u64(x->first, y->first);
}

static int row_cmp(const void *a, const void *b, void *data)
{
	const struct top_row *x = a, *y = b;
	enum top_sort s = *(const enum top_sort *)data;
	int c = 0;

	switch (s) {
	case TOP_SORT_DROPS:
		if ((c = -cmp_u64(x->drops, y->drops)))
			return c;
		/* then by fill */
		__attribute__((fallthrough));
	case TOP_SORT_FILL:
		if (x->fill != y->fill)
			return x->fill > y->fill ? -1 : 1;
		if ((c = -cmp_u64(x->peak, y->peak)) || (c = -cmp_u64(x->queue, y->queue)))
			return c;
		break;
	case TOP_SORT_SYN:
		if ((c = -cmp_u64(x->syn, y->syn)))
			return c;
		break;
	case TOP_SORT_PROCESS:
		if (!x->procs != !y->procs)
			return x->procs ? -1 : 1;
		if (x->procs && (c = strcmp(x->procs, y->procs)))
			return c;
		break;
	default:
		break;
	}
	return row_cmp_port(x, y);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool row_matches(const struct top_row *r, const struct watch_frame *f, const char *filter)
{
	if (!filter || !*filter)
		return true;
	if (all_digits(filter))
		return strtoul(filter, NULL, 10) == f->s[r->first].ep.port;
	return strcasestr(r->addr, filter) || (r->procs && strcasestr(r->procs, filter));
}

static void row_clear(struct top_row *r)
{
	free(r->procs);
	r->procs = NULL;
}

void top_rows_free(struct top_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		row_clear(&rows->r[i]);
	free(rows->r);
	memset(rows, 0, sizeof(*rows));
}

int top_rows_build(struct top_rows *rows, const struct watch_frame *f, enum top_sort sort,
		   const char *filter)
{
	for (size_t i = 0; i < rows->n; i++)
		row_clear(&rows->r[i]);
	rows->n = rows->total = 0;
	for (size_t i = 0; i < f->n;) {
		size_t e = i + 1;
		struct top_row *r;

		while (e < f->n && same_group(&f->s[i], &f->s[e]))
			e++;
		if (ARRAY_GROW(rows->r, rows->cap, rows->n, 64) < 0)
			return -ENOMEM;
		r = &rows->r[rows->n];
		memset(r, 0, sizeof(*r));
		r->first = i;
		r->n = e - i;
		i = e;
		rows->total++;
		row_numbers(r, f);
		row_endpoint(&f->s[r->first], r->n, r->addr, sizeof(r->addr));
		if (row_procs(r, f) < 0)
			return -ENOMEM;
		if (!row_matches(r, f, filter)) {
			row_clear(r);
			continue;
		}
		rows->n++;
	}
	if (rows->n > 1)
		qsort_r(rows->r, rows->n, sizeof(*rows->r), row_cmp, &sort);
	return 0;
}

/* ---- text ---- */

static void fmt_rate(const struct watch_frame *f, int c, char *buf, size_t len)
{
	if (f->has_rate[c])
		snprintf(buf, len, "%.1f", f->rate[c]);
	else
		snprintf(buf, len, "-");
}

static void fmt_sysctl(long long v, char *buf, size_t len)
{
	if (v >= 0)
		snprintf(buf, len, "%lld", v);
	else
		snprintf(buf, len, "?");
}

/* "SYN-RECV 2s ago, every 3s" */
static void syn_note(const struct watch_frame *f, char *buf, size_t len)
{
	char a[32], b[32];

	if (f->syn_unknown) {
		snprintf(buf, len, "SYN-RECV not counted (netlink failed)");
		return;
	}
	duration_format(f->syn_every_ms > 1000 ? f->syn_every_ms : 1000, b, sizeof(b));
	if (f->syn_counted) {
		snprintf(buf, len, "SYN-RECV counted now (at most every %s)", b);
		return;
	}
	duration_format(f->syn_age_ms ? f->syn_age_ms : 1, a, sizeof(a));
	snprintf(buf, len, "SYN-RECV counted %s ago (at most every %s)", a, b);
}

void top_header(const struct watch_frame *f, const struct top_rows *rows,
		const struct top_status *st, char hdr[TOP_HEADER_LINES][TOP_LINE_MAX])
{
	char r[WATCH_NCOUNTERS][32], s[WATCH_NSYSCTLS][32], d[32], when[16], syn[128], frame[64] = "";
	char *ns = st->netns ? escape_display(st->netns) : NULL, *flt = NULL;
	time_t now = time(NULL);
	struct tm tm;

	for (int i = 0; i < WATCH_NCOUNTERS; i++)
		fmt_rate(f, i, r[i], sizeof(r[i]));
	for (int i = 0; i < WATCH_NSYSCTLS; i++)
		fmt_sysctl(f->sysctl[i], s[i], sizeof(s[i]));
	duration_format(st->delay_ms, d, sizeof(d));
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (st->frames)
		snprintf(frame, sizeof(frame), "  frame %lu/%lu", st->frame, st->frames);
	else if (st->frame)
		snprintf(frame, sizeof(frame), "  frame %lu", st->frame);
	if (st->filter && *st->filter)
		flt = escape_display(st->filter);
	snprintf(hdr[0], TOP_LINE_MAX,
		 "netknobs top - %s%s  netns %s  every %s%s  listeners %zu, rows %zu of %zu  sort %s%s%s%s",
		 when, st->paused ? "  PAUSED" : "", ns ? ns : "(own)", d, frame, f->n, rows->n,
		 rows->total, top_sort_name(st->sort), flt ? "  filter " : "", flt ? flt : "",
		 f->owners_unknown ? "  owners unknown" : "");
	snprintf(hdr[1], TOP_LINE_MAX,
		 "ListenOverflows/s %s  ListenDrops/s %s  TCPReqQFullDrop/s %s  SyncookiesSent/s %s  "
		 "softnet drops/s %s (host)",
		 r[WATCH_LISTEN_OVERFLOWS], r[WATCH_LISTEN_DROPS], r[WATCH_REQQ_FULL_DROP],
		 r[WATCH_SYNCOOKIES_SENT], r[WATCH_SOFTNET_DROPPED]);
	syn_note(f, syn, sizeof(syn));
	snprintf(hdr[2], TOP_LINE_MAX, "somaxconn %s  tcp_syncookies %s  tcp_max_syn_backlog %s  %s",
		 s[WATCH_SOMAXCONN], s[WATCH_SYNCOOKIES], s[WATCH_MAX_SYN_BACKLOG], syn);
	free(ns);
	free(flt);
}

#define TOP_FMT "%c %-28s %13s %6s %5s %8s %8s  %s"

const char *top_columns(void)
{
	return "  ADDRESS                        QUEUE/LIMIT   PEAK  FILL SYN-RECV  DROPS/S  PROCESS";
}

void top_row_line(const struct top_row *r, char *buf, size_t len)
{
	char ql[32], peak[16], fill[24], syn[24], drops[48];
	char mark = r->dropped ? '!' : r->full ? '+' : ' ';

	if (r->has_limit)
		snprintf(ql, sizeof(ql), "%u/%u", r->queue, r->limit);
	else
		snprintf(ql, sizeof(ql), "%u/?", r->queue);
	snprintf(peak, sizeof(peak), "%u", r->peak);
	if (r->fill >= 0)
		snprintf(fill, sizeof(fill), "%ld%%", r->fill / 10);
	else
		snprintf(fill, sizeof(fill), "-");
	snprintf(syn, sizeof(syn), "%llu", (unsigned long long)r->syn);
	if (r->has_drops)
		snprintf(drops, sizeof(drops), "%.1f", r->drops_rate);
	else
		snprintf(drops, sizeof(drops), "-");
	snprintf(buf, len, TOP_FMT, mark, r->addr, ql, peak, fill, syn, drops, r->procs ? r->procs : "-");
}

int top_print_frame(FILE *out, const struct watch_frame *f, const struct top_rows *rows,
		    const struct top_status *st)
{
	char lines[TOP_HEADER_LINES][TOP_LINE_MAX], buf[TOP_LINE_MAX + 128];

	top_header(f, rows, st, lines);
	for (int i = 0; i < TOP_HEADER_LINES; i++)
		fprintf(out, "%s\n", lines[i]);
	fprintf(out, "\n%s\n", top_columns());
	for (size_t i = 0; i < rows->n; i++) {
		top_row_line(&rows->r[i], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
	if (!rows->n)
		fputs(rows->total ? "(no listener matches the filter)\n" : "(no listening TCP sockets)\n", out);
	fputc('\n', out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
