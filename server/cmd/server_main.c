/*
 * prom-server - the Prometheus server.
 *
 * main() reads upstream's flags with upstream's names and defaults, loads and
 * checks the configuration file, opens the TSDB (blocks, WAL replay into the
 * head), starts the scrape manager on the configuration's targets, serves
 * /api/v1 (server/web), /metrics, /-/healthy, /-/ready and the lifecycle
 * endpoints on the HTTP server of server/core, runs compaction and retention
 * once a minute, reloads the configuration on SIGHUP or POST /-/reload, and
 * stops on SIGINT, SIGTERM or POST /-/quit: the HTTP server first (running
 * handlers finish), then scraping, then the API and the TSDB (WAL flushed).
 *
 * Settings the seed document writes in the configuration file (`storage:
 * tsdb:` path, retention, WAL compression, block durations; `query:`) apply
 * when the matching flag is not given on the command line.
 *
 * Flag values shown on /api/v1/status/flags are written as upstream's
 * kingpin values print themselves: durations as Prometheus durations ("5m"),
 * byte sizes as base-2 units ("512MiB", "0B"), repeated flags joined with
 * commas (kingpin's accumulator: "0.0.0.0:9090", "" when empty), and
 * --web.route-prefix after upstream normalises it ("/" by default).
 */
#include "cmd/server.h"
#include "core/core.h"
#include "promql/storage.h"
#include "web/ui.h"
#include "web/web.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    const char *config_file;
    const char *tsdb_path;
    int64_t retention_ms;
    const char *retention_size;
    core_strlist listen;
    const char *external_url, *route_prefix, *cors_origin;
    bool lifecycle, admin_api, remote_write_receiver;
    int64_t max_connections;
    int64_t read_timeout_ms;
    int64_t lookback_ms, query_timeout_ms, query_concurrency, query_max_samples;
    core_strlist features;
    const char *log_level, *log_format;
    int64_t min_block_ms, max_block_ms;
    bool wal_compression;
    const char *wal_compression_type;
    int64_t outage_tolerance_ms, grace_period_ms, resend_delay_ms, notification_queue;
} cfg;

