/* irhost.host: the runner's side of the broker protocol (see docs/internals.md).
 * Requests carry an id; replies may arrive out of order (concurrent CALLs), so a reply
 * that is not the one awaited waits in a registry table until someone asks for it. */
#include "lhost.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include "ipc.h"

#define CTX_KEY "irhost.host.ctx"
#define PENDING_KEY "irhost.host.pending"

static const struct irh_lhost_ctx *get_ctx(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY);
    const struct irh_lhost_ctx *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!c) luaL_error(L, "irhost.host is only available in the runner");
    return c;
}

void irh_lhost_setup(lua_State *L, const struct irh_lhost_ctx *ctx)
{
    lua_pushlightuserdata(L, (void *)ctx);
    lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY);
}

static const struct { const char *name; uint8_t type; int reply; } msg_types[] = {
    {"declare", IRH_MSG_DECLARE, 1}, {"call", IRH_MSG_CALL, 1}, {"evidence", IRH_MSG_EVIDENCE, 1},
    {"confirm", IRH_MSG_CONFIRM, 1}, {"require", IRH_MSG_REQUIRE, 1}, {"sign", IRH_MSG_SIGN, 1},
    {"presign", IRH_MSG_PRESIGN, 1}, {"secret_gen", IRH_MSG_SECRET_GEN, 1},
    {"assume_role", IRH_MSG_ASSUME_ROLE, 1}, {"read_file", IRH_MSG_READ_FILE, 1}, {"handoff", IRH_MSG_HANDOFF, 1},
    {"log", IRH_MSG_LOG, 0}, {"output", IRH_MSG_OUTPUT, 0}, {"event", IRH_MSG_EVENT, 0},
};

static uint8_t check_type(lua_State *L, int idx, int want_reply)
{
    const char *name = luaL_checkstring(L, idx);
    for (size_t i = 0; i < sizeof msg_types / sizeof *msg_types; i++) {
        if (strcmp(msg_types[i].name, name) == 0) {
            if (msg_types[i].reply != want_reply)
                luaL_argerror(L, idx, want_reply ? "a one-way message type: use host.send" : "a request type: use host.request");
            return msg_types[i].type;
        }
    }
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown message type '%s'", name));
    return 0;
}

/* ---------------------------------------------------------------- Lua table <-> kv */

static void add_field(lua_State *L, struct irh_kv *kv, const char *key, int vidx)
{
    size_t len;
    const char *v;
    int rc;
    switch (lua_type(L, vidx)) {
    case LUA_TSTRING: case LUA_TNUMBER:
        lua_pushvalue(L, vidx);
        v = lua_tolstring(L, -1, &len);
        rc = irh_kv_add(kv, key, v, len);
        lua_pop(L, 1);
        break;
    case LUA_TBOOLEAN:
        rc = irh_kv_adds(kv, key, lua_toboolean(L, vidx) ? "1" : "0");
        break;
    default:
        rc = -2;
    }
    if (rc == -1) { irh_kv_free(kv); luaL_error(L, "out of memory"); }
    if (rc == -2) {
        irh_kv_free(kv);
        luaL_error(L, "message field '%s' must be a string, number or boolean (got %s)", key, luaL_typename(L, vidx));
    }
}

/* Builds a kv from the fields table at idx; `headers` = {name = value} becomes h:<name>. */
static struct irh_kv *table_to_kv(lua_State *L, int idx)
{
    struct irh_kv *kv = irh_kv_new();
    if (!kv) luaL_error(L, "out of memory");
    if (lua_isnoneornil(L, idx)) return kv;
    if (!lua_istable(L, idx)) { irh_kv_free(kv); luaL_typeerror(L, idx, "table"); }
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) { irh_kv_free(kv); luaL_error(L, "message field names must be strings"); }
        const char *k = lua_tostring(L, -2);
        if (strcmp(k, "headers") == 0 && lua_istable(L, -1)) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) != LUA_TSTRING) { irh_kv_free(kv); luaL_error(L, "header names must be strings"); }
                char hk[512];
                snprintf(hk, sizeof hk, "h:%s", lua_tostring(L, -2));
                for (char *p = hk + 2; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
                add_field(L, kv, hk, -1);
                lua_pop(L, 1);
            }
        } else {
            add_field(L, kv, k, -1);
        }
        lua_pop(L, 1);
    }
    return kv;
}

/* Pushes the kv as a table (h:<name> into .headers). */
static void push_kv(lua_State *L, const struct irh_kv *kv)
{
    size_t n = irh_kv_count(kv);
    lua_createtable(L, 0, (int)(n < 64 ? n : 64));
    int headers = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(kv, i, &k, &v, &len);
        if (strncmp(k, "h:", 2) == 0) {
            if (!headers) {
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -3, "headers");
                headers = lua_gettop(L);
            }
            lua_pushlstring(L, v, len);
            lua_setfield(L, headers, k + 2);
        } else {
            lua_pushlstring(L, v, len);
            lua_setfield(L, headers ? headers - 1 : -2, k);
        }
    }
    if (headers) lua_pop(L, 1);
}

/* ---------------------------------------------------------------- transport */

static void send_msg(lua_State *L, uint8_t type, uint32_t id, struct irh_kv *kv)
{
    const struct irh_lhost_ctx *c = get_ctx(L);
    int rc = irh_ipc_send(c->fd, type, id, kv);
    int e = errno;
    irh_kv_free(kv);
    if (rc != 0) luaL_error(L, "cannot reach the broker: %s", e == EMSGSIZE ? "message too large (64 MB at most)" : strerror(e));
}

