/*
 * model.h - the door of server/model: the exposition-format parsers, regexes
 * and relabeling.
 *
 * Every server-side program that reads metrics from the outside goes through
 * these parsers: the scraper reads targets' bodies, the pushgateway reads
 * pushed bodies.  They are the equivalent of Prometheus's model/textparse:
 *
 *   MODEL_FORMAT_TEXT         text/plain; version=0.0.4 (promparser semantics)
 *   MODEL_FORMAT_OPENMETRICS  application/openmetrics-text; version=1.0.0
 *   MODEL_FORMAT_PROTOBUF     a stream of varint-length-delimited
 *                             io.prometheus.client.MetricFamily messages,
 *                             presented as the text parser would present the
 *                             same data (classic histograms and summaries)
 *
 * A parser is a pull parser over a byte buffer the caller owns and keeps
 * alive and unchanged while the parser is used.  The buffer is (pointer,
 * length): it need not be NUL-terminated and is never read past its end.
 * Each model_parser_next() call yields one entry (a series, a HELP, TYPE or
 * UNIT line, a comment) and the accessors below describe it.  Parsing is
 * zero-copy: names, label names and label values are slices of the input.
 * The exceptions, which live in the parser's scratch memory and stay valid
 * only until the next model_parser_next() / model_parser_reset() /
 * model_parser_free() call, are:
 *   - label values and HELP text that contain escape sequences (text and
 *     OpenMetrics): they are unescaped into scratch (model_label.escaped);
 *   - in protobuf, the names of the series a histogram or summary turns into
 *     (name_bucket, name_sum, name_count) and the values of the le and
 *     quantile labels, which do not exist in the input.
 * Slices of the input stay valid as long as the input does.
 *
 * A typical loop:
 *
 *     core_err err;
 *     model_parser *p = model_parser_new(model_format_from_content_type(ct),
 *                                        body, len, "push body");
 *     for (;;) {
 *         model_entry e = model_parser_next(p, &err);
 *         if (e == MODEL_ENTRY_EOF) break;
 *         if (e == MODEL_ENTRY_ERROR) { log(err.msg); break; }
 *         if (e != MODEL_ENTRY_SERIES) continue;
 *         model_str name = model_parser_name(p);
 *         size_t n;
 *         const model_label *ls = model_parser_labels(p, &n);
 *         double v = model_parser_value(p);
 *         ...
 *     }
 *     model_parser_free(p);
 *
 * Errors name the place: "<name>:<line>:<column>: <what>" for the text
 * formats (1-based; the column counts bytes), "<name>: byte <offset>: <what>"
 * for protobuf (0-based offset of the offending field or message), e.g.
 * `push body:3:14: invalid value "abc" for metric "foo"`.  After an error
 * every further model_parser_next() returns MODEL_ENTRY_ERROR with the same
 * message; after the end it keeps returning MODEL_ENTRY_EOF.  A parser never
 * aborts on bad input.
 *
 * Memory: a parser allocates only to grow its arrays (labels of the longest
 * series, buckets of the largest histogram) and scratch, which it keeps for
 * reuse, so a steady scrape loop that resets one parser per target allocates
 * nothing per entry and, after warming up, nothing per scrape.
 *
 * Where these parsers differ from Prometheus 2.42's textparse is listed at the
 * end of this header.
 */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Formats */

typedef enum model_format {
    MODEL_FORMAT_TEXT,        /* Prometheus text 0.0.4 */
    MODEL_FORMAT_OPENMETRICS, /* OpenMetrics 1.0.0 text */
    MODEL_FORMAT_PROTOBUF,    /* delimited io.prometheus.client.MetricFamily */
} model_format;

/* The parser for an HTTP Content-Type value: "application/openmetrics-text"
 * (any version) is OpenMetrics; "application/vnd.google.protobuf" with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited is protobuf;
 * anything else, NULL and "" included, is the text format, which is what
 * Prometheus falls back to.  Media type and parameter names are matched
 * case-insensitively, parameter values may be quoted. */
model_format model_format_from_content_type(const char *content_type);

