/* host/retry.c: standard and adaptive retry modes, with a fake clock and a seeded RNG. */
#include "unit.h"
#include "retry.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct irh_retry *policy(enum irh_retry_mode mode, int max_attempts, double now)
{
    struct irh_retry_config cfg = { mode, max_attempts, 42 };
    return irh_retry_new(&cfg, now);
}

static void classification(void)
{
    CHECK(irh_retry_is_retryable(400, "ThrottlingException", IRH_TRANSPORT_OK), "ThrottlingException retries");
    CHECK(irh_retry_is_retryable(503, "SlowDown", IRH_TRANSPORT_OK), "S3 SlowDown retries");
    CHECK(irh_retry_is_retryable(400, "RequestLimitExceeded", IRH_TRANSPORT_OK), "EC2 RequestLimitExceeded retries");
    CHECK(irh_retry_is_retryable(400, "RequestTimeout", IRH_TRANSPORT_OK), "RequestTimeout (transient) retries");
    CHECK(irh_retry_is_retryable(400, "IDPCommunicationError", IRH_TRANSPORT_OK), "STS IDPCommunicationError retries");
    for (int s = 500; s <= 504; s++)
        if (s != 501) CHECK(irh_retry_is_retryable(s, NULL, IRH_TRANSPORT_OK), "HTTP %d retries", s);
    CHECK(!irh_retry_is_retryable(501, NULL, IRH_TRANSPORT_OK), "HTTP 501 does not retry");
    CHECK(irh_retry_is_retryable(429, "", IRH_TRANSPORT_OK) && irh_retry_is_throttle(429, NULL),
          "HTTP 429 is throttling");
    CHECK(irh_retry_is_retryable(0, NULL, IRH_TRANSPORT_CONNECT), "connection errors retry");
    CHECK(irh_retry_is_retryable(0, NULL, IRH_TRANSPORT_TIMEOUT), "timeouts retry");
    CHECK(!irh_retry_is_retryable(403, "SignatureDoesNotMatch", IRH_TRANSPORT_OK), "SignatureDoesNotMatch does not");
    CHECK(!irh_retry_is_retryable(400, "InvalidInstanceID.NotFound", IRH_TRANSPORT_OK), "client errors do not");
    CHECK(!irh_retry_is_retryable(200, NULL, IRH_TRANSPORT_OK), "success does not");
    CHECK(!irh_retry_is_throttle(503, NULL) && irh_retry_is_throttle(400, "Throttling"),
          "throttle detection is by code (503 alone is transient, not throttling)");
}

