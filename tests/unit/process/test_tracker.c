/*
 * test_tracker.c - the tracker fed with synthetic process snapshots: counters
 * that never go down, new and exiting processes, pid reuse, children, threads,
 * -remove-empty-groups, and the top lists.
 */
#include "unit/unit.h"

#include "process.h"

/* One process of a synthetic snapshot. */
typedef struct snap {
    int pid, ppid;
    uint64_t starttime; /* ticks after boot; start_time = starttime / 100 */
    const char *comm;
    uint64_t utime, read_bytes;
    int n_threads; /* 0: single-threaded */
    uint64_t thread_utime[4];
} snap;

typedef struct fixture {
    pe_namer *namer;
    pe_tracker t;
    core_arena arena;
} fixture;

static void sample_of(const snap *p, pe_sample *s, pe_thread_sample *th)
{
    memset(s, 0, sizeof *s);
    s->counts.cpu_user = p->utime;
    s->counts.read_bytes = p->read_bytes;
    s->mem.resident = 4096;
    s->open_fds = 3;
    s->fd_limit = 1024;
    s->num_threads = p->n_threads ? (uint64_t)p->n_threads : 1;
    s->states.sleeping = 1;
    for (int i = 0; i < p->n_threads; i++) {
        memset(&th[i], 0, sizeof th[i]);
        th[i].tid = p->pid + i;
        th[i].starttime = p->starttime;
        snprintf(th[i].name, sizeof th[i].name, "%s", i == 0 ? p->comm : "worker");
        th[i].counts.cpu_user = p->thread_utime[i];
        th[i].states.sleeping = 1;
    }
    s->threads = p->n_threads >= 2 ? th : NULL;
    s->n_threads = p->n_threads >= 2 ? (size_t)p->n_threads : 0;
}

static void ident_of(const snap *p, pe_ident *id)
{
    memset(id, 0, sizeof *id);
    id->pid = p->pid;
    id->ppid = p->ppid;
    id->starttime = p->starttime;
    id->start_time = (double)p->starttime / 100;
    id->comm = p->comm;
    id->cmdline = p->comm;
    id->cmdline_len = strlen(p->comm) + 1;
}

/* One scrape over the snapshot at time `now` (seconds). */
static void cycle(fixture *f, const snap *v, size_t n, double now)
{
    pe_thread_sample th[4];
    pe_sample s;
    core_arena_reset(&f->arena);
    pe_tracker_begin(&f->t, now);
    for (size_t i = 0; i < n; i++) {
        switch (pe_tracker_see(&f->t, v[i].pid, v[i].starttime, 0)) {
        case PE_TRACKED:
            sample_of(&v[i], &s, th);
            pe_tracker_update(&f->t, &s);
            break;
        case PE_NEW: {
            pe_ident id;
            ident_of(&v[i], &id);
            pe_tracker_offer(&f->t, &id);
            break;
        }
        case PE_IGNORED: break;
        }
    }
    size_t k = pe_tracker_resolve(&f->t);
    for (size_t i = 0; i < k; i++) {
        int pid = pe_tracker_new_pid(&f->t, i);
        for (size_t j = 0; j < n; j++)
            if (v[j].pid == pid) {
                sample_of(&v[j], &s, th);
                pe_tracker_add(&f->t, i, &s);
            }
    }
    pe_tracker_end(&f->t);
}

static const pe_group *group(fixture *f, const char *name)
{
    for (size_t i = 0; i < f->t.n_groups; i++)
        if (strcmp(f->t.groups[i].name, name) == 0) return &f->t.groups[i];
    return NULL;
}

static fixture *setup_with(const char *yaml, bool children, bool remove_empty)
{
    fixture *f = calloc(1, sizeof *f);
    core_err err;
    f->namer = pe_namer_parse("t.yml", yaml, strlen(yaml), &err);
    assert_non_null(f->namer);
    pe_tracker_opts o = {.children = children, .remove_empty = remove_empty};
    pe_tracker_init(&f->t, f->namer, &o, &f->arena);
    return f;
}

static void teardown_fixture(fixture *f)
{
    pe_tracker_destroy(&f->t);
    pe_namer_free(f->namer);
    core_arena_destroy(&f->arena);
    free(f);
}

static const char *const CFG = "process_names:\n"
                               "  - name: \"{{.Comm}}\"\n"
                               "    comm: [app, db]\n";

