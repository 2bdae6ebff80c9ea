/*
 * relabel.c - relabel rules read from YAML into model_relabel_cfg.
 *
 * As upstream's relabel.Config.UnmarshalYAML: a rule starts from the
 * defaults (separator ";", regex (.*), replacement "$1", action replace), the
 * keys given overwrite them (null giving the empty value), the regex is
 * compiled at once (Go's messages), an action is matched case-insensitively,
 * and source label names must be valid (non-empty UTF-8).  Validation of the
 * rule as a whole (model_relabel_validate) comes later, when the name
 * validation scheme of the scrape config is known, as upstream's Validate.
 */
#include "config/internal.h"

#include <stdlib.h>

static int decode_rule(dec *d, const ynode *n, model_relabel_cfg *c)
{
    static const char *const keys[] = {"source_labels", "separator",   "regex",  "modulus",
                                       "target_label",  "replacement", "action", NULL};
    if (dec_check(d, n, keys, "relabel config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        if (strcmp(k, "source_labels") == 0) {
            cfg_strs names;
            if (dec_strs(d, v, k, &names) < 0) return -1;
            for (size_t j = 0; j < names.n; j++)
                if (!model_label_name_valid(MODEL_NAMES_UTF8, names.v[j], strlen(names.v[j])))
                    return dec_fail(d, v->items[j], "%s is not a valid label name",
                                    dec_quote(d, names.v[j]));
            if (core_yaml_is_null(v)) {
                model_relabel_cfg_set_source_labels(c, NULL, 0);
                c->source_labels_set = false;
            } else {
                model_relabel_cfg_set_source_labels(c, names.v, names.n);
            }
        } else if (strcmp(k, "separator") == 0 || strcmp(k, "target_label") == 0 ||
                   strcmp(k, "replacement") == 0) {
            const char *s;
            if (dec_str(d, v, k, &s) < 0) return -1;
            if (k[0] == 's')
                model_relabel_cfg_set_separator(c, s);
            else if (k[0] == 't')
                model_relabel_cfg_set_target_label(c, s);
            else
                model_relabel_cfg_set_replacement(c, s);
        } else if (strcmp(k, "regex") == 0) {
            const char *s;
            if (dec_str(d, v, k, &s) < 0) return -1;
            core_err rerr;
            model_regex *re = model_regex_new(s, &rerr);
            if (re == NULL) return dec_fail(d, v, "%s", rerr.msg);
            model_relabel_cfg_set_regex(c, re);
        } else if (strcmp(k, "modulus") == 0) {
            if (dec_uint(d, v, k, &c->modulus) < 0) return -1;
        } else if (strcmp(k, "action") == 0) {
            const char *s;
            if (dec_str(d, v, k, &s) < 0) return -1;
            if (core_yaml_is_null(v)) {
                c->action = MODEL_RELABEL_NONE;
            } else {
                core_err aerr;
                if (model_relabel_action_parse(s, &c->action, &aerr) < 0)
                    return dec_fail(d, v, "%s", aerr.msg);
            }
        }
    }
    return 0;
}

int cfg_relabels_decode(dec *d, const ynode *n, const char *null_msg, cfg_relabels *out)
{
    size_t cnt;
    out->v = NULL;
    out->n = 0;
    if (dec_seq(d, n, "relabel configs", &cnt) < 0) return -1;
    if (cnt == 0) return 0;
    out->v = core_calloc(cnt, sizeof *out->v);
    for (size_t i = 0; i < cnt; i++) {
        const ynode *item = n->items[i];
        if (core_yaml_is_null(item)) return dec_fail(d, item, "%s", null_msg);
        model_relabel_cfg_init(&out->v[i]);
        out->n = i + 1;
        if (decode_rule(d, item, &out->v[i]) < 0) return -1;
    }
    return 0;
}

int cfg_relabels_validate(dec *d, const ynode *n, cfg_relabels *r, model_name_scheme scheme)
{
    for (size_t i = 0; i < r->n; i++) {
        core_err err;
        if (model_relabel_validate(&r->v[i], scheme, &err) < 0)
            return dec_fail(d, n != NULL && n->kind == CORE_YAML_SEQ ? n->items[i] : n, "%s",
                            err.msg);
    }
    return 0;
}

void cfg_relabels_free(cfg_relabels *r)
{
    for (size_t i = 0; i < r->n; i++)
        model_relabel_cfg_destroy(&r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
