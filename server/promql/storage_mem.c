/*
 * storage_mem.c - the in-memory pql_storage used by tests and the conformance
 * runner, and the helpers every storage shares (matchers, label name and
 * value lookups derived from select()).
 *
 * Series live in one growable array, each with its own arrays of timestamps
 * and values; select() scans every series (tests hold a few hundred at most)
 * and hands out iterators that binary-search on seek.  Regex matchers are
 * compiled once per call.  label_names() and label_values() apply the time
 * range per series (a series counts when it has a sample in [mint, maxt]),
 * which is finer than upstream's head, which only checks the head's range as
 * a whole; for a test store the finer rule is the useful one.
 */
#include "promql/storage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef struct mem_series {
    core_labels *labels;
    int64_t *t;
    double *v;
    size_t n, cap;
} mem_series;

struct pql_mem_storage {
    pql_storage iface;
    mem_series *s;
    size_t n, cap;
};

double pql_stale_nan(void)
{
    uint64_t bits = PQL_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

bool pql_is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == PQL_STALE_NAN_BITS;
}

void *pql_regex_compile(const pql_matcher *m, core_err *err)
{
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "^(?:");
    core_sb_add(&sb, m->value, m->value_len);
    core_sb_adds(&sb, ")$");
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)sb.buf, sb.len,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOTALL, &ec, &eo, NULL);
    core_sb_destroy(&sb);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        core_err_set(err, "error parsing regexp: %s", (const char *)msg);
    }
    return re;
}

void pql_regex_free(void *re)
{
    pcre2_code_free(re);
}

bool pql_matcher_matches(const pql_matcher *m, const void *re, const char *value)
{
    size_t len = strlen(value);
    switch (m->type) {
    case PQL_MATCH_EQ: return len == m->value_len && memcmp(value, m->value, len) == 0;
    case PQL_MATCH_NEQ: return !(len == m->value_len && memcmp(value, m->value, len) == 0);
    default: break;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    bool hit = pcre2_match(re, (PCRE2_SPTR)value, len, 0, 0, md, NULL) >= 0;
    pcre2_match_data_free(md);
    return m->type == PQL_MATCH_RE ? hit : !hit;
}

static int mem_select(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                      core_arena *arena, pql_series **out, size_t *nout, core_err *err);
static int mem_label_names(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint,
                           int64_t maxt, core_arena *arena, const char ***out, size_t *nout,
                           core_err *err);
static int mem_label_values(pql_storage *st, const char *name, const pql_matcher *m, size_t nm,
                            int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                            size_t *nout, core_err *err);

pql_mem_storage *pql_mem_storage_new(void)
{
    pql_mem_storage *ms = core_calloc(1, sizeof *ms);
    ms->iface.select = mem_select;
    ms->iface.label_names = mem_label_names;
    ms->iface.label_values = mem_label_values;
    return ms;
}

void pql_mem_storage_clear(pql_mem_storage *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->s[i].labels);
        free(ms->s[i].t);
        free(ms->s[i].v);
    }
    ms->n = 0;
}

void pql_mem_storage_free(pql_mem_storage *ms)
{
    if (!ms) return;
    pql_mem_storage_clear(ms);
    free(ms->s);
    free(ms);
}

static mem_series *find_or_add(pql_mem_storage *ms, const core_labels *ls)
{
    for (size_t i = 0; i < ms->n; i++)
        if (core_labels_equal(ms->s[i].labels, ls)) return &ms->s[i];
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 16;
        ms->s = core_reallocarray(ms->s, ms->cap, sizeof *ms->s);
    }
    mem_series *s = &ms->s[ms->n++];
    memset(s, 0, sizeof *s);
    s->labels = core_labels_clone(ls);
    return s;
}

void pql_mem_storage_add(pql_mem_storage *ms, const core_labels *ls, int64_t t, double v)
{
    mem_series *s = find_or_add(ms, ls);
    if (s->n > 0 && s->t[s->n - 1] == t) {
        s->v[s->n - 1] = v;
        return;
    }
    if (s->n > 0 && s->t[s->n - 1] > t) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->t = core_reallocarray(s->t, s->cap, sizeof *s->t);
        s->v = core_reallocarray(s->v, s->cap, sizeof *s->v);
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
}

