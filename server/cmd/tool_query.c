/*
 * tool_query.c - `prom-tool query instant|range|series|labels`, promtool's
 * queries against a server's HTTP API, and the Go formatting promtool's
 * output is made of (shared with tool_rules.c through tool.h).
 *
 *   query [-o promql|json] instant [--time] [--header k=v]... <server> <expr>
 *   query [-o ...] range [--start] [--end] [--step] [--header k=v]... <server> <expr>
 *   query [-o ...] series --match <selector>... [--start] [--end] <server>
 *   query [-o ...] labels [--match <selector>]... [--start] [--end] <server> <name>
 *
 * Requests are client_golang's (the API client promtool uses): instant and
 * range queries and series go as a form POST to /api/v1/query,
 * /api/v1/query_range and /api/v1/series, repeated as a GET with the form in
 * the URL when the server answers 403, 405 or 501; label values are a GET of
 * /api/v1/label/<name>/values.  Times are sent as Unix seconds, the step in
 * seconds; defaults are promtool's (now; a range of the last 5 minutes with a
 * step of a 250th of it, at least 1s; series and labels over now +-9999h).
 *
 * Output: with -o promql (the default) a result is printed as the Go client
 * model's String() forms (a vector one sample a line, `metric => value
 * @[time]`; a matrix sorted by labels, each series `metric =>` then a line
 * per point; `scalar: v @[t]`; a string as is), series as label sets, label
 * values one a line; with -o json as Go's encoding/json writes those values
 * (map keys sorted, <, > and & escaped) and a newline.  Errors are
 * promtool's: "query error: <type>: <message>", with "(detail: <body>)" for
 * an HTTP error that is no API error; a connection failure reads "query
 * error: Post \"<url>\": <curl's message>" (Go's dialer words it
 * differently).
 *
 * Responses are parsed with jansson.  Native histogram samples in a result
 * are not printed (our server has none).  --http.config.file is not
 * supported yet.
 */
#include "cmd/tool.h"

#include <curl/curl.h>
#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go formatting */

