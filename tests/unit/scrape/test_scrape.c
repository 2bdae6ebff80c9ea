/*
 * test_scrape.c - the scrape manager against a target served by this test
 * (core's HTTP server on a free loopback port) into a real TSDB in a
 * temporary directory: samples and report series, the series cache
 * (scrape_series_added falls to 0), staleness markers for a series that
 * vanishes, for a failed scrape and for a removed target (none for series
 * with their own timestamps unless tracked, as upstream), honor_labels and
 * exported_* renaming, metric relabeling dropping series, the sample and
 * label limits, the body size limit, a hanging target timing out, garbage,
 * the Accept header, the deterministic offset, a series the head dropped
 * while the cache still knew its ref, and bodies as sent: gzip with several
 * members, corrupt, truncated or not gzip at all, another Content-Encoding
 * (read as it is, as upstream), and the size limit on the inflated body.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "scrape/scrape.h"

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <zlib.h>

/* ---- The target */

static pthread_mutex_t body_mtx = PTHREAD_MUTEX_INITIALIZER;
static char body[4096];
static int hang_ms;
static char last_accept[512];
static char last_timeout_hdr[64];

/* A body sent as it is, with this Content-Encoding (when raw_len > 0). */
static unsigned char raw_body[8192];
static size_t raw_len;
static const char *raw_encoding;

static void serve(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&body_mtx);
    if (raw_len) {
        core_sb_add(&resp->body, raw_body, raw_len);
        resp->no_compress = true;
        core_http_resp_header(resp, "Content-Encoding", raw_encoding);
        resp->content_type = "text/plain; version=0.0.4";
        pthread_mutex_unlock(&body_mtx);
        return;
    }
    const char *a = core_http_header(req, "Accept");
    snprintf(last_accept, sizeof last_accept, "%s", a ? a : "");
    const char *t = core_http_header(req, "X-Prometheus-Scrape-Timeout-Seconds");
    snprintf(last_timeout_hdr, sizeof last_timeout_hdr, "%s", t ? t : "");
    core_sb_adds(&resp->body, body);
    int wait = hang_ms;
    pthread_mutex_unlock(&body_mtx);
    resp->content_type = "text/plain; version=0.0.4";
    if (wait) usleep((useconds_t)wait * 1000);
}

static void set_body(const char *b)
{
    pthread_mutex_lock(&body_mtx);
    snprintf(body, sizeof body, "%s", b);
    pthread_mutex_unlock(&body_mtx);
}

