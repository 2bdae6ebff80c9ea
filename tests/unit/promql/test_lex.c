/*
 * test_lex.c - the lexer: every token kind, keywords in and out of braces,
 * numbers and durations, strings with escapes (and unquoting them with Go's
 * rules), comments, the duration-expression mode inside brackets, and the
 * descriptions messages use.
 */
#include "unit/unit.h"

#include "promql/internal.h"
#include "promql/promql.h"

/* Lexes q and compares the token types (up to and including EOF or ERROR). */
static void expect_tokens(const char *q, const pql_tok *want, size_t n)
{
    pql_lexer l;
    pql_item it;
    pql_lex_init(&l, q, strlen(q));
    for (size_t i = 0; i < n; i++) {
        pql_lex_next(&l, &it);
        if (it.type != want[i])
            fail_msg("%s: token %zu is %d (%.*s), want %d", q, i, it.type, (int)it.len, it.val,
                     want[i]);
    }
}

#define TOKENS(q, ...)                                  \
    do {                                                \
        const pql_tok w_[] = {__VA_ARGS__};             \
        expect_tokens(q, w_, sizeof w_ / sizeof w_[0]); \
    } while (0)

static void test_operators(void **state)
{
    TOKENS("+ - * / % ^ == != <= < >= > </ >/ @ , ( )", PQL_T_ADD, PQL_T_SUB, PQL_T_MUL, PQL_T_DIV,
           PQL_T_MOD, PQL_T_POW, PQL_T_EQLC, PQL_T_NEQ, PQL_T_LTE, PQL_T_LSS, PQL_T_GTE, PQL_T_GTR,
           PQL_T_TRIM_UPPER, PQL_T_TRIM_LOWER, PQL_T_AT, PQL_T_COMMA, PQL_T_LPAREN, PQL_T_RPAREN,
           PQL_T_EOF);
    TOKENS("a = b", PQL_T_IDENT, PQL_T_EQL, PQL_T_IDENT, PQL_T_EOF);
    TOKENS("and or unless atan2 AND", PQL_T_LAND, PQL_T_LOR, PQL_T_LUNLESS, PQL_T_ATAN2, PQL_T_LAND,
           PQL_T_EOF);
}

static void test_keywords(void **state)
{
    TOKENS("sum avg count min max group stddev stdvar topk bottomk quantile count_values limitk "
           "limit_ratio",
           PQL_T_SUM, PQL_T_AVG, PQL_T_COUNT, PQL_T_MIN, PQL_T_MAX, PQL_T_GROUP, PQL_T_STDDEV,
           PQL_T_STDVAR, PQL_T_TOPK, PQL_T_BOTTOMK, PQL_T_QUANTILE, PQL_T_COUNT_VALUES,
           PQL_T_LIMITK, PQL_T_LIMIT_RATIO, PQL_T_EOF);
    TOKENS("bool by without on ignoring group_left group_right offset anchored smoothed",
           PQL_T_BOOL, PQL_T_BY, PQL_T_WITHOUT, PQL_T_ON, PQL_T_IGNORING, PQL_T_GROUP_LEFT,
           PQL_T_GROUP_RIGHT, PQL_T_OFFSET, PQL_T_ANCHORED, PQL_T_SMOOTHED, PQL_T_EOF);
    TOKENS("start end step range min_of max_of", PQL_T_START, PQL_T_END, PQL_T_STEP, PQL_T_RANGE,
           PQL_T_MIN_OF, PQL_T_MAX_OF, PQL_T_EOF);
    /* fill is a keyword only before '(' */
    TOKENS("fill (1) fill_left( fill_right", PQL_T_FILL, PQL_T_LPAREN, PQL_T_NUMBER, PQL_T_RPAREN,
           PQL_T_FILL_LEFT, PQL_T_LPAREN, PQL_T_IDENT, PQL_T_ERROR);
    TOKENS("foo:bar :x _y", PQL_T_METRIC_IDENT, PQL_T_METRIC_IDENT, PQL_T_IDENT, PQL_T_EOF);
    /* inside braces keywords are identifiers */
    TOKENS("{sum=\"a\",by!='b',on=~`c`,x!~\"d\"}", PQL_T_LBRACE, PQL_T_IDENT, PQL_T_EQL,
           PQL_T_STRING, PQL_T_COMMA, PQL_T_IDENT, PQL_T_NEQ, PQL_T_STRING, PQL_T_COMMA,
           PQL_T_IDENT, PQL_T_EQL_REGEX, PQL_T_STRING, PQL_T_COMMA, PQL_T_IDENT, PQL_T_NEQ_REGEX,
           PQL_T_STRING, PQL_T_RBRACE, PQL_T_EOF);
}

static void test_numbers_and_durations(void **state)
{
    TOKENS("1 1.5 .5 5. 1e3 1E-3 0x1F 0X_1f 1_000 Inf NaN inf nan", PQL_T_NUMBER, PQL_T_NUMBER,
           PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER,
           PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_NUMBER, PQL_T_EOF);
    TOKENS("5m 1h30m 500ms 2w 1y 1d12h", PQL_T_DURATION, PQL_T_DURATION, PQL_T_DURATION,
           PQL_T_DURATION, PQL_T_DURATION, PQL_T_DURATION, PQL_T_EOF);
    TOKENS("1..2", PQL_T_ERROR);
    TOKENS("1__0", PQL_T_ERROR);
    TOKENS("5mm", PQL_T_ERROR);
    TOKENS("1e", PQL_T_ERROR);
}

