/* The history of sysctl values kept in the state directory, and the facts'
 * history section (history.h).  Everything but history_load() and
 * history_save() works on JSON documents only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/history.h"
#include "util/log.h"
#include "util/timestamp.h"

const char *const history_keys[] = { "net.core.somaxconn", NULL };

/* ------------------------------------------------------------- checking */

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

int history_validate(const json_t *doc, char *err, size_t errlen)
{
	const json_t *recs, *r;
	size_t i;

	if (!json_is_object(doc))
		return bad(err, errlen, "not a JSON object");
	if (json_integer_value(json_object_get(doc, "history_version")) != HISTORY_VERSION)
		return bad(err, errlen, "history_version is not 1");
	recs = json_object_get(doc, "records");
	if (!json_is_array(recs))
		return bad(err, errlen, "records is not a list");
	json_array_foreach(recs, i, r) {
		const json_t *ps = json_object_get(r, "periods"), *p, *ns, *boot;
		size_t j;

		ns = json_object_get(r, "netns");
		boot = json_object_get(r, "boot_id");
		if (!json_is_object(r) || !json_is_string(json_object_get(r, "key")) ||
		    !(json_is_string(ns) || json_is_null(ns)) ||
		    !(json_is_string(boot) || json_is_null(boot)) || !json_is_array(ps))
			return bad(err, errlen, "a record needs key, netns, boot_id and periods");
		if (json_object_get(r, "netns_cookie") && !json_is_integer(json_object_get(r, "netns_cookie")))
			return bad(err, errlen, "a record's netns_cookie is not an integer");
		json_array_foreach(ps, j, p) {
			const json_t *since = json_object_get(p, "since"), *until = json_object_get(p, "until");

			if (!json_is_object(p) || !json_object_get(p, "value") || !json_is_integer(since) ||
			    !json_is_integer(until) || json_integer_value(since) > json_integer_value(until))
				return bad(err, errlen, "a period needs value, since and until (since <= until)");
		}
	}
	return 0;
}

/* ------------------------------------------------------------- noting */

json_t *history_netns_cookie(const json_t *facts)
{
	const json_t *c = json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "cookie");

	return json_is_integer(c) ? json_incref((json_t *)c) : json_null();
}

/* The namespace and boot of the facts, and when they were collected. */
struct who {
	json_t *netns, *boot;   /* strings, or JSON null */
	json_t *cookie;         /* the namespace's cookie (integer), or JSON null */
	time_t when;
};

static void who_of(const json_t *facts, struct who *w)
{
	const json_t *ns = json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "id");
	const json_t *boot = json_object_get(json_object_get(facts, "sysctl"), STATE_BOOT_ID_KEY);

	w->netns = json_is_string(ns) ? json_incref((json_t *)ns) : json_null();
	w->boot = json_is_string(boot) ? json_incref((json_t *)boot) : json_null();
	w->cookie = history_netns_cookie(facts);
	if (!timestamp_parse(json_string_value(json_object_get(facts, "collected_at")), &w->when))
		w->when = time(NULL);
}

static void who_free(struct who *w)
{
	json_decref(w->netns);
	json_decref(w->boot);
	json_decref(w->cookie);
}

/* Same namespace: the inode number names a namespace only while it lives
 * (the next one gets it when it is deleted); the cookie, where both sides
 * know it, tells a namespace created again from the one that was. */
static bool same_who(const json_t *r, const struct who *w)
{
	const json_t *c = json_object_get(r, "netns_cookie");

	return json_equal(json_object_get(r, "netns"), w->netns) &&
	       json_equal(json_object_get(r, "boot_id"), w->boot) &&
	       (!json_is_integer(c) || !json_is_integer(w->cookie) || json_equal(c, w->cookie));
}

static json_t *find_record(const json_t *doc, const struct who *w, const char *key)
{
	const json_t *recs = json_object_get(doc, "records");
	json_t *r;
	size_t i;

	json_array_foreach(recs, i, r)
		if (same_who(r, w) && !strcmp(json_string_value(json_object_get(r, "key")), key))
			return r;
	return NULL;
}

