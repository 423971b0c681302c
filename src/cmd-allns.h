/* --all-netns: the one path by which audit, listeners, facts and report
 * work on every network namespace of the host.
 *
 *   allns_collect()   find the namespaces (netns_scan), enter each in turn
 *                     on the main thread and collect its facts without the
 *                     listeners' owners, return to the own namespace
 *                     (netns_visit: before anything is written), then one
 *                     scan of /proc for the owners of all of them
 *                     (owners_collect_many); or load a saved document
 *   allns_facts()     one namespace's facts document, owners attached
 *   allns_json_*()    the JSON wrapper: one document per namespace under a
 *                     top-level object (doc/facts.md, "All namespaces")
 *   allns_text_tail() the namespaces gone during the run or not entered
 *
 * Memory: a facts document costs about 90 KiB as a JSON tree and 11 KiB as
 * compact text, so each namespace's facts are kept as text between the
 * visit and the owner scan, and a command turns one namespace at a time
 * into what it prints.
 *
 * Below --root DIR only the tree's own namespace can be read (the others
 * are listed, not entered).  A document saved by `facts --all-netns
 * --json` is loaded by --from as it was saved. */
#ifndef NK_CMD_ALLNS_H
#define NK_CMD_ALLNS_H

#include <stdio.h>
#include <jansson.h>

#include "cmd.h"
#include "facts/netns-scan.h"
#include "facts/sockets.h"
#include "util/memout.h"

struct allns_ns {
	struct netns_entry *e;  /* the namespace, in allns.list */
	char *facts;            /* its facts as compact JSON, owners not yet attached;
				   NULL when they were not read */
	struct socktab tab;     /* its listeners (by inode), then their owners */
	uint64_t *udp_inodes;   /* its UDP sockets' inodes, tab.more_inodes */
};

struct allns {
	struct netns_list *list;
	struct allns_ns *ns;    /* ns[i] is list->ns[i] */
	size_t n;
	struct netns_visit_stats vs;
	unsigned long ahead;    /* namespaces whose TCP dumps a helper thread made */
	unsigned long not_entered;      /* below --root: all but the own one */
	struct owners_stats os;
	int owners_err;         /* the owner scan's -errno, 0 */
	bool owners_done;       /* owners were looked up (live or --root collection) */
	json_t *saved;          /* --from: the document loaded */
	char collected_at[32];
	double ms_discover, ms_visit, ms_owners;
};

struct allns_opts {
	const char *from;               /* --from FILE, or NULL */
	const char *const *keys;        /* sysctl keys to read besides the watched ones */
	size_t nkeys;
	bool listeners_only;            /* no per-state socket counts (listeners) */
	const struct sample_args *sample;       /* refused when it has a duration */
};

/* Check the options that do not go with --all-netns (--netns, --sample),
 * then collect or load.  0, or -1 (logged: options, an unreadable /proc,
 * a namespace that could not be left).  a must be freed either way. */
int allns_collect(const struct globals *g, const struct allns_opts *o, struct allns *a);
void allns_free(struct allns *a);

/* The facts of namespace i with the owners of its listeners (a new
 * reference); NULL when it was not entered, or out of memory (logged, *oom
 * set). */
json_t *allns_facts(const struct allns *a, size_t i, bool *oom);

/* The exit status that the namespaces alone give: EXIT_NK_ERROR when
 * others were there but only the own one could be entered (not root),
 * else EXIT_NK_OK.  Logs why. */
int allns_status(const struct allns *a);

/* ---- output ---- */

/* "name (kind, net:[INODE])" */
void allns_print_title(FILE *out, const struct netns_entry *e);
/* "== TITLE ==" and a line break. */
void allns_print_heading(FILE *out, const struct netns_entry *e);
/* A namespace's section of text: its heading, then what body(out, arg)
 * prints.  NULL when out of memory (or body failed). */
char *allns_section(const struct netns_entry *e, memout_fn body, const void *arg);

/* The lines for the namespaces not read: "Gone during the run: ...",
 * "Not entered: NAME (kind): why", one each. */
void allns_text_tail(FILE *out, const struct allns *a);

/* "(150 kubernetes-pod, 40 docker, 1 process)" of the namespaces i with
 * pick[i]. */
void allns_print_kinds(FILE *out, const struct allns *a, const bool *pick);

/* The JSON wrapper, printed as it is made:
 *   {"all_netns_version": 1, "collected_at", "discovery": {...},
 *    "namespaces": [ELEMENT, ...], "summary": {...}}
 * begin, then one element at a time (a namespace's object, or its text as
 * json_dumps(JSON_INDENT(2)) made it), then end with the summary (which
 * allns_summary_json() starts).  Return 0 or -EIO. */
int allns_json_begin(FILE *out, const struct allns *a);
int allns_json_element(FILE *out, const json_t *el, bool first);
int allns_json_element_text(FILE *out, const char *text, bool first);
int allns_json_end(FILE *out, const json_t *summary);
/* The element {"netns": {...}, key: doc} of e (doc taken; key NULL: netns
 * only), with *first as allns_json_element() takes it, then cleared. */
int allns_json_put(FILE *out, const struct netns_entry *e, const char *key, json_t *doc, bool *first);
/* The summary (allns_summary_json()) and the end. */
int allns_json_finish(FILE *out, const struct allns *a);
/* The whole wrapper with one element per namespace, in the order of a:
 * key and what make() makes of the namespace's facts (a new reference;
 * make NULL: the facts themselves).  0 or -errno. */
int allns_json_each(FILE *out, const struct allns *a, const char *key, json_t *(*make)(const json_t *facts));
/* The whole wrapper of a run in an order of its own: the elements' texts
 * (of the namespaces entered), then an element for each namespace not
 * entered (its netns only), then the summary.  0 or -errno. */
int allns_json_write(FILE *out, const struct allns *a, const char *const *texts, size_t n, const json_t *summary);

/* {"namespaces", "entered", "gone", "denied", "not_entered"}: a new
 * reference, NULL when out of memory. */
json_t *allns_summary_json(const struct allns *a);

/* An element for a namespace not read: {"netns": {...}}.  New reference. */
json_t *allns_element(const struct netns_entry *e, const char *key, json_t *doc);
/* The element {"netns": {...}, key: doc} as allns_json_element_text()
 * prints it (doc is not taken); NULL when out of memory. */
char *allns_element_text(const struct netns_entry *e, const char *key, const json_t *doc);

#endif
