/* Unit tests for libprom's registry.c: registration, clashes, collectors,
 * rendering order, name filters and content negotiation. */
#include "unit/unit.h"

#include <prom/prom.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static prom_registry *reg;
static prom_buffer buf;

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

static int teardown_all(void **state)
{
    prom_buffer_free(&buf);
    return 0;
}

static const char *render(prom_format f, const char *const names[], size_t n)
{
    assert_int_equal(prom_render(reg, f, names, n, &buf), 0);
    /* the buffer is not NUL-terminated by contract: copy */
    static char text[65536];
    assert_true(buf.len < sizeof text);
    memcpy(text, buf.data, buf.len);
    text[buf.len] = '\0';
    return text;
}

static void test_text_sorted(void **state)
{
    static const char *const labels[] = {"method", "endpoint"};
    prom_counter *c = prom_counter_new(&(prom_opts){.name = "app_request_count",
                                                    .help = "Application Request Count",
                                                    .labels = labels,
                                                    .n_labels = 2,
                                                    .registry = reg});
    prom_gauge *g = prom_gauge_new(&(prom_opts){.name = "app_request_latency_seconds",
                                                .help = "Application Request Latency",
                                                .labels = labels + 1,
                                                .n_labels = 1,
                                                .registry = reg});
    prom_counter_add(prom_counter_labels(c, "POST", "/home", NULL), 3);
    prom_counter_inc(prom_counter_labels(c, "GET", "/metrics", NULL));
    prom_counter_add(prom_counter_labels(c, "GET", "/home", NULL), 2);
    prom_gauge_set(prom_gauge_labels(g, "/home", NULL), 0.25);
    /* Families by name; children by label values, labels by name. */
    assert_string_equal(render(PROM_FORMAT_TEXT, NULL, 0),
                        "# HELP app_request_count Application Request Count\n"
                        "# TYPE app_request_count counter\n"
                        "app_request_count{endpoint=\"/home\",method=\"GET\"} 2\n"
                        "app_request_count{endpoint=\"/home\",method=\"POST\"} 3\n"
                        "app_request_count{endpoint=\"/metrics\",method=\"GET\"} 1\n"
                        "# HELP app_request_latency_seconds Application Request Latency\n"
                        "# TYPE app_request_latency_seconds gauge\n"
                        "app_request_latency_seconds{endpoint=\"/home\"} 0.25\n");
    const char *only[] = {"app_request_latency_seconds", "nope"};
    assert_string_equal(render(PROM_FORMAT_TEXT, only, 2),
                        "# HELP app_request_latency_seconds Application Request Latency\n"
                        "# TYPE app_request_latency_seconds gauge\n"
                        "app_request_latency_seconds{endpoint=\"/home\"} 0.25\n");
}

static void test_const_labels_and_histogram(void **state)
{
    static const char *const labels[] = {"zone"};
    prom_label consts[] = {{"app", "api"}};
    double b[] = {0.5, 1};
    prom_histogram *h = prom_histogram_new(&(prom_opts){.name = "lat",
                                                        .help = "Latency.",
                                                        .labels = labels,
                                                        .n_labels = 1,
                                                        .const_labels = consts,
                                                        .n_const_labels = 1,
                                                        .registry = reg},
                                           b, 2);
    prom_histogram *eu = prom_histogram_labels(h, "eu", NULL);
    prom_histogram_observe(eu, 0.25);
    prom_histogram_observe(eu, 0.75);
    prom_histogram_observe(eu, 3);
    assert_string_equal(render(PROM_FORMAT_TEXT, NULL, 0),
                        "# HELP lat Latency.\n"
                        "# TYPE lat histogram\n"
                        "lat_bucket{app=\"api\",zone=\"eu\",le=\"0.5\"} 1\n"
                        "lat_bucket{app=\"api\",zone=\"eu\",le=\"1\"} 2\n"
                        "lat_bucket{app=\"api\",zone=\"eu\",le=\"+Inf\"} 3\n"
                        "lat_sum{app=\"api\",zone=\"eu\"} 4\n"
                        "lat_count{app=\"api\",zone=\"eu\"} 3\n");
}

static void test_histogram_bucket_edges(void **state)
{
    double b[] = {1, 2, 3};
    prom_histogram *h =
        prom_histogram_new(&(prom_opts){.name = "e", .help = "", .registry = reg}, b, 3);
    double obs[] = {-INFINITY, 0, 1, 1.5, 2, 3, 3.5, INFINITY};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        prom_histogram_observe(h, obs[i]);
    const char *text = render(PROM_FORMAT_TEXT, NULL, 0);
    /* A value on a bound is in that bucket (le: less or equal). */
    assert_non_null(strstr(text, "e_bucket{le=\"1\"} 3\n"
                                 "e_bucket{le=\"2\"} 5\n"
                                 "e_bucket{le=\"3\"} 6\n"
                                 "e_bucket{le=\"+Inf\"} 8\n"));
    assert_non_null(strstr(text, "e_count 8\n"));
}

