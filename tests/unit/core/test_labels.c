/* Unit tests for server/core/labels.c. */
#include "unit/unit.h"

#include "core/core.h"

static core_labels *mk(size_t n, ...)
{
    core_label pairs[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        pairs[i].name = va_arg(ap, const char *);
        pairs[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
    return core_labels_new(pairs, n);
}

static const char *str(const core_labels *ls)
{
    static core_sb sb;
    core_sb_reset(&sb);
    core_labels_format(ls, &sb);
    return sb.buf;
}

static void test_new_sorts_and_copies(void **state)
{
    char name[] = "job", value[] = "node";
    core_label pairs[] = {{name, value}, {"__name__", "up"}, {"instance", "a:9100"}};
    core_labels *ls = core_labels_new(pairs, 3);
    name[0] = value[0] = 'X'; /* the set holds copies */
    assert_int_equal(ls->len, 3);
    assert_string_equal(ls->v[0].name, "__name__");
    assert_string_equal(ls->v[1].name, "instance");
    assert_string_equal(ls->v[2].name, "job");
    assert_string_equal(ls->v[2].value, "node");
    assert_string_equal(str(ls), "{__name__=\"up\", instance=\"a:9100\", job=\"node\"}");
    core_labels *copy = core_labels_clone(ls);
    assert_true(core_labels_equal(ls, copy));
    free(ls);
    assert_string_equal(str(copy), "{__name__=\"up\", instance=\"a:9100\", job=\"node\"}");
    free(copy);
}

static void test_empty_and_many(void **state)
{
    core_labels *e = core_labels_new(NULL, 0);
    assert_int_equal(e->len, 0);
    assert_string_equal(str(e), "{}");
    assert_null(core_labels_get(e, "x"));
    core_label pairs[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "l%02d", 39 - i);
        pairs[i] = (core_label){names[i], "v"};
    }
    core_labels *many = core_labels_new(pairs, 40); /* more than the stack buffer */
    assert_string_equal(many->v[0].name, "l00");
    assert_string_equal(many->v[39].name, "l39");
    assert_string_equal(core_labels_get(many, "l17"), "v");
    free(e);
    free(many);
}

static void test_get_and_dup(void **state)
{
    core_labels *ls = mk(4, "b", "2", "a", "1", "d", "4", "c", "3");
    assert_string_equal(core_labels_get(ls, "a"), "1");
    assert_string_equal(core_labels_get(ls, "d"), "4");
    assert_null(core_labels_get(ls, "e"));
    assert_null(core_labels_get(ls, ""));
    assert_null(core_labels_dup_name(ls));
    core_labels *dup = mk(3, "a", "1", "b", "2", "a", "3");
    assert_string_equal(core_labels_dup_name(dup), "a");
    free(ls);
    free(dup);
}

static void test_arena_variant(void **state)
{
    core_arena a;
    core_arena_init(&a, 0);
    core_label pairs[] = {{"z", "1"}, {"y", "2"}};
    core_labels *ls = core_labels_new_in(&a, pairs, 2);
    assert_string_equal(str(ls), "{y=\"2\", z=\"1\"}");
    core_arena_destroy(&a);
}

static void test_hash(void **state)
{
    core_labels *a = mk(2, "job", "x", "__name__", "up");
    core_labels *b = mk(2, "__name__", "up", "job", "x");
    core_labels *c = mk(2, "__name__", "up", "job", "y");
    /* Separators keep {a="bc"} and {ab="c"} apart. */
    core_labels *d = mk(1, "a", "bc");
    core_labels *e = mk(1, "ab", "c");
    assert_true(core_labels_hash(a) == core_labels_hash(b));
    assert_true(core_labels_hash(a) != core_labels_hash(c));
    assert_true(core_labels_hash(d) != core_labels_hash(e));
    /* The hash is that of name 0xff value 0xff ..., as upstream's. */
    const char text[] = "__name__\xffup\xffjob\xffx\xff";
    assert_true(core_labels_hash(a) == core_hash(text, sizeof text - 1));
    /* A set too long for the stack buffer hashes the same way. */
    char big[2000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_labels *f = mk(1, "k", big);
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "k\xff");
    core_sb_adds(&sb, big);
    core_sb_adds(&sb, "\xff");
    assert_true(core_labels_hash(f) == core_hash(sb.buf, sb.len));
    core_sb_destroy(&sb);
    free(a), free(b), free(c), free(d), free(e), free(f);
}

static void test_compare(void **state)
{
    core_labels *a = mk(1, "a", "1");
    core_labels *a2 = mk(1, "a", "2");
    core_labels *ab = mk(2, "a", "1", "b", "1");
    core_labels *b = mk(1, "b", "0");
    core_labels *empty = core_labels_new(NULL, 0);
    assert_int_equal(core_labels_compare(a, a), 0);
    assert_true(core_labels_compare(a, a2) < 0);
    assert_true(core_labels_compare(a2, a) > 0);
    assert_true(core_labels_compare(a, ab) < 0); /* prefix sorts first */
    assert_true(core_labels_compare(ab, a) > 0);
    assert_true(core_labels_compare(ab, b) < 0); /* names before values */
    assert_true(core_labels_compare(empty, a) < 0);
    assert_false(core_labels_equal(a, a2));
    assert_false(core_labels_equal(a, ab));
    free(a), free(a2), free(ab), free(b), free(empty);
}

static void test_format_escapes(void **state)
{
    core_labels *ls = mk(1, "path", "C:\\dir \"q\"\n");
    assert_string_equal(str(ls), "{path=\"C:\\\\dir \\\"q\\\"\\n\"}");
    free(ls);
}

static void test_name_validity(void **state)
{
    assert_true(core_metric_name_valid("http_requests_total", 19));
    assert_true(core_metric_name_valid("job:rate5m", 10));
    assert_true(core_metric_name_valid("_x", 2));
    assert_false(core_metric_name_valid("1x", 2));
    assert_false(core_metric_name_valid("a-b", 3));
    assert_false(core_metric_name_valid("", 0));
    assert_true(core_label_name_valid("le", 2));
    assert_true(core_label_name_valid("__name__", 8));
    assert_false(core_label_name_valid("a:b", 3));
    assert_false(core_label_name_valid("9", 1));
    assert_false(core_label_name_valid("é", strlen("é")));
}

static void test_builder(void **state)
{
    core_labels *base = mk(3, "__name__", "up", "job", "node", "instance", "a:9100");
    core_labels_builder b;
    core_labels_builder_init(&b, base);
    core_labels_builder_set(&b, "job", "api");  /* override */
    core_labels_builder_set(&b, "zone", "eu");  /* add */
    core_labels_builder_del(&b, "instance");    /* delete */
    core_labels_builder_set(&b, "env", "prod"); /* add, then delete by empty value */
    core_labels_builder_set(&b, "env", "");
    assert_string_equal(core_labels_builder_get(&b, "job"), "api");
    assert_string_equal(core_labels_builder_get(&b, "__name__"), "up");
    assert_null(core_labels_builder_get(&b, "instance"));
    assert_null(core_labels_builder_get(&b, "env"));
    core_labels *out = core_labels_builder_labels(&b, NULL);
    assert_string_equal(str(out), "{__name__=\"up\", job=\"api\", zone=\"eu\"}");
    free(out);

    core_labels_builder_set(&b, "instance", "b:1"); /* undo a delete */
    core_labels_builder_set(&b, "job", "web");      /* set twice */
    out = core_labels_builder_labels(&b, NULL);
    assert_string_equal(str(out), "{__name__=\"up\", instance=\"b:1\", job=\"web\", zone=\"eu\"}");
    free(out);

    core_labels_builder_reset(&b, base);
    out = core_labels_builder_labels(&b, NULL);
    assert_true(core_labels_equal(out, base));
    free(out);

    static const char *const keep[] = {"job", "zone", NULL};
    core_labels_builder_set(&b, "zone", "us");
    core_labels_builder_set(&b, "other", "x");
    core_labels_builder_keep(&b, keep);
    core_arena a;
    core_arena_init(&a, 0);
    out = core_labels_builder_labels(&b, &a);
    assert_string_equal(str(out), "{job=\"node\", zone=\"us\"}");
    core_arena_destroy(&a);
    core_labels_builder_destroy(&b);

    core_labels_builder_init(&b, NULL); /* no base */
    core_labels_builder_destroy(&b);
    core_labels_builder_init(&b, NULL);
    core_labels_builder_set(&b, "a", "1");
    assert_null(core_labels_builder_get(&b, "b"));
    out = core_labels_builder_labels(&b, NULL);
    assert_string_equal(str(out), "{a=\"1\"}");
    free(out);
    core_labels_builder_destroy(&b);
    free(base);
}

static void test_builder_many_changes(void **state)
{
    core_labels *base = core_labels_new(NULL, 0);
    core_labels_builder b;
    core_labels_builder_init(&b, base);
    char names[50][8];
    for (int i = 0; i < 50; i++) {
        snprintf(names[i], sizeof names[i], "n%02d", i);
        core_labels_builder_set(&b, names[i], "v");
    }
    for (int i = 0; i < 50; i += 2)
        core_labels_builder_del(&b, names[i]);
    core_labels *out = core_labels_builder_labels(&b, NULL);
    assert_int_equal(out->len, 25);
    assert_string_equal(out->v[0].name, "n01");
    assert_string_equal(out->v[24].name, "n49");
    free(out);
    core_labels_builder_destroy(&b);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_sorts_and_copies),
        cmocka_unit_test(test_empty_and_many),
        cmocka_unit_test(test_get_and_dup),
        cmocka_unit_test(test_arena_variant),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_format_escapes),
        cmocka_unit_test(test_name_validity),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_builder_many_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
