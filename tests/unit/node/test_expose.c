/* Unit tests for expose.c: the scrape's own text writer against libprom's
 * renderer of the same outputs (nx_out_replay), byte for byte, in the text
 * format and OpenMetrics; on every collector's output for the fixture host and
 * for this machine, and on outputs built by hand for the corners (unsorted and
 * absent labels, escapes, special floats, histograms and summaries, a name
 * given twice, invalid names, families without samples), and with the shared
 * table of family descriptions full. */
#include "nodetest.h"
#include "scrape.h"
#include "sysfixture.h"

typedef struct outs {
    const nx_out *const *v;
    size_t n;
} outs;

static int replay(prom_emitter *e, void *userdata)
{
    const outs *o = userdata;
    for (size_t i = 0; i < o->n; i++)
        nx_out_replay(o->v[i], e);
    return 0;
}

/* The first differing line of two texts, for the failure message. */
static void first_difference(const char *a, const char *b)
{
    size_t line = 1;
    const char *la = a, *lb = b;
    while (*a != '\0' && *a == *b) {
        if (*a == '\n') line++, la = a + 1, lb = b + 1;
        a++, b++;
    }
    fail_msg("line %zu differs:\n  libprom: %.*s\n  expose:  %.*s", line, (int)strcspn(la, "\n"),
             la, (int)strcspn(lb, "\n"), lb);
}

static void check_same(const nx_out *const *v, size_t n)
{
    outs o = {v, n};
    for (int om = 0; om <= 1; om++) {
        prom_format f = om ? PROM_FORMAT_OPENMETRICS : PROM_FORMAT_TEXT;
        prom_registry *r = prom_registry_new();
        assert_int_equal(prom_collector_register(r, "all", NULL, 0, replay, &o), 0);
        prom_buffer want = {0};
        assert_int_equal(prom_render(r, f, NULL, 0, &want), 0);
        core_sb got = CORE_SB_INIT;
        core_sb_adds(&got, "already there\n");
        nx_expose(v, n, om, &got);
        assert_true(got.len >= 14);
        assert_memory_equal(got.buf, "already there\n", 14);
        if (want.len != got.len - 14 ||
            (want.len && memcmp(want.data, got.buf + 14, want.len) != 0))
            first_difference(want.data != NULL ? want.data : "", got.buf + 14);
        core_sb_destroy(&got);
        prom_buffer_free(&want);
        prom_registry_free(r);
    }
}

/* Every collector at its flags' defaults on the host at root, written together. */
static void check_all_collectors(const char *root)
{
    size_t total = 0;
    for (size_t i = 0; i < nx_n_collectors; i++)
        total += nx_collectors[i]->n_flags;
    core_flag *table = calloc(total + 1, sizeof *table);
    size_t k = 0;
    for (size_t i = 0; i < nx_n_collectors; i++)
        for (size_t j = 0; j < nx_collectors[i]->n_flags; j++)
            table[k++] = nx_collectors[i]->flags[j];
    core_flags flags = {.program = "test", .summary = "", .flags = table, .n = k};
    char *argv[] = {"test", NULL};
    core_err err;
    assert_int_equal(core_flags_parse(&flags, 1, argv, NULL, stdout, &err), 0);
    nt_use_root(root);
    const nx_out **v = calloc(nx_n_collectors + 2, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < nx_n_collectors; i++) {
        const nx_collector *c = nx_collectors[i];
        if (c->init != NULL && c->init(&err) < 0) continue;
        v[n++] = nt_run_rc(c, NULL);
    }
    nx_out *self = calloc(1, sizeof *self);
    nx_out_init(self, "process");
    nx_process_metrics(self);
    assert_non_null(nt_family(self, "process_open_fds"));
    v[n++] = self;
    size_t families = 0;
    for (size_t i = 0; i < n; i++)
        families += v[i]->n_families;
    assert_true(families > 100);
    check_same(v, n);
    for (size_t i = 0; i < n; i++)
        nt_free((nx_out *)v[i]);
    free(v);
    free(table);
}

static void test_fixture_host(void **state)
{
    check_all_collectors(st_fixture_copy());
}

static void test_this_machine(void **state)
{
    check_all_collectors("/");
}

