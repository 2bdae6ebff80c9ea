/*
 * tsdb_block_dump.c - opens a block with our block opener, for
 * tsdb_block_interop.py to compare with what promtool wrote; or rewrites its
 * meta.json and tombstones through our writers, to compare bytes.
 *
 *   tsdb_block_dump block <block dir>
 *   tsdb_block_dump rewrite <block dir> <out dir>
 *
 * "block" opens the block, verifies it (every series and chunk read, CRCs
 * checked) and prints one JSON object: the meta as read ("ulid", "minTime",
 * "maxTime", "stats", "level", "sources", "parents", "version"), the counts
 * found in index and chunks ("counted": numSeries, numChunks, numSamples,
 * numTombstones) and the file sizes ("metaSize", "tombstonesSize").
 * "rewrite" reads meta.json and tombstones and writes them into <out dir>
 * (which must exist).  Exit status 1 on any error (the message on stderr),
 * 2 on bad usage.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>

static void put_ulid(const tsdb_ulid *u)
{
    char s[TSDB_ULID_LEN + 1];
    tsdb_ulid_format(u, s);
    printf("\"%s\"", s);
}

static void put_stats(const tsdb_block_stats *s)
{
    printf("{\"numSamples\": %" PRIu64 ", \"numSeries\": %" PRIu64 ", \"numChunks\": %" PRIu64
           ", \"numTombstones\": %" PRIu64 "}",
           s->num_samples, s->num_series, s->num_chunks, s->num_tombstones);
}

static int dump_block(const char *dir, core_err *err)
{
    tsdb_block b;
    tsdb_block_stats counted;
    if (tsdb_block_open(&b, dir, err) < 0) return -1;
    if (tsdb_block_verify(&b, &counted, err) < 0) {
        tsdb_block_close(&b);
        return -1;
    }
    const tsdb_block_meta *m = &b.meta;
    printf("{\"ulid\": ");
    put_ulid(&m->ulid);
    printf(", \"minTime\": %" PRId64 ", \"maxTime\": %" PRId64 ", \"stats\": ", m->mint, m->maxt);
    put_stats(&m->stats);
    printf(", \"level\": %" PRId64 ", \"sources\": [", m->level);
    for (size_t i = 0; i < m->nsources; i++) {
        printf(i ? ", " : "");
        put_ulid(&m->sources[i]);
    }
    printf("], \"parents\": [");
    for (size_t i = 0; i < m->nparents; i++) {
        printf(i ? ", [" : "[");
        put_ulid(&m->parents[i].ulid);
        printf(", %" PRId64 ", %" PRId64 "]", m->parents[i].mint, m->parents[i].maxt);
    }
    printf("], \"version\": %" PRId64 ", \"counted\": ", m->version);
    put_stats(&counted);
    printf(", \"metaSize\": %" PRId64 ", \"tombstonesSize\": %" PRId64 "}\n", b.meta_size,
           b.tombstones_size);
    tsdb_block_close(&b);
    return 0;
}

static int rewrite(const char *dir, const char *out, core_err *err)
{
    tsdb_block_meta m;
    tsdb_tombstones t;
    if (tsdb_block_meta_read(&m, dir, NULL, err) < 0) return -1;
    int rc = tsdb_tombstones_read(&t, dir, NULL, err);
    if (rc == 0) {
        rc = tsdb_block_meta_write(&m, out, NULL, err);
        if (rc == 0) rc = tsdb_tombstones_write(&t, out, NULL, err);
        tsdb_tombstones_destroy(&t);
    }
    tsdb_block_meta_destroy(&m);
    return rc;
}

int main(int argc, char **argv)
{
    core_err err = {{0}};
    int rc;
    if (argc == 3 && !strcmp(argv[1], "block"))
        rc = dump_block(argv[2], &err);
    else if (argc == 4 && !strcmp(argv[1], "rewrite"))
        rc = rewrite(argv[2], argv[3], &err);
    else {
        fprintf(stderr, "usage: %s block <dir> | rewrite <dir> <out dir>\n", argv[0]);
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err.msg);
        return 1;
    }
    return 0;
}
