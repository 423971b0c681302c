#include "config.h"

#include "util/lines.h"

enum { EOL_NUL = 1, EOL_LF = 2, EOL_CR = 4 };

static int eol_kind(char c)
{
	switch (c) {
	case '\0': return EOL_NUL;
	case '\n': return EOL_LF;
	case '\r': return EOL_CR;
	}
	return 0;
}

void lines_init(struct lines *l, const char *buf, size_t len)
{
	l->buf = buf;
	l->len = len;
	l->pos = 0;
}

bool lines_next(struct lines *l, const char **line, size_t *n)
{
	size_t i = l->pos;
	int seen = 0, k;

	if (i >= l->len)
		return false;
	*line = l->buf + i;
	while (i < l->len && !eol_kind(l->buf[i]))
		i++;
	*n = i - l->pos;
	while (i < l->len && (k = eol_kind(l->buf[i])) && !(seen & k) && !(seen & EOL_NUL)) {
		seen |= k;
		i++;
	}
	l->pos = i;
	return true;
}
