/* strings.h: Ferrite runtime.dll's case-insensitive comparisons. */
#ifndef _FERRITE_STRINGS_H
#define _FERRITE_STRINGS_H

#include <stddef.h>

int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);

#endif
