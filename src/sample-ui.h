/* The command layer's side of a sampling window (facts/sample.h): the
 * progress bar on standard error, and SIGINT or SIGTERM ending the window
 * early (util/stopsig.h).  The collector only calls these hooks. */
#ifndef NK_SAMPLE_UI_H
#define NK_SAMPLE_UI_H

#include "facts/sample.h"
#include "util/progress.h"

/* Hooks for a window; bar (drawn when bar->on) must outlive the window.
 * Call sample_ui_done() once the collection is over, whatever became of
 * it. */
struct sample_hooks sample_ui_hooks(struct progress_bar *bar);
void sample_ui_done(void);

#endif
