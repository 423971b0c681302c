/* Where a command's namespace is, and advice that names where it applies
 * (cmd-netns.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd-netns.h"
#include "facts/netns.h"
#include "util/escape.h"
#include "util/log.h"

/* An entry made from spec alone: a name, a PID or a path. */
static int own_entry(const char *spec, struct netns_id id, struct netns_entry *e)
{
	bool digits = *spec != '\0';

	for (const char *c = spec; *c; c++)
		digits &= *c >= '0' && *c <= '9';
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->state = NETNS_FOUND;
	if (digits && strlen(spec) < 10) {
		e->kind = NETNS_KIND_PROCESS;
		e->pid = atoi(spec);
		if (asprintf(&e->name, "pid %d", e->pid) < 0)
			e->name = NULL;
		return e->name ? 0 : -ENOMEM;
	}
	if (strchr(spec, '/')) {
		e->kind = NETNS_KIND_MOUNT;
		e->mount = escape_untrusted_str(spec);
	} else {
		e->kind = NETNS_KIND_NAMED;
		e->netns_name = escape_untrusted_str(spec);
	}
	e->name = escape_untrusted_str(spec);
	return e->name && (e->mount || e->netns_name) ? 0 : -ENOMEM;
}

int cmd_where_locate(const char *spec, struct cmd_where *w)
{
	struct nk_root root;
	struct netns_id id;
	int fd, r;

	memset(w, 0, sizeof(*w));
	fd = netns_open_spec(spec, &id);
	if (fd < 0)
		return -1;
	close(fd);
	/* what it is: the discovery runs before netknobs enters it, so that
	 * "self" is the namespace the commands are typed in */
	if (root_open(&root, "/") == 0) {
		if (netns_scan(&root, &w->list) == 0)
			w->e = netns_list_find(w->list, id);
		root_close(&root);
	}
	if (w->e)
		return 0;
	r = own_entry(spec, id, &w->own);
	if (r < 0) {
		log_error("out of memory");
		return -1;
	}
	w->e = &w->own;
	return 0;
}

void cmd_where_free(struct cmd_where *w)
{
	netns_list_free(w->list);
	free(w->own.name);
	free(w->own.netns_name);
	free(w->own.mount);
	memset(w, 0, sizeof(*w));
}

bool cmd_where_is_home(const struct netns_entry *e)
{
	return e->self && e->kind == NETNS_KIND_HOST;
}

/* The value of a recommendation as sysctl.d has it: "KEY = VALUE". */
static const char *rec_value(const json_t *r, const char *key)
{
	const char *d = json_string_value(json_object_get(r, "sysctl_d"));
	size_t n = strlen(key);

	if (!d || strncmp(d, key, n) != 0 || strncmp(d + n, " = ", 3) != 0)
		return NULL;
	return d + n + 3;
}

static int advise_one(json_t *r, const struct netns_entry *e)
{
	const char *key = json_string_value(json_object_get(r, "key")), *val;
	char *now = NULL, *persist = NULL;
	int err;

	if (!key || !(val = rec_value(r, key)))
		return 0;
	if (netns_remedy(e, key, val, &now, &persist) < 0)
		return -ENOMEM;
	err = json_object_set_new(r, "sysctl_w", json_string(now)) |
	      json_object_set_new(r, "persist", json_string(persist));
	free(now);
	free(persist);
	return err ? -ENOMEM : 0;
}

int cmd_netns_advise(json_t *audit, const struct netns_entry *e)
{
	json_t *r, *f;
	size_t i, j;
	int err = 0;

	if (json_object_set_new(audit, "netns", netns_entry_to_json(e)) < 0)
		return -ENOMEM;
	json_array_foreach(json_object_get(audit, "recommendations"), i, r)
		err |= advise_one(r, e);
	json_array_foreach(json_object_get(audit, "findings"), i, f)
		json_array_foreach(json_object_get(f, "recommend"), j, r)
			err |= advise_one(r, e);
	return err ? -ENOMEM : 0;
}
