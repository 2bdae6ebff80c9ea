/*
 * params.c - request parameters read as upstream's API reads them.
 *
 * Times and durations go through core/duration.h (float seconds first, then
 * RFC3339 or a Prometheus duration), wrapped in upstream's messages.  The
 * limit is strconv.Atoi's grammar with its errors.
 *
 * match[] selectors: upstream parses each with the PromQL grammar's metric
 * selector start symbol, which accepts `name`, `name{...}` or `{...}` and
 * nothing after it, takes every keyword as a metric name ("sum", "by") and
 * does not run the checks of whole expressions.  Here the selector's extent
 * is found by a small scanner (identifier, then a braced block with quoted
 * strings skipped); a token after it is reported as upstream's parser
 * reports it ("1:5: parse error: unexpected \"(\""), and the selector itself
 * goes through pql_parse, so errors inside the braces are the parser's.  A
 * keyword used as a name is parsed as {__name__="keyword", ...}, and a
 * selector whose every matcher matches "" (which pql_parse refuses as an
 * expression) is let through to the API's own check, which then fails with
 * `match[] must contain at least one non-empty matcher`, as upstream.
 */
#include "web/internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go's %q */

/* Length and code point of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_at(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, v;
    if (c < 0x80) return *cp = c, 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000, v = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

/* Go's unicode.IsPrint for the code points that matter in practice: the C1
 * controls, the soft hyphen, the line and paragraph separators, the BOM and
 * the noncharacters are not printable; the rest of the planes in use are. */
static bool rune_printable(uint32_t r)
{
    if (r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xAD) return false;
    if (r == 0x2028 || r == 0x2029 || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF) return false;
    if (r >= 0xE000 && r <= 0xF8FF) return false; /* private use */
    return true;
}

void web_go_quote(core_sb *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    core_sb_addc(sb, '"');
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t len = utf8_at(p + i, n - i, &r);
        if (len == 0) {
            core_sb_addf(sb, "\\x%c%c", hex[p[i] >> 4], hex[p[i] & 15]);
            i++;
            continue;
        }
        if (r == '"' || r == '\\') {
            core_sb_addc(sb, '\\');
            core_sb_addc(sb, (char)r);
        } else if (rune_printable(r)) {
            core_sb_add(sb, s + i, len);
        } else {
            switch (r) {
            case '\a': core_sb_adds(sb, "\\a"); break;
            case '\b': core_sb_adds(sb, "\\b"); break;
            case '\f': core_sb_adds(sb, "\\f"); break;
            case '\n': core_sb_adds(sb, "\\n"); break;
            case '\r': core_sb_adds(sb, "\\r"); break;
            case '\t': core_sb_adds(sb, "\\t"); break;
            case '\v': core_sb_adds(sb, "\\v"); break;
            default:
                if (r < 0x20 || r == 0x7F)
                    core_sb_addf(sb, "\\x%c%c", hex[r >> 4], hex[r & 15]);
                else if (r < 0x10000)
                    core_sb_addf(sb, "\\u%04x", (unsigned)r);
                else
                    core_sb_addf(sb, "\\U%08x", (unsigned)r);
            }
        }
        i += len;
    }
    core_sb_addc(sb, '"');
}

/* ---- Times, durations, limits */

int web_parse_time(const char *s, int64_t *ms, core_err *err)
{
    if (core_time_parse_api(s, strlen(s), ms, NULL) == 0) return 0;
    core_sb q = CORE_SB_INIT;
    web_go_quote(&q, s, strlen(s));
    core_err_set(err, "cannot parse %s to a valid timestamp", q.buf);
    core_sb_destroy(&q);
    return -1;
}

int web_parse_time_param(const char *s, const char *name, int64_t def, int64_t *ms, core_err *err)
{
    if (!s || !s[0]) {
        *ms = def;
        return 0;
    }
    if (web_parse_time(s, ms, err) == 0) return 0;
    return core_err_prefix(err, "invalid time value for '%s'", name);
}

int web_parse_duration(const char *s, int64_t *ms, core_err *err)
{
    size_t n = strlen(s);
    core_err e;
    if (core_duration_parse_api(s, n, ms, &e) == 0) return 0;
    core_sb q = CORE_SB_INIT;
    web_go_quote(&q, s, n);
    if (strstr(e.msg, "overflows int64"))
        core_err_set(err, "cannot parse %s to a valid duration. It overflows int64", q.buf);
    else
        core_err_set(err, "cannot parse %s to a valid duration", q.buf);
    core_sb_destroy(&q);
    return -1;
}

