/* netknobs top: the listeners and the namespace's queue counters, live, on
 * the full screen (top-screen.c) or as plain-text frames (-b).  The
 * readings are facts/watch.c's, the rows and their text top-rows.c's; this
 * file holds the options, the pace of the readings, the keys and the
 * signals. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "cmd.h"
#include "facts/netns.h"
#include "facts/sockets.h"
#include "facts/watch-all.h"
#include "facts/watch.h"
#include "top.h"
#include "util/array.h"
#include "util/duration.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/stopsig.h"


/* readings of the listeners per refresh (one refresh, the rest peeks),
 * never closer than TOP_PEEK_MIN_MS, and the peeks at most 1/TOP_PEEK_SHARE
 * of a CPU by what a dump of the listeners costs */
#define TOP_READINGS 4
#define TOP_PEEK_MIN_MS 100
#define TOP_PEEK_SHARE 200
#define TOP_DELAY_MIN_MS 100
#define TOP_FILTER_MAX 64

struct top_args {
	uint64_t delay_ms;
	bool batch;
	unsigned long frames;           /* 0: until stopped */
	enum top_sort sort;
	char filter[TOP_FILTER_MAX];
	bool bad;
};

struct top_run {
	struct top_args *a;
	struct watch *w;                /* one namespace, or */
	struct watch_all *all;          /* every one (--all-netns) */
	struct top_ns *ns;              /* the frames shown */
	size_t nns, capns;
	struct top_rows rows;
	struct top_status st;
	uint64_t start_ms, next_refresh, next_peek, peek_ms;
	unsigned long k;                /* refreshes since the start */
};

static uint64_t top_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int top_opt(int c, const char *arg, void *data)
{
	struct top_args *a = data;
	char why[160];
	char *end;
	int s;

	switch (c) {
	case 'd':
		if (duration_parse(arg, &a->delay_ms, why, sizeof(why)) < 0) {
			log_error("top: -d: invalid interval: %s", why);
			return -1;
		}
		if (a->delay_ms < TOP_DELAY_MIN_MS) {
			log_error("top: -d: at least %dms", TOP_DELAY_MIN_MS);
			return -1;
		}
		return 0;
	case 'b':
		a->batch = true;
		return 0;
	case 'n':
		errno = 0;
		a->frames = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || a->frames == 0) {
			log_error("top: -n: expected a number of frames from 1, got '%s'", arg);
			return -1;
		}
		return 0;
	case 's':
		if ((s = top_sort_parse(arg)) < 0) {
			log_error("top: --sort: expected drops, fill, syn-recv, port, process or netns");
			return -1;
		}
		a->sort = (enum top_sort)s;
		return 0;
	case 'f':
		if (strlen(arg) >= sizeof(a->filter)) {
			log_error("top: --filter: at most %d characters", TOP_FILTER_MAX - 1);
			return -1;
		}
		strcpy(a->filter, arg);
		return 0;
	}
	return -1;
}

/* ---- the pace ---- */

/* The next refresh on the grid start + k * delay that is still ahead, and
 * the peeks' pace until then. */
static void plan_next(struct top_run *t)
{
	uint64_t now = top_now_ms(), d = t->a->delay_ms;
	uint64_t dump_us = t->all ? watch_all_stats(t->all)->round_us : watch_frame(t->w)->dump_us;
	uint64_t rationed = dump_us * TOP_PEEK_SHARE / 1000;

	t->peek_ms = d / TOP_READINGS;
	if (t->peek_ms < TOP_PEEK_MIN_MS)
		t->peek_ms = TOP_PEEK_MIN_MS;
	if (t->peek_ms < rationed)
		t->peek_ms = rationed;
	if (t->peek_ms * 3 / 2 >= d)
		t->peek_ms = 0;
	do {
		t->k++;
		t->next_refresh = t->start_ms + t->k * t->a->delay_ms;
	} while (t->next_refresh <= now);
	t->next_peek = t->peek_ms ? now + t->peek_ms : UINT64_MAX;
}

