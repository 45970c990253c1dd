/* The runbook sandbox environment (see host/luaenv.h and ../shared/DESIGN.md). */
#include "luaenv.h"

#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "bindings.h"
#include "lualimits.h"

/* How deep coroutine.close may nest: Lua 5.4.4 overflows the C stack on long chains. */
#define CLOSE_DEPTH_MAX 16
#define RO_CACHE_KEY "irhost.luaenv.ro"
/* Marks a metatable the runbook installed itself (a key it cannot put into another table:
 * trusted tables reach it only as read-only views). A registry set would pin every
 * metatable, and a weak one is what this sandbox avoids. */
static const char own_mt_marker;

/* ---------------------------------------------------------------- loading text only */

static const char *reader_fn(lua_State *L, void *ud, size_t *size)
{
    (void)ud;
    luaL_checkstack(L, 2, "too many nested functions");
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); *size = 0; return NULL; }
    if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
    lua_replace(L, 5);   /* keep the piece alive in a reserved slot */
    return lua_tolstring(L, 5, size);
}

static void set_env(lua_State *L, int env_idx)
{
    lua_pushvalue(L, env_idx);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
}

int irh_luaenv_load(lua_State *L, const char *src, size_t len, const char *chunkname, int env_idx)
{
    env_idx = lua_absindex(L, env_idx);
    int st = luaL_loadbufferx(L, src, len, chunkname, "t");
    if (st == LUA_OK) set_env(L, env_idx);
    return st;
}

/* load(chunk [, chunkname [, mode [, env]]]) for both worlds: text only; the default
 * environment is upvalue 1 (the sandbox env, or the trusted globals). */
static int safe_load(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    const char *mode = luaL_optstring(L, 3, "t");
    int has_env = !lua_isnone(L, 4);
    if (!strchr(mode, 't')) {
        luaL_pushfail(L);
        lua_pushliteral(L, "load: binary chunks are not allowed (text only)");
        return 2;
    }
    int st;
    if (s) {
        const char *name = luaL_optstring(L, 2, s);
        st = luaL_loadbufferx(L, s, len, name, "t");
    } else {
        const char *name = luaL_optstring(L, 2, "=(load)");
        luaL_checktype(L, 1, LUA_TFUNCTION);
        lua_settop(L, 5);
        st = lua_load(L, reader_fn, NULL, name, "t");
    }
    if (st != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) set_env(L, 4);
    else {
        lua_pushvalue(L, lua_upvalueindex(1));
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

/* ---------------------------------------------------------------- guarded base functions */

static int safe_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        static const char *const refused[] = {"__gc", "__mode"};
        for (size_t i = 0; i < 2; i++) {
            if (lua_getfield(L, 2, refused[i]) != LUA_TNIL)
                return luaL_error(L, "setmetatable: %s is not allowed in runbooks (Lua 5.4.4 crashes "
                                  "on finalizers and weak tables under memory pressure)", refused[i]);
            lua_pop(L, 1);
        }
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    if (t == LUA_TTABLE) {
        lua_pushlightuserdata(L, (void *)&own_mt_marker);
        lua_pushboolean(L, 1);
        lua_rawset(L, 2);
    }
    lua_setmetatable(L, 1);
    return 1;
}

static void wrap_top(lua_State *L);

/* getmetatable for runbooks: their own metatables as they are; a metatable that trusted
 * code made (a decoded JSON array's, say) only as a read-only view, so a runbook cannot
 * add __mode or __index to it afterwards. */
static int safe_getmetatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1)) { lua_pushnil(L); return 1; }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return 1;
    lua_pushlightuserdata(L, (void *)&own_mt_marker);
    int own = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 1);
    if (!own) wrap_top(L);
    return 1;
}

static int safe_collectgarbage(lua_State *L)
{
    static const char *const ok[] = {"collect", "count", "step", "isrunning", NULL};
    const char *opt = luaL_optstring(L, 1, "collect");
    for (int i = 0; ok[i]; i++) {
        if (strcmp(opt, ok[i]) == 0) {
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_insert(L, 1);
            lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
            return lua_gettop(L);
        }
    }
    return luaL_error(L, "collectgarbage('%s') is not allowed in runbooks (only collect, count, step, isrunning)", opt);
}

