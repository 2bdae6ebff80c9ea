/*
 * test_procfs.c - the /proc parsers on good, malformed and truncated text
 * (every prefix of each sample is parsed: no crash, no read past the end),
 * the readers, and a whole exporter run over the live /proc.
 */
#include "unit/unit.h"

#include "process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char STAT[] =
    "626 (my (odd) name) S 615 615 3613 0 -1 4194304 98 0 7 0 250 130 0 0 20 0 3 0 303385 "
    "3133440 413 18446744073709551615 93975218225152 93975218245033 140735489180864 0 0 0 0 0 "
    "0 0 0 0 17 0 0 0 0 0 0\n";

static const char STATUS[] = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nPid:\t621\n"
                             "Uid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\n"
                             "VmRSS:\t    1724 kB\nVmSwap:\t      12 kB\nThreads:\t1\n"
                             "voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t2\n";

static const char IO[] = "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\n"
                         "write_bytes: 8192\ncancelled_write_bytes: 0\n";

static const char LIMITS[] =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            20000                40000                files     \n";

static const char SMAPS[] = "5581a1a6c000-7ffd1b7f1000 ---p 00000000 00:00 0   [rollup]\n"
                            "Rss:                1724 kB\nPss:                 300 kB\n"
                            "Pss_Anon:             96 kB\nSwap:                  0 kB\n"
                            "SwapPss:               4 kB\nLocked:                0 kB\n";

/* Parses every prefix of text from a heap copy of exactly that size, so
 * AddressSanitizer sees any read past the end; returns how many succeeded. */
typedef int (*parse_fn)(const char *buf, size_t len);

static size_t every_prefix(const char *text, parse_fn fn)
{
    size_t ok = 0, n = strlen(text);
    for (size_t len = 0; len <= n; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, text, len);
        ok += fn(len ? copy : NULL, len) == 0;
        free(copy);
    }
    return ok;
}

static int stat_fn(const char *b, size_t n)
{
    pe_stat s;
    return pe_parse_stat(b, n, &s);
}

static int status_fn(const char *b, size_t n)
{
    pe_status s;
    return pe_parse_status(b, n, &s);
}

static int io_fn(const char *b, size_t n)
{
    pe_io s;
    return pe_parse_io(b, n, &s);
}

static int limits_fn(const char *b, size_t n)
{
    uint64_t v;
    return pe_parse_limits_nofile(b, n, &v);
}

static int smaps_fn(const char *b, size_t n)
{
    uint64_t a, c;
    return pe_parse_smaps_rollup(b, n, &a, &c);
}

