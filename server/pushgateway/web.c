/*
 * web.c - the gateway's HTTP surface, on server/core's HTTP server.
 *
 *   PUT|POST|DELETE /metrics/job[@base64]/<job>{/<name>[@base64]/<value>}
 *   GET  <telemetry path>          every group plus the gateway's own metrics
 *   GET  /api/v1/status, /api/v1/metrics, OPTIONS /api/v1/...   (CORS)
 *   PUT  /api/v1/admin/wipe        with --web.enable-admin-api
 *   PUT|POST /-/quit               with --web.enable-lifecycle (else 403)
 *   GET  /, /status                the status page
 *   GET  /-/healthy, /-/ready      (built into the server)
 *
 * Status codes and bodies are upstream 1.11's: a push answers 200 with an
 * empty body, or 202 with --push.disable-consistency-check, or 400 with the
 * reason (bad path, bad encoding, bad body, refused push: "pushed metrics are
 * invalid or inconsistent with existing metrics: ..."); a delete answers 202.
 * The push path is parsed from the decoded request path as Go's router sees
 * it, so an encoded '/' in a segment splits it, as upstream.
 *
 * pushgateway_http_requests_total{code,handler,method} counts every request
 * but scrapes and quits, with upstream's handler names; the push handler
 * observes pushgateway_http_push_duration_seconds and
 * pushgateway_http_push_size_bytes (the body size; upstream estimates the
 * whole request's size).
 */
#include "pushgateway/pushgateway.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* ---- Own metrics */

static const prom_quantile objectives[] = {{0.1, 0.01}, {0.5, 0.05}, {0.9, 0.01}};

static int build_info(pgw_web *w)
{
    static const char *const names[] = {"branch",   "goarch", "goos",   "goversion",
                                        "revision", "tags",   "version"};
    prom_gauge *g = prom_gauge_new(&(prom_opts){
        .name = "pushgateway_build_info",
        .help = "A metric with a constant '1' value labeled by version, revision, branch, "
                "goversion from which pushgateway was built, and the goos and goarch for the "
                "build.",
        .labels = names,
        .n_labels = 7,
        .registry = w->registry});
    const core_buildinfo *bi = core_buildinfo_get();
    const char *arch = strchr(bi->platform, '/');
    char os[32];
    snprintf(os, sizeof os, "%.*s", arch != NULL ? (int)(arch - bi->platform) : 0, bi->platform);
    const char *values[] = {
        bi->branch, arch != NULL ? arch + 1 : "", os, bi->compiler, bi->revision, "", bi->version};
    return g != NULL ? prom_gauge_set(prom_gauge_labels_v(g, values, 7), 1) : -1;
}

static prom_summary *push_summary(pgw_web *w, const char *name, const char *help)
{
    static const char *const method[] = {"method"};
    return prom_summary_new(
        &(prom_opts){
            .name = name, .help = help, .labels = method, .n_labels = 1, .registry = w->registry},
        &(prom_summary_opts){.objectives = objectives, .n_objectives = 3});
}

