#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

struct xfer {
    CURL *easy;
    struct curl_slist *hdrs;
    unsigned char *body;
    size_t body_len;
    struct irh_http_response *resp;
    size_t body_cap;
    int too_large;
    int timed_out;                /* no byte moved for read_timeout_ms */
    long read_timeout_ms;
    curl_off_t last_dl, last_ul;
    struct timespec last_activity;
    void *tag;
    struct timespec start;
    char where[160];              /* "POST https://host:port" for messages: never the query */
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *next;
};

struct irh_http {
    CURLM *multi;
    struct irh_http_options o;
    char *ca_bundle;
    struct xfer *active;
    struct xfer *done_head, *done_tail;
    size_t pending;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

struct irh_http *irh_http_new(const struct irh_http_options *o, char *err, size_t errlen)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            seterr(err, errlen, "libcurl failed to initialise");
            return NULL;
        }
        global_done = 1;
    }
    struct irh_http *h = calloc(1, sizeof *h);
    if (!h) { seterr(err, errlen, "out of memory"); return NULL; }
    if (o) h->o = *o;
    if (h->o.connect_timeout_ms <= 0) h->o.connect_timeout_ms = 10000;
    if (h->o.read_timeout_ms <= 0) h->o.read_timeout_ms = 60000;
    if (h->o.max_body == 0) h->o.max_body = 48u * 1024u * 1024u;
    if (o && o->ca_bundle && *o->ca_bundle) {
        h->ca_bundle = strdup(o->ca_bundle);
        if (!h->ca_bundle) { free(h); seterr(err, errlen, "out of memory"); return NULL; }
    }
    h->o.ca_bundle = h->ca_bundle;
    h->multi = curl_multi_init();
    if (!h->multi) { free(h->ca_bundle); free(h); seterr(err, errlen, "curl_multi_init failed"); return NULL; }
    /* Keep-alive per host: a pool large enough for a fan-out over many regions. */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
    return h;
}

static void wipe_free(void *p, size_t n)
{
    if (!p) return;
    explicit_bzero(p, n);
    free(p);
}

void irh_http_response_free(struct irh_http_response *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nheaders; i++) {
        wipe_free(r->headers[i].name, strlen(r->headers[i].name));
        wipe_free(r->headers[i].value, strlen(r->headers[i].value));
    }
    free(r->headers);
    if (r->body) wipe_free(r->body, r->body_len);
    free(r);
}

static void slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data) explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static void xfer_free(struct xfer *x)
{
    if (!x) return;
    if (x->easy) curl_easy_cleanup(x->easy);
    slist_wipe_free(x->hdrs);
    wipe_free(x->body, x->body_len);
    irh_http_response_free(x->resp);
    free(x);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct irh_http_response *r = x->resp;
    size_t n = size * nmemb;
    if (r->body_len + n + 1 > x->body_cap) {
        size_t ncap = x->body_cap ? x->body_cap : 4096;
        while (ncap < r->body_len + n + 1) ncap *= 2;
        char *nb = malloc(ncap);
        if (!nb) return 0;
        if (r->body) {
            memcpy(nb, r->body, r->body_len);
            explicit_bzero(r->body, x->body_cap);
            free(r->body);
        }
        r->body = nb;
        x->body_cap = ncap;
    }
    clock_gettime(CLOCK_MONOTONIC, &x->last_activity);
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

struct body_ctx { struct xfer *x; size_t max; };

static size_t on_body_capped(char *data, size_t size, size_t nmemb, void *ud)
{
    struct body_ctx *c = ud;
    if (c->x->resp->body_len + size * nmemb > c->max) { c->x->too_large = 1; return 0; }
    return on_body(data, size, nmemb, c->x);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct irh_http_response *r = x->resp;
    size_t n = size * nmemb;
    clock_gettime(CLOCK_MONOTONIC, &x->last_activity);
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new status line (after 100 Continue): forget the interim headers. */
        for (size_t i = 0; i < r->nheaders; i++) { free(r->headers[i].name); free(r->headers[i].value); }
        r->nheaders = 0;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon) return n;
    size_t kl = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
    if (kl == 0 || r->nheaders >= 200) return n;
    struct irh_http_header *nh = realloc(r->headers, (r->nheaders + 1) * sizeof *nh);
    if (!nh) return 0;
    r->headers = nh;
    char *k = strndup(data, kl), *val = strndup(v, (size_t)(end - v));
    if (!k || !val) { free(k); free(val); return 0; }
    for (char *p = k; *p; p++) *p = (char)tolower((unsigned char)*p);
    r->headers[r->nheaders].name = k;
    r->headers[r->nheaders].value = val;
    r->nheaders++;
    return n;
}

