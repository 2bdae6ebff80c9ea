/*
 * tsdb_chunks_dump.c - prints every chunk of a block's chunks/ directory or of
 * a chunks_head/ directory, for tsdb_chunks_interop.py to compare with what
 * Prometheus was given.
 *
 *   tsdb_chunks_dump block <dir>   |   tsdb_chunks_dump head <dir>
 *
 * One line per chunk, then one line per sample:
 *   chunk <ref> <encoding> <samples> <same|diff>                            (block)
 *   chunk <ref> <encoding> <series ref> <mint> <maxt> <samples> <same|diff> (head)
 *   <t> <value bits as 16 hex digits>
 * "same" says that appending the decoded samples to a fresh XOR chunk in the
 * layout of Prometheus 2.x (the Debian peer, see tsdb.h) gave byte for byte
 * the data Prometheus wrote.  Exit status 1 on any read or
 * decode error (the message on stderr), 2 on bad usage.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Decodes and prints the samples, then says whether re-encoding matched. */
static int dump_xor(uint8_t enc, const uint8_t *data, size_t len, core_err *err)
{
    tsdb_xor_iter it;
    tsdb_xor c;
    if ((enc & ~TSDB_ENC_OOO_MASK) != TSDB_ENC_XOR)
        return core_err_set(err, "chunk encoding %u is not XOR", enc);
    if (tsdb_xor_iter_init(&it, data, len, err) < 0) return -1;
    tsdb_xor_init_layout(&c, TSDB_LAYOUT_V2);
    core_sb lines = CORE_SB_INIT;
    while (tsdb_xor_iter_next(&it)) {
        tsdb_xor_append_bits(&c, it.t, it.v, NULL);
        core_sb_addf(&lines, "%" PRId64 " %016" PRIx64 "\n", it.t, it.v);
    }
    int rc = tsdb_xor_iter_err(&it, err);
    size_t n;
    const uint8_t *p = tsdb_xor_bytes(&c, &n);
    bool same = n == len && memcmp(p, data, len) == 0;
    if (rc == 0)
        printf(" %u %s\n%s", (unsigned)it.total, same ? "same" : "diff",
               lines.buf ? lines.buf : "");
    core_sb_destroy(&lines);
    tsdb_xor_destroy(&c);
    return rc;
}

static int dump_block(const char *dir, core_err *err)
{
    tsdb_chunk_reader r;
    if (tsdb_chunk_reader_open(&r, dir, err) < 0) return -1;
    size_t seg = 0, off = 0;
    uint64_t ref;
    tsdb_chunk ch;
    int rc;
    while ((rc = tsdb_chunk_reader_next(&r, &seg, &off, &ch, &ref, err)) == 1) {
        printf("chunk %" PRIu64 " %u", ref, ch.enc);
        if ((rc = dump_xor(ch.enc, ch.data, ch.len, err)) < 0) break;
    }
    tsdb_chunk_reader_close(&r);
    return rc;
}

static int dump_head(const char *dir, core_err *err)
{
    tsdb_head_chunk_reader r;
    if (tsdb_head_chunk_reader_open(&r, dir, err) < 0) return -1;
    size_t file = 0, off = 0;
    uint64_t ref;
    tsdb_head_chunk ch;
    int rc;
    while ((rc = tsdb_head_chunk_reader_next(&r, &file, &off, &ch, &ref, err)) == 1) {
        printf("chunk %" PRIu64 " %u %" PRIu64 " %" PRId64 " %" PRId64, ref, ch.enc, ch.series_ref,
               ch.mint, ch.maxt);
        if ((rc = dump_xor(ch.enc, ch.data, ch.len, err)) < 0) break;
    }
    tsdb_head_chunk_reader_close(&r);
    return rc;
}

int main(int argc, char **argv)
{
    core_err err = {{0}};
    if (argc != 3 || (strcmp(argv[1], "block") && strcmp(argv[1], "head"))) {
        fprintf(stderr, "usage: %s block|head <dir>\n", argv[0]);
        return 2;
    }
    int rc = strcmp(argv[1], "block") ? dump_head(argv[2], &err) : dump_block(argv[2], &err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err.msg);
        return 1;
    }
    return 0;
}
