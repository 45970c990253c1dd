/* host/sigv4.c: AWS Signature Version 4 (header signing and query presigning) with OpenSSL.
 *
 * The canonical request follows the rules pinned down by ../shared/sigv4-testsuite and by
 * botocore's SigV4Auth / S3SigV4Auth / SigV4QueryAuth:
 *  - path, non-S3: dot segments removed and empty segments collapsed (botocore's
 *    remove_dot_segments), then every byte but unreserved and '/' percent-encoded. The wire
 *    path is already encoded once, so '%' becomes '%25': the double encoding AWS expects.
 *  - path, S3: as on the wire. Valid %XX triplets stay (hex uppercased); only bytes that
 *    cannot appear on the wire are encoded (so a raw test-suite path still signs right).
 *  - query: each pair decoded then re-encoded (RFC 3986, uppercase hex), sorted by key then
 *    value; raw UTF-8 and pre-encoded input give the same result.
 *  - headers: names lowercased, values trimmed with inner whitespace runs (incl. folded
 *    lines) collapsed to one space, repeated names joined with ',' in their given order.
 * The secret key only ever sits in one heap buffer, wiped before it is freed, and in the
 * derived HMAC keys on the stack, wiped before return. */
#include "sigv4.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MAX_EXPIRES 604800L

/* ---------------------------------------------------------------- growable string */

struct sbuf { char *p; size_t len, cap; int oom; };

static int sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->oom) return -1;
    if (extra > SIZE_MAX - b->len - 1) { b->oom = 1; return -1; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *np = realloc(b->p, cap);
    if (!np) { b->oom = 1; return -1; }
    b->p = np;
    b->cap = cap;
    b->p[b->len] = '\0';
    return 0;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (sb_reserve(b, n) < 0) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_putc(struct sbuf *b, char c)
{
    if (b->len + 1 < b->cap) {          /* fast path: most calls append one byte */
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return;
    }
    sb_add(b, &c, 1);
}

static void sb_free(struct sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Hands the string over (never NULL unless allocation failed); b is reset. */
static char *sb_take(struct sbuf *b)
{
    char *p = NULL;
    if (!b->oom) {
        if (sb_reserve(b, 0) == 0) p = b->p;
    }
    if (!p) free(b->p);
    memset(b, 0, sizeof *b);
    return p;
}

/* ---------------------------------------------------------------- encoding */

static const char HEXU[] = "0123456789ABCDEF";
static const char HEXL[] = "0123456789abcdef";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void sb_encode(struct sbuf *b, const char *s, size_t n, int encode_slash)
{
    if (n > SIZE_MAX / 3 || sb_reserve(b, 3 * n) < 0) { b->oom = 1; return; }
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = HEXU[c >> 4];
            *o++ = HEXU[c & 15];
        }
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

char *irh_uri_encode(const char *s, size_t len, int encode_slash)
{
    struct sbuf b = { 0 };
    if (!s) return NULL;
    sb_reserve(&b, len);
    sb_encode(&b, s, len, encode_slash);
    return sb_take(&b);
}

/* Decodes %XX (an invalid escape stays literal) and re-encodes: the canonical form of one
 * query key or value, whatever encoding the caller used. */
static void sb_reencode(struct sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            c = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        sb_encode(b, (const char *)&c, 1, 1);
    }
}

/* ---------------------------------------------------------------- canonical path */

static void canon_path_s3(struct sbuf *b, const char *p)
{
    if (!*p) { sb_putc(b, '/'); return; }
    for (size_t i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%' && hexval((unsigned char)p[i + 1]) >= 0 && hexval((unsigned char)p[i + 2]) >= 0) {
            char e[3] = { '%', HEXU[hexval((unsigned char)p[i + 1])], HEXU[hexval((unsigned char)p[i + 2])] };
            sb_add(b, e, 3);
            i += 2;
        } else {
            sb_encode(b, (const char *)&c, 1, 0);
        }
    }
}

struct seg { const char *s; size_t n; };

/* botocore.utils.remove_dot_segments plus encoding: '.' and empty segments dropped, '..'
 * pops, leading and trailing '/' kept as the input had them. */
