/*
 * web.h - the door of server/web: prom-server's HTTP API v1.
 *
 * A web_api answers /api/v1/... the way Prometheus 3.x does, through a
 * core_http server whose routing, route prefix, gzip and limits it shares:
 *
 *   GET/POST /api/v1/query, /query_range        PromQL through the engine
 *   GET/POST /api/v1/format_query, /parse_query  the parser's view of a query
 *   GET/POST /api/v1/series, /labels             series and label names
 *   GET      /api/v1/label/:name/values          label values
 *   GET      /api/v1/status/buildinfo, /flags, /runtimeinfo, /config
 *   GET      /api/v1/targets, /scrape_pools      scrape targets, active and dropped
 *   GET      /api/v1/targets/metadata, /metadata what targets said of their metrics
 *   GET      /api/v1/status/tsdb, /walreplay     head cardinality, WAL replay
 *   POST/PUT /api/v1/admin/tsdb/snapshot, /delete_series, /clean_tombstones
 *                                                (with --web.enable-admin-api)
 *   OPTIONS  /api/v1/...                         CORS preflight (204)
 *   GET      /federate?match[]=...               the latest sample of each matching
 *                                                series in the negotiated exposition
 *                                                format, with the external labels
 *
 * Any other path under /api/v1/ gets core_http's 404, as upstream's router
 * answers it.  Every answer uses upstream's envelope:
 *
 *   {"status":"success","data":...,"warnings":[...],"infos":[...]}
 *   {"status":"error","errorType":"bad_data","error":"..."}
 *
 * with errorType bad_data 400, execution 422, canceled 499, timeout 503,
 * internal 500, not_found 404, and JSON written byte for byte as upstream's
 * jsoniter writes it (HTML-escaped strings, sample values as strings,
 * timestamps as Unix seconds).
 *
 * Queries run through pql_eval_instant / pql_eval_range on the storage
 * given here, at most max_concurrency at a time (the others wait in a queue
 * until their deadline), each bounded by the smaller of its `timeout`
 * parameter and --query.timeout.
 *
 *     web_api_opts o = {.storage = st, .engine = PQL_ENGINE_OPTS_DEFAULT, ...};
 *     web_api *api = web_api_new(&o, &err);
 *     web_api_register(api, srv, &err);      // before core_http_start
 *     ...
 *     core_http_free(srv);                   // stops handlers first
 *     web_api_free(api);
 */
#ifndef WEB_WEB_H
#define WEB_WEB_H

#include "core/core.h"
#include "promql/engine.h"
#include "promql/promql.h"
#include "promql/storage.h"
#include "rules/rules.h"
#include "scrape/scrape.h"
#include "tsdb/tsdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One command-line flag as /api/v1/status/flags shows it. */
typedef struct web_flag {
    const char *name;  /* "query.timeout" */
    const char *value; /* "2m" */
} web_flag;

/* Where the target and metadata endpoints read the scrape manager's state;
 * both functions as scrape_manager_targets / scrape_manager_metadata (their
 * results in the arena).  NULL functions: no targets. */
typedef struct web_scrape_source {
    size_t (*targets)(void *ctx, core_arena *arena, scrape_target_state **out);
    size_t (*metadata)(void *ctx, core_arena *arena, scrape_metadata **out);
    void *ctx;
} web_scrape_source;

/* What /status/walreplay reports: the WAL segments replayed at start. */
typedef struct web_wal_replay {
    int min, max, current;
} web_wal_replay;

/* The rules manager and the notifier, for /rules, /alerts and /alertmanagers
 * (each callback may be NULL: empty answers). */
typedef struct web_rules_source {
    size_t (*groups)(void *ctx, core_arena *arena, rules_group_snap **out);
    size_t (*alerts)(void *ctx, core_arena *arena, rules_active_alert **out);
    size_t (*alertmanagers)(void *ctx, core_arena *arena, const char ***urls);
    void *ctx;
} web_rules_source;

typedef struct web_api_opts {
    /* What queries, series and label lookups read.  Borrowed: it must live
     * until web_api_free and be safe for concurrent readers. */
    pql_storage *storage;
    pql_engine_opts engine;   /* lookback delta, max samples, subquery step */
    pql_parse_opts parse;     /* language features turned on by --enable-feature */
    int64_t query_timeout_ms; /* --query.timeout; 0: 2m */
    unsigned max_concurrency; /* --query.max-concurrency; 0: 20 */
    const web_flag *flags;    /* /status/flags, copied; any order */
    size_t nflags;
    const char *config_yaml;       /* /status/config (copied; NULL: "") */
    const char *storage_retention; /* runtimeinfo's storageRetention ("15d") */
    const char *cors_origin;       /* --web.cors.origin, anchored regex; NULL: ".*" */
    int64_t start_ms;              /* when the process started (runtimeinfo) */

    web_scrape_source scrape; /* /targets, /targets/metadata, /metadata */
    web_rules_source rules;   /* /rules, /alerts, /alertmanagers */
    /* The database behind /status/tsdb and the admin endpoints (NULL: they
     * answer upstream's "TSDB not ready"); borrowed like storage. */
    tsdb_db *db;
    const char *db_dir; /* --storage.tsdb.path: snapshots go to <db_dir>/snapshots */
    bool enable_admin;  /* --web.enable-admin-api */
    web_wal_replay wal_replay;
    /* --web.external-url ("" or NULL: http://<hostname>:<listen port>/) and
     * the first --web.listen-address: the targets' globalUrl. */
    const char *external_url;
    const char *listen_address;
} web_api_opts;

/* A target that relabeling dropped, for /targets' droppedTargets. */
typedef struct web_dropped_target {
    const char *pool;
    const core_labels *discovered;
} web_dropped_target;

/* What the configuration in force says about scraping, for the API: every
 * scrape pool (job name, any order), the dropped targets kept for the API
 * (keep_dropped_targets applied, in discovery order) and how many were
 * dropped per pool in all (counts[i] for pools[i]). */
typedef struct web_scrape_config {
    const char *const *pools;
    const uint64_t *dropped_counts;
    size_t npools;
    const web_dropped_target *dropped;
    size_t ndropped;
} web_scrape_config;

typedef struct web_api web_api;

/* Copies what it needs from opts.  Fails on a CORS regex that does not compile. */
web_api *web_api_new(const web_api_opts *opts, core_err *err);
/* Adds the /api/v1 routes and /federate to srv (before core_http_start). */
int web_api_register(web_api *api, core_http_server *srv, core_err *err);
/* Replaces what /status/config and runtimeinfo report after a reload
 * attempt: the text now in force, whether the attempt succeeded and when.
 * Thread-safe. */
void web_api_set_config(web_api *api, const char *yaml, bool success, int64_t when_ms);
/* Replaces the scrape pools and dropped targets (copied).  Thread-safe. */
void web_api_set_scrape_config(web_api *api, const web_scrape_config *c);
/* Replaces the external labels /federate adds (copied; NULL: none).
 * Thread-safe. */
void web_api_set_external_labels(web_api *api, const core_labels *ls);
/* NULL is allowed.  The HTTP server must be stopped first. */
/* Figures of the query engine's use through the API, for /metrics:
 * prometheus_engine_queries, prometheus_engine_queries_concurrent_max and
 * prometheus_engine_query_duration_seconds{slice="queue_time"|"inner_eval"}. */
typedef struct web_query_stats {
    unsigned active, max;
    uint64_t queries;
    double queue_seconds, eval_seconds;
} web_query_stats;
void web_api_query_stats(web_api *api, web_query_stats *out);
void web_api_free(web_api *api);

#endif
