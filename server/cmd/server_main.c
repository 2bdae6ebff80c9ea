/*
 * prom-server - the Prometheus server (this stage: the HTTP API v1 over the
 * blocks of a data directory).
 *
 * main() reads upstream's flags with upstream's names and defaults, reads
 * the configuration file (only kept, for /api/v1/status/config, until the
 * config module lands), opens the storage, serves /api/v1 (server/web) with
 * /-/healthy and /-/ready on the HTTP server of server/core, and stops on
 * SIGINT or SIGTERM: the HTTP server is freed first (running handlers
 * finish), then the API and the storage.
 *
 * The storage is opened and closed by open_storage()/close_storage() only,
 * so the full TSDB (head, WAL and blocks) can take the place of the
 * read-only blocks adapter here without touching the rest.
 *
 * Flag values shown on /api/v1/status/flags are written as upstream's
 * kingpin values print themselves: durations as Prometheus durations ("5m"),
 * byte sizes as base-2 units ("512MiB", "0B"), repeated flags joined with
 * commas (kingpin's accumulator: "0.0.0.0:9090", "" when empty), and
 * --web.route-prefix after upstream normalises it ("/" by default).
 */
#include "core/core.h"
#include "promql/storage.h"
#include "web/web.h"

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

/* ---- Storage: the one place that decides what queries read */

typedef struct storage {
    pql_tsdb_storage *blocks;
} storage;

/* Opens the data directory (created if missing) read-only: its blocks. */
static pql_storage *open_storage(storage *s, const char *dir, core_err *err)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return core_err_set(err, "create data directory %s: %s", dir, strerror(errno)), NULL;
    s->blocks = pql_tsdb_storage_open(dir, err);
    return s->blocks ? pql_tsdb_storage_iface(s->blocks) : NULL;
}

static void close_storage(storage *s)
{
    pql_tsdb_storage_free(s->blocks);
    s->blocks = NULL;
}

/* ---- Start and stop */

static char *read_file(const char *path, core_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return core_err_set(err, "open %s: %s", path, strerror(errno)), NULL;
    core_sb sb = CORE_SB_INIT;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        core_sb_add(&sb, buf, n);
    fclose(f);
    if (!sb.buf) core_sb_adds(&sb, "");
    return core_sb_detach(&sb, NULL);
}

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

static void serve_root(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)req, (void)userdata;
    resp->content_type = "text/html; charset=utf-8";
    core_sb_adds(&resp->body,
                 "<!DOCTYPE html><html><head><title>Prometheus Time Series Collection and "
                 "Processing Server</title></head><body><h1>prom-server</h1><p>The HTTP API is "
                 "served under <a href=\"api/v1/status/buildinfo\">api/v1/</a>; the web UI "
                 "comes later.</p></body></html>\n");
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

static int run(web_api *api, const char *prefix)
{
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
        .max_conns = (unsigned)cfg.max_connections,
        .route_prefix = prefix[0] ? prefix : NULL,
        .healthy_body = "Prometheus Server is Healthy.\n",
        .ready_body = "Prometheus Server is Ready.\n",
        .not_ready_body = "Service Unavailable",
    };
    core_http_server *srv = core_http_new(&ho, &err);
    if (!srv || web_api_register(api, srv, &err) < 0 ||
        core_http_route(srv, "GET", "/", serve_root, NULL, &err) < 0 ||
        core_http_start(srv, &err) < 0) {
        core_error("web", "Unable to start web listener", "err", err.msg);
        core_http_free(srv);
        return 1;
    }
    for (size_t i = 0; i < cfg.listen.len; i++)
        core_info("web", "Start listening for connections", "address", cfg.listen.v[i]);
    core_http_set_ready(srv, true);
    core_info("main", "Server is ready to receive web requests.");
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    int sig;
    sigwait(&sigs, &sig);
    core_warn("main", "Received an OS signal, exiting gracefully...", "signal",
              sig == SIGINT ? "interrupt" : "terminated");
    core_http_free(srv);
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
    pql_parse_opts po = {.duration_expr = true};
    apply_features(&po);
    char *config_text = read_file(cfg.config_file, &err);
    if (!config_text) {
        char abs[PATH_MAX];
        core_error("main", "Error loading config", "file",
                   realpath(cfg.config_file, abs) ? abs : cfg.config_file, "err", err.msg);
        return 2;
    }
    char *prefix = route_prefix();
    storage store = {0};
    pql_storage *st = open_storage(&store, cfg.tsdb_path, &err);
    if (!st) {
        core_error("main", "Opening storage failed", "err", err.msg);
        free(prefix);
        free(config_text);
        return 1;
    }
    core_info("main", "TSDB started");

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
        .storage = st,
        .engine = eo,
        .parse = po,
        .query_timeout_ms = cfg.query_timeout_ms,
        .max_concurrency = cfg.query_concurrency > 0 ? (unsigned)cfg.query_concurrency : 1,
        .flags = flags,
        .nflags = N_FLAGS,
        .config_yaml = config_text,
        .storage_retention = retention.buf,
        .cors_origin = cfg.cors_origin,
        .start_ms = core_time_now_ms(),
    };
    web_api *api = web_api_new(&wo, &err);
    for (size_t i = 0; i < N_FLAGS; i++)
        free((char *)flags[i].value);
    core_sb_destroy(&retention);
    if (!api) {
        core_error("main", "Unable to set up the API", "err", err.msg);
        rc = 2;
    } else {
        core_info("main", "Completed loading of configuration file", "filename", cfg.config_file);
        rc = run(api, prefix);
    }
    web_api_free(api);
    close_storage(&store);
    core_info("main", "See you next time!");
    free(prefix);
    free(config_text);
    core_strlist_destroy(&cfg.listen);
    core_strlist_destroy(&cfg.features);
    return rc;
}