static int canon_path_normalized(struct sbuf *b, const char *p)
{
    size_t len = strlen(p), nseg = 1, k = 0;
    if (len == 0) { sb_putc(b, '/'); return 0; }
    for (size_t i = 0; i < len; i++) nseg += p[i] == '/';
    struct seg *segs = calloc(nseg, sizeof *segs);
    if (!segs) return -1;
    const char *s = p;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (k) k--;
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            segs[k].s = s;
            segs[k].n = n;
            k++;
        }
        if (!e) break;
        s = e + 1;
    }
    if (p[0] == '/') sb_putc(b, '/');
    for (size_t i = 0; i < k; i++) {
        if (i) sb_putc(b, '/');
        sb_encode(b, segs[i].s, segs[i].n, 1);
    }
    if (p[len - 1] == '/' && k) sb_putc(b, '/');
    free(segs);
    return 0;
}

/* ---------------------------------------------------------------- canonical query */

struct qpair { char *k, *v; };

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

struct qlist { struct qpair *v; size_t n, cap; };

static void qlist_free(struct qlist *q)
{
    for (size_t i = 0; i < q->n; i++) { free(q->v[i].k); free(q->v[i].v); }
    free(q->v);
    memset(q, 0, sizeof *q);
}

/* Adds a pair; k and v are taken (freed on failure). */
static int qlist_push(struct qlist *q, char *k, char *v)
{
    if (!k || !v) goto fail;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct qpair *nv = realloc(q->v, cap * sizeof *nv);
        if (!nv) goto fail;
        q->v = nv;
        q->cap = cap;
    }
    q->v[q->n].k = k;
    q->v[q->n].v = v;
    q->n++;
    return 0;
fail:
    free(k);
    free(v);
    return -1;
}

static char *reencoded(const char *s, size_t n)
{
    struct sbuf b = { 0 };
    sb_reserve(&b, n);
    sb_reencode(&b, s, n);
    return sb_take(&b);
}

/* Splits the wire query into canonical (decoded, re-encoded) pairs. Empty pieces
 * ("a=1&&b=2") carry no parameter and are skipped. */
static int parse_query(struct qlist *q, const char *query)
{
    const char *s = query ? query : "";
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t n = amp ? (size_t)(amp - s) : strlen(s);
        if (n) {
            const char *eq = memchr(s, '=', n);
            size_t kn = eq ? (size_t)(eq - s) : n;
            const char *vs = eq ? eq + 1 : s + n;
            size_t vn = eq ? n - kn - 1 : 0;
            if (qlist_push(q, reencoded(s, kn), reencoded(vs, vn)) < 0) return -1;
        }
        if (!amp) break;
        s = amp + 1;
    }
    return 0;
}

static int qlist_push_lit(struct qlist *q, const char *k, const char *v)
{
    return qlist_push(q, strdup(k), irh_uri_encode(v, strlen(v), 1));
}

/* ---------------------------------------------------------------- canonical headers */

struct hdr { char *name; char *value; size_t idx; };

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Python's str.split() whitespace, ASCII part: what botocore collapses in header values. */
static int is_fold_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static char *folded_value(const char *v)
{
    struct sbuf b = { 0 };
    int pending = 0;
    sb_reserve(&b, strlen(v));
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        if (is_fold_space(*s)) { pending = b.len > 0; continue; }
        if (pending) { sb_putc(&b, ' '); pending = 0; }
        sb_putc(&b, (char)*s);
    }
    return sb_take(&b);
}

static char *lower_name(const char *n)
{
    size_t len = strlen(n);
    char *s = malloc(len + 1);
    if (!s) return NULL;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)n[i];
        s[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return s;
}

struct hlist { struct hdr *v; size_t n, cap; };

static void hlist_free(struct hlist *h)
{
    for (size_t i = 0; i < h->n; i++) { free(h->v[i].name); free(h->v[i].value); }
    free(h->v);
    memset(h, 0, sizeof *h);
}

/* Adds a header; name and value are taken (freed on failure). */
static int hlist_push(struct hlist *h, char *name, char *value)
{
    if (!name || !value) goto fail;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct hdr *nv = realloc(h->v, cap * sizeof *nv);
        if (!nv) goto fail;
        h->v = nv;
        h->cap = cap;
    }
    h->v[h->n].name = name;
    h->v[h->n].value = value;
    h->v[h->n].idx = h->n;
    h->n++;
    return 0;
