/* Counter parsers on kernel layouts and malformed files; the collector on
 * fixture roots. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facts/counters.h"
#include "facts/facts.h"
#include "util/fileio.h"
#include "tap.h"

#define ABSENT LLONG_MIN

static const char *fixtures;

static char *slurp(const char *rel)
{
	char path[PATH_MAX], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/proc-net/%s", fixtures, rel);
	f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* out[a][b] as an integer, ABSENT when missing or not an integer */
static long long iv(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(json_object_get(o, a), b);

	return json_is_integer(v) ? (long long)json_integer_value(v) : ABSENT;
}

static const char *sv(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* softnet.cpus[i][key] */
static long long cpu_v(const json_t *sn, size_t i, const char *key)
{
	const json_t *v = json_object_get(json_array_get(json_object_get(sn, "cpus"), i), key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : ABSENT;
}

static long long total_v(const json_t *sn, const char *key)
{
	return iv(sn, "total", key);
}

static bool has(const char *haystack, const char *needle)
{
	bool found = haystack && strstr(haystack, needle);

	if (!found)
		printf("#   \"%s\" not in \"%s\"\n", needle, haystack ? haystack : "(null)");
	return found;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Number of names on the first line of a fixture ("Prefix: a b c"). */
static size_t header_names(const char *text)
{
	size_t n = 0;
	const char *p = strchr(text, ':');

	for (; p && *p && *p != '\n'; p++)
		if (*p == ' ' && p[1] != ' ' && p[1] != '\n' && p[1])
			n++;
	return n;
}

typedef int (*parser)(const char *, json_t *, char *, size_t);

/* Parse one fixture into out; returns the parser's result. */
static int parse_into(parser fn, const char *rel, json_t *out, char *err, size_t errlen)
{
	char *text = slurp(rel);
	int r = fn(text, out, err, errlen);

	free(text);
	return r;
}

static json_t *softnet(const char *rel, char *err, size_t errlen)
{
	char *text = slurp(rel);
	json_t *sn = counters_parse_softnet(text, err, errlen);

	free(text);
	return sn;
}

static void test_linux_4_19(void)
{
	json_t *c = json_object(), *s = json_object();
	char err[512], *text;

	is_int(parse_into(counters_parse_netstat, "linux-4.19/netstat", c, err, sizeof(err)), 0,
	       "4.19 netstat parses");
	is_int(parse_into(counters_parse_netstat, "linux-4.19/snmp", c, err, sizeof(err)), 0,
	       "4.19 snmp parses into the same object");
	is_int(iv(c, "TcpExt", "ListenOverflows"), 87, "4.19 TcpExt.ListenOverflows");
	is_int(iv(c, "TcpExt", "ListenDrops"), 91, "4.19 TcpExt.ListenDrops");
	is_int(iv(c, "TcpExt", "TCPReqQFullDoCookies"), 412, "4.19 TcpExt.TCPReqQFullDoCookies");
	is_int(iv(c, "TcpExt", "TCPReqQFullDrop"), 0, "4.19 TcpExt.TCPReqQFullDrop is 0, not absent");
	ok(!json_object_get(json_object_get(c, "TcpExt"), "TcpTimeoutRehash"),
	   "4.19 has no TcpTimeoutRehash");
	ok(!json_object_get(c, "MPTcpExt"), "4.19 has no MPTcpExt");
	text = slurp("linux-4.19/netstat");
	is_int(json_object_size(json_object_get(c, "TcpExt")), header_names(text),
	       "4.19 TcpExt holds every name of the header");
	free(text);
	is_int(iv(c, "IpExt", "InOctets"), 88172634511LL, "4.19 IpExt.InOctets (above 32 bits)");
	is_int(iv(c, "Tcp", "MaxConn"), -1, "snmp Tcp.MaxConn -1 is kept negative");
	is_int(iv(c, "Tcp", "PassiveOpens"), 183224, "4.19 Tcp.PassiveOpens");
	is_int(iv(c, "Ip", "Forwarding"), 2, "4.19 Ip.Forwarding");
	is_int(iv(c, "IcmpMsg", "InType3"), 112, "4.19 IcmpMsg.InType3");
	is_int(json_object_size(c), 8, "4.19: TcpExt IpExt Ip Icmp IcmpMsg Tcp Udp UdpLite");

	is_int(parse_into(counters_parse_snmp6, "linux-4.19/snmp6", c, err, sizeof(err)), 0,
	       "4.19 snmp6 parses");
	is_int(iv(c, "Ip6", "InReceives"), 48213, "4.19 Ip6.InReceives");
	is_int(parse_into(counters_parse_sockstat, "linux-4.19/sockstat", s, err, sizeof(err)), 0,
	       "4.19 sockstat parses");
	is_int(parse_into(counters_parse_sockstat, "linux-4.19/sockstat6", s, err, sizeof(err)), 0,
	       "4.19 sockstat6 merges");
	is_int(iv(s, "TCP", "tw"), 117, "4.19 sockstat.TCP.tw");
	is_int(iv(s, "RAW6", "inuse"), 1, "4.19 sockstat.RAW6.inuse");
	json_decref(c);
	json_decref(s);
}

static void test_linux_6_1(void)
{
	json_t *c = json_object(), *s = json_object();
	char err[512];

	is_int(parse_into(counters_parse_netstat, "linux-6.1/netstat", c, err, sizeof(err)), 0,
	       "6.1 netstat parses");
	is_int(parse_into(counters_parse_netstat, "linux-6.1/snmp", c, err, sizeof(err)), 0,
	       "6.1 snmp parses");
	is_int(parse_into(counters_parse_snmp6, "linux-6.1/snmp6", c, err, sizeof(err)), 0,
	       "6.1 snmp6 parses");
	is_int(iv(c, "TcpExt", "ListenOverflows"), 1523, "6.1 TcpExt.ListenOverflows");
	is_int(iv(c, "TcpExt", "ListenDrops"), 1530, "6.1 TcpExt.ListenDrops");
	is_int(iv(c, "TcpExt", "TCPReqQFullDrop"), 17, "6.1 TcpExt.TCPReqQFullDrop");
	is_int(iv(c, "TcpExt", "TCPReqQFullDoCookies"), 5120, "6.1 TcpExt.TCPReqQFullDoCookies");
	is_int(iv(c, "MPTcpExt", "MPCapableSYNRX"), 5, "6.1 MPTcpExt.MPCapableSYNRX");
	is_int(iv(c, "IpExt", "InOctets"), 9876543210987LL, "6.1 IpExt.InOctets");
	is_int(iv(c, "IcmpMsg", "InType3"), 2781, "IcmpMsg from the first pair");
	is_int(iv(c, "IcmpMsg", "OutType30"), 6, "IcmpMsg from the second pair");
	is_int(json_object_size(json_object_get(c, "IcmpMsg")), 22, "IcmpMsg pairs merged");
	is_int(iv(c, "Ip6", "InReceives"), 123, "Ip6InReceives -> Ip6.InReceives");
	is_str(sv(c, "Ip6", "OutOctets"), "18446744073709551615",
	       "a u64 above INT64_MAX is kept as a decimal string");
	is_int(iv(c, "UdpLite6", "InDatagrams"), 0, "UdpLite6InDatagrams -> UdpLite6.InDatagrams");
	ok(json_object_get(json_object_get(c, "Icmp6"), "InType135") != NULL,
	   "Icmp6InType135 -> Icmp6.InType135");
	ok(json_object_get(c, "Ip6") && json_object_get(c, "Icmp6") && json_object_get(c, "Udp6") &&
		   json_object_get(c, "UdpLite6") && json_object_size(c) == 13,
	   "snmp6 prefixes are Ip6 Icmp6 Udp6 UdpLite6 (13 prefixes in all)");

	is_int(parse_into(counters_parse_sockstat, "linux-6.1/sockstat", s, err, sizeof(err)), 0,
	       "6.1 sockstat parses");
	is_int(parse_into(counters_parse_sockstat, "linux-6.1/sockstat6", s, err, sizeof(err)), 0,
	       "6.1 sockstat6 parses");
	is_int(iv(s, "sockets", "used"), 9, "sockstat.sockets.used");
	is_int(iv(s, "TCP", "inuse"), 1, "sockstat.TCP.inuse");
	is_int(iv(s, "TCP", "mem"), 258, "sockstat.TCP.mem");
	is_int(iv(s, "FRAG", "memory"), 0, "sockstat.FRAG.memory");
	is_int(iv(s, "TCP6", "inuse"), 3, "sockstat.TCP6.inuse (from sockstat6)");

	/* The same file again: its prefixes are already there. */
	is_int(parse_into(counters_parse_netstat, "linux-6.1/netstat", c, err, sizeof(err)),
	       -EINVAL, "a prefix read twice is a problem");
	ok(has(err, "already read"), "... and says so");
	is_int(iv(c, "TcpExt", "ListenOverflows"), 1523, "... and the first values stay");
	json_decref(c);
	json_decref(s);
}

static void test_live_copy(void)
{
	json_t *c = json_object(), *s = json_object(), *sn;
	char err[512];

	is_int(parse_into(counters_parse_netstat, "linux-6.18/netstat", c, err, sizeof(err)), 0,
	       "6.18 netstat parses");
	is_int(parse_into(counters_parse_netstat, "linux-6.18/snmp", c, err, sizeof(err)), 0,
	       "6.18 snmp parses");
	is_int(parse_into(counters_parse_snmp6, "linux-6.18/snmp6", c, err, sizeof(err)), 0,
	       "6.18 snmp6 parses");
	is_int(parse_into(counters_parse_sockstat, "linux-6.18/sockstat", s, err, sizeof(err)) |
		       parse_into(counters_parse_sockstat, "linux-6.18/sockstat6", s, err,
				  sizeof(err)),
	       0, "6.18 sockstat and sockstat6 parse");
	ok(iv(c, "TcpExt", "ListenOverflows") >= 0, "6.18 TcpExt.ListenOverflows present");
	ok(iv(c, "Ip", "OutTransmits") >= 0, "6.18 Ip.OutTransmits present");
	ok(iv(c, "MPTcpExt", "MPCapableSYNRX") >= 0, "6.18 MPTcpExt present");
	sn = softnet("linux-6.18/softnet_stat", err, sizeof(err));
	is_int(json_integer_value(json_object_get(sn, "columns")), 15,
	       "6.18 softnet_stat has 15 columns");
	is_int(cpu_v(sn, 1, "cpu"), 1, "6.18 softnet_stat cpu id of the second row");
	json_decref(sn);
	json_decref(c);
	json_decref(s);
}

static void test_softnet_layouts(void)
{
	char err[256];
	json_t *sn;

	sn = softnet("softnet/9col-2.6.32", err, sizeof(err));
	ok(sn != NULL, "9 columns parse");
	is_int(json_integer_value(json_object_get(sn, "columns")), 9, "columns == 9");
	is_int(cpu_v(sn, 1, "cpu"), 1, "9 columns: cpu is the row index");
	is_int(cpu_v(sn, 0, "time_squeeze"), 3, "9 columns: time_squeeze");
	is_int(cpu_v(sn, 0, "received_rps"), ABSENT, "9 columns: no received_rps");
	is_int(total_v(sn, "processed"), 0x0a1b2c3dLL + 0x00ff00ffLL, "9 columns: total.processed");
	is_int(total_v(sn, "received_rps"), ABSENT, "9 columns: no total.received_rps");
	json_decref(sn);

	sn = softnet("softnet/10col-3.10", err, sizeof(err));
	is_int(json_integer_value(json_object_get(sn, "columns")), 10, "columns == 10");
	is_int(cpu_v(sn, 0, "dropped"), 0x2a, "10 columns: cpus[0].dropped");
	is_int(cpu_v(sn, 0, "received_rps"), 0x31, "10 columns: received_rps is column 10");
	is_int(cpu_v(sn, 0, "flow_limit_count"), ABSENT, "10 columns: no flow_limit_count");
	is_int(cpu_v(sn, 3, "processed"), 0xffffffffLL, "ffffffff is 4294967295");
	json_decref(sn);

	sn = softnet("softnet/11col-4.19", err, sizeof(err));
	is_int(json_integer_value(json_object_get(sn, "columns")), 11, "columns == 11");
	is_int(cpu_v(sn, 1, "dropped"), 0x2a, "11 columns: cpus[1].dropped == 0x2a");
	is_int(cpu_v(sn, 1, "flow_limit_count"), 2, "11 columns: flow_limit_count");
	is_int(total_v(sn, "dropped"), 0x2a + 3, "11 columns: total.dropped");
	is_int(total_v(sn, "time_squeeze"), 0xc41 + 0x311 + 0xa0 + 1, "11 columns: total.time_squeeze");
	is_int(cpu_v(sn, 0, "backlog_len"), ABSENT, "11 columns: no backlog_len");
	json_decref(sn);

	sn = softnet("softnet/13col-6.1", err, sizeof(err));
	is_int(json_integer_value(json_object_get(sn, "columns")), 13, "columns == 13");
	is_int(json_array_size(json_object_get(sn, "cpus")), 4, "13 columns: 4 rows");
	is_int(cpu_v(sn, 2, "cpu"), 3, "13 columns: cpu id from column 13 (CPU 2 offline)");
	is_int(cpu_v(sn, 3, "cpu"), 4, "13 columns: last cpu id");
	is_int(cpu_v(sn, 1, "backlog_len"), 3, "13 columns: backlog_len");
	is_int(cpu_v(sn, 3, "processed"), 0x7fffffffLL, "13 columns: processed");
	is_int(total_v(sn, "flow_limit_count"), 5, "13 columns: total.flow_limit_count");
	is_int(total_v(sn, "backlog_len"), ABSENT, "backlog_len is not summed");
	is_int(cpu_v(sn, 0, "input_qlen"), ABSENT, "13 columns: no input_qlen");
	json_decref(sn);

	sn = softnet("softnet/15col-6.12", err, sizeof(err));
	is_int(json_integer_value(json_object_get(sn, "columns")), 15, "columns == 15");
	is_int(cpu_v(sn, 0, "dropped"), 4294967295LL, "15 columns: dropped ffffffff");
	is_int(total_v(sn, "processed"), 0xffffffffLL + 0x12345678LL + 0xdeadbeefLL,
	       "total.processed sums as 64-bit");
	is_int(total_v(sn, "received_rps"), 0xffffffffLL + 0x20, "total.received_rps");
	is_int(cpu_v(sn, 2, "input_qlen"), 7, "15 columns: input_qlen is column 14");
	is_int(cpu_v(sn, 0, "process_qlen"), 3, "15 columns: process_qlen is column 15");
	is_int(cpu_v(sn, 2, "cpu"), 2, "15 columns: cpu id");
	json_decref(sn);
}

static void test_malformed_netstat(void)
{
	json_t *c;
	char err[512];

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-count-mismatch", c, err,
			  sizeof(err)),
	       -EINVAL, "count mismatch is an error");
	ok(has(err, "4 names but 3 values") && has(err, "dropped TcpExt"),
	   "... naming the counts and the prefix");
	ok(!json_object_get(c, "TcpExt"), "... the prefix is dropped");
	is_int(iv(c, "IpExt", "InOctets"), 4242, "... the other prefix is kept");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-not-a-number", c, err,
			  sizeof(err)),
	       -EINVAL, "non-numeric value is an error");
	ok(has(err, "TcpExt.ListenOverflows: \"2x\" is not a number"), "... naming the value");
	ok(!json_object_get(c, "TcpExt") && json_object_get(c, "IpExt"),
	   "... only TcpExt is dropped, never part of it");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-no-value-line", c, err,
			  sizeof(err)),
	       -EINVAL, "header without values is an error");
	ok(has(err, "line 1: TcpExt: header line without a value line"), "... with its line");
	ok(!json_object_get(c, "TcpExt") && iv(c, "IpExt", "InOctets") == 4242,
	   "... and IpExt still pairs up");
	json_decref(c);

	c = json_object();
	parse_into(counters_parse_netstat, "malformed/netstat-orphan-values", c, err, sizeof(err));
	ok(has(err, "values without a header line"), "value line without header is reported");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-truncated", c, err,
			  sizeof(err)),
	       -EINVAL, "truncated file is an error");
	is_int(iv(c, "TcpExt", "ListenOverflows"), 2, "... complete prefixes are kept");
	ok(!json_object_get(c, "IpExt") && has(err, "IpExt"), "... the cut one is dropped");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-dup-name", c, err,
			  sizeof(err)),
	       -EINVAL, "a name given twice is an error");
	ok(has(err, "ListenOverflows appears twice") && !json_object_get(c, "TcpExt"),
	   "... and drops the prefix");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_netstat, "malformed/netstat-big-values", c, err,
			  sizeof(err)),
	       -EINVAL, "a value beyond 64 bits is an error");
	ok(has(err, "beyond 64 bits"), "... saying so");
	is_int(iv(c, "TcpExt", "Max"), INT64_MAX, "INT64_MAX stays an integer");
	is_str(sv(c, "TcpExt", "Above"), "9223372036854775808", "INT64_MAX + 1 is a string");
	is_str(sv(c, "TcpExt", "Top"), "18446744073709551615", "UINT64_MAX is a string");
	is_int(iv(c, "TcpExt", "Neg"), INT64_MIN, "INT64_MIN stays an integer");
	ok(!json_object_get(c, "IpExt"), "the prefix with the oversized value is dropped");
	json_decref(c);
}

