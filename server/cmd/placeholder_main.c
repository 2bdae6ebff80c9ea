/*
 * placeholder_main.c - the main of a program whose issue is not done yet.
 *
 * It answers --help and --version and says that it is not built yet, so the
 * build's program list is complete from the start and scripts/run can tell
 * what to skip.  CMake compiles it once per such program with PROGRAM, SUMMARY
 * and ISSUE defined (see prom_placeholder in cmake/PromTargets.cmake).
 */
#include "core/core.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    core_flags f = {
        .program = PROGRAM,
        .summary = SUMMARY " (not built yet: " ISSUE ")",
    };
    core_err err;
    int rc = core_flags_parse(&f, argc, argv, NULL, stdout, &err);
    if (rc == 1) return 0;
    if (rc < 0) {
        fprintf(stderr, "%s: error: %s, try --help\n", PROGRAM, err.msg);
        return 1;
    }
    fprintf(stderr, "%s: not built yet (%s); only --help and --version work\n", PROGRAM, ISSUE);
    return 2;
}
