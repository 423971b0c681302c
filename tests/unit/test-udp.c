/* The UDP collector: SOCK_DIAG_BY_FAMILY answers for IPPROTO_UDP as the
 * kernel lays them out, lines of /proc/net/udp and udp6, and the bounded
 * table that keeps the sockets most in need of a look (the live kernel:
 * tests/integration/udp-netns.sh). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "facts/sockets.h"
#include "nlbuild.h"
#include "tap.h"

static void put_meminfo(struct nlmsghdr *nlh, unsigned n, uint32_t rcvbuf, uint32_t drops)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };

	mem[SK_MEMINFO_RCVBUF] = rcvbuf;
	if (n > SK_MEMINFO_DROPS)
		mem[SK_MEMINFO_DROPS] = drops;
	mnl_attr_put(nlh, INET_DIAG_SKMEMINFO, n * sizeof(uint32_t), mem);
}

static void test_netlink(void)
{
	struct udptab t;
	struct nlmsghdr *nlh;
	struct inet_diag_msg *m;
	unsigned long bad = 0;

	udptab_init(&t, UDP_LISTED);
	used = 0;
	/* a server's socket: unconnected (TCP_CLOSE), a full small buffer */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	m = diag_msg(nlh, AF_INET, "127.0.0.1", 53, 7, 111);
	m->idiag_rqueue = 7488;
	m->idiag_uid = 100;
	put_meminfo(nlh, SK_MEMINFO_VARS, 8192, 91);
	msg_end(nlh);
	/* a connected client socket, IPv6 only */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	m = diag_msg(nlh, AF_INET6, "2001:db8::1", 40000, 1, 222);
	inet_pton(AF_INET6, "2001:db8::53", m->id.idiag_dst);
	m->id.idiag_dport = htons(53);
	mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, 1);
	put_meminfo(nlh, SK_MEMINFO_VARS, 212992, 0);
	msg_end(nlh);
	/* skmeminfo too short for the drops: neither buffer nor drops */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "0.0.0.0", 514, 7, 333);
	put_meminfo(nlh, SK_MEMINFO_DROPS, 212992, 0);
	msg_end(nlh);
	/* too short, and a family that is not ours */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	mnl_nlmsg_put_extra_header(nlh, 12);
	msg_end(nlh);
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "10.0.0.1", 1, 7, 444)->idiag_family = AF_UNIX;
	msg_end(nlh);

	is_int(udpdiag_parse(&t, buf, used, &bad), 1, "a batch without DONE: more to come");
	is_int(bad, 2, "short message and foreign family skipped, counted");
	is_int(t.total, 3, "three sockets counted");
	is_int(t.connected, 1, "one connected");
	is_int(t.dropping, 1, "one dropping");
	is_int(t.drops, 91, "drops summed");
	is_int(udptab_finish(&t), 0, "finished");
	if (t.n == 3) {
		/* sorted by port */
		is_int(t.s[0].ep.port, 53, "port in host order, lowest first");
		is_int(t.s[0].queue, 7488, "queue from idiag_rqueue");
		ok(t.s[0].has_rcvbuf && t.s[0].rcvbuf == 8192, "receive buffer from skmeminfo");
		ok(t.s[0].has_drops && t.s[0].drops == 91, "drops from skmeminfo");
		ok(!t.s[0].connected, "unconnected");
		is_int(t.s[0].uid, 100, "uid");
		ok(!t.s[1].has_rcvbuf && !t.s[1].has_drops, "skmeminfo too short: no buffer, no drops");
		ok(t.s[2].connected && t.s[2].peer.port == 53, "connected, with its peer");
		is_int(t.s[2].v6only, 1, "v6only");
		is_int(t.inodes[2], 222, "inodes listed for the owner scan");
	} else {
		ok(0, "three sockets kept (got %zu)", t.n);
	}
	used = 0;
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 81, 7, 555);
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	msg_end(nlh);
	is_int(udpdiag_parse(&t, buf, used, &bad), -EINTR, "NLM_F_DUMP_INTR is -EINTR");
	udptab_free(&t);
}

/* Which sockets a table of 3 keeps out of many: dropping first, then the
 * fullest, then drops and queue, then the lower port. */
