#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facts/facts.h"
#include "facts/sample.h"
#include "facts/sockets.h"
#include "facts/sysctld.h"
#include "facts/sysctl.h"
#include "util/escape.h"
#include "util/log.h"

int facts_set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

void facts_note(json_t *doc, const char *fmt, ...)
{
	json_t *notes = json_object_get(doc, "notes");
	char buf[1024], *esc;
	va_list ap;

	if (!notes) {
		notes = json_array();
		json_object_set_new(doc, "notes", notes);
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc = escape_untrusted_str(buf);
	if (esc)
		json_array_append_new(notes, json_string(esc));
	free(esc);
}

static void persistent_compare(json_t *doc, const struct nk_root *root);

/* ---- the core facts ---- */

const char *const facts_core_parts[] = { "sysctl", "sockets", "counters", "persistent", NULL };

const char *facts_core_part_text(const char *part)
{
	static const char *const text[] = { "the sysctl values", "the sockets", "the kernel's counters",
					    "the sysctl.d configuration" };

	for (size_t i = 0; facts_core_parts[i]; i++)
		if (!strcmp(part, facts_core_parts[i]))
			return text[i];
	return NULL;
}

/* Keys every network namespace of every kernel netknobs supports has (the
 * accept and SYN queues): when they cannot be read, /proc/sys cannot. */
static const char *const core_sysctl_keys[] = {
	"net.core.somaxconn",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syncookies",
};

/* Where each collector's notes start in "notes". */
struct note_marks {
	size_t counters, persistent, sockets;
};

/* The first note from index from on that starts with prefix, or NULL. */
static const char *note_from(const json_t *doc, size_t from, const char *prefix)
{
	const json_t *notes = json_object_get(doc, "notes");

	for (size_t i = from; i < json_array_size(notes); i++) {
		const char *n = json_string_value(json_array_get(notes, i));

		if (n && !strncmp(n, prefix, strlen(prefix)))
			return n;
	}
	return NULL;
}

/* The first note of [from, to) that holds text, or NULL. */
static const char *note_containing(const json_t *doc, size_t from, size_t to, const char *text)
{
	const json_t *notes = json_object_get(doc, "notes");

	for (size_t i = from; i < to && i < json_array_size(notes); i++) {
		const char *n = json_string_value(json_array_get(notes, i));

		if (n && strstr(n, text))
			return n;
	}
	return NULL;
}

static int core_set(json_t *core, const char *part, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int core_set(json_t *core, const char *part, const char *fmt, ...)
{
	char buf[512], *esc;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* the reasons hold what the system said: escaped as notes are */
	esc = escape_untrusted_str(buf);
	r = esc ? json_object_set_new(core, part, json_string(esc)) : -1;
	free(esc);
	return r;
}

/* Record in "core_unavailable" the core facts that could not be collected
 * and why: the sysctls of the queues, the counters of TCP (TcpExt from
 * /proc/net/netstat, Tcp from /proc/net/snmp), the sockets (neither
 * netlink nor /proc/net/tcp), the persistent configuration (a sysctl.d
 * file or directory that exists but could not be read).  What a namespace
 * does not have by design (net.core.netdev_*, a missing sysctl.d
 * directory) is not core: a container audits normally.  from: where each
 * collector's notes start.  Returns 0 or -ENOMEM. */
static int core_status(json_t *doc, bool sockets, const struct note_marks *from)
{
	const json_t *sysctl = json_object_get(doc, "sysctl");
	const json_t *una = json_object_get(doc, "sysctl_unavailable");
	const json_t *counters = json_object_get(doc, "counters");
	const json_t *sk = json_object_get(doc, "sockets");
	json_t *core = json_object();
	size_t missing = 0;
	const char *first = NULL;
	int r = 0;

	if (!core)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(core_sysctl_keys) / sizeof(core_sysctl_keys[0]); i++)
		if (!json_object_get(sysctl, core_sysctl_keys[i]) && !missing++)
			first = core_sysctl_keys[i];
	if (missing) {
		const char *why = json_string_value(json_object_get(json_object_get(una, first), "error"));

		r |= core_set(core, "sysctl", "%s: %s%s", first, why ? why : "not read",
			      missing == 3 ? " (and the other keys of the accept and SYN queues)"
			      : missing == 2 ? " (and one other key of the accept and SYN queues)" : "");
	}
	if (!json_object_get(counters, "TcpExt") || !json_object_get(counters, "Tcp")) {
		const char *file = !json_object_get(counters, "TcpExt") ? "/proc/net/netstat" : "/proc/net/snmp";
		const char *why = note_from(doc, from->counters, file);

		if (why)
			r |= core_set(core, "counters", "%s", why);
		else
			r |= core_set(core, "counters", "%s: no %s counters", file,
				      !json_object_get(counters, "TcpExt") ? "TcpExt" : "Tcp");
	}
	/* the persistent configuration: a file that could not be read (a
	 * symbolic link loop is skipped by systemd too, by design), or a
	 * directory that exists but could not be listed */
	if (!json_object_get(core, "persistent")) {
		const json_t *files = json_object_get(json_object_get(doc, "persistent"), "files"), *f;
		const char *why = NULL, *path = NULL;
		size_t i;

		json_array_foreach(files, i, f) {
			const char *e = json_string_value(json_object_get(f, "error"));

			if (!why && !strcmp(json_string_value(json_object_get(f, "status")) ?: "", "unreadable") &&
			    e && strcmp(e, strerror(ELOOP)) != 0) {
				why = e;
				path = json_string_value(json_object_get(f, "path"));
			}
		}
		if (why)
			r |= core_set(core, "persistent", "%s: %s", path ? path : "?", why);
		else if ((why = note_containing(doc, from->persistent, from->sockets, "/sysctl.d: ")))
			r |= core_set(core, "persistent", "%s", why);
	}
	/* the socket collector leaves "states" out when it knows nothing */
	if (sockets && json_is_object(sk) && !json_object_get(sk, "states")) {
		const char *why = note_from(doc, from->sockets, "/proc/net/tcp:");
		const char *fb = json_string_value(json_object_get(sk, "fallback_reason"));

		r |= core_set(core, "sockets", "%s%s%s", fb ? fb : "", fb && why ? "; " : "", why ? why : "");
	}
	if (r == 0 && json_object_size(core))
		r = json_object_set(doc, "core_unavailable", core);
	json_decref(core);
	return r < 0 ? -ENOMEM : 0;
}

json_t *facts_collect(const struct collect_opts *o)
{
	json_t *doc = json_object();
	char when[32];
	time_t now;
	struct tm tm;

	if (!doc)
		return NULL;
	/* a sampling window first: the collection below is its end */
	if (o->sample && sample_window(o->sample, o->root, o->want_sockets && o->want_owners) < 0) {
		json_decref(doc);
		return NULL;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(doc, "schema_version", json_integer(FACTS_SCHEMA_VERSION));
	json_object_set_new(doc, "generator", json_pack("{s:s,s:s}", "name", PACKAGE_NAME,
							"version", PACKAGE_VERSION));
	json_object_set_new(doc, "collected_at", json_string(when));
	json_object_set_new(doc, "origin", json_pack("{s:s,s:s?,s:b}", "root", o->root->path,
						     "netns", o->netns, "live", o->root->live));
	json_object_set_new(doc, "notes", json_array());

	{
		size_t nw = 0;
		struct note_marks marks;
		int r;

		while (sysctl_watched_keys[nw])
			nw++;
		/* collectors record what they cannot read in the document;
		 * only running out of memory stops the collection */
		if ((r = host_collect(doc, o->root)) == -ENOMEM ||
		    (r = sysctl_collect(doc, o->root, sysctl_watched_keys, nw)) == -ENOMEM ||
		    (r = sysctl_collect(doc, o->root, o->sysctl_keys, o->n_sysctl_keys)) == -ENOMEM)
			goto oom;
		/* the window ends when the counters are read again */
		if (o->sample)
			sample_mark_end(o->sample);
		marks.counters = json_array_size(json_object_get(doc, "notes"));
		if ((r = counters_collect(doc, o->root)) == -ENOMEM)
			goto oom;
		marks.persistent = json_array_size(json_object_get(doc, "notes"));
		if ((r = sysctld_collect(doc, o->root)) == -ENOMEM)
			goto oom;
		marks.sockets = json_array_size(json_object_get(doc, "notes"));
		if (o->want_sockets &&
		    (r = sockets_collect_ahead(doc, o->root,
					       (o->want_owners ? SOCKETS_OWNERS : 0) |
					       (o->listeners_only ? SOCKETS_LISTENERS_ONLY : 0),
					       o->tcp_ahead)) == -ENOMEM)
			goto oom;
		if (core_status(doc, o->want_sockets, &marks) < 0)
			goto oom;
	}
	persistent_compare(doc, o->root);
	if (o->sample && sample_attach(o->sample, doc) < 0)
		goto oom;
	return doc;
oom:
	json_decref(doc);
	return NULL;
}

/* Read the runtime value of every persisted key and say, per key, whether
 * it differs from what boot will apply ("drift") and whether the files
 * disagree among themselves ("conflict"). */
static void persistent_compare(json_t *doc, const struct nk_root *root)
{
	json_t *keys = json_object_get(json_object_get(doc, "persistent"), "keys"), *k;
	json_t *sysctl = json_object_get(doc, "sysctl");
	const char *key, **names;
	size_t n = 0;
	bool initial;

	if (!json_object_size(keys))
		return;
	/* boot applies the files to the initial network namespace only */
	initial = json_is_true(json_object_get(json_object_get(json_object_get(doc, "host"), "netns"), "initial"));
	names = malloc(json_object_size(keys) * sizeof(*names));
	if (!names)
		return;
	json_object_foreach(keys, key, k)
		names[n++] = key;
	sysctl_collect(doc, root, names, n);
	free(names);
	json_object_foreach(keys, key, k) {
		json_t *want = json_object_get(k, "value"), *now = json_object_get(sysctl, key);
		json_t *sh = json_object_get(k, "shadowed"), *e;
		bool conflict = false;
		size_t i;

		if (now)
			json_object_set(k, "runtime", now);
		if (initial && now && want && !json_is_null(want))
			json_object_set_new(k, "drift", json_boolean(!json_equal(now, want)));
		json_array_foreach(sh, i, e)
			if (!json_equal(json_object_get(e, "value"), want))
				conflict = true;
		json_object_set_new(k, "conflict", json_boolean(conflict));
	}
}

/* ---- validation of saved documents ---- */

#define FAIL(...)                                      \
	do {                                           \
		snprintf(err, errlen, __VA_ARGS__);    \
		return -EINVAL;                        \
	} while (0)

static int want_type(const json_t *obj, const char *key, json_type t, int required,
		     const char *where, char *err, size_t errlen)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
		[JSON_INTEGER] = "an integer", [JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			FAIL("%s: missing \"%s\" (%s)", where, key, names[t]);
		return 0;
	}
	if (t == JSON_TRUE && json_is_boolean(v))
		return 0;
	if (json_typeof(v) != t)
		FAIL("%s: \"%s\" must be %s", where, key, names[t]);
	return 0;
}

/* A listener's "peak" (a sampling window), when present. */
static int validate_peak(const json_t *p, const char *lwhere, char *err, size_t errlen)
{
	static const char *const ints[] = { "queue", "fill", "syn_recv", "drops", "readings",
					    "queue_min" };
	char where[96];

	if (!p)
		return 0;
	snprintf(where, sizeof(where), "%s.peak", lwhere);
	if (!json_is_object(p))
		FAIL("%s must be an object", where);
	for (size_t j = 0; j < sizeof(ints) / sizeof(ints[0]); j++) {
		const json_t *v = json_object_get(p, ints[j]);

		if (want_type(p, ints[j], JSON_INTEGER, 0, where, err, errlen))
			return -EINVAL;
		if (v && json_integer_value(v) < 0)
			FAIL("%s: \"%s\" must not be negative", where, ints[j]);
	}
	if (want_type(p, "overflowed", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(p, "appeared", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(p, "shrank", JSON_TRUE, 0, where, err, errlen))
		return -EINVAL;
	return 0;
}

/* A listener's "processes" (or a vanished one's). */
static int validate_procs(const json_t *procs, const char *where, char *err, size_t errlen)
{
	const json_t *p;
	size_t j;

	json_array_foreach(procs, j, p) {
		char pw[96];

		snprintf(pw, sizeof(pw), "%s.processes[%zu]", where, j);
		if (!json_is_object(p))
			FAIL("%s must be an object", pw);
		if (want_type(p, "pid", JSON_INTEGER, 1, pw, err, errlen) ||
		    want_type(p, "comm", JSON_STRING, 0, pw, err, errlen) ||
		    want_type(p, "nofile_soft", JSON_INTEGER, 0, pw, err, errlen) ||
		    want_type(p, "nofile_hard", JSON_INTEGER, 0, pw, err, errlen) ||
		    want_type(p, "fds", JSON_INTEGER, 0, pw, err, errlen) ||
		    want_type(p, "state", JSON_STRING, 0, pw, err, errlen) ||
		    want_type(p, "start_time", JSON_INTEGER, 0, pw, err, errlen) ||
		    want_type(p, "polls", JSON_TRUE, 0, pw, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/* The "sample" object: what rate() and delta() read must be sound. */
static int validate_sample(const json_t *smp, char *err, size_t errlen)
{
	static const char *const ints[] = { "requested_ms", "interval_ms", "ticks" };
	const json_t *v, *g, *c;
	const char *prefix, *name;
	size_t i;

	if (!smp)
		return 0;
	if (!json_is_object(smp))
		FAIL("\"sample\" must be an object");
	if (want_type(smp, "duration_ms", JSON_INTEGER, 1, "sample", err, errlen) ||
	    want_type(smp, "cut_short", JSON_TRUE, 0, "sample", err, errlen) ||
	    want_type(smp, "deltas", JSON_OBJECT, 0, "sample", err, errlen) ||
	    want_type(smp, "rates", JSON_OBJECT, 0, "sample", err, errlen) ||
	    want_type(smp, "vanished", JSON_ARRAY, 0, "sample", err, errlen))
		return -EINVAL;
	if (json_integer_value(json_object_get(smp, "duration_ms")) <= 0)
		FAIL("sample: \"duration_ms\" must be positive");
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (want_type(smp, ints[i], JSON_INTEGER, 0, "sample", err, errlen))
			return -EINVAL;
		v = json_object_get(smp, ints[i]);
		if (v && json_integer_value(v) < 0)
			FAIL("sample: \"%s\" must not be negative", ints[i]);
	}
	json_object_foreach((json_t *)json_object_get(smp, "deltas"), prefix, g) {
		if (!json_is_object(g))
			FAIL("sample.deltas.%s must be an object", prefix);
		json_object_foreach((json_t *)g, name, c)
			if (!json_is_integer(c) || json_integer_value(c) < 0)
				FAIL("sample.deltas.%s.%s must be a non-negative integer", prefix, name);
	}
	json_object_foreach((json_t *)json_object_get(smp, "rates"), prefix, g) {
		if (!json_is_object(g))
			FAIL("sample.rates.%s must be an object", prefix);
		json_object_foreach((json_t *)g, name, c)
			if (!json_is_number(c) || json_number_value(c) < 0)
				FAIL("sample.rates.%s.%s must be a non-negative number", prefix, name);
	}
	json_array_foreach(json_object_get(smp, "vanished"), i, v) {
		char where[48];

		snprintf(where, sizeof(where), "sample.vanished[%zu]", i);
		if (!json_is_object(v))
			FAIL("%s must be an object", where);
		if (validate_peak(json_object_get(v, "peak"), where, err, errlen) < 0 ||
		    want_type(v, "processes", JSON_ARRAY, 0, where, err, errlen) ||
		    validate_procs(json_object_get(v, "processes"), where, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

static int validate_listener(const json_t *l, size_t i, char *err, size_t errlen)
{
	char where[64];
	static const char *const ints[] = { "queue", "limit", "syn_recv", "drops", "inode",
					    "uid", "interface" };
	const json_t *rp;
	const char *fam;
	size_t j;

	snprintf(where, sizeof(where), "sockets.listeners[%zu]", i);
	if (!json_is_object(l))
		FAIL("%s must be an object", where);
	if (want_type(l, "family", JSON_STRING, 1, where, err, errlen) ||
	    want_type(l, "address", JSON_STRING, 1, where, err, errlen) ||
	    want_type(l, "port", JSON_INTEGER, 1, where, err, errlen) ||
	    want_type(l, "queue", JSON_INTEGER, 1, where, err, errlen) ||
	    want_type(l, "v6only", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(l, "syn_recv_shared", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(l, "processes", JSON_ARRAY, 0, where, err, errlen))
		return -EINVAL;
	fam = json_string_value(json_object_get(l, "family"));
	if (strcmp(fam, "ipv4") != 0 && strcmp(fam, "ipv6") != 0)
		FAIL("%s: \"family\" must be \"ipv4\" or \"ipv6\"", where);
	for (j = 0; j < sizeof(ints) / sizeof(ints[0]); j++) {
		const json_t *v = json_object_get(l, ints[j]);

		if (want_type(l, ints[j], JSON_INTEGER, 0, where, err, errlen))
			return -EINVAL;
		if (v && json_integer_value(v) < 0)
			FAIL("%s: \"%s\" must not be negative", where, ints[j]);
	}
	if (json_integer_value(json_object_get(l, "port")) < 0 ||
	    json_integer_value(json_object_get(l, "port")) > 65535)
		FAIL("%s: \"port\" must be 0..65535", where);
	if (validate_peak(json_object_get(l, "peak"), where, err, errlen) < 0)
		return -EINVAL;
	if (validate_procs(json_object_get(l, "processes"), where, err, errlen) < 0)
		return -EINVAL;
	rp = json_object_get(l, "reuseport");
	if (rp) {
		long long m = json_integer_value(json_object_get(rp, "members"));
		long long x = json_integer_value(json_object_get(rp, "index"));

		if (!json_is_object(rp) || !json_is_integer(json_object_get(rp, "members")) ||
		    !json_is_integer(json_object_get(rp, "index")) || m < 2 || x < 1 || x > m)
			FAIL("%s: \"reuseport\" must be {\"members\": N >= 2, \"index\": 1..N}", where);
	}
	return 0;
}

/* A UDP socket of "sockets.udp". */
static int validate_udp(const json_t *u, size_t i, char *err, size_t errlen)
{
	static const char *const ints[] = { "rcvbuf", "drops", "window_drops", "inode", "uid", "interface" };
	static const char *const u32s[] = { "queue", "rcvbuf", "drops", "window_drops" };
	char where[64];
	const char *fam, *proto;

	snprintf(where, sizeof(where), "sockets.udp[%zu]", i);
	if (!json_is_object(u))
		FAIL("%s must be an object", where);
	if (want_type(u, "family", JSON_STRING, 1, where, err, errlen) ||
	    want_type(u, "address", JSON_STRING, 1, where, err, errlen) ||
	    want_type(u, "port", JSON_INTEGER, 1, where, err, errlen) ||
	    want_type(u, "queue", JSON_INTEGER, 1, where, err, errlen) ||
	    want_type(u, "connected", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(u, "v6only", JSON_TRUE, 0, where, err, errlen) ||
	    want_type(u, "peer", JSON_STRING, 0, where, err, errlen) ||
	    want_type(u, "protocol", JSON_STRING, 0, where, err, errlen) ||
	    want_type(u, "processes", JSON_ARRAY, 0, where, err, errlen))
		return -EINVAL;
	proto = json_string_value(json_object_get(u, "protocol"));
	if (proto && strcmp(proto, "udp") != 0 && strcmp(proto, "udplite") != 0)
		FAIL("%s: \"protocol\" must be \"udp\" or \"udplite\"", where);
	fam = json_string_value(json_object_get(u, "family"));
	if (strcmp(fam, "ipv4") != 0 && strcmp(fam, "ipv6") != 0)
		FAIL("%s: \"family\" must be \"ipv4\" or \"ipv6\"", where);
	if (json_integer_value(json_object_get(u, "port")) < 0 ||
	    json_integer_value(json_object_get(u, "port")) > 65535)
		FAIL("%s: \"port\" must be 0..65535", where);
	if (json_integer_value(json_object_get(u, "queue")) < 0)
		FAIL("%s: \"queue\" must not be negative", where);
	for (size_t j = 0; j < sizeof(ints) / sizeof(ints[0]); j++) {
		const json_t *v = json_object_get(u, ints[j]);

		if (want_type(u, ints[j], JSON_INTEGER, 0, where, err, errlen))
			return -EINVAL;
		if (v && json_integer_value(v) < 0)
			FAIL("%s: \"%s\" must not be negative", where, ints[j]);
	}
	/* the kernel's 32-bit fields (idiag_rqueue, SK_MEMINFO_RCVBUF, _DROPS) */
	for (size_t j = 0; j < sizeof(u32s) / sizeof(u32s[0]); j++)
		if (json_integer_value(json_object_get(u, u32s[j])) > (json_int_t)UINT32_MAX)
			FAIL("%s: \"%s\" must be at most %lu", where, u32s[j], (unsigned long)UINT32_MAX);
	return validate_procs(json_object_get(u, "processes"), where, err, errlen);
}

/* "sockets.udp_stats": counts, never negative. */
static int validate_udp_stats(const json_t *st, char *err, size_t errlen)
{
	static const char *const ints[] = { "sockets", "listed", "connected", "queued", "dropping",
					     "unlisted_dropping", "drops" };

	if (!st)
		return 0;
	if (want_type(st, "source", JSON_STRING, 0, "sockets.udp_stats", err, errlen))
		return -EINVAL;
	for (size_t j = 0; j < sizeof(ints) / sizeof(ints[0]); j++) {
		const json_t *v = json_object_get(st, ints[j]);

		if (want_type(st, ints[j], JSON_INTEGER, 0, "sockets.udp_stats", err, errlen))
			return -EINVAL;
		if (v && json_integer_value(v) < 0)
			FAIL("sockets.udp_stats: \"%s\" must not be negative", ints[j]);
	}
	return 0;
}

int facts_validate(const json_t *doc, char *err, size_t errlen)
{
	const json_t *v, *sockets, *listeners, *l;
	const char *key;
	size_t i;

	if (!json_is_object(doc))
		FAIL("the document must be a JSON object");
	v = json_object_get(doc, "schema_version");
	if (!v)
		FAIL("missing \"schema_version\": not a netknobs facts document");
	if (!json_is_integer(v))
		FAIL("\"schema_version\" must be an integer");
	if (json_integer_value(v) != FACTS_SCHEMA_VERSION)
		FAIL("schema_version %lld is not supported (this netknobs reads version %d)",
		     (long long)json_integer_value(v), FACTS_SCHEMA_VERSION);
	if (want_type(doc, "host", JSON_OBJECT, 1, "document", err, errlen) ||
	    want_type(doc, "sysctl", JSON_OBJECT, 1, "document", err, errlen) ||
	    want_type(doc, "sockets", JSON_OBJECT, 1, "document", err, errlen) ||
	    want_type(doc, "sysctl_unavailable", JSON_OBJECT, 0, "document", err, errlen) ||
	    want_type(doc, "counters", JSON_OBJECT, 0, "document", err, errlen) ||
	    want_type(doc, "sockstat", JSON_OBJECT, 0, "document", err, errlen) ||
	    want_type(doc, "softnet", JSON_OBJECT, 0, "document", err, errlen) ||
	    want_type(doc, "notes", JSON_ARRAY, 0, "document", err, errlen) ||
	    want_type(doc, "persistent", JSON_OBJECT, 0, "document", err, errlen) ||
	    want_type(doc, "core_unavailable", JSON_OBJECT, 0, "document", err, errlen))
		return -EINVAL;
	json_object_foreach((json_t *)json_object_get(doc, "core_unavailable"), key, v)
		if (!json_is_string(v) || !facts_core_part_text(key))
			FAIL("core_unavailable: \"%.64s\" must be sysctl, sockets, counters or persistent, "
			     "with a string", key);

	json_object_foreach((json_t *)json_object_get(doc, "sysctl"), key, v) {
		const char *why;
		size_t j;
		const json_t *e;

		if (sysctl_key_parse(key, NULL, NULL, &why) < 0)
			FAIL("sysctl: invalid key \"%.64s\": %s", key, why);
		if (json_is_array(v)) {
			json_array_foreach(v, j, e)
				if (!json_is_integer(e))
					FAIL("sysctl.%s: a list must hold integers only", key);
		} else if (!json_is_integer(v) && !json_is_string(v)) {
			FAIL("sysctl.%s: must be an integer, a list of integers or a string", key);
		}
	}
	json_object_foreach((json_t *)json_object_get(doc, "counters"), key, v) {
		const char *name;
		const json_t *c;

		if (!json_is_object(v))
			FAIL("counters.%s must be an object", key);
		json_object_foreach((json_t *)v, name, c)
			if (!json_is_integer(c) && !json_is_string(c))
				FAIL("counters.%s.%s must be an integer", key, name);
	}

	if (validate_sample(json_object_get(doc, "sample"), err, errlen) < 0)
		return -EINVAL;
	sockets = json_object_get(doc, "sockets");
	if (want_type(sockets, "source", JSON_STRING, 1, "sockets", err, errlen) ||
	    want_type(sockets, "states", JSON_OBJECT, 0, "sockets", err, errlen) ||
	    want_type(sockets, "listeners", JSON_ARRAY, 1, "sockets", err, errlen))
		return -EINVAL;
	listeners = json_object_get(sockets, "listeners");
	json_array_foreach(listeners, i, l)
		if (validate_listener(l, i, err, errlen) < 0)
			return -EINVAL;
	if (want_type(sockets, "udp", JSON_ARRAY, 0, "sockets", err, errlen) ||
	    want_type(sockets, "udp_stats", JSON_OBJECT, 0, "sockets", err, errlen))
		return -EINVAL;
	json_array_foreach(json_object_get(sockets, "udp"), i, l)
		if (validate_udp(l, i, err, errlen) < 0)
			return -EINVAL;
	return validate_udp_stats(json_object_get(sockets, "udp_stats"), err, errlen);
}

int facts_core_missing(const json_t *facts, json_t *core)
{
	const json_t *sysctl = json_object_get(facts, "sysctl");
	const json_t *counters = json_object_get(facts, "counters");
	const char *first = NULL;
	size_t missing = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(core_sysctl_keys) / sizeof(core_sysctl_keys[0]); i++)
		if (!json_object_get(sysctl, core_sysctl_keys[i]) && !missing++)
			first = core_sysctl_keys[i];
	if (missing && !json_object_get(core, "sysctl"))
		r |= core_set(core, "sysctl", "the document has no %s%s", first,
			      missing > 1 ? ", nor other keys of the accept and SYN queues" : "");
	if (!json_object_get(core, "counters") &&
	    (!json_object_get(counters, "TcpExt") || !json_object_get(counters, "Tcp")))
		r |= core_set(core, "counters", "the document has no %s counters",
			      !json_object_get(counters, "TcpExt") ? "TcpExt" : "Tcp");
	return r < 0 ? -ENOMEM : 0;
}

/* A parsed document (or NULL and what jansson said), checked: every message
 * names path, with line:column where jansson knows them. */
static json_t *facts_checked(const char *path, json_t *doc, const json_error_t *jerr)
{
	char err[512];

	if (!doc) {
		if (json_error_code(jerr) == json_error_out_of_memory)
			log_syntax(path, 0, 0, "cannot load facts: out of memory");
		else if (jerr->line > 0)
			log_syntax(path, (unsigned)jerr->line, (unsigned)jerr->column,
				   "not a valid facts document: %s", jerr->text);
		else
			log_syntax(path, 0, 0, "cannot load facts: %s", jerr->text);
		return NULL;
	}
	if (json_object_get(doc, "all_netns_version") && !json_object_get(doc, "schema_version")) {
		log_syntax(path, 0, 0, "holds the facts of every network namespace (facts --all-netns): read it "
			   "with --all-netns, or take one: jq '.namespaces[N].facts'");
		json_decref(doc);
		return NULL;
	}
	if (facts_validate(doc, err, sizeof(err)) < 0) {
		log_syntax(path, 0, 0, "not a valid facts document: %s", err);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* JSON_REJECT_DUPLICATES: a saved document with two values for one key is
 * corrupt, not ambiguous. */
json_t *facts_load(const char *path)
{
	json_error_t jerr;
	json_t *doc;

	doc = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
				     : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	return facts_checked(path, doc, &jerr);
}

json_t *facts_load_buffer(const char *name, const char *buf, size_t len)
{
	json_error_t jerr;

	return facts_checked(name, json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), &jerr);
}
