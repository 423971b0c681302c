/* Naming network namespaces as a person would, and saying where a change
 * to one applies: see netns-scan.h.
 *
 * Containers are recognised from the cgroup path of a process of the
 * namespace (its oldest; another one when it has exited):
 *
 *   systemd driver (v1 and v2)                 cgroupfs driver
 *   .../docker-ID.scope                        /docker/ID
 *   .../cri-containerd-ID.scope                (kubepods tree, below)
 *   .../crio-ID.scope                          .../crio-ID
 *   .../libpod-ID.scope                        /libpod_parent/libpod-ID
 *   .../nerdctl-ID.scope (containerd)
 *   kubepods[-QOS]-pod<UID>.slice              /kubepods[/QOS]/pod<UID>/ID
 *
 * ID is 64 lowercase hex digits; the innermost container wins (a container
 * inside a container is named by its own ID).  The conmon scopes of CRI-O
 * and Podman (crio-conmon-ID, libpod-conmon-ID) are monitors, not
 * containers, and do not match.  systemd slice names write a pod UID's
 * dashes as underscores. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/netns-scan.h"
#include "util/escape.h"

const char *netns_kind_name(enum netns_kind k)
{
	static const char *const names[] = {
		[NETNS_KIND_HOST] = "host",
		[NETNS_KIND_NAMED] = "named",
		[NETNS_KIND_DOCKER] = "docker",
		[NETNS_KIND_CONTAINERD] = "containerd",
		[NETNS_KIND_CRIO] = "cri-o",
		[NETNS_KIND_PODMAN] = "podman",
		[NETNS_KIND_KUBE_POD] = "kubernetes-pod",
		[NETNS_KIND_PROCESS] = "process",
		[NETNS_KIND_MOUNT] = "mount",
		[NETNS_KIND_UNKNOWN] = "unknown",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

const char *netns_state_name(enum netns_state s)
{
	switch (s) {
	case NETNS_FOUND: return "found";
	case NETNS_ENTERED: return "entered";
	case NETNS_GONE: return "gone";
	case NETNS_DENIED: return "denied";
	}
	return "found";
}

/* ---- cgroup paths ---- */

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

/* A container id: exactly 64 hex digits (s[0..n)). */
static bool is_cid(const char *s, size_t n)
{
	return n == 64 && is_hex(s, n);
}

/* PREFIX<ID>SUFFIX with suffix ".scope" or, when bare_ok, nothing. */
static bool match_cid(const char *c, size_t n, const char *prefix, bool bare_ok, char id[65])
{
	size_t p = strlen(prefix), len;

	if (n <= p || memcmp(c, prefix, p) != 0)
		return false;
	len = n - p;
	if (len > 6 && !memcmp(c + n - 6, ".scope", 6))
		len -= 6;
	else if (!bare_ok)
		return false;
	if (!is_cid(c + p, len))
		return false;
	memcpy(id, c + p, 64);
	id[64] = '\0';
	return true;
}

/* A pod UID: 8-4-4-4-12 hex digits (dashes or, in slice names, underscores),
 * or 32 hex digits (static pods' UIDs are hashes). */
static bool match_uid(const char *s, size_t n, char uid[37])
{
	if (n == 32 && is_hex(s, n)) {
		memcpy(uid, s, 32);
		uid[32] = '\0';
		return true;
	}
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? (s[i] != '-' && s[i] != '_') : !is_hex(s + i, 1))
			return false;
		uid[i] = dash ? '-' : s[i];
	}
	uid[36] = '\0';
	return true;
}