/* The frames to show after a refresh: the one namespace's, or those of
 * every namespace read, with what the header says of the others. */
static int view_update(struct top_run *t)
{
	size_t n;

	if (!t->all) {
		t->ns[0] = (struct top_ns){ watch_frame(t->w), NULL };
		t->nns = 1;
		return 0;
	}
	n = watch_all_count(t->all);
	t->nns = 0;
	t->st.denied = t->st.unread = 0;
	t->st.namespaces = n;
	t->st.gone = watch_all_stats(t->all)->gone;
	for (size_t i = 0; i < n; i++) {
		const struct netns_entry *e = watch_all_entry(t->all, i);
		const struct watch_frame *f = watch_all_frame(t->all, i);

		t->st.denied += e->state == NETNS_DENIED;
		/* gone since the last look: counted in st.gone */
		t->st.namespaces -= e->state == NETNS_GONE;
		if (!f)
			continue;
		t->st.unread += watch_all_error(t->all, i) != 0;
		if (ARRAY_GROW(t->ns, t->capns, t->nns, 16) < 0)
			return -ENOMEM;
		t->ns[t->nns++] = (struct top_ns){ f, e->name ? e->name : "?" };
	}
	return 0;
}

/* A refresh of the one namespace, or of every one: -ECANCELED when
 * --all-netns must stop (logged: the own namespace could not be gone back
 * to, /proc unreadable). */
static int top_refresh(struct top_run *t)
{
	int r = t->all ? watch_all_refresh(t->all) : watch_refresh(t->w);

	if (t->all && r < 0 && r != -ENOMEM)
		return -ECANCELED;
	if (r == -ENOMEM || view_update(t) < 0)
		return -ENOMEM;
	return r;
}

/* Take the readings due now: a peek, or the refresh (then plan the next).
 * Returns 1 after a refresh, 0 after a peek or nothing, -ENOMEM,
 * -ECANCELED; *err gets a failed refresh's -errno (the frame stays the
 * last one). */
static int readings_due(struct top_run *t, int *err)
{
	uint64_t now = top_now_ms();
	int r;

	*err = 0;
	if (now >= t->next_refresh) {
		r = top_refresh(t);
		if (r == -ENOMEM || r == -ECANCELED)
			return r;
		*err = r;
		plan_next(t);
		return 1;
	}
	if (now >= t->next_peek) {
		r = t->all ? watch_all_peek(t->all) : watch_peek(t->w);
		if (r < 0)
			return r == -ENOMEM ? r : -ECANCELED;
		t->next_peek = now + t->peek_ms;
		if (t->next_peek + t->peek_ms / 2 >= t->next_refresh)
			t->next_peek = UINT64_MAX;
	}
	return 0;
}

