/* sys/types.h: POSIX types with Win64 (LLP64) sizes. */
#ifndef _FERRITE_SYS_TYPES_H
#define _FERRITE_SYS_TYPES_H

#include <stddef.h>

typedef long off_t;
typedef long long ssize_t;
typedef unsigned int mode_t;
typedef int pid_t;

#endif
