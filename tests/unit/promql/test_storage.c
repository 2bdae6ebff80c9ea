/*
 * test_storage.c - label names and values through pql_storage: the
 * in-memory store (per-series time ranges), the fallback over select() for a
 * storage without its own lookups, and the TSDB blocks adapter (two blocks
 * written here with tsdb's writers; time ranges pick whole blocks, matchers
 * pick series, tombstones and regexes included).
 */
#include "unit/unit.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "promql/storage.h"
#include "tsdb/tsdb.h"

static core_labels *mk(const char *name, const char *k1, const char *v1, const char *k2,
                       const char *v2)
{
    core_label pairs[3] = {{CORE_METRIC_NAME, name}, {k1, v1}, {k2, v2}};
    return core_labels_new(pairs, k1 ? (k2 ? 3 : 2) : 1);
}

static void add(pql_mem_storage *ms, core_labels *ls, int64_t t, double v)
{
    pql_mem_storage_add(ms, ls, t, v);
    free(ls);
}

/* Parses a selector and returns its matchers. */
static const pql_matcher *sel(const char *q, core_arena *a, size_t *n)
{
    core_err err;
    pql_node *node = pql_parse(q, NULL, a, &err);
    assert_non_null(node);
    assert_int_equal(node->kind, PQL_NODE_VECTOR);
    *n = node->u.vector.nmatchers;
    return node->u.vector.matchers;
}

/* Joins a string list with commas for compact assertions. */
static const char *join(const char **v, size_t n, core_arena *a)
{
    core_sb sb = CORE_SB_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(&sb, ',');
        core_sb_adds(&sb, v[i]);
    }
    const char *s = core_arena_strdup(a, sb.buf ? sb.buf : "");
    core_sb_destroy(&sb);
    return s;
}

static const char *names(pql_storage *st, const char *q, int64_t mint, int64_t maxt, core_arena *a)
{
    size_t nm = 0;
    const pql_matcher *m = q ? sel(q, a, &nm) : NULL;
    const char **v;
    size_t n;
    core_err err;
    assert_int_equal(pql_storage_label_names(st, m, nm, mint, maxt, a, &v, &n, &err), 0);
    return join(v, n, a);
}

static const char *values(pql_storage *st, const char *name, const char *q, int64_t mint,
                          int64_t maxt, core_arena *a)
{
    size_t nm = 0;
    const pql_matcher *m = q ? sel(q, a, &nm) : NULL;
    const char **v;
    size_t n;
    core_err err;
    assert_int_equal(pql_storage_label_values(st, name, m, nm, mint, maxt, a, &v, &n, &err), 0);
    return join(v, n, a);
}

static pql_mem_storage *mem_fixture(void)
{
    pql_mem_storage *ms = pql_mem_storage_new();
    add(ms, mk("up", "job", "api", "instance", "a"), 1000, 1);
    add(ms, mk("up", "job", "web", "instance", "b"), 1000, 1);
    add(ms, mk("up", "job", "web", "instance", "b"), 9000, 1);
    add(ms, mk("temp", "zone", "eu", NULL, NULL), 5000, 20);
    add(ms, mk("late", "job", "batch", NULL, NULL), 20000, 3);
    return ms;
}

static void test_mem(void **state)
{
    (void)state;
    pql_mem_storage *ms = mem_fixture();
    pql_storage *st = pql_mem_storage_iface(ms);
    core_arena a = {0};
    assert_string_equal(names(st, NULL, INT64_MIN, INT64_MAX, &a), "__name__,instance,job,zone");
    assert_string_equal(names(st, "up", INT64_MIN, INT64_MAX, &a), "__name__,instance,job");
    assert_string_equal(names(st, "{job=~\"b.*\"}", INT64_MIN, INT64_MAX, &a), "__name__,job");
    /* A series counts when it has a sample in the range. */
    assert_string_equal(names(st, NULL, 4000, 6000, &a), "__name__,zone");
    assert_string_equal(names(st, NULL, 30000, 40000, &a), "");
    assert_string_equal(values(st, "job", NULL, INT64_MIN, INT64_MAX, &a), "api,batch,web");
    assert_string_equal(values(st, "__name__", NULL, INT64_MIN, INT64_MAX, &a), "late,temp,up");
    assert_string_equal(values(st, "job", "up", 8000, 10000, &a), "web");
    assert_string_equal(
        values(st, "job", "{__name__=~\".+\", instance!=\"b\"}", INT64_MIN, INT64_MAX, &a),
        "api,batch");
    assert_string_equal(values(st, "nope", NULL, INT64_MIN, INT64_MAX, &a), "");
    /* A regex that does not compile is an error, not a crash. */
    pql_matcher bad = {PQL_MATCH_RE, "job", "(", 1, false};
    const char **v;
    size_t n;
    core_err err;
    assert_int_equal(pql_storage_label_values(st, "job", &bad, 1, 0, 1, &a, &v, &n, &err), -1);
    assert_non_null(strstr(err.msg, "error parsing regexp"));
    core_arena_destroy(&a);
    pql_mem_storage_free(ms);
}

