/*
 * http.c - HTTP client settings: prometheus/common's HTTPClientConfig, its TLS,
 * proxy, OAuth2 and header blocks, and prometheus/sigv4's SigV4Config.
 *
 * Upstream inlines HTTPClientConfig into scrape, alertmanager, remote and SD
 * configs, so its keys sit among the owner's keys: the owner's decoder offers
 * every key to cfg_http_field first, then handles its own.  Validation is
 * upstream's Validate, message for message, including its rewrite of the old
 * bearer_token / bearer_token_file into an authorization block of type Bearer.
 */
#include "config/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

const char *const cfg_http_keys[] = {
    "basic_auth",
    "authorization",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "follow_redirects",
    "enable_http2",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "http_headers",
    NULL,
};

void cfg_http_defaults(cfg_http *h)
{
    memset(h, 0, sizeof *h);
    h->follow_redirects = true;
    h->enable_http2 = true;
}

static int tls_versions(dec *d, const ynode *n, const char **out)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    if (core_yaml_is_null(n)) {
        *out = NULL;
        return 0;
    }
    const char *s;
    if (dec_str(d, n, "min_version", &s) < 0) return -1;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = names[i];
            return 0;
        }
    }
    return dec_fail(d, n, "unknown TLS version: %s", s);
}

static int count3(const char *a, const char *b, const char *c)
{
    return (a != NULL && *a) + (b != NULL && *b) + (c != NULL && *c);
}

int cfg_tls_decode(dec *d, const ynode *n, cfg_tls *t)
{
    static const char *const keys[] = {
        "ca",
        "cert",
        "key",
        "ca_file",
        "cert_file",
        "key_file",
        "ca_ref",
        "cert_ref",
        "key_ref",
        "server_name",
        "insecure_skip_verify",
        "min_version",
        "max_version",
        NULL,
    };
    memset(t, 0, sizeof *t);
    if (dec_check(d, n, keys, "tls_config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = 0;
        if (strcmp(k, "ca") == 0)
            rc = dec_opt_str(d, v, k, &t->ca);
        else if (strcmp(k, "cert") == 0)
            rc = dec_opt_str(d, v, k, &t->cert);
        else if (strcmp(k, "key") == 0)
            rc = dec_opt_str(d, v, k, &t->key);
        else if (strcmp(k, "ca_file") == 0)
            rc = dec_opt_str(d, v, k, &t->ca_file);
        else if (strcmp(k, "cert_file") == 0)
            rc = dec_opt_str(d, v, k, &t->cert_file);
        else if (strcmp(k, "key_file") == 0)
            rc = dec_opt_str(d, v, k, &t->key_file);
        else if (strcmp(k, "ca_ref") == 0)
            rc = dec_opt_str(d, v, k, &t->ca_ref);
        else if (strcmp(k, "cert_ref") == 0)
            rc = dec_opt_str(d, v, k, &t->cert_ref);
        else if (strcmp(k, "key_ref") == 0)
            rc = dec_opt_str(d, v, k, &t->key_ref);
        else if (strcmp(k, "server_name") == 0)
            rc = dec_opt_str(d, v, k, &t->server_name);
        else if (strcmp(k, "insecure_skip_verify") == 0)
            rc = dec_bool(d, v, k, &t->insecure_skip_verify);
        else if (strcmp(k, "min_version") == 0)
            rc = tls_versions(d, v, &t->min_version);
        else if (strcmp(k, "max_version") == 0)
            rc = tls_versions(d, v, &t->max_version);
        if (rc < 0) return -1;
    }
    if (count3(t->ca, t->ca_file, t->ca_ref) > 1)
        return dec_fail(d, n, "at most one of ca, ca_file & ca_ref must be configured");
    if (count3(t->cert, t->cert_file, t->cert_ref) > 1)
        return dec_fail(d, n, "at most one of cert, cert_file & cert_ref must be configured");
    if (count3(t->key, t->key_file, t->key_ref) > 1)
        return dec_fail(d, n, "at most one of key and key_file must be configured");
    bool cert = count3(t->cert, t->cert_file, t->cert_ref) > 0;
    bool key = count3(t->key, t->key_file, t->key_ref) > 0;
    if (cert && !key)
        return dec_fail(d, n,
                        "exactly one of key or key_file must be configured when a client "
                        "certificate is configured");
    if (key && !cert)
        return dec_fail(d, n,
                        "exactly one of cert or cert_file must be configured when a client key "
                        "is configured");
    return 0;
}

static int basic_auth(dec *d, const ynode *n, cfg_basic_auth **out)
{
    static const char *const keys[] = {"username", "username_file", "username_ref",
                                       "password", "password_file", "password_ref",
                                       NULL};
    if (core_yaml_is_null(n)) {
        *out = NULL;
        return 0;
    }
    if (dec_check(d, n, keys, "basic_auth") < 0) return -1;
    cfg_basic_auth *b = core_arena_calloc(d->a, 1, sizeof *b);
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        const char **f = strcmp(k, "username") == 0        ? &b->username
                         : strcmp(k, "username_file") == 0 ? &b->username_file
                         : strcmp(k, "username_ref") == 0  ? &b->username_ref
                         : strcmp(k, "password") == 0      ? &b->password
                         : strcmp(k, "password_file") == 0 ? &b->password_file
                                                           : &b->password_ref;
        if (dec_opt_str(d, v, k, f) < 0) return -1;
    }
    *out = b;
    return 0;
}