/* Iterator position: pos is one past the current sample (0: before the first). */
static bool it_load(pql_iter *it)
{
    const mem_series *s = it->impl;
    if (it->pos == 0 || it->pos > s->n) return false;
    it->t = s->t[it->pos - 1];
    it->v = s->v[it->pos - 1];
    return true;
}

static bool it_next(pql_iter *it)
{
    const mem_series *s = it->impl;
    if (it->pos <= s->n) it->pos++;
    return it_load(it);
}

static bool it_seek(pql_iter *it, int64_t t)
{
    const mem_series *s = it->impl;
    if (it->pos > 0 && it->pos <= s->n && s->t[it->pos - 1] >= t) return true;
    size_t lo = it->pos ? it->pos - 1 : 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    it->pos = lo + 1;
    return it_load(it);
}

static bool series_matches(const mem_series *s, const pql_matcher *m, void **re, size_t nm)
{
    for (size_t i = 0; i < nm; i++) {
        const char *v = core_labels_get(s->labels, m[i].name);
        if (!pql_matcher_matches(&m[i], re[i], v ? v : "")) return false;
    }
    return true;
}

static bool has_sample_in(const mem_series *s, int64_t mint, int64_t maxt)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] >= mint && s->t[i] <= maxt) return true;
    return false;
}

static int cmp_series(const void *a, const void *b)
{
    return core_labels_compare(((const pql_series *)a)->labels, ((const pql_series *)b)->labels);
}

/* Compiles the regexes of m into re[] (NULL for the others); frees what it
 * compiled and returns -1 on a bad one. */
static int compile_all(const pql_matcher *m, size_t nm, void **re, core_err *err)
{
    for (size_t i = 0; i < nm; i++)
        if (m[i].type == PQL_MATCH_RE || m[i].type == PQL_MATCH_NRE)
            if (!(re[i] = pql_regex_compile(&m[i], err))) {
                while (i-- > 0)
                    if (re[i]) pql_regex_free(re[i]), re[i] = NULL;
                return -1;
            }
    return 0;
}

static void free_all(void **re, size_t nm)
{
    for (size_t i = 0; i < nm; i++)
        if (re[i]) pql_regex_free(re[i]);
}

static int mem_select(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                      core_arena *arena, pql_series **out, size_t *nout, core_err *err)
{
    pql_mem_storage *ms = (pql_mem_storage *)st;
    void **re = core_arena_calloc(arena, nm + 1, sizeof *re);
    int rc = compile_all(m, nm, re, err);
    *out = core_arena_calloc(arena, ms->n + 1, sizeof **out);
    *nout = 0;
    for (size_t i = 0; i < ms->n && rc == 0; i++) {
        const mem_series *s = &ms->s[i];
        if (!has_sample_in(s, mint, maxt) || !series_matches(s, m, re, nm)) continue;
        pql_series *o = &(*out)[(*nout)++];
        o->labels = s->labels;
        o->it = (pql_iter){.seek = it_seek, .next = it_next, .impl = s};
    }
    free_all(re, nm);
    if (rc == 0) qsort(*out, *nout, sizeof **out, cmp_series);
    return rc;
}

/* Label names (name NULL) or values of `name` of the matching series with a
 * sample in [mint, maxt]. */
