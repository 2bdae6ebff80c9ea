/*
 * prom-pushgateway - a drop-in for the Prometheus Pushgateway.
 *
 * main.c holds the program: upstream's flags and defaults (plus
 * --push.group-ttl), start-up (restore the persistence file, own metrics,
 * routes), a housekeeping thread, and shutdown.  The housekeeping thread
 * wakes every second (more often for a short TTL) to drop expired groups and
 * to write the persistence file when something changed and
 * --persistence.interval has passed since the last write, as upstream's
 * loop does.  SIGINT, SIGTERM or PUT /-/quit stop the HTTP server (running
 * requests finish), then the file is written one last time, so everything
 * accepted before a clean shutdown survives a restart.
 */
#include "pushgateway/pushgateway.h"

#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    core_strlist listen;
    const char *telemetry_path, *external_url, *route_prefix;
    const char *persistence_file;
    int64_t persistence_interval_ms, group_ttl_ms;
    bool lifecycle, admin_api, disable_check;
    const char *log_level, *log_format;
} cfg;

static core_flag flag_table[] = {
    {"web.listen-address", CORE_FLAG_LIST, &cfg.listen, ":9091",
     "Addresses on which to expose metrics and web interface. Repeatable for multiple addresses.",
     false},
    {"web.telemetry-path", CORE_FLAG_STRING, &cfg.telemetry_path, "/metrics",
     "Path under which to expose metrics.", false},
    {"web.external-url", CORE_FLAG_STRING, &cfg.external_url, "",
     "The URL under which the Pushgateway is externally reachable.", false},
    {"web.route-prefix", CORE_FLAG_STRING, &cfg.route_prefix, "",
     "Prefix for the internal routes of web endpoints. Defaults to the path of "
     "--web.external-url.",
     false},
    {"web.enable-lifecycle", CORE_FLAG_BOOL, &cfg.lifecycle, NULL,
     "Enable shutdown via HTTP request.", false},
    {"web.enable-admin-api", CORE_FLAG_BOOL, &cfg.admin_api, NULL,
     "Enable API endpoints for admin control actions.", false},
    {"persistence.file", CORE_FLAG_STRING, &cfg.persistence_file, "",
     "File to persist metrics. If empty, metrics are only kept in memory.", false},
    {"persistence.interval", CORE_FLAG_DURATION, &cfg.persistence_interval_ms, "5m",
     "The minimum interval at which to write out the persistence file.", false},
    {"push.disable-consistency-check", CORE_FLAG_BOOL, &cfg.disable_check, NULL,
     "Do not check consistency of pushed metrics. DANGEROUS.", false},
    {"push.group-ttl", CORE_FLAG_DURATION, &cfg.group_ttl_ms, "0",
     "Drop a group not pushed to successfully within this time. 0 keeps groups forever.", false},
    CORE_LOG_FLAGS(&cfg.log_level, &cfg.log_format),
};

/* ---- Flag values as upstream shows them on /api/v1/status */

static void flag_value(const core_flag *f, core_sb *v)
{
    switch (f->kind) {
    case CORE_FLAG_BOOL: core_sb_adds(v, *(bool *)f->dest ? "true" : "false"); break;
    case CORE_FLAG_DURATION: { /* as time.Duration: at most 292 years */
        int64_t ms = *(int64_t *)f->dest, lim = INT64_MAX / 1000000;
        core_sb_add_go_duration(v, (ms > lim ? lim : ms < -lim ? -lim : ms) * 1000000);
        break;
    }
    case CORE_FLAG_LIST: {
        const core_strlist *l = f->dest;
        core_sb_addc(v, '[');
        for (size_t i = 0; i < l->len; i++)
            core_sb_addf(v, "%s%s", i ? " " : "", l->v[i]);
        core_sb_addc(v, ']');
        break;
    }
    case CORE_FLAG_INT: core_sb_add_i64(v, *(int64_t *)f->dest); break;
    default: core_sb_adds(v, *(const char **)f->dest); break;
    }
}

