/* Loading rule sets and override files. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facts/sysctl.h"
#include "rules/rules.h"
#include "rules/embedded.h"
#include "rules/ytree.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/suggest.h"

#define RULE_ID_MAX 64
#define TEXT_MAX 8192

struct pending_override {
	char *rule_id;
	int enabled;              /* -1 unchanged */
	int severity;             /* -1 unchanged */
	struct origin where;
};

static const char *const severity_names[SEV_COUNT] = { "info", "notice", "warning", "critical" };

const char *severity_name(enum severity s)
{
	return s < SEV_COUNT ? severity_names[s] : "?";
}

int severity_parse(const char *s, enum severity *out)
{
	for (int i = 0; i < SEV_COUNT; i++)
		if (!strcmp(s, severity_names[i])) {
			*out = (enum severity)i;
			return 0;
		}
	return -EINVAL;
}

/* ------------------------------------------------------------ messages */

struct ctx {
	struct rulebook *rb;
	const char *file;
};

static void __attribute__((format(printf, 3, 4)))
err_at(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_syntax(c->file, n ? n->line : 0, n ? n->col : 0, "%s", buf);
	c->rb->errors++;
}

/* Unknown key in a mapping: name it, suggest the closest allowed one. */
static int check_keys(struct ctx *c, const struct ynode *map, const char *what,
		      const char *const *allowed)
{
	int bad = 0;
	size_t na = 0;

	while (allowed[na])
		na++;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i];
		size_t j;

		for (j = 0; j < na; j++)
			if (!strcmp(k->value, allowed[j]))
				break;
		if (j < na)
			continue;
		{
			char *esc = escape_untrusted_str(k->value);
			const char *s = suggest_closest(k->value, allowed, na);

			if (s)
				err_at(c, k, "unknown field '%s' in %s; did you mean '%s'?", esc ? esc : "?",
				       what, s);
			else
				err_at(c, k, "unknown field '%s' in %s", esc ? esc : "?", what);
			free(esc);
		}
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

static const struct ynode *want(struct ctx *c, const struct ynode *map, const char *key,
				enum ynode_type t, bool required, const char *what)
{
	const struct ynode *n = ytree_get(map, key);
	static const char *const tn[] = { "a scalar", "a mapping", "a list" };

	if (!n) {
		if (required)
			err_at(c, map, "%s: missing required field '%s'", what, key);
		return NULL;
	}
	if (n->type != t) {
		err_at(c, n, "'%s' must be %s, not %s", key, tn[t], ytree_type_name(n));
		return NULL;
	}
	return n;
}

/* Text that will be printed must hold no control character (a newline and
 * a tab only where lines are allowed) and no character that reorders the
 * text around it (U+202E ...).  libyaml refuses such bytes written as they
 * are, but not an escape such as "\e" in a double-quoted scalar: the check
 * is made on the value, after YAML's unescaping.  Returns 0 or -EINVAL
 * (reported). */
static int text_safe(struct ctx *c, const struct ynode *n, const char *key, bool lines)
{
	size_t clen = 0;
	long at = escape_first_unsafe(n->value, n->len, lines, &clen);
	unsigned char b;
	char *what;

	if (at < 0)
		return 0;
	b = (unsigned char)n->value[at];
	what = escape_untrusted(n->value + at, clen);
	err_at(c, n, "'%s' holds %s (%s, byte %ld of the value): write it without control or "
	       "direction-changing characters", key,
	       b == '\n' ? "a line break" : b < 0x80 || b == 0xc2 ? "a control character"
	       : clen == 1 ? "a byte that is not UTF-8" : "a character that changes the text's direction or lines",
	       what ? what : "?", at + 1);
	free(what);
	return -EINVAL;
}

/* A text field: printable, bounded; lines allowed. */
static char *text_of(struct ctx *c, const struct ynode *n, const char *key)
{
	if (n->len > TEXT_MAX) {
		err_at(c, n, "'%s' is too long (%zu bytes; the limit is %d)", key, n->len, TEXT_MAX);
		return NULL;
	}
	if (text_safe(c, n, key, true) < 0)
		return NULL;
	return strdup(n->value);
}

/* The same for a one-line field (a title, a list item). */
static char *line_of(struct ctx *c, const struct ynode *n, const char *key)
{
	if (n->len <= TEXT_MAX && text_safe(c, n, key, false) < 0)
		return NULL;
	return text_of(c, n, key);
}

/* ---------------------------------------------------------- expressions */

/* Where a position inside an expression stands in the YAML file. */
static void expr_where(const struct ynode *n, const struct expr_error *e, unsigned *line,
		       unsigned *col)
{
	*line = n->line;
	*col = n->col;
	if (n->literal) {
		/* block scalar: the text starts on the next line */
		*line += e->line;
		*col = e->col;
	} else {
		*line += e->line - 1;
		*col = (e->line > 1 ? 0 : *col + (n->quoted ? 1 : 0)) + e->col - (e->line > 1 ? 0 : 1);
	}
}

/* Position of an expression error inside the YAML scalar. */
static void expr_err(struct ctx *c, const struct ynode *n, const char *field,
		     const struct expr_error *e)
{
	unsigned line, col;

	expr_where(n, e, &line, &col);
	log_syntax(c->file, line, col, "in %s: %s", field, e->msg);
	c->rb->errors++;
}

struct lookup_note {
	struct ctx *c;
	const struct ynode *n;
	unsigned shift;          /* columns before the expression on its first line */
};

static int note_lookup(const char *table, const struct expr_error *at, void *data)
{
	struct lookup_note *ln = data;
	struct expr_error e = *at;
	struct table_use u = { strdup(table), { ln->c->file, 0, 0 } };

	if (e.line <= 1)
		e.col += ln->shift;
	expr_where(ln->n, &e, &u.where.line, &u.where.col);
	if (u.table)
		tables_add_use(ln->c->rb, &u);
	return 0;
}

/* Remember the tables x reads with lookup(), checked when every file is
 * loaded (tables_finish). */
static void note_lookups(struct ctx *c, const struct ynode *n, const struct expr *x, unsigned shift)
{
	struct lookup_note ln = { c, n, shift };

	expr_lookup_tables(x, note_lookup, &ln);
}

static struct expr *parse_expr_node(struct ctx *c, const struct ynode *n, const char *field,
				    const struct expr_scope *scope)
{
	struct expr_error e = { 0 };
	struct expr *x;

	if (n->type != YNODE_SCALAR) {
		err_at(c, n, "'%s' must be an expression (a scalar), not %s", field, ytree_type_name(n));
		return NULL;
	}
	x = expr_parse(n->value, n->len, scope, &e);
	if (!x)
		expr_err(c, n, field, &e);
	else
		note_lookups(c, n, x, 0);
	return x;
}

static void template_free(struct template *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->parts[i].text);
		expr_free(t->parts[i].expr);
	}
	free(t->parts);
	free(t->src);
	t->parts = NULL;
	t->src = NULL;
	t->n = 0;
}

