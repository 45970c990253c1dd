/* TAP helpers for the C unit tests (each tests/unit/test_*.c is its own binary). */
#ifndef IRH_UNIT_H
#define IRH_UNIT_H
#include <stdio.h>

extern int unit_failed;
/* Records one test result; returns cond. */
int unit_check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void unit_skip(const char *name, const char *why);
/* Returns the exit status for main: 0 if nothing failed. */
int unit_done(void);
#define CHECK(cond, ...) unit_check(!!(cond), __VA_ARGS__)
#endif
