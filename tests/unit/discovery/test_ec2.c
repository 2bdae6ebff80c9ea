/*
 * test_ec2.c - EC2 discovery against a DescribeInstances stand-in served by
 * this test on loopback: the signed request (headers, form with filters and
 * NextToken), two pages, the availability zone IDs, every __meta_ec2_ label
 * with upstream's rules (IPv6-only instances, instances without any address
 * skipped, list labels, tag names sanitized), API errors, and the configs it
 * refuses.  The signature itself is checked against AWS's published
 * examples in test_sigv4.c and by an independent implementation in the
 * integration test (tests/integration/discovery_ec2.py).
 */
#include "unit/unit.h"

#include "discovery/internal.h"

#include <pthread.h>

static core_http_server *srv;
static char endpoint[64];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char bodies[8][1024];
static char auth[8][512];
static char host_hdr[128], date_hdr[32], ctype_hdr[128];
static int n_calls;
static bool fail_auth, fail_azs;

static const char *PAGE1 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>req-1</requestId><reservationSet><item><reservationId>r-1</reservationId>"
    "<ownerId>111122223333</ownerId><instancesSet>"
    "<item><instanceId>i-1</instanceId><imageId>ami-1</imageId>"
    "<instanceState><code>16</code><name>running</name></instanceState>"
    "<privateDnsName>ip-10-0-0-1.ec2.internal</"
    "privateDnsName><dnsName>ec2-1.compute.amazonaws.com</dnsName>"
    "<instanceType>t3.micro</instanceType><placement><availabilityZone>us-east-1a</"
    "availabilityZone>"
    "</placement><platform>windows</platform><privateIpAddress>10.0.0.1</privateIpAddress>"
    "<ipAddress>54.0.0.1</ipAddress><subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId>"
    "<architecture>x86_64</architecture><instanceLifecycle>spot</instanceLifecycle>"
    "<tagSet><item><key>Name</key><value>web &amp; api</value></item>"
    "<item><key>aws:cloudformation:stack-name</key><value>stack</value></item>"
    "<item><key>caf\xc3\xa9</key><value>x</value></item></tagSet>"
    "<networkInterfaceSet>"
    "<item><subnetId>subnet-a</subnetId><attachment><deviceIndex>0</deviceIndex></attachment>"
    "<ipv6AddressesSet><item><ipv6Address>2001:db8::a</ipv6Address><isPrimaryIpv6>false</"
    "isPrimaryIpv6>"
    "</item></ipv6AddressesSet></item>"
    "<item><subnetId>subnet-b</subnetId><attachment><deviceIndex>2</deviceIndex></attachment>"
    "<ipv6AddressesSet><item><ipv6Address>2001:db8::b</ipv6Address><isPrimaryIpv6>true</"
    "isPrimaryIpv6>"
    "</item></ipv6AddressesSet></item>"
    "<item><subnetId>subnet-a</subnetId><attachment><deviceIndex>1</deviceIndex></attachment></"
    "item>"
    "</networkInterfaceSet></item>"
    "<item><instanceId>i-2</instanceId><imageId>ami-2</imageId>"
    "<instanceState><name>pending</name></instanceState><privateDnsName/>"
    "<instanceType>m5.large</instanceType><placement><availabilityZone>us-east-1b</"
    "availabilityZone>"
    "</placement><subnetId>subnet-c</subnetId><vpcId>vpc-1</vpcId><architecture>arm64</"
    "architecture>"
    "<networkInterfaceSet><item><subnetId>subnet-c</subnetId><attachment><deviceIndex>0</"
    "deviceIndex>"
    "</attachment><ipv6AddressesSet><item><ipv6Address>2001:db8::5</ipv6Address>"
    "<isPrimaryIpv6>false</isPrimaryIpv6></item></ipv6AddressesSet></item></networkInterfaceSet></"
    "item>"
    "<item><instanceId>i-3</instanceId><imageId>ami-3</imageId><instanceState><name>stopped</name>"
    "</instanceState><placement><availabilityZone>us-east-1a</availabilityZone></placement></item>"
    "</instancesSet></item></reservationSet><nextToken>tok-2</nextToken></"
    "DescribeInstancesResponse>";

