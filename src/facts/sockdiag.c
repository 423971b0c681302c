/* TCP sockets of the current network namespace via NETLINK_SOCK_DIAG.
 *
 * Two phases, each filtered by state in the kernel:
 *   1. listeners (1 << TCP_LISTEN) with INET_DIAG_SKMEMINFO, for the queue
 *      (idiag_rqueue), the limit (idiag_wqueue), drops and v6only: one dump
 *      per family (AF_INET, then AF_INET6), which walk the small listening
 *      hash and tell whether IPv6 is there;
 *   2. every other state (or only SYN_RECV, when the caller needs no
 *      per-state counts), no extensions: only counted, and request sockets
 *      (SYN_RECV, inode 0) aggregated by local endpoint.  An IPv4 client's
 *      request to a dual-stack [::] listener comes as AF_INET6, with the
 *      local address IPv4-mapped (::ffff:a.b.c.d).
 * Phase 2 makes the kernel walk its established hash table, which every
 * network namespace shares unless created with tcp_child_ehash_entries: the
 * walk visits every connection of the host, whatever its namespace.  A
 * SOCK_DIAG_BY_FAMILY request names one family and so walks it once per
 * family; the older TCPDIAG_GETSOCK request (struct inet_diag_req, answered
 * with the same messages) asks for both families in one walk, which halves
 * the cost on a host with many connections.  Phase 2 uses it, and falls back
 * to a dump per family when the kernel refuses it.
 * Nothing is stored per connection.  A dump answered with NLM_F_DUMP_INTR
 * (libmnl reports it as EINTR) is restarted from scratch. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "facts/sockets.h"

#define TCP_STATE_SYN_RECV 3
#define TCP_STATE_LISTEN 10
/* every state 1..11 but LISTEN; the kernel adds TCP_NEW_SYN_RECV (request
 * sockets) when SYN_RECV is asked for */
#define STATES_OTHER (((1u << 12) - 2) & ~(1u << TCP_STATE_LISTEN))
/* only the request sockets: far cheaper with many connections, as the
 * kernel builds no message for the others */
#define STATES_SYN_RECV (1u << TCP_STATE_SYN_RECV)


struct dump_ctx {
	struct socktab *t;
	bool listeners;         /* dump 1 */
	unsigned long bad;      /* messages too short or of an unexpected family */
	int err;                /* -errno from a callback (-ENOMEM) */
};

