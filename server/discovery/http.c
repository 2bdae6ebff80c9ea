/*
 * http.c - one HTTP request through libcurl with the client settings of a
 * cfg_http, as prometheus/common's NewClientFromConfig builds its client.
 *
 * Discovery requests are rare (one per refresh interval per provider), so
 * each gets an easy handle of its own, run on the provider's thread; no
 * connection is kept between refreshes.  What a cfg_http says becomes:
 *
 *   basic_auth      username / password, or their files read per request and
 *                   trimmed (upstream's FileSecret)
 *   authorization   "Authorization: <type> <credentials>", credentials_file
 *                   read per request; the old bearer_token(_file) the same way
 *   http_headers    values, secrets and trimmed file contents, each added
 *   tls_config      ca / cert / key as files or inline PEM, insecure_skip_verify,
 *                   min_version (TLS 1.2 when not given, Go's client default)
 *                   and max_version
 *   follow_redirects  up to 10 redirects (Go's limit); credentials are not
 *                   sent to another host (curl's rule and upstream's)
 *   enable_http2    HTTP/2 over TLS when true (Go's behaviour), else 1.1
 *   proxy_url, no_proxy, proxy_from_environment, proxy_connect_header
 *
 * Not supported, each refused with a message naming it: oauth2, the *_ref
 * secret-manager references, and tls_config.server_name (libcurl has no way
 * to verify against a name other than the URL's host).
 *
 * The transfer checks the caller's cancel flag in its progress callback, so a
 * provider being stopped does not wait for a slow server.
 */
#include "discovery/internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_BODY ((size_t)256 << 20)

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *disc_read_secret_file(const char *path, core_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        core_err_set(err, "unable to read file %s: open %s: %s", path, path, strerror(errno));
        return NULL;
    }
    core_sb sb = CORE_SB_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        core_sb_add(&sb, buf, n);
    fclose(f);
    size_t len = 0;
    char *s = core_sb_detach(&sb, &len);
    size_t start = 0;
    while (start < len && isspace((unsigned char)s[start]))
        start++;
    while (len > start && isspace((unsigned char)s[len - 1]))
        len--;
    memmove(s, s + start, len - start);
    s[len - start] = '\0';
    return s;
}

/* A secret given inline or as a file; NULL (with err set) when the file
 * cannot be read, "" when neither is given. */
static char *secret(const char *inline_value, const char *file, const char *what, core_err *err)
{
    if (file != NULL && *file) {
        char *s = disc_read_secret_file(file, err);
        if (s == NULL) core_err_prefix(err, "unable to read %s", what);
        return s;
    }
    return core_strdup(inline_value ? inline_value : "");
}

typedef struct xfer {
    disc_http_resp *resp;
    size_t max_body;
    bool too_big;
    const atomic_bool *cancel;
} xfer;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (x->resp->body.len + n > x->max_body) {
        x->too_big = true;
        return 0;
    }
    core_sb_add(&x->resp->body, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    size_t len = n;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or a 100): start over. */
        x->resp->content_type[0] = '\0';
        x->resp->status_text[0] = '\0';
        const char *sp = memchr(data, ' ', len);
        if (sp != NULL) {
            size_t rest = len - (size_t)(sp + 1 - data);
            if (rest >= sizeof x->resp->status_text) rest = sizeof x->resp->status_text - 1;
            memcpy(x->resp->status_text, sp + 1, rest);
            x->resp->status_text[rest] = '\0';
        }
    } else if (len > 13 && strncasecmp(data, "content-type:", 13) == 0) {
        size_t i = 13;
        while (i < len && (data[i] == ' ' || data[i] == '\t'))
            i++;
        size_t vl = len - i;
        if (vl >= sizeof x->resp->content_type) vl = sizeof x->resp->content_type - 1;
        memcpy(x->resp->content_type, data + i, vl);
        x->resp->content_type[vl] = '\0';
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = ud;
    return x->cancel != NULL && atomic_load(x->cancel) ? 1 : 0;
}

