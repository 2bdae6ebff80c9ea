/*
 * http.c - the HTTP server, on libmicrohttpd (MHD).
 *
 * Listening.  One MHD daemon per listen address, each with a pool of worker threads
 * sharing the listening socket.  The workers use poll(), not epoll: in epoll mode an MHD
 * worker accepts up to ten pending connections per wakeup, so a burst of keep-alive
 * clients lands on one worker and is served one request at a time (measured with the
 * concurrency test: 8 clients, 4 workers, at most 1 handler running at once with epoll,
 * 4 with poll); in poll mode a worker accepts one connection per wakeup and the next
 * ones go to the others.  A worker polls at most max_conns / threads sockets (128 by
 * default).  A handler that blocks holds up the other connections of its worker, so
 * `threads` bounds how many requests are served at once.  With
 * thread_per_connection each connection has its own thread instead (prom-server,
 * whose query handlers may wait for a slot).
 *
 * We create, bind and listen on the sockets ourselves and hand them over with
 * MHD_OPTION_LISTEN_SOCKET: MHD_start_daemon only returns NULL when it cannot bind, while
 * the user wants the system's reason ("Address already in use"), and ":port" gets a
 * dual-stack socket (IPV6_V6ONLY off) whatever MHD's flags do.
 *
 * A request goes through three MHD callbacks, all on the connection's worker thread
 * (the only thread where MHD lets us queue the response):
 *   - the URI log callback, once the request line is in, allocates the request state
 *     and keeps the raw request target: the URL MHD gives the access handler is already
 *     unescaped, and there "%2F" can no longer be told from '/';
 *   - the access handler, called first when the headers are in: the path is routed then,
 *     and a declared Content-Length above the limit gets its 413 at once, before any of
 *     the body is read; then once per piece of body, which is appended up to the limit
 *     and dropped past it (a chunked upload has no length to check up front); then once
 *     at the end, when the handler runs and the response is queued;
 *   - the completion callback frees the request state, arena included.
 *
 * Routing.  Routes sit in one array sorted by priority, so the first route that matches
 * a path is the one that should serve it: patterns compare segment by segment, and at
 * the first difference the end of the pattern comes before a literal, a literal before
 * a :param and a :param before a *catch-all (httprouter's order), literals among
 * themselves alphabetically (they never match the same segment).  Because every route
 * is tried, "/a/:x/c" still serves "/a/b/c" next to "/a/b/d", a pair httprouter
 * refuses.  A linear scan is enough for the few dozen routes a program has; a trie
 * would be worth its code only with hundreds.  The path is split on raw '/' first and
 * each segment decoded on its own, so "%2F" stays inside its segment.
 *
 * Responses are built whole in memory (core_sb), gzip-compressed in one deflate call
 * when the client accepts gzip, and handed to MHD without a copy.
 */
#include "core/http.h"
#include "core/duration.h"
#include "core/mem.h"

#include <microhttpd.h>
#define ZLIB_CONST /* next_in points to const */
#include <zlib.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY     (10 * 1024 * 1024)
#define DEFAULT_TIMEOUT_S    30
#define DEFAULT_THREADS      4
#define DEFAULT_MAX_CONNS    512
#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"

/* Each connection's MHD memory pool holds the request line, the headers and MHD's own
 * parse of the query arguments (some 60 bytes each), and the rest serves as read buffer;
 * MHD touches all of it, so it is what every open connection costs.  Measured with
 * arguments "a=1": MHD's default of 32 KiB passes 400 and drops a GET with 500 without
 * an answer, and refuses a 60 KB query string; 64 KiB passes 700 and the 60 KB string. */
#define CONN_MEMORY (64 * 1024) /* the default of core_http_opts.conn_memory */

/* Segment kinds in priority order; SEG_END stands for "the pattern has ended". */
enum seg_kind { SEG_END, SEG_LITERAL, SEG_PARAM, SEG_CATCH_ALL };

struct segment {
    enum seg_kind kind;
    char *text; /* the literal, or the parameter's name */
};

struct route {
    char *method;
    char *pattern; /* route prefix + pattern, as the observer reports it */
    struct segment *segs;
    size_t n_segs;
    core_http_handler handler;
    void *userdata;
};

struct listener {
    char *addr; /* as given, for messages */
    char *host; /* NULL: every interface */
    uint16_t port;
    uint16_t bound_port;
    struct MHD_Daemon *daemon;
};

