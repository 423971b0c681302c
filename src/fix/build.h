/* The drop-in made for its file (netknobs fix): built from the audit and
 * the file's text, built again from the file as it is when it changed
 * since it was read (an admin's edit while the audit ran), and written
 * never over such an edit. */
#ifndef NK_FIX_BUILD_H
#define NK_FIX_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "fix/apply.h"
#include "fix/dropin.h"
#include "fix/target.h"

/* times the drop-in is built again when the file keeps changing */
#define FIX_ATTEMPTS 5

struct netns_entry;

/* What the drop-in is built from. */
struct fix_input {
	const json_t *audit, *facts;
	const struct rulebook *rb;
	/* the namespace of --netns when it is not the one netknobs runs in
	 * (boot does not apply sysctl.d files to it: a warning), or NULL */
	const struct netns_entry *away;
};

struct fix_build {
	const struct fix_target *t;
	const struct fix_input *in;
	struct dropin d;
	char *old;              /* the file's text as last read (NULL: none) */
	bool changed;           /* writing d would change the file */
	bool backup;            /* written, the previous version kept as FILE.bak */
	/* drop-ins replaced by one built again (the items of --apply point
	 * into them) */
	struct dropin retired[FIX_ATTEMPTS + 1];
	size_t nretired;
};

/* Build b->d from b->old, the file's text (NULL: none), and set
 * b->changed.  0 or -1 (logged). */
int fix_build_make(struct fix_build *b);

/* Read the file again: when it is no longer b->old, build the drop-in
 * again from what it holds now.  0 or -1 (logged). */
int fix_build_refresh(struct fix_build *b);

/* Write the drop-in when it changes the file, never over an edit made
 * since the file was read: when one came in, the drop-in is built again
 * from the file as it is and written then.  0 or -1 (logged). */
int fix_build_write(struct fix_build *b);

/* The drop-in's settings that take effect now when applied: those no
 * later file overrides, and not the lines kept from the file (the admin's
 * globs and '-' lines are for `sysctl --system`).  The items point into
 * b->d.  NULL when out of memory. */
struct apply_item *fix_build_plan(const struct fix_build *b, size_t *n);

void fix_build_free(struct fix_build *b);

#endif
