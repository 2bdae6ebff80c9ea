/*
 * helpers.h - what the model tests share: a canonical dump of every entry a
 * parser yields, so a test table can state exactly what an input must give,
 * and the truncation check.  Include after "unit/unit.h" and "model/model.h".
 *
 * The dump has one line per entry:
 *   HELP <name> "<help>"            (Go-quoted, unescaped help)
 *   TYPE <name> <type>
 *   UNIT <name> "<unit>"
 *   COMMENT "<text>"
 *   SERIES <name>{<label>="<value>",...} <value>[ @<ts>][ # {<labels>} <value>[ @<ts>]]
 *   EOF | ERROR <message>
 * Labels are in input order with Go-quoted unescaped values; numbers are
 * written with model_format_float, so the line pins the exact double.
 */
#ifndef TESTS_UNIT_MODEL_HELPERS_H
#define TESTS_UNIT_MODEL_HELPERS_H

#include <inttypes.h>
#include <math.h>

/* Entries after which a dump gives up (a parser must end long before). */
#define DUMP_MAX_ENTRIES 100000

static inline void dump_str(core_sb *out, model_str s)
{
    core_sb_add_quoted(out, s.p, s.len);
}

static inline void dump_num(core_sb *out, double v)
{
    char b[MODEL_FLOAT_BUFSZ];
    model_format_float(v, b);
    core_sb_adds(out, b);
}

static inline void dump_labels(core_sb *out, const model_label *l, size_t n)
{
    core_sb_addc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) core_sb_addc(out, ',');
        core_sb_add(out, l[i].name.p, l[i].name.len);
        core_sb_addc(out, '=');
        dump_str(out, l[i].value);
    }
    core_sb_addc(out, '}');
}

static inline void dump_series(core_sb *out, model_parser *p)
{
    model_str name = model_parser_name(p);
    size_t n;
    const model_label *l = model_parser_labels(p, &n);
    core_sb_adds(out, "SERIES ");
    core_sb_add(out, name.p, name.len);
    dump_labels(out, l, n);
    core_sb_addc(out, ' ');
    dump_num(out, model_parser_value(p));
    int64_t ts;
    if (model_parser_timestamp(p, &ts)) core_sb_addf(out, " @%" PRId64, ts);
    model_exemplar ex;
    if (model_parser_exemplar(p, &ex)) {
        core_sb_adds(out, " # ");
        dump_labels(out, ex.labels, ex.n_labels);
        core_sb_addc(out, ' ');
        dump_num(out, ex.value);
        if (ex.has_ts) core_sb_addf(out, " @%" PRId64, ex.ts);
    }
}

/* Appends the line of the entry e; returns false after EOF or ERROR. */
static inline bool dump_entry(core_sb *out, model_parser *p, model_entry e, const core_err *err)
{
    model_str name = model_parser_name(p);
    switch (e) {
    case MODEL_ENTRY_EOF: core_sb_adds(out, "EOF\n"); return false;
    case MODEL_ENTRY_ERROR: core_sb_addf(out, "ERROR %s\n", err->msg); return false;
    case MODEL_ENTRY_HELP:
        core_sb_addf(out, "HELP %.*s ", (int)name.len, name.p);
        dump_str(out, model_parser_help(p));
        break;
    case MODEL_ENTRY_TYPE:
        core_sb_addf(out, "TYPE %.*s %s", (int)name.len, name.p,
                     model_type_name(model_parser_type(p)));
        break;
    case MODEL_ENTRY_UNIT:
        core_sb_addf(out, "UNIT %.*s ", (int)name.len, name.p);
        dump_str(out, model_parser_unit(p));
        break;
    case MODEL_ENTRY_COMMENT:
        core_sb_adds(out, "COMMENT ");
        dump_str(out, model_parser_comment(p));
        break;
    case MODEL_ENTRY_SERIES: dump_series(out, p); break;
    }
    core_sb_addc(out, '\n');
    return true;
}

/* A copy of exactly len bytes (no NUL after it), so that AddressSanitizer
 * catches any read past the end. */
static inline char *exact_copy(const char *s, size_t len)
{
    char *b = malloc(len ? len : 1);
    if (len) memcpy(b, s, len);
    return b;
}

/* Every entry of in[0..len) in `fmt`, dumped; free() the result. */
static inline char *dump_all(model_format fmt, const char *in, size_t len)
{
    char *buf = exact_copy(in, len);
    model_parser *p = model_parser_new(fmt, buf, len, "in");
    core_sb out = CORE_SB_INIT;
    core_err err;
    for (int i = 0; i < DUMP_MAX_ENTRIES; i++)
        if (!dump_entry(&out, p, model_parser_next(p, &err), &err)) break;
    model_parser_free(p);
    free(buf);
    return core_sb_detach(&out, NULL);
}

/* A test table row: input (len 0: strlen) and the dump it must give. */
typedef struct dump_case {
    const char *in;
    const char *want;
    size_t len;
} dump_case;

static inline void check_cases(model_format fmt, const dump_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        char *got = dump_all(fmt, cases[i].in, len);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: input %.*s\n--- want\n%s--- got\n%s", i, (int)len, cases[i].in,
                     cases[i].want, got);
        free(got);
    }
}

/* Parses every prefix of doc (in an exactly sized buffer) to its end: each
 * must end in EOF or ERROR within a bounded number of entries, and never
 * read out of bounds (run under ASan). */
static inline void check_prefixes(model_format fmt, const char *doc, size_t len)
{
    for (size_t k = 0; k <= len; k++) {
        char *got = dump_all(fmt, doc, k);
        size_t n = strlen(got);
        assert_true(n > 0 && got[n - 1] == '\n');
        const char *last = n > 1 ? got + n - 2 : got;
        while (last > got && last[-1] != '\n')
            last--;
        if (strncmp(last, "EOF", 3) != 0 && strncmp(last, "ERROR", 5) != 0)
            fail_msg("prefix %zu: no EOF or ERROR at the end:\n%s", k, got);
        free(got);
    }
}

/* The path of a file under tests/unit/model/data (PROM_SOURCE_DIR is set by
 * ctest; the fallback works from the build directory's parent). */
static inline char *data_path(const char *name)
{
    const char *src = getenv("PROM_SOURCE_DIR");
    core_sb sb = CORE_SB_INIT;
    core_sb_addf(&sb, "%s/tests/unit/model/data/%s", src ? src : "..", name);
    return core_sb_detach(&sb, NULL);
}

/* The whole file, exactly sized; *len gets its length. */
static inline char *read_data(const char *name, size_t *len)
{
    char *path = data_path(name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) fail_msg("cannot open %s", path);
    core_sb sb = CORE_SB_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        core_sb_add(&sb, chunk, n);
    fclose(f);
    free(path);
    char *b = exact_copy(sb.buf, sb.len);
    *len = sb.len;
    core_sb_destroy(&sb);
    return b;
}

#endif
