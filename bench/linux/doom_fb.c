/* Linux peer for the doom_timedemo benchmark (benchmarks.md): the platform
 * side of doomgeneric on /dev/fb0, linked with the engine's C files (which
 * are not in this repository: tests/src/peer.rs finds them in the cargo
 * registry). As /init it mounts devtmpfs, runs the engine in a child with
 * `-iwad /freedoom1.wad -timedemo demo1 -nogui`, waits for it and powers
 * the machine off; the engine prints its `timed N gametics in M realtics
 * (F fps)` line on stderr and exits with status -1. Elsewhere it runs the
 * engine with its own arguments. */
#define _GNU_SOURCE
#include "doomgeneric.h"

#include <fcntl.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The framebuffer as DG_Init mapped it. */
static uint8_t *fb;
static uint32_t fb_pitch;          /* bytes per row (fix.line_length) */
static uint32_t fb_width, fb_rows; /* visible pixels (var.xres, var.yres) */

static void die(const char *what) {
    fprintf(stderr, "doom_fb: %s: %m\n", what);
    exit(2);
}

void DG_Init(void) {
    int fd = open("/dev/fb0", O_RDWR);
    if (fd < 0) {
        die("open /dev/fb0");
    }
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    if (ioctl(fd, FBIOGET_VSCREENINFO, &var) != 0 || ioctl(fd, FBIOGET_FSCREENINFO, &fix) != 0) {
        die("FBIOGET_VSCREENINFO/FSCREENINFO");
    }
    fprintf(stderr, "doom_fb: %s %ux%u, %u bpp, pitch %u, red at bit %u, %u bytes\n", fix.id,
            var.xres, var.yres, var.bits_per_pixel, fix.line_length, var.red.offset,
            fix.smem_len);
    /* DG_ScreenBuffer is XRGB8888 (0x00RRGGBB), as efifb on OVMF's GOP is;
     * another layout would be converted, which is not the same work. */
    if (var.bits_per_pixel != 32) {
        fprintf(stderr, "doom_fb: need a 32 bpp framebuffer\n");
        exit(2);
    }
    void *map = mmap(NULL, fix.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        die("mmap /dev/fb0");
    }
    close(fd);
    fb = map;
    fb_pitch = fix.line_length;
    fb_width = var.xres;
    fb_rows = var.yres;
}

/* The frame at the top left of the screen, one row at a time (the
 * framebuffer's rows may be longer than the picture's). */
void DG_DrawFrame(void) {
    uint32_t rows = fb_rows < DOOMGENERIC_RESY ? fb_rows : DOOMGENERIC_RESY;
    uint32_t width = fb_width < DOOMGENERIC_RESX ? fb_width : DOOMGENERIC_RESX;
    for (uint32_t y = 0; y < rows; y++) {
        memcpy(fb + (size_t)y * fb_pitch, DG_ScreenBuffer + (size_t)y * DOOMGENERIC_RESX,
               (size_t)width * 4);
    }
}

void DG_SleepMs(uint32_t ms) { usleep(ms * 1000); }

/* Milliseconds since the first call. */
uint32_t DG_GetTicksMs(void) {
    static struct timespec start;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (start.tv_sec == 0 && start.tv_nsec == 0) {
        start = now;
    }
    return (uint32_t)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
}

int DG_GetKey(int *pressed, unsigned char *key) {
    (void)pressed;
    (void)key;
    return 0; /* no input: the demo plays itself */
}

void DG_SetWindowTitle(const char *title) { (void)title; }

static void run_engine(int argc, char **argv) {
    doomgeneric_Create(argc, argv);
    for (;;) {
        doomgeneric_Tick();
    }
}

int main(int argc, char **argv) {
    if (getpid() != 1) {
        run_engine(argc, argv); /* on a host: e.g. `doom -iwad ... -timedemo demo1` */
    }
    /* As /init: the kernel has not mounted devtmpfs (Debian's kernel has no
     * CONFIG_DEVTMPFS_MOUNT), and /dev/fb0 lives there. */
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0) {
        perror("peer: mount devtmpfs on /dev");
    }
    /* The engine ends with exit(-1), which PID 1 must not do (the kernel
     * would panic): it runs in a child, and init reports how it ended. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {"doom", "-iwad", "/freedoom1.wad", "-timedemo", "demo1", "-nogui", NULL};
        run_engine(6, args);
    }
    int status = 0;
    if (child < 0) {
        perror("peer: fork");
    } else if (waitpid(child, &status, 0) != child) {
        perror("peer: waitpid");
    } else if (WIFEXITED(status)) {
        printf("peer: doom exited with status %d\n", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        printf("peer: doom killed by signal %d\n", WTERMSIG(status));
    }
    printf("peer: done\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
