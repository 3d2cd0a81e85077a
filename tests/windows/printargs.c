/* Test harness only: prints each argument it received after its own name, one per line in
 * brackets, as the C runtime split the command line. The .cmd shim of run.sh forwards its
 * arguments (%*) to it, as npm's and pip's shims do. */
#include <stdio.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        printf("[%s]\n", argv[i]);
    return 0;
}
