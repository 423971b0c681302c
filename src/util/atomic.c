#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL, *dircopy = NULL;
	const char *p = data;
	int fd = -1, dfd, e = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		log_error("%s: cannot create a temporary file: %s", path, strerror(e));
		free(tmp);
		return -e;
	}
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			goto fail;
		}
		p += k;
		len -= (size_t)k;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		e = errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		e = errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		e = errno;
		goto fail;
	}
	/* make the rename durable */
	dircopy = strdup(path);
	if (dircopy) {
		dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(dircopy);
	free(tmp);
	return 0;
fail:
	log_error("%s: write failed: %s", path, strerror(e));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -e;
}
