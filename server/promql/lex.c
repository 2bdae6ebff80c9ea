/*
 * lex.c - the PromQL lexer.
 *
 * Design: a state machine with upstream lex.go's states and its quirks, because
 * what the lexer accepts (and the message it gives when it does not) is part of
 * the language users see: braces switch to a label-matcher mode where keywords
 * are plain identifiers; a '[' switches to a duration-expression mode until the
 * first number, after which ordinary lexing resumes until ']'; fill / fill_left
 * / fill_right are keywords only when a '(' follows.  Each call of
 * pql_lex_next() runs states until one of them emits an item.  Errors are items
 * of type PQL_T_ERROR whose text is the message; after one the lexer only
 * returns EOF.  Positions are byte offsets; runes are decoded as UTF-8 so that
 * messages quote whole characters.
 */
#include "promql/internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EOF_RUNE   (-1)
#define RUNE_ERROR 0xFFFD

enum {
    S_DONE,
    S_STATEMENTS,
    S_INSIDE_BRACES,
    S_DURATION_EXPR,
};

typedef struct lexrun {
    pql_lexer *l;
    pql_item *it;
    bool emitted;
    size_t width; /* width of the last rune read */
} lexrun;

typedef struct keyword {
    const char *word;
    pql_tok tok;
} keyword;

static const keyword keywords[] = {
    {"and", PQL_T_LAND},
    {"or", PQL_T_LOR},
    {"unless", PQL_T_LUNLESS},
    {"atan2", PQL_T_ATAN2},
    {"sum", PQL_T_SUM},
    {"avg", PQL_T_AVG},
    {"count", PQL_T_COUNT},
    {"min", PQL_T_MIN},
    {"max", PQL_T_MAX},
    {"group", PQL_T_GROUP},
    {"stddev", PQL_T_STDDEV},
    {"stdvar", PQL_T_STDVAR},
    {"topk", PQL_T_TOPK},
    {"bottomk", PQL_T_BOTTOMK},
    {"count_values", PQL_T_COUNT_VALUES},
    {"quantile", PQL_T_QUANTILE},
    {"limitk", PQL_T_LIMITK},
    {"limit_ratio", PQL_T_LIMIT_RATIO},
    {"offset", PQL_T_OFFSET},
    {"smoothed", PQL_T_SMOOTHED},
    {"anchored", PQL_T_ANCHORED},
    {"by", PQL_T_BY},
    {"without", PQL_T_WITHOUT},
    {"on", PQL_T_ON},
    {"ignoring", PQL_T_IGNORING},
    {"group_left", PQL_T_GROUP_LEFT},
    {"group_right", PQL_T_GROUP_RIGHT},
    {"fill", PQL_T_FILL},
    {"fill_left", PQL_T_FILL_LEFT},
    {"fill_right", PQL_T_FILL_RIGHT},
    {"bool", PQL_T_BOOL},
    {"start", PQL_T_START},
    {"end", PQL_T_END},
    {"step", PQL_T_STEP},
    {"range", PQL_T_RANGE},
    {"max_of", PQL_T_MAX_OF},
    {"min_of", PQL_T_MIN_OF},
    {"inf", PQL_T_NUMBER},
    {"nan", PQL_T_NUMBER},
};

/* Case-insensitive keyword lookup; PQL_T_EOF when the word is none. */
static pql_tok keyword_lookup(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].word) == n && strncasecmp(keywords[i].word, w, n) == 0)
            return keywords[i].tok;
    }
    return PQL_T_EOF;
}

/* The canonical spelling of a token with a fixed one ("(", "<=", "sum", ...). */
static const char *pql_tok_text(pql_tok t)
{
    static const struct {
        pql_tok t;
        const char *s;
    } fixed[] = {
        {PQL_T_LPAREN, "("},      {PQL_T_RPAREN, ")"},     {PQL_T_LBRACE, "{"},
        {PQL_T_RBRACE, "}"},      {PQL_T_LBRACKET, "["},   {PQL_T_RBRACKET, "]"},
        {PQL_T_COMMA, ","},       {PQL_T_EQL, "="},        {PQL_T_COLON, ":"},
        {PQL_T_SUB, "-"},         {PQL_T_ADD, "+"},        {PQL_T_MUL, "*"},
        {PQL_T_MOD, "%"},         {PQL_T_DIV, "/"},        {PQL_T_EQLC, "=="},
        {PQL_T_NEQ, "!="},        {PQL_T_LTE, "<="},       {PQL_T_LSS, "<"},
        {PQL_T_GTE, ">="},        {PQL_T_GTR, ">"},        {PQL_T_TRIM_UPPER, "</"},
        {PQL_T_TRIM_LOWER, ">/"}, {PQL_T_EQL_REGEX, "=~"}, {PQL_T_NEQ_REGEX, "!~"},
        {PQL_T_POW, "^"},         {PQL_T_AT, "@"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i].t == t) return fixed[i].s;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (keywords[i].tok == t) return keywords[i].word;
    return NULL;
}

