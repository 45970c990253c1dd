/* The broker's trusted Lua state for the call pipeline: the embedded `aws.broker` module
 * (derive the operation a serialized request really is, redact params, protect sensitive
 * output with secret handles), model metadata, and reading the runbook declaration.
 * No runbook code ever runs here; its allocator wipes every block it frees. */
#ifndef IRH_AWSBROKER_H
#define IRH_AWSBROKER_H
#include <stddef.h>
#include "http.h"
#include "ipc.h"
#include "options.h"
#include "secrets.h"

struct irh_awsbroker;

struct irh_derived {
    char service[64];
    char operation[128];
    int mutating;
};

struct irh_svcinfo {
    char signing_name[64];       /* model signingName, else endpointPrefix */
    char endpoint_prefix[64];
    char iam_prefix[64];         /* the IAM action prefix: "ec2", "elasticloadbalancing", "cloudwatch" */
    int global;                  /* model globalEndpoint: signed in us-east-1 (partition aws) */
};

struct irh_declaration {
    char **permissions;          /* IAM action patterns as declared */
    size_t npermissions;
    int has_permissions;         /* the declaration had a permissions list */
    struct irh_rate rates[IRH_MAX_RATES];
    size_t nrates;
};

/* Builds the state. NULL with err on allocation failure (a missing aws.broker module is
 * reported by each call, so runs without AWS calls still work). */
struct irh_awsbroker *irh_awsbroker_new(char *err, size_t errlen);
/* Frees the state (its allocator wipes). NULL is fine. */
void irh_awsbroker_free(struct irh_awsbroker *b);
/* aws.broker.derive over a CALL kv. Returns 0, or -1 with err (request matches no operation). */
int irh_awsbroker_derive(struct irh_awsbroker *b, const struct irh_kv *req, struct irh_derived *out,
                         char *err, size_t errlen);
/* aws.broker.redact: params JSON with sensitive members as "***" (malloc'd), or NULL with err. */
char *irh_awsbroker_redact(struct irh_awsbroker *b, const char *service, const char *operation,
                           const char *params, size_t len, char *err, size_t errlen);
/* aws.broker.protect over a 2xx response. Returns 1 with *json (malloc'd; wipe before free)
 * and every (handle, value) stored in s; 0 when the output has no sensitive member;
 * -1 with err. */
int irh_awsbroker_protect(struct irh_awsbroker *b, const char *service, const char *operation,
                          const struct irh_http_response *resp, struct irh_secrets *s,
                          char **json, size_t *jsonlen, char *err, size_t errlen);
/* aws.broker.rebuild: a copy of the CALL req whose wire fields (method, path, query,
 * host_prefix, body, h:*) are serialized by the broker from req's params, after checking
 * that every secret handle in them stands in a sensitive member. Caller frees; NULL with
 * err (naming the member) otherwise. */
struct irh_kv *irh_awsbroker_rebuild(struct irh_awsbroker *b, const struct irh_kv *req, const char *service,
                                     const char *operation, char *err, size_t errlen);
/* Model metadata of a service id. Returns 0, or -1 with err (no embedded model). */
int irh_awsbroker_service(struct irh_awsbroker *b, const char *service, struct irh_svcinfo *out,
                          char *err, size_t errlen);
/* Parses a DECLARE json into d. Returns 0, or -1 with err. */
int irh_awsbroker_declaration(struct irh_awsbroker *b, const char *json, size_t len,
                              struct irh_declaration *d, char *err, size_t errlen);
/* Frees what a declaration holds. */
void irh_declaration_clear(struct irh_declaration *d);

#endif
