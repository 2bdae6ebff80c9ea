/*
 * registry.h - registries, custom collectors and rendering.
 *
 * A registry holds metric families by name.  Registering a name twice, or a
 * name that would clash with another family's series in the exposition (a
 * counter "x" and a gauge "x_total", a histogram "x" and a gauge "x_bucket"),
 * is refused with PROM_EEXIST.  Rendering writes every family in name order,
 * and every child in order of its label values, like client_golang's Gather.
 *
 * The default registry is created on first use and holds the process
 * collector (process_cpu_seconds_total, process_resident_memory_bytes, ...).
 */
#ifndef PROM_REGISTRY_H
#define PROM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "prom/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The registry that metrics go to when opts.registry is NULL.  Never NULL
 * unless memory ran out. */
prom_registry *prom_registry_default(void);
/* An empty registry (without the process collector). */
prom_registry *prom_registry_new(void);
/* Frees a registry and every metric in it.  The default registry is freed
 * too (and made again on next use). */
void prom_registry_free(prom_registry *r);
/* Removes the family or collector registered as `name` and frees it; pointers
 * to it become invalid.  PROM_ENOENT if there is none. */
int prom_unregister(prom_registry *r, const char *name);

/* Adds the process collector (client_golang's names): process_cpu_seconds_total,
 * process_open_fds, process_max_fds, process_virtual_memory_bytes,
 * process_virtual_memory_max_bytes, process_resident_memory_bytes,
 * process_start_time_seconds, process_network_receive_bytes_total,
 * process_network_transmit_bytes_total.  Read from /proc at each scrape. */
int prom_process_collector_register(prom_registry *r);

/* ---- Custom collectors: a function that emits whole families at scrape time. */

typedef enum prom_type {
    PROM_COUNTER,
    PROM_GAUGE,
    PROM_HISTOGRAM,
    PROM_SUMMARY,
    PROM_UNTYPED,
    PROM_INFO,
    PROM_STATESET,
} prom_type;

typedef struct prom_emitter prom_emitter;

/* Called at every scrape; emits with the prom_emit_* functions below.  A
 * negative return is logged by the renderer, which keeps what was emitted. */
typedef int (*prom_collect_fn)(prom_emitter *e, void *userdata);

/* Registers a collector.  `families` names every family it may emit (checked
 * for clashes now, like client_golang's Describe); emitting another name at
 * scrape time is an error for that family.  With no families (n_families 0)
 * the collector is unchecked, as client_golang's collectors with an empty
 * Describe: it may emit any family, and if a name turns up twice in a render
 * only the first family of that name is written.  `name` identifies the
 * collector for prom_unregister. */
int prom_collector_register(prom_registry *r, const char *name, const char *const families[],
                            size_t n_families, prom_collect_fn fn, void *userdata);

/* Starts a family; the metrics that follow belong to it.  `unit` may be NULL. */
int prom_emit_family(prom_emitter *e, const char *name, const char *help, prom_type type,
                     const char *unit, const char *const label_names[], size_t n_labels);
/* A counter, gauge, untyped or stateset-state value with the family's label
 * values.  A NULL value leaves that label out of this metric (Prometheus treats
 * an absent label and an empty one alike; some exporters print neither). */
int prom_emit_value(prom_emitter *e, const char *const label_values[], double value);
/* A histogram: cumulative counts for each upper bound (the last bound +Inf,
 * whose count is the total), and the sum. */
int prom_emit_histogram(prom_emitter *e, const char *const label_values[], const double *bounds,
                        const uint64_t *cumulative, size_t n_buckets, double sum);
/* A summary: quantiles and their values, the sum and the count. */
int prom_emit_summary(prom_emitter *e, const char *const label_values[], const double *quantiles,
                      const double *values, size_t n_quantiles, double sum, uint64_t count);

/* ---- Rendering */

typedef enum prom_format {
    PROM_FORMAT_TEXT,        /* text/plain; version=0.0.4 */
    PROM_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
    PROM_FORMAT_PROTOBUF,    /* delimited io.prometheus.client.MetricFamily */
} prom_format;

/* A growable buffer the caller owns and may reuse across renders, so a steady
 * scrape loop allocates nothing once the buffer is large enough.  Start with
 * {0}; free with prom_buffer_free. */
typedef struct prom_buffer {
    char *data;
    size_t len;
    size_t cap;
} prom_buffer;

void prom_buffer_free(prom_buffer *b);

/* Replaces out's content with the registry in format `f`.  With n_names > 0
 * only the families named are written (the name[] URL parameter).  Returns 0
 * or a negative status. */
int prom_render(prom_registry *r, prom_format f, const char *const names[], size_t n_names,
                prom_buffer *out);

/* The format to answer an HTTP Accept header with (NULL: text), as
 * client_golang negotiates: protobuf if asked for with
 * proto=io.prometheus.client.MetricFamily;encoding=delimited, OpenMetrics if
 * asked for, else text. */
prom_format prom_negotiate(const char *accept);
/* The Content-Type header value of a format. */
const char *prom_content_type(prom_format f);

#ifdef __cplusplus
}
#endif

#endif
