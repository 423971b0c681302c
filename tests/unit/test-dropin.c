/* The pieces of `netknobs fix`: value text, comparisons, the diff and the
 * drop-in built from an audit result. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/apply.h"
#include "fix/dropin.h"
#include "rules/rules.h"
#include "tap.h"
#include "util/diff.h"

static void text_is(const char *json, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *t = dropin_value_text(v);

	if (want)
		is_str(t, want, "value text of %s", json);
	else
		ok(t == NULL, "value text of %s refused (got %s)", json, t ? t : "NULL");
	free(t);
	json_decref(v);
}

static void meets(const char *have, const char *want, const char *mode, int expect)
{
	json_t *h = json_loads(have, JSON_DECODE_ANY, NULL), *w = json_loads(want, JSON_DECODE_ANY, NULL);

	ok(dropin_value_meets(h, w, mode) == expect, "%s %s %s: %s", have, mode, want,
	   expect ? "meets" : "does not meet");
	json_decref(h);
	json_decref(w);
}

static char *diff_of(const char *a, const char *b, int *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*r = diff_unified(f, a, "old", b, "new");
	fclose(f);
	return buf;
}

static void test_diff(void)
{
	int r;
	char *d = diff_of("a\nb\nc\n", "a\nb\nc\n", &r);

	is_int(r, 0, "equal texts: no difference");
	is_str(d, "", "equal texts: no output");
	free(d);
	d = diff_of("a\nb\nc\n", "a\nB\nc\n", &r);
	is_int(r, 1, "one line changed");
	is_str(d, "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", "one line changed: the hunk");
	free(d);
	d = diff_of("", "x\n", &r);
	is_str(d, "--- old\n+++ new\n@@ -0,0 +1,1 @@\n+x\n", "from nothing");
	free(d);
	d = diff_of("x", "x\n", &r);
	is_str(d, "--- old\n+++ new\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+x\n",
	       "a missing final newline is a difference, and said");
	free(d);
	d = diff_of("k = \x1b[2J\n", "k = 1\n", &r);
	ok(d && !strchr(d, '\x1b'), "control characters of the old file are escaped");
	free(d);
	d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n", &r);
	is_str(d, "--- old\n+++ new\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n",
	       "changes far apart: two hunks");
	free(d);
}

/* A drop-in from a made-up audit and facts. */
static void test_build(void)
{
	const char *audit_s =
		"{\"recommendations\": ["
		" {\"key\": \"net.core.somaxconn\", \"value\": 8192, \"mode\": \"at-least\", \"rules\": [\"r.one\"],"
		"  \"notes\": [\"listen() again\\nnow\"]},"
		" {\"key\": \"net.ipv4.tcp_fin_timeout\", \"value\": 30, \"mode\": \"at-most\", \"rules\": [\"r.two\"]},"
		" {\"key\": \"net.ipv4.tcp_syncookies\", \"value\": 1, \"mode\": \"exact\", \"rules\": [\"r.a\", \"r.b\"],"
		"  \"conflict\": true},"
		" {\"key\": \"net/../etc\", \"value\": 1, \"mode\": \"exact\", \"rules\": [\"r.evil\"]},"
		" {\"key\": \"kernel.x\", \"value\": \"a\\nb\", \"mode\": \"exact\", \"rules\": [\"r.nl\"]}"
		"]}";
	const char *facts_s =
		"{\"sysctl\": {\"net.core.somaxconn\": 4096, \"net.ipv4.tcp_fin_timeout\": 60},"
		" \"persistent\": {\"files\": [], \"keys\": {"
		"  \"net.ipv4.tcp_fin_timeout\": {\"value\": 45, \"origin\": \"/etc/sysctl.d/99-z.conf:4\","
		"   \"shadowed\": [{\"origin\": \"/usr/lib/sysctl.d/10-a.conf:1\", \"value\": 20}]}}}}";
	const char *existing = "# Written by `netknobs fix --write`: old header\n\n"
			       "# kept comment\nvm.swappiness = 10\n\n"
			       "net.core.somaxconn = 16384\n";
	json_t *audit = json_loads(audit_s, 0, NULL), *facts = json_loads(facts_s, 0, NULL);
	struct rulebook rb;
	struct dropin d;

	rulebook_init(&rb);
	ok(audit && facts, "test documents parse");
	is_int(dropin_build(&d, audit, facts, &rb, "/etc/sysctl.d/90-netknobs.conf", existing), 0, "build");
	is_int((int)d.n, 3, "three settings: two recommended, one kept");
	/* the file's order, then keys new to it */
	is_str(d.e[0].key, "vm.swappiness", "the file's first key stays first");
	ok(d.e[0].kept, "marked kept");
	is_str(d.e[1].key, "net.core.somaxconn", "a recommended key takes its line's place");
	is_str(d.e[1].text, "16384", "the drop-in's own higher value is never lowered");
	is_str(d.e[2].key, "net.ipv4.tcp_fin_timeout", "a key new to the file comes last");
	is_str(d.e[2].text, "20", "at-most: the smaller value of an earlier file is kept");
	is_str(d.e[2].overridden_by, "/etc/sysctl.d/99-z.conf:4", "a later file wins");
	ok(strstr(d.content, "the lower value already in use is kept") != NULL, "at-most says lower");
	ok(strstr(d.content, "# kept comment\nvm.swappiness = 10\n") != NULL, "kept with its comment");
	ok(strstr(d.content, "old header") == NULL, "the old header is replaced");
	ok(strstr(d.content, "# note: listen() again now\n") != NULL, "a newline in a note stays in the comment");
	ok(strstr(d.content, "kernel.x") == NULL, "a value with a newline is not written");
	ok(strstr(d.content, "net/..") == NULL, "a hostile key is not written");
	ok(strstr(d.content, "tcp_syncookies") == NULL, "a conflict is not written");
	is_int((int)json_array_size(d.warnings), 1, "one warning: the later file");
	is_int((int)json_array_size(d.notes), 3, "three notes: conflict, bad key, unwritable value");
	dropin_free(&d);

	json_decref(audit);
	audit = json_object();
	is_int(dropin_build(&d, audit, facts, &rb, "/etc/sysctl.d/90-netknobs.conf", NULL), 0,
	       "build with nothing to do");
	is_str(d.content, "", "nothing to write");
	dropin_free(&d);
	rulebook_free(&rb);
	json_decref(audit);
	json_decref(facts);
}

