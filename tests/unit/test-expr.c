/* Expression language: runs the cases of tests/unit/expr.test (the format is
 * described at the top of that file), then a few checks of the C API that a
 * data file cannot express. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "rules/expr.h"
#include "tap.h"

#define MAX_ITEMS 4

struct tcase {
	unsigned line;          /* of the first key */
	char name[256];
	char *expr;             /* lines of expr: joined with '\n' */
	size_t expr_len;
	char facts[64];
	char *vars;
	char *tables;
	char *item_name[MAX_ITEMS];
	char *item_path[MAX_ITEMS];
	unsigned n_items;
	char *want, *format, *format_sysctl, *keys, *truth;
	char *parse_error, *eval_error;
	int col, eline;         /* expected error position, 0: not checked */
};

static const char *fixtures_dir;

static void tcase_clear(struct tcase *t)
{
	free(t->expr);
	free(t->vars);
	free(t->tables);
	for (unsigned i = 0; i < t->n_items; i++) {
		free(t->item_name[i]);
		free(t->item_path[i]);
	}
	free(t->want);
	free(t->format);
	free(t->format_sysctl);
	free(t->keys);
	free(t->truth);
	free(t->parse_error);
	free(t->eval_error);
	memset(t, 0, sizeof(*t));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Expand {{N*TEXT}} (TEXT repeated N times; \xNN in TEXT is a byte) and
 * append the line to t->expr. */
static int add_expr_line(struct tcase *t, const char *s)
{
	size_t cap = t->expr_len + strlen(s) + 2;
	char *out;

	for (const char *m = strstr(s, "{{"); m; m = strstr(m + 2, "{{"))
		cap += strtoul(m + 2, NULL, 10) * (strlen(s) + 1);
	out = realloc(t->expr, cap);
	if (!out)
		return -ENOMEM;
	t->expr = out;
	if (t->expr_len)
		out[t->expr_len++] = '\n';
	while (*s) {
		const char *end, *star;
		char text[256];
		size_t tl = 0;
		unsigned long n;

		if (strncmp(s, "{{", 2) != 0 || !(end = strstr(s, "}}")) ||
		    !(star = memchr(s, '*', (size_t)(end - s)))) {
			out[t->expr_len++] = *s++;
			continue;
		}
		n = strtoul(s + 2, NULL, 10);
		for (const char *p = star + 1; p < end && tl < sizeof(text); p++) {
			if (p[0] == '\\' && p[1] == 'x' && p + 3 < end + 1 && hexval(p[2]) >= 0 &&
			    hexval(p[3]) >= 0) {
				text[tl++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
				p += 3;
			} else {
				text[tl++] = *p;
			}
		}
		while (n--) {
			memcpy(out + t->expr_len, text, tl);
			t->expr_len += tl;
		}
		s = end + 2;
	}
	out[t->expr_len] = '\0';
	return 0;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("strdup");
		exit(99);
	}
	return d;
}

/* Parse "key: value" into the case.  Returns 0, or -1 for an unknown key. */
static int tcase_set(struct tcase *t, const char *key, const char *val)
{
	if (strcmp(key, "expr") == 0)
		return add_expr_line(t, val);
	if (strcmp(key, "facts") == 0) {
		snprintf(t->facts, sizeof(t->facts), "%s", val);
	} else if (strcmp(key, "vars") == 0) {
		/* expanded like expr: */
		struct tcase tmp = { 0 };

		if (add_expr_line(&tmp, val) < 0)
			return -1;
		t->vars = tmp.expr;
	} else if (strcmp(key, "tables") == 0) {
		t->tables = xstrdup(val);
	} else if (strcmp(key, "item") == 0) {
		const char *eq = strchr(val, '=');
		size_t nl;

		if (!eq || t->n_items == MAX_ITEMS)
			return -1;
		nl = (size_t)(eq - val);
		while (nl > 0 && val[nl - 1] == ' ')
			nl--;
		t->item_name[t->n_items] = strndup(val, nl);
		eq++;
		while (*eq == ' ')
			eq++;
		t->item_path[t->n_items++] = xstrdup(eq);
	} else if (strcmp(key, "want") == 0) {
		t->want = xstrdup(val);
	} else if (strcmp(key, "format") == 0) {
		t->format = xstrdup(val);
	} else if (strcmp(key, "format-sysctl") == 0) {
		t->format_sysctl = xstrdup(val);
	} else if (strcmp(key, "keys") == 0) {
		t->keys = xstrdup(val);
	} else if (strcmp(key, "truth") == 0) {
		t->truth = xstrdup(val);
	} else if (strcmp(key, "parse-error") == 0) {
		t->parse_error = xstrdup(val);
	} else if (strcmp(key, "eval-error") == 0) {
		t->eval_error = xstrdup(val);
	} else if (strcmp(key, "col") == 0) {
		t->col = atoi(val);
	} else if (strcmp(key, "line") == 0) {
		t->eline = atoi(val);
	} else {
		return -1;
	}
	return 0;
}

/* Resolve "sockets.listeners[1].processes[0]" in doc; "json VALUE" is a
 * literal.  New reference, NULL when not found. */
static json_t *resolve_path(const json_t *doc, const char *path)
{
	const json_t *cur = doc;
	char name[128];

	if (strncmp(path, "json ", 5) == 0)
		return json_loads(path + 5, JSON_DECODE_ANY, NULL);
	while (*path && cur) {
		size_t n = strcspn(path, ".[");

		if (n) {
			if (n >= sizeof(name))
				return NULL;
			memcpy(name, path, n);
			name[n] = '\0';
			cur = json_object_get(cur, name);
			path += n;
		}
		if (*path == '[') {
			cur = json_array_get(cur, strtoul(path + 1, NULL, 10));
			path = strchr(path, ']');
			if (!path)
				return NULL;
			path++;
		}
		if (*path == '.')
			path++;
	}
	return cur ? json_incref((json_t *)cur) : NULL;
}

static json_t *load_facts(const char *name, char *why, size_t whylen)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/facts/%s.json", fixtures_dir, name);
	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		snprintf(why, whylen, "%.300s:%d: %.150s", path, jerr.line, jerr.text);
		return NULL;
	}
	/* fixtures other than "odd" must be valid facts documents */
	if (strcmp(name, "odd") != 0 && facts_validate(doc, why, whylen) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

struct keybuf {
	char text[1024];
};

static int collect_key(const char *key, void *data)
{
	struct keybuf *kb = data;
	size_t o = strlen(kb->text);

	snprintf(kb->text + o, sizeof(kb->text) - o, "%s%s", o ? " " : "", key ? key : "?");
	return 0;
}

static bool error_matches(const struct tcase *t, const struct expr_error *err, const char *want)
{
	if (!strstr(err->msg, want))
		return false;
	if (t->col && err->col != (unsigned)t->col)
		return false;
	if (t->eline && err->line != (unsigned)t->eline)
		return false;
	return true;
}

/* Compare result v with "want:" text; diag gets what was seen. */
static bool value_matches(const struct value *v, const char *want, char *diag, size_t dlen)
{
	json_t *got, *exp;
	char *gtext;
	bool same;

	gtext = value_format(v, 0);
	snprintf(diag, dlen, "%s %s", value_type_name(v->type), gtext ? gtext : "?");
	free(gtext);
	if (strcmp(want, "absent") == 0)
		return v->type == VALUE_ABSENT;
	if (v->type == VALUE_ABSENT)
		return false;
	exp = json_loads(want, JSON_DECODE_ANY, NULL);
	got = value_to_json(v);
	same = exp && got && json_equal(exp, got);
	json_decref(exp);
	json_decref(got);
	return same;
}

/* Diagnostics of the case being run, printed after its ok/not ok line. */
static char notes[4096];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	size_t o = strlen(notes);
	va_list ap;

	if (o + 6 >= sizeof(notes))
		return;
	memcpy(notes + o, "#   ", 4);
	o += 4;
	va_start(ap, fmt);
	vsnprintf(notes + o, sizeof(notes) - o - 1, fmt, ap);
	va_end(ap);
	strcat(notes, "\n");
}

