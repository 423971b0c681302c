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

/* ------------------------------------------------------- cache checks */

/* Whether two evaluations gave the same: return code, message, value. */
static bool same_result(int ra, const struct value *a, const struct expr_error *ea, int rb,
			const struct value *b, const struct expr_error *eb)
{
	if (ra != rb)
		return false;
	if (ra < 0)
		return strcmp(ea->msg, eb->msg) == 0 && ea->offset == eb->offset;
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case VALUE_ABSENT:
		return true;
	case VALUE_BOOL:
		return a->b == b->b;
	case VALUE_INT:
		return a->i == b->i;
	case VALUE_STRING:
		return a->s.len == b->s.len && memcmp(a->s.ptr, b->s.ptr, a->s.len) == 0;
	default:
		return json_equal(a->json, b->json);
	}
}

/* A facts document with n listeners of mixed shapes: some fields missing,
 * null, strings, nested objects, one real number at index real (none when
 * real >= n). */
static json_t *cache_doc(unsigned n, unsigned real)
{
	json_t *doc = json_pack("{s:{s:s,s:i},s:{s:[]}}", "host", "kernel_release", "6.1.0",
				"cpus_online", 4, "sockets", "listeners");
	json_t *list = json_object_get(json_object_get(doc, "sockets"), "listeners");

	for (unsigned i = 0; i < n; i++) {
		json_t *l = json_pack("{s:i,s:s,s:i,s:{s:i,s:[i,i]}}", "port", 1000 + (int)i,
				      "address", i % 3 ? "10.0.0.1" : "::1", "queue", (int)(i % 7),
				      "owner", "pid", (int)(i * 3), "fds", (int)i, (int)i + 1);

		if (i % 4)
			json_object_set_new(l, "limit", json_integer(i % 5 ? 4096 : 128));
		else if (i % 8 == 0)
			json_object_set_new(l, "limit", json_null());
		if (i % 5 == 1)
			json_object_set_new(l, "drops", json_integer((json_int_t)i));
		if (i % 6 == 2)
			json_object_set_new(l, "up", json_boolean(i % 4 == 2));
		if (i == real)
			json_object_set_new(l, "queue", json_real(1.5));
		/* field names beyond what the cache gives columns to */
		for (unsigned f = 0; f < 70; f += 1 + i % 7) {
			char name[8];

			snprintf(name, sizeof(name), "f%u", f);
			json_object_set_new(l, name, json_integer((json_int_t)(f * 100 + i)));
		}
		json_array_append_new(list, l);
	}
	return doc;
}

static const char *const cache_item_exprs[] = {
	"l.port",
	"l.address",
	"exists(l.limit) && l.limit > 0",
	"l.queue * 100 < default(l.limit, 1) * 80 && default(l.drops, 0) == 0",
	"l.owner.pid + l.owner.fds[1]",
	"l.up",
	"l.limit",
	"l.owner",
	"l.f7 + l.f63 + l.f64 + l.f69",
	"l.f0 - l.f1",
	"l.nosuch",
	"count(x in listeners : x.port < l.port)",
	"any(x in listeners : x.port == l.port + 1 && x.address == l.address)",
	"sum(x in listeners where exists(x.limit) : x.limit) + l.port",
	"l.address + \":\" + l.address",
	"[l.port, l.queue][1]",
	"len(l.owner.fds)",
	"host.cpus_online * l.port",
	/* invariants, memoised by the cache */
	"kernel_at_least(\"5.4\")",
	"l.port > 0 && 10 / (host.cpus_online - 4) > 0",
	"max(x in listeners : x.queue) - l.queue",
	"(host.kernel_release + \"-\") + l.address",
	"[host.cpus_online, 2][0] + l.port",
	"sum(x in listeners : x.port * host.cpus_online) + l.port",
};

static const char *const cache_global_exprs[] = {
	"max(l in listeners : l.limit)",
	"sum(l in listeners : l.queue)",
	"count(l in listeners where l.address == \"::1\" : default(l.drops, 0) > 0)",
	"all(a in listeners : any(b in listeners : b.port == a.port))",
	"sum(a in listeners : count(b in listeners where b.owner.pid < a.owner.pid : true))",
	"listeners[3].port + listeners[5].owner.pid",
	"sum(l in listeners : l.f21 + default(l.f35, 0))",
	"sum(l in listeners : l.port * host.cpus_online)",
	"count(l in listeners : l.queue < max(x in listeners : x.queue))",
};

/* Comprehensions over the listeners inside a foreach over them, or
 * nested: too slow for thousands of listeners. */