fail:
    free(name);
    free(value);
    return -1;
}

/* Headers never signed: ones proxies and clients rewrite (botocore's blacklist), and the
 * ones this signer sets itself (a caller's copy would be a stale duplicate). */
static int skip_header(const char *lname, int have_token, int sign_body_header)
{
    static const char *const never[] = { "authorization", "user-agent", "expect",
                                         "x-amzn-trace-id", "x-amz-date" };
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strcmp(lname, never[i]) == 0) return 1;
    if (have_token && strcmp(lname, "x-amz-security-token") == 0) return 1;
    if (sign_body_header && strcmp(lname, "x-amz-content-sha256") == 0) return 1;
    return 0;
}

/* ---------------------------------------------------------------- crypto */

/* OpenSSL 3 looks algorithms up on every EVP_sha256()/HMAC() call; fetching them once
 * takes the signing cost from ~22 us to a few us. The fetched objects hold no key. */
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_MD *alg_sha256;
static EVP_MAC *alg_hmac;

static void fetch_algs(void)
{
    alg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    alg_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int algs_ready(void)
{
    pthread_once(&algs_once, fetch_algs);
    return alg_sha256 && alg_hmac;
}

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = HEXL[md[i] >> 4];
        hex[2 * i + 1] = HEXL[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!algs_ready() || !EVP_Digest(data, len, md, &mdlen, alg_sha256, NULL) || mdlen != 32) return -1;
    to_hex(md, 32, hex);
    return 0;
}

/* One HMAC-SHA256 with ctx (set up for SHA-256 by compute_signature). */
static int hmac256(EVP_MAC_CTX *ctx, const void *key, size_t keylen, const void *msg, size_t msglen,
                   unsigned char out[32])
{
    size_t n = 0;
    if (!EVP_MAC_init(ctx, key, keylen, NULL) || !EVP_MAC_update(ctx, msg, msglen) ||
        !EVP_MAC_final(ctx, out, &n, 32) || n != 32)
        return -1;
    return 0;
}

/* kSigning = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request"; then the
 * hex signature of sts. Every intermediate key is wiped; the MAC context (which holds the
 * last key's pads) is freed, and OpenSSL cleanses it, before return. */
static int compute_signature(const char *secret, const char *date, const char *region,
                             const char *service, const char *sts, char sig[65])
{
    size_t slen = strlen(secret);
    unsigned char k1[32], k2[32];
    int rc = -1;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end() };
    EVP_MAC_CTX *ctx = algs_ready() ? EVP_MAC_CTX_new(alg_hmac) : NULL;
    char *ksecret = malloc(slen + 5);
    if (!ctx || !ksecret || !EVP_MAC_CTX_set_params(ctx, params)) goto done;
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret, slen + 1);
    if (hmac256(ctx, ksecret, slen + 4, date, strlen(date), k1) < 0) goto done;
    if (hmac256(ctx, k1, 32, region, strlen(region), k2) < 0) goto done;
    if (hmac256(ctx, k2, 32, service, strlen(service), k1) < 0) goto done;
    if (hmac256(ctx, k1, 32, "aws4_request", 12, k2) < 0) goto done;
    if (hmac256(ctx, k2, 32, sts, strlen(sts), k1) < 0) goto done;
    to_hex(k1, 32, sig);
    rc = 0;
done:
    if (ksecret) OPENSSL_cleanse(ksecret, slen + 5);
    free(ksecret);
    EVP_MAC_CTX_free(ctx);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    return rc;
}

/* ---------------------------------------------------------------- signing */

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "sigv4: %s", msg);
    return -1;
}

