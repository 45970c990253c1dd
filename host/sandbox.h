/* The runner's process sandbox: environment wipe, descriptors, rlimits and the seccomp
 * filter. Applied in the forked child before any runbook code runs. */
#ifndef IRH_SANDBOX_H
#define IRH_SANDBOX_H
#include <stddef.h>
#include "options.h"

/* The descriptor the runner's socket ends up on. */
#define IRH_RUNNER_FD 3

/* Wipes every environment string in place, then clears the environment. */
void irh_sandbox_scrub_env(void);
/* Moves sock to IRH_RUNNER_FD and closes every other descriptor but 2. Returns 0 or -1. */
int irh_sandbox_fds(int sock, char *err, size_t errlen);
/* Address space (not under ASan), CPU, descriptors, no core dumps. Returns 0 or -1. */
int irh_sandbox_rlimits(const struct irh_options *opt, char *err, size_t errlen);
/* PR_SET_NO_NEW_PRIVS and the seccomp filter: EPERM by default, the process is killed for
 * execve, ptrace, socket, connect and friends. Returns 0 or -1. */
int irh_sandbox_seccomp(char *err, size_t errlen);
/* All of the above in order, plus tzset() while the zone files can still be read. */
int irh_sandbox_enter(int sock, const struct irh_options *opt, char *err, size_t errlen);

#endif
