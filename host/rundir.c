/* The run directory (see host/rundir.h). Events are kept as validated JSON text in a
 * broker-side Lua state (cjson), which also renders report.md through trusted ir.report. */
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include <openssl/evp.h>
#include "bindings.h"
#include "json.h"

#define EVENTS_MAX_BYTES (32u * 1024u * 1024u)
#define REPORT_MAX (256u * 1024u * 1024u)

struct evidence { char *name; char sha[65]; size_t size; };

struct irh_rundir {
    char *path, *id, *audit, *resume_json;
    int dirfd;
    FILE *log;
    lua_State *J;                 /* registry "events": the event texts in order */
    size_t events_bytes;
    struct evidence *ev;
    size_t nev, evcap;
    long open_index;              /* the step started and not ended (0: none) */
    char open_name[256];
    int made_default;             /* this run made its directory under ./irhost-runs */
    int made_parent;              /* ... and ./irhost-runs itself */
    int logged;                   /* run.log got a line */
    int resumed;                  /* --resume: the earlier run's events come first */
    struct irh_awscall_stats prev_calls;   /* the earlier attempts' call counts */
    unsigned long long evidence_bytes, max_evidence;   /* all attempts; the --max-evidence cap */
    char **resume_args;           /* the earlier run's params as command-line args */
    int nresume_args;
};

/* ---------------------------------------------------------------- JSON helpers */

static void put_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
            else fputc(ch, f);
        }
    }
    fputc('"', f);
}

