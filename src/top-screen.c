/* netknobs top: the full-screen view, through ncurses.  Every text drawn
 * was escaped by top-rows.c (process names, addresses, the filter). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>
#include <term.h>

#include "top.h"
#include "util/escape.h"
#include "util/stopsig.h"

struct top_screen {
	SCREEN *scr;
};

/* What a second SIGINT or SIGTERM, which ends the program at once, leaves
 * behind (util/stopsig.h): the terminal's modes as they were, the cursor
 * shown and the normal screen back, from terminfo's own strings. */
static struct termios saved_modes;
static bool have_modes;
static char last_words[128];
static size_t last_words_len;

static void top_screen_last_words(void)
{
	if (have_modes)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes);
	if (last_words_len && write(STDOUT_FILENO, last_words, last_words_len) < 0) {
		/* nothing more to do on the way out */
	}
}

static void add_cap(const char *name)
{
	char *s = tigetstr((char *)name);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (last_words_len + n < sizeof(last_words)) {
		memcpy(last_words + last_words_len, s, n);
		last_words_len += n;
	}
}

struct top_screen *top_screen_open(char *why, size_t whylen)
{
	struct top_screen *s = calloc(1, sizeof(*s));
	const char *term = getenv("TERM");

	if (!s) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	/* UTF-8 process names shown as they are, on a UTF-8 terminal */
	setlocale(LC_CTYPE, "");
	have_modes = tcgetattr(STDIN_FILENO, &saved_modes) == 0;
	s->scr = newterm(NULL, stdout, stdin);
	if (!s->scr) {
		char *t = escape_display(term ? term : "");

		snprintf(why, whylen, "cannot use the terminal (TERM=%s): no terminfo entry?", t ? t : "?");
		free(t);
		free(s);
		return NULL;
	}
	set_term(s->scr);
	last_words_len = 0;
	add_cap("rmcup");
	add_cap("cnorm");
	add_cap("sgr0");
	stopsig_last_words(top_screen_last_words);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	return s;
}

void top_screen_close(struct top_screen *s)
{
	if (!s)
		return;
	stopsig_last_words(NULL);
	curs_set(1);
	endwin();
	delscreen(s->scr);
	free(s);
}

/* A line at row y, cut at the screen's width; with a background attribute
 * it spans the whole width. */
static void put_line(int y, const char *text, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	move(y, 0);
	clrtoeol();
	if (attr)
		attron(attr);
	addnstr(text, COLS);
	if (attr & A_REVERSE) {
		int x = getcurx(stdscr);

		for (; x < COLS && x >= 0; x++)
			addch(' ');
	}
	if (attr)
		attroff(attr);
}

void top_screen_draw(struct top_screen *s, const struct top_ns *ns, size_t nns, const struct top_rows *rows,
		     const struct top_status *st, const char *edit, const char *msg)
{
	char hdr[TOP_HEADER_LINES][TOP_LINE_MAX], buf[2 * TOP_LINE_MAX + 128];
	int y = 0, last = LINES - 1;
	int w = rows->netns_width > TOP_NETNS_SCREEN ? TOP_NETNS_SCREEN : rows->netns_width;

	(void)s;
	erase();
	top_header(ns, nns, rows, st, hdr);
	for (int i = 0; i < TOP_HEADER_LINES; i++)
		put_line(y++, hdr[i], i == 0 ? A_BOLD : 0);
	y++;
	top_columns(w, buf, sizeof(buf));
	put_line(y++, buf, A_REVERSE);
	for (size_t i = 0; i < rows->n && y < last; i++) {
		const struct top_row *r = &rows->r[i];

		top_row_line(r, w, buf, sizeof(buf));
		put_line(y++, buf, r->dropped ? A_REVERSE | A_BOLD : r->full ? A_BOLD : 0);
	}
	if (!rows->n && y < last)
		put_line(y, rows->total ? "(no listener matches the filter)"
			 : st->all ? "(no listening TCP sockets in any network namespace read)"
			 : "(no listening TCP sockets)", 0);
	if (edit) {
		char *e = escape_display(edit);

		snprintf(buf, sizeof(buf), "filter (a port, or part of an address, process name%s; "
			 "Enter applies, Esc cancels): %s", st->all ? " or namespace" : "", e ? e : "");
		free(e);
		put_line(last, buf, 0);
	} else {
		put_line(last, msg ? msg : "q quit  s sort  p pause  / filter  h help", msg ? A_BOLD : 0);
	}
	refresh();
}

void top_screen_help(struct top_screen *s)
{
	static const char *const help[] = {
		"netknobs top: the listening TCP sockets of the network namespace, live",
		"",
		"  q         quit",
		"  s         next sort: drops, fill, syn-recv, port, process",
		"            (and netns, the namespace's name, with --all-netns)",
		"  p         pause (the readings stop; keys still work), again to go on",
		"  /         filter: a port, or part of an address or process name",
		"            (or of the namespace's name, with --all-netns);",
		"            an empty filter shows every listener",
		"  h, ?      this help",
		"",
		"Rows: '!' (reversed) dropped in the last interval, '+' (bold) the queue was",
		"full (limit + 1) without a drop counted.  DROPS/S is the socket's own drop",
		"counter (accept- and SYN-side alike); the header's rates are the namespace's",
		"(with --all-netns their sums over the namespaces read).",
		"",
		"Any key goes back.",
	};
	int y = 1;

	(void)s;
	erase();
	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		put_line(y++, help[i], i == 0 ? A_BOLD : 0);
	refresh();
}

int top_screen_key(struct top_screen *s, int ms)
{
	int c;

	(void)s;
	timeout(ms < 0 ? 0 : ms);
	c = getch();
	return c == ERR ? -1 : c;
}
