/*
 * test_scrape.c - scrapes over a procfs written here: what a tracked process
 * and its threads report, and which files a scrape leaves unread for a task
 * that has not run since the scrape before (same context switches and a
 * sleeping state: its wchan, and a single-threaded process's io, stay as they
 * were; any other state or a moved count reads them again).
 */
#define _GNU_SOURCE /* nftw */
#include "unit/unit.h"

#include "process.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(const char *rel, const char *fmt, ...)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w"); /* same inode: a file kept open sees the new text */
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", path, strerror(errno));
}

/* A task's files under `base` ("100" or "100/task/101"). */
static void task(const char *base, const char *comm, char state, int threads, int vol, int nonvol,
                 const char *wchan, int read_bytes)
{
    char rel[128];
    snprintf(rel, sizeof rel, "%s/stat", base);
    put(rel,
        "%d (%s) %c 1 1 1 0 -1 0 10 0 0 0 50 20 0 0 20 0 %d 0 1000 4096000 100 0 0 0 0 0 0 0 0 0 "
        "0 0 0 17 0 0 0 0 0 0\n",
        atoi(base), comm, state, threads);
    snprintf(rel, sizeof rel, "%s/status", base);
    put(rel,
        "Name:\t%s\nUid:\t0\t0\t0\t0\nVmSwap:\t       0 kB\nvoluntary_ctxt_switches:\t%d\n"
        "nonvoluntary_ctxt_switches:\t%d\n",
        comm, vol, nonvol);
    snprintf(rel, sizeof rel, "%s/wchan", base);
    put(rel, "%s", wchan);
    snprintf(rel, sizeof rel, "%s/io", base);
    put(rel, "rchar: 0\nwchar: 0\nread_bytes: %d\nwrite_bytes: 0\n", read_bytes);
}

static pe_exporter x;

/* A procfs with one process, `pid`.  (The files procfs.c keeps open are
 * keyed by pid for every exporter of the program: each test has its own.) */
