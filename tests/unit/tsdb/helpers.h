/*
 * helpers.h - what the tsdb tests share: temporary directories, whole-file
 * reads and writes, and a seeded random generator (so failures repeat).
 * Include after "unit/unit.h" and "tsdb/tsdb.h".
 */
#ifndef TESTS_UNIT_TSDB_HELPERS_H
#define TESTS_UNIT_TSDB_HELPERS_H

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* xorshift64*: deterministic, good enough for test data. */
static inline uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static inline char *tmpdir_new(void)
{
    char *dir = strdup("/tmp/tsdb-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* Removes the (flat) directory and frees its name. */
static inline void tmpdir_free(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

static inline void rm_tree_at(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[4096 + 512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (strlen(path) >= 4096) break;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree_at(sub);
        else
            unlink(sub);
    }
    if (d) closedir(d);
    rmdir(path);
}

/* Removes a directory tree and frees its name. */
static inline void rm_tree(char *dir)
{
    rm_tree_at(dir);
    free(dir);
}

/* The samples of the series matching m[0..nm) in [mint, maxt] through a
 * querier over the database, checking that each series' times increase. */
static inline size_t db_count(tsdb_db *db, const tsdb_matcher *m, size_t nm, int64_t mint,
                              int64_t maxt)
{
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n, k = 0;
    core_err err = {{0}};
    assert_int_equal(tsdb_querier_select(&q, m, nm, mint, maxt, &arena, &out, &n, &err), 0);
    for (size_t s = 0; s < n; s++) {
        tsdb_qiter it;
        tsdb_qiter_init(&it, &out[s]);
        int64_t last = INT64_MIN;
        while (tsdb_qiter_next(&it)) {
            assert_true(it.t > last);
            last = it.t;
            k++;
        }
        assert_null(it.failure);
    }
    core_arena_destroy(&arena);
    tsdb_querier_close(&q);
    return k;
}

static inline uint8_t *file_read(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static inline void file_write(const char *dir, const char *name, const void *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

#endif
