/* The runner's memory and instruction limits (see host/lualimits.h). */
#include "lualimits.h"

#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>

/* Instructions between two hook calls while nothing is tripped: cheap, yet prompt. */
#define HOOK_STEP 1000

void irh_limits_init(struct irh_limits *l, size_t mem_cap, unsigned long long max_instructions)
{
    *l = (struct irh_limits){ .cap = mem_cap, .max_instructions = max_instructions };
}

void *irh_limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct irh_limits *l = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        l->used -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t grow = nsize - old;
        if (grow > l->cap || l->used > l->cap - grow) {
            /* Lua retries once after an emergency collection: only a second refusal of
             * the same request (or one that could never fit) is a real limit hit. */
            if (nsize > l->cap || l->fail_size == nsize) l->mem_tripped = 1;
            l->fail_size = nsize;
            return NULL;
        }
    }
    void *n = realloc(ptr, nsize);
    if (!n) {
        if (nsize <= old) return ptr;   /* Lua assumes shrinking never fails */
        l->mem_tripped = 1;
        return NULL;
    }
    l->fail_size = 0;
    l->used = l->used - old + nsize;
    if (l->used > l->peak) l->peak = l->used;
    return n;
}

static struct irh_limits *limits_of(lua_State *L)
{
    return *(struct irh_limits **)lua_getextraspace(L);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct irh_limits *l = limits_of(L);
    if (!l->instr_tripped && !l->mem_tripped && l->max_instructions) {
        l->instructions += HOOK_STEP;
        if (l->instructions > l->max_instructions) l->instr_tripped = 1;
    }
    if (!l->instr_tripped && !l->mem_tripped) return;
    /* Fire on every instruction from now on, in this thread too. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    char msg[200];
    irh_limits_tripped(l, msg, sizeof msg);
    luaL_error(L, "%s", msg);
}

void irh_limits_install(lua_State *L, struct irh_limits *l)
{
    *(struct irh_limits **)lua_getextraspace(L) = l;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
}

int irh_limits_tripped(const struct irh_limits *l, char *msg, size_t msglen)
{
    if (l->mem_tripped) {
        snprintf(msg, msglen, "memory limit of %zu MB exceeded (raise it with --memory-limit MB)",
                 l->cap / (1024 * 1024));
        return 1;
    }
    if (l->instr_tripped) {
        snprintf(msg, msglen, "instruction limit of %llu exceeded (raise it with --max-instructions N)",
                 l->max_instructions);
        return 1;
    }
    if (msglen) msg[0] = '\0';
    return 0;
}
