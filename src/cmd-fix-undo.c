/* netknobs fix --undo: put back what the last fix --apply replaced, from
 * its record in the state directory (fix/undo.h).  First the running
 * values, each read back, and all put back again when one fails (as
 * --apply does); then the drop-in as it was before (removed when there was
 * none), never over an edit made since --apply wrote it; when that fails
 * the values go back too.  Nothing is done when a value or the drop-in
 * changed since --apply: putting back the older one would lose the newer
 * change.  The drop-in's directory is locked before the state directory,
 * in the order --apply takes them: the other way round, an --apply between
 * its drop-in and its record and an --undo would each wait for the
 * other. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd-fix.h"
#include "fix/target.h"
#include "fix/undo.h"
#include "report/state.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/timestamp.h"

struct undo {
	struct globals *g;
	struct state_dir sd;
	json_t *rec, *facts;
	struct fix_target t;
	struct apply_item *items;   /* each key back to its value before */
	const char **expect;        /* what --apply set, running now */
	size_t n;
	char *before, *after;       /* the drop-in before --apply (NULL: none) and as it wrote it */
	const char *dropin;         /* what became of the drop-in: "restored", "removed", NULL */
	bool backup;
};

static const char *rec_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

/* The record, when there is one to undo.  0 or -1 (logged). */
static int undo_load(struct undo *u)
{
	const char *dir = cmd_state_dir();
	const json_t *d;
	char err[256];
	int fd = state_open_existing(dir);

	/* nothing to undo is no reason to make the state directory */
	if (fd == -ENOENT) {
		log_error("fix --undo: nothing to undo: no fix --apply is recorded in %s", dir);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	if (state_open(&u->sd, dir, 10) < 0)
		return -1;
	if (fix_undo_load(&u->sd, &u->rec, err, sizeof(err)) < 0) {
		log_error("%s/%s: %s; nothing was undone", u->sd.path, FIX_UNDO_FILE, err);
		return -1;
	}
	if (!u->rec) {
		log_error("fix --undo: nothing to undo: no fix --apply is recorded in %s", u->sd.path);
		return -1;
	}
	if (json_object_get(u->rec, "undone_at")) {
		log_error("fix --undo: nothing to undo: the last fix --apply (%s) was undone at %s",
			  rec_str(u->rec, "applied_at"), rec_str(u->rec, "undone_at"));
		return -1;
	}
	u->items = fix_undo_items(u->rec, &u->expect, &u->n);
	d = json_object_get(u->rec, "dropin");
	if (!u->items || (d && (fix_undo_text(json_object_get(d, "before"), &u->before) < 0 ||
				fix_undo_text(json_object_get(d, "after"), &u->after) < 0))) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

/* The drop-in --undo would restore, its directory locked: 0 or -1
 * (logged). */
static int undo_lock(struct undo *u, const char *output)
{
	return fix_target_open(&u->t, u->g, output) < 0 || fix_target_lock(&u->t) < 0 ? -1 : 0;
}

/* The drop-in is still what --apply wrote: 0 or -1 (logged). */
static int undo_check_dropin(struct undo *u)
{
	const char *target = json_string_value(json_object_get(u->rec, "target"));
	char *now = NULL, *path;
	int r;

	if (!u->after)
		return 0;
	/* the same file, given from another directory or as ./FILE too */
	path = target[0] == '/' ? fix_undo_path(u->t.sys) : strdup(u->t.sys);
	if (!path) {
		log_error("out of memory");
		return -1;
	}
	r = strcmp(path, target);
	free(path);
	if (r != 0) {
		char *esc = escape_untrusted_str(target);

		log_error("fix --undo: the last fix --apply wrote %s, not %s: give --output %s", esc ? esc : "?",
			  u->t.display, esc ? esc : "?");
		free(esc);
		return -1;
	}
	if (fix_target_read(&u->t, &now) < 0)
		return -1;
	r = now && !strcmp(now, u->after) ? 0 : -1;
	if (r < 0)
		log_error("%s %s since fix --apply wrote it (%s): nothing was undone, so that no edit is lost",
			  u->t.display, now ? "changed" : "was removed", rec_str(u->rec, "applied_at"));
	free(now);
	return r;
}

/* The namespace, the values and the drop-in are as --apply left them.  0
 * or -1 (logged). */
static int undo_check(struct undo *u)
{
	static const char *const boot_key[] = { STATE_BOOT_ID_KEY };
	const char *was = json_string_value(json_object_get(u->rec, "netns")), *here;
	int bad = 0;

	/* enters --netns: the values are that namespace's */
	u->facts = cmd_get_facts(u->g, NULL, boot_key, 1, 0);
	if (!u->facts)
		return -1;
	here = json_string_value(json_object_get(json_object_get(json_object_get(u->facts, "host"), "netns"), "id"));
	if (was && here && strcmp(was, here) != 0) {
		log_error("fix --undo: the last fix --apply set values in the network namespace %s, this is %s "
			  "(--netns names the namespace): nothing was undone", was, here);
		return -1;
	}
	for (size_t i = 0; i < u->n; i++) {
		char *cur = NULL, *esc;
		int r = apply_read_value(u->items[i].key, &cur);

		if (r == 0 && apply_same_value(cur, u->expect[i])) {
			free(cur);
			continue;
		}
		esc = cur ? escape_untrusted_str(cur) : NULL;
		log_error("%s is %s now, not the %s fix --apply set: it changed since", u->items[i].key,
			  r < 0 ? "unreadable" : esc ? esc : "?", u->expect[i]);
		free(esc);
		free(cur);
		bad = 1;
	}
	if (bad) {
		log_error("fix --undo: nothing was undone, so that no later change is lost");
		return -1;
	}
	return undo_check_dropin(u);
}

/* Put the values back, then the drop-in; the values again when the
 * drop-in cannot be.  0 or -1 (logged). */
static int undo_do(struct undo *u)
{
	char when[TIMESTAMP_LEN];
	int r = 0;

	if (u->n && apply_sysctl(u->items, u->n) < 0) {
		fix_print_apply(stderr, u->items, u->n);
		log_error("%s; the drop-in was not restored", fix_apply_summary(u->items, u->n) ?: "failed");
		return -1;
	}
	if (u->after) {
		r = u->before ? fix_target_write_text(&u->t, u->before, strlen(u->before), u->after, &u->backup)
			      : fix_target_remove(&u->t, u->after);
		if (r == -EAGAIN)
			log_error("%s changed while netknobs restored it: nothing was undone", u->t.display);
		u->dropin = u->before ? "restored" : "removed";
	}
	if (r < 0) {
		/* all or nothing: the values go back to what --apply set */
		apply_restore(u->items, u->n);
		fix_print_apply(stderr, u->items, u->n);
		if (fix_apply_summary(u->items, u->n))
			log_error("%s", fix_apply_summary(u->items, u->n));
		u->dropin = NULL;
		return -1;
	}
	timestamp_format(time(NULL), when, sizeof(when));
	if (json_object_set_new(u->rec, "undone_at", json_string(when)) < 0 || fix_undo_save(&u->sd, u->rec) < 0)
		log_warn("%s/%s: not marked as undone", u->sd.path, FIX_UNDO_FILE);
	/* the history takes the state directory's lock itself */
	state_close(&u->sd);
	fix_note_history(u->facts, u->items, u->n);
	return 0;
}

static int undo_print(const struct undo *u)
{
	const char *at = rec_str(u->rec, "applied_at");

	if (u->g->format == FORMAT_JSON) {
		json_t *o = json_pack("{s:b, s:s, s:o, s:O, s:s?, s:b}", "ok", 1, "undone", at, "applied",
				      fix_apply_json(u->items, u->n), "target", json_object_get(u->rec, "target"),
				      "dropin", u->dropin, "backup", u->backup);
		int r = o ? print_json(o) : -1;

		json_decref(o);
		return r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
	}
	fix_print_apply(stdout, u->items, u->n);
	if (u->dropin && !strcmp(u->dropin, "restored"))
		printf("restored %s as it was before%s%s%s\n", u->t.display,
		       u->backup ? " (the version undone is in " : "", u->backup ? u->t.display : "",
		       u->backup ? ".bak)" : "");
	else if (u->dropin)
		printf("removed %s: there was none before\n", u->t.display);
	printf("undid the fix --apply of %s\n", at);
	return EXIT_NK_OK;
}

int fix_undo(struct globals *g, const char *output, bool *json_done)
{
	struct undo u = { .g = g, .sd = { NULL, -1, -1 }, .t.dirfd = -1 };
	int ret = EXIT_NK_ERROR;

	if (undo_lock(&u, output) == 0 && undo_load(&u) == 0 && undo_check(&u) == 0 && undo_do(&u) == 0) {
		ret = undo_print(&u);
		*json_done = true;
	}
	if (u.items)
		apply_items_free(u.items, u.n);
	free(u.expect);
	free(u.before);
	free(u.after);
	fix_target_close(&u.t);
	json_decref(u.facts);
	json_decref(u.rec);
	state_close(&u.sd);
	return ret;
}