static int check_inputs(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                        const struct irh_creds *c, int presign, char *err, size_t errlen)
{
    if (!req || !p || !c) return fail(err, errlen, "missing request, parameters or credentials");
    if (!req->method || !req->method[0]) return fail(err, errlen, "request has no method");
    if (!req->path) return fail(err, errlen, "request has no path");
    if (req->nheaders && !req->headers) return fail(err, errlen, "request headers missing");
    if (req->body_len && !req->body) return fail(err, errlen, "request body missing");
    if (!p->region || !p->region[0]) return fail(err, errlen, "no signing region");
    if (!p->service || !p->service[0]) return fail(err, errlen, "no signing service name");
    if (strchr(p->region, '/') || strchr(p->service, '/'))
        return fail(err, errlen, "region and service must not contain '/'");
    if (!c->access_key_id || !c->access_key_id[0] || !c->secret_access_key || !c->secret_access_key[0])
        return fail(err, errlen, "credentials lack an access key id or secret access key");
    if (presign && (p->expires < 1 || p->expires > MAX_EXPIRES))
        return fail(err, errlen, "presign expiry must be 1..604800 seconds (7 days)");
    for (size_t i = 0; i < req->nheaders; i++)
        if (!req->headers[i].name || !req->headers[i].name[0] || !req->headers[i].value)
            return fail(err, errlen, "a request header has no name or value");
    return 0;
}

static int set_add(struct irh_sigv4_result *out, const char *name, const char *value)
{
    size_t i = out->nadd;
    out->add[i].name = strdup(name);
    out->add[i].value = strdup(value);
    out->nadd++;
    return out->add[i].name && out->add[i].value ? 0 : -1;
}

/* Everything one signature is computed from, borrowed (req, p, c) or owned (the rest). */
struct signing {
    const struct irh_sigv4_request *req;
    const struct irh_sigv4_params *p;
    const struct irh_creds *c;
    int presign, sign_body_header, have_token;
    const char *token, *payload_hash;
    char amz_date[32], date[16], scope[256], payload[65];
    struct hlist hl;        /* headers to sign, sorted */
    struct qlist ql;        /* canonical query pairs, sorted */
    struct sbuf sh;         /* SignedHeaders value */
    char *credential;       /* access key id / scope */
};

static void signing_free(struct signing *s)
{
    hlist_free(&s->hl);
    qlist_free(&s->ql);
    sb_free(&s->sh);
    free(s->credential);
}

/* Date, scope, credential and payload hash. */
static int prepare(struct signing *s, char *err, size_t errlen)
{
    const struct irh_sigv4_params *p = s->p;
    struct tm tm;
    if (!gmtime_r(&p->now, &tm) || tm.tm_year < 0 || tm.tm_year > 8099)
        return fail(err, errlen, "signing time out of range");
    snprintf(s->amz_date, sizeof s->amz_date, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(s->date, s->amz_date, 8);
    s->date[8] = '\0';
    if ((size_t)snprintf(s->scope, sizeof s->scope, "%s/%s/%s/aws4_request", s->date, p->region,
                         p->service) >= sizeof s->scope)
        return fail(err, errlen, "region or service name too long");
    struct sbuf b = { 0 };
    sb_puts(&b, s->c->access_key_id);
    sb_putc(&b, '/');
    sb_puts(&b, s->scope);
    if (!(s->credential = sb_take(&b))) return fail(err, errlen, "out of memory");

    /* A caller-set x-amz-content-sha256 is the payload hash unless the signer sets it. */
    if (p->unsigned_payload) { s->payload_hash = UNSIGNED_PAYLOAD; return 0; }
    for (size_t i = 0; !s->sign_body_header && i < s->req->nheaders; i++)
        if (strcasecmp(s->req->headers[i].name, "x-amz-content-sha256") == 0)
            s->payload_hash = s->req->headers[i].value;
    if (s->payload_hash) return 0;
    if (sha256_hex(s->req->body ? s->req->body : "", s->req->body_len, s->payload) < 0)
        return fail(err, errlen, "SHA-256 unavailable in OpenSSL");
    s->payload_hash = s->payload;
    return 0;
}

/* The headers to sign (the request's, then the signer's own), sorted, and SignedHeaders. */
static int collect_headers(struct signing *s, char *err, size_t errlen)
{
    const struct irh_sigv4_request *req = s->req;
    int have_host = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        char *ln = lower_name(req->headers[i].name);
        if (ln && skip_header(ln, s->have_token, s->sign_body_header)) { free(ln); continue; }
        if (ln && strcmp(ln, "host") == 0) have_host = 1;
        if (hlist_push(&s->hl, ln, folded_value(req->headers[i].value)) < 0) goto oom;
    }
    if (!have_host) return fail(err, errlen, "request has no Host header");
    if (!s->presign) {
        if (hlist_push(&s->hl, strdup("x-amz-date"), strdup(s->amz_date)) < 0) goto oom;
        if (s->have_token && !s->p->omit_session_token &&
            hlist_push(&s->hl, strdup("x-amz-security-token"), folded_value(s->token)) < 0) goto oom;
        if (s->sign_body_header &&
            hlist_push(&s->hl, strdup("x-amz-content-sha256"), strdup(s->payload_hash)) < 0) goto oom;
    }
    if (s->hl.n > 1) qsort(s->hl.v, s->hl.n, sizeof *s->hl.v, hdr_cmp);
    for (size_t i = 0; i < s->hl.n; i++) {
        if (i && strcmp(s->hl.v[i].name, s->hl.v[i - 1].name) == 0) continue;
        if (s->sh.len) sb_putc(&s->sh, ';');
        sb_puts(&s->sh, s->hl.v[i].name);
    }
    if (!s->sh.oom) return 0;
oom:
    return fail(err, errlen, "out of memory");
}

