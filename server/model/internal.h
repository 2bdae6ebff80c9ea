/*
 * internal.h - what the files of server/model share; not for other modules.
 *
 *   parser.c       the parser object, the accessors, errors with positions,
 *                  label sets, the content-type sniffer
 *   lex.c          character classes, Go-compatible float parsing, UTF-8
 *                  validation, unescaping, quoting for messages
 *   text.c         text format 0.0.4
 *   openmetrics.c  OpenMetrics 1.0.0
 *   protobuf.c     delimited MetricFamily messages
 *   float.c        model_format_float
 */
#ifndef MODEL_INTERNAL_H
#define MODEL_INTERNAL_H

#include "model/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- Character classes (lex.c) */

enum {
    MODEL_CC_MSTART = 1 << 0,  /* [a-zA-Z_:]  first byte of a metric name */
    MODEL_CC_MNAME = 1 << 1,   /* [a-zA-Z0-9_:] */
    MODEL_CC_LSTART = 1 << 2,  /* [a-zA-Z_]   first byte of a label name */
    MODEL_CC_LNAME = 1 << 3,   /* [a-zA-Z0-9_] */
    MODEL_CC_DIGIT = 1 << 4,   /* [0-9] */
    MODEL_CC_VSTOP = 1 << 5,   /* '"' '\\' and bytes >= 0x80: stop a label value scan */
    MODEL_CC_NL = 1 << 6,      /* '\n' */
    MODEL_CC_TVALEND = 1 << 7, /* ' ' '\t' '\n' '{': end a text-format value */
};

extern const uint8_t model_cc[256];

static inline bool model_is(char c, unsigned cls)
{
    return (model_cc[(unsigned char)c] & cls) != 0;
}

/* ---- Lexing helpers (lex.c) */

typedef enum model_float_status {
    MODEL_FLOAT_OK,
    MODEL_FLOAT_SYNTAX, /* not a float as Go's ParseFloat reads one */
    MODEL_FLOAT_RANGE,  /* overflows a double */
} model_float_status;

/* Reads s[0..n) as Prometheus does: Go's strconv.ParseFloat without the
 * digit-separating underscores and hexadecimal forms (which Prometheus
 * refuses), i.e. [+-]digits[.digits][e[+-]digits], [+-]Inf, [+-]Infinity
 * and NaN, the words in any case.  NaN becomes MODEL_NORMAL_NAN_BITS.  `tmp`
 * is scratch for the rare numbers strtod has to finish. */
model_float_status model_parse_float(const char *s, size_t n, double *out, core_sb *tmp);

/* Go's utf8.Valid: no overlong forms, surrogates or code points past U+10FFFF. */
bool model_utf8_valid(const char *s, size_t n);

/* Unescapes raw into dst (which has room for n bytes); returns the length. */
size_t model_unescape_to(const char *s, size_t n, bool quote, char *dst);

/* Room for a quoted excerpt in a message (quotes, escapes, "..."). */
#define MODEL_QUOTE_BUFSZ 200

/* Writes s[0..n) quoted for an error message, Go %q style, cut after 48
 * input bytes with "..." added. */
const char *model_quote(const char *s, size_t n, char out[MODEL_QUOTE_BUFSZ]);

/* ---- Growable arrays */

typedef struct model_labelvec {
    model_label *v;
    size_t n, cap;
} model_labelvec;

/* Appends an uninitialised slot (and keeps one spare for protobuf's le). */
model_label *model_labelvec_push(model_labelvec *lv);

/* ---- Protobuf state (protobuf.c) */

typedef struct model_pb_exemplar {
    bool present;
    bool has_ts;
    double value;
    int64_t ts;
    size_t label_off, n_labels; /* into pb.exlabels */
} model_pb_exemplar;

typedef struct model_pb_bucket {
    double upper;
    double count;
    model_pb_exemplar ex;
} model_pb_bucket;

typedef struct model_pb_quantile {
    double q, v;
} model_pb_quantile;

typedef struct model_pb {
    int stage;
    /* The family being emitted. */
    const uint8_t *fam, *fam_end; /* its fields */
    const uint8_t *mcur;          /* where to look for the next metric */
    model_str fname, help, unit;
    int type; /* the MetricFamily.type enum */
    /* The metric being emitted, decoded. */
    const uint8_t *metric_at;
    int64_t ts_ms;
    double value, sum, count_f;
    uint64_t count_u;
    model_pb_exemplar ex; /* the counter's */
    model_pb_bucket *buckets;
    size_t n_buckets, cap_buckets;
    bool inf_bucket; /* the last bucket is the +Inf one */
    model_pb_quantile *quantiles;
    size_t n_quantiles, cap_quantiles;
    size_t n_series, series; /* series this metric yields, and the next one */
    bool magic_dup;          /* a label is named like the le/quantile label */
    model_labelvec labels;   /* the metric's labels, then le/quantile */
    model_labelvec exlabels;
    /* Scratch for what is not in the input. */
    char *name; /* family name + suffix */
    size_t name_cap;
    char magic[MODEL_FLOAT_BUFSZ]; /* le or quantile value */
    core_sb key;                   /* series key */
} model_pb;

