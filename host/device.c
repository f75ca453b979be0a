/* OpenCL device enumeration: devices numbered across platforms. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t lc_cl_mutex = PTHREAD_MUTEX_INITIALIZER;

void lc_cl_lock(void)
{
    pthread_mutex_lock(&lc_cl_mutex);
}

void lc_cl_unlock(void)
{
    pthread_mutex_unlock(&lc_cl_mutex);
}

#define LC_MAX_PLATFORMS 64
#define LC_MAX_DEVICES 256

/* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no platform at all. */
#define LC_PLATFORM_NOT_FOUND (-1001)

static lstmcl_status lc_platforms(cl_platform_id *ids, cl_uint *count)
{
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(LC_MAX_PLATFORMS, ids, &n);
    if (err == LC_PLATFORM_NOT_FOUND || (err == CL_SUCCESS && n == 0)) {
        *count = 0;
        return LSTMCL_SUCCESS;
    }
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetPlatformIDs", "listing OpenCL platforms");
    *count = n < LC_MAX_PLATFORMS ? n : LC_MAX_PLATFORMS;
    return LSTMCL_SUCCESS;
}

static lstmcl_status lc_platform_devices(cl_platform_id p, cl_device_id *ids, cl_uint max,
                                         cl_uint *count)
{
    cl_uint n = 0;
    cl_int err = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, max, ids, &n);
    if (err == CL_DEVICE_NOT_FOUND) {
        *count = 0;
        return LSTMCL_SUCCESS;
    }
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetDeviceIDs", "listing OpenCL devices");
    *count = n < max ? n : max;
    return LSTMCL_SUCCESS;
}

/* Walks every device; stops at `index` when found (index SIZE_MAX: count). */
static lstmcl_status lc_walk(size_t index, size_t *count, cl_platform_id *platform,
                             cl_device_id *device)
{
    cl_platform_id plats[LC_MAX_PLATFORMS];
    cl_uint np = 0;
    lstmcl_status st = lc_platforms(plats, &np);
    if (st != LSTMCL_SUCCESS)
        return st;
    size_t seen = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[LC_MAX_DEVICES];
        cl_uint nd = 0;
        st = lc_platform_devices(plats[p], devs, LC_MAX_DEVICES, &nd);
        if (st != LSTMCL_SUCCESS)
            return st;
        if (index != (size_t)-1 && index < seen + nd) {
            *platform = plats[p];
            *device = devs[index - seen];
            return LSTMCL_SUCCESS;
        }
        seen += nd;
    }
    if (count)
        *count = seen;
    if (index != (size_t)-1)
        return lc_fail(NULL, LSTMCL_ERROR_NO_DEVICE,
                       "OpenCL device %zu does not exist (%zu device%s found)", index, seen,
                       seen == 1 ? "" : "s");
    return LSTMCL_SUCCESS;
}

lstmcl_status lc_device_count_locked(size_t *count)
{
    if (!count)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_device_count: count must not be NULL");
    *count = 0;
    return lc_walk((size_t)-1, count, NULL, NULL);
}

lstmcl_status lstmcl_device_count(size_t *count)
{
    lc_cl_lock();
    lstmcl_status st = lc_device_count_locked(count);
    lc_cl_unlock();
    return st;
}

lstmcl_status lc_find_device(size_t index, cl_platform_id *platform, cl_device_id *device)
{
    return lc_walk(index, NULL, platform, device);
}

static lstmcl_status lc_str_info(cl_device_id d, cl_device_info what, const char *name,
                                 char *out, size_t cap)
{
    size_t got = 0;
    cl_int err = clGetDeviceInfo(d, what, cap - 1, out, &got);
    if (err == CL_INVALID_VALUE) {
        /* Longer than the field: keep the truncated prefix. */
        char *tmp = NULL;
        if (clGetDeviceInfo(d, what, 0, NULL, &got) == CL_SUCCESS && (tmp = malloc(got + 1))) {
            err = clGetDeviceInfo(d, what, got, tmp, NULL);
            if (err == CL_SUCCESS) {
                memcpy(out, tmp, cap - 1);
                got = cap - 1;
            }
            free(tmp);
        }
    }
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetDeviceInfo", name);
    out[got < cap ? got : cap - 1] = '\0';
    return LSTMCL_SUCCESS;
}

