/* STS over the query protocol (see sts.h). */
#include "sts.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "imds.h"
#include "sigv4.h"

#define STS_VERSION "2011-06-15"

static void wipe_free(char *s)
{
    if (s) { explicit_bzero(s, strlen(s)); free(s); }
}

/* ---------------------------------------------------------------- wiped expat memory */

/* expat copies character data (the secret key, the session token) into its own buffers;
 * a size header lets free wipe them. */
#define HDR 16

static void *w_malloc(size_t n)
{
    unsigned char *p = malloc(n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + HDR;
}

static void w_free(void *ptr)
{
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    explicit_bzero(p, n + HDR);
    free(p);
}

static void *w_realloc(void *ptr, size_t n)
{
    if (!ptr) return w_malloc(n);
    void *q = w_malloc(n);
    if (!q) return NULL;
    size_t old;
    memcpy(&old, (unsigned char *)ptr - HDR, sizeof old);
    memcpy(q, ptr, old < n ? old : n);
    w_free(ptr);
    return q;
}

static const XML_Memory_Handling_Suite wiping_suite = { w_malloc, w_realloc, w_free };

/* ---------------------------------------------------------------- answer fields */

struct field {
    const char *parent, *name;
    char *val;                 /* wiped on free */
    size_t len, cap;
};

struct xread {
    struct field *f;
    size_t nf;
    char stack[8][64];
    int depth;                 /* may exceed 8: deeper elements are never fields */
    struct field *cur;
    int oom;
};

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct xread *x = ud;
    const char *parent = x->depth > 0 && x->depth <= 8 ? x->stack[x->depth - 1] : "";
    x->cur = NULL;
    for (size_t i = 0; i < x->nf && x->depth <= 8; i++)
        if (strcmp(x->f[i].name, name) == 0 && strcmp(x->f[i].parent, parent) == 0) x->cur = &x->f[i];
    if (x->depth < 8) snprintf(x->stack[x->depth], sizeof x->stack[0], "%s", name);
    x->depth++;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xread *x = ud;
    x->cur = NULL;
    if (x->depth > 0) x->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xread *x = ud;
    struct field *f = x->cur;
    if (!f || len <= 0) return;
    size_t n = (size_t)len;
    if (f->len + n + 1 > f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 256;
        while (nc < f->len + n + 1) nc *= 2;
        char *nv = malloc(nc);
        if (!nv) { x->oom = 1; return; }
        if (f->val) { memcpy(nv, f->val, f->len); explicit_bzero(f->val, f->cap); free(f->val); }
        f->val = nv;
        f->cap = nc;
    }
    memcpy(f->val + f->len, s, n);
    f->len += n;
    f->val[f->len] = '\0';
}

static int xml_read(const char *body, size_t len, struct field *f, size_t nf, char *err, size_t errlen)
{
    struct xread x = { f, nf, { { 0 } }, 0, NULL, 0 };
    XML_Parser p = XML_ParserCreate_MM(NULL, &wiping_suite, NULL);
    if (!p) { snprintf(err, errlen, "out of memory"); return -1; }
    XML_SetUserData(p, &x);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    int ok = len <= (size_t)1 << 30 && XML_Parse(p, body, (int)len, 1) == XML_STATUS_OK;
    if (!ok)
        snprintf(err, errlen, "STS answered with malformed XML (%s at line %lu)",
                 XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
    else if (x.oom) { snprintf(err, errlen, "out of memory"); ok = 0; }
    XML_ParserFree(p);
    return ok ? 0 : -1;
}

static void fields_free(struct field *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        if (f[i].val) { explicit_bzero(f[i].val, f[i].cap); free(f[i].val); }
        f[i].val = NULL;
    }
}

/* Moves a field's value out (the caller now owns and wipes it). */
static char *take(struct field *f)
{
    char *v = f->val;
    f->val = NULL;
    return v;
}

/* ---------------------------------------------------------------- request */

struct form {
    char *p;
    size_t len, cap;
    int oom;
};

static void form_add(struct form *f, const char *key, const char *value)
{
    if (f->oom || !value) return;
    char *enc = irh_uri_encode(value, strlen(value), 1);
    if (!enc) { f->oom = 1; return; }
    size_t need = f->len + strlen(key) + strlen(enc) + 3;
    if (need > f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 512;
        while (nc < need) nc *= 2;
        char *np = malloc(nc);
        if (!np) { f->oom = 1; wipe_free(enc); return; }
        if (f->p) { memcpy(np, f->p, f->len); explicit_bzero(f->p, f->cap); free(f->p); }
        f->p = np;
        f->cap = nc;
    }
    f->len += (size_t)snprintf(f->p + f->len, f->cap - f->len, "%s%s=%s", f->len ? "&" : "", key, enc);
    wipe_free(enc);
}

