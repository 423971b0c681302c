/* The socket collector: the listener table, its JSON form, and the choice
 * between NETLINK_SOCK_DIAG and /proc/net/tcp. */
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
#include "util/fileio.h"
#include "util/array.h"

static const char *const state_names[SOCK_STATE_MAX] = {
	[1] = "ESTABLISHED",
	[2] = "SYN_SENT",
	[3] = "SYN_RECV",
	[4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",
	[6] = "TIME_WAIT",
	[7] = "CLOSE",
	[8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",
	[10] = "LISTEN",
	[11] = "CLOSING",
};

#define STATE_SYN_RECV 3
#define STATE_LISTEN 10
#define STATE_NEW_SYN_RECV 12

void socktab_init(struct socktab *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_owners(struct socktab *t)
{
	for (size_t i = 0; i < t->nprocs; i++)
		free(t->procs[i].comm);
	free(t->procs);
	free(t->links);
	t->procs = NULL;
	t->links = NULL;
	t->nprocs = t->capprocs = t->nlinks = t->caplinks = 0;
}

void socktab_reset_counts(struct socktab *t)
{
	memset(t->states, 0, sizeof(t->states));
	t->nreq = 0;
	if (t->reqhash)
		memset(t->reqhash, 0, t->reqhash_cap * sizeof(*t->reqhash));
}

void socktab_reset(struct socktab *t)
{
	t->n = 0;
	socktab_reset_counts(t);
	free_owners(t);
	t->syn_recv_only = false;
	t->finished = false;
}

void socktab_free(struct socktab *t)
{
	free(t->l);
	free(t->req);
	free(t->reqhash);
	free_owners(t);
	socktab_init(t);
}

int socktab_add_listener(struct socktab *t, const struct listener *l)
{
	if (ARRAY_GROW(t->l, t->cap, t->n, 64) < 0)
		return -ENOMEM;
	t->l[t->n++] = *l;
	return 0;
}

/* ---- endpoint keys ---- */

static uint64_t ep_hash(const struct sock_ep *ep, bool with_if)
{
	uint64_t a, b;

	memcpy(&a, ep->addr, 8);
	memcpy(&b, ep->addr + 8, 8);
	return sock_hash_mix(a ^ sock_hash_mix(b ^ ((uint64_t)ep->port << 8 | ep->family)) ^
		     (with_if ? (uint64_t)ep->ifindex << 32 : 0));
}

static bool ep_same_addr(const struct sock_ep *a, const struct sock_ep *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static int reqhash_grow(struct socktab *t)
{
	size_t cap = t->reqhash_cap ? t->reqhash_cap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < t->nreq; i++) {
		size_t j = ep_hash(&t->req[i].ep, true) & (cap - 1);

		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(t->reqhash);
	t->reqhash = h;
	t->reqhash_cap = cap;
	return 0;
}

static int count_request(struct socktab *t, const struct sock_ep *ep)
{
	size_t j;

	if ((t->nreq + 1) * 2 > t->reqhash_cap && reqhash_grow(t) < 0)
		return -ENOMEM;
	j = ep_hash(ep, true) & (t->reqhash_cap - 1);
	while (t->reqhash[j]) {
		struct sock_reqep *r = &t->req[t->reqhash[j] - 1];

		if (ep_same_addr(&r->ep, ep) && r->ep.ifindex == ep->ifindex) {
			r->count++;
			return 0;
		}
		j = (j + 1) & (t->reqhash_cap - 1);
	}
	if (ARRAY_GROW(t->req, t->capreq, t->nreq, 64) < 0)
		return -ENOMEM;
	t->req[t->nreq].ep = *ep;
	t->req[t->nreq].count = 1;
	t->reqhash[j] = (uint32_t)++t->nreq;
	return 0;
}

int socktab_count(struct socktab *t, unsigned state, const struct sock_ep *ep)
{
	if (state == STATE_NEW_SYN_RECV)
		state = STATE_SYN_RECV;
	if (state == 0 || state >= SOCK_STATE_MAX)
		return -EINVAL;
	t->states[state]++;
	if (ep && state == STATE_SYN_RECV)
		return count_request(t, ep);
	return 0;
}

/* ---- attributing request sockets to listeners ---- */

static int listener_cmp(const void *pa, const void *pb)
{
	const struct listener *a = pa, *b = pb;
	int c;

	if (a->ep.port != b->ep.port)
		return a->ep.port < b->ep.port ? -1 : 1;
	if (a->ep.family != b->ep.family)
		return a->ep.family == AF_INET ? -1 : 1;
	c = memcmp(a->ep.addr, b->ep.addr, sizeof(a->ep.addr));
	if (c)
		return c;
	if (a->ep.ifindex != b->ep.ifindex)
		return a->ep.ifindex < b->ep.ifindex ? -1 : 1;
	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	return 0;
}

/* Listeners are sorted, so the ones with one (family, address, port) form
 * a run, sorted by interface; keyhash maps the key to the run's start. */
struct keyhash {
	uint32_t *slot;         /* listener index + 1, 0 empty */
	size_t cap;
};

static int keyhash_build(struct keyhash *kh, const struct socktab *t)
{
	kh->cap = 16;
	while (kh->cap < t->n * 2)
		kh->cap *= 2;
	kh->slot = calloc(kh->cap, sizeof(*kh->slot));
	if (!kh->slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j;

		if (i > 0 && ep_same_addr(&t->l[i - 1].ep, &t->l[i].ep))
			continue;
		j = ep_hash(&t->l[i].ep, false) & (kh->cap - 1);
		while (kh->slot[j])
			j = (j + 1) & (kh->cap - 1);
		kh->slot[j] = (uint32_t)i + 1;
	}
	return 0;
}

/* The listener (first of its SO_REUSEPORT group) that takes a request for
 * key arriving on ifindex, or -1.  A listener bound to that interface wins
 * over an unbound one; dual_only skips IPv6-only listeners. */
static long keyhash_find(const struct keyhash *kh, const struct socktab *t,
			 const struct sock_ep *key, uint32_t ifindex, bool dual_only)
{
	size_t j = ep_hash(key, false) & (kh->cap - 1);
	long unbound = -1;

	while (kh->slot[j]) {
		size_t i = kh->slot[j] - 1;

		if (ep_same_addr(&t->l[i].ep, key)) {
			for (; i < t->n && ep_same_addr(&t->l[i].ep, key); i++) {
				const struct listener *l = &t->l[i];

				if (dual_only && l->v6only == 1)
					continue;
				if (l->ep.ifindex == 0) {
					if (unbound < 0)
						unbound = (long)i;
				} else if (l->ep.ifindex == ifindex) {
					return (long)i;
				}
			}
			return unbound;
		}
		j = (j + 1) & (kh->cap - 1);
	}
	return -1;
}

static long match_request(const struct keyhash *kh, const struct socktab *t,
			  const struct sock_ep *req)
{
	struct sock_ep key = *req;
	long i;

	key.ifindex = 0;
	i = keyhash_find(kh, t, &key, req->ifindex, false);
	if (i >= 0)
		return i;
	memset(key.addr, 0, sizeof(key.addr));
	i = keyhash_find(kh, t, &key, req->ifindex, false);
	if (i >= 0 || req->family != AF_INET)
		return i;
	/* an IPv4 request of a dual-stack IPv6 listener */
	key.family = AF_INET6;
	key.addr[10] = key.addr[11] = 0xff;
	memcpy(key.addr + 12, req->addr, 4);
	i = keyhash_find(kh, t, &key, req->ifindex, true);
	if (i >= 0)
		return i;
	memset(key.addr, 0, sizeof(key.addr));
	return keyhash_find(kh, t, &key, req->ifindex, true);
}

static bool same_group(const struct listener *a, const struct listener *b)
{
	return ep_same_addr(&a->ep, &b->ep) && a->ep.ifindex == b->ep.ifindex;
}

int socktab_finish(struct socktab *t)
{
	struct keyhash kh;

	if (t->n > 1)
		qsort(t->l, t->n, sizeof(*t->l), listener_cmp);
	t->states[STATE_LISTEN] = t->n;
	for (size_t i = 0; i < t->n; i++) {
		t->l[i].syn_recv = 0;
		t->l[i].syn_recv_shared = false;
		t->l[i].reuseport_members = t->l[i].reuseport_index = 0;
	}
	if (t->n == 0) {
		t->finished = true;
		return 0;
	}
	if (keyhash_build(&kh, t) < 0)
		return -ENOMEM;
	for (size_t r = 0; r < t->nreq; r++) {
		long i = match_request(&kh, t, &t->req[r].ep);

		if (i >= 0)
			t->l[i].syn_recv += t->req[r].count;
	}
	free(kh.slot);
	/* SO_REUSEPORT groups (sorted by inode within the group): every
	 * member gets the group's total, its size and its place */
	for (size_t i = 0; i < t->n;) {
		size_t e = i + 1;
		uint64_t sum = t->l[i].syn_recv;

		while (e < t->n && same_group(&t->l[i], &t->l[e]))
			sum += t->l[e++].syn_recv;
		if (e - i > 1) {
			for (size_t k = i; k < e; k++) {
				t->l[k].syn_recv = sum;
				t->l[k].syn_recv_shared = true;
				t->l[k].reuseport_members = (uint32_t)(e - i);
				t->l[k].reuseport_index = (uint32_t)(k - i + 1);
			}
		}
		i = e;
	}
	t->finished = true;
	return 0;
}

/* ---- JSON ---- */

static json_t *jint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *sock_proc_json(const struct sock_proc *p, bool polls)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= facts_set(o, "pid", json_integer(p->pid));
	if (p->comm)
		err |= facts_set(o, "comm", json_string(p->comm));
	if (p->nofile_soft >= 0)
		err |= facts_set(o, "nofile_soft", json_integer(p->nofile_soft));
	if (p->nofile_hard >= 0)
		err |= facts_set(o, "nofile_hard", json_integer(p->nofile_hard));
	if (p->fds >= 0)
		err |= facts_set(o, "fds", json_integer(p->fds));
	if (owners_state_name(p->state))
		err |= facts_set(o, "state", json_string(owners_state_name(p->state)));
	if (p->start_time >= 0)
		err |= facts_set(o, "start_time", json_integer(p->start_time));
	/* without an epoll set, whether it waits on the socket is unknown */
	if (p->has_epoll)
		err |= facts_set(o, "polls", json_boolean(polls));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One JSON object per process and value of "polls", shared by every
 * socket the process holds: a pre-fork server's workers hold hundreds of
 * listeners each, and a copy per listener made most of the document. */
int sock_procs_json_init(struct sock_procs_json *po, const struct socktab *t)
{
	po->obj = calloc(t->nprocs * 3 + 1, sizeof(*po->obj));
	po->link = 0;
	return po->obj ? 0 : -ENOMEM;
}

static json_t *proc_obj(struct sock_procs_json *po, const struct socktab *t,
			const struct sock_owner_link *k)
{
	const struct sock_proc *p = &t->procs[k->proc];
	size_t v = (size_t)k->proc * 3 + (!p->has_epoll ? 0 : k->polls ? 2 : 1);

	if (!po->obj[v])
		po->obj[v] = sock_proc_json(p, k->polls);
	return po->obj[v];
}

void sock_procs_json_free(struct sock_procs_json *po, const struct socktab *t)
{
	for (size_t i = 0; po->obj && i < t->nprocs * 3; i++)
		json_decref(po->obj[i]);
	free(po->obj);
	po->obj = NULL;
}

json_t *sock_procs_json_array(struct sock_procs_json *po, const struct socktab *t, size_t idx)
{
	json_t *a = json_array();

	/* links are sorted by socket index, then pid */
	while (a && po->link < t->nlinks && t->links[po->link].listener < idx)
		po->link++;
	while (a && po->link < t->nlinks && t->links[po->link].listener == idx) {
		json_t *p = proc_obj(po, t, &t->links[po->link]);

		if (!p || json_array_append(a, p) < 0) {
			json_decref(a);
			return NULL;
		}
		po->link++;
	}
	return a;
}

static json_t *listener_json(const struct socktab *t, size_t idx, struct sock_procs_json *po)
{
	const struct listener *l = &t->l[idx];
	char addr[INET6_ADDRSTRLEN];
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	if (!inet_ntop(l->ep.family, l->ep.addr, addr, sizeof(addr)))
		strcpy(addr, "?");
	err |= facts_set(o, "family", json_string(l->ep.family == AF_INET ? "ipv4" : "ipv6"));
	err |= facts_set(o, "address", json_string(addr));
	err |= facts_set(o, "port", json_integer(l->ep.port));
	if (l->ep.family == AF_INET6 && l->v6only >= 0)
		err |= facts_set(o, "v6only", json_boolean(l->v6only));
	if (l->ep.ifindex)
		err |= facts_set(o, "interface", json_integer(l->ep.ifindex));
	err |= facts_set(o, "queue", jint(l->queue));
	if (l->has_limit)
		err |= facts_set(o, "limit", jint(l->limit));
	err |= facts_set(o, "syn_recv", jint(l->syn_recv));
	if (l->syn_recv_shared)
		err |= facts_set(o, "syn_recv_shared", json_true());
	if (l->reuseport_members > 1)
		err |= facts_set(o, "reuseport", json_pack("{s:I,s:I}", "members",
							    (json_int_t)l->reuseport_members, "index",
							    (json_int_t)l->reuseport_index));
	if (l->has_drops)
		err |= facts_set(o, "drops", jint(l->drops));
	err |= facts_set(o, "inode", jint(l->inode));
	err |= facts_set(o, "uid", jint(l->uid));
	if (po)
		err |= facts_set(o, "processes", sock_procs_json_array(po, t, idx));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *socktab_to_json(const struct socktab *t, const char *source,
			const char *fallback_reason, struct sock_procs_json *po)
{
	json_t *o = json_object(), *states = json_object(), *ls = json_array();
	int err = 0;

	if (!o || !states || !ls)
		goto fail;
	err |= facts_set(o, "source", json_string(source));
	if (fallback_reason)
		err |= facts_set(o, "fallback_reason", json_string(fallback_reason));
	for (unsigned s = 1; s < SOCK_STATE_MAX; s++)
		if (!t->syn_recv_only || s == STATE_LISTEN || s == STATE_SYN_RECV)
			err |= facts_set(states, state_names[s], jint(t->states[s]));
	for (size_t i = 0; i < t->n && !err; i++) {
		json_t *l = listener_json(t, i, po);

		err |= l ? json_array_append_new(ls, l) : -1;
	}
	err |= json_object_set_new(o, "states", states);
	states = NULL;
	err |= json_object_set_new(o, "listeners", ls);
	ls = NULL;
	if (err)
		goto fail;
	return o;
fail:
	json_decref(states);
	json_decref(ls);
	json_decref(o);
	return NULL;
}

/* ---- dispatch ---- */

/* Read ROOT/proc/net/tcp{,6} into t.  Returns 0, -ENOMEM, or another
 * -errno when proc/net/tcp cannot be read (noted). */
static int collect_proc(json_t *doc, const struct nk_root *root, struct socktab *t)
{
	static const struct {
		const char *path;
		int family;
	} files[] = {
		{ "proc/net/tcp", AF_INET },
		{ "proc/net/tcp6", AF_INET6 },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct proctcp_stats st = { 0 };
		int fd = root_open_in(root, files[i].path, O_RDONLY | O_NONBLOCK);
		int r;

		if (fd < 0) {
			r = fd;
			if (files[i].family == AF_INET6 && r == -ENOENT) {
				facts_note(doc, "/%s missing: no IPv6 sockets listed", files[i].path);
				continue;
			}
			facts_note(doc, "/%s: %s%s", files[i].path, strerror(-r),
				   files[i].family == AF_INET ? ": no listeners known" : "");
			if (files[i].family == AF_INET)
				return r;
			continue;
		}
		r = proctcp_read_fd(fd, files[i].family, t, &st);
		close(fd);
		if (r == -ENOMEM)
			return r;
		if (st.bad)
			facts_note(doc, "/%s: %lu malformed line(s) skipped (first: line %lu)",
				   files[i].path, st.bad, st.first_bad_line);
		if (r < 0) {
			facts_note(doc, "/%s: %s", files[i].path, fileio_strerror(-r));
			if (files[i].family == AF_INET)
				return r;
		}
	}
	return 0;
}

void sockets_owner_notes(json_t *doc, int err, const struct owners_stats *st, unsigned long ownerless)
{
	if (err < 0)
		facts_note(doc, "/proc: %s: owning processes of listeners not found", strerror(-err));
	else if (ownerless && st->procs_failed)
		facts_note(doc, "sockets: %lu listener(s) without owning process: the descriptors "
			   "of %lu process(es) could not be read (%s)",
			   ownerless, st->procs_failed, strerror(st->failed_errno));
	else if (ownerless && st->procs_denied)
		facts_note(doc, "sockets: %lu listener(s) without owning process: the descriptors "
			   "of %lu process(es) were not readable (Permission denied)",
			   ownerless, st->procs_denied);
}

int sockets_collect(json_t *doc, const struct nk_root *root, bool want_owners)
{
	return sockets_collect_flags(doc, root, want_owners ? SOCKETS_OWNERS : 0);
}

int sockets_collect_flags(json_t *doc, const struct nk_root *root, unsigned flags)
{
	return sockets_collect_ahead(doc, root, flags, NULL);
}

int sockets_collect_ahead(json_t *doc, const struct nk_root *root, unsigned flags,
			  struct sockdiag_ahead *pre)
{
	bool want_owners = flags & SOCKETS_OWNERS;
	struct sock_procs_json po = { NULL };
	struct socktab t;
	struct udptab u;
	char reason[128] = "";
	json_t *obj = NULL;
	int r;

	socktab_init(&t);
	udptab_init(&u, UDP_LISTED);
	if (!root->live) {
		snprintf(reason, sizeof(reason), "--root given: reading proc/net/tcp");
	} else {
		struct sockdiag_result res = { 0 };

		if (pre) {
			t = pre->t;
			res = pre->res;
			r = pre->r;
			socktab_init(&pre->t);
		} else {
			r = sockdiag_collect(&t, !(flags & SOCKETS_LISTENERS_ONLY), &res);
		}
		if (r == -ENOMEM)
			goto oom;
		if (r == -EINTR) {
			snprintf(reason, sizeof(reason), "netlink dump interrupted by concurrent "
				 "changes %u times", SOCKDIAG_RETRIES + 1);
			socktab_reset(&t);
		} else if (r < 0) {
			snprintf(reason, sizeof(reason), "netlink %s: %s",
				 sockdiag_refused(r) ? "refused" : "failed", strerror(-r));
			socktab_reset(&t);
		} else {
			if (res.ipv6_skipped)
				facts_note(doc, "sockets: IPv6 socket dump refused (%s): no IPv6 sockets listed",
					   strerror(-res.ipv6_error));
			if (res.bad_msgs)
				facts_note(doc, "sockets: %lu malformed netlink message(s) skipped",
					   res.bad_msgs);
		}
	}
	if (*reason) {
		facts_note(doc, "sockets: %s; listeners read from /proc/net/tcp and tcp6, "
			   "which show no accept-queue limit and no drops", reason);
		r = collect_proc(doc, root, &t);
		if (r == -ENOMEM)
			goto oom;
		if (r < 0) {
			/* nothing known: no "states", an empty listener list
			 * (the note says why) */
			socktab_free(&t);
			obj = json_pack("{s:s,s:s,s:[]}", "source", "proc", "fallback_reason", reason,
					"listeners");
			if (!obj || json_object_set_new(doc, "sockets", obj) < 0)
				return -ENOMEM;
			return 0;
		}
	}
	if (socktab_finish(&t) < 0 || udp_collect(doc, root, &u) < 0)
		goto oom;
	/* one scan of /proc finds the owners of both */
	t.more_inodes = u.inodes;
	t.nmore = u.n;
	if (want_owners) {
		struct owners_stats st = { 0 };

		r = owners_collect(root, &t, &st);
		if (r == -ENOMEM)
			goto oom;
		sockets_owner_notes(doc, r, &st, st.ownerless);
	}
	if (want_owners && sock_procs_json_init(&po, &t) < 0)
		goto oom;
	obj = socktab_to_json(&t, *reason ? "proc" : "netlink", *reason ? reason : NULL,
			      want_owners ? &po : NULL);
	if (!obj || (u.source && udptab_to_json(obj, &u, &t, want_owners ? &po : NULL) < 0))
		goto oom;
	r = json_object_set_new(doc, "sockets", obj);
	obj = NULL;
	if (r < 0)
		goto oom;
	sock_procs_json_free(&po, &t);
	socktab_free(&t);
	udptab_free(&u);
	return 0;
oom:
	json_decref(obj);
	sock_procs_json_free(&po, &t);
	socktab_free(&t);
	udptab_free(&u);
	return -ENOMEM;
}
