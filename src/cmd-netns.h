/* The network namespace a command works in, and advice that says where it
 * applies: with --netns NAME a bare `sysctl -w` pasted on the host would
 * change the host, and /etc/sysctl.d does not apply to the namespace. */
#ifndef NK_CMD_NETNS_H
#define NK_CMD_NETNS_H

#include <jansson.h>

#include "facts/netns-scan.h"

/* What --netns points at, found among the host's namespaces. */
struct cmd_where {
	struct netns_list *list;        /* the discovery, or NULL */
	struct netns_entry *e;          /* the namespace (in list, or &own) */
	struct netns_entry own;         /* when the discovery did not list it */
};

/* Open spec as --netns does and find what it is (netns_scan() of the
 * running system, from the namespace netknobs started in): a named
 * namespace, a container, a pod, a process's.  When the discovery does not
 * list it (a namespace file in another mount namespace), it is known by
 * spec alone.  0, or -1 (logged: spec cannot be opened, out of memory). */
int cmd_where_locate(const char *spec, struct cmd_where *w);
void cmd_where_free(struct cmd_where *w);

/* Is e a namespace whose changes are made where netknobs runs, and kept in
 * /etc/sysctl.d?  (The host's own namespace.) */
bool cmd_where_is_home(const struct netns_entry *e);

/* Rewrite the recommendations of an audit document (its "recommendations"
 * and each finding's "recommend") for the namespace e: "sysctl_w" becomes
 * the command that applies the value there from where netknobs runs
 * (`ip netns exec NAME sysctl -w ...`, `nsenter --net=/proc/PID/ns/net
 * ...`) and "persist" says where it lasts (netns_remedy()); the document
 * gains "netns" (netns_entry_to_json()).  0, or -ENOMEM. */
int cmd_netns_advise(json_t *audit, const struct netns_entry *e);

#endif
