/* host/audit.c: one JSON object per line, fields as docs/internals.md lists, always valid JSON. */
#include "unit.h"
#include "audit.h"
#include "json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *field(const char *line, const char *path)
{
    char err[128];
    return irh_json_get(line, strlen(line), path, err, sizeof err);
}

static int field_is(const char *line, const char *path, const char *want)
{
    char *v = field(line, path);
    int ok = v && strcmp(v, want) == 0;
    if (!ok) printf("#   %s = [%s], want [%s]\n", path, v ? v : "(absent)", want);
    free(v);
    return ok;
}

int main(void)
{
    char dir[] = "/tmp/irh-audit-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/audit.jsonl", dir);
    struct irh_audit *a = irh_audit_open(path, err, sizeof err);
    CHECK(a != NULL, "open");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "audit file is 0600");
    struct irh_audit_record r = {
        .call_id = 7, .service = "ec2", .operation = "StopInstances", .region = "eu-west-1",
        .account = "111122223333", .mutating = 1, .params_json = "{\"InstanceIds\":[\"i-1\"]}",
        .status = 503, .request_id = "req-1", .latency_ms = 12, .attempt = 2, .outcome = "retry",
        .error_code = "ServiceUnavailable", .error_message = "quote \" backslash \\ newline \n bad \xff utf8 \xc3\xa9",
    };
    CHECK(irh_audit_write(a, &r, err, sizeof err) == 0, "write a retried attempt");
    struct irh_audit_record p = { .call_id = 8, .service = "iam", .operation = "DeleteUser", .region = "us-east-1",
                                  .mutating = 1, .params_json = NULL, .outcome = "dryrun", .dry_run = 1 };
    CHECK(irh_audit_write(a, &p, err, sizeof err) == 0, "write a planned call");
    irh_audit_close(a);

    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    char lines[2][4096];
    while (f && fgets(line, sizeof line, f) && n < 2) snprintf(lines[n++], sizeof lines[0], "%s", line);
    if (f) fclose(f);
    CHECK(n == 2, "two lines");
    const char *l = lines[0];
    CHECK(field_is(l, "service", "ec2") && field_is(l, "operation", "StopInstances") &&
          field_is(l, "region", "eu-west-1") && field_is(l, "account", "111122223333"), "identity fields");
    CHECK(strstr(l, "\"status\":503,") && strstr(l, "\"attempt\":2,") && strstr(l, "\"latency_ms\":12,") &&
          field_is(l, "request_id", "req-1") && field_is(l, "error_code", "ServiceUnavailable"), "attempt fields");
    CHECK(strstr(l, "\"params\":{\"InstanceIds\":[\"i-1\"]},"), "params embedded as JSON");
    CHECK(field_is(l, "error_message", "quote \" backslash \\ newline \n bad \xef\xbf\xbd utf8 \xc3\xa9"),
          "strings escaped; invalid UTF-8 replaced");
    char *t = field(l, "time");
    CHECK(t && strlen(t) == 24 && t[10] == 'T' && t[23] == 'Z', "UTC time with ms: %s", t ? t : "");
    free(t);
    CHECK(strstr(lines[1], "\"dry_run\":true") && strstr(lines[1], "\"params\":null") &&
          strstr(lines[1], "\"account\":null") && strstr(lines[1], "\"status\":null"), "planned call line");
    char *e = irh_json_escape("a\"\x01", 3);
    CHECK(e && strcmp(e, "a\\\"\\u0001") == 0, "irh_json_escape");
    free(e);
    CHECK(irh_audit_open("/nonexistent-dir/x/audit.jsonl", err, sizeof err) == NULL && strstr(err, "--out"),
          "unopenable path: %s", err);
    unlink(path);
    rmdir(dir);
    return unit_done();
}
