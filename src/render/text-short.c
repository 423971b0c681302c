/* The short audit, what an admin reads in ten seconds: after the verdict,
 * one line per finding (severity, subject, what is wrong: the first
 * sentence of its message, or its first clauses when that is too long);
 * the findings of one rule together under the rule's title (the first
 * GROUP_SHOWN of them, the others counted), with why and at what risk
 * once; then the recommendations as sysctl.d lines and the sysctl -w
 * command that applies them now (for another network namespace, the forms
 * that reach it).  --verbose gives everything (text.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/text-int.h"
#include "util/escape.h"
#include "util/wrap.h"

#define DEFAULT_WIDTH 100
#define MIN_WIDTH 60
#define SUBJECT_MAX 44     /* wider subjects push their line's text right */
#define MORE " ..."
/* subjects listed under a rule's title; the others are counted: a host
 * with hundreds of listeners failing one rule still gets a summary */
#define GROUP_SHOWN 10

static size_t line_width(const struct text_opts *o)
{
	return (size_t)(o->width <= 0 ? DEFAULT_WIDTH : o->width < MIN_WIDTH ? MIN_WIDTH : o->width);
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* The length of s's first sentence, without its full stop: up to a '.'
 * at the end or before a blank and a capital letter or a '`'. */
static size_t first_sentence(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '.')
			continue;
		if (i + 1 == n)
			return i;
		if (s[i + 1] == ' ' && (is_upper(s[i + 2]) || s[i + 2] == '`'))
			return i;
	}
	return n;
}

/* How much of t (len bytes) to print in room columns: all of it when it
 * fits; else up to the last clause that fits (before "; " or ": " outside
 * parentheses) when that says enough; else up to the last ", " or " ("
 * outside parentheses, or the last blank, that leaves room for MORE, with
 * *more set. */
