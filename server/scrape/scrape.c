/*
 * scrape.c - the scrape manager: one thread, one libcurl multi handle, every
 * target's loop as a timer (see scrape.h for the behaviour).
 *
 * The thread sleeps in curl_multi_poll until the next due scrape or a
 * finished transfer; scrape_manager_sync and _free wake it with
 * curl_multi_wakeup after leaving their request under the mutex.  Bodies are
 * processed on the same thread: parsing and appending are cheap next to the
 * network wait, and one thread keeps each target's cache free of locks.
 *
 * The series cache (cache.c) maps a hash of the raw series text of a scrape
 * (model_parser_series_key) to what the first sight of it produced: the TSDB
 * ref, or "dropped by relabeling".  An entry remembers the iteration it was
 * last seen in; entries not seen in a successful scrape get a staleness
 * marker and leave the cache.  The final labels are not kept: a series the
 * TSDB knows is appended by ref, and one it forgot (the head drops series
 * left without data) gets its labels built again from the text being read.
 *
 * Memory.  What a target keeps between scrapes is its cache (32 bytes a
 * series plus its table), its definition, and its metadata.  The curl easy
 * handle (with curl's 16 KiB download buffer), the body buffer (the whole
 * uncompressed body: 140 KiB for 2,000 series) and the parser are the
 * manager's and lent out per transfer: only the transfers under way need
 * them, a handful at a time, so 200 targets do not keep 200 of each.  An
 * idle handle is curl_easy_reset before it waits in the pool (no target's
 * credentials or headers carry over; its connections stay in the multi
 * handle's cache for the next transfer to the same host).
 */
#define _GNU_SOURCE
#include "scrape/scrape.h"

#include "model/model.h"
#include "scrape/cache.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#ifdef PROM_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

/* ---- Times */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t scrape_first_delay(uint64_t target_hash, uint64_t seed, int64_t interval_ms, int64_t now)
{
    if (interval_ms <= 0) return 0;
    int64_t base = interval_ms - now % interval_ms;
    int64_t offset = (int64_t)((target_hash ^ seed) % (uint64_t)interval_ms);
    int64_t next = base + offset;
    if (next > interval_ms) next -= interval_ms;
    return next;
}

/* ---- Accept header */

static const struct {
    const char *name, *media;
} PROTOCOLS[] = {
    {"PrometheusProto",
     "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
    {"PrometheusText0.0.4", "text/plain;version=0.0.4"},
    {"PrometheusText1.0.0", "text/plain;version=1.0.0"},
    {"OpenMetricsText0.0.1", "application/openmetrics-text;version=0.0.1"},
    {"OpenMetricsText1.0.0", "application/openmetrics-text;version=1.0.0"},
};
#define NPROTOCOLS (sizeof PROTOCOLS / sizeof PROTOCOLS[0])

static const char *const DEFAULT_PROTOCOLS[] = {"OpenMetricsText1.0.0", "OpenMetricsText0.0.1",
                                                "PrometheusText1.0.0", "PrometheusText0.0.4"};

int scrape_accept_header(const char *const *protocols, size_t n, core_sb *out, core_err *err)
{
    if (!protocols) {
        protocols = DEFAULT_PROTOCOLS;
        n = sizeof DEFAULT_PROTOCOLS / sizeof DEFAULT_PROTOCOLS[0];
    }
    /* Weights count down from one more than the number of protocols known,
     * and the catch-all takes the next one, as upstream's acceptHeader. */
    size_t weight = NPROTOCOLS + 1;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < NPROTOCOLS && strcmp(PROTOCOLS[k].name, protocols[i]) != 0)
            k++;
        if (k == NPROTOCOLS) return core_err_set(err, "unknown scrape protocol %s", protocols[i]);
        core_sb_addf(out, "%s%s;q=0.%zu", i ? "," : "", PROTOCOLS[k].media, weight--);
    }
    core_sb_addf(out, "%s*/*;q=0.%zu", n ? "," : "", weight);
    return 0;
}

/* ---- Metadata: the HELP, TYPE and UNIT a target last exposed per family */

typedef struct meta {
    struct meta *next;
    char *name;
    model_type type;
    char *help, *unit;
    uint64_t seen;
} meta;

typedef struct meta_map {
    meta **b;
    size_t cap, n;
} meta_map;

static meta *meta_get(meta_map *mm, const char *name, size_t len)
{
    uint64_t h = core_hash(name, len);
    if (mm->cap)
        for (meta *e = mm->b[h & (mm->cap - 1)]; e; e = e->next)
            if (strlen(e->name) == len && memcmp(e->name, name, len) == 0) return e;
    if (mm->n + 1 > mm->cap) {
        size_t ncap = mm->cap ? mm->cap * 2 : 64;
        meta **nb = core_calloc(ncap, sizeof(*nb));
        for (size_t i = 0; i < mm->cap; i++)
            for (meta *x = mm->b[i], *next; x; x = next) {
                next = x->next;
                size_t k = core_hash(x->name, strlen(x->name)) & (ncap - 1);
                x->next = nb[k];
                nb[k] = x;
            }
        free(mm->b);
        mm->b = nb;
        mm->cap = ncap;
    }
    meta *e = core_calloc(1, sizeof(*e));
    e->name = core_strndup(name, len);
    e->next = mm->b[h & (mm->cap - 1)];
    mm->b[h & (mm->cap - 1)] = e;
    mm->n++;
    return e;
}

static void meta_free(meta *e)
{
    free(e->name);
    free(e->help);
    free(e->unit);
    free(e);
}

static void meta_destroy(meta_map *mm)
{
    for (size_t i = 0; i < mm->cap; i++)
        for (meta *e = mm->b[i], *next; e; e = next) {
            next = e->next;
            meta_free(e);
        }
    free(mm->b);
    memset(mm, 0, sizeof(*mm));
}

/* Replaces *dst with [p, p+len) when it differs; true when it changed. */
static bool set_text(char **dst, const char *p, size_t len)
{
    if (*dst && strlen(*dst) == len && memcmp(*dst, p, len) == 0) return false;
    free(*dst);
    *dst = core_strndup(p ? p : "", len);
    return true;
}

/* ---- Targets */

