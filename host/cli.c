/* Command-line parsing: see host/cli.h and docs/cli.md. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { FLAG, STRING, SECONDS, MEGABYTES, TOTAL_MB, COUNT, BIGCOUNT, RATE, HELP, VERSION };

struct host_option { const char *name; enum kind kind; size_t off; };

#define OFF(f) offsetof(struct irh_options, f)
static const struct host_option host_options[] = {
    {"region", STRING, OFF(region)},
    {"profile", STRING, OFF(profile)},
    {"endpoint-url", STRING, OFF(endpoint_url)},
    {"out", STRING, OFF(out_dir)},
    {"resume", STRING, OFF(resume_dir)},
    {"dry-run", FLAG, OFF(dry_run)},
    {"yes", FLAG, OFF(yes)},
    {"json", FLAG, OFF(json)},
    {"quiet", FLAG, OFF(quiet)},
    {"verbose", FLAG, OFF(verbose)},
    {"timeout", SECONDS, OFF(timeout_s)},
    {"memory-limit", MEGABYTES, OFF(memory_limit)},
    {"max-calls", COUNT, OFF(max_calls)},
    {"max-mutating-calls", COUNT, OFF(max_mutating_calls)},
    {"max-instructions", BIGCOUNT, OFF(max_instructions)},
    {"max-evidence", TOTAL_MB, OFF(max_evidence)},
    {"rate", RATE, 0},
    {"help", HELP, 0},
    {"version", VERSION, 0},
    {NULL, FLAG, 0},
};

static const struct host_option *find_option(const char *name, size_t len)
{
    for (const struct host_option *o = host_options; o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) return o;
    return NULL;
}

void irh_cli_usage(FILE *f)
{
    fputs(
"irhost " IRH_VERSION ": incident-response runbooks for AWS, in a sandbox\n"
"\n"
"usage:\n"
"  irhost RUNBOOK [runbook params] [host options]   run a runbook\n"
"  irhost RUNBOOK --help                            the runbook's description and params\n"
"  irhost check FILE... [--strict] [--format text|json|sarif]\n"
"                                                   check runbooks without running them (for CI)\n"
"  irhost policy RUNBOOK [--resources] [--account ID] [--partition P] [runbook params]\n"
"                                                   least-privilege IAM policy for the runbook\n"
"  irhost test FILE...                              run runbook tests (stubbed AWS, no network)\n"
"  irhost new NAME                                  write NAME.lua and tests/NAME_test.lua here\n"
"  irhost describe RUNBOOK                          name, params, permissions, steps\n"
"  irhost version | help\n"
"\n"
"host options (anywhere after the runbook; `--` ends them):\n"
"  --region R  --profile P  --endpoint-url URL     AWS settings (override environment and config)\n"
"  --dry-run                 plan mutating calls, send none\n"
"  --yes                     no confirmation prompts for destructive steps\n"
"  --out DIR                 run directory (default ./irhost-runs/<UTC time>-<runbook>/)\n"
"  --resume DIR              continue an earlier run in DIR, skipping finished steps\n"
"  --json                    print report.json on stdout (nothing else goes there)\n"
"  --quiet | --verbose       less / more progress on stderr\n"
"  --timeout SECONDS         wall-clock limit (default 900)\n"
"  --memory-limit MB         Lua memory limit (default 256)\n"
"  --max-instructions N      Lua instruction limit (default: none)\n"
"  --max-calls N             AWS calls per run (default 10000)\n"
"  --max-mutating-calls N    mutating AWS calls per run (default 1000)\n"
"  --max-evidence MB         evidence kept per run, all attempts (default 2048)\n"
"  --rate SERVICE=N/s        rate limit for one service (repeatable)\n"
"\n"
"check:   --strict fails on warnings too; --format json or sarif for code-scanning tools.\n"
"         Exit 0 clean, 1 errors (or warnings with --strict), 2 usage.\n"
"policy:  --resources narrows resources to the params given (--instance i-0abc ...);\n"
"         --region R and --account ID fill the ARNs (default *).\n"
"test:    prints one line per test and `N passed, N failed`; exit 1 if any failed.\n"
"check, policy and test: wall-clock limit 60 s unless --timeout is given.\n"
"\n"
"exit codes: 0 success, 1 a step failed, 2 usage or parameter error, 3 sandbox violation\n"
"or limit exceeded, 4 credentials or configuration error, 5 refused at a prompt.\n"
"See docs/cli.md.\n", f);
}

static int set_value(struct irh_options *opt, const struct host_option *o, const char *v,
                     char *err, size_t errlen)
{
    char *end;
    void *field = (char *)opt + o->off;
    switch (o->kind) {
    case STRING:
        if (!*v) { snprintf(err, errlen, "--%s: empty value", o->name); return -1; }
        *(const char **)field = v;
        return 0;
    case SECONDS: {
        errno = 0;
        double d = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(d) || d <= 0 || d > 7 * 86400.0) {
            snprintf(err, errlen, "--%s: '%s' is not a number of seconds greater than 0 and at most 604800 (7 days)", o->name, v);
            return -1;
        }
        *(double *)field = d;
        return 0;
    }
    case MEGABYTES: {
        errno = 0;
        unsigned long long mb = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || mb < 16 || mb > 1024ULL * 1024) {
            snprintf(err, errlen, "--%s: '%s' is not a size in MB between 16 and 1048576", o->name, v);
            return -1;
        }
        *(size_t *)field = (size_t)mb * 1024 * 1024;
        return 0;
    }
    case TOTAL_MB: {
        errno = 0;
        unsigned long long mb = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || mb < 1 || mb > 16ULL * 1024 * 1024) {
            snprintf(err, errlen, "--%s: '%s' is not a size in MB between 1 and 16777216", o->name, v);
            return -1;
        }
        *(unsigned long long *)field = mb * 1024 * 1024;
        return 0;
    }
    case COUNT: {
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 0) {
            snprintf(err, errlen, "--%s: '%s' is not a whole number >= 0", o->name, v);
            return -1;
        }
        *(long *)field = n;
        return 0;
    }
    case BIGCOUNT: {
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || end == v || *end || *v == '-' || n == 0) {
            snprintf(err, errlen, "--%s: '%s' is not a whole number > 0", o->name, v);
            return -1;
        }
        *(unsigned long long *)field = n;
        return 0;
    }
    case RATE: {
        const char *eq = strchr(v, '=');
        size_t sl = eq ? (size_t)(eq - v) : 0;
        if (!eq || sl == 0 || sl >= sizeof opt->rates[0].service || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != sl) {
            snprintf(err, errlen, "--rate: '%s' is not SERVICE=N/s (e.g. ec2=5/s)", v);
            return -1;
        }
        errno = 0;
        double d = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || !isfinite(d) || d <= 0 || (*end && strcmp(end, "/s") != 0)) {
            snprintf(err, errlen, "--rate: '%s' is not SERVICE=N/s with N > 0 (e.g. ec2=5/s)", v);
            return -1;
        }
        if (opt->nrates == IRH_MAX_RATES) {
            snprintf(err, errlen, "--rate: at most %d services", IRH_MAX_RATES);
            return -1;
        }
        struct irh_rate *r = &opt->rates[opt->nrates++];
        memcpy(r->service, v, sl);
        r->service[sl] = '\0';
        r->per_second = d;
        return 0;
    }
    default:
        return 0;
    }
}

/* Region names as AWS spells them: us-east-1, eu-central-2, us-gov-west-1, cn-north-1. */
static int valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n < 4 || n > 32 || r[0] < 'a' || r[0] > 'z' || r[n - 1] < '0' || r[n - 1] > '9' || !strchr(r, '-')) return 0;
    if (strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != n || strstr(r, "--")) return 0;
    return 1;
}

