/* Ids 10-15: the SMP benchmarks (benchmarks.md), run as `peer smp` when
 * Linux boots with two CPUs. Every figure is the median of REPS timed
 * loops; the throughput figures are wall-clock time of the whole machine
 * per operation (first thread's start to last thread's end, over the
 * operations of all threads), the one-thread and two-thread runs taking
 * turns. */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REPS 5
#define PAGE 4096L

static const long syscalls_per_thread = 200000;
static const long fault_pages = 8192;
static const long remote_iters = 5000;

/* Pins the calling thread to `cpu`; 1 if it now runs there. */
static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 && sched_getcpu() == cpu;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *samples) {
    uint64_t sorted[REPS];
    memcpy(sorted, samples, sizeof sorted);
    qsort(sorted, REPS, sizeof sorted[0], cmp_u64);
    return sorted[REPS / 2];
}

/* Not a protocol line: the samples behind a median. */
static void print_samples(const char *name, const uint64_t *samples) {
    printf("peer: %s samples", name);
    for (int i = 0; i < REPS; i++) {
        printf("%c%llu", i ? ',' : ' ', (unsigned long long)samples[i]);
    }
    printf(" (TSC ticks)\n");
}

/* ---- ids 10-13: throughput on one CPU and on two at once ---- */

enum job { SYSCALLS, TOUCH };

static enum job job;
static int threads;     /* 1 or 2 */
static int ready;       /* start barrier */
static char *region;    /* TOUCH: the timed pages */
static char *warm;      /* TOUCH: the warm-up pages */
static long pages_each; /* TOUCH: pages per thread */
static uint64_t starts[2], ends[2];

static void nops(long n) {
    for (long i = 0; i < n; i++) {
        syscall(SYS_getppid);
    }
}

static void touch(volatile char *p, long pages) {
    for (long i = 0; i < pages; i++) {
        p[i * PAGE] = 1;
    }
}

/* The markers take a literal id, so each job/thread-count pair has its
 * own copy of the timed loop. */
#define TIMED(id, work)                                                                        \
    do {                                                                                       \
        MARK_BEGIN(id);                                                                        \
        work;                                                                                  \
        MARK_END(id);                                                                          \
    } while (0)

static void *worker(void *arg) {
    int me = (int)(long)arg;
    if (!pin(me)) {
        return (void *)1;
    }
    long warm_each = (pages_each + 99) / 100;
    if (job == SYSCALLS) {
        nops(warmup_of(syscalls_per_thread));
    } else {
        touch(warm + me * warm_each * PAGE, warm_each);
    }
    __atomic_add_fetch(&ready, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < threads) {
    }
    char *mine = region + me * pages_each * PAGE;
    uint64_t t0 = rdtsc();
    if (job == SYSCALLS && threads == 1) {
        TIMED(10, nops(syscalls_per_thread));
    } else if (job == SYSCALLS) {
        TIMED(11, nops(syscalls_per_thread));
    } else if (threads == 1) {
        TIMED(12, touch(mine, pages_each));
    } else {
        TIMED(13, touch(mine, pages_each));
    }
    uint64_t t1 = rdtsc();
    starts[me] = t0;
    ends[me] = t1;
    return NULL;
}

/* One measurement: ticks from the first start to the last end, 0 if it
 * failed. */
static uint64_t once(enum job j, int n) {
    job = j;
    threads = n;
    ready = 0;
    region = warm = NULL;
    pages_each = j == TOUCH ? fault_pages / n : 0;
    long warm_pages = n * ((pages_each + 99) / 100);
    if (j == TOUCH) {
        region = fresh_region(fault_pages);
        warm = fresh_region(warm_pages);
        if (!region || !warm) {
            return 0;
        }
    }
    pthread_t t[2];
    int ok = 1, started = 0;
    for (; started < n; started++) {
        if (pthread_create(&t[started], NULL, worker, (void *)(long)started) != 0) {
            ok = 0;
            break;
        }
    }
    for (int k = 0; k < started; k++) {
        void *result;
        pthread_join(t[k], &result);
        ok &= result == NULL;
    }
    if (j == TOUCH) {
        munmap(region, fault_pages * PAGE);
        munmap(warm, warm_pages * PAGE);
    }
    if (!ok) {
        return 0;
    }
    uint64_t first = starts[0], last = ends[0];
    if (n == 2) {
        first = starts[1] < first ? starts[1] : first;
        last = ends[1] > last ? ends[1] : last;
    }
    return last - first;
}

/* Measures `j` with one thread and with two, REPS times each, taking
 * turns (so that both see the same host conditions), prints the medians
 * as `one` and `two` and the scaling line `name`. */
static void pair(enum job j, const char *name, const char *one, const char *two, int id) {
    const char *names[2] = {one, two};
    info(one, id);
    info(two, id + 1);
    uint64_t samples[2][REPS];
    for (int r = 0; r < REPS; r++) {
        for (int k = 0; k < 2; k++) {
            samples[k][r] = once(j, k + 1);
            if (samples[k][r] == 0) {
                fail(names[k], "a measurement failed");
                return;
            }
        }
    }
    double per_op[2];
    for (int k = 0; k < 2; k++) {
        long iters = j == SYSCALLS ? syscalls_per_thread * (k + 1) : fault_pages;
        uint64_t m = median(samples[k]);
        report(names[k], iters, m);
        print_samples(names[k], samples[k]);
        per_op[k] = (double)m / iters;
    }
    printf("INFO smp_scaling name=%s x=%.2f\n", name, per_op[0] / per_op[1]);
    fflush(stdout);
}

/* ---- ids 14 and 15: a thread of this process spins on CPU 1 ---- */

static volatile int stop, spinning;
static volatile char *target_page;

