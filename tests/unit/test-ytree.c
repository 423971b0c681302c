/* The YAML tree of rule files: structure and positions, trees of many nodes
 * (allocated together in blocks), duplicate keys, documents that fail
 * half-way (nothing may leak: the sanitizer build checks). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/ytree.h"
#include "tap.h"

static char errbuf[4096];

/* ytree_load_buffer() with what it logs in errbuf. */
static struct ynode *load(const char *buf, size_t len, int *empty)
{
	FILE *tmp = tmpfile();
	struct ynode *n;
	size_t got;
	int saved;

	if (!tmp)
		abort();
	fflush(stderr);
	saved = dup(2);
	if (saved < 0 || dup2(fileno(tmp), 2) < 0)
		abort();
	n = ytree_load_buffer("t.yaml", buf, len, empty);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	got = fread(errbuf, 1, sizeof(errbuf) - 1, tmp);
	while (got > 0 && errbuf[got - 1] == '\n')
		got--;
	errbuf[got] = '\0';
	fclose(tmp);
	return n;
}

static struct ynode *load_str(const char *buf, int *empty)
{
	return load(buf, strlen(buf), empty);
}

/* A growing text buffer. */
struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (t->s && t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			abort();
	}
	t->len += (size_t)n;
}

static void structure(void)
{
	const char *doc =
		"ruleset: t\n"
		"version: 1\n"
		"rules:\n"
		"  - id: \"a.b\"\n"
		"    check: |\n"
		"      x > 1\n"
		"    tags: [one, 'two']\n"
		"    empty: {}\n";
	struct ynode *root, *rule, *n;
	int empty = -1;

	root = load_str(doc, &empty);
	ok(root && !empty && root->type == YNODE_MAPPING && root->n == 6, "a mapping of 3 keys");
	if (!root)
		return;
	n = ytree_get(root, "ruleset");
	ok(n && n->type == YNODE_SCALAR && strcmp(n->value, "t") == 0 && n->len == 1 &&
	   n->line == 1 && n->col == 10 && !n->quoted && !n->literal, "a plain scalar, its place");
	n = ytree_get(root, "rules");
	ok(n && n->type == YNODE_SEQUENCE && n->n == 1 && n->line == 4 && n->col == 3,
	   "a sequence of one item");
	rule = n && n->n ? n->kids[0] : NULL;
	ok(rule && rule->type == YNODE_MAPPING && rule->n == 8, "a mapping in the sequence");
	n = ytree_get(rule, "id");
	ok(n && strcmp(n->value, "a.b") == 0 && n->quoted && n->line == 4 && n->col == 9,
	   "a quoted scalar");
	n = ytree_get(rule, "check");
	ok(n && strcmp(n->value, "x > 1\n") == 0 && n->literal && !n->quoted, "a block scalar");
	n = ytree_get(rule, "tags");
	ok(n && n->type == YNODE_SEQUENCE && n->n == 2 && strcmp(n->kids[0]->value, "one") == 0 &&
	   strcmp(n->kids[1]->value, "two") == 0 && n->kids[1]->quoted, "a flow sequence");
	n = ytree_get(rule, "empty");
	ok(n && n->type == YNODE_MAPPING && n->n == 0 && !n->kids, "an empty mapping");
	ok(!ytree_get(rule, "nosuch") && !ytree_get(n, "x"), "ytree_get of absent keys");
	ytree_free(root);

	root = load_str("just text\n", &empty);
	ok(root && root->type == YNODE_SCALAR && strcmp(root->value, "just text") == 0,
	   "a document that is a scalar");
	ytree_free(root);
	root = load_str("# nothing\n", &empty);
	ok(!root && empty == 1 && !errbuf[0], "an empty document");
	ytree_free(NULL);
	root = load("a: \"x\\0y\"\n", 10, &empty);
	n = ytree_get(root, "a");
	ok(n && n->len == 3 && memcmp(n->value, "x\0y", 4) == 0, "a scalar holding a NUL byte");
	ytree_free(root);
}

