/* netknobs facts: what netknobs knows about this host. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd-allns.h"
#include "facts/facts.h"
#include "facts/sysctl.h"
#include "render/render.h"
#include "util/atomic.h"
#include "util/escape.h"
#include "util/log.h"

enum { OPT_FROM = OPT_CMD_BASE, OPT_SYSCTL, OPT_OUTPUT };

struct facts_args {
	const char *from;
	const char *output;
	bool json;      /* -o -: the JSON document on standard output */
	const char **keys;
	size_t nkeys;
	struct sample_args sample;
};

static int facts_opt(int c, const char *arg, void *data)
{
	struct facts_args *a = data;

	if (sample_args_option(&a->sample, c, arg))
		return 0;
	switch (c) {
	case OPT_FROM:
		a->from = arg;
		return 0;
	case OPT_OUTPUT:    /* -o too: cmd_parse() passes the row's value */
		/* "-" is standard output, as for --from */
		a->json = strcmp(arg, "-") == 0;
		a->output = a->json ? NULL : arg;
		return 0;
	case OPT_SYSCTL: {
		const char **k = realloc(a->keys, (a->nkeys + 1) * sizeof(*k));

		if (!k)
			return -1;
		a->keys = k;
		a->keys[a->nkeys++] = arg;
		return 0;
	}
	}
	return -1;
}

static int facts_text(const void *doc, FILE *out)
{
	report_facts_text(doc, out);
	return 0;
}

static const struct cmd_renderers facts_renderers = { {
	[FORMAT_TEXT] = facts_text, [FORMAT_JSON] = cmd_render_json,
} };

/* facts --all-netns: one document per namespace under a top-level object
 * (JSON, -o), or a summary of each (text); ctx is the struct allns. */
static int facts_all_json(const void *ctx, FILE *out)
{
	return allns_json_each(out, ctx, "facts", NULL);
}

static int facts_all_text(const void *ctx, FILE *out)
{
	const struct allns *a = ctx;
	bool oom = false;

	for (size_t i = 0; i < a->n; i++) {
		json_t *doc = allns_facts(a, i, &oom);

		if (oom)
			return -ENOMEM;
		if (doc) {
			allns_print_heading(out, a->ns[i].e);
			report_facts_text(doc, out);
			fputc('\n', out);
			json_decref(doc);
		}
	}
	allns_text_tail(out, a);
	return 0;
}

static const struct cmd_renderers facts_all_renderers = { {
	[FORMAT_TEXT] = facts_all_text, [FORMAT_JSON] = facts_all_json,
} };

static int facts_all(const struct globals *g, const struct facts_args *fa)
{
	struct allns_opts o = { .from = fa->from, .keys = fa->keys, .nkeys = fa->nkeys, .sample = &fa->sample };
	bool json = fa->output || fa->json || g->format == FORMAT_JSON;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = NULL;
	struct allns a;
	int ret = EXIT_NK_ERROR, r;

	if (allns_collect(g, &o, &a) < 0)
		goto done;
	out = fa->output ? open_memstream(&buf, &len) : stdout;
	if (!out)
		goto done;
	r = cmd_render(&facts_all_renderers, json ? FORMAT_JSON : g->format, &a, out);
	if (r < 0)
		goto done;
	if (fa->output) {
		r = fclose(out) != 0 ? -EIO : r;
		out = NULL;
		if (r == 0 && atomic_write_file(fa->output, buf, len, 0644) < 0)
			goto done;
	}
	if (r == 0)
		ret = allns_status(&a);
done:
	if (out && out != stdout)
		fclose(out);
	free(buf);
	allns_free(&a);
	return ret;
}

static int facts_run(struct globals *g, int argc, char **argv)
{
	struct facts_args a = { 0 };
	json_t *doc;
	int r, ret = EXIT_NK_OK;

	r = cmd_parse(&cmd_facts, g, argc, argv, facts_opt, &a);
	if (r < 0) {
		free(a.keys);
		return CMD_PARSE_STATUS(r);
	}
	if (a.from && a.nkeys) {
		/* a saved document holds the keys it was saved with, no more */
		log_error("facts: --sysctl reads keys from the system; it cannot be combined with --from "
			  "(save the document with --sysctl instead)");
		free(a.keys);
		return EXIT_NK_ERROR;
	}
	for (size_t i = 0; i < a.nkeys; i++) {
		const char *why;

		if (sysctl_key_parse(a.keys[i], NULL, NULL, &why) < 0) {
			char *esc = escape_untrusted_str(a.keys[i]);

			log_error("--sysctl %s: invalid key: %s", esc ? esc : "?", why);
			free(esc);
			free(a.keys);
			return EXIT_NK_ERROR;
		}
	}
	if (g->all_netns) {
		ret = facts_all(g, &a);
		free(a.keys);
		return ret;
	}
	doc = cmd_get_facts_sampled(g, a.from, a.keys, a.nkeys, FACTS_SOCKETS, &a.sample);
	free(a.keys);
	if (!doc)
		return EXIT_NK_ERROR;
	if (a.output) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));

		if (!text || atomic_write_file(a.output, text, strlen(text), 0644) < 0)
			ret = EXIT_NK_ERROR;
		free(text);
	} else if (cmd_render(&facts_renderers, a.json ? FORMAT_JSON : g->format, doc, stdout) < 0) {
		ret = EXIT_NK_ERROR;
	}
	json_decref(doc);
	return ret;
}

const struct cmd cmd_facts = {
	.name = "facts",
	.summary = "show what netknobs knows about this host (sysctls, counters, sockets)",
	.usage =
		"Usage: netknobs facts [--json] [--from FILE | --sample DURATION [--interval I]]\n"
		"                      [--sysctl KEY]... [-o FILE]\n"
		"\n"
		"Collect the facts document: sysctl values, kernel counters, socket states and\n"
		"listeners, host details.  Text shows a summary; --json the whole document\n"
		"(schema in doc/facts.md), which --from can load again later or elsewhere.\n",
	.options = (const struct cmd_opt[]){
		{ .label = "--json, --format json", .help = "print the whole document as JSON" },
		{ "from", 0, "FILE", .val = OPT_FROM,
		  .help = "load a saved document instead of reading the system\n"
			  "('-' reads standard input)" },
		{ .group = sample_options },
		{ "sysctl", 0, "KEY", .val = OPT_SYSCTL,
		  .help = "also read KEY (dotted or slashed; '*' matches one\n"
			  "component: net.ipv4.conf.*.rp_filter); repeatable" },
		{ "output", 'o', "FILE", .val = OPT_OUTPUT,
		  .help = "write the JSON document to FILE atomically\n"
			  "('-' prints it on standard output)" },
		{ 0 },
	},
	.run = facts_run,
	.renderers = &facts_renderers,
	.all_netns = true,
};