void pql_lex_init(pql_lexer *l, const char *in, size_t len)
{
    memset(l, 0, sizeof *l);
    l->in = in;
    l->len = len;
    l->state = S_STATEMENTS;
}

/* ---- Rune reading */

static int32_t next(lexrun *r)
{
    pql_lexer *l = r->l;
    if (l->pos >= l->len) {
        r->width = 0;
        return EOF_RUNE;
    }
    int32_t c = pql_utf8_decode(l->in + l->pos, l->len - l->pos, &r->width);
    l->pos += r->width;
    return c < 0 ? RUNE_ERROR : c;
}

static void backup(lexrun *r)
{
    r->l->pos -= r->width;
}

static int32_t peek(lexrun *r)
{
    int32_t c = next(r);
    backup(r);
    return c;
}

static bool in_set(const char *set, int32_t c)
{
    return c > 0 && c < 128 && strchr(set, (int)c) != NULL;
}

static bool accept(lexrun *r, const char *set)
{
    if (in_set(set, next(r))) return true;
    backup(r);
    return false;
}

static bool is_next(lexrun *r, const char *set)
{
    return in_set(set, peek(r));
}

static bool is_space(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(int32_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int32_t c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int32_t c)
{
    return is_alpha(c) || is_digit(c);
}

/* ---- Emitting */

static void emit(lexrun *r, pql_tok t)
{
    pql_lexer *l = r->l;
    r->it->type = t;
    r->it->pos = (uint32_t)l->start;
    r->it->val = l->in + l->start;
    r->it->len = l->pos - l->start;
    l->start = l->pos;
    r->emitted = true;
}

static void ignore(lexrun *r)
{
    r->l->start = r->l->pos;
}

/* Emits an error item; lexing stops.  Returns S_DONE. */
__attribute__((format(printf, 2, 3))) static int errorf(lexrun *r, const char *fmt, ...)
{
    pql_lexer *l = r->l;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->errbuf, sizeof l->errbuf, fmt, ap);
    va_end(ap);
    r->it->type = PQL_T_ERROR;
    r->it->pos = (uint32_t)l->start;
    r->it->val = l->errbuf;
    r->it->len = strlen(l->errbuf);
    r->emitted = true;
    l->done = true;
    return S_DONE;
}

/* Go's %q of a rune, into a static-size buffer. */
static const char *qrune(int32_t c, char buf[32])
{
    core_sb sb = CORE_SB_INIT;
    pql_quote_rune(&sb, c);
    snprintf(buf, 32, "%s", sb.buf);
    core_sb_destroy(&sb);
    return buf;
}

/* Go's %#U of a rune: U+0063 'c'. */
static const char *urune(int32_t c, char buf[48])
{
    char q[32];
    if (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0))
        snprintf(buf, 48, "U+%04X %s", (unsigned)c, qrune(c, q));
    else
        snprintf(buf, 48, "U+%04X", (unsigned)c);
    return buf;
}

/* ---- Strings */

static int digit_val(int32_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 16;
}

