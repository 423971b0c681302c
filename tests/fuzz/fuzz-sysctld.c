/* libFuzzer target: a sysctl.d file's text through the reader (as
 * systemd-sysctl would read it) and, as the drop-in already there, through
 * netknobs fix's rewrite.  Besides crashes and undefined behaviour it stops
 * on a broken promise:
 *  - the reader: every key comes from a line the text has;
 *  - the rewrite with no recommendation loses no line of the admin's (all
 *    but our header's own lines stay, in their order);
 *  - a rewrite run again on its own output changes nothing;
 *  - the rewrite with a recommendation for net.core.somaxconn changes what
 *    boot applies for that key only, and sets it to the recommendation (or
 *    the higher value the file had).
 * Build and run: tests/fuzz/run sysctld. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "facts/sysctld.h"
#include "fix/dropin.h"
#include "rules/rules.h"
#include "util/lines.h"
#include "util/log.h"

#define PATH "/etc/sysctl.d/90-netknobs.conf"
#define KEY "net.core.somaxconn"

static json_t *audit0, *audit1, *facts;
static struct rulebook rb;

static const char header_mark[] = "# Written by `netknobs fix";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void init(void)
{
	static const char rules[] =
		"ruleset: fz\nversion: 1\nrules:\n"
		"  - id: fz.somaxconn\n    title: Accept queues are capped too low\n    severity: warning\n"
		"    check: sysctl(\"net.core.somaxconn\") >= 8192\n    message: low\n"
		"    recommend:\n      net.core.somaxconn: 8192\n    rationale: queues\n";

	log_quiet(1);
	audit0 = json_loads("{\"recommendations\": []}", 0, NULL);
	audit1 = json_loads("{\"recommendations\": [{\"key\": \"" KEY "\", \"value\": 8192, \"mode\": "
			    "\"at-least\", \"rules\": [\"fz.somaxconn\"], \"notes\": [\"listen() again\"]}]}",
			    0, NULL);
	facts = json_loads("{\"sysctl\": {\"" KEY "\": 4096}}", 0, NULL);
	rulebook_init(&rb);
	rulebook_load_buffer(&rb, "fz.yaml", rules, sizeof(rules) - 1);
	rulebook_finish(&rb);
	if (!audit0 || !audit1 || !facts || rb.errors)
		abort();
}

static char *rewrite(const json_t *audit, const char *text)
{
	struct dropin d;
	char *out;

	if (dropin_build(&d, audit, facts, &rb, PATH, text) < 0)
		abort();      /* out of memory only */
	out = strdup(d.len ? d.content : text);
	dropin_free(&d);
	if (!out)
		abort();
	return out;
}

static json_t *read_keys(const char *text, size_t len)
{
	json_t *doc = json_object(), *keys;

	if (!doc || sysctld_parse_buffer(doc, PATH, text, len) < 0)
		abort();
	keys = json_incref(json_object_get(json_object_get(doc, "persistent"), "keys"));
	json_decref(doc);
	if (!keys)
		abort();
	return keys;
}

static bool is_blank(const char *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] != ' ' && l[i] != '\t')
			return false;
	return true;
}

static bool is_comment(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && (l[i] == '#' || l[i] == ';');
}

/* A line of the header netknobs writes now (every line starts with '#'). */
static bool header_line(const char *l, size_t n)
{
	static const char *const lines[] = {
		"# Written by `netknobs fix --write`: the sysctl settings the netknobs rules",
		"# recommend for this host, each with the rules that asked for it and why.",
		"# A setting no rule asks for any more is kept; to stop persisting it, delete",
		"# its lines.  Files applied after this one (by name) win over it.",
	};

	for (size_t i = 0; i < 4; i++)
		if (strlen(lines[i]) == n && !memcmp(lines[i], l, n))
			return true;
	return false;
}

/* A line that sets or excludes KEY, or one netknobs writes above it. */
static bool about_key(const char *l, size_t n)
{
	char *copy = strndup(l, n), *s, *e, key[SYSCTL_KEY_MAX + 1];
	bool r;

	if (!copy)
		abort();
	for (s = copy; *s == ' ' || *s == '\t'; s++)
		;
	if (*s == '-')
		s++;
	if ((e = strchr(s, '=')))
		*e = '\0';
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	/* the comment lines compared as they are (copy was cut above) */
	r = (sysctl_key_parse(s, NULL, key, NULL) == 0 && !strcmp(key, KEY)) ||
	    (n >= 15 && !memcmp(l, "# recommended: ", 15)) || (n >= 8 && !memcmp(l, "# note: ", 8)) ||
	    (n == 48 && !memcmp(l, "# fz.somaxconn: Accept queues are capped too low", 48));
	free(copy);
	return r;
}

