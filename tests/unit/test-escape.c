/* Escaping of untrusted text for terminals and JSON. */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "util/escape.h"

static void check(const char *in, size_t len, const char *want, const char *what)
{
	char *got = escape_untrusted(in, len);

	is_str(got, want, "%s", what);
	free(got);
}

int main(void)
{
	char *d;

	check("nginx", 5, "nginx", "plain ASCII unchanged");
	check("\x1b[31mevil", 9, "\\x1b[31mevil", "ESC escaped");
	check("a\nb\tc\r", 6, "a\\nb\\tc\\r", "newline, tab, CR as C escapes");
	check("back\\slash", 10, "back\\\\slash", "backslash doubled");
	check("x\x7fy", 3, "x\\x7fy", "DEL escaped");
	check("caf\xc3\xa9", 5, "caf\xc3\xa9", "valid UTF-8 kept");
	check("\xe2\x82\xac", 3, "\xe2\x82\xac", "3-byte UTF-8 kept");
	check("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", "4-byte UTF-8 kept");
	check("\xc2\x9b" "2J", 4, "\\xc2\\x9b2J", "C1 CSI (U+009B) escaped");
	check("\xff\xfe", 2, "\\xff\\xfe", "invalid bytes escaped");
	check("\xc3", 1, "\\xc3", "truncated sequence escaped");
	check("\xc0\xaf", 2, "\\xc0\\xaf", "overlong form escaped");
	check("\xed\xa0\x80", 3, "\\xed\\xa0\\x80", "surrogate escaped");
	check("a\0b", 3, "a\\x00b", "NUL escaped");
	check("", 0, "", "empty string");

	d = escape_display("already\\x1b escaped \x1b");
	is_str(d, "already\\x1b escaped \\x1b", "display escaping keeps backslashes, escapes ESC");
	free(d);
	return tap_done();
}
