/* Setting sysctl values now, through /proc/sys, all or nothing. */
#ifndef NK_APPLY_H
#define NK_APPLY_H

#include <stdbool.h>
#include <stddef.h>

enum apply_status {
	APPLY_PENDING,
	APPLY_UNCHANGED,     /* already had the value */
	APPLY_SET,           /* written and read back */
	APPLY_FAILED,        /* this one could not be set */
	APPLY_ROLLED_BACK,   /* set, then restored because another failed */
	APPLY_ROLLBACK_FAILED, /* set, and restoring the old value failed too */
};

struct apply_item {
	const char *key;     /* canonical dotted key */
	const char *text;    /* the value to write */
	char *old;           /* the value before (trimmed), once read */
	enum apply_status status;
	char *error;         /* with APPLY_FAILED / APPLY_ROLLBACK_FAILED */
};

/* Write each item's value below /proc/sys, in order, reading each back to
 * verify it.  When one fails, every value already written is restored, in
 * reverse order.  Returns 0 when all were set (or already had their
 * value), -1 when something failed (see the items). */
int apply_sysctl(struct apply_item *items, size_t n);
/* Put back the old value of every item set (APPLY_SET), newest first:
 * APPLY_ROLLED_BACK or APPLY_ROLLBACK_FAILED.  Returns 0 or -1 when one
 * could not be restored. */
int apply_restore(struct apply_item *items, size_t n);
void apply_items_free(struct apply_item *items, size_t n);

/* The running value of key (trimmed), newly allocated: 0 or -errno. */
int apply_read_value(const char *key, char **out);

/* Are two values of a /proc/sys file the same: the same blank-separated
 * words, numbers compared as numbers? */
bool apply_same_value(const char *a, const char *b);

const char *apply_status_name(enum apply_status s);

#endif
