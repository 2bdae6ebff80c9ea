/* Unit tests for server/core/arena.c. */
#include "unit/unit.h"

#include "core/core.h"

static void test_alloc_aligned_and_distinct(void **state)
{
    core_arena a;
    core_arena_init(&a, 1024);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        char *p = core_arena_alloc(&a, (size_t)i);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, i & 0xff, (size_t)i); /* ASan would catch an overlap or overrun */
        if (prev != NULL) assert_ptr_not_equal(p, prev);
        prev = p;
    }
    assert_true(a.used_total >= 199 * 200 / 2);
    core_arena_destroy(&a);
    assert_null(a.head);
}

static void test_big_allocation_gets_own_block(void **state)
{
    core_arena a;
    core_arena_init(&a, 1024);
    char *small1 = core_arena_alloc(&a, 16);
    char *big = core_arena_alloc(&a, 10000);
    memset(big, 7, 10000);
    char *small2 = core_arena_alloc(&a, 16);
    /* The small ones keep filling the first block. */
    assert_ptr_equal(small2, small1 + 16);
    core_arena_destroy(&a);
}

static void test_zero_size_and_calloc(void **state)
{
    core_arena a = {0}; /* a zeroed arena works with the default block size */
    void *z = core_arena_alloc(&a, 0);
    assert_non_null(z);
    int *v = core_arena_calloc(&a, 100, sizeof *v);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], 0);
    core_arena_destroy(&a);
}

static void test_strings(void **state)
{
    core_arena a;
    core_arena_init(&a, 0);
    assert_string_equal(core_arena_strdup(&a, "hello"), "hello");
    assert_string_equal(core_arena_strndup(&a, "hello", 3), "hel");
    assert_string_equal(core_arena_sprintf(&a, "%s=%d", "n", 5), "n=5");
    char long_arg[3000];
    memset(long_arg, 'x', sizeof long_arg - 1);
    long_arg[sizeof long_arg - 1] = '\0';
    char *s = core_arena_sprintf(&a, "<%s>", long_arg);
    assert_int_equal(strlen(s), 3001);
    core_arena_destroy(&a);
}

static void test_reset_reuses_memory(void **state)
{
    core_arena a;
    core_arena_init(&a, 4096);
    char *first = core_arena_alloc(&a, 64);
    for (int i = 0; i < 100; i++)
        core_arena_alloc(&a, 1000); /* spills into more blocks */
    core_arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    char *again = core_arena_alloc(&a, 64);
    assert_ptr_equal(first, again);
    core_arena_reset(&a);
    core_arena_destroy(&a);
    core_arena_reset(&a); /* on an empty arena */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_and_distinct),
        cmocka_unit_test(test_big_allocation_gets_own_block),
        cmocka_unit_test(test_zero_size_and_calloc),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_reset_reuses_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
