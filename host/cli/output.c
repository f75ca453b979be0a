#define _XOPEN_SOURCE 700
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"

/* Links followed before giving up, as the kernel's own limit (ELOOP). */
#define MAX_LINK_HOPS 40
/* A temporary's or backup's name in the target's directory: short, so that
 * it fits wherever the final name fits. */
#define TMP_NAME ".lstmcl-XXXXXX"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* "dir/name" split at the last slash: *dir is malloc'd ("." or "/" where
 * the path has no other directory part), *name points into path. */
static int split_path(const char *path, char **dir, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = dup_str(".");
        *name = path;
    } else if (slash == path) {
        *dir = dup_str("/");
        *name = slash + 1;
    } else {
        size_t n = (size_t)(slash - path);
        *dir = malloc(n + 1);
        if (*dir) {
            memcpy(*dir, path, n);
            (*dir)[n] = '\0';
        }
        *name = slash + 1;
    }
    return *dir != NULL;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    if (a == 1 && dir[0] == '/')
        memmove(p + 1, p + 2, b + 1); /* "/" + name */
    return p;
}

/* Follows symbolic links from path to the file they end at (which may not
 * exist), then makes that path canonical: the real path of its directory
 * plus its name. *target is malloc'd; *sb holds lstat of it when *exists. */
static int resolve(const char *path, char **target, struct stat *sb, int *exists, char *err,
                   size_t errlen)
{
    char *cur = dup_str(path), *dir = NULL, *real = NULL;
    const char *name;
    int hops;
    *target = NULL;
    *exists = 0;
    if (!cur)
        goto oom;
    for (hops = 0;; hops++) {
        char link[PATH_MAX + 1];
        ssize_t n;
        if (lstat(cur, sb) != 0) {
            if (errno == ENOENT)
                break;
            ld_set_error(err, errlen, "cannot examine '%s': %s", cur, strerror(errno));
            free(cur);
            return CLI_ERR_INPUT;
        }
        if (!S_ISLNK(sb->st_mode)) {
            *exists = 1;
            break;
        }
        if (hops == MAX_LINK_HOPS) {
            ld_set_error(err, errlen, "too many levels of symbolic links");
            free(cur);
            return CLI_ERR_INPUT;
        }
        n = readlink(cur, link, PATH_MAX);
        if (n < 0) {
            ld_set_error(err, errlen, "cannot read the link '%s': %s", cur, strerror(errno));
            free(cur);
            return CLI_ERR_INPUT;
        }
        link[n] = '\0';
        if (link[0] == '/') {
            free(cur);
            cur = dup_str(link);
        } else {
            char *d, *next;
            if (!split_path(cur, &d, &name))
                goto oom;
            next = join_path(d, link);
            free(d);
            free(cur);
            cur = next;
        }
        if (!cur)
            goto oom;
    }
    if (*exists && S_ISDIR(sb->st_mode)) {
        ld_set_error(err, errlen, "output path is a directory");
        free(cur);
        return CLI_ERR_INPUT;
    }
    if (!split_path(cur, &dir, &name))
        goto oom;
    if (*name == '\0') {
        ld_set_error(err, errlen, "output path names a directory");
        free(cur);
        free(dir);
        return CLI_ERR_INPUT;
    }
    real = realpath(dir, NULL);
    if (!real) {
        ld_set_error(err, errlen, "directory '%s': %s", dir, strerror(errno));
        free(cur);
        free(dir);
        return CLI_ERR_INPUT;
    }
    *target = join_path(real, name);
    free(real);
    free(dir);
    free(cur);
    if (!*target)
        goto oom;
    return CLI_OK;
oom:
    free(cur);
    ld_set_error(err, errlen, "out of memory");
    return CLI_ERR_RUNTIME;
}

static const char *kind_name(mode_t m)
{
    return S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory"
                                                                                 : "a special file";
}