static uint32_t next_id(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "irhost.host.nextid");
    lua_Integer id = lua_tointeger(L, -1) + 1;
    lua_pop(L, 1);
    if (id > 0x7fffffff) id = 1;
    lua_pushinteger(L, id);
    lua_setfield(L, LUA_REGISTRYINDEX, "irhost.host.nextid");
    return (uint32_t)id;
}

/* Reads one reply from the broker into pending[id]. */
static void receive_one(lua_State *L)
{
    const struct irh_lhost_ctx *c = get_ctx(L);
    uint8_t type;
    uint32_t id;
    struct irh_kv *kv;
    char err[200];
    int rc = irh_ipc_recv(c->fd, &type, &id, &kv, err, sizeof err);
    if (rc == 0) luaL_error(L, "the broker closed the connection");
    if (rc < 0) luaL_error(L, "broker message: %s", err);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, PENDING_KEY);
    push_kv(L, kv);
    irh_kv_free(kv);
    lua_rawseti(L, -2, (lua_Integer)id);
    lua_pop(L, 1);
}

/* Pushes pending[id] (removing it) and returns 1, or returns 0. */
static int take_pending(lua_State *L, lua_Integer id)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, PENDING_KEY);
    if (lua_rawgeti(L, -1, id) == LUA_TNIL) { lua_pop(L, 2); return 0; }
    lua_pushnil(L);
    lua_rawseti(L, -3, id);
    lua_remove(L, -2);
    return 1;
}

static void wait_for(lua_State *L, lua_Integer id)
{
    while (!take_pending(L, id)) receive_one(L);
}

/* ---------------------------------------------------------------- the module */

static int h_call_async(lua_State *L)
{
    struct irh_kv *kv = table_to_kv(L, 1);
    uint32_t id = next_id(L);
    send_msg(L, IRH_MSG_CALL, id, kv);
    lua_pushinteger(L, id);
    return 1;
}

static int h_wait(lua_State *L)
{
    wait_for(L, luaL_checkinteger(L, 1));
    return 1;
}

static int h_call(lua_State *L)
{
    lua_settop(L, 1);
    h_call_async(L);
    wait_for(L, lua_tointeger(L, -1));
    return 1;
}

static int h_wait_any(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n > 0, 1, "no ids to wait for");
    for (;;) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 1, i);
            lua_Integer id = lua_tointeger(L, -1);
            lua_pop(L, 1);
            if (take_pending(L, id)) {
                lua_pushinteger(L, id);
                lua_insert(L, -2);
                return 2;
            }
        }
        receive_one(L);
    }
}

static int h_request(lua_State *L)
{
    uint8_t type = check_type(L, 1, 1);
    struct irh_kv *kv = table_to_kv(L, 2);
    uint32_t id = next_id(L);
    send_msg(L, type, id, kv);
    wait_for(L, id);
    return 1;
}

static int h_send(lua_State *L)
{
    uint8_t type = check_type(L, 1, 0);
    struct irh_kv *kv = table_to_kv(L, 2);
    send_msg(L, type, 0, kv);
    return 0;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (!v) return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static int decode_json(lua_State *L)
{
    luaopen_cjson(L);
    lua_getfield(L, -1, "decode");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

static int h_options(lua_State *L)
{
    const struct irh_lhost_ctx *c = get_ctx(L);
    const struct irh_options *o = c->opt;
    lua_createtable(L, 0, 24);
    set_str(L, "mode", c->mode);
    set_bool(L, "dry_run", o->dry_run);
    set_bool(L, "yes", o->yes);
    set_bool(L, "interactive", o->interactive);
    set_bool(L, "verbose", o->verbose);
    set_bool(L, "quiet", o->quiet);
    set_bool(L, "json", o->json);
    set_str(L, "region", o->region);
    set_str(L, "endpoint_url", o->endpoint_url);
    set_str(L, "profile", o->profile);
    set_str(L, "run_id", c->run_id);
    set_str(L, "run_dir", c->run_dir);
    set_str(L, "runbook_file", o->runbook_file);
    lua_pushinteger(L, o->max_calls);
    lua_setfield(L, -2, "max_calls");
    lua_pushinteger(L, o->max_mutating_calls);
    lua_setfield(L, -2, "max_mutating_calls");
    lua_pushnumber(L, o->timeout_s);
    lua_setfield(L, -2, "timeout");
    lua_createtable(L, o->nargs, 0);
    for (int i = 0; i < o->nargs; i++) {
        lua_pushstring(L, o->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "args");
    lua_createtable(L, 0, (int)o->nrates);
    for (size_t i = 0; i < o->nrates; i++) {
        lua_pushnumber(L, o->rates[i].per_second);
        lua_setfield(L, -2, o->rates[i].service);
    }
    lua_setfield(L, -2, "rates");
    if (c->resume_json) {
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, decode_json);
        lua_pushstring(L, c->resume_json);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
        }
        lua_setfield(L, -2, "done");
        lua_setfield(L, -2, "resume");
    }
    return 1;
}

static int h_now_ms(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    return 1;
}

static int h_sleep_ms(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= 0 && ms <= 3600000, 1, "between 0 and 3600000 ms");
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    return 0;
}

int luaopen_irhost_host(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"call", h_call}, {"call_async", h_call_async}, {"wait", h_wait}, {"wait_any", h_wait_any},
        {"request", h_request}, {"send", h_send}, {"options", h_options}, {"now_ms", h_now_ms},
        {"sleep_ms", h_sleep_ms}, {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    return 1;
}
