/* host/cli.c: subcommands, host options anywhere, `--`, values and their errors. */
#include "unit.h"
#include "cli.h"

#include <string.h>

static int parse(struct irh_cli *c, char *err, size_t errlen, char **argv)
{
    int argc = 0;
    while (argv[argc]) argc++;
    return irh_cli_parse(argc, argv, c, err, errlen);
}

#define ARGV(...) ((char *[]){"irhost", __VA_ARGS__, NULL})

int main(void)
{
    struct irh_cli c;
    char err[512];

    CHECK(parse(&c, err, sizeof err, ARGV("rb.lua", "--instance", "i-1", "--region", "eu-west-1", "--dry-run",
                                           "--ticket=IR-1", "--timeout=30", "--rate", "ec2=5/s", "--rate", "s3=2.5")) == 0,
          "a run with params and host options mixed");
    CHECK(c.cmd == IRH_CMD_RUN && strcmp(c.opt.runbook_file, "rb.lua") == 0, "the runbook is the first positional");
    CHECK(c.opt.nargs == 3 && strcmp(c.opt.args[0], "--instance") == 0 && strcmp(c.opt.args[1], "i-1") == 0 &&
          strcmp(c.opt.args[2], "--ticket=IR-1") == 0, "runbook params keep their order and form");
    CHECK(strcmp(c.opt.region, "eu-west-1") == 0 && c.opt.dry_run && c.opt.timeout_s == 30, "host options parsed");
    CHECK(c.opt.nrates == 2 && strcmp(c.opt.rates[0].service, "ec2") == 0 && c.opt.rates[0].per_second == 5 &&
          c.opt.rates[1].per_second == 2.5, "--rate is repeatable, /s optional");
    CHECK(c.opt.memory_limit == 256u * 1024 * 1024 && c.opt.max_calls == 10000 && c.opt.max_mutating_calls == 1000 &&
          c.opt.max_instructions == 0, "defaults");
    irh_cli_free(&c);

    CHECK(parse(&c, err, sizeof err, ARGV("--out", "d", "--memory-limit", "64", "rb.lua", "--x")) == 0 &&
          c.cmd == IRH_CMD_RUN && strcmp(c.opt.out_dir, "d") == 0 && c.opt.memory_limit == 64u * 1024 * 1024 &&
          c.opt.nargs == 1, "host options before the runbook");
    irh_cli_free(&c);

    CHECK(parse(&c, err, sizeof err, ARGV("rb.lua", "--name", "x", "--", "--dry-run", "--region", "r")) == 0 &&
          !c.opt.dry_run && !c.opt.region && c.opt.nargs == 5 && strcmp(c.opt.args[2], "--dry-run") == 0,
          "-- ends host options; the rest goes to the runbook");
    irh_cli_free(&c);

    CHECK(parse(&c, err, sizeof err, ARGV("rb.lua", "--help")) == 0 && c.cmd == IRH_CMD_RUNBOOK_HELP, "RUNBOOK --help");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("check", "a.lua", "b.lua", "--quiet")) == 0 && c.cmd == IRH_CMD_CHECK &&
          c.task.nfiles == 2 && c.opt.quiet && !c.task.strict && strcmp(c.task.format, "text") == 0, "check FILE...");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("check", "--strict", "a.lua", "--format=sarif", "b.lua")) == 0 &&
          c.cmd == IRH_CMD_CHECK && c.task.nfiles == 2 && c.task.strict && strcmp(c.task.format, "sarif") == 0 &&
          strcmp(c.task.files[1], "b.lua") == 0, "check --strict --format=sarif, options among the files");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("check", "a.lua", "--", "--strict")) == 0 && c.task.nfiles == 2 &&
          !c.task.strict && strcmp(c.task.files[1], "--strict") == 0, "check: after --, --strict is a file name");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("policy", "rb.lua", "--resources", "--instance", "i-1", "--account",
                                          "111122223333", "--region", "eu-west-1")) == 0 &&
          c.cmd == IRH_CMD_POLICY && strcmp(c.opt.runbook_file, "rb.lua") == 0 && c.task.nfiles == 1 &&
          strcmp(c.task.files[0], "rb.lua") == 0 && c.task.resources && strcmp(c.task.account, "111122223333") == 0 &&
          strcmp(c.opt.region, "eu-west-1") == 0 && c.opt.nargs == 2 && strcmp(c.opt.args[0], "--instance") == 0,
          "policy RUNBOOK --resources --account ID with runbook params");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("test", "a_test.lua", "b_test.lua")) == 0 && c.cmd == IRH_CMD_TEST &&
          c.task.nfiles == 2, "test FILE...");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("new", "my-runbook")) == 0 && c.cmd == IRH_CMD_NEW &&
          strcmp(c.new_name, "my-runbook") == 0, "new NAME");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("--", "check")) == 0 && c.cmd == IRH_CMD_RUN &&
          strcmp(c.opt.runbook_file, "check") == 0, "after --, 'check' is a runbook file name");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("describe", "rb.lua")) == 0 && c.cmd == IRH_CMD_DESCRIBE &&
          strcmp(c.opt.runbook_file, "rb.lua") == 0 && c.opt.nargs == 0, "describe RUNBOOK");
    irh_cli_free(&c);
    /* check, policy and test only inspect: a looping main chunk gets 60 s, not a run's 900. */
    CHECK(parse(&c, err, sizeof err, ARGV("rb.lua")) == 0 && c.opt.timeout_s == 900, "a run: 900 s by default");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("check", "a.lua")) == 0 && c.opt.timeout_s == 60, "check: 60 s by default");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("policy", "rb.lua")) == 0 && c.opt.timeout_s == 60, "policy: 60 s by default");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("test", "a_test.lua")) == 0 && c.opt.timeout_s == 60, "test: 60 s by default");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("--timeout", "300", "check", "a.lua")) == 0 && c.opt.timeout_s == 300,
          "check --timeout before the command overrides the 60 s");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("test", "a_test.lua", "--timeout=5")) == 0 && c.opt.timeout_s == 5,
          "test --timeout=5 overrides the 60 s");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("version")) == 0 && c.cmd == IRH_CMD_VERSION, "version");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("--version")) == 0 && c.cmd == IRH_CMD_VERSION, "--version");
    irh_cli_free(&c);
    CHECK(parse(&c, err, sizeof err, ARGV("help")) == 0 && c.cmd == IRH_CMD_HELP, "help");
    irh_cli_free(&c);

    const struct { const char *why, *want; char **argv; } bad[] = {
        {"unknown option before the runbook", "unknown option --bogus", ARGV("--bogus", "rb.lua")},
        {"value missing", "--region needs a value", ARGV("rb.lua", "--region")},
        {"flag with a value", "--yes takes no value", ARGV("rb.lua", "--yes=1")},
        {"timeout not a number", "--timeout: 'x'", ARGV("rb.lua", "--timeout", "x")},
        {"timeout zero", "--timeout: '0'", ARGV("rb.lua", "--timeout", "0")},
        {"timeout NaN", "--timeout: 'nan'", ARGV("rb.lua", "--timeout", "nan")},
        {"memory too small", "--memory-limit: '8'", ARGV("rb.lua", "--memory-limit", "8")},
        {"memory negative", "--memory-limit: '-5'", ARGV("rb.lua", "--memory-limit", "-5")},
        {"calls negative", "--max-calls: '-1'", ARGV("rb.lua", "--max-calls", "-1")},
        {"instructions zero", "--max-instructions: '0'", ARGV("rb.lua", "--max-instructions", "0")},
        {"rate without =", "--rate: 'ec2'", ARGV("rb.lua", "--rate", "ec2")},
        {"rate with a bad unit", "--rate: 'ec2=5/m'", ARGV("rb.lua", "--rate", "ec2=5/m")},
        {"rate with a bad service", "--rate: 'EC2!=5'", ARGV("rb.lua", "--rate", "EC2!=5")},
        {"quiet and verbose", "contradict", ARGV("rb.lua", "--quiet", "--verbose")},
        {"check without files", "check needs", ARGV("check")},
        {"describe with two files", "describe takes one", ARGV("describe", "a.lua", "b.lua")},
        {"check with a bad format", "--format: 'xml'", ARGV("check", "--format", "xml", "a.lua")},
        {"check with an unknown option", "unknown option --bogus for check", ARGV("check", "--bogus", "a.lua")},
        {"check --strict with a value", "--strict takes no value", ARGV("check", "--strict=1", "a.lua")},
        {"test without files", "test needs", ARGV("test")},
        {"policy without a runbook", "policy takes a runbook", ARGV("policy")},
        {"policy with a bad account", "--account: '12'", ARGV("policy", "rb.lua", "--account", "12")},
        {"policy with a bad partition", "--partition: 'gov'", ARGV("policy", "rb.lua", "--partition", "gov")},
        {"new without a name", "new takes one", ARGV("new")},
        {"new with two names", "new takes one", ARGV("new", "a", "b")},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(&c, err, sizeof err, bad[i].argv);
        CHECK(rc == -1 && strstr(err, bad[i].want) && !strchr(err, '\n'), "%s: %s", bad[i].why, err);
        irh_cli_free(&c);
    }
    return unit_done();
}
