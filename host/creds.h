/* AWS credentials as the C core holds them. Secrets live in malloc'd buffers that are
 * wiped before they are freed; no formatter ever sees them. */
#ifndef IRH_CREDS_H
#define IRH_CREDS_H
#include <time.h>

struct irh_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;     /* NULL for long-term keys */
    time_t expiration;       /* 0: does not expire */
    char source[64];         /* where they came from: "environment", "profile prod", "imds", ... */
};

/* Wipes and frees every field (the struct itself is the caller's). NULL is fine. */
void irh_creds_clear(struct irh_creds *c);
/* Deep copy; returns 0 or -1 on allocation failure (dst is cleared first). */
int irh_creds_copy(struct irh_creds *dst, const struct irh_creds *src);

#endif
