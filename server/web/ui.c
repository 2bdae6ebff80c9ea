/*
 * ui.c - the routes of the web UI (ui.h): the home redirect, the pages, the
 * static assets.
 *
 * Every page is the same index.html: the application in assets/app.js reads
 * the page from location.pathname, as upstream's React router does, so the
 * server only has to know which paths are pages (a path that is not gets
 * core_http's 404, not the application).  Nothing is templated into the
 * HTML: upstream fills in the title, the lookback delta and the agent mode,
 * which this UI does not need or reads from the API instead, and a static
 * file keeps its ETag valid for the life of the binary.
 *
 * The asset table is generated at build time (ui_embed.c) and sorted, so a
 * lookup is a binary search; no state is kept per server, which is why the
 * redirect base is a borrowed string passed as the route's userdata.
 */
#include "web/ui.h"

#include <string.h>

/* Pages of upstream's Mantine UI (Prometheus 3.x) that this server has:
 * all of them but /agent, which belongs to agent mode. */
static const char *const pages[] = {
    "/query",
    "/graph",
    "/alerts",
    "/targets",
    "/rules",
    "/service-discovery",
    "/config",
    "/flags",
    "/status",
    "/tsdb-status",
    "/alertmanager-discovery",
};

const web_ui_asset *web_ui_find(const char *path)
{
    size_t lo = 0, hi = web_ui_nassets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, web_ui_assets[mid].path);
        if (c == 0) return &web_ui_assets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Whether an If-None-Match header names etag (or is "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm) return false;
    if (strcmp(inm, "*") == 0) return true;
    size_t n = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += n) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ') return true;
    }
    return false;
}

static void send_asset(core_http_req *req, core_http_resp *resp, const web_ui_asset *a)
{
    core_http_resp_header(resp, "ETag", a->etag);
    core_http_resp_header(resp, "Cache-Control", "no-cache");
    core_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    resp->content_type = a->content_type;
    if (etag_matches(core_http_header(req, "If-None-Match"), a->etag)) {
        resp->status = 304;
        return;
    }
    core_sb_add(&resp->body, (const char *)a->data, a->len);
}

static void not_found(core_http_resp *resp)
{
    core_http_resp_text(resp, 404, "404 page not found\n");
}

static void serve_page(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)userdata;
    const web_ui_asset *a = web_ui_find("/index.html");
    if (!a) {
        not_found(resp);
        return;
    }
    send_asset(req, resp, a);
}

static void serve_asset(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)userdata;
    const char *rest = core_http_param(req, "path");
    core_arena *arena = core_http_arena(req);
    size_t n = rest ? strlen(rest) : 0;
    char *path = core_arena_alloc(arena, n + sizeof "/assets/");
    memcpy(path, "/assets/", sizeof "/assets/");
    if (n) memcpy(path + sizeof "/assets/" - 1, rest, n + 1);
    const web_ui_asset *a = web_ui_find(path);
    if (!a) {
        not_found(resp);
        return;
    }
    send_asset(req, resp, a);
}

static void serve_favicon(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)userdata;
    const web_ui_asset *a = web_ui_find("/favicon.svg");
    if (!a) {
        not_found(resp);
        return;
    }
    send_asset(req, resp, a);
}

/* 302 to <base>/query, with the little HTML body Go's http.Redirect writes
 * for a GET. */
static void serve_home(core_http_req *req, core_http_resp *resp, void *userdata)
{
    (void)req;
    const char *base = userdata ? userdata : "";
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    core_sb loc = CORE_SB_INIT;
    core_sb_add(&loc, base, n);
    core_sb_adds(&loc, "/query");
    core_http_resp_header(resp, "Location", loc.buf);
    resp->status = 302;
    resp->content_type = "text/html; charset=utf-8";
    core_sb_addf(&resp->body, "<a href=\"%s\">Found</a>.\n\n", loc.buf);
    core_sb_destroy(&loc);
}

int web_ui_register(core_http_server *srv, const char *external_url, const char *route_prefix,
                    core_err *err)
{
    /* The redirect's base: the external URL's path when it has one, else
     * the route prefix (upstream uses the external URL's path alone, which
     * loses a prefix given only with --web.route-prefix). */
    const char *base = route_prefix ? route_prefix : "";
    const char *scheme = external_url ? strstr(external_url, "://") : NULL;
    const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
    if (path && path[strspn(path, "/")]) base = path;
    if (core_http_route(srv, "GET", "/", serve_home, (void *)base, err) < 0) return -1;
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        if (core_http_route(srv, "GET", pages[i], serve_page, NULL, err) < 0) return -1;
    if (core_http_route(srv, "GET", "/assets/*path", serve_asset, NULL, err) < 0 ||
        core_http_route(srv, "GET", "/favicon.svg", serve_favicon, NULL, err) < 0)
        return -1;
    return 0;
}
