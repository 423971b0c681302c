/* netknobs fix's document (fix/doc.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "facts/netns-scan.h"
#include "fix/doc.h"
#include "util/fileio.h"

/* A string of the system's (a file's text, a path given): kept as it is,
 * even when it is not UTF-8 (the text escapes it; JSON refuses it when
 * written). */
static json_t *doc_bytes(const char *s)
{
	return json_string_nocheck(s);
}

/* The entry of out for the SO_REUSEPORT group of l (same address and
 * port), or NULL: a group is named once, with its number of sockets. */
static json_t *restart_group(json_t *out, const json_t *l)
{
	json_t *o;
	size_t i;

	if (!json_is_object(json_object_get(l, "reuseport")))
		return NULL;
	json_array_foreach(out, i, o) {
		if (json_is_integer(json_object_get(o, "sockets")) &&
		    json_equal(json_object_get(o, "address"), json_object_get(l, "address")) &&
		    json_equal(json_object_get(o, "port"), json_object_get(l, "port")))
			return o;
	}
	return NULL;
}

/* A listener is named when its limit is the old somaxconn (their limit is
 * the old somaxconn; an application that asked for exactly that looks the
 * same).  None when somaxconn did not change: a listener below it then
 * asked for less itself, or was capped by an older value, which this run
 * did not change. */
json_t *fix_restarts(const json_t *facts, const struct apply_item *items, size_t n)
{
	const json_t *listeners = json_object_get(json_object_get(facts, "sockets"), "listeners"), *l;
	json_t *out = json_array(), *g;
	long long now = -1, oldv = -1;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(items[i].key, "net.core.somaxconn") != 0 || items[i].status != APPLY_SET)
			continue;
		if (parse_int64(items[i].text, &now) < 0 || !items[i].old || parse_int64(items[i].old, &oldv) < 0)
			now = oldv = -1;
	}
	if (now < 0 || oldv < 0 || now <= oldv)
		return out;
	json_array_foreach(listeners, i, l) {
		const json_t *lim = json_object_get(l, "limit");
		json_t *o;

		if (!json_is_integer(lim) || json_integer_value(lim) != oldv)
			continue;
		g = restart_group(out, l);
		if (g) {
			if (json_object_set_new(g, "sockets", json_integer(json_integer_value(
							json_object_get(g, "sockets")) + 1)) < 0) {
				json_decref(out);
				return NULL;
			}
			continue;
		}
		o = json_pack("{s:O?, s:O?, s:O, s:O?, s:I, s:I, s:b}", "address", json_object_get(l, "address"),
			      "port", json_object_get(l, "port"), "limit", lim, "processes",
			      json_object_get(l, "processes"), "somaxconn", (json_int_t)now, "old_somaxconn",
			      (json_int_t)oldv, "limit_equals_old_somaxconn", 1);
		if (o && json_is_object(json_object_get(l, "reuseport")) &&
		    json_object_set_new(o, "sockets", json_integer(1)) < 0) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *entries_json(const struct dropin *d)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < d->n; i++) {
		const struct dropin_entry *e = &d->e[i];
		json_t *o = json_pack("{s:s, s:O, s:o, s:b, s:O}", "key", e->key, "value", e->value, "text",
				      doc_bytes(e->text), "kept", e->kept, "rules", e->rules);

		if (!o)
			goto fail;
		if (e->runtime && json_object_set(o, "runtime", e->runtime) < 0)
			goto fail_o;
		if (e->overridden_by && (json_object_set_new(o, "overridden_by", doc_bytes(e->overridden_by)) < 0 ||
					 json_object_set(o, "boot", e->boot) < 0))
			goto fail_o;
		if (json_array_append_new(a, o) < 0)
			goto fail;
		continue;
fail_o:
		json_decref(o);
fail:
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *fix_apply_json(const struct apply_item *items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:o?, s:s, s:s?}", "key", items[i].key, "value", items[i].text,
				      "old", items[i].old ? doc_bytes(items[i].old) : NULL, "status",
				      apply_status_name(items[i].status), "error", items[i].error);

		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