typedef struct target {
    /* The definition (owned copies). */
    char *pool, *url, *accept, *auth, *basic_user, *basic_password;
    char *ca_file, *cert_file, *key_file, *proxy_url;
    core_labels *labels, *discovered;
    scrape_target_def def; /* scalars; pointers above */
    uint64_t hash;
    /* The loop. */
    int64_t next_ms; /* when the next scrape is due (wall clock) */
    bool running;    /* a transfer is under way */
    CURL *easy;      /* the manager's, while a transfer runs */
    struct curl_slist *headers;
    core_sb body; /* the manager's, from the transfer's start to its processing */
    core_sb gz;   /* the manager's: the body as sent when it is gzipped */
    bool body_too_big;
    int encoding; /* ENC_*: from the response's Content-Encoding, at its first bytes */
    int64_t started_ms;
    double started_mono;
    char *content_type;
    scrape_cache cache;
    uint32_t iter;    /* scrapes so far (0 skipped when it wraps) */
    uint32_t last_ok; /* the last iteration that succeeded, 0: none */
    core_labels *report_labels[5];
    uint64_t report_refs[5];
    /* Reported state (guarded by the manager's state mutex). */
    scrape_health health;
    char last_error[CORE_ERR_MAX];
    int64_t last_scrape_ms;
    double last_duration_s;
    uint64_t last_samples;
    meta_map meta; /* changed under the manager's mutex */
} target;

#define POOL 8 /* idle handles and body buffers kept (two buffers a transfer) */

struct scrape_manager {
    tsdb_db *db;
    uint64_t key_seed; /* of the series caches' keys (random per process) */
    scrape_opts opts;
    char *user_agent;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mtx;    /* guards the fields below and the targets' reported state */
    pthread_cond_t applied; /* signalled when a sync was taken */
    uint64_t sync_gen, applied_gen;
    bool stop;
    bool have_sync;
    target **pending; /* targets of the last sync, not yet taken by the thread */
    size_t npending;
    target **targets; /* the thread's */
    size_t ntargets;
    /* The thread's: what a transfer and its processing need, lent out. */
    CURL *easy[POOL];
    size_t neasy;
    core_sb body[POOL];
    size_t nbody;
    model_parser *parser;
    z_stream zs; /* inflates gzipped bodies, one after the other */
    bool zs_ready;
#ifdef PROM_HAVE_LIBDEFLATE
    struct libdeflate_decompressor *inflater; /* the same, faster (see gunzip) */
#endif
    /* Actual time between a target's scrapes, per configured interval
     * (prometheus_target_interval_length_seconds), under mtx. */
    scrape_interval_stat *intervals;
    size_t nintervals;
};

static char *dup_or_null(const char *s)
{
    return s ? core_strdup(s) : NULL;
}

static uint64_t target_hash(const scrape_target_def *d)
{
    uint64_t h = core_labels_hash(d->labels);
    return h ^ core_hash_seeded(d->url, strlen(d->url), h);
}

static target *target_new(const scrape_target_def *d)
{
    target *t = core_calloc(1, sizeof(*t));
    t->def = *d;
    t->pool = core_strdup(d->pool ? d->pool : "");
    t->url = core_strdup(d->url);
    t->accept = dup_or_null(d->accept);
    if (d->bearer) {
        core_sb sb = CORE_SB_INIT;
        core_sb_addf(&sb, "Authorization: %s %s", d->auth_type ? d->auth_type : "Bearer",
                     d->bearer);
        t->auth = core_strdup(sb.buf);
        core_sb_destroy(&sb);
    }
    t->basic_user = dup_or_null(d->basic_user);
    t->basic_password = dup_or_null(d->basic_password);
    t->ca_file = dup_or_null(d->ca_file);
    t->cert_file = dup_or_null(d->cert_file);
    t->key_file = dup_or_null(d->key_file);
    t->proxy_url = dup_or_null(d->proxy_url);
    t->labels = core_labels_clone(d->labels);
    t->discovered = d->discovered ? core_labels_clone(d->discovered) : NULL;
    t->hash = target_hash(d);
    t->body = (core_sb)CORE_SB_INIT;
    return t;
}

static void target_free(target *t)
{
    free(t->pool), free(t->url), free(t->accept), free(t->auth), free(t->basic_user);
    free(t->basic_password), free(t->ca_file), free(t->cert_file), free(t->key_file);
    free(t->proxy_url), free(t->labels), free(t->discovered), free(t->content_type);
    if (t->headers) curl_slist_free_all(t->headers);
    if (t->easy) curl_easy_cleanup(t->easy);
    core_sb_destroy(&t->body);
    core_sb_destroy(&t->gz);
    scrape_cache_destroy(&t->cache);
    meta_destroy(&t->meta);
    for (size_t i = 0; i < 5; i++)
        free(t->report_labels[i]);
    free(t);
}

