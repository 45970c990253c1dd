/* The broker's secret handle store. Values that a runbook must pass along without seeing
 * (generated passwords, secret keys in results) stay here; Lua holds the opaque handle
 * "irhost-secret-" + 32 hex digits, and the broker substitutes the value into a request
 * only when it sends it, encoded for where the handle stands. Values are wiped on free. */
#ifndef IRH_SECRETS_H
#define IRH_SECRETS_H
#include <stddef.h>

#define IRH_SECRET_PREFIX "irhost-secret-"
#define IRH_SECRET_PREFIX_LEN 14
#define IRH_SECRET_HANDLE_LEN (IRH_SECRET_PREFIX_LEN + 32)
#define IRH_SECRET_MAX_VALUE (64u * 1024u)
#define IRH_SECRET_MAX_GEN 4096u

/* How a substituted value is encoded for where its handle stands. */
enum irh_secret_enc {
    IRH_SECRET_RAW,   /* headers: the value as is (must hold no CR/LF/NUL) */
    IRH_SECRET_URL,   /* query strings and form-urlencoded bodies: RFC 3986 percent-encoding */
    IRH_SECRET_JSON,  /* inside a JSON string: JSON escapes */
    IRH_SECRET_XML    /* XML text or attribute: &amp; &lt; &gt; &quot; &apos; */
};

struct irh_secrets;

/* Returns an empty store, or NULL on allocation failure. */
struct irh_secrets *irh_secrets_new(void);
/* Wipes every value and frees the store. NULL is fine. */
void irh_secrets_free(struct irh_secrets *s);
/* Keeps a copy of value under a fresh random handle written to handle (NUL-terminated).
 * Returns 0, or -1 with err. */
int irh_secrets_put(struct irh_secrets *s, const void *value, size_t len,
                    char handle[IRH_SECRET_HANDLE_LEN + 1], char *err, size_t errlen);
/* Keeps a copy of value under a handle made elsewhere (aws.broker.protect); the handle must
 * be well formed and new. Returns 0, or -1 with err. */
int irh_secrets_put_handle(struct irh_secrets *s, const char *handle, const void *value,
                           size_t len, char *err, size_t errlen);
/* The value held for handle (borrowed, not NUL-terminated for the caller's purposes), or NULL. */
const unsigned char *irh_secrets_get(const struct irh_secrets *s, const char *handle, size_t *len);
/* Number of values held. */
size_t irh_secrets_count(const struct irh_secrets *s);
/* Generates a random value of length characters drawn uniformly (RAND_bytes, rejection
 * sampling) from charset: "alnum", "alnumsym", "hex", or an explicit set of 2..94 printable
 * ASCII characters. "alnumsym" values of 4+ characters hold a lower, an upper, a digit and
 * a symbol (password policies). Stores it and writes its handle. Returns 0, or -1 with err. */
int irh_secrets_generate(struct irh_secrets *s, size_t length, const char *charset,
                         char handle[IRH_SECRET_HANDLE_LEN + 1], char *err, size_t errlen);
/* Copies in[0..len) to a new buffer with every handle replaced by its value encoded as enc.
 * *out is NULL (and *nsub 0) when in holds no handle; otherwise a malloc'd NUL-terminated
 * buffer the caller must wipe (explicit_bzero) and free. A well-formed handle the store does
 * not know is an error. Returns 0, or -1 with err (which never holds a value). */
int irh_secrets_substitute(const struct irh_secrets *s, const char *in, size_t len,
                           enum irh_secret_enc enc, char **out, size_t *outlen, size_t *nsub,
                           char *err, size_t errlen);
/* Non-zero when s[0..len) contains something shaped like a handle. */
int irh_secrets_has_handle(const char *s, size_t len);
/* Values shorter than this are not searched for in responses (they would match anywhere). */
#define IRH_SECRET_MIN_SCRUB 4u
/* Adds the distinct well-formed handles in in[0..len) to handles[n..max); returns the new count. */
size_t irh_secrets_handles_in(const char *in, size_t len, char (*handles)[IRH_SECRET_HANDLE_LEN + 1],
                              size_t n, size_t max);
/* The reverse of substitute, for what comes back: copies in[0..len) with every occurrence of
 * the value of one of handles[0..nhandles) (of IRH_SECRET_MIN_SCRUB+ bytes), raw or encoded
 * in any way substitute or AWS may encode it (percent, '+', XML entities and character
 * references, JSON escapes, mixed), replaced by its handle. *out is NULL when nothing
 * matched, else malloc'd and NUL-terminated (wipe and free). Returns 0, or -1 (no memory). */
int irh_secrets_unsubstitute(const struct irh_secrets *s, const char (*handles)[IRH_SECRET_HANDLE_LEN + 1],
                             size_t nhandles, const char *in, size_t len, char **out, size_t *outlen);

#endif
