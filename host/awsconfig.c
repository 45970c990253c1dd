/* Shared config and credentials files, parsed with Python configparser's rules because
 * that is what users' files have been tested against (botocore/configloader.py). */
#include "awsconfig.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
    char *key;
    char *value;        /* may be a secret: wiped on free */
    size_t section;     /* index into sections */
    int line;
};

struct section {
    char *raw;          /* the header text between the brackets */
    char *profile;      /* the profile it defines, or NULL (e.g. [sso-session x]) */
    int file;           /* enum irh_cfg_file */
    int line;
};

struct irh_awsconfig {
    struct entry *e;
    size_t n, cap;
    struct section *s;
    size_t ns, scap;
    char *path[2];
};

static void wipe_free(char *s)
{
    if (s) { explicit_bzero(s, strlen(s)); free(s); }
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, int line, const char *b)
{
    if (errlen) snprintf(err, errlen, fmt, a, line, b);
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---------------------------------------------------------------- paths */

static char *home_path(const char *rest)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "";
    }
    size_t n = strlen(home) + strlen(rest) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s", home, rest);
    return p;
}

/* The file named by env, with a leading ~ expanded as os.path.expanduser does. */
static char *config_path(const char *env, const char *dflt)
{
    const char *v = getenv(env);
    if (!v || !*v) return home_path(dflt);
    if (v[0] == '~' && (v[1] == '/' || v[1] == '\0')) return home_path(v + 1);
    return strdup(v);
}

/* ---------------------------------------------------------------- parsing */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, nc * size);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* configparser section names to profiles, as build_profile_map does: "default", or a
 * name starting with "profile" that shlex-splits into exactly two words. */
static char *profile_of(const char *raw, int file)
{
    if (strcmp(raw, "DEFAULT") == 0) return NULL;
    if (file == IRH_CFG_CREDENTIALS) return strdup(raw);
    if (strcmp(raw, "default") == 0) return strdup(raw);
    if (strncmp(raw, "profile", 7) != 0) return NULL;
    char words[2][256];
    size_t nw = 0, len = 0;
    int in_word = 0;
    char quote = 0;
    for (const char *p = raw;; p++) {
        char ch = *p;
        if (!quote && (ch == '\0' || ch == ' ' || ch == '\t')) {
            if (in_word) { if (nw < 2) words[nw][len] = '\0'; nw++; in_word = 0; len = 0; }
            if (ch == '\0') break;
            continue;
        }
        if (ch == '\0') return NULL;                /* unbalanced quote: shlex fails */
        if (!quote && (ch == '"' || ch == '\'')) { quote = ch; in_word = 1; continue; }
        if (quote && ch == quote) { quote = 0; continue; }
        in_word = 1;
        if (nw < 2 && len + 1 < sizeof words[0]) words[nw][len++] = ch;
    }
    if (nw != 2) return NULL;
    return strdup(words[1]);
}

struct parse {
    struct irh_awsconfig *c;
    const char *path;
    int file;
    size_t first_section;   /* sections of this file start here */
    long cur;               /* current section index, -1 before the first header */
    long opt;               /* current entry (for continuation lines), -1 when none */
    size_t opt_indent;
    size_t blanks;          /* blank lines since the last value line: kept inside a value */
};

static int add_section(struct parse *ps, const char *name, size_t n, int line, char *err, size_t errlen)
{
    struct irh_awsconfig *c = ps->c;
    char *raw = dup_range(name, n);
    if (!raw) goto oom;
    for (size_t i = ps->first_section; i < c->ns; i++) {
        /* configparser merges repeated [DEFAULT] sections; any other repeat is an error */
        if (strcmp(c->s[i].raw, raw) == 0 && strcmp(raw, "DEFAULT") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "section [%s] appears twice (first at line %d); merge the two sections",
                     raw, c->s[i].line);
            set_err(err, errlen, "%s:%d: %s", ps->path, line, msg);
            free(raw);
            return -1;
        }
    }
    if (grow((void **)&c->s, &c->scap, c->ns, sizeof *c->s) < 0) { free(raw); goto oom; }
    struct section *s = &c->s[c->ns];
    s->raw = raw;
    s->profile = profile_of(raw, ps->file);
    s->file = ps->file;
    s->line = line;
    ps->cur = (long)c->ns++;
    ps->opt = -1;
    return 0;
