/* Small helpers shared by the lstmcl command and its file parsers. */
#ifndef LSTMCL_CLI_UTIL_H
#define LSTMCL_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parser and loader results. The values are the command's exit codes. */
enum {
    CLI_OK = 0,
    CLI_ERR_RUNTIME = 1, /* out of memory, I/O failure, device failure */
    CLI_ERR_INPUT = 2    /* bad usage or a bad input file */
};

/* Writes a printf-style message into err[errlen] (always terminated). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void cli_set_error(char *err, size_t errlen, const char *fmt, ...);

/* *out = a * b, or returns 0 when it would overflow size_t. */
int cli_mul_size(size_t a, size_t b, size_t *out);
/* *out = a + b, or returns 0 when it would overflow size_t. */
int cli_add_size(size_t a, size_t b, size_t *out);

/* Reads a whole file into a new malloc'd buffer (caller frees). Returns
 * CLI_OK, CLI_ERR_INPUT (missing, unreadable, a directory) or
 * CLI_ERR_RUNTIME (out of memory), with a message in err. */
int cli_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t errlen);

/* IEEE binary16 and bfloat16 to float. */
float cli_half_to_float(uint16_t h);
float cli_bf16_to_float(uint16_t b);

/* Little-endian loads that do not assume alignment. */
uint16_t cli_le16(const uint8_t *p);
uint32_t cli_le32(const uint8_t *p);
uint64_t cli_le64(const uint8_t *p);

/* Why a value converted to float cannot be a weight or an input: NULL when
 * f is finite, else "is NaN", "is infinite" or "is out of float range" (a
 * finite source value that float cannot hold). */
const char *cli_nonfinite_reason(double source, float f);

#endif
