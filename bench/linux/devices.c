/* The storage and network benchmarks (ids 21-24, the M6 rows of Ferrite's
 * README) on Linux: the same disks, network and host peer as Ferrite's
 * suite boot. The virtio, FAT and NLS modules come in the initramfs
 * (/lib/modules, loaded in dependency order); the network gets QEMU's
 * user-network address statically, as Ferrite's DHCP lease gives it.
 * Reads use O_DIRECT: Ferrite caches no disk data, so neither does the
 * peer. */
#define _GNU_SOURCE
#include "peer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIB (1L << 20)
#define BENCH_PORT 8   /* the guest port the host's peer reaches */
#define MESSAGE 64     /* bytes of one round trip */
#define ROUND_TRIPS 200
#define PEER_MS 30000  /* how long to wait for the host's peer */
#define REPLY_MS 2000  /* how long one reply may take */

/* In dependency order (each module's `depends=` in Debian's 6.1 kernel:
 * virtio needs virtio_ring, virtio_pci all four before it, ...); vfat
 * mounts with the kernel's default iocharset, ascii. */
static const char *const MODULES[] = {
    "virtio_ring.ko", "virtio.ko",     "virtio_pci_legacy_dev.ko", "virtio_pci_modern_dev.ko",
    "virtio_pci.ko", "virtio_blk.ko",  "failover.ko",              "net_failover.ko",
    "virtio_net.ko", "fat.ko",         "vfat.ko",                  "nls_cp437.ko",
    "nls_iso8859-1.ko", "nls_ascii.ko",
};

/* Names what `dir` holds (for a module that cannot be found). */
static void list_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        printf("peer: devices: %s: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        printf("peer: devices: %s holds %s\n", dir, e->d_name);
    }
    closedir(d);
}

static int load_modules(void) {
    for (size_t i = 0; i < sizeof MODULES / sizeof *MODULES; i++) {
        char path[128];
        snprintf(path, sizeof path, "/lib/modules/%s", MODULES[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fail("devices", path);
            list_dir("/");
            list_dir("/lib");
            list_dir("/lib/modules");
            return -1;
        }
        long r = syscall(SYS_finit_module, fd, "", 0);
        close(fd);
        if (r != 0 && errno != EEXIST) {
            fail("devices", path);
            return -1;
        }
    }
    return 0;
}

static double ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Waits up to 5 s for a device node to appear. */
static int wait_for(const char *path) {
    double until = ms_now() + 5000;
    struct stat st;
    while (stat(path, &st) != 0) {
        if (ms_now() > until) {
            return -1;
        }
        usleep(10000);
    }
    return 0;
}

/* Id 21: 1 MiB from the first disk in 256 KiB requests, front to back. */
static void bench_blk_read_seq(void) {
    const long iters = 64, piece = 256 << 10;
    if (wait_for("/dev/vda") != 0) {
        fail("blk_read_seq", "no /dev/vda");
        return;
    }
    int fd = open("/dev/vda", O_RDONLY | O_DIRECT);
    char *buf = aligned_alloc(4096, piece);
    off_t size = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
    if (fd < 0 || !buf || size < piece) {
        fail("blk_read_seq", "open /dev/vda");
        return;
    }
    off_t at = 0;
    long errors = 0;
    info("blk_read_seq", 21);
#define ONE_MIB_OF_DISK()                                                                          \
    for (long k = 0; k < MIB / piece; k++) {                                                       \
        if (at + piece > size) {                                                                   \
            at = 0;                                                                                \
        }                                                                                          \
        errors += pread(fd, buf, piece, at) != piece;                                              \
        at += piece;                                                                               \
    }
    for (long i = 0; i < warmup_of(iters); i++) {
        ONE_MIB_OF_DISK();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(21);
    for (long i = 0; i < iters; i++) {
        ONE_MIB_OF_DISK();
    }
    MARK_END(21);
    report("blk_read_seq", iters, rdtsc() - start);
    if (errors) {
        printf("peer: blk_read_seq: %ld failed reads\n", errors);
    }
    close(fd);
    free(buf);
}

/* The largest file of at least 64 KiB in /mnt/data, into `path`. */
static int largest_in_data(char *path, size_t len) {
    DIR *d = opendir("/mnt/data");
    if (!d) {
        return -1;
    }
    off_t best = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "/mnt/data/%s", e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 64 << 10 &&
            st.st_size > best) {
            best = st.st_size;
            snprintf(path, len, "%s", p);
        }
    }
    closedir(d);
    return best ? 0 : -1;
}

