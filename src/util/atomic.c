#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"

/* A new file "NAME.XXXXXX" in dirfd, as mkostemp does, but relative to a
 * directory descriptor. */
static int create_temp(int dirfd, const char *name, char **tmp)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct timespec ts;
	unsigned long long x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)getpid() << 20) ^ (unsigned long long)ts.tv_sec;
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[7];
		int fd;

		for (int i = 0; i < 6; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			suffix[i] = chars[(x >> 33) % (sizeof(chars) - 1)];
		}
		suffix[6] = '\0';
		if (asprintf(tmp, "%s.%s", name, suffix) < 0)
			return -ENOMEM;
		fd = openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int atomic_write_at(int dirfd, const char *name, const char *display, const void *data, size_t len,
		    mode_t mode)
{
	char *tmp = NULL;
	const char *p = data;
	int fd, e = 0;

	fd = create_temp(dirfd, name, &tmp);
	if (fd < 0) {
		log_error("%s: cannot create a temporary file: %s", display, strerror(-fd));
		return fd;
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
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		e = errno;
		goto fail;
	}
	/* make the rename durable */
	fsync(dirfd);
	free(tmp);
	return 0;
fail:
	log_error("%s: write failed: %s", display, strerror(e));
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	free(tmp);
	return -e;
}

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	int dfd, r;

	if (!dcopy || !bcopy) {
		free(dcopy);
		free(bcopy);
		return -ENOMEM;
	}
	dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		log_error("%s: cannot create a temporary file: %s", path, strerror(-r));
	} else {
		r = atomic_write_at(dfd, basename(bcopy), path, data, len, mode);
		close(dfd);
	}
	free(dcopy);
	free(bcopy);
	return r;
}
