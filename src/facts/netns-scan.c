/* Discovery of network namespaces: see netns-scan.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "facts/netns-scan.h"
#include "util/escape.h"
#include "util/log.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
/* init_net's inode since the initial namespaces got static ones */
#define PROC_NET_INIT_INO 0xEFFFFFF9ULL
#define PF_KTHREAD 0x00200000UL
#define MOUNTINFO_MAX (16u << 20)

struct scan {
	const struct nk_root *root;
	struct netns_list *l;
	uint64_t nsfs_dev;      /* live: st_dev of nsfs */
	struct netns_id self, initial;
	int procfd;
	char *mountinfo;        /* raw text, NULL when unreadable */
};

static uint64_t id_hash(uint64_t v)
{
	v ^= v >> 31;
	v *= 0x9e3779b97f4a7c15ULL;
	return v ^ (v >> 29);
}

static bool id_eq(struct netns_id a, struct netns_id b)
{
	return a.dev == b.dev && a.ino == b.ino;
}

struct netns_entry *netns_list_find(const struct netns_list *l, struct netns_id id)
{
	size_t j;

	if (!l->hash_cap)
		return NULL;
	for (j = id_hash(id.ino) & (l->hash_cap - 1); l->hash[j]; j = (j + 1) & (l->hash_cap - 1))
		if (id_eq(l->ns[l->hash[j] - 1].id, id))
			return &l->ns[l->hash[j] - 1];
	return NULL;
}

static int rehash(struct netns_list *l, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	free(l->hash);
	l->hash = h;
	l->hash_cap = cap;
	for (size_t i = 0; i < l->n; i++) {
		size_t j = id_hash(l->ns[i].id.ino) & (cap - 1);

		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)(i + 1);
	}
	return 0;
}

/* The entry for id, added when new.  NULL when out of memory. */
static struct netns_entry *list_get(struct netns_list *l, struct netns_id id)
{
	struct netns_entry *e = netns_list_find(l, id);

	if (e)
		return e;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct netns_entry *nn = realloc(l->ns, cap * sizeof(*nn));

		if (!nn)
			return NULL;
		l->ns = nn;
		l->cap = cap;
	}
	e = &l->ns[l->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->kind = NETNS_KIND_UNKNOWN;
	e->runtime = NETNS_KIND_UNKNOWN;
	if (l->n * 2 > l->hash_cap) {
		if (rehash(l, l->hash_cap ? l->hash_cap * 2 : 64) < 0) {
			l->n--;
			return NULL;
		}
	} else {
		size_t j = id_hash(id.ino) & (l->hash_cap - 1);

		while (l->hash[j])
			j = (j + 1) & (l->hash_cap - 1);
		l->hash[j] = (uint32_t)l->n;
	}
	return e;
}

struct netns_entry *netns_list_add(struct netns_list *l, struct netns_id id)
{
	return list_get(l, id);
}

