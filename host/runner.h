/* The runner: the forked child that holds the Lua state and nothing else. It enters the
 * sandbox (host/sandbox.h), builds the trusted and the runbook worlds (host/luaenv.h),
 * runs the runbook in the requested mode and ends with a DONE message. */
#ifndef IRH_RUNNER_H
#define IRH_RUNNER_H
#include <stddef.h>
#include "options.h"
#include "task.h"

/* A file the broker read for the runner. */
struct irh_source { const char *path; char *text; size_t len; };

struct irh_runner_args {
    const struct irh_options *opt;
    const char *mode;                /* run | help | describe | check | policy | test */
    const char *source;              /* run, help, describe: the runbook text (read by the broker) */
    size_t srclen;
    const char *chunkname;           /* "@runbooks/ec2.lua" */
    const struct irh_task *task;     /* check, policy, test: the command; NULL otherwise */
    const struct irh_source *files;  /* check, policy, test: task->files, read by the broker */
    size_t nfiles;
    const char *run_id, *run_dir;    /* NULL outside run mode */
    const char *resume_json;         /* NULL unless --resume */
};

/* Runs in the child after fork; sock is its end of the socketpair. Returns the status
 * for _exit (the DONE message carries the real exit code). Never returns to main. */
int irh_runner_main(int sock, const struct irh_runner_args *a);

#endif