static lua_State *new_json_state(void)
{
    lua_State *J = irh_json_state();
    if (!J) return NULL;
    static const luaL_Reg libs[] = {
        {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_OSLIBNAME, luaopen_os},
        {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->func; l++) { luaL_requiref(J, l->name, l->func, 1); lua_pop(J, 1); }
    lua_pushcfunction(J, irh_require_trusted);
    lua_setglobal(J, "require");
    /* Strict JSON in what we keep: no NaN, Infinity or hex numbers from the runner. */
    lua_getglobal(J, "cjson");
    lua_getfield(J, -1, "decode_invalid_numbers");
    lua_pushboolean(J, 0);
    lua_call(J, 1, 0);
    lua_pop(J, 1);
    lua_newtable(J);
    lua_setfield(J, LUA_REGISTRYINDEX, "events");
    return J;
}

/* Copies a string field (truncated to outlen); a NUL byte in it is shown as \x00, so the
 * text after it is not lost. */
static void copy_field(lua_State *J, int t, const char *k, char *out, size_t outlen)
{
    size_t n = 0, len = 0;
    lua_getfield(J, t, k);
    const char *s = lua_type(J, -1) == LUA_TSTRING ? lua_tolstring(J, -1, &len) : NULL;
    for (size_t i = 0; s && i < len && n + 5 < outlen; i++) {
        if (s[i]) out[n++] = s[i];
        else { memcpy(out + n, "\\x00", 4); n += 4; }
    }
    out[n] = '\0';
    lua_pop(J, 1);
}

static long int_field(lua_State *J, int t, const char *k)
{
    lua_getfield(J, t, k);
    long v = lua_isnumber(J, -1) ? (long)lua_tonumber(J, -1) : 0;
    lua_pop(J, 1);
    return v;
}

/* Lua: decode(text) -> table (or error); runs protected. */
static int decode_event(lua_State *J)
{
    lua_getglobal(J, "cjson");
    lua_getfield(J, -1, "decode");
    lua_pushvalue(J, 1);
    lua_call(J, 1, 1);
    return 1;
}

static void push_event_text(struct irh_rundir *d, const char *text, size_t len)
{
    lua_getfield(d->J, LUA_REGISTRYINDEX, "events");
    lua_pushlstring(d->J, text, len);
    lua_rawseti(d->J, -2, (lua_Integer)luaL_len(d->J, -2) + 1);
    lua_pop(d->J, 1);
    d->events_bytes += len;
}

int irh_rundir_event(struct irh_rundir *d, const char *json, size_t len,
                     struct irh_event_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    if (d->events_bytes + len > EVENTS_MAX_BYTES) {
        snprintf(err, errlen, "event refused: the run's events exceed %u MB", EVENTS_MAX_BYTES >> 20);
        return -1;
    }
    lua_State *J = d->J;
    int top = lua_gettop(J);
    lua_pushcfunction(J, decode_event);
    lua_pushlstring(J, json, len);
    if (lua_pcall(J, 1, 1, 0) != LUA_OK || !lua_istable(J, -1)) {
        snprintf(err, errlen, "event refused: not a JSON object");
        lua_settop(J, top);
        return -1;
    }
    int t = lua_gettop(J);
    copy_field(J, t, "type", info->type, sizeof info->type);
    copy_field(J, t, "name", info->name, sizeof info->name);
    copy_field(J, t, "status", info->status, sizeof info->status);
    copy_field(J, t, "error", info->error, sizeof info->error);
    info->index = int_field(J, t, "index");
    info->duration_ms = int_field(J, t, "duration_ms");
    lua_settop(J, top);
    if (!info->type[0]) { snprintf(err, errlen, "event refused: no \"type\""); return -1; }
    if (strncmp(info->type, "step_", 5) == 0) {
        for (const unsigned char *p = (const unsigned char *)info->name; *p; p++) {
            if (*p < 0x20 || *p == 0x7f) {
                info->bad_name = 1;
                snprintf(err, errlen, "a step name holds control characters or a line break (rename the step)");
                return -1;
            }
        }
    }
    push_event_text(d, json, len);
    if (strcmp(info->type, "step_start") == 0) {
        d->open_index = info->index ? info->index : -1;
        snprintf(d->open_name, sizeof d->open_name, "%s", info->name);
    } else if (strcmp(info->type, "step_end") == 0) {
        d->open_index = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- creating / resuming */

/* Whether the directory open as dirfd has no entries (a run may take it over). */
static int dir_is_empty(int dirfd)
{
    int fd = dup(dirfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) { if (fd >= 0) close(fd); return 0; }
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(dir)); )
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(dir);
    return empty;
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { snprintf(err, errlen, "path too long"); return -1; }
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static char *default_dir(const char *runbook_file, int *made_parent, char *err, size_t errlen)
{
    const char *base = strrchr(runbook_file, '/');
    base = base ? base + 1 : runbook_file;
    char name[96];
    size_t n = 0;
    for (const char *p = base; *p && n + 1 < sizeof name; p++) {
        if (strcmp(p, ".lua") == 0) break;
        name[n++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p) ? *p : '_';
    }
    name[n] = '\0';
    if (!n) snprintf(name, sizeof name, "runbook");
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    if (mkdir("irhost-runs", 0700) == 0) *made_parent = 1;
    else if (errno != EEXIST) {
        snprintf(err, errlen, "cannot create ./irhost-runs: %s (use --out DIR)", strerror(errno));
        return NULL;
    }
    char path[256];
    for (int i = 1; i < 100; i++) {
        if (i == 1) snprintf(path, sizeof path, "irhost-runs/%s-%s", ts, name);
        else snprintf(path, sizeof path, "irhost-runs/%s-%s-%d", ts, name, i);
        if (mkdir(path, 0700) == 0) return strdup(path);
        if (errno != EEXIST) break;
    }
    snprintf(err, errlen, "cannot create %s: %s (use --out DIR)", path, strerror(errno));
    return NULL;
}

static char *slurp_at(int dirfd, const char *name, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > REPORT_MAX) { close(fd); return NULL; }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r <= 0) { if (r < 0 && errno == EINTR) continue; break; }
        n += (size_t)r;
    }
    close(fd);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* Lua (protected): takes the old report text; re-keeps its events and evidence and returns
 * the JSON map of finished steps to their outputs, its params as command-line args, its
 * call counts and its first run_start (which the caller keeps as "resume_start"). */
