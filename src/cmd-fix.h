/* What netknobs fix's two files share: cmd-fix.c (the drop-in, --check,
 * --write, --apply) and cmd-fix-undo.c (--undo). */
#ifndef NK_CMD_FIX_H
#define NK_CMD_FIX_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "cmd.h"
#include "fix/apply.h"
#include "fix/doc.h"    /* fix_apply_json(), fix_apply_summary() */

struct fix_args;

/* What an apply did, each line from what was read back ("set KEY = V (was
 * W)"); the values that failed as errors. */
void fix_print_apply(FILE *out, const struct apply_item *items, size_t n);
/* Record the kept keys (somaxconn) the items changed in the state
 * directory's history; a failure is a warning. */
void fix_note_history(const json_t *facts, const struct apply_item *items, size_t n);

/* fix --undo (--output FILE, --netns, --json): put back the values and the
 * drop-in the last --apply replaced.  *json_done when a JSON result was
 * printed.  Returns the exit status. */
int fix_undo(struct globals *g, const char *output, bool *json_done);

#endif
