/* Unit tests for libprom's metrics: counter.c, gauge.c, histogram.c, summary.c,
 * info.c, family.c and cells.c, through the public API. */
#include "unit/unit.h"

#include <prom/prom.h>

#include <math.h>
#include <pthread.h>

static prom_registry *reg;

static int setup(void **state)
{
    reg = prom_registry_new();
    return reg == NULL;
}

static int teardown(void **state)
{
    prom_registry_free(reg);
    return 0;
}

static const char *const method_endpoint[] = {"method", "endpoint"};

static void test_counter_basics(void **state)
{
    prom_counter *c =
        prom_counter_new(&(prom_opts){.name = "jobs_total", .help = "Jobs.", .registry = reg});
    assert_non_null(c);
    assert_true(prom_counter_value(c) == 0);
    assert_int_equal(prom_counter_inc(c), 0);
    assert_int_equal(prom_counter_add(c, 2.5), 0);
    assert_true(prom_counter_value(c) == 3.5);
    assert_int_equal(prom_counter_add(c, 0), 0);
    assert_int_equal(prom_counter_add(c, -1), PROM_EINVAL);
    assert_non_null(strstr(prom_last_error(), "cannot go down"));
    assert_int_equal(prom_counter_add(c, NAN), PROM_EINVAL);
    assert_true(prom_counter_value(c) == 3.5);
    assert_int_equal(prom_counter_inc(NULL), PROM_EINVAL);
}

static void test_counter_labels(void **state)
{
    prom_counter *f = prom_counter_new(&(prom_opts){.name = "app_request_count",
                                                    .help = "Application Request Count",
                                                    .labels = method_endpoint,
                                                    .n_labels = 2,
                                                    .registry = reg});
    assert_non_null(f);
    /* A family with labels is not itself a counter. */
    assert_int_equal(prom_counter_inc(f), PROM_ESTATE);
    assert_non_null(strstr(prom_last_error(), "has labels"));
    prom_counter *get_home = prom_counter_labels(f, "GET", "/home", NULL);
    assert_non_null(get_home);
    prom_counter_inc(get_home);
    prom_counter_inc(prom_counter_labels(f, "GET", "/home", NULL)); /* the same child */
    const char *values[] = {"GET", "/home"};
    assert_ptr_equal(prom_counter_labels_v(f, values, 2), get_home);
    assert_true(prom_counter_value(get_home) == 2);
    prom_counter *post = prom_counter_labels(f, "POST", "/home", NULL);
    assert_ptr_not_equal(post, get_home);
    assert_true(prom_counter_value(post) == 0);
    /* A child is also a way to the family. */
    assert_ptr_equal(prom_counter_labels(get_home, "POST", "/home", NULL), post);

    /* Many children: the table grows, every child stays where it was. */
    char buf[32];
    prom_counter *kept[500];
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "/p%d", i);
        kept[i] = prom_counter_labels(f, "GET", buf, NULL);
        assert_non_null(kept[i]);
        prom_counter_add(kept[i], i);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "/p%d", i);
        assert_ptr_equal(prom_counter_labels(f, "GET", buf, NULL), kept[i]);
        assert_true(prom_counter_value(kept[i]) == i);
    }
}

static void test_label_errors(void **state)
{
    prom_counter *f = prom_counter_new(&(prom_opts){
        .name = "x_total", .help = "", .labels = method_endpoint, .n_labels = 2, .registry = reg});
    const char *with_null[] = {"GET", NULL};
    assert_null(prom_counter_labels_v(f, with_null, 2));
    assert_non_null(strstr(prom_last_error(), "is NULL"));
    assert_null(prom_counter_labels_v(f, NULL, 2));
    /* A wrong count, in both forms. */
    assert_null(prom_counter_labels_v(f, with_null, 1));
    assert_string_equal(prom_last_error(), "\"x_total\" has 2 label names, got 1 values");
    assert_null(prom_counter_labels(f, "GET", NULL));
    assert_string_equal(prom_last_error(), "\"x_total\" has 2 label names, got 1 values");
    assert_null(prom_counter_labels(f, "GET", "/", "extra", NULL));
    assert_non_null(strstr(prom_last_error(), "got more values"));
    const char *bad_utf8[] = {"GET", "\xff\xfe"};
    assert_null(prom_counter_labels_v(f, bad_utf8, 2));
    assert_non_null(strstr(prom_last_error(), "not valid UTF-8"));
    assert_null(prom_counter_labels(NULL, "a", NULL));
}

