/* irhost.crypto: digests, encodings and randomness for trusted Lua (bindings/bindings.h).
 *   sha256(s) / md5(s)       -> raw digest bytes
 *   hmac_sha256(key, msg)    -> raw MAC bytes
 *   hex(s)                   -> lowercase hex of s
 *   base64(s) / unbase64(s)  -> standard alphabet with padding; unbase64 returns nil, err on bad input
 *   random_bytes(n)          -> n bytes from the OpenSSL CSPRNG (n <= 1 MiB)
 *   uuid4()                  -> random RFC 4122 version 4 UUID, lowercase
 *   crc32(s)                 -> IEEE CRC-32 of s as an integer
 *   urlencode(s[, safe])     -> RFC 3986 percent-encoding (uppercase hex); unreserved
 *                               characters and those in `safe` stay as they are */
#include <stdint.h>
#include <string.h>
#include <lauxlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "bindings.h"

#define RANDOM_MAX ((size_t)1 << 20)

static int digest(lua_State *L, const EVP_MD *md)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;
    if (!EVP_Digest(s, len, out, &outlen, md, NULL)) return luaL_error(L, "crypto: digest failed");
    lua_pushlstring(L, (const char *)out, outlen);
    return 1;
}

static int l_sha256(lua_State *L) { return digest(L, EVP_sha256()); }
static int l_md5(lua_State *L) { return digest(L, EVP_md5()); }

static int l_hmac_sha256(lua_State *L)
{
    size_t klen, mlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    luaL_argcheck(L, klen <= INT32_MAX, 1, "key too long");
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &outlen))
        return luaL_error(L, "crypto: hmac failed");
    lua_pushlstring(L, (const char *)out, outlen);
    return 1;
}

static int l_hex(lua_State *L)
{
    static const char digits[] = "0123456789abcdef";
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, len <= (SIZE_MAX - 1) / 2, 1, "too long");
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len * 2);
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = digits[s[i] >> 4];
        p[2 * i + 1] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, len * 2);
    return 1;
}

static int l_base64(lua_State *L)
{
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, len <= INT32_MAX / 2, 1, "too long");
    size_t outlen = 4 * ((len + 2) / 3);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, outlen + 1);
    int n = EVP_EncodeBlock((unsigned char *)p, s, (int)len);
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

static int l_unbase64(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, len <= INT32_MAX / 2, 1, "too long");
    if (len % 4 != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "base64: length is not a multiple of 4");
        return 2;
    }
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=') pad++;
    if (len >= 2 && s[len - 2] == '=') pad++;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len / 4 * 3 + 1);
    int n = len ? EVP_DecodeBlock((unsigned char *)p, (const unsigned char *)s, (int)len) : 0;
    if (n < 0 || (size_t)n < pad) {
        luaL_pushresultsize(&b, 0);
        lua_pushnil(L);
        lua_pushliteral(L, "base64: invalid character");
        return 2;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes; drop them. */
    luaL_pushresultsize(&b, (size_t)n - pad);
    return 1;
}

static int l_random_bytes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && (size_t)n <= RANDOM_MAX, 1, "must be 0..1048576");
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, (size_t)n);
    if (n > 0 && RAND_bytes((unsigned char *)p, (int)n) != 1)
        return luaL_error(L, "crypto: random source failed");
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

static int l_uuid4(lua_State *L)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) return luaL_error(L, "crypto: random source failed");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    char out[37];
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof r; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = digits[r[i] >> 4];
        out[o++] = digits[r[i] & 15];
    }
    lua_pushlstring(L, out, o);
    return 1;
}

static int l_crc32(lua_State *L)
{
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= s[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    lua_pushinteger(L, (lua_Integer)(c ^ 0xffffffffu));
    return 1;
}

static int l_urlencode(lua_State *L)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t len, slen = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    const char *safe = luaL_optlstring(L, 2, "", &slen);
    unsigned char keep[256] = {0};
    for (int c = 'A'; c <= 'Z'; c++) keep[c] = 1;
    for (int c = 'a'; c <= 'z'; c++) keep[c] = 1;
    for (int c = '0'; c <= '9'; c++) keep[c] = 1;
    keep['-'] = keep['.'] = keep['_'] = keep['~'] = 1;
    for (size_t i = 0; i < slen; i++) keep[(unsigned char)safe[i]] = 1;
    size_t extra = 0;
    for (size_t i = 0; i < len; i++) if (!keep[s[i]]) extra++;
    if (extra == 0) { lua_settop(L, 1); return 1; }
    luaL_argcheck(L, len <= (SIZE_MAX - len) / 3, 1, "too long");
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len + 2 * extra);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (keep[s[i]]) { p[o++] = (char)s[i]; continue; }
        p[o++] = '%';
        p[o++] = digits[s[i] >> 4];
        p[o++] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static const luaL_Reg crypto_funcs[] = {
    {"sha256", l_sha256},
    {"md5", l_md5},
    {"hmac_sha256", l_hmac_sha256},
    {"hex", l_hex},
    {"base64", l_base64},
    {"unbase64", l_unbase64},
    {"random_bytes", l_random_bytes},
    {"uuid4", l_uuid4},
    {"crc32", l_crc32},
    {"urlencode", l_urlencode},
    {NULL, NULL},
};

int luaopen_irhost_crypto(lua_State *L)
{
    luaL_newlib(L, crypto_funcs);
    return 1;
}
