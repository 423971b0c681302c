/* The sysctl.d drop-in that persists the audit's recommendations
 * (netknobs fix): what goes in it, and what other files do to it. */
#ifndef NK_DROPIN_H
#define NK_DROPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct rulebook;

struct dropin_entry {
	char *key;            /* canonical dotted key */
	char *text;           /* the value as written in the file */
	json_t *value;        /* the same, typed as the kernel would read it */
	json_t *runtime;      /* the value now; NULL when unknown */
	char *block;          /* its lines in the file: comments, then "key = value\n" */
	bool kept;            /* carried over unchanged from the file already there */
	char *overridden_by;  /* "FILE:LINE" of a later assignment that wins at boot */
	json_t *boot;         /* with overridden_by: the value boot really applies */
	json_t *rules;        /* ids of the rules that asked (array; empty when kept) */
};

struct dropin {
	char *target;         /* path on the target system */
	char *content;        /* the whole new file; "" when there is nothing to write */
	size_t len;
	struct dropin_entry *e;
	size_t n;
	json_t *warnings;     /* array of strings: settings that will not apply as written */
	json_t *notes;        /* array of strings: recommendations left out, and why */
};

/* Build the drop-in for target (a path on the target system, such as
 * /etc/sysctl.d/90-netknobs.conf) from an audit result (rules_evaluate),
 * the facts it was made from (their "persistent" and "sysctl" sections) and
 * the text of the file already at target (NULL when there is none).
 * Returns 0 or -ENOMEM; d is to be freed with dropin_free either way. */
int dropin_build(struct dropin *d, const json_t *audit, const json_t *facts,
		 const struct rulebook *rb, const char *target, const char *existing);
void dropin_free(struct dropin *d);

/* The text of a sysctl value as sysctl.d and /proc/sys take it: an integer,
 * blank-separated integers, or a string without control characters or
 * leading/trailing blanks.  NULL when v cannot be written that way. */
char *dropin_value_text(const json_t *v);

/* Does the value have meet the wanted one in the given mode ("at-least",
 * "at-most", "exact")?  Lists compare element by element. */
bool dropin_value_meets(const json_t *have, const json_t *want, const char *mode);

#endif
