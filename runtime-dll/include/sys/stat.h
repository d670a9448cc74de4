/* sys/stat.h: mkdir, which always fails (there is nowhere to write). */
#ifndef _FERRITE_SYS_STAT_H
#define _FERRITE_SYS_STAT_H

#include <sys/types.h>

#define S_IRWXU 0700
#define S_IRUSR 0400
#define S_IWUSR 0200
#define S_IXUSR 0100

/* -1 with errno EROFS. */
int mkdir(const char *path, mode_t mode);
int _mkdir(const char *path);

#endif