/* "text", "openmetrics" or "protobuf". */
const char *model_format_name(model_format f);

/* ---- Entries */

typedef enum model_entry {
    MODEL_ENTRY_ERROR = -1, /* the input is malformed; see the core_err */
    MODEL_ENTRY_EOF = 0,    /* the input is exhausted (for OpenMetrics: "# EOF" seen) */
    MODEL_ENTRY_SERIES,     /* a sample: name, labels, value, timestamp, exemplar */
    MODEL_ENTRY_HELP,       /* "# HELP name text": name and help */
    MODEL_ENTRY_TYPE,       /* "# TYPE name type": name and type */
    MODEL_ENTRY_UNIT,       /* "# UNIT name unit" (OpenMetrics, protobuf): name and unit */
    MODEL_ENTRY_COMMENT,    /* any other "#" line (text format only): comment */
} model_entry;

typedef enum model_type {
    MODEL_TYPE_UNKNOWN, /* "untyped" (text), "unknown" (OpenMetrics), UNTYPED (protobuf) */
    MODEL_TYPE_COUNTER,
    MODEL_TYPE_GAUGE,
    MODEL_TYPE_HISTOGRAM,
    MODEL_TYPE_GAUGEHISTOGRAM,
    MODEL_TYPE_SUMMARY,
    MODEL_TYPE_INFO,
    MODEL_TYPE_STATESET,
} model_type;

/* The type's name as OpenMetrics spells it ("counter", ..., "unknown"). */
const char *model_type_name(model_type t);

/* A slice of bytes, not NUL-terminated. */
typedef struct model_str {
    const char *p;
    size_t len;
} model_str;

/* One label of a series or exemplar, in input order. */
typedef struct model_label {
    model_str name;  /* a slice of the input (or static, for le and quantile) */
    model_str value; /* the value, unescaped: a slice of the input unless `escaped` */
    model_str raw;   /* the value as written, between the quotes (== value unless escaped) */
    bool escaped;    /* raw had escapes; value lives in the parser's scratch */
} model_label;

/* The exemplar of the current series. */
typedef struct model_exemplar {
    const model_label *labels; /* owned by the parser, valid until the next call */
    size_t n_labels;
    double value;
    bool has_ts;
    int64_t ts; /* milliseconds */
} model_exemplar;

/* Prometheus's "normal" NaN (math.Float64frombits(0x7ff8000000000001)): the
 * text parsers give every NaN sample value these bits, so that it can never be
 * mistaken for a staleness marker. */
#define MODEL_NORMAL_NAN_BITS UINT64_C(0x7ff8000000000001)

/* ---- The parser */

typedef struct model_parser model_parser;

/* A parser of `len` bytes at `buf` in format `fmt`.  `name_for_errors` (may
 * be NULL: "input") is copied and starts every error message.  The buffer is
 * borrowed.  Never NULL (out of memory aborts, see core/mem.h). */
model_parser *model_parser_new(model_format fmt, const char *buf, size_t len,
                               const char *name_for_errors);

/* A shortcut for a caller that remembers series it parsed before (the
 * scraper's cache), in the text format: for a line `<series> <value>` or
 * `<series> <value> <timestamp>`, `known` is called with the series text
 * (as model_parser_series_key would give it) before its labels are lexed;
 * if it returns true, the caller vouches that the parser accepted exactly
 * that text before, and the line is taken without lexing the labels again
 * (model_parser_labels and model_parser_labels_new lex them when asked).
 * A false return, or anything unusual about the line, lexes it in full, and
 * errors are the same as without the shortcut.  NULL turns it off; it stays
 * across model_parser_reset. */
typedef bool (*model_known_fn)(void *ctx, const char *series, size_t len);
void model_parser_set_known(model_parser *p, model_known_fn known, void *ctx);

/* Starts over on a new buffer, keeping the parser's memory for reuse. */
void model_parser_reset(model_parser *p, model_format fmt, const char *buf, size_t len,
                        const char *name_for_errors);

void model_parser_free(model_parser *p);

