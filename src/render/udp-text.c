/* netknobs listeners --udp: the UDP sockets of a facts document, fullest
 * receive buffer and dropping first, as text or JSON.  The document may
 * come from elsewhere (--from): every number is read defensively and every
 * string escaped. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/duration.h"
#include "util/escape.h"

struct row {
	const json_t *s;
	size_t seq;             /* place in the facts (by port): the last tie-break */
	long long queue, rcvbuf, drops;
	long long fill;         /* tenths of a percent, -1 without a buffer size */
	bool connected;
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

/* queue * 1000 / rcvbuf without overflow (rcvbuf > 0, queue >= 0) */
static long long permille(long long queue, long long rcvbuf)
{
	long long r;

	if (!__builtin_mul_overflow(queue, 1000LL, &r))
		return r / rcvbuf;
	return (long long)((long double)queue * 1000 / rcvbuf);
}

static void row_vals(struct row *r, const json_t *s, size_t seq)
{
	r->s = s;
	r->seq = seq;
	r->queue = geti(s, "queue", 0);
	r->rcvbuf = geti(s, "rcvbuf", -1);
	r->drops = geti(s, "drops", -1);
	r->connected = json_is_true(json_object_get(s, "connected"));
	if (r->queue < 0)
		r->queue = 0;
	r->fill = r->rcvbuf > 0 ? permille(r->queue, r->rcvbuf) : -1;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->fill != y->fill)
		return x->fill > y->fill ? -1 : 1;
	if (x->drops != y->drops)
		return x->drops > y->drops ? -1 : 1;
	if (x->queue != y->queue)
		return x->queue > y->queue ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The rows of the "udp" array, sorted; NULL (and *n 0) when there are
 * none or memory runs out. */
static struct row *build_rows(const json_t *udp, size_t *n)
{
	size_t len = json_array_size(udp), i;
	struct row *rows = calloc(len ? len : 1, sizeof(*rows));
	const json_t *s;

	*n = 0;
	if (!rows)
		return NULL;
	json_array_foreach(udp, i, s)
		if (json_is_object(s))
			row_vals(&rows[(*n)++], s, i);
	qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

/* Bytes as people read a buffer size: 7488, 208K, 8M (rounded down). */
static void size_text(long long v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "?");
	else if (v < 10240)
		snprintf(buf, len, "%lld", v);
	else if (v < 10LL * 1024 * 1024)
		snprintf(buf, len, "%lldK", v / 1024);
	else
		snprintf(buf, len, "%lldM", v / (1024 * 1024));
}

/* A row worth showing: unconnected (a server's), or with something to
 * say; verbose shows all. */
static bool shown(const struct row *r, bool verbose)
{
	return verbose || !r->connected || r->queue > 0 || r->drops > 0;
}

static void print_row(const struct row *r, const struct listeners_opts *o, FILE *out)
{
	bool color = o->color;

	char ep[160], q[24], b[24], qb[56], fill[24], drops[24];
	const char *on = "", *off = "";

	report_sock_endpoint(r->s, ep, sizeof(ep));
	if (!strcmp(gets(r->s, "protocol") ? gets(r->s, "protocol") : "", "udplite")) {
		size_t l = strlen(ep);

		snprintf(ep + l, sizeof(ep) - l, " (UDP-Lite)");
	}
	if (r->connected) {
		const char *peer = gets(r->s, "peer");
		char *esc = escape_display(peer ? peer : "?");
		size_t l = strlen(ep);

		snprintf(ep + l, sizeof(ep) - l, " > %s", esc ? esc : "?");
		free(esc);
	}
	size_text(r->queue, q, sizeof(q));
	size_text(r->rcvbuf, b, sizeof(b));
	snprintf(qb, sizeof(qb), "%s/%s", q, b);
	if (r->fill >= 0)
		snprintf(fill, sizeof(fill), "%lld%%", r->fill / 10);
	else
		snprintf(fill, sizeof(fill), "-");
	if (r->drops >= 0)
		snprintf(drops, sizeof(drops), "%lld", r->drops);
	else
		snprintf(drops, sizeof(drops), "-");
	if (color && r->fill >= 900)
		on = "\033[1;31m", off = "\033[0m";
	else if (color && (r->fill >= 800 || r->drops > 0))
		on = "\033[33m", off = "\033[0m";
	report_netns_cell(out, o);
	fprintf(out, "%s%-36s %15s %5s %9s%s  ", on, ep, qb, fill, drops, off);
	report_sock_procs(r->s, color, out);
	fputc('\n', out);
}

