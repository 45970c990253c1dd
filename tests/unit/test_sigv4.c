/* host/sigv4.c: every case of the AWS SigV4 test suite (../shared/sigv4-testsuite, v4/ in
 * header and query mode, botocore-aws4_testsuite/ in header mode), the S3 and secret rules,
 * and `--cases FILE`: the botocore cross-check (tests/sigv4/test_botocore_crosscheck.sh). */
#include "unit.h"
#include "sigv4.h"
#include "creds.h"
#include "json.h"
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <time.h>

/* snprintf without -Wformat-truncation noise; a too-long path just fails to open. */
static void fmt(char *out, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out, n, f, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- small helpers */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static char *read_in(const char *dir, const char *name)
{
    char path[4096];
    fmt(path, sizeof path, "%s/%s", dir, name);
    return read_file(path, NULL);
}

/* Prints where two texts first differ, as TAP diagnostics. */
static void show_diff(const char *what, const char *want, const char *got)
{
    if (!want || !got) { printf("# %s: %s\n", what, want ? "no output" : "expected file missing"); return; }
    size_t i = 0;
    while (want[i] && want[i] == got[i]) i++;
    printf("# %s differs at byte %zu\n# want: ", what, i);
    for (const char *s = want; *s; s++) printf(*s == '\n' ? "\n#       " : "%c", *s);
    printf("\n# got:  ");
    for (const char *s = got; *s; s++) printf(*s == '\n' ? "\n#       " : "%c", *s);
    printf("\n");
}

static int same(const char *what, const char *want, const char *got)
{
    if (want && got && strcmp(want, got) == 0) return 1;
    show_diff(what, want, got);
    return 0;
}

static time_t parse_iso(const char *s)
{
    struct tm tm = { 0 };
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) return (time_t)-1;
    return timegm(&tm);
}

static time_t parse_amz(const char *s)
{
    struct tm tm = { 0 };
    if (!s || !strptime(s, "%Y%m%dT%H%M%SZ", &tm)) return (time_t)-1;
    return timegm(&tm);
}

/* ---------------------------------------------------------------- raw request parsing */

#define MAXH 32
struct rawreq {
    char *text;                 /* owned copy, cut in place */
    char *method, *path, *query;
    struct irh_header h[MAXH];
    char *hv[MAXH];             /* owned values (continuations joined with '\n') */
    size_t nh;
    const char *head_start;     /* header block as in the file, for signed-request checks */
    size_t head_len;
    const char *body;
    size_t body_len;
};

static void rawreq_free(struct rawreq *r)
{
    for (size_t i = 0; i < r->nh; i++) free(r->hv[i]);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* request.txt: request line, Name:value lines (indented lines continue the previous
 * value), blank line, body. Paths may hold raw spaces, so the target ends at " HTTP/". */
static int rawreq_parse(struct rawreq *r, const char *src, size_t len)
{
    memset(r, 0, sizeof *r);
    r->text = malloc(len + 1);
    if (!r->text) return -1;
    memcpy(r->text, src, len);
    r->text[len] = '\0';
    char *nl = strchr(r->text, '\n');
    if (!nl) return -1;
    *nl = '\0';
    char *sp = strchr(r->text, ' ');
    char *ver = strstr(r->text, " HTTP/");
    if (!sp || !ver || ver < sp) return -1;
    *sp = '\0';
    *ver = '\0';
    r->method = r->text;
    r->path = sp + 1;
    char *q = strchr(r->path, '?');
    if (q) { *q = '\0'; r->query = q + 1; }
    char *line = nl + 1;
    const char *orig = src + (line - r->text);
    r->head_start = orig;
    while (*line) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n == 0) { r->head_len = (size_t)(line - r->text) - (size_t)(r->head_start - src); line = end + 1; goto body; }
        line[n] = '\0';
        if ((line[0] == ' ' || line[0] == '\t') && r->nh) {
            char *old = r->hv[r->nh - 1];
            size_t on = strlen(old);
            char *nv = realloc(old, on + n + 2);
            if (!nv) return -1;
            nv[on] = '\n';
            memcpy(nv + on + 1, line, n + 1);
            r->hv[r->nh - 1] = nv;
        } else {
            char *colon = strchr(line, ':');
            if (!colon || r->nh == MAXH) return -1;
            *colon = '\0';
            r->h[r->nh].name = line;
            r->hv[r->nh] = strdup(colon + 1);
            if (!r->hv[r->nh]) return -1;
            r->nh++;
        }
        if (!end) { line += n; break; }
        line = end + 1;
    }
    r->head_len = (size_t)(line - r->text) - (size_t)(r->head_start - src);
    r->body = "";
    r->body_len = 0;
    for (size_t i = 0; i < r->nh; i++) r->h[i].value = r->hv[i];
    return 0;
