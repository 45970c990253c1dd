#include "awscall_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void irh_awc_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void irh_awc_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

long long irh_awc_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void irh_awc_set_fatal(struct irh_awscall *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void irh_awc_set_fatal(struct irh_awscall *c, int code, const char *fmt, ...)
{
    if (c->fatal) return;
    c->fatal = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fatal_msg, sizeof c->fatal_msg, fmt, ap);
    va_end(ap);
}

const char *irh_awc_kv_str(const struct irh_kv *kv, const char *key)
{
    const char *v = irh_kv_get(kv, key, NULL);
    return v ? v : "";
}

/* ---------------------------------------------------------------- results */

static void push_done(struct irh_awscall *c, uint32_t id, struct irh_kv *kv)
{
    struct done *d = calloc(1, sizeof *d);
    if (!d) {
        irh_kv_free(kv);
        irh_awc_set_fatal(c, 3, "out of memory in the AWS call pipeline");
        return;
    }
    d->id = id;
    d->kv = kv;
    if (c->done_tail) c->done_tail->next = d; else c->done_head = d;
    c->done_tail = d;
}

/* A refusal or failure: CALL_RESULT with error and message. */
void irh_awc_finish_error(struct irh_awscall *c, uint32_t id, const char *error, const char *message)
{
    struct irh_kv *kv = irh_kv_new();
    if (!kv || irh_kv_adds(kv, "error", error) || irh_kv_adds(kv, "message", message)) {
        irh_kv_free(kv);
        irh_awc_set_fatal(c, 3, "out of memory in the AWS call pipeline");
        return;
    }
    push_done(c, id, kv);
}

void irh_awc_audit(struct irh_awscall *c, const struct call *k, const char *service, const char *operation,
                  long status, const char *request_id, long latency, const char *outcome,
                  const char *code, const char *message, int dry_run)
{
    if (!c->audit) return;
    struct irh_audit_record r = {
        .call_id = k ? k->id : 0, .service = service, .operation = operation,
        .region = k ? k->region : c->region,
        .account = k && k->account ? k->account : (c->account[0] && (!k || !k->prov || k->prov == c->creds)) ? c->account : NULL,
        .mutating = k ? k->mutating : 0, .params_json = k ? k->params : NULL,
        .status = status, .request_id = request_id, .latency_ms = latency,
        .attempt = k ? k->attempt : 0, .outcome = outcome, .error_code = code,
        .error_message = message, .dry_run = dry_run,
    };
    char err[400];
    if (irh_audit_write(c->audit, &r, err, sizeof err) != 0)
        irh_awc_set_fatal(c, 3, "%s; the run stops because every AWS call must be recorded", err);
}

void irh_awc_call_free(struct call *k)
{
    if (!k) return;
    irh_kv_free(k->req);
    free(k->params);
    free(k);
}

/* ---------------------------------------------------------------- setup */

