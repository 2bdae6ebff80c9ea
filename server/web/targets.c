/*
 * targets.c - what the API tells about scraping: /targets, /scrape_pools,
 * /targets/metadata and /metadata, as Prometheus 3.x answers them.
 *
 * Active targets and their metadata are read live from the scrape manager
 * through the web_scrape_source callbacks (snapshots in the request's
 * arena); the scrape pools and the dropped targets come from the last
 * configuration applied (web_api_set_scrape_config), since the manager only
 * knows the targets it scrapes.
 *
 * Order.  Upstream walks Go maps, so the order of active targets within a
 * pool, of metadata entries and of which metric names a `limit` keeps is
 * random there; here it is fixed: targets by pool then URL (the manager's
 * order), metadata by pool, target labels and metric name, metric names
 * alphabetically.  What upstream does fix is kept: pools sorted, dropped
 * targets in discovery order within their pool, JSON objects with sorted
 * keys.
 *
 * globalUrl follows upstream's getGlobalURL: a target on localhost gets the
 * external URL's host (and its scheme too when the port is this server's
 * own), since "localhost" means nothing to whoever reads the URL elsewhere.
 */
#include "web/internal.h"

#include "model/model.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Host and port */

static bool split_go(const char *in, core_arena *arena, const char **host, const char **port,
                     bool *missing_port)
{
    *missing_port = false;
    const char *colon = strrchr(in, ':');
    if (!colon) {
        *missing_port = true;
        return false;
    }
    size_t i = (size_t)(colon - in), j = 0, k = 0;
    const char *h;
    size_t hlen;
    if (in[0] == '[') {
        const char *end = strchr(in, ']');
        if (!end) return false;
        size_t e = (size_t)(end - in);
        if (e + 1 == strlen(in)) {
            *missing_port = true;
            return false;
        }
        if (e + 1 != i) {
            if (in[e + 1] != ':') *missing_port = true;
            return false;
        }
        h = in + 1, hlen = e - 1;
        j = 1, k = e + 1;
    } else {
        h = in, hlen = i;
        if (memchr(h, ':', hlen)) return false;
    }
    if (strchr(in + j, '[') || strchr(in + k, ']')) return false;
    *host = core_arena_strndup(arena, h, hlen);
    *port = core_arena_strdup(arena, in + i + 1);
    return true;
}

bool web_split_host_port(const char *in, core_arena *arena, const char **host, const char **port)
{
    bool missing;
    if (split_go(in, arena, host, port, &missing)) return true;
    if (!missing) return false;
    char *with = core_arena_sprintf(arena, "%s:80", in);
    const char *ignored;
    if (!split_go(with, arena, host, &ignored, &missing)) return false;
    *port = "";
    return true;
}

/* net.JoinHostPort */
static void join_host_port(core_sb *out, const char *host, const char *port)
{
    if (strchr(host, ':'))
        core_sb_addf(out, "[%s]:%s", host, port);
    else
        core_sb_addf(out, "%s:%s", host, port);
}

void web_global_url(const char *url, const char *ext_scheme, const char *ext_host,
                    const char *listen_port, core_sb *out)
{
    const char *sep = strstr(url, "://");
    if (!sep) {
        core_sb_adds(out, url);
        return;
    }
    const char *hp = sep + 3;
    size_t hlen = strcspn(hp, "/?#");
    core_arena a;
    core_arena_init(&a, 0);
    char *hostport = core_arena_strndup(&a, hp, hlen);
    const char *host, *port;
    static const char *const local[] = {"127.0.0.1", "localhost", "::1"};
    bool is_local = false;
    if (web_split_host_port(hostport, &a, &host, &port))
        for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
            if (strcmp(host, local[i]) == 0) is_local = true;
    if (!is_local) {
        core_sb_adds(out, url);
        core_arena_destroy(&a);
        return;
    }
    if (strcmp(port, listen_port) == 0) {
        core_sb_addf(out, "%s://%s", ext_scheme, ext_host);
    } else {
        const char *eh, *ep;
        if (!web_split_host_port(ext_host, &a, &eh, &ep)) eh = ext_host;
        core_sb_add(out, url, (size_t)(hp - url));
        if (port[0])
            join_host_port(out, eh, port);
        else
            core_sb_adds(out, eh);
    }
    core_sb_adds(out, hp + hlen);
    core_arena_destroy(&a);
}

/* ---- Parameters */

/* strconv.Atoi; false when s is not a decimal int64. */
static bool go_atoi(const char *s, long long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end) return false;
    *out = v;
    return true;
}

