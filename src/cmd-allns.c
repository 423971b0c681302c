/* --all-netns: every network namespace through one path (cmd-allns.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd-allns.h"
#include "facts/facts.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/memout.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int check_options(const struct globals *g, const struct allns_opts *o)
{
	if (g->netns) {
		log_error("--all-netns and --netns cannot be combined");
		return -1;
	}
	if (o->sample && o->sample->duration) {
		log_error("--sample watches one network namespace; it cannot be combined with --all-netns "
			  "(audit them all, then sample those with findings: --netns NAME --sample DURATION)");
		return -1;
	}
	if (o->sample && o->sample->interval) {
		log_error("--interval sets the pace of a sampling window: it needs --sample");
		return -1;
	}
	if (o->from && g->root) {
		log_error("--from reads a saved facts document; --root does not apply to it");
		return -1;
	}
	return 0;
}

/* ---- collecting ---- */

struct visit_ctx {
	struct allns *a;
	const struct nk_root *root;
	const struct allns_opts *o;
	struct netns_ahead *ahead;      /* the TCP dumps, by helper threads */
};

/* In a helper thread inside e's namespace: its TCP dumps, which make the
 * kernel walk the established hash of the whole host. */
static int tcp_ahead(const struct netns_entry *e, void *slot, void *arg)
{
	struct sockdiag_ahead *pre = slot;
	const struct allns_opts *o = arg;

	(void)e;
	socktab_init(&pre->t);
	pre->r = sockdiag_collect(&pre->t, !o->listeners_only, &pre->res);
	if (pre->r < 0) {
		/* the visit does it again, and says why it failed */
		socktab_free(&pre->t);
		return pre->r;
	}
	return 0;
}

static void tcp_drop(void *slot)
{
	socktab_free(&((struct sockdiag_ahead *)slot)->t);
}

static unsigned helper_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
}

/* The listeners of doc by inode, in the document's order, into ns->tab,
 * and its UDP sockets' inodes, whose owners the same scan looks for. */
static int tab_from_doc(struct allns_ns *ns, const json_t *doc)
{
	const json_t *sk = json_object_get(doc, "sockets");
	const json_t *ls = json_object_get(sk, "listeners"), *udp = json_object_get(sk, "udp"), *l;
	struct socktab *t = &ns->tab;
	size_t i;

	socktab_init(t);
	json_array_foreach(ls, i, l) {
		struct listener x = { .inode = (uint64_t)json_integer_value(json_object_get(l, "inode")) };

		if (socktab_add_listener(t, &x) < 0)
			return -ENOMEM;
	}
	if (!json_array_size(udp))
		return 0;
	ns->udp_inodes = calloc(json_array_size(udp), sizeof(*ns->udp_inodes));
	if (!ns->udp_inodes)
		return -ENOMEM;
	json_array_foreach(udp, i, l)
		ns->udp_inodes[i] = (uint64_t)json_integer_value(json_object_get(l, "inode"));
	t->more_inodes = ns->udp_inodes;
	t->nmore = json_array_size(udp);
	return 0;
}

/* Inside namespace e: its facts, without the owners of its listeners
 * (those come from one scan for all, back home). */
static int visit_one(struct netns_entry *e, void *arg)
{
	struct visit_ctx *c = arg;
	struct allns_ns *ns = &c->a->ns[e - c->a->list->ns];
	struct collect_opts co = {
		.root = c->root,
		.netns = e->name,
		.sysctl_keys = c->o->keys,
		.n_sysctl_keys = c->o->nkeys,
		.want_sockets = true,
		.want_owners = false,
		.listeners_only = c->o->listeners_only,
		.tcp_ahead = netns_ahead_take(c->ahead, (size_t)(e - c->a->list->ns)),
	};
	json_t *doc = facts_collect(&co);
	int r;

	if (!doc)
		return -ENOMEM;
	c->a->ahead += co.tcp_ahead != NULL;
	r = tab_from_doc(ns, doc);
	if (r == 0 && !(ns->facts = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))))
		r = -ENOMEM;
	json_decref(doc);
	return r;
}

/* Below --root DIR: the tree's own namespace only. */
static int visit_tree(struct allns *a, struct visit_ctx *c)
{
	int r = 0;

	for (size_t i = 0; i < a->n && r == 0; i++) {
		struct netns_entry *e = &a->list->ns[i];

		if (!e->self) {
			free(e->why);
			e->why = strdup("below --root only the tree's own namespace is read");
			a->not_entered++;
			if (!e->why)
				r = -ENOMEM;
			continue;
		}
		e->state = NETNS_ENTERED;
		a->vs.entered++;
		r = visit_one(e, c);
	}
	return r;
}

