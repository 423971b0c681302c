/* Work done ahead of netns_visit() by helper threads, each entering the
 * namespaces itself (netns-scan.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/netns-scan.h"

enum slot_state { SLOT_WAITING, SLOT_BUSY, SLOT_READY, SLOT_FAILED, SLOT_TAKEN };

struct netns_ahead {
	const struct netns_list *l;
	const struct nk_root *root;
	netns_ahead_fn fn;
	void *arg;
	netns_ahead_drop_fn drop;
	size_t size;            /* of a slot */
	size_t depth;           /* how far beyond the consumer the helpers go */
	unsigned char *slots;
	unsigned char *state;   /* enum slot_state, one a namespace */
	size_t next;            /* the next namespace a helper takes */
	size_t floor;           /* the consumer's last index taken: those below are passed */
	bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[NETNS_AHEAD_MAX_THREADS];
	unsigned nth;
};

/* Enter e from this thread (home: its own namespace, for e->self). */
static int enter(const struct netns_ahead *a, const struct netns_entry *e, int home)
{
	int fd, r;

	if (e->self)
		return setns(home, CLONE_NEWNET) < 0 ? -errno : 0;
	fd = netns_entry_open(a->root, e);
	if (fd < 0)
		return fd;
	r = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* The next namespace to work on, SIZE_MAX when there is none. */
static size_t next_index(struct netns_ahead *a)
{
	size_t i = SIZE_MAX;

	pthread_mutex_lock(&a->mu);
	while (!a->stop && a->next < a->l->n) {
		if (a->next < a->floor) {
			a->next++;      /* the consumer is past it */
			continue;
		}
		if (a->next < a->floor + a->depth) {
			i = a->next++;
			a->state[i] = SLOT_BUSY;
			break;
		}
		pthread_cond_wait(&a->cv, &a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return i;
}

static void *helper(void *arg)
{
	struct netns_ahead *a = arg;
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	size_t i;

	while ((i = next_index(a)) != SIZE_MAX) {
		const struct netns_entry *e = &a->l->ns[i];
		void *slot = a->slots + i * a->size;
		bool ok = home >= 0 && enter(a, e, home) == 0 && a->fn(e, slot, a->arg) == 0;

		pthread_mutex_lock(&a->mu);
		a->state[i] = ok ? SLOT_READY : SLOT_FAILED;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
	if (home >= 0)
		close(home);
	return NULL;
}

struct netns_ahead *netns_ahead_start(const struct netns_list *l, const struct nk_root *root,
				      unsigned threads, netns_ahead_fn fn, void *arg,
				      netns_ahead_drop_fn drop, size_t size)
{
	struct netns_ahead *a;

	if (!l->live || threads == 0 || l->n < 2)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (threads > NETNS_AHEAD_MAX_THREADS)
		threads = NETNS_AHEAD_MAX_THREADS;
	*a = (struct netns_ahead){ .l = l, .root = root, .fn = fn, .arg = arg, .drop = drop, .size = size,
				   .depth = 2 * (size_t)threads + 2 };
	a->slots = calloc(l->n, size);
	a->state = calloc(l->n, 1);
	if (!a->slots || !a->state || pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a->slots);
		free(a->state);
		free(a);
		return NULL;
	}
	pthread_cond_init(&a->cv, NULL);
	for (unsigned k = 0; k < threads; k++)
		if (pthread_create(&a->th[a->nth], NULL, helper, a) == 0)
			a->nth++;
	if (a->nth == 0) {
		netns_ahead_stop(a);
		return NULL;
	}
	return a;
}

void *netns_ahead_take(struct netns_ahead *a, size_t i)
{
	void *slot = NULL;

	if (!a || i >= a->l->n)
		return NULL;
	pthread_mutex_lock(&a->mu);
	if (i > a->floor) {
		a->floor = i;
		pthread_cond_broadcast(&a->cv);
	}
	while (a->state[i] == SLOT_BUSY || (a->state[i] == SLOT_WAITING && i >= a->next))
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->state[i] == SLOT_READY) {
		a->state[i] = SLOT_TAKEN;
		slot = a->slots + i * a->size;
	}
	pthread_mutex_unlock(&a->mu);
	return slot;
}

void netns_ahead_stop(struct netns_ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (unsigned k = 0; k < a->nth; k++)
		pthread_join(a->th[k], NULL);
	for (size_t i = 0; i < a->l->n; i++)
		if (a->state[i] == SLOT_READY && a->drop)
			a->drop(a->slots + i * a->size);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a->slots);
	free(a->state);
	free(a);
}
