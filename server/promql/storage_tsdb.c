/*
 * storage_tsdb.c - pql_storage over TSDB blocks: the promql side of
 * server/tsdb's querier.
 *
 * select() turns the parser's matchers into tsdb_matchers (regexes compiled
 * here with PCRE2, as storage_mem.c compiles them, and matched fully anchored
 * through a callback, so tsdb needs no regex engine), asks the querier and
 * wraps each series' tsdb_qiter, kept in the query's arena, as a pql_iter.
 *
 * label_names() and label_values() work block by block, as upstream's
 * blockQuerier does: a block counts when it overlaps [mint, maxt] (closed
 * interval, upstream's OverlapsClosedInterval), and within it the time range
 * is not looked at again.  Without matchers the answer comes straight from
 * the index's postings offset table (names, and each name's values); with
 * matchers the block's matching series are selected over the whole block and
 * their labels read.  Upstream reads the postings there and so also counts a
 * series whose every chunk a tombstone deletes; this adapter's select() drops
 * such series first - a deliberate difference in a corner.  The blocks'
 * answers are merged, sorted and made unique.
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
    tsdb_db *db; /* a live database: answers through views */
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

/* The parser's matchers as tsdb's, regexes compiled (free with free_matchers
 * whatever it returns). */
static int to_tsdb_matchers(const pql_matcher *m, size_t nm, core_arena *arena, tsdb_matcher **out,
                            core_err *err)
{
    tsdb_matcher *tm = core_arena_calloc(arena, nm + 1, sizeof *tm);
    int rc = 0;
    *out = tm;
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
    return rc;
}

static void free_matchers(tsdb_matcher *tm, size_t nm)
{
    for (size_t i = 0; i < nm; i++)
        if (tm[i].ctx) pql_regex_free(tm[i].ctx);
}

static int tsdb_select(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                       core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    pql_tsdb_storage *ts = (pql_tsdb_storage *)st;
    tsdb_matcher *tm;
    int rc = to_tsdb_matchers(m, nm, arena, &tm, err);
    tsdb_qseries *qs = NULL;
    size_t n = 0;
    if (rc == 0) rc = tsdb_querier_select(&ts->q, tm, nm, mint, maxt, arena, &qs, &n, err);
    free_matchers(tm, nm);
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

/* ---- Label names and values */

/* A growable list of strings in an arena. */
typedef struct strlist {
    const char **v;
    size_t n, cap;
} strlist;

static void strlist_push(strlist *l, core_arena *arena, const char *p, size_t len)
{
    if (len == 0) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        const char **nv = core_arena_calloc(arena, cap + 1, sizeof *nv);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv, l->cap = cap;
    }
    l->v[l->n++] = core_arena_strndup(arena, p, len);
}

/* Names (name NULL) or values of `name` in block b, without matchers: the
 * index's own tables. */
static void block_labels_all(const tsdb_block *b, const char *name, core_arena *arena, strlist *l)
{
    if (!name) {
        size_t n;
        const tsdb_index_name *names = tsdb_index_label_names(&b->index, &n);
        for (size_t i = 0; i < n; i++)
            strlist_push(l, arena, names[i].name.p, names[i].name.len);
        return;
    }
    size_t n;
    const tsdb_index_entry *e = tsdb_index_label_values(&b->index, tsdb_str_c(name), &n);
    for (size_t i = 0; i < n; i++)
        strlist_push(l, arena, e[i].value.p, e[i].value.len);
}

/* The names (name NULL) or values of `name` among the series that querier q
 * selects with tm over all time.  The series live in a scratch arena; only
 * the strings kept are copied out. */
static int labels_matching(const tsdb_querier *q, const char *name, const tsdb_matcher *tm,
                           size_t nm, core_arena *arena, strlist *l, core_err *err)
{
    core_arena scratch = {0};
    tsdb_qseries *qs;
    size_t n;
    int rc = tsdb_querier_select(q, tm, nm, INT64_MIN, INT64_MAX, &scratch, &qs, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const core_labels *ls = qs[i].labels;
        for (size_t k = 0; k < ls->len; k++) {
            if (name && strcmp(ls->v[k].name, name) != 0) continue;
            const char *str = name ? ls->v[k].value : ls->v[k].name;
            strlist_push(l, arena, str, strlen(str));
        }
    }
    core_arena_destroy(&scratch);
    return rc;
}

/* The same among the series of block b that match tm (a querier over that
 * block alone). */
static int block_labels_matching(const tsdb_block *b, const char *name, const tsdb_matcher *tm,
                                 size_t nm, core_arena *arena, strlist *l, core_err *err)
{
    tsdb_querier one = {.blocks = (tsdb_block *)b, .n = 1};
    return labels_matching(&one, name, tm, nm, arena, l, err);
}

