/*
 * store.c - the groups, and every change to them.
 *
 * A group is the set of families pushed under one grouping key, kept sorted
 * by name, with two families the gateway adds itself: push_time_seconds and
 * push_failure_time_seconds.  Beside the groups the store keeps two indexes
 * that make the consistency check of a push cost what the push costs rather
 * than what the whole store holds (upstream re-gathers every group on every
 * push):
 *   - names: for each family name, the families of that name in all groups
 *     (and so their common type); the exposition reads it too;
 *   - series: a multiset of series identities (hash of family name and
 *     sorted labels), for duplicates across groups.
 *
 * A push is refused, as upstream's check refuses it, when after it
 *   - a family name would have two types across groups, or collide with one
 *     of the gateway's own families (upstream would merge a consistent one
 *     into its own; here the names are simply reserved);
 *   - a series would appear twice (in the push or across groups);
 *   - name_count / name_sum (/ name_bucket) would sit beside a summary
 *     (histogram) called name (client_golang's checkSuffixCollisions);
 *   - or some sample carries a timestamp (checked also without the check).
 * A refused push changes nothing but the group's push_failure_time_seconds
 * (creating the group if needed, with push_time_seconds 0, as upstream).
 *
 * Writes take the lock exclusively, check and apply in one go, so they are
 * applied in the order they get the lock; readers (scrapes, API, page, the
 * persister) share it.
 */
#include "pushgateway/pushgateway.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pgw_store {
    pthread_rwlock_t lock;
    pgw_map groups; /* key -> pgw_group */
    pgw_map names;  /* family name -> pgw_name */
    pgw_hset series;
    pgw_own_family *own;
    size_t n_own;
    atomic_uint_fast64_t gen;
};

static const char push_time_help[] =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
static const char push_failure_help[] =
    "Last Unix time when changing this group in the Pushgateway failed.";

pgw_store *pgw_store_new(void)
{
    pgw_store *s = core_calloc(1, sizeof *s);
    pthread_rwlock_init(&s->lock, NULL);
    return s;
}

void pgw_store_set_own(pgw_store *s, const pgw_own_family *own, size_t n)
{
    for (size_t i = 0; i < s->n_own; i++)
        free((char *)s->own[i].name);
    free(s->own);
    s->own = core_mallocarray(n ? n : 1, sizeof *s->own);
    for (size_t i = 0; i < n; i++)
        s->own[i] = (pgw_own_family){core_strdup(own[i].name), own[i].type};
    s->n_own = n;
}

void pgw_store_rdlock(pgw_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
}

void pgw_store_unlock(pgw_store *s)
{
    pthread_rwlock_unlock(&s->lock);
}

uint64_t pgw_store_generation(pgw_store *s)
{
    return atomic_load(&s->gen);
}

/* ---- Groups and their families */

