/*
 * out.c - what a collector emits in one scrape, see node.h.
 *
 * An output's families live in its arena: a growable array of family records,
 * each with its samples in another, and a name index.  An array that grows
 * moves to a block twice its size and leaves the old one behind (at most as
 * much again), which costs less than the malloc and free of each array: a
 * scrape makes some 300 families and 1,000 samples, and those calls were 6% of
 * its time.  The scrape writes the families itself in the text formats
 * (expose.c); nx_out_replay() hands them to libprom's emitter for the
 * protobuf format.
 *
 * A family's name, help, type and label names are the same at every scrape, so
 * they are kept once, in a table shared by every output (descriptions, see
 * out.h), with what the writer needs worked out once (the names checked, the
 * label names sorted, lengths, whether the help needs escapes).  An output's
 * family points at its description; finding it is one hash and the string
 * comparisons that a copy would have cost.  The table takes no lock to read
 * (entries never change once published; a table that grows is replaced by a
 * bigger copy, the old one kept for readers still in it), and stops growing
 * at DESCS_MAX descriptions, past which an output makes its own in its arena.
 *
 * The table also keeps its distinct names in order, each description pointing
 * at its name's rank, so that a scrape orders its families by a counting sort
 * over ranks instead of comparing names (the sort was a third of the writing
 * time).  Ranks move only when a new name arrives (the first scrapes); a
 * read-write lock keeps them steady while a scrape sorts.
 *
 * Strings are copied only when they can change: a pointer into the program's
 * read-only memory (string literals, tables of them) is kept as it is.  Label
 * values such as "user" or "tx" need no copy then, and descriptions made of
 * literals hold no copies at all.
 */
#include "out.h"

#include <link.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- Read-only memory of the program
 *
 * The program's segments that are never written once it runs: the loaded
 * segments without write permission (code, read-only data) and the RELRO
 * range (tables of pointers, made read-only after relocation). */

#define RO_MAX 8

static struct {
    uintptr_t lo, len;
} ro[RO_MAX];
static size_t n_ro;
static pthread_once_t ro_once = PTHREAD_ONCE_INIT;

static int note_program(struct dl_phdr_info *info, size_t size, void *data)
{
    for (size_t i = 0; i < info->dlpi_phnum && n_ro < RO_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if ((ph->p_type == PT_LOAD && (ph->p_flags & PF_W) == 0) || ph->p_type == PT_GNU_RELRO) {
            ro[n_ro].lo = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
            ro[n_ro].len = (uintptr_t)ph->p_memsz;
            n_ro++;
        }
    }
    return 1; /* the program comes first: stop there */
}

static void find_read_only(void)
{
    dl_iterate_phdr(note_program, NULL);
}

static bool read_only(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < n_ro; i++)
        if (a - ro[i].lo < ro[i].len) return true;
    return false;
}

/* s itself when it cannot change, otherwise a copy in mem. */
static const char *keep(core_arena *mem, const char *s)
{
    return read_only(s) ? s : core_arena_strdup(mem, s);
}

/* ---- Family descriptions */

#define DESCS_MAX 16384

typedef struct desc_tab {
    struct desc_tab *prev; /* the table this one replaced, kept for readers */
    size_t cap, n;
    nx_desc *_Atomic slots[];
} desc_tab;

static struct {
    pthread_mutex_t lock;
    desc_tab *_Atomic tab;
    core_arena mem; /* descriptions and their copies */
} descs = {PTHREAD_MUTEX_INITIALIZER, NULL, {NULL, 0, 0}};

/* The distinct names of the table in strcmp order; descriptions of the same
 * name share its rank. */
typedef struct name_rank {
    const char *name;
    uint32_t rank;
} name_rank;

static struct {
    pthread_rwlock_t lock;
    name_rank **v;
    size_t n, cap;
} ranks = {PTHREAD_RWLOCK_INITIALIZER, NULL, 0, 0};

/* Gives d the rank of its name, adding the name if new (descs.lock held). */
static void rank_desc(nx_desc *d)
{
    size_t lo = 0, hi = ranks.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ranks.v[mid]->name, d->name);
        if (c == 0) {
            d->rank = &ranks.v[mid]->rank;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    name_rank *r = core_arena_alloc(&descs.mem, sizeof *r);
    r->name = d->name;
    pthread_rwlock_wrlock(&ranks.lock);
    if (ranks.n == ranks.cap)
        ranks.v = core_reallocarray(ranks.v, ranks.cap = ranks.cap ? 2 * ranks.cap : 256,
                                    sizeof *ranks.v);
    memmove(ranks.v + lo + 1, ranks.v + lo, (ranks.n - lo) * sizeof *ranks.v);
    ranks.v[lo] = r;
    ranks.n++;
    for (size_t i = lo; i < ranks.n; i++)
        ranks.v[i]->rank = (uint32_t)i;
    pthread_rwlock_unlock(&ranks.lock);
    d->rank = &r->rank;
}