static size_t cut_text(const char *t, size_t len, size_t room, bool *more)
{
	size_t strong = 0, weak = 0, word = 0, k;
	const size_t ml = strlen(MORE);
	int depth = 0;

	*more = false;
	if (len <= room)
		return len;
	for (size_t i = 0; i < len && i <= room; i++) {
		char c = t[i];

		if (c == '(') {
			if (!depth && i > 0 && t[i - 1] == ' ' && i - 1 + ml <= room)
				weak = i - 1;
			depth++;
		} else if (c == ')' && depth) {
			depth--;
		} else if (c == ' ' && i > 0) {
			if (i + ml <= room)
				word = i;
			if (!depth && (t[i - 1] == ';' || t[i - 1] == ':'))
				strong = i - 1;
			else if (!depth && t[i - 1] == ',' && i - 1 + ml <= room)
				weak = i - 1;
		}
	}
	if (strong && strong >= room / 2)
		return strong;
	*more = true;
	if (weak && weak >= room / 2)
		return weak;
	if (word)
		return word;
	/* one long word: cut it, not inside a UTF-8 sequence */
	k = room > ml ? room - ml : 0;
	while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* Leave out of s the asides that hold no number: " (" ... ")" of three
 * words or more without a digit ("(or since this network namespace was
 * created)"); short ones ("(nginx)") and those with numbers stay. */
static void drop_asides(char *s)
{
	char *o = s;

	for (char *p = s; *p;) {
		char *end = NULL;
		int depth = 0, blanks = 0;
		bool digit = false;

		if (*p == ' ' && p[1] == '(') {
			for (char *q = p + 1; *q && !end; q++) {
				depth += *q == '(' ? 1 : *q == ')' ? -1 : 0;
				blanks += *q == ' ';
				digit |= *q >= '0' && *q <= '9';
				if (!depth)
					end = q;
			}
		}
		if (end && !digit && blanks >= 2) {
			p = end + 1;
			continue;
		}
		*o++ = *p++;
	}
	*o = '\0';
}

/* The observed value with its unit, newly allocated ("" for none). */
static char *observed_str(const json_t *f)
{
	char *s = NULL;
	size_t len = 0;
	FILE *m;

	if (!json_object_get(f, "observed"))
		return strdup("");
	if (!(m = open_memstream(&s, &len)))
		return NULL;
	text_observed(m, f);
	if (fclose(m) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* What is wrong, in room columns: the message's first sentence without the
 * subject it starts with ("fs.protected_fifos is 0 now, but ..." under the
 * subject fs.protected_fifos: "is 0 now, but ..."); cut short, with the
 * observed value after it, so that the numbers stay. */
static void summary(FILE *out, const json_t *f, size_t room)
{
	const char *subj = text_str(f, "subject"), *msg = text_str(f, "message");
	size_t sl = strlen(subj), n, k, ol;
	char *flat, *e, *obs;
	bool more;

	if (sl && !strncmp(msg, subj, sl) && msg[sl] == ' ')
		msg += sl + 1;
	/* lines of the message as blanks; then escaped, so that what is
	 * measured is what is printed */
	if (!(flat = strdup(msg)))
		return;
	for (char *c = flat; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	e = escape_display(flat);
	free(flat);
	if (!e)
		return;
	n = first_sentence(e);
	e[n] = '\0';
	if (n > room) {
		drop_asides(e);
		n = strlen(e);
	}
	k = cut_text(e, n, room, &more);
	obs = more ? observed_str(f) : NULL;
	ol = obs && *obs ? strlen(" observed: ") + strlen(obs) : 0;
	if (ol) {
		/* the numbers cut off: the observed value says them, unless
		 * what is left holds it already */
		char *num = strndup(obs, strcspn(obs, " %"));
		char c = e[k];

		e[k] = '\0';
		if (num && strstr(e, num))
			ol = 0;
		e[k] = c;
		free(num);
		if (ol)
			k = cut_text(e, n, room > ol + 20 ? room - ol : 20, &more);
	}
	fwrite(e, 1, k, out);
	if (more)
		fputs(MORE, out);
	if (more && ol)
		fprintf(out, " observed: %s", obs);
	free(obs);
	free(e);
}

static void label(FILE *out, const json_t *f, const struct text_opts *o)
{
	char l[16];

	text_label(f, l, sizeof(l));
	if (o->color)
		fprintf(out, "%s%-8s%s ", text_sev_color(text_str(f, "severity")), l, TEXT_RESET);
	else
		fprintf(out, "%-8s ", l);
}

/* SUBJECT, padded to width, and its summary in what is left of the line
 * (lead: the columns before the subject). */
static void subject_and_summary(FILE *out, const json_t *f, size_t lead, size_t width, size_t line)
{
	char *s = escape_display(text_str(f, "subject"));
	size_t sl = s ? strlen(s) : 1, used;

	fputs(s ? s : "?", out);
	free(s);
	if (sl < width)
		fprintf(out, "%*s", (int)(width - sl), "");
	fputs("  ", out);
	used = lead + (sl > width ? sl : width) + 2;
	summary(out, f, used + 20 < line ? line - used : 20);
	fputc('\n', out);
}

/* Findings of one rule with one label go together. */
static bool same_group(const json_t *a, const json_t *b)
{
	char la[16], lb[16];

	text_label(a, la, sizeof(la));
	text_label(b, lb, sizeof(lb));
	return !strcmp(text_str(a, "rule"), text_str(b, "rule")) && !strcmp(la, lb);
}

/* The first sentence of a rule's text after label, wrapped. */
static void first_of(FILE *out, const char *lab, const char *text)
{
	size_t n = first_sentence(text);
	char *one = *text ? strndup(text, text[n] == '.' ? n + 1 : n) : NULL;

	if (!one)
		return;
	print_wrapped(out, "  ", lab, one);
	free(one);
}

/* The findings from first on that belong with it (done marks them): one
 * line for a finding alone (its subject single_width wide), else the rule's
 * title, a line per subject, and why and at what risk once. */
static void group(FILE *out, const json_t *findings, size_t first, bool *done, size_t single_width,
		  const struct text_opts *o)
{
	const json_t *f = json_array_get(findings, first), *g;
	size_t n = json_array_size(findings), count = 0, width = 0, shown = 0, i;

	for (i = first; i < n; i++) {
		g = json_array_get(findings, i);
		if (!done[i] && same_group(f, g)) {
			size_t sl = strlen(text_str(g, "subject"));

			if (count++ >= GROUP_SHOWN)
				continue;
			if (sl > width)
				width = sl > SUBJECT_MAX ? SUBJECT_MAX : sl;
		}
	}
	label(out, f, o);
	if (count == 1) {
		done[first] = true;
		subject_and_summary(out, f, 9, single_width, line_width(o));
		return;
	}
	fputs_safe(text_str(f, "title"), out);
	fputs("  [", out);
	fputs_safe(text_str(f, "rule"), out);
	fprintf(out, ", %zu]\n", count);
	for (i = first; i < n; i++) {
		g = json_array_get(findings, i);
		if (done[i] || !same_group(f, g))
			continue;
		done[i] = true;
		if (shown++ >= GROUP_SHOWN)
			continue;
		fputs("  ", out);
		subject_and_summary(out, g, 2, width, line_width(o));
	}
	if (count > GROUP_SHOWN)
		fprintf(out, "  and %zu more (netknobs audit -v lists each)\n", count - GROUP_SHOWN);
	/* many namespaces repeat the same rules: their reasons once, by
	 * `netknobs explain RULE` */
	if (o->section)
		return;
	first_of(out, "why: ", text_str(f, "rationale"));
	first_of(out, "risk: ", text_str(f, "risk"));
}

/* The prefix of a sysctl -w line up to the command's arguments
 * ("ip netns exec web1 sysctl -w "), and its length; 0 when it has none. */
static size_t apply_prefix(const char *line)
{
	const char *p = strstr(line, "sysctl -w ");

	return p ? (size_t)(p - line) + strlen("sysctl -w ") : 0;
}

/* One command for every value when the lines differ in their arguments
 * only (sysctl -w takes several), wrapped with backslashes; else each
 * line as it is. */
static void apply_lines(FILE *out, const json_t *recs, size_t width)
{
	const json_t *r;
	const char *first = NULL;
	size_t i, pl = 0, col = 0;
	bool one = true;

	json_array_foreach(recs, i, r) {
		const char *w = text_str(r, "sysctl_w");

		if (text_rec_satisfied(r))
			continue;
		if (!first) {
			first = w;
			pl = apply_prefix(w);
		}
		one &= pl && apply_prefix(w) == pl && !strncmp(w, first, pl);
	}
	json_array_foreach(recs, i, r) {
		const char *w = text_str(r, "sysctl_w");
		char *e;
		size_t el;

		if (text_rec_satisfied(r))
			continue;
		if (!one) {
			fputs("  ", out);
			fputs_safe(w, out);
			fputc('\n', out);
			continue;
		}
		if (!(e = escape_display(col ? w + pl : w)))
			continue;
		el = strlen(e);
		if (!col) {
			fprintf(out, "  %s", e);
			col = 2 + el;
		} else if (col + 1 + el + 2 > width) {
			fprintf(out, " \\\n    %s", e);
			col = 4 + el;
		} else {
			fprintf(out, " %s", e);
			col += 1 + el;
		}
		free(e);
	}
	if (one && col)
		fputc('\n', out);
}

/* A recommendation's line: sysctl.d's "KEY = VALUE", or for another
 * namespace the same without the sysctl.d line (the host's would not
 * reach it).  Newly allocated, escaped; NULL when out of memory. */
static char *rec_line(const json_t *r, bool away)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	if (!m)
		return NULL;
	if (away) {
		fputs_safe(text_str(r, "key"), m);
		fputs(" = ", m);
		report_value_text(m, json_object_get(r, "value"));
	} else {
		fputs_safe(text_str(r, "sysctl_d"), m);
	}
	if (fclose(m) != 0) {
		free(line);
		return NULL;
	}
	return line;
}

/* The recommendations: a line per key with the value now and the notes,
 * then the command that applies them now and, for another namespace, what
 * keeps them.  Whether there were any. */
static bool short_recs(const json_t *audit, FILE *out, const struct text_opts *o)
{
	const json_t *recs = json_object_get(audit, "recommendations"), *r, *nt;
	size_t i, j, todo = 0, width = 0, n = json_array_size(recs);
	bool away = text_recs_away(audit), same = true;
	const char *persist = NULL;
	char **lines = calloc(n ? n : 1, sizeof(*lines));

	if (!lines)
		return false;
	json_array_foreach(recs, i, r) {
		if (text_rec_satisfied(r) || !(lines[i] = rec_line(r, away)))
			continue;
		todo++;
		if (strlen(lines[i]) > width)
			width = strlen(lines[i]) > SUBJECT_MAX + 10 ? SUBJECT_MAX + 10 : strlen(lines[i]);
		if (!persist)
			persist = text_str(r, "persist");
		same &= !strcmp(persist, text_str(r, "persist"));
	}
	if (todo && away)
		text_recs_heading(out, json_object_get(audit, "netns"), true);
	else if (todo)
		fputs("Recommended settings, for /etc/sysctl.d and now (`netknobs fix --apply` does both):\n", out);
	json_array_foreach(recs, i, r) {
		if (!lines[i])
			continue;
		fprintf(out, "  %s", lines[i]);
		if (json_object_get(r, "current")) {
			size_t l = strlen(lines[i]);

			fprintf(out, "%*s    (now ", l < width ? (int)(width - l) : 0, "");
			report_value_text(out, json_object_get(r, "current"));
			fputc(')', out);
		}
		fputc('\n', out);
		free(lines[i]);
		json_array_foreach(json_object_get(r, "notes"), j, nt)
			print_wrapped(out, "    ", "note: ", json_string_value(nt));
		if (json_is_true(json_object_get(r, "conflict")))
			fputs("    note: the rules asking disagree; see --format json\n", out);
		if (away && !same && *text_str(r, "persist"))
			print_wrapped(out, "    ", "lasting: ", text_str(r, "persist"));
	}
	free(lines);
	if (!todo)
		return false;
	apply_lines(out, recs, line_width(o));
	if (away && same && persist && *persist)
		print_wrapped(out, "  ", "lasting: ", persist);
	return true;
}

/* How wide the subjects of the findings alone on their line are, so that
 * their texts start in one column. */
static size_t singles_width(const json_t *findings)
{
	size_t n = json_array_size(findings), width = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *f = json_array_get(findings, i);
		size_t sl = strlen(text_str(f, "subject")), others = 0;

		for (size_t j = 0; j < n && !others; j++)
			others += j != i && same_group(f, json_array_get(findings, j));
		if (!others && sl > width)
			width = sl > SUBJECT_MAX ? SUBJECT_MAX : sl;
	}
	return width;
}

void text_short_body(const json_t *audit, FILE *out, const struct text_opts *o)
{
	const json_t *findings = json_object_get(audit, "findings");
	size_t n = json_array_size(findings), sw = singles_width(findings);
	bool *done = calloc(n ? n : 1, sizeof(*done));

	if (!done)
		return;
	for (size_t i = 0; i < n; i++)
		if (!done[i])
			group(out, findings, i, done, sw, o);
	free(done);
	if (n)
		fputc('\n', out);
	/* one namespace's section of a longer text ends in a blank line;
	 * otherwise where the rest is follows */
	if (short_recs(audit, out, o) && o->section)
		fputc('\n', out);
	if (o->section)
		return;
	if (n)
		fputs("Each finding in full, with its rule, why and at what risk: netknobs audit -v.\n", out);
	else if (!json_object_size(json_object_get(audit, "core_unavailable")))
		fputs("Nothing to report.  --verbose lists every rule's result.\n", out);
}
