#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/suggest.h"

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row, result;

	if (la > 256 || lb > 256)
		return la > lb ? la : lb;
	row = malloc((lb + 1) * sizeof(*row));
	if (!row)
		return la > lb ? la : lb;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	result = row[lb];
	free(row);
	return result;
}

const char *suggest_closest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, wl = strlen(word);
	size_t limit = wl / 3 > 1 ? wl / 3 : 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);

		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (best && best_d <= limit)
		return best;
	for (size_t i = 0; wl >= 2 && i < n; i++)
		if (strncmp(candidates[i], word, wl) == 0)
			return candidates[i];
	return NULL;
}