const char *fix_apply_summary(const struct apply_item *items, size_t n)
{
	bool failed = false, unrestored = false, restored = false;

	for (size_t i = 0; i < n; i++) {
		failed |= items[i].status == APPLY_FAILED || items[i].status == APPLY_ROLLBACK_FAILED;
		unrestored |= items[i].status == APPLY_ROLLBACK_FAILED;
		restored |= items[i].status == APPLY_ROLLED_BACK;
	}
	if (unrestored)
		return "some values could not be put back (above): the running values are now mixed";
	if (failed && restored)
		return "every value set before the failure was put back (read back)";
	if (failed)
		return "no value was changed (read back)";
	return NULL;
}

json_t *fix_doc_new(const struct fix_build *b, bool to_stdout, bool done, const struct apply_item *items,
		    size_t n, const json_t *restart)
{
	const struct dropin *d = &b->d;
	json_t *o = json_pack("{s:b, s:s, s:b, s:b, s:o, s:o, s:O, s:O}", "ok", 1, "target", b->t->sys, "exists",
			      b->old != NULL, "changed", b->changed, "content", doc_bytes(d->content), "entries",
			      entries_json(d), "warnings", d->warnings, "notes", d->notes);

	if (!o)
		return NULL;
	if ((done && json_object_set_new(o, "written", json_boolean(b->changed && !to_stdout)) < 0) ||
	    (b->backup && json_object_set_new(o, "backup", json_sprintf("%s.bak", b->t->sys)) < 0) ||
	    (items && json_object_set_new(o, "applied", fix_apply_json(items, n)) < 0) ||
	    (items && restart && json_object_set(o, "restart", (json_t *)restart) < 0) ||
	    (!to_stdout && json_object_set_new(o, "path", doc_bytes(b->t->display)) < 0) ||
	    json_object_set_new(o, "stdout", json_boolean(to_stdout)) < 0 ||
	    (b->old && json_object_set_new(o, "previous", doc_bytes(b->old)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *fix_doc_failure(const char *error, const char *target, const struct apply_item *items, size_t n)
{
	json_t *o = json_pack("{s:b, s:s, s:b}", "ok", 0, "error", error, "written", 0);

	if (!o)
		return NULL;
	if (target && json_object_set_new(o, "target", json_string(target)) < 0)
		goto fail;
	if (items) {
		bool changed = false;

		for (size_t i = 0; i < n; i++)
			changed |= items[i].status == APPLY_SET || items[i].status == APPLY_ROLLBACK_FAILED;
		/* true only when a value could not be put back */
		if (json_object_set_new(o, "applied", fix_apply_json(items, n)) < 0 ||
		    json_object_set_new(o, "running_values_changed", json_boolean(changed)) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *fix_doc_netns(const json_t *audit, const struct netns_entry *e)
{
	const json_t *recs = json_object_get(audit, "recommendations"), *r;
	json_t *settings = json_array(), *o, *doc = NULL;
	char *why = NULL;
	size_t i;

	if (!settings || asprintf(&why, "%s is a network namespace of its own (%s, net:[%llu]): at boot the "
				 "sysctl.d files, %s among them, are applied to the host's initial namespace "
				 "only, and a new namespace starts at the kernel's defaults; its values are set "
				 "by whatever creates it", e->name, netns_kind_name(e->kind), (unsigned long long)e->id.ino,
				 FIX_DEFAULT_TARGET) < 0) {
		why = NULL;
		goto out;
	}
	json_array_foreach(recs, i, r) {
		if (json_is_true(json_object_get(r, "satisfied")))
			continue;
		o = json_pack("{s:O?, s:O?, s:O*, s:O?, s:O?, s:O?}", "key", json_object_get(r, "key"), "value",
			      json_object_get(r, "value"), "current", json_object_get(r, "current"), "rules",
			      json_object_get(r, "rules"), "now", json_object_get(r, "sysctl_w"), "persist",
			      json_object_get(r, "persist"));
		if (!o || json_array_append_new(settings, o) < 0)
			goto out;
	}
	doc = json_pack("{s:b, s:O, s:b, s:s, s:O, s:b}", "ok", 1, "netns", json_object_get(audit, "netns"),
			"sysctl_d_applies", 0, "why", why, "settings", settings, "written", 0);
out:
	json_decref(settings);
	free(why);
	return doc;
}
