/* Blocking STS calls the credential chain needs before anything else can be signed:
 * AssumeRole, AssumeRoleWithWebIdentity (unsigned) and GetCallerIdentity. Query protocol
 * over a libcurl easy handle (host/fetch.h), signed with host/sigv4.h, answers read with
 * expat in wiped memory. Error messages carry STS's error code and message, never a
 * credential. */
#ifndef IRH_STS_H
#define IRH_STS_H
#include <stddef.h>
#include "creds.h"
#include "endpoints.h"

struct irh_sts_assume {
    const char *role_arn;
    const char *session_name;
    const char *external_id;         /* or NULL */
    const char *serial_number;       /* MFA device (mfa_serial), or NULL */
    const char *token_code;          /* MFA code, with serial_number */
    long duration_s;                 /* 0: STS's default (1 hour) */
    const char *web_identity_token;  /* set: AssumeRoleWithWebIdentity, unsigned */
};

/* The STS endpoint: override (--endpoint-url, tests) else AWS_ENDPOINT_URL_STS /
 * AWS_ENDPOINT_URL, else sts.{region}.amazonaws.com (sts.amazonaws.com without a region or
 * with AWS_STS_REGIONAL_ENDPOINTS=legacy). Returns 0, or -1 with err. */
int irh_sts_endpoint(const char *region, const char *override, struct irh_endpoint *out,
                     char *err, size_t errlen);
/* AssumeRole (signed with src) or, when a->web_identity_token is set,
 * AssumeRoleWithWebIdentity (src unused, may be NULL). Fills out (cleared first) and, when
 * arn is not NULL, the assumed role user's ARN. Returns 0, or -1 with err. */
int irh_sts_assume_role(const struct irh_endpoint *ep, const struct irh_creds *src,
                        const struct irh_sts_assume *a, struct irh_creds *out,
                        char *arn, size_t arnlen, char *err, size_t errlen);
/* GetCallerIdentity: the caller's ARN and account. Returns 0, or -1 with err. */
int irh_sts_get_caller_identity(const struct irh_endpoint *ep, const struct irh_creds *creds,
                                char *arn, size_t arnlen, char *account, size_t acclen,
                                char *err, size_t errlen);

#endif
