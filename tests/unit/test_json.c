/* host/json.c: the C core's JSON reader. */
#include "unit.h"
#include "json.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char err[128];
    char *v = irh_json_get("{\"a\":{\"b\":\"c\"}}", 15, "a.b", err, sizeof err);
    CHECK(v && strcmp(v, "c") == 0, "dotted path lookup");
    free(v);
    v = irh_json_get("{\"a\":{\"n\":42}}", 14, "a.n", err, sizeof err);
    CHECK(v && strcmp(v, "42") == 0, "numbers come back as text");
    free(v);
    v = irh_json_get("{\"a\":1}", 7, "a.b.c", err, sizeof err);
    CHECK(v == NULL && err[0] == '\0', "absent path is NULL without error");
    v = irh_json_get("{bad", 4, "a", err, sizeof err);
    CHECK(v == NULL && err[0], "invalid json reports an error: %s", err);
    return unit_done();
}
