/* sys/stat.h: mkdir (directories on disk volumes, /disk/<volume>/...). */
#ifndef _FERRITE_SYS_STAT_H
#define _FERRITE_SYS_STAT_H

#include <sys/types.h>

#define S_IRWXU 0700
#define S_IRUSR 0400
#define S_IWUSR 0200
#define S_IXUSR 0100

/* 0, or -1 with errno (EEXIST, ENOENT; EROFS outside /disk/). */
int mkdir(const char *path, mode_t mode);
int _mkdir(const char *path);

#endif
