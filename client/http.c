/*
 * http.c - the HTTP exposition server (prom_http_start), on libmicrohttpd.
 *
 * It behaves like client_golang's promhttp.Handler() mounted on a mux:
 *
 *   - GET and HEAD on the metrics path render the registry into a buffer of the
 *     request's own, in the format prom_negotiate() picks from Accept, filtered
 *     by the name[] query parameters; the buffer (or its gzip-compressed copy,
 *     when Accept-Encoding admits gzip) is handed to MHD, which frees it once
 *     sent.  A failed render answers 500 with the error text.
 *   - Past max_requests scrapes in flight a scrape answers 503 at once, like
 *     promhttp's MaxRequestsInFlight: an atomic count, no queue.
 *   - Scrapes are counted in promhttp_metric_handler_requests_total{code} and
 *     promhttp_metric_handler_requests_in_flight, registered in the served
 *     registry when the server starts, with the children for 200, 500 and 503
 *     made up front as promhttp's InstrumentMetricHandler does.  Several servers
 *     may serve one registry: the public API has no way to fetch a registered
 *     metric, so a process-wide table (under a mutex) maps each registry to its
 *     two metrics and the number of servers using them; the last server to
 *     stop unregisters them.
 *   - Any other path is 404, another method on the metrics path 405.
 *
 * MHD runs one thread per connection (plus its listening thread), so a slow
 * collector holds up only its own scrape.  We create and bind the listening
 * socket ourselves and give it to MHD with MHD_OPTION_LISTEN_SOCKET: that is how
 * a bind failure reaches the caller with its errno ("Address already in use"),
 * and how "every interface" gets one dual-stack IPv6 socket (IPv4 where the
 * system has no IPv6).
 */
#include "internal.h"

#include <microhttpd.h>
#define ZLIB_CONST /* next_in points to const */
#include <zlib.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PATH         "/metrics"
#define DEFAULT_MAX_REQUESTS 40
#define DEFAULT_TIMEOUT_S    30
#define TEXT_TYPE            "text/plain; charset=utf-8"

/* ---- self-metrics, shared by the servers of one registry */

/* The statuses a scrape can get, as label values and as HTTP statuses. */
enum { CODE_200, CODE_500, CODE_503, N_CODES };
static const char *const code_names[N_CODES] = {"200", "500", "503"};
static const unsigned code_status[N_CODES] = {MHD_HTTP_OK, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                              MHD_HTTP_SERVICE_UNAVAILABLE};

#define REQUESTS_NAME  "promhttp_metric_handler_requests_total"
#define IN_FLIGHT_NAME "promhttp_metric_handler_requests_in_flight"

typedef struct self_metrics {
    prom_registry *registry;
    prom_counter *by_code[N_CODES];
    prom_gauge *in_flight;
    unsigned servers; /* servers of the registry using them */
    struct self_metrics *next;
} self_metrics;

static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static self_metrics *self_list;

/* Registers the two metrics in r; false (with the error set) if one cannot be. */
static bool self_register(self_metrics *m, prom_registry *r)
{
    static const char *const labels[] = {"code"};
    prom_counter *requests = prom_counter_new(&(prom_opts){
        .name = REQUESTS_NAME,
        .help = "Total number of scrapes by HTTP status code.",
        .labels = labels,
        .n_labels = 1,
        .registry = r,
    });
    if (requests == NULL) return false;
    for (int i = 0; i < N_CODES; i++) {
        m->by_code[i] = prom_counter_labels(requests, code_names[i], NULL);
        if (m->by_code[i] == NULL) {
            prom_unregister(r, REQUESTS_NAME);
            return false;
        }
    }
    m->in_flight = prom_gauge_new(&(prom_opts){
        .name = IN_FLIGHT_NAME,
        .help = "Current number of scrapes being served.",
        .registry = r,
    });
    if (m->in_flight == NULL) {
        prom_unregister(r, REQUESTS_NAME);
        return false;
    }
    return true;
}

/* The self-metrics of r, registered by the first server that serves it. */
static self_metrics *self_acquire(prom_registry *r)
{
    pthread_mutex_lock(&self_lock);
    self_metrics *m = self_list;
    while (m != NULL && m->registry != r)
        m = m->next;
    if (m == NULL) {
        m = calloc(1, sizeof *m);
        if (m == NULL) {
            pm_error(PROM_ENOMEM, "out of memory");
        } else if (!self_register(m, r)) {
            free(m);
            m = NULL;
        } else {
            m->registry = r;
            m->next = self_list;
            self_list = m;
        }
    }
    if (m != NULL) m->servers++;
    pthread_mutex_unlock(&self_lock);
    return m;
}

