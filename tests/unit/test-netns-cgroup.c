/* The cgroup path parser that names containers and pods
 * (netns_cgroup_parse_path), driven by tests/unit/netns-cgroup.test, and the
 * choice of line in a /proc/PID/cgroup text (netns_cgroup_parse). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/netns-scan.h"
#include "tap.h"

static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

/* \xNN decoded in place */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		unsigned v;

		if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static void check_line(char *line, unsigned lineno)
{
	char *f[5], *p = line;
	struct netns_cgroup cg;
	bool rec;
	int i;

	for (i = 0; i < 5 && p; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (p)
			*p++ = '\0';
	}
	if (i != 5 || p) {
		ok(0, "line %u: 5 tab-separated fields", lineno);
		return;
	}
	unescape(f[0]);
	rec = netns_cgroup_parse_path(f[0], &cg);
	if (!ok(rec == (strcmp(f[1], "unknown") != 0) &&
		!strcmp(netns_kind_name(cg.kind), f[1]) &&
		!strcmp(cg.runtime == NETNS_KIND_UNKNOWN ? "-" : netns_kind_name(cg.runtime), f[2]) &&
		!strcmp(dash(cg.id), f[3]) && !strcmp(dash(cg.pod_uid), f[4]),
		"line %u: %.60s%s is %s", lineno, f[0], strlen(f[0]) > 60 ? "..." : "", f[1]))
		printf("#   got: %s %s %s %s (recognised %d)\n", netns_kind_name(cg.kind),
		       cg.runtime == NETNS_KIND_UNKNOWN ? "-" : netns_kind_name(cg.runtime), dash(cg.id),
		       dash(cg.pod_uid), rec);
}

#define A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void check_file(const char *text, const char *kind, const char *id, const char *what)
{
	struct netns_cgroup cg;
	bool rec = netns_cgroup_parse(text, &cg);

	if (!ok(rec == (strcmp(kind, "unknown") != 0) && !strcmp(netns_kind_name(cg.kind), kind) &&
		!strcmp(dash(cg.id), id), "%s", what))
		printf("#   got: %s %s\n", netns_kind_name(cg.kind), dash(cg.id));
}

int main(int argc, char **argv)
{
	const char *top = getenv("TOP_SRCDIR");
	char path[4096], line[8192];
	unsigned lineno = 0, cases = 0;
	FILE *f;

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "%s/tests/unit/netns-cgroup.test", top ? top : ".");
	f = fopen(path, "r");
	if (!ok(f != NULL, "open %s", path))
		return tap_done();
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		check_line(line, lineno);
		cases++;
	}
	fclose(f);
	ok(cases >= 50, "%u cases read", cases);

	check_file("0::/system.slice/docker-" A ".scope\n", "docker", A, "cgroup v2 only");
	check_file("12:pids:/docker/" A "\n11:memory:/docker/" A "\n1:name=systemd:/docker/" A "\n0::/\n",
		   "docker", A, "v1 controllers with the container, unified line at the root (hybrid)");
	check_file("4:memory:/docker/" B "\n0::/system.slice/docker-" A ".scope\n", "docker", A,
		   "the unified line is read first");
	check_file("1:name=systemd:/user.slice/user-0.slice/session-1.scope\n0::/user.slice/user-0.slice/session-1.scope\n",
		   "unknown", "-", "a login session");
	check_file("", "unknown", "-", "empty file");
	check_file("garbage without colons\n::\n0:\n", "unknown", "-", "malformed lines");
	check_file("3:cpu:/kubepods/besteffort/pod5b8e1a3c-2d4f-4e6a-9b7c-1d2e3f4a5b6c/" A,
		   "kubernetes-pod", A, "last line without a newline");
	return tap_done();
}