int web_parse_limit(const char *s, int64_t *limit, core_err *err)
{
    *limit = 0;
    if (!s || !s[0]) return 0;
    /* strconv.Atoi: an optional sign and decimal digits, nothing else. */
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    bool ok = *p != '\0';
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) ok = false;
    core_sb q = CORE_SB_INIT;
    web_go_quote(&q, s, strlen(s));
    int rc = 0;
    if (!ok) {
        rc = core_err_set(err, "strconv.Atoi: parsing %s: invalid syntax", q.buf);
    } else {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == ERANGE)
            rc = core_err_set(err, "strconv.Atoi: parsing %s: value out of range", q.buf);
        else if (v < 0)
            rc = core_err_set(err, "limit must be non-negative");
        else
            *limit = v;
    }
    core_sb_destroy(&q);
    return rc;
}

/* ---- match[] selectors */

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool ident_char(char c)
{
    return ident_start(c) || isdigit((unsigned char)c);
}

static size_t skip_space(const char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    return i;
}

/* Past a quoted string starting at s[i] (its quote), or at the end. */
static size_t skip_quoted(const char *s, size_t i)
{
    char q = s[i++];
    while (s[i] && s[i] != q) {
        if (s[i] == '\\' && q != '`' && s[i + 1]) i++;
        i++;
    }
    return s[i] ? i + 1 : i;
}

/* Where the metric selector at the start of s ends: after the identifier
 * (*ident_end marks its end, 0 without one) and its braced block. */
static size_t selector_end(const char *s, size_t *ident_start_at, size_t *ident_end)
{
    size_t i = skip_space(s, 0);
    *ident_start_at = i;
    *ident_end = 0;
    if (ident_start(s[i])) {
        while (ident_char(s[i]))
            i++;
        *ident_end = i;
        i = skip_space(s, i);
    }
    if (s[i] == '{') {
        while (s[i] && s[i] != '}') {
            if (s[i] == '"' || s[i] == '\'' || s[i] == '`')
                i = skip_quoted(s, i);
            else
                i++;
        }
        if (s[i] == '}') i++;
        i = skip_space(s, i);
    }
    return i;
}

static const char *const keywords[] = {
    "offset",      "by",       "without", "on",        "ignoring",   "group_left",
    "group_right", "bool",     "start",   "end",       "step",       "range",
    "anchored",    "smoothed", "fill",    "fill_left", "fill_right",
};
static const char *const aggregators[] = {
    "sum",    "avg",  "count",   "min",      "max",          "group",  "stddev",
    "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
};
static const char *const word_ops[] = {"and", "or", "unless", "atan2"};

static bool in_list(const char *const *l, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(l[i]) == len && memcmp(l[i], s, len) == 0) return true;
    return false;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* upstream's Item.desc() of the token starting at s[i]. */
static void describe_token(const char *s, size_t i, core_sb *out)
{
    static const char *const ops[] = {"==", "!=", "<=", ">=", "=~", "!~", "+", "-",
                                      "*",  "/",  "%",  "^",  "<",  ">",  "@"};
    const char *p = s + i;
    if (!*p) {
        core_sb_adds(out, "end of input");
        return;
    }
    if (ident_start(*p)) {
        size_t n = 0;
        bool colon = false;
        while (ident_char(p[n]))
            colon |= p[n++] == ':';
        if (in_list(keywords, N_OF(keywords), p, n))
            core_sb_addf(out, "<%.*s>", (int)n, p);
        else if (in_list(aggregators, N_OF(aggregators), p, n))
            core_sb_addf(out, "<aggr:%.*s>", (int)n, p);
        else if (in_list(word_ops, N_OF(word_ops), p, n))
            core_sb_addf(out, "<op:%.*s>", (int)n, p);
        else {
            core_sb_adds(out, colon ? "metric identifier " : "identifier ");
            web_go_quote(out, p, n);
        }
        return;
    }
    if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        size_t n = 0;
        bool dur = false;
        while (isalnum((unsigned char)p[n]) || p[n] == '.')
            dur |= isalpha((unsigned char)p[n]) && p[n] != 'e' && p[n] != 'x', n++;
        core_sb_adds(out, dur ? "duration " : "number ");
        web_go_quote(out, p, n);
        return;
    }
    if (*p == '"' || *p == '\'' || *p == '`') {
        size_t n = skip_quoted(s, i) - i;
        core_sb_adds(out, "string ");
        web_go_quote(out, p, n);
        return;
    }
    for (size_t k = 0; k < N_OF(ops); k++) {
        size_t n = strlen(ops[k]);
        if (strncmp(p, ops[k], n) == 0) {
            if (ops[k][0] == '@')
                core_sb_adds(out, "<@>");
            else
                core_sb_addf(out, "<op:%s>", ops[k]);
            return;
        }
    }
    core_sb_addc(out, '"');
    core_sb_addc(out, *p);
    core_sb_addc(out, '"');
}

