/*
 * labels.c - see labels.h.
 *
 * Building a set sorts an array of borrowed pairs first, then copies everything
 * into one block: [core_labels header][pairs][name\0value\0...].  The builder is
 * two small arrays (changed labels, deleted names) that are folded into the base
 * only when the result is asked for, so a relabeling step that changes nothing
 * costs no allocation until the end.
 */
#include "core/labels.h"
#include "core/hash.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static int cmp_pair(const void *a, const void *b)
{
    const core_label *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static size_t block_size(const core_label *pairs, size_t n)
{
    size_t sz = sizeof(core_labels) + n * sizeof(core_label);
    for (size_t i = 0; i < n; i++)
        sz += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
    return sz;
}

/* Fills `ls` (of block_size bytes) from sorted pairs. */
static core_labels *fill(core_labels *ls, const core_label *sorted, size_t n)
{
    ls->len = n;
    char *p = (char *)&ls->v[n];
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(sorted[i].name) + 1, vl = strlen(sorted[i].value) + 1;
        ls->v[i].name = memcpy(p, sorted[i].name, nl);
        p += nl;
        ls->v[i].value = memcpy(p, sorted[i].value, vl);
        p += vl;
    }
    return ls;
}

/* Sorts `pairs` in place and copies them into a new set. */
static core_labels *sort_and_fill(core_arena *arena, core_label *pairs, size_t n)
{
    qsort(pairs, n, sizeof *pairs, cmp_pair);
    size_t sz = block_size(pairs, n);
    return fill(arena ? core_arena_alloc(arena, sz) : core_malloc(sz), pairs, n);
}

static core_labels *build(core_arena *arena, const core_label *pairs, size_t n)
{
    core_label stackbuf[32];
    core_label *tmp = n <= 32 ? stackbuf : core_mallocarray(n, sizeof *tmp);
    if (n > 0) memcpy(tmp, pairs, n * sizeof *tmp);
    core_labels *ls = sort_and_fill(arena, tmp, n);
    if (tmp != stackbuf) free(tmp);
    return ls;
}

core_labels *core_labels_new(const core_label *pairs, size_t n)
{
    return build(NULL, pairs, n);
}

core_labels *core_labels_new_in(core_arena *arena, const core_label *pairs, size_t n)
{
    return build(arena, pairs, n);
}

core_labels *core_labels_clone(const core_labels *ls)
{
    size_t sz = block_size(ls->v, ls->len);
    return fill(core_malloc(sz), ls->v, ls->len);
}

const char *core_labels_get(const core_labels *ls, const char *name)
{
    size_t lo = 0, hi = ls->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ls->v[mid].name, name);
        if (c == 0) return ls->v[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *core_labels_dup_name(const core_labels *ls)
{
    for (size_t i = 1; i < ls->len; i++)
        if (strcmp(ls->v[i - 1].name, ls->v[i].name) == 0) return ls->v[i].name;
    return NULL;
}

uint64_t core_labels_hash(const core_labels *ls)
{
    /* Most label sets fit a stack buffer; hash those in one call. */
    char buf[1024];
    size_t n = 0;
    for (size_t i = 0; i < ls->len; i++) {
        size_t nl = strlen(ls->v[i].name), vl = strlen(ls->v[i].value);
        if (n + nl + vl + 2 > sizeof buf) goto streaming;
        memcpy(buf + n, ls->v[i].name, nl);
        n += nl;
        buf[n++] = (char)0xff;
        memcpy(buf + n, ls->v[i].value, vl);
        n += vl;
        buf[n++] = (char)0xff;
    }
    return core_hash(buf, n);
streaming:;
    static const char sep = (char)0xff;
    core_hasher h;
    core_hasher_init(&h);
    for (size_t i = 0; i < ls->len; i++) {
        core_hasher_add(&h, ls->v[i].name, strlen(ls->v[i].name));
        core_hasher_add(&h, &sep, 1);
        core_hasher_add(&h, ls->v[i].value, strlen(ls->v[i].value));
        core_hasher_add(&h, &sep, 1);
    }
    uint64_t sum = core_hasher_sum(&h);
    core_hasher_destroy(&h);
    return sum;
}

int core_labels_compare(const core_labels *a, const core_labels *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a->v[i].name, b->v[i].name);
        if (c == 0) c = strcmp(a->v[i].value, b->v[i].value);
        if (c != 0) return c < 0 ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len;
}

bool core_labels_equal(const core_labels *a, const core_labels *b)
{
    return a->len == b->len && core_labels_compare(a, b) == 0;
}

