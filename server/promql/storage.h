/*
 * storage.h - what the PromQL engine reads series through.
 *
 * The engine asks a pql_storage for the series that match a selector's
 * matchers and have samples in [mint, maxt], then walks each series' float
 * samples with a pql_iter.  The TSDB querier implements this interface; so does
 * pql_mem_storage below, an in-memory store for tests.
 *
 * Matchers are the parser's pql_matcher: = and != compare bytes, =~ and !~ are
 * RE2-syntax regexes run by PCRE2, fully anchored, with `.` matching newline
 * (PCRE2_DOTALL), as in Prometheus 3.x.  A label that is absent has the value "".
 *
 * Memory: whatever select() returns (the series array, its iterators' state)
 * lives in the caller's arena; label sets are borrowed from the storage and
 * stay valid until the storage changes.
 */
#ifndef PROMQL_STORAGE_H
#define PROMQL_STORAGE_H

#include "promql/promql.h"
#include "tsdb/tsdb.h"

/* The staleness marker: a NaN with these exact bits ends a series. */
#define PQL_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

double pql_stale_nan(void);
bool pql_is_stale(double v);

/* A cursor over one series' samples in timestamp order. */
typedef struct pql_iter pql_iter;
struct pql_iter {
    /* Moves to the first sample at or after t (never backwards); false at the end. */
    bool (*seek)(pql_iter *it, int64_t t);
    /* Moves to the next sample; false at the end. */
    bool (*next)(pql_iter *it);
    int64_t t; /* the current sample, valid after a true return */
    double v;
    const void *impl; /* implementation state */
    size_t pos;
};

typedef struct pql_series {
    const core_labels *labels; /* borrowed from the storage */
    pql_iter it;               /* positioned before the first sample */
} pql_series;

typedef struct pql_storage pql_storage;
struct pql_storage {
    /* Fills *out (arena memory) with the series that match every matcher and
     * have a sample in [mint, maxt], sorted by labels.  Returns 0, or -1 with err. */
    int (*select)(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                  core_arena *arena, pql_series **out, size_t *nout, core_err *err);
    /* The label names of the series that match every matcher (nm 0: of every
     * series) within [mint, maxt], sorted, each once, the empty name never:
     * *out gets an array of NUL-terminated strings, array and strings in the
     * arena.  How finely [mint, maxt] is applied is the storage's business, as
     * upstream's (whole blocks for the TSDB's blocks, series for the in-memory
     * store).  May be NULL: see pql_storage_label_names.  Returns 0, or -1. */
    int (*label_names)(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                       core_arena *arena, const char ***out, size_t *nout, core_err *err);
    /* The values of label `name` in the same series, sorted, each once, the
     * empty value never (a series without the label has none).  May be NULL. */
    int (*label_values)(pql_storage *s, const char *name, const pql_matcher *m, size_t nm,
                        int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                        size_t *nout, core_err *err);
    /* Optional: a view of the storage fixed for one query (or one API call):
     * everything its select() and label lookups return stays valid until
     * release(), whatever compaction or retention does meanwhile.  A storage
     * that changes under its readers (the TSDB with its head) has these and
     * answers only through views.  NULL with err when it cannot. */
    pql_storage *(*acquire)(pql_storage *s, core_err *err);
    void (*release)(pql_storage *view);
};

/* s->acquire(s), or s itself for a storage without views. */
pql_storage *pql_storage_acquire(pql_storage *s, core_err *err);
/* Ends a view from pql_storage_acquire (nothing for a storage without views). */
void pql_storage_release(pql_storage *s, pql_storage *view);

/* Calls s->label_names, or when a storage leaves it NULL, derives the names
 * from select() over [mint, maxt] (every series when nm is 0). */
int pql_storage_label_names(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint,
                            int64_t maxt, core_arena *arena, const char ***out, size_t *nout,
                            core_err *err);
/* Calls s->label_values, or derives the values from select() likewise. */
int pql_storage_label_values(pql_storage *s, const char *name, const pql_matcher *m, size_t nm,
                             int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                             size_t *nout, core_err *err);
/* Sorts n strings bytewise and drops repeats; returns the count kept.  For
 * implementations of label_names and label_values. */
size_t pql_strings_sort_unique(const char **v, size_t n);

/* Compiles matcher `m` (=~ or !~) into a PCRE2 code; NULL with err on a bad
 * regex.  Free with pql_regex_free. */
void *pql_regex_compile(const pql_matcher *m, core_err *err);
void pql_regex_free(void *re);
/* Whether `value` satisfies matcher m; `re` is pql_regex_compile's result for
 * regex matchers, else NULL. */
bool pql_matcher_matches(const pql_matcher *m, const void *re, const char *value);

/* ---- In-memory storage for tests */

typedef struct pql_mem_storage pql_mem_storage;

pql_mem_storage *pql_mem_storage_new(void);
void pql_mem_storage_free(pql_mem_storage *ms);
/* The interface to hand to the engine. */
pql_storage *pql_mem_storage_iface(pql_mem_storage *ms);
/* Appends a sample; samples of a series come in increasing time: a sample at
 * the last sample's time replaces its value, an older one is ignored. */
void pql_mem_storage_add(pql_mem_storage *ms, const core_labels *ls, int64_t t, double v);
/* Drops every series. */
void pql_mem_storage_clear(pql_mem_storage *ms);

/* ---- Storage over the TSDB blocks of a data directory (storage_tsdb.c) */

typedef struct pql_tsdb_storage pql_tsdb_storage;

/* Opens every block under `dir` (see tsdb_querier_open); NULL with err. */
pql_tsdb_storage *pql_tsdb_storage_open(const char *dir, core_err *err);
/* A storage over a live database (blocks and head): it answers through views
 * (pql_storage_acquire), each holding a tsdb_db_querier.  The db must outlive
 * it; free with pql_tsdb_storage_free (the db stays open). */
pql_tsdb_storage *pql_tsdb_storage_db(tsdb_db *db);
void pql_tsdb_storage_free(pql_tsdb_storage *ts);
/* The interface to hand to the engine. */
pql_storage *pql_tsdb_storage_iface(pql_tsdb_storage *ts);

#endif