static const char *PAGE2 =
    "<DescribeInstancesResponse><reservationSet><item><ownerId>444455556666</ownerId><instancesSet>"
    "<item><instanceId>i-4</instanceId><imageId>ami-4</imageId><instanceState><name>running</name>"
    "</instanceState><instanceType>c5.xlarge</instanceType><placement><availabilityZone>us-east-1c"
    "</availabilityZone></placement><privateIpAddress>10.0.0.4</privateIpAddress></item>"
    "</instancesSet></item></reservationSet></DescribeInstancesResponse>";

static const char *AZS = "<DescribeAvailabilityZonesResponse><availabilityZoneInfo>"
                         "<item><zoneName>us-east-1a</zoneName><zoneId>use1-az4</zoneId></item>"
                         "<item><zoneName>us-east-1b</zoneName><zoneId>use1-az6</zoneId></item>"
                         "</availabilityZoneInfo></DescribeAvailabilityZonesResponse>";

static void api(core_http_req *req, core_http_resp *resp, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&mu);
    size_t n;
    const char *b = core_http_body(req, &n);
    int i = n_calls < 8 ? n_calls : 7;
    snprintf(bodies[i], sizeof bodies[i], "%s", b);
    const char *a = core_http_header(req, "Authorization");
    snprintf(auth[i], sizeof auth[i], "%s", a ? a : "");
    snprintf(host_hdr, sizeof host_hdr, "%s", core_http_header(req, "Host"));
    const char *d = core_http_header(req, "X-Amz-Date");
    snprintf(date_hdr, sizeof date_hdr, "%s", d ? d : "");
    snprintf(ctype_hdr, sizeof ctype_hdr, "%s", core_http_header(req, "Content-Type"));
    n_calls++;
    const char *action = core_http_arg(req, "Action");
    const char *token = core_http_arg(req, "NextToken");
    resp->content_type = "text/xml;charset=UTF-8";
    if (fail_auth) {
        resp->status = 401;
        core_sb_adds(&resp->body,
                     "<?xml version=\"1.0\"?><Response><Errors><Error><Code>AuthFailure</Code>"
                     "<Message>AWS was not able to validate the provided access "
                     "credentials</Message></Error></Errors><RequestID>rid-9</RequestID>"
                     "</Response>");
    } else if (action && strcmp(action, "DescribeAvailabilityZones") == 0) {
        if (fail_azs) {
            resp->status = 403;
            core_sb_adds(&resp->body, "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
                                      "<Message>no</Message></Error></Errors></Response>");
        } else {
            core_sb_adds(&resp->body, AZS);
        }
    } else if (token && strcmp(token, "tok-2") == 0) {
        core_sb_adds(&resp->body, PAGE2);
    } else {
        core_sb_adds(&resp->body, PAGE1);
    }
    pthread_mutex_unlock(&mu);
}

static int setup(void **state)
{
    (void)state;
    core_err err = {{0}};
    const char *listen[] = {"127.0.0.1:0"};
    srv = core_http_new(&(core_http_opts){.listen = listen, .n_listen = 1}, &err);
    core_http_route(srv, "POST", "/", api, NULL, &err);
    assert_int_equal(core_http_start(srv, &err), 0);
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u", core_http_port(srv, 0));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_http_free(srv);
    return 0;
}

static const char *lbl(const disc_tg *g, size_t t, const char *name)
{
    return core_labels_get(g->g.targets[t], name);
}

