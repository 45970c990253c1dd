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

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ROLES 64
#define MAX_BODY (IRH_IPC_MAX_FRAME - 1024u * 1024u)
#define MAX_PARAMS (16u * 1024u * 1024u)

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
    int region_tried;
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
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_fatal(struct irh_awscall *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_fatal(struct irh_awscall *c, int code, const char *fmt, ...)
{
    if (c->fatal) return;
    c->fatal = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fatal_msg, sizeof c->fatal_msg, fmt, ap);
    va_end(ap);
}

static const char *kv_str(const struct irh_kv *kv, const char *key)
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
        set_fatal(c, 3, "out of memory in the AWS call pipeline");
        return;
    }
    d->id = id;
    d->kv = kv;
    if (c->done_tail) c->done_tail->next = d; else c->done_head = d;
    c->done_tail = d;
}

/* A refusal or failure: CALL_RESULT with error and message. */
static void finish_error(struct irh_awscall *c, uint32_t id, const char *error, const char *message)
{
    struct irh_kv *kv = irh_kv_new();
    if (!kv || irh_kv_adds(kv, "error", error) || irh_kv_adds(kv, "message", message)) {
        irh_kv_free(kv);
        set_fatal(c, 3, "out of memory in the AWS call pipeline");
        return;
    }
    push_done(c, id, kv);
}

static void audit(struct irh_awscall *c, const struct call *k, const char *service, const char *operation,
                  long status, const char *request_id, long latency, const char *outcome,
                  const char *code, const char *message, int dry_run)
{
    if (!c->audit) return;
    struct irh_audit_record r = {
        .call_id = k ? k->id : 0, .service = service, .operation = operation,
        .region = k ? k->region : c->region, .account = k ? k->account : NULL,
        .mutating = k ? k->mutating : 0, .params_json = k ? k->params : NULL,
        .status = status, .request_id = request_id, .latency_ms = latency,
        .attempt = k ? k->attempt : 0, .outcome = outcome, .error_code = code,
        .error_message = message, .dry_run = dry_run,
    };
    char err[400];
    if (irh_audit_write(c->audit, &r, err, sizeof err) != 0)
        set_fatal(c, 3, "%s; the run stops because every AWS call must be recorded", err);
}

static void call_free(struct call *k)
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
    if (!c) { seterr(err, errlen, "out of memory"); return NULL; }
    c->opt = opt;
    if (audit_path && !(c->audit = irh_audit_open(audit_path, err, errlen))) goto fail;
    struct irh_http_options ho = { 0 };
    ho.ca_bundle = getenv("AWS_CA_BUNDLE");
    /* Timeouts in seconds, as the CLI's --cli-connect-timeout / --cli-read-timeout. */
    const char *ct = getenv("IRHOST_CONNECT_TIMEOUT"), *rt = getenv("IRHOST_READ_TIMEOUT");
    if (ct && atof(ct) > 0) ho.connect_timeout_ms = (long)(atof(ct) * 1000);
    if (rt && atof(rt) > 0) ho.read_timeout_ms = (long)(atof(rt) * 1000);
    ho.max_body = MAX_BODY;
    if (!(c->http = irh_http_new(&ho, err, errlen))) goto fail;
    if (!(c->secrets = irh_secrets_new())) { seterr(err, errlen, "out of memory"); goto fail; }
    if (!(c->lua = irh_awsbroker_new(err, errlen))) goto fail;
    struct irh_retry_config rc;
    if (irh_retry_config_load(&rc, NULL, NULL, err, errlen) != 0) goto fail;
    if (!(c->retry = irh_retry_new(&rc, (double)now_ms() / 1000.0))) { seterr(err, errlen, "out of memory"); goto fail; }
    if (!(c->rl = irh_ratelimit_new(opt))) { seterr(err, errlen, "out of memory"); goto fail; }
    return c;
fail:
    irh_awscall_free(c);
    return NULL;
}

/* ---------------------------------------------------------------- validation */

static int is_token(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) return 0;
    return 1;
}

/* Printable ASCII without spaces: what an encoded path or query may hold. */
static int is_wire_text(const char *s, size_t len, size_t max)
{
    if (len > max || strlen(s) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '#') return 0;
    return 1;
}

