/* netknobs facts as text: a summary of a facts document for people (the
 * whole document is `netknobs facts --json`). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/duration.h"
#include "util/escape.h"

static void print_value(const json_t *v, FILE *out)
{
	size_t i;
	const json_t *e;

	if (json_is_integer(v)) {
		fprintf(out, "%lld", (long long)json_integer_value(v));
	} else if (json_is_string(v)) {
		fputs_safe(json_string_value(v), out);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (i)
				fputc(' ', out);
			print_value(e, out);
		}
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "yes" : "no", out);
	} else {
		fputs("?", out);
	}
}

static long long counter(const json_t *doc, const char *prefix, const char *name, int *have)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(doc, "counters"), prefix), name);

	*have = json_is_integer(v);
	return *have ? (long long)json_integer_value(v) : 0;
}

static bool stuck_state(const char *s)
{
	return s && (!strcmp(s, "stopped") || !strcmp(s, "tracing-stop") || !strcmp(s, "disk-sleep") ||
		     !strcmp(s, "zombie") || !strcmp(s, "dead"));
}

/* "127.0.0.1 port 8443", escaped */
static void print_endpoint(const json_t *l, FILE *out)
{
	fputs_safe(json_string_value(json_object_get(l, "address")) ?: "?", out);
	fprintf(out, " port %lld", (long long)json_integer_value(json_object_get(l, "port")));
}

/* The sampling window: its length, the counters that moved (per second)
 * and the listeners that dropped packets during it. */
static void print_sample(const json_t *doc, FILE *out)
{
	const json_t *smp = json_object_get(doc, "sample"), *rates, *g, *v, *l;
	const char *prefix, *name;
	char d[32];
	size_t i, shown = 0;

	if (!smp)
		return;
	duration_format((uint64_t)json_integer_value(json_object_get(smp, "duration_ms")), d, sizeof(d));
	fprintf(out, "\nSample (window of %s, %lld listener readings%s)\n", d,
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
				fputs("  TCP counters that moved (per second over the window):\n", out);
			fprintf(out, "  %s.%-28s %12.3f/s  (+%lld)\n", prefix, name, json_number_value(v), delta);
		}
	}
	if (!shown && json_object_size(rates))
		fputs("  no TCP counter moved\n", out);
	shown = 0;
	json_array_foreach(json_object_get(json_object_get(doc, "sockets"), "listeners"), i, l) {
		const json_t *pk = json_object_get(l, "peak");
		char *addr;

		if (!json_is_true(json_object_get(pk, "overflowed")))
			continue;
		if (shown++ == 0)
			fputs("  listeners that dropped packets during the window:\n", out);
		addr = escape_display(json_string_value(json_object_get(l, "address")) ?: "?");
		fprintf(out, "    %s port %lld: %lld dropped, accept queue peaked at %lld",
		        addr ? addr : "?", (long long)json_integer_value(json_object_get(l, "port")),
		        (long long)json_integer_value(json_object_get(pk, "drops")),
		        (long long)json_integer_value(json_object_get(pk, "queue")));
		free(addr);
		v = json_object_get(l, "limit");
		if (v)
			fprintf(out, " (limit %lld)", (long long)json_integer_value(v));
		fputc('\n', out);
	}
	shown = 0;
	json_array_foreach(json_object_get(json_object_get(doc, "sockets"), "listeners"), i, l) {
		const json_t *pk = json_object_get(l, "peak");
		long long qmin = (long long)json_integer_value(json_object_get(pk, "queue_min"));
		long long n = (long long)json_integer_value(json_object_get(pk, "readings"));

		if (qmin <= 0 || n < 2 || !json_is_false(json_object_get(pk, "shrank")))
			continue;
		if (shown++ == 0)
			fputs("  listeners whose accept queue never shrank while connections waited:\n", out);
		fputs("    ", out);
		print_endpoint(l, out);
		fprintf(out, ": at least %lld waiting in all %lld readings\n", qmin, n);
	}
}

/* How many listeners are in SO_REUSEPORT groups, and how many groups. */
static void print_groups(const json_t *sockets, FILE *out)
{
	size_t groups = 0, grouped = 0, i;
	const json_t *l;

	json_array_foreach(json_object_get(sockets, "listeners"), i, l) {
		const json_t *rp = json_object_get(l, "reuseport");

		if (!rp)
			continue;
		grouped++;
		if (json_integer_value(json_object_get(rp, "index")) == 1)
			groups++;
	}
	if (grouped)
		fprintf(out, "  reuseport      %zu listeners in %zu SO_REUSEPORT group%s\n", grouped, groups,
			groups == 1 ? "" : "s");
}

/* The processes holding listeners that are stopped or stuck, each once,
 * with the first listener it holds and how many more. */
struct stuck {
	json_int_t pid;
	const json_t *proc, *listener;
	size_t held;
};

#define MAX_STUCK_SHOWN 10

