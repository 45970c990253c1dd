/* host/retry.c: the SDKs' standard and adaptive retry modes as a pure policy (see retry.h). */
#include "retry.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BASE_BACKOFF_S 1.0
#define MAX_BACKOFF_S 20.0
#define RETRY_COST 5
#define TIMEOUT_RETRY_COST 10
#define NO_RETRY_INCREMENT 1
#define MIN_FILL_RATE 0.5
#define CUBIC_SCALE 0.4
#define CUBIC_BETA 0.7
#define RATE_SMOOTHING 0.8
#define RATE_BUCKET_SCALE 2.0         /* the rate is measured over half-second buckets */
#define MAX_RATE_ADJUST_SCALE 2.0

/* botocore's ThrottledRetryableChecker list. */
static const char *const THROTTLE_CODES[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
};
/* TransientRetryableChecker codes, plus STS's IDPCommunicationError (botocore special.py). */
static const char *const TRANSIENT_CODES[] = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "IDPCommunicationError",
};

struct bucket { double fill_rate, max_capacity, current, last; int have_last; };
struct clocker { double measured, last_bucket, count; };
struct cubic { double w_max, k, last_fail; };

struct irh_retry {
    enum irh_retry_mode mode;
    int max_attempts;
    int quota;
    uint64_t rng;
    /* adaptive */
    int enabled;
    struct bucket bucket;
    struct clocker clock;
    struct cubic cubic;
};

/* ---------------------------------------------------------------- configuration */

static int parse_mode(const char *s, enum irh_retry_mode *m)
{
    if (strcmp(s, "standard") == 0 || strcmp(s, "legacy") == 0) { *m = IRH_RETRY_STANDARD; return 0; }
    if (strcmp(s, "adaptive") == 0) { *m = IRH_RETRY_ADAPTIVE; return 0; }
    return -1;
}

static int parse_attempts(const char *s, int *out)
{
    char *end;
    if (!*s) return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 100) return -1;
    *out = (int)v;
    return 0;
}

