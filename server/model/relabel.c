/*
 * relabel.c - relabeling rules, as Prometheus 3.x's model/relabel.
 *
 * A rule is a plain struct the config loader fills (see model.h); validation
 * is upstream's Config.Validate, check for check and message for message, so
 * a config refused upstream is refused here with the same words.
 *
 * Processing works on a core_labels_builder, as upstream works on its
 * labels.Builder: a rule reads values through the builder (so it sees what
 * earlier rules changed) and writes through it, and nothing is materialised
 * until the caller asks for the result.  Strings a rule creates (expanded
 * replacements, lowercased values, hashes) go into the caller's arena, which
 * lives as long as the builder's result is being built; a steady scrape loop
 * resets that arena per target and allocates nothing else per rule.
 *
 * The label iteration of labelmap, labeldrop and labelkeep follows upstream's
 * Builder.Range: a snapshot taken before the rule runs, base labels first and
 * then the ones added by earlier rules, so writes made by the rule itself are
 * not visited.
 *
 * hashmod is upstream's: MD5 of the joined values, the last 8 bytes read big
 * endian, modulo `modulus` (OpenSSL's MD5, since the digest must be MD5 to
 * shard targets the way Prometheus servers next to this one do).
 * lowercase and uppercase map runes as Go's strings.ToLower/ToUpper do
 * (simple Unicode case mapping, taken from the C.UTF-8 locale, which glibc
 * builds in; invalid UTF-8 bytes become U+FFFD as Go writes them).
 */
#include "model/model.h"

#include <ctype.h>
#include <locale.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

static const char *const action_names[] = {
    [MODEL_RELABEL_NONE] = "",
    [MODEL_RELABEL_REPLACE] = "replace",
    [MODEL_RELABEL_KEEP] = "keep",
    [MODEL_RELABEL_DROP] = "drop",
    [MODEL_RELABEL_KEEPEQUAL] = "keepequal",
    [MODEL_RELABEL_DROPEQUAL] = "dropequal",
    [MODEL_RELABEL_HASHMOD] = "hashmod",
    [MODEL_RELABEL_LABELMAP] = "labelmap",
    [MODEL_RELABEL_LABELDROP] = "labeldrop",
    [MODEL_RELABEL_LABELKEEP] = "labelkeep",
    [MODEL_RELABEL_LOWERCASE] = "lowercase",
    [MODEL_RELABEL_UPPERCASE] = "uppercase",
};

const char *model_relabel_action_name(model_relabel_action a)
{
    if ((size_t)a >= sizeof action_names / sizeof *action_names) return "";
    return action_names[a];
}

int model_relabel_action_parse(const char *s, model_relabel_action *out, core_err *err)
{
    for (size_t i = MODEL_RELABEL_REPLACE; i < sizeof action_names / sizeof *action_names; i++) {
        if (strcasecmp(s, action_names[i]) == 0 && s[0] != '\0') {
            *out = (model_relabel_action)i;
            return 0;
        }
    }
    core_sb q = CORE_SB_INIT;
    core_sb_add_quoted(&q, s, strlen(s));
    core_err_set(err, "unknown relabel action %s", q.buf);
    core_sb_destroy(&q);
    return -1;
}

