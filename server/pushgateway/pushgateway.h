/*
 * pushgateway.h - the door of server/pushgateway: prom-pushgateway's internals.
 *
 * A drop-in for the Prometheus Pushgateway (upstream 1.11).  The parts, each in
 * its own file:
 *
 *   map.c       a string-keyed hash map and a multiset of 64-bit hashes
 *   grouping.c  the grouping key of a push URL (/metrics/job/<j>/<l>/<v>...,
 *               URL-safe base64 with @base64), as upstream's splitLabels
 *   family.c    metrics and metric families as the store keeps them: one
 *               allocation per metric with its sorted labels and values
 *   parse.c     a pushed body (text 0.0.4 or delimited protobuf, through
 *               server/model's parsers) assembled into families the way
 *               upstream's expfmt.TextParser assembles them, then sanitized
 *               with the grouping labels
 *   decode.c    Content-Encoding gzip and (framed) snappy request bodies
 *   store.c     groups, the consistency check, writes, deletes, the TTL
 *   expo.c      /metrics text, the /api/v1/metrics JSON, family sorting
 *   persist.c   the persistence file (own format, checksummed)
 *   web.c       the HTTP handlers and the status page
 *   main.c      flags and start-up
 *
 * Every name starts with pgw_.
 */
#ifndef PUSHGATEWAY_PUSHGATEWAY_H
#define PUSHGATEWAY_PUSHGATEWAY_H

#include "core/core.h"
#include "model/model.h"

#include <prom/prom.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Hash map from strings to pointers (map.c) */

typedef struct pgw_map_slot {
    const char *key; /* borrowed from the value; NULL: empty slot */
    uint64_t hash;
    void *value;
} pgw_map_slot;

typedef struct pgw_map {
    pgw_map_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
} pgw_map;

/* The value stored under key, or NULL. */
void *pgw_map_get(const pgw_map *m, const char *key);
/* Stores value under key (which must live as long as the entry). */
void pgw_map_put(pgw_map *m, const char *key, void *value);
/* Removes key's entry; returns its value or NULL. */
void *pgw_map_del(pgw_map *m, const char *key);
void pgw_map_destroy(pgw_map *m);

/* A multiset of 64-bit hashes (series identities). */
typedef struct pgw_hset {
    uint64_t *keys;
    uint32_t *counts; /* 0: empty slot */
    size_t cap, n;
} pgw_hset;

uint32_t pgw_hset_count(const pgw_hset *s, uint64_t h);
void pgw_hset_add(pgw_hset *s, uint64_t h);
void pgw_hset_remove(pgw_hset *s, uint64_t h);
void pgw_hset_destroy(pgw_hset *s);

/* ---- Grouping keys (grouping.c) */

/* Decodes URL-safe base64 as upstream does (trailing '=' ignored, no other
 * padding, CR and LF skipped) and appends the bytes to out.  -1 with a message
 * naming the offending byte. */
int pgw_base64_decode(const char *s, size_t n, core_sb *out, core_err *err);
/* Appends the URL-safe base64 of s, without padding ("=" for an empty s, so
 * that the URL segment is never empty). */
void pgw_base64_encode(const char *s, size_t n, core_sb *out);

/* The grouping labels of a push or delete path: `path` is what follows
 * "/metrics/" ("job/<job>/<name>/<value>..." or "job@base64/..."), already
 * percent-decoded.  Returns the labels (job included, sorted; malloc'd) or
 * NULL with upstream's message for a 400: odd number of components, improper
 * label name, bad base64, empty job. */
core_labels *pgw_grouping_parse(const char *path, core_err *err);
/* The key of a grouping: name 0xff value 0xff ... (malloc'd). */
char *pgw_grouping_key(const core_labels *ls);

/* ---- Metrics and families (family.c) */

/* Numbered as io.prometheus.client.MetricType. */
typedef enum pgw_type {
    PGW_COUNTER = 0,
    PGW_GAUGE = 1,
    PGW_SUMMARY = 2,
    PGW_UNTYPED = 3,
    PGW_HISTOGRAM = 4,
} pgw_type;

/* "counter", ... as the text format writes them; "COUNTER", ... for the API. */
const char *pgw_type_name(pgw_type t);
const char *pgw_type_upper(pgw_type t);

/* A bucket (bound, cumulative count) or a quantile (quantile, value). */
typedef struct pgw_point {
    double key;
    union {
        double value;
        uint64_t count;
    };
} pgw_point;

/* One metric: its labels sorted by name, stored after its points as
 * "name\0value\0name\0value\0...", in a single allocation. */