void tool_go_float(core_sb *sb, double v, char fmt)
{
    if (isnan(v)) {
        core_sb_adds(sb, "NaN");
        return;
    }
    if (isinf(v)) {
        core_sb_adds(sb, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* The shortest digits that read back as v: the correctly rounded
     * p-digit form is the nearest, so the first p that round-trips wins. */
    char buf[64];
    for (int p = 0; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    const char *s = buf;
    bool neg = *s == '-';
    if (neg) s++;
    char digits[32];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    int exp = atoi(s + 1);
    if (neg) core_sb_addc(sb, '-');
    if (fmt == 'E') {
        core_sb_addc(sb, digits[0]);
        if (nd > 1) {
            core_sb_addc(sb, '.');
            core_sb_add(sb, digits + 1, nd - 1);
        }
        core_sb_addf(sb, "E%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    if (exp < 0) {
        core_sb_adds(sb, "0.");
        for (int i = -1; i > exp; i--)
            core_sb_addc(sb, '0');
        core_sb_add(sb, digits, nd);
        return;
    }
    for (int i = 0; i <= exp; i++)
        core_sb_addc(sb, (size_t)i < nd ? digits[i] : '0');
    if ((size_t)exp + 1 < nd) {
        core_sb_addc(sb, '.');
        core_sb_add(sb, digits + exp + 1, nd - (size_t)exp - 1);
    }
}

/* encoding/json's string: HTML-safe, U+2028/9 escaped, bad UTF-8 as U+FFFD. */
static void json_str(core_sb *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    core_sb_addc(sb, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                core_sb_addc(sb, '\\');
                core_sb_addc(sb, (char)c);
            } else if (c == '\n') {
                core_sb_adds(sb, "\\n");
            } else if (c == '\r') {
                core_sb_adds(sb, "\\r");
            } else if (c == '\t') {
                core_sb_adds(sb, "\\t");
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                core_sb_adds(sb, "\\u00");
                core_sb_addc(sb, hex[c >> 4]);
                core_sb_addc(sb, hex[c & 15]);
            } else {
                core_sb_addc(sb, (char)c);
            }
            i++;
            continue;
        }
        /* a UTF-8 sequence: its length and validity */
        size_t w = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        uint32_t r = w == 2 ? c & 0x1f : w == 3 ? c & 0x0f : c & 0x07;
        bool ok = w > 0 && i + w <= n;
        for (size_t k = 1; ok && k < w; k++) {
            unsigned char cc = (unsigned char)s[i + k];
            ok = (cc & 0xc0) == 0x80;
            r = r << 6 | (cc & 0x3f);
        }
        if (ok && ((w == 3 && (r < 0x800 || (r >= 0xd800 && r < 0xe000))) ||
                   (w == 4 && (r < 0x10000 || r > 0x10ffff))))
            ok = false;
        if (!ok) {
            core_sb_adds(sb, "\\ufffd");
            i++;
        } else if (r == 0x2028 || r == 0x2029) {
            core_sb_addf(sb, "\\u%04x", (unsigned)r);
            i += w;
        } else {
            core_sb_add(sb, s + i, w);
            i += w;
        }
    }
    core_sb_addc(sb, '"');
}

/* ---- Values from the API */

typedef struct qlabel {
    const char *name, *value;
} qlabel;

typedef struct qmetric {
    qlabel *v; /* sorted by name */
    size_t n;
} qmetric;

static int qlabel_cmp(const void *a, const void *b)
{
    return strcmp(((const qlabel *)a)->name, ((const qlabel *)b)->name);
}

static void metric_from_json(json_t *obj, qmetric *m)
{
    m->n = json_is_object(obj) ? json_object_size(obj) : 0;
    m->v = core_calloc(m->n + 1, sizeof *m->v);
    size_t i = 0;
    const char *k;
    json_t *val;
    if (m->n) json_object_foreach(obj, k, val)
        {
            m->v[i++] = (qlabel){k, json_is_string(val) ? json_string_value(val) : ""};
        }
    m->n = i;
    qsort(m->v, m->n, sizeof *m->v, qlabel_cmp);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* model.Metric's String(): name{a="1", b="2"}, the `label="value"`
 * strings sorted as strings. */
static void metric_string(const qmetric *m, core_sb *sb)
{
    const char *name = NULL;
    char **parts = core_calloc(m->n + 1, sizeof *parts);
    size_t np = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].name, "__name__") == 0) {
            name = m->v[i].value;
            continue;
        }
        core_sb p = CORE_SB_INIT;
        core_sb_addf(&p, "%s=", m->v[i].name);
        core_sb_add_quoted(&p, m->v[i].value, strlen(m->v[i].value));
        parts[np++] = core_sb_detach(&p, NULL);
    }
    if (np == 0) {
        core_sb_adds(sb, name ? name : "{}");
    } else {
        qsort(parts, np, sizeof *parts, str_cmp);
        core_sb_addf(sb, "%s{", name ? name : "");
        for (size_t i = 0; i < np; i++)
            core_sb_addf(sb, "%s%s", i ? ", " : "", parts[i]);
        core_sb_addc(sb, '}');
    }
    for (size_t i = 0; i < np; i++)
        free(parts[i]);
    free(parts);
}

/* model.LabelSet's String(): {a="1", b="2"}, names sorted. */
static void labelset_string(const qmetric *m, core_sb *sb)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; i < m->n; i++) {
        core_sb_addf(sb, "%s%s=", i ? ", " : "", m->v[i].name);
        core_sb_add_quoted(sb, m->v[i].value, strlen(m->v[i].value));
    }
    core_sb_addc(sb, '}');
}

/* A label set as a JSON object, keys sorted as Go sorts map keys. */
static void metric_json(const qmetric *m, core_sb *sb)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; i < m->n; i++) {
        if (i) core_sb_addc(sb, ',');
        json_str(sb, m->v[i].name, strlen(m->v[i].name));
        core_sb_addc(sb, ':');
        json_str(sb, m->v[i].value, strlen(m->v[i].value));
    }
    core_sb_addc(sb, '}');
}

