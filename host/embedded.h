/* Files compiled into the binary (trusted Lua modules, AWS models); see scripts/embed.c. */
#ifndef IRH_EMBEDDED_H
#define IRH_EMBEDDED_H
#include <stddef.h>

struct irh_embedded {
    const char *name;            /* "aws.client", "ir", "models/ec2.json" */
    const unsigned char *data;   /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
};

extern const struct irh_embedded irh_embedded_files[];
extern const size_t irh_embedded_count;

/* Returns the embedded file called name, or NULL. */
const struct irh_embedded *irh_embedded_find(const char *name);

#endif