/* With a sampling window: how the namespace's UDP drop counters grew. */
static void print_window(const json_t *doc, FILE *out)
{
	static const char *const names[] = { "RcvbufErrors", "MemErrors", "InErrors" };
	const json_t *smp = json_object_get(doc, "sample");
	const json_t *deltas = json_object_get(smp, "deltas");
	long long ms = geti(smp, "duration_ms", 0);
	bool any = false;
	char d[32];

	if (!json_is_object(smp) || ms <= 0)
		return;
	duration_format((uint64_t)ms, d, sizeof(d));
	fprintf(out, "During the %s window the namespace counted:", d);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long long v4 = geti(json_object_get(deltas, "Udp"), names[i], -1);
		long long v6 = geti(json_object_get(deltas, "Udp6"), names[i], -1);

		if (v4 < 0 && v6 < 0)
			continue;
		fprintf(out, "%s %s +%lld", any ? "," : "", names[i], (v4 > 0 ? v4 : 0) + (v6 > 0 ? v6 : 0));
		any = true;
	}
	fputs(any ? " (Udp and Udp6).\n" : " no UDP counters.\n", out);
}

void report_udp_header(FILE *out, const struct listeners_opts *o)
{
	if (o->netns_width > 0)
		fprintf(out, "%-*s ", o->netns_width, "NAMESPACE");
	fprintf(out, "%-36s %15s %5s %9s  %s\n", "UDP", "QUEUE/RCVBUF", "FILL", "DROPS", "PROCESS");
}

void report_udp_footer(FILE *out, unsigned seen, const struct listeners_opts *o)
{
	(void)o;
	if (seen & LISTENERS_HIDDEN)
		fputs("Connected sockets with nothing queued and no drops are not shown (--verbose shows them).\n", out);
	if (seen & LISTENERS_ROWS)
		fputs("QUEUE/RCVBUF: bytes waiting (with their buffer overhead) and the receive buffer; "
		      "DROPS: datagrams\ndropped since the socket was opened; ADDR > PEER: a connected socket.\n", out);
}

/* What is said of one namespace's sockets besides the rows: where they
 * came from, and how many were left out of the list. */
static void print_ns_note(FILE *out, const struct listeners_opts *o, const char *text)
{
	if (o->netns) {
		fputs_safe(o->netns, out);
		fputs(": ", out);
	}
	fputs(text, out);
}

unsigned report_udp_text(const json_t *doc, FILE *out, const struct listeners_opts *o)
{
	const json_t *sk = json_object_get(doc, "sockets");
	const json_t *udp = json_object_get(sk, "udp"), *st = json_object_get(sk, "udp_stats");
	size_t n = 0, hidden = 0;
	unsigned seen = 0;
	struct row *rows;

	if (!json_is_array(udp)) {
		print_ns_note(out, o, "(no UDP sockets in these facts: they could not be read, or the document is older)\n");
		return 0;
	}
	if (!strcmp(gets(st, "source") ? gets(st, "source") : "", "proc"))
		print_ns_note(out, o, "note: UDP sockets from /proc/net/udp: no receive buffer sizes\n");
	if (!o->rows_only) {
		print_window(doc, out);
		report_udp_header(out, o);
	}
	rows = build_rows(udp, &n);
	for (size_t i = 0; i < n; i++) {
		if (shown(&rows[i], o->verbose)) {
			print_row(&rows[i], o, out);
			seen |= LISTENERS_ROWS;
		} else {
			hidden++;
		}
	}
	free(rows);
	if (hidden)
		seen |= LISTENERS_HIDDEN;
	if (!o->rows_only) {
		if (n == 0)
			fputs("(no UDP sockets)\n", out);
		if (hidden)
			fprintf(out, "%zu connected socket(s) with nothing queued and no drops not shown (--verbose shows them).\n",
				hidden);
	}
	if (geti(st, "sockets", 0) > geti(st, "listed", 0)) {
		char line[256];

		snprintf(line, sizeof(line), "%lld of %lld UDP sockets listed (those that dropped or are fullest first); "
			 "%lld unlisted one(s) dropped datagrams.\n", geti(st, "listed", 0), geti(st, "sockets", 0),
			 geti(st, "unlisted_dropping", 0));
		print_ns_note(out, o, line);
	}
	if (!o->rows_only && n)
		report_udp_footer(out, LISTENERS_ROWS, o);
	return seen;
}

json_t *report_udp_json(const json_t *doc)
{
	const json_t *sk = json_object_get(doc, "sockets");
	const json_t *udp = json_object_get(sk, "udp"), *st = json_object_get(sk, "udp_stats");
	json_t *out = json_object(), *arr = json_array();
	size_t n = 0;
	struct row *rows = build_rows(udp, &n);
	int err = 0;

	if (!out || !arr || (!rows && json_array_size(udp))) {
		free(rows);
		json_decref(arr);
		json_decref(out);
		return NULL;
	}
	err |= json_object_set_new(out, "schema_version", json_integer(1));
	err |= json_object_set(out, "udp_stats", st ? (json_t *)st : json_null());
	for (size_t i = 0; i < n && !err; i++) {
		/* shallow: the values, processes included, are shared with
		 * the facts document */
		json_t *copy = json_copy((json_t *)rows[i].s);

		if (copy && rows[i].fill >= 0)
			err |= json_object_set_new(copy, "fill_percent", json_integer(rows[i].fill / 10));
		err |= copy ? json_array_append_new(arr, copy) : -1;
	}
	err |= json_object_set_new(out, "udp", arr);
	free(rows);
	if (err) {
		json_decref(out);
		return NULL;
	}
	return out;
}
