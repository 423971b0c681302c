/* Rule sets: loading (YAML with file:line:col in every message), overrides
 * (disable, severity, variables, waivers) and evaluation against a facts
 * document.  The file format is described in doc/rules.md. */
#ifndef NK_RULES_H
#define NK_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "rules/expr.h"

enum severity { SEV_INFO, SEV_NOTICE, SEV_WARNING, SEV_CRITICAL, SEV_COUNT };

const char *severity_name(enum severity s);
/* Returns 0 and sets *out, or -EINVAL. */
int severity_parse(const char *s, enum severity *out);

/* What an observed value counts (a rule's "unit"): the text says it next
 * to the number ("97%", "511 connections", "1 (setting)"); "text": a word
 * or a name, shown as it is. */
enum unit {
	UNIT_COUNT, UNIT_SETTING, UNIT_PERCENT, UNIT_BYTES, UNIT_PAGES, UNIT_MS, UNIT_SECONDS,
	UNIT_PACKETS, UNIT_DATAGRAMS, UNIT_CONNECTIONS, UNIT_SOCKETS, UNIT_DESCRIPTORS, UNIT_TEXT, UNIT_COUNT_
};

const char *unit_name(enum unit u);
/* Returns 0 and sets *out, or -EINVAL. */
int unit_parse(const char *s, enum unit *out);

/* Where something was written. */
struct origin {
	const char *file;      /* borrowed from the rulebook's file list */
	unsigned line, col;
};

/* A message template: literal text with {expression} parts. */
struct template_part {
	char *text;            /* literal, or NULL */
	struct expr *expr;     /* or an expression */
};
struct template {
	struct template_part *parts;
	size_t n;
	char *src;             /* the text as written */
};

enum rec_mode {
	REC_AT_LEAST,          /* the largest of several recommendations wins */
	REC_AT_MOST,           /* the smallest wins */
	REC_EXACT,             /* all must agree */
};

/* "at-least", "at-most", "exact": the modes as rule files and the audit
 * document write them. */
const char *rec_mode_name(enum rec_mode m);
int rec_mode_parse(const char *s, enum rec_mode *out);   /* 0 or -EINVAL */

struct recommend {
	char *key;             /* canonical dotted sysctl key */
	struct expr *value;
	enum rec_mode mode;
	char *note;            /* caveat shown with the recommendation, or NULL */
	struct origin where;
};

enum rule_state { RULE_ENABLED, RULE_DISABLED };

struct waiver {
	char *rule_id;
	char *subject;         /* NULL: every subject of the rule */
	char *reason;
	char expires[11];      /* YYYY-MM-DD or "" */
	bool expired;          /* computed against today's date at load */
	struct origin where;
};

struct rule {
	char *id, *title, *rationale, *risk;
	enum severity severity;          /* after overrides */
	enum severity default_severity;  /* as written in the rule set */
	enum rule_state state;
	struct origin state_where;       /* the override that changed state/severity */
	char **tags;
	size_t ntags;
	char **refs;
	size_t nrefs;
	char *foreach_name;              /* "listener" in "listener in listeners" */
	struct expr *foreach;            /* the collection */
	char **let_names;                /* let: names bound per item, in order, */
	struct expr **lets;              /* and their expressions (each sees the */
	size_t nlets;                    /* item and the lets before it) */
	struct expr *applies, *check;    /* applies may be NULL */
	struct expr *observed;           /* may be NULL */
	enum unit unit;                  /* of observed: as written, or the default */
	struct template message, subject; /* subject may be empty */
	struct recommend *recs;
	size_t nrecs;
	const char *ruleset;             /* name of its rule set */
	struct origin where;
};

struct ruleset_info {
	char *name;
	long long version;
	char *description;
	bool opt_in;           /* "default: false": only when selected */
	const char *file;
};

enum {
	KEY_NS_UNKNOWN = -1,
	KEY_NS_HOST_ONLY = 0,  /* exists in the initial network namespace only */
	KEY_NS_PER_NETNS = 1,  /* each network namespace has its own value */
	KEY_NS_SHARED = 2,     /* one host-wide value, visible in every namespace */
};

