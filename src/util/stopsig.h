/* SIGINT and SIGTERM as a request to stop a long wait (a sampling window)
 * early: the first one is noted, a second one ends the program as the
 * signal means.  For the command layer: collectors only ask whether to
 * stop (through their hooks). */
#ifndef NK_STOPSIG_H
#define NK_STOPSIG_H

#include <stdbool.h>

/* Catch the two signals (the first call notes the handlers to restore and
 * forgets an earlier signal).  Without restart a signal interrupts the
 * sleeps of the wait at once; with it, reads and writes go on (EINTR is
 * not seen). */
void stopsig_hold(bool restart);

/* Restore the handlers stopsig_hold() found; nothing when none is held. */
void stopsig_release(void);

/* A function the handler calls before a second signal ends the program
 * (NULL: none), to put back what must not stay behind (a terminal's
 * modes).  It runs inside the signal handler: async-signal-safe calls
 * only. */
void stopsig_last_words(void (*fn)(void));

/* The signal that asked to stop since stopsig_hold(), or 0. */
int stopsig_caught(void);

#endif
