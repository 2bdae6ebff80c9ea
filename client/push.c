/*
 * push.c - pushing a registry to a Pushgateway, on libcurl.
 *
 * One request per call, on a curl easy handle of its own, so pushes from
 * several threads never share state; curl_global_init runs once (pthread_once).
 *
 * The group's URL is built as client_golang's Pusher builds it:
 * <url>/metrics/job/<job>/<name>/<value>..., where the job or a value that is
 * empty or holds a '/' goes as <name>@base64/<base64url> (no padding, as Go's
 * base64.RawURLEncoding; an empty value is "=") and any other value is
 * percent-escaped.  Grouping labels keep the caller's order.
 *
 * Before pushing, as client_golang does, the registry is checked for metrics
 * that already carry the label "job" or one of the grouping labels: the
 * Pushgateway would otherwise overwrite them with the grouping key's values.
 * The check decodes the registry rendered in the protobuf format (the pushed
 * body itself when pushing protobuf, a second render when pushing text), which
 * is exact where scanning the text format for `job="` would not be.
 *
 * The answer's status line gives the reason phrase and the first bytes of its
 * body are kept (result->body), so a refused push reports what the gateway
 * said: `push to http://gw:9091/metrics/job/x: 400 Bad Request: <message>`.
 */
#include "metric.h"

#include "proto/metrics.pb-c.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 10000L

/* ---- curl, once per process */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- arguments */

static int check_grouping(const prom_push_opts *o)
{
    for (size_t i = 0; i < o->n_grouping; i++) {
        const prom_label *l = &o->grouping[i];
        if (l->name != NULL && strcmp(l->name, "job") == 0)
            return pm_error(PROM_EINVAL,
                            "push: no grouping label may be \"job\": the job is opts.job");
        int rc = pm_check_label_name(l->name, NULL);
        if (rc < 0) return rc;
        if (l->value == NULL)
            return pm_error(PROM_EINVAL, "grouping label \"%s\" has no value", l->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->grouping[j].name, l->name) == 0)
                return pm_error(PROM_EINVAL, "duplicate grouping label \"%s\"", l->name);
    }
    return 0;
}

static int check_opts(const prom_push_opts *o)
{
    if (o == NULL) return pm_error(PROM_EINVAL, "push: no options");
    if (o->url == NULL || o->url[0] == '\0')
        return pm_error(PROM_EINVAL, "push: the Pushgateway URL is empty");
    if (o->job == NULL || o->job[0] == '\0')
        return pm_error(PROM_EINVAL, "push: the job name is empty");
    if (o->n_grouping > 0 && o->grouping == NULL)
        return pm_error(PROM_EINVAL, "push: %zu grouping labels but no array", o->n_grouping);
    if ((o->username == NULL) != (o->password == NULL))
        return pm_error(PROM_EINVAL, "push: basic auth needs both a username and a password");
    if (o->format != PROM_FORMAT_TEXT && o->format != PROM_FORMAT_PROTOBUF)
        return pm_error(PROM_EINVAL, "push: the format must be text or protobuf");
    return check_grouping(o);
}

/* ---- the group's URL */

/* s in base64url without padding ("=" for the empty string, as the
 * Pushgateway wants it). */
static void add_base64url(pm_buf *w, const char *s)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s);
    if (n == 0) pm_buf_addc(w, '=');
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++)
            pm_buf_addc(w, alphabet[(v >> (18 - 6 * k)) & 63]);
    }
}

/* "/<name>/<value>" or "/<name>@base64/<encoded>". */
static void add_component(CURL *curl, pm_buf *w, const char *name, const char *value)
{
    pm_buf_addc(w, '/');
    pm_buf_adds(w, name);
    if (value[0] == '\0' || strchr(value, '/') != NULL) {
        pm_buf_adds(w, "@base64/");
        add_base64url(w, value);
        return;
    }
    char *escaped = curl_easy_escape(curl, value, 0);
    if (escaped == NULL) {
        w->failed = true;
        return;
    }
    pm_buf_addc(w, '/');
    pm_buf_adds(w, escaped);
    curl_free(escaped);
}

