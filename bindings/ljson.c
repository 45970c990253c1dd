/* irhost.json: lua-cjson behind guards (bindings/bindings.h). Debian's lua-cjson 2.1.0 has
 * crashers and gaps a runbook could reach, so the module owns a private cjson instance whose
 * settings nobody else can change, and checks every value before cjson sees it.
 *   decode(text)     -> value; raises "json.decode: ..." on bad input or input over the cap.
 *                       Integral numbers come back as Lua integers; null is json.null.
 *   encode(value)    -> text; raises "json.encode: ..." on NaN/Inf, cycles/depth over the
 *                       limit, excessively sparse arrays, unsupported types, or output that
 *                       could exceed the cap. Tables whose metatable is array_mt encode as
 *                       arrays even when empty; integers keep every digit.
 *   array([t])       -> t (or a new table) with array_mt set
 *   null, array_mt   -> the JSON null sentinel and the array marker metatable
 *   model(service)   -> the embedded AWS model vendor/models/<service>.json, decoded; nil, err
 *                       when there is none (the clients load their models through this) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <openssl/rand.h>
#include "bindings.h"
#include "embedded.h"

#define JSON_MAX_DEPTH 128
#define JSON_MAX_BYTES ((size_t)64 << 20)
/* cjson 2.1.0 prints numbers with at most 14 significant digits. */
#define CJSON_EXACT_INT 100000000000000LL

/* Upvalues shared by the module functions. */
enum { UV_DECODE = 1, UV_ENCODE, UV_ARRAY_MT, UV_NONCE };

struct walk {
    size_t bytes;   /* upper bound of the encoded size */
    int need_copy;  /* something cjson cannot print right: substitute it */
};

static void add_bytes(lua_State *L, struct walk *w, size_t n)
{
    if (n > JSON_MAX_BYTES || w->bytes > JSON_MAX_BYTES - n)
        luaL_error(L, "json.encode: result would exceed %d MB", (int)(JSON_MAX_BYTES >> 20));
    w->bytes += n;
}

static int is_array_marked(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    int same = lua_rawequal(L, -1, lua_upvalueindex(UV_ARRAY_MT));
    lua_pop(L, 1);
    return same;
}

/* Does cjson's %.14g print this number exactly? */
static int number_is_exact(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        return i > -CJSON_EXACT_INT && i < CJSON_EXACT_INT;
    }
    char buf[64];
    double d = lua_tonumber(L, idx);
    snprintf(buf, sizeof buf, "%.14g", d);
    return strtod(buf, NULL) == d;
}

/* Checks the value at idx (absolute) and everything under it. */
static void check_value(lua_State *L, int idx, int depth, struct walk *w)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TBOOLEAN: add_bytes(L, w, 5); return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL) luaL_error(L, "json.encode: cannot encode a userdata");
        add_bytes(L, w, 4);
        return;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx) && !isfinite(lua_tonumber(L, idx)))
            luaL_error(L, "json.encode: cannot encode NaN or infinity");
        if (!number_is_exact(L, idx)) w->need_copy = 1;
        add_bytes(L, w, 32);
        return;
    case LUA_TSTRING: {
        size_t len;
        lua_tolstring(L, idx, &len);
        if (len > JSON_MAX_BYTES / 6) add_bytes(L, w, JSON_MAX_BYTES + 1);
        add_bytes(L, w, len * 6 + 2);  /* worst case: every byte as \u00XX */
        return;
    }
    case LUA_TTABLE: break;
    default: luaL_error(L, "json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
    if (depth >= JSON_MAX_DEPTH) luaL_error(L, "json.encode: nesting deeper than %d (or a cycle)", JSON_MAX_DEPTH);
    if (!lua_checkstack(L, 4)) luaL_error(L, "json.encode: out of stack");
    int empty = 1;
    add_bytes(L, w, 2);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        empty = 0;
        int top = lua_gettop(L);
        if (lua_type(L, top - 1) == LUA_TSTRING) check_value(L, top - 1, depth + 1, w);
        else if (lua_type(L, top - 1) == LUA_TNUMBER) add_bytes(L, w, 34);
        else luaL_error(L, "json.encode: table keys must be strings or numbers");
        add_bytes(L, w, 2);
        check_value(L, top, depth + 1, w);
        lua_pop(L, 1);
    }
    if (empty && is_array_marked(L, idx)) w->need_copy = 1;
}

/* Pushes a sentinel string that encodes as "\u0001<nonce><text>" and is swapped for text. */
static void push_sentinel(lua_State *L, const char *text)
{
    lua_pushfstring(L, "\x01%s%s", lua_tostring(L, lua_upvalueindex(UV_NONCE)), text);
}

/* Pushes a copy of the value at idx (absolute) with sentinels where cjson would be wrong. */
static void copy_value(lua_State *L, int idx)
{
    char buf[64];
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (number_is_exact(L, idx)) { lua_pushvalue(L, idx); return; }
        if (lua_isinteger(L, idx)) snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
        else snprintf(buf, sizeof buf, "%.17g", lua_tonumber(L, idx));
        push_sentinel(L, buf);
        return;
    case LUA_TTABLE: break;
    default: lua_pushvalue(L, idx); return;
    }
    luaL_checkstack(L, 6, "json.encode");
    lua_pushnil(L);
    if (!lua_next(L, idx)) {
        if (is_array_marked(L, idx)) push_sentinel(L, "[]");
        else lua_newtable(L);
        return;
    }
    lua_pop(L, 2);
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int top = lua_gettop(L);
        lua_pushvalue(L, top - 1);
        copy_value(L, top);
        lua_rawset(L, out);
        lua_pop(L, 1);
    }
}

