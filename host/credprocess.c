/* credential_process (see credprocess.h). */
#include "credprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imds.h"
#include "json.h"

#define OUT_MAX (64u * 1024u)
#define TIMEOUT_MS (5 * 60 * 1000)

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Reads the child's stdout into buf (at most OUT_MAX). Returns bytes read, or -1 on timeout
 * or overflow (*why says which). */
static long read_all(int fd, char *buf, const char **why)
{
    size_t n = 0;
    long deadline = now_ms() + TIMEOUT_MS;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) { *why = "did not finish within 5 minutes"; return -1; }
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) { *why = "did not finish within 5 minutes"; return -1; }
        ssize_t r = read(fd, buf + n, OUT_MAX - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { *why = "could not be read"; return -1; }
        if (r == 0) return (long)n;
        n += (size_t)r;
        if (n == OUT_MAX) { *why = "wrote more than 64 KB"; return -1; }
    }
}

static int spawn(const char *cmd, pid_t *pid, int *fd, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) { snprintf(err, errlen, "cannot run credential_process: %s", strerror(errno)); return -1; }
    pid_t c = fork();
    if (c < 0) {
        snprintf(err, errlen, "cannot run credential_process: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (c == 0) {
        if (dup2(p[1], STDOUT_FILENO) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *pid = c;
    *fd = p[0];
    return 0;
}

/* Exit status of the child, or -1 if the broker's own SIGCHLD handling reaped it first. */
static int reap(pid_t pid, int kill_it)
{
    if (kill_it) kill(pid, SIGKILL);
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, 0);
        if (r == pid) break;
        if (r < 0 && errno == EINTR) continue;
        return -1;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int parse(const char *out, size_t n, const char *where, struct irh_creds *c, char *err, size_t errlen)
{
    char jerr[128];
    char *ver = irh_json_get(out, n, "Version", jerr, sizeof jerr);
    if (!ver && jerr[0]) {
        snprintf(err, errlen, "credential_process of %s did not print JSON (%s)", where, jerr);
        return -1;
    }
    /* cjson reads every number as a double: 1 comes back as "1.0" */
    char *end = NULL;
    int v1 = ver && strtod(ver, &end) == 1.0 && end && *end == '\0';
    if (!v1) {
        snprintf(err, errlen, "credential_process of %s printed Version %s; only Version 1 is supported", where,
                 ver ? (strlen(ver) < 16 ? ver : "(too long)") : "(missing)");
        free(ver);
        return -1;
    }
    free(ver);
    c->access_key_id = irh_json_get(out, n, "AccessKeyId", jerr, sizeof jerr);
    c->secret_access_key = irh_json_get(out, n, "SecretAccessKey", jerr, sizeof jerr);
    c->session_token = irh_json_get(out, n, "SessionToken", jerr, sizeof jerr);
    const char *missing = !c->access_key_id ? "AccessKeyId" : !c->secret_access_key ? "SecretAccessKey" : NULL;
    if (missing) {
        snprintf(err, errlen, "credential_process of %s printed no %s", where, missing);
        return -1;
    }
    char *exp = irh_json_get(out, n, "Expiration", jerr, sizeof jerr);
    if (exp && irh_iso8601_parse(exp, &c->expiration) < 0) {
        snprintf(err, errlen, "credential_process of %s printed an Expiration that is not an ISO-8601 time", where);
        free(exp);
        return -1;
    }
    free(exp);
    return 0;
}

int irh_credprocess_run(const char *cmd, const char *where, struct irh_creds *out, char *err, size_t errlen)
{
    irh_creds_clear(out);
    char *buf = malloc(OUT_MAX);
    if (!buf) { snprintf(err, errlen, "out of memory"); return -1; }
    pid_t pid;
    int fd, rc = -1;
    if (spawn(cmd, &pid, &fd, err, errlen) < 0) { free(buf); return -1; }
    const char *why = NULL;
    long n = read_all(fd, buf, &why);
    close(fd);
    int status = reap(pid, n < 0);
    if (n < 0) snprintf(err, errlen, "credential_process of %s %s", where, why);
    else if (status > 0)
        snprintf(err, errlen, "credential_process of %s exited with status %d%s", where, status,
                 status == 127 ? " (command not found?)" : "");
    else if (parse(buf, (size_t)n, where, out, err, errlen) == 0) rc = 0;
    if (rc < 0) irh_creds_clear(out);
    explicit_bzero(buf, OUT_MAX);
    free(buf);
    return rc;
}