/* A storage with only select(): the generic fallback answers. */
typedef struct only_select {
    pql_storage iface;
    pql_storage *inner;
} only_select;

static int os_select(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                     core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    only_select *o = (only_select *)s;
    return o->inner->select(o->inner, m, nm, mint, maxt, arena, out, nout, err);
}

static void test_fallback(void **state)
{
    (void)state;
    pql_mem_storage *ms = mem_fixture();
    only_select os = {.iface = {.select = os_select}, .inner = pql_mem_storage_iface(ms)};
    core_arena a = {0};
    assert_string_equal(names(&os.iface, NULL, INT64_MIN, INT64_MAX, &a),
                        "__name__,instance,job,zone");
    assert_string_equal(names(&os.iface, "{zone=\"eu\"}", INT64_MIN, INT64_MAX, &a),
                        "__name__,zone");
    assert_string_equal(values(&os.iface, "job", NULL, 0, 2000, &a), "api,web");
    assert_string_equal(values(&os.iface, "instance", "up", INT64_MIN, INT64_MAX, &a), "a,b");
    core_arena_destroy(&a);
    pql_mem_storage_free(ms);
}

/* ---- Blocks */

typedef struct bseries {
    const char *labels[8]; /* name, value pairs sorted by name, NULL-terminated */
    int64_t t0;
    int n;
} bseries;

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Writes a block of `ns` series (sorted by labels by the caller) into
 * root/name with samples every second from each series' t0. */
static void write_block(const char *root, const char *name, const bseries *s, size_t ns,
                        int64_t mint, int64_t maxt)
{
    core_err err = {{0}};
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/chunks", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    tsdb_chunk_writer cw;
    assert_int_equal(tsdb_chunk_writer_open(&cw, path, 0, &err), 0);
    tsdb_chunk_meta cm[16];
    const char *syms[64];
    size_t nsym = 0;
    for (size_t i = 0; i < ns; i++) {
        tsdb_xor x;
        tsdb_xor_init(&x);
        for (int k = 0; k < s[i].n; k++)
            assert_int_equal(tsdb_xor_append(&x, s[i].t0 + k * 1000, k, &err), 0);
        size_t len;
        const uint8_t *d = tsdb_xor_bytes(&x, &len);
        assert_int_equal(tsdb_chunk_writer_write(&cw, TSDB_ENC_XOR, d, len, &cm[i].ref, &err), 0);
        cm[i].mint = s[i].t0;
        cm[i].maxt = s[i].t0 + (s[i].n - 1) * 1000;
        tsdb_xor_destroy(&x);
        for (int k = 0; s[i].labels[k]; k++)
            syms[nsym++] = s[i].labels[k];
    }
    assert_int_equal(tsdb_chunk_writer_close(&cw, &err), 0);
    qsort(syms, nsym, sizeof *syms, cmp_cstr);
    snprintf(path, sizeof path, "%s/index", dir);
    tsdb_index_writer iw;
    assert_int_equal(tsdb_index_writer_open(&iw, path, &err), 0);
    for (size_t i = 0; i < nsym; i++)
        if (i == 0 || strcmp(syms[i], syms[i - 1]) != 0)
            assert_int_equal(tsdb_index_writer_add_symbol(&iw, tsdb_str_c(syms[i]), &err), 0);
    for (size_t i = 0; i < ns; i++) {
        tsdb_index_label l[3];
        size_t nl = 0;
        for (; s[i].labels[2 * nl]; nl++)
            l[nl] = (tsdb_index_label){tsdb_str_c(s[i].labels[2 * nl]),
                                       tsdb_str_c(s[i].labels[2 * nl + 1])};
        assert_int_equal(tsdb_index_writer_add_series(&iw, l, nl, &cm[i], 1, NULL, &err), 0);
    }
    assert_int_equal(tsdb_index_writer_close(&iw, &err), 0);
    tsdb_block_meta m;
    memset(&m, 0, sizeof m);
    m.mint = mint;
    m.maxt = maxt;
    m.stats.num_series = ns;
    m.stats.num_chunks = ns;
    m.level = 1;
    m.version = 1;
    assert_int_equal(tsdb_block_meta_write(&m, dir, NULL, &err), 0);
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char sub[4096];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
    closedir(d);
    rmdir(path);
}

