/* Unit tests for server/pushgateway/store.c: the consistency check, writes
 * and the group TTL, on bodies parsed by parse.c. */
#include "unit/unit.h"

#include "pushgateway/pushgateway.h"

#define NS INT64_C(1000000000)

static pgw_store *store;

static int setup(void **state)
{
    store = pgw_store_new();
    static const pgw_own_family own[] = {{"pushgateway_build_info", PGW_GAUGE},
                                         {"process_cpu_seconds_total", PGW_COUNTER}};
    pgw_store_set_own(store, own, 2);
    return 0;
}

static int teardown(void **state)
{
    pgw_store_free(store);
    return 0;
}

/* Pushes `body` to the group of `path`; returns pgw_store_push's result. */
static int push_at(const char *path, const char *body, bool replace, int64_t now, core_err *err)
{
    core_labels *g = pgw_grouping_parse(path, err);
    assert_non_null(g);
    pgw_push *p = pgw_push_parse(body, strlen(body), MODEL_FORMAT_TEXT, g, err);
    assert_non_null(p);
    int rc = pgw_store_push(store, p, g, replace, true, now, err);
    free(g);
    return rc;
}

static int push(const char *path, const char *body)
{
    core_err err;
    return push_at(path, body, true, 100 * NS, &err);
}

static char *expo(void)
{
    core_sb sb = CORE_SB_INIT;
    pgw_expo_text(store, NULL, 0, &sb);
    return core_sb_detach(&sb, NULL);
}

static bool has_line(const char *line)
{
    char *t = expo();
    char *hit = strstr(t, line);
    bool ok = hit != NULL && (hit == t || hit[-1] == '\n') && hit[strlen(line)] == '\n';
    free(t);
    return ok;
}

static void test_accepts_consistent(void **state)
{
    assert_int_equal(push("job/a", "# TYPE m gauge\nm 1\n"), 0);
    assert_int_equal(push("job/b", "# TYPE m gauge\nm{x=\"1\"} 2\n"), 0);
    assert_int_equal(push("job/b/instance/i", "# TYPE m gauge\nm 3\n"), 0);
    assert_true(has_line("m{instance=\"\",job=\"a\"} 1"));
    assert_true(has_line("m{instance=\"\",job=\"b\",x=\"1\"} 2"));
    assert_true(has_line("m{instance=\"i\",job=\"b\"} 3"));
    assert_int_equal(pgw_store_n_groups(store), 3);
    /* Re-pushing the same group replaces, so no duplicate. */
    assert_int_equal(push("job/a", "# TYPE m gauge\nm 5\n"), 0);
    assert_true(has_line("m{instance=\"\",job=\"a\"} 5"));
}

static void test_refuses_type_change(void **state)
{
    core_err err;
    assert_int_equal(push("job/a", "# TYPE m gauge\nm 1\n"), 0);
    assert_int_equal(push_at("job/b", "# TYPE m counter\nm 1\n", true, 200 * NS, &err), -1);
    assert_non_null(strstr(err.msg, "is not a GAUGE"));
    /* Nothing but the failure time changed; the group exists now. */
    assert_false(has_line("m{instance=\"\",job=\"b\"} 1"));
    assert_true(has_line("push_failure_time_seconds{instance=\"\",job=\"b\"} 200"));
    assert_true(has_line("push_time_seconds{instance=\"\",job=\"b\"} 0"));
    /* The only group with m may change its type. */
    assert_int_equal(push("job/a", "# TYPE m counter\nm 1\n"), 0);
}

static void test_refuses_duplicates(void **state)
{
    core_err err;
    assert_int_equal(push_at("job/a", "d 1\nd 2\n", true, NS, &err), -1);
    assert_non_null(strstr(err.msg, "was collected before"));
    assert_int_equal(push("job/a", "d{instance=\"i\"} 1\n"), 0);
    /* Another grouping key that yields the same series. */
    assert_int_equal(push_at("job/a/instance/i", "d 1\n", true, NS, &err), -1);
    /* POST of a family replaces that family of the group: no duplicate. */
    assert_int_equal(push_at("job/a", "d{instance=\"i\"} 2\n", false, NS, &err), 0);
    assert_true(has_line("d{instance=\"i\",job=\"a\"} 2"));
}

