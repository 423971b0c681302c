/* A command's options table: the getopt tables cmd_parse() builds from it
 * (the value each spelling gives the callback, arguments, groups) and the
 * "Options:" rows cmd_help() prints. */
#include "config.h"

#include <stdlib.h>

#include "cmd.h"
#include "tap.h"

enum { OPT_A = OPT_CMD_BASE, OPT_B, OPT_C, OPT_G };

static const struct cmd_opt group[] = {
	{ "grouped", 0, "G", .val = OPT_G, .help = "from a group" },
	{ 0 },
};

static const struct cmd_opt table[] = {
	{ "verbose", 'v', .help = "a letter, no argument" },
	{ "delay", 'd', "INTERVAL", .help = "a letter and an argument,\nwith a second line\nand a third" },
	{ "alpha", 0, "X", .val = OPT_A, .help = "no letter" },
	{ "beta", 'b', "Y", .val = OPT_B, .help = "a letter and its own value" },
	{ "gamma", 0, "Z", true, OPT_C, .help = "an optional argument" },
	{ "hidden", 0, NULL, .val = 'H' },
	{ .label = "--json, --format json", .help = "a line of help only" },
	{ .group = group },
	{ "a-rather-long-option", 0, "NAME", .val = 'L', .help = "its text on the next line" },
	{ "exactly-22-chars", 0, "ABC", .val = 'E', .help = "one space short: the next line" },
	{ "exactly-21-chars", 0, "AB", .val = 'F', .help = "two spaces: this line" },
	{ 0 },
};

static const char table_help[] =
	"  -v, --verbose          a letter, no argument\n"
	"  -d, --delay INTERVAL   a letter and an argument,\n"
	"                         with a second line\n"
	"                         and a third\n"
	"  --alpha X              no letter\n"
	"  -b, --beta Y           a letter and its own value\n"
	"  --gamma[=Z]            an optional argument\n"
	"  --json, --format json  a line of help only\n"
	"  --grouped G            from a group\n"
	"  --a-rather-long-option NAME\n"
	"                         its text on the next line\n"
	"  --exactly-22-chars ABC\n"
	"                         one space short: the next line\n"
	"  --exactly-21-chars AB  two spaces: this line\n";

static const struct cmd test_cmd = {
	.name = "test",
	.usage = "Usage: test\n",
	.options = table,
	.operands_min = 0,
	.operands_max = -1,
};

/* What the callback was given, as "VALUE=ARG;" each: the letter, or A, B,
 * C, G for OPT_A ... (ARG "-": none). */
static char seen[512];

static int record(int c, const char *arg, void *data)
{
	size_t n = strlen(seen);
	char name = c == OPT_A ? 'A' : c == OPT_B ? 'B' : c == OPT_C ? 'C' : c == OPT_G ? 'G' :
		    c > 0 && c < 128 ? (char)c : '?';

	(void)data;
	snprintf(seen + n, sizeof(seen) - n, "%c=%s;", name, arg ? arg : "-");
	return 0;
}

struct parse_case {
	const char *args[8];
	int want_r;          /* the index of the first operand, or CMD_PARSE_FAILED */
	const char *want;    /* seen */
};

static const struct parse_case cases[] = {
	{ { "-v", "--verbose" }, 3, "v=-;v=-;" },
	{ { "-d", "5", "--delay=6", "-d7" }, 5, "d=5;d=6;d=7;" },
	{ { "--alpha", "x", "op", "--alp=y" }, 4, "A=x;A=y;" },   /* operands and options mixed */
	{ { "-b", "1", "--beta", "2" }, 5, "B=1;B=2;" },          /* -b gives B, not 'b' */
	{ { "--gamma", "--gamma=z", "op" }, 3, "C=-;C=z;" },
	{ { "--hidden" }, 2, "H=-;" },            /* no help: taken all the same */
	{ { "--grouped", "g" }, 3, "G=g;" },
	{ { "--a-rather-long-option", "n" }, 3, "L=n;" },
	{ { "--json" }, 2, "" },                  /* a global option: not the callback's */
	{ { "-x" }, CMD_PARSE_FAILED, "" },
	{ { "-H" }, CMD_PARSE_FAILED, "" },       /* no letter: only --hidden */
	{ { "--gamma", "z" }, 2, "C=-;" },        /* an optional argument is --gamma=z: z an operand */
	{ { "-d" }, CMD_PARSE_FAILED, "" },
};

static void parse_case(const struct parse_case *t, size_t k)
{
	char *argv[10] = { "test" };
	int argc = 1, r;
	struct globals g = { .color = -1 };

	for (size_t i = 0; i < 8 && t->args[i]; i++)
		argv[argc++] = (char *)t->args[i];
	seen[0] = '\0';
	r = cmd_parse(&test_cmd, &g, argc, argv, record, NULL);
	if (!ok(r == t->want_r, "case %zu (%s ...): cmd_parse() returns %d", k, t->args[0], t->want_r))
		printf("#   got %d\n", r);
	if (r >= 0)
		is_str(seen, t->want, "case %zu (%s ...): the callback's values", k, t->args[0]);
}

int main(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return 99;
	cmd_opts_help(table, f);
	fclose(f);
	is_str(buf, table_help, "the Options: rows of a table");
	free(buf);

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		parse_case(&cases[k], k);
	return tap_done();
}
