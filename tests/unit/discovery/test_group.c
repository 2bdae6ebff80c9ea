/*
 * test_group.c - target group lists as file and HTTP discovery read them
 * (upstream's targetgroup.Group decoding): sources, the meta label, label
 * values of any YAML scalar type, and each error upstream reports; stored
 * groups dropping empty label values; the merge of group and target labels.
 */
#include "unit/unit.h"

#include "discovery/internal.h"

static void assert_group(const disc_tg *tg, const char *source, const char *addr0, size_t n)
{
    assert_string_equal(tg->g.source, source);
    assert_int_equal(tg->g.n_targets, n);
    if (n) assert_string_equal(core_labels_get(tg->g.targets[0], "__address__"), addr0);
}

static void test_json(void **state)
{
    (void)state;
    const char *doc =
        "[{\"targets\": [\"a:1\", \"b:2\"], \"labels\": {\"env\": \"prod\", \"n\": null}},"
        " {\"Targets\": [\"c:3\"]},"
        " {\"labels\": {\"__meta_url\": \"spoof\", \"x\": \"\"}},"
        " {}]";
    disc_tgs out = {0};
    core_err err = {{0}};
    assert_int_equal(
        disc_parse_groups(DISC_FMT_JSON, "http://sd/x", doc, strlen(doc), "__meta_url", &out, &err),
        0);
    assert_int_equal(out.n, 4);
    assert_group(out.v[0], "http://sd/x:0", "a:1", 2);
    assert_string_equal(core_labels_get(out.v[0]->g.targets[1], "__address__"), "b:2");
    assert_int_equal(out.v[0]->g.targets[0]->len, 1);
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "env"), "prod");
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "__meta_url"), "http://sd/x");
    assert_null(core_labels_get(out.v[0]->g.labels, "n")); /* empty: dropped */
    assert_group(out.v[1], "http://sd/x:1", "c:3", 1);
    /* The meta label wins over one in the list. */
    assert_string_equal(core_labels_get(out.v[2]->g.labels, "__meta_url"), "http://sd/x");
    assert_int_equal(out.v[2]->g.labels->len, 1);
    assert_group(out.v[3], "http://sd/x:3", NULL, 0);
    disc_tgs_destroy(&out);

    /* null is an empty list. */
    assert_int_equal(disc_parse_groups(DISC_FMT_JSON, "u", "null", 4, "__meta_url", &out, &err), 0);
    assert_int_equal(out.n, 0);

    struct {
        const char *doc, *msg;
    } bad[] = {
        {"", "unexpected end of JSON input"},
        {"[{\"targets\": [\"a\"]}", "unexpected end of JSON input"},
        {"[{\"targets\": [\"a\"]}] x", "json: "},
        {"{}", "json: cannot unmarshal object into Go value of type []*targetgroup.Group"},
        {"[null]", "nil target group item found"},
        {"[{\"targets\": [\"a\"], \"foo\": 1}]", "json: unknown field \"foo\""},
        {"[{\"targets\": [1]}]", "json: cannot unmarshal number into field targets of type string"},
        {"[{\"targets\": \"a\"}]",
         "json: cannot unmarshal string into field targets of type []string"},
        {"[{\"labels\": {\"a\": 1}}]",
         "json: cannot unmarshal number into a label value of type string"},
        {"[{\"labels\": {\"\": \"x\"}}]", "\"\" is not a valid label name"},
        {"[{\"labels\": {\"\\u00ff\\ud800\": \"x\"}}]", "json: "},
        {"[\"x\"]", "json: cannot unmarshal string into a target group"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_int_equal(disc_parse_groups(DISC_FMT_JSON, "u", bad[i].doc, strlen(bad[i].doc),
                                           "__meta_url", &out, &err),
                         -1);
        assert_int_equal(out.n, 0);
        if (strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("%s: got \"%s\", want \"%s...\"", bad[i].doc, err.msg, bad[i].msg);
    }
    disc_tgs_destroy(&out);
}

static void test_yaml(void **state)
{
    (void)state;
    const char *doc = "- targets: ['localhost:9090', 'example.org:443']\n"
                      "  labels:\n"
                      "    foo: bar\n"
                      "    port: 80\n"
                      "    on: true\n"
                      "    \"utf8 ✓\": ok\n"
                      "- targets:\n"
                      "- labels: {a: b}\n";
    disc_tgs out = {0};
    core_err err = {{0}};
    assert_int_equal(disc_parse_groups(DISC_FMT_YAML, "sd/a.yml", doc, strlen(doc),
                                       "__meta_filepath", &out, &err),
                     0);
    assert_int_equal(out.n, 3);
    assert_group(out.v[0], "sd/a.yml:0", "localhost:9090", 2);
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "foo"), "bar");
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "port"), "80");
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "on"), "true");
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "utf8 ✓"), "ok");
    assert_string_equal(core_labels_get(out.v[0]->g.labels, "__meta_filepath"), "sd/a.yml");
    assert_group(out.v[1], "sd/a.yml:1", NULL, 0);
    assert_group(out.v[2], "sd/a.yml:2", NULL, 0);
    disc_tgs_destroy(&out);

    /* An empty document, or only a comment, is an empty list. */
    assert_int_equal(disc_parse_groups(DISC_FMT_YAML, "e.yml", "# nothing\n", 10, "m", &out, &err),
                     0);
    assert_int_equal(out.n, 0);
    assert_int_equal(disc_parse_groups(DISC_FMT_YAML, "e.yml", "", 0, "m", &out, &err), 0);
    assert_int_equal(out.n, 0);

    struct {
        const char *doc, *msg;
    } bad[] = {
        {"- targets: [a]\n  foo: 1\n", "f.yml:2:3: unknown field \"foo\" in target group"},
        {"- ~\n", "nil target group item found"},
        {"targets: [a]\n", "f.yml:1:1: expected a sequence of target groups, got a mapping"},
        {"- targets: a\n", "f.yml:1:12: expected a sequence for targets"},
        {"- labels: [a]\n", "f.yml:1:11: expected a mapping for labels"},
        {"- labels: {a: 1, a: 2}\n", "f.yml:1:18: key \"a\" already set in map"},
        {"- labels: {\"\": 1}\n", "f.yml:1:12: \"\" is not a valid label name"},
        {"- targets: [a\n", "f.yml:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_int_equal(disc_parse_groups(DISC_FMT_YAML, "f.yml", bad[i].doc, strlen(bad[i].doc),
                                           "m", &out, &err),
                         -1);
        assert_int_equal(out.n, 0);
        if (strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("%s: got \"%s\", want \"%s...\"", bad[i].doc, err.msg, bad[i].msg);
    }
    disc_tgs_destroy(&out);
}

