/* Progress on stderr: one line per finished step, log lines, the final summary. Colours
 * only when stderr is a TTY (and NO_COLOR is unset); --quiet keeps only errors. */
#ifndef IRH_PROGRESS_H
#define IRH_PROGRESS_H
#include <stddef.h>
#include <stdio.h>
#include "options.h"

struct irh_progress { int quiet, verbose, color; };

/* Writes len bytes of runner-supplied text to f so that it cannot drive the terminal or
 * pass for irhost's own lines: control characters (C0, DEL, C1) are shown escaped (\e, \r,
 * \x07, \u009b); each newline is followed by indent, or shown as \n when indent is NULL. */
void irh_progress_put_text(FILE *f, const char *text, size_t len, const char *indent);
/* Takes the settings from the options. */
void irh_progress_init(struct irh_progress *p, const struct irh_options *opt);
/* A step started (printed only with --verbose). */
void irh_progress_step_start(const struct irh_progress *p, long index, const char *name);
/* A step ended: status done|failed|skipped|dry-run, its duration, its error if any. */
void irh_progress_step_end(const struct irh_progress *p, const char *name, const char *status,
                           long duration_ms, const char *error);
/* A LOG message from the runbook: debug only with --verbose, nothing but errors with --quiet. */
void irh_progress_log(const struct irh_progress *p, const char *level, const char *text);
/* The final line: outcome, exit code, time taken, where the run directory is (may be NULL). */
void irh_progress_summary(const struct irh_progress *p, int exit_code, double seconds, const char *run_dir);

#endif
