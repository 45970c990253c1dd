/* Progress lines on stderr (see host/progress.h). */
#include "progress.h"

#include <stdio.h>
#include <string.h>

#define GREEN "\033[32m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

void irh_progress_init(struct irh_progress *p, const struct irh_options *opt)
{
    p->quiet = opt->quiet;
    p->verbose = opt->verbose;
    p->color = opt->color;
}

static const char *c(const struct irh_progress *p, const char *code) { return p->color ? code : ""; }

/* Prints text with control characters (but newlines and tabs) replaced, so a runbook
 * cannot drive the terminal. */
static void put_clean(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '?' : ch, stderr);
    }
}

void irh_progress_step_start(const struct irh_progress *p, long index, const char *name)
{
    if (!p->verbose) return;
    fprintf(stderr, "%s  … %ld. ", c(p, DIM), index);
    put_clean(name);
    fprintf(stderr, "%s\n", c(p, RESET));
}

void irh_progress_step_end(const struct irh_progress *p, const char *name, const char *status,
                           long duration_ms, const char *error)
{
    int failed = strcmp(status, "failed") == 0;
    if (p->quiet && !failed) return;
    const char *mark, *col;
    if (strcmp(status, "done") == 0) { mark = "✓"; col = GREEN; }
    else if (failed) { mark = "✗"; col = RED; }
    else if (strcmp(status, "dry-run") == 0) { mark = "○"; col = YELLOW; }
    else { mark = "-"; col = YELLOW; }
    fprintf(stderr, "  %s%s%s ", c(p, col), mark, c(p, RESET));
    put_clean(name);
    if (strcmp(status, "done") != 0 && !failed) fprintf(stderr, " (%s)", status);
    fprintf(stderr, " %s%.1fs%s", c(p, DIM), (double)duration_ms / 1000.0, c(p, RESET));
    if (error && *error) {
        fputs(": ", stderr);
        put_clean(error);
    }
    fputc('\n', stderr);
}

void irh_progress_log(const struct irh_progress *p, const char *level, const char *text)
{
    int is_error = strcmp(level, "error") == 0, is_debug = strcmp(level, "debug") == 0;
    if (p->quiet && !is_error) return;
    if (is_debug && !p->verbose) return;
    const char *col = is_error ? RED : strcmp(level, "warn") == 0 ? YELLOW : is_debug ? DIM : "";
    fprintf(stderr, "    %s", c(p, col));
    if (strcmp(level, "info") != 0) fprintf(stderr, "%s: ", level);
    put_clean(text);
    fprintf(stderr, "%s\n", *col ? c(p, RESET) : "");
}

void irh_progress_summary(const struct irh_progress *p, int exit_code, double seconds, const char *run_dir)
{
    if (p->quiet && exit_code == 0) return;
    static const char *const what[] = {"succeeded", "a step failed", "usage or parameter error",
                                       "sandbox violation or limit exceeded",
                                       "credentials or configuration error", "refused at a prompt"};
    const char *w = exit_code >= 0 && exit_code <= 5 ? what[exit_code] : "interrupted";
    fprintf(stderr, "irhost: %s%s%s (exit %d) in %.1fs", c(p, exit_code ? RED : GREEN), w, c(p, RESET),
            exit_code, seconds);
    if (run_dir) fprintf(stderr, "; run directory: %s", run_dir);
    fputc('\n', stderr);
}
