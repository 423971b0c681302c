/* Lookup tables of rule files: what a rule set declares, the entries every
 * file adds, and the lookup() calls that read them.  Loading
 * (load.c, parse_tables) hands each piece over as it is read; once every
 * file is loaded, tables_finish() checks them against each other and
 * builds the table lookup() reads: per table, its entries with the one
 * loaded last first, so that a site's file wins over the shipped one and an
 * entry replaces an earlier one of the same name. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/suggest.h"

void table_decl_free(struct table_decl *d)
{
	free(d->name);
	free(d->description);
	for (size_t i = 0; i < d->nfields; i++)
		free(d->fields[i]);
	free(d->fields);
	memset(d, 0, sizeof(*d));
}

void table_entry_free(struct table_entry *e)
{
	free(e->table);
	free(e->name);
	json_decref(e->json);
	for (size_t i = 0; i < e->nfields; i++)
		free(e->fields[i]);
	free(e->fields);
	free(e->field_where);
	memset(e, 0, sizeof(*e));
}

static const struct table_decl *decl_in(const struct rulebook *rb, const char *name)
{
	for (size_t i = 0; i < rb->ntdecls; i++)
		if (!strcmp(rb->tdecls[i].name, name))
			return &rb->tdecls[i];
	return NULL;
}

static void __attribute__((format(printf, 3, 4)))
err_at(struct rulebook *rb, const struct origin *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_syntax(o->file, o->line, o->col, "%s", buf);
	rb->errors++;
}

void tables_declare(struct rulebook *rb, struct table_decl *d)
{
	const struct table_decl *old = decl_in(rb, d->name);
	struct table_decl *n;

	if (old) {
		err_at(rb, &d->where, "table '%s' is already declared at %s:%u:%u", d->name,
		       old->where.file, old->where.line, old->where.col);
		table_decl_free(d);
		return;
	}
	n = realloc(rb->tdecls, (rb->ntdecls + 1) * sizeof(*n));
	if (!n) {
		err_at(rb, &d->where, "out of memory");
		table_decl_free(d);
		return;
	}
	rb->tdecls = n;
	rb->tdecls[rb->ntdecls++] = *d;
	memset(d, 0, sizeof(*d));
}

void tables_add_entry(struct rulebook *rb, struct table_entry *e)
{
	struct table_entry *n = realloc(rb->tentries, (rb->ntentries + 1) * sizeof(*n));

	if (!n) {
		err_at(rb, &e->where, "out of memory");
		table_entry_free(e);
		return;
	}
	rb->tentries = n;
	rb->tentries[rb->ntentries++] = *e;
	memset(e, 0, sizeof(*e));
}

void tables_add_use(struct rulebook *rb, struct table_use *u)
{
	struct table_use *n = realloc(rb->tuses, (rb->ntuses + 1) * sizeof(*n));

	if (!n) {
		err_at(rb, &u->where, "out of memory");
		free(u->table);
		return;
	}
	rb->tuses = n;
	rb->tuses[rb->ntuses++] = *u;
	memset(u, 0, sizeof(*u));
}

/* An unknown table named at o: with the closest declared name. */
static void unknown_table(struct rulebook *rb, const char *name, const struct origin *o,
			  const char *what)
{
	size_t n = 0, cap = rb->ntdecls;
	const char **names = malloc((cap + 1) * sizeof(*names));
	const char *s = NULL;
	char *esc = escape_untrusted_str(name);

	if (names) {
		for (size_t i = 0; i < rb->ntdecls; i++)
			names[n++] = rb->tdecls[i].name;
		s = suggest_closest(name, names, n);
	}
	err_at(rb, o, "%s names unknown table '%s'%s%s%s", what, esc ? esc : "?",
	       s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	free(esc);
	free(names);
}

static void check_entry(struct rulebook *rb, const struct table_entry *e)
{
	const struct table_decl *d = decl_in(rb, e->table);

	if (!d) {
		/* once per table of a file, not once per entry */
		for (const struct table_entry *x = rb->tentries; x < e; x++)
			if (!strcmp(x->table, e->table) && x->table_where.file == e->table_where.file &&
			    x->table_where.line == e->table_where.line && x->table_where.col == e->table_where.col)
				return;
		unknown_table(rb, e->table, &e->table_where, "'tables'");
		return;
	}
	for (size_t i = 0; i < e->nfields; i++) {
		size_t j;

		for (j = 0; j < d->nfields; j++)
			if (!strcmp(e->fields[i], d->fields[j]))
				break;
		if (j < d->nfields)
			continue;
		{
			const char *s = suggest_closest(e->fields[i], (const char *const *)d->fields,
							d->nfields);
			char *esc = escape_untrusted_str(e->fields[i]), list[512] = "name, match";
			size_t o = strlen(list);

			for (size_t k = 0; k < d->nfields && o < sizeof(list); k++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, ", %s", d->fields[k]);
			err_at(rb, &e->field_where[i], "unknown field '%s' in an entry of table '%s'%s%s%s "
			       "(its fields: %s)", esc ? esc : "?", d->name, s ? "; did you mean '" : "",
			       s ? s : "", s ? "'?" : "", list);
			free(esc);
		}
	}
}

void tables_finish(struct rulebook *rb)
{
	json_t *tables = json_object();

	for (size_t i = 0; i < rb->ntentries; i++)
		check_entry(rb, &rb->tentries[i]);
	for (size_t i = 0; i < rb->ntuses; i++) {
		const struct table_use *u = &rb->tuses[i];

		if (!decl_in(rb, u->table))
			unknown_table(rb, u->table, &u->where, "lookup()");
	}
	if (!tables)
		return;
	/* every declared table, even without entries: lookup() gives absent */
	for (size_t i = 0; i < rb->ntdecls; i++)
		json_object_set_new(tables, rb->tdecls[i].name, json_array());
	/* the entry loaded last first; one per name */
	for (size_t i = rb->ntentries; i-- > 0;) {
		const struct table_entry *e = &rb->tentries[i];
		json_t *list = json_object_get(tables, e->table), *x;
		bool seen = false;
		size_t k;

		if (!list)
			continue;
		json_array_foreach(list, k, x)
			if (!strcmp(json_string_value(json_object_get(x, "name")), e->name))
				seen = true;
		if (!seen)
			json_array_append(list, e->json);
	}
	json_decref(rb->tables);
	rb->tables = tables;
}

void tables_free(struct rulebook *rb)
{
	for (size_t i = 0; i < rb->ntdecls; i++)
		table_decl_free(&rb->tdecls[i]);
	free(rb->tdecls);
	for (size_t i = 0; i < rb->ntentries; i++)
		table_entry_free(&rb->tentries[i]);
	free(rb->tentries);
	for (size_t i = 0; i < rb->ntuses; i++)
		free(rb->tuses[i].table);
	free(rb->tuses);
	json_decref(rb->tables);
	rb->tdecls = NULL;
	rb->tentries = NULL;
	rb->tuses = NULL;
	rb->tables = NULL;
	rb->ntdecls = rb->ntentries = rb->ntuses = 0;
}