static void test_describe(void **state)
{
    (void)state;
    const char *vals[] = {"prod", "staging"};
    cfg_ec2_filter f = {.name = "tag:env", .values = {vals, 2}};
    cfg_ec2_sd c = {.endpoint = endpoint,
                    .region = "us-east-1",
                    .access_key = "AKIDEXAMPLE",
                    .secret_key = "secret",
                    .port = 9100,
                    .refresh_interval_ms = 60000,
                    .filters = &f,
                    .n_filters = 1,
                    .http = {.follow_redirects = true, .enable_http2 = true}};
    disc_ec2 s = {.cfg = &c, .user_agent = "Prometheus/test", .now_ms = INT64_C(1440938160000)};
    disc_tgs out = {0};
    core_err err = {{0}};
    n_calls = 0;
    fail_auth = fail_azs = false;
    assert_int_equal(disc_ec2_refresh(&s, &out, &err), 0);
    assert_int_equal(n_calls, 3);
    assert_string_equal(bodies[0], "Action=DescribeAvailabilityZones&Version=2016-11-15");
    assert_string_equal(bodies[1],
                        "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Aenv"
                        "&Filter.1.Value.1=prod&Filter.1.Value.2=staging");
    assert_string_equal(bodies[2],
                        "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Aenv"
                        "&Filter.1.Value.1=prod&Filter.1.Value.2=staging&NextToken=tok-2");
    assert_non_null(strstr(auth[1],
                           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/"
                           "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                           "Signature="));
    assert_string_equal(date_hdr, "20150830T123600Z");
    assert_string_equal(ctype_hdr, "application/x-www-form-urlencoded; charset=utf-8");
    assert_string_equal(host_hdr, endpoint + 7);

    assert_int_equal(out.n, 1);
    const disc_tg *g = out.v[0];
    assert_string_equal(g->g.source, "us-east-1");
    assert_int_equal(g->g.n_targets, 3); /* i-3 has no address */

    assert_string_equal(lbl(g, 0, "__address__"), "10.0.0.1:9100");
    assert_string_equal(lbl(g, 0, "__meta_ec2_instance_id"), "i-1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_region"), "us-east-1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_owner_id"), "111122223333");
    assert_string_equal(lbl(g, 0, "__meta_ec2_private_ip"), "10.0.0.1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_private_dns_name"), "ip-10-0-0-1.ec2.internal");
    assert_string_equal(lbl(g, 0, "__meta_ec2_public_ip"), "54.0.0.1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_public_dns_name"), "ec2-1.compute.amazonaws.com");
    assert_string_equal(lbl(g, 0, "__meta_ec2_platform"), "windows");
    assert_string_equal(lbl(g, 0, "__meta_ec2_ami"), "ami-1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_availability_zone"), "us-east-1a");
    assert_string_equal(lbl(g, 0, "__meta_ec2_availability_zone_id"), "use1-az4");
    assert_string_equal(lbl(g, 0, "__meta_ec2_instance_state"), "running");
    assert_string_equal(lbl(g, 0, "__meta_ec2_instance_type"), "t3.micro");
    assert_string_equal(lbl(g, 0, "__meta_ec2_instance_lifecycle"), "spot");
    assert_string_equal(lbl(g, 0, "__meta_ec2_architecture"), "x86_64");
    assert_string_equal(lbl(g, 0, "__meta_ec2_vpc_id"), "vpc-1");
    assert_string_equal(lbl(g, 0, "__meta_ec2_primary_subnet_id"), "subnet-a");
    assert_string_equal(lbl(g, 0, "__meta_ec2_subnet_id"), ",subnet-a,subnet-b,");
    assert_string_equal(lbl(g, 0, "__meta_ec2_ipv6_addresses"), ",2001:db8::a,2001:db8::b,");
    /* The primary address of the interface at device index 2; slots 0 and 1 empty. */
    assert_string_equal(lbl(g, 0, "__meta_ec2_primary_ipv6_addresses"), ",,,2001:db8::b,");
    assert_string_equal(lbl(g, 0, "__meta_ec2_default_ipv6_address"), "2001:db8::b");
    assert_string_equal(lbl(g, 0, "__meta_ec2_tag_Name"), "web & api");
    assert_string_equal(lbl(g, 0, "__meta_ec2_tag_aws_cloudformation_stack_name"), "stack");
    assert_string_equal(lbl(g, 0, "__meta_ec2_tag_caf_"), "x");

    /* IPv6 only: the default IPv6 address is the target. */
    assert_string_equal(lbl(g, 1, "__address__"), "[2001:db8::5]:9100");
    assert_null(lbl(g, 1, "__meta_ec2_private_ip"));
    assert_null(lbl(g, 1, "__meta_ec2_private_dns_name"));
    assert_null(lbl(g, 1, "__meta_ec2_primary_ipv6_addresses"));
    assert_string_equal(lbl(g, 1, "__meta_ec2_default_ipv6_address"), "2001:db8::5");
    assert_string_equal(lbl(g, 1, "__meta_ec2_availability_zone_id"), "use1-az6");
    assert_null(lbl(g, 1, "__meta_ec2_public_ip"));
    assert_null(lbl(g, 1, "__meta_ec2_platform"));

    /* Page two; an availability zone without an ID; no VPC. */
    assert_string_equal(lbl(g, 2, "__address__"), "10.0.0.4:9100");
    assert_string_equal(lbl(g, 2, "__meta_ec2_owner_id"), "444455556666");
    assert_null(lbl(g, 2, "__meta_ec2_availability_zone_id"));
    assert_null(lbl(g, 2, "__meta_ec2_vpc_id"));
    assert_null(lbl(g, 2, "__meta_ec2_subnet_id"));
    disc_tgs_clear(&out);

    /* The zone IDs are asked for once. */
    n_calls = 0;
    assert_int_equal(disc_ec2_refresh(&s, &out, &err), 0);
    assert_int_equal(n_calls, 2);
    disc_tgs_clear(&out);

    /* An API error fails the refresh with AWS's code and message. */
    fail_auth = true;
    assert_int_equal(disc_ec2_refresh(&s, &out, &err), -1);
    assert_string_equal(err.msg,
                        "could not describe instances: operation error EC2: DescribeInstances, "
                        "https response error StatusCode: 401, RequestID: rid-9, api error "
                        "AuthFailure: AWS was not able to validate the provided access "
                        "credentials");
    assert_int_equal(out.n, 0);
    fail_auth = false;
    disc_tgs_destroy(&out);
    disc_ec2_destroy(&s);
}

