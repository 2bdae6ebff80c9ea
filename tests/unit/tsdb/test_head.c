/*
 * test_head.c - the head: series creation and lookup by labels and ref,
 * chunk cutting as upstream cuts (range boundary, ~120 samples, 240 at
 * most), refusals (out of order, duplicate, out of bounds, quiet repeats),
 * selection by every matcher type through the querier, chunks written to
 * chunks_head/ and read back, label names and values, truncation dropping
 * old chunks and empty series, many series (several series regions, slots
 * reused after truncation), appends from several threads at once, and the
 * head's own chunk encoder giving exactly tsdb_xor's bytes (every timestamp
 * bucket, value window case, NaN, stale markers and extreme values).
 */
#include "unit/unit.h"

#include "tsdb/internal.h"

#include "helpers.h"

#include <math.h>
#include <pthread.h>
#include <sys/stat.h>

#define H2 (2 * 3600 * 1000)

static core_labels *lbl(const char *name, const char *job, const char *inst)
{
    core_label p[3] = {{"__name__", name}, {"job", job}, {"instance", inst}};
    return core_labels_new(p, inst ? 3 : 2);
}

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* Samples of a selected series as a querier returns them. */
static size_t read_all(const tsdb_qseries *s, int64_t *ts, double *vs, size_t cap)
{
    tsdb_qiter it;
    tsdb_qiter_init(&it, s);
    size_t n = 0;
    while (tsdb_qiter_next(&it)) {
        if (n < cap) {
            ts[n] = it.t;
            memcpy(&vs[n], &it.v, sizeof(double));
        }
        n++;
    }
    assert_null(it.failure);
    return n;
}

static void test_create_and_lookup(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    assert_non_null(h);
    core_labels *a = lbl("up", "node", "a"), *b = lbl("up", "node", "b");
    bool created;
    tsdb_hseries *sa = tsdb_head_get_or_create(h, a, 0, &created);
    assert_true(created);
    assert_int_equal(tsdb_hseries_ref(sa), 1);
    tsdb_hseries *sb = tsdb_head_get_or_create(h, b, 0, &created);
    assert_true(created);
    assert_int_equal(tsdb_hseries_ref(sb), 2);
    assert_ptr_equal(tsdb_head_get_or_create(h, a, 0, &created), sa);
    assert_false(created);
    assert_ptr_equal(tsdb_head_series(h, 2), sb);
    assert_null(tsdb_head_series(h, 3));
    assert_true(core_labels_equal(tsdb_hseries_labels(sa), a));
    /* A wanted ref (WAL replay) moves the next ref past it. */
    core_labels *c = lbl("up", "node", "c");
    tsdb_hseries *sc = tsdb_head_get_or_create(h, c, 10, &created);
    assert_int_equal(tsdb_hseries_ref(sc), 10);
    core_labels *d = lbl("up", "node", "d");
    assert_int_equal(tsdb_hseries_ref(tsdb_head_get_or_create(h, d, 0, &created)), 11);
    tsdb_head_alias_ref(h, 20, sc);
    assert_ptr_equal(tsdb_head_series(h, 20), sc);
    assert_int_equal(tsdb_head_get_stats(h).series, 4);
    free(a), free(b), free(c), free(d);
    tsdb_head_free(h);
}

