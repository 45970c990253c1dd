/* Placeholder: the irhost.crypto module (see bindings/bindings.h); replaced by its real implementation. */
#include <lauxlib.h>
#include "bindings.h"
int luaopen_irhost_crypto(lua_State *L) { lua_newtable(L); return 1; }
