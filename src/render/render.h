/* Renderers (src/render/): each turns a document (the audit made by
 * rules_evaluate() with the facts for context, a facts document, the
 * document a command prints with --json) into text, Prometheus or Nagios
 * output on a FILE *; they never read the system.  The report command's
 * state (the state directory, the comparison with the previous run, the
 * history of values) is in src/report/. */
#ifndef NK_RENDER_H
#define NK_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct text_opts {
	bool color;
	bool verbose;      /* the full text: each finding with its message,
			      observed and recommended values, why and risk,
			      each recommendation with the rules that asked,
			      and every rule's result; otherwise a summary: one
			      line per finding, the recommendations' lines */
	int width;         /* of the summary's lines: a terminal's columns;
			      0: 100 */
	bool section;      /* one namespace's part of a longer report: the
			      verdict without "netknobs audit: ", no line for
			      nothing to report, the findings without their
			      rationale and risk (netknobs explain RULE) */
};

/* netknobs audit's text: the verdict, then a summary (what is wrong, one
 * line per finding, and what to set) or, verbose, everything. */
void report_audit_text(const json_t *audit, FILE *out, const struct text_opts *o);

/* A sysctl value of an audit (an integer, a string escaped, a list of them
 * blank-separated as sysctl(8) prints it; "n/a" for none) on out. */
void report_value_text(FILE *out, const json_t *v);

/* The one-line verdict the text starts with, from the audit's summary
 * ("0 critical, 2 warnings, 1 notice, 40 passed, 3 not applicable"),
 * after "UNKNOWN: could not read ..." when core facts are missing.  The
 * audit document carries it as "verdict".  Newly allocated; NULL when out
 * of memory. */
char *report_audit_verdict(const json_t *audit);

/* The summary of a facts document that `netknobs facts` prints: host,
 * sysctls, the main counters, sockets, the sampling window, notes. */
void report_facts_text(const json_t *facts, FILE *out);

/* netknobs profiles: each profile of the document profiles --json prints
 * with its description, rule sets and variables. */
void report_profiles_text(const json_t *profiles, FILE *out);

/* netknobs rules: one row per rule of the document rules --json prints
 * (id, severity, state, file and line), the RULE column as wide as the
 * longest id, then how many rules in how many rule sets. */
void report_rules_text(const json_t *rules, FILE *out);

/* netknobs explain: the document explain --json prints, a sysctl key
 * (kind "key": what it does, its value, counters, the rules using it) or
 * a rule's full text (kind "rule"), src/render/explain-text.c. */
void report_explain_text(const json_t *explain, FILE *out);

struct fix_text_opts {
	bool verbose;      /* after --write or --apply: also the notes */
	bool check;        /* fix --check -v: the diff against the file there,
			      the warnings on err */
};

/* netknobs fix, from the document fix --json prints (src/render/fix-text.c):
 * the drop-in it would write and the diff against the file there (notes
 * and warnings after it), or what --write and --apply did (the values set,
 * the file written, the listeners to restart; warnings and notes on err),
 * or with "stdout" the drop-in itself on out and the rest on err, or for a
 * namespace the host's sysctl.d does not reach ("sysctl_d_applies": false)
 * each setting with the command that sets it there. */
void report_fix_text(FILE *out, FILE *err, const json_t *doc, const struct fix_text_opts *o);
/* The values of a fix --apply or --undo (the document's "applied": key,
 * value, old, status, error), from what was read back: "set KEY = V (was
 * W)", "rolled back KEY to W", and those that failed as the program's
 * error lines ("netknobs: error: KEY = V: WHY"). */
void report_fix_applied_text(FILE *out, const json_t *applied);

struct listeners_opts {
	bool color;
	bool verbose;      /* each member of a SO_REUSEPORT group on a row of its own */
	/* --all-netns: a NAMESPACE column first, holding netns, netns_width
	 * wide (longer names cut with "..." when cut_netns: a terminal) */
	const char *netns;
	int netns_width;
	bool cut_netns;
	bool rows_only;    /* one namespace's rows of a longer table: no header,
			      no footnotes, nothing for no listener */
};

/* What the rows of report_listeners_text() held. */
#define LISTENERS_ROWS   0x1u   /* at least one */
#define LISTENERS_GROUPS 0x2u   /* a SO_REUSEPORT group */
#define LISTENERS_HIDDEN 0x4u   /* a quiet connected UDP socket not shown */

