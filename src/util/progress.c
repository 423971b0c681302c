/* A progress bar on standard error (progress.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/progress.h"

#define BAR_WIDTH 20

bool progress_bar_due(const struct progress_bar *b, uint64_t now_ms, bool force)
{
	return b->on && (force || !b->drawn || now_ms - b->last_ms >= 200);
}

void progress_bar_draw(struct progress_bar *b, uint64_t now_ms, uint64_t done, uint64_t total,
		       const char *label, const char *text)
{
	char line[160], bar[BAR_WIDTH + 1];
	size_t fill = total ? (size_t)((done > total ? total : done) * BAR_WIDTH / total) : BAR_WIDTH;
	struct winsize ws;
	int n;

	if (!b->on)
		return;
	memset(bar, '#', fill);
	memset(bar + fill, '.', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	n = snprintf(line, sizeof(line), "\r%s [%s] %s", label, bar, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* one line, or \r cannot redraw it: cut to the terminal's width */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && n > ws.ws_col)
		n = ws.ws_col;  /* the \r takes no column */
	if (write(STDERR_FILENO, line, (size_t)n) < 0 || write(STDERR_FILENO, "\033[K", 3) < 0)
		b->on = false;
	b->drawn = true;
	b->last_ms = now_ms;
}

void progress_bar_clear(struct progress_bar *b)
{
	static const char clear[] = "\r\033[K";

	if (b->on && b->drawn && write(STDERR_FILENO, clear, sizeof(clear) - 1) < 0)
		b->on = false;
}
