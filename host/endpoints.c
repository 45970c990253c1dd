/* Region resolution and endpoint URLs (see endpoints.h). The facts come from botocore's
 * data/endpoints.json: the partitions' region patterns and DNS suffixes, and the services
 * whose endpoint is one global host per partition (partitionEndpoint with isRegionalized
 * false). Only those exceptions are tabled here; every other service is
 * {prefix}.{region}.{dnsSuffix}. */
#include "endpoints.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awsconfig.h"
#include "imds.h"

struct partition {
    const char *id;
    const char *suffix;
};

static const struct partition partitions[] = {
    { "aws", "amazonaws.com" },
    { "aws-cn", "amazonaws.com.cn" },
    { "aws-us-gov", "amazonaws.com" },
    { "aws-iso", "c2s.ic.gov" },
    { "aws-iso-b", "sc2s.sgov.gov" },
};

/* Global endpoints: partition, endpoint prefix, host, credential scope region. */
static const struct { const char *partition, *prefix, *host, *region; } globals[] = {
    { "aws", "iam", "iam.amazonaws.com", "us-east-1" },
    { "aws", "organizations", "organizations.us-east-1.amazonaws.com", "us-east-1" },
    { "aws", "cloudfront", "cloudfront.amazonaws.com", "us-east-1" },
    { "aws", "route53", "route53.amazonaws.com", "us-east-1" },
    { "aws", "shield", "shield.us-east-1.amazonaws.com", "us-east-1" },
    { "aws", "waf", "waf.amazonaws.com", "us-east-1" },
    { "aws", "health", "global.health.amazonaws.com", "us-east-1" },
    { "aws", "budgets", "budgets.amazonaws.com", "us-east-1" },
    { "aws", "ce", "ce.us-east-1.amazonaws.com", "us-east-1" },
    { "aws", "account", "account.us-east-1.amazonaws.com", "us-east-1" },
    { "aws", "billingconductor", "billingconductor.us-east-1.amazonaws.com", "us-east-1" },
    { "aws", "savingsplans", "savingsplans.amazonaws.com", "us-east-1" },
    { "aws", "networkmanager", "networkmanager.us-west-2.amazonaws.com", "us-west-2" },
    { "aws", "chime", "chime.us-east-1.amazonaws.com", "us-east-1" },
    { "aws-cn", "iam", "iam.cn-north-1.amazonaws.com.cn", "cn-north-1" },
    { "aws-cn", "organizations", "organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "cloudfront", "cloudfront.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "route53", "route53.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "health", "global.health.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "budgets", "budgets.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "ce", "ce.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-cn", "account", "account.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1" },
    { "aws-us-gov", "iam", "iam.us-gov.amazonaws.com", "us-gov-west-1" },
    { "aws-us-gov", "organizations", "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
    { "aws-us-gov", "route53", "route53.us-gov.amazonaws.com", "us-gov-west-1" },
    { "aws-us-gov", "networkmanager", "networkmanager.us-gov-west-1.amazonaws.com", "us-gov-west-1" },
    { "aws-iso", "iam", "iam.us-iso-east-1.c2s.ic.gov", "us-iso-east-1" },
    { "aws-iso", "route53", "route53.c2s.ic.gov", "us-iso-east-1" },
    { "aws-iso-b", "iam", "iam.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1" },
    { "aws-iso-b", "route53", "route53.sc2s.sgov.gov", "us-isob-east-1" },
};

/* Regions botocore sends to sts.amazonaws.com when sts_regional_endpoints = legacy. */
static const char *const sts_legacy_regions[] = {
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
    "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
    "us-east-2", "us-west-1", "us-west-2",
};

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (errlen) snprintf(err, errlen, "%s", msg);
}

/* A region is one DNS label of letters, digits and dashes: it becomes part of a host name,
 * so nothing else may pass ("evil.example/x" must not redirect a signed request). */
static int valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)r[i]) && r[i] != '-') return 0;
    return 1;
}

static int valid_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 63) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '.') return 0;
    return p[0] != '.' && p[n - 1] != '.' && !strstr(p, "..");
}

/* "cn-north-1" -> 3 dash-separated words; the partition regexes of endpoints.json are
 * ^(us|eu|ap|sa|ca|me|af)-\w+-\d+$, ^cn-\w+-\d+$, ^us-gov-\w+-\d+$, ^us-iso-\w+-\d+$,
 * ^us-isob-\w+-\d+$. Anything else falls back to aws, as botocore does. */
