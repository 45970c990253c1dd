/* host/creds.c: the credential triple the broker signs with; secrets wiped on release. */
#include "creds.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static void wipe_free(char **s)
{
    if (!*s) return;
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

void irh_creds_clear(struct irh_creds *c)
{
    if (!c) return;
    wipe_free(&c->access_key_id);
    wipe_free(&c->secret_access_key);
    wipe_free(&c->session_token);
    c->expiration = 0;
    memset(c->source, 0, sizeof c->source);
}

static int dup_field(char **dst, const char *src)
{
    if (!src) { *dst = NULL; return 0; }
    size_t n = strlen(src) + 1;
    *dst = malloc(n);
    if (!*dst) return -1;
    memcpy(*dst, src, n);
    return 0;
}

int irh_creds_copy(struct irh_creds *dst, const struct irh_creds *src)
{
    if (dst == src) return 0;           /* clearing first would destroy the source */
    irh_creds_clear(dst);
    if (!src) return 0;
    if (dup_field(&dst->access_key_id, src->access_key_id) < 0 ||
        dup_field(&dst->secret_access_key, src->secret_access_key) < 0 ||
        dup_field(&dst->session_token, src->session_token) < 0) {
        irh_creds_clear(dst);
        return -1;
    }
    dst->expiration = src->expiration;
    memcpy(dst->source, src->source, sizeof dst->source);
    dst->source[sizeof dst->source - 1] = '\0';
    return 0;
}
