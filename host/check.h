/* irhost check FILE...: compiles each runbook and validates its declaration in the sandbox
 * (mode "check"), without running any step. Deeper checks (calls against the AWS models,
 * permissions) grow here. */
#ifndef IRH_CHECK_H
#define IRH_CHECK_H
#include "options.h"

/* Checks every file; prints one line per file; returns 0 if all pass, else the highest
 * exit code a file produced. */
int irh_check_files(const struct irh_options *opt, char **files, int nfiles);

#endif
