/*
 * internal.h - what libprom's files share and users never see.
 *
 * Names here start with pm_.  The pieces:
 *
 *   pm_buf      appending to a prom_buffer without ever aborting: on a failed
 *               allocation the buffer turns "failed" and further appends do
 *               nothing, so an encoder checks once at the end (buf.c)
 *   pm_fmt_*    number formatting as client_golang prints numbers (fmt.c)
 *   views       a read-only picture of one family and one metric, which the
 *               registry fills at render time and the encoders turn into
 *               text, OpenMetrics or protobuf (encode_*.c)
 *   pm_error    the thread's last error message behind prom_last_error (error.c)
 */
#ifndef CLIENT_INTERNAL_H
#define CLIENT_INTERNAL_H

#include "prom/prom.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Errors: set the calling thread's message and return `status`. */

int pm_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Buffers */

typedef struct pm_buf {
    prom_buffer *b;
    bool failed; /* an allocation failed; everything after it was dropped */
} pm_buf;

/* Makes room for `extra` more bytes; false (and failed set) if it cannot. */
bool pm_buf_reserve(pm_buf *w, size_t extra);
void pm_buf_add(pm_buf *w, const void *data, size_t n);
void pm_buf_adds(pm_buf *w, const char *s);
void pm_buf_addc(pm_buf *w, char c);
void pm_buf_add_u64(pm_buf *w, uint64_t v);

/* ---- Numbers */

#define PM_FMT_BUFSZ 32

/* Writes v as client_golang's text format does: the shortest decimal that reads
 * back as the same double ('g' style: 1e+06, 0.001, 1.5e-07), with +Inf, -Inf
 * and NaN.  Returns the length; buf is NUL-terminated. */
size_t pm_fmt_double(double v, char buf[PM_FMT_BUFSZ]);
/* The same as OpenMetrics wants it: like pm_fmt_double, but a value without an
 * exponent or a point gets ".0" (1.0, 0.0, -1.0, 100.0). */
size_t pm_fmt_double_om(double v, char buf[PM_FMT_BUFSZ]);

/* ---- Views: what an encoder gets to see. */

typedef struct pm_exemplar_view {
    const prom_label *labels;
    size_t n_labels;
    double value;
    double timestamp; /* Unix seconds; NaN when there is none */
} pm_exemplar_view;

typedef struct pm_family_view {
    const char *name; /* as registered (a counter may or may not end in _total) */
    const char *help;
    const char *unit; /* NULL when none */
    prom_type type;
    /* Every label name of the family's metrics (const labels included), sorted
     * by name; each metric view's label_values follow this order.  The encoder
     * adds "le" (histograms), "quantile" (summaries) or the state label
     * (statesets) after these. */
    const char *const *label_names;
    size_t n_labels;
} pm_family_view;

typedef struct pm_metric_view {
    const char *const *label_values; /* n_labels of the family, same order; a NULL
                                      * value leaves that label out of this metric */

    /* PROM_COUNTER, PROM_GAUGE, PROM_UNTYPED */
    double value;
    const pm_exemplar_view *exemplar; /* counter only; NULL when none */

    /* Unix seconds when the child was created, for OpenMetrics' _created line
     * (counters, histograms, summaries); NaN for none. */
    double created;

    /* PROM_HISTOGRAM: n_buckets upper bounds, the last one +Inf, with cumulative
     * counts (cumulative[n_buckets - 1] is the total count) and one exemplar
     * slot per bucket (bucket_exemplars may be NULL, entries may be NULL). */
    size_t n_buckets;
    const double *bounds;
    const uint64_t *cumulative;
    const pm_exemplar_view *const *bucket_exemplars;

    /* PROM_HISTOGRAM and PROM_SUMMARY */
    double sum;
    uint64_t count;

    /* PROM_SUMMARY */
    size_t n_quantiles;
    const double *quantiles;
    const double *quantile_values;

    /* PROM_INFO: the info labels, sorted by name; they follow the family's
     * labels in the output, and the value is 1. */
    const prom_label *info_labels;
    size_t n_info_labels;

    /* PROM_STATESET: each state with its truth (0 or 1). */
    const char *const *states;
    const uint8_t *state_values;
    size_t n_states;
} pm_metric_view;

/* ---- Encoders.  The registry calls, for every family it renders,
 * pm_enc_family_begin, pm_enc_metric once per metric (in the order they are to
 * appear), pm_enc_family_end; and pm_enc_finish at the very end. */

typedef struct pm_enc {
    prom_format format;
    pm_buf *out;
    /* protobuf: the family being built, length-prefixed on pm_enc_family_end */
    prom_buffer scratch;
    pm_buf scratch_w;
    /* protobuf: room for one metric's message structs, reused metric to metric */
    prom_buffer work;
} pm_enc;

void pm_enc_init(pm_enc *e, prom_format format, pm_buf *out);
void pm_enc_family_begin(pm_enc *e, const pm_family_view *f);
void pm_enc_metric(pm_enc *e, const pm_family_view *f, const pm_metric_view *m);
void pm_enc_family_end(pm_enc *e, const pm_family_view *f);
/* Ends the exposition ("# EOF" for OpenMetrics) and frees the encoder's memory. */
void pm_enc_finish(pm_enc *e);

/* The protobuf side of the calls above (encode_proto.c); encode.c dispatches. */
void pm_proto_family_begin(pm_enc *e, const pm_family_view *f);
void pm_proto_metric(pm_enc *e, const pm_family_view *f, const pm_metric_view *m);
void pm_proto_family_end(pm_enc *e, const pm_family_view *f);

#endif
