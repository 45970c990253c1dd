/* host/credentials.c: the provider chain.
 *
 * Run alone (no IRH_CRED_SCENARIO), it tests the links that need no server, case by case,
 * with temporary config files: environment, static keys in both files, credential_process,
 * precedence, missing and malformed profiles, role_arn configuration errors, MFA without a
 * terminal, caching and refresh.
 *
 * Run by tests/credentials/test_chain.sh with IRH_CRED_SCENARIO=1, it is a driver: it builds
 * the chain from the environment it was given (IRH_T_PROFILE, IRH_T_REGION, IRH_T_STS,
 * IRH_T_INTERACTIVE), calls irh_cred_get IRH_T_GETS times, optionally assumes
 * IRH_T_ASSUME_ROLE (IRH_T_EXTERNAL_ID, IRH_T_DURATION) and calls GetCallerIdentity with the
 * result (IRH_T_IDENTITY), and prints one line per step. It never prints a secret. */
#include "unit.h"
#include "credentials.h"
#include "endpoints.h"
#include "sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------- driver mode */

static void print_creds(const char *what, const struct irh_creds *c)
{
    long left = c->expiration ? (long)(c->expiration - time(NULL)) : -1;
    char exp[32];
    if (left < 0) snprintf(exp, sizeof exp, "never");
    else snprintf(exp, sizeof exp, "%ld", left);
    printf("%s: source=%s akid=%s token=%s expires_in=%s\n", what, c->source, c->access_key_id,
           c->session_token ? "yes" : "no", exp);
}

static int driver(void)
{
    const char *gets = getenv("IRH_T_GETS");
    struct irh_cred_options o = { getenv("IRH_T_PROFILE"), getenv("IRH_T_REGION"), getenv("IRH_T_STS"),
                                  getenv("IRH_T_INTERACTIVE") != NULL };
    char err[1024];
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct irh_cred_provider *p = irh_cred_provider_new(&o, err, sizeof err);
    if (!p) { printf("error: %s\n", err); return 4; }
    if (getenv("IRH_T_RESOLVE_REGION")) {
        char region[64];
        if (irh_region_resolve(NULL, o.profile, region, sizeof region, err, sizeof err) < 0) printf("error: %s\n", err);
        else printf("region=%s\n", region);
    }
    int n = gets ? atoi(gets) : 1, rc = 0;
    const struct irh_creds *c = NULL;
    for (int i = 1; i <= n; i++) {
        if (irh_cred_get(p, &c, err, sizeof err) < 0) { printf("error: %s\n", err); rc = 4; goto out; }
        char what[32];
        snprintf(what, sizeof what, "get %d", i);
        print_creds(what, c);
    }
    if (*irh_cred_arn(p)) printf("arn=%s\n", irh_cred_arn(p));
    struct irh_cred_provider *role = NULL;
    const char *assume = getenv("IRH_T_ASSUME_ROLE");
    if (assume) {
        const char *d = getenv("IRH_T_DURATION");
        role = irh_cred_assume_role(p, assume, getenv("IRH_T_SESSION_NAME"), getenv("IRH_T_EXTERNAL_ID"),
                                    d ? atol(d) : 0, err, sizeof err);
        if (!role) { printf("error: %s\n", err); rc = 4; goto out; }
        printf("assumed arn=%s\n", irh_cred_arn(role));
        for (int i = 1; i <= n; i++) {
            if (irh_cred_get(role, &c, err, sizeof err) < 0) { printf("error: %s\n", err); rc = 4; break; }
            char what[32];
            snprintf(what, sizeof what, "role get %d", i);
            print_creds(what, c);
        }
    }
    if (rc == 0 && getenv("IRH_T_IDENTITY")) {
        struct irh_endpoint ep;
        char arn[256], account[32];
        if (irh_sts_endpoint(o.region, o.sts_endpoint, &ep, err, sizeof err) < 0 ||
            irh_sts_get_caller_identity(&ep, c, arn, sizeof arn, account, sizeof account, err, sizeof err) < 0) {
            printf("error: %s\n", err);
            rc = 4;
        } else printf("identity arn=%s account=%s\n", arn, account);
    }
    irh_cred_provider_free(role);
out:
    irh_cred_provider_free(p);
    return rc;
}