static void test_counters_never_go_down(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 100, 1000, 0, {0}},
                {11, 1, 600, "app", 200, 2000, 0, {0}},
                {12, 1, 700, "db", 50, 0, 0, {0}}};
    cycle(f, v, 3, 100); /* first cycle: processes running before count from here */
    const pe_group *g = group(f, "app");
    assert_non_null(g);
    assert_int_equal(g->procs, 2);
    assert_int_equal(g->counts.cpu_user, 0);
    v[0].utime = 150;
    v[0].read_bytes = 1500;
    v[1].utime = 260;
    cycle(f, v, 3, 110);
    g = group(f, "app");
    assert_int_equal(g->counts.cpu_user, 50 + 60);
    assert_int_equal(g->counts.read_bytes, 500);
    /* pid 11 exits: its share stays in the group's totals */
    snap w[] = {v[0], v[2]};
    w[0].utime = 170;
    cycle(f, w, 2, 120);
    g = group(f, "app");
    assert_int_equal(g->procs, 1);
    assert_int_equal(g->counts.cpu_user, 130);
    /* a counter that moves backwards adds nothing */
    w[0].utime = 10;
    cycle(f, w, 2, 130);
    assert_int_equal(group(f, "app")->counts.cpu_user, 130);
    w[0].utime = 15;
    cycle(f, w, 2, 140);
    assert_int_equal(group(f, "app")->counts.cpu_user, 135);
    teardown_fixture(f);
}

static void test_new_process_counts_fully(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 100, 0, 0, {0}}, {20, 1, 0, "app", 30, 0, 0, {0}}};
    cycle(f, v, 1, 100);
    v[1].starttime = 10500; /* started at 105 s, after the first cycle */
    cycle(f, v, 2, 110);
    assert_int_equal(group(f, "app")->procs, 2);
    assert_int_equal(group(f, "app")->counts.cpu_user, 30);
    teardown_fixture(f);
}

static void test_pid_reuse(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 100, 0, 0, {0}}};
    cycle(f, v, 1, 100);
    v[0].utime = 120;
    cycle(f, v, 1, 110);
    assert_int_equal(group(f, "app")->counts.cpu_user, 20);
    /* same pid, new start time, lower counters: a new process, nothing lost */
    snap w[] = {{10, 1, 11500, "app", 5, 0, 0, {0}}};
    cycle(f, w, 1, 120);
    assert_int_equal(group(f, "app")->counts.cpu_user, 25);
    teardown_fixture(f);
}

static void test_children(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 0, 0, 0, {0}},     {11, 10, 510, "sh", 0, 0, 0, {0}},
                {12, 11, 520, "worker", 0, 0, 0, {0}}, {13, 1, 530, "cron", 0, 0, 0, {0}},
                {14, 13, 540, "job", 0, 0, 0, {0}},    {15, 14, 550, "db", 0, 0, 0, {0}}};
    cycle(f, v, 6, 100);
    assert_int_equal(group(f, "app")->procs, 3); /* app, its child and grandchild */
    assert_int_equal(group(f, "db")->procs, 1);  /* a group of its own wins */
    /* a child born later joins through its known tracked parent */
    snap w[7];
    memcpy(w, v, sizeof v);
    w[6] = (snap){16, 12, 11000, "grep", 0, 0, 0, {0}};
    cycle(f, w, 7, 110);
    assert_int_equal(group(f, "app")->procs, 4);
    teardown_fixture(f);
    f = setup_with(CFG, false, false);
    cycle(f, v, 6, 100);
    assert_int_equal(group(f, "app")->procs, 1);
    teardown_fixture(f);
}

static void test_parent_cycle_is_safe(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{20, 21, 500, "x", 0, 0, 0, {0}}, {21, 20, 500, "y", 0, 0, 0, {0}}};
    cycle(f, v, 2, 100);
    assert_int_equal(f->t.n_groups, 0);
    teardown_fixture(f);
}

static void test_threads(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 100, 0, 3, {10, 20, 30}}};
    cycle(f, v, 1, 100);
    const pe_group *g = group(f, "app");
    assert_int_equal(g->n_tnames, 2);        /* "app" and "worker" */
    assert_int_equal(g->states.sleeping, 1); /* thread states are added by the scrape */
    v[0].thread_utime[1] = 25;
    v[0].thread_utime[2] = 33;
    cycle(f, v, 1, 110);
    g = group(f, "app");
    for (size_t i = 0; i < g->n_tnames; i++)
        if (strcmp(g->tnames[i].name, "worker") == 0) {
            assert_int_equal(g->tnames[i].count, 2);
            assert_int_equal(g->tnames[i].counts.cpu_user, 8);
        }
    v[0].n_threads = 0;
    cycle(f, v, 1, 120);
    assert_int_equal(group(f, "app")->n_tnames, 0);
    teardown_fixture(f);
}

