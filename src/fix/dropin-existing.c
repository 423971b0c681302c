/* The drop-in already there (netknobs fix): its assignments, the comment
 * lines an admin wrote, what netknobs wrote itself. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "fix/dropin-int.h"
#include "rules/rules.h"
#include "util/lines.h"

void existing_free(struct existing *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->b[i].key);
		free(x->b[i].value);
		free(x->b[i].text);
		free(x->b[i].admin);
	}
	free(x->b);
}

static char *admin_lines(const char *text, size_t len, const struct rulebook *rb);

static int existing_add(struct existing *x, const char *key, const char *value, const char *text,
			size_t len, size_t comments, const struct rulebook *rb)
{
	struct exblock *n = realloc(x->b, (x->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	x->b = n;
	n = &x->b[x->n];
	*n = (struct exblock){ 0 };
	n->key = key ? strdup(key) : NULL;
	n->value = value ? strdup(value) : NULL;
	n->text = strndup(text, len);
	n->admin = key ? admin_lines(text, comments, rb) : NULL;
	if ((key && !n->key) || (value && !n->value) || !n->text || (key && !n->admin)) {
		free(n->key);
		free(n->value);
		free(n->text);
		free(n->admin);
		return -ENOMEM;
	}
	x->n++;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Is this line an assignment "key = value" (or "-key = value"), or an
 * exclusion "-key"?  Fills the canonical key and the value text (NULL for
 * an exclusion). */
static bool parse_assignment(const char *line, size_t len, char *key, char **value)
{
	char *copy = strndup(line, len), *s, *eq;
	bool ok = false;

	*value = NULL;
	if (!copy)
		return false;
	s = trim(copy);
	if (*s == '-') {
		s++;
		/* "-key": an exclusion (no value) */
		if (!strchr(s, '=') && *s) {
			ok = sysctl_key_parse(trim(s), NULL, key, &(const char *){ NULL }) == 0;
			free(copy);
			return ok;
		}
	}
	eq = strchr(s, '=');
	if (*s && *s != '#' && *s != ';' && eq) {
		*eq = '\0';
		if (sysctl_key_parse(trim(s), NULL, key, &(const char *){ NULL }) == 0) {
			*value = strdup(trim(eq + 1));
			ok = *value != NULL;
		}
	}
	free(copy);
	return ok;
}

/* Does the text start with the header we write? */
static bool is_our_header(const char *text)
{
	static const char mark[] = "# Written by `netknobs fix";

	return !strncmp(text, mark, sizeof(mark) - 1);
}

static bool has_prefix(const char *l, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && !memcmp(l, p, k);
}

/* "# RULE-ID: TITLE" (or "# RULE-ID" for a rule without a title), exactly
 * as netknobs writes it above a key for a rule it knows; a line that only
 * looks like one is the admin's. */
static bool is_rule_line(const char *l, size_t n, const struct rulebook *rb)
{
	char id[128];     /* longer than any rule id */
	const struct rule *r;
	const char *t;
	size_t i = 2;

	if (!rb || !has_prefix(l, n, "# ") || n == 2)
		return false;
	while (i < n && l[i] != ':' && l[i] != ' ')
		i++;
	if (i - 2 >= sizeof(id))
		return false;
	memcpy(id, l + 2, i - 2);
	id[i - 2] = '\0';
	r = rulebook_rule(rb, id);
	if (!r)
		return false;
	if (!r->title)
		return i == n;
	if (!has_prefix(l + i, n - i, ": "))
		return false;
	/* the title as sb_comment_text() writes it */
	for (t = r->title, i += 2; *t && i < n; t++, i++) {
		unsigned char c = (unsigned char)*t;

		if (l[i] != (c < 0x20 || c == 0x7f ? ' ' : *t))
			return false;
	}
	return !*t && i == n;
}

static bool strip_prefix(const char **l, size_t *n, const char *p)
{
	size_t k = strlen(p);

	if (*n < k || memcmp(*l, p, k) != 0)
		return false;
	*l += k;
	*n -= k;
	return true;
}

/* "# recommended: MODE VALUE[; the higher|lower value already in use is
 * kept]" exactly as add_recommendation() writes it: MODE "at least", "at
 * most" or "exactly", VALUE integers separated by one blank or one word.
 * "# recommended: by our DBA" is the admin's. */
static bool is_recommended_line(const char *l, size_t n)
{
	static const char *const suffixes[] = { "; the higher value already in use is kept",
						"; the lower value already in use is kept" };
	bool ints = true, blank = false;
	size_t v;

	if (!strip_prefix(&l, &n, "# recommended: ") ||
	    !(strip_prefix(&l, &n, "at least ") || strip_prefix(&l, &n, "at most ") ||
	      strip_prefix(&l, &n, "exactly ")))
		return false;
	for (size_t i = 0; i < 2; i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && !memcmp(l + n - k, suffixes[i], k)) {
			n -= k;
			break;
		}
	}
	for (v = 0; v < n; v++) {
		if (l[v] == ' ') {
			if (v == 0 || l[v - 1] == ' ' || v + 1 == n)
				return false;
			blank = true;
		} else if (!isdigit((unsigned char)l[v]) && !(l[v] == '-' && (v == 0 || l[v - 1] == ' '))) {
			ints = false;
		}
		if (l[v] == ';' || l[v] == '\t')
			return false;
	}
	return n > 0 && (ints || !blank);
}