/* The read timeout: curl's low-speed check does not cover the wait for a response after an
 * upload, so every transfer watches its own last byte moved. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    (void)dltotal; (void)ultotal;
    curl_off_t connected = 0;
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connected);
    /* Until connected, CURLOPT_CONNECTTIMEOUT_MS is the limit. */
    if (dlnow != x->last_dl || ulnow != x->last_ul || connected == 0) {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        clock_gettime(CLOCK_MONOTONIC, &x->last_activity);
        return 0;
    }
    if (elapsed_ms(&x->last_activity) > x->read_timeout_ms) { x->timed_out = 1; return 1; }
    return 0;
}

const char *irh_http_header(const struct irh_http_response *r, const char *name)
{
    for (size_t i = 0; r && i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* Adds a header line, turning "Name:" (empty value) into curl's "Name;" form. */
static int add_header(struct curl_slist **l, const char *line)
{
    size_t n = strlen(line);
    const char *colon = strchr(line, ':');
    struct curl_slist *nl;
    if (colon) {
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        if (!*v) {
            char *tmp = malloc(n + 2);
            if (!tmp) return -1;
            memcpy(tmp, line, (size_t)(colon - line));
            tmp[colon - line] = ';';
            tmp[colon - line + 1] = '\0';
            nl = curl_slist_append(*l, tmp);
            free(tmp);
            if (!nl) return -1;
            *l = nl;
            return 0;
        }
    }
    nl = curl_slist_append(*l, line);
    if (!nl) return -1;
    *l = nl;
    return 0;
}

static int has_header(const char *const *h, size_t n, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strncasecmp(h[i], name, k) == 0 && h[i][k] == ':') return 1;
    return 0;
}

static void where_of(const char *method, const char *url, char *out, size_t outlen)
{
    const char *s = strstr(url, "://");
    const char *host = s ? s + 3 : url;
    size_t hl = strcspn(host, "/?#");
    snprintf(out, outlen, "%s %.*s%.*s", method, (int)(s ? s + 3 - url : 0), url, (int)(hl > 120 ? 120 : hl), host);
}

int irh_http_start(struct irh_http *h, const struct irh_http_request *r, void *tag,
                   char *err, size_t errlen)
{
    struct xfer *x = calloc(1, sizeof *x);
    struct body_ctx *bc = NULL;
    if (!x) { seterr(err, errlen, "out of memory"); return -1; }
    x->resp = calloc(1, sizeof *x->resp);
    x->easy = curl_easy_init();
    if (!x->resp || !x->easy) goto oom;
    x->tag = tag;
    where_of(r->method, r->url, x->where, sizeof x->where);
    if (r->body_len) {
        x->body = malloc(r->body_len);
        if (!x->body) goto oom;
        memcpy(x->body, r->body, r->body_len);
        x->body_len = r->body_len;
    }
    for (size_t i = 0; i < r->nheaders; i++)
        if (add_header(&x->hdrs, r->headers[i])) goto oom;
    /* curl's own defaults would add unsigned headers the caller did not ask for. */
    if (!has_header(r->headers, r->nheaders, "accept") && add_header(&x->hdrs, "Accept:")) goto oom;
    if (add_header(&x->hdrs, "Expect:")) goto oom;
    int is_head = strcmp(r->method, "HEAD") == 0;
    int send_body = !is_head && (r->body_len || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0
                                 || strcmp(r->method, "PATCH") == 0);
    if (send_body && !has_header(r->headers, r->nheaders, "content-type") && add_header(&x->hdrs, "Content-Type:"))
        goto oom;

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_bundle) curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
    x->read_timeout_ms = h->o.read_timeout_ms;
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    bc = malloc(sizeof *bc);
    if (!bc) goto oom;
    bc->x = x;
    bc->max = h->o.max_body;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body_capped);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, bc);
    curl_easy_setopt(e, CURLOPT_PRIVATE, bc);
    if (is_head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (send_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? (const char *)x->body : "");
        if (strcmp(r->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    clock_gettime(CLOCK_MONOTONIC, &x->start);
    x->last_activity = x->start;
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        free(bc);
        xfer_free(x);
        seterr(err, errlen, "curl_multi_add_handle failed");
        return -1;
    }
    x->next = h->active;
    h->active = x;
    h->pending++;
    return 0;
oom:
    free(bc);
    xfer_free(x);
    seterr(err, errlen, "out of memory");
    return -1;
}

static enum irh_http_failure classify(CURLcode rc, int too_large, int timed_out)
{
    if (too_large) return IRH_HTTP_TOO_LARGE;
    if (timed_out) return IRH_HTTP_TIMEOUT;
    switch (rc) {
    case CURLE_OK: return IRH_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
        return IRH_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return IRH_HTTP_TIMEOUT;
    case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: return IRH_HTTP_RESET;
    case CURLE_PARTIAL_FILE: return IRH_HTTP_TRUNCATED;
    case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CONNECT_ERROR: case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE:
        return IRH_HTTP_TLS;
    default: return IRH_HTTP_OTHER;
    }
}

static const char *hint(enum irh_http_failure f)
{
    switch (f) {
    case IRH_HTTP_CONNECT: return " (check the endpoint, --endpoint-url / AWS_ENDPOINT_URL, proxy variables and network)";
    case IRH_HTTP_TIMEOUT: return " (the endpoint did not answer in time: check the network or proxy; "
                                  "IRHOST_CONNECT_TIMEOUT / IRHOST_READ_TIMEOUT set the limits in seconds)";
    case IRH_HTTP_RESET: return " (the connection was closed before a full response)";
    case IRH_HTTP_TRUNCATED: return " (the response body was cut short)";
    case IRH_HTTP_TLS: return " (TLS verification failed: set AWS_CA_BUNDLE to the CA file that signs this endpoint)";
    case IRH_HTTP_TOO_LARGE: return " (response too large)";
    default: return "";
    }
}

static void finish(struct irh_http *h, CURL *easy, CURLcode rc)
{
    struct xfer **pp = &h->active, *x = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->easy == easy) { x = *pp; *pp = x->next; break; }
    if (!x) return;
    x->next = NULL;
    curl_multi_remove_handle(h->multi, easy);
    struct irh_http_response *r = x->resp;
    r->latency_ms = elapsed_ms(&x->start);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &r->new_connections);
    r->failure = classify(rc, x->too_large, x->timed_out);
    if (r->failure != IRH_HTTP_OK) {
        const char *why = x->too_large ? "response larger than the limit"
                        : x->timed_out ? "no data received within the read timeout"
                        : x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        size_t wl = strlen(why);
        while (wl && (why[wl - 1] == '\n' || why[wl - 1] == '\r')) wl--;
        seterr(r->error, sizeof r->error, "%s: %.*s%s", x->where, (int)(wl > 160 ? 160 : wl), why, hint(r->failure));
    }
    if (!r->body) {
        r->body = calloc(1, 1);
        x->body_cap = r->body ? 1 : 0;
    }
    if (h->done_tail) h->done_tail->next = x; else h->done_head = x;
    h->done_tail = x;
}

