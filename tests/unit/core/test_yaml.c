/* Unit tests for server/core/yaml.c. */
#include "unit/unit.h"

#include "core/core.h"

#include <math.h>
#include <unistd.h>

static core_err err;

static core_yaml_doc *parse_ok(const char *text)
{
    err.msg[0] = '\0';
    core_yaml_doc *doc = core_yaml_parse("t.yml", text, strlen(text), &err);
    if (doc == NULL) fail_msg("parse failed: %s", err.msg);
    return doc;
}

/* Parses text that must fail and returns the message. */
static const char *parse_fail(const char *text)
{
    err.msg[0] = '\0';
    core_yaml_doc *doc = core_yaml_parse("t.yml", text, strlen(text), &err);
    assert_null(doc);
    return err.msg;
}

static const core_yaml_node *get(const core_yaml_doc *doc, const char *key)
{
    return core_yaml_get(core_yaml_root(doc), key);
}

#define assert_pos(node, l, c)               \
    do {                                     \
        assert_non_null(node);               \
        assert_int_equal((node)->line, (l)); \
        assert_int_equal((node)->col, (c));  \
    } while (0)

#define assert_scalar(node, text)                         \
    do {                                                  \
        assert_non_null(node);                            \
        assert_int_equal((node)->kind, CORE_YAML_SCALAR); \
        assert_string_equal((node)->value, (text));       \
        assert_int_equal((node)->len, strlen(text));      \
    } while (0)

static void test_block_positions(void **state)
{
    core_yaml_doc *doc = parse_ok("global:\n"
                                  "  scrape_interval: 15s\n"
                                  "  labels:\n"
                                  "    a: b\n"
                                  "scrape_configs:\n"
                                  "  - job_name: x\n"
                                  "  - job_name: y\n");
    const core_yaml_node *root = core_yaml_root(doc);
    assert_int_equal(root->kind, CORE_YAML_MAP);
    assert_pos(root, 1, 1);
    assert_int_equal(root->n, 2);
    assert_scalar(root->items[0], "global");
    assert_pos(root->items[0], 1, 1);
    assert_scalar(root->items[2], "scrape_configs");
    assert_pos(root->items[2], 5, 1);

    const core_yaml_node *global = get(doc, "global");
    assert_int_equal(global->kind, CORE_YAML_MAP);
    assert_pos(global, 2, 3);
    const core_yaml_node *si = core_yaml_get(global, "scrape_interval");
    assert_scalar(si, "15s");
    assert_pos(si, 2, 20);
    assert_true(si->plain);
    assert_null(si->tag);
    assert_pos(core_yaml_get(core_yaml_get(global, "labels"), "a"), 4, 8);

    const core_yaml_node *sc = get(doc, "scrape_configs");
    assert_int_equal(sc->kind, CORE_YAML_SEQ);
    assert_pos(sc, 6, 3);
    assert_int_equal(sc->n, 2);
    assert_pos(sc->items[0], 6, 5);
    assert_pos(core_yaml_get(sc->items[1], "job_name"), 7, 15);
    assert_scalar(core_yaml_get(sc->items[1], "job_name"), "y");
    core_yaml_free(doc);
}

static void test_flow_positions(void **state)
{
    core_yaml_doc *doc = parse_ok("targets: [\"a:1\", 'b:2']\n"
                                  "m: {a: 1, b: [x, y]}\n");
    const core_yaml_node *t = get(doc, "targets");
    assert_int_equal(t->kind, CORE_YAML_SEQ);
    assert_pos(t, 1, 10);
    assert_int_equal(t->n, 2);
    assert_scalar(t->items[0], "a:1");
    assert_pos(t->items[0], 1, 11);
    assert_false(t->items[0]->plain);
    assert_scalar(t->items[1], "b:2");
    assert_pos(t->items[1], 1, 18);

    const core_yaml_node *m = get(doc, "m");
    assert_int_equal(m->kind, CORE_YAML_MAP);
    assert_pos(m, 2, 4);
    assert_pos(m->items[0], 2, 5);
    assert_pos(core_yaml_get(m, "a"), 2, 8);
    const core_yaml_node *b = core_yaml_get(m, "b");
    assert_pos(b, 2, 14);
    assert_scalar(b->items[1], "y");
    assert_pos(b->items[1], 2, 18);
    core_yaml_free(doc);
}