struct irh_awscall *irh_awscall_new(const struct irh_options *opt, const char *audit_path,
                                    char *err, size_t errlen)
{
    struct irh_awscall *c = calloc(1, sizeof *c);
    if (!c) { irh_awc_err(err, errlen, "out of memory"); return NULL; }
    c->opt = opt;
    if (audit_path && !(c->audit = irh_audit_open(audit_path, err, errlen))) goto fail;
    if (audit_path) {
        const char *slash = strrchr(audit_path, '/');
        size_t n = slash ? (size_t)(slash - audit_path) : 1;
        if (!(c->run_dir = malloc(n + 2))) { irh_awc_err(err, errlen, "out of memory"); goto fail; }
        memcpy(c->run_dir, slash ? audit_path : ".", n);
        c->run_dir[n] = '\0';
        if (n == 0) { c->run_dir[0] = '/'; c->run_dir[1] = '\0'; }
    }
    struct irh_http_options ho = { 0 };
    ho.ca_bundle = getenv("AWS_CA_BUNDLE");
    /* Timeouts in seconds, as the CLI's --cli-connect-timeout / --cli-read-timeout. */
    const char *ct = getenv("IRHOST_CONNECT_TIMEOUT"), *rt = getenv("IRHOST_READ_TIMEOUT");
    if (ct && atof(ct) > 0) ho.connect_timeout_ms = (long)(atof(ct) * 1000);
    if (rt && atof(rt) > 0) ho.read_timeout_ms = (long)(atof(rt) * 1000);
    ho.max_body = MAX_BODY;
    if (!(c->http = irh_http_new(&ho, err, errlen))) goto fail;
    if (!(c->secrets = irh_secrets_new())) { irh_awc_err(err, errlen, "out of memory"); goto fail; }
    if (!(c->lua = irh_awsbroker_new(err, errlen))) goto fail;
    struct irh_retry_config rc;
    if (irh_retry_config_load(&rc, NULL, NULL, err, errlen) != 0) goto fail;
    if (!(c->retry = irh_retry_new(&rc, (double)irh_awc_now_ms() / 1000.0))) { irh_awc_err(err, errlen, "out of memory"); goto fail; }
    if (!(c->rl = irh_ratelimit_new(opt))) { irh_awc_err(err, errlen, "out of memory"); goto fail; }
    return c;
fail:
    irh_awscall_free(c);
    return NULL;
}

/* ---------------------------------------------------------------- services, regions, credentials */

static const struct svc *service_info(struct irh_awscall *c, const char *id, char *err, size_t errlen)
{
    for (struct svc *s = c->svcs; s; s = s->next)
        if (strcmp(s->id, id) == 0) return s;
    struct svc *s = calloc(1, sizeof *s);
    if (!s) { irh_awc_err(err, errlen, "out of memory"); return NULL; }
    snprintf(s->id, sizeof s->id, "%s", id);
    if (irh_awsbroker_service(c->lua, id, &s->info, err, errlen) != 0) { free(s); return NULL; }
    s->next = c->svcs;
    c->svcs = s;
    return s;
}

int irh_awc_run_region(struct irh_awscall *c, char *err, size_t errlen)
{
    if (c->region[0]) return 0;
    if (irh_region_resolve(c->opt->region, c->opt->profile, c->region, sizeof c->region, err, errlen) != 0) {
        c->region[0] = '\0';
        return -1;
    }
    return 0;
}

struct irh_cred_provider *irh_awc_base_creds(struct irh_awscall *c, char *err, size_t errlen)
{
    if (c->creds) return c->creds;
    if (c->creds_failed) { irh_awc_err(err, errlen, "%s", c->creds_err); return NULL; }
    char rerr[300] = "";
    irh_awc_run_region(c, rerr, sizeof rerr);     /* STS needs one only for some providers */
    struct irh_cred_options o = {
        .profile = c->opt->profile, .region = c->region[0] ? c->region : NULL,
        .sts_endpoint = c->opt->endpoint_url, .interactive = c->opt->interactive,
    };
    c->creds = irh_cred_provider_new(&o, c->creds_err, sizeof c->creds_err);
    if (!c->creds) {
        c->creds_failed = 1;
        irh_awc_err(err, errlen, "%s", c->creds_err);
    }
    return c->creds;
}

/* Role index from an "irhost-cred-N" handle, or -1. */
static int role_index(const struct irh_awscall *c, const char *h)
{
    if (strncmp(h, "irhost-cred-", 12) != 0) return -1;
    char *end;
    long n = strtol(h + 12, &end, 10);
    if (*end || n < 1 || (size_t)n > c->nroles) return -1;
    return (int)n - 1;
}

/* ---------------------------------------------------------------- sending and answers */

static void enqueue(struct irh_awscall *c, struct call *k)
{
    k->next = NULL;
    struct call **pp = &c->waiting;
    while (*pp) pp = &(*pp)->next;
    *pp = k;
}