static int is_header_value(const char *v, size_t len)
{
    if (len > 16384) return 0;
    for (size_t i = 0; i < len; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') return 0;
    return 1;
}

/* Headers the broker sets itself: a runner that sends them is refused. */
static const char *const reserved_headers[] = {
    "host", "authorization", "x-amz-date", "x-amz-security-token", "content-length",
    "transfer-encoding", "connection", "expect", NULL,
};

/* Checks a CALL (or SIGN) kv: required keys, characters and sizes. */
static int validate(const struct irh_kv *req, char *err, size_t errlen)
{
    static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", NULL };
    const char *service = irh_kv_get(req, "service", NULL), *op = irh_kv_get(req, "operation", NULL);
    if (!service || !is_token(service, 63, "-._")) { seterr(err, errlen, "CALL: missing or malformed service"); return -1; }
    if (!op || !is_token(op, 127, "_")) { seterr(err, errlen, "CALL: missing or malformed operation"); return -1; }
    const char *m = irh_kv_get(req, "method", NULL);
    int mok = 0;
    for (size_t i = 0; m && methods[i]; i++) mok |= strcmp(m, methods[i]) == 0;
    if (!mok) { seterr(err, errlen, "CALL %s.%s: method must be one of GET PUT POST DELETE HEAD PATCH", service, op); return -1; }
    size_t len;
    const char *path = irh_kv_get(req, "path", &len);
    if (!path || path[0] != '/' || !is_wire_text(path, len, 16384)) {
        seterr(err, errlen, "CALL %s.%s: path must start with / and be percent-encoded", service, op);
        return -1;
    }
    const char *q = irh_kv_get(req, "query", &len);
    if (q && !is_wire_text(q, len, 1024 * 1024)) { seterr(err, errlen, "CALL %s.%s: malformed query", service, op); return -1; }
    const char *hp = irh_kv_get(req, "host_prefix", NULL);
    if (hp && *hp && (!is_token(hp, 127, "-.") || hp[strlen(hp) - 1] != '.')) {
        seterr(err, errlen, "CALL %s.%s: malformed host_prefix", service, op);
        return -1;
    }
    const char *region = irh_kv_get(req, "region", NULL);
    if (region && *region && !is_token(region, 40, "-")) { seterr(err, errlen, "CALL %s.%s: malformed region", service, op); return -1; }
    const char *ep = irh_kv_get(req, "endpoint", &len);
    if (ep && *ep && (!is_wire_text(ep, len, 400) || (strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7)))) {
        seterr(err, errlen, "CALL %s.%s: endpoint must be an http(s) URL", service, op);
        return -1;
    }
    if (irh_kv_get(req, "params", &len) && len > MAX_PARAMS) { seterr(err, errlen, "CALL %s.%s: params too large", service, op); return -1; }
    if (irh_kv_get(req, "body", &len) && len > MAX_BODY) { seterr(err, errlen, "CALL %s.%s: body too large", service, op); return -1; }
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *k, *v;
        irh_kv_at(req, i, &k, &v, &len);
        if (strncmp(k, "h:", 2) != 0) continue;
        if (!is_token(k + 2, 128, "-_") || !is_header_value(v, len)) {
            seterr(err, errlen, "CALL %s.%s: malformed header %.64s", service, op, k + 2);
            return -1;
        }
        for (size_t r = 0; reserved_headers[r]; r++)
            if (strcasecmp(k + 2, reserved_headers[r]) == 0) {
                seterr(err, errlen, "CALL %s.%s: header %s is set by the broker", service, op, k + 2);
                return -1;
            }
        for (const char *p = k + 2; *p; p++)
            if (isupper((unsigned char)*p)) { seterr(err, errlen, "CALL %s.%s: header names must be lowercase", service, op); return -1; }
    }
    if (irh_secrets_has_handle(path, strlen(path))) {
        seterr(err, errlen, "CALL %s.%s: a secret handle cannot go into a URL path", service, op);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- allow-list */

/* IAM action matching: case-insensitive, `*` any run, `?` one character. */
static int iam_match(const char *p, const char *s)
{
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*p == '?' || (*p && *p != '*' && tolower((unsigned char)*p) == tolower((unsigned char)*s))) { p++; s++; }
        else if (*p == '*') { star = p++; ss = s; }
        else if (star) { p = star + 1; s = ++ss; }
        else return 0;
    }
    while (*p == '*') p++;
    return *p == '\0';
}

/* 0 when action is permitted; else -1 with a message saying what to declare. */
static int permitted(const struct irh_awscall *c, const char *action, char *err, size_t errlen)
{
    if (!c->declared || !c->decl.has_permissions) {
        seterr(err, errlen, "%s refused: the runbook declares no permissions; add permissions = { \"%s\" } "
               "to ir.runbook{...}", action, action);
        return -1;
    }
    for (size_t i = 0; i < c->decl.npermissions; i++)
        if (iam_match(c->decl.permissions[i], action)) return 0;
    seterr(err, errlen, "%s refused: not in the runbook's permissions; add \"%s\" to permissions in ir.runbook{...}",
           action, action);
    return -1;
}

/* ---------------------------------------------------------------- services, regions, credentials */

static const struct svc *service_info(struct irh_awscall *c, const char *id, char *err, size_t errlen)
{
    for (struct svc *s = c->svcs; s; s = s->next)
        if (strcmp(s->id, id) == 0) return s;
    struct svc *s = calloc(1, sizeof *s);
    if (!s) { seterr(err, errlen, "out of memory"); return NULL; }
    snprintf(s->id, sizeof s->id, "%s", id);
    if (irh_awsbroker_service(c->lua, id, &s->info, err, errlen) != 0) { free(s); return NULL; }
    s->next = c->svcs;
    c->svcs = s;
    return s;
}

static int run_region(struct irh_awscall *c, char *err, size_t errlen)
{
    if (c->region[0]) return 0;
    if (irh_region_resolve(c->opt->region, c->opt->profile, c->region, sizeof c->region, err, errlen) != 0) {
        c->region[0] = '\0';
        return -1;
    }
    return 0;
}

