/* libFuzzer target: a facts document as `--from FILE` reads it (JSON and
 * validation), the built-in rules evaluated over it (every rule set, opt-in
 * ones too), every renderer into memory (audit text, Prometheus, Nagios, the
 * facts summary) and netknobs report's comparison with a previous run.
 *
 * The input is a facts document, optionally followed by a NUL byte and the
 * previous run: a state document (what latest.json holds) or another facts
 * document, whose audit gives that state.
 *
 * Besides the sanitizers, it checks two promises: what `facts --json` writes,
 * `--from` reads again; what report saves as its state, it loads again.
 * Build and run: tests/fuzz/run facts. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "report/report.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rulebook rb;
static struct eval_filter every_rule;

static void setup(void)
{
	static const char **ids;

	log_quiet(1);
	/* one thread: the same path for the same input */
	setenv("NETKNOBS_THREADS", "1", 1);
	rulebook_init(&rb);
	rulebook_load_embedded(&rb);
	rulebook_finish(&rb);
	ids = malloc((rb.nrules + 1) * sizeof(*ids));
	if (rb.errors || !ids)
		abort();
	for (size_t i = 0; i < rb.nrules; i++)
		ids[i] = rb.rules[i].id;
	every_rule.ids = ids;
	every_rule.nids = rb.nrules;
	every_rule.all_items = true;
}

/* `facts --json` output (print_json's flags) must load again. */
static void check_facts_roundtrip(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_t *again;

	if (!text)
		abort();
	again = facts_load_buffer("roundtrip.json", text, strlen(text));
	if (!again)
		abort();
	json_decref(again);
	free(text);
}

/* The state as state_save() writes it and state_load() reads it back. */
static json_t *state_roundtrip(json_t *st)
{
	char *text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char err[300];
	json_error_t jerr;
	json_t *again;

	if (!text)
		abort();
	again = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &jerr);
	if (!again || state_validate(again, err, sizeof(err)) < 0)
		abort();
	free(text);
	json_decref(st);
	return again;
}

/* The previous run from the part after the NUL byte: NULL and *why set
 * when it is unusable, as state_load() does. */
static json_t *previous(const char *buf, size_t len, char **why, FILE *out)
{
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), *audit, *st;
	char err[300];

	*why = NULL;
	if (!doc) {
		if (asprintf(why, "latest.json: %d:%d: %s", jerr.line, jerr.column, jerr.text) < 0)
			*why = NULL;
		return NULL;
	}
	if (json_object_get(doc, "state_version")) {
		if (state_validate(doc, err, sizeof(err)) == 0)
			return doc;
		if (asprintf(why, "latest.json: %s", err) < 0)
			*why = NULL;
		json_decref(doc);
		return NULL;
	}
	json_decref(doc);
	doc = facts_load_buffer("previous.json", buf, len);
	if (!doc)
		return NULL;
	report_facts_text(doc, out);
	audit = rules_evaluate(&rb, doc, &every_rule);
	if (!audit)
		abort();
	st = state_roundtrip(state_build(doc, audit));
	json_decref(audit);
	json_decref(doc);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *nul;
	struct text_opts plain = { .color = false, .verbose = false };
	struct text_opts rich = { .color = true, .verbose = true };
	struct prom_opts po = { .duration_s = 0.25, .timestamp = 1700000000 };
	json_t *facts, *audit, *prev, *cur, *rep;
	size_t len;
	char *why, *text = NULL;
	size_t textlen = 0;
	FILE *out;

	if (!rb.nrules)
		setup();
	nul = memchr(buf, '\0', size);
	len = nul ? (size_t)(nul - buf) : size;
	facts = facts_load_buffer("fuzz.json", buf, len);
	if (!facts)
		return 0;
	check_facts_roundtrip(facts);
	out = open_memstream(&text, &textlen);
	if (!out)
		abort();
	report_facts_text(facts, out);

	audit = rules_evaluate(&rb, facts, &every_rule);
	if (!audit)
		abort();
	report_audit_text(audit, out, &plain);
	report_audit_text(audit, out, &rich);
	if (report_prom(audit, facts, NULL, &po, out) < 0)
		abort();
	report_nagios(audit, facts, NULL, (int)(size % 4), out);

	/* netknobs report */
	prev = nul ? previous(nul + 1, size - len - 1, &why, out) : (why = NULL, NULL);
	cur = state_roundtrip(state_build(facts, audit));
	rep = state_compare(prev, cur, audit, why);
	if (!rep)
		abort();
	report_changes_text(rep, out, false);
	report_changes_text(rep, out, true);
	if (report_prom(audit, facts, rep, &po, out) < 0)
		abort();
	report_nagios(audit, facts, rep, (int)(size % 4), out);

	fclose(out);
	free(text);
	free(why);
	json_decref(rep);
	json_decref(cur);
	json_decref(prev);
	json_decref(audit);
	json_decref(facts);
	return 0;
}
