/*
 * tsdb_wal_dump.c - prints every record of a WAL directory, for
 * tsdb_wal_interop.py to compare with what Prometheus served.
 *
 *   tsdb_wal_dump <wal dir>
 *
 * One line per entry:
 *   series <ref> <labels as a JSON object>
 *   sample <ref> <t> <value bits as 16 hex digits>
 *   tombstone <ref> <mint> <maxt>
 *   metadata <ref> <type> <unit as JSON> <help as JSON>
 *   other <record type> <bytes>          (types this reader does not decode)
 * and a last line: records <count> compressed <count>.  Exit status 1 on any
 * read or decode error (the message on stderr), 2 on bad usage.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_json(const char *s)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_add_json_str(&sb, s, strlen(s));
    fputs(sb.buf, stdout);
    core_sb_destroy(&sb);
}

static int dump_series(const uint8_t *rec, size_t len, core_arena *arena, core_err *err)
{
    tsdb_rec_series *s = NULL;
    size_t n = 0;
    int rc = tsdb_rec_decode_series(rec, len, arena, &s, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        printf("series %" PRIu64 " {", s[i].ref);
        for (size_t k = 0; k < s[i].labels->len; k++) {
            fputs(k ? "," : "", stdout);
            print_json(s[i].labels->v[k].name);
            fputs(":", stdout);
            print_json(s[i].labels->v[k].value);
        }
        puts("}");
    }
    free(s);
    return rc;
}

static int dump_samples(const uint8_t *rec, size_t len, core_err *err)
{
    tsdb_rec_sample *s = NULL;
    size_t n = 0;
    int rc = tsdb_rec_decode_samples(rec, len, &s, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("sample %" PRIu64 " %" PRId64 " %016" PRIx64 "\n", s[i].ref, s[i].t, s[i].v);
    free(s);
    return rc;
}

static int dump_tombstones(const uint8_t *rec, size_t len, core_err *err)
{
    tsdb_rec_tombstone *s = NULL;
    size_t n = 0;
    int rc = tsdb_rec_decode_tombstones(rec, len, &s, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("tombstone %" PRIu64 " %" PRId64 " %" PRId64 "\n", s[i].ref, s[i].mint, s[i].maxt);
    free(s);
    return rc;
}

static int dump_metadata(const uint8_t *rec, size_t len, core_arena *arena, core_err *err)
{
    tsdb_rec_metadata *m = NULL;
    size_t n = 0;
    int rc = tsdb_rec_decode_metadata(rec, len, arena, &m, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        printf("metadata %" PRIu64 " %u ", m[i].ref, m[i].type);
        print_json(m[i].unit);
        fputs(" ", stdout);
        print_json(m[i].help);
        puts("");
    }
    free(m);
    return rc;
}

static int dump_record(const uint8_t *rec, size_t len, core_arena *arena, core_err *err)
{
    switch (tsdb_rec_type(rec, len)) {
    case TSDB_REC_SERIES: return dump_series(rec, len, arena, err);
    case TSDB_REC_SAMPLES: return dump_samples(rec, len, err);
    case TSDB_REC_TOMBSTONES: return dump_tombstones(rec, len, err);
    case TSDB_REC_METADATA: return dump_metadata(rec, len, arena, err);
    default: printf("other %d %zu\n", tsdb_rec_type(rec, len), len); return 0;
    }
}

static int dump(const char *dir, core_err *err)
{
    tsdb_wal_reader r;
    if (tsdb_wal_reader_open(&r, dir, err) < 0) return -1;
    core_arena arena;
    core_arena_init(&arena, 0);
    const uint8_t *rec;
    size_t len;
    uint64_t count = 0;
    int rc;
    while ((rc = tsdb_wal_reader_next(&r, &rec, &len, err)) == 1) {
        count++;
        if ((rc = dump_record(rec, len, &arena, err)) < 0) {
            core_err_prefix(err, "record %" PRIu64, count);
            break;
        }
        core_arena_reset(&arena);
    }
    if (rc == 0) printf("records %" PRIu64 " compressed %" PRIu64 "\n", count, r.ncompressed);
    core_arena_destroy(&arena);
    tsdb_wal_reader_close(&r);
    return rc;
}

int main(int argc, char **argv)
{
    core_err err = {{0}};
    if (argc != 2) {
        fprintf(stderr, "usage: %s <wal dir>\n", argv[0]);
        return 2;
    }
    if (dump(argv[1], &err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 1;
    }
    return 0;
}