static void setup_exporter(int pid)
{
    snprintf(root, sizeof root, "/tmp/prom-scrape-XXXXXX");
    if (mkdtemp(root) == NULL) fail_msg("mkdtemp: %s", strerror(errno));
    put("stat", "cpu  1 2 3 4\nbtime 1700000000\n");
    char rel[64];
    snprintf(rel, sizeof rel, "%d", pid);
    dir(rel);
    snprintf(rel, sizeof rel, "%d/fd", pid);
    dir(rel);
    snprintf(rel, sizeof rel, "%d/limits", pid);
    put(rel, "Limit                     Soft Limit           Hard Limit           "
             "Units     \nMax open files            1024                 4096      "
             "           files     \n");
    core_err err;
    pe_namer *namer = pe_namer_from_flags("sleepy", "", &err);
    assert_non_null(namer);
    pe_options opt = {.procfs = root, .children = true, .threads = true};
    assert_int_equal(pe_exporter_init(&x, &opt, namer, &err), 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void teardown_exporter(void)
{
    pe_exporter_destroy(&x);
    nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const pe_proc *proc_of(int pid)
{
    for (size_t i = 0; i < x.tracker.n_cur; i++)
        if (x.tracker.cur[i].pid == pid) return &x.tracker.cur[i];
    fail_msg("pid %d not tracked", pid);
    return NULL;
}

static const pe_proc *proc_100(void)
{
    return proc_of(100);
}

static void test_single_threaded(void **state)
{
    setup_exporter(100);
    task("100", "sleepy", 'S', 1, 5, 2, "do_nanosleep", 4096);
    pe_exporter_update(&x); /* seen: tracked from this scrape on */
    const pe_proc *p = proc_100();
    assert_string_equal(p->now.wchan, "do_nanosleep");
    assert_int_equal(p->now.counts.read_bytes, 4096);
    assert_int_equal(p->now.own_voluntary, 5);

    /* not run since: the files are not read again */
    put("100/wchan", "pipe_read");
    put("100/io", "read_bytes: 8192\nwrite_bytes: 0\n");
    pe_exporter_update(&x);
    p = proc_100();
    assert_string_equal(p->now.wchan, "do_nanosleep");
    assert_int_equal(p->now.counts.read_bytes, 4096);

    /* a voluntary switch: it ran */
    task("100", "sleepy", 'S', 1, 6, 2, "pipe_read", 8192);
    pe_exporter_update(&x);
    p = proc_100();
    assert_string_equal(p->now.wchan, "pipe_read");
    assert_int_equal(p->now.counts.read_bytes, 8192);

    /* an involuntary one */
    task("100", "sleepy", 'S', 1, 6, 3, "ep_poll", 9000);
    pe_exporter_update(&x);
    assert_string_equal(proc_100()->now.wchan, "ep_poll");
    assert_int_equal(proc_100()->now.counts.read_bytes, 9000);

    /* running with the same counts (woken, not yet switched out): read */
    task("100", "sleepy", 'R', 1, 6, 3, "0", 9100);
    pe_exporter_update(&x);
    assert_string_equal(proc_100()->now.wchan, "");
    assert_int_equal(proc_100()->now.counts.read_bytes, 9100);

    /* last seen running (no wchan to keep): read even when asleep now */
    task("100", "sleepy", 'S', 1, 6, 3, "futex_wait", 9100);
    pe_exporter_update(&x);
    assert_string_equal(proc_100()->now.wchan, "futex_wait");

    /* D and I are sleeping states too; Z is not */
    task("100", "sleepy", 'D', 1, 6, 3, "io_schedule", 9100);
    pe_exporter_update(&x);
    assert_string_equal(proc_100()->now.wchan, "futex_wait");
    task("100", "sleepy", 'Z', 1, 6, 3, "0", 9100);
    pe_exporter_update(&x);
    assert_string_equal(proc_100()->now.wchan, "");
    teardown_exporter();
}

/* Two threads: each keeps its own wchan and io while it has not run; the
 * process's io (the sum over its threads) is read at every scrape. */
static void test_threads(void **state)
{
    setup_exporter(200);
    dir("200/task");
    dir("200/task/200");
    dir("200/task/201");
    task("200", "sleepy", 'S', 2, 5, 2, "do_nanosleep", 100);
    task("200/task/200", "sleepy", 'S', 2, 5, 2, "do_nanosleep", 40);
    task("200/task/201", "worker", 'S', 2, 7, 1, "futex_wait", 60);
    pe_exporter_update(&x);
    const pe_proc *p = proc_of(200);
    assert_int_equal(p->n_threads, 2);
    assert_int_equal(p->now.counts.read_bytes, 100);

    put("200/io", "read_bytes: 150\nwrite_bytes: 0\n");
    put("200/wchan", "pipe_read");
    put("200/task/201/wchan", "pipe_read");
    put("200/task/201/io", "read_bytes: 110\nwrite_bytes: 0\n");
    task("200/task/200", "sleepy", 'S', 2, 5, 2, "pipe_read", 90); /* same counts */
    pe_exporter_update(&x);
    p = proc_of(200);
    assert_int_equal(p->now.counts.read_bytes, 150); /* whole-process io: read */
    assert_string_equal(p->now.wchan, "do_nanosleep");
    const pe_thread *t200 = pe_proc_thread(p, 200, 1000), *t201 = pe_proc_thread(p, 201, 1000);
    assert_non_null(t200);
    assert_non_null(t201);
    assert_string_equal(t200->wchan, "do_nanosleep");
    assert_int_equal(t200->total.read_bytes, 40);
    assert_string_equal(t201->wchan, "futex_wait");
    assert_int_equal(t201->total.read_bytes, 60);

    task("200/task/201", "worker", 'S', 2, 8, 1, "ep_poll", 110); /* the worker ran */
    pe_exporter_update(&x);
    p = proc_of(200);
    t201 = pe_proc_thread(p, 201, 1000);
    assert_string_equal(t201->wchan, "ep_poll");
    assert_int_equal(t201->total.read_bytes, 110);
    assert_string_equal(pe_proc_thread(p, 200, 1000)->wchan, "do_nanosleep");
    teardown_exporter();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_threaded),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
