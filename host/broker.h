/* The broker: the parent process. It reads the runbook, forks the sandboxed runner before
 * any secret is loaded, then answers the runner's messages (AWS calls through
 * host/awscall.h, evidence, prompts, module and file reads), enforces the wall clock,
 * and turns every ending (done, crash, kill, limit, protocol violation) into an exit code
 * and, in run mode, a report in the run directory. */
#ifndef IRH_BROKER_H
#define IRH_BROKER_H
#include "options.h"
#include "task.h"

/* Runs opt->runbook_file in mode run|help|describe (task NULL), or the task's files in mode
 * check|policy|test; returns the exit code (0..5, or 130 after Ctrl-C). Prints what the
 * user must know on stderr (and --json or the command's output on stdout). */
int irh_broker_run(const struct irh_options *opt, const char *mode, const struct irh_task *task);

#endif