static void test_remove_and_clear(void **state)
{
    prom_gauge *f = prom_gauge_new(&(prom_opts){
        .name = "temp", .help = "", .labels = method_endpoint, .n_labels = 2, .registry = reg});
    prom_gauge *a = prom_gauge_labels(f, "a", "1", NULL);
    prom_gauge_set(a, 5);
    const char *va[] = {"a", "1"};
    assert_int_equal(prom_gauge_remove(f, va, 2), 0);
    assert_int_equal(prom_gauge_remove(f, va, 2), PROM_ENOENT);
    /* The kept child still works; a new lookup makes a fresh one. */
    assert_int_equal(prom_gauge_set(a, 6), 0);
    prom_gauge *a2 = prom_gauge_labels(f, "a", "1", NULL);
    assert_ptr_not_equal(a, a2);
    assert_true(prom_gauge_value(a2) == 0);
    prom_gauge_labels(f, "b", "2", NULL);
    prom_gauge_clear(f);
    assert_int_equal(prom_gauge_remove(f, va, 2), PROM_ENOENT);
    assert_non_null(prom_gauge_labels(f, "a", "1", NULL));
    assert_int_equal(prom_gauge_remove(f, va, 1), PROM_EINVAL); /* wrong count */
    const char *short_values[] = {"a", NULL};
    assert_int_equal(prom_gauge_remove(f, short_values, 2), PROM_EINVAL);
}

static void test_gauge(void **state)
{
    prom_gauge *g = prom_gauge_new(&(prom_opts){.name = "g", .help = "", .registry = reg});
    assert_int_equal(prom_gauge_set(g, 10), 0);
    prom_gauge_inc(g);
    prom_gauge_dec(g);
    prom_gauge_dec(g);
    prom_gauge_add(g, 0.5);
    prom_gauge_sub(g, 2);
    assert_true(prom_gauge_value(g) == 7.5);
    prom_gauge_set(g, -INFINITY);
    assert_true(isinf(prom_gauge_value(g)) && prom_gauge_value(g) < 0);
    double before = (double)time(NULL);
    prom_gauge_set_to_current_time(g);
    assert_true(fabs(prom_gauge_value(g) - before) < 2);
}

static double forty_two(void *ud)
{
    (*(int *)ud)++;
    return 42;
}

static void test_callbacks(void **state)
{
    int calls = 0;
    prom_gauge *g = prom_gauge_func_new(&(prom_opts){.name = "cb", .help = "", .registry = reg},
                                        forty_two, &calls);
    assert_non_null(g);
    assert_true(prom_gauge_value(g) == 42);
    assert_int_equal(calls, 1);
    assert_int_equal(prom_gauge_set(g, 1), PROM_ESTATE);
    prom_counter *c = prom_counter_func_new(
        &(prom_opts){.name = "cbc_total", .help = "", .registry = reg}, forty_two, &calls);
    assert_non_null(c);
    assert_true(prom_counter_value(c) == 42);
    assert_int_equal(prom_counter_inc(c), PROM_ESTATE);
    assert_null(
        prom_gauge_func_new(&(prom_opts){.name = "cb2", .help = "", .registry = reg}, NULL, NULL));
    assert_null(prom_counter_func_new(
        &(prom_opts){
            .name = "cb3", .help = "", .labels = method_endpoint, .n_labels = 2, .registry = reg},
        forty_two, &calls));
}

