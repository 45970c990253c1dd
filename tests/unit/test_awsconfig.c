/* host/awsconfig.c: the shared config and credentials files, read with configparser's
 * rules as botocore reads them. */
#include "unit.h"
#include "awsconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/irhost-awsconfig.XXXXXX";
static char cfg_path[256], cred_path[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static struct irh_awsconfig *load(const char *cfg, const char *cred, char *err, size_t errlen)
{
    if (cfg) write_file(cfg_path, cfg); else unlink(cfg_path);
    if (cred) write_file(cred_path, cred); else unlink(cred_path);
    return irh_awsconfig_load_files(cfg_path, cred_path, err, errlen);
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static void test_basics(void)
{
    char err[512];
    struct irh_awsconfig *c = load(
        "# a comment\n"
        "; another\n"
        "[default]\n"
        "region = eu-west-1\n"
        "output=json\n"
        "\n"
        "[profile dev]\n"
        "Region : us-east-2\n"
        "role_arn = arn:aws:iam::111122223333:role/dev\n"
        "  source_profile   =   default   \n"
        "s3 =\n"
        "    addressing_style = path\n"
        "    max_concurrent_requests = 4\n"
        "[profile   \"with space\"]\n"
        "region = ap-south-1\n"
        "[sso-session corp]\n"
        "sso_region = us-east-1\n"
        "[plain]\n"
        "region = nowhere-1\n"
        "[profile indented]\n"
        "   k = v\n"
        "[profilex y]\n"
        "region = odd-1\n",
        "[default]\n"
        "aws_access_key_id = AKIDDEFAULT\n"
        "aws_secret_access_key = s3cr3t/with=signs\n"
        "region = ca-central-1\n"
        "[creds-only]\n"
        "aws_access_key_id = AKIDONLY\n",
        err, sizeof err);
    if (!CHECK(c != NULL, "loads a realistic pair of files (%s)", c ? "" : err)) return;
    CHECK(streq(irh_awsconfig_get(c, "default", "region"), "ca-central-1"),
          "the credentials file wins over the config file for the same profile and key");
    CHECK(streq(irh_awsconfig_get_in(c, IRH_CFG_CONFIG, "default", "region"), "eu-west-1"),
          "get_in reads one file only");
    CHECK(streq(irh_awsconfig_get(c, "default", "output"), "json"), "'=' without spaces");
    CHECK(streq(irh_awsconfig_get(c, "dev", "region"), "us-east-2"), "':' delimiter and keys lower-cased");
    CHECK(streq(irh_awsconfig_get(c, "dev", "role_arn"), "arn:aws:iam::111122223333:role/dev\nsource_profile   =   default") &&
              irh_awsconfig_get(c, "dev", "source_profile") == NULL,
          "an indented line continues the previous value, as configparser reads it");
    CHECK(streq(irh_awsconfig_get(c, "indented", "k"), "v"), "an indented first option of a section is an option");
    const char *s3 = irh_awsconfig_get(c, "dev", "s3");
    CHECK(streq(s3, "\naddressing_style = path\nmax_concurrent_requests = 4"),
          "indented continuation lines join with newlines (nested section)");
    CHECK(streq(irh_awsconfig_get(c, "with space", "region"), "ap-south-1"), "quoted profile names (shlex)");
    CHECK(!irh_awsconfig_has_profile(c, "corp") && !irh_awsconfig_has_profile(c, "plain"),
          "sso-session and bare sections of the config file are not profiles");
    CHECK(streq(irh_awsconfig_get(c, "y", "region"), "odd-1"),
          "[profilex y] names profile y, as botocore's startswith('profile') does");
    CHECK(irh_awsconfig_has_profile(c, "creds-only"), "credentials file sections are profiles as written");
    CHECK(streq(irh_awsconfig_get(c, "default", "aws_secret_access_key"), "s3cr3t/with=signs"),
          "the value keeps '=' after the first delimiter");
    CHECK(irh_awsconfig_get(c, "dev", "nope") == NULL && irh_awsconfig_get(c, "nope", "region") == NULL,
          "absent keys and profiles are NULL");
    char names[256];
    irh_awsconfig_profiles(c, names, sizeof names);
    CHECK(streq(names, "creds-only, default, dev, indented, with space, y"), "profile list is sorted and unique: %s", names);
    char where[512], want[512];
    irh_awsconfig_where(c, "dev", "role_arn", where, sizeof where);
    snprintf(want, sizeof want, "%s:9", cfg_path);
    CHECK(streq(where, want), "where() names file:line of a key: %s", where);
    irh_awsconfig_where(c, "creds-only", "nothing", where, sizeof where);
    snprintf(want, sizeof want, "%s:5", cred_path);
    CHECK(streq(where, want), "where() falls back to the profile's section line: %s", where);
    irh_awsconfig_free(c);
}

static void test_missing_files(void)
{
    char err[256];
    struct irh_awsconfig *c = load(NULL, NULL, err, sizeof err);
    CHECK(c != NULL, "missing files count as empty");
    char names[64];
    irh_awsconfig_profiles(c, names, sizeof names);
    CHECK(streq(names, "none"), "no profiles: 'none'");
    irh_awsconfig_free(c);
    c = irh_awsconfig_load_files(NULL, NULL, err, sizeof err);
    CHECK(c != NULL && !irh_awsconfig_has_profile(c, "default"), "NULL paths are fine");
    irh_awsconfig_free(c);
}

static void expect_error(const char *name, const char *cfg, const char *cred, const char *want_file_line,
                         const char *want_text, const char *secret)
{
    char err[512] = "", want[300];
    struct irh_awsconfig *c = load(cfg, cred, err, sizeof err);
    snprintf(want, sizeof want, "%s:", want_file_line[0] == 'C' ? cfg_path : cred_path);
    size_t wl = strlen(want);
    snprintf(want + wl, sizeof want - wl, "%s", want_file_line + 1);
    CHECK(c == NULL && strstr(err, want) && strstr(err, want_text) && (!secret || !strstr(err, secret)),
          "%s -> %s", name, err);
    irh_awsconfig_free(c);
}

static void test_errors(void)
{
    expect_error("setting before any section", "region = x\n[default]\n", NULL, "C1:", "before any [section]", NULL);
    expect_error("line without a delimiter", "[default]\nregion = x\nTOPSECRETVALUE\n", NULL, "C3:",
                 "expected 'name = value'", "TOPSECRETVALUE");
    expect_error("setting without a name", "[default]\n = SECRETVALUE\n", NULL, "C2:", "without a name", "SECRET");
    expect_error("duplicate section", "[default]\na = 1\n[profile x]\n[default]\n", NULL, "C4:",
                 "appears twice (first at line 1)", NULL);
    expect_error("duplicate key", NULL, "[p]\naws_secret_access_key = SECRETONE\naws_secret_access_key = SECRETTWO\n",
                 "R3:", "set twice", "SECRET");
    char err[256];
    struct irh_awsconfig *c = load("[default]\r\nregion = eu-west-3\r\n", NULL, err, sizeof err);
    CHECK(c && streq(irh_awsconfig_get(c, "default", "region"), "eu-west-3"), "CRLF line endings");
    irh_awsconfig_free(c);
    c = load("[default]\nregion = eu-west-3 # not a comment\n", NULL, err, sizeof err);
    CHECK(c && streq(irh_awsconfig_get(c, "default", "region"), "eu-west-3 # not a comment"),
          "no inline comments, as configparser's default");
    irh_awsconfig_free(c);
}

static void test_env_paths(void)
{
    char err[256];
    write_file(cfg_path, "[profile envp]\nregion = sa-east-1\n");
    write_file(cred_path, "[envc]\naws_access_key_id = AKIDENVC\n");
    setenv("AWS_CONFIG_FILE", cfg_path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    struct irh_awsconfig *c = irh_awsconfig_load(err, sizeof err);
    CHECK(c && streq(irh_awsconfig_get(c, "envp", "region"), "sa-east-1") && irh_awsconfig_has_profile(c, "envc"),
          "AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE choose the files");
    irh_awsconfig_free(c);
    unsetenv("AWS_CONFIG_FILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    char home[300];
    snprintf(home, sizeof home, "%s/home", dir);
    setenv("HOME", home, 1);
    c = irh_awsconfig_load(err, sizeof err);
    char want[400];
    snprintf(want, sizeof want, "%s/.aws/config", home);
    CHECK(c && streq(irh_awsconfig_path(c, IRH_CFG_CONFIG), want), "default path is ~/.aws/config: %s",
          c ? irh_awsconfig_path(c, IRH_CFG_CONFIG) : err);
    irh_awsconfig_free(c);
}

/* ---------------------------------------------------------------- --dump mode */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

struct item { const char *section, *key, *value; };
struct items { struct item it[2048]; size_t n; };

static void gather(void *ud, enum irh_cfg_file f, const char *section, const char *key, const char *value)
{
    (void)f;
    struct items *x = ud;
    if (x->n < 2048) x->it[x->n++] = (struct item){ section, key, value };
}

/* Prints each file as configparser sees it: {"section": {"key": "value"}}, [DEFAULT] values
 * shown in every section that does not set them; or {"error": "..."}. */
static int dump_files(int argc, char **argv)
{
    static struct items x;
    for (int a = 2; a < argc; a++) {
        char err[512];
        struct irh_awsconfig *c = irh_awsconfig_load_files(argv[a], NULL, err, sizeof err);
        if (!c) { printf("{\"error\": "); json_str(err); printf("}\n"); continue; }
        x.n = 0;
        irh_awsconfig_foreach(c, gather, &x);
        printf("{");
        int first_sec = 1;
        for (size_t i = 0; i < x.n; i++) {
            const char *sec = x.it[i].section;
            int seen = strcmp(sec, "DEFAULT") == 0;
            for (size_t j = 0; j < i && !seen; j++) seen = strcmp(x.it[j].section, sec) == 0;
            if (seen) continue;
            printf("%s", first_sec ? "" : ", ");
            first_sec = 0;
            json_str(sec);
            printf(": {");
            int first = 1;
            for (size_t j = 0; j < x.n; j++) {
                if (!x.it[j].key) continue;
                int own = strcmp(x.it[j].section, sec) == 0;
                int inherited = strcmp(x.it[j].section, "DEFAULT") == 0;
                if (inherited)
                    for (size_t k = 0; k < x.n; k++)
                        if (x.it[k].key && strcmp(x.it[k].section, sec) == 0 && strcmp(x.it[k].key, x.it[j].key) == 0)
                            inherited = 0;
                if (!own && !inherited) continue;
                printf("%s", first ? "" : ", ");
                first = 0;
                json_str(x.it[j].key);
                printf(": ");
                json_str(x.it[j].value);
            }
            printf("}");
        }
        printf("}\n");
        irh_awsconfig_free(c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0) return dump_files(argc, argv);
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    snprintf(cfg_path, sizeof cfg_path, "%s/config", dir);
    snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);
    test_basics();
    test_missing_files();
    test_errors();
    test_env_paths();
    unlink(cfg_path);
    unlink(cred_path);
    rmdir(dir);
    return unit_done();
}
