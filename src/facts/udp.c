/* UDP sockets of the current network namespace: NETLINK_SOCK_DIAG with
 * IPPROTO_UDP (both families, every state: unconnected and connected,
 * with INET_DIAG_SKMEMINFO for the receive buffer and the drops), or
 * /proc/net/udp and udp6 (receive queue and drops, no buffer size) when
 * netlink cannot be used and below --root.
 *
 * A media server may hold ten thousand sockets and a resolver thousands of
 * connected ones, so nothing is kept per socket beyond UDP_LISTED: while
 * the dump streams, every socket is counted and only the most telling are
 * kept, in a heap ordered by how much they need looking at (dropping
 * first, then the fullest, then by drops and queue; the lowest port among
 * equals).  Memory is flat in the number of sockets. */
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

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "facts/facts.h"
#include "facts/sockets.h"
#include "util/fileio.h"

#define UDP_STATE_ESTABLISHED 1     /* connect()ed: a peer */
#define UDP_STATES_ALL 0xfffu

void udptab_init(struct udptab *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
}

void udptab_reset(struct udptab *t)
{
	size_t cap = t->cap;
	struct udp_sock *s = t->s;

	free(t->inodes);
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	t->s = s;
}

void udptab_free(struct udptab *t)
{
	free(t->s);
	free(t->inodes);
	udptab_init(t, t->cap);
}

/* ---- ranking ---- */

/* queue * 1000 / rcvbuf; without a known buffer, 0 or (queued) 1 */
static uint64_t fill_permille(const struct udp_sock *s)
{
	if (s->has_rcvbuf && s->rcvbuf > 0)
		return (uint64_t)s->queue * 1000 / s->rcvbuf;
	return s->queue > 0;
}

static int ep_cmp(const struct sock_ep *a, const struct sock_ep *b)
{
	int c;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->ifindex != b->ifindex)
		return a->ifindex < b->ifindex ? -1 : 1;
	return 0;
}

/* The order of the facts: by local endpoint, then peer, then inode. */
static int sock_cmp(const struct udp_sock *a, const struct udp_sock *b)
{
	int c = ep_cmp(&a->ep, &b->ep);

	if (c)
		return c;
	if (a->lite != b->lite)
		return a->lite ? 1 : -1;
	if (a->connected != b->connected)
		return a->connected ? 1 : -1;
	if ((c = ep_cmp(&a->peer, &b->peer)))
		return c;
	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	return 0;
}

/* >0 when a needs looking at more than b (and is kept before it). */
static int rank_cmp(const struct udp_sock *a, const struct udp_sock *b)
{
	bool da = a->drops > 0, db = b->drops > 0;
	uint64_t fa = fill_permille(a), fb = fill_permille(b);

	if (da != db)
		return da ? 1 : -1;
	if (fa != fb)
		return fa > fb ? 1 : -1;
	if (a->drops != b->drops)
		return a->drops > b->drops ? 1 : -1;
	if (a->queue != b->queue)
		return a->queue > b->queue ? 1 : -1;
	/* equals: the lower endpoint is kept */
	return -sock_cmp(a, b);
}

/* t->s[0 .. n) is a min-heap by rank: the root goes first. */
static void sift_down(struct udptab *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct udp_sock tmp;

		if (l < t->n && rank_cmp(&t->s[l], &t->s[m]) < 0)
			m = l;
		if (r < t->n && rank_cmp(&t->s[r], &t->s[m]) < 0)
			m = r;
		if (m == i)
			return;
		tmp = t->s[i];
		t->s[i] = t->s[m];
		t->s[m] = tmp;
		i = m;
	}
}

static void sift_up(struct udptab *t, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct udp_sock tmp;

		if (rank_cmp(&t->s[i], &t->s[p]) >= 0)
			return;
		tmp = t->s[i];
		t->s[i] = t->s[p];
		t->s[p] = tmp;
		i = p;
	}
}

int udptab_add(struct udptab *t, const struct udp_sock *s)
{
	t->total++;
	if (s->connected)
		t->connected++;
	if (s->drops > 0)
		t->dropping++;
	if (s->queue > 0)
		t->queued++;
	t->drops += s->drops;
	if (t->cap == 0)
		return 0;
	if (t->n < t->cap) {
		if (!t->s) {
			/* all at once: the heap never grows past cap */
			t->s = malloc(t->cap * sizeof(*t->s));
			if (!t->s)
				return -ENOMEM;
		}
		t->s[t->n++] = *s;
		sift_up(t, t->n - 1);
		return 0;
	}
	if (rank_cmp(s, &t->s[0]) <= 0)
		return 0;
	t->s[0] = *s;
	sift_down(t, 0);
	return 0;
}

