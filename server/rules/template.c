/*
 * template.c - Go text/template's lexer and parser.
 *
 * Design: the same state machine and recursive descent as Go's
 * text/template/parse (Go 1.23), because what the parser accepts and the
 * message it gives when it does not are what rule files are checked against:
 * promtool refuses a rule whose annotation says {{ humanise $value }} with
 * `template: __alert_X:1: function "humanise" not defined`, and so do we.
 * Trim markers ({{- and -}}), comments, newlines inside actions, variable
 * declaration and assignment, define/block/template, if/else if/else
 * with/range/break/continue are supported.  Complex number constants (1+2i)
 * are lexed but refused by the parser: nothing in Prometheus's templates can
 * use them.
 *
 * The lexer is pulled one item at a time; the parser keeps Go's three-token
 * lookahead so that error lines (the line of the last token read) come out
 * the same.  Errors unwind through a jmp_buf: the parser owns nothing but
 * arena memory, so abandoning it mid-way leaks nothing.
 */
#include "rules/internal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Items */

typedef enum item_type {
    IT_ERROR,
    IT_BOOL,
    IT_CHAR,
    IT_CHARCONST,
    IT_COMPLEX,
    IT_ASSIGN,
    IT_DECLARE,
    IT_EOF,
    IT_FIELD,
    IT_IDENT,
    IT_LEFT_DELIM,
    IT_LPAREN,
    IT_NUMBER,
    IT_PIPE,
    IT_RAWSTRING,
    IT_RIGHT_DELIM,
    IT_RPAREN,
    IT_SPACE,
    IT_STRING,
    IT_TEXT,
    IT_VARIABLE,
    IT_KEYWORD, /* keywords follow */
    IT_BLOCK,
    IT_BREAK,
    IT_CONTINUE,
    IT_DOT,
    IT_DEFINE,
    IT_ELSE,
    IT_END,
    IT_IF,
    IT_NIL,
    IT_RANGE,
    IT_TEMPLATE,
    IT_WITH,
} item_type;

typedef struct item {
    item_type typ;
    uint32_t pos;
    const char *val; /* not NUL-terminated except for errors */
    size_t len;
    int line;
} item;

static const struct {
    const char *word;
    item_type typ;
} KEYWORDS[] = {
    {".", IT_DOT},
    {"block", IT_BLOCK},
    {"break", IT_BREAK},
    {"continue", IT_CONTINUE},
    {"define", IT_DEFINE},
    {"else", IT_ELSE},
    {"end", IT_END},
    {"if", IT_IF},
    {"range", IT_RANGE},
    {"nil", IT_NIL},
    {"template", IT_TEMPLATE},
    {"with", IT_WITH},
};

static item_type keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
        if (strlen(KEYWORDS[i].word) == n && memcmp(KEYWORDS[i].word, s, n) == 0)
            return KEYWORDS[i].typ;
    return IT_ERROR;
}

/* ---- Runes */

#define EOF_RUNE (-1)

