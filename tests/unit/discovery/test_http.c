/*
 * test_http.c - disc_http_do against a server on loopback: the client
 * settings of a cfg_http as headers on the wire (basic auth from files,
 * authorization, http_headers from values, secrets and files, the user
 * agent), status texts, redirects followed or not, the body limit, the
 * timeout, cancelling a transfer, unreadable secret files and the settings it
 * refuses.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "discovery/internal.h"

#include <pthread.h>
#include <unistd.h>

static core_http_server *srv;
static char base[64];
static char dir[64];

static void echo(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    const char *names[] = {"Authorization", "User-Agent", "X-A", "X-B", "X-C", "Accept"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = core_http_header(req, names[i]);
        core_sb_addf(&resp->body, "%s=%s\n", names[i], v ? v : "-");
    }
    size_t n;
    const char *body = core_http_body(req, &n);
    core_sb_addf(&resp->body, "method=%s body=%s\n", core_http_method(req), n ? body : "");
    resp->content_type = "application/json; charset=utf-8";
}

static void status(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    resp->status = atoi(core_http_param(req, "code"));
}

static void redirect(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)req, (void)ud;
    resp->status = 302;
    core_http_resp_header(resp, "Location", "/echo");
}

static void slow(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)req, (void)ud;
    usleep(1500 * 1000);
    core_sb_adds(&resp->body, "late");
}

static void big(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)req, (void)ud;
    core_sb_grow(&resp->body, 3 << 20);
    memset(resp->body.buf, 'x', 3 << 20);
    resp->body.len = 3 << 20;
    resp->body.buf[resp->body.len] = '\0';
    resp->no_compress = true;
}

static int setup(void **state)
{
    (void)state;
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    assert_non_null(srv);
    core_http_route(srv, "GET", "/echo", echo, NULL, &err);
    core_http_route(srv, "POST", "/echo", echo, NULL, &err);
    core_http_route(srv, "PUT", "/echo", echo, NULL, &err);
    core_http_route(srv, "GET", "/status/:code", status, NULL, &err);
    core_http_route(srv, "GET", "/redirect", redirect, NULL, &err);
    core_http_route(srv, "GET", "/slow", slow, NULL, &err);
    core_http_route(srv, "GET", "/big", big, NULL, &err);
    assert_int_equal(core_http_start(srv, &err), 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", core_http_port(srv, 0));
    snprintf(dir, sizeof dir, "/tmp/disc-http-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *write_file(const char *name, const char *content)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static int get(const cfg_http *h, const char *path, disc_http_resp *resp, core_err *err)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *hdrs[] = {"Accept: application/json"};
    disc_http_req req = {.cfg = h,
                         .method = "GET",
                         .url = url,
                         .headers = hdrs,
                         .n_headers = 1,
                         .timeout_ms = 5000,
                         .user_agent = "Prometheus/test"};
    return disc_http_do(&req, resp, err);
}

static void test_headers(void **state)
{
    (void)state;
    char *user = write_file("user", "  alice\n"), *pass = write_file("pass", "s3cret\n\n");
    char *hf = write_file("hdr", "from-file\n");
    cfg_basic_auth ba = {.username_file = user, .password_file = pass};
    const char *va[] = {"va"}, *sb[] = {"sb"}, *fc[] = {hf};
    cfg_header hd[] = {{.name = "X-A", .values = {va, 1}},
                       {.name = "X-B", .secrets = {sb, 1}},
                       {.name = "X-C", .files = {fc, 1}}};
    cfg_http h = {.basic_auth = &ba, .headers = hd, .n_headers = 3, .follow_redirects = true};
    disc_http_resp r;
    core_err err = {{0}};
    assert_int_equal(get(&h, "/echo", &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.status_text, "200 OK");
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    /* base64("alice:s3cret") */
    assert_non_null(strstr(r.body.buf, "Authorization=Basic YWxpY2U6czNjcmV0\n"));
    assert_non_null(strstr(r.body.buf, "User-Agent=Prometheus/test\n"));
    assert_non_null(strstr(r.body.buf, "X-A=va\nX-B=sb\nX-C=from-file\n"));
    assert_non_null(strstr(r.body.buf, "Accept=application/json\n"));
    disc_http_resp_destroy(&r);

    /* authorization with a credentials file, re-read per request */
    char *cred = write_file("cred", "tok1\n");
    cfg_authorization az = {.type = "Bearer", .credentials_file = cred};
    cfg_http h2 = {.authorization = &az};
    assert_int_equal(get(&h2, "/echo", &r, &err), 0);
    assert_non_null(strstr(r.body.buf, "Authorization=Bearer tok1\n"));
    disc_http_resp_destroy(&r);
    free(write_file("cred", "tok2"));
    assert_int_equal(get(&h2, "/echo", &r, &err), 0);
    assert_non_null(strstr(r.body.buf, "Authorization=Bearer tok2\n"));
    disc_http_resp_destroy(&r);
    cfg_authorization az2 = {.type = "Custom", .credentials = "abc"};
    h2.authorization = &az2;
    assert_int_equal(get(&h2, "/echo", &r, &err), 0);
    assert_non_null(strstr(r.body.buf, "Authorization=Custom abc\n"));
    disc_http_resp_destroy(&r);

    /* A secret file that is missing fails the request. */
    cfg_basic_auth missing = {.username = "u", .password_file = "/nonexistent/pw"};
    cfg_http h3 = {.basic_auth = &missing};
    assert_int_equal(get(&h3, "/echo", &r, &err), -1);
    assert_non_null(strstr(err.msg, "unable to read basic auth password: unable to read file "
                                    "/nonexistent/pw"));

    /* POST and PUT send their body. */
    char url[128];
    snprintf(url, sizeof url, "%s/echo", base);
    disc_http_req post = {
        .method = "POST", .url = url, .body = "a=1", .body_len = 3, .user_agent = "ua"};
    assert_int_equal(disc_http_do(&post, &r, &err), 0);
    assert_non_null(strstr(r.body.buf, "method=POST body=a=1"));
    disc_http_resp_destroy(&r);
    post.method = "PUT";
    post.body = NULL;
    post.body_len = 0;
    assert_int_equal(disc_http_do(&post, &r, &err), 0);
    assert_non_null(strstr(r.body.buf, "method=PUT body=\n"));
    disc_http_resp_destroy(&r);
    free(user);
    free(pass);
    free(hf);
    free(cred);
}