typedef struct pgw_metric {
    double value;        /* counter, gauge, untyped: the value; else the sum */
    uint64_t count;      /* summary, histogram: the sample count */
    uint32_t labels_len; /* bytes of the label pairs */
    uint16_t n_labels;
    uint16_t n_points;
    pgw_point points[]; /* then the labels */
} pgw_metric;

#define PGW_MAX_POINTS 65535

/* The label pairs of m. */
static inline const char *pgw_metric_labels(const pgw_metric *m)
{
    return (const char *)(m->points + m->n_points);
}

/* A new metric from labels sorted by name (names and values without NUL). */
pgw_metric *pgw_metric_new(const core_label *labels, size_t n_labels, double value, uint64_t count,
                           const pgw_point *points, size_t n_points);
/* The value of label `name`, or NULL. */
const char *pgw_metric_label(const pgw_metric *m, const char *name);
/* Orders metrics as client_golang's exposition does: fewer labels first, then
 * the values pairwise; ties broken by the label names. */
int pgw_metric_cmp(const pgw_metric *a, const pgw_metric *b);
/* The identity of the series `family`{labels} for the duplicate check. */
uint64_t pgw_metric_hash(const char *family, const pgw_metric *m);

typedef struct pgw_group pgw_group;

typedef struct pgw_family {
    char *name;
    char *help; /* NULL: no HELP line */
    pgw_type type;
    int64_t push_ns; /* when it was pushed */
    pgw_metric **m;
    size_t n, cap;
    /* Kept by the store: */
    pgw_group *group;
    size_t slot; /* position in the store's list of families of this name */
} pgw_family;

pgw_family *pgw_family_new(const char *name, const char *help, pgw_type type);
void pgw_family_add(pgw_family *f, pgw_metric *m);
void pgw_family_free(pgw_family *f);

/* ---- Pushed bodies (parse.c) */

typedef struct pgw_push {
    pgw_family **f; /* in the order first seen */
    size_t n, cap;
    pgw_map by_name;
    bool has_timestamps; /* some sample carried one: the push is refused */
    size_t n_series;
} pgw_push;

/* Parses a body in `fmt` (text or protobuf; OpenMetrics is read as text, as
 * upstream does) into families, each metric's labels sanitized with
 * `grouping`: grouping values override the body's, missing ones are added,
 * instance="" is added when absent.  NULL with a message on a malformed body. */
pgw_push *pgw_push_parse(const char *body, size_t len, model_format fmt,
                         const core_labels *grouping, core_err *err);
void pgw_push_free(pgw_push *p);

/* ---- Request bodies (decode.c) */

/* Undoes a Content-Encoding (gzip, snappy; anything else: as is).  On success
 * *out and *out_len are the decoded body: either `in` itself or a malloc'd
 * buffer the caller frees (*owned says which).  At most `limit` bytes are
 * produced.  -1 with a message on a corrupt body. */
int pgw_decode_body(const char *encoding, const char *in, size_t len, size_t limit, char **out,
                    size_t *out_len, bool *owned, core_err *err);
/* Framed snappy ("sNaPpY" stream, as Go's snappy.NewReader reads). */
int pgw_snappy_frame_decode(const char *in, size_t len, size_t limit, core_sb *out, core_err *err);

/* ---- The store (store.c) */

typedef struct pgw_store pgw_store;

/* A family the gateway exposes itself, for the collision check. */
typedef struct pgw_own_family {
    const char *name;
    pgw_type type;
} pgw_own_family;

#define PGW_PUSH_TIME_NAME    "push_time_seconds"
#define PGW_PUSH_FAILURE_NAME "push_failure_time_seconds"

pgw_store *pgw_store_new(void);
void pgw_store_free(pgw_store *s);
/* The families the gateway itself exposes (copied). */
void pgw_store_set_own(pgw_store *s, const pgw_own_family *own, size_t n);

/* Applies a push (consumed) to the group `grouping`: PUT (replace) or POST.
 * With `check`, a push that would make the exposition inconsistent is
 * refused: -1 with the reason, and the group's push_failure_time_seconds is
 * set instead.  A push with timestamps is refused even without `check`. */
int pgw_store_push(pgw_store *s, pgw_push *p, const core_labels *grouping, bool replace, bool check,
                   int64_t now_ns, core_err *err);
/* Deletes a group; nothing happens if there is none. */
void pgw_store_delete(pgw_store *s, const core_labels *grouping);
/* Deletes every group. */
void pgw_store_wipe(pgw_store *s);
/* Drops the groups whose last successful push is older than ttl_ns before
 * now_ns; returns how many. */
size_t pgw_store_expire(pgw_store *s, int64_t now_ns, int64_t ttl_ns);
size_t pgw_store_n_groups(pgw_store *s);
/* Bumped by every change. */
uint64_t pgw_store_generation(pgw_store *s);

