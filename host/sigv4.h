/* AWS Signature Version 4: header signing and query-string presigning (OpenSSL).
 * Implements the rules pinned down by ../shared/sigv4-testsuite and botocore's signers. */
#ifndef IRH_SIGV4_H
#define IRH_SIGV4_H
#include <stddef.h>
#include <time.h>
#include "creds.h"

struct irh_header { const char *name; const char *value; };

struct irh_sigv4_request {
    const char *method;
    const char *path;                /* as it goes on the wire (may be raw; encoded per mode) */
    const char *query;               /* raw or encoded query string without '?', or NULL */
    const struct irh_header *headers;/* must include host */
    size_t nheaders;
    const void *body;
    size_t body_len;
};

struct irh_sigv4_params {
    const char *region;
    const char *service;            /* signing name */
    time_t now;                     /* signing time (UTC) */
    int s3;                         /* S3 rules: no path normalization, no double encoding */
    int sign_body_header;           /* add and sign x-amz-content-sha256 (S3 always) */
    int unsigned_payload;           /* payload hash UNSIGNED-PAYLOAD (presigned S3 URLs) */
    int omit_session_token;         /* add the token after signing (not signed) */
    long expires;                   /* presign only: X-Amz-Expires, 1..604800 */
};

/* Headers to add to the request, in this order, owned by the result. */
struct irh_sigv4_result {
    struct { char *name; char *value; } add[4];
    size_t nadd;
    char *query;                    /* presign: the full query string, X-Amz-Signature last */
    char *canonical_request;        /* for tests and --verbose debugging (no secrets in it) */
    char *string_to_sign;
    char signature[65];
};

/* Signs req with an Authorization header. Returns 0, or -1 with err filled. */
int irh_sigv4_sign(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                   const struct irh_creds *creds, struct irh_sigv4_result *out,
                   char *err, size_t errlen);
/* Presigns req: out->query is the signed query string. Returns 0, or -1 with err filled. */
int irh_sigv4_presign(const struct irh_sigv4_request *req, const struct irh_sigv4_params *p,
                      const struct irh_creds *creds, struct irh_sigv4_result *out,
                      char *err, size_t errlen);
/* Frees what a sign or presign call put in out. */
void irh_sigv4_result_free(struct irh_sigv4_result *out);
/* RFC 3986 percent-encoding (unreserved kept, uppercase hex); encode_slash=0 keeps '/'.
 * Returns a malloc'd string or NULL. */
char *irh_uri_encode(const char *s, size_t len, int encode_slash);

#endif