/* A limit of the metadata endpoints: -1 when absent. */
static int metadata_limit(core_http_req *req, web_reply *r, const char *name, long long *out)
{
    *out = -1;
    const char *s = core_http_arg(req, name);
    if (!s || !*s) return 0;
    if (!go_atoi(s, out)) return web_fail(r, WEB_ERR_BAD_DATA, "%s must be a number", name);
    return 0;
}

/* ---- /targets */

static const char *health_name(scrape_health h)
{
    switch (h) {
    case SCRAPE_UP: return "up";
    case SCRAPE_DOWN: return "down";
    default: return "unknown";
    }
}

/* Seconds as Go's time.Duration.Seconds() gives them: whole nanoseconds,
 * seconds and the fraction added ("0.001138642"). */
static double go_seconds(double s)
{
    if (!(s > 0)) return 0;
    long long ns = llround(s * 1e9);
    return (double)(ns / 1000000000LL) + (double)(ns % 1000000000LL) / 1e9;
}

static void json_duration(core_sb *d, int64_t ms)
{
    char buf[CORE_DURATION_BUFSZ];
    size_t n = core_duration_format(ms, buf);
    web_json_str(d, buf, n);
}

static void active_target(web_api *api, core_sb *d, const scrape_target_state *t)
{
    core_sb_adds(d, "{\"discoveredLabels\":");
    web_json_labels(d, t->discovered);
    core_sb_adds(d, ",\"labels\":");
    web_json_labels(d, t->labels);
    core_sb_adds(d, ",\"scrapePool\":");
    web_json_cstr(d, t->pool);
    core_sb_adds(d, ",\"scrapeUrl\":");
    web_json_cstr(d, t->url);
    core_sb_adds(d, ",\"globalUrl\":");
    core_sb g = CORE_SB_INIT;
    web_global_url(t->url, api->ext_scheme, api->ext_host, api->listen_port, &g);
    web_json_str(d, g.buf ? g.buf : "", g.len);
    core_sb_destroy(&g);
    core_sb_adds(d, ",\"lastError\":");
    web_json_cstr(d, t->last_error ? t->last_error : "");
    core_sb_adds(d, ",\"lastScrape\":");
    web_json_go_time(d, t->last_scrape_ms);
    core_sb_adds(d, ",\"lastScrapeDuration\":");
    web_json_number(d, go_seconds(t->last_duration_s));
    core_sb_adds(d, ",\"health\":\"");
    core_sb_adds(d, health_name(t->health));
    core_sb_adds(d, "\",\"scrapeInterval\":");
    json_duration(d, t->interval_ms);
    core_sb_adds(d, ",\"scrapeTimeout\":");
    json_duration(d, t->timeout_ms);
    core_sb_addc(d, '}');
}

static int cmp_target(const void *a, const void *b)
{
    const scrape_target_state *x = a, *y = b;
    int c = strcmp(x->pool, y->pool);
    return c ? c : strcmp(x->url, y->url);
}

/* Indexes of the dropped targets, by pool (sorted) then discovery order. */
typedef struct dropped_ix {
    const web_dropped_target *t;
    size_t i;
} dropped_ix;

