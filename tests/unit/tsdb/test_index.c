/*
 * test_index.c - the block index: a writer/reader round trip over a few
 * hundred series, lookups of missing names and pairs, writer misuse, and
 * damaged files: truncation at every byte and a flipped bit at every byte
 * must give an error (or, for an alignment padding byte no CRC covers, the
 * very same contents), never a crash.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

enum { NSERIES = 300, MAXL = 5, MAXC = 3 };

typedef struct tseries {
    char buf[MAXL][2][24];
    tsdb_index_label l[MAXL];
    size_t n;
    tsdb_chunk_meta c[MAXC];
    size_t nc;
} tseries;

static void set_label(tseries *s, const char *name, const char *value)
{
    snprintf(s->buf[s->n][0], sizeof(s->buf[0][0]), "%s", name);
    snprintf(s->buf[s->n][1], sizeof(s->buf[0][1]), "%s", value);
    s->l[s->n].name = tsdb_str_c(s->buf[s->n][0]);
    s->l[s->n].value = tsdb_str_c(s->buf[s->n][1]);
    s->n++;
}

/* Series i: names sorted, an optional "extra" label, 0..3 chunks. */
static void make_series(tseries *s, int i, uint64_t *rng)
{
    char v[24];
    memset(s, 0, sizeof(*s));
    snprintf(v, sizeof(v), "metric_%d", i % 7);
    set_label(s, "__name__", v);
    if (i % 4 == 0) set_label(s, "extra", i % 8 ? "a" : "");
    snprintf(v, sizeof(v), "host%d:9100", i % 13);
    set_label(s, "instance", v);
    snprintf(v, sizeof(v), "job%d", i % 3);
    set_label(s, "job", v);
    snprintf(v, sizeof(v), "%05d", i);
    set_label(s, "uid", v);
    int64_t t = (int64_t)(rnd_next(rng) % 1000000) - 500000;
    s->nc = (size_t)i % (MAXC + 1);
    for (size_t k = 0; k < s->nc; k++) {
        s->c[k].mint = t;
        s->c[k].maxt = t + (int64_t)(rnd_next(rng) % 100000);
        s->c[k].ref = tsdb_chunk_ref(k, 8 + rnd_next(rng) % 100000);
        t = s->c[k].maxt + (int64_t)(rnd_next(rng) % 1000);
    }
}

static int cmp_series(const void *a, const void *b)
{
    const tseries *x = a, *y = b;
    for (size_t i = 0; i < x->n && i < y->n; i++) {
        int c = strcmp(x->buf[i][0], y->buf[i][0]);
        if (!c) c = strcmp(x->buf[i][1], y->buf[i][1]);
        if (c) return c;
    }
    return (x->n > y->n) - (x->n < y->n);
}

/* Points the labels at the series' own strings again (after a move). */
static void relink(tseries *s)
{
    for (size_t k = 0; k < s->n; k++) {
        s->l[k].name = tsdb_str_c(s->buf[k][0]);
        s->l[k].value = tsdb_str_c(s->buf[k][1]);
    }
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, unique strings of all series (pointers into them). */
static size_t collect_symbols(tseries *s, size_t n, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s[i].n; j++)
            out[k++] = s[i].buf[j][0], out[k++] = s[i].buf[j][1];
    qsort(out, k, sizeof(*out), cmp_cstr);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || strcmp(out[u - 1], out[i])) out[u++] = out[i];
    return u;
}

static void write_index(const char *path, tseries *s, size_t n, uint64_t *refs)
{
    tsdb_index_writer w;
    core_err err;
    const char **syms = malloc(sizeof(*syms) * 2 * MAXL * (n + 1));
    size_t nsym = collect_symbols(s, n, syms);
    assert_int_equal(tsdb_index_writer_open(&w, path, &err), 0);
    for (size_t i = 0; i < nsym; i++)
        assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c(syms[i]), &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            tsdb_index_writer_add_series(&w, s[i].l, s[i].n, s[i].c, s[i].nc, &refs[i], &err), 0);
    assert_int_equal(tsdb_index_writer_close(&w, &err), 0);
    free(syms);
}