size_t nx_ranks_hold(void)
{
    pthread_rwlock_rdlock(&ranks.lock);
    return ranks.n;
}

void nx_ranks_release(void)
{
    pthread_rwlock_unlock(&ranks.lock);
}

static bool same_desc(const nx_desc *d, uint64_t h, const char *name, const char *help,
                      prom_type type, const char *const *labels, size_t n)
{
    if (d->hash != h || d->type != type || d->n_labels != n) return false;
    if (d->name != name && strcmp(d->name, name) != 0) return false;
    if (d->help != help && strcmp(d->help, help) != 0) return false;
    for (size_t i = 0; i < n; i++)
        if (d->labels[i] != labels[i] && strcmp(d->labels[i], labels[i]) != 0) return false;
    return true;
}

static nx_desc *tab_find(const desc_tab *t, uint64_t h, const char *name, const char *help,
                         prom_type type, const char *const *labels, size_t n)
{
    if (t == NULL) return NULL;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        nx_desc *d = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (d == NULL) return NULL;
        if (same_desc(d, h, name, help, type, labels, n)) return d;
    }
}

static void tab_put(desc_tab *t, nx_desc *d)
{
    size_t i = d->hash & (t->cap - 1);
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != NULL)
        i = (i + 1) & (t->cap - 1);
    atomic_store_explicit(&t->slots[i], d, memory_order_release); /* the description is whole */
    t->n++;
}

/* A description in mem, with copies of the strings that can change. */
static nx_desc *make_desc(core_arena *mem, uint64_t h, const char *name, const char *help,
                          prom_type type, const char *const *labels, size_t n)
{
    nx_desc *d = core_arena_calloc(mem, 1, sizeof *d);
    d->name = keep(mem, name);
    d->help = keep(mem, help);
    d->type = type;
    d->hash = h;
    d->n_labels = n;
    bool all_kept = n == 0 || read_only(labels);
    for (size_t i = 0; i < n && all_kept; i++)
        all_kept = read_only(labels[i]);
    if (all_kept) {
        d->labels = n > 0 ? labels : (const char *const[]){NULL};
    } else {
        const char **copy = core_arena_alloc(mem, (n + 1) * sizeof *copy);
        for (size_t i = 0; i < n; i++)
            copy[i] = keep(mem, labels[i]);
        copy[n] = NULL;
        d->labels = copy;
    }
    nx_desc_prepare(d, mem);
    return d;
}

/* The description of a family, from the shared table (made there the first
 * time), or made in o's arena once the table is full. */
static const nx_desc *describe(nx_out *o, uint64_t h, const char *name, const char *help,
                               prom_type type, const char *const *labels, size_t n)
{
    nx_desc *d = tab_find(atomic_load_explicit(&descs.tab, memory_order_acquire), h, name, help,
                          type, labels, n);
    if (d != NULL) return d;
    pthread_mutex_lock(&descs.lock);
    desc_tab *tab = atomic_load_explicit(&descs.tab, memory_order_relaxed);
    d = tab_find(tab, h, name, help, type, labels, n);
    if (d != NULL) {
        pthread_mutex_unlock(&descs.lock);
        return d;
    }
    if (tab != NULL && tab->n >= DESCS_MAX) {
        pthread_mutex_unlock(&descs.lock);
        return make_desc(&o->arena, h, name, help, type, labels, n);
    }
    if (descs.mem.block_size == 0) descs.mem.block_size = 8192;
    d = make_desc(&descs.mem, h, name, help, type, labels, n);
    rank_desc(d);
    if (tab == NULL || (tab->n + 1) * 2 > tab->cap) {
        size_t cap = tab != NULL ? tab->cap * 2 : 256;
        desc_tab *bigger = core_calloc(1, sizeof *bigger + cap * sizeof *bigger->slots);
        bigger->cap = cap;
        for (size_t i = 0; tab != NULL && i < tab->cap; i++) {
            nx_desc *old = atomic_load_explicit(&tab->slots[i], memory_order_relaxed);
            if (old != NULL) tab_put(bigger, old);
        }
        bigger->prev = tab;
        tab_put(bigger, d);
        atomic_store_explicit(&descs.tab, bigger, memory_order_release);
    } else {
        tab_put(tab, d);
    }
    pthread_mutex_unlock(&descs.lock);
    return d;
}

/* ---- Outputs */

void nx_out_init_sized(nx_out *o, const char *collector, size_t block)
{
    pthread_once(&ro_once, find_read_only);
    memset(o, 0, offsetof(nx_out, err)); /* the error text is set before it is read */
    o->err.msg[0] = '\0';
    o->failed = o->no_data = false;
    o->scrape = 0;
    core_arena_init(&o->arena, block);
    o->collector = collector;
    o->current = -1;
}

