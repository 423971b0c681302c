/* netknobs report: its options, and the parts its run on every network
 * namespace (--all-netns, cmd-report-all.c) shares with the plain one. */
#ifndef NK_CMD_REPORT_H
#define NK_CMD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd-audit.h"
#include "report/state.h"
#include "util/memout.h"

enum {
	OPT_STATE_DIR = OPT_AUDIT_END,
	OPT_ALWAYS,
	OPT_KEEP,
	OPT_WAIT,
	OPT_PROM_DIR,
};

struct report_args {
	struct audit_args a;
	const char *state_dir, *prom_dir;
	bool always;
	unsigned keep;
	double wait_s;
};

/* Write DIR/netknobs.prom through the writer, with what render(out, arg)
 * prints (0 or -errno): only that name is replaced (and the temporary files
 * a killed run left for it removed), and nothing when render fails.  0 or
 * -errno (logged when writing fails). */
int report_write_prom(const char *dir, memout_fn render, const void *arg);

/* The file of the state directory in which report --all-netns keeps the
 * state of each namespace: one JSON object a line (doc/formats.md). */
#define REPORT_NETNS_STATES "netns-states.jsonl"

/* report --all-netns, with the state directory sd opened and locked when
 * state_ok (else why says why the report is made as a first run and not
 * kept).  Returns the exit status. */
int report_run_all(const struct globals *g, struct report_args *ra, struct state_dir *sd, bool state_ok,
		   const char *why);

#endif