static void print_stuck_owners(const json_t *sockets, FILE *out)
{
	const json_t *l, *p;
	struct stuck st[MAX_STUCK_SHOWN];
	size_t i, j, n = 0, more = 0;

	json_array_foreach(json_object_get(sockets, "listeners"), i, l) {
		json_array_foreach(json_object_get(l, "processes"), j, p) {
			json_int_t pid = json_integer_value(json_object_get(p, "pid"));
			size_t k;

			if (!stuck_state(json_string_value(json_object_get(p, "state"))))
				continue;
			for (k = 0; k < n && st[k].pid != pid; k++)
				;
			if (k < n) {
				st[k].held++;
			} else if (n < MAX_STUCK_SHOWN) {
				st[n++] = (struct stuck){ .pid = pid, .proc = p, .listener = l, .held = 1 };
			} else {
				more++;    /* may count one process more than once */
			}
		}
	}
	if (n)
		fputs("  owners stopped or stuck:\n", out);
	for (i = 0; i < n; i++) {
		fputs("    ", out);
		fputs_safe(json_string_value(json_object_get(st[i].proc, "comm")) ?: "?", out);
		fprintf(out, "[%lld] ", (long long)st[i].pid);
		fputs_safe(json_string_value(json_object_get(st[i].proc, "state")), out);
		fputs(", holding ", out);
		print_endpoint(st[i].listener, out);
		if (st[i].held > 1)
			fprintf(out, " and %zu more listener%s", st[i].held - 1, st[i].held > 2 ? "s" : "");
		fputc('\n', out);
	}
	if (more)
		fputs("    and more (netknobs listeners shows them)\n", out);
}

void report_facts_text(const json_t *doc, FILE *out)
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

	fputs("Host\n", out);
	fputs("  kernel         ", out);
	print_value(json_object_get(host, "kernel_release"), out);
	fputs("\n  cpus           ", out);
	print_value(json_object_get(host, "cpus_online"), out);
	v = json_object_get(host, "mem_total_kib");
	if (json_is_integer(v))
		fprintf(out, "\n  memory         %lld MiB", (long long)json_integer_value(v) / 1024);
	fputs("\n  netns          ", out);
	v = json_object_get(ns, "initial");
	if (json_is_boolean(v))
		fprintf(out, "%s", json_is_true(v) ? "initial (host)" : "not the initial namespace (container or netns)");
	else
		fputs("unknown", out);
	v = json_object_get(ns, "id");
	if (json_is_string(v)) {
		fputs(" ", out);
		fputs_safe(json_string_value(v), out);
	}
	fputs("\n\nSysctl\n", out);
	json_object_foreach((json_t *)json_object_get(doc, "sysctl"), key, v) {
		fputs("  ", out);
		fputs_safe(key, out);
		fputs(" = ", out);
		print_value(v, out);
		fputc('\n', out);
	}
	json_object_foreach((json_t *)json_object_get(doc, "sysctl_unavailable"), key, v) {
		fputs("  ", out);
		fputs_safe(key, out);
		fputs(": ", out);
		print_value(json_object_get(v, "reason"), out);
		fputs(" (", out);
		print_value(json_object_get(v, "error"), out);
		fputs(")\n", out);
	}

	fputs("\nCounters (since boot or namespace creation)\n", out);
	for (i = 0; i < sizeof(interesting) / sizeof(interesting[0]); i++) {
		int have;
		long long c = counter(doc, interesting[i][0], interesting[i][1], &have);

		if (have)
			fprintf(out, "  %s.%-24s %lld\n", interesting[i][0], interesting[i][1], c);
	}
	softnet = json_object_get(doc, "softnet");
	if (softnet) {
		const json_t *t = json_object_get(softnet, "total");

		fprintf(out, "  softnet: %zu CPUs, dropped %lld, time_squeeze %lld\n",
		        json_array_size(json_object_get(softnet, "cpus")),
		        (long long)json_integer_value(json_object_get(t, "dropped")),
		        (long long)json_integer_value(json_object_get(t, "time_squeeze")));
	}

	fputs("\nSockets (source: ", out);
	print_value(json_object_get(sockets, "source"), out);
	fputs(")\n", out);
	v = json_object_get(sockets, "fallback_reason");
	if (v) {
		fputs("  fallback: ", out);
		print_value(v, out);
		fputc('\n', out);
	}
	fprintf(out, "  listeners      %zu\n", json_array_size(json_object_get(sockets, "listeners")));
	json_object_foreach((json_t *)json_object_get(sockets, "states"), key, v)
		if (json_integer_value(v) > 0) {
			char *e = escape_display(key);

			fprintf(out, "  %-14s %lld\n", e ? e : "?", (long long)json_integer_value(v));
			free(e);
		}
	print_groups(sockets, out);
	print_stuck_owners(sockets, out);
	v = json_object_get(sockets, "udp_stats");
	if (json_is_object(v))
		fprintf(out, "  UDP            %lld sockets (%lld connected), %lld of them dropped datagrams "
			"(netknobs listeners --udp)\n",
			(long long)json_integer_value(json_object_get(v, "sockets")),
			(long long)json_integer_value(json_object_get(v, "connected")),
			(long long)json_integer_value(json_object_get(v, "dropping")));

	print_sample(doc, out);

	notes = json_object_get(doc, "notes");
	if (json_array_size(notes)) {
		fputs("\nNotes\n", out);
		json_array_foreach(notes, i, v) {
			fputs("  - ", out);
			print_value(v, out);
			fputc('\n', out);
		}
	}
	fputs("\nSee 'netknobs listeners' for the listening sockets and 'netknobs facts --json'\n"
	      "for everything.\n", out);
}