#define LC_GET(dev, what, var)                                                          \
    do {                                                                                \
        cl_int e_ = clGetDeviceInfo((dev), (what), sizeof(var), &(var), NULL);          \
        if (e_ != CL_SUCCESS)                                                           \
            return lc_fail_cl(NULL, e_, "clGetDeviceInfo", "reading " #what);           \
    } while (0)

lstmcl_status lc_fill_device_info(cl_platform_id platform, cl_device_id d, size_t index,
                                  lstmcl_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    static const struct {
        cl_device_info what;
        const char *name;
        size_t offset;
    } strings[] = {
        {CL_DEVICE_NAME, "reading CL_DEVICE_NAME", offsetof(lstmcl_device_info, name)},
        {CL_DEVICE_VENDOR, "reading CL_DEVICE_VENDOR", offsetof(lstmcl_device_info, vendor)},
        {CL_DEVICE_VERSION, "reading CL_DEVICE_VERSION",
         offsetof(lstmcl_device_info, device_version)},
        {CL_DRIVER_VERSION, "reading CL_DRIVER_VERSION",
         offsetof(lstmcl_device_info, driver_version)},
        {CL_DEVICE_OPENCL_C_VERSION, "reading CL_DEVICE_OPENCL_C_VERSION",
         offsetof(lstmcl_device_info, opencl_c_version)},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        lstmcl_status st = lc_str_info(d, strings[i].what, strings[i].name,
                                       (char *)info + strings[i].offset, 256);
        if (st != LSTMCL_SUCCESS)
            return st;
    }
    size_t got = 0;
    cl_int err = clGetPlatformInfo(platform, CL_PLATFORM_NAME, 0, NULL, &got);
    char *pname = err == CL_SUCCESS ? malloc(got + 1) : NULL;
    if (err == CL_SUCCESS && !pname)
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "reading CL_PLATFORM_NAME");
    if (err == CL_SUCCESS)
        err = clGetPlatformInfo(platform, CL_PLATFORM_NAME, got, pname, NULL);
    if (err != CL_SUCCESS) {
        free(pname);
        return lc_fail_cl(NULL, err, "clGetPlatformInfo", "reading CL_PLATFORM_NAME");
    }
    pname[got] = '\0';
    snprintf(info->platform, sizeof info->platform, "%s", pname); /* truncates */
    free(pname);

    LC_GET(d, CL_DEVICE_TYPE, info->type);
    LC_GET(d, CL_DEVICE_MAX_COMPUTE_UNITS, info->compute_units);
    LC_GET(d, CL_DEVICE_GLOBAL_MEM_SIZE, info->global_mem_bytes);
    LC_GET(d, CL_DEVICE_LOCAL_MEM_SIZE, info->local_mem_bytes);
    LC_GET(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, info->max_alloc_bytes);
    LC_GET(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, info->max_work_group_size);
    cl_device_fp_config dbl = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dbl, &dbl, NULL) != CL_SUCCESS)
        dbl = 0;

    size_t ext_size = 0;
    err = clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_size);
    if (err != CL_SUCCESS)
        return lc_fail_cl(NULL, err, "clGetDeviceInfo", "reading CL_DEVICE_EXTENSIONS");
    char *ext = malloc(ext_size + 1);
    if (!ext)
        return lc_fail(NULL, LSTMCL_ERROR_OUT_OF_HOST_MEMORY, "reading device extensions");
    err = clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, ext_size, ext, NULL);
    if (err != CL_SUCCESS) {
        free(ext);
        return lc_fail_cl(NULL, err, "clGetDeviceInfo", "reading CL_DEVICE_EXTENSIONS");
    }
    ext[ext_size] = '\0';
    info->has_fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    info->has_fp64 = strstr(ext, "cl_khr_fp64") != NULL || dbl != 0;
    free(ext);
    return LSTMCL_SUCCESS;
}

lstmcl_status lstmcl_device_get_info(size_t index, lstmcl_device_info *info)
{
    lc_cl_lock();
    lstmcl_status st = lc_device_get_info_locked(index, info);
    lc_cl_unlock();
    return st;
}

lstmcl_status lc_device_get_info_locked(size_t index, lstmcl_device_info *info)
{
    if (!info)
        return lc_fail(NULL, LSTMCL_ERROR_INVALID_ARGUMENT,
                       "lstmcl_device_get_info: info must not be NULL");
    cl_platform_id p;
    cl_device_id d;
    lstmcl_status st = lc_find_device(index, &p, &d);
    if (st != LSTMCL_SUCCESS)
        return st;
    return lc_fill_device_info(p, d, index, info);
}