/* Same target: same URL and labels (its loop, cache and schedule carry over). */
static bool same_target(const target *a, const target *b)
{
    return a->hash == b->hash && strcmp(a->url, b->url) == 0 &&
           core_labels_equal(a->labels, b->labels) && strcmp(a->pool, b->pool) == 0;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Same scrape settings: the loop and its cache carry over a reload only
 * then; any other change starts a fresh loop, as upstream's reload does. */
static bool same_config(const target *a, const target *b)
{
    const scrape_target_def *x = &a->def, *y = &b->def;
    return x->interval_ms == y->interval_ms && x->timeout_ms == y->timeout_ms &&
           x->honor_labels == y->honor_labels && x->honor_timestamps == y->honor_timestamps &&
           x->track_timestamps_staleness == y->track_timestamps_staleness &&
           x->sample_limit == y->sample_limit && x->label_limit == y->label_limit &&
           x->label_name_length_limit == y->label_name_length_limit &&
           x->label_value_length_limit == y->label_value_length_limit &&
           x->body_size_limit == y->body_size_limit &&
           x->insecure_skip_verify == y->insecure_skip_verify &&
           x->follow_redirects == y->follow_redirects && x->metric_relabel == y->metric_relabel &&
           x->relabel_ctx == y->relabel_ctx && same_str(a->accept, b->accept) &&
           same_str(a->auth, b->auth) && same_str(a->basic_user, b->basic_user) &&
           same_str(a->basic_password, b->basic_password) && same_str(a->ca_file, b->ca_file) &&
           same_str(a->cert_file, b->cert_file) && same_str(a->key_file, b->key_file) &&
           same_str(a->proxy_url, b->proxy_url) && same_str(x->server_name, y->server_name);
}

/* ---- Building series labels */

/* The scraped series' labels with the target's applied, as upstream's
 * mutateSampleLabels; malloc'd. */
static core_labels *apply_target_labels(const target *t, const core_labels *scraped)
{
    core_labels_builder b;
    core_labels_builder_init(&b, scraped);
    char **names = NULL; /* exported_* names built here */
    size_t nnames = 0;
    for (size_t i = 0; i < t->labels->len; i++) {
        const core_label *l = &t->labels->v[i];
        if (t->def.honor_labels) {
            if (!core_labels_get(scraped, l->name)) core_labels_builder_set(&b, l->name, l->value);
            continue;
        }
        const char *existing = core_labels_get(scraped, l->name);
        if (existing && *existing) {
            core_sb name = CORE_SB_INIT;
            core_sb_adds(&name, "exported_");
            core_sb_adds(&name, l->name);
            while (core_labels_builder_get(&b, name.buf)) {
                core_sb tmp = CORE_SB_INIT;
                core_sb_adds(&tmp, "exported_");
                core_sb_adds(&tmp, name.buf);
                core_sb_destroy(&name);
                name = tmp;
            }
            names = core_reallocarray(names, nnames + 1, sizeof(*names));
            names[nnames++] = core_strdup(name.buf);
            core_sb_destroy(&name);
            core_labels_builder_set(&b, names[nnames - 1], existing);
        }
        core_labels_builder_set(&b, l->name, l->value);
    }
    core_labels *out = core_labels_builder_labels(&b, NULL);
    core_labels_builder_destroy(&b);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return out;
}

/* ---- Processing a body */

typedef struct outcome {
    uint64_t scraped, post_relabel, added;
    bool failed;
    char error[CORE_ERR_MAX];
} outcome;

static double stale_nan(void)
{
    uint64_t bits = TSDB_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Checks the limits on one series' final labels. */
static const char *label_limits(const target *t, const core_labels *ls, char *buf, size_t cap)
{
    if (t->def.label_limit && ls->len > t->def.label_limit) {
        snprintf(buf, cap, "label_limit exceeded (metric: %s, number of labels: %zu, limit: %llu)",
                 core_labels_get(ls, CORE_METRIC_NAME) ? core_labels_get(ls, CORE_METRIC_NAME) : "",
                 ls->len, (unsigned long long)t->def.label_limit);
        return buf;
    }
    for (size_t i = 0; i < ls->len; i++) {
        size_t ln = strlen(ls->v[i].name), lv = strlen(ls->v[i].value);
        if (t->def.label_name_length_limit && ln > t->def.label_name_length_limit) {
            snprintf(buf, cap,
                     "label_name_length_limit exceeded (label name: %.64s, length: %zu, "
                     "limit: %llu)",
                     ls->v[i].name, ln, (unsigned long long)t->def.label_name_length_limit);
            return buf;
        }
        if (t->def.label_value_length_limit && lv > t->def.label_value_length_limit) {
            snprintf(buf, cap,
                     "label_value_length_limit exceeded (label name: %.64s, value: "
                     "%.64s, length: %zu, limit: %llu)",
                     ls->v[i].name, ls->v[i].value, lv,
                     (unsigned long long)t->def.label_value_length_limit);
            return buf;
        }
    }
    return NULL;
}

/* The final labels of the parser's series: the scraped ones with the
 * target's applied, then metric relabeling; *out is NULL (malloc'd
 * otherwise) when relabeling dropped the series.  -1 with o's error when the
 * labels cannot be read or break a limit. */
static int series_labels(target *t, model_parser *p, core_arena *arena, core_labels **out,
                         outcome *o)
{
    core_err err = {{0}};
    *out = NULL;
    core_arena_reset(arena);
    core_labels *scraped = model_parser_labels_new(p, arena, &err);
    if (!scraped) {
        snprintf(o->error, sizeof o->error, "%s", err.msg);
        return -1;
    }
    core_labels *ls = apply_target_labels(t, scraped);
    if (t->def.metric_relabel) {
        core_labels *r = t->def.metric_relabel(t->def.relabel_ctx, ls);
        free(ls);
        ls = r;
    }
    if (ls && ls->len == 0) {
        free(ls);
        ls = NULL;
    }
    if (ls) {
        char buf[256];
        const char *why = label_limits(t, ls, buf, sizeof buf);
        if (why) {
            free(ls);
            snprintf(o->error, sizeof o->error, "%s", why);
            return -1;
        }
    }
    *out = ls;
    return 0;
}

/* A staleness marker for a series of the cache (errors are not the
 * scrape's: a ref the TSDB no longer knows had no data left to mark). */
static void stale_one(tsdb_appender *app, const scrape_centry *e, int64_t ts)
{
    uint64_t ref = e->ref;
    core_err err = {{0}};
    if (ref) tsdb_appender_add(app, &ref, NULL, ts, stale_nan(), &err);
}

typedef struct sweep_ctx {
    tsdb_appender *app;
    uint32_t last_ok;
    int64_t ts;
} sweep_ctx;

/* A series of the last scrape that is gone: a staleness marker. */
static void on_gone(void *ctx, const scrape_centry *e)
{
    const sweep_ctx *sc = ctx;
    if (!(e->flags & (SCRAPE_CE_DROPPED | SCRAPE_CE_UNTRACKED)) && sc->last_ok &&
        e->seen == sc->last_ok)
        stale_one(sc->app, e, sc->ts);
}

/* The known-series shortcut of the text parser: a series text the cache
 * has (its entry kept for the caller) was parsed and accepted before. */
typedef struct known_ctx {
    const scrape_manager *m;
    target *t;
    scrape_centry *ce; /* the entry of the line the parser took, or NULL */
    uint64_t h[2];
} known_ctx;

static bool known_series(void *ctx, const char *s, size_t len)
{
    known_ctx *k = ctx;
    scrape_cache_key(s, len, k->m->key_seed, k->h);
    k->ce = scrape_cache_find(&k->t->cache, k->h);
    return k->ce != NULL;
}

/* Adds the scrape's samples to app, and staleness markers for the series of
 * the last scrape that are gone; o->failed on a parse error or a limit (the
 * caller rolls app back then).  The caller commits app with the report
 * series, as upstream commits a scrape and its report together: one WAL
 * record for both. */
static void process_body(scrape_manager *m, target *t, int64_t ts, outcome *o, tsdb_appender *app)
{
    model_format fmt = model_format_from_content_type(t->content_type);
    if (!m->parser)
        m->parser = model_parser_new(fmt, t->body.buf ? t->body.buf : "", t->body.len, t->url);
    else
        model_parser_reset(m->parser, fmt, t->body.buf ? t->body.buf : "", t->body.len, t->url);
    model_parser *p = m->parser;
    known_ctx kc = {.m = m, .t = t};
    model_parser_set_known(p, known_series, &kc);
    core_arena arena;
    core_arena_init(&arena, 0);
    if (++t->iter == 0) t->iter = 1;
    uint32_t iter = t->iter;
    core_err err = {{0}};
    for (;;) {
        kc.ce = NULL;
        model_entry e = model_parser_next(p, &err);
        if (e == MODEL_ENTRY_EOF) break;
        if (e == MODEL_ENTRY_ERROR) {
            o->failed = true;
            snprintf(o->error, sizeof o->error, "%s", err.msg);
            break;
        }
        if (e == MODEL_ENTRY_HELP || e == MODEL_ENTRY_TYPE || e == MODEL_ENTRY_UNIT) {
            model_str name = model_parser_name(p);
            pthread_mutex_lock(&m->mtx);
            meta *md = meta_get(&t->meta, name.p, name.len);
            md->seen = iter;
            if (e == MODEL_ENTRY_TYPE) md->type = model_parser_type(p);
            if (e == MODEL_ENTRY_HELP) {
                model_str h = model_parser_help(p);
                set_text(&md->help, h.p, h.len);
            }
            if (e == MODEL_ENTRY_UNIT) {
                model_str u = model_parser_unit(p);
                set_text(&md->unit, u.p, u.len);
            }
            pthread_mutex_unlock(&m->mtx);
            continue;
        }
        if (e != MODEL_ENTRY_SERIES) continue;
        uint32_t pos = (uint32_t)o->scraped++;
        scrape_centry *ce = kc.ce; /* the shortcut took the line */
        if (!ce) {
            model_str key = model_parser_series_key(p);
            scrape_cache_key(key.p, key.len, m->key_seed, kc.h);
            ce = scrape_cache_find(&t->cache, kc.h);
        }
        core_labels *ls = NULL; /* only for a series the TSDB does not know by ref */
        if (!ce) {
            if (series_labels(t, p, &arena, &ls, o) < 0) {
                o->failed = true;
                break;
            }
            ce = scrape_cache_add(&t->cache, kc.h);
            ce->flags = SCRAPE_CE_NEW | (ls ? 0 : SCRAPE_CE_DROPPED);
            if (ls) o->added++;
        }
        int64_t sts = ts, given;
        bool own_ts = t->def.honor_timestamps && model_parser_timestamp(p, &given);
        if (own_ts) sts = given;
        /* The same series twice in one scrape: upstream drops the second
         * sample unless it has a timestamp of its own. */
        if (ce->seen == iter && !own_ts) continue;
        /* As upstream, a series with its own timestamps is left out of
         * staleness tracking unless the config asks for it. */
        if (own_ts && !t->def.track_timestamps_staleness)
            ce->flags |= SCRAPE_CE_UNTRACKED;
        else
            ce->flags &= ~(uint32_t)SCRAPE_CE_UNTRACKED;
        ce->seen = iter;
        ce->pos = pos;
        if (ce->flags & SCRAPE_CE_DROPPED) continue;
        o->post_relabel++;
        if (t->def.sample_limit && o->post_relabel > t->def.sample_limit) {
            free(ls);
            o->failed = true;
            snprintf(o->error, sizeof o->error, "sample limit exceeded");
            break;
        }
        double v = model_parser_value(p);
        uint64_t ref = ce->ref;
        int rc = tsdb_appender_add(app, &ref, ls, sts, v, &err);
        if (rc < 0 && !ls) { /* the TSDB dropped the series: create it again */
            if (series_labels(t, p, &arena, &ls, o) < 0) {
                o->failed = true;
                break;
            }
            ref = 0;
            rc = ls ? tsdb_appender_add(app, &ref, ls, sts, v, &err) : 0;
        }
        free(ls);
        if (rc < 0) {
            o->failed = true;
            snprintf(o->error, sizeof o->error, "%s", err.msg);
            break;
        }
        ce->ref = ref <= UINT32_MAX ? (uint32_t)ref : 0;
    }
    core_arena_destroy(&arena);
    model_parser_set_known(p, NULL, NULL);
    if (o->failed) return;
    /* Series of the last scrape that are gone: staleness markers. */
    sweep_ctx sc = {app, t->last_ok, ts};
    scrape_cache_sweep(&t->cache, iter, on_gone, &sc);
}

/* After a scrape's commit: families no longer exposed leave the metadata. */
static void prune_metadata(scrape_manager *m, target *t, uint32_t iter)
{
    pthread_mutex_lock(&m->mtx);
    for (size_t i = 0; i < t->meta.cap; i++) {
        meta **pp = &t->meta.b[i];
        while (*pp) {
            meta *md = *pp;
            if (md->seen == iter) {
                pp = &md->next;
                continue;
            }
            *pp = md->next;
            t->meta.n--;
            meta_free(md);
        }
    }
    pthread_mutex_unlock(&m->mtx);
}

/* Staleness markers for every series of the last successful scrape (after
 * a failed scrape, or when the target goes away); the cache is emptied. */
static void stale_all(target *t, int64_t ts, tsdb_appender *app)
{
    if (t->last_ok)
        for (uint32_t i = 0; i < t->cache.n; i++) {
            const scrape_centry *e = &t->cache.v[i];
            if (!(e->flags & (SCRAPE_CE_DROPPED | SCRAPE_CE_NEW | SCRAPE_CE_UNTRACKED)))
                stale_one(app, e, ts);
        }
    scrape_cache_destroy(&t->cache);
    t->last_ok = 0;
}

static const char *const REPORT_NAMES[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

static void append_report(target *t, int64_t ts, const double *values, tsdb_appender *app)
{
    core_err err = {{0}};
    for (size_t i = 0; i < 5; i++) {
        if (!t->report_labels[i]) {
            core_labels_builder b;
            core_labels_builder_init(&b, t->labels);
            core_labels_builder_set(&b, CORE_METRIC_NAME, REPORT_NAMES[i]);
            t->report_labels[i] = core_labels_builder_labels(&b, NULL);
            core_labels_builder_destroy(&b);
        }
        tsdb_appender_add(app, &t->report_refs[i], t->report_labels[i], ts, values[i], &err);
    }
}

/* ---- Transfers */

enum { ENC_UNKNOWN, ENC_IDENTITY, ENC_GZIP };

/* A body a deflate stream cannot shrink below: past this many bytes sent,
 * the inflated body would pass the size limit anyway (stored blocks cost 5
 * bytes a 64 KiB, the gzip header and trailer 18 and more). */
static int64_t gz_limit(int64_t limit)
{
    return limit + limit / 8192 + 1024;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    target *t = ud;
    size_t len = size * n;
    if (t->encoding == ENC_UNKNOWN) {
        /* As upstream: a body is gunzipped when Content-Encoding is exactly
         * "gzip", and read as it is otherwise. */
        struct curl_header *h = NULL;
        bool gz =
            curl_easy_header(t->easy, "Content-Encoding", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
            h && strcmp(h->value, "gzip") == 0;
        t->encoding = gz ? ENC_GZIP : ENC_IDENTITY;
    }
    core_sb *dst = t->encoding == ENC_GZIP ? &t->gz : &t->body;
    int64_t limit = t->def.body_size_limit;
    if (limit > 0 && t->encoding == ENC_GZIP) limit = gz_limit(limit);
    if (limit > 0 && (int64_t)(dst->len + len) > limit) {
        t->body_too_big = true;
        return 0; /* makes curl fail the transfer */
    }
    core_sb_add(dst, data, len);
    return len;
}

/* The length the last gzip member of [in, in+len) gives, from its trailer
 * (mod 2^32), or 0; at most limit + 1 when there is a limit. */
static size_t gz_size_hint(const unsigned char *in, size_t len, int64_t limit)
{
    size_t want = 0;
    if (len >= 18)
        want = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
               (size_t)in[len - 1] << 24;
    if (limit > 0 && want > (size_t)limit) want = (size_t)limit + 1;
    return want;
}

#ifdef PROM_HAVE_LIBDEFLATE
/* libdeflate inflates a whole buffer ~3x faster than zlib (129 KiB of text
 * from 19 KiB: 52 against 153 us here; bench/scrape: 0.43-0.45 -> 0.38 s CPU
 * a million samples).  True when every member inflated within the limit;
 * false for anything else, which gunzip then reads with zlib, for zlib's
 * finer errors (libdeflate says only "bad data"). */
static bool gunzip_fast(scrape_manager *m, target *t)
{
    if (!m->inflater && !(m->inflater = libdeflate_alloc_decompressor())) return false;
    const unsigned char *in = (const unsigned char *)t->gz.buf;
    size_t left = t->gz.len;
    int64_t limit = t->def.body_size_limit;
    core_sb_reset(&t->body);
    core_sb_grow(&t->body, gz_size_hint(in, left, limit) + 1);
    while (left) {
        size_t room = t->body.cap - t->body.len - 1, used = 0, got = 0;
        if (limit > 0 && room > (size_t)limit + 1 - t->body.len)
            room = (size_t)limit + 1 - t->body.len;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(
            m->inflater, in, left, t->body.buf + t->body.len, room, &used, &got);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE) { /* a member longer than said: more room */
            if (limit > 0 && (int64_t)(t->body.len + room) > limit) return false;
            core_sb_grow(&t->body, 2 * room + 64);
            continue;
        }
        if (r != LIBDEFLATE_SUCCESS || used == 0) return false;
        t->body.len += got;
        if (limit > 0 && (int64_t)t->body.len > limit) return false;
        in += used;
        left -= used;
    }
    t->body.buf[t->body.len] = 0;
    return true;
}
#endif

/* Gunzips t->gz into t->body (every member, as Go's gzip reader); false
 * with the error upstream's reader would give. */
static bool gunzip(scrape_manager *m, target *t, char *error, size_t cap)
{
    const unsigned char *in = (const unsigned char *)t->gz.buf;
    size_t inlen = t->gz.len;
    if (inlen == 0) {
        snprintf(error, cap, "EOF");
        return false;
    }
#ifdef PROM_HAVE_LIBDEFLATE
    if (gunzip_fast(m, t)) return true;
#endif
    if (!m->zs_ready) {
        if (inflateInit2(&m->zs, 16 + MAX_WBITS) != Z_OK) {
            snprintf(error, cap, "gzip: cannot start inflating");
            return false;
        }
        m->zs_ready = true;
    }
    int64_t limit = t->def.body_size_limit;
    core_sb_reset(&t->body);
    core_sb_grow(&t->body, gz_size_hint(in, inlen, limit) + 1);
    z_stream *zs = &m->zs;
    zs->next_in = (unsigned char *)(uintptr_t)in;
    zs->avail_in = (uInt)(inlen > UINT_MAX ? UINT_MAX : inlen);
    size_t left = inlen - zs->avail_in;
    for (;;) {
        if (inflateReset2(zs, 16 + MAX_WBITS) != Z_OK) break;
        if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b) {
            snprintf(error, cap, "gzip: invalid header");
            return false;
        }
        int rc;
        do {
            if (t->body.cap - t->body.len < 2) core_sb_grow(&t->body, t->body.cap);
            size_t room = t->body.cap - t->body.len - 1;
            zs->next_out = (unsigned char *)t->body.buf + t->body.len;
            zs->avail_out = (uInt)(room > UINT_MAX ? UINT_MAX : room);
            uInt before = zs->avail_out;
            if (zs->avail_in == 0 && left) {
                size_t more = left > UINT_MAX ? UINT_MAX : left;
                zs->avail_in = (uInt)more;
                left -= more;
            }
            rc = inflate(zs, Z_NO_FLUSH);
            t->body.len += before - zs->avail_out;
            if (limit > 0 && (int64_t)t->body.len > limit) {
                snprintf(error, cap, "body size limit exceeded");
                return false;
            }
        } while (rc == Z_OK || (rc == Z_BUF_ERROR && zs->avail_out == 0));
        if (rc != Z_STREAM_END) {
            if (rc == Z_DATA_ERROR && zs->msg && strstr(zs->msg, "check"))
                snprintf(error, cap, "gzip: invalid checksum");
            else if (rc == Z_DATA_ERROR)
                snprintf(error, cap, "flate: corrupt input before offset %lu", zs->total_in);
            else
                snprintf(error, cap, "unexpected EOF");
            return false;
        }
        if (zs->avail_in == 0 && !left) break;
    }
    t->body.buf[t->body.len] = 0;
    return true;
}

/* Handles and body buffers are the manager's, lent to a target for one
 * transfer (see "Memory" at the top): a few transfers run at once, not one
 * a target. */
static CURL *easy_get(scrape_manager *m)
{
    return m->neasy ? m->easy[--m->neasy] : curl_easy_init();
}

static void easy_put(scrape_manager *m, CURL *e)
{
    if (m->neasy < POOL) {
        curl_easy_reset(e); /* nothing of the target's stays (credentials, headers) */
        m->easy[m->neasy++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

static void body_put(scrape_manager *m, core_sb *b)
{
    if (m->nbody < POOL && b->cap)
        m->body[m->nbody++] = *b;
    else
        core_sb_destroy(b);
    *b = (core_sb)CORE_SB_INIT;
}

static void start_scrape(scrape_manager *m, target *t)
{
    if (!t->headers) {
        core_sb hdr = CORE_SB_INIT;
        core_sb_adds(&hdr, "Accept: ");
        if (t->accept)
            core_sb_adds(&hdr, t->accept);
        else
            scrape_accept_header(NULL, 0, &hdr, NULL);
        t->headers = curl_slist_append(NULL, hdr.buf);
        core_sb_reset(&hdr);
        core_sb_addf(&hdr, "X-Prometheus-Scrape-Timeout-Seconds: %g",
                     (double)t->def.timeout_ms / 1000);
        t->headers = curl_slist_append(t->headers, hdr.buf);
        if (t->auth) t->headers = curl_slist_append(t->headers, t->auth);
        /* Asked for by hand and gunzipped here (see gunzip): curl's decoder
         * would set up zlib for every transfer and copy its output once more. */
        t->headers = curl_slist_append(t->headers, "Accept-Encoding: gzip");
        core_sb_destroy(&hdr);
    }
    CURL *e = t->easy = easy_get(m);
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, m->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->def.timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, t->def.follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    if (t->basic_user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, t->basic_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, t->basic_password ? t->basic_password : "");
    }
    if (t->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    if (t->cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
    if (t->key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    if (t->def.insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_PROXY, t->proxy_url ? t->proxy_url : "");
    if (!t->body.cap && m->nbody) t->body = m->body[--m->nbody];
    if (!t->gz.cap && m->nbody) t->gz = m->body[--m->nbody];
    t->encoding = ENC_UNKNOWN;
    core_sb_reset(&t->body);
    core_sb_reset(&t->gz);
    t->body_too_big = false;
    int64_t prev = t->started_ms;
    t->started_ms = now_ms();
    if (prev) {
        pthread_mutex_lock(&m->mtx);
        size_t i = 0;
        while (i < m->nintervals && m->intervals[i].interval_ms != t->def.interval_ms)
            i++;
        if (i == m->nintervals) {
            m->intervals = core_reallocarray(m->intervals, i + 1, sizeof(*m->intervals));
            m->intervals[m->nintervals++] =
                (scrape_interval_stat){.interval_ms = t->def.interval_ms};
        }
        m->intervals[i].count++;
        m->intervals[i].sum_seconds += (double)(t->started_ms - prev) / 1000;
        pthread_mutex_unlock(&m->mtx);
    }
    t->started_mono = mono_s();
    t->running = true;
    curl_multi_add_handle(m->multi, t->easy);
}

static void finish_scrape(scrape_manager *m, target *t, CURLcode code)
{
    curl_multi_remove_handle(m->multi, t->easy);
    t->running = false;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    char *ct = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
    free(t->content_type);
    t->content_type = dup_or_null(ct);
    outcome o = {0};
    if (t->body_too_big) {
        o.failed = true;
        snprintf(o.error, sizeof o.error, "body size limit exceeded");
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        o.failed = true;
        snprintf(o.error, sizeof o.error, "Get \"%.150s\": context deadline exceeded", t->url);
    } else if (code != CURLE_OK) {
        o.failed = true;
        snprintf(o.error, sizeof o.error, "Get \"%.150s\": %s", t->url, curl_easy_strerror(code));
    } else if (status != 200) {
        o.failed = true;
        snprintf(o.error, sizeof o.error, "server returned HTTP status %ld", status);
    }
    if (!o.failed && t->encoding == ENC_GZIP && !gunzip(m, t, o.error, sizeof o.error))
        o.failed = true;
    tsdb_appender *app = tsdb_db_appender(m->db);
    if (!o.failed) process_body(m, t, t->started_ms, &o, app);
    double dur = mono_s() - t->started_mono;
    if (o.failed) { /* after a parse error or a limit, what was read is still reported */
        tsdb_appender_rollback(app);
        app = tsdb_db_appender(m->db);
        stale_all(t, t->started_ms, app);
        o.post_relabel = o.added = 0;
    }
    double report[5] = {o.failed ? 0 : 1, dur, (double)o.scraped, (double)o.post_relabel,
                        (double)o.added};
    append_report(t, t->started_ms, report, app);
    core_err err = {{0}};
    if (tsdb_appender_commit(app, &err) < 0 && !o.failed) {
        /* The samples did not make it (the WAL could not be written): the
         * scrape failed after all, and is reported so. */
        o.failed = true;
        snprintf(o.error, sizeof o.error, "%s", err.msg);
        app = tsdb_db_appender(m->db);
        stale_all(t, t->started_ms, app);
        o.post_relabel = o.added = 0;
        report[0] = report[3] = report[4] = 0;
        append_report(t, t->started_ms, report, app);
        tsdb_appender_commit(app, &err);
    } else if (!o.failed) {
        t->last_ok = t->iter;
        prune_metadata(m, t, t->iter);
    }
    pthread_mutex_lock(&m->mtx);
    t->health = o.failed ? SCRAPE_DOWN : SCRAPE_UP;
    snprintf(t->last_error, sizeof t->last_error, "%s", o.failed ? o.error : "");
    t->last_scrape_ms = t->started_ms;
    t->last_duration_s = dur;
    t->last_samples = o.scraped;
    pthread_mutex_unlock(&m->mtx);
    if (o.failed)
        core_debug("scrape", "Scrape failed", "scrape_pool", t->pool, "target", t->url, "err",
                   o.error);
    easy_put(m, t->easy);
    t->easy = NULL;
    body_put(m, &t->body);
    body_put(m, &t->gz);
}

/* Staleness markers for a target that went away, its report series too. */
static void retire(scrape_manager *m, target *t)
{
    int64_t ts = now_ms();
    tsdb_appender *app = tsdb_db_appender(m->db);
    stale_all(t, ts, app);
    if (t->last_scrape_ms) {
        double stale[5];
        for (size_t i = 0; i < 5; i++)
            stale[i] = stale_nan();
        append_report(t, ts, stale, app);
    }
    core_err err = {{0}};
    tsdb_appender_commit(app, &err);
    target_free(t);
}

/* ---- The thread */

/* Takes the targets of the last sync: same ones keep their state. */
static void apply_sync(scrape_manager *m)
{
    pthread_mutex_lock(&m->mtx);
    target **next = m->pending;
    size_t n = m->npending;
    m->pending = NULL;
    m->npending = 0;
    m->have_sync = false;
    target **old = m->targets;
    size_t nold = m->ntargets;
    bool *kept = core_calloc(nold ? nold : 1, sizeof(*kept));
    target **replaced = core_calloc(nold ? nold : 1, sizeof(*replaced));
    size_t nreplaced = 0;
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nold && (kept[j] || !same_target(old[j], next[i])))
            j++;
        if (j < nold && same_config(old[j], next[i])) { /* the loop goes on */
            kept[j] = true;
            target_free(next[i]);
            next[i] = old[j];
        } else if (j < nold) { /* new settings: a fresh loop on the same schedule */
            kept[j] = true;
            next[i]->next_ms = old[j]->next_ms;
            replaced[nreplaced++] = old[j];
        } else {
            next[i]->next_ms = now + scrape_first_delay(next[i]->hash, m->opts.offset_seed,
                                                        next[i]->def.interval_ms, now);
        }
    }
    m->targets = next;
    m->ntargets = n;
    uint64_t gen = m->sync_gen;
    pthread_mutex_unlock(&m->mtx);
    for (size_t j = 0; j < nold; j++) {
        if (kept[j]) continue;
        if (old[j]->running) { /* wait for the transfer: retire when it ends */
            curl_multi_remove_handle(m->multi, old[j]->easy);
            old[j]->running = false;
        }
        retire(m, old[j]);
    }
    for (size_t j = 0; j < nreplaced; j++) { /* no staleness markers: the series go on */
        if (replaced[j]->running) curl_multi_remove_handle(m->multi, replaced[j]->easy);
        target_free(replaced[j]);
    }
    free(replaced);
    free(kept);
    free(old);
    pthread_mutex_lock(&m->mtx);
    m->applied_gen = gen;
    pthread_cond_broadcast(&m->applied);
    pthread_mutex_unlock(&m->mtx);
}

static void *run(void *arg)
{
    scrape_manager *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mtx);
        bool stop = m->stop, sync = m->have_sync;
        pthread_mutex_unlock(&m->mtx);
        if (stop) break;
        if (sync) apply_sync(m);
        int64_t now = now_ms();
        int64_t wait = 1000;
        for (size_t i = 0; i < m->ntargets; i++) {
            target *t = m->targets[i];
            if (!t->running && t->next_ms <= now) {
                start_scrape(m, t);
                t->next_ms += t->def.interval_ms;
                if (t->next_ms <= now) /* fell behind (a slow or stopped clock): skip ahead */
                    t->next_ms = now + t->def.interval_ms -
                                 (now - t->next_ms) % (t->def.interval_ms ? t->def.interval_ms : 1);
            }
            if (!t->running && t->next_ms - now < wait) wait = t->next_ms - now;
        }
        int running;
        curl_multi_perform(m->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m->multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                target *t;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                finish_scrape(m, t, msg->data.result);
            }
        if (wait < 0) wait = 0;
        curl_multi_poll(m->multi, NULL, 0, (int)(running ? (wait < 50 ? wait : 50) : wait), NULL);
    }
    for (size_t i = 0; i < m->ntargets; i++) {
        if (m->targets[i]->running) curl_multi_remove_handle(m->multi, m->targets[i]->easy);
        target_free(m->targets[i]);
    }
    free(m->targets);
    m->targets = NULL;
    m->ntargets = 0;
    for (size_t i = 0; i < m->neasy; i++)
        curl_easy_cleanup(m->easy[i]);
    for (size_t i = 0; i < m->nbody; i++)
        core_sb_destroy(&m->body[i]);
    m->neasy = m->nbody = 0;
    model_parser_free(m->parser);
    m->parser = NULL;
    if (m->zs_ready) inflateEnd(&m->zs);
    m->zs_ready = false;
#ifdef PROM_HAVE_LIBDEFLATE
    if (m->inflater) libdeflate_free_decompressor(m->inflater);
    m->inflater = NULL;
#endif
    return NULL;
}

/* ---- Public */

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

scrape_manager *scrape_manager_new(tsdb_db *db, const scrape_opts *opts, core_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    scrape_manager *m = core_calloc(1, sizeof(*m));
    m->db = db;
    if (getrandom(&m->key_seed, sizeof m->key_seed, 0) != sizeof m->key_seed)
        m->key_seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
    if (opts) m->opts = *opts;
    if (m->opts.user_agent) {
        m->user_agent = core_strdup(m->opts.user_agent);
    } else {
        core_sb ua = CORE_SB_INIT;
        core_sb_addf(&ua, "Prometheus/%s", core_buildinfo_get()->version);
        m->user_agent = core_strdup(ua.buf);
        core_sb_destroy(&ua);
    }
    m->multi = curl_multi_init();
    pthread_mutex_init(&m->mtx, NULL);
    pthread_cond_init(&m->applied, NULL);
    if (!m->multi || pthread_create(&m->thread, NULL, run, m) != 0) {
        core_err_set(err, "cannot start the scrape manager");
        if (m->multi) curl_multi_cleanup(m->multi);
        pthread_mutex_destroy(&m->mtx);
        free(m->user_agent);
        free(m);
        return NULL;
    }
    return m;
}

void scrape_manager_free(scrape_manager *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mtx);
    m->stop = true;
    pthread_cond_broadcast(&m->applied);
    pthread_mutex_unlock(&m->mtx);
    curl_multi_wakeup(m->multi);
    pthread_join(m->thread, NULL);
    for (size_t i = 0; i < m->npending; i++)
        target_free(m->pending[i]);
    free(m->pending);
    curl_multi_cleanup(m->multi);
    free(m->intervals);
    pthread_cond_destroy(&m->applied);
    pthread_mutex_destroy(&m->mtx);
    free(m->user_agent);
    free(m);
}

int scrape_manager_sync(scrape_manager *m, const scrape_target_def *defs, size_t n, core_err *err)
{
    target **ts = core_calloc(n ? n : 1, sizeof(*ts));
    for (size_t i = 0; i < n; i++) {
        if (!defs[i].url || !defs[i].labels || defs[i].interval_ms <= 0) {
            for (size_t j = 0; j < i; j++)
                target_free(ts[j]);
            free(ts);
            return core_err_set(err, "target %zu: a URL, labels and an interval are required", i);
        }
        ts[i] = target_new(&defs[i]);
    }
    pthread_mutex_lock(&m->mtx);
    for (size_t i = 0; i < m->npending; i++)
        target_free(m->pending[i]);
    free(m->pending);
    m->pending = ts;
    m->npending = n;
    m->have_sync = true;
    uint64_t gen = ++m->sync_gen;
    curl_multi_wakeup(m->multi);
    while (m->applied_gen < gen && !m->stop)
        pthread_cond_wait(&m->applied, &m->mtx);
    pthread_mutex_unlock(&m->mtx);
    return 0;
}

static int cmp_state(const void *a, const void *b)
{
    const scrape_target_state *x = a, *y = b;
    int c = strcmp(x->pool, y->pool);
    return c ? c : strcmp(x->url, y->url);
}

size_t scrape_manager_targets(scrape_manager *m, core_arena *arena, scrape_target_state **out)
{
    pthread_mutex_lock(&m->mtx);
    /* A sync not yet applied is what the targets are about to be. */
    target **ts = m->have_sync ? m->pending : m->targets;
    size_t n = m->have_sync ? m->npending : m->ntargets;
    scrape_target_state *s = core_arena_calloc(arena, n ? n : 1, sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        const target *t = ts[i];
        core_labels *ls = core_arena_alloc(arena, sizeof(*ls) + t->labels->len * sizeof(ls->v[0]));
        ls->len = t->labels->len;
        for (size_t l = 0; l < ls->len; l++)
            ls->v[l] = (core_label){core_arena_strdup(arena, t->labels->v[l].name),
                                    core_arena_strdup(arena, t->labels->v[l].value)};
        core_labels *dl = NULL;
        if (t->discovered) {
            dl = core_arena_alloc(arena, sizeof(*dl) + t->discovered->len * sizeof(dl->v[0]));
            dl->len = t->discovered->len;
            for (size_t l = 0; l < dl->len; l++)
                dl->v[l] = (core_label){core_arena_strdup(arena, t->discovered->v[l].name),
                                        core_arena_strdup(arena, t->discovered->v[l].value)};
        }
        s[i] = (scrape_target_state){
            .pool = core_arena_strdup(arena, t->pool),
            .url = core_arena_strdup(arena, t->url),
            .labels = ls,
            .discovered = dl,
            .health = t->health,
            .last_error = core_arena_strdup(arena, t->last_error),
            .last_scrape_ms = t->last_scrape_ms,
            .last_duration_s = t->last_duration_s,
            .last_samples = t->last_samples,
            .interval_ms = t->def.interval_ms,
            .timeout_ms = t->def.timeout_ms,
        };
    }
    pthread_mutex_unlock(&m->mtx);
    if (n) qsort(s, n, sizeof(*s), cmp_state);
    *out = s;
    return n;
}

size_t scrape_manager_metadata(scrape_manager *m, core_arena *arena, scrape_metadata **out)
{
    pthread_mutex_lock(&m->mtx);
    size_t total = 0;
    for (size_t i = 0; i < m->ntargets; i++)
        total += m->targets[i]->meta.n;
    scrape_metadata *v = core_arena_calloc(arena, total ? total : 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < m->ntargets; i++) {
        const target *t = m->targets[i];
        const core_labels *ls = NULL;
        for (size_t b = 0; b < t->meta.cap; b++)
            for (const meta *md = t->meta.b[b]; md; md = md->next) {
                if (!ls) {
                    core_labels *c =
                        core_arena_alloc(arena, sizeof(*c) + t->labels->len * sizeof(c->v[0]));
                    c->len = t->labels->len;
                    for (size_t l = 0; l < c->len; l++)
                        c->v[l] = (core_label){core_arena_strdup(arena, t->labels->v[l].name),
                                               core_arena_strdup(arena, t->labels->v[l].value)};
                    ls = c;
                }
                v[n++] = (scrape_metadata){
                    .pool = core_arena_strdup(arena, t->pool),
                    .labels = ls,
                    .metric = core_arena_strdup(arena, md->name),
                    .type = md->type,
                    .help = core_arena_strdup(arena, md->help ? md->help : ""),
                    .unit = core_arena_strdup(arena, md->unit ? md->unit : ""),
                };
            }
    }
    pthread_mutex_unlock(&m->mtx);
    *out = v;
    return n;
}

size_t scrape_manager_intervals(scrape_manager *m, core_arena *arena, scrape_interval_stat **out)
{
    pthread_mutex_lock(&m->mtx);
    scrape_interval_stat *v = core_arena_calloc(arena, m->nintervals + 1, sizeof(*v));
    memcpy(v, m->intervals, m->nintervals * sizeof(*v));
    size_t n = m->nintervals;
    pthread_mutex_unlock(&m->mtx);
    *out = v;
    return n;
}