struct core_http_server {
    struct listener *listeners;
    size_t n_listeners;
    struct route *routes; /* sorted by priority, see the top of the file */
    size_t n_routes;
    char *prefix; /* "" or "/prefix", without a trailing '/' */
    char **prefix_segs;
    size_t n_prefix_segs;
    size_t max_body;
    unsigned timeout_s, threads, max_conns;
    size_t conn_memory;
    bool per_connection;
    char *healthy_body, *ready_body, *not_ready_body;
    core_http_observer observer;
    void *observer_userdata;
    atomic_bool ready;
    bool started;
};

enum outcome { ROUTE_FOUND, ROUTE_BAD_REQUEST, ROUTE_NOT_FOUND, ROUTE_NOT_ALLOWED };

struct arg {
    const char *name;
    const char *value;
    size_t seq; /* order of appearance, to keep repeated names in order */
};

struct core_http_req {
    core_http_server *srv;
    struct MHD_Connection *conn;
    core_arena arena;
    double start;
    const char *target; /* raw request target: path and query, not decoded */
    const char *method;
    const char *path;
    enum outcome outcome;
    const struct route *route;
    const char **params;                  /* values of route->segs, by index; NULL for literals */
    const char *allow;                    /* the Allow header of a 405 */
    const char **arg_names, **arg_values; /* sorted by name, then appearance */
    size_t n_args;
    core_sb body;
    bool begun, too_large;
    char remote[NI_MAXHOST + NI_MAXSERV + 4];
};

/* ---- percent-decoding and splitting ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the %XX escapes of s[0..n) (and '+' as a space when `plus`) into the arena.
 * NULL on a malformed escape, and on "%00", which no C string can carry. */
static char *url_decode(core_arena *a, const char *s, size_t n, bool plus)
{
    char *out = core_arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3) return NULL;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0) return NULL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += s[i] == c;
    return count;
}

/* Splits s[0..n) (a path without its leading '/') on '/' and decodes each segment.
 * NULL on a malformed escape. */
static char **split_path(core_arena *a, const char *s, size_t n, size_t *count)
{
    *count = count_char(s, n, '/') + 1;
    char **segs = core_arena_alloc(a, *count * sizeof *segs);
    const char *end = s + n;
    for (size_t i = 0; i < *count; i++) {
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *stop = slash != NULL ? slash : end;
        segs[i] = url_decode(a, s, (size_t)(stop - s), false);
        if (segs[i] == NULL) return NULL;
        s = stop + 1;
    }
    return segs;
}

/* `lead` followed by the segments joined with '/'. */
static const char *join_segments(core_arena *a, const char *lead, char *const *segs, size_t n)
{
    size_t lead_len = strlen(lead), len = lead_len + n;
    for (size_t i = 0; i < n; i++)
        len += strlen(segs[i]);
    char *out = core_arena_alloc(a, len + 1), *o = out;
    memcpy(o, lead, lead_len);
    o += lead_len;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) *o++ = '/';
        size_t sl = strlen(segs[i]);
        memcpy(o, segs[i], sl);
        o += sl;
    }
    *o = '\0';
    return out;
}

/* ---- route patterns ---- */

static void route_destroy(struct route *r)
{
    for (size_t i = 0; i < r->n_segs; i++)
        free(r->segs[i].text);
    free(r->segs);
    free(r->method);
    free(r->pattern);
}

static int compile_pattern(const char *pattern, struct route *r, core_err *err)
{
    if (pattern[0] != '/')
        return core_err_set(err, "invalid route pattern \"%s\": must start with '/'", pattern);
    const char *p = pattern + 1;
    r->n_segs = count_char(p, strlen(p), '/') + 1;
    r->segs = core_calloc(r->n_segs, sizeof *r->segs);
    for (size_t i = 0; i < r->n_segs; i++) {
        struct segment *s = &r->segs[i];
        size_t len = strcspn(p, "/");
        s->kind = p[0] == ':' ? SEG_PARAM : p[0] == '*' ? SEG_CATCH_ALL : SEG_LITERAL;
        size_t skip = s->kind == SEG_LITERAL ? 0 : 1;
        s->text = core_strndup(p + skip, len - skip);
        if (s->kind != SEG_LITERAL && s->text[0] == '\0')
            return core_err_set(err, "invalid route pattern \"%s\": empty parameter name", pattern);
        if (s->kind == SEG_CATCH_ALL && i + 1 < r->n_segs)
            return core_err_set(err, "invalid route pattern \"%s\": *%s must be the last segment",
                                pattern, s->text);
        p += len + 1;
    }
    return 0;
}

static enum seg_kind kind_at(const struct route *r, size_t i)
{
    return i < r->n_segs ? r->segs[i].kind : SEG_END;
}

