/* Signing cost per request of host/sigv4.c, for scripts/bench.d/20-sigv4.sh.
 * Usage: sigv4_bench ITERATIONS  -> one line per request kind: "kind ns_per_request". */
#include "sigv4.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    struct irh_creds c = { 0 };
    c.access_key_id = strdup("AKIAIOSFODNN7EXAMPLE");
    c.secret_access_key = strdup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    c.session_token = strdup("FwoGZXIvYXdzEBYaDHhBTEXAMPLETOKEN/with+some=chars");
    static const char body[] = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc123def4567890";
    struct irh_header h[] = {
        { "Host", "ec2.eu-west-1.amazonaws.com" },
        { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
        { "User-Agent", "irhost/0.1" },
    };
    struct irh_sigv4_request ec2 = { "POST", "/", NULL, h, 3, body, sizeof body - 1 };
    struct irh_sigv4_params pe = { .region = "eu-west-1", .service = "ec2", .now = 1700000000 };
    struct irh_header hs[] = { { "Host", "evidence-bucket.s3.eu-west-1.amazonaws.com" } };
    struct irh_sigv4_request s3 = { "GET", "/IR-42/i-0abc123/memory%20dump.lime", "x-id=GetObject", hs, 1, NULL, 0 };
    struct irh_sigv4_params ps = { .region = "eu-west-1", .service = "s3", .now = 1700000000, .s3 = 1,
                                   .unsigned_payload = 1, .expires = 3600 };
    struct { const char *name; struct irh_sigv4_request *r; struct irh_sigv4_params *p; int presign; } kinds[] = {
        { "ec2-header", &ec2, &pe, 0 }, { "s3-presign", &s3, &ps, 1 },
    };
    char err[256];
    for (size_t k = 0; k < 2; k++) {
        struct irh_sigv4_result out;
        for (long i = 0; i < n / 10 + 1; i++) {     /* warm up */
            if ((kinds[k].presign ? irh_sigv4_presign : irh_sigv4_sign)(kinds[k].r, kinds[k].p, &c, &out, err, sizeof err) < 0) {
                fprintf(stderr, "sigv4_bench: %s\n", err);
                return 1;
            }
            irh_sigv4_result_free(&out);
        }
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            (kinds[k].presign ? irh_sigv4_presign : irh_sigv4_sign)(kinds[k].r, kinds[k].p, &c, &out, err, sizeof err);
            irh_sigv4_result_free(&out);
        }
        printf("%s %.0f\n", kinds[k].name, (now_ns() - t0) / (double)n);
    }
    irh_creds_clear(&c);
    return 0;
}
