/* Subcommands: one file each (cmd-NAME.c), dispatched from main.c through
 * the table in cmd-common.c. */
#ifndef NK_CMD_H
#define NK_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* Exit codes: decided in main() from what commands return. */
enum {
	EXIT_NK_OK = 0,       /* nothing at or above the threshold */
	EXIT_NK_WARNING = 1,  /* a finding at warning level */
	EXIT_NK_CRITICAL = 2, /* a critical finding */
	EXIT_NK_ERROR = 3,    /* could not do the job: bad input, usage, system error */
};

enum output_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_PROM, FORMAT_NAGIOS, FORMAT_COUNT };

/* The output formats by name ("text", "json", "prom", "nagios"), indexed by
 * enum output_format: --format's parsing and its errors come from it.  A
 * new format is a name here, its renderer (src/render/), and a row in the
 * renderers of each command that takes it (struct cmd_renderers). */
extern const char *const output_format_names[FORMAT_COUNT];

/* A renderer of a command's result in one output format: ctx is the
 * command's own (a struct of its documents and options, in its
 * src/cmd-NAME.c; a json_t document for cmd_print_doc()), out where it
 * writes.  0 or a negative errno. */
typedef int cmd_render_fn(const void *ctx, FILE *out);

/* A command's renderers, one per output format it takes, indexed by enum
 * output_format (NULL: not taken): the one table from which the choice of
 * the renderer, and the formats --format may name for the command, follow.
 *
 *	static const struct cmd_renderers audit_renderers = { {
 *		[FORMAT_TEXT] = audit_text, [FORMAT_JSON] = audit_json,
 *		[FORMAT_PROM] = audit_prom, [FORMAT_NAGIOS] = audit_nagios,
 *	} };
 */
struct cmd_renderers {
	cmd_render_fn *fn[FORMAT_COUNT];
};

/* Render ctx on out with t's renderer of format f: 0 or a negative errno
 * (-ENOTSUP when t has none: cmd_parse() refuses such a format first). */
int cmd_render(const struct cmd_renderers *t, enum output_format f, const void *ctx, FILE *out);

/* The JSON renderer of a command whose ctx is the json_t document it
 * prints (indented, in order). */
int cmd_render_json(const void *doc, FILE *out);

/* Options valid before and after the command name. */
struct globals {
	const char *root;       /* --root DIR, default "/" */
	const char *netns;      /* --netns NAME|PATH|PID */
	bool all_netns;         /* --all-netns (audit, facts, listeners, report, top) */
	enum output_format format;
	int color;              /* -1 auto, 0 never, 1 always */
};

enum {
	OPT_ROOT = 0x1000,
	OPT_NETNS,
	OPT_ALL_NETNS,
	OPT_FORMAT,
	OPT_JSON,
	OPT_COLOR,
	OPT_NO_COLOR,
	OPT_RULES,              /* --rules PATH (commands that load rules) */
	OPT_NO_DEFAULT_RULES,   /* --no-default-rules */
	OPT_SAMPLE,             /* --sample DURATION (audit, facts, listeners) */
	OPT_INTERVAL,           /* --interval I, with --sample */
	OPT_CMD_BASE = 0x1100, /* commands number their own long options from here */
};

/* Where commands that load rules take them from. */
struct rule_opts {
	const char **paths;     /* --rules, in order */
	size_t n;
	bool no_defaults;       /* --no-default-rules */
};

/* Handle --rules / --no-default-rules in a command's option callback:
 * 1 handled, 0 not one of them, -1 out of memory. */
int rule_opts_option(struct rule_opts *o, int c, const char *arg);
void rule_opts_free(struct rule_opts *o);
/* A cmd_parse() callback for commands whose only options are those. */
int rule_opts_cb(int c, const char *arg, void *data);

struct rulebook;
struct cmd;
/* Load the standard rule sources and o's paths into rb (initialised
 * here).  On errors in the rules, logs a summary and returns -1; rb must be
 * freed either way. */
int cmd_load_rules(const struct globals *g, const struct rule_opts *o, struct rulebook *rb);

/* For commands whose only options are the rule ones: parse them and load
 * the rules.  Returns -1 when rb is loaded (the caller frees it), else the
 * exit code to return (rb needs no freeing then). */
int cmd_rules_command_setup(const struct cmd *cmd, struct globals *g, int argc, char **argv,
			    struct rulebook *rb);

