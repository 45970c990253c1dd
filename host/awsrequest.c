/* The synchronous requests the pipeline answers: SIGN, PRESIGN, SECRET_GEN, ASSUME_ROLE, HANDOFF. */
#include "awscall_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------- SIGN, PRESIGN, SECRET_GEN, ASSUME_ROLE */

static struct irh_kv *reply_error(const char *msg)
{
    struct irh_kv *kv = irh_kv_new();
    if (kv) irh_kv_adds(kv, "error", msg);
    return kv;
}

static struct irh_kv *do_sign(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700], action[200];
    const char *kind;
    struct call *k = irh_awc_prepare(c, 0, req, &kind, err, sizeof err);
    if (!k) return reply_error(err);
    struct irh_kv *out = NULL;
    if (kind) goto fail;
    snprintf(action, sizeof action, "%s:%s", k->svc->info.iam_prefix, k->operation);
    if (irh_awc_permitted(c, action, err, sizeof err) != 0) { kind = "denied"; goto fail; }
    if (c->opt->dry_run && k->mutating) {
        /* A signed mutating request is as good as sent: a dry run signs none. */
        snprintf(err, sizeof err, "dry run: %s was not signed", action);
        irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "dryrun", NULL, NULL, 1);
        c->stats.planned++;
        irh_awc_call_free(k);
        return reply_error(err);
    }
    if (!k->prov && !(k->prov = irh_awc_base_creds(c, err, sizeof err))) { kind = "credentials"; goto fail; }
    const struct irh_creds *creds;
    if (irh_cred_get(k->prov, &creds, err, sizeof err) != 0) { kind = "credentials"; goto fail; }
    struct wire w;
    memset(&w, 0, sizeof w);
    if (irh_awc_build_wire(c, k, creds, 0, &w, &kind, err, sizeof err) != 0) goto fail;
    out = irh_kv_new();
    int bad = !out;
    for (size_t i = 0; !bad && i < w.nlines; i++) {
        char *colon = strchr(w.lines[i], ':');
        char key[300];
        snprintf(key, sizeof key, "h:%.*s", (int)(colon - w.lines[i]), w.lines[i]);
        for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (!strcmp(key, "h:authorization") || !strcmp(key, "h:x-amz-security-token")) {
            /* The session token (and the signature made with it) stays in the broker. */
            char handle[IRH_SECRET_HANDLE_LEN + 1];
            if (irh_secrets_put(c->secrets, colon + 2, strlen(colon + 2), handle, err, sizeof err) != 0) { bad = 1; break; }
            bad |= irh_kv_adds(out, key, handle);
        } else {
            bad |= irh_kv_adds(out, key, colon + 2);
        }
    }
    if (!bad) bad |= irh_kv_adds(out, "url", w.url);
    irh_awc_wire_free(&w);
    if (bad) { irh_kv_free(out); out = reply_error("out of memory"); }
    irh_awc_audit(c, k, k->svc->id, k->operation, 0, NULL, 0, "signed", NULL, NULL, 0);
    irh_awc_call_free(k);
    return out;
fail:
    irh_awc_audit(c, k, k->svc ? k->svc->id : irh_awc_kv_str(req, "service"), k->operation, 0, NULL, 0, kind, kind, err, 0);
    if (strcmp(kind, "credentials") == 0) irh_awc_set_fatal(c, 4, "%s", err);
    irh_awc_call_free(k);
    return reply_error(err);
}

