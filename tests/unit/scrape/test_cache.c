/*
 * test_cache.c - the series cache of a target: keys, lookups in scrape order
 * and out of it, new series, the sweep after a scrape (gone entries reported
 * and removed, NEW cleared, the order of the scrape taken back when it
 * changed a little and left when the target shuffles), trimming, and reuse
 * after destroy.
 */
#include "unit/unit.h"

#include "core/core.h"
#include "scrape/cache.h"

#define N 3000

static void key_of(int i, uint64_t h[2])
{
    char text[64];
    int n = snprintf(text, sizeof text, "series_%d{a=\"%d\"}", i, i * 7);
    scrape_cache_key(text, (size_t)n, 42, h);
}

/* One scrape: looks up series `order[k]` for k < n (adding the missing ones),
 * marks them seen at `iter` with their place. */
static size_t scrape(scrape_cache *c, const int *order, size_t n, uint32_t iter)
{
    size_t added = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t h[2];
        key_of(order[k], h);
        scrape_centry *e = scrape_cache_find(c, h);
        if (!e) {
            e = scrape_cache_add(c, h);
            e->flags = SCRAPE_CE_NEW;
            e->ref = (uint32_t)order[k] + 1;
            added++;
        }
        assert_int_equal(e->ref, order[k] + 1);
        e->seen = iter;
        e->pos = (uint32_t)k;
    }
    return added;
}

static int gone_count;
static uint32_t gone_refs[N];

static void gone(void *ctx, const scrape_centry *e)
{
    (void)ctx;
    gone_refs[gone_count++] = e->ref;
}

static void test_keys(void **state)
{
    (void)state;
    uint64_t a[2], b[2], c[2], d[2];
    scrape_cache_key("up{job=\"x\"}", 11, 1, a);
    scrape_cache_key("up{job=\"x\"}", 11, 1, b);
    scrape_cache_key("up{job=\"y\"}", 11, 1, c);
    scrape_cache_key("up{job=\"x\"}", 11, 2, d);
    assert_true(a[0] == b[0] && a[1] == b[1]);
    assert_false(a[0] == c[0] && a[1] == c[1]);
    assert_false(a[0] == d[0] && a[1] == d[1]); /* the seed matters */
    assert_int_equal(sizeof(scrape_centry), 32);
}

static void test_lookups_and_sweep(void **state)
{
    (void)state;
    static int order[N];
    scrape_cache c = {0};
    for (int i = 0; i < N; i++)
        order[i] = i;
    assert_int_equal(scrape(&c, order, N, 1), N);
    assert_int_equal(c.n, N);
    gone_count = 0;
    scrape_cache_sweep(&c, 1, gone, NULL);
    assert_int_equal(gone_count, 0);
    for (uint32_t i = 0; i < c.n; i++)
        assert_int_equal(c.v[i].flags & SCRAPE_CE_NEW, 0);
    /* Trimmed to about what it holds. */
    assert_true(scrape_cache_bytes(&c) < N * sizeof(scrape_centry) * 13 / 10 + N * 6);

    /* Same series again: every one known; reverse order goes through the table. */
    assert_int_equal(scrape(&c, order, N, 2), 0);
    scrape_cache_sweep(&c, 2, gone, NULL);
    int rev[N];
    for (int i = 0; i < N; i++)
        rev[i] = N - 1 - i;
    assert_int_equal(scrape(&c, rev, N, 3), 0);
    scrape_cache_sweep(&c, 3, gone, NULL);
    assert_int_equal(gone_count, 0);

    /* Series 0 .. 99 gone, 100 new ones: 100 reported, the rest kept. */
    int next[N];
    for (int i = 0; i < N; i++)
        next[i] = i < N - 100 ? i + 100 : N + i;
    assert_int_equal(scrape(&c, next, N, 4), 100);
    scrape_cache_sweep(&c, 4, gone, NULL);
    assert_int_equal(gone_count, 100);
    for (int i = 0; i < 100; i++)
        assert_true(gone_refs[i] >= 1 && gone_refs[i] <= 100);
    assert_int_equal(c.n, N);
    uint64_t h[2];
    key_of(5, h);
    assert_null(scrape_cache_find(&c, h));
    key_of(N + N - 50, h);
    assert_non_null(scrape_cache_find(&c, h));

    /* Nothing seen: everything goes and the cache is empty, then usable. */
    gone_count = 0;
    scrape_cache_sweep(&c, 5, gone, NULL);
    assert_int_equal(gone_count, N);
    assert_int_equal(c.n, 0);
    assert_int_equal(scrape_cache_bytes(&c), 0);
    assert_int_equal(scrape(&c, order, 10, 6), 10);
    scrape_cache_destroy(&c);
    assert_int_equal(scrape(&c, order, 10, 7), 10);
    scrape_cache_destroy(&c);
}

static void test_order(void **state)
{
    (void)state;
    static int order[N];
    scrape_cache c = {0};
    for (int i = 0; i < N; i++)
        order[i] = i;
    scrape(&c, order, N, 1);
    scrape_cache_sweep(&c, 1, NULL, NULL);
    /* A series new in the middle: added at the end, put in its place by the
     * sweep, so the array follows the scrape again. */
    static int with[N + 1];
    for (int i = 0, k = 0; i < N; i++) {
        if (i == N / 2) with[k++] = 99999;
        with[k++] = i;
    }
    assert_int_equal(scrape(&c, with, N + 1, 2), 1);
    assert_int_equal(c.v[N].ref, 99999 + 1);
    scrape_cache_sweep(&c, 2, NULL, NULL);
    for (uint32_t i = 0; i < c.n; i++)
        assert_int_equal(c.v[i].ref, with[i] + 1);
    /* A shuffled target: left in its order, every series still found. */
    static int shuffled[N + 1];
    memcpy(shuffled, with, sizeof shuffled);
    uint64_t x = 88172645463325252u;
    for (int i = N; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    assert_int_equal(scrape(&c, shuffled, N + 1, 3), 0);
    scrape_cache_sweep(&c, 3, NULL, NULL);
    for (uint32_t i = 0; i < c.n; i++)
        assert_int_equal(c.v[i].ref, with[i] + 1);
    assert_int_equal(scrape(&c, shuffled, N + 1, 4), 0);
    scrape_cache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_lookups_and_sweep),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
