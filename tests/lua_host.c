/* irhost-lua: a trusted Lua 5.4 interpreter for tests and benchmarks, with every module
 * built into irhost (require "aws.protocols.query", require "irhost.xml", ...) and, for
 * test helpers, files from tests/lib. Never shipped; runbooks run only in the sandbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "bindings.h"

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int return_upvalue(lua_State *L) { lua_pushvalue(L, lua_upvalueindex(1)); return 1; }

static int searcher(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        /* A module that exists but fails to load is an error, not "not found". */
        if (m && !strstr(m, "is not built into irhost")) return lua_error(L);
        lua_pushfstring(L, "\n\tno built-in module '%s'", lua_tostring(L, 1));
        return 1;
    }
    lua_pushcclosure(L, return_upvalue, 1);
    lua_pushliteral(L, ":built-in:");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: irhost-lua SCRIPT [ARGS...]\n"); return 2; }
    lua_State *L = luaL_newstate();
    if (!L) return 1;
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    /* Insert before the file searchers, after preload, keeping the others. */
    for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i >= 2; i--) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 1);
    const char *root = getenv("IRHOST_ROOT");
    lua_pushfstring(L, "%s/tests/lib/?.lua;./?.lua", root ? root : ".");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - 1); }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, traceback);
    int rc = luaL_loadfile(L, argv[1]);
    if (rc == LUA_OK) {
        for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
        rc = lua_pcall(L, argc - 2, 1, 1);
    }
    int status = 0;
    if (rc != LUA_OK) {
        fprintf(stderr, "irhost-lua: %s\n", lua_tostring(L, -1));
        status = 1;
    } else if (lua_isinteger(L, -1)) {
        status = (int)lua_tointeger(L, -1);
    } else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
        status = 1;
    }
    lua_close(L);
    return status;
}
