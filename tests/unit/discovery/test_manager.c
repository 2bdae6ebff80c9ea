/*
 * test_manager.c - the discovery manager through its public API: static
 * sets, providers shared between sets and kept across a reload, apply and
 * remove, unknown sets, file discovery seeing a rewritten file, the notify
 * callback and generations, `changed` generations that stay when content
 * does, counts per set, a failed config, stopping a provider stuck in a
 * slow HTTP request, and the throttling of publications.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "discovery/discovery.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static char dir[64];
static atomic_int notified;
static atomic_ullong last_gen;

static void on_notify(uint64_t gen, void *ud)
{
    (void)ud;
    atomic_fetch_add(&notified, 1);
    atomic_store(&last_gen, gen);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/disc-mgr-XXXXXX");
    assert_non_null(mkdtemp(dir));
    atomic_store(&notified, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static disc_manager *manager(int64_t update_ms)
{
    core_err err = {{0}};
    disc_opts o = {.name = "scrape", .update_interval_ms = update_ms, .notify = on_notify};
    disc_manager *m = disc_manager_new(&o, &err);
    assert_non_null(m);
    return m;
}

/* Waits for a publication after `gen` in which `set` has `n` targets. */
static uint64_t wait_targets(disc_manager *m, const char *set, size_t n, uint64_t gen)
{
    for (int i = 0; i < 100; i++) {
        gen = disc_manager_wait(m, gen, 100);
        core_arena a;
        core_arena_init(&a, 0);
        disc_set_info *info;
        size_t ns = disc_manager_sets(m, &a, &info);
        for (size_t k = 0; k < ns; k++) {
            if (strcmp(info[k].name, set) == 0 && info[k].n_targets == n) {
                core_arena_destroy(&a);
                return gen;
            }
        }
        core_arena_destroy(&a);
    }
    fail_msg("set %s never had %zu targets", set, n);
    return 0;
}

