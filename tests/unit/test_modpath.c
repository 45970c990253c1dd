/* host/modpath.c: what the broker lets the runner read (require and READ_FILE). */
#include "unit.h"
#include "modpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void put(const char *rel, const char *text, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/irhost-modpath-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char p[512], q[512], rb[512], chunk[600], err[600];
    size_t len;
    snprintf(p, sizeof p, "%s/lib", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sub", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/outside", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/rb", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/rb/lib", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/rb/sub", dir); mkdir(p, 0700);
    put("rb/here.lua", "return 1", 8);
    put("rb/lib/util.lua", "return 2", 8);
    put("rb/sub/deep.lua", "return 3", 8);
    put("rb/lib/bytes.lua", "\033LuaT\0", 6);
    put("outside/secret.lua", "return 'outside'", 16);
    snprintf(p, sizeof p, "%s/outside/secret.lua", dir);
    snprintf(q, sizeof q, "%s/rb/lib/link.lua", dir);
    if (symlink(p, q) != 0) return 1;
    snprintf(rb, sizeof rb, "%s/rb/runbook.lua", dir);

    char *s = irh_modpath_load(rb, "here", &len, chunk, sizeof chunk, err, sizeof err);
    CHECK(s && strcmp(s, "return 1") == 0 && strstr(chunk, "@") == chunk && strstr(chunk, "rb/here.lua"),
          "a module next to the runbook (%s)", chunk);
    free(s);
    s = irh_modpath_load(rb, "util", &len, chunk, sizeof chunk, err, sizeof err);
    CHECK(s && strcmp(s, "return 2") == 0, "a module in lib/");
    free(s);
    s = irh_modpath_load(rb, "sub.deep", &len, chunk, sizeof chunk, err, sizeof err);
    CHECK(s && strcmp(s, "return 3") == 0, "dotted name to sub-folder");
    free(s);
    s = irh_modpath_load(rb, "lib.util", &len, chunk, sizeof chunk, err, sizeof err);
    CHECK(s && strcmp(s, "return 2") == 0, "lib.util names lib/util.lua");
    free(s);
    CHECK(!irh_modpath_load(rb, "link", &len, chunk, sizeof chunk, err, sizeof err) && strstr(err, "outside"),
          "symlink out of the folder refused: %s", err);
    CHECK(!irh_modpath_load(rb, "bytes", &len, chunk, sizeof chunk, err, sizeof err) && strstr(err, "bytecode"),
          "bytecode module refused: %s", err);
    static const char *const bad[] = {"../outside/secret", "/etc/passwd", ".hidden", "a..b", "a/b", "", "x.", NULL};
    for (int i = 0; bad[i]; i++)
        CHECK(!irh_modpath_load(rb, bad[i], &len, chunk, sizeof chunk, err, sizeof err) && strstr(err, "not a module name"),
              "name '%s' refused", bad[i]);
    CHECK(!irh_modpath_load(rb, "missing", &len, chunk, sizeof chunk, err, sizeof err) && strstr(err, "not found"),
          "missing module: %s", err);

    /* READ_FILE: only values the user typed. */
    put("finding.json", "{\"id\":1}", 8);
    char f[512], flag[600];
    snprintf(f, sizeof f, "%s/finding.json", dir);
    snprintf(flag, sizeof flag, "--finding=%s", f);
    char *args1[] = {"--finding", f};
    char *args2[] = {flag};
    char *args3[] = {"--finding", "other.json"};
    s = irh_modpath_read_arg_file(f, args1, 2, &len, err, sizeof err);
    CHECK(s && len == 8, "a file given as --finding F is readable");
    free(s);
    s = irh_modpath_read_arg_file(f, args2, 1, &len, err, sizeof err);
    CHECK(s && len == 8, "a file given as --finding=F is readable");
    free(s);
    CHECK(!irh_modpath_read_arg_file(f, args3, 2, &len, err, sizeof err) && strstr(err, "not a file named"),
          "a file the user did not name is refused: %s", err);
    CHECK(!irh_modpath_read_arg_file("/etc/passwd", args1, 2, &len, err, sizeof err), "/etc/passwd is refused");
    char *args4[] = {dir};
    CHECK(!irh_modpath_read_arg_file(dir, args4, 1, &len, err, sizeof err) && strstr(err, "regular file"),
          "a directory is refused");

    /* irhost test: files under the runbook folder beside the test's tests/ folder. */
    snprintf(p, sizeof p, "%s/rb/tests", dir); mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/plain", dir); mkdir(p, 0700);
    put("rb/tests/rb_test.lua", "test()", 6);
    put("rb/runbook.lua", "return 4", 8);
    put("rb/lib/nul.lua", "a\0b", 3);
    put("plain/x_test.lua", "test()", 6);
    char t1[512], t2[512], target[512];
    snprintf(t1, sizeof t1, "%s/rb/tests/rb_test.lua", dir);
    snprintf(t2, sizeof t2, "%s/plain/x_test.lua", dir);
    char *tests1[] = {t1}, *tests2[] = {t2}, *both[] = {t2, t1};
    s = irh_modpath_read_test_file(rb, tests1, 1, &len, err, sizeof err);
    CHECK(s && strcmp(s, "return 4") == 0, "a test in tests/ reads the runbook beside that folder");
    free(s);
    snprintf(target, sizeof target, "%s/rb/tests/../lib/util.lua", dir);
    s = irh_modpath_read_test_file(target, tests1, 1, &len, err, sizeof err);
    CHECK(s && strcmp(s, "return 2") == 0, "... and its lib/ (a path with ..)");
    free(s);
    CHECK(!irh_modpath_read_test_file(rb, tests2, 1, &len, err, sizeof err) && strstr(err, "outside the folders"),
          "a test outside tests/ reads only its own folder: %s", err);
    s = irh_modpath_read_test_file(rb, both, 2, &len, err, sizeof err);
    CHECK(s != NULL, "with several test files, any one's folder counts");
    free(s);
    snprintf(target, sizeof target, "%s/outside/secret.lua", dir);
    CHECK(!irh_modpath_read_test_file(target, tests1, 1, &len, err, sizeof err) && strstr(err, "outside the folders"),
          "a file outside the runbook folder is refused");
    CHECK(!irh_modpath_read_test_file(q, tests1, 1, &len, err, sizeof err) && strstr(err, "outside the folders"),
          "a symlink out of the runbook folder is refused");
    CHECK(!irh_modpath_read_test_file("/etc/passwd", tests1, 1, &len, err, sizeof err), "/etc/passwd is refused");
    snprintf(target, sizeof target, "%s/rb/lib/bytes.lua", dir);
    CHECK(!irh_modpath_read_test_file(target, tests1, 1, &len, err, sizeof err) && strstr(err, "not a text file"),
          "bytecode is refused");
    snprintf(target, sizeof target, "%s/rb/lib/nul.lua", dir);
    CHECK(!irh_modpath_read_test_file(target, tests1, 1, &len, err, sizeof err) && strstr(err, "not a text file"),
          "a file with a NUL byte is refused");
    CHECK(!irh_modpath_read_test_file("", tests1, 1, &len, err, sizeof err), "an empty path is refused");

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return unit_done();
}
