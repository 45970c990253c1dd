/* irhost: subcommand dispatch (see docs/cli.md). */
#include <signal.h>
#include <stdio.h>
#include <curl/curl.h>
#include <lua.h>
#include <openssl/crypto.h>
#include "broker.h"
#include "cli.h"
#include "scaffold.h"

static void version(void)
{
    /* curl_version_info, not curl_version: the latter also asks every TLS, IDN and
     * compression library for its version, work this start-up-time command can skip. */
    printf("irhost %s (%s, lua-cjson 2.1.0, libcurl %s, %s)\n", IRH_VERSION, LUA_RELEASE,
           curl_version_info(CURLVERSION_NOW)->version, OpenSSL_version(OPENSSL_VERSION));
}

int main(int argc, char **argv)
{
    /* A dead peer (runner socket, closed pipe) must be an error code, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    struct irh_cli cli;
    char err[1024];
    if (irh_cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
        fprintf(stderr, "irhost: %s\n", err);
        irh_cli_free(&cli);
        return 2;
    }
    int rc = 0;
    switch (cli.cmd) {
    case IRH_CMD_HELP: irh_cli_usage(stdout); break;
    case IRH_CMD_VERSION: version(); break;
    case IRH_CMD_RUN: rc = irh_broker_run(&cli.opt, "run", NULL); break;
    case IRH_CMD_RUNBOOK_HELP: rc = irh_broker_run(&cli.opt, "help", NULL); break;
    case IRH_CMD_DESCRIBE: rc = irh_broker_run(&cli.opt, "describe", NULL); break;
    case IRH_CMD_CHECK: rc = irh_broker_run(&cli.opt, "check", &cli.task); break;
    case IRH_CMD_POLICY: rc = irh_broker_run(&cli.opt, "policy", &cli.task); break;
    case IRH_CMD_TEST: rc = irh_broker_run(&cli.opt, "test", &cli.task); break;
    case IRH_CMD_NEW:
        rc = irh_scaffold_new(cli.new_name, stderr, err, sizeof err);
        if (rc) fprintf(stderr, "%s\n", err);
        break;
    }
    irh_cli_free(&cli);
    return rc;
}
