/* JSON for the C core, through lua-cjson in a private, wiped Lua state (no runbook code
 * ever runs there). Used where the broker reads JSON: credential_process output, the
 * container credential endpoint, error bodies, run records. */
#ifndef IRH_JSON_H
#define IRH_JSON_H
#include <stddef.h>

/* Returns a new lua_State with cjson loaded as global "cjson", whose allocator wipes
 * every block before freeing it; NULL on allocation failure. Close with lua_close. */
struct lua_State *irh_json_state(void);

/* Decodes text and copies the string (or number, as text) at a dotted path such as
 * "Credentials.AccessKeyId" into a malloc'd NUL-terminated buffer (caller frees; wipe it
 * if it is a secret). Returns NULL if the document is not JSON (err says where) or the
 * path is absent (err empty). */
char *irh_json_get(const char *text, size_t len, const char *path, char *err, size_t errlen);

#endif
