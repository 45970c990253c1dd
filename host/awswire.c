/* What a call puts on the wire: endpoint and URL, secret handles replaced by their values
 * (encoded for where they stand), the SigV4 signature, the header lines. */
#include "awscall_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void wipe_str(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void irh_awc_wire_free(struct wire *w)
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
int irh_awc_build_wire(struct irh_awscall *c, const struct call *k, const struct irh_creds *creds,
                      int allow_secrets, struct wire *w, const char **kind, char *err, size_t errlen)
{
    const struct irh_kv *req = k->req;
    const struct irh_svcinfo *si = &k->svc->info;
    const char *path = irh_awc_kv_str(req, "path");
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
    if (!scheme_end) { irh_awc_err(err, errlen, "endpoint %s is not a URL", ep.url); *kind = "credentials"; return -1; }
    const char *auth = scheme_end + 3;
    size_t alen = strcspn(auth, "/");
    const char *base = auth + alen;
    const char *rest = path;
    if (bucket[0] && !ep.path_style) {
        rest = path + 1 + strlen(bucket);
        if (!*rest) rest = "/";
    }
    const char *hp = irh_awc_kv_str(req, "host_prefix");
    /* An IP-literal endpoint (a local test endpoint) cannot take a host prefix. */
    if (*hp && (auth[0] == '[' || strspn(auth, "0123456789.") == strcspn(auth, ":/"))) hp = "";
    int hn = snprintf(w->host, sizeof w->host, "%s%.*s", hp, (int)alen, auth);
    if (hn < 0 || (size_t)hn >= sizeof w->host) { irh_awc_err(err, errlen, "endpoint host too long"); return -1; }

    char *signpath = join3(base, rest, "");
    if (!signpath) { irh_awc_err(err, errlen, "out of memory"); return -1; }
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
    if (!values || !hdrs) { irh_awc_err(err, errlen, "out of memory"); goto out; }

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
        irh_awc_err(err, errlen, "a secret handle cannot be signed for use outside the broker (aws.sign)");
        goto out;
    }
    struct irh_sigv4_request sreq = {
        .method = irh_awc_kv_str(req, "method"), .path = signpath, .query = query ? query : (q ? q : ""),
        .headers = hdrs, .nheaders = nh,
        .body = w->body ? w->body : body, .body_len = w->body ? w->body_len : blen,
    };
    struct irh_sigv4_params sp = {
        .region = ep.signing_region, .service = si->signing_name, .now = time(NULL),
        .s3 = s3, .sign_body_header = s3,
    };
    if (irh_sigv4_sign(&sreq, &sp, creds, &sr, err, errlen) != 0) goto out;

    w->lines = calloc(nh + sr.nadd + 1, sizeof(char *));
    if (!w->lines) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    for (size_t i = 0; i < nh; i++)
        if (!(w->lines[w->nlines++] = join3(hdrs[i].name, ": ", hdrs[i].value))) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    for (size_t i = 0; i < sr.nadd; i++)
        if (!(w->lines[w->nlines++] = join3(sr.add[i].name, ": ", sr.add[i].value))) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    const char *qs = query ? query : (q ? q : "");
    char *prefix = malloc((size_t)(scheme_end - ep.url) + 3 + strlen(w->host) + 1);
    if (!prefix) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    sprintf(prefix, "%.*s://%s", (int)(scheme_end - ep.url), ep.url, w->host);
    char *tmp = join3(prefix, signpath, *qs ? "?" : "");
    free(prefix);
    if (!tmp) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    w->url = join3(tmp, qs, "");
    free(tmp);
    if (!w->url) { irh_awc_err(err, errlen, "out of memory"); goto out; }
    rc = 0;
out:
    irh_sigv4_result_free(&sr);
    for (size_t i = 0; values && i <= cnt; i++) wipe_str(values[i]);
    free(values);
    free(hdrs);
    if (query) { explicit_bzero(query, strlen(query)); free(query); }
    free(signpath);
    if (rc != 0) irh_awc_wire_free(w);
    return rc;
}