static const char resume_lua[] =
    "local text = ...\n"
    "local rec = cjson.decode(text)\n"
    "local events, evidence, done, start = {}, {}, {}, nil\n"
    "for _, e in ipairs(rec.events or {}) do\n"
    "  events[#events + 1] = cjson.encode(e)\n"
    "  if e.type == 'run_start' and not start then start = e end\n"
    "  if e.type == 'step_end' and type(e.status) == 'string' and e.status:sub(1, 4) == 'done' and type(e.name) == 'string' then\n"
    "    done[e.name] = e.outputs or {}\n"
    "  end\n"
    "end\n"
    "for _, v in ipairs(rec.evidence or {}) do\n"
    "  if type(v.name) == 'string' and type(v.sha256) == 'string' then evidence[#evidence + 1] = v end\n"
    "end\n"
    "local args = {}\n"
    "if type(start) == 'table' and type(start.params) == 'table' then\n"
    "  local keys = {}\n"
    "  for k in pairs(start.params) do if type(k) == 'string' then keys[#keys + 1] = k end end\n"
    "  table.sort(keys)\n"
    "  for _, k in ipairs(keys) do\n"
    "    local v, flag = start.params[k], '--' .. k:gsub('_', '-')\n"
    "    if v == true then args[#args + 1] = flag\n"
    "    elseif v == false then args[#args + 1] = '--no-' .. flag:sub(3)\n"
    "    elseif type(v) == 'table' then\n"
    "      local items = {}\n"
    "      for _, x in ipairs(v) do items[#items + 1] = tostring(x) end\n"
    "      if #items > 0 then args[#args + 1] = flag .. '=' .. table.concat(items, ',') end\n"
    "    elseif math.type(v) == 'float' then args[#args + 1] = flag .. '=' .. string.format('%.17g', v)\n"
    "    elseif v ~= cjson.null then args[#args + 1] = flag .. '=' .. tostring(v) end\n"
    "  end\n"
    "end\n"
    "local c = type(rec.calls) == 'table' and rec.calls or {}\n"
    "local function n(k) return math.tointeger(c[k]) or 0 end\n"
    "return events, evidence, cjson.encode(done), args, n('calls'), n('mutating'), n('planned'), n('retries'), n('errors'), start or {}\n";

static int load_resume(struct irh_rundir *d, char *err, size_t errlen)
{
    size_t len;
    char *text = slurp_at(d->dirfd, "report.json", &len);
    if (!text) {
        snprintf(err, errlen, "--resume %s: no readable report.json there (is it a run directory?)", d->path);
        return -1;
    }
    lua_State *J = d->J;
    int top = lua_gettop(J);
    int rc = -1;
    if (luaL_loadbufferx(J, resume_lua, sizeof resume_lua - 1, "=resume", "t") != LUA_OK) goto out;
    lua_pushlstring(J, text, len);
    if (lua_pcall(J, 1, 10, 0) != LUA_OK) {
        snprintf(err, errlen, "--resume %s: report.json is not valid: %s", d->path, lua_tostring(J, -1));
        goto out;
    }
    lua_Integer n = luaL_len(J, top + 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(J, top + 1, i);
        size_t el;
        const char *e = lua_tolstring(J, -1, &el);
        push_event_text(d, e, el);
        lua_pop(J, 1);
    }
    n = luaL_len(J, top + 2);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(J, top + 2, i);
        if (d->nev == d->evcap) {
            size_t nc = d->evcap ? d->evcap * 2 : 16;
            struct evidence *ne = realloc(d->ev, nc * sizeof *ne);
            if (!ne) goto out;
            d->ev = ne;
            d->evcap = nc;
        }
        struct evidence *v = &d->ev[d->nev];
        lua_getfield(J, -1, "name");
        lua_getfield(J, -2, "sha256");
        lua_getfield(J, -3, "size");
        v->name = strdup(lua_tostring(J, -3));
        snprintf(v->sha, sizeof v->sha, "%s", lua_tostring(J, -2));
        v->size = (size_t)lua_tointeger(J, -1);
        d->evidence_bytes += v->size;
        lua_pop(J, 4);
        if (!v->name) goto out;
        d->nev++;
    }
    n = luaL_len(J, top + 4);
    if (!(d->resume_args = calloc((size_t)n + 1, sizeof *d->resume_args))) goto out;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(J, top + 4, i);
        d->resume_args[d->nresume_args] = strdup(lua_tostring(J, -1));
        lua_pop(J, 1);
        if (!d->resume_args[d->nresume_args]) goto out;
        d->nresume_args++;
    }
    lua_pushvalue(J, top + 10);
    lua_setfield(J, LUA_REGISTRYINDEX, "resume_start");
    d->prev_calls.calls = (long)lua_tointeger(J, top + 5);
    d->prev_calls.mutating = (long)lua_tointeger(J, top + 6);
    d->prev_calls.planned = (long)lua_tointeger(J, top + 7);
    d->prev_calls.retries = (long)lua_tointeger(J, top + 8);
    d->prev_calls.errors = (long)lua_tointeger(J, top + 9);
    d->resume_json = strdup(lua_tostring(J, top + 3));
    if (d->resume_json) rc = 0;
out:
    lua_settop(J, top);
    free(text);
    return rc;
}