void core_labels_format(const core_labels *ls, core_sb *out)
{
    core_sb_addc(out, '{');
    for (size_t i = 0; i < ls->len; i++) {
        if (i > 0) core_sb_add(out, ", ", 2);
        core_sb_adds(out, ls->v[i].name);
        core_sb_addc(out, '=');
        core_sb_add_quoted(out, ls->v[i].value, strlen(ls->v[i].value));
    }
    core_sb_addc(out, '}');
}

static bool name_char(char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

static bool name_valid(const char *s, size_t len, bool colon)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i], i == 0, colon)) return false;
    return true;
}

bool core_metric_name_valid(const char *s, size_t len)
{
    return name_valid(s, len, true);
}

bool core_label_name_valid(const char *s, size_t len)
{
    return name_valid(s, len, false);
}

void core_labels_builder_init(core_labels_builder *b, const core_labels *base)
{
    memset(b, 0, sizeof *b);
    b->base = base;
}

void core_labels_builder_reset(core_labels_builder *b, const core_labels *base)
{
    b->base = base;
    b->n_add = b->n_del = 0;
}

void core_labels_builder_destroy(core_labels_builder *b)
{
    free(b->add);
    free(b->del);
    memset(b, 0, sizeof *b);
}

static void remove_add(core_labels_builder *b, const char *name)
{
    for (size_t i = 0; i < b->n_add; i++) {
        if (strcmp(b->add[i].name, name) == 0) {
            b->add[i] = b->add[--b->n_add];
            return;
        }
    }
}

void core_labels_builder_del(core_labels_builder *b, const char *name)
{
    remove_add(b, name);
    for (size_t i = 0; i < b->n_del; i++)
        if (strcmp(b->del[i], name) == 0) return;
    if (b->n_del == b->cap_del) {
        b->cap_del = b->cap_del ? b->cap_del * 2 : 8;
        b->del = core_reallocarray(b->del, b->cap_del, sizeof *b->del);
    }
    b->del[b->n_del++] = name;
}

void core_labels_builder_set(core_labels_builder *b, const char *name, const char *value)
{
    if (value[0] == '\0') {
        core_labels_builder_del(b, name);
        return;
    }
    for (size_t i = 0; i < b->n_del; i++) {
        if (strcmp(b->del[i], name) == 0) {
            b->del[i] = b->del[--b->n_del];
            break;
        }
    }
    for (size_t i = 0; i < b->n_add; i++) {
        if (strcmp(b->add[i].name, name) == 0) {
            b->add[i].value = value;
            return;
        }
    }
    if (b->n_add == b->cap_add) {
        b->cap_add = b->cap_add ? b->cap_add * 2 : 8;
        b->add = core_reallocarray(b->add, b->cap_add, sizeof *b->add);
    }
    b->add[b->n_add++] = (core_label){name, value};
}

static bool deleted(const core_labels_builder *b, const char *name)
{
    for (size_t i = 0; i < b->n_del; i++)
        if (strcmp(b->del[i], name) == 0) return true;
    return false;
}

const char *core_labels_builder_get(const core_labels_builder *b, const char *name)
{
    for (size_t i = 0; i < b->n_add; i++)
        if (strcmp(b->add[i].name, name) == 0) return b->add[i].value;
    if (b->base == NULL || deleted(b, name)) return NULL;
    return core_labels_get(b->base, name);
}

static bool listed(const char *const names[], const char *name)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

void core_labels_builder_keep(core_labels_builder *b, const char *const names[])
{
    for (size_t i = 0; i < b->n_add;) {
        if (listed(names, b->add[i].name))
            i++;
        else
            b->add[i] = b->add[--b->n_add];
    }
    for (size_t i = 0; b->base != NULL && i < b->base->len; i++)
        if (!listed(names, b->base->v[i].name)) core_labels_builder_del(b, b->base->v[i].name);
}

core_labels *core_labels_builder_labels(const core_labels_builder *b, core_arena *arena)
{
    size_t nbase = b->base ? b->base->len : 0, n = 0;
    core_label stackbuf[32];
    size_t cap = nbase + b->n_add;
    core_label *pairs = cap <= 32 ? stackbuf : core_mallocarray(cap, sizeof *pairs);
    for (size_t i = 0; i < nbase; i++) {
        const core_label *l = &b->base->v[i];
        bool overridden = false;
        for (size_t k = 0; k < b->n_add && !overridden; k++)
            overridden = strcmp(b->add[k].name, l->name) == 0;
        if (!overridden && !deleted(b, l->name)) pairs[n++] = *l;
    }
    for (size_t k = 0; k < b->n_add; k++)
        pairs[n++] = b->add[k];
    core_labels *ls = sort_and_fill(arena, pairs, n);
    if (pairs != stackbuf) free(pairs);
    return ls;
}
