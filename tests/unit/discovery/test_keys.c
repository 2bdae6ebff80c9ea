/*
 * test_keys.c - config copies are deep (they outlive the original) and keys
 * tell configs apart on every field, secrets and HTTP settings included.
 */
#include "unit/unit.h"

#include "discovery/internal.h"

static void test_http_sd(void **state)
{
    (void)state;
    char url[] = "http://sd:8080/targets", user[] = "me", hv[] = "v1";
    cfg_basic_auth ba = {.username = user, .password = "pw"};
    const char *vals[] = {hv};
    cfg_header hd = {.name = "X-A", .values = {vals, 1}};
    cfg_http_sd c = {.url = url,
                     .refresh_interval_ms = 60000,
                     .http = {.basic_auth = &ba,
                              .follow_redirects = true,
                              .enable_http2 = true,
                              .headers = &hd,
                              .n_headers = 1,
                              .tls = {.ca_file = "/ca.pem"}}};
    core_arena a;
    core_arena_init(&a, 0);
    cfg_http_sd copy;
    disc_copy_http_sd(&a, &copy, &c);
    core_sb k1 = CORE_SB_INIT, k2 = CORE_SB_INIT;
    disc_key_http_sd(&k1, &c);
    /* Scribble over the original: the copy keeps its own strings. */
    url[0] = 'X';
    user[0] = 'X';
    hv[0] = 'X';
    assert_string_equal(copy.url, "http://sd:8080/targets");
    assert_string_equal(copy.http.basic_auth->username, "me");
    assert_ptr_not_equal(copy.http.basic_auth, &ba);
    assert_string_equal(copy.http.headers[0].values.v[0], "v1");
    assert_string_equal(copy.http.tls.ca_file, "/ca.pem");
    disc_key_http_sd(&k2, &copy);
    assert_string_equal(k1.buf, k2.buf);
    /* Any field changes the key. */
    copy.http.basic_auth->password = "other";
    core_sb_reset(&k2);
    disc_key_http_sd(&k2, &copy);
    assert_string_not_equal(k1.buf, k2.buf);
    copy.http.basic_auth->password = "pw";
    copy.http.enable_http2 = false;
    core_sb_reset(&k2);
    disc_key_http_sd(&k2, &copy);
    assert_string_not_equal(k1.buf, k2.buf);
    core_sb_destroy(&k1);
    core_sb_destroy(&k2);
    core_arena_destroy(&a);
}

static void test_others(void **state)
{
    (void)state;
    core_arena a;
    core_arena_init(&a, 0);
    core_sb k1 = CORE_SB_INIT, k2 = CORE_SB_INIT;

    const char *files[] = {"a/*.yml", "b.json"};
    cfg_file_sd f = {.files = {files, 2}, .refresh_interval_ms = 300000}, fc;
    disc_copy_file_sd(&a, &fc, &f);
    assert_ptr_not_equal(fc.files.v, f.files.v);
    disc_key_file_sd(&k1, &f);
    disc_key_file_sd(&k2, &fc);
    assert_string_equal(k1.buf, k2.buf);
    fc.refresh_interval_ms = 1;
    core_sb_reset(&k2);
    disc_key_file_sd(&k2, &fc);
    assert_string_not_equal(k1.buf, k2.buf);

    /* Length prefixes: ["ab", "c"] and ["a", "bc"] differ. */
    const char *n1[] = {"ab", "c"}, *n2[] = {"a", "bc"};
    cfg_dns_sd d1 = {.names = {n1, 2}, .type = "A", .port = 80}, d2 = d1;
    d2.names.v = n2;
    core_sb_reset(&k1);
    core_sb_reset(&k2);
    disc_key_dns_sd(&k1, &d1);
    disc_key_dns_sd(&k2, &d2);
    assert_string_not_equal(k1.buf, k2.buf);

    /* Different mechanisms never share a key. */
    const char *one[] = {"x.json"};
    cfg_file_sd f1 = {.files = {one, 1}};
    cfg_dns_sd dd = {.names = {one, 1}};
    core_sb_reset(&k1);
    core_sb_reset(&k2);
    disc_key_file_sd(&k1, &f1);
    disc_key_dns_sd(&k2, &dd);
    assert_string_not_equal(k1.buf, k2.buf);

    const char *vals[] = {"running", "pending"};
    cfg_ec2_filter flt = {.name = "instance-state-name", .values = {vals, 2}};
    cfg_ec2_sd e = {.region = "eu-west-1",
                    .secret_key = "s",
                    .port = 9100,
                    .filters = &flt,
                    .n_filters = 1},
               ec;
    disc_copy_ec2_sd(&a, &ec, &e);
    assert_ptr_not_equal(ec.filters, &flt);
    assert_string_equal(ec.filters[0].values.v[1], "pending");
    core_sb_reset(&k1);
    core_sb_reset(&k2);
    disc_key_ec2_sd(&k1, &e);
    disc_key_ec2_sd(&k2, &ec);
    assert_string_equal(k1.buf, k2.buf);
    ec.filters[0].values.v[1] = "stopped";
    core_sb_reset(&k2);
    disc_key_ec2_sd(&k2, &ec);
    assert_string_not_equal(k1.buf, k2.buf);

    core_label l1[] = {{"a", "1"}}, l2[] = {{"a", "2"}};
    const char *t[] = {"h:1"};
    core_labels *ls1 = core_labels_new(l1, 1), *ls2 = core_labels_new(l2, 1);
    cfg_target_group g1 = {.targets = {t, 1}, .labels = ls1},
                     g2 = {.targets = {t, 1}, .labels = ls2};
    core_sb_reset(&k1);
    core_sb_reset(&k2);
    disc_key_static(&k1, &g1, 1);
    disc_key_static(&k2, &g2, 1);
    assert_string_not_equal(k1.buf, k2.buf);
    free(ls1);
    free(ls2);

    core_sb_destroy(&k1);
    core_sb_destroy(&k2);
    core_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_sd),
        cmocka_unit_test(test_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