/* A string field of the earlier run_start ("" when absent). */
static const char *resume_start_field(struct irh_rundir *d, const char *k, char *out, size_t outlen)
{
    lua_getfield(d->J, LUA_REGISTRYINDEX, "resume_start");
    if (lua_istable(d->J, -1)) copy_field(d->J, lua_gettop(d->J), k, out, outlen);
    else out[0] = '\0';
    lua_pop(d->J, 1);
    return out;
}

/* Whether a and b name the same file: resolved paths when both resolve, else base names. */
static int same_file(const char *a, const char *b)
{
    char ra[4096], rb[4096];
    if (realpath(a, ra) && realpath(b, rb)) return strcmp(ra, rb) == 0;
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return strcmp(sa ? sa + 1 : a, sb ? sb + 1 : b) == 0;
}

/* Refuses a resume that would act on another runbook's record, or a dry run over a real one. */
static int check_resume(struct irh_rundir *d, const struct irh_options *opt, char *err, size_t errlen)
{
    char file[1024], runbook[256];
    resume_start_field(d, "file", file, sizeof file);
    resume_start_field(d, "runbook", runbook, sizeof runbook);
    if (*file && !same_file(file, opt->runbook_file)) {
        snprintf(err, errlen, "--resume %s is a run of %s%s%s, not of %s: resume it with that runbook, or use --out for a new run",
                 d->path, file, *runbook ? " runbook " : "", runbook, opt->runbook_file);
        return -1;
    }
    int top = lua_gettop(d->J);
    lua_getfield(d->J, LUA_REGISTRYINDEX, "resume_start");
    int real_run = lua_istable(d->J, -1) && lua_getfield(d->J, -1, "dry_run") == LUA_TBOOLEAN && !lua_toboolean(d->J, -1);
    lua_settop(d->J, top);
    if (real_run && opt->dry_run) {
        snprintf(err, errlen, "--resume %s continues a real run: --dry-run cannot resume it (drop --dry-run, or plan with --dry-run --out DIR)", d->path);
        return -1;
    }
    return 0;
}

/* Lua (protected): (earlier run_start, new run_start text) -> nil, or a message naming
 * the first difference. */
static const char compare_lua[] =
    "local old, text = ...\n"
    "local new = cjson.decode(text)\n"
    "if type(new) ~= 'table' or new.type ~= 'run_start' then return nil end\n"
    "if old.type ~= 'run_start' then return nil end   -- the earlier attempt ended before it started\n"
    "local function show(v)\n"
    "  if type(v) == 'table' then local t = {} for _, x in ipairs(v) do t[#t + 1] = tostring(x) end return table.concat(t, ',') end\n"
    "  if v == nil or v == cjson.null then return '(not given)' end\n"
    "  return tostring(v)\n"
    "end\n"
    "local function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "if old.runbook ~= nil and new.runbook ~= old.runbook then\n"
    "  return 'it is a run of runbook ' .. show(old.runbook) .. ', not ' .. show(new.runbook)\n"
    "end\n"
    "local op, np = type(old.params) == 'table' and old.params or {}, type(new.params) == 'table' and new.params or {}\n"
    "local keys = {}\n"
    "for k in pairs(op) do keys[#keys + 1] = k end\n"
    "for k in pairs(np) do if op[k] == nil then keys[#keys + 1] = k end end\n"
    "table.sort(keys)\n"
    "for _, k in ipairs(keys) do\n"
    "  if not same(op[k], np[k]) then\n"
    "    return '--' .. k:gsub('_', '-') .. ' was ' .. show(op[k]) .. ' there, ' .. show(np[k]) .. ' here'\n"
    "  end\n"
    "end\n"
    "return nil\n";

int irh_rundir_resume_check(struct irh_rundir *d, const char *json, size_t len, char *err, size_t errlen)
{
    if (!d->resumed) return 0;
    lua_State *J = d->J;
    int top = lua_gettop(J);
    int rc = 0;
    if (luaL_loadbufferx(J, compare_lua, sizeof compare_lua - 1, "=resume", "t") != LUA_OK) {
        rc = -1;
        snprintf(err, errlen, "--resume %s: cannot compare with the earlier run", d->path);
    } else {
        lua_getfield(J, LUA_REGISTRYINDEX, "resume_start");
        lua_pushlstring(J, json, len);
        if (lua_pcall(J, 2, 1, 0) != LUA_OK) {
            rc = -1;
            snprintf(err, errlen, "--resume %s: the run's start event is not valid", d->path);
        } else if (lua_type(J, -1) == LUA_TSTRING) {
            rc = -1;
            snprintf(err, errlen, "--resume %s refused: %s (give the same params, or none to take them from the run directory; or use --out for a new run)",
                     d->path, lua_tostring(J, -1));
        }
    }
    lua_settop(J, top);
    return rc;
}

