/* host/endpoints.c: region resolution and endpoint URLs, as tables of cases. The expected
 * URLs are botocore's (data/endpoints.json) with sts_regional_endpoints = regional. */
#include "unit.h"
#include "endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ecase {
    const char *name;
    const char *service_id, *prefix, *region;
    int global;
    const char *client, *cli, *bucket;
    const char *env_name, *env_value;       /* one variable set for the case */
    const char *url, *signing_region;       /* url NULL: an error containing signing_region */
    int path_style;
};

static const struct ecase cases[] = {
    { "regional service", "ec2", "ec2", "eu-west-1", 0, 0, 0, 0, 0, 0, "https://ec2.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "aws-cn dns suffix", "ec2", "ec2", "cn-north-1", 0, 0, 0, 0, 0, 0, "https://ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", 0 },
    { "aws-us-gov", "ec2", "ec2", "us-gov-west-1", 0, 0, 0, 0, 0, 0, "https://ec2.us-gov-west-1.amazonaws.com", "us-gov-west-1", 0 },
    { "aws-iso", "ec2", "ec2", "us-iso-east-1", 0, 0, 0, 0, 0, 0, "https://ec2.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", 0 },
    { "unknown region pattern falls back to aws", "ec2", "ec2", "il-central-1", 0, 0, 0, 0, 0, 0, "https://ec2.il-central-1.amazonaws.com", "il-central-1", 0 },
    { "iam is global, signed us-east-1", "iam", "iam", "eu-central-1", 1, 0, 0, 0, 0, 0, "https://iam.amazonaws.com", "us-east-1", 0 },
    { "iam without a region", "iam", "iam", "", 1, 0, 0, 0, 0, 0, "https://iam.amazonaws.com", "us-east-1", 0 },
    { "iam in aws-cn", "iam", "iam", "cn-northwest-1", 1, 0, 0, 0, 0, 0, "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", 0 },
    { "iam in aws-us-gov", "iam", "iam", "us-gov-east-1", 1, 0, 0, 0, 0, 0, "https://iam.us-gov.amazonaws.com", "us-gov-west-1", 0 },
    { "organizations", "organizations", "organizations", "ap-southeast-2", 0, 0, 0, 0, 0, 0, "https://organizations.us-east-1.amazonaws.com", "us-east-1", 0 },
    { "organizations in aws-cn", "organizations", "organizations", "cn-north-1", 0, 0, 0, 0, 0, 0, "https://organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", 0 },
    { "route53", "route53", "route53", "eu-west-2", 0, 0, 0, 0, 0, 0, "https://route53.amazonaws.com", "us-east-1", 0 },
    { "networkmanager signs us-west-2", "networkmanager", "networkmanager", "eu-west-2", 0, 0, 0, 0, 0, 0, "https://networkmanager.us-west-2.amazonaws.com", "us-west-2", 0 },
    { "sts regional by default", "sts", "sts", "eu-west-1", 0, 0, 0, 0, 0, 0, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "sts stays regional though its model has a globalEndpoint", "sts", "sts", "eu-west-1", 1, 0, 0, 0, 0, 0, "https://sts.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "s3 stays regional though its model has a globalEndpoint", "s3", "s3", "eu-west-1", 1, 0, 0, "b-1", 0, 0, "https://b-1.s3.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "sts us-east-1 regional", "sts", "sts", "us-east-1", 0, 0, 0, 0, 0, 0, "https://sts.us-east-1.amazonaws.com", "us-east-1", 0 },
    { "sts legacy global when configured", "sts", "sts", "eu-west-1", 0, 0, 0, 0, "AWS_STS_REGIONAL_ENDPOINTS", "legacy", "https://sts.amazonaws.com", "us-east-1", 0 },
    { "sts legacy keeps newer regions regional", "sts", "sts", "ap-east-1", 0, 0, 0, 0, "AWS_STS_REGIONAL_ENDPOINTS", "legacy", "https://sts.ap-east-1.amazonaws.com", "ap-east-1", 0 },
    { "sts without a region is global", "sts", "sts", "", 0, 0, 0, 0, 0, 0, "https://sts.amazonaws.com", "us-east-1", 0 },
    { "sts in aws-cn", "sts", "sts", "cn-north-1", 0, 0, 0, 0, 0, 0, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1", 0 },
    { "s3 us-east-1 is s3.amazonaws.com", "s3", "s3", "us-east-1", 0, 0, 0, 0, 0, 0, "https://s3.amazonaws.com", "us-east-1", 0 },
    { "s3 us-east-1 regional when asked", "s3", "s3", "us-east-1", 0, 0, 0, 0, "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "regional", "https://s3.us-east-1.amazonaws.com", "us-east-1", 0 },
    { "s3 virtual-hosted bucket", "s3", "s3", "eu-west-1", 0, 0, 0, "evidence-bucket-1", 0, 0, "https://evidence-bucket-1.s3.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "s3 virtual-hosted in us-east-1", "s3", "s3", "us-east-1", 0, 0, 0, "evidence", 0, 0, "https://evidence.s3.amazonaws.com", "us-east-1", 0 },
    { "s3 bucket with dots is path style under https", "s3", "s3", "eu-west-1", 0, 0, 0, "my.bucket.example", 0, 0, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", 1 },
    { "s3 upper-case bucket is path style", "s3", "s3", "eu-west-1", 0, 0, 0, "MyBucket", 0, 0, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", 1 },
    { "s3 underscore bucket is path style", "s3", "s3", "eu-west-1", 0, 0, 0, "my_bucket", 0, 0, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", 1 },
    { "s3 two-letter bucket is path style", "s3", "s3", "eu-west-1", 0, 0, 0, "ab", 0, 0, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", 1 },
    { "s3 in aws-cn", "s3", "s3", "cn-north-1", 0, 0, 0, "logs", 0, 0, "https://logs.s3.cn-north-1.amazonaws.com.cn", "cn-north-1", 0 },
    { "s3control is regional (host prefix added by the client)", "s3control", "s3-control", "eu-west-1", 0, 0, 0, 0, 0, 0, "https://s3-control.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "client override wins", "ec2", "ec2", "eu-west-1", 0, "http://127.0.0.1:9000/", "http://127.0.0.1:1", 0, "AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:2", "http://127.0.0.1:9000", "eu-west-1", 1 },
    { "--endpoint-url before variables", "ec2", "ec2", "eu-west-1", 0, 0, "http://127.0.0.1:1", 0, "AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:2", "http://127.0.0.1:1", "eu-west-1", 1 },
    { "AWS_ENDPOINT_URL_<SERVICE>", "ec2", "ec2", "eu-west-1", 0, 0, 0, 0, "AWS_ENDPOINT_URL_EC2", "http://localhost:4566", "http://localhost:4566", "eu-west-1", 1 },
    { "service id with a dash and a space", "Resource Groups-Tagging", "tagging", "eu-west-1", 0, 0, 0, 0, "AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING", "http://127.0.0.1:7", "http://127.0.0.1:7", "eu-west-1", 1 },
    { "AWS_ENDPOINT_URL for every service", "kms", "kms", "eu-west-1", 0, 0, 0, 0, "AWS_ENDPOINT_URL", "https://proxy.example/aws/", "https://proxy.example/aws", "eu-west-1", 1 },
    { "override forces path style for s3", "s3", "s3", "eu-west-1", 0, 0, 0, "evidence", "AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9", "http://127.0.0.1:9", "eu-west-1", 1 },
    { "override keeps a global service's signing region", "iam", "iam", "eu-west-1", 1, 0, "http://127.0.0.1:5", 0, 0, 0, "http://127.0.0.1:5", "us-east-1", 1 },
    { "ignored configured endpoints", "ec2", "ec2", "eu-west-1", 0, 0, 0, 0, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", "https://ec2.eu-west-1.amazonaws.com", "eu-west-1", 0 },
    { "override without a scheme", "ec2", "ec2", "eu-west-1", 0, 0, 0, 0, "AWS_ENDPOINT_URL_EC2", "localhost:4566", NULL, "AWS_ENDPOINT_URL_EC2 is not a URL", 0 },
    { "override with a query", "ec2", "ec2", "eu-west-1", 0, 0, "http://h/?x=1", 0, 0, 0, NULL, "--endpoint-url must be", 0 },
    { "region that would change the host", "ec2", "ec2", "evil.example/x", 0, 0, 0, 0, 0, 0, NULL, "invalid region name", 0 },
    { "regional service without a region", "ec2", "ec2", "", 0, 0, 0, 0, 0, 0, NULL, "no region", 0 },
};

static void run_case(const struct ecase *c)
{
    if (c->env_name) setenv(c->env_name, c->env_value, 1);
    struct irh_endpoint ep;
    char err[256] = "";
    int rc = irh_endpoint_resolve(c->service_id, c->prefix, c->region, c->global, c->client, c->cli, c->bucket,
                                  &ep, err, sizeof err);
    if (c->env_name) unsetenv(c->env_name);
    if (c->url)
        CHECK(rc == 0 && strcmp(ep.url, c->url) == 0 && strcmp(ep.signing_region, c->signing_region) == 0 &&
                  ep.path_style == c->path_style,
              "endpoint: %s -> %s signed %s%s", c->name, rc == 0 ? ep.url : err, rc == 0 ? ep.signing_region : "",
              rc == 0 && ep.path_style ? " path-style" : "");
    else
        CHECK(rc < 0 && strstr(err, c->signing_region), "endpoint error: %s -> %s", c->name, err);
}

static char dir[] = "/tmp/irhost-endpoints.XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void region_cases(void)
{
    char cfg[300], cred[300], out[64], err[600];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    snprintf(cred, sizeof cred, "%s/credentials", dir);
    write_file(cfg, "[default]\nregion = eu-north-1\n[profile west]\nregion = us-west-2\n[profile bad]\nregion = a b\n"
                    "[profile none]\noutput = json\n");
    write_file(cred, "[credsregion]\nregion = ap-south-1\n");
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_PROFILE");

    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
    CHECK(irh_region_resolve("ca-central-1", "west", out, sizeof out, err, sizeof err) == 0 &&
              strcmp(out, "ca-central-1") == 0, "region: --region wins over everything (%s)", out);
    CHECK(irh_region_resolve(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "eu-west-3") == 0,
          "region: AWS_REGION before AWS_DEFAULT_REGION and the profile (%s)", out);
    unsetenv("AWS_REGION");
    CHECK(irh_region_resolve(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "eu-west-2") == 0,
          "region: AWS_DEFAULT_REGION before the profile (%s)", out);
    unsetenv("AWS_DEFAULT_REGION");
    CHECK(irh_region_resolve(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "us-west-2") == 0,
          "region: the named profile's region (%s)", out);
    CHECK(irh_region_resolve(NULL, NULL, out, sizeof out, err, sizeof err) == 0 && strcmp(out, "eu-north-1") == 0,
          "region: profile default without a name (%s)", out);
    setenv("AWS_PROFILE", "west", 1);
    CHECK(irh_region_resolve(NULL, NULL, out, sizeof out, err, sizeof err) == 0 && strcmp(out, "us-west-2") == 0,
          "region: AWS_PROFILE names the profile (%s)", out);
    unsetenv("AWS_PROFILE");
    CHECK(irh_region_resolve(NULL, "credsregion", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "ap-south-1") == 0,
          "region: a region in the credentials file counts, as botocore merges the files (%s)", out);
    CHECK(irh_region_resolve(NULL, "bad", out, sizeof out, err, sizeof err) < 0 && strstr(err, ":6)") &&
              strstr(err, "profile 'bad'"),
          "region: an invalid profile region names file:line: %s", err);
    CHECK(irh_region_resolve("us east", NULL, out, sizeof out, err, sizeof err) < 0 && strstr(err, "--region"),
          "region: an invalid --region is refused: %s", err);
    int rc = irh_region_resolve(NULL, "none", out, sizeof out, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "--region") && strstr(err, "AWS_REGION") && strstr(err, "AWS_DEFAULT_REGION") &&
              strstr(err, "profile 'none'") && strstr(err, cfg) && strstr(err, "AWS_EC2_METADATA_DISABLED"),
          "region: none set names every place a region can be set: %s", err);
    write_file(cfg, "[default\nregion = x\n");
    rc = irh_region_resolve(NULL, NULL, out, sizeof out, err, sizeof err);
    CHECK(rc < 0 && strstr(err, cfg) && strstr(err, ":1:"), "region: a malformed config file is reported: %s", err);
    unlink(cfg);
    unlink(cred);
    unsetenv("AWS_CONFIG_FILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

/* --resolve: reads "service_id<TAB>prefix<TAB>region<TAB>global" lines, prints "url signing_region"
 * per line (tests/credentials/test_endpoints_botocore.py compares them with botocore). */
static int resolve_lines(void)
{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *f[4] = { 0 };
        char *save = NULL, *p = line;
        for (int i = 0; i < 4; i++, p = NULL) f[i] = strtok_r(p, "\t", &save);
        if (!f[3]) { printf("error: malformed input line\n"); continue; }
        struct irh_endpoint ep;
        char err[256];
        if (irh_endpoint_resolve(f[0], f[1], f[2], atoi(f[3]), NULL, NULL, NULL, &ep, err, sizeof err) < 0)
            printf("error: %s\n", err);
        else printf("%s %s\n", ep.url, ep.signing_region);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--resolve") == 0) return resolve_lines();
    static const char *const clear[] = { "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_KMS", "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" };
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) unsetenv(clear[i]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    region_cases();
    rmdir(dir);
    return unit_done();
}