/* ---------------------------------------------------------------- self-contained cases */

static char dir[] = "/tmp/irhost-creds.XXXXXX";
static char cfg_path[300], cred_path[300], counter_path[300];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void clear_aws_env(void)
{
    for (;;) {
        char name[128] = "";
        for (char **e = environ; *e; e++)
            if (strncmp(*e, "AWS_", 4) == 0) {
                size_t n = strcspn(*e, "=");
                if (n < sizeof name) { memcpy(name, *e, n); name[n] = '\0'; }
                break;
            }
        if (!name[0]) break;
        unsetenv(name);
    }
    setenv("AWS_CONFIG_FILE", cfg_path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void files(const char *cfg, const char *cred)
{
    write_file(cfg_path, cfg ? cfg : "");
    write_file(cred_path, cred ? cred : "");
}

/* Resolves with the given --profile (NULL for none); returns the access key id or NULL, and
 * leaves the error in err and the source in src. */
static int resolve(const char *profile, int gets, char *akid, size_t akidlen, char *src, size_t srclen,
                   char *err, size_t errlen)
{
    struct irh_cred_options o = { profile, "us-east-1", "http://127.0.0.1:9", 0 };
    akid[0] = src[0] = err[0] = '\0';
    struct irh_cred_provider *p = irh_cred_provider_new(&o, err, errlen);
    if (!p) return -1;
    const struct irh_creds *c = NULL;
    int rc = 0;
    for (int i = 0; i < gets && rc == 0; i++) rc = irh_cred_get(p, &c, err, errlen);
    if (rc == 0) {
        snprintf(akid, akidlen, "%s", c->access_key_id);
        snprintf(src, srclen, "%s", c->source);
        if (strstr(err, "S3KR1T")) rc = -2;
    }
    irh_cred_provider_free(p);
    return rc;
}

static int no_secret(const char *s) { return !strstr(s, "S3KR1T") && !strstr(s, "T0K3N"); }

static int process_runs(void)
{
    FILE *f = fopen(counter_path, "r");
    if (!f) return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF) if (ch == 'x') n++;
    fclose(f);
    return n;
}

static void case_env(void)
{
    char akid[64], src[64], err[1024];
    clear_aws_env();
    files("[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = cfg-S3KR1T\n", NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-S3KR1T", 1);
    setenv("AWS_SESSION_TOKEN", "env-T0K3N", 1);
    int rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDENV") == 0 && strcmp(src, "environment") == 0,
          "environment variables come first (%s from %s)", akid, src);
    setenv("AWS_PROFILE", "default", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDENV") == 0, "AWS_PROFILE does not hide environment keys (botocore)");
    unsetenv("AWS_PROFILE");
    rc = resolve("default", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDCONFIG") == 0, "--profile hides environment keys (%s)", akid);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "AWS_SECRET_ACCESS_KEY") && no_secret(err),
          "partial environment credentials name the missing variable: %s", err);
    setenv("AWS_SECRET_ACCESS_KEY", "env-S3KR1T", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "expired at 2020-01-01T00:00:00Z") && strstr(err, "environment") && no_secret(err),
          "expired environment credentials: %s", err);
    setenv("AWS_CREDENTIAL_EXPIRATION", "yesterday", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "AWS_CREDENTIAL_EXPIRATION"), "bad AWS_CREDENTIAL_EXPIRATION: %s", err);
}