/* Evaluate the parsed expression and compare; false when it fails. */
static bool check_eval(const struct tcase *t, const struct expr *e, const struct expr_env *env)
{
	static const char *const tn[] = { "false", "true", "na" };
	struct expr_error err;
	struct value v = VALUE_ABSENT_INIT;
	char diag[1024];
	bool pass = true;
	int r;

	if (t->truth) {
		enum expr_truth tr = EXPR_NA;

		r = expr_eval_bool(e, env, &tr, &err);
		if (t->eval_error) {
			if (r == 0) {
				note("got %s, want an error: %s", tn[tr], t->eval_error);
				return false;
			}
			if (!error_matches(t, &err, t->eval_error)) {
				note("got:  %u:%u: %s", err.line, err.col, err.msg);
				note("want: %u:%u: %s", t->eline, t->col, t->eval_error);
				return false;
			}
			return true;
		}
		if (r < 0) {
			note("evaluation error %u:%u: %s", err.line, err.col, err.msg);
			return false;
		}
		if (strcmp(tn[tr], t->truth) != 0) {
			note("truth: got %s, want %s", tn[tr], t->truth);
			return false;
		}
		return true;
	}
	r = expr_eval(e, env, &v, &err);
	if (t->eval_error) {
		if (r == 0) {
			note("got a value, want an error: %s", t->eval_error);
			value_free(&v);
			return false;
		}
		if (!error_matches(t, &err, t->eval_error)) {
			note("got:  %u:%u: %s", err.line, err.col, err.msg);
			note("want: %u:%u: %s", t->eline, t->col, t->eval_error);
			return false;
		}
		return true;
	}
	if (r < 0) {
		note("evaluation error %u:%u: %s", err.line, err.col, err.msg);
		return false;
	}
	if (t->want && !value_matches(&v, t->want, diag, sizeof(diag))) {
		note("got:  %s", diag);
		note("want: %s", t->want);
		pass = false;
	}
	if (t->format || t->format_sysctl) {
		char *f = value_format(&v, t->format ? 0 : VALUE_FORMAT_SYSCTL);
		const char *w = t->format ? t->format : t->format_sysctl;

		if (!f || strcmp(f, w) != 0) {
			note("format: got '%s', want '%s'", f ? f : "(null)", w);
			pass = false;
		}
		free(f);
	}
	if (t->format && t->format_sysctl) {
		char *f = value_format(&v, VALUE_FORMAT_SYSCTL);

		if (!f || strcmp(f, t->format_sysctl) != 0) {
			note("format-sysctl: got '%s', want '%s'", f ? f : "(null)",
			     t->format_sysctl);
			pass = false;
		}
		free(f);
	}
	value_free(&v);
	return pass;
}

