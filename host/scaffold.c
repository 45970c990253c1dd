/* irhost new (see host/scaffold.h). */
#include "scaffold.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "bindings.h"

#define MAX_FILES 8

struct file { char path[512]; const char *content; size_t len; };

/* Calls ir.scaffold.files(name) in L; fills files (contents stay on L's stack). Returns
 * the count, or -1 with err. */
static int scaffold_files(lua_State *L, const char *name, struct file *files, char *err, size_t errlen)
{
    lua_pushcfunction(L, irh_require_trusted);
    lua_pushliteral(L, "ir.scaffold");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_getfield(L, -1, "files") != LUA_TFUNCTION) {
        snprintf(err, errlen, "ir.scaffold is not available in this irhost build");
        return -1;
    }
    lua_pushstring(L, name);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK || !lua_istable(L, -2)) {
        const char *m = lua_tostring(L, -1);
        snprintf(err, errlen, "%s", m ? m : "irhost new: cannot make the files");
        return -1;
    }
    lua_pop(L, 1);
    int t = lua_gettop(L), n = 0;
    for (lua_Integer i = 1; lua_rawgeti(L, t, i) == LUA_TTABLE; i++) {
        if (n == MAX_FILES || lua_getfield(L, -1, "path") != LUA_TSTRING || lua_getfield(L, -2, "content") != LUA_TSTRING) {
            snprintf(err, errlen, "irhost new: ir.scaffold returned a malformed file list");
            return -1;
        }
        snprintf(files[n].path, sizeof files[n].path, "%s", lua_tostring(L, -2));
        files[n].content = lua_tolstring(L, -1, &files[n].len);
        n++;   /* the strings stay referenced by the list at t */
        lua_pop(L, 3);
    }
    return n;
}

/* Creates the folder of path (one level, as the skeleton needs) if it is missing. */
static int make_parent(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat st;
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))) return 0;
    snprintf(err, errlen, "irhost new: cannot create the folder %s: %s", dir, errno == EEXIST ? "a file has that name" : strerror(errno));
    return -1;
}

/* Writes one new file; O_EXCL so that nothing is ever overwritten, even by a race. */
static int write_new(const struct file *f, char *err, size_t errlen)
{
    int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, errno == EEXIST ? "irhost new: %s already exists; not overwritten (pick another name or move it)"
                                              : "irhost new: cannot create %s: %s", f->path, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < f->len) {
        ssize_t w = write(fd, f->content + done, f->len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "irhost new: cannot write %s: %s", f->path, strerror(errno));
            close(fd);
            unlink(f->path);
            return -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "irhost new: cannot write %s: %s", f->path, strerror(errno));
        unlink(f->path);
        return -1;
    }
    return 0;
}

static int create_all(lua_State *L, const char *name, FILE *out, char *err, size_t errlen)
{
    struct file files[MAX_FILES];
    int n = scaffold_files(L, name, files, err, errlen);
    if (n < 0) return 2;
    /* Refuse before writing anything, so a second `new` leaves the first one's files alone. */
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (lstat(files[i].path, &st) == 0) {
            snprintf(err, errlen, "irhost new: %s already exists; not overwritten (pick another name or move it)", files[i].path);
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        if (make_parent(files[i].path, err, errlen) != 0 || write_new(&files[i], err, errlen) != 0) {
            for (int j = 0; j < i; j++) unlink(files[j].path);
            return 1;
        }
    }
    for (int i = 0; i < n; i++) fprintf(out, "created %s\n", files[i].path);
    if (n >= 2)
        fprintf(out, "next: edit %s, then irhost check --strict %s && irhost test %s\n", files[0].path, files[0].path, files[1].path);
    return 0;
}

int irh_scaffold_new(const char *name, FILE *out, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    if (!L) { snprintf(err, errlen, "out of memory"); return 1; }
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string}, {LUA_TABLIBNAME, luaopen_table}, {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->func; l++) { luaL_requiref(L, l->name, l->func, 1); lua_pop(L, 1); }
    int rc = create_all(L, name, out, err, errlen);
    lua_close(L);
    return rc;
}