body:
    r->body = src + (line - r->text);
    r->body_len = len - (size_t)(line - r->text);
    for (size_t i = 0; i < r->nh; i++) r->h[i].value = r->hv[i];
    return 0;
}

/* The header block text as the file had it (each line ending in '\n'). */
static void put_head(FILE *f, const struct rawreq *r)
{
    fwrite(r->head_start, 1, r->head_len, f);
    if (r->head_len && r->head_start[r->head_len - 1] != '\n') fputc('\n', f);
}

/* ---------------------------------------------------------------- JSON via cjson */

static lua_State *json_load(const char *text, size_t len)
{
    lua_State *L = irh_json_state();
    if (!L) return NULL;
    lua_getglobal(L, "cjson");
    lua_getfield(L, -1, "decode");
    lua_pushlstring(L, text, len);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        printf("# json: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "not an object");
        lua_close(L);
        return NULL;
    }
    return L;
}

/* Field of the table at idx: string copy (NULL when absent), boolean, number. */
static char *jstr(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    char *s = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return s;
}
static int jbool(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    int b = lua_toboolean(L, -1) && lua_type(L, -1) != LUA_TLIGHTUSERDATA;
    lua_pop(L, 1);
    return b;
}
static double jnum(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    double d = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return d;
}

/* ---------------------------------------------------------------- the v4 suite */