/* One scan of /proc for the owners of every namespace's listeners. */
static int find_owners(struct allns *a, const struct nk_root *root)
{
	struct socktab **tabs = calloc(a->n ? a->n : 1, sizeof(*tabs));
	size_t k = 0;
	int r;

	if (!tabs)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++)
		if (a->ns[i].facts)
			tabs[k++] = &a->ns[i].tab;
	r = owners_collect_many(root, tabs, k, NULL, &a->os);
	free(tabs);
	a->owners_done = true;
	if (r == -ENOMEM)
		return r;
	a->owners_err = r;
	return 0;
}

static int collect_live(const struct globals *g, const struct allns_opts *o, struct allns *a)
{
	struct nk_root root;
	struct visit_ctx c = { a, &root, o, NULL };
	double t0 = now_ms();
	int r = root_open(&root, g->root ? g->root : "/");

	if (r < 0) {
		log_error("%s %s: %s", g->root ? "--root" : "cannot open", g->root ? g->root : "/", strerror(-r));
		return -1;
	}
	r = netns_scan(&root, &a->list);
	if (r < 0) {
		root_close(&root);
		return -1;
	}
	a->n = a->list->n;
	a->ns = calloc(a->n ? a->n : 1, sizeof(*a->ns));
	if (!a->ns)
		goto oom;
	for (size_t i = 0; i < a->n; i++) {
		a->ns[i].e = &a->list->ns[i];
		socktab_init(&a->ns[i].tab);
	}
	a->ms_discover = now_ms() - t0;
	t0 = now_ms();
	/* back in the own namespace after each (or stopped): nothing is
	 * written before that */
	if (root.live)
		c.ahead = netns_ahead_start(a->list, &root, helper_threads(), tcp_ahead, (void *)o, tcp_drop,
					    sizeof(struct sockdiag_ahead));
	r = root.live ? netns_visit(a->list, &root, visit_one, &c, &a->vs) : visit_tree(a, &c);
	netns_ahead_stop(c.ahead);
	a->ms_visit = now_ms() - t0;
	if (r == -ENOMEM)
		goto oom;
	if (r < 0) {
		root_close(&root);
		return -1;
	}
	t0 = now_ms();
	if (find_owners(a, &root) < 0)
		goto oom;
	a->ms_owners = now_ms() - t0;
	root_close(&root);
	return 0;
oom:
	root_close(&root);
	log_error("out of memory");
	return -1;
}

/* ---- a saved document (facts --all-netns --json) ---- */

static int load_fail(const char *path, const char *what)
{
	log_syntax(path, 0, 0, "%s", what);
	return -1;
}

