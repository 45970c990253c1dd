/* Client-side rate limits and run-wide caps, enforced by the broker whatever the runbook does.
 *
 * One token bucket per (service, region): it refills at the rate below and holds up to one
 * second of it (at least one token), starting full. The rate for a service is the strictest
 * of its default, `--rate SERVICE=N/s` and the runbook's declared `rates = {SERVICE = N}`.
 *
 * Default rates (requests per second, per region), kept below the documented AWS API
 * throttling limits so that a runbook fanning out does not trip them for the whole account:
 *
 *   | service                   | rate | why                                            |
 *   |---------------------------|------|------------------------------------------------|
 *   | (any other)               |   20 | EC2/most control planes refill about 20/s       |
 *   | s3                        |   50 | data plane; thousands/s per prefix              |
 *   | iam                       |    5 | one global control plane per account            |
 *   | sts                       |   10 | AssumeRole and GetCallerIdentity quotas          |
 *   | organizations             |    2 | 1-5 requests/s per account                       |
 *   | cloudtrail                |    2 | LookupEvents: 2 requests/s per account/region    |
 *   | route53                   |    5 | 5 requests/s per account                         |
 *   | support                   |    1 | low, per account                                 |
 *   | ssm, guardduty, securityhub, access-analyzer | 10 | 10-ish TPS management APIs |
 *
 * Caps count calls handed to the network (retries of one call are not new calls).
 * A negative cap means no cap. */
#ifndef IRH_RATELIMIT_H
#define IRH_RATELIMIT_H
#include <stddef.h>
#include "options.h"

struct irh_ratelimit;

/* Creates the limiter with --rate, --max-calls and --max-mutating-calls from opt (NULL:
 * defaults only, no caps). NULL on allocation failure. */
struct irh_ratelimit *irh_ratelimit_new(const struct irh_options *opt);
void irh_ratelimit_free(struct irh_ratelimit *rl);

/* The runbook's declared rate for service (requests/s, > 0): kept if stricter than what is
 * set. Returns 0, or -1 with err for a non-positive rate or bad service name. */
int irh_ratelimit_declare(struct irh_ratelimit *rl, const char *service, double per_second,
                          char *err, size_t errlen);
/* The effective rate for service (requests/s). */
double irh_ratelimit_rate(const struct irh_ratelimit *rl, const char *service);
/* The built-in default rate for service (the table above). */
double irh_ratelimit_default_rate(const char *service);

/* Reserves one token of the (service, region) bucket at time now (seconds) and returns the
 * ms to wait before sending (0: send now). Reservations queue: concurrent calls get
 * successive slots. Returns -1 only on allocation failure. */
long irh_ratelimit_acquire(struct irh_ratelimit *rl, const char *service, const char *region,
                           double now);

/* Counts one call about to be sent (mutating: non-zero for a mutating operation). Returns 0,
 * or -1 when a cap would be exceeded: the call is not counted and msg names the cap and the
 * flag that raises it. */
int irh_ratelimit_count_call(struct irh_ratelimit *rl, int mutating, char *msg, size_t msglen);
/* Calls and mutating calls counted so far. */
void irh_ratelimit_counts(const struct irh_ratelimit *rl, long *calls, long *mutating);

#endif