static int run_v4_case(const char *dir, const char *name, int presign)
{
    char *ctx = read_in(dir, "context.json"), *reqtxt = NULL;
    size_t reqlen = 0;
    char path[4096];
    fmt(path, sizeof path, "%s/request.txt", dir);
    reqtxt = read_file(path, &reqlen);
    const char *mode = presign ? "query" : "header";
    char want_name[3][64];
    snprintf(want_name[0], 64, "%s-canonical-request.txt", mode);
    snprintf(want_name[1], 64, "%s-string-to-sign.txt", mode);
    snprintf(want_name[2], 64, "%s-signature.txt", mode);
    char *want_cr = read_in(dir, want_name[0]), *want_sts = read_in(dir, want_name[1]);
    char *want_sig = read_in(dir, want_name[2]);
    snprintf(want_name[0], 64, "%s-signed-request.txt", mode);
    char *want_sreq = read_in(dir, want_name[0]);
    struct rawreq r = { 0 };
    struct irh_creds cr = { 0 };
    struct irh_sigv4_result out = { 0 };
    lua_State *L = NULL;
    int ok = 0;
    char err[256] = "";

    if (!ctx || !reqtxt || rawreq_parse(&r, reqtxt, reqlen) < 0 || !(L = json_load(ctx, strlen(ctx)))) {
        printf("# cannot read the case\n");
        goto done;
    }
    lua_getfield(L, -1, "credentials");
    cr.access_key_id = jstr(L, -1, "access_key_id");
    cr.secret_access_key = jstr(L, -1, "secret_access_key");
    cr.session_token = jstr(L, -1, "token");
    lua_pop(L, 1);
    char *region = jstr(L, -1, "region"), *service = jstr(L, -1, "service"), *ts = jstr(L, -1, "timestamp");
    struct irh_sigv4_params p = {
        .region = region, .service = service, .now = parse_iso(ts),
        .s3 = !jbool(L, -1, "normalize"), .sign_body_header = jbool(L, -1, "sign_body"),
        .omit_session_token = jbool(L, -1, "omit_session_token"),
        .expires = (long)jnum(L, -1, "expiration_in_seconds"),
    };
    struct irh_sigv4_request req = { r.method, r.path, r.query, r.h, r.nh, r.body, r.body_len };
    int rc = presign ? irh_sigv4_presign(&req, &p, &cr, &out, err, sizeof err)
                     : irh_sigv4_sign(&req, &p, &cr, &out, err, sizeof err);
    free(region); free(service); free(ts);
    if (rc < 0) { printf("# %s\n", err); goto done; }
    ok = same("canonical request", want_cr, out.canonical_request);
    ok &= same("string to sign", want_sts, out.string_to_sign);
    ok &= same("signature", want_sig, out.signature);
    /* The signed request as the suite writes it. */
    char *sreq = NULL;
    size_t sreqlen = 0;
    FILE *f = open_memstream(&sreq, &sreqlen);
    if (f) {
        if (presign) {
            fprintf(f, "%s %s?%s HTTP/1.1\n", r.method, r.path, out.query);
            put_head(f, &r);
        } else {
            fprintf(f, "%s %s%s%s HTTP/1.1\n", r.method, r.path, r.query ? "?" : "", r.query ? r.query : "");
            put_head(f, &r);
            for (size_t i = 0; i < out.nadd; i++) fprintf(f, "%s:%s\n", out.add[i].name, out.add[i].value);
        }
        fputc('\n', f);
        fwrite(r.body, 1, r.body_len, f);
        fclose(f);
    }
    ok &= same("signed request", want_sreq, sreq);
    free(sreq);
done:
    CHECK(ok, "v4 %s (%s)", name, mode);
    irh_sigv4_result_free(&out);
    irh_creds_clear(&cr);
    rawreq_free(&r);
    if (L) lua_close(L);
    free(ctx); free(reqtxt); free(want_cr); free(want_sts); free(want_sig); free(want_sreq);
    return ok;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of dir (caller frees each and the array). */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (v) qsort(v, *n, sizeof *v, name_cmp);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void run_v4_suite(const char *root)
{
    size_t n = 0, cases = 0;
    char **names = list_dir(root, &n);
    for (size_t i = 0; i < n; i++) {
        char dir[4096];
        fmt(dir, sizeof dir, "%s/%s", root, names[i]);
        if (!is_dir(dir)) continue;
        run_v4_case(dir, names[i], 0);
        run_v4_case(dir, names[i], 1);
        cases++;
    }
    CHECK(cases == 38, "v4 suite has its 38 cases (found %zu)", cases);
    free_list(names, n);
}

/* ---------------------------------------------------------------- botocore's copy */

static const char BOTO_SECRET[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static void run_boto_case(const char *dir, const char *name, const char *label)
{
    char f[512];
    size_t reqlen = 0;
    char path[4096];
    fmt(path, sizeof path, "%s/%s.req", dir, name);
    char *reqtxt = read_file(path, &reqlen);
    fmt(f, sizeof f, "%s.creq", name); char *want_cr = read_in(dir, f);
    fmt(f, sizeof f, "%s.sts", name);  char *want_sts = read_in(dir, f);
    fmt(f, sizeof f, "%s.authz", name); char *want_authz = read_in(dir, f);
    fmt(f, sizeof f, "%s.sreq", name); char *sreq = read_in(dir, f);
    struct rawreq r = { 0 }, sr = { 0 };
    struct irh_creds cr = { 0 };
    struct irh_sigv4_result out = { 0 };
    int ok = 0;
    char err[256] = "";
    time_t now = (time_t)-1;

    if (!reqtxt || !sreq || rawreq_parse(&r, reqtxt, reqlen) < 0 || rawreq_parse(&sr, sreq, strlen(sreq)) < 0) {
        printf("# cannot read the case\n");
        goto done;
    }
    cr.access_key_id = strdup("AKIDEXAMPLE");
    cr.secret_access_key = strdup(BOTO_SECRET);
    /* The token is in the signed request; signed or added after, as the .creq shows. */
    int omit = 0;
    for (size_t i = 0; i < sr.nh; i++)
        if (strcasecmp(sr.h[i].name, "x-amz-security-token") == 0) {
            cr.session_token = strdup(sr.h[i].value);
            omit = !want_cr || !strstr(want_cr, "x-amz-security-token:");
        }
    for (size_t i = 0; i < r.nh; i++)
        if (strcasecmp(r.h[i].name, "x-amz-date") == 0) now = parse_amz(r.h[i].value);
    struct irh_sigv4_params p = { .region = "us-east-1", .service = "service", .now = now,
                                  .omit_session_token = omit };
    struct irh_sigv4_request req = { r.method, r.path, r.query, r.h, r.nh, r.body, r.body_len };
    if (irh_sigv4_sign(&req, &p, &cr, &out, err, sizeof err) < 0) { printf("# %s\n", err); goto done; }
    ok = same("canonical request", want_cr, out.canonical_request);
    ok &= same("string to sign", want_sts, out.string_to_sign);
    const char *authz = NULL;
    for (size_t i = 0; i < out.nadd; i++)
        if (strcmp(out.add[i].name, "Authorization") == 0) authz = out.add[i].value;
    ok &= same("authorization", want_authz, authz);
done:
    CHECK(ok, "botocore-aws4_testsuite %s (header)", label);
    irh_sigv4_result_free(&out);
    irh_creds_clear(&cr);
    rawreq_free(&r);
    rawreq_free(&sr);
    free(reqtxt); free(want_cr); free(want_sts); free(want_authz); free(sreq);
}

/* Case folders hold <name>.req; others (normalize-path/, post-sts-token/) group cases. */
static size_t run_boto_dir(const char *root, const char *rel)
{
    char dir[4096];
    size_t n = 0, cases = 0;
    fmt(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    char **names = list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        char sub[4096], req[4200], label[4096];
        fmt(sub, sizeof sub, "%s/%s", dir, names[i]);
        if (!is_dir(sub)) continue;
        fmt(req, sizeof req, "%s/%s.req", sub, names[i]);
        fmt(label, sizeof label, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        struct stat st;
        if (stat(req, &st) == 0) { run_boto_case(sub, names[i], label); cases++; }
        else cases += run_boto_dir(root, label);
    }
    free_list(names, n);
    return cases;
}

/* ---------------------------------------------------------------- rules the suite lacks */

static const char *find_add(const struct irh_sigv4_result *o, const char *name)
{
    for (size_t i = 0; i < o->nadd; i++)
        if (strcasecmp(o->add[i].name, name) == 0) return o->add[i].value;
    return NULL;
}

static void own_rules(void)
{
    struct irh_creds c = { 0 };
    c.access_key_id = strdup("AKIDEXAMPLE");
    c.secret_access_key = strdup(BOTO_SECRET);
    c.session_token = strdup("TOKEN/with+chars=");
    struct irh_header h[] = { { "Host", "bucket.s3.amazonaws.com" } };
    struct irh_sigv4_params p = { .region = "us-east-1", .service = "s3", .now = 1440938160,
                                  .s3 = 1, .sign_body_header = 1 };
    struct irh_sigv4_request r = { "GET", "/a%20b//c/../d%2Fe", "", h, 1, NULL, 0 };
    struct irh_sigv4_result o;
    char err[256];

    CHECK(irh_sigv4_sign(&r, &p, &c, &o, err, sizeof err) == 0 &&
          strncmp(o.canonical_request, "GET\n/a%20b//c/../d%2Fe\n\n", 24) == 0,
          "s3: the wire path is signed as is (no normalization, no second encoding)");
    CHECK(find_add(&o, "x-amz-content-sha256") &&
          strcmp(find_add(&o, "x-amz-content-sha256"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0 &&
          strstr(o.canonical_request, "x-amz-content-sha256:e3b0"),
          "s3: x-amz-content-sha256 is added and signed");
    CHECK(find_add(&o, "X-Amz-Security-Token") && strstr(o.canonical_request, "x-amz-security-token:TOKEN/with+chars="),
          "session token is sent and signed");
    CHECK(!strstr(o.canonical_request, BOTO_SECRET) && !strstr(o.string_to_sign, BOTO_SECRET) &&
          !strstr(find_add(&o, "Authorization"), BOTO_SECRET), "the secret key appears in no output");
    irh_sigv4_result_free(&o);

    p.s3 = 0;
    p.service = "execute-api";
    p.sign_body_header = 0;
    CHECK(irh_sigv4_sign(&r, &p, &c, &o, err, sizeof err) == 0 &&
          strncmp(o.canonical_request, "GET\n/a%2520b/d%252Fe\n", 21) == 0,
          "other services: normalized and encoded again (%%20 -> %%2520)");
    CHECK(!find_add(&o, "x-amz-content-sha256"), "no x-amz-content-sha256 unless asked");
    irh_sigv4_result_free(&o);

    p.omit_session_token = 1;
    CHECK(irh_sigv4_sign(&r, &p, &c, &o, err, sizeof err) == 0 && find_add(&o, "X-Amz-Security-Token") &&
          !strstr(o.canonical_request, "x-amz-security-token") &&
          !strstr(find_add(&o, "Authorization"), "x-amz-security-token"),
          "omit_session_token: the token is sent but not signed");
    irh_sigv4_result_free(&o);
    p.omit_session_token = 0;

    /* Presigned S3 URL. */
    struct irh_sigv4_params ps = { .region = "eu-west-1", .service = "s3", .now = 1440938160, .s3 = 1,
                                   .unsigned_payload = 1, .expires = 604800 };
    struct irh_sigv4_request rg = { "GET", "/evidence/disk%20image.raw", NULL, h, 1, NULL, 0 };
    CHECK(irh_sigv4_presign(&rg, &ps, &c, &o, err, sizeof err) == 0 &&
          strstr(o.canonical_request, "\nUNSIGNED-PAYLOAD") &&
          strstr(o.query, "X-Amz-Expires=604800") && strstr(o.query, "X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D") &&
          strstr(o.query, "&X-Amz-Signature=") && strlen(strstr(o.query, "&X-Amz-Signature=")) == 17 + 64,
          "s3 presign: UNSIGNED-PAYLOAD, 7-day expiry, encoded token, signature last");
    CHECK(o.nadd == 0, "presign adds no header");
    irh_sigv4_result_free(&o);
    ps.expires = 604801;
    CHECK(irh_sigv4_presign(&rg, &ps, &c, &o, err, sizeof err) < 0 && strstr(err, "604800"),
          "presign refuses more than 7 days: %s", err);
    ps.expires = 0;
    CHECK(irh_sigv4_presign(&rg, &ps, &c, &o, err, sizeof err) < 0, "presign refuses expiry 0");

    struct irh_sigv4_request nohost = { "GET", "/", NULL, NULL, 0, NULL, 0 };
    CHECK(irh_sigv4_sign(&nohost, &p, &c, &o, err, sizeof err) < 0 && strstr(err, "Host"),
          "a request without Host is refused: %s", err);
    free(c.secret_access_key);
    c.secret_access_key = NULL;
    CHECK(irh_sigv4_sign(&r, &p, &c, &o, err, sizeof err) < 0 && strstr(err, "secret"),
          "credentials without a secret are refused: %s", err);
    c.secret_access_key = strdup(BOTO_SECRET);

    /* Query: pre-encoded and raw forms agree; duplicates sort by value; empty values. */
    struct irh_sigv4_request q1 = { "GET", "/", "b=%E1%88%B4&a=2&a=1&c=&d", h, 1, NULL, 0 };
    struct irh_sigv4_request q2 = { "GET", "/", "d&c=&a=1&b=\xe1\x88\xb4&a=2", h, 1, NULL, 0 };
    struct irh_sigv4_result o2;
    int r1 = irh_sigv4_sign(&q1, &p, &c, &o, err, sizeof err);
    int r2 = irh_sigv4_sign(&q2, &p, &c, &o2, err, sizeof err);
    CHECK(r1 == 0 && r2 == 0 && strstr(o.canonical_request, "\na=1&a=2&b=%E1%88%B4&c=&d=\n") &&
          strcmp(o.signature, o2.signature) == 0, "query: encoded and raw agree, sorted by key then value");
    irh_sigv4_result_free(&o);
    irh_sigv4_result_free(&o2);

    /* Headers: whitespace folding, repeated names joined in order, unsigned ones skipped. */
    struct irh_header hh[] = { { "Host", "h" }, { "X-B", "  two\t words  " }, { "x-a", "z" },
                               { "User-Agent", "curl" }, { "X-A", "y\n  folded" } };
    struct irh_sigv4_request rh = { "POST", "/", NULL, hh, 5, "{}", 2 };
    CHECK(irh_sigv4_sign(&rh, &p, &c, &o, err, sizeof err) == 0 &&
          strstr(o.canonical_request, "\nx-a:z,y folded\n") && strstr(o.canonical_request, "\nx-b:two words\n\nhost;x-a;x-amz-date;x-amz-security-token;x-b\n") &&
          !strstr(o.canonical_request, "user-agent") &&
          strstr(o.canonical_request, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
          "headers folded, joined in order, user-agent unsigned, body hashed");
    irh_sigv4_result_free(&o);

    /* Malformed escapes never crash or read past the end; they are encoded literally. */
    struct irh_sigv4_params p3 = { .region = "us-east-1", .service = "s3", .now = 1440938160, .s3 = 1 };
    struct irh_sigv4_request e1 = { "GET", "/a%/b%4/c%4g/%e1", "k=%&%zz=%4&&=v&x=%2b", h, 1, NULL, 0 };
    CHECK(irh_sigv4_sign(&e1, &p3, &c, &o, err, sizeof err) == 0 &&
          strncmp(o.canonical_request, "GET\n/a%25/b%254/c%254g/%E1\n=v&%25zz=%254&k=%25&x=%2B\n", 53) == 0,
          "s3 path and query with malformed escapes: %%-literal, valid ones uppercased");
    irh_sigv4_result_free(&o);
    struct irh_sigv4_request e2 = { "GET", "", NULL, h, 1, NULL, 0 };
    CHECK(irh_sigv4_sign(&e2, &p, &c, &o, err, sizeof err) == 0 && strncmp(o.canonical_request, "GET\n/\n", 6) == 0,
          "an empty path signs as /");
    irh_sigv4_result_free(&o);
    struct irh_sigv4_request e3 = { "GET", "/a/./b/../../..//c/.", NULL, h, 1, NULL, 0 };
    CHECK(irh_sigv4_sign(&e3, &p, &c, &o, err, sizeof err) == 0 && strncmp(o.canonical_request, "GET\n/c\n\n", 8) == 0,
          "dot segments above the root stop at the root (botocore remove_dot_segments)");
    irh_sigv4_result_free(&o);

    char *e = irh_uri_encode("a b/~\xe1\x88\xb4", 8, 0);
    CHECK(e && strcmp(e, "a%20b/~%E1%88%B4") == 0, "irh_uri_encode keeps '/' when asked: %s", e ? e : "");
    free(e);
    e = irh_uri_encode("a/b", 3, 1);
    CHECK(e && strcmp(e, "a%2Fb") == 0, "irh_uri_encode encodes '/' when asked");
    free(e);

    struct irh_creds d = { 0 };
    CHECK(irh_creds_copy(&d, &c) == 0 && strcmp(d.secret_access_key, BOTO_SECRET) == 0 &&
          d.secret_access_key != c.secret_access_key && strcmp(d.session_token, c.session_token) == 0,
          "irh_creds_copy is deep");
    irh_creds_clear(&d);
    CHECK(!d.access_key_id && !d.secret_access_key && !d.session_token, "irh_creds_clear empties");
    irh_creds_clear(&c);
    irh_creds_clear(NULL);
}

/* ---------------------------------------------------------------- --cases FILE */

static unsigned char *unhex(const char *s, size_t *n)
{
    size_t len = s ? strlen(s) : 0;
    unsigned char *b = malloc(len / 2 + 1);
    if (!b) return NULL;
    for (size_t i = 0; i + 1 < len; i += 2) {
        unsigned int v;
        sscanf(s + i, "%2x", &v);
        b[i / 2] = (unsigned char)v;
    }
    *n = len / 2;
    return b;
}

/* One JSON array of cases written by tests/sigv4/gen_cases.py: the request, the signer
 * settings and botocore's canonical request, string to sign and signature. */
static int run_cases(const char *file)
{
    size_t len = 0;
    char *text = read_file(file, &len);
    lua_State *L = text ? json_load(text, len) : NULL;
    free(text);
    if (!L) { CHECK(0, "cannot read cases from %s", file); return unit_done(); }
    size_t n = lua_rawlen(L, -1), bad = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        int t = lua_gettop(L);
        char *id = jstr(L, t, "id"), *mode = jstr(L, t, "mode"), *method = jstr(L, t, "method");
        char *path = jstr(L, t, "path"), *query = jstr(L, t, "query"), *bodyhex = jstr(L, t, "body_hex");
        char *region = jstr(L, t, "region"), *service = jstr(L, t, "service");
        char *want_cr = jstr(L, t, "canonical_request"), *want_sts = jstr(L, t, "string_to_sign");
        char *want_sig = jstr(L, t, "signature");
        struct irh_creds c = { 0 };
        c.access_key_id = jstr(L, t, "access_key");
        c.secret_access_key = jstr(L, t, "secret_key");
        c.session_token = jstr(L, t, "token");
        struct irh_header h[64];
        size_t nh = 0;
        lua_getfield(L, t, "headers");
        for (lua_Integer j = 1; lua_istable(L, -1) && j <= (lua_Integer)lua_rawlen(L, -1) && nh < 64; j++) {
            lua_rawgeti(L, -1, j);
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            h[nh].name = lua_tostring(L, -2);   /* stays alive: owned by the case table */
            h[nh].value = lua_tostring(L, -1);
            nh++;
            lua_pop(L, 3);
        }
        size_t blen = 0;
        unsigned char *body = unhex(bodyhex, &blen);
        struct irh_sigv4_params p = {
            .region = region, .service = service, .now = (time_t)jnum(L, t, "time"),
            .s3 = jbool(L, t, "s3"), .sign_body_header = jbool(L, t, "sign_body_header"),
            .unsigned_payload = jbool(L, t, "unsigned_payload"), .expires = (long)jnum(L, t, "expires"),
        };
        struct irh_sigv4_request req = { method, path, query, h, nh, body, blen };
        struct irh_sigv4_result out;
        char err[256] = "";
        int presign = mode && strcmp(mode, "query") == 0;
        int rc = presign ? irh_sigv4_presign(&req, &p, &c, &out, err, sizeof err)
                         : irh_sigv4_sign(&req, &p, &c, &out, err, sizeof err);
        int ok = rc == 0;
        if (!ok) printf("# %s\n", err);
        else {
            ok = same("canonical request", want_cr, out.canonical_request);
            ok &= same("string to sign", want_sts, out.string_to_sign);
            ok &= same("signature", want_sig, out.signature);
            int leak = strstr(out.canonical_request, c.secret_access_key) || strstr(out.string_to_sign, c.secret_access_key) ||
                       (out.query && strstr(out.query, c.secret_access_key));
            for (size_t k = 0; k < out.nadd; k++) leak |= strstr(out.add[k].value, c.secret_access_key) != NULL;
            if (leak) printf("# the secret key appears in the signer's output\n");
            ok &= !leak;
        }
        if (!ok) {
            bad++;
            printf("# case: %s %s path=%s query=%s s3=%d\n", method, mode, path, query ? query : "", p.s3);
        }
        CHECK(ok, "crosscheck %s (%s %s %s%s)", id ? id : "?", mode ? mode : "?", service ? service : "?",
              method ? method : "?", c.session_token ? " token" : "");
        if (rc == 0) irh_sigv4_result_free(&out);
        lua_settop(L, t - 1);
        irh_creds_clear(&c);
        free(body); free(id); free(mode); free(method); free(path); free(query); free(bodyhex);
        free(region); free(service); free(want_cr); free(want_sts); free(want_sig);
    }
    CHECK(n >= 1000 && bad == 0, "botocore agrees on all %zu cases (%zu mismatches)", n, bad);
    lua_close(L);
    return unit_done();
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--cases") == 0) return run_cases(argv[2]);
    own_rules();
    const char *shared = getenv("IRHOST_SHARED");
    char dir[4096];
    fmt(dir, sizeof dir, "%s/sigv4-testsuite/v4", shared ? shared : "../shared");
    if (!is_dir(dir)) {
        unit_skip("AWS SigV4 test suite", "no sigv4-testsuite under $IRHOST_SHARED (../shared absent)");
        return unit_done();
    }
    run_v4_suite(dir);
    fmt(dir, sizeof dir, "%s/sigv4-testsuite/botocore-aws4_testsuite", shared ? shared : "../shared");
    size_t nb = is_dir(dir) ? run_boto_dir(dir, "") : 0;
    CHECK(nb == 34, "botocore-aws4_testsuite has its 34 cases (found %zu)", nb);
    return unit_done();
}