/* Orders routes by priority (see the top of the file); 0 means the same shape. */
static int compare_routes(const struct route *a, const struct route *b)
{
    for (size_t i = 0;; i++) {
        enum seg_kind ka = kind_at(a, i), kb = kind_at(b, i);
        if (ka != kb) return ka < kb ? -1 : 1;
        if (ka == SEG_END) return 0;
        if (ka == SEG_LITERAL) {
            int c = strcmp(a->segs[i].text, b->segs[i].text);
            if (c != 0) return c;
        }
    }
}

static bool route_matches(const struct route *r, char *const *segs, size_t n)
{
    for (size_t i = 0; i < r->n_segs; i++) {
        const struct segment *s = &r->segs[i];
        if (s->kind == SEG_CATCH_ALL) return true;
        if (i >= n) return false;
        if (s->kind == SEG_PARAM ? segs[i][0] == '\0' : strcmp(s->text, segs[i]) != 0) return false;
    }
    return r->n_segs == n;
}

/* ---- routing a request ---- */

/* Drops the route prefix's segments; false when the path lies outside the prefix. */
static bool strip_prefix(const core_http_server *srv, core_arena *a, char ***segs, size_t *n)
{
    if (*n < srv->n_prefix_segs) return false;
    for (size_t i = 0; i < srv->n_prefix_segs; i++)
        if (strcmp((*segs)[i], srv->prefix_segs[i]) != 0) return false;
    *segs += srv->n_prefix_segs;
    *n -= srv->n_prefix_segs;
    if (*n == 0) { /* the prefix itself stands for "/" */
        *segs = core_arena_alloc(a, sizeof **segs);
        (*segs)[0] = core_arena_strdup(a, "");
        *n = 1;
    }
    return true;
}

/* Keeps the parameter values of the route that serves the request. */
static void bind_route(core_http_req *req, const struct route *r, char *const *segs, size_t n)
{
    req->outcome = ROUTE_FOUND;
    req->route = r;
    req->params = core_arena_calloc(&req->arena, r->n_segs, sizeof *req->params);
    for (size_t i = 0; i < r->n_segs; i++) {
        if (r->segs[i].kind == SEG_PARAM)
            req->params[i] = segs[i];
        else if (r->segs[i].kind == SEG_CATCH_ALL)
            req->params[i] = join_segments(&req->arena, "", segs + i, n - i);
    }
}

/* Inserts `method` into the sorted set names[0..*n) unless present. */
static void add_method(const char **names, size_t *n, const char *method)
{
    size_t i = 0;
    while (i < *n && strcmp(names[i], method) < 0)
        i++;
    if (i < *n && strcmp(names[i], method) == 0) return;
    memmove(names + i + 1, names + i, (*n - i) * sizeof *names);
    names[i] = method;
    (*n)++;
}

/* 405: the methods of every route matching the path, HEAD included when GET is. */
static void refuse_method(core_http_req *req, const char **allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(allowed[i], "GET") == 0) {
            add_method(allowed, &n, "HEAD");
            break;
        }
    core_sb sb = CORE_SB_INIT;
    for (size_t i = 0; i < n; i++)
        core_sb_addf(&sb, "%s%s", i > 0 ? ", " : "", allowed[i]);
    req->allow = core_arena_strdup(&req->arena, sb.buf);
    core_sb_destroy(&sb);
    req->outcome = ROUTE_NOT_ALLOWED;
}

/* Picks the route: the first (highest-priority) one with the request's method, else
 * for HEAD the first GET one; with none, 405 if another method's route matches. */
static void match_route(core_http_req *req, char *const *segs, size_t n)
{
    const core_http_server *srv = req->srv;
    bool head = strcmp(req->method, "HEAD") == 0;
    const struct route *get = NULL;
    const char **allowed = core_arena_alloc(&req->arena, (srv->n_routes + 1) * sizeof *allowed);
    size_t n_allowed = 0;
    for (size_t i = 0; i < srv->n_routes; i++) {
        const struct route *r = &srv->routes[i];
        if (!route_matches(r, segs, n)) continue;
        if (strcmp(r->method, req->method) == 0) {
            bind_route(req, r, segs, n);
            return;
        }
        if (head && get == NULL && strcmp(r->method, "GET") == 0) get = r;
        add_method(allowed, &n_allowed, r->method);
    }
    if (get != NULL)
        bind_route(req, get, segs, n);
    else if (n_allowed > 0)
        refuse_method(req, allowed, n_allowed);
    else
        req->outcome = ROUTE_NOT_FOUND;
}