static void test_scalar_styles_and_tags(void **state)
{
    core_yaml_doc *doc = parse_ok("lit: |\n"
                                  "  line1\n"
                                  "  line2\n"
                                  "folded: >\n"
                                  "  a\n"
                                  "  b\n"
                                  "nul: \"a\\0b\"\n"
                                  "str: !!str 12\n"
                                  "custom: !foo x\n"
                                  "seq: !!seq [1]\n");
    const core_yaml_node *lit = get(doc, "lit");
    assert_scalar(lit, "line1\nline2\n");
    assert_false(lit->plain);
    assert_scalar(get(doc, "folded"), "a b\n");
    const core_yaml_node *nul = get(doc, "nul");
    assert_int_equal(nul->len, 3);
    assert_memory_equal(nul->value, "a\0b", 4);
    const core_yaml_node *str = get(doc, "str");
    assert_scalar(str, "12");
    assert_true(str->plain);
    assert_string_equal(str->tag, "!!str");
    assert_string_equal(get(doc, "custom")->tag, "!foo");
    assert_string_equal(get(doc, "seq")->tag, "!!seq");
    core_yaml_free(doc);
}

static void test_name_root_get(void **state)
{
    core_yaml_doc *doc = parse_ok("a: 1\n\"b c\": 2\nl: [1]\n");
    assert_string_equal(core_yaml_name(doc), "t.yml");
    const core_yaml_node *root = core_yaml_root(doc);
    assert_scalar(core_yaml_get(root, "a"), "1");
    assert_scalar(core_yaml_get(root, "b c"), "2");
    assert_null(core_yaml_get(root, "b"));
    assert_null(core_yaml_get(get(doc, "l"), "a")); /* not a mapping */
    assert_null(core_yaml_get(get(doc, "a"), "a"));
    assert_null(core_yaml_get(NULL, "a"));
    core_yaml_free(doc);
    doc = parse_ok("{[a]: 1, b: 2}");
    assert_scalar(get(doc, "b"), "2");
    core_yaml_free(doc);
    core_yaml_free(NULL);
}

static void test_empty_documents(void **state)
{
    core_yaml_doc *doc = core_yaml_parse("t.yml", NULL, 0, &err);
    assert_non_null(doc);
    assert_null(core_yaml_root(doc));
    core_yaml_free(doc);

    doc = parse_ok("");
    assert_null(core_yaml_root(doc));
    core_yaml_free(doc);

    doc = parse_ok("# only a comment\n\n");
    assert_null(core_yaml_root(doc));
    core_yaml_free(doc);

    doc = parse_ok("---\n"); /* an explicit document holding nothing: a null scalar */
    assert_true(core_yaml_is_null(core_yaml_root(doc)));
    assert_pos(core_yaml_root(doc), 2, 1);
    core_yaml_free(doc);
}

static void test_only_first_document(void **state)
{
    /* The second document is broken; it is never read. */
    core_yaml_doc *doc = parse_ok("a: 1\n---\nb: [\n");
    assert_int_equal(core_yaml_root(doc)->n, 1);
    assert_scalar(get(doc, "a"), "1");
    assert_null(get(doc, "b"));
    core_yaml_free(doc);
}