static void test_status_and_limits(void **state)
{
    (void)state;
    disc_http_resp r;
    core_err err = {{0}};
    assert_int_equal(get(NULL, "/status/503", &r, &err), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.status_text, "503 Service Unavailable");
    disc_http_resp_destroy(&r);

    /* Redirects: followed by default, not when follow_redirects is off. */
    assert_int_equal(get(NULL, "/redirect", &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.buf, "User-Agent"));
    disc_http_resp_destroy(&r);
    cfg_http nofollow = {.follow_redirects = false};
    assert_int_equal(get(&nofollow, "/redirect", &r, &err), 0);
    assert_int_equal(r.status, 302);
    assert_string_equal(r.status_text, "302 Found");
    disc_http_resp_destroy(&r);

    char url[128];
    snprintf(url, sizeof url, "%s/big", base);
    disc_http_req req = {.method = "GET", .url = url, .max_body = 1 << 20, .user_agent = "ua"};
    assert_int_equal(disc_http_do(&req, &r, &err), -1);
    assert_non_null(strstr(err.msg, "response body larger than 1048576 bytes"));
    assert_non_null(strstr(err.msg, "Get \"http://127.0.0.1:"));

    snprintf(url, sizeof url, "%s/slow", base);
    req = (disc_http_req){.method = "GET", .url = url, .timeout_ms = 200, .user_agent = "ua"};
    assert_int_equal(disc_http_do(&req, &r, &err), -1);
    assert_non_null(strstr(err.msg, "context deadline exceeded"));

    /* Nothing listens on port 1. */
    req = (disc_http_req){.method = "GET", .url = "http://127.0.0.1:1/", .user_agent = "ua"};
    assert_int_equal(disc_http_do(&req, &r, &err), -1);
    assert_non_null(strstr(err.msg, "Get \"http://127.0.0.1:1/\": "));
}

static atomic_bool cancel_flag;

static void *cancel_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    atomic_store(&cancel_flag, true);
    return NULL;
}

static void test_cancel(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "%s/slow", base);
    atomic_store(&cancel_flag, false);
    disc_http_req req = {.method = "GET", .url = url, .user_agent = "ua", .cancel = &cancel_flag};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, NULL);
    double t0 = core_monotonic_seconds();
    disc_http_resp r;
    core_err err = {{0}};
    assert_int_equal(disc_http_do(&req, &r, &err), -1);
    assert_true(core_monotonic_seconds() - t0 < 1.4);
    assert_non_null(strstr(err.msg, "context canceled"));
    pthread_join(t, NULL);
}

static void test_refused(void **state)
{
    (void)state;
    core_err err = {{0}};
    cfg_oauth2 o = {.client_id = "x"};
    cfg_http h = {.oauth2 = &o};
    assert_int_equal(disc_http_check(&h, &err), -1);
    assert_non_null(strstr(err.msg, "oauth2 is not supported"));
    cfg_http h2 = {.tls = {.server_name = "example.org"}};
    assert_int_equal(disc_http_check(&h2, &err), -1);
    assert_non_null(strstr(err.msg, "server_name"));
    cfg_authorization az = {.credentials_ref = "vault"};
    cfg_http h3 = {.authorization = &az};
    assert_int_equal(disc_http_check(&h3, &err), -1);
    assert_non_null(strstr(err.msg, "_ref"));
    cfg_http ok = {.tls = {.ca_file = "/etc/ssl/certs/ca-certificates.crt"}};
    assert_int_equal(disc_http_check(&ok, &err), 0);
    disc_http_resp r;
    assert_int_equal(get(&h, "/echo", &r, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_status_and_limits),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
