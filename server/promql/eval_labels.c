/*
 * eval_labels.c - label-set operations the evaluator needs, with every result
 * in the query arena (core_labels_builder allocates with malloc, which a
 * query unwinding by longjmp would leak).
 */
#include "promql/eval.h"

#include <string.h>

const core_labels *ev_labels_empty(ev_ctx *c)
{
    (void)c;
    static const core_labels empty = {0};
    return &empty;
}

static bool listed(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

const core_labels *ev_labels_filter(ev_ctx *c, const core_labels *ls, const char *const *names,
                                    size_t n, bool keep, bool drop_name)
{
    core_label *pairs = core_arena_calloc(c->a, ls->len + 1, sizeof *pairs);
    size_t k = 0;
    for (size_t i = 0; i < ls->len; i++) {
        if (drop_name && strcmp(ls->v[i].name, CORE_METRIC_NAME) == 0) continue;
        if (listed(ls->v[i].name, names, n) != keep) continue;
        pairs[k++] = ls->v[i];
    }
    if (k == ls->len) return ls;
    return core_labels_new_in(c->a, pairs, k);
}

const core_labels *ev_labels_drop_name(ev_ctx *c, const core_labels *ls)
{
    if (!core_labels_get(ls, CORE_METRIC_NAME)) return ls;
    return ev_labels_filter(c, ls, NULL, 0, false, true);
}

const core_labels *ev_labels_set(ev_ctx *c, const core_labels *ls, const char *name,
                                 const char *value)
{
    core_label *pairs = core_arena_calloc(c->a, ls->len + 1, sizeof *pairs);
    size_t k = 0;
    for (size_t i = 0; i < ls->len; i++)
        if (strcmp(ls->v[i].name, name) != 0) pairs[k++] = ls->v[i];
    if (value[0]) pairs[k++] = (core_label){name, value};
    return core_labels_new_in(c->a, pairs, k);
}

uint64_t ev_labels_sig(const core_labels *ls, const char *const *names, size_t n, bool keep)
{
    core_hasher h;
    core_hasher_init(&h);
    for (size_t i = 0; i < ls->len; i++) {
        bool in = listed(ls->v[i].name, names, n);
        if (keep ? !in : (in || strcmp(ls->v[i].name, CORE_METRIC_NAME) == 0)) continue;
        core_hasher_add(&h, ls->v[i].name, strlen(ls->v[i].name) + 1);
        core_hasher_add(&h, ls->v[i].value, strlen(ls->v[i].value) + 1);
    }
    uint64_t sum = core_hasher_sum(&h);
    core_hasher_destroy(&h);
    return sum;
}

void ev_labels_string(const core_labels *ls, core_sb *sb)
{
    core_labels_format(ls, sb);
}