static int collect_saved(const char *path, struct allns *a)
{
	json_error_t jerr;
	const json_t *nss, *el;
	char err[256];
	size_t i;
	json_t *doc = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
					     : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!doc) {
		log_syntax(path, jerr.line > 0 ? (unsigned)jerr.line : 0, jerr.line > 0 ? (unsigned)jerr.column : 0,
			   "cannot load: %s", jerr.text);
		return -1;
	}
	a->saved = doc;
	nss = json_object_get(doc, "namespaces");
	if (json_integer_value(json_object_get(doc, "all_netns_version")) != 1 || !json_is_array(nss))
		return load_fail(path, "--all-netns --from: not a document of every network namespace (netknobs "
				 "facts --all-netns --json), or of a version this netknobs does not read");
	json_array_foreach(nss, i, el) {
		json_t *netns = json_object_get(el, "netns");

		if (!json_is_object(el) || !json_is_object(netns)) {
			snprintf(err, sizeof(err), "namespaces[%zu] must be an object with \"netns\"", i);
			return load_fail(path, err);
		}
		if (json_object_get(el, "audit") || json_object_get(el, "listeners") || json_object_get(el, "report"))
			return load_fail(path, "--from: holds what a command made of the facts, not the facts "
					 "(save them with netknobs facts --all-netns --json)");
	}
	/* the list, as the document has it */
	{
		json_t *arr = json_array();

		json_array_foreach(nss, i, el)
			json_array_append(arr, json_object_get(el, "netns"));
		a->list = netns_list_from_json(arr, err, sizeof(err));
		json_decref(arr);
		if (!a->list)
			return load_fail(path, err);
	}
	a->n = a->list->n;
	a->ns = calloc(a->n ? a->n : 1, sizeof(*a->ns));
	if (!a->ns)
		return load_fail(path, "out of memory");
	json_array_foreach(nss, i, el) {
		const json_t *facts = json_object_get(el, "facts");
		struct allns_ns *ns = &a->ns[i];

		ns->e = &a->list->ns[i];
		socktab_init(&ns->tab);
		switch (ns->e->state) {
		case NETNS_GONE:
			a->vs.gone++;
			continue;
		case NETNS_DENIED:
			a->vs.denied++;
			continue;
		case NETNS_FOUND:
			a->not_entered++;
			continue;
		case NETNS_ENTERED:
			break;
		}
		if (!facts) {
			snprintf(err, sizeof(err), "namespaces[%zu]: entered, but no \"facts\"", i);
			return load_fail(path, err);
		}
		if (facts_validate(facts, err, sizeof(err)) < 0) {
			char where[400];

			snprintf(where, sizeof(where), "not a valid facts document: namespaces[%zu].facts: %s", i, err);
			return load_fail(path, where);
		}
		a->vs.entered++;
		if (!(ns->facts = json_dumps(facts, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))))
			return load_fail(path, "out of memory");
	}
	if (json_is_string(json_object_get(doc, "collected_at")))
		snprintf(a->collected_at, sizeof(a->collected_at), "%s",
			 json_string_value(json_object_get(doc, "collected_at")));
	return 0;
}

int allns_collect(const struct globals *g, const struct allns_opts *o, struct allns *a)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(a, 0, sizeof(*a));
	gmtime_r(&now, &tm);
	strftime(a->collected_at, sizeof(a->collected_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (check_options(g, o) < 0)
		return -1;
	if (o->from)
		return collect_saved(o->from, a);
	return collect_live(g, o, a);
}

void allns_free(struct allns *a)
{
	for (size_t i = 0; a->ns && i < a->n; i++) {
		free(a->ns[i].facts);
		socktab_free(&a->ns[i].tab);
		free(a->ns[i].udp_inodes);
	}
	free(a->ns);
	netns_list_free(a->list);
	json_decref(a->saved);
	memset(a, 0, sizeof(*a));
}

/* ---- one namespace's facts ---- */

/* "processes" of every listener and UDP socket of doc from t's owners
 * (the UDP sockets' links follow the listeners', at t->n + their index),
 * one object per process and value of "polls", shared as
 * socktab_to_json() shares them. */
static int attach_owners(json_t *doc, const struct socktab *t)
{
	const json_t *sk = json_object_get(doc, "sockets");
	const json_t *ls = json_object_get(sk, "listeners"), *udp = json_object_get(sk, "udp");
	json_t **cache = calloc(t->nprocs * 2 + 1, sizeof(*cache));
	size_t k = 0, nl = json_array_size(ls), nu = t->nmore == json_array_size(udp) ? t->nmore : 0;
	int err = 0;

	if (!cache)
		return -ENOMEM;
	for (size_t i = 0; i < nl + nu && !err; i++) {
		json_t *procs = json_array();

		err |= procs ? json_object_set_new(i < nl ? json_array_get(ls, i) : json_array_get(udp, i - nl),
						   "processes", procs) : -1;
		while (k < t->nlinks && t->links[k].listener < i)
			k++;
		for (; !err && k < t->nlinks && t->links[k].listener == i; k++) {
			const struct sock_owner_link *ln = &t->links[k];
			size_t v = (size_t)ln->proc * 2 + (ln->polls ? 1 : 0);

			if (!cache[v] && !(cache[v] = sock_proc_json(&t->procs[ln->proc], ln->polls)))
				err = -1;
			else
				err |= json_array_append(procs, cache[v]);
		}
	}
	for (size_t i = 0; i < t->nprocs * 2; i++)
		json_decref(cache[i]);
	free(cache);
	return err ? -ENOMEM : 0;
}

static unsigned long ownerless(const struct socktab *t)
{
	unsigned long n = 0;
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		while (k < t->nlinks && t->links[k].listener < i)
			k++;
		if (k == t->nlinks || t->links[k].listener != i)
			n++;
	}
	return n;
}

