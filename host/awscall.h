/* The broker's AWS call pipeline: derive the operation from the request, permission
 * allow-list, dry-run gate, caps, rate limiter, credentials, SigV4, libcurl (multi),
 * retries, secret substitution and output protection, audit. Driven by host/broker.c. */
#ifndef IRH_AWSCALL_H
#define IRH_AWSCALL_H
#include <stddef.h>
#include <stdint.h>
#include "ipc.h"
#include "options.h"

struct irh_awscall;

/* Creates the pipeline for one run. Credentials and region are resolved lazily (first call)
 * so that `--dry-run`, `--help` and runbooks without AWS calls need none. audit_path is the
 * run's audit.jsonl. NULL with err on failure. */
struct irh_awscall *irh_awscall_new(const struct irh_options *opt, const char *audit_path,
                                    char *err, size_t errlen);
/* Applies the runbook's declaration (DECLARE json): permissions allow-list and rates
 * (the stricter of runbook and --rate wins). Only the first declaration is accepted. */
int irh_awscall_declare(struct irh_awscall *c, const char *json, size_t len, char *err, size_t errlen);
/* Queues a CALL (the kv is copied). Refusals (denied, dryrun, cap) complete at once. */
int irh_awscall_submit(struct irh_awscall *c, uint32_t id, const struct irh_kv *req);
/* Handles the synchronous requests SIGN, PRESIGN, SECRET_GEN, ASSUME_ROLE, HANDOFF; returns the reply
 * (caller frees), with an `error` key on failure. */
struct irh_kv *irh_awscall_request(struct irh_awscall *c, uint8_t type, const struct irh_kv *req);
/* Drives transfers and retry timers until extra_fd is readable, a result is ready, or
 * timeout_ms passes. Sets *extra_ready. Returns 0, or -1 on a fatal error. */
int irh_awscall_wait(struct irh_awscall *c, int extra_fd, int timeout_ms, int *extra_ready);
/* Next finished CALL_RESULT (caller frees), or NULL. */
struct irh_kv *irh_awscall_take(struct irh_awscall *c, uint32_t *id);
/* Non-zero when the run must end (a cap was hit: exit 3; credentials failed: exit 4);
 * msg says why and what to do. */
int irh_awscall_fatal(const struct irh_awscall *c, char *msg, size_t msglen);
/* Counts for the report: calls sent, mutating calls, skipped in dry run, retries. */
struct irh_awscall_stats { long calls, mutating, planned, retries, errors; };
void irh_awscall_stats(const struct irh_awscall *c, struct irh_awscall_stats *out);
/* Frees everything, wiping secrets. NULL is fine. */
void irh_awscall_free(struct irh_awscall *c);

#endif
