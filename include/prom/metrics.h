/*
 * metrics.h - counters, gauges, histograms, summaries, info and stateset metrics.
 *
 * A metric is created with a prom_opts and registered at once in a registry
 * (the default one unless opts.registry says otherwise); the registry owns it.
 *
 * A metric with label names is a family: look up a child by label values with
 * prom_<type>_labels() and update the child.  The child pointer stays valid
 * until the family is unregistered, so a caller may keep it and skip the lookup
 * next time; after prom_<type>_remove() or _clear() a kept child still accepts
 * updates but is no longer exported.  A metric without label names is its own
 * only child and is updated directly.  Updating a family that has labels
 * returns PROM_ESTATE.
 *
 * Names follow Prometheus's rules: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * names [a-zA-Z_][a-zA-Z0-9_]*, and label names starting with "__" are reserved.
 * Histograms may not use the label "le", summaries not "quantile".
 *
 * Updates (inc, add, set, observe) never lock and never allocate: counters and
 * histograms count in per-thread cells that a scrape adds up, gauges are one
 * atomic value.
 */
#ifndef PROM_METRICS_H
#define PROM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PROM_SENTINEL __attribute__((sentinel))
#else
#define PROM_SENTINEL
#endif

typedef struct prom_registry prom_registry;
typedef struct prom_counter prom_counter;
typedef struct prom_gauge prom_gauge;
typedef struct prom_histogram prom_histogram;
typedef struct prom_summary prom_summary;
typedef struct prom_info prom_info;
typedef struct prom_stateset prom_stateset;

/* A label name and value (for const labels, exemplars, info metrics). */
typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

/* What every metric is created with.  Strings are copied. */
typedef struct prom_opts {
    const char *name; /* required */
    const char *help; /* required; may be "" */
    /* OpenMetrics unit ("seconds", "bytes"): shown as "# UNIT"; the name must
     * then end in "_<unit>" (for counters before "_total"). Optional. */
    const char *unit;
    const char *const *labels; /* label names of a family */
    size_t n_labels;
    const prom_label *const_labels; /* labels with the same value on every child */
    size_t n_const_labels;
    prom_registry *registry; /* NULL: the default registry */
} prom_opts;

/* ---- Counter: a value that only goes up (and resets when the process restarts). */

prom_counter *prom_counter_new(const prom_opts *opts);
/* The child with these label values, one per label name of the family in the
 * order of opts.labels, created on first use.  The variadic form takes the
 * values followed by NULL: prom_counter_labels(requests, "GET", "/home", NULL).
 * NULL (with prom_last_error) when the count is wrong or a value is not UTF-8. */
prom_counter *prom_counter_labels(prom_counter *family, ...) PROM_SENTINEL;
prom_counter *prom_counter_labels_v(prom_counter *family, const char *const values[], size_t n);
/* Removes one child (PROM_ENOENT if there is none) or every child. */
int prom_counter_remove(prom_counter *family, const char *const values[], size_t n);
void prom_counter_clear(prom_counter *family);
int prom_counter_inc(prom_counter *c);
/* Adds v >= 0; a negative or NaN v is refused with PROM_EINVAL. */
int prom_counter_add(prom_counter *c, double v);
/* Adds v and records an exemplar (OpenMetrics) with these labels and the
 * current time; the exemplar's labels may hold at most 128 UTF-8 characters. */
int prom_counter_add_exemplar(prom_counter *c, double v, const prom_label *labels, size_t n);
/* The current value (the sum over every thread's cell). */
double prom_counter_value(const prom_counter *c);
/* A counter whose value fn(userdata) returns at each scrape (no labels). */
prom_counter *prom_counter_func_new(const prom_opts *opts, double (*fn)(void *), void *userdata);

/* ---- Gauge: a value that goes up and down. */

prom_gauge *prom_gauge_new(const prom_opts *opts);
prom_gauge *prom_gauge_labels(prom_gauge *family, ...) PROM_SENTINEL;
prom_gauge *prom_gauge_labels_v(prom_gauge *family, const char *const values[], size_t n);
int prom_gauge_remove(prom_gauge *family, const char *const values[], size_t n);
void prom_gauge_clear(prom_gauge *family);
int prom_gauge_set(prom_gauge *g, double v);
int prom_gauge_inc(prom_gauge *g);
int prom_gauge_dec(prom_gauge *g);
int prom_gauge_add(prom_gauge *g, double v);
int prom_gauge_sub(prom_gauge *g, double v);
/* Sets the gauge to the current Unix time in seconds. */
int prom_gauge_set_to_current_time(prom_gauge *g);
double prom_gauge_value(const prom_gauge *g);
/* A gauge whose value fn(userdata) returns at each scrape (no labels). */
prom_gauge *prom_gauge_func_new(const prom_opts *opts, double (*fn)(void *), void *userdata);

