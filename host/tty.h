/* Prompting the person at the terminal for a secret (an MFA code): /dev/tty with echo off,
 * never stdin/stdout, which may be pipes carrying a run's data. */
#ifndef IRH_TTY_H
#define IRH_TTY_H
#include <stddef.h>

/* Writes prompt to /dev/tty and reads one line with echo off into buf (no newline).
 * Returns 0, or -1 with err when there is no terminal, on end of input, or when the answer
 * does not fit in buf. buf holds a secret: wipe it after use. */
int irh_tty_read_secret(const char *prompt, char *buf, size_t buflen, char *err, size_t errlen);

#endif