json_t *allns_facts(const struct allns *a, size_t i, bool *oom)
{
	const struct allns_ns *ns = &a->ns[i];
	json_error_t jerr;
	json_t *doc;

	*oom = false;
	if (!ns->facts)
		return NULL;
	doc = json_loads(ns->facts, 0, &jerr);
	if (!doc || (a->owners_done && !a->owners_err && attach_owners(doc, &ns->tab) < 0)) {
		json_decref(doc);
		*oom = true;
		log_error("out of memory");
		return NULL;
	}
	if (a->owners_err || a->owners_done)
		sockets_owner_notes(doc, a->owners_err, &a->os, a->owners_err ? 0 : ownerless(&ns->tab));
	return doc;
}

int allns_status(const struct allns *a)
{
	if (a->vs.denied && a->vs.entered <= 1 && a->n > 1) {
		log_error("entering other network namespaces needs CAP_SYS_ADMIN over them (run as root): "
			  "%lu could not be entered", a->vs.denied);
		return EXIT_NK_ERROR;
	}
	return EXIT_NK_OK;
}

/* ---- text ---- */

void allns_print_title(FILE *out, const struct netns_entry *e)
{
	fputs_safe(e->name ? e->name : "?", out);
	fprintf(out, " (%s, net:[%llu])", netns_kind_name(e->kind), (unsigned long long)e->id.ino);
}

void allns_print_heading(FILE *out, const struct netns_entry *e)
{
	fputs("== ", out);
	allns_print_title(out, e);
	fputs(" ==\n", out);
}

struct section {
	const struct netns_entry *e;
	memout_fn body;
	const void *arg;
};

static int print_section(FILE *out, const void *arg)
{
	const struct section *s = arg;

	allns_print_heading(out, s->e);
	return s->body(out, s->arg);
}

char *allns_section(const struct netns_entry *e, memout_fn body, const void *arg)
{
	struct section s = { e, body, arg };
	char *text;

	return memout(print_section, &s, &text, NULL) == 0 ? text : NULL;
}

void allns_text_tail(FILE *out, const struct allns *a)
{
	size_t gone = 0;

	for (size_t i = 0; i < a->n; i++) {
		const struct netns_entry *e = a->ns[i].e;

		if (e->state != NETNS_GONE)
			continue;
		fputs(gone++ ? ", " : "Gone during the run: ", out);
		fputs_safe(e->name ? e->name : "?", out);
	}
	if (gone)
		fputs(".\n", out);
	for (size_t i = 0; i < a->n; i++) {
		const struct netns_entry *e = a->ns[i].e;

		if (e->state == NETNS_GONE || e->state == NETNS_ENTERED)
			continue;
		fputs("Not entered: ", out);
		allns_print_title(out, e);
		fputs(": ", out);
		fputs_safe(e->why ? e->why : "?", out);
		fputs(".\n", out);
	}
}

void allns_print_kinds(FILE *out, const struct allns *a, const bool *pick)
{
	static const enum netns_kind order[] = {
		NETNS_KIND_HOST, NETNS_KIND_KUBE_POD, NETNS_KIND_DOCKER, NETNS_KIND_CONTAINERD,
		NETNS_KIND_CRIO, NETNS_KIND_PODMAN, NETNS_KIND_NAMED, NETNS_KIND_PROCESS,
		NETNS_KIND_MOUNT, NETNS_KIND_UNKNOWN,
	};
	bool first = true;

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		size_t n = 0;

		for (size_t i = 0; i < a->n; i++)
			n += pick[i] && a->ns[i].e->kind == order[k];
		if (!n)
			continue;
		fprintf(out, "%s%zu %s", first ? "(" : ", ", n, netns_kind_name(order[k]));
		first = false;
	}
	if (!first)
		fputc(')', out);
}

/* ---- JSON ---- */

/* text with indent added after each line break */
static void put_indented(FILE *out, const char *text, const char *indent)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, out);
		if (*p == '\n' && p[1])
			fputs(indent, out);
	}
}

static int put_value(FILE *out, const char *key, const json_t *v, const char *indent, bool comma)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12) | JSON_ENCODE_ANY);

	if (!s)
		return -ENOMEM;
	fprintf(out, "%s\"%s\": ", indent, key);
	put_indented(out, s, indent);
	fputs(comma ? ",\n" : "\n", out);
	free(s);
	return 0;
}

