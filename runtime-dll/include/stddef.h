/* stddef.h: the basic types of Win64 (LLP64: long is 32 bits, pointers
 * and size_t are 64). */
#ifndef _FERRITE_STDDEF_H
#define _FERRITE_STDDEF_H

typedef unsigned long long size_t;
typedef long long ptrdiff_t;
#ifndef __cplusplus
typedef unsigned short wchar_t;
#endif
typedef struct {
    long long __ll;
    long double __ld;
} max_align_t;

#define NULL ((void *)0)
#define offsetof(type, member) __builtin_offsetof(type, member)

#endif
