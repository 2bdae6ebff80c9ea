/*
 * family.c - metric families and their children, see metric.h.
 *
 * A child is one allocation: the type's struct (pm_child first), then the
 * label values (pointers, lengths and the bytes).  Lookups hash the values with
 * XXH3 (inlined from xxhash.h, so libprom needs no xxhash library at run time)
 * and probe the family's table without a lock.  A miss takes the family's
 * mutex, probes again and inserts; when the table gets 3/4 full a bigger one is
 * built and published, and the old one stays readable until the family dies.
 */
#include "metric.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MAX_LABELS 64
#define TOMBSTONE  ((pm_child *)(uintptr_t)1)

double pm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Names */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int pm_check_metric_name(const char *name)
{
    if (name == NULL || name[0] == '\0') return pm_error(PROM_EINVAL, "a metric needs a name");
    for (const char *p = name; *p != '\0'; p++) {
        if (!(is_alpha(*p) || *p == ':' || (p != name && is_digit(*p))))
            return pm_error(PROM_EINVAL,
                            "invalid metric name \"%s\": must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                            name);
    }
    return 0;
}

int pm_check_label_name(const char *name, const char *reserved)
{
    if (name == NULL || name[0] == '\0') return pm_error(PROM_EINVAL, "a label needs a name");
    for (const char *p = name; *p != '\0'; p++) {
        if (!(is_alpha(*p) || (p != name && is_digit(*p))))
            return pm_error(PROM_EINVAL,
                            "invalid label name \"%s\": must match [a-zA-Z_][a-zA-Z0-9_]*", name);
    }
    if (name[0] == '_' && name[1] == '_')
        return pm_error(PROM_EINVAL,
                        "invalid label name \"%s\": names starting with \"__\" are reserved", name);
    if (reserved != NULL && strcmp(name, reserved) == 0)
        return pm_error(PROM_EINVAL, "label name \"%s\" is reserved for this metric type", name);
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as
 * Go's utf8.ValidString. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += len;
    }
    return true;
}

/* ---- Handles */

pm_family *pm_family_of(void *handle)
{
    pm_child *c = handle;
    if (c == NULL) return NULL;
    if (c->kind == PM_KIND_CHILD) return c->family;
    return handle;
}

int pm_not_a_child(const void *handle, const char *what)
{
    if (handle == NULL) return pm_error(PROM_EINVAL, "%s: the metric is NULL", what);
    const pm_family *f = handle;
    return pm_error(PROM_ESTATE, "%s: \"%s\" has labels; update a child from its _labels() lookup",
                    what, f->name);
}

void *pm_family_handle(pm_family *f)
{
    return f->solo != NULL ? (void *)f->solo : (void *)f;
}

/* ---- The table */

/* The hash of the values: XXH3 of each, seeded with the hash so far.  (Packing
 * short values into one buffer for a single call measured slower: the word
 * loads of the hash stall on the byte stores of the copy.) */
static uint64_t hash_values(const char *const values[], const uint32_t lens[], size_t n)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15);
    for (size_t i = 0; i < n; i++)
        h = XXH3_64bits_withSeed(values[i], lens[i], h);
    return h;
}

static bool same_values(const pm_child *c, const char *const values[], const uint32_t lens[],
                        size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c->value_lens[i] != lens[i] || memcmp(c->values[i], values[i], lens[i]) != 0)
            return false;
    return true;
}

static pm_table *table_new(size_t cap)
{
    pm_table *t = calloc(1, sizeof *t + cap * sizeof t->slots[0]);
    if (t != NULL) t->cap = cap;
    return t;
}

static pm_child *probe(pm_table *t, uint64_t h, const char *const values[], const uint32_t lens[],
                       size_t n)
{
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (c == NULL) return NULL;
        if (c != TOMBSTONE && c->hash == h && same_values(c, values, lens, n)) return c;
    }
}

/* Puts c in the first free or tombstone slot of t (lock held). */
static void table_put(pm_table *t, pm_child *c)
{
    for (size_t i = c->hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        pm_child *old = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (old == NULL || old == TOMBSTONE) {
            if (old == NULL) t->used++;
            atomic_store_explicit(&t->slots[i], c, memory_order_release);
            return;
        }
    }
}

