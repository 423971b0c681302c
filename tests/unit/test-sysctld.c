/* The persisted sysctl configuration (sysctl.d) on fixture roots: directory
 * precedence, masking, order of application, syntax, globs, unreadable
 * files. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "facts/sysctld.h"
#include "util/fileio.h"
#include "tap.h"

static const char *fixtures;

static json_t *collect(const char *name)
{
	char path[PATH_MAX];
	struct nk_root root;
	json_t *doc = json_object();
	int r;

	snprintf(path, sizeof(path), "%s/sysctld/%s", fixtures, name);
	if (root_open(&root, path) < 0) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	r = sysctld_collect(doc, &root);
	is_int(r, 0, "%s: collected", name);
	root_close(&root);
	if (getenv("SYSCTLD_DUMP"))
		json_dumpf(doc, stdout, JSON_INDENT(1));
	return doc;
}

static json_t *key(json_t *doc, const char *k)
{
	return json_object_get(json_object_get(json_object_get(doc, "persistent"), "keys"), k);
}

static const char *origin(json_t *doc, const char *k)
{
	return json_string_value(json_object_get(key(doc, k), "origin"));
}

static long long ival(json_t *doc, const char *k)
{
	json_t *v = json_object_get(key(doc, k), "value");

	return json_is_integer(v) ? json_integer_value(v) : LLONG_MIN;
}

static json_t *file(json_t *doc, const char *path)
{
	json_t *files = json_object_get(json_object_get(doc, "persistent"), "files"), *f;
	size_t i;

	json_array_foreach(files, i, f)
		if (strcmp(json_string_value(json_object_get(f, "path")), path) == 0)
			return f;
	return NULL;
}

static const char *status(json_t *doc, const char *path)
{
	return json_string_value(json_object_get(file(doc, path), "status"));
}

static const char *fstr(json_t *doc, const char *path, const char *field)
{
	return json_string_value(json_object_get(file(doc, path), field));
}

/* "origin=value,origin=value" of a shadowed list, values as JSON */
static char *shadows(json_t *arr)
{
	static char buf[1024];
	json_t *s;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(arr, i, s) {
		char *v = json_dumps(json_object_get(s, "value"), JSON_ENCODE_ANY | JSON_COMPACT);

		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s=%s", i ? "," : "",
			 json_string_value(json_object_get(s, "origin")), v ? v : "?");
		free(v);
	}
	return buf;
}

static char *dump(json_t *v)
{
	static char buf[1024];
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	return buf;
}

static int has_note(json_t *doc, const char *sub)
{
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(doc, "notes"), i, n)
		if (strstr(json_string_value(n), sub))
			return 1;
	return 0;
}

