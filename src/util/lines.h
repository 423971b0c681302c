/* Text split into lines as systemd reads its configuration files
 * (read_line() in systemd's fileio.c), so that netknobs sees the lines and
 * line numbers systemd-sysctl sees: a line ends at "\n", "\r" or NUL, or
 * at a run of them in which each occurs once at most and nothing follows a
 * NUL ("\r\n", "\n\r" and "\r\n\0" are one line end each; "\n\n" ends a
 * line and an empty one), or at the end of the text. */
#ifndef NK_LINES_H
#define NK_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct lines {
	const char *buf;
	size_t len, pos;
};

void lines_init(struct lines *l, const char *buf, size_t len);

/* The next line: *line and *n its start and length, without its end.
 * false after the last line (an empty text has none). */
bool lines_next(struct lines *l, const char **line, size_t *n);

#endif