/* model.LabelSet's Before: fewer labels first, then by the values of the
 * names of both in order. */
static int metric_before_cmp(const qmetric *a, const qmetric *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        /* the next name of the merged, sorted name list */
        const char *n;
        if (j >= b->n || (i < a->n && strcmp(a->v[i].name, b->v[j].name) <= 0))
            n = a->v[i].name;
        else
            n = b->v[j].name;
        const qlabel *x = i < a->n && strcmp(a->v[i].name, n) == 0 ? &a->v[i] : NULL;
        const qlabel *y = j < b->n && strcmp(b->v[j].name, n) == 0 ? &b->v[j] : NULL;
        if (!x) return -1;
        if (!y) return 1;
        int c = strcmp(x->value, y->value);
        if (c) return c < 0 ? -1 : 1;
        i++;
        j++;
    }
    return 0;
}

/* A sample time (float seconds in JSON) in milliseconds. */
static int64_t json_ms(json_t *t)
{
    return (int64_t)llround(json_number_value(t) * 1000.0);
}

/* model.Time's String(): seconds with the shortest fraction. */
static void time_string(int64_t ms, core_sb *sb)
{
    tool_go_float(sb, (double)ms / 1000.0, 'f');
}

static double json_value(json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    return strtod(s, NULL);
}

/* A [t, "v"] pair as SamplePair's String() or JSON. */
static void pair_out(json_t *pair, bool json, core_sb *sb)
{
    int64_t t = json_ms(json_array_get(pair, 0));
    double v = json_value(json_array_get(pair, 1));
    if (json) {
        core_sb_addc(sb, '[');
        time_string(t, sb);
        core_sb_adds(sb, ",\"");
        tool_go_float(sb, v, 'f');
        core_sb_adds(sb, "\"]");
        return;
    }
    tool_go_float(sb, v, 'f');
    core_sb_adds(sb, " @[");
    time_string(t, sb);
    core_sb_addc(sb, ']');
}

typedef struct qseries {
    qmetric m;
    json_t *values;
} qseries;

static int series_cmp(const void *a, const void *b)
{
    return metric_before_cmp(&((const qseries *)a)->m, &((const qseries *)b)->m);
}

/* Prints a query's data ({resultType, result}) as promtool's printer. */
static void print_value(json_t *data, bool json, core_sb *out)
{
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *res = json_object_get(data, "result");
    type = type ? type : "";
    if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
        bool scalar = type[1] == 'c';
        int64_t t = json_ms(json_array_get(res, 0));
        json_t *v = json_array_get(res, 1);
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (json) {
            core_sb_addc(out, '[');
            time_string(t, out);
            core_sb_addc(out, ',');
            if (scalar) {
                core_sb_addc(out, '"');
                tool_go_float(out, json_value(v), 'f');
                core_sb_addc(out, '"');
            } else {
                json_str(out, s, strlen(s));
            }
            core_sb_adds(out, "]\n");
        } else if (scalar) {
            core_sb_adds(out, "scalar: ");
            tool_go_float(out, json_value(v), 'f');
            core_sb_adds(out, " @[");
            time_string(t, out);
            core_sb_adds(out, "]\n");
        } else {
            core_sb_addf(out, "%s\n", s);
        }
        return;
    }
    bool matrix = strcmp(type, "matrix") == 0;
    size_t n = json_is_array(res) ? json_array_size(res) : 0;
    qseries *ss = core_calloc(n + 1, sizeof *ss);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(res, i);
        metric_from_json(json_object_get(e, "metric"), &ss[i].m);
        ss[i].values = json_object_get(e, matrix ? "values" : "value");
    }
    /* Matrix's String() sorts; JSON keeps the server's order, as does a
     * vector's String(). */
    if (matrix && !json) qsort(ss, n, sizeof *ss, series_cmp);
    if (json) core_sb_addc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (json) {
            core_sb_adds(out, i ? ",{\"metric\":" : "{\"metric\":");
            metric_json(&ss[i].m, out);
            if (matrix) {
                core_sb_adds(out, ",\"values\":[");
                for (size_t k = 0; k < json_array_size(ss[i].values); k++) {
                    if (k) core_sb_addc(out, ',');
                    pair_out(json_array_get(ss[i].values, k), true, out);
                }
                core_sb_adds(out, "]}");
            } else {
                core_sb_adds(out, ",\"value\":");
                pair_out(ss[i].values, true, out);
                core_sb_addc(out, '}');
            }
            continue;
        }
        if (i) core_sb_addc(out, '\n');
        metric_string(&ss[i].m, out);
        if (matrix) {
            core_sb_adds(out, " =>");
            for (size_t k = 0; k < json_array_size(ss[i].values); k++) {
                core_sb_addc(out, '\n');
                pair_out(json_array_get(ss[i].values, k), false, out);
            }
        } else {
            core_sb_adds(out, " => ");
            pair_out(ss[i].values, false, out);
        }
    }
    core_sb_adds(out, json ? "]\n" : "\n");
    for (size_t i = 0; i < n; i++)
        free(ss[i].m.v);
    free(ss);
}

