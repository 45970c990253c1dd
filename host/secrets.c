#include "secrets.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

struct entry {
    char handle[IRH_SECRET_HANDLE_LEN + 1];
    unsigned char *value;   /* NUL-terminated copy, wiped on free */
    size_t len;
};

struct irh_secrets {
    struct entry *v;
    size_t n, cap;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct irh_secrets *irh_secrets_new(void)
{
    return calloc(1, sizeof(struct irh_secrets));
}

void irh_secrets_free(struct irh_secrets *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        explicit_bzero(s->v[i].value, s->v[i].len);
        free(s->v[i].value);
    }
    free(s->v);
    free(s);
}

size_t irh_secrets_count(const struct irh_secrets *s) { return s ? s->n : 0; }

static int is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Length of a well-formed handle at s (IRH_SECRET_HANDLE_LEN), or 0. */
static size_t handle_at(const char *s, size_t avail)
{
    if (avail < IRH_SECRET_HANDLE_LEN || memcmp(s, IRH_SECRET_PREFIX, IRH_SECRET_PREFIX_LEN) != 0)
        return 0;
    for (size_t i = IRH_SECRET_PREFIX_LEN; i < IRH_SECRET_HANDLE_LEN; i++)
        if (!is_lower_hex(s[i])) return 0;
    return IRH_SECRET_HANDLE_LEN;
}

static struct entry *find(const struct irh_secrets *s, const char *handle)
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].handle, handle, IRH_SECRET_HANDLE_LEN) == 0) return &s->v[i];
    return NULL;
}

const unsigned char *irh_secrets_get(const struct irh_secrets *s, const char *handle, size_t *len)
{
    if (!s || !handle || strlen(handle) != IRH_SECRET_HANDLE_LEN || !handle_at(handle, IRH_SECRET_HANDLE_LEN))
        return NULL;
    struct entry *e = find(s, handle);
    if (!e) return NULL;
    if (len) *len = e->len;
    return e->value;
}

static int store(struct irh_secrets *s, const char *handle, const void *value, size_t len,
                 char *err, size_t errlen)
{
    if (len > IRH_SECRET_MAX_VALUE) {
        seterr(err, errlen, "secret value too long (%zu bytes, max %u)", len, IRH_SECRET_MAX_VALUE);
        return -1;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        struct entry *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv) { seterr(err, errlen, "out of memory"); return -1; }
        s->v = nv;
        s->cap = ncap;
    }
    unsigned char *copy = malloc(len + 1);
    if (!copy) { seterr(err, errlen, "out of memory"); return -1; }
    if (len) memcpy(copy, value, len);
    copy[len] = '\0';
    struct entry *e = &s->v[s->n++];
    memcpy(e->handle, handle, IRH_SECRET_HANDLE_LEN);
    e->handle[IRH_SECRET_HANDLE_LEN] = '\0';
    e->value = copy;
    e->len = len;
    return 0;
}

int irh_secrets_put(struct irh_secrets *s, const void *value, size_t len,
                    char handle[IRH_SECRET_HANDLE_LEN + 1], char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    do {
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            seterr(err, errlen, "RAND_bytes failed: no secure randomness available");
            return -1;
        }
        memcpy(handle, IRH_SECRET_PREFIX, IRH_SECRET_PREFIX_LEN);
        for (size_t i = 0; i < sizeof rnd; i++) {
            handle[IRH_SECRET_PREFIX_LEN + 2 * i] = hex[rnd[i] >> 4];
            handle[IRH_SECRET_PREFIX_LEN + 2 * i + 1] = hex[rnd[i] & 15];
        }
        handle[IRH_SECRET_HANDLE_LEN] = '\0';
    } while (find(s, handle));
    return store(s, handle, value, len, err, errlen);
}

int irh_secrets_put_handle(struct irh_secrets *s, const char *handle, const void *value,
                           size_t len, char *err, size_t errlen)
{
    if (!handle || strlen(handle) != IRH_SECRET_HANDLE_LEN || !handle_at(handle, IRH_SECRET_HANDLE_LEN)) {
        seterr(err, errlen, "malformed secret handle (want %s + 32 lowercase hex digits)", IRH_SECRET_PREFIX);
        return -1;
    }
    if (find(s, handle)) { seterr(err, errlen, "secret handle %s is already in use", handle); return -1; }
    return store(s, handle, value, len, err, errlen);
}