/* A call that cannot go on: audit it and answer with error. */
static void fail_call(struct irh_awscall *c, struct call *k, const char *kind, const char *msg, long latency)
{
    irh_awc_audit(c, k, k->svc ? k->svc->id : irh_awc_kv_str(k->req, "service"), k->operation[0] ? k->operation : irh_awc_kv_str(k->req, "operation"),
          0, NULL, latency, kind, kind, msg, 0);
    c->stats.errors++;
    if (strcmp(kind, "credentials") == 0)
        irh_awc_set_fatal(c, 4, "%s", msg);
    irh_awc_finish_error(c, k->id, kind, msg);
    irh_awc_call_free(k);
}

static int send_attempt(struct irh_awscall *c, struct call *k)
{
    char err[600];
    const char *kind = "protocol";
    const struct irh_creds *creds = NULL;
    if (irh_cred_get(k->prov, &creds, err, sizeof err) != 0) {
        fail_call(c, k, "credentials", err, 0);
        return -1;
    }
    struct wire w;
    memset(&w, 0, sizeof w);
    if (irh_awc_build_wire(c, k, creds, 1, &w, &kind, err, sizeof err) != 0) {
        fail_call(c, k, kind, err, 0);
        return -1;
    }
    size_t blen = 0;
    const char *body = irh_kv_get(k->req, "body", &blen);
    struct irh_http_request hr = {
        .method = irh_awc_kv_str(k->req, "method"), .url = w.url, .headers = (const char *const *)w.lines,
        .nheaders = w.nlines, .body = w.body ? w.body : body, .body_len = w.body ? w.body_len : blen,
    };
    k->attempt++;
    int rc = irh_http_start(c->http, &hr, k, err, sizeof err);
    irh_awc_wire_free(&w);
    if (rc != 0) { fail_call(c, k, "transport", err, 0); return -1; }
    c->inflight++;
    k->next = c->flight;
    c->flight = k;
    return 0;
}

static const char *request_id_of(const struct irh_http_response *r, const struct irh_awserror *e)
{
    const char *names[] = { "x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id", NULL };
    for (size_t i = 0; names[i]; i++) {
        const char *v = irh_http_header(r, names[i]);
        if (v && *v) return v;
    }
    return e->request_id[0] ? e->request_id : NULL;
}

static const char *failure_code(enum irh_http_failure f)
{
    switch (f) {
    case IRH_HTTP_CONNECT: return "ConnectionError";
    case IRH_HTTP_TIMEOUT: return "Timeout";
    case IRH_HTTP_RESET: return "ConnectionClosed";
    case IRH_HTTP_TRUNCATED: return "TruncatedResponse";
    case IRH_HTTP_TLS: return "TLSError";
    case IRH_HTTP_TOO_LARGE: return "ResponseTooLarge";
    default: return "TransportError";
    }
}

static struct irh_kv *result_kv(struct irh_awscall *c, struct call *k, struct irh_http_response *r,
                                const char *request_id, char *err, size_t errlen)
{
    struct irh_kv *kv = irh_kv_new();
    if (!kv) { irh_awc_err(err, errlen, "out of memory"); return NULL; }
    char *json = NULL;
    size_t jlen = 0;
    int prot = 0;
    if (r->status >= 200 && r->status < 300) {
        prot = irh_awsbroker_protect(c->lua, k->svc->id, k->operation, r, c->secrets, &json, &jlen, err, errlen);
        if (prot < 0) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "%.300s", err);
            irh_awc_err(err, errlen, "could not protect the sensitive output of %s:%s: %s", k->svc->info.iam_prefix,
                   k->operation, tmp);
            irh_kv_free(kv);
            return NULL;
        }
    }
    int bad = irh_kv_addf(kv, "status", "%ld", r->status);
    for (size_t i = 0; !bad && i < r->nheaders; i++) {
        char key[300];
        snprintf(key, sizeof key, "h:%s", r->headers[i].name);
        if (!irh_kv_get(kv, key, NULL)) bad |= irh_kv_adds(kv, key, r->headers[i].value);
    }
    if (prot) bad |= irh_kv_add(kv, "result_json", json, jlen);
    else bad |= irh_kv_add(kv, "body", r->body, r->body_len);
    bad |= irh_kv_adds(kv, "request_id", request_id ? request_id : "");
    bad |= irh_kv_addf(kv, "attempts", "%d", k->attempt);
    if (json) { explicit_bzero(json, jlen); free(json); }
    if (bad) { irh_kv_free(kv); irh_awc_err(err, errlen, "out of memory"); return NULL; }
    return kv;
}