/* The head's part: its index's tables without matchers, else its matching
 * series' labels (the head counts when its data overlaps [mint, maxt]). */
static int head_labels(tsdb_head *h, const char *name, const tsdb_matcher *tm, size_t nm,
                       int64_t mint, int64_t maxt, core_arena *arena, strlist *l, core_err *err)
{
    tsdb_head_stats st = tsdb_head_get_stats(h);
    if (st.mint == INT64_MAX || st.mint > maxt || st.maxt < mint) return 0;
    if (nm == 0) {
        const char **v;
        size_t n =
            name ? tsdb_head_label_values(h, name, arena, &v) : tsdb_head_label_names(h, arena, &v);
        for (size_t i = 0; i < n; i++)
            strlist_push(l, arena, v[i], strlen(v[i]));
        return 0;
    }
    tsdb_querier one = {.head = h};
    return labels_matching(&one, name, tm, nm, arena, l, err);
}

static int tsdb_labels(pql_tsdb_storage *ts, const char *name, const pql_matcher *m, size_t nm,
                       int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                       size_t *nout, core_err *err)
{
    tsdb_matcher *tm;
    int rc = to_tsdb_matchers(m, nm, arena, &tm, err);
    strlist l = {0};
    for (size_t i = 0; rc == 0 && i < ts->q.n; i++) {
        const tsdb_block *b = &ts->q.blocks[i];
        if (b->meta.mint > maxt || b->meta.maxt <= mint) continue;
        if (nm == 0)
            block_labels_all(b, name, arena, &l);
        else
            rc = block_labels_matching(b, name, tm, nm, arena, &l, err);
    }
    if (rc == 0 && ts->q.head)
        rc = head_labels(ts->q.head, name, tm, nm, mint, maxt, arena, &l, err);
    free_matchers(tm, nm);
    if (rc < 0) return -1;
    *out = l.v ? l.v : core_arena_calloc(arena, 1, sizeof **out);
    *nout = pql_strings_sort_unique(l.v, l.n);
    return 0;
}

static int tsdb_label_names(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint,
                            int64_t maxt, core_arena *arena, const char ***out, size_t *nout,
                            core_err *err)
{
    return tsdb_labels((pql_tsdb_storage *)st, NULL, m, nm, mint, maxt, arena, out, nout, err);
}

static int tsdb_label_values(pql_storage *st, const char *name, const pql_matcher *m, size_t nm,
                             int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                             size_t *nout, core_err *err)
{
    return tsdb_labels((pql_tsdb_storage *)st, name, m, nm, mint, maxt, arena, out, nout, err);
}

/* ---- Opening */

pql_tsdb_storage *pql_tsdb_storage_open(const char *dir, core_err *err)
{
    pql_tsdb_storage *ts = core_calloc(1, sizeof *ts);
    if (tsdb_querier_open(&ts->q, dir, err) < 0) {
        free(ts);
        return NULL;
    }
    ts->iface.select = tsdb_select;
    ts->iface.label_names = tsdb_label_names;
    ts->iface.label_values = tsdb_label_values;
    return ts;
}

/* ---- A live database: views */

static pql_storage *db_acquire(pql_storage *st, core_err *err)
{
    (void)err;
    pql_tsdb_storage *base = (pql_tsdb_storage *)st;
    pql_tsdb_storage *v = core_calloc(1, sizeof *v);
    tsdb_db_querier(base->db, &v->q);
    v->iface.select = tsdb_select;
    v->iface.label_names = tsdb_label_names;
    v->iface.label_values = tsdb_label_values;
    return &v->iface;
}

static void db_release(pql_storage *view)
{
    pql_tsdb_storage *v = (pql_tsdb_storage *)view;
    tsdb_querier_close(&v->q);
    free(v);
}

static int unacquired(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                      core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    (void)st, (void)m, (void)nm, (void)mint, (void)maxt, (void)arena, (void)out, (void)nout;
    return core_err_set(err, "the database is read through pql_storage_acquire");
}

pql_tsdb_storage *pql_tsdb_storage_db(tsdb_db *db)
{
    pql_tsdb_storage *ts = core_calloc(1, sizeof *ts);
    ts->db = db;
    ts->iface.select = unacquired;
    ts->iface.acquire = db_acquire;
    ts->iface.release = db_release;
    return ts;
}

void pql_tsdb_storage_free(pql_tsdb_storage *ts)
{
    if (!ts) return;
    if (!ts->db) tsdb_querier_close(&ts->q);
    free(ts);
}

pql_storage *pql_tsdb_storage_iface(pql_tsdb_storage *ts)
{
    return &ts->iface;
}