/* Files that are not counter files at all: every parser refuses them
 * entirely, with a printable message, and adds nothing. */
static void test_not_counters(const char *rel, const char *why)
{
	static const struct {
		parser fn;
		const char *name;
	} parsers[] = {
		{ counters_parse_netstat, "netstat" },
		{ counters_parse_snmp6, "snmp6" },
		{ counters_parse_sockstat, "sockstat" },
	};
	char err[512];
	size_t i;
	json_t *sn;

	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		json_t *c = json_object();
		int r;

		err[0] = '\0';
		r = parse_into(parsers[i].fn, rel, c, err, sizeof(err));
		ok(r == -EINVAL && json_object_size(c) == 0 && err[0] && printable(err),
		   "%s: %s parser refuses it: %s", why, parsers[i].name, err);
		json_decref(c);
	}
	sn = softnet(rel, err, sizeof(err));
	ok(!sn && err[0] && printable(err), "%s: softnet parser refuses it: %s", why, err);
	json_decref(sn);
}

static void test_malformed_other(void)
{
	json_t *c;
	char err[512];

	test_not_counters("malformed/empty", "empty file");
	test_not_counters("malformed/blank-lines", "blank lines only");
	test_not_counters("malformed/garbage", "binary garbage");

	c = json_object();
	is_int(parse_into(counters_parse_snmp6, "malformed/snmp6-bad-value", c, err, sizeof(err)),
	       -EINVAL, "snmp6 bad value is an error");
	ok(has(err, "Udp6InErrors") && has(err, "dropped Udp6"), "... naming the counter");
	is_int(iv(c, "Ip6", "InDelivers"), 9, "... Ip6 is kept");
	ok(!json_object_get(c, "Udp6"), "... Udp6 is dropped entirely");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_snmp6, "malformed/snmp6-no-prefix", c, err, sizeof(err)),
	       -EINVAL, "snmp6 name without a prefix is an error");
	ok(has(err, "line 2") && json_object_size(c) == 0, "... and nothing is used");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_sockstat, "malformed/sockstat-odd-pairs", c, err,
			  sizeof(err)),
	       -EINVAL, "sockstat with a missing value is an error");
	ok(!json_object_get(c, "TCP") && iv(c, "UDP", "inuse") == 0 &&
		   iv(c, "sockets", "used") == 9,
	   "... only TCP is dropped");
	json_decref(c);

	c = json_object();
	is_int(parse_into(counters_parse_sockstat, "malformed/sockstat-no-colon", c, err,
			  sizeof(err)),
	       -EINVAL, "sockstat line without a colon is an error");
	ok(has(err, "line 1") && json_object_size(c) == 0, "... and nothing is used");
	json_decref(c);
}

