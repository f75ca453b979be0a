#define _POSIX_C_SOURCE 200809L
#include "load_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ld_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int ld_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int ld_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

int ld_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t len, got = 0;
    int fd;

    *data = NULL;
    *size = 0;
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        ld_set_error(err, errlen, "cannot open: %s", strerror(errno));
        return LD_ERR_INPUT;
    }
    if (fstat(fd, &sb) != 0) {
        ld_set_error(err, errlen, "cannot stat: %s", strerror(errno));
        close(fd);
        return LD_ERR_INPUT;
    }
    if (!S_ISREG(sb.st_mode)) {
        ld_set_error(err, errlen, "not a regular file");
        close(fd);
        return LD_ERR_INPUT;
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > (uintmax_t)(SIZE_MAX / 2)) {
        ld_set_error(err, errlen, "file too large");
        close(fd);
        return LD_ERR_INPUT;
    }
    len = (size_t)sb.st_size;
    buf = malloc(len ? len : 1);
    if (!buf) {
        ld_set_error(err, errlen, "out of memory reading %zu bytes", len);
        close(fd);
        return LD_ERR_RUNTIME;
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ld_set_error(err, errlen, "read failed: %s", r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return LD_ERR_INPUT;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *size = len;
    return LD_OK;
}

float ld_half_to_float(uint16_t h)
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

float ld_bf16_to_float(uint16_t b)
{
    /* bfloat16 is the upper half of a binary32. */
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t ld_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t ld_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t ld_le64(const uint8_t *p)
{
    return (uint64_t)ld_le32(p) | ((uint64_t)ld_le32(p + 4) << 32);
}

const char *ld_nonfinite_reason(double source, float f)
{
    if (isfinite(f))
        return NULL;
    if (isnan(source))
        return "is NaN";
    return isinf(source) ? "is infinite" : "is out of float range";
}
