/* netknobs listeners: the accept queues of every listening TCP socket,
 * fullest first, with the owning processes, their states and descriptor
 * limits.  The output is made by report_listeners_text() and
 * report_listeners_json() (src/render/listeners-text.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-allns.h"
#include "render/render.h"
#include "util/log.h"
#include "util/wrap.h"

enum { OPT_FROM = OPT_CMD_BASE };

struct listeners_args {
	const char *from;
	bool verbose, udp;
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
	if (c == 'v') {
		a->verbose = true;
		return 0;
	}
	if (c == 'u') {
		a->udp = true;
		return 0;
	}
	return -1;
}

/* The NAMESPACE column's width: the longest name of a namespace with
 * listeners (with udp: of one read), at most 24 columns on a terminal
 * (longer ones are cut). */
static int ns_width(const struct allns *a, bool tty, bool udp)
{
	size_t w = strlen("NAMESPACE");

	for (size_t i = 0; i < a->n; i++) {
		const char *name = a->ns[i].e->name;
		size_t cols;

		if (!a->ns[i].facts || (!udp && !a->ns[i].tab.n) || !name)
			continue;
		cols = text_columns(name);
		if (cols > w)
			w = cols;
	}
	return (int)(tty && w > 24 ? 24 : w);
}

/* What the renderers of listeners --all-netns take. */
struct listeners_all_out {
	const struct allns *a;
	struct listeners_opts o;
};

/* One list per namespace under a top-level object. */
static int listeners_all_json(const void *ctx, FILE *out)
{
	return allns_json_each(out, ((const struct listeners_all_out *)ctx)->a, "listeners", report_listeners_json);
}

/* The parts of one table of every namespace's sockets: TCP listeners or
 * UDP sockets. */
struct all_table {
	bool udp;
	void (*header)(FILE *out, const struct listeners_opts *o);
	unsigned (*rows)(const json_t *facts, FILE *out, const struct listeners_opts *o);
	void (*footer)(FILE *out, unsigned seen, const struct listeners_opts *o);
	const char *none;
};

/* One table with a NAMESPACE column, the rows of each namespace together. */
static int all_text(const struct listeners_all_out *x, const struct all_table *tb, FILE *out)
{
	struct listeners_opts lo = x->o;
	unsigned seen = 0;
	bool oom = false;

	lo.netns_width = ns_width(x->a, lo.cut_netns, tb->udp);
	tb->header(out, &lo);
	for (size_t i = 0; i < x->a->n; i++) {
		json_t *doc = allns_facts(x->a, i, &oom);

		if (oom)
			return -ENOMEM;
		if (doc) {
			lo.netns = x->a->ns[i].e->name;
			seen |= tb->rows(doc, out, &lo);
		}
		json_decref(doc);
	}
	if (!(seen & LISTENERS_ROWS))
		fputs(tb->none, out);
	tb->footer(out, seen, &lo);
	allns_text_tail(out, x->a);
	return 0;
}

static void tcp_header(FILE *out, const struct listeners_opts *o)
{
	report_listeners_header(out, false, o);
}

static int listeners_all_text(const void *ctx, FILE *out)
{
	static const struct all_table tcp = { false, tcp_header, report_listeners_text, report_listeners_footer,
					      "(no listening TCP sockets in any network namespace)\n" };

	return all_text(ctx, &tcp, out);
}

static const struct cmd_renderers listeners_all_renderers = { {
	[FORMAT_TEXT] = listeners_all_text, [FORMAT_JSON] = listeners_all_json,
} };

static int udp_all_json(const void *ctx, FILE *out)
{
	return allns_json_each(out, ((const struct listeners_all_out *)ctx)->a, "udp", report_udp_json);
}

/* The UDP sockets of every namespace in one table with a NAMESPACE column. */
static int udp_all_text(const void *ctx, FILE *out)
{
	static const struct all_table udp = { true, report_udp_header, report_udp_text, report_udp_footer,
					      "(no UDP sockets in any network namespace)\n" };

	return all_text(ctx, &udp, out);
}

static const struct cmd_renderers udp_all_renderers = { {
	[FORMAT_TEXT] = udp_all_text, [FORMAT_JSON] = udp_all_json,
} };

static int listeners_all(const struct globals *g, const struct listeners_args *la)
{
	struct allns_opts o = { .from = la->from, .listeners_only = true, .sample = &la->sample };
	bool tty = isatty(STDOUT_FILENO);
	struct listeners_all_out x = { .o = { .color = color_enabled(g, stdout), .verbose = la->verbose,
					      .cut_netns = tty, .rows_only = true } };
	struct allns a;
	int ret = EXIT_NK_ERROR;

	if (allns_collect(g, &o, &a) < 0)
		goto out;
	x.a = &a;
	if (cmd_render(la->udp ? &udp_all_renderers : &listeners_all_renderers, g->format, &x, stdout) == 0)
		ret = allns_status(&a);
out:
	allns_free(&a);
	return ret;
}

/* What the renderers of one namespace's sockets take. */
struct listeners_out {
	const json_t *facts;
	struct listeners_opts o;
};

static int listeners_text(const void *ctx, FILE *out)
{
	const struct listeners_out *lo = ctx;

	report_listeners_text(lo->facts, out, &lo->o);
	return 0;
}

static int udp_text(const void *ctx, FILE *out)
{
	const struct listeners_out *lo = ctx;

	report_udp_text(lo->facts, out, &lo->o);
	return 0;
}

