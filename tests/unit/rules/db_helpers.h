/*
 * db_helpers.h - a real TSDB in a temporary directory for the evaluation
 * tests: appending synthetic samples through the appender, reading a
 * series' raw samples (staleness markers included) and evaluating PromQL
 * over it.
 */
#ifndef TESTS_RULES_DB_HELPERS_H
#define TESTS_RULES_DB_HELPERS_H

/* the includer defines _GNU_SOURCE first (nftw) */
#include "rules/internal.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN (60 * 1000)
/* A realistic start (2023-11-14T22:13:20Z) rather than the epoch. */
#define T0 INT64_C(1700000000000)

typedef struct testdb {
    char dir[64];
    tsdb_db *db;
    pql_tsdb_storage *ts;
    pql_storage *st;
} testdb;

static inline void testdb_open(testdb *d)
{
    snprintf(d->dir, sizeof d->dir, "/tmp/rules-unit-XXXXXX");
    if (!mkdtemp(d->dir)) abort();
    core_err e = {{0}};
    d->db = tsdb_db_open(d->dir, &(tsdb_db_opts){0}, &e);
    if (!d->db) {
        fprintf(stderr, "%s\n", e.msg);
        abort();
    }
    d->ts = pql_tsdb_storage_db(d->db);
    d->st = pql_tsdb_storage_iface(d->ts);
}

static int testdb_rm(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s, (void)f, (void)w;
    return remove(p);
}

static inline void testdb_close(testdb *d)
{
    pql_tsdb_storage_free(d->ts);
    core_err e = {{0}};
    tsdb_db_close(d->db, &e);
    nftw(d->dir, testdb_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Appends one sample to the series named by "name", "k1", "v1", ..., NULL. */
static inline void put(testdb *d, int64_t t, double v, const char *name, ...)
{
    core_label pairs[16] = {{"__name__", name}};
    size_t n = 1;
    va_list ap;
    va_start(ap, name);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL && n < 16;)
        pairs[n++] = (core_label){k, va_arg(ap, const char *)};
    va_end(ap);
    core_labels *ls = core_labels_new(pairs, n);
    tsdb_appender *a = tsdb_db_appender(d->db);
    uint64_t ref = 0;
    core_err e = {{0}};
    if (tsdb_appender_add(a, &ref, ls, t, v, &e) != 0) {
        fprintf(stderr, "append: %s\n", e.msg);
        abort();
    }
    if (tsdb_appender_commit(a, &e) != 0) abort();
    free(ls);
}

typedef struct samples {
    int64_t t[256];
    double v[256];
    size_t n;
    size_t nseries;
} samples;

/* Every raw sample of the series matching `selector` (a PromQL vector
 * selector), all series together in time order of each series. */
static inline samples raw(testdb *d, const char *selector)
{
    samples out = {0};
    core_arena a = {0};
    core_err e = {{0}};
    pql_node *n = pql_parse(selector, NULL, &a, &e);
    if (!n || n->kind != PQL_NODE_VECTOR) abort();
    pql_storage *v = pql_storage_acquire(d->st, &e);
    pql_series *s;
    size_t ns;
    if (v->select(v, n->u.vector.matchers, n->u.vector.nmatchers, INT64_MIN / 2, INT64_MAX / 2, &a,
                  &s, &ns, &e) < 0)
        abort();
    out.nseries = ns;
    for (size_t i = 0; i < ns; i++)
        while (s[i].it.next(&s[i].it) && out.n < 256) {
            out.t[out.n] = s[i].it.t;
            out.v[out.n] = s[i].it.v;
            out.n++;
        }
    pql_storage_release(d->st, v);
    core_arena_destroy(&a);
    return out;
}

/* The value of a query that yields one sample at t; NaN when it yields none. */
static inline double value_at(testdb *d, const char *q, int64_t t)
{
    core_arena a = {0};
    core_err e = {{0}};
    rules_env env = {.storage = d->st, .engine = PQL_ENGINE_OPTS_DEFAULT};
    rules_tmpl_sample *res;
    size_t n;
    double v = NAN;
    if (rules_query(&env, q, NULL, t, &a, &res, &n, &e) < 0) {
        fprintf(stderr, "%s: %s\n", q, e.msg);
        abort();
    }
    if (n == 1) v = res[0].value;
    core_arena_destroy(&a);
    return v;
}

/* Writes `text` to dir/name; the path goes to out. */
static inline void write_file(const char *dir, const char *name, const char *text, char *out,
                              size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

#endif