/* Index of the family `name` in g, or where it would go (*found says which). */
static size_t group_find(const pgw_group *g, const char *name, bool *found)
{
    size_t lo = 0, hi = g->n_fams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->fams[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

pgw_family *pgw_group_family(const pgw_group *g, const char *name)
{
    bool found;
    size_t i = group_find(g, name, &found);
    return found ? g->fams[i] : NULL;
}

bool pgw_group_last_push_ok(const pgw_group *g)
{
    const pgw_family *fail = pgw_group_family(g, PGW_PUSH_FAILURE_NAME);
    const pgw_family *ok = pgw_group_family(g, PGW_PUSH_TIME_NAME);
    if (fail == NULL || ok == NULL || fail->n == 0 || ok->n == 0) return true;
    return fail->m[0]->value <= ok->m[0]->value;
}

static pgw_group *group_create(pgw_store *s, const core_labels *grouping, int64_t now_ns)
{
    pgw_group *g = core_calloc(1, sizeof *g);
    g->labels = core_labels_clone(grouping);
    g->key = pgw_grouping_key(grouping);
    g->last_push_ns = now_ns;
    pgw_map_put(&s->groups, g->key, g);
    return g;
}

/* Adds f to g and to the indexes. */
static void attach(pgw_store *s, pgw_group *g, pgw_family *f)
{
    bool found;
    size_t i = group_find(g, f->name, &found);
    if (g->n_fams == g->cap_fams) {
        g->cap_fams = g->cap_fams ? g->cap_fams * 2 : 8;
        g->fams = core_reallocarray(g->fams, g->cap_fams, sizeof *g->fams);
    }
    memmove(g->fams + i + 1, g->fams + i, (g->n_fams - i) * sizeof *g->fams);
    g->fams[i] = f;
    g->n_fams++;
    f->group = g;
    pgw_name *ne = pgw_map_get(&s->names, f->name);
    if (ne == NULL) {
        ne = core_calloc(1, sizeof *ne);
        ne->name = core_strdup(f->name);
        ne->type = f->type;
        pgw_map_put(&s->names, ne->name, ne);
    }
    if (ne->n == ne->cap) {
        ne->cap = ne->cap ? ne->cap * 2 : 4;
        ne->fams = core_reallocarray(ne->fams, ne->cap, sizeof *ne->fams);
    }
    if (ne->n == 0) ne->type = f->type;
    f->slot = ne->n;
    ne->fams[ne->n++] = f;
    for (size_t k = 0; k < f->n; k++)
        pgw_hset_add(&s->series, pgw_metric_hash(f->name, f->m[k]));
}

/* Removes g's family number i from g and the indexes and frees it. */
static void detach(pgw_store *s, pgw_group *g, size_t i)
{
    pgw_family *f = g->fams[i];
    memmove(g->fams + i, g->fams + i + 1, (g->n_fams - i - 1) * sizeof *g->fams);
    g->n_fams--;
    pgw_name *ne = pgw_map_get(&s->names, f->name);
    ne->fams[f->slot] = ne->fams[--ne->n];
    ne->fams[f->slot]->slot = f->slot;
    if (ne->n == 0) {
        pgw_map_del(&s->names, ne->name);
        free(ne->fams);
        free(ne->name);
        free(ne);
    }
    for (size_t k = 0; k < f->n; k++)
        pgw_hset_remove(&s->series, pgw_metric_hash(f->name, f->m[k]));
    pgw_family_free(f);
}

static void detach_named(pgw_store *s, pgw_group *g, const char *name)
{
    bool found;
    size_t i = group_find(g, name, &found);
    if (found) detach(s, g, i);
}

static void group_remove(pgw_store *s, pgw_group *g)
{
    while (g->n_fams > 0)
        detach(s, g, g->n_fams - 1);
    pgw_map_del(&s->groups, g->key);
    free(g->fams);
    free(g->key);
    free(g->labels);
    free(g);
    atomic_fetch_add(&s->gen, 1);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const core_label *)a)->name, ((const core_label *)b)->name);
}

/* A gauge family with one metric: the grouping labels (and instance=""). */
static pgw_family *time_family(const char *name, const char *help, const core_labels *grouping,
                               int64_t ns)
{
    core_label *ls = core_mallocarray(grouping->len + 1, sizeof *ls);
    memcpy(ls, grouping->v, grouping->len * sizeof *ls);
    size_t n = grouping->len;
    if (core_labels_get(grouping, "instance") == NULL) ls[n++] = (core_label){"instance", ""};
    qsort(ls, n, sizeof *ls, cmp_label);
    pgw_family *f = pgw_family_new(name, help, PGW_GAUGE);
    f->push_ns = ns;
    pgw_family_add(f, pgw_metric_new(ls, n, ns != 0 ? (double)ns / 1e9 : 0, 0, NULL, 0));
    free(ls);
    return f;
}

/* ---- The check */

typedef struct check_ctx {
    pgw_store *s;
    const pgw_group *g; /* the group pushed to, or NULL */
    const pgw_push *p;
    bool replace;
} check_ctx;

static const pgw_own_family *own_find(const pgw_store *s, const char *name)
{
    for (size_t i = 0; i < s->n_own; i++)
        if (strcmp(s->own[i].name, name) == 0) return &s->own[i];
    return NULL;
}