static void standard_mode(void)
{
    struct irh_retry *r = policy(IRH_RETRY_STANDARD, 3, 0);
    int taken = 0;
    const char *why = NULL;
    long d1 = irh_retry_decide(r, 503, NULL, IRH_TRANSPORT_OK, 1, &taken, &why);
    CHECK(d1 >= 0 && d1 < 1000 && taken == 5 && irh_retry_quota(r) == 495,
          "attempt 1 -> delay in [0,1s) (%ld ms), quota 500 -> 495", d1);
    long d2 = irh_retry_decide(r, 400, "Throttling", IRH_TRANSPORT_OK, 2, &taken, &why);
    CHECK(d2 >= 0 && d2 < 2000 && irh_retry_quota(r) == 490, "attempt 2 -> delay in [0,2s) (%ld ms)", d2);
    CHECK(irh_retry_decide(r, 503, NULL, IRH_TRANSPORT_OK, 3, &taken, &why) == IRH_RETRY_STOP &&
          strstr(why, "AWS_MAX_ATTEMPTS") && irh_retry_quota(r) == 490,
          "attempt 3 of 3 stops, names AWS_MAX_ATTEMPTS, takes no quota");
    irh_retry_on_success(r, taken);
    CHECK(irh_retry_quota(r) == 495, "success refunds the last retry's cost (5)");
    irh_retry_on_success(r, 0);
    CHECK(irh_retry_quota(r) == 496, "success without retry refunds 1");
    for (int i = 0; i < 10; i++) irh_retry_on_success(r, 0);
    CHECK(irh_retry_quota(r) == 500, "quota never exceeds 500");
    CHECK(irh_retry_decide(r, 400, "AccessDenied", IRH_TRANSPORT_OK, 1, &taken, &why) == IRH_RETRY_STOP &&
          strcmp(why, "not retryable") == 0 && irh_retry_quota(r) == 500, "non-retryable stops at once");
    taken = 0;
    irh_retry_decide(r, 0, NULL, IRH_TRANSPORT_TIMEOUT, 1, &taken, &why);
    CHECK(taken == 10 && irh_retry_quota(r) == 490, "a timeout retry costs 10");
    irh_retry_free(r);

    /* Backoff: full jitter, doubling, capped at 20 s; deterministic for a seed. */
    struct irh_retry *a = policy(IRH_RETRY_STANDARD, 100, 0), *b = policy(IRH_RETRY_STANDARD, 100, 0);
    int same = 1, capped = 1, bounded = 1;
    double sum_hi = 0;
    for (int att = 1; att <= 12; att++) {
        long x = irh_retry_decide(a, 500, NULL, IRH_TRANSPORT_OK, att, &taken, NULL);
        long y = irh_retry_decide(b, 500, NULL, IRH_TRANSPORT_OK, att, &taken, NULL);
        same &= x == y;
        double hi = fmin(1000.0 * (1 << (att - 1)), 20000.0);
        bounded &= x >= 0 && x <= (long)hi;
        capped &= x <= 20000;
        if (att >= 6) sum_hi += (double)x;
    }
    CHECK(same, "same seed, same delays");
    CHECK(bounded && capped, "delay_i in [0, min(2^(i-1) s, 20 s)]");
    CHECK(sum_hi > 0, "late attempts do back off (sum %g ms)", sum_hi);
    irh_retry_free(a);
    irh_retry_free(b);

    /* Mean of full jitter at attempt 1 is ~500 ms. */
    struct irh_retry *m = policy(IRH_RETRY_STANDARD, 3, 0);
    double total = 0;
    for (int i = 0; i < 2000; i++) {
        total += (double)irh_retry_decide(m, 500, NULL, IRH_TRANSPORT_OK, 1, &taken, NULL);
        irh_retry_on_success(m, taken);
    }
    CHECK(fabs(total / 2000 - 500) < 40, "full jitter: mean first delay %.0f ms ~ 500", total / 2000);
    irh_retry_free(m);

    /* The quota runs dry in a storm: 500 / 5 = 100 retries, then stop. */
    struct irh_retry *q = policy(IRH_RETRY_STANDARD, 3, 0);
    int retries = 0;
    for (int i = 0; i < 150; i++)
        if (irh_retry_decide(q, 503, NULL, IRH_TRANSPORT_OK, 1, &taken, &why) != IRH_RETRY_STOP) retries++;
    CHECK(retries == 100 && strstr(why, "quota"), "retry quota: 100 retries then stop (%d): %s", retries, why);
    irh_retry_free(q);
}

static void config(void)
{
    struct irh_retry_config c;
    char err[200];
    unsetenv("AWS_RETRY_MODE");
    unsetenv("AWS_MAX_ATTEMPTS");
    CHECK(irh_retry_config_load(&c, NULL, NULL, err, sizeof err) == 0 && c.mode == IRH_RETRY_STANDARD &&
          c.max_attempts == 3, "defaults: standard, 3 attempts");
    CHECK(irh_retry_config_load(&c, "adaptive", "5", err, sizeof err) == 0 && c.mode == IRH_RETRY_ADAPTIVE &&
          c.max_attempts == 5, "profile retry_mode / max_attempts");
    setenv("AWS_RETRY_MODE", "standard", 1);
    setenv("AWS_MAX_ATTEMPTS", "7", 1);
    CHECK(irh_retry_config_load(&c, "adaptive", "5", err, sizeof err) == 0 && c.mode == IRH_RETRY_STANDARD &&
          c.max_attempts == 7, "environment overrides the profile");
    setenv("AWS_MAX_ATTEMPTS", "0", 1);
    CHECK(irh_retry_config_load(&c, NULL, NULL, err, sizeof err) < 0 && strstr(err, "AWS_MAX_ATTEMPTS"),
          "bad AWS_MAX_ATTEMPTS is named: %s", err);
    unsetenv("AWS_MAX_ATTEMPTS");
    setenv("AWS_RETRY_MODE", "turbo", 1);
    CHECK(irh_retry_config_load(&c, NULL, NULL, err, sizeof err) < 0 && strstr(err, "AWS_RETRY_MODE"),
          "bad AWS_RETRY_MODE is named: %s", err);
    setenv("AWS_RETRY_MODE", "legacy", 1);
    CHECK(irh_retry_config_load(&c, NULL, NULL, err, sizeof err) == 0 && c.mode == IRH_RETRY_STANDARD,
          "legacy reads as standard");
    unsetenv("AWS_RETRY_MODE");
    struct irh_retry *r = policy(IRH_RETRY_STANDARD, 1, 0);
    CHECK(irh_retry_decide(r, 503, NULL, IRH_TRANSPORT_OK, 1, NULL, NULL) == IRH_RETRY_STOP,
          "max_attempts 1 never retries");
    irh_retry_free(r);
}

