#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facts/netns.h"
#include "util/escape.h"
#include "util/log.h"

int netns_open_spec(const char *spec, struct netns_id *id)
{
	char path[4096];
	const char *p = spec;
	struct stat st;
	int fd, all_digits = *spec != '\0';

	for (const char *c = spec; *c; c++)
		if (*c < '0' || *c > '9')
			all_digits = 0;
	if (all_digits) {
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
		p = path;
	} else if (!strchr(spec, '/')) {
		if (!strcmp(spec, ".") || !strcmp(spec, "..")) {
			log_error("--netns %s: not a namespace name", spec);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "/run/netns/%s", spec);
		p = path;
	}
	fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);   /* a FIFO must not hang it */
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && p != spec && !all_digits)
			log_error("--netns %s: no such network namespace (%s does not exist; see `ip netns list`)",
				  spec, p);
		else if (e == ENOENT && all_digits)
			log_error("--netns %s: no process with that PID", spec);
		else
			log_error("--netns %s: cannot open %s: %s", spec, p, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		log_error("--netns %s: %s: %s", spec, p, strerror(e));
		close(fd);
		return -e;
	}
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return fd;
}

int netns_enter(const char *spec)
{
	struct netns_id id;
	int fd = netns_open_spec(spec, &id);

	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;

		if (e == EPERM)
			log_error("--netns %s: entering a network namespace needs root (CAP_SYS_ADMIN)", spec);
		else if (e == EINVAL)
			log_error("--netns %s: not a network namespace", spec);
		else
			log_error("--netns %s: setns: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}