static int listeners_json_doc(json_t *doc, FILE *out)
{
	int r = doc ? print_json_file(doc, out) : -ENOMEM;

	json_decref(doc);
	return r;
}

static int listeners_json(const void *ctx, FILE *out)
{
	return listeners_json_doc(report_listeners_json(((const struct listeners_out *)ctx)->facts), out);
}

static int udp_json(const void *ctx, FILE *out)
{
	return listeners_json_doc(report_udp_json(((const struct listeners_out *)ctx)->facts), out);
}

/* The listening TCP sockets, and with --udp the UDP sockets. */
static const struct cmd_renderers listeners_renderers = { {
	[FORMAT_TEXT] = listeners_text, [FORMAT_JSON] = listeners_json,
} };
static const struct cmd_renderers udp_renderers = { {
	[FORMAT_TEXT] = udp_text, [FORMAT_JSON] = udp_json,
} };

/* The sockets could not be read: said, rather than an empty list that
 * reads as "none". */
static bool listeners_unread(const json_t *doc, bool udp)
{
	const json_t *sk = json_object_get(doc, "sockets");
	const char *why = json_string_value(json_object_get(json_object_get(doc, "core_unavailable"), "sockets"));

	if (udp && !json_is_array(json_object_get(sk, "udp"))) {
		log_error("listeners: no UDP sockets in these facts: they could not be read, or the document "
			  "is older (netknobs facts --json shows the notes)");
		return true;
	}
	if (!udp && why) {
		log_error("listeners: the listening sockets could not be read: %s", why);
		return true;
	}
	return false;
}

static int listeners_run(struct globals *g, int argc, char **argv)
{
	struct listeners_args a = { 0 };
	struct listeners_out lo;
	json_t *doc;
	int r;

	r = cmd_parse(&cmd_listeners, g, argc, argv, listeners_opt, &a);
	if (r < 0)
		return CMD_PARSE_STATUS(r);
	if (g->all_netns)
		return listeners_all(g, &a);
	doc = cmd_get_facts_sampled(g, a.from, NULL, 0, FACTS_SOCKETS | FACTS_LISTENERS_ONLY, &a.sample);
	if (!doc)
		return EXIT_NK_ERROR;
	if (listeners_unread(doc, a.udp)) {
		json_decref(doc);
		return EXIT_NK_ERROR;
	}
	lo = (struct listeners_out){ doc, { .color = color_enabled(g, stdout), .verbose = a.verbose } };
	r = cmd_render(a.udp ? &udp_renderers : &listeners_renderers, g->format, &lo, stdout);
	if (r == -ENOMEM)
		log_error("out of memory");
	r = r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
	json_decref(doc);
	return r;
}

const struct cmd cmd_listeners = {
	.name = "listeners",
	.summary = "listening sockets: accept queue and limit, SYN_RECV, drops, owners; --udp: UDP buffers",
	.usage =
		"Usage: netknobs listeners [-v] [-u] [--json] [--from FILE | --sample DURATION [--interval I]]\n"
		"\n"
		"Every listening TCP socket, fullest accept queue first: QUEUE is the number of\n"
		"connections waiting for accept(), LIMIT the queue's limit (the backlog given to\n"
		"listen(), clamped to net.core.somaxconn at that moment); a full queue shows\n"
		"LIMIT+1.  SYN-RECV counts half-open handshakes (* = shared by SO_REUSEPORT\n"
		"listeners), DROPS the packets this socket dropped since it was created.\n"
		"PROCESS names each owner as comm[pid] with its state (sleeping, running,\n"
		"stopped, disk-sleep ...), its open descriptors and soft RLIMIT_NOFILE; owners\n"
		"that are stopped or stuck come first.  The sockets of a SO_REUSEPORT group\n"
		"(same address and port) are one row, \"(N sockets)\", with the queue of the\n"
		"fullest and the drops of all.\n",
	.options = (const struct cmd_opt[]){
		{ "verbose", 'v',
		  .help = "a SO_REUSEPORT group as a row per socket\n"
			  "(ADDR:PORT #I/N), with the worker that polls it;\n"
			  "with --udp, quiet connected sockets too" },
		{ "udp", 'u',
		  .help = "the UDP sockets instead, fullest receive buffer\n"
			  "and dropping first (below)" },
		{ .label = "--json, --format json",
		  .help = "the same as JSON, one object per socket, with\n"
			  "fill_percent (and the window of --sample, without the\n"
			  "counters' rates)" },
		{ "from", 0, "FILE", .val = OPT_FROM,
		  .help = "read a saved facts document (netknobs facts --json)" },
		{ .group = sample_options },
		{ 0 },
	},
	.notes =
		"With --sample, FILL, SYN-RECV and DROPS are those of the window and a PEAK\n"
		"column shows the longest accept queue seen; listeners that queued or dropped\n"
		"during the window and closed before its end follow, marked (closed), with the\n"
		"owners seen during the window.\n"
		"\n"
		"With --udp, every unconnected UDP socket (a server's, as ss -uln shows) and\n"
		"the connected ones that have datagrams waiting or dropped some: QUEUE is the\n"
		"memory the waiting datagrams take, RCVBUF the socket's receive buffer\n"
		"(SO_RCVBUF), FILL their ratio, DROPS the datagrams it dropped since it was\n"
		"opened (buffer full, UDP memory exhausted, bad checksum); the fullest and\n"
		"those that drop come first.  With --sample, the namespace's UDP drop\n"
		"counters over the window are shown above.\n",
	.run = listeners_run,
	.renderers = &listeners_renderers,
	.all_netns = true,
};
