/* Ids 4 and 6: create a process that exits at once and wait for it; id 6
 * also loads a program image from its file every time (benchmarks.md). */
#include "peer.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 if `child` was created and exited with status 0. */
static int reaped_clean(pid_t child) {
    int status;
    return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* Id 4: fork(), the child calls _exit(0) at once, the parent waits. Linux
 * makes a new process by copying one, so the nearest thing to Ferrite's
 * "process from an image already in memory" is fork without exec. */
static int fork_exit(void) {
    pid_t child = fork();
    if (child == 0) {
        _exit(0);
    }
    return reaped_clean(child);
}

void bench_spawn_exit(void) {
    const char *name = "spawn_exit";
    const long iters = 1000;
    info(name, 4);
    int ok = 1;
    for (long i = 0; i < warmup_of(iters); i++) {
        ok &= fork_exit();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(4);
    for (long i = 0; i < iters; i++) {
        ok &= fork_exit();
    }
    MARK_END(4);
    uint64_t ticks = rdtsc() - start;
    if (!ok) {
        fail(name, "fork or wait failed");
        return;
    }
    report(name, iters, ticks);
}

/* The minimal program (exit0.c), packed into the initramfs by
 * tests/src/peer.rs; PEER_EXIT0 names another path (for a run on a host). */
static const char *exit0_path(void) {
    const char *path = getenv("PEER_EXIT0");
    return path ? path : "/bin/exit0";
}

/* Id 6: fork(), the child execve()s exit0 (the kernel reads the ELF file,
 * maps it, runs it, tears the process down), the parent waits. */
static int fork_exec(const char *path) {
    pid_t child = fork();
    if (child == 0) {
        char *const argv[] = {(char *)path, NULL};
        char *const envp[] = {NULL};
        execve(path, argv, envp);
        _exit(127);
    }
    return reaped_clean(child);
}

void bench_spawn_exec(void) {
    const char *name = "spawn_exec";
    const long iters = 200;
    const char *path = exit0_path();
    info(name, 6);
    int ok = 1;
    for (long i = 0; i < warmup_of(iters); i++) {
        ok &= fork_exec(path);
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(6);
    for (long i = 0; i < iters; i++) {
        ok &= fork_exec(path);
    }
    MARK_END(6);
    uint64_t ticks = rdtsc() - start;
    if (!ok) {
        errno = ENOEXEC; /* the child's own errno is gone; name the likely cause */
        fail(name, path);
        return;
    }
    report(name, iters, ticks);
}
