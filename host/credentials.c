/* The credential provider chain (see credentials.h), in botocore's order
 * (botocore/credentials.py create_credential_resolver):
 *   environment (skipped when --profile names the profile explicitly)
 *   -> role_arn in the profile (source_profile / credential_source)
 *   -> web identity (AWS_WEB_IDENTITY_TOKEN_FILE or the profile's web_identity_token_file)
 *   -> static keys in the credentials file -> credential_process -> static keys in the
 *      config file -> container endpoint -> IMDSv2.
 * Credentials are cached and re-resolved 5 minutes before they expire. */
#include "credentials.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "awsconfig.h"
#include "credprocess.h"
#include "imds.h"
#include "sts.h"
#include "tty.h"

#define REFRESH_WINDOW_S 300
#define MAX_CHAIN 16

struct irh_cred_provider {
    char *profile;
    int explicit_profile;            /* --profile: environment credentials do not apply */
    char *region;
    char *sts_override;
    int interactive;
    struct irh_awsconfig *cfg;
    struct irh_creds cur;
    int have;
    char arn[256];
    /* set for irh_cred_assume_role providers */
    struct irh_cred_provider *parent;
    char *role_arn, *session_name, *external_id;
    long duration_s;
};

struct chain {                       /* one resolution: the profiles visited for role_arn */
    struct irh_cred_provider *p;
    const char *visited[MAX_CHAIN];
    size_t nvisited;
};