/* An escape sequence; the backslash was read.  Returns false after an error. */
static bool lex_escape(lexrun *r)
{
    char b[48];
    int n;
    uint32_t base, max;
    int32_t c = next(r);
    if (c == EOF_RUNE) return errorf(r, "escape sequence not terminated"), false;
    if (in_set("abfnrtv\\", c) || c == r->l->string_open) return true;
    if (c >= '0' && c <= '7') {
        n = 3, base = 8, max = 255;
    } else if (c == 'x' || c == 'u' || c == 'U') {
        n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        base = 16, max = c == 'x' ? 255 : 0x10FFFF;
        c = next(r);
    } else {
        return errorf(r, "unknown escape sequence %s", urune(c, b)), false;
    }
    uint32_t x = 0;
    while (n > 0) {
        uint32_t d = (uint32_t)digit_val(c);
        if (d >= base) {
            if (c == EOF_RUNE) return errorf(r, "escape sequence not terminated"), false;
            return errorf(r, "illegal character %s in escape sequence", urune(c, b)), false;
        }
        x = x * base + d;
        if (--n > 0) c = next(r);
    }
    if (x > max || (x >= 0xD800 && x < 0xE000))
        return errorf(r, "escape sequence is an invalid Unicode code point"), false;
    return true;
}

static int lex_string(lexrun *r)
{
    for (;;) {
        int32_t c = next(r);
        if (c == '\\') {
            if (!lex_escape(r)) return S_DONE;
        } else if (c == RUNE_ERROR) {
            return errorf(r, "invalid UTF-8 rune");
        } else if (c == EOF_RUNE || c == '\n') {
            return errorf(r, "unterminated quoted string");
        } else if (c == r->l->string_open) {
            emit(r, PQL_T_STRING);
            return S_STATEMENTS;
        }
    }
}

static int lex_raw_string(lexrun *r)
{
    for (;;) {
        int32_t c = next(r);
        if (c == RUNE_ERROR) return errorf(r, "invalid UTF-8 rune");
        if (c == EOF_RUNE) return errorf(r, "unterminated raw string");
        if (c == '`') {
            emit(r, PQL_T_STRING);
            return S_STATEMENTS;
        }
    }
}

/* ---- Numbers and durations */

/* Upstream's scanNumber: [0x][.]digits with one '.', one exponent and
 * single underscores between digits; nothing alphanumeric may follow. */
static bool scan_number(lexrun *r)
{
    size_t initial = r->l->pos;
    const char *digits = "0123456789";
    if (accept(r, "0") && accept(r, "xX")) {
        accept(r, "_");
        digits = "0123456789abcdefABCDEF";
    }
    bool hex = digits[10] != '\0';
    accept(r, ".");
    accept(r, digits);
    bool dot = false, exp = false;
    char any[40];
    snprintf(any, sizeof any, "%s._eE", digits);
    while (is_next(r, any)) {
        if (is_next(r, ".") && dot) return accept(r, "."), false;
        if (is_next(r, "eE") && exp) return accept(r, "eE"), false;
        if (accept(r, ".")) {
            dot = true;
            if (accept(r, "_.") || hex) return false;
            continue;
        }
        if (accept(r, "eE")) {
            exp = true;
            accept(r, "+-");
            if (accept(r, "._eE") || peek(r) == EOF_RUNE) return false;
            continue;
        }
        if (accept(r, "_")) {
            if (accept(r, "._eE") || peek(r) == EOF_RUNE) return false;
            continue;
        }
        while (accept(r, digits)) {
        }
    }
    if (r->l->pos == initial) return false;
    return !is_alnum(peek(r));
}

/* The unit part of a duration after its first number: unit letters and more
 * number-unit pairs, with nothing alphanumeric after. */
static bool accept_remaining_duration(lexrun *r)
{
    if (!accept(r, "smhdwy")) return false;
    accept(r, "s");
    while (accept(r, "0123456789")) {
        while (accept(r, "0123456789")) {
        }
        if (!accept(r, "smhdw")) return false;
        accept(r, "s");
    }
    return !is_alnum(next(r));
}

static int lex_number_or_duration(lexrun *r)
{
    pql_lexer *l = r->l;
    if (scan_number(r)) {
        emit(r, PQL_T_NUMBER);
        return S_STATEMENTS;
    }
    if (accept_remaining_duration(r)) {
        backup(r);
        emit(r, PQL_T_DURATION);
        return S_STATEMENTS;
    }
    char q[96];
    core_sb sb = CORE_SB_INIT;
    pql_quote(&sb, l->in + l->start, l->pos - l->start, 0);
    snprintf(q, sizeof q, "%s", sb.buf);
    core_sb_destroy(&sb);
    return errorf(r, "bad number or duration syntax: %s", q);
}

/* ---- Identifiers and keywords */

