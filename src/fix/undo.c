/* fix --apply's record of what it replaced (fix/undo.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facts/sysctl.h"
#include "fix/undo.h"
#include "util/timestamp.h"

#define UNDO_VERSION 1

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A drop-in's text: a JSON string when it is UTF-8, which is all a JSON
 * string holds; else its bytes in hex ({"hex": "..."}: a comment in
 * Latin-1 is an admin's line too); null for none.  NULL when out of
 * memory. */
static json_t *text_json(const char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = s ? strlen(s) : 0;
	json_t *v;
	char *hex;

	if (!s)
		return json_null();
	if ((v = json_string(s)))
		return v;
	if (!(hex = malloc(2 * n + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[(unsigned char)s[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
	}
	hex[2 * n] = '\0';
	v = json_pack("{s:s}", "hex", hex);
	free(hex);
	return v;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int fix_undo_text(const json_t *v, char **out)
{
	const char *hex = json_string_value(json_object_get(v, "hex"));
	size_t n;

	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = strdup(json_string_value(v));
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_object(v) || json_object_size(v) != 1 || !hex || (n = strlen(hex)) % 2)
		return -EINVAL;
	if (!(*out = malloc(n / 2 + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		/* a text file has no NUL: fix never read one */
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		(*out)[i] = (char)(hi << 4 | lo);
	}
	(*out)[n / 2] = '\0';
	return 0;
}

/* Is v a text as text_json() makes it (null: allow_null)? */
static bool text_ok(const json_t *v, bool allow_null)
{
	char *s;

	if (!v || (json_is_null(v) && !allow_null))
		return false;
	if (json_is_null(v) || json_is_string(v))
		return true;
	if (fix_undo_text(v, &s) < 0)
		return false;
	free(s);
	return true;
}

char *fix_undo_path(const char *sys)
{
	const char *slash = strrchr(sys, '/');
	char *dir, *real, *out;
	int r;

	if (sys[0] == '/')
		return strdup(sys);
	dir = slash ? strndup(sys, (size_t)(slash - sys)) : strdup(".");
	if (!dir)
		return NULL;
	real = realpath(dir, NULL);
	free(dir);
	if (!real) {
		/* no such directory (here): the path from this one */
		char *cwd = getcwd(NULL, 0);

		r = cwd ? asprintf(&out, "%s/%s", cwd, sys) : -1;
		free(cwd);
		return r < 0 ? NULL : out;
	}
	r = asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", slash ? slash + 1 : sys);
	free(real);
	return r < 0 ? NULL : out;
}

json_t *fix_undo_record(const json_t *facts, const char *target, const char *before, const char *after,
			const struct apply_item *items, size_t n, bool *oom)
{
	const json_t *ns = json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "id");
	const json_t *boot = json_object_get(json_object_get(facts, "sysctl"), STATE_BOOT_ID_KEY);
	char when[TIMESTAMP_LEN], *path = after ? fix_undo_path(target) : NULL;
	json_t *rec, *values = after && !path ? NULL : json_array();
	bool wrote = after && (!before || strcmp(before, after) != 0);

	*oom = false;
	for (size_t i = 0; values && i < n; i++) {
		json_t *v;

		if (items[i].status != APPLY_SET || !items[i].old)
			continue;
		v = json_pack("{s:s, s:s, s:s}", "key", items[i].key, "before", items[i].old, "after",
			      items[i].text);
		if (!v || json_array_append_new(values, v) < 0) {
			json_decref(values);
			values = NULL;
		}
	}
	if (!values) {
		free(path);
		*oom = true;
		return NULL;
	}
	if (!json_array_size(values) && !wrote) {
		free(path);
		json_decref(values);
		return NULL;
	}
	timestamp_format(time(NULL), when, sizeof(when));
	rec = json_pack("{s:i, s:s, s:O?, s:O?, s:o, s:o}", "version", UNDO_VERSION, "applied_at", when, "netns",
			json_is_string(ns) ? ns : NULL, "boot_id", json_is_string(boot) ? boot : NULL, "target",
			str_or_null(path), "values", values);
	free(path);
	if (rec && after &&
	    json_object_set_new(rec, "dropin", json_pack("{s:o, s:o}", "before", text_json(before), "after",
							 text_json(after))) < 0) {
		json_decref(rec);
		rec = NULL;
	}
	*oom = !rec;
	return rec;
}

/* Structural check: 0, or -1 with a reason in err. */
static int check(const json_t *rec, char *err, size_t errlen)
{
	const json_t *v, *d = json_object_get(rec, "dropin");
	size_t i;

	if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "version")) != UNDO_VERSION) {
		snprintf(err, errlen, "not a record of fix --apply (version %d)", UNDO_VERSION);
		return -1;
	}
	if (!json_is_array(json_object_get(rec, "values"))) {
		snprintf(err, errlen, "no list of values");
		return -1;
	}
	json_array_foreach(json_object_get(rec, "values"), i, v) {
		const char *k = json_string_value(json_object_get(v, "key"));

		if (!k || sysctl_key_parse(k, NULL, NULL, NULL) < 0 ||
		    !json_is_string(json_object_get(v, "before")) || !json_is_string(json_object_get(v, "after"))) {
			snprintf(err, errlen, "values[%zu]: a key, its value before and after expected", i);
			return -1;
		}
	}
	if (d && (!json_is_object(d) || !text_ok(json_object_get(d, "after"), false) ||
		  !text_ok(json_object_get(d, "before"), true) || !json_is_string(json_object_get(rec, "target")))) {
		snprintf(err, errlen, "dropin: the target and its text before and after expected");
		return -1;
	}
	return 0;
}

int fix_undo_load(const struct state_dir *sd, json_t **rec, char *err, size_t errlen)
{
	int r = state_read_json(sd, FIX_UNDO_FILE, rec, err, errlen);

	if (r < 0)
		return -1;
	if (*rec && check(*rec, err, errlen) < 0) {
		json_decref(*rec);
		*rec = NULL;
		return -1;
	}
	return 0;
}

int fix_undo_save(const struct state_dir *sd, const json_t *rec)
{
	return state_write_json(sd, FIX_UNDO_FILE, rec);
}

struct apply_item *fix_undo_items(const json_t *rec, const char ***expect, size_t *n)
{
	const json_t *values = json_object_get(rec, "values"), *v;
	size_t i, count = json_array_size(values);
	struct apply_item *items = calloc(count + 1, sizeof(*items));

	*expect = calloc(count + 1, sizeof(**expect));
	*n = 0;
	if (!items || !*expect) {
		free(items);
		free(*expect);
		*expect = NULL;
		return NULL;
	}
	/* newest last when applied: undone in reverse, as a rollback is */
	json_array_foreach(values, i, v) {
		size_t k = count - 1 - i;

		items[k].key = json_string_value(json_object_get(v, "key"));
		items[k].text = json_string_value(json_object_get(v, "before"));
		(*expect)[k] = json_string_value(json_object_get(v, "after"));
	}
	*n = count;
	return items;
}
