/* The /proc/net/tcp{,6} parser, the listener table built from it (request
 * sockets attributed to listeners), and the fallback path of
 * sockets_collect() on a fixture root, owners included. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "facts/facts.h"
#include "facts/sockets.h"
#include "tap.h"

static const char *fixtures;
static char path[4096];

static const char *fixture(const char *name)
{
	snprintf(path, sizeof(path), "%s/proc-tcp/%s", fixtures, name);
	return path;
}

/* the kernel prints each address word in its own byte order */
static bool little_endian(void)
{
	return htonl(1) != 1;
}

static int read_fixture(const char *name, int family, struct socktab *t,
			struct proctcp_stats *st)
{
	int fd = open(fixture(name), O_RDONLY);
	int r;

	if (fd < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -errno;
	}
	r = proctcp_read_fd(fd, family, t, st);
	close(fd);
	return r;
}

static const struct listener *find(const struct socktab *t, int family,
				   const char *addr, unsigned port, uint64_t inode)
{
	uint8_t a[16] = { 0 };

	if (inet_pton(family, addr, a) != 1)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct listener *l = &t->l[i];

		if (l->ep.family == family && l->ep.port == port &&
		    memcmp(l->ep.addr, a, 16) == 0 && (!inode || l->inode == inode))
			return l;
	}
	return NULL;
}

static void test_parse_line(void)
{
	struct proctcp_row row;
	const char *l4 = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000005 00:00000000 "
			 "00000000  1000        0 20002 1 0000000000000000 100 0 0 10 0   ";
	const char *l6 = "   1: 0000000000000000FFFF00000100007F:01BB "
			 "0000000000000000FFFF00000100007F:A410 03 00000000:00000000 "
			 "01:000000BA 00000001     0        0 0 0 0000000000000000";
	char buf[64];

	is_int(proctcp_parse_line(l4, strlen(l4), AF_INET, &row), 0, "IPv4 LISTEN row parses");
	is_int(row.state, 0x0a, "state 0A");
	is_int(row.ep.port, 8080, "port from hex 1F90");
	is_int(row.rx_queue, 5, "rx_queue");
	is_int(row.uid, 1000, "uid");
	is_int(row.inode, 20002, "inode");
	if (little_endian()) {
		is_str(inet_ntop(AF_INET, row.ep.addr, buf, sizeof(buf)), "127.0.0.1",
		       "address 0100007F is 127.0.0.1");
	} else {
		ok(1, "# SKIP fixture addresses are in little-endian words");
	}
	is_int(proctcp_parse_line(l6, strlen(l6), AF_INET6, &row), 0, "IPv6 request row parses");
	is_int(row.state, 3, "state 03");
	is_int(row.inode, 0, "request sockets have inode 0");
	is_int(row.ep.port, 443, "port 01BB");
	if (little_endian())
		is_str(inet_ntop(AF_INET6, row.ep.addr, buf, sizeof(buf)), "::ffff:127.0.0.1",
		       "v4-mapped address");
	else
		ok(1, "# SKIP fixture addresses are in little-endian words");
	is_int(proctcp_parse_line(l4, strlen(l4), AF_INET6, &row), -EINVAL,
	       "an IPv4 row is malformed in tcp6");
	is_int(proctcp_parse_line(l6, strlen(l6), AF_INET, &row), -EINVAL,
	       "an IPv6 row is malformed in tcp");
	is_int(proctcp_parse_line("  sl  local_address", 19, AF_INET, &row), -EINVAL,
	       "the header is not a row");
	is_int(proctcp_parse_line(l4, 40, AF_INET, &row), -EINVAL, "a cut row is malformed");
}