static void test_syntax_errors(void **state)
{
    assert_string_equal(parse_fail("a: [1, 2\nb: 3\n"),
                        "t.yml:2:2: did not find expected ',' or ']' (while parsing a flow "
                        "sequence that began at line 1, column 4)");
    assert_string_equal(parse_fail("a: \"abc\n"),
                        "t.yml:2:1: found unexpected end of stream (while scanning a quoted "
                        "scalar that began at line 1, column 4)");
    assert_string_equal(parse_fail("a:\n  b: 1\n c: 2\n"),
                        "t.yml:3:2: did not find expected key (while parsing a block mapping "
                        "that began at line 1, column 1)");
    /* Reader errors: placed by counting up to their byte offset. */
    assert_string_equal(parse_fail("a: 1\nb: \xff\n"),
                        "t.yml:2:4: invalid leading UTF-8 octet (#xFF)");
    assert_string_equal(parse_fail("a: b\x01\n"),
                        "t.yml:1:5: control characters are not allowed (#x01)");
    assert_string_equal(parse_fail("a: \xc3\xa9\xff"), /* columns count characters */
                        "t.yml:1:5: invalid leading UTF-8 octet (#xFF)");
    assert_string_equal(parse_fail("a: \xc3"), "t.yml:1:4: incomplete UTF-8 octet sequence");
}

static const char rule_file[] =
    "groups:\n"
    "  - name: example\n"
    "    rules:\n"
    "      - alert: HighRequestLatency\n"
    "        expr: job:request_latency_seconds:mean5m{job=\"myjob\"} > 0.5\n"
    "        for: 10m\n"
    "        annotations:\n"
    "          description: %sRequest latency is above 1s (current value: {{ $value }}s)%s\n";

static void test_unquoted_colon_hint(void **state)
{
    char text[1024];
    snprintf(text, sizeof text, rule_file, "", "");
    assert_string_equal(parse_fail(text), "t.yml:8:66: mapping values are not allowed in this "
                                          "context (a value that contains \": \" must be quoted)");

    snprintf(text, sizeof text, rule_file, "\"", "\"");
    core_yaml_doc *doc = parse_ok(text);
    const core_yaml_node *rule = get(doc, "groups")->items[0];
    rule = core_yaml_get(rule, "rules")->items[0];
    assert_scalar(core_yaml_get(rule, "expr"),
                  "job:request_latency_seconds:mean5m{job=\"myjob\"} > 0.5");
    const core_yaml_node *desc = core_yaml_get(core_yaml_get(rule, "annotations"), "description");
    assert_scalar(desc, "Request latency is above 1s (current value: {{ $value }}s)");
    assert_pos(desc, 8, 24);
    assert_false(desc->plain);
    core_yaml_free(doc);
}

static void test_aliases(void **state)
{
    core_yaml_doc *doc = parse_ok("a: &m {k: v}\n"
                                  "b: *m\n"
                                  "s: &x 1\n"
                                  "t: *x\n"
                                  "u: &x 2\n"
                                  "w: *x\n");
    assert_ptr_equal(get(doc, "b"), get(doc, "a"));
    assert_pos(get(doc, "b"), 1, 4); /* where the anchored node is */
    assert_ptr_equal(get(doc, "t"), get(doc, "s"));
    assert_scalar(get(doc, "w"), "2"); /* a redefined anchor shadows the old one */
    core_yaml_free(doc);

    assert_string_equal(parse_fail("a: 1\nb: *nope\n"),
                        "t.yml:2:4: unknown anchor \"nope\" referenced");
    assert_string_equal(parse_fail("a: &x [1, *x]\n"),
                        "t.yml:1:11: anchor \"x\" value contains itself");
    assert_string_equal(parse_fail("a: &y [&z {k: *nope}]\n"),
                        "t.yml:1:15: unknown anchor \"nope\" referenced");

    /* Many anchors, each alias finding its own. */
    core_sb sb = CORE_SB_INIT;
    for (int i = 0; i < 40; i++)
        core_sb_addf(&sb, "a%d: &x%d [%d]\n", i, i, i);
    for (int i = 0; i < 40; i++)
        core_sb_addf(&sb, "b%d: *x%d\n", i, i);
    doc = parse_ok(sb.buf);
    for (int i = 0; i < 40; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d", i);
        assert_ptr_equal(get(doc, b), get(doc, a));
    }
    core_yaml_free(doc);
    core_sb_destroy(&sb);
}

