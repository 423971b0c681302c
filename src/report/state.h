/* The state directory of netknobs report (default /var/lib/netknobs): the
 * previous run's state in latest.json, a bounded history of them in
 * history/, and a lock so that two runs cannot interleave.  The state
 * document is described in doc/formats.md.
 *
 * The directory is trusted only when the running user owns it and no one
 * else can write to it (history/ too); it is opened once, and every file
 * in it is opened relative to that descriptor, never through a symbolic
 * link, and written through the one writer (util/atomic.h).  Other modules
 * keep their own files there with state_read_file/state_write_file (or
 * the _json variants): a plain name, no '/', not starting with '.', not
 * "lock" or "history".  In report, between state_open() and state_close():
 *
 *	json_t *h;
 *	char err[200], *moved;
 *
 *	if (state_read_json(sd, "somaxconn.json", &h, err, sizeof(err)) < 0 &&
 *	    state_move_aside(sd, "somaxconn.json", &moved) == 0) {
 *		log_warn("%s/somaxconn.json: %s; moved to %s", sd->path, err, moved);
 *		free(moved);
 *	}
 *	... h is NULL when there was none (or it was unusable) ...
 *	state_write_json(sd, "somaxconn.json", h);   (logs its errors)
 */
#ifndef NK_STATE_H
#define NK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define STATE_VERSION 1

/* The sysctl whose value tells a reboot (the facts must hold it). */
#define STATE_BOOT_ID_KEY "kernel.random.boot_id"

/* A state file larger than this is not ours. */
#define STATE_FILE_MAX (16 << 20)

struct state_dir {
	char *path;
	int dirfd;
	int lockfd;
};

/* Create the directory when missing, check that it can be trusted (owned
 * by the running user, writable by no one else), take its lock, waiting
 * at most wait_s seconds for another run to finish, and remove the
 * temporary files a killed run left.  Returns 0, -EWOULDBLOCK when the lock stayed
 * taken, -EPERM for a directory not to be trusted, or another -errno;
 * logged, with the reason, either way.  sd is to be closed either way. */
int state_open(struct state_dir *sd, const char *path, double wait_s);

/* The state directory at path for reading, without its lock: walked as
 * state_open() walks it (no part of the way controlled by another user;
 * warnings, not errors, say why not), but never created.  Returns an open
 * directory, -ENOENT (quietly) when there is none, or another -errno. */
int state_open_existing(const char *path);
/* Release the lock and the directory (NULL-safe, idempotent). */
void state_close(struct state_dir *sd);

/* Read the file name of the state directory whole: a regular file of at
 * most max bytes, not through a link, without blocking.  Returns 0, -ENOENT
 * when there is none, or another -errno (not logged: the caller knows what
 * the file is for; fileio_strerror() says it). */
int state_read_file(const struct state_dir *sd, const char *name, size_t max, char **out, size_t *len);

/* Write the file name of the state directory atomically (mode 0644).
 * Returns 0 or -errno (logged). */
int state_write_file(const struct state_dir *sd, const char *name, const void *data, size_t len);

/* A JSON document from the file name: 0 with *out the document (NULL when
 * there is no such file), or -errno with *out NULL and the reason in err
 * ("not a regular file", "3:5: invalid token" ...). */
int state_read_json(const struct state_dir *sd, const char *name, json_t **out, char *err, size_t errlen);

/* Was a read of state_read_json() refused for the file itself (not JSON,
 * not a regular file, a link, too large: -EINVAL, -FILEIO_ENOTREG, -ELOOP,
 * -EISDIR, -EFBIG)?  Such a file is moved aside.  Any other error is of
 * the moment (no descriptors or memory left, an I/O error): the file is
 * left as it is. */
bool state_file_at_fault(int err);

/* Write a JSON document to the file name (indented, a trailing newline).
 * Returns 0 or -errno (logged). */
int state_write_json(const struct state_dir *sd, const char *name, const json_t *doc);

/* Move the file name aside as NAME.corrupt-TIME (never over another file),
 * so that nothing is lost when it is replaced.  Returns 0 with *to the new
 * name (free it), or -errno. */
int state_move_aside(const struct state_dir *sd, const char *name, char **to);

/* Read latest.json.  Returns 0 with *out the document, or NULL when there is
 * none.  A file that cannot be parsed, is no regular file or too large, is
 * not a valid state or has a state_version this netknobs does not know is
 * reported (warning naming the file), moved aside as
 * latest.json.corrupt-TIME so that nothing is lost, and *out is NULL with
 * *why saying what was wrong (free it).  When it could not be read for a
 * reason of the moment (no descriptors or memory left, an I/O error) it is
 * left as it is and -errno returned (logged). */
int state_load(struct state_dir *sd, json_t **out, char **why);

/* Write the state as history/TIME.json and latest.json, then remove the
 * oldest history files beyond keep.  history/ is created when missing and
 * used only when it is a directory (not a link) that can be trusted as the
 * state directory; otherwise latest.json is written all the same and the
 * error returned.  Returns 0 or -errno (logged). */
int state_save(struct state_dir *sd, const json_t *state, unsigned keep);

/* Structural check of a state document: 0, or -EINVAL with a reason in err. */
int state_validate(const json_t *st, char *err, size_t errlen);

/* The state of a run (a new document): its time (the facts' collected_at,
 * now when they have none), boot id and network namespace, the flattened
 * counters and the failed findings, one per rule and subject.  NULL when out
 * of memory. */
json_t *state_build(const json_t *facts, const json_t *audit);

/* The report document of netknobs report (doc/formats.md, "state_dir" null):
 * what changed from prev (NULL on a first run or when the previous state was
 * unusable, why_unusable then saying why, or NULL) to cur, which audit
 * produced.  NULL when out of memory. */
json_t *state_compare(const json_t *prev, const json_t *cur, const json_t *audit,
		      const char *why_unusable);

#endif