static bool quadratic(const char *expr, bool item)
{
	const char *in = strstr(expr, " in listeners");

	return in && (item || strstr(in + 1, " in listeners"));
}

/* Evaluate the expressions for every listener (the way a foreach does)
 * and on their own, without and with one cache shared by all, in several
 * rounds and orders; every result must be the same.  big: leave out the
 * quadratic expressions. */
static void cache_compare(json_t *doc, const char *what, bool big)
{
	const char *names[] = { "l" };
	struct expr_scope scope = { names, 1 };
	/* the item expressions, and one that reads 70 fields: more names
	 * than the cache has columns for */
	const size_t ni = sizeof(cache_item_exprs) / sizeof(cache_item_exprs[0]) + 1;
	const size_t ng = sizeof(cache_global_exprs) / sizeof(cache_global_exprs[0]);
	const char *itext[sizeof(cache_item_exprs) / sizeof(cache_item_exprs[0]) + 1];
	struct expr *ie[sizeof(cache_item_exprs) / sizeof(cache_item_exprs[0]) + 1];
	char many[2048] = "sum(";
	struct expr *ge[sizeof(cache_global_exprs) / sizeof(cache_global_exprs[0])];
	struct expr_cache *cache = expr_cache_new();
	struct expr_env plain, cached;
	struct value list, item;
	struct expr_error err;
	unsigned checked = 0, bad = 0;
	size_t n, want = 0;

	for (unsigned f = 0; f < 70; f++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sdefault(l.f%u, %u)",
			 f ? ", " : "", f, f);
	strcat(many, ")");
	for (size_t i = 0; i < ni; i++) {
		itext[i] = i + 1 < ni ? cache_item_exprs[i] : many;
		ie[i] = NULL;
		if (big && quadratic(itext[i], true))
			continue;
		ie[i] = parse(itext[i], &scope, &err);
		if (!ie[i])
			printf("# %s: %s\n", itext[i], err.msg);
		want += json_array_size(json_object_get(json_object_get(doc, "sockets"), "listeners"));
	}
	for (size_t i = 0; i < ng; i++) {
		ge[i] = NULL;
		if (big && quadratic(cache_global_exprs[i], false))
			continue;
		ge[i] = parse(cache_global_exprs[i], NULL, &err);
		if (!ge[i])
			printf("# %s: %s\n", cache_global_exprs[i], err.msg);
		want++;
	}
	expr_env_init(&plain, doc, NULL, &item, 1);
	expr_env_init(&cached, doc, NULL, &item, 1);
	cached.cache = cache;
	value_from_json(plain.sec[EXPR_SEC_LISTENERS], &list);
	n = json_array_size(list.json);
	for (int round = 0; round < 3; round++) {
		for (size_t k = 0; k < n; k++) {
			/* forward, backward, then hopping through the list */
			size_t idx = round == 0 ? k : round == 1 ? n - 1 - k : (k * 7) % n;

			for (size_t i = 0; i < ni; i++) {
				struct value a, b;
				struct expr_error ea = { 0 }, eb = { 0 };
				int ra, rb;

				if (!ie[i])
					continue;
				if (value_from_json(json_array_get(list.json, idx), &item) < 0)
					item = VALUE_ABSENT_INIT;
				ra = expr_eval(ie[i], &plain, &a, &ea);
				if (expr_list_get(&cached, &list, idx, &item) < 0)
					item = VALUE_ABSENT_INIT;
				rb = expr_eval(ie[i], &cached, &b, &eb);
				checked++;
				if (!same_result(ra, &a, &ea, rb, &b, &eb) && bad++ < 5)
					printf("# %s: item %zu, round %d: %s: results differ (%d %s / %d %s)\n",
					       what, idx, round, itext[i], ra, ea.msg, rb, eb.msg);
				value_free(&a);
				value_free(&b);
			}
		}
		for (size_t i = 0; i < ng; i++) {
			struct value a, b;
			struct expr_error ea = { 0 }, eb = { 0 };
			int ra, rb;

			if (!ge[i])
				continue;
			ra = expr_eval(ge[i], &plain, &a, &ea);
			rb = expr_eval(ge[i], &cached, &b, &eb);
			checked++;
			if (!same_result(ra, &a, &ea, rb, &b, &eb) && bad++ < 5)
				printf("# %s: round %d: %s: results differ\n", what, round,
				       cache_global_exprs[i]);
			value_free(&a);
			value_free(&b);
		}
	}
	ok(cache && checked == 3 * want && bad == 0,
	   "%s: %u evaluations give the same with and without a cache", what, checked);
	for (size_t i = 0; i < ni; i++)
		expr_free(ie[i]);
	for (size_t i = 0; i < ng; i++)
		expr_free(ge[i]);
	expr_cache_free(cache);
}

