/* Renderers: they read the audit document made by rules_evaluate() (and
 * the facts for context), never the system. */
#ifndef NK_REPORT_H
#define NK_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct text_opts {
	bool color;
	bool verbose;      /* list passes and not-applicable results too */
};

void report_audit_text(const json_t *audit, FILE *out, const struct text_opts *o);

#endif
