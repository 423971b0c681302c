/* The facts document: everything the collectors learned about one host (or
 * one network namespace), as one JSON object.  Rules and renderers read only
 * this document, never the system; `netknobs facts --json` prints it and
 * `--from FILE` loads a saved one.  The schema is described in doc/facts.md.
 *
 * JSON reference rule (jansson): functions named *_set_new / *_append_new
 * take ownership of the value passed; plain getters return borrowed
 * references. */
#ifndef NK_FACTS_H
#define NK_FACTS_H

#include <stdbool.h>
#include <jansson.h>

#include "util/fileio.h"

#define FACTS_SCHEMA_VERSION 1

struct sample;

struct sockdiag_ahead;

struct collect_opts {
	const struct nk_root *root;     /* where /proc is read */
	const char *netns;              /* as given by --netns, or NULL */
	const char *const *sysctl_keys; /* extra keys to read (besides the watched set) */
	size_t n_sysctl_keys;
	bool want_sockets;              /* run the socket collector */
	bool want_owners;               /* find the owning processes of listeners */
	bool listeners_only;            /* no per-state counts besides LISTEN and
					   SYN_RECV: much cheaper on busy hosts */
	struct sample *sample;          /* a sampling window before the collection
					   (facts/sample.h), or NULL */
	struct sockdiag_ahead *tcp_ahead; /* the TCP dumps, done by a helper thread
					   in this namespace (facts/sockets.h), or NULL */
};

/* Collect everything into a new document.  Returns NULL only on a fatal
 * error (out of memory); anything unreadable is recorded in the document
 * ("notes", "sysctl_unavailable", ...). */
json_t *facts_collect(const struct collect_opts *opts);

/* Load a saved facts document and check its version and shape.  On error
 * prints a message naming the file (and line:column where known) and returns
 * NULL. */
json_t *facts_load(const char *path);
/* The same for a document in memory; name stands for the file in messages. */
json_t *facts_load_buffer(const char *name, const char *buf, size_t len);

/* The core facts: without any of them the rules cannot judge the host, and
 * an audit says so and exits 3 instead of reporting nothing wrong.  A
 * collected document names those it could not read in "core_unavailable"
 * (part -> why): "sysctl" (the keys of the accept and SYN queues),
 * "counters" (TcpExt and Tcp), "sockets" (neither netlink nor
 * /proc/net/tcp), "persistent" (a sysctl.d directory or file that exists
 * but could not be read).  NULL-terminated. */
extern const char *const facts_core_parts[];
/* "the sysctl values", ... for a part of facts_core_parts; NULL for others. */
const char *facts_core_part_text(const char *part);

/* Structural validation of a document (also used by facts_load).  On error
 * returns -EINVAL and writes a message into err (size errlen). */
int facts_validate(const json_t *doc, char *err, size_t errlen);

/* The core facts a document lacks (the queues' sysctls, the TCP counters),
 * added to core (part -> why) unless core already names that part: a
 * saved, cut or hand-made document without them judges nothing, as a
 * collection that could not read them.  0 or -ENOMEM. */
int facts_core_missing(const json_t *facts, json_t *core);

/* Append a human-readable note ("/proc/net/snmp: Permission denied") to the
 * document's "notes" array.  printf-style. */
void facts_note(json_t *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* json_object_set_new() that also fails (-1) when v is NULL (out of memory
 * building it), so that collectors can OR the results of many. */
int facts_set(json_t *o, const char *key, json_t *v);

/* ---- collectors; each adds its sections to doc ---- */

/* host: kernel release, CPUs, memory, network namespace ("host" object). */
int host_collect(json_t *doc, const struct nk_root *root);

/* The cookie of the calling thread's network namespace: unique for the
 * boot and never reused, unlike its inode number.  0 when the kernel has
 * no SO_NETNS_COOKIE (before 5.14). */
unsigned long long host_netns_cookie(void);

/* counters: /proc/net/netstat, snmp, snmp6 ("counters"), sockstat{,6}
 * ("sockstat"), softnet_stat ("softnet"). */
int counters_collect(json_t *doc, const struct nk_root *root);

/* sockets: listeners and per-state counts ("sockets"), via NETLINK_SOCK_DIAG
 * on the live system, /proc/net/tcp{,6} when netlink is refused or when a
 * --root is given. */
int sockets_collect(json_t *doc, const struct nk_root *root, bool want_owners);

#endif