/* Everything the reader can tell, as text; -1 on the first error. */
static int walk(const tsdb_index_reader *r, core_sb *out, core_err *err)
{
    tsdb_str s;
    for (uint32_t i = 0; i < r->nsym; i++) {
        if (tsdb_index_symbol(r, i, &s, err) < 0) return -1;
        core_sb_addf(out, "sym %.*s\n", (int)s.len, s.p);
    }
    tsdb_postings all, p;
    if (tsdb_index_postings(r, tsdb_str_c(""), tsdb_str_c(""), &all, err) < 0) return -1;
    for (size_t i = 0; i < r->nentries; i++) {
        const tsdb_index_entry *e = &r->entries[i];
        if (tsdb_index_postings_at(r, e->off, &p, err) < 0) return -1;
        core_sb_addf(out, "%.*s=%.*s:", (int)e->name.len, e->name.p, (int)e->value.len, e->value.p);
        for (uint32_t k = 0; k < p.n; k++)
            core_sb_addf(out, " %u", tsdb_postings_at(&p, k));
        core_sb_addc(out, '\n');
    }
    tsdb_index_series se = {0};
    int rc = 0;
    for (uint32_t k = 0; k < all.n && rc == 0; k++) {
        rc = tsdb_index_series_read(r, tsdb_postings_at(&all, k), &se, err);
        for (size_t i = 0; rc == 0 && i < se.nlabels; i++)
            core_sb_addf(out, "%.*s ", (int)se.labels[i].value.len, se.labels[i].value.p);
        for (size_t i = 0; rc == 0 && i < se.nchunks; i++)
            core_sb_addf(out, "[%lld %lld %llx]", (long long)se.chunks[i].mint,
                         (long long)se.chunks[i].maxt, (unsigned long long)se.chunks[i].ref);
        core_sb_addc(out, '\n');
    }
    tsdb_index_series_destroy(&se);
    return rc;
}

