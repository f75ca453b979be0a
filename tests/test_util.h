/* Shared helpers of the lstmcl tests. */
#ifndef LSTMCL_TEST_UTIL_H
#define LSTMCL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "lstmcl.h"

/* Opens the OpenCL device the tests run on: $LSTMCL_DEVICE, else the
 * library's default device. Returns NULL (and prints why on stderr) when no
 * OpenCL device exists, so a group can skip rather than fail. */
lstmcl_context *tu_open_device(void);

/* The directory holding the test data (LSTMCL_TEST_DATA, else "."). */
const char *tu_data_dir(void);

/* A small deterministic generator (splitmix64), so that a failing random
 * case can be rerun from its printed seed. */
typedef struct tu_rng {
    uint64_t state;
} tu_rng;
uint64_t tu_next(tu_rng *r);
/* Uniform in [lo, hi). */
float tu_uniform(tu_rng *r, float lo, float hi);
void tu_fill(tu_rng *r, float *p, size_t n, float lo, float hi);
/* Uniform integer in [lo, hi]. */
size_t tu_range(tu_rng *r, size_t lo, size_t hi);

/* Largest |a-b| over n values; *where (if not NULL) gets its index.
 * A NaN or Inf in either array counts as an infinite difference. */
double tu_max_abs_diff(const float *a, const float *b, size_t n, size_t *where);

/* 1 when every value is finite. */
int tu_all_finite(const float *p, size_t n);

/* Sets (value non-NULL) or unsets environment variable `name` and returns
 * its previous value (a copy, or NULL when it was unset) for tu_restore_env,
 * which puts it back and frees the copy. */
char *tu_set_env(const char *name, const char *value);
void tu_restore_env(const char *name, char *saved);

/* A bound on a call that must not hang: after `seconds` the process
 * prints "<what>: still running after N s" and exits with status 1, so that
 * a regression fails the test instead of hanging it. 0 cancels. */
void tu_deadline(unsigned seconds, const char *what);

#endif
