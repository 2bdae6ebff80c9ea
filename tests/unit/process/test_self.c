/* Unit tests for self.c: the exporter's process_* families against libprom's
 * process collector, which they stand in for: the same text for the families
 * whose values do not move between two reads, the same names, help and types
 * for the others, and an open-fd count that follows descriptors opened. */
#include "unit/unit.h"

#include "process.h"

#include <fcntl.h>
#include <unistd.h>

static int collect_self(prom_emitter *e, void *userdata)
{
    return pe_self_collect(e, userdata);
}

static char *render(bool ours, const pe_exporter *x)
{
    prom_registry *r = prom_registry_new();
    if (ours)
        assert_int_equal(prom_collector_register(r, "self", NULL, 0, collect_self, (void *)x), 0);
    else
        assert_int_equal(prom_process_collector_register(r), 0);
    prom_buffer buf = {0};
    assert_int_equal(prom_render(r, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    char *text = strndup(buf.data, buf.len);
    prom_buffer_free(&buf);
    prom_registry_free(r);
    return text;
}

/* The line of the text that starts with `prefix`, or "" (into out). */
static const char *line_of(const char *text, const char *prefix, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0 && len < cap) {
            memcpy(out, p, len);
            out[len] = '\0';
            return out;
        }
        p = nl ? nl + 1 : NULL;
    }
    return out;
}

static double value_of(const char *text, const char *name)
{
    char prefix[128], line[512];
    snprintf(prefix, sizeof prefix, "%s ", name);
    line_of(text, prefix, line, sizeof line);
    assert_true(line[0] != '\0');
    return strtod(line + strlen(prefix), NULL);
}

static pe_exporter exporter_with_btime(void)
{
    pe_exporter x;
    memset(&x, 0, sizeof x);
    FILE *f = fopen("/proc/stat", "r");
    char line[4096];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "btime ", 6) == 0) x.boot_time = strtoull(line + 6, NULL, 10);
    if (f != NULL) fclose(f);
    assert_true(x.boot_time > 0);
    return x;
}

static void test_same_as_libprom(void **state)
{
    pe_exporter x = exporter_with_btime();
    char *want = render(false, &x), *got = render(true, &x);
    static const char *const names[] = {"process_cpu_seconds_total",
                                        "process_open_fds",
                                        "process_max_fds",
                                        "process_virtual_memory_bytes",
                                        "process_virtual_memory_max_bytes",
                                        "process_resident_memory_bytes",
                                        "process_start_time_seconds",
                                        "process_network_receive_bytes_total",
                                        "process_network_transmit_bytes_total"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char prefix[128], a[512], b[512];
        snprintf(prefix, sizeof prefix, "# HELP %s ", names[i]);
        assert_string_equal(line_of(got, prefix, a, sizeof a), line_of(want, prefix, b, sizeof b));
        assert_true(a[0] != '\0');
        snprintf(prefix, sizeof prefix, "# TYPE %s ", names[i]);
        assert_string_equal(line_of(got, prefix, a, sizeof a), line_of(want, prefix, b, sizeof b));
    }
    assert_true(value_of(got, "process_start_time_seconds") ==
                value_of(want, "process_start_time_seconds"));
    assert_true(value_of(got, "process_max_fds") == value_of(want, "process_max_fds"));
    assert_true(value_of(got, "process_virtual_memory_max_bytes") ==
                value_of(want, "process_virtual_memory_max_bytes"));
    assert_true(value_of(got, "process_open_fds") == value_of(want, "process_open_fds"));
    assert_true(value_of(got, "process_cpu_seconds_total") >=
                value_of(want, "process_cpu_seconds_total"));
    assert_true(value_of(got, "process_resident_memory_bytes") > 0);
    free(want);
    free(got);
}

static void test_open_fds_moves(void **state)
{
    pe_exporter x = exporter_with_btime();
    char *before = render(true, &x);
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    char *after = render(true, &x);
    assert_true(value_of(after, "process_open_fds") == value_of(before, "process_open_fds") + 3);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_libprom),
        cmocka_unit_test(test_open_fds_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