static void test_refusals(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    core_labels *a = lbl("x", "j", NULL);
    bool created;
    tsdb_hseries *s = tsdb_head_get_or_create(h, a, 0, &created);
    assert_int_equal(tsdb_head_append(h, s, 1000, bits(1), &err), 0);
    assert_int_equal(tsdb_head_append(h, s, 2000, bits(2), &err), 0);
    assert_int_equal(tsdb_head_append(h, s, 1500, bits(3), &err), TSDB_APPEND_OUT_OF_ORDER);
    assert_int_equal(tsdb_head_append(h, s, 2000, bits(3), &err), TSDB_APPEND_DUPLICATE);
    assert_int_equal(tsdb_head_append(h, s, 2000, bits(2), &err), TSDB_APPEND_REPEAT);
    assert_int_equal(tsdb_head_check(h, s, 2000, bits(5)), TSDB_APPEND_DUPLICATE);
    assert_int_equal(tsdb_head_check(h, s, 3000, bits(5)), 0);
    tsdb_head_set_min_valid(h, 5000);
    assert_int_equal(tsdb_head_append(h, s, 4000, bits(1), &err), TSDB_APPEND_OUT_OF_BOUNDS);
    /* A stale marker is stored bit-exact. */
    uint64_t stale = UINT64_C(0x7ff0000000000002);
    assert_int_equal(tsdb_head_append(h, s, 6000, stale, &err), 0);
    tsdb_querier q = {.head = h};
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n;
    assert_int_equal(tsdb_querier_select(&q, NULL, 0, 0, 10000, &arena, &out, &n, &err), 0);
    assert_int_equal(n, 1);
    tsdb_qiter it;
    tsdb_qiter_init(&it, &out[0]);
    size_t k = 0;
    while (tsdb_qiter_next(&it))
        k++;
    assert_int_equal(k, 3);
    assert_int_equal(it.v, stale);
    core_arena_destroy(&arena);
    free(a);
    tsdb_head_free(h);
}

/* Chunks: cut at the 2h range end and at about 120 samples. */
static void test_chunk_cutting(void **state)
{
    (void)state;
    core_err err = {{0}};
    char *dir = tmpdir_new();
    char chunks[4096];
    snprintf(chunks, sizeof chunks, "%s/chunks_head", dir);
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){.chunks_dir = chunks}, &err);
    assert_non_null(h);
    core_labels *a = lbl("x", "j", NULL);
    bool created;
    tsdb_hseries *s = tsdb_head_get_or_create(h, a, 0, &created);
    /* 4 hours at 15 s: 960 samples. */
    for (int64_t i = 0; i < 960; i++)
        assert_int_equal(tsdb_head_append(h, s, i * 15000, bits((double)i), &err), 0);
    /* Each 2h range (480 samples) is split evenly into 4 chunks of 120. */
    assert_int_equal(s->nmm, 7);
    for (uint32_t c = 0; c < s->nmm; c++) {
        assert_true(s->mm[c].mint / H2 == s->mm[c].maxt / H2); /* never across a boundary */
        assert_int_equal((s->mm[c].maxt - s->mm[c].mint) / 15000 + 1, 120);
    }
    assert_int_equal(s->nsamples, 120);
    /* Read back through the querier: the cut chunks come from the file. */
    assert_int_equal(tsdb_head_flush(h, &err), 0);
    tsdb_querier q = {.head = h};
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n;
    assert_int_equal(tsdb_querier_select(&q, NULL, 0, INT64_MIN, INT64_MAX, &arena, &out, &n, &err),
                     0);
    assert_int_equal(n, 1);
    static int64_t ts[1000];
    static double vs[1000];
    assert_int_equal(read_all(&out[0], ts, vs, 1000), 960);
    for (int i = 0; i < 960; i++) {
        assert_int_equal(ts[i], i * 15000);
        assert_true(vs[i] == (double)i);
    }
    /* The chunk file is upstream's format: our reader walks it. */
    tsdb_head_chunk_reader r;
    assert_int_equal(tsdb_head_chunk_reader_open(&r, chunks, &err), 0);
    size_t file = 0, off = 0, nrec = 0;
    tsdb_head_chunk c;
    uint64_t ref;
    while (tsdb_head_chunk_reader_next(&r, &file, &off, &c, &ref, &err) == 1) {
        assert_int_equal(c.series_ref, 1);
        nrec++;
    }
    assert_int_equal(nrec, 7);
    tsdb_head_chunk_reader_close(&r);
    /* A hard cut at 240 samples when samples come fast. */
    core_labels *b = lbl("y", "j", NULL);
    tsdb_hseries *fast = tsdb_head_get_or_create(h, b, 0, &created);
    for (int64_t i = 0; i < 500; i++)
        assert_int_equal(tsdb_head_append(h, fast, 1000 + i, bits(1), &err), 0);
    for (uint32_t c2 = 0; c2 < fast->nmm; c2++)
        assert_true((fast->mm[c2].maxt - fast->mm[c2].mint) + 1 <= 240);
    core_arena_destroy(&arena);
    free(a);
    free(b);
    tsdb_head_free(h);
    tmpdir_free(strdup(chunks));
    tmpdir_free(dir);
}

