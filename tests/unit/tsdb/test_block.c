/*
 * test_block.c - meta.json, tombstones and the block opener: ULID round
 * trips, meta.json bytes as upstream writes them and errors naming the
 * field, tombstone interval merging as upstream's Intervals.Add, file round
 * trips, every truncation and bit flip of a tombstones file giving an error
 * (never a crash), and a block written with our writers opened and verified.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

#include <sys/stat.h>

static const char META_TEXT[] = "{\n"
                                "\t\"ulid\": \"01M8CEFGM1Z8KE716EKZ42DVH9\",\n"
                                "\t\"minTime\": 1700000000000,\n"
                                "\t\"maxTime\": 1700000030001,\n"
                                "\t\"stats\": {\n"
                                "\t\t\"numSamples\": 3,\n"
                                "\t\t\"numSeries\": 2,\n"
                                "\t\t\"numChunks\": 2\n"
                                "\t},\n"
                                "\t\"compaction\": {\n"
                                "\t\t\"level\": 1,\n"
                                "\t\t\"sources\": [\n"
                                "\t\t\t\"01M8CEFGM1Z8KE716EKZ42DVH9\"\n"
                                "\t\t]\n"
                                "\t},\n"
                                "\t\"version\": 1\n"
                                "}";

static void test_ulid(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_ulid u;
    char s[TSDB_ULID_LEN + 1];
    assert_int_equal(tsdb_ulid_parse("01M8CEFGM1Z8KE716EKZ42DVH9", 26, &u, &err), 0);
    tsdb_ulid_format(&u, s);
    assert_string_equal(s, "01M8CEFGM1Z8KE716EKZ42DVH9");
    assert_int_equal(tsdb_ulid_parse("01m8cefgm1z8ke716ekz42dvh9", 26, &u, &err), 0);
    tsdb_ulid_format(&u, s);
    assert_string_equal(s, "01M8CEFGM1Z8KE716EKZ42DVH9");
    assert_int_equal(tsdb_ulid_parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, &u, &err), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(u.b[i], 0xff);
    assert_int_equal(tsdb_ulid_parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, &u, &err), -1);
    assert_int_equal(tsdb_ulid_parse("01M8CEFGM1Z8KE716EKZ42DVHU", 26, &u, &err), -1);
    assert_int_equal(tsdb_ulid_parse("01M8CEFGM1Z8KE716EKZ42DVH", 25, &u, &err), -1);
    uint64_t rng = 42;
    for (int k = 0; k < 200; k++) {
        tsdb_ulid a, b;
        for (int i = 0; i < 16; i++)
            a.b[i] = (uint8_t)rnd_next(&rng);
        tsdb_ulid_format(&a, s);
        assert_int_equal(tsdb_ulid_parse(s, 26, &b, &err), 0);
        assert_memory_equal(a.b, b.b, 16);
    }
}

static void test_meta_roundtrip(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_block_meta m;
    assert_int_equal(tsdb_block_meta_parse(&m, META_TEXT, strlen(META_TEXT), "meta.json", &err), 0);
    assert_int_equal(m.mint, 1700000000000);
    assert_int_equal(m.maxt, 1700000030001);
    assert_int_equal(m.stats.num_samples, 3);
    assert_int_equal(m.stats.num_series, 2);
    assert_int_equal(m.stats.num_chunks, 2);
    assert_int_equal(m.level, 1);
    assert_int_equal(m.nsources, 1);
    assert_memory_equal(m.sources[0].b, m.ulid.b, 16);
    core_sb out = CORE_SB_INIT;
    tsdb_block_meta_format(&m, &out);
    assert_int_equal(out.len, strlen(META_TEXT));
    assert_memory_equal(out.buf, META_TEXT, out.len);

    /* Every optional field, written and read back. */
    m.stats = (tsdb_block_stats){0};
    m.deletable = m.failed = true;
    m.nparents = 2;
    m.parents = calloc(2, sizeof(*m.parents));
    m.parents[1].mint = -5;
    m.parents[1].maxt = INT64_MAX;
    m.nhints = 1;
    m.hints = calloc(1, sizeof(char *));
    m.hints[0] = strdup("a<b>&\"\\\n\x01");
    core_sb_reset(&out);
    tsdb_block_meta_format(&m, &out);
    core_sb_addc(&out, 0);
    assert_non_null(strstr(out.buf, "\t\"stats\": {},\n"));
    assert_non_null(strstr(out.buf, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\""));
    tsdb_block_meta m2;
    assert_int_equal(tsdb_block_meta_parse(&m2, out.buf, out.len - 1, "x", &err), 0);
    assert_true(m2.deletable && m2.failed);
    assert_int_equal(m2.nparents, 2);
    assert_int_equal(m2.parents[1].mint, -5);
    assert_int_equal(m2.parents[1].maxt, INT64_MAX);
    assert_string_equal(m2.hints[0], m.hints[0]);
    tsdb_block_meta_destroy(&m2);

    /* Through a directory. */
    char *dir = tmpdir_new();
    int64_t size = 0;
    assert_int_equal(tsdb_block_meta_write(&m, dir, &size, &err), 0);
    assert_int_equal(size, (int64_t)out.len - 1);
    assert_int_equal(tsdb_block_meta_read(&m2, dir, &size, &err), 0);
    assert_int_equal(m2.nhints, 1);
    tsdb_block_meta_destroy(&m2);
    size_t len;
    free(file_read(dir, "meta.json", &len));
    assert_int_equal(len, out.len - 1);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/meta.json.tmp", dir);
    assert_int_equal(access(tmp, F_OK), -1);
    tmpdir_free(dir);
    tsdb_block_meta_destroy(&m);
    core_sb_destroy(&out);
}

