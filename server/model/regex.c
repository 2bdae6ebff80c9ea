/*
 * regex.c - Go (RE2) regular expressions on PCRE2, anchored as Prometheus
 * anchors them.
 *
 * Prometheus compiles every relabel regex and every PromQL =~ matcher as
 * "^(?s:" + pattern + ")$" with Go's regexp package.  Here the same wrapped
 * string goes through a parser that follows Go's regexp/syntax grammar step by
 * step (the big switch, parsePerlFlags, parseEscape, parseClass, parseRepeat),
 * refusing exactly what Go refuses with Go's error code and excerpt, and that
 * writes an equivalent PCRE2 pattern as it goes.  Parsing the wrapped string,
 * rather than the user's pattern, keeps Go's quirks: "a)(?s:b" is accepted
 * (the user's ")" closes the wrapper's group), and a missing ")" is reported
 * with the whole wrapped pattern, as upstream prints it.
 *
 * The translation keeps meaning where the two dialects differ:
 *   - every literal that is not a letter or digit is written as an escape
 *     (\x{..} inside classes), so PCRE2 never sees a metacharacter Go takes
 *     literally ("{" that is not a repeat, "]", "#", " ");
 *   - named groups become plain groups and the names are kept here (Go allows
 *     names PCRE2 refuses, "(?P<1>x)", and repeated names);
 *   - \s is [\t\n\f\r ] (PCRE2's \s also has \v), \v is U+000B (PCRE2's \v
 *     is a class), octal and \x escapes become \x{..};
 *   - a repetition of something PCRE2 cannot repeat directly (an assertion
 *     such as ^ or \b, or an already repeated item after a flag group, which
 *     Go allows: "a*(?i)*") is wrapped in (?:...);
 *   - a flag group between an item and its repetition ("a(?i)*", where Go
 *     repeats the a) is kept after the repetition;
 *   - PCRE2 is told $ means end of text (DOLLAR_ENDONLY), ^ in (?m) matches
 *     after a final newline (ALT_CIRCUMFLEX) and newline is LF, as in Go.
 * Go's limits are enforced too: repeat counts up to 1000, also as a product
 * of nested counted repetitions.
 *
 * Matching: four shapes skip PCRE2 altogether, since they are what most
 * configurations use: ".*" and "(.*)" (the relabel default) match anything,
 * ".+" and "(.+)" anything non-empty, and a pattern without metacharacters is
 * compared as bytes.  Everything else runs the JIT code (or the interpreter if
 * JIT is missing or its stack runs out) with a match limit, using match data
 * kept per thread.
 *
 * Expansion follows Go's Regexp.Expand byte for byte, including its reading
 * of names (Unicode letters and digits, checked with a small PCRE2 class when
 * a name has non-ASCII characters).
 */
#include "model/model.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum re_kind {
    RE_PCRE,     /* general case */
    RE_LITERAL,  /* no metacharacters: compare bytes */
    RE_ANY,      /* .* or (.*) */
    RE_NONEMPTY, /* .+ or (.+) */
};

struct model_regex {
    enum re_kind kind;
    pcre2_code *code;
    uint32_t ngroups;
    char **names; /* [ngroups + 1]; names[i] is group i's name or NULL */
    char *pattern;
    size_t len;
};

/* ---- UTF-8 as Go's utf8.DecodeRuneInString reads it */

