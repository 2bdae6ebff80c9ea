/*
 * buildinfo.h - what was built: version, revision, branch, date, compiler.
 *
 * Every program prints this for --version, in upstream's layout:
 *
 *   prom-server, version 0.1.0 (branch: main, revision: 1a2b3c4d5e6f)
 *     build date:       20261126-15:24:03
 *     compiler:         gcc 12.2.0
 *     platform:         linux/amd64
 */
#ifndef CORE_BUILDINFO_H
#define CORE_BUILDINFO_H

#include <stdio.h>

typedef struct core_buildinfo {
    const char *version;
    const char *revision;
    const char *branch;
    const char *build_date;
    const char *compiler;
    const char *platform;
} core_buildinfo;

const core_buildinfo *core_buildinfo_get(void);
/* Writes the --version text for `program` to `out`. */
void core_buildinfo_print(FILE *out, const char *program);

#endif