/* The URL into url (a NUL-terminated string); PROM_ENOMEM on failure. */
static int group_url(CURL *curl, const prom_push_opts *o, prom_buffer *url)
{
    pm_buf w = {.b = url};
    size_t base = strlen(o->url);
    while (base > 0 && o->url[base - 1] == '/')
        base--;
    if (strstr(o->url, "://") == NULL) pm_buf_adds(&w, "http://");
    pm_buf_add(&w, o->url, base);
    pm_buf_adds(&w, "/metrics");
    add_component(curl, &w, "job", o->job);
    for (size_t i = 0; i < o->n_grouping; i++)
        add_component(curl, &w, o->grouping[i].name, o->grouping[i].value);
    return w.failed ? pm_error(PROM_ENOMEM, "push: out of memory building the URL") : 0;
}

/* ---- the body, and client_golang's check of its labels */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t byte = *(*p)++;
        *v |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) return true;
    }
    return false;
}

/* The label of one metric that the push forbids, or NULL. */
static const char *clashing_label(const prom_push_opts *o, const Io__Prometheus__Client__Metric *m)
{
    for (size_t i = 0; i < m->n_label; i++) {
        const char *name = m->label[i]->name;
        if (strcmp(name, "job") == 0) return name;
        for (size_t j = 0; j < o->n_grouping; j++)
            if (strcmp(name, o->grouping[j].name) == 0) return name;
    }
    return NULL;
}

static int check_family(const prom_push_opts *o, const Io__Prometheus__Client__MetricFamily *mf)
{
    for (size_t i = 0; i < mf->n_metric; i++) {
        const char *label = clashing_label(o, mf->metric[i]);
        if (label == NULL) continue;
        if (strcmp(label, "job") == 0)
            return pm_error(PROM_EINVAL, "pushed metric %s already contains a job label", mf->name);
        return pm_error(PROM_EINVAL, "pushed metric %s already contains grouping label %s",
                        mf->name, label);
    }
    return 0;
}

/* Checks every family of a delimited protobuf exposition. */
static int check_labels(const prom_push_opts *o, const prom_buffer *proto)
{
    const uint8_t *p = (const uint8_t *)proto->data, *end = p + proto->len;
    while (p < end) {
        uint64_t len;
        if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p))
            return pm_error(PROM_EINVAL, "push: cannot read back the rendered metrics");
        Io__Prometheus__Client__MetricFamily *mf =
            io__prometheus__client__metric_family__unpack(NULL, (size_t)len, p);
        if (mf == NULL) return pm_error(PROM_ENOMEM, "push: cannot read back the rendered metrics");
        int rc = check_family(o, mf);
        io__prometheus__client__metric_family__free_unpacked(mf, NULL);
        if (rc < 0) return rc;
        p += len;
    }
    return 0;
}

/* Renders what to push into body and checks its labels. */
static int render_body(const prom_push_opts *o, prom_buffer *body)
{
    prom_registry *r = o->registry != NULL ? o->registry : prom_registry_default();
    if (r == NULL) return pm_error(PROM_ENOMEM, "push: out of memory");
    int rc = prom_render(r, o->format, NULL, 0, body);
    if (rc < 0 || o->format == PROM_FORMAT_PROTOBUF) return rc < 0 ? rc : check_labels(o, body);
    prom_buffer proto = {0};
    rc = prom_render(r, PROM_FORMAT_PROTOBUF, NULL, 0, &proto);
    if (rc == 0) rc = check_labels(o, &proto);
    prom_buffer_free(&proto);
    return rc;
}

/* ---- the request */

typedef struct reply {
    prom_push_result *result;
    size_t body_len;
    char reason[64]; /* of the last status line */
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    reply *r = userdata;
    size_t room = sizeof r->result->body - 1 - r->body_len, len = size * n;
    size_t take = len < room ? len : room;
    memcpy(r->result->body + r->body_len, data, take);
    r->body_len += take;
    r->result->body[r->body_len] = '\0';
    return len;
}

