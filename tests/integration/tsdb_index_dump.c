/*
 * tsdb_index_dump.c - prints what our index reader finds in a block, for
 * tsdb_index_interop.py to compare with what promtool was given; or rewrites
 * an index through our writer, to compare bytes.
 *
 *   tsdb_index_dump block <block dir>
 *   tsdb_index_dump rewrite <index file> <new index file>
 *
 * "block" prints one JSON object per line:
 *   {"names": [name, ...]}                       the label names
 *   {"name": n, "value": v, "refs": [ref, ...]}  every postings offset table
 *                                                entry and its list
 *   {"ref": r, "labels": [[n, v], ...], "chunks": [[mint, maxt, chunk ref,
 *    [[t, value bits], ...]], ...]}               every series (in the order of
 *                                                the all-series list), each chunk
 *                                                read through the chunk reader
 * "rewrite" adds every symbol and then every series (labels and chunk metas)
 * of the index to a new one, in the order read.  Exit status 1 on any error
 * (the message on stderr), 2 on bad usage.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>

static void put_str(tsdb_str s)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_add_json_str(&sb, s.p, s.len);
    fwrite(sb.buf, 1, sb.len, stdout);
    core_sb_destroy(&sb);
}

static void dump_names(const tsdb_index_reader *r)
{
    size_t n;
    const tsdb_index_name *names = tsdb_index_label_names(r, &n);
    printf("{\"names\": [");
    for (size_t i = 0; i < n; i++) {
        printf(i ? ", " : "");
        put_str(names[i].name);
    }
    printf("]}\n");
}

static int dump_postings(const tsdb_index_reader *r, core_err *err)
{
    tsdb_postings p;
    for (size_t i = 0; i < r->nentries; i++) {
        const tsdb_index_entry *e = &r->entries[i];
        if (tsdb_index_postings_at(r, e->off, &p, err) < 0) return -1;
        printf("{\"name\": ");
        put_str(e->name);
        printf(", \"value\": ");
        put_str(e->value);
        printf(", \"refs\": [");
        for (uint32_t k = 0; k < p.n; k++)
            printf("%s%" PRIu32, k ? ", " : "", tsdb_postings_at(&p, k));
        printf("]}\n");
    }
    return 0;
}

static int dump_samples(const tsdb_chunk_reader *cr, const tsdb_chunk_meta *m, core_err *err)
{
    tsdb_chunk ch;
    tsdb_xor_iter it;
    if (tsdb_chunk_reader_chunk(cr, m->ref, &ch, err) < 0) return -1;
    if (ch.enc != TSDB_ENC_XOR) return core_err_set(err, "chunk encoding %u is not XOR", ch.enc);
    if (tsdb_xor_iter_init(&it, ch.data, ch.len, err) < 0) return -1;
    printf("[%" PRId64 ", %" PRId64 ", %" PRIu64 ", [", m->mint, m->maxt, m->ref);
    for (int k = 0; tsdb_xor_iter_next(&it); k++)
        printf("%s[%" PRId64 ", %" PRIu64 "]", k ? ", " : "", it.t, it.v);
    printf("]]");
    return tsdb_xor_iter_err(&it, err);
}

static int dump_series(const tsdb_index_reader *r, const tsdb_chunk_reader *cr, uint64_t ref,
                       tsdb_index_series *s, core_err *err)
{
    if (tsdb_index_series_read(r, ref, s, err) < 0) return -1;
    printf("{\"ref\": %" PRIu64 ", \"labels\": [", ref);
    for (size_t i = 0; i < s->nlabels; i++) {
        printf(i ? ", [" : "[");
        put_str(s->labels[i].name);
        printf(", ");
        put_str(s->labels[i].value);
        printf("]");
    }
    printf("], \"chunks\": [");
    for (size_t i = 0; i < s->nchunks; i++) {
        printf(i ? ", " : "");
        if (dump_samples(cr, &s->chunks[i], err) < 0) return -1;
    }
    printf("]}\n");
    return 0;
}

static int dump_block(const char *dir, core_err *err)
{
    char path[4096];
    tsdb_index_reader r;
    tsdb_chunk_reader cr;
    snprintf(path, sizeof(path), "%s/index", dir);
    if (tsdb_index_reader_open(&r, path, err) < 0) return -1;
    snprintf(path, sizeof(path), "%s/chunks", dir);
    if (tsdb_chunk_reader_open(&cr, path, err) < 0) {
        tsdb_index_reader_close(&r);
        return -1;
    }
    tsdb_postings all;
    tsdb_index_series s = {0};
    dump_names(&r);
    int rc = dump_postings(&r, err);
    if (rc == 0) rc = tsdb_index_postings(&r, tsdb_str_c(""), tsdb_str_c(""), &all, err);
    for (uint32_t k = 0; rc == 0 && k < all.n; k++)
        rc = dump_series(&r, &cr, tsdb_postings_at(&all, k), &s, err);
    tsdb_index_series_destroy(&s);
    tsdb_chunk_reader_close(&cr);
    tsdb_index_reader_close(&r);
    return rc;
}

static int copy_series(const tsdb_index_reader *r, tsdb_index_writer *w, core_err *err)
{
    tsdb_postings all;
    tsdb_index_series s = {0};
    int rc = tsdb_index_postings(r, tsdb_str_c(""), tsdb_str_c(""), &all, err);
    for (uint32_t k = 0; rc == 0 && k < all.n; k++) {
        rc = tsdb_index_series_read(r, tsdb_postings_at(&all, k), &s, err);
        if (rc == 0)
            rc = tsdb_index_writer_add_series(w, s.labels, s.nlabels, s.chunks, s.nchunks, NULL,
                                              err);
    }
    tsdb_index_series_destroy(&s);
    return rc;
}

static int rewrite(const char *in, const char *out, core_err *err)
{
    tsdb_index_reader r;
    tsdb_index_writer w;
    if (tsdb_index_reader_open(&r, in, err) < 0) return -1;
    if (tsdb_index_writer_open(&w, out, err) < 0) {
        tsdb_index_reader_close(&r);
        return -1;
    }
    int rc = 0;
    tsdb_str sym;
    for (uint32_t i = 0; rc == 0 && i < r.nsym; i++) {
        rc = tsdb_index_symbol(&r, i, &sym, err);
        if (rc == 0) rc = tsdb_index_writer_add_symbol(&w, sym, err);
    }
    if (rc == 0) rc = copy_series(&r, &w, err);
    core_err cerr;
    if (tsdb_index_writer_close(&w, &cerr) < 0 && rc == 0) rc = core_err_set(err, "%s", cerr.msg);
    tsdb_index_reader_close(&r);
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
        fprintf(stderr, "usage: %s block <dir> | rewrite <index> <new index>\n", argv[0]);
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err.msg);
        return 1;
    }
    return 0;
}