static core_flag flag_table[] = {
    {"config.file", CORE_FLAG_STRING, &cfg.config_file, "prometheus.yml",
     "Prometheus configuration file path.", false},
    {"web.listen-address", CORE_FLAG_LIST, &cfg.listen, "0.0.0.0:9090",
     "Address to listen on for UI, API, and telemetry. Can be repeated.", false},
    {"web.read-timeout", CORE_FLAG_DURATION, &cfg.read_timeout_ms, "5m",
     "Maximum duration before timing out read of the request, and closing idle connections.",
     false},
    {"web.max-connections", CORE_FLAG_INT, &cfg.max_connections, "512",
     "Maximum number of simultaneous connections across all listeners.", false},
    {"web.external-url", CORE_FLAG_STRING, &cfg.external_url, "",
     "The URL under which Prometheus is externally reachable (for example, if Prometheus is "
     "served via a reverse proxy). Used for generating relative and absolute links back to "
     "Prometheus itself. If the URL has a path portion, it will be used to prefix all HTTP "
     "endpoints served by Prometheus. If omitted, relevant URL components will be derived "
     "automatically.",
     false},
    {"web.route-prefix", CORE_FLAG_STRING, &cfg.route_prefix, "",
     "Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.",
     false},
    {"web.enable-lifecycle", CORE_FLAG_BOOL, &cfg.lifecycle, NULL,
     "Enable shutdown and reload via HTTP request.", false},
    {"web.enable-admin-api", CORE_FLAG_BOOL, &cfg.admin_api, NULL,
     "Enable API endpoints for admin control actions.", false},
    {"web.enable-remote-write-receiver", CORE_FLAG_BOOL, &cfg.remote_write_receiver, NULL,
     "Enable API endpoint accepting remote write requests.", false},
    {"web.cors.origin", CORE_FLAG_STRING, &cfg.cors_origin, ".*",
     "Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\\.com'",
     false},
    {"storage.tsdb.path", CORE_FLAG_STRING, &cfg.tsdb_path, "data/",
     "Base path for metrics storage.", false},
    {"storage.tsdb.retention.time", CORE_FLAG_DURATION, &cfg.retention_ms, NULL,
     "How long to retain samples in storage. If neither this flag nor "
     "\"storage.tsdb.retention.size\" is set, the retention time defaults to 15d. Units "
     "Supported: y, w, d, h, m, s, ms.",
     false},
    {"storage.tsdb.min-block-duration", CORE_FLAG_DURATION, &cfg.min_block_ms, "2h",
     "Minimum duration of a data block before being persisted. For use in testing.", false},
    {"storage.tsdb.max-block-duration", CORE_FLAG_DURATION, &cfg.max_block_ms, "0s",
     "Maximum duration compacted blocks may span. For use in testing. (Default: 10% of the "
     "retention period.)",
     false},
    {"storage.tsdb.wal-compression", CORE_FLAG_BOOL, &cfg.wal_compression, "true",
     "Compress the tsdb WAL.", false},
    {"storage.tsdb.wal-compression-type", CORE_FLAG_STRING, &cfg.wal_compression_type, "snappy",
     "Compression algorithm for the tsdb WAL. One of: [snappy, zstd]", false},
    {"storage.tsdb.retention.size", CORE_FLAG_STRING, &cfg.retention_size, "",
     "Maximum number of bytes that can be stored for blocks. A unit is required, supported "
     "units: B, KB, MB, GB, TB, PB, EB. Ex: \"512MB\". Based on powers-of-2, so 1KB is 1024B.",
     false},
    {"query.lookback-delta", CORE_FLAG_DURATION, &cfg.lookback_ms, "5m",
     "The maximum lookback duration for retrieving metrics during expression evaluations and "
     "federation.",
     false},
    {"query.timeout", CORE_FLAG_DURATION, &cfg.query_timeout_ms, "2m",
     "Maximum time a query may take before being aborted.", false},
    {"query.max-concurrency", CORE_FLAG_INT, &cfg.query_concurrency, "20",
     "Maximum number of queries executed concurrently.", false},
    {"query.max-samples", CORE_FLAG_INT, &cfg.query_max_samples, "50000000",
     "Maximum number of samples a single query can load into memory. Note that queries will "
     "fail if they try to load more samples than this into memory, so this also limits the "
     "number of samples a query can return.",
     false},
    {"rules.alert.for-outage-tolerance", CORE_FLAG_DURATION, &cfg.outage_tolerance_ms, "1h",
     "Max time to tolerate prometheus outage for restoring \"for\" state of alert.", false},
    {"rules.alert.for-grace-period", CORE_FLAG_DURATION, &cfg.grace_period_ms, "10m",
     "Minimum duration between alert and restored \"for\" state. This is maintained only for "
     "alerts with configured \"for\" time greater than grace period.",
     false},
    {"rules.alert.resend-delay", CORE_FLAG_DURATION, &cfg.resend_delay_ms, "1m",
     "Minimum amount of time to wait before resending an alert to Alertmanager.", false},
    {"alertmanager.notification-queue-capacity", CORE_FLAG_INT, &cfg.notification_queue, "10000",
     "The capacity of the queue for pending Alertmanager notifications.", false},
    {"enable-feature", CORE_FLAG_LIST, &cfg.features, NULL,
     "Comma separated feature names to enable. See "
     "https://prometheus.io/docs/prometheus/latest/feature_flags/ for more details.",
     false},
    CORE_LOG_FLAGS(&cfg.log_level, &cfg.log_format),
};

#define N_FLAGS (sizeof flag_table / sizeof flag_table[0])

/* ---- Byte sizes (alecthomas/units' Base2Bytes, as kingpin's BytesVar) */

static const char *const byte_units[] = {"B", "K", "M", "G", "T", "P", "E"};

/* "512MB", "1GiB", "1GB512MB": number-unit pairs, every unit base 2. */
static int parse_bytes(const char *s, int64_t *out, core_err *err)
{
    const char *p = s;
    uint64_t total = 0;
    if (!*p) return core_err_set(err, "units: invalid \"%s\"", s);
    while (*p) {
        if (*p < '0' || *p > '9') return core_err_set(err, "units: invalid \"%s\"", s);
        uint64_t n = 0;
        while (*p >= '0' && *p <= '9')
            n = n * 10 + (uint64_t)(*p++ - '0');
        int k = -1;
        for (int i = 0; i < 7; i++)
            if (*p == byte_units[i][0]) k = i;
        if (k < 0) return core_err_set(err, "units: missing unit in \"%s\"", s);
        p++;
        if (k > 0) {
            if (*p == 'i') p++;
            if (*p != 'B') return core_err_set(err, "units: unknown unit in \"%s\"", s);
            p++;
        }
        total += n << (10 * k);
    }
    *out = (int64_t)total;
    return 0;
}

