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
 *   targets.c /targets, /scrape_pools, /targets/metadata, /metadata
 *   admin.c   /status/tsdb, /status/walreplay and the admin endpoints
 *   expo.c    exposition formats for /federate: Accept negotiation, name
 *             escaping, the text and protobuf writers
 *   federate.c /federate
 */
#ifndef WEB_INTERNAL_H
#define WEB_INTERNAL_H

#include "web/web.h"

#include <pthread.h>
#include <stdarg.h>

/* ---- api.c: what the endpoint files share */

typedef enum web_err {
    WEB_ERR_NONE,
    WEB_ERR_TIMEOUT,
    WEB_ERR_CANCELED,
    WEB_ERR_EXEC,
    WEB_ERR_BAD_DATA,
    WEB_ERR_INTERNAL,
    WEB_ERR_UNAVAILABLE,
    WEB_ERR_NOT_FOUND,
} web_err;

/* What an endpoint answers: data (JSON text) with warnings and infos, an
 * error, or nothing (204). */
typedef struct web_reply {
    core_arena *arena; /* the request's */
    web_err err;
    core_err msg;
    core_sb data; /* empty: no data (204) */
    const char **warn, **info;
    size_t nwarn, ninfo, capwarn, capinfo;
    size_t more_warn, more_info; /* past the ten shown */
} web_reply;

