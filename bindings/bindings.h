/* What the host exposes to trusted Lua: the built-in C modules and a `require` for
 * the modules compiled into the binary. Runbook code never sees these directly; the
 * runner's sandbox hands it read-only views of the public modules (ir, aws, json). */
#ifndef IRH_BINDINGS_H
#define IRH_BINDINGS_H
#include <lua.h>

/* Built-in C modules, by the name trusted Lua requires them under. */
int luaopen_irhost_xml(lua_State *L);     /* "irhost.xml"    bindings/lxml.c    (expat) */
int luaopen_irhost_json(lua_State *L);    /* "irhost.json"   bindings/ljson.c   (guarded lua-cjson) */
int luaopen_irhost_crypto(lua_State *L);  /* "irhost.crypto" bindings/lcrypto.c (OpenSSL digests, base64, random) */

/* lua_CFunction: require(name) for trusted code. Resolves built-in C modules, then embedded
 * Lua modules ("aws.client" from bindings/lua/aws/client.lua), caching results in the registry.
 * Embedded chunks are loaded as text only and run with the trusted global table. */
int irh_require_trusted(lua_State *L);

/* Registers extra C modules for irh_require_trusted (e.g. "irhost.host" in the runner).
 * The name must stay valid for the life of L. */
void irh_register_cmodule(lua_State *L, const char *name, lua_CFunction open);

#endif
