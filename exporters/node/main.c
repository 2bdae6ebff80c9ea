/*
 * prom-node-exporter - host metrics for Prometheus, a drop-in for node_exporter.
 *
 * main.c holds the program: flags (upstream's names and defaults, plus every
 * collector's --collector.<name> switch and its own flags), the HTTP server
 * (server/core's), and the metrics handler.  A scrape runs the collectors the
 * request asks for (collect[] / exclude[]) on the worker pool (scrape.c), adds
 * node_scrape_collector_* and, unless --web.disable-exporter-metrics, the
 * exporter's own metrics (process_*, promhttp_*, node_exporter_build_info),
 * and writes them all in the format the scraper negotiates: the text formats
 * straight from the collectors' outputs into the response (expose.c), the
 * protobuf format through libprom's renderer.
 */
#include "scrape.h"

#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    core_strlist listen;
    const char *telemetry_path;
    int64_t max_requests;
    bool disable_exporter_metrics;
    bool disable_defaults;
    int64_t timeout_ms;
    int64_t gomaxprocs;
    const char *log_level, *log_format;
    bool *enabled; /* per collector */
} cfg;

/* promhttp's self-metrics, counted here. */
static _Atomic long in_flight;
static _Atomic unsigned long served[3]; /* 200, 500, 503 */
static _Atomic size_t last_body;        /* bytes of the last scrape's response */
static const char *const codes[] = {"200", "500", "503"};

/* ---- Flags */

static core_flag common_flags[] = {
    {"web.listen-address", CORE_FLAG_LIST, &cfg.listen, ":9100",
     "Addresses on which to expose metrics and web interface. Repeatable for multiple addresses.",
     false},
    {"web.telemetry-path", CORE_FLAG_STRING, &cfg.telemetry_path, "/metrics",
     "Path under which to expose metrics.", false},
    {"web.disable-exporter-metrics", CORE_FLAG_BOOL, &cfg.disable_exporter_metrics, NULL,
     "Exclude metrics about the exporter itself (promhttp_*, process_*).", false},
    {"web.max-requests", CORE_FLAG_INT, &cfg.max_requests, "40",
     "Maximum number of parallel scrape requests. Use 0 to disable.", false},
    {"collector.disable-defaults", CORE_FLAG_BOOL, &cfg.disable_defaults, NULL,
     "Set all collectors to disabled by default.", false},
    {"collector.timeout", CORE_FLAG_DURATION, &cfg.timeout_ms, "5s",
     "How long a scrape waits for a collector; one past it reports success 0.", false},
    {"path.procfs", CORE_FLAG_STRING, &nx_path.procfs, "/proc", "procfs mountpoint.", false},
    {"path.sysfs", CORE_FLAG_STRING, &nx_path.sysfs, "/sys", "sysfs mountpoint.", false},
    {"path.rootfs", CORE_FLAG_STRING, &nx_path.rootfs, "/", "rootfs mountpoint.", false},
    {"path.udev.data", CORE_FLAG_STRING, &nx_path.udev_data, "/run/udev/data", "udev data path.",
     false},
    {"runtime.gomaxprocs", CORE_FLAG_INT, &cfg.gomaxprocs, "1",
     "Accepted for compatibility with node_exporter; no effect.", false},
    CORE_LOG_FLAGS(&cfg.log_level, &cfg.log_format),
};
#define N_COMMON (sizeof common_flags / sizeof common_flags[0])

/* The whole table: common flags, a switch per collector, each collector's flags. */
static core_flag *build_flags(size_t *n)
{
    size_t total = N_COMMON + nx_n_collectors;
    for (size_t i = 0; i < nx_n_collectors; i++)
        total += nx_collectors[i]->n_flags;
    core_flag *f = core_calloc(total, sizeof *f);
    memcpy(f, common_flags, sizeof common_flags);
    size_t k = N_COMMON;
    cfg.enabled = core_calloc(nx_n_collectors + 1, sizeof *cfg.enabled);
    for (size_t i = 0; i < nx_n_collectors; i++) {
        const nx_collector *c = nx_collectors[i];
        char name[128], help[160];
        snprintf(name, sizeof name, "collector.%s", c->name);
        snprintf(help, sizeof help, "Enable the %s collector.", c->name);
        f[k++] = (core_flag){core_strdup(name), CORE_FLAG_BOOL,
                             &cfg.enabled[i],   c->default_on ? "true" : "false",
                             core_strdup(help), false};
    }
    for (size_t i = 0; i < nx_n_collectors; i++)
        for (size_t j = 0; j < nx_collectors[i]->n_flags; j++)
            f[k++] = nx_collectors[i]->flags[j];
    *n = total;
    return f;
}