static void test_excessive_aliasing(void **state)
{
    /* Each level aliases the one before ten times: f would stand for a million
     * nodes while the document has a few dozen. */
    static const char text[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert_string_equal(parse_fail(text), "t.yml:6:44: document contains excessive aliasing");
    /* One level less stands for about a hundred thousand nodes: fine. */
    char shorter[sizeof text];
    snprintf(shorter, sizeof shorter, "%s", text);
    *strstr(shorter, "f:") = '\0';
    core_yaml_doc *doc = parse_ok(shorter);
    assert_ptr_equal(get(doc, "e")->items[9], get(doc, "d"));
    core_yaml_free(doc);
}

static void test_merge_keys(void **state)
{
    static const char *const ab[] = {"a", "b", NULL};
    static const char *const abc[] = {"a", "b", "c", NULL};
    core_yaml_doc *doc = parse_ok("base: &base\n"
                                  "  a: 1\n"
                                  "  b: 2\n"
                                  "over: &over {b: 20, c: 30}\n"
                                  "after:\n"
                                  "  <<: *base\n"
                                  "  b: 3\n"
                                  "before:\n"
                                  "  b: 3\n"
                                  "  <<: *base\n"
                                  "list:\n"
                                  "  <<: [*over, *base]\n"
                                  "inline: {<<: {a: 9}, b: 8}\n"
                                  "tagged: {!!merge \"<<\": *base}\n"
                                  "quoted: {\"<<\": 1}\n"
                                  "empty: {<<: []}\n"
                                  "odd: {<<: {[x]: 1, y: 2}, y: 3}\n");
    const core_yaml_node *base = get(doc, "base");
    for (int i = 0; i < 2; i++) {
        const core_yaml_node *m = get(doc, i == 0 ? "after" : "before");
        assert_int_equal(m->n, 2);
        assert_scalar(core_yaml_get(m, "b"), "3"); /* own keys win, wherever written */
        assert_ptr_equal(core_yaml_get(m, "a"), core_yaml_get(base, "a"));
        assert_scalar(m->items[0], "b"); /* own pairs first, then merged */
        assert_pos(m->items[0], i == 0 ? 7 : 9, 3);
        assert_pos(m->items[2], 2, 3);
        assert_int_equal(core_yaml_check_keys(doc, m, ab, "m", &err), 0);
    }
    const core_yaml_node *list = get(doc, "list");
    assert_int_equal(list->n, 3);
    assert_scalar(core_yaml_get(list, "b"), "20"); /* earlier mappings win */
    assert_scalar(core_yaml_get(list, "c"), "30");
    assert_scalar(core_yaml_get(list, "a"), "1");
    assert_int_equal(core_yaml_check_keys(doc, list, abc, "list", &err), 0);
    const core_yaml_node *in = get(doc, "inline");
    assert_int_equal(in->n, 2);
    assert_scalar(core_yaml_get(in, "a"), "9");
    assert_scalar(core_yaml_get(in, "b"), "8");
    assert_int_equal(get(doc, "tagged")->n, 2);
    assert_scalar(core_yaml_get(get(doc, "tagged"), "b"), "2");
    assert_scalar(core_yaml_get(get(doc, "quoted"), "<<"), "1"); /* quoted: a plain key */
    assert_int_equal(get(doc, "empty")->n, 0);
    const core_yaml_node *odd = get(doc, "odd");
    assert_int_equal(odd->n, 2);
    assert_scalar(core_yaml_get(odd, "y"), "3");
    assert_int_equal(odd->items[2]->kind, CORE_YAML_SEQ); /* left for check_keys to refuse */
    core_yaml_free(doc);

    /* A key the user really wrote twice is still caught. */
    doc = parse_ok("base: &base {a: 1}\n"
                   "m:\n"
                   "  <<: *base\n"
                   "  b: 3\n"
                   "  b: 4\n");
    assert_int_equal(core_yaml_check_keys(doc, get(doc, "m"), ab, "m", &err), -1);
    assert_string_equal(err.msg, "t.yml:5:3: field \"b\" given twice in m (first at line 4)");
    core_yaml_free(doc);

    assert_string_equal(parse_fail("a: 1\nb: {<<: 5}\n"),
                        "t.yml:2:9: map merge requires map or sequence of maps as the value");
    assert_string_equal(parse_fail("b: {<<: [{a: 1}, [2]]}\n"),
                        "t.yml:1:18: map merge requires map or sequence of maps as the value");
}

static void test_errorf(void **state)
{
    core_yaml_doc *doc = parse_ok("a:\n  b: 1\n");
    const core_yaml_node *b = core_yaml_get(get(doc, "a"), "b");
    assert_int_equal(core_yaml_errorf(doc, b, &err, "bad %s %d", "thing", 3), -1);
    assert_string_equal(err.msg, "t.yml:2:6: bad thing 3");
    assert_int_equal(core_yaml_errorf(doc, NULL, &err, "no %s", "place"), -1);
    assert_string_equal(err.msg, "t.yml: no place");
    assert_int_equal(core_yaml_errorf(doc, b, NULL, "discarded"), -1);
    core_yaml_free(doc);
}

static void test_is_null(void **state)
{
    core_yaml_doc *doc = parse_ok("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: !!null x\n"
                                  "g: \"null\"\nh: ''\ni: nil\nj: !!str null\nk: {}\nl: []\n");
    for (const char *k = "abcdef"; *k; k++) {
        char key[2] = {*k, '\0'};
        assert_true(core_yaml_is_null(get(doc, key)));
    }
    for (const char *k = "ghijkl"; *k; k++) {
        char key[2] = {*k, '\0'};
        assert_false(core_yaml_is_null(get(doc, key)));
    }
    assert_true(core_yaml_is_null(NULL));
    core_yaml_free(doc);
}

static void test_check_keys(void **state)
{
    static const char *const allowed[] = {"job_name", "scrape_interval", NULL};
    core_yaml_doc *doc = parse_ok("ok:\n"
                                  "  job_name: a\n"
                                  "  scrape_interval: 1s\n"
                                  "unknown:\n"
                                  "  job_name: a\n"
                                  "  foo: 1\n"
                                  "twice:\n"
                                  "  job_name: a\n"
                                  "  scrape_interval: 1s\n"
                                  "  \"job_name\": b\n"
                                  "odd: {\"fo\\\"o\\n\": 1}\n"
                                  "seq: [1]\n"
                                  "scalar: 5\n"
                                  "null:\n"
                                  "key: {[a]: 1}\n");
    assert_int_equal(core_yaml_check_keys(doc, get(doc, "ok"), allowed, "scrape config", &err), 0);
    assert_int_equal(core_yaml_check_keys(doc, get(doc, "null"), allowed, "scrape config", &err),
                     0);
    assert_int_equal(core_yaml_check_keys(doc, NULL, allowed, "scrape config", &err), 0);

    assert_int_equal(core_yaml_check_keys(doc, get(doc, "unknown"), allowed, "scrape config", &err),
                     -1);
    assert_string_equal(err.msg, "t.yml:6:3: unknown field \"foo\" in scrape config");
    core_yaml_check_keys(doc, get(doc, "twice"), allowed, "scrape config", &err);
    assert_string_equal(err.msg,
                        "t.yml:10:3: field \"job_name\" given twice in scrape config (first at "
                        "line 8)");
    core_yaml_check_keys(doc, get(doc, "odd"), allowed, "scrape config", &err);
    assert_string_equal(err.msg, "t.yml:11:7: unknown field \"fo\\\"o\\n\" in scrape config");
    core_yaml_check_keys(doc, get(doc, "seq"), allowed, "scrape config", &err);
    assert_string_equal(err.msg,
                        "t.yml:12:6: expected a mapping for scrape config, got a sequence");
    core_yaml_check_keys(doc, get(doc, "scalar"), allowed, "scrape config", &err);
    assert_string_equal(err.msg, "t.yml:13:9: expected a mapping for scrape config, got a scalar");
    core_yaml_check_keys(doc, get(doc, "key"), allowed, "scrape config", &err);
    assert_string_equal(err.msg,
                        "t.yml:15:7: expected a scalar key in scrape config, got a sequence");
    core_yaml_free(doc);
}

/* Parses "v: <value>" and returns the document; *node is the value. */
static core_yaml_doc *value_doc(const char *value, const core_yaml_node **node)
{
    char text[256];
    snprintf(text, sizeof text, "v: %s\n", value);
    core_yaml_doc *doc = parse_ok(text);
    *node = get(doc, "v");
    return doc;
}

static void test_str(void **state)
{
    static const struct {
        const char *yaml, *want;
    } good[] = {
        {"abc", "abc"}, {"'15s'", "15s"}, {"\"a\\tb\"", "a\tb"},  {"''", ""},
        {"~", ""},      {"", ""},         {"!!str null", "null"}, {"12", "12"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const core_yaml_node *node;
        core_yaml_doc *doc = value_doc(good[i].yaml, &node);
        const char *out = NULL;
        assert_int_equal(core_yaml_str(doc, node, "job_name", &out, &err), 0);
        assert_string_equal(out, good[i].want);
        core_yaml_free(doc);
    }
    const core_yaml_node *node;
    core_yaml_doc *doc = value_doc("[a]", &node);
    const char *out = "unchanged";
    assert_int_equal(core_yaml_str(doc, node, "job_name", &out, &err), -1);
    assert_string_equal(err.msg, "t.yml:1:4: expected a scalar for job_name, got a sequence");
    assert_string_equal(out, "unchanged");
    assert_int_equal(core_yaml_str(doc, NULL, "job_name", &out, &err), 0); /* missing: "" */
    assert_string_equal(out, "");
    core_yaml_free(doc);
}

/* Decodes "v: <value>" with `decode` and returns its result; err holds a message. */
#define DECODE(decode, value, out)                           \
    ({                                                       \
        const core_yaml_node *node_;                         \
        core_yaml_doc *doc_ = value_doc((value), &node_);    \
        int rc_ = decode(doc_, node_, "field", (out), &err); \
        core_yaml_free(doc_);                                \
        rc_;                                                 \
    })

static void test_bool(void **state)
{
    static const char *const yes[] = {"y",    "Y",    "yes", "Yes", "YES",           "true",
                                      "True", "TRUE", "on",  "On",  "!!bool \"on\"", "ON"};
    static const char *const no[] = {"n",     "N",     "no",  "No",  "NO",  "false",
                                     "False", "FALSE", "off", "Off", "OFF", "!!bool n"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bool b = false;
        assert_int_equal(DECODE(core_yaml_bool, yes[i], &b), 0);
        assert_true(b);
        b = true;
        assert_int_equal(DECODE(core_yaml_bool, no[i], &b), 0);
        assert_false(b);
    }
    static const char *const bad[] = {"maybe", "tRue", "1", "0", "yes!", "t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool b;
        assert_int_equal(DECODE(core_yaml_bool, bad[i], &b), -1);
    }
    bool b;
    DECODE(core_yaml_bool, "maybe", &b);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"maybe\" as a boolean in field");
    DECODE(core_yaml_bool, "\"true\"", &b);
    assert_string_equal(err.msg,
                        "t.yml:1:4: expected a boolean for field, got the string \"true\"");
    DECODE(core_yaml_bool, "!!str true", &b);
    assert_string_equal(err.msg, "t.yml:1:4: expected a boolean for field, got !!str \"true\"");
    DECODE(core_yaml_bool, "", &b);
    assert_string_equal(err.msg, "t.yml:1:3: expected a boolean for field, got null");
    DECODE(core_yaml_bool, "{a: 1}", &b);
    assert_string_equal(err.msg, "t.yml:1:4: expected a scalar for field, got a mapping");

    core_yaml_doc *doc = parse_ok("a: 1\n");
    assert_int_equal(core_yaml_bool(doc, NULL, "field", &b, &err), -1);
    assert_string_equal(err.msg, "t.yml: expected a boolean for field, got null");
    core_yaml_free(doc);
}

static void test_int64(void **state)
{
    static const struct {
        const char *yaml;
        int64_t want;
    } good[] = {
        {"0", 0},
        {"42", 42},
        {"-17", -17},
        {"+5", 5},
        {"0x1F", 31},
        {"0X1f", 31},
        {"-0x10", -16},
        {"0o17", 15},
        {"017", 15},
        {"-017", -15},
        {"00", 0},
        {"0b101", 5},
        {"1_000_000", 1000000},
        {"0x_ff", 255},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"0x7fffffffffffffff", INT64_MAX},
        {"!!int \"12\"", 12},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t v = -1;
        if (DECODE(core_yaml_int64, good[i].yaml, &v) != 0)
            fail_msg("%s: %s", good[i].yaml, err.msg);
        assert_int_equal(v, good[i].want);
    }
    static const char *const bad[] = {"12x", "1.5", "08", "0x",  "0b2", "-_",     "+",    "_",
                                      "0o",  "1e3", "x1", "0xg", "1 2", "\"12\"", ".inf", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        if (DECODE(core_yaml_int64, bad[i], &v) != -1) fail_msg("%s accepted", bad[i]);
    }
    int64_t v;
    DECODE(core_yaml_int64, "12x", &v);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"12x\" as an integer in field");
    DECODE(core_yaml_int64, "9223372036854775808", &v);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"9223372036854775808\" as an integer in "
                                 "field: out of range");
    DECODE(core_yaml_int64, "-9223372036854775809", &v);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"-9223372036854775809\" as an integer "
                                 "in field: out of range");
    DECODE(core_yaml_int64, "0x10000000000000000", &v);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"0x10000000000000000\" as an integer in "
                                 "field: out of range");
    DECODE(core_yaml_int64, "99999999999999999999x", &v); /* bad syntax beats the overflow */
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"99999999999999999999x\" as an integer "
                                 "in field");
    DECODE(core_yaml_int64, "'5'", &v);
    assert_string_equal(err.msg, "t.yml:1:4: expected an integer for field, got the string \"5\"");
}

