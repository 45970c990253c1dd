/* host/ratelimit.c: token buckets per (service, region) and run-wide call caps (ratelimit.h). */
#include "ratelimit.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RATE 20.0
#define NAME_MAX_LEN 63

static const struct { const char *service; double rate; } DEFAULTS[] = {
    { "s3", 50 }, { "iam", 5 }, { "sts", 10 }, { "organizations", 2 }, { "cloudtrail", 2 },
    { "route53", 5 }, { "support", 1 }, { "ssm", 10 }, { "guardduty", 10 },
    { "securityhub", 10 }, { "access-analyzer", 10 },
};

struct rate_entry { char service[NAME_MAX_LEN + 1]; double rate; };

struct bucket {
    char key[2 * NAME_MAX_LEN + 2];   /* "service/region" */
    double rate, capacity, tokens, last;
    int started;
};

struct irh_ratelimit {
    struct rate_entry *rates;         /* overrides: --rate and runbook declarations */
    size_t nrates, caprates;
    struct bucket *buckets;
    size_t nbuckets, capbuckets;
    long max_calls, max_mutating, calls, mutating;
};

double irh_ratelimit_default_rate(const char *service)
{
    for (size_t i = 0; service && i < sizeof DEFAULTS / sizeof *DEFAULTS; i++)
        if (strcmp(service, DEFAULTS[i].service) == 0) return DEFAULTS[i].rate;
    return DEFAULT_RATE;
}

static struct rate_entry *find_rate(const struct irh_ratelimit *rl, const char *service)
{
    for (size_t i = 0; i < rl->nrates; i++)
        if (strcmp(rl->rates[i].service, service) == 0) return &rl->rates[i];
    return NULL;
}

/* The override entry for service, created at its default rate. */
static struct rate_entry *get_entry(struct irh_ratelimit *rl, const char *service)
{
    struct rate_entry *e = find_rate(rl, service);
    if (e) return e;
    if (rl->nrates == rl->caprates) {
        size_t cap = rl->caprates ? rl->caprates * 2 : 8;
        struct rate_entry *nv = realloc(rl->rates, cap * sizeof *nv);
        if (!nv) return NULL;
        rl->rates = nv;
        rl->caprates = cap;
    }
    e = &rl->rates[rl->nrates++];
    snprintf(e->service, sizeof e->service, "%s", service);
    e->rate = irh_ratelimit_default_rate(service);
    return e;
}

/* Keeps the stricter of the current and the new rate for service. */
static int set_stricter(struct irh_ratelimit *rl, const char *service, double rate)
{
    struct rate_entry *e = get_entry(rl, service);
    if (!e) return -1;
    if (rate < e->rate) e->rate = rate;
    /* Buckets already running for this service slow down at once. */
    size_t slen = strlen(service);
    for (size_t i = 0; i < rl->nbuckets; i++) {
        struct bucket *b = &rl->buckets[i];
        if (strncmp(b->key, service, slen) == 0 && b->key[slen] == '/' && b->rate > e->rate) {
            b->rate = e->rate;
            b->capacity = fmax(1.0, e->rate);
            if (b->tokens > b->capacity) b->tokens = b->capacity;
        }
    }
    return 0;
}

static int valid_service(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > NAME_MAX_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || (unsigned char)s[i] <= ' ') return 0;
    return 1;
}

struct irh_ratelimit *irh_ratelimit_new(const struct irh_options *opt)
{
    struct irh_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->max_calls = opt ? opt->max_calls : -1;
    rl->max_mutating = opt ? opt->max_mutating_calls : -1;
    for (size_t i = 0; opt && i < opt->nrates && i < IRH_MAX_RATES; i++) {
        const struct irh_rate *r = &opt->rates[i];
        if (!valid_service(r->service) || !(r->per_second > 0)) continue;   /* cli.c validated */
        /* --rate is the user's explicit choice for this run: it may also raise a default;
         * given twice for one service, the stricter stays. */
        int seen = find_rate(rl, r->service) != NULL;
        struct rate_entry *e = get_entry(rl, r->service);
        if (!e) { irh_ratelimit_free(rl); return NULL; }
        e->rate = seen ? fmin(e->rate, r->per_second) : r->per_second;
    }
    return rl;
}

