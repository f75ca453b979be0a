/* Small helpers of the model-file parsers, shared with the lstmcl
 * command's .npy reader. */
#ifndef LSTMCL_LOAD_UTIL_H
#define LSTMCL_LOAD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parser results (file.c turns them into statuses; the lstmcl command's
 * exit codes have the same values). */
enum {
    LD_OK = 0,
    LD_ERR_RUNTIME = 1, /* out of memory, or lstmcl failing */
    LD_ERR_INPUT = 2    /* a bad file, or inputs that do not fit */
};

/* Writes a printf-style message into err[errlen] (always terminated). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void ld_set_error(char *err, size_t errlen, const char *fmt, ...);

/* *out = a * b, or returns 0 when it would overflow size_t. */
int ld_mul_size(size_t a, size_t b, size_t *out);
/* *out = a + b, or returns 0 when it would overflow size_t. */
int ld_add_size(size_t a, size_t b, size_t *out);

/* Reads a whole file into a new malloc'd buffer (caller frees). Returns
 * LD_OK, LD_ERR_INPUT (missing, unreadable, a directory) or
 * LD_ERR_RUNTIME (out of memory), with a message in err. */
int ld_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen);

/* IEEE binary16 and bfloat16 to float. */
float ld_half_to_float(uint16_t h);
float ld_bf16_to_float(uint16_t b);

/* Little-endian loads that do not assume alignment. */
uint16_t ld_le16(const uint8_t *p);
uint32_t ld_le32(const uint8_t *p);
uint64_t ld_le64(const uint8_t *p);

/* Why a value converted to float cannot be a weight or an input: NULL when
 * f is finite, else "is NaN", "is infinite" or "is out of float range" (a
 * finite source value that float cannot hold). */
const char *ld_nonfinite_reason(double source, float f);

#endif
