/*
 * rules.h - the door of server/rules: recording and alerting rules, as
 * Prometheus 3.x's rules/, model/rulefmt and template packages.
 *
 * Three parts, each usable on its own:
 *
 *   Templates   Go text/template as Prometheus uses it in alert labels and
 *               annotations (and console pages): {{ $labels.x }}, {{ $value }},
 *               pipelines, if/else/range/with/define/template, variables, the
 *               builtins and Prometheus's functions (humanize, query, ...).
 *               Output and error messages are upstream's, word for word where
 *               it matters (an error becomes the alert's text).
 *   Rule files  rules_file_parse/_load: the rulefmt schema with strict keys
 *               and upstream's validation, every error naming file:line:col,
 *               the group and the rule.
 *   Manager     groups loaded from prometheus.yml's rule_files (globs), each
 *               evaluated on its interval at upstream's slot (a hash of file
 *               and group name), results appended to the TSDB; alert states,
 *               ALERTS / ALERTS_FOR_STATE series, restoring `for` state after
 *               a restart, staleness markers, reload keeping unchanged groups,
 *               snapshots for the API and self-metrics.
 *
 * Threads: the manager runs one thread per group (unless opts.manual, where a
 * test drives evaluations with rules_manager_eval_group).  Snapshots may be
 * taken from any thread.  Rule files and templates are plain data: use them
 * from one thread at a time.
 */
#ifndef RULES_RULES_H
#define RULES_RULES_H

#include "config/config.h"
#include "core/core.h"
#include "model/model.h"
#include "promql/engine.h"
#include "promql/promql.h"
#include "promql/storage.h"
#include "tsdb/tsdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ======================================================================
 * Templates
 * ====================================================================== */

/* One element of a query result, as the `query` template function sees it. */
typedef struct rules_tmpl_sample {
    const core_labels *labels;
    double value;
} rules_tmpl_sample;

/* Runs an instant query for the `query` template function: fills *out
 * (array and labels in `arena`) or returns -1 with the engine's message.
 * A scalar result is one sample without labels. */
typedef int (*rules_query_fn)(void *ctx, const char *query, int64_t t_ms, core_arena *arena,
                              rules_tmpl_sample **out, size_t *n, core_err *err);

typedef struct rules_tmpl_opts {
    int64_t time_ms;      /* the expansion's time: query and now use it */
    rules_query_fn query; /* NULL: query fails with "no query engine" */
    void *query_ctx;
    const char *external_url; /* externalURL, pathPrefix (NULL: "") */
    bool html;                /* HTML mode (console pages): escaping, tmpl */
} rules_tmpl_opts;

/* The data an alert template sees: .Labels, .ExternalLabels, .ExternalURL,
 * .Value, and the variables $labels, $externalLabels, $externalURL, $value. */
typedef struct rules_alert_data {
    const core_labels *labels;          /* the alert's, __name__ included when present */
    const core_labels *external_labels; /* may be NULL */
    const char *external_url;           /* may be NULL */
    double value;
} rules_alert_data;

/* A parsed alert template (upstream's NewTemplateExpander with the four
 * variable definitions put in front, named "__alert_<alertname>"). */
typedef struct rules_tmpl rules_tmpl;

/* Parses `text`; NULL with upstream's message ("template: __alert_X:1:
 * function \"humanise\" not defined") when it does not parse. */
rules_tmpl *rules_tmpl_new_alert(const char *alert_name, const char *text, core_err *err);
/* A template over arbitrary text named `name`, without the definitions (for
 * console-like use and tests); its data is given at expansion. */
rules_tmpl *rules_tmpl_new(const char *name, const char *text, bool html, core_err *err);
void rules_tmpl_free(rules_tmpl *t);

/* Expands an alert template into `out` (appended).  On failure returns -1
 * with upstream's error ("error executing template __alert_X: template:
 * __alert_X:1:104: executing \"__alert_X\" at <humanize \"x\">: error calling
 * humanize: ..."); `out` then holds nothing new. */
int rules_tmpl_expand_alert(const rules_tmpl *t, const rules_alert_data *d,
                            const rules_tmpl_opts *o, core_sb *out, core_err *err);

