/* check, policy and test in the runner (see host/runmodes.h). */
#include "runmodes.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "bindings.h"
#include "luaenv.h"

/* Pushes the trusted module name; 0, or -1 with its error message pushed. */
static int push_module(lua_State *L, int msgh, const char *name)
{
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushstring(L, name);
    return lua_pcall(L, 1, 1, msgh) == LUA_OK ? 0 : -1;
}

/* Runs f's main chunk in a fresh sandbox environment. Returns LUA_OK with what it returned
 * pushed, a load status (syntax, memory) with nil pushed (the checker reports syntax
 * itself), or LUA_ERRRUN with the error message pushed. */
static int main_chunk(lua_State *L, int msgh, const struct irh_source *f)
{
    char chunkname[PATH_MAX + 2];
    snprintf(chunkname, sizeof chunkname, "@%s", f->path);
    irh_luaenv_push(L, f->path);
    int env = lua_gettop(L);
    int st = irh_luaenv_load(L, f->text, f->len, chunkname, env);
    lua_remove(L, env);
    if (st != LUA_OK) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return st == LUA_ERRRUN ? LUA_ERRSYNTAX : st;
    }
    return lua_pcall(L, 0, 1, msgh) == LUA_OK ? LUA_OK : LUA_ERRRUN;
}

/* Calls the function below its args on the stack with one table argument; returns its
 * integer result as an exit code, or -1 with the error message in msg. */
static int call_command(lua_State *L, int msgh, char *msg, size_t msglen)
{
    if (lua_pcall(L, 1, 1, msgh) != LUA_OK) {
        snprintf(msg, msglen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "internal error");
        lua_pop(L, 1);
        return -1;
    }
    int isnum;
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum || code < 0 || code > 125) {
        snprintf(msg, msglen, "internal error: the command returned no exit code");
        return -1;
    }
    return (int)code;
}

static void set_string(lua_State *L, const char *key, const char *value)
{
    if (!value) return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

static void set_source(lua_State *L, const struct irh_source *f)
{
    set_string(L, "path", f->path);
    lua_pushlstring(L, f->text, f->len);
    lua_setfield(L, -2, "source");
}

/* ---------------------------------------------------------------- check */

/* Whether ir.check (at index mod) finds an error in f by reading it. When ir.runbook
 * refused the declaration as the chunk ran, such an error is that same problem, reported
 * at the field's own line (the run-time message has no line: `return ir.runbook{...}`
 * is a tail call); only a problem the reading missed needs the run-time message. */
static int static_error(lua_State *L, int mod, const struct irh_source *f)
{
    int top = lua_gettop(L), found = 0;
    lua_getfield(L, mod, "check_source");
    lua_pushstring(L, f->path);
    lua_pushlstring(L, f->text, f->len);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n && !found; i++) {
            lua_rawgeti(L, -1, i);
            lua_getfield(L, -1, "severity");
            found = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "error") == 0;
            lua_pop(L, 2);
        }
    }
    lua_settop(L, top);
    return found;
}

static int run_check(lua_State *L, int msgh, const struct irh_runner_args *a, char *msg, size_t msglen)
{
    if (push_module(L, msgh, "ir.check") != 0) {
        snprintf(msg, msglen, "ir.check is not available: %s", lua_tostring(L, -1));
        return -1;
    }
    int mod = lua_gettop(L);
    lua_getfield(L, mod, "run");
    lua_createtable(L, 0, 3);
    lua_createtable(L, (int)a->nfiles, 0);
    for (size_t i = 0; i < a->nfiles; i++) {
        const struct irh_source *f = &a->files[i];
        lua_createtable(L, 0, 4);
        set_source(L, f);
        int st = main_chunk(L, msgh, f);
        if (st == LUA_OK && lua_istable(L, -1)) {
            lua_setfield(L, -2, "declaration");
        } else if (st == LUA_ERRRUN) {
            const char *m = lua_tostring(L, -1);
            if (!m || (strstr(m, "runbook declaration: ") && static_error(L, mod, f))) lua_pop(L, 1);
            else lua_setfield(L, -2, "runtime_error");
        } else {
            lua_pop(L, 1);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "files");
    lua_pushboolean(L, a->task->strict);
    lua_setfield(L, -2, "strict");
    set_string(L, "format", a->task->format ? a->task->format : "text");
    return call_command(L, msgh, msg, msglen);
}

/* ---------------------------------------------------------------- policy */

static int run_policy(lua_State *L, int msgh, const struct irh_runner_args *a, char *msg, size_t msglen)
{
    const struct irh_options *o = a->opt;
    const struct irh_source *f = &a->files[0];
    if (push_module(L, msgh, "ir.policy") != 0) {
        snprintf(msg, msglen, "ir.policy is not available: %s", lua_tostring(L, -1));
        return -1;
    }
    lua_getfield(L, -1, "run");
    lua_createtable(L, 0, 9);
    set_source(L, f);
    /* The declaration as the sandbox evaluates it, for permissions built at run time. */
    int st = main_chunk(L, msgh, f);
    if (st == LUA_ERRRUN) {
        snprintf(msg, msglen, "%s (irhost check %s lists every problem)", lua_tostring(L, -1), f->path);
        return 1;
    }
    if (lua_istable(L, -1)) lua_setfield(L, -2, "declaration");
    else lua_pop(L, 1);
    lua_pushboolean(L, a->task->resources);
    lua_setfield(L, -2, "resources");
    lua_createtable(L, o->nargs, 0);
    for (int i = 0; i < o->nargs; i++) {
        lua_pushstring(L, o->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "args");
    set_string(L, "region", o->region);
    set_string(L, "account", a->task->account);
    set_string(L, "partition", a->task->partition);
    return call_command(L, msgh, msg, msglen);
}

/* ---------------------------------------------------------------- test */

/* load(path) -> source | nil, message: a text file the broker lets a test read. */
static int test_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushliteral(L, "irhost.host");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "request");
    lua_pushliteral(L, "read_file");
    lua_createtable(L, 0, 1);
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    lua_call(L, 2, 1);
    if (lua_getfield(L, -1, "content") == LUA_TSTRING) return 1;
    lua_pushnil(L);
    if (lua_getfield(L, -3, "message") != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_getfield(L, -3, "error");
    }
    return 2;
}

static int run_test(lua_State *L, int msgh, const struct irh_runner_args *a, char *msg, size_t msglen)
{
    if (push_module(L, msgh, "ir.testing") != 0) {
        snprintf(msg, msglen, "ir.testing is not available: %s", lua_tostring(L, -1));
        return -1;
    }
    lua_getfield(L, -1, "run");
    lua_createtable(L, 0, 2);
    lua_createtable(L, (int)a->nfiles, 0);
    for (size_t i = 0; i < a->nfiles; i++) {
        lua_createtable(L, 0, 2);
        set_source(L, &a->files[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "files");
    lua_pushcfunction(L, test_load);
    lua_setfield(L, -2, "load");
    return call_command(L, msgh, msg, msglen);
}

int irh_runmodes_run(lua_State *L, int msgh, const struct irh_runner_args *a, char *msg, size_t msglen)
{
    msg[0] = '\0';
    int code;
    if (strcmp(a->mode, "check") == 0) code = run_check(L, msgh, a, msg, msglen);
    else if (strcmp(a->mode, "policy") == 0) code = run_policy(L, msgh, a, msg, msglen);
    else if (strcmp(a->mode, "test") == 0) code = run_test(L, msgh, a, msg, msglen);
    else {
        snprintf(msg, msglen, "unknown runner mode %s", a->mode);
        return 2;
    }
    return code < 0 ? 1 : code;
}