static void test_precedence(void)
{
	json_t *doc = collect("prec");
	json_t *files = json_object_get(json_object_get(doc, "persistent"), "files");
	const char *order[] = {
		"/etc/sysctl.d/05-early.conf", "/etc/sysctl.d/10-base.conf",
		"/run/sysctl.d/20-mid.conf", "/usr/local/lib/sysctl.d/25-local.conf",
		"/usr/lib/sysctl.d/30-a.conf", "/etc/sysctl.d/40-b.conf",
		"/usr/lib/sysctl.d/60-late.conf", "/lib/sysctl.d/70-lib.conf",
	};
	size_t i, n = 0, bad = 0;
	json_t *f;

	/* /etc over /run over /usr/lib, same basename */
	is_int(ival(doc, "net.core.somaxconn"), 4096, "/etc overrides /run and /usr/lib");
	is_str(origin(doc, "net.core.somaxconn"), "/etc/sysctl.d/10-base.conf:1", "origin of somaxconn");
	is_str(shadows(json_object_get(key(doc, "net.core.somaxconn"), "shadowed")), "",
	       "a shadowed file contributes no assignments");
	is_str(status(doc, "/run/sysctl.d/10-base.conf"), "shadowed", "/run copy shadowed");
	is_str(fstr(doc, "/usr/lib/sysctl.d/10-base.conf", "shadowed_by"), "/etc/sysctl.d/10-base.conf",
	       "/usr/lib copy shadowed by /etc");
	ok(!key(doc, "net.ipv4.tcp_rmem"), "keys of a shadowed file are absent");
	/* /run over /usr/local/lib and /usr/lib */
	is_int(ival(doc, "net.ipv4.tcp_syncookies"), 1, "/run overrides /usr/local/lib");
	is_str(origin(doc, "net.ipv4.tcp_syncookies"), "/run/sysctl.d/20-mid.conf:3",
	       "line numbers count blank and ';' comment lines");
	is_str(fstr(doc, "/usr/local/lib/sysctl.d/20-mid.conf", "shadowed_by"), "/run/sysctl.d/20-mid.conf",
	       "/usr/local/lib copy shadowed by /run");
	/* /usr/local/lib over /usr/lib */
	is_int(ival(doc, "net.ipv4.tcp_tw_reuse"), 2, "/usr/local/lib overrides /usr/lib");
	/* /usr/lib over a real /lib */
	is_str(fstr(doc, "/lib/sysctl.d/60-late.conf", "shadowed_by"), "/usr/lib/sysctl.d/60-late.conf",
	       "/lib is below /usr/lib");
	is_str(origin(doc, "kernel.pid_max"), "/lib/sysctl.d/70-lib.conf:1", "a file only in /lib applies");
	/* later basename wins, whatever the directory */
	is_int(ival(doc, "net.ipv4.tcp_fin_timeout"), 15, "later basename wins");
	is_str(origin(doc, "net.ipv4.tcp_fin_timeout"), "/etc/sysctl.d/40-b.conf:2", "origin of fin_timeout");
	is_str(shadows(json_object_get(key(doc, "net.ipv4.tcp_fin_timeout"), "shadowed")),
	       "/usr/lib/sysctl.d/30-a.conf:1=30", "shadowed list of fin_timeout");
	is_int(ival(doc, "fs.file-max"), 200, "/usr/lib/60-late beats /etc/05-early");
	is_str(shadows(json_object_get(key(doc, "fs.file-max"), "shadowed")),
	       "/etc/sysctl.d/05-early.conf:1=100", "shadowed list of file-max");
	/* masking */
	is_str(status(doc, "/etc/sysctl.d/50-masked.conf"), "masked", "a /dev/null link masks");
	is_str(status(doc, "/usr/lib/sysctl.d/50-masked.conf"), "shadowed", "the masked vendor file");
	ok(!key(doc, "net.core.netdev_max_backlog"), "keys of a masked file are absent");
	/* slashed keys */
	is_int(ival(doc, "net.ipv4.conf.eth0/100.rp_filter"), 1, "slashed key normalised to dotted form");
	/* /etc/sysctl.conf without a link */
	is_str(status(doc, "/etc/sysctl.conf"), "not-applied", "/etc/sysctl.conf alone is not applied");
	ok(has_note(doc, "/etc/sysctl.conf is not applied"), "note about /etc/sysctl.conf");
	/* hidden and non-.conf names */
	ok(!file(doc, "/etc/sysctl.d/.hidden.conf") && !file(doc, "/etc/sysctl.d/README"),
	   "hidden files and names without .conf are ignored");
	/* order of application */
	json_array_foreach(files, i, f) {
		if (strcmp(json_string_value(json_object_get(f, "status")), "applied") != 0)
			continue;
		if (n >= sizeof(order) / sizeof(order[0]) ||
		    strcmp(json_string_value(json_object_get(f, "path")), order[n]) != 0)
			bad++;
		n++;
	}
	ok(!bad && n == sizeof(order) / sizeof(order[0]), "applied files in lexical order of basename");
	ok(!json_object_get(doc, "notes") || json_array_size(json_object_get(doc, "notes")) == 1,
	   "no other notes");
	json_decref(doc);
}

