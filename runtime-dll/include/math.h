/* math.h: Ferrite runtime.dll's floating-point functions. */
#ifndef _FERRITE_MATH_H
#define _FERRITE_MATH_H

#define HUGE_VAL (__builtin_huge_val())
#define INFINITY (__builtin_inff())
#define NAN (__builtin_nanf(""))

double fabs(double x);
double floor(double x);
double ceil(double x);
double trunc(double x);
double sqrt(double x);
double fmod(double x, double y);

#endif