static void test_duplicates_and_clashes(void **state)
{
    assert_non_null(
        prom_counter_new(&(prom_opts){.name = "req_total", .help = "", .registry = reg}));
    assert_null(prom_counter_new(&(prom_opts){.name = "req_total", .help = "", .registry = reg}));
    assert_string_equal(prom_last_error(), "\"req_total\" is already registered");
    assert_null(prom_gauge_new(&(prom_opts){.name = "req", .help = "", .registry = reg}));
    assert_non_null(strstr(prom_last_error(), "clashes with \"req_total\""));
    assert_non_null(
        prom_histogram_new(&(prom_opts){.name = "dur", .help = "", .registry = reg}, NULL, 0));
    assert_null(prom_gauge_new(&(prom_opts){.name = "dur_bucket", .help = "", .registry = reg}));
    assert_null(prom_gauge_new(&(prom_opts){.name = "dur_count", .help = "", .registry = reg}));
    assert_non_null(prom_gauge_new(&(prom_opts){.name = "dur2", .help = "", .registry = reg}));
    /* After unregistering, the name is free again. */
    assert_int_equal(prom_unregister(reg, "req_total"), 0);
    assert_int_equal(prom_unregister(reg, "req_total"), PROM_ENOENT);
    assert_non_null(prom_gauge_new(&(prom_opts){.name = "req", .help = "", .registry = reg}));
}

static int collect_two(prom_emitter *e, void *ud)
{
    (*(int *)ud)++;
    static const char *const names[] = {"device"};
    prom_emit_family(e, "zz_disk_bytes", "Disk bytes.", PROM_GAUGE, NULL, names, 1);
    const char *sdb[] = {"sdb"}, *sda[] = {"sda"};
    prom_emit_value(e, sdb, 20);
    prom_emit_value(e, sda, 10);
    double bounds[] = {1, INFINITY};
    uint64_t cum[] = {1, 3};
    prom_emit_family(e, "aa_hist", "A histogram.", PROM_HISTOGRAM, NULL, NULL, 0);
    prom_emit_histogram(e, NULL, bounds, cum, 2, 4.5);
    /* Undeclared: refused, and nothing of it is written. */
    assert_int_equal(prom_emit_family(e, "undeclared", "", PROM_GAUGE, NULL, NULL, 0), PROM_EINVAL);
    assert_int_equal(prom_emit_value(e, NULL, 1), PROM_EINVAL);
    return 0;
}

static void test_collector(void **state)
{
    int calls = 0;
    const char *families[] = {"zz_disk_bytes", "aa_hist"};
    assert_int_equal(prom_collector_register(reg, "disks", families, 2, collect_two, &calls), 0);
    prom_gauge_set(prom_gauge_new(&(prom_opts){.name = "mm", .help = "M.", .registry = reg}), 1);
    assert_string_equal(render(PROM_FORMAT_TEXT, NULL, 0), "# HELP aa_hist A histogram.\n"
                                                           "# TYPE aa_hist histogram\n"
                                                           "aa_hist_bucket{le=\"1\"} 1\n"
                                                           "aa_hist_bucket{le=\"+Inf\"} 3\n"
                                                           "aa_hist_sum 4.5\n"
                                                           "aa_hist_count 3\n"
                                                           "# HELP mm M.\n"
                                                           "# TYPE mm gauge\n"
                                                           "mm 1\n"
                                                           "# HELP zz_disk_bytes Disk bytes.\n"
                                                           "# TYPE zz_disk_bytes gauge\n"
                                                           "zz_disk_bytes{device=\"sda\"} 10\n"
                                                           "zz_disk_bytes{device=\"sdb\"} 20\n");
    assert_int_equal(calls, 1);
    /* A clash with a declared name is refused at registration. */
    assert_null(prom_gauge_new(&(prom_opts){.name = "aa_hist", .help = "", .registry = reg}));
    assert_int_equal(prom_collector_register(reg, "disks", families, 2, collect_two, &calls),
                     PROM_EEXIST);
    assert_int_equal(prom_unregister(reg, "disks"), 0);
    assert_string_equal(render(PROM_FORMAT_TEXT, NULL, 0), "# HELP mm M.\n"
                                                           "# TYPE mm gauge\n"
                                                           "mm 1\n");
}

static void test_openmetrics_ends_with_eof(void **state)
{
    prom_counter_inc(
        prom_counter_new(&(prom_opts){.name = "c_total", .help = "C.", .registry = reg}));
    const char *om = render(PROM_FORMAT_OPENMETRICS, NULL, 0);
    assert_non_null(strstr(om, "# TYPE c counter\n"));
    assert_non_null(strstr(om, "c_total 1.0\n"));
    assert_non_null(strstr(om, "c_created "));
    size_t n = strlen(om);
    assert_string_equal(om + n - 6, "# EOF\n");
}