static int sock_qcmp(const void *a, const void *b)
{
	return sock_cmp(a, b);
}

int udptab_finish(struct udptab *t)
{
	if (t->n > 1)
		qsort(t->s, t->n, sizeof(*t->s), sock_qcmp);
	free(t->inodes);
	t->inodes = malloc((t->n ? t->n : 1) * sizeof(*t->inodes));
	if (!t->inodes)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		t->inodes[i] = t->s[i].inode;
	t->finished = true;
	return 0;
}

/* ---- NETLINK_SOCK_DIAG ---- */

struct udp_ctx {
	struct udptab *t;
	unsigned long bad;
	int err;
	bool lite;              /* the dump is UDP-Lite's */
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { NULL };
	struct udp_ctx *c = data;
	const struct inet_diag_msg *m;
	struct udp_sock s;
	size_t alen;
	int r;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		c->bad++;
		return MNL_CB_OK;
	}
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) {
		c->bad++;
		return MNL_CB_OK;
	}
	alen = m->idiag_family == AF_INET ? 4 : 16;
	memset(&s, 0, sizeof(s));
	s.ep.family = m->idiag_family;
	memcpy(s.ep.addr, m->id.idiag_src, alen);
	s.ep.port = ntohs(m->id.idiag_sport);
	s.ep.ifindex = m->id.idiag_if;
	if (m->idiag_state == UDP_STATE_ESTABLISHED) {
		s.connected = true;
		s.peer.family = m->idiag_family;
		memcpy(s.peer.addr, m->id.idiag_dst, alen);
		s.peer.port = ntohs(m->id.idiag_dport);
	}
	s.queue = m->idiag_rqueue;
	s.lite = c->lite;
	s.uid = m->idiag_uid;
	s.inode = m->idiag_inode;
	s.v6only = -1;
	mnl_attr_parse(nlh, sizeof(*m), sockdiag_attr_cb, tb);
	if (tb[INET_DIAG_SKMEMINFO] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_SKMEMINFO]) >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)) {
		uint32_t mem[SK_MEMINFO_DROPS + 1];

		memcpy(mem, mnl_attr_get_payload(tb[INET_DIAG_SKMEMINFO]), sizeof(mem));
		s.rcvbuf = mem[SK_MEMINFO_RCVBUF];
		s.drops = mem[SK_MEMINFO_DROPS];
		s.has_rcvbuf = s.has_drops = true;
	}
	if (m->idiag_family == AF_INET6 && tb[INET_DIAG_SKV6ONLY] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_SKV6ONLY]) >= 1)
		s.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) ? 1 : 0;
	r = udptab_add(c->t, &s);
	if (r < 0) {
		c->err = r;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int udpdiag_parse(struct udptab *t, const void *buf, size_t len, unsigned long *bad)
{
	struct udp_ctx c = { .t = t };
	int r = sockdiag_parse_msgs(buf, len, data_cb, &c, &c.err);

	*bad += c.bad;
	return r;
}

int udpdiag_collect(struct udptab *t, struct sockdiag_result *res)
{
	static const int families[] = { AF_INET, AF_INET6 };
	char *buf = malloc(SOCKDIAG_BUF_SIZE);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (unsigned attempt = 0;; attempt++) {
		struct udp_ctx c = { .t = t };

		udptab_reset(t);
		r = 0;
		for (size_t i = 0; i < 4 && r == 0; i++) {
			int fam = families[i % 2];

			c.lite = i >= 2;
			if (fam == AF_INET6 && res->ipv6_skipped)
				continue;
			r = sockdiag_dump(fam, c.lite ? IPPROTO_UDPLITE : IPPROTO_UDP, UDP_STATES_ALL,
					  1u << (INET_DIAG_SKMEMINFO - 1), buf, data_cb, &c, &c.err);
			if (r < 0 && fam == AF_INET6 && !c.lite && r != -EINTR && r != -ENOMEM &&
			    sockdiag_ipv6_unavailable(r)) {
				res->ipv6_skipped = true;
				res->ipv6_error = r;
				r = 0;
			}
			/* a kernel without UDP-Lite, or without its diag */
			if (r < 0 && c.lite && r != -EINTR && r != -ENOMEM)
				r = 0;
		}
		res->bad_msgs += c.bad;
		if (r != -EINTR || attempt == SOCKDIAG_RETRIES)
			break;
		res->restarts++;
	}
	free(buf);
	return r;
}

/* ---- /proc/net/udp and udp6 ---- */

/* The n-th (from 0) blank-separated field of line, or NULL. */
static const char *field(const char *line, size_t len, unsigned n, size_t *flen)
{
	const char *p = line, *e = line + len;

	for (unsigned k = 0;; k++) {
		const char *s;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e)
			return NULL;
		s = p;
		while (p < e && *p != ' ' && *p != '\t')
			p++;
		if (k == n) {
			*flen = (size_t)(p - s);
			return s;
		}
	}
}

