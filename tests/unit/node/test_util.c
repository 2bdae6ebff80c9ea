/* Unit tests for util.c's readers, name tables and regex memo: whole files
 * past a page, record files without the final read, shared reads within one
 * scrape and not across scrapes, mount tables read again only after a change,
 * name tables that make each entry once, regex answers that stay right as the
 * memo grows. */
#define _GNU_SOURCE /* unshare */
#include "nodetest.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

static nx_out *new_out(unsigned long scrape)
{
    nx_out *o = calloc(1, sizeof *o);
    nx_out_init(o, "test");
    o->scrape = scrape;
    return o;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_whole_files(void **state)
{
    char path[] = "/tmp/nt-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    /* 20,000 bytes in short lines: past the stack page, read whole either way */
    core_sb want = CORE_SB_INIT;
    for (int i = 0; i < 2000; i++)
        core_sb_addf(&want, "line %04d\n", i);
    write_file(path, want.buf);
    nx_out *o = new_out(0);
    size_t len = 0;
    char *text = nx_read_file(o, path, &len);
    assert_int_equal(len, want.len);
    assert_string_equal(text, want.buf);
    text = nx_read_records(o, path, 16, &len);
    assert_int_equal(len, want.len);
    assert_string_equal(text, want.buf);
    write_file(path, "short\n"); /* a regular file short of a page ends there */
    assert_string_equal(nx_read_records(o, path, 16, NULL), "short\n");
    nt_free(o);
    core_sb_destroy(&want);
    unlink(path);
}

static void test_live_records(void **state)
{
    nx_out *o = new_out(0);
    /* /proc/self/mountinfo: lines well under 1 KiB; the same text as read(2) gives */
    char *a = nx_read_records(o, "/proc/self/mountinfo", 1024, NULL);
    char *b = nx_read_file(o, "/proc/self/mountinfo", NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    nt_free(o);
}

static void test_shared(void **state)
{
    char path[] = "/tmp/nt-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "first\n");
    nx_out *a = new_out(1001), *b = new_out(1001), *c = new_out(1002), *d = new_out(0);
    char *t = nx_read_shared(a, path, NULL);
    assert_string_equal(t, "first\n");
    t[0] = 'X'; /* the reader's copy is its own */
    write_file(path, "second\n");
    size_t len = 0;
    assert_string_equal(nx_read_shared(b, path, &len), "first\n"); /* same scrape */
    assert_int_equal(len, 6);
    assert_string_equal(nx_read_shared(c, path, NULL), "second\n"); /* the next scrape */
    write_file(path, "third\n");
    assert_string_equal(nx_read_shared(d, path, NULL), "third\n"); /* outside a scrape */
    nt_free(a), nt_free(b), nt_free(c), nt_free(d);
    unlink(path);
}

static void test_mounts(void **state)
{
    nx_out *o = new_out(0);
    char *a = nx_read_mounts(o, "/proc/self/mountinfo", NULL);
    char *b = nx_read_mounts(o, "/proc/self/mountinfo", NULL);
    char *c = nx_read_file(o, "/proc/self/mountinfo", NULL);
    assert_non_null(a);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    a[0] = '#'; /* a copy: the next read is not affected */
    assert_string_equal(nx_read_mounts(o, "/proc/self/mountinfo", NULL), c);
    /* A change of the mount table is seen (where a private namespace and a
     * tmpfs mount are allowed: root in the CI container).  The file kept
     * above shows the namespace it was opened in, so this reads the table
     * under another name, opened in the new one. */
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
        char dir[] = "/tmp/nt-mnt-XXXXXX", table[64];
        assert_non_null(mkdtemp(dir));
        snprintf(table, sizeof table, "/proc/%d/mountinfo", (int)getpid());
        char *before = nx_read_mounts(o, table, NULL);
        assert_null(strstr(before, dir));
        assert_null(strstr(nx_read_mounts(o, table, NULL), dir));
        if (mount("none", dir, "tmpfs", 0, NULL) == 0) {
            assert_non_null(strstr(nx_read_mounts(o, table, NULL), dir));
            assert_non_null(strstr(nx_read_mounts(o, table, NULL), dir));
            umount(dir);
            assert_null(strstr(nx_read_mounts(o, table, NULL), dir));
        }
        rmdir(dir);
    }
    /* a regular file is read every time */
    char path[] = "/tmp/nt-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "one\n");
    assert_string_equal(nx_read_mounts(o, path, NULL), "one\n");
    write_file(path, "two\n");
    assert_string_equal(nx_read_mounts(o, path, NULL), "two\n");
    unlink(path);
    nt_free(o);
}

static int makes;

static void make_name(nx_out *o, const char *name, nx_name *e, void *ctx)
{
    makes++;
    e->wanted = name[0] != 'x';
    e->index = (int)strlen(name);
    if (e->wanted) {
        e->family = nx_sprintf(o, "node_test_%s", name);
        e->help = nx_sprintf(o, "Help of %s.", name);
    }
}

static void test_names(void **state)
{
    static nx_names names = NX_NAMES_INIT;
    nx_out *o = new_out(0);
    makes = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++) { /* enough to grow the table several times */
            char name[32];
            int n = snprintf(name, sizeof name, "%sfield%d", i % 7 == 0 ? "x" : "", i);
            const nx_name *e = nx_names_get(&names, o, name, (size_t)n, make_name, NULL);
            assert_int_equal(e->wanted, i % 7 != 0);
            assert_int_equal(e->index, n);
            if (e->wanted) {
                char want[64];
                snprintf(want, sizeof want, "node_test_%s", name);
                assert_string_equal(e->family, want);
            }
        }
    }
    assert_int_equal(makes, 500); /* once per name */
    /* a key is the bytes given, not a C string */
    const nx_name *e = nx_names_get(&names, o, "field1trailing", 6, make_name, NULL);
    assert_string_equal(e->family, "node_test_field1");
    nt_free(o); /* entries do not live in the scrape's memory */
    assert_string_equal(e->help, "Help of field1.");
    nx_names_clear(&names);
    o = new_out(0);
    nx_names_get(&names, o, "field1", 6, make_name, NULL);
    assert_int_equal(makes, 501); /* made again after the clear */
    nx_names_clear(&names);
    nt_free(o);
}

static void test_regex_memo(void **state)
{
    nx_regex *re;
    core_err err;
    assert_int_equal(nx_regex_compile("^(eth|en)[0-9]+$", "test", &re, &err), 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 300; i++) { /* past the first sizes of the memo */
            char name[32];
            snprintf(name, sizeof name, "%s%d", i % 3 == 0 ? "eth" : i % 3 == 1 ? "en" : "lo", i);
            assert_int_equal(nx_regex_match(re, name), i % 3 != 2);
        }
    assert_false(nx_regex_match(re, "eth0x"));
    nx_regex_free(re);
    assert_int_equal(nx_regex_compile("(", "test", &re, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_files), cmocka_unit_test(test_live_records),
        cmocka_unit_test(test_shared),      cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_names),       cmocka_unit_test(test_regex_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
