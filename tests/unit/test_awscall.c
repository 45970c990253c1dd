/* host/awscall.c driver. Without arguments: the cases that need no network (allow-list,
 * dry run, caps, operation mismatch, declarations, secret generation). With --script:
 * reads JSON commands on stdin, one per line, and prints JSON lines, for
 * tests/transport/test_transport.py which runs it against its loopback fault server:
 *   {"op":"new","audit":PATH,"options":{"dry_run":1,"max_calls":N,"max_mutating_calls":N,
 *          "endpoint_url":URL,"region":R,"rates":{"ec2":5}}}
 *   {"op":"declare","json":TEXT}            -> {"op":"declare","rc":0,"err":""}
 *   {"op":"call","id":N,"req":{k:v}}        (no output; results come from wait)
 *   {"op":"wait","count":N,"timeout_ms":T}  -> {"op":"result","id":N,"kv":{...}} per result
 *   {"op":"request","type":"sign|presign|secret_gen|assume_role","req":{}} -> {"op":"reply","kv":{}}
 *   {"op":"fatal"} -> {"op":"fatal","code":N,"msg":S}   {"op":"stats"} -> {"op":"stats",...} */
#include "unit.h"
#include "audit.h"
#include "awscall.h"
#include "embedded.h"
#include "ipc.h"
#include "json.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>

/* ---------------------------------------------------------------- script mode */

static long long submitted_us[4096];   /* by id % 4096: submit time, for the benchmark */

static long long mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void print_kv(const char *op, long id, const struct irh_kv *kv)
{
    printf("{\"op\":\"%s\",\"id\":%ld,\"us\":%lld,\"kv\":{", op, id,
           strcmp(op, "result") == 0 ? mono_us() - submitted_us[id % 4096] : 0);
    for (size_t i = 0; kv && i < irh_kv_count(kv); i++) {
        const char *k, *v;
        size_t len;
        irh_kv_at(kv, i, &k, &v, &len);
        char *ek = irh_json_escape(k, strlen(k)), *ev = irh_json_escape(v, len);
        printf("%s\"%s\":\"%s\"", i ? "," : "", ek ? ek : "", ev ? ev : "");
        free(ek);
        free(ev);
    }
    printf("}}\n");
    fflush(stdout);
}

static const char *opt_string(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);
    return s;
}

