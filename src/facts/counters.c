/* Kernel counters: the SNMP/MIB files of /proc/net, sockstat and
 * softnet_stat.  Parsers work on text only; counters_collect() reads the
 * files below the root and records what it could not use as notes. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/counters.h"
#include "facts/facts.h"
#include "util/array.h"
#include "util/fileio.h"

/* Bounded reads.  The MIB files are a few KiB.  softnet_stat has one row of
 * at most 15 * 9 = 135 bytes per online CPU: 2 MiB leaves room for 8192 CPUs
 * (the largest NR_CPUS of distribution kernels). */
#define COUNTERS_MAX_FILE	(1024 * 1024)
#define COUNTERS_MAX_SOFTNET	(2 * 1024 * 1024)

#define COUNTERS_NAME_MAX	64	/* longest prefix or counter name accepted */
#define SOFTNET_MAX_COLUMNS	32

/* ---- text helpers ---- */

struct counters_lines {
	char *buf;	/* writable copy of the text */
	char **line;	/* NUL-terminated lines inside buf, without '\n' */
	size_t n;
};

struct counters_tokens {
	char **v;
	size_t n, cap;
};

static void counters_lines_free(struct counters_lines *l)
{
	free(l->buf);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

static int counters_lines_split(const char *text, struct counters_lines *l)
{
	size_t cap = 0;
	char *p;

	memset(l, 0, sizeof(*l));
	l->buf = strdup(text);
	if (!l->buf)
		return -ENOMEM;
	for (p = l->buf; *p;) {
		char *nl = strchr(p, '\n');

		if (ARRAY_GROW(l->line, cap, l->n, 64) < 0) {
			counters_lines_free(l);
			return -ENOMEM;
		}
		l->line[l->n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return 0;
}

static bool counters_blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* Index of the first non-blank line at or after i, or l->n. */
static size_t counters_next_line(const struct counters_lines *l, size_t i)
{
	while (i < l->n && counters_blank(l->line[i]))
		i++;
	return i;
}

/* Split s in place at blanks (spaces and tabs). */
static int counters_tokens_split(char *s, struct counters_tokens *t)
{
	t->n = 0;
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			return 0;
		if (ARRAY_GROW(t->v, t->cap, t->n, 64) < 0)
			return -ENOMEM;
		t->v[t->n++] = s;
		s += strcspn(s, " \t");
		if (!*s)
			return 0;
		*s++ = '\0';
	}
}

static bool counters_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool counters_alnum(char c)
{
	return counters_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Names the kernel prints: a letter, then letters, digits or '_'. */
static bool counters_name_ok(const char *s)
{
	size_t i;

	if (!counters_alpha(s[0]))
		return false;
	for (i = 1; s[i]; i++)
		if (!counters_alnum(s[i]) || i >= COUNTERS_NAME_MAX)
			return false;
	return true;
}

/* "TcpExt: ..." -> prefix "TcpExt" copied into buf, *rest = offset just
 * after the ':'.  The line itself is not modified. */
static int counters_split_prefix(const char *line, char buf[COUNTERS_NAME_MAX + 1],
				 size_t *rest)
{
	size_t n = 0;

	if (!counters_alpha(line[0]))
		return -EINVAL;
	while (counters_alnum(line[n]))
		n++;
	if (line[n] != ':' || n > COUNTERS_NAME_MAX)
		return -EINVAL;
	memcpy(buf, line, n);
	buf[n] = '\0';
	*rest = n + 1;
	return 0;
}

/* A short printable excerpt of untrusted text for messages. */
static const char *counters_shown(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i])
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
	return buf;
}

/* A decimal counter as JSON: an integer, or a decimal string above
 * INT64_MAX.  -EINVAL (not a number), -ERANGE (beyond 64 bits) or
 * -ENOMEM. */
static int counters_value(const char *s, json_t **out)
{
	const char *d = s + (s[0] == '-');
	char *end;

	if (!*d || strspn(d, "0123456789") != strlen(d))
		return -EINVAL;
	errno = 0;
	if (s[0] == '-') {
		long long v = strtoll(s, &end, 10);

		if (errno == ERANGE)
			return -ERANGE;
		*out = json_integer(v);
	} else {
		unsigned long long u = strtoull(s, &end, 10);

		if (errno == ERANGE)
			return -ERANGE;
		if (u <= INT64_MAX) {
			*out = json_integer((json_int_t)u);
		} else {
			char buf[24];

			snprintf(buf, sizeof(buf), "%llu", u);
			*out = json_string(buf);
		}
	}
	return *out ? 0 : -ENOMEM;
}

/* ---- problems found while parsing ---- */

struct counters_err {
	char *err;
	size_t errlen;
	unsigned n;		/* problems seen */
	json_t *dropped;	/* prefix -> true, in the order found */
};

static void counters_errcat(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void counters_errcat(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strnlen(err, errlen);
	va_list ap;

	if (used + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

/* Record a problem; prefix (may be NULL) is dropped from the result. */
static void counters_problem(struct counters_err *e, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void counters_problem(struct counters_err *e, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	if (e->n++ == 0 && e->errlen) {
		va_start(ap, fmt);
		vsnprintf(e->err, e->errlen, fmt, ap);
		va_end(ap);
	}
	if (prefix)
		json_object_set_new(e->dropped, prefix, json_true());
}

static bool counters_is_dropped(const struct counters_err *e, const char *prefix)
{
	return json_object_get(e->dropped, prefix) != NULL;
}

/* Move the prefixes of tmp that had no problem into out. */
static int counters_commit(json_t *tmp, json_t *out, struct counters_err *e)
{
	const char *prefix;
	json_t *obj;

	json_object_foreach(tmp, prefix, obj) {
		if (counters_is_dropped(e, prefix))
			continue;
		if (json_object_get(out, prefix)) {
			counters_problem(e, prefix, "%s was already read", prefix);
			continue;
		}
		if (json_object_set(out, prefix, obj) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* 0 when there was no problem, else -EINVAL with the message completed. */
static int counters_finish(struct counters_err *e)
{
	const char *prefix;
	json_t *v;
	bool first = true;

	if (!e->n)
		return 0;
	if (e->n > 1)
		counters_errcat(e->err, e->errlen, " (and %u more problem%s)", e->n - 1,
				e->n > 2 ? "s" : "");
	json_object_foreach(e->dropped, prefix, v) {
		counters_errcat(e->err, e->errlen, "%s%s", first ? "; dropped " : ", ", prefix);
		first = false;
	}
	return -EINVAL;
}

static int counters_structure(char *err, size_t errlen, size_t lineno, const char *line,
			      const char *what)
{
	char shown[40];

	snprintf(err, errlen, "line %zu: \"%s\" is not %s", lineno,
		 counters_shown(line, shown, sizeof(shown)), what);
	return -EINVAL;
}

/* ---- the driver of the line-based files ---- */

/* A file being parsed: its lines, the prefixes read so far (committed to
 * the caller's object at the end, less those with a problem), scratch
 * token lists. */
struct counters_parse {
	struct counters_err e;
	struct counters_lines l;
	json_t *tmp;
	struct counters_tokens t, t2;
};

/* Parse line *i (and those that belong with it) into p->tmp, moving *i
 * past them; problems are recorded.  0, or -errno to stop (-EINVAL with
 * p->e.err set for a file of another structure). */
typedef int (*counters_line_fn)(struct counters_parse *p, size_t *i);

static int counters_drive(const char *text, json_t *out, char *err, size_t errlen,
			  counters_line_fn line)
{
	struct counters_parse p = { .e = { err, errlen, 0, json_object() }, .tmp = json_object() };
	size_t i = 0;
	int r;

	if (errlen)
		err[0] = '\0';
	if (!p.tmp || !p.e.dropped) {
		r = -ENOMEM;
		goto out_nolines;
	}
	r = counters_lines_split(text, &p.l);
	if (r < 0)
		goto out_nolines;
	while ((i = counters_next_line(&p.l, i)) < p.l.n) {
		r = line(&p, &i);
		if (r < 0)
			goto out;
	}
	if (!p.e.n && !json_object_size(p.tmp))
		counters_problem(&p.e, NULL, "no counters (empty file)");
	r = counters_commit(p.tmp, out, &p.e);
	if (r == 0)
		r = counters_finish(&p.e);
out:
	counters_lines_free(&p.l);
out_nolines:
	free(p.t.v);
	free(p.t2.v);
	json_decref(p.tmp);
	json_decref(p.e.dropped);
	return r;
}

/* ---- /proc/net/netstat and /proc/net/snmp ---- */

/* One header line and its value line.  Returns 0 (problems are recorded
 * in e) or -ENOMEM. */
static int netstat_pair(json_t *tmp, const char *prefix, char *hrest, size_t hline,
			char *vrest, size_t vline, struct counters_tokens *names,
			struct counters_tokens *vals, struct counters_err *e)
{
	json_t *have = json_object_get(tmp, prefix), *fresh;
	char shown[40];
	size_t k;

	if (counters_tokens_split(hrest, names) < 0 || counters_tokens_split(vrest, vals) < 0)
		return -ENOMEM;
	if (!names->n) {
		counters_problem(e, prefix, "line %zu: %s: header line without names", hline, prefix);
		return 0;
	}
	if (names->n != vals->n) {
		counters_problem(e, prefix, "lines %zu-%zu: %s: %zu names but %zu values",
				 hline, vline, prefix, names->n, vals->n);
		return 0;
	}
	fresh = json_object();
	if (!fresh)
		return -ENOMEM;
	for (k = 0; k < names->n; k++) {
		const char *name = names->v[k];
		json_t *jv = NULL;
		int r;

		if (!counters_name_ok(name)) {
			counters_problem(e, prefix, "line %zu: %s: \"%s\" is not a counter name",
					 hline, prefix, counters_shown(name, shown, sizeof(shown)));
			goto drop;
		}
		if (json_object_get(fresh, name) || (have && json_object_get(have, name))) {
			counters_problem(e, prefix, "line %zu: %s: %s appears twice", hline, prefix,
					 name);
			goto drop;
		}
		r = counters_value(vals->v[k], &jv);
		if (r == -ENOMEM)
			goto nomem;
		if (r < 0) {
			counters_problem(e, prefix, "line %zu: %s.%s: \"%s\" is %s", vline, prefix,
					 name, counters_shown(vals->v[k], shown, sizeof(shown)),
					 r == -ERANGE ? "beyond 64 bits" : "not a number");
			goto drop;
		}
		if (json_object_set_new(fresh, name, jv) < 0)
			goto nomem;
	}
	if (have) {
		if (json_object_update(have, fresh) < 0)
			goto nomem;
		json_decref(fresh);
		return 0;
	}
	return json_object_set_new(tmp, prefix, fresh) < 0 ? -ENOMEM : 0;
drop:
	json_decref(fresh);
	return 0;
nomem:
	json_decref(fresh);
	return -ENOMEM;
}

/* A header line and its value line. */
static int netstat_line(struct counters_parse *p, size_t *ip)
{
	const struct counters_lines *l = &p->l;
	char hp[COUNTERS_NAME_MAX + 1], vp[COUNTERS_NAME_MAX + 1];
	size_t i = *ip, hrest, vrest = 0, v;
	int r;

	if (counters_split_prefix(l->line[i], hp, &hrest) < 0)
		return counters_structure(p->e.err, p->e.errlen, i + 1, l->line[i],
					  "a \"Prefix: names\" line");
	v = counters_next_line(l, i + 1);
	if (v < l->n && counters_split_prefix(l->line[v], vp, &vrest) < 0)
		return counters_structure(p->e.err, p->e.errlen, v + 1, l->line[v],
					  "a \"Prefix: values\" line");
	if (v >= l->n || strcmp(hp, vp) != 0) {
		/* The next line starts another prefix: look at it again as a
		 * header. */
		const char *first = l->line[i] + hrest + strspn(l->line[i] + hrest, " \t");

		counters_problem(&p->e, hp, "line %zu: %s: %s", i + 1, hp,
				 (*first >= '0' && *first <= '9') || *first == '-'
					 ? "values without a header line"
					 : "header line without a value line");
		*ip = v;
		return 0;
	}
	r = netstat_pair(p->tmp, hp, l->line[i] + hrest, i + 1, l->line[v] + vrest, v + 1,
			 &p->t, &p->t2, &p->e);
	*ip = v + 1;
	return r;
}

int counters_parse_netstat(const char *text, json_t *out, char *err, size_t errlen)
{
	return counters_drive(text, out, err, errlen, netstat_line);
}

/* ---- /proc/net/snmp6 ---- */

/* "Ip6InReceives 123" */
static int snmp6_line(struct counters_parse *p, size_t *ip)
{
	const struct counters_lines *l = &p->l;
	char prefix[COUNTERS_NAME_MAX + 1], shown[40], whole[40];
	size_t i = (*ip)++, k = 0;
	const char *name;
	json_t *obj, *jv = NULL;
	int r;

	counters_shown(l->line[i], whole, sizeof(whole));
	if (counters_tokens_split(l->line[i], &p->t) < 0)
		return -ENOMEM;
	/* "Ip6InReceives": the letters before the '6' and the '6'. */
	while (counters_alpha(p->t.v[0][k]))
		k++;
	if (k == 0 || k >= COUNTERS_NAME_MAX || p->t.v[0][k] != '6' ||
	    !counters_name_ok(p->t.v[0] + k + 1)) {
		snprintf(p->e.err, p->e.errlen,
			 "line %zu: \"%s\" is not a \"Ip6InReceives 123\"-style line", i + 1, whole);
		return -EINVAL;
	}
	memcpy(prefix, p->t.v[0], k + 1);
	prefix[k + 1] = '\0';
	name = p->t.v[0] + k + 1;
	if (p->t.n != 2) {
		counters_problem(&p->e, prefix, "line %zu: %s: %zu values, expected 1", i + 1,
				 p->t.v[0], p->t.n - 1);
		return 0;
	}
	obj = json_object_get(p->tmp, prefix);
	if (!obj) {
		obj = json_object();
		if (!obj || json_object_set_new(p->tmp, prefix, obj) < 0)
			return -ENOMEM;
	}
	if (json_object_get(obj, name)) {
		counters_problem(&p->e, prefix, "line %zu: %s appears twice", i + 1, p->t.v[0]);
		return 0;
	}
	r = counters_value(p->t.v[1], &jv);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		counters_problem(&p->e, prefix, "line %zu: %s: \"%s\" is %s", i + 1, p->t.v[0],
				 counters_shown(p->t.v[1], shown, sizeof(shown)),
				 r == -ERANGE ? "beyond 64 bits" : "not a number");
		return 0;
	}
	if (json_object_set_new(obj, name, jv) < 0)
		return -ENOMEM;
	return 0;
}

int counters_parse_snmp6(const char *text, json_t *out, char *err, size_t errlen)
{
	return counters_drive(text, out, err, errlen, snmp6_line);
}

/* ---- /proc/net/sockstat and sockstat6 ---- */

/* "TCP: inuse 5 orphan 0 ..." */
static int sockstat_line(struct counters_parse *p, size_t *ip)
{
	const struct counters_lines *l = &p->l;
	char prefix[COUNTERS_NAME_MAX + 1], shown[40];
	size_t i = (*ip)++, rest, k;
	json_t *fresh;
	int r;

	if (counters_split_prefix(l->line[i], prefix, &rest) < 0)
		return counters_structure(p->e.err, p->e.errlen, i + 1, l->line[i],
					  "a \"PROTO: name value ...\" line");
	if (json_object_get(p->tmp, prefix) || counters_is_dropped(&p->e, prefix)) {
		counters_problem(&p->e, prefix, "line %zu: %s appears twice", i + 1, prefix);
		return 0;
	}
	if (counters_tokens_split(l->line[i] + rest, &p->t) < 0)
		return -ENOMEM;
	if (!p->t.n || p->t.n % 2) {
		counters_problem(&p->e, prefix, "line %zu: %s: expected name/value pairs", i + 1, prefix);
		return 0;
	}
	fresh = json_object();
	if (!fresh)
		return -ENOMEM;
	for (k = 0; k < p->t.n; k += 2) {
		const char *name = p->t.v[k];
		json_t *jv = NULL;

		if (!counters_name_ok(name)) {
			counters_problem(&p->e, prefix, "line %zu: %s: \"%s\" is not a field name",
					 i + 1, prefix, counters_shown(name, shown, sizeof(shown)));
			break;
		}
		if (json_object_get(fresh, name)) {
			counters_problem(&p->e, prefix, "line %zu: %s: %s appears twice", i + 1, prefix,
					 name);
			break;
		}
		r = counters_value(p->t.v[k + 1], &jv);
		if (r == -ENOMEM || (r == 0 && json_object_set_new(fresh, name, jv) < 0)) {
			json_decref(fresh);
			return -ENOMEM;
		}
		if (r < 0) {
			counters_problem(&p->e, prefix, "line %zu: %s.%s: \"%s\" is %s", i + 1, prefix,
					 name, counters_shown(p->t.v[k + 1], shown, sizeof(shown)),
					 r == -ERANGE ? "beyond 64 bits" : "not a number");
			break;
		}
	}
	if (k < p->t.n) {
		json_decref(fresh);
		return 0;
	}
	return json_object_set_new(p->tmp, prefix, fresh) < 0 ? -ENOMEM : 0;
}

int counters_parse_sockstat(const char *text, json_t *out, char *err, size_t errlen)
{
	return counters_drive(text, out, err, errlen, sockstat_line);
}

/* ---- /proc/net/softnet_stat ----
 *
 * softnet_seq_show() in net/core/net-procfs.c prints one row of "%08x"
 * columns per online CPU; columns were only ever appended:
 *   1 processed, 2 dropped, 3 time_squeeze, 4-8 zero (was fastroute),
 *   9 cpu_collision (a counter up to 3.x, printed as 0 since; not reported)
 *     -> 9 columns up to 2.6.34
 *  10 received_rps (RPS, 2.6.35)                        -> 10 columns
 *  11 flow_limit_count (flow limit, 3.11)               -> 11 columns, to 5.9
 *  12 backlog_len, 13 CPU id (5.10)                     -> 13 columns, to 6.3
 *  14 input_qlen, 15 process_qlen (6.4, commit 59da2d7b0e99 "net-sysfs:
 *     display two backlog queue len separately")        -> 15 columns
 * Column 13 is the CPU id because offline CPUs are skipped; without it the
 * row index is the best guess.  More than 15 columns are accepted, the
 * columns beyond 15 are ignored. */

static const struct {
	unsigned col;		/* 1-based */
	const char *name;
	bool total;		/* summed in "total" */
} softnet_fields[] = {
	{ 1, "processed", true },
	{ 2, "dropped", true },
	{ 3, "time_squeeze", true },
	{ 10, "received_rps", true },
	{ 11, "flow_limit_count", true },
	{ 12, "backlog_len", false },
	{ 14, "input_qlen", false },
	{ 15, "process_qlen", false },
};

#define SOFTNET_CPU_COLUMN 13
#define SOFTNET_NFIELDS (sizeof(softnet_fields) / sizeof(softnet_fields[0]))

static bool softnet_layout_known(size_t columns)
{
	return columns == 9 || columns == 10 || columns == 11 || columns == 13 ||
	       (columns >= 15 && columns <= SOFTNET_MAX_COLUMNS);
}

static int softnet_hex(const char *s, uint32_t *out)
{
	size_t n = strlen(s), i;
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static json_t *softnet_row(const uint32_t *col, size_t columns, uint32_t cpu)
{
	json_t *o = json_object();
	size_t f;

	if (!o || json_object_set_new(o, "cpu", json_integer(cpu)) < 0)
		goto fail;
	for (f = 0; f < SOFTNET_NFIELDS; f++)
		if (softnet_fields[f].col <= columns &&
		    json_object_set_new(o, softnet_fields[f].name,
					json_integer(col[softnet_fields[f].col - 1])) < 0)
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int softnet_parse(const char *text, json_t **out, char *err, size_t errlen)
{
	struct counters_tokens t = { 0 };
	struct counters_lines l;
	uint64_t sum[SOFTNET_NFIELDS] = { 0 };
	json_t *res = NULL, *cpus = NULL, *total = NULL;
	size_t columns = 0, rows = 0, i, f;
	long long last_cpu = -1;
	char shown[40];
	int r = -EINVAL;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (counters_lines_split(text, &l) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cpus = json_array();
	if (!cpus)
		goto nomem;
	for (i = 0; i < l.n; i++) {
		uint32_t col[SOFTNET_MAX_COLUMNS], cpu;
		json_t *row;
		size_t c;

		if (counters_blank(l.line[i])) {
			if (counters_next_line(&l, i) == l.n)
				break;	/* trailing blank lines */
			snprintf(err, errlen, "line %zu: empty line", i + 1);
			goto out;
		}
		if (counters_tokens_split(l.line[i], &t) < 0)
			goto nomem;
		if (rows == 0) {
			columns = t.n;
			if (!softnet_layout_known(columns)) {
				snprintf(err, errlen,
					 "line 1: %zu columns; kernels print 9, 10, 11, 13 or at least 15",
					 columns);
				goto out;
			}
		} else if (t.n != columns) {
			snprintf(err, errlen, "line %zu: %zu columns, the first row has %zu", i + 1,
				 t.n, columns);
			goto out;
		}
		for (c = 0; c < columns; c++) {
			if (softnet_hex(t.v[c], &col[c]) < 0) {
				snprintf(err, errlen,
					 "line %zu, column %zu: \"%s\" is not a 32-bit hex value",
					 i + 1, c + 1, counters_shown(t.v[c], shown, sizeof(shown)));
				goto out;
			}
		}
		cpu = columns >= SOFTNET_CPU_COLUMN ? col[SOFTNET_CPU_COLUMN - 1] : (uint32_t)rows;
		if ((long long)cpu <= last_cpu) {
			snprintf(err, errlen, "line %zu: CPU %u comes after CPU %lld", i + 1, cpu,
				 last_cpu);
			goto out;
		}
		last_cpu = cpu;
		row = softnet_row(col, columns, cpu);
		if (!row || json_array_append_new(cpus, row) < 0)
			goto nomem;
		for (f = 0; f < SOFTNET_NFIELDS; f++)
			if (softnet_fields[f].col <= columns)
				sum[f] += col[softnet_fields[f].col - 1];
		rows++;
	}
	if (!rows) {
		snprintf(err, errlen, "no rows (empty file)");
		goto out;
	}
	total = json_object();
	if (!total)
		goto nomem;
	for (f = 0; f < SOFTNET_NFIELDS; f++)
		if (softnet_fields[f].total && softnet_fields[f].col <= columns &&
		    json_object_set_new(total, softnet_fields[f].name,
					json_integer((json_int_t)sum[f])) < 0)
			goto nomem;
	res = json_object();
	if (!res || json_object_set_new(res, "columns", json_integer((json_int_t)columns)) < 0 ||
	    json_object_set(res, "cpus", cpus) < 0 || json_object_set(res, "total", total) < 0)
		goto nomem;
	*out = res;
	res = NULL;
	r = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	r = -ENOMEM;
out:
	json_decref(res);
	json_decref(cpus);
	json_decref(total);
	free(t.v);
	counters_lines_free(&l);
	return r;
}

json_t *counters_parse_softnet(const char *text, char *err, size_t errlen)
{
	json_t *res;

	softnet_parse(text, &res, err, errlen);
	return res;
}

/* ---- the collector ---- */

typedef int (*counters_parser)(const char *text, json_t *out, char *err, size_t errlen);

static const struct counters_source {
	const char *path;	/* below the root */
	bool sockstat;		/* into "sockstat", else "counters" */
	counters_parser parse;
	const char *missing;	/* likely reason when the file does not exist */
} counters_sources[] = {
	{ "proc/net/netstat", false, counters_parse_netstat, NULL },
	{ "proc/net/snmp", false, counters_parse_netstat, NULL },
	{ "proc/net/snmp6", false, counters_parse_snmp6, "IPv6 disabled?" },
	{ "proc/net/sockstat", true, counters_parse_sockstat, NULL },
	{ "proc/net/sockstat6", true, counters_parse_sockstat, "IPv6 disabled?" },
};

/* Read one file; anything but success is noted.  0, -ENOMEM, or another
 * negative errno once noted. */
static int counters_read(json_t *doc, const struct nk_root *root, const char *path, size_t max,
			 const char *missing, char **text)
{
	size_t len = 0;
	int r;

	*text = NULL;
	r = root_read_file(root, path, max, text, &len);
	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT && missing)
		facts_note(doc, "/%s: %s (%s)", path, strerror(-r), missing);
	else if (r == -EFBIG)
		facts_note(doc, "/%s: larger than %zu KiB, not read", path, max / 1024);
	else if (r < 0)
		facts_note(doc, "/%s: %s", path, fileio_strerror(-r));
	if (r < 0)
		return r;
	if (strlen(*text) != len) {
		facts_note(doc, "/%s: holds NUL bytes, not kernel output; nothing used", path);
		free(*text);
		*text = NULL;
		return -EINVAL;
	}
	return 0;
}

static int counters_collect_softnet(json_t *doc, const struct nk_root *root)
{
	const char *path = "proc/net/softnet_stat";
	char *text, err[256];
	json_t *softnet;
	int r;

	r = counters_read(doc, root, path, COUNTERS_MAX_SOFTNET, NULL, &text);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = softnet_parse(text, &softnet, err, sizeof(err));
	free(text);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		facts_note(doc, "/%s: %s; nothing used", path, err);
		return 0;
	}
	return json_object_set_new(doc, "softnet", softnet) < 0 ? -ENOMEM : 0;
}

int counters_collect(json_t *doc, const struct nk_root *root)
{
	json_t *counters = json_object(), *sockstat = json_object();
	size_t i;
	int r = 0;

	if (!counters || !sockstat) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sizeof(counters_sources) / sizeof(counters_sources[0]); i++) {
		const struct counters_source *src = &counters_sources[i];
		json_t *section = src->sockstat ? sockstat : counters;
		size_t before = json_object_size(section);
		char *text, err[512];

		r = counters_read(doc, root, src->path, COUNTERS_MAX_FILE, src->missing, &text);
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			continue;
		r = src->parse(text, section, err, sizeof(err));
		free(text);
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			facts_note(doc, "/%s: %s; %s", src->path, err,
				   json_object_size(section) > before ? "the other prefixes were used"
								      : "nothing used");
	}
	r = 0;
	if (json_object_size(counters) &&
	    json_object_set(doc, "counters", counters) < 0)
		r = -ENOMEM;
	if (json_object_size(sockstat) &&
	    json_object_set(doc, "sockstat", sockstat) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = counters_collect_softnet(doc, root);
out:
	json_decref(counters);
	json_decref(sockstat);
	return r;
}