bool model_label_name_valid(model_name_scheme scheme, const char *s, size_t len)
{
    if (len == 0) return false;
    if (scheme == MODEL_NAMES_UTF8) {
        uint32_t r;
        for (size_t i = 0; i < len;) {
            size_t k = model_utf8_decode(s + i, len - i, &r);
            if (k == 0) return false;
            i += k;
        }
        return true;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

/* ---- Rules */

void model_relabel_cfg_init(model_relabel_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->separator = core_strdup(";");
    c->regex = model_regex_new("(.*)", NULL);
    c->target_label = core_strdup("");
    c->replacement = core_strdup("$1");
    c->action = MODEL_RELABEL_REPLACE;
}

static void free_sources(model_relabel_cfg *c)
{
    for (size_t i = 0; i < c->n_source_labels; i++)
        free(c->source_labels[i]);
    free(c->source_labels);
    c->source_labels = NULL;
    c->n_source_labels = 0;
}

void model_relabel_cfg_destroy(model_relabel_cfg *c)
{
    free_sources(c);
    free(c->separator);
    model_regex_free(c->regex);
    free(c->target_label);
    free(c->replacement);
    memset(c, 0, sizeof *c);
}

void model_relabel_cfg_set_source_labels(model_relabel_cfg *c, const char *const *names, size_t n)
{
    free_sources(c);
    c->source_labels = n ? core_mallocarray(n, sizeof *c->source_labels) : NULL;
    for (size_t i = 0; i < n; i++)
        c->source_labels[i] = core_strdup(names[i]);
    c->n_source_labels = n;
    c->source_labels_set = true;
}

static void replace_str(char **field, const char *s)
{
    char *copy = core_strdup(s);
    free(*field);
    *field = copy;
}

void model_relabel_cfg_set_separator(model_relabel_cfg *c, const char *s)
{
    replace_str(&c->separator, s);
}

void model_relabel_cfg_set_target_label(model_relabel_cfg *c, const char *s)
{
    replace_str(&c->target_label, s);
}

void model_relabel_cfg_set_replacement(model_relabel_cfg *c, const char *s)
{
    replace_str(&c->replacement, s);
}

void model_relabel_cfg_set_regex(model_relabel_cfg *c, model_regex *re)
{
    model_regex_free(c->regex);
    c->regex = re;
    c->regex_set = true;
}

/* ---- Validation (upstream's Config.Validate) */

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static model_regex *legacy_target; /* upstream's relabelTargetLegacy */

static void legacy_init(void)
{
    legacy_target = model_regex_new("(?:(?:[a-zA-Z_]|\\$(?:\\{\\w+\\}|\\w+))+\\w*)+", NULL);
}

/* A label name that may hold $1 / ${name} references to be expanded. */
static bool valid_with_vars(model_name_scheme scheme, const char *s)
{
    if (scheme == MODEL_NAMES_UTF8) return model_label_name_valid(scheme, s, strlen(s));
    pthread_once(&legacy_once, legacy_init);
    return legacy_target != NULL && model_regex_match(legacy_target, s, strlen(s));
}

static int invalid(core_err *err, const char *value, const char *field, model_relabel_action a)
{
    core_sb q = CORE_SB_INIT;
    core_sb_add_quoted(&q, value, strlen(value));
    core_err_set(err, "%s is invalid '%s' for %s action", q.buf, field,
                 model_relabel_action_name(a));
    core_sb_destroy(&q);
    return -1;
}

int model_relabel_validate(model_relabel_cfg *c, model_name_scheme scheme, core_err *err)
{
    model_relabel_action a = c->action;
    const char *an = model_relabel_action_name(a);
    bool has_dollar = strchr(c->target_label, '$') != NULL;
    bool target_valid = model_label_name_valid(scheme, c->target_label, strlen(c->target_label));
    bool case_or_equal = a == MODEL_RELABEL_LOWERCASE || a == MODEL_RELABEL_UPPERCASE ||
                         a == MODEL_RELABEL_KEEPEQUAL || a == MODEL_RELABEL_DROPEQUAL;
    bool default_replacement = strcmp(c->replacement, "$1") == 0;
    bool default_separator = strcmp(c->separator, ";") == 0;

    if (a == MODEL_RELABEL_NONE) return core_err_set(err, "relabel action cannot be empty");
    if (a == MODEL_RELABEL_HASHMOD && c->modulus == 0)
        return core_err_set(err, "relabel configuration for hashmod requires non-zero modulus");
    if ((a == MODEL_RELABEL_REPLACE || a == MODEL_RELABEL_HASHMOD || case_or_equal) &&
        c->target_label[0] == '\0')
        return core_err_set(
            err, "relabel configuration for %s action requires 'target_label' value", an);
    if (a == MODEL_RELABEL_REPLACE && !has_dollar && !target_valid)
        return invalid(err, c->target_label, "target_label", a);
    if (a == MODEL_RELABEL_REPLACE && has_dollar && !valid_with_vars(scheme, c->target_label))
        return invalid(err, c->target_label, "target_label", a);
    if (case_or_equal && !target_valid) return invalid(err, c->target_label, "target_label", a);
    if (case_or_equal && !default_replacement)
        return core_err_set(err, "'replacement' can not be set for %s action", an);
    if (a == MODEL_RELABEL_LABELMAP && !valid_with_vars(scheme, c->replacement))
        return invalid(err, c->replacement, "replacement", a);
    if (a == MODEL_RELABEL_HASHMOD && !target_valid)
        return invalid(err, c->target_label, "target_label", a);
    if ((a == MODEL_RELABEL_DROPEQUAL || a == MODEL_RELABEL_KEEPEQUAL) &&
        (c->regex_set || c->modulus != 0 || !default_separator || !default_replacement))
        return core_err_set(err,
                            "%s action requires only 'source_labels' and `target_label`, and no "
                            "other fields",
                            an);
    if ((a == MODEL_RELABEL_LABELDROP || a == MODEL_RELABEL_LABELKEEP) &&
        (c->source_labels_set || c->target_label[0] != '\0' || c->modulus != 0 ||
         !default_separator || !default_replacement))
        return core_err_set(err, "%s action requires only 'regex', and no other fields", an);
    c->scheme = scheme;
    return 0;
}

/* ---- Processing */

static const char *get(const core_labels_builder *b, const char *name)
{
    const char *v = core_labels_builder_get(b, name);
    return v != NULL ? v : "";
}

/* Upstream's Builder.Range: a snapshot, base labels then added ones. */
static core_label *snapshot(const core_labels_builder *b, size_t *n)
{
    size_t nbase = b->base != NULL ? b->base->len : 0, k = 0;
    core_label *v = core_mallocarray(nbase + b->n_add + 1, sizeof *v);
    for (size_t i = 0; i < nbase; i++) {
        const core_label *l = &b->base->v[i];
        bool gone = false;
        for (size_t j = 0; j < b->n_del && !gone; j++)
            gone = strcmp(b->del[j], l->name) == 0;
        for (size_t j = 0; j < b->n_add && !gone; j++)
            gone = strcmp(b->add[j].name, l->name) == 0;
        if (!gone) v[k++] = *l;
    }
    for (size_t j = 0; j < b->n_add; j++)
        v[k++] = b->add[j];
    *n = k;
    return v;
}

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static void put_rune(core_sb *out, uint32_t c)
{
    char buf[4];
    if (c < 0x80) {
        core_sb_addc(out, (char)c);
        return;
    }
    size_t n;
    if (c < 0x800) {
        buf[0] = (char)(0xC0 | (c >> 6));
        buf[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        buf[0] = (char)(0xE0 | (c >> 12));
        buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        buf[0] = (char)(0xF0 | (c >> 18));
        buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    core_sb_add(out, buf, n);
}

/* Go's strings.ToLower / ToUpper. */
static void change_case(const char *s, size_t len, bool upper, core_sb *out)
{
    size_t i = 0;
    for (; i < len && (unsigned char)s[i] < 0x80; i++)
        core_sb_addc(out,
                     (char)(upper ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i])));
    if (i == len) return;
    pthread_once(&locale_once, locale_init);
    while (i < len) {
        uint32_t r;
        size_t k = model_utf8_decode(s + i, len - i, &r);
        if (k == 0) {
            put_rune(out, 0xFFFD);
            i++;
            continue;
        }
        i += k;
        if (r < 0x80) {
            r = (uint32_t)(upper ? toupper((int)r) : tolower((int)r));
        } else if (utf8_locale != (locale_t)0) {
            wint_t m =
                upper ? towupper_l((wint_t)r, utf8_locale) : towlower_l((wint_t)r, utf8_locale);
            r = (uint32_t)m;
        }
        put_rune(out, r);
    }
}

static uint64_t hashmod(const char *s, size_t len, uint64_t modulus)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(s, len, md, &n, EVP_md5(), NULL) != 1 || n != 16) {
        fputs("fatal: MD5 is not available from libcrypto\n", stderr);
        abort();
    }
    uint64_t v = 0;
    for (int i = 8; i < 16; i++)
        v = (v << 8) | md[i];
    return v % modulus;
}

