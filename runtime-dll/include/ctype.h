/* ctype.h: Ferrite runtime.dll's character classes ("C" locale, ASCII). */
#ifndef _FERRITE_CTYPE_H
#define _FERRITE_CTYPE_H

int isalpha(int c);
int isdigit(int c);
int isspace(int c);
int isupper(int c);
int islower(int c);
int isalnum(int c);
int isprint(int c);
int ispunct(int c);
int isxdigit(int c);
int toupper(int c);
int tolower(int c);

#endif
