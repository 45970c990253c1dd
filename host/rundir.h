/* The run directory: evidence/ with SHA256SUMS, run.log, the audit.jsonl path, and
 * report.json + report.md, which are written at the end of every run, also when the runner
 * died or hit a limit. Events from the runner are validated and kept in order here. */
#ifndef IRH_RUNDIR_H
#define IRH_RUNDIR_H
#include <stddef.h>
#include "awscall.h"
#include "options.h"

struct irh_rundir;

/* A run event as the progress lines need it (fields empty when absent). */
struct irh_event_info {
    char type[32], name[256], status[24], error[512];
    long index, duration_ms;
    int bad_name;                /* refused: a step name with control characters */
};

/* Creates the run directory (--out, default ./irhost-runs/<UTC time>-<runbook>/, mode
 * 0700) or reopens --resume DIR and reads its report.json. NULL with err (exit 2), also
 * when --resume names a run of another runbook file, or --dry-run a real run. */
struct irh_rundir *irh_rundir_open(const struct irh_options *opt, char *err, size_t errlen);
/* The directory as the user should see it, and the run id (its last component). */
const char *irh_rundir_path(const struct irh_rundir *d);
const char *irh_rundir_id(const struct irh_rundir *d);
/* Where the audit log goes. */
const char *irh_rundir_audit_path(const struct irh_rundir *d);
/* With --resume: {"step name": outputs} of the steps that finished, as JSON; else NULL. */
const char *irh_rundir_resume_json(const struct irh_rundir *d);
/* With --resume: -1 (err, exit 2) when a run_start event's runbook or params differ from
 * the run being resumed; else 0. */
int irh_rundir_resume_check(struct irh_rundir *d, const char *json, size_t len, char *err, size_t errlen);
/* With --resume: the resumed run's params as command-line args (owned by d), for a resume
 * that names none; NULL (and *nargs 0) otherwise. */
char **irh_rundir_resume_args(const struct irh_rundir *d, int *nargs);
/* Validates and keeps one EVENT json; fills info. Returns 0, or -1 (err) if refused (a
 * step event whose name holds control characters sets info->bad_name). */
int irh_rundir_event(struct irh_rundir *d, const char *json, size_t len,
                     struct irh_event_info *info, char *err, size_t errlen);
/* Stores evidence/<name> (0600, never overwritten), appends to SHA256SUMS; fills the
 * hex digest and the path relative to the run directory. Returns 0 or -1 (err; errno is
 * EEXIST when the name is already taken). */
int irh_rundir_evidence(struct irh_rundir *d, const char *name, const void *content, size_t len,
                        char sha256_hex[65], char *relpath, size_t relpathlen, char *err, size_t errlen);
/* Appends a line to run.log. */
void irh_rundir_log(struct irh_rundir *d, const char *level, const char *text);
/* Writes report.json and report.md. runner_status: ok|crashed|killed|limit|violation|
 * interrupted; reason says what happened (or ""). *report (may be NULL) receives the
 * report.json text (caller frees). Returns 0 or -1 (err). */
int irh_rundir_finish(struct irh_rundir *d, int exit_code, const char *runner_status, const char *reason,
                      const struct irh_awscall_stats *stats, char **report, char *err, size_t errlen);
/* After a usage error (exit 2): removes the directory this run made under ./irhost-runs
 * (and ./irhost-runs if this run made it and it is empty) when nothing but the report was
 * written there: no evidence, no log line, no AWS call. --out and --resume directories
 * are always kept. Returns 1 when removed, 0 when kept. */
int irh_rundir_discard_unused(struct irh_rundir *d);
/* Frees d (the files stay). NULL is fine. */
void irh_rundir_free(struct irh_rundir *d);

#endif