/* Base2Bytes.String(): "512MiB", "1GiB512MiB", "0B". */
static void format_bytes(int64_t n, core_sb *sb)
{
    char parts[7][32];
    int np = 0;
    for (int i = 0; i < 7; i++) {
        if (n % 1024 != 0 || (i == 0 && n == 0))
            snprintf(parts[np++], sizeof parts[0], "%lld%s%s", (long long)(n % 1024),
                     i ? byte_units[i] : "", i ? "iB" : "B");
        n /= 1024;
        if (n == 0) break;
    }
    while (np > 0)
        core_sb_adds(sb, parts[--np]);
}

/* ---- Flag values for /api/v1/status/flags */

static char *flag_value(const core_flag *f, const char *route_prefix, int64_t retention_bytes)
{
    core_sb v = CORE_SB_INIT;
    if (strcmp(f->name, "web.route-prefix") == 0) {
        core_sb_adds(&v, route_prefix[0] ? route_prefix : "/");
    } else if (strcmp(f->name, "storage.tsdb.retention.size") == 0) {
        format_bytes(retention_bytes, &v);
    } else {
        switch (f->kind) {
        case CORE_FLAG_BOOL: core_sb_adds(&v, *(bool *)f->dest ? "true" : "false"); break;
        case CORE_FLAG_INT: core_sb_add_i64(&v, *(int64_t *)f->dest); break;
        case CORE_FLAG_DURATION: {
            char buf[CORE_DURATION_BUFSZ];
            core_sb_add(&v, buf, core_duration_format(*(int64_t *)f->dest, buf));
            break;
        }
        case CORE_FLAG_LIST: {
            const core_strlist *l = f->dest;
            for (size_t i = 0; i < l->len; i++)
                core_sb_addf(&v, "%s%s", i ? "," : "", l->v[i]);
            break;
        }
        default: {
            const char *s = *(const char **)f->dest;
            core_sb_adds(&v, s ? s : "");
        }
        }
    }
    if (!v.buf) core_sb_adds(&v, "");
    return core_sb_detach(&v, NULL);
}

/* upstream's route prefix: the flag, else the external URL's path; then one
 * leading '/' and no trailing one ("" stands for "/"). */
static char *route_prefix(void)
{
    const char *p = cfg.route_prefix;
    if (!p[0]) {
        const char *scheme = strstr(cfg.external_url, "://");
        const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
        p = path ? path : "";
    }
    while (*p == '/')
        p++;
    core_sb sb = CORE_SB_INIT;
    if (*p) core_sb_addc(&sb, '/');
    core_sb_adds(&sb, p);
    while (sb.len > 1 && sb.buf[sb.len - 1] == '/')
        sb.len--, sb.buf[sb.len] = '\0';
    if (!sb.buf) core_sb_adds(&sb, "");
    return core_sb_detach(&sb, NULL);
}

/* ---- Features */

