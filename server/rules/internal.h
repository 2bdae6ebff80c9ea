/*
 * internal.h - what the files of server/rules share behind the door (rules.h):
 *
 *   template.c        Go text/template's lexer and parser: the template AST
 *   template_exec.c   executing an AST: values, fields, pipelines, calls, the
 *                     builtins (and, or, not, eq ... ge, len, index, print,
 *                     printf, println, html, js, urlquery)
 *   template_funcs.c  Prometheus's template functions (humanize, query, ...)
 *   template_fmt.c    Go's fmt verbs (%v, %d, %.2f, %q, ...), time and
 *                     duration formatting, the values' Go type names
 *   rulefmt.c         rule files: loading and upstream's checks
 *   rule.c            recording and alerting rules: evaluation and alert state
 *   group.c           groups: an evaluation, staleness, restoring `for` state
 *   manager.c         the manager: loading, reload, threads, snapshots
 *
 * The template engine works on dynamically typed values (tmpl_val) standing
 * for the Go values Prometheus's templates see: strings, numbers, booleans,
 * label maps (map[string]string), the alert's data struct, query results and
 * their samples, times and durations.  Each value knows its Go type name so
 * that error messages read as upstream's ("wrong type for value; expected
 * string; got float64").
 */
#ifndef RULES_INTERNAL_H
#define RULES_INTERNAL_H

#include "rules/rules.h"

#include <pthread.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The template AST (template.c) */

typedef enum tmpl_node_kind {
    TN_LIST,
    TN_TEXT,
    TN_ACTION,
    TN_IF,
    TN_RANGE,
    TN_WITH,
    TN_TEMPLATE,
    TN_BREAK,
    TN_CONTINUE,
    TN_PIPE,
    TN_COMMAND,
    TN_FIELD,
    TN_VARIABLE,
    TN_CHAIN,
    TN_IDENT,
    TN_DOT,
    TN_NIL,
    TN_BOOL,
    TN_NUMBER,
    TN_STRING,
    TN_END,  /* parser only */
    TN_ELSE, /* parser only */
} tmpl_node_kind;

typedef struct tmpl_node tmpl_node;
typedef struct tmpl_tree tmpl_tree;

struct tmpl_node {
    tmpl_node_kind kind;
    uint32_t pos; /* byte offset in the template text */
    int line;
    const tmpl_tree *tree;
    union {
        struct {
            tmpl_node **v;
            size_t n, cap;
        } list;
        struct {
            const char *s;
            size_t n;
        } text;
        struct {
            tmpl_node *pipe;
        } action;
        struct {
            tmpl_node *pipe, *list, *else_list; /* else_list may be NULL */
        } ctrl;                                 /* if, range, with */
        struct {
            const char *name;
            tmpl_node *pipe; /* may be NULL */
        } tmpl;
        struct {
            bool is_assign;   /* `$x = ...` rather than `$x := ...` */
            tmpl_node **decl; /* TN_VARIABLE */
            size_t ndecl;
            tmpl_node **cmds; /* TN_COMMAND */
            size_t ncmds;
        } pipe;
        struct {
            tmpl_node **args;
            size_t n, cap;
        } cmd;
        struct {
            const char **ident; /* field: "A", "B" of .A.B; variable: "$x", "A" */
            size_t n;
        } field;
        struct {
            tmpl_node *node;
            const char **field;
            size_t n, cap;
        } chain;
        struct {
            const char *name;
        } ident;
        bool boolean;
        struct {
            const char *text;
            bool is_int, is_uint, is_float, is_complex;
            int64_t i;
            uint64_t u;
            double f;
        } number;
        struct {
            const char *quoted; /* as written */
            const char *s;      /* unquoted */
            size_t n;
        } string;
    } u;
};

/* One template: the top-level text or a {{define}}. */
struct tmpl_tree {
    const char *name;
    const char *parse_name; /* the top-level template's name, for messages */
    const char *text;       /* the whole text parsed */
    tmpl_node *root;        /* TN_LIST */
};

/* A parsed text with its definitions.  Everything lives in `arena`. */
typedef struct tmpl_set {
    core_arena arena;
    tmpl_tree **trees; /* [0] is the top-level template */
    size_t ntrees, cap;
    bool html;
} tmpl_set;

/* Whether `name` is a function known to the parser (builtins, Prometheus's
 * functions; tmpl only in HTML mode). */
bool tmpl_func_exists(const char *name, bool html);

/* Parses `text` as template `name`: 0, or -1 with Go's message
 * ("template: name:1: function \"x\" not defined"). */
int tmpl_parse(tmpl_set *set, const char *name, const char *text, size_t len, core_err *err);
void tmpl_set_destroy(tmpl_set *set);
const tmpl_tree *tmpl_lookup(const tmpl_set *set, const char *name);