static json_int_t last_until(const json_t *r)
{
	const json_t *ps = json_object_get(r, "periods");

	return json_integer_value(json_object_get(json_array_get(ps, json_array_size(ps) - 1), "until"));
}

/* Keep the document bounded: the oldest periods of a record, and the
 * records last seen longest ago. */
static void prune(json_t *doc, json_t *rec)
{
	json_t *ps = json_object_get(rec, "periods"), *recs = json_object_get(doc, "records");

	while (json_array_size(ps) > HISTORY_MAX_PERIODS)
		json_array_remove(ps, 0);
	while (json_array_size(recs) > HISTORY_MAX_RECORDS) {
		size_t oldest = 0;

		for (size_t i = 1; i < json_array_size(recs); i++)
			if (last_until(json_array_get(recs, i)) < last_until(json_array_get(recs, oldest)))
				oldest = i;
		json_array_remove(recs, oldest);
	}
}

/* One sighting of value for key at w->when.  A sighting older than the last
 * period with another value cannot be placed and is left out. */
static int sight(json_t *doc, const struct who *w, const char *key, const json_t *value,
		 const char *by)
{
	json_t *rec = find_record(doc, w, key), *ps, *last;
	json_int_t t = (json_int_t)w->when;

	if (!rec) {
		rec = json_pack("{s:s,s:O,s:O,s:[]}", "key", key, "netns", w->netns, "boot_id", w->boot,
				"periods");
		if (!rec || json_array_append_new(json_object_get(doc, "records"), rec) < 0)
			return -ENOMEM;
	}
	if (json_is_integer(w->cookie) && !json_object_get(rec, "netns_cookie") &&
	    json_object_set(rec, "netns_cookie", w->cookie) < 0)
		return -ENOMEM;
	ps = json_object_get(rec, "periods");
	last = json_array_get(ps, json_array_size(ps) - 1);
	if (last && json_equal(json_object_get(last, "value"), value)) {
		if (t > json_integer_value(json_object_get(last, "until")))
			json_object_set_new(last, "until", json_integer(t));
		if (t < json_integer_value(json_object_get(last, "since")))
			json_object_set_new(last, "since", json_integer(t));
		return 0;
	}
	if (last && t < json_integer_value(json_object_get(last, "until")))
		return 0;
	if (json_array_append_new(ps, json_pack("{s:O,s:I,s:I,s:s}", "value", value, "since", t,
						"until", t, "by", by)) < 0)
		return -ENOMEM;
	prune(doc, rec);
	return 0;
}

static json_t *doc_or_new(json_t *doc)
{
	if (doc)
		return json_incref(doc);
	return json_pack("{s:i,s:[]}", "history_version", HISTORY_VERSION, "records");
}

json_t *history_note_facts(json_t *doc, const json_t *facts, const char *by)
{
	const json_t *sysctl = json_object_get(facts, "sysctl");
	struct who w;

	if (!(doc = doc_or_new(doc)))
		return NULL;
	who_of(facts, &w);
	for (size_t i = 0; history_keys[i]; i++) {
		const json_t *v = json_object_get(sysctl, history_keys[i]);

		if (v && sight(doc, &w, history_keys[i], v, by) < 0) {
			json_decref(doc);
			doc = NULL;
			break;
		}
	}
	who_free(&w);
	return doc;
}

