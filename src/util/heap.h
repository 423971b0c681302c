/* The heap of the process: large pieces, backed by transparent huge pages
 * where the kernel allows it. */
#ifndef NK_HEAP_H
#define NK_HEAP_H

/* Call first thing in main(), before anything allocates.  Asks the C
 * library to grow the heap HEAP_PAD bytes at a time and the kernel to back
 * that first piece with transparent huge pages (madvise MADV_HUGEPAGE), so
 * that parsing a large facts document or rule set takes a few page faults
 * instead of thousands.  Nothing when the environment variable
 * NETKNOBS_HUGEPAGES is 0, when the heap is not the C library's brk heap
 * (sanitizers, valgrind) or when the kernel has no transparent huge pages;
 * failures are ignored: the heap then works as usual. */
void heap_init(void);

#endif