static void route_request(core_http_req *req)
{
    const char *t = req->target;
    size_t len = strcspn(t, "?#"), n;
    char **segs;
    if (t[0] != '/' || (segs = split_path(&req->arena, t + 1, len - 1, &n)) == NULL)
        req->outcome = ROUTE_BAD_REQUEST;
    else if (!strip_prefix(req->srv, &req->arena, &segs, &n))
        req->outcome = ROUTE_NOT_FOUND;
    else {
        req->path = join_segments(&req->arena, "/", segs, n);
        match_route(req, segs, n);
    }
}

/* ---- query and form arguments ---- */

/* Appends the name=value pairs of a form-encoded string to args. */
static void parse_pairs(core_arena *a, const char *s, size_t n, struct arg *args, size_t *k)
{
    const char *end = s + n;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        const char *name_end = eq != NULL ? eq : stop;
        const char *name = url_decode(a, s, (size_t)(name_end - s), true);
        const char *value = eq != NULL ? url_decode(a, eq + 1, (size_t)(stop - eq - 1), true) : "";
        if (stop > s && name != NULL && value != NULL) {
            args[*k] = (struct arg){name, value, *k};
            (*k)++;
        }
        if (amp == NULL) break;
        s = amp + 1;
    }
}

static bool is_form_post(const core_http_req *req)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *m = req->method;
    if (strcmp(m, "POST") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "PATCH") != 0) return false;
    const char *ct = core_http_header(req, "Content-Type");
    if (ct == NULL) return false;
    ct += strspn(ct, " \t");
    if (strncasecmp(ct, form, sizeof form - 1) != 0) return false;
    char next = ct[sizeof form - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

static int compare_args(const void *pa, const void *pb)
{
    const struct arg *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Parses the form body (when there is one) then the query string, as Go's r.Form,
 * and sorts the pairs by name so that a name's values sit together, in order. */
static void parse_args(core_http_req *req)
{
    const char *q = strchr(req->target, '?');
    const char *query = q != NULL ? q + 1 : "";
    size_t qlen = strcspn(query, "#"), blen;
    const char *body = core_http_body(req, &blen);
    bool form = is_form_post(req);
    size_t max = count_char(query, qlen, '&') + 1;
    if (form) max += count_char(body, blen, '&') + 1;
    struct arg *args = core_arena_alloc(&req->arena, max * sizeof *args);
    size_t k = 0;
    if (form) parse_pairs(&req->arena, body, blen, args, &k);
    parse_pairs(&req->arena, query, qlen, args, &k);
    qsort(args, k, sizeof *args, compare_args);
    req->arg_names = core_arena_alloc(&req->arena, k * sizeof *req->arg_names);
    req->arg_values = core_arena_alloc(&req->arena, k * sizeof *req->arg_values);
    for (size_t i = 0; i < k; i++) {
        req->arg_names[i] = args[i].name;
        req->arg_values[i] = args[i].value;
    }
    req->n_args = k;
}

/* ---- responses ---- */

static void resp_init(core_http_resp *resp)
{
    *resp = (core_http_resp){.status = 200, .content_type = DEFAULT_CONTENT_TYPE};
}

static void resp_destroy(core_http_resp *resp)
{
    core_sb_destroy(&resp->body);
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
}

static bool resp_has_header(const core_http_resp *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0) return true;
    return false;
}

/* Whether the ";q=..." parameters in p[0..end) set q to zero. */
static bool q_is_zero(const char *p, const char *end)
{
    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        p++;
        p += strspn(p, " \t");
        if ((*p != 'q' && *p != 'Q') || p[1] != '=') continue;
        p += 2;
        if (*p++ != '0') return false;
        if (*p == '.') p += 1 + strspn(p + 1, "0");
        return !(*p >= '1' && *p <= '9');
    }
    return false;
}

