/* host/secrets.c: handle store, generation, substitution per encoding. */
#include "unit.h"
#include "secrets.h"
#include <stdlib.h>
#include <string.h>

static const char VALUE[] = "p&ss w\"rd<>%+/\\'\n=";   /* every character some encoding changes */

static int substitute_is(struct irh_secrets *s, const char *in, enum irh_secret_enc enc, const char *want)
{
    char err[256];
    char *out = NULL;
    size_t outlen = 0, n = 0;
    if (irh_secrets_substitute(s, in, strlen(in), enc, &out, &outlen, &n, err, sizeof err) != 0) {
        printf("# substitute failed: %s\n", err);
        return 0;
    }
    int ok = out && strcmp(out, want) == 0 && outlen == strlen(want) && n >= 1;
    if (!ok) printf("# got [%s] want [%s]\n", out ? out : "(null)", want);
    if (out) { explicit_bzero(out, outlen); free(out); }
    return ok;
}

int main(void)
{
    char err[256], h[IRH_SECRET_HANDLE_LEN + 1], h2[IRH_SECRET_HANDLE_LEN + 1];
    struct irh_secrets *s = irh_secrets_new();
    CHECK(s != NULL, "store created");

    CHECK(irh_secrets_put(s, VALUE, strlen(VALUE), h, err, sizeof err) == 0, "put");
    int shaped = strlen(h) == IRH_SECRET_HANDLE_LEN && strncmp(h, "irhost-secret-", 14) == 0 &&
                 strspn(h + 14, "0123456789abcdef") == 32;
    CHECK(shaped, "handle is irhost-secret- + 32 lowercase hex: %s", h);
    size_t len = 0;
    const unsigned char *v = irh_secrets_get(s, h, &len);
    CHECK(v && len == strlen(VALUE) && memcmp(v, VALUE, len) == 0, "get returns the value");
    CHECK(irh_secrets_put(s, "x", 1, h2, err, sizeof err) == 0 && strcmp(h, h2) != 0, "handles are distinct");
    CHECK(irh_secrets_get(s, "irhost-secret-00000000000000000000000000000000", NULL) == NULL, "unknown handle: NULL");
    CHECK(irh_secrets_put_handle(s, "irhost-secret-0123456789abcdef0123456789abcdef", "v", 1, err, sizeof err) == 0,
          "put under an external handle");
    CHECK(irh_secrets_put_handle(s, "irhost-secret-0123456789abcdef0123456789abcdef", "v", 1, err, sizeof err) != 0,
          "an external handle cannot be reused: %s", err);
    CHECK(irh_secrets_put_handle(s, "irhost-secret-0123456789ABCDEF0123456789abcdef", "v", 1, err, sizeof err) != 0,
          "a malformed external handle is refused: %s", err);

    /* Substitution per encoding. */
    char in[256];
    snprintf(in, sizeof in, "Action=CreateLoginProfile&Password=%s&UserName=bob", h);
    CHECK(substitute_is(s, in, IRH_SECRET_URL,
                        "Action=CreateLoginProfile&Password=p%26ss%20w%22rd%3C%3E%25%2B%2F%5C%27%0A%3D&UserName=bob"),
          "form body: percent-encoded");
    snprintf(in, sizeof in, "{\"SecretString\":\"%s\"}", h);
    CHECK(substitute_is(s, in, IRH_SECRET_JSON, "{\"SecretString\":\"p&ss w\\\"rd<>%+/\\\\'\\u000a=\"}"),
          "json body: JSON-escaped");
    snprintf(in, sizeof in, "<Password>%s</Password>", h);
    CHECK(substitute_is(s, in, IRH_SECRET_XML, "<Password>p&amp;ss w&quot;rd&lt;&gt;%+/\\&apos;\n=</Password>"),
          "xml body: XML-escaped");
    snprintf(in, sizeof in, "%s-%s", h2, h2);
    CHECK(substitute_is(s, in, IRH_SECRET_RAW, "x-x"), "two handles in one header value");
    char *out = NULL;
    size_t outlen = 0, n = 0;
    CHECK(irh_secrets_substitute(s, "no handle here", 14, IRH_SECRET_URL, &out, &outlen, &n, err, sizeof err) == 0 &&
          out == NULL && n == 0, "no handle: nothing copied");
    CHECK(irh_secrets_substitute(s, h, strlen(h), IRH_SECRET_RAW, &out, &outlen, &n, err, sizeof err) != 0 &&
          !strstr(err, "p&ss"), "a value with a line break never goes into a header: %s", err);
    const char *unknown = "x=irhost-secret-ffffffffffffffffffffffffffffffff";
    CHECK(irh_secrets_substitute(s, unknown, strlen(unknown), IRH_SECRET_URL, &out, &outlen, &n, err, sizeof err) != 0,
          "an unknown handle is an error: %s", err);
    CHECK(irh_secrets_has_handle(in, strlen(in)) && !irh_secrets_has_handle("irhost-secret-abc", 17),
          "has_handle finds whole handles only");

    /* Unsubstitution: every encoding a service may echo a value in goes back to the handle. */
    char hs[2][IRH_SECRET_HANDLE_LEN + 1];
    snprintf(in, sizeof in, "a %s b %s c %s", h2, h, h);
    CHECK(irh_secrets_handles_in(in, strlen(in), hs, 0, 2) == 2 && !strcmp(hs[0], h2) && !strcmp(hs[1], h),
          "handles_in: distinct handles in order");
    const char *echoes[] = {
        "raw p&ss w\"rd<>%+/\\'\n= end",
        "url p%26ss%20w%22rd%3C%3E%25%2B%2F%5C%27%0A%3D end",
        "lower p%26ss%20w%22rd%3c%3e%25%2b%2f%5c%27%0a%3d end",
        "form p%26ss+w%22rd%3C%3E%25%2B%2F%5C%27%0A%3D end",
        "json p&ss w\\\"rd<>%+\\/\\\'\\n= end",
        "xml p&amp;ss w&quot;rd&lt;&gt;%+/\\&apos;\n= end",
        "xml2 p&amp;ss w&#34;rd&lt;>%+/\\&#39;&#x0A;= end",
    };
    for (size_t i = 0; i < sizeof echoes / sizeof echoes[0]; i++) {
        char *o = NULL;
        size_t ol = 0;
        int rc = irh_secrets_unsubstitute(s, (const char (*)[IRH_SECRET_HANDLE_LEN + 1])hs + 1, 1, echoes[i],
                                          strlen(echoes[i]), &o, &ol);
        char want[200];
        snprintf(want, sizeof want, "%.*s%s end", (int)strcspn(echoes[i], " ") + 1, echoes[i], h);
        CHECK(rc == 0 && o && strcmp(o, want) == 0 && ol == strlen(want), "unsubstitute %.5s: [%s]", echoes[i], o ? o : "(none)");
        if (o) { explicit_bzero(o, ol); free(o); }
    }
    char *o = NULL;
    CHECK(irh_secrets_unsubstitute(s, (const char (*)[IRH_SECRET_HANDLE_LEN + 1])hs, 1, "x-x", 3, &o, NULL) == 0 && !o,
          "values under 4 bytes are not searched for");
    CHECK(irh_secrets_unsubstitute(s, (const char (*)[IRH_SECRET_HANDLE_LEN + 1])hs + 1, 1, "nothing", 7, &o, NULL) == 0 && !o,
          "no echo: nothing copied");

    /* Generation. */
    CHECK(irh_secrets_generate(s, 32, "alnum", h, err, sizeof err) == 0, "generate alnum");
    v = irh_secrets_get(s, h, &len);
    int alnum = v && len == 32;
    for (size_t i = 0; alnum && i < len; i++)
        alnum = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9');
    CHECK(alnum, "alnum value has 32 alphanumeric characters");
    int classes_ok = 1;
    for (int k = 0; k < 200 && classes_ok; k++) {
        if (irh_secrets_generate(s, 4, "alnumsym", h, err, sizeof err) != 0) { classes_ok = 0; break; }
        v = irh_secrets_get(s, h, &len);
        int lo = 0, up = 0, dg = 0, sy = 0;
        for (size_t i = 0; i < len; i++) {
            if (v[i] >= 'a' && v[i] <= 'z') lo = 1;
            else if (v[i] >= 'A' && v[i] <= 'Z') up = 1;
            else if (v[i] >= '0' && v[i] <= '9') dg = 1;
            else if (strchr("@/\"' \\`", v[i])) sy = -100;
            else sy = 1;
        }
        classes_ok = len == 4 && lo && up && dg && sy == 1;
    }
    CHECK(classes_ok, "alnumsym values hold every class and no / @ \" ' space \\ `");
    /* Uniformity: 3 characters, 30000 draws; each count within 5 sigma of 10000. */
    CHECK(irh_secrets_generate(s, 4096, "abc", h, err, sizeof err) == 0, "generate from an explicit set");
    long cnt[3] = { 0 };
    for (int k = 0; k < 8; k++) {
        if (irh_secrets_generate(s, 3750, "abc", h, err, sizeof err) != 0) break;
        v = irh_secrets_get(s, h, &len);
        for (size_t i = 0; i < len; i++) cnt[v[i] - 'a']++;
    }
    int uniform = 1;
    for (int k = 0; k < 3; k++) if (cnt[k] < 10000 - 410 || cnt[k] > 10000 + 410) uniform = 0;
    CHECK(uniform, "draws are uniform: a=%ld b=%ld c=%ld of 30000", cnt[0], cnt[1], cnt[2]);
    CHECK(irh_secrets_generate(s, 0, "alnum", h, err, sizeof err) != 0, "length 0 refused: %s", err);
    CHECK(irh_secrets_generate(s, 5000, "alnum", h, err, sizeof err) != 0, "length over 4096 refused");
    CHECK(irh_secrets_generate(s, 8, "aaaa", h, err, sizeof err) != 0, "a one-character set refused: %s", err);
    CHECK(irh_secrets_generate(s, 8, "ab c", h, err, sizeof err) != 0, "space in a set refused");
    CHECK(irh_secrets_generate(s, 16, "hex", h, err, sizeof err) == 0 &&
          (v = irh_secrets_get(s, h, &len)) && strspn((const char *)v, "0123456789abcdef") == 16, "hex charset");
    irh_secrets_free(s);
    irh_secrets_free(NULL);
    return unit_done();
}