/* Expected send rates from botocore's own ClientRateLimiter (adaptive.py, bucket.py,
 * throttling.py) driven by a fake clock: 10 req/s of successes from t=0.05, throttles at
 * 3.0 and 3.1, then a success every 0.5 s. (Generated once with /usr/bin/python3.) */
static const struct { double t; int throttled; double rate; } BOTO_TRACE[] = {
    {1.05, 0, 0.500000000}, {1.15, 0, 0.608350000}, {1.25, 0, 0.781250000}, {1.35, 0, 0.984150000},
    {1.45, 0, 1.219450000}, {1.55, 0, 1.489550000}, {1.65, 0, 1.796850000}, {1.75, 0, 2.143750000},
    {1.85, 0, 2.532650000}, {1.95, 0, 2.965950000}, {2.05, 0, 3.446050000}, {2.15, 0, 3.975350000},
    {2.25, 0, 4.556250000}, {2.35, 0, 5.191150000}, {2.45, 0, 5.882450000}, {2.55, 0, 6.632550000},
    {2.65, 0, 7.443850000}, {2.75, 0, 8.318750000}, {2.85, 0, 9.259650000}, {2.95, 0, 10.268950000},
    {3.00, 1, 6.999910400}, {3.10, 1, 4.899937280}, {3.20, 0, 5.241960953}, {3.70, 0, 6.410397192},
    {4.20, 0, 5.919989760}, {4.70, 0, 4.383997952}, {5.20, 0, 4.076799590}, {5.70, 0, 4.015359918},
    {6.20, 0, 4.003071984}, {6.70, 0, 4.000614397}, {7.20, 0, 4.000122879}, {7.70, 0, 4.000024576},
};

static void adaptive_mode(void)
{
    struct irh_retry *r = policy(IRH_RETRY_ADAPTIVE, 3, 0.0);
    int enabled = 1;
    CHECK(irh_retry_acquire(r, 0.0) == 0, "adaptive: no wait before the first throttle");
    for (int i = 0; i < 10; i++) irh_retry_update(r, 0, 0.1 * i + 0.05);
    size_t bad = 0;
    for (size_t i = 0; i < sizeof BOTO_TRACE / sizeof *BOTO_TRACE; i++) {
        irh_retry_update(r, BOTO_TRACE[i].throttled, BOTO_TRACE[i].t);
        double got = irh_retry_send_rate(r, NULL);
        if (fabs(got - BOTO_TRACE[i].rate) > 1e-6) {
            bad++;
            printf("# t=%.2f want %.9f got %.9f\n", BOTO_TRACE[i].t, BOTO_TRACE[i].rate, got);
        }
    }
    CHECK(bad == 0, "adaptive: CUBIC send rate matches botocore at all %zu steps",
          sizeof BOTO_TRACE / sizeof *BOTO_TRACE);
    irh_retry_send_rate(r, &enabled);
    CHECK(enabled, "adaptive: the limiter engages after a throttle");
    irh_retry_free(r);

    /* Waits follow the bucket: throttle hard, then drain tokens at a fixed instant. */
    r = policy(IRH_RETRY_ADAPTIVE, 3, 0.0);
    for (int i = 0; i < 20; i++) irh_retry_update(r, 0, 0.05 * i);
    irh_retry_update(r, 1, 1.0);
    double rate = irh_retry_send_rate(r, NULL);
    long w0 = irh_retry_acquire(r, 1.0), w1 = irh_retry_acquire(r, 1.0), w2 = irh_retry_acquire(r, 1.0);
    CHECK(rate >= 0.5 && w1 > w0 && w2 > w1, "adaptive: back-to-back sends wait longer each (%ld, %ld, %ld ms at %.2f/s)",
          w0, w1, w2, rate);
    CHECK(labs((w2 - w1) - (long)(1000.0 / rate)) <= 1, "adaptive: one token per 1/rate s");
    long later = irh_retry_acquire(r, 1.0 + (double)w2 / 1000.0 + 10.0);
    CHECK(later == 0, "adaptive: after a quiet spell no wait");
    irh_retry_free(r);

    struct irh_retry *s = policy(IRH_RETRY_STANDARD, 3, 0.0);
    irh_retry_update(s, 1, 1.0);
    CHECK(irh_retry_acquire(s, 1.0) == 0, "standard mode never delays sends");
    irh_retry_free(s);
}

int main(void)
{
    classification();
    standard_mode();
    config();
    adaptive_mode();
    return unit_done();
}
