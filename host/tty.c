/* Secret prompts on the controlling terminal (see tty.h). */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

int irh_tty_read_secret(const char *prompt, char *buf, size_t buflen, char *err, size_t errlen)
{
    if (buflen) buf[0] = '\0';
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "no terminal to ask on (/dev/tty: %s)", strerror(errno));
        return -1;
    }
    struct termios old, quiet;
    int restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    put(fd, prompt);
    size_t n = 0;
    int rc = -1, done = 0;
    char ch;
    while (!done) {
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { snprintf(err, errlen, "no answer at the terminal (end of input)"); break; }
        if (ch == '\n' || ch == '\r') { done = 1; rc = 0; break; }
        if (n + 1 >= buflen) {
            snprintf(err, errlen, "the answer is longer than %zu characters", buflen ? buflen - 1 : 0);
            /* drain the rest of the line so it does not reach the next reader */
            while (read(fd, &ch, 1) == 1 && ch != '\n') {}
            break;
        }
        buf[n++] = ch;
    }
    if (buflen) buf[rc == 0 ? n : 0] = '\0';
    if (rc < 0) explicit_bzero(buf, buflen);
    explicit_bzero(&ch, sizeof ch);
    put(fd, "\n");
    if (restore) tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);
    return rc;
}
