/* Limits inside the runner's Lua state: a capped allocator (memory) and a count hook
 * (instructions) that keeps firing once a limit is tripped, so pcall cannot swallow it. */
#ifndef IRH_LUALIMITS_H
#define IRH_LUALIMITS_H
#include <stddef.h>
#include <lua.h>

struct irh_limits {
    size_t cap, used, peak;
    size_t fail_size;            /* last refused request, to recognise Lua's retry after an emergency GC */
    int mem_tripped;
    unsigned long long max_instructions, instructions;
    int instr_tripped;
};

/* Sets the caps (max_instructions 0: no instruction limit). */
void irh_limits_init(struct irh_limits *l, size_t mem_cap, unsigned long long max_instructions);
/* lua_Alloc with ud = struct irh_limits *: refuses growth past the cap. */
void *irh_limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* Installs the count hook on L (new threads inherit it); l must outlive L. */
void irh_limits_install(lua_State *L, struct irh_limits *l);
/* Non-zero when a limit was hit; msg names the limit and how to raise it. */
int irh_limits_tripped(const struct irh_limits *l, char *msg, size_t msglen);

#endif