/* The NAMESPACE cell of a row (--all-netns): o->netns padded to
 * o->netns_width, or cut there with "..." when o->cut_netns; nothing
 * without o->netns. */
void report_netns_cell(FILE *out, const struct listeners_opts *o);

/* netknobs listeners: every listening socket of a facts document, fullest
 * accept queue first (with a sampling window, its peaks), a SO_REUSEPORT
 * group as one row, each owner with its state.  Returns LISTENERS_*. */
unsigned report_listeners_text(const json_t *facts, FILE *out, const struct listeners_opts *o);
/* The header line, with NAMESPACE when o->netns_width > 0 (without a
 * sampling window), and the footnotes for what the rows held: for a table
 * made of several report_listeners_text(rows_only) calls. */
void report_listeners_header(FILE *out, bool sampled, const struct listeners_opts *o);
void report_listeners_footer(FILE *out, unsigned seen, const struct listeners_opts *o);
/* The same as JSON (one object per socket, with fill_percent; the window
 * without the counters' rates).  A new reference, NULL when out of memory. */
json_t *report_listeners_json(const json_t *facts);

/* A socket's local endpoint as the listeners view prints it ("[::]:53",
 * "0.0.0.0:80%2"), escaped, and its processes ("comm[pid] state fds N/M",
 * stopped or stuck ones first, at most three). */
void report_sock_endpoint(const json_t *sock, char *buf, size_t len);
void report_sock_procs(const json_t *sock, bool color, FILE *out);

/* netknobs listeners --udp: the UDP sockets of a facts document, fullest
 * and dropping first; verbose also lists connected sockets with nothing
 * queued or dropped (src/render/udp-text.c).  With o->netns a NAMESPACE
 * cell starts each row; with o->rows_only only the rows and what is said
 * of this namespace alone.  Returns LISTENERS_ROWS | LISTENERS_HIDDEN. */
unsigned report_udp_text(const json_t *facts, FILE *out, const struct listeners_opts *o);
/* The header and the footnotes of a table of UDP sockets made of several
 * report_udp_text(rows_only) calls (listeners --udp --all-netns); seen:
 * what they returned, or-ed. */
void report_udp_header(FILE *out, const struct listeners_opts *o);
void report_udp_footer(FILE *out, unsigned seen, const struct listeners_opts *o);
/* The same as JSON: "udp_stats" and the listed sockets in that order, each
 * with fill_percent.  A new reference, NULL when out of memory. */
json_t *report_udp_json(const json_t *facts);

/* The changes since the last run made by netknobs report (doc/formats.md),
 * in plain words; with always, also what did not change
 * (src/render/changes-text.c). */
void report_changes_text(const json_t *report, FILE *out, bool always);

struct prom_opts {
	double duration_s;       /* how long the audit took */
	long long timestamp;     /* when it ran, Unix time */
	/* --all-netns: the namespaces entered, gone, denied and not entered
	 * (netknobs_network_namespaces), or NULL */
	const unsigned long *netns_states;
};

/* One network namespace's documents for the renderers of --all-netns:
 * netns NULL for a run on one namespace (no namespace labels). */
struct report_ns {
	const char *netns, *kind;       /* display name and kind */
	const json_t *audit, *facts, *report;
};

/* Prometheus text exposition (format 0.0.4) of an audit, the facts it was
 * made from and, when not NULL, a report's changes.  Returns 0 or -EIO. */
int report_prom(const json_t *audit, const json_t *facts, const json_t *report,
		const struct prom_opts *o, FILE *out);
/* The same for several namespaces: each family's series of all of them
 * together, each with the labels netns="NAME" and netns_kind="KIND". */
int report_prom_all(const struct report_ns *v, size_t n, const struct prom_opts *o, FILE *out);

/* A Nagios/Icinga plugin's output: one status line with performance data,
 * then one line per finding.  status is the exit status (0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN); report, when not NULL, adds its changes. */
void report_nagios(const json_t *audit, const json_t *facts, const json_t *report, int status,
		   FILE *out);
/* The same over several namespaces (--all-netns): how many have findings,
 * the most severe named, every finding with its namespace. */
void report_nagios_all(const struct report_ns *v, size_t n, int status, FILE *out);
/* "NETKNOBS UNKNOWN - " and the last error logged, for when there is no
 * audit. */
void report_nagios_unknown(FILE *out);

#endif
