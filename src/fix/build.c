/* The drop-in made for its file: built, built again when the file
 * changed, written (fix/build.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts/netns-scan.h"
#include "fix/build.h"
#include "util/log.h"

int fix_build_make(struct fix_build *b)
{
	const struct fix_input *in = b->in;
	struct dropin *d = &b->d;

	if (dropin_build(d, in->audit, in->facts, in->rb, b->t->sys, b->old) < 0)
		goto oom;
	if (in->away) {
		if (json_array_append_new(d->warnings, json_sprintf(
			    "%s (%s) is not the host's initial network namespace: boot does not apply sysctl.d "
			    "files to it; its values are set by whatever creates it (without --output, "
			    "netknobs fix says what, for each setting)", in->away->name,
			    netns_kind_name(in->away->kind))) < 0)
			goto oom;
	} else if (json_is_false(json_object_get(json_object_get(json_object_get(in->facts, "host"), "netns"),
					       "initial")) &&
		   json_array_append_new(d->warnings, json_string(
			   "this is not the host's initial network namespace: boot does not apply sysctl.d files to "
			   "it; its values are set by whatever creates it (a container runtime: docker run --sysctl, "
			   "Kubernetes securityContext.sysctls)")) < 0) {
		goto oom;
	}
	if (b->old && !d->len) {
		/* a file holding nothing but our header stays as it is */
		free(d->content);
		d->content = strdup(b->old);
		d->len = strlen(b->old);
		if (!d->content)
			goto oom;
	}
	b->changed = b->old ? strcmp(b->old, d->content) != 0 : d->len > 0;
	return 0;
oom:
	log_error("out of memory");
	return -1;
}

int fix_build_refresh(struct fix_build *b)
{
	char *now;

	if (fix_target_read(b->t, &now) < 0)
		return -1;
	if ((!now && !b->old) || (now && b->old && !strcmp(now, b->old))) {
		free(now);
		return 0;
	}
	if (b->nretired == FIX_ATTEMPTS + 1) {
		free(now);
		log_error("%s keeps changing while netknobs writes it: nothing written; try again", b->t->display);
		return -1;
	}
	b->retired[b->nretired++] = b->d;
	b->d = (struct dropin){ 0 };
	free(b->old);
	b->old = now;
	return fix_build_make(b);
}

int fix_build_write(struct fix_build *b)
{
	for (int i = 0; i < FIX_ATTEMPTS; i++) {
		int r;

		if (!b->changed)
			return 0;
		r = fix_target_write(b->t, &b->d, b->old, &b->backup);
		if (r != -EAGAIN)
			return r < 0 ? -1 : 0;
		if (fix_build_refresh(b) < 0)
			return -1;
	}
	log_error("%s keeps changing while netknobs writes it: nothing written; try again", b->t->display);
	return -1;
}

struct apply_item *fix_build_plan(const struct fix_build *b, size_t *n)
{
	const struct dropin *d = &b->d;
	struct apply_item *items = calloc(d->n + 1, sizeof(*items));

	*n = 0;
	if (!items)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		if (d->e[i].overridden_by || d->e[i].kept)
			continue;
		items[*n].key = d->e[i].key;
		items[(*n)++].text = d->e[i].text;
	}
	return items;
}

void fix_build_free(struct fix_build *b)
{
	dropin_free(&b->d);
	while (b->nretired)
		dropin_free(&b->retired[--b->nretired]);
	free(b->old);
	b->old = NULL;
}