/* ---------------------------------------------------------------- generation */

static const char LOWER[] = "abcdefghijklmnopqrstuvwxyz";
static const char UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char DIGIT[] = "0123456789";
/* Printable symbols minus the ones services commonly refuse in passwords (/ @ " ' space \ `). */
static const char SYMBOL[] = "!#$%&()*+,-.:;<=>?[]^_{|}~";

/* Uniform index in [0, n) from random bytes by rejection sampling; -1 on RNG failure. */
static int uniform_index(size_t n, unsigned char *pool, size_t *pos, size_t poolsz)
{
    unsigned limit = 256u - (256u % (unsigned)n);
    for (;;) {
        if (*pos == poolsz) {
            if (RAND_bytes(pool, (int)poolsz) != 1) return -1;
            *pos = 0;
        }
        unsigned b = pool[(*pos)++];
        if (b < limit) return (int)(b % n);
    }
}

static int has_any(const char *v, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++) if (strchr(set, v[i])) return 1;
    return 0;
}

int irh_secrets_generate(struct irh_secrets *s, size_t length, const char *charset,
                         char handle[IRH_SECRET_HANDLE_LEN + 1], char *err, size_t errlen)
{
    char set[128];
    int classes = 0;
    if (length < 1 || length > IRH_SECRET_MAX_GEN) {
        seterr(err, errlen, "secret.generate: length must be 1..%u (got %zu)", IRH_SECRET_MAX_GEN, length);
        return -1;
    }
    if (!charset || !*charset || strcmp(charset, "alnum") == 0) {
        snprintf(set, sizeof set, "%s%s%s", LOWER, UPPER, DIGIT);
    } else if (strcmp(charset, "alnumsym") == 0) {
        snprintf(set, sizeof set, "%s%s%s%s", LOWER, UPPER, DIGIT, SYMBOL);
        classes = length >= 4;
    } else if (strcmp(charset, "hex") == 0) {
        snprintf(set, sizeof set, "0123456789abcdef");
    } else {
        size_t n = 0;
        for (const char *p = charset; *p; p++) {
            if (*p < 0x21 || *p > 0x7e) {
                seterr(err, errlen, "secret.generate: charset must be alnum, alnumsym, hex or printable ASCII characters (no space)");
                return -1;
            }
            if (!memchr(set, *p, n)) set[n++] = *p;
        }
        set[n] = '\0';
        if (n < 2) {
            seterr(err, errlen, "secret.generate: charset needs at least 2 distinct characters");
            return -1;
        }
    }
    size_t n = strlen(set);
    char *v = malloc(length + 1);
    if (!v) { seterr(err, errlen, "out of memory"); return -1; }
    unsigned char pool[64];
    size_t pos = sizeof pool;
    int rc = -1;
    for (;;) {
        size_t i;
        for (i = 0; i < length; i++) {
            int k = uniform_index(n, pool, &pos, sizeof pool);
            if (k < 0) break;
            v[i] = set[k];
        }
        if (i < length) { seterr(err, errlen, "RAND_bytes failed: no secure randomness available"); break; }
        /* Redraw the whole value (not one character) so the result stays uniform over the
         * values that satisfy the policy. */
        if (classes && !(has_any(v, length, LOWER) && has_any(v, length, UPPER) &&
                         has_any(v, length, DIGIT) && has_any(v, length, SYMBOL)))
            continue;
        rc = irh_secrets_put(s, v, length, handle, err, errlen);
        break;
    }
    explicit_bzero(v, length + 1);
    explicit_bzero(pool, sizeof pool);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------- substitution */

struct buf { char *p; size_t len, cap; };

/* Growing wipes the old block: it may already hold a substituted value. */
static int buf_put(struct buf *b, const void *src, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = malloc(ncap);
        if (!np) return -1;
        if (b->p) {
            memcpy(np, b->p, b->len);
            explicit_bzero(b->p, b->cap);
            free(b->p);
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int put_encoded(struct buf *b, const unsigned char *v, size_t len, enum irh_secret_enc enc)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[8];
    for (size_t i = 0; i < len; i++) {
        unsigned char c = v[i];
        const char *rep = NULL;
        size_t rn = 0;
        switch (enc) {
        case IRH_SECRET_RAW:
            break;
        case IRH_SECRET_URL:
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '~')) {
                tmp[0] = '%'; tmp[1] = hex[c >> 4]; tmp[2] = hex[c & 15];
                rep = tmp; rn = 3;
            }
            break;
        case IRH_SECRET_JSON:
            if (c == '"') { rep = "\\\""; rn = 2; }
            else if (c == '\\') { rep = "\\\\"; rn = 2; }
            else if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                rep = tmp; rn = 6;
            }
            break;
        case IRH_SECRET_XML:
            if (c == '&') { rep = "&amp;"; rn = 5; }
            else if (c == '<') { rep = "&lt;"; rn = 4; }
            else if (c == '>') { rep = "&gt;"; rn = 4; }
            else if (c == '"') { rep = "&quot;"; rn = 6; }
            else if (c == '\'') { rep = "&apos;"; rn = 6; }
            else if (c == '\r') { rep = "&#13;"; rn = 5; }
            break;
        }
        int rc = rep ? buf_put(b, rep, rn) : buf_put(b, &c, 1);
        explicit_bzero(tmp, sizeof tmp);
        if (rc) return -1;
    }
    return 0;
}