static void test_static(void **state)
{
    (void)state;
    disc_manager *m = manager(50);
    core_label gl[] = {{"env", "prod"}};
    core_labels *ls = core_labels_new(gl, 1), *none = core_labels_new(NULL, 0);
    const char *t1[] = {"a:1", "b:2"}, *t2[] = {"c:3"};
    cfg_target_group g[] = {{.targets = {t1, 2}, .labels = ls},
                            {.targets = {NULL, 0}, .labels = ls},
                            {.targets = {t2, 1}, .labels = none}};
    cfg_sd sd = {.static_configs = g, .n_static = 3};
    disc_set_cfg sets[] = {{"job1", &sd}, {"job2", &sd}, {"empty", NULL}};
    core_err err = {{0}};
    assert_int_equal(disc_manager_sync(m, sets, 3, &err), 0);
    uint64_t gen = wait_targets(m, "job1", 3, 0);
    assert_true(atomic_load(&notified) >= 1);

    core_arena a;
    core_arena_init(&a, 0);
    disc_group *gs;
    size_t n;
    uint64_t changed1;
    assert_int_equal(disc_manager_targets(m, "job1", &a, &gs, &n, &changed1, &err), 0);
    assert_int_equal(n, 2); /* the group without targets is left out */
    assert_string_equal(gs[0].source, "0");
    assert_string_equal(gs[1].source, "2");
    assert_int_equal(gs[0].n_targets, 2);
    assert_string_equal(core_labels_get(gs[0].targets[1], "__address__"), "b:2");
    assert_string_equal(core_labels_get(gs[0].labels, "env"), "prod");
    core_labels *merged = disc_target_labels(&gs[0], 0, &a);
    assert_string_equal(core_labels_get(merged, "env"), "prod");
    assert_string_equal(core_labels_get(merged, "__address__"), "a:1");
    assert_int_equal(disc_manager_targets(m, "empty", &a, &gs, &n, NULL, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(disc_manager_targets(m, "nope", &a, &gs, &n, NULL, &err), -1);
    assert_string_equal(err.msg, "unknown target set \"nope\"");

    disc_stats st;
    disc_manager_stats(m, &st);
    assert_int_equal(st.providers, 1); /* job1 and job2 share it */
    disc_set_info *info;
    size_t ns = disc_manager_sets(m, &a, &info);
    assert_int_equal(ns, 3);
    assert_string_equal(info[0].name, "empty");
    assert_string_equal(info[1].name, "job1");
    assert_int_equal(info[2].n_targets, 3);

    /* job2 changes: job1 keeps its `changed`, job2 gets a new one. */
    const char *t3[] = {"d:4"};
    cfg_target_group g2[] = {{.targets = {t3, 1}, .labels = none}};
    cfg_sd sd2 = {.static_configs = g2, .n_static = 1};
    assert_int_equal(disc_manager_apply(m, "job2", &sd2, &err), 0);
    gen = wait_targets(m, "job2", 1, gen);
    uint64_t c1, c2;
    assert_int_equal(disc_manager_targets(m, "job1", &a, &gs, &n, &c1, &err), 0);
    assert_int_equal(c1, changed1);
    assert_int_equal(disc_manager_targets(m, "job2", &a, &gs, &n, &c2, &err), 0);
    assert_true(c2 > changed1);
    assert_string_equal(core_labels_get(gs[0].targets[0], "__address__"), "d:4");
    disc_manager_stats(m, &st);
    assert_int_equal(st.providers, 2);

    /* Remove a set; sync with two sets that never had anything. */
    assert_int_equal(disc_manager_apply(m, "job2", NULL, &err), 0);
    assert_int_equal(disc_manager_targets(m, "job2", &a, &gs, &n, NULL, &err), -1);
    disc_manager_stats(m, &st);
    assert_int_equal(st.providers, 1);
    disc_set_cfg dup[] = {{"x", NULL}, {"x", NULL}};
    assert_int_equal(disc_manager_sync(m, dup, 2, &err), -1);
    assert_string_equal(err.msg, "target set \"x\" given twice");
    disc_set_cfg bare[] = {{"x", NULL}, {"y", NULL}};
    assert_int_equal(disc_manager_sync(m, bare, 2, &err), 0);
    gen = disc_manager_wait(m, gen, 2000);
    ns = disc_manager_sets(m, &a, &info);
    assert_int_equal(ns, 2);
    assert_int_equal(info[0].n_targets, 0);
    disc_manager_stats(m, &st);
    assert_int_equal(st.providers, 0);
    core_arena_destroy(&a);
    free(ls);
    free(none);
    disc_manager_free(m);
}

static void write_file(const char *path, const char *content)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    fputs(content, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_file_and_reload(void **state)
{
    (void)state;
    disc_manager *m = manager(100);
    char path[128], pat[128];
    snprintf(path, sizeof path, "%s/targets.json", dir);
    snprintf(pat, sizeof pat, "%s/*.json", dir);
    write_file(path, "[{\"targets\":[\"a:1\"]}]");
    const char *files[] = {pat};
    cfg_file_sd f = {.files = {files, 1}, .refresh_interval_ms = 600000};
    cfg_sd sd = {.file = &f, .n_file = 1};
    disc_set_cfg sets[] = {{"files", &sd}};
    core_err err = {{0}};
    assert_int_equal(disc_manager_sync(m, sets, 1, &err), 0);
    uint64_t gen = wait_targets(m, "files", 1, 0);

    /* Rewritten: seen through inotify, long before the refresh interval. */
    write_file(path, "[{\"targets\":[\"a:1\",\"b:2\"],\"labels\":{\"x\":\"y\"}}]");
    gen = wait_targets(m, "files", 2, gen);
    core_arena a;
    core_arena_init(&a, 0);
    disc_group *gs;
    size_t n;
    assert_int_equal(disc_manager_targets(m, "files", &a, &gs, &n, NULL, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(core_labels_get(gs[0].labels, "__meta_filepath"), path);
    assert_string_equal(core_labels_get(gs[0].labels, "x"), "y");

    /* A broken rewrite keeps the targets. */
    disc_stats st;
    write_file(path, "[{");
    for (int i = 0; i < 50; i++) {
        disc_manager_stats(m, &st);
        if (st.file_read_errors) break;
        usleep(20000);
    }
    assert_true(st.file_read_errors >= 1);
    gen = disc_manager_wait(m, gen, 300);
    assert_int_equal(disc_manager_targets(m, "files", &a, &gs, &n, NULL, &err), 0);
    assert_int_equal(gs[0].n_targets, 2);

    /* A reload with the same file config keeps the provider: no new read. */
    write_file(path, "[{\"targets\":[\"c:3\"]}]");
    gen = wait_targets(m, "files", 1, gen);
    disc_manager_stats(m, &st);
    uint64_t received = st.received_updates;
    disc_set_cfg more[] = {{"files", &sd}, {"files2", &sd}};
    assert_int_equal(disc_manager_sync(m, more, 2, &err), 0);
    gen = wait_targets(m, "files2", 1, gen);
    disc_manager_stats(m, &st);
    assert_int_equal(st.received_updates, received);
    assert_int_equal(st.providers, 1);

    /* A file removed: its targets go. */
    assert_int_equal(unlink(path), 0);
    gen = wait_targets(m, "files", 0, gen);
    wait_targets(m, "files2", 0, gen - 1);
    assert_true(atomic_load(&notified) >= 4);
    assert_true(atomic_load(&last_gen) > 0);
    assert_true((uint64_t)atomic_load(&last_gen) <= disc_manager_generation(m));
    core_arena_destroy(&a);
    disc_manager_free(m);
}

static core_http_server *srv;

static void slow(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)req, (void)ud;
    usleep(2000 * 1000);
    resp->content_type = "application/json";
    core_sb_adds(&resp->body, "[]");
}

static void test_stop_and_failures(void **state)
{
    (void)state;
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    core_http_route(srv, "GET", "/sd", slow, NULL, &err);
    assert_int_equal(core_http_start(srv, &err), 0);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/sd", core_http_port(srv, 0));

    disc_manager *m = manager(100);
    cfg_oauth2 o = {.client_id = "x"};
    cfg_http_sd h[] = {{.url = url,
                        .refresh_interval_ms = 60000,
                        .http = {.follow_redirects = true, .enable_http2 = true}},
                       {.url = url, .refresh_interval_ms = 60000, .http = {.oauth2 = &o}}};
    cfg_sd sd = {.http = h, .n_http = 2};
    disc_set_cfg sets[] = {{"http", &sd}};
    assert_int_equal(disc_manager_sync(m, sets, 1, &err), 0);
    disc_stats st;
    disc_manager_stats(m, &st);
    assert_int_equal(st.failed_configs, 1);
    assert_int_equal(st.providers, 1);
    usleep(300 * 1000); /* the provider is now inside its request */
    double t0 = core_monotonic_seconds();
    assert_int_equal(disc_manager_sync(m, NULL, 0, &err), 0);
    assert_true(core_monotonic_seconds() - t0 < 2.0);
    disc_manager_stats(m, &st);
    assert_int_equal(st.providers, 0);
    assert_int_equal(st.failed_configs, 0);
    disc_manager_free(m);
    core_http_free(srv);
}

static void test_throttle(void **state)
{
    (void)state;
    disc_manager *m = manager(1000);
    char path[128];
    snprintf(path, sizeof path, "%s/t.json", dir);
    write_file(path, "[{\"targets\":[\"a:1\"]}]");
    const char *files[] = {path};
    cfg_file_sd f = {.files = {files, 1}, .refresh_interval_ms = 600000};
    cfg_sd sd = {.file = &f, .n_file = 1};
    disc_set_cfg sets[] = {{"t", &sd}};
    core_err err = {{0}};
    assert_int_equal(disc_manager_sync(m, sets, 1, &err), 0);
    uint64_t gen = wait_targets(m, "t", 1, 0);
    /* 30 changes in 1.5 s: far fewer publications. */
    for (int i = 0; i < 30; i++) {
        char body[64];
        snprintf(body, sizeof body, "[{\"targets\":[\"a:%d\"]}]", i + 2);
        write_file(path, body);
        usleep(50 * 1000);
    }
    uint64_t after = disc_manager_generation(m);
    assert_true(after - gen <= 10);
    disc_stats st;
    disc_manager_stats(m, &st);
    assert_true(st.received_updates >= 20);
    /* The last content is published eventually. */
    core_arena a;
    core_arena_init(&a, 0);
    for (int i = 0; i < 40; i++) {
        disc_manager_wait(m, disc_manager_generation(m), 200);
        disc_group *gs;
        size_t n;
        assert_int_equal(disc_manager_targets(m, "t", &a, &gs, &n, NULL, &err), 0);
        if (strcmp(core_labels_get(gs[0].targets[0], "__address__"), "a:31") == 0) break;
        assert_true(i < 39);
    }
    core_arena_destroy(&a);
    disc_manager_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