size_t model_utf8_decode(const char *s, size_t n, uint32_t *r)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) return 0;
    if (u[0] < 0x80) {
        *r = u[0];
        return 1;
    }
    size_t need;
    uint32_t min, c;
    if ((u[0] & 0xE0) == 0xC0) {
        need = 2, min = 0x80, c = u[0] & 0x1F;
    } else if ((u[0] & 0xF0) == 0xE0) {
        need = 3, min = 0x800, c = u[0] & 0x0F;
    } else if ((u[0] & 0xF8) == 0xF0) {
        need = 4, min = 0x10000, c = u[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *r = c;
    return need;
}

static bool utf8_valid(const char *s, size_t n)
{
    uint32_t r;
    for (size_t i = 0; i < n;) {
        size_t k = model_utf8_decode(s + i, n - i, &r);
        if (k == 0) return false;
        i += k;
    }
    return true;
}

/* ---- Translation from Go syntax to PCRE2 syntax */

/* Go's regexp/syntax error codes. */
#define E_CHAR_RANGE   "invalid character class range"
#define E_ESCAPE       "invalid escape sequence"
#define E_NAMED        "invalid named capture"
#define E_PERL_OP      "invalid or unsupported Perl syntax"
#define E_REPEAT_OP    "invalid nested repetition operator"
#define E_REPEAT_SIZE  "invalid repeat count"
#define E_UTF8         "invalid UTF-8"
#define E_BRACKET      "missing closing ]"
#define E_PAREN        "missing closing )"
#define E_REPEAT_ARG   "missing argument to repetition operator"
#define E_BACKSLASH    "trailing backslash at end of expression"
#define E_UNEXPECTED_P "unexpected )"
#define E_LARGE        "expression too large"

#define MAX_REPEAT 1000 /* Go's maxRepeat */
#define NONE       ((size_t)-1)

typedef struct group {
    size_t out_start; /* where its "(" is in the output */
    unsigned max_rp;  /* largest repeat product of the items inside */
    bool u;           /* the U flag before the group, restored at its end */
} group;

typedef struct tr {
    const char *s; /* the wrapped pattern */
    size_t n;
    size_t i;
    core_sb out;
    core_err *err;
    group *stack;
    size_t depth, cap;
    unsigned top_rp; /* max_rp outside every group */
    /* The last item, which a repetition would apply to. */
    bool have_atom;
    bool atom_pending; /* its repeat product not yet folded into its group */
    bool atom_wrap;    /* must be wrapped in (?:) before a repetition */
    size_t atom_start, atom_end;
    unsigned atom_rp;
    bool atom_u;        /* the U flag where the item ends, as PCRE2 sees it there */
    bool u;             /* the U flag (ungreedy) in force, as Go tracks it */
    size_t last_repeat; /* where the previous token began if it was a repetition */
    uint32_t ncap;
    char **names;
    size_t names_cap;
} tr;

static int fail(tr *t, const char *code, size_t from, size_t to)
{
    return core_err_set(t->err, "error parsing regexp: %s: `%.*s`", code, (int)(to - from),
                        t->s + from);
}

/* The rune at `at`, or an invalid-UTF-8 error naming the rest of the text. */
static int next_rune(tr *t, size_t at, uint32_t *r, size_t *size)
{
    *size = model_utf8_decode(t->s + at, t->n - at, r);
    if (*size == 0 && at < t->n) return fail(t, E_UTF8, at, t->n);
    return 0;
}

static bool is_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int unhex(uint32_t c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

static void insert(core_sb *sb, size_t at, const char *s, size_t n)
{
    core_sb_grow(sb, n);
    memmove(sb->buf + at + n, sb->buf + at, sb->len - at + 1);
    memcpy(sb->buf + at, s, n);
    sb->len += n;
}

static unsigned *cur_max(tr *t)
{
    return t->depth ? &t->stack[t->depth - 1].max_rp : &t->top_rp;
}

static void fold_atom(tr *t)
{
    if (!t->atom_pending) return;
    unsigned *m = cur_max(t);
    if (t->atom_rp > *m) *m = t->atom_rp;
    t->atom_pending = false;
}

static void begin_atom(tr *t, bool assertion)
{
    fold_atom(t);
    t->have_atom = true;
    t->atom_pending = true;
    t->atom_wrap = assertion;
    t->atom_start = t->out.len;
    t->atom_rp = 1;
}

static void end_atom(tr *t)
{
    t->atom_end = t->out.len;
    t->atom_u = t->u;
}

/* A rune in the output outside a class: letters, digits and non-ASCII runes of
 * the pattern as they are, ASCII punctuation escaped, the rest as \x{..}. */
static void emit_rune(core_sb *out, uint32_t c, bool in_class)
{
    if (is_alnum(c)) {
        core_sb_addc(out, (char)c);
    } else if (c >= 0x80) {
        char buf[4];
        size_t n;
        if (c < 0x800) {
            buf[0] = (char)(0xC0 | (c >> 6));
            buf[1] = (char)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c < 0x10000) {
            buf[0] = (char)(0xE0 | (c >> 12));
            buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[2] = (char)(0x80 | (c & 0x3F));
            n = 3;
        } else {
            buf[0] = (char)(0xF0 | (c >> 18));
            buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[3] = (char)(0x80 | (c & 0x3F));
            n = 4;
        }
        if (c >= 0xD800 && c <= 0xDFFF) {
            /* A surrogate from \x{D800}: PCRE2 refuses it in UTF mode; Go
             * accepts it but no valid text contains it. */
            core_sb_adds(out, in_class ? "" : "(*FAIL)");
            return;
        }
        core_sb_add(out, buf, n);
    } else if (!in_class && c > 0x20 && c < 0x7F) {
        core_sb_addc(out, '\\');
        core_sb_addc(out, (char)c);
    } else {
        core_sb_addf(out, "\\x{%X}", (unsigned)c);
    }
}

static void emit_literal(tr *t, uint32_t c)
{
    begin_atom(t, false);
    emit_rune(&t->out, c, false);
    end_atom(t);
}

/* Go's parseEscape from `at` (a backslash): the rune, and *end after it. */
static int parse_escape(tr *t, size_t at, uint32_t *r, size_t *end)
{
    size_t k = at + 1, sz;
    uint32_t c;
    if (k >= t->n) return core_err_set(t->err, "error parsing regexp: %s: ``", E_BACKSLASH);
    if (next_rune(t, k, &c, &sz) < 0) return -1;
    k += sz;
    if (c < 0x80 && !is_alnum(c)) {
        *r = c;
        *end = k;
        return 0;
    }
    switch (c) {
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        /* A lone digit would be a backreference, which Go refuses. */
        if (k >= t->n || t->s[k] < '0' || t->s[k] > '7') break;
        /* fall through */
    case '0': {
        uint32_t v = c - '0';
        for (int d = 1; d < 3 && k < t->n && t->s[k] >= '0' && t->s[k] <= '7'; d++)
            v = v * 8 + (uint32_t)(t->s[k++] - '0');
        *r = v;
        *end = k;
        return 0;
    }
    case 'x': {
        if (k >= t->n) break;
        uint32_t c2;
        if (next_rune(t, k, &c2, &sz) < 0) return -1;
        k += sz;
        if (c2 == '{') {
            uint32_t v = 0;
            int nhex = 0;
            for (;;) {
                if (k >= t->n) return fail(t, E_ESCAPE, at, k);
                uint32_t c3;
                if (next_rune(t, k, &c3, &sz) < 0) return -1;
                k += sz;
                if (c3 == '}') break;
                int h = unhex(c3);
                if (h < 0) return fail(t, E_ESCAPE, at, k);
                v = v * 16 + (uint32_t)h;
                if (v > 0x10FFFF) return fail(t, E_ESCAPE, at, k);
                nhex++;
            }
            if (nhex == 0) return fail(t, E_ESCAPE, at, k);
            *r = v;
            *end = k;
            return 0;
        }
        int x = unhex(c2), y = -1;
        if (k < t->n) {
            uint32_t c3;
            if (next_rune(t, k, &c3, &sz) < 0) return -1;
            k += sz;
            y = unhex(c3);
        }
        if (x < 0 || y < 0) break;
        *r = (uint32_t)(x * 16 + y);
        *end = k;
        return 0;
    }
    case 'a': *r = 7, *end = k; return 0;
    case 'f': *r = 12, *end = k; return 0;
    case 'n': *r = 10, *end = k; return 0;
    case 'r': *r = 13, *end = k; return 0;
    case 't': *r = 9, *end = k; return 0;
    case 'v': *r = 11, *end = k; return 0;
    }
    return fail(t, E_ESCAPE, at, k);
}

/* The output for Go's Perl classes \d \D \w \W \s \S, or NULL. */
static const char *perl_class(char c, bool in_class)
{
    switch (c) {
    case 'd': return "\\d";
    case 'D': return "\\D";
    case 'w': return "\\w";
    case 'W': return "\\W";
    /* Go's \s is [\t\n\f\r ]; PCRE2's also has \v. */
    case 's':
        return in_class ? "\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}" : "[\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}]";
    case 'S':
        return in_class ? "\\x{0}-\\x{8}\\x{B}\\x{E}-\\x{1F}\\x{21}-\\x{10FFFF}"
                        : "[^\\x{9}\\x{A}\\x{C}\\x{D}\\x{20}]";
    }
    return NULL;
}

/* Whether PCRE2 knows the Unicode property `name`. */
static bool pcre2_property_ok(const char *name, size_t len)
{
    core_sb p = CORE_SB_INIT;
    core_sb_adds(&p, "\\p{");
    core_sb_add(&p, name, len);
    core_sb_adds(&p, "}");
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)p.buf, p.len, PCRE2_UTF, &ec, &eo, NULL);
    core_sb_destroy(&p);
    if (c == NULL) return false;
    pcre2_code_free(c);
    return true;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    /* Go's canonicalName: case-insensitive, '_', '-' and ' ' ignored. */
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '_' || c == '-' || c == ' ') continue;
        if (want[j] == '\0') return false;
        char a = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        char b = (char)((want[j] >= 'A' && want[j] <= 'Z') ? want[j] + 32 : want[j]);
        if (a != b) return false;
        j++;
    }
    return want[j] == '\0';
}

