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
    /* why it failed: its output's message, or a literal, or timed_out */
    const char *error;
    char timed_out[40];
    nx_job *job; /* a finished job whose output is written; NULL otherwise */
} nx_result;

typedef struct nx_scrape {
    nx_result *results;
    size_t n;
    unsigned long id; /* a number of its own, for the outputs' nx_read_shared */
} nx_scrape;

/* Prepares a scrape of these collectors. */
void nx_scrape_init(nx_scrape *s, const nx_collector *const *collectors, size_t n);
/* Runs them on the worker pool and waits up to timeout_s seconds. */
void nx_scrape_run(nx_scrape *s, double timeout_s);
/* Lists the outputs of the collectors that finished in time, in the order given
 * to nx_scrape_init, into outs (room for s->n); returns how many. */
size_t nx_scrape_outputs(const nx_scrape *s, const nx_out **outs);
/* Writes node_scrape_collector_duration_seconds and node_scrape_collector_success
 * for each collector into o; logs each failure. */
void nx_scrape_status(const nx_scrape *s, nx_out *o);
/* Writes the exporter's own process_* families into o (self.c): those of
 * libprom's process collector, with the same names, help and values. */
void nx_process_metrics(nx_out *o);
void nx_scrape_destroy(nx_scrape *s);

#endif
