/* The expression cache (src/rules/expr-cache.c): evaluations through the
 * memo give what evaluations without it give, for expressions over items
 * and over the whole document, and their cost stays linear. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "rules/expr.h"
#include "tap.h"

static struct expr *parse(const char *s, const struct expr_scope *scope, struct expr_error *err)
{
	return expr_parse(s, strlen(s), scope, err);
}

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

int main(void)
{
	cache_checks();
	return tap_done();
}
