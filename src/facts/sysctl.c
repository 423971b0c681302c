#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/facts.h"
#include "facts/sysctl.h"
#include "util/escape.h"

/* Keys read by every collection.  The rule engine adds the keys its rules
 * reference. */
const char *const sysctl_watched_keys[] = {
	"net.core.somaxconn",
	"net.core.netdev_max_backlog",
	"net.core.netdev_budget",
	"net.core.netdev_budget_usecs",
	"net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_abort_on_overflow",
	"net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_syn_retries",
	"net.ipv4.tcp_max_tw_buckets",
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_mem",
	"net.ipv4.tcp_moderate_rcvbuf",
	"net.ipv4.tcp_adv_win_scale",
	"net.ipv4.tcp_timestamps",
	"net.ipv4.udp_mem",
	"net.ipv4.udp_rmem_min",
	"net.ipv4.udp_wmem_min",
	"net.core.rmem_max",
	"net.core.rmem_default",
	"net.core.wmem_max",
	"net.core.wmem_default",
	"net.core.optmem_max",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_count",
	"fs.file-max",
	"fs.file-nr",
	"fs.nr_open",
	NULL,
};

#define SYSCTL_VALUE_MAX (64 * 1024)

int sysctl_key_parse(const char *in, char *path, char *key, const char **why)
{
	size_t len = strlen(in), comp = 0;
	char sep, other;
	const char *why_s = NULL;
	char p[SYSCTL_KEY_MAX + 1], k[SYSCTL_KEY_MAX + 1];

	if (len == 0) {
		why_s = "empty key";
		goto bad;
	}
	if (len > SYSCTL_KEY_MAX) {
		why_s = "key too long";
		goto bad;
	}
	/* the first separator decides the form, as sysctl(8) */
	sep = in[strcspn(in, "./")];
	if (sep == '\0')
		sep = '.';
	other = sep == '.' ? '/' : '.';
	if (in[0] == sep || in[0] == other) {
		why_s = "key must not start with a separator";
		goto bad;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == (unsigned char)sep || c == '\0') {
			if (comp == 0) {
				why_s = "empty component";
				goto bad;
			}
			/* component in path form is p[i-comp .. i) */
			if ((comp == 1 && p[i - 1] == '.') ||
			    (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.')) {
				why_s = "'.' and '..' are not allowed in keys";
				goto bad;
			}
			p[i] = c ? '/' : '\0';
			k[i] = c ? '.' : '\0';
			comp = 0;
			continue;
		}
		if (c < 0x21 || c >= 0x7f) {
			why_s = "control characters, blanks and non-ASCII bytes are not allowed in keys";
			goto bad;
		}
		if (c == (unsigned char)other) {
			p[i] = '.';
			k[i] = '/';
		} else {
			p[i] = (char)c;
			k[i] = (char)c;
		}
		comp++;
	}
	if (path)
		memcpy(path, p, len + 1);
	if (key)
		memcpy(key, k, len + 1);
	return 0;
bad:
	if (why)
		*why = why_s;
	return -EINVAL;
}

const char *sysctl_key_runs_program(const char *key)
{
	static const char *const exact[] = {
		"kernel.core_pattern", "kernel.modprobe", "kernel.hotplug", "kernel.poweroff_cmd",
		"kernel.reboot_cmd", NULL,
	};
	static const char *const subtree[] = { "fs.binfmt_misc", "kernel.usermodehelper", NULL };

	for (size_t i = 0; exact[i]; i++)
		if (!strcmp(key, exact[i]))
			return "the kernel runs the program its value names";
	for (size_t i = 0; subtree[i]; i++) {
		size_t n = strlen(subtree[i]);

		if (!strncmp(key, subtree[i], n) && (key[n] == '\0' || key[n] == '.'))
			return "it decides which programs the kernel runs, and with what";
	}
	return NULL;
}