static void test_double(void **state)
{
    static const struct {
        const char *yaml;
        double want;
    } good[] = {
        {"1.5", 1.5},        {"-2e3", -2000},      {"+2.5E-1", 0.25},    {".5", 0.5},
        {"5.", 5},           {"5.e1", 50},         {"42", 42},           {"1_000.5", 1000.5},
        {"0.1", 0.1},        {"1e-400", 0},        {".inf", INFINITY},   {".Inf", INFINITY},
        {"+.INF", INFINITY}, {"-.inf", -INFINITY}, {"-.Inf", -INFINITY}, {"!!float \"3\"", 3},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double d = -1;
        if (DECODE(core_yaml_double, good[i].yaml, &d) != 0)
            fail_msg("%s: %s", good[i].yaml, err.msg);
        assert_true(d == good[i].want);
    }
    static const char *const nans[] = {".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        double d = 0;
        assert_int_equal(DECODE(core_yaml_double, nans[i], &d), 0);
        assert_true(isnan(d));
    }
    static const char *const bad[] = {"1.2.3", "0x10", "inf",  "nan",      "1e",
                                      "e3",    ".",    "abc",  "-.",       "1e+",
                                      ".e1",   "1.5x", ".NAn", "infinity", "\"1.5\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double d;
        if (DECODE(core_yaml_double, bad[i], &d) != -1) fail_msg("%s accepted", bad[i]);
    }
    double d;
    DECODE(core_yaml_double, "1.2.3", &d);
    assert_string_equal(err.msg, "t.yml:1:4: cannot parse \"1.2.3\" as a number in field");
    DECODE(core_yaml_double, "1e999", &d);
    assert_string_equal(err.msg,
                        "t.yml:1:4: cannot parse \"1e999\" as a number in field: out of range");
    DECODE(core_yaml_double, "[1]", &d);
    assert_string_equal(err.msg, "t.yml:1:4: expected a scalar for field, got a sequence");
}

