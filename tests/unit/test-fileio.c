/* Paths below a root: every symbolic link resolved inside it, ".." stopping
 * at it, FIFOs and devices refused, sizes bounded.  The same table runs
 * with the kernel's openat2 and, under tests/helpers/no-openat2
 * (tests/integration/fileio-no-openat2.sh), with the walk that replaces it;
 * NK_TEST_NO_OPENAT2=1 makes the test check that openat2 really fails. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fileio.h"
#include "tap.h"

static char top[PATH_MAX];      /* the temporary directory: root/ and outside/ */

static void mk(const char *rel, const char *content)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
}

static void mkd(const char *rel)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mkdir(p, 0755) < 0) {
		printf("Bail out! cannot mkdir %s\n", p);
		exit(1);
	}
}

/* a link at rel; "@" in target stands for the temporary directory */
static void ln(const char *target, const char *rel)
{
	char p[PATH_MAX * 2], t[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (target[0] == '@')
		snprintf(t, sizeof(t), "%s%s", top, target + 1);
	else
		snprintf(t, sizeof(t), "%s", target);
	if (symlink(t, p) < 0) {
		printf("Bail out! cannot link %s\n", p);
		exit(1);
	}
}

static void build_tree(void)
{
	char p[PATH_MAX * 2];

	mkd("root");
	mkd("outside");
	mk("outside/a.conf", "SECRET");
	mkd("root/etc");
	mkd("root/etc/real.d");
	mk("root/etc/real.d/a.conf", "A");
	mkd("root/outside");                        /* the root's own, empty */
	ln("/etc/real.d", "root/etc/abs");          /* absolute, inside the root */
	ln("real.d", "root/etc/rel");
	ln("../../../../../../../etc/real.d", "root/etc/up");   /* ".." stops at the root */
	ln("@/outside", "root/etc/out");            /* absolute, out of the root */
	ln("../../../../../../../../../../outside", "root/etc/outrel");
	ln("real.d/a.conf", "root/etc/f");
	ln("/etc/f", "root/etc/f2");                /* a link to a link */
	ln("nonexistent", "root/etc/dangling");
	ln("loop", "root/etc/loop");
	ln("loop2b", "root/etc/loop2a");
	ln("loop2a", "root/etc/loop2b");
	ln("real.d/a.conf/x", "root/etc/notdir");
	ln("@/outside/a.conf", "root/etc/secret");
	/* a chain of 41 links: one too many */
	for (int i = 0; i < 41; i++) {
		char name[32], target[32];

		snprintf(name, sizeof(name), "root/etc/c%d", i);
		snprintf(target, sizeof(target), i == 40 ? "real.d/a.conf" : "c%d", i + 1);
		ln(target, name);
	}
	/* a chain of 40: still followed */
	for (int i = 0; i < 40; i++) {
		char name[32], target[32];

		snprintf(name, sizeof(name), "root/etc/d%d", i);
		snprintf(target, sizeof(target), i == 39 ? "real.d/a.conf" : "d%d", i + 1);
		ln(target, name);
	}
	mkd("root/proc");
	mkd("root/proc/123");
	mkd("root/proc/123/ns");
	ln("net:[4026531840]", "root/proc/123/ns/net");
	ln("123", "root/proc/self");
	ln("/proc/self/net", "root/proc/net2");     /* nothing there in the root */
	snprintf(p, sizeof(p), "%s/root/etc/fifo", top);
	if (mkfifo(p, 0600) < 0) {
		printf("Bail out! mkfifo\n");
		exit(1);
	}
}

struct read_case {
	const char *path;
	const char *want;       /* the content, or NULL for an error */
	int err;                /* the -errno wanted */
};

static const struct read_case reads[] = {
	{ "etc/real.d/a.conf", "A", 0 },
	{ "/etc/real.d/a.conf", "A", 0 },
	{ "etc/abs/a.conf", "A", 0 },
	{ "etc/rel/a.conf", "A", 0 },
	{ "etc/up/a.conf", "A", 0 },
	{ "../../../etc/real.d/a.conf", "A", 0 },
	{ "etc/real.d/../real.d/./a.conf", "A", 0 },
	{ "etc/abs/../real.d/a.conf", "A", 0 },
	{ "etc/f", "A", 0 },
	{ "etc/f2", "A", 0 },
	{ "etc/d0", "A", 0 },
	{ "etc/out/a.conf", NULL, -ENOENT },
	{ "etc/outrel/a.conf", NULL, -ENOENT },
	{ "etc/secret", NULL, -ENOENT },
	{ "etc/dangling", NULL, -ENOENT },
	{ "etc/loop", NULL, -ELOOP },
	{ "etc/loop2a", NULL, -ELOOP },
	{ "etc/c0", NULL, -ELOOP },
	{ "etc/notdir", NULL, -ENOTDIR },
	{ "etc/real.d/a.conf/x", NULL, -ENOTDIR },
	{ "etc/fifo", NULL, -FILEIO_ENOTREG },
	{ "etc/real.d", NULL, -EISDIR },
	{ "proc/net2/tcp", NULL, -ENOENT },
};

static void check_reads(const struct nk_root *root)
{
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		const struct read_case *c = &reads[i];
		char *text = NULL;
		int r = root_read_file(root, c->path, 1024, &text, NULL);

		if (c->want) {
			if (!ok(r == 0 && text && !strcmp(text, c->want), "%s reads '%s'", c->path, c->want))
				printf("#   got r=%d (%s) text=%s\n", r, fileio_strerror(-r), text ? text : "(none)");
		} else {
			if (!ok(r == c->err, "%s: %s", c->path, fileio_strerror(-c->err)))
				printf("#   got r=%d (%s) text=%s\n", r, fileio_strerror(-r), text ? text : "(none)");
		}
		free(text);
	}
}

