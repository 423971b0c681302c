/* Owners of the listeners of many namespaces from one scan of /proc.
 *
 * Socket inodes are unique on the host and /proc/PID/fd shows every
 * process's descriptors whatever its network namespace, so the scan that
 * owners_collect() does for one namespace can serve all of them: the
 * listeners of every namespace go into one table (an inode → listener
 * index), owners_collect() scans once, and each owner is handed back to the
 * namespace whose listener it holds.
 *
 * This goes through owners_collect() as it is, at the price of copying the
 * listeners and owners once (a few hundred bytes per listener).  Inside
 * owners.c the same takes a smaller change: an owners_collect_many(root,
 * tabs, n, st) whose inode set maps an inode to (table, listener) instead
 * of to a listener, and whose record_owners() adds processes and links to
 * the table of each hit; owners_collect(root, t, st) becomes the call with
 * one table. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts/netns-owners.h"

/* Process p of m as a process of t (added once: *map caches its index). */
static int take_proc(struct socktab *t, const struct sock_proc *p, uint32_t *map)
{
	struct sock_proc *np;

	if (*map != UINT32_MAX)
		return 0;
	if (t->nprocs == t->capprocs) {
		size_t cap = t->capprocs ? t->capprocs * 2 : 8;

		np = realloc(t->procs, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		t->procs = np;
		t->capprocs = cap;
	}
	np = &t->procs[t->nprocs];
	*np = *p;
	if (p->comm && !(np->comm = strdup(p->comm)))
		return -ENOMEM;
	*map = (uint32_t)t->nprocs++;
	return 0;
}

static int add_link(struct socktab *t, uint32_t listener, uint32_t proc, bool polls)
{
	if (t->nlinks == t->caplinks) {
		size_t cap = t->caplinks ? t->caplinks * 2 : 8;
		struct sock_owner_link *nl = realloc(t->links, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		t->links = nl;
		t->caplinks = cap;
	}
	t->links[t->nlinks].listener = listener;
	t->links[t->nlinks].proc = proc;
	t->links[t->nlinks].polls = polls;
	t->nlinks++;
	return 0;
}

/* Hand the owners found in m back to the tables (listeners of tabs[k] are
 * m's [off[k], off[k+1])). */
static int distribute(struct socktab *m, struct socktab **tabs, size_t n, const size_t *off)
{
	uint32_t *map = malloc((m->nprocs ? m->nprocs : 1) * sizeof(*map));
	size_t li = 0;
	int r = 0;

	if (!map)
		return -ENOMEM;
	/* m's links are sorted by listener, so by table */
	for (size_t k = 0; k < n && r == 0; k++) {
		memset(map, 0xff, (m->nprocs ? m->nprocs : 1) * sizeof(*map));
		for (; li < m->nlinks && m->links[li].listener < off[k + 1] && r == 0; li++) {
			const struct sock_owner_link *ln = &m->links[li];

			r = take_proc(tabs[k], &m->procs[ln->proc], &map[ln->proc]);
			if (r == 0)
				r = add_link(tabs[k], (uint32_t)(ln->listener - off[k]), map[ln->proc],
					     ln->polls);
		}
	}
	free(map);
	return r;
}

int netns_owners_collect(const struct nk_root *root, struct socktab **tabs, size_t n,
			 struct owners_stats *st)
{
	size_t *off = malloc((n + 1) * sizeof(*off));
	struct socktab m;
	int r = 0;

	if (!off)
		return -ENOMEM;
	socktab_init(&m);
	off[0] = 0;
	for (size_t k = 0; k < n && r == 0; k++) {
		for (size_t i = 0; i < tabs[k]->n && r == 0; i++)
			r = socktab_add_listener(&m, &tabs[k]->l[i]);
		off[k + 1] = m.n;
	}
	if (r == 0)
		r = owners_collect(root, &m, st);
	if (r == 0)
		r = distribute(&m, tabs, n, off);
	socktab_free(&m);
	free(off);
	return r;
}