/* One component of a path (c[0..n)); prev: the component before it. */
static void parse_component(const char *c, size_t n, const char *prev, size_t prevn,
			    bool in_kubepods, bool after_pod, struct netns_cgroup *out)
{
	static const struct {
		const char *prefix;
		enum netns_kind kind;
		bool bare_ok;
	} scopes[] = {
		{ "docker-", NETNS_KIND_DOCKER, false },
		{ "cri-containerd-", NETNS_KIND_CONTAINERD, false },
		{ "nerdctl-", NETNS_KIND_CONTAINERD, false },
		{ "crio-", NETNS_KIND_CRIO, true },
		{ "libpod-", NETNS_KIND_PODMAN, true },
	};
	char id[65];

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (match_cid(c, n, scopes[i].prefix, scopes[i].bare_ok, id)) {
			memcpy(out->id, id, sizeof(id));
			out->runtime = scopes[i].kind;
			return;
		}
	if (prevn == 6 && !memcmp(prev, "docker", 6) && is_cid(c, n)) {
		memcpy(out->id, c, 64);
		out->id[64] = '\0';
		out->runtime = NETNS_KIND_DOCKER;
		return;
	}
	if (!out->pod_uid[0] && n > 14 && !memcmp(c, "kubepods", 8) && !memcmp(c + n - 6, ".slice", 6)) {
		/* kubepods-besteffort-pod<UID>.slice */
		const char *p = NULL;

		for (const char *q = c; q + 4 <= c + n - 6; q++)
			if (!memcmp(q, "-pod", 4))
				p = q + 4;
		if (p)
			match_uid(p, (size_t)(c + n - 6 - p), out->pod_uid);
		return;
	}
	if (!out->pod_uid[0] && in_kubepods && n > 3 && !memcmp(c, "pod", 3)) {
		match_uid(c + 3, n - 3, out->pod_uid);
		return;
	}
	if (after_pod && is_cid(c, n)) {
		/* cgroupfs driver: /kubepods/QOS/pod<UID>/ID, runtime not said */
		memcpy(out->id, c, 64);
		out->id[64] = '\0';
	}
}

bool netns_cgroup_parse_path(const char *path, struct netns_cgroup *out)
{
	const char *c = path, *prev = "";
	size_t prevn = 0;
	bool in_kubepods = false, after_pod = false;

	memset(out, 0, sizeof(*out));
	out->kind = out->runtime = NETNS_KIND_UNKNOWN;
	while (*c) {
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/\n");
		if (n == 0)
			break;
		parse_component(c, n, prev, prevn, in_kubepods, after_pod, out);
		after_pod = in_kubepods && out->pod_uid[0] && n > 3 && !memcmp(c, "pod", 3);
		if (n >= 8 && !memcmp(c, "kubepods", 8))
			in_kubepods = true;
		prev = c;
		prevn = n;
		c += n;
		if (*c == '\n')
			break;
	}
	if (out->pod_uid[0])
		out->kind = NETNS_KIND_KUBE_POD;
	else if (out->id[0] && out->runtime != NETNS_KIND_UNKNOWN)
		out->kind = out->runtime;
	else
		out->id[0] = '\0';
	return out->kind != NETNS_KIND_UNKNOWN;
}

bool netns_cgroup_parse(const char *text, struct netns_cgroup *out)
{
	/* pass 0: the unified hierarchy's line ("0::PATH"); pass 1: the others */
	for (int pass = 0; pass < 2; pass++) {
		for (const char *l = text; l && *l;) {
			const char *eol = strchr(l, '\n');
			const char *c1 = memchr(l, ':', eol ? (size_t)(eol - l) : strlen(l));
			const char *c2 = c1 ? memchr(c1 + 1, ':', eol ? (size_t)(eol - c1 - 1) : strlen(c1 + 1)) : NULL;
			bool unified = c1 && c2 && c1 - l == 1 && l[0] == '0' && c2 == c1 + 1;

			if (c2 && unified == (pass == 0) && netns_cgroup_parse_path(c2 + 1, out))
				return true;
			l = eol ? eol + 1 : NULL;
		}
	}
	memset(out, 0, sizeof(*out));
	out->kind = out->runtime = NETNS_KIND_UNKNOWN;
	return false;
}

/* ---- naming ---- */

struct pods {
	bool read;
	char **dirs;            /* entries of ROOT/var/log/pods: NS_NAME_UID */
	size_t n;
};

