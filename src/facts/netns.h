/* Entering another network namespace (--netns NAME|PATH|PID). */
#ifndef NK_NETNS_H
#define NK_NETNS_H

#include "facts/netns-scan.h"

/* Resolve spec (a name under /run/netns, a path to a namespace file, or a
 * PID) and open it.  Returns the descriptor (close-on-exec) and sets *id to
 * the namespace's identity; or logs a clear message and returns -errno. */
int netns_open_spec(const char *spec, struct netns_id *id);

/* netns_open_spec() and setns() into it.  Logs a clear message and
 * returns -errno on failure. */
int netns_enter(const char *spec);

#endif
