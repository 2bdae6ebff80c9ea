/*
 * api.c - the /api/v1 handlers, upstream's envelope, the query queue and
 * query deadlines.
 *
 * Each handler fills a `reply`: either data (JSON text) with warnings and
 * infos, or an error type and message, or nothing (204).  finish() writes
 * the envelope and picks the HTTP status from the error type, as upstream's
 * respond/respondError do, and adds the CORS headers upstream's SetCORS adds
 * to every API answer.
 *
 * Queries.  At most max_concurrency queries evaluate at once (upstream's
 * ActiveQueryTracker gate); the others wait on a condition variable until a
 * slot frees or their deadline passes ("query timed out in query queue").
 * The deadline is the sooner of now + `timeout` and now + --query.timeout.
 * The engine asks pql_engine_opts.cancelled now and then (it stops with
 * upstream's "query timed out in expression evaluation" and frees what it
 * held), and the storage is wrapped as well: the wrapper refuses to select
 * after the deadline and its iterators check the clock every 256 samples and
 * stop early once it has passed; either way the answer is upstream's timeout
 * error (503).  The wrapper also counts the samples read, the
 * best this engine offers for stats=all's totalQueryableSamples; a storage
 * failure (a corrupt chunk or index) becomes upstream's internal error (500)
 * rather than execution (422).
 *
 * Status: buildinfo carries core_buildinfo (the compiler in goVersion);
 * runtimeinfo the Go runtime's fields with this process's nearest figures
 * (threads for goroutines, CPUs for GOMAXPROCS, no memory limit, GOGC and
 * GODEBUG from the environment as upstream reads them).
 */
#include "web/internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ANNOTATIONS 10

void web_add_note(web_reply *r, bool info, const char *text)
{
    const char ***v = info ? &r->info : &r->warn;
    size_t *n = info ? &r->ninfo : &r->nwarn, *cap = info ? &r->capinfo : &r->capwarn;
    if (*n == MAX_ANNOTATIONS) {
        if (info)
            r->more_info++;
        else
            r->more_warn++;
        return;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        const char **nv = core_arena_calloc(r->arena, c, sizeof *nv);
        if (*n) memcpy(nv, *v, *n * sizeof *nv);
        *v = nv, *cap = c;
    }
    (*v)[(*n)++] = core_arena_strdup(r->arena, text);
}

int web_fail(web_reply *r, web_err t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(&r->msg, fmt, ap);
    va_end(ap);
    r->err = t;
    return -1;
}

/* upstream's invalidParamError: `invalid parameter "name": <err>`. */
int web_bad_param(web_reply *r, const char *name, const core_err *e)
{
    return web_fail(r, WEB_ERR_BAD_DATA, "invalid parameter \"%s\": %s", name, e->msg);
}

static const char *err_name(web_err t)
{
    static const char *const names[] = {"",         "timeout",  "canceled",    "execution",
                                        "bad_data", "internal", "unavailable", "not_found"};
    return names[t];
}

static int err_status(web_err t)
{
    switch (t) {
    case WEB_ERR_BAD_DATA: return 400;
    case WEB_ERR_EXEC: return 422;
    case WEB_ERR_CANCELED: return 499;
    case WEB_ERR_TIMEOUT: return 503;
    case WEB_ERR_NOT_FOUND: return 404;
    default: return 500;
    }
}

static void set_cors(web_api *api, core_http_req *req, core_http_resp *resp)
{
    core_http_resp_header(resp, "Vary", "Origin");
    const char *origin = core_http_header(req, "Origin");
    if (!origin) return;
    core_http_resp_header(resp, "Access-Control-Allow-Headers",
                          "Accept, Authorization, Content-Type, Origin");
    core_http_resp_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    core_http_resp_header(resp, "Access-Control-Expose-Headers", "Date");
    if (!api->cors_re) {
        core_http_resp_header(resp, "Access-Control-Allow-Origin", "*");
        return;
    }
    pql_matcher m = {.type = PQL_MATCH_RE};
    if (pql_matcher_matches(&m, api->cors_re, origin))
        core_http_resp_header(resp, "Access-Control-Allow-Origin", origin);
}

static void notes(core_sb *b, const char *key, const char *const *v, size_t n, size_t more,
                  const char *kind)
{
    if (n == 0) return;
    core_sb_addf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(b, ',');
        web_json_cstr(b, v[i]);
    }
    if (more) {
        char tail[96];
        snprintf(tail, sizeof tail, "%zu more %s annotations omitted", more, kind);
        core_sb_addc(b, ',');
        web_json_cstr(b, tail);
    }
    core_sb_addc(b, ']');
}