static char *flags_json(void)
{
    core_sb out = CORE_SB_INIT, v = CORE_SB_INIT;
    /* Sorted by name, as Go's encoding/json writes a map. */
    size_t n = sizeof flag_table / sizeof flag_table[0];
    const core_flag *sorted[sizeof flag_table / sizeof flag_table[0]];
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        while (k > 0 && strcmp(sorted[k - 1]->name, flag_table[i].name) > 0)
            sorted[k] = sorted[k - 1], k--;
        sorted[k] = &flag_table[i];
    }
    core_sb_addc(&out, '{');
    for (size_t i = 0; i < n; i++) {
        core_sb_reset(&v);
        flag_value(sorted[i], &v);
        core_sb_addf(&out, "%s\"%s\":", i ? "," : "", sorted[i]->name);
        core_sb_add_json_str(&out, v.buf != NULL ? v.buf : "", v.len);
    }
    core_sb_addc(&out, '}');
    core_sb_destroy(&v);
    return core_sb_detach(&out, NULL);
}

/* upstream's computeRoutePrefix: "" -> the external URL's path; "/" -> "";
 * otherwise a leading '/' and no trailing one. */
static char *route_prefix(const char *prefix, const char *external_url)
{
    if (prefix[0] == '\0') {
        const char *scheme = strstr(external_url, "://");
        const char *path = scheme != NULL ? strchr(scheme + 3, '/') : NULL;
        prefix = path != NULL ? path : "";
    }
    core_sb sb = CORE_SB_INIT;
    if (prefix[0] != '/' && prefix[0] != '\0') core_sb_addc(&sb, '/');
    core_sb_adds(&sb, prefix);
    while (sb.len > 0 && sb.buf[sb.len - 1] == '/')
        sb.len--;
    return core_sb_detach(&sb, NULL);
}

/* ---- Housekeeping */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    pgw_store *store;
    uint64_t saved_gen;
    int64_t last_save_ms;
} hk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, 0, 0};

static void persist(const char *why)
{
    core_err err;
    uint64_t gen = pgw_store_generation(hk.store);
    if (pgw_persist_save(hk.store, cfg.persistence_file, &err) < 0) {
        core_error("pushgateway", "error persisting metrics", "err", err.msg);
        return;
    }
    hk.saved_gen = gen;
    hk.last_save_ms = core_time_now_ms();
    core_info("pushgateway", "metrics persisted", "file", cfg.persistence_file, "reason", why);
}

static void housekeeping_tick(void)
{
    int64_t now = core_time_now_ms();
    if (cfg.group_ttl_ms > 0) {
        size_t n = pgw_store_expire(hk.store, now * 1000000, cfg.group_ttl_ms * 1000000);
        if (n > 0) {
            char buf[32];
            snprintf(buf, sizeof buf, "%zu", n);
            core_info("pushgateway", "dropped groups past their TTL", "groups", buf);
        }
    }
    if (cfg.persistence_file[0] != '\0' && pgw_store_generation(hk.store) != hk.saved_gen &&
        now - hk.last_save_ms >= cfg.persistence_interval_ms)
        persist("interval");
}

static void *housekeeping(void *arg)
{
    int64_t tick_ms = 1000;
    if (cfg.group_ttl_ms > 0 && cfg.group_ttl_ms / 4 < tick_ms)
        tick_ms = cfg.group_ttl_ms / 4 > 20 ? cfg.group_ttl_ms / 4 : 20;
    pthread_mutex_lock(&hk.lock);
    while (!hk.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(tick_ms % 1000) * 1000000;
        ts.tv_sec += tick_ms / 1000 + ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&hk.wake, &hk.lock, &ts);
        if (hk.stop) break;
        pthread_mutex_unlock(&hk.lock);
        housekeeping_tick();
        pthread_mutex_lock(&hk.lock);
    }
    pthread_mutex_unlock(&hk.lock);
    return NULL;
}

static void stop_housekeeping(pthread_t t)
{
    pthread_mutex_lock(&hk.lock);
    hk.stop = true;
    pthread_cond_signal(&hk.wake);
    pthread_mutex_unlock(&hk.lock);
    pthread_join(t, NULL);
}

/* ---- Start and stop */

static void request_quit(void)
{
    core_warn("pushgateway", "received termination request via web service, exiting gracefully...");
    kill(getpid(), SIGTERM);
}

