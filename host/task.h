/* What a command other than a run hands the broker and the runner: the files it names
 * (check and test: the files; policy: the runbook) and the command's own options. */
#ifndef IRH_TASK_H
#define IRH_TASK_H

struct irh_task {
    char **files;             /* into argv */
    int nfiles;
    int strict;               /* check --strict: warnings fail too */
    const char *format;       /* check --format: "text" (default), "json" or "sarif" */
    int resources;            /* policy --resources: narrow resources from the params */
    const char *account;      /* policy --account, or NULL (any account: "*") */
    const char *partition;    /* policy --partition, or NULL ("aws") */
    char *runbook[1];         /* policy: storage for files (the runbook) */
};

#endif
