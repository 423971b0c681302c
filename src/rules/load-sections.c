/* Loading the sections of a rule file besides its rules: variables (of
 * a rule set, a site or a profile), the documentation of sysctl keys,
 * profiles, lookup tables, overrides and waivers. */
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
#include "util/escape.h"
#include "util/log.h"
#include "util/suggest.h"

void load_key_doc_free(struct key_doc *d)
{
	free(d->key);
	free(d->summary);
	free(d->default_text);
	free(d->notes);
	for (size_t i = 0; i < d->ncounters; i++)
		free(d->counters[i]);
	free(d->counters);
}

void load_profile_free(struct profile *p)
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

static const struct profile *profile_find(const struct rulebook *rb, const char *name)
{
	for (size_t i = 0; i < rb->nprofiles; i++)
		if (!strcmp(rb->profiles[i].name, name))
			return &rb->profiles[i];
	return NULL;
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
static json_t *scalar_json(struct load_ctx *c, const struct ynode *n)
{
	long long v;
	char *end;
	const char *non = yaml_non_value(n);

	if (non) {
		char *esc = escape_untrusted(n->value, n->len);

		load_err(c, n, "'%s' is %s, not a value netknobs can use: write an integer, true or false, "
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
					load_err(c, n, "integer out of range (signed 64-bit)");
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
static int var_type_check(struct load_ctx *c, const struct ynode *k, const json_t *v, const json_t *def,
			  const char *site_is)
{
	const char *a = json_kind(v), *b = json_kind(def);

	if (!strcmp(a, b) && json_is_array(v) && json_array_size(def)) {
		size_t i;
		const json_t *e;

		json_array_foreach(v, i, e)
			if (strcmp(json_kind(e), json_kind(json_array_get(def, 0))) != 0) {
				load_err(c, k, "variable '%s': each item must be %s, as in its rule set's default, not %s",
				       k->value, json_kind(json_array_get(def, 0)), json_kind(e));
				return -EINVAL;
			}
		return 0;
	}
	if (!strcmp(a, b))
		return 0;
	if (site_is)
		load_err(c, k, "variable '%s' is %s here, but %s %s", k->value, b, site_is, a);
	else
		load_err(c, k, "variable '%s' must be %s, as its rule set defines it, not %s", k->value, b, a);
	return -EINVAL;
}

/* Rule-set defaults never override a site value (whatever the file order);
 * a profile's values sit between the two (rulebook_use_profile). */
void load_variables(struct load_ctx *c, const struct ynode *map, enum vars_kind kind, json_t *into)
{
	if (map->type != YNODE_MAPPING) {
		load_err(c, map, "'variables' must be a mapping of name to value, not %s", ytree_type_name(map));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		json_t *j;

		if (!valid_var_name(k->value)) {
			char *esc = escape_untrusted_str(k->value);

			load_err(c, k, "invalid variable name '%s': letters, digits and '_', not starting with a digit",
			       esc ? esc : "?");
			free(esc);
			continue;
		}
		if (v->type == YNODE_MAPPING) {
			load_err(c, v, "variable '%s' must be a scalar or a list, not a mapping", k->value);
			continue;
		}
		if (v->type == YNODE_SEQUENCE) {
			j = json_array();
			for (size_t e = 0; e < v->n; e++) {
				if (v->kids[e]->type != YNODE_SCALAR) {
					load_err(c, v->kids[e], "items of variable '%s' must be scalars", k->value);
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
void load_keys(struct load_ctx *c, const struct ynode *map, const char *setname)
{
	static const char *const fields[] = { "summary", "default", "namespaced", "counters", "notes", NULL };

	if (map->type != YNODE_MAPPING) {
		load_err(c, map, "'keys' must be a mapping of sysctl key to its documentation, not %s",
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

			load_err(c, k, "invalid sysctl key '%s' in keys: %s", esc ? esc : "?", why);
			free(esc);
			continue;
		}
		if (rulebook_key_doc(c->rb, key)) {
			const struct key_doc *o = rulebook_key_doc(c->rb, key);

			load_err(c, k, "key '%s' is already documented at %s:%u:%u", key, o->where.file,
			       o->where.line, o->where.col);
			continue;
		}
		if (v->type != YNODE_MAPPING) {
			load_err(c, v, "the documentation of '%s' must be a mapping (summary:, default:, ...)", key);
			continue;
		}
		load_check_keys(c, v, "a key's documentation", fields);
		if ((f = load_want(c, v, "summary", YNODE_SCALAR, true, key)))
			d.summary = load_text(c, f, "summary");
		if ((f = load_want(c, v, "default", YNODE_SCALAR, false, key)))
			d.default_text = load_text(c, f, "default");
		if ((f = load_want(c, v, "notes", YNODE_SCALAR, false, key)))
			d.notes = load_text(c, f, "notes");
		if ((f = load_want(c, v, "namespaced", YNODE_SCALAR, false, key))) {
			if (!strcmp(f->value, "true"))
				d.namespaced = KEY_NS_PER_NETNS;
			else if (!strcmp(f->value, "false") || !strcmp(f->value, "host-only"))
				d.namespaced = KEY_NS_HOST_ONLY;
			else if (!strcmp(f->value, "shared"))
				d.namespaced = KEY_NS_SHARED;
			else
				load_err(c, f, "'namespaced' must be true (each network namespace has its own value), "
				       "host-only (the initial namespace only) or shared (one host value seen everywhere)");
		}
		if ((f = ytree_get(v, "counters")))
			load_string_list(c, f, "counters", &d.counters, &d.ncounters, false);
		d.key = strdup(key);
		d.ruleset = setname;
		d.where = (struct origin){ c->file, k->line, k->col };
		if (c->rb->errors != before || !d.key ||
		    !(nk = realloc(c->rb->keys, (c->rb->nkeys + 1) * sizeof(*nk)))) {
			load_key_doc_free(&d);
			continue;
		}
		c->rb->keys = nk;
		nk[c->rb->nkeys++] = d;
	}
}

void load_profiles(struct load_ctx *c, const struct ynode *seq)
{
	static const char *const fields[] = { "name", "description", "rulesets", "variables", NULL };

	if (seq->type != YNODE_SEQUENCE) {
		load_err(c, seq, "'profiles' must be a list, not %s", ytree_type_name(seq));
		return;
	}
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *n = seq->kids[i], *f;
		struct profile p = { 0 }, *np;
		unsigned before = c->rb->errors;

		if (n->type != YNODE_MAPPING) {
			load_err(c, n, "a profile must be a mapping, not %s", ytree_type_name(n));
			continue;
		}
		load_check_keys(c, n, "a profile", fields);
		f = load_want(c, n, "name", YNODE_SCALAR, true, "profile");
		if (f && !load_valid_id(f->value, f->len))
			load_err(c, f, "profile name must be a lower-case word (a-z 0-9 - . _)");
		else if (f && profile_find(c->rb, f->value))
			load_err(c, f, "profile '%s' is already defined at %s:%u", f->value,
			       profile_find(c->rb, f->value)->where.file,
			       profile_find(c->rb, f->value)->where.line);
		p.name = f ? strdup(f->value) : NULL;
		p.where = (struct origin){ c->file, f ? f->line : n->line, f ? f->col : n->col };
		if ((f = load_want(c, n, "description", YNODE_SCALAR, false, "profile")))
			p.description = load_text(c, f, "description");
		if ((f = load_want(c, n, "rulesets", YNODE_SEQUENCE, true, "profile")))
			load_string_list(c, f, "rulesets", &p.rulesets, &p.nrulesets, true);
		p.vars = json_object();
		if ((f = ytree_get(n, "variables")))
			load_variables(c, f, VARS_PROFILE, p.vars);
		if (c->rb->errors != before || !p.name ||
		    !(np = realloc(c->rb->profiles, (c->rb->nprofiles + 1) * sizeof(*np)))) {
			load_profile_free(&p);
			continue;
		}
		c->rb->profiles = np;
		np[c->rb->nprofiles++] = p;
	}
}

/* The strings of a scalar or a list of scalars (match: of a table entry),
 * escaped as rule text is.  NULL after an error (reported). */
static json_t *table_patterns(struct load_ctx *c, const struct ynode *m)
{
	const struct ynode *one[1] = { m };
	const struct ynode *const *items = m->type == YNODE_SCALAR ? one : (const struct ynode *const *)m->kids;
	size_t n = m->type == YNODE_SCALAR ? 1 : m->n;
	json_t *list;

	if (m->type == YNODE_MAPPING || n == 0 || n > 64) {
		load_err(c, m, "'match' must be a pattern or a list of 1 to 64 patterns");
		return NULL;
	}
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		char *esc;

		if (items[i]->type != YNODE_SCALAR || items[i]->len == 0 || items[i]->len > 256 ||
		    strlen(items[i]->value) != items[i]->len) {
			load_err(c, items[i], "a pattern of 'match' must be text of 1 to 256 bytes (a glob "
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
static void parse_table_entry(struct load_ctx *c, const struct ynode *en, const char *table,
			      const struct ynode *tkey)
{
	struct table_entry e = { 0 };
	const struct ynode *name, *match;
	json_t *pats;

	if (en->type != YNODE_MAPPING) {
		load_err(c, en, "an entry of table '%s' must be a mapping (name:, match:, ...), not %s",
		       table, ytree_type_name(en));
		return;
	}
	name = load_want(c, en, "name", YNODE_SCALAR, true, "table entry");
	match = ytree_get(en, "match");
	if (!match)
		load_err(c, en, "table entry: missing required field 'match'");
	if (!name || !match)
		return;
	if (!load_valid_id(name->value, name->len)) {
		load_err(c, name, "an entry's name must be a lower-case word (a-z 0-9 - . _)");
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
		load_err(c, en, "out of memory");
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

			load_err(c, k, "invalid field name '%s': letters, digits and '_', not starting with a digit",
			       esc ? esc : "?");
			free(esc);
			continue;
		}
		if (v->type != YNODE_SCALAR) {
			load_err(c, v, "field '%s' of a table entry must be a scalar, not %s", k->value,
			       ytree_type_name(v));
			continue;
		}
		if (v->len > TEXT_MAX) {
			load_err(c, v, "'%s' is too long (%zu bytes; the limit is %d)", k->value, v->len, TEXT_MAX);
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
void load_tables(struct load_ctx *c, const struct ynode *map, const char *setname)
{
	static const char *const fields[] = { "description", "fields", "entries", NULL };

	if (map->type != YNODE_MAPPING) {
		load_err(c, map, "'tables' must be a mapping of table name to table, not %s",
		       ytree_type_name(map));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *t = map->kids[i + 1], *f, *en;

		if (!expr_name_syntax(k->value, k->len)) {
			load_err(c, k, "invalid table name: letters, digits and '_', not starting with a digit");
			continue;
		}
		if (t->type != YNODE_MAPPING) {
			load_err(c, t, "table '%s' must be a mapping (fields:, entries:), not %s", k->value,
			       ytree_type_name(t));
			continue;
		}
		load_check_keys(c, t, "a table", fields);
		f = load_want(c, t, "fields", YNODE_SEQUENCE, false, "table");
		if (f && !setname) {
			load_err(c, f, "'fields' declares a table, which belongs in a rule set file (with "
			       "'ruleset'); other files add entries");
		} else if (f) {
			struct table_decl d = { 0 };
			const struct ynode *desc = load_want(c, t, "description", YNODE_SCALAR, false, "table");

			d.name = strdup(k->value);
			d.description = desc ? load_text(c, desc, "description") : NULL;
			d.where = (struct origin){ c->file, k->line, k->col };
			d.fields = calloc(f->n + 1, sizeof(*d.fields));
			for (size_t j = 0; d.fields && j < f->n; j++) {
				if (f->kids[j]->type != YNODE_SCALAR || !valid_var_name(f->kids[j]->value) ||
				    !strcmp(f->kids[j]->value, "name") || !strcmp(f->kids[j]->value, "match")) {
					load_err(c, f->kids[j], "a field of a table is a name (letters, digits "
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
			load_err(c, ytree_get(t, "description"), "'description' goes with 'fields', where the "
			       "table is declared");
		}
		if (!(en = load_want(c, t, "entries", YNODE_SEQUENCE, false, "table")))
			continue;
		for (size_t j = 0; j < en->n; j++)
			parse_table_entry(c, en->kids[j], k->value, k);
	}
}

/* YYYY-MM-DD, a day that exists (strptime() takes 2027-02-31). */
bool load_valid_date(const char *s)
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

void load_override(struct load_ctx *c, const struct ynode *n)
{
	static const char *const fields[] = { "rule", "enabled", "severity", NULL };
	const struct ynode *id, *en, *sev;
	struct pending_override po = { .enabled = -1, .severity = -1 };
	struct pending_override *np;
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		load_err(c, n, "an override must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	load_check_keys(c, n, "an override", fields);
	id = load_want(c, n, "rule", YNODE_SCALAR, true, "override");
	en = load_want(c, n, "enabled", YNODE_SCALAR, false, "override");
	sev = load_want(c, n, "severity", YNODE_SCALAR, false, "override");
	if (en) {
		if (!strcmp(en->value, "true"))
			po.enabled = 1;
		else if (!strcmp(en->value, "false"))
			po.enabled = 0;
		else
			load_err(c, en, "'enabled' must be true or false");
	}
	if (sev) {
		enum severity s;

		if (severity_parse(sev->value, &s) < 0)
			load_err(c, sev, "unknown severity (info, notice, warning, critical)");
		else
			po.severity = (int)s;
	}
	if (id && !en && !sev)
		load_err(c, n, "override of '%s' changes nothing: give 'enabled' or 'severity'", id->value);
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

void load_waiver(struct load_ctx *c, const struct ynode *n)
{
	static const char *const fields[] = { "rule", "subject", "reason", "expires", NULL };
	const struct ynode *id, *subj, *reason, *exp;
	struct waiver w = { 0 }, *nw;
	unsigned before = c->rb->errors;

	if (n->type != YNODE_MAPPING) {
		load_err(c, n, "a waiver must be a mapping, not %s", ytree_type_name(n));
		return;
	}
	load_check_keys(c, n, "a waiver", fields);
	id = load_want(c, n, "rule", YNODE_SCALAR, true, "waiver");
	subj = load_want(c, n, "subject", YNODE_SCALAR, false, "waiver");
	reason = load_want(c, n, "reason", YNODE_SCALAR, true, "waiver (a reason is mandatory)");
	exp = load_want(c, n, "expires", YNODE_SCALAR, false, "waiver");
	if (reason && reason->len == 0)
		load_err(c, reason, "the waiver's reason must not be empty");
	if (exp && !load_valid_date(exp->value))
		load_err(c, exp, "'expires' must be a date YYYY-MM-DD that exists");
	if (subj)
		load_text_safe(c, subj, "subject", false);
	if (!id || !reason || c->rb->errors != before)
		return;
	w.rule_id = strdup(id->value);
	w.subject = subj ? strdup(subj->value) : NULL;
	w.reason = load_text(c, reason, "reason");
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

/* What choosing the profile needs: its rule sets loaded, its variables
 * defined by a rule set and of the same type.  Returns 0 or -ENOENT
 * (reported and counted). */
static int profile_check(struct rulebook *rb, const struct profile *p)
{
	struct load_ctx c = { rb, p->where.file };
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
			load_err(&c, &at, "profile '%s' names rule set '%s', which is not loaded", p->name,
			       p->rulesets[i]);
			bad = 1;
		}
	}
	/* a variable no rule set defines is a typo, not a setting */
	json_object_foreach(p->vars, key, v) {
		const json_t *def = json_object_get(rb->default_vars, key);

		at.value = (char *)key;
		if (!def) {
			load_err(&c, &at, "profile '%s' sets variable '%s', which no loaded rule set defines", p->name,
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
	const struct profile *p = profile_find(rb, name);
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
