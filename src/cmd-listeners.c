/* netknobs listeners: the accept queues of every listening TCP socket,
 * fullest first, with the owning processes, their states and descriptor
 * limits.  The output is made by report_listeners_text() and
 * report_listeners_json() (src/report/listeners-text.c). */
#include "config.h"

#include <stdlib.h>

#include "cmd.h"
#include "report/report.h"
#include "util/log.h"

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

static int listeners_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "verbose", no_argument, NULL, 'v' },
		{ "udp", no_argument, NULL, 'u' },
		SAMPLE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct listeners_args a = { 0 };
	json_t *doc;
	int r;

	r = cmd_parse(&cmd_listeners, g, argc, argv, "vu", own, listeners_opt, &a);
	if (r < 0)
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	if (r < argc) {
		log_error("listeners: unexpected argument '%s'", argv[r]);
		return EXIT_NK_ERROR;
	}
	doc = cmd_get_facts_sampled(g, a.from, NULL, 0, FACTS_SOCKETS | FACTS_LISTENERS_ONLY, &a.sample);
	if (!doc)
		return EXIT_NK_ERROR;
	if (g->format == FORMAT_JSON) {
		json_t *out = a.udp ? report_udp_json(doc) : report_listeners_json(doc);

		r = !out || print_json(out) < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		if (!out)
			log_error("out of memory");
		json_decref(out);
	} else {
		struct listeners_opts o = { .color = color_enabled(g, stdout), .verbose = a.verbose };

		if (a.udp)
			report_udp_text(doc, stdout, &o);
		else
			report_listeners_text(doc, stdout, &o);
		r = EXIT_NK_OK;
	}
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
		"fullest and the drops of all.\n"
		"\n"
		"Options:\n"
		"  -v, --verbose          a SO_REUSEPORT group as a row per socket\n"
		"                         (ADDR:PORT #I/N), with the worker that polls it;\n"
		"                         with --udp, quiet connected sockets too\n"
		"  -u, --udp              the UDP sockets instead, fullest receive buffer\n"
		"                         and dropping first (below)\n"
		"  --json, --format json  the same as JSON, one object per socket, with\n"
		"                         fill_percent (and the window of --sample, without the\n"
		"                         counters' rates)\n"
		"  --from FILE            read a saved facts document (netknobs facts --json)\n"
		SAMPLE_OPTIONS_HELP
		"\nWith --sample, FILL, SYN-RECV and DROPS are those of the window and a PEAK\n"
		"column shows the longest accept queue seen; listeners that queued or dropped\n"
		"during the window and closed before its end follow, marked (closed), with the\n"
		"owners seen during the window.\n"
		"\nWith --udp, every unconnected UDP socket (a server's, as ss -uln shows) and\n"
		"the connected ones that have datagrams waiting or dropped some: QUEUE is the\n"
		"memory the waiting datagrams take, RCVBUF the socket's receive buffer\n"
		"(SO_RCVBUF), FILL their ratio, DROPS the datagrams it dropped since it was\n"
		"opened (buffer full, UDP memory exhausted, bad checksum); the fullest and\n"
		"those that drop come first.  With --sample, the namespace's UDP drop\n"
		"counters over the window are shown above.\n",
	.run = listeners_run,
};
