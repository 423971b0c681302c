/* netknobs explain KEY|RULE: what a sysctl key does and where it stands
 * here, or a rule's full text.  The content lives in the rule sets (their
 * "keys" sections), so it works offline. */
#include "config.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "facts/sysctl.h"
#include "render/render.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/suggest.h"

enum { OPT_FROM = OPT_CMD_BASE };

struct explain_args {
	const char *from;
	struct rule_opts ro;
};

static int explain_opt(int c, const char *arg, void *data)
{
	struct explain_args *a = data;

	if (c == OPT_FROM) {
		a->from = arg;
		return 0;
	}
	return rule_opts_option(&a->ro, c, arg) == 1 ? 0 : -1;
}

struct uses {
	const char *key;
	bool hit;
};

static int key_used(const char *k, void *data)
{
	struct uses *u = data;

	if (k && (!strcmp(k, u->key) || fnmatch(k, u->key, 0) == 0))
		u->hit = true;
	return 0;
}

static json_t *counter_value(const json_t *facts, const char *name)
{
	char prefix[64];
	const char *dot = strchr(name, '.');

	if (!dot || (size_t)(dot - name) >= sizeof(prefix))
		return NULL;
	memcpy(prefix, name, (size_t)(dot - name));
	prefix[dot - name] = '\0';
	return json_object_get(json_object_get(json_object_get(facts, "counters"), prefix), dot + 1);
}

/* The closest rule id or documented key to a mistyped name, or NULL:
 * "net.core.somaxcon" -> "net.core.somaxconn", and a key's last part
 * alone ("somaxconn") -> the documented key that ends with it. */
static const char *closest_name(const struct rulebook *rb, const char *word)
{
	size_t n = rb->nrules + rb->nkeys, wl = strlen(word);
	const char **names = malloc((n + 1) * sizeof(*names));
	const char *s = NULL;

	if (!names)
		return NULL;
	for (size_t i = 0; i < rb->nrules; i++)
		names[i] = rb->rules[i].id;
	for (size_t i = 0; i < rb->nkeys; i++)
		names[rb->nrules + i] = rb->keys[i].key;
	s = suggest_closest(word, names, n);
	for (size_t i = 0; !s && i < rb->nkeys; i++) {
		size_t kl = strlen(rb->keys[i].key);

		if (kl > wl && rb->keys[i].key[kl - wl - 1] == '.' && !strcmp(rb->keys[i].key + kl - wl, word))
			s = rb->keys[i].key;
	}
	free(names);
	return s;
}

/* "explain: 'X' WHAT; did you mean 'Y'?" */
static void unknown_name(const struct rulebook *rb, const char *word, const char *what)
{
	const char *s = closest_name(rb, word);
	char *esc = escape_untrusted_str(word);

	log_error("explain: '%s' %s%s%s%s", esc ? esc : "?", what, s ? "; did you mean '" : "", s ? s : "",
		  s ? "'?" : "");
	free(esc);
}

/* The rules that read or recommend key, as explain --json lists them. */
static json_t *key_users(const struct rulebook *rb, const char *key)
{
	json_t *users = json_array();

	for (size_t i = 0; users && i < rb->nrules; i++) {
		struct uses u = { key, false };

		rule_sysctl_keys(&rb->rules[i], key_used, &u);
		if (u.hit)
			json_array_append_new(users, json_pack("{s:s,s:s,s:s}", "id", rb->rules[i].id, "severity",
							       severity_name(rb->rules[i].severity), "title",
							       rb->rules[i].title));
	}
	return users;
}

/* The document of explain KEY: its documentation, value and counters from
 * facts, and the rules using it (users, a reference taken). */
static json_t *key_doc(const struct key_doc *d, const char *key, const json_t *facts, json_t *users)
{
	const json_t *v = json_object_get(json_object_get(facts, "sysctl"), key);
	const json_t *una = json_object_get(json_object_get(facts, "sysctl_unavailable"), key);
	json_t *out = json_pack("{s:i,s:s,s:s}", "schema_version", 1, "kind", "key", "key", key);
	json_t *counters = json_object();

	if (!out || !counters) {
		json_decref(out);
		json_decref(counters);
		return NULL;
	}
	if (d) {
		json_object_set_new(out, "summary", json_string(d->summary));
		if (d->default_text)
			json_object_set_new(out, "default", json_string(d->default_text));
		if (d->namespaced != KEY_NS_UNKNOWN)
			json_object_set_new(out, "scope", json_string(d->namespaced == KEY_NS_PER_NETNS ? "netns"
								     : d->namespaced == KEY_NS_SHARED ? "host-shared"
								     : "host-only"));
		if (d->notes)
			json_object_set_new(out, "notes", json_string(d->notes));
		for (size_t i = 0; i < d->ncounters; i++) {
			json_t *c = counter_value(facts, d->counters[i]);

			json_object_set(counters, d->counters[i], c ? c : json_null());
		}
	}
	json_object_set_new(out, "counters", counters);
	if (v)
		json_object_set(out, "value", (json_t *)v);
	if (una)
		json_object_set(out, "unavailable", (json_t *)una);
	json_object_set(out, "rules", users);
	return out;
}

static int explain_text(const void *doc, FILE *out)
{
	report_explain_text(doc, out);
	return 0;
}

static const struct cmd_renderers explain_renderers = { {
	[FORMAT_TEXT] = explain_text, [FORMAT_JSON] = cmd_render_json,
} };