/* Go's parseUnicodeClass at `at` (a backslash followed by p or P): writes the
 * class (a bare \p{..} when in_class, else an item of its own). */
static int unicode_class(tr *t, size_t at, bool in_class, size_t *end)
{
    bool neg = t->s[at + 1] == 'P';
    size_t k = at + 2, sz;
    uint32_t c;
    const char *name;
    size_t nlen, seq_end;
    if (k < t->n) {
        if (next_rune(t, k, &c, &sz) < 0) return -1;
    } else {
        c = 0xFFFD, sz = 0;
    }
    if (c != '{') {
        name = t->s + k;
        nlen = sz;
        seq_end = k + sz;
    } else {
        const char *close = memchr(t->s + at, '}', t->n - at);
        if (close == NULL) {
            if (!utf8_valid(t->s + at, t->n - at)) {
                size_t bad = at;
                uint32_t rr;
                while (model_utf8_decode(t->s + bad, t->n - bad, &rr) != 0)
                    bad += model_utf8_decode(t->s + bad, t->n - bad, &rr);
                return fail(t, E_UTF8, bad, t->n);
            }
            return fail(t, E_CHAR_RANGE, at, t->n);
        }
        seq_end = (size_t)(close - t->s) + 1;
        name = t->s + at + 3;
        nlen = seq_end - 1 - (at + 3);
        if (!utf8_valid(name, nlen)) {
            size_t bad = (size_t)(name - t->s), stop = seq_end - 1;
            uint32_t rr;
            while (model_utf8_decode(t->s + bad, stop - bad, &rr) != 0)
                bad += model_utf8_decode(t->s + bad, stop - bad, &rr);
            return fail(t, E_UTF8, bad, stop);
        }
    }
    if (nlen > 0 && name[0] == '^') {
        neg = !neg;
        name++;
        nlen--;
    }
    core_sb *o = &t->out;
    if (nlen > 0 && name_is(name, nlen, "ascii")) {
        if (in_class)
            core_sb_adds(o, neg ? "\\x{80}-\\x{10FFFF}" : "\\x{0}-\\x{7F}");
        else
            core_sb_adds(o, neg ? "[^\\x{0}-\\x{7F}]" : "[\\x{0}-\\x{7F}]");
    } else if (nlen > 0 && name_is(name, nlen, "assigned")) {
        core_sb_adds(o, neg ? "\\p{Cn}" : "\\P{Cn}");
    } else if (nlen > 0 && name_is(name, nlen, "any")) {
        core_sb_adds(o, neg ? "\\P{Any}" : "\\p{Any}");
    } else {
        bool ok = nlen > 0 && memchr(name, '}', nlen) == NULL && memchr(name, '\\', nlen) == NULL &&
                  memchr(name, '=', nlen) == NULL && memchr(name, ':', nlen) == NULL &&
                  pcre2_property_ok(name, nlen);
        if (!ok) return fail(t, E_CHAR_RANGE, at, seq_end);
        core_sb_adds(o, neg ? "\\P{" : "\\p{");
        core_sb_add(o, name, nlen);
        core_sb_addc(o, '}');
    }
    *end = seq_end;
    return 0;
}