static void restore(pgw_store *s)
{
    if (cfg.persistence_file[0] == '\0') return;
    char moved[PATH_MAX];
    core_err err;
    if (pgw_persist_load(s, cfg.persistence_file, moved, &err) < 0)
        core_error("pushgateway", "could not load persisted metrics; starting empty", "err",
                   err.msg, "file", cfg.persistence_file, "moved_to",
                   moved[0] != '\0' ? moved : "(could not move it aside)");
    hk.saved_gen = pgw_store_generation(s);
    hk.last_save_ms = core_time_now_ms();
}

static core_http_server *start_http(pgw_web *w, core_err *err)
{
    core_http_opts opts = {
        .listen = cfg.listen.v,
        .n_listen = cfg.listen.len,
        .max_body_bytes = 64u << 20,
        .route_prefix = w->route_prefix,
        .healthy_body = "OK",
        .ready_body = "OK",
    };
    core_http_server *srv = core_http_new(&opts, err);
    if (srv == NULL) return NULL;
    if (pgw_web_routes(w, srv, err) < 0 || core_http_start(srv, err) < 0) {
        core_http_free(srv);
        return NULL;
    }
    core_http_set_ready(srv, true);
    return srv;
}

static int parse_flags(int argc, char **argv)
{
    core_flags flags = {
        .program = "prom-pushgateway",
        .summary = "The Pushgateway (a drop-in for prometheus/pushgateway).",
        .flags = flag_table,
        .n = sizeof flag_table / sizeof flag_table[0],
    };
    core_err err;
    int rc = core_flags_parse(&flags, argc, argv, NULL, stdout, &err);
    if (rc < 0) fprintf(stderr, "prom-pushgateway: error: %s, try --help\n", err.msg);
    if (rc == 0 && core_log_setup(cfg.log_level, cfg.log_format, &err) < 0) {
        fprintf(stderr, "prom-pushgateway: error: %s\n", err.msg);
        rc = -1;
    }
    return rc;
}

static int run(pgw_web *w)
{
    core_err err;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    restore(w->store);
    core_http_server *srv = start_http(w, &err);
    if (srv == NULL) {
        core_error("pushgateway", "error starting HTTP server", "err", err.msg);
        return 1;
    }
    for (size_t i = 0; i < cfg.listen.len; i++)
        core_info("pushgateway", "Listening on", "address", cfg.listen.v[i]);
    pthread_t t;
    pthread_create(&t, NULL, housekeeping, NULL);
    int sig;
    sigwait(&sigs, &sig);
    core_info("pushgateway", "received SIGINT/SIGTERM; exiting gracefully...");
    core_http_free(srv);
    stop_housekeeping(t);
    if (cfg.persistence_file[0] != '\0') persist("shutdown");
    core_info("pushgateway", "HTTP server stopped");
    return 0;
}

int main(int argc, char **argv)
{
    mallopt(M_ARENA_MAX, 2);
    int rc = parse_flags(argc, argv);
    if (rc != 0) return rc < 0 ? 1 : 0;
    core_info("pushgateway", "starting pushgateway", "version", core_buildinfo_get()->version);
    char *prefix = route_prefix(cfg.route_prefix, cfg.external_url);
    char *links = route_prefix("", cfg.external_url);
    if (links[0] == '\0') free(links), links = core_strdup(prefix);
    char *fj = flags_json();
    pgw_store *store = pgw_store_new();
    hk.store = store;
    pgw_web w = {
        .store = store,
        .check = !cfg.disable_check,
        .admin_api = cfg.admin_api,
        .lifecycle = cfg.lifecycle,
        .telemetry_path = cfg.telemetry_path,
        .route_prefix = prefix,
        .link_prefix = links,
        .flags_json = fj,
        .start_ns = core_time_now_ms() * 1000000,
        .max_body = 512u << 20,
        .quit = request_quit,
        .registry = prom_registry_new(),
    };
    core_err err;
    if (w.registry == NULL || pgw_web_metrics(&w, &err) < 0) {
        core_error("pushgateway", "could not create own metrics", "err", err.msg);
        rc = 1;
    } else {
        rc = run(&w);
    }
    prom_registry_free(w.registry);
    pgw_store_free(store);
    free(fj);
    free(links);
    free(prefix);
    core_strlist_destroy(&cfg.listen);
    return rc;
}
