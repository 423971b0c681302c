#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd.h"
#include "facts/facts.h"
#include "facts/netns.h"
#include "facts/sample.h"
#include "rules/rules.h"
#include "sample-ui.h"
#include "util/duration.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/suggest.h"

const struct cmd *const commands[] = {
	&cmd_audit,
	&cmd_explain,
	&cmd_facts,
	&cmd_fix,
	&cmd_listeners,
	&cmd_lint,
	&cmd_profiles,
	&cmd_report,
	&cmd_rules,
	&cmd_top,
	NULL,
};

const char *const output_format_names[FORMAT_COUNT] = {
	[FORMAT_TEXT] = "text", [FORMAT_JSON] = "json", [FORMAT_PROM] = "prom", [FORMAT_NAGIOS] = "nagios",
};

/* Whether cmd takes format f: it has a renderer of f. */
static bool cmd_takes_format(const struct cmd *cmd, int f)
{
	return cmd->renderers ? cmd->renderers->fn[f] != NULL : f <= FORMAT_JSON;
}

/* "text, json, prom": the formats cmd takes (every format: NULL), in buf. */
static const char *format_list(const struct cmd *cmd, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int f = 0; f < FORMAT_COUNT && n < size; f++)
		if (!cmd || cmd_takes_format(cmd, f))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", output_format_names[f]);
	return buf;
}

int cmd_render(const struct cmd_renderers *t, enum output_format f, const void *ctx, FILE *out)
{
	if (f >= FORMAT_COUNT || !t->fn[f])
		return -ENOTSUP;
	return t->fn[f](ctx, out);
}

int cmd_render_json(const void *doc, FILE *out)
{
	return print_json_file(doc, out);
}

