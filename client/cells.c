/*
 * cells.c - per-thread cells, see metric.h.
 *
 * The pieces, all under one mutex except the owning thread's own writes:
 *
 *   threads   every thread that ever updated a counter or histogram has a
 *             pm_thread (a page table of PM_MAX_PAGES pointers; calloc'd, so
 *             the untouched part of the table costs no memory).  A pthread key
 *             destructor folds a thread's pages into `retired` when it exits.
 *   slots     ranges are handed out from a bump pointer, never spanning a page;
 *             freed ranges go on a free list and are zeroed in every table
 *             before reuse.
 *
 * A reader sums a slot over the threads and `retired`.  Words are doubles
 * (bucket counts too: exact up to 2^53 observations).
 */
#include "metric.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

__thread pm_thread *pm_tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pm_thread *threads;
static pm_thread *retired;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint32_t next_slot;

typedef struct free_range {
    uint32_t slot, n;
    struct free_range *next;
} free_range;
static free_range *free_ranges;

static pm_word *page_new(void)
{
    return calloc(PM_PAGE_WORDS, sizeof(pm_word));
}

static pm_thread *table_new(void)
{
    return calloc(1, sizeof(pm_thread));
}

/* Adds every word of `from` into `to` (allocating pages of `to` as needed) and
 * frees `from`.  Called with the lock held. */
static void fold(pm_thread *to, pm_thread *from)
{
    for (uint32_t p = 0; p < PM_MAX_PAGES; p++) {
        pm_word *src = atomic_load_explicit(&from->pages[p], memory_order_relaxed);
        if (src == NULL) continue;
        pm_word *dst = atomic_load_explicit(&to->pages[p], memory_order_relaxed);
        if (dst == NULL) {
            /* Hand the page over whole. */
            atomic_store_explicit(&to->pages[p], src, memory_order_release);
            continue;
        }
        for (uint32_t i = 0; i < PM_PAGE_WORDS; i++)
            pm_word_add(&dst[i], atomic_load_explicit(&src[i], memory_order_relaxed));
        free(src);
    }
    free(from);
}

static void thread_exit(void *arg)
{
    pm_thread *t = arg;
    pthread_mutex_lock(&lock);
    pm_thread **pp = &threads;
    while (*pp != t)
        pp = &(*pp)->next;
    *pp = t->next;
    if (retired == NULL) retired = table_new();
    if (retired != NULL) fold(retired, t);
    /* Without memory for `retired` the counts of this thread are lost; there
     * is nothing better to do in a thread's exit path. */
    pthread_mutex_unlock(&lock);
    pm_tls = NULL;
}

static void make_key(void)
{
    pthread_key_create(&exit_key, thread_exit);
}

pm_word *pm_cells_slow(uint32_t slot)
{
    pm_thread *t = pm_tls;
    if (t == NULL) {
        pthread_once(&key_once, make_key);
        t = table_new();
        if (t == NULL) return NULL;
        pthread_mutex_lock(&lock);
        t->next = threads;
        threads = t;
        pthread_mutex_unlock(&lock);
        pthread_setspecific(exit_key, t);
        pm_tls = t;
    }
    uint32_t p = slot >> PM_PAGE_SHIFT;
    pm_word *page = atomic_load_explicit(&t->pages[p], memory_order_relaxed);
    if (page == NULL) {
        page = page_new();
        if (page == NULL) return NULL;
        atomic_store_explicit(&t->pages[p], page, memory_order_release);
    }
    return page + (slot & (PM_PAGE_WORDS - 1));
}

/* Zeroes a range in every table; with the lock held. */
static void zero_range(uint32_t slot, uint32_t n)
{
    uint32_t p = slot >> PM_PAGE_SHIFT, off = slot & (PM_PAGE_WORDS - 1);
    for (pm_thread *t = threads;; t = t->next) {
        pm_thread *tab = t != NULL ? t : retired;
        pm_word *page =
            tab != NULL ? atomic_load_explicit(&tab->pages[p], memory_order_relaxed) : NULL;
        if (page != NULL)
            for (uint32_t i = 0; i < n; i++)
                atomic_store_explicit(&page[off + i], 0.0, memory_order_relaxed);
        if (t == NULL) break;
    }
}

int64_t pm_slots_alloc(uint32_t n)
{
    if (n == 0 || n > PM_PAGE_WORDS) return -1;
    pthread_mutex_lock(&lock);
    for (free_range **pp = &free_ranges; *pp != NULL; pp = &(*pp)->next) {
        free_range *fr = *pp;
        if (fr->n < n) continue;
        uint32_t slot = fr->slot;
        fr->slot += n;
        fr->n -= n;
        if (fr->n == 0) {
            *pp = fr->next;
            free(fr);
        }
        zero_range(slot, n);
        pthread_mutex_unlock(&lock);
        return slot;
    }
    uint32_t off = next_slot & (PM_PAGE_WORDS - 1);
    if (off + n > PM_PAGE_WORDS) next_slot += PM_PAGE_WORDS - off; /* start on the next page */
    int64_t slot = -1;
    if ((uint64_t)next_slot + n <= (uint64_t)PM_MAX_PAGES * PM_PAGE_WORDS) {
        slot = next_slot;
        next_slot += n;
    }
    pthread_mutex_unlock(&lock);
    return slot;
}

void pm_slots_free(uint32_t slot, uint32_t n)
{
    free_range *fr = malloc(sizeof *fr);
    if (fr == NULL) return; /* the range stays unused: a small leak, no harm */
    fr->slot = slot;
    fr->n = n;
    pthread_mutex_lock(&lock);
    fr->next = free_ranges;
    free_ranges = fr;
    pthread_mutex_unlock(&lock);
}

void pm_cells_lock(void)
{
    pthread_mutex_lock(&lock);
}

void pm_cells_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/* Adds one table's words for a range into out, consistently if seqlocked. */
static void sum_table(const pm_thread *t, uint32_t slot, uint32_t n, bool seqlocked, double *out)
{
    const pm_word *w = atomic_load_explicit(&t->pages[slot >> PM_PAGE_SHIFT], memory_order_acquire);
    if (w == NULL) return;
    w += slot & (PM_PAGE_WORDS - 1);
    if (!seqlocked) {
        for (uint32_t i = 0; i < n; i++)
            out[i] += atomic_load_explicit(&w[i], memory_order_relaxed);
        return;
    }
    double tmp[PM_PAGE_WORDS];
    for (;;) {
        double s1 = atomic_load_explicit(&w[0], memory_order_acquire);
        for (uint32_t i = 1; i < n; i++)
            tmp[i] = atomic_load_explicit(&w[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        double s2 = atomic_load_explicit(&w[0], memory_order_relaxed);
        if (s1 == s2 && (uint64_t)s1 % 2 == 0) break;
        sched_yield();
    }
    for (uint32_t i = 1; i < n; i++)
        out[i] += tmp[i];
}

void pm_cells_sum(uint32_t slot, uint32_t n, bool seqlocked, double *out)
{
    memset(out, 0, n * sizeof *out);
    for (const pm_thread *t = threads; t != NULL; t = t->next)
        sum_table(t, slot, n, seqlocked, out);
    if (retired != NULL) sum_table(retired, slot, n, false, out);
}
