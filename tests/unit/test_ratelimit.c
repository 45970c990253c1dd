/* host/ratelimit.c: per (service, region) token buckets and run-wide caps, on a fake clock. */
#include "unit.h"
#include "ratelimit.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* How many of n back-to-back acquires at time now go without waiting. */
static int burst(struct irh_ratelimit *rl, const char *svc, const char *region, double now, int n)
{
    int free_now = 0;
    for (int i = 0; i < n; i++)
        if (irh_ratelimit_acquire(rl, svc, region, now) == 0) free_now++;
    return free_now;
}

static void defaults(void)
{
    CHECK(irh_ratelimit_default_rate("ec2") == 20, "ec2 default 20/s");
    CHECK(irh_ratelimit_default_rate("iam") == 5, "iam default 5/s");
    CHECK(irh_ratelimit_default_rate("sts") == 10, "sts default 10/s");
    CHECK(irh_ratelimit_default_rate("organizations") == 2, "organizations default 2/s");
    CHECK(irh_ratelimit_default_rate("cloudtrail") == 2, "cloudtrail default 2/s");
    CHECK(irh_ratelimit_default_rate("something-new") == 20, "unknown services get 20/s");

    struct irh_ratelimit *rl = irh_ratelimit_new(NULL);
    CHECK(burst(rl, "ec2", "eu-west-1", 100.0, 30) == 20, "a full ec2 bucket lets 20 through at once");
    CHECK(burst(rl, "ec2", "us-east-1", 100.0, 30) == 20, "each region has its own bucket");
    CHECK(burst(rl, "iam", "us-east-1", 100.0, 30) == 5, "iam lets 5 through at once");
    irh_ratelimit_free(rl);
}

static void pacing(void)
{
    struct irh_ratelimit *rl = irh_ratelimit_new(NULL);
    double t = 10.0;
    for (int i = 0; i < 5; i++) irh_ratelimit_acquire(rl, "iam", "us-east-1", t);   /* drain */
    long w1 = irh_ratelimit_acquire(rl, "iam", "us-east-1", t);
    long w2 = irh_ratelimit_acquire(rl, "iam", "us-east-1", t);
    long w3 = irh_ratelimit_acquire(rl, "iam", "us-east-1", t);
    CHECK(w1 == 200 && w2 == 400 && w3 == 600, "empty iam bucket: reservations queue 200 ms apart (%ld %ld %ld)",
          w1, w2, w3);
    /* The caller honours the waits: at t+0.6 every reservation is paid, the next waits 200. */
    CHECK(irh_ratelimit_acquire(rl, "iam", "us-east-1", t + 0.6) == 200, "after waiting, one slot per 1/rate");
    /* Quiet for a long time: the bucket refills to its capacity, not beyond. */
    CHECK(burst(rl, "iam", "us-east-1", t + 100.0, 10) == 5, "refill stops at capacity (1 s of rate)");

    /* Sustained: 100 calls each sent when told, span ~ (100 - burst) / rate. */
    struct irh_ratelimit *s = irh_ratelimit_new(NULL);
    double now = 0;
    for (int i = 0; i < 100; i++) {
        long w = irh_ratelimit_acquire(s, "sts", "us-east-1", now);
        now += (double)w / 1000.0;
    }
    CHECK(fabs(now - 9.0) < 0.01, "100 sts calls take ~9 s at 10/s with a 10-call burst (%.3f s)", now);
    irh_ratelimit_free(s);
    irh_ratelimit_free(rl);
}

