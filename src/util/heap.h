/* The heap of the process: backed by transparent huge pages beyond its
 * first MiB, where the kernel allows it. */
#ifndef NK_HEAP_H
#define NK_HEAP_H

#include <stdbool.h>

/* Call in main() before anything allocates, once the command is known
 * (huge: false when NETKNOBS_HUGEPAGES is 0 or the command's huge_heap is
 * false, and then nothing is done).  Makes the C
 * library's first growth of the heap 16 MiB larger than needed and asks the
 * kernel to back that piece, past the heap's first MiB, with transparent
 * huge pages (madvise MADV_HUGEPAGE), so that parsing a large facts
 * document or rule set takes far fewer page faults.  Does nothing when the
 * C library has no mallopt() parameters for it; when the heap is not the C library's brk
 * heap (sanitizers, valgrind) or the madvise fails, only that first growth
 * was larger.  Failures are ignored: the heap then works as usual. */
void heap_init(bool huge);

#endif