#define GLOBAL_LONG_OPTIONS                                         \
	{ "root", required_argument, NULL, OPT_ROOT },              \
	{ "netns", required_argument, NULL, OPT_NETNS },            \
	{ "all-netns", no_argument, NULL, OPT_ALL_NETNS },          \
	{ "format", required_argument, NULL, OPT_FORMAT },          \
	{ "json", no_argument, NULL, OPT_JSON },                    \
	{ "color", required_argument, NULL, OPT_COLOR },            \
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },            \
	{ "help", no_argument, NULL, 'h' }

#define GLOBAL_OPTIONS_HELP                                                          \
	"Global options (before or after the command):\n"                           \
	"  --root DIR          read /proc and /etc below DIR instead of /\n"            \
	"  --netns NS          collect inside a network namespace: a name from\n"      \
	"                      `ip netns list`, a path to a namespace file, or a PID\n" \
	"  --all-netns         every network namespace of the host, one after another\n" \
	"                      (audit, facts, listeners, report, top)\n"              \
	"  --format FORMAT     output format: text, json (--json for short); audit and\n" \
	"                      report also prom (Prometheus) and nagios\n"             \
	"  --color WHEN        auto (default; off when NO_COLOR is set), always, never\n" \
	"  -h, --help          show help\n"

/* Handle a global option inside a command's getopt loop.  Returns 1 when
 * handled, 0 when c is not a global option, -1 on a bad value (logged). */
int globals_option(struct globals *g, int c, const char *arg);

/* One option of a command, a row of its table (struct cmd's options), from
 * which cmd_parse() builds its getopt_long() tables and cmd_help() the
 * "Options:" section of --help:
 *
 *	static const struct cmd_opt top_options[] = {
 *		{ "delay", 'd', "INTERVAL", .help = "between refreshes ..." },
 *		{ .group = rule_options },
 *		{ .label = "--json, --format json", .help = "as JSON" },
 *		{ 0 }
 *	};
 *
 * A row with a name is an option: --NAME, and -LETTER when letter is not 0;
 * it takes an argument when arg names it (in --help: "--NAME ARG"), an
 * optional one (--NAME=ARG, -LARG) when also optional.  The command's
 * option callback gets val for it, by either spelling (val 0: the letter;
 * else a value from OPT_CMD_BASE up, or the row's letter: a value below 256
 * would be taken for the letter of that value).
 * help is its text in --help, lines separated by '\n', each shown at the
 * text column; NULL: not shown (an option described in another row's).
 * label replaces the "-L, --NAME ARG" of --help; a row with a label and no
 * name only adds a line to --help (a global option in the command's terms:
 * "--json, --format json").  A row with group includes that table (shared
 * options: rule_options, sample_options) at its place.  All zero ends a
 * table. */
struct cmd_opt {
	const char *name;
	int letter;
	const char *arg;
	bool optional;
	int val;
	const char *help;
	const char *label;
	const struct cmd_opt *group;
};

/* --rules PATH, --no-default-rules: the options of commands that load rules
 * (the values OPT_RULES, OPT_NO_DEFAULT_RULES, for rule_opts_option()). */
extern const struct cmd_opt rule_options[];
/* --sample DURATION, --interval I (OPT_SAMPLE, OPT_INTERVAL, for
 * sample_args_option()). */
extern const struct cmd_opt sample_options[];

/* Print the rows of an options table as --help shows them: the label at
 * column 2, the text at column 25 (on the next line when the label does not
 * leave it two spaces), every further line of the text at column 25. */
void cmd_opts_help(const struct cmd_opt *t, FILE *out);

struct cmd {
	const char *name;
	const char *summary;   /* one line for the command list */
	/* --help: usage (the synopsis and the text before the options), then
	 * "Options:" and the rows of options, then notes (the text after
	 * them, NULL: none), then the global options */
	const char *usage;
	const struct cmd_opt *options;  /* NULL: none but the global ones */
	const char *notes;
	int (*run)(struct globals *g, int argc, char **argv);
	/* its renderers, and so the formats it takes; NULL: text and json,
	 * which it prints itself (lint, top) */
	const struct cmd_renderers *renderers;
	bool all_netns;        /* takes --all-netns */
	bool huge_heap;        /* parses large documents and rule sets: its heap
				* is backed by huge pages (heap_init()) */
	/* the operands it takes, at least operands_min and at most
	 * operands_max (-1: any number); both 0: none.  operands names them
	 * for the error ("one sysctl key or rule id") */
	int operands_min, operands_max;
	const char *operands;
};

