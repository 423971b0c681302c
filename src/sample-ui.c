/* The command layer's side of a sampling window (sample-ui.h). */
#include "config.h"

#include <stdio.h>

#include "sample-ui.h"
#include "util/duration.h"
#include "util/stopsig.h"

/* During the window a signal interrupts the sleep at once; after it, the
 * reads of the last collection must not fail with EINTR, and a signal then
 * lets the collection finish (the window was complete); once the sample is
 * attached the handlers found before go back. */
static void on_phase(enum sample_phase ph, void *data)
{
	(void)data;
	if (ph == SAMPLE_DONE)
		stopsig_release();
	else
		stopsig_hold(ph == SAMPLE_LAST_READING);
}

static int on_stop(void *data)
{
	(void)data;
	return stopsig_caught();
}

static void on_progress(const struct sample_progress *p, bool final, void *data)
{
	struct progress_bar *bar = data;
	uint64_t el = p->elapsed_ms > p->duration_ms ? p->duration_ms : p->elapsed_ms;
	char a[32], b[32], text[128];

	if (progress_bar_due(bar, p->elapsed_ms, final)) {
		duration_format(el / 100 * 100, a, sizeof(a));
		duration_format(p->duration_ms, b, sizeof(b));
		snprintf(text, sizeof(text), "%s / %s, %u readings, %zu listeners (Ctrl-C ends early)",
			 a, b, p->readings, p->listeners);
		progress_bar_draw(bar, p->elapsed_ms, el, p->duration_ms, "sampling", text);
	}
	if (final)
		progress_bar_clear(bar);
}

struct sample_hooks sample_ui_hooks(struct progress_bar *bar)
{
	return (struct sample_hooks){ on_phase, on_stop, on_progress, bar };
}

void sample_ui_done(void)
{
	stopsig_release();
}
