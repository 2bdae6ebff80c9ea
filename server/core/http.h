/*
 * http.h - the HTTP server every program serves through (on libmicrohttpd).
 *
 * A server listens on one or more addresses, routes each request by method and
 * path to a handler, and takes care of what every endpoint needs alike:
 *
 *   - routing with path parameters (`/api/v1/label/:name/values`) and a trailing
 *     catch-all (`/metrics/job/` followed by `*rest`); a known path with another method gets 405
 *     with an Allow header, an unknown path 404; HEAD is served by the GET route;
 *   - the request body read whole, up to a limit; past it the answer is 413;
 *   - query string and form-encoded POST bodies parsed together, like Go's
 *     r.Form (body values first, then the URL's);
 *   - the response gzip-compressed when the client accepts gzip;
 *   - a connection timeout, so a slow or silent client cannot hold a slot;
 *   - `/-/healthy` (always 200) and `/-/ready` (200 once core_http_set_ready(true),
 *     503 before), built in;
 *   - an optional route prefix (`--web.route-prefix`) in front of every route;
 *   - an observer called after each request (for request-count metrics).
 *
 * Handlers run on the server's worker threads, several at once; the request's
 * arena is freed when the response is sent.
 */
#ifndef CORE_HTTP_H
#define CORE_HTTP_H

#include "core/arena.h"
#include "core/err.h"
#include "core/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct core_http_server core_http_server;
typedef struct core_http_req core_http_req;

/* One extra response header; both strings are owned by the response. */
struct core_http_header {
    char *name;
    char *value;
};

/* The response a handler fills.  The server initialises it before calling the
 * handler and sends and frees it afterwards; a handler that leaves it alone
 * answers 200 with an empty body. */
typedef struct core_http_resp {
    int status; /* default 200; anything outside 200..599 is sent as 500 */
    /* default "text/plain; charset=utf-8"; must live as long as the request (a
     * literal, or a string from core_http_arena()) */
    const char *content_type;
    core_sb body;
    /* set to send the body as is even if the client accepts gzip (a body the
     * handler compressed itself, with its own Content-Encoding, is never touched) */
    bool no_compress;
    /* Extra headers are added with core_http_resp_header(). */
    struct core_http_header *headers;
    size_t n_headers;
} core_http_resp;

/* A request handler: reads req, fills resp.  It must not keep req past its return. */
typedef void (*core_http_handler)(core_http_req *req, core_http_resp *resp, void *userdata);

/* Called after every response is queued, on the worker thread that served it (so
 * possibly on several threads at once), with the pattern of the route that matched,
 * route prefix included ("/prefix/api/v1/query"; "" when none did), the request's
 * method (HEAD stays HEAD), the status sent and the seconds spent since the request
 * line arrived. */
typedef void (*core_http_observer)(const char *route, const char *method, int status,
                                   double seconds, void *userdata);

typedef struct core_http_opts {
    /* Addresses to listen on: "host:port", ":port" (every interface, IPv4 and IPv6),
     * "[::1]:port".  A host name is resolved at start and the first address it
     * resolves to is bound.  Port 0 picks a free port; core_http_port() tells which. */
    const char *const *listen;
    size_t n_listen;
    size_t max_body_bytes;   /* 0: 10 MiB */
    unsigned conn_timeout_s; /* idle connection timeout; 0: 30 s */
    /* worker threads; 0: 4.  Each serves many connections in turn, so this is also
     * how many handlers run at once: a handler that blocks holds up the other
     * connections of its thread. */
    unsigned threads;
    /* One thread per connection instead of the pool (`threads` is then
     * ignored): a handler that blocks (a query waiting for its turn) holds up
     * only its own connection, so /-/healthy and the rest stay answered, as a
     * Go server's goroutine per connection does.  Bounded by max_conns. */
    bool thread_per_connection;
    unsigned max_conns; /* 0: 512 */
    /* MHD's memory pool per connection (request line, headers, query arguments, read
     * buffer); 0: 64 KiB, which holds some 700 query arguments.  Up to 32 KiB MHD
     * takes it from malloc; above, it maps and unmaps it for each connection, which
     * costs a program answering one short GET per connection (an exporter) some 9
     * page faults and two system calls a request. */
    size_t conn_memory;
    const char *route_prefix;   /* e.g. "/prometheus"; NULL or "/" for none */
    const char *healthy_body;   /* body of /-/healthy; NULL: "OK\n" */
    const char *ready_body;     /* body of /-/ready when ready; NULL: "OK\n" */
    const char *not_ready_body; /* body of /-/ready before; NULL: "Service Unavailable\n" */
} core_http_opts;