/* Advances to the next entry.  On MODEL_ENTRY_ERROR the message goes to
 * `err` (may be NULL; model_parser_error() has it too). */
model_entry model_parser_next(model_parser *p, core_err *err);

/* The message of the error that stopped the parser, or NULL. */
const char *model_parser_error(const model_parser *p);

/* The format being parsed. */
model_format model_parser_format(const model_parser *p);

/* ---- The current entry
 *
 * Accessors describe the entry the last model_parser_next() returned; asked
 * about a field the entry does not have they return an empty value (empty
 * slice, 0, false). */

/* SERIES: the metric name (in protobuf, with the _bucket/_sum/_count suffix
 * where one applies, then in scratch).  HELP, TYPE, UNIT: the family name. */
model_str model_parser_name(const model_parser *p);

/* SERIES: the labels between the braces, in input order, without __name__.
 * In protobuf the le or quantile label a bucket or quantile series gets is
 * the last one.  Sets *n (not NULL) to their number.  The array is owned by
 * the parser. */
const model_label *model_parser_labels(model_parser *p, size_t *n);

/* SERIES: the sample value.  NaN from the text formats has
 * MODEL_NORMAL_NAN_BITS; protobuf values are passed through as sent. */
double model_parser_value(const model_parser *p);

/* SERIES: whether the sample has a timestamp; if so *ts (may be NULL) gets it
 * in milliseconds.  OpenMetrics seconds are multiplied by 1000 and truncated
 * toward zero as Prometheus does; protobuf's timestamp_ms 0 means none. */
bool model_parser_timestamp(const model_parser *p, int64_t *ts);

/* SERIES: whether the series carries an exemplar (OpenMetrics; protobuf
 * counters and histogram buckets); if so *ex (may be NULL) describes it. */
bool model_parser_exemplar(const model_parser *p, model_exemplar *ex);

/* SERIES: the series as written, to key a cache with: for the text formats
 * the bytes from the metric name to the closing brace (a slice of the
 * input); for protobuf the name followed by 0xff name 0xff value for each
 * label, built in scratch on demand as upstream builds its metric bytes. */
model_str model_parser_series_key(model_parser *p);

/* TYPE: the type. */
model_type model_parser_type(const model_parser *p);

/* HELP: the help text, unescaped (text format: \\ and \n; OpenMetrics: \\,
 * \n and \"), a slice of the input unless model_parser_help_escaped(). */
model_str model_parser_help(const model_parser *p);
/* HELP: whether the text had escapes, so model_parser_help() is in scratch. */
bool model_parser_help_escaped(const model_parser *p);
/* HELP: the text as written. */
model_str model_parser_help_raw(const model_parser *p);

/* UNIT: the unit (may be empty). */
model_str model_parser_unit(const model_parser *p);

/* COMMENT: the whole line from the '#', without the newline. */
model_str model_parser_comment(const model_parser *p);

/* SERIES: the series' label set with __name__, sorted, for callers that want
 * a core_labels (see core/labels.h): in `arena`, or malloc'd when arena is
 * NULL.  Returns NULL with a message if a name or value holds a NUL byte,
 * which a core_labels (C strings) cannot carry. */
core_labels *model_parser_labels_new(model_parser *p, core_arena *arena, core_err *err);

/* SERIES: the same for the exemplar's labels (no __name__).  NULL with a
 * message if there is no exemplar or a string holds a NUL byte. */
core_labels *model_parser_exemplar_labels_new(model_parser *p, core_arena *arena, core_err *err);

/* ---- Helpers */

/* Which escapes model_unescape() undoes. */
typedef enum model_escapes {
    MODEL_ESCAPES_LABEL_VALUE, /* \\ \" \n (both formats), also OpenMetrics HELP */
    MODEL_ESCAPES_TEXT_HELP,   /* \\ \n (text format HELP) */
} model_escapes;

/* Appends the unescaped form of `raw` to `out`.  A backslash before any other
 * character is kept, as Prometheus keeps it. */
void model_unescape(model_str raw, model_escapes which, core_sb *out);

