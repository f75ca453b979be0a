/* Compiled program binaries kept on disk, so that a later process builds a
 * model's kernels without compiling them.
 *
 * Key: the cache format version, the device name, device and driver
 * versions, the platform, the build options and the kernel source. A file
 * is named by the key's 64-bit FNV-1a hash and holds the whole key, so a
 * hash collision is detected, not trusted, and a checksum of the binary, so
 * a damaged binary is never handed to the driver (binaries hold native code
 * on CPU devices). Files are written to a temporary name and renamed. The
 * directory is created private (0700); a file that another user owns or
 * could have written is not read, nor is anything but a regular file (a
 * FIFO there would block the open for ever). A cache that cannot be used
 * (no directory, a damaged, foreign or special file, a binary the driver
 * refuses) is skipped quietly: the program is then built from source as if
 * there were no cache.
 *
 * Location: $LSTMCL_CACHE_DIR; "" or "off" disables it; unset:
 * $XDG_CACHE_HOME/lstmcl, else $HOME/.cache/lstmcl. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LC_CACHE_MAGIC "LSTMCLPC"
#define LC_CACHE_FORMAT 2u
/* Refuse absurd sizes from a damaged file before allocating. */
#define LC_CACHE_MAX_BYTES ((uint64_t)1 << 30)

static uint64_t lc_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

FILE *lc_open_regular(const char *path, struct stat *sb)
{
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer.
     * On a regular file the flag changes nothing, so the stream reads as
     * usual once fstat has said that is what it is. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    FILE *f = NULL;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode) || !(f = fdopen(fd, "rb"))) {
        close(fd);
        return NULL;
    }
    return f;
}

/* The default cache directory, or 0 when the cache is off. */
int lc_cache_dir_default(char *out, size_t cap)
{
    const char *env = getenv("LSTMCL_CACHE_DIR");
    int n;
    if (env) {
        if (!*env || strcmp(env, "off") == 0)
            return 0;
        n = snprintf(out, cap, "%s", env);
    } else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME")) {
        n = snprintf(out, cap, "%s/lstmcl", getenv("XDG_CACHE_HOME"));
    } else if (getenv("HOME") && *getenv("HOME")) {
        n = snprintf(out, cap, "%s/.cache/lstmcl", getenv("HOME"));
    } else {
        return 0;
    }
    return n > 0 && (size_t)n < cap;
}

/* mkdir -p; 1 when the directory exists afterwards. */
static int lc_make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return 0;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok)
            return 0;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

typedef struct lc_key {
    char *text;
    size_t size;
    uint64_t hash;
} lc_key;

static int lc_make_key(const lstmcl_context *ctx, const char *source, size_t source_size,
                       const char *options, lc_key *key)
{
    const char *fmt = "format %u\ndevice %s\nversion %s\ndriver %s\nplatform %s\noptions %s\n"
                      "source\n";
    int n = snprintf(NULL, 0, fmt, LC_CACHE_FORMAT, ctx->info.name, ctx->info.device_version,
                     ctx->info.driver_version, ctx->info.platform, options);
    if (n < 0)
        return 0;
    key->size = (size_t)n + source_size;
    key->text = malloc(key->size + 1);
    if (!key->text)
        return 0;
    snprintf(key->text, (size_t)n + 1, fmt, LC_CACHE_FORMAT, ctx->info.name,
             ctx->info.device_version, ctx->info.driver_version, ctx->info.platform, options);
    memcpy(key->text + n, source, source_size);
    key->hash = lc_fnv1a(0xcbf29ce484222325ULL, key->text, key->size);
    return 1;
}

static int lc_read_u64(FILE *f, uint64_t *v)
{
    unsigned char b[8];
    if (fread(b, 1, 8, f) != 8)
        return 0;
    *v = 0;
    for (int i = 7; i >= 0; i--)
        *v = (*v << 8) | b[i];
    return 1;
}

static int lc_write_u64(FILE *f, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return fwrite(b, 1, 8, f) == 8;
}

