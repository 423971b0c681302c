#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/wrap.h"

void print_wrapped(FILE *out, const char *indent, const char *label, const char *text)
{
	char *t = strdup(text), *p, *save = NULL;
	size_t start = strlen(indent) + strlen(label), col = start;

	if (!t)
		return;
	fprintf(out, "%s%s", indent, label);
	/* split first, escape each word: line breaks in the text become
	 * spaces, other control characters are escaped */
	for (p = strtok_r(t, " \n\t", &save); p; p = strtok_r(NULL, " \n\t", &save)) {
		char *w = escape_display(p);
		size_t wl;

		if (!w)
			break;
		wl = strlen(w);
		if (col > start && col + wl + 1 > 78) {
			fprintf(out, "\n%*s", (int)start, "");
			col = start;
		} else if (col > start) {
			fputc(' ', out);
			col++;
		}
		fputs(w, out);
		col += wl;
		free(w);
	}
	fputc('\n', out);
	free(t);
}

size_t text_columns(const char *s)
{
	size_t cols = 0;

	for (; *s; s++)
		cols += ((unsigned char)*s & 0xc0) != 0x80;
	return cols;
}

void text_cell(const char *s, size_t width, bool cut, char *buf, size_t len)
{
	size_t cols = text_columns(s), n = strlen(s), keep = 0, c = 0;

	buf[0] = '\0';
	if (width == 0)
		return;
	if (cut && cols > width && width > 3) {
		/* width - 3 characters, then "..."; not inside a character */
		for (size_t i = 0; i < n && c < width - 3; i++) {
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				c++;
			keep = i + 1;
		}
		while (keep < n && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep++;
		snprintf(buf, len, "%.*s... ", (int)keep, s);
		return;
	}
	snprintf(buf, len, "%s%*s ", s, cols < width ? (int)(width - cols) : 0, "");
}
