/* Shared pieces of the Linux benchmark peer: TSC, markers, the BENCH line. */
#ifndef PEER_H
#define PEER_H

#include <stdint.h>

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Begin/end markers: nopl 0x4d420000|id(%rax) / (%rcx) (benchmarks.md).
 * The "memory" clobber keeps the compiler from moving loop work across. */
#define MARK_BEGIN(id) __asm__ volatile(".byte 0x0f,0x1f,0x80; .long 0x4d420000+" #id ::: "memory")
#define MARK_END(id) __asm__ volatile(".byte 0x0f,0x1f,0x81; .long 0x4d420000+" #id ::: "memory")

/* Warm-up rounds for a loop of `iters`: at least 1% (benchmarks.md). */
static inline long warmup_of(long iters) { return (iters + 99) / 100; }

/* Prints `INFO bench=<name> mark_id=<id>` (once, before the loop). */
void info(const char *name, int id);
/* Prints the BENCH line for `ticks` TSC ticks over `iters` operations. */
void report(const char *name, long iters, uint64_t ticks);
/* Prints `peer: <name>: <what>: <errno text>`; the benchmark is skipped. */
void fail(const char *name, const char *what);
/* An untouched private anonymous region of `pages` 4 KiB pages, each to take
 * its own demand-zero fault (memory.c); NULL if refused. */
char *fresh_region(long pages);

/* One function per benchmark id (benchmarks.md); each prints its lines. */
void bench_yield_pingpong(void); /* id 2, switch.c */
void bench_pipe_pingpong(void);  /* id 3, switch.c */
void bench_spawn_exit(void);     /* id 4, process.c */
void bench_spawn_exec(void);     /* id 6, process.c */
void bench_page_fault(void);     /* id 7, memory.c */
void bench_malloc_free(void);    /* id 20, memory.c */
void bench_smp(void);            /* ids 10-15, smp.c (`peer smp`) */
void bench_devices(void);        /* ids 21-24, devices.c */

#endif
