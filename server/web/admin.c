/*
 * admin.c - the TSDB's endpoints: /status/tsdb, /status/walreplay and the
 * admin API (snapshot, delete_series, clean_tombstones), as Prometheus 3.x
 * answers them.
 *
 * /status/tsdb.  Upstream's head statistics come from its postings index:
 * for every label name, each value with the number of series that carry the
 * pair.  The tsdb module hands those pairs over (tsdb_head_cardinality with
 * no limit: "name=value" and a count); the lists are then computed here the
 * way 3.x computes them, memoryInBytesByLabelName included, which 3.x
 * estimates as the bytes its label encoding takes (each string with a one-
 * byte length, four when 255 bytes or longer) times the series.  Each list
 * keeps the top `limit` by count; ties, which upstream leaves to Go's map
 * order, go by name here.  chunkCount counts the head's chunks series by
 * series (the head keeps no running total that the tsdb module exposes), so
 * the call costs a pass over the head, as the page is rare.
 *
 * The admin endpoints are refused with upstream's "admin APIs disabled"
 * (errorType unavailable, HTTP 500) unless --web.enable-admin-api.  A
 * snapshot goes to <data>/snapshots/<UTC time>-<16 hex digits>, named as
 * upstream names it.
 */
#include "web/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

/* ---- Helpers */

bool web_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) return *out = true, true;
        if (strcmp(s, no[i]) == 0) return *out = false, true;
    }
    return false;
}

void web_snapshot_name(int64_t ms, uint64_t rnd, char out[64])
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "%04d%02d%02dT%02d%02d%02dZ-%016llx", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned long long)(rnd & UINT64_C(0x7fffffffffffffff)));
}

static bool admin_allowed(web_api *api, web_reply *r)
{
    if (!api->o.enable_admin) {
        web_fail(r, WEB_ERR_UNAVAILABLE, "admin APIs disabled");
        return false;
    }
    if (!api->o.db) {
        web_fail(r, WEB_ERR_UNAVAILABLE, "TSDB not ready");
        return false;
    }
    return true;
}

/* ---- /status/tsdb */

/* The bytes 3.x's label encoding takes for a string of n bytes. */
static uint64_t encoded_size(size_t n)
{
    return (uint64_t)n + (n < 255 ? 1 : 4);
}