static void test_files(void)
{
	struct socktab t;
	struct proctcp_stats s4 = { 0 }, s6 = { 0 };
	const struct listener *l;

	socktab_init(&t);
	is_int(read_fixture("ipv4.tcp", AF_INET, &t, &s4), 0, "ipv4.tcp read");
	is_int(read_fixture("ipv6.tcp6", AF_INET6, &t, &s6), 0, "ipv6.tcp6 read");
	is_int(s4.bad + s6.bad, 0, "no malformed lines in the real layouts");
	is_int(s4.rows, 25, "all 25 IPv4 rows used");
	is_int(s6.rows, 9, "all 9 IPv6 rows used");
	is_int(socktab_finish(&t), 0, "finish");
	is_int(t.n, 8, "8 listeners");
	is_int(t.states[10], 8, "LISTEN count");
	is_int(t.states[1], 4, "ESTABLISHED count (both files)");
	is_int(t.states[2], 1, "SYN_SENT count");
	is_int(t.states[3], 18, "SYN_RECV: 12+5 request sockets and one simultaneous open");
	is_int(t.states[6], 2, "TIME_WAIT count");
	is_int(t.states[8], 1, "CLOSE_WAIT count");

	/* order: port, family, address */
	is_int(t.l[0].ep.port, 80, "first listener is port 80");
	is_int(t.l[t.n - 1].ep.port, 9000, "last listener is port 9000");
	ok(t.l[1].ep.port == 443 && t.l[1].ep.family == AF_INET6, "[::]:443 sorts after 80 and before 8000");
	ok(t.l[2].ep.port == 8000 && t.l[3].ep.port == 8000 && t.l[2].inode == 20003,
	   "0.0.0.0:8000 sorts before 127.0.0.1:8000");
	ok(t.l[6].inode == 20010 && t.l[7].inode == 20011, "same endpoint: by inode");

	if (!little_endian()) {
		ok(1, "# SKIP address matching: fixture addresses are little-endian words");
		socktab_free(&t);
		return;
	}
	l = find(&t, AF_INET, "0.0.0.0", 80, 0);
	ok(l != NULL, "0.0.0.0:80 found");
	if (l) {
		is_int(l->queue, 3, "0.0.0.0:80 queue from rx_queue");
		is_int(l->uid, 33, "0.0.0.0:80 uid");
		is_int(l->inode, 20001, "0.0.0.0:80 inode");
		is_int(l->syn_recv, 3, "wildcard listener takes requests to any local address");
		ok(!l->has_limit && !l->has_drops && l->v6only == -1,
		   "no limit, drops, v6only from /proc");
		ok(!l->syn_recv_shared, "not shared");
	}
	l = find(&t, AF_INET, "127.0.0.1", 8000, 0);
	ok(l && l->syn_recv == 2, "exact address wins over the wildcard (127.0.0.1:8000: 2)");
	l = find(&t, AF_INET, "0.0.0.0", 8000, 0);
	ok(l && l->syn_recv == 1 && !l->syn_recv_shared,
	   "wildcard 0.0.0.0:8000 takes the other address (1), not a group");
	l = find(&t, AF_INET, "0.0.0.0", 9000, 20010);
	ok(l && l->syn_recv == 4 && l->syn_recv_shared, "SO_REUSEPORT pair: first has the group total");
	l = find(&t, AF_INET, "0.0.0.0", 9000, 20011);
	ok(l && l->syn_recv == 4 && l->syn_recv_shared, "SO_REUSEPORT pair: second too");
	l = find(&t, AF_INET6, "::", 443, 0);
	ok(l != NULL, "[::]:443 found");
	if (l) {
		is_int(l->syn_recv, 5, "dual-stack: 3 v4-mapped + 1 IPv6 + 1 IPv4-family request");
		is_int(l->queue, 1, "[::]:443 queue");
	}
	l = find(&t, AF_INET6, "::1", 8443, 0);
	ok(l && l->syn_recv == 1, "[::1]:8443 has its request");
	l = find(&t, AF_INET, "127.0.0.1", 8080, 0);
	ok(l && l->syn_recv == 0 && l->uid == 1000, "127.0.0.1:8080 has none");
	socktab_free(&t);
}

