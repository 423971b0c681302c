/* The drop-in of `netknobs fix`: the audit's recommendations as sysctl.d
 * lines, merged with the file already there, checked against what the
 * other sysctl.d files do to the same keys. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "fix/dropin.h"
#include "fix/dropin-int.h"
#include "rules/rules.h"
#include "util/lines.h"

const char dropin_header[] =
	"# Written by `netknobs fix --write`: the sysctl settings the netknobs rules\n"
	"# recommend for this host, each with the rules that asked for it and why.\n"
	"# A setting no rule asks for any more is kept; to stop persisting it, delete\n"
	"# its lines.  Files applied after this one (by name) win over it.\n";

__attribute__((format(printf, 2, 3))) static int add_msg(json_t *arr, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	n = json_array_append_new(arr, json_string(s));
	free(s);
	return n < 0 ? -ENOMEM : 0;
}

char *dropin_value_text(const json_t *v)
{
	struct sbuf b = { 0 };
	size_t i;
	const json_t *e;

	if (json_is_integer(v)) {
		sb_printf(&b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, e) {
			if (!json_is_integer(e)) {
				free(b.s);
				return NULL;
			}
			sb_printf(&b, i ? " %lld" : "%lld", (long long)json_integer_value(e));
		}
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);

		/* sysctl.d trims blanks and reads one line: such a value cannot be
		 * written faithfully */
		if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
			return NULL;
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return NULL;
		sb_puts(&b, s);
	} else {
		return NULL;
	}
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int cmp_int(long long a, long long b)
{
	return a < b ? -1 : a > b;
}

bool dropin_value_meets(const json_t *have, const json_t *want, const char *mode)
{
	int c;

	if (json_is_integer(have) && json_is_integer(want)) {
		enum rec_mode m = REC_EXACT;

		rec_mode_parse(mode, &m);
		c = cmp_int(json_integer_value(have), json_integer_value(want));
		return m == REC_AT_LEAST ? c >= 0 : m == REC_AT_MOST ? c <= 0 : c == 0;
	}
	if (json_is_array(have) && json_is_array(want)) {
		size_t i;

		if (json_array_size(have) != json_array_size(want))
			return false;
		for (i = 0; i < json_array_size(want); i++)
			if (!dropin_value_meets(json_array_get(have, i), json_array_get(want, i), mode))
				return false;
		return true;
	}
	return json_equal(have, want);
}

/* For at-least (at-most) advice: the larger (smaller) of two values of the
 * same shape, element by element for lists; NULL when they do not combine.
 * New reference. */