/* Id 22: 1 MiB of the largest file in a FAT volume's /data, in 64 KiB
 * pieces (wrapping at its end), as Ferrite's first such volume. */
static void bench_file_read_seq(void) {
    const long iters = 16, piece = 64 << 10;
    char path[512] = "";
    mkdir("/mnt", 0755);
    int found = 0;
    for (char disk = 'b'; disk <= 'h' && !found; disk++) {
        for (int part = 0; part <= 8 && !found; part++) {
            char dev[32];
            if (part == 0) {
                snprintf(dev, sizeof dev, "/dev/vd%c", disk);
            } else {
                snprintf(dev, sizeof dev, "/dev/vd%c%d", disk, part);
            }
            if (mount(dev, "/mnt", "vfat", MS_RDONLY, "") != 0) {
                continue;
            }
            if (largest_in_data(path, sizeof path) == 0) {
                found = 1;
            } else {
                umount("/mnt");
            }
        }
    }
    if (!found) {
        fail("file_read_seq", "no FAT volume with a /data file of 64 KiB");
        return;
    }
    int fd = open(path, O_RDONLY | O_DIRECT);
    char *buf = aligned_alloc(4096, piece);
    if (fd < 0 || !buf) {
        fail("file_read_seq", path);
        return;
    }
    off_t at = 0;
    long errors = 0;
    info("file_read_seq", 22);
#define ONE_MIB_OF_FILE()                                                                          \
    for (long left = MIB; left > 0;) {                                                            \
        ssize_t n = pread(fd, buf, piece, at);                                                     \
        if (n < 0) {                                                                               \
            errors++;                                                                              \
            break;                                                                                 \
        }                                                                                          \
        if (n == 0) {                                                                              \
            at = 0;                                                                                \
            continue;                                                                              \
        }                                                                                          \
        at += n;                                                                                   \
        left -= n;                                                                                 \
    }
    for (long i = 0; i < warmup_of(iters); i++) {
        ONE_MIB_OF_FILE();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(22);
    for (long i = 0; i < iters; i++) {
        ONE_MIB_OF_FILE();
    }
    MARK_END(22);
    report("file_read_seq", iters, rdtsc() - start);
    if (errors) {
        printf("peer: file_read_seq: %ld failed reads\n", errors);
    }
    close(fd);
    free(buf);
    umount("/mnt");
}

/* eth0 up with QEMU's user-network guest address 10.0.2.15/24. */
static int network_up(void) {
    if (wait_for("/sys/class/net/eth0") != 0) {
        fail("network", "no eth0");
        return -1;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.2.15", &a->sin_addr);
    int bad = ioctl(s, SIOCSIFADDR, &ifr) != 0;
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    bad |= ioctl(s, SIOCSIFNETMASK, &ifr) != 0;
    bad |= ioctl(s, SIOCGIFFLAGS, &ifr) != 0;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    bad |= ioctl(s, SIOCSIFFLAGS, &ifr) != 0;
    close(s);
    if (bad) {
        fail("network", "eth0 address");
        return -1;
    }
    return 0;
}

static void message(unsigned char *m, long n) {
    for (int i = 0; i < MESSAGE; i++) {
        m[i] = (unsigned char)(n * 31 + i);
    }
}

/* Id 23: a 64-byte datagram to the host's peer and the same bytes back. */
static void bench_udp_echo_rtt(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(BENCH_PORT)};
    if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) != 0) {
        fail("udp_echo_rtt", "bind");
        return;
    }
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    unsigned char buf[2048], m[MESSAGE];
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, PEER_MS) != 1 ||
        recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen) < 0) {
        fail("udp_echo_rtt", "no peer");
        close(s);
        return;
    }
    long n = 0, lost = 0;
    info("udp_echo_rtt", 23);
