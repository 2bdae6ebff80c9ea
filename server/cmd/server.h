/*
 * server.h - the parts of prom-server's main program (server_*.c): what the
 * running server holds, the configuration reload, and self-monitoring.
 */
#ifndef CMD_SERVER_H
#define CMD_SERVER_H

#include "config/config.h"
#include "core/core.h"
#include "discovery/discovery.h"
#include "notifier/notifier.h"
#include "rules/rules.h"
#include "scrape/scrape.h"
#include "tsdb/tsdb.h"
#include "web/web.h"

#include <prom/prom.h>
#include <pthread.h>

typedef struct srv {
    const char *config_file;
    tsdb_db *db;
    scrape_manager *scrape;
    disc_manager *disc;        /* the scrape side's service discovery */
    disc_manager *disc_notify; /* the Alertmanagers' */
    rules_manager *rules;
    notifier *notifier;
    web_api *api;
    /* Reloads come from SIGHUP and POST /-/reload: one at a time. */
    pthread_mutex_t reload_mtx;
    cfg_config *cfg; /* the configuration in force (its relabel rules are in use) */
    bool last_reload_ok;
    int64_t last_reload_ok_ms;
    uint64_t reloads_total, reloads_failed;
    prom_registry *registry; /* self-monitoring, served on /metrics */
    prom_counter *http_requests;
    prom_histogram *http_duration;
} srv;

/* Loads the config file and applies it (scrape targets, the API's config
 * text).  On a bad file the running configuration stays and -1 is returned
 * with the loader's message in err; logs either way, as upstream. */
int srv_reload(srv *s, core_err *err);

/* Builds the scrape targets again from the configuration in force and what
 * discovery found now (called when discovery publishes). */
int srv_apply_targets(srv *s);

/* Applies the alerting section again with what discovery found now. */
void srv_apply_alertmanagers(srv *s);

/* Registers prom-server's own metrics (upstream's names) in s->registry. */
int srv_metrics_init(srv *s, core_err *err);
/* The core HTTP observer that counts requests per handler and code. */
void srv_metrics_observe(const char *route, const char *method, int status, double seconds,
                         void *userdata);
/* Serves s->registry (GET /metrics). */
void srv_metrics_serve(core_http_req *req, core_http_resp *resp, void *userdata);

#endif