static bool followed_by_lparen(const pql_lexer *l)
{
    for (size_t p = l->pos; p < l->len; p++) {
        if (!is_space((unsigned char)l->in[p])) return l->in[p] == '(';
    }
    return false;
}

static int lex_keyword_or_identifier(lexrun *r)
{
    pql_lexer *l = r->l;
    int32_t c;
    do {
        c = next(r);
    } while (is_alnum(c) || c == ':');
    backup(r);
    const char *w = l->in + l->start;
    size_t n = l->pos - l->start;
    pql_tok kw = keyword_lookup(w, n);
    bool is_fill = kw == PQL_T_FILL || kw == PQL_T_FILL_LEFT || kw == PQL_T_FILL_RIGHT;
    if (kw != PQL_T_EOF && !(is_fill && !followed_by_lparen(l)))
        emit(r, kw);
    else if (kw != PQL_T_EOF || memchr(w, ':', n) == NULL)
        emit(r, PQL_T_IDENT);
    else
        emit(r, PQL_T_METRIC_IDENT);
    return S_STATEMENTS;
}

/* step, range, min_of, max_of inside brackets.  False if the word is none. */
static bool scan_duration_keyword(lexrun *r)
{
    while (is_alpha(next(r))) {
    }
    backup(r);
    pql_tok kw = keyword_lookup(r->l->in + r->l->start, r->l->pos - r->l->start);
    if (kw != PQL_T_STEP && kw != PQL_T_RANGE && kw != PQL_T_MAX_OF && kw != PQL_T_MIN_OF)
        return false;
    emit(r, kw);
    return true;
}

static bool is_duration_keyword_start(int32_t c)
{
    return c == 's' || c == 'S' || c == 'r' || c == 'R' || c == 'm' || c == 'M';
}

/* ---- Spaces and comments */

static void skip_spaces(lexrun *r)
{
    while (is_space(peek(r)))
        next(r);
    ignore(r);
}

static int lex_line_comment(lexrun *r, int then)
{
    int32_t c;
    r->l->pos++;
    do {
        c = next(r);
    } while (c != '\r' && c != '\n' && c != EOF_RUNE);
    backup(r);
    emit(r, PQL_T_COMMENT);
    return then;
}

/* ---- States */

static int lex_inside_braces(lexrun *r)
{
    pql_lexer *l = r->l;
    char q[32];
    if (l->pos < l->len && l->in[l->pos] == '#') return lex_line_comment(r, S_INSIDE_BRACES);
    int32_t c = next(r);
    if (c == EOF_RUNE) return errorf(r, "unexpected end of input inside braces");
    if (is_space(c)) {
        skip_spaces(r);
    } else if (is_alpha(c)) {
        while (is_alnum(next(r))) {
        }
        backup(r);
        emit(r, PQL_T_IDENT);
    } else if (c == ',') {
        emit(r, PQL_T_COMMA);
    } else if (c == '"' || c == '\'' || c == '`') {
        l->string_open = (char)c;
        int s = c == '`' ? lex_raw_string(r) : lex_string(r);
        return s == S_DONE ? S_DONE : S_INSIDE_BRACES;
    } else if (c == '=') {
        emit(r, accept(r, "~") ? PQL_T_EQL_REGEX : PQL_T_EQL);
    } else if (c == '!') {
        int32_t d = next(r);
        if (d == '~')
            emit(r, PQL_T_NEQ_REGEX);
        else if (d == '=')
            emit(r, PQL_T_NEQ);
        else
            return errorf(r, "unexpected character after '!' inside braces: %s", qrune(d, q));
    } else if (c == '{') {
        return errorf(r, "unexpected left brace %s", qrune(c, q));
    } else if (c == '}') {
        emit(r, PQL_T_RBRACE);
        l->brace_open = false;
        return S_STATEMENTS;
    } else {
        return errorf(r, "unexpected character inside braces: %s", qrune(c, q));
    }
    return S_INSIDE_BRACES;
}

static int lex_eof(lexrun *r)
{
    if (r->l->paren_depth != 0) return errorf(r, "unclosed left parenthesis");
    if (r->l->bracket_open) return errorf(r, "unclosed left bracket");
    emit(r, PQL_T_EOF);
    r->l->done = true;
    return S_DONE;
}