/* "net:[4026532281]" → 4026532281; 0 for anything else. */
static uint64_t parse_ns_link(const char *s)
{
	uint64_t v = 0;
	size_t n = strlen(s), i;

	if (n < 7 || memcmp(s, "net:[", 5) != 0 || s[n - 1] != ']')
		return 0;
	for (i = 5; i < n - 1; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

/* The identity of the namespace named by dirfd/rel: 0, -ENOENT (gone),
 * -EACCES, -EINVAL (not a namespace file), ...  under: the directory of
 * dirfd relative to the root, for a tree below --root, where a link on the
 * way must resolve inside the tree (root_readlink); NULL when rel is a
 * name in dirfd itself. */
static int read_id(const struct scan *sc, int dirfd, const char *under, const char *rel, struct netns_id *id)
{
	if (sc->l->live) {
		struct stat st;

		if (fstatat(dirfd, rel, &st, 0) < 0)
			return errno == ESRCH ? -ENOENT : -errno;
		if ((uint64_t)st.st_dev != sc->nsfs_dev)
			return -EINVAL;
		id->dev = (uint64_t)st.st_dev;
		id->ino = (uint64_t)st.st_ino;
	} else {
		char buf[64], path[96];
		ssize_t n;

		if (under) {
			snprintf(path, sizeof(path), "%s%s%s", under, *under ? "/" : "", rel);
			n = root_readlink(sc->root, path, buf, sizeof(buf));
			if (n <= 0)
				return n == 0 || n == -ESRCH ? -ENOENT : (int)n;
		} else {
			n = readlinkat(dirfd, rel, buf, sizeof(buf) - 1);
			if (n < 0)
				return errno == ESRCH ? -ENOENT : -errno;
			buf[n] = '\0';
		}
		id->dev = 0;
		id->ino = parse_ns_link(buf);
		if (!id->ino)
			return -EINVAL;
	}
	return 0;
}

/* Live or fake: is ROOT/proc/self/ns/net on nsfs? */
static int scan_mode(struct scan *sc)
{
	/* a tree below --root is never the running system: nothing in it is
	 * opened through links that could lead out of it */
	int fd = sc->root->live ? openat(sc->root->dirfd, "proc/self/ns/net",
					 O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) : -1;
	struct statfs sf;
	struct stat st;

	sc->l->live = false;
	if (fd >= 0) {
		if (fstatfs(fd, &sf) == 0 && sf.f_type == NSFS_MAGIC && fstat(fd, &st) == 0) {
			sc->l->live = true;
			sc->nsfs_dev = (uint64_t)st.st_dev;
		}
		close(fd);
	}
	return read_id(sc, sc->root->dirfd, "", "proc/self/ns/net", &sc->self);
}

/* Field 9 (flags) and 22 (starttime) of a /proc/PID/stat text. */
static int parse_stat(const char *text, unsigned long *flags, unsigned long long *start)
{
	const char *p = strrchr(text, ')');
	int field = 2;

	if (!p)
		return -EINVAL;
	p++;
	while (*p && field < 22) {
		while (*p == ' ')
			p++;
		field++;
		if (field == 9)
			*flags = strtoul(p, NULL, 10);
		if (field == 22) {
			*start = strtoull(p, NULL, 10);
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

static int read_proc_stat(const struct scan *sc, int pid, unsigned long *flags,
			  unsigned long long *start)
{
	char rel[48], *text = NULL;
	int r;

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	r = root_read_file(sc->root, rel, 4096, &text, NULL);
	if (r == 0) {
		r = parse_stat(text, flags, start);
		free(text);
	}
	return r;
}

/* The initial namespace: a kernel thread's, PID 1's (live: only when it is
 * the static inode), or the static inode. */
static void find_initial(struct scan *sc)
{
	unsigned long flags = 0;
	unsigned long long start;
	struct netns_id id;

	sc->initial.ino = 0;
	if (read_proc_stat(sc, 2, &flags, &start) == 0 && (flags & PF_KTHREAD) &&
	    read_id(sc, sc->procfd, "proc", "2/ns/net", &id) == 0) {
		sc->initial = id;
		sc->l->initial_method = "kthread";
	} else if (read_id(sc, sc->procfd, "proc", "1/ns/net", &id) == 0 &&
		   (!sc->l->live || id.ino == PROC_NET_INIT_INO)) {
		/* live, PID 1 elsewhere than init_net is a container's init
		 * (its own PID namespace): the static inode is the host's */
		sc->initial = id;
		sc->l->initial_method = "pid1";
	} else {
		sc->initial.dev = sc->l->live ? sc->nsfs_dev : 0;
		sc->initial.ino = PROC_NET_INIT_INO;
		sc->l->initial_method = "static-inode";
	}
}

static bool is_pid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9' || i >= 9)
			return false;
	return i > 0 && s[0] != '0';
}

static void note_proc(struct scan *sc, struct netns_entry *e, int pid)
{
	unsigned long flags;
	unsigned long long start = ~0ULL;

	e->nprocs++;
	if (id_eq(e->id, sc->initial)) {
		/* named "host": no start times needed, one PID to enter by */
		if (!e->pid)
			e->pid = pid;
		else
			e->pid_alt = pid;
		return;
	}
	if (read_proc_stat(sc, pid, &flags, &start) < 0)
		start = ~0ULL;          /* unknown: after every known one */
	if (!e->pid || start < e->start || (start == e->start && pid < e->pid)) {
		if (e->pid)
			e->pid_alt = e->pid;
		e->pid = pid;
		e->start = start;
	} else {
		e->pid_alt = pid;
	}
}

static int scan_procs(struct scan *sc)
{
	int dfd = dup(sc->procfd);
	struct dirent *d;
	DIR *dir;

	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		char rel[32];
		struct netns_id id;
		struct netns_entry *e;
		int r, pid;

		if (!is_pid(d->d_name))
			continue;
		pid = atoi(d->d_name);
		snprintf(rel, sizeof(rel), "%d/ns/net", pid);
		r = read_id(sc, sc->procfd, "proc", rel, &id);
		if (r == -EACCES || r == -EPERM) {
			if (!sc->l->procs_denied++)
				sc->l->first_denied_pid = pid;
			continue;
		}
		if (r < 0) {
			/* exited, or no ns/net (kernels without it, fake roots) */
			if (r == -ENOENT)
				sc->l->procs_gone++;
			continue;
		}
		sc->l->procs++;
		e = list_get(sc->l, id);
		if (!e) {
			closedir(dir);
			return -ENOMEM;
		}
		note_proc(sc, e, pid);
	}
	closedir(dir);
	return 0;
}

static int set_str(char **dst, const char *s)
{
	char *v = strdup(s);

	if (!v)
		return -ENOMEM;
	free(*dst);
	*dst = v;
	return 0;
}

/* An ip netns name: the smallest one names the namespace. */
static int add_name(struct netns_entry *e, const char *dir, const char *name)
{
	char *esc, *path;
	int r = 0;

	e->nnames++;
	esc = escape_untrusted_str(name);
	if (!esc)
		return -ENOMEM;
	if (e->netns_name && strcmp(e->netns_name, esc) <= 0) {
		free(esc);
		return 0;
	}
	free(e->netns_name);
	e->netns_name = esc;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	free(e->enter_path);
	e->enter_path = path;
	return r;
}

/* mountinfo's octal escapes (\040 space, \011, \012, \134) decoded in place */
static void unmangle(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

struct mount_line {
	struct netns_id id;
	char *point;            /* absolute, unmangled, in the line's buffer */
};

/* Parse one mountinfo line (modified: split into fields).  Returns true for
 * an nsfs mount of a network namespace. */
static bool parse_mount_line(const struct scan *sc, char *line, struct mount_line *m)
{
	char *f[6], *save = NULL, *tok, *fstype = NULL;
	unsigned maj, min;
	int i;

	for (i = 0, tok = strtok_r(line, " ", &save); tok && i < 6; tok = strtok_r(NULL, " ", &save))
		f[i++] = tok;
	if (i < 6)
		return false;
	/* optional fields up to "-", then the file system type */
	for (; tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, "-")) {
			fstype = strtok_r(NULL, " ", &save);
			break;
		}
	if (!fstype || strcmp(fstype, "nsfs") != 0 || sscanf(f[2], "%u:%u", &maj, &min) != 2)
		return false;
	m->id.ino = parse_ns_link(f[3]);
	m->id.dev = sc->l->live ? (uint64_t)makedev(maj, min) : 0;
	unmangle(f[4]);
	m->point = f[4];
	return m->id.ino != 0 && m->point[0] == '/';
}

/* For a fake root's run/netns/NAME that is not a link: its bind mount. */
static int mount_id_of(const struct scan *sc, const char *abs, struct netns_id *id)
{
	char *copy, *line, *save = NULL;
	int r = -ENOENT;

	if (!sc->mountinfo)
		return -ENOENT;
	copy = strdup(sc->mountinfo);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mount_line m;

		if (parse_mount_line(sc, line, &m) && !strcmp(m.point, abs)) {
			*id = m.id;
			r = 0;  /* the last mount on a point is the visible one */
		}
	}
	free(copy);
	return r;
}

static bool under_netns_dir(const char *abs)
{
	return !strncmp(abs, "/run/netns/", 11) || !strncmp(abs, "/var/run/netns/", 15);
}

static int scan_names(struct scan *sc)
{
	static const char *const dirs[] = { "var/run/netns", "run/netns" };
	const char *dirname = NULL;
	struct dirent *d;
	DIR *dir = NULL;
	int r = 0;

	for (size_t i = 0; i < 2 && !dir; i++) {
		int fd = root_open_in(sc->root, dirs[i], O_RDONLY | O_DIRECTORY);

		if (fd >= 0 && !(dir = fdopendir(fd)))
			close(fd);
		dirname = dirs[i];
	}
	if (!dir)
		return 0;       /* no named namespaces */
	while (r == 0 && (d = readdir(dir))) {
		struct netns_id id;
		struct netns_entry *e;

		if (d->d_name[0] == '.')
			continue;
		sc->l->names++;
		if (read_id(sc, dirfd(dir), NULL, d->d_name, &id) < 0) {
			char abs[4096];

			/* deleted meanwhile, a stale file, or a fake root's
			 * plain file standing for the mount */
			snprintf(abs, sizeof(abs), "/%s/%s", dirname, d->d_name);
			if (sc->l->live || mount_id_of(sc, abs, &id) < 0)
				continue;
		}
		e = list_get(sc->l, id);
		r = e ? add_name(e, dirname, d->d_name) : -ENOMEM;
	}
	closedir(dir);
	return r;
}

static int scan_mounts(struct scan *sc)
{
	char *copy, *line, *save = NULL;
	int r = 0;

	if (root_read_file(sc->root, "proc/self/mountinfo", MOUNTINFO_MAX, &sc->mountinfo, NULL) < 0) {
		sc->mountinfo = NULL;
		return 0;
	}
	copy = strdup(sc->mountinfo);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		struct mount_line m;
		struct netns_entry *e;
		char *esc;

		if (!parse_mount_line(sc, line, &m))
			continue;
		sc->l->mounts++;
		if (under_netns_dir(m.point))
			continue;       /* the names, read from the directory */
		e = list_get(sc->l, m.id);
		if (!e) {
			r = -ENOMEM;
			break;
		}
		esc = escape_untrusted_str(m.point);
		if (!esc) {
			r = -ENOMEM;
			break;
		}
		if (!e->mount || strcmp(esc, e->mount) < 0) {
			free(e->mount);
			e->mount = esc;
			if (!e->netns_name)
				r = set_str(&e->enter_path, m.point + 1);
		} else {
			free(esc);
		}
	}
	free(copy);
	return r;
}

static void entry_clear(struct netns_entry *e)
{
	free(e->name);
	free(e->netns_name);
	free(e->mount);
	free(e->container_id);
	free(e->pod_uid);
	free(e->pod_namespace);
	free(e->pod_name);
	free(e->docker_name);
	free(e->comm);
	free(e->enter_path);
	free(e->why);
}

void netns_list_free(struct netns_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		entry_clear(&l->ns[i]);
	free(l->ns);
	free(l->hash);
	free(l);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct netns_entry *x = a, *y = b;
	int c;

	if (x->initial != y->initial)
		return x->initial ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	if (c)
		return c;
	return x->id.ino < y->id.ino ? -1 : x->id.ino > y->id.ino;
}

int netns_scan(const struct nk_root *root, struct netns_list **out)
{
	struct netns_list *l = calloc(1, sizeof(*l));
	struct scan sc = { .root = root, .l = l, .procfd = -1 };
	struct netns_entry *e;
	int r;

	if (!l)
		return -ENOMEM;
	sc.procfd = root_open_dir(root, "proc");
	if (sc.procfd < 0) {
		r = sc.procfd;
		log_error("%s/proc: %s", strcmp(root->path, "/") ? root->path : "", strerror(-r));
		goto fail;
	}
	r = scan_mode(&sc);
	if (r < 0) {
		log_error("%s/proc/self/ns/net: %s", strcmp(root->path, "/") ? root->path : "",
			  r == -EINVAL ? "not a network namespace link" : strerror(-r));
		goto fail;
	}
	find_initial(&sc);
	/* the own and the initial namespace are always in the list */
	if (!(e = list_get(l, sc.self)) || !(e = list_get(l, sc.initial))) {
		r = -ENOMEM;
		goto fail;
	}
	r = scan_procs(&sc);
	if (r == 0)
		r = scan_mounts(&sc);
	if (r == 0)
		r = scan_names(&sc);
	if (r < 0) {
		log_error("finding network namespaces: %s", strerror(-r));
		goto fail;
	}
	/* the initial one was only a guess when nothing showed it */
	e = netns_list_find(l, sc.initial);
	if (!strcmp(l->initial_method, "static-inode") && !e->nprocs && !e->netns_name &&
	    !e->mount && !id_eq(sc.initial, sc.self)) {
		entry_clear(e);
		*e = l->ns[--l->n];
		l->initial_method = NULL;
		if (rehash(l, l->hash_cap) < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		l->ns[i].self = id_eq(l->ns[i].id, sc.self);
		l->ns[i].initial = l->initial_method && id_eq(l->ns[i].id, sc.initial);
	}
	r = netns_name_entries(l, root);
	if (r < 0)
		goto fail;
	qsort(l->ns, l->n, sizeof(*l->ns), entry_cmp);
	if (rehash(l, l->hash_cap) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	free(sc.mountinfo);
	close(sc.procfd);
	*out = l;
	return 0;
fail:
	free(sc.mountinfo);
	if (sc.procfd >= 0)
		close(sc.procfd);
	netns_list_free(l);
	return r;
}
