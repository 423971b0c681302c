/* netknobs listeners: the accept queues of every listening TCP socket,
 * fullest first, with the owning processes and their descriptor limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util/duration.h"
#include "util/escape.h"
#include "util/log.h"

enum { OPT_FROM = OPT_CMD_BASE };

struct row {
	json_t *l;          /* borrowed */
	long long queue, limit, fill; /* fill in tenths of a percent; -1 unknown */
	long long drops, syn;
	long long peak;     /* peak queue of a sampling window, -1 none */
};

static long long geti(const json_t *o, const char *k, long long dflt)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->fill != y->fill)
		return x->fill > y->fill ? -1 : 1;
	if (x->queue != y->queue)
		return x->queue > y->queue ? -1 : 1;
	if (x->drops != y->drops)
		return x->drops > y->drops ? -1 : 1;
	return (int)(geti(x->l, "port", 0) - geti(y->l, "port", 0));
}

/* "[::]:443", "0.0.0.0:80", with %IFINDEX when bound to an interface */
static void format_endpoint(const json_t *l, char *buf, size_t len)
{
	const char *addr = json_string_value(json_object_get(l, "address"));
	const char *fam = json_string_value(json_object_get(l, "family"));
	char *esc = escape_display(addr ? addr : "?");
	long long ifx = geti(l, "interface", 0);
	char ifs[24] = "";

	if (ifx > 0)
		snprintf(ifs, sizeof(ifs), "%%%lld", ifx);
	if (fam && !strcmp(fam, "ipv6"))
		snprintf(buf, len, "[%s%s]:%lld", esc ? esc : "?", ifs, geti(l, "port", 0));
	else
		snprintf(buf, len, "%s%s:%lld", esc ? esc : "?", ifs, geti(l, "port", 0));
	free(esc);
}