/* http(s)://HOST[:PORT][/PATH]: the scheme and a host, nothing curl would guess at. */
static int valid_endpoint_url(const char *u)
{
    const char *h = strncmp(u, "https://", 8) == 0 ? u + 8 : strncmp(u, "http://", 7) == 0 ? u + 7 : NULL;
    if (!h) return 0;
    size_t hl = strcspn(h, ":/?#");
    if (hl == 0 || strpbrk(u, " \t\r\n")) return 0;
    if (h[hl] == ':') {
        const char *p = h + hl + 1;
        size_t pl = strspn(p, "0123456789");
        if (pl == 0 || pl > 5 || (p[pl] && p[pl] != '/')) return 0;
    }
    return 1;
}

/* Edit distance of two short words (0 when either is over 63 characters: no suggestion). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la > 63 || lb > 63) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *irh_cli_suggest(const char *flag)
{
    if (strncmp(flag, "--", 2) != 0) return NULL;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(flag + 2, "="), flag + 2);
    size_t len = strlen(name), limit = len / 3 > 2 ? len / 3 : 2, best_d = (size_t)-1;
    const char *best = NULL;
    for (const struct host_option *o = host_options; o->name; o++) {
        size_t d = edit_distance(name, o->name);
        if (d < best_d) { best_d = d; best = o->name; }
    }
    return best && best_d > 0 && best_d <= limit ? best : NULL;
}

static int is_command(const char *s)
{
    static const char *const commands[] = {"check", "policy", "test", "new", "describe", "version", "help", NULL};
    for (int i = 0; commands[i]; i++) if (strcmp(s, commands[i]) == 0) return 1;
    return 0;
}

/* ---------------------------------------------------------------- command options */