json_t *sysctl_value_parse(const char *text)
{
	size_t n = strlen(text);
	const char *s = text;
	json_t *list;
	int count = 0, all_int = 1;

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	/* integers separated by blanks? */
	for (const char *q = s; q < text + n;) {
		while (q < text + n && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= text + n)
			break;
		if (*q == '-')
			q++;
		if (q >= text + n || !isdigit((unsigned char)*q)) {
			all_int = 0;
			break;
		}
		while (q < text + n && isdigit((unsigned char)*q))
			q++;
		if (q < text + n && *q != ' ' && *q != '\t') {
			all_int = 0;
			break;
		}
		count++;
	}
	if (all_int && count > 0) {
		list = json_array();
		if (!list)
			return NULL;
		for (const char *q = s; q < text + n && all_int;) {
			char *end;
			long long v;

			while (q < text + n && (*q == ' ' || *q == '\t'))
				q++;
			if (q >= text + n)
				break;
			errno = 0;
			v = strtoll(q, &end, 10);
			if (errno == ERANGE)
				all_int = 0;
			else
				json_array_append_new(list, json_integer(v));
			q = end;
		}
		if (all_int) {
			if (count == 1) {
				json_t *one = json_incref(json_array_get(list, 0));

				json_decref(list);
				return one;
			}
			return list;
		}
		json_decref(list);
	}
	{
		char *esc = escape_untrusted(text, n);
		json_t *str;

		if (!esc)
			return NULL;
		str = json_string(esc);
		free(esc);
		return str;
	}
}

/* The text of the file of path (below /proc/sys) below root. */
static int read_text(const struct nk_root *root, const char *path, char **text)
{
	char rel[SYSCTL_KEY_MAX + 16];
	int r;

	snprintf(rel, sizeof(rel), "proc/sys/%s", path);
	r = root_read_file(root, rel, SYSCTL_VALUE_MAX, text, NULL);
	return r == -EISDIR ? -ENOENT : r;
}

static int read_path(const struct nk_root *root, const char *path, json_t **value)
{
	char *text;
	int r = read_text(root, path, &text);

	if (r < 0)
		return r;
	*value = sysctl_value_parse(text);
	free(text);
	return *value ? 0 : -ENOMEM;
}

int sysctl_read(const struct nk_root *root, const char *key, json_t **value)
{
	char path[SYSCTL_KEY_MAX + 1];

	if (sysctl_key_parse(key, path, NULL, NULL) < 0)
		return -EINVAL;
	return read_path(root, path, value);
}

int sysctl_read_text(const struct nk_root *root, const char *key, char **text)
{
	char path[SYSCTL_KEY_MAX + 1];
	size_t len;
	int r;

	if (sysctl_key_parse(key, path, NULL, NULL) < 0)
		return -EINVAL;
	r = read_text(root, path, text);
	if (r < 0)
		return r;
	len = strlen(*text);
	while (len > 0 && ((*text)[len - 1] == '\n' || (*text)[len - 1] == ' ' || (*text)[len - 1] == '\t'))
		(*text)[--len] = '\0';
	return 0;
}

int sysctl_write_text(const struct nk_root *root, const char *key, const char *text)
{
	char path[SYSCTL_KEY_MAX + 1], rel[SYSCTL_KEY_MAX + 16], *line;
	size_t len = strlen(text);
	ssize_t k;
	int fd, e = 0;

	if (sysctl_key_parse(key, path, NULL, NULL) < 0)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "proc/sys/%s", path);
	fd = root_open_in(root, rel, O_WRONLY);
	if (fd < 0)
		return fd;
	if (asprintf(&line, "%s\n", text) < 0) {
		close(fd);
		return -ENOMEM;
	}
	/* /proc/sys takes the value in one write */
	k = write(fd, line, len + 1);
	if (k < 0)
		e = errno;
	else if ((size_t)k != len + 1)
		e = EIO;
	free(line);
	if (close(fd) < 0 && !e)
		e = errno;
	return -e;
}