static void format_procs(const json_t *l, char *buf, size_t len)
{
	const json_t *procs = json_object_get(l, "processes"), *p;
	size_t i, off = 0;

	buf[0] = '\0';
	if (!json_array_size(procs)) {
		snprintf(buf, len, "-");
		return;
	}
	json_array_foreach(procs, i, p) {
		const char *comm = json_string_value(json_object_get(p, "comm"));
		char *esc = escape_display(comm ? comm : "?");
		long long soft = geti(p, "nofile_soft", -1), fds = geti(p, "fds", -1);
		char lim[48] = "";
		int n;

		if (i == 3) {
			snprintf(buf + off, len - off, " +%zu more", json_array_size(procs) - 3);
			free(esc);
			break;
		}
		if (fds >= 0 && soft >= 0)
			snprintf(lim, sizeof(lim), " fds %lld/%lld", fds, soft);
		else if (fds >= 0)
			snprintf(lim, sizeof(lim), " fds %lld", fds);
		n = snprintf(buf + off, len - off, "%s%s[%lld]%s", i ? ", " : "", esc ? esc : "?",
			     geti(p, "pid", 0), lim);
		free(esc);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

struct listeners_args {
	const char *from;
	struct sample_args sample;
};

static int listeners_opt(int c, const char *arg, void *data)
{
	struct listeners_args *a = data;

	if (sample_args_option(&a->sample, c, arg))
		return 0;
	if (c == OPT_FROM) {
		a->from = arg;
		return 0;
	}
	return -1;
}

static int listeners_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		SAMPLE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct listeners_args a = { 0 };
	const json_t *sockets, *listeners, *l;
	struct row *rows;
	size_t n, i;
	json_t *doc;
	bool color, sampled;
	int r;

	r = cmd_parse(&cmd_listeners, g, argc, argv, NULL, own, listeners_opt, &a);
	if (r < 0)
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	if (r < argc) {
		log_error("listeners: unexpected argument '%s'", argv[r]);
		return EXIT_NK_ERROR;
	}
	doc = cmd_get_facts_sampled(g, a.from, NULL, 0, FACTS_SOCKETS | FACTS_LISTENERS_ONLY, &a.sample);
	if (!doc)
		return EXIT_NK_ERROR;
	sockets = json_object_get(doc, "sockets");
	listeners = json_object_get(sockets, "listeners");
	sampled = json_is_true(json_object_get(json_object_get(doc, "sample"), "listeners_sampled"));
	n = json_array_size(listeners);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		json_decref(doc);
		return EXIT_NK_ERROR;
	}
	json_array_foreach(listeners, i, l) {
		rows[i].l = (json_t *)l;
		rows[i].queue = geti(l, "queue", 0);
		rows[i].limit = geti(l, "limit", -1);
		rows[i].drops = geti(l, "drops", -1);
		rows[i].syn = geti(l, "syn_recv", -1);
		rows[i].fill = rows[i].limit > 0 ? rows[i].queue * 1000 / rows[i].limit
			       : rows[i].limit == 0 ? (rows[i].queue > 0 ? 1000 : 0) : -1;
		rows[i].peak = -1;
		if (sampled) {
			/* a window: its peaks and its drops, not the moment's */
			const json_t *pk = json_object_get(l, "peak");

			rows[i].peak = geti(pk, "queue", -1);
			rows[i].syn = geti(pk, "syn_recv", -1);
			rows[i].drops = geti(pk, "drops", -1);
			if (geti(pk, "fill", -1) >= 0)
				rows[i].fill = geti(pk, "fill", 0) * 10;
		}
	}
	qsort(rows, n, sizeof(*rows), row_cmp);

	if (g->format == FORMAT_JSON) {
		json_t *out = json_object(), *arr = json_array();

		json_object_set_new(out, "schema_version", json_integer(1));
		json_object_set(out, "source", json_object_get(sockets, "source"));
		if (json_object_get(doc, "sample")) {
			/* the window, without the counters' rates */
			json_t *w = json_deep_copy(json_object_get(doc, "sample"));

			json_object_del(w, "deltas");
			json_object_del(w, "rates");
			json_object_set_new(out, "sample", w);
		}
		for (i = 0; i < n; i++) {
			json_t *copy = json_deep_copy(rows[i].l);

			if (rows[i].fill >= 0)
				json_object_set_new(copy, "fill_percent", json_integer(rows[i].fill / 10));
			json_array_append_new(arr, copy);
		}
		json_object_set_new(out, "listeners", arr);
		r = print_json(out) < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		json_decref(out);
		free(rows);
		json_decref(doc);
		return r;
	}

	color = color_enabled(g, stdout);
	if (!strcmp(json_string_value(json_object_get(sockets, "source")) ?: "", "proc")) {
		const char *why = json_string_value(json_object_get(sockets, "fallback_reason"));

		printf("note: socket details from /proc/net/tcp (%s): no limits or drops\n",
		       why ? why : "netlink unavailable");
	}
	if (sampled) {
		const json_t *smp = json_object_get(doc, "sample");
		char d[32];

		duration_format((uint64_t)geti(smp, "duration_ms", 0), d, sizeof(d));
		printf("Window of %s%s, %lld readings: PEAK is the longest accept queue seen,\n"
		       "FILL and SYN-RECV their peaks, DROPS the packets dropped during the window.\n",
		       d, json_is_true(json_object_get(smp, "cut_short")) ? " (cut short)" : "",
		       geti(smp, "ticks", 0));
		printf("%-28s %13s %6s %5s %8s %7s  %s\n", "LISTEN", "QUEUE/LIMIT", "PEAK", "FILL",
		       "SYN-RECV", "DROPS", "PROCESS");
	} else {
		printf("%-28s %13s %5s %8s %7s  %s\n", "LISTEN", "QUEUE/LIMIT", "FILL", "SYN-RECV",
		       "DROPS", "PROCESS");
	}
	for (i = 0; i < n; i++) {
		char ep[96], procs[512], ql[48], fill[24], syn[24], drops[24];
		const char *on = "", *off = "";

		format_endpoint(rows[i].l, ep, sizeof(ep));
		format_procs(rows[i].l, procs, sizeof(procs));
		if (rows[i].limit >= 0)
			snprintf(ql, sizeof(ql), "%lld/%lld", rows[i].queue, rows[i].limit);
		else
			snprintf(ql, sizeof(ql), "%lld/?", rows[i].queue);
		if (rows[i].fill >= 0)
			snprintf(fill, sizeof(fill), "%lld%%", rows[i].fill / 10);
		else
			snprintf(fill, sizeof(fill), "-");
		if (rows[i].syn >= 0)
			snprintf(syn, sizeof(syn), "%lld%s", rows[i].syn,
				 json_is_true(json_object_get(rows[i].l, "syn_recv_shared")) ? "*" : "");
		else
			snprintf(syn, sizeof(syn), "-");
		if (rows[i].drops >= 0)
			snprintf(drops, sizeof(drops), "%lld", rows[i].drops);
		else
			snprintf(drops, sizeof(drops), "-");
		if (color && rows[i].fill >= 1000)
			on = "\033[1;31m", off = "\033[0m";
		else if (color && (rows[i].fill >= 800 || rows[i].drops > 0))
			on = "\033[33m", off = "\033[0m";
		if (sampled) {
			char pk[24] = "-";

			if (rows[i].peak >= 0)
				snprintf(pk, sizeof(pk), "%lld", rows[i].peak);
			printf("%s%-28s %13s %6s %5s %8s %7s%s  %s\n", on, ep, ql, pk, fill, syn, drops,
			       off, procs);
		} else {
			printf("%s%-28s %13s %5s %8s %7s%s  %s\n", on, ep, ql, fill, syn, drops, off, procs);
		}
	}
	if (n == 0)
		printf("(no listening TCP sockets)\n");
	if (sampled) {
		/* listeners that queued or dropped during the window, then closed */
		const json_t *gone = json_object_get(json_object_get(doc, "sample"), "vanished"), *v;

		json_array_foreach(gone, i, v) {
			const json_t *pk = json_object_get(v, "peak");
			char ep[96], ql[48];

			if (!i)
				printf("Closed during the window:\n");
			format_endpoint(v, ep, sizeof(ep));
			snprintf(ql, sizeof(ql), "-/%lld", geti(v, "limit", 0));
			printf("%-28s %13s %6lld %4lld%% %8lld %7lld  (closed)\n", ep, ql, geti(pk, "queue", 0),
			       geti(pk, "fill", 0), geti(pk, "syn_recv", 0), geti(pk, "drops", 0));
		}
	}
	free(rows);
	json_decref(doc);
	return EXIT_NK_OK;
}

