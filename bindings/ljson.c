/* Placeholder: the irhost.json module (see bindings/bindings.h); replaced by its real implementation. */
#include <lauxlib.h>
#include "bindings.h"
int luaopen_irhost_json(lua_State *L) { lua_newtable(L); return 1; }