static void apply_features(pql_parse_opts *po)
{
    static const char *const accepted[] = {
        "promql-per-step-stats",
        "promql-delayed-name-removal",
        "promql-duration-expr",
        "exemplar-storage",
        "memory-snapshot-on-shutdown",
        "extra-scrape-metrics",
        "metadata-wal-records",
        "concurrent-rule-eval",
        "native-histograms",
        "created-timestamp-zero-ingestion",
        "delayed-compaction",
        "old-ui",
        "otlp-deltatocumulative",
        "type-and-unit-labels",
        "use-uncached-io",
        "auto-reload-config",
        "ooo-native-histograms",
        "search-api",
    };
    for (size_t i = 0; i < cfg.features.len; i++) {
        const char *list = cfg.features.v[i];
        while (*list) {
            size_t n = strcspn(list, ",");
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), list);
            list += n + (list[n] == ',');
            if (!name[0]) continue;
            bool known = false;
            if (strcmp(name, "promql-experimental-functions") == 0) {
                po->experimental_functions = known = true;
                core_info("main", "Experimental PromQL functions enabled.");
            } else if (strcmp(name, "promql-extended-range-selectors") == 0) {
                po->extended_range = known = true;
                core_info("main", "Experimental PromQL extended range selectors enabled.");
            } else if (strcmp(name, "promql-binop-fill-modifiers") == 0) {
                po->fill_modifiers = known = true;
                core_info("main", "Experimental PromQL binary operator fill modifiers enabled.");
            } else {
                for (size_t k = 0; k < sizeof accepted / sizeof accepted[0]; k++)
                    if (strcmp(name, accepted[k]) == 0) known = true;
                if (known)
                    core_info("main", "Feature accepted; nothing to change in this build", "option",
                              name);
            }
            if (!known) core_warn("main", "Unknown option for --enable-feature", "option", name);
        }
    }
}

/* ---- The TSDB and its maintenance */

static const core_flag *flag_named(const char *name)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (strcmp(flag_table[i].name, name) == 0) return &flag_table[i];
    return NULL;
}

/* The seed document's `storage: tsdb:` and `query:` keys, for the flags not
 * given on the command line. */
static void apply_config_settings(const cfg_config *c, int64_t *retention_bytes)
{
    const cfg_storage *st = &c->storage;
    if (st->path && !flag_named("storage.tsdb.path")->given) cfg.tsdb_path = st->path;
    if (st->retention_time_ms && !flag_named("storage.tsdb.retention.time")->given)
        cfg.retention_ms = st->retention_time_ms;
    if (st->retention_size_bytes && !flag_named("storage.tsdb.retention.size")->given)
        *retention_bytes = st->retention_size_bytes;
    if (st->wal_compression_set && !flag_named("storage.tsdb.wal-compression")->given)
        cfg.wal_compression = st->wal_compression;
    if (st->min_block_duration_ms && !flag_named("storage.tsdb.min-block-duration")->given)
        cfg.min_block_ms = st->min_block_duration_ms;
    if (st->max_block_duration_ms && !flag_named("storage.tsdb.max-block-duration")->given)
        cfg.max_block_ms = st->max_block_duration_ms;
    const cfg_query *q = &c->query;
    if (q->max_samples && !flag_named("query.max-samples")->given)
        cfg.query_max_samples = q->max_samples;
    if (q->timeout_ms && !flag_named("query.timeout")->given) cfg.query_timeout_ms = q->timeout_ms;
    if (q->max_concurrency && !flag_named("query.max-concurrency")->given)
        cfg.query_concurrency = q->max_concurrency;
    if (q->lookback_delta_ms && !flag_named("query.lookback-delta")->given)
        cfg.lookback_ms = q->lookback_delta_ms;
}

static tsdb_db *open_tsdb(int64_t retention_bytes, core_err *err)
{
    tsdb_db_opts o = {
        .min_block_ms = cfg.min_block_ms,
        .max_block_ms = cfg.max_block_ms,
        .retention_ms = cfg.retention_ms,
        .retention_bytes = retention_bytes,
        .wal_compression = !cfg.wal_compression ? TSDB_WAL_COMPRESS_NONE
                           : strcmp(cfg.wal_compression_type, "zstd") == 0
                               ? TSDB_WAL_COMPRESS_ZSTD
                               : TSDB_WAL_COMPRESS_SNAPPY,
    };
    return tsdb_db_open(cfg.tsdb_path, &o, err);
}

/* Compaction and retention, checked every minute as upstream's DB.run. */
static struct {
    pthread_mutex_t mtx;
    pthread_cond_t cond;
    bool stop;
} maint = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};

static void *maintain(void *arg)
{
    tsdb_db *db = arg;
    pthread_mutex_lock(&maint.mtx);
    while (!maint.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 60;
        pthread_cond_timedwait(&maint.cond, &maint.mtx, &until);
        if (maint.stop) break;
        pthread_mutex_unlock(&maint.mtx);
        core_err err = {{0}};
        if (tsdb_db_compact(db, &err) < 0) core_error("tsdb", "Compaction failed", "err", err.msg);
        pthread_mutex_lock(&maint.mtx);
    }
    pthread_mutex_unlock(&maint.mtx);
    return NULL;
}

