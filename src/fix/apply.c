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

#define VALUE_MAX 4096

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

static int proc_path(const char *key, char *buf, size_t size)
{
	char rel[SYSCTL_KEY_MAX + 1];
	const char *why;

	if (sysctl_key_parse(key, rel, NULL, &why) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "/proc/sys/%s", rel) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int read_value(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	size_t len;
	char *s;

	if (fd < 0)
		return -errno;
	r = read_fd_all(fd, VALUE_MAX, &s, &len);
	close(fd);
	if (r < 0)
		return r;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	*out = s;
	return 0;
}

static int write_value(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e = 0;
	size_t len = strlen(text);
	char *line;
	ssize_t k;

	if (fd < 0)
		return -errno;
	if (asprintf(&line, "%s\n", text) < 0) {
		close(fd);
		return -ENOMEM;
	}
	/* /proc/sys takes the value in one write */
	k = write(fd, line, len + 1);
	if (k < 0)
		e = errno;
	else if ((size_t)k != len + 1)
		e = EIO;
	free(line);
	if (close(fd) < 0 && !e)
		e = errno;
	return -e;
}

static void set_error(struct apply_item *it, const char *what, int err)
{
	free(it->error);
	if (asprintf(&it->error, "%s: %s", what, strerror(-err)) < 0)
		it->error = NULL;
}

/* Write and read back. */
static int set_one(struct apply_item *it, const char *path, const char *text)
{
	char *back = NULL;
	int r = write_value(path, text);

	if (r < 0) {
		set_error(it, "write", r);
		return r;
	}
	r = read_value(path, &back);
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
static int unchanged_or_restore(struct apply_item *it, const char *path)
{
	char *back = NULL, *safe, *why = it->error;
	int r;

	if (read_value(path, &back) == 0 && apply_same_value(back, it->old)) {
		free(back);
		return 0;
	}
	free(back);
	back = NULL;
	if (write_value(path, it->old) == 0 && read_value(path, &back) == 0 &&
	    apply_same_value(back, it->old)) {
		free(back);
		return 0;
	}
	if (!back && read_value(path, &back) < 0)
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

int apply_sysctl(struct apply_item *items, size_t n)
{
	char path[SYSCTL_KEY_MAX + 16];
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		struct apply_item *it = &items[i];

		r = proc_path(it->key, path, sizeof(path));
		if (r < 0) {
			set_error(it, "invalid key", r);
			it->status = APPLY_FAILED;
			break;
		}
		r = read_value(path, &it->old);
		if (r < 0) {
			set_error(it, "read", r);
			it->status = APPLY_FAILED;
			break;
		}
		if (apply_same_value(it->old, it->text)) {
			it->status = APPLY_UNCHANGED;
			continue;
		}
		r = set_one(it, path, it->text);
		if (r < 0) {
			/* it may have taken part of it: read back first, and put
			 * the old value back only when it changed (a read-only
			 * /proc/sys changes nothing) */
			it->status = unchanged_or_restore(it, path) == 0 ? APPLY_FAILED : APPLY_ROLLBACK_FAILED;
			break;
		}
		it->status = APPLY_SET;
	}
	if (i == n)
		return 0;
	apply_restore(items, i);
	return -1;
}

int apply_restore(struct apply_item *items, size_t n)
{
	char path[SYSCTL_KEY_MAX + 16];
	int bad = 0;

	/* best effort, newest first; a restore that fails is said, not retried */
	while (n-- > 0) {
		struct apply_item *it = &items[n];

		if (it->status != APPLY_SET)
			continue;
		if (proc_path(it->key, path, sizeof(path)) < 0) {
			it->status = APPLY_ROLLBACK_FAILED;
			bad = 1;
		} else if (set_one(it, path, it->old) == 0 || unchanged_or_restore(it, path) == 0) {
			/* read back: the old value is there */
			it->status = APPLY_ROLLED_BACK;
			free(it->error);
			it->error = NULL;
		} else {
			it->status = APPLY_ROLLBACK_FAILED;
			bad = 1;
		}
	}
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
