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
