/* The line splitter the sysctl.d reader and the drop-in share: lines end
 * as in systemd's read_line(). */
#include "config.h"

#include <string.h>

#include "util/lines.h"
#include "tap.h"

struct lcase {
	const char *name;
	const char *text;
	size_t len;             /* 0: strlen(text) */
	const char *want;       /* the lines joined by '|' */
};

static const struct lcase cases[] = {
	{ "empty text: no line", "", 0, "" },
	{ "one line without an end", "a", 0, "a" },
	{ "LF", "a\nb\n", 0, "a|b" },
	{ "CR only", "a\rb\r", 0, "a|b" },
	{ "CR LF is one end", "a\r\nb\r\n", 0, "a|b" },
	{ "LF CR is one end too", "a\n\rb\n", 0, "a|b" },
	{ "LF LF: an empty line", "a\n\nb", 0, "a||b" },
	{ "CR CR: an empty line", "a\r\rb", 0, "a||b" },
	{ "CR LF CR: one end, then an empty line", "a\r\n\rb", 0, "a||b" },
	{ "NUL ends a line", "a\0b", 3, "a|b" },
	{ "CR LF NUL is one end", "a\r\n\0b", 5, "a|b" },
	{ "nothing is part of an end after a NUL", "a\0\nb", 4, "a||b" },
	{ "an empty line at the start", "\na", 0, "|a" },
	{ "blank lines kept as they are", " \t\n x ", 0, " \t| x " },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lcase *c = &cases[i];
		struct lines ls;
		const char *line;
		char got[256] = "";
		size_t n, o = 0;
		bool first = true;

		lines_init(&ls, c->text, c->len ? c->len : strlen(c->text));
		while (lines_next(&ls, &line, &n) && o + n + 2 < sizeof(got)) {
			if (!first)
				got[o++] = '|';
			memcpy(got + o, line, n);
			o += n;
			got[o] = '\0';
			first = false;
		}
		is_str(got, c->want, "%s", c->name);
	}
	return tap_done();
}