static const char *reason(long code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

static long tls_version(const char *v, bool max)
{
    if (v == NULL) return max ? CURL_SSLVERSION_MAX_DEFAULT : CURL_SSLVERSION_TLSv1_2;
    if (strcmp(v, "TLS10") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_0 : CURL_SSLVERSION_TLSv1_0;
    if (strcmp(v, "TLS11") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_1 : CURL_SSLVERSION_TLSv1_1;
    if (strcmp(v, "TLS12") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_2 : CURL_SSLVERSION_TLSv1_2;
    return max ? CURL_SSLVERSION_MAX_TLSv1_3 : CURL_SSLVERSION_TLSv1_3;
}

static void blob(CURL *e, CURLoption opt, const char *pem)
{
    struct curl_blob b = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
    curl_easy_setopt(e, opt, &b);
}

int disc_http_check(const cfg_http *h, core_err *err)
{
    if (h->oauth2 != NULL)
        return core_err_set(err, "oauth2 is not supported by prom-server's service discovery");
    const char *refs[] = {
        h->basic_auth ? h->basic_auth->username_ref : NULL,
        h->basic_auth ? h->basic_auth->password_ref : NULL,
        h->authorization ? h->authorization->credentials_ref : NULL,
        h->tls.ca_ref,
        h->tls.cert_ref,
        h->tls.key_ref,
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        if (refs[i] != NULL && *refs[i])
            return core_err_set(err, "secret references (*_ref) are not supported");
    if (h->tls.server_name != NULL && *h->tls.server_name)
        return core_err_set(err, "tls_config.server_name is not supported");
    return 0;
}

/* Applies everything of h that is not a header; adds headers to *hdrs. */
static int apply(CURL *e, const cfg_http *h, struct curl_slist **hdrs, char **owned,
                 size_t *n_owned, core_err *err)
{
    if (disc_http_check(h, err) < 0) return -1;
    if (h->basic_auth != NULL) {
        char *user = secret(h->basic_auth->username, h->basic_auth->username_file,
                            "basic auth username", err);
        if (user == NULL) return -1;
        owned[(*n_owned)++] = user;
        char *pass = secret(h->basic_auth->password, h->basic_auth->password_file,
                            "basic auth password", err);
        if (pass == NULL) return -1;
        owned[(*n_owned)++] = pass;
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, pass);
    } else {
        const char *type = NULL, *cred = NULL, *file = NULL;
        if (h->authorization != NULL) {
            type = h->authorization->type && *h->authorization->type ? h->authorization->type
                                                                     : "Bearer";
            cred = h->authorization->credentials;
            file = h->authorization->credentials_file;
        } else if ((h->bearer_token && *h->bearer_token) ||
                   (h->bearer_token_file && *h->bearer_token_file)) {
            type = "Bearer";
            cred = h->bearer_token;
            file = h->bearer_token_file;
        }
        if (type != NULL) {
            char *c = secret(cred, file, "authorization credentials", err);
            if (c == NULL) return -1;
            core_sb line = CORE_SB_INIT;
            core_sb_addf(&line, "Authorization: %s %s", type, c);
            free(c);
            *hdrs = curl_slist_append(*hdrs, line.buf);
            core_sb_destroy(&line);
        }
    }
    core_sb line = CORE_SB_INIT;
    for (size_t i = 0; i < h->n_headers; i++) {
        const cfg_header *hd = &h->headers[i];
        for (size_t j = 0; j < hd->values.n + hd->secrets.n + hd->files.n; j++) {
            char *v;
            if (j < hd->values.n) {
                v = core_strdup(hd->values.v[j]);
            } else if (j < hd->values.n + hd->secrets.n) {
                v = core_strdup(hd->secrets.v[j - hd->values.n]);
            } else {
                const char *f = hd->files.v[j - hd->values.n - hd->secrets.n];
                v = disc_read_secret_file(f, err);
                if (v == NULL) {
                    core_sb_destroy(&line);
                    return core_err_prefix(err, "unable to read headers file %s", f);
                }
            }
            core_sb_reset(&line);
            /* "Name:" alone would make curl drop the header; "Name;" sends it empty. */
            if (*v)
                core_sb_addf(&line, "%s: %s", hd->name, v);
            else
                core_sb_addf(&line, "%s;", hd->name);
            free(v);
            *hdrs = curl_slist_append(*hdrs, line.buf);
        }
    }
    core_sb_destroy(&line);

    const cfg_tls *t = &h->tls;
    if (t->ca_file && *t->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    if (t->ca && *t->ca) blob(e, CURLOPT_CAINFO_BLOB, t->ca);
    if (t->cert_file && *t->cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
    if (t->cert && *t->cert) blob(e, CURLOPT_SSLCERT_BLOB, t->cert);
    if (t->key_file && *t->key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    if (t->key && *t->key) blob(e, CURLOPT_SSLKEY_BLOB, t->key);
    if (t->insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_SSLVERSION,
                     tls_version(t->min_version, false) | tls_version(t->max_version, true));

    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, h->follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     h->enable_http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);

    const cfg_proxy *p = &h->proxy;
    if (p->proxy_url && *p->proxy_url) {
        curl_easy_setopt(e, CURLOPT_PROXY, p->proxy_url);
        if (p->no_proxy && *p->no_proxy) curl_easy_setopt(e, CURLOPT_NOPROXY, p->no_proxy);
    } else if (!p->proxy_from_environment) {
        curl_easy_setopt(e, CURLOPT_PROXY, ""); /* Go's client uses no proxy unless told */
    }
    return 0;
}

static struct curl_slist *proxy_headers(const cfg_http *h)
{
    struct curl_slist *l = NULL;
    core_sb line = CORE_SB_INIT;
    for (size_t i = 0; i < h->proxy.n_connect_headers; i++) {
        const cfg_header *hd = &h->proxy.connect_headers[i];
        for (size_t j = 0; j < hd->secrets.n; j++) {
            core_sb_reset(&line);
            core_sb_addf(&line, "%s: %s", hd->name, hd->secrets.v[j]);
            l = curl_slist_append(l, line.buf);
        }
    }
    core_sb_destroy(&line);
    return l;
}

static void method_word(core_sb *out, const char *m)
{
    /* Go's errors name the method as "Get", "Post". */
    for (size_t i = 0; m[i]; i++)
        core_sb_addc(out, i == 0 ? m[i] : (char)tolower((unsigned char)m[i]));
}

int disc_http_do(const disc_http_req *req, disc_http_resp *resp, core_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    memset(resp, 0, sizeof *resp);

    CURL *e = curl_easy_init();
    if (e == NULL) return core_err_set(err, "cannot create an HTTP client");
    struct curl_slist *hdrs = NULL, *phdrs = NULL;
    char *owned[4];
    size_t n_owned = 0;
    int rc = 0;
    cfg_http defaults;
    const cfg_http *h = req->cfg;
    if (h == NULL) {
        memset(&defaults, 0, sizeof defaults);
        defaults.follow_redirects = true;
        defaults.enable_http2 = true;
        h = &defaults;
    }
    core_sb what = CORE_SB_INIT;
    method_word(&what, req->method);
    core_sb_adds(&what, " ");
    core_sb_add_quoted(&what, req->url, strlen(req->url));

    if (apply(e, h, &hdrs, owned, &n_owned, err) < 0) {
        core_err_prefix(err, "%s", what.buf);
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    phdrs = proxy_headers(h);

    xfer x = {resp, req->max_body ? req->max_body : DEFAULT_MAX_BODY, false, req->cancel};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (phdrs) curl_easy_setopt(e, CURLOPT_PROXYHEADER, phdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, req->user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (req->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(req->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }

    CURLcode cc = curl_easy_perform(e);
    if (cc != CURLE_OK) {
        if (x.too_big)
            core_err_set(err, "%s: response body larger than %zu bytes", what.buf, x.max_body);
        else if (cc == CURLE_ABORTED_BY_CALLBACK)
            core_err_set(err, "%s: context canceled", what.buf);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            core_err_set(err,
                         "%s: context deadline exceeded (Client.Timeout exceeded while awaiting "
                         "headers)",
                         what.buf);
        else
            core_err_set(err, "%s: %s", what.buf, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = -1;
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
    /* HTTP/2 has no reason phrase; Go fills in its own text. */
    if (resp->status_text[0] == '\0' || strlen(resp->status_text) <= 4) {
        const char *r = reason(resp->status);
        snprintf(resp->status_text, sizeof resp->status_text, "%ld%s%s", resp->status,
                 *r ? " " : "", r);
    }
out:
    core_sb_destroy(&what);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(phdrs);
    curl_easy_cleanup(e);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    if (rc < 0) disc_http_resp_destroy(resp);
    return rc;
}

void disc_http_resp_destroy(disc_http_resp *resp)
{
    core_sb_destroy(&resp->body);
}
