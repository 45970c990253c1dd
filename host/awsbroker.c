#include "awsbroker.h"
#include "bindings.h"
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

struct irh_awsbroker { lua_State *L; };

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct irh_awsbroker *irh_awsbroker_new(char *err, size_t errlen)
{
    struct irh_awsbroker *b = calloc(1, sizeof *b);
    if (!b) { seterr(err, errlen, "out of memory"); return NULL; }
    b->L = irh_json_state();
    if (!b->L) { free(b); seterr(err, errlen, "out of memory"); return NULL; }
    static const luaL_Reg libs[] = {
        { LUA_STRLIBNAME, luaopen_string }, { LUA_TABLIBNAME, luaopen_table },
        { LUA_MATHLIBNAME, luaopen_math }, { LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
    };
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(b->L, l->name, l->func, 1);
        lua_pop(b->L, 1);
    }
    lua_pushcfunction(b->L, irh_require_trusted);
    lua_setglobal(b->L, "require");
    return b;
}

void irh_awsbroker_free(struct irh_awsbroker *b)
{
    if (!b) return;
    lua_close(b->L);
    free(b);
}

/* Runs f(ud) protected; a Lua error becomes err. */
static int run(struct irh_awsbroker *b, lua_CFunction f, void *ud, char *err, size_t errlen)
{
    lua_State *L = b->L;
    lua_settop(L, 0);
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        seterr(err, errlen, "%s", m ? m : "error in the broker's Lua state");
    }
    lua_settop(L, 0);
    return rc == LUA_OK ? 0 : -1;
}

/* Pushes the aws.broker function called name. */
static void push_broker_fn(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "aws.broker");
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) luaL_error(L, "aws.broker is not a module table");
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) luaL_error(L, "aws.broker.%s is missing", name);
    lua_remove(L, -2);
}

static void copy_str(lua_State *L, int idx, char *dst, size_t dstlen, const char *what)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (!s || n == 0 || n >= dstlen) luaL_error(L, "aws.broker returned a bad %s", what);
    memcpy(dst, s, n + 1);
}

/* ---------------------------------------------------------------- derive */

struct derive_args { const struct irh_kv *req; struct irh_derived *out; };

/* The request as host.call gives it: fields, with h:<name> under headers[name]. */
static void push_request(lua_State *L, const struct irh_kv *req)
{
    lua_newtable(L);
    lua_newtable(L);
    for (size_t i = 0; i < irh_kv_count(req); i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(req, i, &k, &v, &len);
        if (strncmp(k, "h:", 2) == 0) {
            lua_pushlstring(L, v, len);
            lua_setfield(L, -2, k + 2);
        } else {
            lua_pushlstring(L, v, len);
            lua_setfield(L, -3, k);
        }
    }
    lua_setfield(L, -2, "headers");
}

static int derive_p(lua_State *L)
{
    struct derive_args *a = lua_touserdata(L, 1);
    push_broker_fn(L, "derive");
    push_request(L, a->req);
    lua_call(L, 1, 3);
    if (lua_isnil(L, -3)) {
        const char *m = lua_tostring(L, -2);
        return luaL_error(L, "%s", m ? m : "the request matches no operation of the models");
    }
    copy_str(L, -3, a->out->service, sizeof a->out->service, "service");
    copy_str(L, -2, a->out->operation, sizeof a->out->operation, "operation");
    a->out->mutating = lua_toboolean(L, -1);
    return 0;
}

int irh_awsbroker_derive(struct irh_awsbroker *b, const struct irh_kv *req, struct irh_derived *out,
                         char *err, size_t errlen)
{
    struct derive_args a = { req, out };
    memset(out, 0, sizeof *out);
    return run(b, derive_p, &a, err, errlen);
}

/* ---------------------------------------------------------------- redact */

struct redact_args { const char *service, *operation, *params; size_t len; char *out; };