/* Whether a family `name` exists after the push, and its type. */
static bool exists_after(const check_ctx *c, const char *name, pgw_type *type)
{
    const pgw_family *pf = pgw_map_get(&c->p->by_name, name);
    if (pf != NULL) return *type = pf->type, true;
    const pgw_name *ne = pgw_map_get(&c->s->names, name);
    size_t n = ne != NULL ? ne->n : 0;
    if (n > 0 && c->replace && c->g != NULL && pgw_group_family(c->g, name) != NULL) n--;
    if (n > 0) return *type = ne->type, true;
    const pgw_own_family *own = own_find(c->s, name);
    if (own != NULL) return *type = own->type, true;
    return false;
}

static bool suffixed(const char *name, const char *suffix, char *base, size_t cap)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n <= sl || strcmp(name + n - sl, suffix) != 0 || n - sl >= cap) return false;
    memcpy(base, name, n - sl);
    base[n - sl] = '\0';
    return true;
}

/* client_golang's checkSuffixCollisions, both ways. */
static int check_suffixes(const check_ctx *c, const pgw_family *f, core_err *err)
{
    static const char *const suffixes[] = {"_count", "_sum", "_bucket"};
    char other[1024];
    pgw_type t;
    for (size_t i = 0; i < 3; i++) {
        if (!suffixed(f->name, suffixes[i], other, sizeof other) || !exists_after(c, other, &t))
            continue;
        if ((t == PGW_SUMMARY && i < 2) || t == PGW_HISTOGRAM)
            return core_err_set(err, "collected metric named \"%s\" collides with %s named \"%s\"",
                                f->name, pgw_type_name(t), other);
    }
    if (f->type != PGW_SUMMARY && f->type != PGW_HISTOGRAM) return 0;
    for (size_t i = 0; i < (f->type == PGW_HISTOGRAM ? 3u : 2u); i++) {
        snprintf(other, sizeof other, "%s%s", f->name, suffixes[i]);
        if (exists_after(c, other, &t))
            return core_err_set(err,
                                "collected histogram or summary named \"%s\" collides with metric "
                                "named \"%s\"",
                                f->name, other);
    }
    return 0;
}

static void format_metric(const char *name, const pgw_metric *m, core_err *err, const char *what)
{
    core_sb sb = CORE_SB_INIT;
    const char *p = pgw_metric_labels(m);
    core_sb_addc(&sb, '{');
    for (size_t i = 0; i < m->n_labels; i++) {
        const char *v = p + strlen(p) + 1;
        core_sb_addf(&sb, "%s%s=", i ? "," : "", p);
        core_sb_add_quoted(&sb, v, strlen(v));
        p = v + strlen(v) + 1;
    }
    core_sb_addc(&sb, '}');
    core_err_set(err, "collected metric \"%s\" %s %s", name, sb.buf, what);
    core_sb_destroy(&sb);
}

static int check_family(const check_ctx *c, const pgw_family *f, core_err *err)
{
    if (own_find(c->s, f->name) != NULL)
        return core_err_set(
            err, "metric family \"%s\" collides with a metric of the Pushgateway itself", f->name);
    const pgw_name *ne = pgw_map_get(&c->s->names, f->name);
    size_t others = ne != NULL ? ne->n : 0;
    if (others > 0 && c->g != NULL && pgw_group_family(c->g, f->name) != NULL) others--;
    if (others > 0 && ne->type != f->type && f->n > 0) {
        char what[64];
        snprintf(what, sizeof what, "is not a %s", pgw_type_upper(ne->type));
        format_metric(f->name, f->m[0], err, what);
        return -1;
    }
    return check_suffixes(c, f, err);
}

/* Duplicate series, in the push or against the other groups. */
static int check_series(const check_ctx *c, core_err *err)
{
    pgw_hset local = {0}, replaced = {0};
    int rc = 0;
    for (size_t i = 0; c->g != NULL && i < c->p->n; i++) {
        const pgw_family *old = pgw_group_family(c->g, c->p->f[i]->name);
        for (size_t k = 0; old != NULL && k < old->n; k++)
            pgw_hset_add(&replaced, pgw_metric_hash(old->name, old->m[k]));
    }
    for (size_t i = 0; rc == 0 && i < c->p->n; i++) {
        const pgw_family *f = c->p->f[i];
        for (size_t k = 0; rc == 0 && k < f->n; k++) {
            uint64_t h = pgw_metric_hash(f->name, f->m[k]);
            if (pgw_hset_count(&local, h) > 0 ||
                pgw_hset_count(&c->s->series, h) > pgw_hset_count(&replaced, h)) {
                format_metric(f->name, f->m[k], err,
                              "was collected before with the same name and label values");
                rc = -1;
            }
            pgw_hset_add(&local, h);
        }
    }
    pgw_hset_destroy(&local);
    pgw_hset_destroy(&replaced);
    return rc;
}

