/* EC2 instance metadata (IMDSv2) and the container credential endpoint (see imds.h). */
#include "imds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fetch.h"
#include "json.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_DEFAULT_V6 "http://[fd00:ec2::254]"
#define CONTAINER_HOST "http://169.254.170.2"

static void wipe_free(char *s)
{
    if (s) { explicit_bzero(s, strlen(s)); free(s); }
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, "true") == 0;
}

int irh_imds_disabled(void) { return env_true("AWS_EC2_METADATA_DISABLED"); }

/* ---------------------------------------------------------------- timestamps */

int irh_iso8601_parse(const char *s, time_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return -1;
    const char *p = s + n;
    if (*p == '.') { p++; while (isdigit((unsigned char)*p)) p++; }
    long off = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2) return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 1 + m;
    } else if (*p != '\0') return -1;
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = t - off;
    return 0;
}

/* ---------------------------------------------------------------- credentials JSON */

/* Fills out from an IMDS or container answer (AccessKeyId, SecretAccessKey, Token,
 * Expiration). what names the service for errors; the body is never quoted. */
static int creds_from_json(const char *body, size_t len, const char *what, struct irh_creds *out,
                           char *err, size_t errlen)
{
    char jerr[128];
    irh_creds_clear(out);
    out->access_key_id = irh_json_get(body, len, "AccessKeyId", jerr, sizeof jerr);
    if (!out->access_key_id && jerr[0]) {
        snprintf(err, errlen, "%s answered with a body that is not JSON (%s)", what, jerr);
        return -1;
    }
    out->secret_access_key = irh_json_get(body, len, "SecretAccessKey", jerr, sizeof jerr);
    out->session_token = irh_json_get(body, len, "Token", jerr, sizeof jerr);
    char *exp = irh_json_get(body, len, "Expiration", jerr, sizeof jerr);
    if (!out->access_key_id || !out->secret_access_key || !out->session_token || !exp) {
        char *code = irh_json_get(body, len, "Code", jerr, sizeof jerr);
        snprintf(err, errlen, "%s answered without credentials%s%s%s (AccessKeyId, SecretAccessKey, Token and "
                 "Expiration are required)", what, code ? " (Code: " : "", code ? code : "", code ? ")" : "");
        free(code);
        free(exp);
        irh_creds_clear(out);
        return -1;
    }
    int bad = irh_iso8601_parse(exp, &out->expiration);
    free(exp);
    if (bad) {
        snprintf(err, errlen, "%s answered with an Expiration that is not an ISO-8601 time", what);
        irh_creds_clear(out);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- IMDS */

struct imds {
    char base[256];
    long timeout_ms;
    int attempts;
    char *token;              /* a session token is a credential for the metadata service */
};

static int imds_init(struct imds *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (irh_imds_disabled()) {
        snprintf(err, errlen, "EC2 instance metadata is disabled (AWS_EC2_METADATA_DISABLED=true)");
        return -1;
    }
    const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (ep && *ep) {
        if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
            snprintf(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT must start with http:// or https://");
            return -1;
        }
        snprintf(m->base, sizeof m->base, "%s", ep);
    } else if (mode && strcasecmp(mode, "ipv6") == 0) {
        snprintf(m->base, sizeof m->base, "%s", IMDS_DEFAULT_V6);
    } else {
        snprintf(m->base, sizeof m->base, "%s", IMDS_DEFAULT);
    }
    size_t bl = strlen(m->base);
    while (bl && m->base[bl - 1] == '/') m->base[--bl] = '\0';
    const char *t = getenv("AWS_METADATA_SERVICE_TIMEOUT");
    double ts = t && *t ? strtod(t, NULL) : 1.0;
    m->timeout_ms = ts > 0 && ts < 600 ? (long)(ts * 1000) : 1000;
    const char *a = getenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
    long na = a && *a ? strtol(a, NULL, 10) : 2;
    m->attempts = na >= 1 && na <= 10 ? (int)na : 2;
    return 0;
}

static void imds_done(struct imds *m) { wipe_free(m->token); m->token = NULL; }

/* PUT latest/api/token. 403/404/405 mean "no IMDSv2 here": botocore then carries on without
 * a token (IMDSv1), and so do we; a transport failure means nothing is listening. */
static int imds_token(struct imds *m, char *err, size_t errlen)
{
    char url[320];
    snprintf(url, sizeof url, "%s/latest/api/token", m->base);
    const char *hdrs[] = { "x-aws-ec2-metadata-token-ttl-seconds: 21600", NULL };
    struct irh_fetch_req r = { "PUT", url, hdrs, NULL, 0, m->timeout_ms, m->timeout_ms, 1 };
    char ferr[256] = "";
    for (int i = 0; i < m->attempts; i++) {
        struct irh_fetch_resp resp;
        if (irh_fetch(&r, &resp, ferr, sizeof ferr) < 0) { irh_fetch_free(&resp); continue; }
        long st = resp.status;
        if (st == 200 && resp.len > 0 && resp.len < 4096) {
            m->token = resp.body;              /* ownership moves; wiped in imds_done */
            size_t n = resp.len;
            while (n && isspace((unsigned char)m->token[n - 1])) m->token[--n] = '\0';
            return 0;
        }
        irh_fetch_free(&resp);
        if (st == 403 || st == 404 || st == 405) return 0;
        if (st == 400) {
            snprintf(err, errlen, "EC2 instance metadata at %s refused the token request (HTTP 400)", m->base);
            return -1;
        }
        snprintf(ferr, sizeof ferr, "HTTP %ld", st);
    }
    snprintf(err, errlen, "EC2 instance metadata at %s is unreachable (%s); off EC2 set "
             "AWS_EC2_METADATA_DISABLED=true, or check AWS_EC2_METADATA_SERVICE_ENDPOINT", m->base, ferr);
    return -1;
}

static int imds_fetch(struct imds *m, const char *path, struct irh_fetch_resp *out, char *err, size_t errlen)
{
    char url[512];
    snprintf(url, sizeof url, "%s/%s", m->base, path);
    char *tok = NULL;
    const char *hdrs[2] = { NULL, NULL };
    if (m->token) {
        size_t n = strlen(m->token) + 32;
        tok = malloc(n);
        if (!tok) { snprintf(err, errlen, "out of memory"); return -1; }
        snprintf(tok, n, "x-aws-ec2-metadata-token: %s", m->token);
        hdrs[0] = tok;
    }
    struct irh_fetch_req r = { "GET", url, hdrs, NULL, 0, m->timeout_ms, m->timeout_ms, 1 };
    char ferr[256] = "";
    int rc = -1;
    for (int i = 0; i < m->attempts; i++) {
        if (irh_fetch(&r, out, ferr, sizeof ferr) < 0) { irh_fetch_free(out); continue; }
        if (out->status == 200 && out->len > 0) { rc = 0; break; }
        snprintf(ferr, sizeof ferr, "HTTP %ld", out->status);
        long st = out->status;
        irh_fetch_free(out);
        if (st == 404) break;                    /* nothing there: retrying will not help */
    }
    if (rc < 0)
        snprintf(err, errlen, "EC2 instance metadata %s/%s failed (%s)", m->base, path, ferr);
    wipe_free(tok);
    return rc;
}

int irh_imds_get(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct imds m;
    *out = NULL;
    if (outlen) *outlen = 0;
    if (imds_init(&m, err, errlen) < 0) return -1;
    struct irh_fetch_resp resp = { 0 };
    int rc = -1;
    if (imds_token(&m, err, errlen) == 0 && imds_fetch(&m, path, &resp, err, errlen) == 0) {
        *out = resp.body;
        if (outlen) *outlen = resp.len;
        resp.body = NULL;
        rc = 0;
    }
    irh_fetch_free(&resp);
    imds_done(&m);
    return rc;
}

int irh_imds_credentials(struct irh_creds *out, char *err, size_t errlen)
{
    static const char base[] = "latest/meta-data/iam/security-credentials/";
    struct imds m;
    if (imds_init(&m, err, errlen) < 0) return -1;
    struct irh_fetch_resp roles = { 0 }, cr = { 0 };
    int rc = -1;
    if (imds_token(&m, err, errlen) < 0) goto out;
    if (imds_fetch(&m, base, &roles, err, errlen) < 0) {
        if (strstr(err, "HTTP 404"))
            snprintf(err, errlen, "this EC2 instance has no IAM role attached (instance metadata %s/%s: HTTP 404)",
                     m.base, base);
        goto out;
    }
    char role[128];
    size_t n = 0;
    while (n < roles.len && n + 1 < sizeof role && roles.body[n] != '\n' && roles.body[n] != '\r') {
        char ch = roles.body[n];
        if (!(isalnum((unsigned char)ch) || strchr("+=,.@_-", ch))) {
            snprintf(err, errlen, "EC2 instance metadata answered with an invalid role name");
            goto out;
        }
        role[n++] = ch;
    }
    role[n] = '\0';
    if (n == 0) { snprintf(err, errlen, "EC2 instance metadata lists no IAM role"); goto out; }
    char path[256];
    snprintf(path, sizeof path, "%s%s", base, role);
    if (imds_fetch(&m, path, &cr, err, errlen) < 0) goto out;
    char what[200];
    snprintf(what, sizeof what, "EC2 instance metadata (role %s)", role);
    if (creds_from_json(cr.body, cr.len, what, out, err, errlen) < 0) goto out;
    snprintf(out->source, sizeof out->source, "imds role %.50s", role);
    rc = 0;
out:
    irh_fetch_free(&roles);
    irh_fetch_free(&cr);
    imds_done(&m);
    return rc;
}

int irh_imds_region(char *out, size_t outlen, char *err, size_t errlen)
{
    char *body = NULL;
    size_t len = 0;
    if (irh_imds_get("latest/meta-data/placement/region", &body, &len, err, errlen) < 0) return -1;
    size_t n = 0;
    while (n < len && (isalnum((unsigned char)body[n]) || body[n] == '-')) n++;
    int rc = -1;
    if (n == 0 || n != len || n >= outlen) snprintf(err, errlen, "EC2 instance metadata answered with an invalid region");
    else { memcpy(out, body, n); out[n] = '\0'; rc = 0; }
    free(body);
    return rc;
}

/* ---------------------------------------------------------------- container endpoint */

int irh_container_configured(void)
{
    const char *r = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *f = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    return (r && *r) || (f && *f);
}

/* Hosts a FULL_URI may name, as botocore allows: the ECS and EKS agents and loopback. */
static int allowed_host(const char *host)
{
    static const char *const ok[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost", "::1" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) if (strcasecmp(host, ok[i]) == 0) return 1;
    unsigned a, b, c, d;
    char tail;
    if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 && d < 256)
        return 1;
    return 0;
}

/* Extracts the host of scheme://[userinfo@]host[:port]/... */
static int url_host(const char *url, char *host, size_t hostlen)
{
    const char *p = strstr(url, "://");
    if (!p) return -1;
    p += 3;
    const char *end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) p = at + 1;
    const char *hs = p, *he;
    if (*p == '[') { hs = p + 1; he = memchr(hs, ']', (size_t)(end - hs)); if (!he) return -1; }
    else { he = memchr(p, ':', (size_t)(end - p)); if (!he) he = end; }
    size_t n = (size_t)(he - hs);
    if (n == 0 || n >= hostlen) return -1;
    memcpy(host, hs, n);
    host[n] = '\0';
    return 0;
}

/* The Authorization header value: the token file wins over the variable (newer botocore). */
static int container_token(char **tok, char *err, size_t errlen)
{
    *tok = NULL;
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *var = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
    if (file && *file) {
        var = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
        FILE *f = fopen(file, "r");
        if (!f) { snprintf(err, errlen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", file); return -1; }
        char *buf = calloc(1, 8193);
        size_t n = buf ? fread(buf, 1, 8192, f) : 0;
        fclose(f);
        if (!buf) { snprintf(err, errlen, "out of memory"); return -1; }
        while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
        *tok = buf;
    } else {
        const char *t = getenv(var);
        if (!t || !*t) return 0;
        *tok = strdup(t);
        if (!*tok) { snprintf(err, errlen, "out of memory"); return -1; }
    }
    if (strpbrk(*tok, "\r\n")) {
        snprintf(err, errlen, "%s contains a line break; it must be a single-line token", var);
        wipe_free(*tok);
        *tok = NULL;
        return -1;
    }
    return 0;
}

int irh_container_credentials(struct irh_creds *out, char *err, size_t errlen)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char url[1024], host[256];
    const char *var;
    if (rel && *rel) {
        var = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
        if (rel[0] != '/') { snprintf(err, errlen, "%s must start with '/'", var); return -1; }
        snprintf(url, sizeof url, "%s%s", CONTAINER_HOST, rel);
    } else if (full && *full) {
        var = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        if ((strncmp(full, "http://", 7) != 0 && strncmp(full, "https://", 8) != 0) ||
            url_host(full, host, sizeof host) < 0) {
            snprintf(err, errlen, "%s is not an http:// or https:// URL", var);
            return -1;
        }
        if (!allowed_host(host)) {
            snprintf(err, errlen, "%s names host '%s'; only 169.254.170.2, 169.254.170.23, fd00:ec2::23 and "
                     "loopback addresses are allowed", var, host);
            return -1;
        }
        snprintf(url, sizeof url, "%s", full);
    } else {
        snprintf(err, errlen, "no container credential endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or "
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI) is set");
        return -1;
    }
    char *tok = NULL, *auth = NULL;
    if (container_token(&tok, err, errlen) < 0) return -1;
    const char *hdrs[3] = { "Accept: application/json", NULL, NULL };
    if (tok) {
        size_t n = strlen(tok) + 32;
        auth = malloc(n);
        if (!auth) { wipe_free(tok); snprintf(err, errlen, "out of memory"); return -1; }
        snprintf(auth, n, "Authorization: %s", tok);
        hdrs[1] = auth;
    }
    struct irh_fetch_req r = { "GET", url, hdrs, NULL, 0, 2000, 2000, 1 };
    struct irh_fetch_resp resp = { 0 };
    char ferr[256] = "";
    int rc = -1, got = 0;
    for (int i = 0; i < 2 && !got; i++) {
        if (i) { struct timespec ts = { 0, 200 * 1000000L }; nanosleep(&ts, NULL); }
        if (irh_fetch(&r, &resp, ferr, sizeof ferr) < 0) { irh_fetch_free(&resp); continue; }
        if (resp.status == 200) { got = 1; break; }
        snprintf(ferr, sizeof ferr, "HTTP %ld", resp.status);
        long st = resp.status;
        irh_fetch_free(&resp);
        if (st >= 400 && st < 500) break;        /* a refused token does not get better */
    }
    if (!got) {
        snprintf(err, errlen, "container credential endpoint (%s) failed: %s%s", var, ferr,
                 strstr(ferr, "HTTP 401") || strstr(ferr, "HTTP 403")
                     ? "; check AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE" : "");
    } else if (creds_from_json(resp.body, resp.len, "the container credential endpoint", out, err, errlen) == 0) {
        snprintf(out->source, sizeof out->source, "container");
        rc = 0;
    }
    irh_fetch_free(&resp);
    wipe_free(auth);
    wipe_free(tok);
    return rc;
}