/* Appends Go's String() of a node, as in error contexts. */
void tmpl_node_string(const tmpl_node *n, core_sb *out);

/* ---- Values (template_exec.c, template_fmt.c) */

typedef enum tmpl_kind {
    TV_INVALID, /* no value: a missing key, a nil interface */
    TV_BOOL,
    TV_INT, /* int */
    TV_INT64,
    TV_UINT64,
    TV_FLOAT,
    TV_STRING,
    TV_HTML,     /* html/template.HTML (safeHtml, tmpl) */
    TV_STRMAP,   /* map[string]string: label sets */
    TV_ANYMAP,   /* map[string]interface {}: args */
    TV_DATA,     /* the alert template data struct */
    TV_SAMPLE,   /* *template.sample (may be nil) */
    TV_RESULT,   /* template.queryResult */
    TV_TIME,     /* *time.Time */
    TV_DURATION, /* *time.Duration */
    TV_DURVAL,   /* time.Duration (a method's result) */
    TV_LIST,     /* a slice given as data ([]float64, []string, ...) */
} tmpl_kind;

typedef struct tmpl_val tmpl_val;
typedef struct tmpl_sample tmpl_sample;

typedef struct tmpl_anymap {
    const char **keys; /* sorted */
    tmpl_val *vals;
    size_t n;
} tmpl_anymap;

typedef struct tmpl_data {
    const core_labels *labels, *external_labels;
    const char *external_url;
    double value;
} tmpl_data;

struct tmpl_val {
    tmpl_kind k;
    /* read from an interface-typed field (the data's Value, a sample's Value,
     * args' values) and not yet through a pipeline: Go names its static type
     * "interface {}" in field errors */
    bool iface;
    union {
        bool b;
        int64_t i; /* INT, INT64, DURVAL (nanoseconds) */
        uint64_t u;
        double f;
        struct {
            const char *p;
            size_t n;
        } s;                    /* STRING, HTML */
        const core_labels *map; /* STRMAP: sorted by key, as Go prints and ranges maps */
        const tmpl_anymap *amap;
        const tmpl_data *data;
        const tmpl_sample *sample; /* NULL: a nil pointer */
        struct {
            tmpl_sample **v;
            size_t n;
        } res;
        int64_t ns; /* TIME: nanoseconds since the epoch, UTC; DURATION: nanoseconds */
        struct {
            const tmpl_val *v;
            size_t n;
            const char *type; /* "[]float64", ... */
        } list;
    } u;
};

struct tmpl_sample {
    const core_labels *labels; /* includes __value__ for strvalue when a string result */
    double value;
};

/* The Go type of a value as fmt's %T prints it ("float64", "map[string]string",
 * "*template.sample", "template.queryResult", "<nil>" for no value). */
const char *tmpl_type_name(const tmpl_val *v);

/* Go's truth: non-zero numbers, non-empty strings/maps/lists, true, non-nil
 * pointers, structs. */
bool tmpl_truth(const tmpl_val *v);

/* fmt.Fprint of one value, as an action prints it ("<no value>" for none). */
void tmpl_print_value(const tmpl_val *v, core_sb *out);
/* fmt.Sprint / Sprintln of several operands. */
void tmpl_sprint(const tmpl_val *v, size_t n, bool ln, core_sb *out);
/* fmt.Sprintf. */
void tmpl_sprintf(const char *fmt, size_t flen, const tmpl_val *args, size_t n, core_sb *out);

/* Go's time.Time.String() of `ns` nanoseconds since the epoch in UTC:
 * "2015-06-23 13:19:44.128 +0000 UTC". */
void tmpl_time_string(int64_t ns, core_sb *out);
/* Go's time.Time.Format(layout) in UTC. */
void tmpl_time_format(int64_t ns, const char *layout, size_t n, core_sb *out);
/* Go's url.QueryEscape. */
void tmpl_query_escape(const char *s, size_t n, core_sb *out);
/* text/template's HTMLEscapeString and JSEscapeString. */
void tmpl_html_escape(const char *s, size_t n, core_sb *out);
void tmpl_js_escape(const char *s, size_t n, core_sb *out);
/* html/template's escaping of text in HTML mode (also '+' and NUL). */
void tmpl_html_text_escape(const char *s, size_t n, core_sb *out);

/* ---- Execution (template_exec.c) */

typedef struct tmpl_exec tmpl_exec;

/* A function: fixed parameters of the given types, optionally a variadic
 * tail; `call` fills *out or returns -1 with the error (the text after
 * "error calling <name>: ") in `msg`. */
typedef enum tmpl_ptype {
    TP_ANY,
    TP_STRING,
    TP_FLOAT,
    TP_INT,
    TP_BOOL,
    TP_RESULT,
    TP_SAMPLE,
    TP_DURATION, /* time.Duration (a *time.Duration is followed) */
} tmpl_ptype;