static int lex_paren(lexrun *r, int32_t c, int then)
{
    char q[32];
    if (c == '(') {
        emit(r, PQL_T_LPAREN);
        r->l->paren_depth++;
        return then;
    }
    emit(r, PQL_T_RPAREN);
    if (--r->l->paren_depth < 0) return errorf(r, "unexpected right parenthesis %s", qrune(c, q));
    return then;
}

/* Letters and ':' while a bracket is open: a colon or a duration keyword. */
static int lex_in_bracket_word(lexrun *r, int32_t c)
{
    char q[32];
    if (c == ':') {
        if (r->l->got_colon) return errorf(r, "unexpected colon %s", qrune(c, q));
        emit(r, PQL_T_COLON);
        r->l->got_colon = true;
        return S_STATEMENTS;
    }
    if (is_duration_keyword_start(c) && scan_duration_keyword(r)) return S_STATEMENTS;
    return errorf(r, "unexpected character: %s, expected ':'", qrune(c, q));
}

static int lex_compare(lexrun *r, int32_t c)
{
    char q[32];
    if (c == '=') {
        int32_t t = peek(r);
        if (t == '~') return errorf(r, "unexpected character after '=': %s", qrune(t, q));
        emit(r, accept(r, "=") ? PQL_T_EQLC : PQL_T_EQL);
    } else if (c == '!') {
        int32_t t = next(r);
        if (t != '=') return errorf(r, "unexpected character after '!': %s", qrune(t, q));
        emit(r, PQL_T_NEQ);
    } else if (c == '<') {
        emit(r, accept(r, "=") ? PQL_T_LTE : accept(r, "/") ? PQL_T_TRIM_UPPER : PQL_T_LSS);
    } else {
        emit(r, accept(r, "=") ? PQL_T_GTE : accept(r, "/") ? PQL_T_TRIM_LOWER : PQL_T_GTR);
    }
    return S_STATEMENTS;
}

static int lex_open_bracket(lexrun *r, int32_t c)
{
    char q[32];
    pql_lexer *l = r->l;
    if (l->bracket_open) return errorf(r, "unexpected left bracket %s", qrune(c, q));
    l->got_colon = false;
    emit(r, PQL_T_LBRACKET);
    skip_spaces(r);
    l->bracket_open = true;
    return S_DURATION_EXPR;
}

/* Single-character operators shared by statements and duration expressions. */
static pql_tok simple_op(int32_t c)
{
    switch (c) {
    case ',': return PQL_T_COMMA;
    case '*': return PQL_T_MUL;
    case '/': return PQL_T_DIV;
    case '%': return PQL_T_MOD;
    case '+': return PQL_T_ADD;
    case '-': return PQL_T_SUB;
    case '^': return PQL_T_POW;
    default: return PQL_T_EOF;
    }
}

static int lex_statements(lexrun *r)
{
    pql_lexer *l = r->l;
    char q[32];
    if (l->brace_open) return S_INSIDE_BRACES;
    if (l->pos < l->len && l->in[l->pos] == '#') return lex_line_comment(r, S_STATEMENTS);
    int32_t c = next(r);
    pql_tok op = simple_op(c);
    if (c == EOF_RUNE) return lex_eof(r);
    if (op != PQL_T_EOF) {
        emit(r, op);
    } else if (is_space(c)) {
        skip_spaces(r);
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        return lex_compare(r, c);
    } else if (is_digit(c) || (c == '.' && is_digit(peek(r)))) {
        backup(r);
        return lex_number_or_duration(r);
    } else if (c == '"' || c == '\'' || c == '`') {
        l->string_open = (char)c;
        return c == '`' ? lex_raw_string(r) : lex_string(r);
    } else if (is_alpha(c) || c == ':') {
        if (l->bracket_open) return lex_in_bracket_word(r, c);
        backup(r);
        return lex_keyword_or_identifier(r);
    } else if (c == '(' || c == ')') {
        return lex_paren(r, c, S_STATEMENTS);
    } else if (c == '{') {
        emit(r, PQL_T_LBRACE);
        l->brace_open = true;
        return S_INSIDE_BRACES;
    } else if (c == '[') {
        return lex_open_bracket(r, c);
    } else if (c == ']') {
        if (!l->bracket_open) return errorf(r, "unexpected right bracket %s", qrune(c, q));
        emit(r, PQL_T_RBRACKET);
        l->bracket_open = false;
    } else if (c == '@') {
        emit(r, PQL_T_AT);
    } else {
        return errorf(r, "unexpected character: %s", qrune(c, q));
    }
    return S_STATEMENTS;
}

