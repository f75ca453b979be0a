#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int cli_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int cli_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

int cli_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t len, got = 0;
    int fd;

    *data = NULL;
    *size = 0;
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        cli_set_error(err, errlen, "cannot open: %s", strerror(errno));
        return CLI_ERR_INPUT;
    }
    if (fstat(fd, &sb) != 0) {
        cli_set_error(err, errlen, "cannot stat: %s", strerror(errno));
        close(fd);
        return CLI_ERR_INPUT;
    }
    if (!S_ISREG(sb.st_mode)) {
        cli_set_error(err, errlen, "not a regular file");
        close(fd);
        return CLI_ERR_INPUT;
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > (uintmax_t)(SIZE_MAX / 2)) {
        cli_set_error(err, errlen, "file too large");
        close(fd);
        return CLI_ERR_INPUT;
    }
    len = (size_t)sb.st_size;
    buf = malloc(len ? len : 1);
    if (!buf) {
        cli_set_error(err, errlen, "out of memory reading %zu bytes", len);
        close(fd);
        return CLI_ERR_RUNTIME;
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            cli_set_error(err, errlen, "read failed: %s", r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return CLI_ERR_INPUT;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *size = len;
    return CLI_OK;
}

float cli_half_to_float(uint16_t h)
{
    /* IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits. */
    unsigned sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu;
    float v;
    if (exp == 0)
        v = ldexpf((float)frac, -24);
    else if (exp == 31)
        v = frac ? NAN : INFINITY;
    else
        v = ldexpf((float)(frac | 0x400u), (int)exp - 25);
    return sign ? -v : v;
}

float cli_bf16_to_float(uint16_t b)
{
    /* bfloat16 is the upper half of a binary32. */
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t cli_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t cli_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t cli_le64(const uint8_t *p)
{
    return (uint64_t)cli_le32(p) | ((uint64_t)cli_le32(p + 4) << 32);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        b += w;
        n -= (size_t)w;
    }
    return 1;
}

int cli_stage_write(const char *path, const void *header, size_t header_len, const void *data,
                    size_t data_len, cli_staged_file *st, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    size_t n = strlen(path) + 32;
    int fd;

    st->final_path = NULL;
    st->tmp_path = NULL;
    if (*base == '\0') {
        cli_set_error(err, errlen, "output path names a directory");
        return CLI_ERR_INPUT;
    }
    st->final_path = malloc(strlen(path) + 1);
    st->tmp_path = malloc(n);
    if (!st->final_path || !st->tmp_path) {
        cli_stage_discard(st);
        cli_set_error(err, errlen, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    strcpy(st->final_path, path);
    /* Hidden temporary in the same directory, so rename() is atomic. */
    snprintf(st->tmp_path, n, "%.*s.%s.tmpXXXXXX", (int)dirlen, path, base);
    fd = mkstemp(st->tmp_path);
    if (fd < 0) {
        int e = errno;
        cli_set_error(err, errlen, "cannot create a temporary file beside it: %s", strerror(e));
        free(st->tmp_path);
        st->tmp_path = NULL;
        cli_stage_discard(st);
        /* A path the user cannot write to is bad usage; anything else is a
         * failure of the system. */
        return (e == ENOENT || e == ENOTDIR || e == EACCES || e == EROFS) ? CLI_ERR_INPUT
                                                                          : CLI_ERR_RUNTIME;
    }
    if (!write_all(fd, header, header_len) || !write_all(fd, data, data_len) || fsync(fd) != 0) {
        cli_set_error(err, errlen, "write failed: %s", strerror(errno));
        close(fd);
        cli_stage_discard(st);
        return CLI_ERR_RUNTIME;
    }
    if (close(fd) != 0) {
        cli_set_error(err, errlen, "write failed: %s", strerror(errno));
        cli_stage_discard(st);
        return CLI_ERR_RUNTIME;
    }
    /* mkstemp creates 0600; give the file the usual permissions. */
    {
        mode_t mask = umask(0);
        umask(mask);
        chmod(st->tmp_path, 0666 & ~mask);
    }
    return CLI_OK;
}

int cli_stage_commit(cli_staged_file *st, char *err, size_t errlen)
{
    if (!st->tmp_path)
        return CLI_OK;
    if (rename(st->tmp_path, st->final_path) != 0) {
        cli_set_error(err, errlen, "cannot rename the temporary into place: %s", strerror(errno));
        return CLI_ERR_RUNTIME;
    }
    free(st->tmp_path);
    st->tmp_path = NULL;
    return CLI_OK;
}

void cli_stage_discard(cli_staged_file *st)
{
    if (st->tmp_path) {
        unlink(st->tmp_path);
        free(st->tmp_path);
        st->tmp_path = NULL;
    }
    free(st->final_path);
    st->final_path = NULL;
}