static void finish(web_api *api, core_http_req *req, core_http_resp *resp, web_reply *r)
{
    set_cors(api, req, resp);
    core_sb *b = &resp->body;
    core_sb_reset(b);
    if (r->err != WEB_ERR_NONE) {
        resp->status = err_status(r->err);
        resp->content_type = "application/json";
        core_sb_adds(b, "{\"status\":\"error\",\"errorType\":\"");
        core_sb_adds(b, err_name(r->err));
        core_sb_adds(b, "\",\"error\":");
        web_json_cstr(b, r->msg.msg);
        core_sb_addc(b, '}');
    } else if (r->data.len == 0) {
        resp->status = 204;
    } else {
        resp->status = 200;
        resp->content_type = "application/json";
        core_sb_grow(b, r->data.len + 64);
        core_sb_adds(b, "{\"status\":\"success\",\"data\":");
        core_sb_add(b, r->data.buf, r->data.len);
        notes(b, "warnings", r->warn, r->nwarn, r->more_warn, "warning");
        notes(b, "infos", r->info, r->ninfo, r->more_info, "info");
        core_sb_addc(b, '}');
    }
    core_sb_destroy(&r->data);
}

/* Runs an endpoint with a fresh reply and writes its answer. */
static void serve(core_http_req *req, core_http_resp *resp, void *userdata)
{
    const web_route *rt = userdata;
    web_reply r = {.arena = core_http_arena(req)};
    rt->fn(rt->api, req, &r);
    finish(rt->api, req, resp, &r);
}

/* ---- The query gate */