static int mem_labels(pql_mem_storage *ms, const char *name, const pql_matcher *m, size_t nm,
                      int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                      size_t *nout, core_err *err)
{
    void **re = core_arena_calloc(arena, nm + 1, sizeof *re);
    if (compile_all(m, nm, re, err) < 0) return -1;
    size_t n = 0, cap = 16;
    const char **v = core_calloc(cap, sizeof *v);
    for (size_t i = 0; i < ms->n; i++) {
        const mem_series *s = &ms->s[i];
        if (!has_sample_in(s, mint, maxt) || !series_matches(s, m, re, nm)) continue;
        for (size_t l = 0; l < s->labels->len; l++) {
            const core_label *lb = &s->labels->v[l];
            if (name && strcmp(lb->name, name) != 0) continue;
            const char *str = name ? lb->value : lb->name;
            if (!str[0]) continue;
            if (n == cap) v = core_reallocarray(v, cap *= 2, sizeof *v);
            v[n++] = str;
        }
    }
    free_all(re, nm);
    n = pql_strings_sort_unique(v, n);
    *out = core_arena_calloc(arena, n + 1, sizeof **out);
    for (size_t i = 0; i < n; i++)
        (*out)[i] = core_arena_strdup(arena, v[i]);
    *nout = n;
    free(v);
    return 0;
}

static int mem_label_names(pql_storage *st, const pql_matcher *m, size_t nm, int64_t mint,
                           int64_t maxt, core_arena *arena, const char ***out, size_t *nout,
                           core_err *err)
{
    return mem_labels((pql_mem_storage *)st, NULL, m, nm, mint, maxt, arena, out, nout, err);
}

static int mem_label_values(pql_storage *st, const char *name, const pql_matcher *m, size_t nm,
                            int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                            size_t *nout, core_err *err)
{
    return mem_labels((pql_mem_storage *)st, name, m, nm, mint, maxt, arena, out, nout, err);
}

/* ---- Helpers for every storage */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t pql_strings_sort_unique(const char **v, size_t n)
{
    if (n < 2) return n;
    qsort(v, n, sizeof *v, cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i], v[k - 1]) != 0) v[k++] = v[i];
    return k;
}

/* The fallback of both lookups: select() and read the labels. */
static int labels_by_select(pql_storage *s, const char *name, const pql_matcher *m, size_t nm,
                            int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                            size_t *nout, core_err *err)
{
    pql_series *series;
    size_t ns;
    if (s->select(s, m, nm, mint, maxt, arena, &series, &ns, err) < 0) return -1;
    size_t n = 0, cap = 16;
    const char **v = core_arena_calloc(arena, cap, sizeof *v);
    for (size_t i = 0; i < ns; i++)
        for (size_t l = 0; l < series[i].labels->len; l++) {
            const core_label *lb = &series[i].labels->v[l];
            if (name && strcmp(lb->name, name) != 0) continue;
            const char *str = name ? lb->value : lb->name;
            if (!str[0]) continue;
            if (n == cap) {
                const char **nv = core_arena_calloc(arena, cap * 2, sizeof *nv);
                memcpy(nv, v, n * sizeof *v);
                v = nv, cap *= 2;
            }
            v[n++] = str;
        }
    *out = v;
    *nout = pql_strings_sort_unique(v, n);
    return 0;
}

pql_storage *pql_storage_acquire(pql_storage *s, core_err *err)
{
    return s->acquire ? s->acquire(s, err) : s;
}

void pql_storage_release(pql_storage *s, pql_storage *view)
{
    if (s->release && view && view != s) s->release(view);
}

int pql_storage_label_names(pql_storage *s, const pql_matcher *m, size_t nm, int64_t mint,
                            int64_t maxt, core_arena *arena, const char ***out, size_t *nout,
                            core_err *err)
{
    if (s->label_names) return s->label_names(s, m, nm, mint, maxt, arena, out, nout, err);
    return labels_by_select(s, NULL, m, nm, mint, maxt, arena, out, nout, err);
}

int pql_storage_label_values(pql_storage *s, const char *name, const pql_matcher *m, size_t nm,
                             int64_t mint, int64_t maxt, core_arena *arena, const char ***out,
                             size_t *nout, core_err *err)
{
    if (s->label_values) return s->label_values(s, name, m, nm, mint, maxt, arena, out, nout, err);
    return labels_by_select(s, name, m, nm, mint, maxt, arena, out, nout, err);
}

pql_storage *pql_mem_storage_iface(pql_mem_storage *ms)
{
    return &ms->iface;
}