oom:
    set_err(err, errlen, "%s:%d: %s", ps->path, line, "out of memory");
    return -1;
}

static int add_option(struct parse *ps, const char *k, size_t kn, const char *v, size_t vn,
                      size_t indent, int line, char *err, size_t errlen)
{
    struct irh_awsconfig *c = ps->c;
    char *key = dup_range(k, kn);
    if (!key) goto oom;
    for (char *p = key; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].section == (size_t)ps->cur && strcmp(c->e[i].key, key) == 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "'%s' is set twice in [%s] (first at line %d); keep one",
                     key, c->s[ps->cur].raw, c->e[i].line);
            set_err(err, errlen, "%s:%d: %s", ps->path, line, msg);
            free(key);
            return -1;
        }
    }
    char *val = dup_range(v, vn);
    if (!val || grow((void **)&c->e, &c->cap, c->n, sizeof *c->e) < 0) { free(key); wipe_free(val); goto oom; }
    c->e[c->n] = (struct entry){ key, val, (size_t)ps->cur, line };
    ps->opt = (long)c->n++;
    ps->opt_indent = indent;
    return 0;
oom:
    set_err(err, errlen, "%s:%d: %s", ps->path, line, "out of memory");
    return -1;
}

/* An indented line continues the current value: configparser joins with '\n', blank lines
 * in between included (trailing ones are stripped, so they are only added here). */
static int continue_value(struct parse *ps, const char *v, size_t vn)
{
    struct entry *e = &ps->c->e[ps->opt];
    size_t old = strlen(e->value), nl = 1 + ps->blanks;
    char *nv = malloc(old + nl + vn + 1);
    if (!nv) return -1;
    memcpy(nv, e->value, old);
    memset(nv + old, '\n', nl);
    memcpy(nv + old + nl, v, vn);
    nv[old + nl + vn] = '\0';
    wipe_free(e->value);
    e->value = nv;
    return 0;
}

static int parse_line(struct parse *ps, const char *line, size_t len, int lineno, char *err, size_t errlen)
{
    size_t indent = 0;
    while (indent < len && strchr(" \t\f\v\r", line[indent]) && line[indent]) indent++;
    const char *t = line + indent;
    size_t tn = len - indent;
    while (tn && strchr(" \t\f\v\r", t[tn - 1]) && t[tn - 1]) tn--;
    if (tn == 0) { ps->blanks++; return 0; }            /* blank: a value may still continue */
    if (t[0] == '#' || t[0] == ';') return 0;           /* full-line comment */
    size_t blanks = ps->blanks;
    ps->blanks = 0;
    if (ps->cur >= 0 && ps->opt >= 0 && indent > ps->opt_indent) {
        ps->blanks = blanks;
        int r = continue_value(ps, t, tn);
        ps->blanks = 0;
        if (r < 0) {
            set_err(err, errlen, "%s:%d: %s", ps->path, lineno, "out of memory");
            return -1;
        }
        return 0;
    }
    if (t[0] == '[') {
        const char *close = NULL;
        for (size_t i = tn; i > 1; i--) if (t[i - 1] == ']') { close = t + i - 1; break; }
        if (close && close > t + 1) return add_section(ps, t + 1, (size_t)(close - t - 1), lineno, err, errlen);
    }
    if (ps->cur < 0) {
        set_err(err, errlen, "%s:%d: %s", ps->path, lineno,
                "a setting before any [section] header; add [default] or [profile NAME] above it");
        return -1;
    }
    size_t d = 0;
    while (d < tn && t[d] != '=' && t[d] != ':') d++;
    if (d == tn) {
        set_err(err, errlen, "%s:%d: %s", ps->path, lineno,
                "expected 'name = value' or a [section] header");
        return -1;
    }
    size_t kn = d;
    while (kn && (t[kn - 1] == ' ' || t[kn - 1] == '\t')) kn--;
    if (kn == 0) {
        set_err(err, errlen, "%s:%d: %s", ps->path, lineno, "a setting without a name before its '='");
        return -1;
    }
    size_t vs = d + 1;
    while (vs < tn && (t[vs] == ' ' || t[vs] == '\t')) vs++;
    return add_option(ps, t, kn, t + vs, tn - vs, indent, lineno, err, errlen);
}

