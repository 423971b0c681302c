/* The duration parser of --sample and --interval. */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "util/duration.h"
#include "tap.h"

static void good(const char *s, uint64_t want)
{
	char why[160] = "";
	uint64_t ms = 0;
	int r = duration_parse(s, &ms, why, sizeof(why));

	if (!ok(r == 0 && ms == want, "'%s' is %llu ms", s, (unsigned long long)want))
		printf("#   got r=%d ms=%llu why=%s\n", r, (unsigned long long)ms, why);
}

/* s with control characters as \xNN, for the test's name */
static const char *shown(const char *s)
{
	static char buf[128];
	size_t o = 0;

	for (; *s && o < sizeof(buf) - 5; s++) {
		if ((unsigned char)*s < 0x20)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", (unsigned char)*s);
		else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

static void bad(const char *s, const char *want_why)
{
	char why[160] = "";
	uint64_t ms = 12345;
	int r = duration_parse(s, &ms, why, sizeof(why));

	if (!ok(r == -EINVAL && strstr(why, want_why) && ms == 12345, "'%s' refused: %s", shown(s), want_why))
		printf("#   got r=%d why=%s\n", r, why);
}

static void fmt(uint64_t ms, const char *want)
{
	char buf[32];

	duration_format(ms, buf, sizeof(buf));
	is_str(buf, want, "format %llu ms", (unsigned long long)ms);
}

int main(void)
{
	good("10s", 10000);
	good("500ms", 500);
	good("2m", 120000);
	good("1h", 3600000);
	good("30", 30000);
	good("1", 1000);
	good("1ms", 1);
	good("1h30m", 5400000);
	good("2m30s", 150000);
	good("1m500ms", 60500);
	good("1h2m3s4ms", 3723004);
	good("24h", DURATION_MAX_MS);
	good("86400", DURATION_MAX_MS);
	good("0010s", 10000);
	good("1500ms", 1500);

	bad("", "empty duration");
	bad("0", "longer than zero");
	bad("0s", "longer than zero");
	bad("0h0m", "longer than zero");
	bad("-1s", "cannot be negative");
	bad("-5", "cannot be negative");
	bad("+5s", "unexpected '+'");
	bad("1.5s", "fractions are not supported");
	bad("1,5s", "fractions are not supported");
	bad("10x", "unknown unit 'x'");
	bad("10sec", "unknown unit 'sec'");
	bad("10S", "unknown unit 'S'");
	bad("5us", "unknown unit 'us'");
	bad("s", "expected a number");
	bad("ms", "expected a number");
	bad(" 10s", "expected a number");
	bad("10 s", "unexpected character \\x20 after 10");
	bad("10s ", "expected a number after the unit");
	bad("10s5", "without a unit at the end");
	bad("1m1h", "out of order");
	bad("1s1s", "out of order");
	bad("10s\n", "expected a number after the unit");
	bad("10\x1b", "unexpected character \\x1b after 10");
	bad("10/", "unexpected '/' after 10");
	bad("24h1ms", "too long");
	bad("86401", "too long");
	bad("25h", "too long");
	bad("18446744073709551615ms", "too long");
	bad("18446744073709551616", "too long");
	bad("99999999999999999999999999h", "too long");
	bad("5124095576030431h", "too long");   /* h * 3600000 wraps 2^64 */

	fmt(500, "500ms");
	fmt(1000, "1s");
	fmt(1500, "1.5s");
	fmt(1234, "1.234s");
	fmt(120000, "2m");
	fmt(5400000, "1h30m");
	fmt(3723004, "1h2m3.004s");
	return tap_done();
}