json_t *history_note_change(json_t *doc, const json_t *facts, const char *key,
			    const json_t *before, const json_t *after, time_t now)
{
	struct who w;
	int r = 0;

	if (!(doc = doc_or_new(doc)))
		return NULL;
	who_of(facts, &w);
	w.when = now;
	if (before)
		r = sight(doc, &w, key, before, "fix");
	if (r == 0 && after)
		r = sight(doc, &w, key, after, "fix");
	who_free(&w);
	if (r < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ------------------------------------------------------------- facts */

static json_t *stamp(json_int_t t)
{
	char buf[TIMESTAMP_LEN];

	timestamp_format((time_t)t, buf, sizeof(buf));
	return json_string(buf);
}

/* The periods of key for the facts' namespace and boot, the facts' own
 * reading the last sighting: a list, or NULL when netknobs has none. */
static json_t *facts_periods(const json_t *doc, const json_t *facts, const struct who *w,
			     const char *key)
{
	const json_t *rec = find_record(doc, w, key), *now = json_object_get(json_object_get(facts, "sysctl"), key);
	json_t *copy, *out, *p;
	size_t i;

	if (!rec)
		return NULL;
	copy = json_pack("{s:[O]}", "records", rec);
	if (!copy)
		return NULL;
	if (now && sight(copy, w, key, now, "facts") < 0) {
		json_decref(copy);
		return NULL;
	}
	out = json_array();
	json_array_foreach(json_object_get(json_array_get(json_object_get(copy, "records"), 0), "periods"), i, p) {
		json_int_t since = json_integer_value(json_object_get(p, "since"));
		json_int_t until = json_integer_value(json_object_get(p, "until"));

		json_array_append_new(out, json_pack("{s:O,s:I,s:I,s:o,s:o}", "value", json_object_get(p, "value"),
						     "since", since, "until", until, "since_at", stamp(since),
						     "until_at", stamp(until)));
	}
	json_decref(copy);
	return out;
}

/* Whether the counter named k ("TcpExt.X") of the state is one of the
 * namespace's own (softnet's are the host's, and wrap). */
static bool netns_counter(const char *k)
{
	return strncmp(k, "softnet.", 8) != 0;
}

/* Whether a counter of the namespace is lower in the facts than in the
 * previous run's state: the counters started again from zero after that
 * run, in a namespace created since with the same identity (the kernel
 * gives a deleted namespace's inode number to the next one at once). */
static bool counters_reset(const json_t *pc, const json_t *facts)
{
	const json_t *cur = json_object_get(facts, "counters");
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)pc, k, v) {
		const char *dot = strchr(k, '.');
		const json_t *now;
		char prefix[64];

		if (!dot || dot == k || (size_t)(dot - k) >= sizeof(prefix) || !json_is_integer(v) ||
		    !netns_counter(k))
			continue;
		memcpy(prefix, k, (size_t)(dot - k));
		prefix[dot - k] = '\0';
		now = json_object_get(json_object_get(cur, prefix), dot + 1);
		if (json_is_integer(now) && json_integer_value(now) >= 0 &&
		    json_integer_value(now) < json_integer_value(v))
			return true;
	}
	return false;
}

/* The previous report's counters, nested as in the facts ("TcpExt.X" ->
 * TcpExt.X), when it saw the same boot and namespace.  When the
 * namespace's counters went backwards since, everything they count now came
 * after that run: its counters of the namespace are 0 then, and
 * counters_reset says so. */
static json_t *previous(const json_t *prev, const struct who *w, const json_t *facts)
{
	json_t *pc = json_object_get(prev, "counters"), *v;
	const char *pt = json_string_value(json_object_get(prev, "time")), *k;
	json_t *counters, *out;
	bool reset;
	time_t t;

	if (!prev || !json_is_string(w->netns) || !json_is_string(w->boot) || !same_who(prev, w) ||
	    !timestamp_parse(pt, &t) || t > w->when)
		return NULL;
	reset = counters_reset(pc, facts);
	counters = json_object();
	json_object_foreach(pc, k, v) {
		const char *dot = strchr(k, '.');
		char prefix[64];
		json_t *g;

		if (!dot || dot == k || (size_t)(dot - k) >= sizeof(prefix) || !json_is_integer(v) ||
		    json_integer_value(v) < 0)
			continue;
		memcpy(prefix, k, (size_t)(dot - k));
		prefix[dot - k] = '\0';
		if (!(g = json_object_get(counters, prefix))) {
			g = json_object();
			json_object_set_new(counters, prefix, g);
		}
		json_object_set_new(g, dot + 1, json_integer(reset && netns_counter(k) ? 0 : json_integer_value(v)));
	}
	out = json_pack("{s:s,s:I,s:o}", "time", pt, "seconds_ago", (json_int_t)(w->when - t),
			"counters", counters);
	if (out && reset)
		json_object_set_new(out, "counters_reset", json_true());
	return out;
}