static void test_names_refused(void **state)
{
    static const struct {
        const char *name;
        const char *label;
        const char *want;
    } cases[] = {
        {"2xx_total", NULL, "invalid metric name \"2xx_total\""},
        {"a-b", NULL, "invalid metric name \"a-b\""},
        {"", NULL, "needs a name"},
        {"ok", "9lives", "invalid label name \"9lives\""},
        {"ok", "__reserved", "names starting with \"__\" are reserved"},
        {"ok", "a:b", "invalid label name \"a:b\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *labels[] = {cases[i].label};
        prom_counter *c = prom_counter_new(&(prom_opts){.name = cases[i].name,
                                                        .help = "",
                                                        .labels = labels,
                                                        .n_labels = cases[i].label ? 1 : 0,
                                                        .registry = reg});
        assert_null(c);
        if (strstr(prom_last_error(), cases[i].want) == NULL)
            fail_msg("case %zu: %s", i, prom_last_error());
    }
    const char *le[] = {"le"};
    assert_null(prom_histogram_new(
        &(prom_opts){.name = "h", .help = "", .labels = le, .n_labels = 1, .registry = reg}, NULL,
        0));
    assert_non_null(strstr(prom_last_error(), "\"le\" is reserved"));
    const char *quantile[] = {"quantile"};
    assert_null(prom_summary_new(
        &(prom_opts){.name = "s", .help = "", .labels = quantile, .n_labels = 1, .registry = reg},
        NULL));
    assert_non_null(strstr(prom_last_error(), "\"quantile\" is reserved"));
    const char *twice[] = {"a", "a"};
    assert_null(prom_gauge_new(
        &(prom_opts){.name = "t", .help = "", .labels = twice, .n_labels = 2, .registry = reg}));
    assert_non_null(strstr(prom_last_error(), "given twice"));
    assert_null(prom_gauge_new(&(prom_opts){.name = "nohelp", .registry = reg}));
    assert_null(prom_gauge_new(NULL));
    assert_null(
        prom_gauge_new(&(prom_opts){.name = "size", .help = "", .unit = "bytes", .registry = reg}));
    assert_non_null(strstr(prom_last_error(), "must end in \"_bytes\""));
    assert_non_null(prom_gauge_new(
        &(prom_opts){.name = "size_bytes", .help = "", .unit = "bytes", .registry = reg}));
    assert_non_null(prom_counter_new(
        &(prom_opts){.name = "t_seconds_total", .help = "", .unit = "seconds", .registry = reg}));
}

static void test_histogram(void **state)
{
    prom_histogram *h =
        prom_histogram_new(&(prom_opts){.name = "h", .help = "", .registry = reg}, NULL, 0);
    assert_non_null(h);
    double obs[] = {0.001, 0.005, 0.3, 1, 7, 100, NAN};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(prom_histogram_observe(h, obs[i]), 0);
    assert_int_equal(prom_histogram_count(h), 6);
    assert_true(fabs(prom_histogram_sum(h) - 108.306) < 1e-9);
    prom_histogram_observe(h, obs[6]);
    assert_int_equal(prom_histogram_count(h), 7);
    assert_true(isnan(prom_histogram_sum(h)));

    double bad[] = {1, 0.5};
    assert_null(
        prom_histogram_new(&(prom_opts){.name = "h2", .help = "", .registry = reg}, bad, 2));
    assert_non_null(strstr(prom_last_error(), "strictly increasing"));
    double with_inf[] = {1, 2, INFINITY};
    assert_non_null(
        prom_histogram_new(&(prom_opts){.name = "h3", .help = "", .registry = reg}, with_inf, 3));
    double nan_bucket[] = {NAN};
    assert_null(
        prom_histogram_new(&(prom_opts){.name = "h4", .help = "", .registry = reg}, nan_bucket, 1));
}

static void test_buckets(void **state)
{
    double b[5];
    assert_int_equal(prom_buckets_linear(1, 0.5, 5, b), 0);
    assert_true(b[0] == 1 && b[1] == 1.5 && b[4] == 3);
    assert_int_equal(prom_buckets_exponential(1, 2, 5, b), 0);
    assert_true(b[0] == 1 && b[4] == 16);
    assert_int_equal(prom_buckets_linear(1, 0, 5, b), PROM_EINVAL);
    assert_int_equal(prom_buckets_linear(1, 1, 0, b), PROM_EINVAL);
    assert_int_equal(prom_buckets_exponential(0, 2, 5, b), PROM_EINVAL);
    assert_int_equal(prom_buckets_exponential(1, 1, 5, b), PROM_EINVAL);
    assert_true(prom_default_buckets[0] == 0.005 && prom_default_buckets[10] == 10);
}

static void test_summary_quantiles(void **state)
{
    prom_quantile obj[] = {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
    prom_summary *s = prom_summary_new(&(prom_opts){.name = "s", .help = "", .registry = reg},
                                       &(prom_summary_opts){.objectives = obj, .n_objectives = 3});
    assert_non_null(s);
    assert_true(isnan(prom_summary_quantile(s, 0.5)));
    /* 1..10000 in a scrambled order: the true quantiles are 5000, 9000, 9900. */
    for (uint32_t i = 0; i < 10000; i++)
        prom_summary_observe(s, (double)((i * 7919u) % 10000u + 1));
    assert_int_equal(prom_summary_count(s), 10000);
    assert_true(prom_summary_sum(s) == 50005000.0);
    double q50 = prom_summary_quantile(s, 0.5), q90 = prom_summary_quantile(s, 0.9),
           q99 = prom_summary_quantile(s, 0.99);
    assert_true(fabs(q50 - 5000) <= 0.05 * 10000);
    assert_true(fabs(q90 - 9000) <= 0.01 * 10000);
    assert_true(fabs(q99 - 9900) <= 0.001 * 10000);
    assert_true(isnan(prom_summary_quantile(s, 0.75))); /* not an objective */

    prom_quantile bad[] = {{1.5, 0.1}};
    assert_null(prom_summary_new(&(prom_opts){.name = "s2", .help = "", .registry = reg},
                                 &(prom_summary_opts){.objectives = bad, .n_objectives = 1}));
    prom_summary *plain =
        prom_summary_new(&(prom_opts){.name = "s3", .help = "", .registry = reg}, NULL);
    prom_summary_observe(plain, 2);
    prom_summary_observe(plain, 3);
    assert_int_equal(prom_summary_count(plain), 2);
    assert_true(prom_summary_sum(plain) == 5);
}

static void test_summary_window(void **state)
{
    /* A 1 s window in 2 steps: after 1.2 s old observations are gone. */
    prom_quantile obj[] = {{0.5, 0.05}};
    prom_summary *s = prom_summary_new(
        &(prom_opts){.name = "sw", .help = "", .registry = reg},
        &(prom_summary_opts){
            .objectives = obj, .n_objectives = 1, .max_age_seconds = 1, .age_buckets = 2});
    for (int i = 0; i < 100; i++)
        prom_summary_observe(s, 1000);
    assert_true(prom_summary_quantile(s, 0.5) == 1000);
    struct timespec ts = {1, 200000000};
    nanosleep(&ts, NULL);
    assert_true(isnan(prom_summary_quantile(s, 0.5)));
    assert_int_equal(prom_summary_count(s), 100); /* count and sum never reset */
}

static void test_exemplars(void **state)
{
    prom_counter *c =
        prom_counter_new(&(prom_opts){.name = "ex_total", .help = "", .registry = reg});
    prom_label ok[] = {{"trace_id", "abc123"}};
    assert_int_equal(prom_counter_add_exemplar(c, 2, ok, 1), 0);
    assert_true(prom_counter_value(c) == 2);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    prom_label too_long[] = {{"trace_id", big}};
    assert_int_equal(prom_counter_add_exemplar(c, 1, too_long, 1), PROM_EINVAL);
    assert_non_null(strstr(prom_last_error(), "at most 128"));
    assert_true(prom_counter_value(c) == 2); /* a refused exemplar adds nothing */
    prom_histogram *h =
        prom_histogram_new(&(prom_opts){.name = "exh", .help = "", .registry = reg}, NULL, 0);
    assert_int_equal(prom_histogram_observe_exemplar(h, 0.3, ok, 1), 0);
    assert_int_equal(prom_histogram_count(h), 1);
    prom_label bad_name[] = {{"1x", "v"}};
    assert_int_equal(prom_histogram_observe_exemplar(h, 0.3, bad_name, 1), PROM_EINVAL);
}

static void test_info_and_stateset(void **state)
{
    prom_info *i = prom_info_new(&(prom_opts){.name = "build", .help = "", .registry = reg});
    assert_non_null(i);
    prom_label l[] = {{"version", "1.2"}, {"branch", "main"}};
    assert_int_equal(prom_info_set(i, l, 2), 0);
    prom_label dup[] = {{"a", "1"}, {"a", "2"}};
    assert_int_equal(prom_info_set(i, dup, 2), PROM_EINVAL);
    assert_null(prom_info_new(&(prom_opts){.name = "x_info", .help = "", .registry = reg}));

    const char *states[] = {"starting", "running", "stopped"};
    prom_stateset *s = prom_stateset_new(
        &(prom_opts){.name = "task_state", .help = "", .registry = reg}, states, 3);
    assert_non_null(s);
    assert_int_equal(prom_stateset_set(s, "running"), 0);
    assert_int_equal(prom_stateset_set(s, "flying"), PROM_EINVAL);
    assert_int_equal(prom_stateset_set_state(s, "stopped", 1), 0);
    const char *dup_states[] = {"a", "a"};
    assert_null(
        prom_stateset_new(&(prom_opts){.name = "ss", .help = "", .registry = reg}, dup_states, 2));
    assert_null(
        prom_stateset_new(&(prom_opts){.name = "a:b", .help = "", .registry = reg}, states, 3));
}

/* Every type's family functions: lookup in both forms, remove, clear. */
static void test_every_type_has_children(void **state)
{
    static const char *const zone[] = {"zone"};
    const char *eu[] = {"eu"};
    prom_opts o = {.help = "", .labels = zone, .n_labels = 1, .registry = reg};
    const char *states[] = {"on", "off"};
    o.name = "fc_total";
    prom_counter *c = prom_counter_new(&o);
    o.name = "fg";
    prom_gauge *g = prom_gauge_new(&o);
    o.name = "fh";
    prom_histogram *h = prom_histogram_new(&o, NULL, 0);
    o.name = "fs";
    prom_summary *s = prom_summary_new(&o, NULL);
    o.name = "fi";
    prom_info *i = prom_info_new(&o);
    o.name = "fss";
    prom_stateset *ss = prom_stateset_new(&o, states, 2);
    assert_ptr_equal(prom_counter_labels(c, "eu", NULL), prom_counter_labels_v(c, eu, 1));
    assert_ptr_equal(prom_gauge_labels(g, "eu", NULL), prom_gauge_labels_v(g, eu, 1));
    assert_ptr_equal(prom_histogram_labels(h, "eu", NULL), prom_histogram_labels_v(h, eu, 1));
    assert_ptr_equal(prom_summary_labels(s, "eu", NULL), prom_summary_labels_v(s, eu, 1));
    assert_ptr_equal(prom_info_labels(i, "eu", NULL), prom_info_labels_v(i, eu, 1));
    assert_ptr_equal(prom_stateset_labels(ss, "eu", NULL), prom_stateset_labels_v(ss, eu, 1));
    assert_int_equal(prom_counter_remove(c, eu, 1), 0);
    assert_int_equal(prom_histogram_remove(h, eu, 1), 0);
    assert_int_equal(prom_summary_remove(s, eu, 1), 0);
    assert_int_equal(prom_info_remove(i, eu, 1), 0);
    assert_int_equal(prom_stateset_remove(ss, eu, 1), 0);
    prom_counter_clear(c);
    prom_histogram_clear(h);
    prom_summary_clear(s);
    prom_info_clear(i);
    prom_stateset_clear(ss);
    assert_int_equal(prom_histogram_remove(h, eu, 1), PROM_ENOENT);
    /* Updating a family that has labels is refused for every type. */
    assert_int_equal(prom_histogram_observe(h, 1), PROM_ESTATE);
    assert_int_equal(prom_summary_observe(s, 1), PROM_ESTATE);
    assert_int_equal(prom_gauge_set(g, 1), PROM_ESTATE);
    assert_int_equal(prom_info_set(i, NULL, 0), PROM_ESTATE);
    assert_int_equal(prom_stateset_set(ss, "on"), PROM_ESTATE);
}

/* Per-thread cells: what threads add, including threads that have exited,
 * is all there. */
static prom_counter *shared_counter;
static prom_histogram *shared_hist;

static void *hammer(void *arg)
{
    for (int i = 0; i < 100000; i++) {
        prom_counter_inc(shared_counter);
        prom_histogram_observe(shared_hist, (double)(i % 3));
    }
    return NULL;
}

static void test_threads_add_up(void **state)
{
    shared_counter =
        prom_counter_new(&(prom_opts){.name = "mt_total", .help = "", .registry = reg});
    shared_hist =
        prom_histogram_new(&(prom_opts){.name = "mt_h", .help = "", .registry = reg}, NULL, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(prom_counter_value(shared_counter) == 400000);
    assert_int_equal(prom_histogram_count(shared_hist), 400000);
    assert_true(prom_histogram_sum(shared_hist) == 4 * (33333.0 * 1 + 33333.0 * 2));
}

static void test_errors_strings(void **state)
{
    assert_string_equal(prom_status_string(PROM_OK), "success");
    assert_non_null(prom_status_string(PROM_EINVAL));
    assert_non_null(prom_status_string(12345));
    assert_string_equal(prom_version_string(), "0.1.0");
    assert_int_equal(prom_version(), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counter_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_and_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gauge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_quantiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exemplars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_and_stateset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_type_has_children, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_add_up, setup, teardown),
        cmocka_unit_test(test_errors_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