/* Documentation of a sysctl key (a rule set's "keys" section), for
 * `netknobs explain KEY`. */
struct key_doc {
	char *key;             /* canonical dotted key */
	char *summary;
	char *default_text;    /* default by kernel version, in words */
	int namespaced;        /* KEY_NS_* */
	char **counters;       /* "TcpExt.ListenOverflows", ... */
	size_t ncounters;
	char *notes;
	const char *ruleset;
	struct origin where;
};

/* A profile: which rule sets to run, with which variables. */
struct profile {
	char *name;
	char *description;
	char **rulesets;
	size_t nrulesets;
	json_t *vars;          /* variables the profile sets (an object) */
	struct origin where;
};

/* A lookup table (the "tables" section of rule files, read by lookup() in
 * expressions): a rule set declares it with the fields its entries may
 * have; any file adds entries.  See doc/rules.md. */
struct table_decl {
	char *name;
	char *description;
	char **fields;         /* besides name and match */
	size_t nfields;
	struct origin where;
};

/* An entry as loaded, in load order: a later entry of the same table and
 * name replaces an earlier one, and later entries are tried first. */
struct table_entry {
	char *table;
	char *name;
	json_t *json;          /* what lookup() gives: name, match and the fields */
	char **fields;         /* the fields written besides name and match, */
	struct origin *field_where; /* and where */
	size_t nfields;
	struct origin where;   /* of the entry */
	struct origin table_where; /* of the table's name in that file */
};

/* A lookup() in an expression, checked against the tables once every file
 * is loaded. */
struct table_use {
	char *table;
	struct origin where;
};

enum rule_source {
	SRC_EMBEDDED,          /* compiled into the binary */
	SRC_DATADIR,           /* the installed rule sets */
	SRC_SYSCONF,           /* /etc/netknobs/rules.d */
	SRC_COMMAND_LINE,      /* --rules PATH */
};

struct rule_file_id {
	unsigned long long dev, ino;
};

struct rulebook {
	struct rule *rules;
	size_t nrules, rules_cap;
	size_t *id_index;        /* open-addressing hash of rule ids -> index + 1 */
	size_t id_index_size;    /* a power of two, or 0 */
	struct ruleset_info *sets;
	size_t nsets;
	struct waiver *waivers;
	size_t nwaivers;
	json_t *vars;            /* variables: rule-set defaults, then site overrides */
	json_t *site_vars;       /* the site's own (override files), which win over profiles */
	json_t *default_vars;    /* the rule sets' defaults (the first of each name) */
	struct key_doc *keys;
	size_t nkeys;
	struct profile *profiles;
	size_t nprofiles;
	char **files;            /* every file loaded (owned), for origins */
	size_t nfiles;
	struct rule_file_id *file_ids; /* device and inode of each file read from disk */
	size_t nfile_ids;
	unsigned errors;         /* errors reported so far */
	struct table_decl *tdecls;
	size_t ntdecls;
	struct table_entry *tentries;
	size_t ntentries;
	struct table_use *tuses;
	size_t ntuses;
	json_t *tables;          /* built by rulebook_finish: table name -> its entries
				    in the order lookup() tries them (env->tables) */
	const struct profile *profile; /* chosen with rulebook_use_profile, or NULL */
	char today[11];          /* YYYY-MM-DD for waiver expiry (tests may set it) */
	/* overrides are collected while loading and applied by rulebook_finish */
	struct pending_override *pending;
	size_t npending;
};

void rulebook_init(struct rulebook *rb);

/* What main() takes from the environment for the engine, before any rule
 * book is made: the threads evaluating rules (NETKNOBS_THREADS; 0: as many
 * as pay, one per CPU online up to 8), and the date waivers expire against
 * (NETKNOBS_TODAY, YYYY-MM-DD, for tests; NULL: today's). */
struct rules_settings {
	unsigned threads;
	const char *today;
};
void rules_configure(const struct rules_settings *s);
void rulebook_free(struct rulebook *rb);

/* Load a rule or override file.  Errors are printed as
 * "FILE:LINE:COL: error: ..." and counted in rb->errors; loading goes on
 * so that one run reports every error it can find.  A file already loaded
 * (the same device and inode: --rules naming a file of rules.d) is not
 * loaded twice. */
