/* The one writer of netknobs: every file it writes (facts -o, the fix
 * drop-in and its backup, report's state and history, the Prometheus
 * textfile) goes through here.
 *
 *  - Readers see the old or the new content, never a partial one: a
 *    temporary file in the same directory, fsync, rename, fsync of the
 *    directory.  On failure the target is untouched and the temporary
 *    file removed.
 *  - A target that exists and is not a regular file (a symbolic link, a
 *    FIFO, a device, a directory) is refused and said so: nothing is
 *    written through a link, and no device node or FIFO is replaced.
 *  - Temporary files are named ".NAME.netknobs-XXXXXX" and locked (flock)
 *    while written.  One that no writer holds was left by a writer that
 *    was killed: the next write of NAME in that directory removes it (ours
 *    only: owned by the running user). */
#ifndef NK_ATOMIC_H
#define NK_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The temporary files of older versions, "NAME.XXXXXX", are removed too
 * (only where netknobs owns the directory or the name: the state
 * directory, netknobs.prom). */
#define ATOMIC_SWEEP_LEGACY 0x1

struct atomic_opts {
	const char *display;    /* the target in messages (its path) */
	mode_t mode;            /* of the new file */
	/* a file name in the directory (the target itself, or the file a
	 * backup is made of) whose permission bits and owner the new file
	 * takes when it is a regular file: a file replaced keeps them, so a
	 * file of mode 0600 is never rewritten readable by all (when its
	 * owner cannot be given, only the running user may read it); NULL:
	 * mode */
	const char *like;
	unsigned flags;         /* ATOMIC_* */
	/* called once the data is on disk, right before the rename; a
	 * negative return aborts the write (nothing is logged then) and is
	 * returned; NULL: none */
	int (*before_rename)(void *arg);
	void *arg;
};

/* Write len bytes to the file name (no '/') in the directory dirfd.
 * Returns 0 or -errno; logged with o->display but for before_rename's
 * refusal. */
int atomic_write_opts(int dirfd, const char *name, const void *data, size_t len,
		      const struct atomic_opts *o);

/* The same with the given mode and no other option. */
int atomic_write_at(int dirfd, const char *name, const char *display, const void *data, size_t len,
		    mode_t mode);

/* The same for a path (its directory opened as given); a file replaced
 * keeps its mode and owner (like). */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Remove the temporary files a killed writer left in dirfd: those of our
 * pattern for a NAME that is_ours(NAME, arg) accepts (with
 * ATOMIC_SWEEP_LEGACY also "NAME.XXXXXX"), owned by the running user and
 * held by no writer.  display names the directory in warnings.  Returns
 * the number removed. */
unsigned atomic_sweep(int dirfd, const char *display, bool (*is_ours)(const char *name, void *arg),
		      void *arg, unsigned flags);

#endif