/* Decodes the UTF-8 rune at s[0..n) as Go's utf8.DecodeRuneInString: returns
 * its size, or 0 when n is 0 or the bytes are not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included), which Go reads as
 * U+FFFD of width 1. */
size_t model_utf8_decode(const char *s, size_t n, uint32_t *rune);

/* Longest output of model_format_float, NUL included. */
#define MODEL_FLOAT_BUFSZ 32

/* Writes v as Go's strconv.FormatFloat(v, 'g', -1, 64) does, which is how
 * Prometheus writes le and quantile values: the shortest decimal that reads
 * back as v, in %e form when the exponent is below -4 or at least 6 ("0.005",
 * "1", "100000", "1e+06", "1.5e-07", "+Inf", "-Inf", "NaN", "-0").  Returns
 * the length; buf is NUL-terminated. */
size_t model_format_float(double v, char buf[MODEL_FLOAT_BUFSZ]);

/* Most digits model_float_digits writes. */
#define MODEL_FLOAT_DIGITS 17

/* The digits model_format_float writes for a finite v, the sign left out:
 * |v| = 0.d[0]d[1]...d[n-1] x 10^*point, without trailing zeros ("0", point
 * 1 for zeros).  Returns n, 1 to 17, or 0 for NaN and infinities; d is not
 * NUL-terminated.  For other layouts of the same digits, such as the API's
 * sample values. */
int model_float_digits(double v, char d[MODEL_FLOAT_DIGITS], int *point);

/* ---- Regular expressions (regex.c)
 *
 * Prometheus's regexes are Go's (RE2 syntax) and match a whole value: a
 * relabel rule's `regex: foo.*` and a PromQL matcher `=~"foo.*"` are compiled
 * as `^(?s:foo.*)$`.  model_regex does the same on PCRE2: the pattern is
 * parsed with Go's grammar (Go's messages, e.g. "error parsing regexp:
 * missing closing ): `^(?s:(abc)$`", for every pattern Go refuses, such as
 * look-arounds, backreferences, possessive or nested repetitions, \e or \Z),
 * translated to PCRE2 syntax with the same meaning and compiled with JIT where
 * the platform has it.  Submatches follow Go's leftmost-first rules, which
 * are PCRE2's.
 *
 * Differences from Go, all on inputs a configuration rarely has:
 * - Go runs in linear time; PCRE2 backtracks.  A match is bounded by a match
 *   limit (MODEL_REGEX_MATCH_LIMIT steps); a pattern that exceeds it on some
 *   value counts as not matching that value.
 * - Invalid UTF-8 in a value never matches a `.` or a class (Go treats each
 *   bad byte as U+FFFD); `.*` and `(.*)` still match everything.
 * - `(?i)` does not widen \p{..} classes (PCRE2 ignores case there), nor
 *   \w, \W and \b to U+017F and U+212A (which Go folds to s and k); Unicode
 *   property names are checked by PCRE2, whose list is close to Go's.
 * - A repeated group whose body can match the empty string may end on an
 *   empty last iteration, which Go never takes: `(a?)*` on "aa" captures ""
 *   here and "a" in Go.  Whether a value matches is not affected.
 * - Go's expression-size limits ("expression too large") are PCRE2's.
 *
 * Thread safety: a compiled model_regex is immutable; any number of threads
 * may match with it at once.  The match data lives in thread-local storage,
 * one block per thread (freed when the thread exits), so a match allocates
 * nothing once a thread has seen its largest pattern.
 */

typedef struct model_regex model_regex;

/* Steps a single match may take before it is given up (PCRE2 match limit). */
#define MODEL_REGEX_MATCH_LIMIT 1000000

/* An unset submatch offset. */
#define MODEL_REGEX_UNSET ((size_t)-1)

/* Compiles `pattern` (NUL-terminated) anchored as ^(?s:pattern)$.  NULL with
 * Go's message in err when Go would refuse the pattern. */
model_regex *model_regex_new(const char *pattern, core_err *err);
/* The same for `len` bytes (the pattern may then hold NUL bytes). */
model_regex *model_regex_new_n(const char *pattern, size_t len, core_err *err);
void model_regex_free(model_regex *re);