static const char *const posix_names[] = {
    "[:alnum:]", "[:alpha:]", "[:ascii:]", "[:blank:]", "[:cntrl:]", "[:digit:]", "[:graph:]",
    "[:lower:]", "[:print:]", "[:punct:]", "[:space:]", "[:upper:]", "[:word:]",  "[:xdigit:]",
};

static bool posix_class(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof posix_names / sizeof *posix_names; i++) {
        const char *p = posix_names[i];
        size_t pl = strlen(p);
        if (len == pl && memcmp(s, p, pl) == 0) return true;
        /* [:^alpha:] */
        if (len == pl + 1 && s[2] == '^' && memcmp(s + 3, p + 2, pl - 2) == 0) return true;
    }
    return false;
}

/* A class character (Go's parseClassChar) at `at`; `start` is the "[". */
static int class_char(tr *t, size_t start, size_t at, uint32_t *r, size_t *end)
{
    if (at >= t->n) return fail(t, E_BRACKET, start, t->n);
    if (t->s[at] == '\\') return parse_escape(t, at, r, end);
    size_t sz;
    if (next_rune(t, at, r, &sz) < 0) return -1;
    *end = at + sz;
    return 0;
}

/* Go's parseClass at t->i (a "["). */
static int parse_class(tr *t)
{
    size_t start = t->i, k = start + 1;
    begin_atom(t, false);
    core_sb_addc(&t->out, '[');
    if (k < t->n && t->s[k] == '^') {
        core_sb_addc(&t->out, '^');
        k++;
    }
    bool first = true;
    while (k >= t->n || t->s[k] != ']' || first) {
        first = false;
        if (t->n - k > 2 && t->s[k] == '[' && t->s[k + 1] == ':') {
            const char *close = NULL;
            for (size_t j = k + 2; j + 1 < t->n; j++) {
                if (t->s[j] == ':' && t->s[j + 1] == ']') {
                    close = t->s + j;
                    break;
                }
            }
            if (close != NULL) {
                size_t nend = (size_t)(close - t->s) + 2;
                if (!posix_class(t->s + k, nend - k)) return fail(t, E_CHAR_RANGE, k, nend);
                core_sb_add(&t->out, t->s + k, nend - k);
                k = nend;
                continue;
            }
        }
        if (t->n - k >= 2 && t->s[k] == '\\' && (t->s[k + 1] == 'p' || t->s[k + 1] == 'P')) {
            if (unicode_class(t, k, true, &k) < 0) return -1;
            continue;
        }
        if (t->n - k >= 2 && t->s[k] == '\\') {
            const char *pc = perl_class(t->s[k + 1], true);
            if (pc != NULL) {
                core_sb_adds(&t->out, pc);
                k += 2;
                continue;
            }
        }
        size_t rng = k;
        uint32_t lo, hi;
        if (class_char(t, start, k, &lo, &k) < 0) return -1;
        hi = lo;
        if (t->n - k >= 2 && t->s[k] == '-' && t->s[k + 1] != ']') {
            k++;
            if (class_char(t, start, k, &hi, &k) < 0) return -1;
            if (hi < lo) return fail(t, E_CHAR_RANGE, rng, k);
        }
        emit_rune(&t->out, lo, true);
        if (hi != lo) {
            core_sb_addc(&t->out, '-');
            emit_rune(&t->out, hi, true);
        }
    }
    core_sb_addc(&t->out, ']');
    end_atom(t);
    t->i = k + 1;
    return 0;
}

/* Go's parseInt: decimal digits without a leading zero; -1 once the value
 * reaches 1e8. */
static bool parse_int(const tr *t, size_t k, long *v, size_t *end)
{
    if (k >= t->n || t->s[k] < '0' || t->s[k] > '9') return false;
    if (t->n - k >= 2 && t->s[k] == '0' && t->s[k + 1] >= '0' && t->s[k + 1] <= '9') return false;
    long n = 0;
    for (; k < t->n && t->s[k] >= '0' && t->s[k] <= '9'; k++) {
        if (n < 0) continue;
        n = n >= 100000000 ? -1 : n * 10 + (t->s[k] - '0');
    }
    *v = n;
    *end = k;
    return true;
}

/* Go's parseRepeat: {min}, {min,} (max -1) or {min,max}; false if the text
 * is not of that form.  A number too big gives min -1. */
static bool parse_repeat(const tr *t, size_t at, int *min, int *max, size_t *end)
{
    size_t k = at + 1;
    long lo, hi;
    if (!parse_int(t, k, &lo, &k) || k >= t->n) return false;
    if (t->s[k] != ',') {
        hi = lo;
    } else {
        k++;
        if (k >= t->n) return false;
        if (t->s[k] == '}') {
            hi = -1;
        } else {
            if (!parse_int(t, k, &hi, &k)) return false;
            if (hi < 0) lo = -1;
        }
    }
    if (k >= t->n || t->s[k] != '}') return false;
    *min = (int)lo;
    *max = (int)hi;
    *end = k + 1;
    return true;
}

