/* stdarg.h: variable arguments through the compiler's builtins (a Win64
 * va_list is a pointer into the caller's argument area). */
#ifndef _FERRITE_STDARG_H
#define _FERRITE_STDARG_H

typedef __builtin_va_list va_list;

#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_copy(dst, src) __builtin_va_copy(dst, src)
#define va_end(ap) __builtin_va_end(ap)

#endif