/* Tells the store the names and types of the own families. */
static void register_own(pgw_web *w)
{
    prom_buffer buf = {0};
    prom_render(w->registry, PROM_FORMAT_TEXT, NULL, 0, &buf);
    pgw_own_family own[64];
    size_t n = 0;
    static const char *const types[] = {"counter", "gauge", "summary", "untyped", "histogram"};
    for (char *line = buf.data; line != NULL && line < buf.data + buf.len && n < 64;) {
        char *nl = memchr(line, '\n', (size_t)(buf.data + buf.len - line));
        if (nl != NULL) *nl = '\0';
        char name[256], type[32];
        if (sscanf(line, "# TYPE %255s %31s", name, type) == 2) {
            own[n].name = core_strdup(name);
            own[n].type = PGW_UNTYPED;
            for (int t = 0; t < 5; t++)
                if (strcmp(type, types[t]) == 0) own[n].type = (pgw_type)t;
            n++;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    pgw_store_set_own(w->store, own, n);
    for (size_t i = 0; i < n; i++)
        free((char *)own[i].name);
    prom_buffer_free(&buf);
}

int pgw_web_metrics(pgw_web *w, core_err *err)
{
    static const char *const req_labels[] = {"handler", "code", "method"};
    w->requests = prom_counter_new(
        &(prom_opts){.name = "pushgateway_http_requests_total",
                     .help = "Total HTTP requests processed by the Pushgateway, excluding scrapes.",
                     .labels = req_labels,
                     .n_labels = 3,
                     .registry = w->registry});
    w->push_size = push_summary(w, "pushgateway_http_push_size_bytes",
                                "HTTP request size for pushes to the Pushgateway.");
    w->push_duration = push_summary(w, "pushgateway_http_push_duration_seconds",
                                    "HTTP request duration for pushes to the Pushgateway.");
    if (w->requests == NULL || w->push_size == NULL || w->push_duration == NULL ||
        build_info(w) < 0 || prom_process_collector_register(w->registry) < 0)
        return core_err_set(err, "own metrics: %s", prom_last_error());
    register_own(w);
    return 0;
}

/* ---- Pushes and deletes */

/* The grouping labels of the request's path, or NULL with the response set. */
static core_labels *grouping_of(core_http_req *req, core_http_resp *resp)
{
    const char *path = core_http_path(req);
    const char *rest = strncmp(path, "/metrics/", 9) == 0 ? path + 9 : "";
    const char *job = strchr(rest, '/');
    if (job == NULL || job[1] == '\0' || job[1] == '/') {
        core_http_resp_text(resp, 404, "404 page not found\n");
        return NULL;
    }
    core_err err;
    core_labels *ls = pgw_grouping_parse(rest, &err);
    if (ls == NULL) core_http_resp_text(resp, 400, "%s\n", err.msg);
    return ls;
}

/* Decodes and parses the body; NULL with the response set. */
static pgw_push *parse_body(pgw_web *w, core_http_req *req, core_http_resp *resp,
                            const core_labels *grouping, size_t *size)
{
    size_t len;
    const char *body = core_http_body(req, &len);
    char *data;
    size_t dlen;
    bool owned;
    core_err err;
    *size = len;
    if (pgw_decode_body(core_http_header(req, "Content-Encoding"), body, len, w->max_body, &data,
                        &dlen, &owned, &err) < 0) {
        core_http_resp_text(resp, 400, "%s\n", err.msg);
        return NULL;
    }
    model_format fmt = model_format_from_content_type(core_http_header(req, "Content-Type"));
    pgw_push *p = pgw_push_parse(data, dlen, fmt, grouping, &err);
    if (p == NULL) core_http_resp_text(resp, 400, "%s\n", err.msg);
    if (owned) free(data);
    return p;
}

static void observe_push(pgw_web *w, const char *method, double start, size_t size)
{
    char m[16];
    lower(method, m, sizeof m);
    const char *v[] = {m};
    prom_summary_observe(prom_summary_labels_v(w->push_duration, v, 1),
                         core_monotonic_seconds() - start);
    prom_summary_observe(prom_summary_labels_v(w->push_size, v, 1), (double)size);
}

static void serve_push(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    double start = core_monotonic_seconds();
    size_t size = 0;
    core_labels *grouping = grouping_of(req, resp);
    pgw_push *p = grouping != NULL ? parse_body(w, req, resp, grouping, &size) : NULL;
    if (p != NULL) {
        bool replace = strcmp(core_http_method(req), "PUT") == 0;
        core_err err;
        int rc = pgw_store_push(w->store, p, grouping, replace, w->check, now_ns(), &err);
        if (!w->check) {
            resp->status = 202;
        } else if (rc < 0) {
            core_http_resp_text(resp, 400,
                                "pushed metrics are invalid or inconsistent with existing "
                                "metrics: %s\n",
                                err.msg);
            core_error("pushgateway",
                       "pushed metrics are invalid or inconsistent with existing metrics", "method",
                       core_http_method(req), "source", core_http_remote(req), "err", err.msg);
        }
    }
    free(grouping);
    observe_push(w, core_http_method(req), start, size);
}

static void serve_delete(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    core_labels *grouping = grouping_of(req, resp);
    if (grouping == NULL) return;
    pgw_store_delete(w->store, grouping);
    resp->status = 202;
    free(grouping);
}

/* ---- Reading */

static void serve_metrics(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    prom_buffer own = {0};
    if (prom_render(w->registry, PROM_FORMAT_TEXT, NULL, 0, &own) < 0) {
        core_http_resp_text(resp, 500, "An error has occurred while serving metrics:\n\n%s\n",
                            prom_last_error());
        return;
    }
    size_t n;
    pgw_block *blocks = pgw_blocks_split(own.data, own.len, &n);
    pgw_expo_text(w->store, blocks, n, &resp->body);
    pgw_blocks_free(blocks, n);
    prom_buffer_free(&own);
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void set_cors(core_http_resp *resp)
{
    core_http_resp_header(resp, "Access-Control-Allow-Headers",
                          "Accept, Authorization, Content-Type, Origin");
    core_http_resp_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    core_http_resp_header(resp, "Access-Control-Allow-Origin", "*");
    core_http_resp_header(resp, "Access-Control-Expose-Headers", "Date");
    core_http_resp_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
}

static void serve_api_metrics(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    set_cors(resp);
    resp->content_type = "application/json";
    core_sb_adds(&resp->body, "{\"status\":\"success\",\"data\":");
    pgw_expo_api_metrics(w->store, &resp->body);
    core_sb_addc(&resp->body, '}');
}

static void serve_api_status(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    const core_buildinfo *bi = core_buildinfo_get();
    set_cors(resp);
    resp->content_type = "application/json";
    core_sb *b = &resp->body;
    core_sb_adds(b, "{\"status\":\"success\",\"data\":{\"build_information\":{\"branch\":");
    core_sb_add_json_str(b, bi->branch, strlen(bi->branch));
    core_sb_adds(b, ",\"buildDate\":");
    core_sb_add_json_str(b, bi->build_date, strlen(bi->build_date));
    core_sb_adds(b, ",\"buildUser\":\"\",\"goVersion\":");
    core_sb_add_json_str(b, bi->compiler, strlen(bi->compiler));
    core_sb_adds(b, ",\"revision\":");
    core_sb_add_json_str(b, bi->revision, strlen(bi->revision));
    core_sb_adds(b, ",\"version\":");
    core_sb_add_json_str(b, bi->version, strlen(bi->version));
    core_sb_addf(b, "},\"flags\":%s,\"start_time\":", w->flags_json);
    pgw_json_time(w->start_ns, b);
    core_sb_adds(b, "}}");
}

static void serve_options(core_http_req *req, core_http_resp *resp, void *userdata)
{
    set_cors(resp);
}

static void serve_wipe(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    resp->status = 202;
    pgw_store_wipe(w->store);
}

static void serve_quit(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    if (!w->lifecycle) {
        core_http_resp_text(resp, 403, "Lifecycle API is not enabled.");
        return;
    }
    core_sb_adds(&resp->body, "Requesting termination... Goodbye!");
    w->quit();
}

static void serve_quit_get(core_http_req *req, core_http_resp *resp, void *userdata)
{
    core_http_resp_text(resp, 405, "Only POST or PUT requests allowed.");
}

/* ---- The status page */

static void html(core_sb *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<': core_sb_adds(out, "&lt;"); break;
        case '>': core_sb_adds(out, "&gt;"); break;
        case '&': core_sb_adds(out, "&amp;"); break;
        case '"': core_sb_adds(out, "&#34;"); break;
        case '\'': core_sb_adds(out, "&#39;"); break;
        default: core_sb_addc(out, *s);
        }
    }
}

static void html_time(core_sb *out, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    core_sb_adds(out, buf);
}

/* The group's delete path: every label as name@base64/value. */
static void delete_path(core_sb *out, const pgw_group *g)
{
    core_sb_adds(out, "metrics/job@base64/");
    const char *job = core_labels_get(g->labels, "job");
    pgw_base64_encode(job, strlen(job), out);
    for (size_t i = 0; i < g->labels->len; i++) {
        if (strcmp(g->labels->v[i].name, "job") == 0) continue;
        core_sb_addf(out, "/%s@base64/", g->labels->v[i].name);
        pgw_base64_encode(g->labels->v[i].value, strlen(g->labels->v[i].value), out);
    }
}

static void html_label(core_sb *out, const char *cls, const char *name, const char *value)
{
    core_sb_addf(out, "<span class=\"label %s\">", cls);
    html(out, name);
    core_sb_adds(out, "=&#34;");
    html(out, value);
    core_sb_adds(out, "&#34;</span> ");
}

static void html_group_labels(core_sb *out, const pgw_group *g)
{
    html_label(out, "job", "job", core_labels_get(g->labels, "job"));
    for (size_t i = 0; i < g->labels->len; i++)
        if (strcmp(g->labels->v[i].name, "job") != 0)
            html_label(out, "other", g->labels->v[i].name, g->labels->v[i].value);
}

static void html_group(core_sb *out, const pgw_web *w, const pgw_group *g)
{
    core_sb_adds(out, "<div class=\"group\">\n<div class=\"head\">");
    html_group_labels(out, g);
    core_sb_adds(out, "<span class=\"time\">last pushed: ");
    html_time(out, g->last_push_ns);
    core_sb_adds(out, "</span>");
    if (!pgw_group_last_push_ok(g))
        core_sb_adds(out, " <span class=\"failed\">Last push failed!</span>");
    core_sb_adds(out, "<button class=\"delete\" data-path=\"");
    html(out, w->link_prefix);
    core_sb_addc(out, '/');
    delete_path(out, g);
    core_sb_adds(out, "\">Delete Group</button></div>\n<table>\n"
                      "<tr><th>Family</th><th>Type</th><th>Help</th><th>Metrics</th>"
                      "<th>Last pushed</th></tr>\n");
    for (size_t i = 0; i < g->n_fams; i++) {
        const pgw_family *f = g->fams[i];
        core_sb_adds(out, "<tr class=\"family\"><td>");
        html(out, f->name);
        core_sb_addf(out, "</td><td>%s</td><td>", pgw_type_upper(f->type));
        html(out, f->help != NULL ? f->help : "");
        core_sb_addf(out, "</td><td>%zu</td><td>", f->n);
        html_time(out, f->push_ns);
        core_sb_adds(out, "</td></tr>\n");
    }
    core_sb_adds(out, "</table>\n</div>\n");
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>Prometheus Pushgateway</title>\n<style>\n"
    "body{font-family:sans-serif;margin:1em 2em}\n"
    ".group{border:1px solid #ccc;border-radius:4px;margin:1em 0;padding:.5em}\n"
    ".label{display:inline-block;padding:.1em .4em;border-radius:3px;background:#5bc0de;"
    "color:#fff;margin-right:.2em}\n.label.job{background:#f0ad4e}\n"
    ".failed{color:#fff;background:#d9534f;padding:.1em .4em;border-radius:3px}\n"
    ".delete{float:right;color:#fff;background:#d9534f;border:0;border-radius:3px;"
    "padding:.3em .6em;cursor:pointer}\n"
    "table{border-collapse:collapse;margin-top:.5em}\n"
    "td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}\n"
    ".time{color:#666;margin-left:.5em}\n</style>\n</head>\n<body>\n"
    "<h1>Pushgateway</h1>\n";

static const char page_tail[] =
    "<script>\n"
    "document.querySelectorAll('button.delete').forEach(function (b) {\n"
    "  b.addEventListener('click', function () {\n"
    "    var group = b.closest('.group');\n"
    "    fetch(b.dataset.path, {method: 'DELETE'}).then(function (r) {\n"
    "      if (r.status === 202) { group.remove(); } else { alert('Delete failed: ' + r.status); "
    "}\n"
    "    });\n  });\n});\n"
    "</script>\n</body>\n</html>\n";

static void serve_status(core_http_req *req, core_http_resp *resp, void *userdata)
{
    pgw_web *w = userdata;
    core_sb *out = &resp->body;
    resp->content_type = "text/html; charset=utf-8";
    core_sb_adds(out, page_head);
    pgw_store_rdlock(w->store);
    size_t n;
    pgw_group **groups = pgw_store_groups(w->store, &n);
    core_sb_addf(out, "<p id=\"count\">%zu group%s</p>\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        html_group(out, w, groups[i]);
    pgw_store_unlock(w->store);
    free(groups);
    core_sb_adds(out, page_tail);
}

/* ---- Routes and the request counter */

typedef struct route {
    const char *method, *pattern;
    core_http_handler fn;
} route;

/* Upstream's handler label for a request's route, or NULL (not counted). */
static const char *handler_name(const pgw_web *w, const char *pattern, const char *method)
{
    static const struct {
        const char *method, *prefix, *handler;
    } names[] = {
        {"PUT", "/metrics/job", "push"},
        {"POST", "/metrics/job", "push"},
        {"DELETE", "/metrics/job", "delete"},
        {"GET", "/status", "status"},
        {"GET", "/-/healthy", "healthy"},
        {"GET", "/-/ready", "ready"},
        {"GET", "/api/v1/status", "api/v1/status"},
        {"GET", "/api/v1/metrics", "api/v1/metrics"},
        {"PUT", "/api/v1/admin/wipe", "wipe"},
        {"OPTIONS", "/api/v1/", "api/v1/options"},
    };
    const char *p = pattern + strlen(w->route_prefix);
    if (strcmp(p, "/") == 0 && strcmp(method, "GET") == 0) return "status";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(method, names[i].method) == 0 &&
            strncmp(p, names[i].prefix, strlen(names[i].prefix)) == 0)
            return names[i].handler;
    return NULL;
}

static void observe(const char *pattern, const char *method, int status, double seconds,
                    void *userdata)
{
    pgw_web *w = userdata;
    if (pattern[0] == '\0') return;
    const char *h = handler_name(w, pattern, method);
    if (h == NULL) return;
    char code[16], m[16];
    snprintf(code, sizeof code, "%d", status);
    lower(method, m, sizeof m);
    const char *v[] = {h, code, m};
    prom_counter_inc(prom_counter_labels_v(w->requests, v, 3));
}

int pgw_web_routes(pgw_web *w, core_http_server *srv, core_err *err)
{
    const route routes[] = {
        {"PUT", "/metrics/job/*rest", serve_push},
        {"POST", "/metrics/job/*rest", serve_push},
        {"DELETE", "/metrics/job/*rest", serve_delete},
        {"PUT", "/metrics/job@base64/*rest", serve_push},
        {"POST", "/metrics/job@base64/*rest", serve_push},
        {"DELETE", "/metrics/job@base64/*rest", serve_delete},
        {"GET", w->telemetry_path, serve_metrics},
        {"GET", "/api/v1/status", serve_api_status},
        {"GET", "/api/v1/metrics", serve_api_metrics},
        {"OPTIONS", "/api/v1/*path", serve_options},
        {"GET", "/status", serve_status},
        {"GET", "/", serve_status},
        {"PUT", "/-/quit", serve_quit},
        {"POST", "/-/quit", serve_quit},
        {"GET", "/-/quit", serve_quit_get},
        {"PUT", "/api/v1/admin/wipe", serve_wipe},
    };
    size_t n = sizeof routes / sizeof routes[0] - (w->admin_api ? 0 : 1);
    for (size_t i = 0; i < n; i++)
        if (core_http_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, w, err) < 0)
            return -1;
    core_http_set_observer(srv, observe, w);
    return 0;
}