/* Trees of many nodes take several blocks. */
static void many_nodes(void)
{
	struct text t = { 0 };
	struct ynode *root, *n;
	int empty, good = 1;
	const unsigned items = 30000, keys = 2000;

	put(&t, "list:\n");
	for (unsigned i = 0; i < items; i++)
		put(&t, "  - v%u\n", i);
	put(&t, "map:\n");
	for (unsigned i = 0; i < keys; i++)
		put(&t, "  k%u: {a: %u, b: [x%u, y]}\n", i, i, i);
	root = load(t.s, t.len, &empty);
	n = ytree_get(root, "list");
	ok(n && n->n == items, "a sequence of %u scalars", items);
	for (unsigned i = 0; n && i < n->n && good; i++) {
		char want[16];

		snprintf(want, sizeof(want), "v%u", i);
		good = strcmp(n->kids[i]->value, want) == 0 && n->kids[i]->line == i + 2 &&
		       n->kids[i]->col == 5;
	}
	ok(n && good, "every scalar in its place");
	n = ytree_get(root, "map");
	ok(n && n->n == 2 * keys, "a mapping of %u keys", keys);
	good = 1;
	for (unsigned i = 0; n && i < keys && good; i++) {
		const struct ynode *v = n->kids[2 * i + 1], *a = ytree_get(v, "a");
		const struct ynode *b = ytree_get(v, "b");
		char want[16];

		snprintf(want, sizeof(want), "%u", i);
		good = a && strcmp(a->value, want) == 0 && b && b->n == 2 &&
		       b->kids[0]->value[0] == 'x' && atoi(b->kids[0]->value + 1) == (int)i;
	}
	ok(n && good, "every nested mapping whole");
	ytree_free(root);

	/* the same, failing at the very end: everything is freed */
	put(&t, "last: *alias\n");
	root = load(t.s, t.len, &empty);
	ok(!root && strstr(errbuf, "aliases (*name) are not supported"), "failure after %u nodes",
	   items + 4 * keys);
	free(t.s);
}

/* A duplicate key is reported at its second place, naming the first; with
 * several, the smallest key is reported, for small and large mappings. */
static void duplicates(void)
{
	struct text t = { 0 };
	struct ynode *root;
	int empty;

	root = load_str("b: 1\na: 2\nb: 3\na: 4\nc: 5\n", &empty);
	ok(!root && strstr(errbuf, "t.yaml:4:1: error: duplicate key 'a' (first at line 2, "
			   "column 1)"), "small mapping: %s", errbuf);
	root = load_str("x:\n  q: 1\n  p: 2\n  q: 3\n  q: 4\n", &empty);
	ok(!root && strstr(errbuf, "t.yaml:4:3: error: duplicate key 'q' (first at line 2, "
			   "column 3)"), "small nested mapping: %s", errbuf);
	for (unsigned i = 0; i < 40; i++)
		put(&t, "k%02u: %u\n", i, i);
	put(&t, "b: 1\na: 2\nb: 3\na: 4\n");
	root = load(t.s, t.len, &empty);
	ok(!root && strstr(errbuf, "t.yaml:44:1: error: duplicate key 'a' (first at line 42, "
			   "column 1)"), "large mapping: %s", errbuf);
	free(t.s);
	root = load_str("a: 1\nb: 2\nc: {a: 1, b: 2}\n", &empty);
	ok(root != NULL, "no duplicates");
	ytree_free(root);
}

static void failures(void)
{
	static const struct {
		const char *doc, *err;
	} bad[] = {
		{ "a: &x 1\n", "anchors (&name) are not supported" },
		{ "a: [1, 2\n", "error" },
		{ "? [a]\n: 1\n", "mapping keys must be plain words" },
		{ "a: 1\n---\nb: 2\n", "only one YAML document per file" },
		{ "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		  "nesting deeper than" },
		{ "list:\n  - 1\n  - {a: 1, a: 2}\n", "duplicate key 'a'" },
	};
	int empty;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ynode *root = load_str(bad[i].doc, &empty);

		ok(!root && !empty && strstr(errbuf, bad[i].err), "refused: %s", bad[i].err);
		ytree_free(root);
	}
	ok(!load("a: 1\0", 5, &empty) && strstr(errbuf, "not a text file"), "NUL bytes refused");
}

int main(void)
{
	structure();
	many_nodes();
	duplicates();
	failures();
	return tap_done();
}
