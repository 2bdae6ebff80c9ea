/* Unit tests for self.c: the exporter's process_* families against libprom's
 * process collector, which they stand in for: the same names, help texts and
 * types, and the same values for what does not move between the two reads. */
#include "nodetest.h"
#include "scrape.h"

#include "model/model.h"

#include <fcntl.h>
#include <unistd.h>

/* libprom's process collector rendered and parsed back: name -> value, help, type. */
typedef struct fam {
    char name[128], help[256];
    model_type type;
    double value;
} fam;

static size_t libprom_families(fam *out, size_t cap)
{
    prom_registry *r = prom_registry_new();
    assert_int_equal(prom_process_collector_register(r), 0);
    prom_buffer buf = {0};
    assert_int_equal(prom_render(r, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, buf.data, buf.len, "libprom");
    size_t n = 0;
    core_err err;
    for (model_entry e; (e = model_parser_next(p, &err)) != MODEL_ENTRY_EOF;) {
        assert_int_not_equal(e, MODEL_ENTRY_ERROR);
        model_str name = model_parser_name(p);
        if (e == MODEL_ENTRY_HELP) {
            assert_true(n < cap);
            memset(&out[n], 0, sizeof out[n]);
            snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)name.len, name.p);
            model_str h = model_parser_help(p);
            snprintf(out[n].help, sizeof out[n].help, "%.*s", (int)h.len, h.p);
            n++;
        } else if (e == MODEL_ENTRY_TYPE) {
            out[n - 1].type = model_parser_type(p);
        } else if (e == MODEL_ENTRY_SERIES) {
            out[n - 1].value = model_parser_value(p);
        }
    }
    model_parser_free(p);
    prom_buffer_free(&buf);
    prom_registry_free(r);
    return n;
}

static model_type type_of(prom_type t)
{
    return t == PROM_COUNTER ? MODEL_TYPE_COUNTER : MODEL_TYPE_GAUGE;
}

static void test_same_as_libprom(void **state)
{
    fam want[16];
    size_t n = libprom_families(want, 16);
    assert_true(n >= 7);
    for (int round = 0; round < 2; round++) { /* the second uses what the first kept */
        nx_out o;
        nx_out_init(&o, "process");
        nx_process_metrics(&o);
        assert_int_equal(o.n_families, n);
        for (size_t i = 0; i < n; i++) {
            const nx_fam *f = nt_family(&o, want[i].name);
            if (f == NULL) fail_msg("missing %s", want[i].name);
            assert_string_equal(f->help, want[i].help);
            assert_int_equal(type_of(f->type), want[i].type);
            assert_int_equal(f->n_samples, 1);
            assert_int_equal(f->n_labels, 0);
            double got = f->samples[0].value, w = want[i].value;
            if (strcmp(want[i].name, "process_start_time_seconds") == 0 ||
                strcmp(want[i].name, "process_max_fds") == 0 ||
                strcmp(want[i].name, "process_virtual_memory_max_bytes") == 0)
                assert_true(got == w);
            else if (strcmp(want[i].name, "process_open_fds") == 0)
                /* ours keeps /proc/self/stat, /proc/stat, /proc/self/net/netstat and
                 * the listing's descriptor open (libprom: the listing's only) */
                assert_true(got >= w && got <= w + 3);
            else if (strcmp(want[i].name, "process_cpu_seconds_total") == 0)
                assert_true(got >= w && got < w + 1);
            else
                assert_true(got > 0 || w == 0);
        }
        nx_out_destroy(&o);
    }
}

static void test_open_fds_moves(void **state)
{
    nx_out o;
    nx_out_init(&o, "process");
    nx_process_metrics(&o);
    double before = nt_value(&o, "process_open_fds", NULL);
    nx_out_destroy(&o);
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    nx_out_init(&o, "process");
    nx_process_metrics(&o);
    assert_true(nt_value(&o, "process_open_fds", NULL) == before + 3);
    nx_out_destroy(&o);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_libprom),
        cmocka_unit_test(test_open_fds_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
