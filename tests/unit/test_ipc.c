/* host/ipc.c: kv lists and frames, including every way a frame can be malformed. */
#include "unit.h"
#include "ipc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static void kv_roundtrip(void)
{
    struct irh_kv *kv = irh_kv_new();
    CHECK(irh_kv_adds(kv, "name", "value") == 0, "kv_adds");
    CHECK(irh_kv_add(kv, "bin", "a\0b", 3) == 0, "kv_add with a NUL inside");
    CHECK(irh_kv_addf(kv, "n", "%d-%s", 42, "x") == 0, "kv_addf");
    CHECK(irh_kv_add(kv, "empty", "", 0) == 0, "empty value");
    CHECK(irh_kv_adds(kv, "name", "second") == 0, "duplicate key kept");
    unsigned char *buf;
    size_t len;
    CHECK(irh_kv_encode(kv, &buf, &len) == 0, "encode");
    char err[128];
    struct irh_kv *back = irh_kv_decode(buf, len, err, sizeof err);
    CHECK(back != NULL, "decode what encode made");
    size_t vl;
    const char *v = irh_kv_get(back, "bin", &vl);
    CHECK(v && vl == 3 && memcmp(v, "a\0b", 3) == 0, "binary value survives");
    CHECK(strcmp(irh_kv_get(back, "name", NULL), "value") == 0, "get returns the first of duplicate keys");
    CHECK(strcmp(irh_kv_get(back, "n", NULL), "42-x") == 0, "formatted value");
    v = irh_kv_get(back, "empty", &vl);
    CHECK(v && vl == 0 && v[0] == '\0', "empty value is an empty NUL-terminated string");
    CHECK(irh_kv_get(back, "absent", NULL) == NULL, "absent key is NULL");
    CHECK(irh_kv_count(back) == 5, "count keeps order and duplicates");
    const char *k;
    irh_kv_at(back, 4, &k, &v, &vl);
    CHECK(strcmp(k, "name") == 0 && strcmp(v, "second") == 0, "entry at index");
    free(buf);
    irh_kv_free(kv);
    irh_kv_free(back);
    irh_kv_free(NULL);

    struct irh_kv *e = irh_kv_new();
    CHECK(irh_kv_encode(e, &buf, &len) == 0 && len == 0, "empty list encodes to nothing");
    struct irh_kv *eb = irh_kv_decode(buf, 0, err, sizeof err);
    CHECK(eb && irh_kv_count(eb) == 0, "empty payload decodes to an empty list");
    free(buf);
    irh_kv_free(e);
    irh_kv_free(eb);
}

static void kv_malformed(void)
{
    char err[128];
    unsigned char b[64];
    put_u32(b, 3); memcpy(b + 4, "key", 3); put_u32(b + 7, 100);
    CHECK(irh_kv_decode(b, 11, err, sizeof err) == NULL && strstr(err, "malformed"), "value longer than payload: %s", err);
    put_u32(b, 0xffffffffu);
    CHECK(irh_kv_decode(b, 4, err, sizeof err) == NULL, "huge key length");
    put_u32(b, 0);
    CHECK(irh_kv_decode(b, 8, err, sizeof err) == NULL, "empty key");
    put_u32(b, 3); memcpy(b + 4, "k\0y", 3); put_u32(b + 7, 0);
    CHECK(irh_kv_decode(b, 11, err, sizeof err) == NULL, "NUL in a key");
    CHECK(irh_kv_decode(b, 2, err, sizeof err) == NULL, "truncated length");
    put_u32(b, 1); b[4] = 'k';
    CHECK(irh_kv_decode(b, 6, err, sizeof err) == NULL, "missing value length");
}

static void frames(void)
{
    int sv[2];
    char err[128];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    struct irh_kv *kv = irh_kv_new();
    irh_kv_adds(kv, "text", "hello");
    CHECK(irh_ipc_send(sv[0], IRH_MSG_LOG, 7, kv) == 0, "send a frame");
    CHECK(irh_ipc_send(sv[0], IRH_MSG_DONE, 0, NULL) == 0, "send a frame without payload");
    irh_kv_free(kv);
    uint8_t type;
    uint32_t id;
    struct irh_kv *got;
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == 1 && type == IRH_MSG_LOG && id == 7,
          "receive type and id");
    CHECK(got && strcmp(irh_kv_get(got, "text", NULL), "hello") == 0, "receive the payload");
    irh_kv_free(got);
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == 1 && type == IRH_MSG_DONE && irh_kv_count(got) == 0,
          "empty payload frame");
    irh_kv_free(got);

    unsigned char h[9];
    put_u32(h, IRH_IPC_MAX_FRAME + 1u);
    CHECK(write(sv[0], h, 4) == 4, "write an oversized header");
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == -1 && strstr(err, "out of range"),
          "oversized frame is a protocol violation: %s", err);
    put_u32(h, 2);
    CHECK(write(sv[0], h, 4) == 4, "write a too-short header");
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == -1, "frame shorter than its header");
    put_u32(h, 5 + 11); h[4] = IRH_MSG_LOG; put_u32(h + 5, 1);
    unsigned char bad[11];
    put_u32(bad, 3); memcpy(bad + 4, "key", 3); put_u32(bad + 7, 99);
    CHECK(write(sv[0], h, 9) == 9 && write(sv[0], bad, 11) == 11, "write a frame with a bad payload");
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == -1 && got == NULL, "bad payload is refused");
    put_u32(h, 100);
    CHECK(write(sv[0], h, 9) == 9, "write a header, then hang up");
    close(sv[0]);
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == -1 && strstr(err, "truncated"),
          "truncated frame: %s", err);
    CHECK(irh_ipc_recv(sv[1], &type, &id, &got, err, sizeof err) == 0, "clean EOF is 0");
    kv = irh_kv_new();
    CHECK(irh_ipc_send(sv[1], IRH_MSG_REPLY, 1, kv) == -1, "sending to a closed peer fails (no SIGPIPE)");
    irh_kv_free(kv);
    close(sv[1]);
}

int main(void)
{
    kv_roundtrip();
    kv_malformed();
    frames();
    return unit_done();
}