static void form_free(struct form *f)
{
    if (f->p) { explicit_bzero(f->p, f->cap); free(f->p); }
    f->p = NULL;
}

/* POSTs body to ep, signed with creds unless NULL. On any HTTP answer returns 0 with resp;
 * on a transport failure -1 with err. */
static int sts_post(const struct irh_endpoint *ep, const struct irh_creds *creds, const struct form *body,
                    struct irh_fetch_resp *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    const char *hs = strstr(ep->url, "://");
    hs = hs ? hs + 3 : ep->url;
    size_t hl = strcspn(hs, "/");
    char host[256], url[600];
    if (hl == 0 || hl >= sizeof host) { snprintf(err, errlen, "invalid STS endpoint URL"); return -1; }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    const char *path = hs + hl;
    snprintf(url, sizeof url, "%s%s", ep->url, *path ? "" : "/");
    static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
    struct irh_header h[2] = { { "host", host }, { "content-type", ctype } };
    struct irh_sigv4_request req = { "POST", *path ? path : "/", NULL, h, 2, body->p, body->len };
    struct irh_sigv4_params sp = { ep->signing_region, "sts", time(NULL), 0, 0, 0, 0, 0 };
    struct irh_sigv4_result sig;
    memset(&sig, 0, sizeof sig);
    char *lines[8] = { 0 };
    size_t nl = 0;
    int rc = -1;
    if (creds && irh_sigv4_sign(&req, &sp, creds, &sig, err, errlen) < 0) return -1;
    char hostline[300];
    snprintf(hostline, sizeof hostline, "Host: %s", host);
    const char *hdrs[10] = { hostline, "Content-Type: application/x-www-form-urlencoded; charset=utf-8" };
    size_t nh = 2;
    for (size_t i = 0; creds && i < sig.nadd; i++) {
        size_t n = strlen(sig.add[i].name) + strlen(sig.add[i].value) + 3;
        lines[nl] = malloc(n);
        if (!lines[nl]) { snprintf(err, errlen, "out of memory"); goto out; }
        snprintf(lines[nl], n, "%s: %s", sig.add[i].name, sig.add[i].value);
        hdrs[nh++] = lines[nl++];
    }
    hdrs[nh] = NULL;
    struct irh_fetch_req r = { "POST", url, hdrs, body->p, body->len, 5000, 30000, 0 };
    char ferr[256];
    if (irh_fetch(&r, resp, ferr, sizeof ferr) < 0) {
        snprintf(err, errlen, "STS at %s is unreachable (%s); check the network, or the STS endpoint "
                 "(AWS_ENDPOINT_URL_STS, AWS_STS_REGIONAL_ENDPOINTS)", ep->url, ferr);
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < nl; i++) wipe_free(lines[i]);
    irh_sigv4_result_free(&sig);
    return rc;
}

/* One line for an STS error answer: code, message and what to do. */
static void sts_error(const char *action, const struct irh_fetch_resp *resp, char *err, size_t errlen)
{
    struct field f[2] = { { "Error", "Code", NULL, 0, 0 }, { "Error", "Message", NULL, 0, 0 } };
    char xerr[200];
    const char *code = "", *msg = "";
    if (xml_read(resp->body, resp->len, f, 2, xerr, sizeof xerr) == 0) {
        code = f[0].val ? f[0].val : "";
        msg = f[1].val ? f[1].val : "";
    }
    const char *hint = "";
    if (strcmp(code, "ExpiredToken") == 0) hint = "; the source credentials have expired: refresh them";
    else if (strcmp(code, "AccessDenied") == 0)
        hint = "; check the role's trust policy and that the caller may call sts:AssumeRole on it";
    else if (strcmp(code, "InvalidClientTokenId") == 0 || strcmp(code, "SignatureDoesNotMatch") == 0)
        hint = "; the source credentials are not valid: check the access key and secret";
    snprintf(err, errlen, "STS %s failed: HTTP %ld %s%s%.300s%s", action, resp->status, code,
             *code && *msg ? ": " : "", msg, hint);
    fields_free(f, 2);
}

int irh_sts_endpoint(const char *region, const char *override, struct irh_endpoint *out,
                     char *err, size_t errlen)
{
    return irh_endpoint_resolve("sts", "sts", region, 0, NULL, override, NULL, out, err, errlen);
}

