/* stdio.h: Ferrite runtime.dll's streams (read-only boot files, console). */
#ifndef _FERRITE_STDIO_H
#define _FERRITE_STDIO_H

#include <stdarg.h>
#include <stddef.h>

/* Opaque: a FILE * is a stream id checked by runtime.dll. */
typedef struct _ferrite_file FILE;

#define EOF (-1)
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define BUFSIZ 4096
#define FOPEN_MAX 32
#define FILENAME_MAX 260
#define _IOFBF 0x0000
#define _IOLBF 0x0040
#define _IONBF 0x0004

/* Data cannot be imported from the DLL without dllimport: the standard
   streams come from a function, as in MSVC's C runtime. */
FILE *__acrt_iob_func(unsigned index);
#define stdin (__acrt_iob_func(0))
#define stdout (__acrt_iob_func(1))
#define stderr (__acrt_iob_func(2))

FILE *fopen(const char *path, const char *mode);
int fclose(FILE *f);
size_t fread(void *buf, size_t size, size_t n, FILE *f);
size_t fwrite(const void *buf, size_t size, size_t n, FILE *f);
int fseek(FILE *f, long offset, int whence);
long ftell(FILE *f);
int _fseeki64(FILE *f, long long offset, int whence);
long long _ftelli64(FILE *f);
void rewind(FILE *f);
int fflush(FILE *f);
int feof(FILE *f);
int ferror(FILE *f);
void clearerr(FILE *f);
int fgetc(FILE *f);
int getc(FILE *f);
int getchar(void);
char *fgets(char *s, int n, FILE *f);
int ungetc(int c, FILE *f);
int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int fputs(const char *s, FILE *f);
int puts(const char *s);
int putchar(int c);
int setvbuf(FILE *f, char *buf, int mode, size_t size);
void setbuf(FILE *f, char *buf);
int remove(const char *path);
int rename(const char *from, const char *to);

int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list va);
int fprintf(FILE *f, const char *fmt, ...);
int vfprintf(FILE *f, const char *fmt, va_list va);
int sprintf(char *buf, const char *fmt, ...);
int vsprintf(char *buf, const char *fmt, va_list va);
int snprintf(char *buf, size_t n, const char *fmt, ...);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list va);
int sscanf(const char *s, const char *fmt, ...);
int vsscanf(const char *s, const char *fmt, va_list va);

#endif
