/* Shared checks of the parser fuzz targets: a parser either succeeds or
 * fails with a message, and never crashes. (Messages may quote bytes of the
 * file; the command replaces control characters when it prints them.) */
#ifndef LSTMCL_CLI_FUZZ_COMMON_H
#define LSTMCL_CLI_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

static void fuzz_check_result(int rc, const char *err)
{
    if (rc == CLI_OK)
        return;
    if ((rc != CLI_ERR_INPUT && rc != CLI_ERR_RUNTIME) || err[0] == '\0') {
        fprintf(stderr, "parser broke its contract: rc %d, message '%s'\n", rc, err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#endif
