/* The safetensors format: an 8-byte little-endian header length, a JSON
 * header {"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}},
 * then the data buffer the offsets point into. */
#ifndef LSTMCL_LOAD_SAFETENSORS_H
#define LSTMCL_LOAD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lstmcl.h"

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

/* A floating tensor's values as a model takes them, in a new array (the
 * caller frees it): F16 and BF16 as stored, uint16_t bits in host order
 * (*dtype LSTMCL_DTYPE_F16 or _BF16), so that a model of any precision
 * rounds each weight once from its exact value; F32 and F64 as float
 * (*dtype LSTMCL_DTYPE_F32). Other dtypes are refused, and so is an
 * element that is NaN, infinite or beyond float's range, by the tensor's
 * name and the element's index. */
int ld_st_weights(const ld_st_tensor *t, void **out, lstmcl_dtype *dtype, char *err,
                  size_t errlen);

#endif