/* ---- HTTP */

typedef struct qclient {
    const char *server; /* as given; "http://" added when it has no scheme */
    char *base;         /* without a trailing slash */
    const core_strlist *headers;
} qclient;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

/* One request: a POST of `form` (or a GET with it in the URL).  Returns 0
 * with *code and the body, or -1 with the transport error in err. */
static int http_do(const qclient *c, const char *url, const char *form, bool post, long *code,
                   core_sb *body, core_err *err)
{
    CURL *h = curl_easy_init();
    char ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    core_sb full = CORE_SB_INIT;
    core_sb_adds(&full, url);
    if (!post && form && *form) core_sb_addf(&full, "?%s", form);
    curl_easy_setopt(h, CURLOPT_URL, full.buf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "prom-tool");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form ? form : "");
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    }
    for (size_t i = 0; c->headers && i < c->headers->len; i++) {
        const char *kv = c->headers->v[i], *eq = strchr(kv, '=');
        core_sb line = CORE_SB_INIT;
        core_sb_addf(&line, "%.*s: %s", (int)(eq - kv), kv, eq + 1);
        hdrs = curl_slist_append(hdrs, line.buf);
        core_sb_destroy(&line);
    }
    if (hdrs) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK)
        ret = core_err_set(err, "%s \"%s\": %s", post ? "Post" : "Get", full.buf,
                           ebuf[0] ? ebuf : curl_easy_strerror(rc));
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    core_sb_destroy(&full);
    return ret;
}

/* Trims white space at both ends (Go's strings.TrimSpace) into a copy. */
static char *trim_copy(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return core_strndup(s, n);
}

/* An API call as client_golang's Do (and DoGetFallback when `post`):
 * returns the response's "data" (a new reference) and its warnings, or
 * NULL after printing promtool's "query error: ..." line. */
