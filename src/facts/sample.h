/* A sampling window (--sample DURATION): the counters are read at the start
 * and at the end, the listeners every interval in between, and the facts
 * document gains a "sample" object (rates of the counters over the window)
 * and a "peak" object per listener (doc/facts.md).
 *
 * Listeners are read through NETLINK_SOCK_DIAG, LISTEN and SYN_RECV only;
 * owners are found by the collection at the end, and during the window only
 * for listeners that queue or drop (rate-limited), for those that close
 * before the end.
 * Per listener, running maxima are kept in a table of bounded size keyed by
 * the socket's inode and endpoint: memory and work per tick depend on the
 * number of listeners, never on the length of the window.
 *
 * Use: sample_new(), then facts_collect() with collect_opts.sample set,
 * which calls sample_window() before collecting, sample_mark_end() just
 * before reading the counters and sample_attach() at the end.
 *
 * The sampler draws nothing and handles no signal: the caller's hooks
 * (struct sample_hooks) show its progress and tell it to stop.  A stop
 * during the window ends it early (the document says the window was cut
 * short and by which signal); one during the collection that follows the
 * window lets it finish (the window was complete). */
#ifndef NK_SAMPLE_H
#define NK_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "util/fileio.h"

/* The most listeners tracked in one window; more are counted, not tracked. */
#define SAMPLE_MAX_LISTENERS 65536

/* Where the window is, for a progress display. */
struct sample_progress {
	uint64_t elapsed_ms, duration_ms;
	uint32_t readings;      /* of the listeners so far */
	size_t listeners;       /* tracked so far */
};

enum sample_phase {
	SAMPLE_WINDOW,          /* the window starts: a stop ends it at once */
	SAMPLE_LAST_READING,    /* the window is over: the last collection must not be cut */
	SAMPLE_DONE,            /* the sample is attached to the document */
};

/* What the caller does while a window runs (each may be NULL). */
struct sample_hooks {
	/* the window enters a phase (the caller's signal handling follows it) */
	void (*phase)(enum sample_phase ph, void *data);
	/* why to stop now: SIGINT or SIGTERM, or 0 to go on */
	int (*stop)(void *data);
	/* after each reading of the listeners, and once more (final) when the
	 * window is over */
	void (*progress)(const struct sample_progress *p, bool final, void *data);
	void *data;
};

struct sample_opts {
	uint64_t duration_ms;   /* the window asked for */
	uint64_t interval_ms;   /* between two listener readings */
	struct sample_hooks hooks;
};

struct sample;

/* A new sampler; NULL when out of memory. */
struct sample *sample_new(const struct sample_opts *o);
void sample_free(struct sample *s);

/* Read the counters below root and the listeners every interval until the
 * window is over or the stop hook ends it; with owners, the owning processes of
 * listeners that queue or drop are looked up during the window (at most
 * once a second), so that one gone at its end is still named.  Returns 0
 * or -ENOMEM (anything the kernel refuses is recorded and reported by
 * sample_attach()). */
int sample_window(struct sample *s, const struct nk_root *root, bool owners);

/* The end of the window: call right before the counters are read again. */
void sample_mark_end(struct sample *s);

/* Add "sample" to doc and a "peak" object to each listener of
 * doc.sockets.listeners; doc.counters is the end reading.  Returns 0 or
 * -ENOMEM. */
int sample_attach(struct sample *s, json_t *doc);

/* sample-rates.c: add "deltas" and "rates" to the sample object out: the
 * growth of each counter of doc.counters since start_counters, and of the
 * per-CPU softnet counts since start_softnet (may be NULL), over dur_ms.
 * Counters that went backwards are named in doc's notes.  Returns 0 or
 * -ENOMEM. */
int sample_rates_json(const json_t *start_counters, const json_t *start_softnet, json_t *doc,
		      json_t *out, uint64_t dur_ms);

/* sample-udp.c: the UDP sockets' drop counters at the start of the window
 * (netlink only). */
struct sample_udp {
	struct start_drops *s;  /* by inode */
	size_t n;
	bool complete;          /* every socket that had dropped is in s */
	bool ok;                /* read at the start */
	int error;              /* -errno: netlink could not be used */
};

/* Read them.  Returns 0 (u->ok false when netlink could not be used) or
 * -ENOMEM. */
int sample_udp_start(struct sample_udp *u);
void sample_udp_free(struct sample_udp *u);
/* Add "window_drops" to each socket of doc.sockets.udp whose drops at the
 * start are known (not there at the start: every drop is the window's,
 * when the start kept every socket that had dropped), and "udp_sampled"
 * to the sample object out.  Returns 0 or -ENOMEM. */
int sample_udp_attach(const struct sample_udp *u, json_t *doc, json_t *out);

#endif