static void test_malformed(void)
{
	struct socktab t;
	struct proctcp_stats st = { 0 };

	socktab_init(&t);
	is_int(read_fixture("malformed.tcp", AF_INET, &t, &st), 0, "malformed.tcp read");
	is_int(st.bad, 8, "8 malformed lines counted");
	is_int(st.first_bad_line, 3, "first malformed line is line 3");
	is_int(st.rows, 3, "the good rows around them are used (last one without newline)");
	is_int(t.n, 1, "one listener");
	is_int(t.states[1], 1, "one ESTABLISHED");
	is_int(t.states[3], 1, "one SYN_RECV");
	socktab_free(&t);

	socktab_init(&t);
	memset(&st, 0, sizeof(st));
	is_int(read_fixture("header-only.tcp", AF_INET, &t, &st), 0, "header-only.tcp read");
	ok(st.rows == 0 && st.bad == 0 && t.n == 0, "header only: nothing, no error");
	socktab_free(&t);
}

/* Generated files: many rows across read chunks, an over-long line. */
static void test_streaming(void)
{
	FILE *f = tmpfile();
	int fd;
	struct socktab t;
	struct proctcp_stats st = { 0 };
	const int rows = 5000;
	char *longline;

	if (!f) {
		ok(0, "temporary file");
		return;
	}
	fd = fileno(f);
	fputs("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n", f);
	fprintf(f, "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n");
	longline = malloc(200000);
	memset(longline, 'x', 199999);
	longline[199999] = '\0';
	fprintf(f, "%s\n", longline);
	free(longline);
	for (int i = 0; i < rows; i++)
		fprintf(f, "%4d: 0100007F:%04X 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 20 4 30 10 -1                    \n",
			i + 1, 10000 + i, 100000 + i);
	fflush(f);
	lseek(fd, 0, SEEK_SET);
	socktab_init(&t);
	is_int(proctcp_read_fd(fd, AF_INET, &t, &st), 0, "large file read");
	is_int(st.rows, rows + 1, "every row across chunk boundaries");
	is_int(st.bad, 1, "the over-long line is one malformed line");
	is_int(st.first_bad_line, 3, "at line 3");
	is_int(t.states[1], rows, "ESTABLISHED rows counted");
	is_int(t.nreq, 0, "nothing stored per connection");
	socktab_free(&t);
	fclose(f);
}

static void test_limits(void)
{
	long long s = 0, h = 0;

	is_int(owners_parse_limits("Limit  Soft Limit  Hard Limit  Units\n"
				   "Max open files            1024                 524288               files     \n",
				   &s, &h), 0, "limits parsed");
	ok(s == 1024 && h == 524288, "Max open files 1024 524288");
	is_int(owners_parse_limits("Max open files            unlimited            unlimited            files\n",
				   &s, &h), 0, "unlimited parsed");
	ok(s == -1 && h == -1, "unlimited is -1");
	is_int(owners_parse_limits("Max processes 10 10 processes\n", &s, &h), -EINVAL,
	       "no Max open files line");
	is_int(owners_parse_limits("Max open files lots 10 files\n", &s, &h), -EINVAL,
	       "garbage value");
}

static const json_t *jget(const json_t *o, const char *k)
{
	return json_object_get(o, k);
}

