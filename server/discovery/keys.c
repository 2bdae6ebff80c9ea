/*
 * keys.c - deep copies of mechanism configs, and the keys that say whether two
 * of them are the same provider.
 *
 * Upstream compares a new config with the running providers' configs by
 * reflect.DeepEqual; here each config is flattened into a key string (every
 * field, strings length-prefixed so that no two configs share a key) and keys
 * are compared.  One walker per config type serves both purposes: with an
 * arena it replaces every pointer in a struct copy by a copy of its own; with
 * a string builder it appends every field.  A provider keeps its copy, since
 * the cfg_config it came from is freed at the next reload.
 */
#include "discovery/internal.h"

#include <string.h>

typedef struct walk {
    core_arena *a; /* copy into this arena */
    core_sb *key;  /* or append the key here */
} walk;

static void w_str(walk *w, const char **s)
{
    if (w->key) {
        if (*s) {
            core_sb_addf(w->key, "%zu:", strlen(*s));
            core_sb_adds(w->key, *s);
        } else {
            core_sb_addc(w->key, '-');
        }
    }
    if (w->a && *s) *s = core_arena_strdup(w->a, *s);
}

static void w_int(walk *w, int64_t v)
{
    if (w->key) core_sb_addf(w->key, "i%lld;", (long long)v);
}

static void w_strs(walk *w, cfg_strs *v)
{
    w_int(w, (int64_t)v->n);
    if (w->a && v->n) {
        const char **c = core_arena_calloc(w->a, v->n, sizeof *c);
        memcpy(c, v->v, v->n * sizeof *c);
        v->v = c;
    }
    for (size_t i = 0; i < v->n; i++)
        w_str(w, &v->v[i]);
}

static void w_kvs(walk *w, cfg_kvs *v)
{
    w_int(w, (int64_t)v->n);
    if (w->a && v->n) {
        cfg_kv *c = core_arena_calloc(w->a, v->n, sizeof *c);
        memcpy(c, v->v, v->n * sizeof *c);
        v->v = c;
    }
    for (size_t i = 0; i < v->n; i++) {
        w_str(w, &v->v[i].key);
        w_str(w, &v->v[i].value);
    }
}

/* A pointer to one struct: copied when copying; "-" or "+" in the key. */
static void *w_ptr(walk *w, void *p, size_t size)
{
    if (w->key) core_sb_addc(w->key, p ? '+' : '-');
    if (w->a && p) {
        void *c = core_arena_alloc(w->a, size);
        memcpy(c, p, size);
        return c;
    }
    return p;
}

static void w_tls(walk *w, cfg_tls *t)
{
    w_str(w, &t->ca);
    w_str(w, &t->cert);
    w_str(w, &t->key);
    w_str(w, &t->ca_file);
    w_str(w, &t->cert_file);
    w_str(w, &t->key_file);
    w_str(w, &t->ca_ref);
    w_str(w, &t->cert_ref);
    w_str(w, &t->key_ref);
    w_str(w, &t->server_name);
    w_int(w, t->insecure_skip_verify);
    w_str(w, &t->min_version);
    w_str(w, &t->max_version);
}

static void w_headers(walk *w, cfg_header **v, size_t n)
{
    w_int(w, (int64_t)n);
    if (w->a && n) {
        cfg_header *c = core_arena_calloc(w->a, n, sizeof *c);
        memcpy(c, *v, n * sizeof *c);
        *v = c;
    }
    for (size_t i = 0; i < n; i++) {
        w_str(w, &(*v)[i].name);
        w_strs(w, &(*v)[i].values);
        w_strs(w, &(*v)[i].secrets);
        w_strs(w, &(*v)[i].files);
    }
}

static void w_proxy(walk *w, cfg_proxy *p)
{
    w_str(w, &p->proxy_url);
    w_str(w, &p->no_proxy);
    w_int(w, p->proxy_from_environment);
    w_headers(w, &p->connect_headers, p->n_connect_headers);
}