static void test_keep(void)
{
	static const struct {
		unsigned port;
		uint32_t queue, rcvbuf, drops;
	} in[] = {
		{ 1000, 0, 212992, 0 },        /* idle */
		{ 1001, 100000, 212992, 0 },   /* half full */
		{ 1002, 0, 212992, 5 },        /* dropped once, empty now */
		{ 1003, 0, 212992, 0 },        /* idle */
		{ 1004, 212992, 212992, 900 }, /* full and dropping */
		{ 1005, 200000, 212992, 0 },   /* nearly full */
		{ 1006, 0, 212992, 0 },
		{ 999, 0, 212992, 0 },
	};
	static const unsigned want[] = { 1002, 1004, 1005 };
	struct udptab t;

	udptab_init(&t, 3);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct udp_sock s;

		memset(&s, 0, sizeof(s));
		s.ep.family = AF_INET;
		s.ep.port = (uint16_t)in[i].port;
		s.queue = in[i].queue;
		s.rcvbuf = in[i].rcvbuf;
		s.drops = in[i].drops;
		s.has_rcvbuf = s.has_drops = true;
		s.inode = 10 + i;
		udptab_add(&t, &s);
	}
	udptab_finish(&t);
	is_int(t.total, 8, "every socket counted");
	is_int(t.n, 3, "three kept");
	is_int(t.queued, 3, "queued counted over all");
	for (size_t i = 0; i < t.n && i < 3; i++)
		is_int(t.s[i].ep.port, want[i], "kept #%zu", i);
	udptab_free(&t);

	/* among equals, the lowest ports */
	udptab_init(&t, 2);
	for (unsigned p = 10; p > 0; p--) {
		struct udp_sock s;

		memset(&s, 0, sizeof(s));
		s.ep.family = AF_INET;
		s.ep.port = (uint16_t)(5000 + p);
		udptab_add(&t, &s);
	}
	udptab_finish(&t);
	ok(t.n == 2 && t.s[0].ep.port == 5001 && t.s[1].ep.port == 5002, "idle sockets: the lowest ports kept");
	udptab_free(&t);

	/* a table of 0 only counts */
	udptab_init(&t, 0);
	{
		struct udp_sock s = { .drops = 3 };

		is_int(udptab_add(&t, &s), 0, "cap 0: counted");
	}
	udptab_finish(&t);
	ok(t.n == 0 && t.total == 1 && t.dropping == 1, "cap 0: nothing kept");
	udptab_free(&t);
}

static void test_proc(void)
{
	static const struct {
		int family;
		const char *line;
		int ret;
		unsigned port, queue, drops;
		bool connected;
	} cases[] = {
		{ AF_INET, " 2005: 0100007F:1389 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 5859403 2 00000000117f81fa 1744",
		  0, 5001, 0x34000, 1744, false },
		{ AF_INET, " 2046: 0100007F:D3B2 0100007F:1389 01 00000000:00000000 00:00000000 00000000     0        0 5859408 2 00000000400fe544 0",
		  0, 54194, 0, 0, true },
		{ AF_INET6, "  515: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000300 00:00000000 00000000   101        0 777 2 0000000000000000 12",
		  0, 53, 0x300, 12, false },
		/* no drops column (not a udp line) */
		{ AF_INET, " 2005: 0100007F:1389 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 5859403",
		  -EINVAL, 0, 0, 0, false },
		/* drops not a number, too large */
		{ AF_INET, " 1: 0100007F:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 x1",
		  -EINVAL, 0, 0, 0, false },
		{ AF_INET, " 1: 0100007F:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 99999999999",
		  -EINVAL, 0, 0, 0, false },
		{ AF_INET6, " 1: 0100007F:1389 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 1",
		  -EINVAL, 0, 0, 0, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct udp_sock s;
		int r = procudp_parse_line(cases[i].line, strlen(cases[i].line), cases[i].family, &s);

		is_int(r, cases[i].ret, "proc line %zu: result", i);
		if (r == 0 && cases[i].ret == 0) {
			ok(s.ep.port == cases[i].port && s.queue == cases[i].queue && s.drops == cases[i].drops &&
			   s.has_drops && !s.has_rcvbuf && s.connected == cases[i].connected,
			   "proc line %zu: port %u, queue %u, drops %u", i, s.ep.port, s.queue, s.drops);
		}
	}
}

int main(void)
{
	test_netlink();
	test_keep();
	test_proc();
	return tap_done();
}
