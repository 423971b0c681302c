/* Discovery and naming of network namespaces on fake roots laid out as a
 * Docker host and a Kubernetes node (tests/fixtures/roots/docker-host,
 * kube-node; README there), and where a change to each applies. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/netns-scan.h"
#include "tap.h"

static struct netns_list *scan(const char *fixtures, const char *name)
{
	char path[4096];
	struct nk_root root;
	struct netns_list *l = NULL;

	snprintf(path, sizeof(path), "%s/roots/%s", fixtures, name);
	if (!ok(root_open(&root, path) == 0, "open %s", name))
		return NULL;
	if (!ok(netns_scan(&root, &l) == 0, "scan %s", name))
		l = NULL;
	root_close(&root);
	return l;
}

static const struct netns_entry *by_ino(const struct netns_list *l, unsigned long long ino)
{
	struct netns_id id = { 0, ino };
	const struct netns_entry *e = netns_list_find(l, id);

	if (!e)
		ok(0, "net:[%llu] found", ino);
	return e;
}

/* kind, name, ip netns name, enter path of net:[ino] */
static const struct netns_entry *expect(const struct netns_list *l, unsigned long long ino, const char *kind,
					const char *name, unsigned long nprocs, int pid)
{
	const struct netns_entry *e = by_ino(l, ino);

	if (!e)
		return NULL;
	is_str(netns_kind_name(e->kind), kind, "net:[%llu] kind", ino);
	is_str(e->name, name, "net:[%llu] name", ino);
	is_int(e->nprocs, nprocs, "net:[%llu] processes", ino);
	if (pid >= 0)
		is_int(e->pid, pid, "net:[%llu] oldest process", ino);
	return e;
}

static void remedy(const struct netns_entry *e, const char *key, const char *val, const char *now,
		   const char *persist_part)
{
	char *n = NULL, *p = NULL;

	if (!e)
		return;
	ok(netns_remedy(e, key, val, &n, &p) == 0, "remedy for %s", e->name);
	is_str(n, now, "%s: the change now", e->name);
	if (!ok(p && strstr(p, persist_part), "%s: where it lasts mentions '%s'", e->name, persist_part))
		printf("#   got: %s\n", p ? p : "(null)");
	free(n);
	free(p);
}

static void docker_host(const char *fx)
{
	struct netns_list *l = scan(fx, "docker-host");
	const struct netns_entry *e;

	if (!l)
		return;
	ok(!l->live, "fake root: identities from the link texts");
	is_str(l->initial_method, "kthread", "initial namespace from the kernel thread");
	/* host, web, redis, dnsmasq-ish, blue, green, held, space, pid 1600 */
	is_int(l->n, 9, "nine namespaces, each once");
	is_int(l->ns[0].initial, 1, "the host's first");
	e = expect(l, 4026531840ULL, "host", "host", 3, -1);
	if (e) {
		ok(e->self && e->initial, "the host's namespace is the own and the initial one");
		is_str(e->mount, "/run/docker/netns/default", "docker's mount of it seen, the name kept");
	}
	e = expect(l, 4026532301ULL, "docker", "docker web (0123456789ab)", 2, 1002);
	if (e) {
		is_str(e->container_id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "full id");
		is_str(e->docker_name, "web", "docker's name from config.v2.json");
		is_str(e->mount, "/run/docker/netns/1a2b3c4d5e6f", "docker's bind mount seen");
		is_str(e->enter_path, "run/docker/netns/1a2b3c4d5e6f", "entered by the mount");
		is_int(e->pid_alt, 1001, "the other process kept to enter by");
		ok(!e->self && !e->initial, "a container is not the host");
	}
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net=/proc/1002/ns/net sysctl -w net.core.somaxconn=4096",
	       "docker run --sysctl net.core.somaxconn=4096");
	/* a value with blanks is one word for the shell, in both lines */
	remedy(e, "net.ipv4.tcp_rmem", "4096 131072 6291456",
	       "nsenter --net=/proc/1002/ns/net sysctl -w 'net.ipv4.tcp_rmem=4096 131072 6291456'",
	       "docker run --sysctl 'net.ipv4.tcp_rmem=4096 131072 6291456'");
	e = expect(l, 4026532302ULL, "docker", "docker fedcba987654", 1, 1100);
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net=/proc/1100/ns/net sysctl -w net.core.somaxconn=4096",
	       "sysctls:");
	e = expect(l, 4026532303ULL, "process", "pid 1200 (evil\\x1b[2J)", 1, 1200);
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net=/proc/1200/ns/net sysctl -w net.core.somaxconn=4096",
	       "the program that creates this namespace (pid 1200");
	e = expect(l, 4026532401ULL, "named", "blue", 1, 1300);
	if (e)
		is_str(e->enter_path, "run/netns/blue", "a named one is entered by its name");
	remedy(e, "net.ipv4.tcp_syncookies", "1", "ip netns exec blue sysctl -w net.ipv4.tcp_syncookies=1",
	       "ip netns add blue");
	e = expect(l, 4026532402ULL, "named", "green", 0, 0);
	e = expect(l, 4026532500ULL, "mount", "/tmp/held-ns", 0, 0);
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net=/tmp/held-ns sysctl -w net.core.somaxconn=4096",
	       "bound at /tmp/held-ns");
	e = expect(l, 4026532501ULL, "mount", "/srv/ns dir/x", 0, 0);
	if (e)
		is_str(e->enter_path, "srv/ns dir/x", "mountinfo's octal escapes decoded");
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net='/srv/ns dir/x' sysctl -w net.core.somaxconn=4096",
	       "/srv/ns dir/x");
	e = expect(l, 4026532601ULL, "process", "pid 1600 (?)", 1, 1600);
	ok(!netns_list_find(l, (struct netns_id){ 0, 4026532502ULL }), "a mount namespace's nsfs mount is not listed");
	is_int(l->names, 3, "three entries in run/netns (one stale)");
	is_int(l->mounts, 5, "five nsfs mounts of network namespaces");
	remedy(&l->ns[0], "net.core.somaxconn", "4096", "sysctl -w net.core.somaxconn=4096", "/etc/sysctl.d");
	{
		json_t *j = netns_list_to_json(l);
		json_t *web = NULL, *a = json_object_get(j, "namespaces");
		size_t i;

		for (i = 0; i < json_array_size(a); i++)
			if (json_integer_value(json_object_get(json_array_get(a, i), "inode")) == 4026532301LL)
				web = json_array_get(a, i);
		is_str(json_string_value(json_object_get(web, "kind")), "docker", "JSON: kind");
		is_str(json_string_value(json_object_get(json_object_get(web, "container"), "name")), "web",
		       "JSON: container name");
		is_int(json_integer_value(json_object_get(json_object_get(json_object_get(web, "processes"), "oldest"), "pid")),
		       1002, "JSON: oldest process");
		is_str(json_string_value(json_object_get(j, "identity")), "link", "JSON: identity read from links");
		json_decref(j);
	}
	netns_list_free(l);
}