typedef struct tmpl_func {
    const char *name;
    int nfixed;
    tmpl_ptype fixed[3];
    bool variadic;
    tmpl_ptype var;
    int (*call)(tmpl_exec *x, const tmpl_val *args, size_t n, tmpl_val *out, core_sb *msg);
    bool html_only;
} tmpl_func;

const tmpl_func *tmpl_builtin(const char *name);
const tmpl_func *tmpl_prom_func(const char *name);

/* What a function may use of the execution. */
core_arena *tmpl_exec_arena(tmpl_exec *x);
const rules_tmpl_opts *tmpl_exec_opts(tmpl_exec *x);
/* Executes the template `name` of the running set with `dot` into `out`
 * (html/template's tmpl function).  -1 with the error in msg. */
int tmpl_exec_named(tmpl_exec *x, const char *name, const tmpl_val *dot, core_sb *out,
                    core_sb *msg);

/* Executes `set` with `dot` into out; -1 with "template: ..." in err. */
int tmpl_execute(const tmpl_set *set, const tmpl_val *dot, const rules_tmpl_opts *o,
                 core_arena *arena, core_sb *out, core_err *err);

/* Expands template t with `dot` as its data (upstream's Expander.Expand:
 * errors start "error executing template <name>: "). */
int rules_tmpl_expand_value(const rules_tmpl *t, const tmpl_val *dot, const rules_tmpl_opts *o,
                            core_sb *out, core_err *err);

/* Parses a float as Go's strconv.ParseFloat (decimal, hex, "Inf", "NaN",
 * underscores only with a base prefix): 0, or -1 with Go's message in msg
 * ("strconv.ParseFloat: parsing \"x\": invalid syntax"). */
int tmpl_parse_float(const char *s, size_t n, double *out, core_sb *msg);
/* The float64 of a value for the humanize family (ConvertToFloat): float,
 * ints, strings through ParseFloat, durations in seconds; -1 with
 * "can't convert <type> to float". */
int tmpl_to_float(const tmpl_val *v, double *out, core_sb *msg);

/* ---- Evaluation (rule.c, group.c, manager.c) */

/* "No time", Go's zero time.Time, for the alert timestamps below. */
#define RULES_NO_TIME INT64_MIN

/* A set of label sets (a rule's series of the last evaluation): sorted by
 * hash for lookups; owns its sets. */
typedef struct rules_lset_entry {
    uint64_t hash;
    core_labels *ls;
} rules_lset_entry;

typedef struct rules_lset {
    rules_lset_entry *v;
    size_t n, cap;
} rules_lset;

/* Adds ls (taken over: free()d with the set). */
void rules_lset_add(rules_lset *s, core_labels *ls);
/* Sorts after adding, before rules_lset_has. */
void rules_lset_sort(rules_lset *s);
bool rules_lset_has(const rules_lset *s, const core_labels *ls, uint64_t hash);
void rules_lset_free(rules_lset *s);

/* What rules need from the manager while they evaluate: fixed once the
 * manager exists. */
typedef struct rules_env {
    tsdb_db *db;
    pql_storage *storage;
    pql_engine_opts engine;
    const char *external_url;
    int64_t outage_tolerance_ms, for_grace_period_ms, resend_delay_ms;
    rules_notify_fn notify;
    void *notify_ctx;
    rules_clock_fn clock; /* NULL: real time */
    void *clock_ctx;
    /* prometheus_rule_evaluation_duration_seconds and
     * prometheus_rule_group_duration_seconds, sums and counts (under mtx) */
    pthread_mutex_t *counters_mtx;
    double *rule_eval_sum, *group_eval_sum;
    uint64_t *rule_eval_count, *group_eval_count;
} rules_env;

/* Wall-clock milliseconds through env's clock. */
int64_t rules_env_now(const rules_env *env);

/* One alert of an alerting rule (upstream's Alert). */
typedef struct rules_alert {
    core_labels *labels, *annotations; /* malloc'd */
    uint64_t hash;
    rules_alert_state state;
    double value;
    int64_t active_at, fired_at, resolved_at, last_sent_at, valid_until, keep_firing_since;
} rules_alert;

/* A rule as the manager runs it. */
typedef struct rules_rule {
    rules_kind kind;
    char *name;
    char *query; /* the expression as printed (upstream's Expr.String()) */
    core_arena expr_arena;
    pql_node *expr;
    int64_t hold_ms, keep_firing_for_ms;
    core_labels *labels;      /* group labels merged with the rule's */
    core_labels *annotations; /* alerting */
    core_labels *external_labels;
    rules_tmpl **label_tmpls, **ann_tmpls; /* alerting: one per label/annotation */
    /* state, written by the group's thread under the group's mutex */
    rules_health health;
    char *last_error;     /* NULL: none */
    int64_t last_eval_ms; /* wall clock; RULES_NO_TIME: never */
    double eval_seconds;
    bool restored;
    rules_alert **alerts;
    size_t nalerts;
    rules_lset prev_series;
} rules_rule;