static int authorization(dec *d, const ynode *n, cfg_authorization **out)
{
    static const char *const keys[] = {"type", "credentials", "credentials_file", "credentials_ref",
                                       NULL};
    if (core_yaml_is_null(n)) {
        *out = NULL;
        return 0;
    }
    if (dec_check(d, n, keys, "authorization") < 0) return -1;
    cfg_authorization *a = core_arena_calloc(d->a, 1, sizeof *a);
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        const char **f = strcmp(k, "type") == 0               ? &a->type
                         : strcmp(k, "credentials") == 0      ? &a->credentials
                         : strcmp(k, "credentials_file") == 0 ? &a->credentials_file
                                                              : &a->credentials_ref;
        if (dec_opt_str(d, v, k, f) < 0) return -1;
    }
    *out = a;
    return 0;
}

/* Header names as Go's http.CanonicalHeaderKey writes them. */
static const char *canonical_header(dec *d, const char *name)
{
    char *c = core_arena_strdup(d->a, name);
    bool upper = true;
    for (char *p = c; *p; p++) {
        if (*p == ' ' || (unsigned char)*p >= 0x80) return name; /* left as is */
        *p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
        upper = *p == '-';
    }
    return c;
}

static const char *const reserved_headers[] = {
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
    NULL,
};

static int http_headers(dec *d, const ynode *n, cfg_http *h)
{
    static const char *const keys[] = {"values", "secrets", "files", NULL};
    h->headers = NULL;
    h->n_headers = 0;
    if (core_yaml_is_null(n)) return 0;
    if (n->kind != CORE_YAML_MAP) return dec_fail(d, n, "expected a mapping for http_headers");
    h->headers = core_arena_calloc(d->a, n->n + 1, sizeof *h->headers);
    for (size_t i = 0; i < n->n; i++) {
        cfg_header *hd = &h->headers[h->n_headers++];
        const ynode *v = dec_val(n, i);
        if (dec_str(d, dec_keynode(n, i), "http_headers", &hd->name) < 0) return -1;
        if (dec_check(d, v, keys, "http header") < 0) return -1;
        for (size_t j = 0; j < dec_pairs(v); j++) {
            const char *k = dec_key(v, j);
            cfg_strs *f = strcmp(k, "values") == 0    ? &hd->values
                          : strcmp(k, "secrets") == 0 ? &hd->secrets
                                                      : &hd->files;
            if (dec_strs(d, dec_val(v, j), k, f) < 0) return -1;
        }
    }
    for (size_t i = 0; i < h->n_headers; i++) {
        const char *c = canonical_header(d, h->headers[i].name);
        for (size_t r = 0; reserved_headers[r] != NULL; r++)
            if (strcmp(c, reserved_headers[r]) == 0)
                return dec_fail(d, dec_keynode(n, i), "setting header %s is not allowed",
                                dec_quote(d, c));
    }
    return 0;
}

static int proxy_connect_header(dec *d, const ynode *n, cfg_proxy *p)
{
    p->connect_headers = NULL;
    p->n_connect_headers = 0;
    if (core_yaml_is_null(n)) return 0;
    if (n->kind != CORE_YAML_MAP)
        return dec_fail(d, n, "expected a mapping for proxy_connect_header");
    p->connect_headers = core_arena_calloc(d->a, n->n + 1, sizeof *p->connect_headers);
    for (size_t i = 0; i < n->n; i++) {
        cfg_header *hd = &p->connect_headers[p->n_connect_headers++];
        if (dec_str(d, dec_keynode(n, i), "proxy_connect_header", &hd->name) < 0) return -1;
        if (dec_strs(d, dec_val(n, i), "proxy_connect_header", &hd->secrets) < 0) return -1;
    }
    return 0;
}