/* CPU 1: stays in user mode in this address space and keeps the page's
 * translation in its TLB by reading it (it stays readable throughout). */
static void *spinner(void *unused) {
    (void)unused;
    if (!pin(1)) {
        return (void *)1;
    }
    spinning = 1;
    while (!stop) {
        (void)target_page[0];
    }
    return NULL;
}

/* CPU 1's count in the /proc/interrupts row `row` ("TLB", "CAL"), or -1. */
static long interrupts_on_cpu1(const char *row) {
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f) {
        return -1;
    }
    char line[512];
    long count = -1;
    size_t len = strlen(row);
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ') {
            p++;
        }
        if (strncmp(p, row, len) == 0 && p[len] == ':') {
            long cpu0;
            if (sscanf(p + len + 1, "%ld %ld", &cpu0, &count) != 2) {
                count = -1;
            }
            break;
        }
    }
    fclose(f);
    return count;
}

/* Id 14. One operation: mprotect() takes write access away from one
 * touched page, which CPU 1 (a thread of this process, running) may
 * cache; Linux changes the PTE, invalidates it here and sends CPU 1 a
 * flush IPI, and returns once CPU 1 has flushed. So it is a system call,
 * a PTE change and one remote invalidation. Only that call is timed; write
 * access is given back, untimed, before the next one (6.1 flushes CPU 1
 * for that call too, as the TLB shootdown count printed after shows). */
static void tlb_shootdown(char *page) {
    const char *name = "tlb_shootdown";
    info(name, 14);
    int ok = 1;
    uint64_t samples[REPS];
    long shootdowns = interrupts_on_cpu1("TLB");
    for (long i = 0; i < warmup_of(remote_iters); i++) {
        ok &= mprotect(page, PAGE, PROT_READ) == 0;
        ok &= mprotect(page, PAGE, PROT_READ | PROT_WRITE) == 0;
    }
    for (int r = 0; r < REPS; r++) {
        uint64_t ticks = 0;
        MARK_BEGIN(14);
        for (long i = 0; i < remote_iters; i++) {
            uint64_t t0 = rdtsc();
            ok &= mprotect(page, PAGE, PROT_READ) == 0;
            ticks += rdtsc() - t0;
            ok &= mprotect(page, PAGE, PROT_READ | PROT_WRITE) == 0;
        }
        MARK_END(14);
        samples[r] = ticks;
    }
    long after = interrupts_on_cpu1("TLB");
    if (!ok) {
        fail(name, "mprotect");
        return;
    }
    report(name, remote_iters, median(samples));
    print_samples(name, samples);
    if (shootdowns >= 0 && after >= 0) {
        printf("peer: tlb_shootdown cpu1_tlb_shootdowns=%ld timed_mprotects=%ld "
               "all_mprotects=%ld\n",
               after - shootdowns, REPS * remote_iters,
               2 * (REPS * remote_iters + warmup_of(remote_iters)));
    }
}

/* Id 15. One operation: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * which sends an IPI to every other CPU running a thread of this process
 * (CPU 1 only) and returns once each has run the handler: a system call
 * around one IPI round trip. */
static void ipi_roundtrip(void) {
    const char *name = "ipi_roundtrip";
    info(name, 15);
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
        fail(name, "membarrier register");
        return;
    }
    int ok = 1;
    uint64_t samples[REPS];
    long calls = interrupts_on_cpu1("CAL");
    for (long i = 0; i < warmup_of(remote_iters); i++) {
        ok &= syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
    }
    for (int r = 0; r < REPS; r++) {
        uint64_t t0 = rdtsc();
        MARK_BEGIN(15);
        for (long i = 0; i < remote_iters; i++) {
            ok &= syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
        }
        MARK_END(15);
        samples[r] = rdtsc() - t0;
    }
    long after = interrupts_on_cpu1("CAL");
    if (!ok) {
        fail(name, "membarrier");
        return;
    }
    report(name, remote_iters, median(samples));
    print_samples(name, samples);
    if (calls >= 0 && after >= 0) {
        printf("peer: ipi_roundtrip cpu1_function_call_ipis=%ld membarriers=%ld\n", after - calls,
               (REPS * remote_iters) + warmup_of(remote_iters));
    }
}

/* The page of id 14 sits between two PROT_NONE pages, so that its VMA
 * never merges with a neighbour or splits when its protection changes. */
static void remote_benchmarks(void) {
    char *area = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        fail("tlb_shootdown", "mmap");
        return;
    }
    char *page = area + PAGE;
    if (mprotect(page, PAGE, PROT_READ | PROT_WRITE) != 0) {
        fail("tlb_shootdown", "mprotect");
        munmap(area, 3 * PAGE);
        return;
    }
    page[0] = 1;
    target_page = page;
    stop = spinning = 0;
    pthread_t t;
    int err = pthread_create(&t, NULL, spinner, NULL);
    if (err != 0) {
        errno = err;
        fail("tlb_shootdown", "pthread_create");
        munmap(area, 3 * PAGE);
        return;
    }
    while (!spinning) {
    }
    tlb_shootdown(page);
    ipi_roundtrip();
    stop = 1;
    pthread_join(t, NULL);
    munmap(area, 3 * PAGE);
}

void bench_smp(void) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        errno = ENODEV;
        fail("smp", "fewer than two CPUs online");
        return;
    }
    if (!pin(0)) {
        fail("smp", "cannot pin to CPU 0");
        return;
    }
    pair(SYSCALLS, "smp_null_syscall", "smp_null_syscall_1cpu", "smp_null_syscall_2cpu", 10);
    pair(TOUCH, "smp_page_fault", "smp_page_fault_1cpu", "smp_page_fault_2cpu", 12);
    remote_benchmarks();
}
