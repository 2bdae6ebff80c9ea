/*
 * notifier.h - sending alerts to Alertmanagers (upstream notifier/).
 *
 * Rules hand over their active and resolved alerts with notifier_send; the
 * notifier adds the external labels (those the alert does not have), applies
 * the global alert_relabel_configs, and queues them.  A sender thread takes
 * up to 256 alerts at a time and POSTs them as JSON to /api/v2/alerts of every
 * Alertmanager of every `alertmanagers` config, after that config's own
 * alert_relabel_configs, all at once through libcurl's multi interface with
 * each config's timeout, basic auth, authorization and TLS settings.  The
 * queue is bounded (--alertmanager.notification-queue-capacity): when it is
 * full the oldest alerts go and are counted as dropped, as upstream.
 *
 * Alertmanagers come from the static_configs of each `alertmanagers` entry
 * and from what service discovery finds for it (notifier_apply_config_sd),
 * through its relabel_configs (with __scheme__, __alerts_path__ and
 * __address__ as upstream sets them).
 */
#ifndef NOTIFIER_NOTIFIER_H
#define NOTIFIER_NOTIFIER_H

#include "config/config.h"
#include "core/core.h"

typedef struct notifier_alert {
    const core_labels *labels;
    const core_labels *annotations; /* may be NULL */
    int64_t starts_ms;              /* 0: not set */
    int64_t ends_ms;                /* 0: not set */
    const char *generator_url;      /* may be NULL */
} notifier_alert;

typedef struct notifier_opts {
    size_t queue_capacity;  /* 0: 10000 */
    const char *user_agent; /* NULL: "Prometheus/<version>" */
} notifier_opts;

/* Counters for /metrics, upstream's prometheus_notifications_* figures. */
typedef struct notifier_am_stats {
    const char *url; /* in the caller's arena */
    uint64_t sent, errors;
    double latency_sum_s;
    uint64_t latency_count;
} notifier_am_stats;

typedef struct notifier_stats {
    uint64_t dropped;
    size_t queue_length, queue_capacity;
    notifier_am_stats *ams;
    size_t n_ams;
} notifier_stats;

typedef struct notifier notifier;

notifier *notifier_new(const notifier_opts *o, core_err *err);
/* Sends what is queued (waiting at most 5 s more), then stops. */
void notifier_free(notifier *n);
/* Takes the alerting section and external labels of c, which must stay alive
 * until the next call (or notifier_free): its relabel rules are used. */
int notifier_apply_config(notifier *n, const cfg_config *c, core_err *err);
/* The same with discovered Alertmanagers: discovered(ctx, i, arena, &targets)
 * gives the label sets (with __address__, and __meta_* labels) found for
 * alertmanagers entry i, which go through its relabel_configs as static
 * targets do.  Call again when discovery finds new ones. */
typedef size_t (*notifier_discovered_fn)(void *ctx, size_t am_index, core_arena *arena,
                                         core_labels ***targets);
int notifier_apply_config_sd(notifier *n, const cfg_config *c, notifier_discovered_fn discovered,
                             void *ctx, core_err *err);
/* Queues alerts (copied). */
void notifier_send(notifier *n, const notifier_alert *alerts, size_t k);
/* The Alertmanagers in use: their /api/v2/alerts URLs, in the arena. */
size_t notifier_alertmanagers(notifier *n, core_arena *arena, const char ***out);
void notifier_get_stats(notifier *n, core_arena *arena, notifier_stats *out);

#endif