static void record(json_t *doc, const struct nk_root *root, const char *key, const char *path)
{
	json_t *vals = json_object_get(doc, "sysctl");
	json_t *una = json_object_get(doc, "sysctl_unavailable");
	json_t *v = NULL;
	int r;

	if (json_object_get(vals, key) || json_object_get(una, key))
		return;
	r = read_path(root, path, &v);
	if (r == 0) {
		json_object_set_new(vals, key, v);
	} else if (r == -ENOENT || r == -ENOTDIR) {
		json_object_set_new(una, key, json_pack("{s:s,s:s}", "reason", "missing",
							"error", "no such key in this kernel or network namespace"));
	} else {
		json_object_set_new(una, key, json_pack("{s:s,s:s}", "reason", "unreadable",
							"error", fileio_strerror(-r)));
	}
}

/* Expand a key whose path components may hold fnmatch patterns, one
 * component at a time, below proc/sys.  comps[i..n) still to match. */
static void expand(json_t *doc, const struct nk_root *root, char *path, size_t plen,
		   char **comps, size_t i, size_t n, int depth)
{
	char rel[SYSCTL_KEY_MAX + 16];
	DIR *d;
	struct dirent *de;
	int fd;

	if (i == n) {
		char key[SYSCTL_KEY_MAX + 1];

		if (sysctl_key_parse(path, NULL, key, NULL) == 0)
			record(doc, root, key, path);
		return;
	}
	if (!strpbrk(comps[i], "*?[")) {
		size_t cl = strlen(comps[i]);

		if (plen + cl + 2 > SYSCTL_KEY_MAX)
			return;
		if (plen)
			path[plen++] = '/';
		memcpy(path + plen, comps[i], cl + 1);
		expand(doc, root, path, plen + cl, comps, i + 1, n, depth);
		return;
	}
	snprintf(rel, sizeof(rel), "proc/sys/%s", plen ? path : ".");
	fd = root_open_dir(root, rel);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t cl = strlen(de->d_name), base = plen;

		if (de->d_name[0] == '.' || fnmatch(comps[i], de->d_name, 0) != 0)
			continue;
		if (plen + cl + 2 > SYSCTL_KEY_MAX)
			continue;
		if (base)
			path[base++] = '/';
		memcpy(path + base, de->d_name, cl + 1);
		expand(doc, root, path, base + cl, comps, i + 1, n, depth + 1);
		path[plen] = '\0';
	}
	closedir(d);
}

int sysctl_collect(json_t *doc, const struct nk_root *root, const char *const *keys, size_t n)
{
	if (!json_object_get(doc, "sysctl"))
		json_object_set_new(doc, "sysctl", json_object());
	if (!json_object_get(doc, "sysctl_unavailable"))
		json_object_set_new(doc, "sysctl_unavailable", json_object());

	for (size_t i = 0; i < n; i++) {
		char path[SYSCTL_KEY_MAX + 1], key[SYSCTL_KEY_MAX + 1];
		const char *why = NULL;

		if (sysctl_key_parse(keys[i], path, key, &why) < 0) {
			char *esc = escape_untrusted_str(keys[i]);

			json_object_set_new(json_object_get(doc, "sysctl_unavailable"), esc ? esc : "?",
					    json_pack("{s:s,s:s}", "reason", "invalid-key", "error", why));
			free(esc);
			continue;
		}
		if (strpbrk(path, "*?[")) {
			char *comps[SYSCTL_KEY_MAX / 2 + 1], buf[SYSCTL_KEY_MAX + 1], *save = NULL;
			char walk[SYSCTL_KEY_MAX + 1] = "";
			size_t nc = 0;

			memcpy(buf, path, sizeof(buf));
			for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
				comps[nc++] = t;
			expand(doc, root, walk, 0, comps, 0, nc, 0);
			continue;
		}
		record(doc, root, key, path);
	}
	return 0;
}
