#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/wrap.h"

void print_wrapped(FILE *out, const char *indent, const char *label, const char *text)
{
	char *t = escape_display(text), *p, *save = NULL;
	size_t start = strlen(indent) + strlen(label), col = start;

	if (!t)
		return;
	fprintf(out, "%s%s", indent, label);
	for (p = strtok_r(t, " \n", &save); p; p = strtok_r(NULL, " \n", &save)) {
		size_t wl = strlen(p);

		if (col > start && col + wl + 1 > 78) {
			fprintf(out, "\n%*s", (int)start, "");
			col = start;
		} else if (col > start) {
			fputc(' ', out);
			col++;
		}
		fputs(p, out);
		col += wl;
	}
	fputc('\n', out);
	free(t);
}