int cmd_print_doc(const struct globals *g, const struct cmd_renderers *t, json_t *doc)
{
	int r;

	if (!doc) {
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	r = cmd_render(t, g->format, doc, stdout);
	json_decref(doc);
	return r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
}

int globals_option(struct globals *g, int c, const char *arg)
{
	char buf[64];

	switch (c) {
	case OPT_ROOT:
		g->root = arg;
		return 1;
	case OPT_NETNS:
		g->netns = arg;
		return 1;
	case OPT_ALL_NETNS:
		g->all_netns = true;
		return 1;
	case OPT_JSON:
		g->format = FORMAT_JSON;
		return 1;
	case OPT_FORMAT:
		for (int f = 0; f < FORMAT_COUNT; f++)
			if (!strcmp(arg, output_format_names[f])) {
				g->format = (enum output_format)f;
				return 1;
			}
		log_error("--format %s: unknown format (%s)", arg, format_list(NULL, buf, sizeof(buf)));
		return -1;
	case OPT_COLOR:
		if (!strcmp(arg, "auto")) {
			g->color = -1;
		} else if (!strcmp(arg, "always")) {
			g->color = 1;
		} else if (!strcmp(arg, "never")) {
			g->color = 0;
		} else {
			log_error("--color %s: expected auto, always or never", arg);
			return -1;
		}
		return 1;
	case OPT_NO_COLOR:
		g->color = 0;
		return 1;
	}
	return 0;
}

const struct cmd *cmd_find(const char *name)
{
	const struct cmd *found = NULL;
	const char *names[32];
	size_t n = 0, nmatch = 0, len = strlen(name);

	if (!len) {
		/* "" is a prefix of every name, but no command */
		log_error("empty command name; see '%s --help'", program_name);
		return NULL;
	}
	for (size_t i = 0; commands[i]; i++) {
		names[n++] = commands[i]->name;
		if (!strcmp(commands[i]->name, name))
			return commands[i];
		if (!strncmp(commands[i]->name, name, len)) {
			found = commands[i];
			nmatch++;
		}
	}
	if (nmatch == 1)
		return found;
	if (nmatch > 1) {
		char list[256] = "";
		size_t off = 0;

		for (size_t i = 0; commands[i]; i++)
			if (!strncmp(commands[i]->name, name, len) && off < sizeof(list))
				off += (size_t)snprintf(list + off, sizeof(list) - off, " %s", commands[i]->name);
		log_error("ambiguous command '%s', could be:%s", name, list);
		return NULL;
	}
	{
		const char *s = suggest_closest(name, names, n);

		if (s)
			log_error("unknown command '%s'; did you mean '%s'?", name, s);
		else
			log_error("unknown command '%s'; see '%s --help'", name, program_name);
	}
	return NULL;
}

const struct cmd_opt rule_options[] = {
	{ "rules", 0, "PATH", .val = OPT_RULES,
	  .help = "also load rule or override files (a file or a\n"
		  "directory of *.yaml); repeatable" },
	{ "no-default-rules", .val = OPT_NO_DEFAULT_RULES,
	  .help = "do not load the built-in or installed rule sets" },
	{ 0 },
};

const struct cmd_opt sample_options[] = {
	{ "sample", 0, "DURATION", .val = OPT_SAMPLE,
	  .help = "watch for DURATION (10s, 500ms, 2m, 1h, or seconds)\n"
		  "first: counter rates over the window, and per\n"
		  "listener the peak queue, SYN_RECV and the drops in\n"
		  "it; Ctrl-C ends the window early" },
	{ "interval", 0, "I", .val = OPT_INTERVAL,
	  .help = "read the listeners every I (default 100ms)" },
	{ 0 },
};

/* The column of the options' texts in --help. */
#define OPTS_HELP_COLUMN 25
/* The most options a command takes, its own and the global ones. */
#define OPTS_MAX 64

/* Whether o is a row of a table, not its end (or a NULL table). */
static bool opt_row(const struct cmd_opt *o)
{
	return o && (o->name || o->label || o->group);
}

/* What the command's callback gets for o. */
static int opt_val(const struct cmd_opt *o)
{
	return o->val ? o->val : o->letter;
}

/* "-v, --verbose", "--rules PATH", "--name[=ARG]" or o's label, in buf. */
static const char *opt_label(const struct cmd_opt *o, char *buf, size_t size)
{
	int n = 0;

	if (o->label)
		return o->label;
	if (o->letter)
		n = snprintf(buf, size, "-%c, ", o->letter);
	snprintf(buf + n, size - (size_t)n, "--%s%s%s%s", o->name,
		 o->arg ? (o->optional ? "[=" : " ") : "", o->arg ? o->arg : "",
		 o->arg && o->optional ? "]" : "");
	return buf;
}

void cmd_opts_help(const struct cmd_opt *t, FILE *out)
{
	for (; opt_row(t); t++) {
		char buf[128];
		const char *label, *p = t->help;

		if (t->group) {
			cmd_opts_help(t->group, out);
			continue;
		}
		if (!p)
			continue;
		label = opt_label(t, buf, sizeof(buf));
		if (strlen(label) + 4 > OPTS_HELP_COLUMN)
			fprintf(out, "  %s\n%*s", label, OPTS_HELP_COLUMN, "");
		else
			fprintf(out, "  %-*s", OPTS_HELP_COLUMN - 2, label);
		for (;;) {
			size_t len = strcspn(p, "\n");

			fprintf(out, "%.*s\n", (int)len, p);
			if (!p[len])
				break;
			p += len + 1;
			fprintf(out, "%*s", OPTS_HELP_COLUMN, "");
		}
	}
}

/* The getopt_long() tables of a command's options. */
struct opt_tables {
	struct option lo[OPTS_MAX + 1];
	size_t n;
	char so[3 * OPTS_MAX + 4];      /* ":h", then "L", "L:" or "L::" each */
	size_t sn;
	int val[256];                   /* by short letter: the callback's value */
};

/* Add the rows of t (and of its groups) to o: 0, or -1 when there are more
 * than OPTS_MAX. */
static int opt_tables_add(struct opt_tables *o, const struct cmd_opt *t)
{
	for (; opt_row(t); t++) {
		if (t->group && opt_tables_add(o, t->group) < 0)
			return -1;
		if (!t->name)
			continue;
		if (o->n >= OPTS_MAX)
			return -1;
		o->lo[o->n++] = (struct option){
			t->name, !t->arg ? no_argument : t->optional ? optional_argument : required_argument,
			NULL, opt_val(t),
		};
		if (!t->letter)
			continue;
		o->so[o->sn++] = (char)t->letter;
		if (t->arg)
			o->so[o->sn++] = ':';
		if (t->arg && t->optional)
			o->so[o->sn++] = ':';
		o->so[o->sn] = '\0';
		o->val[(unsigned char)t->letter] = opt_val(t);
	}
	return 0;
}

void cmd_help(const struct cmd *c, FILE *out)
{
	fputs(c->usage, out);
	if (c->options) {
		fputs("\nOptions:\n", out);
		cmd_opts_help(c->options, out);
		if (c->notes)
			fprintf(out, "\n%s", c->notes);
	}
	fputs("\n" GLOBAL_OPTIONS_HELP, out);
}

int cmd_parse(const struct cmd *cmd, struct globals *g, int argc, char **argv,
	      int (*handle)(int c, const char *arg, void *data), void *data)
{
	static const struct option globals[] = { GLOBAL_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
	/* leading ':' to report missing arguments ourselves; '+' to stop at
	 * the first operand is not wanted: options may follow operands */
	struct opt_tables t = { .so = ":h", .sn = 2 };
	struct option *opts = t.lo;
	char *sopts = t.so;
	int c;

	/* the command's, then the global ones */
	if (opt_tables_add(&t, cmd->options) < 0 || t.n + sizeof(globals) / sizeof(globals[0]) - 1 > OPTS_MAX) {
		log_error("%s: more than %d options", cmd->name, OPTS_MAX);
		return CMD_PARSE_FAILED;
	}
	for (size_t i = 0; globals[i].name; i++)
		opts[t.n++] = globals[i];
	memset(&opts[t.n], 0, sizeof(opts[t.n]));

	/* 0, not 1: glibc then resets getopt completely, including the
	 * REQUIRE_ORDER mode main() used, so options may follow operands */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, sopts, opts, NULL)) != -1) {
		int r;

		if (c == 'h') {
			cmd_help(cmd, stdout);
			return CMD_PARSE_HELP;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			bool longopt = bad[0] == '-' && bad[1] == '-';

			if (c == ':')
				log_error("%s: option '%s' needs an argument", cmd->name, bad);
			else if (optopt && longopt)
				/* a known long option given "=ARG": getopt sets
				 * optopt to its value, which is no letter */
				log_error("%s: option '%.*s' takes no argument", cmd->name, (int)strcspn(bad, "="), bad);
			else if (optopt)
				log_error("%s: unknown option '-%c'", cmd->name, optopt);
			else {
				/* long option: suggest the closest */
				const char *names[OPTS_MAX];
				char word[64];
				size_t k = 0;
				const char *s;

				snprintf(word, sizeof(word), "%s", bad + (bad[0] == '-' && bad[1] == '-' ? 2 : 0));
				word[strcspn(word, "=")] = '\0';
				for (size_t i = 0; opts[i].name; i++)
					names[k++] = opts[i].name;
				s = suggest_closest(word, names, k);
				if (s)
					log_error("%s: unknown option '%s'; did you mean '--%s'?", cmd->name, bad, s);
				else
					log_error("%s: unknown option '%s'", cmd->name, bad);
			}
			fprintf(stderr, "Try '%s %s --help'.\n", program_name, cmd->name);
			return CMD_PARSE_FAILED;
		}
		if (c > 0 && c < 256 && t.val[c])
			c = t.val[c];   /* -L: the value of --NAME */
		r = globals_option(g, c, optarg);
		if (r < 0)
			return CMD_PARSE_FAILED;
		if (r > 0)
			continue;
		if (!handle || handle(c, optarg, data) < 0)
			return CMD_PARSE_FAILED;
	}
	if (g->all_netns && !cmd->all_netns) {
		log_error("%s: --all-netns is not supported by this command (audit, facts, listeners, report, top)",
			  cmd->name);
		return CMD_PARSE_FAILED;
	}
	if (!cmd_takes_format(cmd, g->format)) {
		char list[64];

		log_error("%s: --format %s is not supported by this command (%s)", cmd->name,
			  output_format_names[g->format], format_list(cmd, list, sizeof(list)));
		return CMD_PARSE_FAILED;
	}
	if (argc - optind < cmd->operands_min || (cmd->operands_max >= 0 && argc - optind > cmd->operands_max)) {
		if (cmd->operands_max == 0) {
			log_error("%s: unexpected argument '%s'", cmd->name, argv[optind]);
		} else {
			log_error("%s: name %s", cmd->name, cmd->operands);
			fprintf(stderr, "Try '%s %s --help'.\n", program_name, cmd->name);
		}
		return CMD_PARSE_FAILED;
	}
	return optind;
}

