/*
 * test_sigv4.c - AWS Signature Version 4 against the examples AWS publishes:
 * the "get-vanilla" case of the SigV4 test suite and the IAM ListUsers
 * request of the "Create a signed AWS API request" guide (canonical request
 * hash and signature), plus the encoding and query rules.
 */
#include "unit/unit.h"

#include "discovery/internal.h"

static disc_aws_creds example_creds(void)
{
    return (disc_aws_creds){"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
}

static void test_get_vanilla(void **state)
{
    (void)state;
    disc_aws_creds c = example_creds();
    core_label h[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
    disc_sigv4_req r = {.method = "GET",
                        .path = "/",
                        .headers = h,
                        .n_headers = 2,
                        .region = "us-east-1",
                        .service = "service",
                        .amz_date = "20150830T123600Z"};
    core_sb auth = CORE_SB_INIT, canon = CORE_SB_INIT, sts = CORE_SB_INIT;
    disc_sigv4_sign(&r, &c, &auth, &canon, &sts);
    assert_string_equal(canon.buf,
                        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(
        auth.buf, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                  "aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    core_sb_destroy(&auth);
    core_sb_destroy(&canon);
    core_sb_destroy(&sts);
}

static void test_iam_example(void **state)
{
    (void)state;
    disc_aws_creds c = example_creds();
    /* Headers in any order and case; the query in any order. */
    core_label h[] = {{"X-Amz-Date", "20150830T123600Z"},
                      {"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
                      {"host", "iam.amazonaws.com"}};
    disc_sigv4_req r = {.method = "GET",
                        .path = "/",
                        .query = "Version=2010-05-08&Action=ListUsers",
                        .headers = h,
                        .n_headers = 3,
                        .region = "us-east-1",
                        .service = "iam",
                        .amz_date = "20150830T123600Z"};
    core_sb auth = CORE_SB_INIT, canon = CORE_SB_INIT, sts = CORE_SB_INIT;
    disc_sigv4_sign(&r, &c, &auth, &canon, &sts);
    char hash[65];
    disc_sha256_hex(canon.buf, canon.len, hash);
    assert_string_equal(hash, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    assert_string_equal(sts.buf,
                        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    assert_non_null(strstr(
        auth.buf, "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
    core_sb_destroy(&auth);
    core_sb_destroy(&canon);
    core_sb_destroy(&sts);
}

static void test_rules(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    disc_aws_uri_encode(&sb, "a b/c~d_e.f-g+h=*", 17, false);
    assert_string_equal(sb.buf, "a%20b%2Fc~d_e.f-g%2Bh%3D%2A");
    core_sb_reset(&sb);
    disc_aws_uri_encode(&sb, "/x y/", 5, true);
    assert_string_equal(sb.buf, "/x%20y/");
    core_sb_destroy(&sb);

    /* Query values decoded and re-encoded, sorted by key then value; header
     * values trimmed with inner runs of spaces collapsed; a repeated header
     * joined with commas; a POST body hashed; the path encoded once more on
     * top of its sent form ("%20" -> "%2520"). */
    disc_aws_creds c = example_creds();
    core_label h[] = {{"Host", "h"}, {"X-A", "  one   two  "}, {"x-a", "three"}};
    disc_sigv4_req r = {.method = "POST",
                        .path = "/a%20b",
                        .query = "b=2&a=%7e&b=1&c",
                        .headers = h,
                        .n_headers = 3,
                        .body = "x=1",
                        .body_len = 3,
                        .region = "r",
                        .service = "s",
                        .amz_date = "20200101T000000Z"};
    core_sb auth = CORE_SB_INIT, canon = CORE_SB_INIT;
    disc_sigv4_sign(&r, &c, &auth, &canon, NULL);
    char body[65];
    disc_sha256_hex("x=1", 3, body);
    core_sb want = CORE_SB_INIT;
    core_sb_addf(
        &want, "POST\n/a%%2520b\na=~&b=1&b=2&c=\nhost:h\nx-a:one two,three\n\nhost;x-a\n%s", body);
    assert_string_equal(canon.buf, want.buf);
    core_sb_destroy(&want);
    core_sb_destroy(&auth);
    core_sb_destroy(&canon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_vanilla),
        cmocka_unit_test(test_iam_example),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