static int redact_p(lua_State *L)
{
    struct redact_args *a = lua_touserdata(L, 1);
    push_broker_fn(L, "redact");
    lua_pushstring(L, a->service);
    lua_pushstring(L, a->operation);
    lua_pushlstring(L, a->params, a->len);
    lua_call(L, 3, 1);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (!s) return luaL_error(L, "aws.broker.redact returned no JSON");
    a->out = malloc(n + 1);
    if (!a->out) return luaL_error(L, "out of memory");
    memcpy(a->out, s, n + 1);
    return 0;
}

char *irh_awsbroker_redact(struct irh_awsbroker *b, const char *service, const char *operation,
                           const char *params, size_t len, char *err, size_t errlen)
{
    struct redact_args a = { service, operation, params, len, NULL };
    if (run(b, redact_p, &a, err, errlen) != 0) { free(a.out); return NULL; }
    return a.out;
}

/* ---------------------------------------------------------------- protect */

struct protect_args {
    const char *service, *operation;
    const struct irh_http_response *resp;
    struct irh_secrets *secrets;
    char *json;
    size_t jsonlen;
    int protected_;
};

static int protect_p(lua_State *L)
{
    struct protect_args *a = lua_touserdata(L, 1);
    push_broker_fn(L, "protect");
    lua_pushstring(L, a->service);
    lua_pushstring(L, a->operation);
    lua_pushinteger(L, a->resp->status);
    lua_newtable(L);
    for (size_t i = 0; i < a->resp->nheaders; i++) {
        lua_pushstring(L, a->resp->headers[i].value);
        lua_setfield(L, -2, a->resp->headers[i].name);
    }
    lua_pushlstring(L, a->resp->body, a->resp->body_len);
    lua_call(L, 5, 2);
    if (lua_isnil(L, -2)) return 0;
    size_t n;
    const char *s = lua_tolstring(L, -2, &n);
    if (!s || !lua_istable(L, -1)) return luaL_error(L, "aws.broker.protect returned no result and secrets");
    char err[256];
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t vl;
        const char *h = lua_tostring(L, -2), *v = lua_tolstring(L, -1, &vl);
        if (lua_type(L, -2) != LUA_TSTRING || !v || irh_secrets_put_handle(a->secrets, h, v, vl, err, sizeof err) != 0)
            return luaL_error(L, "aws.broker.protect returned a bad secret: %s", lua_type(L, -2) == LUA_TSTRING ? err : "key");
        lua_pop(L, 1);
    }
    a->json = malloc(n + 1);
    if (!a->json) return luaL_error(L, "out of memory");
    memcpy(a->json, s, n + 1);
    a->jsonlen = n;
    a->protected_ = 1;
    return 0;
}

int irh_awsbroker_protect(struct irh_awsbroker *b, const char *service, const char *operation,
                          const struct irh_http_response *resp, struct irh_secrets *s,
                          char **json, size_t *jsonlen, char *err, size_t errlen)
{
    struct protect_args a = { service, operation, resp, s, NULL, 0, 0 };
    *json = NULL;
    *jsonlen = 0;
    int rc = run(b, protect_p, &a, err, errlen);
    /* The response held secrets: collect now so the wiping allocator runs at once, not
     * whenever the incremental collector gets there (a full collection with the models
     * loaded costs milliseconds, so only here). */
    if (a.protected_ || rc != 0) lua_gc(b->L, LUA_GCCOLLECT);
    if (rc != 0) {
        if (a.json) { explicit_bzero(a.json, a.jsonlen); free(a.json); }
        return -1;
    }
    *json = a.json;
    *jsonlen = a.jsonlen;
    return a.protected_;
}

/* ---------------------------------------------------------------- rebuild */

struct rebuild_args { const struct irh_kv *req; const char *service, *operation; struct irh_kv *out; };

