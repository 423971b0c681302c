/* sysctl keys and values under /proc/sys. */
#ifndef NK_SYSCTL_H
#define NK_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "util/fileio.h"

#define SYSCTL_KEY_MAX 256

/* Turn a key in dotted ("net.ipv4.conf.eth0/100.rp_filter") or slashed
 * ("net/ipv4/conf/eth0.100/rp_filter") form into the path below /proc/sys
 * ("net/ipv4/conf/eth0.100/rp_filter") and the canonical dotted key.  As
 * sysctl(8): the first separator decides the form; in dotted form a '/'
 * stands for a literal '.'.  Rejects empty components, "." and "..",
 * control characters, blanks and keys longer than SYSCTL_KEY_MAX.
 * path and key must each hold SYSCTL_KEY_MAX + 1 bytes (either may be NULL).
 * Returns 0 or -EINVAL with a reason in *why. */
int sysctl_key_parse(const char *in, char *path, char *key, const char **why);

/* Why netknobs never recommends, persists or applies the canonical key:
 * the kernel runs the program its value names (kernel.core_pattern with a
 * pipe, kernel.modprobe, kernel.hotplug, kernel.poweroff_cmd ...) or
 * registers programs it runs (fs.binfmt_misc), so a rule recommending it
 * could make netknobs run commands.  NULL for every other key. */
const char *sysctl_key_runs_program(const char *key);

/* Turn the text of a /proc/sys file into a typed JSON value: an integer, a
 * list of integers (blank-separated, e.g. tcp_rmem), or a string.  Integers
 * outside the signed 64-bit range stay strings.  New reference. */
json_t *sysctl_value_parse(const char *text);

/* Read one key.  On success *value is a new reference and 0 is returned;
 * -ENOENT when the key does not exist; another -errno when unreadable;
 * -EINVAL for a malformed key. */
int sysctl_read(const struct nk_root *root, const char *key, json_t **value);

/* The text of key below root (trailing blanks and line break removed),
 * newly allocated, and writing it: the one reader and writer of /proc/sys
 * for the facts and for fix (src/fix/apply.c).  0, -EINVAL for a malformed
 * key, -ENOENT when there is no such key, or another -errno. */
int sysctl_read_text(const struct nk_root *root, const char *key, char **text);
int sysctl_write_text(const struct nk_root *root, const char *key, const char *text);

/* Read the keys into doc["sysctl"] (values) and doc["sysctl_unavailable"]
 * (key -> {"reason": "missing"|"unreadable"|"invalid-key", "error": text}).
 * Keys already present are not read again.  Glob components ('*') expand to
 * every matching entry (net.ipv4.conf.*.rp_filter). */
int sysctl_collect(json_t *doc, const struct nk_root *root, const char *const *keys, size_t n);

/* The keys read by default (NULL-terminated). */
extern const char *const sysctl_watched_keys[];

#endif
