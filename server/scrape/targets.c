/*
 * targets.c - from a discovered target to a scrape target, as upstream's
 * scrape/target.go (PopulateDiscoveredLabels, PopulateLabels, Target.URL)
 * in Prometheus 3.x.
 *
 * The discovered label set is the target's labels over its group's, plus the
 * scrape config's defaults where the target has none: job, __scrape_interval__,
 * __scrape_timeout__, __metrics_path__, __scheme__ and __param_<name> for each
 * param's first value.  relabel_configs then run; a target they drop is kept
 * for the API's dropped targets with its discovered labels.  A kept target
 * needs an __address__ without a '/', interval and timeout labels that parse,
 * are not 0 and not timeout > interval; its __meta_* labels go, and instance
 * defaults to the address.  Labels starting with "__" never reach series.
 * Unlike 2.x, no default port is added to the address.
 */
#define _GNU_SOURCE
#include "scrape/scrape.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_default(core_labels_builder *b, const char *name, const char *value)
{
    const char *cur = core_labels_builder_get(b, name);
    if (!cur || !*cur) core_labels_builder_set(b, name, value);
}

static int parse_label_duration(core_labels_builder *b, const char *name, const char *what,
                                int64_t *ms, core_err *err)
{
    const char *v = core_labels_builder_get(b, name);
    core_err e = {{0}};
    if (core_duration_parse(v ? v : "", v ? strlen(v) : 0, ms, &e) < 0)
        return core_err_set(err, "error parsing %s: %s", what, e.msg);
    if (*ms == 0) return core_err_set(err, "%s cannot be 0", what);
    return 0;
}

int scrape_populate(const cfg_scrape *sc, const core_labels *target, const core_labels *group,
                    scrape_populated *out, core_err *err)
{
    memset(out, 0, sizeof(*out));
    core_arena arena;
    core_arena_init(&arena, 0);
    core_labels_builder b;
    core_labels_builder_init(&b, target);
    for (size_t i = 0; group && i < group->len; i++)
        set_default(&b, group->v[i].name, group->v[i].value);
    char ibuf[CORE_DURATION_BUFSZ], tbuf[CORE_DURATION_BUFSZ];
    core_duration_format(sc->scrape_interval_ms, ibuf);
    core_duration_format(sc->scrape_timeout_ms, tbuf);
    set_default(&b, "job", sc->job_name);
    set_default(&b, "__scrape_interval__", ibuf);
    set_default(&b, "__scrape_timeout__", tbuf);
    set_default(&b, "__metrics_path__", sc->metrics_path ? sc->metrics_path : "/metrics");
    set_default(&b, "__scheme__", sc->scheme ? sc->scheme : "http");
    for (size_t i = 0; i < sc->n_params; i++) {
        if (!sc->params[i].values.n) continue;
        char *name = core_arena_sprintf(&arena, "__param_%s", sc->params[i].name);
        set_default(&b, name, sc->params[i].values.v[0]);
    }
    out->discovered = core_labels_builder_labels(&b, NULL);
    int rc = 0;
    if (!model_relabel_process(sc->relabel_configs.v, sc->relabel_configs.n, &b, &arena)) {
        core_labels_builder_destroy(&b);
        core_arena_destroy(&arena);
        return 0; /* dropped */
    }
    const char *addr = core_labels_builder_get(&b, "__address__");
    if (!addr || !*addr) {
        rc = core_err_set(err, "no address");
    } else if (strchr(addr, '/')) {
        rc = core_err_set(err, "\"%s\" is not a valid hostname", addr);
    } else if (parse_label_duration(&b, "__scrape_interval__", "scrape interval", &out->interval_ms,
                                    err) < 0 ||
               parse_label_duration(&b, "__scrape_timeout__", "scrape timeout", &out->timeout_ms,
                                    err) < 0) {
        rc = -1;
    } else if (out->timeout_ms > out->interval_ms) {
        rc = core_err_set(err,
                          "scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")",
                          core_labels_builder_get(&b, "__scrape_timeout__"),
                          core_labels_builder_get(&b, "__scrape_interval__"));
    }
    if (rc == 0) {
        char *address = core_arena_strdup(&arena, addr);
        core_labels *cur = core_labels_builder_labels(&b, &arena);
        for (size_t i = 0; i < cur->len; i++)
            if (!strncmp(cur->v[i].name, "__meta_", 7)) core_labels_builder_del(&b, cur->v[i].name);
        set_default(&b, "instance", address);
        core_labels *all = core_labels_builder_labels(&b, NULL);
        /* The URL: scheme://address/path?params, the __param_ labels over
         * the config's params (only the first value of a param can be
         * overridden, as upstream's url.Values.Set). */
        core_sb url = CORE_SB_INIT;
        const char *scheme = core_labels_get(all, "__scheme__");
        const char *path = core_labels_get(all, "__metrics_path__");
        core_sb_addf(&url, "%s://%s%s", scheme ? scheme : "http", address, path ? path : "");
        char sep = strchr(url.buf, '?') ? '&' : '?';
        for (size_t i = 0; i < sc->n_params; i++) {
            const cfg_param *pm = &sc->params[i];
            char *lname = core_arena_sprintf(&arena, "__param_%s", pm->name);
            const char *over = core_labels_get(all, lname);
            for (size_t k = 0; k < pm->values.n; k++) {
                const char *v = k == 0 && over ? over : pm->values.v[k];
                char *en = curl_easy_escape(NULL, pm->name, 0), *ev = curl_easy_escape(NULL, v, 0);
                core_sb_addf(&url, "%c%s=%s", sep, en, ev);
                curl_free(en);
                curl_free(ev);
                sep = '&';
            }
        }
        for (size_t i = 0; i < all->len; i++) { /* __param_ labels of their own */
            const char *n = all->v[i].name;
            if (strncmp(n, "__param_", 8) != 0) continue;
            bool known = false;
            for (size_t k = 0; k < sc->n_params && !known; k++)
                known = !strcmp(sc->params[k].name, n + 8);
            if (known) continue;
            char *en = curl_easy_escape(NULL, n + 8, 0),
                 *ev = curl_easy_escape(NULL, all->v[i].value, 0);
            core_sb_addf(&url, "%c%s=%s", sep, en, ev);
            curl_free(en);
            curl_free(ev);
            sep = '&';
        }
        out->url = core_strdup(url.buf);
        core_sb_destroy(&url);
        /* What series get: everything but the reserved __ labels. */
        core_labels_builder pub;
        core_labels_builder_init(&pub, all);
        for (size_t i = 0; i < all->len; i++)
            if (!strncmp(all->v[i].name, "__", 2)) core_labels_builder_del(&pub, all->v[i].name);
        out->labels = core_labels_builder_labels(&pub, NULL);
        core_labels_builder_destroy(&pub);
        out->all = all;
    }
    core_labels_builder_destroy(&b);
    core_arena_destroy(&arena);
    return rc;
}