/* Keeps the reason phrase of a status line ("HTTP/1.1 400 Bad Request"). */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    reply *r = userdata;
    size_t len = size * n;
    if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
        const char *end = data + len, *p = memchr(data, ' ', len);
        p = p != NULL ? memchr(p + 1, ' ', (size_t)(end - p - 1)) : NULL;
        size_t k = 0;
        for (p = p != NULL ? p + 1 : end; p < end && *p != '\r' && *p != '\n'; p++)
            if (k < sizeof r->reason - 1) r->reason[k++] = *p;
        r->reason[k] = '\0';
    }
    return len;
}

/* The error of a push the gateway answered with a non-2xx status. */
static int refused(const char *url, const reply *r)
{
    const prom_push_result *res = r->result;
    size_t n = strlen(res->body);
    while (n > 0 &&
           (res->body[n - 1] == '\n' || res->body[n - 1] == '\r' || res->body[n - 1] == ' '))
        n--;
    return pm_error(PROM_EHTTP, "push to %s: %ld%s%s%s%.*s", url, res->http_status,
                    r->reason[0] ? " " : "", r->reason, n > 0 ? ": " : "", (int)n, res->body);
}

static void set_options(CURL *curl, const prom_push_opts *o, const char *method,
                        const prom_buffer *body, struct curl_slist *headers, reply *r, char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data != NULL ? body->data : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    if (o->username != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, o->password);
    }
}

/* Sends the request on a ready handle and reads the outcome. */
static int perform(CURL *curl, const char *url, reply *r, const char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        int status =
            cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? PROM_EINVAL : PROM_EIO;
        return pm_error(status, "push to %s: %s", url,
                        errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->result->http_status);
    long status = r->result->http_status;
    return status >= 200 && status < 300 ? 0 : refused(url, r);
}

/* The body's Content-Type, and an empty Expect so that curl sends a large body
 * without waiting for "100 Continue".  NULL when out of memory. */
static struct curl_slist *body_headers(prom_format f)
{
    char content_type[256];
    snprintf(content_type, sizeof content_type, "Content-Type: %s", prom_content_type(f));
    struct curl_slist *first = curl_slist_append(NULL, content_type);
    struct curl_slist *all = first != NULL ? curl_slist_append(first, "Expect:") : NULL;
    if (all == NULL) curl_slist_free_all(first);
    return all;
}

static int request(const prom_push_opts *o, const char *method, const prom_buffer *body,
                   prom_push_result *result)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) return pm_error(PROM_ENOMEM, "push: cannot make a curl handle");
    prom_buffer url = {0};
    struct curl_slist *headers = NULL;
    int rc = group_url(curl, o, &url);
    if (rc == 0 && body != NULL && (headers = body_headers(o->format)) == NULL)
        rc = pm_error(PROM_ENOMEM, "push: out of memory");
    if (rc == 0) {
        reply r = {.result = result};
        char errbuf[CURL_ERROR_SIZE] = "";
        set_options(curl, o, method, body, headers, &r, errbuf);
        rc = perform(curl, url.data, &r, errbuf);
    }
    curl_slist_free_all(headers);
    prom_buffer_free(&url);
    curl_easy_cleanup(curl);
    return rc;
}

static int push(const prom_push_opts *o, const char *method, bool with_body,
                prom_push_result *result)
{
    prom_push_result scratch;
    if (result == NULL) result = &scratch;
    memset(result, 0, sizeof *result);
    int rc = check_opts(o);
    if (rc < 0) return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return pm_error(PROM_EIO, "push: curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    prom_buffer body = {0};
    if (with_body) rc = render_body(o, &body);
    if (rc == 0) rc = request(o, method, with_body ? &body : NULL, result);
    prom_buffer_free(&body);
    return rc;
}

int prom_push(const prom_push_opts *opts, prom_push_result *result)
{
    return push(opts, "PUT", true, result);
}

int prom_push_add(const prom_push_opts *opts, prom_push_result *result)
{
    return push(opts, "POST", true, result);
}

int prom_push_delete(const prom_push_opts *opts, prom_push_result *result)
{
    return push(opts, "DELETE", false, result);
}
