/* Host options: what the command line (host/cli.c) decided for this run. Read-only after
 * parsing; the runner inherits a copy across fork. No secret is ever stored here. */
#ifndef IRH_OPTIONS_H
#define IRH_OPTIONS_H
#include <stddef.h>

#define IRH_MAX_RATES 32

struct irh_rate { char service[64]; double per_second; };

struct irh_options {
    const char *region;          /* --region, or NULL */
    const char *profile;         /* --profile, or NULL */
    const char *endpoint_url;    /* --endpoint-url, or NULL */
    int dry_run, yes, json, quiet, verbose;
    int interactive;             /* stdin and stderr are TTYs (prompts possible) */
    int color;                   /* stderr is a TTY and NO_COLOR is unset */
    const char *out_dir;         /* --out, or NULL for the default */
    const char *resume_dir;      /* --resume, or NULL */
    double timeout_s;            /* --timeout, default 900 */
    size_t memory_limit;         /* bytes; --memory-limit MB, default 256 MB */
    long max_calls;              /* --max-calls, default 10000 */
    long max_mutating_calls;     /* --max-mutating-calls, default 1000 */
    unsigned long long max_instructions; /* default 0: unlimited */
    unsigned long long max_evidence;     /* bytes of evidence per run (all attempts); --max-evidence MB, default 2048 MB */
    struct irh_rate rates[IRH_MAX_RATES];
    size_t nrates;
    /* The runbook and its own arguments (everything not a host option). */
    const char *runbook_file;
    char **args;
    int nargs;
};

#endif
