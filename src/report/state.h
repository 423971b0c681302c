/* The state directory of netknobs report (default /var/lib/netknobs): the
 * previous run's state in latest.json, a bounded history of them in
 * history/, and a lock so that two runs cannot interleave.  Every file is
 * written atomically.  The state document is described in doc/formats.md. */
#ifndef NK_STATE_H
#define NK_STATE_H

#include <stdbool.h>
#include <jansson.h>

#define STATE_VERSION 1

/* The sysctl whose value tells a reboot (the facts must hold it). */
#define STATE_BOOT_ID_KEY "kernel.random.boot_id"

struct state_dir {
	char *path;
	int lockfd;
};

/* Create the directory when missing and take its lock, waiting at most
 * wait_s seconds for another run to finish.  Returns 0, -EWOULDBLOCK when
 * the lock stayed taken, or another -errno; logged either way. */
int state_open(struct state_dir *sd, const char *path, double wait_s);
/* Release the lock (NULL-safe, idempotent). */
void state_close(struct state_dir *sd);

/* Read latest.json.  Returns 0 with *out the document, or NULL when there is
 * none.  A file that cannot be read or parsed, is not a valid state or has a
 * state_version this netknobs does not know is reported (warning naming the
 * file), moved aside as latest.json.corrupt-TIME so that nothing is lost,
 * and *out is NULL with *why saying what was wrong (free it). */
int state_load(struct state_dir *sd, json_t **out, char **why);

/* Write the state as history/TIME.json and latest.json, then remove the
 * oldest history files beyond keep.  Returns 0 or -errno (logged). */
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
