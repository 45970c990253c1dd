/* The command line: subcommand and host options into struct irh_options (host/options.h).
 * Host options and runbook params may come in any order after the runbook; `--` ends host
 * options; everything that is not a host option is the runbook's (opt.args). */
#ifndef IRH_CLI_H
#define IRH_CLI_H
#include <stddef.h>
#include <stdio.h>
#include "options.h"
#include "task.h"

enum irh_command {
    IRH_CMD_RUN,        /* irhost RUNBOOK [params] */
    IRH_CMD_RUNBOOK_HELP, /* irhost RUNBOOK --help */
    IRH_CMD_CHECK,      /* irhost check FILE... [--strict] [--format F] */
    IRH_CMD_POLICY,     /* irhost policy RUNBOOK [--resources] [--account A] [params] */
    IRH_CMD_TEST,       /* irhost test FILE... */
    IRH_CMD_NEW,        /* irhost new NAME */
    IRH_CMD_DESCRIBE,   /* irhost describe RUNBOOK */
    IRH_CMD_VERSION,    /* irhost version */
    IRH_CMD_HELP,       /* irhost help, irhost --help, irhost */
};

struct irh_cli {
    enum irh_command cmd;
    struct irh_options opt;  /* opt.args points into argv; opt.runbook_file too */
    struct irh_task task;    /* check, policy, test: files and command options */
    const char *new_name;    /* new: the runbook name */
};

#define IRH_VERSION "0.1.0"

/* Fills cli from argv (which must outlive it). Returns 0, or -1 with a one-line problem
 * plus hint in err (exit 2). */
int irh_cli_parse(int argc, char **argv, struct irh_cli *cli, char *err, size_t errlen);
/* The host option closest to an unknown "--flag" (without its "--"), when it is a likely
 * typo (a small edit distance), else NULL. */
const char *irh_cli_suggest(const char *flag);
/* Frees what irh_cli_parse allocated (not argv). */
void irh_cli_free(struct irh_cli *cli);
/* Prints the host usage text. */
void irh_cli_usage(FILE *f);

#endif