void nx_out_init(nx_out *o, const char *collector)
{
    nx_out_init_sized(o, collector, 16 * 1024);
}

void nx_out_reuse(nx_out *o)
{
    core_arena keep = o->arena;
    const char *collector = o->collector;
    core_arena_reset(&keep);
    nx_out_init_sized(o, collector, keep.block_size);
    o->arena = keep;
}

void nx_out_destroy(nx_out *o)
{
    core_arena_destroy(&o->arena);
    memset(o, 0, offsetof(nx_out, err));
}

/* An array of n elements of `size` in the arena, with the `used` first of old copied. */
static void *grow(nx_out *o, const void *old, size_t used, size_t n, size_t size)
{
    void *p = core_arena_alloc(&o->arena, n * size);
    if (used > 0) memcpy(p, old, used * size);
    return p;
}

core_arena *nx_arena(nx_out *o)
{
    return &o->arena;
}

char *nx_sprintf(nx_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return core_arena_strdup(&o->arena, "");
    if ((size_t)n < sizeof tmp) return core_arena_strndup(&o->arena, tmp, (size_t)n);
    char *p = core_arena_alloc(&o->arena, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* The family named name in this output, made current; NULL if it has none. */
static nx_fam *find_family(nx_out *o, uint64_t h, const char *name)
{
    if (o->index_cap == 0) return NULL;
    for (size_t i = h & (o->index_cap - 1);; i = (i + 1) & (o->index_cap - 1)) {
        uint32_t k = o->index[i];
        if (k == 0) return NULL;
        const nx_fam *f = &o->families[k - 1];
        if (f->desc->hash == h && strcmp(f->name, name) == 0) {
            o->current = (ptrdiff_t)k - 1;
            return &o->families[k - 1];
        }
    }
}

/* Records family number idx in the index, growing it to stay under half full. */
static void index_add(nx_out *o, size_t idx)
{
    if ((o->n_families + 1) * 2 > o->index_cap) {
        o->index_cap = o->index_cap ? o->index_cap * 2 : 32;
        o->index = core_arena_calloc(&o->arena, o->index_cap, sizeof *o->index);
        for (size_t i = 0; i < o->n_families; i++)
            index_add(o, i);
    }
    size_t i = o->families[idx].desc->hash & (o->index_cap - 1);
    while (o->index[i] != 0)
        i = (i + 1) & (o->index_cap - 1);
    o->index[i] = (uint32_t)idx + 1;
}

/* The slot of a name pointer in by_pointer.  A family's name pointer equals
 * the caller's only when its description kept the caller's string (read-only
 * memory), so a hit there is always the right family. */
static size_t pointer_slot(const char *name)
{
    return (size_t)(((uintptr_t)name >> 3) * 0x9E3779B1u >> 27) & 31;
}

void nx_family(nx_out *o, const char *name, const char *help, prom_type type,
               const char *const *labels)
{
    /* Collectors emit a family's samples together; the last one is the usual hit. */
    if (o->current >= 0 && o->families[o->current].name == name) return;
    size_t slot = pointer_slot(name);
    uint32_t k = o->by_pointer[slot];
    if (k != 0 && o->families[k - 1].name == name) {
        o->current = (ptrdiff_t)k - 1;
        return;
    }
    if (o->current >= 0 && strcmp(o->families[o->current].name, name) == 0) return;
    uint64_t h = core_hash_str(name);
    if (find_family(o, h, name) != NULL) {
        o->by_pointer[slot] = (uint32_t)o->current + 1;
        return;
    }
    size_t n = 0;
    while (labels != NULL && labels[n] != NULL)
        n++;
    const nx_desc *d = describe(o, h, name, help != NULL ? help : "", type, labels, n);
    if (o->n_families == o->cap_families) {
        o->cap_families = o->cap_families ? o->cap_families * 2 : 8;
        o->families = grow(o, o->families, o->n_families, o->cap_families, sizeof *o->families);
    }
    o->families[o->n_families] = (nx_fam){.name = d->name,
                                          .help = d->help,
                                          .type = d->type,
                                          .labels = d->labels,
                                          .n_labels = d->n_labels,
                                          .desc = d};
    index_add(o, o->n_families);
    o->by_pointer[slot] = (uint32_t)o->n_families + 1;
    o->current = (ptrdiff_t)o->n_families++;
}

static nx_sample_rec *new_sample(nx_out *o, const char *const *values)
{
    if (o->current < 0) {
        nx_warn(o, "a sample before any family");
        return NULL;
    }
    nx_fam *f = &o->families[o->current];
    if (f->n_samples == f->cap_samples) {
        f->cap_samples = f->cap_samples ? f->cap_samples * 2 : 2;
        f->samples = grow(o, f->samples, f->n_samples, f->cap_samples, sizeof *f->samples);
    }
    nx_sample_rec *s = &f->samples[f->n_samples];
    s->values = core_arena_alloc(&o->arena, (f->n_labels + 1) * sizeof *s->values);
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = values != NULL ? values[i] : NULL;
        s->values[i] = v != NULL ? keep(&o->arena, v) : NULL; /* NULL: absent */
    }
    s->value = 0;
    s->dist = NULL;
    f->n_samples++;
    return s;
}

void nx_sample(nx_out *o, double value, const char *const *label_values)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s != NULL) s->value = value;
}

