/* Ids 2 and 3: round trips between two threads (sched_yield) and between
 * two processes (blocking pipe reads), on one CPU (benchmarks.md). */
#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whose turn it is: 0 the main thread, 1 the partner. */
static int turn;
static long rounds; /* warm-up + timed round trips, for the partner */

static int load_turn(void) { return __atomic_load_n(&turn, __ATOMIC_ACQUIRE); }
static void pass_turn(int to) { __atomic_store_n(&turn, to, __ATOMIC_RELEASE); }

static void *partner(void *unused) {
    (void)unused;
    for (long i = 0; i < rounds; i++) {
        while (load_turn() != 1) {
            sched_yield();
        }
        pass_turn(0);
    }
    return NULL;
}

/* One round trip: hand the turn over, then yield until it comes back. The
 * main thread yields once (to the partner), and the partner, after passing
 * the turn back, yields once (to the main thread): 2 yields, 2 switches. */
static void round_trip(void) {
    pass_turn(1);
    while (load_turn() != 0) {
        sched_yield();
    }
}

void bench_yield_pingpong(void) {
    const char *name = "yield_pingpong";
    const long iters = 20000;
    info(name, 2);
    rounds = warmup_of(iters) + iters;
    pass_turn(0);
    pthread_t thread;
    int err = pthread_create(&thread, NULL, partner, NULL);
    if (err != 0) {
        errno = err;
        fail(name, "pthread_create");
        return;
    }
    for (long i = 0; i < warmup_of(iters); i++) {
        round_trip();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(2);
    for (long i = 0; i < iters; i++) {
        round_trip();
    }
    MARK_END(2);
    uint64_t ticks = rdtsc() - start;
    pthread_join(thread, NULL);
    report(name, iters, ticks);
}

/* The child answers every byte it reads until the pipe is closed. */
static void echo(int from, int to) {
    char byte;
    while (read(from, &byte, 1) == 1) {
        if (write(to, &byte, 1) != 1) {
            _exit(1);
        }
    }
    _exit(0);
}

/* One round trip: send a byte, block until the answer comes. */
static int ping(int to, int from) {
    char byte = 'p';
    return write(to, &byte, 1) == 1 && read(from, &byte, 1) == 1;
}

void bench_pipe_pingpong(void) {
    const char *name = "pipe_pingpong";
    const long iters = 20000;
    info(name, 3);
    int down[2], up[2]; /* parent -> child, child -> parent */
    if (pipe(down) != 0 || pipe(up) != 0) {
        fail(name, "pipe");
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        fail(name, "fork");
        return;
    }
    if (child == 0) {
        close(down[1]);
        close(up[0]);
        echo(down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    int ok = 1;
    for (long i = 0; i < warmup_of(iters); i++) {
        ok &= ping(down[1], up[0]);
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(3);
    for (long i = 0; i < iters; i++) {
        ok &= ping(down[1], up[0]);
    }
    MARK_END(3);
    uint64_t ticks = rdtsc() - start;
    close(down[1]); /* the child reads end-of-file and exits */
    close(up[0]);
    int status;
    waitpid(child, &status, 0);
    if (!ok) {
        fail(name, "a round trip failed");
        return;
    }
    report(name, iters, ticks);
}
