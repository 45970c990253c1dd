/* The runner<->broker message protocol: length-prefixed frames carrying a kv list.
 * Frame: u32 length (big endian, of what follows) | u8 type | u32 id (big endian) | payload.
 * Payload: a kv list, repeated (u32 key length | key | u32 value length | value), all big endian.
 * A frame over IRH_IPC_MAX_FRAME, or a payload that does not parse, is a protocol violation:
 * the broker ends the run (never itself). See docs/internals.md for every message. */
#ifndef IRH_IPC_H
#define IRH_IPC_H
#include <stddef.h>
#include <stdint.h>

#define IRH_IPC_MAX_FRAME (64u * 1024u * 1024u)

enum irh_msg {
    /* runner -> broker */
    IRH_MSG_DECLARE = 1,   /* json: the runbook declaration (permissions, rates, name) */
    IRH_MSG_CALL,          /* an AWS request (see docs/internals.md); reply IRH_MSG_CALL_RESULT, same id */
    IRH_MSG_LOG,           /* level, text: goes to the run log (and stderr unless --quiet) */
    IRH_MSG_OUTPUT,        /* stream (stdout|stderr), text: user-facing output (help, describe) */
    IRH_MSG_EVENT,         /* json: a run event (step_start, step_end, ...) for progress and the report */
    IRH_MSG_EVIDENCE,      /* name, content: reply sha256, path */
    IRH_MSG_CONFIRM,       /* prompt: reply answer = yes|no|notty */
    IRH_MSG_REQUIRE,       /* name: reply source, chunkname, or error */
    IRH_MSG_SIGN,          /* request fields as CALL: reply h:<name> headers to send */
    IRH_MSG_PRESIGN,       /* method, bucket, key, expires, region: reply url */
    IRH_MSG_SECRET_GEN,    /* length, charset: reply handle */
    IRH_MSG_ASSUME_ROLE,   /* role_arn, session_name, external_id, duration: reply handle, arn, expiration */
    IRH_MSG_READ_FILE,     /* path: a file the user named as a runbook param value (--finding F);
                              reply content, or error. Any other path is refused. */
    IRH_MSG_DONE,          /* exit (decimal), message: the runner's last message */
    IRH_MSG_HANDOFF,       /* handle (of aws.presign), label: the broker shows the URL to the user and
                              writes it to handoff.txt; reply path, what, expires, or error */
    /* broker -> runner */
    IRH_MSG_REPLY = 64,    /* generic reply to a request of the same id */
    IRH_MSG_CALL_RESULT,   /* status, h:<name>..., body, request_id, attempts | error, message */
};

struct irh_kv;   /* an ordered list of (key, value) byte strings; values may hold NUL */

/* Returns a new empty list, or NULL on allocation failure. */
struct irh_kv *irh_kv_new(void);
/* Frees the list, wiping every value first (values may be secrets). NULL is fine. */
void irh_kv_free(struct irh_kv *kv);
/* Appends key=value (copied); returns 0, or -1 on allocation failure. */
int irh_kv_add(struct irh_kv *kv, const char *key, const void *val, size_t len);
/* Appends key=NUL-terminated string. */
int irh_kv_adds(struct irh_kv *kv, const char *key, const char *val);
/* Appends key=formatted string. */
int irh_kv_addf(struct irh_kv *kv, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* First value for key (NUL-terminated, len excludes it), or NULL. */
const char *irh_kv_get(const struct irh_kv *kv, const char *key, size_t *len);
/* Number of entries; entry i as key/value. */
size_t irh_kv_count(const struct irh_kv *kv);
void irh_kv_at(const struct irh_kv *kv, size_t i, const char **key, const char **val, size_t *len);
/* Serializes to a malloc'd buffer; returns 0 or -1. */
int irh_kv_encode(const struct irh_kv *kv, unsigned char **out, size_t *outlen);
/* Parses a payload; NULL with err filled on malformed input. */
struct irh_kv *irh_kv_decode(const void *buf, size_t len, char *err, size_t errlen);

/* Writes one frame (blocking, EINTR-safe). Returns 0 or -1 (errno set). */
int irh_ipc_send(int fd, uint8_t type, uint32_t id, const struct irh_kv *kv);
/* Reads one frame (blocking). Returns 1 with *kv owned by the caller, 0 on clean EOF,
 * -1 on I/O error or protocol violation (err says which). */
int irh_ipc_recv(int fd, uint8_t *type, uint32_t *id, struct irh_kv **kv, char *err, size_t errlen);

#endif
