/* Loading rule sets and override files: the files, directories and
 * buffers, the sections of a file (load_tree), the rule book as a whole
 * (finish, profiles chosen, keys read), and the helpers of every section
 * (messages at file:line:col, fields, texts, expressions).  A rule is
 * read in load-rule.c, the other sections in load-sections.c. */
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
#include "rules/load-int.h"
#include "rules/rules.h"
#include "rules/embedded.h"
#include "rules/ytree.h"
#include "util/array.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/suggest.h"



/* ------------------------------------------------------------ messages */

void load_err(struct load_ctx *c, const struct ynode *n, const char *fmt, ...)
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
int load_check_keys(struct load_ctx *c, const struct ynode *map, const char *what,
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
				load_err(c, k, "unknown field '%s' in %s; did you mean '%s'?", esc ? esc : "?",
				       what, s);
			else
				load_err(c, k, "unknown field '%s' in %s", esc ? esc : "?", what);
			free(esc);
		}
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

const struct ynode *load_want(struct load_ctx *c, const struct ynode *map, const char *key,
				enum ynode_type t, bool required, const char *what)
{
	const struct ynode *n = ytree_get(map, key);
	static const char *const tn[] = { "a scalar", "a mapping", "a list" };

	if (!n) {
		if (required)
			load_err(c, map, "%s: missing required field '%s'", what, key);
		return NULL;
	}
	if (n->type != t) {
		load_err(c, n, "'%s' must be %s, not %s", key, tn[t], ytree_type_name(n));
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
int load_text_safe(struct load_ctx *c, const struct ynode *n, const char *key, bool lines)
{
	size_t clen = 0;
	long at = escape_first_unsafe(n->value, n->len, lines, &clen);
	unsigned char b;
	char *what;

	if (at < 0)
		return 0;
	b = (unsigned char)n->value[at];
	what = escape_untrusted(n->value + at, clen);
	load_err(c, n, "'%s' holds %s (%s, byte %ld of the value): write it without control, "
	       "invisible or direction-changing characters", key,
	       b == '\n' ? "a line break" : escape_invisible_at(n->value + at, clen) ? "a character that prints as nothing"
	       : b < 0x80 || b == 0xc2 ? "a control character" : clen == 1 ? "a byte that is not UTF-8"
	       : "a character that changes the text's direction or lines",
	       what ? what : "?", at + 1);
	free(what);
	return -EINVAL;
}

/* A text field: printable, bounded; lines allowed. */
char *load_text(struct load_ctx *c, const struct ynode *n, const char *key)
{
	if (n->len > TEXT_MAX) {
		load_err(c, n, "'%s' is too long (%zu bytes; the limit is %d)", key, n->len, TEXT_MAX);
		return NULL;
	}
	if (load_text_safe(c, n, key, true) < 0)
		return NULL;
	return strdup(n->value);
}

/* The same for a one-line field (a title, a list item). */
char *load_line(struct load_ctx *c, const struct ynode *n, const char *key)
{
	if (n->len <= TEXT_MAX && load_text_safe(c, n, key, false) < 0)
		return NULL;
	return load_text(c, n, key);
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
void load_expr_err(struct load_ctx *c, const struct ynode *n, const char *field,
		     const struct expr_error *e)
{
	unsigned line, col;

	expr_where(n, e, &line, &col);
	log_syntax(c->file, line, col, "in %s: %s", field, e->msg);
	c->rb->errors++;
}

struct lookup_note {
	struct load_ctx *c;
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
void load_note_lookups(struct load_ctx *c, const struct ynode *n, const struct expr *x, unsigned shift)
{
	struct lookup_note ln = { c, n, shift };

	expr_lookup_tables(x, note_lookup, &ln);
}

struct expr *load_expr(struct load_ctx *c, const struct ynode *n, const char *field,
				    const struct expr_scope *scope)
{
	struct expr_error e = { 0 };
	struct expr *x;

	if (n->type != YNODE_SCALAR) {
		load_err(c, n, "'%s' must be an expression (a scalar), not %s", field, ytree_type_name(n));
		return NULL;
	}
	x = expr_parse(n->value, n->len, scope, &e);
	if (!x)
		load_expr_err(c, n, field, &e);
	else
		load_note_lookups(c, n, x, 0);
	return x;
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

static void load_tree(struct load_ctx *c, const struct ynode *root)
{
	static const char *const top[] = {
		"ruleset", "version", "description", "default", "variables", "rules", "keys",
		"override", "waive", "profiles", "tables", NULL,
	};
	const struct ynode *name, *ver, *rules, *v;
	const char *setname = NULL;

	if (root->type != YNODE_MAPPING) {
		load_err(c, root, "a rule file must be a mapping (ruleset:, rules: ... or override:, waive:, variables:), not %s",
		       ytree_type_name(root));
		return;
	}
	load_check_keys(c, root, "the file", top);
	name = load_want(c, root, "ruleset", YNODE_SCALAR, false, "file");
	rules = ytree_get(root, "rules");
	if (rules && !name)
		load_err(c, rules, "'rules' needs a 'ruleset' name in the same file");
	if (name) {
		struct ruleset_info *ns;
		long long version = 0;

		if (!load_valid_id(name->value, name->len))
			load_err(c, name, "rule set name must be a lower-case word (a-z 0-9 - . _)");
		ver = load_want(c, root, "version", YNODE_SCALAR, true, "rule set");
		if (ver) {
			char *end;

			errno = 0;
			version = strtoll(ver->value, &end, 10);
			if (*end || end == ver->value || errno || version < 0)
				load_err(c, ver, "'version' must be a non-negative integer");
		}
		for (size_t i = 0; i < c->rb->nsets; i++)
			if (!strcmp(c->rb->sets[i].name, name->value)) {
				load_err(c, name, "rule set '%s' is already loaded from %s", name->value,
				       c->rb->sets[i].file);
				break;
			}
		ns = realloc(c->rb->sets, (c->rb->nsets + 1) * sizeof(*ns));
		if (ns) {
			c->rb->sets = ns;
			ns[c->rb->nsets].name = strdup(name->value);
			ns[c->rb->nsets].version = version;
			v = load_want(c, root, "description", YNODE_SCALAR, false, "rule set");
			ns[c->rb->nsets].description = v ? load_text(c, v, "description") : NULL;
			ns[c->rb->nsets].opt_in = false;
			v = load_want(c, root, "default", YNODE_SCALAR, false, "rule set");
			if (v && !strcmp(v->value, "false"))
				ns[c->rb->nsets].opt_in = true;
			else if (v && strcmp(v->value, "true") != 0)
				load_err(c, v, "'default' must be true or false (false: the rule set runs only when a profile, --only or --rule selects it)");
			ns[c->rb->nsets].file = c->file;
			setname = ns[c->rb->nsets].name;
			c->rb->nsets++;
		}
		if (!rules)
			load_err(c, root, "rule set '%s' has no 'rules'", name->value);
	}
	if ((v = ytree_get(root, "variables")))
		load_variables(c, v, name ? VARS_DEFAULT : VARS_SITE, NULL);
	if ((v = ytree_get(root, "keys"))) {
		if (!setname)
			load_err(c, v, "'keys' belongs in a rule set file (with 'ruleset')");
		else
			load_keys(c, v, setname);
	}
	if ((v = ytree_get(root, "profiles")))
		load_profiles(c, v);
	if ((v = ytree_get(root, "tables")))
		load_tables(c, v, setname);
	if (rules && setname) {
		if (rules->type != YNODE_SEQUENCE)
			load_err(c, rules, "'rules' must be a list, not %s", ytree_type_name(rules));
		else
			for (size_t i = 0; i < rules->n; i++)
				load_rule(c, rules->kids[i], setname);
	}
	if ((v = ytree_get(root, "override"))) {
		if (v->type != YNODE_SEQUENCE)
			load_err(c, v, "'override' must be a list, not %s", ytree_type_name(v));
		else
			for (size_t i = 0; i < v->n; i++)
				load_override(c, v->kids[i]);
	}
	if ((v = ytree_get(root, "waive"))) {
		if (v->type != YNODE_SEQUENCE)
			load_err(c, v, "'waive' must be a list, not %s", ytree_type_name(v));
		else
			for (size_t i = 0; i < v->n; i++)
				load_waiver(c, v->kids[i]);
	}
}

void rulebook_load_buffer(struct rulebook *rb, const char *name, const char *buf, size_t len)
{
	struct load_ctx c = { rb, remember_file(rb, name) };
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
	struct load_ctx c;
	int empty;
	struct ynode *root;

	if (loaded_before(rb, path))
		return;
	c = (struct load_ctx){ rb, remember_file(rb, path) };
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

/* The rule files of the directory d (closed), sorted by name: *n names,
 * newly allocated (as many as memory allows). */
static char **yaml_names(DIR *d, size_t *n)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;

	*n = 0;
	while ((de = readdir(d))) {
		if (!yaml_name(de->d_name))
			continue;
		if (ARRAY_GROW(names, cap, *n, 16) < 0 || !(names[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

int rulebook_load_dir(struct rulebook *rb, const char *dir)
{
	DIR *d = opendir(dir);
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
	names = yaml_names(d, &n);
	for (size_t i = 0; i < n; i++) {
		char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, names[i]) >= 0)
			rulebook_load_file(rb, path);
		free(path);
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

/* The settings main() gave (rules_configure()). */
struct rules_settings rules_config;

void rules_configure(const struct rules_settings *s)
{
	rules_config = *s;
}

void rulebook_init(struct rulebook *rb)
{
	time_t now = time(NULL);
	struct tm tm;
	const char *fake = rules_config.today; /* fixed date for tests */

	memset(rb, 0, sizeof(*rb));
	rb->vars = json_object();
	rb->site_vars = json_object();
	rb->default_vars = json_object();
	if (fake && load_valid_date(fake)) {
		memcpy(rb->today, fake, 11);
	} else {
		gmtime_r(&now, &tm);
		strftime(rb->today, sizeof(rb->today), "%Y-%m-%d", &tm);
	}
}

void rulebook_free(struct rulebook *rb)
{
	for (size_t i = 0; i < rb->nrules; i++)
		load_rule_free(&rb->rules[i]);
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
		load_key_doc_free(&rb->keys[i]);
	free(rb->keys);
	for (size_t i = 0; i < rb->nprofiles; i++)
		load_profile_free(&rb->profiles[i]);
	free(rb->profiles);
	tables_free(rb);
	memset(rb, 0, sizeof(*rb));
}

static struct rule *find_rule(struct rulebook *rb, const char *id)
{
	size_t i = load_rule_index(rb, id);

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
	names = yaml_names(d, &n);
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
	return find_rule((struct rulebook *)rb, id);
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