int sockdiag_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type == INET_DIAG_SKMEMINFO || type == INET_DIAG_SKV6ONLY)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void msg_endpoint(const struct inet_diag_msg *m, struct sock_ep *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = m->idiag_family;
	memcpy(ep->addr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	ep->port = ntohs(m->id.idiag_sport);
	ep->ifindex = m->id.idiag_if;
}

static int add_listener(struct dump_ctx *c, const struct nlmsghdr *nlh,
			const struct inet_diag_msg *m)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { NULL };
	struct listener l;

	memset(&l, 0, sizeof(l));
	msg_endpoint(m, &l.ep);
	l.queue = m->idiag_rqueue;
	l.limit = m->idiag_wqueue;
	l.has_limit = true;
	l.uid = m->idiag_uid;
	l.inode = m->idiag_inode;
	l.v6only = -1;
	/* attributes are optional: a malformed tail only loses them */
	mnl_attr_parse(nlh, sizeof(*m), sockdiag_attr_cb, tb);
	if (tb[INET_DIAG_SKMEMINFO] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_SKMEMINFO]) >=
		    (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t)) {
		uint32_t mem[SK_MEMINFO_DROPS + 1];

		memcpy(mem, mnl_attr_get_payload(tb[INET_DIAG_SKMEMINFO]), sizeof(mem));
		l.drops = mem[SK_MEMINFO_DROPS];
		l.has_drops = true;
	}
	if (m->idiag_family == AF_INET6 && tb[INET_DIAG_SKV6ONLY] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_SKV6ONLY]) >= 1)
		l.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) ? 1 : 0;
	return socktab_add_listener(c->t, &l);
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	const struct inet_diag_msg *m;
	int r;

	if ((nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY && nlh->nlmsg_type != TCPDIAG_GETSOCK) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		c->bad++;
		return MNL_CB_OK;
	}
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) {
		c->bad++;
		return MNL_CB_OK;
	}
	if (c->listeners) {
		if (m->idiag_state != TCP_STATE_LISTEN)
			return MNL_CB_OK;
		r = add_listener(c, nlh, m);
	} else {
		struct sock_ep ep;
		bool request = m->idiag_state == TCP_STATE_SYN_RECV && m->idiag_inode == 0;

		if (m->idiag_state == TCP_STATE_LISTEN)
			return MNL_CB_OK;       /* became a listener since dump 1 */
		if (request)
			msg_endpoint(m, &ep);
		r = socktab_count(c->t, m->idiag_state, request ? &ep : NULL);
		if (r == -EINVAL) {
			c->bad++;
			r = 0;
		}
	}
	if (r < 0) {
		c->err = r;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE carries the dump's final status as an int. */
static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	int status;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(status)) {
		memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
		if (status < 0) {
			errno = -status;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static mnl_cb_t ctl_cb[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = error_cb,
	[NLMSG_DONE] = done_cb,
};

/* Run the callbacks over one batch of messages.  Returns 1 (more to
 * come), 0 (done) or -errno: the one place where errno becomes a return
 * value.  A data callback that fails stores -errno in *cb_err first. */
static int parse_batch(const void *buf, size_t len, unsigned int seq, unsigned int portid,
		       sockdiag_cb cb, void *data, const int *cb_err)
{
	int ret;

	errno = 0;
	ret = mnl_cb_run2(buf, len, seq, portid, cb, data, ctl_cb, NLMSG_MIN_TYPE);
	if (ret == MNL_CB_ERROR)
		return *cb_err ? *cb_err : (errno ? -errno : -EPROTO);
	return ret == MNL_CB_STOP ? 0 : 1;
}

int sockdiag_parse_msgs(const void *buf, size_t len, sockdiag_cb cb, void *data, const int *cb_err)
{
	return parse_batch(buf, len, 0, 0, cb, data, cb_err);
}

int sockdiag_parse(struct socktab *t, bool listeners, const void *buf, size_t len,
		   unsigned long *bad)
{
	struct dump_ctx c = { .t = t, .listeners = listeners };
	int r = parse_batch(buf, len, 0, 0, data_cb, &c, &c.err);

	*bad += c.bad;
	return r;
}

/* Send the request of type with its header req (len bytes) and run cb over
 * the answers until NLMSG_DONE. */
static int dump_request(uint16_t type, const void *req, size_t len, void *buf, sockdiag_cb cb,
			void *data, const int *cb_err)
{
	/* helper threads dump too (netns_ahead_start()): a sequence of each
	 * thread's own, as the answers are matched per socket anyway */
	static __thread unsigned int seq;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	unsigned int portid, s;
	int r = 0;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	if (!seq)
		seq = (unsigned int)time(NULL);
	s = ++seq;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = s;
	memcpy(mnl_nlmsg_put_extra_header(nlh, len), req, len);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, SOCKDIAG_BUF_SIZE);
		int ret;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0) {
			r = -EPROTO;
			break;
		}
		ret = parse_batch(buf, (size_t)n, s, portid, cb, data, cb_err);
		if (ret <= 0) {
			r = ret;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return r;
}

int sockdiag_dump(int family, int protocol, uint32_t states, uint8_t ext, void *buf,
		  sockdiag_cb cb, void *data, const int *cb_err)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)family,
		.sdiag_protocol = (uint8_t)protocol,
		.idiag_states = states,
		.idiag_ext = ext,
	};

	return dump_request(SOCK_DIAG_BY_FAMILY, &req, sizeof(req), buf, cb, data, cb_err);
}

/* Both families' TCP sockets in states in one walk (TCPDIAG_GETSOCK: the
 * kernel ignores the family of this request and asks for any). */
static int dump_tcp_any(uint32_t states, void *buf, sockdiag_cb cb, void *data, const int *cb_err)
{
	struct inet_diag_req req = { .idiag_family = AF_INET, .idiag_states = states };

	return dump_request(TCPDIAG_GETSOCK, &req, sizeof(req), buf, cb, data, cb_err);
}