/* coroutine.close with a nesting guard; upvalue 1 = the real close, 2 = depth counter. */
static int safe_coclose(lua_State *L)
{
    int *depth = lua_touserdata(L, lua_upvalueindex(2));
    if (*depth >= CLOSE_DEPTH_MAX)
        return luaL_error(L, "coroutine.close nested more than %d deep (refused: Lua 5.4.4 crashes on long close chains)", CLOSE_DEPTH_MAX);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    (*depth)++;
    int st = lua_pcall(L, n, LUA_MULTRET, 0);
    (*depth)--;
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

static int host_send(lua_State *L, const char *type, int fields_idx)
{
    fields_idx = lua_absindex(L, fields_idx);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushliteral(L, "irhost.host");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "send");
    lua_pushstring(L, type);
    lua_pushvalue(L, fields_idx);
    lua_call(L, 2, 0);
    lua_pop(L, 1);
    return 0;
}

static int sandbox_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
        if (i < n) luaL_addchar(&b, '\t');
    }
    luaL_pushresult(&b);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "info");
    lua_setfield(L, -2, "level");
    lua_insert(L, -2);
    lua_setfield(L, -2, "text");
    return host_send(L, "log", -1);
}

/* ---------------------------------------------------------------- read-only views */

static void push_view(lua_State *L, int box_idx);

/* Resolves the view's target (upvalue 1 is its box: {target=t} or {module=name}). */
static int view_target(lua_State *L)
{
    int box = lua_upvalueindex(1);
    if (lua_getfield(L, box, "target") == LUA_TTABLE) return lua_gettop(L);
    lua_pop(L, 1);
    lua_getfield(L, box, "module");
    const char *name = lua_tostring(L, -1);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        luaL_where(L, 2);
        lua_pushfstring(L, "the '%s' module is not available in this irhost build", name);
        lua_concat(L, 2);
        return lua_error(L);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, box, "target");
    return lua_gettop(L);
}

/* Replaces the value on top by its read-only view when it is a table. */
static void wrap_top(lua_State *L)
{
    if (!lua_istable(L, -1)) return;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, RO_CACHE_KEY);
    lua_pushvalue(L, -2);
    if (lua_rawget(L, -2) == LUA_TTABLE) {   /* cached view */
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);                 /* box */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "target");
    push_view(L, lua_gettop(L));
    lua_remove(L, -2);                        /* drop box: cache, view */
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);                        /* cache[target] = view */
    lua_replace(L, -3);
    lua_pop(L, 1);
}

static int view_index(lua_State *L)
{
    int t = view_target(L);
    lua_pushvalue(L, 2);
    lua_gettable(L, t);
    wrap_top(L);
    return 1;
}

static int view_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to change a read-only built-in table (field '%s')", luaL_tolstring(L, 2, NULL));
}

static int view_len(lua_State *L)
{
    int t = view_target(L);
    lua_pushinteger(L, luaL_len(L, t));
    return 1;
}

static int view_next(lua_State *L)
{
    int t = view_target(L);
    lua_settop(L, t);
    lua_pushvalue(L, 2);
    if (!lua_next(L, t)) return 0;
    wrap_top(L);
    return 2;
}

static int view_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, view_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static void push_view(lua_State *L, int box_idx)
{
    static const luaL_Reg mm[] = {
        {"__index", view_index}, {"__newindex", view_newindex}, {"__len", view_len},
        {"__pairs", view_pairs}, {NULL, NULL},
    };
    lua_newtable(L);                 /* the view */
    lua_createtable(L, 0, 5);        /* its metatable */
    lua_pushvalue(L, box_idx);
    luaL_setfuncs(L, mm, 1);
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

static void push_module_view(lua_State *L, const char *module)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, module);
    lua_setfield(L, -2, "module");
    push_view(L, lua_gettop(L));
    lua_remove(L, -2);
}

/* ---------------------------------------------------------------- require */

/* Upvalues: 1 = sandbox env, 2 = modules loaded so far, 3 = built-in views, 4 = the
 * runbook file modules resolve next to (or nil). */