enum cmd_kind { CMD_FLAG, CMD_FORMAT, CMD_ACCOUNT, CMD_PARTITION };
struct cmd_option { const char *name; enum cmd_kind kind; };

static const struct cmd_option check_options[] = {{"strict", CMD_FLAG}, {"format", CMD_FORMAT}, {NULL, CMD_FLAG}};
static const struct cmd_option policy_options[] = {
    {"resources", CMD_FLAG}, {"account", CMD_ACCOUNT}, {"partition", CMD_PARTITION}, {NULL, CMD_FLAG},
};

static int set_cmd_value(struct irh_task *t, const struct cmd_option *o, const char *v, char *err, size_t errlen)
{
    switch (o->kind) {
    case CMD_FLAG:
        if (strcmp(o->name, "strict") == 0) t->strict = 1;
        else t->resources = 1;
        return 0;
    case CMD_FORMAT:
        if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "sarif")) {
            snprintf(err, errlen, "--format: '%s' is not text, json or sarif (see irhost help)", v);
            return -1;
        }
        t->format = v;
        return 0;
    case CMD_ACCOUNT:
        if (strlen(v) != 12 || strspn(v, "0123456789") != 12) {
            snprintf(err, errlen, "--account: '%s' is not a 12-digit AWS account id (see irhost help)", v);
            return -1;
        }
        t->account = v;
        return 0;
    case CMD_PARTITION:
        if (strncmp(v, "aws", 3) != 0 || strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz-") != strlen(v)) {
            snprintf(err, errlen, "--partition: '%s' is not an AWS partition such as aws, aws-cn or aws-us-gov", v);
            return -1;
        }
        t->partition = v;
        return 0;
    }
    return 0;
}

/* Takes the command's own options out of opt.args[0..until) (the rest came after `--`)
 * and compacts the list. Returns 0 or -1 with err. */
static int take_cmd_options(struct irh_cli *cli, int until, const struct cmd_option *opts, char *err, size_t errlen)
{
    char **args = cli->opt.args;
    int out = 0;
    for (int i = 0; i < cli->opt.nargs; i++) {
        const char *a = args[i];
        const struct cmd_option *o = NULL;
        const char *eq = NULL;
        if (i < until && strncmp(a, "--", 2) == 0) {
            eq = strchr(a + 2, '=');
            size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            for (const struct cmd_option *c = opts; c->name && !o; c++)
                if (strlen(c->name) == nl && memcmp(c->name, a + 2, nl) == 0) o = c;
        }
        if (!o) { args[out++] = args[i]; continue; }
        const char *v = NULL;
        if (o->kind == CMD_FLAG) {
            if (eq) { snprintf(err, errlen, "--%s takes no value (see irhost help)", o->name); return -1; }
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < cli->opt.nargs) {
            v = args[++i];
        } else {
            snprintf(err, errlen, "--%s needs a value (see irhost help)", o->name);
            return -1;
        }
        if (set_cmd_value(&cli->task, o, v, err, errlen) != 0) return -1;
    }
    cli->opt.nargs = out;
    args[out] = NULL;
    return 0;
}