static bool is_space(int r)
{
    return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

/* unicode.IsLetter / IsDigit, approximated outside ASCII: a rune past 0x7f is
 * a letter unless it is Latin-1 punctuation, a space or general punctuation. */
static bool is_alnum(int r)
{
    if (r < 0) return false;
    if (r < 0x80)
        return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
               (r >= '0' && r <= '9');
    if (r < 0xc0)
        return r == 0xaa || r == 0xb5 || r == 0xba || r == 0xb2 || r == 0xb3 || r == 0xb9 ||
               r == 0xbc || r == 0xbd || r == 0xbe;
    if (r == 0xd7 || r == 0xf7) return false;
    if (r >= 0x2000 && r <= 0x206f) return false;
    if (r >= 0x3000 && r <= 0x303f) return false;
    if (r == 0xfeff || r >= 0xfff0) return false;
    return true;
}

/* unicode.IsPrint for the %#U of messages. */
static bool is_print(int r)
{
    if (r < 0x20 || r == 0x7f) return false;
    if (r < 0x7f) return true;
    if (r < 0xa1 || r == 0xad) return false;
    if (r == 0x1680 || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff || (r >= 0xd800 && r <= 0xdfff))
        return false;
    return true;
}

/* Go's %#U: "U+0041 'A'", or "U+00A0" for a rune that does not print. */
static const char *fmt_U(int r, char buf[32])
{
    if (r < 0) r = 0xfffd;
    int n = snprintf(buf, 32, "U+%04X", (unsigned)r);
    if (is_print(r)) {
        char enc[8];
        size_t k = 0;
        unsigned u = (unsigned)r;
        if (u < 0x80) {
            enc[k++] = (char)u;
        } else if (u < 0x800) {
            enc[k++] = (char)(0xc0 | (u >> 6));
            enc[k++] = (char)(0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
            enc[k++] = (char)(0xe0 | (u >> 12));
            enc[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
            enc[k++] = (char)(0x80 | (u & 0x3f));
        } else {
            enc[k++] = (char)(0xf0 | (u >> 18));
            enc[k++] = (char)(0x80 | ((u >> 12) & 0x3f));
            enc[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
            enc[k++] = (char)(0x80 | (u & 0x3f));
        }
        snprintf(buf + n, 32 - (size_t)n, " '%.*s'", (int)k, enc);
    }
    return buf;
}

/* ---- The lexer */

typedef struct lexer {
    const char *in;
    size_t len;
    size_t pos, start;
    size_t width; /* of the last rune read */
    bool inside;  /* within {{ }} */
    int paren_depth;
    bool done; /* EOF or an error was emitted */
    item last; /* the item to repeat once done */
    core_arena *arena;
    size_t line_pos; /* line_at's memory */
    int line;
} lexer;

static int lx_next(lexer *l)
{
    if (l->pos >= l->len) {
        l->width = 0;
        return EOF_RUNE;
    }
    uint32_t r;
    size_t w = model_utf8_decode(l->in + l->pos, l->len - l->pos, &r);
    if (w == 0) {
        r = 0xfffd;
        w = 1;
    }
    l->width = w;
    l->pos += w;
    return (int)r;
}

static void lx_backup(lexer *l)
{
    l->pos -= l->width;
}

static int lx_peek(lexer *l)
{
    int r = lx_next(l);
    lx_backup(l);
    return r;
}

static bool lx_accept(lexer *l, const char *valid)
{
    int r = lx_next(l);
    if (r > 0 && r < 0x80 && strchr(valid, r)) return true;
    lx_backup(l);
    return false;
}

static void lx_accept_run(lexer *l, const char *valid)
{
    for (;;) {
        int r = lx_next(l);
        if (!(r > 0 && r < 0x80 && strchr(valid, r))) break;
    }
    lx_backup(l);
}

/* The 1-based line of byte `pos`, counted on from the last position asked
 * about (items come in order, so the text is scanned about once). */
static int line_at(lexer *l, size_t pos)
{
    if (pos < l->line_pos) {
        l->line_pos = 0;
        l->line = 1;
    }
    for (size_t i = l->line_pos; i < pos && i < l->len; i++)
        if (l->in[i] == '\n') l->line++;
    l->line_pos = pos;
    return l->line;
}

static item lx_item(lexer *l, item_type t, size_t from, size_t to)
{
    item it = {t, (uint32_t)from, l->in + from, to - from, line_at(l, from)};
    return it;
}

static item lx_emit(lexer *l, item_type t)
{
    item it = lx_item(l, t, l->start, l->pos);
    l->start = l->pos;
    return it;
}

static item lx_errorf(lexer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static item lx_errorf(lexer *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_sb sb = CORE_SB_INIT;
    core_sb_addvf(&sb, fmt, ap);
    va_end(ap);
    item it = {IT_ERROR, (uint32_t)l->start, core_arena_strdup(l->arena, sb.buf), sb.len,
               line_at(l, l->start)};
    core_sb_destroy(&sb);
    l->done = true;
    l->last = it;
    return it;
}

static bool has_left_trim(const char *s, size_t n)
{
    return n >= 2 && s[0] == '-' && is_space((unsigned char)s[1]);
}

static bool has_right_trim(const char *s, size_t n)
{
    return n >= 2 && is_space((unsigned char)s[0]) && s[1] == '-';
}

static bool has_prefix(const lexer *l, size_t at, const char *p)
{
    size_t n = strlen(p);
    return at + n <= l->len && memcmp(l->in + at, p, n) == 0;
}

/* Whether the input is at "}}" or " -}}"; *trim tells which. */
static bool at_right_delim(const lexer *l, bool *trim)
{
    if (has_right_trim(l->in + l->pos, l->len - l->pos) && has_prefix(l, l->pos + 2, "}}")) {
        *trim = true;
        return true;
    }
    *trim = false;
    return has_prefix(l, l->pos, "}}");
}

static size_t left_trim_len(const lexer *l, size_t at)
{
    size_t i = at;
    while (i < l->len && is_space((unsigned char)l->in[i]))
        i++;
    return i - at;
}

static bool at_terminator(lexer *l)
{
    int r = lx_peek(l);
    if (is_space(r)) return true;
    switch (r) {
    case EOF_RUNE:
    case '.':
    case ',':
    case '|':
    case ':':
    case ')':
    case '(':
    case '}': return true;
    default: return false;
    }
}

static item lex_comment(lexer *l)
{
    l->pos += 2; /* the slash-star */
    const char *end = NULL;
    for (size_t i = l->pos; i + 1 < l->len; i++)
        if (l->in[i] == '*' && l->in[i + 1] == '/') {
            end = l->in + i;
            break;
        }
    if (!end) return lx_errorf(l, "unclosed comment");
    l->pos = (size_t)(end - l->in) + 2;
    bool trim;
    if (!at_right_delim(l, &trim)) return lx_errorf(l, "comment ends before closing delimiter");
    if (trim) l->pos += 2;
    l->pos += 2;
    if (trim) l->pos += left_trim_len(l, l->pos);
    l->start = l->pos;
    return (item){IT_SPACE, 0, NULL, 0, 0}; /* nothing emitted: the caller goes on */
}

static item lex_text(lexer *l);

static item lex_left_delim(lexer *l)
{
    l->pos += 2;
    bool trim = has_left_trim(l->in + l->pos, l->len - l->pos);
    size_t after = trim ? 2 : 0;
    if (has_prefix(l, l->pos + after, "/*")) {
        l->pos += after;
        l->start = l->pos;
        item it = lex_comment(l);
        if (it.typ == IT_ERROR) return it;
        return lex_text(l);
    }
    item it = lx_item(l, IT_LEFT_DELIM, l->start, l->pos);
    l->inside = true;
    l->pos += after;
    l->start = l->pos;
    l->paren_depth = 0;
    return it;
}

static item lex_text(lexer *l)
{
    for (;;) {
        const char *x = NULL;
        for (size_t i = l->pos; i + 1 < l->len; i++)
            if (l->in[i] == '{' && l->in[i + 1] == '{') {
                x = l->in + i;
                break;
            }
        if (x) {
            size_t at = (size_t)(x - l->in);
            if (at > l->start) {
                size_t end = at;
                if (has_left_trim(l->in + at + 2, l->len - at - 2))
                    while (end > l->start && is_space((unsigned char)l->in[end - 1]))
                        end--;
                item it = lx_item(l, IT_TEXT, l->start, end);
                l->pos = at;
                l->start = at;
                if (it.len > 0) return it;
            }
            l->pos = at;
            l->start = at;
            return lex_left_delim(l);
        }
        l->pos = l->len;
        if (l->pos > l->start) return lx_emit(l, IT_TEXT);
        l->done = true;
        l->last = lx_emit(l, IT_EOF);
        return l->last;
    }
}

static bool scan_number(lexer *l)
{
    lx_accept(l, "+-");
    const char *digits = "0123456789_";
    if (lx_accept(l, "0")) {
        if (lx_accept(l, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (lx_accept(l, "oO"))
            digits = "01234567_";
        else if (lx_accept(l, "bB"))
            digits = "01_";
    }
    lx_accept_run(l, digits);
    if (lx_accept(l, ".")) lx_accept_run(l, digits);
    size_t nd = strlen(digits);
    if (nd == 11 && lx_accept(l, "eE")) {
        lx_accept(l, "+-");
        lx_accept_run(l, "0123456789_");
    }
    if (nd == 23 && lx_accept(l, "pP")) {
        lx_accept(l, "+-");
        lx_accept_run(l, "0123456789_");
    }
    lx_accept(l, "i");
    if (is_alnum(lx_peek(l))) {
        lx_next(l);
        return false;
    }
    return true;
}

static item lex_number(lexer *l)
{
    if (!scan_number(l))
        return lx_errorf(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                         l->in + l->start);
    int sign = lx_peek(l);
    if (sign == '+' || sign == '-') {
        if (!scan_number(l) || l->in[l->pos - 1] != 'i')
            return lx_errorf(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                             l->in + l->start);
        return lx_emit(l, IT_COMPLEX);
    }
    return lx_emit(l, IT_NUMBER);
}

static item lex_field_or_var(lexer *l, item_type typ)
{
    if (at_terminator(l)) return lx_emit(l, typ == IT_VARIABLE ? IT_VARIABLE : IT_DOT);
    int r;
    for (;;) {
        r = lx_next(l);
        if (!is_alnum(r)) {
            lx_backup(l);
            break;
        }
    }
    if (!at_terminator(l)) {
        char u[32];
        return lx_errorf(l, "bad character %s", fmt_U(r, u));
    }
    return lx_emit(l, typ);
}

static item lex_identifier(lexer *l)
{
    for (;;) {
        int r = lx_next(l);
        if (is_alnum(r)) continue;
        lx_backup(l);
        if (!at_terminator(l)) {
            char u[32];
            return lx_errorf(l, "bad character %s", fmt_U(r, u));
        }
        const char *w = l->in + l->start;
        size_t n = l->pos - l->start;
        item_type k = keyword(w, n);
        if (k > IT_KEYWORD) return lx_emit(l, k);
        if (w[0] == '.') return lx_emit(l, IT_FIELD);
        if ((n == 4 && memcmp(w, "true", 4) == 0) || (n == 5 && memcmp(w, "false", 5) == 0))
            return lx_emit(l, IT_BOOL);
        return lx_emit(l, IT_IDENT);
    }
}

static item lex_quote(lexer *l, int q, item_type typ, const char *what)
{
    for (;;) {
        int r = lx_next(l);
        if (r == '\\' && q != '`') {
            r = lx_next(l);
            if (r != EOF_RUNE && r != '\n') continue;
            return lx_errorf(l, "unterminated %s", what);
        }
        if (r == EOF_RUNE || (r == '\n' && q != '`')) return lx_errorf(l, "unterminated %s", what);
        if (r == q) break;
    }
    return lx_emit(l, typ);
}

static item lex_inside(lexer *l)
{
    for (;;) {
        bool trim;
        if (at_right_delim(l, &trim)) {
            if (l->paren_depth != 0) return lx_errorf(l, "unclosed left paren");
            if (trim) {
                l->pos += 2;
                l->start = l->pos;
            }
            l->pos += 2;
            item it = lx_item(l, IT_RIGHT_DELIM, l->start, l->pos);
            if (trim) l->pos += left_trim_len(l, l->pos);
            l->start = l->pos;
            l->inside = false;
            return it;
        }
        int r = lx_next(l);
        if (r == EOF_RUNE) return lx_errorf(l, "unclosed action");
        if (is_space(r)) {
            /* a run of spaces, but not the one before " -}}" */
            lx_backup(l);
            size_t nsp = 0;
            while (is_space(lx_peek(l))) {
                lx_next(l);
                nsp++;
            }
            if (has_right_trim(l->in + l->pos - 1, l->len - l->pos + 1) &&
                has_prefix(l, l->pos + 1, "}}")) {
                l->pos--;               /* before the space */
                if (nsp == 1) continue; /* right at " -}}" */
            }
            return lx_emit(l, IT_SPACE);
        }
        switch (r) {
        case '=': return lx_emit(l, IT_ASSIGN);
        case ':':
            if (lx_next(l) != '=') return lx_errorf(l, "expected :=");
            return lx_emit(l, IT_DECLARE);
        case '|': return lx_emit(l, IT_PIPE);
        case '"': return lex_quote(l, '"', IT_STRING, "quoted string");
        case '`': return lex_quote(l, '`', IT_RAWSTRING, "raw quoted string");
        case '\'': return lex_quote(l, '\'', IT_CHARCONST, "character constant");
        case '$': return lex_field_or_var(l, IT_VARIABLE);
        case '(': l->paren_depth++; return lx_emit(l, IT_LPAREN);
        case ')':
            l->paren_depth--;
            if (l->paren_depth < 0) return lx_errorf(l, "unexpected right paren");
            return lx_emit(l, IT_RPAREN);
        default: break;
        }
        if (r == '.') {
            if (l->pos < l->len && (l->in[l->pos] < '0' || l->in[l->pos] > '9'))
                return lex_field_or_var(l, IT_FIELD);
        }
        if (r == '.' || r == '+' || r == '-' || (r >= '0' && r <= '9')) {
            lx_backup(l);
            return lex_number(l);
        }
        if (is_alnum(r)) {
            lx_backup(l);
            return lex_identifier(l);
        }
        if (r < 0x80 && is_print(r)) return lx_emit(l, IT_CHAR);
        char u[32];
        return lx_errorf(l, "unrecognized character in action: %s", fmt_U(r, u));
    }
}

static item lex_item(lexer *l)
{
    if (l->done) return l->last;
    return l->inside ? lex_inside(l) : lex_text(l);
}

/* ---- Unquoting (strconv.Unquote) */

static int unhex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void add_rune(core_sb *sb, uint32_t u)
{
    if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) u = 0xfffd;
    if (u < 0x80) {
        core_sb_addc(sb, (char)u);
    } else if (u < 0x800) {
        core_sb_addc(sb, (char)(0xc0 | (u >> 6)));
        core_sb_addc(sb, (char)(0x80 | (u & 0x3f)));
    } else if (u < 0x10000) {
        core_sb_addc(sb, (char)(0xe0 | (u >> 12)));
        core_sb_addc(sb, (char)(0x80 | ((u >> 6) & 0x3f)));
        core_sb_addc(sb, (char)(0x80 | (u & 0x3f)));
    } else {
        core_sb_addc(sb, (char)(0xf0 | (u >> 18)));
        core_sb_addc(sb, (char)(0x80 | ((u >> 12) & 0x3f)));
        core_sb_addc(sb, (char)(0x80 | ((u >> 6) & 0x3f)));
        core_sb_addc(sb, (char)(0x80 | (u & 0x3f)));
    }
}

/* One escape or character of a quoted literal at s[*i] (strconv.UnquoteChar):
 * false on invalid syntax. */
static bool unquote_char(const char *s, size_t n, size_t *i, char q, core_sb *out, uint32_t *rune)
{
    unsigned char c = (unsigned char)s[*i];
    if (c == (unsigned char)q && (q == '\'' || q == '"')) return false;
    if (c != '\\') {
        uint32_t r;
        size_t w = model_utf8_decode(s + *i, n - *i, &r);
        if (w == 0) {
            w = 1;
            r = c;
            core_sb_addc(out, (char)c);
        } else {
            core_sb_add(out, s + *i, w);
        }
        *rune = r;
        *i += w;
        return true;
    }
    if (*i + 1 >= n) return false;
    char e = s[*i + 1];
    *i += 2;
    uint32_t v = 0;
    switch (e) {
    case 'a': v = 7; break;
    case 'b': v = 8; break;
    case 'f': v = 12; break;
    case 'n': v = 10; break;
    case 'r': v = 13; break;
    case 't': v = 9; break;
    case 'v': v = 11; break;
    case '\\': v = '\\'; break;
    case '\'':
    case '"':
        if (e != q) return false;
        v = (uint32_t)e;
        break;
    case 'x':
    case 'u':
    case 'U': {
        int k = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (*i + (size_t)k > n) return false;
        for (int j = 0; j < k; j++) {
            int h = unhex((unsigned char)s[*i + (size_t)j]);
            if (h < 0) return false;
            v = v << 4 | (uint32_t)h;
        }
        *i += (size_t)k;
        if (e == 'x') {
            core_sb_addc(out, (char)v);
            *rune = v;
            return true;
        }
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return false;
        break;
    }
    default:
        if (e >= '0' && e <= '7') {
            if (*i + 2 > n) return false;
            v = (uint32_t)(e - '0');
            for (int j = 0; j < 2; j++) {
                char d = s[*i + (size_t)j];
                if (d < '0' || d > '7') return false;
                v = v * 8 + (uint32_t)(d - '0');
            }
            *i += 2;
            if (v > 255) return false;
            core_sb_addc(out, (char)v);
            *rune = v;
            return true;
        }
        return false;
    }
    add_rune(out, v);
    *rune = v;
    return true;
}

/* strconv.Unquote of a "..." or `...` literal into out; false: invalid syntax. */
static bool unquote(const char *s, size_t n, core_sb *out)
{
    if (n < 2 || s[n - 1] != s[0]) return false;
    if (s[0] == '`') {
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] != '\r') core_sb_addc(out, s[i]);
        return true;
    }
    if (s[0] != '"') return false;
    size_t i = 1;
    while (i < n - 1) {
        uint32_t r;
        if (!unquote_char(s, n - 1, &i, '"', out, &r)) return false;
    }
    return true;
}

/* ---- The parser */

/* Nesting deeper than this is refused rather than risking the C stack (Go
 * has no limit; no real template comes close). */
#define MAX_NESTING 1000

typedef struct parser {
    tmpl_set *set;
    lexer *lex;
    item token[3];
    int peek_count;
    const char **vars;
    size_t nvars, capvars;
    int range_depth;
    int depth; /* nesting of pipelines and control structures */
    int action_line;
    tmpl_tree *tree; /* the tree being built */
    jmp_buf fail;
    core_err *err;
} parser;

static char *astrndup(parser *p, const char *s, size_t n)
{
    return core_arena_strndup(&p->set->arena, s, n);
}

static void perrorf(parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void perrorf(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[CORE_ERR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    core_err_set(p->err, "template: %s:%d: %s", p->tree->parse_name, p->token[0].line, msg);
    longjmp(p->fail, 1);
}

/* item.String(). */
static const char *item_string(const item *it, char buf[64])
{
    if (it->typ == IT_EOF) return "EOF";
    if (it->typ == IT_ERROR) return it->val;
    if (it->typ > IT_KEYWORD) {
        snprintf(buf, 64, "<%.*s>", (int)it->len, it->val);
        return buf;
    }
    /* %q, or %.10q... when longer than 10 */
    core_sb sb = CORE_SB_INIT;
    size_t n = it->len, runes = 0, cut = n;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = model_utf8_decode(it->val + i, n - i, &r);
        if (w == 0) w = 1;
        if (runes == 10) {
            cut = i;
            break;
        }
        runes++;
        i += w;
    }
    core_sb_add_quoted(&sb, it->val, cut);
    if (cut < n) core_sb_adds(&sb, "...");
    snprintf(buf, 64, "%s", sb.buf);
    core_sb_destroy(&sb);
    return buf;
}

static item p_next(parser *p)
{
    if (p->peek_count > 0)
        p->peek_count--;
    else
        p->token[0] = lex_item(p->lex);
    return p->token[p->peek_count];
}

static void p_backup(parser *p)
{
    p->peek_count++;
}

static void p_backup2(parser *p, item t1)
{
    p->token[1] = t1;
    p->peek_count = 2;
}

static void p_backup3(parser *p, item t2, item t1)
{
    p->token[1] = t1;
    p->token[2] = t2;
    p->peek_count = 3;
}

static item p_peek(parser *p)
{
    if (p->peek_count > 0) return p->token[p->peek_count - 1];
    p->peek_count = 1;
    p->token[0] = lex_item(p->lex);
    return p->token[0];
}

static item p_next_non_space(parser *p)
{
    item t;
    do
        t = p_next(p);
    while (t.typ == IT_SPACE);
    return t;
}

static item p_peek_non_space(parser *p)
{
    item t = p_next_non_space(p);
    p_backup(p);
    return t;
}

static void unexpected(parser *p, const item *t, const char *context) __attribute__((noreturn));
static void unexpected(parser *p, const item *t, const char *context)
{
    char b[64];
    if (t->typ == IT_ERROR) {
        char extra[256] = "";
        if (p->action_line != 0 && p->action_line != t->line) {
            bool action = t->len >= 7 && memcmp(t->val + t->len - 7, " action", 7) == 0;
            snprintf(extra, sizeof extra, "%s started at %s:%d", action ? "" : " in action",
                     p->tree->parse_name, p->action_line);
        }
        perrorf(p, "%s%s", t->val, extra);
    }
    perrorf(p, "unexpected %s in %s", item_string(t, b), context);
}

static item expect(parser *p, item_type want, const char *context)
{
    item t = p_next_non_space(p);
    if (t.typ != want) unexpected(p, &t, context);
    return t;
}

static tmpl_node *new_node(parser *p, tmpl_node_kind k, uint32_t pos, int line)
{
    tmpl_node *n = core_arena_calloc(&p->set->arena, 1, sizeof *n);
    n->kind = k;
    n->pos = pos;
    n->line = line;
    n->tree = p->tree;
    return n;
}

static void grow_append(parser *p, tmpl_node ***v, size_t *n, size_t *cap, tmpl_node *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        tmpl_node **nv = core_arena_alloc(&p->set->arena, nc * sizeof *nv);
        if (*n) memcpy(nv, *v, *n * sizeof *nv);
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
}

static void list_append(parser *p, tmpl_node *list, tmpl_node *x)
{
    grow_append(p, &list->u.list.v, &list->u.list.n, &list->u.list.cap, x);
}

static void push_var(parser *p, const char *name)
{
    if (p->nvars == p->capvars) {
        p->capvars = p->capvars ? p->capvars * 2 : 8;
        const char **nv = core_arena_alloc(&p->set->arena, p->capvars * sizeof *nv);
        if (p->nvars) memcpy(nv, p->vars, p->nvars * sizeof *nv);
        p->vars = nv;
    }
    p->vars[p->nvars++] = name;
}

/* A variable or field node from "$x.A.B" / ".A.B". */
static tmpl_node *new_dotted(parser *p, tmpl_node_kind k, uint32_t pos, int line, const char *s,
                             size_t n)
{
    tmpl_node *v = new_node(p, k, pos, line);
    size_t parts = 1;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '.') parts++;
    const char **ident = core_arena_alloc(&p->set->arena, parts * sizeof *ident);
    size_t np = 0, from = k == TN_FIELD ? 1 : 0;
    for (size_t i = from; i <= n; i++) {
        if (i == n || (s[i] == '.' && i > from)) {
            ident[np++] = astrndup(p, s + from, i - from);
            from = i + 1;
        }
    }
    v->u.field.ident = ident;
    v->u.field.n = np;
    return v;
}

static tmpl_node *item_list(parser *p, tmpl_node **next);
static tmpl_node *pipeline(parser *p, const char *context, item_type end);
static tmpl_node *if_control(parser *p);
static tmpl_node *with_control(parser *p);

static void check_pipeline(parser *p, tmpl_node *pipe, const char *context)
{
    if (pipe->u.pipe.ncmds == 0) perrorf(p, "missing value for %s", context);
    for (size_t i = 1; i < pipe->u.pipe.ncmds; i++) {
        switch (pipe->u.pipe.cmds[i]->u.cmd.args[0]->kind) {
        case TN_BOOL:
        case TN_DOT:
        case TN_NIL:
        case TN_NUMBER:
        case TN_STRING: perrorf(p, "non executable command in pipeline stage %zu", i + 1);
        default: break;
        }
    }
}

static tmpl_node *new_number(parser *p, const item *t)
{
    tmpl_node *n = new_node(p, TN_NUMBER, t->pos, t->line);
    char *text = astrndup(p, t->val, t->len);
    n->u.number.text = text;
    if (t->typ == IT_COMPLEX) perrorf(p, "complex constants are not supported: %s", text);
    if (t->typ == IT_CHARCONST) {
        core_sb sb = CORE_SB_INIT;
        size_t i = 1;
        uint32_t r = 0;
        bool ok = t->len >= 3 && unquote_char(text, t->len, &i, '\'', &sb, &r);
        core_sb_destroy(&sb);
        if (!ok) perrorf(p, "invalid syntax");
        if (i != t->len - 1) perrorf(p, "malformed character constant: %s", text);
        n->u.number.is_int = n->u.number.is_uint = n->u.number.is_float = true;
        n->u.number.i = r;
        n->u.number.u = r;
        n->u.number.f = r;
        return n;
    }
    /* Go's ParseInt/ParseUint with base 0 (prefixes, underscores). */
    char clean[128];
    size_t k = 0;
    for (size_t i = 0; i < t->len && k + 1 < sizeof clean; i++) {
        if (text[i] == '_') continue;
        clean[k++] = text[i];
    }
    clean[k] = '\0';
    const char *digits = clean;
    bool neg = false;
    if (*digits == '+' || *digits == '-') {
        neg = *digits == '-';
        digits++;
    }
    int base = 10;
    const char *body = digits;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        body = digits + 2;
    } else if (digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
        base = 8;
        body = digits + 2;
    } else if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
        base = 2;
        body = digits + 2;
    } else if (digits[0] == '0' && digits[1] != '\0') {
        base = 8;
        body = digits + 1;
    }
    bool int_syntax = *body != '\0';
    for (const char *c = body; *c && int_syntax; c++) {
        int d = unhex((unsigned char)*c);
        if (d < 0 || d >= base) int_syntax = false;
    }
    if (int_syntax) {
        errno = 0;
        char *end;
        unsigned long long u = strtoull(body, &end, base);
        bool uok = errno == 0 && *end == '\0';
        if (uok && !neg) {
            n->u.number.is_uint = true;
            n->u.number.u = u;
        }
        if (uok && ((!neg && u <= (unsigned long long)INT64_MAX) ||
                    (neg && u <= (unsigned long long)INT64_MAX + 1))) {
            n->u.number.is_int = true;
            n->u.number.i = neg ? (int64_t)(0 - u) : (int64_t)u;
            if (n->u.number.i == 0) {
                n->u.number.is_uint = true;
                n->u.number.u = 0;
            }
        }
    }
    if (n->u.number.is_int) {
        n->u.number.is_float = true;
        n->u.number.f = (double)n->u.number.i;
    } else if (n->u.number.is_uint) {
        n->u.number.is_float = true;
        n->u.number.f = (double)n->u.number.u;
    } else {
        core_sb msg = CORE_SB_INIT;
        double f;
        bool fok = tmpl_parse_float(clean, k, &f, &msg) == 0;
        core_sb_destroy(&msg);
        if (fok) {
            if (!strpbrk(text, ".eEpP")) perrorf(p, "integer overflow: \"%s\"", text);
            n->u.number.is_float = true;
            n->u.number.f = f;
            if (f >= -9223372036854775808.0 && f < 9223372036854775808.0 &&
                (double)(int64_t)f == f) {
                n->u.number.is_int = true;
                n->u.number.i = (int64_t)f;
            }
            if (f >= 0 && f < 18446744073709551616.0 && (double)(uint64_t)f == f) {
                n->u.number.is_uint = true;
                n->u.number.u = (uint64_t)f;
            }
        }
    }
    if (!n->u.number.is_int && !n->u.number.is_uint && !n->u.number.is_float)
        perrorf(p, "illegal number syntax: \"%s\"", text);
    return n;
}

static tmpl_node *use_var(parser *p, const item *t)
{
    tmpl_node *v = new_dotted(p, TN_VARIABLE, t->pos, t->line, t->val, t->len);
    for (size_t i = 0; i < p->nvars; i++)
        if (strcmp(p->vars[i], v->u.field.ident[0]) == 0) return v;
    perrorf(p, "undefined variable \"%s\"", v->u.field.ident[0]);
}

static tmpl_node *term(parser *p)
{
    item t = p_next_non_space(p);
    switch (t.typ) {
    case IT_ERROR: perrorf(p, "%s", t.val);
    case IT_IDENT: {
        char *name = astrndup(p, t.val, t.len);
        if (!tmpl_func_exists(name, p->set->html)) perrorf(p, "function \"%s\" not defined", name);
        tmpl_node *n = new_node(p, TN_IDENT, t.pos, t.line);
        n->u.ident.name = name;
        return n;
    }
    case IT_DOT: return new_node(p, TN_DOT, t.pos, t.line);
    case IT_NIL: return new_node(p, TN_NIL, t.pos, t.line);
    case IT_VARIABLE: return use_var(p, &t);
    case IT_FIELD: return new_dotted(p, TN_FIELD, t.pos, t.line, t.val, t.len);
    case IT_BOOL: {
        tmpl_node *n = new_node(p, TN_BOOL, t.pos, t.line);
        n->u.boolean = t.len == 4;
        return n;
    }
    case IT_CHARCONST:
    case IT_COMPLEX:
    case IT_NUMBER: return new_number(p, &t);
    case IT_LPAREN: return pipeline(p, "parenthesized pipeline", IT_RPAREN);
    case IT_STRING:
    case IT_RAWSTRING: {
        core_sb sb = CORE_SB_INIT;
        bool ok = unquote(t.val, t.len, &sb);
        if (!ok) {
            core_sb_destroy(&sb);
            perrorf(p, "invalid syntax");
        }
        tmpl_node *n = new_node(p, TN_STRING, t.pos, t.line);
        n->u.string.quoted = astrndup(p, t.val, t.len);
        n->u.string.s = astrndup(p, sb.buf ? sb.buf : "", sb.len);
        n->u.string.n = sb.len;
        core_sb_destroy(&sb);
        return n;
    }
    default: break;
    }
    p_backup(p);
    return NULL;
}

static tmpl_node *operand(parser *p)
{
    tmpl_node *node = term(p);
    if (!node) return NULL;
    if (p_peek(p).typ == IT_FIELD) {
        tmpl_node *chain = new_node(p, TN_CHAIN, p_peek(p).pos, p_peek(p).line);
        chain->u.chain.node = node;
        while (p_peek(p).typ == IT_FIELD) {
            item f = p_next(p);
            const char *name = astrndup(p, f.val + 1, f.len - 1);
            if (chain->u.chain.n == chain->u.chain.cap) {
                size_t nc = chain->u.chain.cap ? chain->u.chain.cap * 2 : 4;
                const char **nv = core_arena_alloc(&p->set->arena, nc * sizeof *nv);
                if (chain->u.chain.n)
                    memcpy(nv, chain->u.chain.field, chain->u.chain.n * sizeof *nv);
                chain->u.chain.field = nv;
                chain->u.chain.cap = nc;
            }
            chain->u.chain.field[chain->u.chain.n++] = name;
        }
        switch (node->kind) {
        case TN_FIELD:
        case TN_VARIABLE: {
            core_sb sb = CORE_SB_INIT;
            tmpl_node_string(chain, &sb);
            tmpl_node *m = new_dotted(p, node->kind, chain->pos, chain->line, sb.buf, sb.len);
            core_sb_destroy(&sb);
            return m;
        }
        case TN_BOOL:
        case TN_STRING:
        case TN_NUMBER:
        case TN_NIL:
        case TN_DOT: {
            core_sb sb = CORE_SB_INIT;
            tmpl_node_string(node, &sb);
            char msg[256];
            core_sb q = CORE_SB_INIT;
            core_sb_add_quoted(&q, sb.buf, sb.len);
            snprintf(msg, sizeof msg, "%s", q.buf);
            core_sb_destroy(&q);
            core_sb_destroy(&sb);
            perrorf(p, "unexpected . after term %s", msg);
        }
        default: return chain;
        }
    }
    return node;
}

static tmpl_node *command(parser *p)
{
    item first = p_peek_non_space(p);
    tmpl_node *cmd = new_node(p, TN_COMMAND, first.pos, first.line);
    for (;;) {
        p_peek_non_space(p);
        tmpl_node *op = operand(p);
        if (op) grow_append(p, &cmd->u.cmd.args, &cmd->u.cmd.n, &cmd->u.cmd.cap, op);
        item t = p_next(p);
        if (t.typ == IT_SPACE) continue;
        if (t.typ == IT_RIGHT_DELIM || t.typ == IT_RPAREN)
            p_backup(p);
        else if (t.typ != IT_PIPE)
            unexpected(p, &t, "operand");
        break;
    }
    if (cmd->u.cmd.n == 0) perrorf(p, "empty command");
    return cmd;
}

static tmpl_node *pipeline(parser *p, const char *context, item_type end)
{
    if (++p->depth > MAX_NESTING) perrorf(p, "template nested too deeply");
    item first = p_peek_non_space(p);
    tmpl_node *pipe = new_node(p, TN_PIPE, first.pos, first.line);
    size_t capdecl = 0, capcmds = 0;
decls:;
    item v = p_peek_non_space(p);
    if (v.typ == IT_VARIABLE) {
        p_next(p);
        item after = p_peek(p);
        item next = p_peek_non_space(p);
        if (next.typ == IT_ASSIGN || next.typ == IT_DECLARE) {
            pipe->u.pipe.is_assign = next.typ == IT_ASSIGN;
            p_next_non_space(p);
            tmpl_node *var = new_dotted(p, TN_VARIABLE, v.pos, v.line, v.val, v.len);
            grow_append(p, &pipe->u.pipe.decl, &pipe->u.pipe.ndecl, &capdecl, var);
            push_var(p, var->u.field.ident[0]);
        } else if (next.typ == IT_CHAR && next.len == 1 && next.val[0] == ',') {
            p_next_non_space(p);
            tmpl_node *var = new_dotted(p, TN_VARIABLE, v.pos, v.line, v.val, v.len);
            grow_append(p, &pipe->u.pipe.decl, &pipe->u.pipe.ndecl, &capdecl, var);
            push_var(p, var->u.field.ident[0]);
            if (strcmp(context, "range") == 0 && pipe->u.pipe.ndecl < 2) {
                item_type k = p_peek_non_space(p).typ;
                if (k == IT_VARIABLE || k == IT_RIGHT_DELIM || k == IT_RPAREN) goto decls;
                perrorf(p, "range can only initialize variables");
            }
            perrorf(p, "too many declarations in %s", context);
        } else if (after.typ == IT_SPACE) {
            p_backup3(p, v, after);
        } else {
            p_backup2(p, v);
        }
    }
    for (;;) {
        item t = p_next_non_space(p);
        if (t.typ == end) {
            check_pipeline(p, pipe, context);
            p->depth--;
            return pipe;
        }
        switch (t.typ) {
        case IT_BOOL:
        case IT_CHARCONST:
        case IT_COMPLEX:
        case IT_DOT:
        case IT_FIELD:
        case IT_IDENT:
        case IT_NUMBER:
        case IT_NIL:
        case IT_RAWSTRING:
        case IT_STRING:
        case IT_VARIABLE:
        case IT_LPAREN:
            p_backup(p);
            grow_append(p, &pipe->u.pipe.cmds, &pipe->u.pipe.ncmds, &capcmds, command(p));
            break;
        default: unexpected(p, &t, context);
        }
    }
}

static void parse_control(parser *p, const char *context, tmpl_node *ctrl)
{
    if (++p->depth > MAX_NESTING) perrorf(p, "template nested too deeply");
    size_t mark = p->nvars;
    tmpl_node *pipe = pipeline(p, context, IT_RIGHT_DELIM);
    bool is_range = strcmp(context, "range") == 0;
    if (is_range) p->range_depth++;
    tmpl_node *next;
    tmpl_node *list = item_list(p, &next);
    if (is_range) p->range_depth--;
    tmpl_node *else_list = NULL;
    if (next->kind == TN_ELSE) {
        if (strcmp(context, "if") == 0 && p_peek(p).typ == IT_IF) {
            p_next(p);
            else_list = new_node(p, TN_LIST, next->pos, next->line);
            list_append(p, else_list, if_control(p));
        } else if (strcmp(context, "with") == 0 && p_peek(p).typ == IT_WITH) {
            p_next(p);
            else_list = new_node(p, TN_LIST, next->pos, next->line);
            list_append(p, else_list, with_control(p));
        } else {
            else_list = item_list(p, &next);
            if (next->kind != TN_END) {
                core_sb sb = CORE_SB_INIT;
                tmpl_node_string(next, &sb);
                char s[64];
                snprintf(s, sizeof s, "%s", sb.buf);
                core_sb_destroy(&sb);
                perrorf(p, "expected end; found %s", s);
            }
        }
    }
    p->nvars = mark;
    p->depth--;
    ctrl->pos = pipe->pos;
    ctrl->line = pipe->line;
    ctrl->u.ctrl.pipe = pipe;
    ctrl->u.ctrl.list = list;
    ctrl->u.ctrl.else_list = else_list;
}

static tmpl_node *if_control(parser *p)
{
    tmpl_node *n = new_node(p, TN_IF, 0, 0);
    parse_control(p, "if", n);
    return n;
}

static tmpl_node *with_control(parser *p)
{
    tmpl_node *n = new_node(p, TN_WITH, 0, 0);
    parse_control(p, "with", n);
    return n;
}

static tmpl_node *range_control(parser *p)
{
    tmpl_node *n = new_node(p, TN_RANGE, 0, 0);
    parse_control(p, "range", n);
    return n;
}

static const char *template_name(parser *p, const item *t, const char *context)
{
    if (t->typ != IT_STRING && t->typ != IT_RAWSTRING) unexpected(p, t, context);
    core_sb sb = CORE_SB_INIT;
    if (!unquote(t->val, t->len, &sb)) {
        core_sb_destroy(&sb);
        perrorf(p, "invalid syntax");
    }
    const char *name = astrndup(p, sb.buf ? sb.buf : "", sb.len);
    core_sb_destroy(&sb);
    return name;
}

static bool is_empty_tree(const tmpl_node *n)
{
    if (!n) return true;
    switch (n->kind) {
    case TN_LIST:
        for (size_t i = 0; i < n->u.list.n; i++)
            if (!is_empty_tree(n->u.list.v[i])) return false;
        return true;
    case TN_TEXT:
        for (size_t i = 0; i < n->u.text.n; i++)
            if (!is_space((unsigned char)n->u.text.s[i]) && n->u.text.s[i] != '\v' &&
                n->u.text.s[i] != '\f')
                return false;
        return true;
    default: return false;
    }
}

static void add_tree(parser *p, tmpl_tree *t)
{
    tmpl_set *s = p->set;
    for (size_t i = 0; i < s->ntrees; i++) {
        if (strcmp(s->trees[i]->name, t->name) != 0) continue;
        if (is_empty_tree(s->trees[i]->root)) {
            s->trees[i] = t;
            return;
        }
        if (!is_empty_tree(t->root))
            perrorf(p, "template: multiple definition of template \"%s\"", t->name);
        return;
    }
    if (s->ntrees == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        tmpl_tree **nv = core_arena_alloc(&s->arena, s->cap * sizeof *nv);
        if (s->ntrees) memcpy(nv, s->trees, s->ntrees * sizeof *nv);
        s->trees = nv;
    }
    s->trees[s->ntrees++] = t;
}

/* Parses a {{define}} or {{block}} body into a tree of its own. */
static void sub_tree(parser *p, const char *name, const char *context)
{
    if (++p->depth > MAX_NESTING) perrorf(p, "template nested too deeply");
    tmpl_tree *t = core_arena_calloc(&p->set->arena, 1, sizeof *t);
    t->name = name;
    t->parse_name = p->tree->parse_name;
    t->text = p->tree->text;
    tmpl_tree *outer = p->tree;
    const char **outer_vars = p->vars;
    size_t outer_n = p->nvars, outer_cap = p->capvars;
    int outer_range = p->range_depth;
    p->tree = t;
    p->vars = NULL;
    p->nvars = p->capvars = 0;
    p->range_depth = 0;
    push_var(p, "$");
    tmpl_node *end;
    t->root = item_list(p, &end);
    if (end->kind != TN_END) {
        core_sb sb = CORE_SB_INIT;
        tmpl_node_string(end, &sb);
        char s[64];
        snprintf(s, sizeof s, "%s", sb.buf);
        core_sb_destroy(&sb);
        perrorf(p, "unexpected %s in %s", s, context);
    }
    add_tree(p, t);
    p->tree = outer;
    p->vars = outer_vars;
    p->nvars = outer_n;
    p->capvars = outer_cap;
    p->range_depth = outer_range;
    p->depth--;
}

static tmpl_node *template_control(parser *p)
{
    item t = p_next_non_space(p);
    const char *name = template_name(p, &t, "template clause");
    tmpl_node *pipe = NULL;
    if (p_next_non_space(p).typ != IT_RIGHT_DELIM) {
        p_backup(p);
        pipe = pipeline(p, "template clause", IT_RIGHT_DELIM);
    }
    tmpl_node *n = new_node(p, TN_TEMPLATE, t.pos, t.line);
    n->u.tmpl.name = name;
    n->u.tmpl.pipe = pipe;
    return n;
}

static tmpl_node *block_control(parser *p)
{
    item t = p_next_non_space(p);
    const char *name = template_name(p, &t, "block clause");
    tmpl_node *pipe = pipeline(p, "block clause", IT_RIGHT_DELIM);
    sub_tree(p, name, "block clause");
    tmpl_node *n = new_node(p, TN_TEMPLATE, t.pos, t.line);
    n->u.tmpl.name = name;
    n->u.tmpl.pipe = pipe;
    return n;
}

static tmpl_node *loop_control(parser *p, const item *kw, tmpl_node_kind k, const char *word)
{
    item t = p_next_non_space(p);
    char ctx[32];
    snprintf(ctx, sizeof ctx, "{{%s}}", word);
    if (t.typ != IT_RIGHT_DELIM) unexpected(p, &t, ctx);
    if (p->range_depth == 0) perrorf(p, "{{%s}} outside {{range}}", word);
    return new_node(p, k, kw->pos, kw->line);
}

static tmpl_node *action(parser *p)
{
    item t = p_next_non_space(p);
    switch (t.typ) {
    case IT_BLOCK: return block_control(p);
    case IT_BREAK: return loop_control(p, &t, TN_BREAK, "break");
    case IT_CONTINUE: return loop_control(p, &t, TN_CONTINUE, "continue");
    case IT_ELSE: {
        item pk = p_peek_non_space(p);
        if (pk.typ == IT_IF || pk.typ == IT_WITH) return new_node(p, TN_ELSE, pk.pos, pk.line);
        item r = expect(p, IT_RIGHT_DELIM, "else");
        return new_node(p, TN_ELSE, r.pos, r.line);
    }
    case IT_END: {
        item r = expect(p, IT_RIGHT_DELIM, "end");
        return new_node(p, TN_END, r.pos, r.line);
    }
    case IT_IF: return if_control(p);
    case IT_RANGE: return range_control(p);
    case IT_TEMPLATE: return template_control(p);
    case IT_WITH: return with_control(p);
    default: break;
    }
    p_backup(p);
    item first = p_peek(p);
    tmpl_node *n = new_node(p, TN_ACTION, first.pos, first.line);
    n->u.action.pipe = pipeline(p, "command", IT_RIGHT_DELIM);
    return n;
}

static tmpl_node *text_or_action(parser *p)
{
    item t = p_next_non_space(p);
    switch (t.typ) {
    case IT_TEXT: {
        tmpl_node *n = new_node(p, TN_TEXT, t.pos, t.line);
        n->u.text.s = t.val;
        n->u.text.n = t.len;
        return n;
    }
    case IT_LEFT_DELIM: {
        int saved = p->action_line;
        p->action_line = t.line;
        tmpl_node *n = action(p);
        p->action_line = saved;
        return n;
    }
    default: unexpected(p, &t, "input");
    }
}

static tmpl_node *item_list(parser *p, tmpl_node **next)
{
    tmpl_node *list = new_node(p, TN_LIST, p_peek_non_space(p).pos, 0);
    while (p_peek_non_space(p).typ != IT_EOF) {
        tmpl_node *n = text_or_action(p);
        if (n->kind == TN_END || n->kind == TN_ELSE) {
            *next = n;
            return list;
        }
        list_append(p, list, n);
    }
    perrorf(p, "unexpected EOF");
}

static void parse_top(parser *p)
{
    tmpl_tree *t = p->tree;
    t->root = new_node(p, TN_LIST, p_peek(p).pos, 0);
    while (p_peek(p).typ != IT_EOF) {
        if (p_peek(p).typ == IT_LEFT_DELIM) {
            item delim = p_next(p);
            if (p_next_non_space(p).typ == IT_DEFINE) {
                item name = p_next_non_space(p);
                if (name.typ != IT_STRING && name.typ != IT_RAWSTRING)
                    unexpected(p, &name, "define clause");
                const char *nm = template_name(p, &name, "define clause");
                expect(p, IT_RIGHT_DELIM, "define clause");
                sub_tree(p, nm, "define clause");
                continue;
            }
            p_backup2(p, delim);
        }
        tmpl_node *n = text_or_action(p);
        if (n->kind == TN_END || n->kind == TN_ELSE) {
            core_sb sb = CORE_SB_INIT;
            tmpl_node_string(n, &sb);
            char s[64];
            snprintf(s, sizeof s, "%s", sb.buf);
            core_sb_destroy(&sb);
            perrorf(p, "unexpected %s", s);
        }
        list_append(p, t->root, n);
    }
}

int tmpl_parse(tmpl_set *set, const char *name, const char *text, size_t len, core_err *err)
{
    lexer lx = {.in = text, .len = len, .arena = &set->arena, .line = 1};
    parser *p = core_calloc(1, sizeof *p);
    p->set = set;
    p->lex = &lx;
    p->err = err;
    tmpl_tree *t = core_arena_calloc(&set->arena, 1, sizeof *t);
    t->name = core_arena_strdup(&set->arena, name);
    t->parse_name = t->name;
    t->text = text;
    p->tree = t;
    if (setjmp(p->fail)) {
        free(p);
        return -1;
    }
    push_var(p, "$");
    parse_top(p);
    /* The top-level template goes first. */
    add_tree(p, t);
    for (size_t i = 0; i < set->ntrees; i++)
        if (set->trees[i] == t && i != 0) {
            memmove(set->trees + 1, set->trees, i * sizeof *set->trees);
            set->trees[0] = t;
        }
    free(p);
    return 0;
}

void tmpl_set_destroy(tmpl_set *set)
{
    core_arena_destroy(&set->arena);
    memset(set, 0, sizeof *set);
}

const tmpl_tree *tmpl_lookup(const tmpl_set *set, const char *name)
{
    for (size_t i = 0; i < set->ntrees; i++)
        if (strcmp(set->trees[i]->name, name) == 0) return set->trees[i];
    return NULL;
}

/* ---- Node strings (Go's String() methods) */

static void pipe_string(const tmpl_node *n, core_sb *out)
{
    for (size_t i = 0; i < n->u.pipe.ndecl; i++) {
        if (i) core_sb_adds(out, ", ");
        tmpl_node_string(n->u.pipe.decl[i], out);
    }
    if (n->u.pipe.ndecl) core_sb_adds(out, n->u.pipe.is_assign ? " = " : " := ");
    for (size_t i = 0; i < n->u.pipe.ncmds; i++) {
        if (i) core_sb_adds(out, " | ");
        tmpl_node_string(n->u.pipe.cmds[i], out);
    }
}

void tmpl_node_string(const tmpl_node *n, core_sb *out)
{
    switch (n->kind) {
    case TN_LIST:
        for (size_t i = 0; i < n->u.list.n; i++)
            tmpl_node_string(n->u.list.v[i], out);
        break;
    case TN_TEXT: core_sb_add(out, n->u.text.s, n->u.text.n); break;
    case TN_ACTION:
        core_sb_adds(out, "{{");
        pipe_string(n->u.action.pipe, out);
        core_sb_adds(out, "}}");
        break;
    case TN_IF:
    case TN_RANGE:
    case TN_WITH:
        core_sb_adds(out, n->kind == TN_IF      ? "{{if "
                          : n->kind == TN_RANGE ? "{{range "
                                                : "{{with ");
        pipe_string(n->u.ctrl.pipe, out);
        core_sb_adds(out, "}}");
        tmpl_node_string(n->u.ctrl.list, out);
        if (n->u.ctrl.else_list) {
            core_sb_adds(out, "{{else}}");
            tmpl_node_string(n->u.ctrl.else_list, out);
        }
        core_sb_adds(out, "{{end}}");
        break;
    case TN_TEMPLATE:
        core_sb_adds(out, "{{template ");
        core_sb_add_quoted(out, n->u.tmpl.name, strlen(n->u.tmpl.name));
        if (n->u.tmpl.pipe) {
            core_sb_addc(out, ' ');
            pipe_string(n->u.tmpl.pipe, out);
        }
        core_sb_adds(out, "}}");
        break;
    case TN_BREAK: core_sb_adds(out, "{{break}}"); break;
    case TN_CONTINUE: core_sb_adds(out, "{{continue}}"); break;
    case TN_PIPE: pipe_string(n, out); break;
    case TN_COMMAND:
        for (size_t i = 0; i < n->u.cmd.n; i++) {
            if (i) core_sb_addc(out, ' ');
            const tmpl_node *a = n->u.cmd.args[i];
            if (a->kind == TN_PIPE) {
                core_sb_addc(out, '(');
                pipe_string(a, out);
                core_sb_addc(out, ')');
            } else {
                tmpl_node_string(a, out);
            }
        }
        break;
    case TN_FIELD:
        for (size_t i = 0; i < n->u.field.n; i++) {
            core_sb_addc(out, '.');
            core_sb_adds(out, n->u.field.ident[i]);
        }
        break;
    case TN_VARIABLE:
        for (size_t i = 0; i < n->u.field.n; i++) {
            if (i) core_sb_addc(out, '.');
            core_sb_adds(out, n->u.field.ident[i]);
        }
        break;
    case TN_CHAIN:
        if (n->u.chain.node->kind == TN_PIPE) {
            core_sb_addc(out, '(');
            pipe_string(n->u.chain.node, out);
            core_sb_addc(out, ')');
        } else {
            tmpl_node_string(n->u.chain.node, out);
        }
        for (size_t i = 0; i < n->u.chain.n; i++) {
            core_sb_addc(out, '.');
            core_sb_adds(out, n->u.chain.field[i]);
        }
        break;
    case TN_IDENT: core_sb_adds(out, n->u.ident.name); break;
    case TN_DOT: core_sb_addc(out, '.'); break;
    case TN_NIL: core_sb_adds(out, "nil"); break;
    case TN_BOOL: core_sb_adds(out, n->u.boolean ? "true" : "false"); break;
    case TN_NUMBER: core_sb_adds(out, n->u.number.text); break;
    case TN_STRING: core_sb_adds(out, n->u.string.quoted); break;
    case TN_END: core_sb_adds(out, "{{end}}"); break;
    case TN_ELSE: core_sb_adds(out, "{{else}}"); break;
    }
}
