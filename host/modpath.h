/* What the broker lets the runner read: runbook-local modules for `require` and files the
 * user named on the command line. Both refuse anything else. */
#ifndef IRH_MODPATH_H
#define IRH_MODPATH_H
#include <stddef.h>

#define IRH_MODULE_MAX (4u * 1024u * 1024u)
#define IRH_READ_FILE_MAX (16u * 1024u * 1024u)

/* Resolves the dotted module name to a Lua text file next to runbook_file or in its lib/
 * ("lib.util" -> DIR/lib/util.lua, then DIR/lib/lib/util.lua). Refuses paths, `..`, files
 * (or symlinks) outside the folder, bytecode and files over IRH_MODULE_MAX. Returns the
 * malloc'd source (*len bytes) and fills chunkname ("@path"), or NULL with err. */
char *irh_modpath_load(const char *runbook_file, const char *name, size_t *len,
                       char *chunkname, size_t chunklen, char *err, size_t errlen);
/* Reads path if it is exactly a value the user typed among args (a whole argument or
 * the value of --name=value); at most IRH_READ_FILE_MAX bytes. NULL with err otherwise. */
char *irh_modpath_read_arg_file(const char *path, char **args, int nargs, size_t *len,
                                char *err, size_t errlen);
/* irhost test: reads path if, symlinks resolved, it lies under the folder of one of the
 * named test files or, for a test file in a folder named `tests`, under that folder's
 * parent (the runbooks it tests and their lib/). Text only (no NUL byte, no bytecode), at
 * most IRH_READ_FILE_MAX bytes. NULL with err otherwise. */
char *irh_modpath_read_test_file(const char *path, char **tests, int ntests, size_t *len,
                                 char *err, size_t errlen);

#endif