static void deadline_ts(double deadline_mono, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    double left = deadline_mono - core_monotonic_seconds();
    if (left < 0) left = 0;
    ts->tv_sec += (time_t)left;
    ts->tv_nsec += (long)((left - floor(left)) * 1e9);
    if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

/* Takes a slot before the deadline; false when it passed first. */
static bool gate_enter(web_api *api, double deadline)
{
    struct timespec ts;
    deadline_ts(deadline, &ts);
    pthread_mutex_lock(&api->lock);
    while (api->active >= api->o.max_concurrency) {
        int rc = pthread_cond_timedwait(&api->freed, &api->lock, &ts);
        if (rc == ETIMEDOUT && api->active >= api->o.max_concurrency) {
            pthread_mutex_unlock(&api->lock);
            return false;
        }
    }
    api->active++;
    pthread_mutex_unlock(&api->lock);
    return true;
}

static void gate_leave(web_api *api)
{
    pthread_mutex_lock(&api->lock);
    api->active--;
    pthread_cond_signal(&api->freed);
    pthread_mutex_unlock(&api->lock);
}

/* ---- The storage wrapper that enforces the deadline */

typedef struct guard {
    pql_storage iface;
    pql_storage *inner;
    double deadline;
    bool timed_out, failed;
    uint64_t samples;
    unsigned tick;
} guard;

typedef struct guarded_iter {
    pql_iter in;
    guard *g;
} guarded_iter;

static bool guard_expired(guard *g)
{
    if (g->timed_out) return true;
    if ((++g->tick & 255) == 0 && core_monotonic_seconds() > g->deadline) g->timed_out = true;
    return g->timed_out;
}

static bool gi_step(pql_iter *it, bool ok)
{
    guarded_iter *w = (guarded_iter *)it->impl;
    if (!ok) return false;
    it->t = w->in.t;
    it->v = w->in.v;
    w->g->samples++;
    return true;
}

static bool gi_next(pql_iter *it)
{
    guarded_iter *w = (guarded_iter *)it->impl;
    if (guard_expired(w->g)) return false;
    return gi_step(it, w->in.next(&w->in));
}

static bool gi_seek(pql_iter *it, int64_t t)
{
    guarded_iter *w = (guarded_iter *)it->impl;
    if (guard_expired(w->g)) return false;
    return gi_step(it, w->in.seek(&w->in, t));
}

static bool guard_cancelled(void *ctx)
{
    guard *g = ctx;
    if (!g->timed_out && core_monotonic_seconds() > g->deadline) g->timed_out = true;
    return g->timed_out;
}

static int guard_select(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                        core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    guard *g = (guard *)s;
    if (g->timed_out || core_monotonic_seconds() > g->deadline) {
        g->timed_out = true;
        *out = NULL, *nout = 0;
        return 0; /* the caller finds the query timed out when it returns */
    }
    if (g->inner->select(g->inner, m, nm, mint, maxt, arena, out, nout, err) < 0) {
        g->failed = true;
        return -1;
    }
    for (size_t i = 0; i < *nout; i++) {
        guarded_iter *w = core_arena_alloc(arena, sizeof *w);
        w->in = (*out)[i].it;
        w->g = g;
        (*out)[i].it = (pql_iter){.seek = gi_seek, .next = gi_next, .impl = w};
    }
    return 0;
}

/* ---- Query endpoints */

static double now_mono(void)
{
    return core_monotonic_seconds();
}

/* The timeout parameter and --query.timeout: the deadline (monotonic). */
static int query_deadline(web_api *api, core_http_req *req, web_reply *r, double *deadline)
{
    double limit = (double)api->o.query_timeout_ms / 1000.0;
    const char *to = core_http_arg(req, "timeout");
    if (to && to[0]) {
        int64_t ms;
        core_err e;
        if (web_parse_duration(to, &ms, &e) < 0) return web_bad_param(r, "timeout", &e);
        if ((double)ms / 1000.0 < limit) limit = (double)ms / 1000.0;
    }
    *deadline = now_mono() + limit;
    return 0;
}

/* lookback_delta: 0 (absent) keeps the engine's. */
static int query_opts(web_api *api, core_http_req *req, web_reply *r, pql_engine_opts *o)
{
    *o = api->o.engine;
    const char *lb = core_http_arg(req, "lookback_delta");
    if (lb && lb[0]) {
        int64_t ms;
        core_err e;
        if (web_parse_duration(lb, &ms, &e) < 0)
            return web_fail(r, WEB_ERR_BAD_DATA, "error parsing lookback delta duration: %s",
                            e.msg);
        if (ms > 0) o->lookback_ms = ms;
    }
    return 0;
}

static void stats_json(core_sb *sb, double queue_s, double prep_s, double eval_s, uint64_t samples,
                       size_t peak)
{
    core_sb_adds(sb, ",\"stats\":{\"timings\":{\"evalTotalTime\":");
    web_json_number(sb, prep_s + eval_s);
    core_sb_adds(sb, ",\"resultSortTime\":0,\"queryPreparationTime\":");
    web_json_number(sb, prep_s);
    core_sb_adds(sb, ",\"innerEvalTime\":");
    web_json_number(sb, eval_s);
    core_sb_adds(sb, ",\"execQueueTime\":");
    web_json_number(sb, queue_s);
    core_sb_adds(sb, ",\"execTotalTime\":");
    web_json_number(sb, queue_s + prep_s + eval_s);
    core_sb_addf(sb,
                 "},\"samples\":{\"totalQueryableSamples\":%llu,\"samplesRead\":%llu,"
                 "\"peakSamples\":%zu}}",
                 (unsigned long long)samples, (unsigned long long)samples, peak);
}

/* Shared by query and query_range once the parameters are read. */
static void run_query(web_api *api, core_http_req *req, web_reply *r, const char *qs, bool range,
                      int64_t start, int64_t end, int64_t step, int64_t limit, double deadline,
                      const pql_engine_opts *eo)
{
    double t0 = now_mono();
    pql_node *expr = pql_parse(qs, &api->o.parse, r->arena, &r->msg);
    if (!expr) {
        core_err e = r->msg;
        web_bad_param(r, "query", &e);
        return;
    }
    if (range) {
        pql_type t = pql_node_type(expr);
        if (t != PQL_TYPE_VECTOR && t != PQL_TYPE_SCALAR) {
            core_err e;
            core_err_set(&e,
                         "invalid expression type \"%s\" for range query, must be Scalar or "
                         "instant Vector",
                         pql_type_doc_name(t));
            web_bad_param(r, "query", &e);
            return;
        }
    }
    if (!gate_enter(api, deadline)) {
        web_fail(r, WEB_ERR_TIMEOUT, "query timed out in query queue");
        return;
    }
    double t1 = now_mono();
    core_err e;
    /* A view of the storage for the whole query, result encoding included:
     * the result's label sets are the storage's. */
    pql_storage *view = pql_storage_acquire(api->o.storage, &e);
    if (!view) {
        gate_leave(api);
        web_fail(r, WEB_ERR_INTERNAL, "%s", e.msg);
        return;
    }
    guard g = {.iface = {.select = guard_select}, .inner = view, .deadline = deadline};
    pql_result res;
    pql_engine_opts o = *eo; /* the engine asks the guard too, between samples it holds */
    o.cancelled = guard_cancelled;
    o.cancel_ctx = &g;
    int rc = range ? pql_eval_range(&g.iface, &o, expr, start, end, step, r->arena, &res, &e)
                   : pql_eval_instant(&g.iface, &o, expr, start, r->arena, &res, &e);
    gate_leave(api);
    double t2 = now_mono();
    pthread_mutex_lock(&api->lock);
    api->queries++;
    api->queue_seconds += t1 - t0;
    api->eval_seconds += t2 - t1;
    pthread_mutex_unlock(&api->lock);
    if (g.timed_out || t2 > deadline) {
        web_fail(r, WEB_ERR_TIMEOUT, "query timed out in expression evaluation");
        goto out;
    }
    if (rc < 0) {
        web_fail(r, g.failed ? WEB_ERR_INTERNAL : WEB_ERR_EXEC, "%s", e.msg);
        goto out;
    }
    for (size_t i = 0; i < res.nannos; i++) {
        core_sb sb = CORE_SB_INIT;
        pql_annotation_format(&res.annos[i], qs, &sb);
        web_add_note(r, res.annos[i].info, sb.buf);
        core_sb_destroy(&sb);
    }
    if (limit > 0 && (res.type == PQL_TYPE_VECTOR || res.type == PQL_TYPE_MATRIX) &&
        res.nseries > (size_t)limit)
        web_add_note(r, false, "results truncated due to limit");
    const char *stats = core_http_arg(req, "stats");
    if (stats && stats[0] && strcmp(stats, "true") && strcmp(stats, "all")) {
        core_sb sb = CORE_SB_INIT;
        core_sb_adds(&sb, "value ");
        web_go_quote(&sb, stats, strlen(stats));
        core_sb_adds(&sb, " for parameter \"stats\" is deprecated and will be rejected in the "
                          "next major release, use \"true\" or \"all\"");
        web_add_note(r, false, sb.buf);
        core_sb_destroy(&sb);
    }
    web_json_result(&r->data, &res, limit > 0 ? (size_t)limit : 0);
    if (stats && stats[0]) {
        size_t peak = 0;
        for (size_t i = 0; i < res.nseries; i++)
            peak += res.series[i].n;
        r->data.len--; /* reopen the object */
        stats_json(&r->data, t1 - t0, 0, t2 - t1, g.samples, peak ? peak : 1);
        core_sb_addc(&r->data, '}');
    }
out:
    pql_storage_release(api->o.storage, view);
}

static void api_query(web_api *api, core_http_req *req, web_reply *r)
{
    core_err e;
    int64_t limit, t;
    if (web_parse_limit(core_http_arg(req, "limit"), &limit, &e) < 0) {
        web_bad_param(r, "limit", &e);
        return;
    }
    if (web_parse_time_param(core_http_arg(req, "time"), "time", core_time_now_ms(), &t, &e) < 0) {
        web_bad_param(r, "time", &e);
        return;
    }
    double deadline;
    pql_engine_opts eo;
    if (query_deadline(api, req, r, &deadline) < 0 || query_opts(api, req, r, &eo) < 0) return;
    const char *qs = core_http_arg(req, "query");
    run_query(api, req, r, qs ? qs : "", false, t, t, 0, limit, deadline, &eo);
}

static void api_query_range(web_api *api, core_http_req *req, web_reply *r)
{
    core_err e;
    int64_t limit, start, end, step;
    const char *s;
    if (web_parse_limit(core_http_arg(req, "limit"), &limit, &e) < 0) {
        web_bad_param(r, "limit", &e);
        return;
    }
    s = core_http_arg(req, "start");
    if (web_parse_time(s ? s : "", &start, &e) < 0) {
        web_bad_param(r, "start", &e);
        return;
    }
    s = core_http_arg(req, "end");
    if (web_parse_time(s ? s : "", &end, &e) < 0) {
        web_bad_param(r, "end", &e);
        return;
    }
    if (end < start) {
        web_fail(r, WEB_ERR_BAD_DATA,
                 "invalid parameter \"end\": end timestamp must not be before start time");
        return;
    }
    s = core_http_arg(req, "step");
    if (web_parse_duration(s ? s : "", &step, &e) < 0) {
        web_bad_param(r, "step", &e);
        return;
    }
    if (step <= 0) {
        web_fail(r, WEB_ERR_BAD_DATA,
                 "invalid parameter \"step\": zero or negative query resolution step widths are "
                 "not accepted. Try a positive integer");
        return;
    }
    if ((end - start) / step > 11000) {
        web_fail(r, WEB_ERR_BAD_DATA,
                 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                 "query resolution (?step=XX)");
        return;
    }
    double deadline;
    pql_engine_opts eo;
    if (query_deadline(api, req, r, &deadline) < 0 || query_opts(api, req, r, &eo) < 0) return;
    const char *qs = core_http_arg(req, "query");
    run_query(api, req, r, qs ? qs : "", true, start, end, step, limit, deadline, &eo);
}

static void api_format_query(web_api *api, core_http_req *req, web_reply *r)
{
    const char *qs = core_http_arg(req, "query");
    core_err e;
    pql_node *n = pql_parse(qs ? qs : "", &api->o.parse, r->arena, &e);
    if (!n) {
        web_bad_param(r, "query", &e);
        return;
    }
    core_sb sb = CORE_SB_INIT;
    web_pretty(n, &sb);
    web_json_str(&r->data, sb.buf ? sb.buf : "", sb.len);
    core_sb_destroy(&sb);
}

static void api_parse_query(web_api *api, core_http_req *req, web_reply *r)
{
    const char *qs = core_http_arg(req, "query");
    core_err e;
    pql_node *n = pql_parse(qs ? qs : "", &api->o.parse, r->arena, &e);
    if (!n) {
        web_bad_param(r, "query", &e);
        return;
    }
    web_ast_json(n, &r->data);
}

/* ---- Series, label names and values */

/* start, end and match[] as the metadata endpoints read them. */
typedef struct range_args {
    int64_t limit, start, end;
    web_matchers *sets;
    size_t nsets;
} range_args;

static int read_range_args(web_api *api, core_http_req *req, web_reply *r, range_args *a,
                           bool match_is_param)
{
    core_err e;
    if (web_parse_limit(core_http_arg(req, "limit"), &a->limit, &e) < 0)
        return web_bad_param(r, "limit", &e);
    if (web_parse_time_param(core_http_arg(req, "start"), "start", CORE_TIME_MIN_MS, &a->start,
                             &e) < 0)
        return web_bad_param(r, "start", &e);
    if (web_parse_time_param(core_http_arg(req, "end"), "end", CORE_TIME_MAX_MS, &a->end, &e) < 0)
        return web_bad_param(r, "end", &e);
    const char *const *sel;
    a->nsets = core_http_args(req, "match[]", &sel);
    a->sets = NULL;
    if (a->nsets && web_parse_matchers(sel, a->nsets, &api->o.parse, r->arena, &a->sets, &e) < 0) {
        if (match_is_param) return web_bad_param(r, "match[]", &e);
        return web_fail(r, WEB_ERR_BAD_DATA, "%s", e.msg);
    }
    return 0;
}

static int cmp_series(const void *a, const void *b)
{
    return core_labels_compare(((const pql_series *)a)->labels, ((const pql_series *)b)->labels);
}

static void api_series(web_api *api, core_http_req *req, web_reply *r)
{
    const char *const *sel;
    if (core_http_args(req, "match[]", &sel) == 0) {
        web_fail(r, WEB_ERR_BAD_DATA, "no match[] parameter provided");
        return;
    }
    range_args a;
    if (read_range_args(api, req, r, &a, true) < 0) return;
    pql_storage *st = pql_storage_acquire(api->o.storage, &r->msg);
    if (!st) {
        r->err = WEB_ERR_INTERNAL;
        return;
    }
    pql_series *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < a.nsets; i++) {
        pql_series *s;
        size_t ns;
        if (st->select(st, a.sets[i].m, a.sets[i].n, a.start, a.end, r->arena, &s, &ns, &r->msg) <
            0) {
            r->err = WEB_ERR_INTERNAL;
            pql_storage_release(api->o.storage, st);
            return;
        }
        if (a.nsets == 1) {
            all = s, n = ns;
            break;
        }
        if (n + ns > cap) {
            cap = (n + ns) * 2;
            pql_series *nv = core_arena_calloc(r->arena, cap, sizeof *nv);
            if (n) memcpy(nv, all, n * sizeof *nv);
            all = nv;
        }
        memcpy(all + n, s, ns * sizeof *s);
        n += ns;
    }
    if (a.nsets > 1 && n > 1) {
        qsort(all, n, sizeof *all, cmp_series);
        size_t k = 1;
        for (size_t i = 1; i < n; i++)
            if (!core_labels_equal(all[i].labels, all[k - 1].labels)) all[k++] = all[i];
        n = k;
    }
    if (a.limit > 0 && n > (size_t)a.limit) {
        n = (size_t)a.limit;
        web_add_note(r, false, "results truncated due to limit");
    }
    core_sb_grow(&r->data, n * 64 + 2);
    core_sb_addc(&r->data, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(&r->data, ',');
        web_json_labels(&r->data, all[i].labels);
    }
    core_sb_addc(&r->data, ']');
    pql_storage_release(api->o.storage, st);
}