/* Replaces *p (wiped) by its unsubstituted copy when it held a substituted value. */
static int scrub_text(const struct irh_awscall *c, const char (*hs)[IRH_SECRET_HANDLE_LEN + 1], size_t n,
                      char **p, size_t *len)
{
    char *out = NULL;
    size_t olen = 0, l = len ? *len : strlen(*p);
    if (irh_secrets_unsubstitute(c->secrets, hs, n, *p, l, &out, &olen) != 0) return -1;
    if (!out) return 0;
    explicit_bzero(*p, l);
    free(*p);
    *p = out;
    if (len) *len = olen;
    return 0;
}

/* AWS may echo what a request carried (a tag value, an ID in an error message): every
 * value substituted into k's request goes back to its handle in the response's body,
 * headers and error text before anything reads them. */
static int scrub_response(const struct irh_awscall *c, const struct call *k, struct irh_http_response *r)
{
    char hs[32][IRH_SECRET_HANDLE_LEN + 1];
    size_t n = 0;
    for (size_t i = 0; i < irh_kv_count(k->req); i++) {
        const char *key, *v;
        size_t len;
        irh_kv_at(k->req, i, &key, &v, &len);
        if (strncmp(key, "h:", 2) == 0 || !strcmp(key, "query") || !strcmp(key, "body"))
            n = irh_secrets_handles_in(v, len, hs, n, 32);
    }
    if (!n) return 0;
    if (r->body && scrub_text(c, hs, n, &r->body, &r->body_len) != 0) return -1;
    for (size_t i = 0; i < r->nheaders; i++)
        if (scrub_text(c, hs, n, &r->headers[i].value, NULL) != 0) return -1;
    char *out = NULL;
    if (irh_secrets_unsubstitute(c->secrets, hs, n, r->error, strlen(r->error), &out, NULL) != 0) return -1;
    if (out) {
        snprintf(r->error, sizeof r->error, "%s", out);
        explicit_bzero(out, strlen(out));
        free(out);
    }
    return 0;
}

