/* The persisted sysctl configuration, as systemd-sysctl applies it at boot
 * (sysctl.d(5)).  Read below a root directory; never touches /proc/sys. */
#ifndef NK_SYSCTLD_H
#define NK_SYSCTLD_H

#include <jansson.h>

#include "util/fileio.h"

/* Largest configuration file read (larger ones are reported unreadable) and
 * longest line parsed (longer ones are reported and skipped). */
#define SYSCTLD_FILE_MAX (1024 * 1024)
#define SYSCTLD_LINE_MAX 4096

/* Read the sysctl.d directories and /etc/sysctl.conf below root into
 * doc["persistent"] ("files", "keys", "globs"; see doc/facts.md).  Files that
 * cannot be read and lines that cannot be parsed are reported in the files'
 * entries and in doc["notes"].  Returns 0, or -ENOMEM. */
int sysctld_collect(json_t *doc, const struct nk_root *root);

/* The text of one sysctl.d file, named path (as "/etc/sysctl.d/x.conf"),
 * parsed into doc["persistent"] as sysctld_collect() does for a tree that
 * holds only that file ("files" empty).  Returns 0, or -ENOMEM. */
int sysctld_parse_buffer(json_t *doc, const char *path, const char *text, size_t len);

#endif