const struct cmd cmd_listeners = {
	.name = "listeners",
	.summary = "listening sockets: accept queue and limit, SYN_RECV, drops, owners",
	.usage =
		"Usage: netknobs listeners [--json] [--from FILE | --sample DURATION [--interval I]]\n"
		"\n"
		"Every listening TCP socket, fullest accept queue first: QUEUE is the number of\n"
		"connections waiting for accept(), LIMIT the queue's limit (the backlog given to\n"
		"listen(), clamped to net.core.somaxconn at that moment); a full queue shows\n"
		"LIMIT+1.  SYN-RECV counts half-open handshakes (* = shared by SO_REUSEPORT\n"
		"listeners), DROPS the packets this socket dropped since it was created.\n"
		"PROCESS names each owner as comm[pid] with its open descriptors and soft\n"
		"RLIMIT_NOFILE.\n"
		"\n"
		"Options:\n"
		"  --json, --format json  the same as JSON, with fill_percent (and the window\n"
		"                         of --sample, without the counters' rates)\n"
		"  --from FILE            read a saved facts document (netknobs facts --json)\n"
		SAMPLE_OPTIONS_HELP
		"\nWith --sample, FILL, SYN-RECV and DROPS are those of the window and a PEAK\n"
		"column shows the longest accept queue seen; listeners that queued or dropped\n"
		"during the window and closed before its end follow, marked (closed).\n",
	.run = listeners_run,
};