static int template_add(struct template *t, char *text, struct expr *e)
{
	struct template_part *p = realloc(t->parts, (t->n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	t->parts = p;
	p[t->n].text = text;
	p[t->n].expr = e;
	t->n++;
	return 0;
}

/* "text {expr} text"; "{{" and "}}" stand for literal braces. */
static int parse_template(struct ctx *c, const struct ynode *n, const char *field,
			  const struct expr_scope *scope, struct template *t)
{
	const char *s = n->value;
	size_t len = n->len, i = 0;
	char *lit;
	size_t ll = 0;
	int ret = 0;

	if (n->type != YNODE_SCALAR) {
		err_at(c, n, "'%s' must be text, not %s", field, ytree_type_name(n));
		return -EINVAL;
	}
	if (len > TEXT_MAX) {
		err_at(c, n, "'%s' is too long (%zu bytes; the limit is %d)", field, len, TEXT_MAX);
		return -EINVAL;
	}
	/* a message may have lines; a subject is one */
	if (text_safe(c, n, field, strcmp(field, "subject") != 0) < 0)
		return -EINVAL;
	lit = malloc(len + 1);
	if (!lit)
		return -ENOMEM;
	while (i < len) {
		if ((s[i] == '{' && i + 1 < len && s[i + 1] == '{') ||
		    (s[i] == '}' && i + 1 < len && s[i + 1] == '}')) {
			lit[ll++] = s[i];
			i += 2;
			continue;
		}
		if (s[i] == '}') {
			struct expr_error e = { .line = 1, .col = (unsigned)i + 1 };

			snprintf(e.msg, sizeof(e.msg), "unmatched '}' in text (write '}}' for a brace)");
			expr_err(c, n, field, &e);
			ret = -EINVAL;
			break;
		}
		if (s[i] == '{') {
			size_t j = i + 1, depth = 0;
			char q = 0;
			struct expr_error e = { 0 };
			struct expr *x;

			for (; j < len; j++) {
				if (q) {
					if (s[j] == '\\')
						j++;
					else if (s[j] == q)
						q = 0;
				} else if (s[j] == '"') {
					q = s[j];
				} else if (s[j] == '{' || s[j] == '[' || s[j] == '(') {
					depth++;
				} else if ((s[j] == ']' || s[j] == ')') && depth) {
					depth--;
				} else if (s[j] == '}') {
					if (!depth)
						break;
					depth--;
				}
			}
			if (j >= len) {
				e.line = 1;
				e.col = (unsigned)i + 1;
				snprintf(e.msg, sizeof(e.msg), "'{' without a closing '}' (write '{{' for a brace)");
				expr_err(c, n, field, &e);
				ret = -EINVAL;
				break;
			}
			if (ll) {
				lit[ll] = '\0';
				if (template_add(t, strdup(lit), NULL) < 0) {
					ret = -ENOMEM;
					break;
				}
				ll = 0;
			}
			x = expr_parse(s + i + 1, j - i - 1, scope, &e);
			if (!x) {
				if (e.line <= 1)
					e.col += (unsigned)(i + 1);
				expr_err(c, n, field, &e);
				ret = -EINVAL;
				break;
			}
			note_lookups(c, n, x, (unsigned)(i + 1));
			if (template_add(t, NULL, x) < 0) {
				expr_free(x);
				ret = -ENOMEM;
				break;
			}
			i = j + 1;
			continue;
		}
		lit[ll++] = s[i++];
	}
	if (ret == 0 && ll) {
		lit[ll] = '\0';
		if (template_add(t, strdup(lit), NULL) < 0)
			ret = -ENOMEM;
	}
	free(lit);
	if (ret == 0 && !(t->src = strdup(s)))
		ret = -ENOMEM;
	if (ret < 0)
		template_free(t);
	return ret;
}

/* --------------------------------------------------------------- rules */

static void rule_free(struct rule *r)
{
	free(r->id);
	free(r->title);
	free(r->rationale);
	free(r->risk);
	for (size_t i = 0; i < r->ntags; i++)
		free(r->tags[i]);
	free(r->tags);
	for (size_t i = 0; i < r->nrefs; i++)
		free(r->refs[i]);
	free(r->refs);
	free(r->foreach_name);
	expr_free(r->foreach);
	for (size_t i = 0; i < r->nlets; i++) {
		free(r->let_names[i]);
		expr_free(r->lets[i]);
	}
	free(r->let_names);
	free(r->lets);
	expr_free(r->applies);
	expr_free(r->check);
	expr_free(r->observed);
	template_free(&r->message);
	template_free(&r->subject);
	for (size_t i = 0; i < r->nrecs; i++) {
		free(r->recs[i].key);
		free(r->recs[i].note);
		expr_free(r->recs[i].value);
	}
	free(r->recs);
	memset(r, 0, sizeof(*r));
}

static void key_doc_free(struct key_doc *d)
{
	free(d->key);
	free(d->summary);
	free(d->default_text);
	free(d->notes);
	for (size_t i = 0; i < d->ncounters; i++)
		free(d->counters[i]);
	free(d->counters);
}

static void profile_free(struct profile *p)
{
	free(p->name);
	free(p->description);
	for (size_t i = 0; i < p->nrulesets; i++)
		free(p->rulesets[i]);
	free(p->rulesets);
	json_decref(p->vars);
}

const struct key_doc *rulebook_key_doc(const struct rulebook *rb, const char *key)
{
	for (size_t i = 0; i < rb->nkeys; i++)
		if (!strcmp(rb->keys[i].key, key))
			return &rb->keys[i];
	return NULL;
}

static const struct profile *rulebook_profile(const struct rulebook *rb, const char *name)
{
	for (size_t i = 0; i < rb->nprofiles; i++)
		if (!strcmp(rb->profiles[i].name, name))
			return &rb->profiles[i];
	return NULL;
}

static bool valid_id(const char *s, size_t len)
{
	if (len == 0 || len > RULE_ID_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

static int string_list(struct ctx *c, const struct ynode *n, const char *field, char ***out,
		       size_t *nout, bool words)
{
	char **v;

	if (n->type != YNODE_SEQUENCE) {
		err_at(c, n, "'%s' must be a list, not %s", field, ytree_type_name(n));
		return -EINVAL;
	}
	v = calloc(n->n ? n->n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->kids[i];

		if (k->type != YNODE_SCALAR) {
			err_at(c, k, "items of '%s' must be scalars, not %s", field, ytree_type_name(k));
			goto bad;
		}
		if (words && !valid_id(k->value, k->len)) {
			char *esc = escape_untrusted_str(k->value);

			err_at(c, k, "tag '%s' must be a lower-case word (a-z 0-9 - . _)", esc ? esc : "?");
			free(esc);
			goto bad;
		}
		v[i] = line_of(c, k, field);
		if (!v[i])
			goto bad;
	}
	*out = v;
	*nout = n->n;
	return 0;
bad:
	for (size_t i = 0; i < n->n; i++)
		free(v[i]);
	free(v);
	return -EINVAL;
}

static int parse_recommend(struct ctx *c, struct rule *r, const struct ynode *map,
			   const struct expr_scope *scope)
{
	static const char *const rec_fields[] = { "value", "mode", "note", NULL };
	int bad = 0;

	if (map->type != YNODE_MAPPING) {
		err_at(c, map, "'recommend' must be a mapping of sysctl key to value, not %s",
		       ytree_type_name(map));
		return -EINVAL;
	}
	r->recs = calloc(map->n / 2 + 1, sizeof(*r->recs));
	if (!r->recs)
		return -ENOMEM;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1], *vn = v, *nn = NULL;
		char *note = NULL;
		char key[SYSCTL_KEY_MAX + 1];
		const char *why;
		struct recommend *rec = &r->recs[r->nrecs];
		char field[SYSCTL_KEY_MAX + 32];

		if (sysctl_key_parse(k->value, NULL, key, &why) < 0 ||
		    (strpbrk(key, "*?[") && (why = "patterns are not allowed here")) ||
		    (why = sysctl_key_runs_program(key))) {
			char *esc = escape_untrusted_str(k->value);

			err_at(c, k, "invalid sysctl key '%s' in recommend: %s", esc ? esc : "?", why);
			free(esc);
			bad = 1;
			continue;
		}
		rec->mode = REC_AT_LEAST;
		if (v->type == YNODE_MAPPING) {
			const struct ynode *m;

			if (check_keys(c, v, "a recommendation", rec_fields) < 0) {
				bad = 1;
				continue;
			}
			vn = want(c, v, "value", YNODE_SCALAR, true, "recommendation");
			m = want(c, v, "mode", YNODE_SCALAR, false, "recommendation");
			nn = want(c, v, "note", YNODE_SCALAR, false, "recommendation");
			if (!vn) {
				bad = 1;
				continue;
			}
			if (m) {
				if (!strcmp(m->value, "at-least"))
					rec->mode = REC_AT_LEAST;
				else if (!strcmp(m->value, "at-most"))
					rec->mode = REC_AT_MOST;
				else if (!strcmp(m->value, "exact"))
					rec->mode = REC_EXACT;
				else {
					err_at(c, m, "mode must be at-least, at-most or exact");
					bad = 1;
					continue;
				}
			}
		}
		snprintf(field, sizeof(field), "recommend.%s", key);
		rec->value = parse_expr_node(c, vn, field, scope);
		if (!rec->value) {
			bad = 1;
			continue;
		}
		/* the note last: nothing can fail after it */
		if (nn && !(note = text_of(c, nn, "note"))) {
			expr_free(rec->value);
			rec->value = NULL;
			bad = 1;
			continue;
		}
		rec->note = note;
		rec->key = strdup(key);
		rec->where = (struct origin){ c->file, k->line, k->col };
		r->nrecs++;
	}
	return bad ? -EINVAL : 0;
}

static size_t id_hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The index of the rule with this id, or (size_t)-1. */
static size_t id_lookup(const struct rulebook *rb, const char *id)
{
	if (!rb || !rb->id_index_size)
		return (size_t)-1;
	for (size_t i = id_hash(id) & (rb->id_index_size - 1);; i = (i + 1) & (rb->id_index_size - 1)) {
		size_t v = rb->id_index[i];

		if (!v)
			return (size_t)-1;
		if (!strcmp(rb->rules[v - 1].id, id))
			return v - 1;
	}
}

static int id_insert(struct rulebook *rb, size_t idx)
{
	if ((rb->nrules + 1) * 2 > rb->id_index_size) {
		size_t n = rb->id_index_size ? rb->id_index_size * 2 : 64;
		size_t *t = calloc(n, sizeof(*t));

		if (!t)
			return -ENOMEM;
		free(rb->id_index);
		rb->id_index = t;
		rb->id_index_size = n;
		for (size_t k = 0; k < rb->nrules; k++)
			if (k != idx)
				id_insert(rb, k);
	}
	for (size_t i = id_hash(rb->rules[idx].id) & (rb->id_index_size - 1);;
	     i = (i + 1) & (rb->id_index_size - 1))
		if (!rb->id_index[i]) {
			rb->id_index[i] = idx + 1;
			return 0;
		}
}

static void add_rule(struct ctx *c, struct rule *r)
{
	struct rulebook *rb = c->rb;
	size_t dup = id_lookup(rb, r->id);

	if (dup != (size_t)-1) {
		log_syntax(c->file, r->where.line, r->where.col,
			   "duplicate rule id '%s' (first defined at %s:%u:%u)", r->id,
			   rb->rules[dup].where.file, rb->rules[dup].where.line, rb->rules[dup].where.col);
		rb->errors++;
		rule_free(r);
		return;
	}
	if (rb->nrules == rb->rules_cap) {
		size_t cap = rb->rules_cap ? rb->rules_cap * 2 : 32;
		struct rule *nr = realloc(rb->rules, cap * sizeof(*nr));

		if (!nr) {
			rule_free(r);
			rb->errors++;
			return;
		}
		rb->rules = nr;
		rb->rules_cap = cap;
	}
	rb->rules[rb->nrules] = *r;
	if (id_insert(rb, rb->nrules) < 0) {
		rule_free(&rb->rules[rb->nrules]);
		rb->errors++;
		return;
	}
	rb->nrules++;
}

/* let: NAME: EXPR, in order; each expression sees the foreach item and the
 * names before it.  names and scope hold the item's name (when the rule has
 * a foreach) and get the lets' names.  Returns 0, or -1 after an error. */
static int parse_lets(struct ctx *c, struct rule *r, const struct ynode *map, const char **names,
		      struct expr_scope *scope)
{
	size_t n = map->type == YNODE_MAPPING ? map->n / 2 : 0, base = scope->n_names;

	if (map->type != YNODE_MAPPING) {
		err_at(c, map, "'let' must be a mapping of name to expression, not %s", ytree_type_name(map));
		return -1;
	}
	if (base + n > EXPR_MAX_NAMES) {
		err_at(c, map, "'let' binds %zu names; a rule may bind at most %d with its foreach item", n,
		       EXPR_MAX_NAMES - (int)base);
		return -1;
	}
	r->let_names = calloc(n + 1, sizeof(*r->let_names));
	r->lets = calloc(n + 1, sizeof(*r->lets));
	if (!r->let_names || !r->lets) {
		err_at(c, map, "out of memory");
		return -1;
	}
	scope->names = names;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = map->kids[2 * i], *e = map->kids[2 * i + 1];
		const char *why = NULL;
		char *esc;

		for (size_t j = 0; j < scope->n_names && !why; j++)
			if (!strcmp(names[j], k->value))
				why = r->foreach_name && j == 0 ? "the rule's foreach item" : "bound above";
		if (why || !expr_name_valid(k->value, &why)) {
			esc = escape_untrusted_str(k->value);
			err_at(c, k, "invalid name '%s' in 'let': %s", esc ? esc : "?", why);
			free(esc);
			return -1;
		}
		r->lets[i] = parse_expr_node(c, e, "let", scope);
		r->let_names[i] = strdup(k->value);
		r->nlets = i + 1;
		if (!r->lets[i] || !r->let_names[i])
			return -1;
		names[scope->n_names++] = r->let_names[i];
	}
	return 0;
}

static void parse_rule(struct ctx *c, const struct ynode *n, const char *setname)
{
	static const char *const fields[] = {
		"id", "title", "severity", "tags", "foreach", "let", "applies", "check", "observed",
		"subject", "message", "recommend", "rationale", "risk", "references", NULL,
	};
	struct rule r = { 0 };
	const struct ynode *id, *v;
	struct expr_scope scope = { 0 }, *sc = NULL;
	const char *names[EXPR_MAX_NAMES];
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		err_at(c, n, "a rule must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	check_keys(c, n, "a rule", fields);
	r.where = (struct origin){ c->file, n->line, n->col };
	r.ruleset = setname;
	id = want(c, n, "id", YNODE_SCALAR, true, "rule");
	if (id && !valid_id(id->value, id->len)) {
		char *esc = escape_untrusted_str(id->value);

		err_at(c, id, "rule id '%s' must be 1-%d characters of a-z 0-9 - . _, starting with a letter or digit",
		       esc ? esc : "?", RULE_ID_MAX);
		free(esc);
		id = NULL;
	}
	r.id = id ? strdup(id->value) : NULL;
	if (id)
		r.where = (struct origin){ c->file, id->line, id->col };

	if ((v = want(c, n, "title", YNODE_SCALAR, true, "rule")))
		r.title = line_of(c, v, "title");
	if ((v = want(c, n, "rationale", YNODE_SCALAR, true, "rule")))
		r.rationale = text_of(c, v, "rationale");
	if ((v = want(c, n, "risk", YNODE_SCALAR, false, "rule")))
		r.risk = text_of(c, v, "risk");
	if ((v = want(c, n, "severity", YNODE_SCALAR, true, "rule"))) {
		if (severity_parse(v->value, &r.severity) < 0) {
			const char *s = suggest_closest(v->value, severity_names, SEV_COUNT);
			char *esc = escape_untrusted_str(v->value);

			err_at(c, v, "unknown severity '%s'%s%s%s (info, notice, warning, critical)",
			       esc ? esc : "?", s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
			free(esc);
		}
		r.default_severity = r.severity;
	}
	if ((v = ytree_get(n, "tags")))
		string_list(c, v, "tags", &r.tags, &r.ntags, true);
	if ((v = ytree_get(n, "references")))
		string_list(c, v, "references", &r.refs, &r.nrefs, false);

	if ((v = want(c, n, "foreach", YNODE_SCALAR, false, "rule"))) {
		/* NAME in EXPR */
		const char *s = v->value, *p = s;
		const char *why = NULL;

		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		r.foreach_name = strndup(s, (size_t)(p - s));
		while (*p == ' ')
			p++;
		if (!r.foreach_name || strncmp(p, "in ", 3) != 0 ||
		    !expr_name_valid(r.foreach_name, &why)) {
			err_at(c, v, "foreach must read 'NAME in COLLECTION' (e.g. 'listener in listeners')%s%s",
			       why ? ": " : "", why ? why : "");
		} else {
			struct expr_error e = { 0 };

			p += 3;
			r.foreach = expr_parse(p, strlen(p), NULL, &e);
			if (!r.foreach) {
				if (e.line <= 1)
					e.col += (unsigned)(p - s);
				expr_err(c, v, "foreach", &e);
			}
			names[0] = r.foreach_name;
			scope.names = names;
			scope.n_names = 1;
			sc = &scope;
		}
	}
	if ((v = ytree_get(n, "let")) && parse_lets(c, &r, v, names, &scope) == 0)
		sc = &scope;
	if ((v = ytree_get(n, "applies")))
		r.applies = parse_expr_node(c, v, "applies", sc);
	if ((v = want(c, n, "check", YNODE_SCALAR, true, "rule")))
		r.check = parse_expr_node(c, v, "check", sc);
	if ((v = ytree_get(n, "observed")))
		r.observed = parse_expr_node(c, v, "observed", sc);
	if ((v = want(c, n, "message", YNODE_SCALAR, true, "rule")))
		parse_template(c, v, "message", sc, &r.message);
	if ((v = ytree_get(n, "subject")))
		parse_template(c, v, "subject", sc, &r.subject);
	else if (r.foreach)
		err_at(c, n, "rule '%s': a foreach rule needs a 'subject' naming each item (e.g. \"{%s.address}:{%s.port}\")",
		       r.id ? r.id : "?", r.foreach_name, r.foreach_name);
	if ((v = ytree_get(n, "recommend")))
		parse_recommend(c, &r, v, sc);

	if (c->rb->errors != before || !r.id) {
		rule_free(&r);
		return;
	}
	add_rule(c, &r);
}

/* A plain scalar that YAML reads as null ("~", "null", nothing) or as a
 * floating-point number (".inf", ".nan", "1.5", "1e3"). */
static const char *yaml_non_value(const struct ynode *n)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
	static const char *const specials[] = { ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL };
	const char *p = n->value;
	bool digits = false;

	if (n->quoted || n->literal)
		return NULL;
	if (!n->len)
		return "YAML null (an empty value)";
	for (size_t i = 0; nulls[i]; i++)
		if (!strcmp(p, nulls[i]))
			return "YAML null";
	if (*p == '+' || *p == '-')
		p++;
	for (size_t i = 0; specials[i]; i++)
		if (!strcmp(p, specials[i]))
			return "a YAML infinity or NaN";
	/* [0-9]* ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )?, not an integer */
	while (isdigit((unsigned char)*p))
		p++, digits = true;
	if (*p != '.' && *p != 'e' && *p != 'E')
		return NULL;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p ? NULL : "a floating-point number";
}

/* Plain YAML scalars become integers or booleans when they look like one;
 * quoted ones stay strings.  What YAML reads as null or as a floating-point
 * number is refused: rules compute with 64-bit integers, and a string in
 * their place would break every rule that reads the variable. */
static json_t *scalar_json(struct ctx *c, const struct ynode *n)
{
	long long v;
	char *end;
	const char *non = yaml_non_value(n);

	if (non) {
		char *esc = escape_untrusted(n->value, n->len);

		err_at(c, n, "'%s' is %s, not a value netknobs can use: write an integer, true or false, "
		       "or quote it for a string", esc ? esc : "?", non);
		free(esc);
		return NULL;
	}
	if (!n->quoted) {
		if (!strcmp(n->value, "true"))
			return json_true();
		if (!strcmp(n->value, "false"))
			return json_false();
		if (n->len && (isdigit((unsigned char)n->value[0]) || n->value[0] == '-')) {
			errno = 0;
			v = strtoll(n->value, &end, 10);
			if (*end == '\0' && end != n->value) {
				if (errno == ERANGE) {
					err_at(c, n, "integer out of range (signed 64-bit)");
					return NULL;
				}
				return json_integer(v);
			}
		}
	}
	{
		char *esc = escape_untrusted(n->value, n->len);
		json_t *s = json_string(esc ? esc : "");

		free(esc);
		return s;
	}
}

enum vars_kind { VARS_DEFAULT, VARS_SITE, VARS_PROFILE };

static bool valid_var_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return "an integer";
	case JSON_STRING:
		return "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "true or false";
	case JSON_ARRAY:
		return "a list";
	default:
		return "something else";
	}
}