static int same_file(const cli_output *a, const cli_output *b)
{
    if (a->kind == CLI_OUT_STDOUT || b->kind == CLI_OUT_STDOUT)
        return a->kind == b->kind;
    if (a->exists != b->exists)
        return 0;
    if (a->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return strcmp(a->target, b->target) == 0;
}

int cli_outputs_check(cli_output *outs, size_t n, const char *const *inputs,
                      const char *const *input_opts, size_t nin, size_t *bad, char *err,
                      size_t errlen)
{
    size_t k, j;
    for (k = 0; k < n; k++) {
        cli_output *o = &outs[k];
        struct stat sb;
        int rc;
        if (!o->path)
            continue;
        *bad = k;
        if (strcmp(o->path, "-") == 0) {
            o->kind = CLI_OUT_STDOUT;
            continue;
        }
        rc = resolve(o->path, &o->target, &sb, &o->exists, err, errlen);
        if (rc != CLI_OK)
            return rc;
        if (!o->exists) {
            mode_t mask = umask(0);
            umask(mask);
            o->kind = CLI_OUT_FILE;
            o->mode = 0666 & ~mask;
        } else if (S_ISREG(sb.st_mode)) {
            o->kind = CLI_OUT_FILE;
            o->mode = sb.st_mode & 07777;
        } else if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
            o->kind = CLI_OUT_DIRECT;
        } else {
            ld_set_error(err, errlen, "%s '%s' is %s; an output may be a regular file, a link "
                         "to one, a character device, a FIFO or '-'", o->option, o->path,
                         kind_name(sb.st_mode));
            return CLI_ERR_INPUT;
        }
        if (o->exists) {
            o->dev = sb.st_dev;
            o->ino = sb.st_ino;
        }
        if (o->kind == CLI_OUT_FILE) {
            char *dir;
            const char *name;
            if (!split_path(o->target, &dir, &name)) {
                ld_set_error(err, errlen, "out of memory");
                return CLI_ERR_RUNTIME;
            }
            rc = access(dir, W_OK | X_OK);
            if (rc != 0)
                ld_set_error(err, errlen, "cannot write in directory '%s': %s", dir,
                             strerror(errno));
            free(dir);
            if (rc != 0)
                return CLI_ERR_INPUT;
        }
    }
    for (k = 0; k < n; k++) {
        const cli_output *o = &outs[k];
        if (!o->path)
            continue;
        *bad = k;
        /* Writing one device twice is the idiom of --output /dev/null. */
        if (o->kind == CLI_OUT_DIRECT && o->exists) {
            struct stat sb;
            if (stat(o->target, &sb) == 0 && S_ISCHR(sb.st_mode))
                continue;
        }
        for (j = k + 1; j < n; j++) {
            if (!outs[j].path || !same_file(o, &outs[j]))
                continue;
            if (o->kind == CLI_OUT_STDOUT)
                ld_set_error(err, errlen, "%s and %s are both '-': at most one output may go "
                             "to standard output", o->option, outs[j].option);
            else
                ld_set_error(err, errlen, "%s '%s' and %s '%s' are the same file: one result "
                             "would be lost", o->option, o->path, outs[j].option,
                             outs[j].path);
            return CLI_ERR_INPUT;
        }
        if (!o->exists)
            continue;
        for (j = 0; j < nin; j++) {
            struct stat sb;
            if (!inputs[j] || stat(inputs[j], &sb) != 0)
                continue;
            if (sb.st_dev == o->dev && sb.st_ino == o->ino) {
                ld_set_error(err, errlen, "%s '%s' is the same file as %s '%s': writing it "
                             "would destroy an input", o->option, o->path, input_opts[j],
                             inputs[j]);
                return CLI_ERR_INPUT;
            }
        }
    }
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* Signals before and during the commit                                     */
/* ------------------------------------------------------------------------ */

static const int commit_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
#define NSIG_COMMIT (sizeof commit_signals / sizeof commit_signals[0])
#define MAX_TEMPS 8

/* The temporaries the handler removes: paths owned by their outputs,
 * registered with the signals blocked. */
static const char *volatile temp_paths[MAX_TEMPS];
static volatile sig_atomic_t temp_count;
static struct sigaction saved_actions[NSIG_COMMIT];

static void on_signal(int sig)
{
    sig_atomic_t k;
    struct sigaction dfl;
    for (k = 0; k < temp_count; k++)
        if (temp_paths[k])
            unlink(temp_paths[k]);
    /* End the process as the signal would have: it is delivered again, with
     * its default action, once this handler returns. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

static void signal_set(sigset_t *set)
{
    size_t k;
    sigemptyset(set);
    for (k = 0; k < NSIG_COMMIT; k++)
        sigaddset(set, commit_signals[k]);
}

static void block_signals(sigset_t *old)
{
    sigset_t set;
    signal_set(&set);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void install_handlers(void)
{
    struct sigaction sa;
    size_t k;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    signal_set(&sa.sa_mask);
    temp_count = 0;
    for (k = 0; k < NSIG_COMMIT; k++)
        sigaction(commit_signals[k], &sa, &saved_actions[k]);
}

static void restore_handlers(void)
{
    size_t k;
    temp_count = 0;
    for (k = 0; k < NSIG_COMMIT; k++)
        sigaction(commit_signals[k], &saved_actions[k], NULL);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return 0;
        if (w == 0) {
            errno = EIO;
            return 0;
        }
        b += w;
        n -= (size_t)w;
    }
    return 1;
}

/* A new path "DIR/.lstmcl-XXXXXX" beside target (malloc'd template). */
static char *temp_template(const char *target)
{
    char *dir, *t;
    const char *name;
    if (!split_path(target, &dir, &name))
        return NULL;
    t = join_path(dir, TMP_NAME);
    free(dir);
    return t;
}

static int write_temp(cli_output *o, char *err, size_t errlen)
{
    sigset_t old;
    int fd, e;
    char *t = temp_template(o->target);
    if (!t) {
        ld_set_error(err, errlen, "out of memory");
        return CLI_ERR_RUNTIME;
    }
    /* Created and registered with the signals held, so that no signal can
     * leave it behind unregistered. */
    block_signals(&old);
    fd = mkstemp(t);
    e = errno;
    if (fd >= 0 && temp_count < MAX_TEMPS) {
        o->tmp = t;
        temp_paths[temp_count] = t;
        temp_count = temp_count + 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
        free(t);
        ld_set_error(err, errlen, "cannot create a temporary file beside it: %s", strerror(e));
        return (e == EACCES || e == EROFS) ? CLI_ERR_INPUT : CLI_ERR_RUNTIME;
    }
    if (!o->tmp) { /* more outputs than the handler tracks: cannot happen */
        close(fd);
        unlink(t);
        free(t);
        ld_set_error(err, errlen, "too many outputs");
        return CLI_ERR_RUNTIME;
    }
    if (!write_all(fd, o->header, o->header_len) || !write_all(fd, o->data, o->data_len) ||
        fchmod(fd, o->mode) != 0 || fsync(fd) != 0) {
        ld_set_error(err, errlen, "write failed: %s", strerror(errno));
        close(fd);
        return CLI_ERR_RUNTIME;
    }
    if (close(fd) != 0) {
        ld_set_error(err, errlen, "write failed: %s", strerror(errno));
        return CLI_ERR_RUNTIME;
    }
    return CLI_OK;
}

static int write_direct(cli_output *o, char *err, size_t errlen)
{
    int fd = 1, ok;
    if (o->kind == CLI_OUT_DIRECT) {
        /* Blocks on a FIFO until a reader opens it, as a shell's > does. */
        do
            fd = open(o->target, O_WRONLY | O_NOCTTY);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            ld_set_error(err, errlen, "cannot open: %s", strerror(errno));
            return CLI_ERR_RUNTIME;
        }
    } else {
        fflush(stdout);
    }
    ok = write_all(fd, o->header, o->header_len) && write_all(fd, o->data, o->data_len);
    if (!ok)
        ld_set_error(err, errlen, "write failed: %s", strerror(errno));
    if (o->kind == CLI_OUT_DIRECT && close(fd) != 0 && ok) {
        ld_set_error(err, errlen, "write failed: %s", strerror(errno));
        ok = 0;
    }
    return ok ? CLI_OK : CLI_ERR_RUNTIME;
}

/* A hard link to target under a fresh hidden name beside it. Returns 0 where
 * the file system has no hard links (nothing kept), -1 on other errors. */
static int keep_old(cli_output *o, char *err, size_t errlen)
{
    int tries;
    for (tries = 0; tries < 100; tries++) {
        char *t = temp_template(o->target);
        int fd;
        if (!t) {
            ld_set_error(err, errlen, "out of memory");
            return -1;
        }
        /* mkstemp picks a free name; the link takes it over. */
        fd = mkstemp(t);
        if (fd < 0) {
            ld_set_error(err, errlen, "cannot keep the old file: %s", strerror(errno));
            free(t);
            return -1;
        }
        close(fd);
        unlink(t);
        if (link(o->target, t) == 0) {
            o->backup = t;
            return 1;
        }
        free(t);
        if (errno == EEXIST)
            continue;
        if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK)
            return 0;
        ld_set_error(err, errlen, "cannot keep the old file: %s", strerror(errno));
        return -1;
    }
    ld_set_error(err, errlen, "cannot keep the old file: no free name");
    return -1;
}