/* Of comment lines text[0..len) (each ended by '\n'), those the admin
 * wrote: all but what netknobs writes above a recommended key, a
 * "# recommended: ..." line with the rule lines right before it and the
 * notes right after it.  A new string. */
static char *admin_lines(const char *text, size_t len, const struct rulebook *rb)
{
	size_t n = 0, i, *start, *lens;
	bool *ours;
	char *out = malloc(len + 1), *o = out;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	start = calloc(n + 1, sizeof(*start));
	lens = calloc(n + 1, sizeof(*lens));
	ours = calloc(n + 1, sizeof(*ours));
	if (!out || !start || !lens || !ours) {
		free(out);
		out = NULL;
		goto done;
	}
	for (i = 0, n = 0; i < len; n++) {
		const char *nl = memchr(text + i, '\n', len - i);

		start[n] = i;
		lens[n] = nl ? (size_t)(nl - (text + i)) : len - i;
		i += lens[n] + 1;
	}
	for (i = 0; i < n; i++) {
		size_t j;

		if (!is_recommended_line(text + start[i], lens[i]))
			continue;
		ours[i] = true;
		for (j = i; j > 0 && !ours[j - 1] && is_rule_line(text + start[j - 1], lens[j - 1], rb); j--)
			ours[j - 1] = true;
		for (j = i + 1; j < n && has_prefix(text + start[j], lens[j], "# note: "); j++)
			ours[j] = true;
	}
	for (i = 0; i < n; i++)
		if (!ours[i]) {
			memcpy(o, text + start[i], lens[i]);
			o += lens[i];
			*o++ = '\n';
		}
	*o = '\0';
done:
	free(start);
	free(lens);
	free(ours);
	return out;
}

/* Drop the lines of our header from the file's first comment group (they
 * are written again): its first line, whatever version wrote it, and the
 * lines of the header we write now; the admin's lines there stay. */
static void strip_header(struct sbuf *g)
{
	size_t in = 0, out = 0;

	if (!g->len || !is_our_header(g->s))
		return;
	while (in < g->len) {
		const char *l = g->s + in, *nl = memchr(l, '\n', g->len - in);
		size_t n = nl ? (size_t)(nl - l) + 1 : g->len - in;
		const char *h = dropin_header;
		bool ours = in == 0;    /* the first line, of any version of it */

		while (*h && !ours) {
			const char *hn = strchr(h, '\n');
			size_t hl = (size_t)(hn - h) + 1;

			ours = hl == n && !memcmp(h, l, n);
			h += hl;
		}
		if (!ours) {
			memmove(g->s + out, l, n);
			out += n;
		}
		in += n;
	}
	g->len = out;
	g->s[out] = '\0';
}

/* The comment lines gathered so far, as text of their own. */
static int flush_comments(struct existing *x, struct sbuf *g, bool *first)
{
	size_t had = g->len;
	int r = 0;

	if (*first)
		strip_header(g);
	if (g->len)
		r = existing_add(x, NULL, NULL, g->s, g->len, g->len, NULL);
	/* only the file's first comment group can be our header: after it,
	 * even when nothing of it stayed, a line that starts as it does is
	 * the admin's */
	if (had || g->failed)
		*first = false;
	g->len = 0;
	return g->failed ? -ENOMEM : r;
}

/* Split the file into blocks: an assignment with the comment lines right
 * before it, and any other text.  Lines end as systemd-sysctl reads them
 * (util/lines.h); they are written back ended by "\n".  Our own header is
 * dropped (it is written again). */
int existing_parse(struct existing *x, const char *text, const struct rulebook *rb)
{
	struct sbuf g = { 0 };
	struct lines ls;
	const char *line;
	bool first = true;
	size_t n;
	int r = 0;

	lines_init(&ls, text, strlen(text));
	while (r == 0 && lines_next(&ls, &line, &n)) {
		const char *q = line, *e = line + n;

		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q == e) {
			/* a blank line ends a comment group that no assignment follows */
			r = flush_comments(x, &g, &first);
		} else if (*q == '#' || *q == ';') {
			sb_add(&g, line, n);
			sb_add(&g, "\n", 1);
		} else {
			/* an assignment or exclusion with its comments; anything
			 * else is kept as it is, as text */
			char key[SYSCTL_KEY_MAX + 1], *value = NULL;
			bool ok = parse_assignment(line, n, key, &value);
			size_t comments;

			if (first)
				strip_header(&g);
			first = false;
			comments = g.len;
			sb_add(&g, line, n);
			sb_add(&g, "\n", 1);
			r = g.failed ? -ENOMEM : existing_add(x, ok ? key : NULL, value, g.s, g.len, comments, rb);
			free(value);
			g.len = 0;
		}
	}
	if (r == 0)
		r = flush_comments(x, &g, &first);
	free(g.s);
	return r;
}

