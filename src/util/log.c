#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/log.h"

const char *program_name = "netknobs";
static int quiet;
static char last_error[512];

const char *log_last_error(void)
{
	return last_error;
}

void log_quiet(int on)
{
	quiet = on;
}

/* The message as it may reach a terminal: whatever its parts echo (a key, a
 * file name, a parser's "near '...'") is escaped here, once for every
 * message, so that no caller can forget it.  Already escaped parts stay as
 * they are (backslashes are kept).  NULL when out of memory. */
static char *format_safe(const char *fmt, va_list ap)
{
	char *raw, *safe;

	if (vasprintf(&raw, fmt, ap) < 0)
		return NULL;
	safe = escape_display(raw);
	free(raw);
	return safe;
}

static void emit(const char *prefix, const char *level, const char *msg)
{
	if (quiet)
		return;
	fprintf(stderr, "%s%s: %s\n", prefix, level, msg ? msg : "(out of memory)");
}

void log_error(const char *fmt, ...)
{
	char *msg, prefix[64];
	va_list ap;

	va_start(ap, fmt);
	msg = format_safe(fmt, ap);
	va_end(ap);
	/* the last error is kept without the program name (nagios) */
	snprintf(last_error, sizeof(last_error), "%s", msg ? msg : "(out of memory)");
	snprintf(prefix, sizeof(prefix), "%s: ", program_name);
	emit(prefix, "error", msg);
	free(msg);
}

void log_warn(const char *fmt, ...)
{
	char *msg, prefix[64];
	va_list ap;

	va_start(ap, fmt);
	msg = format_safe(fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "%s: ", program_name);
	emit(prefix, "warning", msg);
	free(msg);
}

void log_syntax(const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	char *msg, *name = escape_display(file ? file : "?"), where[64], *prefix = NULL;
	va_list ap;

	if (quiet) {
		free(name);
		return;
	}
	va_start(ap, fmt);
	msg = format_safe(fmt, ap);
	va_end(ap);
	/* a newline in a file name must not start a line of its own */
	if (line && col)
		snprintf(where, sizeof(where), ":%u:%u", line, col);
	else if (line)
		snprintf(where, sizeof(where), ":%u", line);
	else
		where[0] = '\0';
	if (asprintf(&prefix, "%s%s: ", name ? name : "?", where) < 0)
		prefix = NULL;
	snprintf(last_error, sizeof(last_error), "%s%s", prefix ? prefix : "", msg ? msg : "(out of memory)");
	emit(prefix ? prefix : "", "error", msg);
	free(prefix);
	free(name);
	free(msg);
}
