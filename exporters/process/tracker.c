/*
 * tracker.c - processes known between scrapes, and their groups.
 *
 * Upstream's Tracker and Grouper in one: a process is known by (pid, start
 * time), so a reused pid is a new process.  Each cycle:
 *
 *   see      every pid in /proc is looked up (binary search) in `cur`, the
 *            known processes sorted by pid; a known one is carried into `next`
 *            (an ignored one by the inode number of /proc/<pid> alone, without
 *            reading its stat: the bulk of a scrape's cost otherwise)
 *   update   a tracked process gets its sample: `latest` is the increase of
 *            each counter since the previous cycle (floored at 0)
 *   offer    an unknown one is described (comm, cmdline, ...) for the namer
 *   resolve  the namer's rules name the offered processes; with children, an
 *            unmatched one joins the group of its nearest tracked ancestor
 *            (walked iteratively through known and newly offered processes);
 *            the rest are remembered as ignored, so they cost one stat read
 *            per scrape (unless -recheck)
 *   end      processes not seen are forgotten, `next` becomes `cur`, and the
 *            groups are filled: gauges are sums over this cycle's processes,
 *            and counters add each process's `latest` to the group's running
 *            total, so a group's counters never go down when a process exits
 *
 * As upstream, a process found after the first cycle that started after it
 * counts with all it used so far; one that was running before counts from when
 * it was first seen.  Threads of a process with two or more threads are kept
 * by tid; a group's per-thread-name counters carry over from the previous
 * cycle for names still present.
 *
 * The two process arrays and the thread arrays are reused, so a steady cycle
 * allocates only from the caller's arena (offers, scratch).
 */
#include "process.h"

#include <stdlib.h>
#include <string.h>

typedef enum pend_state {
    PS_UNDECIDED,
    PS_VISITING,
    PS_TRACK,
    PS_IGNORE,
} pend_state;

struct pe_pending {
    pe_ident id;
    pend_state state;
    const char *group; /* PS_TRACK: the group name (arena) */
};

/* ---- Helpers on the process arrays */

static int cmp_proc(const void *a, const void *b)
{
    const pe_proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static void sort_procs(pe_proc *v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, cmp_proc);
}

static pe_proc *find_proc(pe_proc *v, size_t n, int pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].pid == pid) return &v[mid];
        if (v[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static pe_proc *push_next(pe_tracker *t)
{
    if (t->n_next == t->cap_next) {
        t->cap_next = t->cap_next ? t->cap_next * 2 : 256;
        t->next = core_reallocarray(t->next, t->cap_next, sizeof *t->next);
    }
    pe_proc *p = &t->next[t->n_next++];
    memset(p, 0, sizeof *p);
    return p;
}

/* ---- Groups: an array and an open-addressing index by name */

static void gindex_rebuild(pe_tracker *t)
{
    size_t cap = 64;
    while (cap < t->n_groups * 2 + 2)
        cap *= 2;
    free(t->gindex);
    t->gindex = core_mallocarray(cap, sizeof *t->gindex);
    memset(t->gindex, 0xff, cap * sizeof *t->gindex);
    t->gindex_cap = cap;
    for (size_t i = 0; i < t->n_groups; i++) {
        size_t h = core_hash_str(t->groups[i].name) & (cap - 1);
        while (t->gindex[h] != UINT32_MAX)
            h = (h + 1) & (cap - 1);
        t->gindex[h] = (uint32_t)i;
    }
}

static uint32_t group_intern(pe_tracker *t, const char *name)
{
    if (t->gindex_cap == 0) gindex_rebuild(t);
    size_t mask = t->gindex_cap - 1, h = core_hash_str(name) & mask;
    for (; t->gindex[h] != UINT32_MAX; h = (h + 1) & mask)
        if (strcmp(t->groups[t->gindex[h]].name, name) == 0) return t->gindex[h];
    if (t->n_groups == t->cap_groups) {
        t->cap_groups = t->cap_groups ? t->cap_groups * 2 : 16;
        t->groups = core_reallocarray(t->groups, t->cap_groups, sizeof *t->groups);
    }
    uint32_t g = (uint32_t)t->n_groups++;
    memset(&t->groups[g], 0, sizeof t->groups[g]);
    t->groups[g].name = core_strdup(name);
    t->gindex[h] = g;
    if (t->n_groups * 2 + 2 > t->gindex_cap) gindex_rebuild(t);
    return g;
}

/* ---- Lifecycle */

void pe_tracker_init(pe_tracker *t, pe_namer *namer, const pe_tracker_opts *opt, core_arena *a)
{
    memset(t, 0, sizeof *t);
    t->namer = namer;
    t->opt = *opt;
    t->arena = a;
}

static void free_threads(pe_proc *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].threads);
        v[i].threads = NULL;
    }
}