static int sandbox_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (lua_getfield(L, lua_upvalueindex(3), name) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    if (lua_getfield(L, lua_upvalueindex(2), name) != LUA_TNIL) {
        if (lua_islightuserdata(L, -1)) return luaL_error(L, "require: module '%s' requires itself (a cycle)", name);
        return 1;
    }
    lua_pop(L, 1);
    size_t n = strlen(name);
    if (n == 0 || n > 200 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n ||
        name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
        return luaL_error(L, "require: '%s' is not a module name (use a dotted name such as lib.util or util: "
                          "modules come only from the runbook's folder and its lib/)", name);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushliteral(L, "irhost.host");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "request");
    lua_pushliteral(L, "require");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, lua_upvalueindex(4));
    lua_setfield(L, -2, "from");
    lua_call(L, 2, 1);                                     /* 3: reply */
    if (lua_getfield(L, -1, "error") == LUA_TSTRING)
        return luaL_error(L, "require '%s': %s", name, lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "source");
    lua_getfield(L, -2, "chunkname");
    size_t slen;
    const char *src = lua_tolstring(L, -2, &slen);
    const char *chunk = lua_tostring(L, -1);
    if (!src || !chunk) return luaL_error(L, "require '%s': the broker sent no source", name);
    if (irh_luaenv_load(L, src, slen, chunk, lua_upvalueindex(1)) != LUA_OK) return lua_error(L);
    lua_pushlightuserdata(L, (void *)sandbox_require);      /* "loading" marker */
    lua_setfield(L, lua_upvalueindex(2), name);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushboolean(L, 1); }
    lua_pushvalue(L, -1);
    lua_setfield(L, lua_upvalueindex(2), name);
    return 1;
}

/* ---------------------------------------------------------------- building the env */

static const char *const base_names[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
    "rawset", "select", "tonumber", "tostring", "type", "xpcall", "_VERSION", NULL,
};

/* Pushes a shallow copy of the trusted library table lib (only names, if given). */
static void push_lib_copy(lua_State *L, const char *lib, const char *const *names)
{
    lua_getglobal(L, lib);
    lua_newtable(L);
    if (names) {
        for (int i = 0; names[i]; i++) {
            lua_getfield(L, -2, names[i]);
            lua_setfield(L, -2, names[i]);
        }
    } else {
        lua_pushnil(L);
        while (lua_next(L, -3)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -4);
        }
    }
    lua_remove(L, -2);
}

void irh_luaenv_push(lua_State *L, const char *from)
{
    lua_newtable(L);
    int env = lua_gettop(L);
    for (int i = 0; base_names[i]; i++) {
        lua_getglobal(L, base_names[i]);
        lua_setfield(L, env, base_names[i]);
    }
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
    lua_pushvalue(L, env);
    lua_pushcclosure(L, safe_load, 1);
    lua_setfield(L, env, "load");
    lua_pushcfunction(L, safe_setmetatable);
    lua_setfield(L, env, "setmetatable");
    lua_pushcfunction(L, safe_getmetatable);
    lua_setfield(L, env, "getmetatable");
    lua_getglobal(L, "collectgarbage");
    lua_pushcclosure(L, safe_collectgarbage, 1);
    lua_setfield(L, env, "collectgarbage");
    lua_pushcfunction(L, sandbox_print);
    lua_setfield(L, env, "print");

    static const char *const os_names[] = {"time", "clock", "date", "difftime", NULL};
    static const char *const libs[] = {"string", "table", "math", "utf8", "coroutine", NULL};
    for (int i = 0; libs[i]; i++) {
        push_lib_copy(L, libs[i], NULL);
        lua_setfield(L, env, libs[i]);
    }
    push_lib_copy(L, "os", os_names);
    lua_setfield(L, env, "os");
    lua_getfield(L, env, "coroutine");
    lua_getfield(L, -1, "close");
    int *depth = lua_newuserdatauv(L, sizeof(int), 0);
    *depth = 0;
    lua_pushcclosure(L, safe_coclose, 2);
    lua_setfield(L, -2, "close");
    lua_pop(L, 1);

    /* The public built-in modules, as read-only views, loaded on first use. */
    static const char *const views[][2] = {{"ir", "ir"}, {"aws", "aws"}, {"json", "irhost.json"}};
    lua_createtable(L, 0, 3);
    int builtins = lua_gettop(L);
    for (size_t i = 0; i < 3; i++) {
        push_module_view(L, views[i][1]);
        lua_pushvalue(L, -1);
        lua_setfield(L, env, views[i][0]);
        lua_setfield(L, builtins, views[i][0]);
    }
    lua_pushvalue(L, env);
    lua_newtable(L);
    lua_pushvalue(L, builtins);
    if (from) lua_pushstring(L, from);
    else lua_pushnil(L);
    lua_pushcclosure(L, sandbox_require, 4);
    lua_setfield(L, env, "require");
    lua_pop(L, 1);   /* builtins */
}

