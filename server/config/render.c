/*
 * render.c - the loaded config back as YAML, as /api/v1/status/config shows it.
 *
 * Upstream marshals its Config struct with yaml.v2: fields in struct order,
 * `omitempty` fields left out when zero, secrets as "<secret>", durations in
 * model.Duration's form, sizes in units.Base2Bytes' form.  yaml.v2's emitter
 * is a port of libyaml's, so the events are handed to libyaml here and the
 * layout (indentless sequences in mappings, the choice between plain and
 * quoted scalars, line folding) comes out the same; the choice of a double
 * quoted style for strings that would read back as another type ("true",
 * "10", "1:20", a date) is yaml.v2's and is made here.
 */
#include "config/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

typedef struct em {
    yaml_emitter_t e;
    core_sb *out;
} em;

static int write_out(void *data, unsigned char *buf, size_t size)
{
    core_sb_add(((em *)data)->out, buf, size);
    return 1;
}

static void emit(em *m, yaml_event_t *ev)
{
    if (!yaml_emitter_emit(&m->e, ev)) {
        /* Only on a bug (events out of order) or out of memory. */
        fprintf(stderr, "fatal: YAML emitter: %s\n", m->e.problem ? m->e.problem : "error");
        abort();
    }
}

static void map_start(em *m, bool flow)
{
    yaml_event_t ev;
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                        flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    emit(m, &ev);
}

static void map_end(em *m)
{
    yaml_event_t ev;
    yaml_mapping_end_event_initialize(&ev);
    emit(m, &ev);
}

static void seq_start(em *m, bool flow)
{
    yaml_event_t ev;
    yaml_sequence_start_event_initialize(
        &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    emit(m, &ev);
}

static void seq_end(em *m)
{
    yaml_event_t ev;
    yaml_sequence_end_event_initialize(&ev);
    emit(m, &ev);
}

static void raw_scalar(em *m, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style);
    emit(m, &ev);
}

/* Whether yaml.v2 would read the plain scalar s as something else than a
 * string (null, bool, number, base 60 number, timestamp). */
static bool not_a_string(const char *s)
{
    static const char *const words[] = {
        "",      "~",     "null",  "Null",  "NULL",  "y",     "Y",     "yes",   "Yes",
        "YES",   "n",     "N",     "no",    "No",    "NO",    "true",  "True",  "TRUE",
        "false", "False", "FALSE", "on",    "On",    "ON",    "off",   "Off",   "OFF",
        ".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ".nan",  ".NaN",  ".NAN",  "<<",    NULL,
    };
    for (size_t i = 0; words[i] != NULL; i++)
        if (strcmp(s, words[i]) == 0) return true;
    char buf[128];
    size_t n = 0;
    for (const char *p = s; *p && n < sizeof buf - 1; p++)
        if (*p != '_') buf[n++] = *p;
    buf[n] = '\0';
    if (n == 0 || strlen(s) >= sizeof buf - 1) return false;
    char *end;
    const char *digits = buf + (buf[0] == '-' || buf[0] == '+');
    if (*digits >= '0' && *digits <= '9') {
        errno = 0;
        (void)strtoll(buf, &end, 0);
        if (*end == '\0') return true;
        if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
            (void)strtoll(digits + 2, &end, 2);
            if (*end == '\0' && digits[2] != '\0') return true;
        }
        if (digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
            (void)strtoll(digits + 2, &end, 8);
            if (*end == '\0' && digits[2] != '\0') return true;
        }
    }
    /* floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *p = digits;
    bool mant = false;
    while (*p >= '0' && *p <= '9')
        p++, mant = true;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, mant = true;
    }
    if (mant && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '-' || *p == '+') p++;
        if (*p >= '0' && *p <= '9') {
            while (*p >= '0' && *p <= '9')
                p++;
        } else {
            p = "x";
        }
    }
    if (mant && *p == '\0') return true;
    /* base 60: [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? */
    p = s + (s[0] == '-' || s[0] == '+');
    if (*p >= '0' && *p <= '9') {
        while ((*p >= '0' && *p <= '9') || *p == '_')
            p++;
        bool colon = false;
        while (*p == ':') {
            p++;
            int dd = 0;
            while (*p >= '0' && *p <= '9' && dd < 2)
                p++, dd++;
            if (dd == 0) break;
            colon = true;
        }
        if (colon && *p == '.') {
            p++;
            while ((*p >= '0' && *p <= '9') || *p == '_')
                p++;
        }
        if (colon && *p == '\0') return true;
    }
    /* timestamps: YYYY-M?M-D?D... */
    p = s;
    int y = 0;
    while (*p >= '0' && *p <= '9')
        p++, y++;
    if (y == 4 && *p == '-') {
        p++;
        int mth = 0;
        while (*p >= '0' && *p <= '9')
            p++, mth++;
        if ((mth == 1 || mth == 2) && *p == '-') {
            p++;
            int day = 0;
            while (*p >= '0' && *p <= '9')
                p++, day++;
            if (day == 1 || day == 2) return true;
        }
    }
    return false;
}

