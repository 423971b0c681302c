/* Diagnostics on stderr.  Functions that can fail return 0 or a negative
 * errno; they log once where the file and line are known and pass the code
 * up.  Exit codes are decided in main.c only. */
#ifndef NK_LOG_H
#define NK_LOG_H

#include <stdarg.h>

#define NK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "netknobs: error: ..." */
void log_error(const char *fmt, ...) NK_PRINTF(1, 2);
/* "netknobs: warning: ..." */
void log_warn(const char *fmt, ...) NK_PRINTF(1, 2);
/* "FILE:LINE:COL: error: ..." (gcc style; line/col 0 are left out) */
void log_syntax(const char *file, unsigned line, unsigned col, const char *fmt, ...)
	NK_PRINTF(4, 5);

extern const char *program_name;

/* The message of the last log_error() or log_syntax() ("" before any), for
 * formats that must say why on standard output (nagios). */
const char *log_last_error(void);

/* While on, nothing is printed (for loading something only to look names
 * up in it). */
void log_quiet(int on);

#endif
