/* netknobs top: the rows of the view and their text (top-rows.c), shared by
 * the batch frames and the full-screen view (top-screen.c); the command,
 * its keys and its loop are in cmd-top.c.  The readings come from
 * facts/watch.h. */
#ifndef NK_TOP_H
#define NK_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "facts/watch.h"

enum top_sort {
	TOP_SORT_DROPS,         /* drops in the last interval, then fill */
	TOP_SORT_FILL,          /* fill now, then the peak */
	TOP_SORT_SYN,           /* SYN-RECV */
	TOP_SORT_PORT,          /* port, address */
	TOP_SORT_PROCESS,       /* the first owner's name */
	TOP_SORT_NETNS,         /* the namespace's name, then port (--all-netns) */
	TOP_NSORTS,
};

/* "drops", "fill", "syn-recv", "port", "process", "netns" */
const char *top_sort_name(enum top_sort s);
/* The sort of that name; -1 when unknown. */
int top_sort_parse(const char *name);

/* The frame of a namespace, and its name (escaped) for the NETNS column;
 * NULL for the one namespace of a plain top (no column). */
struct top_ns {
	const struct watch_frame *f;
	const char *name;
};

/* One row: a listener, or a SO_REUSEPORT group of n members. */
struct top_row {
	const struct watch_frame *f;    /* its namespace's frame */
	const char *netns;              /* its name, or NULL */
	size_t ns;                      /* its index in the namespaces given */
	size_t first, n;                /* frame sockets f->s[first .. first + n) */
	uint32_t queue, limit;          /* the fullest member's, now */
	bool has_limit;
	uint32_t peak;                  /* the longest queue of a member since the refresh before */
	long fill;                      /* queue * 1000 / limit now; -1 unknown */
	uint64_t syn;                   /* SYN_RECV (the group's total) */
	bool has_syn;                   /* its namespace's request sockets were counted */
	uint64_t drops;                 /* the members' drops in the last interval */
	double drops_rate;              /* per second */
	bool has_drops;
	bool dropped;                   /* drops in the last interval */
	bool full;                      /* a member's queue reached limit + 1 (peak or now) */
	char addr[72];                  /* "[::]:443", "127.0.0.1:80%2", "(4)" for a group */
	char *procs;                    /* "nginx[12] stopped, ..." (escaped), or NULL: none */
};

struct top_rows {
	struct top_row *r;
	size_t n, cap;
	size_t total;                   /* rows before the filter */
	int netns_width;                /* the longest namespace name of a row (columns); 0: no NETNS */
};

/* The rows of the frames of ns[0 .. nns), sorted together, those matching
 * filter (NULL or "": all; all digits: the port; else a part of the
 * address, of an owner's name or of the namespace's name, any case).  rows
 * is reset first.  0 or -ENOMEM. */
int top_rows_build(struct top_rows *rows, const struct top_ns *ns, size_t nns, enum top_sort sort,
		   const char *filter);
void top_rows_free(struct top_rows *rows);

/* What the header says besides the frames. */
struct top_status {
	const char *netns;              /* --netns as given, or NULL */
	bool all;                       /* --all-netns: the frames are the namespaces entered */
	size_t namespaces;              /* --all-netns: found by the last scan */
	size_t denied;                  /* ... that could not be entered */
	size_t unread;                  /* ... whose listeners could not be read */
	unsigned long gone;             /* ... that went away during the run */
	uint64_t delay_ms;
	enum top_sort sort;
	const char *filter;             /* or NULL */
	bool paused;
	unsigned long frame, frames;    /* batch: this frame and how many (0: until stopped) */
};

#define TOP_HEADER_LINES 3
#define TOP_LINE_MAX 512

/* The header's lines (NUL-terminated, escaped), each at most TOP_LINE_MAX
 * bytes.  With several namespaces (st->all) the counters' rates are their
 * sums (and the namespace with the most ListenOverflows/s is named), the
 * limits a range when the namespaces differ, the SYN-RECV count's age the
 * oldest. */
void top_header(const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		const struct top_status *st, char hdr[TOP_HEADER_LINES][TOP_LINE_MAX]);
/* The NETNS column's width on a screen: longer names are cut. */
#define TOP_NETNS_SCREEN 24
/* and at most in batch mode: a cell of as many characters, each up to 4
 * bytes, fits in TOP_LINE_MAX (an escaped name of 255 control bytes is
 * 1020 characters long) */
#define TOP_NETNS_MAX 100
/* The column titles, with a NETNS column of netns_width (0: none). */
void top_columns(int netns_width, char *buf, size_t len);
/* A row's line (escaped), its NETNS column netns_width wide (a longer name
 * is cut, "..." at its end). */
void top_row_line(const struct top_row *r, int netns_width, char *buf, size_t len);

/* A batch frame: the header, the column titles and every row, then a
 * blank line.  Returns 0 or -EIO. */
int top_print_frame(FILE *out, const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		    const struct top_status *st);

/* ---- the full-screen view (top-screen.c) ---- */

struct top_screen;

/* Take the terminal (standard input and output); NULL with a message in
 * why when it cannot be used (no terminfo entry ...). */
struct top_screen *top_screen_open(char *why, size_t whylen);
/* Give it back as it was; also on the way out after an error. */
void top_screen_close(struct top_screen *s);

/* Draw the frame (rows from its top, as many as fit), and at the bottom
 * either the filter being typed (edit != NULL) or a message (or NULL). */
void top_screen_draw(struct top_screen *s, const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		     const struct top_status *st, const char *edit, const char *msg);
/* The keys, over the view until the next key. */
void top_screen_help(struct top_screen *s);
/* The next key, waiting at most ms milliseconds: a character, a curses
 * KEY_* code, or -1 when none came (time out, or a signal). */
int top_screen_key(struct top_screen *s, int ms);

#endif