/* Applies --collector.disable-defaults: a collector not named on the command
 * line is then off. */
static void apply_defaults(const core_flags *flags)
{
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (cfg.disable_defaults && !flags->flags[N_COMMON + i].given) cfg.enabled[i] = false;
}

/* ---- The metrics handler */

typedef struct request {
    const nx_collector **collectors;
    size_t n;
} request;

/* node_exporter_build_info and promhttp's self-metrics. */
static void exporter_metrics(nx_out *o)
{
    const core_buildinfo *bi = core_buildinfo_get();
    static const char *const build_labels[] = {"branch",   "goarch", "goos",    "goversion",
                                               "revision", "tags",   "version", NULL};
    const char *arch = strchr(bi->platform, '/') ? strchr(bi->platform, '/') + 1 : "";
    const char *values[] = {bi->branch, arch, "linux", bi->compiler, bi->revision, "", bi->version};
    nx_family(o, "node_exporter_build_info",
              "A metric with a constant '1' value labeled by version, revision, branch, "
              "goversion from which node_exporter was built, and the goos and goarch for "
              "the build.",
              PROM_GAUGE, build_labels);
    nx_sample(o, 1, values);
    static const char *const cause[] = {"cause", NULL};
    static const char *const causes[][1] = {{"encoding"}, {"gathering"}};
    nx_family(o, "promhttp_metric_handler_errors_total",
              "Total number of internal errors encountered by the promhttp metric handler.",
              PROM_COUNTER, cause);
    nx_sample(o, 0, causes[0]);
    nx_sample(o, 0, causes[1]);
    nx_gauge(o, "promhttp_metric_handler_requests_in_flight",
             "Current number of scrapes being served.", (double)atomic_load(&in_flight));
    static const char *const code[] = {"code", NULL};
    nx_family(o, "promhttp_metric_handler_requests_total",
              "Total number of scrapes by HTTP status code.", PROM_COUNTER, code);
    for (int i = 0; i < 3; i++)
        nx_sample(o, (double)atomic_load(&served[i]), &codes[i]);
}

/* The outputs of one scrape, for the protobuf format (through libprom). */
typedef struct outputs {
    const nx_out **v;
    size_t n;
} outputs;

static int replay(prom_emitter *e, void *userdata)
{
    const outputs *outs = userdata;
    for (size_t i = 0; i < outs->n; i++)
        nx_out_replay(outs->v[i], e);
    return 0;
}

static int render_protobuf(const outputs *outs, core_sb *body)
{
    prom_registry *r = prom_registry_new();
    prom_buffer buf = {0};
    int rc =
        r == NULL ? PROM_ENOMEM : prom_collector_register(r, "node", NULL, 0, replay, (void *)outs);
    if (rc == 0) rc = prom_render(r, PROM_FORMAT_PROTOBUF, NULL, 0, &buf);
    if (rc == 0) core_sb_add(body, buf.data, buf.len);
    prom_buffer_free(&buf);
    prom_registry_free(r);
    return rc;
}

static const nx_collector *find_enabled(const char *name)
{
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (cfg.enabled[i] && strcmp(nx_collectors[i]->name, name) == 0) return nx_collectors[i];
    return NULL;
}

