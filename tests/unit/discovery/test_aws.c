/*
 * test_aws.c - where AWS credentials and the region come from: the config,
 * the environment, the shared credentials and config files (profiles), and
 * the instance metadata service (IMDSv2, served by this test on loopback
 * through AWS_EC2_METADATA_SERVICE_ENDPOINT), in the SDK's order.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "discovery/internal.h"

static core_http_server *srv;
static char endpoint[64];
static char dir[64];
static bool token_seen;

static void token(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    const char *ttl = core_http_header(req, "X-aws-ec2-metadata-token-ttl-seconds");
    if (!ttl) {
        resp->status = 400;
        return;
    }
    core_sb_adds(&resp->body, "imds-token");
}

static bool check_token(core_http_req *req, core_http_resp *resp)
{
    const char *t = core_http_header(req, "X-aws-ec2-metadata-token");
    if (!t || strcmp(t, "imds-token") != 0) {
        resp->status = 401;
        return false;
    }
    token_seen = true;
    return true;
}

static void roles(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    if (check_token(req, resp)) core_sb_adds(&resp->body, "my-role\n");
}

static void role(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    if (!check_token(req, resp)) return;
    if (strcmp(core_http_param(req, "name"), "my-role") != 0) {
        resp->status = 404;
        return;
    }
    core_sb_adds(&resp->body,
                 "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":"
                 "\"imds-secret\",\"Token\":\"imds-session\",\"Expiration\":"
                 "\"2030-01-01T00:00:00Z\"}");
}

static void region(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    if (check_token(req, resp)) core_sb_adds(&resp->body, "eu-west-3");
}

static const char *vars[] = {"AWS_ACCESS_KEY_ID",
                             "AWS_ACCESS_KEY",
                             "AWS_SECRET_ACCESS_KEY",
                             "AWS_SECRET_KEY",
                             "AWS_SESSION_TOKEN",
                             "AWS_PROFILE",
                             "AWS_DEFAULT_PROFILE",
                             "AWS_REGION",
                             "AWS_DEFAULT_REGION",
                             "AWS_SHARED_CREDENTIALS_FILE",
                             "AWS_CONFIG_FILE",
                             "AWS_EC2_METADATA_DISABLED",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT"};

static char *file(const char *name, const char *content)
{
    static char path[4][128];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    core_http_route(srv, "PUT", "/latest/api/token", token, NULL, &err);
    core_http_route(srv, "GET", "/latest/meta-data/iam/security-credentials/", roles, NULL, &err);
    core_http_route(srv, "GET", "/latest/meta-data/iam/security-credentials/:name", role, NULL,
                    &err);
    core_http_route(srv, "GET", "/latest/meta-data/placement/region", region, NULL, &err);
    assert_int_equal(core_http_start(srv, &err), 0);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u/", core_http_port(srv, 0));
    snprintf(dir, sizeof dir, "/tmp/disc-aws-XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    /* Nothing of the machine's own: empty files, no metadata service. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", file("none1", ""), 1);
    setenv("AWS_CONFIG_FILE", file("none2", ""), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void expect(const disc_aws_creds *c, const char *ak, const char *sk, const char *tok)
{
    assert_string_equal(c->access_key, ak);
    assert_string_equal(c->secret_key, sk);
    if (tok)
        assert_string_equal(c->token, tok);
    else
        assert_null(c->token);
}

static void test_credentials(void **state)
{
    (void)state;
    disc_aws_creds c;
    core_err err = {{0}};
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), -1);
    assert_non_null(strstr(err.msg, "no AWS credentials"));

    setenv("AWS_SHARED_CREDENTIALS_FILE",
           file("credentials",
                "# comment\n[default]\naws_access_key_id = AKDEFAULT\n"
                "aws_secret_access_key=sdefault\n\n[prod]\n  aws_access_key_id=AKPROD \n"
                "aws_secret_access_key = sprod\naws_session_token = tprod\n"),
           1);
    setenv("AWS_CONFIG_FILE",
           file("config", "[default]\nregion = us-west-2\n[profile dev]\nregion=ap-south-1\n"
                          "aws_access_key_id=AKDEV\naws_secret_access_key=sdev\n"),
           1);
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), 0);
    expect(&c, "AKDEFAULT", "sdefault", NULL);
    disc_aws_creds_destroy(&c);

    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    setenv("AWS_SESSION_TOKEN", "tenv", 1);
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), 0);
    expect(&c, "AKENV", "senv", "tenv");
    disc_aws_creds_destroy(&c);

    /* The config's keys win over everything. */
    assert_int_equal(disc_aws_credentials("AKCFG", "scfg", "prod", &c, &err), 0);
    expect(&c, "AKCFG", "scfg", NULL);
    disc_aws_creds_destroy(&c);
    /* Only one of them given: not used. */
    assert_int_equal(disc_aws_credentials("AKCFG", NULL, NULL, &c, &err), 0);
    expect(&c, "AKENV", "senv", "tenv");
    disc_aws_creds_destroy(&c);

    /* A profile named in the config wins over the environment. */
    assert_int_equal(disc_aws_credentials(NULL, NULL, "prod", &c, &err), 0);
    expect(&c, "AKPROD", "sprod", "tprod");
    disc_aws_creds_destroy(&c);
    /* ... also from the config file. */
    assert_int_equal(disc_aws_credentials(NULL, NULL, "dev", &c, &err), 0);
    expect(&c, "AKDEV", "sdev", NULL);
    disc_aws_creds_destroy(&c);
    assert_int_equal(disc_aws_credentials(NULL, NULL, "nope", &c, &err), -1);
    assert_string_equal(err.msg, "failed to get shared config profile, nope");

    /* AWS_PROFILE picks the profile when the environment has no keys. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), 0);
    expect(&c, "AKPROD", "sprod", "tprod");
    disc_aws_creds_destroy(&c);
    unsetenv("AWS_PROFILE");

    /* The instance metadata service last. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", file("none1", ""), 1);
    setenv("AWS_CONFIG_FILE", file("none2", ""), 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    token_seen = false;
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), 0);
    expect(&c, "ASIAIMDS", "imds-secret", "imds-session");
    assert_true(token_seen);
    disc_aws_creds_destroy(&c);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(disc_aws_credentials(NULL, NULL, NULL, &c, &err), -1);
}

static void test_region(void **state)
{
    (void)state;
    char *r = NULL;
    core_err err = {{0}};
    assert_int_equal(disc_aws_region(NULL, NULL, &r, &err), -1);
    assert_string_equal(err.msg,
                        "could not determine AWS region: region not found in AWS config or "
                        "IMDS");
    assert_int_equal(disc_aws_region("eu-central-1", NULL, &r, &err), 0);
    assert_string_equal(r, "eu-central-1");
    free(r);
    setenv("AWS_CONFIG_FILE",
           file("config", "[default]\nregion = us-west-2\n[profile dev]\nregion=ap-south-1\n"), 1);
    assert_int_equal(disc_aws_region("", NULL, &r, &err), 0);
    assert_string_equal(r, "us-west-2");
    free(r);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(disc_aws_region(NULL, NULL, &r, &err), 0);
    assert_string_equal(r, "ap-south-1");
    free(r);
    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
    assert_int_equal(disc_aws_region(NULL, NULL, &r, &err), 0);
    assert_string_equal(r, "sa-east-1");
    free(r);
    setenv("AWS_REGION", "ca-central-1", 1);
    assert_int_equal(disc_aws_region(NULL, NULL, &r, &err), 0);
    assert_string_equal(r, "ca-central-1");
    free(r);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_CONFIG_FILE", file("none2", ""), 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    assert_int_equal(disc_aws_region(NULL, NULL, &r, &err), 0);
    assert_string_equal(r, "eu-west-3");
    free(r);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

    char *v = disc_aws_ini_get(file("ini", "[a]\nx = 1\n[b]\nx=2\n; c\n"), "b", "X");
    assert_string_equal(v, "2");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_region),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