static struct irh_kv *do_presign(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700];
    const char *method = irh_awc_kv_str(req, "method"), *bucket = irh_awc_kv_str(req, "bucket"), *key = irh_awc_kv_str(req, "key");
    const char *region = irh_awc_kv_str(req, "region"), *exp = irh_awc_kv_str(req, "expires");
    char *end;
    long expires = strtol(exp, &end, 10);
    const char *op = strcmp(method, "PUT") == 0 ? "PutObject" : (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
                     ? (strcmp(method, "HEAD") == 0 ? "HeadObject" : "GetObject") : NULL;
    if (!op) return reply_error("presign: method must be GET, PUT or HEAD");
    if (!*exp || *end || expires < 1 || expires > 604800) return reply_error("presign: expires must be 1..604800 seconds (7 days)");
    if (!irh_awc_is_token(bucket, 63, "-.") || !*key || strlen(key) > 1024 || strchr(key, '\r') || strchr(key, '\n'))
        return reply_error("presign: bucket and key are required (bucket: a valid S3 bucket name)");
    if (*region && !irh_awc_is_token(region, 40, "-")) return reply_error("presign: malformed region");
    struct call k0;
    memset(&k0, 0, sizeof k0);
    snprintf(k0.operation, sizeof k0.operation, "%s", op);
    char action[64];
    snprintf(action, sizeof action, "s3:%s", strcmp(op, "HeadObject") == 0 ? "GetObject" : op);
    if (*region) snprintf(k0.region, sizeof k0.region, "%s", region);
    else if (irh_awc_run_region(c, err, sizeof err) == 0) snprintf(k0.region, sizeof k0.region, "%s", c->region);
    else return reply_error(err);
    char *ekey = irh_uri_encode(key, strlen(key), 0);
    char *params = NULL;
    char *ebucket = irh_json_escape(bucket, strlen(bucket)), *jkey = irh_json_escape(key, strlen(key));
    if (ebucket && jkey && (params = malloc(strlen(ebucket) + strlen(jkey) + 64)))
        sprintf(params, "{\"Bucket\":\"%s\",\"Key\":\"%s\",\"ExpiresIn\":%ld}", ebucket, jkey, expires);
    free(ebucket);
    free(jkey);
    k0.params = params;
    struct irh_kv *out = NULL;
    const char *kind = "presign";
    struct irh_endpoint ep;
    struct irh_sigv4_result sr;
    memset(&sr, 0, sizeof sr);
    const struct irh_creds *creds;
    struct irh_cred_provider *prov;
    if (!ekey) { irh_awc_err(err, sizeof err, "out of memory"); goto done; }
    if (irh_awc_permitted(c, action, err, sizeof err) != 0) { kind = "denied"; goto done; }
    if (!(prov = irh_awc_base_creds(c, err, sizeof err)) || irh_cred_get(prov, &creds, err, sizeof err) != 0) {
        kind = "credentials";
        goto done;
    }
    if (irh_endpoint_resolve("s3", "s3", k0.region, 0, NULL, c->opt->endpoint_url, bucket, &ep, err, sizeof err) != 0) {
        kind = "credentials";
        goto done;
    }
    const char *se = strstr(ep.url, "://");
    const char *auth = se ? se + 3 : ep.url;
    size_t alen = strcspn(auth, "/");
    char host[300], path[2400];
    snprintf(host, sizeof host, "%.*s", (int)alen, auth);
    if (ep.path_style) snprintf(path, sizeof path, "%s/%s/%s", auth + alen, bucket, ekey);
    else snprintf(path, sizeof path, "%s/%s", auth + alen, ekey);
    struct irh_header h = { "host", host };
    struct irh_sigv4_request sreq = { .method = method, .path = path, .query = "", .headers = &h, .nheaders = 1 };
    struct irh_sigv4_params sp = { .region = ep.signing_region, .service = "s3", .now = time(NULL), .s3 = 1,
                                   .unsigned_payload = 1, .expires = expires };
    if (irh_sigv4_presign(&sreq, &sp, creds, &sr, err, sizeof err) != 0) goto done;
    if (c->npresigned >= MAX_PRESIGNED) { irh_awc_err(err, sizeof err, "presign: too many presigned URLs in one run (max %d)", MAX_PRESIGNED); goto done; }
    /* The URL carries the session token: it stays here as a secret until ctx.handoff. */
    int ulen = snprintf(NULL, 0, "%.*s://%s%s?%s", (int)(se ? se - ep.url : 5), se ? ep.url : "https", host, path, sr.query);
    char *url = ulen > 0 ? malloc((size_t)ulen + 1) : NULL;
    struct presigned *pu = &c->presigned[c->npresigned];
    if (url) snprintf(url, (size_t)ulen + 1, "%.*s://%s%s?%s", (int)(se ? se - ep.url : 5), se ? ep.url : "https", host, path, sr.query);
    int put = url ? irh_secrets_put(c->secrets, url, (size_t)ulen, pu->handle, err, sizeof err) : -1;
    if (url) { explicit_bzero(url, (size_t)ulen); free(url); }
    if (put != 0) { if (!url) irh_awc_err(err, sizeof err, "out of memory"); goto done; }
    time_t until = time(NULL) + expires;
    struct tm tm;
    gmtime_r(&until, &tm);
    strftime(pu->expires, sizeof pu->expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(pu->what, sizeof pu->what, "%s s3://%s/%s", method, bucket, key);
    c->npresigned++;
    out = irh_kv_new();
    if (!out || irh_kv_adds(out, "handle", pu->handle) || irh_kv_adds(out, "expires", pu->expires) ||
        irh_kv_adds(out, "what", pu->what)) {
        irh_kv_free(out);
        out = NULL;
        irh_awc_err(err, sizeof err, "out of memory");
        goto done;
    }
    kind = "presigned";
done:
    irh_awc_audit(c, &k0, "s3", op, 0, NULL, 0, kind, out ? NULL : kind, out ? NULL : err, 0);
    if (strcmp(kind, "credentials") == 0) irh_awc_set_fatal(c, 4, "%s", err);
    irh_sigv4_result_free(&sr);
    free(ekey);
    free(params);
    return out ? out : reply_error(err);
}

static struct irh_kv *do_secret_gen(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[300], handle[IRH_SECRET_HANDLE_LEN + 1];
    const char *len = irh_awc_kv_str(req, "length"), *charset = irh_kv_get(req, "charset", NULL);
    char *end;
    long n = strtol(len, &end, 10);
    if (!*len || *end || n < 1) return reply_error("secret.generate: length must be a positive integer");
    if (irh_secrets_generate(c->secrets, (size_t)n, charset, handle, err, sizeof err) != 0) return reply_error(err);
    struct irh_kv *out = irh_kv_new();
    if (!out || irh_kv_adds(out, "handle", handle)) { irh_kv_free(out); return reply_error("out of memory"); }
    return out;
}

/* arn:PART:iam::ACCT:role/path/NAME -> arn:PART:sts::ACCT:assumed-role/NAME/SESSION */
static int assumed_arn(const char *role_arn, const char *session, char *out, size_t outlen, char *account, size_t acclen)
{
    char part[32], acct[16];
    const char *p = role_arn;
    if (strncmp(p, "arn:", 4) != 0) return -1;
    p += 4;
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= sizeof part) return -1;
    memcpy(part, p, n); part[n] = '\0';
    p += n;
    if (strncmp(p, ":iam::", 6) != 0) return -1;
    p += 6;
    n = strcspn(p, ":");
    if (n != 12) return -1;
    memcpy(acct, p, n); acct[n] = '\0';
    p += n;
    if (strncmp(p, ":role/", 6) != 0) return -1;
    const char *name = strrchr(p, '/') + 1;
    if (!*name) return -1;
    snprintf(out, outlen, "arn:%s:sts::%s:assumed-role/%s/%s", part, acct, name, session);
    snprintf(account, acclen, "%s", acct);
    return 0;
}

