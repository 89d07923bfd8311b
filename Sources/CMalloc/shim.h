#pragma once
#include <malloc.h>

/* glibc's allocator tuning (mallopt) lives in malloc.h, which Swift's Glibc module does
   not export. Keeps blocks of up to 1 GiB in the heap when freed instead of unmapping them. */
static inline void timbre_keep_large_allocations(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}
