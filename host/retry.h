/* Retry policy as the AWS SDKs define it (botocore/retries: standard.py, quota.py, and
 * adaptive.py + bucket.py + throttling.py), as pure decisions: the caller owns the clock and
 * the timers, so the policy is testable with a fake clock and a seeded RNG.
 *
 * standard: at most max_attempts attempts (AWS_MAX_ATTEMPTS, default 3); retry throttling
 *   error codes, transient codes, HTTP 500/502/503/504 (and 429) and transport errors;
 *   delay = rand[0,1) * 2^(attempt-1) s, capped at 20 s (full jitter); a retry quota of 500
 *   shared by the run: a retry costs 5 (10 after a timeout), a success refunds what its last
 *   retry took (1 when it never retried).
 * adaptive: standard plus a client-side send rate: a token bucket whose rate follows CUBIC,
 *   cut by 0.7 on each throttling response and regrowing on success; off until the first
 *   throttle. */
#ifndef IRH_RETRY_H
#define IRH_RETRY_H
#include <stddef.h>

enum irh_retry_mode { IRH_RETRY_STANDARD = 0, IRH_RETRY_ADAPTIVE = 1 };

/* What went wrong below HTTP on an attempt. Timeouts cost more retry quota. */
enum irh_transport_error {
    IRH_TRANSPORT_OK = 0,      /* an HTTP response arrived */
    IRH_TRANSPORT_CONNECT,     /* refused, reset, DNS, TLS handshake, truncated response */
    IRH_TRANSPORT_TIMEOUT      /* connect or read timeout */
};

#define IRH_RETRY_STOP (-1L)
#define IRH_RETRY_DEFAULT_MAX_ATTEMPTS 3
#define IRH_RETRY_QUOTA 500

struct irh_retry_config {
    enum irh_retry_mode mode;
    int max_attempts;            /* >= 1 */
    unsigned long long seed;     /* jitter RNG seed; 0: seeded from the OS */
};

struct irh_retry;

/* Fills cfg from AWS_RETRY_MODE / AWS_MAX_ATTEMPTS, falling back to the profile's
 * retry_mode / max_attempts (cfg_mode / cfg_max, either NULL) and then to standard, 3.
 * "legacy" is read as standard. Returns 0, or -1 with err naming the bad setting. */
int irh_retry_config_load(struct irh_retry_config *cfg, const char *cfg_mode, const char *cfg_max,
                          char *err, size_t errlen);
/* New policy; now is the current time in seconds (starts the adaptive clock). NULL on OOM. */
struct irh_retry *irh_retry_new(const struct irh_retry_config *cfg, double now);
void irh_retry_free(struct irh_retry *r);

/* Non-zero when (status, error_code) is a throttling response. */
int irh_retry_is_throttle(int status, const char *error_code);
/* Non-zero when the outcome is worth retrying at all (ignores attempts and quota). */
int irh_retry_is_retryable(int status, const char *error_code, enum irh_transport_error te);

/* After attempt number `attempt` (1-based) ended with HTTP status (0 when te != OK) and
 * error_code (NULL or "" if none): returns the delay in ms before the next attempt, or
 * IRH_RETRY_STOP. When it retries it takes retry quota and stores the amount in *quota_taken
 * (keep one per call, starting at 0). why (may be NULL) gets a static reason. */
long irh_retry_decide(struct irh_retry *r, int status, const char *error_code,
                      enum irh_transport_error te, int attempt, int *quota_taken,
                      const char **why);
/* A call ended in a 2xx: refund the quota its last retry took (or 1 when it never retried). */
void irh_retry_on_success(struct irh_retry *r, int quota_taken);
/* Retry quota left (0..500), for tests and the report. */
int irh_retry_quota(const struct irh_retry *r);
int irh_retry_max_attempts(const struct irh_retry *r);

/* Adaptive only (no-ops returning 0 in standard mode). Before each attempt: reserves a send
 * token and returns how many ms to wait before sending (0: send now). */
long irh_retry_acquire(struct irh_retry *r, double now);
/* After each response (or transport failure): feeds the measured rate and CUBIC. */
void irh_retry_update(struct irh_retry *r, int throttled, double now);
/* Current client send rate (requests/s) and whether the limiter is engaged. */
double irh_retry_send_rate(const struct irh_retry *r, int *enabled);

#endif
