/* buildinfo.c - see buildinfo.h.  The values come from the generated header. */
#include "core/buildinfo.h"

#include "buildinfo_gen.h"

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif

#if defined(__x86_64__)
#define ARCH "amd64"
#elif defined(__aarch64__)
#define ARCH "arm64"
#elif defined(__i386__)
#define ARCH "386"
#else
#define ARCH "unknown"
#endif

static const core_buildinfo info = {
    .version = PROM_VERSION,
    .revision = PROM_REVISION,
    .branch = PROM_BRANCH,
    .build_date = PROM_BUILD_DATE,
    .compiler = COMPILER,
    .platform = "linux/" ARCH,
};

const core_buildinfo *core_buildinfo_get(void)
{
    return &info;
}

void core_buildinfo_print(FILE *out, const char *program)
{
    fprintf(out,
            "%s, version %s (branch: %s, revision: %s)\n"
            "  build date:       %s\n"
            "  compiler:         %s\n"
            "  platform:         %s\n",
            program, info.version, info.branch, info.revision, info.build_date, info.compiler,
            info.platform);
}
