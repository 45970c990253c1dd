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

void irh_progress_put_text(FILE *f, const char *text, size_t len, const char *indent)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' && indent) { fputc('\n', f); fputs(indent, f); }
        else if (ch == '\n') fputs("\\n", f);
        else if (ch == '\t') fputc('\t', f);
        else if (ch == 0x1b) fputs("\\e", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
        /* U+0080..U+009F in UTF-8: the 8-bit forms of ESC sequences (CSI is U+009B). */
        else if (ch == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 && (unsigned char)text[i + 1] <= 0x9f)
            fprintf(f, "\\u%04x", (unsigned char)text[++i]);
        else fputc(ch, f);
    }
}

/* Runner text on stderr; a continuation line is indented deeper than the line it belongs to. */
static void put_clean(const char *s, const char *indent)
{
    irh_progress_put_text(stderr, s, strlen(s), indent);
}

void irh_progress_step_start(const struct irh_progress *p, long index, const char *name)
{
    if (!p->verbose) return;
    fprintf(stderr, "%s  … %ld. ", c(p, DIM), index);
    put_clean(name, NULL);
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
    put_clean(name, NULL);
    if (strcmp(status, "done") != 0 && !failed) fprintf(stderr, " (%s)", status);
    fprintf(stderr, " %s%.1fs%s", c(p, DIM), (double)duration_ms / 1000.0, c(p, RESET));
    if (error && *error) {
        fputs(": ", stderr);
        put_clean(error, "      ");
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
    put_clean(text, "      ");
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
