/*
 * group.c - stored target groups and the target group lists of file and HTTP
 * discovery.
 *
 * A provider builds each group once, posts it, and never touches it again:
 * the manager keeps it as the provider's current group for its source and
 * hands the same object to every published snapshot that includes it, so a
 * group is reference-counted instead of copied.  Each group has a small arena
 * of its own (2 KiB blocks) for its strings and label sets, so a file with
 * ten thousand one-target groups costs ten thousand small blocks, not ten
 * thousand default-sized arenas.
 *
 * The list decoders follow upstream's targetgroup.Group: JSON through
 * jansson with unknown fields refused (Go's DisallowUnknownFields, field
 * names matched without regard to case as encoding/json matches them), YAML
 * through core's loader as yaml.v2's UnmarshalStrict reads it (unknown and
 * repeated keys refused, scalars of any type taken as their text).  Label
 * names must be valid UTF-8 and non-empty, Prometheus 3.x's rule.
 */
#include "discovery/internal.h"

#include "model/model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TG_BLOCK 2048

disc_tg *disc_tg_new(const char *source)
{
    disc_tg *tg = core_calloc(1, sizeof *tg);
    atomic_init(&tg->refs, 1);
    core_arena_init(&tg->arena, TG_BLOCK);
    tg->g.source = core_arena_strdup(&tg->arena, source ? source : "");
    tg->g.labels = core_labels_new_in(&tg->arena, NULL, 0);
    return tg;
}

/* The pairs with a non-empty value, copied into the group's arena. */
static core_labels *build(disc_tg *tg, const core_label *pairs, size_t n)
{
    core_label stack[16];
    core_label *kept = n <= 16 ? stack : core_mallocarray(n, sizeof *kept);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (pairs[i].value != NULL && pairs[i].value[0] != '\0') kept[k++] = pairs[i];
    core_labels *ls = core_labels_new_in(&tg->arena, k ? kept : NULL, k);
    if (kept != stack) free(kept);
    return ls;
}

void disc_tg_add_target(disc_tg *tg, const core_label *pairs, size_t n)
{
    if (tg->g.n_targets == tg->cap) {
        tg->cap = tg->cap ? tg->cap * 2 : 4;
        tg->targets = core_reallocarray(tg->targets, tg->cap, sizeof *tg->targets);
    }
    tg->targets[tg->g.n_targets++] = build(tg, pairs, n);
    tg->g.targets = (const core_labels *const *)tg->targets;
}

void disc_tg_set_labels(disc_tg *tg, const core_label *pairs, size_t n)
{
    tg->g.labels = build(tg, pairs, n);
}

disc_tg *disc_tg_ref(disc_tg *tg)
{
    atomic_fetch_add_explicit(&tg->refs, 1, memory_order_relaxed);
    return tg;
}

void disc_tg_unref(disc_tg *tg)
{
    if (tg == NULL) return;
    if (atomic_fetch_sub_explicit(&tg->refs, 1, memory_order_acq_rel) != 1) return;
    core_arena_destroy(&tg->arena);
    free(tg->targets);
    free(tg);
}

void disc_tgs_push(disc_tgs *l, disc_tg *tg)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = core_reallocarray(l->v, l->cap, sizeof *l->v);
    }
    l->v[l->n++] = tg;
}

void disc_tgs_clear(disc_tgs *l)
{
    for (size_t i = 0; i < l->n; i++)
        disc_tg_unref(l->v[i]);
    l->n = 0;
}

void disc_tgs_destroy(disc_tgs *l)
{
    disc_tgs_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

void disc_join_host_port(core_sb *out, const char *host, long port)
{
    if (strchr(host, ':') != NULL)
        core_sb_addf(out, "[%s]:%ld", host, port);
    else
        core_sb_addf(out, "%s:%ld", host, port);
}

core_labels *disc_target_labels(const disc_group *g, size_t i, core_arena *arena)
{
    const core_labels *t = g->targets[i];
    core_labels_builder b;
    core_labels_builder_init(&b, t);
    for (size_t j = 0; j < g->labels->len; j++)
        if (core_labels_get(t, g->labels->v[j].name) == NULL)
            core_labels_builder_set(&b, g->labels->v[j].name, g->labels->v[j].value);
    core_labels *out = core_labels_builder_labels(&b, arena);
    core_labels_builder_destroy(&b);
    return out;
}

/* ---- Decoding: both formats fill this, then groups are built from it. */

typedef struct raw_group {
    const char **targets;
    size_t n_targets;
    core_label *labels;
    size_t n_labels;
} raw_group;

static int bad_name(core_err *err, const char *name)
{
    core_sb q = CORE_SB_INIT;
    core_sb_add_quoted(&q, name, strlen(name));
    core_err_set(err, "%s is not a valid label name", q.buf);
    core_sb_destroy(&q);
    return -1;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    default: return "null";
    }
}

