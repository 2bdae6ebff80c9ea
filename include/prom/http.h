/*
 * http.h - serving a registry over HTTP for Prometheus to scrape.
 *
 * prom_http_start(8000, NULL) is client_python's start_http_server(8000): a
 * background server (libmicrohttpd) that answers GET /metrics with the default
 * registry.  It negotiates the format by the Accept header (protobuf,
 * OpenMetrics, text 0.0.4), gzips when asked, honours name[] parameters,
 * answers 503 past a limit of concurrent scrapes, and counts its own work in
 * promhttp_metric_handler_requests_total{code} and
 * promhttp_metric_handler_requests_in_flight in the registry it serves.
 *
 * The server answers GET and HEAD on its path (other methods: 405, other paths:
 * 404).  Past max_requests scrapes in flight a scrape gets 503 with
 * "Limit of concurrent requests reached (N), try again later."; a failed render
 * gets 500 with the error.  The promhttp metrics are registered when the first
 * server of a registry starts (with their children for codes 200, 500 and 503),
 * shared by every server of that registry, and unregistered when the last of
 * them stops.  The registry must outlive its servers.
 *
 * To serve metrics from another HTTP server, call prom_render() instead.
 */
#ifndef PROM_HTTP_H
#define PROM_HTTP_H

#include <stdint.h>

#include "prom/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct prom_http_server prom_http_server;

typedef struct prom_http_opts {
    const char *address;     /* address to bind, e.g. "127.0.0.1" or "::"; NULL: every interface */
    uint16_t port;           /* 0: a free port, see prom_http_port() */
    prom_registry *registry; /* NULL: the default registry */
    const char *path;        /* NULL: "/metrics" */
    unsigned max_requests;   /* concurrent scrapes before 503; 0: 40 */
    unsigned timeout_s;      /* connection timeout; 0: 30 */
    int disable_compression; /* non-zero: never gzip */
} prom_http_opts;

/* Starts serving `registry` (NULL: default) on every interface at `port`
 * (IPv6 and IPv4 on one socket, IPv4 alone where the system has no IPv6).
 * NULL with prom_last_error() if the port cannot be bound, e.g.
 * "listen on :8000: Address already in use", or if the registry already holds
 * a promhttp_metric_handler_* name that is not the server's own. */
prom_http_server *prom_http_start(uint16_t port, prom_registry *registry);
prom_http_server *prom_http_start_opts(const prom_http_opts *opts);
/* The port the server listens on (the one picked when opts.port was 0);
 * 0 for NULL. */
uint16_t prom_http_port(const prom_http_server *s);
/* Stops the server, after the scrapes in flight are answered, and frees it.
 * NULL is allowed. */
void prom_http_stop(prom_http_server *s);

#ifdef __cplusplus
}
#endif

#endif