typedef struct fixture {
    char *dir;
    char path[4096];
    tseries *s;
    uint64_t refs[NSERIES];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    uint64_t rng = 42;
    f->dir = tmpdir_new();
    snprintf(f->path, sizeof(f->path), "%s/index", f->dir);
    f->s = calloc(NSERIES, sizeof(*f->s));
    for (int i = 0; i < NSERIES; i++)
        make_series(&f->s[i], i, &rng);
    qsort(f->s, NSERIES, sizeof(*f->s), cmp_series);
    for (int i = 0; i < NSERIES; i++)
        relink(&f->s[i]);
    write_index(f->path, f->s, NSERIES, f->refs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tmpdir_free(f->dir);
    free(f->s);
    free(f);
    return 0;
}

static void check_series(const tsdb_index_reader *r, const fixture *f)
{
    tsdb_index_series se = {0};
    core_err err;
    for (int i = 0; i < NSERIES; i++) {
        const tseries *s = &f->s[i];
        assert_int_equal(tsdb_index_series_read(r, f->refs[i], &se, &err), 0);
        assert_int_equal(se.nlabels, s->n);
        for (size_t k = 0; k < s->n; k++) {
            assert_int_equal(tsdb_str_cmp(se.labels[k].name, s->l[k].name), 0);
            assert_int_equal(tsdb_str_cmp(se.labels[k].value, s->l[k].value), 0);
        }
        assert_int_equal(se.nchunks, s->nc);
        for (size_t k = 0; k < s->nc; k++) {
            assert_true(se.chunks[k].mint == s->c[k].mint && se.chunks[k].maxt == s->c[k].maxt);
            assert_true(se.chunks[k].ref == s->c[k].ref);
        }
    }
    tsdb_index_series_destroy(&se);
}

/* Every pair's postings list exactly the series carrying it. */
static void check_postings(const tsdb_index_reader *r, const fixture *f)
{
    core_err err;
    tsdb_postings p;
    for (int i = 0; i < NSERIES; i++)
        for (size_t k = 0; k < f->s[i].n; k++) {
            const tsdb_index_label *l = &f->s[i].l[k];
            assert_int_equal(tsdb_index_postings(r, l->name, l->value, &p, &err), 0);
            uint32_t want = 0, j = 0;
            for (int m = 0; m < NSERIES; m++) {
                const tseries *o = &f->s[m];
                for (size_t q = 0; q < o->n; q++)
                    if (!tsdb_str_cmp(o->l[q].name, l->name) &&
                        !tsdb_str_cmp(o->l[q].value, l->value)) {
                        assert_true(j < p.n && tsdb_postings_at(&p, j++) == f->refs[m]);
                        want++;
                    }
            }
            assert_int_equal(p.n, want);
        }
    assert_int_equal(tsdb_index_postings(r, tsdb_str_c(""), tsdb_str_c(""), &p, &err), 0);
    assert_int_equal(p.n, NSERIES);
}

static void check_names(const tsdb_index_reader *r)
{
    static const char *const names[] = {"__name__", "extra", "instance", "job", "uid"};
    static const size_t counts[] = {7, 2, 13, 3, NSERIES};
    size_t n, nv;
    const tsdb_index_name *ln = tsdb_index_label_names(r, &n);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tsdb_str_cmp(ln[i].name, tsdb_str_c(names[i])), 0);
        const tsdb_index_entry *e = tsdb_index_label_values(r, tsdb_str_c(names[i]), &nv);
        assert_non_null(e);
        assert_int_equal(nv, counts[i]);
        for (size_t k = 1; k < nv; k++)
            assert_true(tsdb_str_cmp(e[k - 1].value, e[k].value) < 0);
    }
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    tsdb_index_reader r;
    core_err err;
    assert_int_equal(tsdb_index_reader_open(&r, f->path, &err), 0);
    check_series(&r, f);
    check_postings(&r, f);
    check_names(&r);
    tsdb_postings p;
    size_t n;
    assert_null(tsdb_index_label_values(&r, tsdb_str_c("nope"), &n));
    assert_int_equal(n, 0);
    assert_int_equal(tsdb_index_postings(&r, tsdb_str_c("job"), tsdb_str_c("nope"), &p, &err), 0);
    assert_int_equal(p.n, 0);
    tsdb_str s;
    assert_int_equal(tsdb_index_symbol(&r, r.nsym, &s, &err), -1);
    tsdb_index_series se = {0};
    assert_int_equal(tsdb_index_series_read(&r, 0, &se, &err), -1);
    assert_int_equal(tsdb_index_series_read(&r, f->refs[0] + 1, &se, &err), -1);
    tsdb_index_series_destroy(&se);
    tsdb_index_reader_close(&r);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *b = file_read(f->dir, "index", &len);
    tsdb_index_reader r;
    core_err err;
    for (size_t k = 0; k < len; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, b, k);
        err.msg[0] = 0;
        assert_int_equal(tsdb_index_reader_open_mem(&r, cut, k, &err), -1);
        assert_true(err.msg[0] != 0);
        free(cut);
    }
    free(b);
}

/* Flips bit `bit` of every byte: the walk fails, or the byte was alignment
 * padding (a zero no CRC covers) and everything reads the same. */
static void flip_every_byte(const uint8_t *orig, size_t len, const char *want, unsigned bit)
{
    uint8_t *b = malloc(len);
    size_t same = 0;
    tsdb_index_reader r;
    core_err err;
    for (size_t k = 0; k < len; k++) {
        memcpy(b, orig, len);
        b[k] ^= (uint8_t)(1u << bit);
        core_sb got = CORE_SB_INIT;
        int rc = tsdb_index_reader_open_mem(&r, b, len, &err);
        if (rc == 0) {
            rc = walk(&r, &got, &err);
            tsdb_index_reader_close(&r);
        }
        if (rc == 0) {
            assert_string_equal(got.buf, want);
            assert_int_equal(orig[k], 0); /* padding is zeros */
            same++;
        }
        core_sb_destroy(&got);
    }
    assert_true(same < len / 8);
    free(b);
}

