/* Region resolution and endpoint URLs, as the AWS CLI/SDKs resolve them. */
#ifndef IRH_ENDPOINTS_H
#define IRH_ENDPOINTS_H
#include <stddef.h>

/* The run's region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, IMDS.
 * Writes it to out; returns 0, or -1 with err naming where a region can be set. */
int irh_region_resolve(const char *cli_region, const char *profile, char *out, size_t outlen,
                       char *err, size_t errlen);
/* The same chain without IMDS (never the network): 0 with the region in out; 1 when no
 * source sets one (err says where one can be set); -1 with err on a bad value. */
int irh_region_resolve_local(const char *cli_region, const char *profile, char *out, size_t outlen,
                             char *err, size_t errlen);

struct irh_endpoint {
    char url[512];               /* scheme://host[:port][/base path], no trailing slash */
    char signing_region[32];     /* us-east-1 for IAM and other global services */
    int path_style;              /* S3: bucket stays in the path */
};

/* Endpoint for a call: override (client endpoint, else --endpoint-url, else
 * AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL), else {prefix}.{region}.{dnsSuffix}
 * with global-service and partition rules (aws, aws-cn, aws-us-gov). service_id is the
 * model's service id ("ec2", "s3"...), used for the AWS_ENDPOINT_URL_<SERVICE> name.
 * bucket, when not NULL, is the S3 bucket (virtual-hosted style when DNS-compatible and
 * no override is set). Returns 0, or -1 with err. */
int irh_endpoint_resolve(const char *service_id, const char *endpoint_prefix, const char *region,
                         int global, const char *client_override, const char *cli_override,
                         const char *bucket, struct irh_endpoint *out, char *err, size_t errlen);

#endif
