/*
 * promql_query.c - evaluates instant queries over the blocks of a data
 * directory through pql_tsdb_storage, for promql_blocks.py to compare with
 * Prometheus's /api/v1/query.
 *
 *   promql_query <data dir> <time in ms> <query>...
 *
 * Prints one JSON line per query: {"resultType": ..., "result": ...} shaped
 * as the HTTP API's data (vector: [{"metric": {...}, "value": [t, "v"]}],
 * scalar: [t, "v"], matrix: [{"metric": {...}, "values": [...]}]), values
 * with 17 significant digits; or {"error": "..."}.  Exit status 1 if the data
 * directory cannot be opened, 2 on bad usage.
 */
#include "promql/engine.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_float(core_sb *sb, double v)
{
    if (isnan(v))
        core_sb_adds(sb, "\"NaN\"");
    else if (isinf(v))
        core_sb_adds(sb, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    else
        core_sb_addf(sb, "\"%.17g\"", v);
}

static void put_point(core_sb *sb, int64_t t, double v)
{
    core_sb_addf(sb, "[%" PRId64 ".%03d, ", t / 1000, (int)(t % 1000));
    put_float(sb, v);
    core_sb_addc(sb, ']');
}

static void put_labels(core_sb *sb, const core_labels *ls)
{
    core_sb_addc(sb, '{');
    for (size_t i = 0; ls && i < ls->len; i++) {
        if (i) core_sb_adds(sb, ", ");
        core_sb_add_json_str(sb, ls->v[i].name, strlen(ls->v[i].name));
        core_sb_adds(sb, ": ");
        core_sb_add_json_str(sb, ls->v[i].value, strlen(ls->v[i].value));
    }
    core_sb_addc(sb, '}');
}

static void put_result(core_sb *sb, const pql_result *r)
{
    switch (r->type) {
    case PQL_TYPE_SCALAR:
        core_sb_adds(sb, "{\"resultType\": \"scalar\", \"result\": ");
        put_point(sb, r->t, r->scalar);
        break;
    case PQL_TYPE_STRING:
        core_sb_adds(sb, "{\"resultType\": \"string\", \"result\": ");
        core_sb_addf(sb, "[%" PRId64 ".%03d, ", r->t / 1000, (int)(r->t % 1000));
        core_sb_add_json_str(sb, r->str, strlen(r->str));
        core_sb_addc(sb, ']');
        break;
    default: {
        bool vec = r->type == PQL_TYPE_VECTOR;
        core_sb_addf(sb, "{\"resultType\": \"%s\", \"result\": [", vec ? "vector" : "matrix");
        for (size_t i = 0; i < r->nseries; i++) {
            const pql_result_series *s = &r->series[i];
            if (i) core_sb_adds(sb, ", ");
            core_sb_adds(sb, "{\"metric\": ");
            put_labels(sb, s->labels);
            core_sb_adds(sb, vec ? ", \"value\": " : ", \"values\": [");
            for (size_t k = 0; k < s->n; k++) {
                if (k) core_sb_adds(sb, ", ");
                put_point(sb, s->pts[k].t, s->pts[k].v);
            }
            core_sb_adds(sb, vec ? "}" : "]}");
        }
        core_sb_addc(sb, ']');
    }
    }
    core_sb_addc(sb, '}');
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: promql_query <data dir> <time ms> <query>...\n");
        return 2;
    }
    core_err err = {{0}};
    pql_tsdb_storage *ts = pql_tsdb_storage_open(argv[1], &err);
    if (!ts) {
        fprintf(stderr, "promql_query: %s\n", err.msg);
        return 1;
    }
    int64_t t = strtoll(argv[2], NULL, 10);
    pql_engine_opts opts = PQL_ENGINE_OPTS_DEFAULT;
    core_sb sb = CORE_SB_INIT;
    for (int i = 3; i < argc; i++) {
        core_arena a;
        core_arena_init(&a, CORE_ARENA_DEFAULT_BLOCK);
        pql_result r;
        pql_node *q = pql_parse(argv[i], NULL, &a, &err);
        core_sb_reset(&sb);
        if (!q || pql_eval_instant(pql_tsdb_storage_iface(ts), &opts, q, t, &a, &r, &err) < 0) {
            core_sb_adds(&sb, "{\"error\": ");
            core_sb_add_json_str(&sb, err.msg, strlen(err.msg));
            core_sb_addc(&sb, '}');
        } else {
            put_result(&sb, &r);
        }
        puts(sb.buf);
        core_arena_destroy(&a);
    }
    core_sb_destroy(&sb);
    pql_tsdb_storage_free(ts);
    return 0;
}