static void pods_free(struct pods *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->dirs[i]);
	free(p->dirs);
}

static int pods_read(struct pods *p, const struct nk_root *root)
{
	int fd = root_open_in(root, "var/log/pods", O_RDONLY | O_DIRECTORY);
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	p->read = true;
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) > 300)
			continue;
		if (p->n == cap) {
			char **nd;

			cap = cap ? cap * 2 : 64;
			nd = realloc(p->dirs, cap * sizeof(*nd));
			if (!nd)
				break;
			p->dirs = nd;
		}
		if (!(p->dirs[p->n] = strdup(d->d_name)))
			break;
		p->n++;
	}
	closedir(dir);
	return 0;
}

/* The pod of uid from ROOT/var/log/pods/NAMESPACE_NAME_UID (namespace and
 * pod names are DNS labels and subdomains: no underscore). */
static int pod_lookup(struct pods *p, const struct nk_root *root, struct netns_entry *e)
{
	size_t ul = strlen(e->pod_uid);

	if (!p->read)
		pods_read(p, root);
	for (size_t i = 0; i < p->n; i++) {
		const char *d = p->dirs[i], *u1 = strchr(d, '_'), *u2 = strrchr(d, '_');
		size_t dl = strlen(d);

		if (!u1 || u1 == u2 || u1 == d || u2 == u1 + 1 || (size_t)(d + dl - (u2 + 1)) != ul ||
		    strcmp(u2 + 1, e->pod_uid) != 0)
			continue;
		e->pod_namespace = escape_untrusted(d, (size_t)(u1 - d));
		e->pod_name = escape_untrusted(u1 + 1, (size_t)(u2 - u1 - 1));
		return e->pod_namespace && e->pod_name ? 0 : -ENOMEM;
	}
	return 0;
}

/* docker's name of a container: "Name" in its config.v2.json */
static int docker_lookup(const struct nk_root *root, struct netns_entry *e)
{
	char rel[160], *text = NULL;
	json_t *doc, *name;
	int r = 0;

	snprintf(rel, sizeof(rel), "var/lib/docker/containers/%s/config.v2.json", e->container_id);
	if (root_read_file(root, rel, 4u << 20, &text, NULL) < 0)
		return 0;
	doc = json_loads(text, 0, NULL);
	free(text);
	name = json_object_get(doc, "Name");
	if (json_is_string(name)) {
		const char *s = json_string_value(name);

		e->docker_name = escape_untrusted_str(s[0] == '/' ? s + 1 : s);
		if (!e->docker_name)
			r = -ENOMEM;
		else if (!e->docker_name[0]) {
			free(e->docker_name);
			e->docker_name = NULL;
		}
	}
	json_decref(doc);
	return r;
}

/* cgroup and comm of pid; -ENOENT when it has gone */
static int read_proc(const struct nk_root *root, int pid, char **cgroup, char **comm)
{
	char rel[48];
	size_t len;
	int r;

	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	r = root_read_file(root, rel, 64u << 10, cgroup, NULL);
	if (r == -ESRCH)
		r = -ENOENT;
	if (r < 0 && r != -EACCES && r != -EPERM) {
		*cgroup = NULL;
		return r;
	}
	if (r < 0)
		*cgroup = NULL;
	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	if (root_read_file(root, rel, 64, comm, &len) < 0) {
		*comm = NULL;
	} else {
		(*comm)[escape_line_len(*comm, len)] = '\0';
	}
	return 0;
}

static char *short_id(const char *id)
{
	return strndup(id, 12);
}

