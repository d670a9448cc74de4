/* Id 7: the first write to a fresh demand-zero 4 KiB page; id 20: glibc's
 * malloc(64) and free (benchmarks.md). */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PAGE 4096

/* An untouched private anonymous region of `pages` 4 KiB pages. Debian's
 * kernel has transparent huge pages on "always", which would back the
 * region with 2 MiB pages (one fault per 512 pages), so they are refused
 * for it: every page then takes its own demand-zero fault. */
char *fresh_region(long pages) {
    void *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (madvise(p, pages * PAGE, MADV_NOHUGEPAGE) != 0) {
        munmap(p, pages * PAGE);
        return NULL;
    }
    return p;
}

static long minor_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

void bench_page_fault(void) {
    const char *name = "page_fault";
    const long iters = 16384;
    info(name, 7);
    /* Warm-up on its own region, so the timed pages are all untouched. */
    long warm = warmup_of(iters);
    volatile char *w = fresh_region(warm);
    volatile char *p = fresh_region(iters);
    if (!w || !p) {
        fail(name, "mmap");
        return;
    }
    for (long i = 0; i < warm; i++) {
        w[i * PAGE] = 1;
    }
    long faults = minor_faults();
    uint64_t start = rdtsc();
    MARK_BEGIN(7);
    for (long i = 0; i < iters; i++) {
        p[i * PAGE] = 1;
    }
    MARK_END(7);
    uint64_t ticks = rdtsc() - start;
    faults = minor_faults() - faults;
    munmap((void *)w, warm * PAGE);
    munmap((void *)p, iters * PAGE);
    report(name, iters, ticks);
    /* Not a protocol line: shows that each write did take a fault. */
    printf("peer: page_fault minor_faults=%ld pages=%ld\n", faults, iters);
}

void bench_malloc_free(void) {
    const char *name = "malloc_free";
    const long iters = 100000;
    info(name, 20);
    for (long i = 0; i < warmup_of(iters); i++) {
        void *p = malloc(64);
        /* The compiler knows malloc and free: hide the pointer from it. */
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(20);
    for (long i = 0; i < iters; i++) {
        void *p = malloc(64);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    MARK_END(20);
    report(name, iters, rdtsc() - start);
}