void pe_tracker_destroy(pe_tracker *t)
{
    free_threads(t->cur, t->n_cur);
    free_threads(t->next, t->n_next);
    free(t->cur);
    free(t->next);
    for (size_t i = 0; i < t->n_groups; i++) {
        free(t->groups[i].name);
        free(t->groups[i].tnames);
    }
    free(t->groups);
    free(t->gindex);
    core_sb_destroy(&t->name);
    memset(t, 0, sizeof *t);
}

void pe_tracker_begin(pe_tracker *t, double now)
{
    if (t->first_update == 0) t->first_update = now;
    t->now = now;
    t->n_next = 0;
    t->pending = NULL;
    t->n_pending = t->cap_pending = 0;
    t->last = NULL;
}

/* Carries a known process into the next cycle. */
static pe_proc *carry(pe_tracker *t, pe_proc *old)
{
    pe_proc *p = push_next(t);
    *p = *old;
    old->threads = NULL;
    old->moved = true; /* a pid listed twice in one cycle is not carried twice */
    t->last = p;
    return p;
}

bool pe_tracker_skip(pe_tracker *t, int pid, uint64_t ino)
{
    t->last = NULL;
    pe_proc *old = find_proc(t->cur, t->n_cur, pid);
    if (ino == 0 || old == NULL || old->tracked || old->moved || old->ino != ino) return false;
    carry(t, old);
    return true;
}

pe_known pe_tracker_see(pe_tracker *t, int pid, uint64_t starttime, uint64_t ino)
{
    t->last = NULL;
    pe_proc *old = find_proc(t->cur, t->n_cur, pid);
    if (old == NULL || old->starttime != starttime || old->moved) return PE_NEW;
    pe_proc *p = carry(t, old);
    p->ino = ino;
    return p->tracked ? PE_TRACKED : PE_IGNORED;
}

/* ---- Samples */

