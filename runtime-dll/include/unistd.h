/* unistd.h: the little of POSIX that runtime.dll has. */
#ifndef _FERRITE_UNISTD_H
#define _FERRITE_UNISTD_H

#include <sys/types.h>

#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4

/* 0 if the boot file exists and mode is F_OK or R_OK; else -1, errno. */
int access(const char *path, int mode);
_Noreturn void _exit(int status);

#endif
