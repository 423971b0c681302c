/* netknobs fix's document: what fix --json prints, and what its text is
 * rendered from (report_fix_text(), src/render/fix-text.c).  Every
 * function returns a new reference, NULL when out of memory. */
#ifndef NK_FIX_DOC_H
#define NK_FIX_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "fix/apply.h"
#include "fix/build.h"

struct netns_entry;

/* The items applied, as JSON (key, value, old, status, error). */
json_t *fix_apply_json(const struct apply_item *items, size_t n);

/* What a failed apply left, from what was read back; NULL when nothing
 * failed. */
const char *fix_apply_summary(const struct apply_item *items, size_t n);

/* Listeners keep the limit they got at listen() until the application
 * listens again: those whose limit the values just applied may change (a
 * net.core.somaxconn raised above the value that most likely capped
 * them), a SO_REUSEPORT group once with its number of sockets.  Empty when
 * somaxconn did not change. */
json_t *fix_restarts(const json_t *facts, const struct apply_item *items, size_t n);

/* The document of a fix that did its job: the drop-in built for its file
 * (target, exists, changed, content, entries, warnings, notes, path,
 * stdout, previous); to_stdout: --output -; done: after --write or
 * --apply ("written", "backup"); with --apply (items not NULL) what was
 * applied and the listeners to restart (fix_restarts()). */
json_t *fix_doc_new(const struct fix_build *b, bool to_stdout, bool done, const struct apply_item *items,
		    size_t n, const json_t *restart);

/* The document of a fix that failed: why (error), the target when known,
 * and with --apply (items not NULL) each value as read back and whether
 * the running values changed. */
json_t *fix_doc_failure(const char *error, const char *target, const struct apply_item *items, size_t n);

/* fix --netns NS without --output: the host's sysctl.d does not reach the
 * namespace e; why, and for each recommendation of the audit not met
 * there the command that sets it now and what keeps it ("settings"). */
json_t *fix_doc_netns(const json_t *audit, const struct netns_entry *e);

#endif