static int cmp_thread(const void *a, const void *b)
{
    const pe_thread *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

const pe_proc *pe_tracker_last(const pe_tracker *t)
{
    return t->last != NULL && t->last->tracked ? t->last : NULL;
}

const pe_thread *pe_proc_thread(const pe_proc *p, int tid, uint64_t starttime)
{
    size_t lo = 0, hi = p->n_threads;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const pe_thread *th = &p->threads[mid];
        if (th->tid == tid) return th->starttime == starttime ? th : NULL;
        if (th->tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void thread_from_sample(pe_thread *th, const pe_thread_sample *s)
{
    memset(th, 0, sizeof *th);
    th->tid = s->tid;
    th->starttime = s->starttime;
    memcpy(th->name, s->name, sizeof th->name);
    th->total = s->counts;
    memcpy(th->wchan, s->wchan, sizeof th->wchan);
}

/* Replaces the process's threads by the sample's, each with its increase
 * since it was last seen (0 for a thread not seen before). */
static void update_threads(pe_tracker *t, pe_proc *p, const pe_sample *s)
{
    if (s->n_threads < 2) {
        p->n_threads = 0;
        return;
    }
    pe_thread *fresh = core_arena_alloc(t->arena, s->n_threads * sizeof *fresh);
    for (size_t i = 0; i < s->n_threads; i++) {
        const pe_thread_sample *ts = &s->threads[i];
        thread_from_sample(&fresh[i], ts);
        const pe_thread *old = pe_proc_thread(p, ts->tid, ts->starttime);
        if (old != NULL) pe_counts_delta(&ts->counts, &old->total, &fresh[i].latest);
    }
    if (s->n_threads > p->cap_threads) {
        p->cap_threads = s->n_threads;
        p->threads = core_reallocarray(p->threads, p->cap_threads, sizeof *p->threads);
    }
    memcpy(p->threads, fresh, s->n_threads * sizeof *fresh);
    p->n_threads = s->n_threads;
    qsort(p->threads, p->n_threads, sizeof *p->threads, cmp_thread);
}

static void keep_sample(pe_proc *p, const pe_sample *s)
{
    p->now = *s;
    p->now.threads = NULL;
    p->now.n_threads = 0;
    p->total = s->counts;
}

void pe_tracker_update(pe_tracker *t, const pe_sample *s)
{
    pe_proc *p = t->last;
    if (p == NULL || !p->tracked) return;
    pe_counts_delta(&s->counts, &p->total, &p->latest);
    keep_sample(p, s);
    update_threads(t, p, s);
}

void pe_tracker_forget(pe_tracker *t)
{
    if (t->last == NULL || t->last != &t->next[t->n_next - 1]) return;
    free(t->last->threads);
    t->n_next--;
    t->last = NULL;
}

/* ---- New processes */

void pe_tracker_offer(pe_tracker *t, const pe_ident *id)
{
    if (t->n_pending == t->cap_pending) {
        size_t cap = t->cap_pending ? t->cap_pending * 2 : 64;
        pe_pending *v = core_arena_alloc(t->arena, cap * sizeof *v);
        if (t->n_pending) memcpy(v, t->pending, t->n_pending * sizeof *v);
        t->pending = v;
        t->cap_pending = cap;
    }
    pe_pending *p = &t->pending[t->n_pending++];
    memset(p, 0, sizeof *p);
    p->id = *id;
    core_arena *a = t->arena;
    p->id.comm = core_arena_strdup(a, id->comm ? id->comm : "");
    if (id->cmdline != NULL) {
        char *c = core_arena_alloc(a, id->cmdline_len + 1);
        memcpy(c, id->cmdline, id->cmdline_len);
        c[id->cmdline_len] = '\0';
        p->id.cmdline = c;
    }
    if (id->username) p->id.username = core_arena_strdup(a, id->username);
    if (id->cgroups) p->id.cgroups = core_arena_strdup(a, id->cgroups);
}

static int cmp_pending(const void *a, const void *b)
{
    const pe_pending *x = a, *y = b;
    return (x->id.pid > y->id.pid) - (x->id.pid < y->id.pid);
}

static pe_pending *find_pending(pe_tracker *t, int pid)
{
    pe_pending key = {.id.pid = pid};
    if (t->n_pending == 0) return NULL;
    return bsearch(&key, t->pending, t->n_pending, sizeof key, cmp_pending);
}

/* What the parent of `p` says: PS_TRACK (with *group), PS_IGNORE, or the
 * pending parent to look at next (*up). */
static pend_state parent_verdict(pe_tracker *t, const pe_pending *p, const char **group,
                                 pe_pending **up)
{
    *up = NULL;
    int ppid = p->id.ppid;
    if (ppid < 1) return PS_IGNORE;
    pe_proc *known = find_proc(t->next, t->n_next, ppid);
    if (known != NULL) {
        if (!known->tracked) return PS_IGNORE;
        *group = t->groups[known->group].name;
        return PS_TRACK;
    }
    pe_pending *q = find_pending(t, ppid);
    if (q == NULL || q->state == PS_IGNORE || q->state == PS_VISITING) return PS_IGNORE;
    if (q->state == PS_TRACK) {
        *group = q->group;
        return PS_TRACK;
    }
    *up = q;
    return PS_UNDECIDED;
}

/* Walks up from p until a verdict, then gives it to the whole chain. */
static void resolve_ancestry(pe_tracker *t, pe_pending *p)
{
    pe_pending *chain_head = p, *up;
    const char *group = NULL;
    pend_state verdict;
    p->state = PS_VISITING;
    for (;;) {
        verdict = parent_verdict(t, p, &group, &up);
        if (up == NULL) break;
        up->state = PS_VISITING;
        p = up;
    }
    /* Mark the chain: every VISITING entry reachable from the head. */
    for (pe_pending *c = chain_head; c != NULL && c->state == PS_VISITING;) {
        c->state = verdict;
        c->group = group;
        c = c->id.ppid > 0 ? find_pending(t, c->id.ppid) : NULL;
    }
}

static bool should_ignore(const pe_tracker *t, const pe_pending *p)
{
    if (!t->opt.recheck) return true;
    return t->opt.recheck_limit > 0 && p->id.start_time + t->opt.recheck_limit <= t->now;
}

static void remember_ignored(pe_tracker *t, const pe_pending *p)
{
    pe_proc *e = push_next(t);
    e->pid = p->id.pid;
    e->starttime = p->id.starttime;
    e->ino = p->id.ino;
    e->start_time = p->id.start_time;
}

size_t pe_tracker_resolve(pe_tracker *t)
{
    sort_procs(t->next, t->n_next);
    if (t->n_pending > 1) qsort(t->pending, t->n_pending, sizeof *t->pending, cmp_pending);
    for (size_t i = 0; i < t->n_pending; i++) {
        pe_pending *p = &t->pending[i];
        if (pe_namer_match(t->namer, &p->id, t->arena, &t->name)) {
            p->state = PS_TRACK;
            p->group = core_arena_strdup(t->arena, t->name.buf ? t->name.buf : "");
        }
    }
    for (size_t i = 0; i < t->n_pending; i++) {
        pe_pending *p = &t->pending[i];
        if (p->state != PS_UNDECIDED) continue;
        if (t->opt.children)
            resolve_ancestry(t, p);
        else
            p->state = PS_IGNORE;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_pending; i++) {
        pe_pending *p = &t->pending[i];
        if (p->state == PS_TRACK)
            t->pending[n++] = *p; /* the tracked ones first, in pid order */
        else if (should_ignore(t, p))
            remember_ignored(t, p);
    }
    t->n_pending = n;
    return n;
}

int pe_tracker_new_pid(const pe_tracker *t, size_t i)
{
    return i < t->n_pending ? t->pending[i].id.pid : 0;
}

void pe_tracker_add(pe_tracker *t, size_t i, const pe_sample *s)
{
    if (i >= t->n_pending) return;
    const pe_pending *p = &t->pending[i];
    pe_proc *e = push_next(t);
    e->pid = p->id.pid;
    e->starttime = p->id.starttime;
    e->ino = p->id.ino;
    e->start_time = p->id.start_time;
    e->tracked = true;
    e->group = group_intern(t, p->group);
    keep_sample(e, s);
    if (p->id.start_time > t->first_update) e->latest = s->counts;
    update_threads(t, e, s);
}

/* ---- End of cycle: the groups */

static void add_wchan(pe_tracker *t, pe_group *g, const char *wchan)
{
    if (wchan[0] == '\0') return;
    for (size_t i = 0; i < g->n_wchans; i++)
        if (strcmp(g->wchans[i].wchan, wchan) == 0) {
            g->wchans[i].count++;
            return;
        }
    if (g->n_wchans == g->cap_wchans) {
        size_t cap = g->cap_wchans ? g->cap_wchans * 2 : 8;
        pe_wchan_count *v = core_arena_alloc(t->arena, cap * sizeof *v);
        if (g->n_wchans) memcpy(v, g->wchans, g->n_wchans * sizeof *v);
        g->wchans = v;
        g->cap_wchans = cap;
    }
    g->wchans[g->n_wchans++] = (pe_wchan_count){wchan, 1};
}

static void add_tname(pe_group *g, const pe_thread *th)
{
    pe_tname *tn = NULL;
    for (size_t i = 0; i < g->n_tnames && tn == NULL; i++)
        if (strcmp(g->tnames[i].name, th->name) == 0) tn = &g->tnames[i];
    if (tn == NULL) {
        if (g->n_tnames == g->cap_tnames) {
            g->cap_tnames = g->cap_tnames ? g->cap_tnames * 2 : 8;
            g->tnames = core_reallocarray(g->tnames, g->cap_tnames, sizeof *g->tnames);
        }
        tn = &g->tnames[g->n_tnames++];
        memset(tn, 0, sizeof *tn);
        memcpy(tn->name, th->name, sizeof tn->name);
    }
    tn->count++;
    pe_counts_add(&tn->counts, &th->latest);
}

static void reset_gauges(pe_group *g)
{
    g->procs = 0;
    memset(&g->mem, 0, sizeof g->mem);
    memset(&g->states, 0, sizeof g->states);
    g->open_fds = 0;
    g->worst_fd_ratio = 0;
    g->oldest_start = 0;
    g->num_threads = 0;
    g->wchans = NULL;
    g->n_wchans = g->cap_wchans = 0;
    g->present = false;
}

/* A group's first process this cycle: its thread names start over at 0
 * threads, keeping their counters as history. */
static void group_first_seen(pe_group *g)
{
    g->present = true;
    for (size_t i = 0; i < g->n_tnames; i++)
        g->tnames[i].count = 0;
}

static void group_add(pe_tracker *t, pe_group *g, const pe_proc *p)
{
    if (!g->present) group_first_seen(g);
    g->procs++;
    g->mem.resident += p->now.mem.resident;
    g->mem.virt += p->now.mem.virt;
    g->mem.swapped += p->now.mem.swapped;
    g->mem.pss += p->now.mem.pss;
    g->mem.swap_pss += p->now.mem.swap_pss;
    if (p->now.open_fds >= 0) g->open_fds += (uint64_t)p->now.open_fds;
    if (p->now.fd_limit > 0) {
        double ratio = (double)p->now.open_fds / (double)p->now.fd_limit;
        if (ratio > g->worst_fd_ratio) g->worst_fd_ratio = ratio;
    }
    g->num_threads += p->now.num_threads;
    pe_counts_add(&g->counts, &p->latest);
    pe_states_add(&g->states, &p->now.states);
    if (g->oldest_start == 0 || p->start_time < g->oldest_start) g->oldest_start = p->start_time;
    add_wchan(t, g, p->now.wchan);
    for (size_t i = 0; i < p->n_threads; i++) {
        add_wchan(t, g, p->threads[i].wchan);
        add_tname(g, &p->threads[i]);
    }
}

/* Thread names no thread has now are dropped, as upstream's threadAccum. */
static void drop_idle_tnames(pe_group *g)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n_tnames; i++)
        if (g->tnames[i].count > 0) g->tnames[k++] = g->tnames[i];
    g->n_tnames = k;
}

/* -remove-empty-groups: drops groups without processes, renumbering. */
static void remove_empty_groups(pe_tracker *t)
{
    uint32_t *map = core_arena_alloc(t->arena, (t->n_groups + 1) * sizeof *map);
    size_t k = 0;
    for (size_t i = 0; i < t->n_groups; i++) {
        if (!t->groups[i].present) {
            free(t->groups[i].name);
            free(t->groups[i].tnames);
            continue;
        }
        map[i] = (uint32_t)k;
        t->groups[k++] = t->groups[i];
    }
    if (k == t->n_groups) return;
    t->n_groups = k;
    for (size_t i = 0; i < t->n_cur; i++)
        if (t->cur[i].tracked) t->cur[i].group = map[t->cur[i].group];
    gindex_rebuild(t);
}

void pe_tracker_end(pe_tracker *t)
{
    free_threads(t->cur, t->n_cur); /* those not carried over */
    sort_procs(t->next, t->n_next);
    pe_proc *v = t->cur;
    size_t cap = t->cap_cur;
    t->cur = t->next;
    t->n_cur = t->n_next;
    t->cap_cur = t->cap_next;
    t->next = v;
    t->cap_next = cap;
    t->n_next = 0;
    t->last = NULL;
    for (size_t i = 0; i < t->n_groups; i++)
        reset_gauges(&t->groups[i]);
    for (size_t i = 0; i < t->n_cur; i++)
        if (t->cur[i].tracked) group_add(t, &t->groups[t->cur[i].group], &t->cur[i]);
    for (size_t i = 0; i < t->n_groups; i++)
        if (t->groups[i].present) drop_idle_tnames(&t->groups[i]);
    if (t->opt.remove_empty) remove_empty_groups(t);
}