int sample_args_option(struct sample_args *s, int c, const char *arg)
{
	if (c == OPT_SAMPLE)
		s->duration = arg;
	else if (c == OPT_INTERVAL)
		s->interval = arg;
	else
		return 0;
	return 1;
}

/* The --sample and --interval values.  Returns 0 (o set; o->duration_ms 0
 * when there is no window) or -1 (logged). */
static int sample_args_check(const struct globals *g, const char *from,
			     const struct sample_args *s, struct sample_opts *o)
{
	char why[160];

	memset(o, 0, sizeof(*o));
	if (!s || !s->duration) {
		if (s && s->interval) {
			log_error("--interval sets the pace of a sampling window: it needs --sample");
			return -1;
		}
		return 0;
	}
	if (from) {
		log_error("--sample watches the live system; it cannot be combined with --from");
		return -1;
	}
	if (g->root) {
		log_error("--sample watches the live system; it cannot be combined with --root");
		return -1;
	}
	if (duration_parse(s->duration, &o->duration_ms, why, sizeof(why)) < 0) {
		log_error("--sample: invalid duration: %s", why);
		return -1;
	}
	o->interval_ms = 100;
	if (s->interval && duration_parse(s->interval, &o->interval_ms, why, sizeof(why)) < 0) {
		log_error("--interval: invalid duration: %s", why);
		return -1;
	}
	if (o->interval_ms > o->duration_ms) {
		char a[32], b[32];

		duration_format(o->interval_ms, a, sizeof(a));
		duration_format(o->duration_ms, b, sizeof(b));
		log_error("--interval %s is longer than the --sample window (%s)", a, b);
		return -1;
	}
	return 0;
}