static bool re_node(void *ctx, tsdb_str v)
{
    (void)ctx;
    return v.len >= 4 && memcmp(v.p, "node", 4) == 0;
}

static void test_select_matchers(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    const char *jobs[] = {"node", "node2", "api"};
    const char *insts[] = {"a", "b"};
    bool created;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 2; i++) {
            core_labels *ls = lbl("up", jobs[j], insts[i]);
            tsdb_hseries *s = tsdb_head_get_or_create(h, ls, 0, &created);
            assert_int_equal(tsdb_head_append(h, s, 1000, bits(j * 2 + i), &err), 0);
            free(ls);
        }
    core_label pl[] = {{"__name__", "other"}};
    core_labels *o = core_labels_new(pl, 1);
    tsdb_head_append(h, tsdb_head_get_or_create(h, o, 0, &created), 1000, bits(9), &err);
    free(o);
    tsdb_querier q = {.head = h};
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n;
#define M(t, nm, val) ((tsdb_matcher){.type = t, .name = tsdb_str_c(nm), .value = tsdb_str_c(val)})
    tsdb_matcher m1[] = {M(TSDB_MATCH_EQ, "job", "node")};
    tsdb_querier_select(&q, m1, 1, 0, 2000, &arena, &out, &n, &err);
    assert_int_equal(n, 2);
    tsdb_matcher m2[] = {M(TSDB_MATCH_EQ, "__name__", "up"), M(TSDB_MATCH_NEQ, "job", "api")};
    tsdb_querier_select(&q, m2, 2, 0, 2000, &arena, &out, &n, &err);
    assert_int_equal(n, 4);
    tsdb_matcher m3[] = {{.type = TSDB_MATCH_RE, .name = tsdb_str_c("job"), .re_match = re_node}};
    tsdb_querier_select(&q, m3, 1, 0, 2000, &arena, &out, &n, &err);
    assert_int_equal(n, 4);
    assert_string_equal(core_labels_get(out[0].labels, "job"), "node");
    tsdb_matcher m4[] = {{.type = TSDB_MATCH_NRE, .name = tsdb_str_c("job"), .re_match = re_node}};
    tsdb_querier_select(&q, m4, 1, 0, 2000, &arena, &out, &n, &err);
    assert_int_equal(n, 3); /* api a, api b, and "other" (no job: "") */
    tsdb_matcher m5[] = {M(TSDB_MATCH_EQ, "instance", "")};
    tsdb_querier_select(&q, m5, 1, 0, 2000, &arena, &out, &n, &err);
    assert_int_equal(n, 1);
    assert_string_equal(core_labels_get(out[0].labels, "__name__"), "other");
    /* Out of the time range: nothing. */
    tsdb_querier_select(&q, m1, 1, 2000, 3000, &arena, &out, &n, &err);
    assert_int_equal(n, 0);
    /* Label names and values. */
    const char **v;
    size_t k = tsdb_head_label_names(h, &arena, &v);
    assert_int_equal(k, 3);
    assert_string_equal(v[0], "__name__");
    assert_string_equal(v[1], "instance");
    assert_string_equal(v[2], "job");
    k = tsdb_head_label_values(h, "job", &arena, &v);
    assert_int_equal(k, 3);
    assert_string_equal(v[0], "api");
    assert_string_equal(v[2], "node2");
    assert_int_equal(tsdb_head_label_values(h, "nope", &arena, &v), 0);
    core_arena_destroy(&arena);
    tsdb_head_free(h);
#undef M
}

/* Enough series for several series regions (the later ones on huge
 * pages): each found by ref and by labels, 64-byte aligned, appended to;
 * truncation frees them all and their slots are used again. */
