/* host/sandbox.c: the seccomp filter and rlimits, each applied in a forked child. */
#include "unit.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum probe { P_WRITE, P_OPEN, P_SOCKET, P_EXECVE, P_PTRACE_LIKE_KILL, P_SETRLIMIT };

/* Runs probe in a child under the filter; returns its wait status. */
static int in_child(enum probe p)
{
    int pfd[2];
    if (pipe(pfd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char err[200];
        close(pfd[0]);
        if (irh_sandbox_seccomp(err, sizeof err) != 0) _exit(90);
        switch (p) {
        case P_WRITE: _exit(write(pfd[1], "x", 1) == 1 ? 0 : 91);
        case P_OPEN: _exit(open("/etc/hostname", O_RDONLY) < 0 && errno == EPERM ? 0 : 92);
        case P_SOCKET: socket(AF_INET, SOCK_STREAM, 0); _exit(93);
        case P_EXECVE: { char *argv[] = {"/bin/true", NULL}; execve("/bin/true", argv, NULL); _exit(94); }
        case P_PTRACE_LIKE_KILL: kill(getppid(), 0); _exit(95);
        case P_SETRLIMIT: {
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(96);         /* reading is allowed */
            _exit(setrlimit(RLIMIT_NOFILE, &rl) != 0 && errno == EPERM ? 0 : 97);
        }
        }
        _exit(99);
    }
    close(pfd[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    close(pfd[0]);
    return st;
}

static int exited0(int st) { return WIFEXITED(st) && WEXITSTATUS(st) == 0; }
static int sigsys(int st) { return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS; }

int main(void)
{
    CHECK(exited0(in_child(P_WRITE)), "write to an open descriptor is allowed");
    CHECK(exited0(in_child(P_OPEN)), "open is refused with EPERM");
    CHECK(exited0(in_child(P_SETRLIMIT)), "getrlimit works, setrlimit is refused");
    CHECK(sigsys(in_child(P_SOCKET)), "socket kills the process (SIGSYS)");
    CHECK(sigsys(in_child(P_EXECVE)), "execve kills the process (SIGSYS)");
    CHECK(sigsys(in_child(P_PTRACE_LIKE_KILL)), "kill() of another process kills the caller (SIGSYS)");

    /* Environment wipe: the strings themselves are zeroed, not only unlinked. */
    setenv("IRHOST_UNIT_SECRET", "wipe-me-please", 1);
    char *val = getenv("IRHOST_UNIT_SECRET");
    size_t n = strlen(val);
    pid_t pid = fork();
    if (pid == 0) {
        irh_sandbox_scrub_env();
        int zero = 1;
        for (size_t i = 0; i < n; i++) if (val[i]) zero = 0;
        _exit(zero && getenv("IRHOST_UNIT_SECRET") == NULL && getenv("PATH") == NULL ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(exited0(st), "scrub_env zeroes every environment string and clears the environment");

    /* Descriptors: only 2 and the socket (moved to 3) stay open. */
    int extra = fcntl(open("/dev/null", O_RDONLY), F_DUPFD, 20);   /* clear of 3, where the socket goes */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid = fork();
    if (pid == 0) {
        char err[200];
        if (irh_sandbox_fds(sv[1], err, sizeof err) != 0) _exit(1);
        int ok = fcntl(IRH_RUNNER_FD, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0 && fcntl(0, F_GETFD) < 0 &&
                 fcntl(1, F_GETFD) < 0 && fcntl(extra, F_GETFD) < 0 && fcntl(sv[0], F_GETFD) < 0;
        _exit(ok && write(IRH_RUNNER_FD, "y", 1) == 1 ? 0 : 2);
    }
    waitpid(pid, &st, 0);
    char c = 0;
    CHECK(exited0(st) && read(sv[0], &c, 1) == 1 && c == 'y', "fds: socket moved to 3, everything else but 2 closed");
    close(extra);
    close(sv[0]);
    close(sv[1]);
    return unit_done();
}