char **irh_rundir_resume_args(const struct irh_rundir *d, int *nargs)
{
    *nargs = d->resumed ? d->nresume_args : 0;
    return d->resumed ? d->resume_args : NULL;
}

struct irh_rundir *irh_rundir_open(const struct irh_options *opt, char *err, size_t errlen)
{
    struct irh_rundir *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errlen, "out of memory"); return NULL; }
    d->dirfd = -1;
    d->max_evidence = opt->max_evidence;
    if (!(d->J = new_json_state())) { snprintf(err, errlen, "out of memory"); goto fail; }
    if (opt->resume_dir) {
        d->path = strdup(opt->resume_dir);
    } else if (opt->out_dir) {
        if (mkdir_p(opt->out_dir, err, errlen) != 0) goto fail;
        d->path = strdup(opt->out_dir);
    } else {
        d->path = default_dir(opt->runbook_file, &d->made_parent, err, errlen);
        if (!d->path) goto fail;
        d->made_default = 1;
    }
    if (!d->path) { snprintf(err, errlen, "out of memory"); goto fail; }
    size_t pl = strlen(d->path);
    while (pl > 1 && d->path[pl - 1] == '/') d->path[--pl] = '\0';
    d->dirfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) { snprintf(err, errlen, "cannot open run directory %s: %s", d->path, strerror(errno)); goto fail; }
    /* An empty --out directory made beforehand (mktemp -d, a shared folder) becomes the
     * run's: evidence and the audit log are for the user alone. */
    if (opt->out_dir && !opt->resume_dir && dir_is_empty(d->dirfd) && fchmod(d->dirfd, 0700) != 0) {
        snprintf(err, errlen, "cannot make run directory %s private (mode 0700): %s", d->path, strerror(errno));
        goto fail;
    }
    if (opt->resume_dir) {
        if (load_resume(d, err, errlen) != 0 || check_resume(d, opt, err, errlen) != 0) goto fail;
        d->resumed = 1;
        push_event_text(d, "{\"type\":\"resume\"}", 17);
    } else if (faccessat(d->dirfd, "report.json", F_OK, 0) == 0) {
        snprintf(err, errlen, "--out %s already holds a run (use --resume %s to continue it, or another --out)", d->path, d->path);
        goto fail;
    }
    if (mkdirat(d->dirfd, "evidence", 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s/evidence: %s", d->path, strerror(errno));
        goto fail;
    }
    const char *slash = strrchr(d->path, '/');
    d->id = strdup(slash ? slash + 1 : d->path);
    if (asprintf(&d->audit, "%s/audit.jsonl", d->path) < 0) d->audit = NULL;
    int lfd = openat(d->dirfd, "run.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd >= 0) d->log = fdopen(lfd, "a");
    if (!d->id || !d->audit || !d->log) { if (lfd >= 0 && !d->log) close(lfd); snprintf(err, errlen, "cannot set up %s", d->path); goto fail; }
    return d;
fail:
    irh_rundir_free(d);
    return NULL;
}

const char *irh_rundir_path(const struct irh_rundir *d) { return d->path; }
const char *irh_rundir_id(const struct irh_rundir *d) { return d->id; }
const char *irh_rundir_audit_path(const struct irh_rundir *d) { return d->audit; }
const char *irh_rundir_resume_json(const struct irh_rundir *d) { return d->resume_json; }

void irh_rundir_log(struct irh_rundir *d, const char *level, const char *text)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(d->log, "%s %s %s\n", ts, level, text);
    fflush(d->log);
    d->logged = 1;
}

/* ---------------------------------------------------------------- evidence */

