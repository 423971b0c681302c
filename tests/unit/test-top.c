/* netknobs top's rows (src/top-rows.c) over a frame made here: a
 * SO_REUSEPORT group as one row, the sorts, the filter, the marks, the
 * numbers of a line, escaped process names, the header; and over the frames
 * of several namespaces (--all-netns): the rows sorted together, the NETNS
 * column, the filter on a namespace's name, the header's sums and ranges. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"
#include "tap.h"

static struct watch_sock socks[6];
static struct watch_proc procs[3];
static struct watch_link links[6];
static struct watch_frame frame;
static const struct top_ns one = { &frame, NULL };

static void sock(size_t i, const char *addr, uint16_t port, uint32_t queue, uint32_t limit,
		 uint32_t peak, uint32_t drops_delta, uint64_t syn, uint32_t members, uint32_t index)
{
	struct watch_sock *s = &socks[i];

	s->ep.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(s->ep.family, addr, s->ep.addr);
	s->ep.port = port;
	s->inode = 1000 + i;
	s->queue = queue;
	s->limit = limit;
	s->has_limit = true;
	s->peak = peak;
	s->has_drops = true;
	s->drops_delta = drops_delta;
	s->syn_recv = syn;
	s->reuseport_members = members;
	s->reuseport_index = index;
}

/* sockets in endpoint order, as socktab_finish() leaves them */
static void make_frame(void)
{
	static char c0[] = "nginx", c1[] = "redis-server", c2[] = "evil\x1b[31m\xe2\x80\xae";

	memset(&frame, 0, sizeof(frame));
	sock(0, "127.0.0.1", 80, 17, 16, 17, 40, 0, 0, 0);     /* full and dropping */
	sock(1, "0.0.0.0", 443, 3, 511, 9, 0, 2, 2, 1);        /* a group of two */
	sock(2, "0.0.0.0", 443, 1, 511, 4, 5, 2, 2, 2);
	sock(3, "127.0.0.1", 6379, 512, 511, 512, 0, 7, 0, 0); /* full, no drop */
	sock(4, "::", 8080, 0, 4096, 0, 0, 0, 0, 0);           /* quiet */
	procs[0] = (struct watch_proc){ .pid = 10, .comm = c0, .state = 'S' };
	procs[1] = (struct watch_proc){ .pid = 11, .comm = c1, .state = 'T' };
	procs[2] = (struct watch_proc){ .pid = 12, .comm = c2, .state = 'S' };
	/* sorted by inode */
	links[0] = (struct watch_link){ 1000, 0, true };
	links[1] = (struct watch_link){ 1001, 0, true };
	links[2] = (struct watch_link){ 1002, 2, true };
	links[3] = (struct watch_link){ 1003, 1, true };
	frame.s = socks;
	frame.n = 5;
	frame.procs = procs;
	frame.nprocs = 3;
	frame.links = links;
	frame.nlinks = 4;
	frame.interval_ms = 500;
	frame.has_rate[WATCH_LISTEN_OVERFLOWS] = true;
	frame.rate[WATCH_LISTEN_OVERFLOWS] = 80;
	for (int i = 0; i < WATCH_NSYSCTLS; i++)
		frame.sysctl[i] = -1;
	frame.sysctl[WATCH_SOMAXCONN] = 4096;
}

/* The rows' ports in order, "80 443 6379" */
static const char *order(enum top_sort sort, const char *filter)
{
	static char buf[128];
	struct top_rows rows = { 0 };
	size_t o = 0;

	buf[0] = '\0';
	if (top_rows_build(&rows, &one, 1, sort, filter) < 0)
		return "ENOMEM";
	for (size_t i = 0; i < rows.n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? " " : "",
				      frame.s[rows.r[i].first].ep.port);
	top_rows_free(&rows);
	return buf;
}

static const struct {
	enum top_sort sort;
	const char *filter, *want;
} cases[] = {
	/* drops (80: 40, 443: 5 of a member), then fill (6379 over 100 %) */
	{ TOP_SORT_DROPS, NULL, "80 443 6379 8080" },
	{ TOP_SORT_FILL, NULL, "80 6379 443 8080" },
	{ TOP_SORT_SYN, NULL, "6379 443 80 8080" },
	{ TOP_SORT_PORT, NULL, "80 443 6379 8080" },
	/* by the owners' text; rows without owners last */
	{ TOP_SORT_PROCESS, NULL, "80 443 6379 8080" },
	{ TOP_SORT_DROPS, "", "80 443 6379 8080" },
	{ TOP_SORT_DROPS, "443", "443" },
	{ TOP_SORT_DROPS, "44", "" },
	{ TOP_SORT_DROPS, "NGINX", "80 443" },
	{ TOP_SORT_DROPS, "redis", "6379" },
	{ TOP_SORT_DROPS, "[::]", "8080" },
	{ TOP_SORT_DROPS, "evil", "443" },
};

