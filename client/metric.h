/*
 * metric.h - the inside of libprom's metrics: cells, families, children.
 *
 * Cells (cells.c).  Counters and histograms count in per-thread cells, so an
 * update is a plain load and store to memory no other thread writes: no lock,
 * no atomic read-modify-write, no cache line bouncing between cores.  Each
 * metric child owns a range of "slots"; every thread has its own page table
 * mapping slots to doubles, allocated on the thread's first touch of a page.
 * A reader (a scrape) adds up the slot over every live thread plus the
 * "retired" table where exiting threads leave their counts.  Ranges that must
 * be read consistently (a histogram's buckets and sum) start with a sequence
 * word that the writing thread makes odd while it writes (a seqlock per thread).
 *
 * Families and children (family.c).  A family holds its children in an
 * open-addressing hash table that lookups read without a lock; inserts and
 * removals take the family's mutex and publish a new table when it must grow.
 * Removed children and replaced tables are kept until the family is freed, so
 * a pointer a caller kept, or a lookup racing with a removal, never touches
 * freed memory.
 *
 * Every public handle (prom_counter *, ...) points at a pm_family (a family
 * with labels) or a pm_child (a child, or the only child of a family without
 * labels); both start with a pm_kind tag.
 */
#ifndef CLIENT_METRIC_H
#define CLIENT_METRIC_H

#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#if defined(__GNUC__)
#define PM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PM_LIKELY(x)   (x)
#define PM_UNLIKELY(x) (x)
#endif

/* ---- Cells */

#define PM_PAGE_SHIFT 10
#define PM_PAGE_WORDS (1u << PM_PAGE_SHIFT) /* a range never spans two pages */
#define PM_MAX_PAGES  65536u

typedef _Atomic double pm_word;

typedef struct pm_thread {
    _Atomic(pm_word *) pages[PM_MAX_PAGES];
    struct pm_thread *next;
} pm_thread;

extern __thread pm_thread *pm_tls __attribute__((tls_model("initial-exec")));

/* Slow path of pm_cells: sets up the thread or its page.  NULL when out of memory. */
pm_word *pm_cells_slow(uint32_t slot);

/* The calling thread's words for `slot` (and the ones after it in the range). */
static inline pm_word *pm_cells(uint32_t slot)
{
    pm_thread *t = pm_tls;
    if (PM_LIKELY(t != NULL)) {
        pm_word *page =
            atomic_load_explicit(&t->pages[slot >> PM_PAGE_SHIFT], memory_order_relaxed);
        if (PM_LIKELY(page != NULL)) return page + (slot & (PM_PAGE_WORDS - 1));
    }
    return pm_cells_slow(slot);
}