static int cmp_dropped(const void *a, const void *b)
{
    const dropped_ix *x = a, *y = b;
    int c = strcmp(x->t->pool, y->t->pool);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int cmp_cstrp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void web_ep_targets(web_api *api, core_http_req *req, web_reply *r)
{
    const char *pool = core_http_arg(req, "scrapePool");
    const char *state = core_http_arg(req, "state");
    bool any = !state || !state[0] || strcasecmp(state, "any") == 0;
    bool show_active = any || strcasecmp(state, "active") == 0;
    bool show_dropped = any || strcasecmp(state, "dropped") == 0;
    bool filter = pool && pool[0];
    core_sb *d = &r->data;
    core_sb_adds(d, "{\"activeTargets\":[");
    if (show_active && api->o.scrape.targets) {
        scrape_target_state *ts;
        size_t n = api->o.scrape.targets(api->o.scrape.ctx, r->arena, &ts);
        if (n > 1) qsort(ts, n, sizeof *ts, cmp_target);
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (filter && strcmp(ts[i].pool, pool) != 0) continue;
            if (!first) core_sb_addc(d, ',');
            first = false;
            active_target(api, d, &ts[i]);
        }
    }
    core_sb_adds(d, "],\"droppedTargets\":[");
    if (!show_dropped) {
        core_sb_adds(d, "],\"droppedTargetCounts\":null}");
        return;
    }
    pthread_mutex_lock(&api->lock);
    dropped_ix *ix = core_arena_calloc(r->arena, api->ndropped + 1, sizeof *ix);
    for (size_t i = 0; i < api->ndropped; i++)
        ix[i] = (dropped_ix){&api->dropped[i], i};
    if (api->ndropped > 1) qsort(ix, api->ndropped, sizeof *ix, cmp_dropped);
    bool first = true;
    for (size_t i = 0; i < api->ndropped; i++) {
        const web_dropped_target *t = ix[i].t;
        if (filter && strcmp(t->pool, pool) != 0) continue;
        if (!first) core_sb_addc(d, ',');
        first = false;
        core_sb_adds(d, "{\"discoveredLabels\":");
        web_json_labels(d, t->discovered);
        core_sb_adds(d, ",\"scrapePool\":");
        web_json_cstr(d, t->pool);
        core_sb_addc(d, '}');
    }
    core_sb_adds(d, "],\"droppedTargetCounts\":{");
    size_t *order = core_arena_calloc(r->arena, api->npools + 1, sizeof *order);
    for (size_t i = 0; i < api->npools; i++)
        order[i] = i;
    /* insertion sort by name: pools are few */
    for (size_t i = 1; i < api->npools; i++)
        for (size_t j = i; j > 0 && strcmp(api->pools[order[j]], api->pools[order[j - 1]]) < 0;
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (size_t i = 0; i < api->npools; i++) {
        const char *name = api->pools[order[i]];
        if (i > 0 && strcmp(name, api->pools[order[i - 1]]) == 0) continue; /* a map: once */
        if (i) core_sb_addc(d, ',');
        web_json_cstr(d, name);
        core_sb_addf(d, ":%llu", (unsigned long long)api->dropped_counts[order[i]]);
    }
    pthread_mutex_unlock(&api->lock);
    core_sb_adds(d, "}}");
}

/* ---- /scrape_pools */

void web_ep_scrape_pools(web_api *api, core_http_req *req, web_reply *r)
{
    (void)req;
    pthread_mutex_lock(&api->lock);
    const char **names = core_arena_calloc(r->arena, api->npools + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < api->npools; i++)
        names[n++] = core_arena_strdup(r->arena, api->pools[i]);
    pthread_mutex_unlock(&api->lock);
    if (n > 1) qsort(names, n, sizeof *names, cmp_cstrp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(names[i], names[k - 1]) != 0) names[k++] = names[i];
    core_sb_adds(&r->data, "{\"scrapePools\":");
    web_json_strings(&r->data, names, k);
    core_sb_addc(&r->data, '}');
}

/* ---- Metadata */

static int cmp_meta(const void *a, const void *b)
{
    const scrape_metadata *x = a, *y = b;
    int c = strcmp(x->pool, y->pool);
    if (!c) c = core_labels_compare(x->labels, y->labels);
    return c ? c : strcmp(x->metric, y->metric);
}

static void meta_fields(core_sb *d, const scrape_metadata *m)
{
    core_sb_adds(d, "\"type\":\"");
    core_sb_adds(d, model_type_name(m->type));
    core_sb_adds(d, "\",\"help\":");
    web_json_cstr(d, m->help ? m->help : "");
    core_sb_adds(d, ",\"unit\":");
    web_json_cstr(d, m->unit ? m->unit : "");
}

/* Whether the target's labels satisfy every matcher (an absent label is ""). */
static bool target_matches(const core_labels *ls, const web_matchers *ms, void *const *res)
{
    for (size_t i = 0; i < ms->n; i++) {
        const char *v = core_labels_get(ls, ms->m[i].name);
        if (!pql_matcher_matches(&ms->m[i], res[i], v ? v : "")) return false;
    }
    return true;
}

void web_ep_targets_metadata(web_api *api, core_http_req *req, web_reply *r)
{
    long long limit;
    if (metadata_limit(req, r, "limit", &limit) < 0) return;
    const char *mt = core_http_arg(req, "match_target");
    web_matchers *sets = NULL;
    void **res = NULL;
    core_err e;
    if (mt && mt[0]) {
        if (web_parse_selectors(&mt, 1, &api->o.parse, r->arena, &sets, &e) < 0) {
            web_bad_param(r, "match_target", &e);
            return;
        }
        res = core_arena_calloc(r->arena, sets[0].n + 1, sizeof *res);
        for (size_t i = 0; i < sets[0].n; i++) {
            if (sets[0].m[i].type != PQL_MATCH_RE && sets[0].m[i].type != PQL_MATCH_NRE) continue;
            if (!(res[i] = pql_regex_compile(&sets[0].m[i], &e))) {
                for (size_t k = 0; k < i; k++)
                    if (res[k]) pql_regex_free(res[k]);
                web_bad_param(r, "match_target", &e);
                return;
            }
        }
    }
    const char *metric = core_http_arg(req, "metric");
    bool one = metric && metric[0];
    scrape_metadata *md = NULL;
    size_t n =
        api->o.scrape.metadata ? api->o.scrape.metadata(api->o.scrape.ctx, r->arena, &md) : 0;
    if (n > 1) qsort(md, n, sizeof *md, cmp_meta);
    core_sb *d = &r->data;
    core_sb_addc(d, '[');
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        /* One target's entries: upstream stops before a target once the
         * answer holds `limit` entries, never within one. */
        size_t end = i + 1;
        while (end < n && strcmp(md[end].pool, md[i].pool) == 0 &&
               core_labels_equal(md[end].labels, md[i].labels))
            end++;
        if (limit >= 0 && count >= (size_t)limit) break;
        if (!sets || target_matches(md[i].labels, &sets[0], res)) {
            for (size_t k = i; k < end; k++) {
                if (one && strcmp(md[k].metric, metric) != 0) continue;
                if (count++) core_sb_addc(d, ',');
                core_sb_adds(d, "{\"target\":");
                web_json_labels(d, md[k].labels);
                if (!one) {
                    core_sb_adds(d, ",\"metric\":");
                    web_json_cstr(d, md[k].metric);
                }
                core_sb_addc(d, ',');
                meta_fields(d, &md[k]);
                core_sb_addc(d, '}');
            }
        }
        i = end;
    }
    core_sb_addc(d, ']');
    if (res)
        for (size_t i = 0; i < sets[0].n; i++)
            if (res[i]) pql_regex_free(res[i]);
}