static struct irh_cred_provider *base_creds(struct irh_awscall *c, char *err, size_t errlen)
{
    if (c->creds) return c->creds;
    if (c->creds_failed) { seterr(err, errlen, "%s", c->creds_err); return NULL; }
    char rerr[300] = "";
    run_region(c, rerr, sizeof rerr);     /* STS needs one only for some providers */
    struct irh_cred_options o = {
        .profile = c->opt->profile, .region = c->region[0] ? c->region : NULL,
        .sts_endpoint = c->opt->endpoint_url, .interactive = c->opt->interactive,
    };
    c->creds = irh_cred_provider_new(&o, c->creds_err, sizeof c->creds_err);
    if (!c->creds) {
        c->creds_failed = 1;
        seterr(err, errlen, "%s", c->creds_err);
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

/* ---------------------------------------------------------------- the wire request */

struct wire {
    char *url;                   /* may carry a secret in its query: wiped on free */
    char **lines;                /* "name: value" header lines, wiped on free */
    size_t nlines;
    char *body;                  /* substituted copy, or NULL to send the kv's body */
    size_t body_len;
    char host[320];
};

static void wipe_str(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static void wire_free(struct wire *w)
{
    wipe_str(w->url);
    for (size_t i = 0; i < w->nlines; i++) wipe_str(w->lines[i]);
    free(w->lines);
    if (w->body) { explicit_bzero(w->body, w->body_len); free(w->body); }
    memset(w, 0, sizeof *w);
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static enum irh_secret_enc body_encoding(const struct irh_kv *req, const char *body, size_t len)
{
    const char *ct = irh_kv_get(req, "h:content-type", NULL);
    if (ct && strstr(ct, "x-www-form-urlencoded")) return IRH_SECRET_URL;
    if (ct && strstr(ct, "json")) return IRH_SECRET_JSON;
    if (ct && strstr(ct, "xml")) return IRH_SECRET_XML;
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i])) i++;
    if (i < len && body[i] == '{') return IRH_SECRET_JSON;
    if (i < len && body[i] == '<') return IRH_SECRET_XML;
    return IRH_SECRET_RAW;
}

/* Resolves the endpoint, substitutes secret handles (only when allow_secrets), signs, and
 * fills w with what goes on the wire. Returns 0, or -1 with err and *kind ("credentials"
 * for configuration problems, "protocol" for a bad request). */
static int build_wire(struct irh_awscall *c, const struct call *k, const struct irh_creds *creds,
                      int allow_secrets, struct wire *w, const char **kind, char *err, size_t errlen)
{
    const struct irh_kv *req = k->req;
    const struct irh_svcinfo *si = &k->svc->info;
    const char *path = kv_str(req, "path");
    char bucket[256] = "";
    *kind = "protocol";
    if (strcmp(k->svc->id, "s3") == 0 && path[1]) {
        size_t n = strcspn(path + 1, "/");
        if (n < sizeof bucket) { memcpy(bucket, path + 1, n); bucket[n] = '\0'; }
    }
    struct irh_endpoint ep;
    const char *override = irh_kv_get(req, "endpoint", NULL);
    if (irh_endpoint_resolve(k->svc->id, si->endpoint_prefix, k->region, si->global,
                             override && *override ? override : NULL, c->opt->endpoint_url,
                             bucket[0] ? bucket : NULL, &ep, err, errlen) != 0) {
        *kind = "credentials";
        return -1;
    }
    const char *scheme_end = strstr(ep.url, "://");
    if (!scheme_end) { seterr(err, errlen, "endpoint %s is not a URL", ep.url); *kind = "credentials"; return -1; }
    const char *auth = scheme_end + 3;
    size_t alen = strcspn(auth, "/");
    const char *base = auth + alen;
    const char *rest = path;
    if (bucket[0] && !ep.path_style) {
        rest = path + 1 + strlen(bucket);
        if (!*rest) rest = "/";
    }
    const char *hp = kv_str(req, "host_prefix");
    int hn = snprintf(w->host, sizeof w->host, "%s%.*s", hp, (int)alen, auth);
    if (hn < 0 || (size_t)hn >= sizeof w->host) { seterr(err, errlen, "endpoint host too long"); return -1; }

    char *signpath = join3(base, rest, "");
    if (!signpath) { seterr(err, errlen, "out of memory"); return -1; }
    char *query = NULL;
    size_t qlen = 0;
    const char *q = irh_kv_get(req, "query", &qlen);
    size_t nsub = 0, total_sub = 0;
    int rc = -1;
    struct irh_header *hdrs = NULL;
    struct irh_sigv4_result sr;
    memset(&sr, 0, sizeof sr);
    size_t nh = 0, cnt = irh_kv_count(req);
    char **values = calloc(cnt + 1, sizeof(char *));   /* substituted header values, owned */
    hdrs = calloc(cnt + 1, sizeof *hdrs);
    if (!values || !hdrs) { seterr(err, errlen, "out of memory"); goto out; }

    if (q && qlen) {
        if (irh_secrets_substitute(c->secrets, q, qlen, IRH_SECRET_URL, &query, NULL, &nsub, err, errlen)) goto out;
        total_sub += nsub;
    }
    size_t blen = 0;
    const char *body = irh_kv_get(req, "body", &blen);
    if (body && blen) {
        if (irh_secrets_substitute(c->secrets, body, blen, body_encoding(req, body, blen), &w->body, &w->body_len,
                                   &nsub, err, errlen)) goto out;
        total_sub += nsub;
    }
    int s3 = strcmp(si->signing_name, "s3") == 0;
    hdrs[nh].name = "host";
    hdrs[nh++].value = w->host;
    for (size_t i = 0; i < cnt; i++) {
        const char *key, *v;
        size_t vl;
        irh_kv_at(req, i, &key, &v, &vl);
        if (strncmp(key, "h:", 2) != 0) continue;
        if (s3 && strcmp(key + 2, "x-amz-content-sha256") == 0) continue;   /* the signer sets it */
        char *sub = NULL;
        if (irh_secrets_substitute(c->secrets, v, vl, IRH_SECRET_RAW, &sub, NULL, &nsub, err, errlen)) goto out;
        total_sub += nsub;
        values[nh] = sub;
        hdrs[nh].name = key + 2;
        hdrs[nh++].value = sub ? sub : v;
    }
    if (total_sub && !allow_secrets) {
        seterr(err, errlen, "a secret handle cannot be signed for use outside the broker (aws.sign)");
        goto out;
    }
    struct irh_sigv4_request sreq = {
        .method = kv_str(req, "method"), .path = signpath, .query = query ? query : (q ? q : ""),
        .headers = hdrs, .nheaders = nh,
        .body = w->body ? w->body : body, .body_len = w->body ? w->body_len : blen,
    };
    struct irh_sigv4_params sp = {
        .region = ep.signing_region, .service = si->signing_name, .now = time(NULL),
        .s3 = s3, .sign_body_header = s3,
    };
    if (irh_sigv4_sign(&sreq, &sp, creds, &sr, err, errlen) != 0) goto out;

    w->lines = calloc(nh + sr.nadd + 1, sizeof(char *));
    if (!w->lines) { seterr(err, errlen, "out of memory"); goto out; }
    for (size_t i = 0; i < nh; i++)
        if (!(w->lines[w->nlines++] = join3(hdrs[i].name, ": ", hdrs[i].value))) { seterr(err, errlen, "out of memory"); goto out; }
    for (size_t i = 0; i < sr.nadd; i++)
        if (!(w->lines[w->nlines++] = join3(sr.add[i].name, ": ", sr.add[i].value))) { seterr(err, errlen, "out of memory"); goto out; }
    const char *qs = query ? query : (q ? q : "");
    char *prefix = malloc((size_t)(scheme_end - ep.url) + 3 + strlen(w->host) + 1);
    if (!prefix) { seterr(err, errlen, "out of memory"); goto out; }
    sprintf(prefix, "%.*s://%s", (int)(scheme_end - ep.url), ep.url, w->host);
    char *tmp = join3(prefix, signpath, *qs ? "?" : "");
    free(prefix);
    if (!tmp) { seterr(err, errlen, "out of memory"); goto out; }
    w->url = join3(tmp, qs, "");
    free(tmp);
    if (!w->url) { seterr(err, errlen, "out of memory"); goto out; }
    rc = 0;
out:
    irh_sigv4_result_free(&sr);
    for (size_t i = 0; values && i <= cnt; i++) wipe_str(values[i]);
    free(values);
    free(hdrs);
    if (query) { explicit_bzero(query, strlen(query)); free(query); }
    free(signpath);
    if (rc != 0) wire_free(w);
    return rc;
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
    audit(c, k, k->svc ? k->svc->id : kv_str(k->req, "service"), k->operation[0] ? k->operation : kv_str(k->req, "operation"),
          0, NULL, latency, kind, kind, msg, 0);
    c->stats.errors++;
    if (strcmp(kind, "credentials") == 0)
        set_fatal(c, 4, "%s", msg);
    finish_error(c, k->id, kind, msg);
    call_free(k);
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
    if (build_wire(c, k, creds, 1, &w, &kind, err, sizeof err) != 0) {
        fail_call(c, k, kind, err, 0);
        return -1;
    }
    size_t blen = 0;
    const char *body = irh_kv_get(k->req, "body", &blen);
    struct irh_http_request hr = {
        .method = kv_str(k->req, "method"), .url = w.url, .headers = (const char *const *)w.lines,
        .nheaders = w.nlines, .body = w.body ? w.body : body, .body_len = w.body ? w.body_len : blen,
    };
    k->attempt++;
    int rc = irh_http_start(c->http, &hr, k, err, sizeof err);
    wire_free(&w);
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
    if (!kv) { seterr(err, errlen, "out of memory"); return NULL; }
    char *json = NULL;
    size_t jlen = 0;
    int prot = 0;
    if (r->status >= 200 && r->status < 300) {
        prot = irh_awsbroker_protect(c->lua, k->svc->id, k->operation, r, c->secrets, &json, &jlen, err, errlen);
        if (prot < 0) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "%.300s", err);
            seterr(err, errlen, "could not protect the sensitive output of %s:%s: %s", k->svc->info.iam_prefix,
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
    if (bad) { irh_kv_free(kv); seterr(err, errlen, "out of memory"); return NULL; }
    return kv;
}

static void on_response(struct irh_awscall *c, struct call *k, struct irh_http_response *r)
{
    c->inflight--;
    for (struct call **pp = &c->flight; *pp; pp = &(*pp)->next)
        if (*pp == k) { *pp = k->next; break; }
    k->next = NULL;
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
    irh_retry_update(c->retry, throttled, (double)now_ms() / 1000.0);
    long delay = IRH_RETRY_STOP;
    const char *why = NULL;
    int retryable_failure = r->failure == IRH_HTTP_OK || r->failure == IRH_HTTP_CONNECT ||
                            r->failure == IRH_HTTP_TIMEOUT || r->failure == IRH_HTTP_RESET ||
                            r->failure == IRH_HTTP_TRUNCATED;
    if ((decide_status >= 300 || te != IRH_TRANSPORT_OK) && retryable_failure)
        delay = irh_retry_decide(c->retry, (int)decide_status, e.code, te, k->attempt, &k->quota_taken, &why);
    if (delay != IRH_RETRY_STOP) {
        audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, "retry", e.code, e.message, 0);
        c->stats.retries++;
        k->not_before = now_ms() + delay;
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
        audit(c, k, k->svc->id, k->operation, 0, NULL, r->latency_ms, "transport", e.code, r->error, 0);
        c->stats.errors++;
        finish_error(c, k->id, "transport", msg);
        irh_http_response_free(r);
        call_free(k);
        return;
    }
    if (status >= 200 && status < 300 && !e.code[0]) irh_retry_on_success(c->retry, k->quota_taken);
    char err[600];
    struct irh_kv *kv = result_kv(c, k, r, rid, err, sizeof err);
    if (!kv) {
        audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, "protocol", "ProtectFailed", err, 0);
        c->stats.errors++;
        finish_error(c, k->id, "protocol", err);
    } else {
        audit(c, k, k->svc->id, k->operation, status, rid, r->latency_ms, e.code[0] ? "error" : "ok",
              e.code, e.message, 0);
        if (e.code[0]) c->stats.errors++;
        push_done(c, k->id, kv);
    }
    irh_http_response_free(r);
    call_free(k);
}