static void expect_meta_error(const char *text, const char *want)
{
    core_err err = {{0}};
    tsdb_block_meta m;
    assert_int_equal(tsdb_block_meta_parse(&m, text, strlen(text), "b/meta.json", &err), -1);
    if (!strstr(err.msg, want)) fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
    assert_non_null(strstr(err.msg, "b/meta.json"));
}

static void test_meta_errors(void **state)
{
    (void)state;
    expect_meta_error("", "invalid JSON");
    expect_meta_error("[1]", "not an object");
    expect_meta_error("{\"version\": 2}", "version");
    expect_meta_error("{}", "version");
    expect_meta_error("{\"version\": 1, \"minTime\": \"1\"}", "minTime");
    expect_meta_error("{\"version\": 1, \"maxTime\": 1.5}", "maxTime");
    expect_meta_error("{\"version\": 1, \"ulid\": \"zz\"}", "ulid");
    expect_meta_error("{\"version\": 1, \"stats\": {\"numSeries\": -1}}", "stats.numSeries");
    expect_meta_error(
        "{\"version\": 1, \"compaction\": {\"sources\": [\"01M8CEFGM1Z8KE716EKZ42DVH9\","
        " 5]}}",
        "compaction.sources[1]");
    expect_meta_error("{\"version\": 1, \"compaction\": {\"parents\": [{\"minTime\": true}]}}",
                      "compaction.parents[0].minTime");
    expect_meta_error("{\"version\": 1, \"compaction\": {\"hints\": [1]}}", "compaction.hints[0]");
    /* Go's lenience: case-insensitive keys, unknown keys, null. */
    core_err err = {{0}};
    tsdb_block_meta m;
    const char *ok = "{\"VERSION\": 1, \"mintime\": 7, \"extra\": [1], \"stats\": null}";
    assert_int_equal(tsdb_block_meta_parse(&m, ok, strlen(ok), "m", &err), 0);
    assert_int_equal(m.mint, 7);
    tsdb_block_meta_destroy(&m);
    /* Every truncation of a valid file fails cleanly. */
    for (size_t n = 0; n < strlen(META_TEXT); n++) {
        assert_int_equal(tsdb_block_meta_parse(&m, META_TEXT, n, "m", &err), -1);
    }
}

static void test_intervals(void **state)
{
    (void)state;
    tsdb_tombstones t;
    tsdb_tombstones_init(&t);
    tsdb_tombstones_add(&t, 5, 10, 20);
    tsdb_tombstones_add(&t, 5, 30, 40);
    tsdb_tombstones_add(&t, 5, 0, 2);
    assert_int_equal(tsdb_tombstones_get(&t, 5)->n, 3);
    tsdb_tombstones_add(&t, 5, 21, 29); /* adjacent on both sides: one interval */
    const tsdb_stone *s = tsdb_tombstones_get(&t, 5);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->iv[0].mint, 0);
    assert_int_equal(s->iv[0].maxt, 2);
    assert_int_equal(s->iv[1].mint, 10);
    assert_int_equal(s->iv[1].maxt, 40);
    tsdb_tombstones_add(&t, 5, INT64_MIN, 5);
    tsdb_tombstones_add(&t, 5, 35, INT64_MAX);
    s = tsdb_tombstones_get(&t, 5);
    assert_int_equal(s->n, 2);
    assert_true(s->iv[0].mint == INT64_MIN && s->iv[0].maxt == 5);
    assert_true(s->iv[1].mint == 10 && s->iv[1].maxt == INT64_MAX);
    tsdb_tombstones_add(&t, 1, 1, 1);
    tsdb_tombstones_add(&t, 9, 1, 1);
    assert_int_equal(t.s[0].ref, 1);
    assert_int_equal(t.s[2].ref, 9);
    assert_null(tsdb_tombstones_get(&t, 2));
    assert_int_equal(tsdb_tombstones_total(&t), 4);
    tsdb_tombstones_destroy(&t);
}

