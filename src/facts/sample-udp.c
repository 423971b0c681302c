/* The sampling window's look at UDP sockets: the drop counter of each at
 * the start, so that the end's facts can say how many each dropped during
 * the window.  The start keeps what the facts keep (UDP_LISTED sockets,
 * those that drop first): memory stays flat in the number of sockets. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "facts/sample.h"
#include "facts/sockets.h"

struct start_drops {
	uint64_t inode;
	uint32_t drops;
};

static int by_inode(const void *a, const void *b)
{
	const struct start_drops *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

int sample_udp_start(struct sample_udp *u)
{
	struct sockdiag_result res = { 0 };
	struct udptab t;
	int r;

	memset(u, 0, sizeof(*u));
	udptab_init(&t, UDP_LISTED);
	r = udpdiag_collect(&t, &res);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		/* no netlink: the end reading says why; no per-socket window */
		u->error = r;
		r = 0;
		goto out;
	}
	u->s = malloc((t.n ? t.n : 1) * sizeof(*u->s));
	if (!u->s) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		u->s[i].inode = t.s[i].inode;
		u->s[i].drops = t.s[i].drops;
	}
	u->n = t.n;
	qsort(u->s, u->n, sizeof(*u->s), by_inode);
	/* every socket that had dropped is kept (they rank first): one not
	 * kept had dropped nothing, or did not exist yet */
	u->complete = t.dropping <= t.n && !res.ipv6_skipped;
	u->ok = true;
out:
	udptab_free(&t);
	return r;
}

void sample_udp_free(struct sample_udp *u)
{
	free(u->s);
	memset(u, 0, sizeof(*u));
}

int sample_udp_attach(const struct sample_udp *u, json_t *doc, json_t *out)
{
	json_t *udp = json_object_get(json_object_get(doc, "sockets"), "udp"), *o;
	const char *src = json_string_value(json_object_get(json_object_get(json_object_get(doc, "sockets"),
									    "udp_stats"), "source"));
	size_t i;

	/* the start and the end must both come from netlink's counters */
	if (!u->ok || !json_is_array(udp) || !src || strcmp(src, "netlink") != 0)
		return facts_set(out, "udp_sampled", json_false()) < 0 ? -ENOMEM : 0;
	json_array_foreach(udp, i, o) {
		const json_t *jd = json_object_get(o, "drops"), *ji = json_object_get(o, "inode");
		struct start_drops key, *hit;
		json_int_t drops;

		if (!json_is_integer(jd) || !json_is_integer(ji) || json_integer_value(jd) < 0)
			continue;
		drops = json_integer_value(jd);
		key.inode = (uint64_t)json_integer_value(ji);
		hit = bsearch(&key, u->s, u->n, sizeof(*u->s), by_inode);
		if (hit && drops >= hit->drops)
			drops -= hit->drops;
		else if (hit || !u->complete)
			continue;       /* counter went back (not the same socket), or unknown */
		if (facts_set(o, "window_drops", json_integer(drops)) < 0)
			return -ENOMEM;
	}
	return facts_set(out, "udp_sampled", json_true()) < 0 ? -ENOMEM : 0;
}
