/*
 * tsdb_db_tool.c - drives server/tsdb's database for the interop and crash
 * tests.
 *
 *   tsdb_db_tool write <dir> <nseries> <from ms> <to ms> <step ms> [options]
 *       appends one sample per series at every step in [from, to), one commit
 *       per step, and prints "committed <t>" after each commit (flushed, so a
 *       test that kills the process knows what was committed).  Options:
 *       --compact (run compaction after every commit that crosses an hour),
 *       --wal-compression=none|snappy|zstd, --retention-ms=<ms>.
 *   tsdb_db_tool check <dir> <nseries> <from ms> <through ms> <step ms>
 *       opens the database and checks that every series holds exactly the
 *       samples of [from, through] with the values `write` gives them.
 *
 * Series i is tsdb_test_metric{series="<i>",group="<i % 7>"} and its value at
 * t is i * 1000 + t / 1000, so any sample can be checked from outside.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static core_labels *labels_of(int i)
{
    char s[16], g[16];
    snprintf(s, sizeof s, "%d", i);
    snprintf(g, sizeof g, "%d", i % 7);
    core_label p[] = {{"__name__", "tsdb_test_metric"}, {"series", s}, {"group", g}};
    return core_labels_new(p, 3);
}

static double value_of(int i, int64_t t)
{
    return (double)i * 1000 + (double)(t / 1000);
}

static int cmd_write(int argc, char **argv)
{
    if (argc < 7) return 2;
    const char *dir = argv[2];
    int n = atoi(argv[3]);
    int64_t from = strtoll(argv[4], NULL, 10), to = strtoll(argv[5], NULL, 10);
    int64_t step = strtoll(argv[6], NULL, 10);
    bool compact = false;
    tsdb_db_opts o = {0};
    for (int i = 7; i < argc; i++) {
        if (!strcmp(argv[i], "--compact"))
            compact = true;
        else if (!strcmp(argv[i], "--wal-compression=snappy"))
            o.wal_compression = TSDB_WAL_COMPRESS_SNAPPY;
        else if (!strcmp(argv[i], "--wal-compression=zstd"))
            o.wal_compression = TSDB_WAL_COMPRESS_ZSTD;
        else if (!strncmp(argv[i], "--retention-ms=", 15))
            o.retention_ms = strtoll(argv[i] + 15, NULL, 10);
    }
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &o, &err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    uint64_t *refs = calloc((size_t)n, sizeof(*refs));
    for (int64_t t = from; t < to; t += step) {
        tsdb_appender *a = tsdb_db_appender(db);
        for (int i = 0; i < n; i++) {
            core_labels *ls = refs[i] ? NULL : labels_of(i);
            int rc = tsdb_appender_add(a, &refs[i], ls, t, value_of(i, t), &err);
            free(ls);
            if (rc != 0) {
                fprintf(stderr, "append series %d at %" PRId64 ": %d %s\n", i, t, rc, err.msg);
                tsdb_appender_rollback(a);
                return 1;
            }
        }
        if (tsdb_appender_commit(a, &err) < 0) {
            fprintf(stderr, "commit: %s\n", err.msg);
            return 1;
        }
        printf("committed %" PRId64 "\n", t);
        fflush(stdout);
        if (compact && t / 3600000 != (t + step) / 3600000 && tsdb_db_compact(db, &err) < 0) {
            fprintf(stderr, "compact: %s\n", err.msg);
            return 1;
        }
    }
    free(refs);
    if (tsdb_db_close(db, &err) < 0) {
        fprintf(stderr, "close: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    if (argc < 7) return 2;
    const char *dir = argv[2];
    int n = atoi(argv[3]);
    int64_t from = strtoll(argv[4], NULL, 10), through = strtoll(argv[5], NULL, 10);
    int64_t step = strtoll(argv[6], NULL, 10);
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t ns;
    int bad = 0;
    if (tsdb_querier_select(&q, NULL, 0, INT64_MIN, INT64_MAX, &arena, &out, &ns, &err) < 0) {
        fprintf(stderr, "select: %s\n", err.msg);
        bad = 1;
        ns = 0;
    }
    if ((int)ns != n) {
        fprintf(stderr, "%zu series, want %d\n", ns, n);
        bad = 1;
    }
    uint64_t total = 0;
    for (size_t s = 0; s < ns && bad < 10; s++) {
        int i = atoi(core_labels_get(out[s].labels, "series"));
        tsdb_qiter it;
        tsdb_qiter_init(&it, &out[s]);
        int64_t want = from;
        while (tsdb_qiter_next(&it)) {
            double v;
            memcpy(&v, &it.v, sizeof v);
            if (it.t != want || v != value_of(i, it.t)) {
                fprintf(stderr, "series %d: sample at %" PRId64 " = %g, want %" PRId64 " = %g\n", i,
                        it.t, v, want, value_of(i, want));
                bad++;
                break;
            }
            want += step;
            total++;
        }
        if (it.failure) {
            fprintf(stderr, "series %d: %s\n", i, it.failure);
            bad++;
        }
        if (want <= through) {
            fprintf(stderr,
                    "series %d: samples end before %" PRId64 " (want through %" PRId64 ")\n", i,
                    want, through);
            bad++;
        }
    }
    tsdb_querier_close(&q);
    core_arena_destroy(&arena);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    printf("series=%zu samples=%" PRIu64 " blocks=%" PRIu64 " wal_corruptions=%" PRIu64 "\n", ns,
           total, st.blocks, st.wal_corruptions);
    tsdb_db_close(db, NULL);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "write")) rc = cmd_write(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "check")) rc = cmd_check(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: tsdb_db_tool write|check <dir> <nseries> <from> <to> <step> "
                        "[--compact] [--wal-compression=...]\n");
    return rc;
}