static void on_response(struct irh_awscall *c, struct call *k, struct irh_http_response *r)
{
    c->inflight--;
    for (struct call **pp = &c->flight; *pp; pp = &(*pp)->next)
        if (*pp == k) { *pp = k->next; break; }
    k->next = NULL;
    if (scrub_response(c, k, r) != 0) {
        irh_awc_audit(c, k, k->svc->id, k->operation, r->status, NULL, r->latency_ms, "protocol", "ScrubFailed",
                      "out of memory while removing secrets from the response", 0);
        c->stats.errors++;
        irh_awc_finish_error(c, k->id, "protocol", "out of memory while removing secrets from the response");
        irh_http_response_free(r);
        irh_awc_call_free(k);
        return;
    }
    struct irh_awserror e;
    memset(&e, 0, sizeof e);
    int is_s3 = strcmp(k->svc->info.signing_name, "s3") == 0;
    enum irh_transport_error te = IRH_TRANSPORT_OK;
    long status = r->status;
    if (r->failure != IRH_HTTP_OK) {
        te = r->failure == IRH_HTTP_TIMEOUT ? IRH_TRANSPORT_TIMEOUT : IRH_TRANSPORT_CONNECT;
        snprintf(e.code, sizeof e.code, "%s", failure_code(r->failure));
        snprintf(e.message, sizeof e.message, "%s", r->error);
        status = 0;
    } else if (status >= 300 || (is_s3 && status == 200)) {
        irh_awserror_parse(status, irh_http_header(r, "content-type"), irh_http_header(r, "x-amzn-errortype"),
                           irh_http_header(r, "x-amzn-query-error"), r->body, r->body_len, &e);
    }
    /* S3 may answer 200 with an <Error> body: retried as the 500 it really is. */
    long decide_status = (status == 200 && e.code[0]) ? 500 : status;
    const char *rid = request_id_of(r, &e);
    int throttled = r->failure == IRH_HTTP_OK && irh_retry_is_throttle((int)decide_status, e.code);
    irh_retry_update(c->retry, throttled, (double)irh_awc_now_ms() / 1000.0);
    long delay = IRH_RETRY_STOP;
    const char *why = NULL;
    int retryable_failure = r->failure == IRH_HTTP_OK || r->failure == IRH_HTTP_CONNECT ||
                            r->failure == IRH_HTTP_TIMEOUT || r->failure == IRH_HTTP_RESET ||
                            r->failure == IRH_HTTP_TRUNCATED;
    if ((decide_status >= 300 || te != IRH_TRANSPORT_OK) && retryable_failure)
        delay = irh_retry_decide(c->retry, (int)decide_status, e.code, te, k->attempt, &k->quota_taken, &why);
    if (delay != IRH_RETRY_STOP) {
        irh_awc_audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, "retry", e.code, e.message, 0);
        c->stats.retries++;
        k->not_before = irh_awc_now_ms() + delay;
        k->rate_taken = 0;
        k->adaptive_taken = 0;
        irh_http_response_free(r);
        enqueue(c, k);
        return;
    }
    if (r->failure != IRH_HTTP_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s:%s failed after %d attempt%s: %s", k->svc->info.iam_prefix, k->operation,
                 k->attempt, k->attempt == 1 ? "" : "s", r->error);
        irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, r->latency_ms, "transport", e.code, r->error, 0);
        c->stats.errors++;
        irh_awc_finish_error(c, k->id, "transport", msg);
        irh_http_response_free(r);
        irh_awc_call_free(k);
        return;
    }
    if (status >= 200 && status < 300 && !e.code[0]) {
        irh_retry_on_success(c->retry, k->quota_taken);
        if (!k->account && !c->account[0] && strcmp(k->svc->id, "sts") == 0 && strcmp(k->operation, "GetCallerIdentity") == 0)
            irh_xml_first_text(r->body, r->body_len, "Account", c->account, sizeof c->account);
    }
    char err[600];
    struct irh_kv *kv = result_kv(c, k, r, rid, err, sizeof err);
    if (!kv) {
        irh_awc_audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, "protocol", "ProtectFailed", err, 0);
        c->stats.errors++;
        irh_awc_finish_error(c, k->id, "protocol", err);
    } else {
        irh_awc_audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, e.code[0] ? "error" : "ok",
              e.code, e.message, 0);
        if (e.code[0]) c->stats.errors++;
        push_done(c, k->id, kv);
    }
    irh_http_response_free(r);
    irh_awc_call_free(k);
}

/* Starts every waiting call whose timer is due and that the limiters admit. */
static void pump(struct irh_awscall *c)
{
    long long now = irh_awc_now_ms();
    struct call **pp = &c->waiting;
    while (*pp) {
        struct call *k = *pp;
        if (c->fatal) {
            *pp = k->next;
            irh_awc_finish_error(c, k->id, c->fatal == 4 ? "credentials" : "cap", c->fatal_msg);
            irh_awc_call_free(k);
            continue;
        }
        if (k->not_before > now) { pp = &k->next; continue; }
        if (!k->rate_taken) {
            long w = irh_ratelimit_acquire(c->rl, k->svc->id, k->region, (double)now / 1000.0);
            k->rate_taken = 1;
            if (w > 0) { k->not_before = now + w; pp = &k->next; continue; }
        }
        if (!k->adaptive_taken) {
            long w = irh_retry_acquire(c->retry, (double)now / 1000.0);
            k->adaptive_taken = 1;
            if (w > 0) { k->not_before = now + w; pp = &k->next; continue; }
        }
        *pp = k->next;
        send_attempt(c, k);
    }
}