static void self_release(self_metrics *m)
{
    pthread_mutex_lock(&self_lock);
    if (--m->servers == 0) {
        self_metrics **p = &self_list;
        while (*p != m)
            p = &(*p)->next;
        *p = m->next;
        prom_unregister(m->registry, REQUESTS_NAME);
        prom_unregister(m->registry, IN_FLIGHT_NAME);
        free(m);
    }
    pthread_mutex_unlock(&self_lock);
}

/* ---- the server */

struct prom_http_server {
    struct MHD_Daemon *daemon;
    prom_registry *registry;
    self_metrics *self;
    char *path;
    unsigned max_requests;
    bool compress;
    uint16_t port;
    atomic_uint in_flight; /* scrapes being served, for the limit */
};

/* ---- responses */

static struct MHD_Response *buffer_response(char *data, size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (r == NULL) {
        free(data);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return r;
}

/* A plain-text answer, as Go's http.Error writes it. */
static struct MHD_Response *text_response(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static struct MHD_Response *text_response(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    struct MHD_Response *r = buffer_response(text, (size_t)n, TEXT_TYPE);
    if (r != NULL) MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    return r;
}

/* Queues r (NULL when it could not be made: the connection is closed). */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r)
{
    if (r == NULL) return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- gzip */

/* Whether ";q=..." parameters in p[0..end) set q to zero. */
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

/* Compresses in[0..n) into one malloc'ed gzip member; NULL if that fails. */
static char *gzip_body(const char *in, size_t n, size_t *out_len)
{
    z_stream zs = {0};
    if (n > UINT_MAX || deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                     Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong bound = deflateBound(&zs, (uLong)n);
    char *out = bound <= UINT_MAX ? malloc(bound) : NULL;
    int rc = Z_MEM_ERROR;
    if (out != NULL) {
        zs.next_in = (const Bytef *)in;
        zs.avail_in = (uInt)n;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)bound;
        rc = deflate(&zs, Z_FINISH);
    }
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = zs.total_out;
    return out;
}

/* ---- scraping */

typedef struct name_args {
    const char **v;
    size_t n, cap;
} name_args;

static enum MHD_Result add_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    name_args *a = cls;
    if (strcmp(key, "name[]") == 0 && value != NULL && a->n < a->cap) a->v[a->n++] = value;
    return MHD_YES;
}

/* Every name[] of the query, in order (the strings are MHD's, valid for the
 * request).  False when out of memory. */
static bool query_names(struct MHD_Connection *conn, name_args *a)
{
    *a = (name_args){0};
    int count = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    if (count <= 0) return true;
    a->v = calloc((size_t)count, sizeof *a->v);
    if (a->v == NULL) return false;
    a->cap = (size_t)count;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_name, a);
    return true;
}

/* The rendered registry as a response, gzipped if the client takes it. */
static struct MHD_Response *metrics_response(const prom_http_server *s, struct MHD_Connection *conn,
                                             prom_buffer *buf, prom_format f)
{
    const char *encoding =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    size_t zlen;
    char *zipped =
        s->compress && accepts_gzip(encoding) ? gzip_body(buf->data, buf->len, &zlen) : NULL;
    if (zipped == NULL) return buffer_response(buf->data, buf->len, prom_content_type(f));
    prom_buffer_free(buf);
    struct MHD_Response *r = buffer_response(zipped, zlen, prom_content_type(f));
    if (r != NULL) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return r;
}

/* Renders the registry; sets *code to the CODE_ of the response. */
static struct MHD_Response *scrape(const prom_http_server *s, struct MHD_Connection *conn,
                                   int *code)
{
    prom_format f =
        prom_negotiate(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    name_args names;
    prom_buffer buf = {0};
    int rc = query_names(conn, &names) ? prom_render(s->registry, f, names.v, names.n, &buf)
                                       : pm_error(PROM_ENOMEM, "out of memory reading the query");
    free(names.v);
    if (rc < 0) {
        prom_buffer_free(&buf);
        *code = CODE_500;
        return text_response("An error has occurred while serving metrics:\n\n%s\n",
                             prom_last_error());
    }
    *code = CODE_200;
    return metrics_response(s, conn, &buf, f);
}

static enum MHD_Result serve_metrics(prom_http_server *s, struct MHD_Connection *conn)
{
    self_metrics *m = s->self;
    prom_gauge_inc(m->in_flight);
    struct MHD_Response *r;
    int code;
    if (atomic_fetch_add(&s->in_flight, 1) >= s->max_requests) {
        code = CODE_503;
        r = text_response("Limit of concurrent requests reached (%u), try again later.\n",
                          s->max_requests);
    } else {
        r = scrape(s, conn, &code);
    }
    atomic_fetch_sub(&s->in_flight, 1);
    enum MHD_Result rc = queue(conn, code_status[code], r);
    prom_counter_inc(m->by_code[code]);
    prom_gauge_dec(m->in_flight);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    prom_http_server *s = cls;
    if (*con_cls == NULL) { /* headers read: answer once the request is whole */
        *con_cls = s;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* a body has no use here */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, s->path) != 0)
        return queue(conn, MHD_HTTP_NOT_FOUND, text_response("404 page not found\n"));
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        struct MHD_Response *r = text_response("Method Not Allowed\n");
        if (r != NULL) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        return queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    }
    return serve_metrics(s, conn);
}