/* Starts every waiting call whose timer is due and that the limiters admit. */
static void pump(struct irh_awscall *c)
{
    long long now = now_ms();
    struct call **pp = &c->waiting;
    while (*pp) {
        struct call *k = *pp;
        if (c->fatal) {
            *pp = k->next;
            finish_error(c, k->id, c->fatal == 4 ? "credentials" : "cap", c->fatal_msg);
            call_free(k);
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
    if (c->declared) { seterr(err, errlen, "the runbook was already declared"); return -1; }
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

/* Everything a CALL and a SIGN share: validation, derivation, the model, region, params. */
static struct call *prepare(struct irh_awscall *c, uint32_t id, const struct irh_kv *req,
                            const char **kind, char *err, size_t errlen)
{
    *kind = "protocol";
    struct call *k = calloc(1, sizeof *k);
    if (!k) { seterr(err, errlen, "out of memory"); return NULL; }
    k->id = id;
    if (!(k->req = irh_kv_new())) { free(k); seterr(err, errlen, "out of memory"); return NULL; }
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *key, *v;
        size_t len;
        irh_kv_at(req, i, &key, &v, &len);
        if (irh_kv_add(k->req, key, v, len)) { call_free(k); seterr(err, errlen, "out of memory"); return NULL; }
    }
    snprintf(k->operation, sizeof k->operation, "%s", kv_str(req, "operation"));
    if (validate(req, err, errlen) != 0) return k;
    struct irh_derived d;
    char derr[400];
    if (irh_awsbroker_derive(c->lua, req, &d, derr, sizeof derr) != 0) {
        seterr(err, errlen, "CALL %s.%s refused: the broker cannot tell which operation the request is: %s",
               kv_str(req, "service"), kv_str(req, "operation"), derr);
        return k;
    }
    if (strcmp(d.service, kv_str(req, "service")) != 0 || strcmp(d.operation, kv_str(req, "operation")) != 0) {
        seterr(err, errlen, "CALL refused: the runner claimed %s.%s but the request is %s.%s",
               kv_str(req, "service"), kv_str(req, "operation"), d.service, d.operation);
        snprintf(k->operation, sizeof k->operation, "%s", d.operation);
        return k;
    }
    k->mutating = d.mutating;
    if (!(k->svc = service_info(c, d.service, err, errlen))) return k;
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
        if (ri < 0) { seterr(err, errlen, "unknown credentials handle %.40s: use a handle from aws.assume_role", cred); return k; }
        k->prov = c->roles[ri].p;
        k->account = c->roles[ri].account;
    }
    const char *region = irh_kv_get(req, "region", NULL);
    if (region && *region) snprintf(k->region, sizeof k->region, "%s", region);
    else if (run_region(c, err, errlen) == 0) snprintf(k->region, sizeof k->region, "%s", c->region);
    else { *kind = "credentials"; k->region[0] = '\0'; return k; }
    *kind = NULL;
    return k;
}

int irh_awscall_submit(struct irh_awscall *c, uint32_t id, const struct irh_kv *req)
{
    char err[700], action[200];
    const char *kind;
    if (c->fatal) { finish_error(c, id, c->fatal == 4 ? "credentials" : "cap", c->fatal_msg); return 0; }
    struct call *k = prepare(c, id, req, &kind, err, sizeof err);
    if (!k) { finish_error(c, id, "protocol", err); return 0; }
    if (kind && (strcmp(kind, "protocol") == 0 || !k->svc)) { fail_call(c, k, "protocol", err, 0); return 0; }
    snprintf(action, sizeof action, "%s:%s", k->svc->info.iam_prefix, k->operation);
    if (permitted(c, action, err, sizeof err) != 0) {
        audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "denied", "AccessDeniedByRunbook", err, 0);
        finish_error(c, id, "denied", err);
        call_free(k);
        return 0;
    }
    if (c->opt->dry_run && k->mutating) {
        snprintf(err, sizeof err, "dry run: %s was not sent", action);
        audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "dryrun", NULL, NULL, 1);
        c->stats.planned++;
        finish_error(c, id, "dryrun", err);
        call_free(k);
        return 0;
    }
    if (kind) { fail_call(c, k, kind, err, 0); return 0; }   /* no region */
    if (irh_ratelimit_count_call(c->rl, k->mutating, err, sizeof err) != 0) {
        audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "cap", "CapExceeded", err, 0);
        set_fatal(c, 3, "%s", err);
        finish_error(c, id, "cap", err);
        call_free(k);
        return 0;
    }
    if (!k->prov && !(k->prov = base_creds(c, err, sizeof err))) { fail_call(c, k, "credentials", err, 0); return 0; }
    c->stats.calls++;
    if (k->mutating) c->stats.mutating++;
    enqueue(c, k);
    pump(c);
    return 0;
}

