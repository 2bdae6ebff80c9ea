/*
 * quote.c - string literals in and out, with Go's rules.
 *
 * PromQL strings are Go string literals ('...' works like "..."), so reading
 * them follows strconv.Unquote (as upstream's strutil.Unquote adapts it), and
 * upstream's messages and printer quote with strconv.Quote / %q.  The lexer
 * has already rejected malformed escapes with a precise message; unquoting
 * still checks everything, so that it is safe on its own.  Quoting escapes
 * controls and invalid UTF-8 and, like Go, C1 controls and a few invisible
 * code points; every other rune is printed as it is.
 */
#include "promql/internal.h"

#include <string.h>

int32_t pql_utf8_decode(const char *s, size_t n, size_t *w)
{
    const unsigned char *u = (const unsigned char *)s;
    *w = 1;
    if (u[0] < 0x80) return u[0];
    int len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || u[0] > 0xF4 || (size_t)len > n) return -1;
    int32_t c = u[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return -1;
        c = (c << 6) | (u[i] & 0x3F);
    }
    static const int32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) return -1;
    *w = (size_t)len;
    return c;
}

static void add_utf8(core_sb *sb, int32_t c)
{
    char b[4];
    size_t n;
    if (c < 0 || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) c = 0xFFFD;
    if (c < 0x80) {
        b[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6)), b[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12)), b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18)), b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F)), b[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    }
    core_sb_add(sb, b, n);
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \x, \u, \U: n hex digits at s.  Returns the value or -1. */
static int32_t read_hex(const char *s, size_t avail, int n)
{
    if (avail < (size_t)n) return -1;
    int32_t v = 0;
    for (int j = 0; j < n; j++) {
        int x = unhex(s[j]);
        if (x < 0) return -1;
        v = (v << 4) | x;
    }
    return v;
}

static int32_t read_octal(const char *s, size_t avail)
{
    if (avail < 3) return -1;
    int32_t v = 0;
    for (int j = 0; j < 3; j++) {
        if (s[j] < '0' || s[j] > '7') return -1;
        v = (v << 3) | (s[j] - '0');
    }
    return v > 255 ? -1 : v;
}

static int simple_escape(char c)
{
    switch (c) {
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    case '\\': return '\\';
    default: return -1;
    }
}

/* One escape sequence at s[0] == '\\'; appends its value.  Returns the bytes
 * consumed, 0 on a syntax error. */
static size_t unescape(const char *s, size_t n, char quote, core_sb *sb)
{
    if (n < 2) return 0;
    char c = s[1];
    int simple = simple_escape(c);
    if (simple >= 0) return core_sb_addc(sb, (char)simple), 2;
    if (c == '\'' || c == '"') return c == quote ? (core_sb_addc(sb, c), 2) : 0;
    if (c >= '0' && c <= '7') {
        int32_t v = read_octal(s + 1, n - 1);
        return v < 0 ? 0 : (core_sb_addc(sb, (char)v), 4);
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits == 0) return 0;
    int32_t v = read_hex(s + 2, n - 2, digits);
    if (v < 0 || v > 0x10FFFF) return 0;
    if (c == 'x')
        core_sb_addc(sb, (char)v);
    else
        add_utf8(sb, v);
    return 2 + (size_t)digits;
}

int pql_unquote(const char *s, size_t n, core_arena *a, char **out, size_t *outlen)
{
    if (n < 2 || s[0] != s[n - 1]) return -1;
    char quote = s[0];
    const char *body = s + 1;
    size_t blen = n - 2;
    if (quote == '`') {
        if (memchr(body, '`', blen)) return -1;
        *out = core_arena_strndup(a, body, blen);
        *outlen = blen;
        return 0;
    }
    if ((quote != '"' && quote != '\'') || memchr(body, '\n', blen)) return -1;
    core_sb sb = CORE_SB_INIT;
    core_sb_grow(&sb, blen);
    size_t i = 0;
    while (i < blen) {
        if (body[i] == quote) break;
        if (body[i] != '\\') {
            core_sb_addc(&sb, body[i++]);
            continue;
        }
        size_t used = unescape(body + i, blen - i, quote, &sb);
        if (used == 0) break;
        i += used;
    }
    int rc = i == blen ? 0 : -1;
    if (rc == 0) {
        *out = core_arena_strndup(a, sb.buf ? sb.buf : "", sb.len);
        *outlen = sb.len;
    }
    core_sb_destroy(&sb);
    return rc;
}

/* Go's strconv.IsPrint, approximated: controls, C1 controls, soft hyphen,
 * and a handful of invisible formatting code points are not printable. */
static bool is_print(int32_t c)
{
    if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xAD) return false;
    if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) || c == 0xFEFF) return false;
    return !(c >= 0xE000 && c <= 0xF8FF);
}

/* Appends rune c escaped for a literal quoted with q. */
static void quote_one(core_sb *sb, int32_t c, char q)
{
    static const char hex[] = "0123456789abcdef";
    if (c == q || c == '\\') {
        core_sb_addc(sb, '\\');
        core_sb_addc(sb, (char)c);
        return;
    }
    if (is_print(c)) return add_utf8(sb, c);
    static const char *const esc = "\a\b\f\n\r\t\v";
    static const char *const letter = "abfnrtv";
    const char *e = c > 0 && c < 0x20 ? strchr(esc, (int)c) : NULL;
    if (e) {
        core_sb_addc(sb, '\\');
        core_sb_addc(sb, letter[e - esc]);
    } else if (c < 0x100) {
        core_sb_addf(sb, "\\x%c%c", hex[(c >> 4) & 15], hex[c & 15]);
    } else if (c < 0x10000) {
        core_sb_addf(sb, "\\u%04x", (unsigned)c);
    } else {
        core_sb_addf(sb, "\\U%08x", (unsigned)c);
    }
}

void pql_quote(core_sb *sb, const char *s, size_t n, size_t max_runes)
{
    core_sb_addc(sb, '"');
    size_t runes = 0;
    for (size_t i = 0; i < n && (max_runes == 0 || runes < max_runes); runes++) {
        size_t w;
        int32_t c = pql_utf8_decode(s + i, n - i, &w);
        if (c < 0) {
            /* Go writes an invalid byte as \x.. */
            core_sb_addf(sb, "\\x%02x", (unsigned char)s[i]);
        } else {
            quote_one(sb, c, '"');
        }
        i += w;
    }
    core_sb_addc(sb, '"');
}

void pql_quote_rune(core_sb *sb, int32_t r)
{
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) r = 0xFFFD;
    core_sb_addc(sb, '\'');
    quote_one(sb, r, '\'');
    core_sb_addc(sb, '\'');
}

bool pql_is_legacy_name(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}