void irh_ratelimit_free(struct irh_ratelimit *rl)
{
    if (!rl) return;
    free(rl->rates);
    free(rl->buckets);
    free(rl);
}

int irh_ratelimit_declare(struct irh_ratelimit *rl, const char *service, double per_second,
                          char *err, size_t errlen)
{
    if (!valid_service(service)) {
        snprintf(err, errlen, "rates: '%.64s' is not a service name", service ? service : "");
        return -1;
    }
    if (!(per_second > 0) || !isfinite(per_second)) {
        snprintf(err, errlen, "rates.%s: the rate must be a positive number of requests per second", service);
        return -1;
    }
    if (set_stricter(rl, service, per_second) < 0) {
        snprintf(err, errlen, "rates: out of memory");
        return -1;
    }
    return 0;
}

double irh_ratelimit_rate(const struct irh_ratelimit *rl, const char *service)
{
    const struct rate_entry *e = service ? find_rate(rl, service) : NULL;
    return e ? e->rate : irh_ratelimit_default_rate(service);
}

static struct bucket *get_bucket(struct irh_ratelimit *rl, const char *service, const char *region)
{
    char key[sizeof rl->buckets->key];
    snprintf(key, sizeof key, "%.*s/%.*s", NAME_MAX_LEN, service, NAME_MAX_LEN, region ? region : "");
    for (size_t i = 0; i < rl->nbuckets; i++)
        if (strcmp(rl->buckets[i].key, key) == 0) return &rl->buckets[i];
    if (rl->nbuckets == rl->capbuckets) {
        size_t cap = rl->capbuckets ? rl->capbuckets * 2 : 8;
        struct bucket *nv = realloc(rl->buckets, cap * sizeof *nv);
        if (!nv) return NULL;
        rl->buckets = nv;
        rl->capbuckets = cap;
    }
    struct bucket *b = &rl->buckets[rl->nbuckets++];
    memset(b, 0, sizeof *b);
    memcpy(b->key, key, sizeof key);
    b->rate = irh_ratelimit_rate(rl, service);
    b->capacity = fmax(1.0, b->rate);
    b->tokens = b->capacity;
    return b;
}

long irh_ratelimit_acquire(struct irh_ratelimit *rl, const char *service, const char *region,
                           double now)
{
    struct bucket *b = get_bucket(rl, service ? service : "", region);
    if (!b) return -1;
    if (!b->started) { b->last = now; b->started = 1; }
    if (now > b->last) {
        b->tokens = fmin(b->capacity, b->tokens + (now - b->last) * b->rate);
        b->last = now;
    }
    /* Reserve even when empty: the debt is the caller's wait, and the next caller waits
     * behind it. */
    b->tokens -= 1.0;
    if (b->tokens >= 0) return 0;
    return (long)ceil(-b->tokens / b->rate * 1000.0 - 1e-6);   /* no 1 ms for rounding noise */
}

int irh_ratelimit_count_call(struct irh_ratelimit *rl, int mutating, char *msg, size_t msglen)
{
    if (rl->max_calls >= 0 && rl->calls >= rl->max_calls) {
        snprintf(msg, msglen, "call cap reached: this run already made %ld AWS calls (--max-calls %ld); "
                 "rerun with a higher --max-calls if the runbook really needs more", rl->calls, rl->max_calls);
        return -1;
    }
    if (mutating && rl->max_mutating >= 0 && rl->mutating >= rl->max_mutating) {
        snprintf(msg, msglen, "mutating call cap reached: this run already made %ld mutating AWS calls "
                 "(--max-mutating-calls %ld); rerun with a higher --max-mutating-calls if the runbook "
                 "really needs more", rl->mutating, rl->max_mutating);
        return -1;
    }
    rl->calls++;
    if (mutating) rl->mutating++;
    return 0;
}

void irh_ratelimit_counts(const struct irh_ratelimit *rl, long *calls, long *mutating)
{
    if (calls) *calls = rl->calls;
    if (mutating) *mutating = rl->mutating;
}