static void test_many_series(void **state)
{
    (void)state;
    enum { N = 60000 };
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    char inst[16];
    for (int i = 0; i < N; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        core_labels *ls = lbl("many", "j", inst);
        bool created;
        tsdb_hseries *s = tsdb_head_get_or_create(h, ls, 0, &created);
        assert_true(created);
        assert_int_equal((uintptr_t)s % 64, 0);
        assert_int_equal(tsdb_head_append(h, s, 1000, bits(i), &err), 0);
        free(ls);
    }
    assert_true(h->slab_nregions > 3);
    for (int i = 0; i < N; i += 997) {
        snprintf(inst, sizeof inst, "%d", i);
        core_labels *ls = lbl("many", "j", inst);
        tsdb_hseries *s = tsdb_head_series(h, (uint64_t)i + 1);
        assert_non_null(s);
        assert_true(core_labels_equal(tsdb_hseries_labels(s), ls));
        assert_true(s->maxt == 1000 && s->last_v == bits(i));
        free(ls);
    }
    tsdb_head_truncate(h, 2000);
    assert_int_equal(tsdb_head_get_stats(h).series, 0);
    size_t regions = h->slab_nregions;
    for (int i = 0; i < N; i++) {
        snprintf(inst, sizeof inst, "again%d", i);
        core_labels *ls = lbl("many", "j", inst);
        bool created;
        assert_non_null(tsdb_head_get_or_create(h, ls, 0, &created));
        free(ls);
    }
    assert_int_equal(h->slab_nregions, regions); /* freed slots reused */
    tsdb_head_free(h);
}

static void test_truncate(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    bool created;
    core_labels *old = lbl("old", "j", NULL), *live = lbl("live", "j", NULL);
    tsdb_hseries *so = tsdb_head_get_or_create(h, old, 0, &created);
    tsdb_hseries *sl = tsdb_head_get_or_create(h, live, 0, &created);
    for (int64_t t = 0; t < 3 * H2; t += 15000) {
        if (t < H2) tsdb_head_append(h, so, t, bits(1), &err);
        tsdb_head_append(h, sl, t, bits(2), &err);
    }
    tsdb_head_truncate(h, H2);
    assert_null(tsdb_head_series(h, 1)); /* only old data: gone */
    assert_non_null(tsdb_head_series(h, 2));
    tsdb_head_stats st = tsdb_head_get_stats(h);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.series_removed, 1);
    assert_true(st.mint >= H2);
    for (uint32_t c = 0; c < sl->nmm; c++)
        assert_true(sl->mm[c].maxt >= H2);
    core_arena arena;
    core_arena_init(&arena, 0);
    const char **v;
    assert_int_equal(tsdb_head_label_values(h, "__name__", &arena, &v), 1);
    assert_string_equal(v[0], "live");
    /* Refused before the new bound. */
    assert_int_equal(tsdb_head_append(h, sl, H2 - 1, bits(1), &err), TSDB_APPEND_OUT_OF_BOUNDS);
    core_arena_destroy(&arena);
    free(old);
    free(live);
    tsdb_head_free(h);
}

typedef struct worker {
    tsdb_head *h;
    int id;
} worker;

static void *append_worker(void *arg)
{
    worker *w = arg;
    core_err err = {{0}};
    char inst[16];
    for (int i = 0; i < 200; i++) {
        snprintf(inst, sizeof inst, "%d", i);
        core_labels *ls = lbl("m", "shared", inst); /* the same series in every thread */
        bool created;
        tsdb_hseries *s = tsdb_head_get_or_create(w->h, ls, 0, &created);
        for (int k = 0; k < 50; k++)
            tsdb_head_append(w->h, s, (int64_t)k * 1000, bits(k), &err);
        free(ls);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){0}, &err);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){h, i};
        pthread_create(&th[i], NULL, append_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(tsdb_head_get_stats(h).series, 200);
    tsdb_querier q = {.head = h};
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n;
    tsdb_querier_select(&q, NULL, 0, 0, 100000, &arena, &out, &n, &err);
    assert_int_equal(n, 200);
    static int64_t ts[64];
    static double vs[64];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(read_all(&out[i], ts, vs, 64), 50);
    core_arena_destroy(&arena);
    tsdb_head_free(h);
}

/* A splitmix64 step: reproducible pseudo-random bits. */
static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Appends n samples of one pattern to a fresh series and checks each of its
 * chunks against tsdb_xor fed the same samples. */