/* Builds a rule from its definition; group labels are merged in (the rule's
 * win).  NULL with err when the expression or a template does not parse. */
rules_rule *rules_rule_new(const rules_rule_def *def, const core_labels *group_labels,
                           const core_labels *external_labels, const pql_parse_opts *popts,
                           bool restored, core_err *err);
void rules_rule_free(rules_rule *r);
/* upstream's Rule.String() equality: kind, name, query, for, keep_firing_for,
 * labels, annotations. */
bool rules_rule_equal(const rules_rule *a, const rules_rule *b);

/* A sample to append. */
typedef struct rules_sample {
    core_labels *ls; /* in the evaluation's arena */
    int64_t t;
    double v;
} rules_sample;

/* Evaluates rule r at ts (the group's evaluation time) with the query at
 * ts - offset: fills *out (arena) with the samples to append.  -1 with err
 * (upstream's messages).  `lock` is held while the rule's state changes. */
int rules_rule_eval(rules_rule *r, const rules_env *env, int64_t offset_ms, int64_t ts,
                    int64_t limit, core_arena *arena, pthread_mutex_t *lock, rules_sample **out,
                    size_t *nout, core_err *err);
/* The alerts due for sending at ts (upstream's sendAlerts), handed to
 * env->notify; interval_ms is the group's. */
void rules_rule_send(rules_rule *r, const rules_env *env, int64_t ts, int64_t interval_ms,
                     pthread_mutex_t *lock);
/* Highest state of r's alerts (unknown before the first evaluation). */
rules_alert_state rules_rule_state(const rules_rule *r);
/* Runs an instant query through env's storage (a view acquired for it),
 * results copied into arena. */
int rules_query(const rules_env *env, const char *q, const pql_node *expr, int64_t t,
                core_arena *arena, rules_tmpl_sample **out, size_t *n, core_err *err);

/* A group as the manager runs it (upstream's Group). */
typedef struct rules_group {
    char *name, *file;
    int64_t interval_ms; /* the group's, or the default it was loaded with */
    bool has_query_offset;
    int64_t query_offset_ms;
    int64_t limit;
    rules_rule **rules;
    size_t nrules;
    core_labels **stale; /* series of removed rules, marked stale after the next evaluation */
    size_t nstale;
    bool should_restore; /* restore `for` state after the second evaluation */
    unsigned evaluations;
    /* self-metrics and state for the API, under mtx */
    pthread_mutex_t mtx;
    uint64_t iterations_total, iterations_missed, evaluations_total, evaluation_failures;
    int64_t last_eval_wall_ms; /* RULES_NO_TIME: never */
    double last_duration, last_rule_duration_sum, last_restore_duration;
    uint64_t last_samples;
    int64_t last_eval_ts;
    /* the group's thread (manager.c) */
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t run_mtx;
    pthread_cond_t run_cond;
    bool stop;
    void *manager;
} rules_group;

/* Builds a group from its definition in `file`: rules get the group's labels
 * and the external labels; `interval_ms` is the default for a group without
 * one.  NULL with err if a rule's expression does not parse. */
rules_group *rules_group_new(const rules_group_def *def, const char *file, int64_t interval_ms,
                             const core_labels *external_labels, const pql_parse_opts *popts,
                             bool should_restore, core_err *err);
void rules_group_free(rules_group *g);
/* upstream's Group.Equals. */
bool rules_group_equal(const rules_group *a, const rules_group *b);
/* upstream's CopyState: `to` takes over from's alerts and series rule by rule
 * (matched by name and labels, in order); series of from's rules without a
 * match become stale ones of `to`.  `from` is left without state. */
void rules_group_copy_state(rules_group *to, rules_group *from);
/* The query offset in force: the group's or the default. */
int64_t rules_group_offset(const rules_group *g, int64_t default_offset_ms);
/* One evaluation at ts (upstream's DefaultEvalIterationFunc and Group.Eval):
 * every rule in order, results and staleness markers appended.  `stop`
 * (may be NULL) ends it between rules. */
void rules_group_iteration(rules_group *g, const rules_env *env, int64_t ts,
                           int64_t default_offset_ms, const bool *stop);
/* Restores the `for` state of g's alerting rules from ALERTS_FOR_STATE at ts
 * (upstream's RestoreForState). */
void rules_group_restore(rules_group *g, const rules_env *env, int64_t ts);
/* Appends staleness markers for `series` at t, ignoring samples the TSDB
 * refuses as too old or out of order.  0, or -1 when the commit fails. */
int rules_append_stale(const rules_env *env, core_labels *const *series, size_t n, int64_t t,
                       core_err *err);

#endif
