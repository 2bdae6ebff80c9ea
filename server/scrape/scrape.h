/*
 * scrape.h - scraping targets into the TSDB (upstream scrape/).
 *
 * The caller (prom-server, from the configuration and service discovery)
 * hands the manager the complete list of targets, each already relabeled;
 * the manager keeps one loop per target: a target that stays (same URL and
 * labels) keeps its loop, its series cache and its schedule; a new one starts
 * at its deterministic offset in the interval; one that goes away gets
 * staleness markers for everything it last exposed.
 *
 * A scrape is an HTTP GET through libcurl's multi interface (one thread drives
 * every transfer and timer), with upstream's Accept and
 * X-Prometheus-Scrape-Timeout-Seconds headers, gzip, a timeout and a body size
 * limit.  The body is parsed by server/model's zero-copy parsers; each series
 * is looked up in the target's cache by its raw text, so a series seen before
 * costs a hash lookup and an append by ref, with no label parsing.  New
 * series get the target's labels (honor_labels, or the conflicting scraped
 * labels renamed exported_*), then metric relabeling; the outcome, dropped or
 * kept, is cached.  Series that vanished since the last scrape, every series
 * of a failed scrape and of a removed target get staleness markers.  Each
 * scrape also appends up, scrape_duration_seconds, scrape_samples_scraped,
 * scrape_samples_post_metric_relabeling and scrape_series_added.
 */
#ifndef SCRAPE_SCRAPE_H
#define SCRAPE_SCRAPE_H

#include "config/config.h"
#include "core/core.h"
#include "model/model.h"
#include "tsdb/tsdb.h"

/* Metric relabeling: returns the relabeled set (malloc'd) or NULL when the
 * series is dropped.  The manager calls it from its thread only. */
typedef core_labels *(*scrape_relabel_fn)(void *ctx, const core_labels *in);

/* One target, as discovery and target relabeling leave it.  The manager
 * copies everything it keeps. */
typedef struct scrape_target_def {
    const char *pool;              /* job_name */
    const char *url;               /* scheme://host:port/path?params */
    const core_labels *labels;     /* added to every series: job, instance, ... */
    const core_labels *discovered; /* before relabeling (API only; may be NULL) */
    int64_t interval_ms;
    int64_t timeout_ms;
    bool honor_labels;
    bool honor_timestamps;
    /* Staleness markers also for series exposed with their own timestamps
     * (upstream leaves those out unless this is set). */
    bool track_timestamps_staleness;
    uint64_t sample_limit; /* 0: none */
    uint64_t label_limit;
    uint64_t label_name_length_limit;
    uint64_t label_value_length_limit;
    int64_t body_size_limit; /* bytes, 0: none */
    const char *accept;      /* Accept header; NULL: upstream's default */
    const char *bearer;      /* Authorization credentials, or NULL */
    const char *auth_type;   /* Authorization type; NULL: "Bearer" */
    const char *basic_user;  /* basic auth, or NULL */
    const char *basic_password;
    const char *ca_file, *cert_file, *key_file, *server_name;
    bool insecure_skip_verify;
    bool follow_redirects;
    const char *proxy_url;
    scrape_relabel_fn metric_relabel; /* NULL: none */
    void *relabel_ctx;                /* must outlive the target */
} scrape_target_def;

typedef enum scrape_health {
    SCRAPE_UNKNOWN,
    SCRAPE_UP,
    SCRAPE_DOWN,
} scrape_health;

/* What the API and UI show of a target (strings in the caller's arena). */
typedef struct scrape_target_state {
    const char *pool, *url;
    const core_labels *labels, *discovered;
    scrape_health health;
    const char *last_error; /* "" when none */
    int64_t last_scrape_ms; /* 0 before the first */
    double last_duration_s;
    uint64_t last_samples;
    int64_t interval_ms, timeout_ms;
} scrape_target_state;

typedef struct scrape_manager scrape_manager;

typedef struct scrape_opts {
    uint64_t offset_seed;   /* mixed into each target's offset (upstream: external labels + host) */
    const char *user_agent; /* NULL: "Prometheus/<version>" */
} scrape_opts;