/* ---------------------------------------------------------------- SIGN, PRESIGN, SECRET_GEN, ASSUME_ROLE */

static struct irh_kv *reply_error(const char *msg)
{
    struct irh_kv *kv = irh_kv_new();
    if (kv) irh_kv_adds(kv, "error", msg);
    return kv;
}

static struct irh_kv *do_sign(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700], action[200];
    const char *kind;
    struct call *k = prepare(c, 0, req, &kind, err, sizeof err);
    if (!k) return reply_error(err);
    struct irh_kv *out = NULL;
    if (kind) goto fail;
    snprintf(action, sizeof action, "%s:%s", k->svc->info.iam_prefix, k->operation);
    if (permitted(c, action, err, sizeof err) != 0) { kind = "denied"; goto fail; }
    if (!k->prov && !(k->prov = base_creds(c, err, sizeof err))) { kind = "credentials"; goto fail; }
    const struct irh_creds *creds;
    if (irh_cred_get(k->prov, &creds, err, sizeof err) != 0) { kind = "credentials"; goto fail; }
    struct wire w;
    memset(&w, 0, sizeof w);
    if (build_wire(c, k, creds, 0, &w, &kind, err, sizeof err) != 0) goto fail;
    out = irh_kv_new();
    int bad = !out;
    for (size_t i = 0; !bad && i < w.nlines; i++) {
        char *colon = strchr(w.lines[i], ':');
        char key[300];
        snprintf(key, sizeof key, "h:%.*s", (int)(colon - w.lines[i]), w.lines[i]);
        for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
        bad |= irh_kv_adds(out, key, colon + 2);
    }
    if (!bad) bad |= irh_kv_adds(out, "url", w.url);
    wire_free(&w);
    if (bad) { irh_kv_free(out); out = reply_error("out of memory"); }
    audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "signed", NULL, NULL, 0);
    call_free(k);
    return out;