int irh_sts_assume_role(const struct irh_endpoint *ep, const struct irh_creds *src,
                        const struct irh_sts_assume *a, struct irh_creds *out,
                        char *arn, size_t arnlen, char *err, size_t errlen)
{
    irh_creds_clear(out);
    if (arn && arnlen) arn[0] = '\0';
    int web = a->web_identity_token != NULL;
    const char *action = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    if (!web && (!src || !src->access_key_id || !src->secret_access_key)) {
        snprintf(err, errlen, "STS AssumeRole needs source credentials");
        return -1;
    }
    struct form body = { 0 };
    char dur[24];
    snprintf(dur, sizeof dur, "%ld", a->duration_s);
    form_add(&body, "Action", action);
    form_add(&body, "Version", STS_VERSION);
    form_add(&body, "RoleArn", a->role_arn);
    form_add(&body, "RoleSessionName", a->session_name);
    if (a->duration_s > 0) form_add(&body, "DurationSeconds", dur);
    if (web) form_add(&body, "WebIdentityToken", a->web_identity_token);
    else {
        form_add(&body, "ExternalId", a->external_id);
        if (a->serial_number && a->token_code) {
            form_add(&body, "SerialNumber", a->serial_number);
            form_add(&body, "TokenCode", a->token_code);
        }
    }
    if (body.oom) { form_free(&body); snprintf(err, errlen, "out of memory"); return -1; }
    struct irh_fetch_resp resp;
    int rc = -1;
    if (sts_post(ep, web ? NULL : src, &body, &resp, err, errlen) < 0) goto out;
    if (resp.status != 200) { sts_error(action, &resp, err, errlen); goto out; }
    char result[64];
    snprintf(result, sizeof result, "%sResult", action);
    struct field f[5] = {
        { "Credentials", "AccessKeyId", NULL, 0, 0 }, { "Credentials", "SecretAccessKey", NULL, 0, 0 },
        { "Credentials", "SessionToken", NULL, 0, 0 }, { "Credentials", "Expiration", NULL, 0, 0 },
        { "AssumedRoleUser", "Arn", NULL, 0, 0 },
    };
    if (xml_read(resp.body, resp.len, f, 5, err, errlen) < 0) { fields_free(f, 5); goto out; }
    if (!f[0].val || !f[1].val || !f[2].val || !f[3].val) {
        snprintf(err, errlen, "STS %s answered without credentials", action);
        fields_free(f, 5);
        goto out;
    }
    if (irh_iso8601_parse(f[3].val, &out->expiration) < 0) {
        snprintf(err, errlen, "STS %s answered with an Expiration that is not an ISO-8601 time", action);
        fields_free(f, 5);
        goto out;
    }
    out->access_key_id = take(&f[0]);
    out->secret_access_key = take(&f[1]);
    out->session_token = take(&f[2]);
    if (arn && arnlen && f[4].val) snprintf(arn, arnlen, "%s", f[4].val);
    fields_free(f, 5);
    rc = 0;
out:
    irh_fetch_free(&resp);
    form_free(&body);
    return rc;
}

int irh_sts_get_caller_identity(const struct irh_endpoint *ep, const struct irh_creds *creds,
                                char *arn, size_t arnlen, char *account, size_t acclen,
                                char *err, size_t errlen)
{
    struct form body = { 0 };
    form_add(&body, "Action", "GetCallerIdentity");
    form_add(&body, "Version", STS_VERSION);
    if (body.oom) { form_free(&body); snprintf(err, errlen, "out of memory"); return -1; }
    struct irh_fetch_resp resp;
    int rc = -1;
    if (sts_post(ep, creds, &body, &resp, err, errlen) < 0) goto out;
    if (resp.status != 200) { sts_error("GetCallerIdentity", &resp, err, errlen); goto out; }
    struct field f[2] = { { "GetCallerIdentityResult", "Arn", NULL, 0, 0 },
                          { "GetCallerIdentityResult", "Account", NULL, 0, 0 } };
    if (xml_read(resp.body, resp.len, f, 2, err, errlen) < 0) { fields_free(f, 2); goto out; }
    if (!f[0].val || !f[1].val) snprintf(err, errlen, "STS GetCallerIdentity answered without Arn and Account");
    else {
        if (arnlen) snprintf(arn, arnlen, "%s", f[0].val);
        if (acclen) snprintf(account, acclen, "%s", f[1].val);
        rc = 0;
    }
    fields_free(f, 2);
out:
    irh_fetch_free(&resp);
    form_free(&body);
    return rc;
}
