/* Unit tests for out.c: families and samples as collectors emit them, the
 * descriptions shared by outputs (one per name, help, type and labels), the
 * strings kept without a copy when they live in the program's read-only memory
 * and copied when they can change, and histogram and summary samples. */
#include "nodetest.h"

static const char *const dev_label[] = {"device", NULL};

static void test_literals_kept(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    nx_family(&o, "node_x_total", "Literal help.", PROM_COUNTER, dev_label);
    nx_samplev(&o, 1, "eth0", NULL);
    const nx_fam *f = nt_family(&o, "node_x_total");
    assert_non_null(f);
    /* string literals and tables of them are read-only: no copies */
    assert_ptr_equal(f->name, f->desc->name);
    assert_string_equal(f->name, "node_x_total");
    assert_string_equal(f->help, "Literal help.");
    assert_ptr_equal(f->labels, dev_label);
    assert_int_equal(f->n_labels, 1);
    assert_int_equal(f->type, PROM_COUNTER);
    assert_string_equal(f->samples[0].values[0], "eth0");
    nx_out_destroy(&o);
}

static void test_changing_strings_copied(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    char name[32], help[32], label[16], value[16];
    snprintf(name, sizeof name, "node_%s", "dyn");
    snprintf(help, sizeof help, "Help of %s.", "dyn");
    snprintf(label, sizeof label, "%s", "mode");
    snprintf(value, sizeof value, "%s", "idle");
    nx_family(&o, name, help, PROM_GAUGE, (const char *[]){label, NULL});
    nx_sample(&o, 2, (const char *[]){value});
    /* the buffers are reused for something else, as a collector's are */
    memset(name, 'x', sizeof name - 1);
    memset(help, 'x', sizeof help - 1);
    memset(label, 'x', sizeof label - 1);
    memset(value, 'x', sizeof value - 1);
    const nx_fam *f = nt_family(&o, "node_dyn");
    assert_non_null(f);
    assert_string_equal(f->help, "Help of dyn.");
    assert_string_equal(f->labels[0], "mode");
    assert_string_equal(f->samples[0].values[0], "idle");
    assert_true(nt_value(&o, "node_dyn", "mode=idle") == 2);
    nx_out_destroy(&o);
}

static void test_descriptions_shared(void **state)
{
    nx_out a, b;
    nx_out_init(&a, "a");
    nx_out_init(&b, "b");
    char name[32];
    snprintf(name, sizeof name, "node_shared_%d", 1);
    nx_gauge(&a, name, "Same help.", 1);
    nx_gauge(&b, "node_shared_1", "Same help.", 2);
    nx_gauge(&b, "node_other", "Other help.", 3);
    const nx_fam *fa = nt_family(&a, "node_shared_1"), *fb = nt_family(&b, "node_shared_1");
    assert_ptr_equal(fa->desc, fb->desc); /* one description for both outputs */
    assert_ptr_not_equal(fb->desc, nt_family(&b, "node_other")->desc);
    /* the same name with another help or type is another description */
    nx_out c;
    nx_out_init(&c, "c");
    nx_gauge(&c, "node_shared_1", "Different help.", 4);
    const nx_fam *fc = nt_family(&c, "node_shared_1");
    assert_ptr_not_equal(fa->desc, fc->desc);
    assert_string_equal(fc->help, "Different help.");
    nx_out d;
    nx_out_init(&d, "d");
    nx_counter(&d, "node_shared_1", "Same help.", 5);
    assert_ptr_not_equal(fa->desc, nt_family(&d, "node_shared_1")->desc);
    assert_int_equal(nt_family(&d, "node_shared_1")->type, PROM_COUNTER);
    nx_out_destroy(&a);
    nx_out_destroy(&b);
    nx_out_destroy(&c);
    nx_out_destroy(&d);
}

