/* Unit tests for the textfile collector: every directory of the fixtures'
 * textfile/ with its .out (upstream's output for it, run from upstream's
 * collector/ directory, so paths start with fixtures/textfile/).  The
 * textfile families are compared as parsed series, HELP and TYPE lines; the
 * mtimes by label only. */
#include "model/model.h"
#include "nodetest.h"
#include "sysfixture.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

extern const nx_collector nx_collector_textfile;

static int replay(prom_emitter *e, void *userdata)
{
    nx_out_replay(userdata, e);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The text's entries as sorted canonical lines, in *out (malloc'd). */
static size_t canonical(const char *text, size_t len, char ***out)
{
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, text, len, "text");
    size_t n = 0, cap = 64;
    char **v = malloc(cap * sizeof *v);
    core_err err;
    for (model_entry e; (e = model_parser_next(p, &err)) != MODEL_ENTRY_EOF;) {
        if (e == MODEL_ENTRY_ERROR) fail_msg("parse: %s", err.msg);
        model_str name = model_parser_name(p);
        if ((name.len >= 11 && memcmp(name.p, "node_scrape", 11) == 0) ||
            (name.len >= 13 && memcmp(name.p, "node_exporter", 13) == 0))
            continue;
        core_sb sb = CORE_SB_INIT;
        if (e == MODEL_ENTRY_HELP) {
            model_str h = model_parser_help(p);
            core_sb_addf(&sb, "#HELP %.*s %.*s", (int)name.len, name.p, (int)h.len, h.p);
        } else if (e == MODEL_ENTRY_TYPE) {
            core_sb_addf(&sb, "#TYPE %.*s %s", (int)name.len, name.p,
                         model_type_name(model_parser_type(p)));
        } else if (e == MODEL_ENTRY_SERIES) {
            core_labels *ls = model_parser_labels_new(p, NULL, &err);
            core_labels_format(ls, &sb);
            bool mtime = name.len == 27 && memcmp(name.p, "node_textfile_mtime_seconds", 27) == 0;
            core_sb_addf(&sb, " %.17g", mtime ? 1.0 : model_parser_value(p));
            free(ls);
        } else {
            continue;
        }
        if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = sb.buf;
    }
    model_parser_free(p);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void check_case(const char *name, const char *dir_flag)
{
    core_strlist *dirs = nx_collector_textfile.flags[0].dest;
    dirs->len = 0;
    core_strlist_push(dirs, dir_flag);
    nx_out *o = nt_run(&nx_collector_textfile);
    prom_registry *r = prom_registry_new();
    assert_int_equal(prom_collector_register(r, "tf", NULL, 0, replay, o), 0);
    prom_buffer buf = {0};
    assert_int_equal(prom_render(r, PROM_FORMAT_TEXT, NULL, 0, &buf), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/textfile/%s.out", nt_fixtures(), name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char want[1 << 16];
    size_t wlen = fread(want, 1, sizeof want, f);
    fclose(f);
    char **a, **b;
    size_t na = canonical(want, wlen, &a), nb = canonical(buf.data, buf.len, &b);
    for (size_t i = 0; i < na || i < nb; i++) {
        const char *x = i < na ? a[i] : "(none)", *y = i < nb ? b[i] : "(none)";
        if (strcmp(x, y) != 0) fail_msg("%s: want %s\n got %s", name, x, y);
    }
    for (size_t i = 0; i < na; i++)
        free(a[i]);
    for (size_t i = 0; i < nb; i++)
        free(b[i]);
    free(a), free(b);
    prom_buffer_free(&buf);
    prom_registry_free(r);
    nt_free(o);
}

static void test_fixture_dirs(void **state)
{
    char dir[64], cwd[1024];
    st_tmpdir(dir, sizeof dir, "textfile");
    assert_non_null(getcwd(cwd, sizeof cwd));
    char link[128];
    snprintf(link, sizeof link, "%s/fixtures", dir);
    char target[4096];
    assert_non_null(realpath(nt_fixtures(), target));
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(chdir(dir), 0);
    static const char *const cases[] = {
        "client_side_timestamp",     "different_metric_types", "histogram",
        "histogram_extra_dimension", "inconsistent_metrics",   "metrics_merge_different_help",
        "metrics_merge_empty_help",  "metrics_merge_no_help",  "metrics_merge_same_help",
        "no_metric_files",           "nonexistent_path",       "summary",
        "summary_extra_dimension",   "two_metric_files"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char flag[128];
        snprintf(flag, sizeof flag, "fixtures/textfile/%s", cases[i]);
        check_case(cases[i], flag);
    }
    check_case("glob_extra_dimension", "fixtures/textfile/*_extra_dimension");
    assert_int_equal(chdir(cwd), 0);
    st_rmdir(dir);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "textfile");
    core_strlist *dirs = nx_collector_textfile.flags[0].dest;
    dirs->len = 0;
    nx_out *o = nt_run(&nx_collector_textfile); /* no directory: no error */
    assert_true(nt_value(o, "node_textfile_scrape_error", NULL) == 0);
    nt_free(o);
    core_strlist_push(dirs, dir);
    nt_write(dir, "a.prom", "# TYPE x counter\nx 1\n# TYPE x gauge\n");
    nt_write(dir, "b.prom", "y{a=\"1\"} 1\ny{a=\"1\"} 2\nz 1\n");
    nt_write(dir, "c.prom", "# TYPE y gauge\ny{b=\"2\"} 3\nz{q=\"\\\"\"} 2\n");
    nt_write(dir, "d.prom", "w{\n");
    nt_write(dir, "e.txt", "ignored 1\n");
    o = nt_run(&nx_collector_textfile);
    assert_true(nt_value(o, "node_textfile_scrape_error", NULL) == 1);
    assert_null(nt_family(o, "x"));                    /* a.prom: TYPE twice */
    assert_int_equal(nt_family(o, "y")->n_samples, 1); /* the repeat and c's gauge left out */
    assert_int_equal(nt_family(o, "z")->n_samples, 2); /* merged: labels z and q */
    assert_int_equal(nt_family(o, "node_textfile_mtime_seconds")->n_samples, 2); /* b, c */
    assert_null(nt_family(o, "ignored"));
    nt_free(o);
    dirs->len = 0;
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_dirs),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