static void cache_checks(void)
{
	const char *names[] = { "l" };
	struct expr_scope scope = { names, 1 };
	struct expr_env env;
	struct expr_cache *cache;
	struct expr_error err;
	struct value v, list, item;
	struct expr *e;
	json_t *doc;

	doc = cache_doc(40, 1000);
	cache_compare(doc, "40 listeners", false);
	json_decref(doc);
	doc = cache_doc(40, 17);
	cache_compare(doc, "40 listeners, a real number", false);
	json_decref(doc);
	doc = cache_doc(3, 1000);
	cache_compare(doc, "3 listeners (a list not memoised)", false);
	json_decref(doc);
	/* enough to grow every table of the cache several times */
	doc = cache_doc(3000, 1000);
	cache_compare(doc, "3000 listeners", true);
	json_decref(doc);

	/* expr_cache_clear() before the documents change */
	doc = cache_doc(10, 1000);
	cache = expr_cache_new();
	expr_env_init(&env, doc, NULL, &item, 1);
	env.cache = cache;
	value_from_json(env.sec[EXPR_SEC_LISTENERS], &list);
	e = parse("l.port + l.owner.pid", &scope, &err);
	expr_list_get(&env, &list, 4, &item);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 1004 + 12,
	   "a cached field read");
	json_object_set_new(json_array_get(list.json, 4), "port", json_integer(7));
	json_object_set_new(json_object_get(json_array_get(list.json, 4), "owner"), "pid",
			    json_integer(8));
	expr_cache_clear(cache);
	expr_list_get(&env, &list, 4, &item);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 15,
	   "after expr_cache_clear() the changed document is read");
	expr_free(e);
	/* an expression freed, the cache cleared, another of the same size
	 * parsed (in the same place, most often): its names are its own */
	expr_list_get(&env, &list, 5, &item);
	e = parse("l.queue", &scope, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 5,
	   "l.queue through the cache");
	expr_free(e);
	expr_cache_clear(cache);
	e = parse("l.limit", &scope, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 128,
	   "after expr_cache_clear() a new expression reads its own field");
	expr_free(e);
	e = parse("l.queue + 0", &scope, &err);
	ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 5,
	   "and what it read is memoised under its own name");
	expr_free(e);
	expr_cache_free(cache);
	expr_cache_free(NULL);
	expr_cache_clear(NULL);

	/* invariants are memoised for the documents of the first environment
	 * only: another document with the same cache is read */
	{
		json_t *other = cache_doc(10, 1000);
		struct expr_env env2;

		json_integer_set(json_object_get(json_object_get(other, "host"), "cpus_online"), 64);
		cache = expr_cache_new();
		e = parse("l.port + host.cpus_online * 2", &scope, &err);
		expr_env_init(&env, doc, NULL, &item, 1);
		env.cache = cache;
		expr_list_get(&env, &list, 1, &item);
		ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 1001 + 8,
		   "an invariant memoised");
		expr_env_init(&env2, other, NULL, &item, 1);
		env2.cache = cache;
		ok(e && expr_eval(e, &env2, &v, &err) == 0 && v.type == VALUE_INT && v.i == 1001 + 128,
		   "not used for the documents of another environment");
		ok(e && expr_eval(e, &env, &v, &err) == 0 && v.type == VALUE_INT && v.i == 1001 + 8,
		   "and still used for the first");
		expr_cache_clear(cache);
		ok(e && expr_eval(e, &env2, &v, &err) == 0 && v.type == VALUE_INT && v.i == 1001 + 128,
		   "after expr_cache_clear() the cache serves another environment");
		expr_free(e);
		expr_cache_free(cache);
		json_decref(other);
	}

	/* expr_list_get() without a cache and out of range */
	expr_env_init(&env, doc, NULL, NULL, 0);
	ok(expr_list_get(&env, &list, 2, &v) == 0 && v.type == VALUE_OBJECT &&
	   v.json == json_array_get(list.json, 2), "expr_list_get without a cache");
	ok(expr_list_get(&env, &list, 10, &v) == 0 && v.type == VALUE_ABSENT,
	   "expr_list_get past the end");
	v.type = VALUE_INT;
	ok(expr_list_get(&env, &v, 0, &item) == 0 && item.type == VALUE_ABSENT,
	   "expr_list_get of a non-list");
	json_decref(doc);
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
	cache_checks();
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