static void test_family_again(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    /* a name given again continues its family, whatever help comes with it */
    nx_family(&o, "node_a", "First help.", PROM_GAUGE, dev_label);
    nx_samplev(&o, 1, "sda", NULL);
    nx_family(&o, "node_b", "B.", PROM_GAUGE, NULL);
    nx_sample(&o, 2, NULL);
    nx_family(&o, "node_a", "Second help.", PROM_COUNTER, NULL);
    nx_samplev(&o, 3, "sdb", NULL);
    assert_int_equal(o.n_families, 2);
    const nx_fam *f = nt_family(&o, "node_a");
    assert_string_equal(f->help, "First help.");
    assert_int_equal(f->n_samples, 2);
    assert_true(nt_value(&o, "node_a", "device=sdb") == 3);
    /* many families: the name index grows */
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "node_many_%d", i);
        nx_gauge(&o, name, "Many.", i);
    }
    for (int i = 0; i < 300; i += 37) {
        snprintf(name, sizeof name, "node_many_%d", i);
        assert_true(nt_value(&o, name, NULL) == i);
    }
    assert_int_equal(o.n_families, 302);
    nx_out_destroy(&o);
}

static void test_absent_values(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    nx_family(&o, "node_two", "Two labels.", PROM_GAUGE, (const char *[]){"a", "b", NULL});
    nx_sample(&o, 1, (const char *[]){NULL, "y"});
    nx_sample(&o, 2, NULL);
    const nx_fam *f = nt_family(&o, "node_two");
    assert_null(f->samples[0].values[0]);
    assert_string_equal(f->samples[0].values[1], "y");
    assert_null(f->samples[1].values[0]);
    assert_null(f->samples[1].values[1]);
    assert_null(f->samples[0].dist);
    nx_out_destroy(&o);
}

static void test_distributions(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    nx_family(&o, "node_h", "A histogram.", PROM_HISTOGRAM, NULL);
    double bounds[] = {1, INFINITY};
    uint64_t counts[] = {2, 5};
    nx_histogram(&o, NULL, bounds, counts, 2, 7.5);
    bounds[0] = counts[0] = 0; /* the caller's arrays are copied */
    nx_family(&o, "node_s", "A summary.", PROM_SUMMARY, NULL);
    nx_summary(&o, NULL, (const double[]){0.5}, (const double[]){0.25}, 1, 3, 9);
    const nx_dist *h = nt_family(&o, "node_h")->samples[0].dist;
    assert_non_null(h);
    assert_int_equal(h->n, 2);
    assert_true(h->bounds[0] == 1 && isinf(h->bounds[1]));
    assert_int_equal(h->counts[0], 2);
    assert_int_equal(h->counts[1], 5);
    assert_true(h->sum == 7.5);
    const nx_dist *s = nt_family(&o, "node_s")->samples[0].dist;
    assert_int_equal(s->n, 1);
    assert_true(s->bounds[0] == 0.5 && s->qvalues[0] == 0.25 && s->sum == 3);
    assert_int_equal(s->count, 9);
    nx_out_destroy(&o);
}

static void test_invalid_names(void **state)
{
    nx_out o;
    nx_out_init(&o, "test");
    nx_gauge(&o, "bad-name", "Dropped when written.", 1);
    nx_family(&o, "node_l", "", PROM_GAUGE, (const char *[]){"__reserved", NULL});
    nx_family(&o, "node_ok", "", PROM_GAUGE, (const char *[]){"zz", "aa", "mm", NULL});
    assert_non_null(nt_family(&o, "bad-name")->desc->invalid);
    assert_non_null(nt_family(&o, "node_l")->desc->invalid);
    const nx_desc *d = nt_family(&o, "node_ok")->desc;
    assert_null(d->invalid);
    /* label names in name order: aa (1), mm (2), zz (0) */
    assert_int_equal(d->order[0], 1);
    assert_int_equal(d->order[1], 2);
    assert_int_equal(d->order[2], 0);
    assert_int_equal(d->name_len, 7);
    nx_out_destroy(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_kept),       cmocka_unit_test(test_changing_strings_copied),
        cmocka_unit_test(test_descriptions_shared), cmocka_unit_test(test_family_again),
        cmocka_unit_test(test_absent_values),       cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_invalid_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