static void test_empty_groups(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    snap v[] = {{10, 1, 500, "app", 0, 0, 0, {0}}, {12, 1, 700, "db", 0, 0, 0, {0}}};
    cycle(f, v, 2, 100);
    v[0].utime = 40;
    cycle(f, v, 2, 110);
    cycle(f, v + 1, 1, 120);
    const pe_group *g = group(f, "app");
    assert_non_null(g); /* kept with its counters, gauges at zero */
    assert_false(g->present);
    assert_int_equal(g->procs, 0);
    assert_int_equal(g->counts.cpu_user, 40);
    teardown_fixture(f);
    f = setup_with(CFG, true, true);
    cycle(f, v, 2, 100);
    cycle(f, v + 1, 1, 110);
    assert_null(group(f, "app"));
    assert_int_equal(group(f, "db")->procs, 1);
    v[1].utime = 7;
    cycle(f, v + 1, 1, 120);
    assert_int_equal(group(f, "db")->counts.cpu_user, 7);
    teardown_fixture(f);
}

static void test_ignored_skip_by_inode(void **state)
{
    fixture *f = setup_with(CFG, true, false);
    pe_tracker_begin(&f->t, 100);
    assert_false(pe_tracker_skip(&f->t, 30, 77));
    assert_int_equal(pe_tracker_see(&f->t, 30, 500, 77), PE_NEW);
    pe_ident id = {.pid = 30, .ppid = 1, .starttime = 500, .comm = "other", .ino = 77};
    pe_tracker_offer(&f->t, &id);
    assert_int_equal(pe_tracker_resolve(&f->t), 0);
    pe_tracker_end(&f->t);
    pe_tracker_begin(&f->t, 110);
    assert_true(pe_tracker_skip(&f->t, 30, 77));
    assert_false(pe_tracker_skip(&f->t, 30, 77)); /* carried once */
    pe_tracker_end(&f->t);
    pe_tracker_begin(&f->t, 120);
    assert_false(pe_tracker_skip(&f->t, 30, 78)); /* another inode: read its stat */
    assert_int_equal(pe_tracker_see(&f->t, 30, 500, 78), PE_IGNORED);
    pe_tracker_end(&f->t);
    teardown_fixture(f);
}

static void test_top(void **state)
{
    pe_top t = {0};
    pe_stat a = {.comm = "a", .utime = 100, .rss = 10, .starttime = 100};
    pe_stat b = {.comm = "b", .utime = 100, .rss = 30, .starttime = 100};
    pe_top_begin(&t, 1000);
    pe_top_observe(&t, 1, &a, 50, 4096);
    pe_top_observe(&t, 2, &b, 50, 4096);
    pe_top_end(&t);
    const pe_top_entry *out[2];
    assert_int_equal(pe_top_cpu(&t, 2, out), 0); /* no rate on the first scrape */
    assert_int_equal(pe_top_memory(&t, 2, out), 2);
    assert_int_equal(out[0]->pid, 2);
    assert_int_equal(out[0]->rss_bytes, 30 * 4096);
    a.utime = 300; /* 2 s of CPU in 10 s */
    b.utime = 150;
    pe_stat c = {.comm = "c", .utime = 50, .starttime = 200};
    pe_top_begin(&t, 1010);
    pe_top_observe(&t, 2, &b, 50, 4096);
    pe_top_observe(&t, 1, &a, 50, 4096);
    pe_top_observe(&t, 3, &c, 1005, 4096);
    pe_top_end(&t);
    assert_int_equal(pe_top_cpu(&t, 2, out), 2);
    assert_int_equal(out[0]->pid, 1);
    assert_true(out[0]->cpu_rate > 0.199 && out[0]->cpu_rate < 0.201);
    assert_int_equal(out[1]->pid, 2);
    assert_int_equal(pe_top_cpu(&t, 5, (const pe_top_entry *[5]){0}), 3);
    pe_top_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_never_go_down),
        cmocka_unit_test(test_new_process_counts_fully),
        cmocka_unit_test(test_pid_reuse),
        cmocka_unit_test(test_children),
        cmocka_unit_test(test_parent_cycle_is_safe),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_empty_groups),
        cmocka_unit_test(test_ignored_skip_by_inode),
        cmocka_unit_test(test_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
