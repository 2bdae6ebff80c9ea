/* Unit tests for libprom's process.c: the process collector's families, their
 * help and types, values checked against what the system says, and a child of
 * fork() that reports its own start time and CPU, not its parent's. */
#include "unit/unit.h"

#include <prom/prom.h>

#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static prom_registry *reg;
static prom_buffer buf;
static char text[1 << 16];

static int setup(void **state)
{
    reg = prom_registry_new();
    return reg == NULL || prom_process_collector_register(reg) != 0;
}

static int teardown(void **state)
{
    prom_registry_free(reg);
    return 0;
}

static int teardown_all(void **state)
{
    prom_buffer_free(&buf);
    return 0;
}

static const char *render(void)
{
    assert_int_equal(prom_render(reg, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    assert_true(buf.len < sizeof text);
    memcpy(text, buf.data, buf.len);
    text[buf.len] = '\0';
    return text;
}

/* The value of the sample line "<name> <value>"; fails the test if absent. */
static double sample(const char *exposition, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = exposition; p != NULL && *p != '\0'; p = strchr(p, '\n'), p += p != NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    }
    fail_msg("no sample %s in:\n%s", name, exposition);
    return NAN;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_families_help_and_types(void **state)
{
    static const char *const expected[][3] = {
        {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         "counter"},
        {"process_max_fds", "Maximum number of open file descriptors.", "gauge"},
        {"process_network_receive_bytes_total",
         "Number of bytes received by the process over the network.", "counter"},
        {"process_network_transmit_bytes_total",
         "Number of bytes sent by the process over the network.", "counter"},
        {"process_open_fds", "Number of open file descriptors.", "gauge"},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge"},
        {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
         "gauge"},
        {"process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge"},
        {"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
         "gauge"},
    };
    const char *out = render();
    const char *last = out;
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        char line[256];
        snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", expected[i][0], expected[i][1],
                 expected[i][0], expected[i][2]);
        const char *at = strstr(out, line);
        if (at == NULL) fail_msg("missing:\n%s\nin:\n%s", line, out);
        assert_true(at >= last); /* in name order */
        last = at;
        sample(out, expected[i][0]);
    }
}

static void test_plausible_values(void **state)
{
    const char *out = render();
    double t = now();
    assert_true(sample(out, "process_cpu_seconds_total") >= 0);
    assert_true(sample(out, "process_resident_memory_bytes") > 0);
    assert_true(sample(out, "process_virtual_memory_bytes") >=
                sample(out, "process_resident_memory_bytes"));
    double start = sample(out, "process_start_time_seconds");
    assert_true(start > t - 3600 && start <= t + 1);
    double fds = sample(out, "process_open_fds");
    assert_true(fds >= 3);
    assert_true(sample(out, "process_max_fds") >= fds);
    assert_true(sample(out, "process_network_receive_bytes_total") >= 0);
    assert_true(sample(out, "process_network_transmit_bytes_total") >= 0);
}

static void test_open_fds_follow(void **state)
{
    double before = sample(render(), "process_open_fds");
    int fds[10];
    for (int i = 0; i < 10; i++)
        assert_true((fds[i] = open("/dev/null", O_RDONLY)) >= 0);
    double during = sample(render(), "process_open_fds");
    for (int i = 0; i < 10; i++)
        close(fds[i]);
    assert_true(during == before + 10);
    assert_true(sample(render(), "process_open_fds") == before);
}

/* The limits as client_golang reports them: the soft limit, unlimited as
 * the largest uint64 converted to a double. */
static void test_limits(void **state)
{
    struct rlimit saved, rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rl = saved;
    rl.rlim_cur = 200 < saved.rlim_max ? 200 : saved.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    double max_fds = sample(render(), "process_max_fds");
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_true(max_fds == (double)rl.rlim_cur);

    assert_int_equal(getrlimit(RLIMIT_AS, &rl), 0);
    const char *out = render();
    if (rl.rlim_cur == RLIM_INFINITY) {
        assert_non_null(strstr(out, "\nprocess_virtual_memory_max_bytes 1.8446744073709552e+19\n"));
    } else {
        assert_true(sample(out, "process_virtual_memory_max_bytes") == (double)rl.rlim_cur);
    }
}

static double cpu_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spins until the process has used 0.1 s more CPU (however loaded the machine). */
static void test_cpu_time_grows(void **state)
{
    double before = sample(render(), "process_cpu_seconds_total");
    volatile unsigned long x = 0;
    double until = cpu_time() + 0.1;
    while (cpu_time() < until)
        x++;
    double after = sample(render(), "process_cpu_seconds_total");
    assert_true(after >= before + 0.05);
}

/* What the collector keeps between scrapes (the open stat file, the start
 * time) is the parent's in a child of fork(): the child makes its own. */
static void test_fork(void **state)
{
    double parent_start = sample(render(), "process_start_time_seconds");
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL); /* the child starts 5 clock ticks later at least */
    volatile unsigned long x = 0;
    double until = cpu_time() + 0.05;
    while (cpu_time() < until) /* CPU the child does not inherit in its counters */
        x++;
    double parent_cpu = sample(render(), "process_cpu_seconds_total");
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        const char *out = render();
        double v[2] = {sample(out, "process_start_time_seconds"),
                       sample(out, "process_cpu_seconds_total")};
        _exit(write(p[1], v, sizeof v) == sizeof v ? 0 : 1);
    }
    close(p[1]);
    double v[2];
    assert_int_equal(read(p[0], v, sizeof v), sizeof v);
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(v[0] >= parent_start + 0.04);
    assert_true(v[1] < parent_cpu);
    assert_true(sample(render(), "process_start_time_seconds") == parent_start);
}

static void test_register_twice_and_unregister(void **state)
{
    assert_int_equal(prom_process_collector_register(reg), PROM_EEXIST);
    assert_int_equal(prom_unregister(reg, "process"), 0);
    assert_null(strstr(render(), "process_"));
    assert_int_equal(prom_process_collector_register(reg), 0);
    assert_non_null(strstr(render(), "process_open_fds"));
}

static void test_default_registry_has_it(void **state)
{
    assert_int_equal(prom_render(NULL, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    assert_true(buf.len > 0);
    assert_non_null(strstr(buf.data, "\nprocess_resident_memory_bytes "));
    prom_registry_free(prom_registry_default());
}

static void test_protobuf_and_openmetrics(void **state)
{
    assert_int_equal(prom_render(reg, PROM_FORMAT_PROTOBUF, NULL, 0, &buf), 0);
    assert_true(buf.len > 0);
    assert_int_equal(prom_render(reg, PROM_FORMAT_OPENMETRICS, NULL, 0, &buf), 0);
    assert_non_null(strstr(buf.data, "# TYPE process_cpu_seconds counter\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_families_help_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plausible_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_fds_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_time_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_twice_and_unregister, setup, teardown),
        cmocka_unit_test(test_default_registry_has_it),
        cmocka_unit_test_setup_teardown(test_protobuf_and_openmetrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