static bool same_meta(const scrape_metadata *a, const scrape_metadata *b)
{
    return a->type == b->type && strcmp(a->help ? a->help : "", b->help ? b->help : "") == 0 &&
           strcmp(a->unit ? a->unit : "", b->unit ? b->unit : "") == 0;
}

/* Metadata entries with their position in the manager's answer, to sort by
 * name and keep the first-seen order within a name. */
typedef struct meta_ix {
    const scrape_metadata *m;
    size_t i;
} meta_ix;

static int cmp_meta_ix(const void *a, const void *b)
{
    const meta_ix *x = a, *y = b;
    int c = strcmp(x->m->metric, y->m->metric);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

void web_ep_metadata(web_api *api, core_http_req *req, web_reply *r)
{
    long long limit, per_metric;
    if (metadata_limit(req, r, "limit", &limit) < 0 ||
        metadata_limit(req, r, "limit_per_metric", &per_metric) < 0)
        return;
    const char *metric = core_http_arg(req, "metric");
    bool one = metric && metric[0];
    scrape_metadata *md = NULL;
    size_t n =
        api->o.scrape.metadata ? api->o.scrape.metadata(api->o.scrape.ctx, r->arena, &md) : 0;
    meta_ix *ix = core_arena_calloc(r->arena, n + 1, sizeof *ix);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!one || strcmp(md[i].metric, metric) == 0) ix[k++] = (meta_ix){&md[i], i};
    if (k > 1) qsort(ix, k, sizeof *ix, cmp_meta_ix);
    core_sb *d = &r->data;
    core_sb_addc(d, '{');
    size_t names = 0;
    const scrape_metadata **kept = core_arena_calloc(r->arena, k + 1, sizeof *kept);
    for (size_t i = 0; i < k;) {
        size_t end = i + 1;
        while (end < k && strcmp(ix[end].m->metric, ix[i].m->metric) == 0)
            end++;
        if (limit >= 0 && names >= (size_t)limit) break;
        size_t nk = 0;
        for (size_t j = i; j < end; j++) {
            bool dup = false;
            for (size_t q = 0; q < nk && !dup; q++)
                dup = same_meta(kept[q], ix[j].m);
            if (dup) continue;
            if (per_metric > 0 && nk >= (size_t)per_metric) continue;
            kept[nk++] = ix[j].m;
        }
        if (names++) core_sb_addc(d, ',');
        web_json_cstr(d, ix[i].m->metric);
        core_sb_adds(d, ":[");
        for (size_t q = 0; q < nk; q++) {
            if (q) core_sb_addc(d, ',');
            core_sb_addc(d, '{');
            meta_fields(d, kept[q]);
            core_sb_addc(d, '}');
        }
        core_sb_addc(d, ']');
        i = end;
    }
    core_sb_addc(d, '}');
}
