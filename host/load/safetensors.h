/* The safetensors format: an 8-byte little-endian header length, a JSON
 * header {"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}},
 * then the data buffer the offsets point into. */
#ifndef LSTMCL_LOAD_SAFETENSORS_H
#define LSTMCL_LOAD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct ld_st_tensor {
    char *name;          /* owned */
    char dtype[8];       /* "F32", "BF16", ... */
    size_t item_size;
    size_t ndim;
    size_t dims[ST_MAX_DIMS];
    size_t count;
    const uint8_t *data; /* borrowed from the parsed buffer */
    size_t nbytes;
} ld_st_tensor;

typedef struct ld_st_file {
    ld_st_tensor *tensors; /* owned */
    size_t count;
} ld_st_file;

/* Parses a whole file image; the tensors' data pointers borrow `buf`, which
 * must outlive *out. Checks the header length against the file, the JSON, the
 * dtypes, the shapes (overflow), the offsets (inside the data buffer, sized
 * as the shape says, not overlapping) and duplicate names. */
int ld_st_parse(const uint8_t *buf, size_t len, ld_st_file *out, char *err, size_t errlen);

void ld_st_free(ld_st_file *f);

/* The tensor named `name`, or NULL. */
const ld_st_tensor *ld_st_find(const ld_st_file *f, const char *name);

/* Converts a floating tensor (F32, F16, BF16, F64) to a new float array. */
int ld_st_to_float(const ld_st_tensor *t, float **out, char *err, size_t errlen);

#endif
