/* netknobs report: the audit, compared with the previous run's state, for
 * cron and systemd timers.  Quiet on a quiet day. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-audit.h"
#include "cmd-report.h"
#include "render/render.h"
#include "report/history.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/atomic.h"
#include "util/log.h"


static int report_opt(int c, const char *arg, void *data)
{
	struct report_args *ra = data;
	int r = audit_args_option(&ra->a, c, arg);
	char *end;

	if (r)
		return r < 0 ? -1 : 0;
	switch (c) {
	case OPT_STATE_DIR:
		ra->state_dir = arg;
		return 0;
	case OPT_PROM_DIR:
		ra->prom_dir = arg;
		return 0;
	case OPT_ALWAYS:
		ra->always = true;
		return 0;
	case OPT_KEEP: {
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v > 100000) {
			log_error("--keep %s: expected a number of history files (0 to 100000)", arg);
			return -1;
		}
		ra->keep = (unsigned)v;
		return 0;
	}
	case OPT_WAIT:
		errno = 0;
		ra->wait_s = strtod(arg, &end);
		if (errno || end == arg || *end || !(ra->wait_s >= 0 && ra->wait_s <= 86400)) {
			log_error("--wait %s: expected seconds (0 to 86400)", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------ running */

/* The history kept in the state directory (report/history.h): read before
 * the audit, added to its facts, and this run's sighting saved after. */
struct report_history {
	json_t *hist;           /* the history document, or NULL */
	const json_t *prev;     /* the previous run's state, or NULL */
};

static int report_history_hook(json_t *facts, void *data)
{
	struct report_history *rh = data;

	if (history_add_to_facts(facts, rh->hist, rh->prev) < 0) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static int report_history_save(const struct state_dir *sd, struct report_history *rh,
			       const json_t *facts)
{
	json_t *doc = history_note_facts(rh->hist, facts, "report");
	int r;

	if (!doc) {
		log_error("out of memory");
		return -1;
	}
	r = history_save(sd, doc);
	json_decref(doc);
	return r < 0 ? -1 : 0;
}

static int write_prom_text(const char *dir, const char *text, size_t len)
{
	struct atomic_opts o = { .mode = 0644, .flags = ATOMIC_SWEEP_LEGACY };
	char *path = NULL;
	int r = 0, dfd = -1;

	if (asprintf(&path, "%s/netknobs.prom", dir) < 0)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		log_error("%s: cannot write: %s", path, strerror(-r));
	}
	if (r == 0) {
		o.display = path;
		r = atomic_write_opts(dfd, "netknobs.prom", text, len, &o);
	}
	if (dfd >= 0)
		close(dfd);
	free(path);
	return r;
}

int report_write_prom(const char *dir, memout_fn render, const void *arg)
{
	char *buf;
	size_t len;
	int r = memout(render, arg, &buf, &len);

	if (r == 0)
		r = write_prom_text(dir, buf, len);
	free(buf);
	return r;
}

/* This run's Prometheus text (memout_fn). */
struct prom_run {
	const struct audit_result *res;
	const json_t *rep;
	const struct prom_opts *po;
};

static int render_prom(FILE *out, const void *arg)
{
	const struct prom_run *p = arg;

	return report_prom(p->res->audit, p->res->facts, p->rep, p->po, out);
}

/* What the renderers of the report take. */
struct report_out {
	const struct report_args *ra;
	const struct audit_result *res;
	const json_t *rep;
	const struct prom_opts *po;
	int status;             /* the exit status, for Nagios's line */
};

static int report_text(const void *ctx, FILE *out)
{
	const struct report_out *o = ctx;

	if (o->ra->always || !json_is_true(json_object_get(o->rep, "quiet")))
		report_changes_text(o->rep, out, o->ra->always);
	return 0;
}

static int report_json(const void *ctx, FILE *out)
{
	return print_json_file(((const struct report_out *)ctx)->rep, out);
}

static int report_prom_out(const void *ctx, FILE *out)
{
	const struct report_out *o = ctx;

	return report_prom(o->res->audit, o->res->facts, o->rep, o->po, out);
}

static int report_nagios_out(const void *ctx, FILE *out)
{
	const struct report_out *o = ctx;

	report_nagios(o->res->audit, o->res->facts, o->rep, o->status, out);
	return 0;
}

static const struct cmd_renderers report_renderers = { {
	[FORMAT_TEXT] = report_text, [FORMAT_JSON] = report_json,
	[FORMAT_PROM] = report_prom_out, [FORMAT_NAGIOS] = report_nagios_out,
} };

