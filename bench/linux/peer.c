/* Linux peer for Ferrite's benchmarks (benchmarks.md): runs as /init in an
 * initramfs under Linux 6.1 in the same QEMU configuration as Ferrite's
 * milestone kernel, prints the same BOOT and BENCH lines, and powers off. */
#include <stdint.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Begin/end markers: nopl 0x4d420000|id(%rax) / (%rcx) (benchmarks.md). */
#define MARK_BEGIN(id) __asm__ volatile(".byte 0x0f,0x1f,0x80; .long 0x4d420000+" #id)
#define MARK_END(id) __asm__ volatile(".byte 0x0f,0x1f,0x81; .long 0x4d420000+" #id)

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

int main(void) {
    MARK_BEGIN(0);
    uint64_t first = rdtsc(); /* first user-mode work of the first process */
    double hz = tsc_hz();
    printf("BOOT name=boot_to_user tsc=%llu ms=%.3f\n", (unsigned long long)first,
           first * 1000.0 / hz);

    const long iters = 200000;
    printf("INFO bench=null_syscall mark_id=1\n");
    for (long i = 0; i < iters / 100; i++) {
        syscall(SYS_getppid);
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(1);
    for (long i = 0; i < iters; i++) {
        syscall(SYS_getppid);
    }
    MARK_END(1);
    double cycles = (double)(rdtsc() - start) / iters;
    printf("BENCH name=null_syscall iters=%ld cycles_per_op=%.2f ns_per_op=%.2f\n", iters, cycles,
           cycles * 1e9 / hz);
    printf("peer: done\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