/* e->name from what is known */
static int set_display_name(struct netns_entry *e)
{
	char *sid = e->container_id ? short_id(e->container_id) : NULL;
	int r = -1;

	switch (e->kind) {
	case NETNS_KIND_HOST:
		e->name = strdup("host");
		r = e->name ? 0 : -1;
		break;
	case NETNS_KIND_NAMED:
		e->name = strdup(e->netns_name);
		r = e->name ? 0 : -1;
		break;
	case NETNS_KIND_KUBE_POD:
		if (e->pod_name)
			r = asprintf(&e->name, "pod %s/%s", e->pod_namespace, e->pod_name);
		else
			r = asprintf(&e->name, "pod %s", e->pod_uid);
		break;
	case NETNS_KIND_DOCKER:
		if (e->docker_name)
			r = asprintf(&e->name, "docker %s (%s)", e->docker_name, sid);
		else
			r = asprintf(&e->name, "docker %s", sid);
		break;
	case NETNS_KIND_CONTAINERD:
	case NETNS_KIND_CRIO:
	case NETNS_KIND_PODMAN:
		r = asprintf(&e->name, "%s %s", netns_kind_name(e->kind), sid);
		break;
	case NETNS_KIND_PROCESS:
		r = asprintf(&e->name, "pid %d (%s)", e->pid, e->comm ? e->comm : "?");
		break;
	case NETNS_KIND_MOUNT:
		e->name = strdup(e->mount);
		r = e->name ? 0 : -1;
		break;
	case NETNS_KIND_UNKNOWN:
		r = asprintf(&e->name, "net:[%llu]", (unsigned long long)e->id.ino);
		break;
	}
	free(sid);
	if (r < 0) {
		e->name = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int name_entry(struct netns_entry *e, const struct nk_root *root, struct pods *pods)
{
	struct netns_cgroup cg = { .kind = NETNS_KIND_UNKNOWN };
	char *cgroup = NULL, *comm = NULL;
	int r = 0;

	if (!e->initial && e->pid) {
		r = read_proc(root, e->pid, &cgroup, &comm);
		if (r == -ENOENT && e->pid_alt) {
			/* the oldest has gone: name it by the other one */
			e->pid = e->pid_alt;
			e->pid_alt = 0;
			e->start = ~0ULL;
			r = read_proc(root, e->pid, &cgroup, &comm);
		}
		if (cgroup)
			netns_cgroup_parse(cgroup, &cg);
		if (comm && !(e->comm = escape_untrusted_str(comm)))
			r = -ENOMEM;
		free(cgroup);
		free(comm);
		if (r == -ENOMEM)
			return r;
	}
	e->runtime = cg.runtime;
	if (cg.id[0] && !(e->container_id = strdup(cg.id)))
		return -ENOMEM;
	if (cg.pod_uid[0] && (!(e->pod_uid = strdup(cg.pod_uid)) || pod_lookup(pods, root, e) < 0))
		return -ENOMEM;
	if (e->runtime == NETNS_KIND_DOCKER && e->container_id && docker_lookup(root, e) < 0)
		return -ENOMEM;
	if (e->initial)
		e->kind = NETNS_KIND_HOST;
	else if (cg.kind != NETNS_KIND_UNKNOWN)
		e->kind = cg.kind;      /* a runtime's namespace, even with a netns name */
	else if (e->netns_name)
		e->kind = NETNS_KIND_NAMED;
	else if (e->pid)
		e->kind = NETNS_KIND_PROCESS;
	else if (e->mount)
		e->kind = NETNS_KIND_MOUNT;
	else
		e->kind = NETNS_KIND_UNKNOWN;
	return set_display_name(e);
}

int netns_name_entries(struct netns_list *l, const struct nk_root *root)
{
	struct pods pods = { 0 };
	int r = 0;

	for (size_t i = 0; i < l->n && r == 0; i++)
		r = name_entry(&l->ns[i], root, &pods);
	pods_free(&pods);
	return r;
}

/* ---- where a change applies ---- */

/* s for a POSIX shell: as it is when plain, else in single quotes */
static char *shell_quote(const char *s)
{
	size_t n = 3;
	bool plain = *s != '\0';
	char *q, *o;

	for (const char *c = s; *c; c++) {
		n += *c == '\'' ? 4 : 1;
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+:@%/=,-", *c))
			plain = false;
	}
	if (plain)
		return strdup(s);
	q = o = malloc(n);
	if (!q)
		return NULL;
	*o++ = '\'';
	for (const char *c = s; *c; c++) {
		if (*c == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *c;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

/* Kubernetes' safe sysctls (kubelet pkg/kubelet/sysctl): allowed in a pod
 * without --allowed-unsafe-sysctls.  The first five for a long time, the
 * others in later releases. */
static int kube_safe(const char *key)
{
	static const char *const old[] = {
		"net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
		"net.ipv4.ip_unprivileged_port_start", "kernel.shm_rmid_forced",
	};
	static const char *const newer[] = {
		"net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	};

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		if (!strcmp(key, old[i]))
			return 2;
	for (size_t i = 0; i < sizeof(newer) / sizeof(newer[0]); i++)
		if (!strcmp(key, newer[i]))
			return 1;
	return 0;
}

static int remedy_now(const struct netns_entry *e, const char *kv, char **now)
{
	char *q = NULL;
	int r;

	/* the namespace netknobs runs in: the command as it is */
	if (e->self)
		return asprintf(now, "sysctl -w %s", kv) < 0 ? -ENOMEM : 0;
	if (e->netns_name) {
		if (!(q = shell_quote(e->netns_name)))
			return -ENOMEM;
		r = asprintf(now, "ip netns exec %s sysctl -w %s", q, kv);
	} else if (e->pid) {
		r = asprintf(now, "nsenter --net=/proc/%d/ns/net sysctl -w %s", e->pid, kv);
	} else if (e->mount) {
		if (!(q = shell_quote(e->mount)))
			return -ENOMEM;
		r = asprintf(now, "nsenter --net=%s sysctl -w %s", q, kv);
	} else {
		r = asprintf(now, "sysctl -w %s", kv);
	}
	free(q);
	return r < 0 ? -ENOMEM : 0;
}

static int remedy_persist(const struct netns_entry *e, const char *key, const char *value,
			  const char *kv, char **out)
{
	char *q = NULL;
	int r;

	switch (e->kind) {
	case NETNS_KIND_HOST:
		r = asprintf(out, "a file in /etc/sysctl.d: %s = %s", key, value);
		break;
	case NETNS_KIND_DOCKER:
		r = asprintf(out, "the container's options: `docker run --sysctl %s` (compose: `sysctls:` `%s: %s`)",
			     kv, key, value);
		break;
	case NETNS_KIND_PODMAN:
		r = asprintf(out, "the container's options: `podman run --sysctl %s` (compose: `sysctls:` `%s: %s`)",
			     kv, key, value);
		break;
	case NETNS_KIND_CONTAINERD:
		r = asprintf(out, "the container's options: `nerdctl run --sysctl %s` (its OCI spec: linux.sysctl)",
			     kv);
		break;
	case NETNS_KIND_KUBE_POD:
	case NETNS_KIND_CRIO: {
		int safe = kube_safe(key);

		r = asprintf(out, "the pod's spec: securityContext.sysctls: [{name: %s, value: \"%s\"}]%s", key, value,
			     safe == 2 ? "" :
			     safe == 1 ? " (a safe sysctl in recent Kubernetes releases; older kubelets must allow it with --allowed-unsafe-sysctls)" :
			     " (not one of Kubernetes' safe sysctls: the kubelet must allow it with --allowed-unsafe-sysctls)");
		break;
	}
	case NETNS_KIND_NAMED:
		if (!(q = shell_quote(e->netns_name)))
			return -ENOMEM;
		r = asprintf(out, "whatever runs `ip netns add %s`, after it: a new namespace starts at the kernel's defaults and /etc/sysctl.d does not apply to it",
			     q);
		break;
	case NETNS_KIND_MOUNT:
		r = asprintf(out, "whatever creates the namespace bound at %s: /etc/sysctl.d does not apply to it", e->mount);
		break;
	case NETNS_KIND_PROCESS:
	case NETNS_KIND_UNKNOWN:
	default:
		r = asprintf(out, "the program that creates this namespace (pid %d, %s), after creating it: /etc/sysctl.d does not apply to it",
			     e->pid, e->comm ? e->comm : "?");
		break;
	}
	free(q);
	return r < 0 ? -ENOMEM : 0;
}

int netns_remedy(const struct netns_entry *e, const char *key, const char *value,
		 char **now, char **persist)
{
	char *kv = NULL, *q;
	int r;

	*now = *persist = NULL;
	if (asprintf(&kv, "%s=%s", key, value) < 0)
		return -ENOMEM;
	/* a value with blanks (net.ipv4.tcp_rmem) is one word for the shell */
	q = shell_quote(kv);
	free(kv);
	if (!q)
		return -ENOMEM;
	r = remedy_now(e, q, now);
	if (r == 0)
		r = remedy_persist(e, key, value, q, persist);
	free(q);
	if (r < 0) {
		free(*now);
		*now = NULL;
	}
	return r;
}

/* ---- JSON ---- */

static void set_str_if(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *netns_entry_to_json(const struct netns_entry *e)
{
	json_t *o = json_object(), *p;
	char id[40];

	if (!o)
		return NULL;
	snprintf(id, sizeof(id), "net:[%llu]", (unsigned long long)e->id.ino);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "inode", json_integer((json_int_t)e->id.ino));
	json_object_set_new(o, "kind", json_string(netns_kind_name(e->kind)));
	set_str_if(o, "name", e->name);
	json_object_set_new(o, "self", json_boolean(e->self));
	json_object_set_new(o, "initial", json_boolean(e->initial));
	set_str_if(o, "netns_name", e->netns_name);
	set_str_if(o, "mount", e->mount);
	if (e->container_id) {
		p = json_object();
		json_object_set_new(p, "runtime", json_string(netns_kind_name(e->runtime)));
		json_object_set_new(p, "id", json_string(e->container_id));
		set_str_if(p, "name", e->docker_name);
		json_object_set_new(o, "container", p);
	}
	if (e->pod_uid) {
		p = json_object();
		json_object_set_new(p, "uid", json_string(e->pod_uid));
		set_str_if(p, "namespace", e->pod_namespace);
		set_str_if(p, "name", e->pod_name);
		json_object_set_new(o, "pod", p);
	}
	p = json_object();
	json_object_set_new(p, "count", json_integer((json_int_t)e->nprocs));
	if (e->pid && !e->initial) {
		json_t *old = json_object();

		json_object_set_new(old, "pid", json_integer(e->pid));
		set_str_if(old, "comm", e->comm);
		json_object_set_new(p, "oldest", old);
	}
	json_object_set_new(o, "processes", p);
	json_object_set_new(o, "state", json_string(netns_state_name(e->state)));
	set_str_if(o, "reason", e->why);
	return o;
}

json_t *netns_list_to_json(const struct netns_list *l)
{
	json_t *o = json_object(), *a = json_array();

	if (!o || !a) {
		json_decref(o);
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, netns_entry_to_json(&l->ns[i]));
	json_object_set_new(o, "namespaces", a);
	json_object_set_new(o, "identity", json_string(l->live ? "stat" : "link"));
	if (l->initial_method)
		json_object_set_new(o, "initial_method", json_string(l->initial_method));
	json_object_set_new(o, "processes_read", json_integer((json_int_t)l->procs));
	json_object_set_new(o, "processes_denied", json_integer((json_int_t)l->procs_denied));
	if (l->procs_denied)
		json_object_set_new(o, "first_denied_pid", json_integer(l->first_denied_pid));
	json_object_set_new(o, "processes_gone", json_integer((json_int_t)l->procs_gone));
	json_object_set_new(o, "nsfs_mounts", json_integer((json_int_t)l->mounts));
	json_object_set_new(o, "netns_names", json_integer((json_int_t)l->names));
	return o;
}

/* ---- a saved list ---- */

static enum netns_kind kind_parse(const char *s)
{
	for (int k = NETNS_KIND_HOST; k <= NETNS_KIND_UNKNOWN; k++)
		if (s && !strcmp(s, netns_kind_name((enum netns_kind)k)))
			return (enum netns_kind)k;
	return (enum netns_kind)-1;
}

/* A string member of o as a new string made safe to print: 0, -EINVAL
 * when it is there and not a string, -ENOMEM. */
static int take_str(const json_t *o, const char *key, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*out = escape_display(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int entry_from_json(const json_t *o, struct netns_entry *e)
{
	const json_t *c = json_object_get(o, "container"), *pod = json_object_get(o, "pod");
	const json_t *procs = json_object_get(o, "processes"), *old = json_object_get(procs, "oldest");
	const char *st = json_string_value(json_object_get(o, "state"));
	int r = 0;

	e->kind = kind_parse(json_string_value(json_object_get(o, "kind")));
	if ((int)e->kind < 0 || !json_is_string(json_object_get(o, "name")))
		return -EINVAL;
	e->self = json_is_true(json_object_get(o, "self"));
	e->initial = json_is_true(json_object_get(o, "initial"));
	r |= take_str(o, "name", &e->name);
	r |= take_str(o, "netns_name", &e->netns_name);
	r |= take_str(o, "mount", &e->mount);
	r |= take_str(c, "id", &e->container_id);
	r |= take_str(c, "name", &e->docker_name);
	r |= take_str(pod, "uid", &e->pod_uid);
	r |= take_str(pod, "namespace", &e->pod_namespace);
	r |= take_str(pod, "name", &e->pod_name);
	r |= take_str(old, "comm", &e->comm);
	r |= take_str(o, "reason", &e->why);
	if (r)
		return r == -ENOMEM ? -ENOMEM : -EINVAL;
	e->runtime = c ? kind_parse(json_string_value(json_object_get(c, "runtime"))) : NETNS_KIND_UNKNOWN;
	if ((int)e->runtime < 0)
		e->runtime = NETNS_KIND_UNKNOWN;
	e->nprocs = (unsigned long)json_integer_value(json_object_get(procs, "count"));
	if (json_integer_value(json_object_get(old, "pid")) > 0 && json_integer_value(json_object_get(old, "pid")) < (1 << 30))
		e->pid = (int)json_integer_value(json_object_get(old, "pid"));
	e->state = !st || !strcmp(st, "entered") ? NETNS_ENTERED : !strcmp(st, "gone") ? NETNS_GONE
		 : !strcmp(st, "denied") ? NETNS_DENIED : NETNS_FOUND;
	return 0;
}

struct netns_list *netns_list_from_json(const json_t *namespaces, char *err, size_t errlen)
{
	struct netns_list *l = calloc(1, sizeof(*l));
	const json_t *o;
	size_t i;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_array_foreach(namespaces, i, o) {
		json_int_t ino = json_integer_value(json_object_get(o, "inode"));
		struct netns_id id = { 0, (uint64_t)ino };
		struct netns_entry *e;
		int r;

		if (!json_is_object(o) || !json_is_integer(json_object_get(o, "inode")) || ino <= 0) {
			snprintf(err, errlen, "namespaces[%zu].netns: \"inode\" must be a positive integer", i);
			goto fail;
		}
		if (netns_list_find(l, id)) {
			snprintf(err, errlen, "namespaces[%zu].netns: net:[%lld] is listed twice", i, (long long)ino);
			goto fail;
		}
		if (!(e = netns_list_add(l, id))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		r = entry_from_json(o, e);
		if (r < 0) {
			snprintf(err, errlen, r == -ENOMEM ? "out of memory"
				 : "namespaces[%zu].netns: \"kind\", \"name\" or another member is missing or of the wrong type", i);
			goto fail;
		}
	}
	l->live = false;
	return l;
fail:
	netns_list_free(l);
	return NULL;
}