const char *cmd_state_dir(void)
{
	const char *s = getenv("NETKNOBS_STATE_DIR");

	return s && *s ? s : DEFAULT_STATE_DIR;
}

json_t *cmd_get_facts(const struct globals *g, const char *from, const char *const *keys,
		      size_t nkeys, unsigned what)
{
	return cmd_get_facts_sampled(g, from, keys, nkeys, what, NULL);
}

json_t *cmd_get_facts_sampled(const struct globals *g, const char *from, const char *const *keys,
			      size_t nkeys, unsigned what, const struct sample_args *s)
{
	struct nk_root root;
	struct collect_opts o = { 0 };
	struct sample_opts so;
	struct progress_bar bar = { .on = isatty(STDERR_FILENO) };
	json_t *doc;
	int r;

	if (sample_args_check(g, from, s, &so) < 0)
		return NULL;
	so.hooks = sample_ui_hooks(&bar);
	if (from) {
		if (g->root || g->netns) {
			log_error("--from reads a saved facts document; --root and --netns do not apply to it");
			return NULL;
		}
		return facts_load(from);
	}
	if (g->root && g->netns) {
		log_error("--root and --netns cannot be combined");
		return NULL;
	}
	if (so.duration_ms && !(o.sample = sample_new(&so))) {
		log_error("out of memory");
		return NULL;
	}
	if (g->netns && netns_enter(g->netns) < 0) {
		sample_free(o.sample);
		return NULL;
	}
	r = root_open(&root, g->root ? g->root : "/");
	if (r < 0) {
		if (g->root)
			log_error("--root %s: %s", g->root, strerror(-r));
		else
			log_error("cannot open /: %s", strerror(-r));
		sample_free(o.sample);
		return NULL;
	}
	o.root = &root;
	o.netns = g->netns;
	o.sysctl_keys = keys;
	o.n_sysctl_keys = nkeys;
	o.want_sockets = what & FACTS_SOCKETS;
	o.want_owners = what & FACTS_SOCKETS;
	o.listeners_only = what & FACTS_LISTENERS_ONLY;
	doc = facts_collect(&o);
	sample_ui_done();
	sample_free(o.sample);
	root_close(&root);
	if (!doc)
		log_error("out of memory while collecting facts");
	return doc;
}