/* ---- listening */

/* A listening socket bound to sa; -1 with errno set on failure. */
static int listen_on(const struct sockaddr *sa, socklen_t len, bool dual_stack)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

/* "host:port" for messages: ":port" for every interface, "[v6]:port". */
static void format_address(char *buf, size_t size, const char *address, uint16_t port)
{
    if (address == NULL)
        snprintf(buf, size, ":%u", port);
    else if (strchr(address, ':') != NULL)
        snprintf(buf, size, "[%s]:%u", address, port);
    else
        snprintf(buf, size, "%s:%u", address, port);
}

/* A listening socket on address (NULL: every interface) and port; -1 with the
 * error set, naming the address. */
static int open_listener(const char *address, uint16_t port)
{
    char where[NI_MAXHOST + 16];
    format_address(where, sizeof where, address, port);
    if (address == NULL) {
        int fd = listen_any(port);
        if (fd < 0) pm_error(PROM_EIO, "listen on %s: %s", where, strerror(errno));
        return fd;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(address, service, &hints, &res);
    if (rc != 0) {
        pm_error(PROM_EIO, "listen on %s: %s", where, gai_strerror(rc));
        return -1;
    }
    int fd = listen_on(res->ai_addr, res->ai_addrlen, false);
    int saved = errno;
    freeaddrinfo(res);
    if (fd < 0) pm_error(PROM_EIO, "listen on %s: %s", where, strerror(saved));
    return fd;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Hands the socket to MHD, which owns it from then on, also when it fails. */
static bool start_daemon(prom_http_server *s, int fd, unsigned timeout_s, const char *address)
{
    /* clang-format off */
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
        0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_END);
    /* clang-format on */
    if (s->daemon != NULL) return true;
    char where[NI_MAXHOST + 16];
    format_address(where, sizeof where, address, s->port);
    pm_error(PROM_EIO, "listen on %s: cannot start the HTTP server", where);
    return false;
}

static void server_free(prom_http_server *s)
{
    if (s->self != NULL) self_release(s->self);
    free(s->path);
    free(s);
}

/* A new server from opts, without its socket; NULL with the error set. */
static prom_http_server *server_new(const prom_http_opts *opts)
{
    const char *path = opts->path != NULL ? opts->path : DEFAULT_PATH;
    if (path[0] != '/') {
        pm_error(PROM_EINVAL, "invalid metrics path \"%s\": must start with '/'", path);
        return NULL;
    }
    prom_registry *r = opts->registry != NULL ? opts->registry : prom_registry_default();
    prom_http_server *s = calloc(1, sizeof *s);
    if (r == NULL || s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        pm_error(PROM_ENOMEM, "out of memory");
        return NULL;
    }
    s->registry = r;
    s->max_requests = opts->max_requests != 0 ? opts->max_requests : DEFAULT_MAX_REQUESTS;
    s->compress = !opts->disable_compression;
    atomic_init(&s->in_flight, 0);
    s->self = self_acquire(r);
    if (s->self == NULL) {
        server_free(s);
        return NULL;
    }
    return s;
}

prom_http_server *prom_http_start_opts(const prom_http_opts *opts)
{
    if (opts == NULL) {
        pm_error(PROM_EINVAL, "prom_http_start_opts: no options");
        return NULL;
    }
    prom_http_server *s = server_new(opts);
    if (s == NULL) return NULL;
    int fd = open_listener(opts->address, opts->port);
    if (fd < 0) {
        server_free(s);
        return NULL;
    }
    s->port = bound_port(fd);
    if (!start_daemon(s, fd, opts->timeout_s != 0 ? opts->timeout_s : DEFAULT_TIMEOUT_S,
                      opts->address)) {
        server_free(s);
        return NULL;
    }
    return s;
}

prom_http_server *prom_http_start(uint16_t port, prom_registry *registry)
{
    return prom_http_start_opts(&(prom_http_opts){.port = port, .registry = registry});
}

uint16_t prom_http_port(const prom_http_server *s)
{
    return s != NULL ? s->port : 0;
}

void prom_http_stop(prom_http_server *s)
{
    if (s == NULL) return;
    MHD_stop_daemon(s->daemon);
    server_free(s);
}
