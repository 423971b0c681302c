/* Parsing SOCK_DIAG_BY_FAMILY answers: well-formed, short and garbled
 * messages, errors, NLM_F_DUMP_INTR, built here as the kernel lays them
 * out; and a dump of a real kernel replayed (tests/fixtures/sockdiag/:
 * listeners of both families with full queues and drops, request
 * sockets).  The live kernel is exercised by
 * tests/integration/listeners-netns.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "facts/sockets.h"
#include "nlbuild.h"
#include "tap.h"

static void put_meminfo(struct nlmsghdr *nlh, unsigned n, uint32_t drops)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };

	if (n > SK_MEMINFO_DROPS)
		mem[SK_MEMINFO_DROPS] = drops;
	mnl_attr_put(nlh, INET_DIAG_SKMEMINFO, n * sizeof(uint32_t), mem);
}

static void done(int status)
{
	struct nlmsghdr *nlh = msg_begin(NLMSG_DONE);

	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	memcpy(mnl_nlmsg_get_payload(nlh), &status, sizeof(status));
	msg_end(nlh);
}

static void test_listeners(void)
{
	struct socktab t;
	struct nlmsghdr *nlh;
	struct inet_diag_msg *m;
	unsigned long bad = 0;

	socktab_init(&t);
	used = 0;
	/* 1: a complete IPv4 listener */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	m = diag_msg(nlh, AF_INET, "127.0.0.1", 80, 10, 111);
	m->idiag_rqueue = 3;
	m->idiag_wqueue = 128;
	m->idiag_uid = 1000;
	m->id.idiag_if = 2;
	put_meminfo(nlh, SK_MEMINFO_VARS, 7);
	msg_end(nlh);
	/* 2: IPv6, dual-stack, skmeminfo too short to hold drops */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	m = diag_msg(nlh, AF_INET6, "::", 443, 10, 222);
	m->idiag_wqueue = 4096;
	mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, 0);
	put_meminfo(nlh, SK_MEMINFO_DROPS, 0);
	msg_end(nlh);
	/* 3: shorter than struct inet_diag_msg */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	mnl_nlmsg_put_extra_header(nlh, 10);
	msg_end(nlh);
	/* 4: an attribute claiming more bytes than the message has */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	m = diag_msg(nlh, AF_INET6, "::1", 8443, 10, 333);
	{
		struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

		mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, 1);
		a->nla_len = 200;
	}
	msg_end(nlh);
	/* 5: a family that is not ours */
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "10.0.0.1", 1, 10, 444)->idiag_family = AF_UNIX;
	msg_end(nlh);

	is_int(sockdiag_parse(&t, true, buf, used, &bad), 1, "a batch without DONE: more to come");
	is_int(bad, 2, "short message and foreign family skipped, counted");
	is_int(t.n, 3, "three listeners");
	if (t.n == 3) {
		is_int(t.l[0].queue, 3, "queue from idiag_rqueue");
		is_int(t.l[0].limit, 128, "limit from idiag_wqueue");
		ok(t.l[0].has_limit && t.l[0].has_drops && t.l[0].drops == 7, "drops from skmeminfo");
		is_int(t.l[0].ep.ifindex, 2, "bound interface");
		is_int(t.l[0].ep.port, 80, "port in host order");
		is_int(t.l[0].uid, 1000, "uid");
		is_int(t.l[0].v6only, -1, "no v6only for IPv4");
		ok(!t.l[1].has_drops, "skmeminfo too short: no drops");
		is_int(t.l[1].v6only, 0, "dual-stack");
		is_int(t.l[1].limit, 4096, "IPv6 limit");
		is_int(t.l[2].inode, 333, "garbled attribute: listener kept");
		is_int(t.l[2].v6only, -1, "garbled attribute: v6only unknown");
	}
	used = 0;
	done(0);
	is_int(sockdiag_parse(&t, true, buf, used, &bad), 0, "NLMSG_DONE ends the dump");
	used = 0;
	done(-ENOENT);
	is_int(sockdiag_parse(&t, true, buf, used, &bad), -ENOENT, "an error in NLMSG_DONE");
	used = 0;
	{
		struct nlmsgerr *e;

		nlh = msg_begin(NLMSG_ERROR);
		e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
		e->error = -EACCES;
		msg_end(nlh);
	}
	is_int(sockdiag_parse(&t, true, buf, used, &bad), -EACCES, "NLMSG_ERROR becomes -errno");
	used = 0;
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 81, 10, 555);
	nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
	msg_end(nlh);
	is_int(sockdiag_parse(&t, true, buf, used, &bad), -EINTR, "NLM_F_DUMP_INTR is -EINTR");
	/* a buffer cut inside a header */
	used = 0;
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 82, 10, 666);
	msg_end(nlh);
	bad = 0;
	t.n = 0;
	is_int(sockdiag_parse(&t, true, buf, 8, &bad), 1, "a cut buffer is no crash");
	is_int(t.n, 0, "and yields nothing");
	socktab_free(&t);
}

