/* Blocking libcurl exchange for credential endpoints (see fetch.h). */
#include "fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_MAX_BODY (1024u * 1024u)

struct sink {
    char *buf;
    size_t len, cap;
    int too_big;
};

/* Grows by copying so that a secret never stays behind in a block realloc released. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (s->len + n + 1 > FETCH_MAX_BODY) { s->too_big = 1; return 0; }
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 1024;
        while (nc < s->len + n + 1) nc *= 2;
        char *nb = malloc(nc);
        if (!nb) return 0;
        if (s->buf) { memcpy(nb, s->buf, s->len); explicit_bzero(s->buf, s->cap); free(s->buf); }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        if (p->data) explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

int irh_fetch(const struct irh_fetch_req *r, struct irh_fetch_resp *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (errlen) err[0] = '\0';
    struct sink s = { 0 };
    struct curl_slist *hdrs = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    int rc = -1;
    CURL *h = curl_easy_init();
    if (!h) { if (errlen) snprintf(err, errlen, "cannot create an HTTP handle"); return -1; }
    /* An empty Expect keeps curl from waiting a second for "100 continue" on POST. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (const char *const *p = r->headers; p && *p; p++) {
        struct curl_slist *n = curl_slist_append(hdrs, *p);
        if (!n) { if (errlen) snprintf(err, errlen, "out of memory"); goto out; }
        hdrs = n;
    }
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms > 0 ? r->connect_timeout_ms : 1000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "irhost");
    const char *ca = getenv("AWS_CA_BUNDLE");
    if (ca && *ca) curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    if (r->direct) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (errlen) {
            if (s.too_big) snprintf(err, errlen, "response from the endpoint is larger than 1 MB");
            else snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
        }
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (!s.buf) {
        s.buf = calloc(1, 1);
        if (!s.buf) { if (errlen) snprintf(err, errlen, "out of memory"); goto out; }
    }
    out->body = s.buf;
    out->len = s.len;
    s.buf = NULL;
    rc = 0;
out:
    if (s.buf) { explicit_bzero(s.buf, s.cap); free(s.buf); }
    free_headers(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

void irh_fetch_free(struct irh_fetch_resp *r)
{
    if (!r) return;
    if (r->body) { explicit_bzero(r->body, r->len); free(r->body); }
    r->body = NULL;
    r->len = 0;
}