static void overrides(void)
{
    struct irh_options opt;
    memset(&opt, 0, sizeof opt);
    opt.max_calls = -1;
    opt.max_mutating_calls = -1;
    snprintf(opt.rates[0].service, sizeof opt.rates[0].service, "ec2");
    opt.rates[0].per_second = 5;
    snprintf(opt.rates[1].service, sizeof opt.rates[1].service, "iam");
    opt.rates[1].per_second = 8;
    opt.nrates = 2;
    struct irh_ratelimit *rl = irh_ratelimit_new(&opt);
    char err[200];
    CHECK(irh_ratelimit_rate(rl, "ec2") == 5, "--rate ec2=5/s lowers the default");
    CHECK(irh_ratelimit_rate(rl, "iam") == 8, "--rate iam=8/s may raise the default (the user's call)");
    CHECK(irh_ratelimit_declare(rl, "ec2", 10, err, sizeof err) == 0 && irh_ratelimit_rate(rl, "ec2") == 5,
          "runbook ec2=10 vs --rate 5: the stricter (5) wins");
    CHECK(irh_ratelimit_declare(rl, "iam", 2, err, sizeof err) == 0 && irh_ratelimit_rate(rl, "iam") == 2,
          "runbook iam=2 vs --rate 8: the stricter (2) wins");
    CHECK(irh_ratelimit_declare(rl, "lambda", 50, err, sizeof err) == 0 && irh_ratelimit_rate(rl, "lambda") == 20,
          "runbook lambda=50 vs default 20: the default stays");
    CHECK(burst(rl, "ec2", "eu-west-1", 1.0, 10) == 5, "the bucket uses the effective rate");
    /* A declaration arriving after calls started slows the running bucket too. */
    burst(rl, "logs", "eu-west-1", 1.0, 1);
    CHECK(irh_ratelimit_declare(rl, "logs", 1, err, sizeof err) == 0 &&
          burst(rl, "logs", "eu-west-1", 50.0, 5) == 1, "a later declaration slows a running bucket");
    CHECK(irh_ratelimit_declare(rl, "ec2", 0, err, sizeof err) < 0 && strstr(err, "ec2"),
          "a zero rate is refused: %s", err);
    CHECK(irh_ratelimit_declare(rl, "ec2", NAN, err, sizeof err) < 0, "a NaN rate is refused");
    CHECK(irh_ratelimit_declare(rl, "bad/name", 1, err, sizeof err) < 0, "a bad service name is refused: %s", err);
    irh_ratelimit_free(rl);
}

static void caps(void)
{
    struct irh_options opt;
    memset(&opt, 0, sizeof opt);
    opt.max_calls = 5;
    opt.max_mutating_calls = 2;
    struct irh_ratelimit *rl = irh_ratelimit_new(&opt);
    char msg[300] = "";
    CHECK(irh_ratelimit_count_call(rl, 1, msg, sizeof msg) == 0 && irh_ratelimit_count_call(rl, 1, msg, sizeof msg) == 0,
          "two mutating calls fit a cap of 2");
    CHECK(irh_ratelimit_count_call(rl, 1, msg, sizeof msg) < 0 && strstr(msg, "--max-mutating-calls 2") &&
          strstr(msg, "mutating call cap"), "the third is refused, naming the flag: %s", msg);
    long calls, mut;
    irh_ratelimit_counts(rl, &calls, &mut);
    CHECK(calls == 2 && mut == 2, "a refused call is not counted");
    CHECK(irh_ratelimit_count_call(rl, 0, msg, sizeof msg) == 0 && irh_ratelimit_count_call(rl, 0, msg, sizeof msg) == 0 &&
          irh_ratelimit_count_call(rl, 0, msg, sizeof msg) == 0, "read calls still fit the total cap");
    CHECK(irh_ratelimit_count_call(rl, 0, msg, sizeof msg) < 0 && strstr(msg, "--max-calls 5"),
          "the sixth call is refused, naming --max-calls: %s", msg);
    irh_ratelimit_free(rl);

    struct irh_ratelimit *none = irh_ratelimit_new(NULL);
    int ok = 1;
    for (int i = 0; i < 20000; i++) ok &= irh_ratelimit_count_call(none, 1, msg, sizeof msg) == 0;
    CHECK(ok, "no options: no caps");
    irh_ratelimit_free(none);
}

int main(void)
{
    defaults();
    pacing();
    overrides();
    caps();
    return unit_done();
}
