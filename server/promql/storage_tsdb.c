/*
 * storage_tsdb.c - pql_storage over TSDB blocks: the promql side of
 * server/tsdb's querier.
 *
 * select() turns the parser's matchers into tsdb_matchers (regexes compiled
 * here with PCRE2, as storage_mem.c compiles them, and matched fully anchored
 * through a callback, so tsdb needs no regex engine), asks the querier and
 * wraps each series' tsdb_qiter, kept in the query's arena, as a pql_iter.
 */
#include "promql/storage.h"
#include "tsdb/tsdb.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct pql_tsdb_storage {
    pql_storage iface;
    tsdb_querier q;
};

static bool re_match(void *ctx, tsdb_str v)
{
    const pcre2_code *re = ctx;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    bool hit = pcre2_match(re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0,
                           PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL) >= 0;
    pcre2_match_data_free(md);
    return hit;
}

static bool it_next(pql_iter *it)
{
    tsdb_qiter *qi = (tsdb_qiter *)it->impl;
    if (!tsdb_qiter_next(qi)) return false;
    it->t = qi->t;
    memcpy(&it->v, &qi->v, sizeof it->v);
    return true;
}

static bool it_seek(pql_iter *it, int64_t t)
{
    tsdb_qiter *qi = (tsdb_qiter *)it->impl;
    if (!tsdb_qiter_seek(qi, t)) return false;
    it->t = qi->t;
    memcpy(&it->v, &qi->v, sizeof it->v);
    return true;
}

static int tsdb_select(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                       core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    pql_tsdb_storage *ts = (pql_tsdb_storage *)st;
    tsdb_matcher *tm = core_arena_calloc(arena, nm + 1, sizeof *tm);
    int rc = 0;
    for (size_t i = 0; i < nm; i++) {
        static const tsdb_match_type types[] = {
            [PQL_MATCH_EQ] = TSDB_MATCH_EQ,
            [PQL_MATCH_NEQ] = TSDB_MATCH_NEQ,
            [PQL_MATCH_RE] = TSDB_MATCH_RE,
            [PQL_MATCH_NRE] = TSDB_MATCH_NRE,
        };
        tm[i] = (tsdb_matcher){
            .type = types[m[i].type],
            .name = tsdb_str_c(m[i].name),
            .value = {.p = m[i].value, .len = m[i].value_len},
            .re_match = re_match,
        };
        if (rc == 0 && (m[i].type == PQL_MATCH_RE || m[i].type == PQL_MATCH_NRE))
            if (!(tm[i].ctx = pql_regex_compile(&m[i], err))) rc = -1;
    }
    tsdb_qseries *qs = NULL;
    size_t n = 0;
    if (rc == 0) rc = tsdb_querier_select(&ts->q, tm, nm, mint, maxt, arena, &qs, &n, err);
    for (size_t i = 0; i < nm; i++)
        if (tm[i].ctx) pql_regex_free(tm[i].ctx);
    if (rc < 0) return -1;
    *out = core_arena_calloc(arena, n + 1, sizeof **out);
    *nout = n;
    for (size_t i = 0; i < n; i++) {
        tsdb_qiter *qi = core_arena_alloc(arena, sizeof *qi);
        tsdb_qiter_init(qi, &qs[i]);
        (*out)[i].labels = qs[i].labels;
        (*out)[i].it = (pql_iter){.seek = it_seek, .next = it_next, .impl = qi};
    }
    return 0;
}

pql_tsdb_storage *pql_tsdb_storage_open(const char *dir, core_err *err)
{
    pql_tsdb_storage *ts = core_calloc(1, sizeof *ts);
    if (tsdb_querier_open(&ts->q, dir, err) < 0) {
        free(ts);
        return NULL;
    }
    ts->iface.select = tsdb_select;
    return ts;
}

void pql_tsdb_storage_free(pql_tsdb_storage *ts)
{
    if (!ts) return;
    tsdb_querier_close(&ts->q);
    free(ts);
}

pql_storage *pql_tsdb_storage_iface(pql_tsdb_storage *ts)
{
    return &ts->iface;
}