static void test_stored_groups(void **state)
{
    (void)state;
    disc_tg *tg = disc_tg_new("src");
    core_label gl[] = {{"job", "g"}, {"zone", "a"}, {"empty", ""}};
    disc_tg_set_labels(tg, gl, 3);
    assert_int_equal(tg->g.labels->len, 2);
    for (int i = 0; i < 20; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "h%d:80", i);
        core_label tl[] = {{"__address__", addr}, {"zone", i % 2 ? "b" : ""}, {"m", NULL}};
        disc_tg_add_target(tg, tl, 3);
    }
    assert_int_equal(tg->g.n_targets, 20);
    core_arena a;
    core_arena_init(&a, 0);
    /* A target label wins over the group's; a missing one comes from the group. */
    core_labels *t0 = disc_target_labels(&tg->g, 0, &a), *t1 = disc_target_labels(&tg->g, 1, &a);
    assert_string_equal(core_labels_get(t0, "zone"), "a");
    assert_string_equal(core_labels_get(t1, "zone"), "b");
    assert_string_equal(core_labels_get(t1, "job"), "g");
    assert_string_equal(core_labels_get(t1, "__address__"), "h1:80");
    assert_int_equal(t1->len, 3);
    core_arena_destroy(&a);
    disc_tg *ref = disc_tg_ref(tg);
    disc_tg_unref(tg);
    assert_string_equal(ref->g.source, "src");
    disc_tg_unref(ref);

    core_sb sb = CORE_SB_INIT;
    disc_join_host_port(&sb, "::1", 9090);
    core_sb_addc(&sb, ' ');
    disc_join_host_port(&sb, "10.0.0.1", 80);
    assert_string_equal(sb.buf, "[::1]:9090 10.0.0.1:80");
    core_sb_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_stored_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