/* Print the report in the chosen format.  Returns 0 when it reached
 * standard output whole. */
static int print_report(const struct globals *g, const struct report_out *o)
{
	int r = cmd_render(&report_renderers, g->format, o, stdout);

	if (fflush(stdout) != 0 || ferror(stdout))
		r = r ? r : -(errno ? errno : EIO);
	return r;
}

/* One run of report, step by step. */
struct report_run {
	struct report_args ra;
	struct state_dir sd;
	struct audit_result res;
	struct report_history rh;
	json_t *prev, *cur, *rep;
	char *why;              /* why this run is not compared, or NULL */
	bool state_ok;          /* the previous state is usable and this run's is kept */
	bool failed;            /* the job was not done whole: exit 3 */
};

/* The state directory, locked: -1 when another run holds it (said). */
static int run_open_state(const struct globals *g, struct report_run *x)
{
	/* the lock first: the previous state must be the previous run's */
	int r = state_open(&x->sd, x->ra.state_dir, x->ra.wait_s);

	if (r == -EWOULDBLOCK) {
		if (g->format == FORMAT_NAGIOS)
			report_nagios_unknown(stdout);
		return -1;
	}
	if (r < 0) {
		/* the report is still made, as a first run, and the status says
		 * the job was not done */
		log_error("the report is made without the previous state and this run's is not kept");
		if (asprintf(&x->why, "state directory %s unusable", x->ra.state_dir) < 0)
			x->why = NULL;
		x->failed = true;
	} else {
		x->state_ok = true;
	}
	return 0;
}

/* The previous state and the history: the rules judge this run's facts
 * with them (evidence of now, an older somaxconn). */
static void run_load_previous(struct report_run *x)
{
	if (x->state_ok && state_load(&x->sd, &x->prev, &x->why) < 0) {
		/* the previous state is there but could not be read now: no
		 * comparison, and this run's must not replace it */
		free(x->why);
		x->why = strdup("the previous state could not be read; not compared, and this run's is not kept");
		x->state_ok = false;
		x->failed = true;
	}
	if (x->state_ok && history_load(&x->sd, &x->rh.hist) < 0) {
		/* the same for the history: this run's state is not kept */
		x->state_ok = false;
		x->failed = true;
	}
	x->rh.prev = x->prev;
	x->ra.a.facts_hook = report_history_hook;
	x->ra.a.facts_hook_data = &x->rh;
}

/* This run's state and the report of what changed: 0, or -1 (out of
 * memory, said). */
static int run_compare(struct report_run *x)
{
	const json_t *core = audit_core_unavailable(x->res.audit);

	x->cur = state_build(x->res.facts, x->res.audit);
	if (core) {
		/* nothing was judged: no comparison (every finding would look
		 * resolved), and no baseline for the next run */
		free(x->why);
		x->why = strdup("the core facts could not be read; not compared with the previous report");
		json_decref(x->prev);
		x->prev = NULL;
		x->state_ok = false;
	}
	x->rep = state_compare(x->prev, x->cur, x->res.audit, x->why);
	if (!x->cur || !x->rep) {
		log_error("out of memory");
		return -1;
	}
	json_object_set_new(x->rep, "state_dir", json_string(x->ra.state_dir));
	if (core) {
		json_object_set_new(x->rep, "core_unavailable", json_deep_copy(core));
		json_object_set_new(x->rep, "quiet", json_false());
	}
	return 0;
}

/* The report out, then this run's state kept (for Nagios the other way
 * round); the exit status. */
static int run_deliver(const struct globals *g, struct report_run *x)
{
	struct prom_opts po = { .duration_s = (audit_now_ms() - x->res.t_start) / 1e3, .timestamp = time(NULL) };
	int status = audit_exit_status(x->res.audit, x->ra.a.fail_on), r;
	struct prom_run pr = { &x->res, x->rep, &po };

	if (x->ra.prom_dir && report_write_prom(x->ra.prom_dir, render_prom, &pr) < 0)
		x->failed = true;
	if (g->format == FORMAT_NAGIOS) {
		/* the line says the final status: the state first */
		if (x->state_ok && state_save(&x->sd, x->cur, x->ra.keep) < 0)
			x->failed = true;
		print_report(g, &(struct report_out){ &x->ra, &x->res, x->rep, &po,
						      x->failed ? EXIT_NK_ERROR : status });
	} else if ((r = print_report(g, &(struct report_out){ &x->ra, &x->res, x->rep, &po, status })) < 0) {
		/* the news were not delivered: they must come again */
		log_error("the report could not be written (%s); this run's state is not kept, so that "
			  "the next run reports the same news", strerror(-r));
		x->failed = true;
	} else if (x->state_ok && state_save(&x->sd, x->cur, x->ra.keep) < 0) {
		x->failed = true;
	}
	/* what this run saw of somaxconn, whatever became of the report */
	if (x->state_ok && report_history_save(&x->sd, &x->rh, x->res.facts) < 0)
		x->failed = true;
	return x->failed ? EXIT_NK_ERROR : status;
}

