/* Loading one rule: its fields, its expressions and message templates,
 * its lets, its recommendations, and its id in the rule book. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facts/sysctl.h"
#include "rules/load-int.h"
#include "rules/rules.h"
#include "rules/ytree.h"
#include "util/array.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/suggest.h"

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

static const char *const unit_names[UNIT_COUNT_] = {
	[UNIT_COUNT] = "count", [UNIT_SETTING] = "setting", [UNIT_PERCENT] = "percent",
	[UNIT_BYTES] = "bytes", [UNIT_PAGES] = "pages", [UNIT_MS] = "ms", [UNIT_SECONDS] = "seconds",
	[UNIT_PACKETS] = "packets", [UNIT_DATAGRAMS] = "datagrams", [UNIT_CONNECTIONS] = "connections",
	[UNIT_SOCKETS] = "sockets", [UNIT_DESCRIPTORS] = "descriptors", [UNIT_TEXT] = "text",
};

const char *unit_name(enum unit u)
{
	return u < UNIT_COUNT_ ? unit_names[u] : "?";
}

int unit_parse(const char *s, enum unit *out)
{
	for (int i = 0; i < UNIT_COUNT_; i++)
		if (!strcmp(s, unit_names[i])) {
			*out = (enum unit)i;
			return 0;
		}
	return -EINVAL;
}

/* unit: one of unit_names; absent: a setting for an observed value that is
 * a sysctl() read, a count otherwise. */