int irh_retry_config_load(struct irh_retry_config *cfg, const char *cfg_mode, const char *cfg_max,
                          char *err, size_t errlen)
{
    const char *env_mode = getenv("AWS_RETRY_MODE"), *env_max = getenv("AWS_MAX_ATTEMPTS");
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = IRH_RETRY_STANDARD;
    cfg->max_attempts = IRH_RETRY_DEFAULT_MAX_ATTEMPTS;
    const char *mode = env_mode && *env_mode ? env_mode : cfg_mode;
    const char *from = env_mode && *env_mode ? "AWS_RETRY_MODE" : "retry_mode in the AWS config file";
    if (mode && *mode && parse_mode(mode, &cfg->mode) < 0) {
        snprintf(err, errlen, "%s=%.40s is not a retry mode: use standard or adaptive", from, mode);
        return -1;
    }
    const char *max = env_max && *env_max ? env_max : cfg_max;
    from = env_max && *env_max ? "AWS_MAX_ATTEMPTS" : "max_attempts in the AWS config file";
    if (max && *max && parse_attempts(max, &cfg->max_attempts) < 0) {
        snprintf(err, errlen, "%s=%.40s is not a number of attempts: use a whole number from 1 to 100",
                 from, max);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- RNG (splitmix64) */

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rand01(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* ---------------------------------------------------------------- adaptive pieces */

static void bucket_refill(struct bucket *b, double now)
{
    if (!b->have_last) { b->last = now; b->have_last = 1; return; }
    double dt = now > b->last ? now - b->last : 0;
    b->current = fmin(b->max_capacity, b->current + dt * b->fill_rate);
    b->last = now;
}

static void bucket_set_rate(struct bucket *b, double rate, double now)
{
    bucket_refill(b, now);
    b->fill_rate = fmax(rate, MIN_FILL_RATE);
    b->max_capacity = rate >= 1 ? rate : 1;
    b->current = fmin(b->current, b->max_capacity);
}

static double clocker_record(struct clocker *c, double now)
{
    double bucket = floor(now * RATE_BUCKET_SCALE) / RATE_BUCKET_SCALE;
    c->count += 1;
    if (bucket > c->last_bucket) {
        double current = c->count / (bucket - c->last_bucket);
        c->measured = current * RATE_SMOOTHING + c->measured * (1 - RATE_SMOOTHING);
        c->count = 0;
        c->last_bucket = bucket;
    }
    return c->measured;
}

static double cubic_zero(double w_max) { return cbrt(w_max * (1 - CUBIC_BETA) / CUBIC_SCALE); }

static double cubic_success(const struct cubic *c, double now)
{
    double d = now - c->last_fail - c->k;
    return CUBIC_SCALE * d * d * d + c->w_max;
}

static double cubic_error(struct cubic *c, double rate, double now)
{
    c->w_max = rate;
    c->k = cubic_zero(rate);
    c->last_fail = now;
    return rate * CUBIC_BETA;
}

/* ---------------------------------------------------------------- policy */

struct irh_retry *irh_retry_new(const struct irh_retry_config *cfg, double now)
{
    struct irh_retry *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->mode = cfg ? cfg->mode : IRH_RETRY_STANDARD;
    r->max_attempts = cfg && cfg->max_attempts >= 1 ? cfg->max_attempts : IRH_RETRY_DEFAULT_MAX_ATTEMPTS;
    r->quota = IRH_RETRY_QUOTA;
    r->rng = cfg ? cfg->seed : 0;
    if (r->rng == 0 && getrandom(&r->rng, sizeof r->rng, 0) != (ssize_t)sizeof r->rng)
        r->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
    r->clock.last_bucket = floor(now);
    r->cubic.w_max = 0;
    r->cubic.k = cubic_zero(0);
    r->cubic.last_fail = now;
    bucket_set_rate(&r->bucket, 1, now);
    return r;
}

void irh_retry_free(struct irh_retry *r) { free(r); }

static int in_list(const char *code, const char *const *list, size_t n)
{
    if (!code || !*code) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0) return 1;
    return 0;
}

int irh_retry_is_throttle(int status, const char *error_code)
{
    /* 429 without a parseable code is still throttling (as the Java and Go SDKs read it). */
    return status == 429 || in_list(error_code, THROTTLE_CODES, sizeof THROTTLE_CODES / sizeof *THROTTLE_CODES);
}

int irh_retry_is_retryable(int status, const char *error_code, enum irh_transport_error te)
{
    if (te != IRH_TRANSPORT_OK) return 1;
    if (status == 500 || status == 502 || status == 503 || status == 504) return 1;
    if (in_list(error_code, TRANSIENT_CODES, sizeof TRANSIENT_CODES / sizeof *TRANSIENT_CODES)) return 1;
    return irh_retry_is_throttle(status, error_code);
}

long irh_retry_decide(struct irh_retry *r, int status, const char *error_code,
                      enum irh_transport_error te, int attempt, int *quota_taken,
                      const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!irh_retry_is_retryable(status, error_code, te)) { *why = "not retryable"; return IRH_RETRY_STOP; }
    if (attempt >= r->max_attempts) {
        *why = "max attempts reached (raise AWS_MAX_ATTEMPTS or max_attempts in the profile)";
        return IRH_RETRY_STOP;
    }
    int cost = te == IRH_TRANSPORT_TIMEOUT ? TIMEOUT_RETRY_COST : RETRY_COST;
    if (cost > r->quota) {
        *why = "retry quota exhausted (too many failures in this run)";
        return IRH_RETRY_STOP;
    }
    r->quota -= cost;
    if (quota_taken) *quota_taken = cost;
    int exp = attempt - 1 < 30 ? (attempt > 1 ? attempt - 1 : 0) : 30;
    double delay = fmin(rand01(&r->rng) * BASE_BACKOFF_S * (double)(1UL << exp), MAX_BACKOFF_S);
    *why = "retrying";
    return (long)(delay * 1000.0);
}

void irh_retry_on_success(struct irh_retry *r, int quota_taken)
{
    int amount = quota_taken > 0 ? quota_taken : NO_RETRY_INCREMENT;
    int room = IRH_RETRY_QUOTA - r->quota;
    r->quota += amount < room ? amount : room;
}

int irh_retry_quota(const struct irh_retry *r) { return r->quota; }
int irh_retry_max_attempts(const struct irh_retry *r) { return r->max_attempts; }

long irh_retry_acquire(struct irh_retry *r, double now)
{
    if (r->mode != IRH_RETRY_ADAPTIVE || !r->enabled) return 0;
    struct bucket *b = &r->bucket;
    bucket_refill(b, now);
    /* Reserve the token now, even if it is not there yet: concurrent calls queue up in order
     * instead of all waking at the same instant. */
    b->current -= 1;
    if (b->current >= 0) return 0;
    return (long)ceil(-b->current / b->fill_rate * 1000.0 - 1e-6);
}

void irh_retry_update(struct irh_retry *r, int throttled, double now)
{
    if (r->mode != IRH_RETRY_ADAPTIVE) return;
    double measured = clocker_record(&r->clock, now), rate;
    if (!throttled) {
        rate = cubic_success(&r->cubic, now);
    } else {
        double use = r->enabled ? fmin(measured, r->bucket.fill_rate) : measured;
        rate = cubic_error(&r->cubic, use, now);
        r->enabled = 1;
    }
    bucket_set_rate(&r->bucket, fmin(rate, MAX_RATE_ADJUST_SCALE * measured), now);
}

double irh_retry_send_rate(const struct irh_retry *r, int *enabled)
{
    if (enabled) *enabled = r->enabled;
    return r->bucket.fill_rate;
}