/* Every non-blank line of in but our header's (and with rec those about
 * KEY) is a line of out, in order. */
static void check_no_line_lost(const char *in, const char *out, bool rec)
{
	struct lines li, lo;
	const char *l, *o;
	size_t n, m;
	bool in_first = false, started = false;

	lines_init(&li, in, strlen(in));
	lines_init(&lo, out, strlen(out));
	while (lines_next(&li, &l, &n)) {
		bool found = false;

		if (is_blank(l, n)) {
			in_first = false;
			if (started)
				continue;
			continue;
		}
		if (!started) {
			started = true;
			in_first = n >= sizeof(header_mark) - 1 && !memcmp(l, header_mark, sizeof(header_mark) - 1);
			if (in_first)
				continue;     /* the header's first line, of any version */
		}
		if (in_first && is_comment(l, n)) {
			if (header_line(l, n))
				continue;
		} else {
			in_first = false;
		}
		if (rec && about_key(l, n))
			continue;
		while (!found && lines_next(&lo, &o, &m))
			found = m == n && !memcmp(o, l, n);
		if (!found) {
			fprintf(stderr, "line lost: '%.*s'\n--- in:\n%s\n--- out:\n%s\n", (int)n, l, in, out);
			abort();
		}
	}
}

/* What boot applies is the same for every key but KEY, which is at least
 * the recommendation. */
static void check_same_but_key(const char *in, const char *out)
{
	json_t *a = read_keys(in, strlen(in)), *b = read_keys(out, strlen(out)), *v, *w;
	const char *k;

	json_object_foreach(a, k, v) {
		if (!strcmp(k, KEY))
			continue;
		w = json_object_get(b, k);
		if (!w || !json_equal(json_object_get(v, "value"), json_object_get(w, "value")) ||
		    json_is_true(json_object_get(v, "exclude")) != json_is_true(json_object_get(w, "exclude"))) {
			fprintf(stderr, "%s changed\n--- in:\n%s\n--- out:\n%s\n", k, in, out);
			abort();
		}
	}
	json_object_foreach(b, k, w)
		if (strcmp(k, KEY) != 0 && !json_object_get(a, k)) {
			fprintf(stderr, "%s appeared\n--- in:\n%s\n--- out:\n%s\n", k, in, out);
			abort();
		}
	v = json_object_get(json_object_get(b, KEY), "value");
	if (!json_is_integer(v) || json_integer_value(v) < 8192) {
		fprintf(stderr, KEY " not set\n--- in:\n%s\n--- out:\n%s\n", in, out);
		abort();
	}
	json_decref(a);
	json_decref(b);
}

static void check_reader(const char *text, size_t len)
{
	json_t *keys = read_keys(text, len), *v;
	struct lines ls;
	const char *l, *k;
	size_t n, nlines = 0;

	lines_init(&ls, text, len);
	while (lines_next(&ls, &l, &n))
		nlines++;
	json_object_foreach(keys, k, v) {
		const char *origin = json_string_value(json_object_get(v, "origin")), *c;
		unsigned long line;

		if (!origin || strncmp(origin, PATH ":", sizeof(PATH)) != 0)
			abort();
		c = origin + sizeof(PATH);
		line = strtoul(c, NULL, 10);
		if (line < 1 || line > nlines) {
			fprintf(stderr, "%s from line %lu of %zu\n", k, line, nlines);
			abort();
		}
	}
	json_decref(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *out0, *out1, *again;

	if (!audit0)
		init();
	check_reader((const char *)data, size);

	/* the drop-in: netknobs fix refuses a file with a NUL byte */
	if (memchr(data, '\0', size))
		return 0;
	text = strndup((const char *)data, size);
	if (!text)
		abort();
	out0 = rewrite(audit0, text);
	check_no_line_lost(text, out0, false);
	again = rewrite(audit0, out0);
	if (strcmp(again, out0) != 0) {
		fprintf(stderr, "not stable\n--- once:\n%s\n--- twice:\n%s\n", out0, again);
		abort();
	}
	free(again);
	out1 = rewrite(audit1, text);
	check_same_but_key(text, out1);
	check_no_line_lost(text, out1, true);
	again = rewrite(audit1, out1);
	if (strcmp(again, out1) != 0) {
		fprintf(stderr, "not stable\n--- once:\n%s\n--- twice:\n%s\n", out1, again);
		abort();
	}
	free(again);
	free(out0);
	free(out1);
	free(text);
	return 0;
}