/* ---------------------------------------------------------------- the public API */

int irh_awscall_declare(struct irh_awscall *c, const char *json, size_t len, char *err, size_t errlen)
{
    if (c->declared) { irh_awc_err(err, errlen, "the runbook was already declared"); return -1; }
    struct irh_declaration d;
    if (irh_awsbroker_declaration(c->lua, json, len, &d, err, errlen) != 0) return -1;
    for (size_t i = 0; i < d.nrates; i++)
        if (irh_ratelimit_declare(c->rl, d.rates[i].service, d.rates[i].per_second, err, errlen) != 0) {
            irh_declaration_clear(&d);
            return -1;
        }
    c->decl = d;
    c->declared = 1;
    return 0;
}

/* Non-zero when a secret handle stands anywhere in the request (wire fields or params). */
static int carries_handle(const struct irh_kv *req)
{
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(req, i, &k, &v, &len);
        if ((strncmp(k, "h:", 2) == 0 || !strcmp(k, "query") || !strcmp(k, "body") || !strcmp(k, "params") ||
             !strcmp(k, "path") || !strcmp(k, "host_prefix")) && irh_secrets_has_handle(v, len))
            return 1;
    }
    return 0;
}

/* The distinct handles in the wire fields of req (headers, path, query, body). */
static size_t wire_handles(const struct irh_kv *req, char (*hs)[IRH_SECRET_HANDLE_LEN + 1], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(req, i, &k, &v, &len);
        if (strncmp(k, "h:", 2) == 0 || !strcmp(k, "query") || !strcmp(k, "body") || !strcmp(k, "path") ||
            !strcmp(k, "host_prefix"))
            n = irh_secrets_handles_in(v, len, hs, n, max);
    }
    return n;
}

/* Non-zero when every handle the runner put on the wire is also in the broker's rebuild. */
static int wire_handles_within(const struct irh_kv *sent, const struct irh_kv *rebuilt)
{
    char a[64][IRH_SECRET_HANDLE_LEN + 1], b[64][IRH_SECRET_HANDLE_LEN + 1];
    size_t na = wire_handles(sent, a, 64), nb = wire_handles(rebuilt, b, 64);
    if (na == 64) return 0;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && strcmp(a[i], b[j]) != 0) j++;
        if (j == nb) return 0;
    }
    return 1;
}

