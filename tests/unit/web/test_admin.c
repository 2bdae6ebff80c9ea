/*
 * test_admin.c - the TSDB endpoints over HTTP on a real database in a
 * temporary directory: /status/tsdb (head statistics computed as 3.x does,
 * limit and its errors), /status/walreplay, and the admin API: refused
 * without --web.enable-admin-api, delete_series (whole series and a time
 * range, seen by queries at once), clean_tombstones, snapshots with and
 * without the head, under upstream's names.  Also the statistics, boolean
 * and snapshot-name helpers on their own.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include <curl/curl.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include "web/internal.h"

static struct {
    char dir[64];
    tsdb_db *db;
    pql_tsdb_storage *st;
    web_api *api;
    core_http_server *srv;
    char base[64];
} fx;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    core_sb_add(ud, p, size * n);
    return size * n;
}

static long call(const char *method, const char *path, const char *form, core_sb *body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", fx.base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (form) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    if (method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s: %s", url, curl_easy_strerror(rc));
    long status;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (!body->buf) core_sb_adds(body, "");
    return status;
}

static void expect(const char *method, const char *path, const char *form, long status,
                   const char *want)
{
    core_sb body = CORE_SB_INIT;
    long got = call(method, path, form, &body);
    if (got != status || strcmp(body.buf, want) != 0)
        fail_msg("%s %s %s: %ld %s\n  want %ld %s", method ? method : "GET", path, form ? form : "",
                 got, body.buf, status, want);
    core_sb_destroy(&body);
}

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define BAD(msg) "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"" msg "\"}"

static void append(const char *name, const char *inst, const char *job, int64_t t, double v)
{
    core_label p[3] = {{CORE_METRIC_NAME, name}, {"instance", inst}, {"job", job}};
    core_labels *ls = core_labels_new(p, job ? 3 : 2);
    tsdb_appender *a = tsdb_db_appender(fx.db);
    uint64_t ref = 0;
    core_err err = {{0}};
    assert_int_equal(tsdb_appender_add(a, &ref, ls, t, v, &err), 0);
    assert_int_equal(tsdb_appender_commit(a, &err), 0);
    free(ls);
}

static web_api *serve(bool admin, core_http_server **srv)
{
    web_api_opts o = {
        .storage = pql_tsdb_storage_iface(fx.st),
        .engine = PQL_ENGINE_OPTS_DEFAULT,
        .db = fx.db,
        .db_dir = fx.dir,
        .enable_admin = admin,
        .wal_replay = {1, 4, 4},
    };
    core_err err;
    web_api *api = web_api_new(&o, &err);
    assert_non_null(api);
    const char *listen[] = {"127.0.0.1:0"};
    core_http_opts ho = {.listen = listen, .n_listen = 1};
    *srv = core_http_new(&ho, &err);
    assert_int_equal(web_api_register(api, *srv, &err), 0);
    assert_int_equal(core_http_start(*srv, &err), 0);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", core_http_port(*srv, 0));
    return api;
}

static int setup(void **state)
{
    (void)state;
    snprintf(fx.dir, sizeof fx.dir, "/tmp/test_web_admin.XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    core_err err;
    fx.db = tsdb_db_open(fx.dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(fx.db);
    for (int64_t t = 1000; t <= 61000; t += 15000) {
        append("up", "h1", "j", t, 1);
        append("up", "h2", "j", t, 0);
        append("load", "h1", NULL, t, 0.5);
    }
    fx.st = pql_tsdb_storage_db(fx.db);
    fx.api = serve(true, &fx.srv);
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(fx.srv);
    web_api_free(fx.api);
    pql_tsdb_storage_free(fx.st);
    tsdb_db_close(fx.db, NULL);
    nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- Status */