static void label_lookup_in(pql_storage *st, web_reply *r, const range_args *a, const char *name);

/* Label names (name NULL) or values over every match[] set, merged. */
static void label_lookup(web_api *api, web_reply *r, const range_args *a, const char *name)
{
    pql_storage *st = pql_storage_acquire(api->o.storage, &r->msg);
    if (!st) {
        r->err = WEB_ERR_INTERNAL;
        return;
    }
    label_lookup_in(st, r, a, name);
    pql_storage_release(api->o.storage, st);
}

/* Label strings are copied into the request's arena, so the view can go
 * before the answer is written. */
static void label_lookup_in(pql_storage *st, web_reply *r, const range_args *a, const char *name)
{
    const char **all = NULL;
    size_t n = 0;
    size_t rounds = a->nsets > 1 ? a->nsets : 1;
    for (size_t i = 0; i < rounds; i++) {
        const pql_matcher *m = a->nsets ? a->sets[i].m : NULL;
        size_t nm = a->nsets ? a->sets[i].n : 0;
        const char **v;
        size_t nv;
        int rc =
            name ? pql_storage_label_values(st, name, m, nm, a->start, a->end, r->arena, &v, &nv,
                                            &r->msg)
                 : pql_storage_label_names(st, m, nm, a->start, a->end, r->arena, &v, &nv, &r->msg);
        if (rc < 0) {
            r->err = WEB_ERR_EXEC;
            return;
        }
        if (rounds == 1) {
            all = v, n = nv;
            break;
        }
        const char **nvv = core_arena_calloc(r->arena, n + nv + 1, sizeof *nvv);
        if (n) memcpy(nvv, all, n * sizeof *all);
        if (nv) memcpy(nvv + n, v, nv * sizeof *v);
        all = nvv, n += nv;
    }
    if (rounds > 1) n = pql_strings_sort_unique(all, n);
    if (a->limit > 0 && n > (size_t)a->limit) {
        n = (size_t)a->limit;
        web_add_note(r, false, "results truncated due to limit");
    }
    web_json_strings(&r->data, all, n);
}