static void run_free(struct report_run *x)
{
	state_close(&x->sd);
	json_decref(x->rh.hist);
	json_decref(x->prev);
	json_decref(x->cur);
	json_decref(x->rep);
	free(x->why);
	audit_result_free(&x->res);
	audit_args_free(&x->ra.a);
}

static int report_run(struct globals *g, int argc, char **argv)
{
	static const char *const extra[] = { STATE_BOOT_ID_KEY };
	struct report_run x = {
		.ra = { .a = { .fail_on = SEV_WARNING }, .keep = 30, .wait_s = 10 },
		.sd = { NULL, -1, -1 },
		.rh = { NULL, NULL },
	};
	int r, ret = EXIT_NK_ERROR;

	r = cmd_parse(&cmd_report, g, argc, argv, report_opt, &x.ra);
	if (r < 0) {
		audit_args_free(&x.ra.a);
		return CMD_PARSE_STATUS(r);
	}
	if (!x.ra.state_dir)
		x.ra.state_dir = cmd_state_dir();
	if (run_open_state(g, &x) < 0)
		goto out;
	if (g->all_netns) {
		ret = report_run_all(g, &x.ra, &x.sd, x.state_ok, x.why);
		goto out;
	}
	run_load_previous(&x);
	if (audit_pipeline(g, &x.ra.a, extra, 1, &x.res) < 0) {
		if (g->format == FORMAT_NAGIOS)
			report_nagios_unknown(stdout);
		goto out;
	}
	if (run_compare(&x) == 0)
		ret = run_deliver(g, &x);
out:
	run_free(&x);
	return ret;
}

const struct cmd cmd_report = {
	.name = "report",
	.huge_heap = true,
	.summary = "what changed since the last run: for cron and systemd timers",
	.usage =
		"Usage: netknobs report [OPTIONS]\n"
		"\n"
		"Audit, and compare with the previous run's state: new findings, resolved\n"
		"findings, findings whose severity changed, findings still critical, and how\n"
		"much the kernel's trouble counters (ListenOverflows, softnet drops ...) rose,\n"
		"per day.  Quiet on a quiet day: text output only when something is new,\n"
		"changed or still critical, so that cron mails only then.  The state is kept\n"
		"in the state directory (latest.json and a history), under a lock.\n",
	.options = (const struct cmd_opt[]){
		{ .group = audit_options },
		{ "state-dir", 0, "DIR", .val = OPT_STATE_DIR,
		  .help = "where the state is kept (default " DEFAULT_STATE_DIR ")" },
		{ "always", .val = OPT_ALWAYS, .help = "print the full report even on a quiet day" },
		{ "keep", 0, "N", .val = OPT_KEEP, .help = "history files to keep (default 30)" },
		{ "wait", 0, "SECONDS", .val = OPT_WAIT,
		  .help = "how long to wait for another run's lock (default 10)" },
		{ "prom-dir", 0, "DIR", .val = OPT_PROM_DIR,
		  .help = "also write DIR/netknobs.prom (atomically) for\n"
			  "node_exporter's textfile collector" },
		{ .label = "--format json", .help = "the report as JSON, always printed (doc/formats.md)" },
		{ .label = "--format prom", .help = "Prometheus text exposition on standard output" },
		{ .label = "--format nagios", .help = "a Nagios/Icinga plugin status line" },
		{ 0 },
	},
	.notes =
		"A missing, corrupt or newer-version state file is reported on standard error,\n"
		"moved aside (latest.json.corrupt-TIME) and replaced; counters that went\n"
		"backwards (reboot, new network namespace) start a new baseline.\n"
		"Exit status as audit: 0 nothing at or above --fail-on, 1 warning, 2 critical,\n"
		"3 could not audit, could not keep the state, or the lock stayed taken.\n"
		"The state directory must be owned by the user running netknobs and writable\n"
		"by no one else, and every directory and link on the way to it must belong to\n"
		"root or that user.  The report is printed before the state is saved: when it\n"
		"cannot be written, the state is not saved and the next run brings the same\n"
		"news (exit 3).\n",
	.run = report_run,
	.all_netns = true,
	.renderers = &report_renderers,
};