static void case_files(void)
{
    char akid[64], src[64], err[1024];
    clear_aws_env();
    files("[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = cfg-S3KR1T\n"
          "[profile cfgonly]\naws_access_key_id = AKIDCFGONLY\naws_secret_access_key = c-S3KR1T\n"
          "[profile half]\naws_access_key_id = AKIDHALF\n",
          "[default]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = creds-S3KR1T\n"
          "aws_session_token = creds-T0K3N\n");
    int rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDCREDS") == 0 && strcmp(src, "profile default") == 0,
          "the credentials file comes before the config file (%s from %s)", akid, src);
    rc = resolve("cfgonly", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDCFGONLY") == 0, "static keys in a [profile x] section of config (%s)", akid);
    rc = resolve("half", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "profile 'half'") && strstr(err, "aws_secret_access_key") && strstr(err, ":8)") &&
              no_secret(err),
          "an access key without its secret names the profile and file:line: %s", err);
    rc = resolve("nosuch", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "profile 'nosuch'") && strstr(err, "--profile") &&
              strstr(err, "profiles: cfgonly, default, half"),
          "a missing profile lists the profiles that exist: %s", err);
    setenv("AWS_PROFILE", "ghost", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "'ghost'") && strstr(err, "AWS_PROFILE"), "a missing AWS_PROFILE says so: %s", err);
    unsetenv("AWS_PROFILE");
    files("[default]\naws_access_key_id = AKID\n[profile x]\nnot a setting\n", NULL);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, cfg_path) && strstr(err, ":4:"), "a malformed config file names file:line: %s", err);
    files("", "[default]\naws_secret_access_key = zz-S3KR1T\nbroken line zz-S3KR1T\n");
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, cred_path) && strstr(err, ":3:") && no_secret(err),
          "a malformed credentials file names file:line without quoting the line: %s", err);
    files("", "");
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "no AWS credentials found") && strstr(err, "AWS_ACCESS_KEY_ID") &&
              strstr(err, "AWS_EC2_METADATA_DISABLED"),
          "nothing configured: one line naming the ways to configure: %s", err);
}

static void case_process(void)
{
    char akid[64], src[64], err[1024], cfg[2048];
    clear_aws_env();
    unlink(counter_path);
    snprintf(cfg, sizeof cfg,
             "[profile proc]\ncredential_process = printf x >> %s; echo '{\"Version\": 1, \"AccessKeyId\": "
             "\"AKIDPROC\", \"SecretAccessKey\": \"p-S3KR1T\", \"SessionToken\": \"p-T0K3N\", "
             "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n"
             "[profile soon]\ncredential_process = printf x >> %s; echo '{\"Version\": 1, \"AccessKeyId\": "
             "\"AKIDSOON\", \"SecretAccessKey\": \"s-S3KR1T\", \"Expiration\": \"%s\"}'\n"
             "[profile v2]\ncredential_process = echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"v-S3KR1T\"}'\n"
             "[profile fails]\ncredential_process = echo credential helper failed >&2; exit 3\n"
             "[profile notjson]\ncredential_process = echo not-json-S3KR1T\n"
             "[profile nokey]\ncredential_process = echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n"
             "[profile both]\naws_access_key_id = AKIDCFGBOTH\naws_secret_access_key = b-S3KR1T\n"
             "credential_process = echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCBOTH\", \"SecretAccessKey\": \"q-S3KR1T\"}'\n",
             counter_path, counter_path, "");
    /* "soon": expires inside the 5-minute refresh window, so every get runs the process */
    char soon[40];
    time_t t = time(NULL) + 120;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(soon, sizeof soon, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char *at = strstr(cfg, "\"Expiration\": \"\"");
    if (at) {
        char tail[2048];
        snprintf(tail, sizeof tail, "%s", at + strlen("\"Expiration\": \"\""));
        snprintf(at, sizeof cfg - (size_t)(at - cfg), "\"Expiration\": \"%s\"%s", soon, tail);
    }
    files(cfg, "[both]\naws_access_key_id = AKIDCREDSBOTH\naws_secret_access_key = cb-S3KR1T\n");
    int rc = resolve("proc", 3, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDPROC") == 0 && strstr(src, "credential_process"),
          "credential_process (%s from %s)", akid, rc == 0 ? src : err);
    CHECK(process_runs() == 1, "credentials valid for hours are cached: the process ran %d time(s) for 3 gets",
          process_runs());
    unlink(counter_path);
    rc = resolve("soon", 3, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && process_runs() == 3,
          "credentials expiring within 5 minutes are refreshed on each get (%d runs for 3 gets)", process_runs());
    rc = resolve("v2", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "Version 2") && strstr(err, "profile 'v2'") && no_secret(err),
          "credential_process Version other than 1: %s", err);
    rc = resolve("fails", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "exited with status 3") && strstr(err, cfg_path) && no_secret(err),
          "credential_process failing: %s", err);
    rc = resolve("notjson", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "did not print JSON") && no_secret(err), "credential_process not JSON: %s", err);
    rc = resolve("nokey", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "SecretAccessKey"), "credential_process without a secret: %s", err);
    rc = resolve("both", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDCREDSBOTH") == 0,
          "credentials-file keys come before credential_process (%s)", akid);
    files(cfg, "");
    rc = resolve("both", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc == 0 && strcmp(akid, "AKIDPROCBOTH") == 0,
          "credential_process comes before config-file keys, as botocore orders them (%s)", akid);
}

