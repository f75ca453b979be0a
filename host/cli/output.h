/* The lstmcl command's output files: what an output path may be, which
 * paths name the same file, and an all-or-nothing commit of a run's outputs.
 *
 * What an output path may name (checked before any work, again at commit):
 *   a regular file or a new name   written to a temporary file beside it,
 *                                  fsync'd, and renamed into place together
 *                                  with the run's other outputs; an existing
 *                                  file keeps its permission bits
 *   a symbolic link                its target (followed to the end, so a
 *                                  dangling link's target is created) is
 *                                  treated as above; the link stays a link
 *   a character device or a FIFO   written directly, without a temporary
 *                                  (--output /dev/null discards)
 *   "-"                            standard output, written directly (at most
 *                                  one output)
 * Anything else (a directory, a block device, a socket) is refused, and so is
 * an output that is the same file as an input or as another output, found by
 * device and inode for existing files and by the resolved directory plus the
 * name for new ones. Character devices are exempt from the sameness check.
 *
 * The commit: every temporary is written and fsync'd first; the direct
 * outputs are written next; then, with SIGINT, SIGTERM, SIGHUP and SIGPIPE
 * blocked, each existing file is kept by a hard link, the temporaries are
 * renamed into place one by one, and a failed rename puts every file back as
 * it was (or removes it where there was none) before the error is reported.
 * Until the renames start, those signals remove the temporaries and then end
 * the process as they would have. What no program can prevent: SIGKILL or a
 * power cut between two renames leaves some outputs new and some old (and
 * the hidden links named .lstmcl-* beside them); a direct output cannot be
 * taken back once written; a file system without hard links keeps no old
 * copy to put back.
 *
 * One commit runs at a time in a process (the signal handler's state is
 * static). */
#ifndef LSTMCL_CLI_OUTPUT_H
#define LSTMCL_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum cli_out_kind {
    CLI_OUT_FILE,   /* a regular file, or a name that does not exist yet */
    CLI_OUT_DIRECT, /* a character device or a FIFO */
    CLI_OUT_STDOUT  /* "-" */
} cli_out_kind;

typedef struct cli_output {
    /* Set by the caller. */
    const char *option; /* "--output": for messages */
    const char *path;   /* as given (borrowed) */
    const void *header; /* bytes to write: header then data (borrowed) */
    size_t header_len;
    const void *data;
    size_t data_len;
    /* Set by cli_outputs_check. */
    cli_out_kind kind;
    char *target;  /* the path written: links followed (owned) */
    int exists;    /* CLI_OUT_FILE: a file is there now */
    mode_t mode;   /* the permission bits the written file gets */
    dev_t dev;     /* identity of an existing target */
    ino_t ino;
    /* Used by the commit. */
    char *tmp;
    char *backup;
    int renamed;
} cli_output;

/* Resolves each output and refuses (CLI_ERR_INPUT, message in err, *bad set
 * to the offending output's index) what may not be written: see above.
 * inputs[k] (NULL entries skipped) are the run's input files, named in
 * messages by input_opts[k]. */
int cli_outputs_check(cli_output *outs, size_t n, const char *const *inputs,
                      const char *const *input_opts, size_t nin, size_t *bad, char *err,
                      size_t errlen);

/* Writes and commits every output whose path is set, all or nothing as
 * described above. CLI_ERR_RUNTIME on a failure (message in err, *bad the
 * output at fault), CLI_ERR_INPUT when an output path changed into something
 * that may not be written since the check. */
int cli_outputs_commit(cli_output *outs, size_t n, size_t *bad, char *err, size_t errlen);

/* Frees what check and commit allocated (removing any temporary left). */
void cli_outputs_free(cli_output *outs, size_t n);

#endif
