/* Unit tests for the processes collector. */
#include "proctest.h"

extern const nx_collector nx_collector_processes;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_processes);
    assert_true(nt_value(o, "node_processes_pids", NULL) == 3);
    assert_true(nt_value(o, "node_processes_threads", NULL) == 3);
    assert_true(nt_value(o, "node_processes_max_threads", NULL) == 7801);
    assert_true(nt_value(o, "node_processes_max_processes", NULL) == 123);
    assert_true(nt_value(o, "node_processes_state", "state=S") == 2);
    assert_int_equal(pt_samples(o, "node_processes_threads_state"), 0); /* no task dirs */
    nt_free(o);
}

static void test_threads_and_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nt_write(dir, "proc/sys/kernel/threads-max", "100\n");
    nt_write(dir, "proc/sys/kernel/pid_max", "50\n");
    const char *stat = "7 (a) b) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0\n";
    nt_write(dir, "proc/7/stat", stat);
    nt_write(dir, "proc/7/task/7/stat", stat);
    nt_write(dir, "proc/7/task/8/stat", "8 (a) D 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0\n");
    nt_write(dir, "proc/9/task/9/stat", "gone"); /* no proc/9/stat: vanished */
    nx_out *o = pt_run_ok(&nx_collector_processes);
    assert_true(nt_value(o, "node_processes_pids", NULL) == 1);
    assert_true(nt_value(o, "node_processes_threads", NULL) == 2);
    assert_true(nt_value(o, "node_processes_threads_state", "thread_state=R") == 1);
    assert_true(nt_value(o, "node_processes_threads_state", "thread_state=D") == 1);
    nt_free(o);
    nt_write(dir, "proc/7/stat", "7 (truncated");
    pt_run_fail(&nx_collector_processes);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_threads_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