static void test_duration(void **state)
{
    static const struct {
        const char *yaml;
        int64_t want;
    } good[] = {
        {"15s", 15000}, {"\"15s\"", 15000}, {"1h30m", 5400000}, {"0", 0}, {"500ms", 500},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        if (DECODE(core_yaml_duration, good[i].yaml, &ms) != 0)
            fail_msg("%s: %s", good[i].yaml, err.msg);
        assert_int_equal(ms, good[i].want);
    }
    int64_t ms;
    assert_int_equal(DECODE(core_yaml_duration, "1x", &ms), -1);
    core_err why; /* the reason is duration.c's own message */
    assert_int_equal(core_duration_parse("1x", 2, &ms, &why), -1);
    char want[CORE_ERR_MAX + 64];
    snprintf(want, sizeof want, "t.yml:1:4: cannot parse \"1x\" as a duration in field: %s",
             why.msg);
    assert_string_equal(err.msg, want);
    assert_int_equal(DECODE(core_yaml_duration, "'-1s'", &ms), -1);
    assert_int_equal(DECODE(core_yaml_duration, "{a: 1}", &ms), -1);
    assert_string_equal(err.msg, "t.yml:1:4: expected a scalar for field, got a mapping");
    assert_int_equal(DECODE(core_yaml_duration, "~", &ms), -1);
    assert_string_equal(err.msg, "t.yml:1:4: expected a duration for field, got null");
}