/* Keys of a CALL that describe the wire request (replaced by the rebuild). */
static int is_wire_key(const char *k)
{
    return strncmp(k, "h:", 2) == 0 || !strcmp(k, "method") || !strcmp(k, "path") || !strcmp(k, "query") ||
           !strcmp(k, "host_prefix") || !strcmp(k, "body");
}

static void add_field(lua_State *L, struct irh_kv *out, int t, const char *field, const char *key)
{
    size_t n;
    lua_getfield(L, t, field);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (v && irh_kv_add(out, key, v, n)) luaL_error(L, "out of memory");
    lua_pop(L, 1);
}

static int rebuild_p(lua_State *L)
{
    struct rebuild_args *a = lua_touserdata(L, 1);
    size_t plen = 0;
    const char *params = irh_kv_get(a->req, "params", &plen);
    push_broker_fn(L, "rebuild");
    lua_pushstring(L, a->service);
    lua_pushstring(L, a->operation);
    lua_pushlstring(L, params ? params : "", plen);
    lua_call(L, 3, 2);
    if (!lua_istable(L, -2)) {
        const char *m = lua_tostring(L, -1);
        return luaL_error(L, "%s", m ? m : "aws.broker.rebuild failed");
    }
    int t = lua_gettop(L) - 1;
    for (size_t i = 0; i < irh_kv_count(a->req); i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(a->req, i, &k, &v, &len);
        if (!is_wire_key(k) && irh_kv_add(a->out, k, v, len)) return luaL_error(L, "out of memory");
    }
    add_field(L, a->out, t, "method", "method");
    add_field(L, a->out, t, "path", "path");
    add_field(L, a->out, t, "query", "query");
    add_field(L, a->out, t, "host_prefix", "host_prefix");
    add_field(L, a->out, t, "body", "body");
    if (lua_getfield(L, t, "headers") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                size_t n;
                const char *v = lua_tolstring(L, -1, &n);
                char key[200];
                snprintf(key, sizeof key, "h:%s", lua_tostring(L, -2));
                for (char *p = key; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
                if (irh_kv_add(a->out, key, v, n)) return luaL_error(L, "out of memory");
            }
            lua_pop(L, 1);
        }
    }
    return 0;
}

struct irh_kv *irh_awsbroker_rebuild(struct irh_awsbroker *b, const struct irh_kv *req, const char *service,
                                     const char *operation, char *err, size_t errlen)
{
    struct rebuild_args a = { req, service, operation, irh_kv_new() };
    if (!a.out) { seterr(err, errlen, "out of memory"); return NULL; }
    int rc = run(b, rebuild_p, &a, err, errlen);
    if (rc != 0) { irh_kv_free(a.out); return NULL; }
    return a.out;
}

/* ---------------------------------------------------------------- model metadata */

struct svc_args { const char *service; struct irh_svcinfo *out; };

/* IAM action prefixes that differ from the signing name. */
static const char *const iam_exceptions[][2] = {
    { "monitoring", "cloudwatch" }, { "email", "ses" }, { "execute-api", "apigateway" },
    { "awsssm", "ssm" }, { NULL, NULL },
};

static void meta_str(lua_State *L, int meta, const char *key, char *dst, size_t dstlen)
{
    lua_getfield(L, meta, key);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (s && n < dstlen && lua_type(L, -1) == LUA_TSTRING) memcpy(dst, s, n + 1);
    lua_pop(L, 1);
}