/* What an alerting rule does with a label or annotation: expands it, and on
 * failure writes "<error expanding template: ...>" instead and logs it (warn,
 * "Expanding alert template failed").  Counts expansions and failures
 * (prometheus_template_text_expansions_total / _failures_total). */
void rules_tmpl_expand_or_error(const rules_tmpl *t, const rules_alert_data *d,
                                const rules_tmpl_opts *o, core_sb *out);

/* Checks that `text` parses as an alert template, as rule file validation
 * does (the error is the parser's, without "error parsing template"). */
int rules_tmpl_check_alert(const char *alert_name, const char *text, core_err *err);

/* Template expansions and failures since the start (all threads). */
void rules_tmpl_counters(uint64_t *expansions, uint64_t *failures);

/* ======================================================================
 * Rule files (rulefmt.c)
 * ====================================================================== */

typedef enum rules_kind {
    RULES_RECORDING,
    RULES_ALERTING,
} rules_kind;

typedef struct rules_rule_def {
    rules_kind kind;
    const char *name; /* record or alert */
    const char *expr;
    int64_t for_ms, keep_firing_for_ms;
    core_labels *labels;      /* the rule's own, never NULL */
    core_labels *annotations; /* never NULL */
    int line, col;            /* the rule's mapping */
    int expr_line, expr_col;
} rules_rule_def;

typedef struct rules_group_def {
    const char *name;
    int64_t interval_ms; /* 0: not given (the global evaluation_interval) */
    bool has_query_offset;
    int64_t query_offset_ms;
    int64_t limit;       /* 0: none */
    core_labels *labels; /* never NULL */
    rules_rule_def *rules;
    size_t nrules;
    int line, col;
} rules_group_def;

/* A parsed rule file.  Everything lives in its arena. */
typedef struct rules_file {
    const char *name; /* the path or name given */
    rules_group_def *groups;
    size_t ngroups;
    core_arena arena;
} rules_file;

typedef struct rules_parse_opts {
    model_name_scheme names;    /* label/metric name checks; default UTF-8 */
    pql_parse_opts promql;      /* parser features for expr */
    bool ignore_unknown_fields; /* upstream's promtool --ignore-unknown-fields */
} rules_parse_opts;

/* Parses and checks rule file text.  Returns the file, or NULL when there is
 * any error: `err` gets the first, `all` (may be NULL) every message, one per
 * line.  Messages start with "name:line:col: " and, for a rule, name it as
 * upstream: `alerts.yml:7:15: group "g", rule 1, "HighLatency": could not
 * parse expression: 1:5: parse error: ...`. */
rules_file *rules_file_parse(const char *name, const char *text, size_t len,
                             const rules_parse_opts *o, core_err *err, core_sb *all);
/* Reads and parses a file ("open x.yml: No such file or directory"). */
rules_file *rules_file_load(const char *path, const rules_parse_opts *o, core_err *err,
                            core_sb *all);
void rules_file_free(rules_file *f);

/* Expands rule_files globs (in order, each glob's matches sorted, as Go's
 * filepath.Glob) into *out (malloc'd array of malloc'd strings; free with
 * rules_files_free).  A bad pattern: -1 with "error retrieving rule files for
 * <pattern>: syntax error in pattern". */
int rules_glob(const char *const *patterns, size_t n, char ***out, size_t *nout, core_err *err);
void rules_files_free(char **files, size_t n);

/* ======================================================================
 * The manager (manager.c, group.c, rule.c)
 * ====================================================================== */

typedef enum rules_health {
    RULES_HEALTH_UNKNOWN, /* "unknown" */
    RULES_HEALTH_OK,      /* "ok" */
    RULES_HEALTH_ERR,     /* "err" */
} rules_health;

typedef enum rules_alert_state {
    RULES_STATE_UNKNOWN, /* not evaluated yet */
    RULES_STATE_INACTIVE,
    RULES_STATE_PENDING,
    RULES_STATE_FIRING,
} rules_alert_state;