static void test_syntax(void)
{
	json_t *doc = collect("syntax");
	json_t *globs = json_object_get(json_object_get(doc, "persistent"), "globs");
	json_t *g;

	is_int(ival(doc, "net.core.somaxconn"), 512, "blanks and CR stripped");
	is_str(origin(doc, "net.core.somaxconn"), "/etc/sysctl.d/10-syntax.conf:3", "CRLF lines counted once");
	ok(key(doc, "net.ipv4.tcp_max_syn_backlog") &&
	   json_is_true(json_object_get(key(doc, "net.ipv4.tcp_max_syn_backlog"), "ignore_failure")),
	   "'-' kept when the same value is assigned again without it");
	is_str(origin(doc, "net.ipv4.tcp_max_syn_backlog"), "/etc/sysctl.d/20-glob.conf:2",
	       "origin of a repeated equal assignment is the last one");
	is_str(dump(json_object_get(key(doc, "net.ipv4.tcp_wmem"), "value")), "[4096,16384,4194304]",
	       "value with blanks typed as a list");
	is_str(dump(json_object_get(key(doc, "kernel.domainname"), "value")), "\"\"", "empty value");
	is_str(dump(json_object_get(key(doc, "kernel.core_pattern"), "value")), "\"|/bin/false a=b\"",
	       "value split at the first '='");
	is_str(dump(json_object_get(key(doc, "net.ipv4.tcp_congestion_control"), "value")), "\"bbr\"",
	       "last line without newline");
	ok(has_note(doc, "10-syntax.conf:7: not an assignment"), "line without '=' noted");
	ok(has_note(doc, "10-syntax.conf:8: invalid key"), "invalid key noted");
	ok(json_is_true(json_object_get(key(doc, "net.ipv4.conf.lo.rp_filter"), "ignore_failure")),
	   "'-key = value' ignores failure");
	ok(json_is_false(json_object_get(key(doc, "net.ipv4.conf.hub0.rp_filter"), "ignore_failure")),
	   "plain assignment does not");
	/* exclusion */
	ok(json_is_null(json_object_get(key(doc, "net.ipv4.conf.default.rp_filter"), "value")) &&
	   json_is_true(json_object_get(key(doc, "net.ipv4.conf.default.rp_filter"), "exclude")),
	   "'-key' alone is an exclusion");
	is_int(ival(doc, "net.ipv4.conf.all.rp_filter"), 0, "an assignment replaces an exclusion");
	is_str(shadows(json_object_get(key(doc, "net.ipv4.conf.all.rp_filter"), "shadowed")),
	       "/etc/sysctl.d/10-syntax.conf:10=null", "shadowed exclusion recorded");
	/* globs */
	is_int(json_array_size(globs), 2, "two glob patterns");
	g = json_array_get(globs, 0);
	is_str(json_string_value(json_object_get(g, "pattern")), "net.ipv4.conf.*.accept_redirects",
	       "globs in order of application (a changed glob moves last)");
	ok(json_is_true(json_object_get(g, "ignore_failure")), "'-' on a glob");
	g = json_array_get(globs, 1);
	is_str(json_string_value(json_object_get(g, "pattern")), "net.ipv4.conf.*.rp_filter", "second glob");
	is_str(dump(json_object_get(g, "value")), "1", "later glob assignment wins");
	is_str(json_string_value(json_object_get(g, "origin")), "/etc/sysctl.d/20-glob.conf:3", "glob origin");
	is_str(shadows(json_object_get(g, "shadowed")), "/etc/sysctl.d/10-syntax.conf:9=2", "glob shadow list");
	is_str(dump(json_object_get(g, "explicit_keys")),
	       "[\"net.ipv4.conf.all.rp_filter\",\"net.ipv4.conf.default.rp_filter\","
	       "\"net.ipv4.conf.hub0.rp_filter\",\"net.ipv4.conf.lo.rp_filter\"]",
	       "explicit keys and exclusions the glob does not write");
	ok(!key(doc, "net.ipv4.conf.*.rp_filter"), "globs are not listed as keys");
	json_decref(doc);
}

static void test_broken(void)
{
	json_t *doc = collect("broken");

	is_str(status(doc, "/etc/sysctl.d/30-loop.conf"), "unreadable", "symlink loop unreadable");
	is_str(fstr(doc, "/etc/sysctl.d/30-loop.conf", "error"), strerror(ELOOP), "loop error text");
	ok(has_note(doc, "/etc/sysctl.d/30-loop.conf: "), "loop noted");
	is_str(origin(doc, "vm.swappiness"), "/usr/lib/sysctl.d/30-loop.conf:1",
	       "an unresolvable name falls through to the next directory");
	is_str(status(doc, "/etc/sysctl.d/40-dangling.conf"), "missing", "dangling link");
	is_str(status(doc, "/usr/lib/sysctl.d/40-dangling.conf"), "shadowed", "a dangling link hides the name");
	ok(!key(doc, "vm.dirty_ratio") || strcmp(origin(doc, "vm.dirty_ratio"),
						  "/etc/sysctl.d/50-abs.conf:1") == 0,
	   "nothing read from the dangling link");
	is_str(origin(doc, "vm.dirty_ratio"), "/etc/sysctl.d/50-abs.conf:1",
	       "absolute link target resolved below the root");
	is_str(origin(doc, "vm.overcommit_memory"), "/etc/sysctl.d/10-bin.conf:5",
	       "assignments after binary garbage (NUL ends a line)");
	is_str(origin(doc, "vm.min_free_kbytes"), "/etc/sysctl.d/10-bin.conf:7", "assignment after a long line");
	ok(has_note(doc, "10-bin.conf:6: line too long"), "long line noted");
	ok(has_note(doc, "10-bin.conf:4: invalid key") && has_note(doc, "\\xff\\xfe\\x1b"),
	   "garbage key noted, escaped");
	json_decref(doc);
}

