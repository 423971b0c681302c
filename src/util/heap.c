/* Why: an audit of a large host parses a facts document and a rule set
 * into many small allocations (a 500 KB facts document with 2,000 listeners
 * becomes about 5 MiB of JSON objects).  With 4 KiB pages every new page of
 * the heap costs a page fault, a trap into the kernel and a zeroed page;
 * under virtualisation the traps dominate: in bench/rules the audit took
 * about 3,000 faults and a third of its time in them.  A heap that grows in
 * large pieces madvised MADV_HUGEPAGE takes one fault per 2 MiB instead.
 *
 * The price: resident memory grows in 2 MiB steps where huge pages are
 * used (at most one step more than the heap needs), and with the kernel's
 * default defrag setting ("madvise") a fault may compact memory to find a
 * huge page.  NETKNOBS_HUGEPAGES=0 turns this off. */
#include "config.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/heap.h"

#define HEAP_PAD (16u << 20)          /* each growth of the heap, beyond the need */
#define HEAP_MMAP (4u << 20)          /* blocks from this size on get their own mapping */
#define HUGE_PAGE ((uintptr_t)2 << 20)

void heap_init(void)
{
#if defined(MADV_HUGEPAGE) && defined(M_TOP_PAD) && defined(M_MMAP_THRESHOLD)
	const char *env = getenv("NETKNOBS_HUGEPAGES");
	uintptr_t lo, hi, brk_end;
	void *p;

	if (env && !strcmp(env, "0"))
		return;
	mallopt(M_TOP_PAD, HEAP_PAD);
	/* setting one threshold stops glibc adjusting the mmap threshold by
	 * itself; keep middle-sized blocks (rule tables, hash tables) in the
	 * heap, where freed space is used again without new faults */
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP);
	p = malloc(1);          /* the first growth: HEAP_PAD and a little */
	if (!p)
		return;
	brk_end = (uintptr_t)sbrk(0);
	/* only the brk heap just grown: not a sanitizer's or valgrind's
	 * allocator, whose blocks lie elsewhere */
	if (brk_end > (uintptr_t)p && brk_end - (uintptr_t)p >= HEAP_PAD / 2 &&
	    brk_end - (uintptr_t)p <= 2 * (uintptr_t)HEAP_PAD) {
		lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		hi = brk_end & ~(HUGE_PAGE - 1);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	}
	free(p);
#endif
}