static void wipe_free(char *s)
{
    if (s) { explicit_bzero(s, strlen(s)); free(s); }
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int dup_into(char **dst, const char *src)
{
    *dst = NULL;
    if (!src) return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static void where(struct chain *c, const char *profile, const char *key, char *out, size_t outlen)
{
    irh_awsconfig_where(c->p->cfg, profile, key, out, outlen);
}

/* ---------------------------------------------------------------- static links */

static int from_env(struct irh_creds *out, char *err, size_t errlen)
{
    const char *ak = env("AWS_ACCESS_KEY_ID");
    const char *sk = env("AWS_SECRET_ACCESS_KEY");
    if (!sk) {
        snprintf(err, errlen, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset "
                 "AWS_ACCESS_KEY_ID to use a profile");
        return -1;
    }
    const char *tok = env("AWS_SECURITY_TOKEN");
    if (!tok) tok = env("AWS_SESSION_TOKEN");
    const char *exp = env("AWS_CREDENTIAL_EXPIRATION");
    if (exp && irh_iso8601_parse(exp, &out->expiration) < 0) {
        snprintf(err, errlen, "AWS_CREDENTIAL_EXPIRATION is not an ISO-8601 time (e.g. 2026-12-03T17:00:00Z)");
        return -1;
    }
    if (dup_into(&out->access_key_id, ak) < 0 || dup_into(&out->secret_access_key, sk) < 0 ||
        dup_into(&out->session_token, tok) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(out->source, sizeof out->source, "environment");
    return 0;
}

/* Static keys of a profile in one file. Returns 1 when found, 0 when the profile has none,
 * -1 with err when they are incomplete. */
static int from_file(struct chain *c, enum irh_cfg_file f, const char *profile, struct irh_creds *out,
                     char *err, size_t errlen)
{
    const struct irh_awsconfig *cfg = c->p->cfg;
    const char *ak = irh_awsconfig_get_in(cfg, f, profile, "aws_access_key_id");
    if (!ak) return 0;
    const char *sk = irh_awsconfig_get_in(cfg, f, profile, "aws_secret_access_key");
    char w[600];
    irh_awsconfig_where(cfg, profile, "aws_access_key_id", w, sizeof w);
    if (!*ak || !sk || !*sk) {
        snprintf(err, errlen, "profile '%s' (%s) has %s but no aws_secret_access_key: add it, or remove the "
                 "access key", profile, w, *ak ? "aws_access_key_id" : "an empty aws_access_key_id");
        return -1;
    }
    const char *tok = irh_awsconfig_get_in(cfg, f, profile, "aws_security_token");
    if (!tok) tok = irh_awsconfig_get_in(cfg, f, profile, "aws_session_token");
    if (dup_into(&out->access_key_id, ak) < 0 || dup_into(&out->secret_access_key, sk) < 0 ||
        dup_into(&out->session_token, tok && *tok ? tok : NULL) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(out->source, sizeof out->source, "profile %.40s", profile);
    return 1;
}

static int from_process(struct chain *c, const char *profile, struct irh_creds *out, char *err, size_t errlen)
{
    const char *cmd = irh_awsconfig_get(c->p->cfg, profile, "credential_process");
    if (!cmd) return 0;
    char w[600], what[700];
    where(c, profile, "credential_process", w, sizeof w);
    snprintf(what, sizeof what, "profile '%s' (%s)", profile, w);
    if (!*cmd) { snprintf(err, errlen, "credential_process of %s is empty", what); return -1; }
    if (irh_credprocess_run(cmd, what, out, err, errlen) < 0) return -1;
    snprintf(out->source, sizeof out->source, "profile %.30s (credential_process)", profile);
    return 1;
}

/* ---------------------------------------------------------------- STS links */

static const char *sts_region(struct chain *c, const char *profile)
{
    if (c->p->region && *c->p->region) return c->p->region;
    const char *r = irh_awsconfig_get(c->p->cfg, profile, "region");
    return r && *r ? r : "";
}

static void default_session_name(char *out, size_t outlen)
{
    snprintf(out, outlen, "botocore-session-%lld", (long long)time(NULL));
}

static char *read_token_file(const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "cannot read the web identity token file %s (%s)", path, what); return NULL; }
    size_t cap = 64 * 1024;
    char *buf = calloc(1, cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (!buf) { snprintf(err, errlen, "out of memory"); return NULL; }
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "the web identity token file %s (%s) is empty", path, what);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Web identity from the environment (unless the profile is explicit) or the profile.
 * Returns 1 when configured and fetched, 0 when not configured, -1 with err. */
static int from_web_identity(struct chain *c, const char *profile, int use_env, struct irh_creds *out,
                             char *err, size_t errlen)
{
    const struct irh_awsconfig *cfg = c->p->cfg;
    const char *file = use_env ? env("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
    const char *what = "AWS_WEB_IDENTITY_TOKEN_FILE";
    if (!file) { file = irh_awsconfig_get(cfg, profile, "web_identity_token_file"); what = "web_identity_token_file"; }
    if (!file || !*file) return 0;
    const char *role = use_env ? env("AWS_ROLE_ARN") : NULL;
    if (!role) role = irh_awsconfig_get(cfg, profile, "role_arn");
    if (!role || !*role) {
        snprintf(err, errlen, "web identity is configured (%s) but no role is: set AWS_ROLE_ARN or role_arn in "
                 "profile '%s'", what, profile);
        return -1;
    }
    const char *name = use_env ? env("AWS_ROLE_SESSION_NAME") : NULL;
    if (!name) name = irh_awsconfig_get(cfg, profile, "role_session_name");
    char dflt[64];
    if (!name || !*name) { default_session_name(dflt, sizeof dflt); name = dflt; }
    char *token = read_token_file(file, what, err, errlen);
    if (!token) return -1;
    struct irh_endpoint ep;
    int rc = -1;
    if (irh_sts_endpoint(sts_region(c, profile), c->p->sts_override, &ep, err, errlen) == 0) {
        struct irh_sts_assume a = { role, name, NULL, NULL, NULL, 0, token };
        if (irh_sts_assume_role(&ep, NULL, &a, out, c->p->arn, sizeof c->p->arn, err, errlen) == 0) {
            snprintf(out->source, sizeof out->source, "web identity");
            rc = 1;
        }
    }
    wipe_free(token);
    return rc;
}

static int link_container(struct irh_creds *out, char *err, size_t errlen)
{
    return irh_container_credentials(out, err, errlen);
}

static int link_imds(struct irh_creds *out, char *err, size_t errlen)
{
    return irh_imds_credentials(out, err, errlen);
}

static int assume_from_profile(struct chain *c, const char *profile, struct irh_creds *out, char *err, size_t errlen);

/* botocore's profile providers for a source profile: web identity (profile only), the
 * credentials file, credential_process, the config file. 1 found, 0 none, -1 error. */
static int profile_links(struct chain *c, const char *profile, struct irh_creds *out, char *err, size_t errlen)
{
    int r = from_web_identity(c, profile, 0, out, err, errlen);
    if (r == 0) r = from_file(c, IRH_CFG_CREDENTIALS, profile, out, err, errlen);
    if (r == 0) r = from_process(c, profile, out, err, errlen);
    if (r == 0) r = from_file(c, IRH_CFG_CONFIG, profile, out, err, errlen);
    return r;
}

static int has_static(struct chain *c, const char *profile)
{
    return irh_awsconfig_get(c->p->cfg, profile, "aws_access_key_id") ||
           irh_awsconfig_get(c->p->cfg, profile, "aws_secret_access_key");
}

static void visited_list(struct chain *c, const char *last, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i <= c->nvisited; i++) {
        const char *n = i < c->nvisited ? c->visited[i] : last;
        int w = snprintf(out + used, outlen - used, "%s%s", i ? " -> " : "", n);
        if (w < 0 || (size_t)w >= outlen - used) return;
        used += (size_t)w;
    }
}

static int source_from_profile(struct chain *c, const char *profile, const char *sp, struct irh_creds *out,
                               char *err, size_t errlen)
{
    char w[600];
    where(c, profile, "source_profile", w, sizeof w);
    if (!irh_awsconfig_has_profile(c->p->cfg, sp)) {
        char names[512];
        irh_awsconfig_profiles(c->p->cfg, names, sizeof names);
        snprintf(err, errlen, "source_profile '%s' of profile '%s' (%s) does not exist; profiles: %s", sp, profile,
                 w, names);
        return -1;
    }
    int seen = 0;
    for (size_t i = 0; i < c->nvisited; i++) if (strcmp(c->visited[i], sp) == 0) seen = 1;
    /* A profile may name itself to take its own static keys; any other repeat is a loop. */
    if (seen && (strcmp(sp, profile) != 0 || !has_static(c, sp))) {
        char path[400];
        visited_list(c, sp, path, sizeof path);
        snprintf(err, errlen, "source_profile settings form a loop (%s) at %s; point one of them at a profile "
                 "with keys", path, w);
        return -1;
    }
    if (c->nvisited >= MAX_CHAIN) {
        snprintf(err, errlen, "more than %d chained source_profile settings at %s", MAX_CHAIN, w);
        return -1;
    }
    c->visited[c->nvisited++] = sp;
    if (has_static(c, sp) || !irh_awsconfig_get(c->p->cfg, sp, "role_arn")) {
        int r = profile_links(c, sp, out, err, errlen);
        if (r == 0)
            snprintf(err, errlen, "source_profile '%s' of profile '%s' (%s) has no credentials: give it keys, a "
                     "credential_process or a role", sp, profile, w);
        return r > 0 ? 0 : -1;
    }
    return assume_from_profile(c, sp, out, err, errlen);
}

static int source_from_link(struct chain *c, const char *profile, const char *src, struct irh_creds *out,
                            char *err, size_t errlen)
{
    char w[600], inner[700];
    where(c, profile, "credential_source", w, sizeof w);
    int r;
    if (strcasecmp(src, "Environment") == 0) {
        if (env("AWS_ACCESS_KEY_ID")) r = from_env(out, inner, sizeof inner);
        else {
            snprintf(inner, sizeof inner, "AWS_ACCESS_KEY_ID is not set");
            r = -1;
        }
    } else if (strcasecmp(src, "Ec2InstanceMetadata") == 0) r = link_imds(out, inner, sizeof inner);
    else if (strcasecmp(src, "EcsContainer") == 0) r = link_container(out, inner, sizeof inner);
    else {
        snprintf(err, errlen, "credential_source '%s' of profile '%s' (%s) is not one of Environment, "
                 "Ec2InstanceMetadata, EcsContainer", src, profile, w);
        return -1;
    }
    if (r < 0) snprintf(err, errlen, "credential_source %s of profile '%s' (%s): %s", src, profile, w, inner);
    return r;
}

/* The MFA code for mfa_serial, from the terminal only. */
static int mfa_code(struct chain *c, const char *profile, const char *serial, char *code, size_t codelen,
                    char *err, size_t errlen)
{
    char w[600], terr[200];
    where(c, profile, "mfa_serial", w, sizeof w);
    if (!c->p->interactive) {
        snprintf(err, errlen, "profile '%s' needs an MFA code for %s (mfa_serial at %s) but this run has no "
                 "terminal: run irhost interactively, or use a profile without mfa_serial", profile, serial, w);
        return -1;
    }
    char prompt[400];
    snprintf(prompt, sizeof prompt, "Enter MFA code for %s: ", serial);
    if (irh_tty_read_secret(prompt, code, codelen, terr, sizeof terr) < 0) {
        snprintf(err, errlen, "profile '%s' needs an MFA code for %s (mfa_serial at %s): %s", profile, serial, w, terr);
        return -1;
    }
    return 0;
}

static int assume_from_profile(struct chain *c, const char *profile, struct irh_creds *out, char *err, size_t errlen)
{
    const struct irh_awsconfig *cfg = c->p->cfg;
    const char *role = irh_awsconfig_get(cfg, profile, "role_arn");
    const char *sp = irh_awsconfig_get(cfg, profile, "source_profile");
    const char *cs = irh_awsconfig_get(cfg, profile, "credential_source");
    char w[600];
    where(c, profile, "role_arn", w, sizeof w);
    if (sp && cs) {
        snprintf(err, errlen, "profile '%s' (%s) has both source_profile and credential_source; keep one", profile, w);
        return -1;
    }
    if (!sp && !cs) {
        snprintf(err, errlen, "profile '%s' (%s) has role_arn but neither source_profile nor credential_source; "
                 "add one", profile, w);
        return -1;
    }
    long duration = 0;
    const char *ds = irh_awsconfig_get(cfg, profile, "duration_seconds");
    if (ds) {
        char *end;
        duration = strtol(ds, &end, 10);
        if (*ds == '\0' || *end != '\0' || duration < 900 || duration > 43200) {
            char dw[600];
            where(c, profile, "duration_seconds", dw, sizeof dw);
            snprintf(err, errlen, "duration_seconds of profile '%s' (%s) must be a number of seconds from 900 to "
                     "43200", profile, dw);
            return -1;
        }
    }
    struct irh_creds src = { 0 };
    int rc = -1;
    char code[64] = "";
    if ((sp ? source_from_profile(c, profile, sp, &src, err, errlen)
            : source_from_link(c, profile, cs, &src, err, errlen)) < 0)
        goto out;
    const char *serial = irh_awsconfig_get(cfg, profile, "mfa_serial");
    if (serial && *serial && mfa_code(c, profile, serial, code, sizeof code, err, errlen) < 0) goto out;
    const char *name = irh_awsconfig_get(cfg, profile, "role_session_name");
    char dflt[64];
    if (!name || !*name) { default_session_name(dflt, sizeof dflt); name = dflt; }
    struct irh_endpoint ep;
    if (irh_sts_endpoint(sts_region(c, profile), c->p->sts_override, &ep, err, errlen) < 0) goto out;
    struct irh_sts_assume a = { role, name, irh_awsconfig_get(cfg, profile, "external_id"),
                                serial && *serial ? serial : NULL, code, duration, NULL };
    char inner[700];
    if (irh_sts_assume_role(&ep, &src, &a, out, c->p->arn, sizeof c->p->arn, inner, sizeof inner) < 0) {
        snprintf(err, errlen, "profile '%s' (%s): %s", profile, w, inner);
        goto out;
    }
    snprintf(out->source, sizeof out->source, "profile %.30s (assume role)", profile);
    rc = 0;
out:
    explicit_bzero(code, sizeof code);
    irh_creds_clear(&src);
    return rc;
}

/* ---------------------------------------------------------------- the chain */

static int resolve_chain(struct irh_cred_provider *p, struct irh_creds *out, char *err, size_t errlen)
{
    struct chain c = { p, { p->profile }, 1 };
    const struct irh_awsconfig *cfg = p->cfg;
    const char *prof = p->profile;
    if (!p->explicit_profile && env("AWS_ACCESS_KEY_ID")) return from_env(out, err, errlen);
    if (irh_awsconfig_get(cfg, prof, "role_arn") && !irh_awsconfig_get(cfg, prof, "web_identity_token_file"))
        return assume_from_profile(&c, prof, out, err, errlen);
    int r = from_web_identity(&c, prof, !p->explicit_profile, out, err, errlen);
    if (r == 0) r = from_file(&c, IRH_CFG_CREDENTIALS, prof, out, err, errlen);
    if (r == 0) r = from_process(&c, prof, out, err, errlen);
    if (r == 0) r = from_file(&c, IRH_CFG_CONFIG, prof, out, err, errlen);
    if (r != 0) return r > 0 ? 0 : -1;
    if (irh_container_configured()) return link_container(out, err, errlen);
    char ierr[400];
    if (link_imds(out, ierr, sizeof ierr) == 0) return 0;
    char names[400];
    irh_awsconfig_profiles(cfg, names, sizeof names);
    snprintf(err, errlen, "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use "
             "--profile NAME (profiles: %s in %s and %s), or give profile '%s' keys, a role or a "
             "credential_process; EC2 instance metadata: %s", names, irh_awsconfig_path(cfg, IRH_CFG_CREDENTIALS),
             irh_awsconfig_path(cfg, IRH_CFG_CONFIG), prof, ierr);
    return -1;
}

static int resolve_role(struct irh_cred_provider *p, struct irh_creds *out, char *err, size_t errlen)
{
    const struct irh_creds *src;
    char inner[700];
    if (irh_cred_get(p->parent, &src, inner, sizeof inner) < 0) {
        snprintf(err, errlen, "cannot assume %s: %s", p->role_arn, inner);
        return -1;
    }
    struct irh_endpoint ep;
    if (irh_sts_endpoint(p->region ? p->region : "", p->sts_override, &ep, err, errlen) < 0) return -1;
    struct irh_sts_assume a = { p->role_arn, p->session_name, p->external_id, NULL, NULL, p->duration_s, NULL };
    if (irh_sts_assume_role(&ep, src, &a, out, p->arn, sizeof p->arn, inner, sizeof inner) < 0) {
        snprintf(err, errlen, "cannot assume %s: %s", p->role_arn, inner);
        return -1;
    }
    snprintf(out->source, sizeof out->source, "assumed role");
    return 0;
}

int irh_cred_get(struct irh_cred_provider *p, const struct irh_creds **out, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    time_t now = time(NULL);
    if (p->have && (p->cur.expiration == 0 || p->cur.expiration - now > REFRESH_WINDOW_S)) {
        *out = &p->cur;
        return 0;
    }
    struct irh_creds fresh = { 0 };
    int r = p->parent ? resolve_role(p, &fresh, err, errlen) : resolve_chain(p, &fresh, err, errlen);
    if (r == 0 && fresh.expiration != 0 && fresh.expiration <= now) {
        char when[32];
        struct tm tm;
        gmtime_r(&fresh.expiration, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(err, errlen, "the credentials from %s expired at %s: refresh them (new session token, "
                 "AWS_CREDENTIAL_EXPIRATION, or the source that issues them) and run again", fresh.source, when);
        r = -1;
    }
    if (r < 0) {
        irh_creds_clear(&fresh);
        /* A failed early refresh keeps what still works, as botocore's advisory refresh does. */
        if (p->have && p->cur.expiration > now) { *out = &p->cur; return 0; }
        return -1;
    }
    irh_creds_clear(&p->cur);
    p->cur = fresh;
    p->have = 1;
    *out = &p->cur;
    return 0;
}

/* ---------------------------------------------------------------- construction */

static struct irh_cred_provider *alloc_provider(const char *region, const char *sts_override, int interactive)
{
    struct irh_cred_provider *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->interactive = interactive;
    if (dup_into(&p->region, region) < 0 || dup_into(&p->sts_override, sts_override) < 0) {
        irh_cred_provider_free(p);
        return NULL;
    }
    return p;
}

struct irh_cred_provider *irh_cred_provider_new(const struct irh_cred_options *o, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    const char *envp = env("AWS_PROFILE");
    const char *name = o->profile && *o->profile ? o->profile : envp ? envp : "default";
    struct irh_cred_provider *p = alloc_provider(o->region, o->sts_endpoint, o->interactive);
    if (!p || dup_into(&p->profile, name) < 0) {
        snprintf(err, errlen, "out of memory");
        irh_cred_provider_free(p);
        return NULL;
    }
    /* Only a profile named on the command line hides environment credentials (botocore
     * treats AWS_PROFILE as configuration, --profile as an instance setting). */
    p->explicit_profile = o->profile && *o->profile && !(envp && strcmp(envp, o->profile) == 0);
    p->cfg = irh_awsconfig_load(err, errlen);
    if (!p->cfg) { irh_cred_provider_free(p); return NULL; }
    if (strcmp(name, "default") != 0 && !irh_awsconfig_has_profile(p->cfg, name)) {
        char names[512];
        irh_awsconfig_profiles(p->cfg, names, sizeof names);
        snprintf(err, errlen, "profile '%s' (from %s) does not exist in %s or %s; profiles: %s", name,
                 o->profile && *o->profile ? "--profile" : "AWS_PROFILE", irh_awsconfig_path(p->cfg, IRH_CFG_CONFIG),
                 irh_awsconfig_path(p->cfg, IRH_CFG_CREDENTIALS), names);
        irh_cred_provider_free(p);
        return NULL;
    }
    return p;
}

struct irh_cred_provider *irh_cred_assume_role(struct irh_cred_provider *p, const char *role_arn,
                                               const char *session_name, const char *external_id,
                                               long duration_s, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    if (!p || !role_arn || strncmp(role_arn, "arn:", 4) != 0) {
        snprintf(err, errlen, "role_arn must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
        return NULL;
    }
    if (duration_s != 0 && (duration_s < 900 || duration_s > 43200)) {
        snprintf(err, errlen, "duration must be from 900 to 43200 seconds");
        return NULL;
    }
    char dflt[64];
    if (!session_name || !*session_name) {
        snprintf(dflt, sizeof dflt, "irhost-%lld", (long long)time(NULL));
        session_name = dflt;
    }
    struct irh_cred_provider *r = alloc_provider(p->region, p->sts_override, p->interactive);
    if (!r || dup_into(&r->role_arn, role_arn) < 0 || dup_into(&r->session_name, session_name) < 0 ||
        dup_into(&r->external_id, external_id && *external_id ? external_id : NULL) < 0) {
        snprintf(err, errlen, "out of memory");
        irh_cred_provider_free(r);
        return NULL;
    }
    r->parent = p;
    r->duration_s = duration_s;
    const struct irh_creds *c;
    if (irh_cred_get(r, &c, err, errlen) < 0) {
        irh_cred_provider_free(r);
        return NULL;
    }
    return r;
}

const char *irh_cred_arn(const struct irh_cred_provider *p)
{
    return p ? p->arn : "";
}

void irh_cred_provider_free(struct irh_cred_provider *p)
{
    if (!p) return;
    irh_creds_clear(&p->cur);
    irh_awsconfig_free(p->cfg);
    free(p->profile);
    free(p->region);
    free(p->sts_override);
    free(p->role_arn);
    free(p->session_name);
    wipe_free(p->external_id);
    free(p);
}
