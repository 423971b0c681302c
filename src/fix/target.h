/* The file fix writes (a sysctl.d drop-in): where it is, below --root
 * too, read only when it is a regular file, written through the one
 * writer (util/atomic.h) never over an edit made since it was read, under
 * a lock of its directory. */
#ifndef NK_FIX_TARGET_H
#define NK_FIX_TARGET_H

#include <stdbool.h>

#include "cmd.h"
#include "fix/dropin.h"
#include "util/fileio.h"

#define FIX_DEFAULT_TARGET "/etc/sysctl.d/90-netknobs.conf"

/* Where the drop-in goes.  Below --root, the directory is opened with
 * symbolic links resolved inside the root, so that a link in an image
 * cannot send the write to this host's files. */
struct fix_target {
	struct nk_root root;
	bool root_open;
	int dirfd;              /* its directory; -1 when that does not exist */
	int dir_err;
	char *sys;              /* path on the target system */
	char *name;             /* file name */
	char *display;          /* path on this system, for messages */
};

/* The target: output (NULL: the default), a path on the target system
 * (below g->root with --root).  0 or -1 (logged); t is to be closed
 * either way. */
int fix_target_open(struct fix_target *t, const struct globals *g, const char *output);
void fix_target_close(struct fix_target *t);

/* The file there: its text, NULL when there is none.  Only a regular file
 * is read (a FIFO would block, a symbolic link may point anywhere or mask
 * the drop-in).  0 or -errno (logged). */
int fix_target_read(const struct fix_target *t, char **out);

/* Write text (len bytes) over old, the file's text (NULL: none): the
 * backup first (old as FILE.bak), then the file, renamed only when it is
 * still old.  Returns 0, -EAGAIN when it changed, or -errno (logged). */
int fix_target_write_text(const struct fix_target *t, const char *text, size_t len, const char *old,
			  bool *backup);
/* The same for a drop-in. */
int fix_target_write(const struct fix_target *t, const struct dropin *d, const char *old, bool *backup);

/* Remove the file, which must still be old (the text a run wrote):
 * 0, -EAGAIN when it changed, or -errno (logged). */
int fix_target_remove(const struct fix_target *t, const char *old);

/* Only one netknobs writes the drop-in's directory at a time: its lock.
 * 0 or -errno (logged). */
int fix_target_lock(const struct fix_target *t);

#endif
