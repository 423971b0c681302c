#include "config.h"

#include <stdio.h>
#include <string.h>

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
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
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
	{
		int k = line && col ? snprintf(last_error, sizeof(last_error), "%s:%u:%u: ", file, line, col)
			: line ? snprintf(last_error, sizeof(last_error), "%s:%u: ", file, line)
			       : snprintf(last_error, sizeof(last_error), "%s: ", file);

		if (k < 0 || (size_t)k >= sizeof(last_error))
			k = 0;
		va_start(ap, fmt);
		vsnprintf(last_error + k, sizeof(last_error) - (size_t)k, fmt, ap);
		va_end(ap);
	}
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