fail:
    audit(c, k, k->svc ? k->svc->id : kv_str(req, "service"), k->operation, 0, NULL, 0, kind, kind, err, 0);
    if (strcmp(kind, "credentials") == 0) set_fatal(c, 4, "%s", err);
    call_free(k);
    return reply_error(err);
}

static struct irh_kv *do_presign(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700];
    const char *method = kv_str(req, "method"), *bucket = kv_str(req, "bucket"), *key = kv_str(req, "key");
    const char *region = kv_str(req, "region"), *exp = kv_str(req, "expires");
    char *end;
    long expires = strtol(exp, &end, 10);
    const char *op = strcmp(method, "PUT") == 0 ? "PutObject" : (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
                     ? (strcmp(method, "HEAD") == 0 ? "HeadObject" : "GetObject") : NULL;
    if (!op) return reply_error("presign: method must be GET, PUT or HEAD");
    if (!*exp || *end || expires < 1 || expires > 604800) return reply_error("presign: expires must be 1..604800 seconds (7 days)");
    if (!is_token(bucket, 63, "-.") || !*key || strlen(key) > 1024 || strchr(key, '\r') || strchr(key, '\n'))
        return reply_error("presign: bucket and key are required (bucket: a valid S3 bucket name)");
    if (*region && !is_token(region, 40, "-")) return reply_error("presign: malformed region");
    struct call k0;
    memset(&k0, 0, sizeof k0);
    snprintf(k0.operation, sizeof k0.operation, "%s", op);
    char action[64];
    snprintf(action, sizeof action, "s3:%s", strcmp(op, "HeadObject") == 0 ? "GetObject" : op);
    if (*region) snprintf(k0.region, sizeof k0.region, "%s", region);
    else if (run_region(c, err, sizeof err) == 0) snprintf(k0.region, sizeof k0.region, "%s", c->region);
    else return reply_error(err);
    char *ekey = irh_uri_encode(key, strlen(key), 0);
    char *params = NULL;
    char *ebucket = irh_json_escape(bucket, strlen(bucket)), *jkey = irh_json_escape(key, strlen(key));
    if (ebucket && jkey && (params = malloc(strlen(ebucket) + strlen(jkey) + 64)))
        sprintf(params, "{\"Bucket\":\"%s\",\"Key\":\"%s\",\"ExpiresIn\":%ld}", ebucket, jkey, expires);
    free(ebucket);
    free(jkey);
    k0.params = params;
    struct irh_kv *out = NULL;
    const char *kind = "presign";
    struct irh_endpoint ep;
    struct irh_sigv4_result sr;
    memset(&sr, 0, sizeof sr);
    const struct irh_creds *creds;
    struct irh_cred_provider *prov;
    if (!ekey) { seterr(err, sizeof err, "out of memory"); goto done; }
    if (permitted(c, action, err, sizeof err) != 0) { kind = "denied"; goto done; }
    if (!(prov = base_creds(c, err, sizeof err)) || irh_cred_get(prov, &creds, err, sizeof err) != 0) {
        kind = "credentials";
        goto done;
    }
    if (irh_endpoint_resolve("s3", "s3", k0.region, 0, NULL, c->opt->endpoint_url, bucket, &ep, err, sizeof err) != 0) {
        kind = "credentials";
        goto done;
    }
    const char *se = strstr(ep.url, "://");
    const char *auth = se ? se + 3 : ep.url;
    size_t alen = strcspn(auth, "/");
    char host[300], path[2400];
    snprintf(host, sizeof host, "%.*s", (int)alen, auth);
    if (ep.path_style) snprintf(path, sizeof path, "%s/%s/%s", auth + alen, bucket, ekey);
    else snprintf(path, sizeof path, "%s/%s", auth + alen, ekey);
    struct irh_header h = { "host", host };
    struct irh_sigv4_request sreq = { .method = method, .path = path, .query = "", .headers = &h, .nheaders = 1 };
    struct irh_sigv4_params sp = { .region = ep.signing_region, .service = "s3", .now = time(NULL), .s3 = 1,
                                   .unsigned_payload = 1, .expires = expires };
    if (irh_sigv4_presign(&sreq, &sp, creds, &sr, err, sizeof err) != 0) goto done;
    out = irh_kv_new();
    if (!out || irh_kv_addf(out, "url", "%.*s://%s%s?%s", (int)(se ? se - ep.url : 5), se ? ep.url : "https",
                            host, path, sr.query)) {
        irh_kv_free(out);
        out = NULL;
        seterr(err, sizeof err, "out of memory");
        goto done;
    }
    kind = "presigned";
done:
    audit(c, &k0, "s3", op, 0, NULL, 0, kind, out ? NULL : kind, out ? NULL : err, 0);
    if (strcmp(kind, "credentials") == 0) set_fatal(c, 4, "%s", err);
    irh_sigv4_result_free(&sr);
    free(ekey);
    free(params);
    return out ? out : reply_error(err);
}

