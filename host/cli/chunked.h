/* The lstmcl command's --chunk: a whole-sequence forward fed through a
 * session, K steps at a time, as a live stream would be. */
#ifndef LSTMCL_CLI_CHUNKED_H
#define LSTMCL_CLI_CHUNKED_H

#include <stddef.h>

#include "lstmcl.h"

/* lstmcl_forward(model, a), computed by a session of a->batch streams fed
 * `chunk` steps per call (a sequence shorter than the others leaves the
 * calls once its length is reached). Same arguments and results; a
 * bidirectional or reverse model is LSTMCL_ERROR_UNSUPPORTED. */
lstmcl_status cli_chunked_forward(lstmcl_model *model, const lstmcl_forward_args *a,
                                  size_t chunk);

#endif
