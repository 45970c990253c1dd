/* host/endpoints.c irh_region_resolve_local: the region chain without the network (the
 * broker tells the runner the run's region with it). IMDS is enabled and pointed at a
 * loopback listener that must see no connection. */
#include "unit.h"
#include "endpoints.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A listening socket on 127.0.0.1 (its port in *port); -1 on failure. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Whether anyone connected to the listener (the kernel completes the handshake). */
static int connected(int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c >= 0) { close(c); return 1; }
    return errno != EAGAIN && errno != EWOULDBLOCK;
}

int main(void)
{
    char dir[] = "/tmp/irh-region-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return unit_done(); }
    char cfg[300], out[64], err[600], url[64];
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    write_file(cfg, "[default]\noutput = json\n[profile west]\nregion = us-west-2\n[profile bad]\nregion = a b\n");
    int port = 0, lfd = listener(&port);
    CHECK(lfd >= 0, "a loopback listener stands in for IMDS");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_PROFILE");

    CHECK(irh_region_resolve_local("ca-central-1", NULL, out, sizeof out, err, sizeof err) == 0 &&
              strcmp(out, "ca-central-1") == 0, "--region first (%s)", out);
    setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
    CHECK(irh_region_resolve_local(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "eu-west-2") == 0,
          "AWS_DEFAULT_REGION before the profile (%s)", out);
    setenv("AWS_REGION", "eu-west-3", 1);
    CHECK(irh_region_resolve_local(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "eu-west-3") == 0,
          "AWS_REGION before AWS_DEFAULT_REGION (%s)", out);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK(irh_region_resolve_local(NULL, "west", out, sizeof out, err, sizeof err) == 0 && strcmp(out, "us-west-2") == 0,
          "the profile's region (%s)", out);
    setenv("AWS_PROFILE", "west", 1);
    CHECK(irh_region_resolve_local(NULL, NULL, out, sizeof out, err, sizeof err) == 0 && strcmp(out, "us-west-2") == 0,
          "AWS_PROFILE names the profile (%s)", out);
    unsetenv("AWS_PROFILE");
    CHECK(irh_region_resolve_local(NULL, "bad", out, sizeof out, err, sizeof err) == -1 && strstr(err, "profile 'bad'"),
          "a bad region value is an error: %s", err);
    int rc = irh_region_resolve_local(NULL, NULL, out, sizeof out, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "AWS_REGION") && strstr(err, cfg) && !strstr(err, "metadata"),
          "nothing set: 1, and where a region can be set (%d: %s)", rc, err);
    CHECK(lfd >= 0 && !connected(lfd), "no connection to instance metadata, even with IMDS enabled");
    /* The full chain does ask IMDS (the listener proves it is the one being watched). */
    setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.2", 1);
    setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1", 1);
    rc = irh_region_resolve(NULL, NULL, out, sizeof out, err, sizeof err);
    CHECK(rc < 0 && lfd >= 0 && connected(lfd), "irh_region_resolve still falls back to IMDS (%s)", err);

    if (lfd >= 0) close(lfd);
    unlink(cfg);
    rmdir(dir);
    return unit_done();
}