static const char *line_of(uint16_t port)
{
	static char buf[TOP_LINE_MAX + 128];
	struct top_rows rows = { 0 };

	buf[0] = '\0';
	if (top_rows_build(&rows, &one, 1, TOP_SORT_PORT, NULL) == 0)
		for (size_t i = 0; i < rows.n; i++)
			if (frame.s[rows.r[i].first].ep.port == port)
				top_row_line(&rows.r[i], rows.netns_width, buf, sizeof(buf));
	top_rows_free(&rows);
	return buf;
}

/* ---- several namespaces ---- */

static struct watch_sock socks2[2];
static struct watch_frame frame2, frame3;

/* The rows of the namespaces as "NAME:PORT ..." */
static const char *order_all(const struct top_ns *ns, size_t n, enum top_sort sort, const char *filter)
{
	static char buf[256];
	struct top_rows rows = { 0 };
	size_t o = 0;

	buf[0] = '\0';
	if (top_rows_build(&rows, ns, n, sort, filter) < 0)
		return "ENOMEM";
	for (size_t i = 0; i < rows.n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s:%u", i ? " " : "", rows.r[i].netns,
				      rows.r[i].f->s[rows.r[i].first].ep.port);
	top_rows_free(&rows);
	return buf;
}

static void test_all(void)
{
	const struct top_ns ns[] = { { &frame, "host" }, { &frame2, "pod default/db-0" }, { &frame3, "empty" } };
	struct top_status st = { .all = true, .namespaces = 5, .denied = 1, .gone = 2, .delay_ms = 1000,
				 .sort = TOP_SORT_DROPS };
	char hdr[TOP_HEADER_LINES][TOP_LINE_MAX], buf[2 * TOP_LINE_MAX];
	struct top_rows rows = { 0 };

	make_frame();
	memset(&frame2, 0, sizeof(frame2));
	memset(&frame3, 0, sizeof(frame3));
	/* 5432: 100 drops in 500 ms, the most; 80 on another address, quiet */
	socks2[0] = (struct watch_sock){ .ep = { .family = AF_INET, .port = 80 }, .inode = 2000, .queue = 1,
					 .limit = 128, .has_limit = true, .has_drops = true };
	socks2[1] = (struct watch_sock){ .ep = { .family = AF_INET, .port = 5432 }, .inode = 2001, .queue = 129,
					 .limit = 128, .peak = 129, .has_limit = true, .has_drops = true,
					 .drops_delta = 100 };
	inet_pton(AF_INET, "10.0.0.2", socks2[0].ep.addr);
	inet_pton(AF_INET, "10.0.0.2", socks2[1].ep.addr);
	frame2.s = socks2;
	frame2.n = 2;
	frame2.interval_ms = 500;
	frame2.has_rate[WATCH_LISTEN_OVERFLOWS] = frame2.has_rate[WATCH_LISTEN_DROPS] = true;
	frame2.rate[WATCH_LISTEN_OVERFLOWS] = 20;
	frame2.rate[WATCH_LISTEN_DROPS] = 200;
	frame2.sysctl[WATCH_SOMAXCONN] = 128;
	frame2.sysctl[WATCH_SYNCOOKIES] = frame2.sysctl[WATCH_MAX_SYN_BACKLOG] = -1;
	frame2.syn_age_ms = 3000;
	frame2.syn_every_ms = 1000;
	frame.syn_age_ms = 1000;
	frame.syn_every_ms = 2000;
	frame3.sysctl[WATCH_SOMAXCONN] = 4096;
	frame3.syn_unknown = frame3.syn_waiting = true;        /* its count waits for the shared budget */
	frame3.sysctl[WATCH_SYNCOOKIES] = frame3.sysctl[WATCH_MAX_SYN_BACKLOG] = -1;

	is_str(order_all(ns, 3, TOP_SORT_DROPS, NULL),
	       "pod default/db-0:5432 host:80 host:443 host:6379 pod default/db-0:80 host:8080",
	       "--all-netns: the rows of every namespace sorted together (drops, then fill)");
	is_str(order_all(ns, 3, TOP_SORT_PORT, NULL),
	       "pod default/db-0:80 host:80 host:443 pod default/db-0:5432 host:6379 host:8080",
	       "--all-netns: by port (then address), across the namespaces");
	is_str(order_all(ns, 3, TOP_SORT_NETNS, NULL),
	       "host:80 host:443 host:6379 host:8080 pod default/db-0:80 pod default/db-0:5432",
	       "--all-netns: by namespace, then port");
	is_str(order_all(ns, 3, TOP_SORT_DROPS, "DB-0"), "pod default/db-0:5432 pod default/db-0:80",
	       "--all-netns: the filter matches a namespace's name, any case");
	is_str(order_all(ns, 3, TOP_SORT_DROPS, "80"), "host:80 pod default/db-0:80",
	       "--all-netns: a port filter matches in every namespace");
	is_str(order_all(ns, 2, TOP_SORT_DROPS, "nginx"), "host:80 host:443",
	       "--all-netns: the filter on a process name");

	ok(top_rows_build(&rows, ns, 3, TOP_SORT_DROPS, NULL) == 0 && rows.netns_width == 16,
	   "the NETNS column is as wide as the longest name with rows");
	top_columns(rows.netns_width, buf, sizeof(buf));
	is_str(buf, "  NETNS            ADDRESS                        QUEUE/LIMIT   PEAK  FILL SYN-RECV  DROPS/S  PROCESS",
	       "the column titles with NETNS");
	top_row_line(&rows.r[0], rows.netns_width, buf, sizeof(buf));
	is_str(buf, "! pod default/db-0 10.0.0.2:5432                      129/128    129  100%        0    200.0  -",
	       "a row with its namespace");
	top_row_line(&rows.r[0], 10, buf, sizeof(buf));
	ok(!strncmp(buf, "! pod def... 10.0.0.2:5432 ", 27), "a name longer than the column is cut: %s", buf);
	top_header(ns, 3, &rows, &st, hdr);
	ok(strstr(hdr[0], "  netns all (3 of 5 read; 1 not entered; 2 gone)  every 1s  listeners 7, rows 6 of 6") != NULL,
	   "header: the namespaces read, not entered, gone: %s", hdr[0]);
	ok(strstr(hdr[1], "ListenOverflows/s 100.0  ListenDrops/s 200.0  ") != NULL, "header: the rates summed: %s", hdr[1]);
	ok(strstr(hdr[1], "(sums; most ListenDrops/s: pod default/db-0 200.0)") != NULL,
	   "header: the namespace that drops the most");
	ok(strstr(hdr[2], "somaxconn 128-4096  tcp_syncookies ?  tcp_max_syn_backlog ?") != NULL,
	   "header: a limit's range where the namespaces differ: %s", hdr[2]);
	ok(strstr(hdr[2], "SYN-RECV counted up to 3s ago (at most every 2s); not yet in 1 namespace") != NULL,
	   "header: the oldest SYN-RECV count, and a namespace not counted yet: %s", hdr[2]);
	top_rows_free(&rows);

	st.denied = st.gone = 0;
	ok(top_rows_build(&rows, &ns[2], 1, TOP_SORT_DROPS, NULL) == 0 && rows.n == 0 && rows.netns_width == 5,
	   "a namespace without listeners: no rows");
	top_header(&ns[2], 1, &rows, &st, hdr);
	ok(strstr(hdr[0], "netns all (1 of 5 read)") != NULL && strstr(hdr[1], "(sums)  softnet") != NULL,
	   "header: nothing gone, no namespace dropping: %s / %s", hdr[0], hdr[1]);
	ok(strstr(hdr[2], "SYN-RECV not counted yet") != NULL, "header: SYN-RECV not counted yet anywhere: %s", hdr[2]);
	frame3.syn_waiting = false;
	top_header(&ns[2], 1, &rows, &st, hdr);
	ok(strstr(hdr[2], "SYN-RECV not counted (netlink failed)") != NULL, "header: nor could it be: %s", hdr[2]);
	top_rows_free(&rows);

	frame2.syn_unknown = frame2.syn_waiting = true;
	ok(top_rows_build(&rows, &ns[1], 1, TOP_SORT_DROPS, NULL) == 0 && rows.n == 2, "a namespace not counted yet");
	top_row_line(&rows.r[0], rows.netns_width, buf, sizeof(buf));
	is_str(buf, "! pod default/db-0 10.0.0.2:5432                      129/128    129  100%        -    200.0  -",
	       "its rows' SYN-RECV unknown, not 0");
	top_rows_free(&rows);

	/* a name of 255 control bytes, escaped: 1020 characters.  The row was
	 * cut at the buffer's end, its last bytes run into the address */
	{
		char longname[4 * 255 + 1] = "";
		struct top_ns lns = { &frame2, longname };

		for (int i = 0; i < 255; i++)
			strcat(longname, "\\x01");
		ok(top_rows_build(&rows, &lns, 1, TOP_SORT_DROPS, NULL) == 0 && rows.netns_width == TOP_NETNS_MAX,
		   "a name of 1020 characters: a NETNS column of %d", TOP_NETNS_MAX);
		top_row_line(&rows.r[0], rows.netns_width, buf, sizeof(buf));
		ok(strlen(buf) > TOP_NETNS_MAX + 5 && !strncmp(buf + 2 + TOP_NETNS_MAX - 3, "... 10.0.0.2:5432 ", 18),
		   "its rows: the name cut with '...', then the address: %s", buf + TOP_NETNS_MAX - 10);
		top_header(&lns, 1, &rows, &st, hdr);
		ok(strstr(hdr[1], "...  200.0)") == NULL && strstr(hdr[1], "... 200.0)") != NULL,
		   "header: the name that drops the most cut, its rate said: %s", hdr[1]);
		top_rows_free(&rows);
	}
}

