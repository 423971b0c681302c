/* netknobs facts: what netknobs knows about this host. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "facts/facts.h"
#include "facts/sysctl.h"
#include "util/atomic.h"
#include "util/duration.h"
#include "util/escape.h"
#include "util/log.h"

enum { OPT_FROM = OPT_CMD_BASE, OPT_SYSCTL, OPT_OUTPUT };

struct facts_args {
	const char *from;
	const char *output;
	const char **keys;
	size_t nkeys;
	struct sample_args sample;
};

static int facts_opt(int c, const char *arg, void *data)
{
	struct facts_args *a = data;

	if (sample_args_option(&a->sample, c, arg))
		return 0;
	switch (c) {
	case OPT_FROM:
		a->from = arg;
		return 0;
	case OPT_OUTPUT:
	case 'o':
		a->output = arg;
		return 0;
	case OPT_SYSCTL: {
		const char **k = realloc(a->keys, (a->nkeys + 1) * sizeof(*k));

		if (!k)
			return -1;
		a->keys = k;
		a->keys[a->nkeys++] = arg;
		return 0;
	}
	}
	return -1;
}

static void print_value(const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_integer(v)) {
		printf("%lld", (long long)json_integer_value(v));
	} else if (json_is_string(v)) {
		fputs_safe(json_string_value(v), stdout);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (i)
				putchar(' ');
			print_value(e);
		}
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "yes" : "no", stdout);
	} else {
		fputs("?", stdout);
	}
}

static long long counter(const json_t *doc, const char *prefix, const char *name, int *have)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(doc, "counters"), prefix), name);

	*have = json_is_integer(v);
	return *have ? (long long)json_integer_value(v) : 0;
}

/* The sampling window: its length, the counters that moved (per second)
 * and the listeners that dropped packets during it. */
static void print_sample(const json_t *doc)
{
	const json_t *smp = json_object_get(doc, "sample"), *rates, *g, *v, *l;
	const char *prefix, *name;
	char d[32];
	size_t i, shown = 0;

	if (!smp)
		return;
	duration_format((uint64_t)json_integer_value(json_object_get(smp, "duration_ms")), d, sizeof(d));
	printf("\nSample (window of %s, %lld listener readings%s)\n", d,
	       (long long)json_integer_value(json_object_get(smp, "ticks")),
	       json_is_true(json_object_get(smp, "cut_short")) ? ", cut short" : "");
	rates = json_object_get(smp, "rates");
	json_object_foreach((json_t *)rates, prefix, g) {
		json_object_foreach((json_t *)g, name, v) {
			long long delta = (long long)json_integer_value(
				json_object_get(json_object_get(json_object_get(smp, "deltas"), prefix), name));

			if (!delta || (strcmp(prefix, "TcpExt") && strcmp(prefix, "Tcp")))
				continue;
			if (shown++ == 0)
				printf("  TCP counters that moved (per second over the window):\n");
			printf("  %s.%-28s %12.3f/s  (+%lld)\n", prefix, name, json_number_value(v), delta);
		}
	}
	if (!shown && json_object_size(rates))
		printf("  no TCP counter moved\n");
	shown = 0;
	json_array_foreach(json_object_get(json_object_get(doc, "sockets"), "listeners"), i, l) {
		const json_t *pk = json_object_get(l, "peak");
		char *addr;

		if (!json_is_true(json_object_get(pk, "overflowed")))
			continue;
		if (shown++ == 0)
			printf("  listeners that dropped packets during the window:\n");
		addr = escape_display(json_string_value(json_object_get(l, "address")) ?: "?");
		printf("    %s port %lld: %lld dropped, accept queue peaked at %lld",
		       addr ? addr : "?", (long long)json_integer_value(json_object_get(l, "port")),
		       (long long)json_integer_value(json_object_get(pk, "drops")),
		       (long long)json_integer_value(json_object_get(pk, "queue")));
		free(addr);
		v = json_object_get(l, "limit");
		if (v)
			printf(" (limit %lld)", (long long)json_integer_value(v));
		putchar('\n');
	}
}

