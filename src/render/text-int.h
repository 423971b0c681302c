/* What the audit's two texts share: the short summary (text-short.c) and
 * the full text of --verbose (text.c). */
#ifndef NK_RENDER_TEXT_INT_H
#define NK_RENDER_TEXT_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "render/render.h"

#define TEXT_RESET "\033[0m"

/* o[k] as a string, "" when absent. */
const char *text_str(const json_t *o, const char *k);

/* o's "observed" value with what it counts (o's "observed_unit"): "97%",
 * "511 connections", "1532 (count)", "1 (setting)"; a text as it is. */
void text_observed(FILE *out, const json_t *o);

/* A rule's "source" (FILE:LINE:COLUMN) as rules and explain show it:
 * FILE (escaped) and ":LINE" (src/render/catalog-text.c). */
void text_source(FILE *out, const char *src);

/* The escape sequence that colors a severity. */
const char *text_sev_color(const char *sev);

/* A finding's label: its severity in capitals, or WAIVED. */
void text_label(const json_t *f, char *buf, size_t len);

/* Whether the audit's recommendations are for a network namespace other
 * than the one netknobs runs in (the host's sysctl.d does not reach it),
 * and their heading then (summary: for the short text's layout, a line
 * per key and one command after them). */
bool text_recs_away(const json_t *audit);
void text_recs_heading(FILE *out, const json_t *ns, bool summary);

/* Whether a merged recommendation asks for nothing (already satisfied). */
bool text_rec_satisfied(const json_t *r);

/* The short audit after the verdict (text-short.c): one line per finding,
 * those of one rule together, then the recommendations and where the rest
 * is. */
void text_short_body(const json_t *audit, FILE *out, const struct text_opts *o);

#endif