static json_t *api_call(const qclient *c, const char *ep, const char *form, bool post,
                        json_t **warnings)
{
    core_sb url = CORE_SB_INIT, body = CORE_SB_INIT;
    core_sb_addf(&url, "%s%s", c->base, ep);
    core_err err = {{0}};
    long code = 0;
    json_t *data = NULL;
    *warnings = NULL;
    int rc = http_do(c, url.buf, form, post, &code, &body, &err);
    if (rc == 0 && post && (code == 403 || code == 405 || code == 501)) {
        core_sb_reset(&body);
        rc = http_do(c, url.buf, form, false, &code, &body, &err);
    }
    fflush(stdout);
    if (rc < 0) {
        fprintf(stderr, "query error: %s\n", err.msg);
        goto out;
    }
    bool api_error = code == 400 || code == 422;
    if (code / 100 != 2 && !api_error) {
        const char *type = code / 100 == 4   ? "client_error"
                           : code / 100 == 5 ? "server_error"
                                             : "bad_response";
        core_sb msg = CORE_SB_INIT;
        if (code / 100 == 4)
            core_sb_addf(&msg, "client error: %ld", code);
        else if (code / 100 == 5)
            core_sb_addf(&msg, "server error: %ld", code);
        else
            core_sb_addf(&msg, "bad response code %ld", code);
        char *detail = trim_copy(body.buf ? body.buf : "");
        if (*detail)
            fprintf(stderr, "query error: %s: %s (detail: %s)\n", type, msg.buf, detail);
        else
            fprintf(stderr, "query error: %s: %s\n", type, msg.buf);
        free(detail);
        core_sb_destroy(&msg);
        goto out;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body.buf ? body.buf : "", body.len, 0, &jerr);
    if (!root) {
        fprintf(stderr, "query error: bad_response: %s\n", jerr.text);
        goto out;
    }
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *w = json_object_get(root, "warnings");
    if (json_is_array(w)) *warnings = json_incref(w);
    if (status && strcmp(status, "error") == 0) {
        const char *et = json_string_value(json_object_get(root, "errorType"));
        const char *em = json_string_value(json_object_get(root, "error"));
        fprintf(stderr, "query error: %s: %s\n", et ? et : "", em ? em : "");
    } else if (api_error && status && strcmp(status, "success") == 0) {
        fprintf(stderr, "query error: bad_response: inconsistent body for response code\n");
    } else {
        data = json_incref(json_object_get(root, "data"));
        if (!data) data = json_null();
    }
    json_decref(root);
out:
    core_sb_destroy(&url);
    core_sb_destroy(&body);
    return data;
}

/* ---- Arguments */

/* Appends key=value to a form, both escaped. */
static void form_add(core_sb *form, const char *key, const char *value)
{
    char *k = curl_easy_escape(NULL, key, 0), *v = curl_easy_escape(NULL, value, 0);
    core_sb_addf(form, "%s%s=%s", form->len ? "&" : "", k, v);
    curl_free(k);
    curl_free(v);
}

static void form_add_time(core_sb *form, const char *key, int64_t ms)
{
    core_sb t = CORE_SB_INIT;
    time_string(ms, &t);
    form_add(form, key, t.buf);
    core_sb_destroy(&t);
}

/* Go's time.ParseDuration, in milliseconds (finer parts are dropped). */
static int parse_go_duration(const char *s, int64_t *ms)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*p) return -1;
    double total = 0; /* nanoseconds */
    while (*p) {
        char *end;
        if (!((*p >= '0' && *p <= '9') || *p == '.')) return -1;
        double v = strtod(p, &end);
        if (end == p || *end == 'e' || *end == 'E') return -1;
        p = end;
        static const struct {
            const char *u;
            double ns;
        } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
        size_t best = 0, bestlen = 0;
        for (size_t i = 0; i < TOOL_COUNT(units); i++) {
            size_t n = strlen(units[i].u);
            if (strncmp(p, units[i].u, n) == 0 && n > bestlen) best = i, bestlen = n;
        }
        if (!bestlen) return -1;
        total += v * units[best].ns;
        p += bestlen;
    }
    *ms = (int64_t)((neg ? -total : total) / 1e6);
    return 0;
}

static bool parse_format(const char *f, bool *json)
{
    if (strcmp(f, "promql") == 0 || strcmp(f, "json") == 0) {
        *json = f[0] == 'j';
        return true;
    }
    tool_usage_error("enum value must be one of promql,json, got '%s'", f);
    return false;
}

static bool check_headers(const core_strlist *h)
{
    for (size_t i = 0; i < h->len; i++)
        if (!strchr(h->v[i], '=')) {
            tool_usage_error("expected KEY=VALUE got '%s'", h->v[i]);
            return false;
        }
    return true;
}