static void test_states(void)
{
	struct socktab t;
	struct nlmsghdr *nlh;
	unsigned long bad = 0;

	socktab_init(&t);
	used = 0;
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 80, 1, 700);
	msg_end(nlh);
	/* the answer to the one walk for both families */
	nlh = msg_begin(TCPDIAG_GETSOCK);
	diag_msg(nlh, AF_INET6, "::1", 8080, 1, 702);
	msg_end(nlh);
	for (int i = 0; i < 3; i++) {
		nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
		diag_msg(nlh, AF_INET6, "::ffff:127.0.0.1", 443, 3, 0);
		msg_end(nlh);
	}
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 80, 6, 0);
	msg_end(nlh);
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 80, 13, 0);
	msg_end(nlh);
	nlh = msg_begin(SOCK_DIAG_BY_FAMILY);
	diag_msg(nlh, AF_INET, "127.0.0.1", 80, 10, 701);
	msg_end(nlh);
	done(0);
	is_int(sockdiag_parse(&t, false, buf, used, &bad), 0, "states batch parsed to DONE");
	is_int(t.states[1], 2, "ESTABLISHED, one answered as TCPDIAG_GETSOCK");
	is_int(t.states[3], 3, "SYN_RECV");
	is_int(t.states[6], 1, "TIME_WAIT");
	is_int(t.states[10], 0, "a listener in dump 2 is not counted");
	is_int(bad, 1, "unknown state 13 counted as bad");
	is_int(t.nreq, 1, "requests aggregated by local endpoint");
	if (t.nreq == 1)
		is_int(t.req[0].count, 3, "three on one endpoint");
	socktab_free(&t);
}

/* The listener of t on port, NULL when none. */
static const struct listener *on_port(const struct socktab *t, unsigned port)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->l[i].ep.port == port)
			return &t->l[i];
	return NULL;
}

/* tests/fixtures/sockdiag/listeners.dump, captured by capture.sh there:
 * the answers of the listener dumps (IPv4, IPv6) and of the request
 * socket dumps (IPv4, IPv6) of a namespace, each ending with NLMSG_DONE,
 * as the kernel sent them. */
static void test_captured(void)
{
	const char *top = getenv("TOP_SRCDIR");
	char path[4096];
	static char dump[65536];
	size_t len, off = 0;
	unsigned long bad = 0;
	int seg = 0, r = 1;
	struct socktab t;
	const struct listener *l;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fixtures/sockdiag/listeners.dump", top ? top : ".");
	f = fopen(path, "rb");
	ok(f != NULL, "captured dump: %s opened", path);
	if (!f)
		return;
	len = fread(dump, 1, sizeof(dump), f);
	fclose(f);
	socktab_init(&t);
	/* one call per dump, up to its NLMSG_DONE: listeners, then requests */
	while (off < len && r >= 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(dump + off);
		size_t end = off;
		int left = (int)(len - off);

		while (mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_type != NLMSG_DONE)
			nlh = mnl_nlmsg_next(nlh, &left);
		if (!mnl_nlmsg_ok(nlh, left))
			break;
		end = (size_t)((const char *)nlh - dump) + NLMSG_ALIGN(nlh->nlmsg_len);
		r = sockdiag_parse(&t, seg < 2, dump + off, end - off, &bad);
		is_int(r, 0, "captured dump %d parsed to its NLMSG_DONE", seg + 1);
		off = end;
		seg++;
	}
	is_int(seg, 4, "four dumps: listeners and request sockets of IPv4 and IPv6");
	is_int(off, len, "nothing left over");
	is_int(bad, 0, "no message skipped");
	is_int(socktab_finish(&t), 0, "socktab_finish");
	is_int(t.n, 6, "six listeners");
	l = on_port(&t, 8080);
	ok(l && l->ep.family == AF_INET && l->queue == 2 && l->limit == 1 && l->has_drops &&
	   l->drops == 3 && l->v6only == -1, "IPv4 127.0.0.1:8080: a full queue of 2 over 1, 3 drops");
	l = on_port(&t, 8443);
	ok(l && l->ep.family == AF_INET6 && l->queue == 2 && l->limit == 1 && l->v6only == 1 &&
	   l->ep.addr[15] == 1, "IPv6 [::1]:8443: a full queue, IPv6 only");
	l = on_port(&t, 9000);
	ok(l && l->ep.family == AF_INET6 && l->v6only == 0 && l->limit == 128 && l->queue == 0,
	   "[::]:9000 dual-stack, idle");
	l = on_port(&t, 9001);
	ok(l && l->ep.family == AF_INET && l->limit == 16 && !l->ep.addr[0], "0.0.0.0:9001");
	l = on_port(&t, 8081);
	ok(l && l->syn_recv == 4 && l->queue == 0, "127.0.0.1:8081: 4 request sockets");
	l = on_port(&t, 8444);
	ok(l && l->syn_recv == 3, "[::1]:8444: 3 request sockets");
	is_int(t.states[3], 7, "7 SYN_RECV counted");
	for (size_t i = 0; i < t.n; i++)
		ok(t.l[i].inode != 0 && t.l[i].has_limit, "listener %zu: inode and limit", i);
	socktab_free(&t);
}

int main(void)
{
	test_listeners();
	test_states();
	test_captured();
	return tap_done();
}