json_t *history_facts(const json_t *doc, const json_t *prev, const json_t *facts)
{
	json_t *h = json_object(), *sys = json_object(), *p;
	struct who w;

	if (!h || !sys) {
		json_decref(h);
		json_decref(sys);
		return NULL;
	}
	who_of(facts, &w);
	for (size_t i = 0; doc && history_keys[i]; i++)
		if ((p = facts_periods(doc, facts, &w, history_keys[i])))
			json_object_set_new(sys, history_keys[i], p);
	if (json_object_size(sys))
		json_object_set(h, "sysctl", sys);
	json_decref(sys);
	if ((p = previous(prev, &w, facts)))
		json_object_set_new(h, "previous", p);
	who_free(&w);
	if (!json_object_size(h)) {
		json_decref(h);
		return NULL;
	}
	return h;
}

int history_add_to_facts(json_t *facts, const json_t *doc, const json_t *prev)
{
	json_t *h;

	if (json_object_get(facts, "history"))
		return 0;
	h = history_facts(doc, prev, facts);
	if (h && json_object_set_new(facts, "history", h) < 0)
		return -ENOMEM;
	return 0;
}

/* ------------------------------------------------------------- files */

int history_load(const struct state_dir *sd, json_t **out)
{
	char err[256] = "", *moved = NULL;
	int r = state_read_json(sd, HISTORY_FILE, out, err, sizeof(err));

	if (r == 0 && *out && history_validate(*out, err, sizeof(err)) < 0) {
		json_decref(*out);
		*out = NULL;
		r = -EINVAL;
	}
	if (r < 0 && !state_file_at_fault(r)) {
		/* not the file's fault: it stays for the next run */
		log_error("%s/%s: cannot read: %s; left as it is", sd->path, HISTORY_FILE, err);
		return r;
	}
	if (r < 0) {
		/* keep what cannot be used, under a name of its own */
		if (state_move_aside(sd, HISTORY_FILE, &moved) == 0)
			log_warn("%s/%s: %s; moved to %s, starting a new history", sd->path, HISTORY_FILE, err,
				 moved);
		else
			log_warn("%s/%s: %s; it is replaced", sd->path, HISTORY_FILE, err);
		free(moved);
	}
	return 0;
}

int history_save(const struct state_dir *sd, const json_t *doc)
{
	return state_write_json(sd, HISTORY_FILE, doc);
}

/* Owned by the running user or root, writable by no one else: root's
 * files may be read by anyone who can, the state directory of report run
 * from a system timer being root's. */
static bool trusted(int dirfd, const char *path)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return false;
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warn("state directory %s: owned by uid %u or writable by others: its history is not "
			 "used", path, (unsigned)st.st_uid);
		return false;
	}
	return true;
}

int history_read_dir(const char *path, json_t **hist, json_t **prev)
{
	/* the directory without its lock: files there are replaced by rename,
	 * so a reader sees a whole old or a whole new one */
	struct state_dir sd = { (char *)path, -1, -1 };
	char err[256];

	*hist = *prev = NULL;
	sd.dirfd = state_open_existing(path);
	if (sd.dirfd < 0) {
		if (sd.dirfd != -ENOENT)
			log_warn("state directory %s: its history is not used", path);
		return 0;
	}
	if (!trusted(sd.dirfd, path)) {
		close(sd.dirfd);
		return 0;
	}
	if (state_read_json(&sd, HISTORY_FILE, hist, err, sizeof(err)) < 0 ||
	    (*hist && history_validate(*hist, err, sizeof(err)) < 0)) {
		log_warn("%s/%s: %s: not used", path, HISTORY_FILE, err);
		json_decref(*hist);
		*hist = NULL;
	}
	if (state_read_json(&sd, "latest.json", prev, err, sizeof(err)) < 0 ||
	    (*prev && state_validate(*prev, err, sizeof(err)) < 0)) {
		json_decref(*prev);
		*prev = NULL;
	}
	close(sd.dirfd);
	return 0;
}
