/* Text that comes from the system (process names, paths, addresses, file
 * contents) is untrusted: it may hold terminal control sequences or invalid
 * UTF-8.  These functions make it safe to print and to put in JSON. */
#ifndef NK_ESCAPE_H
#define NK_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Return a newly allocated copy of the first len bytes of s in which every
 * control character (C0, DEL, C1), every backslash and every byte that is not
 * part of valid UTF-8 is written as a C escape (\n, \t, \\, \xNN), and every
 * code point that reorders the text around it (bidirectional controls such
 * as U+202E, line and paragraph separators) or prints as nothing (U+200B,
 * U+FEFF, the tag characters ...) as \uXXXX (\U000XXXXX above U+FFFF).
 * The result is valid UTF-8 without control characters.  NULL only when out
 * of memory. */
char *escape_untrusted(const char *s, size_t len);

/* The same for a NUL-terminated string. */
char *escape_untrusted_str(const char *s);

/* The length of a line the kernel ends with one newline (/proc/PID/comm):
 * that newline is not part of the text and is left out; a newline before
 * it is (a process may name itself "worker\n") and is kept, for the
 * functions above to show as \n. */
size_t escape_line_len(const char *s, size_t len);

/* escape_untrusted() of such a line without its terminating newline. */
char *escape_untrusted_line(const char *s, size_t len);

/* For display of text already escaped once (facts documents may come from
 * elsewhere): control characters and invalid UTF-8 are escaped, backslashes
 * are left as they are.  NULL only when out of memory. */
char *escape_display(const char *s);

/* The byte offset of the first character of s that the functions above
 * would escape other than a backslash (a control character, a code point
 * that reorders the text or prints as nothing, invalid UTF-8), or -1 when
 * there is none.  With
 * allow_lines, newlines and tabs are allowed.  *clen (when clen is not NULL)
 * is set to the length in bytes of that character.  For checking text that
 * will be printed (a rule's title) where it is written, after YAML's
 * unescaping. */
long escape_first_unsafe(const char *s, size_t len, bool allow_lines, size_t *clen);

/* Whether the character at s (of len bytes) is one of those that print as
 * nothing (U+200B ...), which the functions above escape. */
bool escape_invisible_at(const char *s, size_t len);

/* fputs() through escape_display(). */
void fputs_safe(const char *s, FILE *f);

#endif
