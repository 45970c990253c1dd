/* The AWS shared config and credentials files (~/.aws/config, ~/.aws/credentials), read
 * the way botocore reads them (configparser rules: '=' or ':' delimiters, full-line '#'
 * and ';' comments, indented continuation lines, lowercase keys, duplicate sections and
 * keys are errors). In the config file profiles are [default] and [profile NAME]; in the
 * credentials file every section is a profile. Values may be secrets: they are wiped when
 * the config is freed and never appear in an error message. */
#ifndef IRH_AWSCONFIG_H
#define IRH_AWSCONFIG_H
#include <stddef.h>

struct irh_awsconfig;

enum irh_cfg_file { IRH_CFG_CONFIG = 0, IRH_CFG_CREDENTIALS = 1 };

/* Loads AWS_CONFIG_FILE (default ~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials); a missing file counts as empty. NULL with err naming file:line on a
 * malformed file, or on allocation failure. */
struct irh_awsconfig *irh_awsconfig_load(char *err, size_t errlen);
/* Same with explicit paths (NULL: no such file). */
struct irh_awsconfig *irh_awsconfig_load_files(const char *config_path, const char *credentials_path,
                                               char *err, size_t errlen);
/* A profile's setting as botocore merges the files (the credentials file wins), or NULL. */
const char *irh_awsconfig_get(const struct irh_awsconfig *c, const char *profile, const char *key);
/* A profile's setting from one file only, or NULL. */
const char *irh_awsconfig_get_in(const struct irh_awsconfig *c, enum irh_cfg_file f,
                                 const char *profile, const char *key);
/* Non-zero when either file has the profile. */
int irh_awsconfig_has_profile(const struct irh_awsconfig *c, const char *profile);
/* Writes the profile names of both files ("a, b, default", sorted, unique, or "none"). */
void irh_awsconfig_profiles(const struct irh_awsconfig *c, char *out, size_t outlen);
/* Writes "path:line" where the profile's key is set (merged view), or the file path of the
 * profile, or "" when neither is known; for error messages. */
void irh_awsconfig_where(const struct irh_awsconfig *c, const char *profile, const char *key,
                         char *out, size_t outlen);
/* Calls fn for every section in file order (key and value NULL), then for each of its
 * settings: the section header as written, the lower-case key, the value (may be a secret:
 * for tests and diagnostics that never print it). */
typedef void (*irh_awsconfig_fn)(void *ud, enum irh_cfg_file f, const char *section, const char *key,
                                 const char *value);
void irh_awsconfig_foreach(const struct irh_awsconfig *c, irh_awsconfig_fn fn, void *ud);
/* The path a file was (or would have been) read from. */
const char *irh_awsconfig_path(const struct irh_awsconfig *c, enum irh_cfg_file f);
/* Wipes every value and frees. NULL is fine. */
void irh_awsconfig_free(struct irh_awsconfig *c);

#endif