void nx_samplev(nx_out *o, double value, ...)
{
    const char *values[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, value);
    const char *v;
    while (n < 31 && (v = va_arg(ap, const char *)) != NULL)
        values[n++] = v;
    va_end(ap);
    values[n] = NULL;
    nx_sample(o, value, values);
}

void nx_gauge(nx_out *o, const char *name, const char *help, double value)
{
    nx_family(o, name, help, PROM_GAUGE, NULL);
    nx_sample(o, value, NULL);
}

void nx_counter(nx_out *o, const char *name, const char *help, double value)
{
    nx_family(o, name, help, PROM_COUNTER, NULL);
    nx_sample(o, value, NULL);
}

void nx_histogram(nx_out *o, const char *const *label_values, const double *bounds,
                  const uint64_t *cumulative, size_t n_buckets, double sum)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s == NULL) return;
    nx_dist *d = core_arena_calloc(&o->arena, 1, sizeof *d);
    d->n = n_buckets;
    d->bounds = core_arena_alloc(&o->arena, n_buckets * sizeof *d->bounds);
    d->counts = core_arena_alloc(&o->arena, n_buckets * sizeof *d->counts);
    memcpy(d->bounds, bounds, n_buckets * sizeof *d->bounds);
    memcpy(d->counts, cumulative, n_buckets * sizeof *d->counts);
    d->sum = sum;
    s->dist = d;
}

void nx_summary(nx_out *o, const char *const *label_values, const double *quantiles,
                const double *values, size_t n, double sum, uint64_t count)
{
    nx_sample_rec *s = new_sample(o, label_values);
    if (s == NULL) return;
    nx_dist *d = core_arena_calloc(&o->arena, 1, sizeof *d);
    d->n = n;
    d->bounds = core_arena_alloc(&o->arena, (n + 1) * sizeof *d->bounds);
    d->qvalues = core_arena_alloc(&o->arena, (n + 1) * sizeof *d->qvalues);
    if (n > 0) {
        memcpy(d->bounds, quantiles, n * sizeof *d->bounds);
        memcpy(d->qvalues, values, n * sizeof *d->qvalues);
    }
    d->sum = sum;
    d->count = count;
    s->dist = d;
}

int nx_error(nx_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(&o->err, fmt, ap);
    va_end(ap);
    o->failed = true;
    return -1;
}

int nx_no_data(nx_out *o, const char *fmt, ...)
{
    /* Only ever logged at debug level: formatted only when that is on (a
     * dozen collectors find nothing on a typical host, every scrape). */
    if (core_log_enabled(CORE_LOG_DEBUG)) {
        va_list ap;
        va_start(ap, fmt);
        core_err_setv(&o->err, fmt, ap);
        va_end(ap);
    } else {
        snprintf(o->err.msg, sizeof o->err.msg, "no data");
    }
    o->failed = o->no_data = true;
    return -1;
}

void nx_warn(nx_out *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core_warn("collector", msg, "collector", o->collector);
}

void nx_out_replay(const nx_out *o, prom_emitter *e)
{
    for (size_t i = 0; i < o->n_families; i++) {
        const nx_fam *f = &o->families[i];
        if (f->n_samples == 0) continue;
        if (prom_emit_family(e, f->name, f->help, f->type, NULL, f->labels, f->n_labels) < 0) {
            core_warn("collector", "family dropped", "collector", o->collector, "family", f->name,
                      "err", prom_last_error());
            continue;
        }
        for (size_t k = 0; k < f->n_samples; k++) {
            const nx_sample_rec *s = &f->samples[k];
            static const nx_dist none; /* a plain sample in a histogram or summary */
            const nx_dist *d = s->dist != NULL ? s->dist : &none;
            if (f->type == PROM_HISTOGRAM)
                prom_emit_histogram(e, s->values, d->bounds, d->counts, d->n, d->sum);
            else if (f->type == PROM_SUMMARY)
                prom_emit_summary(e, s->values, d->bounds, d->qvalues, d->n, d->sum, d->count);
            else
                prom_emit_value(e, s->values, s->value);
        }
    }
}
