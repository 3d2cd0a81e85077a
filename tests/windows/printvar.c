/* Test harness for `--watch` under wine, never shipped: print the variable NAME as
 * `NAME=value` (or `NAME unset`), then wait SECONDS and exit with CODE.
 * Usage: printvar NAME SECONDS CODE */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: printvar NAME SECONDS CODE\n");
        return 2;
    }
    const char *value = getenv(argv[1]);
    if (value)
        printf("%s=%s\n", argv[1], value);
    else
        printf("%s unset\n", argv[1]);
    fflush(stdout);
    Sleep((DWORD)atoi(argv[2]) * 1000);
    return atoi(argv[3]);
}