static const char *arena_sb(core_arena *arena, const core_sb *sb)
{
    return core_arena_strndup(arena, sb->buf != NULL ? sb->buf : "", sb->len);
}

/* Upstream's relabel(): one rule; false when it drops the set. */
static bool apply(const model_relabel_cfg *c, core_labels_builder *b, core_arena *arena,
                  core_sb *val, core_sb *tmp)
{
    core_sb_reset(val);
    for (size_t i = 0; i < c->n_source_labels; i++) {
        if (i > 0) core_sb_adds(val, c->separator);
        core_sb_adds(val, get(b, c->source_labels[i]));
    }
    if (val->buf == NULL) core_sb_grow(val, 1);
    const char *v = val->buf;
    size_t vlen = val->len;
    switch (c->action) {
    case MODEL_RELABEL_NONE: break;
    case MODEL_RELABEL_DROP:
        if (model_regex_match(c->regex, v, vlen)) return false;
        break;
    case MODEL_RELABEL_KEEP:
        if (!model_regex_match(c->regex, v, vlen)) return false;
        break;
    case MODEL_RELABEL_DROPEQUAL:
        if (strcmp(get(b, c->target_label), v) == 0) return false;
        break;
    case MODEL_RELABEL_KEEPEQUAL:
        if (strcmp(get(b, c->target_label), v) != 0) return false;
        break;
    case MODEL_RELABEL_REPLACE: {
        if (vlen == 0 && !c->regex_set && strchr(c->target_label, '$') == NULL &&
            strchr(c->replacement, '$') == NULL) {
            core_labels_builder_set(b, c->target_label, c->replacement);
            break;
        }
        size_t stack[2 * 16];
        size_t np = model_regex_groups(c->regex) + 1;
        size_t *ov = np <= 16 ? stack : core_mallocarray(2 * np, sizeof *ov);
        if (model_regex_exec(c->regex, v, vlen, ov, np)) {
            core_sb_reset(tmp);
            model_regex_expand(c->regex, c->target_label, strlen(c->target_label), v, ov, np, tmp);
            if (model_label_name_valid(c->scheme, tmp->buf != NULL ? tmp->buf : "", tmp->len)) {
                const char *target = arena_sb(arena, tmp);
                core_sb_reset(tmp);
                model_regex_expand(c->regex, c->replacement, strlen(c->replacement), v, ov, np,
                                   tmp);
                if (tmp->len == 0)
                    core_labels_builder_del(b, target);
                else
                    core_labels_builder_set(b, target, arena_sb(arena, tmp));
            }
        }
        if (ov != stack) free(ov);
        break;
    }
    case MODEL_RELABEL_LOWERCASE:
    case MODEL_RELABEL_UPPERCASE:
        core_sb_reset(tmp);
        change_case(v, vlen, c->action == MODEL_RELABEL_UPPERCASE, tmp);
        core_labels_builder_set(b, c->target_label, arena_sb(arena, tmp));
        break;
    case MODEL_RELABEL_HASHMOD: {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)hashmod(v, vlen, c->modulus));
        core_labels_builder_set(b, c->target_label, core_arena_strdup(arena, num));
        break;
    }
    case MODEL_RELABEL_LABELMAP:
    case MODEL_RELABEL_LABELDROP:
    case MODEL_RELABEL_LABELKEEP: {
        size_t n;
        core_label *ls = snapshot(b, &n);
        for (size_t i = 0; i < n; i++) {
            const char *name = ls[i].name;
            bool m = model_regex_match(c->regex, name, strlen(name));
            if (c->action == MODEL_RELABEL_LABELDROP && m) {
                core_labels_builder_del(b, name);
            } else if (c->action == MODEL_RELABEL_LABELKEEP && !m) {
                core_labels_builder_del(b, name);
            } else if (c->action == MODEL_RELABEL_LABELMAP && m) {
                core_sb_reset(tmp);
                model_regex_replace(c->regex, name, strlen(name), c->replacement,
                                    strlen(c->replacement), tmp);
                /* Upstream would set a label with an empty name; such a set
                 * fails later anyway, so none is made here. */
                if (tmp->len > 0) core_labels_builder_set(b, arena_sb(arena, tmp), ls[i].value);
            }
        }
        free(ls);
        break;
    }
    }
    return true;
}

bool model_relabel_process(const model_relabel_cfg *cfgs, size_t n, core_labels_builder *b,
                           core_arena *arena)
{
    core_sb val = CORE_SB_INIT, tmp = CORE_SB_INIT;
    bool keep = true;
    for (size_t i = 0; i < n && keep; i++)
        keep = apply(&cfgs[i], b, arena, &val, &tmp);
    core_sb_destroy(&val);
    core_sb_destroy(&tmp);
    return keep;
}

core_labels *model_relabel_labels(const model_relabel_cfg *cfgs, size_t n, const core_labels *in)
{
    core_arena arena;
    core_arena_init(&arena, 0);
    core_labels_builder b;
    core_labels_builder_init(&b, in);
    core_labels *out = NULL;
    if (model_relabel_process(cfgs, n, &b, &arena)) out = core_labels_builder_labels(&b, NULL);
    core_labels_builder_destroy(&b);
    core_arena_destroy(&arena);
    return out;
}
