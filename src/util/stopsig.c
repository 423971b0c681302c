/* SIGINT and SIGTERM as a request to stop (stopsig.h). */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "util/stopsig.h"

static volatile sig_atomic_t stop_signal;
static struct sigaction old_int, old_term;
static bool held;               /* the handler below is installed */
static void (*volatile last_words)(void);

static void on_signal(int sig)
{
	if (stop_signal) {
		/* the second one: give up at once, as the signal means */
		if (last_words)
			last_words();
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

void stopsig_hold(bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	if (!held) {
		stop_signal = 0;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		held = true;
	} else {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
}

void stopsig_release(void)
{
	if (!held)
		return;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	held = false;
}

void stopsig_last_words(void (*fn)(void))
{
	last_words = fn;
}

int stopsig_caught(void)
{
	return stop_signal;
}
