#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <lua-cjson.h>

/* Wipe on free and on shrink: these states hold credentials while they parse. */
static void *wiping_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        if (ptr) explicit_bzero(ptr, osize);
        free(ptr);
        return NULL;
    }
    void *n = malloc(nsize);
    if (!n) return NULL;
    if (ptr) {
        memcpy(n, ptr, osize < nsize ? osize : nsize);
        explicit_bzero(ptr, osize);
        free(ptr);
    }
    return n;
}

struct lua_State *irh_json_state(void)
{
    lua_State *L = lua_newstate(wiping_alloc, NULL);
    if (!L) return NULL;
    luaL_requiref(L, "_G", luaopen_base, 1);
    luaL_requiref(L, "cjson", luaopen_cjson, 1);
    lua_pop(L, 2);
    return L;
}

static int get_path(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *path = luaL_checkstring(L, 2);
    lua_getglobal(L, "cjson");
    lua_getfield(L, -1, "decode");
    lua_pushlstring(L, text, len);
    lua_call(L, 1, 1);
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (!lua_istable(L, -1)) { lua_pushnil(L); return 1; }
        lua_pushlstring(L, path, n);
        lua_gettable(L, -2);
        path += n + (dot ? 1 : 0);
    }
    if (lua_type(L, -1) == LUA_TSTRING) return 1;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        /* cjson decodes every number as a float: give integral values back as integers. */
        lua_Number n = lua_tonumber(L, -1);
        lua_Integer i;
        if (lua_numbertointeger(n, &i) && (lua_Number)i == n) lua_pushfstring(L, "%I", (LUAI_UACINT)i);
        else lua_pushfstring(L, "%f", n);
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

char *irh_json_get(const char *text, size_t len, const char *path, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    lua_State *L = irh_json_state();
    if (!L) { if (errlen) strncpy(err, "out of memory", errlen - 1); return NULL; }
    char *out = NULL;
    lua_pushcfunction(L, get_path);
    lua_pushlstring(L, text, len);
    lua_pushstring(L, path);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        if (errlen) { strncpy(err, lua_tostring(L, -1) ? lua_tostring(L, -1) : "invalid JSON", errlen - 1); err[errlen - 1] = '\0'; }
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        out = malloc(n + 1);
        if (out) { memcpy(out, s, n); out[n] = '\0'; }
    }
    lua_close(L);
    return out;
}