static int json_group(core_arena *a, json_t *obj, raw_group *g, core_err *err)
{
    if (!json_is_object(obj))
        return core_err_set(err, "json: cannot unmarshal %s into a target group", json_kind(obj));
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcasecmp(key, "targets") == 0) {
            g->n_targets = 0;
            if (json_is_null(v)) continue;
            if (!json_is_array(v))
                return core_err_set(err,
                                    "json: cannot unmarshal %s into field targets of type []string",
                                    json_kind(v));
            g->targets = core_arena_calloc(a, json_array_size(v) + 1, sizeof *g->targets);
            size_t i;
            json_t *t;
            json_array_foreach(v, i, t)
            {
                if (!json_is_string(t))
                    return core_err_set(
                        err, "json: cannot unmarshal %s into field targets of type string",
                        json_kind(t));
                g->targets[g->n_targets++] = core_arena_strdup(a, json_string_value(t));
            }
        } else if (strcasecmp(key, "labels") == 0) {
            g->n_labels = 0;
            if (json_is_null(v)) continue;
            if (!json_is_object(v))
                return core_err_set(
                    err, "json: cannot unmarshal %s into field labels of type model.LabelSet",
                    json_kind(v));
            g->labels = core_arena_calloc(a, json_object_size(v) + 1, sizeof *g->labels);
            const char *ln;
            json_t *lv;
            json_object_foreach(v, ln, lv)
            {
                if (!json_is_string(lv) && !json_is_null(lv))
                    return core_err_set(
                        err, "json: cannot unmarshal %s into a label value of type string",
                        json_kind(lv));
                if (!model_label_name_valid(MODEL_NAMES_UTF8, ln, strlen(ln)))
                    return bad_name(err, ln);
                g->labels[g->n_labels++] = (core_label){
                    core_arena_strdup(a, ln),
                    core_arena_strdup(a, json_is_null(lv) ? "" : json_string_value(lv))};
            }
        } else {
            core_sb q = CORE_SB_INIT;
            core_sb_add_quoted(&q, key, strlen(key));
            core_err_set(err, "json: unknown field %s", q.buf);
            core_sb_destroy(&q);
            return -1;
        }
    }
    return 0;
}

static int json_groups(core_arena *a, const char *buf, size_t len, raw_group **out, size_t *n,
                       bool **nil, core_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_DECODE_ANY, &je);
    if (root == NULL) {
        if (len == 0 || json_error_code(&je) == json_error_premature_end_of_input)
            return core_err_set(err, "unexpected end of JSON input");
        return core_err_set(err, "json: %s at line %d, column %d", je.text, je.line, je.column);
    }
    int rc = 0;
    *n = 0;
    if (json_is_null(root)) goto done;
    if (!json_is_array(root)) {
        rc = core_err_set(err,
                          "json: cannot unmarshal %s into Go value of type []*targetgroup.Group",
                          json_kind(root));
        goto done;
    }
    size_t cnt = json_array_size(root);
    *out = core_arena_calloc(a, cnt + 1, sizeof **out);
    *nil = core_arena_calloc(a, cnt + 1, sizeof **nil);
    for (size_t i = 0; i < cnt; i++) {
        json_t *item = json_array_get(root, i);
        if (json_is_null(item)) {
            (*nil)[i] = true;
        } else if (json_group(a, item, &(*out)[i], err) < 0) {
            rc = -1;
            goto done;
        }
    }
    *n = cnt;
done:
    json_decref(root);
    return rc;
}

