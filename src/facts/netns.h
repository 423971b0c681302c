/* Entering another network namespace (--netns NAME|PATH|PID). */
#ifndef NK_NETNS_H
#define NK_NETNS_H

/* Resolve spec (a name under /run/netns, a path to a namespace file, or a
 * PID) and setns() into it.  Logs a clear message and returns -errno on
 * failure. */
int netns_enter(const char *spec);

#endif