void rulebook_load_file(struct rulebook *rb, const char *path);
/* The same for a buffer (name is used in messages). */
void rulebook_load_buffer(struct rulebook *rb, const char *name, const char *buf, size_t len);
/* Every *.yaml and *.yml file of a directory, in lexical order.  Returns
 * -ENOENT when the directory does not exist (not an error for optional
 * directories); other failures are reported and counted. */
int rulebook_load_dir(struct rulebook *rb, const char *dir);
/* A file or a directory. */
void rulebook_load_path(struct rulebook *rb, const char *path);
/* The rule sets compiled into the binary. */
void rulebook_load_embedded(struct rulebook *rb);

/* Apply overrides (after every file is loaded): unknown rule ids are
 * errors. */
void rulebook_finish(struct rulebook *rb);

/* Check every profile as rulebook_use_profile() would (its rule sets are
 * loaded, its variables defined with the right type), without choosing
 * one; errors are reported and counted (lint). */
void rulebook_check_profiles(struct rulebook *rb);

/* Load the standard sources in order: the installed data directory when it
 * holds rule sets, else the embedded ones; then sysconfdir/netknobs/rules.d;
 * then each extra path.  Below a root other than "/" (--root), the two
 * directories and their files are those of the root, links resolved inside
 * it.  no_defaults skips the first two sources. */
void rulebook_load_standard(struct rulebook *rb, const char *root, const char *const *extra,
			    size_t nextra, bool no_defaults);

/* Select a profile: its rule sets become the default selection and its
 * variables apply (site variables still win).  Returns 0, or -ENOENT after
 * printing an error with a suggestion. */
int rulebook_use_profile(struct rulebook *rb, const char *name);

/* Whether a rule runs when nothing selects it explicitly (--only, --rule):
 * its rule set is in the chosen profile, or, without a profile, its rule
 * set is not opt-in. */
bool rulebook_rule_default(const struct rulebook *rb, const struct rule *r);

const struct key_doc *rulebook_key_doc(const struct rulebook *rb, const char *key);

/* Lookup tables (tables.c).  Each takes ownership of what it is given,
 * also on failure; errors are logged with their place and counted in
 * rb->errors. */
void tables_declare(struct rulebook *rb, struct table_decl *d);
void tables_add_entry(struct rulebook *rb, struct table_entry *e);
void tables_add_use(struct rulebook *rb, struct table_use *u);
/* Check entries and lookup() uses against the declarations, and build
 * rb->tables.  Part of rulebook_finish(). */
void tables_finish(struct rulebook *rb);
void tables_free(struct rulebook *rb);
void table_decl_free(struct table_decl *d);
void table_entry_free(struct table_entry *e);
const struct rule *rulebook_rule(const struct rulebook *rb, const char *id);

/* Call fn for each sysctl key one rule reads or recommends. */
int rule_sysctl_keys(const struct rule *r, int (*fn)(const char *key, void *data), void *data);

/* Call fn for each sysctl key any rule reads (patterns included). */
int rulebook_sysctl_keys(const struct rulebook *rb, int (*fn)(const char *key, void *data),
			 void *data);

/* ---- evaluation ---- */

struct eval_filter {
	const char *const *tags;   /* --only TAG: rules with any of these tags */
	size_t ntags;
	const char *const *ids;    /* --rule ID */
	size_t nids;
	bool all_items;            /* list passing foreach items too (--verbose) */
	unsigned *threads;         /* if not NULL: set to the number of threads
				      that evaluated (--timing) */
};

/* Evaluate every enabled rule selected by the filter against facts, on
 * several threads when there is enough work and more than one CPU (or as
 * many as the environment variable NETKNOBS_THREADS says), with the same
 * result as on one.
 * Returns a new JSON object (see doc/audit-schema.json): "results" (one per
 * rule and subject, with status pass|fail|not-applicable|error|waived),
 * "recommendations" (merged per sysctl key), "summary" counts.  NULL only
 * when out of memory. */
json_t *rules_evaluate(const struct rulebook *rb, const json_t *facts,
		       const struct eval_filter *filter);

#endif