static struct irh_kv *do_secret_gen(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[300], handle[IRH_SECRET_HANDLE_LEN + 1];
    const char *len = kv_str(req, "length"), *charset = irh_kv_get(req, "charset", NULL);
    char *end;
    long n = strtol(len, &end, 10);
    if (!*len || *end || n < 1) return reply_error("secret.generate: length must be a positive integer");
    if (irh_secrets_generate(c->secrets, (size_t)n, charset, handle, err, sizeof err) != 0) return reply_error(err);
    struct irh_kv *out = irh_kv_new();
    if (!out || irh_kv_adds(out, "handle", handle)) { irh_kv_free(out); return reply_error("out of memory"); }
    return out;
}

/* arn:PART:iam::ACCT:role/path/NAME -> arn:PART:sts::ACCT:assumed-role/NAME/SESSION */
static int assumed_arn(const char *role_arn, const char *session, char *out, size_t outlen, char *account, size_t acclen)
{
    char part[32], acct[16];
    const char *p = role_arn;
    if (strncmp(p, "arn:", 4) != 0) return -1;
    p += 4;
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= sizeof part) return -1;
    memcpy(part, p, n); part[n] = '\0';
    p += n;
    if (strncmp(p, ":iam::", 6) != 0) return -1;
    p += 6;
    n = strcspn(p, ":");
    if (n != 12) return -1;
    memcpy(acct, p, n); acct[n] = '\0';
    p += n;
    if (strncmp(p, ":role/", 6) != 0) return -1;
    const char *name = strrchr(p, '/') + 1;
    if (!*name) return -1;
    snprintf(out, outlen, "arn:%s:sts::%s:assumed-role/%s/%s", part, acct, name, session);
    snprintf(account, acclen, "%s", acct);
    return 0;
}