static void kube_node(const char *fx)
{
	struct netns_list *l = scan(fx, "kube-node");
	const struct netns_entry *e;

	if (!l)
		return;
	is_int(l->n, 4, "host and three pods");
	e = expect(l, 4026531840ULL, "host", "host", 4, -1);
	e = expect(l, 4026532701ULL, "kubernetes-pod", "pod default/web-0", 2, 2001);
	if (e) {
		is_str(e->pod_uid, "5b8e1a3c-2d4f-4e6a-9b7c-1d2e3f4a5b6c", "pod UID from the slice name");
		is_str(e->netns_name, "cni-4f9a0c1e-77aa-4b55-9d5e-0a1b2c3d4e5f", "the CNI name kept");
		is_str(netns_kind_name(e->runtime), "containerd", "runtime");
		is_str(e->container_id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		       "the oldest process's container (the pause container)");
	}
	remedy(e, "net.core.somaxconn", "4096",
	       "ip netns exec cni-4f9a0c1e-77aa-4b55-9d5e-0a1b2c3d4e5f sysctl -w net.core.somaxconn=4096",
	       "securityContext.sysctls: [{name: net.core.somaxconn, value: \"4096\"}] (not one of Kubernetes' safe sysctls");
	remedy(e, "net.ipv4.tcp_syncookies", "1",
	       "ip netns exec cni-4f9a0c1e-77aa-4b55-9d5e-0a1b2c3d4e5f sysctl -w net.ipv4.tcp_syncookies=1",
	       "value: \"1\"}]");
	e = expect(l, 4026532702ULL, "kubernetes-pod", "pod kube-system/coredns-5d78c9869d-x7k2p", 1, 2101);
	if (e)
		ok(e->runtime == NETNS_KIND_UNKNOWN, "cgroupfs driver: runtime not known");
	e = expect(l, 4026532703ULL, "kubernetes-pod", "pod deadbeef-0000-4000-8000-000000000003", 1, 2301);
	if (e)
		ok(!e->pod_name, "no var/log/pods entry: named by UID");
	remedy(e, "net.core.somaxconn", "4096", "nsenter --net=/proc/2301/ns/net sysctl -w net.core.somaxconn=4096",
	       "securityContext.sysctls");
	netns_list_free(l);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	struct nk_root root;
	struct netns_list *l = NULL;

	if (!fx)
		fx = "tests/fixtures-built";
	docker_host(fx);
	kube_node(fx);
	/* an old fixture: only proc/self/ns/net, no processes, no run/netns */
	l = scan(fx, "basic");
	if (l) {
		is_int(l->n, 1, "basic: the own namespace alone");
		is_int(l->ns[0].self, 1, "basic: marked as the own one");
		netns_list_free(l);
	}
	/* netknobs running inside a container: the change now is the plain
	 * command there, where it lasts is still the container's */
	{
		struct netns_entry in = { .self = true, .kind = NETNS_KIND_DOCKER, .pid = 7,
					  .name = (char *)"docker web" };

		remedy(&in, "net.core.somaxconn", "4096", "sysctl -w net.core.somaxconn=4096",
		       "docker run --sysctl net.core.somaxconn=4096");
	}
	/* no proc at all */
	if (root_open(&root, "/nonexistent-root-dir") == 0)
		root_close(&root);
	if (root_open(&root, fx) == 0) {
		ok(netns_scan(&root, &l) < 0, "a root without proc is an error");
		root_close(&root);
	}
	return tap_done();
}