typedef struct fixture {
    core_http_server *srv;
    char url[128], instance[64];
    char dir[64];
    tsdb_db *db;
    scrape_manager *m;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    f->srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    assert_non_null(f->srv);
    assert_int_equal(core_http_route(f->srv, "GET", "/metrics", serve, NULL, &err), 0);
    assert_int_equal(core_http_start(f->srv, &err), 0);
    snprintf(f->instance, sizeof f->instance, "127.0.0.1:%u", core_http_port(f->srv, 0));
    snprintf(f->url, sizeof f->url, "http://%s/metrics", f->instance);
    snprintf(f->dir, sizeof f->dir, "/tmp/scrape-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->db = tsdb_db_open(f->dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(f->db);
    f->m = scrape_manager_new(f->db, NULL, &err);
    assert_non_null(f->m);
    hang_ms = 0;
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    scrape_manager_free(f->m);
    tsdb_db_close(f->db, NULL);
    core_http_free(f->srv);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static core_labels *target_labels(fixture *f)
{
    core_label p[] = {{"job", "test"}, {"instance", f->instance}};
    return core_labels_new(p, 2);
}

static void sync_one(fixture *f, scrape_target_def d)
{
    core_labels *ls = target_labels(f);
    d.pool = "test";
    d.url = f->url;
    d.labels = ls;
    if (!d.interval_ms) d.interval_ms = 100;
    if (!d.timeout_ms) d.timeout_ms = 90;
    core_err err = {{0}};
    assert_int_equal(scrape_manager_sync(f->m, &d, 1, &err), 0);
    free(ls);
}

/* The target's state once it was scraped at least `n` more times. */
static scrape_target_state wait_scrapes(fixture *f, int n, core_arena *arena)
{
    scrape_target_state *st = NULL;
    int64_t seen = -1;
    int got = 0;
    for (int i = 0; i < 400 && got < n; i++) {
        core_arena_reset(arena);
        size_t k = scrape_manager_targets(f->m, arena, &st);
        if (k == 1 && st[0].last_scrape_ms && st[0].last_scrape_ms != seen) {
            if (seen != -1 || n == 1) got++;
            seen = st[0].last_scrape_ms;
        }
        usleep(10000);
    }
    assert_int_equal(got, n);
    core_arena_reset(arena);
    scrape_manager_targets(f->m, arena, &st);
    return st[0];
}

/* The samples of the one series selected by `name` (and job="test"). */
static size_t samples(fixture *f, const char *name, const char *label, const char *value,
                      double *vs, size_t cap, core_labels **labels_out)
{
    tsdb_querier q;
    tsdb_db_querier(f->db, &q);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_matcher m[2] = {
        {.type = TSDB_MATCH_EQ, .name = tsdb_str_c("__name__"), .value = tsdb_str_c(name)},
        {.type = TSDB_MATCH_EQ,
         .name = tsdb_str_c(label ? label : "job"),
         .value = tsdb_str_c(label ? value : "test")}};
    tsdb_qseries *out;
    size_t n = 0, k = 0;
    core_err err = {{0}};
    assert_int_equal(tsdb_querier_select(&q, m, 2, INT64_MIN, INT64_MAX, &arena, &out, &n, &err),
                     0);
    if (n == 1) {
        if (labels_out) *labels_out = core_labels_clone(out[0].labels);
        tsdb_qiter it;
        tsdb_qiter_init(&it, &out[0]);
        while (tsdb_qiter_next(&it)) {
            if (k < cap) memcpy(&vs[k], &it.v, sizeof(double));
            k++;
        }
    }
    core_arena_destroy(&arena);
    tsdb_querier_close(&q);
    return n == 1 ? k : 0;
}

static bool is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == TSDB_STALE_NAN_BITS;
}

static void test_scrape_and_report(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    set_body("# TYPE a_total counter\na_total{x=\"1\"} 5\nb 2\n");
    sync_one(f, (scrape_target_def){.honor_timestamps = true});
    scrape_target_state st = wait_scrapes(f, 3, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    assert_string_equal(st.last_error, "");
    assert_int_equal(st.last_samples, 2);
    double v[64];
    core_labels *ls = NULL;
    size_t n = samples(f, "a_total", NULL, NULL, v, 64, &ls);
    assert_true(n >= 3);
    assert_true(v[0] == 5);
    assert_string_equal(core_labels_get(ls, "x"), "1");
    assert_string_equal(core_labels_get(ls, "instance"), f->instance);
    free(ls);
    n = samples(f, "up", NULL, NULL, v, 64, NULL);
    assert_true(n >= 3 && v[0] == 1);
    n = samples(f, "scrape_samples_scraped", NULL, NULL, v, 64, NULL);
    assert_true(v[0] == 2);
    n = samples(f, "scrape_series_added", NULL, NULL, v, 64, NULL);
    assert_true(v[0] == 2 && v[1] == 0); /* the cache knows them the second time */
    n = samples(f, "scrape_samples_post_metric_relabeling", NULL, NULL, v, 64, NULL);
    assert_true(v[0] == 2);
    assert_true(samples(f, "scrape_duration_seconds", NULL, NULL, v, 64, NULL) >= 3);
    assert_true(v[0] > 0 && v[0] < 1);
    /* Upstream's default Accept header and the timeout header. */
    pthread_mutex_lock(&body_mtx);
    assert_string_equal(last_accept,
                        "application/openmetrics-text;version=1.0.0;q=0.6,"
                        "application/openmetrics-text;version=0.0.1;q=0.5,"
                        "text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2");
    assert_string_equal(last_timeout_hdr, "0.09");
    pthread_mutex_unlock(&body_mtx);

    /* Metadata: a_total's TYPE and HELP as exposed. */
    scrape_metadata *md;
    core_arena_reset(&arena);
    size_t nmd = scrape_manager_metadata(f->m, &arena, &md);
    assert_int_equal(nmd, 1);
    assert_string_equal(md[0].metric, "a_total");
    assert_int_equal(md[0].type, MODEL_TYPE_COUNTER);
    assert_string_equal(md[0].help, "");
    assert_string_equal(core_labels_get(md[0].labels, "job"), "test");

    /* b vanishes: a staleness marker, then nothing. */
    set_body("a_total{x=\"1\"} 6\n");
    wait_scrapes(f, 2, &arena);
    n = samples(f, "b", NULL, NULL, v, 64, NULL);
    assert_true(n >= 4 && is_stale(v[n - 1]));
    /* The target goes away: markers for its series and its report series. */
    assert_int_equal(scrape_manager_sync(f->m, NULL, 0, NULL), 0);
    for (int i = 0; i < 100; i++) {
        n = samples(f, "a_total", NULL, NULL, v, 64, NULL);
        if (n && is_stale(v[n - 1])) break;
        usleep(10000);
    }
    assert_true(is_stale(v[n - 1]));
    n = samples(f, "up", NULL, NULL, v, 64, NULL);
    assert_true(is_stale(v[n - 1]));
    core_arena_destroy(&arena);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Series exposed with their own timestamps, as upstream: no staleness
 * marker when they go unless track_timestamps_staleness is set, and a
 * series listed twice in one scrape keeps both samples when they carry
 * timestamps (without, the second is dropped). */
static void test_explicit_timestamps(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    double v[64];
    char b[512];
    int64_t t1 = now_ms() - 5000;
    snprintf(b, sizeof b, "a 1 %lld\nb 2\nc 1 %lld\nc 2 %lld\nd 1\nd 2\n", (long long)t1,
             (long long)t1, (long long)t1 + 1);
    set_body(b);
    sync_one(f, (scrape_target_def){.honor_timestamps = true});
    wait_scrapes(f, 2, &arena);
    size_t n = samples(f, "c", NULL, NULL, v, 64, NULL);
    assert_int_equal(n, 2);
    assert_true(v[0] == 1 && v[1] == 2);
    n = samples(f, "d", NULL, NULL, v, 64, NULL);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++)
        assert_true(v[i] == 1); /* the second "d" of each scrape dropped */
    set_body("x 1\n");
    wait_scrapes(f, 2, &arena);
    n = samples(f, "b", NULL, NULL, v, 64, NULL);
    assert_true(n >= 2 && is_stale(v[n - 1]));
    n = samples(f, "a", NULL, NULL, v, 64, NULL);
    assert_int_equal(n, 1); /* one sample at t1, no marker */
    assert_true(v[0] == 1);
    n = samples(f, "c", NULL, NULL, v, 64, NULL);
    assert_true(n == 2 && !is_stale(v[1]));

    /* Tracked: the marker comes, also when the target goes away. */
    int64_t t2 = now_ms() - 2000;
    snprintf(b, sizeof b, "e 1 %lld\nf 1 %lld\n", (long long)t2, (long long)t2);
    set_body(b);
    sync_one(f, (scrape_target_def){.honor_timestamps = true, .track_timestamps_staleness = true});
    wait_scrapes(f, 2, &arena);
    snprintf(b, sizeof b, "f 1 %lld\n", (long long)t2);
    set_body(b);
    wait_scrapes(f, 2, &arena);
    n = samples(f, "e", NULL, NULL, v, 64, NULL);
    assert_true(n == 2 && v[0] == 1 && is_stale(v[1]));
    assert_int_equal(scrape_manager_sync(f->m, NULL, 0, NULL), 0);
    for (int i = 0; i < 100; i++) {
        n = samples(f, "f", NULL, NULL, v, 64, NULL);
        if (n == 2) break;
        usleep(10000);
    }
    assert_true(n == 2 && is_stale(v[1]));
    core_arena_destroy(&arena);
}

static void test_failures(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    double v[256];
    set_body("x 1\ny 2\nz 3\n");
    sync_one(f, (scrape_target_def){.sample_limit = 2});
    scrape_target_state st = wait_scrapes(f, 1, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "sample limit exceeded");
    assert_int_equal(samples(f, "x", NULL, NULL, v, 256, NULL), 0); /* rolled back */
    size_t n = samples(f, "up", NULL, NULL, v, 256, NULL);
    assert_true(n >= 1 && v[n - 1] == 0);

    /* Garbage: down with the parser's message; the earlier series go stale. */
    sync_one(f, (scrape_target_def){0});
    wait_scrapes(f, 2, &arena);
    assert_true(samples(f, "x", NULL, NULL, v, 256, NULL) >= 1);
    set_body("x 1\nthis is not { a metric\n");
    st = wait_scrapes(f, 2, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    print_message("parse error: %s\n", st.last_error);
    assert_non_null(strstr(st.last_error, ":2:"));
    n = samples(f, "x", NULL, NULL, v, 256, NULL);
    assert_true(is_stale(v[n - 1]));

    /* A label limit. */
    set_body("x{a=\"1\",b=\"2\",c=\"3\"} 1\n");
    sync_one(f, (scrape_target_def){.label_limit = 4});
    st = wait_scrapes(f, 2, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_non_null(strstr(st.last_error, "label_limit exceeded"));

    /* The body size limit. */
    set_body("x 1\ny 2\nz 3\n");
    sync_one(f, (scrape_target_def){.body_size_limit = 8});
    st = wait_scrapes(f, 2, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "body size limit exceeded");

    /* A target that hangs past the timeout. */
    pthread_mutex_lock(&body_mtx);
    hang_ms = 300;
    pthread_mutex_unlock(&body_mtx);
    sync_one(f, (scrape_target_def){.interval_ms = 200, .timeout_ms = 50});
    st = wait_scrapes(f, 1, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_non_null(strstr(st.last_error, "context deadline exceeded"));
    pthread_mutex_lock(&body_mtx);
    hang_ms = 0;
    pthread_mutex_unlock(&body_mtx);
    core_arena_destroy(&arena);
}

static core_labels *drop_y(void *ctx, const core_labels *in)
{
    (void)ctx;
    const char *name = core_labels_get(in, "__name__");
    if (name && !strcmp(name, "y")) return NULL;
    return core_labels_clone(in);
}

static void test_labels(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    double v[64];
    core_labels *ls = NULL;
    set_body("x{job=\"inner\",instance=\"i\"} 1\ny 2\n");
    sync_one(f, (scrape_target_def){.metric_relabel = drop_y});
    wait_scrapes(f, 2, &arena);
    assert_int_equal(samples(f, "x", "exported_job", "inner", v, 64, &ls) > 0, 1);
    assert_string_equal(core_labels_get(ls, "job"), "test");
    assert_string_equal(core_labels_get(ls, "exported_instance"), "i");
    free(ls);
    assert_int_equal(samples(f, "y", NULL, NULL, v, 64, NULL), 0); /* dropped */
    size_t n = samples(f, "scrape_samples_post_metric_relabeling", NULL, NULL, v, 64, NULL);
    assert_true(n >= 1 && v[n - 1] == 1);
    /* honor_labels keeps the scraped values. */
    set_body("z{job=\"inner\"} 1\n");
    sync_one(f, (scrape_target_def){.honor_labels = true});
    wait_scrapes(f, 2, &arena);
    assert_true(samples(f, "z", "job", "inner", v, 64, &ls) > 0);
    assert_string_equal(core_labels_get(ls, "instance"), f->instance);
    free(ls);
    core_arena_destroy(&arena);
}

/* The head drops series left without data (truncation); the cache keeps
 * only refs, so the next scrape must build the labels again from the text. */
static void test_forgotten_series(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    double v[64];
    core_labels *ls = NULL;
    set_body("kept{a=\"1\"} 7\n");
    sync_one(f, (scrape_target_def){0});
    wait_scrapes(f, 2, &arena);
    assert_true(samples(f, "kept", NULL, NULL, v, 64, NULL) >= 2);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t cut = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    tsdb_head_truncate(tsdb_db_head(f->db), cut);
    assert_int_equal(samples(f, "kept", NULL, NULL, v, 64, NULL), 0);
    scrape_target_state st = wait_scrapes(f, 2, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    assert_string_equal(st.last_error, "");
    size_t n = samples(f, "up", NULL, NULL, v, 64, NULL);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) /* no scrape failed on the unknown ref */
        assert_true(v[i] == 1);
    assert_true(samples(f, "kept", NULL, NULL, v, 64, &ls) >= 1);
    assert_true(v[0] == 7);
    assert_string_equal(core_labels_get(ls, "a"), "1");
    assert_string_equal(core_labels_get(ls, "job"), "test");
    assert_string_equal(core_labels_get(ls, "instance"), f->instance);
    free(ls);
    core_arena_destroy(&arena);
}

/* Appends text, gzipped as one member, to the raw body. */
static void add_member(const char *text)
{
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = raw_body + raw_len;
    zs.avail_out = (uInt)(sizeof raw_body - raw_len);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    raw_len = sizeof raw_body - zs.avail_out;
    deflateEnd(&zs);
}

static void set_raw(const char *encoding)
{
    pthread_mutex_lock(&body_mtx);
    raw_encoding = encoding;
    raw_len = 0;
    pthread_mutex_unlock(&body_mtx);
}

static scrape_target_state scrape_raw(fixture *f, scrape_target_def d, core_arena *arena)
{
    sync_one(f, d);
    return wait_scrapes(f, 2, arena);
}

static void test_encodings(void **state)
{
    fixture *f = *state;
    core_arena arena;
    core_arena_init(&arena, 0);
    double v[64];
    /* Two gzip members: both read, as Go's gzip reader reads them. */
    set_raw("gzip");
    add_member("m1 1\n");
    add_member("m2 2\n");
    scrape_target_state st = scrape_raw(f, (scrape_target_def){0}, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    assert_int_equal(st.last_samples, 2);
    assert_true(samples(f, "m2", NULL, NULL, v, 64, NULL) >= 1 && v[0] == 2);
    /* A long member, then a short one: the trailer's length is the short
     * one's, so the room given first is too small. */
    set_raw("gzip");
    char many[4096];
    size_t w = 0;
    for (int i = 0; i < 200; i++)
        w += (size_t)snprintf(many + w, sizeof many - w, "n%d 1\n", i);
    add_member(many);
    add_member("m3 3\n");
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 109}, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    assert_int_equal(st.last_samples, 201);
    /* Cut short. */
    set_raw("gzip");
    add_member("m1 1\nm2 2\nm3 3\n");
    raw_len -= 6;
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 101}, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "unexpected EOF");
    /* A bad checksum. */
    set_raw("gzip");
    add_member("m1 1\n");
    raw_body[raw_len - 6] ^= 0xff;
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 102}, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "gzip: invalid checksum");
    /* Corrupt data after a good header. */
    set_raw("gzip");
    add_member("m1 1\n");
    memset(raw_body + 10, 0xff, raw_len - 18);
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 103}, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_non_null(strstr(st.last_error, "flate: corrupt input before offset"));
    /* Said to be gzip, is not; and garbage after a good member. */
    set_raw("gzip");
    memcpy(raw_body, "m1 1\n", 5);
    raw_len = 5;
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 104}, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "gzip: invalid header");
    set_raw("gzip");
    add_member("m1 1\n");
    memcpy(raw_body + raw_len, "xyz", 3);
    raw_len += 3;
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 105}, &arena);
    assert_string_equal(st.last_error, "gzip: invalid header");
    /* Another encoding: read as it is. */
    set_raw("br");
    memcpy(raw_body, "m9 9\n", 5);
    raw_len = 5;
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 106}, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    assert_true(samples(f, "m9", NULL, NULL, v, 64, NULL) >= 1 && v[0] == 9);
    /* The size limit is on the inflated body: 40 bytes in, 2 KiB out. */
    set_raw("gzip");
    char big[4096];
    size_t k = 0;
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "m1{a=\"\"} 1\n");
    add_member(big);
    assert_true(raw_len < 100);
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 107, .body_size_limit = 1000}, &arena);
    assert_int_equal(st.health, SCRAPE_DOWN);
    assert_string_equal(st.last_error, "body size limit exceeded");
    st = scrape_raw(f, (scrape_target_def){.interval_ms = 108, .body_size_limit = 3000}, &arena);
    assert_int_equal(st.health, SCRAPE_UP);
    set_raw(NULL);
    core_arena_destroy(&arena);
}

static void test_helpers(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    const char *protos[] = {"PrometheusProto", "PrometheusText0.0.4"};
    assert_int_equal(scrape_accept_header(protos, 2, &sb, NULL), 0);
    assert_string_equal(sb.buf, "application/vnd.google.protobuf;proto=io.prometheus.client."
                                "MetricFamily;encoding=delimited;q=0.6,"
                                "text/plain;version=0.0.4;q=0.5,*/*;q=0.4");
    core_err err = {{0}};
    const char *bad[] = {"Nope"};
    core_sb_reset(&sb);
    assert_int_equal(scrape_accept_header(bad, 1, &sb, &err), -1);
    assert_string_equal(err.msg, "unknown scrape protocol Nope");
    core_sb_destroy(&sb);
    /* The offset is fixed per target within the interval. */
    int64_t d1 = scrape_first_delay(12345, 0, 15000, 1000000);
    int64_t d2 = scrape_first_delay(12345, 0, 15000, 1000000 + 15000);
    assert_int_equal(d1, d2);
    assert_true(d1 > 0 && d1 <= 15000);
    assert_int_equal((1000000 + d1) % 15000, 12345 % 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scrape_and_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forgotten_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encodings, setup, teardown),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
