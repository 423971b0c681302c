#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/sysctl.h"
#include "fix/apply.h"
#include "util/escape.h"
#include "util/fileio.h"

const char *apply_status_name(enum apply_status s)
{
	switch (s) {
	case APPLY_PENDING:
		return "pending";
	case APPLY_UNCHANGED:
		return "unchanged";
	case APPLY_SET:
		return "set";
	case APPLY_FAILED:
		return "failed";
	case APPLY_ROLLED_BACK:
		return "rolled-back";
	case APPLY_ROLLBACK_FAILED:
		return "rollback-failed";
	}
	return "?";
}

/* The next blank-separated word of *s: its start and length. */
static size_t word(const char **s)
{
	const char *p = *s, *q;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	q = p;
	while (*q && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
		q++;
	*s = p;
	return (size_t)(q - p);
}

bool apply_same_value(const char *a, const char *b)
{
	for (;;) {
		size_t na = word(&a), nb = word(&b);
		char wa[64], wb[64];
		long long x, y;

		if (!na || !nb)
			return na == nb;
		if (na < sizeof(wa) && nb < sizeof(wb)) {
			memcpy(wa, a, na);
			wa[na] = '\0';
			memcpy(wb, b, nb);
			wb[nb] = '\0';
			if (parse_int64(wa, &x) == 0 && parse_int64(wb, &y) == 0) {
				if (x != y)
					return false;
				a += na;
				b += nb;
				continue;
			}
		}
		if (na != nb || memcmp(a, b, na) != 0)
			return false;
		a += na;
		b += nb;
	}
}

static void set_error(struct apply_item *it, const char *what, int err)
{
	free(it->error);
	if (asprintf(&it->error, "%s: %s", what, strerror(-err)) < 0)
		it->error = NULL;
}

/* Write and read back. */
static int set_one(const struct nk_root *root, struct apply_item *it, const char *text)
{
	char *back = NULL;
	int r = sysctl_write_text(root, it->key, text);

	if (r < 0) {
		set_error(it, "write", r);
		return r;
	}
	r = sysctl_read_text(root, it->key, &back);
	if (r < 0) {
		set_error(it, "read back", r);
		return r;
	}
	if (!apply_same_value(back, text)) {
		char *safe = escape_untrusted_str(back);

		free(it->error);
		if (asprintf(&it->error, "the kernel kept %s after writing %s", safe ? safe : "?", text) < 0)
			it->error = NULL;
		free(safe);
		free(back);
		return -ERANGE;
	}
	free(back);
	return 0;
}

/* After a write that failed: is the old value still there (read back)?
 * If not, write it again and read back.  Returns 0 when the running value
 * is the old one, else -1 with it->error saying what is there now.  Only
 * what was read back is claimed. */
static int unchanged_or_restore(const struct nk_root *root, struct apply_item *it)
{
	char *back = NULL, *safe, *why = it->error;
	int r;

	if (sysctl_read_text(root, it->key, &back) == 0 && apply_same_value(back, it->old)) {
		free(back);
		return 0;
	}
	free(back);
	back = NULL;
	if (sysctl_write_text(root, it->key, it->old) == 0 &&
	    sysctl_read_text(root, it->key, &back) == 0 &&
	    apply_same_value(back, it->old)) {
		free(back);
		return 0;
	}
	if (!back && sysctl_read_text(root, it->key, &back) < 0)
		back = NULL;
	safe = back ? escape_untrusted_str(back) : NULL;
	it->error = NULL;
	if (safe)
		r = asprintf(&it->error, "%s; the old value %s could not be put back: the kernel now has %s",
			     why ? why : "refused", it->old, safe);
	else
		r = asprintf(&it->error, "%s; the old value %s could not be put back, and the value now "
			     "cannot be read", why ? why : "refused", it->old);
	if (r < 0)
		it->error = NULL;
	free(why);
	free(safe);
	free(back);
	return -1;
}

/* The running kernel's /proc/sys, through the facts' reader and writer. */
static int live_root(struct nk_root *root)
{
	return root_open(root, "/");
}

int apply_read_value(const char *key, char **out)
{
	struct nk_root root;
	int r = live_root(&root);

	*out = NULL;
	if (r < 0)
		return r;
	r = sysctl_read_text(&root, key, out);
	root_close(&root);
	return r;
}

int apply_sysctl(struct apply_item *items, size_t n)
{
	struct nk_root root;
	size_t i;
	int r = live_root(&root);
	bool opened = r == 0;

	for (i = 0; i < n; i++) {
		struct apply_item *it = &items[i];

		if (r == 0)
			r = sysctl_read_text(&root, it->key, &it->old);
		if (r < 0) {
			set_error(it, r == -EINVAL ? "invalid key" : "read", r);
			it->status = APPLY_FAILED;
			break;
		}
		if (apply_same_value(it->old, it->text)) {
			it->status = APPLY_UNCHANGED;
			continue;
		}
		r = set_one(&root, it, it->text);
		if (r < 0) {
			/* it may have taken part of it: read back first, and put
			 * the old value back only when it changed (a read-only
			 * /proc/sys changes nothing) */
			it->status = unchanged_or_restore(&root, it) == 0 ? APPLY_FAILED :
				     APPLY_ROLLBACK_FAILED;
			break;
		}
		it->status = APPLY_SET;
	}
	if (opened)
		root_close(&root);
	if (i == n)
		return 0;
	apply_restore(items, i);
	return -1;
}

int apply_restore(struct apply_item *items, size_t n)
{
	struct nk_root root;
	int bad = 0, r = live_root(&root);

	/* best effort, newest first; a restore that fails is said, not retried */
	while (n-- > 0) {
		struct apply_item *it = &items[n];

		if (it->status != APPLY_SET)
			continue;
		if (r == 0 && (set_one(&root, it, it->old) == 0 || unchanged_or_restore(&root, it) == 0)) {
			/* read back: the old value is there */
			it->status = APPLY_ROLLED_BACK;
			free(it->error);
			it->error = NULL;
		} else {
			it->status = APPLY_ROLLBACK_FAILED;
			bad = 1;
		}
	}
	if (r == 0)
		root_close(&root);
	return bad ? -1 : 0;
}

void apply_items_free(struct apply_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].old);
		free(items[i].error);
	}
	free(items);
}
