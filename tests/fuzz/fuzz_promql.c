/*
 * fuzz_promql.c - libFuzzer target for server/promql: parse, print, parse again.
 *
 * The input is parsed from an exactly sized copy (no NUL after it), so that
 * AddressSanitizer catches a read past the end.  Besides "no crash, no leak,
 * no undefined behaviour", it checks what must hold for any input: an error
 * names a position ("<line>:<col>: parse error: ..."), and the printed form of
 * a query that parses parses again to the same text.  The one exception is
 * upstream's own: a literal infinity prints as "+Inf" / "-Inf", whose sign
 * re-reads as a unary operator under a following '^' ("2 ^ +Inf ^ x"), so
 * text holding "Inf" need only parse again.  The first input byte
 * picks the feature flags, so both the default and the experimental grammar
 * are explored.
 */
#include "promql/promql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    pql_parse_opts opts = {data[0] & 1, data[0] & 2, data[0] & 4, data[0] & 8};
    char *q = malloc(size - 1 ? size - 1 : 1);
    memcpy(q, data + 1, size - 1);
    core_arena a = {0};
    core_err err;
    pql_node *n = pql_parse_n(q, size - 1, &opts, &a, &err);
    if (!n) {
        check(strstr(err.msg, "parse error: ") != NULL);
    } else {
        core_sb once = CORE_SB_INIT, twice = CORE_SB_INIT;
        pql_print(n, &once);
        pql_node *again = pql_parse_n(once.buf, once.len, &opts, &a, &err);
        check(again != NULL);
        pql_print(again, &twice);
        bool same = once.len == twice.len && memcmp(once.buf, twice.buf, once.len) == 0;
        check(same || strstr(once.buf, "Inf") != NULL);
        core_sb_destroy(&once);
        core_sb_destroy(&twice);
    }
    core_arena_destroy(&a);
    free(q);
    return 0;
}