/* Everything a CALL and a SIGN share: validation, derivation, the model, region, params. */
struct call *irh_awc_prepare(struct irh_awscall *c, uint32_t id, const struct irh_kv *req,
                            const char **kind, char *err, size_t errlen)
{
    *kind = "protocol";
    struct call *k = calloc(1, sizeof *k);
    if (!k) { irh_awc_err(err, errlen, "out of memory"); return NULL; }
    k->id = id;
    if (!(k->req = irh_kv_new())) { free(k); irh_awc_err(err, errlen, "out of memory"); return NULL; }
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *key, *v;
        size_t len;
        irh_kv_at(req, i, &key, &v, &len);
        if (irh_kv_add(k->req, key, v, len)) { irh_awc_call_free(k); irh_awc_err(err, errlen, "out of memory"); return NULL; }
    }
    snprintf(k->operation, sizeof k->operation, "%s", irh_awc_kv_str(req, "operation"));
    if (irh_awc_validate(req, err, errlen) != 0) return k;
    struct irh_derived d;
    char derr[400];
    if (irh_awsbroker_derive(c->lua, req, &d, derr, sizeof derr) != 0) {
        irh_awc_err(err, errlen, "CALL %s.%s refused: the broker cannot tell which operation the request is: %s",
               irh_awc_kv_str(req, "service"), irh_awc_kv_str(req, "operation"), derr);
        return k;
    }
    if (strcmp(d.service, irh_awc_kv_str(req, "service")) != 0 || strcmp(d.operation, irh_awc_kv_str(req, "operation")) != 0) {
        irh_awc_err(err, errlen, "CALL refused: the runner claimed %s.%s but the request is %s.%s",
               irh_awc_kv_str(req, "service"), irh_awc_kv_str(req, "operation"), d.service, d.operation);
        snprintf(k->operation, sizeof k->operation, "%s", d.operation);
        return k;
    }
    k->mutating = d.mutating;
    if (!(k->svc = service_info(c, d.service, err, errlen))) return k;
    if (irh_awc_endpoint_allowed(c->opt, k->svc->id, irh_awc_kv_str(req, "endpoint"), err, errlen) != 0) return k;
    if (carries_handle(req)) {
        /* Handles are substituted only into sensitive members: the broker serializes such a
         * request itself from its params, so the wire cannot put a handle anywhere else. */
        char rerr[500];
        struct irh_kv *rebuilt = irh_awsbroker_rebuild(c->lua, req, d.service, d.operation, rerr, sizeof rerr);
        if (!rebuilt) { irh_awc_err(err, errlen, "CALL %s.%s refused: %s", d.service, d.operation, rerr); return k; }
        if (!wire_handles_within(req, rebuilt)) {
            irh_kv_free(rebuilt);
            irh_awc_err(err, errlen, "CALL %s.%s refused: the request carries a secret handle that its params do not "
                        "put in a sensitive member", d.service, d.operation);
            return k;
        }
        irh_kv_free(k->req);
        k->req = rebuilt;
        req = rebuilt;
        if (irh_awc_validate(req, err, errlen) != 0) return k;
    }
    size_t plen = 0;
    const char *params = irh_kv_get(req, "params", &plen);
    if (params && plen) {
        char rerr[200];
        k->params = irh_awsbroker_redact(c->lua, d.service, d.operation, params, plen, rerr, sizeof rerr);
        /* Unredactable params are never logged: the audit line then says params null. */
    }
    const char *cred = irh_kv_get(req, "credentials", NULL);
    if (cred && *cred) {
        int ri = role_index(c, cred);
        if (ri < 0) { irh_awc_err(err, errlen, "unknown credentials handle %.40s: use a handle from aws.assume_role", cred); return k; }
        k->prov = c->roles[ri].p;
        k->account = c->roles[ri].account;
    }
    const char *region = irh_kv_get(req, "region", NULL);
    if (region && *region) snprintf(k->region, sizeof k->region, "%s", region);
    else if (irh_awc_run_region(c, err, errlen) == 0) snprintf(k->region, sizeof k->region, "%s", c->region);
    else { *kind = "credentials"; k->region[0] = '\0'; return k; }
    *kind = NULL;
    return k;
}

int irh_awscall_submit(struct irh_awscall *c, uint32_t id, const struct irh_kv *req)
{
    char err[700], action[200];
    const char *kind;
    if (c->fatal) { irh_awc_finish_error(c, id, c->fatal == 4 ? "credentials" : "cap", c->fatal_msg); return 0; }
    struct call *k = irh_awc_prepare(c, id, req, &kind, err, sizeof err);
    if (!k) { irh_awc_finish_error(c, id, "protocol", err); return 0; }
    if (kind && (strcmp(kind, "protocol") == 0 || !k->svc)) { fail_call(c, k, "protocol", err, 0); return 0; }
    snprintf(action, sizeof action, "%s:%s", k->svc->info.iam_prefix, k->operation);
    if (irh_awc_permitted(c, action, err, sizeof err) != 0) {
        irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "denied", "AccessDeniedByRunbook", err, 0);
        irh_awc_finish_error(c, id, "denied", err);
        irh_awc_call_free(k);
        return 0;
    }
    if (c->opt->dry_run && k->mutating) {
        snprintf(err, sizeof err, "dry run: %s was not sent", action);
        irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "dryrun", NULL, NULL, 1);
        c->stats.planned++;
        irh_awc_finish_error(c, id, "dryrun", err);
        irh_awc_call_free(k);
        return 0;
    }
    if (kind) { fail_call(c, k, kind, err, 0); return 0; }   /* no region */
    if (irh_ratelimit_count_call(c->rl, k->mutating, err, sizeof err) != 0) {
        irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "cap", "CapExceeded", err, 0);
        irh_awc_set_fatal(c, 3, "%s", err);
        irh_awc_finish_error(c, id, "cap", err);
        irh_awc_call_free(k);
        return 0;
    }
    if (!k->prov && !(k->prov = irh_awc_base_creds(c, err, sizeof err))) { fail_call(c, k, "credentials", err, 0); return 0; }
    c->stats.calls++;
    if (k->mutating) c->stats.mutating++;
    enqueue(c, k);
    pump(c);
    return 0;
}