static void case_roles(void)
{
    char akid[64], src[64], err[1024];
    clear_aws_env();
    files("[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-S3KR1T\n"
          "[profile mfa]\nrole_arn = arn:aws:iam::111122223333:role/responder\nsource_profile = base\n"
          "mfa_serial = arn:aws:iam::111122223333:mfa/alice\n"
          "[profile loop-a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop-b\n"
          "[profile loop-b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop-a\n"
          "[profile orphan]\nrole_arn = arn:aws:iam::1:role/o\nsource_profile = gone\n"
          "[profile both]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\ncredential_source = Environment\n"
          "[profile neither]\nrole_arn = arn:aws:iam::1:role/x\n"
          "[profile badsource]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Laptop\n"
          "[profile envsource]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Environment\n"
          "[profile nocreds]\nregion = eu-west-1\n"
          "[profile fromempty]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = nocreds\n"
          "[profile baddur]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\nduration_seconds = 60\n",
          NULL);
    int rc = resolve("mfa", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "profile 'mfa'") && strstr(err, "arn:aws:iam::111122223333:mfa/alice") &&
              strstr(err, "no terminal") && no_secret(err),
          "MFA without a terminal stops at once, naming the profile and mfa_serial: %s", err);
    rc = resolve("loop-a", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "loop") && strstr(err, "loop-a -> loop-b -> loop-a"), "source_profile loop: %s", err);
    rc = resolve("orphan", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "source_profile 'gone'") && strstr(err, "profiles: "), "missing source_profile: %s", err);
    rc = resolve("both", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "both source_profile and credential_source"), "both sources: %s", err);
    rc = resolve("neither", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "neither source_profile nor credential_source"), "no source: %s", err);
    rc = resolve("badsource", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "'Laptop'") && strstr(err, "Ec2InstanceMetadata"), "unknown credential_source: %s", err);
    rc = resolve("envsource", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "credential_source Environment") && strstr(err, "AWS_ACCESS_KEY_ID"),
          "credential_source Environment without variables: %s", err);
    rc = resolve("fromempty", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "source_profile 'nocreds'") && strstr(err, "has no credentials"),
          "source profile without credentials: %s", err);
    rc = resolve("baddur", 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "duration_seconds") && strstr(err, ":37)"), "bad duration_seconds: %s", err);
}

static void case_metadata_errors(void)
{
    char akid[64], src[64], err[1024];
    clear_aws_env();
    files("", "");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    int rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI") && strstr(err, "example.com"),
          "container FULL_URI to a host that is not allowed: %s", err);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "line\nbreak-T0K3N", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "line break") && no_secret(err), "container token with a line break: %s", err);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "container credential endpoint") && strstr(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
          "unreachable container endpoint: %s", err);
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
    rc = resolve(NULL, 1, akid, sizeof akid, src, sizeof src, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "no AWS credentials found") && strstr(err, "unreachable") &&
              strstr(err, "AWS_EC2_METADATA_DISABLED"),
          "unreachable instance metadata ends the chain with one line: %s", err);
}

int main(void)
{
    if (getenv("IRH_CRED_SCENARIO")) return driver();
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    snprintf(cfg_path, sizeof cfg_path, "%s/config", dir);
    snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);
    snprintf(counter_path, sizeof counter_path, "%s/runs", dir);
    case_env();
    case_files();
    case_process();
    case_roles();
    case_metadata_errors();
    unlink(cfg_path);
    unlink(cred_path);
    unlink(counter_path);
    rmdir(dir);
    return unit_done();
}
