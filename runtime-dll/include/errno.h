/* errno.h: Ferrite runtime.dll's errno (MSVC's numbering). */
#ifndef _FERRITE_ERRNO_H
#define _FERRITE_ERRNO_H

/* One int per process, reached through a function (no DLL data). */
int *_errno(void);
#define errno (*_errno())

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EEXIST 17
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENFILE 23
#define EMFILE 24
#define ENOSPC 28
#define ESPIPE 29
#define EROFS 30
#define EDOM 33
#define ERANGE 34
#define ENAMETOOLONG 38
#define ENOSYS 40
#define ECONNRESET 108
#define ENETUNREACH 118
#define EOVERFLOW 132
#define ETIMEDOUT 138

#endif