/* A URL as Go's url.Parse sees it, roughly: refused only for characters Go
 * refuses (controls, spaces in the host). */
static int check_url(dec *d, const ynode *at, const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return dec_fail(d, at, "parse %s: net/url: invalid control character in URL",
                            dec_quote(d, s));
    const char *sep = strstr(s, "://");
    if (sep != NULL) {
        const char *host = sep + 3, *end = host + strcspn(host, "/?#");
        for (const char *p = host; p < end; p++)
            if (*p == ' ')
                return dec_fail(d, at, "parse %s: invalid character \" \" in host name",
                                dec_quote(d, s));
    }
    return 0;
}

/* Proxy keys; shared by the HTTP client and OAuth2 blocks. */
static int proxy_field(dec *d, const char *k, const ynode *v, cfg_proxy *p)
{
    if (strcmp(k, "proxy_url") == 0) {
        if (dec_opt_str(d, v, k, &p->proxy_url) < 0) return -1;
        if (p->proxy_url != NULL && check_url(d, v, p->proxy_url) < 0) return -1;
        return 1;
    }
    if (strcmp(k, "no_proxy") == 0) return dec_opt_str(d, v, k, &p->no_proxy) < 0 ? -1 : 1;
    if (strcmp(k, "proxy_from_environment") == 0)
        return dec_bool(d, v, k, &p->proxy_from_environment) < 0 ? -1 : 1;
    if (strcmp(k, "proxy_connect_header") == 0) return proxy_connect_header(d, v, p) < 0 ? -1 : 1;
    return 0;
}

static int proxy_validate(dec *d, const ynode *at, const cfg_proxy *p)
{
    bool url = p->proxy_url != NULL && p->proxy_url[0] != '\0';
    if (p->n_connect_headers > 0 && !p->proxy_from_environment && !url)
        return dec_fail(d, at,
                        "if proxy_connect_header is configured, proxy_url or "
                        "proxy_from_environment must also be configured");
    if (p->proxy_from_environment && url)
        return dec_fail(
            d, at, "if proxy_from_environment is configured, proxy_url must not be configured");
    if (p->proxy_from_environment && p->no_proxy != NULL)
        return dec_fail(d, at,
                        "if proxy_from_environment is configured, no_proxy must not be configured");
    if (!url && p->no_proxy != NULL)
        return dec_fail(d, at, "if no_proxy is configured, proxy_url must also be configured");
    return 0;
}

static int oauth2(dec *d, const ynode *n, cfg_oauth2 **out)
{
    static const char *const keys[] = {
        "client_id",
        "client_secret",
        "client_secret_file",
        "client_secret_ref",
        "client_certificate_key_id",
        "client_certificate_key",
        "client_certificate_key_file",
        "client_certificate_key_ref",
        "grant_type",
        "signature_algorithm",
        "iss",
        "audience",
        "claims",
        "scopes",
        "token_url",
        "endpoint_params",
        "tls_config",
        "proxy_url",
        "no_proxy",
        "proxy_from_environment",
        "proxy_connect_header",
        NULL,
    };
    if (core_yaml_is_null(n)) {
        *out = NULL;
        return 0;
    }
    if (dec_check(d, n, keys, "oauth2") < 0) return -1;
    cfg_oauth2 *o = core_arena_calloc(d->a, 1, sizeof *o);
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = proxy_field(d, k, v, &o->proxy);
        if (rc != 0) {
            if (rc < 0) return -1;
            continue;
        }
        if (strcmp(k, "scopes") == 0)
            rc = dec_strs(d, v, k, &o->scopes);
        else if (strcmp(k, "endpoint_params") == 0)
            rc = dec_kvs(d, v, k, &o->endpoint_params);
        else if (strcmp(k, "claims") == 0)
            rc = dec_kvs(d, v, k, &o->claims);
        else if (strcmp(k, "tls_config") == 0)
            rc = cfg_tls_decode(d, v, &o->tls);
        else {
            const char **f =
                strcmp(k, "client_id") == 0                     ? &o->client_id
                : strcmp(k, "client_secret") == 0               ? &o->client_secret
                : strcmp(k, "client_secret_file") == 0          ? &o->client_secret_file
                : strcmp(k, "client_secret_ref") == 0           ? &o->client_secret_ref
                : strcmp(k, "client_certificate_key_id") == 0   ? &o->client_certificate_key_id
                : strcmp(k, "client_certificate_key") == 0      ? &o->client_certificate_key
                : strcmp(k, "client_certificate_key_file") == 0 ? &o->client_certificate_key_file
                : strcmp(k, "client_certificate_key_ref") == 0  ? &o->client_certificate_key_ref
                : strcmp(k, "grant_type") == 0                  ? &o->grant_type
                : strcmp(k, "signature_algorithm") == 0         ? &o->signature_algorithm
                : strcmp(k, "iss") == 0                         ? &o->iss
                : strcmp(k, "audience") == 0                    ? &o->audience
                                                                : &o->token_url;
            rc = dec_opt_str(d, v, k, f);
        }
        if (rc < 0) return -1;
    }
    *out = o;
    return 0;
}

