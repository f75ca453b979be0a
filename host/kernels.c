/* Kernel sources: the copies embedded at build time, or files read from
 * $LSTMCL_KERNEL_DIR while developing kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

struct lstmcl_embedded_kernel {
    const char *name;
    const char *text;
    size_t size;
};
extern const struct lstmcl_embedded_kernel lstmcl_embedded_kernels[];

static lstmcl_status lc_read_file(lstmcl_context *ctx, const char *dir, const char *name,
                                  const char **text, size_t *size)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return lc_fail(ctx, LSTMCL_ERROR_KERNEL_SOURCE, "kernel directory: path too long");
    struct stat sb;
    FILE *f = lc_open_regular(path, &sb);
    if (!f)
        return lc_fail(ctx, LSTMCL_ERROR_KERNEL_SOURCE,
                       "%s: cannot open kernel source as a regular file (kernel_dir option or "
                       "LSTMCL_KERNEL_DIR)",
                       path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return lc_fail(ctx, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "%s: reading", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return lc_fail(ctx, LSTMCL_ERROR_KERNEL_SOURCE, "%s: read error", path);
    }
    buf[len] = '\0';
    *text = buf;
    *size = len;
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_kernel_source(lstmcl_context *ctx, const char *dir, const char *name,
                               const char **text, size_t *size, int *owned)
{
    if (dir) {
        *owned = 1;
        return lc_read_file(ctx, dir, name, text, size);
    }
    *owned = 0;
    for (const struct lstmcl_embedded_kernel *k = lstmcl_embedded_kernels; k->name; k++)
        if (strcmp(k->name, name) == 0) {
            *text = k->text;
            *size = k->size;
            return LSTMCL_SUCCESS;
        }
    return lc_fail(ctx, LSTMCL_ERROR_KERNEL_SOURCE, "kernel source %s is not embedded", name);
}