#define ONE_UDP_ROUND_TRIP()                                                                       \
    do {                                                                                           \
        message(m, ++n);                                                                           \
        if (sendto(s, m, MESSAGE, 0, (struct sockaddr *)&peer, plen) != MESSAGE) {                 \
            lost++;                                                                                \
            break;                                                                                 \
        }                                                                                          \
        for (;;) {                                                                                 \
            if (poll(&p, 1, REPLY_MS) != 1) {                                                      \
                lost++;                                                                            \
                break;                                                                             \
            }                                                                                      \
            ssize_t got = recv(s, buf, sizeof buf, 0);                                             \
            if (got == MESSAGE && memcmp(buf, m, MESSAGE) == 0) {                                  \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    } while (0)
    for (long i = 0; i < warmup_of(ROUND_TRIPS); i++) {
        ONE_UDP_ROUND_TRIP();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(23);
    for (long i = 0; i < ROUND_TRIPS; i++) {
        ONE_UDP_ROUND_TRIP();
    }
    MARK_END(23);
    report("udp_echo_rtt", ROUND_TRIPS, rdtsc() - start);
    if (lost) {
        printf("peer: udp_echo_rtt: %ld round trips lost\n", lost);
    }
    close(s);
}

/* Id 24: 64 bytes over a TCP connection from the host's peer and back. */
static void bench_tcp_echo_rtt(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(BENCH_PORT)};
    if (l < 0 || bind(l, (struct sockaddr *)&me, sizeof me) != 0 || listen(l, 4) != 0) {
        fail("tcp_echo_rtt", "listen");
        return;
    }
    struct pollfd p = {.fd = l, .events = POLLIN};
    int s = poll(&p, 1, PEER_MS) == 1 ? accept(l, NULL, NULL) : -1;
    close(l);
    if (s < 0) {
        fail("tcp_echo_rtt", "no peer");
        return;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p.fd = s;
    unsigned char buf[MESSAGE], m[MESSAGE];
    long n = 0, lost = 0;
    info("tcp_echo_rtt", 24);
#define ONE_TCP_ROUND_TRIP()                                                                       \
    do {                                                                                           \
        message(m, ++n);                                                                           \
        if (send(s, m, MESSAGE, 0) != MESSAGE) {                                                   \
            lost++;                                                                                \
            break;                                                                                 \
        }                                                                                          \
        int got = 0;                                                                               \
        while (got < MESSAGE && poll(&p, 1, REPLY_MS) == 1) {                                      \
            ssize_t r = recv(s, buf + got, MESSAGE - got, 0);                                      \
            if (r <= 0) {                                                                          \
                break;                                                                             \
            }                                                                                      \
            got += r;                                                                              \
        }                                                                                          \
        lost += got != MESSAGE || memcmp(buf, m, MESSAGE) != 0;                                    \
    } while (0)
    for (long i = 0; i < warmup_of(ROUND_TRIPS); i++) {
        ONE_TCP_ROUND_TRIP();
    }
    uint64_t start = rdtsc();
    MARK_BEGIN(24);
    for (long i = 0; i < ROUND_TRIPS; i++) {
        ONE_TCP_ROUND_TRIP();
    }
    MARK_END(24);
    report("tcp_echo_rtt", ROUND_TRIPS, rdtsc() - start);
    if (lost) {
        printf("peer: tcp_echo_rtt: %ld round trips lost\n", lost);
    }
    close(s);
}

void bench_devices(void) {
    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, "") != 0 && errno != EBUSY) {
        fail("devices", "mount /dev");
    }
    mkdir("/sys", 0555);
    if (mount("sysfs", "/sys", "sysfs", 0, "") != 0 && errno != EBUSY) {
        fail("devices", "mount /sys");
    }
    if (load_modules() != 0) {
        return;
    }
    bench_blk_read_seq();
    bench_file_read_seq();
    if (network_up() == 0) {
        bench_udp_echo_rtt();
        bench_tcp_echo_rtt();
    }
}
