/* The state of a process that holds sockets, as far as taking connections
 * and datagrams from them goes.
 *
 * /proc/PID/stat gives the state of the main thread only, and one reading
 * catches a moment: a thread that takes a page fault from disk or writes a
 * log line is in uninterruptible sleep (D) for milliseconds, and a process
 * traced by strace is in tracing stop (t) at each of its system calls.  A
 * rule that says "nobody accepts" needs a state that holds, so a process
 * seen stopped, traced or in disk sleep is read again: any of its threads
 * that runs or sleeps in the usual way can take the connections, and a
 * reading without the stop ends it.  Only a state that held over every
 * reading (about 0.14 s) is reported; other processes cost nothing more.
 * A main thread that ended (pthread_exit()) is a zombie while the others
 * serve: its threads are read as a blocked one's.
 * Of a process with more than SETTLE_MAX_THREADS threads, none of those
 * read running or sleeping, the state is unknown: one of the threads not
 * read may well take the connections. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "facts/sockets.h"

/* the pauses before each further reading, in milliseconds */
static const unsigned settle_ms[] = { 20, 40, 80 };

/* threads read per process: a Java server may have thousands */
#define SETTLE_MAX_THREADS 4096
/* more threads than that, none of them seen running or sleeping */
#define SETTLE_UNKNOWN '?'

static bool owners_state_blocked(char s)
{
	return s == 'D' || s == 'T' || s == 't';
}

bool owners_state_idle(char s)
{
	return owners_state_blocked(s) || s == 'Z';
}

/* The state letter of PID/stat or PID/task/TID/stat (path), 0 if unreadable. */
static char read_state(int procfd, const char *path)
{
	char buf[1024], state;
	unsigned long long start;
	ssize_t n = owners_read_small(procfd, path, buf, sizeof(buf));

	if (n <= 0 || owners_parse_stat(buf, (size_t)n, &state, &start) < 0)
		return 0;
	return state;
}

/* The state of process pid now: its main thread's, unless that one is
 * blocked and another thread runs (R) or sleeps (S).  0 if unreadable,
 * SETTLE_UNKNOWN when the threads read were all blocked but not all
 * threads were read (one of the others may take the connections). */
static char process_state(int procfd, int pid)
{
	char path[64], best;
	unsigned seen = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "%d/stat", pid);
	best = read_state(procfd, path);
	if (!owners_state_idle(best))
		return best;
	snprintf(path, sizeof(path), "%d/task", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return best;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return best;
	}
	while ((de = readdir(dir)) && seen < SETTLE_MAX_THREADS) {
		char s;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || strlen(de->d_name) > 10)
			continue;
		seen++;
		snprintf(path, sizeof(path), "%d/task/%s/stat", pid, de->d_name);
		s = read_state(procfd, path);
		if (s == 'R') {
			best = s;
			break;
		}
		if (s == 'S')
			best = s;
	}
	if (de && owners_state_idle(best))
		best = SETTLE_UNKNOWN;
	closedir(dir);
	return best;
}

char owners_process_state(int procfd, int pid)
{
	char s = process_state(procfd, pid);

	return s == SETTLE_UNKNOWN ? 0 : s;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int pid_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Set the state of every copy of pid in the tables. */
static void set_state(struct socktab **tabs, size_t ntabs, int pid, char state)
{
	for (size_t k = 0; k < ntabs; k++)
		for (size_t i = 0; i < tabs[k]->nprocs; i++)
			if (tabs[k]->procs[i].pid == pid)
				tabs[k]->procs[i].state = state;
}

int owners_settle_states(int procfd, struct socktab **tabs, size_t ntabs)
{
	size_t n = 0, cap = 0, left;
	int *pids = NULL;

	for (size_t k = 0; k < ntabs; k++)
		for (size_t i = 0; i < tabs[k]->nprocs; i++)
			if (owners_state_idle(tabs[k]->procs[i].state))
				cap++;
	if (!cap)
		return 0;
	pids = malloc(cap * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (size_t k = 0; k < ntabs; k++)
		for (size_t i = 0; i < tabs[k]->nprocs; i++)
			if (owners_state_idle(tabs[k]->procs[i].state))
				pids[n++] = tabs[k]->procs[i].pid;
	qsort(pids, n, sizeof(*pids), pid_cmp);
	left = 0;
	for (size_t i = 0; i < n; i++)
		if (left == 0 || pids[left - 1] != pids[i])
			pids[left++] = pids[i];
	/* a reading of the threads first, then the pauses; a pid whose state
	 * is no longer blocked leaves the list (what it held when last read
	 * is kept if it cannot be read any more) */
	for (size_t round = 0; left && round <= sizeof(settle_ms) / sizeof(settle_ms[0]); round++) {
		size_t m = 0;

		if (round > 0)
			pause_ms(settle_ms[round - 1]);
		for (size_t i = 0; i < left; i++) {
			char s = process_state(procfd, pids[i]);

			if (s == SETTLE_UNKNOWN)
				set_state(tabs, ntabs, pids[i], 0);
			else if (s && !owners_state_idle(s))
				set_state(tabs, ntabs, pids[i], s);
			else
				pids[m++] = pids[i];
		}
		left = m;
	}
	free(pids);
	return 0;
}