static int cmp_stat(const void *a, const void *b)
{
    const tsdb_stat *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

static size_t top_of(tsdb_stat *v, size_t n, size_t limit)
{
    if (n > 1) qsort(v, n, sizeof *v, cmp_stat);
    return n < limit ? n : limit;
}

void web_tsdb_stats_compute(const web_pair_count *pairs, size_t n, size_t limit, core_arena *arena,
                            web_tsdb_stats *out)
{
    memset(out, 0, sizeof *out);
    out->by_metric = core_arena_calloc(arena, n + 1, sizeof(tsdb_stat));
    out->by_pair = core_arena_calloc(arena, n + 1, sizeof(tsdb_stat));
    out->by_label = core_arena_calloc(arena, n + 1, sizeof(tsdb_stat));
    out->memory = core_arena_calloc(arena, n + 1, sizeof(tsdb_stat));
    size_t nm = 0, np = 0, nl = 0;
    for (size_t i = 0; i < n;) {
        const char *name = pairs[i].name;
        uint64_t values = 0, bytes = 0;
        size_t end = i;
        for (; end < n && strcmp(pairs[end].name, name) == 0; end++) {
            const web_pair_count *p = &pairs[end];
            if (p->series == 0) continue;
            values++;
            if (strcmp(name, CORE_METRIC_NAME) == 0)
                out->by_metric[nm++] = (tsdb_stat){p->value, p->series};
            out->by_pair[np++] =
                (tsdb_stat){core_arena_sprintf(arena, "%s=%s", name, p->value), p->series};
            bytes += (encoded_size(strlen(name)) + encoded_size(strlen(p->value))) * p->series;
        }
        if (values) {
            out->by_label[nl] = (tsdb_stat){name, values};
            out->memory[nl++] = (tsdb_stat){name, bytes};
            out->num_label_pairs += values;
        }
        i = end;
    }
    out->n_by_metric = top_of(out->by_metric, nm, limit);
    out->n_by_pair = top_of(out->by_pair, np, limit);
    out->n_by_label = top_of(out->by_label, nl, limit);
    out->n_memory = top_of(out->memory, nl, limit);
}

static int cmp_cstrp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_pair(const void *a, const void *b)
{
    const web_pair_count *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Every pair of the head from tsdb_head_cardinality's "name=value" entries:
 * the name is the shortest prefix before a '=' that is a label name of the
 * head (a UTF-8 label name may itself hold '='). */
static size_t head_pairs(tsdb_head *h, core_arena *arena, web_pair_count **out,
                         uint64_t *num_series)
{
    tsdb_cardinality c;
    tsdb_head_cardinality(h, CORE_METRIC_NAME, SIZE_MAX, arena, &c);
    *num_series = c.num_series;
    const char **names = core_arena_calloc(arena, c.n_values_by_label + 1, sizeof *names);
    for (size_t i = 0; i < c.n_values_by_label; i++)
        names[i] = c.values_by_label[i].name;
    if (c.n_values_by_label > 1) qsort(names, c.n_values_by_label, sizeof *names, cmp_cstrp);
    web_pair_count *v = core_arena_calloc(arena, c.n_series_by_pair + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < c.n_series_by_pair; i++) {
        const char *s = c.series_by_pair[i].name;
        for (const char *eq = strchr(s, '='); eq; eq = strchr(eq + 1, '=')) {
            char *name = core_arena_strndup(arena, s, (size_t)(eq - s));
            if (c.n_values_by_label &&
                !bsearch(&name, names, c.n_values_by_label, sizeof *names, cmp_cstrp))
                continue;
            v[n++] = (web_pair_count){name, eq + 1, c.series_by_pair[i].count};
            break;
        }
    }
    if (n > 1) qsort(v, n, sizeof *v, cmp_pair);
    *out = v;
    return n;
}

typedef struct series_list {
    tsdb_hseries **v;
    size_t n, cap;
} series_list;

static void collect(void *ctx, tsdb_hseries *s)
{
    series_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = core_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static uint64_t head_chunks(tsdb_head *h)
{
    series_list l = {0};
    core_arena scratch;
    core_arena_init(&scratch, 0);
    uint64_t total = 0;
    tsdb_head_read_lock(h);
    tsdb_head_each(h, collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        core_arena_reset(&scratch);
        tsdb_chunk_meta *metas;
        const uint8_t **bytes;
        uint32_t *lens;
        total += tsdb_head_series_chunks(h, l.v[i], INT64_MIN, INT64_MAX, &scratch, &metas, &bytes,
                                         &lens);
    }
    tsdb_head_read_unlock(h);
    core_arena_destroy(&scratch);
    free(l.v);
    return total;
}

static void stat_list(core_sb *d, const char *key, const tsdb_stat *v, size_t n)
{
    core_sb_addf(d, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(d, ',');
        core_sb_adds(d, "{\"name\":");
        web_json_cstr(d, v[i].name);
        core_sb_addf(d, ",\"value\":%llu}", (unsigned long long)v[i].count);
    }
    core_sb_addc(d, ']');
}

void web_ep_tsdb_status(web_api *api, core_http_req *req, web_reply *r)
{
    long long limit = 10;
    const char *s = core_http_arg(req, "limit");
    if (s && s[0]) {
        char *end;
        errno = 0;
        limit = strtoll(s, &end, 10);
        bool digits = (s[0] >= '0' && s[0] <= '9') ||
                      ((s[0] == '+' || s[0] == '-') && s[1] >= '0' && s[1] <= '9');
        for (const char *p = s + 1; digits && *p; p++)
            digits = *p >= '0' && *p <= '9';
        if (!digits || errno == ERANGE || *end || limit < 1) {
            web_fail(r, WEB_ERR_BAD_DATA, "limit must be a positive number");
            return;
        }
        if (limit > 10000) {
            web_fail(r, WEB_ERR_BAD_DATA, "limit must not exceed %d", 10000);
            return;
        }
    }
    if (!api->o.db) {
        web_fail(r, WEB_ERR_UNAVAILABLE, "TSDB not ready");
        return;
    }
    tsdb_head *h = tsdb_db_head(api->o.db);
    tsdb_head_stats hs = tsdb_head_get_stats(h);
    web_pair_count *pairs;
    uint64_t num_series;
    size_t n = head_pairs(h, r->arena, &pairs, &num_series);
    web_tsdb_stats st;
    web_tsdb_stats_compute(pairs, n, (size_t)limit, r->arena, &st);
    uint64_t chunks = head_chunks(h);
    core_sb *d = &r->data;
    core_sb_addf(d,
                 "{\"headStats\":{\"numSeries\":%llu,\"numLabelPairs\":%llu,\"chunkCount\":%llu,"
                 "\"minTime\":%lld,\"maxTime\":%lld}",
                 (unsigned long long)num_series, (unsigned long long)st.num_label_pairs,
                 (unsigned long long)chunks, (long long)hs.mint, (long long)hs.maxt);
    stat_list(d, "seriesCountByMetricName", st.by_metric, st.n_by_metric);
    stat_list(d, "labelValueCountByLabelName", st.by_label, st.n_by_label);
    stat_list(d, "memoryInBytesByLabelName", st.memory, st.n_memory);
    stat_list(d, "seriesCountByLabelValuePair", st.by_pair, st.n_by_pair);
    core_sb_addc(d, '}');
}

void web_ep_walreplay(web_api *api, core_http_req *req, web_reply *r)
{
    (void)req;
    const web_wal_replay *w = &api->o.wal_replay;
    core_sb_addf(&r->data, "{\"min\":%d,\"max\":%d,\"current\":%d}", w->min, w->max, w->current);
}

/* ---- Admin */

static int mkdir_p(const char *path, core_err *err)
{
    char *p = core_strdup(path);
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last) continue;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
            rc = core_err_set(err, "mkdir %s: %s", p, strerror(errno));
        if (last) break;
        *s = '/';
    }
    free(p);
    return rc;
}

void web_ep_snapshot(web_api *api, core_http_req *req, web_reply *r)
{
    if (!admin_allowed(api, r)) return;
    bool skip_head = false;
    const char *s = core_http_arg(req, "skip_head");
    if (s && s[0] && !web_parse_bool(s, &skip_head)) {
        core_sb q = CORE_SB_INIT;
        web_go_quote(&q, s, strlen(s));
        core_err e;
        core_err_set(&e, "unable to parse boolean: strconv.ParseBool: parsing %s: invalid syntax",
                     q.buf);
        core_sb_destroy(&q);
        web_bad_param(r, "skip_head", &e);
        return;
    }
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (uint64_t)clock();
    char name[64];
    web_snapshot_name(core_time_now_ms(), rnd, name);
    const char *base = api->db_dir[0] ? api->db_dir : ".";
    char *dir = core_arena_sprintf(r->arena, "%s/snapshots/%s", base, name);
    core_err e;
    if (mkdir_p(dir, &e) < 0) {
        web_fail(r, WEB_ERR_INTERNAL, "create snapshot directory: %s", e.msg);
        return;
    }
    if (tsdb_db_snapshot(api->o.db, dir, !skip_head, &e) < 0) {
        web_fail(r, WEB_ERR_INTERNAL, "create snapshot: %s", e.msg);
        return;
    }
    core_sb_adds(&r->data, "{\"name\":");
    web_json_cstr(&r->data, name);
    core_sb_addc(&r->data, '}');
}

/* A regex matcher of the tsdb module over a compiled pql matcher. */
typedef struct re_ctx {
    const pql_matcher *m;
    void *re;
} re_ctx;

static bool re_match(void *ctx, tsdb_str v)
{
    const re_ctx *c = ctx;
    char small[256];
    char *buf = v.len < sizeof small ? small : core_malloc(v.len + 1);
    if (v.len) memcpy(buf, v.p, v.len);
    buf[v.len] = '\0';
    bool hit = pql_matcher_matches(c->m, c->re, buf);
    if (buf != small) free(buf);
    return hit;
}

/* Deletes [start, end] of the series one selector matches. */
static int delete_set(web_api *api, const web_matchers *set, int64_t start, int64_t end,
                      core_arena *arena, core_err *err)
{
    tsdb_matcher *tm = core_arena_calloc(arena, set->n + 1, sizeof *tm);
    re_ctx *rc = core_arena_calloc(arena, set->n + 1, sizeof *rc);
    static const tsdb_match_type types[] = {
        [PQL_MATCH_EQ] = TSDB_MATCH_EQ,
        [PQL_MATCH_NEQ] = TSDB_MATCH_NEQ,
        [PQL_MATCH_RE] = TSDB_MATCH_RE,
        [PQL_MATCH_NRE] = TSDB_MATCH_NRE,
    };
    int ret = 0;
    size_t i = 0;
    for (; i < set->n; i++) {
        const pql_matcher *m = &set->m[i];
        tm[i] = (tsdb_matcher){
            .type = types[m->type],
            .name = tsdb_str_c(m->name),
            .value = {.p = m->value, .len = m->value_len},
        };
        if (m->type == PQL_MATCH_RE || m->type == PQL_MATCH_NRE) {
            rc[i].m = m;
            if (!(rc[i].re = pql_regex_compile(m, err))) {
                ret = -1;
                break;
            }
            tm[i].re_match = re_match;
            tm[i].ctx = &rc[i];
        }
    }
    if (ret == 0) ret = tsdb_db_delete(api->o.db, tm, set->n, start, end, err);
    for (size_t k = 0; k < i; k++)
        if (rc[k].re) pql_regex_free(rc[k].re);
    return ret;
}

void web_ep_delete_series(web_api *api, core_http_req *req, web_reply *r)
{
    if (!admin_allowed(api, r)) return;
    const char *const *sel;
    size_t nsel = core_http_args(req, "match[]", &sel);
    if (nsel == 0) {
        web_fail(r, WEB_ERR_BAD_DATA, "no match[] parameter provided");
        return;
    }
    core_err e;
    int64_t start, end;
    if (web_parse_time_param(core_http_arg(req, "start"), "start", CORE_TIME_MIN_MS, &start, &e) <
        0) {
        web_bad_param(r, "start", &e);
        return;
    }
    if (web_parse_time_param(core_http_arg(req, "end"), "end", CORE_TIME_MAX_MS, &end, &e) < 0) {
        web_bad_param(r, "end", &e);
        return;
    }
    for (size_t i = 0; i < nsel; i++) {
        web_matchers *set;
        if (web_parse_selectors(&sel[i], 1, &api->o.parse, r->arena, &set, &e) < 0) {
            web_bad_param(r, "match[]", &e);
            return;
        }
        if (delete_set(api, set, start, end, r->arena, &e) < 0) {
            web_fail(r, WEB_ERR_INTERNAL, "%s", e.msg);
            return;
        }
    }
}

void web_ep_clean_tombstones(web_api *api, core_http_req *req, web_reply *r)
{
    (void)req;
    if (!admin_allowed(api, r)) return;
    core_err e;
    if (tsdb_db_clean_tombstones(api->o.db, &e) < 0) web_fail(r, WEB_ERR_INTERNAL, "%s", e.msg);
}
