/* The lstmcl command's result codes, and the small helpers it shares with
 * the library's file parsers (host/load/load_util.h: messages, checked
 * sizes, file reading, float16 and little-endian decoding). */
#ifndef LSTMCL_CLI_UTIL_H
#define LSTMCL_CLI_UTIL_H

#include "load_util.h"

/* Results of the command's steps, equal to its exit codes (and to the
 * parsers' LD_* results). */
enum {
    CLI_OK = LD_OK,
    CLI_ERR_RUNTIME = LD_ERR_RUNTIME, /* out of memory, I/O failure, device failure */
    CLI_ERR_INPUT = LD_ERR_INPUT      /* bad usage or a bad input file */
};

#endif
