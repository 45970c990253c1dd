/* The runbook's sandbox environment inside the runner's Lua state: an allow-list of globals,
 * print to the run log, text-only load, guarded setmetatable/collectgarbage/coroutine.close,
 * a require that asks the broker for runbook-local modules, and read-only views of the
 * trusted modules ir, aws and json. Runbook chunks get this table as _ENV. */
#ifndef IRH_LUAENV_H
#define IRH_LUAENV_H
#include <lua.h>

/* Hardens the trusted globals of a fresh state whose libraries are open: removes dofile,
 * loadfile and string.dump, trims os to time/clock/date/difftime, makes load text-only
 * and locks the string metatable. Registers `irhost.sandbox` for trusted Lua: env()
 * returns a fresh environment as irh_luaenv_push builds it (guards included). */
void irh_luaenv_harden(lua_State *L);
/* Pushes a new sandbox environment table for the runbook file `from` (its require asks
 * the broker for modules next to that file; NULL: next to the run's runbook). */
void irh_luaenv_push(lua_State *L, const char *from);
/* Loads text-only Lua source as a chunk whose _ENV is the table at env_idx. Returns a
 * lua_load status and pushes the function or the error message. */
int irh_luaenv_load(lua_State *L, const char *src, size_t len, const char *chunkname, int env_idx);

#endif