static int keep_old_table(pm_family *f, pm_table *t)
{
    pm_table **v = realloc(f->old_tables, (f->n_old_tables + 1) * sizeof *v);
    if (v == NULL) return pm_error(PROM_ENOMEM, "out of memory");
    f->old_tables = v;
    v[f->n_old_tables++] = t;
    return 0;
}

/* Makes room for one more child (lock held). */
static int table_reserve(pm_family *f)
{
    pm_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((t->used + 1) * 4 <= t->cap * 3) return 0;
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++) {
        pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        live += c != NULL && c != TOMBSTONE;
    }
    size_t cap = 8;
    while (cap < (live + 1) * 2)
        cap *= 2;
    pm_table *nt = table_new(cap);
    if (nt == NULL || keep_old_table(f, t) < 0) {
        free(nt);
        return pm_error(PROM_ENOMEM, "out of memory growing the children of \"%s\"", f->name);
    }
    for (size_t i = 0; i < t->cap; i++) {
        pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (c != NULL && c != TOMBSTONE) table_put(nt, c);
    }
    atomic_store_explicit(&f->table, nt, memory_order_release);
    return 0;
}

/* ---- Children */

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static pm_child *child_new(pm_family *f, const char *const values[], const uint32_t lens[],
                           uint64_t h)
{
    size_t n = f->n_labels, bytes = round8(f->ops->child_size) + n * (sizeof(char *) + 4);
    for (size_t i = 0; i < n; i++)
        bytes += lens[i] + 1;
    pm_child *c = calloc(1, bytes);
    if (c == NULL) {
        pm_error(PROM_ENOMEM, "out of memory creating a child of \"%s\"", f->name);
        return NULL;
    }
    c->kind = PM_KIND_CHILD;
    c->family = f;
    c->hash = h;
    c->created = pm_now();
    c->values = (const char **)((char *)c + round8(f->ops->child_size));
    c->value_lens = (uint32_t *)(c->values + n);
    char *p = (char *)(c->value_lens + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, values[i], lens[i]);
        p[lens[i]] = '\0';
        c->values[i] = p;
        c->value_lens[i] = lens[i];
        p += lens[i] + 1;
    }
    if (f->ops->child_init != NULL && f->ops->child_init(f, c) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void child_free(pm_family *f, pm_child *c)
{
    if (f->ops->child_destroy != NULL) f->ops->child_destroy(f, c);
    free(c);
}

static pm_child *insert(pm_family *f, const char *const values[], const uint32_t lens[], uint64_t h)
{
    for (size_t i = 0; i < f->n_labels; i++) {
        if (!valid_utf8((const unsigned char *)values[i], lens[i])) {
            pm_error(PROM_EINVAL, "label value for \"%s\" of \"%s\" is not valid UTF-8",
                     f->label_names[i], f->name);
            return NULL;
        }
    }
    pthread_mutex_lock(&f->lock);
    pm_child *c =
        probe(atomic_load_explicit(&f->table, memory_order_relaxed), h, values, lens, f->n_labels);
    if (c == NULL && table_reserve(f) == 0) {
        c = child_new(f, values, lens, h);
        if (c != NULL) {
            table_put(atomic_load_explicit(&f->table, memory_order_relaxed), c);
            f->gen++;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return c;
}

static pm_child *lookup(pm_family *f, const char *const values[])
{
    size_t n = f->n_labels;
    uint32_t lens[MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL) {
            pm_error(PROM_EINVAL, "label value %zu of \"%s\" (\"%s\") is NULL", i + 1, f->name,
                     f->label_names[i]);
            return NULL;
        }
        lens[i] = (uint32_t)strlen(values[i]);
    }
    uint64_t h = hash_values(values, lens, n);
    pm_child *c = probe(atomic_load_explicit(&f->table, memory_order_acquire), h, values, lens, n);
    return c != NULL ? c : insert(f, values, lens, h);
}

/* The family behind a lookup's handle, checking the count of values. */
static pm_family *family_for(void *handle, size_t n, const char *what)
{
    pm_family *f = pm_family_of(handle);
    if (f == NULL) {
        pm_error(PROM_EINVAL, "%s on a NULL metric", what);
        return NULL;
    }
    if (n != f->n_labels) {
        pm_error(PROM_EINVAL, "\"%s\" has %zu label names, got %zu values", f->name, f->n_labels,
                 n);
        return NULL;
    }
    return f;
}

pm_child *pm_lookup(void *handle, const char *const values[], size_t n)
{
    pm_family *f = family_for(handle, n, "label lookup");
    if (f == NULL) return NULL;
    if (n > 0 && values == NULL) {
        pm_error(PROM_EINVAL, "\"%s\": %zu label values but the array is NULL", f->name, n);
        return NULL;
    }
    return f->n_labels == 0 ? f->solo : lookup(f, values);
}

pm_child *pm_lookupv(void *handle, va_list ap)
{
    /* Read up to one value past the family's count, to see the NULL that ends
     * the list where it should be. */
    pm_family *f = pm_family_of(handle);
    const char *values[MAX_LABELS + 1];
    size_t n = 0, max = f != NULL ? f->n_labels + 1 : 0;
    while (n < max && (values[n] = va_arg(ap, const char *)) != NULL)
        n++;
    if (f != NULL && n == f->n_labels && n > 0)
        return lookup(f, values); /* the common case, without pm_lookup's checks again */
    if (f != NULL && n > f->n_labels) {
        pm_error(PROM_EINVAL,
                 "\"%s\" has %zu label names, got more values (is the list ended by NULL?)",
                 f->name, f->n_labels);
        return NULL;
    }
    return pm_lookup(handle, values, n);
}

int pm_remove(void *handle, const char *const values[], size_t n)
{
    pm_family *f = family_for(handle, n, "remove");
    if (f == NULL) return PROM_EINVAL;
    if (f->n_labels == 0)
        return pm_error(PROM_EINVAL, "\"%s\" has no labels; there is no child to remove", f->name);
    uint32_t lens[MAX_LABELS];
    for (size_t i = 0; i < f->n_labels; i++) {
        if (values == NULL || values[i] == NULL)
            return pm_error(PROM_EINVAL, "\"%s\": label value %zu is NULL", f->name, i + 1);
        lens[i] = (uint32_t)strlen(values[i]);
    }
    uint64_t h = hash_values(values, lens, f->n_labels);
    pthread_mutex_lock(&f->lock);
    pm_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    int rc = pm_error(PROM_ENOENT, "\"%s\" has no child with those label values", f->name);
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (c == NULL) break;
        if (c != TOMBSTONE && c->hash == h && same_values(c, values, lens, f->n_labels)) {
            atomic_store_explicit(&t->slots[i], TOMBSTONE, memory_order_release);
            atomic_store(&c->removed, true);
            c->next_dead = f->graveyard;
            f->graveyard = c;
            f->gen++;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

void pm_clear(void *handle)
{
    pm_family *f = pm_family_of(handle);
    if (f == NULL || f->n_labels == 0) return;
    pthread_mutex_lock(&f->lock);
    pm_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    pm_table *nt = table_new(8);
    if (nt != NULL && keep_old_table(f, t) == 0) {
        for (size_t i = 0; i < t->cap; i++) {
            pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (c == NULL || c == TOMBSTONE) continue;
            atomic_store(&c->removed, true);
            c->next_dead = f->graveyard;
            f->graveyard = c;
        }
        atomic_store_explicit(&f->table, nt, memory_order_release);
        f->gen++;
    } else {
        free(nt);
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- Families */

static int check_opts(const prom_opts *o, prom_type type, const char *reserved)
{
    if (o == NULL) return pm_error(PROM_EINVAL, "metric options are NULL");
    int rc = pm_check_metric_name(o->name);
    if (rc < 0) return rc;
    if (o->help == NULL)
        return pm_error(PROM_EINVAL, "\"%s\" needs a help text (it may be empty)", o->name);
    if (o->n_labels > MAX_LABELS)
        return pm_error(PROM_EINVAL, "\"%s\" has %zu label names; at most %d are allowed", o->name,
                        o->n_labels, MAX_LABELS);
    if (o->n_labels > 0 && o->labels == NULL)
        return pm_error(PROM_EINVAL, "\"%s\": n_labels is %zu but labels is NULL", o->name,
                        o->n_labels);
    if (o->n_const_labels > 0 && o->const_labels == NULL)
        return pm_error(PROM_EINVAL, "\"%s\": n_const_labels is %zu but const_labels is NULL",
                        o->name, o->n_const_labels);
    size_t n = o->n_labels + o->n_const_labels;
    for (size_t i = 0; i < n; i++) {
        const char *name = i < o->n_labels ? o->labels[i] : o->const_labels[i - o->n_labels].name;
        if ((rc = pm_check_label_name(name, reserved)) < 0) return rc;
        for (size_t k = 0; k < i; k++) {
            const char *other =
                k < o->n_labels ? o->labels[k] : o->const_labels[k - o->n_labels].name;
            if (strcmp(name, other) == 0)
                return pm_error(PROM_EINVAL, "\"%s\": label name \"%s\" is given twice", o->name,
                                name);
        }
    }
    for (size_t i = 0; i < o->n_const_labels; i++) {
        const char *v = o->const_labels[i].value;
        if (v == NULL || !valid_utf8((const unsigned char *)v, strlen(v)))
            return pm_error(PROM_EINVAL, "\"%s\": const label \"%s\" needs a valid UTF-8 value",
                            o->name, o->const_labels[i].name);
    }
    if (o->unit != NULL && o->unit[0] != '\0') {
        char want[512];
        snprintf(want, sizeof want, "_%s%s", o->unit, type == PROM_COUNTER ? "_total" : "");
        size_t nl = strlen(o->name), wl = strlen(want);
        bool ok = nl > wl && strcmp(o->name + nl - wl, want) == 0;
        if (!ok && type == PROM_COUNTER) { /* a counter may also leave out _total */
            wl -= strlen("_total");
            ok = nl > wl && strncmp(o->name + nl - wl, want, wl) == 0;
        }
        if (!ok)
            return pm_error(PROM_EINVAL, "\"%s\" has unit \"%s\", so its name must end in \"%s\"",
                            o->name, o->unit, want);
    }
    return 0;
}

static char *dup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int cmp_names(const void *a, const void *b, void *ctx)
{
    const char *const *names = ctx;
    return strcmp(names[*(const int *)a], names[*(const int *)b]);
}

/* Fills all_names / all_src: every label name sorted, and where its value is. */
static int sort_all_labels(pm_family *f)
{
    size_t n = f->n_labels + f->n_const;
    const char **names = calloc(n + 1, sizeof *names);
    int *order = calloc(n + 1, sizeof *order);
    f->all_names = calloc(n + 1, sizeof *f->all_names);
    f->all_src = calloc(n + 1, sizeof *f->all_src);
    if (names == NULL || order == NULL || f->all_names == NULL || f->all_src == NULL) {
        free(names);
        free(order);
        return pm_error(PROM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = i < f->n_labels ? f->label_names[i] : f->const_labels[i - f->n_labels].name;
        order[i] = (int)i;
    }
    qsort_r(order, n, sizeof *order, cmp_names, names);
    for (size_t k = 0; k < n; k++) {
        int i = order[k];
        f->all_names[k] = names[i];
        f->all_src[k] = i < (int)f->n_labels ? i : -1 - (i - (int)f->n_labels);
    }
    f->n_all = n;
    free(names);
    free(order);
    return 0;
}

static int copy_opts(pm_family *f, const prom_opts *o)
{
    f->name = dup(o->name);
    f->help = dup(o->help);
    f->unit = o->unit != NULL && o->unit[0] != '\0' ? dup(o->unit) : NULL;
    f->n_labels = o->n_labels;
    f->label_names = calloc(o->n_labels + 1, sizeof *f->label_names);
    f->n_const = o->n_const_labels;
    f->const_labels = calloc(o->n_const_labels + 1, sizeof *f->const_labels);
    if (f->name == NULL || f->help == NULL || f->label_names == NULL || f->const_labels == NULL)
        return pm_error(PROM_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->n_labels; i++)
        if ((f->label_names[i] = dup(o->labels[i])) == NULL)
            return pm_error(PROM_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->n_const_labels; i++) {
        f->const_labels[i].name = dup(o->const_labels[i].name);
        f->const_labels[i].value = dup(o->const_labels[i].value);
        if (f->const_labels[i].name == NULL || f->const_labels[i].value == NULL)
            return pm_error(PROM_ENOMEM, "out of memory");
    }
    return sort_all_labels(f);
}

pm_family *pm_family_new(const pm_type_ops *ops, const prom_opts *opts, const char *reserved,
                         void *type_data)
{
    pm_family *f = calloc(1, sizeof *f);
    if (f == NULL) {
        pm_error(PROM_ENOMEM, "out of memory");
        if (ops->family_destroy != NULL) {
            pm_family tmp = {.type_data = type_data};
            ops->family_destroy(&tmp);
        }
        return NULL;
    }
    f->kind = PM_KIND_FAMILY;
    f->ops = ops;
    f->type_data = type_data;
    pthread_mutex_init(&f->lock, NULL);
    f->table = table_new(8);
    if (check_opts(opts, ops->type, reserved) < 0 || f->table == NULL || copy_opts(f, opts) < 0) {
        if (f->table == NULL) pm_error(PROM_ENOMEM, "out of memory");
        pm_family_free(f);
        return NULL;
    }
    if (f->n_labels == 0 && (f->solo = child_new(f, NULL, NULL, 0)) == NULL) {
        pm_family_free(f);
        return NULL;
    }
    prom_registry *r = opts->registry != NULL ? opts->registry : prom_registry_default();
    if (r == NULL || pm_registry_add_family(r, f) < 0) {
        if (r == NULL) pm_error(PROM_ENOMEM, "out of memory creating the default registry");
        pm_family_free(f);
        return NULL;
    }
    f->registry = r;
    return f;
}

void pm_family_free(pm_family *f)
{
    if (f == NULL) return;
    pm_table *t = f->table;
    for (size_t i = 0; t != NULL && i < t->cap; i++) {
        pm_child *c = t->slots[i];
        if (c != NULL && c != TOMBSTONE) child_free(f, c);
    }
    free(t);
    for (size_t i = 0; i < f->n_old_tables; i++)
        free(f->old_tables[i]);
    free(f->old_tables);
    while (f->graveyard != NULL) {
        pm_child *c = f->graveyard;
        f->graveyard = c->next_dead;
        child_free(f, c);
    }
    if (f->solo != NULL) child_free(f, f->solo);
    if (f->ops->family_destroy != NULL) f->ops->family_destroy(f);
    for (size_t i = 0; f->label_names != NULL && i < f->n_labels; i++)
        free(f->label_names[i]);
    for (size_t i = 0; f->const_labels != NULL && i < f->n_const; i++) {
        free((char *)f->const_labels[i].name);
        free((char *)f->const_labels[i].value);
    }
    free(f->label_names);
    free(f->const_labels);
    free(f->all_names);
    free(f->all_src);
    free(f->sorted);
    free(f->name);
    free(f->help);
    free(f->unit);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* ---- Rendering */

/* Orders children by their label values in sorted-name order, as Go does. */
static int cmp_children(const void *a, const void *b, void *ctx)
{
    const pm_family *f = ctx;
    const pm_child *x = *(pm_child *const *)a, *y = *(pm_child *const *)b;
    for (size_t k = 0; k < f->n_all; k++) {
        int src = f->all_src[k];
        if (src < 0) continue;
        int c = strcmp(x->values[src], y->values[src]);
        if (c != 0) return c;
    }
    return 0;
}

/* Brings f->sorted up to date (lock held).  False when out of memory. */
static bool sort_children(pm_family *f)
{
    if (f->sorted != NULL && f->sorted_gen == f->gen) return true;
    pm_table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    pm_child **v = realloc(f->sorted, (t->cap + 1) * sizeof *v);
    if (v == NULL) return false;
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        pm_child *c = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (c != NULL && c != TOMBSTONE) v[n++] = c;
    }
    qsort_r(v, n, sizeof *v, cmp_children, f);
    f->sorted = v;
    f->n_sorted = n;
    f->sorted_gen = f->gen;
    return true;
}

static void render_child(pm_family *f, pm_child *c, pm_enc *enc, const pm_family_view *fv,
                         const char **values)
{
    for (size_t k = 0; k < f->n_all; k++) {
        int src = f->all_src[k];
        values[k] = src >= 0 ? c->values[src] : f->const_labels[-1 - src].value;
    }
    pm_metric_view v;
    memset(&v, 0, sizeof v);
    v.label_values = values;
    v.created = c->created;
    f->ops->child_view(f, c, &v);
    pm_enc_metric(enc, fv, &v);
}

void pm_family_render(pm_family *f, pm_enc *enc)
{
    const char *values[MAX_LABELS + 1];
    pm_family_view fv = {
        .name = f->name,
        .help = f->help,
        .unit = f->unit,
        .type = f->ops->type,
        .label_names = f->all_names,
        .n_labels = f->n_all,
    };
    pthread_mutex_lock(&f->lock);
    pm_child *const *children = &f->solo;
    size_t n = 1;
    if (f->solo == NULL) {
        if (!sort_children(f)) {
            enc->out->failed = true;
            n = 0;
        } else {
            children = f->sorted;
            n = f->n_sorted;
        }
    }
    /* A family without children is left out, as client_golang's Gather does. */
    if (n > 0) {
        pm_enc_family_begin(enc, &fv);
        for (size_t i = 0; i < n; i++)
            render_child(f, children[i], enc, &fv, values);
        pm_enc_family_end(enc, &fv);
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- Exemplars */

static size_t utf8_runes(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int pm_exemplar_check(const prom_label *labels, size_t n)
{
    if (n > 0 && labels == NULL)
        return pm_error(PROM_EINVAL, "exemplar: %zu labels given but the array is NULL", n);
    if (n > PM_EXEMPLAR_MAX_LABELS)
        return pm_error(PROM_EINVAL, "exemplar: %zu labels; at most %d are allowed", n,
                        PM_EXEMPLAR_MAX_LABELS);
    size_t runes = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = pm_check_label_name(labels[i].name, NULL);
        if (rc < 0) return rc;
        const char *v = labels[i].value;
        if (v == NULL || !valid_utf8((const unsigned char *)v, strlen(v)))
            return pm_error(PROM_EINVAL, "exemplar label \"%s\" needs a valid UTF-8 value",
                            labels[i].name);
        runes += utf8_runes(labels[i].name) + utf8_runes(v);
    }
    if (runes > PM_EXEMPLAR_MAX_RUNES)
        return pm_error(PROM_EINVAL,
                        "exemplar labels have %zu characters; OpenMetrics allows at most %d", runes,
                        PM_EXEMPLAR_MAX_RUNES);
    return 0;
}

static pm_exemplar *exemplar_get(_Atomic(pm_exemplar *) *slot)
{
    pm_exemplar *e = atomic_load_explicit(slot, memory_order_acquire);
    if (e != NULL) return e;
    pm_exemplar *fresh = calloc(1, sizeof *fresh);
    if (fresh == NULL) return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    fresh->d.timestamp = NAN;
    if (atomic_compare_exchange_strong(slot, &e, fresh)) return fresh;
    pthread_mutex_destroy(&fresh->lock); /* another thread was first */
    free(fresh);
    return e;
}

int pm_exemplar_store(_Atomic(pm_exemplar *) *slot, double value, const prom_label *labels,
                      size_t n)
{
    pm_exemplar *e = exemplar_get(slot);
    if (e == NULL) return pm_error(PROM_ENOMEM, "out of memory storing an exemplar");
    pm_exemplar_data d = {.value = value, .timestamp = pm_now(), .n_labels = n};
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(labels[i].name) + 1, vl = strlen(labels[i].value) + 1;
        d.name_off[i] = (uint16_t)off;
        memcpy(d.text + off, labels[i].name, nl);
        off += nl;
        d.value_off[i] = (uint16_t)off;
        memcpy(d.text + off, labels[i].value, vl);
        off += vl;
    }
    pthread_mutex_lock(&e->lock);
    e->d = d;
    pthread_mutex_unlock(&e->lock);
    return 0;
}

const pm_exemplar_view *pm_exemplar_read(_Atomic(pm_exemplar *) *slot, pm_exemplar_buf *buf)
{
    pm_exemplar *e = atomic_load_explicit(slot, memory_order_acquire);
    if (e == NULL) return NULL;
    pthread_mutex_lock(&e->lock);
    buf->d = e->d;
    pthread_mutex_unlock(&e->lock);
    if (isnan(buf->d.timestamp)) return NULL; /* allocated but not yet written */
    for (size_t i = 0; i < buf->d.n_labels; i++) {
        buf->labels[i].name = buf->d.text + buf->d.name_off[i];
        buf->labels[i].value = buf->d.text + buf->d.value_off[i];
    }
    buf->view = (pm_exemplar_view){
        .labels = buf->labels,
        .n_labels = buf->d.n_labels,
        .value = buf->d.value,
        .timestamp = buf->d.timestamp,
    };
    return &buf->view;
}

void pm_exemplar_free(_Atomic(pm_exemplar *) *slot)
{
    pm_exemplar *e = atomic_exchange(slot, NULL);
    if (e != NULL) {
        pthread_mutex_destroy(&e->lock);
        free(e);
    }
}
