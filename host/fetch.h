/* One blocking HTTP exchange with a libcurl easy handle, for the credential endpoints the
 * broker must reach before any AWS call can be signed: IMDS, the container credential
 * endpoint and STS. Bodies may carry secrets: the response buffer is wiped on free and
 * request headers are wiped before curl's copies are freed. TLS is always verified
 * (AWS_CA_BUNDLE honoured). */
#ifndef IRH_FETCH_H
#define IRH_FETCH_H
#include <stddef.h>

struct irh_fetch_req {
    const char *method;              /* "GET", "PUT", "POST" */
    const char *url;
    const char *const *headers;      /* "Name: value" strings, NULL-terminated, or NULL */
    const char *body;                /* may be NULL */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
    int direct;                      /* never use a proxy (link-local metadata services) */
};

struct irh_fetch_resp {
    long status;
    char *body;                      /* NUL-terminated; wiped by irh_fetch_free */
    size_t len;
};

/* Performs the exchange. Returns 0 with any HTTP status, or -1 with err (connection refused,
 * timeout, TLS failure, body over 1 MB). out is always safe to pass to irh_fetch_free. */
int irh_fetch(const struct irh_fetch_req *r, struct irh_fetch_resp *out, char *err, size_t errlen);
/* Wipes and frees the body. */
void irh_fetch_free(struct irh_fetch_resp *r);

#endif
