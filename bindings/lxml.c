/* Placeholder: the irhost.xml module (see bindings/bindings.h); replaced by its real implementation. */
#include <lauxlib.h>
#include "bindings.h"
int luaopen_irhost_xml(lua_State *L) { lua_newtable(L); return 1; }
