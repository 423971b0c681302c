/* netknobs report's comparison: the state of this run (the findings that
 * count and the kernel's counters) and what changed since the previous
 * run's state.  Pure computations on JSON documents, no file is read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/state.h"
#include "rules/rules.h"
#include "util/timestamp.h"

/* Kernel counters that are not counters: they go up and down. */
static bool is_gauge(const char *prefix, const char *name)
{
	static const char *const gauges[] = {
		"Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn", "Tcp.CurrEstab",
		"Ip.Forwarding", "Ip.DefaultTTL",
	};
	char full[256];

	snprintf(full, sizeof(full), "%s.%s", prefix, name);
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(full, gauges[i]))
			return true;
	return false;
}

/* The counters whose increase is worth a line in the report, in plain words. */
static const struct {
	const char *name, *words;
} trouble[] = {
	{ "TcpExt.ListenOverflows", "connection attempts dropped because a listener's accept queue was full" },
	{ "TcpExt.ListenDrops", "connection attempts dropped by listeners (overflows included)" },
	{ "TcpExt.TCPReqQFullDrop", "SYNs dropped because a SYN queue was full and SYN cookies were off" },
	{ "TcpExt.TCPReqQFullDoCookies", "SYN cookies sent because a SYN queue was full" },
	{ "TcpExt.SyncookiesFailed", "ACKs with an invalid SYN cookie" },
	{ "TcpExt.TCPBacklogDrop", "packets dropped because a socket's backlog was full" },
	{ "TcpExt.TCPRcvQDrop", "packets dropped because a socket's receive buffer was full" },
	{ "TcpExt.TCPTimeWaitOverflow", "TIME_WAIT sockets not kept because tcp_max_tw_buckets was reached" },
	{ "TcpExt.TCPAbortOnMemory", "connections reset because TCP memory (tcp_mem) ran out" },
	{ "Udp.RcvbufErrors", "UDP datagrams dropped because a socket's receive buffer was full" },
	{ "Udp.SndbufErrors", "UDP datagrams not sent because a socket's send buffer was full" },
	{ "softnet.dropped", "packets dropped because a CPU's input queue (netdev_max_backlog) was full" },
	{ "softnet.time_squeeze", "times packet processing ran out of budget (netdev_budget) with work left" },
};

/* softnet sums of 32-bit per-CPU values wrap: a decrease there resets
 * only that counter */
static bool wraps(const char *name)
{
	return !strncmp(name, "softnet.", 8);
}

/* A counter worth keeping: an integer, not negative (the kernel's counters
 * are unsigned; values past 2^63-1 are strings in the facts), so that the
 * difference of two never overflows. */
