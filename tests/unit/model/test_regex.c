/*
 * test_regex.c - Go (RE2) regexes on PCRE2: acceptance, Go's error messages,
 * whole-value matching and Regexp.Expand.
 *
 * The table was produced by running every row through Go's regexp package
 * (regexp.Compile("^(?s:" + pattern + ")$"), FindStringSubmatchIndex and
 * ExpandString), the way Prometheus compiles relabel regexes; rows Go 1.19
 * reads differently from the Go of Prometheus 3.x ((?<name>), Unicode class
 * names) are written by hand below, as are the documented differences.
 * Expected: "E <message>" (compile error), "-" (no match) or "= <expansion>".
 */
#include "unit/unit.h"

#include "model/model.h"

#include <pthread.h>

typedef struct rx_case {
    const char *pattern, *subject, *tmpl, *want;
} rx_case;

static const rx_case cases[] = {
    {"(.*)", "foo", "$1", "= foo"},
    {"a(b)c", "abc", "x$1y", "= x"},
    {"(?P<name>a+)b", "aaab", "${name}!", "= aaa!"},
    {"(a)", "a", "$1x", "= "},
    {"(a)", "a", "${1}x", "= ax"},
    {"(a)", "a", "$$1", "= $1"},
    {"(a)", "a", "$", "= $"},
    {"(a)", "a", "${1", "= ${1"},
    {"(a)", "a", "$01", "= "},
    {"(a)", "a", "$0", "= a"},
    {"(abc", "", "", "E error parsing regexp: missing closing ): `^(?s:(abc)$`"},
    {"abc)", "", "", "E error parsing regexp: unexpected ): `^(?s:abc))$`"},
    {"a)(?s:b", "ab", "$0", "= ab"},
    {"abc\\", "", "", "E error parsing regexp: missing closing ): `^(?s:abc\\)$`"},
    {"a**", "", "", "E error parsing regexp: invalid nested repetition operator: `**`"},
    {"a*?*", "", "", "E error parsing regexp: invalid nested repetition operator: `*?*`"},
    {"*a", "", "", "E error parsing regexp: missing argument to repetition operator: `*`"},
    {"a{2,1}", "", "", "E error parsing regexp: invalid repeat count: `{2,1}`"},
    {"a{1001}", "", "", "E error parsing regexp: invalid repeat count: `{1001}`"},
    {"(a{100}){20}", "", "", "E error parsing regexp: invalid repeat count: `{20}`"},
    {"a{,5}", "a{,5}", "$0", "= a{,5}"},
    {"a{01}", "a{01}", "$0", "= a{01}"},
    {"(?=a)", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
    {"(?!a)", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?!`"},
    {"\\e", "", "", "E error parsing regexp: invalid escape sequence: `\\e`"},
    {"\\Z", "", "", "E error parsing regexp: invalid escape sequence: `\\Z`"},
    {"\\1", "", "", "E error parsing regexp: invalid escape sequence: `\\1`"},
    {"\\12", "\n", "$0", "= \n"},
    {"\\x41", "A", "$0", "= A"},
    {"\\x{263a}",
     "\xe2"
     "\x98"
     "\xba"
     "",
     "$0",
     "= \xe2"
     "\x98"
     "\xba"
     ""},
    {"\\x{}", "", "", "E error parsing regexp: invalid escape sequence: `\\x{}`"},
    {"\\x4", "", "", "E error parsing regexp: invalid escape sequence: `\\x4)`"},
    {"[a", "", "", "E error parsing regexp: missing closing ]: `[a)$`"},
    {"[z-a]", "", "", "E error parsing regexp: invalid character class range: `z-a`"},
    {"[[:foo:]]", "", "", "E error parsing regexp: invalid character class range: `[:foo:]`"},
    {"[[:alpha:]]+", "abc", "$0", "= abc"},
    {"\\pL+",
     "h\xc3"
     "\xa9"
     "llo",
     "$0",
     "= h\xc3"
     "\xa9"
     "llo"},
    {"\\p{Greek}+",
     "\xce"
     "\xb1"
     "\xce"
     "\xb2"
     "\xce"
     "\xb3"
     "",
     "$0",
     "= \xce"
     "\xb1"
     "\xce"
     "\xb2"
     "\xce"
     "\xb3"
     ""},
    {"\\p{Foo}", "", "", "E error parsing regexp: invalid character class range: `\\p{Foo}`"},
    {"\\s+", " \t\n", "$0", "=  \t\n"},
    {"\\s",
     "\x0b"
     "",
     "$0", "-"},
    {"[\\s]",
     "\x0b"
     "",
     "$0", "-"},
    {"[\\S]",
     "\x0b"
     "",
     "$0",
     "= \x0b"
     ""},
    {"\\v",
     "\x0b"
     "",
     "$0",
     "= \x0b"
     ""},
    {"a.c", "a\nc", "$0", "= a\nc"},
    {"(?-s)a.c", "a\nc", "$0", "-"},
    {"(?i)abc", "ABC", "$0", "= ABC"},
    {"(?i)k",
     "\xe2"
     "\x84"
     "\xaa"
     "",
     "$0",
     "= \xe2"
     "\x84"
     "\xaa"
     ""},
    {"a$", "a\n", "$0", "-"},
    {"(?m)a$", "a\n", "$0", "-"},
    {"^*a", "a", "$0", "= a"},
    {"(?i)*", "", "", "E error parsing regexp: missing argument to repetition operator: `*`"},
    {"a(?i)*", "aaa", "$0", "= aaa"},
    {"a*(?i)*", "aaa", "$0", "= aaa"},
    {"(?P<n>a)|(?P<n>b)", "b", "${n}", "= b"},
    {"(?P<1>a)", "a", "$1", "= a"},
    {"(?P<x1>a)", "a", "$x1", "= a"},
    {"(?P<a-b>a)", "", "", "E error parsing regexp: invalid named capture: `(?P<a-b>`"},
    {"(?P<ab", "", "", "E error parsing regexp: invalid named capture: `(?P<ab)$`"},
    {"(?)a", "a", "$0", "= a"},
    {"(?-)a", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?-)`"},
    {"(?i-)a", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`"},
    {"(?im-s:a.)", "A\n", "$0", "-"},
    {"\\Qa.b\\E+", "a.bbb", "$0", "= a.bbb"},
    {"\\Qa.b", "", "", "E error parsing regexp: missing closing ): `^(?s:\\Qa.b)$`"},
    {"foo|bar", "bar", "$0", "= bar"},
    {"foo bar", "foo bar", "$0", "= foo bar"},
    {"a#b", "a#b", "$0", "= a#b"},
    {"a]b}", "a]b}", "$0", "= a]b}"},
    {"[]a]+", "]a]", "$0", "= ]a]"},
    {"[^]a]+", "bcd", "$0", "= bcd"},
    {"x{2}{3}", "", "", "E error parsing regexp: invalid nested repetition operator: `{2}{3}`"},
    {"\\C", "", "", "E error parsing regexp: invalid escape sequence: `\\C`"},
    {"(a)(b)?", "a", "[$2]", "= []"},
    {"(a+)+b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$0", "-"},
    {"[\\d-z]+", "1-z", "$0", "= 1-z"},
    {"[a-\\d]", "", "", "E error parsing regexp: invalid escape sequence: `\\d`"},
    {"\\b*a", "a", "$0", "= a"},
    {"a|*", "", "", "E error parsing regexp: missing argument to repetition operator: `*`"},
    {"()*", "", "$0", "= "},
    {"(?U)a+", "aaa", "$0", "= aaa"},
    {"(?U)(a+)(a*)", "aaa", "$1|$2", "= a|aa"},
    {"(a+?)(a*)", "aaa", "$1|$2", "= a|aa"},
    {"[[:^digit:]x]+", "abx", "$0", "= abx"},
    {"\\P{L}+", "123", "$0", "= 123"},
    {"\\p{^L}+", "123", "$0", "= 123"},
    {"\\pN", "5", "$0", "= 5"},
    {"\\p", "", "", "E error parsing regexp: invalid character class range: `\\p)`"},
    {"[\\p{Lu}]+", "ABC", "$0", "= ABC"},
    {"\\101", "A", "$0", "= A"},
    {"\xc3"
     "\xa9"
     "+",
     "\xc3"
     "\xa9"
     "\xc3"
     "\xa9"
     "\xc3"
     "\xa9"
     "",
     "$0",
     "= \xc3"
     "\xa9"
     "\xc3"
     "\xa9"
     "\xc3"
     "\xa9"
     ""},
    {"(?i)\xc3"
     "\xa9"
     "",
     "\xc3"
     "\x89"
     "",
     "$0",
     "= \xc3"
     "\x89"
     ""},
    {"[\xc3"
     "\xa9"
     "-\xc3"
     "\xab"
     "]+",
     "\xc3"
     "\xa9"
     "\xc3"
     "\xaa"
     "\xc3"
     "\xab"
     "",
     "$0",
     "= \xc3"
     "\xa9"
     "\xc3"
     "\xaa"
     "\xc3"
     "\xab"
     ""},
    {"foo", "foo", "${", "= ${"},
    {"(a)", "a",
     "$1\xc3"
     "\xa9"
     "",
     "= "},
    {"(a)", "a",
     "${1}\xc3"
     "\xa9"
     "",
     "= a\xc3"
     "\xa9"
     ""},
    {"(?P<\xc3"
     "\xa9"
     ">a)",
     "", "",
     "E error parsing regexp: invalid named capture: `(?P<\xc3"
     "\xa9"
     ">`"},
    {"(\\w+)@(\\w+)", "joe@example", "$2/$1", "= example/joe"},
    {"a{2}?", "aa", "$0", "= aa"},
    {"a{1001,}", "", "", "E error parsing regexp: invalid repeat count: `{1001,}`"},
    {"a{1000}", "", "", "-"},
    {"(?:a{10}){100}", "", "", "-"},
    {"(?:a{10}){101}", "", "", "E error parsing regexp: invalid repeat count: `{101}`"},
    {"a{0}{2}", "", "", "E error parsing regexp: invalid nested repetition operator: `{0}{2}`"},
    {"(a{0}){1000}", "", "", "= "},
    {"(a{0,}){1000}", "", "", "= "},
    {"((a{2}){2}){250}", "", "", "-"},
    {"((a{2}){2}){251}", "", "", "E error parsing regexp: invalid repeat count: `{251}`"},
    {"[[:word:]]+", "ab_1", "$0", "= ab_1"},
    {"[a-]+", "a-", "$0", "= a-"},
    {"[-a]+", "a-", "$0", "= a-"},
    {"[a\\-z]+", "a-z", "$0", "= a-z"},
    {"\\&\\_\\ ", "&_ ", "$0", "= &_ "},
    {"\\_", "_", "$0", "= _"},
    /* Go 1.22+ reads (?<name> as a named group, so look-behinds are an
     * invalid named capture. */
    {"(?<n>a)b", "ab", "${n}", "= a"},
    {"(?<=a)", "", "", "E error parsing regexp: invalid named capture: `(?<=a))$`"},
    {"(?<!a)", "", "", "E error parsing regexp: invalid named capture: `(?<!a))$`"},
    /* Look-aheads, atomic groups, backreferences, possessive repeats. */
    {"(?>a)", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?>`"},
    {"(a)\\1", "", "", "E error parsing regexp: invalid escape sequence: `\\1`"},
    {"a++", "", "", "E error parsing regexp: invalid nested repetition operator: `++`"},
    {"a?+", "", "", "E error parsing regexp: invalid nested repetition operator: `?+`"},
    {"\\k<a>", "", "", "E error parsing regexp: invalid escape sequence: `\\k`"},
    {"\\G", "", "", "E error parsing regexp: invalid escape sequence: `\\G`"},
    {"\\h", "", "", "E error parsing regexp: invalid escape sequence: `\\h`"},
    {"(?x) a", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?x`"},
    {"(?#c)", "", "", "E error parsing regexp: invalid or unsupported Perl syntax: `(?#`"},
    {"\\p{greek}+", "\xce\xb1\xce\xb2", "$0", "= \xce\xb1\xce\xb2"},
    {"\\p{ASCII}+", "ab", "$0", "= ab"},
    {"\\p{Assigned}", "a", "$0", "= a"},
    /* Typical relabel patterns. */
    {"([^:]+):\\d+", "10.0.0.1:9100", "$1", "= 10.0.0.1"},
    {"(.+);(.+)", "a;b;c", "$2/$1", "= c/a;b"},
    {"__meta_kubernetes_pod_label_(.+)", "__meta_kubernetes_pod_label_app", "k8s_$1", "= k8s_app"},
    {"warning|critical", "critical", "$0", "= critical"},
    {"warning|critical", "info", "$0", "-"},
    {"", "", "[$0]", "= []"},
    {"", "x", "[$0]", "-"},
};

static void test_go_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const rx_case *c = &cases[i];
        core_err err = {{0}};
        core_sb got = CORE_SB_INIT;
        model_regex *re = model_regex_new(c->pattern, &err);
        if (re == NULL) {
            core_sb_adds(&got, "E ");
            core_sb_adds(&got, err.msg);
        } else {
            core_sb out = CORE_SB_INIT;
            if (model_regex_replace(re, c->subject, strlen(c->subject), c->tmpl, strlen(c->tmpl),
                                    &out)) {
                core_sb_adds(&got, "= ");
                if (out.len) core_sb_add(&got, out.buf, out.len);
            } else {
                core_sb_adds(&got, "-");
            }
            /* match and exec agree with replace */
            bool m = model_regex_match(re, c->subject, strlen(c->subject));
            if (m != (got.buf[0] == '=')) {
                printf("match disagrees for %s\n", c->pattern);
                bad++;
            }
            core_sb_destroy(&out);
            model_regex_free(re);
        }
        if (strcmp(got.buf, c->want) != 0) {
            printf("pattern %s subject %s tmpl %s\n  want %s\n  got  %s\n", c->pattern, c->subject,
                   c->tmpl, c->want, got.buf);
            bad++;
        }
        core_sb_destroy(&got);
    }
    assert_int_equal(bad, 0);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    core_err err;
    model_regex *re = model_regex_new("a\\0b", &err);
    assert_non_null(re);
    assert_true(model_regex_match(re, "a\0b", 3));
    assert_false(model_regex_match(re, "a", 1));
    model_regex_free(re);
    /* A NUL in the pattern itself, through the length-taking constructor. */
    re = model_regex_new_n("x\0y", 3, &err);
    assert_non_null(re);
    assert_true(model_regex_match(re, "x\0y", 3));
    assert_false(model_regex_match(re, "x", 1));
    model_regex_free(re);
}

static void test_pattern_and_groups(void **state)
{
    (void)state;
    core_err err;
    model_regex *re = model_regex_new("(?P<host>[^:]+):(\\d+)", &err);
    assert_non_null(re);
    assert_string_equal(model_regex_pattern(re), "(?P<host>[^:]+):(\\d+)");
    assert_int_equal(model_regex_groups(re), 2);
    assert_false(model_regex_matches_all(re));
    size_t ov[6];
    assert_true(model_regex_exec(re, "db:5432", 7, ov, 3));
    assert_int_equal(ov[0], 0);
    assert_int_equal(ov[1], 7);
    assert_int_equal(ov[2], 0);
    assert_int_equal(ov[3], 2);
    assert_int_equal(ov[4], 3);
    assert_int_equal(ov[5], 7);
    core_sb out = CORE_SB_INIT;
    model_regex_expand(re, "${host}-$2", 10, "db:5432", ov, 3, &out);
    assert_string_equal(out.buf, "db-5432");
    core_sb_destroy(&out);
    /* Fewer pairs than groups: only those are written. */
    size_t two[4];
    assert_true(model_regex_exec(re, "db:5432", 7, two, 2));
    assert_int_equal(two[3], 2);
    assert_false(model_regex_exec(re, "db", 2, two, 2));
    model_regex_free(re);

    re = model_regex_new("(.*)", &err);
    assert_true(model_regex_matches_all(re));
    assert_int_equal(model_regex_groups(re), 1);
    model_regex_free(re);
}

/* The shapes that skip PCRE2 behave as the general path does. */
static void test_fast_paths(void **state)
{
    (void)state;
    static const char *const subjects[] = {"", "a", "foo", "foo\nbar", "\xc3\xa9", "a.b"};
    static const char *const pats[][2] = {
        {".*", "(?:.*)"},     {"(.*)", "(?:(.*))"}, {".+", "(?:.+)"},
        {"(.+)", "(?:(.+))"}, {"foo", "(?:foo)"},   {"a-b c,d", "(?:a-b c,d)"},
    };
    core_err err;
    for (size_t p = 0; p < sizeof pats / sizeof *pats; p++) {
        model_regex *fast = model_regex_new(pats[p][0], &err);
        model_regex *slow = model_regex_new(pats[p][1], &err);
        assert_non_null(fast);
        assert_non_null(slow);
        for (size_t s = 0; s < sizeof subjects / sizeof *subjects; s++) {
            const char *subj = subjects[s];
            core_sb a = CORE_SB_INIT, b = CORE_SB_INIT;
            bool ma = model_regex_replace(fast, subj, strlen(subj), "<$0|$1>", 7, &a);
            bool mb = model_regex_replace(slow, subj, strlen(subj), "<$0|$1>", 7, &b);
            assert_int_equal(ma, mb);
            if (ma) assert_string_equal(a.buf, b.buf);
            core_sb_destroy(&a);
            core_sb_destroy(&b);
        }
        model_regex_free(fast);
        model_regex_free(slow);
    }
}

/* Catastrophic backtracking ends at the match limit as a non-match. */
static void test_match_limit(void **state)
{
    (void)state;
    core_err err;
    model_regex *re = model_regex_new("(a|aa)*(b|c|d|e)*(a|aa)*x", &err);
    assert_non_null(re);
    char s[200];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    assert_false(model_regex_match(re, s, strlen(s)));
    model_regex_free(re);
}

static void *thread_main(void *arg)
{
    const model_regex *re = arg;
    int ok = 0;
    for (int i = 0; i < 2000; i++) {
        core_sb out = CORE_SB_INIT;
        char host[32];
        int n = snprintf(host, sizeof host, "host%d:%d", i, 9000 + i);
        if (model_regex_replace(re, host, (size_t)n, "$2@$1", 5, &out)) {
            char want[32];
            snprintf(want, sizeof want, "%d@host%d", 9000 + i, i);
            ok += strcmp(out.buf, want) == 0;
        }
        core_sb_destroy(&out);
    }
    return (void *)(intptr_t)ok;
}

static void test_threads(void **state)
{
    (void)state;
    core_err err;
    model_regex *re = model_regex_new("([a-z]+\\d+):(\\d+)", &err);
    assert_non_null(re);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_main, re);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_int_equal((intptr_t)r, 2000);
    }
    model_regex_free(re);
}

static void test_utf8_decode(void **state)
{
    (void)state;
    uint32_t r;
    assert_int_equal(model_utf8_decode("a", 1, &r), 1);
    assert_int_equal(r, 'a');
    assert_int_equal(model_utf8_decode("\xe2\x98\xba", 3, &r), 3);
    assert_int_equal(r, 0x263a);
    assert_int_equal(model_utf8_decode("\xe2\x98", 2, &r), 0);
    assert_int_equal(model_utf8_decode("\xc0\x80", 2, &r), 0);     /* overlong */
    assert_int_equal(model_utf8_decode("\xed\xa0\x80", 3, &r), 0); /* surrogate */
    assert_int_equal(model_utf8_decode("", 0, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_table),           cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_pattern_and_groups), cmocka_unit_test(test_fast_paths),
        cmocka_unit_test(test_match_limit),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_utf8_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