/* Whether an Accept-Encoding value admits gzip: a "gzip" coding whose q is not 0. */
static bool accepts_gzip(const char *accept)
{
    if (accept == NULL) return false;
    for (const char *p = accept; *p != '\0';) {
        size_t n = strcspn(p, ",");
        const char *coding = p + strspn(p, " \t");
        size_t len = strcspn(coding, ";, \t");
        if (len == 4 && strncasecmp(coding, "gzip", 4) == 0 && !q_is_zero(coding + 4, p + n))
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* Compresses in[0..n) into a malloc'ed gzip member; false if zlib fails. */
static bool gzip_body(const char *in, size_t n, void **out, size_t *out_len)
{
    z_stream zs = {0};
    if (n > UINT_MAX || deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    uLong bound = deflateBound(&zs, (uLong)n);
    unsigned char *buf = core_malloc(bound);
    zs.next_in = (const Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = zs.total_out;
    return true;
}

static struct MHD_Response *build_response(const core_http_req *req, core_http_resp *resp)
{
    bool compressible =
        !resp->no_compress && resp->body.len > 0 && !resp_has_header(resp, "Content-Encoding");
    void *data = NULL;
    size_t len = 0;
    bool gzipped = compressible && accepts_gzip(core_http_header(req, "Accept-Encoding")) &&
                   gzip_body(resp->body.buf, resp->body.len, &data, &len);
    if (!gzipped) data = core_sb_detach(&resp->body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (r == NULL) {
        free(data);
        return NULL;
    }
    const char *type = resp->content_type != NULL ? resp->content_type : DEFAULT_CONTENT_TYPE;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (compressible) MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (gzipped) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    for (size_t i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    return r;
}

/* Queues the response, frees it, and tells the observer. */
static enum MHD_Result respond(core_http_req *req, core_http_resp *resp)
{
    int status = resp->status >= 200 && resp->status <= 599 ? resp->status : 500;
    struct MHD_Response *r = build_response(req, resp);
    enum MHD_Result rc = MHD_NO;
    if (r != NULL) {
        rc = MHD_queue_response(req->conn, (unsigned)status, r);
        MHD_destroy_response(r);
    }
    resp_destroy(resp);
    const core_http_server *srv = req->srv;
    if (srv->observer != NULL)
        srv->observer(req->route != NULL ? req->route->pattern : "", req->method, status,
                      core_monotonic_seconds() - req->start, srv->observer_userdata);
    return rc;
}

static enum MHD_Result respond_error(core_http_req *req, int status, const char *text)
{
    core_http_resp resp;
    resp_init(&resp);
    core_http_resp_text(&resp, status, "%s", text);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) core_http_resp_header(&resp, "Allow", req->allow);
    return respond(req, &resp);
}

static enum MHD_Result respond_too_large(core_http_req *req)
{
    core_http_resp resp;
    resp_init(&resp);
    core_http_resp_text(&resp, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body too large (limit %zu bytes)\n", req->srv->max_body);
    return respond(req, &resp);
}

/* ---- the MHD callbacks ---- */

/* Formats the peer as "ip:port" or "[ip6]:port"; IPv4-mapped addresses as IPv4. */
static void format_remote(const struct sockaddr *sa, char *buf, size_t size)
{
    struct sockaddr_in v4;
    socklen_t len = sizeof(struct sockaddr_in);
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        len = sizeof *v6;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            v4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = v6->sin6_port};
            memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], sizeof v4.sin_addr);
            sa = (const struct sockaddr *)&v4;
            len = sizeof v4;
        }
    }
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        buf[0] = '\0';
    else if (sa->sa_family == AF_INET6)
        snprintf(buf, size, "[%s]:%s", host, port);
    else
        snprintf(buf, size, "%s:%s", host, port);
}

static uint64_t declared_length(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl != NULL ? strtoull(cl, NULL, 10) : 0;
}

/* Request line read: allocate the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    core_http_req *req = core_calloc(1, sizeof *req);
    req->srv = cls;
    req->start = core_monotonic_seconds();
    core_arena_init(&req->arena, 0);
    req->target = core_arena_strdup(&req->arena, uri);
    return req;
}

/* Headers read: route, and refuse a body declared too large before reading it. */
static enum MHD_Result begin(core_http_req *req, struct MHD_Connection *conn, const char *method)
{
    req->begun = true;
    req->conn = conn;
    req->method = method;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info != NULL) format_remote(info->client_addr, req->remote, sizeof req->remote);
    route_request(req);
    if (declared_length(conn) > req->srv->max_body) {
        req->too_large = true;
        return respond_too_large(req);
    }
    return MHD_YES;
}

static void take_body(core_http_req *req, const char *data, size_t n)
{
    if (req->too_large) return;
    if (n > req->srv->max_body - req->body.len) {
        req->too_large = true;
        core_sb_destroy(&req->body);
        return;
    }
    core_sb_add(&req->body, data, n);
}

