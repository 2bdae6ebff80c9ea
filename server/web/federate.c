/*
 * federate.c - /federate?match[]=..., upstream's federation handler.
 *
 * Each match[] selector is parsed as upstream's ParseMetricSelectors does
 * (a bad one: 400 with the parser's message as plain text); the series of
 * all selectors are merged (each once, in label order) from one view of the
 * storage over [now - lookback delta, now], and each contributes its latest
 * sample in that window, unless that sample is a staleness marker: the
 * exposition formats cannot carry one, and a series that ended is left out,
 * as upstream does.  Samples are then ordered by metric name (series of one
 * name stay in label order, which upstream's unstable sort leaves as it
 * finds them for small families) and written one family per run of a name,
 * typed untyped, with the configuration's external labels appended to each
 * sample whose series lacks them (and instance="" when the external labels
 * have no instance: upstream's rule, so that federated series never take the
 * federating server's own instance).  Series without a name are skipped.
 *
 * The format is negotiated from the Accept header (expo.c); a request
 * without match[] gets an empty answer, as upstream.
 */
#include "web/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fed_sample {
    const core_labels *labels;
    const char *name;
    int64_t t;
    double v;
    size_t i; /* position in label order, for a stable sort */
} fed_sample;

static int cmp_series(const void *a, const void *b)
{
    return core_labels_compare(((const pql_series *)a)->labels, ((const pql_series *)b)->labels);
}

static int cmp_name(const void *a, const void *b)
{
    const fed_sample *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static void text_error(core_http_resp *resp, int status, const char *msg)
{
    core_sb_reset(&resp->body);
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    core_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    core_sb_adds(&resp->body, msg);
    core_sb_addc(&resp->body, '\n');
}

/* Merged series of every selector, sorted by labels, each once. */
static int select_all(pql_storage *st, const web_matchers *sets, size_t nsets, int64_t mint,
                      int64_t maxt, core_arena *arena, pql_series **out, size_t *nout,
                      core_err *err)
{
    pql_series *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < nsets; i++) {
        pql_series *s;
        size_t ns;
        if (st->select(st, sets[i].m, sets[i].n, mint, maxt, arena, &s, &ns, err) < 0) return -1;
        if (n + ns > cap) {
            cap = (n + ns) * 2;
            pql_series *nv = core_arena_calloc(arena, cap, sizeof *nv);
            if (n) memcpy(nv, all, n * sizeof *nv);
            all = nv;
        }
        if (ns) memcpy(all + n, s, ns * sizeof *s);
        n += ns;
    }
    if (nsets > 1 && n > 1) {
        qsort(all, n, sizeof *all, cmp_series);
        size_t k = 1;
        for (size_t i = 1; i < n; i++)
            if (!core_labels_equal(all[i].labels, all[k - 1].labels)) all[k++] = all[i];
        n = k;
    }
    *out = all;
    *nout = n;
    return 0;
}

/* The labels a sample is written with: its own but the name (and any
 * empty one), then the external labels it lacks, by name. */
static size_t sample_labels(const core_labels *ls, const core_labels *ext, core_arena *arena,
                            const core_label **out)
{
    core_label *v = core_arena_calloc(arena, ls->len + ext->len + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < ls->len; i++) {
        if (!ls->v[i].value[0] || strcmp(ls->v[i].name, CORE_METRIC_NAME) == 0) continue;
        v[n++] = ls->v[i];
    }
    size_t own = n;
    for (size_t e = 0; e < ext->len; e++) {
        bool used = false;
        for (size_t i = 0; i < own && !used; i++)
            used = strcmp(v[i].name, ext->v[e].name) == 0;
        if (!used) v[n++] = ext->v[e];
    }
    *out = v;
    return n;
}

/* The external labels with instance="" added when they lack it; sorted. */
static core_labels *federation_labels(web_api *api, core_arena *arena)
{
    pthread_mutex_lock(&api->lock);
    const core_labels *ext = api->external_labels;
    core_label *v = core_arena_calloc(arena, ext->len + 2, sizeof *v);
    size_t n = 0;
    bool instance = false;
    for (size_t i = 0; i < ext->len; i++) {
        v[n++] = (core_label){core_arena_strdup(arena, ext->v[i].name),
                              core_arena_strdup(arena, ext->v[i].value)};
        if (strcmp(ext->v[i].name, "instance") == 0) instance = true;
    }
    pthread_mutex_unlock(&api->lock);
    if (!instance) v[n++] = (core_label){"instance", ""};
    return core_labels_new_in(arena, v, n);
}

void web_federate(core_http_req *req, core_http_resp *resp, void *userdata)
{
    web_api *api = userdata;
    core_arena *arena = core_http_arena(req);
    const char *const *sel;
    size_t nsel = core_http_args(req, "match[]", &sel);
    web_matchers *sets = NULL;
    core_err e;
    if (nsel && web_parse_selectors(sel, nsel, &api->o.parse, arena, &sets, &e) < 0) {
        text_error(resp, 400, e.msg);
        return;
    }
    web_expo_format fmt;
    web_escaping esc;
    web_expo_negotiate(core_http_header(req, "Accept"), &fmt, &esc);
    resp->content_type = web_expo_content_type(fmt, esc);
    if (nsel == 0) return;
    int64_t maxt = core_time_now_ms();
    int64_t mint = maxt - api->o.engine.lookback_ms;
    pql_storage *view = pql_storage_acquire(api->o.storage, &e);
    if (!view) {
        text_error(resp, 500, e.msg);
        return;
    }
    pql_series *series;
    size_t ns;
    if (select_all(view, sets, nsel, mint, maxt, arena, &series, &ns, &e) < 0) {
        pql_storage_release(api->o.storage, view);
        text_error(resp, 500, e.msg);
        return;
    }
    fed_sample *v = core_arena_calloc(arena, ns + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < ns; i++) {
        pql_iter *it = &series[i].it;
        bool have = false;
        int64_t t = 0;
        double val = 0;
        for (bool ok = it->seek(it, mint); ok && it->t <= maxt; ok = it->next(it))
            have = true, t = it->t, val = it->v;
        if (!have || pql_is_stale(val)) continue;
        const char *name = core_labels_get(series[i].labels, CORE_METRIC_NAME);
        if (!name || !name[0]) {
            core_sb ls = CORE_SB_INIT;
            core_labels_format(series[i].labels, &ls);
            core_warn("web", "Ignoring nameless metric during federation", "metric",
                      ls.buf ? ls.buf : "{}");
            core_sb_destroy(&ls);
            continue;
        }
        v[n] = (fed_sample){series[i].labels, name, t, val, n};
        n++;
    }
    if (n > 1) qsort(v, n, sizeof *v, cmp_name);
    core_labels *ext = federation_labels(api, arena);
    web_expo_sample *fam = core_arena_calloc(arena, n + 1, sizeof *fam);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        for (; end < n && strcmp(v[end].name, v[i].name) == 0; end++) {
            web_expo_sample *s = &fam[end - i];
            s->nlabels = sample_labels(v[end].labels, ext, arena, &s->labels);
            s->value = v[end].v;
            s->t = v[end].t;
        }
        web_expo_family(&resp->body, fmt, esc, v[i].name, fam, end - i);
        i = end;
    }
    pql_storage_release(api->o.storage, view);
}