static int svc_p(lua_State *L)
{
    struct svc_args *a = lua_touserdata(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "aws.model");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "load");
    lua_pushstring(L, a->service);
    lua_call(L, 1, 2);
    if (!lua_istable(L, -2)) return luaL_error(L, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "no model");
    lua_pop(L, 1);
    lua_getfield(L, -1, "metadata");
    int meta = lua_gettop(L);
    if (!lua_istable(L, meta)) return luaL_error(L, "model %s has no metadata", a->service);
    meta_str(L, meta, "endpointPrefix", a->out->endpoint_prefix, sizeof a->out->endpoint_prefix);
    meta_str(L, meta, "signingName", a->out->signing_name, sizeof a->out->signing_name);
    if (!a->out->signing_name[0])
        memcpy(a->out->signing_name, a->out->endpoint_prefix, sizeof a->out->signing_name);
    if (!a->out->endpoint_prefix[0]) return luaL_error(L, "model %s has no endpointPrefix", a->service);
    lua_getfield(L, meta, "globalEndpoint");
    a->out->global = lua_type(L, -1) == LUA_TSTRING;
    lua_pop(L, 1);
    const char *iam = a->out->signing_name;
    for (size_t i = 0; iam_exceptions[i][0]; i++)
        if (strcmp(iam, iam_exceptions[i][0]) == 0) iam = iam_exceptions[i][1];
    snprintf(a->out->iam_prefix, sizeof a->out->iam_prefix, "%s", iam);
    return 0;
}

int irh_awsbroker_service(struct irh_awsbroker *b, const char *service, struct irh_svcinfo *out,
                          char *err, size_t errlen)
{
    struct svc_args a = { service, out };
    memset(out, 0, sizeof *out);
    return run(b, svc_p, &a, err, errlen);
}

/* ---------------------------------------------------------------- declaration */

struct decl_args { const char *json; size_t len; struct irh_declaration *d; };

static int decl_p(lua_State *L)
{
    struct decl_args *a = lua_touserdata(L, 1);
    lua_getglobal(L, "cjson");
    lua_getfield(L, -1, "decode");
    lua_pushlstring(L, a->json, a->len);
    lua_call(L, 1, 1);
    int doc = lua_gettop(L);
    if (!lua_istable(L, doc)) return luaL_error(L, "the declaration is not a JSON object");
    if (lua_getfield(L, doc, "permissions") == LUA_TTABLE) {
        a->d->has_permissions = 1;
        lua_Integer n = luaL_len(L, -1);
        if (n > 4096) return luaL_error(L, "too many permissions (%d, max 4096)", (int)n);
        a->d->permissions = calloc((size_t)n + 1, sizeof(char *));
        if (!a->d->permissions) return luaL_error(L, "out of memory");
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            size_t sl;
            const char *s = lua_tolstring(L, -1, &sl);
            if (lua_type(L, -1) != LUA_TSTRING || sl == 0 || sl > 256 || strlen(s) != sl)
                return luaL_error(L, "permissions[%d] must be an IAM action name like \"ec2:DescribeInstances\"", (int)i);
            a->d->permissions[a->d->npermissions] = strdup(s);
            if (!a->d->permissions[a->d->npermissions]) return luaL_error(L, "out of memory");
            a->d->npermissions++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, doc, "rates") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isnumber(L, -1))
                return luaL_error(L, "rates must map a service name to calls per second");
            double r = lua_tonumber(L, -1);
            const char *svc = lua_tostring(L, -2);
            if (!(r > 0) || strlen(svc) >= sizeof a->d->rates[0].service)
                return luaL_error(L, "rates.%s must be a positive number of calls per second", svc);
            if (a->d->nrates < IRH_MAX_RATES) {
                snprintf(a->d->rates[a->d->nrates].service, sizeof a->d->rates[0].service, "%s", svc);
                a->d->rates[a->d->nrates].per_second = r;
                a->d->nrates++;
            }
            lua_pop(L, 1);
        }
    }
    return 0;
}

int irh_awsbroker_declaration(struct irh_awsbroker *b, const char *json, size_t len,
                              struct irh_declaration *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    struct decl_args a = { json, len, d };
    if (run(b, decl_p, &a, err, errlen) != 0) { irh_declaration_clear(d); return -1; }
    return 0;
}

void irh_declaration_clear(struct irh_declaration *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->npermissions; i++) free(d->permissions[i]);
    free(d->permissions);
    memset(d, 0, sizeof *d);
}