/* What /api/v1/status/walreplay reports, read from wal/ once the TSDB is
 * open (the replay is over then, and the writer has started its segment):
 * upstream's Head.Init records the newest checkpoint's index (0 without
 * one) as min and the last segment as max, and current reaches max. */
static web_wal_replay wal_replay_status(const char *dir)
{
    web_wal_replay w = {0, 0, 0};
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/wal", dir);
    DIR *d = opendir(path);
    if (!d) return w;
    long checkpoint = -1, last = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "checkpoint.", 11) == 0) {
            long n = strtol(e->d_name + 11, &end, 10);
            if (end != e->d_name + 11 && !*end && n > checkpoint) checkpoint = n;
        } else if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
            long n = strtol(e->d_name, &end, 10);
            if (!*end && n > last) last = n;
        }
    }
    closedir(d);
    w.min = checkpoint >= 0 ? (int)checkpoint : 0;
    w.max = w.current = last >= 0 ? (int)last : 0;
    return w;
}

static size_t scrape_targets(void *ctx, core_arena *arena, scrape_target_state **out)
{
    return scrape_manager_targets(ctx, arena, out);
}

static size_t scrape_metadata_of(void *ctx, core_arena *arena, scrape_metadata **out)
{
    return scrape_manager_metadata(ctx, arena, out);
}

/* ---- Start and stop */

static void retention_string(int64_t bytes, core_sb *sb)
{
    int64_t t = cfg.retention_ms;
    if (t == 0 && bytes == 0) t = 15 * CORE_MS_PER_DAY;
    if (t) {
        char buf[CORE_DURATION_BUFSZ];
        core_sb_add(sb, buf, core_duration_format(t, buf));
    }
    if (bytes) {
        if (sb->len) core_sb_adds(sb, " or ");
        format_bytes(bytes, sb);
    }
    if (!sb->buf) core_sb_adds(sb, "");
}

static int parse_flags(int argc, char **argv)
{
    core_flags flags = {
        .program = "prom-server",
        .summary = "The Prometheus monitoring server",
        .flags = flag_table,
        .n = N_FLAGS,
    };
    core_err err;
    int rc = core_flags_parse(&flags, argc, argv, NULL, stdout, &err);
    if (rc < 0) fprintf(stderr, "prom-server: error: %s, try --help\n", err.msg);
    if (rc == 0 && core_log_setup(cfg.log_level, cfg.log_format, &err) < 0) {
        fprintf(stderr, "prom-server: error: %s\n", err.msg);
        rc = -1;
    }
    return rc;
}

/* ---- Discovery: new targets rebuild the scrape targets */

static volatile bool disc_stop;

static void *follow_discovery(void *arg)
{
    srv *sv = arg;
    uint64_t seen = 0, seen_notify = 0;
    while (!disc_stop) {
        uint64_t gen = disc_manager_wait(sv->disc, seen, 250);
        if (gen != seen) {
            seen = gen;
            srv_apply_targets(sv);
        }
        uint64_t ng = sv->disc_notify ? disc_manager_generation(sv->disc_notify) : 0;
        if (ng != seen_notify) {
            seen_notify = ng;
            srv_apply_alertmanagers(sv);
        }
    }
    return NULL;
}

/* ---- Rules and alerts */

/* Alerts from the rules manager to the notifier. */
static void send_alerts(void *ctx, const char *expr, const rules_notify_alert *alerts, size_t n)
{
    (void)expr;
    srv *sv = ctx;
    if (!n || !sv->notifier) return;
    notifier_alert *v = core_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (notifier_alert){alerts[i].labels, alerts[i].annotations, alerts[i].starts_at_ms,
                                alerts[i].ends_at_ms, alerts[i].generator_url};
    notifier_send(sv->notifier, v, n);
    free(v);
}

static size_t api_groups(void *ctx, core_arena *arena, rules_group_snap **out)
{
    srv *sv = ctx;
    return sv->rules ? rules_manager_groups(sv->rules, arena, out) : 0;
}

