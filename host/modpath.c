/* Files the broker reads for the runner (see host/modpath.h). */
#include "modpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads a regular file of at most max bytes into a malloc'd NUL-terminated buffer.
 * O_NONBLOCK: opening a FIFO (--finding <fifo>) or a device must not block the broker;
 * anything but a regular file is refused right after open. */
static char *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file (give a file, not a pipe, device or folder)", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errlen, "%s is larger than %zu MB", path, max / (1024 * 1024));
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { snprintf(err, errlen, "out of memory"); close(fd); return NULL; }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0 || n + (size_t)r == cap) { n += (size_t)r; break; }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Directory of path (".") into out. */
static void dir_of(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash) { snprintf(out, outlen, "."); return; }
    if (slash == path) { snprintf(out, outlen, "/"); return; }
    snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

static int valid_module_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '.' || name[n - 1] == '.' || strstr(name, "..")) return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* Tries base/<name as path>.lua; returns 1 and the source if found, 0 if absent, -1 if refused. */
static int try_candidate(const char *base, const char *name, char **src, size_t *len,
                         char *chunkname, size_t chunklen, char *err, size_t errlen)
{
    char rel[512], path[PATH_MAX], real[PATH_MAX], realbase[PATH_MAX];
    snprintf(rel, sizeof rel, "%s", name);
    for (char *p = rel; *p; p++) if (*p == '.') *p = '/';
    if ((size_t)snprintf(path, sizeof path, "%s/%s.lua", base, rel) >= sizeof path) return 0;
    if (access(path, F_OK) != 0) return 0;
    if (!realpath(base, realbase) || !realpath(path, real)) {
        snprintf(err, errlen, "cannot resolve %s: %s", path, strerror(errno));
        return -1;
    }
    size_t bl = strlen(realbase);
    if (strncmp(real, realbase, bl) != 0 || (real[bl] != '/' && strcmp(realbase, "/") != 0)) {
        snprintf(err, errlen, "%s leads outside the runbook's folder (symlink refused)", path);
        return -1;
    }
    *src = read_file(real, IRH_MODULE_MAX, len, err, errlen);
    if (!*src) return -1;
    if (*len > 0 && (unsigned char)(*src)[0] == 0x1b) {
        free(*src);
        *src = NULL;
        snprintf(err, errlen, "%s is compiled Lua bytecode; only Lua source is loaded", path);
        return -1;
    }
    snprintf(chunkname, chunklen, "@%s", path);
    return 1;
}

char *irh_modpath_load(const char *runbook_file, const char *name, size_t *len,
                       char *chunkname, size_t chunklen, char *err, size_t errlen)
{
    if (!valid_module_name(name)) {
        snprintf(err, errlen, "'%s' is not a module name (dotted names only, no paths)", name);
        return NULL;
    }
    char dir[PATH_MAX], lib[PATH_MAX + 8];
    dir_of(runbook_file, dir, sizeof dir);
    snprintf(lib, sizeof lib, "%s/lib", dir);
    const char *bases[] = {dir, lib};
    for (size_t i = 0; i < 2; i++) {
        char *src = NULL;
        int rc = try_candidate(bases[i], name, &src, len, chunkname, chunklen, err, errlen);
        if (rc == 1) return src;
        if (rc < 0) return NULL;
    }
    snprintf(err, errlen, "module '%s' not found (looked for %s/%s.lua and %s/%s.lua)", name, dir, name, lib, name);
    return NULL;
}

char *irh_modpath_read_arg_file(const char *path, char **args, int nargs, size_t *len,
                                char *err, size_t errlen)
{
    int named = 0;
    for (int i = 0; i < nargs && !named; i++) {
        const char *a = args[i];
        if (strcmp(a, path) == 0) named = 1;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && strcmp(eq + 1, path) == 0) named = 1;
    }
    if (!named || !*path) {
        snprintf(err, errlen, "refused: '%s' is not a file named on the command line", path);
        return NULL;
    }
    return read_file(path, IRH_READ_FILE_MAX, len, err, errlen);
}

/* The folder a test file may read under (see host/modpath.h). */
static void test_root(const char *test, char *out, size_t outlen)
{
    char dir[PATH_MAX];
    dir_of(test, dir, sizeof dir);
    const char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    dir_of(dir, out, outlen);
    if (strcmp(base, "tests") != 0 || strcmp(out, "/") == 0) snprintf(out, outlen, "%s", dir);
}

/* 1 if real (a resolved path) lies under the resolved folder root. */
static int under(const char *real, const char *root)
{
    char realroot[PATH_MAX];
    if (!realpath(root, realroot)) return 0;
    size_t n = strlen(realroot);
    if (strcmp(realroot, "/") == 0) return 1;
    return strncmp(real, realroot, n) == 0 && real[n] == '/';
}

char *irh_modpath_read_test_file(const char *path, char **tests, int ntests, size_t *len,
                                 char *err, size_t errlen)
{
    char real[PATH_MAX], root[PATH_MAX];
    if (!*path || !realpath(path, real)) {
        snprintf(err, errlen, "cannot open %s: %s", path, *path ? strerror(errno) : "empty path");
        return NULL;
    }
    int allowed = 0;
    for (int i = 0; i < ntests && !allowed; i++) {
        test_root(tests[i], root, sizeof root);
        allowed = under(real, root);
    }
    if (!allowed) {
        snprintf(err, errlen, "refused: %s is outside the folders of the test files (a test reads the "
                 "runbooks beside its tests/ folder and their lib/)", path);
        return NULL;
    }
    char *buf = read_file(real, IRH_READ_FILE_MAX, len, err, errlen);
    if (!buf) return NULL;
    if ((*len > 0 && (unsigned char)buf[0] == 0x1b) || memchr(buf, '\0', *len)) {
        snprintf(err, errlen, "refused: %s is not a text file", path);
        free(buf);
        return NULL;
    }
    return buf;
}