int irh_secrets_has_handle(const char *s, size_t len)
{
    for (size_t i = 0; i + IRH_SECRET_HANDLE_LEN <= len; i++) {
        const char *p = memchr(s + i, 'i', len - i);
        if (!p) return 0;
        i = (size_t)(p - s);
        if (handle_at(p, len - i)) return 1;
    }
    return 0;
}

int irh_secrets_substitute(const struct irh_secrets *s, const char *in, size_t len,
                           enum irh_secret_enc enc, char **out, size_t *outlen, size_t *nsub,
                           char *err, size_t errlen)
{
    *out = NULL;
    if (outlen) *outlen = 0;
    if (nsub) *nsub = 0;
    if (!irh_secrets_has_handle(in, len)) return 0;
    struct buf b = { 0 };
    size_t done = 0, count = 0;
    for (size_t i = 0; i < len;) {
        size_t h = handle_at(in + i, len - i);
        if (!h) { i++; continue; }
        char handle[IRH_SECRET_HANDLE_LEN + 1];
        memcpy(handle, in + i, IRH_SECRET_HANDLE_LEN);
        handle[IRH_SECRET_HANDLE_LEN] = '\0';
        struct entry *e = s ? find(s, handle) : NULL;
        if (!e) {
            seterr(err, errlen, "unknown secret handle %s: only handles from this run's results "
                   "or aws.secret.generate can be used", handle);
            goto fail;
        }
        if (enc == IRH_SECRET_RAW && (memchr(e->value, '\r', e->len) || memchr(e->value, '\n', e->len) ||
                                      memchr(e->value, '\0', e->len))) {
            seterr(err, errlen, "secret %s holds a line break or NUL and cannot go into a header", handle);
            goto fail;
        }
        if (buf_put(&b, in + done, i - done) || put_encoded(&b, e->value, e->len, enc)) {
            seterr(err, errlen, "out of memory");
            goto fail;
        }
        count++;
        i += h;
        done = i;
    }
    if (buf_put(&b, in + done, len - done)) { seterr(err, errlen, "out of memory"); goto fail; }
    *out = b.p;
    if (outlen) *outlen = b.len;
    if (nsub) *nsub = count;
    return 0;
fail:
    if (b.p) { explicit_bzero(b.p, b.cap); free(b.p); }
    return -1;
}

/* ---------------------------------------------------------------- unsubstitution */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one encoded character at in[0..avail) (a percent escape, '+' for a space, an XML
 * entity or character reference, a JSON escape); returns its length, or 0. */