int procudp_parse_line(const char *line, size_t len, int family, struct udp_sock *s)
{
	struct proctcp_row row;
	const char *d;
	size_t dlen;
	uint64_t drops = 0;

	/* the columns of /proc/net/tcp, then ref, pointer and drops */
	if (proctcp_parse_line(line, len, family, &row) < 0)
		return -EINVAL;
	d = field(line, len, 12, &dlen);
	if (!d || dlen == 0 || dlen > 10)
		return -EINVAL;
	for (size_t i = 0; i < dlen; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -EINVAL;
		drops = drops * 10 + (uint64_t)(d[i] - '0');
	}
	if (drops > UINT32_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->ep = row.ep;
	if (row.state == UDP_STATE_ESTABLISHED) {
		s->connected = true;
		s->peer = row.remote;
	}
	s->queue = row.rx_queue;
	s->drops = (uint32_t)drops;
	s->has_drops = true;
	s->v6only = -1;
	s->uid = row.uid;
	s->inode = row.inode;
	return 0;
}

struct proc_ctx {
	int family;
	bool lite;
	struct udptab *t;
};

static int proc_line(const char *line, size_t len, unsigned long lineno, void *data,
		     struct proctcp_stats *st)
{
	struct proc_ctx *c = data;
	struct udp_sock s;

	if (procudp_parse_line(line, len, c->family, &s) < 0) {
		proctable_bad_line(st, lineno);
		return 0;
	}
	s.lite = c->lite;
	st->rows++;
	return udptab_add(c->t, &s);
}

/* ROOT/proc/net/udp, udp6, udplite and udplite6 into t.  Returns 0,
 * -ENOMEM, or -errno when proc/net/udp cannot be read (noted). */
static int collect_proc(json_t *doc, const struct nk_root *root, struct udptab *t)
{
	static const struct {
		const char *path;
		int family;
		bool lite;
	} files[] = {
		{ "proc/net/udp", AF_INET, false },
		{ "proc/net/udp6", AF_INET6, false },
		{ "proc/net/udplite", AF_INET, true },
		{ "proc/net/udplite6", AF_INET6, true },
	};

	udptab_reset(t);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct proctcp_stats st = { 0 };
		struct proc_ctx c = { .family = files[i].family, .lite = files[i].lite, .t = t };
		int fd = root_open_in(root, files[i].path, O_RDONLY | O_NONBLOCK);
		int r;

		if (fd < 0) {
			if ((files[i].family == AF_INET6 || files[i].lite) && fd == -ENOENT)
				continue;
			facts_note(doc, "/%s: %s: %s", files[i].path, fileio_strerror(-fd),
				   files[i].lite ? "no UDP-Lite sockets listed"
				   : files[i].family == AF_INET ? "no UDP sockets known" : "no IPv6 UDP sockets listed");
			if (files[i].family == AF_INET && !files[i].lite)
				return fd;
			continue;
		}
		r = proctable_read_fd(fd, proc_line, &c, &st);
		close(fd);
		if (r == -ENOMEM)
			return r;
		if (st.bad)
			facts_note(doc, "/%s: %lu malformed line(s) skipped (first: line %lu)", files[i].path,
				   st.bad, st.first_bad_line);
		if (r < 0) {
			facts_note(doc, "/%s: %s", files[i].path, fileio_strerror(-r));
			if (files[i].family == AF_INET && !files[i].lite)
				return r;
		}
	}
	return 0;
}