/* Applies a repetition (Go's repeat) whose operator spans s[before..after). */
static int apply_repeat(tr *t, size_t before, size_t after, int min, int max, bool counted)
{
    bool mark = false;
    if (after < t->n && t->s[after] == '?') {
        after++;
        mark = true;
    }
    /* Go: non-greedy when U and the '?' mark differ.  PCRE2 reads the
     * quantifier with the U flag in force where it is inserted. */
    bool lazy = (t->u != mark) != t->atom_u;
    if (t->last_repeat != NONE) return fail(t, E_REPEAT_OP, t->last_repeat, after);
    if (!t->have_atom) return fail(t, E_REPEAT_ARG, before, after);
    unsigned rp = t->atom_rp;
    if (counted) {
        int m = max == 0 ? 0 : (max < 0 ? min : max);
        if ((min >= 2 || max >= 2) && m > 0 && (unsigned long)m * rp > MAX_REPEAT)
            return fail(t, E_REPEAT_SIZE, before, after);
        if (max == 0)
            rp = 1;
        else if (m > 0)
            rp = (unsigned)m * rp > MAX_REPEAT + 1 ? MAX_REPEAT + 1 : (unsigned)m * rp;
    }
    char q[32];
    size_t ql;
    if (!counted)
        ql = (size_t)snprintf(q, sizeof q, "%c%s", t->s[before], lazy ? "?" : "");
    else if (max == min)
        ql = (size_t)snprintf(q, sizeof q, "{%d}%s", min, lazy ? "?" : "");
    else if (max < 0)
        ql = (size_t)snprintf(q, sizeof q, "{%d,}%s", min, lazy ? "?" : "");
    else
        ql = (size_t)snprintf(q, sizeof q, "{%d,%d}%s", min, max, lazy ? "?" : "");
    if (t->atom_wrap) {
        insert(&t->out, t->atom_end, ")", 1);
        insert(&t->out, t->atom_start, "(?:", 3);
        t->atom_end += 4;
    }
    insert(&t->out, t->atom_end, q, ql);
    t->atom_end += ql;
    t->atom_wrap = true; /* repeated: a further repetition needs a group */
    t->atom_rp = rp;
    t->i = after;
    return 0;
}

static void open_group(tr *t, const char *text)
{
    fold_atom(t);
    if (t->depth == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->stack = core_reallocarray(t->stack, t->cap, sizeof *t->stack);
    }
    t->stack[t->depth++] = (group){t->out.len, 1, t->u};
    core_sb_adds(&t->out, text);
    t->have_atom = false;
}

static void add_name(tr *t, uint32_t cap, const char *name, size_t len)
{
    if (cap >= t->names_cap) {
        size_t nc = t->names_cap ? t->names_cap * 2 : 8;
        while (nc <= cap)
            nc *= 2;
        t->names = core_reallocarray(t->names, nc, sizeof *t->names);
        memset(t->names + t->names_cap, 0, (nc - t->names_cap) * sizeof *t->names);
        t->names_cap = nc;
    }
    t->names[cap] = core_strndup(name, len);
}

/* Go's parsePerlFlags at t->i ("(?"). */
static int perl_flags(tr *t)
{
    size_t at = t->i;
    const char *s = t->s;
    bool with_p = t->n - at > 4 && s[at + 2] == 'P' && s[at + 3] == '<';
    bool with_name = t->n - at > 3 && s[at + 2] == '<';
    if (with_p || with_name) {
        size_t begin = at + (with_p ? 4 : 3);
        const char *gt = memchr(s + at, '>', t->n - at);
        if (gt == NULL) {
            uint32_t r;
            for (size_t k = at; k < t->n;) {
                size_t sz = model_utf8_decode(s + k, t->n - k, &r);
                if (sz == 0) return fail(t, E_UTF8, k, t->n);
                k += sz;
            }
            return fail(t, E_NAMED, at, t->n);
        }
        size_t end = (size_t)(gt - s);
        for (size_t k = begin; k < end;) {
            uint32_t r;
            size_t sz = model_utf8_decode(s + k, end - k, &r);
            if (sz == 0) return fail(t, E_UTF8, k, end);
            k += sz;
        }
        bool ok = end > begin;
        for (size_t k = begin; k < end; k++)
            if (s[k] != '_' && !is_alnum((unsigned char)s[k])) ok = false;
        if (!ok) return fail(t, E_NAMED, at, end + 1);
        t->ncap++;
        add_name(t, t->ncap, s + begin, end - begin);
        open_group(t, "(");
        t->i = end + 1;
        return 0;
    }
    /* Flags: the ones after '-' are cleared, the others set, as Go folds
     * them; written back normalized, since PCRE2 is stricter about repeats. */
    size_t k = at + 2;
    int sign = 1;
    bool saw = false;
    unsigned on = 0, off = 0;
    static const char letters[] = "imsU";
    while (k < t->n) {
        uint32_t c;
        size_t sz;
        if (next_rune(t, k, &c, &sz) < 0) return -1;
        k += sz;
        const char *l = c < 0x80 && c != 0 ? strchr(letters, (int)c) : NULL;
        if (l != NULL) {
            unsigned bit = 1u << (l - letters);
            if (sign > 0) {
                on |= bit;
                off &= ~bit;
            } else {
                off |= bit;
                on &= ~bit;
            }
            saw = true;
        } else if (c == '-') {
            if (sign < 0) break;
            sign = -1;
            saw = false;
        } else if (c == ':' || c == ')') {
            if (sign < 0 && !saw) break;
            char text[16];
            size_t nt = 0;
            text[nt++] = '(';
            text[nt++] = '?';
            for (int b = 0; b < 4; b++)
                if (on & (1u << b)) text[nt++] = letters[b];
            if (off) text[nt++] = '-';
            for (int b = 0; b < 4; b++)
                if (off & (1u << b)) text[nt++] = letters[b];
            text[nt++] = (char)c;
            text[nt] = '\0';
            t->i = k;
            bool u = (on & 8u) ? true : (off & 8u) ? false : t->u;
            if (c == ':') {
                open_group(t, text);
                t->u = u;
            } else if (on || off) {
                t->u = u;
                /* Not an item: a repetition after it applies to the item
                 * before (see apply_repeat, which inserts before it). */
                core_sb_adds(&t->out, text);
            }
            return 0;
        } else {
            break;
        }
    }
    return fail(t, E_PERL_OP, at, k);
}