/* A variable set by the site or a profile must have the type of the rule
 * set's default, and a list's items the type of the default's items: a
 * string where the rules compare integers breaks each rule that reads it.
 * With site_is (a default loaded after the site's value), the message is
 * about the site's value.  Returns 0 or -EINVAL (reported at k). */
static int var_type_check(struct ctx *c, const struct ynode *k, const json_t *v, const json_t *def,
			  const char *site_is)
{
	const char *a = json_kind(v), *b = json_kind(def);

	if (!strcmp(a, b) && json_is_array(v) && json_array_size(def)) {
		size_t i;
		const json_t *e;

		json_array_foreach(v, i, e)
			if (strcmp(json_kind(e), json_kind(json_array_get(def, 0))) != 0) {
				err_at(c, k, "variable '%s': each item must be %s, as in its rule set's default, not %s",
				       k->value, json_kind(json_array_get(def, 0)), json_kind(e));
				return -EINVAL;
			}
		return 0;
	}
	if (!strcmp(a, b))
		return 0;
	if (site_is)
		err_at(c, k, "variable '%s' is %s here, but %s %s", k->value, b, site_is, a);
	else
		err_at(c, k, "variable '%s' must be %s, as its rule set defines it, not %s", k->value, b, a);
	return -EINVAL;
}