static void check_opens(const struct nk_root *root)
{
	char buf[64];
	struct stat st;
	int fd;

	fd = root_open_dir(root, "etc/abs");
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "a directory through an absolute link");
	if (fd >= 0)
		close(fd);
	fd = root_open_dir(root, "etc/real.d/");
	ok(fd >= 0, "a directory with a trailing slash");
	if (fd >= 0)
		close(fd);
	is_int(root_open_dir(root, "etc/out"), -ENOENT, "a directory out of the root is not opened");
	is_int(root_open_in(root, "etc/f", O_RDONLY | O_NOFOLLOW), -ELOOP, "O_NOFOLLOW: a link as last component");
	fd = root_open_in(root, "etc/abs/a.conf", O_RDONLY | O_NOFOLLOW);
	ok(fd >= 0, "O_NOFOLLOW: links before the last component are followed");
	if (fd >= 0)
		close(fd);
	fd = root_open_in(root, "etc/fifo", O_RDONLY | O_NONBLOCK);
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode), "a FIFO opens without blocking");
	if (fd >= 0)
		close(fd);
	is_int(root_readlink(root, "proc/self/ns/net", buf, sizeof(buf)), 16, "readlink through proc/self");
	is_str(buf, "net:[4026531840]", "the link's text");
	is_int(root_readlink(root, "etc/out/a.conf", buf, sizeof(buf)), -ENOENT,
	       "readlink: no directory out of the root");
	{
		char *text = NULL;

		is_int(root_read_file(root, "etc/real.d/a.conf", 0, &text, NULL), -EFBIG, "larger than max: -EFBIG");
		free(text);
	}
}

int main(void)
{
	struct nk_root root;
	char path[PATH_MAX * 2], cmd[PATH_MAX * 3];
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/netknobs-fileio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	build_tree();
	if (getenv("NK_TEST_NO_OPENAT2")) {
#ifdef SYS_openat2
		long r = syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0);

		ok(r < 0 && (errno == ENOSYS || errno == EPERM), "openat2 fails here (%s): the walk is tested",
		   strerror(errno));
#else
		ok(1, "no openat2 in the headers: the walk is tested");
#endif
	}
	snprintf(path, sizeof(path), "%s/root", top);
	if (root_open(&root, path) < 0) {
		printf("Bail out! cannot open %s\n", path);
		return 1;
	}
	check_reads(&root);
	check_opens(&root);
	root_close(&root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return tap_done();
}