/* line:col of byte offset `pos` (columns count bytes from 1). */
static void position(const char *s, size_t pos, unsigned *line, unsigned *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < pos && s[i]; i++) {
        (*col)++;
        if (s[i] == '\n') (*line)++, *col = 1;
    }
}

static bool is_selector(const pql_node *n)
{
    return n && n->kind == PQL_NODE_VECTOR && n->u.vector.timing.offset_ms == 0 &&
           !n->u.vector.timing.offset_expr && n->u.vector.timing.at == PQL_AT_NONE;
}

#define ERR_ALL_EMPTY "vector selector must contain at least one non-empty matcher"

/* The matchers of a selector whose matchers all match "" ({a=""}), which
 * the parser refuses: parsed with a matcher of ours in front, then dropped. */
static int empty_matchers(const char *s, const pql_parse_opts *popts, core_arena *arena,
                          web_matchers *out)
{
    size_t open = skip_space(s, 0);
    core_sb alt = CORE_SB_INIT;
    core_sb_adds(&alt, "{__name__=~\".+\"");
    size_t body = skip_space(s, open + 1);
    if (s[body] != '}') core_sb_addc(&alt, ',');
    core_sb_adds(&alt, s + open + 1);
    core_err e;
    pql_node *n = pql_parse(alt.buf, popts, arena, &e);
    core_sb_destroy(&alt);
    out->m = NULL, out->n = 0;
    if (!is_selector(n)) return 0;
    const pql_matcher *m = n->u.vector.matchers;
    size_t nm = n->u.vector.nmatchers, k = 0;
    pql_matcher *v = core_arena_calloc(arena, nm + 1, sizeof *v);
    bool dropped = false;
    for (size_t i = 0; i < nm; i++) {
        if (!dropped && m[i].type == PQL_MATCH_RE && strcmp(m[i].name, CORE_METRIC_NAME) == 0 &&
            m[i].value_len == 2 && memcmp(m[i].value, ".+", 2) == 0) {
            dropped = true;
            continue;
        }
        v[k++] = m[i];
    }
    out->m = v, out->n = k;
    return 0;
}

/* Parses one selector into *out.  *all_empty is set (and 0 returned, the
 * matchers in *out) when every matcher matches "", which the series and
 * label endpoints report after every selector parsed, as upstream. */
static int parse_selector(const char *s, const pql_parse_opts *popts, core_arena *arena,
                          web_matchers *out, bool *all_empty, core_err *err)
{
    *all_empty = false;
    size_t id0, id1;
    size_t end = selector_end(s, &id0, &id1);
    if (s[end] != '\0' || (id1 == 0 && s[skip_space(s, 0)] != '{')) {
        size_t at = s[end] != '\0' ? end : skip_space(s, 0);
        core_sb d = CORE_SB_INIT;
        describe_token(s, at, &d);
        unsigned line, col;
        position(s, at, &line, &col);
        core_err_set(err, "%u:%u: parse error: unexpected %s", line, col, d.buf);
        core_sb_destroy(&d);
        return -1;
    }
    pql_node *n = pql_parse(s, popts, arena, err);
    if (!n && id1 != 0) {
        /* A keyword as the metric name: the selector grammar takes it. */
        core_err kerr;
        core_sb alt = CORE_SB_INIT;
        core_sb_adds(&alt, "{__name__=");
        web_go_quote(&alt, s + id0, id1 - id0);
        size_t rest = skip_space(s, id1);
        if (s[rest] == '{') {
            size_t body = skip_space(s, rest + 1);
            if (s[body] != '}') core_sb_addc(&alt, ',');
            core_sb_adds(&alt, s + rest + 1);
        } else {
            core_sb_addc(&alt, '}');
        }
        pql_node *k = pql_parse(alt.buf, popts, arena, &kerr);
        core_sb_destroy(&alt);
        if (k) n = k;
    }
    if (!n) {
        if (strstr(err->msg, ERR_ALL_EMPTY)) {
            *all_empty = true;
            return empty_matchers(s, popts, arena, out);
        }
        return -1;
    }
    if (!is_selector(n)) return core_err_set(err, "1:1: parse error: unexpected metric selector");
    out->m = n->u.vector.matchers;
    out->n = n->u.vector.nmatchers;
    return 0;
}