static void test_tombstones_file(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_tombstones t, u;
    tsdb_tombstones_init(&t);
    core_sb b = CORE_SB_INIT;
    tsdb_tombstones_encode(&t, &b);
    static const uint8_t empty[] = {0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof(empty));
    assert_memory_equal(b.buf, empty, sizeof(empty));

    uint64_t rng = 7;
    for (int i = 0; i < 100; i++) {
        int64_t a = (int64_t)(rnd_next(&rng) % 100000) - 50000;
        tsdb_tombstones_add(&t, rnd_next(&rng) % 40, a, a + (int64_t)(rnd_next(&rng) % 500));
    }
    core_sb_reset(&b);
    tsdb_tombstones_encode(&t, &b);
    tsdb_tombstones_init(&u);
    assert_int_equal(tsdb_tombstones_decode(&u, (uint8_t *)b.buf, b.len, &err), 0);
    assert_int_equal(u.n, t.n);
    for (size_t i = 0; i < t.n; i++) {
        assert_int_equal(u.s[i].ref, t.s[i].ref);
        assert_int_equal(u.s[i].n, t.s[i].n);
        assert_memory_equal(u.s[i].iv, t.s[i].iv, t.s[i].n * sizeof(tsdb_interval));
    }
    tsdb_tombstones_destroy(&u);

    /* Every truncation fails; every bit flip fails or (none can) reads the same. */
    uint8_t *p = malloc(b.len);
    for (size_t n = 0; n < b.len; n++) {
        tsdb_tombstones_init(&u);
        memcpy(p, b.buf, n);
        assert_int_equal(tsdb_tombstones_decode(&u, p, n, &err), -1);
        tsdb_tombstones_destroy(&u);
    }
    for (size_t i = 0; i < b.len * 8; i++) {
        memcpy(p, b.buf, b.len);
        p[i / 8] ^= (uint8_t)(1u << i % 8);
        tsdb_tombstones_init(&u);
        assert_int_equal(tsdb_tombstones_decode(&u, p, b.len, &err), -1);
        tsdb_tombstones_destroy(&u);
    }
    free(p);

    /* A CRC-correct file with a truncated entry. */
    static uint8_t torn[] = {0x01, 0x30, 0xba, 0x30, 0x01, 0x05, 0x80, 0, 0, 0, 0};
    uint32_t crc = tsdb_crc32c(0, torn + 5, 2);
    for (int k = 0; k < 4; k++)
        torn[7 + k] = (uint8_t)(crc >> (24 - 8 * k));
    tsdb_tombstones_init(&u);
    assert_int_equal(tsdb_tombstones_decode(&u, torn, sizeof(torn), &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    tsdb_tombstones_destroy(&u);

    /* Files: missing means none; written and read back. */
    char *dir = tmpdir_new();
    int64_t size = -1;
    assert_int_equal(tsdb_tombstones_read(&u, dir, &size, &err), 0);
    assert_int_equal(u.n, 0);
    assert_int_equal(size, 0);
    assert_int_equal(tsdb_tombstones_write(&t, dir, &size, &err), 0);
    assert_int_equal(size, (int64_t)b.len);
    assert_int_equal(tsdb_tombstones_read(&u, dir, &size, &err), 0);
    assert_int_equal(tsdb_tombstones_total(&u), tsdb_tombstones_total(&t));
    tsdb_tombstones_destroy(&u);
    tmpdir_free(dir);
    tsdb_tombstones_destroy(&t);
    core_sb_destroy(&b);
}

/* A block of 3 series, one chunk each, written with our writers. */
static void write_block(const char *dir, tsdb_block_meta *m)
{
    core_err err = {{0}};
    char path[4096];
    snprintf(path, sizeof(path), "%s/chunks", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    tsdb_chunk_writer cw;
    assert_int_equal(tsdb_chunk_writer_open(&cw, path, 0, &err), 0);
    tsdb_chunk_meta cm[3];
    for (int s = 0; s < 3; s++) {
        tsdb_xor x;
        tsdb_xor_init(&x);
        for (int k = 0; k <= s; k++)
            assert_int_equal(tsdb_xor_append(&x, 1000 + k, k, &err), 0);
        size_t len;
        const uint8_t *d = tsdb_xor_bytes(&x, &len);
        assert_int_equal(tsdb_chunk_writer_write(&cw, TSDB_ENC_XOR, d, len, &cm[s].ref, &err), 0);
        cm[s].mint = 1000;
        cm[s].maxt = 1000 + s;
        tsdb_xor_destroy(&x);
    }
    assert_int_equal(tsdb_chunk_writer_close(&cw, &err), 0);
    snprintf(path, sizeof(path), "%s/index", dir);
    tsdb_index_writer iw;
    assert_int_equal(tsdb_index_writer_open(&iw, path, &err), 0);
    const char *syms[] = {"0", "1", "2", "a"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsdb_index_writer_add_symbol(&iw, tsdb_str_c(syms[i]), &err), 0);
    for (int s = 0; s < 3; s++) {
        tsdb_index_label l = {tsdb_str_c("a"), tsdb_str_c(syms[s])};
        assert_int_equal(tsdb_index_writer_add_series(&iw, &l, 1, &cm[s], 1, NULL, &err), 0);
    }
    assert_int_equal(tsdb_index_writer_close(&iw, &err), 0);
    memset(m, 0, sizeof(*m));
    m->mint = 1000;
    m->maxt = 1003;
    m->stats.num_series = 3;
    m->stats.num_chunks = 3;
    m->stats.num_samples = 6;
    m->level = 1;
    assert_int_equal(tsdb_block_meta_write(m, dir, NULL, &err), 0);
}

static void rm_block(char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/chunks", dir);
    char *c = strdup(path);
    tmpdir_free(c);
    tmpdir_free(dir);
}

static void test_block_open(void **state)
{
    (void)state;
    core_err err = {{0}};
    char *dir = tmpdir_new();
    tsdb_block_meta m;
    write_block(dir, &m);
    tsdb_block b;
    tsdb_block_stats st;
    assert_int_equal(tsdb_block_open(&b, dir, &err), 0);
    assert_int_equal(b.tombstones_size, 0);
    assert_int_equal(tsdb_block_verify(&b, &st, &err), 0);
    assert_int_equal(st.num_series, 3);
    assert_int_equal(st.num_chunks, 3);
    assert_int_equal(st.num_samples, 6);
    tsdb_block_close(&b);

    /* Tombstones: a known series is fine, an unknown one fails verification. */
    tsdb_tombstones t;
    tsdb_tombstones_init(&t);
    tsdb_postings all;
    assert_int_equal(tsdb_block_open(&b, dir, &err), 0);
    assert_int_equal(tsdb_index_postings(&b.index, tsdb_str_c(""), tsdb_str_c(""), &all, &err), 0);
    tsdb_tombstones_add(&t, tsdb_postings_at(&all, 1), 1000, 1001);
    tsdb_block_close(&b);
    assert_int_equal(tsdb_tombstones_write(&t, dir, NULL, &err), 0);
    assert_int_equal(tsdb_block_open(&b, dir, &err), 0);
    assert_int_equal(tsdb_block_verify(&b, &st, &err), 0);
    assert_int_equal(st.num_tombstones, 1);
    tsdb_block_close(&b);
    tsdb_tombstones_add(&t, 12345, 1, 2);
    assert_int_equal(tsdb_tombstones_write(&t, dir, NULL, &err), 0);
    assert_int_equal(tsdb_block_open(&b, dir, &err), 0);
    assert_int_equal(tsdb_block_verify(&b, &st, &err), -1);
    assert_non_null(strstr(err.msg, "12345"));
    tsdb_block_close(&b);
    tsdb_tombstones_destroy(&t);

    /* A meta range that does not cover the chunks fails verification. */
    m.maxt = 1002;
    assert_int_equal(tsdb_block_meta_write(&m, dir, NULL, &err), 0);
    assert_int_equal(tsdb_block_open(&b, dir, &err), 0);
    assert_int_equal(tsdb_block_verify(&b, &st, &err), -1);
    tsdb_block_close(&b);

    /* Broken parts fail to open, naming the part. */
    file_write(dir, "tombstones", "\x01\x30\xba\x30\x01", 5);
    assert_int_equal(tsdb_block_open(&b, dir, &err), -1);
    assert_non_null(strstr(err.msg, "(tombstones)"));
    file_write(dir, "index", "junk", 4);
    assert_int_equal(tsdb_block_open(&b, dir, &err), -1);
    assert_non_null(strstr(err.msg, "(index)"));
    file_write(dir, "meta.json", "{", 1);
    assert_int_equal(tsdb_block_open(&b, dir, &err), -1);
    assert_non_null(strstr(err.msg, "(meta)"));
    char path[4096];
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    unlink(path);
    assert_int_equal(tsdb_block_open(&b, dir, &err), -1);
    tsdb_block_close(&b); /* harmless on a block that failed to open */
    rm_block(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid),
        cmocka_unit_test(test_meta_roundtrip),
        cmocka_unit_test(test_meta_errors),
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_tombstones_file),
        cmocka_unit_test(test_block_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