static int valid_evidence_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//")) return 0;
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") != n) return 0;
    /* no "." or ".." segment */
    for (const char *s = name; *s; ) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if ((l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.')) return 0;
        s += l + (e ? 1 : 0);
    }
    return 1;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int irh_rundir_evidence(struct irh_rundir *d, const char *name, const void *content, size_t len,
                        char sha256_hex[65], char *relpath, size_t relpathlen, char *err, size_t errlen)
{
    if (!valid_evidence_name(name)) {
        snprintf(err, errlen, "evidence name '%s' refused: use letters, digits, . _ - and / (no .. or absolute paths)", name);
        return -1;
    }
    if (d->max_evidence && (len > d->max_evidence || d->evidence_bytes > d->max_evidence - len)) {
        snprintf(err, errlen, "evidence %s (%zu bytes) refused: the run's evidence would exceed --max-evidence %llu MB "
                 "(%llu MB kept so far; raise it with --max-evidence MB)", name, len, d->max_evidence >> 20,
                 d->evidence_bytes >> 20);
        return -1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(content, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        snprintf(err, errlen, "sha256 failed");
        return -1;
    }
    for (unsigned i = 0; i < 32; i++) snprintf(sha256_hex + 2 * i, 3, "%02x", md[i]);
    int cur = openat(d->dirfd, "evidence", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cur < 0) { snprintf(err, errlen, "evidence/: %s", strerror(errno)); return -1; }
    char seg[256];
    const char *s = name;
    for (const char *e; (e = strchr(s, '/')); s = e + 1) {
        snprintf(seg, sizeof seg, "%.*s", (int)(e - s), s);
        if (mkdirat(cur, seg, 0700) != 0 && errno != EEXIST) goto syserr;
        int next = openat(cur, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) goto syserr;
        close(cur);
        cur = next;
    }
    int fd = openat(cur, s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            snprintf(err, errlen, "evidence/%s already exists (evidence is never overwritten)", name);
            close(cur);
            errno = EEXIST;
            return -1;
        }
        goto syserr;
    }
    int bad = write_all(fd, content, len) != 0 || fsync(fd) != 0;
    close(fd);
    close(cur);
    cur = -1;
    if (bad) goto syserr;
    int sfd = openat(d->dirfd, "SHA256SUMS", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (sfd < 0) goto syserr;
    char line[400];
    int ll = snprintf(line, sizeof line, "%s  evidence/%s\n", sha256_hex, name);
    bad = write_all(sfd, line, (size_t)ll) != 0 || fsync(sfd) != 0;
    close(sfd);
    if (bad) goto syserr;
    if (d->nev == d->evcap) {
        size_t nc = d->evcap ? d->evcap * 2 : 16;
        struct evidence *ne = realloc(d->ev, nc * sizeof *ne);
        if (!ne) { snprintf(err, errlen, "out of memory"); return -1; }
        d->ev = ne;
        d->evcap = nc;
    }
    struct evidence *v = &d->ev[d->nev];
    if (!(v->name = strdup(name))) { snprintf(err, errlen, "out of memory"); return -1; }
    memcpy(v->sha, sha256_hex, 65);
    v->size = len;
    d->nev++;
    d->evidence_bytes += len;
    snprintf(relpath, relpathlen, "evidence/%s", name);
    return 0;
syserr:
    snprintf(err, errlen, "writing evidence/%s: %s", name, strerror(errno));
    if (cur >= 0) close(cur);
    return -1;
}

/* ---------------------------------------------------------------- the report */

static const char fallback_md[] =
    "local rec = ...\n"
    "local out = { '# irhost run report', '', ('Exit code %s; runner %s%s.'):format(tostring(rec.exit),\n"
    "  tostring(rec.runner.status), rec.runner.reason ~= '' and (': ' .. rec.runner.reason) or ''), '', '## Events', '' }\n"
    "for _, e in ipairs(rec.events) do\n"
    "  local line = '- ' .. tostring(e.type)\n"
    "  if e.name then line = line .. ': ' .. tostring(e.name) end\n"
    "  if e.status then line = line .. ' (' .. tostring(e.status) .. ')' end\n"
    "  if e.error then line = line .. ': ' .. tostring(e.error) end\n"
    "  if e.text then line = line .. ': ' .. tostring(e.text) end\n"
    "  out[#out + 1] = line\n"
    "end\n"
    "out[#out + 1] = ''\n"
    "out[#out + 1] = '## Evidence'\n"
    "out[#out + 1] = ''\n"
    "for _, v in ipairs(rec.evidence) do out[#out + 1] = ('- %s (%d bytes, sha256 %s)'):format(v.name, v.size, v.sha256) end\n"
    "return table.concat(out, '\\n') .. '\\n'\n";

/* Lua (protected): the event texts of a resumed run -> the list the report keeps. The
 * report tells one story: the first attempt's start time (the resume's as resumed_at), a
 * resumed step keeps what it changed and saved the first time, each follow-up once. */
static const char merge_lua[] =
    "local events = ...\n"
    "local out, first, done, said = {}, nil, {}, {}\n"
    "for _, text in ipairs(events) do\n"
    "  local ok, e = pcall(cjson.decode, text)\n"
    "  local keep = true\n"
    "  if ok and type(e) == 'table' then\n"
    "    if e.type == 'run_start' then\n"
    "      if first then\n"
    "        if first.time ~= nil then e.resumed_at, e.time = e.time, first.time end\n"
    "        text = cjson.encode(e)\n"
    "      else first = e end\n"
    "    elseif e.type == 'step_end' and type(e.name) == 'string' then\n"
    "      local prior = done[e.name]\n"
    "      if prior and e.status == 'done (resumed)' then\n"
    "        for _, k in ipairs({ 'changes', 'evidence', 'notes', 'planned', 'calls', 'duration_ms', 'destructive' }) do\n"
    "          local v = e[k]\n"
    "          if (v == nil or (type(v) == 'table' and next(v) == nil)) and prior[k] ~= nil then e[k] = prior[k] end\n"
    "        end\n"
    "        text = cjson.encode(e)\n"
    "      end\n"
    "      if type(e.status) == 'string' and e.status:sub(1, 4) == 'done' then done[e.name] = e end\n"
    "    elseif e.type == 'followup' then\n"
    "      local k = tostring(e.text)\n"
    "      keep = not said[k]\n"
    "      said[k] = true\n"
    "    end\n"
    "  end\n"
    "  if keep then out[#out + 1] = text end\n"
    "end\n"
    "return out\n";

static void merge_resumed_events(struct irh_rundir *d)
{
    lua_State *J = d->J;
    int top = lua_gettop(J);
    if (luaL_loadbufferx(J, merge_lua, sizeof merge_lua - 1, "=merge", "t") == LUA_OK) {
        lua_getfield(J, LUA_REGISTRYINDEX, "events");
        /* On failure the events stay as they came: the report is still complete. */
        if (lua_pcall(J, 1, 1, 0) == LUA_OK && lua_istable(J, -1)) lua_setfield(J, LUA_REGISTRYINDEX, "events");
    }
    lua_settop(J, top);
}

/* Lua (protected): report text -> markdown, through ir.report when it is built in. */
static int render_md(lua_State *J)
{
    lua_settop(J, 1);
    lua_pushcfunction(J, decode_event);
    lua_pushvalue(J, 1);
    lua_call(J, 1, 1);                                 /* 2: record */
    lua_pushcfunction(J, irh_require_trusted);
    lua_pushliteral(J, "ir.report");
    if (lua_pcall(J, 1, 1, 0) == LUA_OK && lua_istable(J, -1) &&
        lua_getfield(J, -1, "markdown") == LUA_TFUNCTION) {
        lua_pushvalue(J, 2);
        if (lua_pcall(J, 1, 1, 0) == LUA_OK && lua_type(J, -1) == LUA_TSTRING) return 1;
    }
    lua_settop(J, 2);
    if (luaL_loadbufferx(J, fallback_md, sizeof fallback_md - 1, "=report", "t") != LUA_OK) return lua_error(J);
    lua_pushvalue(J, 2);
    lua_call(J, 1, 1);
    return 1;
}

static int write_file_at(int dirfd, const char *name, const char *text, size_t len)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, ".%s.tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int bad = write_all(fd, text, len) != 0 || fsync(fd) != 0;
    close(fd);
    if (bad || renameat(dirfd, tmp, dirfd, name) != 0) { unlinkat(dirfd, tmp, 0); return -1; }
    return 0;
}

int irh_rundir_finish(struct irh_rundir *d, int exit_code, const char *runner_status, const char *reason,
                      const struct irh_awscall_stats *stats, char **report, char *err, size_t errlen)
{
    if (report) *report = NULL;
    lua_State *J = d->J;
    if (strcmp(runner_status, "ok") != 0) {
        char *ev = NULL;
        size_t evlen = 0;
        FILE *f = open_memstream(&ev, &evlen);
        if (f && d->open_index) {
            fprintf(f, "{\"type\":\"step_end\",\"index\":%ld,\"name\":", d->open_index > 0 ? d->open_index : 0);
            put_json_str(f, d->open_name);
            fputs(",\"status\":\"failed\",\"duration_ms\":0,\"error\":", f);
            put_json_str(f, reason);
            fputs("}", f);
            fflush(f);
            push_event_text(d, ev, evlen);
            rewind(f);
        }
        if (f) {
            fputs("{\"type\":\"runner_died\",\"reason\":", f);
            put_json_str(f, reason);
            fputs("}", f);
            fclose(f);
            push_event_text(d, ev, evlen);
        }
        free(ev);
    }
    if (d->resumed) merge_resumed_events(d);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f) { snprintf(err, errlen, "out of memory"); return -1; }
    fputs("{\"version\":1,\"run_id\":", f);
    put_json_str(f, d->id);
    fputs(",\"events\":[", f);
    lua_getfield(J, LUA_REGISTRYINDEX, "events");
    lua_Integer n = luaL_len(J, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(J, -1, i);
        size_t el;
        const char *e = lua_tolstring(J, -1, &el);
        if (i > 1) fputc(',', f);
        fwrite(e, 1, el, f);
        lua_pop(J, 1);
    }
    lua_pop(J, 1);
    fputs("],\"evidence\":[", f);
    for (size_t i = 0; i < d->nev; i++) {
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        put_json_str(f, d->ev[i].name);
        fprintf(f, ",\"sha256\":\"%s\",\"size\":%zu}", d->ev[i].sha, d->ev[i].size);
    }
    struct irh_awscall_stats s = {0};
    if (stats) s = *stats;
    /* One record over every attempt: audit.jsonl holds the lines of all of them. */
    s.calls += d->prev_calls.calls;
    s.mutating += d->prev_calls.mutating;
    s.planned += d->prev_calls.planned;
    s.retries += d->prev_calls.retries;
    s.errors += d->prev_calls.errors;
    fprintf(f, "],\"calls\":{\"calls\":%ld,\"mutating\":%ld,\"planned\":%ld,\"retries\":%ld,\"errors\":%ld},",
            s.calls, s.mutating, s.planned, s.retries, s.errors);
    fprintf(f, "\"exit\":%d,\"runner\":{\"status\":", exit_code);
    put_json_str(f, runner_status);
    fputs(",\"reason\":", f);
    put_json_str(f, reason);
    fputs("}}\n", f);
    if (fclose(f) != 0) { free(text); snprintf(err, errlen, "out of memory"); return -1; }
    int rc = 0;
    if (write_file_at(d->dirfd, "report.json", text, tlen) != 0) {
        snprintf(err, errlen, "cannot write %s/report.json: %s", d->path, strerror(errno));
        rc = -1;
    }
    lua_pushcfunction(J, render_md);
    lua_pushlstring(J, text, tlen);
    size_t mdlen = 0;
    const char *md = NULL;
    char fallback[256];
    if (lua_pcall(J, 1, 1, 0) == LUA_OK) md = lua_tolstring(J, -1, &mdlen);
    if (!md) {
        mdlen = (size_t)snprintf(fallback, sizeof fallback, "# irhost run report\n\nExit code %d; runner %s.\n",
                                 exit_code, runner_status);
        md = fallback;
    }
    if (write_file_at(d->dirfd, "report.md", md, mdlen) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s/report.md: %s", d->path, strerror(errno));
        rc = -1;
    }
    lua_pop(J, 1);
    if (report) *report = text;
    else free(text);
    return rc;
}