/* The pattern as given (without the anchors), NUL-terminated. */
const char *model_regex_pattern(const model_regex *re);
/* Number of capturing groups (group 0, the whole match, not counted). */
size_t model_regex_groups(const model_regex *re);
/* True when the pattern matches every value (".*", "(.*)"). */
bool model_regex_matches_all(const model_regex *re);

/* Whether the whole of s[0..len) matches. */
bool model_regex_match(const model_regex *re, const char *s, size_t len);

/* Matches s[0..len) and, on a match, writes the byte offsets of groups 0 ..
 * npairs-1 into ov (start, end per group; MODEL_REGEX_UNSET for a group that
 * did not take part).  Returns whether it matched. */
bool model_regex_exec(const model_regex *re, const char *s, size_t len, size_t *ov, size_t npairs);

/* Appends `tmpl` with $1, ${1}, $name and ${name} replaced by the submatches
 * of a match of `subject` (offsets from model_regex_exec), exactly as Go's
 * Regexp.Expand: a name is the longest run of letters, digits and '_' after
 * the '$' (so "$1x" is the group named "1x", which is empty when there is
 * none), "$$" is "$", a '$' not followed by a valid reference is copied, a
 * number with a leading zero or past 1e8 is looked up as a name, and a named
 * reference takes the first group of that name that took part in the match. */
void model_regex_expand(const model_regex *re, const char *tmpl, size_t tlen, const char *subject,
                        const size_t *ov, size_t npairs, core_sb *out);

/* model_regex_exec then model_regex_expand into out; false (and out
 * untouched) when s does not match. */
bool model_regex_replace(const model_regex *re, const char *s, size_t len, const char *tmpl,
                         size_t tlen, core_sb *out);

/* ---- Relabeling (relabel.c)
 *
 * Prometheus's relabel_configs, metric_relabel_configs, alert_relabel_configs
 * and write_relabel_configs: an ordered list of rules applied to a label set,
 * each of which may rewrite it or drop it.  The rules and their checks are
 * upstream's model/relabel (Prometheus 3.x).
 */

typedef enum model_relabel_action {
    MODEL_RELABEL_NONE, /* `action:` given empty: refused by validation */
    MODEL_RELABEL_REPLACE,
    MODEL_RELABEL_KEEP,
    MODEL_RELABEL_DROP,
    MODEL_RELABEL_KEEPEQUAL,
    MODEL_RELABEL_DROPEQUAL,
    MODEL_RELABEL_HASHMOD,
    MODEL_RELABEL_LABELMAP,
    MODEL_RELABEL_LABELDROP,
    MODEL_RELABEL_LABELKEEP,
    MODEL_RELABEL_LOWERCASE,
    MODEL_RELABEL_UPPERCASE,
} model_relabel_action;

/* "replace", ...; "" for MODEL_RELABEL_NONE. */
const char *model_relabel_action_name(model_relabel_action a);
/* Parses an action name case-insensitively as upstream does; -1 with
 * `unknown relabel action "x"` when it is none. */
int model_relabel_action_parse(const char *s, model_relabel_action *out, core_err *err);

/* Label name checks of Prometheus 3.x: UTF-8 (the default: any non-empty valid
 * UTF-8) or legacy ([a-zA-Z_][a-zA-Z0-9_]*). */
typedef enum model_name_scheme {
    MODEL_NAMES_UTF8,
    MODEL_NAMES_LEGACY,
} model_name_scheme;

bool model_label_name_valid(model_name_scheme scheme, const char *s, size_t len);

/* One rule.  Strings are owned by the rule (malloc'd) once it went through
 * model_relabel_cfg_init and the setters below, and freed by
 * model_relabel_cfg_destroy. */
typedef struct model_relabel_cfg {
    char **source_labels;
    size_t n_source_labels;
    bool source_labels_set; /* given in the config, even empty */
    char *separator;        /* default ";" */
    model_regex *regex;     /* default (.*) */
    bool regex_set;         /* given in the config (upstream compares with its default) */
    uint64_t modulus;
    char *target_label; /* default "" */
    char *replacement;  /* default "$1" */
    model_relabel_action action;
    model_name_scheme scheme; /* for target_label checks, set by validation */
} model_relabel_cfg;

