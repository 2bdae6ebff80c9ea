/* Unit tests for the filesystem collector: a mountinfo written here, the
 * live machine, a statfs that hangs (a replaced statfs function), and which
 * filesystem types are stat'ed on the collector's own thread. */
#include "nodetest.h"
#include "sysfixture.h"

#include <pthread.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

extern const nx_collector nx_collector_filesystem;
extern int (*nx_filesystem_statfs)(const char *path, struct statfs *buf);

static void set_flags(const char *mp_exclude, int64_t timeout_ms)
{
    const nx_collector *c = &nx_collector_filesystem;
    for (size_t i = 0; i < c->n_flags; i++) {
        core_flag *f = &c->flags[i];
        f->given = false;
        if (f->kind == CORE_FLAG_STRING) *(const char **)f->dest = f->def;
        if (strcmp(f->name, "collector.filesystem.mount-timeout") == 0)
            *(int64_t *)f->dest = timeout_ms;
        if (strcmp(f->name, "collector.filesystem.stat-workers") == 0) *(int64_t *)f->dest = 4;
        if (mp_exclude != NULL &&
            strcmp(f->name, "collector.filesystem.mount-points-exclude") == 0) {
            *(const char **)f->dest = mp_exclude;
            f->given = true;
        }
    }
    core_err err;
    if (c->init(&err) < 0) fail_msg("init: %s", err.msg);
}

#define LBL(dev, mp, fs, err) "device=" dev ",mountpoint=" mp ",fstype=" fs ",device_error=" err

static void test_mountinfo(void **state)
{
    char dir[64], text[2048];
    st_tmpdir(dir, sizeof dir, "fs");
    nt_use_root(dir);
    set_flags(NULL, 5000);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_filesystem, &rc); /* no mountinfo at all */
    assert_int_equal(rc, -1);
    nt_free(o);
    snprintf(text, sizeof text,
             "20 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
             "21 20 0:5 / /proc rw - proc proc rw\n"
             "22 20 0:20 / %s/data ro,nosuid - tmpfs tmpfs rw\n"
             "23 20 8:2 / /with\\040space rw - xfs /dev/sda2 rw\n"
             "24 20 8:3 / /missing rw - xfs /dev/sda3 ro\n"
             "25 20 0:30 / /sys/kernel rw - sysfs sysfs rw\n",
             dir);
    nt_write(dir, "proc/self/mountinfo", text); /* no proc/1: falls back to self */
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/with space", dir);
    mkdir(path, 0755);
    o = nt_run(&nx_collector_filesystem);
    assert_true(nt_value(o, "node_filesystem_size_bytes", LBL("/dev/sda1", "/", "ext4", "")) > 0);
    assert_true(nt_value(o, "node_filesystem_readonly", LBL("tmpfs", "/data", "tmpfs", "")) == 1);
    assert_true(nt_value(o, "node_filesystem_device_error",
                         LBL("/dev/sda2", "/with space", "xfs", "")) == 0);
    assert_true(nt_value(o, "node_filesystem_device_error",
                         LBL("/dev/sda3", "/missing", "xfs", "No such file or directory")) == 1);
    assert_true(nt_value(o, "node_filesystem_readonly",
                         LBL("/dev/sda3", "/missing", "xfs", "No such file or directory")) == 1);
    assert_true(nt_value(o, "node_filesystem_mount_info",
                         "device=/dev/sda2,major=8,minor=2,mountpoint=/with space") == 1);
    assert_int_equal(nt_family(o, "node_filesystem_device_error")->n_samples,
                     4); /* not /proc, /sys */
    nt_free(o);
    set_flags("^/with", 5000); /* /proc and /sys/kernel stay out by fs type */
    o = nt_run(&nx_collector_filesystem);
    assert_int_equal(nt_family(o, "node_filesystem_device_error")->n_samples, 3);
    nt_free(o);
    nt_write(dir, "proc/1/mountinfo", "20 1 8:1 / /\n");
    o = nt_run_rc(&nx_collector_filesystem, &rc); /* malformed */
    assert_int_equal(rc, -1);
    nt_free(o);
    st_rmdir(dir);
}

