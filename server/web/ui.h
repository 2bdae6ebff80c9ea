/*
 * ui.h - prom-server's web UI, the part of server/web's door that serves it.
 *
 * The UI is a single-page application in plain JavaScript (server/web/ui/),
 * whose files are compiled into the binary at build time (ui_embed.c turns
 * each into a C array; see server/web/CMakeLists.txt).  It talks only to the
 * JSON API of web.h.  web_ui_register adds upstream's routes (Prometheus 3.x,
 * web/web.go) under the server's route prefix:
 *
 *   GET /                      302 to <base>/query (upstream's home page)
 *   GET /query, /graph, /targets, /service-discovery, /config, /flags,
 *       /status, /tsdb-status  the application's page (index.html); the
 *                              script picks the page from the path, and
 *                              turns /graph?g0.expr=... into /query?g0.expr=...
 *   GET /assets/<path>         scripts, style sheets, images
 *   GET /favicon.svg           the icon
 *
 * <base> is the path of --web.external-url when it has one (the path the
 * browser sees behind a proxy), else the route prefix.  Every link inside the
 * application is relative, so pages work under any prefix.  Assets carry an
 * ETag (a hash of their content, made at build time) and "Cache-Control:
 * no-cache": browsers revalidate and get 304 while the binary is the same.
 */
#ifndef WEB_UI_H
#define WEB_UI_H

#include "core/core.h"

#include <stddef.h>

/* Adds the UI's routes to srv (before core_http_start).  external_url is
 * --web.external-url ("" or NULL: none), route_prefix the normalised
 * --web.route-prefix ("" or "/prefix"); both are borrowed and must live as
 * long as the server. */
int web_ui_register(core_http_server *srv, const char *external_url, const char *route_prefix,
                    core_err *err);

/* ---- What ui.c and its tests share with the generated asset table. */

/* One embedded file. */
typedef struct web_ui_asset {
    const char *path;         /* from server/web/ui/: "/index.html", "/assets/app.js" */
    const char *content_type; /* from the file's extension */
    const char *etag;         /* "\"<16 hex digits>\"" */
    const unsigned char *data;
    size_t len;
} web_ui_asset;

/* The table, sorted by path (strcmp), written by ui_embed at build time. */
extern const web_ui_asset web_ui_assets[];
extern const size_t web_ui_nassets;

/* The asset at path ("/assets/app.js"), or NULL. */
const web_ui_asset *web_ui_find(const char *path);

#endif