static uint64_t until_next(const struct top_run *t)
{
	uint64_t now = top_now_ms(), next = t->next_peek < t->next_refresh ? t->next_peek : t->next_refresh;

	return next > now ? next - now : 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int build(struct top_run *t)
{
	return top_rows_build(&t->rows, t->ns, t->nns, t->st.sort, t->st.filter);
}

/* ---- batch ---- */

static int top_batch(struct top_run *t)
{
	unsigned long frame = 0;
	int r, err;

	while (!stopsig_caught() && (!t->a->frames || frame < t->a->frames)) {
		r = readings_due(t, &err);
		if (r < 0)
			return r;
		if (r == 1) {
			if (err)
				log_warn("top: the listeners could not be read (%s); the frame shows the last reading",
					 strerror(-err));
			t->st.frame = ++frame;
			if ((r = build(t)) < 0)
				return r;
			if (top_print_frame(stdout, t->ns, t->nns, &t->rows, &t->st) < 0)
				return -EIO;
			continue;
		}
		sleep_ms(until_next(t));
	}
	return 0;
}

/* ---- the full screen ---- */

struct top_ui {
	struct top_screen *scr;
	char edit[TOP_FILTER_MAX];      /* the filter being typed */
	bool editing, help, quit;
	bool stale;             /* msg says a reading failed */
	char msg[160];
};

/* A key while the filter is typed. */
static int key_edit(struct top_run *t, struct top_ui *u, int c)
{
	size_t n = strlen(u->edit);

	if (c == 27) {
		u->editing = false;
	} else if (c == '\r' || c == '\n' || c == KEY_ENTER) {
		u->editing = false;
		strcpy(t->a->filter, u->edit);
		t->st.filter = t->a->filter;
		return build(t);
	} else if (c == KEY_BACKSPACE || c == 127 || c == 8) {
		if (n)
			u->edit[n - 1] = '\0';
	} else if (c >= 0x20 && c < 0x7f && n + 1 < sizeof(u->edit)) {
		u->edit[n] = (char)c;
		u->edit[n + 1] = '\0';
	}
	return 0;
}

static int key_view(struct top_run *t, struct top_ui *u, int c)
{
	u->msg[0] = '\0';
	switch (c) {
	case 'q':
	case 'Q':
		u->quit = true;
		return 0;
	case 's':
		t->st.sort = (enum top_sort)((t->st.sort + 1) % TOP_NSORTS);
		if (t->st.sort == TOP_SORT_NETNS && !t->all)
			t->st.sort = (enum top_sort)((t->st.sort + 1) % TOP_NSORTS);
		snprintf(u->msg, sizeof(u->msg), "sorted by %s", top_sort_name(t->st.sort));
		return build(t);
	case 'p':
		t->st.paused = !t->st.paused;
		if (!t->st.paused) {
			/* the next refresh at once, the grid from now */
			t->start_ms = top_now_ms();
			t->k = 0;
			t->next_refresh = t->start_ms;
		}
		return 0;
	case '/':
		u->editing = true;
		strcpy(u->edit, t->a->filter);
		return 0;
	case 'h':
	case '?':
		u->help = true;
		return 0;
	case 12: /* Ctrl-L */
		clearok(curscr, TRUE);
		return 0;
	case KEY_RESIZE:
		return 0;
	}
	snprintf(u->msg, sizeof(u->msg), "unknown key; h for help");
	return 0;
}

static void draw(struct top_run *t, struct top_ui *u)
{
	if (u->help)
		top_screen_help(u->scr);
	else
		top_screen_draw(u->scr, t->ns, t->nns, &t->rows, &t->st, u->editing ? u->edit : NULL,
				u->msg[0] ? u->msg : NULL);
}

static int top_screen_loop(struct top_run *t, struct top_ui *u)
{
	int r, err, c;

	draw(t, u);
	while (!u->quit && !stopsig_caught()) {
		uint64_t wait = t->st.paused ? 1000 : until_next(t);

		c = top_screen_key(u->scr, (int)(wait > 1000 ? 1000 : wait));
		if (c >= 0) {
			if (u->help)
				u->help = false;
			else if ((r = u->editing ? key_edit(t, u, c) : key_view(t, u, c)) < 0)
				return r;
			if (!u->quit)
				draw(t, u);
			continue;
		}
		if (t->st.paused)
			continue;
		r = readings_due(t, &err);
		if (r < 0)
			return r;
		if (r == 1) {
			if (err)
				snprintf(u->msg, sizeof(u->msg), "the listeners could not be read (%s); "
					 "showing the last reading", strerror(-err));
			else if (u->stale)
				u->msg[0] = '\0';      /* read again: the message no longer holds */
			u->stale = err != 0;
			if ((r = build(t)) < 0)
				return r;
			draw(t, u);
		}
	}
	return 0;
}

static int top_interactive(struct top_run *t)
{
	struct top_ui u = { 0 };
	char why[200];
	int r;

	u.scr = top_screen_open(why, sizeof(why));
	if (!u.scr) {
		log_error("top: %s", why);
		return -ENOTTY;
	}
	r = build(t);
	if (r == 0)
		r = top_screen_loop(t, &u);
	top_screen_close(u.scr);
	return r;
}

/* ---- the command ---- */

static int top_check(const struct globals *g, const struct top_args *a)
{
	if (g->all_netns && g->netns) {
		log_error("--all-netns and --netns cannot be combined");
		return -1;
	}
	if (a->sort == TOP_SORT_NETNS && !g->all_netns) {
		log_error("top: --sort netns sorts the namespaces of --all-netns");
		return -1;
	}
	if (g->root) {
		log_error("top watches the live system; it cannot be combined with --root");
		return -1;
	}
	if (g->format != FORMAT_TEXT) {
		log_error("top: text only; for JSON use listeners --sample DURATION --json");
		return -1;
	}
	if (a->frames && !a->batch) {
		log_error("top: -n counts the frames of batch mode: it needs -b");
		return -1;
	}
	if (!a->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		log_error("top: standard input and output are not a terminal; use -b for plain-text "
			  "frames (-b -n COUNT)");
		return -1;
	}
	return 0;
}

/* --all-netns, at the first refresh: the own namespace's listeners must
 * be readable, and the others enterable (as audit --all-netns says). */
static int first_all(struct top_run *t)
{
	size_t denied = 0, n = watch_all_count(t->all);

	for (size_t i = 0; i < n; i++) {
		const struct netns_entry *e = watch_all_entry(t->all, i);
		int err = watch_all_error(t->all, i);

		denied += e->state == NETNS_DENIED;
		if (e->self && err) {
			log_error("top: cannot read the listening sockets: netlink %s (%s)",
				  sockdiag_refused(err) ? "refused" : "failed", strerror(-err));
			return err;
		}
	}
	if (denied && denied + 1 >= n) {
		log_error("top: entering other network namespaces needs CAP_SYS_ADMIN over them (run as "
			  "root): %zu could not be entered", denied);
		return -EPERM;
	}
	return 0;
}

static int top_go(struct top_run *t, const char *netns)
{
	struct top_args *a = t->a;
	int r;

	t->st = (struct top_status){ .netns = netns, .all = t->all != NULL, .delay_ms = a->delay_ms,
				     .sort = a->sort, .filter = a->filter, .frames = a->batch ? a->frames : 0 };
	/* the first reading: the baseline of the rates and drops */
	r = top_refresh(t);
	if (r == -ENOMEM || r == -ECANCELED)
		return r;
	if (t->all && (r = first_all(t)) < 0)
		return r;
	if (r < 0) {
		log_error("top: cannot read the listening sockets: netlink %s (%s)",
			  sockdiag_refused(r) ? "refused" : "failed", strerror(-r));
		return r;
	}
	t->start_ms = top_now_ms();
	plan_next(t);
	r = a->batch ? top_batch(t) : top_interactive(t);
	top_rows_free(&t->rows);
	return r;
}

static int top_run(struct globals *g, int argc, char **argv)
{
	struct top_args a = { .delay_ms = 1000 };
	struct top_ns one;
	struct top_run t = { .a = &a };
	struct nk_root root;
	int r;

	r = cmd_parse(&cmd_top, g, argc, argv, top_opt, &a);
	if (r < 0)
		return CMD_PARSE_STATUS(r);
	if (top_check(g, &a) < 0)
		return EXIT_NK_ERROR;
	if (g->netns && netns_enter(g->netns) < 0)
		return EXIT_NK_ERROR;
	if ((r = root_open(&root, "/")) < 0) {
		log_error("cannot open /: %s", strerror(-r));
		return EXIT_NK_ERROR;
	}
	if (g->all_netns) {
		t.all = watch_all_new(&root);
	} else {
		t.w = watch_new(&root);
		t.ns = &one;
	}
	if (!t.all && !t.w) {
		root_close(&root);
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	stopsig_hold(false);
	r = top_go(&t, g->netns);
	stopsig_release();
	watch_free(t.w);
	watch_all_free(t.all);
	if (t.all)
		free(t.ns);
	root_close(&root);
	if (r == -ENOMEM)
		log_error("out of memory");
	else if (r == -EIO)
		log_error("top: writing the frames failed");
	return r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
}

const struct cmd cmd_top = {
	.name = "top",
	.summary = "live view of the listeners' queues, drops and owners, and the namespace's drop rates",
	.usage =
		"Usage: netknobs top [-d INTERVAL] [-s SORT] [-f FILTER] [-b [-n COUNT]]\n"
		"                    [--all-netns]\n"
		"\n"
		"A live, full-screen view of the listening TCP sockets of the network namespace\n"
		"(--netns NAME for another), refreshed every INTERVAL.  The header gives the\n"
		"namespace's ListenOverflows, ListenDrops, TCPReqQFullDrop and SyncookiesSent per\n"
		"second, the host's softnet drops per second, and somaxconn, tcp_syncookies and\n"
		"tcp_max_syn_backlog.  One row per listener (a SO_REUSEPORT group of N sockets as\n"
		"one row, \"(N)\", with the queue of its fullest socket): QUEUE/LIMIT now, PEAK the\n"
		"longest queue since the refresh before (read four times per interval), FILL,\n"
		"SYN-RECV (half-open handshakes; counted less often on a large host, the header\n"
		"says when), DROPS/S from the socket's own drop counter (accept- and SYN-side\n"
		"drops alike, and retransmitted SYNs of queued handshakes), and the owning\n"
		"processes with their state (stopped or gone ones first).  Rows that dropped in\n"
		"the last interval are marked '!' and reversed; '+' (bold) a queue that was full\n"
		"(limit + 1).  Sorted by drops, then fill.\n"
		"\n"
		"Keys: q quit, s next sort, p pause, / filter (a port, or part of an address or\n"
		"process name), h help.  SIGINT and SIGTERM end it; the terminal is restored.\n",
	/* the value of each option is its letter, by either spelling */
	.options = (const struct cmd_opt[]){
		{ "delay", 'd', "INTERVAL",
		  .help = "between refreshes: seconds, or 500ms, 2s ... (default\n"
			  "1s, at least 100ms)" },
		{ "sort", 's', "SORT",
		  .help = "drops (default), fill, syn-recv, port, process, or\n"
			  "netns (with --all-netns)" },
		{ "filter", 'f', "FILTER",
		  .help = "only the listeners on this port, or whose address,\n"
			  "process name or namespace name holds FILTER (any case)" },
		{ "batch", 'b',
		  .help = "plain-text frames on standard output, one every\n"
			  "INTERVAL (for scripts; needed without a terminal)" },
		{ "frames", 'n', "COUNT", .help = "with -b: stop after COUNT frames" },
		{ 0 },
	},
	.notes =
		"The owning processes are looked for at the start and when a listener appears\n"
		"(a scan of /proc); their states are read every refresh.\n"
		"\n"
		"--all-netns: every network namespace of the host on one screen (root needed to\n"
		"enter the others), found as audit --all-netns finds them, each entered in turn\n"
		"at every reading and left at once.  A NETNS column names each row's namespace\n"
		"(its ip netns name, else its container or pod, else a process in it, else\n"
		"net:[INODE]); the rows of all of them are sorted together.  The header's\n"
		"ListenOverflows/s, ListenDrops/s, TCPReqQFullDrop/s and SyncookiesSent/s are\n"
		"the sums over the namespaces read, with the one that has the most ListenDrops/s\n"
		"named; somaxconn, tcp_syncookies and tcp_max_syn_backlog show their range\n"
		"(128-4096) when the namespaces differ; the SYN-RECV age is the oldest count's;\n"
		"'netns all (R of N read; D not entered; U unreadable; G gone)' counts them.  A\n"
		"namespace that goes away loses its rows at the next refresh; a new one is found\n"
		"by a new look at the namespaces, every 5 seconds (less often when that look\n"
		"is costly) and at once when an ip netns name comes or goes.\n",
	.run = top_run,
	.all_netns = true,
};
