/*
 * test_http.c - the HTTP server, driven over loopback by libcurl (and, for the
 * timeout, by a raw TCP socket).  Every server listens on 127.0.0.1:0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- client side ---- */

struct reply {
    long status;
    curl_off_t content_length; /* as the Content-Length header said; -1 if absent */
    long local_port;           /* the client's port */
    core_sb body;
    core_sb head;     /* raw header lines */
    char value[1024]; /* last value found by header_of() */
};

typedef struct {
    const char *method; /* NULL: GET */
    const char *body;   /* sent with POSTFIELDS, or chunked when `chunked` */
    bool chunked;
    const char *headers[3];
} request_opts;

struct upload {
    const char *p;
    size_t left;
};

static size_t collect(char *p, size_t size, size_t n, void *sb)
{
    core_sb_add(sb, p, size * n);
    return size * n;
}

/* Feeds the body 7 bytes at a time, so that it goes out as several chunks. */
static size_t feed(char *buf, size_t size, size_t n, void *userdata)
{
    struct upload *u = userdata;
    size_t k = size * n < 7 ? size * n : 7;
    if (k > u->left) k = u->left;
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

static void request(const char *url, request_opts o, struct reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *hdrs = NULL;
    struct upload up = {o.body, o.body != NULL ? strlen(o.body) : 0};
    for (size_t i = 0; i < 3 && o.headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, o.headers[i]);
    if (o.chunked) hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (o.chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (o.body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o.body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o.body));
    }
    if (o.method != NULL && strcmp(o.method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (o.method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o.method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
    curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &r->local_port);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    core_sb_addc(&r->body, '\0'); /* so that body.buf is a string even when empty */
    r->body.len--;
}

static void reply_free(struct reply *r)
{
    core_sb_destroy(&r->body);
    core_sb_destroy(&r->head);
}

/* The value of a response header (name case-insensitive), or NULL. */
static const char *header_of(struct reply *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = r->head.buf != NULL ? r->head.buf : "";
    while (*p != '\0') {
        size_t len = strcspn(p, "\r\n");
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1 + strspn(p + nl + 1, " ");
            snprintf(r->value, sizeof r->value, "%.*s", (int)(len - (size_t)(v - p)), v);
            return r->value;
        }
        p += len;
        p += strspn(p, "\r\n");
    }
    return NULL;
}

static void gunzip(const char *in, size_t n, core_sb *out)
{
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    int rc;
    do {
        unsigned char buf[4096];
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        core_sb_add(out, buf, sizeof buf - zs.avail_out);
    } while (rc != Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
}

/* ---- server side ---- */

static core_http_server *server_new(core_http_opts o)
{
    static const char *const loopback[] = {"127.0.0.1:0"};
    if (o.n_listen == 0) {
        o.listen = loopback;
        o.n_listen = 1;
    }
    core_err err = {{0}};
    core_http_server *srv = core_http_new(&o, &err);
    if (srv == NULL) fail_msg("core_http_new: %s", err.msg);
    return srv;
}

static void add(core_http_server *srv, const char *method, const char *pattern,
                core_http_handler fn, void *userdata)
{
    core_err err = {{0}};
    if (core_http_route(srv, method, pattern, fn, userdata, &err) != 0)
        fail_msg("core_http_route: %s", err.msg);
}

static void server_start(core_http_server *srv)
{
    core_err err = {{0}};
    if (core_http_start(srv, &err) != 0) fail_msg("core_http_start: %s", err.msg);
    assert_int_not_equal(core_http_port(srv, 0), 0);
}

/* The URL of `path` on the server's first listener. */
static const char *url_of(const core_http_server *srv, const char *path)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%u%s", core_http_port(srv, 0), path);
    return buf;
}

/* GETs (or sends, per o) `path` and checks status and body. */
static void expect(const core_http_server *srv, const char *path, request_opts o, long status,
                   const char *body)
{
    struct reply r;
    request(url_of(srv, path), o, &r);
    assert_int_equal(r.status, status);
    assert_string_equal(r.body.buf, body);
    reply_free(&r);
}

static const char *or_null(const char *s)
{
    return s != NULL ? s : "(null)";
}

/* Tells which route served: its tag, the path and the parameters "p" and "rest". */
static void h_echo(core_http_req *req, core_http_resp *resp, void *tag)
{
    core_sb_addf(&resp->body, "%s path=%s p=%s rest=%s", (const char *)tag, core_http_path(req),
                 or_null(core_http_param(req, "p")), or_null(core_http_param(req, "rest")));
}

static void h_args(core_http_req *req, core_http_resp *resp, void *unused)
{
    const char *const *as;
    size_t n = core_http_args(req, "a", &as);
    core_sb_addf(&resp->body, "a=%s as=[", or_null(core_http_arg(req, "a")));
    for (size_t i = 0; i < n; i++)
        core_sb_addf(&resp->body, "%s%s", i > 0 ? "," : "", as[i]);
    core_sb_adds(&resp->body, "]");
    static const char *const names[] = {"b", "c", "d", "e", "bad", "z"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        core_sb_addf(&resp->body, " %s=%s", names[i], or_null(core_http_arg(req, names[i])));
    n = core_http_args(req, "z", &as);
    if (n != 0 || as != NULL) core_sb_adds(&resp->body, " z has values");
}

static void h_body(core_http_req *req, core_http_resp *resp, void *unused)
{
    size_t len;
    const char *body = core_http_body(req, &len);
    core_sb_addf(&resp->body, "len=%zu body=%s", len, body);
}

static void h_headers(core_http_req *req, core_http_resp *resp, void *unused)
{
    core_sb_addf(&resp->body, "lower=%s upper=%s missing=%s method=%s remote=%s",
                 or_null(core_http_header(req, "x-test")), or_null(core_http_header(req, "X-TEST")),
                 or_null(core_http_header(req, "X-Missing")), core_http_method(req),
                 core_http_remote(req));
    resp->content_type = "application/json";
    core_http_resp_header(resp, "X-Reply", "yes");
}

/* A body worth compressing: 2000 numbered lines. */
static void big_text(core_sb *sb)
{
    for (int i = 0; i < 2000; i++)
        core_sb_addf(sb, "line number %d of the big body\n", i);
}

static void h_big(core_http_req *req, core_http_resp *resp, void *unused)
{
    big_text(&resp->body);
}

static void h_big_raw(core_http_req *req, core_http_resp *resp, void *unused)
{
    big_text(&resp->body);
    resp->no_compress = true;
}

static void h_nothing(core_http_req *req, core_http_resp *resp, void *unused)
{
}

static void h_teapot(core_http_req *req, core_http_resp *resp, void *unused)
{
    core_sb_adds(&resp->body, "replaced");
    core_http_resp_text(resp, 418, "short and stout %d\n", 42);
    core_http_resp_header(resp, "X-A", "b");
}

static void h_bad_status(core_http_req *req, core_http_resp *resp, void *unused)
{
    resp->status = 42;
}

/* ---- tests ---- */

static void test_routing(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/a/:p", h_echo, "param");
    add(srv, "GET", "/a/*rest", h_echo, "catch");
    add(srv, "GET", "/a/b", h_echo, "literal");
    add(srv, "GET", "/x/:p/y", h_echo, "middle");
    add(srv, "GET", "/r/:p/c", h_echo, "r-param");
    add(srv, "GET", "/r/b/d", h_echo, "r-literal");
    add(srv, "GET", "/", h_echo, "root");
    server_start(srv);
    request_opts get = {0};
    expect(srv, "/a/b", get, 200, "literal path=/a/b p=(null) rest=(null)");
    expect(srv, "/a/%62", get, 200, "literal path=/a/b p=(null) rest=(null)");
    expect(srv, "/a/c", get, 200, "param path=/a/c p=c rest=(null)");
    expect(srv, "/a/x%2Fy", get, 200, "param path=/a/x/y p=x/y rest=(null)");
    expect(srv, "/a/c/d", get, 200, "catch path=/a/c/d p=(null) rest=c/d");
    expect(srv, "/a/b/c", get, 200, "catch path=/a/b/c p=(null) rest=b/c");
    expect(srv, "/a/x%2Fy/z%20z", get, 200, "catch path=/a/x/y/z z p=(null) rest=x/y/z z");
    expect(srv, "/a/", get, 200, "catch path=/a/ p=(null) rest=");
    expect(srv, "/a", get, 200, "catch path=/a p=(null) rest=");
    expect(srv, "/x/hello%20world/y", get, 200,
           "middle path=/x/hello world/y p=hello world rest=(null)");
    expect(srv, "/x/1/y?q=1", get, 200, "middle path=/x/1/y p=1 rest=(null)");
    /* A literal that leads nowhere does not hide a :param route. */
    expect(srv, "/r/b/c", get, 200, "r-param path=/r/b/c p=b rest=(null)");
    expect(srv, "/r/b/d", get, 200, "r-literal path=/r/b/d p=(null) rest=(null)");
    expect(srv, "/", get, 200, "root path=/ p=(null) rest=(null)");
    expect(srv, "/x//y", get, 404, "404 page not found\n");
    expect(srv, "/a/%zz", get, 400, "400 Bad Request\n");
    expect(srv, "/a/%00", get, 400, "400 Bad Request\n");
    core_http_free(srv);
}

static void test_not_found_and_not_allowed(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "PUT", "/thing", h_echo, "put");
    add(srv, "GET", "/thing", h_echo, "get");
    add(srv, "DELETE", "/thing/:p", h_echo, "delete");
    server_start(srv);
    struct reply r;
    request(url_of(srv, "/nope"), (request_opts){0}, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body.buf, "404 page not found\n");
    assert_string_equal(header_of(&r, "Content-Type"), "text/plain; charset=utf-8");
    reply_free(&r);
    request(url_of(srv, "/thing"), (request_opts){.method = "POST", .body = "x=1"}, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body.buf, "Method Not Allowed\n");
    assert_string_equal(header_of(&r, "Allow"), "GET, HEAD, PUT");
    reply_free(&r);
    request(url_of(srv, "/thing/7"), (request_opts){0}, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header_of(&r, "Allow"), "DELETE");
    reply_free(&r);
    expect(srv, "/thing", (request_opts){.method = "PUT"}, 200,
           "put path=/thing p=(null) rest=(null)");
    expect(srv, "/thing/7", (request_opts){.method = "DELETE"}, 200,
           "delete path=/thing/7 p=7 rest=(null)");
    core_http_free(srv);
}

static void test_body_limit(void **state)
{
    core_http_server *srv = server_new((core_http_opts){.max_body_bytes = 16});
    add(srv, "POST", "/body", h_body, NULL);
    server_start(srv);
    const char *too_large = "request body too large (limit 16 bytes)\n";
    request_opts text = {.headers = {"Content-Type: text/plain"}};
    text.body = "0123456789abcdef";
    expect(srv, "/body", text, 200, "len=16 body=0123456789abcdef");
    text.body = "0123456789abcdefg";
    expect(srv, "/body", text, 413, too_large);
    /* Without a Content-Length to refuse up front, the body is read and dropped. */
    text.chunked = true;
    text.body = "0123456789abcdef";
    expect(srv, "/body", text, 200, "len=16 body=0123456789abcdef");
    text.body = "0123456789abcdefghijklmnopqrstuvwxyz";
    expect(srv, "/body", text, 413, too_large);
    /* An empty body, and the server still serving after the refusals. */
    expect(srv, "/body", (request_opts){.method = "POST"}, 200, "len=0 body=");
    core_http_free(srv);
}

static void test_gzip(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/big", h_big, NULL);
    add(srv, "GET", "/raw", h_big_raw, NULL);
    add(srv, "GET", "/nothing", h_nothing, NULL);
    server_start(srv);
    core_sb want = CORE_SB_INIT;
    big_text(&want);
    static const char *const accepting[] = {"Accept-Encoding: gzip",
                                            "Accept-Encoding: deflate, GZIP;q=0.5",
                                            "Accept-Encoding: br;q=1.0, gzip ; q=0.001"};
    for (size_t i = 0; i < 3; i++) {
        struct reply r;
        request(url_of(srv, "/big"), (request_opts){.headers = {accepting[i]}}, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(header_of(&r, "Content-Encoding"), "gzip");
        assert_string_equal(header_of(&r, "Vary"), "Accept-Encoding");
        assert_true(r.body.len < want.len / 4);
        assert_int_equal(r.content_length, (curl_off_t)r.body.len);
        core_sb plain = CORE_SB_INIT;
        gunzip(r.body.buf, r.body.len, &plain);
        assert_int_equal(plain.len, want.len);
        assert_memory_equal(plain.buf, want.buf, want.len);
        core_sb_destroy(&plain);
        reply_free(&r);
    }
    static const char *const refusing[] = {NULL, "Accept-Encoding: gzip;q=0",
                                           "Accept-Encoding: gzip; q=0.000, deflate",
                                           "Accept-Encoding: identity", "Accept-Encoding: xgzip"};
    for (size_t i = 0; i < 5; i++) {
        struct reply r;
        request(url_of(srv, "/big"), (request_opts){.headers = {refusing[i]}}, &r);
        assert_int_equal(r.status, 200);
        assert_null(header_of(&r, "Content-Encoding"));
        assert_string_equal(header_of(&r, "Vary"), "Accept-Encoding");
        assert_string_equal(r.body.buf, want.buf);
        reply_free(&r);
    }
    struct reply r;
    request(url_of(srv, "/raw"), (request_opts){.headers = {"Accept-Encoding: gzip"}}, &r);
    assert_null(header_of(&r, "Content-Encoding"));
    assert_null(header_of(&r, "Vary"));
    assert_string_equal(r.body.buf, want.buf);
    reply_free(&r);
    request(url_of(srv, "/nothing"), (request_opts){.headers = {"Accept-Encoding: gzip"}}, &r);
    assert_int_equal(r.status, 200);
    assert_null(header_of(&r, "Content-Encoding"));
    assert_int_equal(r.body.len, 0);
    reply_free(&r);
    core_sb_destroy(&want);
    core_http_free(srv);
}

static void test_query_args(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/args", h_args, NULL);
    server_start(srv);
    expect(srv, "/args?a=1&b=x+y&a=2&c=%2B%26%3D%20&d&e=&bad=%zz&&a=3", (request_opts){0}, 200,
           "a=1 as=[1,2,3] b=x y c=+&=  d= e= bad=(null) z=(null)");
    expect(srv, "/args", (request_opts){0}, 200,
           "a=(null) as=[] b=(null) c=(null) d=(null) e=(null) bad=(null) z=(null)");
    expect(srv, "/args?a%5B%5D=no&a=%E2%9C%93", (request_opts){0}, 200,
           "a=\xe2\x9c\x93 as=[\xe2\x9c\x93] b=(null) c=(null) d=(null) e=(null) bad=(null) "
           "z=(null)");
    core_http_free(srv);
}

static void test_form_post(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "POST", "/args", h_args, NULL);
    add(srv, "PUT", "/args", h_args, NULL);
    server_start(srv);
    request_opts form = {.method = "POST",
                         .body = "a=body1&c=%41+B&a=body2",
                         .headers = {"Content-Type: application/x-www-form-urlencoded"}};
    const char *merged = "a=body1 as=[body1,body2,url] b=fromurl c=A B d=(null) e=(null) "
                         "bad=(null) z=(null)";
    expect(srv, "/args?a=url&b=fromurl", form, 200, merged);
    form.method = "PUT";
    form.headers[0] = "Content-Type: Application/X-WWW-Form-Urlencoded; charset=utf-8";
    expect(srv, "/args?a=url&b=fromurl", form, 200, merged);
    form.headers[0] = "Content-Type: text/plain";
    expect(srv, "/args?a=url&b=fromurl", form, 200,
           "a=url as=[url] b=fromurl c=(null) d=(null) e=(null) bad=(null) z=(null)");
    core_http_free(srv);
}

static void test_headers_and_remote(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/headers", h_headers, NULL);
    server_start(srv);
    struct reply r;
    request(url_of(srv, "/headers"), (request_opts){.headers = {"X-Test: hello"}}, &r);
    assert_int_equal(r.status, 200);
    char want[256];
    snprintf(want, sizeof want,
             "lower=hello upper=hello missing=(null) method=GET remote=127.0.0.1:%ld",
             r.local_port);
    assert_string_equal(r.body.buf, want);
    assert_string_equal(header_of(&r, "X-Reply"), "yes");
    assert_string_equal(header_of(&r, "Content-Type"), "application/json");
    reply_free(&r);
    core_http_free(srv);
}

static void test_response_helpers(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/nothing", h_nothing, NULL);
    add(srv, "GET", "/teapot", h_teapot, NULL);
    add(srv, "GET", "/bad-status", h_bad_status, NULL);
    server_start(srv);
    struct reply r;
    request(url_of(srv, "/nothing"), (request_opts){0}, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(r.content_length, 0);
    assert_string_equal(header_of(&r, "Content-Type"), "text/plain; charset=utf-8");
    reply_free(&r);
    request(url_of(srv, "/teapot"), (request_opts){0}, &r);
    assert_int_equal(r.status, 418);
    assert_string_equal(r.body.buf, "short and stout 42\n");
    assert_string_equal(header_of(&r, "X-A"), "b");
    reply_free(&r);
    expect(srv, "/bad-status", (request_opts){0}, 500, "");
    core_http_free(srv);
}

static void test_health_and_ready(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    server_start(srv);
    expect(srv, "/-/healthy", (request_opts){0}, 200, "OK\n");
    expect(srv, "/-/ready", (request_opts){0}, 503, "Service Unavailable\n");
    core_http_set_ready(srv, true);
    expect(srv, "/-/ready", (request_opts){0}, 200, "OK\n");
    core_http_set_ready(srv, false);
    expect(srv, "/-/ready", (request_opts){0}, 503, "Service Unavailable\n");
    core_http_free(srv);

    srv = server_new((core_http_opts){
        .healthy_body = "Healthy.\n", .ready_body = "Ready.\n", .not_ready_body = "Not yet.\n"});
    server_start(srv);
    expect(srv, "/-/healthy", (request_opts){0}, 200, "Healthy.\n");
    expect(srv, "/-/ready", (request_opts){0}, 503, "Not yet.\n");
    core_http_set_ready(srv, true);
    expect(srv, "/-/ready", (request_opts){0}, 200, "Ready.\n");
    core_http_free(srv);
}

struct seen {
    pthread_mutex_t mu;
    int count;
    char route[64], method[16];
    int status;
    double seconds;
};

static void observe(const char *route, const char *method, int status, double seconds, void *ud)
{
    struct seen *s = ud;
    pthread_mutex_lock(&s->mu);
    s->count++;
    snprintf(s->route, sizeof s->route, "%s", route);
    snprintf(s->method, sizeof s->method, "%s", method);
    s->status = status;
    s->seconds = seconds;
    pthread_mutex_unlock(&s->mu);
}

static void expect_seen(struct seen *s, int count, const char *route, const char *method,
                        int status)
{
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->count, count);
    assert_string_equal(s->route, route);
    assert_string_equal(s->method, method);
    assert_int_equal(s->status, status);
    assert_true(s->seconds >= 0 && s->seconds < 5);
    pthread_mutex_unlock(&s->mu);
}

static void test_route_prefix(void **state)
{
    core_http_server *srv =
        server_new((core_http_opts){.route_prefix = "prom/", .max_body_bytes = 4});
    struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    core_http_set_observer(srv, observe, &seen);
    add(srv, "GET", "/a/:p", h_echo, "a");
    add(srv, "POST", "/a/:p", h_echo, "a");
    add(srv, "GET", "/", h_echo, "root");
    server_start(srv);
    expect(srv, "/prom/a/x", (request_opts){0}, 200, "a path=/a/x p=x rest=(null)");
    expect_seen(&seen, 1, "/prom/a/:p", "GET", 200);
    expect(srv, "/prom", (request_opts){0}, 200, "root path=/ p=(null) rest=(null)");
    expect(srv, "/prom/", (request_opts){0}, 200, "root path=/ p=(null) rest=(null)");
    expect(srv, "/a/x", (request_opts){0}, 404, "404 page not found\n");
    expect(srv, "/promx/a/x", (request_opts){0}, 404, "404 page not found\n");
    expect(srv, "/", (request_opts){0}, 404, "404 page not found\n");
    expect(srv, "/-/healthy", (request_opts){0}, 404, "404 page not found\n");
    expect(srv, "/prom/-/healthy", (request_opts){0}, 200, "OK\n");
    expect_seen(&seen, 8, "/prom/-/healthy", "GET", 200);
    expect(srv, "/prom/a/x", (request_opts){.method = "POST", .body = "12345"}, 413,
           "request body too large (limit 4 bytes)\n");
    expect_seen(&seen, 9, "/prom/a/:p", "POST", 413);
    core_http_free(srv);
}

static void test_head(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "GET", "/big", h_big, NULL);
    server_start(srv);
    core_sb want = CORE_SB_INIT;
    big_text(&want);
    struct reply r;
    request(url_of(srv, "/big"), (request_opts){.method = "HEAD"}, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(r.content_length, (curl_off_t)want.len);
    assert_string_equal(header_of(&r, "Content-Type"), "text/plain; charset=utf-8");
    reply_free(&r);
    core_sb_destroy(&want);
    core_http_free(srv);
}

static void test_observer(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    core_http_set_observer(srv, observe, &seen);
    add(srv, "GET", "/a/:p", h_echo, "a");
    add(srv, "GET", "/teapot", h_teapot, NULL);
    server_start(srv);
    expect(srv, "/a/c", (request_opts){0}, 200, "a path=/a/c p=c rest=(null)");
    expect_seen(&seen, 1, "/a/:p", "GET", 200);
    expect(srv, "/a/c", (request_opts){.method = "HEAD"}, 200, "");
    expect_seen(&seen, 2, "/a/:p", "HEAD", 200);
    expect(srv, "/teapot", (request_opts){0}, 418, "short and stout 42\n");
    expect_seen(&seen, 3, "/teapot", "GET", 418);
    expect(srv, "/zzz", (request_opts){0}, 404, "404 page not found\n");
    expect_seen(&seen, 4, "", "GET", 404);
    expect(srv, "/a/c", (request_opts){.method = "POST", .body = "x"}, 405, "Method Not Allowed\n");
    expect_seen(&seen, 5, "", "POST", 405);
    expect(srv, "/-/ready", (request_opts){0}, 503, "Service Unavailable\n");
    expect_seen(&seen, 6, "/-/ready", "GET", 503);
    core_http_free(srv);
}

static void test_bad_listen_address(void **state)
{
    static const char *const cases[][2] = {
        {"127.0.0.1", "missing port"},  {"localhost", "missing port"},
        {"", "missing port"},           {"[::1", "missing ']'"},
        {"[::1]", "missing port"},      {"[::1]:80:80", "too many colons"},
        {"::1:80", "too many colons"},  {"host:", "invalid port"},
        {"host:99999", "invalid port"}, {":http", "invalid port"},
        {":-1", "invalid port"},        {"1.2.3.4:80x", "invalid port"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *const listen[] = {"127.0.0.1:0", cases[i][0]};
        core_http_opts o = {.listen = listen, .n_listen = 2};
        core_err err = {{0}};
        assert_null(core_http_new(&o, &err));
        char want[256];
        snprintf(want, sizeof want, "invalid listen address \"%s\": %s", cases[i][0], cases[i][1]);
        assert_string_equal(err.msg, want);
    }
    core_http_opts none = {0};
    core_err err = {{0}};
    assert_null(core_http_new(&none, &err));
    assert_string_equal(err.msg, "no listen address");
}

static void test_bind_conflict(void **state)
{
    core_http_server *first = server_new((core_http_opts){0});
    server_start(first);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", core_http_port(first, 0));
    /* The second listener fails: the first, already started, is stopped again. */
    const char *const listen[] = {"127.0.0.1:0", taken};
    core_http_server *second = server_new((core_http_opts){.listen = listen, .n_listen = 2});
    core_err err = {{0}};
    assert_int_equal(core_http_start(second, &err), -1);
    char want[128];
    snprintf(want, sizeof want, "listen on %s: Address already in use", taken);
    assert_string_equal(err.msg, want);
    assert_int_equal(core_http_port(second, 0), 0);
    core_http_free(second);
    expect(first, "/-/healthy", (request_opts){0}, 200, "OK\n");
    core_http_free(first);
}

static void test_route_errors(void **state)
{
    core_http_server *srv = server_new((core_http_opts){0});
    core_err err = {{0}};
    static const char *const cases[][3] = {
        {"GET", "a", "invalid route pattern \"a\": must start with '/'"},
        {"GET", "/a/*rest/b",
         "invalid route pattern \"/a/*rest/b\": *rest must be the last segment"},
        {"GET", "/a/:", "invalid route pattern \"/a/:\": empty parameter name"},
        {"GET", "/a/*", "invalid route pattern \"/a/*\": empty parameter name"},
        {"GET", "/a/:y", "route GET /a/:y clashes with /a/:x"},
        {"GET", "/-/healthy", "route GET /-/healthy clashes with /-/healthy"},
    };
    add(srv, "GET", "/a/:x", h_nothing, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(core_http_route(srv, cases[i][0], cases[i][1], h_nothing, NULL, &err), -1);
        assert_string_equal(err.msg, cases[i][2]);
    }
    add(srv, "PUT", "/a/:y", h_nothing, NULL);
    add(srv, "GET", "/a/*rest", h_nothing, NULL);
    server_start(srv);
    assert_int_equal(core_http_route(srv, "GET", "/late", h_nothing, NULL, &err), -1);
    assert_string_equal(err.msg, "route GET /late: the server is already serving");
    assert_int_equal(core_http_start(srv, &err), -1);
    assert_string_equal(err.msg, "the HTTP server is already serving");
    core_http_free(srv);
    core_http_free(NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void test_connection_timeout(void **state)
{
    core_http_server *srv = server_new((core_http_opts){.conn_timeout_s = 1});
    server_start(srv);
    int fd = connect_loopback(core_http_port(srv, 0));
    static const char half[] = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(send(fd, half, sizeof half - 1, 0), (ssize_t)(sizeof half - 1));
    double t0 = now();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    double waited = now() - t0;
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    assert_true(waited > 0.5);
    assert_true(waited < 3.5);
    close(fd);
    core_http_free(srv);
}

struct client {
    const core_http_server *srv;
    int id;
    int ok;
};

static atomic_int in_flight, max_in_flight;

/* Answers after 10 ms, noting how many handlers ran at once. */
static void h_slow(core_http_req *req, core_http_resp *resp, void *unused)
{
    int now_running = atomic_fetch_add(&in_flight, 1) + 1;
    int max = atomic_load(&max_in_flight);
    while (now_running > max && !atomic_compare_exchange_weak(&max_in_flight, &max, now_running))
        ;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    core_sb_addf(&resp->body, "i=%s", or_null(core_http_arg(req, "i")));
    atomic_fetch_sub(&in_flight, 1);
}

#define CLIENTS  8
#define REQUESTS 20

static void *run_client(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    for (int i = 0; i < REQUESTS; i++) {
        char url[128], want[32];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/slow?i=%d-%d", core_http_port(c->srv, 0),
                 c->id, i);
        snprintf(want, sizeof want, "i=%d-%d", c->id, i);
        core_sb body = CORE_SB_INIT;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
            body.buf != NULL && strcmp(body.buf, want) == 0)
            c->ok++;
        core_sb_destroy(&body);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void test_concurrent_requests(void **state)
{
    core_http_server *srv = server_new((core_http_opts){.threads = 4});
    add(srv, "GET", "/slow", h_slow, NULL);
    server_start(srv);
    struct client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (struct client){srv, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, run_client, &clients[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(clients[i].ok, REQUESTS);
    }
    /* Each of the 4 worker threads ran a handler while another one did. */
    assert_true(atomic_load(&max_in_flight) >= 2);
    assert_true(atomic_load(&max_in_flight) <= 4);
    core_http_free(srv);
}

static bool have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_dual_stack_and_ipv6(void **state)
{
    if (!have_ipv6_loopback()) skip();
    const char *const listen[] = {":0", "[::1]:0", "localhost:0"};
    core_http_server *srv = server_new((core_http_opts){.listen = listen, .n_listen = 3});
    add(srv, "GET", "/headers", h_headers, NULL);
    server_start(srv);
    char url[128], want[192];
    struct reply r;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/headers", core_http_port(srv, 0));
    request(url, (request_opts){0}, &r);
    snprintf(want, sizeof want,
             "lower=(null) upper=(null) missing=(null) method=GET remote=127.0.0.1:%ld",
             r.local_port);
    assert_string_equal(r.body.buf, want);
    reply_free(&r);
    for (size_t i = 0; i < 2; i++) {
        snprintf(url, sizeof url, "http://[::1]:%u/headers", core_http_port(srv, i));
        request(url, (request_opts){0}, &r);
        snprintf(want, sizeof want,
                 "lower=(null) upper=(null) missing=(null) method=GET remote=[::1]:%ld",
                 r.local_port);
        assert_string_equal(r.body.buf, want);
        reply_free(&r);
    }
    assert_int_not_equal(core_http_port(srv, 2), 0);
    snprintf(url, sizeof url, "http://localhost:%u/-/healthy", core_http_port(srv, 2));
    request(url, (request_opts){0}, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(core_http_port(srv, 3), 0);
    core_http_free(srv);
}

static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* Starting, serving, failing to start, and stopping while a request is half read
 * leave no descriptor open (and, under the sanitizers, no memory). */
static void test_stop_frees_everything(void **state)
{
    int before = count_open_fds();
    core_http_server *srv = server_new((core_http_opts){0});
    add(srv, "POST", "/body", h_body, NULL);
    server_start(srv);
    expect(srv, "/-/healthy", (request_opts){0}, 200, "OK\n");
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%u", core_http_port(srv, 0));
    const char *const listen[] = {":0", taken};
    core_http_server *clash = server_new((core_http_opts){.listen = listen, .n_listen = 2});
    core_err err = {{0}};
    assert_int_equal(core_http_start(clash, &err), -1);
    core_http_free(clash);
    int fd = connect_loopback(core_http_port(srv, 0));
    static const char half[] = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345";
    assert_int_equal(send(fd, half, sizeof half - 1, 0), (ssize_t)(sizeof half - 1));
    struct timespec settle = {0, 100 * 1000 * 1000}; /* for the server to read it */
    nanosleep(&settle, NULL);
    core_http_free(srv);
    close(fd);
    assert_int_equal(count_open_fds(), before);
}

static int setup(void **state)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_not_found_and_not_allowed),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_query_args),
        cmocka_unit_test(test_form_post),
        cmocka_unit_test(test_headers_and_remote),
        cmocka_unit_test(test_response_helpers),
        cmocka_unit_test(test_health_and_ready),
        cmocka_unit_test(test_route_prefix),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_observer),
        cmocka_unit_test(test_bad_listen_address),
        cmocka_unit_test(test_bind_conflict),
        cmocka_unit_test(test_route_errors),
        cmocka_unit_test(test_connection_timeout),
        cmocka_unit_test(test_concurrent_requests),
        cmocka_unit_test(test_dual_stack_and_ipv6),
        cmocka_unit_test(test_stop_frees_everything),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