/* irhost.sandbox.env() -> a fresh runbook environment, for trusted code that builds one of
 * its own (ir.testing) and must hand its runbooks the same guards. */
static int sandbox_env(lua_State *L)
{
    irh_luaenv_push(L, NULL);
    return 1;
}

static int open_sandbox(lua_State *L)
{
    static const luaL_Reg fns[] = {{"env", sandbox_env}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* ---------------------------------------------------------------- loops inside C

string.rep and table.move loop in C, where the instruction hook cannot fire: an empty
string repeated 2^62 times, or a move of 2^62 slots, would hold the runner until the
wall clock. An empty repeat returns "" at once; a count whose result could never fit in
the memory limit is refused at once (string.rep trips the memory limit, as the allocator
would; table.move raises an error naming the range). */

/* The runner's limits, or NULL when the state is not capped (the trusted test host). */
static struct irh_limits *limits_of_state(lua_State *L)
{
    void *ud = NULL;
    return lua_getallocf(L, &ud) == irh_limits_alloc ? ud : NULL;
}

/* A TValue is 16 bytes on the platforms irhost runs on: a table cannot hold more slots. */
#define SLOT_BYTES 16u
/* Without a memory cap, still a bound on one call's loop. */
#define MOVE_MAX_UNCAPPED ((lua_Integer)1 << 32)

static int safe_rep(lua_State *L)
{
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || (l == 0 && lsep == 0)) { lua_pushliteral(L, ""); return 1; }
    struct irh_limits *lim = limits_of_state(L);
    size_t unit = l + lsep;
    if (lim && (unit < l || (unsigned long long)n > lim->cap / unit)) {
        /* It could never fit: the same ending as the allocator refusing it. */
        char msg[200];
        lim->mem_tripped = 1;
        irh_limits_tripped(lim, msg, sizeof msg);
        return luaL_error(L, "%s", msg);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int safe_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    luaL_checkinteger(L, 4);
    if (e >= f) {
        struct irh_limits *lim = limits_of_state(L);
        lua_Integer max = lim ? (lua_Integer)(lim->cap / SLOT_BYTES) : MOVE_MAX_UNCAPPED;
        /* e - f may overflow: compare without computing it when f is negative */
        if ((f > 0 || e < LUA_MAXINTEGER + f) && e - f < max) {
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_insert(L, 1);
            lua_call(L, lua_gettop(L) - 1, 1);
            return 1;
        }
        return luaL_error(L, "bad argument #3 to 'move' (moving %I..%I is more elements than the memory "
                          "limit could hold; raise it with --memory-limit MB)", f, e);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Replaces lib.name by guard, with the original as its upvalue. */
static void wrap_lib_fn(lua_State *L, const char *lib, const char *name, lua_CFunction guard)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, guard, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void irh_luaenv_harden(lua_State *L)
{
    wrap_lib_fn(L, "string", "rep", safe_rep);
    wrap_lib_fn(L, "table", "move", safe_move);
    irh_register_cmodule(L, "irhost.sandbox", open_sandbox);
    lua_pushnil(L); lua_setglobal(L, "dofile");
    lua_pushnil(L); lua_setglobal(L, "loadfile");
    lua_getglobal(L, "string");
    lua_pushnil(L); lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    static const char *const os_drop[] = {"execute", "exit", "getenv", "remove", "rename",
                                          "setlocale", "tmpname", NULL};
    lua_getglobal(L, "os");
    for (int i = 0; os_drop[i]; i++) { lua_pushnil(L); lua_setfield(L, -2, os_drop[i]); }
    lua_pop(L, 1);
    lua_pushglobaltable(L);
    lua_pushcclosure(L, safe_load, 1);
    lua_setglobal(L, "load");
    /* The runner has no stdout: print goes to the run log in both worlds. */
    lua_pushcfunction(L, sandbox_print);
    lua_setglobal(L, "print");
    /* Lock the string metatable: getmetatable("") returns this marker, not the table. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