/* "ok", "err", "unknown". */
const char *rules_health_name(rules_health h);
/* "inactive", "pending", "firing", "unknown". */
const char *rules_state_name(rules_alert_state s);

/* An alert handed to the notifier (upstream's SendAlerts): what goes to the
 * Alertmanager. */
typedef struct rules_notify_alert {
    const core_labels *labels;
    const core_labels *annotations;
    int64_t starts_at_ms;      /* when it started firing */
    int64_t ends_at_ms;        /* resolved time, or valid-until while firing */
    const char *generator_url; /* external URL + /graph?g0.expr=...&g0.tab=1 */
} rules_notify_alert;

/* Called from a group's thread after each alerting rule's evaluation with the
 * alerts due for sending (firing ones every resend delay, resolved ones until
 * 15 minutes after resolution); n may be 0 (as upstream, which calls with
 * none).  Everything is valid during the call only. */
typedef void (*rules_notify_fn)(void *ctx, const char *expr, const rules_notify_alert *alerts,
                                size_t n);

/* Milliseconds since the epoch; NULL in the options: the real-time clock. */
typedef int64_t (*rules_clock_fn)(void *ctx);

typedef struct rules_manager_opts {
    tsdb_db *db;          /* where results go (tsdb_db_appender) */
    pql_storage *storage; /* what queries read: acquired per evaluation */
    pql_engine_opts engine;
    pql_parse_opts promql;
    model_name_scheme names;
    const char *external_url;    /* --web.external-url; NULL: "" */
    int64_t outage_tolerance_ms; /* --rules.alert.for-outage-tolerance (0: 1h) */
    int64_t for_grace_period_ms; /* --rules.alert.for-grace-period (0: 10m) */
    int64_t resend_delay_ms;     /* --rules.alert.resend-delay (0: 1m) */
    rules_notify_fn notify;      /* may be NULL */
    void *notify_ctx;
    /* No threads: evaluations happen only through rules_manager_eval_group and
     * stale markers of removed groups through rules_manager_housekeep. */
    bool manual;
    rules_clock_fn clock; /* NULL: real time */
    void *clock_ctx;
} rules_manager_opts;

typedef struct rules_manager rules_manager;

/* A manager with no groups; NULL with err when db or storage is missing. */
rules_manager *rules_manager_new(const rules_manager_opts *o, core_err *err);
/* Stops every group (no staleness markers, as upstream at shutdown). */
void rules_manager_free(rules_manager *m);

/* Loads `files` (already globbed) as upstream's Manager.Update: every file is
 * parsed first and any error leaves the running groups untouched (-1, err
 * "error loading rules, previous rule set restored: <first error>").  Then a
 * group equal to a running one (same file, name, interval, limit, query
 * offset and rules) keeps running as it is; a changed one takes over the old
 * one's state (alerts, series for staleness) rule by rule; removed groups stop
 * and their series get staleness markers two intervals later.  Group labels
 * are merged into each rule's labels (the rule's win).  Before the first
 * update's groups have run twice, alert `for` state is restored from
 * ALERTS_FOR_STATE. */
int rules_manager_update(rules_manager *m, int64_t default_interval_ms,
                         int64_t default_query_offset_ms, const char *const *files, size_t n,
                         const core_labels *external_labels, core_err *err);
/* The same from a loaded prometheus.yml: rule_files globbed, the global
 * evaluation_interval, rule_query_offset and external_labels. */
int rules_manager_update_config(rules_manager *m, const cfg_config *cfg, core_err *err);
/* Starts the group threads (upstream's Run): groups loaded before wait for
 * this; later updates start their groups at once. */
void rules_manager_start(rules_manager *m);

/* Runs one scheduled iteration of group (file, name) at t_ms as its thread
 * would: every rule in order, results appended at t_ms minus the query
 * offset, then, on the second iteration of a group that restores, restoring
 * `for` state at t_ms.  For tests and opts.manual; -1 when there is no such
 * group. */
int rules_manager_eval_group(rules_manager *m, const char *file, const char *name, int64_t t_ms,
                             core_err *err);
/* Writes the staleness markers of removed groups whose two intervals are
 * over by now_ms (manual mode; the threads do it themselves otherwise). */
