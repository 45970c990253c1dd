/* The metadata services credentials come from on AWS compute: EC2 instance metadata
 * (IMDSv2: a session token PUT, then GETs carrying it) and the ECS/EKS container credential
 * endpoint. Behaviour and variables as botocore/utils.py (IMDSFetcher,
 * ContainerMetadataFetcher): AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, AWS_METADATA_SERVICE_TIMEOUT (s, default 1),
 * AWS_METADATA_SERVICE_NUM_ATTEMPTS (default 2: one retry),
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN /
 * _TOKEN_FILE. */
#ifndef IRH_IMDS_H
#define IRH_IMDS_H
#include <stddef.h>
#include <time.h>
#include "creds.h"

/* Non-zero when AWS_EC2_METADATA_DISABLED is "true" (any case). */
int irh_imds_disabled(void);
/* GETs a metadata path ("latest/meta-data/placement/region") into a malloc'd, NUL-terminated
 * buffer (*out; wipe it if it can hold a secret). Returns 0, or -1 with err. */
int irh_imds_get(const char *path, char **out, size_t *outlen, char *err, size_t errlen);
/* The instance profile role's credentials. Returns 0, or -1 with err (disabled, unreachable,
 * no role attached, malformed answer). */
int irh_imds_credentials(struct irh_creds *out, char *err, size_t errlen);
/* The instance's region (placement/region). Returns 0, or -1 with err. */
int irh_imds_region(char *out, size_t outlen, char *err, size_t errlen);

/* Non-zero when AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is set. */
int irh_container_configured(void);
/* Credentials from the container endpoint. Returns 0, or -1 with err naming the variable at
 * fault (a FULL_URI host that is not allowed, a token with a line break, an unreachable
 * endpoint, a non-200 answer). */
int irh_container_credentials(struct irh_creds *out, char *err, size_t errlen);

/* Parses an ISO-8601 UTC timestamp as AWS writes them ("2026-12-03T17:00:00Z", fractional
 * seconds and "+hh:mm" offsets accepted). Returns 0, or -1 when s is not one. */
int irh_iso8601_parse(const char *s, time_t *out);

#endif