static int parse_text(struct irh_awsconfig *c, int file, const char *path, const char *text, size_t len,
                      char *err, size_t errlen)
{
    struct parse ps = { c, path, file, c->ns, -1, -1, 0, 0 };
    size_t start = 0;
    int lineno = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && text[end] != '\n') end++;
        lineno++;
        if (parse_line(&ps, text + start, end - start, lineno, err, errlen) < 0) return -1;
        start = end + 1;
    }
    /* configparser strips trailing blank continuation lines; ours never added them. */
    return 0;
}

static int load_file(struct irh_awsconfig *c, int file, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        if (errlen) snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { fclose(f); return 0; }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf) goto out;
    for (;;) {
        if (n == cap) {
            /* grow by copying so that no secret is left behind in a freed block */
            char *nb = malloc(cap * 2);
            if (!nb) goto out;
            memcpy(nb, buf, n);
            explicit_bzero(buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
        if (n > 16u * 1024u * 1024u) {
            if (errlen) snprintf(err, errlen, "%s is larger than 16 MB; is it really an AWS config file?", path);
            goto out_quiet;
        }
    }
    if (ferror(f)) {
        if (errlen) snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto out_quiet;
    }
    rc = parse_text(c, file, path, buf, n, err, errlen);
    goto out_quiet;
out:
    if (errlen) snprintf(err, errlen, "cannot read %s: out of memory", path);
out_quiet:
    if (buf) { explicit_bzero(buf, cap); free(buf); }
    fclose(f);
    return rc;
}

struct irh_awsconfig *irh_awsconfig_load_files(const char *config_path, const char *credentials_path,
                                               char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    struct irh_awsconfig *c = calloc(1, sizeof *c);
    if (!c) { if (errlen) snprintf(err, errlen, "out of memory"); return NULL; }
    const char *paths[2] = { config_path, credentials_path };
    for (int f = 0; f < 2; f++) {
        if (!paths[f]) continue;
        c->path[f] = strdup(paths[f]);
        if (!c->path[f]) { if (errlen) snprintf(err, errlen, "out of memory"); goto fail; }
        if (load_file(c, f, c->path[f], err, errlen) < 0) goto fail;
    }
    return c;
fail:
    irh_awsconfig_free(c);
    return NULL;
}

struct irh_awsconfig *irh_awsconfig_load(char *err, size_t errlen)
{
    char *cfg = config_path("AWS_CONFIG_FILE", "/.aws/config");
    char *cred = config_path("AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials");
    struct irh_awsconfig *c = NULL;
    if (cfg && cred) c = irh_awsconfig_load_files(cfg, cred, err, errlen);
    else if (errlen) snprintf(err, errlen, "out of memory");
    free(cfg);
    free(cred);
    return c;
}

/* ---------------------------------------------------------------- lookups */

static const struct entry *find(const struct irh_awsconfig *c, int file, const char *profile, const char *key)
{
    if (!c || !profile || !key) return NULL;
    const struct entry *hit = NULL, *dflt = NULL;
    int in_file = 0;
    for (size_t i = 0; i < c->ns; i++)
        if (c->s[i].file == file && c->s[i].profile && strcmp(c->s[i].profile, profile) == 0) in_file = 1;
    /* The last matching section wins, as dict assignment in build_profile_map does
     * ([default] and [profile default] both name "default"). */
    for (size_t i = 0; i < c->n; i++) {
        const struct section *s = &c->s[c->e[i].section];
        if (s->file != file || strcmp(c->e[i].key, key) != 0) continue;
        if (s->profile && strcmp(s->profile, profile) == 0) hit = &c->e[i];
        else if (!s->profile && strcmp(s->raw, "DEFAULT") == 0) dflt = &c->e[i];
    }
    /* configparser's [DEFAULT] values show through in every section of its file */
    return hit ? hit : in_file ? dflt : NULL;
}

const char *irh_awsconfig_get_in(const struct irh_awsconfig *c, enum irh_cfg_file f,
                                 const char *profile, const char *key)
{
    const struct entry *e = find(c, (int)f, profile, key);
    return e ? e->value : NULL;
}

const char *irh_awsconfig_get(const struct irh_awsconfig *c, const char *profile, const char *key)
{
    const char *v = irh_awsconfig_get_in(c, IRH_CFG_CREDENTIALS, profile, key);
    return v ? v : irh_awsconfig_get_in(c, IRH_CFG_CONFIG, profile, key);
}

int irh_awsconfig_has_profile(const struct irh_awsconfig *c, const char *profile)
{
    if (!c || !profile) return 0;
    for (size_t i = 0; i < c->ns; i++)
        if (c->s[i].profile && strcmp(c->s[i].profile, profile) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void irh_awsconfig_profiles(const struct irh_awsconfig *c, char *out, size_t outlen)
{
    if (!outlen) return;
    out[0] = '\0';
    size_t n = 0;
    const char **names = c && c->ns ? malloc(c->ns * sizeof *names) : NULL;
    if (names)
        for (size_t i = 0; i < c->ns; i++) if (c->s[i].profile) names[n++] = c->s[i].profile;
    if (n == 0) { snprintf(out, outlen, "none"); free(names); return; }
    qsort(names, n, sizeof *names, cmp_str);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;
        int w = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= outlen - used) break;
        used += (size_t)w;
    }
    free(names);
}

void irh_awsconfig_where(const struct irh_awsconfig *c, const char *profile, const char *key,
                         char *out, size_t outlen)
{
    if (!outlen) return;
    out[0] = '\0';
    if (!c || !profile) return;
    for (int f = IRH_CFG_CREDENTIALS; f >= IRH_CFG_CONFIG; f--) {
        const struct entry *e = key ? find(c, f, profile, key) : NULL;
        if (e) { snprintf(out, outlen, "%s:%d", c->path[f], e->line); return; }
    }
    for (int f = IRH_CFG_CREDENTIALS; f >= IRH_CFG_CONFIG; f--)
        for (size_t i = 0; i < c->ns; i++)
            if (c->s[i].file == f && c->s[i].profile && strcmp(c->s[i].profile, profile) == 0) {
                snprintf(out, outlen, "%s:%d", c->path[f], c->s[i].line);
                return;
            }
}

void irh_awsconfig_foreach(const struct irh_awsconfig *c, irh_awsconfig_fn fn, void *ud)
{
    if (!c) return;
    for (size_t si = 0; si < c->ns; si++) {
        const struct section *s = &c->s[si];
        fn(ud, (enum irh_cfg_file)s->file, s->raw, NULL, NULL);
        for (size_t i = 0; i < c->n; i++)
            if (c->e[i].section == si) fn(ud, (enum irh_cfg_file)s->file, s->raw, c->e[i].key, c->e[i].value);
    }
}

const char *irh_awsconfig_path(const struct irh_awsconfig *c, enum irh_cfg_file f)
{
    return c && c->path[f] ? c->path[f] : "";
}

void irh_awsconfig_free(struct irh_awsconfig *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) { free(c->e[i].key); wipe_free(c->e[i].value); }
    for (size_t i = 0; i < c->ns; i++) { free(c->s[i].raw); free(c->s[i].profile); }
    free(c->e);
    free(c->s);
    free(c->path[0]);
    free(c->path[1]);
    free(c);
}