/* Whether the audit log is absent or empty: no AWS call was attempted. */
static int audit_empty(int dirfd)
{
    struct stat st;
    if (fstatat(dirfd, "audit.jsonl", &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
    return S_ISREG(st.st_mode) && st.st_size == 0;
}

int irh_rundir_discard_unused(struct irh_rundir *d)
{
    if (!d || !d->made_default || d->logged || d->nev || !audit_empty(d->dirfd)) return 0;
    /* evidence/ first: it is empty unless something wrote there, and then all stays. */
    if (unlinkat(d->dirfd, "evidence", AT_REMOVEDIR) != 0 && errno != ENOENT) return 0;
    static const char *const files[] = { "audit.jsonl", "run.log", "report.json", "report.md" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlinkat(d->dirfd, files[i], 0);
    if (rmdir(d->path) != 0) return 0;
    if (d->made_parent) rmdir("irhost-runs");   /* only if empty: another run may be in it */
    return 1;
}

void irh_rundir_free(struct irh_rundir *d)
{
    if (!d) return;
    if (d->J) lua_close(d->J);
    if (d->log) fclose(d->log);
    if (d->dirfd >= 0) close(d->dirfd);
    for (size_t i = 0; i < d->nev; i++) free(d->ev[i].name);
    free(d->ev);
    free(d->path);
    free(d->id);
    free(d->audit);
    free(d->resume_json);
    for (int i = 0; i < d->nresume_args; i++) free(d->resume_args[i]);
    free(d->resume_args);
    free(d);
}