static size_t api_alerts(void *ctx, core_arena *arena, rules_active_alert **out)
{
    srv *sv = ctx;
    return sv->rules ? rules_manager_alerts(sv->rules, arena, out) : 0;
}

static size_t api_alertmanagers(void *ctx, core_arena *arena, const char ***out)
{
    srv *sv = ctx;
    return sv->notifier ? notifier_alertmanagers(sv->notifier, arena, out) : 0;
}

/* ---- Lifecycle endpoints */

static void serve_reload(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)req;
    srv *sv = userdata;
    if (!cfg.lifecycle) {
        core_http_resp_text(resp, 403, "Lifecycle API is not enabled.");
        return;
    }
    core_err err = {{0}};
    if (srv_reload(sv, &err) < 0)
        core_http_resp_text(resp, 500, "failed to reload config: %s\n", err.msg);
}

static void serve_quit(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)req, (void)userdata;
    if (!cfg.lifecycle) {
        core_http_resp_text(resp, 403, "Lifecycle API is not enabled.");
        return;
    }
    core_sb_adds(&resp->body, "Requesting termination... Goodbye!");
    kill(getpid(), SIGTERM);
}

/* While the WAL replays: /-/healthy answers, /-/ready and everything else
 * say 503 "Service Unavailable", as upstream's server does before it is
 * ready.  The real server takes the addresses over once the TSDB is open. */
static void serve_unavailable(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)req, (void)userdata;
    core_http_resp_text(resp, 503, "Service Unavailable");
}

static core_http_server *start_unready(const char *prefix)
{
    core_err err;
    core_http_opts ho = {
        .listen = cfg.listen.v,
        .n_listen = cfg.listen.len,
        .threads = 2,
        .route_prefix = prefix[0] ? prefix : NULL,
        .healthy_body = "Prometheus Server is Healthy.\n",
        .not_ready_body = "Service Unavailable",
    };
    core_http_server *hs = core_http_new(&ho, &err);
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t i = 0; hs && i < sizeof methods / sizeof methods[0]; i++)
        if (core_http_route(hs, methods[i], "/*rest", serve_unavailable, NULL, &err) < 0) break;
    if (!hs || core_http_start(hs, &err) < 0) {
        core_error("web", "Unable to start web listener", "err", err.msg);
        core_http_free(hs);
        return NULL;
    }
    return hs;
}

static int run(srv *sv, const char *prefix)
{
    web_api *api = sv->api;
    core_err err;
    unsigned threads = (unsigned)cfg.query_concurrency + 2;
    if (threads < 4) threads = 4;
    if (threads > 64) threads = 64;
    core_http_opts ho = {
        .listen = cfg.listen.v,
        .n_listen = cfg.listen.len,
        .max_body_bytes = 64u << 20,
        .conn_timeout_s = (unsigned)(cfg.read_timeout_ms / 1000 ? cfg.read_timeout_ms / 1000 : 1),
        .threads = threads,
        .thread_per_connection = true, /* a query waiting for a slot holds only its own */
        .max_conns = (unsigned)cfg.max_connections,
        .route_prefix = prefix[0] ? prefix : NULL,
        .healthy_body = "Prometheus Server is Healthy.\n",
        .ready_body = "Prometheus Server is Ready.\n",
        .not_ready_body = "Service Unavailable",
    };
    core_http_server *hs = core_http_new(&ho, &err);
    if (hs) core_http_set_observer(hs, srv_metrics_observe, sv);
    if (!hs || web_api_register(api, hs, &err) < 0 ||
        web_ui_register(hs, cfg.external_url, prefix, &err) < 0 ||
        core_http_route(hs, "GET", "/metrics", srv_metrics_serve, sv, &err) < 0 ||
        core_http_route(hs, "POST", "/-/reload", serve_reload, sv, &err) < 0 ||
        core_http_route(hs, "PUT", "/-/reload", serve_reload, sv, &err) < 0 ||
        core_http_route(hs, "POST", "/-/quit", serve_quit, sv, &err) < 0 ||
        core_http_route(hs, "PUT", "/-/quit", serve_quit, sv, &err) < 0 ||
        core_http_start(hs, &err) < 0) {
        core_error("web", "Unable to start web listener", "err", err.msg);
        core_http_free(hs);
        return 1;
    }
    for (size_t i = 0; i < cfg.listen.len; i++)
        core_info("web", "Start listening for connections", "address", cfg.listen.v[i]);
    core_http_set_ready(hs, true);
    core_info("main", "Server is ready to receive web requests.");
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    int sig;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        core_err rerr = {{0}};
        srv_reload(sv, &rerr);
    }
    core_warn("main", "Received an OS signal, exiting gracefully...", "signal",
              sig == SIGINT ? "interrupt" : "terminated");
    core_http_free(hs);
    return 0;
}