int web_parse_matchers(const char *const *sel, size_t n, const pql_parse_opts *popts,
                       core_arena *arena, web_matchers **sets, core_err *err)
{
    web_matchers *v = core_arena_calloc(arena, n + 1, sizeof *v);
    bool any_empty = false;
    for (size_t i = 0; i < n; i++) {
        bool empty;
        if (parse_selector(sel[i], popts, arena, &v[i], &empty, err) < 0) return -1;
        any_empty |= empty;
    }
    if (any_empty) return core_err_set(err, "match[] must contain at least one non-empty matcher");
    *sets = v;
    return 0;
}

int web_parse_selectors(const char *const *sel, size_t n, const pql_parse_opts *popts,
                        core_arena *arena, web_matchers **sets, core_err *err)
{
    web_matchers *v = core_arena_calloc(arena, n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        bool empty;
        if (parse_selector(sel[i], popts, arena, &v[i], &empty, err) < 0) return -1;
    }
    *sets = v;
    return 0;
}

/* ---- Label names in the path */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(core_sb *sb, uint32_t r)
{
    if (r < 0x80) {
        core_sb_addc(sb, (char)r);
    } else if (r < 0x800) {
        core_sb_addc(sb, (char)(0xC0 | r >> 6));
        core_sb_addc(sb, (char)(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
        core_sb_addc(sb, (char)(0xE0 | r >> 12));
        core_sb_addc(sb, (char)(0x80 | (r >> 6 & 0x3F)));
        core_sb_addc(sb, (char)(0x80 | (r & 0x3F)));
    } else {
        core_sb_addc(sb, (char)(0xF0 | r >> 18));
        core_sb_addc(sb, (char)(0x80 | (r >> 12 & 0x3F)));
        core_sb_addc(sb, (char)(0x80 | (r >> 6 & 0x3F)));
        core_sb_addc(sb, (char)(0x80 | (r & 0x3F)));
    }
}

const char *web_label_name_param(const char *raw, core_arena *arena)
{
    if (strncmp(raw, "U__", 3) != 0) return raw;
    core_sb sb = CORE_SB_INIT;
    bool ok = true;
    for (const char *p = raw + 3; *p && ok;) {
        if (*p != '_') {
            /* Only the legacy characters stand for themselves. */
            ok = ident_char(*p);
            core_sb_addc(&sb, *p++);
            continue;
        }
        if (p[1] == '_') {
            core_sb_addc(&sb, '_');
            p += 2;
            continue;
        }
        uint32_t r = 0;
        const char *q = p + 1;
        int digits = 0;
        while (*q && *q != '_' && ok) {
            int h = hexval(*q++);
            ok = h >= 0 && digits < 8;
            r = r << 4 | (uint32_t)(h < 0 ? 0 : h);
            digits++;
        }
        ok = ok && *q == '_' && digits > 0 && r <= 0x10FFFF && !(r >= 0xD800 && r <= 0xDFFF);
        if (ok) put_utf8(&sb, r);
        p = *q ? q + 1 : q;
    }
    const char *out = ok && sb.len ? core_arena_strdup(arena, sb.buf) : raw;
    core_sb_destroy(&sb);
    return out;
}

bool web_label_name_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n == 0) return false;
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t len = utf8_at(p + i, n - i, &r);
        if (len == 0) return false;
        i += len;
    }
    return true;
}