/* Which collectors this request wants; false (with a 400 written) on a bad query. */
static bool select_collectors(core_http_req *req, core_http_resp *resp, request *rq)
{
    const char *const *collect, *const *exclude;
    size_t nc = core_http_args(req, "collect[]", &collect);
    size_t ne = core_http_args(req, "exclude[]", &exclude);
    if (nc > 0 && ne > 0) {
        core_http_resp_text(resp, 400, "Combined collect and exclude queries are not allowed.\n");
        return false;
    }
    rq->collectors =
        core_arena_alloc(core_http_arena(req), (nx_n_collectors + 1) * sizeof *rq->collectors);
    rq->n = 0;
    for (size_t i = 0; i < nc; i++) {
        const nx_collector *c = find_enabled(collect[i]);
        if (c == NULL) {
            core_http_resp_text(resp, 400,
                                "Couldn't create filtered metrics handler: missing collector: %s\n",
                                collect[i]);
            return false;
        }
        bool dup = false;
        for (size_t k = 0; k < rq->n; k++)
            dup = dup || rq->collectors[k] == c;
        if (!dup) rq->collectors[rq->n++] = c;
    }
    if (nc > 0) return true;
    for (size_t i = 0; i < nx_n_collectors; i++) {
        bool excluded = false;
        for (size_t k = 0; k < ne; k++)
            excluded = excluded || strcmp(exclude[k], nx_collectors[i]->name) == 0;
        if (cfg.enabled[i] && !excluded) rq->collectors[rq->n++] = nx_collectors[i];
    }
    return true;
}

static void count_served(int status)
{
    for (int i = 0; i < 3; i++)
        if (atoi(codes[i]) == status) atomic_fetch_add(&served[i], 1);
}

static void serve_metrics(core_http_req *req, core_http_resp *resp, void *userdata)
{
    long now_in = atomic_fetch_add(&in_flight, 1) + 1;
    request rq;
    if (cfg.max_requests > 0 && now_in > cfg.max_requests) {
        core_http_resp_text(resp, 503,
                            "Limit of concurrent requests reached (%lld), try again later.\n",
                            (long long)cfg.max_requests);
    } else if (select_collectors(req, resp, &rq)) {
        nx_scrape scrape;
        nx_scrape_init(&scrape, rq.collectors, rq.n);
        nx_scrape_run(&scrape, (double)cfg.timeout_ms / 1000);
        nx_out status, process, exporter;
        nx_out_init(&status, "scrape");
        nx_out_init(&process, "process");
        nx_out_init(&exporter, "exporter");
        process.scrape = scrape.id;
        outputs outs = {core_arena_alloc(core_http_arena(req), (rq.n + 3) * sizeof *outs.v), 0};
        outs.n = nx_scrape_outputs(&scrape, outs.v);
        nx_scrape_status(&scrape, &status);
        outs.v[outs.n++] = &status;
        if (!cfg.disable_exporter_metrics) {
            nx_process_metrics(&process);
            exporter_metrics(&exporter);
            outs.v[outs.n++] = &process;
            outs.v[outs.n++] = &exporter;
        }
        prom_format f = prom_negotiate(core_http_header(req, "Accept"));
        int rc = 0;
        /* Room for what the last scrape wrote, so the body is not copied from
         * buffer to doubled buffer on its way to 50 KiB. */
        core_sb_grow(&resp->body, atomic_load(&last_body) + 4096);
        if (f == PROM_FORMAT_PROTOBUF)
            rc = render_protobuf(&outs, &resp->body);
        else
            nx_expose(outs.v, outs.n, f == PROM_FORMAT_OPENMETRICS, &resp->body);
        atomic_store(&last_body, resp->body.len);
        if (rc == 0)
            resp->content_type = prom_content_type(f);
        else
            core_http_resp_text(resp, 500, "An error has occurred while serving metrics:\n\n%s\n",
                                prom_last_error());
        nx_out_destroy(&exporter);
        nx_out_destroy(&process);
        nx_out_destroy(&status);
        nx_scrape_destroy(&scrape);
    }
    count_served(resp->status);
    atomic_fetch_sub(&in_flight, 1);
}

static void serve_landing(core_http_req *req, core_http_resp *resp, void *userdata)
{
    resp->content_type = "text/html; charset=utf-8";
    core_sb_addf(&resp->body,
                 "<!DOCTYPE html>\n<html>\n<head><title>Node Exporter</title></head>\n<body>\n"
                 "<h1>Node Exporter</h1>\n<p>Prometheus Node Exporter (prom, in C)</p>\n"
                 "<ul><li><a href=\"%s\">Metrics</a></li></ul>\n</body>\n</html>\n",
                 cfg.telemetry_path);
}

/* ---- Start */

