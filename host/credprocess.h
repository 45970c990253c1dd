/* credential_process: runs the profile's command with /bin/sh -c (as the AWS SDKs for Go,
 * Java and Rust do), reads its JSON answer from stdout (Version 1, AccessKeyId,
 * SecretAccessKey, optional SessionToken and Expiration). Its stderr stays the user's. */
#ifndef IRH_CREDPROCESS_H
#define IRH_CREDPROCESS_H
#include <stddef.h>
#include "creds.h"

/* Runs cmd and fills out (cleared first). where names the setting for errors ("profile
 * 'dev' (/home/u/.aws/config:12)"). Returns 0, or -1 with err (exit status, timeout, not
 * JSON, wrong Version, missing key); the command's output is never quoted. */
int irh_credprocess_run(const char *cmd, const char *where, struct irh_creds *out, char *err, size_t errlen);

#endif