static void print_text(const json_t *doc)
{
	const json_t *host = json_object_get(doc, "host");
	const json_t *ns = json_object_get(host, "netns");
	const json_t *sockets = json_object_get(doc, "sockets");
	const json_t *v, *softnet, *notes;
	const char *key;
	size_t i;
	static const char *const interesting[][2] = {
		{ "TcpExt", "ListenOverflows" }, { "TcpExt", "ListenDrops" },
		{ "TcpExt", "TCPReqQFullDrop" }, { "TcpExt", "TCPReqQFullDoCookies" },
		{ "TcpExt", "SyncookiesSent" }, { "TcpExt", "SyncookiesRecv" },
		{ "TcpExt", "SyncookiesFailed" }, { "TcpExt", "TCPTimeWaitOverflow" },
		{ "TcpExt", "EmbryonicRsts" }, { "Tcp", "CurrEstab" },
	};

	printf("Host\n");
	printf("  kernel         ");
	print_value(json_object_get(host, "kernel_release"));
	printf("\n  cpus           ");
	print_value(json_object_get(host, "cpus_online"));
	v = json_object_get(host, "mem_total_kib");
	if (json_is_integer(v))
		printf("\n  memory         %lld MiB", (long long)json_integer_value(v) / 1024);
	printf("\n  netns          ");
	v = json_object_get(ns, "initial");
	if (json_is_boolean(v))
		printf("%s", json_is_true(v) ? "initial (host)" : "not the initial namespace (container or netns)");
	else
		printf("unknown");
	v = json_object_get(ns, "id");
	if (json_is_string(v)) {
		printf(" ");
		fputs_safe(json_string_value(v), stdout);
	}
	printf("\n\nSysctl\n");
	json_object_foreach((json_t *)json_object_get(doc, "sysctl"), key, v) {
		printf("  ");
		fputs_safe(key, stdout);
		printf(" = ");
		print_value(v);
		putchar('\n');
	}
	json_object_foreach((json_t *)json_object_get(doc, "sysctl_unavailable"), key, v) {
		printf("  ");
		fputs_safe(key, stdout);
		printf(": ");
		print_value(json_object_get(v, "reason"));
		printf(" (");
		print_value(json_object_get(v, "error"));
		printf(")\n");
	}

	printf("\nCounters (since boot or namespace creation)\n");
	for (i = 0; i < sizeof(interesting) / sizeof(interesting[0]); i++) {
		int have;
		long long c = counter(doc, interesting[i][0], interesting[i][1], &have);

		if (have)
			printf("  %s.%-24s %lld\n", interesting[i][0], interesting[i][1], c);
	}
	softnet = json_object_get(doc, "softnet");
	if (softnet) {
		const json_t *t = json_object_get(softnet, "total");

		printf("  softnet: %zu CPUs, dropped %lld, time_squeeze %lld\n",
		       json_array_size(json_object_get(softnet, "cpus")),
		       (long long)json_integer_value(json_object_get(t, "dropped")),
		       (long long)json_integer_value(json_object_get(t, "time_squeeze")));
	}

	printf("\nSockets (source: ");
	print_value(json_object_get(sockets, "source"));
	printf(")\n");
	v = json_object_get(sockets, "fallback_reason");
	if (v) {
		printf("  fallback: ");
		print_value(v);
		putchar('\n');
	}
	printf("  listeners      %zu\n", json_array_size(json_object_get(sockets, "listeners")));
	json_object_foreach((json_t *)json_object_get(sockets, "states"), key, v)
		if (json_integer_value(v) > 0) {
			char *e = escape_display(key);

			printf("  %-14s %lld\n", e ? e : "?", (long long)json_integer_value(v));
			free(e);
		}

	print_sample(doc);

	notes = json_object_get(doc, "notes");
	if (json_array_size(notes)) {
		printf("\nNotes\n");
		json_array_foreach(notes, i, v) {
			printf("  - ");
			print_value(v);
			putchar('\n');
		}
	}
	printf("\nSee 'netknobs listeners' for the listening sockets and 'netknobs facts --json'\n"
	       "for everything.\n");
}

static int facts_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "sysctl", required_argument, NULL, OPT_SYSCTL },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		SAMPLE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct facts_args a = { 0 };
	json_t *doc;
	int r, ret = EXIT_NK_OK;

	r = cmd_parse(&cmd_facts, g, argc, argv, "o:", own, facts_opt, &a);
	if (r == -2 || r == -1) {
		free(a.keys);
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	}
	if (r < argc) {
		log_error("facts: unexpected argument '%s'", argv[r]);
		free(a.keys);
		return EXIT_NK_ERROR;
	}
	for (size_t i = 0; i < a.nkeys; i++) {
		const char *why;

		if (sysctl_key_parse(a.keys[i], NULL, NULL, &why) < 0) {
			char *esc = escape_untrusted_str(a.keys[i]);

			log_error("--sysctl %s: invalid key: %s", esc ? esc : "?", why);
			free(esc);
			free(a.keys);
			return EXIT_NK_ERROR;
		}
	}
	doc = cmd_get_facts_sampled(g, a.from, a.keys, a.nkeys, FACTS_SOCKETS, &a.sample);
	free(a.keys);
	if (!doc)
		return EXIT_NK_ERROR;
	if (a.output) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));

		if (!text || atomic_write_file(a.output, text, strlen(text), 0644) < 0)
			ret = EXIT_NK_ERROR;
		free(text);
	} else if (g->format == FORMAT_JSON) {
		if (print_json(doc) < 0)
			ret = EXIT_NK_ERROR;
	} else {
		print_text(doc);
	}
	json_decref(doc);
	return ret;
}

const struct cmd cmd_facts = {
	.name = "facts",
	.summary = "show what netknobs knows about this host (sysctls, counters, sockets)",
	.usage =
		"Usage: netknobs facts [--json] [--from FILE | --sample DURATION [--interval I]]\n"
		"                      [--sysctl KEY]... [-o FILE]\n"
		"\n"
		"Collect the facts document: sysctl values, kernel counters, socket states and\n"
		"listeners, host details.  Text shows a summary; --json the whole document\n"
		"(schema in doc/facts.md), which --from can load again later or elsewhere.\n"
		"\n"
		"Options:\n"
		"  --json, --format json  print the whole document as JSON\n"
		"  --from FILE            load a saved document instead of reading the system\n"
		"                         ('-' reads standard input)\n"
		SAMPLE_OPTIONS_HELP
		"  --sysctl KEY           also read KEY (dotted or slashed; '*' matches one\n"
		"                         component: net.ipv4.conf.*.rp_filter); repeatable\n"
		"  -o, --output FILE      write the JSON document to FILE atomically\n",
	.run = facts_run,
};
