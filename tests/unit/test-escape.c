/* Escaping of untrusted text for terminals and JSON: a table of inputs and
 * what each function must make of them. */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "util/escape.h"

struct esc_case {
	const char *what;
	const char *in;
	size_t len;             /* bytes of in (it may hold NUL) */
	const char *untrusted;  /* escape_untrusted() */
	const char *display;    /* escape_display(): NULL when the same as untrusted */
	long unsafe;            /* escape_first_unsafe(in, len, false) */
	long unsafe_lines;      /* escape_first_unsafe(in, len, true) */
};

#define S(x) x, sizeof(x) - 1

static const struct esc_case cases[] = {
	{ "plain ASCII unchanged", S("nginx"), "nginx", NULL, -1, -1 },
	{ "empty string", S(""), "", NULL, -1, -1 },
	{ "ESC escaped", S("\x1b[31mevil"), "\\x1b[31mevil", NULL, 0, 0 },
	{ "OSC title sequence escaped", S("a\x1b]0;pwned\x07"), "a\\x1b]0;pwned\\x07", NULL, 1, 1 },
	{ "newline, tab, CR as C escapes", S("a\nb\tc\r"), "a\\nb\\tc\\r", NULL, 1, 5 },
	{ "backslash doubled (kept for display)", S("back\\slash"), "back\\\\slash", "back\\slash", -1, -1 },
	{ "already escaped text kept for display", S("already\\x1b escaped \x1b"),
	  "already\\\\x1b escaped \\x1b", "already\\x1b escaped \\x1b", 20, 20 },
	{ "DEL escaped", S("x\x7fy"), "x\\x7fy", NULL, 1, 1 },
	{ "NUL escaped", S("a\0b"), "a\\x00b", NULL, 1, 1 },
	{ "valid 2-byte UTF-8 kept", S("caf\xc3\xa9"), "caf\xc3\xa9", NULL, -1, -1 },
	{ "3-byte UTF-8 kept", S("\xe2\x82\xac"), "\xe2\x82\xac", NULL, -1, -1 },
	{ "4-byte UTF-8 kept", S("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80", NULL, -1, -1 },
	{ "C1 CSI (U+009B) escaped", S("\xc2\x9b" "2J"), "\\xc2\\x9b2J", NULL, 0, 0 },
	{ "invalid bytes escaped", S("\xff\xfe"), "\\xff\\xfe", NULL, 0, 0 },
	{ "truncated sequence escaped", S("ok\xc3"), "ok\\xc3", NULL, 2, 2 },
	{ "overlong form escaped", S("\xc0\xaf"), "\\xc0\\xaf", NULL, 0, 0 },
	{ "surrogate escaped", S("\xed\xa0\x80"), "\\xed\\xa0\\x80", NULL, 0, 0 },
	{ "above U+10FFFF escaped", S("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80", NULL, 0, 0 },
	{ "U+202E right-to-left override", S("gnp\xe2\x80\xae" "exe"), "gnp\\u202eexe", NULL, 3, 3 },
	{ "U+202A left-to-right embedding", S("\xe2\x80\xaax"), "\\u202ax", NULL, 0, 0 },
	{ "U+2066..U+2069 isolates", S("\xe2\x81\xa6\xe2\x81\xa9"), "\\u2066\\u2069", NULL, 0, 0 },
	{ "U+200E, U+200F marks", S("\xe2\x80\x8e\xe2\x80\x8f"), "\\u200e\\u200f", NULL, 0, 0 },
	{ "U+061C Arabic letter mark", S("\xd8\x9c"), "\\u061c", NULL, 0, 0 },
	{ "U+2028 line separator", S("a\xe2\x80\xa8" "b"), "a\\u2028b", NULL, 1, 1 },
	{ "U+2029 paragraph separator", S("\xe2\x80\xa9"), "\\u2029", NULL, 0, 0 },
	{ "U+2027 and U+202F are ordinary", S("\xe2\x80\xa7\xe2\x80\xaf"), "\xe2\x80\xa7\xe2\x80\xaf", NULL,
	  -1, -1 },
	{ "U+2065 and U+206A are not isolates", S("\xe2\x81\xa5\xe2\x81\xaa"),
	  "\xe2\x81\xa5\xe2\x81\xaa", NULL, -1, -1 },
	{ "Hebrew text itself kept", S("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"),
	  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", NULL, -1, -1 },
	{ "U+200B zero-width space: \"prod\" and another look alike", S("prod\xe2\x80\x8b"), "prod\\u200b", NULL,
	  4, 4 },
	{ "U+200C, U+200D joiners", S("\xe2\x80\x8c\xe2\x80\x8d"), "\\u200c\\u200d", NULL, 0, 0 },
	{ "U+2060 word joiner, U+2064 invisible plus", S("\xe2\x81\xa0\xe2\x81\xa4"), "\\u2060\\u2064", NULL, 0, 0 },
	{ "U+FEFF byte order mark", S("a\xef\xbb\xbf"), "a\\ufeff", NULL, 1, 1 },
	{ "U+00AD soft hyphen", S("x\xc2\xad"), "x\\u00ad", NULL, 1, 1 },
	{ "U+3164 Hangul filler", S("\xe3\x85\xa4"), "\\u3164", NULL, 0, 0 },
	{ "U+E0041 tag character", S("ok\xf3\xa0\x81\x81"), "ok\\U000e0041", NULL, 2, 2 },
	{ "U+200A hair space is ordinary", S("\xe2\x80\x8a"), "\xe2\x80\x8a", NULL, -1, -1 },
	{ "a forged FILE:LINE line", S("rules.yaml\nfake.yaml:1:1: error: x"),
	  "rules.yaml\\nfake.yaml:1:1: error: x", NULL, 10, -1 },
};

/* A line the kernel ends with one newline (/proc/PID/comm): that newline
 * goes, every other one is part of the name and shows as \n. */
struct line_case {
	const char *what;
	const char *in;
	size_t len;
	const char *out;        /* escape_untrusted_line() */
};

static const struct line_case line_cases[] = {
	{ "the kernel's newline left out", S("nginx\n"), "nginx" },
	{ "a name ending in a newline keeps it", S("evil\n\n"), "evil\\n" },
	{ "two newlines of the name kept", S("x\n\n\n"), "x\\n\\n" },
	{ "a name that is only a newline", S("\n\n"), "\\n" },
	{ "no newline at all: nothing left out", S("nginx"), "nginx" },
	{ "empty", S(""), "" },
	{ "only the kernel's newline", S("\n"), "" },
	{ "a newline inside the name", S("a\nb\n"), "a\\nb" },
	{ "a carriage return before the newline", S("w\r\n"), "w\\r" },
	{ "control characters still escaped", S("\x1b[2J\n"), "\\x1b[2J" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];
		char *u = escape_untrusted_line(c->in, c->len);

		is_str(u, c->out, "escape_untrusted_line: %s", c->what);
		ok(escape_line_len(c->in, c->len) + (c->len && c->in[c->len - 1] == '\n') == c->len,
		   "escape_line_len: %s", c->what);
		free(u);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct esc_case *c = &cases[i];
		char *u = escape_untrusted(c->in, c->len), *d = NULL;

		is_str(u, c->untrusted, "escape_untrusted: %s", c->what);
		if (c->len == strlen(c->in)) {
			char *again;

			d = escape_display(c->in);
			is_str(d, c->display ? c->display : c->untrusted, "escape_display: %s", c->what);
			/* display escaping is idempotent: printing twice changes nothing */
			again = d ? escape_display(d) : NULL;
			is_str(again, d, "escape_display twice: %s", c->what);
			free(again);
		}
		ok(escape_first_unsafe(c->in, c->len, false, NULL) == c->unsafe, "escape_first_unsafe: %s (%ld)",
		   c->what, escape_first_unsafe(c->in, c->len, false, NULL));
		ok(escape_first_unsafe(c->in, c->len, true, NULL) == c->unsafe_lines,
		   "escape_first_unsafe, lines allowed: %s", c->what);
		/* what escaping made must itself be safe */
		if (u)
			ok(escape_first_unsafe(u, strlen(u), false, NULL) == -1, "escaped output is safe: %s", c->what);
		free(u);
		free(d);
	}
	return tap_done();
}