json_t *allns_summary_json(const struct allns *a)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "namespaces", (json_int_t)a->n, "entered",
			 (json_int_t)a->vs.entered, "gone", (json_int_t)a->vs.gone, "denied",
			 (json_int_t)a->vs.denied, "not_entered", (json_int_t)a->not_entered);
}

static json_t *discovery_json(const struct allns *a)
{
	json_t *d;

	if (a->saved)
		return json_incref(json_object_get(a->saved, "discovery"));
	d = netns_list_to_json(a->list);
	if (d) {
		json_object_del(d, "namespaces");
		json_object_set_new(d, "owners", json_pack("{s:I,s:I,s:I}", "processes_read",
							   (json_int_t)a->os.procs_scanned, "processes_denied",
							   (json_int_t)a->os.procs_denied, "scans",
							   (json_int_t)(a->owners_done ? 1 : 0)));
		json_object_set_new(d, "tcp_dumps_ahead", json_integer((json_int_t)a->ahead));
	}
	return d;
}

int allns_json_begin(FILE *out, const struct allns *a)
{
	json_t *d = discovery_json(a);
	int r;

	fputs("{\n  \"all_netns_version\": 1,\n", out);
	fprintf(out, "  \"collected_at\": \"%s\",\n", a->collected_at);
	r = put_value(out, "discovery", d ? d : json_null(), "  ", true);
	json_decref(d);
	fputs("  \"namespaces\": [", out);
	return r;
}

int allns_json_element_text(FILE *out, const char *text, bool first)
{
	fputs(first ? "\n    " : ",\n    ", out);
	put_indented(out, text, "    ");
	return ferror(out) ? -EIO : 0;
}

static char *element_dump(const json_t *el)
{
	return json_dumps(el, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
}

char *allns_element_text(const struct netns_entry *e, const char *key, const json_t *doc)
{
	json_t *el = allns_element(e, key, json_incref((json_t *)doc));
	char *text = el ? element_dump(el) : NULL;

	json_decref(el);
	return text;
}

int allns_json_element(FILE *out, const json_t *el, bool first)
{
	char *s = element_dump(el);
	int r;

	if (!s)
		return -ENOMEM;
	r = allns_json_element_text(out, s, first);
	free(s);
	return r;
}

int allns_json_end(FILE *out, const json_t *summary)
{
	fputs("\n  ],\n", out);
	if (put_value(out, "summary", summary ? summary : json_null(), "  ", false) < 0)
		return -ENOMEM;
	fputs("}\n", out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

int allns_json_put(FILE *out, const struct netns_entry *e, const char *key, json_t *doc, bool *first)
{
	json_t *el = allns_element(e, key, doc);
	int r = el ? allns_json_element(out, el, *first) : -ENOMEM;

	*first = false;
	json_decref(el);
	return r;
}

int allns_json_finish(FILE *out, const struct allns *a)
{
	json_t *sum = allns_summary_json(a);
	int r = allns_json_end(out, sum);

	json_decref(sum);
	return r;
}

int allns_json_each(FILE *out, const struct allns *a, const char *key, json_t *(*make)(const json_t *facts))
{
	bool first = true, oom = false;
	int r = allns_json_begin(out, a);

	for (size_t i = 0; i < a->n && r == 0; i++) {
		json_t *facts = allns_facts(a, i, &oom);

		if (oom)
			return -ENOMEM;
		if (make) {
			json_t *doc = facts ? make(facts) : NULL;

			json_decref(facts);
			facts = doc;
		}
		r = allns_json_put(out, a->ns[i].e, key, facts, &first);
	}
	return r < 0 ? r : allns_json_finish(out, a);
}

int allns_json_write(FILE *out, const struct allns *a, const char *const *texts, size_t n, const json_t *summary)
{
	int r = allns_json_begin(out, a);
	bool first = true;

	for (size_t j = 0; j < n && r == 0; j++, first = false)
		r = allns_json_element_text(out, texts[j], first);
	/* the namespaces not read: their netns object only */
	for (size_t i = 0; i < a->n && r == 0; i++)
		if (a->ns[i].e->state != NETNS_ENTERED)
			r = allns_json_put(out, a->ns[i].e, NULL, NULL, &first);
	return r == 0 ? allns_json_end(out, summary) : r;
}

json_t *allns_element(const struct netns_entry *e, const char *key, json_t *doc)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "netns", netns_entry_to_json(e)) < 0) {
		json_decref(o);
		json_decref(doc);
		return NULL;
	}
	if (key && doc && json_object_set_new(o, key, doc) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
