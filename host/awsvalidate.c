/* Checks on a CALL the runner sent, and the runbook's permission allow-list. */
#include "awscall_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------- validation */

int irh_awc_is_token(const char *s, size_t max, const char *extra)
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
int irh_awc_validate(const struct irh_kv *req, char *err, size_t errlen)
{
    static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", NULL };
    const char *service = irh_kv_get(req, "service", NULL), *op = irh_kv_get(req, "operation", NULL);
    if (!service || !irh_awc_is_token(service, 63, "-._")) { irh_awc_err(err, errlen, "CALL: missing or malformed service"); return -1; }
    if (!op || !irh_awc_is_token(op, 127, "_")) { irh_awc_err(err, errlen, "CALL: missing or malformed operation"); return -1; }
    const char *m = irh_kv_get(req, "method", NULL);
    int mok = 0;
    for (size_t i = 0; m && methods[i]; i++) mok |= strcmp(m, methods[i]) == 0;
    if (!mok) { irh_awc_err(err, errlen, "CALL %s.%s: method must be one of GET PUT POST DELETE HEAD PATCH", service, op); return -1; }
    size_t len;
    const char *path = irh_kv_get(req, "path", &len);
    if (!path || path[0] != '/' || !is_wire_text(path, len, 16384)) {
        irh_awc_err(err, errlen, "CALL %s.%s: path must start with / and be percent-encoded", service, op);
        return -1;
    }
    const char *q = irh_kv_get(req, "query", &len);
    if (q && !is_wire_text(q, len, 1024 * 1024)) { irh_awc_err(err, errlen, "CALL %s.%s: malformed query", service, op); return -1; }
    const char *hp = irh_kv_get(req, "host_prefix", NULL);
    if (hp && *hp && (!irh_awc_is_token(hp, 127, "-.") || hp[strlen(hp) - 1] != '.')) {
        irh_awc_err(err, errlen, "CALL %s.%s: malformed host_prefix", service, op);
        return -1;
    }
    const char *region = irh_kv_get(req, "region", NULL);
    if (region && *region && !irh_awc_is_token(region, 40, "-")) { irh_awc_err(err, errlen, "CALL %s.%s: malformed region", service, op); return -1; }
    const char *ep = irh_kv_get(req, "endpoint", &len);
    if (ep && *ep && (!is_wire_text(ep, len, 400) || (strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7)))) {
        irh_awc_err(err, errlen, "CALL %s.%s: endpoint must be an http(s) URL", service, op);
        return -1;
    }
    if (irh_kv_get(req, "params", &len) && len > MAX_PARAMS) { irh_awc_err(err, errlen, "CALL %s.%s: params too large", service, op); return -1; }
    if (irh_kv_get(req, "body", &len) && len > MAX_BODY) { irh_awc_err(err, errlen, "CALL %s.%s: body too large", service, op); return -1; }
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *k, *v;
        irh_kv_at(req, i, &k, &v, &len);
        if (strncmp(k, "h:", 2) != 0) continue;
        if (!irh_awc_is_token(k + 2, 128, "-_") || !is_header_value(v, len)) {
            irh_awc_err(err, errlen, "CALL %s.%s: malformed header %.64s", service, op, k + 2);
            return -1;
        }
        for (size_t r = 0; reserved_headers[r]; r++)
            if (strcasecmp(k + 2, reserved_headers[r]) == 0) {
                irh_awc_err(err, errlen, "CALL %s.%s: header %s is set by the broker", service, op, k + 2);
                return -1;
            }
        for (const char *p = k + 2; *p; p++)
            if (isupper((unsigned char)*p)) { irh_awc_err(err, errlen, "CALL %s.%s: header names must be lowercase", service, op); return -1; }
    }
    if (irh_secrets_has_handle(path, strlen(path))) {
        irh_awc_err(err, errlen, "CALL %s.%s: a secret handle cannot go into a URL path", service, op);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- endpoint */

/* Equal as endpoint URLs: trailing slashes do not count. */
static int same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 8 && a[la - 1] == '/') la--;
    while (lb > 8 && b[lb - 1] == '/') lb--;
    return la == lb && strncmp(a, b, la) == 0;
}

/* A client endpoint is accepted only when the user configured that very URL: the runbook
 * must not choose where signed requests (and substituted secrets) go. */
int irh_awc_endpoint_allowed(const struct irh_options *opt, const char *service_id, const char *endpoint,
                             char *err, size_t errlen)
{
    if (!endpoint || !*endpoint) return 0;
    if (opt->endpoint_url && *opt->endpoint_url && same_url(endpoint, opt->endpoint_url)) return 0;
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!ignore || strcasecmp(ignore, "true") != 0) {
        char name[96];
        size_t n = (size_t)snprintf(name, sizeof name, "AWS_ENDPOINT_URL_");
        for (const char *p = service_id; *p && n + 1 < sizeof name; p++)
            name[n++] = (*p == ' ' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
        name[n] = '\0';
        const char *v = getenv(name);
        if (v && *v && same_url(endpoint, v)) return 0;
        v = getenv("AWS_ENDPOINT_URL");
        if (v && *v && same_url(endpoint, v)) return 0;
    }
    irh_awc_err(err, errlen, "the client endpoint %.200s refused: a runbook cannot choose where requests go; "
                "use --endpoint-url (or AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>)", endpoint);
    return -1;
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
int irh_awc_permitted(const struct irh_awscall *c, const char *action, char *err, size_t errlen)
{
    if (!c->declared || !c->decl.has_permissions) {
        irh_awc_err(err, errlen, "%s refused: the runbook declares no permissions; add permissions = { \"%s\" } "
               "to ir.runbook{...}", action, action);
        return -1;
    }
    for (size_t i = 0; i < c->decl.npermissions; i++)
        if (iam_match(c->decl.permissions[i], action)) return 0;
    irh_awc_err(err, errlen, "%s refused: not in the runbook's permissions; add \"%s\" to permissions in ir.runbook{...}",
           action, action);
    return -1;
}