static void parse_unit(struct load_ctx *c, const struct ynode *n, struct rule *r)
{
	const struct ynode *v = load_want(c, n, "unit", YNODE_SCALAR, false, "rule");

	r->unit = r->observed && expr_reads_sysctl(r->observed) ? UNIT_SETTING : UNIT_COUNT;
	if (!v)
		return;
	if (!ytree_get(n, "observed")) {
		load_err(c, v, "'unit' says what the observed value counts: the rule has no 'observed'");
	} else if (unit_parse(v->value, &r->unit) < 0) {
		const char *s = suggest_closest(v->value, unit_names, UNIT_COUNT_);
		char *esc = escape_untrusted_str(v->value);

		load_err(c, v, "unknown unit '%s'%s%s%s (count, setting, percent, bytes, pages, ms, seconds, "
			 "packets, datagrams, connections, sockets, descriptors, text)",
			 esc ? esc : "?", s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
		free(esc);
	}
}

static const char *const rec_mode_names[] = {
	[REC_AT_LEAST] = "at-least", [REC_AT_MOST] = "at-most", [REC_EXACT] = "exact",
};

const char *rec_mode_name(enum rec_mode m)
{
	return m <= REC_EXACT ? rec_mode_names[m] : "?";
}

int rec_mode_parse(const char *s, enum rec_mode *out)
{
	for (int i = 0; i <= REC_EXACT; i++)
		if (!strcmp(s, rec_mode_names[i])) {
			*out = (enum rec_mode)i;
			return 0;
		}
	return -EINVAL;
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
static int parse_template(struct load_ctx *c, const struct ynode *n, const char *field,
			  const struct expr_scope *scope, struct template *t)
{
	const char *s = n->value;
	size_t len = n->len, i = 0;
	char *lit;
	size_t ll = 0;
	int ret = 0;

	if (n->type != YNODE_SCALAR) {
		load_err(c, n, "'%s' must be text, not %s", field, ytree_type_name(n));
		return -EINVAL;
	}
	if (len > TEXT_MAX) {
		load_err(c, n, "'%s' is too long (%zu bytes; the limit is %d)", field, len, TEXT_MAX);
		return -EINVAL;
	}
	/* a message may have lines; a subject is one */
	if (load_text_safe(c, n, field, strcmp(field, "subject") != 0) < 0)
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
			load_expr_err(c, n, field, &e);
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
				load_expr_err(c, n, field, &e);
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
				load_expr_err(c, n, field, &e);
				ret = -EINVAL;
				break;
			}
			load_note_lookups(c, n, x, (unsigned)(i + 1));
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

void load_rule_free(struct rule *r)
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

bool load_valid_id(const char *s, size_t len)
{
	if (len == 0 || len > RULE_ID_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

int load_string_list(struct load_ctx *c, const struct ynode *n, const char *field, char ***out,
		       size_t *nout, bool words)
{
	char **v;

	if (n->type != YNODE_SEQUENCE) {
		load_err(c, n, "'%s' must be a list, not %s", field, ytree_type_name(n));
		return -EINVAL;
	}
	v = calloc(n->n ? n->n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->kids[i];

		if (k->type != YNODE_SCALAR) {
			load_err(c, k, "items of '%s' must be scalars, not %s", field, ytree_type_name(k));
			goto bad;
		}
		if (words && !load_valid_id(k->value, k->len)) {
			char *esc = escape_untrusted_str(k->value);

			load_err(c, k, "tag '%s' must be a lower-case word (a-z 0-9 - . _)", esc ? esc : "?");
			free(esc);
			goto bad;
		}
		v[i] = load_line(c, k, field);
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

static int parse_recommend(struct load_ctx *c, struct rule *r, const struct ynode *map,
			   const struct expr_scope *scope)
{
	static const char *const rec_fields[] = { "value", "mode", "note", NULL };
	int bad = 0;

	if (map->type != YNODE_MAPPING) {
		load_err(c, map, "'recommend' must be a mapping of sysctl key to value, not %s",
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

			load_err(c, k, "invalid sysctl key '%s' in recommend: %s", esc ? esc : "?", why);
			free(esc);
			bad = 1;
			continue;
		}
		rec->mode = REC_AT_LEAST;
		if (v->type == YNODE_MAPPING) {
			const struct ynode *m;

			if (load_check_keys(c, v, "a recommendation", rec_fields) < 0) {
				bad = 1;
				continue;
			}
			vn = load_want(c, v, "value", YNODE_SCALAR, true, "recommendation");
			m = load_want(c, v, "mode", YNODE_SCALAR, false, "recommendation");
			nn = load_want(c, v, "note", YNODE_SCALAR, false, "recommendation");
			if (!vn) {
				bad = 1;
				continue;
			}
			if (m && rec_mode_parse(m->value, &rec->mode) < 0) {
				load_err(c, m, "mode must be at-least, at-most or exact");
				bad = 1;
				continue;
			}
		}
		snprintf(field, sizeof(field), "recommend.%s", key);
		rec->value = load_expr(c, vn, field, scope);
		if (!rec->value) {
			bad = 1;
			continue;
		}
		/* the note last: nothing can fail after it */
		if (nn && !(note = load_text(c, nn, "note"))) {
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
size_t load_rule_index(const struct rulebook *rb, const char *id)
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

static void add_rule(struct load_ctx *c, struct rule *r)
{
	struct rulebook *rb = c->rb;
	size_t dup = load_rule_index(rb, r->id);

	if (dup != (size_t)-1) {
		log_syntax(c->file, r->where.line, r->where.col,
			   "duplicate rule id '%s' (first defined at %s:%u:%u)", r->id,
			   rb->rules[dup].where.file, rb->rules[dup].where.line, rb->rules[dup].where.col);
		rb->errors++;
		load_rule_free(r);
		return;
	}
	if (ARRAY_GROW(rb->rules, rb->rules_cap, rb->nrules, 32) < 0) {
		load_rule_free(r);
		rb->errors++;
		return;
	}
	rb->rules[rb->nrules] = *r;
	if (id_insert(rb, rb->nrules) < 0) {
		load_rule_free(&rb->rules[rb->nrules]);
		rb->errors++;
		return;
	}
	rb->nrules++;
}

/* let: NAME: EXPR, in order; each expression sees the foreach item and the
 * names before it.  names and scope hold the item's name (when the rule has
 * a foreach) and get the lets' names.  Returns 0, or -1 after an error. */
static int parse_lets(struct load_ctx *c, struct rule *r, const struct ynode *map, const char **names,
		      struct expr_scope *scope)
{
	size_t n = map->type == YNODE_MAPPING ? map->n / 2 : 0, base = scope->n_names;

	if (map->type != YNODE_MAPPING) {
		load_err(c, map, "'let' must be a mapping of name to expression, not %s", ytree_type_name(map));
		return -1;
	}
	if (base + n > EXPR_MAX_NAMES) {
		load_err(c, map, "'let' binds %zu names; a rule may bind at most %d with its foreach item", n,
		       EXPR_MAX_NAMES - (int)base);
		return -1;
	}
	r->let_names = calloc(n + 1, sizeof(*r->let_names));
	r->lets = calloc(n + 1, sizeof(*r->lets));
	if (!r->let_names || !r->lets) {
		load_err(c, map, "out of memory");
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
			load_err(c, k, "invalid name '%s' in 'let': %s", esc ? esc : "?", why);
			free(esc);
			return -1;
		}
		r->lets[i] = load_expr(c, e, "let", scope);
		r->let_names[i] = strdup(k->value);
		r->nlets = i + 1;
		if (!r->lets[i] || !r->let_names[i])
			return -1;
		names[scope->n_names++] = r->let_names[i];
	}
	return 0;
}

void load_rule(struct load_ctx *c, const struct ynode *n, const char *setname)
{
	static const char *const fields[] = {
		"id", "title", "severity", "tags", "foreach", "let", "applies", "check", "observed",
		"unit", "subject", "message", "recommend", "rationale", "risk", "references", NULL,
	};
	struct rule r = { 0 };
	const struct ynode *id, *v;
	struct expr_scope scope = { 0 }, *sc = NULL;
	const char *names[EXPR_MAX_NAMES];
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		load_err(c, n, "a rule must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	load_check_keys(c, n, "a rule", fields);
	r.where = (struct origin){ c->file, n->line, n->col };
	r.ruleset = setname;
	id = load_want(c, n, "id", YNODE_SCALAR, true, "rule");
	if (id && !load_valid_id(id->value, id->len)) {
		char *esc = escape_untrusted_str(id->value);

		load_err(c, id, "rule id '%s' must be 1-%d characters of a-z 0-9 - . _, starting with a letter or digit",
		       esc ? esc : "?", RULE_ID_MAX);
		free(esc);
		id = NULL;
	}
	r.id = id ? strdup(id->value) : NULL;
	if (id)
		r.where = (struct origin){ c->file, id->line, id->col };

	if ((v = load_want(c, n, "title", YNODE_SCALAR, true, "rule")))
		r.title = load_line(c, v, "title");
	if ((v = load_want(c, n, "rationale", YNODE_SCALAR, true, "rule")))
		r.rationale = load_text(c, v, "rationale");
	if ((v = load_want(c, n, "risk", YNODE_SCALAR, false, "rule")))
		r.risk = load_text(c, v, "risk");
	if ((v = load_want(c, n, "severity", YNODE_SCALAR, true, "rule"))) {
		if (severity_parse(v->value, &r.severity) < 0) {
			const char *s = suggest_closest(v->value, severity_names, SEV_COUNT);
			char *esc = escape_untrusted_str(v->value);

			load_err(c, v, "unknown severity '%s'%s%s%s (info, notice, warning, critical)",
			       esc ? esc : "?", s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
			free(esc);
		}
		r.default_severity = r.severity;
	}
	if ((v = ytree_get(n, "tags")))
		load_string_list(c, v, "tags", &r.tags, &r.ntags, true);
	if ((v = ytree_get(n, "references")))
		load_string_list(c, v, "references", &r.refs, &r.nrefs, false);

	if ((v = load_want(c, n, "foreach", YNODE_SCALAR, false, "rule"))) {
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
			load_err(c, v, "foreach must read 'NAME in COLLECTION' (e.g. 'listener in listeners')%s%s",
			       why ? ": " : "", why ? why : "");
		} else {
			struct expr_error e = { 0 };

			p += 3;
			r.foreach = expr_parse(p, strlen(p), NULL, &e);
			if (!r.foreach) {
				if (e.line <= 1)
					e.col += (unsigned)(p - s);
				load_expr_err(c, v, "foreach", &e);
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
		r.applies = load_expr(c, v, "applies", sc);
	if ((v = load_want(c, n, "check", YNODE_SCALAR, true, "rule")))
		r.check = load_expr(c, v, "check", sc);
	if ((v = ytree_get(n, "observed")))
		r.observed = load_expr(c, v, "observed", sc);
	parse_unit(c, n, &r);
	if ((v = load_want(c, n, "message", YNODE_SCALAR, true, "rule")))
		parse_template(c, v, "message", sc, &r.message);
	if ((v = ytree_get(n, "subject")))
		parse_template(c, v, "subject", sc, &r.subject);
	else if (r.foreach)
		load_err(c, n, "rule '%s': a foreach rule needs a 'subject' naming each item (e.g. \"{%s.address}:{%s.port}\")",
		       r.id ? r.id : "?", r.foreach_name, r.foreach_name);
	if ((v = ytree_get(n, "recommend")))
		parse_recommend(c, &r, v, sc);

	if (c->rb->errors != before || !r.id) {
		load_rule_free(&r);
		return;
	}
	add_rule(c, &r);
}
