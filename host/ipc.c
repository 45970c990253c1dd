/* Frames and kv lists for the runner<->broker protocol (see host/ipc.h). */
#include "ipc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct kv_entry { char *key; char *val; size_t len; };

struct irh_kv {
    struct kv_entry *e;
    size_t n, cap;
};

struct irh_kv *irh_kv_new(void)
{
    return calloc(1, sizeof(struct irh_kv));
}

void irh_kv_free(struct irh_kv *kv)
{
    if (!kv) return;
    for (size_t i = 0; i < kv->n; i++) {
        explicit_bzero(kv->e[i].val, kv->e[i].len);
        free(kv->e[i].key);
        free(kv->e[i].val);
    }
    free(kv->e);
    free(kv);
}

int irh_kv_add(struct irh_kv *kv, const char *key, const void *val, size_t len)
{
    if (kv->n == kv->cap) {
        size_t ncap = kv->cap ? kv->cap * 2 : 8;
        struct kv_entry *ne = realloc(kv->e, ncap * sizeof *ne);
        if (!ne) return -1;
        kv->e = ne;
        kv->cap = ncap;
    }
    if (len == SIZE_MAX) return -1;
    char *k = strdup(key);
    char *v = malloc(len + 1);
    if (!k || !v) { free(k); free(v); return -1; }
    if (len) memcpy(v, val, len);
    v[len] = '\0';
    kv->e[kv->n++] = (struct kv_entry){ k, v, len };
    return 0;
}

int irh_kv_adds(struct irh_kv *kv, const char *key, const char *val)
{
    return irh_kv_add(kv, key, val, strlen(val));
}

int irh_kv_addf(struct irh_kv *kv, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    int rc = irh_kv_add(kv, key, s, (size_t)n);
    free(s);
    return rc;
}

const char *irh_kv_get(const struct irh_kv *kv, const char *key, size_t *len)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->e[i].key, key) == 0) {
            if (len) *len = kv->e[i].len;
            return kv->e[i].val;
        }
    }
    return NULL;
}

size_t irh_kv_count(const struct irh_kv *kv) { return kv->n; }

void irh_kv_at(const struct irh_kv *kv, size_t i, const char **key, const char **val, size_t *len)
{
    *key = kv->e[i].key;
    *val = kv->e[i].val;
    if (len) *len = kv->e[i].len;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);  p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int irh_kv_encode(const struct irh_kv *kv, unsigned char **out, size_t *outlen)
{
    size_t total = 0;
    for (size_t i = 0; i < kv->n; i++) {
        size_t kl = strlen(kv->e[i].key);
        if (kl > UINT32_MAX || kv->e[i].len > UINT32_MAX) return -1;
        if (total > SIZE_MAX - 8 - kl - kv->e[i].len) return -1;
        total += 8 + kl + kv->e[i].len;
    }
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) return -1;
    unsigned char *p = buf;
    for (size_t i = 0; i < kv->n; i++) {
        size_t kl = strlen(kv->e[i].key);
        put_u32(p, (uint32_t)kl); p += 4;
        memcpy(p, kv->e[i].key, kl); p += kl;
        put_u32(p, (uint32_t)kv->e[i].len); p += 4;
        if (kv->e[i].len) memcpy(p, kv->e[i].val, kv->e[i].len);
        p += kv->e[i].len;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

struct irh_kv *irh_kv_decode(const void *buf, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = buf, *end = p + len;
    struct irh_kv *kv = irh_kv_new();
    if (!kv) { snprintf(err, errlen, "out of memory"); return NULL; }
    while (p < end) {
        if ((size_t)(end - p) < 4) goto bad;
        size_t kl = get_u32(p); p += 4;
        if ((size_t)(end - p) < kl || kl == 0 || kl > 4096) goto bad;
        const unsigned char *k = p; p += kl;
        if (memchr(k, '\0', kl)) goto bad;
        if ((size_t)(end - p) < 4) goto bad;
        size_t vl = get_u32(p); p += 4;
        if ((size_t)(end - p) < vl) goto bad;
        char key[4097];
        memcpy(key, k, kl);
        key[kl] = '\0';
        if (irh_kv_add(kv, key, p, vl) != 0) {
            snprintf(err, errlen, "out of memory");
            irh_kv_free(kv);
            return NULL;
        }
        p += vl;
    }
    return kv;
bad:
    snprintf(err, errlen, "malformed message payload (offset %zu of %zu)",
             (size_t)(p - (const unsigned char *)buf), len);
    irh_kv_free(kv);
    return NULL;
}

/* send() with MSG_NOSIGNAL so a dead peer is an error, not a SIGPIPE; plain write() for
 * descriptors that are not sockets (tests use pipes). */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK) w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Returns 1 when n bytes were read, 0 on EOF before the first byte, -1 on error/short read. */
static int read_all(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) {
            if (got == 0) return 0;
            errno = EPROTO;
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}

int irh_ipc_send(int fd, uint8_t type, uint32_t id, const struct irh_kv *kv)
{
    unsigned char *payload = NULL;
    size_t plen = 0;
    if (kv) {
        if (irh_kv_encode(kv, &payload, &plen) != 0) { errno = ENOMEM; return -1; }
    }
    if (plen > IRH_IPC_MAX_FRAME - 5) {
        if (payload) { explicit_bzero(payload, plen); free(payload); }
        errno = EMSGSIZE;
        return -1;
    }
    unsigned char hdr[9];
    put_u32(hdr, (uint32_t)(plen + 5));
    hdr[4] = type;
    put_u32(hdr + 5, id);
    int rc = write_all(fd, hdr, sizeof hdr);
    if (rc == 0 && plen) rc = write_all(fd, payload, plen);
    if (payload) { explicit_bzero(payload, plen); free(payload); }
    return rc;
}

int irh_ipc_recv(int fd, uint8_t *type, uint32_t *id, struct irh_kv **kv, char *err, size_t errlen)
{
    unsigned char hdr[9];
    *kv = NULL;
    int r = read_all(fd, hdr, 4);
    if (r == 0) return 0;
    if (r < 0) { snprintf(err, errlen, "reading a frame: %s", strerror(errno)); return -1; }
    uint32_t flen = get_u32(hdr);
    if (flen < 5 || flen > IRH_IPC_MAX_FRAME) {
        snprintf(err, errlen, "frame length %u out of range (5..%u)", flen, IRH_IPC_MAX_FRAME);
        return -1;
    }
    if (read_all(fd, hdr + 4, 5) != 1) {
        snprintf(err, errlen, "truncated frame header");
        return -1;
    }
    size_t plen = flen - 5;
    unsigned char *payload = malloc(plen ? plen : 1);
    if (!payload) { snprintf(err, errlen, "out of memory for a %zu-byte frame", plen); return -1; }
    if (plen && read_all(fd, payload, plen) != 1) {
        free(payload);
        snprintf(err, errlen, "truncated frame (%zu bytes expected)", plen);
        return -1;
    }
    struct irh_kv *k = irh_kv_decode(payload, plen, err, errlen);
    explicit_bzero(payload, plen);
    free(payload);
    if (!k) return -1;
    *type = hdr[4];
    *id = get_u32(hdr + 5);
    *kv = k;
    return 1;
}