/* Request read whole: run the handler, or answer the routing error. */
static enum MHD_Result finish(core_http_req *req)
{
    if (req->too_large) return respond_too_large(req);
    switch (req->outcome) {
    case ROUTE_BAD_REQUEST: return respond_error(req, MHD_HTTP_BAD_REQUEST, "400 Bad Request\n");
    case ROUTE_NOT_FOUND: return respond_error(req, MHD_HTTP_NOT_FOUND, "404 page not found\n");
    case ROUTE_NOT_ALLOWED:
        return respond_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    case ROUTE_FOUND: break;
    }
    parse_args(req);
    core_http_resp resp;
    resp_init(&resp);
    req->route->handler(req, &resp, req->route->userdata);
    return respond(req, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    core_http_req *req = *con_cls;
    if (req == NULL) return MHD_NO; /* on_uri runs first for every request */
    if (!req->begun) return begin(req, conn, method);
    if (*data_size > 0) {
        take_body(req, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    return finish(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    core_http_req *req = *con_cls;
    if (req == NULL) return;
    core_sb_destroy(&req->body);
    core_arena_destroy(&req->arena);
    free(req);
    *con_cls = NULL;
}

/* ---- listening ---- */

/* Splits "host:port", ":port" or "[v6]:port" the way Go's net.SplitHostPort does. */
static int parse_listen(const char *addr, struct listener *l, core_err *err)
{
    const char *colon = strrchr(addr, ':'), *host = addr, *why = NULL;
    size_t host_len = colon != NULL ? (size_t)(colon - addr) : 0;
    if (colon == NULL) {
        why = "missing port";
    } else if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL)
            why = "missing ']'";
        else if (close[1] != ':')
            why = "missing port";
        else if (close + 1 != colon)
            why = "too many colons";
        host = addr + 1;
        host_len = close != NULL ? (size_t)(close - host) : 0;
    } else if (memchr(addr, ':', host_len) != NULL) {
        why = "too many colons";
    }
    if (why == NULL) {
        const char *port = colon + 1;
        size_t digits = strspn(port, "0123456789");
        unsigned long v = strtoul(port, NULL, 10);
        if (digits == 0 || digits > 5 || port[digits] != '\0' || v > 65535) why = "invalid port";
        l->port = (uint16_t)v;
    }
    if (why != NULL) return core_err_set(err, "invalid listen address \"%s\": %s", addr, why);
    l->addr = core_strdup(addr);
    l->host = host_len > 0 ? core_strndup(host, host_len) : NULL;
    return 0;
}

/* A non-blocking listening socket bound to sa; -1 with errno set on failure. */
static int listen_on(const struct sockaddr *sa, socklen_t len, bool dual_stack)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        (!dual_stack || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) == 0) &&
        bind(fd, sa, len) == 0 && listen(fd, SOMAXCONN) == 0)
        return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Every interface: "::" dual-stack, or 0.0.0.0 where the system has no IPv6. */
static int listen_any(uint16_t port)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a6.sin6_addr = in6addr_any;
    int fd = listen_on((const struct sockaddr *)&a6, sizeof a6, true);
    if (fd >= 0 || errno != EAFNOSUPPORT) return fd;
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    return listen_on((const struct sockaddr *)&a4, sizeof a4, false);
}

static int open_listener(const struct listener *l, core_err *err)
{
    if (l->host == NULL) {
        int fd = listen_any(l->port);
        return fd >= 0 ? fd : core_err_set(err, "listen on %s: %s", l->addr, strerror(errno));
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char port[8];
    snprintf(port, sizeof port, "%u", l->port);
    int rc = getaddrinfo(l->host, port, &hints, &res);
    if (rc != 0) return core_err_set(err, "listen on %s: %s", l->addr, gai_strerror(rc));
    int fd = listen_on(res->ai_addr, res->ai_addrlen, false);
    int saved = errno;
    freeaddrinfo(res);
    return fd >= 0 ? fd : core_err_set(err, "listen on %s: %s", l->addr, strerror(saved));
}

static int start_listener(core_http_server *srv, struct listener *l, core_err *err)
{
    int fd = open_listener(l, err);
    if (fd < 0) return -1;
    /* MHD owns the socket from here on, and closes it even when it fails to start. */
    /* clang-format off */
    if (srv->per_connection)
        l->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                         MHD_USE_POLL, 0, NULL, NULL,
                                     on_request, srv,
                                     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                     MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                     MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
                                     MHD_OPTION_CONNECTION_LIMIT, srv->max_conns,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->conn_memory,
                                     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(2u << 20),
                                     MHD_OPTION_END);
    else
        l->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
                                     on_request, srv,
                                     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                     MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                     MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
                                     MHD_OPTION_CONNECTION_LIMIT, srv->max_conns,
                                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->conn_memory,
                                     MHD_OPTION_THREAD_POOL_SIZE, srv->threads,
                                     MHD_OPTION_END);
    /* clang-format on */
    if (l->daemon == NULL)
        return core_err_set(err, "listen on %s: cannot start the HTTP server", l->addr);
    l->bound_port = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static void stop_listeners(core_http_server *srv)
{
    for (size_t i = 0; i < srv->n_listeners; i++) {
        struct listener *l = &srv->listeners[i];
        if (l->daemon != NULL) MHD_stop_daemon(l->daemon);
        l->daemon = NULL;
        l->bound_port = 0;
    }
}

