/* Why: an audit of a large host parses a facts document and a rule set
 * into many small allocations (a 500 KB facts document with 2,000 listeners
 * becomes about 5 MiB of JSON objects).  With 4 KiB pages every new page of
 * the heap costs a page fault, a trap into the kernel and a zeroed page;
 * under virtualisation the traps dominate: in bench/rules the audit took
 * about 3,000 faults and a third of its time in them.  Heap memory madvised
 * MADV_HUGEPAGE takes one fault per 2 MiB instead.
 *
 * How: the first growth of the heap is made 16 MiB larger than needed
 * (M_TOP_PAD, for that growth only), and the part of it beyond the first
 * HEAP_SMALL bytes is madvised: an audit of an ordinary host, whose heap
 * stays below that, keeps its small pages and its small resident size.
 * Afterwards the pad is put back, so that later growth, and the arenas of
 * threads, are as usual; the trim threshold keeps the madvised piece from
 * being handed back to the kernel and taken again in small pages.
 *
 * The price: resident memory grows in 2 MiB steps in the madvised part, and
 * with the kernel's default defrag setting ("madvise") a fault there may
 * compact memory to find a huge page.  NETKNOBS_HUGEPAGES=0 turns this off. */
#include "config.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/heap.h"

#define HEAP_PAD ((uintptr_t)16 << 20)       /* the first growth, beyond the need */
#define HEAP_SMALL ((uintptr_t)1 << 20)      /* the start of the heap, left in small pages */
#define HEAP_MMAP (4 << 20)                  /* blocks from this size on get their own mapping */
#define HEAP_TRIM (32 << 20)                 /* free memory kept at the top of the heap */
#define GLIBC_TOP_PAD (128 << 10)            /* glibc's default M_TOP_PAD */
#define HUGE_PAGE ((uintptr_t)2 << 20)

void heap_init(bool huge)
{
#if defined(MADV_HUGEPAGE) && defined(M_TOP_PAD) && defined(M_MMAP_THRESHOLD) && \
	defined(M_TRIM_THRESHOLD)
	uintptr_t b0, p, brk_end, lo, hi;
	void *block;

	if (!huge)
		return;
	b0 = (uintptr_t)sbrk(0);
	if (b0 == (uintptr_t)-1)
		return;
	mallopt(M_TOP_PAD, (int)HEAP_PAD);
	block = malloc(1);      /* the first growth: HEAP_PAD and a little */
	mallopt(M_TOP_PAD, GLIBC_TOP_PAD);
	if (!block)
		return;
	p = (uintptr_t)block;
	brk_end = (uintptr_t)sbrk(0);
	/* only a brk heap that grew just now from b0 to past the block by the
	 * pad: not a sanitizer's or valgrind's allocator (blocks elsewhere),
	 * nor glibc's mmap fallback when brk cannot grow (break unmoved) */
	if (brk_end != (uintptr_t)-1 && b0 <= p && p < brk_end && brk_end - p >= HEAP_PAD &&
	    brk_end - b0 <= 2 * HEAP_PAD) {
		lo = (p + HEAP_SMALL + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		hi = brk_end & ~(HUGE_PAGE - 1);
		if (hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0) {
			/* keep middle-sized blocks (rule tables, hash tables)
			 * in the heap, where freed space is used again without
			 * new faults, and the madvised piece in the heap */
			mallopt(M_MMAP_THRESHOLD, HEAP_MMAP);
			mallopt(M_TRIM_THRESHOLD, HEAP_TRIM);
		}
	}
	free(block);
#endif
}