static void test_collect_root(void)
{
	struct nk_root root;
	json_t *doc = json_object(), *so, *ls, *l, *procs;
	char rootpath[4096];

	snprintf(rootpath, sizeof(rootpath), "%s/proc-tcp/root", fixtures);
	if (!ok(root_open(&root, rootpath) == 0, "open fixture root")) {
		json_decref(doc);
		return;
	}
	is_int(sockets_collect(doc, &root, true), 0, "sockets_collect on a --root");
	so = json_object_get(doc, "sockets");
	ok(json_is_object(so), "sockets object set");
	is_str(json_string_value(jget(so, "source")), "proc", "source proc");
	is_str(json_string_value(jget(so, "fallback_reason")), "--root given: reading proc/net/tcp",
	       "fallback_reason");
	ok(json_array_size(jget(doc, "notes")) >= 1, "a note says why");
	is_int(json_integer_value(jget(jget(so, "states"), "LISTEN")), 3, "3 listeners");
	is_int(json_integer_value(jget(jget(so, "states"), "CLOSING")), 0, "every state present");
	ls = json_object_get(so, "listeners");
	is_int(json_array_size(ls), 3, "listeners array");

	l = json_array_get(ls, 0);
	is_int(json_integer_value(jget(l, "port")), 80, "first: port 80");
	is_str(json_string_value(jget(l, "family")), "ipv4", "family ipv4");
	ok(!jget(l, "limit") && !jget(l, "drops") && !jget(l, "v6only") && !jget(l, "interface"),
	   "limit, drops, v6only, interface absent");
	procs = json_object_get(l, "processes");
	is_int(json_array_size(procs), 2, "fork after listen: two processes, dup listed once");
	is_int(json_integer_value(jget(json_array_get(procs, 0), "pid")), 100, "sorted by pid");
	is_int(json_integer_value(jget(json_array_get(procs, 1), "pid")), 101, "second pid");
	is_str(json_string_value(jget(json_array_get(procs, 0), "comm")), "nginx", "comm without newline");
	is_int(json_integer_value(jget(json_array_get(procs, 0), "fds")), 4, "fds counted");
	is_int(json_integer_value(jget(json_array_get(procs, 0), "nofile_soft")), 1024, "nofile_soft");
	is_int(json_integer_value(jget(json_array_get(procs, 1), "nofile_hard")), 524288, "nofile_hard");
	is_str(json_string_value(jget(json_array_get(procs, 0), "state")), "sleeping", "state from stat");
	is_str(json_string_value(jget(json_array_get(procs, 1), "state")), "stopped",
	       "state after a name holding ') '");
	is_int(json_integer_value(jget(json_array_get(procs, 0), "start_time")),
	       1700000000 + 869491 / sysconf(_SC_CLK_TCK), "start_time: btime + starttime / CLK_TCK");
	is_int(json_integer_value(jget(json_array_get(procs, 1), "start_time")),
	       1700000000 + 869500 / sysconf(_SC_CLK_TCK), "start_time of the second");
	ok(json_is_true(jget(json_array_get(procs, 0), "polls")),
	   "polls: the listener is in the process's epoll set (fdinfo ino:)");
	ok(!jget(json_array_get(procs, 1), "polls"), "polls absent without an epoll set");
	if (little_endian()) {
		is_str(json_string_value(jget(l, "address")), "0.0.0.0", "address");
		is_int(json_integer_value(jget(l, "syn_recv")), 1, "request attributed");
	}

	l = json_array_get(ls, 1);
	is_int(json_integer_value(jget(l, "port")), 443, "second: port 443");
	is_str(json_string_value(jget(l, "address")), "::", "address ::");
	is_int(json_array_size(jget(l, "processes")), 0, "no owner: empty array");

	l = json_array_get(ls, 2);
	procs = json_object_get(l, "processes");
	is_int(json_array_size(procs), 1, "8080: one process");
	is_str(json_string_value(jget(json_array_get(procs, 0), "comm")), "a\\x1b[31mb",
	       "control bytes of comm escaped");
	ok(!jget(json_array_get(procs, 0), "nofile_soft") &&
	   !jget(json_array_get(procs, 0), "nofile_hard"), "unlimited: nofile absent");
	ok(!jget(json_array_get(procs, 0), "state") && !jget(json_array_get(procs, 0), "start_time"),
	   "no stat: state and start_time absent");

	json_decref(doc);
	doc = json_object();
	is_int(sockets_collect(doc, &root, false), 0, "without owners");
	l = json_array_get(jget(jget(doc, "sockets"), "listeners"), 0);
	ok(l && !jget(l, "processes"), "no processes key when owners are not wanted");
	json_decref(doc);
	root_close(&root);
}

int main(void)
{
	fixtures = getenv("FIXTURES");
	if (!fixtures)
		fixtures = "tests/fixtures";
	test_parse_line();
	test_files();
	test_malformed();
	test_streaming();
	test_limits();
	test_collect_root();
	return tap_done();
}