/* The request's own query pairs plus, when presigning, the X-Amz-* auth pairs; sorted. */
static int collect_query(struct signing *s, char *err, size_t errlen)
{
    struct qlist *ql = &s->ql;
    if (parse_query(ql, s->req->query) < 0) return fail(err, errlen, "out of memory");
    if (s->presign) {
        char exp[24];
        snprintf(exp, sizeof exp, "%ld", s->p->expires);
        if (qlist_push_lit(ql, "X-Amz-Algorithm", ALGORITHM) < 0 ||
            qlist_push_lit(ql, "X-Amz-Credential", s->credential) < 0 ||
            qlist_push_lit(ql, "X-Amz-Date", s->amz_date) < 0 ||
            qlist_push_lit(ql, "X-Amz-Expires", exp) < 0 ||
            qlist_push_lit(ql, "X-Amz-SignedHeaders", s->sh.p) < 0)
            return fail(err, errlen, "out of memory");
        if (s->have_token && !s->p->omit_session_token &&
            qlist_push_lit(ql, "X-Amz-Security-Token", s->token) < 0)
            return fail(err, errlen, "out of memory");
    }
    if (ql->n > 1) qsort(ql->v, ql->n, sizeof *ql->v, qpair_cmp);
    return 0;
}

static char *canonical_request(const struct signing *s)
{
    struct sbuf cr = { 0 };
    const struct hlist *hl = &s->hl;
    sb_puts(&cr, s->req->method);
    sb_putc(&cr, '\n');
    if (s->p->s3) canon_path_s3(&cr, s->req->path);
    else if (canon_path_normalized(&cr, s->req->path) < 0) cr.oom = 1;
    sb_putc(&cr, '\n');
    for (size_t i = 0; i < s->ql.n; i++) {
        if (i) sb_putc(&cr, '&');
        sb_puts(&cr, s->ql.v[i].k);
        sb_putc(&cr, '=');
        sb_puts(&cr, s->ql.v[i].v);
    }
    sb_putc(&cr, '\n');
    for (size_t i = 0; i < hl->n; i++) {
        if (i && strcmp(hl->v[i].name, hl->v[i - 1].name) == 0) {
            sb_putc(&cr, ',');          /* repeated header: values joined in given order */
        } else {
            if (i) sb_putc(&cr, '\n');
            sb_puts(&cr, hl->v[i].name);
            sb_putc(&cr, ':');
        }
        sb_puts(&cr, hl->v[i].value);
    }
    sb_puts(&cr, "\n\n");
    sb_add(&cr, s->sh.p, s->sh.len);
    sb_putc(&cr, '\n');
    sb_puts(&cr, s->payload_hash);
    return sb_take(&cr);
}

static char *string_to_sign(const struct signing *s, const char *creq)
{
    char crhash[65];
    struct sbuf b = { 0 };
    if (sha256_hex(creq, strlen(creq), crhash) < 0) return NULL;
    sb_puts(&b, ALGORITHM "\n");
    sb_puts(&b, s->amz_date);
    sb_putc(&b, '\n');
    sb_puts(&b, s->scope);
    sb_putc(&b, '\n');
    sb_puts(&b, crhash);
    return sb_take(&b);
}

/* The presigned query as the suite writes it: the request's query as given, then the auth
 * parameters with X-Amz-Signature last. */