static struct irh_kv *do_assume_role(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700];
    const char *arn = kv_str(req, "role_arn"), *session = kv_str(req, "session_name");
    const char *ext = irh_kv_get(req, "external_id", NULL), *dur = kv_str(req, "duration");
    long duration = *dur ? strtol(dur, NULL, 10) : 3600;
    struct call k0;
    memset(&k0, 0, sizeof k0);
    snprintf(k0.operation, sizeof k0.operation, "AssumeRole");
    snprintf(k0.region, sizeof k0.region, "%s", c->region);
    char arnbuf[300], account[16];
    if (!*session) session = "irhost";
    if (strlen(arn) > 200 || !is_token(session, 64, "=,.@-_") || assumed_arn(arn, session, arnbuf, sizeof arnbuf, account, sizeof account))
        return reply_error("assume_role: role_arn must be arn:aws:iam::ACCOUNT:role/NAME and session_name 2-64 of [A-Za-z0-9=,.@_-]");
    if (duration < 900 || duration > 43200) return reply_error("assume_role: duration must be 900..43200 seconds");
    if (ext && (strlen(ext) > 1224 || !is_token(ext, 1224, "+=,.@:/-_"))) return reply_error("assume_role: malformed external_id");
    if (c->nroles >= MAX_ROLES) return reply_error("assume_role: too many roles in one run (max 64)");
    char *jarn = irh_json_escape(arn, strlen(arn)), *jses = irh_json_escape(session, strlen(session));
    char params[900];
    snprintf(params, sizeof params, "{\"RoleArn\":\"%s\",\"RoleSessionName\":\"%s\",\"DurationSeconds\":%ld%s}",
             jarn ? jarn : "", jses ? jses : "", duration, ext && *ext ? ",\"ExternalId\":\"***\"" : "");
    free(jarn);
    free(jses);
    k0.params = params;
    k0.account = account;
    const char *kind = "error";
    struct irh_cred_provider *base, *p = NULL;
    const struct irh_creds *creds;
    if (permitted(c, "sts:AssumeRole", err, sizeof err) != 0) { kind = "denied"; goto fail; }
    if (irh_ratelimit_count_call(c->rl, 0, err, sizeof err) != 0) { kind = "cap"; set_fatal(c, 3, "%s", err); goto fail; }
    if (!(base = base_creds(c, err, sizeof err))) { kind = "credentials"; set_fatal(c, 4, "%s", err); goto fail; }
    c->stats.calls++;
    k0.attempt = 1;
    if (!(p = irh_cred_assume_role(base, arn, session, ext && *ext ? ext : NULL, duration, err, sizeof err)) ||
        irh_cred_get(p, &creds, err, sizeof err) != 0) {
        c->stats.errors++;
        goto fail;
    }
    struct role *r = &c->roles[c->nroles++];
    r->p = p;
    snprintf(r->arn, sizeof r->arn, "%s", arnbuf);
    snprintf(r->account, sizeof r->account, "%s", account);
    char exp[40] = "";
    if (creds->expiration) {
        struct tm tm;
        gmtime_r(&creds->expiration, &tm);
        strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    audit(c, &k0, "sts", "AssumeRole", 200, NULL, 0, "ok", NULL, NULL, 0);
    struct irh_kv *out = irh_kv_new();
    if (!out || irh_kv_addf(out, "handle", "irhost-cred-%zu", c->nroles) || irh_kv_adds(out, "arn", r->arn) ||
        irh_kv_adds(out, "expiration", exp)) {
        irh_kv_free(out);
        return reply_error("out of memory");
    }
    return out;
fail:
    irh_cred_provider_free(p);
    audit(c, &k0, "sts", "AssumeRole", 0, NULL, 0, kind, kind, err, 0);
    return reply_error(err);
}

struct irh_kv *irh_awscall_request(struct irh_awscall *c, uint8_t type, const struct irh_kv *req)
{
    switch (type) {
    case IRH_MSG_SIGN: return do_sign(c, req);
    case IRH_MSG_PRESIGN: return do_presign(c, req);
    case IRH_MSG_SECRET_GEN: return do_secret_gen(c, req);
    case IRH_MSG_ASSUME_ROLE: return do_assume_role(c, req);
    default: return reply_error("unknown request type for the AWS pipeline");
    }
}

/* ---------------------------------------------------------------- the loop */

int irh_awscall_wait(struct irh_awscall *c, int extra_fd, int timeout_ms, int *extra_ready)
{
    char err[300];
    long long deadline = now_ms() + (timeout_ms < 0 ? 24LL * 3600 * 1000 : timeout_ms);
    *extra_ready = 0;
    for (;;) {
        pump(c);
        long long now = now_ms();
        long long t = c->done_head ? 0 : deadline - now;
        for (struct call *k = c->waiting; k; k = k->next)
            if (k->not_before - now < t) t = k->not_before - now;
        if (t < 0) t = 0;
        if (t > 1000000) t = 1000000;
        int ready = 0;
        if (irh_http_poll(c->http, extra_fd, (int)t, &ready, err, sizeof err) != 0) {
            set_fatal(c, 3, "network transport failed: %s", err);
            return -1;
        }
        void *tag;
        struct irh_http_response *r;
        while ((r = irh_http_take(c->http, &tag))) on_response(c, tag, r);
        pump(c);
        if (ready) *extra_ready = 1;
        /* A cap or credentials failure is reported by irh_awscall_fatal, not here: -1 means
         * the transport itself broke. */
        if (ready || c->done_head || now_ms() >= deadline) return 0;
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
    for (struct call *k = c->waiting, *n; k; k = n) { n = k->next; call_free(k); }
    for (struct call *k = c->flight, *n; k; k = n) { n = k->next; call_free(k); }
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
    free(c);
}