static int yaml_group(core_arena *a, const core_yaml_doc *doc, const core_yaml_node *n,
                      raw_group *g, core_err *err)
{
    static const char *const keys[] = {"targets", "labels", NULL};
    if (core_yaml_check_keys(doc, n, keys, "target group", err) < 0) return -1;
    const core_yaml_node *t = core_yaml_get(n, "targets");
    if (t != NULL && !core_yaml_is_null(t)) {
        if (t->kind != CORE_YAML_SEQ)
            return core_yaml_errorf(doc, t, err, "expected a sequence for targets");
        g->targets = core_arena_calloc(a, t->n + 1, sizeof *g->targets);
        for (size_t i = 0; i < t->n; i++) {
            const char *s;
            if (core_yaml_str(doc, t->items[i], "targets", &s, err) < 0) return -1;
            g->targets[g->n_targets++] = s;
        }
    }
    const core_yaml_node *l = core_yaml_get(n, "labels");
    if (l != NULL && !core_yaml_is_null(l)) {
        if (l->kind != CORE_YAML_MAP)
            return core_yaml_errorf(doc, l, err, "expected a mapping for labels");
        g->labels = core_arena_calloc(a, l->n + 1, sizeof *g->labels);
        for (size_t i = 0; i < l->n; i++) {
            const char *k, *v;
            if (core_yaml_str(doc, l->items[2 * i], "label name", &k, err) < 0) return -1;
            if (core_yaml_str(doc, l->items[2 * i + 1], "label value", &v, err) < 0) return -1;
            if (!model_label_name_valid(MODEL_NAMES_UTF8, k, strlen(k))) {
                core_sb q = CORE_SB_INIT;
                core_sb_add_quoted(&q, k, strlen(k));
                int rc = core_yaml_errorf(doc, l->items[2 * i], err, "%s is not a valid label name",
                                          q.buf);
                core_sb_destroy(&q);
                return rc;
            }
            for (size_t j = 0; j < g->n_labels; j++)
                if (strcmp(g->labels[j].name, k) == 0)
                    return core_yaml_errorf(doc, l->items[2 * i], err,
                                            "key \"%s\" already set in map", k);
            g->labels[g->n_labels++] = (core_label){k, v};
        }
    }
    return 0;
}

static int yaml_groups(core_arena *a, const char *name, const char *buf, size_t len,
                       core_yaml_doc **docp, raw_group **out, size_t *n, bool **nil, core_err *err)
{
    core_yaml_doc *doc = core_yaml_parse(name, buf, len, err);
    if (doc == NULL) return -1;
    *docp = doc;
    *n = 0;
    const core_yaml_node *root = core_yaml_root(doc);
    if (root == NULL || core_yaml_is_null(root)) return 0;
    if (root->kind != CORE_YAML_SEQ)
        return core_yaml_errorf(doc, root, err, "expected a sequence of target groups, got a %s",
                                root->kind == CORE_YAML_MAP ? "mapping" : "scalar");
    *out = core_arena_calloc(a, root->n + 1, sizeof **out);
    *nil = core_arena_calloc(a, root->n + 1, sizeof **nil);
    for (size_t i = 0; i < root->n; i++) {
        const core_yaml_node *item = root->items[i];
        if (core_yaml_is_null(item))
            (*nil)[i] = true;
        else if (yaml_group(a, doc, item, &(*out)[i], err) < 0)
            return -1;
    }
    *n = root->n;
    return 0;
}

int disc_parse_groups(disc_fmt fmt, const char *origin, const char *buf, size_t len,
                      const char *meta_label, disc_tgs *out, core_err *err)
{
    core_arena a;
    core_arena_init(&a, 0);
    core_yaml_doc *doc = NULL;
    raw_group *raw = NULL;
    bool *nil = NULL;
    size_t n = 0;
    int rc = fmt == DISC_FMT_JSON ? json_groups(&a, buf, len, &raw, &n, &nil, err)
                                  : yaml_groups(&a, origin, buf, len, &doc, &raw, &n, &nil, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (nil[i]) rc = core_err_set(err, "nil target group item found");
    if (rc == 0) {
        core_sb src = CORE_SB_INIT;
        for (size_t i = 0; i < n; i++) {
            core_sb_reset(&src);
            core_sb_addf(&src, "%s:%zu", origin, i);
            disc_tg *tg = disc_tg_new(src.buf);
            /* The meta label wins over a label of the same name in the file. */
            core_label *ls = core_mallocarray(raw[i].n_labels + 1, sizeof *ls);
            size_t k = 0;
            for (size_t j = 0; j < raw[i].n_labels; j++)
                if (strcmp(raw[i].labels[j].name, meta_label) != 0) ls[k++] = raw[i].labels[j];
            ls[k++] = (core_label){meta_label, origin};
            disc_tg_set_labels(tg, ls, k);
            free(ls);
            for (size_t j = 0; j < raw[i].n_targets; j++) {
                core_label addr = {DISC_ADDRESS_LABEL, raw[i].targets[j]};
                disc_tg_add_target(tg, &addr, 1);
            }
            disc_tgs_push(out, tg);
        }
        core_sb_destroy(&src);
    }
    core_yaml_free(doc);
    core_arena_destroy(&a);
    return rc;
}