static int close_group(tr *t)
{
    if (t->depth == 0) return fail(t, E_UNEXPECTED_P, 0, t->n);
    fold_atom(t);
    group g = t->stack[--t->depth];
    core_sb_addc(&t->out, ')');
    t->u = g.u;
    t->atom_u = g.u;
    t->have_atom = true;
    t->atom_pending = true;
    t->atom_wrap = false;
    t->atom_start = g.out_start;
    t->atom_end = t->out.len;
    t->atom_rp = g.max_rp;
    t->i++;
    return 0;
}

static int assertion(tr *t, const char *text, size_t skip)
{
    begin_atom(t, true);
    core_sb_adds(&t->out, text);
    end_atom(t);
    t->i += skip;
    return 0;
}

static int backslash(tr *t)
{
    size_t at = t->i;
    if (t->n - at >= 2) {
        switch (t->s[at + 1]) {
        case 'A': return assertion(t, "\\A", 2);
        case 'b': return assertion(t, "\\b", 2);
        case 'B': return assertion(t, "\\B", 2);
        case 'z': return assertion(t, "\\z", 2);
        case 'C': return fail(t, E_ESCAPE, at, at + 2);
        case 'Q': {
            size_t k = at + 2, stop = t->n, next = t->n;
            for (size_t j = k; j + 1 < t->n; j++) {
                if (t->s[j] == '\\' && t->s[j + 1] == 'E') {
                    stop = j;
                    next = j + 2;
                    break;
                }
            }
            while (k < stop) {
                uint32_t c;
                size_t sz = model_utf8_decode(t->s + k, stop - k, &c);
                if (sz == 0) return fail(t, E_UTF8, k, stop);
                emit_literal(t, c);
                k += sz;
            }
            t->i = next;
            return 0;
        }
        case 'p':
        case 'P': {
            begin_atom(t, false);
            size_t end;
            if (unicode_class(t, at, false, &end) < 0) return -1;
            end_atom(t);
            t->i = end;
            return 0;
        }
        default: {
            const char *pc = perl_class(t->s[at + 1], false);
            if (pc != NULL) {
                begin_atom(t, false);
                core_sb_adds(&t->out, pc);
                end_atom(t);
                t->i = at + 2;
                return 0;
            }
        }
        }
    }
    uint32_t c;
    size_t end;
    if (parse_escape(t, at, &c, &end) < 0) return -1;
    emit_literal(t, c);
    t->i = end;
    return 0;
}

/* Translates t->s; the result is in t->out. */
static int translate(tr *t)
{
    t->last_repeat = NONE;
    while (t->i < t->n) {
        size_t repeat = NONE, at = t->i;
        char c = t->s[at];
        int rc = 0;
        switch (c) {
        case '(':
            if (t->n - at >= 2 && t->s[at + 1] == '?') {
                rc = perl_flags(t);
            } else {
                t->ncap++;
                open_group(t, "(");
                t->i++;
            }
            break;
        case '|':
            fold_atom(t);
            core_sb_addc(&t->out, '|');
            t->have_atom = false;
            t->i++;
            break;
        case ')': rc = close_group(t); break;
        case '^': rc = assertion(t, "^", 1); break;
        case '$': rc = assertion(t, "$", 1); break;
        case '.':
            begin_atom(t, false);
            core_sb_addc(&t->out, '.');
            end_atom(t);
            t->i++;
            break;
        case '[': rc = parse_class(t); break;
        case '*':
        case '+':
        case '?':
            rc = apply_repeat(t, at, at + 1, 0, 0, false);
            repeat = at;
            break;
        case '{': {
            int min, max;
            size_t end;
            if (!parse_repeat(t, at, &min, &max, &end)) {
                emit_literal(t, '{');
                t->i++;
                break;
            }
            if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max))
                return fail(t, E_REPEAT_SIZE, at, end);
            rc = apply_repeat(t, at, end, min, max, true);
            repeat = at;
            break;
        }
        case '\\': rc = backslash(t); break;
        default: {
            uint32_t r;
            size_t sz;
            if (next_rune(t, at, &r, &sz) < 0) return -1;
            emit_literal(t, r);
            t->i += sz;
        }
        }
        if (rc < 0) return -1;
        t->last_repeat = repeat;
    }
    if (t->depth != 0) return fail(t, E_PAREN, 0, t->n);
    return 0;
}

static void tr_destroy(tr *t)
{
    core_sb_destroy(&t->out);
    free(t->stack);
    if (t->names != NULL) {
        for (size_t i = 0; i < t->names_cap; i++)
            free(t->names[i]);
        free(t->names);
    }
}

/* ---- Per-thread state and shared contexts */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static pcre2_compile_context *g_cctx;
static pcre2_match_context *g_mctx;
static pcre2_code *g_name_rune; /* [\p{L}\p{Nd}_]: Go's letters and digits */

typedef struct tls_data {
    pcre2_match_data *md;
    uint32_t pairs;
} tls_data;