static void drain(struct irh_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)))
        if (m->msg == CURLMSG_DONE) finish(h, m->easy_handle, m->data.result);
}

int irh_http_poll(struct irh_http *h, int extra_fd, int timeout_ms, int *extra_ready,
                  char *err, size_t errlen)
{
    int running = 0;
    if (extra_ready) *extra_ready = 0;
    if (curl_multi_perform(h->multi, &running) != CURLM_OK) { seterr(err, errlen, "curl_multi_perform failed"); return -1; }
    drain(h);
    if (h->done_head) timeout_ms = 0;
    /* Wake at least every 200 ms while transfers run, so read timeouts are checked. */
    if (h->active && timeout_ms > 200) timeout_ms = 200;
    struct curl_waitfd wfd = { .fd = extra_fd, .events = CURL_WAIT_POLLIN, .revents = 0 };
    int nfds = 0;
    if (curl_multi_poll(h->multi, extra_fd >= 0 ? &wfd : NULL, extra_fd >= 0 ? 1 : 0,
                        timeout_ms < 0 ? 0 : timeout_ms, &nfds) != CURLM_OK) {
        seterr(err, errlen, "curl_multi_poll failed");
        return -1;
    }
    if (extra_fd >= 0 && wfd.revents && extra_ready) *extra_ready = 1;
    if (curl_multi_perform(h->multi, &running) != CURLM_OK) { seterr(err, errlen, "curl_multi_perform failed"); return -1; }
    drain(h);
    return 0;
}

struct irh_http_response *irh_http_take(struct irh_http *h, void **tag)
{
    struct xfer *x = h->done_head;
    if (!x) return NULL;
    h->done_head = x->next;
    if (!h->done_head) h->done_tail = NULL;
    h->pending--;
    struct irh_http_response *r = x->resp;
    x->resp = NULL;
    if (tag) *tag = x->tag;
    void *bc = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_PRIVATE, (char **)&bc);
    free(bc);
    /* The body buffer may be larger than body_len: keep the wipe exact for the caller. */
    if (r->body && x->body_cap > r->body_len + 1) {
        char *exact = malloc(r->body_len + 1);
        if (exact) {
            memcpy(exact, r->body, r->body_len + 1);
            explicit_bzero(r->body, x->body_cap);
            free(r->body);
            r->body = exact;
        }
    }
    xfer_free(x);
    return r;
}

size_t irh_http_pending(const struct irh_http *h) { return h ? h->pending : 0; }

void irh_http_free(struct irh_http *h)
{
    if (!h) return;
    struct xfer *lists[2] = { h->active, h->done_head };
    for (int i = 0; i < 2; i++) {
        for (struct xfer *x = lists[i], *n; x; x = n) {
            n = x->next;
            void *bc = NULL;
            curl_easy_getinfo(x->easy, CURLINFO_PRIVATE, (char **)&bc);
            free(bc);
            if (i == 0) curl_multi_remove_handle(h->multi, x->easy);
            xfer_free(x);
        }
    }
    curl_multi_cleanup(h->multi);
    free(h->ca_bundle);
    free(h);
}