/* Sets the error; returns -1. */
int web_fail(web_reply *r, web_err t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* upstream's invalidParamError: `invalid parameter "name": <err>` (bad_data). */
int web_bad_param(web_reply *r, const char *name, const core_err *e);
/* Adds a warning (info false) or an info annotation. */
void web_add_note(web_reply *r, bool info, const char *text);

typedef void (*web_endpoint)(web_api *api, core_http_req *req, web_reply *r);

typedef struct web_route {
    web_api *api;
    web_endpoint fn;
} web_route;

#define WEB_MAX_ROUTES 48

struct web_api {
    web_api_opts o;
    web_route routes[WEB_MAX_ROUTES];
    web_flag *flags; /* copies, sorted by name */
    size_t nflags;
    char *storage_retention;
    void *cors_re;        /* NULL when the origin regex is ".*" (every origin: "*") */
    pthread_mutex_t lock; /* config state and the query gate */
    pthread_cond_t freed;
    unsigned active;
    /* Query figures for /metrics (under `lock`). */
    uint64_t queries;
    double queue_seconds, eval_seconds;
    char *config_yaml;
    bool config_ok;
    int64_t config_ms;
    char *db_dir;
    /* globalUrl: the external URL's scheme and host, the listen port */
    char *ext_scheme, *ext_host, *listen_port;
    /* Scrape configuration and external labels, under `lock`. */
    char **pools;
    uint64_t *dropped_counts;
    size_t npools;
    web_dropped_target *dropped; /* pool and labels owned */
    size_t ndropped;
    core_labels *external_labels; /* never NULL */
};

/* Go's time.Time in JSON as upstream writes a target's lastScrape: RFC3339
 * with the fraction's trailing zeros dropped, in the local zone ("Z" when
 * it is UTC); the zero time (ms 0) as "0001-01-01T00:00:00Z". */
void web_json_go_time(core_sb *sb, int64_t ms);

/* ---- targets.c */

void web_ep_rules(web_api *api, core_http_req *req, web_reply *r);
void web_ep_alerts(web_api *api, core_http_req *req, web_reply *r);
void web_ep_alertmanagers(web_api *api, core_http_req *req, web_reply *r);
void web_ep_targets(web_api *api, core_http_req *req, web_reply *r);
void web_ep_scrape_pools(web_api *api, core_http_req *req, web_reply *r);
void web_ep_targets_metadata(web_api *api, core_http_req *req, web_reply *r);
void web_ep_metadata(web_api *api, core_http_req *req, web_reply *r);

/* upstream's getGlobalURL: a scrape URL on localhost ("127.0.0.1",
 * "localhost", "::1") gets the external URL's host (and scheme, when its port
 * is ours); others are left as they are.  Into out. */
void web_global_url(const char *url, const char *ext_scheme, const char *ext_host,
                    const char *listen_port, core_sb *out);
/* Go's net.SplitHostPort after upstream's sanitizeSplitHostPort: "[::1]:80"
 * is "::1" and "80", "host" is "host" and "" (no port); false on a malformed
 * address.  host and port are copies in the arena. */
bool web_split_host_port(const char *in, core_arena *arena, const char **host, const char **port);

/* ---- admin.c */

void web_ep_tsdb_status(web_api *api, core_http_req *req, web_reply *r);
void web_ep_walreplay(web_api *api, core_http_req *req, web_reply *r);
void web_ep_snapshot(web_api *api, core_http_req *req, web_reply *r);
void web_ep_delete_series(web_api *api, core_http_req *req, web_reply *r);
void web_ep_clean_tombstones(web_api *api, core_http_req *req, web_reply *r);

/* Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False. */
bool web_parse_bool(const char *s, bool *out);
/* The snapshot's directory name as upstream makes it: the UTC time as
 * 20060102T150405Z and 16 hex digits of a random 63-bit number. */
void web_snapshot_name(int64_t ms, uint64_t rnd, char out[64]);

/* The statistics of /status/tsdb, computed as Prometheus 3.x does from every
 * (label name, value, series count) of the head: the top `limit` of each
 * list by count, ties by name. */
typedef struct web_tsdb_stats {
    uint64_t num_label_pairs;
    tsdb_stat *by_metric, *by_label, *memory, *by_pair;
    size_t n_by_metric, n_by_label, n_memory, n_by_pair;
} web_tsdb_stats;

/* One label pair of the head with its series count. */
typedef struct web_pair_count {
    const char *name, *value;
    uint64_t series;
} web_pair_count;

/* pairs sorted by name then value. */
void web_tsdb_stats_compute(const web_pair_count *pairs, size_t n, size_t limit, core_arena *arena,
                            web_tsdb_stats *out);

/* ---- expo.c */

typedef enum web_expo_format {
    WEB_EXPO_TEXT,          /* text/plain; version=0.0.4 */
    WEB_EXPO_PROTO_DELIM,   /* protobuf, varint-delimited MetricFamily messages */
    WEB_EXPO_PROTO_TEXT,    /* protobuf text format, one message per family */
    WEB_EXPO_PROTO_COMPACT, /* the same on one line per family */
} web_expo_format;

typedef enum web_escaping {
    WEB_ESCAPE_NONE, /* allow-utf-8 */
    WEB_ESCAPE_UNDERSCORES,
    WEB_ESCAPE_DOTS,
    WEB_ESCAPE_VALUES,
} web_escaping;

/* upstream's expfmt.Negotiate over an Accept header (NULL: none): the
 * format and the escaping scheme ("underscores" unless a clause asks for
 * another). */
void web_expo_negotiate(const char *accept, web_expo_format *fmt, web_escaping *esc);
/* The Content-Type of what web_expo_negotiate chose (a literal). */
const char *web_expo_content_type(web_expo_format fmt, web_escaping esc);
/* model.EscapeName: name as the scheme escapes it (unchanged when it is a
 * valid legacy name, except with dots). */
void web_escape_name(const char *name, web_escaping esc, core_sb *out);
/* Whether a name passes the legacy metric name check [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool web_legacy_name(const char *name);

/* One sample of an untyped family for the writers: labels in output order
 * (the metric name not among them). */
typedef struct web_expo_sample {
    const core_label *labels;
    size_t nlabels;
    double value;
    int64_t t;
} web_expo_sample;

/* Appends one untyped family with its samples in the format, names escaped
 * as asked (expfmt's MetricFamilyToText and protodelim of a MetricFamily). */
void web_expo_family(core_sb *out, web_expo_format fmt, web_escaping esc, const char *name,
                     const web_expo_sample *s, size_t n);
/* Go's strconv.FormatFloat(v, 'g', -1, 64) as expfmt's writeFloat, with 0,
 * 1, -1, NaN, +Inf, -Inf spelled as it spells them. */
void web_expo_float(core_sb *out, double v);

/* ---- federate.c */

void web_federate(core_http_req *req, core_http_resp *resp, void *userdata);

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

/* The same without the non-empty check, as upstream's ParseMetricSelector
 * for /federate, delete_series and match_target ({a=""} selects every
 * series). */
int web_parse_selectors(const char *const *sel, size_t n, const pql_parse_opts *popts,
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
