#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], need, min, v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		need = 1, min = 0x80, v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, min = 0x800, v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, min = 0x10000, v = c & 0x07;
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need + 1;
}

/* Code points that reorder or break the text around them when printed: the
 * bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069; "Trojan Source") and the line and paragraph separators.
 * Valid UTF-8, but never what a process name, a path or a rule's text
 * should do to a terminal. */
static bool reorders(unsigned cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Code points that print as nothing: the zero-width space and joiners,
 * the word joiner and invisible operators, the byte order mark, the soft
 * hyphen, the fillers that show as blank and the tag characters.  A
 * namespace named "prod" followed by U+200B looks like "prod". */
static bool invisible(unsigned cp)
{
	return cp == 0x00ad || cp == 0x034f || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 || cp == 0x17b5 ||
	       cp == 0x180e || (cp >= 0x200b && cp <= 0x200d) || (cp >= 0x2060 && cp <= 0x2064) ||
	       cp == 0x3164 || cp == 0xfeff || cp == 0xffa0 || (cp >= 0xe0000 && cp <= 0xe007f);
}

static char *escape_bytes(const char *str, size_t len, int keep_backslash)
{
	const unsigned char *s = (const unsigned char *)str;
	/* worst case: every byte becomes \xNN */
	char *out = malloc(len * 4 + 1), *o = out;
	static const char hex[] = "0123456789abcdef";

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);

		if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		    (cp == '\\' && !keep_backslash)) {
			/* escape the first byte only; resynchronise after it */
			unsigned char b = s[i];

			*o++ = '\\';
			switch (b) {
			case '\n': *o++ = 'n'; break;
			case '\t': *o++ = 't'; break;
			case '\r': *o++ = 'r'; break;
			case '\\': *o++ = '\\'; break;
			default:
				if (k > 1) {
					/* a C1 control as a 2-byte sequence: escape both bytes */
					*o++ = 'x';
					*o++ = hex[b >> 4];
					*o++ = hex[b & 15];
					b = s[++i];
					*o++ = '\\';
				}
				*o++ = 'x';
				*o++ = hex[b >> 4];
				*o++ = hex[b & 15];
			}
			i++;
			continue;
		}
		if (reorders(cp) || invisible(cp)) {
			/* k bytes become 6 characters (\\uXXXX) or, above U+FFFF, 4
			 * bytes 10 (\\U000XXXXX): within the worst case */
			int top = cp > 0xffff ? 28 : 12;

			*o++ = '\\';
			*o++ = cp > 0xffff ? 'U' : 'u';
			for (int sh = top; sh >= 0; sh -= 4)
				*o++ = hex[(cp >> sh) & 15];
			i += k;
			continue;
		}
		memcpy(o, s + i, k);
		o += k;
		i += k;
	}
	*o = '\0';
	return out;
}

bool escape_invisible_at(const char *str, size_t len)
{
	unsigned cp;

	return utf8_seq((const unsigned char *)str, len, &cp) > 0 && invisible(cp);
}

long escape_first_unsafe(const char *str, size_t len, bool allow_lines, size_t *clen)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);

		if (k == 0 || reorders(cp) || invisible(cp) || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		    (cp < 0x20 && !(allow_lines && (cp == '\n' || cp == '\t')))) {
			if (clen)
				*clen = k ? k : 1;
			return (long)i;
		}
		i += k;
	}
	return -1;
}

char *escape_untrusted(const char *s, size_t len)
{
	return escape_bytes(s, len, 0);
}

char *escape_untrusted_str(const char *s)
{
	return escape_bytes(s, strlen(s), 0);
}

size_t escape_line_len(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == '\n' ? len - 1 : len;
}

char *escape_untrusted_line(const char *s, size_t len)
{
	return escape_bytes(s, escape_line_len(s, len), 0);
}

char *escape_display(const char *s)
{
	return escape_bytes(s, strlen(s), 1);
}

void fputs_safe(const char *s, FILE *f)
{
	char *e = escape_display(s);

	fputs(e ? e : "?", f);
	free(e);
}