static void test_zone_ids_optional(void **state)
{
    (void)state;
    cfg_ec2_sd c = {.endpoint = endpoint,
                    .region = "us-east-1",
                    .access_key = "a",
                    .secret_key = "b",
                    .port = 80,
                    .refresh_interval_ms = 60000};
    disc_ec2 s = {.cfg = &c, .user_agent = "ua"};
    disc_tgs out = {0};
    core_err err = {{0}};
    fail_azs = true;
    n_calls = 0;
    assert_int_equal(disc_ec2_refresh(&s, &out, &err), 0);
    assert_null(lbl(out.v[0], 0, "__meta_ec2_availability_zone_id"));
    assert_string_equal(lbl(out.v[0], 0, "__address__"), "10.0.0.1:80");
    disc_tgs_clear(&out);
    /* Tried again at the next refresh. */
    fail_azs = false;
    assert_int_equal(disc_ec2_refresh(&s, &out, &err), 0);
    assert_string_equal(lbl(out.v[0], 0, "__meta_ec2_availability_zone_id"), "use1-az4");
    assert_int_equal(n_calls, 6);
    disc_tgs_destroy(&out);
    disc_ec2_destroy(&s);

    cfg_ec2_sd r = c;
    r.role_arn = "arn:aws:iam::1:role/x";
    disc_ec2 s2 = {.cfg = &r, .user_agent = "ua"};
    assert_int_equal(disc_ec2_refresh(&s2, &out, &err), -1);
    assert_non_null(strstr(err.msg, "role_arn is not supported"));
    disc_ec2_destroy(&s2);

    /* Unreachable endpoint. */
    cfg_ec2_sd u = c;
    u.endpoint = "http://127.0.0.1:1";
    disc_ec2 s3 = {.cfg = &u, .user_agent = "ua", .have_azs = true};
    assert_int_equal(disc_ec2_refresh(&s3, &out, &err), -1);
    assert_non_null(strstr(err.msg, "could not describe instances: operation error EC2: "
                                    "DescribeInstances: Post \"http://127.0.0.1:1/\""));
    disc_ec2_destroy(&s3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_zone_ids_optional),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