static int explain_key(const struct globals *g, const struct explain_args *a, const struct rulebook *rb,
		       const char *key)
{
	const struct key_doc *d = rulebook_key_doc(rb, key);
	const char *keys[1] = { key };
	json_t *facts = cmd_get_facts(g, a->from, keys, 1, 0), *users;
	int ret;

	if (!facts)
		return EXIT_NK_ERROR;
	users = key_users(rb, key);
	/* a key nothing knows: not documented, read by no rule, and absent
	 * from this kernel: most likely a typo, not a key to describe */
	if (!d && !json_array_size(users) && !json_object_get(json_object_get(facts, "sysctl"), key) &&
	    !strcmp(json_string_value(json_object_get(
			    json_object_get(json_object_get(facts, "sysctl_unavailable"), key), "reason")) ?: "",
		    "missing")) {
		unknown_name(rb, key, "is not a sysctl key of this kernel, nor a documented key or a rule id");
		ret = EXIT_NK_ERROR;
	} else {
		ret = cmd_print_doc(g, &explain_renderers, users ? key_doc(d, key, facts, users) : NULL);
	}
	json_decref(users);
	json_decref(facts);
	return ret;
}

static const char *mode_name(enum rec_mode m)
{
	return m == REC_AT_LEAST ? "at least" : m == REC_AT_MOST ? "at most" : "exactly";
}

/* The document of explain RULE: the rule's full text. */
static json_t *rule_doc(const struct rulebook *rb, const struct rule *r)
{
	json_t *out = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?}", "schema_version", 1, "kind", "rule",
				"id", r->id, "title", r->title, "severity", severity_name(r->severity), "ruleset",
				r->ruleset, "check", expr_source(r->check), "rationale", r->rationale, "risk",
				r->risk);
	json_t *recs = json_array(), *refs = json_array(), *tags = json_array();
	char src[4200];

	if (!out || !recs || !refs || !tags) {
		json_decref(out);
		json_decref(recs);
		json_decref(refs);
		json_decref(tags);
		return NULL;
	}
	snprintf(src, sizeof(src), "%s:%u:%u", r->where.file, r->where.line, r->where.col);
	json_object_set_new(out, "source", json_string(src));
	json_object_set_new(out, "default_severity", json_string(severity_name(r->default_severity)));
	if (r->severity != r->default_severity) {
		snprintf(src, sizeof(src), "%s:%u:%u", r->state_where.file, r->state_where.line,
			 r->state_where.col);
		json_object_set_new(out, "severity_changed_at", json_string(src));
	}
	if (r->foreach)
		json_object_set_new(out, "foreach", json_pack("{s:s,s:s}", "name", r->foreach_name, "collection",
							      expr_source(r->foreach)));
	if (r->applies)
		json_object_set_new(out, "applies", json_string(expr_source(r->applies)));
	if (r->message.src)
		json_object_set_new(out, "message", json_string(r->message.src));
	for (size_t i = 0; i < r->nrecs; i++)
		json_array_append_new(recs, json_pack("{s:s,s:s,s:s,s:s?}", "key", r->recs[i].key, "mode",
						      mode_name(r->recs[i].mode), "value",
						      expr_source(r->recs[i].value), "note", r->recs[i].note));
	for (size_t i = 0; i < r->nrefs; i++)
		json_array_append_new(refs, json_string(r->refs[i]));
	for (size_t i = 0; i < r->ntags; i++)
		json_array_append_new(tags, json_string(r->tags[i]));
	json_object_set_new(out, "recommend", recs);
	json_object_set_new(out, "references", refs);
	json_object_set_new(out, "tags", tags);
	json_object_set_new(out, "enabled", json_boolean(r->state == RULE_ENABLED));
	json_object_set_new(out, "default", json_boolean(rulebook_rule_default(rb, r)));
	return out;
}

static int explain_run(struct globals *g, int argc, char **argv)
{
	struct explain_args a = { 0 };
	struct rulebook rb;
	const struct rule *rule;
	char key[SYSCTL_KEY_MAX + 1];
	const char *why;
	int r, ret = EXIT_NK_ERROR;

	r = cmd_parse(&cmd_explain, g, argc, argv, explain_opt, &a);
	if (r < 0) {
		rule_opts_free(&a.ro);
		return CMD_PARSE_STATUS(r);
	}
	if (cmd_load_rules(g, &a.ro, &rb) < 0)
		goto out;
	if ((rule = rulebook_rule(&rb, argv[r]))) {
		ret = cmd_print_doc(g, &explain_renderers, rule_doc(&rb, rule));
	} else if (sysctl_key_parse(argv[r], NULL, key, &why) == 0 && strchr(key, '.') &&
		   (rulebook_key_doc(&rb, key) || !strpbrk(key, "*?["))) {
		ret = explain_key(g, &a, &rb, key);
	} else {
		unknown_name(&rb, argv[r], "is neither a rule id nor a sysctl key");
	}
out:
	rulebook_free(&rb);
	rule_opts_free(&a.ro);
	return ret;
}

const struct cmd cmd_explain = {
	.name = "explain",
	.operands_min = 1,
	.operands_max = 1,
	.operands = "one sysctl key or rule id",
	.summary = "explain a sysctl key (what it does, its value here, the rules using it) or a rule",
	.usage =
		"Usage: netknobs explain KEY|RULE [--from FILE] [--rules PATH]... [--no-default-rules] [--json]\n"
		"\n"
		"For a sysctl key: what it does in plain words, its default by kernel version,\n"
		"whether each network namespace has its own, its value here, the counters that\n"
		"show trouble with it, and the rules that use it.  For a rule id: its full text.\n",
	.options = (const struct cmd_opt[]){
		{ "from", 0, "FILE", .val = OPT_FROM,
		  .help = "take the value and counters from a saved facts document" },
		{ .group = rule_options },
		{ .label = "--json, --format json", .help = "as JSON" },
		{ 0 },
	},
	.run = explain_run,
	.renderers = &explain_renderers,
};