static void test_tsdb_status(void **state)
{
    (void)state;
    expect(NULL, "/api/v1/status/tsdb", NULL, 200,
           OK("{\"headStats\":{\"numSeries\":3,\"numLabelPairs\":5,\"chunkCount\":3,"
              "\"minTime\":1000,\"maxTime\":61000},"
              "\"seriesCountByMetricName\":[{\"name\":\"up\",\"value\":2},"
              "{\"name\":\"load\",\"value\":1}],"
              "\"labelValueCountByLabelName\":[{\"name\":\"__name__\",\"value\":2},"
              "{\"name\":\"instance\",\"value\":2},{\"name\":\"job\",\"value\":1}],"
              "\"memoryInBytesByLabelName\":[{\"name\":\"__name__\",\"value\":38},"
              "{\"name\":\"instance\",\"value\":36},{\"name\":\"job\",\"value\":12}],"
              "\"seriesCountByLabelValuePair\":[{\"name\":\"__name__=up\",\"value\":2},"
              "{\"name\":\"instance=h1\",\"value\":2},{\"name\":\"job=j\",\"value\":2},"
              "{\"name\":\"__name__=load\",\"value\":1},{\"name\":\"instance=h2\",\"value\":1}]}"));
    expect(NULL, "/api/v1/status/tsdb?limit=1", NULL, 200,
           OK("{\"headStats\":{\"numSeries\":3,\"numLabelPairs\":5,\"chunkCount\":3,"
              "\"minTime\":1000,\"maxTime\":61000},"
              "\"seriesCountByMetricName\":[{\"name\":\"up\",\"value\":2}],"
              "\"labelValueCountByLabelName\":[{\"name\":\"__name__\",\"value\":2}],"
              "\"memoryInBytesByLabelName\":[{\"name\":\"__name__\",\"value\":38}],"
              "\"seriesCountByLabelValuePair\":[{\"name\":\"__name__=up\",\"value\":2}]}"));
    const char *bad[] = {"0", "-1", "x", "1.5", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/status/tsdb?limit=%s", bad[i]);
        for (char *p = path; *p; p++)
            if (*p == ' ') *p = '+';
        expect(NULL, path, NULL, 400, BAD("limit must be a positive number"));
    }
    expect(NULL, "/api/v1/status/tsdb?limit=10001", NULL, 400, BAD("limit must not exceed 10000"));
    core_sb body = CORE_SB_INIT;
    assert_int_equal(call(NULL, "/api/v1/status/tsdb?limit=10000", NULL, &body), 200);
    core_sb_destroy(&body);
}

static void test_walreplay(void **state)
{
    (void)state;
    expect(NULL, "/api/v1/status/walreplay", NULL, 200, OK("{\"min\":1,\"max\":4,\"current\":4}"));
}

/* ---- Admin */

#define UNAVAILABLE \
    "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"admin APIs disabled\"}"

static void test_admin_disabled(void **state)
{
    (void)state;
    core_http_server *srv;
    char saved[64];
    memcpy(saved, fx.base, sizeof saved);
    web_api *api = serve(false, &srv);
    expect("POST", "/api/v1/admin/tsdb/snapshot", "", 500, UNAVAILABLE);
    expect("PUT", "/api/v1/admin/tsdb/delete_series", "match[]=up", 500, UNAVAILABLE);
    expect("POST", "/api/v1/admin/tsdb/clean_tombstones", "", 500, UNAVAILABLE);
    core_sb body = CORE_SB_INIT;
    assert_int_equal(call(NULL, "/api/v1/admin/tsdb/snapshot", NULL, &body), 405);
    core_sb_destroy(&body);
    core_http_free(srv);
    web_api_free(api);
    memcpy(fx.base, saved, sizeof saved);
}

static void test_delete_series(void **state)
{
    (void)state;
    expect("POST", "/api/v1/admin/tsdb/delete_series", "", 400,
           BAD("no match[] parameter provided"));
    expect("POST", "/api/v1/admin/tsdb/delete_series", "match[]=up&start=x", 400,
           BAD("invalid parameter \\\"start\\\": invalid time value for 'start': cannot parse "
               "\\\"x\\\" to a valid timestamp"));
    expect("POST", "/api/v1/admin/tsdb/delete_series", "match[]=up%7B", 400,
           BAD("invalid parameter \\\"match[]\\\": 1:4: parse error: unexpected end of input "
               "inside braces"));
    expect("POST", "/api/v1/admin/tsdb/delete_series", "match[]=up%7Binstance%3D%22h1%22%7D", 204,
           "");
    expect(NULL, "/api/v1/query?query=count_over_time(up%5B2m%5D)&time=61", NULL, 200,
           OK("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"instance\":\"h2\","
              "\"job\":\"j\"},\"value\":[61,\"5\"]}]}"));
    /* a range; PUT as well; regex matchers */
    expect("PUT", "/api/v1/admin/tsdb/delete_series",
           "match[]=%7B__name__%3D~%22lo.d%22%7D&start=20&end=40", 204, "");
    expect(NULL, "/api/v1/query?query=count_over_time(load%5B2m%5D)&time=61", NULL, 200,
           OK("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"instance\":\"h1\"},"
              "\"value\":[61,\"4\"]}]}"));
    expect("POST", "/api/v1/admin/tsdb/clean_tombstones", "", 204, "");
    expect(NULL, "/api/v1/query?query=count_over_time(load%5B2m%5D)&time=61", NULL, 200,
           OK("{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"instance\":\"h1\"},"
              "\"value\":[61,\"4\"]}]}"));
}