void rules_manager_housekeep(rules_manager *m, int64_t now_ms);

/* The slot of a group: the latest evaluation time at or before `t_ns`
 * (nanoseconds), as upstream's Group.EvalTimestamp: evaluations happen at
 * offset + k * interval where offset = hash(file, name) mod interval. */
int64_t rules_group_eval_timestamp(const char *file, const char *name, int64_t interval_ms,
                                   int64_t t_ns);

/* ---- Snapshots (for /api/v1/rules, /api/v1/alerts, the UI, /metrics) */

typedef struct rules_alert_snap {
    const core_labels *labels, *annotations;
    rules_alert_state state;
    int64_t active_at_ms;
    int64_t fired_at_ms;          /* 0: never */
    int64_t resolved_at_ms;       /* 0: not resolved */
    int64_t keep_firing_since_ms; /* 0: not keeping */
    double value;
} rules_alert_snap;

typedef struct rules_rule_snap {
    rules_kind kind;
    const char *name;
    const char *query; /* the expression as upstream prints it (pql_print) */
    const core_labels *labels;
    const core_labels *annotations; /* alerting */
    int64_t for_ms, keep_firing_for_ms;
    rules_health health;
    const char *last_error;   /* "" when none */
    int64_t last_eval_ms;     /* wall clock of the last evaluation; 0: never */
    double eval_seconds;      /* its duration */
    rules_alert_state state;  /* alerting: the highest of its alerts */
    rules_alert_snap *alerts; /* alerting: every current alert, resolved ones included */
    size_t nalerts;
} rules_rule_snap;

typedef struct rules_group_snap {
    const char *name, *file;
    int64_t interval_ms;
    int64_t query_offset_ms;
    int64_t limit;
    int64_t last_eval_ms; /* wall clock; 0: never */
    double eval_seconds;  /* duration of the last evaluation */
    rules_rule_snap *rules;
    size_t nrules;
} rules_group_snap;

/* Every group, sorted by file then name, in `arena`. */
size_t rules_manager_groups(rules_manager *m, core_arena *arena, rules_group_snap **out);

/* Every active (pending or firing, not resolved) alert of every alerting
 * rule, with its rule's name, for /api/v1/alerts. */
typedef struct rules_active_alert {
    const char *rule;
    rules_alert_snap alert;
} rules_active_alert;
size_t rules_manager_alerts(rules_manager *m, core_arena *arena, rules_active_alert **out);

/* Self-metrics per group, keyed as upstream's rule_group label "file;name". */
typedef struct rules_group_metrics {
    const char *key;
    double interval_seconds;      /* prometheus_rule_group_interval_seconds */
    uint64_t iterations_total;    /* prometheus_rule_group_iterations_total */
    uint64_t iterations_missed;   /* prometheus_rule_group_iterations_missed_total */
    uint64_t evaluations_total;   /* prometheus_rule_evaluations_total */
    uint64_t evaluation_failures; /* prometheus_rule_evaluation_failures_total */
    double
        last_eval_timestamp_seconds; /* prometheus_rule_group_last_evaluation_timestamp_seconds */
    double last_duration_seconds;    /* prometheus_rule_group_last_duration_seconds */
    double last_rule_duration_sum;   /* prometheus_rule_group_last_rule_duration_sum_seconds */
    double last_restore_duration;    /* prometheus_rule_group_last_restore_duration_seconds */
    uint64_t rules;                  /* prometheus_rule_group_rules */
    uint64_t last_samples;           /* prometheus_rule_group_last_evaluation_samples */
} rules_group_metrics;

typedef struct rules_metrics {
    rules_group_metrics *groups; /* sorted by key */
    size_t ngroups;
    /* prometheus_rule_evaluation_duration_seconds (sum, count) and
     * prometheus_rule_group_duration_seconds (sum, count) */
    double rule_eval_seconds_sum;
    uint64_t rule_eval_count;
    double group_eval_seconds_sum;
    uint64_t group_eval_count;
} rules_metrics;

void rules_manager_metrics(rules_manager *m, core_arena *arena, rules_metrics *out);

#endif
