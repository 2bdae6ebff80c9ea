/* version.c - the library's version, see prom.h. */
#include "prom/prom.h"

#define STR2(x) #x
#define STR(x)  STR2(x)

const char *prom_version_string(void)
{
    return STR(PROM_VERSION_MAJOR) "." STR(PROM_VERSION_MINOR) "." STR(PROM_VERSION_PATCH);
}

unsigned prom_version(void)
{
    return PROM_VERSION_MAJOR * 10000 + PROM_VERSION_MINOR * 100 + PROM_VERSION_PATCH;
}
