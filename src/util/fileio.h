/* Reading files without harm: below a root directory (normally "/";
 * --root DIR examines a copied tree) every path is resolved inside the
 * root, whatever its symbolic links say, and every reader opens without
 * blocking (a FIFO must not hang netknobs), takes regular files only and
 * bounds the size.  Paths given to the root_ functions are relative to the
 * root. */
#ifndef NK_FILEIO_H
#define NK_FILEIO_H

#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

/* The error of a reader given something that is no regular file (a FIFO,
 * a device, a socket): fileio_strerror() says "not a regular file". */
#define FILEIO_ENOTREG EMEDIUMTYPE

struct nk_root {
	int dirfd;        /* open directory of the root */
	char *path;       /* as given, for messages ("/" when live) */
	int live;         /* 1 when the root is "/" (the running system) */
};

/* Open the root directory.  Returns 0 or -errno. */
int root_open(struct nk_root *r, const char *path);
void root_close(struct nk_root *r);

/* Open rel below the root.  Symbolic links are resolved inside the root:
 * an absolute link target names a path below it, as it would on the
 * examined system, and ".." stops at it.  The kernel does that with
 * openat2(RESOLVE_IN_ROOT) from Linux 5.6; where openat2 is missing or
 * refused (older kernels, seccomp filters that answer ENOSYS or EPERM),
 * the path is walked one component at a time with O_NOFOLLOW and each
 * link followed by hand, never by the kernel.  Magic links (/proc/PID/fd)
 * are not followed.  For the live root ("/") a plain openat.  flags: as
 * openat's without O_CREAT; O_NOFOLLOW refuses a link as the last
 * component (-ELOOP); O_CLOEXEC and O_NOCTTY are added.  Returns an fd or
 * -errno. */
int root_open_in(const struct nk_root *root, const char *rel, int flags);

/* Read a whole regular file below the root (at most max bytes; -EFBIG when
 * longer) into a NUL-terminated buffer owned by the caller; opened without
 * blocking, -FILEIO_ENOTREG for a FIFO, device or socket, -EISDIR for a
 * directory.  Returns 0 or -errno. */
int root_read_file(const struct nk_root *r, const char *relpath, size_t max,
		   char **out, size_t *len);

/* Open a directory below the root (O_DIRECTORY).  Returns an fd or -errno. */
int root_open_dir(const struct nk_root *r, const char *relpath);

/* Read the target of a symlink below the root into buf (NUL-terminated):
 * the directories leading to it are resolved inside the root.  Returns the
 * length or -errno. */
int root_readlink(const struct nk_root *r, const char *relpath, char *buf, size_t size);

/* Open the file name (no '/') in the directory dirfd for reading: never
 * through a symbolic link (-ELOOP), without blocking, a regular file only
 * (-FILEIO_ENOTREG, -EISDIR).  st, when not NULL, gets its status.
 * Returns an fd or -errno. */
int fileio_open_regular_at(int dirfd, const char *name, struct stat *st);

/* The same, read whole as root_read_file.  Returns 0 or -errno. */
int fileio_read_at(int dirfd, const char *name, size_t max, char **out, size_t *len);

/* Read from an fd until EOF, as root_read_file. */
int read_fd_all(int fd, size_t max, char **out, size_t *len);

/* Take an exclusive flock on fd, waiting at most wait_s seconds for its
 * holder.  Returns 0, -EWOULDBLOCK when it stayed taken, or -errno. */
int fileio_lock(int fd, double wait_s);

/* strerror(), which also knows FILEIO_ENOTREG. */
const char *fileio_strerror(int err);

/* What a file of this mode is, for messages: "a FIFO", "a symbolic
 * link", "a directory", "a character device" ... */
const char *fileio_kind(mode_t mode);

/* Parse a decimal integer that fills the whole string (leading/trailing
 * blanks allowed).  Returns 0, -EINVAL (not a number) or -ERANGE. */
int parse_int64(const char *s, long long *out);

#endif
