/*
 * Replays a fuzz target's corpus as an ordinary test: every file under the
 * directories (or the files) named on the command line is fed to
 * LLVMFuzzerTestOneInput once.  A crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, n;
    unsigned char chunk[65536];

    if (!f) {
        perror(path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            data = realloc(data, cap);
            if (!data) {
                fclose(f);
                return -1;
            }
        }
        memcpy(data + len, chunk, n);
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data ? data : (const uint8_t *)"", len);
    free(data);
    return 0;
}

int
main(int argc, char **argv)
{
    int files = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            if (!dir)
                return 1;
            while ((e = readdir(dir)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                if (run_file(path) != 0)
                    return 1;
                files++;
            }
            closedir(dir);
        } else {
            if (run_file(argv[i]) != 0)
                return 1;
            files++;
        }
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