static void w_http(walk *w, cfg_http *h)
{
    h->basic_auth = w_ptr(w, h->basic_auth, sizeof *h->basic_auth);
    if (h->basic_auth) {
        cfg_basic_auth *b = h->basic_auth;
        w_str(w, &b->username);
        w_str(w, &b->username_file);
        w_str(w, &b->username_ref);
        w_str(w, &b->password);
        w_str(w, &b->password_file);
        w_str(w, &b->password_ref);
    }
    h->authorization = w_ptr(w, h->authorization, sizeof *h->authorization);
    if (h->authorization) {
        cfg_authorization *a = h->authorization;
        w_str(w, &a->type);
        w_str(w, &a->credentials);
        w_str(w, &a->credentials_file);
        w_str(w, &a->credentials_ref);
    }
    h->oauth2 = w_ptr(w, h->oauth2, sizeof *h->oauth2);
    if (h->oauth2) {
        cfg_oauth2 *o = h->oauth2;
        w_str(w, &o->client_id);
        w_str(w, &o->client_secret);
        w_str(w, &o->client_secret_file);
        w_str(w, &o->client_secret_ref);
        w_str(w, &o->client_certificate_key_id);
        w_str(w, &o->client_certificate_key);
        w_str(w, &o->client_certificate_key_file);
        w_str(w, &o->client_certificate_key_ref);
        w_str(w, &o->grant_type);
        w_str(w, &o->signature_algorithm);
        w_str(w, &o->iss);
        w_str(w, &o->audience);
        w_kvs(w, &o->claims);
        w_strs(w, &o->scopes);
        w_str(w, &o->token_url);
        w_kvs(w, &o->endpoint_params);
        w_tls(w, &o->tls);
        w_proxy(w, &o->proxy);
    }
    w_tls(w, &h->tls);
    w_int(w, h->follow_redirects);
    w_int(w, h->enable_http2);
    w_proxy(w, &h->proxy);
    w_headers(w, &h->headers, h->n_headers);
    w_str(w, &h->bearer_token);
    w_str(w, &h->bearer_token_file);
}

static void w_file(walk *w, cfg_file_sd *c)
{
    w_strs(w, &c->files);
    w_int(w, c->refresh_interval_ms);
}

static void w_http_sd(walk *w, cfg_http_sd *c)
{
    w_str(w, &c->url);
    w_int(w, c->refresh_interval_ms);
    w_http(w, &c->http);
}

static void w_dns(walk *w, cfg_dns_sd *c)
{
    w_strs(w, &c->names);
    w_int(w, c->refresh_interval_ms);
    w_str(w, &c->type);
    w_int(w, c->port);
}

static void w_ec2(walk *w, cfg_ec2_sd *c)
{
    w_str(w, &c->endpoint);
    w_str(w, &c->region);
    w_str(w, &c->access_key);
    w_str(w, &c->secret_key);
    w_str(w, &c->profile);
    w_str(w, &c->role_arn);
    w_str(w, &c->external_id);
    w_int(w, c->refresh_interval_ms);
    w_int(w, c->port);
    w_int(w, (int64_t)c->n_filters);
    if (w->a && c->n_filters) {
        cfg_ec2_filter *f = core_arena_calloc(w->a, c->n_filters, sizeof *f);
        memcpy(f, c->filters, c->n_filters * sizeof *f);
        c->filters = f;
    }
    for (size_t i = 0; i < c->n_filters; i++) {
        w_str(w, &c->filters[i].name);
        w_strs(w, &c->filters[i].values);
    }
    w_http(w, &c->http);
}

void disc_copy_file_sd(core_arena *a, cfg_file_sd *dst, const cfg_file_sd *src)
{
    *dst = *src;
    w_file(&(walk){a, NULL}, dst);
}

void disc_copy_http_sd(core_arena *a, cfg_http_sd *dst, const cfg_http_sd *src)
{
    *dst = *src;
    w_http_sd(&(walk){a, NULL}, dst);
}

void disc_copy_dns_sd(core_arena *a, cfg_dns_sd *dst, const cfg_dns_sd *src)
{
    *dst = *src;
    w_dns(&(walk){a, NULL}, dst);
}

void disc_copy_ec2_sd(core_arena *a, cfg_ec2_sd *dst, const cfg_ec2_sd *src)
{
    *dst = *src;
    w_ec2(&(walk){a, NULL}, dst);
}

void disc_key_static(core_sb *out, const cfg_target_group *g, size_t n)
{
    walk w = {NULL, out};
    core_sb_adds(out, "static;");
    w_int(&w, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        cfg_strs t = g[i].targets;
        w_strs(&w, &t);
        size_t nl = g[i].labels ? g[i].labels->len : 0;
        w_int(&w, (int64_t)nl);
        for (size_t j = 0; j < nl; j++) {
            const char *k = g[i].labels->v[j].name, *v = g[i].labels->v[j].value;
            w_str(&w, &k);
            w_str(&w, &v);
        }
    }
}

void disc_key_file_sd(core_sb *out, const cfg_file_sd *c)
{
    cfg_file_sd t = *c;
    core_sb_adds(out, "file;");
    w_file(&(walk){NULL, out}, &t);
}

void disc_key_http_sd(core_sb *out, const cfg_http_sd *c)
{
    cfg_http_sd t = *c;
    core_sb_adds(out, "http;");
    w_http_sd(&(walk){NULL, out}, &t);
}

void disc_key_dns_sd(core_sb *out, const cfg_dns_sd *c)
{
    cfg_dns_sd t = *c;
    core_sb_adds(out, "dns;");
    w_dns(&(walk){NULL, out}, &t);
}

void disc_key_ec2_sd(core_sb *out, const cfg_ec2_sd *c)
{
    cfg_ec2_sd t = *c;
    core_sb_adds(out, "ec2;");
    w_ec2(&(walk){NULL, out}, &t);
}
