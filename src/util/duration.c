#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/duration.h"

#define WHY(...)                                        \
	do {                                            \
		snprintf(why, whylen, __VA_ARGS__);     \
		return -EINVAL;                         \
	} while (0)

static const struct unit {
	const char *name;
	uint64_t ms;
} units[] = {
	{ "h", 3600 * 1000 },
	{ "m", 60 * 1000 },
	{ "s", 1000 },
	{ "ms", 1 },
};

int duration_parse(const char *s, uint64_t *ms, char *why, size_t whylen)
{
	uint64_t total = 0;
	size_t next_unit = 0;   /* units must come from the largest down */
	const char *p = s;
	bool too_big = false;

	if (!s || !*s)
		WHY("empty duration (write it as 10s, 500ms, 2m or 1h)");
	while (*p) {
		uint64_t n = 0;
		const char *digits = p;
		size_t ulen, u;
		int ndig;

		if (*p == '-')
			WHY("a duration cannot be negative");
		if (*p == '+')
			WHY("unexpected '+' (write it as 10s, 500ms, 2m or 1h)");
		if (*p < '0' || *p > '9')
			WHY("expected a number%s (write it as 10s, 500ms, 2m or 1h)",
			    p == s ? "" : " after the unit");
		while (*p >= '0' && *p <= '9') {
			if (n > (UINT64_MAX - 9) / 10)
				too_big = true;
			else
				n = n * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (*p == '.' || *p == ',')
			WHY("fractions are not supported: use a smaller unit (1500ms, not 1.5s)");
		ndig = p - digits > 20 ? 20 : (int)(p - digits);
		ulen = 0;
		while ((p[ulen] >= 'a' && p[ulen] <= 'z') || (p[ulen] >= 'A' && p[ulen] <= 'Z'))
			ulen++;
		if (ulen == 0) {
			if (*p && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
				WHY("unexpected '%c' after %.*s", *p, ndig, digits);
			if (*p)
				WHY("unexpected character \\x%02x after %.*s", (unsigned char)*p,
				    ndig, digits);
			if (digits != s)
				WHY("a number without a unit at the end (%.*s): add h, m, s or ms",
				    ndig, digits);
			u = 2;          /* a plain number: seconds */
		} else {
			for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
				if (strlen(units[u].name) == ulen && !strncmp(p, units[u].name, ulen))
					break;
			if (u == sizeof(units) / sizeof(units[0]))
				/* letters only: safe to print */
				WHY("unknown unit '%.*s' (known: h, m, s, ms)", (int)(ulen > 8 ? 8 : ulen), p);
			if (u < next_unit)
				WHY("unit '%s' out of order: write the largest first, each once (1h30m, 2m30s)",
				    units[u].name);
			p += ulen;
		}
		next_unit = u + 1;
		if (too_big || (n && units[u].ms > UINT64_MAX / n) ||
		    total > UINT64_MAX - n * units[u].ms)
			too_big = true;
		else
			total += n * units[u].ms;
	}
	if (too_big || total > DURATION_MAX_MS)
		WHY("too long (the limit is 24h)");
	if (total == 0)
		WHY("a duration must be longer than zero");
	*ms = total;
	return 0;
}

void duration_format(uint64_t ms, char *buf, size_t len)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, r = ms % 1000;
	size_t off = 0;
	int n;

	buf[0] = '\0';
	if (ms < 1000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return;
	}
	if (h) {
		n = snprintf(buf + off, len - off, "%lluh", (unsigned long long)h);
		off += n > 0 && (size_t)n < len - off ? (size_t)n : 0;
	}
	if (m) {
		n = snprintf(buf + off, len - off, "%llum", (unsigned long long)m);
		off += n > 0 && (size_t)n < len - off ? (size_t)n : 0;
	}
	if (s || r) {
		if (r % 100 == 0)
			snprintf(buf + off, len - off, r ? "%llu.%llus" : "%llus",
				 (unsigned long long)s, (unsigned long long)(r / 100));
		else
			snprintf(buf + off, len - off, "%llu.%03llus", (unsigned long long)s,
				 (unsigned long long)r);
	}
}