int cfg_http_field(dec *d, const char *key, const ynode *val, cfg_http *h)
{
    /* bearer_token(_file) live in the auth fields until validation. */
    int rc = proxy_field(d, key, val, &h->proxy);
    if (rc != 0) return rc;
    if (strcmp(key, "basic_auth") == 0) return basic_auth(d, val, &h->basic_auth) < 0 ? -1 : 1;
    if (strcmp(key, "authorization") == 0)
        return authorization(d, val, &h->authorization) < 0 ? -1 : 1;
    if (strcmp(key, "oauth2") == 0) return oauth2(d, val, &h->oauth2) < 0 ? -1 : 1;
    if (strcmp(key, "tls_config") == 0) return cfg_tls_decode(d, val, &h->tls) < 0 ? -1 : 1;
    if (strcmp(key, "follow_redirects") == 0)
        return dec_bool(d, val, key, &h->follow_redirects) < 0 ? -1 : 1;
    if (strcmp(key, "enable_http2") == 0)
        return dec_bool(d, val, key, &h->enable_http2) < 0 ? -1 : 1;
    if (strcmp(key, "http_headers") == 0) return http_headers(d, val, h) < 0 ? -1 : 1;
    if (strcmp(key, "bearer_token") == 0)
        return dec_opt_str(d, val, key, &h->bearer_token) < 0 ? -1 : 1;
    if (strcmp(key, "bearer_token_file") == 0)
        return dec_opt_str(d, val, key, &h->bearer_token_file) < 0 ? -1 : 1;
    return 0;
}

int cfg_http_validate(dec *d, const ynode *at, cfg_http *h)
{
    bool token = h->bearer_token != NULL, token_file = h->bearer_token_file != NULL;
    if (token && token_file)
        return dec_fail(d, at,
                        "at most one of bearer_token & bearer_token_file must be configured");
    if ((h->basic_auth != NULL || h->oauth2 != NULL) && (token || token_file))
        return dec_fail(d, at,
                        "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must "
                        "be configured");
    cfg_basic_auth *b = h->basic_auth;
    if (b != NULL && count3(b->username, b->username_file, b->username_ref) > 1)
        return dec_fail(d, at,
                        "at most one of basic_auth username, username_file & username_ref must be "
                        "configured");
    if (b != NULL && count3(b->password, b->password_file, b->password_ref) > 1)
        return dec_fail(d, at,
                        "at most one of basic_auth password, password_file & password_ref must be "
                        "configured");
    cfg_authorization *a = h->authorization;
    if (a != NULL) {
        if (token || token_file)
            return dec_fail(
                d, at, "authorization is not compatible with bearer_token & bearer_token_file");
        if (count3(a->credentials, a->credentials_file, a->credentials_ref) > 1)
            return dec_fail(d, at,
                            "at most one of authorization credentials & credentials_file must be "
                            "configured");
        const char *t = a->type != NULL ? a->type : "";
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r' || *t == '\v' || *t == '\f')
            t++;
        size_t tl = strlen(t);
        while (tl > 0 && strchr(" \t\n\r\v\f", t[tl - 1]) != NULL)
            tl--;
        a->type = tl == 0 ? "Bearer" : core_arena_strndup(d->a, t, tl);
        if (strcasecmp(a->type, "basic") == 0)
            return dec_fail(d, at,
                            "authorization type cannot be set to \"basic\", use \"basic_auth\" "
                            "instead");
        if (h->basic_auth != NULL || h->oauth2 != NULL)
            return dec_fail(d, at,
                            "at most one of basic_auth, oauth2 & authorization must be configured");
    } else if (token || token_file) {
        a = core_arena_calloc(d->a, 1, sizeof *a);
        a->type = "Bearer";
        a->credentials = h->bearer_token;
        a->credentials_file = h->bearer_token_file;
        h->authorization = a;
        h->bearer_token = h->bearer_token_file = NULL;
    }
    cfg_oauth2 *o = h->oauth2;
    if (o != NULL) {
        if (h->basic_auth != NULL)
            return dec_fail(d, at,
                            "at most one of basic_auth, oauth2 & authorization must be configured");
        if (o->client_id == NULL) return dec_fail(d, at, "oauth2 client_id must be configured");
        if (o->token_url == NULL) return dec_fail(d, at, "oauth2 token_url must be configured");
        if (o->grant_type != NULL &&
            strcmp(o->grant_type, "urn:ietf:params:oauth:grant-type:jwt-bearer") == 0) {
            if (count3(o->client_certificate_key, o->client_certificate_key_file,
                       o->client_certificate_key_ref) > 1)
                return dec_fail(d, at,
                                "at most one of oauth2 client_certificate_key, "
                                "client_certificate_key_file & client_certificate_key_ref must be "
                                "configured using "
                                "grant-type=urn:ietf:params:oauth:grant-type:jwt-bearer");
            const char *alg = o->signature_algorithm;
            if (alg != NULL && strcmp(alg, "RS256") != 0 && strcmp(alg, "RS384") != 0 &&
                strcmp(alg, "RS512") != 0)
                return dec_fail(d, at, "valid signature algorithms are RS256, RS384 and RS512");
        } else if (count3(o->client_secret, o->client_secret_file, o->client_secret_ref) > 1) {
            return dec_fail(d, at,
                            "at most one of oauth2 client_secret, client_secret_file & "
                            "client_secret_ref must be configured using "
                            "grant-type=client_credentials");
        }
    }
    return proxy_validate(d, at, &h->proxy);
}

