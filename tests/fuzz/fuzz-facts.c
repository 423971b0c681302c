/* libFuzzer target: a facts document as `--from FILE` reads it (JSON and
 * validation), the built-in rules evaluated over it (every rule set, opt-in
 * ones too), every renderer into memory (audit text, Prometheus, Nagios, the
 * facts summary, listeners as text and JSON) and netknobs report's
 * comparison with a previous run.
 *
 * The input is a facts document, optionally followed by a NUL byte and the
 * previous run: a state document (what latest.json holds) or another facts
 * document, whose audit gives that state.
 *
 * Besides the sanitizers, it checks two promises: what `facts --json` writes,
 * `--from` reads again; what report saves as its state, it loads again.
 *
 * Byte-level mutations seldom keep a document valid, so most mutations are
 * made on the parsed JSON instead (LLVMFuzzerCustomMutator below): a value
 * replaced by one at the edges (2^63-1, -1, a long or hostile string, another
 * type), an array element repeated or removed, a key moved or added (the
 * sysctl keys the rules read among them), the previous run added or dropped,
 * a number both runs hold (a counter) set at the edges in each.
 * Build and run: tests/fuzz/run facts. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "render/render.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static struct rulebook rb;
static struct eval_filter every_rule;

/* the sysctl keys the rules read, wildcards filled in, for the mutator */
static char **rule_keys;
static size_t n_rule_keys;

static int add_rule_key(const char *key, void *data)
{
	char **k, *c;

	(void)data;
	if (!key || !(c = strdup(key)))
		return 0;
	for (char *p = c; *p; p++)
		if (*p == '*')
			*p = 'a';  /* net.ipv4.conf.*.x: an interface "a" */
	k = realloc(rule_keys, (n_rule_keys + 1) * sizeof(*k));
	if (!k) {
		free(c);
		return 0;
	}
	rule_keys = k;
	rule_keys[n_rule_keys++] = c;
	return 0;
}

static void setup(void)
{
	static const char **ids;

	log_quiet(1);
	/* one thread: the same path for the same input */
	rules_configure(&(struct rules_settings){ .threads = 1 });
	rulebook_init(&rb);
	rulebook_load_embedded(&rb);
	rulebook_finish(&rb);
	ids = malloc((rb.nrules + 1) * sizeof(*ids));
	if (rb.errors || !ids)
		abort();
	for (size_t i = 0; i < rb.nrules; i++)
		ids[i] = rb.rules[i].id;
	every_rule.ids = ids;
	every_rule.nids = rb.nrules;
	every_rule.all_items = true;
	rulebook_sysctl_keys(&rb, add_rule_key, NULL);
}

/* `facts --json` output (print_json's flags) must load again. */
static void check_facts_roundtrip(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_t *again;

	if (!text)
		abort();
	again = facts_load_buffer("roundtrip.json", text, strlen(text));
	if (!again)
		abort();
	json_decref(again);
	free(text);
}

/* The state as state_save() writes it and state_load() reads it back. */
static json_t *state_roundtrip(json_t *st)
{
	char *text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char err[300];
	json_error_t jerr;
	json_t *again;

	if (!text)
		abort();
	again = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &jerr);
	if (!again || state_validate(again, err, sizeof(err)) < 0)
		abort();
	free(text);
	json_decref(st);
	return again;
}

/* The previous run from the part after the NUL byte: NULL and *why set
 * when it is unusable, as state_load() does. */