static void check_encoder(tsdb_head *h, const char *name, const int64_t *ts, const uint64_t *vs,
                          size_t n)
{
    core_err err = {{0}};
    core_labels *ls = lbl(name, "enc", NULL);
    bool created;
    tsdb_hseries *s = tsdb_head_get_or_create(h, ls, 0, &created);
    free(ls);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tsdb_head_append(h, s, ts[i], vs[i], &err), 0);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_chunk_meta *metas;
    const uint8_t **bytes;
    uint32_t *lens;
    size_t k = tsdb_head_series_chunks(h, s, INT64_MIN, INT64_MAX, &arena, &metas, &bytes, &lens);
    size_t i = 0;
    for (size_t c = 0; c < k; c++) {
        tsdb_xor x;
        tsdb_xor_init(&x);
        assert_int_equal(ts[i], metas[c].mint);
        for (; i < n && ts[i] <= metas[c].maxt; i++)
            assert_int_equal(tsdb_xor_append_bits(&x, ts[i], vs[i], &err), 0);
        size_t len;
        const uint8_t *want = tsdb_xor_bytes(&x, &len);
        assert_int_equal(lens[c], len);
        assert_memory_equal(bytes[c], want, len);
        tsdb_xor_destroy(&x);
    }
    assert_int_equal(i, n);
    core_arena_destroy(&arena);
}

static void test_encoder_matches_xor(void **state)
{
    (void)state;
    core_err err = {{0}};
    enum { N = 1000 };
    int64_t *ts = calloc(N, sizeof(*ts));
    uint64_t *vs = calloc(N, sizeof(*vs));
    for (int with_files = 0; with_files < 2; with_files++) {
        char *dir = with_files ? tmpdir_new() : NULL;
        tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){.chunks_dir = dir}, &err);
        assert_non_null(h);
        uint64_t seed = 42;
        for (int pattern = 0; pattern < 8; pattern++) {
            int64_t t = pattern == 6 ? INT64_C(-4611686018427387000) : INT64_C(1700000000000);
            double v = 0;
            for (size_t i = 0; i < N; i++) {
                uint64_t r = rnd(&seed);
                int64_t step = 15000;
                switch (pattern) {
                case 0: vs[i] = bits(42.0); break; /* constant */
                case 1: vs[i] = r; break;          /* any bits: NaN payloads too */
                case 2: vs[i] = bits(v += (double)(r % 1000)); break;
                case 3: vs[i] = r % 5 ? bits((double)(r % 7) / 3.0) : TSDB_STALE_NAN_BITS; break;
                case 4: /* jitter through every delta-of-delta bucket */
                    step = 15000 + (int64_t)(r % 5 == 0   ? r % 16000
                                             : r % 5 == 1 ? r % 130000
                                             : r % 5 == 2 ? r % 1000000
                                             : r % 5 == 3 ? r % 4000000000
                                                          : 0);
                    vs[i] = bits(v += 0.25);
                    break;
                case 5: vs[i] = i % 2 ? bits(INFINITY) : bits(-0.0); break;
                case 6: vs[i] = bits(r % 2 ? 1e308 : -1e-308); break; /* extreme t too */
                default: vs[i] = bits((double)(i % 3) * 1e-9 + (double)(r % 2)); break;
                }
                t += i ? step : 0;
                ts[i] = t;
            }
            char name[32];
            snprintf(name, sizeof name, "p%d", pattern);
            check_encoder(h, name, ts, vs, N);
        }
        /* A first timestamp whose varint takes 10 bytes. */
        ts[0] = INT64_MIN + 1;
        ts[1] = INT64_MIN + 2;
        vs[0] = vs[1] = bits(1.0);
        check_encoder(h, "gap", ts, vs, 2);
        tsdb_head_free(h);
        if (dir) tmpdir_free(dir);
    }
    free(ts);
    free(vs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_lookup), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_chunk_cutting),     cmocka_unit_test(test_select_matchers),
        cmocka_unit_test(test_many_series),       cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_concurrent),        cmocka_unit_test(test_encoder_matches_xor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
