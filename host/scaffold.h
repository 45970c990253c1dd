/* irhost new NAME: writes a runbook skeleton and its test (the text comes from the trusted
 * Lua module ir.scaffold) into the current directory, never overwriting a file. No runbook
 * code runs, so this needs no runner. */
#ifndef IRH_SCAFFOLD_H
#define IRH_SCAFFOLD_H
#include <stdio.h>

/* Writes the files for name and lists them on out; returns 0, or the exit code (2 for a
 * bad name, 1 when a file exists or cannot be written) with a one-line message in err. */
int irh_scaffold_new(const char *name, FILE *out, char *err, size_t errlen);

#endif
