/* Unified diff by longest common subsequence: the texts are sysctl.d files,
 * a few hundred lines at most; beyond a size limit every line counts as
 * changed rather than spending quadratic memory. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/diff.h"
#include "util/escape.h"

#define DIFF_MAX_CELLS (4u << 20)
#define CONTEXT 3

struct lines {
	const char **s;
	size_t *len;          /* without the newline */
	size_t n;
	bool last_nl;         /* the last line ends in a newline */
};

static int split(const char *t, struct lines *l)
{
	size_t cap = 16;

	l->n = 0;
	l->last_nl = true;
	l->s = malloc(cap * sizeof(*l->s));
	l->len = malloc(cap * sizeof(*l->len));
	if (!l->s || !l->len)
		return -ENOMEM;
	while (*t) {
		const char *nl = strchr(t, '\n');
		size_t n = nl ? (size_t)(nl - t) : strlen(t);

		if (l->n == cap) {
			const char **s = realloc(l->s, 2 * cap * sizeof(*s));
			size_t *len;

			if (!s)
				return -ENOMEM;
			l->s = s;
			len = realloc(l->len, 2 * cap * sizeof(*len));
			if (!len)
				return -ENOMEM;
			l->len = len;
			cap *= 2;
		}
		l->s[l->n] = t;
		l->len[l->n++] = n;
		l->last_nl = nl != NULL;
		t = nl ? nl + 1 : t + n;
	}
	return 0;
}

static bool same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	bool anl = i + 1 < a->n || a->last_nl, bnl = j + 1 < b->n || b->last_nl;

	return a->len[i] == b->len[j] && anl == bnl && !memcmp(a->s[i], b->s[j], a->len[i]);
}

enum op { KEEP, DEL, ADD };

struct edit {
	enum op op;
	size_t i, j;          /* line in a (KEEP, DEL) and in b (KEEP, ADD) */
};

static void print_line(FILE *out, char mark, const struct lines *l, size_t k)
{
	char *s = strndup(l->s[k], l->len[k]);
	char *e = s ? escape_display(s) : NULL;

	fputc(mark, out);
	fputs(e ? e : "?", out);
	fputc('\n', out);
	if (k + 1 == l->n && !l->last_nl)
		fputs("\\ No newline at end of file\n", out);
	free(e);
	free(s);
}

static size_t edits(const struct lines *a, const struct lines *b, struct edit *ed)
{
	size_t n = a->n, m = b->n, k = 0, i = 0, j = 0;
	unsigned *t = NULL;

	if ((size_t)(n + 1) * (m + 1) <= DIFF_MAX_CELLS)
		t = calloc((n + 1) * (m + 1), sizeof(*t));
	if (t) {
		/* t[i][j]: length of the LCS of a[i..] and b[j..] */
		for (size_t ii = n; ii-- > 0;)
			for (size_t jj = m; jj-- > 0;)
				t[ii * (m + 1) + jj] = same(a, ii, b, jj) ? t[(ii + 1) * (m + 1) + jj + 1] + 1
					: t[(ii + 1) * (m + 1) + jj] > t[ii * (m + 1) + jj + 1]
					? t[(ii + 1) * (m + 1) + jj] : t[ii * (m + 1) + jj + 1];
		while (i < n && j < m) {
			if (same(a, i, b, j)) {
				ed[k++] = (struct edit){ KEEP, i++, j++ };
			} else if (t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
				ed[k++] = (struct edit){ DEL, i++, j };
			} else {
				ed[k++] = (struct edit){ ADD, i, j++ };
			}
		}
		free(t);
	}
	while (i < n)
		ed[k++] = (struct edit){ DEL, i++, j };
	while (j < m)
		ed[k++] = (struct edit){ ADD, i, j++ };
	return k;
}

int diff_unified(FILE *out, const char *a, const char *alabel, const char *b, const char *blabel)
{
	struct lines la = { 0 }, lb = { 0 };
	struct edit *ed = NULL;
	size_t ne, k;
	int r = -ENOMEM;
	bool header = false;

	if (!strcmp(a, b))
		return 0;
	if (split(a, &la) < 0 || split(b, &lb) < 0)
		goto out;
	ed = malloc((la.n + lb.n + 1) * sizeof(*ed));
	if (!ed)
		goto out;
	ne = edits(&la, &lb, ed);

	for (k = 0; k < ne;) {
		size_t start, end, last, i0, j0, na = 0, nb = 0;

		if (ed[k].op == KEEP) {
			k++;
			continue;
		}
		/* a hunk: changes closer than 2*CONTEXT lines apart go together */
		start = k >= CONTEXT ? k - CONTEXT : 0;
		last = k;
		for (end = k; end < ne; end++) {
			if (ed[end].op != KEEP)
				last = end;
			else if (end - last > 2 * CONTEXT)
				break;
		}
		end = last + CONTEXT + 1 < ne ? last + CONTEXT + 1 : ne;
		for (size_t x = start; x < end; x++) {
			if (ed[x].op != ADD)
				na++;
			if (ed[x].op != DEL)
				nb++;
		}
		i0 = ed[start].i;
		j0 = ed[start].j;
		if (!header) {
			fprintf(out, "--- %s\n+++ %s\n", alabel, blabel);
			header = true;
		}
		fprintf(out, "@@ -%zu,%zu +%zu,%zu @@\n", na ? i0 + 1 : i0, na, nb ? j0 + 1 : j0, nb);
		for (size_t x = start; x < end; x++) {
			if (ed[x].op == KEEP)
				print_line(out, ' ', &la, ed[x].i);
			else if (ed[x].op == DEL)
				print_line(out, '-', &la, ed[x].i);
			else
				print_line(out, '+', &lb, ed[x].j);
		}
		k = end;
	}
	r = 1;
out:
	free(ed);
	free(la.s);
	free(la.len);
	free(lb.s);
	free(lb.len);
	return r;
}