static json_t *previous(const char *buf, size_t len, char **why, FILE *out)
{
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), *audit, *st;
	char err[300];

	*why = NULL;
	if (!doc) {
		if (asprintf(why, "latest.json: %d:%d: %s", jerr.line, jerr.column, jerr.text) < 0)
			*why = NULL;
		return NULL;
	}
	if (json_object_get(doc, "state_version")) {
		if (state_validate(doc, err, sizeof(err)) == 0)
			return doc;
		if (asprintf(why, "latest.json: %s", err) < 0)
			*why = NULL;
		json_decref(doc);
		return NULL;
	}
	json_decref(doc);
	doc = facts_load_buffer("previous.json", buf, len);
	if (!doc)
		return NULL;
	report_facts_text(doc, out);
	audit = rules_evaluate(&rb, doc, &every_rule);
	if (!audit)
		abort();
	st = state_roundtrip(state_build(doc, audit));
	json_decref(audit);
	json_decref(doc);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *nul;
	struct text_opts plain = { .color = false, .verbose = false };
	struct text_opts rich = { .color = true, .verbose = true };
	struct prom_opts po = { .duration_s = 0.25, .timestamp = 1700000000 };
	json_t *facts, *audit, *prev, *cur, *rep;
	size_t len;
	char *why, *text = NULL;
	size_t textlen = 0;
	FILE *out;

	if (!rb.nrules)
		setup();
	nul = memchr(buf, '\0', size);
	len = nul ? (size_t)(nul - buf) : size;
	facts = facts_load_buffer("fuzz.json", buf, len);
	if (!facts)
		return 0;
	check_facts_roundtrip(facts);
	out = open_memstream(&text, &textlen);
	if (!out)
		abort();
	report_facts_text(facts, out);
	{
		struct listeners_opts lo = { .color = false, .verbose = false };
		json_t *lj;

		report_listeners_text(facts, out, &lo);
		lo.color = lo.verbose = true;
		report_listeners_text(facts, out, &lo);
		lj = report_listeners_json(facts);
		if (!lj)
			abort();
		json_decref(lj);
	}

	audit = rules_evaluate(&rb, facts, &every_rule);
	if (!audit)
		abort();
	report_audit_text(audit, out, &plain);
	report_audit_text(audit, out, &rich);
	if (report_prom(audit, facts, NULL, &po, out) < 0)
		abort();
	report_nagios(audit, facts, NULL, (int)(size % 4), out);

	/* netknobs report */
	prev = nul ? previous(nul + 1, size - len - 1, &why, out) : (why = NULL, NULL);
	cur = state_roundtrip(state_build(facts, audit));
	rep = state_compare(prev, cur, audit, why);
	if (!rep)
		abort();
	report_changes_text(rep, out, false);
	report_changes_text(rep, out, true);
	if (report_prom(audit, facts, rep, &po, out) < 0)
		abort();
	report_nagios(audit, facts, rep, (int)(size % 4), out);

	fclose(out);
	free(text);
	free(why);
	json_decref(rep);
	json_decref(cur);
	json_decref(prev);
	json_decref(audit);
	json_decref(facts);
	return 0;
}

/* ---- the mutator ---- */

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

struct node {
	json_t *v, *parent;     /* parent NULL: the root */
	const char *key;        /* in an object parent */
	size_t index;           /* in an array parent */
	size_t up;              /* the parent's node */
};

struct nodes {
	struct node *n;
	size_t len, cap;
	const char **keys;      /* every key seen */
	size_t nkeys, kcap;
};