/* Read access: the callbacks run under the store's read lock. */
void pgw_store_rdlock(pgw_store *s);
void pgw_store_unlock(pgw_store *s);

/* A group as the readers see it (under the read lock). */
struct pgw_group {
    core_labels *labels; /* the grouping labels, job included, sorted */
    char *key;
    pgw_family **fams; /* sorted by name */
    size_t n_fams, cap_fams;
    int64_t last_push_ns; /* last successful push (or creation) */
};

/* Every group sorted by key, in a malloc'd array; read lock held. */
pgw_group **pgw_store_groups(pgw_store *s, size_t *n);
/* A group's family by name, or NULL; read lock held. */
pgw_family *pgw_group_family(const pgw_group *g, const char *name);
/* Whether the last push to the group succeeded (upstream's LastPushSuccess). */
bool pgw_group_last_push_ok(const pgw_group *g);

/* Internal to store.c and expo.c: the families of one name across groups. */
typedef struct pgw_name {
    char *name;
    pgw_type type; /* of the first family; all agree unless checks are off */
    pgw_family **fams;
    size_t n, cap;
} pgw_name;

/* Every non-empty name entry sorted by name; read lock held. */
pgw_name **pgw_store_names(pgw_store *s, size_t *n);

/* Loads groups into an empty store (persist.c): the family is added as is. */
void pgw_store_restore_family(pgw_store *s, const core_labels *grouping, int64_t last_push_ns,
                              pgw_family *f);

/* ---- Exposition (expo.c) */

/* One family of the gateway's own metrics, already rendered. */
typedef struct pgw_block {
    const char *name;
    const char *text;
    size_t len;
} pgw_block;

/* Splits a text exposition into its families (slices of `text`); the array
 * and each name are malloc'd (pgw_blocks_free). */
pgw_block *pgw_blocks_split(const char *text, size_t len, size_t *n);
void pgw_blocks_free(pgw_block *b, size_t n);
/* Appends every group's families merged with `own` (sorted by name, names
 * distinct from the groups') as text 0.0.4. */
void pgw_expo_text(pgw_store *s, const pgw_block *own, size_t n_own, core_sb *out);
/* Appends one family in the text format (metrics in the order given). */
void pgw_expo_family_text(const char *name, const char *help, pgw_type type, pgw_metric *const *m,
                          size_t n, core_sb *out);
/* Appends the data of /api/v1/metrics: a JSON array of groups. */
void pgw_expo_api_metrics(pgw_store *s, core_sb *out);
/* Appends a time as Go's time.Time marshals to JSON (RFC3339Nano, UTC). */
void pgw_json_time(int64_t ns, core_sb *out);

/* ---- Persistence (persist.c) */

/* Appends the store's content in the file format. */
void pgw_persist_encode(pgw_store *s, core_sb *out);
/* Loads a file's content into an empty store; -1 with a message when it is
 * truncated, corrupt or of another format (the store is left empty). */
int pgw_persist_decode(pgw_store *s, const char *buf, size_t len, core_err *err);
/* Writes the store to `path` through a temporary file, fsynced and renamed. */
int pgw_persist_save(pgw_store *s, const char *path, core_err *err);
/* Loads `path` into an empty store.  A missing file is fine (0).  A corrupt
 * one is renamed aside (its new name in `moved_to`, which has room for
 * PATH_MAX bytes) and -1 returned with the reason; the store stays empty. */
int pgw_persist_load(pgw_store *s, const char *path, char *moved_to, core_err *err);

/* ---- HTTP (web.c) */

typedef struct pgw_web {
    pgw_store *store;
    bool check;     /* !--push.disable-consistency-check */
    bool admin_api; /* --web.enable-admin-api */
    bool lifecycle; /* --web.enable-lifecycle */
    const char *telemetry_path;
    const char *route_prefix; /* "" or "/prefix" */
    const char *link_prefix;  /* path prefix of --web.external-url, for links */
    const char *flags_json;   /* the flags as a JSON object, for /api/v1/status */
    int64_t start_ns;
    size_t max_body; /* decoded body limit */
    void (*quit)(void);
    /* Own metrics (in `registry`). */
    prom_registry *registry;
    prom_counter *requests;
    prom_summary *push_duration, *push_size;
} pgw_web;

/* Creates the own metrics in w->registry and tells the store their names. */
int pgw_web_metrics(pgw_web *w, core_err *err);
/* Adds every route of the gateway to srv (and the request-count observer). */
int pgw_web_routes(pgw_web *w, core_http_server *srv, core_err *err);

#endif
