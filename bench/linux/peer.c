/* Linux peer for Ferrite's benchmarks (benchmarks.md): runs as /init in an
 * initramfs under Linux 6.1 in the same QEMU configuration as Ferrite's
 * milestone kernel, prints the same BOOT and BENCH lines, and powers off.
 * With the argument `smp` (kernel command line `-- smp`) it runs the SMP
 * benchmarks (smp.c) instead of the single-CPU ones. */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double hz; /* TSC ticks per second */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* TSC ticks per second, against CLOCK_MONOTONIC over 100 ms. */
static double tsc_hz(void) {
    double t0 = now_ns();
    uint64_t c0 = rdtsc();
    while (now_ns() - t0 < 100e6) {
    }
    return (rdtsc() - c0) * 1e9 / (now_ns() - t0);
}

void info(const char *name, int id) {
    printf("INFO bench=%s mark_id=%d\n", name, id);
    fflush(stdout); /* before any fork, so a child never repeats it */
}

void report(const char *name, long iters, uint64_t ticks) {
    double cycles = (double)ticks / iters;
    printf("BENCH name=%s iters=%ld cycles_per_op=%.2f ns_per_op=%.2f\n", name, iters, cycles,
           cycles * 1e9 / hz);
    fflush(stdout);
}

void fail(const char *name, const char *what) {
    printf("peer: %s: %s: %s\n", name, what, strerror(errno));
    fflush(stdout);
}

/* Id 1: a system call that does no work (getppid through syscall(2)). */
static void bench_null_syscall(void) {
    const long iters = 200000;
    info("null_syscall", 1);
    for (long i = 0; i < warmup_of(iters); i++) {
        syscall(SYS_getppid);
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(1);
    for (long i = 0; i < iters; i++) {
        syscall(SYS_getppid);
    }
    MARK_END(1);
    report("null_syscall", iters, rdtsc() - start);
}

int main(int argc, char **argv) {
    MARK_BEGIN(0);
    uint64_t first = rdtsc(); /* first user-mode work of the first process */
    hz = tsc_hz();
    printf("BOOT name=boot_to_user tsc=%llu ms=%.3f\n", (unsigned long long)first,
           first * 1000.0 / hz);

    /* Everything runs on one CPU, as Ferrite does (QEMU has -smp 1; this
     * matters only when the peer is tried on a multi-core host). The SMP
     * benchmarks pin each of their threads themselves. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
        fail("peer", "sched_setaffinity");
    }

    if (argc > 1 && strcmp(argv[1], "smp") == 0) {
        /* As /init nothing has mounted /proc, which smp.c reads for the
         * interrupt counts. */
        if (getpid() == 1) {
            mkdir("/proc", 0555);
            if (mount("proc", "/proc", "proc", 0, NULL) != 0) {
                fail("peer", "mount /proc");
            }
        }
        bench_smp();
    } else {
        bench_null_syscall();
        bench_yield_pingpong();
        bench_pipe_pingpong();
        bench_spawn_exit();
        bench_spawn_exec();
        bench_page_fault();
        bench_malloc_free();
        bench_devices();
    }

    printf("peer: done\n");
    fflush(stdout);
    if (getpid() == 1) { /* as /init; on a host, just exit */
        sync();
        reboot(RB_POWER_OFF);
    }
    return 0;
}