static struct irh_kv *do_assume_role(struct irh_awscall *c, const struct irh_kv *req)
{
    char err[700];
    const char *arn = irh_awc_kv_str(req, "role_arn"), *session = irh_awc_kv_str(req, "session_name");
    const char *ext = irh_kv_get(req, "external_id", NULL), *dur = irh_awc_kv_str(req, "duration");
    long duration = *dur ? strtol(dur, NULL, 10) : 3600;
    struct call k0;
    memset(&k0, 0, sizeof k0);
    snprintf(k0.operation, sizeof k0.operation, "AssumeRole");
    snprintf(k0.region, sizeof k0.region, "%s", c->region);
    char arnbuf[300], account[16];
    if (!*session) session = "irhost";
    if (strlen(arn) > 200 || !irh_awc_is_token(session, 64, "=,.@-_") || assumed_arn(arn, session, arnbuf, sizeof arnbuf, account, sizeof account))
        return reply_error("assume_role: role_arn must be arn:aws:iam::ACCOUNT:role/NAME and session_name 2-64 of [A-Za-z0-9=,.@_-]");
    if (duration < 900 || duration > 43200) return reply_error("assume_role: duration must be 900..43200 seconds");
    if (ext && (strlen(ext) > 1224 || !irh_awc_is_token(ext, 1224, "+=,.@:/-_"))) return reply_error("assume_role: malformed external_id");
    if (c->nroles >= MAX_ROLES) return reply_error("assume_role: too many roles in one run (max 64)");
    char *jarn = irh_json_escape(arn, strlen(arn)), *jses = irh_json_escape(session, strlen(session));
    char params[900];
    snprintf(params, sizeof params, "{\"RoleArn\":\"%s\",\"RoleSessionName\":\"%s\",\"DurationSeconds\":%ld%s}",
             jarn ? jarn : "", jses ? jses : "", duration, ext && *ext ? ",\"ExternalId\":\"***\"" : "");
    free(jarn);
    free(jses);
    k0.params = params;
    k0.account = account;
    const char *kind = "error";
    struct irh_cred_provider *base, *p = NULL;
    const struct irh_creds *creds;
    if (irh_awc_permitted(c, "sts:AssumeRole", err, sizeof err) != 0) { kind = "denied"; goto fail; }
    if (irh_ratelimit_count_call(c->rl, 0, err, sizeof err) != 0) { kind = "cap"; irh_awc_set_fatal(c, 3, "%s", err); goto fail; }
    if (!(base = irh_awc_base_creds(c, err, sizeof err))) { kind = "credentials"; irh_awc_set_fatal(c, 4, "%s", err); goto fail; }
    c->stats.calls++;
    k0.attempt = 1;
    if (!(p = irh_cred_assume_role(base, arn, session, ext && *ext ? ext : NULL, duration, err, sizeof err)) ||
        irh_cred_get(p, &creds, err, sizeof err) != 0) {
        c->stats.errors++;
        goto fail;
    }
    struct role *r = &c->roles[c->nroles++];
    r->p = p;
    snprintf(r->arn, sizeof r->arn, "%s", arnbuf);
    snprintf(r->account, sizeof r->account, "%s", account);
    char exp[40] = "";
    if (creds->expiration) {
        struct tm tm;
        gmtime_r(&creds->expiration, &tm);
        strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    irh_awc_audit(c, &k0, "sts", "AssumeRole", 200, NULL, 0, "ok", NULL, NULL, 0);
    struct irh_kv *out = irh_kv_new();
    if (!out || irh_kv_addf(out, "handle", "irhost-cred-%zu", c->nroles) || irh_kv_adds(out, "arn", r->arn) ||
        irh_kv_adds(out, "expiration", exp)) {
        irh_kv_free(out);
        return reply_error("out of memory");
    }
    return out;
fail:
    irh_cred_provider_free(p);
    irh_awc_audit(c, &k0, "sts", "AssumeRole", 0, NULL, 0, kind, kind, err, 0);
    return reply_error(err);
}

/* Writes all of buf; non-zero on failure. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The label as it may appear on a terminal and in a file: printable ASCII, one line. */
static void clean_label(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; in && *in && n + 1 < outlen; in++)
        out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[n] = '\0';
}