static void api_labels(web_api *api, core_http_req *req, web_reply *r)
{
    range_args a;
    if (read_range_args(api, req, r, &a, false) < 0) return;
    label_lookup(api, r, &a, NULL);
}

static void api_label_values(web_api *api, core_http_req *req, web_reply *r)
{
    const char *raw = core_http_param(req, "name");
    const char *name = web_label_name_param(raw ? raw : "", r->arena);
    if (!web_label_name_valid(name)) {
        core_sb sb = CORE_SB_INIT;
        web_go_quote(&sb, name, strlen(name));
        web_fail(r, WEB_ERR_BAD_DATA, "invalid label name: %s", sb.buf);
        core_sb_destroy(&sb);
        return;
    }
    range_args a;
    if (read_range_args(api, req, r, &a, false) < 0) return;
    label_lookup(api, r, &a, name);
}

/* ---- Status */

static void api_buildinfo(web_api *api, core_http_req *req, web_reply *r)
{
    const core_buildinfo *b = core_buildinfo_get();
    core_sb *d = &r->data;
    core_sb_adds(d, "{\"version\":");
    web_json_cstr(d, b->version);
    core_sb_adds(d, ",\"revision\":");
    web_json_cstr(d, b->revision);
    core_sb_adds(d, ",\"branch\":");
    web_json_cstr(d, b->branch);
    core_sb_adds(d, ",\"buildUser\":");
    web_json_cstr(d, "");
    core_sb_adds(d, ",\"buildDate\":");
    web_json_cstr(d, b->build_date);
    core_sb_adds(d, ",\"goVersion\":");
    web_json_cstr(d, b->compiler);
    core_sb_addc(d, '}');
}