static void test_merged(void)
{
	json_t *doc = collect("merged");
	size_t i, nlib = 0;
	json_t *f;

	json_array_foreach(json_object_get(json_object_get(doc, "persistent"), "files"), i, f)
		if (strncmp(json_string_value(json_object_get(f, "path")), "/lib/", 5) == 0)
			nlib++;
	is_int(nlib, 0, "/lib -> usr/lib is not read twice");
	is_str(status(doc, "/usr/lib/sysctl.d/10-x.conf"), "applied", "vendor file applied once");
	is_str(status(doc, "/etc/sysctl.conf"), "applied", "/etc/sysctl.conf applied through the link");
	is_str(fstr(doc, "/etc/sysctl.conf", "via"), "/etc/sysctl.d/99-sysctl.conf", "via 99-sysctl.conf");
	is_str(fstr(doc, "/etc/sysctl.d/99-sysctl.conf", "link"), "../sysctl.conf", "link text recorded");
	is_str(origin(doc, "vm.swappiness"), "/etc/sysctl.d/99-sysctl.conf:3",
	       "sysctl.conf assignments carry the sysctl.d name");
	is_int(ival(doc, "net.core.somaxconn"), 1000, "99-tuning.conf sorts after 99-sysctl.conf and wins");
	is_str(shadows(json_object_get(key(doc, "net.core.somaxconn"), "shadowed")),
	       "/usr/lib/sysctl.d/10-x.conf:2=128,/etc/sysctl.d/99-sysctl.conf:2=8192",
	       "shadow list in order of application");
	ok(!json_object_get(doc, "notes"), "no notes");
	json_decref(doc);
}

static void test_empty_root(void)
{
	json_t *doc = collect("../facts");
	json_t *p = json_object_get(doc, "persistent");

	is_int(json_array_size(json_object_get(p, "files")), 0, "no sysctl.d: no files");
	is_int(json_object_size(json_object_get(p, "keys")), 0, "no sysctl.d: no keys");
	json_decref(doc);
}

/* Where systemd-analyze exists: the files it lists for a root, in order,
 * against the files netknobs applies (masked and dangling names included:
 * systemd lists them and reads nothing from them). */
static void test_systemd_analyze(const char *name)
{
	char path[PATH_MAX], real[PATH_MAX], cmd[PATH_MAX + 128], line[PATH_MAX * 2];
	char want[4096] = "", got[4096] = "";
	json_t *doc, *f;
	size_t i, rl;
	FILE *p;

	snprintf(path, sizeof(path), "%s/sysctld/%s", fixtures, name);
	if (system("command -v systemd-analyze >/dev/null 2>&1") != 0 || !realpath(path, real)) {
		ok(1, "%s: systemd-analyze comparison # SKIP systemd-analyze not found", name);
		return;
	}
	rl = strlen(real);
	snprintf(cmd, sizeof(cmd), "systemd-analyze --root='%s' cat-config sysctl.d 2>/dev/null", real);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "# /", 3) != 0 || strncmp(line + 2, real, rl) != 0)
			continue;
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s ", line + 2 + rl);
	}
	if (p)
		pclose(p);
	if (!want[0]) {
		ok(1, "%s: systemd-analyze comparison # SKIP systemd-analyze printed nothing", name);
		return;
	}
	doc = collect(name);
	json_array_foreach(json_object_get(json_object_get(doc, "persistent"), "files"), i, f) {
		const char *st = json_string_value(json_object_get(f, "status"));
		const char *fp = json_string_value(json_object_get(f, "path"));

		if (strcmp(fp, "/etc/sysctl.conf") == 0 ||
		    (strcmp(st, "applied") && strcmp(st, "masked") && strcmp(st, "missing")))
			continue;
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s ", fp);
	}
	is_str(got, want, "%s: same files in the same order as systemd-analyze cat-config", name);
	json_decref(doc);
}

int main(void)
{
	fixtures = getenv("FIXTURES");
	if (!fixtures || !*fixtures)
		fixtures = "tests/fixtures-built";

	test_precedence();
	test_syntax();
	test_broken();
	test_merged();
	test_empty_root();
	test_systemd_analyze("prec");
	test_systemd_analyze("syntax");
	return tap_done();
}
