/* Unit tests for server/core/hash.c. */
#include "unit/unit.h"

#include "core/core.h"

static void test_hash_stable_and_distinct(void **state)
{
    /* XXH3-64 of the empty input, a published test vector. */
    assert_true(core_hash("", 0) == UINT64_C(0x2D06800538D394C2));
    assert_true(core_hash("abc", 3) == core_hash_str("abc"));
    assert_true(core_hash("abc", 3) != core_hash("abd", 3));
    assert_true(core_hash_seeded("abc", 3, 0) == core_hash("abc", 3));
    assert_true(core_hash_seeded("abc", 3, 1) != core_hash("abc", 3));
}

static void test_hasher_equals_oneshot(void **state)
{
    const char *text = "__name__\xffup\xffjob\xffnode\xff";
    core_hasher h;
    core_hasher_init(&h);
    core_hasher_add(&h, "__name__\xffup\xff", 12);
    core_hasher_add(&h, "job\xffnode\xff", 9);
    assert_true(core_hasher_sum(&h) == core_hash(text, strlen(text)));
    core_hasher_destroy(&h);
    assert_null(h.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_stable_and_distinct),
        cmocka_unit_test(test_hasher_equals_oneshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