bool sockdiag_refused(int err)
{
	return err == -EPERM || err == -EACCES || err == -EPROTONOSUPPORT ||
	       err == -EAFNOSUPPORT || err == -ESOCKTNOSUPPORT;
}

bool sockdiag_ipv6_unavailable(int err)
{
	return err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT ||
	       err == -EOPNOTSUPP || err == -EINVAL;
}

/* Phase 2 in one walk for both families; 1 when the kernel refused the
 * request (then nothing was counted), else 0 or -errno. */
static int others_at_once(struct dump_ctx *c, uint32_t states, char *buf)
{
	static bool refused;    /* by this kernel; helper threads dump too */
	int r;

	if (__atomic_load_n(&refused, __ATOMIC_RELAXED))
		return 1;
	r = dump_tcp_any(states, buf, data_cb, c, &c->err);
	if (r < 0 && r != -EINTR && r != -ENOMEM && !c->err) {
		/* an older request type this kernel does not serve: the
		 * dumps per family say what is wrong, if anything */
		__atomic_store_n(&refused, true, __ATOMIC_RELAXED);
		socktab_reset_counts(c->t);
		c->bad = 0;
		return 1;
	}
	return r;
}

/* One dump per family into c. */
static int per_family(struct dump_ctx *c, uint32_t states, char *buf, struct sockdiag_result *res)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++) {
		int fam = families[i];

		if (fam == AF_INET6 && res->ipv6_skipped)
			continue;
		r = sockdiag_dump(fam, IPPROTO_TCP, states,
				  c->listeners ? 1u << (INET_DIAG_SKMEMINFO - 1) : 0, buf, data_cb, c,
				  &c->err);
		if (r < 0 && fam == AF_INET6 && r != -EINTR && r != -ENOMEM &&
		    sockdiag_ipv6_unavailable(r)) {
			res->ipv6_skipped = true;
			res->ipv6_error = r;
			r = 0;
		}
	}
	return r;
}

/* One phase (listeners, or the other states) over both families, restarted
 * as a whole when a dump is interrupted. */
static int run_phase(struct socktab *t, bool listeners, uint32_t states, char *buf,
		     struct sockdiag_result *res)
{
	for (unsigned attempt = 0;; attempt++) {
		struct dump_ctx c = { .t = t, .listeners = listeners };
		int r;

		if (listeners)
			t->n = 0;
		else
			socktab_reset_counts(t);
		r = listeners ? 1 : others_at_once(&c, states, buf);
		if (r == 1)
			r = per_family(&c, states, buf, res);
		res->bad_msgs += c.bad;
		if (r != -EINTR)
			return r;
		if (attempt == SOCKDIAG_RETRIES)
			return r;
		res->restarts++;
	}
}

int sockdiag_collect_listeners(struct socktab *t, bool with_requests, struct sockdiag_result *res)
{
	char *buf = malloc(SOCKDIAG_BUF_SIZE);
	int r;

	if (!buf)
		return -ENOMEM;
	r = run_phase(t, true, 1u << TCP_STATE_LISTEN, buf, res);
	if (r == 0 && with_requests)
		r = run_phase(t, false, STATES_SYN_RECV, buf, res);
	t->syn_recv_only = true;
	free(buf);
	return r;
}

int sockdiag_collect_requests(struct socktab *t, struct sockdiag_result *res)
{
	char *buf = malloc(SOCKDIAG_BUF_SIZE);
	int r;

	if (!buf)
		return -ENOMEM;
	r = run_phase(t, false, STATES_SYN_RECV, buf, res);
	free(buf);
	return r;
}

int sockdiag_collect(struct socktab *t, bool all_states, struct sockdiag_result *res)
{
	char *buf = malloc(SOCKDIAG_BUF_SIZE);
	int r;

	if (!buf)
		return -ENOMEM;
	r = run_phase(t, true, 1u << TCP_STATE_LISTEN, buf, res);
	if (r == 0)
		r = run_phase(t, false, all_states ? STATES_OTHER : STATES_SYN_RECV, buf, res);
	t->syn_recv_only = !all_states;
	free(buf);
	return r;
}