/* Tries the cached binary; returns a built program or NULL. */
static cl_program lc_cache_load(lstmcl_context *ctx, const char *path, const lc_key *key,
                                const char *options)
{
    struct stat sb;
    FILE *f = lc_open_regular(path, &sb);
    if (!f)
        return NULL;
    cl_program prog = NULL;
    char magic[8];
    uint64_t format = 0, ksize = 0, bsize = 0, bsum = 0;
    char *ktext = NULL;
    unsigned char *bin = NULL;
    /* Ours and writable by nobody else. */
    if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)))
        goto out;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, LC_CACHE_MAGIC, 8) != 0 ||
        !lc_read_u64(f, &format) || format != LC_CACHE_FORMAT || !lc_read_u64(f, &ksize) ||
        ksize != key->size)
        goto out;
    ktext = malloc(key->size);
    if (!ktext || fread(ktext, 1, key->size, f) != key->size ||
        memcmp(ktext, key->text, key->size) != 0)
        goto out;
    /* The binary's size must be exactly what is left in the file. */
    uint64_t header = 8 + 8 + 8 + key->size + 8 + 8;
    if (!lc_read_u64(f, &bsize) || !lc_read_u64(f, &bsum) || bsize == 0 ||
        bsize > LC_CACHE_MAX_BYTES || (uint64_t)sb.st_size != header + bsize)
        goto out;
    bin = malloc((size_t)bsize);
    if (!bin || fread(bin, 1, (size_t)bsize, f) != (size_t)bsize ||
        lc_fnv1a(0xcbf29ce484222325ULL, bin, (size_t)bsize) != bsum)
        goto out;
    size_t len = (size_t)bsize;
    const unsigned char *bins[1] = {bin};
    cl_int bstatus = CL_SUCCESS, err = CL_SUCCESS;
    prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, bins, &bstatus, &err);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS) {
        if (err == CL_SUCCESS)
            clReleaseProgram(prog);
        prog = NULL;
        goto out;
    }
    if (clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        prog = NULL;
    }
out:
    free(ktext);
    free(bin);
    fclose(f);
    return prog;
}

/* Writes the built program's binary; failures leave no file behind. */
static void lc_cache_store(lstmcl_context *ctx, cl_program prog, const char *dir,
                           const char *path, const lc_key *key)
{
    size_t bsize = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bsize, &bsize, NULL) !=
            CL_SUCCESS ||
        bsize == 0 || bsize > LC_CACHE_MAX_BYTES)
        return;
    unsigned char *bin = malloc(bsize);
    if (!bin)
        return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    char tmp[4200];
    int n = snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir);
    int fd = n > 0 && (size_t)n < sizeof tmp ? mkstemp(tmp) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        free(bin);
        return;
    }
    int ok = fwrite(LC_CACHE_MAGIC, 1, 8, f) == 8 && lc_write_u64(f, LC_CACHE_FORMAT) &&
             lc_write_u64(f, key->size) && fwrite(key->text, 1, key->size, f) == key->size &&
             lc_write_u64(f, bsize) &&
             lc_write_u64(f, lc_fnv1a(0xcbf29ce484222325ULL, bin, bsize)) &&
             fwrite(bin, 1, bsize, f) == bsize;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
    free(bin);
    (void)ctx;
}

lstmcl_status lc_build_program_cached(lstmcl_context *ctx, const char *dir,
                                      const char *source, size_t source_size,
                                      const char *options, const char *what, cl_program *out,
                                      int *from_cache)
{
    *out = NULL;
    *from_cache = 0;
    char path[4200];
    lc_key key = {NULL, 0, 0};
    int cache = dir && lc_make_key(ctx, source, source_size, options, &key);
    if (cache) {
        snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)key.hash);
        *out = lc_cache_load(ctx, path, &key, options);
        if (*out) {
            *from_cache = 1;
            free(key.text);
            return LSTMCL_SUCCESS;
        }
    }
    cl_int err = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(ctx->cl, 1, &source, &source_size, &err);
    if (err != CL_SUCCESS) {
        free(key.text);
        return lc_fail_cl(ctx, err, "clCreateProgramWithSource", what);
    }
    err = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        /* The log, truncated to what the error message can carry. */
        char log[LC_ERR_MAX / 2] = "(build log not available)";
        size_t got = 0;
        if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &got) ==
                CL_SUCCESS &&
            got > 0) {
            char *full = malloc(got + 1);
            if (full && clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, got, full,
                                              NULL) == CL_SUCCESS) {
                full[got] = '\0';
                snprintf(log, sizeof log, "%s", full);
            }
            free(full);
        }
        clReleaseProgram(prog);
        free(key.text);
        const char *name = lc_cl_error_name(err);
        return lc_fail(ctx,
                       err == CL_BUILD_PROGRAM_FAILURE ? LSTMCL_ERROR_KERNEL_BUILD
                                                       : (lstmcl_status)err,
                       "clBuildProgram(%s, \"%s\") returned %d (%s); build log:\n%s", what,
                       options, (int)err, name ? name : "?", log);
    }
    if (cache && lc_make_dirs(dir))
        lc_cache_store(ctx, prog, dir, path, &key);
    free(key.text);
    *out = prog;
    return LSTMCL_SUCCESS;
}
