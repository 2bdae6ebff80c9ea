/*
 * scrape.h - one scrape of the node exporter: the enabled collectors run in
 * parallel with a deadline, and what finished in time is written.
 */
#ifndef EXPORTERS_NODE_SCRAPE_H
#define EXPORTERS_NODE_SCRAPE_H

#include "out.h"

typedef struct nx_job nx_job;

typedef struct nx_result {
    const nx_collector *collector;
    double seconds;
    bool success;
    bool no_data; /* failed for lack of anything to report: logged at debug */
    char error[512];
    nx_job *job; /* a finished job whose output is written; NULL otherwise */
} nx_result;

typedef struct nx_scrape {
    nx_result *results;
    size_t n;
} nx_scrape;

/* Prepares a scrape of these collectors. */
void nx_scrape_init(nx_scrape *s, const nx_collector *const *collectors, size_t n);
/* Runs them on the worker pool and waits up to timeout_s seconds. */
void nx_scrape_run(nx_scrape *s, double timeout_s);
/* Emits what the collectors produced, then node_scrape_collector_duration_seconds
 * and node_scrape_collector_success for each; logs each failure. */
void nx_scrape_emit(const nx_scrape *s, prom_emitter *e);
void nx_scrape_destroy(nx_scrape *s);

#endif