static double opt_number(lua_State *L, int t, const char *k, double dflt)
{
    lua_getfield(L, t, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : lua_isboolean(L, -1) ? lua_toboolean(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

/* The table at t (string keys, string values) as a kv, in sorted key order for stability. */
static struct irh_kv *table_kv(lua_State *L, int t)
{
    struct irh_kv *kv = irh_kv_new();
    lua_getglobal(L, "table");
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        lua_pushvalue(L, -2);
        const char *k = lua_tostring(L, -1);
        if (k && v) irh_kv_add(kv, k, v, len);
        lua_pop(L, 2);
    }
    return kv;
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

static int script(void)
{
    lua_State *L = irh_json_state();
    struct irh_options opt;
    memset(&opt, 0, sizeof opt);
    char *strs[8] = { 0 };
    struct irh_awscall *c = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lua_settop(L, 0);
        lua_getglobal(L, "cjson");
        lua_getfield(L, -1, "decode");
        lua_pushlstring(L, line, (size_t)n);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
            printf("{\"op\":\"error\",\"msg\":\"bad command\"}\n");
            continue;
        }
        int cmd = lua_gettop(L);
        const char *op = opt_string(L, cmd, "op");
        if (!op) continue;
        char err[600] = "";
        if (strcmp(op, "new") == 0) {
            lua_getfield(L, cmd, "options");
            int o = lua_gettop(L);
            if (!lua_istable(L, o)) { lua_newtable(L); o = lua_gettop(L); }
            opt.dry_run = (int)opt_number(L, o, "dry_run", 0);
            opt.max_calls = (long)opt_number(L, o, "max_calls", 10000);
            opt.max_mutating_calls = (long)opt_number(L, o, "max_mutating_calls", 1000);
            opt.interactive = 0;
            free(strs[0]); free(strs[1]); free(strs[2]);
            opt.endpoint_url = strs[0] = dupstr(opt_string(L, o, "endpoint_url"));
            opt.region = strs[1] = dupstr(opt_string(L, o, "region"));
            opt.profile = strs[2] = dupstr(opt_string(L, o, "profile"));
            opt.nrates = 0;
            lua_getfield(L, o, "rates");
            if (lua_istable(L, -1)) {
                lua_pushnil(L);
                while (lua_next(L, -2) && opt.nrates < IRH_MAX_RATES) {
                    snprintf(opt.rates[opt.nrates].service, sizeof opt.rates[0].service, "%s", lua_tostring(L, -2));
                    opt.rates[opt.nrates++].per_second = lua_tonumber(L, -1);
                    lua_pop(L, 1);
                }
            }
            irh_awscall_free(c);
            c = irh_awscall_new(&opt, opt_string(L, cmd, "audit"), err, sizeof err);
            char *e = irh_json_escape(err, strlen(err));
            printf("{\"op\":\"new\",\"rc\":%d,\"err\":\"%s\"}\n", c ? 0 : -1, e ? e : "");
            free(e);
        } else if (!c) {
            printf("{\"op\":\"error\",\"msg\":\"no pipeline\"}\n");
        } else if (strcmp(op, "declare") == 0) {
            const char *j = opt_string(L, cmd, "json");
            int rc = irh_awscall_declare(c, j ? j : "", j ? strlen(j) : 0, err, sizeof err);
            char *e = irh_json_escape(err, strlen(err));
            printf("{\"op\":\"declare\",\"rc\":%d,\"err\":\"%s\"}\n", rc, e ? e : "");
            free(e);
        } else if (strcmp(op, "call") == 0) {
            lua_getfield(L, cmd, "req");
            struct irh_kv *kv = table_kv(L, lua_gettop(L));
            uint32_t id = (uint32_t)opt_number(L, cmd, "id", 0);
            submitted_us[id % 4096] = mono_us();
            irh_awscall_submit(c, id, kv);
            irh_kv_free(kv);
        } else if (strcmp(op, "wait") == 0) {
            int want = (int)opt_number(L, cmd, "count", 1), got = 0;
            long long deadline = mono_us() + (long long)(opt_number(L, cmd, "timeout_ms", 30000) * 1000);
            while (got < want && mono_us() < deadline) {
                int ready;
                irh_awscall_wait(c, -1, 100, &ready);
                uint32_t id;
                struct irh_kv *r;
                while ((r = irh_awscall_take(c, &id))) { print_kv("result", id, r); irh_kv_free(r); got++; }
            }
        } else if (strcmp(op, "request") == 0) {
            const char *type = opt_string(L, cmd, "type");
            uint8_t t = !type ? 0 : !strcmp(type, "sign") ? IRH_MSG_SIGN : !strcmp(type, "presign") ? IRH_MSG_PRESIGN
                      : !strcmp(type, "secret_gen") ? IRH_MSG_SECRET_GEN : !strcmp(type, "assume_role") ? IRH_MSG_ASSUME_ROLE
                      : !strcmp(type, "handoff") ? IRH_MSG_HANDOFF : 0;
            lua_getfield(L, cmd, "req");
            struct irh_kv *kv = table_kv(L, lua_gettop(L));
            struct irh_kv *r = irh_awscall_request(c, t, kv);
            print_kv("reply", 0, r);
            irh_kv_free(r);
            irh_kv_free(kv);
        } else if (strcmp(op, "fatal") == 0) {
            int code = irh_awscall_fatal(c, err, sizeof err);
            char *e = irh_json_escape(err, strlen(err));
            printf("{\"op\":\"fatal\",\"code\":%d,\"msg\":\"%s\"}\n", code, e ? e : "");
            free(e);
        } else if (strcmp(op, "stats") == 0) {
            struct irh_awscall_stats s;
            irh_awscall_stats(c, &s);
            printf("{\"op\":\"stats\",\"calls\":%ld,\"mutating\":%ld,\"planned\":%ld,\"retries\":%ld,\"errors\":%ld}\n",
                   s.calls, s.mutating, s.planned, s.retries, s.errors);
        }
        fflush(stdout);
    }
    free(line);
    irh_awscall_free(c);
    for (size_t i = 0; i < 8; i++) free(strs[i]);
    lua_close(L);
    return 0;
}

/* ---------------------------------------------------------------- standalone cases */

static struct irh_kv *ec2_call(const char *claimed, const char *action)
{
    struct irh_kv *kv = irh_kv_new();
    char body[256];
    snprintf(body, sizeof body, "Action=%s&Version=2016-11-15&InstanceId.1=i-0abc", action);
    irh_kv_adds(kv, "service", "ec2");
    irh_kv_adds(kv, "operation", claimed);
    irh_kv_adds(kv, "signing_name", "ec2");
    irh_kv_adds(kv, "endpoint_prefix", "ec2");
    irh_kv_adds(kv, "region", "eu-west-1");
    irh_kv_adds(kv, "method", "POST");
    irh_kv_adds(kv, "path", "/");
    irh_kv_adds(kv, "h:content-type", "application/x-www-form-urlencoded; charset=utf-8");
    irh_kv_adds(kv, "body", body);
    irh_kv_adds(kv, "params", "{\"InstanceIds\":[\"i-0abc\"]}");
    return kv;
}

static struct irh_kv *one_result(struct irh_awscall *c, const struct irh_kv *req)
{
    irh_awscall_submit(c, 1, req);
    int ready;
    irh_awscall_wait(c, -1, 0, &ready);
    uint32_t id;
    return irh_awscall_take(c, &id);
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static int standalone(void)
{
    if (!irh_embedded_find("aws.broker")) {
        unit_skip("awscall pipeline cases", "bindings/lua/aws/broker.lua (aws.broker) is not built in yet");
        return unit_done();
    }
    char dir[] = "/tmp/irh-awscall-XXXXXX", audit[300], err[600];
    if (!mkdtemp(dir)) return 1;
    snprintf(audit, sizeof audit, "%s/audit.jsonl", dir);
    struct irh_options opt;
    memset(&opt, 0, sizeof opt);
    opt.max_calls = 10000;
    opt.max_mutating_calls = 1000;
    opt.region = "eu-west-1";
    opt.endpoint_url = "http://127.0.0.1:9";    /* discard port: nothing here may be sent */
    struct irh_awscall *c = irh_awscall_new(&opt, audit, err, sizeof err);
    CHECK(c != NULL, "pipeline created: %s", c ? "" : err);
    if (!c) return unit_done();

    struct irh_kv *req = ec2_call("StopInstances", "StopInstances"), *r;
    r = one_result(c, req);
    CHECK(r && !strcmp(irh_kv_get(r, "error", NULL) ? irh_kv_get(r, "error", NULL) : "", "denied"),
          "no declaration: every call is denied");
    irh_kv_free(r);
    CHECK(irh_awscall_declare(c, "{\"permissions\":[\"EC2:describe*\", \"ec2:StopInstance?\"]}", strlen("{\"permissions\":[\"EC2:describe*\", \"ec2:StopInstance?\"]}"), err, sizeof err) == 0,
          "declaration accepted");
    CHECK(irh_awscall_declare(c, "{\"permissions\":[]}", strlen("{\"permissions\":[]}"), err, sizeof err) != 0, "a second declaration is refused");
    irh_kv_free(req);
    req = ec2_call("TerminateInstances", "TerminateInstances");
    r = one_result(c, req);
    const char *e = r ? irh_kv_get(r, "error", NULL) : NULL, *m = r ? irh_kv_get(r, "message", NULL) : NULL;
    CHECK(e && !strcmp(e, "denied") && m && strstr(m, "ec2:TerminateInstances"), "outside the allow-list: denied: %s", m ? m : "");
    irh_kv_free(r);
    irh_kv_free(req);
    req = ec2_call("DescribeInstances", "TerminateInstances");
    r = one_result(c, req);
    e = r ? irh_kv_get(r, "error", NULL) : NULL;
    m = r ? irh_kv_get(r, "message", NULL) : NULL;
    CHECK(e && !strcmp(e, "protocol") && m && strstr(m, "TerminateInstances"),
          "a disguised call (claims Describe, is Terminate) is refused: %s", m ? m : "");
    irh_kv_free(r);
    irh_kv_free(req);
    CHECK(file_has(audit, "\"outcome\":\"denied\"") && file_has(audit, "\"outcome\":\"protocol\""), "refusals are audited");
    irh_awscall_free(c);

    /* Dry run: the mutating call is planned, not sent. */
    opt.dry_run = 1;
    c = irh_awscall_new(&opt, audit, err, sizeof err);
    irh_awscall_declare(c, "{\"permissions\":[\"ec2:*\"]}", strlen("{\"permissions\":[\"ec2:*\"]}"), err, sizeof err);
    req = ec2_call("StopInstances", "StopInstances");
    r = one_result(c, req);
    e = r ? irh_kv_get(r, "error", NULL) : NULL;
    CHECK(e && !strcmp(e, "dryrun"), "dry run: mutating call answered dryrun");
    CHECK(file_has(audit, "\"dry_run\":true") && file_has(audit, "i-0abc"), "dry run: planned call audited with its params");
    struct irh_awscall_stats st;
    irh_awscall_stats(c, &st);
    CHECK(st.planned == 1 && st.calls == 0, "dry run: counted as planned, not sent");
    irh_kv_free(r);
    irh_kv_free(req);
    irh_awscall_free(c);

    /* Caps: a mutating cap of 0 stops the run (exit 3) before anything is sent. */
    opt.dry_run = 0;
    opt.max_mutating_calls = 0;
    c = irh_awscall_new(&opt, audit, err, sizeof err);
    irh_awscall_declare(c, "{\"permissions\":[\"ec2:*\"]}", strlen("{\"permissions\":[\"ec2:*\"]}"), err, sizeof err);
    req = ec2_call("StopInstances", "StopInstances");
    r = one_result(c, req);
    e = r ? irh_kv_get(r, "error", NULL) : NULL;
    CHECK(e && !strcmp(e, "cap"), "mutating cap: error cap");
    int code = irh_awscall_fatal(c, err, sizeof err);
    CHECK(code == 3 && strstr(err, "--max-mutating-calls"), "cap is fatal with exit 3 naming the flag: %s", err);
    irh_kv_free(r);
    irh_kv_free(req);

    /* Secret generation: a handle, never the value. */
    struct irh_kv *g = irh_kv_new();
    irh_kv_adds(g, "length", "24");
    irh_kv_adds(g, "charset", "alnumsym");
    r = irh_awscall_request(c, IRH_MSG_SECRET_GEN, g);
    const char *h = r ? irh_kv_get(r, "handle", NULL) : NULL;
    CHECK(h && strlen(h) == 46 && !strncmp(h, "irhost-secret-", 14), "secret_gen returns a handle");
    irh_kv_free(r);
    irh_kv_free(g);
    irh_awscall_free(c);
    unlink(audit);
    rmdir(dir);
    return unit_done();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--script") == 0) return script();
    return standalone();
}