/* ---- the server ---- */

/* Keeps the prefix as "/a/b" (leading '/', no trailing one; "" for none). */
static void set_prefix(core_http_server *srv, const char *prefix)
{
    core_sb sb = CORE_SB_INIT;
    if (prefix != NULL && prefix[0] != '/') core_sb_addc(&sb, '/');
    if (prefix != NULL) core_sb_adds(&sb, prefix);
    while (sb.len > 0 && sb.buf[sb.len - 1] == '/')
        core_sb_truncate(&sb, sb.len - 1);
    srv->prefix = core_sb_detach(&sb, NULL);
    if (srv->prefix[0] == '\0') return;
    const char *p = srv->prefix + 1;
    srv->n_prefix_segs = count_char(p, strlen(p), '/') + 1;
    srv->prefix_segs = core_calloc(srv->n_prefix_segs, sizeof *srv->prefix_segs);
    for (size_t i = 0; i < srv->n_prefix_segs; i++) {
        size_t len = strcspn(p, "/");
        srv->prefix_segs[i] = core_strndup(p, len);
        p += len + 1;
    }
}

static void serve_healthy(core_http_req *req, core_http_resp *resp, void *userdata)
{
    const core_http_server *srv = userdata;
    core_sb_adds(&resp->body, srv->healthy_body);
}

