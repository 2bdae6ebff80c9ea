/*
 * labels.h - label sets: the identity of a series.
 *
 * A core_labels is one allocation: the count, the name/value pairs sorted by name,
 * and the strings themselves.  It is immutable once built, so it can be shared and
 * hashed once.  Build one from pairs in any order with core_labels_new, or derive
 * one from another with the builder (set / delete / keep), as relabeling and rule
 * evaluation do.
 *
 * Hashing and ordering match upstream's model/labels: the hash covers every name
 * and value with a 0xff separator after each, and core_labels_compare orders
 * label sets the way Prometheus sorts series.
 */
#ifndef CORE_LABELS_H
#define CORE_LABELS_H

#include "core/arena.h"
#include "core/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct core_label {
    const char *name;
    const char *value;
} core_label;

typedef struct core_labels {
    size_t len;
    core_label v[]; /* sorted by name; the strings follow in the same block */
} core_labels;

/* The name of the label that holds a series' metric name. */
#define CORE_METRIC_NAME "__name__"

/* Copies `n` pairs (any order) into a new set, sorted by name; free with free().
 * Duplicate names are kept (see core_labels_dup_name). */
core_labels *core_labels_new(const core_label *pairs, size_t n);
/* The same in arena memory. */
core_labels *core_labels_new_in(core_arena *arena, const core_label *pairs, size_t n);
/* A copy of `ls` (malloc'd). */
core_labels *core_labels_clone(const core_labels *ls);

/* The value of label `name`, or NULL. */
const char *core_labels_get(const core_labels *ls, const char *name);
/* The first name that occurs twice, or NULL. */
const char *core_labels_dup_name(const core_labels *ls);
uint64_t core_labels_hash(const core_labels *ls);
/* <0, 0, >0 as upstream's labels.Compare: pairwise by name then value, then length. */
int core_labels_compare(const core_labels *a, const core_labels *b);
bool core_labels_equal(const core_labels *a, const core_labels *b);
/* Appends upstream's String() form: {a="1", b="x\"y"}. */
void core_labels_format(const core_labels *ls, core_sb *out);

/* Legacy (pre-UTF-8) validity: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * names [a-zA-Z_][a-zA-Z0-9_]*. */
bool core_metric_name_valid(const char *s, size_t len);
bool core_label_name_valid(const char *s, size_t len);

/*
 * The builder starts from a base set and records changes; strings are borrowed
 * and must outlive the builder's result call.  Setting an empty value deletes
 * the label, as upstream's labels.Builder does.
 */
typedef struct core_labels_builder {
    const core_labels *base;
    core_label *add; /* overrides and new labels */
    size_t n_add, cap_add;
    const char **del;
    size_t n_del, cap_del;
} core_labels_builder;

void core_labels_builder_init(core_labels_builder *b, const core_labels *base);
/* Starts over from another base, keeping the builder's memory. */
void core_labels_builder_reset(core_labels_builder *b, const core_labels *base);
void core_labels_builder_destroy(core_labels_builder *b);
void core_labels_builder_set(core_labels_builder *b, const char *name, const char *value);
void core_labels_builder_del(core_labels_builder *b, const char *name);
/* The current value of `name` with the changes applied, or NULL. */
const char *core_labels_builder_get(const core_labels_builder *b, const char *name);
/* Deletes every label whose name is not in the NULL-terminated list. */
void core_labels_builder_keep(core_labels_builder *b, const char *const names[]);
/* The resulting set: malloc'd when arena is NULL, else in the arena. */
core_labels *core_labels_builder_labels(const core_labels_builder *b, core_arena *arena);

#endif