int udp_collect(json_t *doc, const struct nk_root *root, struct udptab *t)
{
	int r;

	t->source = NULL;
	if (root->live) {
		struct sockdiag_result res = { 0 };

		r = udpdiag_collect(t, &res);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			if (res.ipv6_skipped)
				facts_note(doc, "sockets: IPv6 UDP socket dump refused (%s): no IPv6 UDP sockets listed",
					   strerror(-res.ipv6_error));
			if (res.bad_msgs)
				facts_note(doc, "sockets: %lu malformed netlink message(s) of the UDP dump skipped",
					   res.bad_msgs);
			t->source = "netlink";
			return udptab_finish(t);
		}
		facts_note(doc, "sockets: UDP netlink dump %s (%s); UDP sockets read from /proc/net/udp and "
			   "udp6, which show no receive buffer size",
			   r == -EINTR ? "interrupted by concurrent changes" : sockdiag_refused(r) ? "refused" : "failed",
			   strerror(-r));
	}
	r = collect_proc(doc, root, t);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		udptab_reset(t);
		return udptab_finish(t);
	}
	t->source = "proc";
	return udptab_finish(t);
}

/* ---- JSON ---- */

static json_t *jint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* "203.0.113.9:53", "[2001:db8::1]:443" */
static json_t *peer_json(const struct sock_ep *ep)
{
	char addr[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 16];

	if (!inet_ntop(ep->family, ep->addr, addr, sizeof(addr)))
		strcpy(addr, "?");
	snprintf(out, sizeof(out), ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, (unsigned)ep->port);
	return json_string(out);
}

static json_t *sock_json(const struct udptab *t, size_t k, const struct socktab *owners,
			 struct sock_procs_json *po)
{
	const struct udp_sock *s = &t->s[k];
	char addr[INET6_ADDRSTRLEN];
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	if (!inet_ntop(s->ep.family, s->ep.addr, addr, sizeof(addr)))
		strcpy(addr, "?");
	if (s->lite)
		err |= facts_set(o, "protocol", json_string("udplite"));
	err |= facts_set(o, "family", json_string(s->ep.family == AF_INET ? "ipv4" : "ipv6"));
	err |= facts_set(o, "address", json_string(addr));
	err |= facts_set(o, "port", json_integer(s->ep.port));
	if (s->ep.family == AF_INET6 && s->v6only >= 0)
		err |= facts_set(o, "v6only", json_boolean(s->v6only));
	if (s->ep.ifindex)
		err |= facts_set(o, "interface", json_integer(s->ep.ifindex));
	err |= facts_set(o, "connected", json_boolean(s->connected));
	if (s->connected)
		err |= facts_set(o, "peer", peer_json(&s->peer));
	err |= facts_set(o, "queue", jint(s->queue));
	if (s->has_rcvbuf)
		err |= facts_set(o, "rcvbuf", jint(s->rcvbuf));
	if (s->has_drops)
		err |= facts_set(o, "drops", jint(s->drops));
	err |= facts_set(o, "inode", jint(s->inode));
	err |= facts_set(o, "uid", jint(s->uid));
	if (po)
		err |= facts_set(o, "processes", sock_procs_json_array(po, owners, owners->n + k));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int udptab_to_json(json_t *sockets, const struct udptab *t, const struct socktab *owners,
		   struct sock_procs_json *po)
{
	json_t *a = json_array(), *st;
	uint64_t listed_dropping = 0;
	int err = 0;

	if (!a)
		return -ENOMEM;
	for (size_t k = 0; k < t->n && !err; k++) {
		json_t *o = sock_json(t, k, owners, po);

		listed_dropping += t->s[k].drops > 0;
		err |= o ? json_array_append_new(a, o) : -1;
	}
	st = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "source", t->source ? t->source : "none",
		       "sockets", jint(t->total), "listed", jint(t->n), "connected", jint(t->connected),
		       "queued", jint(t->queued), "dropping", jint(t->dropping),
		       "unlisted_dropping", jint(t->dropping - listed_dropping), "drops", jint(t->drops));
	err |= facts_set(sockets, "udp_stats", st);
	err |= json_object_set_new(sockets, "udp", a);
	return err ? -ENOMEM : 0;
}
