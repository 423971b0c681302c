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
#include "util/wrap.h"

static const char *const sort_names[TOP_NSORTS] = { "drops", "fill", "syn-recv", "port", "process",
								 "netns" };

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
static void row_numbers(struct top_row *r)
{
	const struct watch_frame *f = r->f;
	double dt = f->interval_ms ? (double)f->interval_ms / 1000.0 : 0;

	r->fill = -1;
	r->has_syn = !f->syn_unknown;
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
static int row_procs(struct top_row *r)
{
	const struct watch_frame *f = r->f;
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
	const struct sock_ep *a, *b;
	int c;

	/* the rows of a frame were made in endpoint order (port first) */
	if (x->f == y->f)
		return cmp_u64(x->first, y->first);
	a = &x->f->s[x->first].ep;
	b = &y->f->s[y->first].ep;
	if ((c = cmp_u64(a->port, b->port)) || (c = cmp_u64(a->family, b->family)) ||
	    (c = memcmp(a->addr, b->addr, sizeof(a->addr))) || (c = cmp_u64(a->ifindex, b->ifindex)))
		return c;
	return cmp_u64(x->ns, y->ns);
}

static int row_cmp_netns(const struct top_row *x, const struct top_row *y)
{
	int c;

	if (x->netns && y->netns && (c = strcmp(x->netns, y->netns)))
		return c;
	return cmp_u64(x->ns, y->ns);
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
	case TOP_SORT_NETNS:
		if ((c = row_cmp_netns(x, y)))
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

static bool row_matches(const struct top_row *r, const char *filter)
{
	if (!filter || !*filter)
		return true;
	if (all_digits(filter))
		return strtoul(filter, NULL, 10) == r->f->s[r->first].ep.port;
	return strcasestr(r->addr, filter) || (r->procs && strcasestr(r->procs, filter)) ||
	       (r->netns && strcasestr(r->netns, filter));
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

/* The rows of namespace k's frame, appended. */
static int rows_of(struct top_rows *rows, const struct top_ns *ns, size_t k, const char *filter)
{
	const struct watch_frame *f = ns[k].f;

	for (size_t i = 0; i < f->n;) {
		size_t e = i + 1;
		struct top_row *r;

		while (e < f->n && same_group(&f->s[i], &f->s[e]))
			e++;
		if (ARRAY_GROW(rows->r, rows->cap, rows->n, 64) < 0)
			return -ENOMEM;
		r = &rows->r[rows->n];
		memset(r, 0, sizeof(*r));
		r->f = f;
		r->netns = ns[k].name;
		r->ns = k;
		r->first = i;
		r->n = e - i;
		i = e;
		rows->total++;
		if (r->netns && (int)text_columns(r->netns) > rows->netns_width)
			rows->netns_width = (int)text_columns(r->netns);
		row_numbers(r);
		row_endpoint(&f->s[r->first], r->n, r->addr, sizeof(r->addr));
		if (row_procs(r) < 0)
			return -ENOMEM;
		if (!row_matches(r, filter)) {
			row_clear(r);
			continue;
		}
		rows->n++;
	}
	return 0;
}

int top_rows_build(struct top_rows *rows, const struct top_ns *ns, size_t nns, enum top_sort sort,
		   const char *filter)
{
	bool named = false;

	for (size_t i = 0; i < rows->n; i++)
		row_clear(&rows->r[i]);
	rows->n = rows->total = 0;
	rows->netns_width = 0;
	for (size_t k = 0; k < nns; k++) {
		named |= ns[k].name != NULL;
		if (ns[k].f && rows_of(rows, ns, k, filter) < 0)
			return -ENOMEM;
	}
	if (named && rows->netns_width < (int)strlen("NETNS"))
		rows->netns_width = (int)strlen("NETNS");
	if (rows->netns_width > TOP_NETNS_MAX)
		rows->netns_width = TOP_NETNS_MAX;
	if (rows->n > 1)
		qsort_r(rows->r, rows->n, sizeof(*rows->r), row_cmp, &sort);
	return 0;
}

/* ---- text ---- */

/* What the header shows of several frames: the rates summed, the limits'
 * range, the oldest SYN-RECV count. */
struct top_sum {
	double rate[WATCH_NCOUNTERS];
	bool has_rate[WATCH_NCOUNTERS];
	long long lo[WATCH_NSYSCTLS], hi[WATCH_NSYSCTLS];
	size_t listeners, frames, syn_unknown, syn_waiting;
	uint64_t syn_age_ms, syn_every_ms;
	bool syn_counted, owners_unknown;
	const char *most;               /* the name with the most ListenDrops/s (> 0) */
	double most_rate;
};

static void top_sum(const struct top_ns *ns, size_t nns, struct top_sum *s)
{
	memset(s, 0, sizeof(*s));
	s->syn_counted = true;
	for (int i = 0; i < WATCH_NSYSCTLS; i++)
		s->lo[i] = s->hi[i] = -2;       /* none yet */
	for (size_t k = 0; k < nns; k++) {
		const struct watch_frame *f = ns[k].f;

		if (!f)
			continue;
		s->frames++;
		s->listeners += f->n;
		s->owners_unknown |= f->owners_unknown;
		for (int c = 0; c < WATCH_NCOUNTERS; c++) {
			if (!f->has_rate[c])
				continue;
			s->has_rate[c] = true;
			s->rate[c] += f->rate[c];
		}
		if (f->has_rate[WATCH_LISTEN_DROPS] && f->rate[WATCH_LISTEN_DROPS] > s->most_rate) {
			s->most_rate = f->rate[WATCH_LISTEN_DROPS];
			s->most = ns[k].name;
		}
		for (int i = 0; i < WATCH_NSYSCTLS; i++) {
			long long v = f->sysctl[i];

			/* unknown (-1) sorts below every value: "?-4096" */
			if (s->lo[i] == -2 || v < s->lo[i])
				s->lo[i] = v;
			if (s->hi[i] == -2 || v > s->hi[i])
				s->hi[i] = v;
		}
		if (f->syn_unknown) {
			if (f->syn_waiting)
				s->syn_waiting++;
			else
				s->syn_unknown++;
			continue;
		}
		s->syn_counted &= f->syn_counted;
		if (f->syn_age_ms > s->syn_age_ms)
			s->syn_age_ms = f->syn_age_ms;
		if (f->syn_every_ms > s->syn_every_ms)
			s->syn_every_ms = f->syn_every_ms;
	}
}

static void fmt_rate(const struct top_sum *s, int c, char *buf, size_t len)
{
	if (s->has_rate[c])
		snprintf(buf, len, "%.1f", s->rate[c]);
	else
		snprintf(buf, len, "-");
}

/* A limit, or its range over the namespaces: "4096", "128-4096", "?" */
static void fmt_sysctl(const struct top_sum *s, int i, char *buf, size_t len)
{
	char a[24] = "?", b[24] = "?";

	if (s->lo[i] >= 0)
		snprintf(a, sizeof(a), "%lld", s->lo[i]);
	if (s->hi[i] >= 0)
		snprintf(b, sizeof(b), "%lld", s->hi[i]);
	if (s->lo[i] == s->hi[i])
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s-%s", a, b);
}

/* "SYN-RECV counted 2s ago (at most every 3s)" */
static void syn_note(const struct top_sum *s, bool all, char *buf, size_t len)
{
	char a[32], b[32], un[64] = "";

	if (s->syn_unknown + s->syn_waiting == s->frames) {
		snprintf(buf, len, "SYN-RECV not counted %s", s->syn_unknown ? "(netlink failed)" : "yet");
		return;
	}
	if (s->syn_unknown)
		snprintf(un, sizeof(un), "; not in %zu namespace%s (netlink failed)", s->syn_unknown,
			 s->syn_unknown > 1 ? "s" : "");
	else if (s->syn_waiting)
		snprintf(un, sizeof(un), "; not yet in %zu namespace%s", s->syn_waiting,
			 s->syn_waiting > 1 ? "s" : "");
	duration_format(s->syn_every_ms > 1000 ? s->syn_every_ms : 1000, b, sizeof(b));
	if (s->syn_counted) {
		snprintf(buf, len, "SYN-RECV counted now (at most every %s)%s", b, un);
		return;
	}
	duration_format(s->syn_age_ms ? s->syn_age_ms : 1, a, sizeof(a));
	snprintf(buf, len, "SYN-RECV counted %s%s ago (at most every %s)%s", all ? "up to " : "", a, b, un);
}

/* "netns web", "netns (own)", "netns all (20 of 21 read; 1 not entered; 2 gone)" */
static void netns_what(const struct top_status *st, const struct top_sum *s, char *buf, size_t len)
{
	char *ns;
	int n;

	if (!st->all) {
		ns = st->netns ? escape_display(st->netns) : NULL;
		snprintf(buf, len, "netns %s", ns ? ns : "(own)");
		free(ns);
		return;
	}
	n = snprintf(buf, len, "netns all (%zu of %zu read", s->frames, st->namespaces);
	if (st->denied && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "; %zu not entered", st->denied);
	if (st->unread && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "; %zu unreadable", st->unread);
	if (st->gone && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "; %lu gone", st->gone);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ")");
}

void top_header(const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		const struct top_status *st, char hdr[TOP_HEADER_LINES][TOP_LINE_MAX])
{
	char r[WATCH_NCOUNTERS][32], s[WATCH_NSYSCTLS][48], d[32], when[16], syn[160], frame[64] = "";
	char what[160], sums[TOP_LINE_MAX / 2] = "";
	char *flt = NULL;
	time_t now = time(NULL);
	struct top_sum sum;
	struct tm tm;

	top_sum(ns, nns, &sum);
	for (int i = 0; i < WATCH_NCOUNTERS; i++)
		fmt_rate(&sum, i, r[i], sizeof(r[i]));
	for (int i = 0; i < WATCH_NSYSCTLS; i++)
		fmt_sysctl(&sum, i, s[i], sizeof(s[i]));
	duration_format(st->delay_ms, d, sizeof(d));
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (st->frames)
		snprintf(frame, sizeof(frame), "  frame %lu/%lu", st->frame, st->frames);
	else if (st->frame)
		snprintf(frame, sizeof(frame), "  frame %lu", st->frame);
	if (st->filter && *st->filter)
		flt = escape_display(st->filter);
	netns_what(st, &sum, what, sizeof(what));
	if (st->all && sum.most) {
		/* a long name cut with "...", so that the rate is still said */
		char most[4 * TOP_NETNS_SCREEN + 8];

		if (text_columns(sum.most) > TOP_NETNS_SCREEN) {
			text_cell(sum.most, TOP_NETNS_SCREEN, true, most, sizeof(most));
			most[strlen(most) - 1] = '\0';     /* the cell's blank */
		} else {
			snprintf(most, sizeof(most), "%s", sum.most);
		}
		snprintf(sums, sizeof(sums), " (sums; most ListenDrops/s: %s %.1f)", most, sum.most_rate);
	}
	else if (st->all)
		snprintf(sums, sizeof(sums), " (sums)");
	snprintf(hdr[0], TOP_LINE_MAX,
		 "netknobs top - %s%s  %s  every %s%s  listeners %zu, rows %zu of %zu  sort %s%s%s%s",
		 when, st->paused ? "  PAUSED" : "", what, d, frame, sum.listeners, rows->n, rows->total,
		 top_sort_name(st->sort), flt ? "  filter " : "", flt ? flt : "",
		 sum.owners_unknown ? "  owners unknown" : "");
	snprintf(hdr[1], TOP_LINE_MAX,
		 "ListenOverflows/s %s  ListenDrops/s %s  TCPReqQFullDrop/s %s  SyncookiesSent/s %s%s  "
		 "softnet drops/s %s (host)",
		 r[WATCH_LISTEN_OVERFLOWS], r[WATCH_LISTEN_DROPS], r[WATCH_REQQ_FULL_DROP],
		 r[WATCH_SYNCOOKIES_SENT], sums, r[WATCH_SOFTNET_DROPPED]);
	syn_note(&sum, st->all, syn, sizeof(syn));
	snprintf(hdr[2], TOP_LINE_MAX, "somaxconn %s  tcp_syncookies %s  tcp_max_syn_backlog %s  %s",
		 s[WATCH_SOMAXCONN], s[WATCH_SYNCOOKIES], s[WATCH_MAX_SYN_BACKLOG], syn);
	free(flt);
}

#define TOP_FMT "%c %s%-28s %13s %6s %5s %8s %8s  %s"

/* name in width columns and a blank: padded, or cut with "..." at its
 * end; "" when width is 0 */
static void netns_cell(const char *name, int width, char *buf, size_t len)
{
	text_cell(name ? name : "", width > 0 ? (size_t)width : 0, true, buf, len);
}

void top_columns(int netns_width, char *buf, size_t len)
{
	char ns[TOP_LINE_MAX];

	netns_cell("NETNS", netns_width, ns, sizeof(ns));
	snprintf(buf, len, "  %sADDRESS                        QUEUE/LIMIT   PEAK  FILL SYN-RECV  DROPS/S  PROCESS", ns);
}

void top_row_line(const struct top_row *r, int netns_width, char *buf, size_t len)
{
	char ql[32], peak[16], fill[24], syn[24], drops[48], ns[TOP_LINE_MAX];
	char mark = r->dropped ? '!' : r->full ? '+' : ' ';

	netns_cell(r->netns, netns_width, ns, sizeof(ns));
	if (r->has_limit)
		snprintf(ql, sizeof(ql), "%u/%u", r->queue, r->limit);
	else
		snprintf(ql, sizeof(ql), "%u/?", r->queue);
	snprintf(peak, sizeof(peak), "%u", r->peak);
	if (r->fill >= 0)
		snprintf(fill, sizeof(fill), "%ld%%", r->fill / 10);
	else
		snprintf(fill, sizeof(fill), "-");
	if (r->has_syn)
		snprintf(syn, sizeof(syn), "%llu", (unsigned long long)r->syn);
	else
		snprintf(syn, sizeof(syn), "-");
	if (r->has_drops)
		snprintf(drops, sizeof(drops), "%.1f", r->drops_rate);
	else
		snprintf(drops, sizeof(drops), "-");
	snprintf(buf, len, TOP_FMT, mark, ns, r->addr, ql, peak, fill, syn, drops, r->procs ? r->procs : "-");
}

int top_print_frame(FILE *out, const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		    const struct top_status *st)
{
	char lines[TOP_HEADER_LINES][TOP_LINE_MAX], buf[2 * TOP_LINE_MAX + 128];

	top_header(ns, nns, rows, st, lines);
	for (int i = 0; i < TOP_HEADER_LINES; i++)
		fprintf(out, "%s\n", lines[i]);
	top_columns(rows->netns_width, buf, sizeof(buf));
	fprintf(out, "\n%s\n", buf);
	for (size_t i = 0; i < rows->n; i++) {
		top_row_line(&rows->r[i], rows->netns_width, buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
	if (!rows->n)
		fputs(rows->total ? "(no listener matches the filter)\n"
			: st->all ? "(no listening TCP sockets in any network namespace read)\n"
			: "(no listening TCP sockets)\n", out);
	fputc('\n', out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}