/* Go's time.Time in JSON: RFC3339 with the fraction trimmed. */
static void json_time_rfc3339(core_sb *d, int64_t ms)
{
    char buf[CORE_TIME_BUFSZ];
    size_t n = core_time_format_rfc3339(ms, buf);
    core_sb_addc(d, '"');
    core_sb_add(d, buf, n);
    core_sb_addc(d, '"');
}

static long thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = 1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = strtol(line + 8, NULL, 10);
    if (f) fclose(f);
    return n;
}

static void api_runtimeinfo(web_api *api, core_http_req *req, web_reply *r)
{
    core_sb *d = &r->data;
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "<unknown>");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    pthread_mutex_lock(&api->lock);
    bool ok = api->config_ok;
    int64_t when = api->config_ms;
    pthread_mutex_unlock(&api->lock);
    const char *gogc = getenv("GOGC"), *godebug = getenv("GODEBUG");
    core_sb_adds(d, "{\"startTime\":");
    json_time_rfc3339(d, api->o.start_ms);
    core_sb_adds(d, ",\"CWD\":");
    web_json_cstr(d, cwd);
    core_sb_adds(d, ",\"hostname\":");
    web_json_cstr(d, host);
    core_sb_adds(d, ",\"serverTime\":");
    json_time_rfc3339(d, core_time_now_ms());
    core_sb_addf(d, ",\"reloadConfigSuccess\":%s,\"lastConfigTime\":", ok ? "true" : "false");
    json_time_rfc3339(d, when / 1000 * 1000);
    core_sb_addf(d,
                 ",\"corruptionCount\":0,\"goroutineCount\":%ld,\"GOMAXPROCS\":%ld,"
                 "\"GOMEMLIMIT\":9223372036854775807,\"GOGC\":",
                 thread_count(), sysconf(_SC_NPROCESSORS_ONLN));
    web_json_cstr(d, gogc ? gogc : "");
    core_sb_adds(d, ",\"GODEBUG\":");
    web_json_cstr(d, godebug ? godebug : "");
    core_sb_adds(d, ",\"storageRetention\":");
    web_json_cstr(d, api->storage_retention);
    core_sb_addc(d, '}');
}

static void api_flags(web_api *api, core_http_req *req, web_reply *r)
{
    core_sb *d = &r->data;
    core_sb_addc(d, '{');
    for (size_t i = 0; i < api->nflags; i++) {
        if (i) core_sb_addc(d, ',');
        web_json_cstr(d, api->flags[i].name);
        core_sb_addc(d, ':');
        web_json_cstr(d, api->flags[i].value);
    }
    core_sb_addc(d, '}');
}

static void api_config(web_api *api, core_http_req *req, web_reply *r)
{
    pthread_mutex_lock(&api->lock);
    core_sb_adds(&r->data, "{\"yaml\":");
    web_json_cstr(&r->data, api->config_yaml);
    core_sb_addc(&r->data, '}');
    pthread_mutex_unlock(&api->lock);
}

static void api_options(web_api *api, core_http_req *req, web_reply *r)
{
    (void)api, (void)req, (void)r; /* 204 with the CORS headers */
}

/* ---- Set-up */

/* upstream's computeExternalURL, as far as globalUrl needs it: the flag's
 * scheme and host, else http and <hostname>:<listen port>. */