static void test_live(void **state)
{
    nx_path.procfs = "/proc";
    nx_path.rootfs = "/";
    set_flags(NULL, 5000);
    nx_out *o = nt_run(&nx_collector_filesystem);
    const nx_fam *f = nt_family(o, "node_filesystem_size_bytes");
    bool root = false;
    for (size_t i = 0; f != NULL && i < f->n_samples; i++)
        root |= strcmp(f->samples[i].values[1], "/") == 0 && f->samples[i].value > 0;
    assert_true(root);
    nt_free(o);
}

static int calls;

static int slow_statfs(const char *path, struct statfs *buf)
{
    __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    if (strstr(path, "slow") != NULL && __atomic_load_n(&calls, __ATOMIC_SEQ_CST) == 1)
        usleep(600 * 1000);
    return statfs(path, buf);
}

static void test_hanging_mount(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "fs");
    nt_use_root(dir);
    set_flags(NULL, 150);
    nt_write(dir, "proc/1/mountinfo", "30 1 0:99 / /slow rw - nfs4 srv:/export rw\n");
    char path[128];
    snprintf(path, sizeof path, "%s/slow", dir);
    mkdir(path, 0755);
    nx_filesystem_statfs = slow_statfs;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nx_out *o = nt_run(&nx_collector_filesystem);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took < 0.5); /* gave up after 150ms, not 600ms */
    assert_true(nt_value(o, "node_filesystem_device_error",
                         LBL("srv:/export", "/slow", "nfs4", "mountpoint timeout")) == 1);
    assert_null(nt_family(o, "node_filesystem_size_bytes"));
    nt_free(o);
    o = nt_run(&nx_collector_filesystem); /* still stuck: no statfs at all */
    assert_int_equal(__atomic_load_n(&calls, __ATOMIC_SEQ_CST), 1);
    assert_true(nt_value(o, "node_filesystem_device_error",
                         LBL("srv:/export", "/slow", "nfs4", "mountpoint timeout")) == 1);
    nt_free(o);
    usleep(700 * 1000); /* the abandoned statfs returns: the mount recovers */
    o = nt_run(&nx_collector_filesystem);
    assert_int_equal(__atomic_load_n(&calls, __ATOMIC_SEQ_CST), 2);
    assert_true(
        nt_value(o, "node_filesystem_device_error", LBL("srv:/export", "/slow", "nfs4", "")) == 0);
    nt_free(o);
    nx_filesystem_statfs = statfs;
    st_rmdir(dir);
}

/* Records the threads statfs ran on, by mount point. */
static pthread_t ran_on[3];

static int thread_statfs(const char *path, struct statfs *buf)
{
    static const char *const names[] = {"/disk", "/mem", "/net"};
    for (int i = 0; i < 3; i++)
        if (strstr(path, names[i]) != NULL) ran_on[i] = pthread_self();
    return statfs(path, buf);
}

/* ext4 and tmpfs answer statfs from memory: the collector calls it itself;
 * a network filesystem's statfs runs on a helper, which can be given up on. */
static void test_inline_types(void **state)
{
    char dir[64], text[512], path[128];
    st_tmpdir(dir, sizeof dir, "fs");
    nt_use_root(dir);
    set_flags(NULL, 5000);
    snprintf(text, sizeof text,
             "40 1 8:1 / /disk rw - ext4 /dev/sda1 rw\n"
             "41 1 0:20 / /mem rw - tmpfs tmpfs rw\n"
             "42 1 0:99 / /net rw - nfs4 srv:/export rw\n");
    nt_write(dir, "proc/1/mountinfo", text);
    const char *const mps[] = {"disk", "mem", "net"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mps[i]);
        mkdir(path, 0755);
    }
    memset(ran_on, 0, sizeof ran_on);
    nx_filesystem_statfs = thread_statfs;
    nx_out *o = nt_run(&nx_collector_filesystem);
    nx_filesystem_statfs = statfs;
    assert_true(pthread_equal(ran_on[0], pthread_self()));
    assert_true(pthread_equal(ran_on[1], pthread_self()));
    assert_false(pthread_equal(ran_on[2], pthread_self()));
    assert_true(nt_value(o, "node_filesystem_size_bytes", LBL("/dev/sda1", "/disk", "ext4", "")) >
                0);
    assert_true(nt_value(o, "node_filesystem_size_bytes", LBL("tmpfs", "/mem", "tmpfs", "")) > 0);
    assert_true(nt_value(o, "node_filesystem_size_bytes", LBL("srv:/export", "/net", "nfs4", "")) >
                0);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_hanging_mount),
        cmocka_unit_test(test_inline_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
