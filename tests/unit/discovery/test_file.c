/*
 * test_file.c - file_sd refreshes on a temporary directory: JSON and YAML
 * files through a glob, sources and `__meta_filepath`, a broken file keeping
 * its last groups, a removed or shrunk file clearing the sources it lost,
 * and the inotify watch reporting writes, renames and deletions.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "discovery/internal.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/disc-file-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void put(const char *name, const char *content)
{
    char path[128], tmp[140];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    fputs(content, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static const disc_tg *by_source(const disc_tgs *l, const char *name, int i)
{
    char src[160];
    snprintf(src, sizeof src, "%s/%s:%d", dir, name, i);
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k]->g.source, src) == 0) return l->v[k];
    fail_msg("no group %s", src);
    return NULL;
}

static bool events(disc_file *s, int timeout_ms)
{
    struct pollfd p = {s->inotify_fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    return disc_file_drain(s);
}

static void test_refresh(void **state)
{
    (void)state;
    put("a.json",
        "[{\"targets\":[\"a:1\",\"a:2\"],\"labels\":{\"k\":\"v\"}},{\"targets\":[\"a:3\"]}]");
    put("b.yml", "- targets: [b:1]\n");
    put("c.txt", "ignored");
    char p1[96], p2[96];
    snprintf(p1, sizeof p1, "%s/*.json", dir);
    snprintf(p2, sizeof p2, "%s/*.yml", dir);
    const char *pats[] = {p1, p2};
    cfg_file_sd cfg = {.files = {pats, 2}, .refresh_interval_ms = 300000};
    disc_file s;
    disc_file_init(&s, &cfg);
    assert_true(s.inotify_fd >= 0);
    disc_tgs out = {0};
    disc_file_refresh(&s, &out);
    assert_int_equal(out.n, 3);
    const disc_tg *g = by_source(&out, "a.json", 0);
    assert_int_equal(g->g.n_targets, 2);
    char path[128];
    snprintf(path, sizeof path, "%s/a.json", dir);
    assert_string_equal(core_labels_get(g->g.labels, "__meta_filepath"), path);
    assert_string_equal(core_labels_get(g->g.labels, "k"), "v");
    assert_int_equal(by_source(&out, "b.yml", 0)->g.n_targets, 1);
    disc_tgs_clear(&out);
    assert_false(events(&s, 0)); /* nothing changed since */

    /* A broken file: logged, counted, no groups (its last ones stay). */
    put("a.json", "[{\"targets\":");
    assert_true(events(&s, 2000));
    disc_file_refresh(&s, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(atomic_load(&s.read_errors), 1);
    disc_tgs_clear(&out);

    /* Fixed but shorter: group 1 goes away. */
    put("a.json", "[{\"targets\":[\"a:9\"]}]");
    assert_true(events(&s, 2000));
    disc_file_refresh(&s, &out);
    assert_int_equal(out.n, 3);
    assert_int_equal(by_source(&out, "a.json", 0)->g.n_targets, 1);
    assert_int_equal(by_source(&out, "a.json", 1)->g.n_targets, 0);
    disc_tgs_clear(&out);

    /* A new file appears; a file is deleted. */
    put("d.yaml.yml", "- targets: [d:1]\n  labels: {x: y}\n");
    char bpath[128];
    snprintf(bpath, sizeof bpath, "%s/b.yml", dir);
    assert_int_equal(unlink(bpath), 0);
    assert_true(events(&s, 2000));
    disc_file_refresh(&s, &out);
    assert_int_equal(out.n, 3); /* a.json:0, d:0, and b.yml:0 emptied */
    assert_int_equal(by_source(&out, "b.yml", 0)->g.n_targets, 0);
    assert_string_equal(core_labels_get(by_source(&out, "d.yaml.yml", 0)->g.labels, "x"), "y");
    disc_tgs_clear(&out);
    /* An attribute change alone asks for nothing. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_false(events(&s, 200));
    disc_tgs_destroy(&out);
    disc_file_destroy(&s);
}

static void test_missing_dir(void **state)
{
    (void)state;
    char pat[96];
    snprintf(pat, sizeof pat, "%s/later/*.json", dir);
    const char *pats[] = {pat};
    cfg_file_sd cfg = {.files = {pats, 1}, .refresh_interval_ms = 1000};
    disc_file s;
    disc_file_init(&s, &cfg);
    disc_tgs out = {0};
    disc_file_refresh(&s, &out); /* the watch fails and is logged */
    assert_int_equal(out.n, 0);
    char sub[96];
    snprintf(sub, sizeof sub, "%s/later", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    put("later/x.json", "[{\"targets\":[\"x:1\"]}]");
    disc_file_refresh(&s, &out); /* the next tick finds it and watches the directory */
    assert_int_equal(out.n, 1);
    disc_tgs_clear(&out);
    put("later/y.json", "[]");
    assert_true(events(&s, 2000));
    disc_tgs_destroy(&out);
    disc_file_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
