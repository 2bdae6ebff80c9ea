/*
 * example-custom-exporter - the seed document's custom exporter, in C.
 *
 * Counts simulated requests in app_request_count{method,endpoint} and keeps
 * the last latency per endpoint in app_request_latency_seconds{endpoint},
 * served on http://<host>:<port>/metrics, one simulated request a second.
 *
 * Usage: example-custom-exporter [--port N] [--interval-ms N] [--latency-file F]
 * (port 8000).  With --latency-file, each simulated request takes the latency
 * written in F (seconds, re-read every time) instead of a random one, so a
 * test or a demo can drive alerts on it up and down.
 */
#include <prom/prom.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

/* The number in `path`, or a random latency in [0, 1) when it cannot be read. */
static double next_latency(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    double v;
    bool ok = f && fscanf(f, "%lf", &v) == 1;
    if (f) fclose(f);
    return ok ? v : (double)rand() / RAND_MAX;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    long port = 8000, interval_ms = 1000;
    const char *latency_file = NULL;
    bool bad = argc % 2 == 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--interval-ms") == 0)
            interval_ms = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--latency-file") == 0)
            latency_file = argv[i + 1];
        else
            bad = true;
    }
    if (bad || port < 0 || port > 65535 || interval_ms < 1) {
        fprintf(stderr, "usage: %s [--port N] [--interval-ms N] [--latency-file F]\n", argv[0]);
        return 2;
    }

    static const char *const method_endpoint[] = {"method", "endpoint"};
    prom_counter *requests = prom_counter_new(&(prom_opts){
        .name = "app_request_count",
        .help = "Application Request Count",
        .labels = method_endpoint,
        .n_labels = 2,
    });
    prom_gauge *latency = prom_gauge_new(&(prom_opts){
        .name = "app_request_latency_seconds",
        .help = "Application Request Latency",
        .labels = method_endpoint + 1,
        .n_labels = 1,
    });
    if (requests == NULL || latency == NULL) {
        fprintf(stderr, "creating metrics: %s\n", prom_last_error());
        return 1;
    }
    prom_http_server *server = prom_http_start((uint16_t)port, NULL);
    if (server == NULL) {
        fprintf(stderr, "serving metrics: %s\n", prom_last_error());
        return 1;
    }
    printf("serving metrics on http://localhost:%u/metrics\n", prom_http_port(server));
    fflush(stdout);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    static const char *const endpoints[] = {"/home", "/metrics"};
    static const char *const methods[] = {"GET", "POST"};
    srand((unsigned)time(NULL));
    while (!stop) {
        const char *endpoint = endpoints[rand() % 2];
        const char *method = methods[rand() % 2];
        prom_counter_inc(prom_counter_labels(requests, method, endpoint, NULL));
        prom_gauge_set(prom_gauge_labels(latency, endpoint, NULL), next_latency(latency_file));
        sleep_ms(interval_ms);
    }
    prom_http_stop(server);
    prom_registry_free(prom_registry_default());
    return 0;
}
