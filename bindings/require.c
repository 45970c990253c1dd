#include "bindings.h"
#include "embedded.h"

#include <string.h>
#include <lauxlib.h>

#define LOADED_KEY "irhost.loaded"
#define CMODULES_KEY "irhost.cmodules"

static const luaL_Reg builtin_cmodules[] = {
    {"irhost.xml", luaopen_irhost_xml},
    {"irhost.json", luaopen_irhost_json},
    {"irhost.crypto", luaopen_irhost_crypto},
    {NULL, NULL},
};

void irh_register_cmodule(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, CMODULES_KEY);
    lua_pushcfunction(L, open);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Pushes the opener for name (a C function or a loaded chunk), or returns 0. */
static int find_loader(lua_State *L, const char *name)
{
    for (const luaL_Reg *r = builtin_cmodules; r->name; r++) {
        if (strcmp(r->name, name) == 0) { lua_pushcfunction(L, r->func); return 1; }
    }
    luaL_getsubtable(L, LUA_REGISTRYINDEX, CMODULES_KEY);
    if (lua_getfield(L, -1, name) == LUA_TFUNCTION) { lua_remove(L, -2); return 1; }
    lua_pop(L, 2);
    const struct irh_embedded *e = irh_embedded_find(name);
    if (!e) return 0;
    char chunkname[300];
    snprintf(chunkname, sizeof chunkname, "=[irhost]/%s", name);
    if (luaL_loadbufferx(L, (const char *)e->data, e->len, chunkname, "t") != LUA_OK)
        lua_error(L);
    return 1;
}

int irh_require_trusted(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LOADED_KEY);           /* 2 */
    if (lua_getfield(L, 2, name) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    if (!find_loader(L, name))
        return luaL_error(L, "module '%s' is not built into irhost", name);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushboolean(L, 1); }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}