/* A rule with upstream's defaults: separator ";", regex (.*), replacement
 * "$1", action replace. */
void model_relabel_cfg_init(model_relabel_cfg *c);
void model_relabel_cfg_destroy(model_relabel_cfg *c);
/* Replace a field (copies the strings; set_regex takes the regex). */
void model_relabel_cfg_set_source_labels(model_relabel_cfg *c, const char *const *names, size_t n);
void model_relabel_cfg_set_separator(model_relabel_cfg *c, const char *s);
void model_relabel_cfg_set_target_label(model_relabel_cfg *c, const char *s);
void model_relabel_cfg_set_replacement(model_relabel_cfg *c, const char *s);
void model_relabel_cfg_set_regex(model_relabel_cfg *c, model_regex *re);

/* Upstream's Config.Validate under `scheme`: e.g. "relabel configuration for
 * hashmod requires non-zero modulus", "\"1x\" is invalid 'target_label' for
 * replace action", "labeldrop action requires only 'regex', and no other
 * fields".  Records the scheme in the rule for model_relabel_process. */
int model_relabel_validate(model_relabel_cfg *c, model_name_scheme scheme, core_err *err);

/* Applies rules cfgs[0..n) in order to the label set held by builder `b`, as
 * upstream's relabel.ProcessBuilder.  Returns false as soon as a rule drops
 * the set (the builder is then in an unspecified state).  New names and values
 * are allocated in `arena`, which must outlive the builder's result (reset it
 * after core_labels_builder_labels). */
bool model_relabel_process(const model_relabel_cfg *cfgs, size_t n, core_labels_builder *b,
                           core_arena *arena);

/* The same on a label set: returns a new malloc'd set (free()), or NULL when
 * the set was dropped. */
core_labels *model_relabel_labels(const model_relabel_cfg *cfgs, size_t n, const core_labels *in);

/*
 * Differences from Prometheus 2.42's textparse, all deliberate:
 *
 * - Duplicate label names (including a label called __name__, and in protobuf
 *   a user label called le or quantile on a bucket or quantile series) are a
 *   parse error here; upstream lets them through to fail at append time.
 *   Exemplar label names are checked the same way.
 * - OpenMetrics exemplar label values are unescaped like series label values
 *   (2.42 hands them on still escaped).  Spaces before a text-format series
 *   are not part of its name (2.42's Metric() keeps them in __name__).
 * - A NUL byte at the start of a text-format line is an error (upstream's
 *   lexer silently ends the input there).  NUL bytes inside label values,
 *   HELP text and comments are ordinary characters, in exemplars too.
 * - OpenMetrics timestamps whose milliseconds do not fit an int64 are an
 *   error (Go converts them to an unspecified value).
 * - Protobuf: le and quantile values are written with Go's
 *   FormatFloat(v, 'g', -1, 64) ("1", as client_golang's text format writes
 *   them), not upstream 2.42's formatOpenMetricsFloat ("1.0"), so a target
 *   gives the same series whichever format it is scraped in.  Series come in
 *   the text format's order (buckets or quantiles, then _sum, then _count;
 *   upstream emits _count and _sum first).  Gauge histograms get the
 *   _bucket/_sum/_count suffixes (2.42 leaves _sum and _count unsuffixed, a
 *   bug fixed later upstream).  A family's UNIT entry is emitted when its unit
 *   is set, as later upstream does.  Native histogram fields are skipped: a
 *   histogram always yields its classic series.  sample_count_float and
 *   cumulative_count_float are used when non-zero, as later upstream does.
 *   Exemplar labels are validated like series labels.  Groups (wire types 3
 *   and 4) are rejected; the message types involved never contain them.
 * - model_format_from_content_type() wants the proto and encoding parameters
 *   for protobuf, as the pushgateway does (the scraper in 2.42 only looks at
 *   the media type).
 */

#endif