static void test_brackets(void **state)
{
    TOKENS("x[5m]", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_DURATION, PQL_T_RBRACKET, PQL_T_EOF);
    TOKENS("x[ 5m : 1m ]", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_DURATION, PQL_T_COLON, PQL_T_DURATION,
           PQL_T_RBRACKET, PQL_T_EOF);
    TOKENS("x[-step()*2:]", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_SUB, PQL_T_STEP, PQL_T_LPAREN,
           PQL_T_RPAREN, PQL_T_MUL, PQL_T_NUMBER, PQL_T_COLON, PQL_T_RBRACKET, PQL_T_EOF);
    TOKENS("x[min_of(1m,Range())]", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_MIN_OF, PQL_T_LPAREN,
           PQL_T_DURATION, PQL_T_COMMA, PQL_T_RANGE, PQL_T_LPAREN, PQL_T_RPAREN, PQL_T_RPAREN,
           PQL_T_RBRACKET, PQL_T_EOF);
    TOKENS("x[5m x]", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_DURATION, PQL_T_ERROR);
    TOKENS("x[[", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_ERROR);
    TOKENS("x[5m", PQL_T_IDENT, PQL_T_LBRACKET, PQL_T_DURATION, PQL_T_ERROR);
}

static void test_strings_and_comments(void **state)
{
    TOKENS("\"a\\\"b\" 'a\\'b' `a\\b` \"\\u00e9\\U0001F600\\x41\\101\"", PQL_T_STRING, PQL_T_STRING,
           PQL_T_STRING, PQL_T_STRING, PQL_T_EOF);
    TOKENS("\"a\nb\"", PQL_T_ERROR);
    TOKENS("'a\\\"'", PQL_T_ERROR); /* \" only inside "..." */
    TOKENS("# comment\nfoo # more", PQL_T_COMMENT, PQL_T_IDENT, PQL_T_COMMENT, PQL_T_EOF);
    TOKENS("{a=\"b\" # c\n}", PQL_T_LBRACE, PQL_T_IDENT, PQL_T_EQL, PQL_T_STRING, PQL_T_COMMENT,
           PQL_T_RBRACE, PQL_T_EOF);
    TOKENS("(", PQL_T_LPAREN, PQL_T_ERROR);
    TOKENS(")", PQL_T_ERROR); /* the error replaces the parenthesis */
    TOKENS("{", PQL_T_LBRACE, PQL_T_ERROR);
    TOKENS("$", PQL_T_ERROR);
}

static void check_unquote(const char *lit, const char *want, size_t want_len)
{
    core_arena a = {0};
    char *out;
    size_t n;
    if (pql_unquote(lit, strlen(lit), &a, &out, &n) < 0) fail_msg("%s: not unquoted", lit);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, n);
    core_arena_destroy(&a);
}

static void test_unquote(void **state)
{
    check_unquote("\"abc\"", "abc", 3);
    check_unquote("'a\"b\\'c'", "a\"b'c", 5);
    check_unquote("`a\\nb`", "a\\nb", 4);
    check_unquote("\"\\a\\b\\f\\n\\r\\t\\v\\\\\"", "\a\b\f\n\r\t\v\\", 8);
    check_unquote("\"\\x00\\101\\u00e9\"", "\0A\xc3\xa9", 4);
    check_unquote("\"\\U0001F600\"", "\xf0\x9f\x98\x80", 4);
    core_arena a = {0};
    char *out;
    size_t n;
    static const char *bad[] = {"\"a", "'a\"", "\"\\q\"", "\"\\x4\"", "\"a\"b\"", "`a`b`", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pql_unquote(bad[i], strlen(bad[i]), &a, &out, &n) == 0) fail_msg("%s unquoted", bad[i]);
    core_arena_destroy(&a);
}

static void check_desc(const char *q, size_t skip, const char *want)
{
    pql_lexer l;
    pql_item it;
    pql_lex_init(&l, q, strlen(q));
    for (size_t i = 0; i <= skip; i++)
        pql_lex_next(&l, &it);
    core_sb sb = CORE_SB_INIT;
    pql_item_desc(&it, &sb);
    if (strcmp(sb.buf, want) != 0) fail_msg("%s: %s, want %s", q, sb.buf, want);
    core_sb_destroy(&sb);
}

static void test_descriptions(void **state)
{
    check_desc("sum", 0, "<aggr:sum>");
    check_desc("BY", 0, "<BY>");
    check_desc("==", 0, "<op:==>");
    check_desc("and", 0, "<op:and>");
    check_desc("(", 0, "\"(\"");
    check_desc("foo", 0, "identifier \"foo\"");
    check_desc("a:b", 0, "metric identifier \"a:b\"");
    check_desc("12", 0, "number \"12\"");
    check_desc("5m", 0, "duration \"5m\"");
    check_desc("\"abcdefghijkl\"", 0, "string \"\\\"abcdefghi\"...");
    check_desc("step", 0, "\"step\"");
    check_desc("x", 1, "end of input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_numbers_and_durations),
        cmocka_unit_test(test_brackets),
        cmocka_unit_test(test_strings_and_comments),
        cmocka_unit_test(test_unquote),
        cmocka_unit_test(test_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
