/* The history of sysctl values that netknobs report and netknobs fix
 * --apply keep in the state directory (sysctl-history.json), and the facts'
 * "history" section made from it and from the previous report's state
 * (doc/facts.md, "history").  Rules never read the state directory: the
 * commands put what it holds into the facts.
 *
 * A history document holds, per network namespace, boot and sysctl key,
 * the periods in which netknobs saw one value: consecutive sightings of the
 * same value form one period {value, since, until} (Unix seconds).  That a
 * value seen twice in a row did not change in between is an assumption;
 * rules say "netknobs saw ..." of what rests on it. */
#ifndef NK_HISTORY_H
#define NK_HISTORY_H

#include <time.h>
#include <jansson.h>

#include "report/state.h"

#define HISTORY_FILE "sysctl-history.json"
#define HISTORY_VERSION 1
#define HISTORY_MAX_PERIODS 64   /* per namespace, boot and key: the oldest go */
#define HISTORY_MAX_RECORDS 64   /* namespaces x boots x keys: the oldest go */

/* The sysctl keys whose history is kept (NULL-terminated). */
extern const char *const history_keys[];

/* The cookie of the facts' network namespace (host.netns.cookie, an
 * integer unique for the boot), or JSON null when unknown.  New reference. */
json_t *history_netns_cookie(const json_t *facts);

/* Structural check of a history document: 0, or -EINVAL with the reason in
 * err. */
int history_validate(const json_t *doc, char *err, size_t errlen);

/* Note what the facts show of history_keys, seen at their collected_at (now
 * when they have none), in doc, which may be NULL: returns doc, or a new
 * document (a new reference either way), or NULL when out of memory.  by
 * names the command ("report"). */
json_t *history_note_facts(json_t *doc, const json_t *facts, const char *by);

/* Note that key changed from before (NULL: not known) to after at time
 * now (fix --apply), in the namespace and boot of facts.  Returns doc or a
 * new document as history_note_facts. */
json_t *history_note_change(json_t *doc, const json_t *facts, const char *key,
			    const json_t *before, const json_t *after, time_t now);

/* The facts' "history" section: the periods of the facts' own namespace
 * and boot from doc (may be NULL), with the facts' own reading as the last
 * sighting, and the previous report's time and counters from prev (its
 * state document, may be NULL) when that run saw the same boot and
 * namespace.  NULL when there is nothing to say, or out of memory. */
json_t *history_facts(const json_t *doc, const json_t *prev, const json_t *facts);

/* Add the history section to facts unless it has one (a saved document
 * keeps its own).  0, or -ENOMEM. */
int history_add_to_facts(json_t *facts, const json_t *doc, const json_t *prev);

/* Read the history document of a state directory opened (and locked) by
 * state_open: 0 with *out the document, NULL when there is none; a file
 * that cannot be used is reported (warning naming it), moved aside and
 * *out is NULL; one that could not be read for a reason of the moment
 * (state_file_at_fault) is left as it is and -errno returned (logged). */
int history_load(const struct state_dir *sd, json_t **out);

/* Write it back atomically.  0 or -errno (logged). */
int history_save(const struct state_dir *sd, const json_t *doc);

/* Read, without the lock and without changing anything, the history
 * document and the previous report's state (latest.json) of the state
 * directory path, for a command that only looks (audit).  A directory that
 * does not exist gives nothing, silently; one that cannot be trusted (not
 * owned by the running user or root, writable by others, a link) gives
 * nothing and a warning; unusable files are left alone and skipped.
 * *hist and *prev are set (possibly NULL).  Returns 0, or -ENOMEM. */
int history_read_dir(const char *path, json_t **hist, json_t **prev);

#endif
