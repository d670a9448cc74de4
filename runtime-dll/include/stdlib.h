/* stdlib.h: Ferrite runtime.dll's memory, conversions, sorting, exit. */
#ifndef _FERRITE_STDLIB_H
#define _FERRITE_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

int atoi(const char *s);
long atol(const char *s);
long long atoll(const char *s);
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);
double atof(const char *s);
double strtod(const char *s, char **end);

int abs(int v);
long labs(long v);
long long llabs(long long v);

void qsort(void *base, size_t n, size_t size,
           int (*compare)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*compare)(const void *, const void *));

/* MSVC's generator and range. */
#define RAND_MAX 0x7fff
int rand(void);
void srand(unsigned int seed);

int system(const char *command);
int atexit(void (*f)(void));
_Noreturn void exit(int status);
_Noreturn void _exit(int status);
_Noreturn void abort(void);

/* Ferrite: the C heap's figures (FerriteHeapStats). */
typedef struct {
    unsigned long long in_use;
    unsigned long long blocks;
    unsigned long long arena_bytes;
    unsigned long long arenas;
    unsigned long long refused;
    unsigned long long failed_growths;
} FerriteHeapStats_t;
void FerriteHeapStats(FerriteHeapStats_t *out);

#endif