static inline void pm_word_add(pm_word *w, double v)
{
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* Reserves `n` consecutive zeroed words (n <= PM_PAGE_WORDS); returns the first
 * slot or -1 when out of memory. */
int64_t pm_slots_alloc(uint32_t n);
/* Gives a range back for reuse (the metric is gone; no thread writes it). */
void pm_slots_free(uint32_t slot, uint32_t n);

/* Readers: hold the lock while reading, so no thread's cells are folded into
 * the retired table halfway.  pm_cells_sum adds up `n` words of a range over
 * every thread into out[0..n); with `seqlocked` the first word of the range
 * is a sequence word and each thread's words are read consistently (out[0]
 * is then meaningless). */
void pm_cells_lock(void);
void pm_cells_unlock(void);
void pm_cells_sum(uint32_t slot, uint32_t n, bool seqlocked, double *out);

/* Writer side of a seqlocked range. */
static inline void pm_seq_begin(pm_word *seq)
{
    atomic_store_explicit(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static inline void pm_seq_end(pm_word *seq)
{
    atomic_store_explicit(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* ---- Families and children */

typedef enum pm_kind {
    PM_KIND_FAMILY = 0x46414d31, /* "FAM1" */
    PM_KIND_CHILD = 0x43484c31,  /* "CHL1" */
} pm_kind;

typedef struct pm_family pm_family;
typedef struct pm_child pm_child;

struct pm_child {
    pm_kind kind;
    pm_family *family;
    uint64_t hash;
    const char **values; /* family->n_labels, declaration order */
    uint32_t *value_lens;
    double created; /* Unix seconds */
    _Atomic bool removed;
    pm_child *next_dead; /* in the family's graveyard */
};

/* What each metric type plugs into the family machinery. */
typedef struct pm_type_ops {
    prom_type type;
    size_t child_size;
    /* Sets up a new child (cells, ...); 0 or a negative status. */
    int (*child_init)(pm_family *f, pm_child *c);
    void (*child_destroy)(pm_family *f, pm_child *c);
    /* Fills the view for one child.  Arrays the view points to may live in the
     * family's type data: a family renders one child at a time, under its lock. */
    void (*child_view)(pm_family *f, pm_child *c, pm_metric_view *v);
    /* Frees the type's data in the family (buckets, callbacks, ...). */
    void (*family_destroy)(pm_family *f);
} pm_type_ops;

typedef struct pm_table {
    size_t cap;  /* a power of two */
    size_t used; /* live children and tombstones */
    _Atomic(pm_child *) slots[];
} pm_table;

struct pm_family {
    pm_kind kind;
    const pm_type_ops *ops;
    prom_registry *registry;
    char *name, *help, *unit;
    size_t n_labels;
    char **label_names; /* declaration order */
    size_t n_const;
    prom_label *const_labels;
    /* Every label name (const and variable) sorted, and where each value comes
     * from: index >= 0 into the child's values, -1 - i for const label i. */
    size_t n_all;
    const char **all_names;
    int *all_src;

    pthread_mutex_t lock;
    _Atomic(pm_table *) table;
    pm_child *solo; /* the child of a family without labels */
    pm_child *graveyard;
    pm_table **old_tables;
    size_t n_old_tables;

    /* Children in render order, rebuilt when `gen` moved past `sorted_gen`. */
    uint64_t gen, sorted_gen;
    pm_child **sorted;
    size_t n_sorted;

    void *type_data;
};

/* Creates and registers a family from the user's options.  `reserved` is a
 * label name the type forbids (NULL, "le", "quantile").  The type's data must
 * be ready in `type_data` (owned by the family from here on, also on error). */
pm_family *pm_family_new(const pm_type_ops *ops, const prom_opts *opts, const char *reserved,
                         void *type_data);
/* Frees the family and everything in it (its registry has let go of it). */
void pm_family_free(pm_family *f);
/* The public handle for a new family: the solo child, or the family. */
void *pm_family_handle(pm_family *f);

/* The child behind a handle for an update: the child itself, or NULL (with
 * the error set) for a family that has labels. */
static inline pm_child *pm_child_of(void *handle)
{
    pm_child *c = handle;
    if (PM_LIKELY(c != NULL && c->kind == PM_KIND_CHILD)) return c;
    return NULL;
}
/* The error for a handle that pm_child_of refused. */
int pm_not_a_child(const void *handle, const char *what);

/* The family behind a handle (family or child). */
pm_family *pm_family_of(void *handle);

/* Child lookup by n values, or by a NULL-terminated va_list; removal by n values. */
pm_child *pm_lookup(void *handle, const char *const values[], size_t n);
pm_child *pm_lookupv(void *handle, va_list ap);
int pm_remove(void *handle, const char *const values[], size_t n);
void pm_clear(void *handle);

/* ---- Rendering (registry.c) */

/* Renders every child of a family in label order. */
void pm_family_render(pm_family *f, pm_enc *enc);

/* Registers a family in its registry (checks for clashes). */
int pm_registry_add_family(prom_registry *r, pm_family *f);

/* ---- Exemplars (family.c), for counters and histogram buckets.  Stored
 * behind a pointer that is allocated on first use, under a small mutex: an
 * exemplar is written far less often than a plain update. */

#define PM_EXEMPLAR_MAX_LABELS 16
#define PM_EXEMPLAR_MAX_RUNES  128 /* names and values together, per OpenMetrics */

typedef struct pm_exemplar_data {
    double value;
    double timestamp;
    size_t n_labels;
    uint16_t name_off[PM_EXEMPLAR_MAX_LABELS], value_off[PM_EXEMPLAR_MAX_LABELS];
    char text[PM_EXEMPLAR_MAX_RUNES * 4 + 2 * PM_EXEMPLAR_MAX_LABELS];
} pm_exemplar_data;

typedef struct pm_exemplar {
    pthread_mutex_t lock;
    pm_exemplar_data d;
} pm_exemplar;

/* Where a reader copies an exemplar to build its view. */
typedef struct pm_exemplar_buf {
    pm_exemplar_data d;
    prom_label labels[PM_EXEMPLAR_MAX_LABELS];
    pm_exemplar_view view;
} pm_exemplar_buf;

/* Validates exemplar labels: names, UTF-8 values, at most 128 characters. */
int pm_exemplar_check(const prom_label *labels, size_t n);
/* Stores an exemplar (labels already checked) with the current time. */
int pm_exemplar_store(_Atomic(pm_exemplar *) *slot, double value, const prom_label *labels,
                      size_t n);
/* Copies the stored exemplar into buf and returns its view, or NULL if none. */
const pm_exemplar_view *pm_exemplar_read(_Atomic(pm_exemplar *) *slot, pm_exemplar_buf *buf);
void pm_exemplar_free(_Atomic(pm_exemplar *) *slot);

/* ---- Names */

int pm_check_metric_name(const char *name);
int pm_check_label_name(const char *name, const char *reserved);

/* Unix time in seconds, with a fraction. */
double pm_now(void);

#endif
