/*
 * internal.h - what the files of server/web share behind the door (and what
 * its unit tests reach):
 *
 *   json.c    JSON as upstream's jsoniter writes it: strings, sample values,
 *             timestamps, label sets, query results
 *   params.c  request parameters: times, durations, limits, match[] selectors,
 *             label names in the path; Go's %q quoting for messages
 *   pretty.c  the query prettifier behind /format_query (upstream's Pretty)
 *   ast.c     the JSON tree behind /parse_query (upstream's translateAST)
 *   api.c     handlers, envelope, query queue and deadlines, routes
 */
#ifndef WEB_INTERNAL_H
#define WEB_INTERNAL_H

#include "web/web.h"

/* ---- json.c */

/* Appends `s` as a JSON string the way jsoniter's standard-library-compatible
 * config does: ", \ escaped, \n \r \t by name, other controls as \u00xx,
 * <, > and & as \u003c \u003e \u0026, U+2028 and U+2029 escaped, and each
 * byte of invalid UTF-8 replaced by \ufffd. */
void web_json_str(core_sb *sb, const char *s, size_t n);
void web_json_cstr(core_sb *sb, const char *s);

/* Longest output of web_format_value, NUL included. */
#define WEB_VALUE_BUFSZ 40

/* A sample value as util/jsonutil.MarshalFloat writes it (without the
 * quotes): strconv.FormatFloat(v, 'f', -1, 64), but 'e' below 1e-6 and from
 * 1e21 on; "NaN", "+Inf", "-Inf" (a staleness marker is a NaN too). */
size_t web_format_value(double v, char buf[WEB_VALUE_BUFSZ]);
/* strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as
 * v, never an exponent (1e300 is 301 digits). */
void web_format_float_f(double v, core_sb *sb);
/* A JSON number as Go's encoding/json writes a float64 (stats timings). */
void web_json_number(core_sb *sb, double v);

/* "value" string of a sample, quotes included. */
void web_json_value(core_sb *sb, double v);
/* A timestamp as Unix seconds, as upstream's MarshalTimestamp writes it:
 * three decimals when there is a fraction ("1700000000", "1.500", "-0.001"). */
void web_json_time(core_sb *sb, int64_t ms);
/* {"name":"value",...} in the set's order. */
void web_json_labels(core_sb *sb, const core_labels *ls);
/* {"resultType":"vector","result":[...]} of an engine result; at most
 * `limit` series (0: all). */
void web_json_result(core_sb *sb, const pql_result *r, size_t limit);
/* ["a","b"] */
void web_json_strings(core_sb *sb, const char *const *v, size_t n);

/* ---- params.c */

/* Go's strconv.Quote, as %q writes strings into upstream's messages. */
void web_go_quote(core_sb *sb, const char *s, size_t n);

/* A time parameter: Unix seconds as a float or RFC3339, as upstream's
 * parseTime.  Error: `cannot parse "x" to a valid timestamp`. */
int web_parse_time(const char *s, int64_t *ms, core_err *err);
/* An optional time parameter: `def` when absent or empty; error
 * `invalid time value for 'start': cannot parse ...`. */
int web_parse_time_param(const char *s, const char *name, int64_t def, int64_t *ms, core_err *err);
/* A duration parameter, float seconds or a Prometheus duration, as upstream's
 * parseDuration: `cannot parse "x" to a valid duration`. */
int web_parse_duration(const char *s, int64_t *ms, core_err *err);
/* The limit parameter: empty is 0 (no limit); errors as strconv.Atoi's
 * (`strconv.Atoi: parsing "x": invalid syntax`) or `limit must be non-negative`. */
int web_parse_limit(const char *s, int64_t *limit, core_err *err);

/* The matchers of one match[] selector. */
typedef struct web_matchers {
    const pql_matcher *m;
    size_t n;
} web_matchers;

/* Parses match[] selectors as upstream's ParseMetricSelectors and then
 * checks that each has a matcher that does not match "": errors are the
 * parser's ("1:5: parse error: unexpected \"(\"") or `match[] must contain at
 * least one non-empty matcher`.  *sets is arena memory. */
int web_parse_matchers(const char *const *sel, size_t n, const pql_parse_opts *popts,
                       core_arena *arena, web_matchers **sets, core_err *err);

/* A label name from the URL path: "U__" names are unescaped as upstream's
 * model.UnescapeName (values escaping); others are returned as they are. */
const char *web_label_name_param(const char *raw, core_arena *arena);
/* Whether a label name is valid in 3.x: non-empty UTF-8. */
bool web_label_name_valid(const char *s);

/* ---- pretty.c */

/* Appends upstream's Pretty(0) of n: the canonical text, split over indented
 * lines where a node's text is longer than 100 characters. */
void web_pretty(const pql_node *n, core_sb *sb);

/* ---- ast.c */

/* Appends upstream's translateAST JSON of n (object keys sorted, as Go writes
 * maps). */
void web_ast_json(const pql_node *n, core_sb *sb);

#endif
