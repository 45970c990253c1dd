/* Internals of the AWS call pipeline shared by its files: host/awscall.c (the pipeline and
 * its loop), host/awsvalidate.c (request checks and the allow-list), host/awswire.c (endpoint,
 * secret substitution, SigV4: what goes on the wire) and host/awsrequest.c (SIGN, PRESIGN,
 * SECRET_GEN, ASSUME_ROLE). Not a public interface: only these files include it. */
#ifndef IRH_AWSCALL_INT_H
#define IRH_AWSCALL_INT_H
#include <stddef.h>
#include <stdint.h>
#include "awscall.h"
#include "audit.h"
#include "awsbroker.h"
#include "awserror.h"
#include "credentials.h"
#include "endpoints.h"
#include "http.h"
#include "ratelimit.h"
#include "retry.h"
#include "secrets.h"
#include "sigv4.h"

#define MAX_ROLES 64
#define MAX_BODY (IRH_IPC_MAX_FRAME - 1024u * 1024u)
#define MAX_PARAMS (16u * 1024u * 1024u)
#define MAX_PRESIGNED 256

/* A presigned URL the broker keeps as a secret until the runbook hands it off. */
struct presigned {
    char handle[IRH_SECRET_HANDLE_LEN + 1];
    char what[1200];             /* "GET s3://bucket/key" */
    char expires[32];            /* ISO 8601 UTC */
};

/* An assumed role, named irhost-cred-N by its index + 1. */
struct role {
    struct irh_cred_provider *p;
    char arn[300];               /* the assumed-role ARN */
    char account[16];
};

/* Model facts per service, cached (the model is decoded once). */
struct svc {
    char id[64];
    struct irh_svcinfo info;
    struct svc *next;
};

enum call_state { ST_WAIT, ST_FLIGHT };

struct call {
    uint32_t id;
    struct irh_kv *req;
    const struct svc *svc;
    char operation[128];
    int mutating;
    char region[64];
    const char *account;         /* borrowed: the role's, or NULL */
    char *params;                /* redacted JSON, or NULL */
    struct irh_cred_provider *prov;
    int attempt;
    long long not_before;        /* monotonic ms */
    int rate_taken;              /* a rate limiter slot is reserved for this attempt */
    int adaptive_taken;          /* an adaptive-retry send token is reserved */
    int quota_taken;             /* retry quota this call holds */
    struct call *next;
};

struct done {
    uint32_t id;
    struct irh_kv *kv;
    struct done *next;
};

struct irh_awscall {
    const struct irh_options *opt;
    struct irh_audit *audit;
    struct irh_http *http;
    struct irh_secrets *secrets;
    struct irh_awsbroker *lua;
    struct irh_retry *retry;
    struct irh_ratelimit *rl;
    struct svc *svcs;
    /* credentials and region, resolved on first use */
    struct irh_cred_provider *creds;
    int creds_failed;
    char creds_err[400];
    char region[64];
    char account[16];            /* of the run's own credentials, from GetCallerIdentity */
    struct role roles[MAX_ROLES];
    size_t nroles;
    /* declaration */
    int declared;
    struct irh_declaration decl;
    /* calls */
    struct call *waiting;        /* rate limiter or retry backoff */
    struct call *flight;         /* handed to libcurl */
    size_t inflight;
    struct done *done_head, *done_tail;
    struct irh_awscall_stats stats;
    long sent_calls, sent_mutating;
    int fatal;
    char fatal_msg[600];
    /* handoff */
    char *run_dir;               /* the folder of audit.jsonl: handoff.txt goes there; NULL without */
    struct presigned presigned[MAX_PRESIGNED];
    size_t npresigned;
};

struct wire {
    char *url;                   /* may carry a secret in its query: wiped on free */
    char **lines;                /* "name: value" header lines, wiped on free */
    size_t nlines;
    char *body;                  /* substituted copy, or NULL to send the kv's body */
    size_t body_len;
    char host[320];
};

/* awscall.c */
/* snprintf into err when errlen > 0. */
void irh_awc_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Monotonic clock in ms. */
long long irh_awc_now_ms(void);
/* Marks the run as ending (exit code 3 or 4) with msg; the first reason wins. */
void irh_awc_set_fatal(struct irh_awscall *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Value of key in kv, or "" when absent. */
const char *irh_awc_kv_str(const struct irh_kv *kv, const char *key);
/* Queues a CALL_RESULT with error and message for id. */
void irh_awc_finish_error(struct irh_awscall *c, uint32_t id, const char *error, const char *message);
/* Appends one audit record for k (NULL: none); a write failure makes the run fatal. */
void irh_awc_audit(struct irh_awscall *c, const struct call *k, const char *service, const char *operation,
                   long status, const char *request_id, long latency, const char *outcome,
                   const char *code, const char *message, int dry_run);
/* Frees a call and its copied request. NULL is fine. */
void irh_awc_call_free(struct call *k);
/* The run's region (resolved once). Returns 0, or -1 with err naming where to set one. */
int irh_awc_run_region(struct irh_awscall *c, char *err, size_t errlen);
/* The run's own credential provider (built once). NULL with err. */
struct irh_cred_provider *irh_awc_base_creds(struct irh_awscall *c, char *err, size_t errlen);
/* Copies and checks a CALL-shaped request and derives what it is. Returns the call (NULL only
 * on allocation failure) with *kind NULL when it may proceed, else "protocol" or
 * "credentials" and err. */
struct call *irh_awc_prepare(struct irh_awscall *c, uint32_t id, const struct irh_kv *req,
                             const char **kind, char *err, size_t errlen);

/* awsvalidate.c */
/* Non-zero when s is 1..max characters of [A-Za-z0-9] and extra. */
int irh_awc_is_token(const char *s, size_t max, const char *extra);
/* Checks a CALL kv: required keys, characters, sizes, broker-owned headers. 0 or -1 with err. */
int irh_awc_validate(const struct irh_kv *req, char *err, size_t errlen);
/* 0 when endpoint (a client-level override; NULL or "" for none) is a URL the user configured:
 * --endpoint-url, AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL. Else -1 with err. */
int irh_awc_endpoint_allowed(const struct irh_options *opt, const char *service_id, const char *endpoint,
                             char *err, size_t errlen);
/* 0 when the IAM action is in the declared permissions; else -1 with what to declare. */
int irh_awc_permitted(const struct irh_awscall *c, const char *action, char *err, size_t errlen);

/* awswire.c */
/* Resolves the endpoint, substitutes secret handles (only when allow_secrets), signs, and
 * fills w. Returns 0, or -1 with err and *kind ("credentials" or "protocol"). */
int irh_awc_build_wire(struct irh_awscall *c, const struct call *k, const struct irh_creds *creds,
                       int allow_secrets, struct wire *w, const char **kind, char *err, size_t errlen);
/* Wipes and frees what build_wire filled. */
void irh_awc_wire_free(struct wire *w);

#endif