static __thread tls_data *t_data;

static void tls_free(void *p)
{
    tls_data *d = p;
    if (d == NULL) return;
    pcre2_match_data_free(d->md);
    free(d);
}

static void global_init(void)
{
    pthread_key_create(&g_key, tls_free);
    g_cctx = pcre2_compile_context_create(NULL);
    pcre2_set_newline(g_cctx, PCRE2_NEWLINE_LF);
    pcre2_set_bsr(g_cctx, PCRE2_BSR_ANYCRLF);
    pcre2_set_parens_nest_limit(g_cctx, 2000);
    g_mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(g_mctx, MODEL_REGEX_MATCH_LIMIT);
    int ec;
    PCRE2_SIZE eo;
    g_name_rune = pcre2_compile((PCRE2_SPTR) "[\\p{L}\\p{Nd}_]", PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &eo, NULL);
}

static pcre2_match_data *thread_md(uint32_t pairs)
{
    tls_data *d = t_data;
    if (d == NULL) {
        d = core_calloc(1, sizeof *d);
        t_data = d;
        pthread_setspecific(g_key, d);
    }
    if (d->pairs < pairs) {
        pcre2_match_data_free(d->md);
        uint32_t want = pairs < 16 ? 16 : pairs;
        d->md = pcre2_match_data_create(want, NULL);
        if (d->md == NULL) {
            fputs("fatal: out of memory in PCRE2\n", stderr);
            abort();
        }
        d->pairs = want;
    }
    return d->md;
}

/* ---- Compiling */

/* Shapes matched without PCRE2. */
static enum re_kind shape(const char *p, size_t len, uint32_t *groups)
{
    *groups = 0;
    if ((len == 2 && memcmp(p, ".*", 2) == 0)) return RE_ANY;
    if ((len == 4 && memcmp(p, "(.*)", 4) == 0)) {
        *groups = 1;
        return RE_ANY;
    }
    if ((len == 2 && memcmp(p, ".+", 2) == 0)) return RE_NONEMPTY;
    if ((len == 4 && memcmp(p, "(.+)", 4) == 0)) {
        *groups = 1;
        return RE_NONEMPTY;
    }
    for (size_t i = 0; i < len; i++)
        if (strchr("\\.+*?()|[]{}^$", p[i]) != NULL && p[i] != '\0') return RE_PCRE;
    return RE_LITERAL;
}

model_regex *model_regex_new_n(const char *pattern, size_t len, core_err *err)
{
    pthread_once(&g_once, global_init);
    tr t = {0};
    core_sb wrapped = CORE_SB_INIT;
    core_sb_adds(&wrapped, "^(?s:");
    core_sb_add(&wrapped, pattern, len);
    core_sb_adds(&wrapped, ")$");
    t.s = wrapped.buf;
    t.n = wrapped.len;
    t.err = err;
    if (translate(&t) < 0) {
        tr_destroy(&t);
        core_sb_destroy(&wrapped);
        return NULL;
    }
    model_regex *re = core_calloc(1, sizeof *re);
    re->pattern = core_malloc(len + 1);
    memcpy(re->pattern, pattern, len);
    re->pattern[len] = '\0';
    re->len = len;
    re->ngroups = t.ncap;
    uint32_t sg;
    re->kind = shape(pattern, len, &sg);
    if (re->kind == RE_LITERAL && !utf8_valid(pattern, len)) re->kind = RE_PCRE;
    if (t.ncap > 0) {
        re->names = core_calloc(t.ncap + 1, sizeof *re->names);
        for (size_t i = 0; i <= t.ncap && i < t.names_cap; i++) {
            re->names[i] = t.names[i];
            t.names[i] = NULL;
        }
    }
    if (re->kind == RE_PCRE) {
        int ec;
        PCRE2_SIZE eo;
        uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                        PCRE2_ALT_CIRCUMFLEX | PCRE2_NEVER_BACKSLASH_C;
        re->code = pcre2_compile((PCRE2_SPTR)t.out.buf, t.out.len, opts, &ec, &eo, g_cctx);
        if (re->code == NULL) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            bool large =
                ec == PCRE2_ERROR_PATTERN_TOO_LARGE || ec == PCRE2_ERROR_PARENTHESES_NEST_TOO_DEEP;
            if (large)
                core_err_set(err, "error parsing regexp: %s: `%s`", E_LARGE, wrapped.buf);
            else
                core_err_set(err, "error parsing regexp: %s: `%s`", (const char *)msg, wrapped.buf);
            tr_destroy(&t);
            core_sb_destroy(&wrapped);
            model_regex_free(re);
            return NULL;
        }
        pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    }
    tr_destroy(&t);
    core_sb_destroy(&wrapped);
    return re;
}

model_regex *model_regex_new(const char *pattern, core_err *err)
{
    return model_regex_new_n(pattern, strlen(pattern), err);
}

void model_regex_free(model_regex *re)
{
    if (re == NULL) return;
    if (re->code != NULL) pcre2_code_free(re->code);
    if (re->names != NULL) {
        for (size_t i = 0; i <= re->ngroups; i++)
            free(re->names[i]);
        free(re->names);
    }
    free(re->pattern);
    free(re);
}

const char *model_regex_pattern(const model_regex *re)
{
    return re->pattern;
}

size_t model_regex_groups(const model_regex *re)
{
    return re->ngroups;
}

bool model_regex_matches_all(const model_regex *re)
{
    return re->kind == RE_ANY;
}

/* ---- Matching */