static struct irh_kv *do_handoff(struct irh_awscall *c, const struct irh_kv *req)
{
    const char *handle = irh_awc_kv_str(req, "handle");
    struct presigned *pu = NULL;
    for (size_t i = 0; i < c->npresigned; i++)
        if (strcmp(c->presigned[i].handle, handle) == 0) pu = &c->presigned[i];
    if (!pu) return reply_error("handoff: not a handle from aws.presign in this run (only presigned URLs are handed off)");
    if (!c->run_dir) return reply_error("handoff: this run has no run directory");
    char label[201];
    clean_label(irh_kv_get(req, "label", NULL), label, sizeof label);
    if (!label[0]) snprintf(label, sizeof label, "%.200s", pu->what);
    size_t vlen;
    const unsigned char *url = irh_secrets_get(c->secrets, pu->handle, &vlen);
    if (!url) return reply_error("handoff: the presigned URL is gone");
    size_t plen = strlen(c->run_dir) + sizeof "/handoff.txt";
    char *path = malloc(plen);
    if (!path) return reply_error("out of memory");
    snprintf(path, plen, "%s/handoff.txt", c->run_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0) return reply_error("handoff: cannot write handoff.txt in the run directory");
    /* write(2), not stdio: no buffer of ours keeps a copy of the URL. */
    char head[1700];
    snprintf(head, sizeof head, "# %s: %s, expires %s\n", label, pu->what, pu->expires);
    int bad = fchmod(fd, 0600) != 0 || write_all(fd, head, strlen(head)) || write_all(fd, url, vlen) ||
              write_all(fd, "\n\n", 2);
    bad |= close(fd) != 0;
    if (bad) return reply_error("handoff: cannot write handoff.txt in the run directory");
    /* The deliverable: shown even under --quiet. */
    snprintf(head, sizeof head, "irhost: presigned URL for %s (%s, expires %s), also in handoff.txt:\n", label,
             pu->what, pu->expires);
    fflush(stderr);
    (void)(write_all(STDERR_FILENO, head, strlen(head)) || write_all(STDERR_FILENO, url, vlen) ||
           write_all(STDERR_FILENO, "\n", 1));
    struct irh_kv *out = irh_kv_new();
    if (!out || irh_kv_adds(out, "path", "handoff.txt") || irh_kv_adds(out, "what", pu->what) ||
        irh_kv_adds(out, "expires", pu->expires) || irh_kv_adds(out, "label", label)) {
        irh_kv_free(out);
        return reply_error("out of memory");
    }
    return out;
}

struct irh_kv *irh_awscall_request(struct irh_awscall *c, uint8_t type, const struct irh_kv *req)
{
    switch (type) {
    case IRH_MSG_SIGN: return do_sign(c, req);
    case IRH_MSG_PRESIGN: return do_presign(c, req);
    case IRH_MSG_SECRET_GEN: return do_secret_gen(c, req);
    case IRH_MSG_ASSUME_ROLE: return do_assume_role(c, req);
    case IRH_MSG_HANDOFF: return do_handoff(c, req);
    default: return reply_error("unknown request type for the AWS pipeline");
    }
}