/* json_dumpf() writes each token with its own fwrite(), which locks the
 * stream every time: gather the pieces in a buffer of our own instead. */
struct dump_buf {
	char b[64 * 1024];
	size_t n;
	FILE *f;
};

static int dump_flush(struct dump_buf *d)
{
	size_t n = d->n;

	d->n = 0;
	return fwrite(d->b, 1, n, d->f) == n ? 0 : -1;
}

static int dump_piece(const char *p, size_t len, void *data)
{
	struct dump_buf *d = data;

	if (len > sizeof(d->b) - d->n) {
		if (dump_flush(d) < 0)
			return -1;
		if (len > sizeof(d->b))
			return fwrite(p, 1, len, d->f) == len ? 0 : -1;
	}
	memcpy(d->b + d->n, p, len);
	d->n += len;
	return 0;
}

int print_json(const json_t *v)
{
	return print_json_file(v, stdout);
}

int print_json_file(const json_t *v, FILE *f)
{
	static struct dump_buf d;

	d.n = 0;
	d.f = f;
	/* reals (the rates of a sampling window) with 12 significant digits:
	 * 9.333, not 9.3330000000000002 */
	if (json_dump_callback(v, dump_piece, &d, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(12)) < 0 ||
	    dump_piece("\n", 1, &d) < 0 || dump_flush(&d) < 0)
		return -EIO;
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

bool color_enabled(const struct globals *g, FILE *f)
{
	const char *term = getenv("TERM");

	if (g->color >= 0)
		return g->color == 1;
	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(f));
}

int terminal_width(FILE *f)
{
	struct winsize ws;

	if (!isatty(fileno(f)) || ioctl(fileno(f), TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

int rule_opts_option(struct rule_opts *o, int c, const char *arg)
{
	const char **n;

	if (c == OPT_NO_DEFAULT_RULES) {
		o->no_defaults = true;
		return 1;
	}
	if (c != OPT_RULES)
		return 0;
	n = realloc(o->paths, (o->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	o->paths = n;
	o->paths[o->n++] = arg;
	return 1;
}

int rule_opts_cb(int c, const char *arg, void *data)
{
	return rule_opts_option(data, c, arg) == 1 ? 0 : -1;
}

void rule_opts_free(struct rule_opts *o)
{
	free(o->paths);
	o->paths = NULL;
	o->n = 0;
}

int cmd_load_rules(const struct globals *g, const struct rule_opts *o, struct rulebook *rb)
{
	rulebook_init(rb);
	rulebook_load_standard(rb, g->root, o->paths, o->n, o->no_defaults);
	if (rb->errors) {
		log_error("%u error%s in the rules (check them with 'netknobs lint')", rb->errors,
			  rb->errors == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int cmd_rules_command_setup(const struct cmd *cmd, struct globals *g, int argc, char **argv,
			    struct rulebook *rb)
{
	struct rule_opts o = { 0 };
	int r = cmd_parse(cmd, g, argc, argv, rule_opts_cb, &o);

	if (r < 0) {
		rule_opts_free(&o);
		return CMD_PARSE_STATUS(r);
	}
	r = cmd_load_rules(g, &o, rb);
	rule_opts_free(&o);
	if (r < 0) {
		rulebook_free(rb);
		return EXIT_NK_ERROR;
	}
	return -1;
}