/* The file already there, rewritten for one recommendation (somaxconn at
 * least 8192 by rule t.s, titled "Queues"): what the new file holds. */
struct rewrite_case {
	const char *name;
	const char *existing;
	const char *want;       /* the new file, after the header */
};

#define REC "# t.s: Queues\n# recommended: at least 8192\n# note: listen() again\nnet.core.somaxconn = 8192\n"
#define HDR "# Written by `netknobs fix --write`: the sysctl settings the netknobs rules\n" \
	"# recommend for this host, each with the rules that asked for it and why.\n" \
	"# A setting no rule asks for any more is kept; to stop persisting it, delete\n" \
	"# its lines.  Files applied after this one (by name) win over it.\n"

static const struct rewrite_case rewrites[] = {
	{ "CR-only line ends: every key kept, LF written",
	  "net.core.somaxconn = 1\rnet.ipv4.tcp_fin_timeout = 30\r",
	  "\n" REC "\nnet.ipv4.tcp_fin_timeout = 30\n" },
	{ "CRLF and LF CR line ends",
	  "vm.swappiness = 1\r\n\n\rnet.ipv4.tcp_fin_timeout = 30\n\r",
	  "\nvm.swappiness = 1\n\nnet.ipv4.tcp_fin_timeout = 30\n\n" REC },
	{ "the admin's comment after the header stays",
	  HDR "# reviewed by ops\n\n" REC,
	  "\n# reviewed by ops\n\n" REC },
	{ "the admin's comment above a recommended key stays, ours are replaced",
	  HDR "\n# raised for the load balancer\n" REC,
	  "\n# raised for the load balancer\n" REC },
	{ "the admin's comment between our lines and the key stays",
	  HDR "\n# t.s: Queues\n# recommended: at least 4096\n# mine\nnet.core.somaxconn = 4096\n",
	  "\n# mine\n" REC },
	{ "the admin's comment above a line of the key that goes stays",
	  "# first\nnet.core.somaxconn = 1\n# second\nnet.core.somaxconn = 2\n",
	  "\n# first\n\n# second\n" REC },
	{ "a line that only looks like a rule's stays (another title)",
	  "# t.s: not the title\nnet.core.somaxconn = 1\n",
	  "\n# t.s: not the title\n" REC },
	{ "a line naming an unknown rule stays",
	  "# somaxconn: raised (ticket 42)\n" REC,
	  "\n# somaxconn: raised (ticket 42)\n" REC },
	{ "a note of the admin's with no recommended line above stays",
	  "# note: keep this\nnet.core.somaxconn = 1\n",
	  "\n# note: keep this\n" REC },
	{ "the admin's own 'recommended:' and 'note:' lines stay (not as netknobs writes them)",
	  "# recommended: by our DBA, do not lower\n# note: see ticket 7\nnet.core.somaxconn = 1\n",
	  "\n# recommended: by our DBA, do not lower\n# note: see ticket 7\n" REC },
	{ "an admin's 'recommended: at least' line with words after the value stays",
	  "# recommended: at least 1024 per the vendor\nnet.core.somaxconn = 1\n",
	  "\n# recommended: at least 1024 per the vendor\n" REC },
	{ "our recommended line with a kept value, and a list value, are ours",
	  HDR "\n# t.s: Queues\n# recommended: at least 8192; the higher value already in use is kept\n"
	  "net.core.somaxconn = 1\n\n# recommended: exactly 4096 87380 6291456\n# note: x\nnet.core.somaxconn = 2\n",
	  "\n" REC },
	{ "after our header, an admin's comment that starts as the header does stays",
	  HDR "\n# Written by `netknobs fix` once, then edited by hand\nvm.swappiness = 1\n"
	  "\n# Written by `netknobs fix` too\n\n" REC,
	  "\n# Written by `netknobs fix` once, then edited by hand\nvm.swappiness = 1\n"
	  "\n# Written by `netknobs fix` too\n\n" REC },
	{ "an older header's first line goes, the admin's lines after it stay",
	  "# Written by `netknobs fix --write`: older words\n# mine\n\nvm.swappiness = 1\n",
	  "\n# mine\n\nvm.swappiness = 1\n\n" REC },
};

