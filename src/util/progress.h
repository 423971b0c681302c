/* A progress bar on one line of standard error, redrawn in place: for a
 * terminal only (the caller decides), cut to its width, at most five times
 * a second. */
#ifndef NK_PROGRESS_H
#define NK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress_bar {
	bool on;                /* draw; cleared when writing fails */
	bool drawn;
	uint64_t last_ms;       /* when it was last drawn (the caller's clock) */
};

/* Whether a drawing at now_ms is due: always when forced, else at most
 * every 200 ms. */
bool progress_bar_due(const struct progress_bar *b, uint64_t now_ms, bool force);

/* Draw "\r" label " [####......] " text: done out of total, now_ms by the
 * caller's clock. */
void progress_bar_draw(struct progress_bar *b, uint64_t now_ms, uint64_t done, uint64_t total,
		       const char *label, const char *text);

/* Erase the line it drew. */
void progress_bar_clear(struct progress_bar *b);

#endif