static void collect(struct nodes *ns, json_t *v, json_t *parent, const char *key, size_t index,
		    size_t up)
{
	const char *k;
	json_t *c;
	size_t i, me = ns->len;

	if (ns->len == ns->cap) {
		struct node *n = realloc(ns->n, (ns->cap = ns->cap ? 2 * ns->cap : 256) * sizeof(*n));

		if (!n)
			abort();
		ns->n = n;
	}
	ns->n[ns->len++] = (struct node){ v, parent, key, index, up };
	if (json_is_object(v)) {
		json_object_foreach(v, k, c) {
			if (ns->nkeys == ns->kcap) {
				const char **n = realloc(ns->keys, (ns->kcap = ns->kcap ? 2 * ns->kcap : 256) *
							 sizeof(*n));

				if (!n)
					abort();
				ns->keys = n;
			}
			ns->keys[ns->nkeys++] = k;
			collect(ns, c, v, k, 0, me);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			collect(ns, c, v, NULL, i, me);
	}
}

/* An integer at the edges, or near x. */
static json_t *edge_int(json_int_t x)
{
	static const json_int_t ints[] = {
		0, 1, -1, 2, 3, 100, 128, 1024, 4096, 4097, 65535, 65536, 2147483647, 2147483648LL,
		4294967295LL, 4294967296LL, 9223372036854775807LL, 9223372036854775806LL,
		-9223372036854775807LL - 1, 1000000000000LL,
	};

	/* unsigned arithmetic: no overflow here */
	switch (rnd(6)) {
	case 0:
		return json_integer((json_int_t)((uint64_t)x + 1));
	case 1:
		return json_integer((json_int_t)((uint64_t)x - 1));
	case 2:
		return json_integer((json_int_t)((uint64_t)x * 2));
	case 3:
		return json_integer((json_int_t)(0 - (uint64_t)x));
	default:
		return json_integer(ints[rnd(sizeof(ints) / sizeof(ints[0]))]);
	}
}

/* A value at the edges, or of another type. */
static json_t *edge_scalar(const json_t *old)
{
	static const double reals[] = { 0.0, 0.5, 1e-9, 4.9e-324, 1e308, 123456.789, 1.7976931348623157e308 };
	static const char *const strs[] = {
		"", "ipv4", "ipv6", "0.0.0.0", "::", "::ffff:10.0.0.1", "netlink", "proc", "critical",
		"warning", "notice", "info", "fail", "pass", "x\033[31mred\033[0m", "\xc3\xa9t\xc3\xa9",
		"%s%n%x", "a\\b\"c\nd", "2026-11-25T12:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z",
		"net:[4026531840]", "net.core.somaxconn", "18446744073709551615", "*", "-",
	};

	switch (rnd(json_is_integer(old) ? 8 : 6)) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rnd(2));
	case 2:
		return json_real(reals[rnd(sizeof(reals) / sizeof(reals[0]))]);
	case 3: {
		char big[600];

		if (rnd(4))
			return json_string(strs[rnd(sizeof(strs) / sizeof(strs[0]))]);
		memset(big, 'a' + (int)rnd(26), sizeof(big) - 1);
		big[rnd(sizeof(big))] = '\0';
		return json_string(big);
	}
	case 4:
		return rnd(2) ? json_array() : json_object();
	default:
		return edge_int(json_integer_value(old));
	}
}

/* Replace node n by v (consumed). */
static void put(struct node *n, json_t *v, json_t **root)
{
	if (!v)
		return;
	if (!n->parent) {
		json_decref(*root);
		*root = v;
	} else if (json_is_object(n->parent)) {
		json_object_set_new(n->parent, n->key, v);
	} else {
		json_array_set_new(n->parent, n->index, v);
	}
}

/* One change somewhere in the document. */
static void mutate_json(json_t **root)
{
	struct nodes ns = { 0 };
	struct node *n, *other;
	const char *key;

	collect(&ns, *root, NULL, NULL, 0, 0);
	n = &ns.n[rnd(ns.len)];
	other = &ns.n[rnd(ns.len)];
	switch (rnd(7)) {
	case 0:
	case 1:
		/* a value at the edges, or of another type */
		if ((!json_is_object(n->v) && !json_is_array(n->v)) || rnd(4) == 0)
			put(n, edge_scalar(n->v), root);
		break;
	case 2:
		/* an array element repeated, removed, or the array emptied */
		if (json_is_array(n->parent)) {
			if (rnd(3) == 0)
				json_array_remove(n->parent, n->index);
			else
				json_array_insert_new(n->parent, n->index, json_deep_copy(n->v));
		} else if (json_is_array(n->v) && rnd(2)) {
			json_array_clear(n->v);
		}
		break;
	case 3:
		/* a key removed */
		if (json_is_object(n->parent))
			json_object_del(n->parent, n->key);
		break;
	case 4:
		/* another part of the document copied here */
		if (other->v != n->v)
			put(n, json_deep_copy(other->v), root);
		break;
	default:
		/* a key added: one of the document's, or a sysctl a rule reads */
		if (!json_is_object(n->v))
			break;
		key = rnd(3) == 0 && n_rule_keys ? rule_keys[rnd(n_rule_keys)]
		    : ns.nkeys ? ns.keys[rnd(ns.nkeys)] : "x";
		json_object_set_new(n->v, key, rnd(2) ? json_deep_copy(other->v) : edge_scalar(other->v));
		break;
	}
	free(ns.n);
	free(ns.keys);
}

