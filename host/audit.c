#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct irh_audit {
    int fd;
    char path[512];
};

struct sb { char *p; size_t len, cap; int oom; };

static void sb_put(struct sb *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 512;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) { b->oom = 1; return; }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Escapes as JSON; bytes that are not valid UTF-8 become U+FFFD so every line parses. */
static void sb_escape(struct sb *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') sb_put(b, "\\\"", 2);
        else if (c == '\\') sb_put(b, "\\\\", 2);
        else if (c == '\n') sb_put(b, "\\n", 2);
        else if (c == '\r') sb_put(b, "\\r", 2);
        else if (c == '\t') sb_put(b, "\\t", 2);
        else if (c < 0x20 || c == 0x7f) {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            sb_put(b, u, 6);
        } else if (c < 0x80) {
            sb_put(b, (const char *)&c, 1);
        } else {
            size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            if (c >= 0xf5) n = 0;
            int valid = n && i + n <= len;
            for (size_t k = 1; valid && k < n; k++)
                if (((unsigned char)s[i + k] & 0xc0) != 0x80) valid = 0;
            if (valid) { sb_put(b, s + i, n); i += n - 1; }
            else sb_put(b, "\xef\xbf\xbd", 3);
        }
    }
}

char *irh_json_escape(const char *s, size_t len)
{
    struct sb b = { 0 };
    sb_put(&b, "", 0);
    sb_escape(&b, s, len);
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

static void field_str(struct sb *b, const char *name, const char *v)
{
    sb_printf(b, ",\"%s\":", name);
    if (!v) { sb_puts(b, "null"); return; }
    sb_puts(b, "\"");
    sb_escape(b, v, strlen(v));
    sb_puts(b, "\"");
}

struct irh_audit *irh_audit_open(const char *path, char *err, size_t errlen)
{
    struct irh_audit *a = calloc(1, sizeof *a);
    if (!a) { snprintf(err, errlen, "out of memory"); return NULL; }
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        snprintf(err, errlen, "cannot open audit log %s: %s (check --out and its permissions)",
                 path, strerror(errno));
        free(a);
        return NULL;
    }
    snprintf(a->path, sizeof a->path, "%s", path);
    return a;
}

int irh_audit_write(struct irh_audit *a, const struct irh_audit_record *r, char *err, size_t errlen)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
    struct sb b = { 0 };
    sb_printf(&b, "{\"time\":\"%s\",\"call_id\":%lu", when, r->call_id);
    field_str(&b, "service", r->service);
    field_str(&b, "operation", r->operation);
    field_str(&b, "region", r->region);
    field_str(&b, "account", r->account && *r->account ? r->account : NULL);
    sb_printf(&b, ",\"mutating\":%s,\"params\":", r->mutating ? "true" : "false");
    sb_puts(&b, r->params_json && *r->params_json ? r->params_json : "null");
    if (r->status) sb_printf(&b, ",\"status\":%ld", r->status);
    else sb_puts(&b, ",\"status\":null");
    field_str(&b, "request_id", r->request_id && *r->request_id ? r->request_id : NULL);
    sb_printf(&b, ",\"latency_ms\":%ld,\"attempt\":%d", r->latency_ms, r->attempt);
    field_str(&b, "outcome", r->outcome);
    field_str(&b, "error_code", r->error_code && *r->error_code ? r->error_code : NULL);
    field_str(&b, "error_message", r->error_message && *r->error_message ? r->error_message : NULL);
    sb_printf(&b, ",\"dry_run\":%s}\n", r->dry_run ? "true" : "false");
    if (b.oom) { free(b.p); snprintf(err, errlen, "out of memory writing the audit log"); return -1; }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(a->fd, b.p + off, b.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write audit log %s: %s (free disk space or choose --out elsewhere)",
                     a->path, w < 0 ? strerror(errno) : "short write");
            free(b.p);
            return -1;
        }
        off += (size_t)w;
    }
    free(b.p);
    /* fdatasync: the data and the size needed to read it back, without the timestamps. */
    while (fdatasync(a->fd) != 0) {
        if (errno == EINTR) continue;
        if (errno == EINVAL || errno == EROFS) break;   /* pipes, /dev/null: nothing to flush */
        snprintf(err, errlen, "cannot flush audit log %s to disk: %s", a->path, strerror(errno));
        return -1;
    }
    return 0;
}

void irh_audit_close(struct irh_audit *a)
{
    if (!a) return;
    if (a->fd >= 0) close(a->fd);
    free(a);
}