static void test_stat(void **state)
{
    pe_stat s;
    assert_int_equal(pe_parse_stat(STAT, strlen(STAT), &s), 0);
    assert_string_equal(s.comm, "my (odd) name");
    assert_int_equal(s.state, 'S');
    assert_int_equal(s.ppid, 615);
    assert_int_equal(s.minflt, 98);
    assert_int_equal(s.majflt, 7);
    assert_int_equal(s.utime, 250);
    assert_int_equal(s.stime, 130);
    assert_int_equal(s.num_threads, 3);
    assert_int_equal(s.starttime, 303385);
    assert_int_equal(s.vsize, 3133440);
    assert_int_equal(s.rss, 413);
    /* a prefix parses only once the rss field has begun */
    const char *rss = strstr(STAT, " 413 ");
    size_t ok = every_prefix(STAT, stat_fn);
    assert_int_equal(ok, strlen(STAT) - (size_t)(rss + 1 - STAT) + 0);
    static const char *const bad[] = {
        "",
        "626",
        "626 (x",
        "626 x) S 1",
        "(x) S 1 2 3",
        "626 (x) S 1 2 3 a 5 6 7 8 9",
        "626 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pe_parse_stat(bad[i], strlen(bad[i]), &s), -1);
    static const char huge[] = "1 (x) S 99999999999999 1 1 0 -1 0 1 0 1 0 1 1 0 0 20 0 -5 0 "
                               "99999999999999999999999 1 -3 0\n";
    assert_int_equal(pe_parse_stat(huge, strlen(huge), &s), 0);
    assert_int_equal(s.ppid, 0);
    assert_int_equal(s.starttime, INT64_MAX);
    assert_int_equal(s.num_threads, -5);
}

static void test_status(void **state)
{
    pe_status s;
    assert_int_equal(pe_parse_status(STATUS, strlen(STATUS), &s), 0);
    assert_int_equal(s.euid, 1001);
    assert_int_equal(s.vm_swap_kb, 12);
    assert_int_equal(s.ctx_voluntary, 5);
    assert_int_equal(s.ctx_nonvoluntary, 2);
    every_prefix(STATUS, status_fn);
    static const char *const bad[] = {"Name:\tx\n", "Uid:\t1\n", "Uid:\tx\ty\n",
                                      "Uid:\t1\t2\nVmSwap:\tlots kB\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pe_parse_status(bad[i], strlen(bad[i]), &s), -1);
}

static void test_io_limits_smaps(void **state)
{
    pe_io io;
    assert_int_equal(pe_parse_io(IO, strlen(IO), &io), 0);
    assert_int_equal(io.read_bytes, 4096);
    assert_int_equal(io.write_bytes, 8192);
    every_prefix(IO, io_fn);
    assert_int_equal(pe_parse_io("read_bytes: 1\n", 14, &io), -1);
    assert_int_equal(pe_parse_io("read_bytes: x\nwrite_bytes: 1\n", 29, &io), -1);
    uint64_t lim;
    assert_int_equal(pe_parse_limits_nofile(LIMITS, strlen(LIMITS), &lim), 0);
    assert_int_equal(lim, 20000);
    static const char unl[] = "Max open files            unlimited            unlimited   files\n";
    assert_int_equal(pe_parse_limits_nofile(unl, strlen(unl), &lim), 0);
    assert_true(lim == UINT64_MAX);
    every_prefix(LIMITS, limits_fn);
    uint64_t pss, swap;
    assert_int_equal(pe_parse_smaps_rollup(SMAPS, strlen(SMAPS), &pss, &swap), 0);
    assert_int_equal(pss, 300 * 1024);
    assert_int_equal(swap, 4 * 1024);
    every_prefix(SMAPS, smaps_fn);
}

static void test_counts_helpers(void **state)
{
    pe_counts a = {.cpu_user = 10, .read_bytes = 5}, b = {.cpu_user = 4, .read_bytes = 9}, d;
    pe_counts_delta(&a, &b, &d);
    assert_int_equal(d.cpu_user, 6);
    assert_int_equal(d.read_bytes, 0);
    pe_counts_add(&a, &d);
    assert_int_equal(a.cpu_user, 16);
    pe_states st = {0};
    const char letters[] = "RSDZTIX";
    for (size_t i = 0; letters[i]; i++)
        pe_states_add_letter(&st, letters[i]);
    assert_int_equal(st.running + st.sleeping + st.waiting + st.zombie, 4);
    assert_int_equal(st.other, 3);
}

static int count_pid(int pid, uint64_t ino, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_readers_live(void **state)
{
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    assert_true(procfd >= 0);
    char buf[4096];
    long n = pe_read_at(procfd, "self/stat", buf, sizeof buf);
    assert_true(n > 0);
    pe_stat st;
    assert_int_equal(pe_parse_stat(buf, (size_t)n, &st), 0);
    assert_int_equal(st.ppid, getppid());
    assert_int_equal(pe_read_at(procfd, "self/nonexistent", buf, sizeof buf), -1);
    assert_true(pe_count_fds_at(procfd, "self/fd") >= 3);
    assert_true(pe_count_dir_at(procfd, "self/task") >= 1);
    int pids = 0;
    assert_int_equal(pe_each_pid_at(procfd, ".", count_pid, &pids), 0);
    assert_true(pids >= 1);
    core_arena a = {0};
    size_t len;
    char *cmd = pe_read_all_at(procfd, "self/cmdline", &a, &len);
    assert_non_null(cmd);
    assert_true(len > 0);
    core_arena_destroy(&a);
    close(procfd);
}

/* Files kept open between reads (pe_keep_*): "<pid>/<file>" and
 * "<pid>/task/<tid>/<file>" stay open and read fresh, a kept fd/ counts fds as
 * they come and go, and a process that exited reads as gone, not as stale
 * data. */
static void test_kept_files(void **state)
{
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    assert_true(procfd >= 0);
    pe_keep_init(1000);
    char path[64], buf[4096];
    snprintf(path, sizeof path, "%d/stat", (int)getpid());
    for (int i = 0; i < 3; i++) {
        long n = pe_read_at(procfd, path, buf, sizeof buf);
        pe_stat st;
        assert_true(n > 0);
        assert_int_equal(pe_parse_stat(buf, (size_t)n, &st), 0);
        assert_int_equal(st.ppid, getppid());
        pe_keep_sweep();
    }
    snprintf(path, sizeof path, "%d/task/%d/status", (int)getpid(), (int)getpid());
    assert_true(pe_read_at(procfd, path, buf, sizeof buf) > 0);
    snprintf(path, sizeof path, "%d/fd", (int)getpid());
    long before = pe_count_fds_at(procfd, path);
    assert_true(before >= 3);
    int extra = open("/dev/null", O_RDONLY);
    assert_int_equal(pe_count_fds_at(procfd, path), before + 1); /* through the kept fd/ */
    close(extra);
    assert_int_equal(pe_count_fds_at(procfd, path), before);
    pe_keep_sweep();

    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(ready[1]);
        if (read(ready[0], &c, 1) < 0) _exit(1);
        _exit(0);
    }
    close(ready[0]);
    char stat_path[64], io_path[64];
    snprintf(stat_path, sizeof stat_path, "%d/stat", (int)child);
    snprintf(io_path, sizeof io_path, "%d/io", (int)child);
    assert_true(pe_read_at(procfd, stat_path, buf, sizeof buf) > 0);
    assert_true(pe_read_at(procfd, io_path, buf, sizeof buf) > 0);
    pe_keep_sweep();
    assert_true(pe_read_at(procfd, stat_path, buf, sizeof buf) > 0); /* from the kept fd */
    assert_int_equal(write(ready[1], "x", 1), 1);
    close(ready[1]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_int_equal(pe_read_at(procfd, stat_path, buf, sizeof buf), -1); /* gone */
    assert_int_equal(pe_read_at(procfd, io_path, buf, sizeof buf), -1);
    pe_keep_sweep();
    pe_keep_sweep(); /* entries not used in a scrape are dropped */
    close(procfd);
}

/* A whole scrape over the live /proc: our own process as a group. */
static int render_into(prom_emitter *e, void *userdata)
{
    pe_exporter_update(userdata);
    pe_exporter_emit(userdata, e);
    return 0;
}

static void test_exporter_live(void **state)
{
    char buf[4096];
    int fd = open("/proc/self/stat", O_RDONLY);
    long n = read(fd, buf, sizeof buf);
    close(fd);
    pe_stat self;
    assert_int_equal(pe_parse_stat(buf, (size_t)n, &self), 0);
    core_err err;
    pe_namer *namer = pe_namer_from_flags(self.comm, "", &err);
    assert_non_null(namer);
    pe_options opt = {.procfs = "/proc",
                      .children = true,
                      .threads = true,
                      .smaps = true,
                      .top_cpu = 3,
                      .top_memory = 3};
    pe_exporter x;
    assert_int_equal(pe_exporter_init(&x, &opt, namer, &err), 0);
    pe_exporter_update(&x);
    prom_registry *r = prom_registry_new();
    assert_int_equal(prom_collector_register(r, "t", NULL, 0, render_into, &x), 0);
    prom_buffer out = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(prom_render(r, PROM_FORMAT_TEXT, NULL, 0, &out), 0);
    char want[256];
    snprintf(want, sizeof want, "namedprocess_namegroup_num_procs{groupname=\"%s\"} 1\n",
             self.comm);
    assert_non_null(strstr(out.data, want));
    snprintf(want, sizeof want,
             "namedprocess_namegroup_memory_bytes{groupname=\"%s\",memtype=\"resident\"} ",
             self.comm);
    const char *mem = strstr(out.data, want);
    assert_non_null(mem);
    assert_true(atof(mem + strlen(want)) > 0);
    assert_non_null(strstr(out.data, "namedprocess_top_memory_resident_bytes{comm="));
    assert_non_null(strstr(out.data, "namedprocess_scrape_errors 0\n"));
    prom_buffer_free(&out);
    prom_registry_free(r);
    pe_exporter_destroy(&x);
    namer = pe_namer_from_flags("x", "", &err);
    opt.procfs = "/nonexistent-proc";
    assert_int_equal(pe_exporter_init(&x, &opt, namer, &err), -1);
    assert_string_equal(err.msg, "open /nonexistent-proc: No such file or directory");
    pe_namer_free(namer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_io_limits_smaps),
        cmocka_unit_test(test_counts_helpers),
        cmocka_unit_test(test_readers_live),
        cmocka_unit_test(test_kept_files),
        cmocka_unit_test(test_exporter_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