/* Rule-set defaults never override a site value (whatever the file order);
 * a profile's values sit between the two (rulebook_use_profile). */
static void parse_variables(struct ctx *c, const struct ynode *map, enum vars_kind kind, json_t *into)
{
	if (map->type != YNODE_MAPPING) {
		err_at(c, map, "'variables' must be a mapping of name to value, not %s", ytree_type_name(map));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		json_t *j;

		if (!valid_var_name(k->value)) {
			char *esc = escape_untrusted_str(k->value);

			err_at(c, k, "invalid variable name '%s': letters, digits and '_', not starting with a digit",
			       esc ? esc : "?");
			free(esc);
			continue;
		}
		if (v->type == YNODE_MAPPING) {
			err_at(c, v, "variable '%s' must be a scalar or a list, not a mapping", k->value);
			continue;
		}
		if (v->type == YNODE_SEQUENCE) {
			j = json_array();
			for (size_t e = 0; e < v->n; e++) {
				if (v->kids[e]->type != YNODE_SCALAR) {
					err_at(c, v->kids[e], "items of variable '%s' must be scalars", k->value);
					continue;
				}
				json_array_append_new(j, scalar_json(c, v->kids[e]));
			}
		} else {
			j = scalar_json(c, v);
		}
		if (!j)
			continue;
		switch (kind) {
		case VARS_DEFAULT:
			if (json_object_get(c->rb->default_vars, k->value)) {
				json_decref(j);
				break;
			}
			json_object_set(c->rb->default_vars, k->value, j);
			/* the site's value, loaded before, must be of this type */
			if (json_object_get(c->rb->site_vars, k->value))
				var_type_check(c, k, json_object_get(c->rb->site_vars, k->value), j, "the site sets it to");
			if (json_object_get(c->rb->vars, k->value))
				json_decref(j);
			else
				json_object_set_new(c->rb->vars, k->value, j);
			break;
		case VARS_SITE:
			if (json_object_get(c->rb->default_vars, k->value) &&
			    var_type_check(c, k, j, json_object_get(c->rb->default_vars, k->value), NULL) < 0) {
				json_decref(j);
				break;
			}
			json_object_set(c->rb->site_vars, k->value, j);
			json_object_set_new(c->rb->vars, k->value, j);
			break;
		case VARS_PROFILE:
			json_object_set_new(into, k->value, j);
			break;
		}
	}
}

