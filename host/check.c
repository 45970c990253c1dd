/* irhost check (see host/check.h). */
#include "check.h"

#include <stdio.h>
#include "broker.h"

int irh_check_files(const struct irh_options *opt, char **files, int nfiles)
{
    int worst = 0, failed = 0;
    for (int i = 0; i < nfiles; i++) {
        struct irh_options o = *opt;
        o.runbook_file = files[i];
        o.args = NULL;
        o.nargs = 0;
        int rc = irh_broker_run(&o, "check");
        if (rc == 130) return rc;
        if (rc) failed++;
        if (rc > worst) worst = rc;
        if (!opt->quiet || rc) fprintf(stderr, "%s %s\n", rc ? "FAIL" : "ok  ", files[i]);
    }
    if (nfiles > 1 && !opt->quiet)
        fprintf(stderr, "irhost check: %d of %d runbooks passed\n", nfiles - failed, nfiles);
    return worst;
}
