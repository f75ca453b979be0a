/* Replays files (or every file of directories) through a fuzz target's
 * entry point, so that the corpus runs as a regression test without
 * libFuzzer. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int replay_file(const char *path)
{
    uint8_t *data;
    size_t size;
    char err[512];
    if (ld_read_file(path, &data, &size, err, sizeof err) != CLI_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 0;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

int main(int argc, char **argv)
{
    size_t files = 0;
    int k;
    for (k = 1; k < argc; k++) {
        struct stat sb;
        if (stat(argv[k], &sb) != 0) {
            fprintf(stderr, "%s: not found\n", argv[k]);
            return 1;
        }
        if (S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(argv[k]);
            struct dirent *e;
            if (!d)
                return 1;
            while ((e = readdir(d)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", argv[k], e->d_name);
                if (!replay_file(path))
                    return 1;
                files++;
            }
            closedir(d);
        } else {
            if (!replay_file(argv[k]))
                return 1;
            files++;
        }
    }
    printf("replayed %zu files\n", files);
    return files ? 0 : 1;
}
