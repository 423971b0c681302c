/* Reading small files below a root directory (normally "/"; --root DIR in
 * tests).  Paths given to these functions are relative to the root and never
 * start with '/'. */
#ifndef NK_FILEIO_H
#define NK_FILEIO_H

#include <stddef.h>

struct nk_root {
	int dirfd;        /* open directory of the root */
	char *path;       /* as given, for messages ("/" when live) */
	int live;         /* 1 when the root is "/" (the running system) */
};

/* Open the root directory.  Returns 0 or -errno. */
int root_open(struct nk_root *r, const char *path);
void root_close(struct nk_root *r);

/* Read a whole file (at most max bytes; -EFBIG when longer) into a
 * NUL-terminated buffer owned by the caller.  Returns 0 or -errno. */
int root_read_file(const struct nk_root *r, const char *relpath, size_t max,
		   char **out, size_t *len);

/* Open below the root, resolving symbolic links inside it (an absolute
 * link target names a path below the root, as it would on the target
 * system; openat2 RESOLVE_IN_ROOT, plain openat on kernels before 5.6).
 * O_CLOEXEC and O_NOCTTY are added.  Returns an fd or -errno. */
int root_open_in(const struct nk_root *root, const char *rel, int flags);

/* Open a directory below the root (O_DIRECTORY).  Returns an fd or -errno. */
int root_open_dir(const struct nk_root *r, const char *relpath);

/* Read the target of a symlink below the root into buf (NUL-terminated).
 * Returns the length or -errno. */
int root_readlink(const struct nk_root *r, const char *relpath, char *buf, size_t size);

/* Read from an fd until EOF, as root_read_file. */
int read_fd_all(int fd, size_t max, char **out, size_t *len);

/* Parse a decimal integer that fills the whole string (leading/trailing
 * blanks allowed).  Returns 0, -EINVAL (not a number) or -ERANGE. */
int parse_int64(const char *s, long long *out);

#endif