static int lex_duration_colon(lexrun *r)
{
    pql_lexer *l = r->l;
    emit(r, PQL_T_COLON);
    if (!l->got_duration)
        return errorf(r, "unexpected colon before duration in duration expression");
    if (l->got_colon) return errorf(r, "unexpected repeated colon in duration expression");
    l->got_colon = true;
    return S_DURATION_EXPR;
}

static int lex_duration_expr(lexrun *r)
{
    pql_lexer *l = r->l;
    char q[32];
    int32_t c = next(r);
    pql_tok op = simple_op(c);
    if (c == EOF_RUNE) return errorf(r, "unexpected end of input in duration expression");
    if (c == ']') {
        emit(r, PQL_T_RBRACKET);
        l->bracket_open = false;
        l->got_colon = false;
        return S_STATEMENTS;
    }
    if (c == ':') return lex_duration_colon(r);
    if (c == '(' || c == ')') return lex_paren(r, c, S_DURATION_EXPR);
    if (is_space(c)) {
        skip_spaces(r);
    } else if (op != PQL_T_EOF) {
        emit(r, op);
    } else if (is_duration_keyword_start(c) && scan_duration_keyword(r)) {
        return S_DURATION_EXPR;
    } else if (is_digit(c) || (c == '.' && is_digit(peek(r)))) {
        backup(r);
        l->got_duration = true;
        return lex_number_or_duration(r);
    } else {
        return errorf(r, "unexpected character in duration expression: %s", qrune(c, q));
    }
    return S_DURATION_EXPR;
}

void pql_lex_next(pql_lexer *l, pql_item *it)
{
    lexrun r = {.l = l, .it = it};
    while (!r.emitted) {
        if (l->done) {
            it->type = PQL_T_EOF;
            it->pos = (uint32_t)l->len;
            it->val = l->in + l->len;
            it->len = 0;
            return;
        }
        switch (l->state) {
        case S_STATEMENTS: l->state = lex_statements(&r); break;
        case S_INSIDE_BRACES: l->state = lex_inside_braces(&r); break;
        case S_DURATION_EXPR: l->state = lex_duration_expr(&r); break;
        default: l->done = true; break;
        }
    }
}

/* ---- Descriptions for messages */

/* Go's Item.String() default case: %q, or %.10q... past ten bytes. */
static void add_item_text(core_sb *sb, const pql_item *it)
{
    pql_quote(sb, it->val, it->len, it->len > 10 ? 10 : 0);
    if (it->len > 10) core_sb_adds(sb, "...");
}

void pql_item_desc(const pql_item *it, core_sb *sb)
{
    pql_tok t = it->type;
    bool fixed = pql_tok_text(t) != NULL && t != PQL_T_NUMBER;
    if (t == PQL_T_EOF) {
        core_sb_adds(sb, "end of input");
    } else if (t == PQL_T_ERROR) {
        core_sb_add(sb, it->val, it->len);
    } else if (fixed && t > PQL_T_KW_START && t < PQL_T_KW_END) {
        core_sb_addf(sb, "<%.*s>", (int)it->len, it->val);
    } else if (fixed && t > PQL_T_OPS_START && t < PQL_T_OPS_END) {
        core_sb_addf(sb, "<op:%.*s>", (int)it->len, it->val);
    } else if (fixed && t > PQL_T_AGGR_START && t < PQL_T_AGGR_END) {
        core_sb_addf(sb, "<aggr:%.*s>", (int)it->len, it->val);
    } else if (fixed) {
        add_item_text(sb, it);
    } else {
        static const char *names[] = {
            [PQL_T_IDENT] = "identifier",  [PQL_T_METRIC_IDENT] = "metric identifier",
            [PQL_T_STRING] = "string",     [PQL_T_NUMBER] = "number",
            [PQL_T_DURATION] = "duration", [PQL_T_COMMENT] = "comment",
        };
        core_sb_adds(sb, names[t] ? names[t] : "item");
        core_sb_addc(sb, ' ');
        if (t == PQL_T_IDENT || t == PQL_T_METRIC_IDENT)
            pql_quote(sb, it->val, it->len, 0);
        else
            add_item_text(sb, it);
    }
}