static void test_render_errors(void **state)
{
    assert_int_equal(prom_render(reg, PROM_FORMAT_TEXT, NULL, 0, NULL), PROM_EINVAL);
    assert_int_equal(prom_render(reg, (prom_format)42, NULL, 0, &buf), PROM_EINVAL);
    assert_int_equal(prom_render(reg, PROM_FORMAT_TEXT, NULL, 3, &buf), PROM_EINVAL);
    assert_int_equal(prom_render(reg, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    assert_int_equal(buf.len, 0); /* an empty registry renders nothing */
}

static void test_negotiate(void **state)
{
    assert_int_equal(prom_negotiate(NULL), PROM_FORMAT_TEXT);
    assert_int_equal(prom_negotiate("*/*"), PROM_FORMAT_TEXT);
    assert_int_equal(prom_negotiate("text/plain"), PROM_FORMAT_TEXT);
    /* What Prometheus 2.42 sends by default. */
    assert_int_equal(prom_negotiate("application/openmetrics-text;version=1.0.0,"
                                    "application/openmetrics-text;version=0.0.1;q=0.75,"
                                    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     PROM_FORMAT_OPENMETRICS);
    /* ... and with --enable-feature=native-histograms. */
    assert_int_equal(prom_negotiate("application/vnd.google.protobuf;"
                                    "proto=io.prometheus.client.MetricFamily;encoding=delimited,"
                                    "application/openmetrics-text;version=1.0.0;q=0.8,"
                                    "application/openmetrics-text;version=0.0.1;q=0.75,"
                                    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     PROM_FORMAT_PROTOBUF);
    assert_int_equal(prom_negotiate("text/plain;q=0.9, application/openmetrics-text;q=0.3"),
                     PROM_FORMAT_TEXT);
    /* Protobuf without the delimited encoding is not something we serve. */
    assert_int_equal(prom_negotiate("application/vnd.google.protobuf;"
                                    "proto=io.prometheus.client.MetricFamily;encoding=text"),
                     PROM_FORMAT_TEXT);
    assert_non_null(strstr(prom_content_type(PROM_FORMAT_TEXT), "version=0.0.4"));
    assert_non_null(strstr(prom_content_type(PROM_FORMAT_OPENMETRICS), "version=1.0.0"));
    assert_non_null(strstr(prom_content_type(PROM_FORMAT_PROTOBUF), "encoding=delimited"));
}

static void test_default_registry(void **state)
{
    prom_registry *d = prom_registry_default();
    assert_non_null(d);
    assert_ptr_equal(d, prom_registry_default());
    prom_counter *c = prom_counter_new(&(prom_opts){.name = "in_default_total", .help = ""});
    assert_non_null(c);
    prom_buffer b = {0};
    assert_int_equal(prom_render(NULL, PROM_FORMAT_TEXT, NULL, 0, &b), 0);
    char *text = strndup(b.data, b.len);
    assert_non_null(strstr(text, "in_default_total 0\n"));
    assert_non_null(strstr(text, "process_cpu_seconds_total"));
    free(text);
    prom_buffer_free(&b);
    prom_registry_free(d);
    assert_ptr_not_equal(prom_registry_default(), NULL); /* made again */
    prom_registry_free(prom_registry_default());
}

/* The invariant a scrape must keep while other threads observe: _count equals
 * the +Inf bucket, and _sum comes from the same observations (every
 * observation is 1, so _sum must equal _count). */
static _Atomic bool stop;
static prom_histogram *hist;

static void *observer(void *arg)
{
    while (!atomic_load(&stop))
        prom_histogram_observe(hist, 1);
    return NULL;
}

static double sample_value(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    assert_non_null(p);
    return strtod(p + strlen(prefix), NULL);
}

static void test_scrape_during_observations(void **state)
{
    hist = prom_histogram_new(&(prom_opts){.name = "inv", .help = "", .registry = reg}, NULL, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, observer, NULL);
    /* At least 2000 scrapes, of which 200 while observations were coming in
     * (a loaded machine may start the observers late). */
    int checked = 0;
    time_t give_up = time(NULL) + 60;
    for (int i = 0; (i < 2000 || checked < 200) && time(NULL) < give_up; i++) {
        const char *text = render(PROM_FORMAT_TEXT, NULL, 0);
        double inf = sample_value(text, "inv_bucket{le=\"+Inf\"} ");
        double one = sample_value(text, "inv_bucket{le=\"1\"} ");
        double count = sample_value(text, "inv_count ");
        double sum = sample_value(text, "inv_sum ");
        assert_true(count == inf);
        assert_true(one == inf);
        assert_true(sum == count);
        checked += count > 0;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(checked >= 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_const_labels_and_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_bucket_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_clashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openmetrics_ends_with_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_errors, setup, teardown),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_default_registry),
        cmocka_unit_test_setup_teardown(test_scrape_during_observations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