/* ---- The parser */

enum { MODEL_RUNNING, MODEL_DONE, MODEL_FAILED };

struct model_parser {
    model_format fmt;
    const char *buf;
    size_t len;
    size_t pos;       /* next byte to read */
    const char *name; /* for messages, in namebuf */
    core_sb namebuf;
    int state;
    core_err err;

    /* The current entry. */
    model_entry entry;
    model_str mname;
    model_str series; /* the raw series text */
    const model_label *labels;
    size_t n_labels;
    double value;
    bool has_ts;
    int64_t ts;
    model_type type;
    model_str text;     /* HELP (unescaped), UNIT or COMMENT */
    model_str text_raw; /* HELP as written */
    bool text_escaped;
    bool has_ex;
    const model_label *ex_labels;
    size_t n_ex_labels;
    double ex_value;
    bool ex_has_ts;
    int64_t ex_ts;

    /* Storage. */
    model_labelvec lab, exlab;
    core_sb scratch; /* unescaped strings of the current entry */
    core_sb tmp;     /* numbers for strtod, series keys, label sets */
    model_str *dupnames;
    size_t dupnames_cap;
    core_label *pairs;
    size_t pairs_cap;
    model_pb pb;

    /* The known-series shortcut (text format; see model_parser_set_known). */
    model_known_fn known;
    void *known_ctx;
    bool lazy;      /* the current series was taken by it: labels not lexed yet */
    size_t lazy_at; /* where its line starts */
};

/* ---- Shared by the format files (parser.c) */

/* The first position at or after i whose byte is not in class cls (scan
 * class) or is in it (scan until), or the end of the input. */
static inline size_t model_scan_class(const model_parser *p, size_t i, unsigned cls)
{
    while (i < p->len && model_is(p->buf[i], cls))
        i++;
    return i;
}

static inline size_t model_scan_until(const model_parser *p, size_t i, unsigned cls)
{
    while (i < p->len && !model_is(p->buf[i], cls))
        i++;
    return i;
}

/* Position of the line break at or after i, or the end of the input. */
static inline size_t model_line_end(const model_parser *p, size_t i)
{
    const char *nl = memchr(p->buf + i, '\n', p->len - i);
    return nl ? (size_t)(nl - p->buf) : p->len;
}

/* The quoted label value whose opening quote is at q, into l (unescaped
 * into scratch if need be); OpenMetrics (`om`) forbids line breaks in it.
 * Returns the position after the closing quote, or 0 after failing. */
size_t model_label_value(model_parser *p, size_t q, model_label *l, bool om);

/* Stops the parser with "<name>:<line>:<col>: <message>" for the byte at
 * `pos`.  Returns MODEL_ENTRY_ERROR. */
model_entry model_fail(model_parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with "<name>: byte <pos>: <message>" (protobuf). */
model_entry model_fail_at_byte(model_parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Describes what is at `pos` for an "expected X, got Y" message: a quoted
 * name-like run or character, "end of line" or "end of input". */
const char *model_got(const model_parser *p, size_t pos, char out[MODEL_QUOTE_BUFSZ]);

/* Checks labels[0..n) for duplicate names (and __name__); fails at `pos`. */
bool model_check_dups(model_parser *p, const model_label *v, size_t n, bool exemplar, size_t pos);

/* Finishes a HELP entry whose raw text is in p->text (at `at`): checks it
 * is UTF-8 and unescapes it into scratch if it has escapes (\" too when
 * `om`).  Returns MODEL_ENTRY_HELP or MODEL_ENTRY_ERROR. */
model_entry model_help(model_parser *p, size_t at, bool om);

/* Unescapes a value into scratch: stores the raw slice and the unescaped
 * length now; model_fix_escaped() points the values at scratch once the
 * entry is complete (scratch may move while it grows). */
void model_add_escaped(model_parser *p, model_label *l, const char *raw, size_t n);
void model_fix_escaped(model_parser *p);

/* Parses a value for `what`; fails with a message naming the metric. */
bool model_value(model_parser *p, const char *s, size_t n, double *out, const char *what,
                 model_str metric, size_t pos);

/* ---- The format files */

model_entry model_text_next(model_parser *p);
/* Lexes the labels of a series the known-series shortcut took. */
void model_text_lex_labels(model_parser *p);
model_entry model_om_next(model_parser *p);
model_entry model_pb_next(model_parser *p);
void model_pb_reset(model_pb *pb);
void model_pb_destroy(model_pb *pb);
/* The protobuf series key into p->tmp. */
model_str model_pb_series_key(model_parser *p);

#endif