static int init_collectors(core_err *err)
{
    for (size_t i = 0; i < nx_n_collectors; i++) {
        const nx_collector *c = nx_collectors[i];
        if (cfg.enabled[i] && c->init != NULL && c->init(err) < 0)
            return core_err_prefix(err, "collector %s", c->name);
    }
    return 0;
}

static core_http_server *start_http(core_err *err)
{
    core_http_opts opts = {
        .listen = cfg.listen.v,
        .n_listen = cfg.listen.len,
        .healthy_body = "Healthy\n",
        /* A scrape is a short GET (collect[] names a few dozen collectors at
         * most): 32 KiB per connection is plenty, and MHD takes that much from
         * malloc instead of mapping and unmapping 64 KiB for each connection
         * (9 page faults a scrape; CPU per scrape measured with
         * bench/exporters/run: 0.83 -> 0.79 ms). */
        .conn_memory = 32 * 1024,
        /* Every MHD worker polls the listening socket, so each new connection
         * wakes them all and all but one find nothing to accept: two workers
         * (two scrapes served at once, which the collectors' pool runs side by
         * side anyway) instead of four save two wakeups a scrape (CPU per
         * scrape 0.74 -> 0.71 ms with bench/exporters/run's scrape a
         * connection). */
        .threads = 2,
    };
    core_http_server *srv = core_http_new(&opts, err);
    if (srv == NULL) return NULL;
    if (core_http_route(srv, "GET", cfg.telemetry_path, serve_metrics, NULL, err) < 0 ||
        (strcmp(cfg.telemetry_path, "/") != 0 &&
         core_http_route(srv, "GET", "/", serve_landing, NULL, err) < 0) ||
        core_http_start(srv, err) < 0) {
        core_http_free(srv);
        return NULL;
    }
    core_http_set_ready(srv, true);
    return srv;
}

static void log_enabled(void)
{
    core_info("node_exporter", "Starting node_exporter", "version", core_buildinfo_get()->version);
    for (size_t i = 0; i < nx_n_collectors; i++)
        if (cfg.enabled[i])
            core_info("node_exporter", "Enabled collector", "collector", nx_collectors[i]->name);
}

int main(int argc, char **argv)
{
    /* A few threads making small allocations, one at a time for the most
     * part (a scrape's thread waits while the worker runs its collectors):
     * one malloc arena is enough, and a second costs resident memory (peak
     * RSS measured with bench/exporters/run: 12.1 MB with glibc's default of
     * 8 arenas per core, 8.1 MB with two, 7.6 MB with one; CPU per scrape
     * the same within noise). */
    mallopt(M_ARENA_MAX, 1);
    size_t n;
    core_flag *table = build_flags(&n);
    core_flags flags = {
        .program = "prom-node-exporter",
        .summary = "Prometheus exporter for machine metrics (a drop-in for node_exporter).",
        .flags = table,
        .n = n,
    };
    core_err err;
    int rc = core_flags_parse(&flags, argc, argv, NULL, stdout, &err);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "prom-node-exporter: error: %s, try --help\n", err.msg);
        return rc < 0 ? 1 : 0;
    }
    if (core_log_setup(cfg.log_level, cfg.log_format, &err) < 0) {
        fprintf(stderr, "prom-node-exporter: error: %s\n", err.msg);
        return 1;
    }
    apply_defaults(&flags);
    nx_enabled = cfg.enabled;
    if (init_collectors(&err) < 0) {
        core_error("node_exporter", "Couldn't create collector", "err", err.msg);
        return 1;
    }
    /* Signals are taken by sigwait below, not by whichever thread runs. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_enabled();
    core_http_server *srv = start_http(&err);
    if (srv == NULL) {
        core_error("node_exporter", "Error starting HTTP server", "err", err.msg);
        return 1;
    }
    for (size_t i = 0; i < cfg.listen.len; i++)
        core_info("node_exporter", "Listening on", "address", cfg.listen.v[i]);
    int sig;
    sigwait(&sigs, &sig);
    core_info("node_exporter", "Shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    core_http_free(srv);
    for (size_t i = N_COMMON; i < N_COMMON + nx_n_collectors; i++) {
        free((char *)table[i].name); /* the --collector.<name> switches' own strings */
        free((char *)table[i].help);
    }
    free(table);
    return 0;
}