/* Entries of a directory (., .. not counted); -1 when it does not exist. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void snapshot(const char *form, int want_blocks)
{
    core_sb body = CORE_SB_INIT;
    assert_int_equal(call("POST", "/api/v1/admin/tsdb/snapshot", form, &body), 200);
    char name[64] = "";
    assert_int_equal(
        sscanf(body.buf, "{\"status\":\"success\",\"data\":{\"name\":\"%63[^\"]", name), 1);
    /* 20060102T150405Z-<16 hex digits> */
    assert_int_equal(strlen(name), 16 + 1 + 16);
    assert_int_equal(name[8], 'T');
    assert_int_equal(name[15], 'Z');
    assert_int_equal(name[16], '-');
    char path[256];
    snprintf(path, sizeof path, "%s/snapshots/%s", fx.dir, name);
    assert_int_equal(entries(path), want_blocks);
    core_sb_destroy(&body);
}

static void test_snapshot(void **state)
{
    (void)state;
    snapshot("", 1);
    snapshot("skip_head=false", 1);
    snapshot("skip_head=true", 0);
    snapshot("skip_head=1", 0);
    expect("POST", "/api/v1/admin/tsdb/snapshot", "skip_head=yes", 400,
           BAD("invalid parameter \\\"skip_head\\\": unable to parse boolean: "
               "strconv.ParseBool: parsing \\\"yes\\\": invalid syntax"));
}

/* ---- Helpers */

static void test_helpers(void **state)
{
    (void)state;
    bool b = false;
    const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    const char *no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        assert_true(web_parse_bool(yes[i], &b) && b);
        assert_true(web_parse_bool(no[i], &b) && !b);
    }
    assert_false(web_parse_bool("yes", &b));
    assert_false(web_parse_bool("tRUE", &b));
    assert_false(web_parse_bool("", &b));
    char name[64];
    web_snapshot_name(1700000000123, UINT64_MAX, name);
    assert_string_equal(name, "20231114T221320Z-7fffffffffffffff");
    web_snapshot_name(0, 0x1a78bb3bf6749cdfULL, name);
    assert_string_equal(name, "19700101T000000Z-1a78bb3bf6749cdf");

    /* the statistics: zero-series pairs skipped, long strings counted with
     * a four-byte length, ties by name */
    char long_value[300];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    web_pair_count pairs[] = {
        {"__name__", "a", 3}, {"__name__", "b", 3}, {"__name__", "gone", 0},
        {"k", long_value, 1}, {"z", "1", 2},
    };
    core_arena a;
    core_arena_init(&a, 0);
    web_tsdb_stats st;
    web_tsdb_stats_compute(pairs, 5, 10, &a, &st);
    assert_int_equal(st.num_label_pairs, 4);
    assert_int_equal(st.n_by_metric, 2);
    assert_string_equal(st.by_metric[0].name, "a");
    assert_int_equal(st.n_by_label, 3);
    assert_string_equal(st.by_label[0].name, "__name__");
    assert_int_equal(st.by_label[0].count, 2);
    assert_int_equal(st.n_memory, 3);
    assert_string_equal(st.memory[0].name, "k");
    assert_int_equal(st.memory[0].count, 2 + 299 + 4); /* "k" + 299 bytes with 4-byte length */
    assert_string_equal(st.memory[1].name, "__name__");
    assert_int_equal(st.memory[1].count, (9 + 2) * 3 * 2);
    assert_int_equal(st.memory[2].count, (2 + 2) * 2);
    assert_int_equal(st.n_by_pair, 4);
    assert_string_equal(st.by_pair[0].name, "__name__=a");
    assert_string_equal(st.by_pair[1].name, "__name__=b");
    assert_string_equal(st.by_pair[2].name, "z=1");
    web_tsdb_stats_compute(pairs, 5, 1, &a, &st);
    assert_int_equal(st.n_by_metric, 1);
    assert_int_equal(st.n_by_pair, 1);
    web_tsdb_stats_compute(NULL, 0, 10, &a, &st);
    assert_int_equal(st.n_by_metric + st.n_by_label + st.n_memory + st.n_by_pair, 0);
    core_arena_destroy(&a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsdb_status),    cmocka_unit_test(test_walreplay),
        cmocka_unit_test(test_admin_disabled), cmocka_unit_test(test_delete_series),
        cmocka_unit_test(test_snapshot),       cmocka_unit_test(test_helpers),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
