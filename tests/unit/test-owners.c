/* The parsers of the owner lookup: /proc/PID/stat (state and start),
 * /proc/stat's btime and the fdinfo of an epoll descriptor; table-driven. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "facts/sockets.h"
#include "tap.h"

/* the fields after the name of a real stat line (a sleeping nginx worker),
 * starttime 869491 */
#define TAIL " 29796 29796 29796 0 -1 4194624 216 0 0 0 0 0 0 0 20 0 1 0 869491 " \
	"12255232 999 18446744073709551615 94573615456256 94573616239729 0 0 0 0 0 17 0 0 0\n"

static void test_stat(void)
{
	static const struct {
		const char *line;
		int ret;
		char state;
		unsigned long long start;
		const char *what;
	} cases[] = {
		{ "29797 (nginx) S" TAIL, 0, 'S', 869491, "plain name" },
		{ "29797 (nginx) T" TAIL, 0, 'T', 869491, "stopped" },
		{ "7 (my worker) D" TAIL, 0, 'D', 869491, "blank in the name" },
		{ "7 (a) b) c) R" TAIL, 0, 'R', 869491, "')' in the name: the last one ends it" },
		{ "7 ()) ) t" TAIL, 0, 't', 869491, "name of ') ' only" },
		{ "7 (x) S 1) Z" TAIL, 0, 'Z', 869491, "a name that looks like stat fields" },
		{ "7 () I" TAIL, 0, 'I', 869491, "empty name" },
		{ "7 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 12 0 0 20 0 1 0 17 0 0 "
		  "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
		  0, 'I', 17, "kernel thread, no newline at the end" },
		{ "7 (n) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551615 0", 0, 'S',
		  18446744073709551615ULL, "starttime at 2^64-1" },
		{ "7 (n) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616 0", -EINVAL, 0, 0,
		  "starttime above 2^64-1" },
		{ "7 (n) Q" TAIL, -EINVAL, 0, 0, "unknown state letter" },
		{ "7 (n)S" TAIL, -EINVAL, 0, 0, "no blank after the name" },
		{ "7 (n) S 1 1 1", -EINVAL, 0, 0, "cut before starttime" },
		{ "7 (n) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ", -EINVAL, 0, 0, "starttime empty" },
		{ "7 (n) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12x 0", -EINVAL, 0, 0, "starttime not a number" },
		{ "7 n S" TAIL, -EINVAL, 0, 0, "no parentheses" },
		{ "7 (n S" TAIL, -EINVAL, 0, 0, "no closing parenthesis" },
		{ "", -EINVAL, 0, 0, "empty" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char state = 0;
		unsigned long long start = 0;
		int r = owners_parse_stat(cases[i].line, strlen(cases[i].line), &state, &start);

		is_int(r, cases[i].ret, "stat: %s: result", cases[i].what);
		if (cases[i].ret == 0 && r == 0) {
			is_int(state, cases[i].state, "stat: %s: state", cases[i].what);
			ok(start == cases[i].start, "stat: %s: starttime %llu", cases[i].what, start);
		}
	}
	/* the length is honoured: a line cut in the middle of starttime */
	{
		const char *l = "7 (n) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 869491 0";
		char state;
		unsigned long long start = 0;

		is_int(owners_parse_stat(l, strlen(l) - 5, &state, &start), 0, "stat: length honoured");
		ok(start == 869, "stat: starttime read up to the length (%llu)", start);
	}
}

static void test_state_names(void)
{
	static const struct {
		char letter;
		const char *name;
	} cases[] = {
		{ 'R', "running" }, { 'S', "sleeping" }, { 'D', "disk-sleep" }, { 'T', "stopped" },
		{ 't', "tracing-stop" }, { 'Z', "zombie" }, { 'X', "dead" }, { 'x', "dead" },
		{ 'I', "idle" }, { 'P', "parked" }, { 'K', "wakekill" }, { 'W', "waking" },
		{ 'Q', NULL }, { 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(owners_state_name(cases[i].letter), cases[i].name, "state '%c'",
		       cases[i].letter ? cases[i].letter : '0');
}

static void test_btime(void)
{
	static const struct {
		const char *text;
		int ret;
		long long btime;
	} cases[] = {
		{ "cpu  1 2 3\nintr 1 2 3\nctxt 5\nbtime 1796000000\nprocesses 9\n", 0, 1796000000 },
		{ "btime 1\n", 0, 1 },
		{ "btime 42", 0, 42 },
		{ "xbtime 5\nbtime 7\n", 0, 7 },
		{ "cpu 1\n", -EINVAL, 0 },
		{ "btime \n", -EINVAL, 0 },
		{ "btime -5\n", -EINVAL, 0 },
		{ "btime 12a\n", -EINVAL, 0 },
		{ "btime 99999999999999999999999\n", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long b = 0;

		is_int(owners_parse_btime(cases[i].text, &b), cases[i].ret, "btime case %zu: result", i);
		if (cases[i].ret == 0)
			is_int(b, cases[i].btime, "btime case %zu: value", i);
	}
}

struct targets {
	char text[256];
	size_t len;
};

static void on_target(uint64_t ino, int tfd, void *data)
{
	struct targets *t = data;
	int n = snprintf(t->text + t->len, sizeof(t->text) - t->len, "%llx/%d ",
			 (unsigned long long)ino, tfd);

	if (n > 0 && (size_t)n < sizeof(t->text) - t->len)
		t->len += (size_t)n;
}

static void test_epoll(void)
{
	static const struct {
		const char *text;
		const char *want;
		size_t consumed;        /* 0: all of it */
		const char *what;
	} cases[] = {
		{ "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
		  "tfd:        5 events:     2019 data:     7f92b1adb010  pos:0 ino:d431 sdev:9\n"
		  "tfd:       12 events: 80000019 data:     55b54739e340  pos:0 ino:1a sdev:10\n",
		  "d431/5 1a/12 ", 0, "Linux 6.x lines; the header's ino: is not a target" },
		{ "tfd:        7 events:       19 data:                7\n", "0/7 ", 0,
		  "an old kernel without ino:" },
		{ "tfd:        7 events: 19 data: 7  pos:0 ino:zz sdev:9\n", "0/7 ", 0,
		  "ino: not a number: the descriptor is used" },
		{ "tfd: 3 events: 19 data: 7  pos:0 ino:ffffffffffffffff sdev:9\n", "ffffffffffffffff/3 ", 0,
		  "ino at 2^64-1" },
		{ "tfd: 3 events: 19 data: 7  pos:0 ino:10000000000000000 sdev:9\n", "0/3 ", 0,
		  "ino above 2^64-1: the descriptor is used" },
		{ "tfd: 99999999999 events: 19 data: 7  pos:0 ino:5 sdev:9\n", "", 0,
		  "descriptor out of range: skipped" },
		{ "tfd: x events: 19\n", "", 0, "descriptor not a number: skipped" },
		{ "tfd:        5 events:     2019 data:     7f92b1adb010  pos:0 ino:d431 sdev:9\ntfd:   6 ev",
		  "d431/5 ", 77, "a partial last line is left for the next read" },
		{ "", "", 0, "empty" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct targets t = { .len = 0 };
		size_t len = strlen(cases[i].text);
		size_t used = owners_parse_epoll(cases[i].text, len, on_target, &t);

		is_str(t.text, cases[i].want, "epoll: %s: targets", cases[i].what);
		is_int(used, cases[i].consumed ? cases[i].consumed : len, "epoll: %s: consumed",
		       cases[i].what);
	}
}

int main(void)
{
	test_stat();
	test_state_names();
	test_btime();
	test_epoll();
	return tap_done();
}