static void test_damaged(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *b = file_read(f->dir, "index", &len);
    tsdb_index_reader r;
    core_err err;
    core_sb want = CORE_SB_INIT;
    assert_int_equal(tsdb_index_reader_open_mem(&r, b, len, &err), 0);
    assert_int_equal(walk(&r, &want, &err), 0);
    size_t symbols = (size_t)r.toc.symbols, series = (size_t)f->refs[3] * 16;
    tsdb_index_reader_close(&r);
    flip_every_byte(b, len, want.buf, 0);
    flip_every_byte(b, len, want.buf, 7);
    b[symbols + 9] ^= 1;
    assert_int_equal(tsdb_index_reader_open_mem(&r, b, len, &err), -1);
    assert_non_null(strstr(err.msg, "symbol table at offset 5: checksum mismatch"));
    b[symbols + 9] ^= 1;
    b[series + 3] ^= 1;
    assert_int_equal(tsdb_index_reader_open_mem(&r, b, len, &err), 0);
    core_sb_reset(&want);
    assert_int_equal(walk(&r, &want, &err), -1);
    assert_non_null(strstr(err.msg, "series at offset"));
    tsdb_index_reader_close(&r);
    b[len - 1] ^= 1;
    assert_int_equal(tsdb_index_reader_open_mem(&r, b, len, &err), -1);
    assert_non_null(strstr(err.msg, "TOC at offset"));
    core_sb_destroy(&want);
    free(b);
}

static void test_empty(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char path[4096];
    snprintf(path, sizeof(path), "%s/index", dir);
    tsdb_index_writer w;
    tsdb_index_reader r;
    core_err err;
    tsdb_postings p;
    size_t n;
    assert_int_equal(tsdb_index_writer_open(&w, path, &err), 0);
    assert_int_equal(tsdb_index_writer_close(&w, &err), 0);
    assert_int_equal(tsdb_index_reader_open(&r, path, &err), 0);
    assert_int_equal(r.nsym, 0);
    tsdb_index_label_names(&r, &n);
    assert_int_equal(n, 0);
    assert_int_equal(tsdb_index_postings(&r, tsdb_str_c(""), tsdb_str_c(""), &p, &err), 0);
    assert_int_equal(p.n, 0);
    tsdb_index_reader_close(&r);
    assert_int_equal(tsdb_index_reader_open(&r, dir, &err), -1);
    tmpdir_free(dir);
}

static void test_writer_misuse(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char path[4096];
    snprintf(path, sizeof(path), "%s/index", dir);
    tsdb_index_writer w, again;
    core_err err;
    tsdb_index_label ab = {tsdb_str_c("a"), tsdb_str_c("b")};
    tsdb_index_label xb = {tsdb_str_c("x"), tsdb_str_c("b")};
    tsdb_index_label unsorted[2] = {{tsdb_str_c("b"), tsdb_str_c("b")}, ab};
    assert_int_equal(tsdb_index_writer_open(&w, path, &err), 0);
    assert_int_equal(tsdb_index_writer_open(&again, path, &err), -1); /* exists */
    assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c("b"), &err), 0);
    assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c("a"), &err), -1);
    assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c("b"), &err), -1);
    assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c("c"), &err), 0);
    assert_int_equal(tsdb_index_writer_add_series(&w, &xb, 1, NULL, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "symbol \"x\" not added"));
    assert_int_equal(tsdb_index_writer_add_series(&w, unsorted, 2, NULL, 0, NULL, &err), -1);
    assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c("d"), &err), -1);
    assert_int_equal(tsdb_index_writer_close(&w, &err), 0);
    tmpdir_free(dir);
}

static void test_series_order(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char path[4096];
    snprintf(path, sizeof(path), "%s/index", dir);
    tsdb_index_writer w;
    core_err err;
    tsdb_index_label ab = {tsdb_str_c("a"), tsdb_str_c("b")};
    tsdb_index_label ac = {tsdb_str_c("a"), tsdb_str_c("c")};
    assert_int_equal(tsdb_index_writer_open(&w, path, &err), 0);
    for (const char *sym = "abc"; *sym; sym++) {
        char one[2] = {*sym, 0};
        assert_int_equal(tsdb_index_writer_add_symbol(&w, tsdb_str_c(one), &err), 0);
    }
    assert_int_equal(tsdb_index_writer_add_series(&w, &ac, 1, NULL, 0, NULL, &err), 0);
    assert_int_equal(tsdb_index_writer_add_series(&w, &ab, 1, NULL, 0, NULL, &err), -1);
    assert_int_equal(tsdb_index_writer_add_series(&w, &ac, 1, NULL, 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "out-of-order series"));
    assert_int_equal(tsdb_index_writer_close(&w, &err), 0);
    tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_series_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