/* The node of b at the path of a's node i (NULL when b has none there). */
static json_t *same_place(const struct nodes *ns, size_t i, json_t *b)
{
	if (!ns->n[i].parent)
		return b;
	b = same_place(ns, ns->n[i].up, b);
	return json_is_object(ns->n[i].parent) ? json_object_get(b, ns->n[i].key)
						: json_array_get(b, ns->n[i].index);
}

/* A number that both runs have (a counter, a listener's drops ...) set to
 * values at the edges in each: what a comparison of the two computes. */
static void mutate_both(json_t *a, json_t *b)
{
	struct nodes ns = { 0 };
	size_t *nums = NULL, nn = 0;

	collect(&ns, a, NULL, NULL, 0, 0);
	nums = malloc(ns.len * sizeof(*nums));
	if (!nums)
		abort();
	for (size_t i = 0; i < ns.len; i++)
		if (json_is_integer(ns.n[i].v) && json_is_integer(same_place(&ns, i, b)))
			nums[nn++] = i;
	if (nn) {
		size_t i = nums[rnd(nn)];
		json_t *pa = ns.n[i].parent, *pb = same_place(&ns, ns.n[i].up, b);
		json_int_t x = json_integer_value(ns.n[i].v);
		json_t *va = rnd(3) ? edge_int(x) : json_integer(x), *vb = edge_int(x);

		if (json_is_object(pa)) {
			json_object_set_new(pb, ns.n[i].key, vb);
			json_object_set_new(pa, ns.n[i].key, va);
		} else {
			json_array_set_new(pb, ns.n[i].index, vb);
			json_array_set_new(pa, ns.n[i].index, va);
		}
	}
	free(nums);
	free(ns.n);
	free(ns.keys);
}

static size_t emit(uint8_t *data, size_t max, const json_t *a, const json_t *b)
{
	char *ta = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	char *tb = b ? json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
	size_t la = ta ? strlen(ta) : 0, lb = tb ? strlen(tb) : 0, n = 0;

	if (ta && (!b || tb) && la + (b ? 1 + lb : 0) <= max) {
		memcpy(data, ta, la);
		n = la;
		if (b) {
			data[n++] = '\0';
			memcpy(data + n, tb, lb);
			n += lb;
		}
	}
	free(ta);
	free(tb);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t la = nul ? (size_t)(nul - data) : size, n = 0;
	json_t *a, *b = NULL;
	json_error_t jerr;

	if (!rb.nrules)
		setup();
	rng = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 1;
	if (!rng)
		rng = 1;
	/* a quarter of the time, or when it is not JSON: libFuzzer's own */
	if (rnd(4) == 0 || !(a = json_loadb((const char *)data, la, 0, &jerr)))
		return LLVMFuzzerMutate(data, size, max);
	if (nul)
		b = json_loadb((const char *)nul + 1, size - la - 1, 0, &jerr);
	switch (rnd(16)) {
	case 0:
		/* the previous run: this document, or none */
		json_decref(b);
		b = rnd(2) ? json_deep_copy(a) : NULL;
		break;
	case 1:
	case 2:
		if (b && json_is_object(a) && json_is_object(b)) {
			mutate_both(a, b);
			break;
		}
		/* fall through */
	case 3:
		if (b) {
			mutate_json(&b);
			break;
		}
		/* fall through */
	default:
		for (unsigned i = 0, k = 1 + (unsigned)rnd(3); i < k; i++)
			mutate_json(&a);
	}
	n = emit(data, max, a, b);
	json_decref(a);
	json_decref(b);
	return n ? n : LLVMFuzzerMutate(data, size, max);
}