int main(int argc, char **argv)
{
    mallopt(M_ARENA_MAX, 4);
    int rc = parse_flags(argc, argv);
    if (rc != 0) return rc < 0 ? 1 : 0;
    /* Signals are blocked before any thread starts, so every thread inherits
     * the mask and sigwait() alone receives them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    const core_buildinfo *bi = core_buildinfo_get();
    char version[256];
    snprintf(version, sizeof version, "(version=%s, branch=%s, revision=%s)", bi->version,
             bi->branch, bi->revision);
    core_info("main", "Starting Prometheus Server", "mode", "server", "version", version);

    core_err err;
    int64_t retention_bytes = 0;
    if (cfg.retention_size[0] && parse_bytes(cfg.retention_size, &retention_bytes, &err) < 0) {
        fprintf(stderr, "prom-server: error: --storage.tsdb.retention.size: %s, try --help\n",
                err.msg);
        return 1;
    }
    if (strcmp(cfg.wal_compression_type, "snappy") != 0 &&
        strcmp(cfg.wal_compression_type, "zstd") != 0) {
        fprintf(stderr,
                "prom-server: error: enum value must be one of snappy,zstd, got '%s', try --help\n",
                cfg.wal_compression_type);
        return 1;
    }
    pql_parse_opts po = {.duration_expr = true};
    apply_features(&po);
    /* The configuration is checked before anything starts, as upstream. */
    cfg_config *first = cfg_load_file(cfg.config_file, &err);
    if (!first) {
        char abs[PATH_MAX];
        core_error("main", "Error loading config", "file",
                   realpath(cfg.config_file, abs) ? abs : cfg.config_file, "err", err.msg);
        return 2;
    }
    apply_config_settings(first, &retention_bytes);
    cfg_free(first);
    if (cfg.max_block_ms == 0) { /* upstream: 10% of the retention, at most 31d */
        int64_t retention = cfg.retention_ms;
        if (retention == 0 && retention_bytes == 0) retention = 15 * CORE_MS_PER_DAY;
        cfg.max_block_ms = 31 * CORE_MS_PER_DAY;
        if (retention && retention / 10 < cfg.max_block_ms) cfg.max_block_ms = retention / 10;
    }
    char *prefix = route_prefix();
    srv sv = {.config_file = cfg.config_file};
    pthread_mutex_init(&sv.reload_mtx, NULL);
    core_http_server *unready = start_unready(prefix);
    if (!unready) {
        free(prefix);
        return 1;
    }
    core_info("main", "Starting TSDB ...");
    sv.db = open_tsdb(retention_bytes, &err);
    core_http_free(unready); /* run() listens on the same addresses */
    if (!sv.db) {
        core_error("main", "Opening storage failed", "err", err.msg);
        free(prefix);
        return 1;
    }
    core_info("main", "TSDB started");
    pql_tsdb_storage *store = pql_tsdb_storage_db(sv.db);
    if (srv_metrics_init(&sv, &err) < 0) core_error("main", "Self-metrics", "err", err.msg);
    sv.notifier = notifier_new(
        &(notifier_opts){.queue_capacity =
                             (size_t)(cfg.notification_queue > 0 ? cfg.notification_queue : 10000)},
        &err);
    if (!sv.notifier) core_error("main", "Starting the notifier failed", "err", err.msg);
    sv.disc = disc_manager_new(&(disc_opts){.name = "scrape"}, &err);
    sv.disc_notify = disc_manager_new(&(disc_opts){.name = "notify"}, &err);
    if (!sv.disc) core_error("main", "Starting service discovery failed", "err", err.msg);
    sv.scrape = scrape_manager_new(sv.db, NULL, &err);
    if (!sv.scrape) {
        core_error("main", "Starting the scrape manager failed", "err", err.msg);
        tsdb_db_close(sv.db, NULL);
        free(prefix);
        return 1;
    }

    web_flag flags[N_FLAGS];
    for (size_t i = 0; i < N_FLAGS; i++)
        flags[i] =
            (web_flag){flag_table[i].name, flag_value(&flag_table[i], prefix, retention_bytes)};
    core_sb retention = CORE_SB_INIT;
    retention_string(retention_bytes, &retention);
    pql_engine_opts eo = PQL_ENGINE_OPTS_DEFAULT;
    eo.lookback_ms = cfg.lookback_ms;
    eo.max_samples = (size_t)cfg.query_max_samples;
    web_api_opts wo = {
        .storage = pql_tsdb_storage_iface(store),
        .engine = eo,
        .parse = po,
        .query_timeout_ms = cfg.query_timeout_ms,
        .max_concurrency = cfg.query_concurrency > 0 ? (unsigned)cfg.query_concurrency : 1,
        .flags = flags,
        .nflags = N_FLAGS,
        .config_yaml = "",
        .storage_retention = retention.buf,
        .cors_origin = cfg.cors_origin,
        .start_ms = core_time_now_ms(),
        .scrape = {scrape_targets, scrape_metadata_of, sv.scrape},
        .rules = {api_groups, api_alerts, api_alertmanagers, &sv},
        .db = sv.db,
        .db_dir = cfg.tsdb_path,
        .enable_admin = cfg.admin_api,
        .wal_replay = wal_replay_status(cfg.tsdb_path),
        .external_url = cfg.external_url,
        .listen_address = cfg.listen.len ? cfg.listen.v[0] : "",
    };
    sv.rules = rules_manager_new(
        &(rules_manager_opts){
            .db = sv.db,
            .storage = pql_tsdb_storage_iface(store),
            .engine = eo,
            .promql = po,
            .external_url = cfg.external_url,
            .outage_tolerance_ms = cfg.outage_tolerance_ms,
            .for_grace_period_ms = cfg.grace_period_ms,
            .resend_delay_ms = cfg.resend_delay_ms,
            .notify = send_alerts,
            .notify_ctx = &sv,
        },
        &err);
    if (!sv.rules) core_error("main", "Starting the rule manager failed", "err", err.msg);
    sv.api = web_api_new(&wo, &err);
    for (size_t i = 0; i < N_FLAGS; i++)
        free((char *)flags[i].value);
    core_sb_destroy(&retention);
    pthread_t maint_thread, disc_thread;
    bool maint_started = false, disc_started = false;
    if (!sv.api) {
        core_error("main", "Unable to set up the API", "err", err.msg);
        rc = 2;
    } else if (srv_reload(&sv, &err) < 0) {
        rc = 2;
    } else {
        if (sv.rules) rules_manager_start(sv.rules);
        maint_started = pthread_create(&maint_thread, NULL, maintain, sv.db) == 0;
        disc_started = sv.disc && pthread_create(&disc_thread, NULL, follow_discovery, &sv) == 0;
        rc = run(&sv, prefix);
    }
    if (maint_started) {
        pthread_mutex_lock(&maint.mtx);
        maint.stop = true;
        pthread_cond_signal(&maint.cond);
        pthread_mutex_unlock(&maint.mtx);
        pthread_join(maint_thread, NULL);
    }
    disc_stop = true;
    if (disc_started) pthread_join(disc_thread, NULL);
    disc_manager_free(sv.disc);
    disc_manager_free(sv.disc_notify);
    scrape_manager_free(sv.scrape);
    rules_manager_free(sv.rules); /* before the notifier: it sends through it */
    notifier_free(sv.notifier);
    web_api_free(sv.api);
    pql_tsdb_storage_free(store);
    if (tsdb_db_close(sv.db, &err) < 0) core_error("main", "Closing the TSDB", "err", err.msg);
    cfg_free(sv.cfg);
    prom_registry_free(sv.registry);
    pthread_mutex_destroy(&sv.reload_mtx);
    core_info("main", "See you next time!");
    free(prefix);
    core_strlist_destroy(&cfg.listen);
    core_strlist_destroy(&cfg.features);
    return rc;
}
