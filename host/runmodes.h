/* The runner's commands over files (check, policy, test): each file's main chunk runs in
 * its own sandbox environment (never its steps), then the trusted Lua command (ir.check,
 * ir.policy, ir.testing) gets the files, what the chunks returned and the command's
 * options, and writes its output through the broker. */
#ifndef IRH_RUNMODES_H
#define IRH_RUNMODES_H
#include <stddef.h>
#include <lua.h>
#include "runner.h"

/* Runs a->mode (check|policy|test) over a->files in the runner's state L, with msgh the
 * stack index of the message handler. Returns the exit code; msg gets a one-line message
 * for the user (empty when the command printed everything itself). */
int irh_runmodes_run(lua_State *L, int msgh, const struct irh_runner_args *a, char *msg, size_t msglen);

#endif