/* ---- Histogram: observations counted in buckets, with their sum and count. */

/* Upstream's default buckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (+Inf). */
extern const double prom_default_buckets[11];
#define PROM_DEFAULT_BUCKETS_COUNT 11

/* `buckets` are the upper bounds, strictly increasing; +Inf is implied (a last
 * +Inf is accepted and dropped).  NULL and 0 give the default buckets. */
prom_histogram *prom_histogram_new(const prom_opts *opts, const double *buckets, size_t n_buckets);
prom_histogram *prom_histogram_labels(prom_histogram *family, ...) PROM_SENTINEL;
prom_histogram *prom_histogram_labels_v(prom_histogram *family, const char *const values[],
                                        size_t n);
int prom_histogram_remove(prom_histogram *family, const char *const values[], size_t n);
void prom_histogram_clear(prom_histogram *family);
int prom_histogram_observe(prom_histogram *h, double v);
/* Observes v and records an exemplar on the bucket it falls in. */
int prom_histogram_observe_exemplar(prom_histogram *h, double v, const prom_label *labels,
                                    size_t n);
/* Count and sum of what was observed (for tests). */
uint64_t prom_histogram_count(const prom_histogram *h);
double prom_histogram_sum(const prom_histogram *h);

/* Fills out[0..count) with start, start+width, ...  (width > 0, count >= 1). */
int prom_buckets_linear(double start, double width, size_t count, double *out);
/* Fills out[0..count) with start, start*factor, ...  (start > 0, factor > 1). */
int prom_buckets_exponential(double start, double factor, size_t count, double *out);

/* ---- Summary: streaming quantiles over a sliding window, with sum and count. */

typedef struct prom_quantile {
    double quantile; /* in [0, 1] */
    double error;    /* allowed rank error, in [0, 1] */
} prom_quantile;

typedef struct prom_summary_opts {
    /* Targeted quantiles, e.g. {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}.  None
     * (the default, as in client_golang) exposes only _sum and _count. */
    const prom_quantile *objectives;
    size_t n_objectives;
    double max_age_seconds; /* window of the quantiles; 0: 600 (10 minutes) */
    unsigned age_buckets;   /* the window slides in this many steps; 0: 5 */
    unsigned buf_cap;       /* observations buffered before they are merged; 0: 500 */
} prom_summary_opts;

/* `sopts` may be NULL for a summary without quantiles. */
prom_summary *prom_summary_new(const prom_opts *opts, const prom_summary_opts *sopts);
prom_summary *prom_summary_labels(prom_summary *family, ...) PROM_SENTINEL;
prom_summary *prom_summary_labels_v(prom_summary *family, const char *const values[], size_t n);
int prom_summary_remove(prom_summary *family, const char *const values[], size_t n);
void prom_summary_clear(prom_summary *family);
int prom_summary_observe(prom_summary *s, double v);
uint64_t prom_summary_count(const prom_summary *s);
double prom_summary_sum(const prom_summary *s);
/* The current estimate of quantile q (one of the objectives); NaN when nothing
 * was observed in the window. */
double prom_summary_quantile(const prom_summary *s, double q);

/* ---- Info (OpenMetrics): constant labels describing the target, value 1.
 * Exposed as <name>_info; the name must not itself end in "_info". */

prom_info *prom_info_new(const prom_opts *opts);
prom_info *prom_info_labels(prom_info *family, ...) PROM_SENTINEL;
prom_info *prom_info_labels_v(prom_info *family, const char *const values[], size_t n);
int prom_info_remove(prom_info *family, const char *const values[], size_t n);
void prom_info_clear(prom_info *family);
/* Replaces the info labels; their names must differ from the family's. */
int prom_info_set(prom_info *info, const prom_label *labels, size_t n);

/* ---- StateSet (OpenMetrics): a set of named states, each true or false.
 * In the text format each state is a gauge sample with the label <name>="<state>". */

prom_stateset *prom_stateset_new(const prom_opts *opts, const char *const states[], size_t n);
prom_stateset *prom_stateset_labels(prom_stateset *family, ...) PROM_SENTINEL;
prom_stateset *prom_stateset_labels_v(prom_stateset *family, const char *const values[], size_t n);
int prom_stateset_remove(prom_stateset *family, const char *const values[], size_t n);
void prom_stateset_clear(prom_stateset *family);
/* Makes `state` the one true state (an enum, like client_python's Enum). */
int prom_stateset_set(prom_stateset *s, const char *state);
/* Sets one state's truth, leaving the others. */
int prom_stateset_set_state(prom_stateset *s, const char *state, int value);

#ifdef __cplusplus
}
#endif

#endif