static void test_refuses_suffix_collisions(void **state)
{
    core_err err;
    assert_int_equal(push("job/a", "# TYPE s summary\ns_sum 1\ns_count 1\n"), 0);
    assert_int_equal(push_at("job/b", "s_count 1\n", true, NS, &err), -1);
    assert_int_equal(push_at("job/b", "s_sum 1\n", true, NS, &err), -1);
    assert_int_equal(push("job/b", "s_bucket 1\n"), 0); /* fine beside a summary */
    /* Not a suffix clash but a type clash with job/b's untyped s_bucket. */
    assert_int_equal(push_at("job/c", "# TYPE s_bucket gauge\ns_bucket 1\n", true, NS, &err), -1);
    assert_non_null(strstr(err.msg, "is not a UNTYPED"));
    assert_int_equal(push("job/d", "h_bucket 1\n"), 0);
    assert_int_equal(push_at("job/e", "# TYPE h histogram\nh_sum 1\n", true, NS, &err), -1);
    /* Within one push too. */
    assert_int_equal(push_at("job/f",
                             "# TYPE g_count gauge\ng_count 1\n# TYPE g summary\ng_sum 1\n", true,
                             NS, &err),
                     -1);
}

static void test_refuses_own_names_and_timestamps(void **state)
{
    core_err err;
    assert_int_equal(push_at("job/a", "pushgateway_build_info 1\n", true, NS, &err), -1);
    assert_non_null(strstr(err.msg, "Pushgateway itself"));
    assert_int_equal(push_at("job/a",
                             "# TYPE process_cpu_seconds_total counter\n"
                             "process_cpu_seconds_total 1\n",
                             true, NS, &err),
                     -1); /* consistent, but the name is reserved */
    /* A summary whose series do not meet an own name is fine. */
    assert_int_equal(push_at("job/a",
                             "# TYPE process_cpu_seconds summary\nprocess_cpu_seconds_sum 1\n",
                             true, NS, &err),
                     0);
    assert_int_equal(push_at("job/a", "x 1 1000\n", true, NS, &err), -1);
    assert_string_equal(err.msg, "pushed metrics must not have timestamps");
}

static void test_put_post_delete(void **state)
{
    core_err err;
    assert_int_equal(push("job/a", "x 1\ny 2\n"), 0);
    assert_int_equal(push_at("job/a", "y 3\nz 4\n", false, NS, &err), 0); /* POST */
    assert_true(has_line("x{instance=\"\",job=\"a\"} 1"));
    assert_true(has_line("y{instance=\"\",job=\"a\"} 3"));
    assert_int_equal(push("job/a", "z 5\n"), 0); /* PUT */
    assert_false(has_line("x{instance=\"\",job=\"a\"} 1"));
    assert_int_equal(push("job/a", ""), 0); /* empty PUT */
    assert_false(has_line("z{instance=\"\",job=\"a\"} 5"));
    assert_int_equal(pgw_store_n_groups(store), 1);
    core_labels *g = pgw_grouping_parse("job/a", &err);
    pgw_store_delete(store, g);
    free(g);
    assert_int_equal(pgw_store_n_groups(store), 0);
    char *t = expo();
    assert_string_equal(t, "");
    free(t);
}

static void test_ttl(void **state)
{
    core_err err;
    assert_int_equal(push_at("job/old", "a 1\n", true, 100 * NS, &err), 0);
    assert_int_equal(push_at("job/new", "b 1\n", true, 150 * NS, &err), 0);
    assert_int_equal(pgw_store_expire(store, 155 * NS, 60 * NS), 0);
    assert_int_equal(pgw_store_expire(store, 161 * NS, 60 * NS), 1);
    assert_int_equal(pgw_store_n_groups(store), 1);
    assert_false(has_line("a{instance=\"\",job=\"old\"} 1"));
    /* A failed push does not keep a group alive... */
    assert_int_equal(push_at("job/new", "b 1 5\n", true, 200 * NS, &err), -1);
    assert_int_equal(pgw_store_expire(store, 211 * NS, 60 * NS), 1);
    /* ...a successful one does. */
    assert_int_equal(push_at("job/x", "c 1\n", true, 300 * NS, &err), 0);
    assert_int_equal(push_at("job/x", "c 2\n", true, 350 * NS, &err), 0);
    assert_int_equal(pgw_store_expire(store, 400 * NS, 60 * NS), 0);
    assert_int_equal(pgw_store_n_groups(store), 1);
}

static void test_exposition_order(void **state)
{
    assert_int_equal(push("job/b", "# HELP m Help.\n# TYPE m gauge\nm{z=\"1\"} 1\n"), 0);
    assert_int_equal(push("job/a", "# HELP m Help.\n# TYPE m gauge\nm 2\n"), 0);
    char *t = expo();
    const char *want = "# HELP m Help.\n# TYPE m gauge\n"
                       "m{instance=\"\",job=\"a\"} 2\n"
                       "m{instance=\"\",job=\"b\",z=\"1\"} 1\n";
    assert_non_null(strstr(t, want));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accepts_consistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_type_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_suffix_collisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_own_names_and_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_post_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exposition_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