static const struct partition *partition_of(const char *region)
{
    char words[6][32];
    size_t nw = 0;
    const char *p = region;
    while (*p && nw < 6) {
        size_t n = strcspn(p, "-");
        if (n == 0 || n >= sizeof words[0]) return &partitions[0];
        memcpy(words[nw], p, n);
        words[nw++][n] = '\0';
        p += n;
        if (*p == '-') p++;
    }
    if (nw < 3) return &partitions[0];
    const char *last = words[nw - 1];
    for (const char *q = last; *q; q++) if (!isdigit((unsigned char)*q)) return &partitions[0];
    if (nw == 3 && strcmp(words[0], "cn") == 0) return &partitions[1];
    if (nw == 4 && strcmp(words[0], "us") == 0) {
        if (strcmp(words[1], "gov") == 0) return &partitions[2];
        if (strcmp(words[1], "iso") == 0) return &partitions[3];
        if (strcmp(words[1], "isob") == 0) return &partitions[4];
    }
    if (strcmp(region, "aws-cn-global") == 0) return &partitions[1];
    if (strcmp(region, "aws-us-gov-global") == 0) return &partitions[2];
    return &partitions[0];
}

static int env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, value) == 0;
}

/* ---------------------------------------------------------------- overrides */

/* AWS_ENDPOINT_URL_<SERVICE>: the service id upper-cased, spaces and dashes to underscores. */
static void service_env_name(const char *service_id, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "AWS_ENDPOINT_URL_");
    for (const char *p = service_id; *p && n + 1 < outlen; p++)
        out[n++] = (*p == ' ' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static int use_override(const char *url, const char *what, struct irh_endpoint *out, char *err, size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        if (errlen) snprintf(err, errlen, "%s is not a URL: it must start with http:// or https://", what);
        return -1;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#') {
            if (errlen) snprintf(err, errlen, "%s must be scheme://host[:port][/path], without spaces, query or fragment", what);
            return -1;
        }
    size_t n = strlen(url);
    while (n > 8 && url[n - 1] == '/') n--;
    if (n >= sizeof out->url) {
        if (errlen) snprintf(err, errlen, "%s is longer than %zu characters", what, sizeof out->url - 1);
        return -1;
    }
    memcpy(out->url, url, n);
    out->url[n] = '\0';
    out->path_style = 1;
    return 0;
}

static int find_override(const char *service_id, const char *client_override, const char *cli_override,
                         struct irh_endpoint *out, int *found, char *err, size_t errlen)
{
    *found = 1;
    if (client_override && *client_override)
        return use_override(client_override, "the client's endpoint", out, err, errlen);
    if (cli_override && *cli_override) return use_override(cli_override, "--endpoint-url", out, err, errlen);
    if (!env_is("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")) {
        char name[96];
        service_env_name(service_id ? service_id : "", name, sizeof name);
        const char *v = getenv(name);
        if (v && *v) return use_override(v, name, out, err, errlen);
        v = getenv("AWS_ENDPOINT_URL");
        if (v && *v) return use_override(v, "AWS_ENDPOINT_URL", out, err, errlen);
    }
    *found = 0;
    return 0;
}

/* ---------------------------------------------------------------- S3 */

/* Virtual-hosted style needs a bucket that is one DNS label set without dots (a dotted
 * name breaks the *.s3 wildcard certificate under https), 3-63 characters, lowercase. */
static int bucket_virtual_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63) return 0;
    if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1])) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (!(islower(ch) || isdigit(ch) || ch == '-')) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- resolution */

