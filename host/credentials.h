/* The credential provider chain, in botocore's order, with caching and refresh:
 * environment (unless --profile) -> profile role_arn (source_profile / credential_source)
 * -> web identity -> credentials-file keys -> credential_process -> config-file keys ->
 * container endpoint -> IMDSv2. */
#ifndef IRH_CREDENTIALS_H
#define IRH_CREDENTIALS_H
#include <stddef.h>
#include "creds.h"

struct irh_cred_provider;

struct irh_cred_options {
    const char *profile;         /* --profile, else AWS_PROFILE, else "default" */
    const char *region;          /* for STS calls: the run's region */
    const char *sts_endpoint;    /* override (tests, --endpoint-url), or NULL */
    int interactive;             /* a TTY is available for an MFA code prompt */
};

/* Builds the chain from the environment and config files. NULL with err on bad config
 * (err names the file:line or the variable). */
struct irh_cred_provider *irh_cred_provider_new(const struct irh_cred_options *o, char *err, size_t errlen);
/* Current credentials, resolved on first use and refreshed 5 minutes before expiry.
 * The pointer stays valid until the next call or free. Returns 0, or -1 with err. */
int irh_cred_get(struct irh_cred_provider *p, const struct irh_creds **out, char *err, size_t errlen);
/* A provider for a role assumed with p's credentials (STS AssumeRole), cached and refreshed
 * like any other. NULL with err on failure. */
struct irh_cred_provider *irh_cred_assume_role(struct irh_cred_provider *p, const char *role_arn,
                                               const char *session_name, const char *external_id,
                                               long duration_s, char *err, size_t errlen);
/* The assumed role user's ARN for a provider from irh_cred_assume_role (or a profile that
 * assumes a role), "" otherwise; for the ASSUME_ROLE reply and the audit log. */
const char *irh_cred_arn(const struct irh_cred_provider *p);
/* Wipes and frees. NULL is fine. A provider from irh_cred_assume_role borrows its source:
 * free it before the source. */
void irh_cred_provider_free(struct irh_cred_provider *p);

#endif