/* Writes text to a new temporary file and returns its path in `path`. */
static void write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/test_yaml_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_load_file(void **state)
{
    char path[64];
    write_temp(path, "global:\n  scrape_interval: 15s\n");
    core_yaml_doc *doc = core_yaml_load_file(path, &err);
    assert_non_null(doc);
    assert_string_equal(core_yaml_name(doc), path);
    assert_pos(core_yaml_get(get(doc, "global"), "scrape_interval"), 2, 20);
    core_yaml_free(doc);
    unlink(path);

    write_temp(path, "a: [\n");
    assert_null(core_yaml_load_file(path, &err));
    char want[256];
    snprintf(want, sizeof want,
             "%s:2:1: did not find expected node content (while parsing a flow node that began "
             "at line 2, column 1)",
             path);
    assert_string_equal(err.msg, want);
    unlink(path);

    assert_null(core_yaml_load_file("/nonexistent-dir/x.yml", &err));
    assert_string_equal(err.msg, "open /nonexistent-dir/x.yml: No such file or directory");
    assert_null(core_yaml_load_file("/", &err));
    assert_string_equal(err.msg, "read /: Is a directory");
}

/* `depth` levels of "[", then `close` levels of "]". */
static char *brackets(size_t depth, size_t close)
{
    char *s = malloc(depth + close + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', close);
    s[depth + close] = '\0';
    return s;
}

static void test_deep_nesting(void **state)
{
    char *text = brackets(1000, 1000);
    core_yaml_doc *doc = parse_ok(text);
    const core_yaml_node *node = core_yaml_root(doc);
    for (int i = 1; i < 1000; i++) {
        assert_int_equal(node->n, 1);
        node = node->items[0];
    }
    assert_int_equal(node->kind, CORE_YAML_SEQ);
    assert_int_equal(node->n, 0);
    core_yaml_free(doc);
    free(text);

    text = brackets(1001, 1001);
    assert_string_equal(parse_fail(text), "t.yml:1:1001: nesting deeper than 1000 levels");
    free(text);
    text = brackets(200000, 0);
    assert_string_equal(parse_fail(text), "t.yml:1:1001: nesting deeper than 1000 levels");
    free(text);

    /* Block mappings, one more level per line. */
    core_sb sb = CORE_SB_INIT;
    for (int i = 0; i < 1001; i++)
        core_sb_addf(&sb, "%*sk:\n", i, "");
    assert_string_equal(parse_fail(sb.buf), "t.yml:1001:1001: nesting deeper than 1000 levels");
    core_sb_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_positions),
        cmocka_unit_test(test_flow_positions),
        cmocka_unit_test(test_scalar_styles_and_tags),
        cmocka_unit_test(test_name_root_get),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_only_first_document),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unquoted_colon_hint),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_excessive_aliasing),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_errorf),
        cmocka_unit_test(test_is_null),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