int irh_endpoint_resolve(const char *service_id, const char *endpoint_prefix, const char *region,
                         int global, const char *client_override, const char *cli_override,
                         const char *bucket, struct irh_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (errlen) err[0] = '\0';
    if (!region) region = "";
    if (!endpoint_prefix || !valid_prefix(endpoint_prefix)) {
        set_err(err, errlen, "invalid endpoint prefix for the service");
        return -1;
    }
    if (*region && !valid_region(region)) {
        set_err(err, errlen, "invalid region name: a region is letters, digits and dashes (e.g. eu-west-1)");
        return -1;
    }
    int is_s3 = strcmp(endpoint_prefix, "s3") == 0;
    int is_sts = strcmp(endpoint_prefix, "sts") == 0;
    /* The s3 and sts models carry a globalEndpoint, but both are regional services: only the
     * rules below may send them to s3.amazonaws.com or sts.amazonaws.com. */
    if (is_s3 || is_sts) global = 0;
    const struct partition *part = partition_of(*region ? region : "us-east-1");

    /* The signing region of a global service holds even behind an override. */
    const char *gregion = NULL, *ghost = NULL;
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (strcmp(globals[i].partition, part->id) == 0 && strcmp(globals[i].prefix, endpoint_prefix) == 0) {
            ghost = globals[i].host;
            gregion = globals[i].region;
        }
    int sts_global = 0;
    if (is_sts) {
        if (!*region || strcmp(region, "aws-global") == 0) sts_global = 1;
        else if (env_is("AWS_STS_REGIONAL_ENDPOINTS", "legacy"))
            for (size_t i = 0; i < sizeof sts_legacy_regions / sizeof sts_legacy_regions[0]; i++)
                if (strcmp(region, sts_legacy_regions[i]) == 0) sts_global = 1;
    }
    int s3_global = is_s3 && (strcmp(region, "aws-global") == 0 ||
                              (strcmp(region, "us-east-1") == 0 &&
                               !env_is("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "regional")));

    const char *sign = region;
    if (gregion) sign = gregion;
    else if (sts_global || s3_global) sign = "us-east-1";
    else if (global && !*region) sign = "us-east-1";
    else if (global && part == &partitions[0]) sign = "us-east-1";
    if (!*sign) {
        set_err(err, errlen, "no region for this call: use --region, set AWS_REGION, or give the client a region");
        return -1;
    }
    snprintf(out->signing_region, sizeof out->signing_region, "%s", sign);

    int found = 0;
    if (find_override(service_id, client_override, cli_override, out, &found, err, errlen) < 0) return -1;
    if (found) return 0;

    int n;
    if (ghost) n = snprintf(out->url, sizeof out->url, "https://%s", ghost);
    else if (sts_global) n = snprintf(out->url, sizeof out->url, "https://sts.amazonaws.com");
    else if (is_s3) {
        char host[128];
        if (s3_global) snprintf(host, sizeof host, "s3.amazonaws.com");
        else snprintf(host, sizeof host, "s3.%s.%s", region, part->suffix);
        if (bucket && *bucket && bucket_virtual_ok(bucket)) n = snprintf(out->url, sizeof out->url, "https://%s.%s", bucket, host);
        else { n = snprintf(out->url, sizeof out->url, "https://%s", host); out->path_style = bucket && *bucket; }
    } else if (global && part == &partitions[0])
        n = snprintf(out->url, sizeof out->url, "https://%s.%s", endpoint_prefix, part->suffix);
    else n = snprintf(out->url, sizeof out->url, "https://%s.%s.%s", endpoint_prefix, region, part->suffix);
    if (n < 0 || (size_t)n >= sizeof out->url) {
        set_err(err, errlen, "endpoint URL too long");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- region */

static int take_region(const char *v, const char *from, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!valid_region(v)) {
        if (errlen) snprintf(err, errlen, "%s is not a region name: a region is letters, digits and dashes (e.g. eu-west-1)", from);
        return -1;
    }
    if (strlen(v) >= outlen) {
        if (errlen) snprintf(err, errlen, "%s is too long for a region name", from);
        return -1;
    }
    snprintf(out, outlen, "%s", v);
    return 0;
}

/* The offline part of the chain; *cfgpath gets the config file's path when no source
 * sets a region (return 1), for the message. */
static int region_local(const char *cli_region, const char *profile, char *out, size_t outlen,
                        char *cfgpath, size_t cfglen, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    if (cli_region && *cli_region) return take_region(cli_region, "--region", out, outlen, err, errlen);
    static const char *const vars[] = { "AWS_REGION", "AWS_DEFAULT_REGION" };
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return take_region(v, vars[i], out, outlen, err, errlen);
    }
    struct irh_awsconfig *c = irh_awsconfig_load(err, errlen);
    if (!c) return -1;
    const char *v = irh_awsconfig_get(c, profile, "region");
    char where[600];
    int rc;
    if (v && *v) {
        irh_awsconfig_where(c, profile, "region", where, sizeof where);
        char from[700];
        snprintf(from, sizeof from, "the region of profile '%s' (%s)", profile, where);
        rc = take_region(v, from, out, outlen, err, errlen);
        irh_awsconfig_free(c);
        return rc;
    }
    snprintf(cfgpath, cfglen, "%s", irh_awsconfig_path(c, IRH_CFG_CONFIG));
    irh_awsconfig_free(c);
    return 1;
}

static const char *profile_name(const char *profile)
{
    if (!profile || !*profile) profile = getenv("AWS_PROFILE");
    return profile && *profile ? profile : "default";
}

int irh_region_resolve_local(const char *cli_region, const char *profile, char *out, size_t outlen,
                             char *err, size_t errlen)
{
    char cfgpath[512];
    profile = profile_name(profile);
    int rc = region_local(cli_region, profile, out, outlen, cfgpath, sizeof cfgpath, err, errlen);
    if (rc == 1 && errlen)
        snprintf(err, errlen, "no AWS region set: use --region, set AWS_REGION or AWS_DEFAULT_REGION, or add "
                 "'region = ...' to profile '%s' in %s", profile, cfgpath);
    return rc;
}

int irh_region_resolve(const char *cli_region, const char *profile, char *out, size_t outlen,
                       char *err, size_t errlen)
{
    char cfgpath[512];
    profile = profile_name(profile);
    int rc = region_local(cli_region, profile, out, outlen, cfgpath, sizeof cfgpath, err, errlen);
    if (rc <= 0) return rc;
    char ierr[300] = "disabled by AWS_EC2_METADATA_DISABLED";
    if (!irh_imds_disabled() && irh_imds_region(out, outlen, ierr, sizeof ierr) == 0) return 0;
    if (errlen)
        snprintf(err, errlen, "no AWS region set: use --region, set AWS_REGION or AWS_DEFAULT_REGION, or add "
                 "'region = ...' to profile '%s' in %s (EC2 instance metadata: %s)", profile, cfgpath, ierr);
    return -1;
}
