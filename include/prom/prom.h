/*
 * prom.h - libprom, the Prometheus client library for C.
 *
 * Instrument a C program with counters, gauges, histograms and summaries, serve
 * them over HTTP for Prometheus to scrape, or push them to a Pushgateway.
 *
 *   #include <prom/prom.h>
 *
 *   static const char *labels[] = {"method", "endpoint"};
 *   prom_counter *requests = prom_counter_new(&(prom_opts){
 *       .name = "app_request_count", .help = "Application Request Count",
 *       .labels = labels, .n_labels = 2});
 *   prom_http_start(8000, NULL);
 *   ...
 *   prom_counter_inc(prom_counter_labels(requests, "GET", "/home"));
 *
 * Build with: cc app.c $(pkg-config --cflags --libs prom)
 *
 * The API is split into headers, all included here:
 *   prom/metrics.h     counters, gauges, histograms, summaries, info, stateset
 *   prom/registry.h    registries, custom collectors, rendering to a buffer
 *   prom/http.h        the HTTP exposition server
 *   prom/push.h        pushing to a Pushgateway
 *
 * Conventions:
 *   - Names start with prom_.  Objects are opaque and made by *_new functions.
 *   - A function that can fail returns a negative prom_status or NULL and leaves a
 *     message for the calling thread in prom_last_error().  Nothing in the library
 *     aborts or exits on a caller's mistake.
 *   - Every function may be called from any thread.  Updating a metric (inc, add,
 *     set, observe) takes no lock and allocates nothing.
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

/* What a failing function returns. */
typedef enum prom_status {
    PROM_OK = 0,
    PROM_EINVAL = -1, /* an invalid argument: a bad name, a wrong label count, a negative add */
    PROM_EEXIST = -2, /* a name already registered, or one that would clash with it */
    PROM_ENOENT = -3, /* nothing by that name or with those label values */
    PROM_ENOMEM = -4, /* out of memory */
    PROM_EIO = -5,    /* a system or network call failed (bind, connect, timeout) */
    PROM_EHTTP = -6,  /* the peer answered with an HTTP error status */
    PROM_ESTATE = -7, /* the call does not fit the object's state (e.g. inc on a family) */
} prom_status;

/* The message of the last failure in the calling thread: what went wrong and
 * with which name or value, e.g. `invalid metric name "2xx_total": must match
 * [a-zA-Z_:][a-zA-Z0-9_:]*`.  Empty if nothing failed yet.  The text stays valid
 * until the thread's next failing call. */
const char *prom_last_error(void);

/* A short name for a status ("invalid argument", ...). */
const char *prom_status_string(int status);

#ifdef __cplusplus
}
#endif

#include "prom/http.h"
#include "prom/metrics.h"
#include "prom/push.h"
#include "prom/registry.h"

#endif
