/* netknobs: Linux network tuning advisor and auditor. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/heap.h"
#include "util/log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
		"\n"
		"Reads the kernel's network settings, the listening sockets and the\n"
		"kernel's counters, and tells what is wrong and what to set.\n"
		"\n"
		"Commands:\n",
		program_name);
	for (size_t i = 0; commands[i]; i++)
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out,
		"\n" GLOBAL_OPTIONS_HELP
		"  -V, --version       print the version\n"
		"\n"
		"Commands may be abbreviated to a unique prefix.  '%s COMMAND --help'\n"
		"describes each.  Exit status: 0 fine, 1 warning, 2 critical, 3 error.\n",
		program_name);
}

/* jansson's allocations.  jansson does not survive a failed one (its
 * lexer reports "invalid token", or crashes, and a value it could not
 * build is silently left out of a document): when memory runs out, say so
 * and exit 3 here, before anything wrong is printed.  Files are written
 * through a temporary file and a rename, so none is left half written. */
static void *json_alloc(size_t n)
{
	static const char msg[] = "netknobs: error: out of memory\n";
	void *p = malloc(n);

	if (!p && n) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do */
		}
		_exit(EXIT_NK_ERROR);
	}
	return p;
}

#define MAX_THREADS_ASKED 64

/* The NETKNOBS_* variables, read here only and handed to the parts they
 * set: NETKNOBS_HUGEPAGES=0 (util/heap.h), NETKNOBS_THREADS=N and
 * NETKNOBS_TODAY=YYYY-MM-DD (rules_configure()). */
static void environment(void)
{
	struct rules_settings rs = { .today = getenv("NETKNOBS_TODAY") };
	const char *s = getenv("NETKNOBS_THREADS");
	char *end;
	long v;

	if (s && *s) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || *end || v < 1 || v > MAX_THREADS_ASKED)
			log_warn("NETKNOBS_THREADS=%s: not a number from 1 to %d, ignored", s,
				 MAX_THREADS_ASKED);
		else
			rs.threads = (unsigned)v;
	}
	rules_configure(&rs);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		GLOBAL_LONG_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *huge = getenv("NETKNOBS_HUGEPAGES");
	struct globals g = { .color = -1 };
	const struct cmd *cmd;
	int c, r;

	json_set_alloc_funcs(json_alloc, free);
	environment();
	opterr = 0;
	/* '+': global options end at the command name */
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_NK_OK;
		case 'V':
			/* nothing may follow: "--version audit" is a mistake */
			if (optind < argc) {
				log_error("--version takes no argument ('%s'); see '%s --help'", argv[optind],
					  program_name);
				return EXIT_NK_ERROR;
			}
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_NK_OK;
		case ':':
			log_error("option '%s' needs an argument", argv[optind - 1]);
			return EXIT_NK_ERROR;
		case '?':
			log_error("unknown option '%s'; see '%s --help'", argv[optind - 1], program_name);
			return EXIT_NK_ERROR;
		default:
			if (globals_option(&g, c, optarg) <= 0)
				return EXIT_NK_ERROR;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_NK_ERROR;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd)
		return EXIT_NK_ERROR;
	/* nothing has been allocated yet (getopt and the tables do not) */
	heap_init(cmd->huge_heap && (!huge || strcmp(huge, "0") != 0));
	r = cmd->run(&g, argc - optind, argv + optind);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("writing output failed");
		return EXIT_NK_ERROR;
	}
	return r;
}