/* check and test take files only: an option left over (before `--`) is unknown. */
static int only_files(const struct irh_cli *cli, int until, const char *cmd, char *err, size_t errlen)
{
    for (int i = 0; i < cli->opt.nargs && i < until; i++) {
        if (cli->opt.args[i][0] == '-' && cli->opt.args[i][1]) {
            snprintf(err, errlen, "unknown option %s for %s (see irhost help)", cli->opt.args[i], cmd);
            return -1;
        }
    }
    return 0;
}

/* check, policy and test run only a main chunk (and stubbed tests): one that loops must not
 * hold a CI job for the run's 15 minutes. */
#define CHECK_TIMEOUT_S 60

static void defaults(struct irh_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->timeout_s = 900;
    opt->memory_limit = (size_t)256 * 1024 * 1024;
    opt->max_calls = 10000;
    opt->max_mutating_calls = 1000;
    opt->max_evidence = 2048ULL * 1024 * 1024;
    opt->interactive = isatty(0) && isatty(2);
    const char *nc = getenv("NO_COLOR");
    opt->color = isatty(2) && !(nc && *nc);
}

int irh_cli_parse(int argc, char **argv, struct irh_cli *cli, char *err, size_t errlen)
{
    memset(cli, 0, sizeof *cli);
    defaults(&cli->opt);
    cli->opt.args = calloc((size_t)argc + 1, sizeof(char *));
    if (!cli->opt.args) { snprintf(err, errlen, "out of memory"); return -1; }
    const char *command = NULL;
    int want_help = 0, want_version = 0, options_done = 0, command_literal = 0, timeout_given = 0;
    int dashdash = argc;   /* opt.args from this index on came after `--` */
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) { options_done = 1; dashdash = cli->opt.nargs; continue; }
        if (!options_done && (strcmp(a, "-h") == 0)) { want_help = 1; continue; }
        if (!options_done && strncmp(a, "--", 2) == 0) {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const struct host_option *o = find_option(name, nl);
            if (o) {
                if (o->kind == HELP || o->kind == VERSION || o->kind == FLAG) {
                    if (eq) { snprintf(err, errlen, "--%s takes no value (see irhost help)", o->name); return -1; }
                    if (o->kind == HELP) want_help = 1;
                    else if (o->kind == VERSION) want_version = 1;
                    else *(int *)((char *)&cli->opt + o->off) = 1;
                    continue;
                }
                const char *v = eq ? eq + 1 : NULL;
                if (!v) {
                    if (i + 1 >= argc) { snprintf(err, errlen, "--%s needs a value (see irhost help)", o->name); return -1; }
                    v = argv[++i];
                }
                if (o->off == OFF(timeout_s)) timeout_given = 1;
                if (set_value(&cli->opt, o, v, err, errlen) != 0) {
                    size_t n = strlen(err);
                    snprintf(err + n, errlen - n, " (see irhost help)");
                    return -1;
                }
                continue;
            }
        }
        if (!command) {
            if (a[0] == '-' && !options_done) {
                snprintf(err, errlen, "unknown option %s (runbook params go after the runbook file; see irhost help)", a);
                return -1;
            }
            command = a;
            command_literal = options_done;
            continue;
        }
        cli->opt.args[cli->opt.nargs++] = a;
    }
    if (cli->opt.region && !valid_region(cli->opt.region)) {
        snprintf(err, errlen, "--region: '%s' is not an AWS region name (such as us-east-1 or eu-west-2)", cli->opt.region);
        return -1;
    }
    if (cli->opt.endpoint_url && !valid_endpoint_url(cli->opt.endpoint_url)) {
        snprintf(err, errlen, "--endpoint-url: '%s' is not a URL: give http(s)://HOST[:PORT] (e.g. http://127.0.0.1:4566)",
                 cli->opt.endpoint_url);
        return -1;
    }
    if (cli->opt.quiet && cli->opt.verbose) {
        snprintf(err, errlen, "--quiet and --verbose contradict each other; pick one");
        return -1;
    }
    if (!command) {
        cli->cmd = want_version ? IRH_CMD_VERSION : IRH_CMD_HELP;
        return 0;
    }
    if (!is_command(command) || command_literal) {
        cli->opt.runbook_file = command;
        cli->cmd = want_help ? IRH_CMD_RUNBOOK_HELP : IRH_CMD_RUN;
        return 0;
    }
    if (strcmp(command, "version") == 0) { cli->cmd = IRH_CMD_VERSION; return 0; }
    if (!timeout_given && (strcmp(command, "check") == 0 || strcmp(command, "policy") == 0 || strcmp(command, "test") == 0))
        cli->opt.timeout_s = CHECK_TIMEOUT_S;
    if (strcmp(command, "help") == 0) { cli->cmd = IRH_CMD_HELP; return 0; }
    if (strcmp(command, "check") == 0 || strcmp(command, "test") == 0) {
        int is_check = command[0] == 'c';
        if (is_check && take_cmd_options(cli, dashdash, check_options, err, errlen) != 0) return -1;
        if (only_files(cli, dashdash < cli->opt.nargs ? dashdash : cli->opt.nargs, command, err, errlen) != 0) return -1;
        if (cli->opt.nargs == 0) {
            snprintf(err, errlen, is_check ? "check needs at least one runbook file (irhost check runbooks/*.lua)"
                                           : "test needs at least one test file (irhost test runbooks/tests/*_test.lua)");
            return -1;
        }
        cli->cmd = is_check ? IRH_CMD_CHECK : IRH_CMD_TEST;
        cli->task.files = cli->opt.args;
        cli->task.nfiles = cli->opt.nargs;
        if (!cli->task.format) cli->task.format = "text";
        return 0;
    }
    if (strcmp(command, "policy") == 0) {
        if (take_cmd_options(cli, dashdash, policy_options, err, errlen) != 0) return -1;
        if (cli->opt.nargs == 0 || (cli->opt.args[0][0] == '-' && dashdash > 0)) {
            snprintf(err, errlen, "policy takes a runbook file, then its params (irhost policy runbooks/ec2.lua)");
            return -1;
        }
        cli->cmd = IRH_CMD_POLICY;
        /* The runbook moves from args to files[0]; args keeps its params. */
        cli->opt.runbook_file = cli->task.runbook[0] = cli->opt.args[0];
        cli->task.files = cli->task.runbook;
        cli->task.nfiles = 1;
        memmove(cli->opt.args, cli->opt.args + 1, (size_t)cli->opt.nargs * sizeof(char *));
        cli->opt.nargs--;
        return 0;
    }
    if (strcmp(command, "new") == 0) {
        if (cli->opt.nargs != 1) { snprintf(err, errlen, "new takes one runbook name (irhost new ec2-crypto-mining)"); return -1; }
        cli->cmd = IRH_CMD_NEW;
        cli->new_name = cli->opt.args[0];
        return 0;
    }
    /* describe */
    if (cli->opt.nargs != 1) { snprintf(err, errlen, "describe takes one runbook file (irhost describe runbooks/ec2.lua)"); return -1; }
    cli->cmd = IRH_CMD_DESCRIBE;
    cli->opt.runbook_file = cli->opt.args[0];
    cli->opt.nargs = 0;
    return 0;
}

void irh_cli_free(struct irh_cli *cli)
{
    free(cli->opt.args);
    cli->opt.args = NULL;
}
