/*
 * prom.h - libprom, the Prometheus client library for C.
 *
 * This is the header applications include.  The library is being built
 * (issue 3: metrics, registry, exposition, HTTP, push, process metrics); what
 * exists so far is declared here.
 *
 * Build against it with pkg-config: cc app.c $(pkg-config --cflags --libs prom)
 */
#ifndef PROM_PROM_H
#define PROM_PROM_H

#ifdef __cplusplus
extern "C" {
#endif

#define PROM_VERSION_MAJOR 0
#define PROM_VERSION_MINOR 1
#define PROM_VERSION_PATCH 0

/* The library's version as "major.minor.patch", for checking at run time that
 * the library loaded is the one compiled against. */
const char *prom_version_string(void);

/* The same as one number: major * 10000 + minor * 100 + patch. */
unsigned prom_version(void);

#ifdef __cplusplus
}
#endif

#endif
