/* Test harness for `--watch` under wine, never shipped: print the variable NAME as
 * `NAME=value` (or `NAME unset`), then wait SECONDS, or until the file STOP exists, and exit
 * with CODE. Usage: printvar NAME SECONDS CODE [STOP] */
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: printvar NAME SECONDS CODE [STOP]\n");
        return 2;
    }
    const char *value = getenv(argv[1]);
    if (value)
        printf("%s=%s\n", argv[1], value);
    else
        printf("%s unset\n", argv[1]);
    fflush(stdout);
    for (int tenth = 0; tenth < atoi(argv[2]) * 10; tenth++) {
        if (argc == 5 && GetFileAttributesA(argv[4]) != INVALID_FILE_ATTRIBUTES)
            break;
        Sleep(100);
    }
    return atoi(argv[3]);
}