static size_t decode_one(const char *in, size_t avail, unsigned char *c)
{
    if (avail >= 3 && in[0] == '%' && hexval(in[1]) >= 0 && hexval(in[2]) >= 0) {
        *c = (unsigned char)(hexval(in[1]) * 16 + hexval(in[2]));
        return 3;
    }
    if (in[0] == '+') { *c = ' '; return 1; }
    if (in[0] == '&') {
        static const struct { const char *e; char c; } ents[] = {
            { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
        };
        for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
            size_t n = strlen(ents[i].e);
            if (avail >= n && memcmp(in, ents[i].e, n) == 0) { *c = (unsigned char)ents[i].c; return n; }
        }
        if (avail >= 4 && in[1] == '#') {
            int hexa = in[2] == 'x' || in[2] == 'X';
            size_t i = hexa ? 3 : 2;
            unsigned v = 0;
            size_t digits = 0;
            for (; i < avail && i < 12 && in[i] != ';'; i++, digits++) {
                int d = hexa ? hexval(in[i]) : (in[i] >= '0' && in[i] <= '9' ? in[i] - '0' : -1);
                if (d < 0) return 0;
                v = v * (hexa ? 16u : 10u) + (unsigned)d;
            }
            if (digits && i < avail && in[i] == ';' && v < 128) { *c = (unsigned char)v; return i + 1; }
        }
        return 0;
    }
    if (in[0] == '\\' && avail >= 2) {
        switch (in[1]) {
        case '"': *c = '"'; return 2;
        case '\\': *c = '\\'; return 2;
        case '/': *c = '/'; return 2;
        case 'b': *c = '\b'; return 2;
        case 'f': *c = '\f'; return 2;
        case 'n': *c = '\n'; return 2;
        case 'r': *c = '\r'; return 2;
        case 't': *c = '\t'; return 2;
        case 'u':
            if (avail >= 6 && in[2] == '0' && in[3] == '0' && hexval(in[4]) >= 0 && hexval(in[5]) >= 0) {
                *c = (unsigned char)(hexval(in[4]) * 16 + hexval(in[5]));
                return 6;
            }
            return 0;
        default: return 0;
        }
    }
    return 0;
}

/* Length of an occurrence of v at in[0..avail), each character raw or in any encoding, or 0.
 * prefer_raw decides which reading of an escape-introducing character is tried first. */
static size_t match_at(const char *in, size_t avail, const unsigned char *v, size_t vlen, int prefer_raw)
{
    size_t i = 0;
    for (size_t j = 0; j < vlen; j++) {
        if (i >= avail) return 0;
        unsigned char c = 0;
        size_t d = decode_one(in + i, avail - i, &c);
        int raw = (unsigned char)in[i] == v[j];
        if (raw && (prefer_raw || !d || c != v[j])) i++;
        else if (d && c == v[j]) i += d;
        else if (raw) i++;
        else return 0;
    }
    return i;
}

int irh_secrets_unsubstitute(const struct irh_secrets *s, const char (*handles)[IRH_SECRET_HANDLE_LEN + 1],
                             size_t nhandles, const char *in, size_t len, char **out, size_t *outlen)
{
    *out = NULL;
    if (outlen) *outlen = 0;
    const struct entry *es[64];
    size_t ne = 0;
    for (size_t h = 0; h < nhandles && ne < 64; h++) {
        const struct entry *e = find(s, handles[h]);
        if (e && e->len >= IRH_SECRET_MIN_SCRUB) es[ne++] = e;
    }
    if (!ne) return 0;
    struct buf b = { 0 };
    size_t done = 0;
    int found = 0;
    for (size_t i = 0; i < len;) {
        size_t m = 0, k = 0;
        for (; k < ne && !m; k++)
            for (int pass = 1; pass >= 0 && !m; pass--)
                m = match_at(in + i, len - i, es[k]->value, es[k]->len, pass);
        if (!m) { i++; continue; }
        if (buf_put(&b, in + done, i - done) || buf_put(&b, es[k - 1]->handle, IRH_SECRET_HANDLE_LEN)) goto fail;
        found = 1;
        i += m;
        done = i;
    }
    if (!found) return 0;
    if (buf_put(&b, in + done, len - done)) goto fail;
    *out = b.p;
    if (outlen) *outlen = b.len;
    return 0;
fail:
    if (b.p) { explicit_bzero(b.p, b.cap); free(b.p); }
    return -1;
}

size_t irh_secrets_handles_in(const char *in, size_t len, char (*handles)[IRH_SECRET_HANDLE_LEN + 1],
                              size_t n, size_t max)
{
    for (size_t i = 0; i + IRH_SECRET_HANDLE_LEN <= len && n < max; i++) {
        if (in[i] != 'i' || !handle_at(in + i, len - i)) continue;
        size_t k = 0;
        while (k < n && memcmp(handles[k], in + i, IRH_SECRET_HANDLE_LEN) != 0) k++;
        if (k == n) {
            memcpy(handles[n], in + i, IRH_SECRET_HANDLE_LEN);
            handles[n++][IRH_SECRET_HANDLE_LEN] = '\0';
        }
        i += IRH_SECRET_HANDLE_LEN - 1;
    }
    return n;
}