static void serve_ready(core_http_req *req, core_http_resp *resp, void *userdata)
{
    core_http_server *srv = userdata;
    if (atomic_load(&srv->ready))
        core_sb_adds(&resp->body, srv->ready_body);
    else
        core_http_resp_text(resp, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", srv->not_ready_body);
}

static char *dup_or(const char *s, const char *fallback)
{
    return core_strdup(s != NULL ? s : fallback);
}

core_http_server *core_http_new(const core_http_opts *opts, core_err *err)
{
    if (opts->n_listen == 0) {
        core_err_set(err, "no listen address");
        return NULL;
    }
    core_http_server *srv = core_calloc(1, sizeof *srv);
    srv->max_body = opts->max_body_bytes ? opts->max_body_bytes : DEFAULT_MAX_BODY;
    srv->timeout_s = opts->conn_timeout_s ? opts->conn_timeout_s : DEFAULT_TIMEOUT_S;
    srv->threads = opts->threads ? opts->threads : DEFAULT_THREADS;
    srv->per_connection = opts->thread_per_connection;
    srv->conn_memory = opts->conn_memory ? opts->conn_memory : CONN_MEMORY;
    srv->max_conns = opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS;
    /* MHD splits the connection limit among the threads; each needs at least one. */
    if (srv->max_conns < srv->threads) srv->max_conns = srv->threads;
    srv->healthy_body = dup_or(opts->healthy_body, "OK\n");
    srv->ready_body = dup_or(opts->ready_body, "OK\n");
    srv->not_ready_body = dup_or(opts->not_ready_body, "Service Unavailable\n");
    atomic_init(&srv->ready, false);
    set_prefix(srv, opts->route_prefix);
    srv->listeners = core_calloc(opts->n_listen, sizeof *srv->listeners);
    for (; srv->n_listeners < opts->n_listen; srv->n_listeners++) {
        if (parse_listen(opts->listen[srv->n_listeners], &srv->listeners[srv->n_listeners], err) <
            0) {
            core_http_free(srv);
            return NULL;
        }
    }
    core_http_route(srv, "GET", "/-/healthy", serve_healthy, srv, NULL);
    core_http_route(srv, "GET", "/-/ready", serve_ready, srv, NULL);
    return srv;
}

int core_http_route(core_http_server *srv, const char *method, const char *pattern,
                    core_http_handler handler, void *userdata, core_err *err)
{
    if (srv->started)
        return core_err_set(err, "route %s %s: the server is already serving", method, pattern);
    struct route r = {.handler = handler, .userdata = userdata};
    if (compile_pattern(pattern, &r, err) < 0) {
        route_destroy(&r);
        return -1;
    }
    size_t at = 0;
    int c = 1;
    while (at < srv->n_routes && (c = compare_routes(&r, &srv->routes[at])) >= 0) {
        if (c == 0 && strcmp(srv->routes[at].method, method) == 0) {
            route_destroy(&r);
            return core_err_set(err, "route %s %s clashes with %s", method, pattern,
                                srv->routes[at].pattern);
        }
        at++;
    }
    r.method = core_strdup(method);
    size_t plen = strlen(srv->prefix);
    r.pattern = core_malloc(plen + strlen(pattern) + 1);
    memcpy(r.pattern, srv->prefix, plen);
    strcpy(r.pattern + plen, pattern);
    srv->routes = core_reallocarray(srv->routes, srv->n_routes + 1, sizeof *srv->routes);
    memmove(&srv->routes[at + 1], &srv->routes[at], (srv->n_routes - at) * sizeof *srv->routes);
    srv->routes[at] = r;
    srv->n_routes++;
    return 0;
}

void core_http_set_observer(core_http_server *srv, core_http_observer fn, void *userdata)
{
    srv->observer = fn;
    srv->observer_userdata = userdata;
}

int core_http_start(core_http_server *srv, core_err *err)
{
    if (srv->started) return core_err_set(err, "the HTTP server is already serving");
    for (size_t i = 0; i < srv->n_listeners; i++) {
        if (start_listener(srv, &srv->listeners[i], err) < 0) {
            stop_listeners(srv);
            return -1;
        }
    }
    srv->started = true;
    return 0;
}

uint16_t core_http_port(const core_http_server *srv, size_t i)
{
    return i < srv->n_listeners ? srv->listeners[i].bound_port : 0;
}

void core_http_set_ready(core_http_server *srv, bool ready)
{
    atomic_store(&srv->ready, ready);
}

void core_http_free(core_http_server *srv)
{
    if (srv == NULL) return;
    stop_listeners(srv);
    for (size_t i = 0; i < srv->n_listeners; i++) {
        free(srv->listeners[i].addr);
        free(srv->listeners[i].host);
    }
    free(srv->listeners);
    for (size_t i = 0; i < srv->n_routes; i++)
        route_destroy(&srv->routes[i]);
    free(srv->routes);
    for (size_t i = 0; i < srv->n_prefix_segs; i++)
        free(srv->prefix_segs[i]);
    free(srv->prefix_segs);
    free(srv->prefix);
    free(srv->healthy_body);
    free(srv->ready_body);
    free(srv->not_ready_body);
    free(srv);
}

/* ---- request accessors ---- */

const char *core_http_method(const core_http_req *req)
{
    return req->method;
}

const char *core_http_path(const core_http_req *req)
{
    return req->path;
}

const char *core_http_param(const core_http_req *req, const char *name)
{
    const struct route *r = req->route;
    for (size_t i = 0; i < r->n_segs; i++)
        if (r->segs[i].kind != SEG_LITERAL && strcmp(r->segs[i].text, name) == 0)
            return req->params[i];
    return NULL;
}

/* The values of `name` are arg_values[*first .. *first + count). */
static size_t find_args(const core_http_req *req, const char *name, size_t *first)
{
    size_t lo = 0, hi = req->n_args;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(req->arg_names[mid], name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < req->n_args && strcmp(req->arg_names[end], name) == 0)
        end++;
    *first = lo;
    return end - lo;
}

const char *core_http_arg(const core_http_req *req, const char *name)
{
    size_t first;
    return find_args(req, name, &first) > 0 ? req->arg_values[first] : NULL;
}

size_t core_http_args(const core_http_req *req, const char *name, const char *const **values)
{
    size_t first, n = find_args(req, name, &first);
    *values = n > 0 ? req->arg_values + first : NULL;
    return n;
}

const char *core_http_header(const core_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *core_http_body(const core_http_req *req, size_t *len)
{
    if (len != NULL) *len = req->body.len;
    return req->body.buf != NULL ? req->body.buf : "";
}

const char *core_http_remote(const core_http_req *req)
{
    return req->remote;
}

core_arena *core_http_arena(core_http_req *req)
{
    return &req->arena;
}

/* ---- response helpers ---- */

void core_http_resp_header(core_http_resp *resp, const char *name, const char *value)
{
    resp->headers = core_reallocarray(resp->headers, resp->n_headers + 1, sizeof *resp->headers);
    resp->headers[resp->n_headers++] =
        (struct core_http_header){core_strdup(name), core_strdup(value)};
}

void core_http_resp_text(core_http_resp *resp, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    resp->status = status;
    core_sb_reset(&resp->body);
    core_sb_addvf(&resp->body, fmt, ap);
    va_end(ap);
}
