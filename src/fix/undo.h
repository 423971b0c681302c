/* What fix --apply replaced, kept in the state directory (FIX_UNDO_FILE)
 * for fix --undo: the running values it changed, each with the value
 * before, and the drop-in as it was before and as written.  The record of
 * the last --apply that changed something; --undo marks it undone.
 *
 *	{ "version": 1, "applied_at": "2026-05-01T10:00:00Z",
 *	  "netns": "net:[4026531840]", "boot_id": "...",
 *	  "target": "/etc/sysctl.d/90-netknobs.conf",    (an absolute path; null: --output -)
 *	  "dropin": { "before": TEXT | null, "after": TEXT },  (absent: not written)
 *	  "values": [ { "key": "net.core.somaxconn", "before": "128", "after": "4096" } ],
 *	  "undone_at": "..." }                           (once undone)
 *
 * TEXT is a JSON string, or {"hex": "..."} (lower-case, two digits a byte)
 * for a file that is not UTF-8. */
#ifndef NK_FIX_UNDO_H
#define NK_FIX_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "fix/apply.h"
#include "report/state.h"

#define FIX_UNDO_FILE "fix-undo.json"

/* The path of the target sys (a path on the system, relative to the
 * current directory or absolute) as the record keeps it: relative, made
 * absolute with its directory's real path, so that an --undo run
 * elsewhere finds the same file.  Newly allocated; NULL when out of
 * memory. */
char *fix_undo_path(const char *sys);

/* What --apply did: the facts it worked from (their namespace and boot),
 * the target's path on the system (kept as fix_undo_path() gives it;
 * NULL: none written), the file before
 * (NULL: there was none) and the text written (NULL: nothing written), and
 * the items it applied (only those set are recorded).  A new record, or
 * NULL when nothing changed (or out of memory, *oom then set). */
json_t *fix_undo_record(const json_t *facts, const char *target, const char *before, const char *after,
			const struct apply_item *items, size_t n, bool *oom);

/* The record in the state directory: 0 with *rec (NULL when there is
 * none), or -1 with why (an unreadable or invalid file) in err. */
int fix_undo_load(const struct state_dir *sd, json_t **rec, char *err, size_t errlen);

/* A drop-in's text in the record (TEXT above, or null): 0 with *out newly
 * allocated (NULL for null), -EINVAL when it is none, or -ENOMEM. */
int fix_undo_text(const json_t *v, char **out);

/* Replace the record.  0 or -errno (logged). */
int fix_undo_save(const struct state_dir *sd, const json_t *rec);

/* The record's values as items to apply: each key back to its value
 * before (text), the value after as what must be running now (expect[i],
 * borrowed from rec).  NULL when out of memory. */
struct apply_item *fix_undo_items(const json_t *rec, const char ***expect, size_t *n);

#endif