/* A string as yaml.v2 writes it. */
static void str(em *m, const char *s)
{
    if (s == NULL) s = "";
    if (strchr(s, '\n') != NULL)
        raw_scalar(m, s, YAML_LITERAL_SCALAR_STYLE);
    else if (not_a_string(s))
        raw_scalar(m, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    else
        raw_scalar(m, s, YAML_PLAIN_SCALAR_STYLE);
}

static void key(em *m, const char *k)
{
    raw_scalar(m, k, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_str(em *m, const char *k, const char *v)
{
    key(m, k);
    str(m, v);
}

/* omitempty string */
static void kv_opt(em *m, const char *k, const char *v)
{
    if (v != NULL && v[0] != '\0') kv_str(m, k, v);
}

/* A URL as config.URL marshals it: a password in it becomes "xxxxx". */
static void kv_url(em *m, const char *k, const char *v, bool omitempty)
{
    if (v == NULL || v[0] == '\0') {
        if (!omitempty) kv_str(m, k, "");
        return;
    }
    const char *sep = strstr(v, "://");
    const char *auth = sep != NULL ? sep + 3 : NULL;
    const char *end = auth != NULL ? auth + strcspn(auth, "/?#") : NULL;
    const char *at = NULL;
    for (const char *p = auth; p != NULL && p < end; p++)
        if (*p == '@') at = p;
    const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL) {
        kv_str(m, k, v);
        return;
    }
    core_sb r = CORE_SB_INIT;
    core_sb_add(&r, v, (size_t)(colon + 1 - v));
    core_sb_adds(&r, "xxxxx");
    core_sb_adds(&r, at);
    kv_str(m, k, r.buf);
    core_sb_destroy(&r);
}

static void kv_secret(em *m, const char *k, const char *v)
{
    if (v != NULL && v[0] != '\0') kv_str(m, k, "<secret>");
}

static void kv_bool(em *m, const char *k, bool v)
{
    key(m, k);
    raw_scalar(m, v ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
}

static void kv_opt_bool(em *m, const char *k, bool v)
{
    if (v) kv_bool(m, k, v);
}

static void kv_int(em *m, const char *k, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    key(m, k);
    raw_scalar(m, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_opt_int(em *m, const char *k, long long v)
{
    if (v != 0) kv_int(m, k, v);
}

static void kv_uint(em *m, const char *k, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    key(m, k);
    raw_scalar(m, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_opt_uint(em *m, const char *k, uint64_t v)
{
    if (v != 0) kv_uint(m, k, v);
}

static void kv_double(em *m, const char *k, double v)
{
    char buf[MODEL_FLOAT_BUFSZ];
    if (isinf(v))
        snprintf(buf, sizeof buf, "%s", v > 0 ? "+.inf" : "-.inf");
    else if (isnan(v))
        snprintf(buf, sizeof buf, ".nan");
    else
        model_format_float(v, buf);
    key(m, k);
    raw_scalar(m, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_dur(em *m, const char *k, int64_t ms)
{
    char buf[CORE_DURATION_BUFSZ];
    core_duration_format(ms, buf);
    kv_str(m, k, buf);
}

static void kv_opt_dur(em *m, const char *k, int64_t ms)
{
    if (ms != 0) kv_dur(m, k, ms);
}

static void kv_opt_bytes(em *m, const char *k, int64_t b)
{
    if (b == 0) return;
    core_sb s = CORE_SB_INIT;
    cfg_format_bytes(b, &s);
    kv_str(m, k, s.buf);
    core_sb_destroy(&s);
}

static void strs(em *m, const cfg_strs *v, bool flow)
{
    seq_start(m, flow);
    for (size_t i = 0; i < v->n; i++)
        str(m, v->v[i]);
    seq_end(m);
}

static void kv_opt_strs(em *m, const char *k, const cfg_strs *v)
{
    if (v->n == 0) return;
    key(m, k);
    strs(m, v, false);
}

/* yaml.v2 writes a map's keys sorted. */
static int by_key(const void *a, const void *b)
{
    return strcmp(((const cfg_kv *)a)->key, ((const cfg_kv *)b)->key);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Indexes of `n` items whose names are at base + i * stride, sorted. */
static size_t *sorted_order(const void *base, size_t n, size_t stride)
{
    const char **names = core_mallocarray(n + 1, sizeof *names);
    size_t *order = core_mallocarray(n + 1, sizeof *order);
    for (size_t i = 0; i < n; i++)
        names[i] = *(const char *const *)((const char *)base + i * stride);
    const char **sorted = core_mallocarray(n + 1, sizeof *sorted);
    memcpy(sorted, names, n * sizeof *names);
    qsort(sorted, n, sizeof *sorted, by_name);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (names[j] == sorted[i]) {
                order[i] = j;
                names[j] = NULL; /* used */
                break;
            }
    free(names);
    free(sorted);
    return order;
}

static void kv_opt_kvs(em *m, const char *k, const cfg_kvs *v)
{
    if (v->n == 0) return;
    cfg_kv *copy = core_mallocarray(v->n, sizeof *copy);
    memcpy(copy, v->v, v->n * sizeof *copy);
    qsort(copy, v->n, sizeof *copy, by_key);
    key(m, k);
    map_start(m, false);
    for (size_t i = 0; i < v->n; i++)
        kv_str(m, copy[i].key, copy[i].value);
    map_end(m);
    free(copy);
}

static void labels(em *m, const core_labels *ls)
{
    map_start(m, false);
    for (size_t i = 0; i < ls->len; i++)
        kv_str(m, ls->v[i].name, ls->v[i].value);
    map_end(m);
}

static void empty_map(em *m)
{
    map_start(m, true);
    map_end(m);
}

/* ---- Pieces */

static bool tls_zero(const cfg_tls *t)
{
    return !t->ca && !t->cert && !t->key && !t->ca_file && !t->cert_file && !t->key_file &&
           !t->ca_ref && !t->cert_ref && !t->key_ref && !t->server_name &&
           !t->insecure_skip_verify && !t->min_version && !t->max_version;
}

static void tls(em *m, const char *k, const cfg_tls *t)
{
    if (tls_zero(t)) return;
    key(m, k);
    map_start(m, false);
    kv_opt(m, "ca", t->ca);
    kv_opt(m, "cert", t->cert);
    kv_secret(m, "key", t->key);
    kv_opt(m, "ca_file", t->ca_file);
    kv_opt(m, "cert_file", t->cert_file);
    kv_opt(m, "key_file", t->key_file);
    kv_opt(m, "ca_ref", t->ca_ref);
    kv_opt(m, "cert_ref", t->cert_ref);
    kv_opt(m, "key_ref", t->key_ref);
    kv_opt(m, "server_name", t->server_name);
    kv_bool(m, "insecure_skip_verify", t->insecure_skip_verify);
    kv_opt(m, "min_version", t->min_version);
    kv_opt(m, "max_version", t->max_version);
    map_end(m);
}

static void proxy(em *m, const cfg_proxy *p)
{
    kv_url(m, "proxy_url", p->proxy_url, true);
    kv_opt(m, "no_proxy", p->no_proxy);
    kv_opt_bool(m, "proxy_from_environment", p->proxy_from_environment);
    if (p->n_connect_headers > 0) {
        size_t *order =
            sorted_order(p->connect_headers, p->n_connect_headers, sizeof *p->connect_headers);
        key(m, "proxy_connect_header");
        map_start(m, false);
        for (size_t o = 0; o < p->n_connect_headers; o++) {
            const cfg_header *hd = &p->connect_headers[order[o]];
            key(m, hd->name);
            seq_start(m, false);
            for (size_t j = 0; j < hd->secrets.n; j++)
                str(m, "<secret>");
            seq_end(m);
        }
        map_end(m);
        free(order);
    }
}

static void http(em *m, const cfg_http *h)
{
    if (h->basic_auth != NULL) {
        const cfg_basic_auth *b = h->basic_auth;
        key(m, "basic_auth");
        map_start(m, false);
        kv_opt(m, "username", b->username);
        kv_opt(m, "username_file", b->username_file);
        kv_opt(m, "username_ref", b->username_ref);
        kv_secret(m, "password", b->password);
        kv_opt(m, "password_file", b->password_file);
        kv_opt(m, "password_ref", b->password_ref);
        map_end(m);
    }
    if (h->authorization != NULL) {
        const cfg_authorization *a = h->authorization;
        key(m, "authorization");
        map_start(m, false);
        kv_opt(m, "type", a->type);
        kv_secret(m, "credentials", a->credentials);
        kv_opt(m, "credentials_file", a->credentials_file);
        kv_opt(m, "credentials_ref", a->credentials_ref);
        map_end(m);
    }
    if (h->oauth2 != NULL) {
        const cfg_oauth2 *o = h->oauth2;
        key(m, "oauth2");
        map_start(m, false);
        kv_opt(m, "client_id", o->client_id);
        kv_secret(m, "client_secret", o->client_secret);
        kv_opt(m, "client_secret_file", o->client_secret_file);
        kv_opt(m, "client_secret_ref", o->client_secret_ref);
        kv_opt(m, "client_certificate_key_id", o->client_certificate_key_id);
        kv_secret(m, "client_certificate_key", o->client_certificate_key);
        kv_opt(m, "client_certificate_key_file", o->client_certificate_key_file);
        kv_opt(m, "client_certificate_key_ref", o->client_certificate_key_ref);
        kv_opt(m, "grant_type", o->grant_type);
        kv_opt(m, "signature_algorithm", o->signature_algorithm);
        kv_opt(m, "iss", o->iss);
        kv_opt(m, "audience", o->audience);
        kv_opt_kvs(m, "claims", &o->claims);
        kv_opt_strs(m, "scopes", &o->scopes);
        kv_opt(m, "token_url", o->token_url);
        kv_opt_kvs(m, "endpoint_params", &o->endpoint_params);
        tls(m, "tls_config", &o->tls);
        proxy(m, &o->proxy);
        map_end(m);
    }
    tls(m, "tls_config", &h->tls);
    kv_bool(m, "follow_redirects", h->follow_redirects);
    kv_bool(m, "enable_http2", h->enable_http2);
    proxy(m, &h->proxy);
    if (h->n_headers > 0) {
        size_t *order = sorted_order(h->headers, h->n_headers, sizeof *h->headers);
        key(m, "http_headers");
        map_start(m, false);
        for (size_t o = 0; o < h->n_headers; o++) {
            const cfg_header *hd = &h->headers[order[o]];
            key(m, hd->name);
            map_start(m, false);
            kv_opt_strs(m, "values", &hd->values);
            if (hd->secrets.n > 0) {
                key(m, "secrets");
                seq_start(m, false);
                for (size_t j = 0; j < hd->secrets.n; j++)
                    str(m, "<secret>");
                seq_end(m);
            }
            kv_opt_strs(m, "files", &hd->files);
            map_end(m);
        }
        map_end(m);
        free(order);
    }
}

static void relabels(em *m, const char *k, const cfg_relabels *r)
{
    if (r->n == 0) return;
    key(m, k);
    seq_start(m, false);
    for (size_t i = 0; i < r->n; i++) {
        const model_relabel_cfg *c = &r->v[i];
        map_start(m, false);
        if (c->n_source_labels > 0) {
            key(m, "source_labels");
            cfg_strs s = {(const char **)c->source_labels, c->n_source_labels};
            strs(m, &s, true);
        }
        kv_str(m, "separator", c->separator);
        if (c->regex_set) kv_str(m, "regex", model_regex_pattern(c->regex));
        kv_opt_uint(m, "modulus", c->modulus);
        kv_opt(m, "target_label", c->target_label);
        kv_str(m, "replacement", c->replacement);
        kv_opt(m, "action", model_relabel_action_name(c->action));
        map_end(m);
    }
    seq_end(m);
}

/* SD configs, in upstream's order (sorted by key). */
static void sd(em *m, const cfg_sd *s)
{
    if (s->n_dns > 0) {
        key(m, "dns_sd_configs");
        seq_start(m, false);
        for (size_t i = 0; i < s->n_dns; i++) {
            const cfg_dns_sd *d = &s->dns[i];
            map_start(m, false);
            key(m, "names");
            strs(m, &d->names, false);
            kv_opt_dur(m, "refresh_interval", d->refresh_interval_ms);
            kv_str(m, "type", d->type);
            kv_int(m, "port", d->port);
            map_end(m);
        }
        seq_end(m);
    }
    if (s->n_ec2 > 0) {
        key(m, "ec2_sd_configs");
        seq_start(m, false);
        for (size_t i = 0; i < s->n_ec2; i++) {
            const cfg_ec2_sd *e = &s->ec2[i];
            map_start(m, false);
            kv_str(m, "endpoint", e->endpoint);
            kv_str(m, "region", e->region);
            kv_opt(m, "access_key", e->access_key);
            kv_secret(m, "secret_key", e->secret_key);
            kv_opt(m, "profile", e->profile);
            kv_opt(m, "role_arn", e->role_arn);
            kv_opt(m, "external_id", e->external_id);
            kv_opt_dur(m, "refresh_interval", e->refresh_interval_ms);
            kv_int(m, "port", e->port);
            key(m, "filters");
            if (e->n_filters == 0) {
                seq_start(m, true);
                seq_end(m);
            } else {
                seq_start(m, false);
                for (size_t j = 0; j < e->n_filters; j++) {
                    map_start(m, false);
                    kv_str(m, "name", e->filters[j].name);
                    key(m, "values");
                    strs(m, &e->filters[j].values, false);
                    map_end(m);
                }
                seq_end(m);
            }
            http(m, &e->http);
            map_end(m);
        }
        seq_end(m);
    }
    if (s->n_file > 0) {
        key(m, "file_sd_configs");
        seq_start(m, false);
        for (size_t i = 0; i < s->n_file; i++) {
            map_start(m, false);
            key(m, "files");
            strs(m, &s->file[i].files, false);
            kv_opt_dur(m, "refresh_interval", s->file[i].refresh_interval_ms);
            map_end(m);
        }
        seq_end(m);
    }
    if (s->n_http > 0) {
        key(m, "http_sd_configs");
        seq_start(m, false);
        for (size_t i = 0; i < s->n_http; i++) {
            map_start(m, false);
            http(m, &s->http[i].http);
            kv_opt_dur(m, "refresh_interval", s->http[i].refresh_interval_ms);
            kv_str(m, "url", s->http[i].url);
            map_end(m);
        }
        seq_end(m);
    }
    if (s->n_static > 0) {
        key(m, "static_configs");
        seq_start(m, false);
        for (size_t i = 0; i < s->n_static; i++) {
            map_start(m, false);
            key(m, "targets");
            strs(m, &s->static_configs[i].targets, false);
            if (s->static_configs[i].labels->len > 0) {
                key(m, "labels");
                labels(m, s->static_configs[i].labels);
            }
            map_end(m);
        }
        seq_end(m);
    }
}

static void protocols(em *m, const char *k, const cfg_protocols *p)
{
    if (p->n == 0) return;
    key(m, k);
    seq_start(m, false);
    for (size_t i = 0; i < p->n; i++)
        str(m, cfg_scrape_protocol_name(p->v[i]));
    seq_end(m);
}

static const char *scheme_name(model_name_scheme s)
{
    return s == MODEL_NAMES_LEGACY ? "legacy" : "utf8";
}

static void global(em *m, const cfg_global *g)
{
    key(m, "global");
    map_start(m, false);
    kv_dur(m, "scrape_interval", g->scrape_interval_ms);
    kv_dur(m, "scrape_timeout", g->scrape_timeout_ms);
    protocols(m, "scrape_protocols", &g->scrape_protocols);
    kv_dur(m, "evaluation_interval", g->evaluation_interval_ms);
    kv_opt_dur(m, "rule_query_offset", g->rule_query_offset_ms);
    kv_opt(m, "query_log_file", g->query_log_file);
    kv_opt(m, "scrape_failure_log_file", g->scrape_failure_log_file);
    if (g->external_labels->len > 0) {
        key(m, "external_labels");
        labels(m, g->external_labels);
    }
    kv_opt_bytes(m, "body_size_limit", g->body_size_limit);
    kv_opt_uint(m, "sample_limit", g->sample_limit);
    kv_opt_uint(m, "target_limit", g->target_limit);
    kv_opt_uint(m, "label_limit", g->label_limit);
    kv_opt_uint(m, "label_name_length_limit", g->label_name_length_limit);
    kv_opt_uint(m, "label_value_length_limit", g->label_value_length_limit);
    kv_opt_uint(m, "keep_dropped_targets", g->keep_dropped_targets);
    kv_str(m, "metric_name_validation_scheme", scheme_name(g->metric_name_validation_scheme));
    kv_opt(m, "metric_name_escaping_scheme", g->metric_name_escaping_scheme);
    kv_bool(m, "scrape_native_histograms", g->scrape_native_histograms);
    kv_opt_bool(m, "convert_classic_histograms_to_nhcb", g->convert_classic_histograms_to_nhcb);
    kv_opt_bool(m, "always_scrape_classic_histograms", g->always_scrape_classic_histograms);
    kv_bool(m, "extra_scrape_metrics", g->extra_scrape_metrics);
    map_end(m);
}

static void scrape(em *m, const cfg_scrape *s)
{
    map_start(m, false);
    kv_str(m, "job_name", s->job_name);
    kv_opt_bool(m, "honor_labels", s->honor_labels);
    kv_bool(m, "honor_timestamps", s->honor_timestamps);
    kv_bool(m, "track_timestamps_staleness", s->track_timestamps_staleness);
    if (s->n_params > 0) {
        size_t *order = sorted_order(s->params, s->n_params, sizeof *s->params);
        key(m, "params");
        map_start(m, false);
        for (size_t o = 0; o < s->n_params; o++) {
            key(m, s->params[order[o]].name);
            strs(m, &s->params[order[o]].values, false);
        }
        map_end(m);
        free(order);
    }
    kv_dur(m, "scrape_interval", s->scrape_interval_ms);
    kv_dur(m, "scrape_timeout", s->scrape_timeout_ms);
    protocols(m, "scrape_protocols", &s->scrape_protocols);
    if (s->has_fallback_protocol)
        kv_str(m, "fallback_scrape_protocol",
               cfg_scrape_protocol_name(s->fallback_scrape_protocol));
    kv_bool(m, "scrape_native_histograms", s->scrape_native_histograms);
    kv_bool(m, "always_scrape_classic_histograms", s->always_scrape_classic_histograms);
    kv_bool(m, "convert_classic_histograms_to_nhcb", s->convert_classic_histograms_to_nhcb);
    kv_opt(m, "scrape_failure_log_file", s->scrape_failure_log_file);
    kv_opt(m, "metrics_path", s->metrics_path);
    kv_opt(m, "scheme", s->scheme);
    kv_bool(m, "enable_compression", s->enable_compression);
    kv_opt_bytes(m, "body_size_limit", s->body_size_limit);
    kv_opt_uint(m, "sample_limit", s->sample_limit);
    kv_opt_uint(m, "target_limit", s->target_limit);
    kv_opt_uint(m, "label_limit", s->label_limit);
    kv_opt_uint(m, "label_name_length_limit", s->label_name_length_limit);
    kv_opt_uint(m, "label_value_length_limit", s->label_value_length_limit);
    kv_opt_uint(m, "native_histogram_bucket_limit", s->native_histogram_bucket_limit);
    if (s->native_histogram_min_bucket_factor != 0)
        kv_double(m, "native_histogram_min_bucket_factor", s->native_histogram_min_bucket_factor);
    kv_opt_uint(m, "keep_dropped_targets", s->keep_dropped_targets);
    kv_str(m, "metric_name_validation_scheme", scheme_name(s->metric_name_validation_scheme));
    kv_opt(m, "metric_name_escaping_scheme", s->metric_name_escaping_scheme);
    kv_bool(m, "extra_scrape_metrics", s->extra_scrape_metrics);
    http(m, &s->http);
    relabels(m, "relabel_configs", &s->relabel_configs);
    relabels(m, "metric_relabel_configs", &s->metric_relabel_configs);
    sd(m, &s->sd);
    map_end(m);
}

static void sigv4(em *m, const cfg_sigv4 *s)
{
    if (s == NULL) return;
    key(m, "sigv4");
    map_start(m, false);
    kv_opt(m, "region", s->region);
    kv_opt(m, "access_key", s->access_key);
    kv_secret(m, "secret_key", s->secret_key);
    kv_opt(m, "profile", s->profile);
    kv_opt(m, "role_arn", s->role_arn);
    kv_opt(m, "external_id", s->external_id);
    kv_opt(m, "service", s->service);
    kv_opt_bool(m, "use_fips_sts_endpoint", s->use_fips_sts_endpoint);
    map_end(m);
}

static void alerting(em *m, const cfg_alerting *a)
{
    if (a->alert_relabel_configs.n == 0 && a->n_alertmanagers == 0) return;
    key(m, "alerting");
    map_start(m, false);
    relabels(m, "alert_relabel_configs", &a->alert_relabel_configs);
    if (a->n_alertmanagers > 0) {
        key(m, "alertmanagers");
        seq_start(m, false);
        for (size_t i = 0; i < a->n_alertmanagers; i++) {
            const cfg_alertmanager *am = &a->alertmanagers[i];
            map_start(m, false);
            http(m, &am->http);
            sigv4(m, am->sigv4);
            kv_opt(m, "scheme", am->scheme);
            kv_opt(m, "path_prefix", am->path_prefix);
            kv_opt_dur(m, "timeout", am->timeout_ms);
            kv_str(m, "api_version", am->api_version);
            relabels(m, "relabel_configs", &am->relabel_configs);
            relabels(m, "alert_relabel_configs", &am->alert_relabel_configs);
            sd(m, &am->sd);
            map_end(m);
        }
        seq_end(m);
    }
    map_end(m);
}

static void storage(em *m, const cfg_storage *s)
{
    key(m, "storage");
    map_start(m, false);
    key(m, "tsdb");
    map_start(m, false);
    kv_opt_dur(m, "out_of_order_time_window", s->out_of_order_time_window_ms);
    if (s->stale_series_compaction_threshold != 0)
        kv_double(m, "stale_series_compaction_threshold", s->stale_series_compaction_threshold);
    if (s->chunk_encoding_floats != NULL) {
        key(m, "chunk_encoding");
        map_start(m, false);
        kv_str(m, "floats", s->chunk_encoding_floats);
        map_end(m);
    }
    key(m, "retention");
    if (s->retention_time_ms == 0 && s->retention_size_bytes == 0 && s->retention_percentage == 0) {
        empty_map(m);
    } else {
        map_start(m, false);
        kv_opt_dur(m, "time", s->retention_time_ms);
        kv_opt_bytes(m, "size", s->retention_size_bytes);
        if (s->retention_percentage != 0) kv_double(m, "percentage", s->retention_percentage);
        map_end(m);
    }
    /* prom-server's extensions, when given */
    kv_opt(m, "path", s->path);
    if (s->wal_compression_set) kv_bool(m, "wal-compression", s->wal_compression);
    kv_opt_dur(m, "min-block-duration", s->min_block_duration_ms);
    kv_opt_dur(m, "max-block-duration", s->max_block_duration_ms);
    map_end(m);
    if (s->max_exemplars != 0) {
        key(m, "exemplars");
        map_start(m, false);
        kv_int(m, "max_exemplars", s->max_exemplars);
        map_end(m);
    }
    map_end(m);
}

static void remote_write(em *m, const cfg_config *cfg)
{
    if (cfg->n_remote_write == 0) return;
    key(m, "remote_write");
    seq_start(m, false);
    for (size_t i = 0; i < cfg->n_remote_write; i++) {
        const cfg_remote_write *w = &cfg->remote_write[i];
        map_start(m, false);
        kv_url(m, "url", w->url, false);
        kv_opt_dur(m, "remote_timeout", w->remote_timeout_ms);
        kv_opt_kvs(m, "headers", &w->headers);
        relabels(m, "write_relabel_configs", &w->write_relabel_configs);
        kv_opt(m, "name", w->name);
        kv_opt_bool(m, "send_exemplars", w->send_exemplars);
        kv_opt_bool(m, "send_native_histograms", w->send_native_histograms);
        kv_opt_bool(m, "round_robin_dns", w->round_robin_dns);
        kv_opt(m, "protobuf_message", w->protobuf_message);
        kv_opt_bool(m, "failed_request_logging", w->failed_request_logging);
        http(m, &w->http);
        key(m, "queue_config");
        map_start(m, false);
        kv_opt_int(m, "capacity", w->queue.capacity);
        kv_opt_int(m, "max_shards", w->queue.max_shards);
        kv_opt_int(m, "min_shards", w->queue.min_shards);
        kv_opt_int(m, "max_samples_per_send", w->queue.max_samples_per_send);
        kv_opt_dur(m, "batch_send_deadline", w->queue.batch_send_deadline_ms);
        kv_opt_dur(m, "min_backoff", w->queue.min_backoff_ms);
        kv_opt_dur(m, "max_backoff", w->queue.max_backoff_ms);
        kv_opt_bool(m, "retry_on_http_429", w->queue.retry_on_http_429);
        kv_opt_dur(m, "sample_age_limit", w->queue.sample_age_limit_ms);
        map_end(m);
        key(m, "metadata_config");
        map_start(m, false);
        kv_bool(m, "send", w->metadata.send);
        kv_dur(m, "send_interval", w->metadata.send_interval_ms);
        kv_opt_int(m, "max_samples_per_send", w->metadata.max_samples_per_send);
        map_end(m);
        sigv4(m, w->sigv4);
        map_end(m);
    }
    seq_end(m);
}

static void remote_read(em *m, const cfg_config *cfg)
{
    if (cfg->n_remote_read == 0) return;
    key(m, "remote_read");
    seq_start(m, false);
    for (size_t i = 0; i < cfg->n_remote_read; i++) {
        const cfg_remote_read *r = &cfg->remote_read[i];
        map_start(m, false);
        kv_url(m, "url", r->url, false);
        kv_opt_dur(m, "remote_timeout", r->remote_timeout_ms);
        kv_opt_uint(m, "chunked_read_limit", r->chunked_read_limit);
        kv_opt_kvs(m, "headers", &r->headers);
        kv_opt_bool(m, "read_recent", r->read_recent);
        kv_opt(m, "name", r->name);
        http(m, &r->http);
        kv_opt_kvs(m, "required_matchers", &r->required_matchers);
        kv_opt_bool(m, "filter_external_labels", r->filter_external_labels);
        map_end(m);
    }
    seq_end(m);
}

static void otlp(em *m, const cfg_otlp *o)
{
    bool zero = !o->promote_all_resource_attributes && o->promote_resource_attributes.n == 0 &&
                o->ignore_resource_attributes.n == 0 && o->translation_strategy[0] == '\0' &&
                !o->keep_identifying_resource_attributes && !o->convert_histograms_to_nhcb &&
                !o->promote_scope_metadata && !o->label_name_underscore_sanitization &&
                !o->label_name_preserve_multiple_underscores;
    if (zero) return;
    key(m, "otlp");
    map_start(m, false);
    kv_opt_bool(m, "promote_all_resource_attributes", o->promote_all_resource_attributes);
    kv_opt_strs(m, "promote_resource_attributes", &o->promote_resource_attributes);
    kv_opt_strs(m, "ignore_resource_attributes", &o->ignore_resource_attributes);
    kv_opt(m, "translation_strategy", o->translation_strategy);
    kv_opt_bool(m, "keep_identifying_resource_attributes", o->keep_identifying_resource_attributes);
    kv_opt_bool(m, "convert_histograms_to_nhcb", o->convert_histograms_to_nhcb);
    kv_opt_bool(m, "promote_scope_metadata", o->promote_scope_metadata);
    kv_opt_bool(m, "label_name_underscore_sanitization", o->label_name_underscore_sanitization);
    kv_opt_bool(m, "label_name_preserve_multiple_underscores",
                o->label_name_preserve_multiple_underscores);
    map_end(m);
}

static void tracing(em *m, const cfg_tracing *t)
{
    if (!t->present) return;
    key(m, "tracing");
    map_start(m, false);
    kv_opt(m, "client_type", t->client_type);
    kv_opt(m, "endpoint", t->endpoint);
    if (t->sampling_fraction != 0) kv_double(m, "sampling_fraction", t->sampling_fraction);
    kv_opt_bool(m, "insecure", t->insecure);
    tls(m, "tls_config", &t->tls);
    kv_opt_kvs(m, "headers", &t->headers);
    kv_opt(m, "compression", t->compression);
    kv_opt_dur(m, "timeout", t->timeout_ms);
    map_end(m);
}

static void query(em *m, const cfg_query *q)
{
    if (!q->present) return;
    key(m, "query");
    map_start(m, false);
    kv_opt_int(m, "max-samples", q->max_samples);
    kv_opt_dur(m, "timeout", q->timeout_ms);
    kv_opt_int(m, "max-concurrency", q->max_concurrency);
    kv_opt_dur(m, "lookback-delta", q->lookback_delta_ms);
    map_end(m);
}

void cfg_render(const cfg_config *cfg, core_sb *out)
{
    em m;
    m.out = out;
    if (!yaml_emitter_initialize(&m.e)) {
        fputs("fatal: out of memory in libyaml\n", stderr);
        abort();
    }
    yaml_emitter_set_output(&m.e, write_out, &m);
    yaml_emitter_set_unicode(&m.e, 1);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    emit(&m, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    emit(&m, &ev);
    map_start(&m, false);
    global(&m, &cfg->global);
    if (cfg->runtime_gogc != 0) {
        key(&m, "runtime");
        map_start(&m, false);
        kv_int(&m, "gogc", cfg->runtime_gogc);
        map_end(&m);
    }
    alerting(&m, &cfg->alerting);
    kv_opt_strs(&m, "rule_files", &cfg->rule_files);
    kv_opt_strs(&m, "scrape_config_files", &cfg->scrape_config_files);
    if (cfg->n_main_scrape_configs > 0) {
        key(&m, "scrape_configs");
        seq_start(&m, false);
        for (size_t i = 0; i < cfg->n_main_scrape_configs; i++)
            scrape(&m, &cfg->scrape_configs[i]);
        seq_end(&m);
    }
    storage(&m, &cfg->storage);
    tracing(&m, &cfg->tracing);
    remote_write(&m, cfg);
    remote_read(&m, cfg);
    otlp(&m, &cfg->otlp);
    query(&m, &cfg->query);
    map_end(&m);
    yaml_document_end_event_initialize(&ev, 1);
    emit(&m, &ev);
    yaml_stream_end_event_initialize(&ev);
    emit(&m, &ev);
    yaml_emitter_delete(&m.e);
}
