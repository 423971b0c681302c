/* Time stamps as netknobs writes them in its documents: UTC, RFC 3339 to
 * the second ("2026-11-25T12:00:00Z"). */
#ifndef NK_TIMESTAMP_H
#define NK_TIMESTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define TIMESTAMP_LEN 21   /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Parse "YYYY-MM-DDTHH:MM:SSZ" (nothing before or after).  Returns true and
 * sets *t, or false (s NULL or malformed). */
bool timestamp_parse(const char *s, time_t *t);

/* Format t into buf (at least TIMESTAMP_LEN bytes). */
void timestamp_format(time_t t, char *buf, size_t len);

#endif