static void external_url(web_api *api, const web_api_opts *o)
{
    core_arena a;
    core_arena_init(&a, 0);
    const char *listen = o->listen_address ? o->listen_address : "";
    const char *host = NULL, *port = NULL;
    if (!web_split_host_port(listen, &a, &host, &port)) port = "";
    api->listen_port = core_strdup(port ? port : "");
    const char *u = o->external_url ? o->external_url : "";
    const char *sep = strstr(u, "://");
    if (u[0] && sep) {
        api->ext_scheme = core_strndup(u, (size_t)(sep - u));
        const char *h = sep + 3;
        api->ext_host = core_strndup(h, strcspn(h, "/?#"));
    } else {
        char name[256] = "";
        gethostname(name, sizeof name - 1);
        core_sb sb = CORE_SB_INIT;
        core_sb_addf(&sb, "%s:%s", name, api->listen_port);
        api->ext_scheme = core_strdup("http");
        api->ext_host = core_sb_detach(&sb, NULL);
    }
    core_arena_destroy(&a);
}

static int cmp_flag(const void *a, const void *b)
{
    return strcmp(((const web_flag *)a)->name, ((const web_flag *)b)->name);
}

web_api *web_api_new(const web_api_opts *opts, core_err *err)
{
    web_api *api = core_calloc(1, sizeof *api);
    api->o = *opts;
    if (!api->o.query_timeout_ms) api->o.query_timeout_ms = 2 * CORE_MS_PER_MINUTE;
    if (!api->o.max_concurrency) api->o.max_concurrency = 20;
    api->flags = core_calloc(opts->nflags + 1, sizeof *api->flags);
    for (size_t i = 0; i < opts->nflags; i++) {
        api->flags[i].name = core_strdup(opts->flags[i].name);
        api->flags[i].value = core_strdup(opts->flags[i].value ? opts->flags[i].value : "");
    }
    api->nflags = opts->nflags;
    qsort(api->flags, api->nflags, sizeof *api->flags, cmp_flag);
    api->o.flags = NULL;
    api->storage_retention = core_strdup(opts->storage_retention ? opts->storage_retention : "");
    api->config_yaml = core_strdup(opts->config_yaml ? opts->config_yaml : "");
    api->config_ok = true;
    api->config_ms = opts->start_ms;
    pthread_mutex_init(&api->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&api->freed, &ca);
    pthread_condattr_destroy(&ca);
    api->db_dir = core_strdup(opts->db_dir ? opts->db_dir : "");
    api->o.db_dir = NULL;
    external_url(api, opts);
    api->o.external_url = api->o.listen_address = NULL;
    api->external_labels = core_labels_new(NULL, 0);
    const char *origin = opts->cors_origin ? opts->cors_origin : ".*";
    if (strcmp(origin, ".*") != 0) {
        pql_matcher m = {PQL_MATCH_RE, "origin", origin, strlen(origin), false};
        if (!(api->cors_re = pql_regex_compile(&m, err))) {
            core_err_prefix(err, "could not compile CORS regex string \"%s\"", origin);
            web_api_free(api);
            return NULL;
        }
    }
    return api;
}

void web_api_set_config(web_api *api, const char *yaml, bool success, int64_t when_ms)
{
    pthread_mutex_lock(&api->lock);
    if (yaml) {
        free(api->config_yaml);
        api->config_yaml = core_strdup(yaml);
    }
    api->config_ok = success;
    api->config_ms = when_ms;
    pthread_mutex_unlock(&api->lock);
}

static void free_scrape_config(web_api *api)
{
    for (size_t i = 0; i < api->npools; i++)
        free(api->pools[i]);
    for (size_t i = 0; i < api->ndropped; i++) {
        free((char *)api->dropped[i].pool);
        free((core_labels *)api->dropped[i].discovered);
    }
    free(api->pools);
    free(api->dropped_counts);
    free(api->dropped);
    api->pools = NULL, api->dropped_counts = NULL, api->dropped = NULL;
    api->npools = api->ndropped = 0;
}

void web_api_set_scrape_config(web_api *api, const web_scrape_config *c)
{
    char **pools = core_calloc(c->npools + 1, sizeof *pools);
    uint64_t *counts = core_calloc(c->npools + 1, sizeof *counts);
    web_dropped_target *dropped = core_calloc(c->ndropped + 1, sizeof *dropped);
    for (size_t i = 0; i < c->npools; i++) {
        pools[i] = core_strdup(c->pools[i]);
        counts[i] = c->dropped_counts ? c->dropped_counts[i] : 0;
    }
    for (size_t i = 0; i < c->ndropped; i++) {
        dropped[i].pool = core_strdup(c->dropped[i].pool);
        dropped[i].discovered = c->dropped[i].discovered
                                    ? core_labels_clone(c->dropped[i].discovered)
                                    : core_labels_new(NULL, 0);
    }
    pthread_mutex_lock(&api->lock);
    free_scrape_config(api);
    api->pools = pools, api->dropped_counts = counts, api->npools = c->npools;
    api->dropped = dropped, api->ndropped = c->ndropped;
    pthread_mutex_unlock(&api->lock);
}

