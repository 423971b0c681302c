/* Owners of the listeners of many network namespaces from one scan of
 * /proc (see netns-owners.c). */
#ifndef NK_NETNS_OWNERS_H
#define NK_NETNS_OWNERS_H

#include <stddef.h>

#include "facts/sockets.h"
#include "util/fileio.h"

/* Find the processes holding the listeners of tabs[0..n) (each after
 * socktab_finish(), with no owners yet) with one scan of ROOT/proc, and
 * record them in each table as owners_collect() would.  The stats are the
 * scan's (ownerless: over all tables).  Returns 0, -ENOMEM, or -errno when
 * ROOT/proc cannot be opened. */
int netns_owners_collect(const struct nk_root *root, struct socktab **tabs, size_t n,
			 struct owners_stats *st);

#endif
