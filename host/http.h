/* The broker's HTTP transport: libcurl's multi interface, so several AWS calls are in
 * flight while the broker loop keeps serving the runner. One multi handle keeps the
 * connection pool (keep-alive per host); TLS is always verified (AWS_CA_BUNDLE as the CA
 * file); curl's proxy variables (https_proxy, no_proxy...) apply. Request bodies and
 * response bodies may hold secrets and are wiped on free. */
#ifndef IRH_HTTP_H
#define IRH_HTTP_H
#include <stddef.h>

struct irh_http;

struct irh_http_options {
    const char *ca_bundle;       /* CA file (AWS_CA_BUNDLE), or NULL for the system store */
    long connect_timeout_ms;     /* 0: 10 s */
    long read_timeout_ms;        /* no byte for this long fails the transfer; 0: 60 s */
    size_t max_body;             /* larger responses fail; 0: 48 MB */
};

struct irh_http_request {
    const char *method;          /* GET, PUT, POST, DELETE, HEAD, PATCH */
    const char *url;             /* absolute http(s) URL, already encoded */
    const char *const *headers;  /* "Name: value" lines, sent as given (incl. Host) */
    size_t nheaders;
    const void *body;            /* copied; may be NULL when body_len is 0 */
    size_t body_len;
};

enum irh_http_failure {
    IRH_HTTP_OK = 0,             /* a response arrived (any status) */
    IRH_HTTP_CONNECT,            /* could not resolve or connect (retryable) */
    IRH_HTTP_TIMEOUT,            /* connect or read timeout (retryable) */
    IRH_HTTP_RESET,              /* connection reset or closed without a response (retryable) */
    IRH_HTTP_TRUNCATED,          /* body shorter than Content-Length (retryable) */
    IRH_HTTP_TLS,                /* certificate or handshake failure (not retryable) */
    IRH_HTTP_TOO_LARGE,          /* response over max_body (not retryable) */
    IRH_HTTP_OTHER               /* anything else (not retryable) */
};

struct irh_http_header { char *name; char *value; };   /* name lowercased */

struct irh_http_response {
    enum irh_http_failure failure;
    char error[320];             /* one line: what failed, when failure != IRH_HTTP_OK */
    long status;
    struct irh_http_header *headers;
    size_t nheaders;
    char *body;                  /* NUL-terminated (body_len excludes it) */
    size_t body_len;
    long latency_ms;
    long new_connections;        /* connections this transfer had to open (0: reused) */
};

/* Returns a transport, or NULL with err. */
struct irh_http *irh_http_new(const struct irh_http_options *o, char *err, size_t errlen);
/* Starts a transfer; tag comes back with its response. Returns 0, or -1 with err. */
int irh_http_start(struct irh_http *h, const struct irh_http_request *r, void *tag,
                   char *err, size_t errlen);
/* Drives transfers, waiting up to timeout_ms for network activity or extra_fd (>= 0) to be
 * readable (then *extra_ready = 1). Returns 0, or -1 with err. */
int irh_http_poll(struct irh_http *h, int extra_fd, int timeout_ms, int *extra_ready,
                  char *err, size_t errlen);
/* A finished transfer's response (caller frees with irh_http_response_free), or NULL. */
struct irh_http_response *irh_http_take(struct irh_http *h, void **tag);
/* Transfers started and not yet taken. */
size_t irh_http_pending(const struct irh_http *h);
/* First value of a response header (name lowercase), or NULL. */
const char *irh_http_header(const struct irh_http_response *r, const char *name);
/* Wipes and frees a response. NULL is fine. */
void irh_http_response_free(struct irh_http_response *r);
/* Aborts transfers in flight and frees everything. NULL is fine. */
void irh_http_free(struct irh_http *h);

#endif