static json_t *combine(const json_t *a, const json_t *b, bool larger)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		long long x = json_integer_value(a), y = json_integer_value(b);

		return json_integer(larger ? (x > y ? x : y) : (x < y ? x : y));
	}
	if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
		json_t *out = json_array();

		for (size_t i = 0; out && i < json_array_size(a); i++) {
			json_t *e = combine(json_array_get(a, i), json_array_get(b, i), larger);

			if (!e || json_array_append_new(out, e) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	return NULL;
}

/* ---- what the other files do ---- */

static const char *const sysctl_dirs[] = {
	"/etc/sysctl.d/", "/run/sysctl.d/", "/usr/local/lib/sysctl.d/", "/usr/lib/sysctl.d/",
	"/lib/sysctl.d/", NULL,
};

static int dir_rank(const char *path)
{
	for (int i = 0; sysctl_dirs[i]; i++)
		if (!strncmp(path, sysctl_dirs[i], strlen(sysctl_dirs[i])) &&
		    !strchr(path + strlen(sysctl_dirs[i]), '/'))
			return i;
	return -1;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The file part of an origin "FILE:LINE", in buf. */
static const char *origin_file(const char *origin, char *buf, size_t size)
{
	const char *c = strrchr(origin, ':');
	size_t n = c ? (size_t)(c - origin) : strlen(origin);

	if (n >= size)
		n = size - 1;
	memcpy(buf, origin, n);
	buf[n] = '\0';
	return buf;
}

/* A file of the same name in a directory of higher precedence replaces the
 * drop-in, or masks it. */
static int check_shadowing(struct dropin *d, const json_t *persistent)
{
	const json_t *files = json_object_get(persistent, "files"), *f;
	int mine = dir_rank(d->target);
	size_t i;

	if (mine < 0)
		return 0;
	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const char *status = json_string_value(json_object_get(f, "status"));
		int rank;

		if (!path || !status || !strcmp(path, d->target) ||
		    strcmp(base_name(path), base_name(d->target)) != 0)
			continue;
		rank = dir_rank(path);
		if (rank < 0)
			continue;
		if (rank < mine) {
			if (add_msg(d->warnings, "%s %s %s (same name, a directory that takes precedence): "
				    "nothing in the drop-in will be applied at boot", path,
				    !strcmp(status, "masked") ? "masks" : "replaces", d->target) < 0)
				return -ENOMEM;
		} else if (strcmp(status, "masked") != 0) {
			if (add_msg(d->warnings, "%s replaces %s (same name, a directory of lower precedence): "
				    "nothing in %s is applied at boot once the drop-in exists", d->target, path,
				    path) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

struct assignment {
	const char *origin;
	const json_t *value;   /* NULL for an exclusion */
};

/* The last assignment of key in files applied before (later=false) or
 * after (later=true) the drop-in, ignoring the drop-in itself. */
static bool find_assignment(const json_t *pk, const char *target, bool later, struct assignment *out)
{
	const json_t *shadowed = json_object_get(pk, "shadowed");
	const char *tbase = base_name(target);
	char file[4096];
	bool found = false;
	size_t i;

	if (!pk)
		return false;
	/* in order of application: the shadowed ones, then the effective one */
	for (i = 0; i <= json_array_size(shadowed); i++) {
		const json_t *a = i < json_array_size(shadowed) ? json_array_get(shadowed, i) : pk;
		const char *origin = json_string_value(json_object_get(a, "origin"));
		int c;

		if (!origin)
			continue;
		origin_file(origin, file, sizeof(file));
		if (!strcmp(file, target))
			continue;
		/* a file of the same name elsewhere is replaced by the drop-in:
		 * its values count as set before it */
		c = strcmp(base_name(file), tbase);
		if (later ? c > 0 : c <= 0) {
			const json_t *v = json_object_get(a, "value");

			out->origin = origin;
			out->value = json_is_true(json_object_get(a, "exclude")) || json_is_null(v) ? NULL : v;
			found = true;
		}
	}
	return found;
}

/* ---- building ---- */

static void entry_free(struct dropin_entry *e)
{
	free(e->key);
	free(e->text);
	free(e->block);
	free(e->overridden_by);
	json_decref(e->value);
	json_decref(e->runtime);
	json_decref(e->boot);
	json_decref(e->rules);
}

void dropin_free(struct dropin *d)
{
	for (size_t i = 0; i < d->n; i++)
		entry_free(&d->e[i]);
	free(d->e);
	free(d->target);
	free(d->content);
	json_decref(d->warnings);
	json_decref(d->notes);
	*d = (struct dropin){ 0 };
}

static struct dropin_entry *new_entry(struct dropin *d)
{
	struct dropin_entry *n = realloc(d->e, (d->n + 1) * sizeof(*n));

	if (!n)
		return NULL;
	d->e = n;
	n = &d->e[d->n++];
	*n = (struct dropin_entry){ 0 };
	return n;
}

static const char *mode_words(const char *mode)
{
	enum rec_mode m = REC_EXACT;

	rec_mode_parse(mode, &m);
	return m == REC_AT_LEAST ? "at least" : m == REC_AT_MOST ? "at most" : "exactly";
}

/* The lines of entry e in the drop-in: a comment naming the rules that
 * asked for it and why, what was recommended, the notes, then the
 * assignment.  0 or -ENOMEM. */
static int entry_block(struct dropin_entry *e, const json_t *rec, const json_t *want,
		       const struct rulebook *rb, const char *mode, bool larger)
{
	const json_t *rules = json_object_get(rec, "rules"), *id, *notes, *n;
	struct sbuf b = { 0 };
	char *wtext;
	size_t i;

	json_array_foreach(rules, i, id) {
		const struct rule *r = json_string_value(id) ? rulebook_rule(rb, json_string_value(id)) : NULL;

		sb_puts(&b, "# ");
		sb_comment_text(&b, json_string_value(id) ? json_string_value(id) : "?");
		if (r && r->title) {
			sb_puts(&b, ": ");
			sb_comment_text(&b, r->title);
		}
		sb_puts(&b, "\n");
	}
	wtext = dropin_value_text(want);
	sb_printf(&b, "# recommended: %s %s", mode_words(mode), wtext ? wtext : "?");
	if (!json_equal(e->value, want))
		sb_puts(&b, larger ? "; the higher value already in use is kept"
			: "; the lower value already in use is kept");
	sb_puts(&b, "\n");
	free(wtext);
	notes = json_object_get(rec, "notes");
	json_array_foreach(notes, i, n) {
		if (!json_string_value(n))
			continue;
		sb_puts(&b, "# note: ");
		sb_comment_text(&b, json_string_value(n));
		sb_puts(&b, "\n");
	}
	sb_printf(&b, "%s = %s\n", e->key, e->text);
	if (b.failed) {
		free(b.s);
		return -ENOMEM;
	}
	e->block = b.s;
	return 0;
}

/* Entry e is overridden at boot by after, a later file: say so.  0 or
 * -ENOMEM. */
static int overridden(struct dropin *d, struct dropin_entry *e, const struct assignment *after)
{
	char *t = after->value ? dropin_value_text(after->value) : NULL;
	int r;

	e->overridden_by = strdup(after->origin);
	e->boot = after->value ? json_incref((json_t *)after->value) : json_null();
	if (after->value)
		r = add_msg(d->warnings, "%s: %s sets %s and is applied after %s, so %s is what boot "
			    "applies, not %s; change it there", e->key, after->origin, t ? t : "?",
			    d->target, t ? t : "?", e->text);
	else
		r = add_msg(d->warnings, "%s: %s excludes the key, so boot does not set it at all; "
			    "remove the exclusion there", e->key, after->origin);
	free(t);
	return r < 0 || !e->overridden_by ? -ENOMEM : 0;
}

/* One recommendation of the audit. */
static int add_recommendation(struct dropin *d, const json_t *rec, const json_t *facts,
			      const struct rulebook *rb, const struct existing *x)
{
	const char *key_in = json_string_value(json_object_get(rec, "key"));
	const char *mode = json_string_value(json_object_get(rec, "mode"));
	const json_t *want = json_object_get(rec, "value");
	const json_t *rules = json_object_get(rec, "rules");
	const json_t *persistent = json_object_get(facts, "persistent");
	const json_t *pk, *runtime;
	char key[SYSCTL_KEY_MAX + 1];
	const char *why;
	struct assignment before = { 0 }, after = { 0 };
	bool has_before, has_after, larger;
	json_t *v = NULL, *own = NULL;
	enum rec_mode m = REC_EXACT;
	struct dropin_entry *e;
	size_t i;

	if (!key_in || sysctl_key_parse(key_in, NULL, key, &why) < 0)
		return add_msg(d->notes, "%s: not a valid sysctl key; left out", key_in ? key_in : "?");
	if ((why = sysctl_key_runs_program(key)))
		return add_msg(d->warnings, "%s: never persisted or applied by netknobs (%s); left out", key, why);
	if (!mode)
		mode = "exact";
	if (json_is_true(json_object_get(rec, "conflict")))
		return add_msg(d->notes, "%s: the rules ask for values that cannot be merged; set it by "
			       "hand (netknobs audit shows each rule's value)", key);
	pk = json_object_get(json_object_get(persistent, "keys"), key);
	runtime = json_object_get(json_object_get(facts, "sysctl"), key);
	has_before = find_assignment(pk, d->target, false, &before);
	has_after = find_assignment(pk, d->target, true, &after);

	for (i = 0; i < x->n; i++)
		if (x->b[i].key && x->b[i].value && !strcmp(x->b[i].key, key)) {
			json_decref(own);
			own = sysctl_value_parse(x->b[i].value);
			if (!own)
				return -ENOMEM;
		}

	/* Met now.  Persisted too?  What boot applies is the last assignment:
	 * a later file, else the drop-in's own line, else an earlier file;
	 * with none of them, the value now is lost at reboot: persist it. */
	if (json_is_true(json_object_get(rec, "satisfied")) && !own) {
		const json_t *boot = has_after ? after.value : has_before ? before.value : NULL;

		if (boot && dropin_value_meets(boot, want, mode))
			return 0;
	}

	/* never lower (at-least) or raise (at-most) a value set on purpose: now,
	 * in an earlier file, or in the drop-in itself */
	v = json_deep_copy(want);
	if (!v) {
		json_decref(own);
		return -ENOMEM;
	}
	rec_mode_parse(mode, &m);
	larger = m == REC_AT_LEAST;
	if (larger || m == REC_AT_MOST) {
		const json_t *others[3] = { runtime, has_before ? before.value : NULL, own };

		for (i = 0; i < 3; i++) {
			json_t *c;

			if (!others[i])
				continue;
			c = combine(v, others[i], larger);
			if (c) {
				json_decref(v);
				v = c;
			}
		}
	}
	json_decref(own);

	if (has_after && after.value && dropin_value_meets(after.value, want, mode)) {
		char *t = dropin_value_text(after.value);
		int r = add_msg(d->notes, "%s: %s sets %s, applied after the drop-in, which already meets "
				"the recommendation; not written", key, after.origin, t ? t : "?");

		free(t);
		json_decref(v);
		return r;
	}

	e = new_entry(d);
	if (!e) {
		json_decref(v);
		return -ENOMEM;
	}
	e->key = strdup(key);
	e->value = v;
	e->text = dropin_value_text(v);
	e->runtime = runtime ? json_incref((json_t *)runtime) : NULL;
	e->rules = json_deep_copy(rules ? rules : json_array());
	if (!e->key || !e->rules)
		return -ENOMEM;
	if (!e->text) {
		int r = add_msg(d->notes, "%s: the recommended value cannot be written to a sysctl.d file; "
				"left out", key);

		entry_free(e);
		d->n--;
		return r;
	}
	if (has_after && overridden(d, e, &after) < 0)
		return -ENOMEM;

	return entry_block(e, rec, want, rb, mode, larger);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct dropin_entry *x = a, *y = b;

	/* keys are unique among the recommendations */
	return strcmp(x->key, y->key);
}

static void emit_block(struct sbuf *out, const char *text)
{
	size_t n = strlen(text);

	sb_puts(out, "\n");
	sb_puts(out, text);
	if (n && text[n - 1] != '\n')
		sb_puts(out, "\n");
}

/* A line of the file that no rule asks about now: kept as it is. */
static int keep_entry(struct dropin_entry *e, const struct exblock *b, const json_t *facts, const char *target)
{
	const json_t *pk = json_object_get(json_object_get(json_object_get(facts, "persistent"), "keys"), b->key);
	struct assignment after;

	*e = (struct dropin_entry){ 0 };
	e->kept = true;
	e->key = strdup(b->key);
	e->text = strdup(b->value);
	e->block = strdup(b->text);
	e->value = sysctl_value_parse(b->value);
	e->rules = json_array();
	if (!e->key || !e->text || !e->block || !e->value || !e->rules)
		return -ENOMEM;
	e->runtime = json_object_get(json_object_get(facts, "sysctl"), e->key);
	if (e->runtime)
		json_incref(e->runtime);
	if (find_assignment(pk, target, true, &after)) {
		e->overridden_by = strdup(after.origin);
		e->boot = after.value ? json_incref((json_t *)after.value) : json_null();
		if (!e->overridden_by)
			return -ENOMEM;
	}
	return 0;
}

int dropin_build(struct dropin *d, const json_t *audit, const json_t *facts,
		 const struct rulebook *rb, const char *target, const char *existing)
{
	struct existing x = { 0 };
	const json_t *recs = json_object_get(audit, "recommendations"), *rec;
	struct sbuf out = { 0 };
	struct dropin_entry *final = NULL;
	size_t i, nnew, nf = 0, first_new;
	bool *placed = NULL;
	int r = -ENOMEM;
	bool any = false;

	*d = (struct dropin){ 0 };
	d->target = strdup(target);
	d->warnings = json_array();
	d->notes = json_array();
	if (!d->target || !d->warnings || !d->notes)
		return -ENOMEM;
	if (existing && existing_parse(&x, existing, rb) < 0)
		goto out;
	if (check_shadowing(d, json_object_get(facts, "persistent")) < 0)
		goto out;
	json_array_foreach(recs, i, rec)
		if (add_recommendation(d, rec, facts, rb, &x) < 0)
			goto out;
	nnew = d->n;

	/* The file's order is kept (it decides what a repeated key or an
	 * exclusion does): a recommended key takes the place of its first line
	 * there, its other lines go; lines of other keys and any other text
	 * stay where they were.  Keys new to the file follow, in key order. */
	placed = calloc(nnew + 1, sizeof(*placed));
	final = calloc(nnew + x.n + 1, sizeof(*final));
	if (!placed || !final)
		goto out;
	sb_puts(&out, dropin_header);
	for (i = 0; i < x.n; i++) {
		size_t k, j;

		if (x.b[i].key) {
			for (k = 0; k < nnew && strcmp(d->e[k].key, x.b[i].key) != 0; k++)
				;
		} else {
			k = nnew;
		}
		if (k < nnew) {
			/* the recommended key goes where its last line (an
			 * assignment or an exclusion) was, so that nothing later
			 * in the file undoes it; its other lines go */
			for (j = i + 1; j < x.n; j++)
				if (x.b[j].key && !strcmp(x.b[j].key, x.b[i].key))
					break;
			if (j == x.n) {
				/* the admin's comments above it stay, ours are new */
				placed[k] = true;
				final[nf++] = d->e[k];
				sb_puts(&out, "\n");
				sb_puts(&out, x.b[i].admin);
				sb_puts(&out, d->e[k].block);
				any = true;
			} else if (*x.b[i].admin) {
				/* a line that goes: the admin's comments stay */
				emit_block(&out, x.b[i].admin);
				any = true;
			}
			continue;
		}
		if (!x.b[i].key || !x.b[i].value) {
			/* text that is no assignment, and exclusions of other keys */
			emit_block(&out, x.b[i].text);
			any = true;
			continue;
		}
		if (keep_entry(&final[nf++], &x.b[i], facts, target) < 0)
			goto out;
		emit_block(&out, x.b[i].text);
		any = true;
	}
	first_new = nf;
	for (i = 0; i < nnew; i++)
		if (!placed[i])
			final[nf++] = d->e[i];
	if (nf > first_new)
		qsort(final + first_new, nf - first_new, sizeof(*final), cmp_entry);
	for (i = first_new; i < nf; i++) {
		emit_block(&out, final[i].block);
		any = true;
	}
	free(d->e);
	d->e = final;
	d->n = nf;
	final = NULL;
	if (out.failed)
		goto out;
	if (!any) {
		free(out.s);
		out.s = strdup("");
		out.len = 0;
		if (!out.s)
			goto out;
	}
	d->content = out.s;
	d->len = out.len;
	out.s = NULL;
	r = 0;
out:
	if (final) {
		/* entries taken from d->e stay there; free only the kept ones */
		for (i = 0; i < nf; i++)
			if (final[i].kept)
				entry_free(&final[i]);
		free(final);
	}
	free(placed);
	free(out.s);
	existing_free(&x);
	return r;
}