/* ---------------------------------------------------------------- the loop */

int irh_awscall_wait(struct irh_awscall *c, int extra_fd, int timeout_ms, int *extra_ready)
{
    char err[300];
    long long deadline = irh_awc_now_ms() + (timeout_ms < 0 ? 24LL * 3600 * 1000 : timeout_ms);
    *extra_ready = 0;
    for (;;) {
        pump(c);
        long long now = irh_awc_now_ms();
        long long t = c->done_head ? 0 : deadline - now;
        for (struct call *k = c->waiting; k; k = k->next)
            if (k->not_before - now < t) t = k->not_before - now;
        if (t < 0) t = 0;
        if (t > 1000000) t = 1000000;
        int ready = 0;
        if (irh_http_poll(c->http, extra_fd, (int)t, &ready, err, sizeof err) != 0) {
            irh_awc_set_fatal(c, 3, "network transport failed: %s", err);
            return -1;
        }
        void *tag;
        struct irh_http_response *r;
        while ((r = irh_http_take(c->http, &tag))) on_response(c, tag, r);
        pump(c);
        if (ready) *extra_ready = 1;
        /* A cap or credentials failure is reported by irh_awscall_fatal, not here: -1 means
         * the transport itself broke. */
        if (ready || c->done_head || irh_awc_now_ms() >= deadline) return 0;
    }
}

struct irh_kv *irh_awscall_take(struct irh_awscall *c, uint32_t *id)
{
    struct done *d = c->done_head;
    if (!d) return NULL;
    c->done_head = d->next;
    if (!c->done_head) c->done_tail = NULL;
    struct irh_kv *kv = d->kv;
    if (id) *id = d->id;
    free(d);
    return kv;
}

int irh_awscall_fatal(const struct irh_awscall *c, char *msg, size_t msglen)
{
    if (c->fatal && msglen) snprintf(msg, msglen, "%s", c->fatal_msg);
    return c->fatal;
}

void irh_awscall_stats(const struct irh_awscall *c, struct irh_awscall_stats *out)
{
    *out = c->stats;
}

void irh_awscall_free(struct irh_awscall *c)
{
    if (!c) return;
    irh_http_free(c->http);      /* aborts transfers: their tags are calls freed below */
    for (struct call *k = c->waiting, *n; k; k = n) { n = k->next; irh_awc_call_free(k); }
    for (struct call *k = c->flight, *n; k; k = n) { n = k->next; irh_awc_call_free(k); }
    for (struct done *d = c->done_head, *n; d; d = n) { n = d->next; irh_kv_free(d->kv); free(d); }
    for (struct svc *s = c->svcs, *n; s; s = n) { n = s->next; free(s); }
    for (size_t i = 0; i < c->nroles; i++) irh_cred_provider_free(c->roles[i].p);
    irh_cred_provider_free(c->creds);
    irh_declaration_clear(&c->decl);
    irh_retry_free(c->retry);
    irh_ratelimit_free(c->rl);
    irh_awsbroker_free(c->lua);
    irh_secrets_free(c->secrets);
    irh_audit_close(c->audit);
    free(c->run_dir);
    free(c);
}