static void test_malformed_softnet(void)
{
	static const struct {
		const char *rel, *msg;
	} cases[] = {
		{ "malformed/softnet-mixed-columns", "line 2: 11 columns, the first row has 13" },
		{ "malformed/softnet-bad-hex", "line 2, column 1: \"0000zz00\"" },
		{ "malformed/softnet-wide-value", "\"100000000\" is not a 32-bit hex value" },
		{ "malformed/softnet-12col", "12 columns" },
		{ "malformed/softnet-short", "5 columns" },
		{ "malformed/softnet-truncated", "line 2:" },
		{ "malformed/softnet-cpu-order", "CPU 1 comes after CPU 3" },
		{ "malformed/softnet-blank-line", "line 2: empty line" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *sn = softnet(cases[i].rel, err, sizeof(err));

		ok(!sn && has(err, cases[i].msg), "%s refused: %s", cases[i].rel, err);
		json_decref(sn);
	}
}

/* ---- the collector ---- */

static bool note_has(const json_t *doc, const char *needle)
{
	const json_t *n;
	char *dump;
	size_t i;

	json_array_foreach(json_object_get(doc, "notes"), i, n)
		if (strstr(json_string_value(n), needle))
			return true;
	dump = json_dumps(json_object_get(doc, "notes"), JSON_COMPACT);
	printf("#   no note with \"%s\"; notes: %s\n", needle, dump ? dump : "(none)");
	free(dump);
	return false;
}

static json_t *collect(const char *root_path, int *ret)
{
	struct nk_root root;
	json_t *doc = json_object();

	json_object_set_new(doc, "notes", json_array());
	if (root_open(&root, root_path) < 0) {
		printf("Bail out! cannot open root %s\n", root_path);
		exit(1);
	}
	*ret = counters_collect(doc, &root);
	root_close(&root);
	return doc;
}

static void test_collect_roots(void)
{
	char path[PATH_MAX];
	json_t *doc, *sn;
	int r;

	snprintf(path, sizeof(path), "%s/roots/basic", fixtures);
	doc = collect(path, &r);
	is_int(r, 0, "basic root: collector succeeds");
	is_int(json_array_size(json_object_get(doc, "notes")), 0, "basic root: no notes");
	is_int(iv(json_object_get(doc, "counters"), "TcpExt", "ListenOverflows"), 1523,
	       "basic root: counters.TcpExt.ListenOverflows");
	is_int(iv(json_object_get(doc, "counters"), "Ip6", "InReceives"), 123,
	       "basic root: counters.Ip6.InReceives");
	is_int(iv(json_object_get(doc, "sockstat"), "TCP6", "inuse"), 1,
	       "basic root: sockstat.TCP6.inuse");
	sn = json_object_get(doc, "softnet");
	is_int(json_integer_value(json_object_get(sn, "columns")), 13, "basic root: softnet 13 columns");
	is_int(json_array_size(json_object_get(sn, "cpus")), 4, "basic root: 4 CPUs");
	json_decref(doc);

	snprintf(path, sizeof(path), "%s/roots/netns-old", fixtures);
	doc = collect(path, &r);
	is_int(r, 0, "netns-old root: collector succeeds");
	ok(note_has(doc, "/proc/net/snmp6: No such file or directory (IPv6 disabled?)"),
	   "netns-old root: missing snmp6 is noted");
	ok(note_has(doc, "/proc/net/sockstat6:"), "netns-old root: missing sockstat6 is noted");
	ok(!json_object_get(json_object_get(doc, "counters"), "Ip6"), "netns-old root: no Ip6");
	is_int(iv(json_object_get(doc, "counters"), "TcpExt", "ListenOverflows"), 87,
	       "netns-old root: 4.19 counters");
	is_int(json_integer_value(json_object_get(json_object_get(doc, "softnet"), "columns")), 11,
	       "netns-old root: softnet 11 columns");
	json_decref(doc);

	snprintf(path, sizeof(path), "%s/roots/broken", fixtures);
	doc = collect(path, &r);
	is_int(r, 0, "broken root: never fatal");
	ok(note_has(doc, "/proc/net/netstat: lines 1-2: TcpExt: 4 names but 3 values; dropped "
			 "TcpExt; the other prefixes were used"),
	   "broken root: netstat note");
	ok(note_has(doc, "/proc/net/snmp: Too many levels of symbolic links"),
	   "broken root: unreadable snmp noted");
	ok(note_has(doc, "/proc/net/snmp6: line 1:"), "broken root: garbage snmp6 noted");
	ok(note_has(doc, "/proc/net/sockstat6: no counters (empty file); nothing used"),
	   "broken root: empty sockstat6 noted");
	ok(note_has(doc, "/proc/net/softnet_stat: line 3: 11 columns, the first row has 13; "
			 "nothing used"),
	   "broken root: softnet noted");
	ok(!json_object_get(doc, "softnet"), "broken root: softnet absent");
	ok(json_object_get(json_object_get(doc, "counters"), "IpExt") &&
		   !json_object_get(json_object_get(doc, "counters"), "TcpExt"),
	   "broken root: only the valid prefix is used");
	is_int(iv(json_object_get(doc, "sockstat"), "TCP", "inuse"), 2,
	       "broken root: the good sockstat is used");
	json_decref(doc);
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Files written at run time: one too large to be counters, one holding
 * a NUL byte. */
static void test_collect_generated(void)
{
	char path[PATH_MAX + 64], *big;
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	size_t size = 2 * 1024 * 1024, off = 0;
	static const char line[] = "TcpExt: ListenOverflows\nTcpExt: 1\n";
	static const char nul[] = "Ip: Forwarding\nIp: 1\0\n";
	json_t *doc;
	int r;

	snprintf(tmpl, sizeof(tmpl), "%s/test-counters.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/proc", tmpl);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/net", tmpl);
	mkdir(path, 0755);
	big = malloc(size);
	while (off + sizeof(line) - 1 <= size) {
		memcpy(big + off, line, sizeof(line) - 1);
		off += sizeof(line) - 1;
	}
	snprintf(path, sizeof(path), "%s/proc/net/netstat", tmpl);
	ok(write_file(path, big, off) == 0 && off > 1024 * 1024, "wrote a 2 MB netstat");
	free(big);
	snprintf(path, sizeof(path), "%s/proc/net/snmp", tmpl);
	write_file(path, nul, sizeof(nul) - 1);

	doc = collect(tmpl, &r);
	is_int(r, 0, "generated root: never fatal");
	ok(note_has(doc, "/proc/net/netstat: larger than 1024 KiB, not read"),
	   "a 2 MB file is not read");
	ok(note_has(doc, "/proc/net/snmp: holds NUL bytes"), "NUL bytes are refused");
	ok(!json_object_get(doc, "counters"), "nothing from either file");
	ok(note_has(doc, "/proc/net/softnet_stat: No such file or directory"),
	   "missing softnet_stat noted");
	json_decref(doc);

	snprintf(path, sizeof(path), "%s/proc/net/netstat", tmpl);
	unlink(path);
	snprintf(path, sizeof(path), "%s/proc/net/snmp", tmpl);
	unlink(path);
	snprintf(path, sizeof(path), "%s/proc/net", tmpl);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/proc", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

int main(void)
{
	fixtures = getenv("FIXTURES");
	if (!fixtures || !*fixtures)
		fixtures = "tests/fixtures";

	test_linux_4_19();
	test_linux_6_1();
	test_live_copy();
	test_softnet_layouts();
	test_malformed_netstat();
	test_malformed_other();
	test_malformed_softnet();
	test_collect_roots();
	test_collect_generated();
	return tap_done();
}