/* Creates a server (not yet listening).  Fails on a malformed listen address:
 * `invalid listen address "9090": missing port`. */
core_http_server *core_http_new(const core_http_opts *opts, core_err *err);
/* Adds a route; call before core_http_start.  `method` is "GET", "POST", "PUT",
 * "DELETE", ...; `pattern` is a path whose segments may be `:name` (one non-empty
 * segment) and whose last segment may be `*name` (the rest of the path, possibly
 * empty, without its leading '/': after "/a", a last segment "*rest" matches "/a",
 * "/a/" and "/a/b/c").
 * When several routes match a path, the one whose first differing segment is a
 * literal wins over a `:name`, which wins over a `*name`.  The route prefix is
 * not part of the pattern.  Fails on a malformed pattern, after start, and on a
 * pattern that clashes with one already added for the same method (the same
 * segments, parameter names aside). */
int core_http_route(core_http_server *srv, const char *method, const char *pattern,
                    core_http_handler handler, void *userdata, core_err *err);
/* Sets the observer; call before core_http_start. */
void core_http_set_observer(core_http_server *srv, core_http_observer fn, void *userdata);
/* Binds every address and starts serving.  Fails with the address and the system's
 * reason ("listen on 127.0.0.1:9090: Address already in use"). */
int core_http_start(core_http_server *srv, core_err *err);
/* The port bound for listen address number `i` (after start; 0 before). */
uint16_t core_http_port(const core_http_server *srv, size_t i);
/* Switches /-/ready between 503 and 200.  Thread-safe. */
void core_http_set_ready(core_http_server *srv, bool ready);
/* Stops listening, waits for running handlers, and frees the server.  NULL is allowed. */
void core_http_free(core_http_server *srv);

/* Request accessors.  Returned strings are borrowed and live as long as the request. */
const char *core_http_method(const core_http_req *req);
/* The path after the route prefix, percent-decoded ("/" for the prefix itself). */
const char *core_http_path(const core_http_req *req);
/* A path parameter by name (":name" or "*name" in the pattern), or NULL.  Each
 * segment is decoded on its own, so "%2F" in a segment stays a '/' in its value. */
const char *core_http_param(const core_http_req *req, const char *name);
/* The first value of a query or form argument, or NULL. */
const char *core_http_arg(const core_http_req *req, const char *name);
/* Every value of a repeated argument (e.g. match[]), body values first, then the
 * URL's, each in order; returns the count and points *values at an array that lives
 * as long as the request (NULL when the count is 0).  Arguments whose escapes are
 * malformed are left out, as Go does. */
size_t core_http_args(const core_http_req *req, const char *name, const char *const **values);
/* A request header (case-insensitive name), or NULL. */
const char *core_http_header(const core_http_req *req, const char *name);
/* The body (NUL-terminated for convenience; len excludes the NUL). */
const char *core_http_body(const core_http_req *req, size_t *len);
/* The remote address as text ("127.0.0.1:53422", "[::1]:53422"; an IPv4 client of a
 * dual-stack socket shows as IPv4). */
const char *core_http_remote(const core_http_req *req);
/* Memory freed with the request. */
core_arena *core_http_arena(core_http_req *req);

/* Adds a response header (name and value copied). */
void core_http_resp_header(core_http_resp *resp, const char *name, const char *value);
/* Sets status and a plain-text body in one go, replacing any body, e.g. for errors. */
void core_http_resp_text(core_http_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
