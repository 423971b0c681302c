#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "facts/facts.h"
#include "util/escape.h"
#include "util/fileio.h"

/* The initial network namespace has had a fixed inode number since the
 * kernel gave init_net a static ns_common (PROC_NET_INIT_INO). */
#define NET_INIT_INODE_ID "net:[4026531833]"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71      /* Linux 5.14 */
#endif

/* The namespace's cookie: unique for the boot, never reused, unlike the
 * inode number, which the kernel hands to the next namespace as soon as
 * one is deleted.  A socket belongs to the namespace of the thread that
 * creates it, so after setns() this is the entered namespace's.  0 when
 * the kernel has no SO_NETNS_COOKIE. */
unsigned long long host_netns_cookie(void)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0 || len != sizeof(cookie))
		cookie = 0;
	close(fd);
	return cookie;
}

/* net.core.netdev_max_backlog is registered for the initial namespace only
 * (net_core_table vs netns_core_table), while net.core.somaxconn exists in
 * every namespace: 0 with *initial set, or -ENOENT when they cannot tell. */
static int host_only_sysctl(const struct nk_root *root, bool *initial)
{
	char *text = NULL;
	int have_core = root_read_file(root, "proc/sys/net/core/somaxconn", 64, &text, NULL) == 0;
	int r;

	free(text);
	text = NULL;
	r = root_read_file(root, "proc/sys/net/core/netdev_max_backlog", 64, &text, NULL);
	free(text);
	if (!have_core || (r != 0 && r != -ENOENT))
		return -ENOENT;
	*initial = r == 0;
	return 0;
}

static void host_netns(json_t *host, const struct nk_root *root)
{
	char self[64], init[64];
	json_t *ns = json_object();
	bool initial;
	int rs, ri;

	rs = root_readlink(root, "proc/self/ns/net", self, sizeof(self));
	ri = root_readlink(root, "proc/1/ns/net", init, sizeof(init));
	if (rs > 0) {
		char *esc = escape_untrusted_str(self);

		json_object_set_new(ns, "id", json_string(esc ? esc : "?"));
		free(esc);
	}
	if (rs > 0 && strcmp(self, NET_INIT_INODE_ID) == 0) {
		json_object_set_new(ns, "initial", json_true());
		json_object_set_new(ns, "method", json_string("static-inode"));
	} else if (rs > 0 && ri > 0 && strcmp(self, init) != 0) {
		json_object_set_new(ns, "initial", json_false());
		json_object_set_new(ns, "method", json_string("pid1"));
	} else if (host_only_sysctl(root, &initial) == 0) {
		/* PID 1 in the same namespace is no proof: in a container with its
		 * own PID namespace, PID 1 is the container's init */
		json_object_set_new(ns, "initial", json_boolean(initial));
		json_object_set_new(ns, "method", json_string("host-only-sysctl"));
	} else if (rs > 0 && ri > 0) {
		json_object_set_new(ns, "initial", json_true());
		json_object_set_new(ns, "method", json_string("pid1"));
	}
	if (root->live) {
		unsigned long long cookie = host_netns_cookie();

		if (cookie && cookie <= (unsigned long long)LLONG_MAX)
			json_object_set_new(ns, "cookie", json_integer((json_int_t)cookie));
	}
	json_object_set_new(host, "netns", ns);
}

static long long first_number_after(const char *text, const char *label)
{
	const char *p = strstr(text, label);
	long long v = -1;

	if (!p)
		return -1;
	p += strlen(label);
	if (sscanf(p, " %lld", &v) != 1)
		return -1;
	return v;
}

int host_collect(json_t *doc, const struct nk_root *root)
{
	json_t *host = json_object();
	char *text = NULL;
	int r;

	if (!host)
		return -ENOMEM;
	r = root_read_file(root, "proc/sys/kernel/osrelease", 4096, &text, NULL);
	if (r == 0) {
		char *esc;

		text[strcspn(text, "\n")] = '\0';
		esc = escape_untrusted_str(text);
		json_object_set_new(host, "kernel_release", json_string(esc ? esc : "?"));
		free(esc);
		free(text);
	} else {
		facts_note(doc, "/proc/sys/kernel/osrelease: %s", fileio_strerror(-r));
	}

	r = root_read_file(root, "proc/stat", 16 << 20, &text, NULL);
	if (r == 0) {
		long long cpus = 0;

		for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, "cpu", 3) == 0 && l[3] >= '0' && l[3] <= '9')
				cpus++;
		if (cpus > 0)
			json_object_set_new(host, "cpus_online", json_integer(cpus));
		free(text);
	} else {
		facts_note(doc, "/proc/stat: %s", fileio_strerror(-r));
	}

	r = root_read_file(root, "proc/meminfo", 1 << 20, &text, NULL);
	if (r == 0) {
		long long kib = first_number_after(text, "MemTotal:");

		if (kib >= 0)
			json_object_set_new(host, "mem_total_kib", json_integer(kib));
		free(text);
	} else {
		facts_note(doc, "/proc/meminfo: %s", fileio_strerror(-r));
	}

	host_netns(host, root);
	json_object_set_new(doc, "host", host);
	return 0;
}