static void test_corners(void **state)
{
    nx_out a, b, c;
    nx_out_init(&a, "a");
    nx_out_init(&b, "b");
    nx_out_init(&c, "c");
    /* samples out of order, labels given unsorted, some absent */
    nx_family(&a, "zeta_info", "Escapes: \\ and\nnewline \"quoted\".", PROM_GAUGE,
              (const char *[]){"zz", "aa", "mm", NULL});
    nx_samplev(&a, 1, "b", "x", "1", NULL);
    nx_sample(&a, 2, (const char *[]){NULL, "x", "0"});
    nx_samplev(&a, -0.0, "a", "x\\y\"z\nw", "2", NULL);
    nx_samplev(&a, 4, "a", "x", "2", NULL); /* the same labels as the next one: order kept */
    nx_samplev(&a, 5, "a", "x", "2", NULL);
    nx_sample(&a, 6, (const char *[]){NULL, NULL, NULL});
    /* special floats and the 'g' layout */
    nx_family(&a, "alpha", "", PROM_UNTYPED, (const char *[]){"v", NULL});
    const double specials[] = {NAN,
                               INFINITY,
                               -INFINITY,
                               0.0,
                               1e6,
                               123456,
                               1234567,
                               1e-5,
                               0.0001,
                               1.5e-7,
                               1e21,
                               -2.5,
                               0.1,
                               3.0,
                               1e300,
                               5e-324,
                               9007199254740993.0,
                               1.0 / 3};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        char label[8];
        snprintf(label, sizeof label, "%02zu", i);
        nx_samplev(&a, specials[i], label, NULL);
    }
    /* counters with and without _total */
    nx_counter(&a, "c_total", "a counter", 7);
    nx_counter(&a, "c_plain", "a counter without the suffix", 8);
    /* a histogram with +Inf and one without, a summary */
    nx_family(&b, "h_seconds", "a histogram", PROM_HISTOGRAM, (const char *[]){"op", NULL});
    nx_histogram(&b, (const char *[]){"w"}, (const double[]){0.1, 1, INFINITY},
                 (const uint64_t[]){1, 3, 4}, 3, 2.5);
    nx_histogram(&b, (const char *[]){"r"}, (const double[]){0.5, 2}, (const uint64_t[]){2, 5}, 2,
                 1e7);
    nx_family(&b, "s_seconds", "a summary", PROM_SUMMARY, NULL);
    nx_summary(&b, NULL, (const double[]){0.5, 0.99}, (const double[]){0.01, 1e-9}, 2, 3.25,
               12345678901ULL);
    nx_summary(&b, NULL, NULL, NULL, 0, 0, 0);
    /* a family without samples, invalid names, a name the first output already has */
    nx_family(&b, "empty", "nothing", PROM_GAUGE, NULL);
    nx_gauge(&b, "bad-name", "dropped", 1);
    nx_family(&b, "bad_label", "dropped", PROM_GAUGE, (const char *[]){"__reserved", NULL});
    nx_samplev(&b, 1, "x", NULL);
    nx_family(&b, "bad_label2", "dropped", PROM_GAUGE, (const char *[]){"9x", NULL});
    nx_samplev(&b, 1, "x", NULL);
    nx_gauge(&b, "alpha", "shadowed by the first output's", 1);
    nx_gauge(&c, "bad-name", "after a dropped one", 1);
    nx_gauge(&c, "colon:name", "colons are fine in metric names", 1);
    const nx_out *v[] = {&a, &b, &c};
    check_same(v, 3);
    /* nothing at all */
    check_same(v, 0);
    nx_out_destroy(&a);
    nx_out_destroy(&b);
    nx_out_destroy(&c);
}

/* Past the shared table's 16,384 descriptions an output makes its own, which
 * have no rank: a scrape mixing both still writes what libprom does. */
static void test_table_full(void **state)
{
    nx_out fill;
    nx_out_init(&fill, "fill");
    char name[32];
    for (int i = 0; i < 16500; i++) {
        snprintf(name, sizeof name, "fill_%05d", i);
        nx_family(&fill, name, "Filler.", PROM_GAUGE, NULL);
    }
    nx_out a, b;
    nx_out_init(&a, "a");
    nx_out_init(&b, "b");
    nx_gauge(&a, "zz_new_after_full", "Made in the output.", 1);
    nx_family(&a, "alpha", "", PROM_UNTYPED, (const char *[]){"v", NULL}); /* as test_corners */
    nx_samplev(&a, 2, "x", NULL);
    nx_gauge(&b, "aa_new_after_full", "Made in the output too.", 3);
    nx_gauge(&b, "zz_new_after_full", "Shadowed.", 4);
    assert_null(nt_family(&a, "zz_new_after_full")->desc->rank);
    assert_non_null(nt_family(&a, "alpha")->desc->rank);
    const nx_out *v[] = {&a, &b};
    check_same(v, 2);
    nx_out_destroy(&a);
    nx_out_destroy(&b);
    nx_out_destroy(&fill);
}

int main(void)
{
    core_err err;
    core_log_setup("error", "logfmt", &err);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corners),
        cmocka_unit_test(test_fixture_host),
        cmocka_unit_test(test_this_machine),
        cmocka_unit_test(test_table_full),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    st_fixture_remove();
    return rc;
}
