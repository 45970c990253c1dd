/* The broker event loop (see host/broker.h and docs/internals.md). */
#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "awscall.h"
#include "cli.h"
#include "endpoints.h"
#include "ipc.h"
#include "modpath.h"
#include "progress.h"
#include "rundir.h"
#include "runner.h"

#define RUNBOOK_MAX (4u * 1024u * 1024u)
#define EXIT_INTERRUPTED 130

struct broker {
    const struct irh_options *opt;
    const char *mode;
    const struct irh_task *task;  /* check, policy, test; NULL otherwise */
    int run;                      /* mode == run */
    pid_t pid;
    int fd;
    struct irh_awscall *aws;
    struct irh_rundir *rd;
    struct irh_progress prog;
    double deadline;
    int got_done, done_exit;
    char *done_msg;
    const char *status;           /* runner status for the report */
    char reason[1024];
    int forced_exit;              /* -1, or the exit code a violation/limit/fatal error decided */
    int grace;                    /* a fatal AWS error: the runner gets a short time to finish */
    int resume_refused;           /* --resume of another run's params: the run directory is left alone */
};

/* The signal that asked the broker to stop (SIGINT, SIGTERM or SIGHUP), or 0. */
static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) { interrupted = sig; }

static const char *interrupt_reason(int sig)
{
    if (sig == SIGINT) return "interrupted by the user (Ctrl-C)";
    if (sig == SIGHUP) return "interrupted: the terminal went away (SIGHUP)";
    return "interrupted: irhost received SIGTERM (a timeout, a cancelled job or kill)";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ends the runner now and records why (the first reason wins). */
static void stop_runner(struct broker *b, const char *status, int exit_code, const char *reason)
{
    if (b->pid > 0) kill(b->pid, SIGKILL);
    if (b->forced_exit < 0) {
        b->forced_exit = exit_code;
        b->status = status;
        snprintf(b->reason, sizeof b->reason, "%.1000s", reason);
    }
}

static void reply(struct broker *b, uint8_t type, uint32_t id, struct irh_kv *kv)
{
    if (kv && irh_ipc_send(b->fd, type, id, kv) != 0) {
        /* A dead runner is reaped by the loop; one that stopped reading (the send timed
         * out at the wall-clock limit) cannot be talked to any more. */
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            stop_runner(b, "limit", 3, "the runner stopped reading the broker's replies until the wall-clock limit (raise it with --timeout SECONDS)");
        else if (errno != EPIPE && errno != ECONNRESET)
            stop_runner(b, "violation", 3, "cannot answer the runner");
    }
    irh_kv_free(kv);
}

static struct irh_kv *error_kv(const char *code, const char *msg)
{
    struct irh_kv *kv = irh_kv_new();
    if (kv) { irh_kv_adds(kv, "error", code); irh_kv_adds(kv, "message", msg); }
    return kv;
}

/* ---------------------------------------------------------------- handlers */

static struct irh_kv *on_declare(struct broker *b, const struct irh_kv *req)
{
    size_t len;
    const char *json = irh_kv_get(req, "json", &len);
    char err[512];
    if (!json) return error_kv("invalid", "DECLARE without json");
    if (b->aws && irh_awscall_declare(b->aws, json, len, err, sizeof err) != 0) return error_kv("invalid", err);
    struct irh_kv *kv = irh_kv_new();
    if (!kv) return NULL;
    irh_kv_adds(kv, "ok", "1");
    /* The runner cannot read the environment or config files: tell it the run's region
     * for its report, from what is set locally only (an unknown region is no error here;
     * the first AWS call resolves it fully, IMDS included). */
    char region[64];
    if (irh_region_resolve_local(b->opt->region, b->opt->profile, region, sizeof region, err, sizeof err) == 0)
        irh_kv_adds(kv, "region", region);
    return kv;
}

static struct irh_kv *on_evidence(struct broker *b, const struct irh_kv *req)
{
    size_t len, nlen = 0;
    const char *name = irh_kv_get(req, "name", &nlen);
    const char *content = irh_kv_get(req, "content", &len);
    if (!name || !content) return error_kv("invalid", "EVIDENCE needs name and content");
    if (strlen(name) != nlen)
        return error_kv("evidence name refused: it holds a NUL byte", "evidence name refused: it holds a NUL byte (use letters, digits, . _ - and /)");
    if (!b->rd) return error_kv("invalid", "evidence is kept only when a runbook runs");
    char sha[65], rel[512], err[512];
    errno = 0;
    /* "exists" apart from other refusals: a resumed run saves its copy under another name. */
    if (irh_rundir_evidence(b->rd, name, content, len, sha, rel, sizeof rel, err, sizeof err) != 0)
        return error_kv(errno == EEXIST ? "exists" : err, err);   /* the reason reaches the Lua error */
    struct irh_kv *kv = irh_kv_new();
    if (kv) {
        irh_kv_adds(kv, "sha256", sha);
        irh_kv_adds(kv, "path", rel);
        irh_kv_addf(kv, "size", "%zu", len);
    }
    return kv;
}

static struct irh_kv *on_confirm(struct broker *b, const struct irh_kv *req)
{
    const char *prompt = irh_kv_get(req, "prompt", NULL);
    const char *answer = "notty";
    if (b->opt->yes) answer = "yes";
    else if (b->opt->interactive) {
        FILE *tty = fopen("/dev/tty", "r+");
        if (tty) {
            double t0 = now_s();
            if (prompt) irh_progress_put_text(tty, prompt, strlen(prompt), "  ");
            else fputs("Continue?", tty);
            fputs(" [y/N] ", tty);
            fflush(tty);
            char line[64] = "";
            if (!fgets(line, sizeof line, tty)) line[0] = '\0';
            line[strcspn(line, "\r\n")] = '\0';
            answer = (strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0) ? "yes" : "no";
            fclose(tty);
            b->deadline += now_s() - t0;   /* a human thinking is not the runbook's time */
        }
    }
    struct irh_kv *kv = irh_kv_new();
    if (kv) irh_kv_adds(kv, "answer", answer);
    return kv;
}

/* Whether path is exactly a runbook or file the user named on the command line. */
static int named_file(const struct broker *b, const char *path)
{
    if (b->opt->runbook_file && strcmp(path, b->opt->runbook_file) == 0) return 1;
    for (int i = 0; b->task && i < b->task->nfiles; i++)
        if (strcmp(path, b->task->files[i]) == 0) return 1;
    return 0;
}

static struct irh_kv *on_require(struct broker *b, const struct irh_kv *req)
{
    const char *name = irh_kv_get(req, "name", NULL), *from = irh_kv_get(req, "from", NULL);
    const char *base = b->opt->runbook_file;
    char chunk[4200], err[1024], libdir[4096];
    size_t len;
    if (!name) return error_kv("invalid", "REQUIRE without name");
    /* Several files in one run (check): modules resolve next to the file that asks, which
     * must be one the user named; the broker never takes a folder from the runner. */
    if (from && *from) {
        if (!named_file(b, from)) {
            snprintf(err, sizeof err, "refused: '%s' is not a file named on the command line", from);
            return error_kv("refused", err);
        }
        base = from;
        /* A module in a lib/ folder is loaded for the runbooks beside that folder, so
         * its own requires resolve from there: "runbooks/lib/x.lua" -> "runbooks/lib",
         * whose folder is "runbooks". */
        const char *slash = strrchr(from, '/');
        if (slash && slash - from >= 3 && memcmp(slash - 3, "lib", 3) == 0 && (slash - from == 3 || slash[-4] == '/')) {
            snprintf(libdir, sizeof libdir, "%.*s", (int)(slash - from), from);
            base = libdir;
        }
    }
    if (!base) return error_kv("invalid", "REQUIRE without from");
    char *src = irh_modpath_load(base, name, &len, chunk, sizeof chunk, err, sizeof err);
    if (!src) {
        struct irh_kv *kv = irh_kv_new();
        if (kv) irh_kv_adds(kv, "error", err);
        return kv;
    }
    struct irh_kv *kv = irh_kv_new();
    if (kv) { irh_kv_add(kv, "source", src, len); irh_kv_adds(kv, "chunkname", chunk); }
    free(src);
    return kv;
}

static struct irh_kv *on_read_file(struct broker *b, const struct irh_kv *req)
{
    size_t len;
    const char *path = irh_kv_get(req, "path", &len);
    char err[1024];
    if (!path || strlen(path) != len) return error_kv("invalid", "READ_FILE without a path (or with a NUL byte in it)");
    /* irhost test reads the runbooks its test files exercise; a run, the files named
     * as param values. */
    char *data = strcmp(b->mode, "test") == 0 && b->task
        ? irh_modpath_read_test_file(path, b->task->files, b->task->nfiles, &len, err, sizeof err)
        : irh_modpath_read_arg_file(path, b->opt->args, b->opt->nargs, &len, err, sizeof err);
    if (!data) return error_kv("refused", err);
    struct irh_kv *kv = irh_kv_new();
    if (kv) irh_kv_add(kv, "content", data, len);
    free(data);
    return kv;
}

static void on_log(struct broker *b, const struct irh_kv *req)
{
    const char *level = irh_kv_get(req, "level", NULL), *text = irh_kv_get(req, "text", NULL);
    if (!level || (strcmp(level, "debug") && strcmp(level, "info") && strcmp(level, "warn") && strcmp(level, "error")))
        level = "info";
    if (!text) return;
    if (b->rd) irh_rundir_log(b->rd, level, text);
    irh_progress_log(&b->prog, level, text);
}

/* "unknown option --dryrun" from the runbook's param parser: when the flag is a typo of a
 * host option, say so (runbook params can never be named like host options). */
static char *suggest_host_option(const char *msg)
{
    const char *p = strstr(msg, "unknown option --");
    if (!p) return NULL;
    p += strlen("unknown option ");
    size_t fl = strcspn(p, " \n");
    if (strncmp(p + fl, " (did you mean", 14) == 0 || fl > 60) return NULL;
    char flag[64];
    snprintf(flag, sizeof flag, "%.*s", (int)fl, p);
    const char *s = irh_cli_suggest(flag);
    char *out = NULL;
    if (s && asprintf(&out, "%.*s (did you mean --%s? an irhost option)%s", (int)(p + fl - msg), msg, s, p + fl) < 0)
        out = NULL;
    return out;
}

static void on_output(struct broker *b, const struct irh_kv *req)
{
    size_t len;
    const char *stream = irh_kv_get(req, "stream", NULL), *text = irh_kv_get(req, "text", &len);
    if (!text) return;
    /* In a run with --json, stdout holds the report and nothing else. */
    FILE *f = (stream && strcmp(stream, "stdout") == 0 && !(b->run && b->opt->json)) ? stdout : stderr;
    /* The broker already stopped the run for a configuration, credentials or cap problem
     * and prints that reason itself: the framework's restatement of it would say it twice. */
    if (f == stderr && b->grace && len > 8 && strncmp(text, "irhost: ", 8) == 0) return;
    /* The framework's usage error for an unknown flag: a typo of a host option says so. */
    char *hinted = f == stderr && strlen(text) == len && strncmp(text, "irhost: unknown option --", 25) == 0
        ? suggest_host_option(text) : NULL;
    if (hinted) { text = hinted; len = strlen(hinted); }
    irh_progress_put_text(f, text, len, "");   /* keeps newlines, escapes terminal controls */
    free(hinted);
    fflush(f);
}

static void on_event(struct broker *b, const struct irh_kv *req)
{
    size_t len;
    const char *json = irh_kv_get(req, "json", &len);
    if (!json || !b->rd) return;
    struct irh_event_info ev;
    char err[1024];
    /* Only a run_start can hold it; the check itself decodes and looks at the type. */
    if (memmem(json, len, "\"run_start\"", 11) &&
        irh_rundir_resume_check(b->rd, json, len, err, sizeof err) != 0) {
        b->resume_refused = 1;
        stop_runner(b, "refused", 2, err);
        return;
    }
    if (irh_rundir_event(b->rd, json, len, &ev, err, sizeof err) != 0) {
        if (ev.bad_name) {
            char msg[1100];
            snprintf(msg, sizeof msg, "protocol violation: %s", err);
            stop_runner(b, "violation", 3, msg);
            return;
        }
        irh_progress_log(&b->prog, "warn", err);
        return;
    }
    if (strcmp(ev.type, "step_start") == 0) irh_progress_step_start(&b->prog, ev.index, ev.name);
    else if (strcmp(ev.type, "step_end") == 0)
        irh_progress_step_end(&b->prog, ev.name, ev.status[0] ? ev.status : "done", ev.duration_ms, ev.error);
}

/* The runner's last message on stderr: terminal controls escaped, and every line after the
 * first indented, so it cannot forge a line of irhost's own. */
static void print_done_message(const char *msg)
{
    fputs("irhost: ", stderr);
    for (const char *line = msg; ; ) {
        size_t n = strcspn(line, "\n");
        if (line != msg && *line != ' ') fputs("  ", stderr);
        irh_progress_put_text(stderr, line, n, NULL);
        fputc('\n', stderr);
        if (!line[n]) break;
        line += n + 1;
    }
}

static void on_done(struct broker *b, const struct irh_kv *req)
{
    const char *e = irh_kv_get(req, "exit", NULL), *m = irh_kv_get(req, "message", NULL);
    char *end;
    long code = e ? strtol(e, &end, 10) : -1;
    if (!e || *end || code < 0 || code > 125) {
        stop_runner(b, "violation", 3, "protocol violation: DONE without a valid exit code");
        return;
    }
    b->got_done = 1;
    b->done_exit = (int)code;
    free(b->done_msg);
    b->done_msg = m && *m ? strdup(m) : NULL;

}

static void dispatch(struct broker *b, uint8_t type, uint32_t id, struct irh_kv *req)
{
    char msg[160];
    if (b->got_done) {
        stop_runner(b, "violation", 3, "protocol violation: a message after DONE");
        return;
    }
    switch (type) {
    case IRH_MSG_DECLARE: reply(b, IRH_MSG_REPLY, id, on_declare(b, req)); break;
    case IRH_MSG_CALL:
        if (b->aws) {
            if (irh_awscall_submit(b->aws, id, req) != 0)
                reply(b, IRH_MSG_CALL_RESULT, id, error_kv("transport", "cannot queue the call (out of memory)"));
        } else {
            snprintf(msg, sizeof msg, "AWS calls are not made in %s mode", b->mode);
            reply(b, IRH_MSG_CALL_RESULT, id, error_kv("denied", msg));
        }
        break;
    case IRH_MSG_SIGN: case IRH_MSG_PRESIGN: case IRH_MSG_SECRET_GEN: case IRH_MSG_ASSUME_ROLE: case IRH_MSG_HANDOFF:
        if (b->aws) reply(b, IRH_MSG_REPLY, id, irh_awscall_request(b->aws, type, req));
        else {
            snprintf(msg, sizeof msg, "AWS requests are not made in %s mode", b->mode);
            reply(b, IRH_MSG_REPLY, id, error_kv("denied", msg));
        }
        break;
    case IRH_MSG_EVIDENCE: reply(b, IRH_MSG_REPLY, id, on_evidence(b, req)); break;
    case IRH_MSG_CONFIRM: reply(b, IRH_MSG_REPLY, id, on_confirm(b, req)); break;
    case IRH_MSG_REQUIRE: reply(b, IRH_MSG_REPLY, id, on_require(b, req)); break;
    case IRH_MSG_READ_FILE: reply(b, IRH_MSG_REPLY, id, on_read_file(b, req)); break;
    case IRH_MSG_LOG: on_log(b, req); break;
    case IRH_MSG_OUTPUT: on_output(b, req); break;
    case IRH_MSG_EVENT: on_event(b, req); break;
    case IRH_MSG_DONE: on_done(b, req); break;
    default:
        snprintf(msg, sizeof msg, "protocol violation: unknown message type %u from the runner", type);
        stop_runner(b, "violation", 3, msg);
    }
}

/* ---------------------------------------------------------------- the loop */

static void send_results(struct broker *b)
{
    uint32_t id;
    struct irh_kv *res;
    while (b->aws && (res = irh_awscall_take(b->aws, &id))) reply(b, IRH_MSG_CALL_RESULT, id, res);
}

/* Waits until the socket is readable or timeout_ms passes; drives AWS transfers meanwhile. */
static int wait_readable(struct broker *b, int timeout_ms)
{
    if (b->aws) {
        int ready = 0;
        if (irh_awscall_wait(b->aws, b->fd, timeout_ms, &ready) != 0) return -1;
        return ready;
    }
    struct pollfd p = { b->fd, POLLIN, 0 };
    int n = poll(&p, 1, timeout_ms);
    return n > 0 ? 1 : 0;
}

static void loop(struct broker *b)
{
    char err[256], msg[512];
    for (;;) {
        if (interrupted) { stop_runner(b, "interrupted", EXIT_INTERRUPTED, interrupt_reason(interrupted)); return; }
        double left = b->deadline - now_s();
        if (left <= 0 && b->grace) { kill(b->pid, SIGKILL); return; }
        if (left <= 0) {
            snprintf(msg, sizeof msg, "wall-clock limit of %g s exceeded (raise it with --timeout SECONDS)", b->opt->timeout_s);
            stop_runner(b, "limit", 3, msg);
            return;
        }
        int ms = left > 0.5 ? 500 : (int)(left * 1000) + 1;
        int ready = wait_readable(b, ms);
        send_results(b);
        if (b->aws) {
            int fatal = irh_awscall_fatal(b->aws, msg, sizeof msg);
            if (fatal && b->forced_exit < 0) {
                /* The runner has the refusal in its CALL_RESULT: give it a moment to end
                 * its step cleanly, then stop it. */
                b->forced_exit = fatal == 4 ? 4 : 3;
                b->status = fatal == 4 ? "stopped" : "limit";
                snprintf(b->reason, sizeof b->reason, "%.1000s", msg);
                if (b->deadline > now_s() + 2.0) b->deadline = now_s() + 2.0;
                b->grace = 1;
            }
        }
        if (ready < 0) { stop_runner(b, "violation", 3, "internal error in the AWS call pipeline"); return; }
        if (!ready) continue;
        uint8_t type;
        uint32_t id;
        struct irh_kv *req;
        int rc = irh_ipc_recv(b->fd, &type, &id, &req, err, sizeof err);
        if (rc == 0) return;   /* the runner is gone (or done) */
        if (rc < 0) {
            snprintf(msg, sizeof msg, "protocol violation: %s", err);
            stop_runner(b, "violation", 3, msg);
            return;
        }
        dispatch(b, type, id, req);
        irh_kv_free(req);
        if (b->forced_exit >= 0 && !b->grace) return;
    }
}

static const char *signal_reason(int sig, char *buf, size_t len)
{
    switch (sig) {
    case SIGSYS: return "sandbox violation: the runner made a forbidden system call (killed by seccomp)";
    case SIGXCPU: return "CPU time limit exceeded (raise it with --timeout SECONDS)";
    default:
        snprintf(buf, len, "the runner crashed (%s)", strsignal(sig));
        return buf;
    }
}

/* Reaps the runner and decides what its ending means. */
static void reap(struct broker *b)
{
    int st = 0;
    double give_up = now_s() + 2.0;
    for (;;) {
        pid_t r = waitpid(b->pid, &st, WNOHANG);
        if (r == b->pid) break;
        if (r < 0 && errno != EINTR) { st = 0; break; }
        if (now_s() > give_up) { kill(b->pid, SIGKILL); give_up = now_s() + 10; }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    b->pid = -1;
    /* A signal to the whole process group (timeout(1), a cancelled CI job) may kill the
     * runner before the broker's loop sees its own: the run was interrupted, not crashed. */
    if (interrupted && !b->got_done && (b->forced_exit < 0 || strcmp(b->status, "crashed") == 0)) {
        b->forced_exit = -1;
        stop_runner(b, "interrupted", EXIT_INTERRUPTED, interrupt_reason(interrupted));
        return;
    }
    if (b->forced_exit >= 0) return;
    char buf[256];
    if (WIFSIGNALED(st) && !b->got_done) {
        int sig = WTERMSIG(st);
        stop_runner(b, sig == SIGSYS ? "violation" : sig == SIGXCPU ? "limit" : "crashed", 3, signal_reason(sig, buf, sizeof buf));
    } else if (!b->got_done) {
        snprintf(buf, sizeof buf, "the runner ended without finishing (exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        stop_runner(b, "crashed", 3, buf);
    }
}

/* ---------------------------------------------------------------- set-up */

/* Reads the runbook (or test file: what names it in messages) the user named. */
static char *read_runbook(const char *path, const char *what, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);   /* a FIFO must not block */
    struct stat st;
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s %s: %s (check the path)", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s is not a regular file", what, path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > RUNBOOK_MAX) {
        snprintf(err, errlen, "%s %s is larger than %u MB", what, path, RUNBOOK_MAX >> 20);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) { snprintf(err, errlen, "out of memory"); return NULL; }
    buf[n] = '\0';
    if (n > 0 && (unsigned char)buf[0] == 0x1b) {
        snprintf(err, errlen, "%s is compiled Lua bytecode; irhost runs Lua source text only", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void finish_run(struct broker *b, int code, double t0)
{
    char err[512];
    char *report = NULL;
    struct irh_awscall_stats stats = {0};
    if (b->aws) irh_awscall_stats(b->aws, &stats);
    if (irh_rundir_finish(b->rd, code, b->status, b->reason, &stats, b->opt->json ? &report : NULL,
                          err, sizeof err) != 0)
        fprintf(stderr, "irhost: %s\n", err);
    if (report) {
        fputs(report, stdout);
        fflush(stdout);
        free(report);
    }
    /* A usage error is one line (plus its hint): no summary after it, and no directory of
     * its own left in ./irhost-runs (--json already printed the report). */
    if (code == 2) irh_rundir_discard_unused(b->rd);
    else irh_progress_summary(&b->prog, code, now_s() - t0, irh_rundir_path(b->rd));
}

/* Reads every file of the task (NULL with a message on the first that cannot be read). */
static struct irh_source *read_task_files(const struct irh_task *task, const char *mode, char *err, size_t errlen)
{
    struct irh_source *files = calloc((size_t)task->nfiles, sizeof *files);
    if (!files) { snprintf(err, errlen, "out of memory"); return NULL; }
    const char *what = strcmp(mode, "test") == 0 ? "test file" : "runbook";
    for (int i = 0; i < task->nfiles; i++) {
        files[i].path = task->files[i];
        files[i].text = read_runbook(task->files[i], what, &files[i].len, err, errlen);
        if (!files[i].text) {
            for (int j = 0; j < i; j++) free(files[j].text);
            free(files);
            return NULL;
        }
    }
    return files;
}

int irh_broker_run(const struct irh_options *opt, const char *mode, const struct irh_task *task)
{
    struct broker b = { .opt = opt, .mode = mode, .task = task, .run = strcmp(mode, "run") == 0, .pid = -1,
                        .fd = -1, .status = "ok", .forced_exit = -1 };
    char err[1024];
    double t0 = now_s();
    irh_progress_init(&b.prog, opt);
    size_t srclen = 0;
    char *src = NULL, *chunkname = NULL;
    struct irh_source *files = NULL;
    if (task) files = read_task_files(task, mode, err, sizeof err);
    else src = read_runbook(opt->runbook_file, "runbook", &srclen, err, sizeof err);
    if (!src && !files) { fprintf(stderr, "irhost: %s\n", err); return 2; }
    int code = 2;
    if (!task && asprintf(&chunkname, "@%s", opt->runbook_file) < 0) { chunkname = NULL; goto out; }
    if (b.run && !(b.rd = irh_rundir_open(opt, err, sizeof err))) {
        fprintf(stderr, "irhost: %s\n", err);
        goto out;
    }
    /* --resume DIR with no runbook params: the run continues with the params it had. */
    struct irh_options ropt = *opt;
    if (b.rd && opt->resume_dir && opt->nargs == 0) {
        ropt.args = irh_rundir_resume_args(b.rd, &ropt.nargs);
        if (!ropt.args) { ropt.args = opt->args; ropt.nargs = 0; }
        if (ropt.nargs && !opt->quiet && !opt->json) {
            fputs("irhost: resuming with the run's params:", stderr);
            for (int i = 0; i < ropt.nargs; i++) {
                fputc(' ', stderr);
                irh_progress_put_text(stderr, ropt.args[i], strlen(ropt.args[i]), NULL);
            }
            fputc('\n', stderr);
        }
    }
    b.opt = &ropt;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "irhost: socketpair: %s\n", strerror(errno));
        code = 3;
        goto out;
    }
    /* Big buffers so results and requests rarely wait for each other; a send blocked
     * anyway gives up at the wall-clock limit (a runner that stops reading must not
     * hang the broker past it). */
    int bufsize = 4 * 1024 * 1024;
    struct timeval tv = { (time_t)opt->timeout_s + 1, 0 };
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    }
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    fflush(NULL);
    /* Fork before any credential exists in this process: the runner never had one. */
    b.pid = fork();
    if (b.pid < 0) {
        fprintf(stderr, "irhost: fork: %s\n", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        code = 3;
        goto out;
    }
    if (b.pid == 0) {
        close(sv[0]);
        struct irh_runner_args a = {
            .opt = &ropt, .mode = mode, .source = src, .srclen = srclen, .chunkname = chunkname,
            .run_id = b.rd ? irh_rundir_id(b.rd) : NULL, .run_dir = b.rd ? irh_rundir_path(b.rd) : NULL,
            .resume_json = b.rd ? irh_rundir_resume_json(b.rd) : NULL,
            .task = task, .files = files, .nfiles = task ? (size_t)task->nfiles : 0,
        };
        _exit(irh_runner_main(sv[1], &a));
    }
    close(sv[1]);
    b.fd = sv[0];
    /* The broker will hold secrets: no core dumps, no ptrace by other processes of the user. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct sigaction sa = {0}, old_int, old_term, old_hup;
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    b.deadline = now_s() + opt->timeout_s;
    if (b.run && !(b.aws = irh_awscall_new(opt, irh_rundir_audit_path(b.rd), err, sizeof err))) {
        char msg[1200];
        snprintf(msg, sizeof msg, "cannot set up AWS calls: %s", err);
        stop_runner(&b, "stopped", 4, msg);
    } else {
        loop(&b);
    }
    reap(&b);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    code = b.forced_exit >= 0 ? b.forced_exit : b.done_exit;
    if (b.forced_exit >= 0) fprintf(stderr, "irhost: %s\n", b.reason);
    else if (b.done_msg) print_done_message(b.done_msg);
    if (b.forced_exit < 0 && b.done_exit == 3) b.status = "limit";   /* the runner's own limits */
    if (b.done_msg && b.forced_exit < 0 && b.run) snprintf(b.reason, sizeof b.reason, "%.1000s", b.done_msg);
    if (b.run && !b.resume_refused) finish_run(&b, code, t0);
out:
    if (b.fd >= 0) close(b.fd);
    irh_awscall_free(b.aws);
    irh_rundir_free(b.rd);
    free(b.done_msg);
    free(chunkname);
    if (src) { explicit_bzero(src, srclen); free(src); }
    for (int i = 0; files && i < task->nfiles; i++) free(files[i].text);
    free(files);
    return code;
}