void web_api_set_external_labels(web_api *api, const core_labels *ls)
{
    core_labels *copy = ls ? core_labels_clone(ls) : core_labels_new(NULL, 0);
    pthread_mutex_lock(&api->lock);
    free(api->external_labels);
    api->external_labels = copy;
    pthread_mutex_unlock(&api->lock);
}

int web_api_register(web_api *api, core_http_server *srv, core_err *err)
{
    static const struct {
        const char *method, *pattern;
        web_endpoint fn;
    } table[] = {
        {"GET", "/api/v1/query", api_query},
        {"POST", "/api/v1/query", api_query},
        {"GET", "/api/v1/query_range", api_query_range},
        {"POST", "/api/v1/query_range", api_query_range},
        {"GET", "/api/v1/format_query", api_format_query},
        {"POST", "/api/v1/format_query", api_format_query},
        {"GET", "/api/v1/parse_query", api_parse_query},
        {"POST", "/api/v1/parse_query", api_parse_query},
        {"GET", "/api/v1/labels", api_labels},
        {"POST", "/api/v1/labels", api_labels},
        {"GET", "/api/v1/label/:name/values", api_label_values},
        {"GET", "/api/v1/series", api_series},
        {"POST", "/api/v1/series", api_series},
        {"GET", "/api/v1/status/config", api_config},
        {"GET", "/api/v1/status/runtimeinfo", api_runtimeinfo},
        {"GET", "/api/v1/status/buildinfo", api_buildinfo},
        {"GET", "/api/v1/status/flags", api_flags},
        {"GET", "/api/v1/status/tsdb", web_ep_tsdb_status},
        {"GET", "/api/v1/status/walreplay", web_ep_walreplay},
        {"GET", "/api/v1/targets", web_ep_targets},
        {"GET", "/api/v1/scrape_pools", web_ep_scrape_pools},
        {"GET", "/api/v1/targets/metadata", web_ep_targets_metadata},
        {"GET", "/api/v1/metadata", web_ep_metadata},
        {"GET", "/api/v1/rules", web_ep_rules},
        {"GET", "/api/v1/alerts", web_ep_alerts},
        {"GET", "/api/v1/alertmanagers", web_ep_alertmanagers},
        {"POST", "/api/v1/admin/tsdb/snapshot", web_ep_snapshot},
        {"PUT", "/api/v1/admin/tsdb/snapshot", web_ep_snapshot},
        {"POST", "/api/v1/admin/tsdb/delete_series", web_ep_delete_series},
        {"PUT", "/api/v1/admin/tsdb/delete_series", web_ep_delete_series},
        {"POST", "/api/v1/admin/tsdb/clean_tombstones", web_ep_clean_tombstones},
        {"PUT", "/api/v1/admin/tsdb/clean_tombstones", web_ep_clean_tombstones},
    };
    size_t n = sizeof table / sizeof table[0];
    _Static_assert(sizeof table / sizeof table[0] + 1 <= WEB_MAX_ROUTES, "room for every route");
    for (size_t i = 0; i < n; i++) {
        api->routes[i] = (web_route){api, table[i].fn};
        if (core_http_route(srv, table[i].method, table[i].pattern, serve, &api->routes[i], err) <
            0)
            return -1;
    }
    /* OPTIONS on each path (upstream answers it on any path; with a catch-all
     * here every unknown path would get core_http's 405 instead of its 404). */
    api->routes[n] = (web_route){api, api_options};
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(table[i].pattern, table[i - 1].pattern) == 0) continue;
        if (core_http_route(srv, "OPTIONS", table[i].pattern, serve, &api->routes[n], err) < 0)
            return -1;
    }
    return core_http_route(srv, "GET", "/federate", web_federate, api, err);
}

void web_api_free(web_api *api)
{
    if (!api) return;
    for (size_t i = 0; i < api->nflags; i++) {
        free((char *)api->flags[i].name);
        free((char *)api->flags[i].value);
    }
    free(api->flags);
    free(api->storage_retention);
    free(api->config_yaml);
    free(api->db_dir);
    free(api->ext_scheme);
    free(api->ext_host);
    free(api->listen_port);
    free_scrape_config(api);
    free(api->external_labels);
    if (api->cors_re) pql_regex_free(api->cors_re);
    pthread_mutex_destroy(&api->lock);
    pthread_cond_destroy(&api->freed);
    free(api);
}

void web_api_query_stats(web_api *api, web_query_stats *out)
{
    pthread_mutex_lock(&api->lock);
    *out = (web_query_stats){
        .active = api->active,
        .max = api->o.max_concurrency,
        .queries = api->queries,
        .queue_seconds = api->queue_seconds,
        .eval_seconds = api->eval_seconds,
    };
    pthread_mutex_unlock(&api->lock);
}