static void sync_dir_of(const char *target)
{
    char *dir;
    const char *name;
    int fd;
    if (!split_path(target, &dir, &name))
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Puts every renamed output back as it was before the commit. An old file
 * that cannot be put back keeps its hidden link (o->renamed stays set, and
 * the message names the link). */
static void roll_back(cli_output *outs, size_t n, char *err, size_t errlen)
{
    size_t k;
    for (k = n; k-- > 0;) {
        cli_output *o = &outs[k];
        if (!o->renamed)
            continue;
        if (o->backup) {
            if (rename(o->backup, o->target) != 0) {
                size_t len = strlen(err);
                ld_set_error(err + len, errlen - len, "; and the old '%s' could not be put "
                             "back: it is kept as '%s'", o->target, o->backup);
                continue;
            }
        } else if (!o->exists) {
            unlink(o->target);
        }
        o->renamed = 0;
    }
}

static int rename_all(cli_output *outs, size_t n, size_t *bad, char *err, size_t errlen)
{
    size_t k;
    for (k = 0; k < n; k++) {
        cli_output *o = &outs[k];
        struct stat sb;
        if (!o->path || o->kind != CLI_OUT_FILE)
            continue;
        *bad = k;
        /* The path may have changed since the check: never replace anything
         * but a regular file, and keep the old one until all are in. */
        if (lstat(o->target, &sb) == 0) {
            if (!S_ISREG(sb.st_mode)) {
                ld_set_error(err, errlen, "%s became %s during the run; nothing written",
                             o->option, kind_name(sb.st_mode));
                return CLI_ERR_RUNTIME;
            }
            o->exists = 1;
            if (keep_old(o, err, errlen) < 0)
                return CLI_ERR_RUNTIME;
        } else {
            o->exists = 0;
        }
        if (rename(o->tmp, o->target) != 0) {
            ld_set_error(err, errlen, "cannot rename the temporary into place: %s; %s",
                         strerror(errno), "every output is left as it was");
            return CLI_ERR_RUNTIME;
        }
        o->renamed = 1;
        free(o->tmp);
        o->tmp = NULL;
    }
    return CLI_OK;
}

int cli_outputs_commit(cli_output *outs, size_t n, size_t *bad, char *err, size_t errlen)
{
    sigset_t old;
    size_t k;
    int rc = CLI_OK;

    install_handlers();
    for (k = 0; k < n && rc == CLI_OK; k++)
        if (outs[k].path && outs[k].kind == CLI_OUT_FILE) {
            *bad = k;
            rc = write_temp(&outs[k], err, errlen);
        }
    for (k = 0; k < n && rc == CLI_OK; k++)
        if (outs[k].path && outs[k].kind != CLI_OUT_FILE) {
            *bad = k;
            rc = write_direct(&outs[k], err, errlen);
        }
    block_signals(&old);
    if (rc == CLI_OK)
        rc = rename_all(outs, n, bad, err, errlen);
    if (rc != CLI_OK)
        roll_back(outs, n, err, errlen);
    for (k = 0; k < n; k++) {
        cli_output *o = &outs[k];
        if (o->tmp) {
            unlink(o->tmp);
            free(o->tmp);
            o->tmp = NULL;
        }
        if (o->backup) {
            if (rc == CLI_OK || !o->renamed)
                unlink(o->backup);
            free(o->backup);
            o->backup = NULL;
        }
        if (rc == CLI_OK && o->renamed)
            sync_dir_of(o->target);
    }
    restore_handlers();
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void cli_outputs_free(cli_output *outs, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) {
        if (outs[k].tmp)
            unlink(outs[k].tmp);
        free(outs[k].tmp);
        free(outs[k].backup);
        free(outs[k].target);
        outs[k].tmp = outs[k].backup = outs[k].target = NULL;
    }
}