void scrape_populated_destroy(scrape_populated *p)
{
    free(p->labels);
    free(p->all);
    free(p->discovered);
    free(p->url);
    memset(p, 0, sizeof(*p));
}

core_labels *scrape_config_relabel(void *ctx, const core_labels *in)
{
    const cfg_relabels *r = ctx;
    return model_relabel_labels(r->v, r->n, in);
}

/* The first line of a secret file, as upstream reads *_file settings (it
 * trims surrounding space). */
static char *read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    core_sb sb = CORE_SB_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        core_sb_add(&sb, buf, n);
    fclose(f);
    size_t len = sb.len;
    while (len && (sb.buf[len - 1] == '\n' || sb.buf[len - 1] == '\r' || sb.buf[len - 1] == ' '))
        len--;
    char *out = core_strndup(sb.buf ? sb.buf : "", len);
    core_sb_destroy(&sb);
    return out;
}

void scrape_def_init(scrape_def_store *st, const cfg_scrape *sc, const scrape_populated *p,
                     scrape_target_def *d)
{
    memset(d, 0, sizeof(*d));
    memset(st, 0, sizeof(*st));
    d->pool = sc->job_name;
    d->url = p->url;
    d->labels = p->labels;
    d->discovered = p->discovered;
    d->interval_ms = p->interval_ms;
    d->timeout_ms = p->timeout_ms;
    d->honor_labels = sc->honor_labels;
    d->honor_timestamps = sc->honor_timestamps;
    d->track_timestamps_staleness = sc->track_timestamps_staleness;
    d->sample_limit = sc->sample_limit;
    d->label_limit = sc->label_limit;
    d->label_name_length_limit = sc->label_name_length_limit;
    d->label_value_length_limit = sc->label_value_length_limit;
    d->body_size_limit = sc->body_size_limit;
    const char *names[CFG_PROTO_COUNT];
    for (size_t i = 0; i < sc->scrape_protocols.n; i++)
        names[i] = cfg_scrape_protocol_name(sc->scrape_protocols.v[i]);
    st->accept = (core_sb)CORE_SB_INIT;
    if (scrape_accept_header(sc->scrape_protocols.n ? names : NULL, sc->scrape_protocols.n,
                             &st->accept, NULL) == 0)
        d->accept = st->accept.buf;
    const cfg_http *h = &sc->http;
    if (h->basic_auth) {
        d->basic_user = h->basic_auth->username;
        if (!d->basic_user && h->basic_auth->username_file)
            d->basic_user = st->user = read_secret(h->basic_auth->username_file);
        d->basic_password = h->basic_auth->password;
        if (!d->basic_password && h->basic_auth->password_file)
            d->basic_password = st->password = read_secret(h->basic_auth->password_file);
    }
    if (h->authorization) {
        d->auth_type = h->authorization->type;
        d->bearer = h->authorization->credentials;
        if (!d->bearer && h->authorization->credentials_file)
            d->bearer = st->credentials = read_secret(h->authorization->credentials_file);
    }
    d->ca_file = h->tls.ca_file;
    d->cert_file = h->tls.cert_file;
    d->key_file = h->tls.key_file;
    d->server_name = h->tls.server_name;
    d->insecure_skip_verify = h->tls.insecure_skip_verify;
    d->follow_redirects = h->follow_redirects;
    d->proxy_url = h->proxy.proxy_url;
    if (sc->metric_relabel_configs.n) {
        d->metric_relabel = scrape_config_relabel;
        d->relabel_ctx = (void *)&sc->metric_relabel_configs;
    }
}

void scrape_def_store_destroy(scrape_def_store *st)
{
    core_sb_destroy(&st->accept);
    free(st->user);
    free(st->password);
    free(st->credentials);
}
