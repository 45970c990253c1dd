/* The runner process (see host/runner.h and docs/internals.md "Process model"). */
#include "runner.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "bindings.h"
#include "ipc.h"
#include "lhost.h"
#include "lualimits.h"
#include "luaenv.h"
#include "runmodes.h"
#include "sandbox.h"

struct run {
    const struct irh_runner_args *a;
    struct irh_limits lim;
    int fd;
    int exit_code;
    char msg[2048];
};

static void done(struct run *r, int code, const char *fmt, const char *text)
{
    r->exit_code = code;
    snprintf(r->msg, sizeof r->msg, fmt, text ? text : "");
}

static void send_done(struct run *r)
{
    struct irh_kv *kv = irh_kv_new();
    if (!kv) return;
    if (irh_kv_addf(kv, "exit", "%d", r->exit_code) == 0 && irh_kv_adds(kv, "message", r->msg) == 0)
        (void)irh_ipc_send(r->fd, IRH_MSG_DONE, 0, kv);
    irh_kv_free(kv);
}

/* Message handler: one line for the user; a traceback only with --verbose. */
static int msgh(lua_State *L)
{
    const char *m = NULL;
    if (lua_type(L, 1) == LUA_TSTRING) {
        m = lua_tostring(L, 1);
    } else if (lua_istable(L, 1) && lua_getfield(L, 1, "message") == LUA_TSTRING) {
        const char *code = (lua_getfield(L, 1, "code") == LUA_TSTRING) ? lua_tostring(L, -1) : NULL;
        m = code ? lua_pushfstring(L, "%s: %s", code, lua_tostring(L, -2)) : lua_tostring(L, -2);
    } else {
        m = luaL_tolstring(L, 1, NULL);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "irhost.runner.verbose");
    int verbose = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (verbose) luaL_traceback(L, L, m, 1);
    else lua_pushstring(L, m);
    return 1;
}

/* The trusted world: libraries one by one, hardened, trusted require, irhost.host. */
static int setup_trusted(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_OSLIBNAME, luaopen_os}, {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    irh_luaenv_harden(L);
    lua_pushcfunction(L, irh_require_trusted);
    lua_setglobal(L, "require");
    irh_register_cmodule(L, "irhost.host", luaopen_irhost_host);
    return 0;
}

/* Everything after the sandbox is up; fills r->exit_code and r->msg. */
static void run_lua(struct run *r, lua_State *L)
{
    const struct irh_runner_args *a = r->a;
    lua_pushboolean(L, a->opt->verbose);
    lua_setfield(L, LUA_REGISTRYINDEX, "irhost.runner.verbose");
    lua_pushcfunction(L, msgh);
    int h = lua_gettop(L);
    if (a->task) {
        char msg[sizeof r->msg];
        int code = irh_runmodes_run(L, h, a, msg, sizeof msg);
        done(r, code, "%s", msg);
        return;
    }
    irh_luaenv_push(L, a->opt->runbook_file);
    int env = lua_gettop(L);

    if (irh_luaenv_load(L, a->source, a->srclen, a->chunkname, env) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (m && strstr(m, "binary chunk"))
            done(r, 2, "%s: is compiled Lua bytecode; irhost runs Lua source text only", a->chunkname + 1);
        else
            done(r, 2, "%s (fix the syntax error; irhost check FILE checks a runbook)", m);
        return;
    }
    if (lua_pcall(L, 0, 1, h) != LUA_OK) {
        done(r, 1, "%s", lua_tostring(L, -1));
        return;
    }
    if (!lua_istable(L, -1)) {
        done(r, 2, "%s: the runbook must end with `return ir.runbook{...}` (see docs/authoring.md)", a->chunkname + 1);
        return;
    }
    int decl = lua_gettop(L);
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushliteral(L, "ir");
    if (lua_pcall(L, 1, 1, h) != LUA_OK) {
        done(r, 1, "the ir framework is not available in this irhost build: %s", lua_tostring(L, -1));
        return;
    }
    if (!lua_istable(L, -1) || lua_getfield(L, -1, "main") != LUA_TFUNCTION) {
        done(r, 1, "%s", "the ir framework in this irhost build has no main()");
        return;
    }
    lua_pushvalue(L, decl);
    if (lua_pcall(L, 1, 1, h) != LUA_OK) {
        done(r, 1, "%s", lua_tostring(L, -1));
        return;
    }
    int isnum;
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    if (!isnum || code < 0 || code > 125) done(r, 1, "%s", "internal error: ir.main returned no exit code");
    else done(r, (int)code, "%s", "");
}

int irh_runner_main(int sock, const struct irh_runner_args *a)
{
    struct run r = { .a = a, .fd = sock };
    char err[512];
    /* The broker decides what Ctrl-C means; the runner ignores it. */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (irh_sandbox_enter(sock, a->opt, err, sizeof err) != 0) {
        done(&r, 3, "cannot set up the sandbox: %s", err);
        r.fd = fcntl(IRH_RUNNER_FD, F_GETFD) >= 0 ? IRH_RUNNER_FD : sock;
        send_done(&r);
        return 3;
    }
    r.fd = IRH_RUNNER_FD;
    irh_limits_init(&r.lim, a->opt->memory_limit, a->opt->max_instructions);
    lua_State *L = lua_newstate(irh_limits_alloc, &r.lim);
    if (!L) {
        done(&r, 3, "%s", "cannot create the Lua state: out of memory");
        send_done(&r);
        return 3;
    }
    struct irh_lhost_ctx ctx = {
        .fd = r.fd, .opt = a->opt, .mode = a->mode, .run_id = a->run_id, .run_dir = a->run_dir,
        .resume_json = a->resume_json,
    };
    irh_lhost_setup(L, &ctx);
    lua_pushcfunction(L, setup_trusted);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        done(&r, 3, "cannot set up Lua: %s", lua_tostring(L, -1));
    } else {
        irh_limits_install(L, &r.lim);
        run_lua(&r, L);
    }
    char lim[256];
    if (irh_limits_tripped(&r.lim, lim, sizeof lim)) {
        if (!strstr(r.msg, " limit of ")) done(&r, 3, "%s", lim);
        r.exit_code = 3;
    }
    lua_close(L);
    send_done(&r);
    return r.exit_code;
}