static void client_init(qclient *c, const char *server, const core_strlist *headers)
{
    core_sb b = CORE_SB_INIT;
    if (!strstr(server, "://")) core_sb_adds(&b, "http://");
    core_sb_adds(&b, server);
    while (b.len > 0 && b.buf[b.len - 1] == '/')
        b.buf[--b.len] = '\0';
    c->server = server;
    c->base = core_sb_detach(&b, NULL);
    c->headers = headers;
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void client_destroy(qclient *c)
{
    free(c->base);
    curl_global_cleanup();
}

/* A time flag: parseTime's float seconds or RFC3339; the default when not
 * given.  Prints "error parsing <what>: ..." and returns -1 on a bad one. */
static int flag_time(const char *s, const char *what, int64_t def, int64_t *ms)
{
    *ms = def;
    if (!s || !*s) return 0;
    core_err err = {{0}};
    if (core_time_parse_api(s, strlen(s), ms, &err) == 0) return 0;
    fflush(stdout);
    fprintf(stderr, "error parsing %s: %s\n", what, err.msg);
    return -1;
}

/* Prints the output of a command and releases it. */
static int emit(core_sb *out)
{
    if (out->len) fwrite(out->buf, 1, out->len, stdout);
    fflush(stdout);
    core_sb_destroy(out);
    return 0;
}

/* ---- The commands */

#define FORMAT_FLAG(dest)                                                                  \
    {                                                                                      \
        "format", CORE_FLAG_STRING, (dest), "promql", "Output format of the query.", false \
    }

int tool_query_instant(const tool_cmd *cmd, int argc, char **argv)
{
    const char *format = "promql", *time_s = NULL, *server, *expr;
    core_strlist headers = {0};
    core_flag flags[] = {
        FORMAT_FLAG(&format),
        {"time", CORE_FLAG_STRING, &time_s, NULL,
         "Query evaluation time (RFC3339 or Unix timestamp).", false},
        {"header", CORE_FLAG_LIST, &headers, NULL, "Extra headers to send to server.", false},
    };
    tool_short shorts[] = {{'o', "format"}};
    tool_arg args[] = {
        {"server", "Prometheus server to query.", &server, NULL, true, NULL},
        {"expr", "PromQL query expression.", &expr, NULL, true, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    int status = 1;
    bool json;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&headers);
        return status;
    }
    if (!parse_format(format, &json) || !check_headers(&headers)) {
        core_strlist_destroy(&headers);
        return 1;
    }
    int64_t t;
    if (flag_time(time_s, "evaluation time", core_time_now_ms(), &t) < 0) {
        core_strlist_destroy(&headers);
        return 1;
    }
    qclient c;
    client_init(&c, server, &headers);
    core_sb form = CORE_SB_INIT, out = CORE_SB_INIT;
    form_add(&form, "query", expr);
    form_add_time(&form, "time", t);
    json_t *warn, *data = api_call(&c, "/api/v1/query", form.buf, true, &warn);
    if (data) {
        print_value(data, json, &out);
        status = emit(&out);
    }
    json_decref(data);
    json_decref(warn);
    core_sb_destroy(&form);
    core_sb_destroy(&out);
    client_destroy(&c);
    core_strlist_destroy(&headers);
    return data ? status : 1;
}

int tool_query_range(const tool_cmd *cmd, int argc, char **argv)
{
    const char *format = "promql", *start_s = NULL, *end_s = NULL, *step_s = NULL, *server, *expr;
    core_strlist headers = {0};
    core_flag flags[] = {
        FORMAT_FLAG(&format),
        {"header", CORE_FLAG_LIST, &headers, NULL, "Extra headers to send to server.", false},
        {"start", CORE_FLAG_STRING, &start_s, NULL,
         "Query range start time (RFC3339 or Unix timestamp).", false},
        {"end", CORE_FLAG_STRING, &end_s, NULL, "Query range end time (RFC3339 or Unix timestamp).",
         false},
        {"step", CORE_FLAG_STRING, &step_s, NULL, "Query step size (duration).", false},
    };
    tool_short shorts[] = {{'o', "format"}};
    tool_arg args[] = {
        {"server", "Prometheus server to query.", &server, NULL, true, NULL},
        {"expr", "PromQL query expression.", &expr, NULL, true, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    int status = 1;
    bool json;
    int64_t step = 0;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&headers);
        return status;
    }
    if (!parse_format(format, &json) || !check_headers(&headers)) {
        core_strlist_destroy(&headers);
        return 1;
    }
    if (step_s && parse_go_duration(step_s, &step) < 0) {
        core_sb q = CORE_SB_INIT;
        core_sb_add_quoted(&q, step_s, strlen(step_s));
        tool_usage_error("time: invalid duration %s", q.buf);
        core_sb_destroy(&q);
        core_strlist_destroy(&headers);
        return 1;
    }
    int64_t start, end;
    if (flag_time(end_s, "end time", core_time_now_ms(), &end) < 0 ||
        flag_time(start_s, "start time", end - 5 * CORE_MS_PER_MINUTE, &start) < 0) {
        core_strlist_destroy(&headers);
        return 1;
    }
    if (start >= end) {
        fflush(stdout);
        fprintf(stderr, "start time is not before end time\n");
        core_strlist_destroy(&headers);
        return 1;
    }
    if (step == 0) {
        double res = floor((double)(end - start) / 1000.0 / 250.0);
        step = (int64_t)(res < 1 ? 1 : res) * 1000;
    }
    qclient c;
    client_init(&c, server, &headers);
    core_sb form = CORE_SB_INIT, out = CORE_SB_INIT, st = CORE_SB_INIT;
    /* url.Values.Encode orders the keys */
    form_add_time(&form, "end", end);
    form_add(&form, "query", expr);
    form_add_time(&form, "start", start);
    tool_go_float(&st, (double)step / 1000.0, 'f');
    form_add(&form, "step", st.buf);
    json_t *warn, *data = api_call(&c, "/api/v1/query_range", form.buf, true, &warn);
    if (data) {
        print_value(data, json, &out);
        status = emit(&out);
    }
    json_decref(data);
    json_decref(warn);
    core_sb_destroy(&form);
    core_sb_destroy(&out);
    core_sb_destroy(&st);
    client_destroy(&c);
    core_strlist_destroy(&headers);
    return data ? status : 1;
}

/* promtool's parseStartTimeAndEndTime: unset means 9999 hours either side
 * of now. */
static int start_end(const char *start_s, const char *end_s, int64_t *start, int64_t *end)
{
    int64_t now = core_time_now_ms(), span = 9999 * CORE_MS_PER_HOUR;
    if (flag_time(start_s, "start time", now - span, start) < 0) return -1;
    return flag_time(end_s, "end time", now + span, end);
}

int tool_query_series(const tool_cmd *cmd, int argc, char **argv)
{
    const char *format = "promql", *start_s = NULL, *end_s = NULL, *server;
    core_strlist match = {0};
    core_flag flags[] = {
        FORMAT_FLAG(&format),
        {"match", CORE_FLAG_LIST, &match, NULL, "Series selector. Can be specified multiple times.",
         false},
        {"start", CORE_FLAG_STRING, &start_s, NULL, "Start time (RFC3339 or Unix timestamp).",
         false},
        {"end", CORE_FLAG_STRING, &end_s, NULL, "End time (RFC3339 or Unix timestamp).", false},
    };
    tool_short shorts[] = {{'o', "format"}};
    tool_arg args[] = {
        {"server", "Prometheus server to query.", &server, NULL, true, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    int status = 1;
    bool json;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&match);
        return status;
    }
    if (!parse_format(format, &json)) {
        core_strlist_destroy(&match);
        return 1;
    }
    if (match.len == 0) {
        core_strlist_destroy(&match);
        return tool_usage_error("required flag --match not provided");
    }
    int64_t start, end;
    if (start_end(start_s, end_s, &start, &end) < 0) {
        core_strlist_destroy(&match);
        return 1;
    }
    qclient c;
    client_init(&c, server, NULL);
    core_sb form = CORE_SB_INIT, out = CORE_SB_INIT;
    form_add_time(&form, "end", end);
    for (size_t i = 0; i < match.len; i++)
        form_add(&form, "match[]", match.v[i]);
    form_add_time(&form, "start", start);
    json_t *warn, *data = api_call(&c, "/api/v1/series", form.buf, true, &warn);
    if (data) {
        size_t n = json_is_array(data) ? json_array_size(data) : 0;
        if (json) core_sb_adds(&out, json_is_array(data) ? "[" : "null");
        for (size_t i = 0; i < n; i++) {
            qmetric m;
            metric_from_json(json_array_get(data, i), &m);
            if (json) {
                if (i) core_sb_addc(&out, ',');
                metric_json(&m, &out);
            } else {
                labelset_string(&m, &out);
                core_sb_addc(&out, '\n');
            }
            free(m.v);
        }
        if (json) core_sb_adds(&out, json_is_array(data) ? "]\n" : "\n");
        status = emit(&out);
    }
    json_decref(data);
    json_decref(warn);
    core_sb_destroy(&form);
    core_sb_destroy(&out);
    client_destroy(&c);
    core_strlist_destroy(&match);
    return data ? status : 1;
}

int tool_query_labels(const tool_cmd *cmd, int argc, char **argv)
{
    const char *format = "promql", *start_s = NULL, *end_s = NULL, *server, *name;
    core_strlist match = {0};
    core_flag flags[] = {
        FORMAT_FLAG(&format),
        {"start", CORE_FLAG_STRING, &start_s, NULL, "Start time (RFC3339 or Unix timestamp).",
         false},
        {"end", CORE_FLAG_STRING, &end_s, NULL, "End time (RFC3339 or Unix timestamp).", false},
        {"match", CORE_FLAG_LIST, &match, NULL, "Series selector. Can be specified multiple times.",
         false},
    };
    tool_short shorts[] = {{'o', "format"}};
    tool_arg args[] = {
        {"server", "Prometheus server to query.", &server, NULL, true, NULL},
        {"name", "Label name to provide label values for.", &name, NULL, true, NULL},
    };
    tool_spec spec = TOOL_SPEC(flags, shorts, args);
    int status = 1;
    bool json;
    if (!tool_parse(cmd, &spec, argc, argv, &status)) {
        core_strlist_destroy(&match);
        return status;
    }
    if (!parse_format(format, &json)) {
        core_strlist_destroy(&match);
        return 1;
    }
    int64_t start, end;
    if (start_end(start_s, end_s, &start, &end) < 0) {
        core_strlist_destroy(&match);
        return 1;
    }
    qclient c;
    client_init(&c, server, NULL);
    core_sb form = CORE_SB_INIT, out = CORE_SB_INIT, ep = CORE_SB_INIT;
    form_add_time(&form, "end", end);
    for (size_t i = 0; i < match.len; i++)
        form_add(&form, "match[]", match.v[i]);
    form_add_time(&form, "start", start);
    char *esc = curl_easy_escape(NULL, name, 0);
    core_sb_addf(&ep, "/api/v1/label/%s/values", esc);
    curl_free(esc);
    json_t *warn, *data = api_call(&c, ep.buf, form.buf, false, &warn);
    for (size_t i = 0; i < json_array_size(warn); i++) {
        const char *w = json_string_value(json_array_get(warn, i));
        fprintf(stderr, "query warning: %s\n", w ? w : "");
    }
    if (data) {
        size_t n = json_is_array(data) ? json_array_size(data) : 0;
        if (json) core_sb_adds(&out, json_is_array(data) ? "[" : "null");
        for (size_t i = 0; i < n; i++) {
            const char *v = json_string_value(json_array_get(data, i));
            v = v ? v : "";
            if (json) {
                if (i) core_sb_addc(&out, ',');
                json_str(&out, v, strlen(v));
            } else {
                core_sb_addf(&out, "%s\n", v);
            }
        }
        if (json) core_sb_adds(&out, json_is_array(data) ? "]\n" : "\n");
        status = emit(&out);
    }
    json_decref(data);
    json_decref(warn);
    core_sb_destroy(&form);
    core_sb_destroy(&out);
    core_sb_destroy(&ep);
    client_destroy(&c);
    core_strlist_destroy(&match);
    return data ? status : 1;
}
