/* audit.jsonl: one JSON object per AWS call attempt (and per refused or planned call),
 * appended with write() and flushed to disk (fdatasync) before the result goes back to the runner, so a killed
 * run loses no record of a call it made. Parameters arrive already redacted. */
#ifndef IRH_AUDIT_H
#define IRH_AUDIT_H
#include <stddef.h>

struct irh_audit;

struct irh_audit_record {
    unsigned long call_id;       /* the runner's request id */
    const char *service, *operation, *region;
    const char *account;         /* NULL when unknown */
    int mutating;
    const char *params_json;     /* redacted params: valid JSON text from the broker, or NULL */
    long status;                 /* HTTP status; 0 when nothing came back */
    const char *request_id;      /* NULL or "" when none */
    long latency_ms;
    int attempt;                 /* 1-based; 0 for calls never sent */
    const char *outcome;         /* "ok", "error", "retry", "denied", "dryrun", "cap", ... */
    const char *error_code, *error_message;  /* NULL when none */
    int dry_run;                 /* 1: the call was skipped by --dry-run (a planned call) */
};

/* Opens (creates 0600, appends) the audit file. NULL with err. */
struct irh_audit *irh_audit_open(const char *path, char *err, size_t errlen);
/* Appends one line and flushes it to disk (fdatasync). Returns 0, or -1 with err (the run must stop). */
int irh_audit_write(struct irh_audit *a, const struct irh_audit_record *r, char *err, size_t errlen);
/* Escapes s[0..len) as the inside of a JSON string into a malloc'd NUL-terminated buffer. */
char *irh_json_escape(const char *s, size_t len);
/* Closes the file. NULL is fine. */
void irh_audit_close(struct irh_audit *a);

#endif
