#include "unit.h"
#include <stdarg.h>

int unit_failed;
static int unit_n;

int unit_check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++unit_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!cond) unit_failed++;
    return cond;
}

void unit_skip(const char *name, const char *why)
{
    printf("ok %d - %s # SKIP %s\n", ++unit_n, name, why);
}

int unit_done(void) { return unit_failed ? 1 : 0; }