/* Replaces every quoted sentinel in the encoded text at the top of the stack. */
static void substitute_sentinels(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    const char *nonce = lua_tostring(L, lua_upvalueindex(UV_NONCE));
    char mark[64];
    int mlen = snprintf(mark, sizeof mark, "\"\\u0001%s", nonce);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *p = s, *end = s + len;
    for (;;) {
        const char *hit = memmem(p, (size_t)(end - p), mark, (size_t)mlen);
        if (!hit) break;
        luaL_addlstring(&b, p, (size_t)(hit - p));
        const char *val = hit + mlen;
        const char *close = memchr(val, '"', (size_t)(end - val));
        if (!close) luaL_error(L, "json.encode: internal sentinel error");
        luaL_addlstring(&b, val, (size_t)(close - val));
        p = close + 1;
    }
    luaL_addlstring(&b, p, (size_t)(end - p));
    luaL_pushresult(&b);
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    struct walk w = {0, 0};
    check_value(L, 1, 0, &w);
    lua_pushvalue(L, lua_upvalueindex(UV_ENCODE));
    if (w.need_copy) copy_value(L, 1);
    else lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        return luaL_error(L, "json.encode: %s", lua_tostring(L, -1));
    if (w.need_copy) substitute_sentinels(L);
    return 1;
}

/* Turns integral floats into integers, as a JSON reader expects of "3". */
static void integerize(lua_State *L, int idx)
{
    if (!lua_checkstack(L, 4)) luaL_error(L, "json.decode: out of stack");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int t = lua_type(L, -1);
        if (t == LUA_TTABLE) {
            integerize(L, lua_gettop(L));
        } else if (t == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)d);
                lua_rawset(L, idx);
            }
        }
        lua_pop(L, 1);
    }
}

static int l_decode(lua_State *L)
{
    size_t len;
    luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, len <= JSON_MAX_BYTES, 1, "json.decode: text over 64 MB");
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_DECODE));
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        return luaL_error(L, "json.decode: %s", lua_tostring(L, -1));
    if (lua_type(L, -1) == LUA_TTABLE) integerize(L, lua_gettop(L));
    else if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
        double d = lua_tonumber(L, -1);
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
    }
    return 1;
}

static int l_model(lua_State *L)
{
    const char *service = luaL_checkstring(L, 1);
    char name[128];
    if (strpbrk(service, "/.") || (size_t)snprintf(name, sizeof name, "models/%s.json", service) >= sizeof name) {
        lua_pushnil(L);
        lua_pushfstring(L, "no model for service '%s'", service);
        return 2;
    }
    const struct irh_embedded *e = irh_embedded_find(name);
    if (!e) {
        lua_pushnil(L);
        lua_pushfstring(L, "no model for service '%s'", service);
        return 2;
    }
    lua_settop(L, 0);
    lua_pushlstring(L, (const char *)e->data, e->len);
    return l_decode(L);
}

static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) { lua_settop(L, 0); lua_newtable(L); }
    else luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    lua_setmetatable(L, 1);
    return 1;
}

/* Calls the boolean/integer setter `name` of the cjson instance at idx. */
static void configure(lua_State *L, int idx, const char *name, int a, int is_bool)
{
    lua_getfield(L, idx, name);
    if (is_bool) lua_pushboolean(L, a);
    else lua_pushinteger(L, a);
    lua_call(L, 1, 0);
}

static const luaL_Reg json_funcs[] = {
    {"decode", l_decode},
    {"encode", l_encode},
    {"array", l_array},
    {"model", l_model},
    {NULL, NULL},
};

int luaopen_irhost_json(lua_State *L)
{
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);                       /* a private instance: its own settings */
    int inst = lua_gettop(L);
    configure(L, inst, "decode_max_depth", JSON_MAX_DEPTH, 0);
    configure(L, inst, "encode_max_depth", JSON_MAX_DEPTH, 0);
    configure(L, inst, "encode_invalid_numbers", 0, 1);
    configure(L, inst, "decode_invalid_numbers", 0, 1);
    configure(L, inst, "encode_keep_buffer", 0, 1);
    lua_getfield(L, inst, "encode_sparse_array");
    lua_pushboolean(L, 0);
    lua_pushinteger(L, 2);
    lua_pushinteger(L, 10);
    lua_call(L, 3, 0);

    lua_newtable(L);
    int mt = lua_gettop(L);
    lua_pushliteral(L, "json.array");
    lua_setfield(L, mt, "__name");
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1) return luaL_error(L, "json: random source failed");
    lua_pushfstring(L, "irhjson%d_%d_", (int)((r[0] << 16) | (r[1] << 8) | r[2]), (int)((r[3] << 16) | (r[4] << 8) | r[5]));
    int nonce = lua_gettop(L);

    lua_newtable(L);                          /* the module; upvalues in enum order */
    lua_getfield(L, inst, "decode");
    lua_getfield(L, inst, "encode");
    lua_pushvalue(L, mt);
    lua_pushvalue(L, nonce);
    luaL_setfuncs(L, json_funcs, 4);
    lua_pushvalue(L, mt);
    lua_setfield(L, -2, "array_mt");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
