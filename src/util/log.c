#include "config.h"

#include <stdio.h>

#include "util/log.h"

const char *program_name = "netknobs";
static int quiet;

void log_quiet(int on)
{
	quiet = on;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	if (quiet)
		return;
	fprintf(stderr, "%s: %s: ", program_name, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning", fmt, ap);
	va_end(ap);
}

void log_syntax(const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	if (line && col)
		fprintf(stderr, "%s:%u:%u: error: ", file, line, col);
	else if (line)
		fprintf(stderr, "%s:%u: error: ", file, line);
	else
		fprintf(stderr, "%s: error: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