static bool check_case(struct tcase *t)
{
	char why[512];
	const char *names[MAX_ITEMS];
	struct value items[MAX_ITEMS];
	json_t *item_json[MAX_ITEMS] = { 0 };
	struct expr_scope scope = { names, t->n_items };
	struct expr_error err;
	struct expr_env env;
	json_t *facts = NULL, *vars = NULL, *tables = NULL;
	struct expr *e = NULL;
	bool pass = false;

	if (!t->expr) {
		note("no expr:");
		return false;
	}
	if (!t->want && !t->format && !t->format_sysctl && !t->keys && !t->truth &&
	    !t->parse_error && !t->eval_error) {
		note("the case expects nothing");
		return false;
	}
	if (t->facts[0]) {
		facts = load_facts(t->facts, why, sizeof(why));
		if (!facts) {
			note("fixture %s: %s", t->facts, why);
			return false;
		}
	}
	if (t->vars) {
		vars = json_loads(t->vars, JSON_ALLOW_NUL, NULL);
		if (!vars) {
			note("vars: invalid JSON");
			goto out;
		}
	}
	if (t->tables) {
		tables = json_loads(t->tables, 0, NULL);
		if (!tables) {
			note("tables: invalid JSON");
			goto out;
		}
	}
	for (unsigned i = 0; i < t->n_items; i++) {
		names[i] = t->item_name[i];
		item_json[i] = resolve_path(facts, t->item_path[i]);
		if (value_from_json(item_json[i], &items[i]) < 0) {
			note("item %s: unusable value", names[i]);
			goto out;
		}
	}

	e = expr_parse(t->expr, t->expr_len, &scope, &err);
	if (t->parse_error) {
		if (e) {
			note("parsed without error, want: %s", t->parse_error);
		} else if (!error_matches(t, &err, t->parse_error)) {
			note("got:  %u:%u: %s", err.line, err.col, err.msg);
			note("want: %u:%u: %s", t->eline, t->col, t->parse_error);
		} else {
			pass = true;
		}
		goto out;
	}
	if (!e) {
		note("parse error %u:%u: %s", err.line, err.col, err.msg);
		goto out;
	}
	pass = true;
	if (t->keys) {
		struct keybuf kb = { "" };

		expr_sysctl_keys(e, collect_key, &kb);
		if (strcmp(kb.text, t->keys) != 0) {
			note("keys: got '%s', want '%s'", kb.text, t->keys);
			pass = false;
		}
	}
	expr_env_init(&env, facts, vars, items, t->n_items);
	env.tables = tables;
	if (t->want || t->format || t->format_sysctl || t->truth || t->eval_error) {
		struct expr_cache *cache;

		pass &= check_eval(t, e, &env);
		/* the same with a cache of field reads: filled, then used */
		cache = expr_cache_new();
		if (!cache) {
			note("expr_cache_new: out of memory");
			pass = false;
			goto out;
		}
		env.cache = cache;
		for (int round = 0; round < 2; round++) {
			if (!check_eval(t, e, &env)) {
				note("(evaluated with a cache, %s)", round ? "warm" : "cold");
				pass = false;
				break;
			}
		}
		expr_cache_free(cache);
	}
out:
	expr_free(e);
	for (unsigned i = 0; i < t->n_items; i++)
		json_decref(item_json[i]);
	json_decref(vars);
	json_decref(tables);
	json_decref(facts);
	return pass;
}