static int check_push(const check_ctx *c, core_err *err)
{
    for (size_t i = 0; i < c->p->n; i++)
        if (check_family(c, c->p->f[i], err) < 0) return -1;
    return check_series(c, err);
}

/* ---- Writes */

static void push_add(pgw_push *p, pgw_family *f)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->f = core_reallocarray(p->f, p->cap, sizeof *p->f);
    }
    p->f[p->n++] = f;
    pgw_map_put(&p->by_name, f->name, f);
}

/* Replaces any pushed push_time_seconds / push_failure_time_seconds by the
 * gateway's own, as upstream overwrites them. */
static void add_time_families(pgw_push *p, const pgw_group *g, const core_labels *grouping,
                              int64_t now_ns)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        pgw_family *f = p->f[i];
        if (strcmp(f->name, PGW_PUSH_TIME_NAME) == 0 ||
            strcmp(f->name, PGW_PUSH_FAILURE_NAME) == 0) {
            pgw_map_del(&p->by_name, f->name);
            pgw_family_free(f);
        } else {
            p->f[k++] = f;
        }
    }
    p->n = k;
    push_add(p, time_family(PGW_PUSH_TIME_NAME, push_time_help, grouping, now_ns));
    if (g == NULL || pgw_group_family(g, PGW_PUSH_FAILURE_NAME) == NULL)
        push_add(p, time_family(PGW_PUSH_FAILURE_NAME, push_failure_help, grouping, 0));
}

static void apply_push(pgw_store *s, pgw_group *g, pgw_push *p, const core_labels *grouping,
                       bool replace, int64_t now_ns)
{
    if (g == NULL) g = group_create(s, grouping, now_ns);
    if (replace) {
        for (size_t i = g->n_fams; i-- > 0;)
            if (strcmp(g->fams[i]->name, PGW_PUSH_FAILURE_NAME) != 0) detach(s, g, i);
    }
    for (size_t i = 0; i < p->n; i++) {
        detach_named(s, g, p->f[i]->name);
        p->f[i]->push_ns = now_ns;
        attach(s, g, p->f[i]);
    }
    p->n = 0;
    g->last_push_ns = now_ns;
    atomic_fetch_add(&s->gen, 1);
}

static void set_failure(pgw_store *s, pgw_group *g, const core_labels *grouping, int64_t now_ns)
{
    if (g == NULL) g = group_create(s, grouping, now_ns);
    detach_named(s, g, PGW_PUSH_FAILURE_NAME);
    attach(s, g, time_family(PGW_PUSH_FAILURE_NAME, push_failure_help, grouping, now_ns));
    if (pgw_group_family(g, PGW_PUSH_TIME_NAME) == NULL)
        attach(s, g, time_family(PGW_PUSH_TIME_NAME, push_time_help, grouping, 0));
    atomic_fetch_add(&s->gen, 1);
}

int pgw_store_push(pgw_store *s, pgw_push *p, const core_labels *grouping, bool replace, bool check,
                   int64_t now_ns, core_err *err)
{
    char *key = pgw_grouping_key(grouping);
    int rc = 0;
    pthread_rwlock_wrlock(&s->lock);
    pgw_group *g = pgw_map_get(&s->groups, key);
    if (p->has_timestamps) {
        rc = core_err_set(err, "pushed metrics must not have timestamps");
    } else {
        add_time_families(p, g, grouping, now_ns);
        check_ctx c = {s, g, p, replace};
        if (check) rc = check_push(&c, err);
    }
    if (rc == 0)
        apply_push(s, g, p, grouping, replace, now_ns);
    else
        set_failure(s, g, grouping, now_ns);
    pthread_rwlock_unlock(&s->lock);
    free(key);
    pgw_push_free(p);
    return rc;
}