/* keys: documentation of sysctl keys for `netknobs explain` */
static void parse_keys(struct ctx *c, const struct ynode *map, const char *setname)
{
	static const char *const fields[] = { "summary", "default", "namespaced", "counters", "notes", NULL };

	if (map->type != YNODE_MAPPING) {
		err_at(c, map, "'keys' must be a mapping of sysctl key to its documentation, not %s",
		       ytree_type_name(map));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1], *f;
		char key[SYSCTL_KEY_MAX + 1];
		const char *why;
		struct key_doc d = { .namespaced = KEY_NS_UNKNOWN }, *nk;
		unsigned before = c->rb->errors;

		if (sysctl_key_parse(k->value, NULL, key, &why) < 0) {
			char *esc = escape_untrusted_str(k->value);

			err_at(c, k, "invalid sysctl key '%s' in keys: %s", esc ? esc : "?", why);
			free(esc);
			continue;
		}
		if (rulebook_key_doc(c->rb, key)) {
			const struct key_doc *o = rulebook_key_doc(c->rb, key);

			err_at(c, k, "key '%s' is already documented at %s:%u:%u", key, o->where.file,
			       o->where.line, o->where.col);
			continue;
		}
		if (v->type != YNODE_MAPPING) {
			err_at(c, v, "the documentation of '%s' must be a mapping (summary:, default:, ...)", key);
			continue;
		}
		check_keys(c, v, "a key's documentation", fields);
		if ((f = want(c, v, "summary", YNODE_SCALAR, true, key)))
			d.summary = text_of(c, f, "summary");
		if ((f = want(c, v, "default", YNODE_SCALAR, false, key)))
			d.default_text = text_of(c, f, "default");
		if ((f = want(c, v, "notes", YNODE_SCALAR, false, key)))
			d.notes = text_of(c, f, "notes");
		if ((f = want(c, v, "namespaced", YNODE_SCALAR, false, key))) {
			if (!strcmp(f->value, "true"))
				d.namespaced = KEY_NS_PER_NETNS;
			else if (!strcmp(f->value, "false") || !strcmp(f->value, "host-only"))
				d.namespaced = KEY_NS_HOST_ONLY;
			else if (!strcmp(f->value, "shared"))
				d.namespaced = KEY_NS_SHARED;
			else
				err_at(c, f, "'namespaced' must be true (each network namespace has its own value), "
				       "host-only (the initial namespace only) or shared (one host value seen everywhere)");
		}
		if ((f = ytree_get(v, "counters")))
			string_list(c, f, "counters", &d.counters, &d.ncounters, false);
		d.key = strdup(key);
		d.ruleset = setname;
		d.where = (struct origin){ c->file, k->line, k->col };
		if (c->rb->errors != before || !d.key ||
		    !(nk = realloc(c->rb->keys, (c->rb->nkeys + 1) * sizeof(*nk)))) {
			key_doc_free(&d);
			continue;
		}
		c->rb->keys = nk;
		nk[c->rb->nkeys++] = d;
	}
}

static void parse_profiles(struct ctx *c, const struct ynode *seq)
{
	static const char *const fields[] = { "name", "description", "rulesets", "variables", NULL };

	if (seq->type != YNODE_SEQUENCE) {
		err_at(c, seq, "'profiles' must be a list, not %s", ytree_type_name(seq));
		return;
	}
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *n = seq->kids[i], *f;
		struct profile p = { 0 }, *np;
		unsigned before = c->rb->errors;

		if (n->type != YNODE_MAPPING) {
			err_at(c, n, "a profile must be a mapping, not %s", ytree_type_name(n));
			continue;
		}
		check_keys(c, n, "a profile", fields);
		f = want(c, n, "name", YNODE_SCALAR, true, "profile");
		if (f && !valid_id(f->value, f->len))
			err_at(c, f, "profile name must be a lower-case word (a-z 0-9 - . _)");
		else if (f && rulebook_profile(c->rb, f->value))
			err_at(c, f, "profile '%s' is already defined at %s:%u", f->value,
			       rulebook_profile(c->rb, f->value)->where.file,
			       rulebook_profile(c->rb, f->value)->where.line);
		p.name = f ? strdup(f->value) : NULL;
		p.where = (struct origin){ c->file, f ? f->line : n->line, f ? f->col : n->col };
		if ((f = want(c, n, "description", YNODE_SCALAR, false, "profile")))
			p.description = text_of(c, f, "description");
		if ((f = want(c, n, "rulesets", YNODE_SEQUENCE, true, "profile")))
			string_list(c, f, "rulesets", &p.rulesets, &p.nrulesets, true);
		p.vars = json_object();
		if ((f = ytree_get(n, "variables")))
			parse_variables(c, f, VARS_PROFILE, p.vars);
		if (c->rb->errors != before || !p.name ||
		    !(np = realloc(c->rb->profiles, (c->rb->nprofiles + 1) * sizeof(*np)))) {
			profile_free(&p);
			continue;
		}
		c->rb->profiles = np;
		np[c->rb->nprofiles++] = p;
	}
}

/* The strings of a scalar or a list of scalars (match: of a table entry),
 * escaped as rule text is.  NULL after an error (reported). */
static json_t *table_patterns(struct ctx *c, const struct ynode *m)
{
	const struct ynode *one[1] = { m };
	const struct ynode *const *items = m->type == YNODE_SCALAR ? one : (const struct ynode *const *)m->kids;
	size_t n = m->type == YNODE_SCALAR ? 1 : m->n;
	json_t *list;

	if (m->type == YNODE_MAPPING || n == 0 || n > 64) {
		err_at(c, m, "'match' must be a pattern or a list of 1 to 64 patterns");
		return NULL;
	}
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		char *esc;

		if (items[i]->type != YNODE_SCALAR || items[i]->len == 0 || items[i]->len > 256 ||
		    strlen(items[i]->value) != items[i]->len) {
			err_at(c, items[i], "a pattern of 'match' must be text of 1 to 256 bytes (a glob "
			       "matched on the process name: nginx, python3*)");
			json_decref(list);
			return NULL;
		}
		esc = escape_untrusted(items[i]->value, items[i]->len);
		json_array_append_new(list, json_string(esc ? esc : ""));
		free(esc);
	}
	return list;
}

/* One entry of a table: name, match and scalar fields. */
static void parse_table_entry(struct ctx *c, const struct ynode *en, const char *table,
			      const struct ynode *tkey)
{
	struct table_entry e = { 0 };
	const struct ynode *name, *match;
	json_t *pats;

	if (en->type != YNODE_MAPPING) {
		err_at(c, en, "an entry of table '%s' must be a mapping (name:, match:, ...), not %s",
		       table, ytree_type_name(en));
		return;
	}
	name = want(c, en, "name", YNODE_SCALAR, true, "table entry");
	match = ytree_get(en, "match");
	if (!match)
		err_at(c, en, "table entry: missing required field 'match'");
	if (!name || !match)
		return;
	if (!valid_id(name->value, name->len)) {
		err_at(c, name, "an entry's name must be a lower-case word (a-z 0-9 - . _)");
		return;
	}
	if (!(pats = table_patterns(c, match)))
		return;
	e.table = strdup(table);
	e.name = strdup(name->value);
	e.json = json_pack("{s:s,s:o}", "name", name->value, "match", pats);
	e.where = (struct origin){ c->file, en->line, en->col };
	e.table_where = (struct origin){ c->file, tkey->line, tkey->col };
	e.fields = calloc(en->n / 2 + 1, sizeof(*e.fields));
	e.field_where = calloc(en->n / 2 + 1, sizeof(*e.field_where));
	if (!e.table || !e.name || !e.json || !e.fields || !e.field_where) {
		err_at(c, en, "out of memory");
		table_entry_free(&e);
		return;
	}
	for (size_t i = 0; i + 1 < en->n; i += 2) {
		const struct ynode *k = en->kids[i], *v = en->kids[i + 1];
		json_t *j;

		if (!strcmp(k->value, "name") || !strcmp(k->value, "match"))
			continue;
		if (!valid_var_name(k->value)) {
			char *esc = escape_untrusted_str(k->value);

			err_at(c, k, "invalid field name '%s': letters, digits and '_', not starting with a digit",
			       esc ? esc : "?");
			free(esc);
			continue;
		}
		if (v->type != YNODE_SCALAR) {
			err_at(c, v, "field '%s' of a table entry must be a scalar, not %s", k->value,
			       ytree_type_name(v));
			continue;
		}
		if (v->len > TEXT_MAX) {
			err_at(c, v, "'%s' is too long (%zu bytes; the limit is %d)", k->value, v->len, TEXT_MAX);
			continue;
		}
		if (!(j = scalar_json(c, v)))
			continue;
		json_object_set_new(e.json, k->value, j);
		e.field_where[e.nfields] = (struct origin){ c->file, k->line, k->col };
		e.fields[e.nfields++] = strdup(k->value);
	}
	tables_add_entry(c->rb, &e);
}

/* tables: NAME: {description, fields, entries}.  A rule set declares a
 * table with 'fields'; any file adds entries. */