static void run_case(struct tcase *t, const char *file)
{
	bool pass;

	notes[0] = '\0';
	pass = check_case(t);
	ok(pass, "%.64s:%u: %.400s", file, t->line, t->name[0] ? t->name : t->expr ? t->expr : "");
	fputs(notes, stdout);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "r");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct tcase t = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	bool in_case = false;

	if (!f) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		n = getline(&line, &cap, f);
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n < 0 || n == 0) {
			if (in_case)
				run_case(&t, base);
			tcase_clear(&t);
			in_case = false;
			if (n < 0)
				break;
			continue;
		}
		if (line[0] == '#') {
			if (!in_case && !t.name[0]) {
				const char *s = line + 1;

				while (*s == ' ')
					s++;
				snprintf(t.name, sizeof(t.name), "%s", s);
			}
			continue;
		}
		{
			char *colon = strchr(line, ':');
			const char *val;

			if (!colon) {
				printf("Bail out! %s:%u: expected 'key: value'\n", path, lineno);
				return -1;
			}
			*colon = '\0';
			val = colon + 1;
			if (*val == ' ')
				val++;
			if (!in_case) {
				in_case = true;
				t.line = lineno;
			}
			if (tcase_set(&t, line, val) < 0) {
				printf("Bail out! %s:%u: unknown key '%s'\n", path, lineno, line);
				return -1;
			}
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* ------------------------------------------------------- API checks */

static int stop_at_second(const char *key, void *data)
{
	int *n = data;

	(void)key;
	return ++*n == 2 ? 42 : 0;
}

static struct expr *parse(const char *s, const struct expr_scope *scope, struct expr_error *err)
{
	return expr_parse(s, strlen(s), scope, err);
}

static void api_checks(void)
{
	struct expr_error err;
	struct expr_env env;
	struct value v, copy;
	struct expr *e;
	json_t *doc;
	const char *why = NULL;
	char *s;
	int n = 0;

	/* NUL inside the text */
	e = expr_parse("1 +\0 2", 6, NULL, &err);
	ok(!e && strstr(err.msg, "NUL") && err.col == 4, "NUL byte in the expression: %s", err.msg);
	expr_free(e);
	expr_free(NULL);

	/* the callback's return stops the walk */
	e = parse("sysctl(\"a.b\") + sysctl(\"c.d\") + sysctl(\"e.f\")", NULL, &err);
	ok(e && expr_sysctl_keys(e, stop_at_second, &n) == 42 && n == 2,
	   "expr_sysctl_keys stops at the first non-zero return");
	is_str(e ? expr_source(e) : NULL, "sysctl(\"a.b\") + sysctl(\"c.d\") + sysctl(\"e.f\")",
	       "expr_source gives the text back");
	expr_free(e);

	/* fewer items than the scope needs */
	{
		const char *names[] = { "listener" };
		struct expr_scope scope = { names, 1 };

		e = parse("listener.port", &scope, &err);
		expr_env_init(&env, NULL, NULL, NULL, 0);
		ok(e && expr_eval(e, &env, &v, &err) == -EINVAL && v.type == VALUE_ABSENT &&
		   strstr(err.msg, "bound values"), "evaluation without the scope's values fails");
		expr_free(e);
	}

	/* scope names are checked */
	{
		const char *names[] = { "host" };
		struct expr_scope scope = { names, 1 };

		e = parse("1", &scope, &err);
		ok(!e && strstr(err.msg, "cannot bind 'host'"), "a scope cannot rebind 'host': %s",
		   err.msg);
	}
	/* at most EXPR_MAX_NAMES names */
	{
		const char *names[EXPR_MAX_NAMES + 1];
		char bufs[EXPR_MAX_NAMES + 1][8];
		struct expr_scope scope = { names, EXPR_MAX_NAMES };

		for (int i = 0; i <= EXPR_MAX_NAMES; i++) {
			snprintf(bufs[i], sizeof(bufs[i]), "n%d", i);
			names[i] = bufs[i];
		}
		e = parse("n15", &scope, &err);
		ok(e != NULL, "a scope of %d names", EXPR_MAX_NAMES);
		expr_free(e);
		scope.n_names++;
		e = parse("n16", &scope, &err);
		ok(!e && strstr(err.msg, "too many names"), "a scope of %d names is refused: %s",
		   EXPR_MAX_NAMES + 1, err.msg);
	}
	ok(expr_name_valid("listener", NULL), "'listener' is a valid name");
	ok(!expr_name_valid("cpus", &why) && why && strstr(why, "built-in"), "'cpus' is built in");
	ok(!expr_name_valid("2x", &why), "'2x' is not a name");
	ok(!expr_name_valid("where", &why), "'where' is reserved");
	ok(!expr_name_valid("", &why), "the empty name is refused");

	/* value_dup outlives the document; value_to_json/format of owned values */
	doc = json_loads("{\"host\": {\"kernel_release\": \"6.1.0\"}, \"sysctl\": "
			 "{\"net.ipv4.tcp_rmem\": [4096, 131072, 6291456]}}", 0, NULL);
	expr_env_init(&env, doc, NULL, NULL, 0);
	e = parse("host.kernel_release + \"-x\"", NULL, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.owned && v.type == VALUE_STRING,
	   "concatenation gives an owned string");
	value_free(&v);
	ok(v.type == VALUE_ABSENT, "value_free leaves the value absent");
	expr_free(e);
	e = parse("host.kernel_release", NULL, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && !v.owned, "a fact is borrowed");
	ok(value_dup(&v, &copy) == 0 && copy.owned, "value_dup owns");
	value_free(&v);
	expr_free(e);
	e = parse("sysctl(\"net.ipv4.tcp_rmem\")", NULL, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_LIST, "a sysctl list");
	{
		struct value lcopy;

		ok(value_dup(&v, &lcopy) == 0, "value_dup of a list");
		value_free(&v);
		json_decref(doc);
		s = value_format(&copy, 0);
		is_str(s, "6.1.0", "a duplicated string outlives its document");
		free(s);
		s = value_format(&lcopy, VALUE_FORMAT_SYSCTL);
		is_str(s, "4096 131072 6291456", "a duplicated list outlives its document");
		free(s);
		value_free(&lcopy);
	}
	value_free(&copy);
	expr_free(e);
	is_str(value_type_name(VALUE_OBJECT), "an object", "value_type_name");
}

int main(int argc, char **argv)
{
	const char *srcdir = getenv("srcdir"), *fx = getenv("FIXTURES");
	char path[4096], fixtures[4096];

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else if (srcdir)
		snprintf(path, sizeof(path), "%s/tests/unit/expr.test", srcdir);
	else if (fx)
		snprintf(path, sizeof(path), "%s/../unit/expr.test", fx);
	else
		snprintf(path, sizeof(path), "tests/unit/expr.test");
	if (fx) {
		snprintf(fixtures, sizeof(fixtures), "%s", fx);
	} else {
		/* next to the test file: tests/unit/expr.test -> tests/fixtures */
		char *slash;

		snprintf(fixtures, sizeof(fixtures), "%s", path);
		slash = strrchr(fixtures, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(fixtures, sizeof(fixtures), ".");
		strncat(fixtures, "/../fixtures", sizeof(fixtures) - strlen(fixtures) - 1);
	}
	fixtures_dir = fixtures;
	if (run_file(path) < 0)
		return 1;
	api_checks();
	return tap_done();
}
