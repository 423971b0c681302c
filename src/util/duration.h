/* Durations on the command line: "10s", "500ms", "2m", "1h", "1m30s", or a
 * plain number of seconds ("30"). */
#ifndef NK_DURATION_H
#define NK_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted: 24 hours. */
#define DURATION_MAX_MS (24ULL * 3600 * 1000)

/* Parse s into milliseconds.  Accepted: one or more NUMBER UNIT parts with
 * the units h, m, s and ms each at most once and from the largest down
 * ("1h30m", "2m500ms"), or a plain NUMBER of seconds.  NUMBER is decimal
 * digits only (no sign, no fraction, no blanks).  Zero and anything above
 * DURATION_MAX_MS are refused.  Returns 0, or -EINVAL with a message in why
 * (size whylen) that does not repeat the input. */
int duration_parse(const char *s, uint64_t *ms, char *why, size_t whylen);

/* Format ms for people: "500ms", "10s", "2m", "1h30m", "1m2.5s".  buf
 * should hold 32 bytes. */
void duration_format(uint64_t ms, char *buf, size_t len);

#endif