int main(void)
{
	struct top_rows rows = { 0 };
	struct top_status st = { .delay_ms = 500, .sort = TOP_SORT_DROPS };
	char hdr[TOP_HEADER_LINES][TOP_LINE_MAX];

	make_frame();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(order(cases[i].sort, cases[i].filter), cases[i].want, "sort %s, filter '%s'",
		       top_sort_name(cases[i].sort), cases[i].filter ? cases[i].filter : "(none)");

	is_str(line_of(80), "! 127.0.0.1:80                         17/16     17  106%        0     80.0  nginx[10] sleeping",
	       "a dropping row: marked, queue over its limit, 40 drops in 500 ms");
	is_str(line_of(443), "! 0.0.0.0:443 (2)                      3/511      9    0%        2     10.0  "
	       "nginx[10] sleeping, evil\\x1b[31m\\u202e[12] sleeping",
	       "a group: one row, the fullest member's queue, the highest peak, the drops of all, "
	       "escaped names");
	is_str(line_of(6379), "+ 127.0.0.1:6379                     512/511    512  100%        7      0.0  redis-server[11] stopped",
	       "a full queue without a drop: '+'");
	is_str(line_of(8080), "  [::]:8080                           0/4096      0    0%        0      0.0  -",
	       "a quiet row without owners");

	ok(top_rows_build(&rows, &one, 1, TOP_SORT_DROPS, "80") == 0 && rows.n == 1 && rows.total == 4,
	   "the filter keeps the count of all rows");
	st.filter = "80";
	top_header(&one, 1, &rows, &st, hdr);
	ok(strstr(hdr[0], "  netns (own)  every 500ms") != NULL, "header: the own namespace");
	ok(strstr(hdr[0], "listeners 5, rows 1 of 4  sort drops  filter 80") != NULL, "header: counts, sort, filter");
	ok(strstr(hdr[1], "ListenOverflows/s 80.0  ListenDrops/s -  ") != NULL, "header: a rate, and one unknown");
	ok(strstr(hdr[1], "softnet drops/s - (host)") != NULL, "header: softnet is the host's");
	ok(strstr(hdr[2], "somaxconn 4096  tcp_syncookies ?  tcp_max_syn_backlog ?") != NULL,
	   "header: sysctls, unknown ones as ?");
	top_rows_free(&rows);

	frame.interval_ms = 0;
	ok(strstr(line_of(80), "      -  nginx") != NULL, "no rate before a second refresh");
	frame.n = 0;
	ok(top_rows_build(&rows, &one, 1, TOP_SORT_DROPS, NULL) == 0 && rows.n == 0 && rows.total == 0,
	   "no listeners, no rows");
	top_rows_free(&rows);

	test_all();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