static void test_tsdb(void **state)
{
    (void)state;
    char root[] = "/tmp/pql-storage-XXXXXX";
    assert_non_null(mkdtemp(root));
    /* Block A covers [0, 10000), block B [10000, 20000). */
    bseries a[] = {
        {{"__name__", "temp", "zone", "eu", NULL}, 0, 5},
        {{"__name__", "up", "instance", "a", "job", "api", NULL}, 0, 5},
        {{"__name__", "up", "instance", "b", "job", "web", NULL}, 5000, 5},
    };
    bseries b[] = {
        {{"__name__", "late", "job", "batch", NULL}, 10000, 5},
        {{"__name__", "up", "instance", "b", "job", "web", NULL}, 10000, 5},
    };
    write_block(root, "01AAAAAAAAAAAAAAAAAAAAAAAA", a, 3, 0, 10000);
    write_block(root, "01BBBBBBBBBBBBBBBBBBBBBBBB", b, 2, 10000, 20000);
    core_err err;
    pql_tsdb_storage *ts = pql_tsdb_storage_open(root, &err);
    assert_non_null(ts);
    pql_storage *st = pql_tsdb_storage_iface(ts);
    core_arena ar = {0};
    assert_string_equal(names(st, NULL, INT64_MIN, INT64_MAX, &ar), "__name__,instance,job,zone");
    /* Whole blocks: [0, 100] overlaps only A, so names of A's series; the
     * series of A outside that range still count, as upstream's blocks do. */
    assert_string_equal(names(st, NULL, 0, 100, &ar), "__name__,instance,job,zone");
    assert_string_equal(names(st, NULL, 12000, 13000, &ar), "__name__,instance,job");
    /* The closed interval touches B at its first millisecond, never A's end. */
    assert_string_equal(values(st, "__name__", NULL, 10000, 10000, &ar), "late,up");
    assert_string_equal(values(st, "__name__", NULL, 9999, 9999, &ar), "temp,up");
    assert_string_equal(values(st, "__name__", NULL, 30000, 40000, &ar), "");
    assert_string_equal(values(st, "job", NULL, INT64_MIN, INT64_MAX, &ar), "api,batch,web");
    assert_string_equal(values(st, "job", "up", INT64_MIN, INT64_MAX, &ar), "api,web");
    assert_string_equal(values(st, "job", "{job=~\"w.*|b.*\"}", INT64_MIN, INT64_MAX, &ar),
                        "batch,web");
    assert_string_equal(values(st, "instance", "up{job!=\"api\"}", 0, 5000, &ar), "b");
    assert_string_equal(names(st, "{zone!=\"\"}", INT64_MIN, INT64_MAX, &ar), "__name__,zone");
    assert_string_equal(names(st, "late", 0, 9000, &ar), "");
    assert_string_equal(values(st, "nope", NULL, INT64_MIN, INT64_MAX, &ar), "");
    assert_string_equal(values(st, "zone", "up", INT64_MIN, INT64_MAX, &ar), "");
    pql_tsdb_storage_free(ts);

    /* A tombstone over every sample of up{instance="a"} drops it from the
     * lookups with matchers (see storage_tsdb.c); the index tables without
     * matchers still hold its values, as upstream's do. */
    tsdb_tombstones t;
    tsdb_tombstones_init(&t);
    tsdb_index_reader ir;
    char path[4200];
    snprintf(path, sizeof path, "%s/01AAAAAAAAAAAAAAAAAAAAAAAA/index", root);
    assert_int_equal(tsdb_index_reader_open(&ir, path, &err), 0);
    tsdb_postings p;
    assert_int_equal(tsdb_index_postings(&ir, tsdb_str_c("instance"), tsdb_str_c("a"), &p, &err),
                     0);
    assert_int_equal(p.n, 1);
    tsdb_tombstones_add(&t, tsdb_postings_at(&p, 0), INT64_MIN, INT64_MAX);
    tsdb_index_reader_close(&ir);
    snprintf(path, sizeof path, "%s/01AAAAAAAAAAAAAAAAAAAAAAAA", root);
    assert_int_equal(tsdb_tombstones_write(&t, path, NULL, &err), 0);
    tsdb_tombstones_destroy(&t);
    ts = pql_tsdb_storage_open(root, &err);
    assert_non_null(ts);
    st = pql_tsdb_storage_iface(ts);
    assert_string_equal(values(st, "job", "up", INT64_MIN, INT64_MAX, &ar), "web");
    assert_string_equal(values(st, "job", NULL, INT64_MIN, INT64_MAX, &ar), "api,batch,web");
    pql_tsdb_storage_free(ts);
    core_arena_destroy(&ar);
    rm_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_tsdb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
