/* The .npy array format (NumPy's format.py, versions 1.0, 2.0 and 3.0):
 * reading into float32 or int64, and writing float32. */
#ifndef LSTMCL_CLI_NPY_H
#define LSTMCL_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 32

typedef struct npy_array {
    size_t ndim;
    size_t dims[NPY_MAX_DIMS];
    size_t count;    /* product of dims (1 for a 0-d array) */
    int is_integer;  /* the file held integers: data in i, else in f */
    float *f;        /* count floats, C order (owned) */
    int64_t *i;      /* count int64s, C order (owned) */
    char descr[8];   /* the dtype as written, e.g. "<f4" */
    /* Floating arrays: the first element that is NaN or infinite as stored,
     * or that float32 cannot hold (count when there is none), and its value
     * as stored. */
    size_t first_nonfinite;
    double nonfinite_value;
} npy_array;

/* Parses a whole .npy file image. Floating types (f2, f4, f8) are converted
 * to float32, integer types (i1..i8, u1..u4) to int64; either byte order;
 * Fortran-ordered data is reordered to C order. Returns CLI_OK, or
 * CLI_ERR_INPUT / CLI_ERR_RUNTIME with a one-line message in err. *out is
 * zeroed first and owns its data only on success. */
int npy_parse(const uint8_t *buf, size_t len, npy_array *out, char *err, size_t errlen);

/* Reads and parses a file. */
int npy_load(const char *path, npy_array *out, char *err, size_t errlen);

void npy_free(npy_array *a);

/* Builds the header of a version 1.0, little-endian float32, C-order file
 * for the shape (malloc'd into *header; caller frees). */
int npy_make_f32_header(const size_t *dims, size_t ndim, uint8_t **header, size_t *header_len,
                        char *err, size_t errlen);

#endif