static bool counter_value(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

/* "prefix.name" into key; false when it does not fit (no kernel counter has
 * such a name, and a cut one could stand for another) */
static bool counter_key(char *key, size_t len, const char *prefix, const char *name)
{
	int n = snprintf(key, len, "%s.%s", prefix, name);

	return n > 0 && (size_t)n < len;
}

static json_t *flat_counters(const json_t *facts)
{
	json_t *out = json_object();
	const json_t *counters = json_object_get(facts, "counters"), *names, *v;
	const json_t *total = json_object_get(json_object_get(facts, "softnet"), "total");
	const char *prefix, *name;
	char key[256];

	if (!out)
		return NULL;
	json_object_foreach((json_t *)counters, prefix, names)
		json_object_foreach((json_t *)names, name, v)
			if (counter_value(v) && !is_gauge(prefix, name) &&
			    counter_key(key, sizeof(key), prefix, name))
				json_object_set(out, key, (json_t *)v);
	json_object_foreach((json_t *)total, name, v)
		if (counter_value(v) && counter_key(key, sizeof(key), "softnet", name))
			json_object_set(out, key, (json_t *)v);
	return out;
}

static json_t *finding_brief(const json_t *f)
{
	return json_pack("{s:O?,s:O?,s:O?,s:O?}", "rule", json_object_get(f, "rule"),
			 "subject", json_object_get(f, "subject"),
			 "severity", json_object_get(f, "severity"),
			 "title", json_object_get(f, "title"));
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* rule + subject, the identity of a finding between runs */
static char *finding_key(const json_t *f)
{
	char *k;

	return asprintf(&k, "%s\t%s", str(f, "rule"), str(f, "subject")) < 0 ? NULL : k;
}

static int sev_rank(const char *s)
{
	enum severity v;

	return severity_parse(s, &v) < 0 ? -1 : (int)v;
}

/* findings of the audit that count (not waived), one per rule + subject
 * (the most severe), as key -> brief */
static json_t *finding_map(const json_t *list, bool fail_only)
{
	json_t *m = json_object();
	const json_t *f;
	size_t i;

	json_array_foreach(list, i, f) {
		char *k;
		json_t *old;

		if (fail_only && strcmp(str(f, "status"), "fail") != 0)
			continue;
		k = finding_key(f);
		if (!k || !m)
			break;
		old = json_object_get(m, k);
		if (!old || sev_rank(str(f, "severity")) > sev_rank(str(old, "severity")))
			json_object_set_new(m, k, finding_brief(f));
		free(k);
	}
	return m;
}

static time_t parse_time(const char *s, bool *ok)
{
	time_t t = 0;

	*ok = timestamp_parse(s, &t);
	return t;
}

static json_t *time_string(time_t t)
{
	char buf[TIMESTAMP_LEN];

	timestamp_format(t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *state_build(const json_t *facts, const json_t *audit)
{
	const json_t *boot = json_object_get(json_object_get(facts, "sysctl"), STATE_BOOT_ID_KEY);
	const json_t *ns = json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "id");
	json_t *fm = finding_map(json_object_get(audit, "findings"), true), *list = json_array(), *v;
	const char *k;
	bool tok;
	time_t now = parse_time(json_string_value(json_object_get(facts, "collected_at")), &tok);

	if (!tok)
		now = time(NULL);
	const json_t *cookie = json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "cookie");
	json_t *st;

	json_object_foreach(fm, k, v)
		json_array_append(list, v);
	json_decref(fm);
	st = json_pack("{s:i,s:{s:s,s:s},s:o,s:O?,s:O?,s:o,s:o}", "state_version", STATE_VERSION,
		       "generator", "name", PACKAGE_NAME, "version", PACKAGE_VERSION,
		       "time", time_string(now),
		       "boot_id", json_is_string(boot) ? boot : NULL,
		       "netns", json_is_string(ns) ? ns : NULL,
		       "counters", flat_counters(facts), "findings", list);
	if (st && json_is_integer(cookie) && json_object_set(st, "netns_cookie", (json_t *)cookie) < 0) {
		json_decref(st);
		return NULL;
	}
	return st;
}

/* ------------------------------------------------------------ comparing */

json_t *state_compare(const json_t *prev, const json_t *cur, const json_t *audit, const char *why_unusable)
{
	json_t *rep, *baseline, *news = json_array(), *resolved = json_array(), *changed = json_array();
	json_t *still = json_array(), *counters = json_array(), *current = json_array();
	json_t *pm = finding_map(json_object_get(prev, "findings"), false);
	json_t *cm = finding_map(json_object_get(cur, "findings"), false), *v, *p;
	const json_t *pc = json_object_get(prev, "counters"), *cc = json_object_get(cur, "counters");
	bool tok, pok, reset = false, quiet;
	time_t t = parse_time(str(cur, "time"), &tok), pt = parse_time(str(prev, "time"), &pok);
	long long elapsed = 0;
	char reason[512] = "";
	const char *k;
	bool increases = false;

	/* findings */
	json_object_foreach(cm, k, v) {
		json_array_append(current, v);
		p = json_object_get(pm, k);
		if (!p) {
			json_array_append(news, v);
		} else if (strcmp(str(p, "severity"), str(v, "severity")) != 0) {
			json_t *c = json_deep_copy(v);

			json_object_set(c, "previous_severity", json_object_get(p, "severity"));
			json_array_append_new(changed, c);
		} else if (!strcmp(str(v, "severity"), "critical")) {
			json_array_append(still, v);
		}
	}
	json_object_foreach(pm, k, v)
		if (!json_object_get(cm, k))
			json_array_append(resolved, v);

	/* the counters' baseline */
	if (!prev) {
		reset = true;
		snprintf(reason, sizeof(reason), "%s", why_unusable ? why_unusable : "first run");
	} else if (json_is_string(json_object_get(prev, "boot_id")) && json_is_string(json_object_get(cur, "boot_id")) &&
		   strcmp(str(prev, "boot_id"), str(cur, "boot_id")) != 0) {
		reset = true;
		snprintf(reason, sizeof(reason), "the host rebooted (the boot id changed)");
	} else if (json_is_string(json_object_get(prev, "netns")) && json_is_string(json_object_get(cur, "netns")) &&
		   strcmp(str(prev, "netns"), str(cur, "netns")) != 0) {
		reset = true;
		snprintf(reason, sizeof(reason), "the network namespace changed (%s, was %s)", str(cur, "netns"),
			 str(prev, "netns"));
	} else if (json_is_integer(json_object_get(prev, "netns_cookie")) &&
		   json_is_integer(json_object_get(cur, "netns_cookie")) &&
		   !json_equal(json_object_get(prev, "netns_cookie"), json_object_get(cur, "netns_cookie"))) {
		reset = true;
		snprintf(reason, sizeof(reason), "the network namespace was created again (%s, a new namespace "
			 "with the inode number of the old one)", str(cur, "netns"));
	} else {
		json_object_foreach((json_t *)cc, k, v) {
			const json_t *o = json_object_get(pc, k);

			if (o && !wraps(k) && json_integer_value(v) < json_integer_value(o)) {
				reset = true;
				snprintf(reason, sizeof(reason),
					 "%s went backwards (%lld, was %lld): a reboot or a new network namespace", k,
					 (long long)json_integer_value(v), (long long)json_integer_value(o));
				break;
			}
		}
	}
	if (prev && tok && pok)
		elapsed = (long long)(t - pt);

	if (!reset) {
		for (size_t i = 0; i < sizeof(trouble) / sizeof(trouble[0]); i++) {
			const json_t *now = json_object_get(cc, trouble[i].name);
			const json_t *was = json_object_get(pc, trouble[i].name);
			long long inc;
			json_t *c;

			if (!now || !was)
				continue;
			/* both 0..2^63-1 (flat_counters, state_validate): no overflow */
			inc = json_integer_value(now) - json_integer_value(was);
			c = json_pack("{s:s,s:s,s:I,s:I}", "name", trouble[i].name, "description", trouble[i].words,
				      "previous", json_integer_value(was), "value", json_integer_value(now));
			if (inc < 0) {
				/* a wrapping counter wrapped or was reset */
				json_object_set_new(c, "increase", json_null());
				json_object_set_new(c, "per_day", json_null());
				json_object_set_new(c, "reset", json_true());
			} else {
				json_object_set_new(c, "increase", json_integer(inc));
				json_object_set_new(c, "per_day", elapsed > 0 ? json_real((double)inc * 86400.0 / (double)elapsed)
									     : json_null());
				json_object_set_new(c, "reset", json_false());
				if (inc > 0)
					increases = true;
			}
			json_array_append_new(counters, c);
		}
	}

	quiet = !json_array_size(news) && !json_array_size(resolved) && !json_array_size(changed) &&
		!json_array_size(still) && !increases && !(reset && prev) && !why_unusable;
	baseline = json_pack("{s:b,s:s?}", "reset", reset, "reason", reset ? reason : NULL);
	rep = json_pack("{s:i,s:{s:s,s:s},s:O,s:O?,s:o,s:o,s:b,s:o,s:O,s:O,s:o,s:o,s:o,s:o,s:o,s:o}",
			"report_version", 1, "generator", "name", PACKAGE_NAME, "version", PACKAGE_VERSION,
			"time", json_object_get(cur, "time"),
			"previous_time", prev ? json_object_get(prev, "time") : NULL,
			"elapsed_seconds", prev && tok && pok ? json_integer(elapsed) : json_null(),
			"baseline", baseline, "quiet", quiet,
			"state_dir", json_null(),
			"verdict", json_object_get(audit, "verdict"), "summary", json_object_get(audit, "summary"),
			"new", news, "resolved", resolved, "changed", changed, "still_critical", still,
			"counters", counters, "findings", current);
	json_decref(pm);
	json_decref(cm);
	return rep;
}