void pgw_store_delete(pgw_store *s, const core_labels *grouping)
{
    char *key = pgw_grouping_key(grouping);
    pthread_rwlock_wrlock(&s->lock);
    pgw_group *g = pgw_map_get(&s->groups, key);
    if (g != NULL) group_remove(s, g);
    pthread_rwlock_unlock(&s->lock);
    free(key);
}

/* Removes the groups `drop` picks; returns how many (write lock held). */
static size_t remove_where(pgw_store *s, bool (*drop)(const pgw_group *, const void *),
                           const void *arg)
{
    size_t n = 0, k = 0;
    pgw_group **victims = core_mallocarray(s->groups.n + 1, sizeof *victims);
    for (size_t i = 0; i < s->groups.cap; i++) {
        pgw_group *g = s->groups.slots[i].value;
        if (s->groups.slots[i].key != NULL && drop(g, arg)) victims[k++] = g;
    }
    for (; n < k; n++)
        group_remove(s, victims[n]);
    free(victims);
    return n;
}

static bool drop_all(const pgw_group *g, const void *arg)
{
    return true;
}

typedef struct expiry {
    int64_t now_ns, ttl_ns;
} expiry;

static bool drop_expired(const pgw_group *g, const void *arg)
{
    const expiry *e = arg;
    return e->now_ns - g->last_push_ns > e->ttl_ns;
}

void pgw_store_wipe(pgw_store *s)
{
    pthread_rwlock_wrlock(&s->lock);
    remove_where(s, drop_all, NULL);
    pthread_rwlock_unlock(&s->lock);
}

size_t pgw_store_expire(pgw_store *s, int64_t now_ns, int64_t ttl_ns)
{
    expiry e = {now_ns, ttl_ns};
    pthread_rwlock_wrlock(&s->lock);
    size_t n = remove_where(s, drop_expired, &e);
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t pgw_store_n_groups(pgw_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->groups.n;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

void pgw_store_restore_family(pgw_store *s, const core_labels *grouping, int64_t last_push_ns,
                              pgw_family *f)
{
    char *key = pgw_grouping_key(grouping);
    pthread_rwlock_wrlock(&s->lock);
    pgw_group *g = pgw_map_get(&s->groups, key);
    if (g == NULL) g = group_create(s, grouping, last_push_ns);
    detach_named(s, g, f->name);
    attach(s, g, f);
    g->last_push_ns = last_push_ns;
    atomic_fetch_add(&s->gen, 1);
    pthread_rwlock_unlock(&s->lock);
    free(key);
}

/* ---- Listing */

static int cmp_group(const void *a, const void *b)
{
    return strcmp((*(pgw_group *const *)a)->key, (*(pgw_group *const *)b)->key);
}

pgw_group **pgw_store_groups(pgw_store *s, size_t *n)
{
    pgw_group **v = core_mallocarray(s->groups.n + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < s->groups.cap; i++)
        if (s->groups.slots[i].key != NULL) v[k++] = s->groups.slots[i].value;
    qsort(v, k, sizeof *v, cmp_group);
    *n = k;
    return v;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(pgw_name *const *)a)->name, (*(pgw_name *const *)b)->name);
}

pgw_name **pgw_store_names(pgw_store *s, size_t *n)
{
    pgw_name **v = core_mallocarray(s->names.n + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < s->names.cap; i++)
        if (s->names.slots[i].key != NULL) v[k++] = s->names.slots[i].value;
    qsort(v, k, sizeof *v, cmp_name);
    *n = k;
    return v;
}

void pgw_store_free(pgw_store *s)
{
    if (s == NULL) return;
    remove_where(s, drop_all, NULL);
    pgw_map_destroy(&s->groups);
    pgw_map_destroy(&s->names);
    pgw_hset_destroy(&s->series);
    for (size_t i = 0; i < s->n_own; i++)
        free((char *)s->own[i].name);
    free(s->own);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}