static int finish_presign(const struct signing *s, struct irh_sigv4_result *out)
{
    struct sbuf b = { 0 };
    char exp[40];
    if (s->req->query && s->req->query[0]) {
        sb_puts(&b, s->req->query);
        sb_putc(&b, '&');
    }
    sb_puts(&b, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=");
    sb_encode(&b, s->credential, strlen(s->credential), 1);
    sb_puts(&b, "&X-Amz-Date=");
    sb_puts(&b, s->amz_date);
    sb_puts(&b, "&X-Amz-SignedHeaders=");
    sb_encode(&b, s->sh.p, s->sh.len, 1);
    snprintf(exp, sizeof exp, "&X-Amz-Expires=%ld", s->p->expires);
    sb_puts(&b, exp);
    if (s->have_token) {
        sb_puts(&b, "&X-Amz-Security-Token=");
        sb_encode(&b, s->token, strlen(s->token), 1);
    }
    sb_puts(&b, "&X-Amz-Signature=");
    sb_puts(&b, out->signature);
    out->query = sb_take(&b);
    return out->query ? 0 : -1;
}

/* Headers to add, in the suite's order: token, date, content hash, Authorization. */
static int finish_header(const struct signing *s, struct irh_sigv4_result *out)
{
    struct sbuf b = { 0 };
    if (s->have_token && set_add(out, "X-Amz-Security-Token", s->token) < 0) return -1;
    if (set_add(out, "X-Amz-Date", s->amz_date) < 0) return -1;
    if (s->sign_body_header && set_add(out, "x-amz-content-sha256", s->payload_hash) < 0) return -1;
    sb_puts(&b, ALGORITHM " Credential=");
    sb_puts(&b, s->credential);
    sb_puts(&b, ", SignedHeaders=");
    sb_add(&b, s->sh.p, s->sh.len);
    sb_puts(&b, ", Signature=");
    sb_puts(&b, out->signature);
    char *auth = sb_take(&b);
    int rc = auth ? set_add(out, "Authorization", auth) : -1;
    free(auth);
    return rc;
}

static int sign_common(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                       const struct irh_creds *c, struct irh_sigv4_result *out, int presign,
                       char *err, size_t errlen)
{
    struct signing s = { 0 };
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (check_inputs(req, p, c, presign, err, errlen) < 0) return -1;
    s.req = req;
    s.p = p;
    s.c = c;
    s.presign = presign;
    s.sign_body_header = p->sign_body_header && !presign;
    s.token = c->session_token;
    s.have_token = s.token && s.token[0];
    if (prepare(&s, err, errlen) < 0 || collect_headers(&s, err, errlen) < 0 ||
        collect_query(&s, err, errlen) < 0)
        goto done;
    out->canonical_request = canonical_request(&s);
    out->string_to_sign = out->canonical_request ? string_to_sign(&s, out->canonical_request) : NULL;
    if (!out->string_to_sign) { fail(err, errlen, "out of memory"); goto done; }
    if (compute_signature(c->secret_access_key, s.date, p->region, p->service,
                          out->string_to_sign, out->signature) < 0) {
        fail(err, errlen, "HMAC-SHA256 failed in OpenSSL");
        goto done;
    }
    if ((presign ? finish_presign(&s, out) : finish_header(&s, out)) < 0) {
        fail(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
done:
    signing_free(&s);
    if (rc < 0) irh_sigv4_result_free(out);
    return rc;
}

int irh_sigv4_sign(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                   const struct irh_creds *creds, struct irh_sigv4_result *out,
                   char *err, size_t errlen)
{
    return sign_common(req, p, creds, out, 0, err, errlen);
}

int irh_sigv4_presign(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                      const struct irh_creds *creds, struct irh_sigv4_result *out,
                      char *err, size_t errlen)
{
    return sign_common(req, p, creds, out, 1, err, errlen);
}

/* Wipes too: the token sits in add[] and in a presigned query. */
static void wipe_free(char *s)
{
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void irh_sigv4_result_free(struct irh_sigv4_result *out)
{
    if (!out) return;
    for (size_t i = 0; i < out->nadd && i < 4; i++) {
        free(out->add[i].name);
        wipe_free(out->add[i].value);
    }
    wipe_free(out->query);
    wipe_free(out->canonical_request);
    free(out->string_to_sign);
    memset(out, 0, sizeof *out);
}
