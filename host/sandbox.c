/* The runner's process sandbox (see host/sandbox.h). */
#include "sandbox.h"

#include <errno.h>
#include <math.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define IRH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IRH_ASAN 1
#endif
#endif

extern char **environ;

void irh_sandbox_scrub_env(void)
{
    for (char **e = environ; e && *e; e++) explicit_bzero(*e, strlen(*e));
    clearenv();
}

int irh_sandbox_fds(int sock, char *err, size_t errlen)
{
    if (sock != IRH_RUNNER_FD) {
        if (dup2(sock, IRH_RUNNER_FD) < 0) {
            snprintf(err, errlen, "dup2: %s", strerror(errno));
            return -1;
        }
        close(sock);
    }
    close(0);
    close(1);
    if (close_range(IRH_RUNNER_FD + 1, ~0U, 0) != 0) {
        snprintf(err, errlen, "close_range: %s", strerror(errno));
        return -1;
    }
    return 0;
}

#ifndef IRH_ASAN
/* Virtual size of this process now, from /proc/self/statm (0 if unknown). */
static size_t current_vsize(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long pages = 0;
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

static int set_limit(int res, rlim_t soft, rlim_t hard, const char *name, char *err, size_t errlen)
{
    struct rlimit rl = { soft, hard };
    if (setrlimit(res, &rl) != 0) {
        snprintf(err, errlen, "setrlimit(%s): %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

int irh_sandbox_rlimits(const struct irh_options *opt, char *err, size_t errlen)
{
#ifndef IRH_ASAN
    /* The Lua allocator enforces the memory limit; the address-space limit is the backstop
     * for C code (libraries, stacks), so it leaves room above the allocator's cap. */
    rlim_t as = (rlim_t)current_vsize() + (rlim_t)opt->memory_limit + (rlim_t)256 * 1024 * 1024;
    if (set_limit(RLIMIT_AS, as, as, "RLIMIT_AS", err, errlen)) return -1;
#endif
    /* The wall clock kills first; the CPU limit catches a runner the broker lost track of. */
    rlim_t cpu = (rlim_t)ceil(opt->timeout_s) + 5;
    if (set_limit(RLIMIT_CPU, cpu, cpu + 5, "RLIMIT_CPU", err, errlen)) return -1;
    if (set_limit(RLIMIT_NOFILE, IRH_RUNNER_FD + 1, IRH_RUNNER_FD + 1, "RLIMIT_NOFILE", err, errlen)) return -1;
    if (set_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE", err, errlen)) return -1;
    return 0;
}

/* What the runner needs: its socket, memory, time, signals for its own crash handling. */
static const char *const allowed[] = {
    "read", "write", "readv", "writev", "sendto", "recvfrom", "sendmsg", "recvmsg", "close",
    "fstat", "newfstatat", "lseek", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
    "futex", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "exit", "exit_group", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "getrandom", "getpid", "gettid", "tgkill", "sched_yield",
    "sched_getaffinity",
};

/* Never legitimate in the runner: the process is killed on the spot. */
static const char *const killed[] = {
    "execve", "execveat", "ptrace", "socket", "socketpair", "connect", "bind", "listen",
    "accept", "accept4", "kill", "tkill", "process_vm_readv", "process_vm_writev", "mount",
    "umount2", "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "personality", "userfaultfd", "io_uring_setup", "open_by_handle_at",
    "init_module", "finit_module", "kexec_load", "chroot", "pivot_root", "reboot", "swapon",
#ifndef IRH_ASAN
    /* ASan starts its symbolizer with clone/fork to report an error: EPERM keeps the report. */
    "fork", "vfork", "clone", "clone3",
#endif
};

static int add_rules(scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR) continue;   /* not on this architecture */
        int rc = seccomp_rule_add(ctx, action, nr, 0);
        if (rc != 0) {
            snprintf(err, errlen, "seccomp rule for %s: %s", names[i], strerror(-rc));
            return -1;
        }
    }
    return 0;
}

int irh_sandbox_seccomp(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) { snprintf(err, errlen, "seccomp_init failed"); return -1; }
    int rc = -1;
    if (add_rules(ctx, allowed, sizeof allowed / sizeof *allowed, SCMP_ACT_ALLOW, err, errlen)) goto out;
    if (add_rules(ctx, killed, sizeof killed / sizeof *killed, SCMP_ACT_KILL_PROCESS, err, errlen)) goto out;
    /* getrlimit() is prlimit64(0, res, NULL, old): reading is fine, changing is not. */
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0)) != 0) {
        snprintf(err, errlen, "seccomp rule for prlimit64 failed");
        goto out;
    }
    int lrc = seccomp_load(ctx);
    if (lrc != 0) { snprintf(err, errlen, "seccomp_load: %s", strerror(-lrc)); goto out; }
    rc = 0;
out:
    seccomp_release(ctx);
    return rc;
}

int irh_sandbox_enter(int sock, const struct irh_options *opt, char *err, size_t errlen)
{
    irh_sandbox_scrub_env();
    if (irh_sandbox_fds(sock, err, errlen)) return -1;
    tzset();
    if (irh_sandbox_rlimits(opt, err, errlen)) return -1;
    return irh_sandbox_seccomp(err, errlen);
}
