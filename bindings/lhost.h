/* irhost.host: the runner's channel to the broker (bindings/lhost.c, runner only). */
#ifndef IRH_LHOST_H
#define IRH_LHOST_H
#include <lua.h>
#include "options.h"

/* What the runner knows about its run; must outlive the Lua state. */
struct irh_lhost_ctx {
    int fd;                          /* the socket to the broker */
    const struct irh_options *opt;
    const char *mode;                /* run | help | describe | check */
    const char *run_id, *run_dir;    /* NULL outside run mode */
    const char *resume_json;         /* {"step name": outputs, ...} from --resume, or NULL */
};

/* Makes ctx the channel for "irhost.host" in L (call before the module is required). */
void irh_lhost_setup(lua_State *L, const struct irh_lhost_ctx *ctx);
/* lua_CFunction opening "irhost.host"; register it with irh_register_cmodule. */
int luaopen_irhost_host(lua_State *L);

#endif