int cfg_sigv4_decode(dec *d, const ynode *n, cfg_sigv4 **out)
{
    static const char *const keys[] = {
        "region",   "access_key",  "secret_key", "profile",
        "role_arn", "external_id", "service",    "use_fips_sts_endpoint",
        NULL};
    *out = NULL;
    if (core_yaml_is_null(n)) return 0; /* `sigv4:` is none; `sigv4: {}` is one */
    if (dec_check(d, n, keys, "sigv4") < 0) return -1;
    cfg_sigv4 *s = core_arena_calloc(d->a, 1, sizeof *s);
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc;
        if (strcmp(k, "use_fips_sts_endpoint") == 0) {
            rc = dec_bool(d, v, k, &s->use_fips_sts_endpoint);
        } else {
            const char **f = strcmp(k, "region") == 0        ? &s->region
                             : strcmp(k, "access_key") == 0  ? &s->access_key
                             : strcmp(k, "secret_key") == 0  ? &s->secret_key
                             : strcmp(k, "profile") == 0     ? &s->profile
                             : strcmp(k, "role_arn") == 0    ? &s->role_arn
                             : strcmp(k, "external_id") == 0 ? &s->external_id
                                                             : &s->service;
            rc = dec_opt_str(d, v, k, f);
        }
        if (rc < 0) return -1;
    }
    if ((s->access_key == NULL) != (s->secret_key == NULL))
        return dec_fail(d, n,
                        "must provide a AWS SigV4 Access key and Secret Key if credentials are "
                        "specified in the SigV4 config");
    if (s->external_id != NULL && s->role_arn == NULL)
        return dec_fail(d, n, "external_id can only be used with role_arn");
    *out = s;
    return 0;
}

static void tls_join(dec *d, cfg_tls *t)
{
    t->ca_file = dec_path(d, t->ca_file);
    t->cert_file = dec_path(d, t->cert_file);
    t->key_file = dec_path(d, t->key_file);
}

void cfg_http_join_paths(dec *d, cfg_http *h)
{
    tls_join(d, &h->tls);
    if (h->basic_auth != NULL) {
        h->basic_auth->password_file = dec_path(d, h->basic_auth->password_file);
        h->basic_auth->username_file = dec_path(d, h->basic_auth->username_file);
    }
    if (h->authorization != NULL)
        h->authorization->credentials_file = dec_path(d, h->authorization->credentials_file);
    if (h->oauth2 != NULL) {
        h->oauth2->client_secret_file = dec_path(d, h->oauth2->client_secret_file);
        tls_join(d, &h->oauth2->tls);
    }
    for (size_t i = 0; i < h->n_headers; i++)
        dec_join_paths(d, &h->headers[i].files);
}