static void parse_tables(struct ctx *c, const struct ynode *map, const char *setname)
{
	static const char *const fields[] = { "description", "fields", "entries", NULL };

	if (map->type != YNODE_MAPPING) {
		err_at(c, map, "'tables' must be a mapping of table name to table, not %s",
		       ytree_type_name(map));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *t = map->kids[i + 1], *f, *en;

		if (!expr_name_syntax(k->value, k->len)) {
			err_at(c, k, "invalid table name: letters, digits and '_', not starting with a digit");
			continue;
		}
		if (t->type != YNODE_MAPPING) {
			err_at(c, t, "table '%s' must be a mapping (fields:, entries:), not %s", k->value,
			       ytree_type_name(t));
			continue;
		}
		check_keys(c, t, "a table", fields);
		f = want(c, t, "fields", YNODE_SEQUENCE, false, "table");
		if (f && !setname) {
			err_at(c, f, "'fields' declares a table, which belongs in a rule set file (with "
			       "'ruleset'); other files add entries");
		} else if (f) {
			struct table_decl d = { 0 };
			const struct ynode *desc = want(c, t, "description", YNODE_SCALAR, false, "table");

			d.name = strdup(k->value);
			d.description = desc ? text_of(c, desc, "description") : NULL;
			d.where = (struct origin){ c->file, k->line, k->col };
			d.fields = calloc(f->n + 1, sizeof(*d.fields));
			for (size_t j = 0; d.fields && j < f->n; j++) {
				if (f->kids[j]->type != YNODE_SCALAR || !valid_var_name(f->kids[j]->value) ||
				    !strcmp(f->kids[j]->value, "name") || !strcmp(f->kids[j]->value, "match")) {
					err_at(c, f->kids[j], "a field of a table is a name (letters, digits "
					       "and '_'), other than name and match");
					continue;
				}
				d.fields[d.nfields++] = strdup(f->kids[j]->value);
			}
			if (d.name && d.fields)
				tables_declare(c->rb, &d);
			else
				table_decl_free(&d);
		} else if (ytree_get(t, "description")) {
			err_at(c, ytree_get(t, "description"), "'description' goes with 'fields', where the "
			       "table is declared");
		}
		if (!(en = want(c, t, "entries", YNODE_SEQUENCE, false, "table")))
			continue;
		for (size_t j = 0; j < en->n; j++)
			parse_table_entry(c, en->kids[j], k->value, k);
	}
}

/* YYYY-MM-DD, a day that exists (strptime() takes 2027-02-31). */
static bool valid_date(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, max;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	return d <= max;
}