static int pcre_match(const model_regex *re, const char *s, size_t len, pcre2_match_data **mdp)
{
    pcre2_match_data *md = thread_md(re->ngroups + 1);
    PCRE2_SPTR subj = (PCRE2_SPTR)(s != NULL ? s : "");
    int rc = pcre2_match(re->code, subj, len, 0, 0, md, g_mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, subj, len, 0, PCRE2_NO_JIT, md, g_mctx);
    *mdp = md;
    return rc;
}

bool model_regex_match(const model_regex *re, const char *s, size_t len)
{
    switch (re->kind) {
    case RE_ANY: return true;
    case RE_NONEMPTY: return len > 0;
    case RE_LITERAL: return len == re->len && (len == 0 || memcmp(s, re->pattern, len) == 0);
    case RE_PCRE: break;
    }
    pcre2_match_data *md;
    return pcre_match(re, s, len, &md) >= 0;
}

bool model_regex_exec(const model_regex *re, const char *s, size_t len, size_t *ov, size_t npairs)
{
    for (size_t i = 0; i < 2 * npairs; i++)
        ov[i] = MODEL_REGEX_UNSET;
    if (re->kind != RE_PCRE) {
        if (!model_regex_match(re, s, len)) return false;
        for (size_t g = 0; g < npairs && g <= re->ngroups; g++) {
            ov[2 * g] = 0;
            ov[2 * g + 1] = len;
        }
        return true;
    }
    pcre2_match_data *md;
    int rc = pcre_match(re, s, len, &md);
    if (rc < 0) return false;
    PCRE2_SIZE *v = pcre2_get_ovector_pointer(md);
    size_t set = rc == 0 ? pcre2_get_ovector_count(md) : (size_t)rc;
    for (size_t g = 0; g < npairs && g < set; g++) {
        if (v[2 * g] == PCRE2_UNSET) continue;
        ov[2 * g] = v[2 * g];
        ov[2 * g + 1] = v[2 * g + 1];
    }
    return true;
}

/* ---- Expansion (Go's Regexp.Expand) */

static bool name_rune(uint32_t r, const char *p, size_t sz)
{
    if (r < 0x80) return is_alnum(r) || r == '_';
    if (g_name_rune == NULL) return false;
    pcre2_match_data *md = thread_md(1);
    return pcre2_match(g_name_rune, (PCRE2_SPTR)p, sz, 0, 0, md, NULL) >= 0;
}

/* Go's extract: a reference after '$' at tmpl[0..n).  On success sets the
 * name (and num >= 0 for a number) and returns the bytes consumed. */
static size_t extract(const char *s, size_t n, const char **name, size_t *nlen, long *num)
{
    if (n == 0) return 0;
    bool brace = s[0] == '{';
    size_t i = brace ? 1 : 0, start = i;
    while (i < n) {
        uint32_t r;
        size_t sz = model_utf8_decode(s + i, n - i, &r);
        if (sz == 0 || !name_rune(r, s + i, sz)) break;
        i += sz;
    }
    if (i == start) return 0;
    *name = s + start;
    *nlen = i - start;
    if (brace) {
        if (i >= n || s[i] != '}') return 0;
        i++;
    }
    long v = 0;
    for (size_t k = 0; k < *nlen; k++) {
        char c = (*name)[k];
        if (c < '0' || c > '9' || v >= 100000000) {
            v = -1;
            break;
        }
        v = v * 10 + (c - '0');
    }
    if ((*name)[0] == '0' && *nlen > 1) v = -1;
    *num = v;
    return i;
}

void model_regex_expand(const model_regex *re, const char *tmpl, size_t tlen, const char *subject,
                        const size_t *ov, size_t npairs, core_sb *out)
{
    pthread_once(&g_once, global_init);
    size_t i = 0;
    while (i < tlen) {
        const char *dollar = memchr(tmpl + i, '$', tlen - i);
        if (dollar == NULL) break;
        size_t d = (size_t)(dollar - tmpl);
        core_sb_add(out, tmpl + i, d - i);
        i = d + 1;
        if (i < tlen && tmpl[i] == '$') {
            core_sb_addc(out, '$');
            i++;
            continue;
        }
        const char *name;
        size_t nlen;
        long num;
        size_t used = extract(tmpl + i, tlen - i, &name, &nlen, &num);
        if (used == 0) {
            core_sb_addc(out, '$');
            continue;
        }
        i += used;
        if (num >= 0) {
            size_t g = (size_t)num;
            if (g < npairs && ov[2 * g] != MODEL_REGEX_UNSET)
                core_sb_add(out, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
            continue;
        }
        if (re->names == NULL) continue;
        for (size_t g = 1; g <= re->ngroups && g < npairs; g++) {
            const char *gn = re->names[g];
            if (gn != NULL && strlen(gn) == nlen && memcmp(gn, name, nlen) == 0 &&
                ov[2 * g] != MODEL_REGEX_UNSET) {
                core_sb_add(out, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
                break;
            }
        }
    }
    if (i < tlen) core_sb_add(out, tmpl + i, tlen - i);
}

bool model_regex_replace(const model_regex *re, const char *s, size_t len, const char *tmpl,
                         size_t tlen, core_sb *out)
{
    size_t stack[2 * 16];
    size_t npairs = re->ngroups + 1;
    size_t *ov = npairs <= 16 ? stack : core_mallocarray(2 * npairs, sizeof *ov);
    bool ok = model_regex_exec(re, s, len, ov, npairs);
    if (ok) model_regex_expand(re, tmpl, tlen, s, ov, npairs, out);
    if (ov != stack) free(ov);
    return ok;
}