static void test_rewrites(void)
{
	static const char rules[] =
		"ruleset: t\nversion: 1\nrules:\n"
		"  - id: t.s\n    title: Queues\n    severity: warning\n"
		"    check: sysctl(\"net.core.somaxconn\") >= 8192\n    message: low\n"
		"    recommend:\n      net.core.somaxconn: 8192\n    rationale: queues\n";
	json_t *audit = json_loads("{\"recommendations\": [{\"key\": \"net.core.somaxconn\", \"value\": 8192,"
				   " \"mode\": \"at-least\", \"rules\": [\"t.s\"], \"notes\": [\"listen() again\"]}]}",
				   0, NULL);
	json_t *facts = json_loads("{\"sysctl\": {\"net.core.somaxconn\": 4096}}", 0, NULL);
	struct rulebook rb;

	rulebook_init(&rb);
	rulebook_load_buffer(&rb, "t.yaml", rules, sizeof(rules) - 1);
	rulebook_finish(&rb);
	ok(audit && facts && !rb.errors, "rewrite: test documents and rules load");
	for (size_t i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
		const struct rewrite_case *c = &rewrites[i];
		struct dropin d, again;
		char *want = NULL;

		if (asprintf(&want, "%s%s", HDR, c->want) < 0)
			break;
		if (dropin_build(&d, audit, facts, &rb, "/etc/sysctl.d/90-netknobs.conf", c->existing) < 0)
			break;
		is_str(d.content, want, "%s", c->name);
		if (dropin_build(&again, audit, facts, &rb, "/etc/sysctl.d/90-netknobs.conf", d.content) == 0)
			is_str(again.content, d.content, "%s: a second rewrite changes nothing", c->name);
		dropin_free(&again);
		dropin_free(&d);
		free(want);
	}
	rulebook_free(&rb);
	json_decref(audit);
	json_decref(facts);
}

int main(void)
{
	text_is("4096", "4096");
	text_is("-1", "-1");
	text_is("[4096, 131072, 6291456]", "4096 131072 6291456");
	text_is("\"fq_codel\"", "fq_codel");
	text_is("\"a\\nb\"", NULL);
	text_is("\"a\\u001bb\"", NULL);
	text_is("\" lead\"", NULL);
	text_is("\"trail\\t\"", NULL);
	text_is("\"\"", NULL);
	text_is("true", NULL);
	text_is("[]", NULL);
	text_is("[1, \"x\"]", NULL);
	text_is("null", NULL);

	meets("8192", "4096", "at-least", 1);
	meets("4096", "4096", "at-least", 1);
	meets("4095", "4096", "at-least", 0);
	meets("30", "60", "at-most", 1);
	meets("61", "60", "at-most", 0);
	meets("1", "1", "exact", 1);
	meets("2", "1", "exact", 0);
	meets("[1024, 65535]", "[1024, 60999]", "at-least", 1);
	meets("[1024, 65535]", "[2048, 60999]", "at-least", 0);
	meets("[1, 2]", "[1, 2, 3]", "exact", 0);
	meets("\"a\"", "\"a\"", "exact", 1);
	meets("\"a\"", "4", "at-least", 0);

	ok(apply_same_value("1 2", "1\t 2\n"), "same words, other blanks");
	ok(apply_same_value("08", "8"), "numbers as numbers");
	ok(!apply_same_value("1 2", "1 2 3"), "one word more");
	ok(!apply_same_value("cubic", "reno"), "other words");
	ok(apply_same_value("", "  "), "both empty");
	ok(!apply_same_value("99999999999999999999", "99999999999999999998"), "beyond 64 bits: as text");

	test_diff();
	test_build();
	test_rewrites();
	return tap_done();
}