static void parse_override(struct ctx *c, const struct ynode *n)
{
	static const char *const fields[] = { "rule", "enabled", "severity", NULL };
	const struct ynode *id, *en, *sev;
	struct pending_override po = { .enabled = -1, .severity = -1 };
	struct pending_override *np;
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		err_at(c, n, "an override must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	check_keys(c, n, "an override", fields);
	id = want(c, n, "rule", YNODE_SCALAR, true, "override");
	en = want(c, n, "enabled", YNODE_SCALAR, false, "override");
	sev = want(c, n, "severity", YNODE_SCALAR, false, "override");
	if (en) {
		if (!strcmp(en->value, "true"))
			po.enabled = 1;
		else if (!strcmp(en->value, "false"))
			po.enabled = 0;
		else
			err_at(c, en, "'enabled' must be true or false");
	}
	if (sev) {
		enum severity s;

		if (severity_parse(sev->value, &s) < 0)
			err_at(c, sev, "unknown severity (info, notice, warning, critical)");
		else
			po.severity = (int)s;
	}
	if (id && !en && !sev)
		err_at(c, n, "override of '%s' changes nothing: give 'enabled' or 'severity'", id->value);
	if (!id || c->rb->errors != before)
		return;
	po.rule_id = strdup(id->value);
	po.where = (struct origin){ c->file, id->line, id->col };
	np = realloc(c->rb->pending, (c->rb->npending + 1) * sizeof(*np));
	if (!np || !po.rule_id) {
		free(po.rule_id);
		return;
	}
	c->rb->pending = np;
	c->rb->pending[c->rb->npending++] = po;
}

static void parse_waiver(struct ctx *c, const struct ynode *n)
{
	static const char *const fields[] = { "rule", "subject", "reason", "expires", NULL };
	const struct ynode *id, *subj, *reason, *exp;
	struct waiver w = { 0 }, *nw;
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		err_at(c, n, "a waiver must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	check_keys(c, n, "a waiver", fields);
	id = want(c, n, "rule", YNODE_SCALAR, true, "waiver");
	subj = want(c, n, "subject", YNODE_SCALAR, false, "waiver");
	reason = want(c, n, "reason", YNODE_SCALAR, true, "waiver (a reason is mandatory)");
	exp = want(c, n, "expires", YNODE_SCALAR, false, "waiver");
	if (reason && reason->len == 0)
		err_at(c, reason, "the waiver's reason must not be empty");
	if (exp && !valid_date(exp->value))
		err_at(c, exp, "'expires' must be a date YYYY-MM-DD that exists");
	if (subj)
		text_safe(c, subj, "subject", false);
	if (!id || !reason || c->rb->errors != before)
		return;
	w.rule_id = strdup(id->value);
	w.subject = subj ? strdup(subj->value) : NULL;
	w.reason = text_of(c, reason, "reason");
	if (exp)
		memcpy(w.expires, exp->value, 11);
	w.where = (struct origin){ c->file, id->line, id->col };
	nw = realloc(c->rb->waivers, (c->rb->nwaivers + 1) * sizeof(*nw));
	if (!nw) {
		free(w.rule_id);
		free(w.subject);
		free(w.reason);
		return;
	}
	c->rb->waivers = nw;
	c->rb->waivers[c->rb->nwaivers++] = w;
}

static const char *remember_file(struct rulebook *rb, const char *name)
{
	char **nf = realloc(rb->files, (rb->nfiles + 1) * sizeof(*nf));

	if (!nf)
		return name;
	rb->files = nf;
	rb->files[rb->nfiles] = strdup(name);
	return rb->files[rb->nfiles] ? rb->files[rb->nfiles++] : name;
}

static void load_tree(struct ctx *c, const struct ynode *root)
{
	static const char *const top[] = {
		"ruleset", "version", "description", "default", "variables", "rules", "keys",
		"override", "waive", "profiles", "tables", NULL,
	};
	const struct ynode *name, *ver, *rules, *v;
	const char *setname = NULL;

	if (root->type != YNODE_MAPPING) {
		err_at(c, root, "a rule file must be a mapping (ruleset:, rules: ... or override:, waive:, variables:), not %s",
		       ytree_type_name(root));
		return;
	}
	check_keys(c, root, "the file", top);
	name = want(c, root, "ruleset", YNODE_SCALAR, false, "file");
	rules = ytree_get(root, "rules");
	if (rules && !name)
		err_at(c, rules, "'rules' needs a 'ruleset' name in the same file");
	if (name) {
		struct ruleset_info *ns;
		long long version = 0;

		if (!valid_id(name->value, name->len))
			err_at(c, name, "rule set name must be a lower-case word (a-z 0-9 - . _)");
		ver = want(c, root, "version", YNODE_SCALAR, true, "rule set");
		if (ver) {
			char *end;

			errno = 0;
			version = strtoll(ver->value, &end, 10);
			if (*end || end == ver->value || errno || version < 0)
				err_at(c, ver, "'version' must be a non-negative integer");
		}
		for (size_t i = 0; i < c->rb->nsets; i++)
			if (!strcmp(c->rb->sets[i].name, name->value)) {
				err_at(c, name, "rule set '%s' is already loaded from %s", name->value,
				       c->rb->sets[i].file);
				break;
			}
		ns = realloc(c->rb->sets, (c->rb->nsets + 1) * sizeof(*ns));
		if (ns) {
			c->rb->sets = ns;
			ns[c->rb->nsets].name = strdup(name->value);
			ns[c->rb->nsets].version = version;
			v = want(c, root, "description", YNODE_SCALAR, false, "rule set");
			ns[c->rb->nsets].description = v ? text_of(c, v, "description") : NULL;
			ns[c->rb->nsets].opt_in = false;
			v = want(c, root, "default", YNODE_SCALAR, false, "rule set");
			if (v && !strcmp(v->value, "false"))
				ns[c->rb->nsets].opt_in = true;
			else if (v && strcmp(v->value, "true") != 0)
				err_at(c, v, "'default' must be true or false (false: the rule set runs only when a profile, --only or --rule selects it)");
			ns[c->rb->nsets].file = c->file;
			setname = ns[c->rb->nsets].name;
			c->rb->nsets++;
		}
		if (!rules)
			err_at(c, root, "rule set '%s' has no 'rules'", name->value);
	}
	if ((v = ytree_get(root, "variables")))
		parse_variables(c, v, name ? VARS_DEFAULT : VARS_SITE, NULL);
	if ((v = ytree_get(root, "keys"))) {
		if (!setname)
			err_at(c, v, "'keys' belongs in a rule set file (with 'ruleset')");
		else
			parse_keys(c, v, setname);
	}
	if ((v = ytree_get(root, "profiles")))
		parse_profiles(c, v);
	if ((v = ytree_get(root, "tables")))
		parse_tables(c, v, setname);
	if (rules && setname) {
		if (rules->type != YNODE_SEQUENCE)
			err_at(c, rules, "'rules' must be a list, not %s", ytree_type_name(rules));
		else
			for (size_t i = 0; i < rules->n; i++)
				parse_rule(c, rules->kids[i], setname);
	}
	if ((v = ytree_get(root, "override"))) {
		if (v->type != YNODE_SEQUENCE)
			err_at(c, v, "'override' must be a list, not %s", ytree_type_name(v));
		else
			for (size_t i = 0; i < v->n; i++)
				parse_override(c, v->kids[i]);
	}
	if ((v = ytree_get(root, "waive"))) {
		if (v->type != YNODE_SEQUENCE)
			err_at(c, v, "'waive' must be a list, not %s", ytree_type_name(v));
		else
			for (size_t i = 0; i < v->n; i++)
				parse_waiver(c, v->kids[i]);
	}
}

void rulebook_load_buffer(struct rulebook *rb, const char *name, const char *buf, size_t len)
{
	struct ctx c = { rb, remember_file(rb, name) };
	int empty;
	struct ynode *root = ytree_load_buffer(c.file, buf, len, &empty);

	if (!root) {
		if (empty) {
			log_syntax(c.file, 0, 0, "empty file: no rule set and no overrides");
		}
		rb->errors++;
		return;
	}
	load_tree(&c, root);
	ytree_free(root);
}

/* The same file a second time (by device and inode): true.  Otherwise it
 * is remembered. */
static bool loaded_before_st(struct rulebook *rb, const struct stat *stp)
{
	struct rule_file_id *n;
	struct stat st = *stp;

	for (size_t i = 0; i < rb->nfile_ids; i++)
		if (rb->file_ids[i].dev == st.st_dev && rb->file_ids[i].ino == st.st_ino)
			return true;
	n = realloc(rb->file_ids, (rb->nfile_ids + 1) * sizeof(*n));
	if (n) {
		rb->file_ids = n;
		n[rb->nfile_ids++] = (struct rule_file_id){ st.st_dev, st.st_ino };
	}
	return false;
}

static bool loaded_before(struct rulebook *rb, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && loaded_before_st(rb, &st);
}

void rulebook_load_file(struct rulebook *rb, const char *path)
{
	struct ctx c;
	int empty;
	struct ynode *root;

	if (loaded_before(rb, path))
		return;
	c = (struct ctx){ rb, remember_file(rb, path) };
	root = ytree_load_file(c.file, &empty);

	if (!root) {
		if (empty)
			log_syntax(c.file, 0, 0, "empty file: no rule set and no overrides");
		rb->errors++;
		return;
	}
	load_tree(&c, root);
	ytree_free(root);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool yaml_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml")));
}

int rulebook_load_dir(struct rulebook *rb, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		int e = errno;

		if (e == ENOENT)
			return -ENOENT;
		log_syntax(dir, 0, 0, "cannot read the directory: %s", strerror(e));
		rb->errors++;
		return -e;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!yaml_name(de->d_name))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		rulebook_load_file(rb, names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

void rulebook_load_path(struct rulebook *rb, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		log_syntax(path, 0, 0, "cannot read: %s", strerror(errno));
		rb->errors++;
		return;
	}
	if (S_ISDIR(st.st_mode))
		rulebook_load_dir(rb, path);
	else
		rulebook_load_file(rb, path);
}

void rulebook_init(struct rulebook *rb)
{
	time_t now = time(NULL);
	struct tm tm;
	const char *fake = getenv("NETKNOBS_TODAY"); /* fixed date for tests */

	memset(rb, 0, sizeof(*rb));
	rb->vars = json_object();
	rb->site_vars = json_object();
	rb->default_vars = json_object();
	if (fake && valid_date(fake)) {
		memcpy(rb->today, fake, 11);
	} else {
		gmtime_r(&now, &tm);
		strftime(rb->today, sizeof(rb->today), "%Y-%m-%d", &tm);
	}
}

void rulebook_free(struct rulebook *rb)
{
	for (size_t i = 0; i < rb->nrules; i++)
		rule_free(&rb->rules[i]);
	free(rb->rules);
	free(rb->id_index);
	for (size_t i = 0; i < rb->nsets; i++) {
		free(rb->sets[i].name);
		free(rb->sets[i].description);
	}
	free(rb->sets);
	for (size_t i = 0; i < rb->nwaivers; i++) {
		free(rb->waivers[i].rule_id);
		free(rb->waivers[i].subject);
		free(rb->waivers[i].reason);
	}
	free(rb->waivers);
	for (size_t i = 0; i < rb->npending; i++)
		free(rb->pending[i].rule_id);
	free(rb->pending);
	for (size_t i = 0; i < rb->nfiles; i++)
		free(rb->files[i]);
	free(rb->files);
	json_decref(rb->vars);
	json_decref(rb->site_vars);
	json_decref(rb->default_vars);
	free(rb->file_ids);
	for (size_t i = 0; i < rb->nkeys; i++)
		key_doc_free(&rb->keys[i]);
	free(rb->keys);
	for (size_t i = 0; i < rb->nprofiles; i++)
		profile_free(&rb->profiles[i]);
	free(rb->profiles);
	tables_free(rb);
	memset(rb, 0, sizeof(*rb));
}

static const struct rule *find_rule_in(const struct rulebook *rb, const char *id)
{
	size_t i = id_lookup(rb, id);

	return i == (size_t)-1 ? NULL : &rb->rules[i];
}

static struct rule *find_rule(struct rulebook *rb, const char *id)
{
	size_t i = id_lookup(rb, id);

	return i == (size_t)-1 ? NULL : &rb->rules[i];
}

static void unknown_rule(struct rulebook *rb, const char *id, const struct origin *w, const char *what)
{
	const char **ids = malloc((rb->nrules + 1) * sizeof(*ids));
	const char *s = NULL;
	char *esc = escape_untrusted_str(id);

	if (ids) {
		for (size_t i = 0; i < rb->nrules; i++)
			ids[i] = rb->rules[i].id;
		s = suggest_closest(id, ids, rb->nrules);
	}
	log_syntax(w->file, w->line, w->col, "%s names unknown rule '%s'%s%s%s", what, esc ? esc : "?",
		   s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	free(esc);
	free(ids);
	rb->errors++;
}

void rulebook_finish(struct rulebook *rb)
{
	tables_finish(rb);
	for (size_t i = 0; i < rb->npending; i++) {
		struct pending_override *p = &rb->pending[i];
		struct rule *r = find_rule(rb, p->rule_id);

		if (!r) {
			unknown_rule(rb, p->rule_id, &p->where, "override");
			continue;
		}
		if (p->enabled >= 0)
			r->state = p->enabled ? RULE_ENABLED : RULE_DISABLED;
		if (p->severity >= 0)
			r->severity = (enum severity)p->severity;
		r->state_where = p->where;
	}
	for (size_t i = 0; i < rb->nwaivers; i++) {
		struct waiver *w = &rb->waivers[i];

		if (!find_rule(rb, w->rule_id))
			unknown_rule(rb, w->rule_id, &w->where, "waiver");
		w->expired = w->expires[0] && strcmp(w->expires, rb->today) < 0;
	}
}

struct keys_ctx {
	int (*fn)(const char *key, void *data);
	void *data;
};

static int each_expr_keys(const struct expr *e, struct keys_ctx *k)
{
	return e ? expr_sysctl_keys(e, k->fn, k->data) : 0;
}

int rule_sysctl_keys(const struct rule *ru, int (*fn)(const char *key, void *data), void *data)
{
	struct keys_ctx k = { fn, data };
	int r;

	if ((r = each_expr_keys(ru->foreach, &k)) || (r = each_expr_keys(ru->applies, &k)) ||
	    (r = each_expr_keys(ru->check, &k)) || (r = each_expr_keys(ru->observed, &k)))
		return r;
	for (size_t j = 0; j < ru->nlets; j++)
		if ((r = each_expr_keys(ru->lets[j], &k)))
			return r;
	for (size_t j = 0; j < ru->nrecs; j++) {
		/* the current value of a recommended key is always shown */
		if ((r = fn(ru->recs[j].key, data)) || (r = each_expr_keys(ru->recs[j].value, &k)))
			return r;
	}
	for (size_t j = 0; j < ru->message.n; j++)
		if ((r = each_expr_keys(ru->message.parts[j].expr, &k)))
			return r;
	for (size_t j = 0; j < ru->subject.n; j++)
		if ((r = each_expr_keys(ru->subject.parts[j].expr, &k)))
			return r;
	return 0;
}

int rulebook_sysctl_keys(const struct rulebook *rb, int (*fn)(const char *key, void *data), void *data)
{
	int r;

	for (size_t i = 0; i < rb->nrules; i++)
		if ((r = rule_sysctl_keys(&rb->rules[i], fn, data)))
			return r;
	return 0;
}

void rulebook_load_embedded(struct rulebook *rb)
{
	for (size_t i = 0; embedded_rules[i].name; i++) {
		char name[256];

		snprintf(name, sizeof(name), "<built-in>/%s", embedded_rules[i].name);
		rulebook_load_buffer(rb, name, embedded_rules[i].data, embedded_rules[i].len);
	}
}

/* One file of a directory below a root, its links resolved inside the
 * root (fileio.h); display names it in messages. */
static void load_file_in_root(struct rulebook *rb, const struct nk_root *root, const char *rel,
			      const char *display)
{
	struct stat st;
	char *buf = NULL;
	size_t len;
	int fd = root_open_in(root, rel, O_RDONLY | O_NONBLOCK), r;

	if (fd < 0) {
		r = fd;
	} else if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -FILEIO_ENOTREG;
	} else if (loaded_before_st(rb, &st)) {
		close(fd);
		return;
	} else {
		r = (uintmax_t)st.st_size > YTREE_MAX_FILE ? -EFBIG : read_fd_all(fd, YTREE_MAX_FILE, &buf, &len);
	}
	if (fd >= 0)
		close(fd);
	if (r == -EFBIG)
		log_syntax(display, 0, 0, "file too large (the limit is %u MiB)", YTREE_MAX_FILE >> 20);
	else if (r < 0)
		log_syntax(display, 0, 0, "cannot read: %s", fileio_strerror(-r));
	if (r < 0) {
		rb->errors++;
		return;
	}
	rulebook_load_buffer(rb, display, buf, len);
	free(buf);
}

/* rulebook_load_dir() for the directory rel below a root other than "/":
 * the directory and every file in it are opened with their links resolved
 * inside the root, so that a link in an image (rules.d -> /etc, x.yaml ->
 * /etc/shadow) cannot make netknobs read this host's files. */
static int load_dir_in_root(struct rulebook *rb, const struct nk_root *root, const char *rel)
{
	char *display = NULL, **names = NULL;
	size_t n = 0;
	DIR *d = NULL;
	struct dirent *de;
	int fd = root_open_dir(root, rel), r = 0;

	if (asprintf(&display, "%s/%s", root->path, rel) < 0) {
		display = NULL;
		r = -ENOMEM;
	} else if (fd == -ENOENT) {
		r = -ENOENT;
	} else if (fd < 0 || !(d = fdopendir(fd))) {
		r = fd < 0 ? fd : -errno;
		log_syntax(display, 0, 0, "cannot read the directory: %s", strerror(-r));
		rb->errors++;
	}
	if (!d) {
		if (fd >= 0)
			close(fd);
		free(display);
		return r;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!yaml_name(de->d_name))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path = NULL, *shown = NULL;

		if (asprintf(&path, "%s/%s", rel, names[i]) >= 0 &&
		    asprintf(&shown, "%s/%s", display, names[i]) >= 0)
			load_file_in_root(rb, root, path, shown);
		else
			rb->errors++;
		free(path);
		free(shown);
		free(names[i]);
	}
	free(names);
	free(display);
	return 0;
}

/* A directory of the standard sources: below --root, confined to it. */
static int load_standard_dir(struct rulebook *rb, const struct nk_root *root, const char *path)
{
	if (!root)
		return rulebook_load_dir(rb, path);
	/* a root that cannot be opened is said so where the facts are read */
	return root->dirfd < 0 ? -ENOENT : load_dir_in_root(rb, root, path + 1);
}

void rulebook_load_standard(struct rulebook *rb, const char *root, const char *const *extra,
			    size_t nextra, bool no_defaults)
{
	char dir[4096];
	struct nk_root nr = { .dirfd = -1 }, *rp = NULL;

	if (root && strcmp(root, "/")) {
		rp = &nr;
		root_open(&nr, root);
	}
	if (!no_defaults) {
		size_t before = rb->nfiles;

		snprintf(dir, sizeof(dir), "%s/rules", PKGDATADIR);
		if (load_standard_dir(rb, rp, dir) == -ENOENT || rb->nfiles == before)
			rulebook_load_embedded(rb);
	}
	snprintf(dir, sizeof(dir), "%s/netknobs/rules.d", SYSCONFDIR);
	load_standard_dir(rb, rp, dir);
	if (rp)
		root_close(&nr);
	for (size_t i = 0; i < nextra; i++)
		rulebook_load_path(rb, extra[i]);
	rulebook_finish(rb);
}

const struct rule *rulebook_rule(const struct rulebook *rb, const char *id)
{
	return find_rule_in(rb, id);
}

/* What choosing the profile needs: its rule sets loaded, its variables
 * defined by a rule set and of the same type.  Returns 0 or -ENOENT
 * (reported and counted). */
static int profile_check(struct rulebook *rb, const struct profile *p)
{
	struct ctx c = { rb, p->where.file };
	struct ynode at = { .line = p->where.line, .col = p->where.col };
	const char *key;
	json_t *v;
	int bad = 0;

	for (size_t i = 0; i < p->nrulesets; i++) {
		bool found = false;

		for (size_t j = 0; j < rb->nsets; j++)
			if (!strcmp(rb->sets[j].name, p->rulesets[i]))
				found = true;
		if (!found) {
			err_at(&c, &at, "profile '%s' names rule set '%s', which is not loaded", p->name,
			       p->rulesets[i]);
			bad = 1;
		}
	}
	/* a variable no rule set defines is a typo, not a setting */
	json_object_foreach(p->vars, key, v) {
		const json_t *def = json_object_get(rb->default_vars, key);

		at.value = (char *)key;
		if (!def) {
			err_at(&c, &at, "profile '%s' sets variable '%s', which no loaded rule set defines", p->name,
			       key);
			bad = 1;
		} else if (var_type_check(&c, &at, v, def, NULL) < 0) {
			bad = 1;
		}
	}
	return bad ? -ENOENT : 0;
}

void rulebook_check_profiles(struct rulebook *rb)
{
	for (size_t i = 0; i < rb->nprofiles; i++)
		profile_check(rb, &rb->profiles[i]);
}

int rulebook_use_profile(struct rulebook *rb, const char *name)
{
	const struct profile *p = rulebook_profile(rb, name);
	const char *key;
	json_t *v;

	if (!p) {
		const char **names = malloc((rb->nprofiles + 1) * sizeof(*names));
		const char *s = NULL;

		if (names) {
			for (size_t i = 0; i < rb->nprofiles; i++)
				names[i] = rb->profiles[i].name;
			s = suggest_closest(name, names, rb->nprofiles);
		}
		log_error("no profile named '%s'%s%s%s (see 'netknobs profiles')", name,
			  s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
		free(names);
		return -ENOENT;
	}
	if (profile_check(rb, p) < 0)
		return -ENOENT;
	json_object_foreach(p->vars, key, v)
		if (!json_object_get(rb->site_vars, key))
			json_object_set(rb->vars, key, v);
	rb->profile = p;
	return 0;
}

bool rulebook_rule_default(const struct rulebook *rb, const struct rule *r)
{
	if (rb->profile) {
		for (size_t i = 0; i < rb->profile->nrulesets; i++)
			if (!strcmp(rb->profile->rulesets[i], r->ruleset))
				return true;
		return false;
	}
	for (size_t i = 0; i < rb->nsets; i++)
		if (!strcmp(rb->sets[i].name, r->ruleset))
			return !rb->sets[i].opt_in;
	return true;
}
