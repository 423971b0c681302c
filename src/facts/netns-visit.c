/* Running a function inside each network namespace in turn: see
 * netns-scan.h for what does and does not follow setns(). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "facts/netns-scan.h"
#include "util/escape.h"
#include "util/log.h"

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_denied(struct netns_entry *e, int err, const char *what, const char *rel)
{
	char *esc = escape_untrusted_str(rel);

	free(e->why);
	e->why = NULL;
	e->state = NETNS_DENIED;
	e->err = -err;
	if (err == EPERM && !strcmp(what, "setns"))
		(void)!asprintf(&e->why, "entering it needs CAP_SYS_ADMIN over it (setns: %s)", strerror(err));
	else
		(void)!asprintf(&e->why, "%s /%s: %s", what, esc ? esc : "?", strerror(err));
	free(esc);
}

/* Open e by one of the files naming it and check that it still names e.
 * Returns an fd, -ENOENT (gone) or the first other -errno, with *failed
 * (if not NULL) pointing to the path that gave it; e is not changed. */
static int open_by_names(const struct nk_root *root, const struct netns_entry *e, char rel[3][48],
			 const char **failed)
{
	const char *cand[3];
	int nc = 0, err = 0;

	if (e->enter_path)
		cand[nc++] = e->enter_path;
	if (e->pid) {
		snprintf(rel[1], 48, "proc/%d/ns/net", e->pid);
		cand[nc++] = rel[1];
	}
	if (e->pid_alt) {
		snprintf(rel[2], 48, "proc/%d/ns/net", e->pid_alt);
		cand[nc++] = rel[2];
	}
	for (int i = 0; i < nc; i++) {
		/* plain openat: /proc/PID/ns/net is a magic link */
		int fd = openat(root->dirfd, cand[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		struct stat st;

		if (fd < 0) {
			if (errno == ENOENT || errno == ESRCH || errno == ENOTDIR)
				continue;       /* this way is gone */
			if (!err) {
				err = -errno;
				if (failed)
					*failed = cand[i];
			}
			continue;
		}
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == e->id.dev && (uint64_t)st.st_ino == e->id.ino)
			return fd;
		close(fd);      /* the name or PID now stands for another one */
	}
	return err ? err : -ENOENT;
}

int netns_entry_open(const struct nk_root *root, const struct netns_entry *e)
{
	char rel[3][48];

	return open_by_names(root, e, rel, NULL);
}

/* open_by_names(), marking e GONE or DENIED (with e->why) when it fails. */
static int open_entry(const struct nk_root *root, struct netns_entry *e)
{
	char rel[3][48];
	const char *failed = "?";
	int fd = open_by_names(root, e, rel, &failed);

	if (fd == -ENOENT)
		e->state = NETNS_GONE;
	else if (fd < 0)
		set_denied(e, -fd, "cannot open", failed);
	return fd;
}

/* Is the calling thread in the namespace of *home? */
static int at_home(const struct stat *home)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	return st.st_dev == home->st_dev && st.st_ino == home->st_ino ? 0 : -EBADE;
}

static int go_home(int home, const struct stat *hst, const struct netns_entry *e)
{
	int r = setns(home, CLONE_NEWNET) < 0 ? -errno : at_home(hst);

	if (r < 0)
		log_error("cannot return to the own network namespace after entering %s: %s; stopping",
			  e->name ? e->name : "?", r == -EBADE ? "still elsewhere" : strerror(-r));
	return r;
}

int netns_visit(struct netns_list *l, const struct nk_root *root, netns_visit_fn fn, void *arg,
		struct netns_visit_stats *st)
{
	struct stat hst;
	int home, r = 0;

	memset(st, 0, sizeof(*st));
	if (!l->live)
		return -EOPNOTSUPP;
	if (syscall(SYS_gettid) != getpid()) {
		log_error("network namespaces are entered from the main thread only");
		return -EINVAL;
	}
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0 || fstat(home, &hst) < 0) {
		r = -errno;
		log_error("/proc/thread-self/ns/net: %s", strerror(-r));
		if (home >= 0)
			close(home);
		return r;
	}
	for (size_t i = 0; i < l->n && r == 0; i++) {
		struct netns_entry *e = &l->ns[i];
		double t0;
		int fd, rr;

		if (e->self) {
			e->state = NETNS_ENTERED;
			st->entered++;
			r = fn(e, arg);
			continue;
		}
		t0 = now_seconds();
		fd = open_entry(root, e);
		if (fd < 0) {
			if (e->state == NETNS_GONE)
				st->gone++;
			else
				st->denied++;
			st->seconds_setns += now_seconds() - t0;
			continue;
		}
		if (setns(fd, CLONE_NEWNET) < 0) {
			set_denied(e, errno, "setns", e->enter_path ? e->enter_path : "proc");
			close(fd);
			st->denied++;
			continue;
		}
		close(fd);
		st->seconds_setns += now_seconds() - t0;
		e->state = NETNS_ENTERED;
		st->entered++;
		r = fn(e, arg);
		t0 = now_seconds();
		rr = go_home(home, &hst, e);
		st->seconds_setns += now_seconds() - t0;
		if (rr < 0) {
			r = rr;
			break;
		}
	}
	close(home);
	return r;
}