/* Starts the scrape thread; appends go to `db`. */
scrape_manager *scrape_manager_new(tsdb_db *db, const scrape_opts *opts, core_err *err);
/* Stops every loop (no staleness markers, as upstream at shutdown). */
void scrape_manager_free(scrape_manager *m);
/* Replaces the set of targets (see the top of this file) and returns once the
 * scrape thread took them: from then on nothing the old defs pointed at
 * (metric relabel rules) is used. */
int scrape_manager_sync(scrape_manager *m, const scrape_target_def *defs, size_t n, core_err *err);
/* A snapshot of every target, in the arena, sorted by pool then URL. */
size_t scrape_manager_targets(scrape_manager *m, core_arena *arena, scrape_target_state **out);

/* ---- From discovered targets to scrape targets (targets.c) */

typedef struct scrape_populated {
    core_labels *labels;     /* what series get (no "__" labels); NULL when dropped */
    core_labels *all;        /* every label after relabeling, __address__ and all */
    core_labels *discovered; /* before relabeling (the API's discoveredLabels) */
    char *url;
    int64_t interval_ms, timeout_ms;
} scrape_populated;

/* Builds a target from a discovered label set and its group's labels under
 * scrape config sc, as upstream's PopulateLabels: *out->labels is NULL when
 * relabeling dropped it; -1 with err for an invalid target ("no address",
 * "scrape interval cannot be 0", ...), *out->discovered set either way.
 * Free with scrape_populated_destroy. */
int scrape_populate(const cfg_scrape *sc, const core_labels *target, const core_labels *group,
                    scrape_populated *out, core_err *err);
void scrape_populated_destroy(scrape_populated *p);

/* What a def made from a config owns (header text, secrets read from files). */
typedef struct scrape_def_store {
    core_sb accept;
    char *user, *password, *credentials;
} scrape_def_store;

/* Fills *d from scrape config sc and populated target p (both must outlive
 * the def and its sync: the metric relabel rules are sc's). */
void scrape_def_init(scrape_def_store *st, const cfg_scrape *sc, const scrape_populated *p,
                     scrape_target_def *d);
void scrape_def_store_destroy(scrape_def_store *st);
/* A scrape_relabel_fn over a cfg_relabels (ctx). */
core_labels *scrape_config_relabel(void *ctx, const core_labels *in);

/* One family's metadata as a target last exposed it (HELP, TYPE, UNIT). */
typedef struct scrape_metadata {
    const char *pool;
    const core_labels *labels; /* the target's */
    const char *metric;
    model_type type;         /* MODEL_TYPE_UNKNOWN when only HELP/UNIT was given */
    const char *help, *unit; /* "" when not given */
} scrape_metadata;

/* Every target's metadata, in the arena (targets in sync order, families in
 * no particular order), for /api/v1/metadata and /api/v1/targets/metadata. */
size_t scrape_manager_metadata(scrape_manager *m, core_arena *arena, scrape_metadata **out);

/* How far apart a target's scrapes actually started, per configured interval. */
typedef struct scrape_interval_stat {
    int64_t interval_ms;
    uint64_t count;
    double sum_seconds;
} scrape_interval_stat;

/* For prometheus_target_interval_length_seconds{interval} (count and sum). */
size_t scrape_manager_intervals(scrape_manager *m, core_arena *arena, scrape_interval_stat **out);

/* Upstream's Accept header for scrape_protocols given by name
 * ("OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0",
 * "PrometheusText0.0.4", "PrometheusProto"); NULL names: the default list.
 * Into out; -1 with err on an unknown name. */
int scrape_accept_header(const char *const *protocols, size_t n, core_sb *out, core_err *err);

/* How long after now_ms a target's first scrape comes, as upstream's
 * scrapeLoop computes it: every target scrapes at a fixed offset within its
 * interval, (hash ^ seed) mod interval after each multiple of the interval,
 * so scrapes of many targets spread out and stay put across restarts. */
int64_t scrape_first_delay(uint64_t target_hash, uint64_t seed, int64_t interval_ms,
                           int64_t now_ms);

#endif