extern const struct cmd cmd_audit;
extern const struct cmd cmd_explain;
extern const struct cmd cmd_facts;
extern const struct cmd cmd_fix;
extern const struct cmd cmd_listeners;
extern const struct cmd cmd_lint;
extern const struct cmd cmd_profiles;
extern const struct cmd cmd_report;
extern const struct cmd cmd_rules;
extern const struct cmd cmd_top;

extern const struct cmd *const commands[];

/* Look up a command by name or unique prefix.  On failure prints an error
 * with suggestions ("ambiguous: could be ..." / "did you mean ...") and
 * returns NULL. */
const struct cmd *cmd_find(const char *name);

/* Print the command's usage to out. */
void cmd_help(const struct cmd *c, FILE *out);

/* What cmd_parse() returns when the command is not to run. */
enum {
	CMD_PARSE_FAILED = -1,  /* a usage error, logged with a hint */
	CMD_PARSE_HELP = -2,    /* --help: the usage was printed */
};
/* The exit status of a command that does not run: EXIT_NK_OK after --help. */
#define CMD_PARSE_STATUS(r) ((r) == CMD_PARSE_HELP ? EXIT_NK_OK : EXIT_NK_ERROR)

/* Parse a command's options: those of cmd's options table, then the global
 * ones.  Calls handle(val, optarg, data) for each of the command's options
 * (val of its row); it returns 0 or -1 (usage error, logged).  Checks the
 * number of operands against cmd's operands_min and operands_max, and the
 * global options the command takes (--all-netns, --format).  Returns the
 * index of the first operand, or CMD_PARSE_FAILED or CMD_PARSE_HELP.
 *
 * The callback is an argument here rather than a member of struct cmd: it
 * fills data, a structure of the command's run function (its arguments,
 * on its stack), and the two are best seen together at the one call that
 * pairs them. */
int cmd_parse(const struct cmd *cmd, struct globals *g, int argc, char **argv,
	      int (*handle)(int c, const char *arg, void *data), void *data);

/* What cmd_get_facts collects besides host, sysctls and counters. */
enum {
	FACTS_SOCKETS = 1 << 0,        /* listeners, owners and per-state counts */
	FACTS_LISTENERS_ONLY = 1 << 1, /* with FACTS_SOCKETS: skip the per-state counts */
};

/* --sample DURATION [--interval I]: a sampling window before the facts are
 * collected (facts/sample.h). */
struct sample_args {
	const char *duration;   /* as given; NULL: no window */
	const char *interval;
};

/* Handle --sample / --interval in a command's option callback: 1 handled,
 * 0 not one of them. */
int sample_args_option(struct sample_args *s, int c, const char *arg);

/* cmd_get_facts() with an optional sampling window (s may be NULL or have
 * no duration).  Checks the --sample and --interval values (logged). */
json_t *cmd_get_facts_sampled(const struct globals *g, const char *from, const char *const *keys,
			      size_t nkeys, unsigned what, const struct sample_args *s);

/* The facts to work on: a saved document (from != NULL) or a collection on
 * the live system (or --root), inside --netns when given.  NULL on error
 * (logged). */
json_t *cmd_get_facts(const struct globals *g, const char *from, const char *const *keys,
		      size_t nkeys, unsigned what);

/* The state directory of report and fix --apply, and where audit reads
 * their history: NETKNOBS_STATE_DIR when set (tests), else this. */
#define DEFAULT_STATE_DIR "/var/lib/netknobs"
const char *cmd_state_dir(void);

/* Print a JSON value to stdout (indented, sorted keys off, ends in newline).
 * Returns 0 or -EIO. */
int print_json(const json_t *v);
/* The same on f. */
int print_json_file(const json_t *v, FILE *f);

/* A command's document, taken over, rendered on stdout in the format of g
 * by t (whose renderers take the json_t document as ctx); out of memory
 * (doc NULL) said.  The exit status. */
int cmd_print_doc(const struct globals *g, const struct cmd_renderers *t, json_t *doc);

/* Colors for text output. */
bool color_enabled(const struct globals *g, FILE *f);

/* The columns of the terminal f is, or 0 when it is none. */
int terminal_width(FILE *f);

#endif
